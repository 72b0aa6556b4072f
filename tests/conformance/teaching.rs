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

// ----- window messages (docs/semantics.md §17; TEACHING-CASES items 6, 24, 26) -----------

/// Registers class `class` with procedure `proc` and creates a message-only window of it
/// (parent HWND_MESSAGE) titled like the class.
async fn message_window(ctx: &ThreadCtx, class: &str, proc: WNDPROC) -> HWND {
    assert_ne!(ctx.register_class_ex(&WNDCLASSEX::new(class, proc)).await, 0);
    let hwnd = ctx.create_window_ex(0, class, class, 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    assert!(!hwnd.is_null(), "CreateWindowEx failed: {}", ctx.get_last_error());
    hwnd
}

/// The classic message loop: GetMessage and DispatchMessage until WM_QUIT; returns
/// WM_QUIT's wParam (PostQuitMessage's exit code).
async fn message_loop(ctx: &ThreadCtx) -> u32 {
    let mut m = MSG::default();
    loop {
        match ctx.get_message(&mut m, HWND::NULL, 0, 0).await {
            0 => return m.wParam as u32,
            -1 => panic!("GetMessage failed: {}", ctx.get_last_error()),
            _ => {
                ctx.dispatch_message(&m).await;
            }
        }
    }
}

/// Runs a one-program simulation of `body` as `image`.
fn run_program<F, Fut>(config: Config, image: &str, body: F) -> RunReport
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: std::future::Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(config);
    sim.program(image, body);
    sim.run(image)
}

/// The time and step of the first event matching `f`.
fn when(r: &RunReport, f: impl Fn(&EventKind) -> bool) -> Option<(u64, u64)> {
    r.trace.iter().find(|e| f(&e.kind)).map(|e| (e.time_ms, e.step))
}

/// A call of `api` that completed at once or was woken.
fn is_call(k: &EventKind, api: &str) -> bool {
    matches!(k, EventKind::Call { api: a, .. } | EventKind::Wake { api: a, .. } if a == api)
}

/// Messages case 1: PostMessage queues the message and returns at once, even while the
/// receiving thread is busy (here: in Sleep(100), not looking at its queue); the message
/// is processed later, when the receiver's GetMessage takes it and DispatchMessage runs
/// the window procedure. The trace shows the post returning at 0 ms and the procedure
/// running at 100 ms.
#[test]
fn post_message_returns_while_the_receiver_is_busy() {
    let run = |seed: u64| {
        run_program(Config::random(seed), "post.exe", |ctx| async move {
            let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
                if msg == WM_APP {
                    // The work the message asks for; then the program is done.
                    assert_eq!(ctx.get_tick_count().await, 100, "processed after the receiver's Sleep");
                    ctx.post_quit_message(0).await;
                    return 0;
                }
                ctx.def_window_proc(hwnd, msg, w, l).await
            });
            let hwnd = message_window(&ctx, "busy", proc).await;
            let poster = spawn(&ctx, move |ctx| async move {
                assert_eq!(ctx.post_message(hwnd, WM_APP, 1, 0).await, TRUE);
                // Returned at once: the receiver has not looked at its queue yet.
                assert_eq!(ctx.get_tick_count().await, 0);
                0
            })
            .await;
            ctx.sleep(100).await; // busy, not pumping
            assert_eq!(message_loop(&ctx).await, 0);
            join(&ctx, poster).await
        })
    };
    for seed in 0..100 {
        let r = run(seed);
        assert_completed(&r);
        let posted = when(&r, |k| is_call(k, "PostMessage")).expect("posted");
        let dispatched = when(&r, |k| is_call(k, "DispatchMessage")).expect("dispatched");
        assert_eq!(posted.0, 0, "seed {seed}: PostMessage returned at 0 ms");
        assert_eq!(dispatched.0, 100, "seed {seed}: the procedure ran at 100 ms");
        assert!(posted.1 < dispatched.1);
    }
    let r = run(0);
    insta::assert_snapshot!("post_message_returns_at_once", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Waits for `h` and runs the messages that arrive meanwhile: MsgWaitForMultipleObjects
/// with QS_ALLINPUT, and on WAIT_OBJECT_0 + 1 (the queue) PeekMessage(PM_REMOVE) until it
/// is empty (a message sent by another thread runs inside PeekMessage, a posted one is
/// dispatched) (§17.H1).
async fn wait_pumping(ctx: &ThreadCtx, h: HANDLE) {
    loop {
        match ctx.msg_wait_for_multiple_objects(&[h], false, INFINITE, QS_ALLINPUT).await {
            WAIT_OBJECT_0 => return,
            r if r == WAIT_OBJECT_0 + 1 => {
                let mut m = MSG::default();
                while ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await == TRUE {
                    ctx.dispatch_message(&m).await;
                }
            }
            r => panic!("MsgWaitForMultipleObjects returned {r}: {}", ctx.get_last_error()),
        }
    }
}

/// The program of messages case 2: the main thread owns a window and waits for an event
/// that a second thread sets after SendMessage to that window returns; it waits in
/// WaitForSingleObject (`pumping` false) or with [`wait_pumping`].
fn send_to_a_waiting_thread(pumping: bool, seed: u64) -> RunReport {
    run_program(Config::random(seed), "send.exe", move |ctx| async move {
        let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
            if msg == WM_APP {
                return w as LRESULT * 2;
            }
            ctx.def_window_proc(hwnd, msg, w, l).await
        });
        let hwnd = message_window(&ctx, "receiver", proc).await;
        let done = ctx.create_event(None, true, false, None).await;
        let sender = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.send_message(hwnd, WM_APP, 21, 0).await, 42);
            ctx.set_event(done).await;
            0
        })
        .await;
        if pumping {
            wait_pumping(&ctx, done).await;
        } else {
            assert_eq!(ctx.wait_for_single_object(done, INFINITE).await, WAIT_OBJECT_0);
        }
        join(&ctx, sender).await
    })
}

/// Messages case 2 (TEACHING-CASES item 6): a SendMessage to another thread's window
/// returns only when that thread runs the message, and a thread runs sent messages only
/// inside calls that look at its queue (GetMessage, PeekMessage, WaitMessage, its own
/// SendMessage). A receiver blocked in WaitForSingleObject
/// for what the sender will do afterwards deadlocks on every seed, and the report names
/// the sender's SendMessage, the window, its owner thread and that thread's
/// WaitForSingleObject. Waiting with MsgWaitForMultipleObjects and pumping with
/// PeekMessage when it returns WAIT_OBJECT_0 + 1 completes on every seed.
#[test]
fn send_message_to_a_thread_in_wait_for_single_object() {
    for seed in 0..200 {
        let r = send_to_a_waiting_thread(false, seed);
        let Outcome::Deadlock(d) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        let [receiver, sender] = d.threads.as_slice() else { panic!("{}", d.render()) };
        assert_eq!((receiver.api.as_str(), sender.api.as_str()), ("WaitForSingleObject", "SendMessage"));
        let [WaitEdge::Message { what, window: Some(window), receiver: Some(owner), receiver_state: Some(state) }] =
            sender.waits.as_slice()
        else {
            panic!("seed {seed}: {:?}", sender.waits)
        };
        assert!(what.starts_with("SendMessage(WM_APP)"), "{what}");
        assert!(window.contains("class \"receiver\""), "{window}");
        assert_eq!(*owner, receiver.tid, "the window's owner is the waiting thread");
        assert!(
            state.contains("WaitForSingleObject") && state.contains("does not look at its message queue"),
            "{state}"
        );
        assert_eq!(d.cycle, vec![receiver.tid, sender.tid]);
        let r = send_to_a_waiting_thread(true, seed);
        assert_eq!(r.outcome, Outcome::Completed { exit_codes: vec![(4, "send.exe".into(), 0)] }, "{}", r.summary());
    }
    let r = send_to_a_waiting_thread(false, 0);
    insta::assert_snapshot!("send_message_to_a_waiting_thread", format!("{}\n{}", r.trace_text(), r.summary()));
    let r = send_to_a_waiting_thread(true, 0);
    insta::assert_snapshot!("send_message_to_a_pumping_wait", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Messages case 3 (§17.I3): re-entrancy. Thread A sends to B's window; B's procedure
/// sends back to A's window while A waits in its SendMessage. A runs its own procedure
/// inside that SendMessage (InSendMessage is TRUE there), replies, and both sends
/// complete on every seed: a thread waiting in SendMessage still runs messages sent to it.
#[test]
fn send_message_reentrancy() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let run = |seed: u64| {
        let log: Rc<RefCell<Vec<String>>> = Rc::default();
        let l = log.clone();
        let r = run_program(Config::random(seed), "reenter.exe", move |ctx| {
            let log = l.clone();
            async move {
                let la = log.clone();
                let proc_a = wndproc(move |ctx, hwnd, msg, w, l| {
                    let log = la.clone();
                    async move {
                        if msg == WM_APP + 1 {
                            assert_eq!(ctx.in_send_message(), TRUE, "sent by B");
                            log.borrow_mut().push(format!("A's procedure runs WM_APP+1({w})"));
                            return w as LRESULT + 1;
                        }
                        ctx.def_window_proc(hwnd, msg, w, l).await
                    }
                });
                let a = message_window(&ctx, "a", proc_a).await;
                let ready = ctx.create_event(None, true, false, None).await;
                let lb = log.clone();
                let b = spawn(&ctx, move |ctx| async move {
                    let proc_b = wndproc(move |ctx, hwnd, msg, w, l| {
                        let log = lb.clone();
                        async move {
                            match msg {
                                WM_APP => {
                                    log.borrow_mut().push(format!("B's procedure runs WM_APP({w}), sends to A"));
                                    let r = ctx.send_message(a, WM_APP + 1, w * 10, 0).await;
                                    log.borrow_mut().push(format!("B's SendMessage to A returned {r}"));
                                    r + 1
                                }
                                WM_DESTROY => {
                                    ctx.post_quit_message(0).await;
                                    0
                                }
                                _ => ctx.def_window_proc(hwnd, msg, w, l).await,
                            }
                        }
                    });
                    message_window(&ctx, "b", proc_b).await;
                    ctx.set_event(ready).await;
                    message_loop(&ctx).await
                })
                .await;
                assert_eq!(ctx.wait_for_single_object(ready, INFINITE).await, WAIT_OBJECT_0);
                let bw = ctx.find_window_ex(HWND_MESSAGE, HWND::NULL, Some("b"), None).await;
                assert!(!bw.is_null());
                log.borrow_mut().push("A sends WM_APP(3) to B".into());
                let r = ctx.send_message(bw, WM_APP, 3, 0).await;
                log.borrow_mut().push(format!("A's SendMessage to B returned {r}"));
                assert_eq!(ctx.post_message(bw, WM_CLOSE, 0, 0).await, TRUE);
                join(&ctx, b).await
            }
        });
        let log = log.borrow().clone();
        (r, log)
    };
    for seed in 0..100 {
        let (r, log) = run(seed);
        assert_completed(&r);
        assert_eq!(
            log,
            [
                "A sends WM_APP(3) to B",
                "B's procedure runs WM_APP(3), sends to A",
                "A's procedure runs WM_APP+1(30)",
                "B's SendMessage to A returned 31",
                "A's SendMessage to B returned 32",
            ],
            "seed {seed}"
        );
    }
    let (r, _) = run(0);
    insta::assert_snapshot!("send_message_reentrancy", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Messages case 4 (§17.E1; TEACHING-CASES item 26): PostQuitMessage does not queue
/// WM_QUIT; it sets a flag that GetMessage reports only when no posted message is left,
/// so messages posted after it are still retrieved before WM_QUIT. A WM_QUIT posted with
/// PostThreadMessage (or PostMessage) is an ordinary queued message: it comes in FIFO
/// order and the loop it ends leaves later messages behind.
#[test]
fn post_quit_message_comes_after_later_posts() {
    let r = run_program(Config::random(0), "quit.exe", |ctx| async move {
        let proc = wndproc(|ctx, hwnd, msg, w, l| async move { ctx.def_window_proc(hwnd, msg, w, l).await });
        let hwnd = message_window(&ctx, "quit", proc).await;
        let me = ctx.get_current_thread_id();
        let drain = |ctx: ThreadCtx| async move {
            let mut seen = Vec::new();
            let mut m = MSG::default();
            while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
                seen.push(m.message);
                ctx.dispatch_message(&m).await;
            }
            (seen, m.wParam)
        };
        // PostQuitMessage: the quit comes after everything posted, before or after it.
        assert_eq!(ctx.post_message(hwnd, WM_APP, 0, 0).await, TRUE);
        ctx.post_quit_message(3).await;
        assert_eq!(ctx.post_message(hwnd, WM_APP + 1, 0, 0).await, TRUE);
        assert_eq!(ctx.post_thread_message(me, WM_APP + 2, 0, 0).await, TRUE);
        assert_eq!(drain(ctx.clone()).await, (vec![WM_APP, WM_APP + 1, WM_APP + 2], 3));
        // A posted WM_QUIT: FIFO, and WM_APP+4 is left in the queue.
        assert_eq!(ctx.post_message(hwnd, WM_APP + 3, 0, 0).await, TRUE);
        assert_eq!(ctx.post_thread_message(me, WM_QUIT, 4, 0).await, TRUE);
        assert_eq!(ctx.post_message(hwnd, WM_APP + 4, 0, 0).await, TRUE);
        assert_eq!(drain(ctx.clone()).await, (vec![WM_APP + 3], 4));
        let mut m = MSG::default();
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await, TRUE);
        assert_eq!(m.message, WM_APP + 4, "left behind by the loop that took the posted WM_QUIT");
        0
    });
    assert_eq!(r.outcome, Outcome::Completed { exit_codes: vec![(4, "quit.exe".into(), 0)] }, "{}", r.summary());
    insta::assert_snapshot!("post_quit_message_ordering", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// The trace with runs of more than four like events (same thread, same call, same
/// result: a flood) shown as their first two, a count, and their last.
fn trace_collapsed(r: &RunReport) -> String {
    let key = |e: &sim_core::trace::Event| match &e.kind {
        EventKind::Call { api, ret, error, .. } => Some((e.tid, api.clone(), ret.to_string(), *error)),
        _ => None,
    };
    // Occupancy samples are not narrated (render_text skips them): leave them out here
    // too, or they would cut every run of like calls in two.
    let trace: Vec<sim_core::trace::Event> =
        r.trace.iter().filter(|e| !matches!(e.kind, EventKind::Counter { .. })).cloned().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < trace.len() {
        let k = key(&trace[i]);
        let mut j = i + 1;
        while k.is_some() && j < trace.len() && key(&trace[j]) == k {
            j += 1;
        }
        let run = &trace[i..j];
        if run.len() > 4 {
            out.push_str(&sim_core::trace::render_text(&run[..2]));
            let (first, last) = (run[2].step, run[run.len() - 2].step);
            out.push_str(&format!("          … {} more like these (steps #{first} to #{last}) …\n", run.len() - 3));
            out.push_str(&sim_core::trace::render_text(&run[run.len() - 1..]));
        } else {
            out.push_str(&sim_core::trace::render_text(run));
        }
        i = j;
    }
    out
}

/// The program of messages case 5: the main thread makes its queue (the PeekMessage
/// PM_NOREMOVE idiom, §17.A1) and waits, not pumping, while a producer posts thread
/// messages to it until PostThreadMessage fails; then it drains its queue. The producer
/// returns the number of messages it posted.
fn post_flood(seed: u64) -> RunReport {
    run_program(Config::random(seed), "flood.exe", |ctx| async move {
        let mut m = MSG::default();
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, WM_USER, WM_USER, PM_NOREMOVE).await, FALSE);
        let flooded = ctx.create_event(None, true, false, None).await;
        let consumer = ctx.get_current_thread_id();
        let producer = spawn(&ctx, move |ctx| async move {
            let mut posted = 0;
            while ctx.post_thread_message(consumer, WM_APP, posted, 0).await == TRUE {
                posted += 1;
            }
            assert_eq!(ctx.get_last_error(), ERROR_NOT_ENOUGH_QUOTA);
            ctx.set_event(flooded).await;
            posted as u32
        })
        .await;
        assert_eq!(ctx.wait_for_single_object(flooded, INFINITE).await, WAIT_OBJECT_0);
        let mut drained = 0;
        while ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await == TRUE {
            assert_eq!(m.wParam, drained, "FIFO");
            drained += 1;
        }
        assert_eq!(drained, 10_000);
        // The quota counts messages waiting, not messages ever posted: room again.
        assert_eq!(ctx.post_thread_message(consumer, WM_APP, drained, 0).await, TRUE);
        join(&ctx, producer).await
    })
}

/// Messages case 5 (§17.A3-A4; TEACHING-CASES item 24): a queue holds at most 10,000
/// posted messages. A producer posting to a thread that does not retrieve them gets
/// FALSE with ERROR_NOT_ENOUGH_QUOTA on its 10,001st PostThreadMessage: the error lands
/// on the sender, and the messages already queued are all still there. (The snapshot
/// shows the flood collapsed.)
#[test]
fn post_thread_message_flood_hits_the_quota_at_10000() {
    for seed in 0..3 {
        let r = post_flood(seed);
        assert_eq!(
            r.outcome,
            Outcome::Completed { exit_codes: vec![(4, "flood.exe".into(), 10_000)] },
            "seed {seed}: {}",
            r.summary()
        );
        let posts: Vec<(Ret, Option<Win32Error>)> = r
            .trace
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Call { api, ret, error, .. } if api == "PostThreadMessage" && e.tid == 12 => {
                    Some((ret.clone(), *error))
                }
                _ => None,
            })
            .collect();
        assert_eq!(posts.len(), 10_001);
        assert!(posts[..10_000].iter().all(|p| p.0 == Ret::Bool(true)));
        assert_eq!(posts[10_000], (Ret::Bool(false), Some(ERROR_NOT_ENOUGH_QUOTA)));
    }
    let r = post_flood(0);
    insta::assert_snapshot!("post_thread_message_flood", format!("{}\n{}", trace_collapsed(&r), r.summary()));
}

/// How the worker of messages case 6 reports progress and how the GUI thread joins it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Progress {
    /// SendMessage, and WaitForSingleObject(worker) in WM_CLOSE: the classic hang.
    Send,
    /// Fix 1: PostMessage (the worker never waits for the GUI thread).
    Post,
    /// Fix 2: SendMessage, and a pumping join (MsgWaitForMultipleObjects + PeekMessage).
    SendWithPumpingJoin,
}

/// The program of messages case 6: a GUI thread with a window and a message loop starts a
/// worker that does 5 units of work, reporting each as WM_APP(n) to the window and
/// checking a stop event before each. After progress 2 "the user clicks Cancel" (the
/// procedure posts WM_CLOSE to itself); WM_CLOSE sets the stop event, waits for the
/// worker to exit, then destroys the window (WM_DESTROY posts the quit).
fn progress_program(how: Progress, seed: u64) -> RunReport {
    use std::cell::Cell;
    use std::rc::Rc;
    run_program(Config::random(seed), "gui.exe", move |ctx| async move {
        let stop = ctx.create_event(None, true, false, None).await;
        let worker: Rc<Cell<HANDLE>> = Rc::default();
        let w2 = worker.clone();
        let proc = wndproc(move |ctx, hwnd, msg, w, l| {
            let worker = w2.clone();
            async move {
                match msg {
                    WM_APP => {
                        if w == 2 {
                            assert_eq!(ctx.post_message(hwnd, WM_CLOSE, 0, 0).await, TRUE);
                        }
                        0
                    }
                    WM_CLOSE => {
                        assert_eq!(ctx.set_event(stop).await, TRUE);
                        if how == Progress::SendWithPumpingJoin {
                            wait_pumping(&ctx, worker.get()).await;
                        } else {
                            assert_eq!(ctx.wait_for_single_object(worker.get(), INFINITE).await, WAIT_OBJECT_0);
                        }
                        ctx.def_window_proc(hwnd, msg, w, l).await
                    }
                    WM_DESTROY => {
                        ctx.post_quit_message(0).await;
                        0
                    }
                    _ => ctx.def_window_proc(hwnd, msg, w, l).await,
                }
            }
        });
        let hwnd = message_window(&ctx, "progress", proc).await;
        let h = spawn(&ctx, move |ctx| async move {
            for n in 1..=5 {
                if ctx.wait_for_single_object(stop, 0).await == WAIT_OBJECT_0 {
                    return 1; // cancelled
                }
                ctx.sleep(10).await; // a unit of work
                if how == Progress::Post {
                    assert_eq!(ctx.post_message(hwnd, WM_APP, n, 0).await, TRUE);
                } else {
                    ctx.send_message(hwnd, WM_APP, n, 0).await;
                }
            }
            0
        })
        .await;
        worker.set(h);
        message_loop(&ctx).await
    })
}

/// Messages case 6 (TEACHING-CASES item 6, scenario 12 `sendmessage-join-deadlock`): a
/// worker reports progress to the GUI thread with SendMessage, and the GUI thread, on
/// WM_CLOSE, sets a stop event and waits for the worker in WaitForSingleObject. When
/// the worker has passed its stop check before the event is set, its next SendMessage
/// waits for the GUI thread, which waits for the worker: a deadlock on some seeds, and
/// the report shows both edges. Either fix completes on every seed: PostMessage for the
/// progress (the worker never waits for the GUI thread), or a join that pumps messages
/// (MsgWaitForMultipleObjects + PeekMessage runs the worker's SendMessage).
#[test]
fn progress_by_send_message_and_a_join_in_wm_close() {
    let (mut hung, mut finished) = (Vec::new(), 0);
    for seed in 0..200 {
        let r = progress_program(Progress::Send, seed);
        match &r.outcome {
            Outcome::Completed { exit_codes } => {
                assert_eq!(exit_codes[0].2, 0);
                finished += 1;
            }
            Outcome::Deadlock(d) => {
                let [gui, worker] = d.threads.as_slice() else { panic!("{}", d.render()) };
                assert_eq!((gui.api.as_str(), worker.api.as_str()), ("WaitForSingleObject", "SendMessage"));
                assert!(
                    matches!(&gui.waits[..], [WaitEdge::Object { object, .. }] if object.contains(&format!("thread T{}", worker.tid))),
                    "{:?}",
                    gui.waits
                );
                assert!(
                    matches!(&worker.waits[..], [WaitEdge::Message { receiver: Some(t), receiver_state: Some(s), .. }]
                        if *t == gui.tid && s.contains("does not look at its message queue")),
                    "{:?}",
                    worker.waits
                );
                assert_eq!(d.cycle, vec![gui.tid, worker.tid]);
                hung.push(seed);
            }
            other => panic!("seed {seed}: {other:?}"),
        }
        for fix in [Progress::Post, Progress::SendWithPumpingJoin] {
            let r = progress_program(fix, seed);
            assert!(
                matches!(&r.outcome, Outcome::Completed { exit_codes } if exit_codes[0].2 == 0),
                "{fix:?} seed {seed}: {}",
                r.summary()
            );
        }
    }
    assert!(!hung.is_empty() && finished > 0, "hung on {} seeds, finished on {finished}", hung.len());
    let r = progress_program(Progress::Send, hung[0]);
    insta::assert_snapshot!("progress_send_and_join", format!("seed {}\n{}\n{}", hung[0], r.trace_text(), r.summary()));
    let r = progress_program(Progress::Post, hung[0]);
    insta::assert_snapshot!("progress_post_and_join", format!("seed {}\n{}\n{}", hung[0], r.trace_text(), r.summary()));
    let r = progress_program(Progress::SendWithPumpingJoin, hung[0]);
    insta::assert_snapshot!(
        "progress_send_and_pumping_join",
        format!("seed {}\n{}\n{}", hung[0], r.trace_text(), r.summary())
    );
}

/// The server and client of messages case 7.
fn copydata_programs(seed: u64) -> RunReport {
    use std::cell::RefCell;
    use std::rc::Rc;
    let mut sim = Sim::new(Config::random(seed));
    sim.program("server.exe", |ctx| async move {
        let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
            match msg {
                WM_COPYDATA => {
                    // The server's own copy of the client's bytes, valid while it runs.
                    let data = ctx.copydata(l).expect("WM_COPYDATA carries data");
                    assert_eq!((data.dwData, data.lpData.as_slice()), (1, &b"ping"[..]));
                    // The reply: WM_COPYDATA back to the window named by wParam.
                    let reply = COPYDATASTRUCT { dwData: 2, lpData: b"pong".to_vec() };
                    assert_eq!(ctx.send_message_copydata(HWND(w as isize), hwnd.0 as usize, &reply).await, 1);
                    1
                }
                WM_DESTROY => {
                    ctx.post_quit_message(0).await;
                    0
                }
                _ => ctx.def_window_proc(hwnd, msg, w, l).await,
            }
        });
        assert_ne!(ctx.register_class_ex(&WNDCLASSEX::new("WinsimServer", proc)).await, 0);
        let hwnd = ctx.create_window_ex(0, "WinsimServer", "winsim server", 0, 0, 0, 0, 0, HWND::NULL, 0).await;
        assert!(!hwnd.is_null());
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some("client.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(message_loop(&ctx).await, 0);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
        code
    });
    sim.program("client.exe", |ctx| async move {
        let reply: Rc<RefCell<Option<COPYDATASTRUCT>>> = Rc::default();
        let slot = reply.clone();
        let proc = wndproc(move |ctx, hwnd, msg, w, l| {
            let slot = slot.clone();
            async move {
                if msg == WM_COPYDATA {
                    *slot.borrow_mut() = ctx.copydata(l);
                    return 1;
                }
                ctx.def_window_proc(hwnd, msg, w, l).await
            }
        });
        let me = message_window(&ctx, "WinsimClient", proc).await;
        let server = ctx.find_window(Some("WinsimServer"), None).await;
        assert!(!server.is_null(), "the server's window exists before the client starts");
        let request = COPYDATASTRUCT { dwData: 1, lpData: b"ping".to_vec() };
        assert_eq!(ctx.send_message_copydata(server, me.0 as usize, &request).await, 1);
        // The reply ran inside that SendMessage.
        let got = reply.borrow_mut().take().expect("the server replied");
        assert_eq!((got.dwData, got.lpData.as_slice()), (2, &b"pong"[..]));
        assert_eq!(ctx.post_message(server, WM_CLOSE, 0, 0).await, TRUE);
        0
    });
    sim.run("server.exe")
}

/// Messages case 7 (§17.P3-P4): two processes. The client finds the server's top-level
/// window with FindWindow and sends WM_COPYDATA with its own window in wParam; the
/// server's procedure reads its copy of the data with `ctx.copydata(lParam)` and replies
/// with a WM_COPYDATA sent to the client's window, which the client runs inside its own
/// SendMessage (it waits there, and a thread waiting in SendMessage runs messages sent to
/// it). The client then closes the server with a posted WM_CLOSE. Completes on every seed.
#[test]
fn copydata_between_two_processes() {
    for seed in 0..100 {
        let r = copydata_programs(seed);
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        // In exit order: the client ends first.
        let codes: Vec<(&str, u32)> = exit_codes.iter().map(|(_, i, c)| (i.as_str(), *c)).collect();
        assert_eq!(codes, [("client.exe", 0), ("server.exe", 0)], "seed {seed}");
    }
    let r = copydata_programs(0);
    insta::assert_snapshot!("copydata_between_two_processes", format!("{}\n{}", r.trace_text(), r.summary()));
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

// ----- shared memory (docs/semantics.md §19; issue 7's teaching cases 1, 3, 4) -----------

/// The address a traced call was made at (its first argument, `0x10000010`).
fn address_arg(args: &[Arg]) -> u64 {
    let text = args[0].value.to_string();
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("an address")
}

/// The bytes of a traced ReadMemory (its `read` out-parameter, `[65 00 00 00]`).
fn bytes_read(outs: &[Arg]) -> Vec<u8> {
    let Some(ArgValue::Bytes { preview, .. }) = out(outs, "read") else { panic!("a ReadMemory without bytes") };
    preview.trim_matches(|c| c == '[' || c == ']').split(' ').map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

/// The view address process `pid` got from its first MapViewOfFile.
fn view_of(r: &RunReport, pid: u32) -> u64 {
    r.trace
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Call { api, ret: Ret::Ptr(p), .. } if api == "MapViewOfFile" && e.pid == pid => Some(*p),
            _ => None,
        })
        .expect("the process mapped a view")
}

/// The pid of the process running `image`, from a completed run's exit codes.
fn pid_of(r: &RunReport, image: &str) -> u32 {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    exit_codes.iter().find(|c| c.1 == image).map(|c| c.0).expect("the process ran")
}

/// The items the consumer of `shm-ring-buffer` took out of the ring, in order: its
/// ReadMemory calls at the slots, as u32s.
fn ring_items(r: &RunReport) -> Vec<u32> {
    use scenarios::shared_memory::{SLOT0, SLOTS};
    let consumer = pid_of(r, "consumer.exe");
    let slots = view_of(r, consumer) + SLOT0 as u64;
    let slots = slots..slots + 4 * u64::from(SLOTS);
    r.trace
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Call { api, args, outs, .. }
                if api == "ReadMemory" && e.pid == consumer && slots.contains(&address_arg(args)) =>
            {
                Some(u32::from_le_bytes(bytes_read(outs).try_into().unwrap()))
            }
            _ => None,
        })
        .collect()
}

/// Whether a thread of `image` blocked in a wait on the event named `name`.
fn blocked_on(r: &RunReport, pid: u32, name: &str) -> bool {
    let name = name.trim_start_matches(r"Local\");
    r.trace.iter().any(|e| {
        e.pid == pid
            && matches!(&e.kind, EventKind::Block { api, args, .. }
                if api == "WaitForSingleObject" && args[0].value.to_string().contains(name))
    })
}

/// Shared-memory case 1 (issue 7, item 1; scenario `shm-ring-buffer`): a
/// single-producer/single-consumer ring buffer (4 slots, 8 items) in a named section
/// shared by two processes. The producer creates the section (§19.1) and two named
/// auto-reset events and starts the consumer, which opens all three by name (§19.4);
/// both views see the same bytes (§19.21). Each index has one writer, which advances it
/// with InterlockedIncrement, a full barrier (§19.25), after writing (or reading) the
/// slot; the other side reads it with an aligned u32 load, which never tears (§19.24).
/// Each side waits on its event only after seeing the ring full (producer) or empty
/// (consumer), and looks again after every wake: an auto-reset event keeps a signal set
/// while nobody waits, so no wake-up is lost, and a stale one only costs a second look.
/// Correct on every seed: the consumer takes exactly 101..108, in order. The snapshot is
/// the first seed on which the producer blocks on a full ring and the consumer on an
/// empty one.
#[test]
fn shm_ring_buffer_delivers_every_item_in_order() {
    use scenarios::shared_memory::{ITEMS, RING_DATA, RING_SPACE, item};
    let s = scenarios::find("shm-ring-buffer").unwrap();
    let want: Vec<u32> = (0..ITEMS).map(item).collect();
    let (mut full, mut empty, mut both) = (0, 0, None);
    for seed in 0..200 {
        let r = s.run(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert!(exit_codes.iter().all(|c| c.2 == 0), "seed {seed}: {exit_codes:?}");
        assert_eq!(ring_items(&r), want, "seed {seed}\n{}", r.trace_text());
        let producer_waited = blocked_on(&r, pid_of(&r, "producer.exe"), RING_SPACE);
        let consumer_waited = blocked_on(&r, pid_of(&r, "consumer.exe"), RING_DATA);
        full += u32::from(producer_waited);
        empty += u32::from(consumer_waited);
        if producer_waited && consumer_waited && both.is_none() {
            both = Some(seed);
        }
    }
    // The waits are real: some seeds fill the ring, some empty it.
    assert!(full > 0 && empty > 0, "the producer waited on {full} seeds, the consumer on {empty}");
    let seed = both.expect("some seed makes both sides wait");
    let r = s.run(Config::random(seed));
    assert_eq!(ring_items(&r), want);
    insta::assert_snapshot!("shm_ring_buffer", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// The consumer's exit code in a completed `shm-ring-early-publish` run: 0 when it took
/// every item right, else 1 + the index of the first stale one.
fn consumer_code(r: &RunReport) -> u32 {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    exit_codes.iter().find(|c| c.1 == "consumer.exe").expect("the consumer ran").2
}

/// Shared-memory case 2 (issue 7, item 2; scenario `shm-ring-early-publish`): the ring of
/// case 1 with the producer advancing head *before* writing the slot. The consumer's
/// interlocked read of head acquires the producer's clock as of the increment, which does
/// not cover the slot's write after it, so the data-race detector reports the slot's write
/// and read on the first run (§25.1), naming both processes' calls, their steps and the
/// section. With the detector off (`RaceDetection::Off`), a sweep finds a seed on which the
/// consumer reads the slot between the increment and the write and takes a stale item;
/// replaying that seed's decisions reproduces it. The snapshot is the first run's race.
#[test]
fn shm_ring_early_publish_is_reported_then_found_stale_by_a_sweep() {
    use scenarios::shared_memory::{SLOT0, SLOTS};
    let s = scenarios::find("shm-ring-early-publish").unwrap();
    let r = s.run(Config::random(0));
    let Outcome::DataRace(race) = &r.outcome else { panic!("{}", r.summary()) };
    let slots = SLOT0 as u64..SLOT0 as u64 + 4 * u64::from(SLOTS);
    assert!(slots.contains(&race.offset), "the race is on a slot: {}", race.render());
    assert!(race.memory.contains("teaching-ring"), "{}", race.memory);
    assert_ne!(race.first.pid, race.second.pid, "producer and consumer");
    let calls = [race.first.call.as_str(), race.second.call.as_str()];
    assert!(calls.iter().any(|c| c.starts_with("WriteMemory")) && calls.iter().any(|c| c.starts_with("ReadMemory")));
    let off = |seed| Config { race_detection: RaceDetection::Off, ..Config::random(seed) };
    let stale = (0..300).find(|&seed| consumer_code(&s.run(off(seed))) != 0).expect("some seed reads a stale slot");
    let first = s.run(off(stale));
    let code = consumer_code(&first);
    for again in [s.run(off(stale)), s.run(first.replay_config())] {
        assert_eq!((consumer_code(&again), again.trace_text()), (code, first.trace_text()));
    }
    // The stale seed is a race too, the detector on.
    assert!(matches!(s.run(Config::random(stale)).outcome, Outcome::DataRace(_)));
    insta::assert_snapshot!("shm_ring_early_publish", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

/// Where the record of shared-memory case 3 is in its view: 16-byte aligned, so each
/// 8-byte half is naturally aligned.
const RECORD: usize = 0x40;

/// The program of shared-memory case 3: a writer thread stores versions 1, 2 and 3 of a
/// 16-byte record (every byte of version v is v) with one 16-byte `write_memory` each,
/// while the main thread reads the record once with a 16-byte `read_memory`, then its
/// first 8-byte field with `read_u64`. Returns the run, the two halves of the record as
/// read (as versions), and the version the field read. Exit code: 1 when the record read
/// was torn (its halves come from different versions), else 0.
fn torn_record(config: Config) -> (RunReport, [u8; 2], u64) {
    use std::cell::Cell;
    use std::rc::Rc;
    let seen: Rc<Cell<([u8; 2], u64)>> = Rc::default();
    let s2 = seen.clone();
    // The read races with the writer on purpose: the detector records the race (§25) and
    // the run goes on, so the sweep can find a torn value.
    let config = Config { race_detection: RaceDetection::Record, ..config };
    let r = run_program(config, "record.exe", move |ctx| {
        let seen = s2.clone();
        async move {
            let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4096, None).await;
            let view = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
            assert_ne!(view, 0);
            let writer = spawn(&ctx, move |ctx| async move {
                for v in 1..=3u8 {
                    ctx.write_memory(view + RECORD, &[v; 16]).await;
                }
                0
            })
            .await;
            let mut record = [0u8; 16];
            ctx.read_memory(view + RECORD, &mut record).await;
            let field = ctx.read_u64(view + RECORD).await;
            join(&ctx, writer).await;
            // Each 8-byte half is one atomic part, so it is one version throughout.
            assert!(record[..8].iter().all(|&b| b == record[0]) && record[8..].iter().all(|&b| b == record[8]));
            seen.set(([record[0], record[8]], field));
            u32::from(record[0] != record[8])
        }
    });
    let (halves, field) = seen.get();
    (r, halves, field)
}

/// Shared-memory case 3 (issue 7, item 3): a 16-byte record read while another thread
/// writes it. winsim splits every access into naturally aligned parts of at most
/// `Config::memory_atomic_bytes` (8) bytes, one kernel step each, with a schedule point
/// between them (§19.24, after "simple reads and writes to properly aligned 64-bit
/// variables are atomic" on 64-bit Windows). So the 16-byte read is two 8-byte loads and
/// the writer's store can land between them: a seed sweep finds a torn read (half one
/// version, half the next, reproducibly: the seed is the schedule), while the aligned
/// 8-byte field never tears on any seed. The fix is a lock, or a version counter read
/// with an interlocked operation around the copy (a seqlock); the snapshot is the first
/// tearing seed.
#[test]
fn a_16_byte_record_tears_on_some_seed_and_an_aligned_u64_never_does() {
    let mut torn = Vec::new();
    for seed in 0..100 {
        let (r, [first, second], field) = torn_record(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        // The detector finds the race on every run, torn or not (§25.1): the reader's
        // loads and the writer's stores have no happens-before between them.
        assert!(!r.races.is_empty(), "seed {seed}: no race recorded");
        assert_eq!(exit_codes[0].2, u32::from(first != second));
        // The aligned field is one version (0 if read before the first write), whole.
        assert!((0..=3u8).any(|v| field == u64::from_le_bytes([v; 8])), "seed {seed}: the field read {field:#x}");
        if first != second {
            // Half old, half new: either the writer stored between the reader's two loads,
            // or the reader loaded between the writer's two stores (then the first half
            // is the newer one).
            assert!(first <= 3 && second <= 3, "seed {seed}: halves {first} and {second}");
            torn.push(seed);
        }
    }
    assert!(!torn.is_empty(), "no seed in 0..100 tore the 16-byte read");
    let seed = torn[0];
    // The seed is the schedule: running it again, or replaying its decisions, tears again.
    let (r, halves, _) = torn_record(Config::random(seed));
    assert!(halves[0] != halves[1]);
    for config in [Config::random(seed), r.replay_config()] {
        let (again, halves_again, _) = torn_record(config);
        assert_eq!((again.trace_text(), halves_again), (r.trace_text(), halves));
    }
    insta::assert_snapshot!("shm_torn_record", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// The racers' exit codes of a `shm-create-race` run, in racer order (A, B).
fn racer_codes(r: &RunReport) -> [u32; 2] {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    let racers: Vec<_> = exit_codes.iter().filter(|c| c.1 == "racer.exe").collect();
    assert_eq!(racers.len(), 2);
    // A was started first, so it has the lower pid.
    let (a, b) = if racers[0].0 < racers[1].0 { (racers[0], racers[1]) } else { (racers[1], racers[0]) };
    [a.2, b.2]
}

/// Shared-memory case 4 (issue 7, item 4; scenario `shm-create-race`): two processes race
/// to CreateFileMapping the same name. The first call creates the section and sets the
/// last error to 0 (§19.1); the second returns a new handle to the same section with
/// ERROR_ALREADY_EXISTS (§19.2), which is not a failure. So both can call
/// CreateFileMapping, neither needs to know whether it came first, and the one that must
/// initialise the section is the one that saw 0. Which one that is depends on the
/// schedule, not on the start order; on every seed exactly one racer sees 183, and each
/// reads the tag the other wrote through its own view (§19.21).
#[test]
fn shm_create_race_has_exactly_one_creator() {
    let s = scenarios::find("shm-create-race").unwrap();
    let mut winners = [0; 2];
    let mut b_first = None;
    for seed in 0..100 {
        let r = s.run(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert!(exit_codes.iter().any(|c| c.1 == "launcher.exe" && c.2 == 0));
        let codes = racer_codes(&r);
        let mut sorted = codes;
        sorted.sort();
        assert_eq!(sorted, [0, 183], "seed {seed}: one creates, the other gets ERROR_ALREADY_EXISTS");
        let creator = codes.iter().position(|&c| c == 0).unwrap();
        winners[creator] += 1;
        if creator == 1 && b_first.is_none() {
            b_first = Some(seed);
        }
        // The trace agrees: one CreateFileMapping left 0, the other 183.
        let mut errors: Vec<u32> = r
            .trace
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Call { api, error, .. } if api == "CreateFileMapping" => error.map(|e| e.0),
                _ => None,
            })
            .collect();
        errors.sort();
        assert_eq!(errors, [0, 183], "seed {seed}");
    }
    assert!(winners[0] > 0 && winners[1] > 0, "the creator depends on the schedule: {winners:?}");
    // The snapshot: the first seed on which B, started second, creates the section.
    let seed = b_first.unwrap();
    let r = s.run(Config::random(seed));
    insta::assert_snapshot!("shm_create_race", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// The shared-memory scenarios meet their catalogue `expect` lines.
#[test]
fn shared_memory_scenarios_meet_their_expect_lines() {
    let ring = scenarios::find("shm-ring-buffer").unwrap();
    assert!(ring.expect.starts_with("completes on every seed"));
    let race = scenarios::find("shm-create-race").unwrap();
    assert!(race.expect.starts_with("completes on every seed"));
    let want: Vec<u32> = (0..scenarios::shared_memory::ITEMS).map(scenarios::shared_memory::item).collect();
    assert_eq!(want, [101, 102, 103, 104, 105, 106, 107, 108], "the expect line names 101..108");
    for seed in 0..100 {
        // "the consumer receives items 101..108 in order (both exit codes 0)"
        let r = ring.run(Config::random(seed));
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert_eq!(exit_codes.len(), 2);
        assert!(exit_codes.iter().all(|c| c.2 == 0), "seed {seed}: {exit_codes:?}");
        assert_eq!(ring_items(&r), want, "seed {seed}");
        // "exactly one racer exits with 183 (ERROR_ALREADY_EXISTS), the other with 0,
        // and each read the other's tag" (a racer that did not exits with 1003)
        let r = race.run(Config::random(seed));
        let mut codes = racer_codes(&r);
        codes.sort();
        assert_eq!(codes, [0, ERROR_ALREADY_EXISTS.0], "seed {seed}");
    }
}

// ----- COM apartments (docs/semantics.md §21; issue 9's teaching cases 1, 3-7) ------------

/// Runs a catalogue scenario under `seeds` random seeds and returns the reports.
fn com_runs(name: &str, seeds: u64) -> Vec<RunReport> {
    let s = scenarios::find(name).unwrap_or_else(|| panic!("{name} in the catalogue"));
    (0..seeds).map(|seed| s.run(Config::random(seed))).collect()
}

/// Main's exit code of a completed run.
#[track_caller]
fn main_code(r: &RunReport) -> u32 {
    match &r.outcome {
        Outcome::Completed { exit_codes } => exit_codes[0].2,
        o => panic!("expected completion, got {}\n{}", o.kind(), r.trace_text()),
    }
}

/// Teaching case 1: an STA that waits in WaitForSingleObject for a thread calling into it
/// deadlocks on every seed, and the report speaks COM; CoWaitForMultipleHandles fixes it
/// (com-apartments.md ST-1, ST-3, CW-4; MS docs concept page single-threaded-apartments).
#[test]
fn com_sta_blocked_without_pumping() {
    let s = scenarios::find("com-sta-no-pump").unwrap();
    assert!(s.expect.starts_with("deadlocks on every seed"));
    for r in com_runs("com-sta-no-pump", 50) {
        let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
        let caller = d.threads.iter().find(|t| t.waits.iter().any(|w| matches!(w, WaitEdge::ComCall { .. })));
        let caller = caller.unwrap_or_else(|| panic!("no COM edge:\n{}", d.render()));
        let Some(WaitEdge::ComCall { call, apartment, state, receiver, receiver_state }) =
            caller.waits.iter().find(|w| matches!(w, WaitEdge::ComCall { .. }))
        else {
            unreachable!()
        };
        assert!(call.starts_with("IToy::Add (call #"), "{call}");
        assert!(apartment.starts_with("main STA#"), "{apartment}");
        assert!(state.contains("queued on the hidden window") && state.contains("OleMainThreadWndClass"), "{state}");
        let rs = receiver_state.as_deref().unwrap_or_default();
        assert!(rs.contains("WaitForSingleObject") && rs.contains("does not look at its message queue"), "{rs}");
        assert!(d.cycle.contains(&caller.tid) && d.cycle.contains(&receiver.unwrap()), "{}", d.render());
    }
    let s = scenarios::find("com-sta-cowait").unwrap();
    assert!(s.expect.starts_with("completes on every seed with exit code 1"));
    for r in com_runs("com-sta-cowait", 50) {
        assert_eq!(main_code(&r), 1);
    }
    let r = scenarios::find("com-sta-no-pump").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_sta_no_pump", format!("{}\n{}", r.trace_text(), r.summary()));
    let r = scenarios::find("com-sta-cowait").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_sta_cowait", r.trace_text());
}

/// Teaching case 1, the raw pointer: the calls run on the callers, unserialised, so
/// increments are lost on some seeds (com-apartments.md MP-6).
#[test]
fn com_raw_pointer_loses_increments_on_some_seeds() {
    let mut lost = None;
    for (seed, r) in com_runs("com-raw-pointer-race", 100).into_iter().enumerate() {
        let v = main_code(&r);
        assert!((1..=6).contains(&v), "seed {seed}: {v}");
        assert!(r.trace_text().contains("apartment violation"));
        if v < 6 && lost.is_none() {
            lost = Some(seed as u64);
        }
    }
    let seed = lost.expect("some seed loses an increment");
    let r = scenarios::find("com-raw-pointer-race").unwrap().run(Config::random(seed));
    insta::assert_snapshot!("com_raw_pointer_race", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// Teaching case 3: an outgoing call made while handling another thread's SendMessage
/// fails at once; from a posted message it works (com-apartments.md IS-1, IS-2; marshal.c
/// test_call_from_message; KB Q131056).
#[test]
fn com_input_synchronous_call() {
    for r in com_runs("com-input-sync-call", 30) {
        assert_eq!(main_code(&r), RPC_E_CANTCALLOUT_ININPUTSYNCCALL.0 as u32);
    }
    let r = scenarios::find("com-input-sync-call").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_input_sync_call", r.trace_text());
}

/// Teaching case 4: a window on an MTA thread deadlocks when an STA object it calls sends
/// it a message; the STA caller completes (com-apartments.md XC-1, XC-2; ONT 2008-04-24).
#[test]
fn com_ui_on_an_mta_thread() {
    for r in com_runs("com-ui-on-mta", 30) {
        let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
        let text = d.render();
        assert!(text.contains("IToy::SendTo (call #") && text.contains("running on T"), "{text}");
        assert!(text.contains("SendMessage"), "{text}");
    }
    for r in com_runs("com-ui-on-sta", 30) {
        assert_eq!(main_code(&r), 0);
    }
    let r = scenarios::find("com-ui-on-mta").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_ui_on_mta", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// Teaching case 5: the proxy pointer itself in another apartment; fixed by marshalling
/// (com-apartments.md MP-5, MP-1; marshal.c test_proxy_used_in_wrong_thread).
#[test]
fn com_wrong_thread_proxy_and_the_fix() {
    for r in com_runs("com-wrong-thread-proxy", 30) {
        assert_eq!(main_code(&r), RPC_E_WRONG_THREAD.0 as u32);
    }
    for r in com_runs("com-marshalled-proxy", 30) {
        assert_eq!(main_code(&r), 0);
    }
    let r = scenarios::find("com-wrong-thread-proxy").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_wrong_thread_proxy", r.trace_text());
}

/// Teaching case 6: shutdown ordering (com-apartments.md SD-1, SD-2 [inferred for the call
/// after the server apartment died]).
#[test]
fn com_shutdown_ordering() {
    for r in com_runs("com-shutdown-order", 30) {
        assert_eq!(main_code(&r), 0, "{}", r.trace_text());
    }
    let r = scenarios::find("com-shutdown-order").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_shutdown_order", r.trace_text());
}

/// Teaching case 7: initialisation bookkeeping as a table of HRESULTs
/// (com-apartments.md CI-2, CI-3, CI-4).
#[test]
fn com_initialisation_bookkeeping() {
    for r in com_runs("com-init-table", 5) {
        assert_eq!(main_code(&r), 0, "{}", r.trace_text());
    }
    let r = scenarios::find("com-init-table").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_init_table", r.trace_text());
}

// ----- sockets (docs/semantics.md §22; issue 10's teaching cases 1-3) --------------------

/// The exit code of the main process of a socket scenario (the server or launcher, which
/// exits with the client's code), asserting the run completed.
fn main_exit_code(r: &RunReport, seed: u64) -> u32 {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
    exit_codes.last().expect("a process ended").2
}

/// Teaching case 1 (§22.5; TEACHING-CASES "TCP is a byte stream"): a client that takes one
/// recv for one response misparses it on the seeds whose schedule split the response; the
/// framed client is right on every seed. Snapshots: a failing seed and the fixed run.
#[test]
fn tcp_message_split_and_its_framing_fix() {
    let buggy = scenarios::find("tcp-message-split").unwrap();
    let fixed = scenarios::find("tcp-message-split-fixed").unwrap();
    let mut failing = Vec::new();
    for seed in 0..100 {
        match main_exit_code(&buggy.run(Config::random(seed)), seed) {
            0 => {}
            1 => failing.push(seed),
            c => panic!("seed {seed}: exit code {c}"),
        }
        assert_eq!(main_exit_code(&fixed.run(Config::random(seed)), seed), 0, "fixed, seed {seed}");
    }
    assert!(!failing.is_empty() && failing.len() < 100, "fails on some seeds only: {failing:?}");
    // Round-robin takes all a recv can: the textbook run where the bug hides.
    assert_eq!(main_exit_code(&buggy.run(Config::round_robin()), 0), 0);
    let seed = failing[0];
    let r = buggy.run(Config::random(seed));
    insta::assert_snapshot!("tcp_message_split", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
    let r = fixed.run(Config::random(seed));
    insta::assert_snapshot!("tcp_message_split_fixed", format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary()));
}

/// Teaching case 2 (§22.6; TEACHING-CASES item 22a): the client's one connect is refused
/// after 2 s of SYN retries while the server needs 2.5 s to listen; the client that retries
/// with back-off connects on every seed.
#[test]
fn connect_refused_race_and_the_retrying_client() {
    let buggy = scenarios::find("connect-refused-race").unwrap();
    let fixed = scenarios::find("connect-refused-race-fixed").unwrap();
    for seed in 0..50 {
        assert_eq!(main_exit_code(&buggy.run(Config::random(seed)), seed), 1, "buggy, seed {seed}");
        assert_eq!(main_exit_code(&fixed.run(Config::random(seed)), seed), 0, "fixed, seed {seed}");
    }
    let r = buggy.run(Config::random(0));
    insta::assert_snapshot!("connect_refused_race", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
    let r = fixed.run(Config::random(0));
    insta::assert_snapshot!("connect_refused_race_fixed", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

/// Teaching case 3 (§22.20; TEACHING-CASES item 22d): the server closes with the request
/// body unread; the reset discards the error page on the seeds where the client had not
/// read it yet; the graceful close delivers it on every seed.
#[test]
fn abortive_close_loses_the_response_and_graceful_close_does_not() {
    let buggy = scenarios::find("abortive-close-lost-response").unwrap();
    let fixed = scenarios::find("abortive-close-lost-response-fixed").unwrap();
    let mut failing = Vec::new();
    for seed in 0..100 {
        let r = buggy.run(Config::random(seed));
        match main_exit_code(&r, seed) {
            0 => {}
            1 => failing.push(seed),
            c => panic!("seed {seed}: exit code {c}"),
        }
        assert_eq!(main_exit_code(&fixed.run(Config::random(seed)), seed), 0, "fixed, seed {seed}");
    }
    assert!(!failing.is_empty() && failing.len() < 100, "fails on some seeds only: {failing:?}");
    let seed = failing[0];
    let r = buggy.run(Config::random(seed));
    assert!(r.trace_text().contains("WSAECONNRESET"), "the client saw the reset");
    insta::assert_snapshot!(
        "abortive_close_lost_response",
        format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary())
    );
    let r = fixed.run(Config::random(seed));
    insta::assert_snapshot!(
        "abortive_close_lost_response_fixed",
        format!("seed {seed}\n{}\n{}", r.trace_text(), r.summary())
    );
}

/// TEACHING-CASES item 22b (§22.3): with SO_REUSEADDR on both, a second server binds the
/// port in use and the client reaches it; with SO_EXCLUSIVEADDRUSE on the first, the
/// impostor's bind fails with WSAEACCES (it asked to share an exclusive address) and the
/// client reaches the real server.
#[test]
fn port_hijack_and_exclusive_address_use() {
    let buggy = scenarios::find("port-hijack").unwrap();
    let fixed = scenarios::find("port-hijack-fixed").unwrap();
    for seed in 0..30 {
        assert_eq!(main_exit_code(&buggy.run(Config::random(seed)), seed), 1, "buggy, seed {seed}");
        let r = fixed.run(Config::random(seed));
        assert_eq!(main_exit_code(&r, seed), 0, "fixed, seed {seed}");
        let Outcome::Completed { exit_codes } = &r.outcome else { unreachable!() };
        assert!(exit_codes.iter().any(|c| c.1 == "server.exe" && c.2 == WSAEACCES.0), "{exit_codes:?}");
    }
    let r = buggy.run(Config::random(0));
    insta::assert_snapshot!("port_hijack", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

/// TEACHING-CASES item 22, overlapped sockets (§22.40: with
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS an overlapped call that succeeds at once queues no
/// packet; §22.41: an overlapped WSARecv with the data already there returns 0 with the
/// byte count set): the server that waits on the port after a 0 from WSARecv deadlocks on
/// the seeds where a request arrived before its WSARecv, and the deadlock report names the
/// port wait; the server that handles the 0 at once serves every seed.
#[test]
fn iocp_skip_on_success_hang_and_its_fix() {
    let buggy = scenarios::find("iocp-skip-on-success-hang").unwrap();
    let fixed = scenarios::find("iocp-skip-on-success-fixed").unwrap();
    let mut hung = Vec::new();
    for seed in 0..100 {
        let r = buggy.run(Config::random(seed));
        match &r.outcome {
            Outcome::Completed { .. } => assert_eq!(main_exit_code(&r, seed), 0, "buggy, seed {seed}"),
            Outcome::Deadlock { .. } => hung.push(seed),
            o => panic!("seed {seed}: {o:?}"),
        }
        assert_eq!(main_exit_code(&fixed.run(Config::random(seed)), seed), 0, "fixed, seed {seed}");
    }
    assert!(!hung.is_empty() && hung.len() < 100, "deadlocks on some seeds only: {hung:?}");
    let seed = hung[0];
    let r = buggy.run(Config::random(seed));
    let text = r.trace_text();
    assert!(text.contains("GetQueuedCompletionStatus"), "the server waits on the port");
    insta::assert_snapshot!("iocp_skip_on_success_hang", format!("seed {seed}\n{text}\n{}", r.summary()));
}

/// Teaching case 2: an STA waiting on an outgoing call is re-entered by an unrelated call
/// (CALLTYPE_TOPLEVEL_CALLPENDING) in the middle of its own method; a message filter on
/// the callee (SERVERCALL_RETRYLATER for such calls) with a retrying caller (150 ms) fixes
/// it (com-apartments.md XC-2, XC-3, MF-2, MF-3; ONT 2023-04-26).
#[test]
fn com_reentrancy_and_the_message_filter_fix() {
    for r in com_runs("com-reentrancy", 30) {
        assert_eq!(main_code(&r), 10);
        let text = r.trace_text();
        assert!(text.contains("(CALLTYPE_TOPLEVEL_CALLPENDING)") && text.contains("re-entered"), "{text}");
    }
    for r in com_runs("com-reentrancy-filtered", 30) {
        assert_eq!(main_code(&r), 10);
        let text = r.trace_text();
        assert!(!text.contains("re-entered"), "{text}");
        assert!(text.contains("answers RPC_E_SERVERCALL_RETRYLATER") && text.contains("answers 150"), "{text}");
    }
    let r = scenarios::find("com-reentrancy").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_reentrancy", r.trace_text());
    let r = scenarios::find("com-reentrancy-filtered").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_reentrancy_filtered", r.trace_text());
}

// ----- Message Queuing (docs/semantics.md §23; issue 15's teaching cases 1-5) ------------

/// The exit code of a completed run's first process.
fn mq_main_exit_code(r: &RunReport) -> u32 {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}\n{}", r.summary(), r.trace_text()) };
    exit_codes
        .iter()
        .find(|(_, image, _)| {
            image.contains("client") || image.contains("main") || image.contains("consumers") || image.contains("jobs")
        })
        .expect("main process")
        .2
}

/// Case 1 (§§23.10, 23.14-23.17): two threads of a client share a response queue. Taking
/// replies in arrival order gives a thread the other's reply on some seeds (exit code 12);
/// matching the correlation id with a cursor gives each its own on every seed.
#[test]
fn msmq_request_response_matched_by_correlation_id() {
    let buggy = scenarios::find("msmq-reply-by-arrival-order").unwrap();
    let fixed = scenarios::find("msmq-reply-by-correlation-id").unwrap();
    let mut crossed = None;
    for seed in 0..100 {
        let code = mq_main_exit_code(&buggy.run(Config::random(seed)));
        assert!(code == 0 || code == 12, "seed {seed}: exit code {code}");
        if code == 12 && crossed.is_none() {
            crossed = Some(seed);
        }
        assert_eq!(mq_main_exit_code(&fixed.run(Config::random(seed))), 0, "seed {seed}: the fix");
    }
    let seed = crossed.expect("some seed crosses the replies");
    insta::assert_snapshot!(
        "msmq_reply_by_arrival_order",
        format!("seed {seed}\n{}", buggy.run(Config::random(seed)).trace_text())
    );
    insta::assert_snapshot!(
        "msmq_reply_by_correlation_id",
        format!("seed {seed}\n{}", fixed.run(Config::random(seed)).trace_text())
    );
}

/// Case 2 (§23.22, Handling Poison Messages): an aborted transactional receive puts the
/// message back at the front, so two consumers spin on a poison message until the step
/// limit; moving it aside after 3 aborts (PROPID_M_ABORT_COUNT) lets them finish.
#[test]
fn msmq_poison_message_livelock_and_fix() {
    let buggy = scenarios::find("msmq-poison-message").unwrap();
    let fixed = scenarios::find("msmq-poison-message-moved-aside").unwrap();
    for seed in 0..20 {
        let mut config = Config::random(seed);
        config.steps_max = 3_000;
        let r = buggy.run(config);
        assert!(matches!(r.outcome, Outcome::StepLimit { .. }), "seed {seed}: {}", r.summary());
        assert!(r.trace_text().contains("returned to its place"), "seed {seed}");
        let r = fixed.run(Config::random(seed));
        assert_eq!(mq_main_exit_code(&r), 0, "seed {seed}");
        assert!(r.trace_text().contains("abort_count=3"), "seed {seed}: moved after the third abort");
    }
    let mut config = Config::random(0);
    config.steps_max = 120;
    let r = buggy.run(config);
    insta::assert_snapshot!("msmq_poison_message", format!("{}\n{}", r.trace_text(), r.summary()));
    insta::assert_snapshot!("msmq_poison_message_moved_aside", fixed.run(Config::random(0)).trace_text());
}

/// Case 3 (§23.10): the low-priority job sent first waits behind every high-priority one
/// and is served last, on every seed.
#[test]
fn msmq_priority_starvation_serves_the_low_job_last() {
    let s = scenarios::find("msmq-priority-starvation").unwrap();
    for seed in 0..50 {
        let r = s.run(Config::random(seed));
        assert_eq!(mq_main_exit_code(&r), scenarios::msmq::HIGH_COUNT + 1, "seed {seed}");
    }
    insta::assert_snapshot!("msmq_priority_starvation", s.run(Config::random(0)).trace_text());
}

/// Case 4 (§23.19): the reply's time-to-be-received runs out before the client reads it:
/// its receive times out and the dead-letter queue holds the reply.
#[test]
fn msmq_reply_expires_to_the_dead_letter_queue() {
    let s = scenarios::find("msmq-reply-expired").unwrap();
    for seed in 0..50 {
        assert_eq!(mq_main_exit_code(&s.run(Config::random(seed))), 0, "seed {seed}");
    }
    let r = s.run(Config::random(0));
    assert!(r.trace_text().contains("expired in .\\private$\\replies"), "{}", r.trace_text());
    insta::assert_snapshot!("msmq_reply_expired", r.trace_text());
}

/// Case 5 (§23.9, §23.27, §23.31): a receiver process exits while its asynchronous
/// receive is pending; process exit cancels it (MQ_ERROR_OPERATION_CANCELLED) and the
/// message sent afterwards stays queued for the next receiver.
#[test]
fn msmq_receiver_exit_loses_nothing() {
    let s = scenarios::find("msmq-receiver-exits").unwrap();
    for seed in 0..50 {
        assert_eq!(mq_main_exit_code(&s.run(Config::random(seed))), 0, "seed {seed}");
    }
    let trace = s.run(Config::random(0)).trace_text();
    assert!(trace.contains("MQ_INFORMATION_OPERATION_PENDING"), "{trace}");
    assert!(trace.contains("MQ_ERROR_OPERATION_CANCELLED"), "{trace}");
    insta::assert_snapshot!("msmq_receiver_exits", trace);
}

// ----- Hosts and the simulated network (docs/semantics.md §27; issue 10's teaching case 4) --

/// Teaching case 4: two hosts, a partition (50 ms to 3 s) during a request. The server's
/// answer is stuck behind the partition (§27.8: retransmitted until it heals); the
/// client's recv fails with WSAETIMEDOUT after SO_RCVTIMEO (§22, setsockopt doc), it
/// closes the connection (its state is indeterminate) and retries; its new SYN is lost and
/// resent 3 s later (§27.7), after the heal. The request reaches the server twice: the
/// buggy server charges twice (exit code 2), the fixed one remembers the request id and
/// charges once (exit code 1). The client is answered in both (exit code 0).
#[test]
fn partition_retry_duplicate_request() {
    for (name, charges) in [("partition-retry-double-charge", 2), ("partition-retry-idempotent", 1)] {
        let s = scenarios::find(name).unwrap();
        for seed in 0..20 {
            let r = s.run(Config::random(seed));
            let Outcome::Completed { exit_codes } = &r.outcome else {
                panic!("{name} seed {seed}: {}\n{}", r.summary(), r.trace_text())
            };
            assert!(exit_codes.iter().any(|c| c.1 == "client.exe" && c.2 == 0), "{name} seed {seed}: {exit_codes:?}");
            assert!(
                exit_codes.iter().any(|c| c.1 == "server.exe" && c.2 == charges),
                "{name} seed {seed}: {exit_codes:?}\n{}",
                r.trace_text()
            );
            let text = r.trace_text();
            assert!(text.contains("partition #1") && text.contains("WSAETIMEDOUT"), "{text}");
        }
    }
    let r = scenarios::find("partition-retry-double-charge").unwrap().run(Config::random(0));
    insta::assert_snapshot!("partition_retry_double_charge", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
    let r = scenarios::find("partition-retry-idempotent").unwrap().run(Config::random(0));
    insta::assert_snapshot!("partition_retry_idempotent", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

// ----- files behind mappings (docs/semantics.md §28; issue 7, teaching case 5) ------------

/// The exit code of `image` in a completed run.
fn exit_code_of(r: &RunReport, image: &str) -> u32 {
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    exit_codes.iter().find(|c| c.1 == image).expect("the process ran").2
}

/// Shared-memory case 5 (issue 7; scenario `file-record-via-view`): a writer process
/// creates C:\records\order.dat, maps it with a 4096-byte PAGE_READWRITE section (the
/// empty file grows to 4096 bytes, §28.14), starts the reader, stores a 24-byte record
/// through its view and sets a named event. The reader waits for the event, opens the
/// file sharing write (the writer's writable section requires it, §28.9) and ReadFile's
/// the record: the view and ReadFile see the same bytes (§28.16), and the event orders
/// the read after the store (§28.19). Correct on every seed; the volume at the end holds
/// the record followed by zeros up to 4096 bytes. The snapshot is seed 0.
#[test]
fn file_record_via_view_is_read_back_by_another_process() {
    use scenarios::file_mapping::{RECORD, RECORD_FILE_SIZE};
    let s = scenarios::find("file-record-via-view").unwrap();
    for seed in 0..100 {
        let r = s.run(Config::random(seed));
        assert_eq!(exit_code_of(&r, "reader.exe"), 0, "seed {seed}\n{}", r.trace_text());
        assert_eq!(exit_code_of(&r, "writer.exe"), 0, "seed {seed}");
        let [f] = r.volume.as_slice() else { panic!("one file: {:?}", r.volume) };
        assert_eq!(f.path, r"C:\records\order.dat");
        assert_eq!(f.data.len(), RECORD_FILE_SIZE as usize);
        assert_eq!(&f.data[..RECORD.len()], RECORD);
        assert!(f.data[RECORD.len()..].iter().all(|&b| b == 0));
    }
    let r = s.run(Config::random(0));
    insta::assert_snapshot!("file_record_via_view", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

/// Shared-memory case 5, broken (scenario `file-record-unpublished`): the reader does
/// not wait for the event. Its ReadFile and the writer's store through the view touch
/// the same bytes of the file with nothing ordering them: the data-race detector reports
/// it on every seed, naming ReadFile, WriteMemory and the file (§28.19). With the
/// detector off, a sweep finds seeds on which the reader reads zeros (exit code 1) and
/// seeds on which it reads the record; a replay reproduces a stale seed. The snapshot is
/// seed 0's race.
#[test]
fn file_record_unpublished_is_a_data_race() {
    let s = scenarios::find("file-record-unpublished").unwrap();
    for seed in 0..50 {
        let r = s.run(Config::random(seed));
        let Outcome::DataRace(race) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        assert!(race.memory.contains(r"C:\records\order.dat"), "{}", race.memory);
        assert_ne!(race.first.pid, race.second.pid, "writer and reader");
        let calls = [race.first.call.as_str(), race.second.call.as_str()];
        assert!(
            calls.iter().any(|c| c.starts_with("WriteMemory")) && calls.iter().any(|c| c.starts_with("ReadFile")),
            "{calls:?}"
        );
    }
    let off = |seed| Config { race_detection: RaceDetection::Off, ..Config::random(seed) };
    let codes: Vec<u32> = (0..100).map(|seed| exit_code_of(&s.run(off(seed)), "reader.exe")).collect();
    assert!(codes.iter().all(|&c| c <= 1), "{codes:?}");
    let stale = codes.iter().position(|&c| c == 1).expect("some seed reads zeros") as u64;
    assert!(codes.contains(&0), "some seed reads the record");
    let first = s.run(off(stale));
    let again = s.run(first.replay_config());
    assert_eq!((exit_code_of(&again, "reader.exe"), again.trace_text()), (1, first.trace_text()));
    let r = s.run(Config::random(0));
    insta::assert_snapshot!("file_record_unpublished", format!("seed 0\n{}\n{}", r.trace_text(), r.summary()));
}

/// The "plus" teaching case (issue 9, com-apartments.md J.3 with §21.17): a client process
/// creates an object of an out-of-process STA server that waits in WaitForSingleObject.
/// CoCreateInstance's IClassFactory::CreateInstance is a call posted to the server STA's
/// hidden window (ST-1, XC-1), so the run deadlocks on every seed and the report names the
/// call, the server's apartment and process, and the server thread that does not pump; the
/// server that waits with CoWaitForMultipleHandles serves it (CW-4) and the run completes.
#[test]
fn com_local_server_blocked_without_pumping() {
    let s = scenarios::find("com-local-server-no-pump").unwrap();
    assert!(s.expect.starts_with("deadlocks on every seed"));
    for r in com_runs("com-local-server-no-pump", 30) {
        let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
        let edge = d.threads.iter().flat_map(|t| t.waits.iter()).find(|w| matches!(w, WaitEdge::ComCall { .. }));
        let Some(WaitEdge::ComCall { call, apartment, state, receiver, receiver_state }) = edge else {
            panic!("no COM edge:\n{}", d.render())
        };
        assert!(call.starts_with("IClassFactory::CreateInstance (call #"), "{call}");
        assert!(apartment.contains("STA#") && apartment.contains("of server process P"), "{apartment}");
        assert!(apartment.ends_with("(server.exe)"), "{apartment}");
        assert!(state.contains("queued on the hidden window"), "{state}");
        let rs = receiver_state.as_deref().unwrap_or_default();
        assert!(rs.contains("WaitForSingleObject") && rs.contains("does not look at its message queue"), "{rs}");
        assert!(receiver.is_some_and(|t| d.cycle.contains(&t)), "{}", d.render());
    }
    let s = scenarios::find("com-local-server-cowait").unwrap();
    assert!(s.expect.starts_with("completes on every seed with exit code 1"));
    for r in com_runs("com-local-server-cowait", 30) {
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
        let client = exit_codes.iter().find(|e| e.1 == "client.exe").expect("client.exe ended");
        assert_eq!(client.2, 1, "{}", r.trace_text());
    }
    let r = scenarios::find("com-local-server-no-pump").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_local_server_no_pump", format!("{}\n{}", r.trace_text(), r.summary()));
    let r = scenarios::find("com-local-server-cowait").unwrap().run(Config::random(0));
    insta::assert_snapshot!("com_local_server_cowait", r.trace_text());
}
