//! Anonymous pipes: CreatePipe, ReadFile, WriteFile, PeekNamedPipe, GetNamedPipeInfo,
//! FlushFileBuffers. Named after Wine's kernel32 pipe.c suite. Fact numbers refer to
//! docs/semantics.md; "Wine probe" to the results of the
//! Wine 8.0 probes listed in the brief; "docs/semantics.md §1.A" to shared/design/TEACHING-CASES.md.
//!
//! Blocking is observed with `settle`: a `Sleep(1)` of the main thread returns only after
//! virtual time advanced, and the clock advances only when no thread can run, so after
//! it every other thread has either finished or is blocked in a call. A shared
//! `Rc<Cell<bool>>` set right after a call returns tells "blocked" from "returned".

use crate::support::*;
use sim_core::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

// ----- helpers -------------------------------------------------------------------------

/// Lets every other thread run until it blocks or ends (see the module comment).
async fn settle(ctx: &ThreadCtx) {
    ctx.sleep(1).await;
}

/// Total unread bytes of a pipe, as PeekNamedPipe reports them through `r`.
async fn peek_avail(ctx: &ThreadCtx, r: HANDLE) -> u32 {
    let mut avail = SENTINEL;
    assert_eq!(ctx.peek_named_pipe(r, None, None, Some(&mut avail), None).await, TRUE);
    avail
}

/// Runs "parent.exe" with a "child.exe" it may start, round-robin; asserts that the run
/// completed and that the parent exited with 0.
fn check_parent_child<P, PF, C, CF>(parent: P, child: C)
where
    P: Fn(ThreadCtx) -> PF + 'static,
    PF: Future<Output = u32> + 'static,
    C: Fn(ThreadCtx) -> CF + 'static,
    CF: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(Config::round_robin());
    sim.program("parent.exe", parent);
    sim.program("child.exe", child);
    let r = sim.run("parent.exe");
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert_eq!(exit_codes.last().map(|e| (e.1.as_str(), e.2)), Some(("parent.exe", 0)), "{}", r.trace_text());
    }
}

/// Starts child.exe inheriting handles, with `stdout` as its standard output.
async fn start_child(ctx: &ThreadCtx, stdout: HANDLE) -> PROCESS_INFORMATION {
    let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdOutput: stdout, ..STARTUPINFO::default() };
    let mut pi = PROCESS_INFORMATION::default();
    assert_eq!(ctx.create_process(None, Some("child.exe"), None, None, true, 0, &si, &mut pi).await, TRUE);
    pi
}

// ----- CreatePipe and GetNamedPipeInfo -------------------------------------------------

/// §1.1 (pipe.c :: test_CreatePipe): nSize 0 means 4096 both ways; the read end is
/// the server end (flags PIPE_SERVER_END), the write end the client end (flags 0); one
/// instance.
#[test]
fn size_0_means_4096_and_the_read_end_is_the_server_end() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        for (h, want_flags) in [(r, PIPE_SERVER_END), (w, 0)] {
            let (mut flags, mut out, mut inb, mut max) = (SENTINEL, SENTINEL, SENTINEL, SENTINEL);
            ctx.set_last_error(SENTINEL);
            let ok = ctx.get_named_pipe_info(h, Some(&mut flags), Some(&mut out), Some(&mut inb), Some(&mut max)).await;
            assert_eq!(ok, TRUE);
            assert_eq!((flags, out, inb, max), (want_flags, 4096, 4096, 1));
            assert_eq!(ctx.get_last_error(), SENTINEL, "success leaves the last error alone");
        }
        // Every output is optional.
        assert_eq!(ctx.get_named_pipe_info(r, None, None, None, None).await, TRUE);
        0
    });
}

/// §1.2 (pipe.c :: test_CreatePipe): nSize 1 is stored as given, not rounded up;
/// and it really is the quota: a 1-byte write fits, a second one blocks (§2.4).
#[test]
fn size_1_is_kept_as_1_and_is_the_quota() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 1).await;
        let (mut out, mut inb) = (SENTINEL, SENTINEL);
        assert_eq!(ctx.get_named_pipe_info(w, None, Some(&mut out), Some(&mut inb), None).await, TRUE);
        assert_eq!((out, inb), (1, 1));
        write(&ctx, w, b"a").await;
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let t = spawn(&ctx, move |t| async move {
            write(&t, w, b"b").await;
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!done.get(), "a second byte does not fit a quota of 1");
        assert_eq!(read(&ctx, r, 1).await, b"a");
        join(&ctx, t).await;
        assert!(done.get());
        assert_eq!(read(&ctx, r, 1).await, b"b");
        0
    });
}

// ----- access rights -------------------------------------------------------------------

/// §1.3 (pipe.c :: test_CreatePipe) and Wine probe: WriteFile through the read end,
/// ReadFile through the write end and PeekNamedPipe through the write end fail with
/// ERROR_ACCESS_DENIED and set the count to 0; the data in the pipe is untouched.
#[test]
fn each_end_has_only_its_own_rights() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"data").await;

        let mut n = 123;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(r, b"xyz", Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_ACCESS_DENIED, 0));

        let mut buf = [0u8; 8];
        let mut n = 123;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(w, &mut buf, Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_ACCESS_DENIED, 0));

        let mut avail = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.peek_named_pipe(w, Some(&mut buf), None, Some(&mut avail), None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);

        // The refused calls changed nothing.
        assert_eq!(peek_avail(&ctx, r).await, 4);
        assert_eq!(read(&ctx, r, 8).await, b"data");
        0
    });
}

/// §1.3 plus DuplicateHandle's dwDesiredAccess (DuplicateHandle doc): a copy of the
/// read end with only FILE_READ_ATTRIBUTES may query the pipe but not read or peek it;
/// a DUPLICATE_SAME_ACCESS copy may.
#[test]
fn a_duplicate_has_the_access_it_was_given() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"abc").await;
        let me = ctx.get_current_process();
        let mut weak = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, r, me, &mut weak, FILE_READ_ATTRIBUTES, false, 0).await, TRUE);
        let mut flags = SENTINEL;
        assert_eq!(ctx.get_named_pipe_info(weak, Some(&mut flags), None, None, None).await, TRUE);
        assert_eq!(flags, PIPE_SERVER_END);
        let mut buf = [0u8; 4];
        let mut n = 9;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(weak, &mut buf, Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_ACCESS_DENIED, 0));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.peek_named_pipe(weak, None, None, None, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);

        let mut same = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, r, me, &mut same, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        assert_eq!(read(&ctx, same, 4).await, b"abc");
        0
    });
}

// ----- the write quota -----------------------------------------------------------------

/// §§1.6 and 2.2 (pipe.c :: test_CreatePipe): with nSize 32768+24, a 32768-byte
/// write with no reader anywhere completes at once and in full; after the writer closes,
/// one ReadFile returns all of it and the next fails with ERROR_BROKEN_PIPE (§3.4).
#[test]
fn a_write_that_fits_completes_at_once() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 32768 + 24).await;
        let data: Vec<u8> = (0..32768u32).map(|i| (i % 251) as u8).collect();
        write(&ctx, w, &data).await;
        assert_eq!(ctx.close_handle(w).await, TRUE);
        assert_eq!(read(&ctx, r, 32768).await, data);
        let mut buf = [0u8; 8];
        let mut n = 5;
        assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_BROKEN_PIPE, 0));
        0
    });
}

/// §§2.3, 2.4 and 4.7 (pipe.c :: test_blocking_rw), quota 5000: 3000 bytes queued,
/// then a 5000-byte write blocks, yet its bytes are already readable (avail 8000). A
/// 1-byte write from a third thread through the same synchronous handle waits behind it
/// (docs/semantics.md §1.A). Reading 3000 completes the 5000-byte write (running total 5000),
/// after which the 1-byte write is queued and pends (5001 > 5000); one more byte read
/// completes it.
#[test]
fn completion_rule_with_running_totals_quota_5000() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 5000).await;
        write(&ctx, w, &[1u8; 3000]).await;
        let big_done = Rc::new(Cell::new(false));
        let small_done = Rc::new(Cell::new(false));
        let d = big_done.clone();
        let big = spawn(&ctx, move |t| async move {
            write(&t, w, &[2u8; 5000]).await;
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!big_done.get(), "5000 more bytes do not fit beside 3000 in a quota of 5000");
        assert_eq!(peek_avail(&ctx, r).await, 8000, "the pending write's bytes are readable");
        let d = small_done.clone();
        let small = spawn(&ctx, move |t| async move {
            write(&t, w, &[3u8]).await;
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!small_done.get());

        assert_eq!(read(&ctx, r, 3000).await, vec![1u8; 3000]);
        join(&ctx, big).await;
        assert!(big_done.get(), "unread 5000 <= quota: the 5000-byte write completes");
        settle(&ctx).await;
        assert!(!small_done.get(), "unread up to the 1-byte write is 5001 > 5000");
        assert_eq!(peek_avail(&ctx, r).await, 5001);

        assert_eq!(read(&ctx, r, 1).await, vec![2u8]);
        join(&ctx, small).await;
        assert!(small_done.get());
        let mut rest = read(&ctx, r, 6000).await;
        assert_eq!(rest.len(), 5000);
        assert_eq!(rest.pop(), Some(3));
        assert!(rest.iter().all(|&b| b == 2));
        0
    });
}

/// §2.5 (pipe.c :: test_blocking_rw): a write of quota+2000 bytes into an empty pipe
/// pends; after 1999 bytes are read it still pends (quota+1 unread); after one more it
/// completes with its full length, though quota bytes of it are still unread.
#[test]
fn a_write_larger_than_the_quota_returns_when_the_unread_rest_fits() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 100).await;
        let written = Rc::new(Cell::new(None));
        let wr = written.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut n = SENTINEL;
            assert_eq!(t.write_file(w, &[7u8; 2100], Some(&mut n)).await, TRUE);
            wr.set(Some(n));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(written.get(), None);
        assert_eq!(read(&ctx, r, 1999).await.len(), 1999);
        settle(&ctx).await;
        assert_eq!(written.get(), None, "101 unread bytes do not fit a quota of 100");
        assert_eq!(peek_avail(&ctx, r).await, 101);
        assert_eq!(read(&ctx, r, 1).await.len(), 1);
        join(&ctx, t).await;
        assert_eq!(written.get(), Some(2100));
        assert_eq!(read(&ctx, r, 1000).await.len(), 100);
        0
    });
}

/// §§2.3-2.5 (pipe.c :: test_blocking_rw): nSize 4 and a 10-byte write: it blocks,
/// all 10 bytes are readable at once, and it returns right after the 6th one-byte read
/// (4 unread bytes fit the quota), not when the data has been fully read.
#[test]
fn quota_4_and_a_10_byte_write_returns_after_the_6th_one_byte_read() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 4).await;
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let t = spawn(&ctx, move |t| async move {
            write(&t, w, b"0123456789").await;
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(peek_avail(&ctx, r).await, 10);
        for i in 0..6u8 {
            assert!(!done.get(), "returned before read {}", i + 1);
            assert_eq!(read(&ctx, r, 1).await, [b'0' + i]);
            settle(&ctx).await;
        }
        assert!(done.get(), "returns after the 6th read");
        join(&ctx, t).await;
        assert_eq!(read(&ctx, r, 10).await, b"6789");
        0
    });
}

/// §2.2 (pipe.c :: test_blocking_rw): quota 5000, a 1000-byte read pending, and a
/// 4000-byte write: the write completes at once, the read gets 1000 bytes and 3000 stay
/// queued.
#[test]
fn a_write_that_fits_completes_at_once_beside_a_smaller_pending_read() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 5000).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            g.set(Some(read(&t, r, 1000).await.len()));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);
        write(&ctx, w, &[5u8; 4000]).await;
        join(&ctx, t).await;
        assert_eq!(got.get(), Some(1000));
        assert_eq!(peek_avail(&ctx, r).await, 3000);
        0
    });
}

/// §2.7 (pipe.c :: test_blocking_rw "empty write will not block"): a zero-length
/// WriteFile returns TRUE with 0 at once, even into a full pipe, and changes nothing.
#[test]
fn a_zero_length_write_never_blocks() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 4).await;
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file(w, b"", Some(&mut n)).await, TRUE);
        assert_eq!(n, 0);
        write(&ctx, w, b"full").await;
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(w, b"", Some(&mut n)).await, TRUE);
        assert_eq!((n, ctx.get_last_error().0), (0, SENTINEL));
        assert_eq!(peek_avail(&ctx, r).await, 4);
        assert_eq!(read(&ctx, r, 8).await, b"full");
        0
    });
}

// ----- ReadFile ------------------------------------------------------------------------

/// §3.2 (pipe.c :: test_CloseHandle): ReadFile of 0 bytes with data queued returns
/// TRUE, 0 bytes, at once, and consumes nothing.
#[test]
fn a_zero_length_read_with_data_returns_0_and_consumes_nothing() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"hello").await;
        let mut n = SENTINEL;
        assert_eq!(ctx.read_file(r, &mut [], Some(&mut n)).await, TRUE);
        assert_eq!(n, 0);
        assert_eq!(peek_avail(&ctx, r).await, 5);
        assert_eq!(read(&ctx, r, 16).await, b"hello");
        0
    });
}

/// §3.3 (pipe.c :: test_blocking_rw "pipe is empty, the next read will block"): a
/// zero-length read on an empty pipe blocks; data arriving completes it with 0 bytes,
/// and the data stays for the next read.
#[test]
fn a_zero_length_read_on_an_empty_pipe_blocks_until_data_arrives() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut n = SENTINEL;
            let ok = t.read_file(r, &mut [], Some(&mut n)).await;
            g.set(Some((ok, n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "a zero-length read on an empty pipe blocks");
        write(&ctx, w, b"hello").await;
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((TRUE, 0)));
        assert_eq!(read(&ctx, r, 16).await, b"hello");
        0
    });
}

/// §3.1 (pipe.c :: test_CreateNamedPipe "reading of multiple writes"): in byte mode
/// one read returns the bytes of several writes (11 + 10 = 21).
#[test]
fn one_read_merges_several_writes() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"hello world").await;
        write(&ctx, w, b"0123456789").await;
        assert_eq!(read(&ctx, r, 32).await, b"hello world0123456789");
        0
    });
}

/// §3.1 (ntpipe.c :: read_pipe_test "partial read is good enough"): a pending 2-byte
/// read completes with 1 byte when 1 byte arrives.
#[test]
fn a_pending_read_returns_what_arrives() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            *g.borrow_mut() = Some(read(&t, r, 2).await);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(got.borrow().is_none());
        write(&ctx, w, b"x").await;
        join(&ctx, t).await;
        assert_eq!(got.borrow().as_deref(), Some(&b"x"[..]));
        0
    });
}

// ----- end of file and broken pipes ----------------------------------------------------

/// §§1.5, 3.4 and 4.5 (pipe.c :: test_CreatePipe, test_CloseHandle): after the write
/// end closes, reads and peeks drain what is queued; then ReadFile of any size, 0
/// included, fails with ERROR_BROKEN_PIPE and a count of 0, and PeekNamedPipe fails with
/// ERROR_BROKEN_PIPE leaving its outputs untouched.
#[test]
fn writer_closed_reads_drain_then_broken_pipe() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"hello").await;
        assert_eq!(ctx.close_handle(w).await, TRUE);
        assert_eq!(peek_avail(&ctx, r).await, 5);
        assert_eq!(read(&ctx, r, 3).await, b"hel");
        let mut n = SENTINEL;
        assert_eq!(ctx.read_file(r, &mut [], Some(&mut n)).await, TRUE, "data still queued");
        assert_eq!(n, 0);
        assert_eq!(read(&ctx, r, 32).await, b"lo");
        for len in [32usize, 0] {
            let mut buf = vec![0u8; len];
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE);
            assert_eq!((ctx.get_last_error(), n), (ERROR_BROKEN_PIPE, 0), "read of {len}");
        }
        let mut buf = [0xAAu8; 4];
        let (mut got, mut avail, mut left) = (SENTINEL, SENTINEL, SENTINEL);
        ctx.set_last_error(SENTINEL);
        let ok = ctx.peek_named_pipe(r, Some(&mut buf), Some(&mut got), Some(&mut avail), Some(&mut left)).await;
        assert_eq!(ok, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
        assert_eq!((got, avail, left, buf), (SENTINEL, SENTINEL, SENTINEL, [0xAA; 4]), "outputs untouched");
        0
    });
}

/// §3.5 (ntpipe.c :: read_pipe_test "disconnect while async read is in progress"): a
/// read pending when the last write handle closes fails with ERROR_BROKEN_PIPE, 0 bytes.
#[test]
fn a_pending_read_fails_with_broken_pipe_when_the_writer_closes() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut buf = [0u8; 8];
            let mut n = SENTINEL;
            let ok = t.read_file(r, &mut buf, Some(&mut n)).await;
            g.set(Some((ok, t.get_last_error(), n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);
        assert_eq!(ctx.close_handle(w).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_BROKEN_PIPE, 0)));
        0
    });
}

/// §§2.11 and 3.6 (pipe.c :: test_CloseHandle): once the read end is closed, a
/// WriteFile fails at once with ERROR_NO_DATA and a count of 0.
#[test]
fn writes_after_the_reader_closed_fail_with_no_data() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"unread").await;
        assert_eq!(ctx.close_handle(r).await, TRUE);
        for _ in 0..2 {
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.write_file(w, b"more", Some(&mut n)).await, FALSE);
            assert_eq!((ctx.get_last_error(), n), (ERROR_NO_DATA, 0));
        }
        0
    });
}

/// §2.11 (pipe.c :: test_overlapped_transport "close client/server with pending
/// writes"; git-po b2f5e268): a write pending when the reader closes fails with
/// ERROR_BROKEN_PIPE and 0 bytes; the next write fails with ERROR_NO_DATA.
#[test]
fn a_pending_write_fails_with_broken_pipe_when_the_reader_closes() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 4).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut n = SENTINEL;
            let ok = t.write_file(w, b"0123456789", Some(&mut n)).await;
            g.set(Some((ok, t.get_last_error(), n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);
        assert_eq!(read(&ctx, r, 2).await, b"01");
        assert_eq!(ctx.close_handle(r).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_BROKEN_PIPE, 0)));
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file(w, b"x", Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_NO_DATA, 0));
        0
    });
}

// ----- the last write handle -----------------------------------------------------------

/// §1.10 (CloseHandle doc; "Creating a Child Process with Redirected Input and
/// Output"): a DuplicateHandle copy of the write end keeps the pipe open: after the
/// original is closed a read still blocks, and fails with ERROR_BROKEN_PIPE only when the
/// copy is closed too.
#[test]
fn a_duplicate_of_the_write_end_keeps_the_pipe_open() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let me = ctx.get_current_process();
        let mut w2 = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, w, me, &mut w2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        write(&ctx, w, b"a").await;
        assert_eq!(ctx.close_handle(w).await, TRUE);
        assert_eq!(read(&ctx, r, 8).await, b"a");
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut buf = [0u8; 8];
            let ok = t.read_file(r, &mut buf, None).await;
            g.set(Some((ok, t.get_last_error())));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "the duplicate still holds the write end open");
        assert_eq!(ctx.close_handle(w2).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_BROKEN_PIPE)));
        0
    });
}

/// §§1.10 and 9.4 ("Creating a Child Process with Redirected Input and Output";
/// "Anonymous Pipe Operations"): a child's inherited copy of the write end keeps the
/// pipe open after the parent closed its own; the parent sees the child's data, then
/// ERROR_BROKEN_PIPE only when the child exits and its handles are closed.
#[test]
fn an_inherited_write_end_keeps_the_pipe_open_until_the_child_exits() {
    check_parent_child(
        |ctx| async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await, TRUE);
            let pi = start_child(&ctx, w).await;
            assert_eq!(ctx.close_handle(w).await, TRUE);
            assert_eq!(read(&ctx, r, 32).await, b"from child");
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE, "the child is still running");
            // The next read blocks until the child exits (it sleeps 50 ms first).
            let mut buf = [0u8; 8];
            assert_eq!(ctx.read_file(r, &mut buf, None).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, 3, "EOF only after the child exited");
            0
        },
        |ctx| async move {
            let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
            write(&ctx, out, b"from child").await;
            ctx.sleep(50).await;
            3
        },
    );
}

// ----- FlushFileBuffers ----------------------------------------------------------------

/// §2.8 (pipe.c :: test_blocking_rw; ntpipe.c :: test_blocking) and Wine probe:
/// FlushFileBuffers on the write end returns TRUE at once with nothing queued, and on the
/// read end; with data queued it blocks until the reader has read all of it.
#[test]
fn flush_blocks_until_the_reader_has_read_everything() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.flush_file_buffers(w).await, TRUE, "nothing queued");
        assert_eq!(ctx.get_last_error(), SENTINEL);
        write(&ctx, w, b"0123456789").await;
        assert_eq!(ctx.flush_file_buffers(r).await, TRUE, "the read end (Wine probe)");
        let flushed = Rc::new(Cell::new(None));
        let f = flushed.clone();
        let t = spawn(&ctx, move |t| async move {
            f.set(Some(t.flush_file_buffers(w).await));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(flushed.get(), None);
        assert_eq!(read(&ctx, r, 9).await.len(), 9);
        settle(&ctx).await;
        assert_eq!(flushed.get(), None, "one byte is still unread");
        assert_eq!(read(&ctx, r, 9).await, b"9");
        join(&ctx, t).await;
        assert_eq!(flushed.get(), Some(TRUE));
        0
    });
}

/// §2.8 (pipe.c :: test_overlapped_transport): a flush pending when the reader
/// closes fails with ERROR_BROKEN_PIPE; a flush after the reader closed returns TRUE
/// (Wine probe).
#[test]
fn flush_fails_with_broken_pipe_when_the_reader_closes() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"unread").await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let ok = t.flush_file_buffers(w).await;
            g.set(Some((ok, t.get_last_error())));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);
        assert_eq!(ctx.close_handle(r).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_BROKEN_PIPE)));
        assert_eq!(ctx.flush_file_buffers(w).await, TRUE, "after the reader closed (Wine probe)");
        0
    });
}

// ----- PeekNamedPipe -------------------------------------------------------------------

/// §§4.1, 4.2 and 4.4 (pipe.c :: test_CreateNamedPipe): PeekNamedPipe reports every
/// unread byte in avail; in byte mode "left in this message" is (DWORD)(0 - copied), so 0
/// without a buffer and 0xFFFFFFFC after copying 4 bytes; it never consumes data.
#[test]
fn peek_reports_avail_and_byte_mode_left_and_never_consumes() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let (mut got, mut avail, mut left) = (SENTINEL, SENTINEL, SENTINEL);
        assert_eq!(ctx.peek_named_pipe(r, None, Some(&mut got), Some(&mut avail), Some(&mut left)).await, TRUE);
        assert_eq!((got, avail, left), (0, 0, 0), "an empty pipe");
        write(&ctx, w, b"hello").await;
        write(&ctx, w, b" world").await;
        let (mut got, mut avail, mut left) = (SENTINEL, SENTINEL, SENTINEL);
        assert_eq!(ctx.peek_named_pipe(r, None, Some(&mut got), Some(&mut avail), Some(&mut left)).await, TRUE);
        assert_eq!((got, avail, left), (0, 11, 0));
        let mut buf = [0u8; 4];
        ctx.set_last_error(SENTINEL);
        let ok = ctx.peek_named_pipe(r, Some(&mut buf), Some(&mut got), Some(&mut avail), Some(&mut left)).await;
        assert_eq!(ok, TRUE);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_eq!((&buf, got, avail, left), (b"hell", 4, 11, 0xFFFF_FFFC));
        // A bigger buffer copies across the two writes, and still consumes nothing.
        let mut big = [0u8; 32];
        assert_eq!(ctx.peek_named_pipe(r, Some(&mut big), Some(&mut got), None, Some(&mut left)).await, TRUE);
        assert_eq!((&big[..11], got, left), (&b"hello world"[..], 11, 0u32.wrapping_sub(11)));
        assert_eq!(read(&ctx, r, 32).await, b"hello world");
        assert_eq!(peek_avail(&ctx, r).await, 0);
        0
    });
}

// ----- TerminateProcess of a writer ----------------------------------------------------

/// §2.10 (pipe.c :: test_overlapped_transport "terminate process with pending
/// write"): a child blocked writing 10 bytes into a quota-4 pipe is terminated after 3
/// bytes were read: the unread rest of its write is discarded, a 10-byte read then pends,
/// and a new 1-byte write satisfies it with 1 byte.
#[test]
fn terminating_a_writer_discards_the_unread_rest_of_its_pending_write() {
    check_parent_child(
        |ctx| async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 4).await, TRUE);
            let pi = start_child(&ctx, w).await;
            settle(&ctx).await;
            assert_eq!(peek_avail(&ctx, r).await, 10, "the child's write is pending and readable");
            assert_eq!(read(&ctx, r, 3).await, b"012");
            assert_eq!(ctx.terminate_process(pi.hProcess, 7).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(peek_avail(&ctx, r).await, 0, "the unread 7 bytes are gone");
            let got = Rc::new(RefCell::new(None));
            let g = got.clone();
            let t = spawn(&ctx, move |t| async move {
                *g.borrow_mut() = Some(read(&t, r, 10).await);
                0
            })
            .await;
            settle(&ctx).await;
            assert!(got.borrow().is_none(), "the pipe is empty: the read pends");
            write(&ctx, w, b"Z").await;
            join(&ctx, t).await;
            assert_eq!(got.borrow().as_deref(), Some(&b"Z"[..]));
            0
        },
        |ctx| async move {
            let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
            write(&ctx, out, b"0123456789").await;
            unreachable!("the parent terminates this child while its write is pending");
        },
    );
}

/// §§2.8 and 2.10: after a terminated writer's unread bytes were discarded, a flush
/// waits only for the data that is still in the pipe: it returns once the reader has
/// read the one byte written afterwards [inferred: the discarded bytes will never be
/// read, so waiting for them would hang forever].
#[test]
fn flush_after_a_discarded_write_waits_only_for_queued_data() {
    check_parent_child(
        |ctx| async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 4).await, TRUE);
            let pi = start_child(&ctx, w).await;
            settle(&ctx).await;
            assert_eq!(read(&ctx, r, 3).await, b"012");
            assert_eq!(ctx.terminate_process(pi.hProcess, 7).await, TRUE);
            write(&ctx, w, b"Z").await;
            let flushed = Rc::new(Cell::new(None));
            let f = flushed.clone();
            let t = spawn(&ctx, move |t| async move {
                f.set(Some(t.flush_file_buffers(w).await));
                0
            })
            .await;
            settle(&ctx).await;
            assert_eq!(flushed.get(), None, "one byte is unread");
            assert_eq!(read(&ctx, r, 10).await, b"Z");
            join(&ctx, t).await;
            assert_eq!(flushed.get(), Some(TRUE));
            0
        },
        |ctx| async move {
            let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
            write(&ctx, out, b"0123456789").await;
            unreachable!("the parent terminates this child while its write is pending");
        },
    );
}

// ----- synchronous file objects (docs/semantics.md §1.A) and handle signalling (10.7) ---------

/// docs/semantics.md §1.A (dusk-audio/dusk-studio #406, kaappi/kaappi #1623): CreatePipe's
/// handles are synchronous file objects. While a ReadFile is pending on the read end,
/// another thread's PeekNamedPipe through the same handle, or through a DuplicateHandle
/// copy of it (same file object), waits until the read completes; it then sees what the
/// read left. A WriteFile on the other end's file object does not wait (it is what
/// completes the read).
#[test]
fn calls_on_the_same_synchronous_file_object_wait_for_a_pending_read() {
    for use_duplicate in [false, true] {
        check_every_schedule(move |ctx| async move {
            let (r, w) = pipe(&ctx, 0).await;
            let me = ctx.get_current_process();
            let mut r2 = HANDLE::NULL;
            assert_eq!(ctx.duplicate_handle(me, r, me, &mut r2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
            let peek_handle = if use_duplicate { r2 } else { r };
            let log = Rc::new(RefCell::new(Vec::new()));
            let l = log.clone();
            let reader = spawn(&ctx, move |t| async move {
                let got = read(&t, r, 2).await;
                l.borrow_mut().push(format!("read {}", String::from_utf8(got).unwrap()));
                0
            })
            .await;
            settle(&ctx).await;
            let l = log.clone();
            let peeker = spawn(&ctx, move |t| async move {
                let mut avail = SENTINEL;
                assert_eq!(t.peek_named_pipe(peek_handle, None, None, Some(&mut avail), None).await, TRUE);
                l.borrow_mut().push(format!("peek {avail}"));
                0
            })
            .await;
            settle(&ctx).await;
            assert!(log.borrow().is_empty(), "the peek waits behind the pending read: {:?}", log.borrow());
            write(&ctx, w, b"hello").await;
            join(&ctx, reader).await;
            join(&ctx, peeker).await;
            assert_eq!(*log.borrow(), ["read he", "peek 3"]);
            0
        });
    }
}

/// docs/semantics.md §1.A and §2.3: while a WriteFile is pending on the write end, a
/// PeekNamedPipe and a ReadFile on the read end (another file object) do not wait;
/// a second WriteFile through the same write handle waits until the first completes.
#[test]
fn a_pending_write_serialises_writes_but_not_the_other_end() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 4).await;
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let first = spawn(&ctx, move |t| async move {
            write(&t, w, b"0123456789").await;
            l.borrow_mut().push("first");
            0
        })
        .await;
        settle(&ctx).await;
        let l = log.clone();
        let second = spawn(&ctx, move |t| async move {
            write(&t, w, b"!").await;
            l.borrow_mut().push("second");
            0
        })
        .await;
        settle(&ctx).await;
        // §10.7: the write end is nonsignalled while its write is pending; the read
        // end is idle.
        assert_eq!(ctx.wait_for_single_object(w, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_OBJECT_0);
        // The second write waits for the file object, not for pipe space: its byte is not
        // queued yet.
        assert_eq!(peek_avail(&ctx, r).await, 10);
        assert_eq!(read(&ctx, r, 6).await, b"012345");
        join(&ctx, first).await;
        // Now the second write is queued behind the 4 unread bytes: 5 > 4, it pends.
        settle(&ctx).await;
        assert_eq!(*log.borrow(), ["first"]);
        assert_eq!(peek_avail(&ctx, r).await, 5);
        assert_eq!(read(&ctx, r, 1).await, b"6");
        join(&ctx, second).await;
        assert_eq!(*log.borrow(), ["first", "second"]);
        assert_eq!(read(&ctx, r, 16).await, b"789!");
        0
    });
}

/// docs/semantics.md §1.A (libuv/libuv #1273, nodejs/node #10836): an inherited handle shares
/// the parent's file object, so a child's call on its inherited read end waits while the
/// parent's ReadFile is pending on it.
#[test]
fn an_inherited_handle_shares_the_lock_of_the_parents_file_object() {
    check_parent_child(
        |ctx| async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await, TRUE);
            let done = Rc::new(Cell::new(false));
            let d = done.clone();
            let reader = spawn(&ctx, move |t| async move {
                assert_eq!(read(&t, r, 1).await, b"a");
                d.set(true);
                0
            })
            .await;
            settle(&ctx).await;
            // The child peeks its inherited read end (its stdout slot carries the value).
            let pi = start_child(&ctx, r).await;
            ctx.sleep(10).await;
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE, "the child's peek waits behind the parent's read");
            write(&ctx, w, b"abc").await;
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, 2, "the child saw the 2 bytes the parent's read left");
            join(&ctx, reader).await;
            assert!(done.get());
            0
        },
        |ctx| async move {
            let r = ctx.get_std_handle(STD_OUTPUT_HANDLE);
            let mut avail = SENTINEL;
            assert_eq!(ctx.peek_named_pipe(r, None, None, Some(&mut avail), None).await, TRUE);
            avail
        },
    );
}

/// §10.7 (ntpipe.c :: read_pipe_test): a pipe handle is signalled while idle and
/// nonsignalled while a synchronous ReadFile is pending on it; a wait on it is satisfied
/// when the read completes. The other end stays signalled meanwhile.
#[test]
fn a_pipe_handle_is_nonsignalled_while_a_read_is_pending() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_OBJECT_0, "idle");
        assert_eq!(ctx.wait_for_single_object(w, 0).await, WAIT_OBJECT_0, "idle");
        assert_eq!(ctx.get_last_error(), SENTINEL);
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        let reader = spawn(&ctx, move |t| async move {
            assert_eq!(read(&t, r, 4).await, b"ping");
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_TIMEOUT, "a read is pending");
        assert_eq!(ctx.wait_for_single_object(w, 0).await, WAIT_OBJECT_0, "the other end is idle");
        let waited = Rc::new(Cell::new(None));
        let wt = waited.clone();
        let waiter = spawn(&ctx, move |t| async move {
            wt.set(Some(t.wait_for_single_object(r, INFINITE).await));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(waited.get(), None);
        write(&ctx, w, b"ping").await;
        join(&ctx, waiter).await;
        assert_eq!(waited.get(), Some(WAIT_OBJECT_0));
        join(&ctx, reader).await;
        assert!(done.get());
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_OBJECT_0, "idle again");
        0
    });
}

/// docs/semantics.md §1.A and §9.3 (a thread's pending I/O ends with it): TerminateThread
/// on a thread blocked in ReadFile cancels the read and releases the file object, which
/// is signalled again (10.7); the data that arrives later is the next reader's.
#[test]
fn terminating_a_blocked_reader_releases_the_file_object() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let reader = spawn(&ctx, move |t| async move {
            let _ = read(&t, r, 8).await;
            unreachable!("terminated while its read is pending");
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.terminate_thread(reader, 5).await, TRUE);
        join(&ctx, reader).await;
        assert_eq!(ctx.wait_for_single_object(r, 0).await, WAIT_OBJECT_0);
        write(&ctx, w, b"late").await;
        assert_eq!(read(&ctx, r, 8).await, b"late");
        0
    });
}

/// docs/semantics.md §1.A and §7.8 (ntpipe.c :: read_pipe_test "Close queued handle"): a
/// call queued for a synchronous file object has already referenced the object, so
/// closing the handle it was issued through (another handle keeps the object open) does
/// not change its result: it completes normally once the lock is free, and does not keep
/// the lock.
#[test]
fn closing_the_handle_of_a_queued_call_does_not_leak_the_file_lock() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let me = ctx.get_current_process();
        let mut r2 = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, r, me, &mut r2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        let reader = spawn(&ctx, move |t| async move {
            assert_eq!(read(&t, r, 1).await, b"a");
            0
        })
        .await;
        settle(&ctx).await;
        let peeker = spawn(&ctx, move |t| async move {
            let mut avail = SENTINEL;
            assert_eq!(t.peek_named_pipe(r2, None, None, Some(&mut avail), None).await, TRUE);
            assert_eq!(avail, 2, "the peek ran after the read took 1 of 3 bytes");
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.close_handle(r2).await, TRUE);
        write(&ctx, w, b"abc").await;
        join(&ctx, reader).await;
        join(&ctx, peeker).await;
        assert_eq!(read(&ctx, r, 8).await, b"bc", "the read end's file object is usable");
        0
    });
}

/// docs/semantics.md §1.A (bazel #1708; "closing the handle from another thread does not
/// cancel the blocked call, the close may itself hang"): CloseHandle of the last handle
/// to a synchronous file object waits until the call pending on it completes, and the
/// pending ReadFile is not cancelled by it. Closing a handle that is not the last one
/// returns at once.
#[test]
fn closing_the_last_handle_waits_for_the_pending_synchronous_call() {
    check_every_schedule(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let me = ctx.get_current_process();
        let mut r2 = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, r, me, &mut r2, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        let reader = spawn(&ctx, move |t| async move {
            assert_eq!(read(&t, r, 8).await, b"data");
            0
        })
        .await;
        settle(&ctx).await;
        // Not the last handle: returns at once although a read is pending.
        assert_eq!(ctx.close_handle(r2).await, TRUE);
        let closed = Rc::new(Cell::new(false));
        let flag = closed.clone();
        let closer = spawn(&ctx, move |t| async move {
            assert_eq!(t.close_handle(r).await, TRUE);
            flag.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!closed.get(), "CloseHandle of the last handle waits for the pending ReadFile");
        write(&ctx, w, b"data").await;
        join(&ctx, reader).await;
        join(&ctx, closer).await;
        assert!(closed.get());
        // The read end is gone now: writes fail with ERROR_NO_DATA (§3.6).
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file(w, b"x", None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NO_DATA);
        0
    });
}

// ----- bad handles ---------------------------------------------------------------------

/// §3.7 (pipe.c :: test_readfileex_pending) and §7.6: ReadFile, WriteFile,
/// PeekNamedPipe, GetNamedPipeInfo and FlushFileBuffers on INVALID_HANDLE_VALUE, NULL, a
/// made-up value, a closed pipe handle, an event handle or the thread pseudo handle fail
/// with ERROR_INVALID_HANDLE, set the I/O count to 0 and leave the other outputs alone.
#[test]
fn invalid_closed_and_wrong_type_handles_fail_with_invalid_handle() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let (closed_r, closed_w) = pipe(&ctx, 0).await;
        assert_eq!(ctx.close_handle(closed_r).await, TRUE);
        assert_eq!(ctx.close_handle(closed_w).await, TRUE);
        let event = ctx.create_event(None, true, true, None).await;
        assert!(!event.is_null());
        let bad =
            [INVALID_HANDLE_VALUE, HANDLE::NULL, HANDLE(0x1234), closed_r, closed_w, event, ctx.get_current_thread()];
        for h in bad {
            let mut buf = [0u8; 4];
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.read_file(h, &mut [], Some(&mut n)).await, FALSE, "ReadFile({h:?}, 0)");
            assert_eq!((ctx.get_last_error(), n), (ERROR_INVALID_HANDLE, 0), "ReadFile({h:?}, 0)");
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, FALSE, "ReadFile({h:?})");
            assert_eq!((ctx.get_last_error(), n), (ERROR_INVALID_HANDLE, 0), "ReadFile({h:?})");
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.write_file(h, b"x", Some(&mut n)).await, FALSE, "WriteFile({h:?})");
            assert_eq!((ctx.get_last_error(), n), (ERROR_INVALID_HANDLE, 0), "WriteFile({h:?})");
            let mut avail = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.peek_named_pipe(h, Some(&mut buf), None, Some(&mut avail), None).await, FALSE);
            assert_eq!((ctx.get_last_error(), avail), (ERROR_INVALID_HANDLE, SENTINEL), "Peek({h:?})");
            let mut flags = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_named_pipe_info(h, Some(&mut flags), None, None, None).await, FALSE);
            assert_eq!((ctx.get_last_error(), flags), (ERROR_INVALID_HANDLE, SENTINEL), "Info({h:?})");
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.flush_file_buffers(h).await, FALSE, "FlushFileBuffers({h:?})");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "FlushFileBuffers({h:?})");
        }
        // The event is untouched and the live pipe still works.
        assert_eq!(ctx.wait_for_single_object(event, 0).await, WAIT_OBJECT_0);
        write(&ctx, w, b"ok").await;
        assert_eq!(read(&ctx, r, 4).await, b"ok");
        0
    });
}

/// Handles are per process (§7.x; CloseHandle doc): a pipe handle value that is
/// valid in the parent but was not inherited is ERROR_INVALID_HANDLE in the child.
#[test]
fn another_processs_handle_value_is_invalid_here() {
    check_parent_child(
        |ctx| async move {
            // Not inheritable: the child gets no copy, only the number.
            let (r, w) = pipe(&ctx, 0).await;
            write(&ctx, w, b"secret").await;
            let pi = start_child(&ctx, r).await;
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            let mut code = SENTINEL;
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, ERROR_INVALID_HANDLE);
            assert_eq!(read(&ctx, r, 16).await, b"secret", "nothing was consumed");
            0
        },
        |ctx| async move {
            let r = ctx.get_std_handle(STD_OUTPUT_HANDLE);
            let mut buf = [0u8; 16];
            let mut n = SENTINEL;
            assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE);
            assert_eq!(n, 0);
            ctx.get_last_error().0
        },
    );
}

// ----- limits --------------------------------------------------------------------------

/// Every limit ends the run with a clear outcome, never an unbounded allocation: a pipe
/// created with a huge nSize (the quota as given, §1.2) accepts every write on
/// Windows, so a writer that never stops would grow it without end; winsim stops the
/// run at `pipe_bytes_max`.
#[test]
fn a_writer_that_never_stops_ends_at_pipe_bytes_max() {
    let mut config = Config::round_robin();
    config.pipe_bytes_max = 4 << 20;
    let r = run_with(config, |ctx| async move {
        let (_r, w) = pipe(&ctx, u32::MAX).await;
        let chunk = vec![0u8; 1 << 20];
        loop {
            assert_eq!(ctx.write_file(w, &chunk, None).await, TRUE);
        }
    });
    match &r.outcome {
        Outcome::LimitExceeded { limit, detail } => {
            assert_eq!(*limit, sim_core::report::LimitKind::PipeBytes);
            assert!(detail.contains("pipe_bytes_max"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Four 1 MiB writes fit; the fifth hits the limit.
    let writes = r
        .trace
        .iter()
        .filter(|e| matches!(&e.kind, sim_core::trace::EventKind::Call { api, .. } if api == "WriteFile"))
        .count();
    assert_eq!(writes, 5);
}

/// A single ReadFile, WriteFile or PeekNamedPipe that would move more than
/// `io_bytes_max` bytes ends the run too. What counts is the bytes moved, not the buffer:
/// a ReadFile with a 100 MB buffer and 2 bytes in the pipe returns the 2 bytes, as
/// Windows does (docs/semantics.md §3.1).
#[test]
fn an_oversized_io_request_ends_at_io_bytes_max() {
    let mut config = Config::round_robin();
    config.io_bytes_max = 1000;
    let r = run_with(config.clone(), |ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, b"hi").await;
        let mut big = vec![0u8; 100 << 20];
        let mut n = 0;
        assert_eq!(ctx.read_file(r, &mut big, Some(&mut n)).await, TRUE);
        assert_eq!((n, &big[..2]), (2, &b"hi"[..]));
        0
    });
    assert_completed(&r);
    let r = run_with(config.clone(), |ctx| async move {
        let (_r, w) = pipe(&ctx, 0).await;
        let _ = ctx.write_file(w, &[0u8; 1001], None).await;
        0
    });
    assert!(
        matches!(r.outcome, Outcome::LimitExceeded { limit: sim_core::report::LimitKind::IoBytes, .. }),
        "{:?}",
        r.outcome
    );
    let r = run_with(config, |ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        write(&ctx, w, &[1u8; 600]).await;
        write(&ctx, w, &[2u8; 600]).await;
        let mut buf = vec![0u8; 2000];
        let _ = ctx.read_file(r, &mut buf, None).await;
        0
    });
    assert!(
        matches!(r.outcome, Outcome::LimitExceeded { limit: sim_core::report::LimitKind::IoBytes, .. }),
        "{:?}",
        r.outcome
    );
}
