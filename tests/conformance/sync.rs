//! Waits, events, mutexes, semaphores and the named-object namespace. Named after Wine's
//! kernel32 sync.c (test_WaitForSingleObject, test_WaitForMultipleObjects,
//! test_signalandwait, test_event, test_mutex, test_semaphore, test_temporary_objects)
//! with ntdll sync.c (test_event, test_mutant, test_semaphore) and om.c. Facts are
//! numbered as in docs/semantics.md, sections 7.13-7.14
//! and 10-13.

use crate::support::{SENTINEL, assert_completed, check, join, run_main, run_with, spawn};
use sim_core::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

/// Creates an unnamed event; a NULL handle fails the test.
async fn event(ctx: &ThreadCtx, manual_reset: bool, initial_state: bool) -> HANDLE {
    let h = ctx.create_event(None, manual_reset, initial_state, None).await;
    assert!(!h.is_null(), "CreateEvent failed with {}", ctx.get_last_error());
    h
}

/// Creates an unnamed semaphore; a NULL handle fails the test.
async fn semaphore(ctx: &ThreadCtx, initial: i32, maximum: i32) -> HANDLE {
    let h = ctx.create_semaphore(None, initial, maximum, None).await;
    assert!(!h.is_null(), "CreateSemaphore failed with {}", ctx.get_last_error());
    h
}

/// Asserts a wait result and that the last error was left alone (§10.1).
async fn assert_wait(ctx: &ThreadCtx, h: HANDLE, timeout_ms: u32, expected: u32) {
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.wait_for_single_object(h, timeout_ms).await, expected, "WaitForSingleObject({h}, {timeout_ms})");
    assert_eq!(ctx.get_last_error(), SENTINEL, "WaitForSingleObject({h}) touched the last error");
}

/// Asserts that a call failed (its result is `got`, expected `failed`) with `error`.
#[track_caller]
fn assert_failed<T: PartialEq + std::fmt::Debug>(ctx: &ThreadCtx, got: T, failed: T, error: Win32Error) {
    assert_eq!(got, failed);
    assert_eq!(ctx.get_last_error(), error.0, "last error");
}

// ----- named objects (7.13, 7.14, 11.3) ------------------------------------------------

/// §7.13 (sync.c :: test_event, test_mutex, test_semaphore; Wine probe): creating a
/// fresh object, named or not, sets the last error to 0; creating an existing name
/// returns a new handle to the same object with ERROR_ALREADY_EXISTS.
#[test]
fn creating_an_existing_name_opens_the_same_object_with_already_exists() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let unnamed = ctx.create_event(None, true, false, None).await;
        assert!(!unnamed.is_null());
        assert_eq!(ctx.get_last_error(), 0, "unnamed create sets 0");

        ctx.set_last_error(SENTINEL);
        let e1 = ctx.create_event(None, false, false, Some("Test Event")).await;
        assert!(!e1.is_null());
        assert_eq!(ctx.get_last_error(), 0);
        ctx.set_last_error(SENTINEL);
        // The parameters of the second create are ignored: it is the same auto-reset event.
        let e2 = ctx.create_event(None, true, true, Some("Test Event")).await;
        assert!(!e2.is_null() && e2 != e1);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_wait(&ctx, e1, 0, WAIT_TIMEOUT).await;
        assert_eq!(ctx.set_event(e2).await, TRUE);
        assert_wait(&ctx, e1, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, e2, 0, WAIT_TIMEOUT).await;

        ctx.set_last_error(SENTINEL);
        let m1 = ctx.create_mutex(None, false, Some("Test Mutex")).await;
        assert_eq!(ctx.get_last_error(), 0);
        let m2 = ctx.create_mutex(None, false, Some("Test Mutex")).await;
        assert!(!m2.is_null() && m2 != m1);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_wait(&ctx, m1, 0, WAIT_OBJECT_0).await;
        assert_eq!(ctx.release_mutex(m2).await, TRUE, "owned through the other handle: same mutex");

        ctx.set_last_error(SENTINEL);
        let s1 = ctx.create_semaphore(None, 1, 3, Some("Test Semaphore")).await;
        assert_eq!(ctx.get_last_error(), 0);
        let s2 = ctx.create_semaphore(None, 0, 1, Some("Test Semaphore")).await;
        assert!(!s2.is_null() && s2 != s1);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        let mut prev = -1;
        assert_eq!(ctx.release_semaphore(s2, 2, Some(&mut prev)).await, TRUE, "maximum 3, not 1");
        assert_eq!(prev, 1, "initial count 1, not 0");
        0
    });
}

/// Wine probe (CreateMutex doc): CreateMutex(TRUE, name) of an existing mutex gets
/// ERROR_ALREADY_EXISTS and does not take ownership.
#[test]
fn create_mutex_of_an_existing_name_ignores_initial_owner() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, true, Some("owned")).await;
        assert_eq!(ctx.get_last_error(), 0);
        let t = spawn(&ctx, |t: ThreadCtx| async move {
            let m2 = t.create_mutex(None, true, Some("owned")).await;
            assert!(!m2.is_null());
            assert_eq!(t.get_last_error(), ERROR_ALREADY_EXISTS);
            assert_eq!(t.wait_for_single_object(m2, 0).await, WAIT_TIMEOUT, "main owns it");
            t.set_last_error(SENTINEL);
            assert_eq!(t.release_mutex(m2).await, FALSE);
            assert_eq!(t.get_last_error(), ERROR_NOT_OWNER);
            0
        })
        .await;
        assert_eq!(join(&ctx, t).await, 0);
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.release_mutex(m).await, FALSE, "main held it once");
        assert_eq!(ctx.get_last_error(), ERROR_NOT_OWNER);
        0
    });
}

/// §7.13 (sync.c :: test_event "test case sensitivity"; om.c :: test_name_collisions):
/// object names are case-sensitive, unlike pipe names.
#[test]
fn object_names_are_case_sensitive() {
    check(|ctx| async move {
        let a = ctx.create_event(None, true, false, Some("Test Event")).await;
        assert!(!a.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_event(EVENT_ALL_ACCESS, false, Some("TEST EVENT")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );
        ctx.set_last_error(SENTINEL);
        let b = ctx.create_event(None, true, false, Some("TEST EVENT")).await;
        assert!(!b.is_null());
        assert_eq!(ctx.get_last_error(), 0, "a different object");
        assert_eq!(ctx.set_event(b).await, TRUE);
        assert_wait(&ctx, a, 0, WAIT_TIMEOUT).await;
        // A mutex named in another case is not a type clash either.
        ctx.set_last_error(SENTINEL);
        let m = ctx.create_mutex(None, false, Some("test event")).await;
        assert!(!m.is_null());
        assert_eq!(ctx.get_last_error(), 0);
        0
    });
}

/// §7.13 and 12.2 (sync.c :: test_event, test_mutex, test_semaphore; Wine probe):
/// OpenX of a missing name fails with ERROR_FILE_NOT_FOUND, of a NULL name with
/// ERROR_INVALID_PARAMETER, with access 0 with ERROR_ACCESS_DENIED; a name held by another
/// type gives ERROR_INVALID_HANDLE (§7.14).
#[test]
fn open_errors() {
    check(|ctx| async move {
        let e = ctx.create_event(None, true, false, Some("an event")).await;
        let m = ctx.create_mutex(None, false, Some("a mutex")).await;
        let s = ctx.create_semaphore(None, 0, 1, Some("a semaphore")).await;
        assert!(!e.is_null() && !m.is_null() && !s.is_null());

        // Missing name.
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_event(EVENT_ALL_ACCESS, false, Some("nothing")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_mutex(MUTEX_ALL_ACCESS, false, Some("nothing")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_semaphore(SEMAPHORE_ALL_ACCESS, false, Some("nothing")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );

        // NULL name.
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.open_event(EVENT_ALL_ACCESS, false, None).await, HANDLE::NULL, ERROR_INVALID_PARAMETER);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.open_mutex(MUTEX_ALL_ACCESS, false, None).await, HANDLE::NULL, ERROR_INVALID_PARAMETER);
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_semaphore(SEMAPHORE_ALL_ACCESS, false, None).await,
            HANDLE::NULL,
            ERROR_INVALID_PARAMETER,
        );

        // Access 0.
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.open_event(0, false, Some("an event")).await, HANDLE::NULL, ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.open_mutex(0, false, Some("a mutex")).await, HANDLE::NULL, ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.open_semaphore(0, false, Some("a semaphore")).await, HANDLE::NULL, ERROR_ACCESS_DENIED);

        // Another type's name.
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_event(EVENT_ALL_ACCESS, false, Some("a mutex")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_mutex(MUTEX_ALL_ACCESS, false, Some("a semaphore")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_semaphore(SEMAPHORE_ALL_ACCESS, false, Some("an event")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );

        // A successful open is the same object and leaves the last error alone.
        ctx.set_last_error(SENTINEL);
        let e2 = ctx.open_event(EVENT_ALL_ACCESS, false, Some("an event")).await;
        assert!(!e2.is_null() && e2 != e);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_eq!(ctx.set_event(e2).await, TRUE);
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        0
    });
}

/// §7.14 (om.c :: test_case_sensitive; Wine probe): creating an object under a name
/// held by another type fails with NULL and ERROR_INVALID_HANDLE; the holder is untouched.
#[test]
fn creating_under_another_types_name_fails_with_invalid_handle() {
    check(|ctx| async move {
        let e = ctx.create_event(None, true, true, Some("shared name")).await;
        assert!(!e.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.create_mutex(None, true, Some("shared name")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.create_semaphore(None, 1, 1, Some("shared name")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );
        let m = ctx.create_mutex(None, false, Some("mutex name")).await;
        assert!(!m.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.create_event(None, true, true, Some("mutex name")).await,
            HANDLE::NULL,
            ERROR_INVALID_HANDLE,
        );
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        let e2 = ctx.create_event(None, false, false, Some("shared name")).await;
        assert!(!e2.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS, "still the event's name");
        0
    });
}

/// §7.13 (sync.c :: test_temporary_objects): a name lives while a handle to its
/// object is open; after the last CloseHandle, OpenX fails with ERROR_FILE_NOT_FOUND and a
/// create makes a fresh object.
#[test]
fn a_name_vanishes_with_the_last_handle() {
    check(|ctx| async move {
        let m1 = ctx.create_mutex(None, true, Some("temporary")).await;
        let m2 = ctx.open_mutex(MUTEX_ALL_ACCESS, false, Some("temporary")).await;
        assert!(!m1.is_null() && !m2.is_null());
        assert_eq!(ctx.close_handle(m1).await, TRUE);
        let m3 = ctx.open_mutex(SYNCHRONIZE, false, Some("temporary")).await;
        assert!(!m3.is_null(), "one handle still open: the name is still there");
        assert_eq!(ctx.close_handle(m2).await, TRUE);
        assert_eq!(ctx.close_handle(m3).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_mutex(MUTEX_ALL_ACCESS, false, Some("temporary")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );
        // The same name may now be used by another type, and a create is fresh.
        ctx.set_last_error(SENTINEL);
        let e = ctx.create_event(None, false, false, Some("temporary")).await;
        assert!(!e.is_null());
        assert_eq!(ctx.get_last_error(), 0);
        assert_eq!(ctx.close_handle(e).await, TRUE);
        ctx.set_last_error(SENTINEL);
        let m = ctx.create_mutex(None, false, Some("temporary")).await;
        assert_eq!(ctx.get_last_error(), 0);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        0
    });
}

/// Kernel object namespaces doc (learn.microsoft.com/windows/win32/termserv/
/// kernel-object-namespaces): for a program in an interactive session (not session 0),
/// `Local\` names the same namespace as no prefix, `Global\` another one; a name with an
/// unknown directory fails (Wine probe: ERROR_PATH_NOT_FOUND).
#[test]
fn local_prefix_is_the_same_as_no_prefix() {
    check(|ctx| async move {
        let a = ctx.create_event(None, true, false, Some("Local\\ns")).await;
        assert!(!a.is_null());
        ctx.set_last_error(SENTINEL);
        let b = ctx.create_event(None, true, false, Some("ns")).await;
        assert!(!b.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        let c = ctx.open_event(EVENT_ALL_ACCESS, false, Some("Local\\ns")).await;
        assert!(!c.is_null());
        ctx.set_last_error(SENTINEL);
        let g = ctx.create_event(None, true, false, Some("Global\\ns")).await;
        assert!(!g.is_null());
        assert_eq!(ctx.get_last_error(), 0, "Global\\ is another namespace");
        assert_eq!(ctx.set_event(c).await, TRUE);
        assert_wait(&ctx, b, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, g, 0, WAIT_TIMEOUT).await;
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.create_event(None, true, false, Some("nodir\\ns")).await,
            HANDLE::NULL,
            ERROR_PATH_NOT_FOUND,
        );
        0
    });
}

// ----- WaitForSingleObject (10.1, 8.11) ------------------------------------------------

/// §10.1 (sync.c :: test_WaitForSingleObject): WAIT_OBJECT_0 and WAIT_TIMEOUT leave
/// the last error alone; an invalid or closed handle gives WAIT_FAILED with
/// ERROR_INVALID_HANDLE.
#[test]
fn wait_for_single_object_results_and_last_error() {
    check(|ctx| async move {
        let e = event(&ctx, true, false).await;
        assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;
        assert_wait(&ctx, e, 10, WAIT_TIMEOUT).await;
        assert_eq!(ctx.set_event(e).await, TRUE);
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, e, INFINITE, WAIT_OBJECT_0).await;
        let closed = event(&ctx, true, true).await;
        assert_eq!(ctx.close_handle(closed).await, TRUE);
        for bad in [HANDLE::NULL, HANDLE(0x1234), closed, HANDLE(0xfff0)] {
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.wait_for_single_object(bad, 0).await, WAIT_FAILED, ERROR_INVALID_HANDLE);
        }
        0
    });
}

/// §8.11 (sync.c :: test_WaitForSingleObject): pseudo handles may be waited on; the
/// caller's own thread or process never ends while it waits, so the waits time out, each
/// after its full (virtual) time-out.
#[test]
fn waiting_on_pseudo_handles_times_out() {
    let r = run_main(|ctx| async move {
        assert_wait(&ctx, ctx.get_current_thread(), 100, WAIT_TIMEOUT).await;
        assert_wait(&ctx, ctx.get_current_process(), 100, WAIT_TIMEOUT).await;
        0
    });
    assert_completed(&r);
    assert_eq!(r.time_ms, 200, "two 100 ms time-outs\n{}", r.trace_text());
}

/// §10.5 (ntsync.c :: test_keyed_events; sync.c :: test_mutex): a wait through a
/// handle without SYNCHRONIZE fails with ERROR_ACCESS_DENIED, in both wait functions;
/// GENERIC_READ|GENERIC_WRITE on a mutex does not include SYNCHRONIZE, GENERIC_EXECUTE does.
#[test]
fn waiting_needs_synchronize_access() {
    check(|ctx| async move {
        let e = ctx.create_event(None, true, true, Some("sync access")).await;
        let modify = ctx.open_event(EVENT_MODIFY_STATE, false, Some("sync access")).await;
        assert!(!modify.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.wait_for_single_object(modify, 0).await, WAIT_FAILED, ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.wait_for_multiple_objects(&[e, modify], false, 0).await,
            WAIT_FAILED,
            ERROR_ACCESS_DENIED,
        );
        assert_eq!(ctx.reset_event(modify).await, TRUE, "the handle is good for what it grants");
        assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;

        let m = ctx.create_mutex(None, false, Some("mutex access")).await;
        assert!(!m.is_null());
        let rw = ctx.open_mutex(GENERIC_READ | GENERIC_WRITE, false, Some("mutex access")).await;
        assert!(!rw.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.wait_for_single_object(rw, 0).await, WAIT_FAILED, ERROR_ACCESS_DENIED);
        let x = ctx.open_mutex(GENERIC_EXECUTE, false, Some("mutex access")).await;
        assert!(!x.is_null());
        assert_wait(&ctx, x, 0, WAIT_OBJECT_0).await;
        assert_eq!(ctx.release_mutex(x).await, TRUE);
        0
    });
}

// ----- WaitForMultipleObjects (10.2-10.4) ----------------------------------------------

/// §10.2 (sync.c :: test_WaitForMultipleObjects): wait-any reports the lowest
/// signalled index and consumes only that object; repeated waits walk up the indices.
#[test]
fn wait_any_reports_and_consumes_the_lowest_signalled_index() {
    check(|ctx| async move {
        let mut events = Vec::new();
        for _ in 0..4 {
            events.push(event(&ctx, false, true).await);
        }
        for i in 0..4 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_OBJECT_0 + i);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        assert_eq!(ctx.wait_for_multiple_objects(&events, false, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.get_last_error(), SENTINEL);

        // A manual-reset event at index 0 stays signalled and shields the others.
        let manual = event(&ctx, true, true).await;
        for &e in &events {
            assert_eq!(ctx.set_event(e).await, TRUE);
        }
        let mut handles = vec![manual];
        handles.extend(&events);
        for _ in 0..3 {
            assert_eq!(ctx.wait_for_multiple_objects(&handles, false, 0).await, WAIT_OBJECT_0);
        }
        for &e in &events {
            assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        }
        // The same object twice is fine when waiting for any.
        assert_eq!(ctx.wait_for_multiple_objects(&[events[0], manual, manual], false, 0).await, WAIT_OBJECT_0 + 1);
        0
    });
}

/// §10.2 (sync.c :: test_WaitForMultipleObjects: MAXIMUM_WAIT_OBJECTS handles) and
/// Wine probe: 64 handles work; 0 or 65 fail with ERROR_INVALID_PARAMETER.
#[test]
fn wait_for_multiple_objects_takes_1_to_64_handles() {
    check(|ctx| async move {
        let mut events = Vec::new();
        for _ in 0..65 {
            events.push(event(&ctx, false, false).await);
        }
        let all64 = &events[..64];
        assert_eq!(ctx.wait_for_multiple_objects(all64, false, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.set_event(events[63]).await, TRUE);
        assert_eq!(ctx.wait_for_multiple_objects(all64, false, 0).await, WAIT_OBJECT_0 + 63);
        for &e in all64 {
            assert_eq!(ctx.set_event(e).await, TRUE);
        }
        assert_eq!(ctx.wait_for_multiple_objects(all64, true, 0).await, WAIT_OBJECT_0);
        assert_wait(&ctx, events[0], 0, WAIT_TIMEOUT).await;
        assert_wait(&ctx, events[63], 0, WAIT_TIMEOUT).await;
        assert_eq!(ctx.wait_for_multiple_objects(&events[..1], false, 0).await, WAIT_TIMEOUT);

        assert_eq!(ctx.set_event(events[64]).await, TRUE);
        for all in [false, true] {
            ctx.set_last_error(SENTINEL);
            assert_failed(
                &ctx,
                ctx.wait_for_multiple_objects(&events, all, 0).await,
                WAIT_FAILED,
                ERROR_INVALID_PARAMETER,
            );
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.wait_for_multiple_objects(&[], all, 0).await, WAIT_FAILED, ERROR_INVALID_PARAMETER);
        }
        assert_wait(&ctx, events[64], 0, WAIT_OBJECT_0).await;
        0
    });
}

/// §10.3 (sync.c :: test_WaitForMultipleObjects, todo_wine; Wine probe): pseudo
/// handles in WaitForMultipleObjects fail with ERROR_INVALID_HANDLE on Windows, and so
/// does an invalid or closed handle anywhere in the array; nothing is consumed.
#[test]
fn wait_for_multiple_objects_rejects_pseudo_and_invalid_handles() {
    check(|ctx| async move {
        let e = event(&ctx, false, true).await;
        let closed = event(&ctx, false, true).await;
        assert_eq!(ctx.close_handle(closed).await, TRUE);
        for bad in [ctx.get_current_process(), ctx.get_current_thread(), HANDLE::NULL, HANDLE(0x1234), closed] {
            for all in [false, true] {
                ctx.set_last_error(SENTINEL);
                let r = ctx.wait_for_multiple_objects(&[e, bad], all, 0).await;
                assert_failed(&ctx, r, WAIT_FAILED, ERROR_INVALID_HANDLE);
            }
        }
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        0
    });
}

/// §10.4 (WaitForMultipleObjects doc; Wine probe on Windows: 87): the same object
/// twice in a wait-all fails with ERROR_INVALID_PARAMETER, whether through one handle
/// value or two handles to it (NT compares the objects: STATUS_INVALID_PARAMETER_MIX).
#[test]
fn wait_all_rejects_the_same_object_twice() {
    check(|ctx| async move {
        let e = event(&ctx, true, true).await;
        let other = event(&ctx, true, true).await;
        let me = ctx.get_current_process();
        let mut copy = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, e, me, &mut copy, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        for handles in [[e, other, e], [e, other, copy]] {
            ctx.set_last_error(SENTINEL);
            assert_failed(
                &ctx,
                ctx.wait_for_multiple_objects(&handles, true, 0).await,
                WAIT_FAILED,
                ERROR_INVALID_PARAMETER,
            );
            assert_eq!(ctx.wait_for_multiple_objects(&handles, false, 0).await, WAIT_OBJECT_0);
        }
        0
    });
}

/// §10.4 (WaitForMultipleObjects doc: "the function does not modify the states of the
/// specified objects until the states of all objects have been set to signaled"): a
/// wait-all on two auto-reset events with one set consumes neither; once both are set it
/// consumes both.
#[test]
fn wait_all_is_all_or_nothing() {
    check(|ctx| async move {
        let a = event(&ctx, false, true).await;
        let b = event(&ctx, false, false).await;
        assert_eq!(ctx.wait_for_multiple_objects(&[a, b], true, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_multiple_objects(&[a, b], true, 20).await, WAIT_TIMEOUT);
        assert_wait(&ctx, a, 0, WAIT_OBJECT_0).await;

        // Blocking: a waiter for both, one set, then the other.
        let (wa, wb) = (a, b);
        let waiter =
            spawn(
                &ctx,
                move |t: ThreadCtx| async move { t.wait_for_multiple_objects(&[wa, wb], true, INFINITE).await },
            )
            .await;
        ctx.sleep(10).await;
        assert_eq!(ctx.set_event(a).await, TRUE);
        ctx.sleep(10).await;
        assert_eq!(ctx.wait_for_single_object(waiter, 0).await, WAIT_TIMEOUT, "still waiting for b");
        assert_eq!(ctx.set_event(b).await, TRUE);
        assert_eq!(join(&ctx, waiter).await, WAIT_OBJECT_0);
        assert_wait(&ctx, a, 0, WAIT_TIMEOUT).await;
        assert_wait(&ctx, b, 0, WAIT_TIMEOUT).await;

        // A semaphore and a mutex owned elsewhere: the semaphore is not taken meanwhile.
        let s = semaphore(&ctx, 1, 1).await;
        let m = ctx.create_mutex(None, true, None).await;
        let t =
            spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_multiple_objects(&[s, m], true, 0).await }).await;
        assert_eq!(join(&ctx, t).await, WAIT_TIMEOUT);
        let mut prev = -1;
        assert_eq!(ctx.release_semaphore(s, 1, Some(&mut prev)).await, FALSE, "count still 1 of 1");
        assert_eq!(ctx.get_last_error(), ERROR_TOO_MANY_POSTS);
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        0
    });
}

/// §10.1 (WaitForSingleObject/WaitForMultipleObjects docs: dwMilliseconds): time-outs
/// run on virtual time, which advances only when no thread can run: a wait that times out
/// ends exactly at its deadline, one satisfied earlier ends when it is satisfied.
#[test]
fn time_outs_run_on_virtual_time() {
    let r = run_main(|ctx| async move {
        let a = event(&ctx, false, false).await;
        let b = event(&ctx, false, false).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_multiple_objects(&[a, b], false, 50).await, WAIT_TIMEOUT);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_eq!(ctx.wait_for_multiple_objects(&[a, b], true, 0).await, WAIT_TIMEOUT, "0 ms: no time passes");
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            t.sleep(30).await;
            t.set_event(b).await as u32
        })
        .await;
        assert_wait(&ctx, a, 10, WAIT_TIMEOUT).await; // now 60
        assert_eq!(ctx.wait_for_multiple_objects(&[a, b], false, 1000).await, WAIT_OBJECT_0 + 1); // at 80
        assert_eq!(join(&ctx, t).await, TRUE as u32);
        ctx.sleep(0).await;
        0
    });
    assert_completed(&r);
    assert_eq!(r.time_ms, 80, "50 + 10 + the rest of the helper's 30 ms sleep\n{}", r.trace_text());
}

/// §10.4 (WaitForMultipleObjects doc): a blocked wait-all reserves nothing: a signal
/// it is waiting for can be taken by another thread meanwhile, and then the wait-all is not
/// satisfied when the last object comes.
#[test]
fn a_blocked_wait_all_reserves_nothing() {
    check(|ctx| async move {
        let a = event(&ctx, false, false).await;
        let b = event(&ctx, false, false).await;
        let waiter =
            spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_multiple_objects(&[a, b], true, 50).await }).await;
        ctx.sleep(10).await;
        assert_eq!(ctx.set_event(a).await, TRUE);
        assert_wait(&ctx, a, 0, WAIT_OBJECT_0).await; // main takes a
        assert_eq!(ctx.set_event(b).await, TRUE);
        assert_eq!(join(&ctx, waiter).await, WAIT_TIMEOUT);
        assert_wait(&ctx, b, 0, WAIT_OBJECT_0).await; // b was not consumed either
        0
    });
}

/// A wait that nothing can ever satisfy ends the run as a deadlock, with the stuck call in
/// the report, instead of hanging (STYLE.md "Hitting a limit is an outcome, never a hang").
#[test]
fn an_infinite_wait_nothing_can_satisfy_is_a_deadlock() {
    let r = run_main(|ctx| async move {
        let e = event(&ctx, true, false).await;
        ctx.wait_for_single_object(e, INFINITE).await;
        unreachable!("nothing sets the event")
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock, got {}", r.summary()));
    assert_eq!(d.threads.len(), 1);
    assert_eq!(d.threads[0].api, "WaitForSingleObject");
}

// ----- SignalObjectAndWait (10.6) --------------------------------------------------------

/// §10.6 (sync.c :: test_signalandwait): SignalObjectAndWait(e, e) on an auto-reset
/// event returns WAIT_OBJECT_0 and leaves the event nonsignalled: the wait consumes the
/// signal it just set.
#[test]
fn signal_and_wait_on_the_same_auto_reset_event_consumes_the_signal() {
    check(|ctx| async move {
        let e = event(&ctx, false, false).await;
        for _ in 0..100 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.signal_object_and_wait(e, e, INFINITE, false).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;
        // A manual-reset event stays set.
        let m = event(&ctx, true, false).await;
        assert_eq!(ctx.signal_object_and_wait(m, m, 0, false).await, WAIT_OBJECT_0);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        0
    });
}

/// §10.6 (sync.c :: test_signalandwait): signalling one object and waiting on another
/// is one step: a thread blocked on the first is released, and its answer completes the
/// wait. Works with a mutex (released) and a semaphore (released by 1) too.
#[test]
fn signal_and_wait_hands_off_between_threads() {
    check(|ctx| async move {
        let ping = event(&ctx, false, false).await;
        let pong = event(&ctx, false, false).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            for _ in 0..3 {
                assert_eq!(t.wait_for_single_object(ping, INFINITE).await, WAIT_OBJECT_0);
                assert_eq!(t.set_event(pong).await, TRUE);
            }
            0
        })
        .await;
        for _ in 0..3 {
            assert_eq!(ctx.signal_object_and_wait(ping, pong, INFINITE, false).await, WAIT_OBJECT_0);
        }
        assert_eq!(join(&ctx, t).await, 0);
        assert_wait(&ctx, ping, 0, WAIT_TIMEOUT).await;
        assert_wait(&ctx, pong, 0, WAIT_TIMEOUT).await;

        let m = ctx.create_mutex(None, true, None).await;
        let s = semaphore(&ctx, 0, 1).await;
        let done = event(&ctx, false, false).await;
        assert_eq!(ctx.signal_object_and_wait(m, done, 0, false).await, WAIT_TIMEOUT, "signalled, then timed out");
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_mutex(m).await, FALSE, ERROR_NOT_OWNER);
        assert_eq!(ctx.signal_object_and_wait(s, s, 0, false).await, WAIT_OBJECT_0, "released by one, then taken");
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// §10.6 (sync.c :: test_signalandwait; Wine probe): a NULL handle in either slot, a
/// thread as the object to signal, a semaphore at its maximum or a mutex the caller does
/// not own all give WAIT_FAILED; when the signal fails the wait is not performed, and a
/// bad wait handle is found before anything is signalled.
#[test]
fn signal_and_wait_failures_do_not_wait() {
    check(|ctx| async move {
        let e = event(&ctx, false, true).await;
        let target = event(&ctx, false, false).await;
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.signal_object_and_wait(HANDLE::NULL, e, 0, false).await,
            WAIT_FAILED,
            ERROR_INVALID_HANDLE,
        );
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.signal_object_and_wait(target, HANDLE::NULL, 0, false).await,
            WAIT_FAILED,
            ERROR_INVALID_HANDLE,
        );
        assert_wait(&ctx, target, 0, WAIT_TIMEOUT).await; // [inferred] both handles are referenced before the signal
        ctx.set_last_error(SENTINEL);
        let r = ctx.signal_object_and_wait(ctx.get_current_thread(), e, 0, false).await;
        assert_failed(&ctx, r, WAIT_FAILED, ERROR_INVALID_HANDLE);

        let full = semaphore(&ctx, 1, 1).await;
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.signal_object_and_wait(full, e, 0, false).await, WAIT_FAILED, ERROR_TOO_MANY_POSTS);
        let unowned = ctx.create_mutex(None, false, None).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_single_object(unowned, 0).await, WAIT_OBJECT_0);
            0
        })
        .await;
        assert_eq!(join(&ctx, t).await, 0);
        // The thread ended owning the mutex: abandoned, and not ours to release.
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.signal_object_and_wait(unowned, e, 0, false).await, WAIT_FAILED, ERROR_NOT_OWNER);
        // Neither failure waited: the auto-reset event is still set.
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        let mut prev = -1;
        assert_eq!(ctx.release_semaphore(full, 1, Some(&mut prev)).await, FALSE, "count unchanged");
        0
    });
}

/// §10.6 with 10.5 and 12.2: the signal half needs the modify right for events and
/// semaphores (ERROR_ACCESS_DENIED otherwise; the wait is then not performed), the wait
/// half SYNCHRONIZE.
#[test]
fn signal_and_wait_checks_access() {
    check(|ctx| async move {
        let e = ctx.create_event(None, false, true, Some("sow access")).await;
        let sync_only = ctx.open_event(SYNCHRONIZE, false, Some("sow access")).await;
        let modify_only = ctx.open_event(EVENT_MODIFY_STATE, false, Some("sow access")).await;
        assert!(!sync_only.is_null() && !modify_only.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.signal_object_and_wait(sync_only, e, 0, false).await, WAIT_FAILED, ERROR_ACCESS_DENIED);
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.signal_object_and_wait(e, modify_only, 0, false).await,
            WAIT_FAILED,
            ERROR_ACCESS_DENIED,
        );
        assert_wait(&ctx, e, 0, WAIT_OBJECT_0).await;
        assert_eq!(ctx.signal_object_and_wait(modify_only, sync_only, 0, false).await, WAIT_OBJECT_0);
        0
    });
}

// ----- events (11) -----------------------------------------------------------------------

/// §11.2 (sync.c :: test_WaitForMultipleObjects; ntsync.c :: test_event): an
/// auto-reset event is consumed by one satisfied wait; a manual-reset event stays
/// signalled until ResetEvent. §11.1: SetEvent on a set event changes nothing.
#[test]
fn manual_and_auto_reset_events() {
    check(|ctx| async move {
        let manual = event(&ctx, true, true).await;
        for _ in 0..3 {
            assert_wait(&ctx, manual, 0, WAIT_OBJECT_0).await;
        }
        assert_eq!(ctx.reset_event(manual).await, TRUE);
        assert_wait(&ctx, manual, 0, WAIT_TIMEOUT).await;
        assert_eq!(ctx.reset_event(manual).await, TRUE, "resetting a reset event is fine");

        let auto = event(&ctx, false, true).await;
        assert_wait(&ctx, auto, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, auto, 0, WAIT_TIMEOUT).await;
        for _ in 0..3 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_event(auto).await, TRUE);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        assert_wait(&ctx, auto, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, auto, 0, WAIT_TIMEOUT).await;
        assert_eq!(ctx.set_event(auto).await, TRUE);
        assert_eq!(ctx.reset_event(auto).await, TRUE);
        assert_wait(&ctx, auto, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// §11.1 (ntsync.c :: test_event): PulseEvent with no waiters leaves the event
/// nonsignalled, whether it was set or not, for both kinds.
#[test]
fn pulse_event_without_waiters_leaves_the_event_nonsignalled() {
    check(|ctx| async move {
        for manual in [false, true] {
            for initial in [false, true] {
                let e = event(&ctx, manual, initial).await;
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.pulse_event(e).await, TRUE);
                assert_eq!(ctx.get_last_error(), SENTINEL);
                assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;
            }
        }
        0
    });
}

/// §11.1 (PulseEvent doc, learn.microsoft.com/windows/win32/api/winbase/
/// nf-winbase-pulseevent): a manual-reset pulse releases every thread waiting at that
/// instant, an auto-reset pulse exactly one; the event ends nonsignalled and a thread that
/// starts waiting afterwards misses it.
#[test]
fn pulse_event_releases_only_the_current_waiters() {
    check(|ctx| async move {
        for manual in [true, false] {
            let e = event(&ctx, manual, false).await;
            let released = Rc::new(Cell::new(0));
            let mut threads = Vec::new();
            for _ in 0..3 {
                let released = released.clone();
                threads.push(
                    spawn(&ctx, move |t: ThreadCtx| async move {
                        let r = t.wait_for_single_object(e, 100).await;
                        if r == WAIT_OBJECT_0 {
                            released.set(released.get() + 1);
                        }
                        r
                    })
                    .await,
                );
            }
            ctx.sleep(10).await;
            assert_eq!(ctx.pulse_event(e).await, TRUE);
            assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;
            let late = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(e, 5).await }).await;
            assert_eq!(join(&ctx, late).await, WAIT_TIMEOUT, "a later waiter misses the pulse");
            for t in threads {
                join(&ctx, t).await;
            }
            assert_eq!(released.get(), if manual { 3 } else { 1 }, "manual-reset: {manual}");
        }
        0
    });
}

/// Wine probe: SetEvent, ResetEvent and PulseEvent on a mutex, semaphore or thread handle
/// fail with ERROR_INVALID_HANDLE (STATUS_OBJECT_TYPE_MISMATCH), as on an invalid handle.
#[test]
fn event_calls_on_other_types_fail_with_invalid_handle() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, None).await;
        let s = semaphore(&ctx, 0, 1).await;
        for h in [m, s, ctx.get_current_thread(), ctx.get_current_process(), HANDLE::NULL, HANDLE(0x1234)] {
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.set_event(h).await, FALSE, ERROR_INVALID_HANDLE);
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.reset_event(h).await, FALSE, ERROR_INVALID_HANDLE);
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.pulse_event(h).await, FALSE, ERROR_INVALID_HANDLE);
        }
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// A program for the two-waiter races below: thread 2 starts waiting at time 0, thread 1
/// at time 1 (it sleeps first), each with a 100 ms time-out; main sets the auto-reset event
/// once at time 10. `winners` receives the thread numbers whose wait succeeded.
fn two_waiters(winners: Rc<RefCell<Vec<u32>>>) -> impl Fn(ThreadCtx) -> std::pin::Pin<Box<dyn Future<Output = u32>>> {
    move |ctx: ThreadCtx| {
        let winners = winners.clone();
        Box::pin(async move {
            let e = event(&ctx, false, false).await;
            let t1 = spawn(&ctx, move |t: ThreadCtx| async move {
                t.sleep(1).await;
                t.wait_for_single_object(e, 100).await
            })
            .await;
            let t2 = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(e, 100).await }).await;
            ctx.sleep(10).await;
            assert_eq!(ctx.set_event(e).await, TRUE);
            let (r1, r2) = (join(&ctx, t1).await, join(&ctx, t2).await);
            let mut results = [r1, r2];
            results.sort();
            assert_eq!(results, [WAIT_OBJECT_0, WAIT_TIMEOUT], "exactly one waiter consumes the event");
            assert_wait(&ctx, e, 0, WAIT_TIMEOUT).await;
            winners.borrow_mut().push(if r1 == WAIT_OBJECT_0 { 1 } else { 2 });
            0
        })
    }
}

/// §11.2 (ntsync.c :: test_event): one SetEvent on an auto-reset event satisfies
/// exactly one of two waiters; the other times out.
#[test]
fn an_auto_reset_event_releases_exactly_one_of_two_waiters() {
    let winners = Rc::new(RefCell::new(Vec::new()));
    let r = run_main(two_waiters(winners.clone()));
    assert_completed(&r);
    assert_eq!(winners.borrow().len(), 1);
}

/// Config::waiter_order (WaiterOrder::Fifo, "the textbook order"): the thread that began
/// waiting first wins, whatever the scheduler does otherwise.
#[test]
fn with_fifo_waiter_order_the_first_waiter_wins() {
    for seed in 0..16 {
        let winners = Rc::new(RefCell::new(Vec::new()));
        let config = Config { waiter_order: WaiterOrder::Fifo, ..Config::random(seed) };
        let r = run_with(config, two_waiters(winners.clone()));
        assert_completed(&r);
        assert_eq!(*winners.borrow(), vec![2], "seed {seed}: thread 2 waited first\n{}", r.trace_text());
    }
}

/// Config::waiter_order (WaiterOrder::Scheduler): Windows promises no FIFO order among
/// waiters, so with the random strategy either waiter wins depending on the seed, and the
/// same seed gives the same winner.
#[test]
fn with_the_random_strategy_either_waiter_wins() {
    let mut seen = Vec::new();
    for seed in 0..32 {
        let winners = Rc::new(RefCell::new(Vec::new()));
        let r = run_with(Config::random(seed), two_waiters(winners.clone()));
        assert_completed(&r);
        let again = Rc::new(RefCell::new(Vec::new()));
        run_with(Config::random(seed), two_waiters(again.clone()));
        assert_eq!(*winners.borrow(), *again.borrow(), "seed {seed} is deterministic");
        seen.extend(winners.borrow().iter().copied());
    }
    assert!(seen.contains(&1) && seen.contains(&2), "winners over 32 seeds: {seen:?}");
}

// ----- mutexes (12) ------------------------------------------------------------------------

/// §12.1 (sync.c :: test_mutex; ntsync.c :: test_mutant): the owner acquires
/// recursively and must release as many times; one release too many fails with
/// ERROR_NOT_OWNER. bInitialOwner counts as one acquisition.
#[test]
fn mutex_recursion_and_not_owner() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, None).await;
        for _ in 0..32 {
            assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        }
        for _ in 0..32 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.release_mutex(m).await, TRUE);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_mutex(m).await, FALSE, ERROR_NOT_OWNER);

        let owned = ctx.create_mutex(None, true, None).await;
        assert_wait(&ctx, owned, 0, WAIT_OBJECT_0).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(owned, 0).await }).await;
        assert_eq!(join(&ctx, t).await, WAIT_TIMEOUT, "held twice");
        assert_eq!(ctx.release_mutex(owned).await, TRUE);
        let t = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(owned, 0).await }).await;
        assert_eq!(join(&ctx, t).await, WAIT_TIMEOUT, "still held once");
        assert_eq!(ctx.release_mutex(owned).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_mutex(owned).await, FALSE, ERROR_NOT_OWNER);
        0
    });
}

/// §12.5 (ReleaseMutex doc; Wine probe): a thread that does not own the mutex cannot
/// release it (ERROR_NOT_OWNER), and the owner keeps it; ReleaseMutex on an event or an
/// invalid handle fails with ERROR_INVALID_HANDLE.
#[test]
fn release_mutex_by_a_non_owner_fails() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, true, None).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            t.set_last_error(SENTINEL);
            assert_eq!(t.release_mutex(m).await, FALSE);
            assert_eq!(t.get_last_error(), ERROR_NOT_OWNER);
            t.wait_for_single_object(m, 0).await
        })
        .await;
        assert_eq!(join(&ctx, t).await, WAIT_TIMEOUT, "main still owns it");
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        let e = event(&ctx, false, false).await;
        for h in [e, ctx.get_current_thread(), HANDLE::NULL, HANDLE(0x1234)] {
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.release_mutex(h).await, FALSE, ERROR_INVALID_HANDLE);
        }
        0
    });
}

/// §12.2 (sync.c :: test_mutex): ReleaseMutex does not check the handle's access: the
/// owner releases through a handle opened with only READ_CONTROL, which cannot be waited
/// on (§10.5).
#[test]
fn release_mutex_through_a_read_control_handle() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, Some("rc mutex")).await;
        let rc = ctx.open_mutex(READ_CONTROL, false, Some("rc mutex")).await;
        assert!(!rc.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.wait_for_single_object(rc, 0).await, WAIT_FAILED, ERROR_ACCESS_DENIED);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.release_mutex(rc).await, TRUE);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_mutex(rc).await, FALSE, ERROR_NOT_OWNER);
        let t = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(m, 0).await }).await;
        assert_eq!(join(&ctx, t).await, WAIT_OBJECT_0, "released: another thread gets it");
        0
    });
}

/// §12.3 (ntsync.c :: test_mutant; Wine probe): a thread that returns owning a mutex
/// abandons it; the next wait returns WAIT_ABANDONED and makes the caller the owner, and
/// the abandoned flag is cleared (a later wait gives WAIT_OBJECT_0).
#[test]
fn a_mutex_abandoned_by_thread_exit_gives_wait_abandoned() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, None).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            assert_eq!(t.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            0
        })
        .await;
        assert_eq!(join(&ctx, t).await, 0);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_ABANDONED);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        // The caller owns it now, once.
        let other = spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(m, 0).await }).await;
        assert_eq!(join(&ctx, other).await, WAIT_TIMEOUT);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        assert_failed(&ctx, ctx.release_mutex(m).await, FALSE, ERROR_NOT_OWNER);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        assert_eq!(ctx.release_mutex(m).await, TRUE);

        // ExitThread abandons too.
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            t.exit_thread(5).await;
            unreachable!()
        })
        .await;
        assert_eq!(join(&ctx, t).await, 5);
        assert_wait(&ctx, m, 0, WAIT_ABANDONED).await;
        assert_eq!(ctx.release_mutex(m).await, TRUE);
        0
    });
}

/// §10.4 (WaitForMultipleObjects doc: WAIT_ABANDONED_0 + i) and Wine probe: wait-any
/// reports an abandoned mutex at index i as WAIT_ABANDONED_0 + i; wait-all reports
/// WAIT_ABANDONED_0 itself.
#[test]
fn abandoned_mutexes_in_wait_for_multiple_objects() {
    check(|ctx| async move {
        let e = event(&ctx, true, false).await;
        let m1 = ctx.create_mutex(None, false, None).await;
        let m2 = ctx.create_mutex(None, false, None).await;
        let t = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_multiple_objects(&[m1, m2], true, 0).await, WAIT_OBJECT_0);
            0
        })
        .await;
        assert_eq!(join(&ctx, t).await, 0);
        assert_eq!(ctx.wait_for_multiple_objects(&[e, m2], false, 0).await, WAIT_ABANDONED_0 + 1);
        assert_eq!(ctx.set_event(e).await, TRUE);
        assert_eq!(ctx.wait_for_multiple_objects(&[e, m2, m1], true, 0).await, WAIT_ABANDONED_0);
        assert_eq!(ctx.wait_for_multiple_objects(&[e, m2, m1], true, 0).await, WAIT_OBJECT_0, "flags cleared");
        // Main holds m1 twice and m2 three times.
        for m in [m1, m1, m2, m2, m2] {
            assert_eq!(ctx.release_mutex(m).await, TRUE);
        }
        assert_failed(&ctx, ctx.release_mutex(m2).await, FALSE, ERROR_NOT_OWNER);
        0
    });
}

/// §12.4 (sync.c :: test_mutex): TerminateThread on the owner wakes a thread blocked on
/// the mutex with WAIT_ABANDONED.
#[test]
fn terminating_the_owner_wakes_a_waiter_with_wait_abandoned() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, None).await;
        let forever = event(&ctx, true, false).await;
        let owner = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            t.wait_for_single_object(forever, INFINITE).await;
            unreachable!("terminated while waiting")
        })
        .await;
        let waiter = spawn(&ctx, move |t: ThreadCtx| async move {
            let r = t.wait_for_single_object(m, INFINITE).await;
            assert_eq!(t.release_mutex(m).await, TRUE, "the waiter owns it");
            r
        })
        .await;
        ctx.sleep(10).await;
        assert_eq!(ctx.wait_for_single_object(waiter, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.terminate_thread(owner, 9).await, TRUE);
        assert_eq!(join(&ctx, waiter).await, WAIT_ABANDONED);
        assert_eq!(join(&ctx, owner).await, 9);
        assert_wait(&ctx, m, 0, WAIT_OBJECT_0).await;
        0
    });
}

/// §12.4 (sync.c :: test_mutex) and 7.13: a blocked waiter keeps the mutex alive when
/// its only handle is closed during the wait; the wait neither fails nor completes because
/// of the close, and completes (abandoned) when the owner ends. The name goes with the last
/// handle even though the object lives on.
#[test]
fn a_waiter_keeps_a_mutex_alive_after_its_last_handle_closes() {
    check(|ctx| async move {
        let m = ctx.create_mutex(None, false, Some("kept alive")).await;
        let go = event(&ctx, true, false).await;
        let result = Rc::new(Cell::new(None));
        let owner = spawn(&ctx, move |t: ThreadCtx| async move {
            assert_eq!(t.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            0 // returns owning the mutex: abandoned
        })
        .await;
        let r = result.clone();
        let waiter = spawn(&ctx, move |t: ThreadCtx| async move {
            r.set(Some(t.wait_for_single_object(m, INFINITE).await));
            0
        })
        .await;
        ctx.sleep(10).await;
        assert_eq!(ctx.close_handle(m).await, TRUE);
        ctx.sleep(10).await;
        assert_eq!(result.get(), None, "the close did not end the wait");
        ctx.set_last_error(SENTINEL);
        assert_failed(
            &ctx,
            ctx.open_mutex(SYNCHRONIZE, false, Some("kept alive")).await,
            HANDLE::NULL,
            ERROR_FILE_NOT_FOUND,
        );
        assert_eq!(ctx.set_event(go).await, TRUE);
        join(&ctx, owner).await;
        join(&ctx, waiter).await;
        assert_eq!(result.get(), Some(WAIT_ABANDONED));
        0
    });
}

// ----- semaphores (13) ---------------------------------------------------------------------

/// §13.1 (ntsync.c :: test_semaphore; Wine probe): initial > maximum, a negative
/// initial count or a maximum <= 0 fail with NULL and ERROR_INVALID_PARAMETER.
#[test]
fn create_semaphore_rejects_bad_counts() {
    check(|ctx| async move {
        for (initial, maximum) in [(2, 1), (0, 0), (-1, 1), (0, -1), (1, 0), (i32::MAX, 1)] {
            ctx.set_last_error(SENTINEL);
            let h = ctx.create_semaphore(None, initial, maximum, None).await;
            assert_failed(&ctx, h, HANDLE::NULL, ERROR_INVALID_PARAMETER);
        }
        for (initial, maximum) in [(0, 1), (1, 1), (0, i32::MAX), (i32::MAX, i32::MAX)] {
            ctx.set_last_error(SENTINEL);
            assert!(!ctx.create_semaphore(None, initial, maximum, None).await.is_null());
            assert_eq!(ctx.get_last_error(), 0);
        }
        0
    });
}

/// §13.2 (ntsync.c :: test_semaphore; sync.c :: test_signalandwait; Wine probe):
/// releasing past the maximum fails with ERROR_TOO_MANY_POSTS, adds nothing (all or
/// nothing) and does not write the previous count.
#[test]
fn release_semaphore_past_the_maximum_is_all_or_nothing() {
    check(|ctx| async move {
        let s = semaphore(&ctx, 0, 2).await;
        let mut prev = 77;
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_semaphore(s, 3, Some(&mut prev)).await, FALSE, ERROR_TOO_MANY_POSTS);
        assert_eq!(prev, 77, "previous count not written");
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        assert_eq!(ctx.release_semaphore(s, 1, Some(&mut prev)).await, TRUE);
        assert_eq!(prev, 0);
        prev = 77;
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_semaphore(s, 2, Some(&mut prev)).await, FALSE, ERROR_TOO_MANY_POSTS);
        assert_eq!(prev, 77);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_semaphore(s, i32::MAX, None).await, FALSE, ERROR_TOO_MANY_POSTS);
        assert_eq!(ctx.release_semaphore(s, 1, Some(&mut prev)).await, TRUE);
        assert_eq!(prev, 1);
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_semaphore(s, 1, Some(&mut prev)).await, FALSE, ERROR_TOO_MANY_POSTS);
        assert_eq!(prev, 1);
        assert_wait(&ctx, s, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, s, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// §13.3 (ntsync.c :: test_semaphore): ReleaseSemaphore reports the previous count
/// and leaves the last error alone; each satisfied wait takes 1 off the count.
#[test]
fn release_semaphore_reports_previous_counts_and_waits_decrement() {
    check(|ctx| async move {
        let s = semaphore(&ctx, 0, 10).await;
        let mut prev = -1;
        for expected in [0, 1, 2] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.release_semaphore(s, 1, Some(&mut prev)).await, TRUE);
            assert_eq!(ctx.get_last_error(), SENTINEL);
            assert_eq!(prev, expected);
        }
        assert_eq!(ctx.release_semaphore(s, 4, Some(&mut prev)).await, TRUE);
        assert_eq!(prev, 3);
        assert_eq!(ctx.release_semaphore(s, 1, None).await, TRUE);
        for _ in 0..2 {
            assert_wait(&ctx, s, 0, WAIT_OBJECT_0).await;
        }
        assert_eq!(ctx.release_semaphore(s, 1, Some(&mut prev)).await, TRUE);
        assert_eq!(prev, 6, "8 released, 2 taken");
        for _ in 0..7 {
            assert_wait(&ctx, s, 0, WAIT_OBJECT_0).await;
        }
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// §13.3: a release of n satisfies at most n blocked waiters; the rest keep waiting
/// (here until their time-out).
#[test]
fn release_semaphore_wakes_as_many_waiters_as_its_count() {
    check(|ctx| async move {
        let s = semaphore(&ctx, 0, 5).await;
        let mut threads = Vec::new();
        for _ in 0..3 {
            threads.push(spawn(&ctx, move |t: ThreadCtx| async move { t.wait_for_single_object(s, 50).await }).await);
        }
        ctx.sleep(10).await;
        let mut prev = -1;
        assert_eq!(ctx.release_semaphore(s, 2, Some(&mut prev)).await, TRUE);
        assert_eq!(prev, 0);
        let mut results = Vec::new();
        for t in threads {
            results.push(join(&ctx, t).await);
        }
        results.sort();
        assert_eq!(results, [WAIT_OBJECT_0, WAIT_OBJECT_0, WAIT_TIMEOUT]);
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}

/// ReleaseSemaphore doc and Wine probe: lReleaseCount <= 0 fails with
/// ERROR_INVALID_PARAMETER; an invalid or wrong-type handle with ERROR_INVALID_HANDLE; a
/// handle without SEMAPHORE_MODIFY_STATE with ERROR_ACCESS_DENIED. None changes the count.
#[test]
fn release_semaphore_bad_arguments() {
    check(|ctx| async move {
        let s = ctx.create_semaphore(None, 1, 5, Some("sem args")).await;
        assert!(!s.is_null());
        let mut prev = 77;
        for count in [0, -1, i32::MIN] {
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.release_semaphore(s, count, Some(&mut prev)).await, FALSE, ERROR_INVALID_PARAMETER);
            assert_eq!(prev, 77);
        }
        let e = event(&ctx, false, false).await;
        let m = ctx.create_mutex(None, false, None).await;
        for h in [e, m, ctx.get_current_thread(), HANDLE::NULL, HANDLE(0x1234)] {
            ctx.set_last_error(SENTINEL);
            assert_failed(&ctx, ctx.release_semaphore(h, 1, Some(&mut prev)).await, FALSE, ERROR_INVALID_HANDLE);
        }
        let sync_only = ctx.open_semaphore(SYNCHRONIZE, false, Some("sem args")).await;
        assert!(!sync_only.is_null());
        ctx.set_last_error(SENTINEL);
        assert_failed(&ctx, ctx.release_semaphore(sync_only, 1, Some(&mut prev)).await, FALSE, ERROR_ACCESS_DENIED);
        assert_eq!(prev, 77);
        assert_wait(&ctx, sync_only, 0, WAIT_OBJECT_0).await;
        assert_wait(&ctx, s, 0, WAIT_TIMEOUT).await;
        0
    });
}
