//! Kernel versus reference model (sim-model) on anonymous pipes: for random programs
//! (quota, one or two writer threads, one reader, random sizes) under random seeds, every
//! ReadFile and WriteFile the kernel executed is replayed, in trace order, on the model,
//! and both must agree on each call: completed at once or blocked, bytes read, and which
//! blocked writes and reads each call completed (each Wake paired with its Block by
//! operation, and caused by that call). The writers share the write end's synchronous
//! file object: a WriteFile issued while another writer's call holds its I/O lock must
//! wait for the lock, and runs on the model when the kernel runs it, after its Granted
//! event. The trace is read as typed events only.
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::pipe::{PipeModel, ReadResult, WriteResult};
use std::collections::{BTreeMap, BTreeSet};
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
            // Results are not checked here: compare() reads them from the trace.
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            let _ = ctx.create_pipe(&mut r, &mut w, None, p.quota).await;
            for sizes in p.writers.clone() {
                // Each writer its own handle: a duplicate, so it shares the write end's
                // synchronous file object and queues behind a pending write on it.
                let mut wd = HANDLE::NULL;
                let me = ctx.get_current_process();
                let _ = ctx.duplicate_handle(me, w, me, &mut wd, 0, false, DUPLICATE_SAME_ACCESS).await;
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            for n in sizes {
                                let _ = ctx.write_file(wd, &vec![b'x'; n as usize], None).await;
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
                let _ = ctx.read_file(r, &mut buf[..n as usize], None).await;
            }
            0
        }
    });
    sim.run("model.exe")
}

/// What the model says a blocked call's Wake must report.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Completion {
    /// A WriteFile of this many bytes completed: TRUE, written = all of them.
    Written(u32),
    /// A ReadFile returned these bytes.
    Read(Vec<u8>),
}

impl Completion {
    /// The out-parameters the kernel must report for it (ReadFile's buffer as length and
    /// preview: the program writes only b'x', so equal length and preview mean equal data).
    fn outs(&self) -> Vec<Arg> {
        match self {
            Completion::Written(n) => vec![Arg::new("written", ArgValue::U32(*n))],
            Completion::Read(d) => vec![Arg::new("read", ArgValue::bytes(d))],
        }
    }
}

/// A completion the model predicts: the thread whose blocked call it ends, what it
/// returns, and the id of the event (call) that must be its cause.
#[derive(Debug)]
struct Expected {
    tid: u32,
    what: Completion,
    cause: u64,
}

/// The argument `name` of a traced call.
fn arg<'a>(step: u64, args: &'a [Arg], name: &str) -> Result<&'a ArgValue, String> {
    args.iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
        .ok_or_else(|| format!("step {step}: no argument {name:?} in {args:?}"))
}

/// Replays the kernel's pipe calls on the model and compares every result.
fn compare(p: &Program, r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    let mut model = PipeModel::new(p.quota);
    // The reader's blocked ReadFile: its operation, thread and length.
    let mut pending_read: Option<(u64, u32, u32)> = None;
    // Writers blocked in WriteFile, per the kernel: thread -> (operation, length). The
    // model knows each write by its thread (a thread has one call at a time).
    let mut pending_writes: BTreeMap<u32, (u64, u32)> = BTreeMap::new();
    // Completions the model predicts that the kernel must report as Wake events, by the
    // blocked call's operation.
    let mut expected_wakes: BTreeMap<u64, Expected> = BTreeMap::new();
    // The write end's synchronous file object, shared by every writer (duplicated
    // handles): the thread whose call holds its I/O lock (from the call's start until it
    // completes, or from a grant until the granted call completes), and the calls waiting
    // for the lock (operation -> thread), which the model does not see: such a call runs
    // on the model when the kernel runs it, after its Granted event.
    let mut lock: Option<u32> = None;
    let mut lock_waits: BTreeMap<u64, u32> = BTreeMap::new();
    for e in &r.trace {
        let (step, tid) = (e.step, e.tid);
        match &e.kind {
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. }
                if api == "WriteFile" || api == "ReadFile" =>
            {
                if !expected_wakes.is_empty() {
                    return Err(format!("step {step}: wake-ups {expected_wakes:?} never came"));
                }
                if lock.is_none() && !lock_waits.is_empty() {
                    return Err(format!("step {step}: the write lock is free but {lock_waits:?} were not granted it"));
                }
                let blocked = match (&e.kind, e.op) {
                    (EventKind::Block { .. }, Some(op)) => Some(op),
                    (EventKind::Block { .. }, None) => return Err(format!("step {step}: {api} blocked without an op")),
                    _ => None,
                };
                let lock_wait = matches!(e.kind, EventKind::Block { lock_wait: true, .. });
                if lock_wait != (api == "WriteFile" && lock.is_some_and(|h| h != tid)) {
                    return Err(format!("step {step}: T{tid}'s {api} lock_wait={lock_wait}, lock holder {lock:?}"));
                }
                if api == "WriteFile"
                    && let Some(holder) = lock.filter(|&h| h != tid)
                {
                    // Waiting for the file object's I/O lock: the call itself runs (and
                    // is traced again) in a later step, after its Granted event.
                    let Some(op) = blocked else {
                        return Err(format!(
                            "step {step}: T{tid}'s WriteFile ran while T{holder}'s call holds the file object's lock"
                        ));
                    };
                    lock_waits.insert(op, tid);
                    continue;
                }
                if let EventKind::Call { ret, error, .. } = &e.kind {
                    if let Some(err) = error {
                        return Err(format!("step {step}: {api} failed with {err}"));
                    }
                    if *ret != Ret::Bool(true) {
                        return Err(format!("step {step}: {api} returned {ret}"));
                    }
                }
                if api == "WriteFile" {
                    let ArgValue::Bytes { len: n, .. } = *arg(step, args, "data")? else {
                        return Err(format!("step {step}: WriteFile data {args:?}"));
                    };
                    let data = vec![b'x'; n as usize];
                    if *arg(step, args, "data")? != ArgValue::bytes(&data) {
                        return Err(format!("step {step}: WriteFile data {args:?}, the program wrote {n} b'x'"));
                    }
                    let mut done = match model.write(tid, &data) {
                        WriteResult::Done(_) => vec![tid],
                        WriteResult::Pending => Vec::new(),
                        WriteResult::Failed(code) => return Err(format!("model failed a write with {code}")),
                    };
                    // A read already waiting takes the new bytes before the quota is
                    // checked (the kernel hands them over as the write is queued).
                    if n > 0
                        && let Some((rop, rtid, len)) = pending_read.take()
                    {
                        let (rr, more) = model.read(len);
                        let ReadResult::Data(d) = rr else {
                            return Err("model: waiting read found no data".into());
                        };
                        expected_wakes.insert(rop, Expected { tid: rtid, what: Completion::Read(d), cause: e.id });
                        done.extend(more);
                    }
                    let mine = done.contains(&tid);
                    if mine == blocked.is_some() {
                        return Err(format!(
                            "step {step}: kernel {} the write of {n}, model says {}",
                            if blocked.is_some() { "blocked" } else { "completed" },
                            if mine { "completed" } else { "blocked" }
                        ));
                    }
                    match (blocked, &e.kind) {
                        (Some(op), _) => {
                            pending_writes.insert(tid, (op, n));
                            lock = Some(tid);
                        }
                        (None, EventKind::Call { outs, .. }) => {
                            if *outs != Completion::Written(n).outs() {
                                return Err(format!("step {step}: WriteFile of {n} completed with {outs:?}"));
                            }
                            lock = None;
                        }
                        _ => unreachable!(),
                    }
                    for w in done.into_iter().filter(|&w| w != tid) {
                        let (op, len) = pending_writes
                            .get(&w)
                            .copied()
                            .ok_or(format!("step {step}: model completed T{w}'s write"))?;
                        expected_wakes.insert(op, Expected { tid: w, what: Completion::Written(len), cause: e.id });
                    }
                } else {
                    let len = arg(step, args, "len")?.as_u32().ok_or(format!("step {step}: ReadFile len {args:?}"))?;
                    let (rr, done) = model.read(len);
                    match (rr, blocked, &e.kind) {
                        (ReadResult::Wait, Some(op), _) => pending_read = Some((op, tid, len)),
                        (ReadResult::Data(d), None, EventKind::Call { outs, .. }) => {
                            let want = Completion::Read(d).outs();
                            if *outs != want {
                                return Err(format!("step {step}: kernel read {outs:?}, model {want:?}"));
                            }
                        }
                        (rr, _, _) => {
                            return Err(format!("step {step}: kernel blocked={}, model {rr:?}", blocked.is_some()));
                        }
                    }
                    for w in done {
                        let (op, len) = pending_writes
                            .get(&w)
                            .copied()
                            .ok_or(format!("step {step}: model completed T{w}'s write"))?;
                        expected_wakes.insert(op, Expected { tid: w, what: Completion::Written(len), cause: e.id });
                    }
                }
            }
            EventKind::Granted { api, .. } => {
                // The lock passes to a waiting WriteFile when its holder's call completes.
                let waiter = e.op.and_then(|op| lock_waits.remove(&op));
                if api != "WriteFile" || waiter != Some(tid) {
                    return Err(format!(
                        "step {step}: T{tid} granted a lock for {api} it did not wait for ({:?})",
                        e.op
                    ));
                }
                // The holder's call has ended before the grant: its Wake (or its thread's
                // exit) comes first in the trace, and released the lock.
                if let Some(h) = lock {
                    return Err(format!("step {step}: T{tid} granted the lock T{h} still holds"));
                }
                lock = Some(tid);
            }
            EventKind::ThreadExit { .. } => {
                // Thread exit cancels a call waiting for the lock and releases the lock.
                lock_waits.retain(|_, t| *t != tid);
                if lock == Some(tid) {
                    lock = None;
                }
            }
            EventKind::Wake { api, ret, outs, error, .. } if api == "WriteFile" || api == "ReadFile" => {
                let want = e.op.and_then(|op| expected_wakes.remove(&op));
                let Some(want) = want else {
                    return Err(format!(
                        "step {step}: kernel completed T{tid}'s {api} (op {:?}: {ret}, {outs:?}), model did not",
                        e.op
                    ));
                };
                let is_write = matches!(want.what, Completion::Written(_));
                if want.tid != tid
                    || is_write != (api == "WriteFile")
                    || e.cause != Some(want.cause)
                    || *ret != Ret::Bool(true)
                    || error.is_some()
                    || *outs != want.what.outs()
                {
                    return Err(format!(
                        "step {step}: kernel woke T{tid}'s {api} with {ret}, {outs:?}, error {error:?}, cause {:?}; \
                         model: {want:?}",
                        e.cause
                    ));
                }
                if is_write {
                    pending_writes.remove(&tid);
                    if lock == Some(tid) {
                        lock = None;
                    }
                }
            }
            _ => {}
        }
    }
    if !expected_wakes.is_empty() {
        return Err(format!("wake-ups {expected_wakes:?} never came"));
    }
    if lock.is_none() && !lock_waits.is_empty() {
        return Err(format!("the write lock is free but {lock_waits:?} were not granted it"));
    }
    // Whatever is left blocked is what the model says is still waiting.
    let kernel_pending: BTreeSet<u32> = pending_writes.keys().copied().collect();
    let model_pending: BTreeSet<u32> = model.pending_writes().into_iter().collect();
    if model_pending != kernel_pending {
        return Err(format!("blocked writers: kernel {kernel_pending:?}, model {model_pending:?}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// §§1.1, 2.2-2.5, 2.7, 3.1-3.3 as stated by sim-model, against the kernel.
    #[test]
    fn kernel_pipe_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        prop_assert!(matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)), "{}", r.summary());
        if let Err(e) = compare(&p, &r) {
            prop_assert!(false, "{}\n{:?}\n{}", e, p, r.trace_text());
        }
    }
}
