//! Kernel versus reference model (sim-model) on anonymous pipes: for random programs
//! (quota, one or two writer threads, one reader, random sizes) under random seeds, every
//! ReadFile and WriteFile the kernel executed is replayed, in trace order, on the model,
//! and both must agree on each call: completed at once or blocked, bytes read, and which
//! blocked writes and reads each call completed.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::EventKind;
use sim_model::pipe::{PipeModel, ReadResult, WriteResult};
use std::collections::BTreeSet;
use std::rc::Rc;

#[derive(Debug, Clone)]
struct Program {
    quota: u32,
    writers: Vec<Vec<u32>>,
    reads: Vec<u32>,
}

fn program() -> impl Strategy<Value = Program> {
    (
        0u32..24,
        proptest::collection::vec(proptest::collection::vec(0u32..40, 0..6), 1..3),
        proptest::collection::vec(0u32..30, 0..12),
    )
        .prop_map(|(quota, writers, reads)| Program { quota, writers, reads })
}

fn run(p: &Program, seed: u64) -> RunReport {
    let p = Rc::new(p.clone());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model.exe", move |ctx| {
        let p = p.clone();
        async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            ctx.create_pipe(&mut r, &mut w, None, p.quota).await;
            for sizes in p.writers.clone() {
                // Each writer its own handle: a duplicate, so it shares the write end's
                // synchronous file object and queues behind a pending write on it.
                let mut wd = HANDLE::NULL;
                let me = ctx.get_current_process();
                ctx.duplicate_handle(me, w, me, &mut wd, 0, false, DUPLICATE_SAME_ACCESS).await;
                ctx.create_thread(
                    None,
                    0,
                    move |ctx| async move {
                        for n in sizes {
                            ctx.write_file(wd, &vec![b'x'; n as usize], None).await;
                        }
                        0
                    },
                    0,
                    None,
                )
                .await;
            }
            let mut buf = [0u8; 64];
            for n in p.reads.clone() {
                ctx.read_file(r, &mut buf[..n as usize], None).await;
            }
            0
        }
    });
    sim.run("model.exe")
}

/// The number after `prefix` in `s` (e.g. "written 10").
fn number_after(s: &str, prefix: &str) -> u32 {
    let i = s.find(prefix).unwrap_or_else(|| panic!("{prefix:?} not in {s:?}")) + prefix.len();
    s[i..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// Replays the kernel's pipe calls on the model and compares every result.
fn compare(p: &Program, r: &RunReport) -> Result<(), String> {
    let mut model = PipeModel::new(p.quota);
    // The reader's blocked ReadFile (its length), and the completions the model predicts
    // that the kernel must report as wake-ups: (tid, what).
    let mut pending_read: Option<(u32, u32)> = None;
    let mut expected_wakes: BTreeSet<(u32, String)> = BTreeSet::new();
    let mut pending_writers: BTreeSet<u32> = BTreeSet::new();
    for e in &r.trace {
        match &e.kind {
            EventKind::Call { api, args, result, .. } | EventKind::Block { api, args, reason: result }
                if api == "WriteFile" || api == "ReadFile" =>
            {
                if !expected_wakes.is_empty() {
                    return Err(format!("step {}: wake-ups {expected_wakes:?} never came", e.step));
                }
                if result.starts_with("queued behind") {
                    // Waiting for the file object's I/O lock: the call itself runs (and
                    // is traced again) when the lock is granted.
                    continue;
                }
                let blocked = matches!(e.kind, EventKind::Block { .. });
                if let EventKind::Call { error: Some(err), .. } = &e.kind {
                    return Err(format!("step {}: {api} failed with {err}", e.step));
                }
                if api == "WriteFile" {
                    let n = number_after(args, ", ");
                    let mut done = match model.write(e.tid, &vec![b'x'; n as usize]) {
                        WriteResult::Done(_) => vec![e.tid],
                        WriteResult::Pending => Vec::new(),
                        WriteResult::Failed(code) => return Err(format!("model failed a write with {code}")),
                    };
                    // A read already waiting takes the new bytes before the quota is
                    // checked (the kernel hands them over as the write is queued).
                    if n > 0 {
                        if let Some((rtid, len)) = pending_read.take() {
                            let (rr, more) = model.read(len);
                            let ReadResult::Data(d) = rr else {
                                return Err("model: waiting read found no data".into());
                            };
                            expected_wakes.insert((rtid, format!("read {}", d.len())));
                            done.extend(more);
                        }
                    }
                    let mine = done.contains(&e.tid);
                    if mine == blocked {
                        return Err(format!(
                            "step {}: kernel {} the write of {n}, model says {}",
                            e.step,
                            if blocked { "blocked" } else { "completed" },
                            if mine { "completed" } else { "blocked" }
                        ));
                    }
                    if blocked {
                        pending_writers.insert(e.tid);
                    }
                    for w in done.into_iter().filter(|&w| w != e.tid) {
                        expected_wakes.insert((w, "written".into()));
                    }
                } else {
                    let len = number_after(args, ", ");
                    let (rr, done) = model.read(len);
                    match (rr, blocked) {
                        (ReadResult::Wait, true) => pending_read = Some((e.tid, len)),
                        (ReadResult::Data(d), false) => {
                            let got = number_after(result, "read ");
                            if got as usize != d.len() {
                                return Err(format!("step {}: kernel read {got}, model {}", e.step, d.len()));
                            }
                        }
                        (rr, _) => return Err(format!("step {}: kernel blocked={blocked}, model {rr:?}", e.step)),
                    }
                    for w in done {
                        expected_wakes.insert((w, "written".into()));
                    }
                }
            }
            EventKind::Wake { api, result, .. } if api == "WriteFile" => {
                if !expected_wakes.remove(&(e.tid, "written".into())) {
                    return Err(format!(
                        "step {}: kernel completed T{}'s write, model did not ({result})",
                        e.step, e.tid
                    ));
                }
                pending_writers.remove(&e.tid);
            }
            EventKind::Wake { api, result, .. } if api == "ReadFile" => {
                let key = (e.tid, format!("read {}", number_after(result, "read ")));
                if !expected_wakes.remove(&key) {
                    return Err(format!("step {}: kernel completed a read the model did not: {key:?}", e.step));
                }
            }
            _ => {}
        }
    }
    if !expected_wakes.is_empty() {
        return Err(format!("wake-ups {expected_wakes:?} never came"));
    }
    // Whatever is left blocked is what the model says is still waiting.
    let model_pending: BTreeSet<u32> = model.pending_writes().into_iter().collect();
    if model_pending != pending_writers {
        return Err(format!("blocked writers: kernel {pending_writers:?}, model {model_pending:?}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// Facts 1.1, 2.2-2.5, 2.7, 3.1-3.3 as stated by sim-model, against the kernel.
    #[test]
    fn kernel_pipe_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        prop_assert!(matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)), "{}", r.summary());
        if let Err(e) = compare(&p, &r) {
            prop_assert!(false, "{}\n{:?}\n{}", e, p, r.trace_text());
        }
    }
}
