//! Overlapped I/O, I/O completion ports and user APCs: ReadFile/WriteFile/ConnectNamedPipe/
//! TransactNamedPipe with an OVERLAPPED, GetOverlappedResult(Ex), CancelIo(Ex),
//! CancelSynchronousIo, CreateIoCompletionPort, Get/PostQueuedCompletionStatus(Ex),
//! SetFileCompletionNotificationModes, QueueUserAPC, the alertable waits and
//! ReadFileEx/WriteFileEx. Fact numbers refer to docs/semantics.md §16 (and §§1.7, 2.9,
//! 3.10, 5.6, 6.9, 10.7), where each fact has its Wine test or Microsoft Learn page.
//!
//! The overlapped handle is always the server end of a named pipe created with
//! PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED; the client end is synchronous unless a test
//! says otherwise, so the test can feed the server with plain WriteFile calls.
//!
//! Blocking is observed with `settle`: a `Sleep(1)` of the main thread returns only after
//! every other thread has finished or blocked, and a shared cell set right after a call
//! returns tells "blocked" from "returned".

use crate::support::*;
use sim_core::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

// ----- helpers -------------------------------------------------------------------------

const NAME: &str = r"\\.\pipe\winsim_async_io_test";
const NAME2: &str = r"\\.\pipe\winsim_async_io_test_2";
const RW: u32 = GENERIC_READ | GENERIC_WRITE;
const OVERLAPPED_DUPLEX: u32 = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED;
const BYTE_WAIT: u32 = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT;
const MSG_WAIT: u32 = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT;

/// NTSTATUS values OVERLAPPED.Internal holds (§16 table).
const STATUS_SUCCESS: u32 = 0;
const STATUS_BUFFER_OVERFLOW: u32 = 0x8000_0005;
const STATUS_CANCELLED: u32 = 0xC000_0120;
/// ERROR_GEN_FAILURE: QueueUserAPC to a thread that has ended (§16.34).
const ERROR_GEN_FAILURE: u32 = 31;

/// What APCs record, in the order they ran.
type Log = Rc<RefCell<Vec<usize>>>;
/// What a completion routine was called with: (dwErrorCode, bytes, lpOverlapped).
type Routine = Rc<RefCell<Option<(u32, u32, Overlapped)>>>;

/// Lets every other thread run until it blocks or ends (see the module comment).
async fn settle(ctx: &ThreadCtx) {
    ctx.sleep(1).await;
}

/// An overlapped duplex server instance of `name` with `size`-byte buffers.
async fn server_with(ctx: &ThreadCtx, name: &str, pipe_mode: u32, size: u32) -> HANDLE {
    let h =
        ctx.create_named_pipe(name, OVERLAPPED_DUPLEX, pipe_mode, 1, size, size, NMPWAIT_USE_DEFAULT_WAIT, None).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateNamedPipe({name}) failed: {}", ctx.get_last_error());
    h
}

/// A byte-mode overlapped server of `NAME` with 1024-byte buffers.
async fn server(ctx: &ThreadCtx) -> HANDLE {
    server_with(ctx, NAME, BYTE_WAIT, 1024).await
}

/// A client CreateFile of `name` for reading and writing with `flags`; asserts success.
async fn client_with(ctx: &ThreadCtx, name: &str, flags: u32) -> HANDLE {
    let h = ctx.create_file(name, RW, 0, None, OPEN_EXISTING, flags, HANDLE::NULL).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateFile({name}) failed: {}", ctx.get_last_error());
    h
}

/// An overlapped byte-mode server and a connected synchronous client.
async fn pair(ctx: &ThreadCtx) -> (HANDLE, HANDLE) {
    let s = server(ctx).await;
    let c = client_with(ctx, NAME, 0).await;
    (s, c)
}

/// A manual-reset event (waiting on it does not consume the signal).
async fn manual_event(ctx: &ThreadCtx, initial: bool) -> HANDLE {
    let h = ctx.create_event(None, true, initial, None).await;
    assert!(!h.is_null(), "CreateEvent failed: {}", ctx.get_last_error());
    h
}

/// Whether `h` is signalled (a 0 ms wait; use on manual-reset events and file handles).
async fn signalled(ctx: &ThreadCtx, h: HANDLE) -> bool {
    match ctx.wait_for_single_object(h, 0).await {
        WAIT_OBJECT_0 => true,
        WAIT_TIMEOUT => false,
        other => panic!("WaitForSingleObject({h}, 0) → {other:#x}, error {}", ctx.get_last_error()),
    }
}

/// An overlapped ReadFile that must pend (§16.2): FALSE, ERROR_IO_PENDING, count 0,
/// Internal STATUS_PENDING.
async fn read_pending(ctx: &ThreadCtx, h: HANDLE, buf: &IoBuffer, ov: &Overlapped) {
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.read_file_overlapped(h, buf, Some(&mut n), ov).await, FALSE, "the read completed at once");
    assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
    assert_eq!(n, 0, "a pending read sets the count to 0");
    assert_eq!(ov.internal(), STATUS_PENDING);
    assert!(!HasOverlappedIoCompleted(ov));
}

/// An overlapped WriteFile that must pend (§16.2).
async fn write_pending(ctx: &ThreadCtx, h: HANDLE, data: &[u8], ov: &Overlapped) {
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.write_file_overlapped(h, data, Some(&mut n), ov).await, FALSE, "the write completed at once");
    assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
    assert_eq!(n, 0, "a pending write sets the count to 0");
    assert_eq!(ov.internal(), STATUS_PENDING);
}

/// GetOverlappedResult without waiting: (result, count, last error).
async fn result(ctx: &ThreadCtx, h: HANDLE, ov: &Overlapped) -> (BOOL, u32, Win32Error) {
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    let ok = ctx.get_overlapped_result(h, ov, &mut n, false).await;
    (ok, n, ctx.get_last_error())
}

/// GetOverlappedResult without waiting, for an operation that succeeded: its count.
async fn result_ok(ctx: &ThreadCtx, h: HANDLE, ov: &Overlapped) -> u32 {
    let (ok, n, e) = result(ctx, h, ov).await;
    assert_eq!(ok, TRUE, "GetOverlappedResult failed: {e}");
    n
}

/// A new completion port associated with nothing.
async fn new_port(ctx: &ThreadCtx) -> HANDLE {
    let p = ctx.create_io_completion_port(INVALID_HANDLE_VALUE, HANDLE::NULL, 0, 0).await;
    assert!(!p.is_null(), "CreateIoCompletionPort failed: {}", ctx.get_last_error());
    p
}

/// Associates `file` with `port` under `key`; CreateIoCompletionPort returns the port.
async fn associate(ctx: &ThreadCtx, file: HANDLE, port: HANDLE, key: usize) {
    let r = ctx.create_io_completion_port(file, port, key, 0).await;
    assert_eq!(r, port, "CreateIoCompletionPort({file}, {port}) failed: {}", ctx.get_last_error());
}

/// GetQueuedCompletionStatus with sentinels in every output: (result, bytes, key,
/// overlapped, last error).
async fn dequeue(ctx: &ThreadCtx, port: HANDLE, ms: u32) -> (BOOL, u32, usize, Option<Overlapped>, Win32Error) {
    let (mut n, mut key, mut ov) = (SENTINEL, usize::MAX, Some(Overlapped::new(HANDLE::NULL)));
    ctx.set_last_error(SENTINEL);
    let ok = ctx.get_queued_completion_status(port, &mut n, &mut key, &mut ov, ms).await;
    (ok, n, key, ov, ctx.get_last_error())
}

/// A packet of a successful operation must be queued: TRUE with these values (§16.24).
async fn expect_packet(ctx: &ThreadCtx, port: HANDLE, bytes: u32, key: usize, ov: Option<&Overlapped>) {
    let (ok, n, k, got, e) = dequeue(ctx, port, 0).await;
    assert_eq!(ok, TRUE, "no packet (error {e})");
    assert_eq!((n, k), (bytes, key));
    assert_eq!(got.as_ref(), ov, "the packet's OVERLAPPED");
}

/// No packet may be queued: FALSE, no OVERLAPPED, WAIT_TIMEOUT (§16.26).
async fn expect_no_packet(ctx: &ThreadCtx, port: HANDLE) {
    let (ok, n, _, got, e) = dequeue(ctx, port, 0).await;
    assert_eq!(ok, FALSE, "a packet was queued: {n} bytes, {got:?}");
    assert!(got.is_none());
    assert_eq!(e, WAIT_TIMEOUT);
}

/// QueueUserAPC of an APC that appends its data to `log`; asserts success.
async fn queue_log(ctx: &ThreadCtx, thread: HANDLE, log: &Log, data: usize) {
    let l = log.clone();
    let r = ctx.queue_user_apc(move |_c, d| async move { l.borrow_mut().push(d) }, thread, data).await;
    assert_ne!(r, 0, "QueueUserAPC failed: {}", ctx.get_last_error());
}

/// A completion routine that records its arguments in `cell`.
fn recorder(cell: &Routine) -> impl FnOnce(ThreadCtx, u32, u32, Overlapped) -> std::future::Ready<()> + 'static {
    let c = cell.clone();
    move |_ctx, code, bytes, ov| {
        *c.borrow_mut() = Some((code, bytes, ov));
        std::future::ready(())
    }
}

/// The recorded call of a completion routine, if it ran.
fn called(cell: &Routine) -> Option<(u32, u32, Overlapped)> {
    cell.borrow().clone()
}

/// Expects the run to end as `Outcome::Failed` with a message naming each of `words`.
#[track_caller]
fn assert_failed_naming(r: &RunReport, words: &[&str]) {
    match &r.outcome {
        Outcome::Failed { message, .. } => {
            for w in words {
                assert!(message.contains(w), "the message does not name {w}: {message}");
            }
        }
        other => panic!("expected Outcome::Failed, got {other:?}\n{}", r.trace_text()),
    }
}

// ----- starting an operation -------------------------------------------------------------

/// §16.1 (pipe.c :: test_blocking_rw, overlapped_write_sync): a ReadFile and a WriteFile
/// that complete at once on an overlapped handle return TRUE with the count; Internal is
/// STATUS_SUCCESS, InternalHigh the count, the event is signalled, and
/// GetOverlappedResult(FALSE) gives TRUE with the same count.
#[test]
fn an_operation_that_completes_at_once_returns_true_with_the_count() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        write(&ctx, client, b"hello").await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(16);
        let mut n = SENTINEL;
        assert_eq!(ctx.read_file_overlapped(server, &buf, Some(&mut n), &ov).await, TRUE);
        assert_eq!(n, 5);
        assert_eq!(buf.head(5), b"hello");
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_SUCCESS, 5));
        assert!(HasOverlappedIoCompleted(&ov));
        assert!(signalled(&ctx, ev).await, "the event is signalled");
        assert_eq!(result_ok(&ctx, server, &ov).await, 5);

        let ev2 = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev2);
        let mut w = SENTINEL;
        assert_eq!(ctx.write_file_overlapped(server, b"abc", Some(&mut w), &ov2).await, TRUE);
        assert_eq!(w, 3);
        assert_eq!((ov2.internal(), ov2.internal_high()), (STATUS_SUCCESS, 3));
        assert!(signalled(&ctx, ev2).await);
        assert_eq!(result_ok(&ctx, server, &ov2).await, 3);
        assert_eq!(read(&ctx, client, 8).await, b"abc");
        0
    });
}

/// §16.1, §16.24 (ntdll pipe.c :: test_completion): on a file associated with a port, an
/// operation that completed at once still queues a packet; one that pends queues its
/// packet when it completes, not before.
#[test]
fn completions_at_once_and_pending_both_queue_a_packet() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 7).await;
        write(&ctx, client, b"ab").await;
        let ov = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.read_file_overlapped(server, &IoBuffer::new(8), None, &ov).await, TRUE);
        expect_packet(&ctx, port, 2, 7, Some(&ov)).await;
        expect_no_packet(&ctx, port).await;

        let ov2 = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        expect_no_packet(&ctx, port).await;
        write(&ctx, client, b"xyz").await;
        expect_packet(&ctx, port, 3, 7, Some(&ov2)).await;
        0
    });
}

/// §16.2 (pipe.c :: test_blocking_rw, overlapped_read_async / overlapped_write_async):
/// a read with nothing to read and a write beyond the quota pend: FALSE, ERROR_IO_PENDING,
/// count 0, Internal STATUS_PENDING; the event, signalled before, is reset when the call
/// starts, and the file handle is nonsignalled too (§10.7).
#[test]
fn an_operation_that_cannot_complete_at_once_pends() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        assert!(signalled(&ctx, server).await, "an idle pipe handle is signalled (§10.7)");
        let ev = manual_event(&ctx, true).await;
        let ov = Overlapped::new(ev);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        assert!(!signalled(&ctx, ev).await, "ReadFile resets the event when it starts");
        assert!(!signalled(&ctx, server).await, "the file handle is nonsignalled while the read pends");

        // A write toward a client that reads nothing, beyond the 4-byte quota.
        let small = server_with(&ctx, NAME2, BYTE_WAIT, 4).await;
        let _c2 = client_with(&ctx, NAME2, 0).await;
        let ev2 = manual_event(&ctx, true).await;
        let ov2 = Overlapped::new(ev2);
        write_pending(&ctx, small, b"0123456789", &ov2).await;
        assert!(!signalled(&ctx, ev2).await);
        assert!(!HasOverlappedIoCompleted(&ov2));
        0
    });
}

/// §16.3 (ntdll pipe.c :: test_completion, "no event, APC nor completion: only signals on
/// handle"), §10.7: with hEvent NULL the file handle is signalled at completion and
/// releases a thread waiting on it.
#[test]
fn completion_without_an_event_signals_the_file_handle() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(8);
        read_pending(&ctx, server, &buf, &ov).await;
        let woke = Rc::new(Cell::new(None));
        let w = woke.clone();
        let t = spawn(&ctx, move |t| async move {
            w.set(Some(t.wait_for_single_object(server, INFINITE).await));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(woke.get(), None, "the waiter blocks while the read pends");
        write(&ctx, client, b"abc").await;
        join(&ctx, t).await;
        assert_eq!(woke.get(), Some(WAIT_OBJECT_0));
        assert_eq!(buf.head(3), b"abc");
        assert_eq!(result_ok(&ctx, server, &ov).await, 3);
        0
    });
}

/// §16.3 (ntdll pipe.c :: test_completion; pipe.c :: test_readfileex_pending), §3.3: at
/// completion Internal and InternalHigh are written, the data reaches the buffer (not
/// before) and the OVERLAPPED's event is signalled. A pending zero-length read completes
/// when data arrives with STATUS_SUCCESS and 0 bytes, and the data stays in the pipe.
#[test]
fn completion_fills_the_buffer_and_the_overlapped_and_signals_the_event() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        read_pending(&ctx, server, &buf, &ov).await;
        settle(&ctx).await;
        assert_eq!(buf.to_vec(), vec![0; 8], "nothing reaches the buffer before completion");
        assert!(!signalled(&ctx, ev).await);
        write(&ctx, client, b"hello").await;
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_SUCCESS, 5));
        assert_eq!(buf.head(5), b"hello");
        assert!(signalled(&ctx, ev).await, "the event is signalled");
        assert_eq!(result_ok(&ctx, server, &ov).await, 5);

        let ev0 = manual_event(&ctx, false).await;
        let ov0 = Overlapped::new(ev0);
        read_pending(&ctx, server, &IoBuffer::new(0), &ov0).await;
        write(&ctx, client, b"abc").await;
        assert!(signalled(&ctx, ev0).await);
        assert_eq!((ov0.internal(), ov0.internal_high()), (STATUS_SUCCESS, 0));
        assert_eq!(result_ok(&ctx, server, &ov0).await, 0);
        assert_eq!(read(&ctx, server, 8).await, b"abc", "the data is still there");
        0
    });
}

/// §16.3, §10.7 (ntdll pipe.c :: test_completion, "event with no APC nor completion:
/// signals only event"): when the OVERLAPPED has an event, completion signals only the
/// event; the file handle, made nonsignalled when the read started (§16.2), stays so.
#[test]
fn completion_with_an_event_leaves_the_file_handle_nonsignalled() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        assert!(!signalled(&ctx, server).await);
        write(&ctx, client, b"hello").await;
        assert!(signalled(&ctx, ev).await, "the event is signalled");
        assert!(!signalled(&ctx, server).await, "with an event, the file handle is not signalled");
        0
    });
}

/// §16.4, §3.9, §3.10 (pipe.c :: test_ReadFile and serverThreadMain4): a call that fails
/// at once returns its own error, not ERROR_IO_PENDING; it queues no packet and leaves
/// Internal STATUS_PENDING, so HasOverlappedIoCompleted stays FALSE (§16.14). After the
/// client closed: WriteFile 232, ReadFile 109; after DisconnectNamedPipe: 233 for both.
#[test]
fn a_failure_at_once_queues_nothing_and_leaves_internal_pending() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 1).await;
        assert_eq!(ctx.close_handle(client).await, TRUE);
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file_overlapped(server, b"x", Some(&mut n), &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NO_DATA);
        assert_eq!(n, 0);
        assert_eq!(ov.internal(), STATUS_PENDING);
        assert!(!HasOverlappedIoCompleted(&ov));
        assert!(!signalled(&ctx, ev).await);
        let ov2 = Overlapped::new(HANDLE::NULL);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(server, &IoBuffer::new(8), None, &ov2).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
        assert_eq!(ov2.internal(), STATUS_PENDING);
        expect_no_packet(&ctx, port).await;

        let s2 = server_with(&ctx, NAME2, BYTE_WAIT, 1024).await;
        let _c2 = client_with(&ctx, NAME2, 0).await;
        assert_eq!(ctx.disconnect_named_pipe(s2).await, TRUE);
        for write in [false, true] {
            let ov = Overlapped::new(HANDLE::NULL);
            ctx.set_last_error(SENTINEL);
            let ok = if write {
                ctx.write_file_overlapped(s2, b"x", None, &ov).await
            } else {
                ctx.read_file_overlapped(s2, &IoBuffer::new(8), None, &ov).await
            };
            assert_eq!(ok, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_PIPE_NOT_CONNECTED, "write={write}");
            assert_eq!(ov.internal(), STATUS_PENDING);
        }
        0
    });
}

/// §16.4 (ReactOS kernel32 client/file/rw.c and npipe.c, written after Windows: ReadFile,
/// WriteFile, ReadFileEx, WriteFileEx and ConnectNamedPipe store STATUS_PENDING in
/// Internal before they call the NT service): a call whose handle is closed fails before
/// the I/O manager has the request, and the OVERLAPPED it was given keeps Internal
/// STATUS_PENDING, whatever an earlier operation left there, so GetOverlappedResult
/// without waiting reports ERROR_IO_INCOMPLETE (found by the native differential,
/// random_async seeds 24 and 59, where Wine 8.0 does the same).
#[test]
fn a_call_on_a_closed_handle_still_marks_its_overlapped_pending() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file_overlapped(server, b"ab", Some(&mut n), &ov).await, TRUE);
        assert_eq!(ov.internal(), 0, "the write completed");
        assert_eq!(ctx.close_handle(server).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.write_file_overlapped(server, b"c", None, &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ov.internal(), STATUS_PENDING);
        assert!(!HasOverlappedIoCompleted(&ov));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_overlapped_result(server, &ov, &mut n, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_INCOMPLETE);
        // A read and a connect through a closed handle do the same to a fresh OVERLAPPED.
        let (ov2, ov3) = (Overlapped::new(HANDLE::NULL), Overlapped::new(HANDLE::NULL));
        assert_eq!(ctx.read_file_overlapped(server, &IoBuffer::new(4), None, &ov2).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ov2.internal(), STATUS_PENDING);
        assert_eq!(ctx.connect_named_pipe(server, Some(&ov3)).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        assert_eq!(ov3.internal(), STATUS_PENDING);
        assert_eq!(ctx.close_handle(client).await, TRUE);
        0
    });
}

/// §16.5, §5.6 (pipe.c :: test_ReadFile, overlapped_read_sync): a message read into a
/// buffer too small is a warning: FALSE, ERROR_MORE_DATA, count 0, Internal
/// STATUS_BUFFER_OVERFLOW, InternalHigh the bytes copied; GetOverlappedResult → FALSE, 234
/// with that count. At once and after pending alike; the rest is read next.
#[test]
fn a_short_message_read_is_a_warning_with_buffer_overflow() {
    check(|ctx| async move {
        let server = server_with(&ctx, NAME, MSG_WAIT, 1024).await;
        let client = client_with(&ctx, NAME, 0).await;
        write(&ctx, client, b"0123456789").await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(4);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(server, &buf, Some(&mut n), &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_MORE_DATA);
        assert_eq!(n, 0, "the count output stays 0 on FALSE");
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_BUFFER_OVERFLOW, 4));
        assert_eq!(buf.to_vec(), b"0123");
        assert_eq!(result(&ctx, server, &ov).await, (FALSE, 4, ERROR_MORE_DATA));
        let rest = IoBuffer::new(16);
        let ov2 = Overlapped::new(HANDLE::NULL);
        let mut n2 = SENTINEL;
        assert_eq!(ctx.read_file_overlapped(server, &rest, Some(&mut n2), &ov2).await, TRUE);
        assert_eq!((n2, rest.head(6)), (6, b"456789".to_vec()));

        // Pending, then completed by a message longer than the buffer.
        let ev = manual_event(&ctx, false).await;
        let ov3 = Overlapped::new(ev);
        let buf3 = IoBuffer::new(4);
        read_pending(&ctx, server, &buf3, &ov3).await;
        write(&ctx, client, b"abcdefgh").await;
        assert!(signalled(&ctx, ev).await);
        assert_eq!((ov3.internal(), ov3.internal_high()), (STATUS_BUFFER_OVERFLOW, 4));
        assert_eq!(buf3.to_vec(), b"abcd");
        assert_eq!(result(&ctx, server, &ov3).await, (FALSE, 4, ERROR_MORE_DATA));
        0
    });
}

/// §16.6 (pipe.c :: test_overlapped, serverThreadMain3 and serverThreadMain5): a NULL
/// OVERLAPPED on an overlapped handle is accepted and the call is synchronous: ReadFile
/// blocks until data arrives, ConnectNamedPipe until a client opens, and a WriteFile that
/// fits returns TRUE at once.
#[test]
fn a_null_overlapped_on_an_overlapped_handle_behaves_synchronously() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let t = spawn(&ctx, move |t| async move {
            t.sleep(5).await;
            write(&t, client, b"late").await;
            0
        })
        .await;
        let before = ctx.get_tick_count().await;
        assert_eq!(read(&ctx, server, 8).await, b"late");
        assert_eq!(ctx.get_tick_count().await - before, 5, "the read waited for the data");
        join(&ctx, t).await;

        let s2 = server_with(&ctx, NAME2, BYTE_WAIT, 1024).await;
        let t2 = spawn(&ctx, move |t| async move {
            t.sleep(5).await;
            let _ = client_with(&t, NAME2, 0).await;
            0
        })
        .await;
        let before = ctx.get_tick_count().await;
        assert_eq!(ctx.connect_named_pipe(s2, None).await, TRUE, "error {}", ctx.get_last_error());
        assert_eq!(ctx.get_tick_count().await - before, 5, "ConnectNamedPipe waited for the client");
        join(&ctx, t2).await;

        write(&ctx, server, b"fits").await;
        assert_eq!(read(&ctx, client, 8).await, b"fits");
        0
    });
}

// ----- collecting the result -------------------------------------------------------------

/// §16.11 (file.c :: test_overlapped; pipe.c :: serverThreadMain3): GetOverlappedResult
/// without waiting on a pending operation → FALSE, ERROR_IO_INCOMPLETE, at once, even when
/// the event was set by hand: it decides from Internal. §16.14: HasOverlappedIoCompleted
/// is FALSE meanwhile.
#[test]
fn get_overlapped_result_without_waiting_is_incomplete_even_with_the_event_set() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        read_pending(&ctx, server, &buf, &ov).await;
        assert_eq!(result(&ctx, server, &ov).await.2, ERROR_IO_INCOMPLETE);
        assert_eq!(ctx.set_event(ev).await, TRUE);
        let before = ctx.get_tick_count().await;
        let (ok, _, e) = result(&ctx, server, &ov).await;
        assert_eq!((ok, e), (FALSE, ERROR_IO_INCOMPLETE), "Internal is still STATUS_PENDING");
        assert_eq!(ctx.get_tick_count().await, before);
        assert!(!HasOverlappedIoCompleted(&ov));
        write(&ctx, client, b"xy").await;
        assert_eq!(result_ok(&ctx, server, &ov).await, 2);
        0
    });
}

/// §16.12 (GetOverlappedResult doc): with bWait TRUE a pending operation is waited for,
/// on hEvent when there is one and on the file handle otherwise, then the result is
/// reported as for a completed one.
#[test]
fn get_overlapped_result_with_wait_blocks_until_completion() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        for with_event in [true, false] {
            let ev = if with_event { manual_event(&ctx, false).await } else { HANDLE::NULL };
            let ov = Overlapped::new(ev);
            let buf = IoBuffer::new(8);
            read_pending(&ctx, server, &buf, &ov).await;
            let t = spawn(&ctx, move |t| async move {
                t.sleep(5).await;
                write(&t, client, b"abc").await;
                0
            })
            .await;
            let before = ctx.get_tick_count().await;
            let mut n = SENTINEL;
            assert_eq!(ctx.get_overlapped_result(server, &ov, &mut n, true).await, TRUE, "event={with_event}");
            assert_eq!(n, 3);
            assert_eq!(ctx.get_tick_count().await - before, 5, "it waited for the completion");
            assert_eq!(buf.head(3), b"abc");
            join(&ctx, t).await;
        }
        0
    });
}

/// §16.10 (file.c :: test_overlapped passes hFile 0): for a completed operation
/// GetOverlappedResult reads only the OVERLAPPED: the count is InternalHigh and the result
/// follows Internal, whatever the file handle (NULL here); a cancelled one → FALSE, 995,
/// count 0.
#[test]
fn get_overlapped_result_of_a_completed_operation_does_not_look_at_the_handle() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        write(&ctx, client, b"abcd").await;
        let ov = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.read_file_overlapped(server, &IoBuffer::new(8), None, &ov).await, TRUE);
        let (ok, n, e) = result(&ctx, HANDLE::NULL, &ov).await;
        assert_eq!((ok, n), (TRUE, 4), "error {e}");

        let ov2 = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        assert_eq!(result(&ctx, HANDLE::NULL, &ov2).await, (FALSE, 0, ERROR_OPERATION_ABORTED));
        0
    });
}

/// §16.13 (pipe.c :: test_GetOverlappedResultEx): on a pending operation, a 0 ms
/// GetOverlappedResultEx → FALSE, 996, and runs no APC even alertable; 10 ms not alertable
/// → FALSE with last error WAIT_TIMEOUT (258) after 10 ms, the APC still queued; 10 ms
/// alertable → FALSE, WAIT_IO_COMPLETION (192), and the APC ran.
#[test]
fn get_overlapped_result_ex_times_out_with_258_and_is_ended_by_apcs_when_alertable() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let ov = Overlapped::new(manual_event(&ctx, false).await);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        let log = Log::default();
        queue_log(&ctx, ctx.get_current_thread(), &log, 1).await;
        let mut n = SENTINEL;
        for alertable in [false, true] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_overlapped_result_ex(server, &ov, &mut n, 0, alertable).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_IO_INCOMPLETE, "0 ms, alertable={alertable}");
        }
        assert!(log.borrow().is_empty(), "a 0 ms GetOverlappedResultEx runs no APC");
        let before = ctx.get_tick_count().await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_overlapped_result_ex(server, &ov, &mut n, 10, false).await, FALSE);
        assert_eq!(ctx.get_last_error(), WAIT_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await - before, 10);
        assert!(log.borrow().is_empty());
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_overlapped_result_ex(server, &ov, &mut n, 10, true).await, FALSE);
        assert_eq!(ctx.get_last_error(), WAIT_IO_COMPLETION);
        assert_eq!(*log.borrow(), vec![1]);
        assert!(!HasOverlappedIoCompleted(&ov));
        0
    });
}

// ----- cancelling ------------------------------------------------------------------------

/// §16.15 (CancelIo doc): CancelIo cancels only the I/O the calling thread issued on the
/// file: the main thread's read completes with 995 (event signalled, count 0), another
/// thread's read on the same handle stays pending and the next write completes it.
#[test]
fn cancel_io_cancels_only_the_calling_threads_io() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ev1 = manual_event(&ctx, false).await;
        let ov1 = Overlapped::new(ev1);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov1).await;
        let go = manual_event(&ctx, false).await;
        let ev2 = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev2);
        let buf2 = IoBuffer::new(8);
        let (o, b) = (ov2.clone(), buf2.clone());
        let t = spawn(&ctx, move |t| async move {
            read_pending(&t, server, &b, &o).await;
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        assert!(signalled(&ctx, ev1).await);
        assert_eq!(ov1.internal(), STATUS_CANCELLED);
        assert_eq!(result(&ctx, server, &ov1).await, (FALSE, 0, ERROR_OPERATION_ABORTED));
        assert!(!HasOverlappedIoCompleted(&ov2), "the other thread's read is not cancelled");
        assert!(!signalled(&ctx, ev2).await);
        write(&ctx, client, b"x").await;
        assert_eq!((ov2.internal(), ov2.internal_high()), (STATUS_SUCCESS, 1));
        assert_eq!(buf2.head(1), b"x");
        assert_eq!(ctx.set_event(go).await, TRUE);
        join(&ctx, t).await;
        0
    });
}

/// §16.15 (pipe.c :: test_overlapped, overlapped_server): CancelIo of a pending overlapped
/// ConnectNamedPipe signals its event and GetOverlappedResult → FALSE, 995; CancelIo with
/// nothing left to cancel still returns TRUE (ntdll pipe.c :: test_cancelio).
#[test]
fn cancel_io_of_a_pending_connect_completes_it_with_995() {
    check(|ctx| async move {
        let server = server(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.connect_named_pipe(server, Some(&ov)).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        assert!(signalled(&ctx, ev).await);
        assert_eq!(ov.internal(), STATUS_CANCELLED);
        let (ok, _, e) = result(&ctx, server, &ov).await;
        assert_eq!((ok, e), (FALSE, ERROR_OPERATION_ABORTED));
        assert_eq!(ctx.cancel_io(server).await, TRUE, "nothing left: still TRUE");
        0
    });
}

/// §16.16 (CancelIoEx doc): CancelIoEx with no OVERLAPPED cancels the pending I/O on the
/// file issued by any thread of the process.
#[test]
fn cancel_io_ex_without_an_overlapped_cancels_every_threads_io() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let ov1 = Overlapped::new(manual_event(&ctx, false).await);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov1).await;
        let go = manual_event(&ctx, false).await;
        let ev2 = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev2);
        let o = ov2.clone();
        let t = spawn(&ctx, move |t| async move {
            read_pending(&t, server, &IoBuffer::new(8), &o).await;
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(ctx.cancel_io_ex(server, None).await, TRUE);
        for ov in [&ov1, &ov2] {
            assert_eq!(ov.internal(), STATUS_CANCELLED);
            assert_eq!(result(&ctx, server, ov).await, (FALSE, 0, ERROR_OPERATION_ABORTED));
        }
        assert!(signalled(&ctx, ev2).await, "the other thread's event is signalled");
        assert_eq!(ctx.set_event(go).await, TRUE);
        join(&ctx, t).await;
        0
    });
}

/// §16.16 (pipe.c :: test_blocking_rw, cancel_overlapped; ntdll pipe.c :: test_cancelio):
/// CancelIoEx with an OVERLAPPED cancels only that operation, completely when it returns
/// (event set, FALSE, 995, count 0); the other read stays pending and the next write
/// completes it. Cancelling it again, or with nothing pending → FALSE, ERROR_NOT_FOUND.
#[test]
fn cancel_io_ex_with_an_overlapped_cancels_only_that_operation() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ov1 = Overlapped::new(manual_event(&ctx, false).await);
        let buf1 = IoBuffer::new(8);
        read_pending(&ctx, server, &buf1, &ov1).await;
        let ev2 = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev2);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        assert_eq!(ctx.cancel_io_ex(server, Some(&ov2)).await, TRUE);
        assert!(signalled(&ctx, ev2).await);
        assert_eq!(result(&ctx, server, &ov2).await, (FALSE, 0, ERROR_OPERATION_ABORTED));
        assert!(!HasOverlappedIoCompleted(&ov1), "the first read is still pending");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_io_ex(server, Some(&ov2)).await, FALSE, "cancelling the same operation twice");
        assert_eq!(ctx.get_last_error(), ERROR_NOT_FOUND);
        write(&ctx, client, b"ab").await;
        assert_eq!(result_ok(&ctx, server, &ov1).await, 2);
        assert_eq!(buf1.head(2), b"ab");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_io_ex(server, None).await, FALSE, "nothing pending");
        assert_eq!(ctx.get_last_error(), ERROR_NOT_FOUND);
        0
    });
}

/// §16.17, §2.9 (pipe.c :: test_blocking_rw, "partially read written data before
/// canceling"): cancelling a pending write removes its unread bytes, also when the reader
/// took part of them; the next write's data is the head of the pipe.
#[test]
fn a_cancelled_write_loses_its_unread_bytes() {
    check(|ctx| async move {
        let server = server_with(&ctx, NAME, BYTE_WAIT, 4).await;
        let client = client_with(&ctx, NAME, 0).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        write_pending(&ctx, server, b"0123456789", &ov).await;
        assert_eq!(read(&ctx, client, 2).await, b"01");
        assert!(!HasOverlappedIoCompleted(&ov), "8 bytes unread: more than the quota");
        assert_eq!(ctx.cancel_io_ex(server, Some(&ov)).await, TRUE);
        assert!(signalled(&ctx, ev).await);
        let (ok, _, e) = result(&ctx, server, &ov).await;
        assert_eq!((ok, e), (FALSE, ERROR_OPERATION_ABORTED));
        let mut avail = SENTINEL;
        assert_eq!(ctx.peek_named_pipe(client, None, None, Some(&mut avail), None).await, TRUE);
        assert_eq!(avail, 0, "the cancelled write's unread bytes are gone");
        write(&ctx, server, b"xyz").await;
        assert_eq!(read(&ctx, client, 16).await, b"xyz");
        0
    });
}

/// §16.1, §16.2 and §16.17 (pipe.c :: test_transact, "cancel keeps written data"): an
/// overlapped TransactNamedPipe pends until the reply comes and then puts it in the
/// buffer; a cancelled one (995) keeps the message it already wrote.
#[test]
fn an_overlapped_transact_pends_for_the_reply_and_a_cancelled_one_keeps_its_message() {
    check(|ctx| async move {
        let server = server_with(&ctx, NAME, MSG_WAIT, 1024).await;
        let client = client_with(&ctx, NAME, FILE_FLAG_OVERLAPPED).await;
        let ok = ctx.set_named_pipe_handle_state(client, Some(PIPE_READMODE_MESSAGE), None, None).await;
        assert_eq!(ok, TRUE);
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let reply = IoBuffer::new(16);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.transact_named_pipe_overlapped(client, b"ping", &reply, &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        assert_eq!(ov.internal(), STATUS_PENDING);
        assert_eq!(read(&ctx, server, 16).await, b"ping");
        assert!(!signalled(&ctx, ev).await);
        write(&ctx, server, b"pong").await;
        assert!(signalled(&ctx, ev).await);
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_SUCCESS, 4));
        assert_eq!(reply.head(4), b"pong");
        assert_eq!(result_ok(&ctx, client, &ov).await, 4);

        let ov2 = Overlapped::new(manual_event(&ctx, false).await);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.transact_named_pipe_overlapped(client, b"ping2", &IoBuffer::new(16), &ov2).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        assert_eq!(ctx.cancel_io_ex(client, Some(&ov2)).await, TRUE);
        let (ok, _, e) = result(&ctx, client, &ov2).await;
        assert_eq!((ok, e), (FALSE, ERROR_OPERATION_ABORTED));
        assert_eq!(read(&ctx, server, 16).await, b"ping2", "the written message stays");
        0
    });
}

/// §16.18 (pipe.c :: test_CancelSynchronousIo): CancelSynchronousIo of a thread blocked
/// in a synchronous ReadFile → TRUE without touching the last error, and the ReadFile
/// fails with 995; with no synchronous I/O in progress → FALSE, ERROR_NOT_FOUND, for the
/// calling thread itself and for a thread waiting on the event of its overlapped
/// ConnectNamedPipe (a wait is not I/O).
#[test]
fn cancel_synchronous_io_aborts_the_blocked_call_or_finds_nothing() {
    check(|ctx| async move {
        let (_server, client) = pair(&ctx).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut buf = [0u8; 8];
            let mut n = SENTINEL;
            t.set_last_error(SENTINEL);
            let ok = t.read_file(client, &mut buf, Some(&mut n)).await;
            g.set(Some((ok, t.get_last_error(), n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "the read blocks");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_synchronous_io(t).await, TRUE);
        assert_eq!(ctx.get_last_error(), SENTINEL, "the last error is not changed");
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_OPERATION_ABORTED, 0)));

        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_synchronous_io(ctx.get_current_thread()).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_FOUND);

        let s2 = server_with(&ctx, NAME2, BYTE_WAIT, 1024).await;
        let t2 = spawn(&ctx, move |t| async move {
            let ev = manual_event(&t, false).await;
            let ov = Overlapped::new(ev);
            t.set_last_error(SENTINEL);
            assert_eq!(t.connect_named_pipe(s2, Some(&ov)).await, FALSE);
            assert_eq!(t.get_last_error(), ERROR_IO_PENDING);
            assert_eq!(t.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(result_ok(&t, s2, &ov).await, 0);
            0
        })
        .await;
        settle(&ctx).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.cancel_synchronous_io(t2).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_FOUND);
        let _c2 = client_with(&ctx, NAME2, 0).await;
        assert_eq!(join(&ctx, t2).await, 0);
        0
    });
}

// ----- thread exit -----------------------------------------------------------------------

/// §16.19 (ExitThread doc): a thread that exits cancels its pending I/O on a file not
/// associated with a completion port: the read completes with STATUS_CANCELLED, its event
/// is signalled and GetOverlappedResult → FALSE, 995, count 0.
#[test]
fn thread_exit_cancels_its_pending_io() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        let o = ov.clone();
        let t = spawn(&ctx, move |t| async move {
            read_pending(&t, server, &IoBuffer::new(8), &o).await;
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(ov.internal(), STATUS_CANCELLED);
        assert!(signalled(&ctx, ev).await);
        assert_eq!(result(&ctx, server, &ov).await, (FALSE, 0, ERROR_OPERATION_ABORTED));
        0
    });
}

/// §16.19 (ExitThread doc, "not associated with a completion port"), §16.24: I/O on a
/// file associated with a port survives the thread that issued it and completes normally,
/// with its packet (bytes, key, OVERLAPPED).
#[test]
fn thread_exit_keeps_io_on_a_file_associated_with_a_port() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 33).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(8);
        let (o, b) = (ov.clone(), buf.clone());
        let t = spawn(&ctx, move |t| async move {
            read_pending(&t, server, &b, &o).await;
            0
        })
        .await;
        join(&ctx, t).await;
        assert!(!HasOverlappedIoCompleted(&ov), "not cancelled by the thread's exit");
        expect_no_packet(&ctx, port).await;
        write(&ctx, client, b"late").await;
        expect_packet(&ctx, port, 4, 33, Some(&ov)).await;
        assert_eq!(buf.head(4), b"late");
        0
    });
}

// ----- overlapped ConnectNamedPipe ----------------------------------------------------------

/// §6.9, §16.2, §16.4 (pipe.c :: create_overlapped_pipe, test_overlapped_error): an
/// overlapped ConnectNamedPipe with no client → FALSE, 997, event and server handle
/// nonsignalled; the client's CreateFile completes it: event signalled,
/// GetOverlappedResult → TRUE, 0 bytes. Once a client is connected it → FALSE,
/// ERROR_PIPE_CONNECTED at once, Internal stays STATUS_PENDING (so GetOverlappedResult
/// says 996) and the event is not signalled.
#[test]
fn an_overlapped_connect_pends_until_a_client_opens_then_fails_with_535() {
    check(|ctx| async move {
        let server = server(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.connect_named_pipe(server, Some(&ov)).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_IO_PENDING);
        assert_eq!(ov.internal(), STATUS_PENDING);
        assert!(!signalled(&ctx, ev).await);
        assert!(!signalled(&ctx, server).await, "the server handle is nonsignalled while it pends");
        let _client = client_with(&ctx, NAME, 0).await;
        assert!(signalled(&ctx, ev).await, "the client's CreateFile completes the connect");
        assert_eq!(ov.internal(), STATUS_SUCCESS);
        assert_eq!(result_ok(&ctx, server, &ov).await, 0);

        let ev2 = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev2);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.connect_named_pipe(server, Some(&ov2)).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_CONNECTED);
        assert_eq!(ov2.internal(), STATUS_PENDING);
        assert!(!HasOverlappedIoCompleted(&ov2));
        assert!(!signalled(&ctx, ev2).await, "the event is not signalled");
        assert_eq!(result(&ctx, server, &ov2).await.2, ERROR_IO_INCOMPLETE);
        0
    });
}

// ----- completion ports ------------------------------------------------------------------

/// §16.22 (CreateIoCompletionPort doc; pipe.c :: serverThreadMain4): INVALID_HANDLE_VALUE
/// with no port makes a new port; a file with an existing port is associated and the port
/// handle itself is returned; a file with no port makes a new port associated with it, whose
/// packets carry the key given. §16.23 (Windows Research Kernel qsinfo.c,
/// NtSetInformationFile): a file already associated (with the same port or another) and a
/// synchronous file object (a client opened without FILE_FLAG_OVERLAPPED, an anonymous
/// pipe) cannot be associated: NULL, ERROR_INVALID_PARAMETER.
#[test]
fn create_io_completion_port_creates_and_associates_each_file_once() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        assert_eq!(ctx.create_io_completion_port(server, port, 5, 0).await, port);

        let s2 = server_with(&ctx, NAME2, BYTE_WAIT, 1024).await;
        let p2 = ctx.create_io_completion_port(s2, HANDLE::NULL, 9, 0).await;
        assert!(!p2.is_null() && p2 != INVALID_HANDLE_VALUE, "error {}", ctx.get_last_error());
        assert_ne!(p2, port, "a new port");
        let c2 = client_with(&ctx, NAME2, 0).await;
        write(&ctx, c2, b"k").await;
        let ov = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.read_file_overlapped(s2, &IoBuffer::new(8), None, &ov).await, TRUE);
        expect_packet(&ctx, p2, 1, 9, Some(&ov)).await;
        expect_no_packet(&ctx, port).await;

        let (r, _w) = pipe(&ctx, 0).await;
        for (what, file, p) in [
            ("again", server, port),
            ("another port", server, p2),
            ("sync client", client, port),
            ("CreatePipe", r, port),
        ] {
            ctx.set_last_error(SENTINEL);
            let h = ctx.create_io_completion_port(file, p, 2, 0).await;
            assert!(h.is_null(), "{what}: returned {h}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER, "{what}");
        }
        0
    });
}

/// §16.25 (pipe.c :: test_exit_process_async): the packet of a failed (here cancelled)
/// operation → FALSE with the OVERLAPPED, the key, count 0, last error 995.
#[test]
fn the_packet_of_a_failed_operation_gives_false_with_its_error() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 123).await;
        let ov = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        let (ok, n, key, got, e) = dequeue(&ctx, port, 0).await;
        assert_eq!(ok, FALSE);
        assert_eq!((n, key, e), (0, 123, ERROR_OPERATION_ABORTED));
        assert_eq!(got.as_ref(), Some(&ov), "FALSE with an OVERLAPPED: a failed operation's packet");
        0
    });
}

/// §16.26 (pipe.c :: serverThreadMain4; ntdll pipe.c :: test_no_queued_completion): no
/// packet within the time-out → FALSE, the OVERLAPPED set to NULL, last error WAIT_TIMEOUT
/// (258); the count and key are not written. 0 ms returns at once, 10 ms after 10 ms.
#[test]
fn get_queued_completion_status_times_out_with_258_and_no_overlapped() {
    check(|ctx| async move {
        let port = new_port(&ctx).await;
        for ms in [0, 10] {
            let before = ctx.get_tick_count().await;
            let (ok, n, key, got, e) = dequeue(&ctx, port, ms).await;
            assert_eq!(ok, FALSE);
            assert!(got.is_none(), "the OVERLAPPED is set to NULL");
            assert_eq!(e, WAIT_TIMEOUT);
            assert_eq!((n, key), (SENTINEL, usize::MAX), "count and key untouched");
            assert_eq!(ctx.get_tick_count().await - before, ms);
        }
        0
    });
}

/// §16.27 (GetQueuedCompletionStatus doc): closing the port handle while a thread waits
/// in GetQueuedCompletionStatus → FALSE, OVERLAPPED NULL, ERROR_ABANDONED_WAIT_0 (735); a
/// later call with the closed handle fails with error 6 [inferred, §7.6].
#[test]
fn closing_the_port_ends_a_waiting_get_queued_completion_status_with_735() {
    check(|ctx| async move {
        let port = new_port(&ctx).await;
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let (ok, _, _, ov, e) = dequeue(&t, port, INFINITE).await;
            *g.borrow_mut() = Some((ok, ov.is_none(), e));
            0
        })
        .await;
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the waiter blocks");
        assert_eq!(ctx.close_handle(port).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(*got.borrow(), Some((FALSE, true, ERROR_ABANDONED_WAIT_0)));
        let (ok, _, _, _, e) = dequeue(&ctx, port, 0).await;
        assert_eq!((ok, e), (FALSE, ERROR_INVALID_HANDLE));
        0
    });
}

/// §16.28, §16.29 (PostQueuedCompletionStatus doc; I/O completion ports doc): posted
/// packets come back in FIFO order with exactly the values posted, an absent OVERLAPPED
/// included (TRUE with NULL is a posted packet).
#[test]
fn posted_packets_come_back_in_order_and_unchanged() {
    check(|ctx| async move {
        let port = new_port(&ctx).await;
        let ov = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.post_queued_completion_status(port, 10, 1, None).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 20, 2, Some(&ov)).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 30, 3, None).await, TRUE);
        expect_packet(&ctx, port, 10, 1, None).await;
        expect_packet(&ctx, port, 20, 2, Some(&ov)).await;
        expect_packet(&ctx, port, 30, 3, None).await;
        expect_no_packet(&ctx, port).await;
        0
    });
}

/// §16.29, §16.30 (I/O completion ports doc; WRK queueobj.c, KeRemoveQueue): threads
/// waiting on a port are served LIFO: the thread that started waiting last gets the next
/// packet.
#[test]
fn threads_waiting_on_a_port_are_served_last_in_first_out() {
    check(|ctx| async move {
        let port = new_port(&ctx).await;
        let got: Rc<RefCell<Vec<(char, usize)>>> = Rc::default();
        let mut threads = Vec::new();
        for name in ['A', 'B'] {
            let g = got.clone();
            threads.push(
                spawn(&ctx, move |t| async move {
                    let (ok, _, key, _, _) = dequeue(&t, port, INFINITE).await;
                    assert_eq!(ok, TRUE);
                    g.borrow_mut().push((name, key));
                    0
                })
                .await,
            );
            settle(&ctx).await;
        }
        assert_eq!(ctx.post_queued_completion_status(port, 0, 1, None).await, TRUE);
        settle(&ctx).await;
        assert_eq!(*got.borrow(), vec![('B', 1)], "the last waiter gets the first packet");
        assert_eq!(ctx.post_queued_completion_status(port, 0, 2, None).await, TRUE);
        for t in threads {
            join(&ctx, t).await;
        }
        assert_eq!(*got.borrow(), vec![('B', 1), ('A', 2)]);
        0
    });
}

/// §16.31 (GetQueuedCompletionStatusEx doc): it removes up to the entries' count at once,
/// oldest first, and sets the number removed; TRUE also when an entry is a failed
/// operation's; nothing within the time-out → FALSE, 0 removed, WAIT_TIMEOUT.
#[test]
fn get_queued_completion_status_ex_removes_several_packets() {
    check(|ctx| async move {
        let port = new_port(&ctx).await;
        let ov = Overlapped::new(HANDLE::NULL);
        for (bytes, key, o) in [(10, 1, None), (20, 2, Some(&ov)), (30, 3, None)] {
            assert_eq!(ctx.post_queued_completion_status(port, bytes, key, o).await, TRUE);
        }
        let mut entries = vec![OVERLAPPED_ENTRY::default(); 2];
        let mut removed = SENTINEL;
        assert_eq!(ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await, TRUE);
        assert_eq!(removed, 2);
        let e = &entries;
        assert_eq!((e[0].lpCompletionKey, e[0].dwNumberOfBytesTransferred, e[0].lpOverlapped.is_none()), (1, 10, true));
        assert_eq!((e[1].lpCompletionKey, e[1].dwNumberOfBytesTransferred), (2, 20));
        assert_eq!(e[1].lpOverlapped.as_ref(), Some(&ov));
        assert_eq!(ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await, TRUE);
        assert_eq!((removed, entries[0].lpCompletionKey), (1, 3));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await, FALSE);
        assert_eq!(removed, 0);
        assert_eq!(ctx.get_last_error(), WAIT_TIMEOUT);

        let (server, _client) = pair(&ctx).await;
        associate(&ctx, server, port, 7).await;
        let ov2 = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        assert_eq!(ctx.cancel_io_ex(server, Some(&ov2)).await, TRUE);
        let ok = ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await;
        assert_eq!(ok, TRUE, "a failed operation's packet still makes it TRUE");
        assert_eq!((removed, entries[0].lpCompletionKey, entries[0].dwNumberOfBytesTransferred), (1, 7, 0));
        assert_eq!(entries[0].lpOverlapped.as_ref(), Some(&ov2));
        assert_eq!(entries[0].Internal, STATUS_CANCELLED, "each entry carries its operation's status");
        assert_eq!(e_posted_internal(&ctx, port).await, STATUS_SUCCESS, "a posted packet's status is 0");
        0
    });
}

/// The Internal of a packet posted now and taken by GetQueuedCompletionStatusEx.
async fn e_posted_internal(ctx: &ThreadCtx, port: HANDLE) -> u32 {
    assert_eq!(ctx.post_queued_completion_status(port, 1, 9, None).await, TRUE);
    let mut entries = vec![OVERLAPPED_ENTRY::default(); 1];
    let mut removed = 0;
    assert_eq!(ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await, TRUE);
    entries[0].Internal
}

/// §16.32 (ntdll pipe.c :: test_completion, "skipping completion on success"):
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: an operation that succeeds at once queues no
/// packet; one that pends still does.
#[test]
fn skip_completion_port_on_success_drops_the_packet_of_a_completion_at_once() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 1).await;
        let ok = ctx.set_file_completion_notification_modes(server, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).await;
        assert_eq!(ok, TRUE, "error {}", ctx.get_last_error());
        assert!(signalled(&ctx, server).await);
        write(&ctx, client, b"ab").await;
        let ov = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.read_file_overlapped(server, &IoBuffer::new(8), None, &ov).await, TRUE);
        expect_no_packet(&ctx, port).await;
        let ov2 = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        write(&ctx, client, b"c").await;
        expect_packet(&ctx, port, 1, 1, Some(&ov2)).await;
        0
    });
}

/// §16.32 (ntdll pipe.c :: test_completion, "skipping set event on handle: handle is
/// never signaled"): once FILE_SKIP_SET_EVENT_ON_HANDLE is set, the idle (signalled) file
/// handle is nonsignalled and stays so through a synchronous write.
#[test]
fn setting_skip_set_event_on_handle_leaves_the_handle_nonsignalled() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 1).await;
        assert!(signalled(&ctx, server).await, "idle: signalled (§10.7)");
        let ok = ctx.set_file_completion_notification_modes(server, FILE_SKIP_SET_EVENT_ON_HANDLE).await;
        assert_eq!(ok, TRUE, "error {}", ctx.get_last_error());
        assert!(!signalled(&ctx, server).await, "nonsignalled once the mode is set");
        write(&ctx, server, b"z").await;
        assert!(!signalled(&ctx, server).await, "a synchronous write does not signal it");
        0
    });
}

/// §16.32 (ntdll pipe.c :: test_completion; SetFileCompletionNotificationModes doc): with
/// FILE_SKIP_SET_EVENT_ON_HANDLE a completed read does not signal the file handle (its
/// packet is still queued), an explicit event is still signalled, and a synchronous write
/// does not signal the handle either.
#[test]
fn skip_set_event_on_handle_completions_do_not_signal_the_handle() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 1).await;
        let ok = ctx.set_file_completion_notification_modes(server, FILE_SKIP_SET_EVENT_ON_HANDLE).await;
        assert_eq!(ok, TRUE, "error {}", ctx.get_last_error());
        let ov = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        assert!(!signalled(&ctx, server).await);
        write(&ctx, client, b"xy").await;
        assert_eq!(ov.internal(), STATUS_SUCCESS);
        assert!(!signalled(&ctx, server).await, "a completed read does not signal it");
        expect_packet(&ctx, port, 2, 1, Some(&ov)).await;

        let ev = manual_event(&ctx, false).await;
        let ov2 = Overlapped::new(ev);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov2).await;
        write(&ctx, client, b"w").await;
        assert!(signalled(&ctx, ev).await, "an explicit event is still signalled");
        assert!(!signalled(&ctx, server).await);
        write(&ctx, server, b"z").await;
        assert!(!signalled(&ctx, server).await, "a synchronous write does not signal it");
        0
    });
}

// ----- APCs and alertable waits --------------------------------------------------------------

/// §16.34, §16.35, §16.31 (QueueUserAPC doc; Asynchronous Procedure Calls doc): QueueUserAPC
/// returns nonzero; the APC runs only in an alertable wait: Sleep, WaitForSingleObject,
/// SleepEx / WaitForSingleObjectEx / WaitForMultipleObjectsEx / SignalObjectAndWait with
/// bAlertable FALSE and GetQueuedCompletionStatus run none and keep their own result;
/// the APC stays queued for SleepEx(.., TRUE), which runs it and returns
/// WAIT_IO_COMPLETION.
#[test]
fn an_apc_runs_only_in_an_alertable_wait() {
    check(|ctx| async move {
        let log = Log::default();
        queue_log(&ctx, ctx.get_current_thread(), &log, 1).await;
        let unset = manual_event(&ctx, false).await;
        let set = manual_event(&ctx, true).await;
        let port = new_port(&ctx).await;
        ctx.sleep(5).await;
        assert_eq!(ctx.wait_for_single_object(unset, 5).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_single_object(set, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.sleep_ex(5, false).await, 0);
        assert_eq!(ctx.wait_for_single_object_ex(unset, 5, false).await, WAIT_TIMEOUT);
        assert_eq!(ctx.wait_for_multiple_objects_ex(&[unset], false, 5, false).await, WAIT_TIMEOUT);
        assert_eq!(ctx.signal_object_and_wait(set, unset, 5, false).await, WAIT_TIMEOUT);
        expect_no_packet(&ctx, port).await;
        let (ok, _, _, _, e) = dequeue(&ctx, port, 5).await;
        assert_eq!((ok, e), (FALSE, WAIT_TIMEOUT_ERROR), "GetQueuedCompletionStatus is not alertable");
        assert!(log.borrow().is_empty(), "no non-alertable wait ran the APC");
        assert_eq!(ctx.sleep_ex(100, true).await, WAIT_IO_COMPLETION);
        assert_eq!(*log.borrow(), vec![1]);
        0
    });
}

/// §16.36, §16.37 (QueueUserAPC doc; sync.c :: test_QueueUserAPC): an alertable wait runs
/// every queued APC, oldest first, an APC queued by an APC included, and returns
/// WAIT_IO_COMPLETION; SleepEx(0, TRUE) with APCs queued does so at once; with none left
/// SleepEx(0, TRUE) returns 0.
#[test]
fn an_alertable_wait_runs_every_apc_in_order_then_returns_192() {
    check(|ctx| async move {
        let log = Log::default();
        let me = ctx.get_current_thread();
        queue_log(&ctx, me, &log, 1).await;
        let l = log.clone();
        let r = ctx
            .queue_user_apc(
                move |c, d| async move {
                    l.borrow_mut().push(d);
                    let l2 = l.clone();
                    let me = c.get_current_thread();
                    assert_ne!(c.queue_user_apc(move |_, d| async move { l2.borrow_mut().push(d) }, me, 4).await, 0);
                },
                me,
                2,
            )
            .await;
        assert_ne!(r, 0);
        queue_log(&ctx, me, &log, 3).await;
        let before = ctx.get_tick_count().await;
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(ctx.get_tick_count().await, before);
        assert_eq!(*log.borrow(), vec![1, 2, 3, 4]);
        assert_eq!(ctx.sleep_ex(0, true).await, 0, "nothing left to run");
        0
    });
}

/// §16.35, §16.36 (QueueUserAPC doc): an APC queued to a thread blocked in an alertable
/// wait (SleepEx, WaitForMultipleObjectsEx, SignalObjectAndWait) ends the wait; the APC runs
/// on that thread and the wait returns WAIT_IO_COMPLETION.
#[test]
fn an_apc_ends_another_threads_alertable_wait_and_runs_there() {
    check(|ctx| async move {
        let unset = manual_event(&ctx, false).await;
        let other = manual_event(&ctx, false).await;
        for kind in 0..3 {
            let code = Rc::new(Cell::new(None));
            let tid = Rc::new(Cell::new(0));
            let (c, i) = (code.clone(), tid.clone());
            let t = spawn(&ctx, move |t| async move {
                i.set(t.get_current_thread_id());
                let r = match kind {
                    0 => t.sleep_ex(INFINITE, true).await,
                    1 => t.wait_for_multiple_objects_ex(&[unset], false, INFINITE, true).await,
                    _ => t.signal_object_and_wait(other, unset, INFINITE, true).await,
                };
                c.set(Some(r));
                0
            })
            .await;
            settle(&ctx).await;
            assert_eq!(code.get(), None, "kind {kind} blocks");
            let ran_on = Rc::new(Cell::new(0));
            let r = ran_on.clone();
            let q = ctx.queue_user_apc(move |c, _| async move { r.set(c.get_current_thread_id()) }, t, 0).await;
            assert_ne!(q, 0);
            join(&ctx, t).await;
            assert_eq!(code.get(), Some(WAIT_IO_COMPLETION), "kind {kind}");
            assert_eq!(ran_on.get(), tid.get(), "the APC ran on the target thread");
        }
        assert!(signalled(&ctx, other).await, "SignalObjectAndWait signalled its object");
        0
    });
}

/// §16.38 (WRK wait.c; sync.c :: test_alertable_wait): an alertable wait that can be
/// satisfied at once takes the object and leaves the APCs queued; an APC that ends a wait
/// and signals the awaited object: the wait still returns WAIT_IO_COMPLETION and the next
/// wait gets WAIT_OBJECT_0.
#[test]
fn a_signalled_object_wins_over_queued_apcs() {
    check(|ctx| async move {
        let log = Log::default();
        queue_log(&ctx, ctx.get_current_thread(), &log, 1).await;
        let set = manual_event(&ctx, true).await;
        let unset = manual_event(&ctx, false).await;
        assert_eq!(ctx.wait_for_single_object_ex(set, INFINITE, true).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wait_for_multiple_objects_ex(&[unset, set], false, 0, true).await, WAIT_OBJECT_0 + 1);
        assert!(log.borrow().is_empty(), "the APC stays queued");
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(*log.borrow(), vec![1]);

        let sem = ctx.create_semaphore(None, 0, 1, None).await;
        assert!(!sem.is_null());
        let codes = Rc::new(RefCell::new(Vec::new()));
        let c = codes.clone();
        let t = spawn(&ctx, move |t| async move {
            let first = t.wait_for_single_object_ex(sem, INFINITE, true).await;
            let second = t.wait_for_single_object(sem, 0).await;
            c.borrow_mut().extend([first, second]);
            0
        })
        .await;
        settle(&ctx).await;
        let q = ctx
            .queue_user_apc(
                move |c, _| async move {
                    assert_eq!(c.release_semaphore(sem, 1, None).await, TRUE);
                },
                t,
                0,
            )
            .await;
        assert_ne!(q, 0);
        join(&ctx, t).await;
        assert_eq!(*codes.borrow(), vec![WAIT_IO_COMPLETION, WAIT_OBJECT_0]);
        0
    });
}

/// §16.34, §16.41 (sync.c :: test_QueueUserAPC; QueueUserAPC and ExitThread docs): the
/// APCs queued to a thread that ends without an alertable wait are discarded, also a
/// ReadFileEx completion routine (its read is cancelled by the exit, §16.19); QueueUserAPC
/// to a thread that has ended → 0, ERROR_GEN_FAILURE (31).
#[test]
fn an_ended_threads_apcs_are_discarded_and_it_takes_no_new_ones() {
    check(|ctx| async move {
        let log = Log::default();
        let go = manual_event(&ctx, false).await;
        let t = spawn(&ctx, move |t| async move {
            assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
            0
        })
        .await;
        settle(&ctx).await;
        queue_log(&ctx, t, &log, 1).await;
        assert_eq!(ctx.set_event(go).await, TRUE);
        join(&ctx, t).await;
        assert!(log.borrow().is_empty(), "the queued APC never ran");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.queue_user_apc(|_, _| async {}, t, 0).await, 0);
        assert_eq!(ctx.get_last_error(), ERROR_GEN_FAILURE);

        let (server, _client) = pair(&ctx).await;
        let routine = Routine::default();
        let ov = Overlapped::new(HANDLE::NULL);
        let (o, r) = (ov.clone(), routine.clone());
        let t2 = spawn(&ctx, move |t| async move {
            assert_eq!(t.read_file_ex(server, &IoBuffer::new(8), &o, recorder(&r)).await, TRUE);
            0
        })
        .await;
        join(&ctx, t2).await;
        assert_eq!(ov.internal(), STATUS_CANCELLED, "the exit cancelled the read");
        assert_eq!(ctx.sleep_ex(0, true).await, 0, "the routine is not queued to another thread");
        assert!(called(&routine).is_none(), "the routine never ran");
        0
    });
}

/// §16.34 (QueueUserAPC doc): an APC queued to a CREATE_SUSPENDED thread runs first when
/// the thread begins, before its thread function.
#[test]
fn an_apc_queued_to_a_suspended_thread_runs_before_its_body() {
    check(|ctx| async move {
        let log: Rc<RefCell<Vec<&'static str>>> = Rc::default();
        let l = log.clone();
        let t = ctx
            .create_thread(
                None,
                0,
                move |_t| async move {
                    l.borrow_mut().push("body");
                    0
                },
                CREATE_SUSPENDED,
                None,
            )
            .await;
        assert!(!t.is_null());
        let l = log.clone();
        assert_ne!(ctx.queue_user_apc(move |_, _| async move { l.borrow_mut().push("apc") }, t, 0).await, 0);
        assert_eq!(ctx.resume_thread(t).await, 1);
        join(&ctx, t).await;
        assert_eq!(*log.borrow(), vec!["apc", "body"]);
        0
    });
}

/// §16.35, §1.7 (pipe.c :: test_CreatePipe): synchronous I/O is not alertable: an APC
/// queued to a thread blocked in ReadFile on an anonymous pipe neither ends the read nor
/// runs; the read completes with the data and the APC runs at the thread's next alertable
/// wait.
#[test]
fn synchronous_io_is_not_alertable() {
    check(|ctx| async move {
        let (r, w) = pipe(&ctx, 0).await;
        let log = Log::default();
        let got = Rc::new(RefCell::new(None));
        let (g, l) = (got.clone(), log.clone());
        let t = spawn(&ctx, move |t| async move {
            let data = read(&t, r, 8).await;
            *g.borrow_mut() = Some((data, l.borrow().len()));
            assert_eq!(t.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
            0
        })
        .await;
        settle(&ctx).await;
        queue_log(&ctx, t, &log, 1).await;
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the APC did not end the read");
        assert!(log.borrow().is_empty());
        write(&ctx, w, b"x").await;
        join(&ctx, t).await;
        assert_eq!(*got.borrow(), Some((b"x".to_vec(), 0)), "the read returned the data, no APC run");
        assert_eq!(*log.borrow(), vec![1]);
        0
    });
}

/// §16.39 (pipe.c :: serverThreadMain5): ReadFileEx returns TRUE for a started read; its
/// routine runs neither inside the call nor in non-alertable waits after the completion,
/// but in the thread's next alertable wait, with (0, bytes, the OVERLAPPED); the data is
/// in the buffer.
#[test]
fn a_read_file_ex_routine_runs_in_the_next_alertable_wait() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let buf = IoBuffer::new(16);
        let ov = Overlapped::new(HANDLE::NULL);
        let routine = Routine::default();
        assert_eq!(ctx.read_file_ex(server, &buf, &ov, recorder(&routine)).await, TRUE);
        assert_eq!(ov.internal(), STATUS_PENDING);
        write(&ctx, client, b"hello").await;
        assert_eq!(ov.internal(), STATUS_SUCCESS);
        settle(&ctx).await;
        ctx.sleep(5).await;
        assert!(called(&routine).is_none(), "not run outside an alertable wait");
        assert_eq!(ctx.sleep_ex(INFINITE, true).await, WAIT_IO_COMPLETION);
        assert_eq!(called(&routine), Some((0, 5, ov.clone())));
        assert_eq!(buf.head(5), b"hello");
        0
    });
}

/// §16.39, §16.37 (pipe.c :: test_readfileex_pending): a ReadFileEx or WriteFileEx that
/// completes at once still queues its routine, which the call does not run; a
/// WaitForSingleObjectEx(unsignalled, 0, TRUE) or SleepEx(0, TRUE) runs it and returns
/// WAIT_IO_COMPLETION.
#[test]
fn a_completion_routine_is_queued_even_when_the_operation_completes_at_once() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        write(&ctx, client, b"abc").await;
        let buf = IoBuffer::new(8);
        let ov = Overlapped::new(HANDLE::NULL);
        let read_routine = Routine::default();
        assert_eq!(ctx.read_file_ex(server, &buf, &ov, recorder(&read_routine)).await, TRUE);
        assert!(called(&read_routine).is_none(), "not called inside ReadFileEx");
        let unset = manual_event(&ctx, false).await;
        assert_eq!(ctx.wait_for_single_object_ex(unset, 0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(called(&read_routine), Some((0, 3, ov.clone())));
        assert_eq!(buf.head(3), b"abc");

        let ov2 = Overlapped::new(HANDLE::NULL);
        let write_routine = Routine::default();
        assert_eq!(ctx.write_file_ex(server, b"xyz", &ov2, recorder(&write_routine)).await, TRUE);
        assert!(called(&write_routine).is_none(), "not called inside WriteFileEx");
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(called(&write_routine), Some((0, 3, ov2.clone())));
        assert_eq!(read(&ctx, client, 8).await, b"xyz");
        0
    });
}

/// §16.39 (pipe.c :: test_readfileex_pending; LPOVERLAPPED_COMPLETION_ROUTINE doc): the
/// routine's error code is 0 for a warning (a short message read: GetOverlappedResult then
/// says 234 with the bytes copied) and 995 with a count of 0 for a cancelled read.
#[test]
fn a_completion_routine_gets_0_for_a_warning_and_995_for_a_cancel() {
    check(|ctx| async move {
        let server = server_with(&ctx, NAME, MSG_WAIT, 1024).await;
        let client = client_with(&ctx, NAME, 0).await;
        write(&ctx, client, b"0123456789").await;
        let ov = Overlapped::new(HANDLE::NULL);
        let routine = Routine::default();
        assert_eq!(ctx.read_file_ex(server, &IoBuffer::new(4), &ov, recorder(&routine)).await, TRUE);
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(called(&routine), Some((0, 4, ov.clone())), "a warning gives error code 0");
        assert_eq!(result(&ctx, server, &ov).await, (FALSE, 4, ERROR_MORE_DATA));
        assert_eq!(read(&ctx, server, 16).await, b"456789");

        let ov2 = Overlapped::new(HANDLE::NULL);
        let routine2 = Routine::default();
        assert_eq!(ctx.read_file_ex(server, &IoBuffer::new(16), &ov2, recorder(&routine2)).await, TRUE);
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        assert!(called(&routine2).is_none());
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(called(&routine2), Some((995, 0, ov2.clone())));
        0
    });
}

// ----- misuse ------------------------------------------------------------------------------

/// §16.42 (OVERLAPPED doc: "a common mistake"): starting a second operation with an
/// OVERLAPPED whose operation is still pending ends the run as `Outcome::Failed`, and the
/// message names the pending operation (and the new one).
#[test]
fn reusing_a_pending_overlapped_fails_the_run() {
    let r = run_main(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let ov = Overlapped::new(manual_event(&ctx, false).await);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        let _ = ctx.write_file_overlapped(server, b"x", None, &ov).await;
        ctx.sleep(1).await;
        0
    });
    assert_failed_naming(&r, &["ReadFile", "WriteFile"]);
}

/// §16.42 [inferred]: closing the event of a pending operation's OVERLAPPED (its last
/// handle) ends the run as `Outcome::Failed`, naming the pending operation.
#[test]
fn closing_the_event_of_a_pending_overlapped_fails_the_run() {
    let r = run_main(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let ev = manual_event(&ctx, false).await;
        let ov = Overlapped::new(ev);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        let _ = ctx.close_handle(ev).await;
        ctx.sleep(1).await;
        0
    });
    assert_failed_naming(&r, &["ReadFile"]);
}

// ----- an OVERLAPPED on a synchronous handle (§16.7) -----------------------------------

/// A synchronous duplex server instance of `name` (no FILE_FLAG_OVERLAPPED).
async fn sync_server(ctx: &ThreadCtx, name: &str, pipe_mode: u32) -> HANDLE {
    let h =
        ctx.create_named_pipe(name, PIPE_ACCESS_DUPLEX, pipe_mode, 1, 1024, 1024, NMPWAIT_USE_DEFAULT_WAIT, None).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateNamedPipe({name}) failed: {}", ctx.get_last_error());
    h
}

/// §16.7 (ReadFile doc, "Considerations for working with synchronous file handles"): an
/// OVERLAPPED on a synchronous handle does not make the call asynchronous: a read with
/// nothing to read blocks (never FALSE with 997) and returns TRUE with the data when it
/// comes; Internal and InternalHigh are still written and the OVERLAPPED's event is set.
#[test]
fn an_overlapped_on_a_synchronous_handle_blocks_and_still_fills_the_overlapped() {
    check(|ctx| async move {
        let server = sync_server(&ctx, NAME, BYTE_WAIT).await;
        let client = client_with(&ctx, NAME, 0).await;
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let ev = manual_event(&t, true).await;
            let ov = Overlapped::new(ev);
            let buf = IoBuffer::new(16);
            let mut n = SENTINEL;
            t.set_last_error(SENTINEL);
            let ok = t.read_file_overlapped(server, &buf, Some(&mut n), &ov).await;
            let ev_set = signalled(&t, ev).await;
            *g.borrow_mut() =
                Some((ok, t.get_last_error(), n, ov.internal(), ov.internal_high(), buf.head(n as usize), ev_set));
            0
        })
        .await;
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the read blocks instead of returning ERROR_IO_PENDING");
        write(&ctx, client, b"hello").await;
        join(&ctx, t).await;
        assert_eq!(
            got.borrow_mut().take(),
            Some((TRUE, Win32Error(SENTINEL), 5, STATUS_SUCCESS, 5, b"hello".to_vec(), true)),
            "TRUE, last error untouched, count 5, Internal STATUS_SUCCESS, InternalHigh 5, data, event set"
        );
        // The write from the synchronous client with an OVERLAPPED completes at once.
        let ov = Overlapped::new(HANDLE::NULL);
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file_overlapped(client, b"abc", Some(&mut n), &ov).await, TRUE);
        assert_eq!((n, ov.internal(), ov.internal_high()), (3, STATUS_SUCCESS, 3));
        assert_eq!(read(&ctx, server, 16).await, b"abc");
        0
    });
}

/// §16.7 (pipe.c :: test_ReadFile, a synchronous message-mode server): with an
/// OVERLAPPED, a read into a buffer smaller than the message → FALSE, 234, the count output
/// 0 although a byte was copied; InternalHigh = 1 and Internal = STATUS_BUFFER_OVERFLOW.
/// The same read without an OVERLAPPED reports the byte (count 1).
#[test]
fn a_short_message_read_with_an_overlapped_on_a_synchronous_handle_reports_count_0() {
    check(|ctx| async move {
        let server = sync_server(&ctx, NAME, MSG_WAIT).await;
        let client = client_with(&ctx, NAME, 0).await;
        write(&ctx, client, b"xy").await;
        write(&ctx, client, b"zw").await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(1);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(server, &buf, Some(&mut n), &ov).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_MORE_DATA);
        assert_eq!(n, 0, "with an OVERLAPPED the count output stays 0 on FALSE");
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_BUFFER_OVERFLOW, 1));
        assert_eq!(buf.to_vec(), b"x");
        assert_eq!(read(&ctx, server, 8).await, b"y", "the rest of the message stays readable");

        let mut one = [0u8; 1];
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file(server, &mut one, Some(&mut n)).await, FALSE);
        assert_eq!((ctx.get_last_error(), n, one), (ERROR_MORE_DATA, 1, *b"z"), "without one the count is 1");
        0
    });
}

/// §16.7 with §16.18 (CancelSynchronousIo doc): the blocked call with an OVERLAPPED on a
/// synchronous handle is synchronous I/O: CancelSynchronousIo ends it with FALSE, 995,
/// and its OVERLAPPED records the cancellation (Internal STATUS_CANCELLED, the event
/// set) [inferred: the I/O manager writes the status block and sets the event at
/// completion, cancelled or not].
#[test]
fn cancel_synchronous_io_ends_a_blocked_call_with_an_overlapped_and_records_it() {
    check(|ctx| async move {
        let server = sync_server(&ctx, NAME, BYTE_WAIT).await;
        let _client = client_with(&ctx, NAME, 0).await;
        let ev = manual_event(&ctx, true).await;
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let ov = Overlapped::new(ev);
            let buf = IoBuffer::new(16);
            t.set_last_error(SENTINEL);
            let ok = t.read_file_overlapped(server, &buf, None, &ov).await;
            *g.borrow_mut() = Some((ok, t.get_last_error(), ov.internal()));
            0
        })
        .await;
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the read blocks");
        assert!(!signalled(&ctx, ev).await, "the call reset its event when it started");
        assert_eq!(ctx.cancel_synchronous_io(t).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.borrow_mut().take(), Some((FALSE, ERROR_OPERATION_ABORTED, STATUS_CANCELLED)));
        assert!(signalled(&ctx, ev).await, "the cancelled call set its event");
        0
    });
}

// ----- ReadFileEx and ports, process exit, GetQueuedCompletionStatusEx's status -----------

/// §16.23, §16.39 (CreateIoCompletionPort doc: no ReadFileEx/WriteFileEx on an associated
/// handle; NtReadFile/NtWriteFile refuse an APC routine on a file with a completion port,
/// STATUS_INVALID_PARAMETER): ReadFileEx and WriteFileEx on a port-associated handle fail
/// with ERROR_INVALID_PARAMETER and queue nothing.
#[test]
fn read_file_ex_on_a_port_associated_handle_fails_with_87() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 1).await;
        write(&ctx, client, b"data").await;
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let ov = Overlapped::new(HANDLE::NULL);
        ctx.set_last_error(SENTINEL);
        let ok = ctx
            .read_file_ex(server, &IoBuffer::new(8), &ov, move |_ctx, _e, _n, _ov| {
                r.set(true);
                Box::pin(async {})
            })
            .await;
        assert_eq!((ok, ctx.get_last_error()), (FALSE, ERROR_INVALID_PARAMETER));
        assert_eq!(ctx.sleep_ex(0, true).await, 0, "no completion routine was queued");
        assert!(!ran.get());
        expect_no_packet(&ctx, port).await;
        assert_eq!(read(&ctx, server, 8).await, b"data", "nothing was read");
        0
    });
}

/// §16.39 (ReadFileEx doc: "ReadFileEx ignores the OVERLAPPED structure's hEvent member";
/// the program may use it for its own purposes): a value that is no handle at all does not
/// fail the call, and a real event in it is neither reset nor set.
#[test]
fn read_file_ex_ignores_the_overlapped_event() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let ov = Overlapped::new(HANDLE(0x1234));
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let ok = ctx
            .read_file_ex(server, &IoBuffer::new(8), &ov, move |_ctx, e, n, _ov| {
                g.set(Some((e, n)));
                Box::pin(async {})
            })
            .await;
        assert_eq!(ok, TRUE, "hEvent is not looked at: {}", ctx.get_last_error());
        write(&ctx, client, b"abc").await;
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(got.get(), Some((0, 3)));

        let ev = manual_event(&ctx, true).await;
        let ov2 = Overlapped::new(ev);
        let ok = ctx.read_file_ex(server, &IoBuffer::new(8), &ov2, |_ctx, _e, _n, _ov| Box::pin(async {})).await;
        assert_eq!(ok, TRUE);
        assert!(signalled(&ctx, ev).await, "the event was not reset when the read started");
        assert_eq!(ctx.set_event(ev).await, TRUE);
        assert_eq!(ctx.reset_event(ev).await, TRUE);
        write(&ctx, client, b"d").await;
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert!(!signalled(&ctx, ev).await, "nor set when it completed");
        0
    });
}

/// §16.31 (GetQueuedCompletionStatusEx doc: TRUE when at least one entry was removed,
/// failed operations among them; each entry's status must be checked): a single packet of
/// a cancelled operation gives TRUE and leaves the last error alone.
#[test]
fn get_queued_completion_status_ex_succeeds_with_a_single_failed_packet() {
    check(|ctx| async move {
        let (server, _client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 4).await;
        let ov = Overlapped::new(HANDLE::NULL);
        read_pending(&ctx, server, &IoBuffer::new(8), &ov).await;
        assert_eq!(ctx.cancel_io(server).await, TRUE);
        let mut entries = vec![OVERLAPPED_ENTRY::default(); 4];
        let mut removed = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.get_queued_completion_status_ex(port, &mut entries, &mut removed, 0, false).await, TRUE);
        assert_eq!(ctx.get_last_error(), SENTINEL, "the last error is not the operation's");
        assert_eq!((removed, entries[0].lpCompletionKey, entries[0].Internal), (1, 4, STATUS_CANCELLED));
        0
    });
}

/// §16.20 (pipe.c :: test_exit_process_async): when a process exits, its pending I/O is
/// cancelled, on a file associated with a completion port too: the port (held by another
/// process) gets the packet of a failed operation, error 995, 0 bytes, not the error of
/// the file's close.
#[test]
fn process_exit_cancels_its_pending_io_on_a_port_associated_file() {
    let port_in_child = Rc::new(Cell::new(HANDLE::NULL));
    let mut sim = Sim::new(Config::round_robin());
    let p = port_in_child.clone();
    sim.program("server.exe", move |ctx| {
        let p = p.clone();
        async move {
            let _server = server(&ctx).await;
            let port = new_port(&ctx).await;
            let mut pi = PROCESS_INFORMATION::default();
            let ok = ctx
                .create_process(
                    None,
                    Some("client.exe"),
                    None,
                    None,
                    false,
                    CREATE_SUSPENDED,
                    &STARTUPINFO::default(),
                    &mut pi,
                )
                .await;
            assert_eq!(ok, TRUE, "CreateProcess failed: {}", ctx.get_last_error());
            let mut h = HANDLE::NULL;
            let ok = ctx
                .duplicate_handle(ctx.get_current_process(), port, pi.hProcess, &mut h, 0, false, DUPLICATE_SAME_ACCESS)
                .await;
            assert_eq!(ok, TRUE, "DuplicateHandle failed: {}", ctx.get_last_error());
            p.set(h);
            assert_eq!(ctx.resume_thread(pi.hThread).await, 1);
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            let (ok, n, key, ov, e) = dequeue(&ctx, port, 0).await;
            assert_eq!((ok, n, key, ov.is_some(), e), (FALSE, 0, 5, true, ERROR_OPERATION_ABORTED));
            0
        }
    });
    let p = port_in_child.clone();
    sim.program("client.exe", move |ctx| {
        let port = p.get();
        async move {
            let c = client_with(&ctx, NAME, FILE_FLAG_OVERLAPPED).await;
            associate(&ctx, c, port, 5).await;
            let ov = Overlapped::new(HANDLE::NULL);
            read_pending(&ctx, c, &IoBuffer::new(8), &ov).await;
            0 // exits with the read pending
        }
    });
    let r = sim.run("server.exe");
    assert_completed(&r);
}

/// §16.6 with §10.7 (ntdll pipe.c :: read_pipe_test; the ReadFile doc's warning about a
/// NULL OVERLAPPED on an overlapped handle, where kernel32 waits on the file handle): a
/// ReadFile with a NULL OVERLAPPED on an overlapped server blocks, and the server handle is
/// nonsignalled while it waits and signalled again when it completes; the read has no
/// OVERLAPPED, so the handle's completion port gets no packet [inferred].
#[test]
fn a_null_overlapped_call_makes_the_handle_nonsignalled_while_it_waits() {
    check(|ctx| async move {
        let (server, client) = pair(&ctx).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 2).await;
        assert!(signalled(&ctx, server).await, "idle");
        let got = Rc::new(RefCell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut buf = [0u8; 8];
            let mut n = SENTINEL;
            let ok = t.read_file(server, &mut buf, Some(&mut n)).await;
            *g.borrow_mut() = Some((ok, buf[..n as usize].to_vec()));
            0
        })
        .await;
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the read blocks");
        assert!(!signalled(&ctx, server).await, "nonsignalled while the read waits");
        write(&ctx, client, b"hi").await;
        join(&ctx, t).await;
        assert_eq!(got.borrow_mut().take(), Some((TRUE, b"hi".to_vec())));
        assert!(signalled(&ctx, server).await, "signalled again at completion");
        expect_no_packet(&ctx, port).await;
        0
    });
}

/// §16.5 (ntdll pipe.c :: test_completion, the "win8+" branches): on a file associated with
/// a completion port, a message read into a too-small buffer pends (FALSE, 997, count 0)
/// even though the part is copied at once, and its packet (STATUS_BUFFER_OVERFLOW: FALSE,
/// ERROR_MORE_DATA, the bytes copied) is queued even under
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS.
#[test]
fn a_short_message_read_on_a_port_associated_file_pends() {
    check(|ctx| async move {
        let server = server_with(&ctx, NAME, MSG_WAIT, 1024).await;
        let client = client_with(&ctx, NAME, 0).await;
        let port = new_port(&ctx).await;
        associate(&ctx, server, port, 3).await;
        assert_eq!(
            ctx.set_file_completion_notification_modes(server, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).await,
            TRUE
        );
        write(&ctx, client, b"0123456789").await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = IoBuffer::new(4);
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.read_file_overlapped(server, &buf, Some(&mut n), &ov).await, FALSE);
        assert_eq!((ctx.get_last_error(), n), (ERROR_IO_PENDING, 0));
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_BUFFER_OVERFLOW, 4));
        assert_eq!(buf.to_vec(), b"0123");
        let (ok, bytes, key, got, e) = dequeue(&ctx, port, 0).await;
        assert_eq!((ok, bytes, key, e), (FALSE, 4, 3, ERROR_MORE_DATA));
        assert_eq!(got.as_ref(), Some(&ov));
        // A read that fits completes at once and, under the mode, queues nothing.
        let rest = IoBuffer::new(16);
        let ov2 = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.read_file_overlapped(server, &rest, None, &ov2).await, TRUE);
        assert_eq!(rest.head(6), b"456789");
        expect_no_packet(&ctx, port).await;
        0
    });
}

/// §16.30 (I/O completion ports doc, "Threads and Concurrency"; WRK KeRemoveQueue): with
/// a concurrency value of 1, a packet that arrives while one of the port's threads is
/// running stays queued rather than waking another waiter, and that thread takes it at
/// once when it comes back for more; when the running thread blocks on something else, a
/// waiter takes the queued packet.
#[test]
fn the_concurrency_value_holds_waiters_back_while_a_port_thread_runs() {
    check(|ctx| async move {
        let port = ctx.create_io_completion_port(INVALID_HANDLE_VALUE, HANDLE::NULL, 0, 1).await;
        assert!(!port.is_null());
        let gate = manual_event(&ctx, false).await;
        let log: Rc<RefCell<Vec<(char, usize)>>> = Rc::default();
        let mut threads = Vec::new();
        for name in ['A', 'B'] {
            let log = log.clone();
            threads.push(
                spawn(&ctx, move |t| async move {
                    loop {
                        let (ok, _, key, _, _) = dequeue(&t, port, INFINITE).await;
                        assert_eq!(ok, TRUE);
                        log.borrow_mut().push((name, key));
                        match key {
                            99 => return 0,
                            7 => assert_eq!(t.wait_for_single_object(gate, INFINITE).await, WAIT_OBJECT_0),
                            _ => {}
                        }
                    }
                })
                .await,
            );
            settle(&ctx).await; // A waits first, then B: B is served first (LIFO)
        }
        assert_eq!(ctx.post_queued_completion_status(port, 0, 1, None).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 0, 2, None).await, TRUE);
        settle(&ctx).await;
        assert_eq!(*log.borrow(), vec![('B', 1), ('B', 2)], "A stays blocked while B runs");
        // B blocks on the gate: A may run now and takes the packet that is queued.
        assert_eq!(ctx.post_queued_completion_status(port, 0, 7, None).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 0, 3, None).await, TRUE);
        settle(&ctx).await;
        assert_eq!(log.borrow()[2..].to_vec(), vec![('B', 7), ('A', 3)]);
        assert_eq!(ctx.set_event(gate).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 0, 99, None).await, TRUE);
        assert_eq!(ctx.post_queued_completion_status(port, 0, 99, None).await, TRUE);
        for t in threads {
            join(&ctx, t).await;
        }
        0
    });
}
