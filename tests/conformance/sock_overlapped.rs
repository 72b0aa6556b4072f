//! Overlapped Winsock: WSARecv/WSASend with OVERLAPPED, events, completion ports and
//! completion routines, WSAGetOverlappedResult, cancellation and close with operations
//! pending, AcceptEx, ConnectEx and DisconnectEx (docs/semantics.md §§22.40-22.44).
//! Named after Wine's ws2_32 sock.c tests, which run on Windows (only assertions that pass
//! there, never todo_wine ones); "SK-n" is the fact's number in
//! ../shared/semantics/mapping-mailslot-socket.md.

use crate::support::*;
use sim_core::prelude::*;
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

const LOOPBACK: u32 = INADDR_LOOPBACK;
/// STATUS_CONNECTION_RESET, STATUS_CONNECTION_ABORTED, STATUS_CANCELLED.
const STATUS_CONNECTION_RESET: u32 = 0xC000_020D;
const STATUS_CONNECTION_ABORTED: u32 = 0xC000_0241;
const STATUS_CANCELLED: u32 = 0xC000_0120;
/// sizeof(SOCKADDR_IN) + 16: the address size AcceptEx needs.
const ADDR_SPACE: u32 = 32;

async fn startup(ctx: &ThreadCtx) {
    assert_eq!(ctx.wsa_startup(MAKEWORD(2, 2), None).await, 0);
}

async fn tcp(ctx: &ThreadCtx) -> SOCKET {
    let s = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    assert_ne!(s, INVALID_SOCKET, "socket failed: {}", ctx.wsa_get_last_error());
    s
}

async fn name_of(ctx: &ThreadCtx, s: SOCKET) -> SOCKADDR_IN {
    let mut a = SOCKADDR_IN::default();
    let mut len = SOCKADDR_IN_LEN;
    assert_eq!(ctx.getsockname(s, Some(&mut a), Some(&mut len)).await, 0, "getsockname");
    a
}

async fn listener(ctx: &ThreadCtx) -> (SOCKET, SOCKADDR_IN) {
    let l = tcp(ctx).await;
    let a = SOCKADDR_IN::new(LOOPBACK, 0);
    assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
    assert_eq!(ctx.listen(l, 5).await, 0);
    (l, name_of(ctx, l).await)
}

/// A connected loopback pair (client, server).
async fn pair(ctx: &ThreadCtx) -> (SOCKET, SOCKET) {
    let (l, addr) = listener(ctx).await;
    let c = tcp(ctx).await;
    assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
    let s = ctx.accept(l, None, None).await;
    assert_ne!(s, INVALID_SOCKET);
    assert_eq!(ctx.closesocket(l).await, 0);
    (c, s)
}

#[track_caller]
fn fails(ctx: &ThreadCtx, ret: i32, e: u32) {
    assert_eq!(ret, SOCKET_ERROR, "expected failure with {e}");
    assert_eq!(ctx.wsa_get_last_error(), e as i32, "expected {e}, got {}", ctx.get_last_error());
}

#[track_caller]
fn false_with(ctx: &ThreadCtx, ret: BOOL, e: u32) {
    assert_eq!(ret, FALSE, "expected FALSE with {e}");
    assert_eq!(ctx.get_last_error().0, e, "expected {e}, got {}", ctx.get_last_error());
}

/// An overlapped WSARecv that must pend.
async fn recv_pending(ctx: &ThreadCtx, s: SOCKET, buf: &IoBuffer, ov: &Overlapped) {
    let mut bytes = SENTINEL;
    let mut flags = 0;
    let r = ctx.wsa_recv(s, buf, Some(&mut bytes), &mut flags, Some(ov), None).await;
    fails(ctx, r, WSA_IO_PENDING);
    assert_eq!(bytes, SENTINEL, "bytes are not set for a pending receive");
    assert_eq!(ov.internal(), STATUS_PENDING);
}

/// One packet from the port: (ret, error, bytes, key, overlapped).
async fn gqcs(ctx: &ThreadCtx, port: HANDLE, ms: u32) -> (BOOL, u32, u32, usize, Option<Overlapped>) {
    let (mut bytes, mut key, mut ov) = (SENTINEL, 0xdead, None);
    ctx.set_last_error(SENTINEL);
    let r = ctx.get_queued_completion_status(port, &mut bytes, &mut key, &mut ov, ms).await;
    (r, ctx.get_last_error().0, bytes, key, ov)
}

fn run_ok<F, Fut>(body: F)
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    check(body);
}

// ----- WSARecv on a completion port (22.40, 22.41) -----------------------------------------

/// §22.41 (sock.c iocp_async_read): an overlapped WSARecv with nothing to read returns
/// SOCKET_ERROR with ERROR_IO_PENDING and leaves the byte count alone; the port has no
/// packet; once the peer sends, one packet with the bytes, the key and the OVERLAPPED
/// (Internal 0, InternalHigh the bytes) and the data in the buffer; then nothing more.
#[test]
fn iocp_async_read() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let port = ctx.create_io_completion_port(src, HANDLE::NULL, 0x1234_5678, 0).await;
        assert!(!port.is_null(), "CreateIoCompletionPort on a socket: {}", ctx.get_last_error());
        let buf = IoBuffer::new(512);
        let ov = Overlapped::new(HANDLE::NULL);
        recv_pending(&ctx, src, &buf, &ov).await;
        let (r, e, bytes, key, o) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e, bytes, key, o.is_none()), (FALSE, WAIT_TIMEOUT, SENTINEL, 0xdead, true));
        assert_eq!(ctx.send(dst, b"Hello World!", 12, 0).await, 12);
        let (r, _, bytes, key, o) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, bytes, key), (TRUE, 12, 0x1234_5678));
        assert!(o.expect("the OVERLAPPED").same(&ov));
        assert_eq!((ov.internal(), ov.internal_high()), (0, 12));
        assert_eq!(buf.head(12), b"Hello World!");
        let (r, e, ..) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e), (FALSE, WAIT_TIMEOUT));
        0
    });
}

/// §22.40 (sock.c test_completion_port: an overlapped call that completes at once still
/// queues its packet; SetFileCompletionNotificationModes doc: with
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS "the I/O Manager does not queue a completion
/// entry to the port, when [the call] returns successfully").
#[test]
fn a_receive_that_completes_at_once_still_queues_a_packet_unless_skipped() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let port = ctx.create_io_completion_port(src, HANDLE::NULL, 7, 0).await;
        assert_eq!(ctx.send(dst, b"abc", 3, 0).await, 3);
        let buf = IoBuffer::new(16);
        let ov = Overlapped::new(HANDLE::NULL);
        let (mut bytes, mut flags) = (SENTINEL, 0);
        assert_eq!(ctx.wsa_recv(src, &buf, Some(&mut bytes), &mut flags, Some(&ov), None).await, 0);
        assert_eq!((bytes, flags, ov.internal(), ov.internal_high()), (3, 0, 0, 3));
        assert_eq!(buf.head(3), b"abc");
        let (r, _, n, key, o) = gqcs(&ctx, port, 0).await;
        assert_eq!((r, n, key), (TRUE, 3, 7));
        assert!(o.expect("OVERLAPPED").same(&ov));
        assert_eq!(ctx.set_file_completion_notification_modes(src, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).await, TRUE);
        assert_eq!(ctx.send(dst, b"de", 2, 0).await, 2);
        let ov2 = Overlapped::new(HANDLE::NULL);
        assert_eq!(ctx.wsa_recv(src, &buf, Some(&mut bytes), &mut flags, Some(&ov2), None).await, 0);
        assert_eq!(bytes, 2);
        let (r, e, ..) = gqcs(&ctx, port, 0).await;
        assert_eq!((r, e), (FALSE, WAIT_TIMEOUT), "no packet for a success at once");
        // A pending one still has its packet.
        recv_pending(&ctx, src, &buf, &ov2).await;
        assert_eq!(ctx.send(dst, b"f", 1, 0).await, 1);
        let (r, _, n, ..) = gqcs(&ctx, port, 0).await;
        assert_eq!((r, n), (TRUE, 1));
        0
    });
}

/// §22.40 (WSAGetOverlappedResult doc: WSA_IO_INCOMPLETE "fWait parameter is FALSE and the
/// I/O operation has not yet completed"; the event is signalled at completion; WSAENOTSOCK
/// "The descriptor is not a socket").
#[test]
fn wsagetoverlappedresult_incomplete_then_done_and_enotsock() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        recv_pending(&ctx, src, &buf, &ov).await;
        let (mut n, mut flags) = (SENTINEL, SENTINEL);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSA_IO_INCOMPLETE as i32);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.send(dst, b"xyz", 3, 0).await, 3);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, false, &mut flags).await, TRUE);
        assert_eq!((n, flags), (3, 0));
        assert_eq!(buf.head(3), b"xyz");
        // Not a socket.
        assert_eq!(ctx.wsa_get_overlapped_result(ev, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSAENOTSOCK.0 as i32);
        0
    });
}

/// §22.40 (WSAGetOverlappedResult doc: with fWait TRUE "the function does not return
/// until the operation has been completed"): a waiting thread wakes when another sends.
#[test]
fn wsagetoverlappedresult_waits_for_the_completion() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        recv_pending(&ctx, src, &buf, &ov).await;
        let t = spawn(&ctx, move |ctx| async move {
            ctx.sleep(50).await;
            assert_eq!(ctx.send(dst, b"late", 4, 0).await, 4);
            0
        })
        .await;
        let t0 = ctx.get_tick_count().await;
        let (mut n, mut flags) = (0, 0);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, true, &mut flags).await, TRUE);
        assert_eq!(n, 4);
        assert_eq!(ctx.get_tick_count().await - t0, 50);
        join(&ctx, t).await;
        0
    });
}

// ----- resets, closes, cancels (22.40) ------------------------------------------------------

/// §22.40 (sock.c test_tcp_reset, SK-20): the peer's abortive close completes a pending
/// WSARecv with GetOverlappedResult FALSE, ERROR_NETNAME_DELETED (64), 0 bytes, Internal
/// STATUS_CONNECTION_RESET; WSAGetOverlappedResult says WSAECONNRESET; a new WSARecv fails
/// at once with WSAECONNRESET.
#[test]
fn tcp_reset_completes_a_pending_receive_with_netname_deleted() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        recv_pending(&ctx, src, &buf, &ov).await;
        let linger = [1u8, 0, 0, 0];
        assert_eq!(ctx.setsockopt(dst, SOL_SOCKET, SO_LINGER, Some(&linger), 4).await, 0);
        assert_eq!(ctx.closesocket(dst).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        let mut n = SENTINEL;
        false_with(&ctx, ctx.get_overlapped_result(src, &ov, &mut n, false).await, ERROR_NETNAME_DELETED.0);
        assert_eq!(ERROR_NETNAME_DELETED.0, 64);
        assert_eq!((n, ov.internal()), (0, STATUS_CONNECTION_RESET));
        let mut flags = 0;
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSAECONNRESET.0 as i32);
        let ov2 = Overlapped::new(HANDLE::NULL);
        let r = ctx.wsa_recv(src, &buf, None, &mut flags, Some(&ov2), None).await;
        fails(&ctx, r, WSAECONNRESET.0);
        0
    });
}

/// §22.40 (sock.c iocp_async_read_closesocket, iocp_async_closesocket): closing a socket
/// with an overlapped WSARecv pending queues its packet: FALSE, ERROR_CONNECTION_ABORTED
/// (1236), 0 bytes, the key and OVERLAPPED, Internal STATUS_CONNECTION_ABORTED; closing a
/// socket with nothing pending queues nothing.
#[test]
fn closesocket_with_a_pending_receive_aborts_it() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, _dst) = pair(&ctx).await;
        let port = ctx.create_io_completion_port(src, HANDLE::NULL, 0x1234_5678, 0).await;
        let buf = IoBuffer::new(512);
        let ov = Overlapped::new(HANDLE::NULL);
        recv_pending(&ctx, src, &buf, &ov).await;
        assert_eq!(ctx.closesocket(src).await, 0);
        let (r, e, n, key, o) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e, n, key), (FALSE, ERROR_CONNECTION_ABORTED.0, 0, 0x1234_5678));
        assert_eq!(ERROR_CONNECTION_ABORTED.0, 1236);
        assert!(o.expect("OVERLAPPED").same(&ov));
        assert_eq!((ov.internal(), ov.internal_high()), (STATUS_CONNECTION_ABORTED, 0));
        let (r, e, ..) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e), (FALSE, WAIT_TIMEOUT));
        // Nothing pending: nothing queued.
        let (a, _b) = pair(&ctx).await;
        let port2 = ctx.create_io_completion_port(a, HANDLE::NULL, 1, 0).await;
        assert_eq!(ctx.closesocket(a).await, 0);
        let (r, e, ..) = gqcs(&ctx, port2, 100).await;
        assert_eq!((r, e), (FALSE, WAIT_TIMEOUT));
        0
    });
}

/// §22.40 (sock.c iocp_async_read_thread_closesocket): a WSARecv on a socket associated
/// with a port survives the thread that issued it (no packet when the thread ends); the
/// close then aborts it.
#[test]
fn a_receive_on_a_port_outlives_its_thread() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, _dst) = pair(&ctx).await;
        let port = ctx.create_io_completion_port(src, HANDLE::NULL, 9, 0).await;
        let buf = IoBuffer::new(64);
        let ov = Overlapped::new(HANDLE::NULL);
        let (b2, o2) = (buf.clone(), ov.clone());
        let t = spawn(&ctx, move |ctx| async move {
            recv_pending(&ctx, src, &b2, &o2).await;
            0
        })
        .await;
        join(&ctx, t).await;
        let (r, e, ..) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e), (FALSE, WAIT_TIMEOUT), "the thread's exit cancels nothing");
        assert_eq!(ov.internal(), STATUS_PENDING);
        assert_eq!(ctx.closesocket(src).await, 0);
        let (r, e, n, key, _) = gqcs(&ctx, port, 100).await;
        assert_eq!((r, e, n, key), (FALSE, ERROR_CONNECTION_ABORTED.0, 0, 9));
        0
    });
}

/// §22.40 (CancelIoEx doc: the cancelled operation completes with ERROR_OPERATION_ABORTED;
/// ERROR_NOT_FOUND when nothing matched; sock.c test_completion_port: Internal
/// STATUS_CANCELLED; WSA_OPERATION_ABORTED is 995).
#[test]
fn cancelioex_aborts_a_pending_receive() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, _dst) = pair(&ctx).await;
        let port = ctx.create_io_completion_port(src, HANDLE::NULL, 3, 0).await;
        let buf = IoBuffer::new(64);
        let ov = Overlapped::new(HANDLE::NULL);
        recv_pending(&ctx, src, &buf, &ov).await;
        assert_eq!(ctx.cancel_io_ex(src, Some(&ov)).await, TRUE);
        let (r, e, n, key, _) = gqcs(&ctx, port, 0).await;
        assert_eq!((r, e, n, key), (FALSE, ERROR_OPERATION_ABORTED.0, 0, 3));
        assert_eq!(ov.internal(), STATUS_CANCELLED);
        let (mut n, mut flags) = (0, 0);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSA_OPERATION_ABORTED as i32);
        false_with(&ctx, ctx.cancel_io_ex(src, Some(&ov)).await, ERROR_NOT_FOUND.0);
        // CancelIo: the calling thread's.
        recv_pending(&ctx, src, &buf, &ov).await;
        assert_eq!(ctx.cancel_io(src).await, TRUE);
        let (r, e, ..) = gqcs(&ctx, port, 0).await;
        assert_eq!((r, e), (FALSE, ERROR_OPERATION_ABORTED.0));
        0
    });
}

/// §22.41 (SK-14, recv doc: a graceful close is end of stream, 0 bytes): a pending WSARecv
/// completes successfully with 0 bytes when the peer closes gracefully.
#[test]
fn graceful_close_completes_a_pending_receive_with_zero_bytes() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        recv_pending(&ctx, src, &buf, &ov).await;
        assert_eq!(ctx.closesocket(dst).await, 0);
        let (mut n, mut flags) = (SENTINEL, 0);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, true, &mut flags).await, TRUE);
        assert_eq!((n, ov.internal()), (0, 0));
        0
    });
}

// ----- receive details (22.41) ---------------------------------------------------------------

/// §22.41 (sock.c test_empty_recv, SK-22): an overlapped WSARecv into a zero-length buffer
/// pends until data arrives, then completes with 0 bytes without consuming it.
#[test]
fn a_zero_length_overlapped_receive_waits_for_data_and_consumes_nothing() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let empty = IoBuffer::new(0);
        recv_pending(&ctx, src, &empty, &ov).await;
        assert_eq!(ctx.send(dst, b"data", 4, 0).await, 4);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        let (mut n, mut flags) = (SENTINEL, 0);
        assert_eq!(ctx.wsa_get_overlapped_result(src, &ov, &mut n, false, &mut flags).await, TRUE);
        assert_eq!(n, 0);
        let mut b = [0u8; 8];
        assert_eq!(ctx.recv(src, &mut b, 8, 0).await, 4);
        0
    });
}

/// §22.41 (sock.c test_simultaneous_async_recv, SK-24): two pending 16-byte receives and one
/// 32-byte send: the first gets bytes 0-15, the second 16-31.
#[test]
fn pending_receives_complete_in_order() {
    let mut config = Config::round_robin();
    config.stream_splits = false;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let (b1, b2) = (IoBuffer::new(16), IoBuffer::new(16));
        let (o1, o2) = (Overlapped::new(ctx.wsa_create_event().await), Overlapped::new(ctx.wsa_create_event().await));
        recv_pending(&ctx, src, &b1, &o1).await;
        recv_pending(&ctx, src, &b2, &o2).await;
        let data: Vec<u8> = (0..32).collect();
        assert_eq!(ctx.send(dst, &data, 32, 0).await, 32);
        assert_eq!((o1.internal_high(), o2.internal_high()), (16, 16));
        assert_eq!(b1.to_vec(), data[..16]);
        assert_eq!(b2.to_vec(), data[16..]);
        0
    });
    assert_completed(&r);
}

/// §22.41 (sock.c test_nonblocking_async_recv, SK-21; test_timeout, SK-23): an overlapped
/// WSARecv on a non-blocking socket pends instead of failing with WSAEWOULDBLOCK, and
/// SO_RCVTIMEO does not end it.
#[test]
fn overlapped_receives_ignore_nonblocking_mode_and_receive_timeouts() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let mut on = 1u32;
        assert_eq!(ctx.ioctlsocket(src, FIONBIO, Some(&mut on)).await, 0);
        assert_eq!(ctx.setsockopt(src, SOL_SOCKET, SO_RCVTIMEO, Some(&100i32.to_le_bytes()), 4).await, 0);
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(8);
        recv_pending(&ctx, src, &buf, &ov).await;
        ctx.sleep(500).await;
        assert_eq!(ov.internal(), STATUS_PENDING, "SO_RCVTIMEO does not apply");
        assert_eq!(ctx.send(dst, b"ok", 2, 0).await, 2);
        assert_eq!(ov.internal_high(), 2);
        0
    });
}

/// §22.41 (WSARecv doc: "the completion routine will be invoked when the calling thread is
/// in the alertable state", also for an operation that completed at once; SleepEx doc:
/// WAIT_IO_COMPLETION after running it).
#[test]
fn completion_routines_run_in_an_alertable_wait() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let seen: Rc<Cell<Option<(u32, u32)>>> = Rc::new(Cell::new(None));
        let s2 = seen.clone();
        let routine = wsa_completion_routine(move |_ctx, code, bytes, _ov| {
            s2.set(Some((code, bytes)));
            async {}
        });
        let buf = IoBuffer::new(8);
        let ov = Overlapped::new(HANDLE::NULL);
        let (mut n, mut flags) = (SENTINEL, 0);
        let r = ctx.wsa_recv(src, &buf, Some(&mut n), &mut flags, Some(&ov), Some(routine)).await;
        fails(&ctx, r, WSA_IO_PENDING);
        assert_eq!(ctx.send(dst, b"hey", 3, 0).await, 3);
        assert_eq!(seen.get(), None, "not inside another call");
        assert_eq!(ctx.sleep_ex(INFINITE, true).await, WAIT_IO_COMPLETION);
        assert_eq!(seen.get(), Some((0, 3)));
        // At once: the routine is queued all the same.
        seen.set(None);
        assert_eq!(ctx.send(dst, b"at", 2, 0).await, 2);
        let s3 = seen.clone();
        let routine = wsa_completion_routine(move |_ctx, code, bytes, _ov| {
            s3.set(Some((code, bytes)));
            async {}
        });
        assert_eq!(ctx.wsa_recv(src, &buf, Some(&mut n), &mut flags, Some(&ov), Some(routine)).await, 0);
        assert_eq!(n, 2);
        assert_eq!(ctx.sleep_ex(0, true).await, WAIT_IO_COMPLETION);
        assert_eq!(seen.get(), Some((0, 2)));
        0
    });
}

/// §22.41 (WSASend doc: an overlapped send returns WSA_IO_PENDING when it cannot complete
/// at once; the send quota rule of §22.5): with small buffers a large overlapped WSASend
/// pends until the peer reads.
#[test]
fn an_overlapped_send_pends_until_the_peer_reads() {
    let mut config = Config::round_robin();
    config.stream_splits = false;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        let (src, dst) = pair(&ctx).await;
        let small = 16i32.to_le_bytes();
        assert_eq!(ctx.setsockopt(src, SOL_SOCKET, SO_SNDBUF, Some(&small), 4).await, 0);
        assert_eq!(ctx.setsockopt(dst, SOL_SOCKET, SO_RCVBUF, Some(&small), 4).await, 0);
        assert_eq!(ctx.send(src, &[1u8; 32], 32, 0).await, 32);
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let mut n = SENTINEL;
        let r = ctx.wsa_send(src, &[2u8; 8], Some(&mut n), 0, Some(&ov), None).await;
        fails(&ctx, r, WSA_IO_PENDING);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        let mut b = [0u8; 40];
        assert_eq!(ctx.recv(dst, &mut b, 40, 0).await, 40);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ov.internal_high(), 8);
        0
    });
    assert_completed(&r);
}

/// §22.41 (WSARecvFrom doc: WSAEMSGSIZE, the datagram is truncated; STATUS_BUFFER_OVERFLOW
/// is ERROR_MORE_DATA for GetOverlappedResult [inferred from RtlNtStatusToDosError]): an
/// overlapped WSARecvFrom with a short buffer.
#[test]
fn an_overlapped_recvfrom_of_a_long_datagram_is_truncated() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let a = ctx.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).await;
        let b = ctx.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).await;
        let any = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(a, Some(&any), SOCKADDR_IN_LEN).await, 0);
        let to = name_of(&ctx, a).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(4);
        let (mut n, mut flags) = (SENTINEL, 0);
        let (mut from, mut fromlen) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
        let r = ctx
            .wsa_recv_from(a, &buf, Some(&mut n), &mut flags, Some(&mut from), Some(&mut fromlen), Some(&ov), None)
            .await;
        fails(&ctx, r, WSA_IO_PENDING);
        let mut sent = 0;
        assert_eq!(
            ctx.wsa_send_to(b, b"0123456789", Some(&mut sent), 0, Some(&to), SOCKADDR_IN_LEN, None, None).await,
            0
        );
        assert_eq!(sent, 10);
        false_with(&ctx, ctx.get_overlapped_result(a, &ov, &mut n, false).await, ERROR_MORE_DATA.0);
        assert_eq!(n, 4);
        assert_eq!(buf.to_vec(), b"0123");
        assert_eq!(ctx.wsa_get_overlapped_result(a, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSAEMSGSIZE.0 as i32);
        0
    });
}

/// §22.40 (WSASocketW doc: without WSA_FLAG_OVERLAPPED the socket has no overlapped
/// attribute; CreateIoCompletionPort doc: the handle must support overlapped I/O;
/// [inferred] ERROR_INVALID_PARAMETER as for a synchronous file); a second association is
/// refused (CreateIoCompletionPort doc).
#[test]
fn completion_ports_take_overlapped_sockets_once() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let plain = ctx.wsa_socket(AF_INET, SOCK_STREAM, 0, 0).await;
        assert_eq!(ctx.create_io_completion_port(plain, HANDLE::NULL, 1, 0).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let ov = ctx.wsa_socket(AF_INET, SOCK_STREAM, 0, WSA_FLAG_OVERLAPPED).await;
        let port = ctx.create_io_completion_port(ov, HANDLE::NULL, 1, 0).await;
        assert!(!port.is_null());
        assert_eq!(ctx.create_io_completion_port(ov, port, 2, 0).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

// ----- AcceptEx (22.42) ------------------------------------------------------------------------

/// §22.42 (sock.c test_AcceptEx): the argument checks in Windows' order: an invalid
/// listener WSAENOTSOCK; a socket that does not listen WSAEINVAL; an invalid accept socket
/// WSAENOTSOCK; no buffer WSAEFAULT; a local address size too small is accepted (pending);
/// a remote size of 0 WSAEFAULT; no OVERLAPPED ERROR_INVALID_PARAMETER; an accept socket
/// already in an AcceptEx WSAEINVAL; connect on it WSAEINVAL.
#[test]
fn acceptex_argument_checks() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let l = tcp(&ctx).await;
        let a = tcp(&ctx).await;
        let any = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(l, Some(&any), SOCKADDR_IN_LEN).await, 0);
        let addr = name_of(&ctx, l).await;
        let buf = IoBuffer::new(1024);
        let ov = Overlapped::new(ctx.create_event(None, false, false, None).await);
        let mut n = 0;
        let call = |l: SOCKET, a: SOCKET, b: Option<IoBuffer>, local: u32, remote: u32, o: Option<Overlapped>| {
            let ctx = ctx.clone();
            async move { ctx.accept_ex(l, a, b.as_ref(), 0, local, remote, None, o.as_ref()).await }
        };
        false_with(
            &ctx,
            call(HANDLE(0x7777), a, Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, Some(ov.clone())).await,
            WSAENOTSOCK.0,
        );
        false_with(&ctx, call(l, a, Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, Some(ov.clone())).await, WSAEINVAL.0);
        assert_eq!(ctx.listen(l, 5).await, 0);
        false_with(
            &ctx,
            call(l, HANDLE(0x7777), Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, Some(ov.clone())).await,
            WSAENOTSOCK.0,
        );
        false_with(&ctx, call(l, a, None, ADDR_SPACE, ADDR_SPACE, Some(ov.clone())).await, WSAEFAULT.0);
        false_with(&ctx, call(l, a, Some(buf.clone()), 0, ADDR_SPACE, Some(ov.clone())).await, ERROR_IO_PENDING.0);
        assert_eq!(ctx.cancel_io(l).await, TRUE);
        false_with(&ctx, call(l, a, Some(buf.clone()), ADDR_SPACE, 0, Some(ov.clone())).await, WSAEFAULT.0);
        false_with(&ctx, call(l, a, Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, None).await, ERROR_INVALID_PARAMETER.0);
        false_with(
            &ctx,
            call(l, a, Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, Some(ov.clone())).await,
            ERROR_IO_PENDING.0,
        );
        let ov2 = Overlapped::new(HANDLE::NULL);
        false_with(&ctx, call(l, a, Some(buf.clone()), ADDR_SPACE, ADDR_SPACE, Some(ov2)).await, WSAEINVAL.0);
        fails(&ctx, ctx.connect(a, Some(&addr), SOCKADDR_IN_LEN).await, WSAEINVAL.0);
        let _ = &mut n;
        0
    });
}

/// §22.42 (sock.c test_AcceptEx: with no receive length AcceptEx completes when the client
/// connects, 0 bytes; GetAcceptExSockaddrs gives the listener's and the client's
/// addresses; SO_UPDATE_ACCEPT_CONTEXT doc: getpeername on the accepted socket works once it
/// is set).
#[test]
fn acceptex_completes_on_connect_with_the_addresses() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx).await;
        let a = tcp(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(2 * ADDR_SPACE as usize);
        let r = ctx.accept_ex(l, a, Some(&buf), 0, ADDR_SPACE, ADDR_SPACE, None, Some(&ov)).await;
        false_with(&ctx, r, ERROR_IO_PENDING.0);
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
        let mut n = SENTINEL;
        assert_eq!(ctx.get_overlapped_result(l, &ov, &mut n, false).await, TRUE);
        assert_eq!(n, 0);
        let (mut local, mut remote) = (SOCKADDR_IN::default(), SOCKADDR_IN::default());
        ctx.get_accept_ex_sockaddrs(&buf, 0, ADDR_SPACE, ADDR_SPACE, &mut local, &mut remote);
        assert_eq!(local, addr);
        assert_eq!(remote, name_of(&ctx, c).await);
        let (mut peer, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
        fails(&ctx, ctx.getpeername(a, Some(&mut peer), Some(&mut len)).await, WSAENOTCONN.0);
        let lh = (l.0 as i64).to_le_bytes();
        assert_eq!(ctx.setsockopt(a, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, Some(&lh), 8).await, 0);
        assert_eq!(ctx.getpeername(a, Some(&mut peer), Some(&mut len)).await, 0);
        assert_eq!(peer, remote);
        // The accept socket carries the connection.
        assert_eq!(ctx.send(c, b"ping", 4, 0).await, 4);
        let mut b = [0u8; 4];
        assert_eq!(ctx.recv(a, &mut b, 4, 0).await, 4);
        assert_eq!(&b, b"ping");
        0
    });
}

/// §22.42 (sock.c test_AcceptEx "Test short reads": with a receive length AcceptEx does not
/// complete on connect; it completes once data comes, with what came).
#[test]
fn acceptex_with_a_receive_length_waits_for_the_first_data() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx).await;
        let a = tcp(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(2 + 2 * ADDR_SPACE as usize);
        let r = ctx.accept_ex(l, a, Some(&buf), 2, ADDR_SPACE, ADDR_SPACE, None, Some(&ov)).await;
        false_with(&ctx, r, ERROR_IO_PENDING.0);
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.send(c, b"X", 1, 0).await, 1);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        let mut n = 0;
        assert_eq!(ctx.get_overlapped_result(l, &ov, &mut n, false).await, TRUE);
        assert_eq!(n, 1);
        assert_eq!(buf.head(1), b"X");
        let (mut local, mut remote) = (SOCKADDR_IN::default(), SOCKADDR_IN::default());
        ctx.get_accept_ex_sockaddrs(&buf, 2, ADDR_SPACE, ADDR_SPACE, &mut local, &mut remote);
        assert_eq!(local, addr);
        0
    });
}

/// §22.42 (Wine's dlls/ws2_32/tests/sock.c, test_AcceptEx, "Pass an insufficient local
/// address size", run on Windows): AcceptEx with a local address size of 3, or of
/// sizeof(SOCKADDR_IN) + 4, is accepted (pending) and fails when a client connects:
/// GetOverlappedResult FALSE with ERROR_INSUFFICIENT_BUFFER (STATUS_BUFFER_TOO_SMALL), 0
/// bytes; the connection is not accepted, so a later accept takes it. (Found by the native
/// differential, docs/conformance.md; winsim completed it and took the connection.)
#[test]
fn acceptex_with_a_local_address_size_too_small_fails_when_a_client_connects() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(2 * ADDR_SPACE as usize);
        for local in [3, SOCKADDR_IN_LEN as u32 + 4] {
            let a = tcp(&ctx).await;
            let r = ctx.accept_ex(l, a, Some(&buf), 0, local, ADDR_SPACE, None, Some(&ov)).await;
            false_with(&ctx, r, ERROR_IO_PENDING.0);
            let c = tcp(&ctx).await;
            assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
            assert_eq!(ctx.wait_for_single_object(ev, 1000).await, WAIT_OBJECT_0);
            let mut n = SENTINEL;
            false_with(&ctx, ctx.get_overlapped_result(l, &ov, &mut n, false).await, ERROR_INSUFFICIENT_BUFFER.0);
            assert_eq!(n, 0);
            // The connection waits for an accept; the accept socket is still a new socket.
            let s = ctx.accept(l, None, None).await;
            assert_ne!(s, INVALID_SOCKET);
            assert_eq!(ctx.send(c, b"k", 1, 0).await, 1);
            let mut b = [0u8; 1];
            assert_eq!(ctx.recv(s, &mut b, 1, 0).await, 1);
            for h in [s, c, a] {
                assert_eq!(ctx.closesocket(h).await, 0);
            }
        }
        // A local address size of 0 leaves the address out and succeeds.
        let a = tcp(&ctx).await;
        false_with(&ctx, ctx.accept_ex(l, a, Some(&buf), 0, 0, ADDR_SPACE, None, Some(&ov)).await, ERROR_IO_PENDING.0);
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 1000).await, WAIT_OBJECT_0);
        let mut n = SENTINEL;
        assert_eq!(ctx.get_overlapped_result(l, &ov, &mut n, false).await, TRUE);
        assert_eq!(n, 0);
        0
    });
}

/// §22.42 (sock.c test_AcceptEx, SK-26): closing the accept socket or the listener while
/// AcceptEx is pending completes it with ERROR_OPERATION_ABORTED; CancelIo on the accept
/// socket does not cancel it (the operation is the listener's).
#[test]
fn closing_either_socket_aborts_a_pending_acceptex() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (l, _) = listener(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(2 * ADDR_SPACE as usize);
        let a = tcp(&ctx).await;
        false_with(
            &ctx,
            ctx.accept_ex(l, a, Some(&buf), 0, ADDR_SPACE, ADDR_SPACE, None, Some(&ov)).await,
            ERROR_IO_PENDING.0,
        );
        assert_eq!(ctx.closesocket(a).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        let mut n = 0;
        false_with(&ctx, ctx.get_overlapped_result(l, &ov, &mut n, false).await, ERROR_OPERATION_ABORTED.0);
        let a = tcp(&ctx).await;
        false_with(
            &ctx,
            ctx.accept_ex(l, a, Some(&buf), 0, ADDR_SPACE, ADDR_SPACE, None, Some(&ov)).await,
            ERROR_IO_PENDING.0,
        );
        let _ = ctx.cancel_io(a).await;
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        assert_eq!(ctx.closesocket(l).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        false_with(&ctx, ctx.get_overlapped_result(l, &ov, &mut n, false).await, ERROR_OPERATION_ABORTED.0);
        0
    });
}

// ----- ConnectEx, DisconnectEx (22.43, 22.44) --------------------------------------------------

/// §22.43 (sock.c test_ConnectEx: an unbound socket WSAEINVAL; no OVERLAPPED
/// ERROR_INVALID_PARAMETER; FALSE with ERROR_IO_PENDING, then the event and
/// GetOverlappedResult TRUE with the bytes of the send buffer, which the accepted socket
/// reads; a connected socket WSAEISCONN (SK-7)).
#[test]
fn connectex_needs_a_bound_socket_and_sends_its_buffer() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx).await;
        let c = tcp(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let mut sent = SENTINEL;
        false_with(
            &ctx,
            ctx.connect_ex(c, Some(&addr), SOCKADDR_IN_LEN, None, Some(&mut sent), Some(&ov)).await,
            WSAEINVAL.0,
        );
        let here = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(c, Some(&here), SOCKADDR_IN_LEN).await, 0);
        false_with(
            &ctx,
            ctx.connect_ex(c, Some(&addr), SOCKADDR_IN_LEN, None, None, None).await,
            ERROR_INVALID_PARAMETER.0,
        );
        let r = ctx.connect_ex(c, Some(&addr), SOCKADDR_IN_LEN, Some(b"123"), Some(&mut sent), Some(&ov)).await;
        false_with(&ctx, r, ERROR_IO_PENDING.0);
        assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
        let mut n = 0;
        assert_eq!(ctx.get_overlapped_result(c, &ov, &mut n, false).await, TRUE);
        assert_eq!(n, 3);
        let s = ctx.accept(l, None, None).await;
        let mut b = [0u8; 3];
        assert_eq!(ctx.recv(s, &mut b, 3, 0).await, 3);
        assert_eq!(&b, b"123");
        let ov2 = Overlapped::new(HANDLE::NULL);
        false_with(&ctx, ctx.connect_ex(c, Some(&addr), SOCKADDR_IN_LEN, None, None, Some(&ov2)).await, WSAEISCONN.0);
        0
    });
}

/// §22.43 (sock.c test_ConnectEx "Connect with error", SK-5): ConnectEx to a port nobody
/// listens on pends, then GetOverlappedResult is FALSE with ERROR_CONNECTION_REFUSED (1225);
/// WSAGetOverlappedResult says WSAECONNREFUSED. The refusal takes the retries' virtual
/// time (§22.6).
#[test]
fn connectex_to_a_closed_port_is_refused_in_the_completion() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let c = tcp(&ctx).await;
        let here = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(c, Some(&here), SOCKADDR_IN_LEN).await, 0);
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let nobody = SOCKADDR_IN::new(LOOPBACK, 1);
        let t0 = ctx.get_tick_count().await;
        false_with(
            &ctx,
            ctx.connect_ex(c, Some(&nobody), SOCKADDR_IN_LEN, None, None, Some(&ov)).await,
            ERROR_IO_PENDING.0,
        );
        assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_tick_count().await - t0, 2000);
        let mut n = 0;
        false_with(&ctx, ctx.get_overlapped_result(c, &ov, &mut n, false).await, ERROR_CONNECTION_REFUSED.0);
        assert_eq!(ERROR_CONNECTION_REFUSED.0, 1225);
        let mut flags = 0;
        assert_eq!(ctx.wsa_get_overlapped_result(c, &ov, &mut n, false, &mut flags).await, FALSE);
        assert_eq!(ctx.wsa_get_last_error(), WSAECONNREFUSED.0 as i32);
        0
    });
}

/// §22.44 (sock.c test_DisconnectEx, SK-25): an invalid socket WSAENOTSOCK; an unconnected
/// one WSAENOTCONN; DisconnectEx with or without an OVERLAPPED succeeds, the peer reads 0
/// and connect then fails with WSAEISCONN.
#[test]
fn disconnectex_is_a_graceful_send_shutdown() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let ov = Overlapped::new(HANDLE::NULL);
        false_with(&ctx, ctx.disconnect_ex(INVALID_SOCKET, Some(&ov), 0, 0).await, WSAENOTSOCK.0);
        let lone = tcp(&ctx).await;
        false_with(&ctx, ctx.disconnect_ex(lone, Some(&ov), 0, 0).await, WSAENOTCONN.0);
        let (l, addr) = listener(&ctx).await;
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        let s = ctx.accept(l, None, None).await;
        let ev = ctx.wsa_create_event().await;
        let ov = Overlapped::new(ev);
        let r = ctx.disconnect_ex(c, Some(&ov), 0, 0).await;
        let ok = r == TRUE
            || (ctx.get_last_error() == ERROR_IO_PENDING && {
                let (mut n, mut f) = (0, 0);
                ctx.wsa_get_overlapped_result(c, &ov, &mut n, true, &mut f).await == TRUE
            });
        assert!(ok, "DisconnectEx failed: {}", ctx.get_last_error());
        fails(&ctx, ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, WSAEISCONN.0);
        let mut b = [0u8; 4];
        assert_eq!(ctx.recv(s, &mut b, 4, 0).await, 0, "the peer sees end of stream");
        fails(&ctx, ctx.send(c, b"x", 1, 0).await, WSAESHUTDOWN.0);
        // The peer can still send, and this side receive.
        assert_eq!(ctx.send(s, b"back", 4, 0).await, 4);
        assert_eq!(ctx.recv(c, &mut b, 4, 0).await, 4);
        // Without an OVERLAPPED.
        let c2 = tcp(&ctx).await;
        assert_eq!(ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        let _s2 = ctx.accept(l, None, None).await;
        assert_eq!(ctx.disconnect_ex(c2, None, 0, 0).await, TRUE);
        fails(&ctx, ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, WSAEISCONN.0);
        0
    });
}

/// §22.44 (DisconnectEx doc: TF_REUSE_SOCKET "prepares the socket handle to be reused ...
/// the socket handle can be passed to the AcceptEx or ConnectEx function"; dwReserved must
/// be zero, else WSAEINVAL): after it the socket serves as AcceptEx's accept socket.
#[test]
fn disconnectex_reuse_socket_serves_acceptex_again() {
    run_ok(|ctx| async move {
        startup(&ctx).await;
        let (c, _s) = pair(&ctx).await;
        false_with(&ctx, ctx.disconnect_ex(c, None, 0, 1).await, WSAEINVAL.0);
        assert_eq!(ctx.disconnect_ex(c, None, TF_REUSE_SOCKET, 0).await, TRUE);
        let (l, addr) = listener(&ctx).await;
        let ev = ctx.create_event(None, false, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = IoBuffer::new(2 * ADDR_SPACE as usize);
        false_with(
            &ctx,
            ctx.accept_ex(l, c, Some(&buf), 0, ADDR_SPACE, ADDR_SPACE, None, Some(&ov)).await,
            ERROR_IO_PENDING.0,
        );
        let c2 = tcp(&ctx).await;
        assert_eq!(ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.send(c2, b"again", 5, 0).await, 5);
        let mut b = [0u8; 5];
        assert_eq!(ctx.recv(c, &mut b, 5, 0).await, 5);
        assert_eq!(&b, b"again");
        0
    });
}

// ----- deadlock report (22.40) ---------------------------------------------------------------

/// §22.40 (the deadlock report names what a wait waits for): a thread waiting in
/// GetQueuedCompletionStatus for a WSARecv whose peer only it holds open is stuck; the
/// report names the socket, its peer and the peer's handle, and the thread waits for
/// itself. Likewise WSAGetOverlappedResult(fWait) and an alertable SleepEx for a completion
/// routine.
#[test]
fn a_port_wait_for_a_receive_nobody_can_complete_is_a_deadlock_naming_the_socket() {
    for how in 0..3 {
        let r = run_main(move |ctx| async move {
            startup(&ctx).await;
            let (src, _dst) = pair(&ctx).await;
            let buf = IoBuffer::new(8);
            let ov = Overlapped::new(HANDLE::NULL);
            match how {
                0 => {
                    let port = ctx.create_io_completion_port(src, HANDLE::NULL, 1, 0).await;
                    recv_pending(&ctx, src, &buf, &ov).await;
                    let _ = gqcs(&ctx, port, INFINITE).await;
                }
                1 => {
                    let ov = Overlapped::new(ctx.wsa_create_event().await);
                    recv_pending(&ctx, src, &buf, &ov).await;
                    let (mut n, mut f) = (0, 0);
                    let _ = ctx.wsa_get_overlapped_result(src, &ov, &mut n, true, &mut f).await;
                }
                _ => {
                    let routine = wsa_completion_routine(|_ctx, _code, _bytes, _ov| async {});
                    let mut flags = 0;
                    let r = ctx.wsa_recv(src, &buf, None, &mut flags, Some(&ov), Some(routine)).await;
                    fails(&ctx, r, WSA_IO_PENDING);
                    let _ = ctx.sleep_ex(INFINITE, true).await;
                }
            }
            0
        });
        let Outcome::Deadlock(d) = &r.outcome else { panic!("case {how}: expected a deadlock, got {}", r.summary()) };
        let text = d.render();
        assert!(text.contains("data or end of stream"), "case {how}: {text}");
        assert!(text.contains("socket#"), "case {how}: {text}");
        assert_eq!(d.cycle.len(), 1, "case {how}: the thread holds the peer itself: {text}");
        assert!(d.pending_io.iter().any(|p| p.contains("WSARecv")), "case {how}: {text}");
    }
}

// ----- across hosts (27.11) ------------------------------------------------------------------

/// Runs `client` on host `local` (10.0.0.1) and `server` on host `server` (10.0.0.2).
fn two_hosts<C, CF, S, SF>(config: Config, client: C, server: S) -> RunReport
where
    C: Fn(ThreadCtx) -> CF + 'static,
    CF: Future<Output = u32> + 'static,
    S: Fn(ThreadCtx) -> SF + 'static,
    SF: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(config);
    sim.host("local", [10, 0, 0, 1]).host("server", [10, 0, 0, 2]);
    sim.program("client.exe", client);
    sim.program("server.exe", server);
    sim.start_on("server", "server.exe");
    sim.run("client.exe")
}

/// The server of the cross-host tests: accepts one connection on 7000 and echoes 4 bytes.
async fn echo_server(ctx: ThreadCtx) -> u32 {
    startup(&ctx).await;
    let l = tcp(&ctx).await;
    let a = SOCKADDR_IN::new(INADDR_ANY, 7000);
    assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
    assert_eq!(ctx.listen(l, 5).await, 0);
    let s = ctx.accept(l, None, None).await;
    if s == INVALID_SOCKET {
        return 0;
    }
    let mut b = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = ctx.recv(s, &mut b[got..], (4 - got) as i32, 0).await;
        if n <= 0 {
            return 0;
        }
        got += n as usize;
    }
    assert_eq!(ctx.send(s, &b, 4, 0).await, 4);
    ctx.sleep(1000).await;
    0
}

/// §27.11 (§27.7's handshake; sock.c test_ConnectEx): ConnectEx to another host pends, and
/// completes once the SYN-ACK is back (one round trip of virtual time), with its send
/// buffer delivered; across a partition that never heals it fails in the completion with
/// WSAETIMEDOUT after 21 s (GetOverlappedResult: ERROR_SEM_TIMEOUT [inferred]).
#[test]
fn connectex_across_hosts_and_a_partition() {
    let mut config = Config::round_robin();
    config.network.links.push(LinkConfig::new("local", "server", 5));
    let r = two_hosts(
        config,
        |ctx| async move {
            startup(&ctx).await;
            let c = tcp(&ctx).await;
            let any = SOCKADDR_IN::new(INADDR_ANY, 0);
            assert_eq!(ctx.bind(c, Some(&any), SOCKADDR_IN_LEN).await, 0);
            let ev = ctx.create_event(None, false, false, None).await;
            let ov = Overlapped::new(ev);
            let to = SOCKADDR_IN::new(0x0A00_0002, 7000);
            ctx.sleep(1).await;
            let t0 = ctx.get_tick_count().await;
            false_with(
                &ctx,
                ctx.connect_ex(c, Some(&to), SOCKADDR_IN_LEN, Some(b"echo"), None, Some(&ov)).await,
                ERROR_IO_PENDING.0,
            );
            assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_tick_count().await - t0, 10, "one round trip");
            let mut n = 0;
            assert_eq!(ctx.get_overlapped_result(c, &ov, &mut n, false).await, TRUE);
            assert_eq!(n, 4);
            let buf = IoBuffer::new(4);
            let ov2 = Overlapped::new(ctx.wsa_create_event().await);
            let mut flags = 0;
            let r = ctx.wsa_recv(c, &buf, None, &mut flags, Some(&ov2), None).await;
            assert!(r == 0 || ctx.wsa_get_last_error() == WSA_IO_PENDING as i32);
            let (mut n, mut f) = (0, 0);
            assert_eq!(ctx.wsa_get_overlapped_result(c, &ov2, &mut n, true, &mut f).await, TRUE);
            assert_eq!(buf.head(n as usize), &b"echo"[..n as usize]);
            0
        },
        echo_server,
    );
    match &r.outcome {
        Outcome::Completed { exit_codes } => assert!(exit_codes.iter().all(|e| e.2 == 0), "{}", r.trace_text()),
        _ => panic!("{}\n{}", r.summary(), r.trace_text()),
    }

    let mut config = Config::round_robin();
    config.network.partitions.push(PartitionConfig { a: "local".into(), b: "server".into(), from_ms: 0, to_ms: None });
    let r = two_hosts(
        config,
        |ctx| async move {
            startup(&ctx).await;
            let c = tcp(&ctx).await;
            let any = SOCKADDR_IN::new(INADDR_ANY, 0);
            assert_eq!(ctx.bind(c, Some(&any), SOCKADDR_IN_LEN).await, 0);
            let ev = ctx.create_event(None, false, false, None).await;
            let ov = Overlapped::new(ev);
            let to = SOCKADDR_IN::new(0x0A00_0002, 7000);
            let t0 = ctx.get_tick_count().await;
            false_with(
                &ctx,
                ctx.connect_ex(c, Some(&to), SOCKADDR_IN_LEN, None, None, Some(&ov)).await,
                ERROR_IO_PENDING.0,
            );
            assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_tick_count().await - t0, 21_000);
            let mut n = 0;
            false_with(&ctx, ctx.get_overlapped_result(c, &ov, &mut n, false).await, ERROR_SEM_TIMEOUT.0);
            let mut f = 0;
            assert_eq!(ctx.wsa_get_overlapped_result(c, &ov, &mut n, false, &mut f).await, FALSE);
            assert_eq!(ctx.wsa_get_last_error(), WSAETIMEDOUT.0 as i32);
            0
        },
        |ctx| async move {
            ctx.sleep(30_000).await;
            0
        },
    );
    match &r.outcome {
        Outcome::Completed { exit_codes } => assert!(exit_codes.iter().all(|e| e.2 == 0), "{}", r.trace_text()),
        _ => panic!("{}\n{}", r.summary(), r.trace_text()),
    }
}
