//! Mailslots: CreateMailslot, CreateFile on `\\.\mailslot\` names, ReadFile and WriteFile
//! on mailslot handles, GetMailslotInfo, SetMailslotInfo. Named after Wine's kernel32
//! mailslot.c suite (its one test, `mailslot_test`, runs on Windows; only assertions that
//! pass on Windows, never todo_wine ones). Fact numbers refer to docs/semantics.md §18;
//! [inferred] marks a behaviour that no Windows test checks directly.
//!
//! Blocking is observed as in pipe.rs: a `Sleep(1)` of the main thread returns only after
//! every other thread has finished or blocked, and a shared cell set right after a call
//! returns tells "blocked" from "returned".

use crate::support::*;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// The mailslot most tests use (mailslot.c's name); every test runs in its own simulation.
const NAME: &str = r"\\.\mailslot\wine_mailslot_test";
const RW: u32 = GENERIC_READ | GENERIC_WRITE;

/// CreateMailslot of `name`; asserts success.
async fn slot(ctx: &ThreadCtx, name: &str, max: u32, timeout: u32) -> HANDLE {
    let h = ctx.create_mailslot(Some(name), max, timeout, None).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateMailslot({name}) failed: {}", ctx.get_last_error());
    h
}

/// CreateFile of a writer with FILE_SHARE_READ, as the documentation asks; asserts success.
async fn writer(ctx: &ThreadCtx, name: &str, access: u32) -> HANDLE {
    let h = ctx.create_file(name, access, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateFile({name}) failed: {}", ctx.get_last_error());
    h
}

/// GetMailslotInfo that must succeed: (max size, next size, count, time-out).
async fn info(ctx: &ThreadCtx, h: HANDLE) -> (u32, u32, u32, u32) {
    let (mut max, mut next, mut count, mut timeout) = (SENTINEL, SENTINEL, SENTINEL, SENTINEL);
    let ok = ctx.get_mailslot_info(h, Some(&mut max), Some(&mut next), Some(&mut count), Some(&mut timeout)).await;
    assert_eq!(ok, TRUE, "GetMailslotInfo failed: {}", ctx.get_last_error());
    (max, next, count, timeout)
}

/// A ReadFile of `len` bytes that must fail: asserts FALSE and a zero count, returns the
/// error.
async fn read_error(ctx: &ThreadCtx, h: HANDLE, len: usize) -> Win32Error {
    let mut buf = vec![0u8; len];
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, FALSE, "ReadFile succeeded");
    assert_eq!(n, 0, "bytes read on failure");
    ctx.get_last_error()
}

/// A WriteFile that must fail: asserts FALSE and returns the error.
async fn write_error(ctx: &ThreadCtx, h: HANDLE, data: &[u8]) -> Win32Error {
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.write_file(h, data, Some(&mut n)).await, FALSE, "WriteFile succeeded");
    assert_eq!(n, 0, "bytes written on failure");
    ctx.get_last_error()
}

/// Lets every other thread run until it blocks or ends.
async fn settle(ctx: &ThreadCtx) {
    ctx.sleep(1).await;
}

// ----- names (18.1, 18.2) ----------------------------------------------------------------

/// §18.1 (mailslot.c :: mailslot_test): a name not of the form `\\.\mailslot\...` is
/// ERROR_INVALID_NAME; a NULL name ERROR_PATH_NOT_FOUND; nested pseudo-directories are
/// valid (CreateMailslot doc).
#[test]
fn names_must_be_local_mailslot_paths() {
    check(|ctx| async move {
        for bad in ["blah", r"\\.\pipe\x", r"\\.\mailslot\", r"\\server\mailslot\x", r"\\*\mailslot\x"] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.create_mailslot(Some(bad), 0, 0, None).await, INVALID_HANDLE_VALUE, "{bad}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_NAME, "{bad}");
        }
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.create_mailslot(None, 0, 0, None).await, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_PATH_NOT_FOUND);
        let h = slot(&ctx, r"\\.\mailslot\abc\def\ghi", 0, 0).await;
        assert_eq!(ctx.close_handle(h).await, TRUE);
        0
    });
}

/// §18.1: the namespace is case-insensitive and its own: a writer opens the slot under
/// another case, and an event and a named pipe may share the last component.
#[test]
fn the_namespace_is_case_insensitive_and_separate() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, r"\\.\MAILSLOT\Wine_Mailslot_Test", GENERIC_WRITE).await;
        write(&ctx, w, b"x").await;
        assert_eq!(read(&ctx, s, 4).await, b"x");
        let e = ctx.create_event(None, true, false, Some("wine_mailslot_test")).await;
        assert!(!e.is_null());
        ctx.set_last_error(SENTINEL);
        let p = ctx.create_named_pipe(r"\\.\pipe\wine_mailslot_test", PIPE_ACCESS_DUPLEX, 0, 1, 64, 64, 0, None).await;
        assert_ne!(p, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL), "no ERROR_ALREADY_EXISTS from another namespace");
        0
    });
}

/// §18.2 (mailslot.c :: mailslot_test "opened two mailslots"): a second CreateMailslot of
/// a name with a server fails instead of opening it, with ERROR_ALREADY_EXISTS [inferred:
/// the test checks only the handle]; once the last server handle closed, the name can be
/// created again (the test re-creates it after CloseHandle).
#[test]
fn a_name_has_one_server_until_it_closes() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.create_mailslot(Some(NAME), 0, 0, None).await, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_eq!(ctx.close_handle(s).await, TRUE);
        let again = slot(&ctx, NAME, 0, 1000).await;
        assert_eq!(info(&ctx, again).await.3, 1000, "a new mailslot, not the old one");
        0
    });
}

// ----- GetMailslotInfo (18.3, 18.10, 18.13) -----------------------------------------------

/// §18.3 (mailslot.c :: mailslot_test): after CreateMailslot(name, -1, -1) the maximum size
/// and the time-out read back as 0xFFFFFFFF, the next size MAILSLOT_NO_MESSAGE, the count
/// 0; after (0, 0) both read back 0. All outputs may be NULL.
#[test]
fn get_mailslot_info_reports_creation_parameters() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, u32::MAX, u32::MAX).await;
        assert_eq!(info(&ctx, s).await, (u32::MAX, MAILSLOT_NO_MESSAGE, 0, MAILSLOT_WAIT_FOREVER));
        assert_eq!(ctx.get_mailslot_info(s, None, None, None, None).await, TRUE);
        assert_eq!(ctx.close_handle(s).await, TRUE);
        let s = slot(&ctx, NAME, 0, 0).await;
        assert_eq!(info(&ctx, s).await, (0, MAILSLOT_NO_MESSAGE, 0, 0));
        0
    });
}

/// §18.3 (mailslot.c :: mailslot_test "getmailslotinfo succeeded"): GetMailslotInfo on
/// INVALID_HANDLE_VALUE (the current-process pseudo handle) fails, with
/// ERROR_INVALID_HANDLE (STATUS_OBJECT_TYPE_MISMATCH) [inferred]; so does a handle that is
/// no mailslot; the outputs are untouched.
#[test]
fn get_mailslot_info_on_other_handles_fails() {
    check(|ctx| async move {
        let e = ctx.create_event(None, true, false, None).await;
        for h in [INVALID_HANDLE_VALUE, e, HANDLE(0x1234)] {
            let mut max = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_mailslot_info(h, Some(&mut max), None, None, None).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            assert_eq!(max, SENTINEL);
        }
        // A pipe is a file, but not a mailslot: ERROR_INVALID_PARAMETER [inferred].
        let (r, _w) = pipe(&ctx, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_mailslot_info(r, None, None, None, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

/// §18.10 (mailslot.c :: mailslot_test, current Windows): the next size is the first
/// message's and the count every queued message's, zero-length ones included.
#[test]
fn get_mailslot_info_counts_queued_messages() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w1 = writer(&ctx, NAME, GENERIC_WRITE).await;
        let w2 = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w1, b"a").await;
        assert_eq!(info(&ctx, s).await, (0, 1, 1, 0));
        write(&ctx, w2, b"bc").await;
        assert_eq!(info(&ctx, s).await, (0, 1, 2, 0));
        write(&ctx, w2, b"").await;
        assert_eq!(info(&ctx, s).await, (0, 1, 3, 0));
        assert_eq!(read(&ctx, s, 16).await, b"a");
        assert_eq!(info(&ctx, s).await, (0, 2, 2, 0));
        assert_eq!(read(&ctx, s, 16).await, b"bc");
        assert_eq!(info(&ctx, s).await, (0, 0, 1, 0));
        0
    });
}

/// §18.13 (mailslot.c :: mailslot_test, FileMailslotQueryInformation on the writer; Windows
/// 8 and later): the client handle answers with the server's values.
#[test]
fn get_mailslot_info_answers_on_a_client_handle() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, RW).await;
        write(&ctx, w, b"ab").await;
        assert_eq!(info(&ctx, w).await, (0, 2, 1, 0));
        assert_eq!(info(&ctx, s).await, (0, 2, 1, 0));
        0
    });
}

// ----- reads and time-outs (18.4-18.6) -------------------------------------------------

/// §18.4 (mailslot.c :: mailslot_test): with time-out 0, ReadFile on an empty mailslot
/// fails at once with ERROR_SEM_TIMEOUT and a zero count, a zero-length read too,
/// whether or not a writer is open.
#[test]
fn an_empty_read_with_time_out_zero_fails_at_once() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        assert_eq!(read_error(&ctx, s, 0).await, ERROR_SEM_TIMEOUT);
        assert_eq!(read_error(&ctx, s, 16).await, ERROR_SEM_TIMEOUT);
        let _w = writer(&ctx, NAME, RW).await;
        assert_eq!(read_error(&ctx, s, 8).await, ERROR_SEM_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await, 0, "no virtual time passed");
        0
    });
}

/// §18.4 (mailslot.c :: mailslot_test): ReadFile on INVALID_HANDLE_VALUE fails with
/// ERROR_INVALID_HANDLE and sets the count to 0.
#[test]
fn a_read_on_an_invalid_handle_fails() {
    check(|ctx| async move {
        let _s = slot(&ctx, NAME, 0, 0).await;
        assert_eq!(read_error(&ctx, INVALID_HANDLE_VALUE, 0).await, ERROR_INVALID_HANDLE);
        0
    });
}

/// §18.5 (mailslot.c :: mailslot_test "timeout too short"): CreateMailslot(name, 0, 1000):
/// a read on the empty mailslot waits 1000 ms of virtual time and fails with
/// ERROR_SEM_TIMEOUT.
#[test]
fn a_read_times_out_after_the_read_time_out() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 1000).await;
        let start = ctx.get_tick_count().await;
        assert_eq!(read_error(&ctx, s, 16).await, ERROR_SEM_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await - start, 1000);
        0
    });
}

/// §18.5 [inferred]: a message written before the time-out completes the waiting read
/// with it, at that moment.
#[test]
fn a_message_before_the_time_out_completes_the_read() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 1000).await;
        let t = spawn(&ctx, |ctx| async move {
            ctx.sleep(300).await;
            let w = writer(&ctx, NAME, GENERIC_WRITE).await;
            write(&ctx, w, b"late").await;
            0
        })
        .await;
        assert_eq!(read(&ctx, s, 16).await, b"late");
        assert_eq!(ctx.get_tick_count().await, 300);
        assert_eq!(join(&ctx, t).await, 0);
        0
    });
}

/// §18.6 (CreateMailslot doc, MAILSLOT_WAIT_FOREVER): the read waits until a message
/// comes, however long.
#[test]
fn wait_forever_blocks_until_a_message() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        let got = Rc::new(Cell::new(false));
        let g = got.clone();
        let t = spawn(&ctx, move |ctx| async move {
            let data = read(&ctx, s, 16).await;
            g.set(true);
            u32::from(data != b"hello")
        })
        .await;
        settle(&ctx).await;
        ctx.sleep(100_000).await;
        assert!(!got.get(), "the read still waits");
        write(&ctx, w, b"hello").await;
        assert_eq!(join(&ctx, t).await, 0);
        assert!(got.get());
        0
    });
}

/// §18.6: a reader waiting forever on an empty mailslot that nobody writes to is a
/// deadlock; the report names the mailslot and the writer handles that could end it.
#[test]
fn a_reader_waiting_forever_shows_in_the_deadlock_report() {
    let r = run_main(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let _w = writer(&ctx, NAME, GENERIC_WRITE).await;
        let mut buf = [0u8; 8];
        let _ = ctx.read_file(s, &mut buf, None).await;
        1
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock:\n{}", r.summary()));
    let text = d.render();
    assert!(text.contains(r"waits for a message in mailslot \\.\mailslot\wine_mailslot_test (0 queued)"), "{text}");
    assert!(text.contains("writer handles open:"), "{text}");
    assert!(text.contains("mailslot client"), "{text}");
}

// ----- direction, clients (18.7, 18.8) ----------------------------------------------------

/// §18.7 (mailslot.c :: mailslot_test): WriteFile on the server handle fails with
/// ERROR_ACCESS_DENIED; ReadFile on a client fails with ERROR_INVALID_PARAMETER when the
/// client has read access, ERROR_ACCESS_DENIED when it has not [inferred: the test accepts
/// either]; nothing is queued or consumed.
#[test]
fn the_server_only_reads_and_clients_only_write() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        assert_eq!(write_error(&ctx, s, b"12345678").await, ERROR_ACCESS_DENIED);
        let rw = writer(&ctx, NAME, RW).await;
        let wo = writer(&ctx, NAME, GENERIC_WRITE).await;
        assert_eq!(read_error(&ctx, rw, 8).await, ERROR_INVALID_PARAMETER);
        assert_eq!(read_error(&ctx, wo, 8).await, ERROR_ACCESS_DENIED);
        write(&ctx, rw, b"12345678").await;
        assert_eq!(read_error(&ctx, rw, 8).await, ERROR_INVALID_PARAMETER);
        assert_eq!(info(&ctx, s).await, (0, 8, 1, 0));
        0
    });
}

/// §18.8 (KB Q131493; mailslot.c :: mailslot_test "nonexistent mailslot"): opening a name
/// with no server fails with ERROR_FILE_NOT_FOUND.
#[test]
fn opening_a_missing_mailslot_fails() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let h = ctx.create_file(NAME, RW, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        assert_eq!(h, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        0
    });
}

/// §18.8 (mailslot.c :: mailslot_test, the Vista branches): any share mode is accepted,
/// several writers may be open at once, and a client opened for GENERIC_READ only
/// succeeds (it still cannot read).
#[test]
fn clients_open_with_any_share_mode_and_access() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let a = ctx.create_file(NAME, GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        assert_ne!(a, INVALID_HANDLE_VALUE);
        let b = writer(&ctx, NAME, GENERIC_WRITE).await;
        let c = ctx
            .create_file(NAME, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, None, OPEN_EXISTING, 0, HANDLE::NULL)
            .await;
        assert_ne!(c, INVALID_HANDLE_VALUE);
        let r = writer(&ctx, NAME, GENERIC_READ).await;
        assert_eq!(write_error(&ctx, r, b"x").await, ERROR_ACCESS_DENIED);
        for (h, m) in [(a, b"a"), (b, b"b"), (c, b"c")] {
            write(&ctx, h, m).await;
        }
        for m in [b"a", b"b", b"c"] {
            assert_eq!(read(&ctx, s, 4).await, m);
        }
        0
    });
}

/// §18.8 [inferred]: every valid disposition opens the existing mailslot and none creates
/// one; an invalid disposition is ERROR_INVALID_PARAMETER; a bad local name is
/// ERROR_INVALID_NAME.
#[test]
fn create_file_dispositions_and_bad_names() {
    check(|ctx| async move {
        let open = |name: &'static str, disposition: u32| {
            let ctx = ctx.clone();
            async move {
                ctx.set_last_error(SENTINEL);
                ctx.create_file(name, GENERIC_WRITE, FILE_SHARE_READ, None, disposition, 0, HANDLE::NULL).await
            }
        };
        assert_eq!(open(NAME, CREATE_ALWAYS).await, INVALID_HANDLE_VALUE, "no mailslot is created");
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        let s = slot(&ctx, NAME, 0, 0).await;
        for d in [CREATE_NEW, CREATE_ALWAYS, OPEN_EXISTING, OPEN_ALWAYS, TRUNCATE_EXISTING] {
            let w = open(NAME, d).await;
            assert_ne!(w, INVALID_HANDLE_VALUE, "disposition {d}");
            write(&ctx, w, &[d as u8]).await;
            assert_eq!(read(&ctx, s, 4).await, [d as u8]);
        }
        assert_eq!(open(NAME, 0).await, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        for bad in [r"\\.\mailslot\", r"\\.\mailslot\wine_mailslot_test\", r"\\.\mailslot\a\\b"] {
            assert_eq!(open(bad, OPEN_EXISTING).await, INVALID_HANDLE_VALUE, "{bad}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_NAME, "{bad}");
        }
        0
    });
}

// ----- messages (18.9, 18.11, 18.12, 18.15) ------------------------------------------------

/// §18.9 (mailslot.c :: mailslot_test): each write is one message, returned whole by one
/// read; messages come out in the order written, from any writer; the write returns at once
/// with its full count.
#[test]
fn messages_keep_their_boundaries_and_order() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w1 = writer(&ctx, NAME, GENERIC_WRITE).await;
        let w2 = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w1, b"a").await;
        write(&ctx, w2, b"bc").await;
        write(&ctx, w1, b"def").await;
        assert_eq!(read(&ctx, s, 16).await, b"a");
        assert_eq!(read(&ctx, s, 16).await, b"bc");
        assert_eq!(read(&ctx, s, 16).await, b"def");
        assert_eq!(read_error(&ctx, s, 16).await, ERROR_SEM_TIMEOUT);
        0
    });
}

/// §18.11 (mailslot.c :: mailslot_test, current Windows): a zero-length write queues a
/// real message; reading it succeeds with 0 bytes, and then the mailslot is empty.
#[test]
fn zero_length_messages_are_real() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"").await;
        assert_eq!(info(&ctx, s).await, (0, 0, 1, 0));
        let mut buf = [0u8; 16];
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(s, &mut buf, Some(&mut n)).await, TRUE);
        assert_eq!(n, 0);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL), "success leaves the last error alone");
        assert_eq!(info(&ctx, s).await, (0, MAILSLOT_NO_MESSAGE, 0, 0));
        assert_eq!(read_error(&ctx, s, 16).await, ERROR_SEM_TIMEOUT);
        0
    });
}

/// §18.12 (mailslot.c :: mailslot_test "partial read": STATUS_BUFFER_TOO_SMALL): a buffer
/// smaller than the next message fails with ERROR_INSUFFICIENT_BUFFER and consumes
/// nothing; a large enough buffer then gets the whole message.
#[test]
fn a_short_buffer_fails_and_keeps_the_message() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"ab").await;
        assert_eq!(read_error(&ctx, s, 1).await, ERROR_INSUFFICIENT_BUFFER);
        assert_eq!(read_error(&ctx, s, 0).await, ERROR_INSUFFICIENT_BUFFER);
        assert_eq!(info(&ctx, s).await, (0, 2, 1, 0));
        assert_eq!(read(&ctx, s, 2).await, b"ab");
        0
    });
}

/// §18.15 [inferred]: a message longer than nMaxMessageSize fails with
/// ERROR_INVALID_PARAMETER and queues nothing; one of exactly that size is accepted;
/// nMaxMessageSize 0 accepts any size.
#[test]
fn a_message_over_the_maximum_size_fails() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 4, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        assert_eq!(write_error(&ctx, w, b"12345").await, ERROR_INVALID_PARAMETER);
        assert_eq!(info(&ctx, s).await, (4, MAILSLOT_NO_MESSAGE, 0, 0));
        write(&ctx, w, b"1234").await;
        assert_eq!(read(&ctx, s, 8).await, b"1234");
        let any = slot(&ctx, r"\\.\mailslot\any", 0, 0).await;
        let w = writer(&ctx, r"\\.\mailslot\any", GENERIC_WRITE).await;
        write(&ctx, w, &[7u8; 70_000]).await;
        assert_eq!(read(&ctx, any, 70_000).await.len(), 70_000);
        0
    });
}

// ----- SetMailslotInfo (18.14) --------------------------------------------------------------

/// §18.14 (SetMailslotInfo doc): the new time-out applies to later reads and is what
/// GetMailslotInfo reports; a read already waiting keeps its own deadline [inferred].
#[test]
fn set_mailslot_info_changes_later_reads() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_mailslot_info(s, 500).await, TRUE);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL));
        assert_eq!(info(&ctx, s).await.3, 500);
        let t = spawn(&ctx, move |ctx| async move {
            let start = ctx.get_tick_count().await;
            let e = read_error(&ctx, s, 4).await;
            u32::from(e != ERROR_SEM_TIMEOUT || ctx.get_tick_count().await - start != 500)
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.set_mailslot_info(s, 0).await, TRUE);
        assert_eq!(join(&ctx, t).await, 0, "the waiting read kept 500 ms");
        assert_eq!(read_error(&ctx, s, 4).await, ERROR_SEM_TIMEOUT);
        0
    });
}

/// §18.14 [inferred]: SetMailslotInfo through a client fails with
/// ERROR_INVALID_PARAMETER, on a handle that is no mailslot with ERROR_INVALID_HANDLE.
#[test]
fn set_mailslot_info_needs_the_server_handle() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, RW).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_mailslot_info(w, 10).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let e = ctx.create_event(None, true, false, None).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_mailslot_info(e, 10).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(info(&ctx, s).await.3, 0, "unchanged");
        0
    });
}

// ----- lifetime, handles (18.16) ----------------------------------------------------------

/// §18.16 (CreateMailslot doc, Remarks; [inferred] for the errors): when the last server
/// handle closes, the name is free (CreateFile: ERROR_FILE_NOT_FOUND), queued messages go,
/// and a writer's WriteFile fails with ERROR_HANDLE_EOF (STATUS_FILE_FORCED_CLOSED); its
/// handle still closes normally.
#[test]
fn writers_fail_once_the_server_is_gone() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"lost").await;
        assert_eq!(ctx.close_handle(s).await, TRUE);
        assert_eq!(write_error(&ctx, w, b"x").await, ERROR_HANDLE_EOF);
        ctx.set_last_error(SENTINEL);
        let h = ctx.create_file(NAME, GENERIC_WRITE, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        assert_eq!(h, INVALID_HANDLE_VALUE);
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        // A new mailslot of the same name is a different one: the old writer stays cut off.
        let s2 = slot(&ctx, NAME, 0, 0).await;
        assert_eq!(write_error(&ctx, w, b"x").await, ERROR_HANDLE_EOF);
        assert_eq!(info(&ctx, s2).await, (0, MAILSLOT_NO_MESSAGE, 0, 0));
        assert_eq!(ctx.close_handle(w).await, TRUE);
        0
    });
}

/// §18.16 (CreateMailslot doc: "until the last handle ... including inherited or
/// duplicated handles"): a duplicated server handle keeps the mailslot; a duplicated
/// client handle writes to it like the original.
#[test]
fn duplicated_handles_keep_and_reach_the_mailslot() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let me = ctx.get_current_process();
        let mut s2 = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, s, me, &mut s2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        assert_eq!(ctx.close_handle(s).await, TRUE);
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        let mut w2 = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, w, me, &mut w2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        assert_eq!(ctx.close_handle(w).await, TRUE);
        write(&ctx, w2, b"dup").await;
        assert_eq!(read(&ctx, s2, 8).await, b"dup");
        0
    });
}

/// §18.16: a writer handle inherited by a child process writes to the parent's mailslot.
#[test]
fn an_inherited_writer_handle_writes() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("parent.exe", |ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let inh = SECURITY_ATTRIBUTES::INHERIT;
        let w = ctx.create_file(NAME, GENERIC_WRITE, FILE_SHARE_READ, Some(&inh), OPEN_EXISTING, 0, HANDLE::NULL).await;
        assert_ne!(w, INVALID_HANDLE_VALUE);
        let cmd = format!("child.exe {}", w.0);
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some(&cmd), None, None, true, 0, &si, &mut pi).await, TRUE);
        assert_eq!(read(&ctx, s, 16).await, b"from child");
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        0
    });
    sim.program("child.exe", |ctx| async move {
        let cmd = ctx.get_command_line();
        let h = HANDLE(cmd.split_whitespace().nth(1).unwrap().parse().unwrap());
        write(&ctx, h, b"from child").await;
        0
    });
    let r = sim.run("parent.exe");
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert!(exit_codes.iter().all(|c| c.2 == 0), "exit codes {exit_codes:?}\n{}", r.trace_text());
    }
}

/// §18.16 [inferred]: a read waiting on the mailslot when another thread closes its last
/// server handle fails with ERROR_HANDLE_EOF (STATUS_FILE_FORCED_CLOSED).
#[test]
fn closing_the_server_ends_a_waiting_read() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let t = spawn(&ctx, move |ctx| async move {
            let e = read_error(&ctx, s, 8).await;
            u32::from(e != ERROR_HANDLE_EOF)
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.close_handle(s).await, TRUE);
        assert_eq!(join(&ctx, t).await, 0);
        0
    });
}

// ----- concurrency (18.17) -------------------------------------------------------------------

/// §18.17 [inferred]: reads waiting on one mailslot take messages in the order they began
/// to wait, one message each; a waiting read whose buffer is too small fails with
/// ERROR_INSUFFICIENT_BUFFER and leaves the message to the next read.
#[test]
fn waiting_reads_take_messages_in_order() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let small = spawn(&ctx, move |ctx| async move {
            let e = read_error(&ctx, s, 1).await;
            u32::from(e != ERROR_INSUFFICIENT_BUFFER)
        })
        .await;
        settle(&ctx).await;
        let big = spawn(&ctx, move |ctx| async move { u32::from(read(&ctx, s, 8).await != b"two") }).await;
        settle(&ctx).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"two").await;
        assert_eq!(join(&ctx, small).await, 0);
        assert_eq!(join(&ctx, big).await, 0);
        assert_eq!(info(&ctx, s).await.2, 0);
        0
    });
}

// ----- what is not modelled, limits, other calls (18.18-18.22) ----------------------------

/// §18.18 (mailslot.c :: mailslot_test, NtReadFile on an asynchronous mailslot handle):
/// the CreateMailslot handle is asynchronous: an OVERLAPPED read on the empty mailslot
/// waiting forever → FALSE, ERROR_IO_PENDING, and the handle is nonsignalled; a client's
/// write completes it (the handle signalled, 4 bytes, the data in the buffer).
#[test]
fn an_overlapped_read_pends_until_a_write() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(16);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(s, &buf, Some(&mut n), &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_TIMEOUT);
        let w = writer(&ctx, NAME, RW).await;
        write(&ctx, w, b"data").await;
        assert_eq!(ctx.wait_for_single_object(s, 1000).await, WAIT_OBJECT_0);
        assert!(HasOverlappedIoCompleted(&ov));
        let mut got = 0;
        assert_eq!(ctx.get_overlapped_result(s, &ov, &mut got, false).await, TRUE);
        assert_eq!(got, 4);
        assert_eq!(buf.head(4), b"data");
        0
    });
}

/// §18.18 [inferred]: an OVERLAPPED read that finds a message completes at once (TRUE,
/// its event set); one that waits ends with the read time-out in its OVERLAPPED
/// (GetOverlappedResult: FALSE, ERROR_SEM_TIMEOUT, 100 ms later); an OVERLAPPED write on
/// a client completes at once.
#[test]
fn overlapped_reads_and_writes_complete_through_the_overlapped() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 100).await;
        let w = writer(&ctx, NAME, RW).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let wov = Overlapped::new(ev);
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file_overlapped(w, b"abc", Some(&mut n), &wov).await, TRUE);
        assert_eq!(n, 3);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.reset_event(ev).await, TRUE);
        let rov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        assert_eq!(ctx.read_file_overlapped(s, &buf, Some(&mut n), &rov).await, TRUE);
        assert_eq!((n, buf.head(3)), (3, b"abc".to_vec()));
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        let late = Overlapped::new(ev);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(s, &buf, None, &late).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        let start = ctx.get_tick_count().await;
        let mut got = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_overlapped_result(s, &late, &mut got, true).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_SEM_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await - start, 100);
        0
    });
}

/// §18.18 [inferred from §16.39]: ReadFileEx on a mailslot returns TRUE once the read is
/// under way; its completion routine runs in an alertable wait with error 0 and the bytes
/// read.
#[test]
fn read_file_ex_completes_through_its_routine() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let done = Rc::new(Cell::new(None));
        let d = done.clone();
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(8);
        let ok = ctx.read_file_ex(s, &buf, &ov, move |_ctx, e, n, _ov| async move { d.set(Some((e, n))) }).await;
        assert_eq!(ok, TRUE);
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"ex").await;
        assert_eq!(done.get(), None, "the routine runs only in an alertable wait");
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(done.get(), Some((0, 2)));
        assert_eq!(buf.head(2), b"ex");
        0
    });
}

/// §18.18 (CancelIoEx doc): CancelIoEx on the mailslot ends a pending OVERLAPPED read
/// with ERROR_OPERATION_ABORTED in its OVERLAPPED; with nothing pending it fails with
/// ERROR_NOT_FOUND.
#[test]
fn cancel_io_ex_ends_a_pending_overlapped_read() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(8);
        assert_eq!(ctx.read_file_overlapped(s, &buf, None, &ov).await, FALSE);
        assert_eq!(ctx.cancel_io_ex(s, Some(&ov)).await, TRUE);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_overlapped_result(s, &ov, &mut n, true).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_OPERATION_ABORTED);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_io_ex(s, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_FOUND);
        0
    });
}

/// §18.19 (and §15): unread mailslot bytes count toward `pipe_bytes_max`; a write beyond
/// it fails with the limit's error (LimitAction::FailCall: ERROR_NOT_ENOUGH_MEMORY) and
/// queues nothing; a message longer than `io_bytes_max` fails with
/// ERROR_NO_SYSTEM_RESOURCES.
#[test]
fn mailslot_bytes_count_toward_the_pipe_bytes_limit() {
    let mut config = Config::round_robin();
    config.pipe_bytes_max = 10;
    config.limit_action = LimitAction::FailCall;
    let r = run_with(config, |ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, w, b"12345678").await;
        assert_eq!(write_error(&ctx, w, b"abc").await, ERROR_NOT_ENOUGH_MEMORY);
        assert_eq!(info(&ctx, s).await.2, 1);
        assert_eq!(read(&ctx, s, 8).await, b"12345678");
        write(&ctx, w, b"abc").await;
        0
    });
    assert_completed(&r);
    // io_bytes_max bounds one message like any I/O.
    let mut config = Config::round_robin();
    config.io_bytes_max = 4;
    config.limit_action = LimitAction::FailCall;
    let r = run_with(config, |ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        assert_eq!(write_error(&ctx, w, b"12345").await, ERROR_NO_SYSTEM_RESOURCES);
        write(&ctx, w, b"1234").await;
        assert_eq!(info(&ctx, s).await.2, 1);
        0
    });
    assert_completed(&r);
}

/// §18.20: a mailslot handle can be waited on; with no asynchronous read in progress it is
/// signalled.
#[test]
fn mailslot_handles_are_signalled() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_single_object(w, 0).await, WAIT_OBJECT_0);
        0
    });
}

/// §18.21: pipe calls on mailslot handles fail with ERROR_INVALID_HANDLE [winsim: Windows'
/// code is not verified]; CancelIo on one succeeds (§18.18).
#[test]
fn pipe_calls_on_mailslot_handles_fail() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, 0).await;
        let w = writer(&ctx, NAME, GENERIC_WRITE).await;
        for h in [s, w] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.flush_file_buffers(h).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.disconnect_named_pipe(h).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            assert_eq!(ctx.cancel_io(h).await, TRUE);
        }
        0
    });
}

/// §18.22 (CancelSynchronousIo doc): a read waiting on a mailslot is synchronous I/O:
/// CancelSynchronousIo ends it with ERROR_OPERATION_ABORTED.
#[test]
fn cancel_synchronous_io_ends_a_waiting_read() {
    check(|ctx| async move {
        let s = slot(&ctx, NAME, 0, MAILSLOT_WAIT_FOREVER).await;
        let t = spawn(&ctx, move |ctx| async move {
            let e = read_error(&ctx, s, 8).await;
            u32::from(e != ERROR_OPERATION_ABORTED)
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.cancel_synchronous_io(t).await, TRUE);
        assert_eq!(join(&ctx, t).await, 0);
        0
    });
}
