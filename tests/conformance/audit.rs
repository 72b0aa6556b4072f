//! Fidelity audit: call sequences taken from Wine's conformance tests (which pass on
//! Windows except where marked todo_wine) and from Microsoft documentation that the
//! semantics file (docs/semantics.md) did not yet pin.
//! Each test cites the Wine test function and assertion, or the documentation page.

use crate::support::{SENTINEL, check, pipe, spawn};
use sim_core::prelude::*;

// ----- OpenMutex / OpenEvent / OpenSemaphore access masks ------------------------------

/// sync.c :: test_mutex, the loop `OpenMutexA(0x1 << i, FALSE, "WineTestMutex")` for
/// i = 0..31 and `ok(failed == 0x0de0fffe)` (todo_wine: Wine grants every bit, Windows
/// does not). On Windows the open fails for exactly the bits in 0x0de0fffe: the mutant
/// specific bits other than MUTANT_QUERY_STATE, the reserved standard bits 21-23 and the
/// reserved bits 26-27 with ERROR_ACCESS_DENIED (`ok(GetLastError() == ERROR_ACCESS_DENIED)`
/// is not todo_wine), and ACCESS_SYSTEM_SECURITY with ERROR_PRIVILEGE_NOT_HELD (todo_wine,
/// so Windows' value). It succeeds for MUTANT_QUERY_STATE, DELETE, READ_CONTROL,
/// WRITE_DAC, WRITE_OWNER, SYNCHRONIZE, MAXIMUM_ALLOWED and the four GENERIC_* bits, and
/// every handle so opened can release the mutex (§12.2). The whole sequence is
/// replayed: 32 acquisitions, one release per iteration, then ERROR_NOT_OWNER.
#[test]
fn open_mutex_grants_only_the_valid_access_bits() {
    check(|ctx| async move {
        let created = ctx.create_mutex(None, false, Some("WineTestMutex")).await;
        assert!(!created.is_null());
        // GENERIC_EXECUTE maps to SYNCHRONIZE: one acquisition through it.
        let opened = ctx.open_mutex(GENERIC_EXECUTE, false, Some("WineTestMutex")).await;
        assert!(!opened.is_null());
        assert_eq!(ctx.wait_for_single_object(opened, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.close_handle(opened).await, TRUE);
        for _ in 0..31 {
            assert_eq!(ctx.wait_for_single_object(created, INFINITE).await, WAIT_OBJECT_0);
        }
        let mut failed = 0u32;
        for i in 0..32 {
            let bit = 1u32 << i;
            ctx.set_last_error(SENTINEL);
            let h = ctx.open_mutex(bit, false, Some("WineTestMutex")).await;
            if h.is_null() {
                let expected =
                    if bit == ACCESS_SYSTEM_SECURITY { ERROR_PRIVILEGE_NOT_HELD } else { ERROR_ACCESS_DENIED };
                assert_eq!(ctx.get_last_error(), expected.0, "access {bit:#x}");
                assert_eq!(ctx.release_mutex(created).await, TRUE);
                failed |= bit;
            } else {
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.release_mutex(h).await, TRUE, "ReleaseMutex through access {bit:#x}");
                assert_eq!(ctx.close_handle(h).await, TRUE);
            }
        }
        assert_eq!(failed, 0x0de0_fffe, "bits whose OpenMutex failed");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.release_mutex(created).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_OWNER);
        0
    });
}

/// [inferred] from sync.c :: test_mutex (above): OpenEvent and OpenSemaphore go through
/// the same object-manager access check against the same default DACL, so a bit outside
/// EVENT_ALL_ACCESS / SEMAPHORE_ALL_ACCESS (0x1F0003) is refused with ERROR_ACCESS_DENIED,
/// while the type's own bits, MAXIMUM_ALLOWED and the GENERIC_* bits are granted.
#[test]
fn open_event_and_semaphore_refuse_bits_outside_their_all_access() {
    check(|ctx| async move {
        let e = ctx.create_event(None, true, false, Some("audit-event")).await;
        let s = ctx.create_semaphore(None, 0, 1, Some("audit-sem")).await;
        assert!(!e.is_null() && !s.is_null());
        for bad in [0x4, 0x8, 0x8000, 0x0020_0000, 0x0400_0000] {
            ctx.set_last_error(SENTINEL);
            assert!(ctx.open_event(bad, false, Some("audit-event")).await.is_null(), "event {bad:#x}");
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            ctx.set_last_error(SENTINEL);
            assert!(ctx.open_semaphore(bad, false, Some("audit-sem")).await.is_null(), "semaphore {bad:#x}");
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        }
        for good in [0x1, 0x2, SYNCHRONIZE, READ_CONTROL, MAXIMUM_ALLOWED, GENERIC_READ, GENERIC_ALL] {
            let h = ctx.open_event(good, false, Some("audit-event")).await;
            assert!(!h.is_null(), "event {good:#x}: {}", ctx.get_last_error());
            assert_eq!(ctx.close_handle(h).await, TRUE);
            let h = ctx.open_semaphore(good, false, Some("audit-sem")).await;
            assert!(!h.is_null(), "semaphore {good:#x}: {}", ctx.get_last_error());
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        0
    });
}

// ----- DuplicateHandle with no target process --------------------------------------------

/// ZwDuplicateObject doc (learn.microsoft.com/windows-hardware/drivers/ddi/ntifs/
/// nf-ntifs-zwduplicateobject): "TargetProcessHandle ... can be specified as NULL if the
/// DUPLICATE_CLOSE_SOURCE flag is set"; DuplicateHandle is a thin wrapper over
/// NtDuplicateObject. With no target the call only closes the source and succeeds
/// (ReactOS ntoskrnl/ob/obhandle.c ObDuplicateObject does the same). It is how a process
/// closes a handle inside another one. Wine 8.0 fails it with ERROR_INVALID_HANDLE.
#[test]
fn duplicate_handle_with_null_target_and_close_source_just_closes_the_source() {
    check(|ctx| async move {
        let me = ctx.get_current_process();
        let e = ctx.create_event(None, true, false, None).await;
        let mut copy = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, e, me, &mut copy, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        let mut out = HANDLE(0x5550);
        ctx.set_last_error(SENTINEL);
        assert_eq!(
            ctx.duplicate_handle(me, copy, HANDLE::NULL, &mut out, 0, false, DUPLICATE_CLOSE_SOURCE).await,
            TRUE
        );
        assert_eq!(out, HANDLE::NULL, "no handle was made");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.close_handle(copy).await, FALSE, "the source was closed");
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ctx.set_event(e).await, TRUE, "the other handle is unaffected");
        // An invalid source still fails first (ObDuplicateObject references it first).
        ctx.set_last_error(SENTINEL);
        assert_eq!(
            ctx.duplicate_handle(me, copy, HANDLE::NULL, &mut out, 0, false, DUPLICATE_CLOSE_SOURCE).await,
            FALSE
        );
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

/// The same across processes: the parent closes the child's inherited copy of an event
/// through `DuplicateHandle(child, h, NULL, NULL, 0, FALSE, DUPLICATE_CLOSE_SOURCE)` (the
/// documented use; ZwDuplicateObject doc); the child's handle is then invalid.
#[test]
fn duplicate_handle_null_target_closes_a_handle_in_another_process() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("child.exe", |ctx| async move {
        let h = HANDLE(ctx.get_command_line().rsplit(' ').next().unwrap().parse::<isize>().unwrap());
        let go = HANDLE(h.0 + 4);
        // Wait until the parent has closed `h` in this process.
        assert_eq!(ctx.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_event(h).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
    sim.program("parent.exe", |ctx| async move {
        let inh = SECURITY_ATTRIBUTES::INHERIT;
        let e = ctx.create_event(Some(&inh), true, false, None).await;
        let go = ctx.create_event(Some(&inh), true, false, None).await;
        assert_eq!(go.0, e.0 + 4, "the test relies on adjacent handle values");
        let mut pi = PROCESS_INFORMATION::default();
        let cmd = format!("child.exe {}", e.0);
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some(&cmd), None, None, true, 0, &si, &mut pi).await, TRUE);
        let mut out = HANDLE(0x5550);
        assert_eq!(
            ctx.duplicate_handle(pi.hProcess, e, HANDLE::NULL, &mut out, 0, false, DUPLICATE_CLOSE_SOURCE).await,
            TRUE
        );
        assert_eq!(ctx.set_event(go).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 1;
        assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
        code
    });
    let r = sim.run("parent.exe");
    crate::support::assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert!(exit_codes.iter().all(|c| c.2 == 0), "{exit_codes:?}\n{}", r.trace_text());
    }
}

// ----- replays of Wine test functions that pass on Windows ------------------------------

/// sync.c :: test_signalandwait, in full: NULL in either slot fails; signalling an
/// auto-reset event while waiting on a set manual one succeeds; SignalObjectAndWait(e, e)
/// succeeds again and again and leaves e nonsignalled; with the wait object reset it times
/// out; with semaphores, the second call fails because the first one's semaphore is at its
/// maximum, and does not wait (the other semaphore can still be released); a file handle
/// (a pipe end here) fails with ERROR_INVALID_HANDLE.
#[test]
fn signal_and_wait_replay_of_test_signalandwait() {
    check(|ctx| async move {
        assert_eq!(ctx.signal_object_and_wait(HANDLE::NULL, HANDLE::NULL, 0, false).await, WAIT_FAILED);
        let e0 = ctx.create_event(None, false, false, None).await;
        let e1 = ctx.create_event(None, true, true, None).await;
        assert_eq!(ctx.signal_object_and_wait(e0, HANDLE::NULL, 0, false).await, WAIT_FAILED);
        assert_eq!(ctx.signal_object_and_wait(HANDLE::NULL, e0, 0, false).await, WAIT_FAILED);
        assert_eq!(ctx.signal_object_and_wait(e0, e1, 0, false).await, WAIT_OBJECT_0);
        for _ in 0..100 {
            assert_eq!(ctx.signal_object_and_wait(e0, e0, 0, false).await, WAIT_OBJECT_0);
        }
        assert_eq!(ctx.wait_for_single_object(e0, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.signal_object_and_wait(e0, e0, 0, false).await, WAIT_OBJECT_0);
        assert_eq!(ctx.reset_event(e1).await, TRUE);
        assert_eq!(ctx.signal_object_and_wait(e0, e1, 0, false).await, WAIT_TIMEOUT);
        let s0 = ctx.create_semaphore(None, 0, 1, None).await;
        let s1 = ctx.create_semaphore(None, 1, 1, None).await;
        assert_eq!(ctx.signal_object_and_wait(s0, s1, 0, false).await, WAIT_OBJECT_0);
        assert_eq!(ctx.signal_object_and_wait(s0, s1, 0, false).await, WAIT_FAILED);
        assert_eq!(ctx.release_semaphore(s0, 1, None).await, FALSE);
        assert_eq!(ctx.release_semaphore(s1, 1, None).await, TRUE);
        let (r, _w) = pipe(&ctx, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.signal_object_and_wait(r, r, 0, false).await, WAIT_FAILED);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

/// sync.c :: test_mutex, its last part: an owner thread takes an unnamed mutex and parks;
/// a second thread blocks on it (WaitForSingleObject(start_event, 100) times out); the
/// creator closes its only handle, and the waiter stays blocked (the close neither fails
/// nor completes the wait); TerminateThread on the owner then wakes the waiter with
/// WAIT_ABANDONED (it sets start_event), and both threads end.
#[test]
fn mutex_waiter_outlives_the_last_handle_and_is_woken_abandoned() {
    check(|ctx| async move {
        let start = ctx.create_event(None, false, false, None).await;
        let stop = ctx.create_event(None, false, false, None).await;
        let mutex = ctx.create_mutex(None, false, None).await;
        let body = move |owner: bool| {
            move |t: ThreadCtx| async move {
                let r = t.wait_for_single_object(mutex, INFINITE).await;
                assert_eq!(r, if owner { WAIT_OBJECT_0 } else { WAIT_ABANDONED });
                assert_eq!(t.set_event(start).await, TRUE);
                assert_eq!(t.wait_for_single_object(stop, INFINITE).await, WAIT_OBJECT_0);
                0
            }
        };
        let owner = spawn(&ctx, body(true)).await;
        assert_eq!(ctx.wait_for_single_object(start, 1000).await, WAIT_OBJECT_0);
        let waiter = spawn(&ctx, body(false)).await;
        assert_eq!(ctx.wait_for_single_object(start, 100).await, WAIT_TIMEOUT);
        assert_eq!(ctx.close_handle(mutex).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(start, 100).await, WAIT_TIMEOUT);
        assert_eq!(ctx.terminate_thread(owner, 0).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(owner, 1000).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(start, 1000).await, WAIT_OBJECT_0);
        assert_eq!(ctx.set_event(stop).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(waiter, 1000).await, WAIT_OBJECT_0);
        0
    });
}

/// sync.c :: test_WaitForMultipleObjects, in full: 64 signalled events, index 0
/// manual-reset and the others auto-reset. Two wait-any calls both return index 0 (it
/// stays signalled); after ResetEvent(0) the calls return 1, 2, ..., 63 in turn, each
/// consuming only its own event.
#[test]
fn wait_any_replay_of_test_waitformultipleobjects() {
    check(|ctx| async move {
        let mut events = Vec::new();
        for i in 0..MAXIMUM_WAIT_OBJECTS {
            events.push(ctx.create_event(None, i == 0, true, None).await);
        }
        assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.reset_event(events[0]).await, TRUE);
        for i in 1..MAXIMUM_WAIT_OBJECTS as u32 {
            assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_OBJECT_0 + i);
        }
        assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_TIMEOUT);
        0
    });
}
