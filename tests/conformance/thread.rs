//! Threads: CreateThread, SuspendThread, ResumeThread, ExitThread, TerminateThread,
//! GetExitCodeThread, thread exit and process end. Named after Wine's
//! dlls/kernel32/tests/thread.c; fact numbers are those of
//! docs/semantics.md (section 8).

use crate::support::{SENTINEL, assert_completed, check, run_main, run_with};
use sim_core::WaitEdge;
use sim_core::prelude::*;
use sim_core::report::LimitKind;
use std::cell::Cell;
use std::rc::Rc;

/// CreateThread with `flags` and `body`; returns the handle and the thread id.
async fn spawn<F, Fut>(ctx: &ThreadCtx, flags: u32, body: F) -> (HANDLE, u32)
where
    F: FnOnce(ThreadCtx) -> Fut + 'static,
    Fut: std::future::Future<Output = u32> + 'static,
{
    let mut tid = 0;
    let h = ctx.create_thread(None, 0, body, flags, Some(&mut tid)).await;
    assert!(!h.is_null(), "CreateThread failed: {}", ctx.get_last_error());
    (h, tid)
}

/// An event that is never set, for threads that must stay blocked.
async fn never_set(ctx: &ThreadCtx) -> HANDLE {
    let e = ctx.create_event(None, true, false, None).await;
    assert!(!e.is_null());
    e
}

#[track_caller]
fn exit_code_of(r: &RunReport) -> u32 {
    assert_completed(r);
    match &r.outcome {
        Outcome::Completed { exit_codes } => exit_codes[0].2,
        _ => unreachable!(),
    }
}

// thread.c :: test_CreateThread_suspended; §8.1.
#[test]
fn create_suspended_counts_and_wait_times_out() {
    check(|ctx| async move {
        let ran = Rc::new(Cell::new(false));
        let r2 = ran.clone();
        let (h, _) = spawn(&ctx, CREATE_SUSPENDED, move |_| async move {
            r2.set(true);
            0
        })
        .await;
        assert_eq!(ctx.suspend_thread(h).await, 1);
        assert_eq!(ctx.resume_thread(h).await, 2);
        // Still suspended: the thread has not run and a wait on it times out.
        assert_eq!(ctx.wait_for_single_object(h, 100).await, WAIT_TIMEOUT);
        assert!(!ran.get());
        assert_eq!(ctx.resume_thread(h).await, 1);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        assert!(ran.get());
        0
    });
}

// thread.c :: test_CreateThread_suspended, test_SuspendThread; §§8.2, 0.1.
// Wine probe: SuspendThread on an exited thread is (DWORD)-1 with ERROR_ACCESS_DENIED;
// ResumeThread on it, and on a running thread, is 0.
#[test]
fn suspend_resume_on_exited_thread() {
    check(|ctx| async move {
        let (h, _) = spawn(&ctx, 0, |_| async { 5 }).await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.suspend_thread(h).await, u32::MAX);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.resume_thread(h).await, 0);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        // The exit code is unchanged by either call.
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 5);
        0
    });
}

// Wine probe: ResumeThread on a running (never suspended) thread returns 0.
#[test]
fn resume_of_running_thread_returns_zero() {
    check(|ctx| async move {
        let go = never_set(&ctx).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            0
        })
        .await;
        assert_eq!(ctx.resume_thread(h).await, 0);
        assert_eq!(ctx.resume_thread(h).await, 0);
        assert_eq!(ctx.set_event(go).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        0
    });
}

// §8.4 (SuspendThread doc: MAXIMUM_SUSPEND_COUNT; error.c:
// STATUS_SUSPEND_COUNT_EXCEEDED -> ERROR_SIGNAL_REFUSED).
#[test]
fn suspend_beyond_maximum_is_refused() {
    check(|ctx| async move {
        let (h, _) = spawn(&ctx, CREATE_SUSPENDED, |_| async { 0 }).await;
        for expected in 1..MAXIMUM_SUSPEND_COUNT {
            assert_eq!(ctx.suspend_thread(h).await, expected);
        }
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.suspend_thread(h).await, u32::MAX);
        assert_eq!(ctx.get_last_error(), ERROR_SIGNAL_REFUSED);
        // The count is unchanged: 127 resumes to run it.
        for expected in (1..=MAXIMUM_SUSPEND_COUNT).rev() {
            assert_eq!(ctx.resume_thread(h).await, expected);
        }
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        0
    });
}

// thread.c :: test_SuspendThread; §8.5.
#[test]
fn self_suspend_then_resume_by_another_thread() {
    check(|ctx| async move {
        let after = Rc::new(Cell::new(false));
        let a2 = after.clone();
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            // Returns the previous count, 0, once resumed.
            assert_eq!(t.suspend_thread(t.get_current_thread()).await, 0);
            a2.set(true);
            7
        })
        .await;
        // Poll as the Wine test does, until the thread has suspended itself.
        let mut prev = 0;
        for _ in 0..100 {
            prev = ctx.suspend_thread(h).await;
            ctx.resume_thread(h).await;
            if prev != 0 {
                break;
            }
            ctx.sleep(10).await;
        }
        assert_eq!(prev, 1);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        assert_eq!(ctx.wait_for_single_object(h, 50).await, WAIT_TIMEOUT);
        assert!(!after.get());
        assert_eq!(ctx.resume_thread(h).await, 1);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        assert!(after.get());
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 7);
        0
    });
}

// A suspended thread's wait is not satisfied while it is suspended: an auto-reset event
// set meanwhile stays set until the thread is resumed ([inferred] from 8.1/8.5: a
// suspended thread does not run; SuspendThread doc).
#[test]
fn suspended_waiter_does_not_consume_signal() {
    check(|ctx| async move {
        let e = ctx.create_event(None, false, false, None).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move { t.wait_for_single_object(e, INFINITE).await }).await;
        ctx.sleep(10).await; // the thread blocks in its wait
        assert_eq!(ctx.suspend_thread(h).await, 0);
        assert_eq!(ctx.set_event(e).await, TRUE);
        ctx.sleep(10).await;
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        assert_eq!(ctx.resume_thread(h).await, 1);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, WAIT_OBJECT_0);
        // The waiter consumed the auto-reset event.
        assert_eq!(ctx.wait_for_single_object(e, 0).await, WAIT_TIMEOUT);
        0
    });
}

// thread.c :: test_GetThreadExitCode, test_CreateThread_basic; §§8.6, 8.10.
#[test]
fn exit_code_from_return_value_still_active_while_running() {
    check(|ctx| async move {
        let go = never_set(&ctx).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            t.wait_for_single_object(go, INFINITE).await;
            99
        })
        .await;
        let mut code = 0;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        // Not signalled while it runs.
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.set_event(go).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        // Stays signalled: a second wait succeeds at once.
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 99);
        0
    });
}

// ExitThread doc; §8.8: ExitThread ends the thread with its code, never returns.
#[test]
fn exit_thread_sets_code_and_does_not_return() {
    check(|ctx| async move {
        let returned = Rc::new(Cell::new(false));
        let r2 = returned.clone();
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            t.exit_thread(77).await;
            r2.set(true);
            1
        })
        .await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 77);
        assert!(!returned.get());
        0
    });
}

// thread.c :: test_TerminateThread; §8.6: the handle is signalled, the exit code is
// the one given; the blocked call never completes.
#[test]
fn terminate_thread_blocked_in_wait() {
    check(|ctx| async move {
        let go = never_set(&ctx).await;
        let after = Rc::new(Cell::new(false));
        let a2 = after.clone();
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            t.wait_for_single_object(go, INFINITE).await;
            a2.set(true);
            1
        })
        .await;
        ctx.sleep(10).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.terminate_thread(h, 99).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 99);
        // Setting the event now does not revive the wait.
        assert_eq!(ctx.set_event(go).await, TRUE);
        ctx.sleep(10).await;
        assert!(!after.get());
        0
    });
}

// TerminateThread of a suspended (never started) thread: it ends with the code given
// (thread.c :: test_TerminateThread; §9.5 for the process analogue).
#[test]
fn terminate_suspended_thread() {
    check(|ctx| async move {
        let ran = Rc::new(Cell::new(false));
        let r2 = ran.clone();
        let (h, _) = spawn(&ctx, CREATE_SUSPENDED, move |_| async move {
            r2.set(true);
            0
        })
        .await;
        assert_eq!(ctx.terminate_thread(h, 3).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 3);
        assert!(!ran.get());
        // Resuming it afterwards does not start it (§8.2).
        assert_eq!(ctx.resume_thread(h).await, 0);
        ctx.sleep(10).await;
        assert!(!ran.get());
        0
    });
}

// TerminateThread on a thread that has already ended does not change its exit code
// (§8.6: the exit code is set when the thread ends; the return value of this call is
// not pinned by any source read, so it is not asserted).
#[test]
fn terminate_exited_thread_keeps_exit_code() {
    check(|ctx| async move {
        let (h, _) = spawn(&ctx, 0, |_| async { 4 }).await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        ctx.terminate_thread(h, 8).await;
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 4);
        0
    });
}

// §8.8 (ExitThread doc): a thread's own TerminateThread(GetCurrentThread()) ends it.
#[test]
fn terminate_current_thread() {
    check(|ctx| async move {
        let returned = Rc::new(Cell::new(false));
        let r2 = returned.clone();
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            t.terminate_thread(t.get_current_thread(), 12).await;
            r2.set(true);
            1
        })
        .await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, 12);
        assert!(!returned.get());
        0
    });
}

// §8.8 (ExitThread doc: "If the thread is the last thread in the process ... the
// thread's process is also terminated"). The main thread's ExitThread does not end the
// process while another thread runs; the last thread's exit does, with its code (NT
// sets the process exit status from the last thread's, [inferred]).
#[test]
fn main_exit_thread_leaves_process_running_until_last_thread() {
    let r = run_main(|ctx| async move {
        let (_h, _) = spawn(&ctx, 0, |t| async move {
            t.sleep(50).await;
            42
        })
        .await;
        ctx.exit_thread(7).await;
        1
    });
    assert_eq!(exit_code_of(&r), 42, "{}", r.trace_text());
    assert!(r.time_ms >= 50);
}

// §8.8: the last thread's ExitThread ends the process with that code.
#[test]
fn last_thread_exit_thread_ends_process() {
    let r = run_main(|ctx| async move {
        ctx.exit_thread(31).await;
        1
    });
    assert_eq!(exit_code_of(&r), 31);
}

// The CRT calls ExitProcess when main returns: other threads are ended with main's code
// (ExitProcess doc; §8.8), so the run completes rather than deadlocks.
#[test]
fn main_return_ends_other_threads() {
    let r = run_main(|ctx| async move {
        let go = never_set(&ctx).await;
        spawn(&ctx, 0, move |t| async move {
            t.wait_for_single_object(go, INFINITE).await;
            1
        })
        .await;
        spawn(&ctx, CREATE_SUSPENDED, |_| async { 2 }).await;
        3
    });
    assert_eq!(exit_code_of(&r), 3, "{}", r.trace_text());
}

// §8.9 (CloseHandle doc): closing a thread handle does not terminate the thread.
#[test]
fn closing_thread_handle_does_not_end_thread() {
    check(|ctx| async move {
        let go = ctx.create_event(None, false, false, None).await;
        let done = ctx.create_event(None, false, false, None).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(t.set_event(done).await, TRUE);
            0
        })
        .await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.set_event(go).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(done, 1000).await, WAIT_OBJECT_0);
        0
    });
}

// Closing the handle of a suspended thread does not end it either: a CREATE_SUSPENDED
// thread whose only handle is closed stays alive, and the run deadlocks with it reported
// as suspended (§8.9; the deadlock report is winsim's).
#[test]
fn closing_suspended_thread_handle_leaves_it_suspended() {
    let r = run_main(|ctx| async move {
        let (h, _) = spawn(&ctx, CREATE_SUSPENDED, |_| async { 0 }).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        ctx.exit_thread(0).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock:\n{}", r.summary()));
    assert_eq!(d.threads.len(), 1);
    assert!(d.threads[0].waits.iter().any(|w| matches!(w, WaitEdge::Suspended { count: 1 })), "{}", d.render());
}

// thread.c :: test_CreateThread_basic; §8.7: success leaves the last error alone;
// the thread id out-parameter is the new thread's GetCurrentThreadId.
#[test]
fn create_thread_leaves_last_error_and_reports_tid() {
    check(|ctx| async move {
        let seen = Rc::new(Cell::new(0u32));
        let s2 = seen.clone();
        ctx.set_last_error(SENTINEL);
        let (h, tid) = spawn(&ctx, 0, move |t| async move {
            s2.set(t.get_current_thread_id());
            // A new thread starts with last error 0.
            assert_eq!(t.get_last_error(), 0);
            0
        })
        .await;
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_ne!(tid, ctx.get_current_thread_id());
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(seen.get(), tid);
        // Thread and process ids share one pool of multiples of 4.
        assert_eq!(tid % 4, 0);
        assert_ne!(tid, ctx.get_current_process_id());
        // STACK_SIZE_PARAM_IS_A_RESERVATION is accepted.
        let (h2, _) = spawn(&ctx, STACK_SIZE_PARAM_IS_A_RESERVATION, |_| async { 0 }).await;
        assert_eq!(ctx.wait_for_single_object(h2, INFINITE).await, WAIT_OBJECT_0);
        0
    });
}

// kernel32.rs CreateThread doc (winsim's model): creation flags other than
// CREATE_SUSPENDED and STACK_SIZE_PARAM_IS_A_RESERVATION fail with
// ERROR_INVALID_PARAMETER and no thread is created. (Wine ignores unknown bits; no
// Windows test read pins this.)
#[test]
fn create_thread_bad_flags() {
    check(|ctx| async move {
        let ran = Rc::new(Cell::new(false));
        for flags in [0x2u32, 0x8000_0000, CREATE_SUSPENDED | 0x100] {
            let r2 = ran.clone();
            ctx.set_last_error(SENTINEL);
            let h = ctx
                .create_thread(
                    None,
                    0,
                    move |_| async move {
                        r2.set(true);
                        0
                    },
                    flags,
                    None,
                )
                .await;
            assert!(h.is_null());
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        }
        ctx.sleep(10).await;
        assert!(!ran.get());
        0
    });
}

// CreateThread with SECURITY_ATTRIBUTES.bInheritHandle sets HANDLE_FLAG_INHERIT on the
// handle (CreateThread doc, lpThreadAttributes).
#[test]
fn create_thread_inheritable_handle() {
    check(|ctx| async move {
        let h = ctx.create_thread(Some(&SECURITY_ATTRIBUTES::INHERIT), 0, |_| async { 0 }, 0, None).await;
        let mut flags = 0xff;
        assert_eq!(ctx.get_handle_information(h, &mut flags).await, TRUE);
        assert_eq!(flags, HANDLE_FLAG_INHERIT);
        let h2 = ctx.create_thread(None, 0, |_| async { 0 }, 0, None).await;
        assert_eq!(ctx.get_handle_information(h2, &mut flags).await, TRUE);
        assert_eq!(flags, 0);
        0
    });
}

// thread.c :: test_CreateThread_basic (GetExitCodeThread((HANDLE)0x2bad2bad) -> 6);
// §7.6/0.1: invalid, closed and wrong-type handles give ERROR_INVALID_HANDLE.
#[test]
fn bad_handles() {
    check(|ctx| async move {
        let ev = ctx.create_event(None, true, false, None).await;
        let (closed, _) = spawn(&ctx, 0, |_| async { 0 }).await;
        assert_eq!(ctx.close_handle(closed).await, TRUE);
        for h in [HANDLE::NULL, HANDLE(0x2bad2bad), ev, closed, INVALID_HANDLE_VALUE] {
            let mut code = 12345;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, FALSE, "{h}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
            assert_eq!(code, 12345, "{h}: out-parameter untouched");
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.suspend_thread(h).await, u32::MAX, "{h}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.resume_thread(h).await, u32::MAX, "{h}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.terminate_thread(h, 1).await, FALSE, "{h}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
        }
        0
    });
}

// thread.c :: test_SuspendThread, test_TerminateThread; §§8.3, 8.12: without
// THREAD_SUSPEND_RESUME / THREAD_TERMINATE / THREAD_QUERY_INFORMATION the calls fail
// with ERROR_ACCESS_DENIED (5) and change nothing.
#[test]
fn access_rights_are_checked() {
    check(|ctx| async move {
        let go = never_set(&ctx).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            t.wait_for_single_object(go, INFINITE).await;
            0
        })
        .await;
        let me = ctx.get_current_process();
        let mut weak = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, h, me, &mut weak, SYNCHRONIZE, false, 0).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.suspend_thread(weak).await, u32::MAX);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.resume_thread(weak).await, u32::MAX);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.terminate_thread(weak, 1).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        let mut code = 0;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_exit_code_thread(weak, &mut code).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        // Nothing changed: the thread runs, unsuspended, and SYNCHRONIZE suffices to wait.
        assert_eq!(ctx.wait_for_single_object(weak, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.suspend_thread(h).await, 0);
        assert_eq!(ctx.resume_thread(h).await, 1);
        assert_eq!(ctx.set_event(go).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(weak, INFINITE).await, WAIT_OBJECT_0);
        // THREAD_QUERY_LIMITED_INFORMATION is enough for GetExitCodeThread.
        let mut q = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, h, me, &mut q, THREAD_QUERY_LIMITED_INFORMATION, false, 0).await, TRUE);
        assert_eq!(ctx.get_exit_code_thread(q, &mut code).await, TRUE);
        assert_eq!(code, 0);
        0
    });
}

// sync.c :: test_WaitForSingleObject; §8.11: waiting on GetCurrentThread() times out;
// the pseudo handle works for GetExitCodeThread (STILL_ACTIVE) and SuspendThread count
// queries of another thread are unaffected.
#[test]
fn current_thread_pseudo_handle() {
    check(|ctx| async move {
        let me = ctx.get_current_thread();
        assert_eq!(me, HANDLE(-2));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(me, 100).await, WAIT_TIMEOUT);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(me, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        // A thread's own ResumeThread(GetCurrentThread()) is 0: it is running.
        assert_eq!(ctx.resume_thread(me).await, 0);
        0
    });
}

// §8.10 (GetExitCodeThread doc): a thread that exits with 259 looks still active.
#[test]
fn exit_code_259_looks_still_active() {
    check(|ctx| async move {
        let (h, _) = spawn(&ctx, 0, |_| async { STILL_ACTIVE }).await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        0
    });
}

// §12.3 (ntsync.c :: test_mutant): a thread that returns owning a mutex abandons it;
// the next wait gets WAIT_ABANDONED and owns it. §12.4 (sync.c :: test_mutex):
// TerminateThread on the owner wakes a blocked waiter with WAIT_ABANDONED.
#[test]
fn owner_exit_and_termination_abandon_mutex() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, None).await;
        let (h, _) = spawn(&ctx, 0, move |t| async move {
            assert_eq!(t.wait_for_single_object(m, INFINITE).await, WAIT_OBJECT_0);
            0
        })
        .await;
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_ABANDONED);
        assert_eq!(ctx.release_mutex(m).await, TRUE);

        let go = never_set(&ctx).await;
        let (owner, _) = spawn(&ctx, 0, move |t| async move {
            assert_eq!(t.wait_for_single_object(m, INFINITE).await, WAIT_OBJECT_0);
            t.wait_for_single_object(go, INFINITE).await;
            0
        })
        .await;
        let (waiter, _) = spawn(&ctx, 0, move |t| async move {
            let r = t.wait_for_single_object(m, INFINITE).await;
            assert_eq!(t.release_mutex(m).await, TRUE);
            r
        })
        .await;
        ctx.sleep(10).await;
        assert_eq!(ctx.terminate_thread(owner, 1).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(waiter, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(waiter, &mut code).await, TRUE);
        assert_eq!(code, WAIT_ABANDONED);
        // The waiter released it; the flag was cleared by its wait.
        assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
        0
    });
}

// winsim: a panic in a thread body (a failed assertion) ends the run as Outcome::Failed
// with the thread, its process and the message; the test process itself survives.
#[test]
fn panic_in_thread_body_is_reported_as_failed() {
    let tid_seen = Rc::new(Cell::new(0u32));
    let t2 = tid_seen.clone();
    let r = run_main(move |ctx| {
        let t2 = t2.clone();
        async move {
            let (h, _) = spawn(&ctx, 0, move |t| async move {
                t2.set(t.get_current_thread_id());
                if true {
                    panic!("boom in worker {}", 17);
                }
                0
            })
            .await;
            ctx.wait_for_single_object(h, INFINITE).await;
            0
        }
    });
    match &r.outcome {
        Outcome::Failed { tid, message, .. } => {
            assert_ne!(tid_seen.get(), 0);
            assert_eq!(*tid, tid_seen.get());
            assert!(message.contains("boom in worker 17"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    // An assertion failing in the main thread is reported the same way.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.get_current_thread_id(), 0, "main thread id check");
        0
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(message.contains("main thread id check"), "{message}"),
        other => panic!("expected Failed, got {other:?}"),
    }
}

// winsim limits: more than Config::threads_max live threads end the run with
// Outcome::LimitExceeded (never a hang or an unbounded allocation). The main thread
// counts; threads that have ended do not.
#[test]
fn threads_max_ends_run() {
    let config = Config { threads_max: 3, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        let forever = ctx.create_event(None, true, false, None).await;
        for _ in 0..10 {
            let _ = ctx
                .create_thread(
                    None,
                    0,
                    move |ctx| async move { ctx.wait_for_single_object(forever, INFINITE).await },
                    0,
                    None,
                )
                .await;
        }
        0
    });
    match &r.outcome {
        Outcome::LimitExceeded { limit, detail } => {
            assert_eq!(*limit, LimitKind::Threads);
            assert!(detail.contains("threads_max"), "{detail}");
        }
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    // Threads that ended make room: a hundred threads one after the other fit in 2.
    let config = Config { threads_max: 2, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        for _ in 0..100 {
            let h = ctx
                .create_thread(
                    None,
                    0,
                    |ctx| async move {
                        ctx.sleep(1).await;
                        0
                    },
                    0,
                    None,
                )
                .await;
            assert!(!h.is_null());
            assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        0
    });
    assert_eq!(exit_code_of(&r), 0);
}

// With LimitAction::FailCall a limit fails the call with the error Windows gives when it
// runs out of that resource, and the run goes on: CreateThread returns NULL with
// ERROR_NOT_ENOUGH_MEMORY (LimitKind::win32_error), so a program's out-of-resource path
// can be tested.
#[test]
fn threads_max_can_fail_the_call_instead() {
    let config = Config { threads_max: 2, limit_action: LimitAction::FailCall, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        let forever = ctx.create_event(None, true, false, None).await;
        let first = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move { ctx.wait_for_single_object(forever, INFINITE).await },
                0,
                None,
            )
            .await;
        assert!(!first.is_null());
        ctx.set_last_error(SENTINEL);
        let second = ctx.create_thread(None, 0, |_| async { 0 }, 0, None).await;
        assert_eq!(second, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_ENOUGH_MEMORY);
        assert_eq!(ctx.set_event(forever).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(first, INFINITE).await, WAIT_OBJECT_0);
        0
    });
    assert_eq!(exit_code_of(&r), 0);
}

// §8.8: TerminateThread of the main thread by another thread leaves the process
// running; when the remaining thread returns, the process ends with its code.
#[test]
fn terminate_main_thread_from_worker() {
    let r = run_main(|ctx| async move {
        let me = ctx.get_current_process();
        let mut main = HANDLE::NULL;
        assert_eq!(
            ctx.duplicate_handle(me, ctx.get_current_thread(), me, &mut main, 0, false, DUPLICATE_SAME_ACCESS).await,
            TRUE
        );
        spawn(&ctx, 0, move |t| async move {
            assert_eq!(t.terminate_thread(main, 5).await, TRUE);
            assert_eq!(t.wait_for_single_object(main, 0).await, WAIT_OBJECT_0);
            let mut code = 0;
            assert_eq!(t.get_exit_code_thread(main, &mut code).await, TRUE);
            assert_eq!(code, 5);
            6
        })
        .await;
        let never = never_set(&ctx).await;
        ctx.wait_for_single_object(never, INFINITE).await;
        1
    });
    assert_eq!(exit_code_of(&r), 6, "{}", r.trace_text());
}

// A waiter suspended past its deadline: the suspend APC takes it out of its wait, and on
// ResumeThread the wait restarts, checking the objects before the expired time-out (WRK
// KeWaitForSingleObject: after STATUS_KERNEL_APC the loop re-tests the object first). So
// an object signalled before the resume satisfies it; otherwise it times out.
#[test]
fn suspended_waiter_past_its_deadline() {
    check(|ctx| async move {
        let e = ctx.create_event(None, false, false, None).await;
        for signal in [true, false] {
            let (h, _) = spawn(&ctx, 0, move |t| async move { t.wait_for_single_object(e, 50).await }).await;
            ctx.sleep(10).await;
            assert_eq!(ctx.suspend_thread(h).await, 0);
            ctx.sleep(100).await;
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE);
            if signal {
                assert_eq!(ctx.set_event(e).await, TRUE);
            }
            assert_eq!(ctx.resume_thread(h).await, 1);
            assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_exit_code_thread(h, &mut code).await, TRUE);
            assert_eq!(code, if signal { WAIT_OBJECT_0 } else { WAIT_TIMEOUT }, "signal {signal}");
            // Either way the event is not set now (consumed, or never set).
            assert_eq!(ctx.wait_for_single_object(e, 0).await, WAIT_TIMEOUT);
        }
        0
    });
}

// A thread suspended in Sleep: the sleep's time passes while it is suspended; it goes on
// once resumed (Sleep doc; nothing to re-check).
#[test]
fn suspended_sleeper_resumes_after_its_time() {
    check(|ctx| async move {
        let (h, _) = spawn(&ctx, 0, |t| async move {
            t.sleep(50).await;
            1
        })
        .await;
        ctx.sleep(10).await;
        assert_eq!(ctx.suspend_thread(h).await, 0);
        assert_eq!(ctx.wait_for_single_object(h, 100).await, WAIT_TIMEOUT);
        assert_eq!(ctx.resume_thread(h).await, 1);
        assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
        0
    });
}
