//! Waitable timers and the virtual clock. Named after Wine's kernel32 sync.c
//! (test_waitable_timer) and timer.c, with the Windows facts of docs/semantics.md §14 (each
//! there with its Microsoft Learn page, Wine test, kernel source or Wine probe
//! tools/wine-probes/timers.c).

use crate::support::{SENTINEL, check, join, run_main, spawn};
use sim_core::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// 100-ns units per millisecond: SetWaitableTimer's unit.
const MS: i64 = 10_000;

async fn timer(ctx: &ThreadCtx, manual_reset: bool) -> HANDLE {
    let h = ctx.create_waitable_timer(None, manual_reset, None).await;
    assert!(!h.is_null(), "CreateWaitableTimer failed with {}", ctx.get_last_error());
    h
}

async fn set(ctx: &ThreadCtx, h: HANDLE, due: i64, period_ms: i32) {
    assert_eq!(ctx.set_waitable_timer(h, due, period_ms, None, false).await, TRUE, "SetWaitableTimer({h})");
}

/// §14.2: a new timer is inactive and nonsignalled; §14.1: both kinds.
#[test]
fn a_new_timer_is_not_signalled() {
    check(|ctx| async move {
        for manual in [false, true] {
            let t = timer(&ctx, manual).await;
            assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_TIMEOUT);
        }
        0
    });
}

/// §14.14, §14.27: a relative due time (negative, 100-ns units) fires that long after
/// the call, in virtual time; the waiter is released then.
#[test]
fn a_relative_due_time_fires_after_that_long() {
    let r = run_main(|ctx| async move {
        let t = timer(&ctx, false).await;
        set(&ctx, t, -50 * MS, 0).await;
        let before = ctx.get_tick_count().await;
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_tick_count().await - before, 50);
        0
    });
    assert!(r.outcome.is_completed(), "{}", r.summary());
    assert_eq!(r.time_ms, 50);
}

/// §14.14, §14.15: an absolute due time is a FILETIME against the system clock; one in the
/// future fires at that time, one in the past (or 0) signals the timer during the call.
#[test]
fn absolute_due_times_use_the_system_clock() {
    check(|ctx| async move {
        let mut now = FILETIME::default();
        ctx.get_system_time_as_file_time(&mut now).await;
        let t = timer(&ctx, true).await;
        set(&ctx, t, (now.to_u64() + 30 * MS as u64) as i64, 0).await;
        assert_eq!(ctx.wait_for_single_object(t, 29).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_single_object(t, 1).await, WAIT_OBJECT_0);
        // In the past: signalled before SetWaitableTimer returns.
        let past = timer(&ctx, false).await;
        set(&ctx, past, 10_000, 0).await;
        assert_eq!(ctx.wait_for_single_object(past, 0).await, WAIT_OBJECT_0);
        let zero = timer(&ctx, false).await;
        set(&ctx, zero, 0, 0).await;
        assert_eq!(ctx.wait_for_single_object(zero, 0).await, WAIT_OBJECT_0);
        0
    });
}

/// §14.25: a synchronization timer releases one waiter and resets.
#[test]
fn a_synchronization_timer_releases_one_waiter() {
    check(|ctx| async move {
        let t = timer(&ctx, false).await;
        let woken = Rc::new(RefCell::new(0));
        let mut threads = Vec::new();
        for _ in 0..3 {
            let w = woken.clone();
            threads.push(
                spawn(&ctx, move |ctx| async move {
                    if ctx.wait_for_single_object(t, 100).await == WAIT_OBJECT_0 {
                        *w.borrow_mut() += 1;
                    }
                    0
                })
                .await,
            );
        }
        set(&ctx, t, -10 * MS, 0).await;
        for th in threads {
            join(&ctx, th).await;
        }
        assert_eq!(*woken.borrow(), 1, "one of three waiters");
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_TIMEOUT, "the wait reset it");
        0
    });
}

/// §14.26: a notification timer releases every waiter and stays signalled.
#[test]
fn a_notification_timer_releases_every_waiter_and_stays_signalled() {
    check(|ctx| async move {
        let t = timer(&ctx, true).await;
        let mut threads = Vec::new();
        for _ in 0..3 {
            threads.push(
                spawn(&ctx, move |ctx| async move {
                    assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
                    0
                })
                .await,
            );
        }
        set(&ctx, t, -10 * MS, 0).await;
        for th in threads {
            join(&ctx, th).await;
        }
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_OBJECT_0, "waits do not reset it");
        0
    });
}

/// §14.19: setting a timer again makes it nonsignalled, for both kinds, and replaces the
/// earlier due time.
#[test]
fn setting_a_signalled_timer_resets_it() {
    check(|ctx| async move {
        for manual in [false, true] {
            let t = timer(&ctx, manual).await;
            set(&ctx, t, -1, 0).await;
            ctx.sleep(1).await;
            // Signalled, nobody waited: set it again for 20 ms from now.
            set(&ctx, t, -20 * MS, 0).await;
            assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_TIMEOUT, "manual={manual}");
            assert_eq!(ctx.wait_for_single_object(t, 19).await, WAIT_TIMEOUT);
            assert_eq!(ctx.wait_for_single_object(t, 1).await, WAIT_OBJECT_0);
        }
        // Re-setting an active timer replaces its due time.
        let t = timer(&ctx, false).await;
        set(&ctx, t, -10 * MS, 0).await;
        set(&ctx, t, -40 * MS, 0).await;
        assert_eq!(ctx.wait_for_single_object(t, 39).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        0
    });
}

/// §14.22, §14.23, §14.24: CancelWaitableTimer stops the timer without touching its
/// state: a signalled timer stays signalled, an unsignalled one never fires; TRUE on a
/// timer that was never set.
#[test]
fn cancel_stops_the_timer_and_keeps_its_state() {
    let r = run_main(|ctx| async move {
        let t = timer(&ctx, true).await;
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE, "never set");
        set(&ctx, t, -10 * MS, 0).await;
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, 100).await, WAIT_TIMEOUT, "cancelled: never fires");
        set(&ctx, t, -1, 0).await;
        ctx.sleep(1).await;
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_OBJECT_0, "still signalled");
        0
    });
    assert!(r.outcome.is_completed(), "{}", r.summary());
}

/// §14.27, §14.28: a periodic synchronization timer fires every period, counted from each
/// due time; periods that pass while it is still signalled are not counted.
#[test]
fn periods_that_pass_while_signalled_are_not_counted() {
    let r = run_main(|ctx| async move {
        let t = timer(&ctx, false).await;
        set(&ctx, t, -10 * MS, 10).await;
        // Ten periods pass (10, 20, ..., 100 ms) with nobody waiting.
        ctx.sleep(105).await;
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_OBJECT_0, "one signal");
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_TIMEOUT, "not ten");
        // The next due time is 110 ms: one period after the last expiry, not after the wait.
        let before = ctx.get_tick_count().await;
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_tick_count().await, 110);
        assert_eq!(before, 105);
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE);
        0
    });
    assert!(r.outcome.is_completed(), "{}", r.summary());
}

/// §14.16: a negative period fails with ERROR_INVALID_PARAMETER (Wine accepts it).
/// §14.17: a handle without TIMER_MODIFY_STATE gets ERROR_ACCESS_DENIED, a handle of
/// another type ERROR_INVALID_HANDLE.
#[test]
fn bad_periods_handles_and_access_fail() {
    check(|ctx| async move {
        let t = timer(&ctx, false).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_waitable_timer(t, -MS, -1, None, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let e = ctx.create_event(None, true, false, None).await;
        assert_eq!(ctx.set_waitable_timer(e, -MS, 0, None, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.cancel_waitable_timer(e).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.set_waitable_timer(HANDLE(0x1234), -MS, 0, None, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        // SYNCHRONIZE only: may wait, may not set (§14.12, §14.17).
        let sync_only = ctx.create_waitable_timer_ex(None, None, 0, SYNCHRONIZE).await;
        assert!(!sync_only.is_null());
        assert_eq!(ctx.set_waitable_timer(sync_only, -MS, 0, None, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.cancel_waitable_timer(sync_only).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.wait_for_single_object(sync_only, 0).await, WAIT_TIMEOUT);
        0
    });
}

/// §14.30: waiting needs SYNCHRONIZE: WAIT_FAILED with ERROR_ACCESS_DENIED. §14.11:
/// GENERIC_WRITE maps to TIMER_MODIFY_STATE (set, not wait), GENERIC_EXECUTE to
/// SYNCHRONIZE (wait, not set).
#[test]
fn access_rights_follow_the_timer_generic_mapping() {
    check(|ctx| async move {
        let t = ctx.create_waitable_timer(None, true, Some("mapped")).await;
        let write = ctx.open_waitable_timer(GENERIC_WRITE, false, Some("mapped")).await;
        let exec = ctx.open_waitable_timer(GENERIC_EXECUTE, false, Some("mapped")).await;
        assert!(!t.is_null() && !write.is_null() && !exec.is_null());
        assert_eq!(ctx.set_waitable_timer(write, -1, 0, None, false).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(write, 0).await, WAIT_FAILED);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.set_waitable_timer(exec, -1, 0, None, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        ctx.sleep(1).await;
        assert_eq!(ctx.wait_for_single_object(exec, 0).await, WAIT_OBJECT_0);
        0
    });
}

/// §14.3, §14.4, §14.6, §14.9, §14.31: names. A new named timer sets the last error to 0;
/// the same name opens the same timer with ERROR_ALREADY_EXISTS and keeps its kind; an
/// event's name fails with ERROR_INVALID_HANDLE both ways; OpenWaitableTimer: missing
/// name ERROR_FILE_NOT_FOUND, NULL name ERROR_INVALID_PARAMETER; the name goes with the
/// last handle.
#[test]
fn timers_share_the_kernel_object_namespace() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let a = ctx.create_waitable_timer(None, false, Some("tick")).await;
        assert!(!a.is_null());
        assert_eq!(ctx.get_last_error(), 0);
        ctx.set_last_error(SENTINEL);
        let b = ctx.create_waitable_timer(None, true, Some("tick")).await;
        assert!(!b.is_null() && b != a);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        // Still a synchronization timer: one wait consumes the signal.
        set(&ctx, b, 0, 0).await;
        assert_eq!(ctx.wait_for_single_object(a, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(b, 0).await, WAIT_TIMEOUT);

        let e = ctx.create_event(None, true, false, Some("shared")).await;
        assert!(!e.is_null());
        assert_eq!(ctx.create_waitable_timer(None, false, Some("shared")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, Some("shared")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.create_event(None, true, false, Some("tick")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);

        assert_eq!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, Some("nope")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        assert_eq!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, None).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        // Case-sensitive (§14.5).
        assert_eq!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, Some("TICK")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);

        assert_eq!(ctx.close_handle(a).await, TRUE);
        assert_eq!(ctx.close_handle(b).await, TRUE);
        assert_eq!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, Some("tick")).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        0
    });
}

/// §14.12: CreateWaitableTimerEx: MANUAL_RESET makes a notification timer; unknown flag
/// bits fail with ERROR_INVALID_PARAMETER [inferred].
#[test]
fn create_waitable_timer_ex_flags() {
    check(|ctx| async move {
        let n = ctx.create_waitable_timer_ex(None, None, CREATE_WAITABLE_TIMER_MANUAL_RESET, TIMER_ALL_ACCESS).await;
        let s = ctx.create_waitable_timer_ex(None, None, CREATE_WAITABLE_TIMER_HIGH_RESOLUTION, TIMER_ALL_ACCESS).await;
        assert!(!n.is_null() && !s.is_null());
        set(&ctx, n, 0, 0).await;
        set(&ctx, s, 0, 0).await;
        assert_eq!(ctx.wait_for_single_object(n, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(n, 0).await, WAIT_OBJECT_0, "notification: stays signalled");
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_TIMEOUT, "synchronization: reset by the wait");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.create_waitable_timer_ex(None, None, 0x4, TIMER_ALL_ACCESS).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

/// §14.18: fResume on a machine without wake support succeeds with ERROR_NOT_SUPPORTED;
/// §14.20: a plain successful set leaves the last error alone.
#[test]
fn resume_succeeds_with_not_supported() {
    check(|ctx| async move {
        let t = timer(&ctx, false).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_waitable_timer(t, -MS, 0, None, false).await, TRUE);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_eq!(ctx.set_waitable_timer(t, -MS, 0, None, true).await, TRUE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_SUPPORTED);
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0, "the timer is set normally");
        0
    });
}

/// What a timer completion routine was called with: (dwTimerLowValue, dwTimerHighValue).
type Calls = Rc<RefCell<Vec<(u32, u32)>>>;

/// A completion routine that records its calls.
fn recording_routine(calls: &Calls) -> TimerApcRoutine {
    let calls = calls.clone();
    Rc::new(move |_ctx, lo, hi| {
        let calls = calls.clone();
        Box::pin(async move { calls.borrow_mut().push((lo, hi)) })
    })
}

/// §14.21 (SetWaitableTimer doc, pfnCompletionRoutine; §16.35): when the timer is
/// signalled its completion routine is queued as an APC to the thread that set it; it runs
/// only in an alertable wait of that thread, with the UTC FILETIME at which the timer was
/// signalled. A non-alertable wait on the timer is released but runs nothing.
#[test]
fn a_completion_routine_runs_in_the_setters_next_alertable_wait() {
    check(|ctx| async move {
        let mut start = FILETIME::default();
        ctx.get_system_time_as_file_time(&mut start).await;
        let t = timer(&ctx, true).await;
        let calls: Calls = Rc::default();
        assert_eq!(ctx.set_waitable_timer(t, -10 * MS, 0, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        assert!(calls.borrow().is_empty(), "a non-alertable wait runs no APC");
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION, "the queued routine runs");
        let due = start.to_u64() + 10 * MS as u64;
        assert_eq!(*calls.borrow(), vec![(due as u32, (due >> 32) as u32)], "called with the due FILETIME");
        assert_eq!(ctx.sleep_ex(0, true).await, 0, "one-shot: nothing more is queued");
        0
    });
}

/// §14.21 (SetWaitableTimer doc: "the completion routine is queued only if there is no
/// completion routine already queued"): a periodic timer whose setter does not wait
/// alertably for several periods gets one call, not one per period.
#[test]
fn a_periodic_timer_queues_at_most_one_completion_routine() {
    check(|ctx| async move {
        let t = timer(&ctx, false).await;
        let calls: Calls = Rc::default();
        assert_eq!(ctx.set_waitable_timer(t, -10 * MS, 10, Some(recording_routine(&calls)), false).await, TRUE);
        ctx.sleep(55).await; // five expiries at 10, 20, 30, 40, 50 ms
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(calls.borrow().len(), 1, "one call for five expiries");
        // Alertable through the next two periods: one call each.
        assert_eq!(ctx.sleep_ex(10, true).await, WAIT_IO_COMPLETION);
        assert_eq!(ctx.sleep_ex(10, true).await, WAIT_IO_COMPLETION);
        assert_eq!(calls.borrow().len(), 3);
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE);
        0
    });
}

/// §14.22 (CancelWaitableTimer doc): cancelling removes a queued completion APC, and
/// setting the timer again replaces the old routine (NtSetTimer removes its APC).
#[test]
fn cancelling_or_resetting_a_timer_removes_its_queued_routine() {
    check(|ctx| async move {
        let t = timer(&ctx, true).await;
        let calls: Calls = Rc::default();
        assert_eq!(ctx.set_waitable_timer(t, -MS, 0, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.cancel_waitable_timer(t).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, 0).await, WAIT_OBJECT_0, "cancelling keeps the state");
        assert_eq!(ctx.sleep_ex(0, true).await, 0, "the queued routine was removed");
        assert!(calls.borrow().is_empty());

        assert_eq!(ctx.set_waitable_timer(t, -MS, 0, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        let later: Calls = Rc::default();
        assert_eq!(ctx.set_waitable_timer(t, -MS, 0, Some(recording_routine(&later)), false).await, TRUE);
        assert_eq!(ctx.sleep_ex(5, true).await, WAIT_IO_COMPLETION);
        assert!(calls.borrow().is_empty(), "the first setting's queued routine was removed");
        assert_eq!(later.borrow().len(), 1, "the new setting's routine ran");
        0
    });
}

/// §14.21 (SetWaitableTimerEx doc: "If the thread that set the timer terminates and there
/// is an associated completion routine, the timer is canceled"): the timer never fires and
/// its state does not change.
#[test]
fn a_timer_whose_setter_ended_with_a_routine_is_cancelled() {
    check(|ctx| async move {
        let t = timer(&ctx, true).await;
        let th = spawn(&ctx, move |c| async move {
            let routine: TimerApcRoutine = Rc::new(|_ctx, _lo, _hi| Box::pin(async {}));
            assert_eq!(c.set_waitable_timer(t, -10 * MS, 0, Some(routine), false).await, TRUE);
            0
        })
        .await;
        join(&ctx, th).await;
        assert_eq!(ctx.wait_for_single_object(t, 50).await, WAIT_TIMEOUT, "the timer was cancelled");
        // Without a routine, the setter's end does not matter.
        let th = spawn(&ctx, move |c| async move {
            assert_eq!(c.set_waitable_timer(t, -10 * MS, 0, None, false).await, TRUE);
            0
        })
        .await;
        join(&ctx, th).await;
        assert_eq!(ctx.wait_for_single_object(t, 50).await, WAIT_OBJECT_0);
        0
    });
}

/// §14.31 (Windows Research Kernel base/ntos/ex/timer.c: NtSetTimer keeps its reference
/// on a timer it associates with a completion routine, the thread's active timer list
/// holds it, and ExpTimerApcRoutine drops it once a one-shot timer's APC has run; the
/// timer type has no close procedure): closing the last handle of a timer with a
/// completion routine does not cancel it. A routine already queued still runs, a timer
/// not yet due still fires and queues it, a periodic one keeps firing; the name goes with
/// the last handle. Found by the native differential (random_async seeds 122, 160, 199),
/// where Wine 8.0 runs the routine too.
#[test]
fn closing_a_timer_with_a_completion_routine_does_not_cancel_it() {
    check(|ctx| async move {
        let calls: Calls = Rc::default();
        // Due at once: the routine is queued before the handle closes.
        let t = timer(&ctx, false).await;
        assert_eq!(ctx.set_waitable_timer(t, 0, 0, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.close_handle(t).await, TRUE);
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(calls.borrow().len(), 1, "the queued routine ran");
        // Not yet due, named: it fires after its last handle closed; the name is gone.
        let name = "closed-timer";
        let t = ctx.create_waitable_timer(None, true, Some(name)).await;
        assert_eq!(ctx.set_waitable_timer(t, -5 * MS, 0, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.close_handle(t).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_waitable_timer(TIMER_ALL_ACCESS, false, Some(name)).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        assert_eq!(ctx.sleep_ex(50, true).await, WAIT_IO_COMPLETION);
        assert_eq!(calls.borrow().len(), 2, "the closed timer fired and queued its routine");
        assert_eq!(ctx.sleep_ex(20, true).await, 0, "a one-shot timer fires once");
        // Periodic: it keeps firing while its setter lives.
        let t = timer(&ctx, false).await;
        assert_eq!(ctx.set_waitable_timer(t, -5 * MS, 10, Some(recording_routine(&calls)), false).await, TRUE);
        assert_eq!(ctx.close_handle(t).await, TRUE);
        assert_eq!(ctx.sleep_ex(50, true).await, WAIT_IO_COMPLETION);
        assert_eq!(ctx.sleep_ex(50, true).await, WAIT_IO_COMPLETION);
        assert_eq!(calls.borrow().len(), 4);
        0
    });
}

/// §14.31: a timer whose handles are all closed while a thread waits on it still fires
/// for that waiter (the wait references it); one closed with nobody waiting is gone.
#[test]
fn a_waiter_keeps_a_closed_timer_alive() {
    check(|ctx| async move {
        let t = timer(&ctx, false).await;
        set(&ctx, t, -20 * MS, 0).await;
        let dup_target = Rc::new(RefCell::new(HANDLE::NULL));
        let mut dup = HANDLE::NULL;
        let me = ctx.get_current_process();
        assert_eq!(ctx.duplicate_handle(me, t, me, &mut dup, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        *dup_target.borrow_mut() = dup;
        let waiter = spawn(&ctx, move |ctx| async move {
            let h = *dup_target.borrow();
            ctx.wait_for_single_object(h, INFINITE).await
        })
        .await;
        ctx.sleep(5).await;
        assert_eq!(ctx.close_handle(t).await, TRUE);
        assert_eq!(ctx.close_handle(dup).await, TRUE);
        assert_eq!(join(&ctx, waiter).await, WAIT_OBJECT_0);
        0
    });
}

/// §14.32-§14.36: GetTickCount(64), QueryPerformanceCounter/Frequency and
/// GetSystemTimeAsFileTime read the virtual clock.
#[test]
fn clock_reads_follow_virtual_time() {
    let r = run_main(|ctx| async move {
        let mut freq = 0;
        assert_eq!(ctx.query_performance_frequency(&mut freq).await, TRUE);
        assert_eq!(freq, 10_000_000);
        let (mut c0, mut c1) = (0, 0);
        let mut f0 = FILETIME::default();
        let mut f1 = FILETIME::default();
        assert_eq!(ctx.query_performance_counter(&mut c0).await, TRUE);
        ctx.get_system_time_as_file_time(&mut f0).await;
        let t0 = ctx.get_tick_count64().await;
        ctx.sleep(1234).await;
        assert_eq!(ctx.query_performance_counter(&mut c1).await, TRUE);
        ctx.get_system_time_as_file_time(&mut f1).await;
        assert_eq!(ctx.get_tick_count64().await - t0, 1234);
        assert_eq!(c1 - c0, 1234 * freq / 1000);
        assert_eq!(f1.to_u64() - f0.to_u64(), 1234 * 10_000);
        assert_eq!(u64::from(ctx.get_tick_count().await), ctx.get_tick_count64().await);
        // The default virtual boot time is 2026-01-01 00:00 UTC.
        assert_eq!(f0.to_u64(), 116_444_736_000_000_000 + 1_767_225_600 * 10_000_000);
        0
    });
    assert!(r.outcome.is_completed(), "{}", r.summary());
}

/// winsim's own rule (every limit ends the run with a clear outcome): a periodic timer
/// that nobody waits on cannot keep a run alive when every thread is blocked without a
/// time-out. Once it is signalled, further expiries change nothing, and the run ends as a
/// deadlock instead of advancing the clock forever.
#[test]
fn a_periodic_timer_nobody_waits_on_does_not_hide_a_deadlock() {
    let r = run_main(|ctx| async move {
        let t = timer(&ctx, false).await;
        set(&ctx, t, -MS, 1).await;
        let ev = ctx.create_event(None, true, false, None).await;
        ctx.wait_for_single_object(ev, INFINITE).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::Deadlock(_)), "{:?}", r.outcome);
}
