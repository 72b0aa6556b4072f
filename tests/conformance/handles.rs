//! Handle tables: values, CloseHandle, Set/GetHandleInformation, DuplicateHandle, the
//! per-process handle limit. Named after the handle parts of Wine's kernel32 process.c
//! (test_Handles, test_DuplicateHandle) and ntdll om.c. Facts are numbered as in
//! docs/semantics.md, section 7.

use crate::support::{SENTINEL, assert_completed, check, run_with};
use sim_core::prelude::*;
use sim_core::report::LimitKind;

/// Creates an unnamed event; a NULL handle fails the test.
async fn event(ctx: &ThreadCtx, manual_reset: bool, initial_state: bool) -> HANDLE {
    let h = ctx.create_event(None, manual_reset, initial_state, None).await;
    assert!(!h.is_null(), "CreateEvent failed with {}", ctx.get_last_error());
    h
}

/// The handle flags of `h`; a failing GetHandleInformation fails the test.
async fn flags_of(ctx: &ThreadCtx, h: HANDLE) -> u32 {
    let mut flags = 0xffff_ffff;
    assert_eq!(ctx.get_handle_information(h, &mut flags).await, TRUE, "GetHandleInformation({h})");
    flags
}

/// Same-process DuplicateHandle with DUPLICATE_SAME_ACCESS and extra `options`.
async fn dup(ctx: &ThreadCtx, h: HANDLE, inherit: bool, options: u32) -> (BOOL, HANDLE) {
    let me = ctx.get_current_process();
    let mut out = HANDLE(0x7777_7770);
    let ok = ctx.duplicate_handle(me, h, me, &mut out, 0, inherit, DUPLICATE_SAME_ACCESS | options).await;
    (ok, out)
}

// ----- handle values (7.1) -----------------------------------------------------------

/// §7.1 (Wine server/handle.c alloc_entry [W]; STYLE.md "Handle tables are
/// Windows-shaped"): values are (slot + 1) * 4, never 0, and the lowest free slot is
/// handed out again, so use-after-close bugs reproduce.
#[test]
fn handle_values_are_multiples_of_four_and_the_lowest_free_slot_is_reused() {
    check(|ctx| async move {
        let a = event(&ctx, true, false).await;
        let b = event(&ctx, true, false).await;
        let c = event(&ctx, true, false).await;
        for h in [a, b, c] {
            assert!(h.0 > 0 && h.0 % 4 == 0, "{h} is not a positive multiple of 4");
        }
        assert!(a != b && b != c && a != c);
        assert_eq!(ctx.close_handle(b).await, TRUE);
        let d = event(&ctx, false, false).await;
        assert_eq!(d, b, "the freed slot is reused");
        let e = event(&ctx, false, false).await;
        assert!(e != a && e != c && e != d);
        0
    });
}

/// §7.1 (sync.c :: test_WaitForSingleObject; devblogs.microsoft.com/oldnewthing/
/// 20050121-00/?p=36633): the low two bits of a handle are ignored, and a success or
/// time-out through a tagged value leaves the last error alone.
#[test]
fn low_two_bits_of_a_handle_are_ignored() {
    check(|ctx| async move {
        let h = event(&ctx, true, false).await;
        for tag in 1..=3 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_for_single_object(HANDLE(h.0 | tag), 0).await, WAIT_TIMEOUT);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        assert_eq!(ctx.set_event(HANDLE(h.0 | 3)).await, TRUE);
        for tag in 0..=3 {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_for_single_object(HANDLE(h.0 | tag), 0).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_last_error(), SENTINEL);
        }
        // An invalid value with low bits set is still invalid.
        for bad in [HANDLE(0x1234), HANDLE(0x1235), HANDLE(0x1237), HANDLE(1), HANDLE(3)] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_for_single_object(bad, 0).await, WAIT_FAILED, "{bad}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{bad}");
        }
        // CloseHandle through a tagged value closes the handle itself.
        assert_eq!(ctx.close_handle(HANDLE(h.0 | 2)).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_FAILED);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

// ----- CloseHandle (7.6, 7.7) ----------------------------------------------------------

/// §7.6 (CloseHandle doc; Wine probe): NULL, garbage, INVALID_HANDLE_VALUE's
/// neighbours and closed handles fail with ERROR_INVALID_HANDLE.
#[test]
fn close_handle_of_invalid_closed_and_null_handles_fails_with_invalid_handle() {
    check(|ctx| async move {
        let h = event(&ctx, false, false).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        for bad in [h, HANDLE::NULL, HANDLE(0x1234), HANDLE(0xfff0), HANDLE(0x10_0000)] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.close_handle(bad).await, FALSE, "CloseHandle({bad})");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "CloseHandle({bad})");
        }
        0
    });
}

/// Wine probe (and §7.3): closing GetCurrentProcess() or GetCurrentThread() succeeds
/// and changes nothing: the pseudo handles still work afterwards.
#[test]
fn close_handle_of_pseudo_handles_succeeds_and_does_nothing() {
    check(|ctx| async move {
        for pseudo in [ctx.get_current_process(), ctx.get_current_thread()] {
            assert_eq!(ctx.close_handle(pseudo).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(pseudo, 0).await, WAIT_TIMEOUT, "{pseudo} still usable");
        }
        assert_eq!(ctx.get_current_process(), HANDLE(-1));
        assert_eq!(ctx.get_current_thread(), HANDLE(-2));
        0
    });
}

/// §7.7 (server/handle.c close_handle [W]; STATUS_HANDLE_NOT_CLOSABLE -> 6 in error.c):
/// a handle protected from close cannot be closed and stays usable; once the flag is
/// cleared it closes normally.
#[test]
fn protect_from_close_makes_close_handle_fail_and_keeps_the_handle() {
    check(|ctx| async move {
        let h = event(&ctx, true, false).await;
        assert_eq!(
            ctx.set_handle_information(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE).await,
            TRUE
        );
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.close_handle(h).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(flags_of(&ctx, h).await, HANDLE_FLAG_PROTECT_FROM_CLOSE);
        assert_eq!(ctx.set_event(h).await, TRUE, "the protected handle is still open");
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.set_handle_information(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0).await, TRUE);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.close_handle(h).await, FALSE);
        0
    });
}

// ----- Set/GetHandleInformation --------------------------------------------------------

/// SetHandleInformation doc (learn.microsoft.com/windows/win32/api/handleapi/
/// nf-handleapi-sethandleinformation): `dwMask` selects the flags to change, `dwFlags`
/// gives their new values; bits outside the mask are left alone. New handles have no flags
/// unless created inheritable (§7.4 uses the same flags).
#[test]
fn set_handle_information_changes_only_the_masked_flags() {
    check(|ctx| async move {
        let h = event(&ctx, false, false).await;
        assert_eq!(flags_of(&ctx, h).await, 0);
        let sa = SECURITY_ATTRIBUTES::INHERIT;
        let hi = ctx.create_event(Some(&sa), false, false, None).await;
        assert_eq!(flags_of(&ctx, hi).await, HANDLE_FLAG_INHERIT);

        let both = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
        assert_eq!(ctx.set_handle_information(h, HANDLE_FLAG_INHERIT, both).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, HANDLE_FLAG_INHERIT, "only the masked bit is set");
        assert_eq!(ctx.set_handle_information(h, HANDLE_FLAG_PROTECT_FROM_CLOSE, both).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, both);
        assert_eq!(ctx.set_handle_information(h, 0, 0).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, both, "an empty mask changes nothing");
        assert_eq!(ctx.set_handle_information(h, HANDLE_FLAG_INHERIT, 0).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, HANDLE_FLAG_PROTECT_FROM_CLOSE);
        assert_eq!(ctx.set_handle_information(h, both, 0).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, 0);
        // Flags belong to the handle, not the object.
        let (ok, d) = dup(&ctx, h, false, 0).await;
        assert_eq!(ok, TRUE);
        assert_eq!(ctx.set_handle_information(d, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT).await, TRUE);
        assert_eq!(flags_of(&ctx, h).await, 0);
        assert_eq!(flags_of(&ctx, d).await, HANDLE_FLAG_INHERIT);
        0
    });
}

/// Wine probe: GetHandleInformation on a pseudo handle is TRUE with flags 0;
/// SetHandleInformation on one fails with ERROR_ACCESS_DENIED. Invalid and closed handles
/// fail with ERROR_INVALID_HANDLE (§7.6) and leave the output alone.
#[test]
fn handle_information_on_pseudo_and_invalid_handles() {
    check(|ctx| async move {
        for pseudo in [ctx.get_current_process(), ctx.get_current_thread()] {
            let mut flags = 0xff;
            assert_eq!(ctx.get_handle_information(pseudo, &mut flags).await, TRUE);
            assert_eq!(flags, 0);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_handle_information(pseudo, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        }
        let closed = event(&ctx, false, false).await;
        assert_eq!(ctx.close_handle(closed).await, TRUE);
        for bad in [HANDLE::NULL, HANDLE(0x1234), closed] {
            let mut flags = 0x55;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_handle_information(bad, &mut flags).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            assert_eq!(flags, 0x55);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_handle_information(bad, HANDLE_FLAG_INHERIT, 0).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        }
        0
    });
}

// ----- DuplicateHandle (7.2-7.5, 7.9) ---------------------------------------------------

/// §7.2 (process.c :: test_DuplicateHandle "Test if DuplicateHandle allocates first
/// free handle"): a same-process DUPLICATE_CLOSE_SOURCE returns the source's own value,
/// even when a lower slot is free, with the new inherit flag applied.
#[test]
fn duplicate_close_source_in_the_same_process_keeps_the_value() {
    check(|ctx| async move {
        let low = event(&ctx, false, false).await;
        let f = event(&ctx, true, false).await;
        assert_eq!(ctx.close_handle(low).await, TRUE);
        let (ok, out) = dup(&ctx, f, true, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!(ok, TRUE);
        assert_eq!(out, f, "the source entry is reused in place");
        assert_eq!(flags_of(&ctx, out).await, HANDLE_FLAG_INHERIT);
        // Still the same object, and only one handle.
        assert_eq!(ctx.set_event(out).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(f, 0).await, WAIT_OBJECT_0);
        let next = event(&ctx, false, false).await;
        assert_eq!(next, low, "the lower slot is still free");
        // Again without the inherit flag: it is cleared.
        let (ok, out) = dup(&ctx, f, false, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!((ok, out), (TRUE, f));
        assert_eq!(flags_of(&ctx, f).await, 0);
        0
    });
}

/// §7.3 (process.c :: test_Handles, test_DuplicateHandle): duplicating a pseudo
/// handle gives a real handle to the process or thread; DUPLICATE_CLOSE_SOURCE on a
/// pseudo source is harmless.
#[test]
fn duplicating_a_pseudo_handle_gives_a_real_handle() {
    check(|ctx| async move {
        let me = ctx.get_current_process();
        let (ok, hp) = dup(&ctx, me, false, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!(ok, TRUE);
        assert!(hp != me && hp.0 > 0 && hp.0 % 4 == 0, "real process handle, got {hp}");
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_process(hp, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        assert_eq!(ctx.wait_for_single_object(hp, 0).await, WAIT_TIMEOUT);
        // The pseudo source is untouched.
        assert_eq!(ctx.get_exit_code_process(me, &mut code).await, TRUE);

        let (ok, ht) = dup(&ctx, ctx.get_current_thread(), false, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!(ok, TRUE);
        assert!(ht.0 > 0 && ht.0 % 4 == 0 && ht != hp, "real thread handle, got {ht}");
        assert_eq!(ctx.get_exit_code_thread(ht, &mut code).await, TRUE);
        assert_eq!(code, STILL_ACTIVE);
        assert_eq!(ctx.close_handle(ht).await, TRUE);
        assert_eq!(ctx.close_handle(hp).await, TRUE);
        0
    });
}

/// A duplicated thread handle names the thread that made the copy, not whichever thread
/// later uses it (GetCurrentThread doc: "the pseudo handle ... DuplicateHandle ... to get
/// a real handle"): another thread waiting on it sees the first thread's exit.
#[test]
fn a_duplicated_thread_pseudo_handle_names_the_duplicating_thread() {
    check(|ctx| async move {
        let (ok, ht) = dup(&ctx, ctx.get_current_thread(), false, 0).await;
        assert_eq!(ok, TRUE);
        let th = ctx
            .create_thread(
                None,
                0,
                move |t: ThreadCtx| async move {
                    // `ht` is the main thread, which is alive and blocked below.
                    assert_eq!(t.wait_for_single_object(ht, 0).await, WAIT_TIMEOUT);
                    let mut code = 0;
                    assert_eq!(t.get_exit_code_thread(ht, &mut code).await, TRUE);
                    assert_eq!(code, STILL_ACTIVE);
                    7
                },
                0,
                None,
            )
            .await;
        assert_eq!(ctx.wait_for_single_object(th, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(th, &mut code).await, TRUE);
        assert_eq!(code, 7);
        0
    });
}

/// §7.4 (process.c :: test_DuplicateHandle): bInheritHandle sets HANDLE_FLAG_INHERIT
/// whatever the source had; DUPLICATE_SAME_ATTRIBUTES copies INHERIT|PROTECT_FROM_CLOSE
/// and ignores bInheritHandle; from a pseudo source it gives flags 0.
#[test]
fn duplicate_inherit_flag_and_same_attributes() {
    check(|ctx| async move {
        let plain = event(&ctx, false, false).await;
        let sa = SECURITY_ATTRIBUTES::INHERIT;
        let inheritable = ctx.create_event(Some(&sa), false, false, None).await;
        for src in [plain, inheritable] {
            let (ok, d) = dup(&ctx, src, true, 0).await;
            assert_eq!(ok, TRUE);
            assert_eq!(flags_of(&ctx, d).await, HANDLE_FLAG_INHERIT, "bInherit TRUE from {src}");
            let (ok, d) = dup(&ctx, src, false, 0).await;
            assert_eq!(ok, TRUE);
            assert_eq!(flags_of(&ctx, d).await, 0, "bInherit FALSE from {src}");
        }
        let both = HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE;
        assert_eq!(ctx.set_handle_information(plain, both, both).await, TRUE);
        let (ok, d) = dup(&ctx, plain, false, DUPLICATE_SAME_ATTRIBUTES).await;
        assert_eq!(ok, TRUE);
        assert_eq!(flags_of(&ctx, d).await, both, "SAME_ATTRIBUTES copies both flags");
        assert_eq!(ctx.set_handle_information(plain, both, HANDLE_FLAG_PROTECT_FROM_CLOSE).await, TRUE);
        let (ok, d) = dup(&ctx, plain, true, DUPLICATE_SAME_ATTRIBUTES).await;
        assert_eq!(ok, TRUE);
        assert_eq!(flags_of(&ctx, d).await, HANDLE_FLAG_PROTECT_FROM_CLOSE, "bInherit ignored");
        let (ok, d) = dup(&ctx, ctx.get_current_process(), true, DUPLICATE_SAME_ATTRIBUTES).await;
        assert_eq!(ok, TRUE);
        assert_eq!(flags_of(&ctx, d).await, 0, "pseudo source has no attributes");
        0
    });
}

/// §7.5 (process.c :: test_DuplicateHandle): DUPLICATE_CLOSE_SOURCE on a source that
/// is protected from close succeeds with a different value and the source stays open.
#[test]
fn duplicate_close_source_of_a_protected_handle_leaves_it_open() {
    check(|ctx| async move {
        let src = event(&ctx, true, false).await;
        assert_eq!(
            ctx.set_handle_information(src, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE).await,
            TRUE
        );
        let (ok, d) = dup(&ctx, src, false, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!(ok, TRUE);
        assert!(d != src && !d.is_null(), "a new value, got {d}");
        assert_eq!(flags_of(&ctx, src).await, HANDLE_FLAG_PROTECT_FROM_CLOSE, "source still open");
        assert_eq!(flags_of(&ctx, d).await, 0);
        assert_eq!(ctx.set_event(d).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(src, 0).await, WAIT_OBJECT_0, "same object");
        0
    });
}

/// DuplicateHandle doc (learn.microsoft.com/windows/win32/api/handleapi/
/// nf-handleapi-duplicatehandle): without DUPLICATE_SAME_ACCESS the copy has exactly the
/// requested access, so an operation needing a dropped right fails with
/// ERROR_ACCESS_DENIED (§§10.5, 12.2); with it `dwDesiredAccess` is ignored.
#[test]
fn duplicate_with_narrower_access_drops_rights() {
    check(|ctx| async move {
        let me = ctx.get_current_process();
        let e = event(&ctx, false, false).await;
        let mut sync_only = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, e, me, &mut sync_only, SYNCHRONIZE, false, 0).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_event(sync_only).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.reset_event(sync_only).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(ctx.set_event(e).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(sync_only, 0).await, WAIT_OBJECT_0, "SYNCHRONIZE kept");

        let mut modify_only = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, e, me, &mut modify_only, EVENT_MODIFY_STATE, false, 0).await, TRUE);
        assert_eq!(ctx.set_event(modify_only).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(modify_only, 0).await, WAIT_FAILED);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);

        // DUPLICATE_SAME_ACCESS ignores dwDesiredAccess (0 here) ...
        let mut same = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, modify_only, me, &mut same, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        assert_eq!(ctx.set_event(same).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(same, 0).await, WAIT_FAILED, "... and copies the narrow access");
        // ... while without it, 0 means no rights at all.
        let mut none = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, e, me, &mut none, 0, false, 0).await, TRUE);
        assert_eq!(ctx.set_event(none).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        0
    });
}

/// Wine probe: an invalid source gives FALSE, ERROR_INVALID_HANDLE and *target = NULL;
/// unknown option bits are ignored; a bad process handle is ERROR_INVALID_HANDLE.
#[test]
fn duplicate_handle_bad_arguments() {
    check(|ctx| async move {
        let me = ctx.get_current_process();
        let e = event(&ctx, false, false).await;
        let closed = event(&ctx, false, false).await;
        assert_eq!(ctx.close_handle(closed).await, TRUE);
        for bad in [HANDLE::NULL, HANDLE(0x1234), closed] {
            let mut out = HANDLE(0x5550);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.duplicate_handle(me, bad, me, &mut out, 0, false, DUPLICATE_SAME_ACCESS).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "source {bad}");
            assert_eq!(out, HANDLE::NULL);
        }
        // A thread handle is not a process handle.
        let th = ctx.get_current_thread();
        let (_, real_thread) = dup(&ctx, th, false, 0).await;
        for bad_process in [HANDLE::NULL, HANDLE(0x1234), real_thread] {
            let mut out = HANDLE(0x5550);
            ctx.set_last_error(SENTINEL);
            assert_eq!(
                ctx.duplicate_handle(bad_process, e, me, &mut out, 0, false, DUPLICATE_SAME_ACCESS).await,
                FALSE
            );
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "source process {bad_process}");
            assert_eq!(out, HANDLE::NULL);
            ctx.set_last_error(SENTINEL);
            assert_eq!(
                ctx.duplicate_handle(me, e, bad_process, &mut out, 0, false, DUPLICATE_SAME_ACCESS).await,
                FALSE
            );
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "target process {bad_process}");
            assert_eq!(out, HANDLE::NULL);
        }
        assert_eq!(flags_of(&ctx, e).await, 0, "without CLOSE_SOURCE the source stays open");
        // Unknown option bits are ignored.
        let (ok, d) = dup(&ctx, e, false, 0x80 | 0x100).await;
        assert_eq!(ok, TRUE);
        assert!(!d.is_null());
        0
    });
}

/// §7.9 (DuplicateHandle doc: DUPLICATE_CLOSE_SOURCE closes the source "regardless
/// of any error status returned"; Wine probe): a bad target process fails with
/// ERROR_INVALID_HANDLE and the source is closed anyway.
#[test]
fn duplicate_close_source_with_a_bad_target_process_still_closes_the_source() {
    check(|ctx| async move {
        let me = ctx.get_current_process();
        let e = event(&ctx, true, false).await;
        let keep = dup(&ctx, e, false, 0).await.1;
        let mut out = HANDLE(0x5550);
        ctx.set_last_error(SENTINEL);
        let ok = ctx
            .duplicate_handle(me, e, HANDLE(0x1234), &mut out, 0, false, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)
            .await;
        assert_eq!(ok, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(out, HANDLE::NULL);
        assert_eq!(ctx.close_handle(e).await, FALSE, "the source was closed");
        assert_eq!(ctx.set_event(keep).await, TRUE, "other handles to the object are unaffected");
        0
    });
}

/// §7.8 (ntpipe.c :: read_pipe_test "Close queued handle"; CloseHandle doc): closing
/// one handle leaves the others to the same object working; the object lives until the
/// last one closes.
#[test]
fn closing_one_handle_leaves_duplicates_working() {
    check(|ctx| async move {
        let e = event(&ctx, true, false).await;
        let d = dup(&ctx, e, false, 0).await.1;
        assert!(d != e);
        assert_eq!(ctx.close_handle(e).await, TRUE);
        assert_eq!(ctx.set_event(d).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(d, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.close_handle(d).await, TRUE);
        assert_eq!(ctx.close_handle(d).await, FALSE);
        0
    });
}

// ----- other processes (7.9) -----------------------------------------------------------

/// §7.9 (pipe.c :: test_exit_process_async): a child opens its parent with
/// PROCESS_DUP_HANDLE and moves a handle out of it with DUPLICATE_CLOSE_SOURCE; the
/// parent's copy is closed. Handle values are per process: the parent's value means
/// nothing in the child (ERROR_INVALID_HANDLE there).
#[test]
fn a_child_moves_a_handle_out_of_its_parent() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("parent.exe", |ctx| async move {
        let e = event(&ctx, true, false).await;
        let keep = dup(&ctx, e, false, 0).await.1;
        let cmd = format!("child.exe {} {}", ctx.get_current_process_id(), e.0);
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some(&cmd), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
        assert_eq!(code, 0, "the child's checks passed");
        assert_eq!(ctx.wait_for_single_object(keep, 0).await, WAIT_OBJECT_0, "the child set the event");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.close_handle(e).await, FALSE, "the parent's copy was closed by the move");
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
    sim.program("child.exe", |ctx| async move {
        let cmd = ctx.get_command_line();
        let mut args = cmd.split_whitespace().skip(1);
        let parent_pid: u32 = args.next().unwrap().parse().unwrap();
        let parent_handle = HANDLE(args.next().unwrap().parse().unwrap());
        // The parent's value is not a handle in this process.
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_event(parent_handle).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let parent = ctx.open_process(PROCESS_DUP_HANDLE, false, parent_pid).await;
        assert!(!parent.is_null());
        let mut h = HANDLE::NULL;
        let ok = ctx
            .duplicate_handle(
                parent,
                parent_handle,
                ctx.get_current_process(),
                &mut h,
                0,
                false,
                DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE,
            )
            .await;
        assert_eq!(ok, TRUE);
        assert_eq!(ctx.set_event(h).await, TRUE);
        0
    });
    let r = sim.run("parent.exe");
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert!(exit_codes.iter().all(|c| c.2 == 0), "exit codes {exit_codes:?}\n{}", r.trace_text());
    }
}

/// DuplicateHandle doc: the process handles need PROCESS_DUP_HANDLE; without it the call
/// fails with ERROR_ACCESS_DENIED.
#[test]
fn duplicate_handle_needs_process_dup_handle() {
    check(|ctx| async move {
        let e = event(&ctx, false, false).await;
        let weak = ctx.open_process(SYNCHRONIZE, false, ctx.get_current_process_id()).await;
        assert!(!weak.is_null());
        let mut out = HANDLE(0x5550);
        ctx.set_last_error(SENTINEL);
        assert_eq!(
            ctx.duplicate_handle(weak, e, ctx.get_current_process(), &mut out, 0, false, DUPLICATE_SAME_ACCESS).await,
            FALSE
        );
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        assert_eq!(out, HANDLE::NULL);
        0
    });
}

// ----- limits -------------------------------------------------------------------------

/// STYLE.md "A limit on everything": a process that holds `handles_max` handles ends the
/// run with Outcome::LimitExceeded (Handles) instead of growing without bound.
#[test]
fn the_handles_max_limit_ends_the_run() {
    let config = Config { handles_max: 8, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        for i in 0..100 {
            // Named, so the failing create must also leave no name behind (invariants).
            let _ = ctx.create_event(None, false, false, Some(&format!("limit {i}"))).await;
        }
        0
    });
    match &r.outcome {
        Outcome::LimitExceeded { limit, .. } => assert_eq!(*limit, LimitKind::Handles),
        other => panic!("expected a handle limit, got {other:?}\n{}", r.trace_text()),
    }
    assert!(r.steps < 100, "the run stopped at the limit, after {} steps", r.steps);
}

/// Closing handles makes room again: a program that stays under `handles_max` by closing
/// what it creates runs to completion (the limit counts open handles, not creations).
#[test]
fn the_handles_max_limit_counts_open_handles_only() {
    let config = Config { handles_max: 4, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        for _ in 0..50 {
            let h = ctx.create_event(None, false, false, None).await;
            assert!(!h.is_null());
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        0
    });
    assert_completed(&r);
}

/// §7.2: a same-process DUPLICATE_CLOSE_SOURCE reuses the source entry, so it needs no
/// new slot and succeeds even when the table is at `handles_max`.
#[test]
fn duplicate_close_source_in_place_needs_no_new_slot() {
    let config = Config { handles_max: 2, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        let a = event(&ctx, false, false).await;
        let b = event(&ctx, false, false).await;
        let (ok, out) = dup(&ctx, b, true, DUPLICATE_CLOSE_SOURCE).await;
        assert_eq!((ok, out), (TRUE, b));
        assert_eq!(ctx.close_handle(a).await, TRUE);
        0
    });
    assert_completed(&r);
}
