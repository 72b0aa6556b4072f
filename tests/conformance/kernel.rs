//! The kernel's own contract (Kernel v2): pending operations and their completion, the
//! file-object lock as an operation, the structured trace, replay of any configuration,
//! failures reported against the right thread, limits that fail the call, and reports
//! that do not depend on the trace setting.

use crate::support::{SENTINEL, assert_completed, pipe, run_main, run_with, spawn};
use sim_core::prelude::*;
use sim_core::trace::{ArgValue, EventKind, Ret};

/// The file-object lock is a pending operation: when a synchronous call ends, the call
/// queued behind it on the same file object is granted the lock and runs in a step of its
/// own, so another thread may run in between, as on Windows, where the waiting thread is
/// only made ready (Raymond Chen, "All I/O on a synchronous file handle is serialized";
/// docs/semantics.md §1.A).
#[test]
fn a_thread_can_run_between_a_lock_release_and_the_granted_call() {
    let mut interleaved = 0;
    for seed in 0..200 {
        let r = run_with(Config::random(seed), |ctx| async move {
            let (r, w) = pipe(&ctx, 0).await;
            let reader = spawn(&ctx, move |ctx| async move {
                let mut buf = [0u8; 4];
                let _ = ctx.read_file(r, &mut buf, None).await;
                0
            })
            .await;
            let peeker = spawn(&ctx, move |ctx| async move {
                let mut avail = 0;
                let _ = ctx.peek_named_pipe(r, None, None, Some(&mut avail), None).await;
                0
            })
            .await;
            let other = spawn(&ctx, |ctx| async move {
                for _ in 0..3 {
                    ctx.sleep(0).await;
                }
                0
            })
            .await;
            let _ = ctx.write_file(w, b"x", None).await;
            let _ = ctx.write_file(w, b"y", None).await;
            for t in [reader, peeker, other] {
                ctx.wait_for_single_object(t, INFINITE).await;
            }
            0
        });
        assert_completed(&r);
        // A grant, then another thread's call, then the granted thread's own call.
        for (i, e) in r.trace.iter().enumerate() {
            let EventKind::Granted { .. } = &e.kind else { continue };
            let granted = e.tid;
            let own = r.trace[i + 1..]
                .iter()
                .position(|x| x.tid == granted && matches!(x.kind, EventKind::Call { .. } | EventKind::Block { .. }))
                .expect("the granted call runs later");
            let between = &r.trace[i + 1..i + 1 + own];
            assert!(r.trace[i + 1 + own].step > e.step, "seed {seed}: the granted call has a step of its own");
            if between.iter().any(|x| x.tid != granted && matches!(x.kind, EventKind::Call { .. })) {
                interleaved += 1;
            }
        }
    }
    assert!(interleaved > 0, "no schedule ran a third thread between the release and the granted call");
}

/// A blocked call's `block` and `wake` share an operation id, and the wake names the
/// event that completed it: the call whose effect it was.
#[test]
fn block_and_wake_share_an_operation_and_the_wake_names_its_cause() {
    let r = run_main(|ctx| async move {
        let ev = ctx.create_event(None, false, false, None).await;
        let t = spawn(&ctx, move |ctx| async move { ctx.wait_for_single_object(ev, INFINITE).await }).await;
        ctx.sleep(1).await;
        assert_eq!(ctx.set_event(ev).await, TRUE);
        ctx.wait_for_single_object(t, INFINITE).await
    });
    assert_completed(&r);
    let block = r
        .trace
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Block { api, .. } if api == "WaitForSingleObject"))
        .unwrap();
    let wake = r.trace.iter().find(|e| e.op == block.op && matches!(e.kind, EventKind::Wake { .. })).unwrap();
    assert!(block.op.is_some());
    assert_eq!(wake.tid, block.tid);
    let cause = r.trace.iter().find(|e| Some(e.id) == wake.cause).expect("the cause is in the trace");
    assert!(matches!(&cause.kind, EventKind::Call { api, .. } if api == "SetEvent"), "{cause:?}");
    let EventKind::Wake { ret, .. } = &wake.kind else { unreachable!() };
    assert_eq!(*ret, Ret::Wait(WAIT_OBJECT_0));
    // Ids increase in trace order.
    assert!(r.trace.windows(2).all(|w| w[0].id < w[1].id));
}

/// Narration says what a call changed: SetEvent on a signalled event has no effect, a
/// PulseEvent with nobody waiting is lost (PulseEvent doc), ReleaseSemaphore gives the
/// count before and after; call lines name the object behind each handle.
#[test]
fn narration_says_what_a_call_changed() {
    let r = run_main(|ctx| async move {
        let ev = ctx.create_event(None, true, false, Some("ready")).await;
        let _ = ctx.set_event(ev).await;
        let _ = ctx.set_event(ev).await;
        let auto = ctx.create_event(None, false, false, None).await;
        let _ = ctx.pulse_event(auto).await;
        let sem = ctx.create_semaphore(None, 0, 5, None).await;
        let _ = ctx.release_semaphore(sem, 2, None).await;
        0
    });
    let effects: Vec<(String, String, Option<String>)> = r
        .trace
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Call { api, args, effect, .. } if !api.starts_with("Create") => {
                let object = match &args[0].value {
                    ArgValue::Handle { object, .. } => object.as_deref().unwrap_or_default().to_string(),
                    _ => String::new(),
                };
                Some((api.to_string(), object, effect.clone()))
            }
            _ => None,
        })
        .collect();
    let s = |x: &str| x.to_string();
    assert_eq!(
        effects,
        vec![
            (s("SetEvent"), s("event#1 \"ready\""), Some(s("signalled; no thread was waiting"))),
            (s("SetEvent"), s("event#1 \"ready\""), Some(s("no effect: the event was already signalled"))),
            (s("PulseEvent"), s("event#2"), Some(s("released 0 waiters: the pulse is lost"))),
            (s("ReleaseSemaphore"), s("semaphore#1"), Some(s("count 0 -> 2; 0 waiter(s) took a unit; count now 2"))),
        ]
    );
}

/// A deadlock report gives each waited object's last signal and what became of it: the
/// lost wake-up of the PulseEvent scenario is visible in the report itself.
#[test]
fn the_report_shows_a_lost_pulse() {
    let s = scenarios::find("lost-wakeup-pulse-event").unwrap();
    let d = (0..50)
        .find_map(|seed| match s.run(Config::random(seed)).outcome {
            Outcome::Deadlock(d) => Some(d),
            _ => None,
        })
        .expect("some seed loses the wake-up");
    let text = d.render();
    assert!(text.contains("last signalled by PulseEvent of T8 at step"), "{text}");
    assert!(text.contains("released 0 waiters (the pulse was lost)"), "{text}");
}

/// The deadlock report is the same with the trace off (as sweeps run) as with it on: the
/// blocked call's arguments are kept on its pending operation.
#[test]
fn deadlock_reports_do_not_depend_on_the_trace() {
    for name in ["redirect-leaked-write-end", "pipe-clog", "sync-handle-serialization", "lost-wakeup-pulse-event"] {
        let s = scenarios::find(name).unwrap();
        for seed in 0..20 {
            let on = s.run(Config::random(seed));
            let off = s.run(Config { trace: false, ..Config::random(seed) });
            assert!(off.trace.is_empty());
            assert_eq!(on.outcome, off.outcome, "{name} seed {seed}");
            if let Outcome::Deadlock(d) = &off.outcome {
                assert!(d.threads.iter().any(|t| !t.args.is_empty()), "{name}: {}", d.render());
            }
        }
    }
}

/// A report carries the configuration it ran with, and `replay_config` reproduces the run
/// with every setting kept: a FIFO run replays as FIFO, a round-robin run as itself.
#[test]
fn replay_config_reproduces_any_run() {
    let s = scenarios::find("sync-handle-serialization").unwrap();
    for config in [
        Config { waiter_order: WaiterOrder::Fifo, ..Config::random(7) },
        Config::round_robin(),
        Config { steps_max: 500, ..Config::random(3) },
    ] {
        let first = s.run(config.clone());
        assert_eq!(first.config, config);
        let again = s.run(first.replay_config());
        assert_eq!(again.trace, first.trace, "{config:?}");
        assert_eq!(again.outcome, first.outcome);
        assert_eq!(again.replay_config().waiter_order, config.waiter_order);
    }
    let fifo = s.run(Config { waiter_order: WaiterOrder::Fifo, ..Config::random(7) });
    assert!(fifo.reproduce_hint().contains("--fifo"), "{}", fifo.reproduce_hint());
    assert!(fifo.reproduce_hint().contains("WaiterOrder::Fifo"), "{}", fifo.reproduce_hint());
}

/// A panic in a thread body is a `Failed` outcome with its file and line.
#[test]
fn a_panic_keeps_its_location() {
    let r = run_main(|ctx| async move {
        ctx.sleep(1).await;
        panic!("the protocol broke");
    });
    match &r.outcome {
        Outcome::Failed { message, location: Some(at), .. } => {
            assert_eq!(message, "the protocol broke");
            assert!(at.starts_with("tests/conformance/kernel.rs:"), "{at}");
        }
        other => panic!("{other:?}"),
    }
    assert!(r.summary().contains("panicked at tests/conformance/kernel.rs:"), "{}", r.summary());
}

/// A ThreadCtx used by another thread, or after its thread ended, is reported against the
/// thread that misused it, with what happened.
#[test]
fn misusing_a_thread_ctx_is_reported_against_the_right_thread() {
    let r = run_main(|ctx| async move {
        let main_ctx = ctx.clone();
        let t = spawn(&ctx, move |_own| async move {
            main_ctx.sleep(1).await;
            0
        })
        .await;
        ctx.wait_for_single_object(t, INFINITE).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { tid, message, .. } => {
            assert_ne!(*tid, 4 + 4, "not the main thread (T8) whose ctx was borrowed: {message}");
            assert!(message.contains("called Sleep through the ThreadCtx of T8"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let r = run_main(|ctx| async move {
        let keep = std::rc::Rc::new(std::cell::RefCell::new(None));
        let k2 = keep.clone();
        let t = spawn(&ctx, move |own| async move {
            *k2.borrow_mut() = Some(own);
            0
        })
        .await;
        ctx.wait_for_single_object(t, INFINITE).await;
        let dead = keep.borrow_mut().take().unwrap();
        dead.sleep(1).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { tid, message, .. } => {
            assert_eq!(*tid, 8, "the main thread misused it");
            assert!(message.contains("which has exited"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

/// `get_last_error()` and the ERROR_* constants meet in a `match` without wrapping.
#[test]
fn last_errors_match_error_constants() {
    let r = run_main(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let _ = ctx.close_handle(w).await;
        let mut buf = [0u8; 4];
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(r, &mut buf, None).await, FALSE);
        match ctx.get_last_error() {
            ERROR_BROKEN_PIPE => 0,
            ERROR_INVALID_HANDLE => 1,
            _ => 2,
        }
    });
    assert_completed(&r);
    let Outcome::Completed { exit_codes } = &r.outcome else { unreachable!() };
    assert_eq!(exit_codes[0].2, 0);
}

/// With LimitAction::FailCall a full handle table fails the call with
/// ERROR_NO_SYSTEM_RESOURCES (LimitKind::win32_error) and the program goes on.
#[test]
fn a_full_handle_table_can_fail_the_call() {
    let config = Config { handles_max: 4, limit_action: LimitAction::FailCall, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        let mut made = Vec::new();
        loop {
            let h = ctx.create_event(None, false, false, None).await;
            if h.is_null() {
                assert_eq!(ctx.get_last_error(), ERROR_NO_SYSTEM_RESOURCES);
                break;
            }
            made.push(h);
        }
        assert_eq!(made.len(), 4);
        assert_eq!(ctx.close_handle(made[0]).await, TRUE);
        assert!(!ctx.create_event(None, false, false, None).await.is_null(), "room again");
        0
    });
    assert_completed(&r);
}
