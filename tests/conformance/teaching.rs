//! The teaching cases of the foundation issue, end to end, with their text traces
//! snapshotted (insta). Every snapshot is read before it is accepted.

use crate::support::*;
use sim_core::prelude::*;
use sim_core::report::WaitEdge;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};

/// The out-parameter `name` of a traced call.
fn out<'a>(outs: &'a [Arg], name: &str) -> Option<&'a ArgValue> {
    outs.iter().find(|a| a.name == name).map(|a| &a.value)
}

/// Case 1: a parent redirects a child's stdout through CreatePipe + CreateProcess
/// (bInheritHandles) and reads until ERROR_BROKEN_PIPE; it completes on every seed when
/// the parent closes its copy of the write end (§1.10; Microsoft's "Creating a Child
/// Process with Redirected Input and Output").
#[test]
fn redirect_with_write_end_closed_completes_on_every_seed() {
    let s = scenarios::find("redirect-fixed").unwrap();
    for seed in 0..200 {
        let r = s.run(Config::random(seed));
        assert_completed(&r);
        let Outcome::Completed { exit_codes } = &r.outcome else { unreachable!() };
        assert!(exit_codes.iter().all(|(_, _, c)| *c == 0), "seed {seed}: {exit_codes:?}");
    }
    insta::assert_snapshot!("redirect_fixed_seed_0", s.run(Config::random(0)).trace_text());
}

/// Case 2: the same with the parent's CloseHandle(w) forgotten: every seed ends in
/// Deadlock, and the report names the parent's ReadFile, the pipe, and the leaked write
/// handle with its provenance (§1.10: EOF needs the last write handle closed).
#[test]
fn redirect_with_leaked_write_end_deadlocks_on_every_seed() {
    let s = scenarios::find("redirect-leaked-write-end").unwrap();
    for seed in 0..200 {
        let r = s.run(Config::random(seed));
        let Outcome::Deadlock(d) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert_eq!(d.threads.len(), 1, "only the parent is left");
        let t = &d.threads[0];
        assert_eq!((t.image.as_str(), t.api.as_str()), ("parent.exe", "ReadFile"));
        let [WaitEdge::PipeData { pipe, queued, writers, closed_writers }] = t.waits.as_slice() else {
            panic!("seed {seed}: {:?}", t.waits)
        };
        assert_eq!((pipe.as_str(), *queued), ("pipe#1", 0));
        // The leaked handle: the parent's own write end, created by CreatePipe.
        assert_eq!(writers.len(), 1);
        let leak = &writers[0];
        assert_eq!((leak.pid, leak.handle), (t.pid, HANDLE(8)));
        assert_eq!(leak.history[0].api, "CreatePipe");
        let create_step = leak.history[0].step;
        // The child's inherited copy was closed when the child exited.
        assert_eq!(closed_writers.len(), 1);
        let child_copy = &closed_writers[0];
        assert_ne!(child_copy.pid, t.pid);
        assert_eq!(child_copy.history[1].api, "CreateProcess");
        assert_eq!(child_copy.history[1].how, "inherited");
        assert!(child_copy.history[1].step > create_step);
        assert_eq!(child_copy.closed.how, "closed at process exit");
        // The wait-for graph: the reader waits on its own process.
        assert_eq!(d.cycle, vec![t.tid]);
        let text = d.render();
        assert!(text.contains("handle 0x8 in P4 (parent.exe) (the blocked thread's own process)"), "{text}");
        assert!(text.contains("created (write end) by CreatePipe at step 1"), "{text}");
        assert!(text.contains("inherited by CreateProcess at step 3"), "{text}");
    }
    let r = s.run(Config::random(0));
    insta::assert_snapshot!("redirect_leaked_write_end_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Case 3: nSize = 4 and a 10-byte WriteFile: it blocks, and returns after the reader's
/// 6th one-byte ReadFile, when the unread bytes (4) fit the quota (§§2.3-2.5).
#[test]
fn quota_of_4_and_a_10_byte_write_returns_after_the_6th_read() {
    let s = scenarios::find("pipe-quota-arithmetic").unwrap();
    for seed in 0..100 {
        let r = s.run(Config::random(seed));
        assert_completed(&r);
        let mut reads = 0;
        let mut returned_after = None;
        let mut blocked = false;
        for e in &r.trace {
            match &e.kind {
                EventKind::Block { api, .. } if api == "WriteFile" => blocked = true,
                // A read may complete at once or, on seeds where the reader ran first,
                // be woken by the write itself.
                EventKind::Call { api, ret: Ret::Bool(true), outs, .. }
                | EventKind::Wake { api, ret: Ret::Bool(true), outs, .. }
                    if api == "ReadFile" && matches!(out(outs, "read"), Some(ArgValue::Bytes { len: 1, .. })) =>
                {
                    reads += 1
                }
                EventKind::Wake { api, ret, outs, .. } if api == "WriteFile" => {
                    assert_eq!((ret, out(outs, "written")), (&Ret::Bool(true), Some(&ArgValue::U32(10))));
                    returned_after = Some(reads);
                }
                EventKind::Call { api, outs, .. } if api == "PeekNamedPipe" && reads == 0 && blocked => {
                    // The blocked write's bytes are already readable (docs/semantics.md §2.3).
                    assert_eq!(out(outs, "avail"), Some(&ArgValue::U32(10)), "seed {seed}");
                }
                _ => {}
            }
        }
        assert!(blocked, "seed {seed}: the 10-byte write must block on a 4-byte quota");
        assert_eq!(returned_after, Some(6), "seed {seed}\n{}", r.trace_text());
    }
    insta::assert_snapshot!("pipe_quota_arithmetic_seed_0", s.run(Config::random(0)).trace_text());
}

/// TEACHING-CASES item 1 (shape a), with §2.3/2.4: a parent that waits for its child
/// before reading the child's stdout completes while the output fits the 4096-byte
/// default quota (§1.1) and deadlocks from 4097 bytes on, on every seed: the child's
/// WriteFile waits for room, the parent's WaitForSingleObject waits for the child.
#[test]
fn pipe_clog_threshold_is_the_quota() {
    let run = |bytes: u32, seed: u64| {
        let mut sim = Sim::new(Config::random(seed));
        scenarios::pipes::install_pipe_clog(&mut sim, bytes);
        sim.run("waiter.exe")
    };
    for seed in 0..20 {
        assert_completed(&run(4096, seed));
        let r = run(4097, seed);
        let Outcome::Deadlock(d) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        let apis: Vec<(&str, &str)> = d.threads.iter().map(|t| (t.image.as_str(), t.api.as_str())).collect();
        assert_eq!(apis, vec![("waiter.exe", "WaitForSingleObject"), ("writer.exe", "WriteFile")]);
        let [WaitEdge::PipeSpace { unread, quota, readers, .. }] = d.threads[1].waits.as_slice() else {
            panic!("{:?}", d.threads[1].waits)
        };
        assert_eq!((*unread, *quota), (4097, 4096));
        assert_eq!(readers.len(), 1);
        assert_eq!(readers[0].pid, d.threads[0].pid, "the only reader is the waiting parent");
        // A two-thread cycle across the two processes.
        assert_eq!(d.cycle, vec![d.threads[0].tid, d.threads[1].tid]);
    }
    let s = scenarios::find("pipe-clog").unwrap();
    let r = s.run(Config::random(0));
    insta::assert_snapshot!("pipe_clog_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// docs/semantics.md §1.A: on a synchronous handle, a PeekNamedPipe issued while another
/// thread's ReadFile is pending on the same file object waits for that read; on seeds
/// where the read starts first the program deadlocks, and the report shows the lock edge.
#[test]
fn a_peek_behind_a_pending_read_deadlocks_on_some_seeds() {
    let s = scenarios::find("sync-handle-serialization").unwrap();
    let (mut completed, mut deadlocked) = (0, 0);
    for seed in 0..100 {
        let r = s.run(Config::random(seed));
        match &r.outcome {
            Outcome::Completed { .. } => completed += 1,
            Outcome::Deadlock(d) => {
                deadlocked += 1;
                let reader = d.threads.iter().find(|t| t.api == "ReadFile").expect("the reader is stuck");
                let peeker = d.threads.iter().find(|t| t.api == "PeekNamedPipe").expect("the peek is stuck");
                assert!(
                    matches!(peeker.waits.as_slice(), [WaitEdge::FileLock { holder: Some(h), .. }] if *h == reader.tid),
                    "seed {seed}: {:?}",
                    peeker.waits
                );
                assert!(d.render().contains("pending call on the same synchronous file object"));
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(completed > 0 && deadlocked > 0, "completed {completed}, deadlocked {deadlocked}");
}

/// Kernel v2's teaching case (docs/semantics.md §14.27, §14.28): a periodic
/// synchronization timer (period 10 ms) drives a consumer that sometimes takes 25 ms per
/// item. A timer is signalled or not, so the periods that pass while the consumer works
/// are lost: the trace shows expiries of a timer that was still signalled, and the
/// consumer sees fewer signals than periods and falls behind the clock. The fixed
/// consumer counts elapsed periods from GetTickCount and keeps up.
#[test]
fn a_periodic_timer_does_not_queue_missed_periods() {
    let naive = scenarios::find("periodic-timer-missed-periods").unwrap();
    let fixed = scenarios::find("periodic-timer-count-periods").unwrap();
    for seed in 0..20 {
        let r = naive.run(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
        let behind = exit_codes[0].2;
        let fired = r.trace.iter().filter(|e| matches!(e.kind, EventKind::TimerFired { .. })).count();
        let lost =
            r.trace.iter().filter(|e| matches!(e.kind, EventKind::TimerFired { was_signalled: true, .. })).count();
        let signals = r
            .trace
            .iter()
            .filter(|e| match &e.kind {
                EventKind::Call { api, ret, .. } | EventKind::Wake { api, ret, .. } => {
                    api == "WaitForSingleObject" && *ret == Ret::Wait(WAIT_OBJECT_0)
                }
                _ => false,
            })
            .count();
        assert_eq!(signals, scenarios::timers::PERIODS as usize, "seed {seed}: one item per signal");
        assert!(lost > 0, "seed {seed}: some periods pass while the timer is still signalled");
        assert_eq!(fired - lost, signals, "seed {seed}: every signal that was not lost is taken by one wait");
        assert!(behind > 0, "seed {seed}: the naive consumer falls behind the clock");
        let r = fixed.run(Config::random(seed));
        assert_eq!(
            r.outcome,
            Outcome::Completed { exit_codes: vec![(4, "consumer.exe".into(), 0)] },
            "{}",
            r.summary()
        );
    }
    let r = naive.run(Config::random(0));
    insta::assert_snapshot!("periodic_timer_missed_periods_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
    let r = fixed.run(Config::random(0));
    insta::assert_snapshot!("periodic_timer_count_periods_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// The main process's exit code of a completed run, or a description of the outcome.
fn main_exit(r: &RunReport) -> Result<u32, String> {
    match &r.outcome {
        Outcome::Completed { exit_codes } => {
            Ok(exit_codes.iter().find(|c| c.1 == "server.exe").map(|c| c.2).expect("the server ran"))
        }
        other => Err(other.kind().to_string()),
    }
}

/// Named-pipe teaching case 1 (docs/semantics.md §§6.8, 6.14): one instance, two
/// clients. The second client's CreateFile fails with ERROR_PIPE_BUSY while the first is
/// served; the naive client gives up (the server then waits in ConnectNamedPipe for a
/// client that never comes, and the report says so), the fixed one calls WaitNamedPipe,
/// which returns once the server disconnects the first client and listens again.
#[test]
fn named_pipe_busy_then_wait_named_pipe() {
    let naive = scenarios::find("named-pipe-busy").unwrap();
    let fixed = scenarios::find("named-pipe-busy-fixed").unwrap();
    let mut gave_up = 0;
    for seed in 0..100 {
        let r = naive.run(Config::random(seed));
        if let Outcome::Deadlock(d) = &r.outcome {
            gave_up += 1;
            let server = d.threads.iter().find(|t| t.api == "ConnectNamedPipe").expect("the server waits for a client");
            assert!(
                matches!(&server.waits[..], [WaitEdge::PipeClient { pipe }] if pipe == scenarios::named_pipes::PIPE)
            );
            assert!(r.trace.iter().any(|e| matches!(&e.kind, EventKind::Call { api, error: Some(err), .. }
                if api == "CreateFile" && *err == ERROR_PIPE_BUSY)));
        }
        assert_eq!(main_exit(&fixed.run(Config::random(seed))), Ok(0), "seed {seed}");
    }
    assert!(gave_up > 0, "some seed sends the second client in while the first is served");
    let seed = (0..100).find(|&s| matches!(naive.run(Config::random(s)).outcome, Outcome::Deadlock(_))).unwrap();
    let r = naive.run(Config::random(seed));
    insta::assert_snapshot!("named_pipe_busy", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// Named-pipe teaching case 2 (§§6.8, 6.14): a server that creates its next instance
/// only after serving a client leaves a gap with no instance at all, and a client
/// arriving in it (or waiting across it) gets ERROR_FILE_NOT_FOUND on some seeds;
/// creating the next instance first closes the gap.
#[test]
fn named_pipe_instance_gap_is_found_by_a_sweep() {
    let naive = scenarios::find("named-pipe-instance-gap").unwrap();
    let fixed = scenarios::find("named-pipe-instance-gap-fixed").unwrap();
    let mut failed = Vec::new();
    for seed in 0..200 {
        let r = naive.run(Config::random(seed));
        match main_exit(&r) {
            Ok(0) => {}
            _ => {
                // A client found no pipe at all: CreateFile in the gap, or a WaitNamedPipe
                // whose pipe vanished with its last instance.
                assert!(
                    r.trace.iter().any(|e| matches!(&e.kind,
                        EventKind::Call { api, error: Some(err), .. } | EventKind::Wake { api, error: Some(err), .. }
                        if (api == "CreateFile" || api == "WaitNamedPipe") && *err == ERROR_FILE_NOT_FOUND)),
                    "seed {seed}: a client found no instance\n{}",
                    r.summary()
                );
                failed.push(seed);
            }
        }
        assert_eq!(main_exit(&fixed.run(Config::random(seed))), Ok(0), "seed {seed}");
    }
    assert!(!failed.is_empty() && failed.len() < 200, "some seeds, not all: {}", failed.len());
    let r = naive.run(Config::random(failed[0]));
    insta::assert_snapshot!("named_pipe_instance_gap", format!("seed {}\n{}", failed[0], r.trace_text()));
}

/// Named-pipe teaching case 3 (§6.6): ConnectNamedPipe returns FALSE with
/// ERROR_PIPE_CONNECTED when the client connected before it was called; a server that
/// treats that as failure drops the client on exactly those seeds.
#[test]
fn pipe_connected_is_a_good_connection() {
    let naive = scenarios::find("pipe-connected-treated-as-failure").unwrap();
    let fixed = scenarios::find("pipe-connected-treated-as-failure-fixed").unwrap();
    let (mut dropped, mut kept) = (0, 0);
    for seed in 0..200 {
        let r = naive.run(Config::random(seed));
        let connected_first = r.trace.iter().any(|e| {
            matches!(&e.kind, EventKind::Call { api, error: Some(err), .. }
            if api == "ConnectNamedPipe" && *err == ERROR_PIPE_CONNECTED)
        });
        assert_eq!(main_exit(&r), Ok(u32::from(connected_first)), "seed {seed}: dropped exactly when connected first");
        if connected_first {
            dropped += 1
        } else {
            kept += 1
        }
        assert_eq!(main_exit(&fixed.run(Config::random(seed))), Ok(0), "seed {seed}");
    }
    assert!(dropped > 0 && kept > 0, "both orders happen: {dropped} {kept}");
}

/// Named-pipe teaching case 4 (§§5.1, 5.2): a message-mode reader with an 8-byte buffer
/// gets FALSE with ERROR_MORE_DATA for longer messages; ignoring it splits them.
#[test]
fn a_reader_ignoring_more_data_splits_messages() {
    let naive = scenarios::find("message-mode-more-data").unwrap();
    let fixed = scenarios::find("message-mode-more-data-fixed").unwrap();
    for seed in 0..50 {
        // "first message" (13 bytes) and "the third message" (17) each come in 2 and 3
        // parts: 2 + 1 + 3 = 6 "messages" instead of 3.
        assert_eq!(main_exit(&naive.run(Config::random(seed))), Ok(6), "seed {seed}");
        assert_eq!(main_exit(&fixed.run(Config::random(seed))), Ok(0), "seed {seed}");
    }
    let r = naive.run(Config::random(0));
    insta::assert_snapshot!("message_mode_more_data", r.trace_text());
}

/// Asynchronous-I/O teaching case 5 (docs/semantics.md §§16.1-16.3, 16.24, 16.29): a
/// completion-port echo server with two workers and three overlapped pipe instances serves
/// three clients on every seed. The variant that issues the echo's WriteFile with the
/// OVERLAPPED of the read it just started (still pending) is reported, naming both
/// operations (§16.42: undefined on Windows).
#[test]
fn an_iocp_echo_server_and_a_reused_overlapped() {
    let good = scenarios::find("iocp-echo-server").unwrap();
    let shared = scenarios::find("iocp-echo-server-shared-overlapped").unwrap();
    for seed in 0..60 {
        let r = good.run(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert!(exit_codes.iter().all(|c| c.2 == 0), "seed {seed}: {exit_codes:?}");
        assert_eq!(exit_codes.len(), 1 + scenarios::async_io::CLIENTS);
        let r = shared.run(Config::random(seed));
        match &r.outcome {
            Outcome::Failed { message, .. } => {
                assert!(
                    message.contains("started WriteFile with an OVERLAPPED that ReadFile (operation #"),
                    "{message}"
                )
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    let r = good.run(Config::random(0));
    insta::assert_snapshot!("iocp_echo_server", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Asynchronous-I/O teaching case 6 (§§16.35, 16.36): an APC queued to a thread blocked
/// in a non-alertable wait never runs, and the deadlock report names it; the thread that
/// waits alertably runs it (WAIT_IO_COMPLETION) and goes on.
#[test]
fn an_apc_runs_only_in_an_alertable_wait() {
    let stuck = scenarios::find("apc-non-alertable-wait").unwrap();
    let fixed = scenarios::find("apc-alertable-wait").unwrap();
    for seed in 0..30 {
        let r = stuck.run(Config::random(seed));
        let Outcome::Deadlock(d) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert!(
            d.threads
                .iter()
                .any(|t| t.waits.iter().any(|w| matches!(w, WaitEdge::QueuedApcs { from } if from.len() == 1))),
            "{}",
            d.render()
        );
        let r = fixed.run(Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert!(r.trace.iter().any(|e| matches!(e.kind, EventKind::ApcRun { .. })));
    }
    let r = stuck.run(Config::random(0));
    insta::assert_snapshot!("apc_non_alertable_wait", format!("{}\n{}", r.trace_text(), r.summary()));
    let r = fixed.run(Config::random(0));
    insta::assert_snapshot!("apc_alertable_wait", r.trace_text());
}

/// The messages the reader of `mailslot-two-writers` got, in order: the `read` bytes of
/// each ReadFile on the mailslot that returned TRUE, at once or woken.
fn mailslot_reads(r: &RunReport) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    for e in &r.trace {
        match &e.kind {
            EventKind::Call { api, ret: Ret::Bool(true), outs, .. }
            | EventKind::Wake { api, ret: Ret::Bool(true), outs, .. }
                if api == "ReadFile" =>
            {
                let Some(ArgValue::Bytes { preview, .. }) = out(outs, "read") else { panic!("a read without bytes") };
                // The preview of a short buffer is the whole buffer, as a quoted string.
                got.push(preview.trim_matches('"').as_bytes().to_vec());
            }
            _ => {}
        }
    }
    got
}

/// A mailslot with two writers and one reader (§§18.9, 18.6): every read is one whole
/// message, each writer's messages come in the order it wrote them, and the interleaving
/// between the writers is decided by the seed. The two snapshots are two seeds with
/// different interleavings.
#[test]
fn mailslot_two_writers_one_reader() {
    use scenarios::mailslots::{PER_WRITER, message};
    let s = scenarios::find("mailslot-two-writers").unwrap();
    let mut orders: Vec<(u64, Vec<Vec<u8>>)> = Vec::new();
    for seed in 0..200 {
        let r = s.run(Config::random(seed));
        assert_completed(&r);
        let Outcome::Completed { exit_codes } = &r.outcome else { unreachable!() };
        assert!(exit_codes.iter().all(|(_, _, c)| *c == 0), "seed {seed}: {exit_codes:?}");
        let got = mailslot_reads(&r);
        assert_eq!(got.len(), 2 * PER_WRITER as usize, "seed {seed}: one read per message");
        for tag in ["A", "B"] {
            // Boundaries and per-writer order: this writer's messages, whole, in order.
            let mine: Vec<&Vec<u8>> = got.iter().filter(|m| m.starts_with(tag.as_bytes())).collect();
            let want: Vec<Vec<u8>> = (1..=PER_WRITER).map(|i| message(tag, i)).collect();
            assert_eq!(mine, want.iter().collect::<Vec<_>>(), "seed {seed}: writer {tag}'s messages");
        }
        if !orders.iter().any(|(_, o)| *o == got) {
            orders.push((seed, got));
        }
    }
    assert!(orders.len() >= 2, "the interleaving of the writers depends on the seed: {orders:?}");
    // Snapshots: the first seed whose reads mix the writers, and the next other order.
    let mixed = |o: &Vec<Vec<u8>>| o.windows(2).filter(|w| w[0][0] != w[1][0]).count() > 1;
    let first = orders.iter().position(|(_, o)| mixed(o)).expect("some seed mixes the writers");
    let second = if first == 0 { 1 } else { 0 };
    let (a, b) = (orders[first].0, orders[second].0);
    for (name, seed) in [("mailslot_two_writers_first", a), ("mailslot_two_writers_second", b)] {
        let r = s.run(Config::random(seed));
        insta::assert_snapshot!(name, format!("seed {seed}\n{}", r.trace_text()));
    }
}
