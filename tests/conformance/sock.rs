//! Winsock sockets on one host over loopback: named after Wine's ws2_32 sock.c suite,
//! whose tests run on Windows (only assertions that pass there, never todo_wine ones).
//! Fact numbers refer to docs/semantics.md §22, which gives each fact its source; "SK-n"
//! is the fact's number in ../shared/semantics/mapping-mailslot-socket.md. [inferred]
//! marks a behaviour no Windows test checks directly.

use crate::support::*;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

const LOOPBACK: u32 = INADDR_LOOPBACK;

/// WSAStartup(2.2) that must succeed.
async fn startup(ctx: &ThreadCtx) {
    let mut data = WSADATA::default();
    assert_eq!(ctx.wsa_startup(MAKEWORD(2, 2), Some(&mut data)).await, 0);
    assert_eq!(data.wVersion, MAKEWORD(2, 2));
}

/// A TCP socket that must be created.
async fn tcp(ctx: &ThreadCtx) -> SOCKET {
    let s = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    assert_ne!(s, INVALID_SOCKET, "socket failed: {}", ctx.wsa_get_last_error());
    s
}

/// A UDP socket that must be created.
async fn udp(ctx: &ThreadCtx) -> SOCKET {
    let s = ctx.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).await;
    assert_ne!(s, INVALID_SOCKET, "socket failed: {}", ctx.wsa_get_last_error());
    s
}

/// The address a socket is bound to.
async fn name_of(ctx: &ThreadCtx, s: SOCKET) -> SOCKADDR_IN {
    let mut a = SOCKADDR_IN::default();
    let mut len = SOCKADDR_IN_LEN;
    assert_eq!(ctx.getsockname(s, Some(&mut a), Some(&mut len)).await, 0, "getsockname");
    a
}

/// A listening TCP socket on 127.0.0.1 and an ephemeral port; returns it and its address.
async fn listener(ctx: &ThreadCtx, backlog: i32) -> (SOCKET, SOCKADDR_IN) {
    let l = tcp(ctx).await;
    let a = SOCKADDR_IN::new(LOOPBACK, 0);
    assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0, "bind: {}", ctx.wsa_get_last_error());
    assert_eq!(ctx.listen(l, backlog).await, 0, "listen: {}", ctx.wsa_get_last_error());
    (l, name_of(ctx, l).await)
}

/// A connected pair on loopback: (client, accepted server socket).
async fn pair(ctx: &ThreadCtx) -> (SOCKET, SOCKET) {
    let (l, addr) = listener(ctx, 5).await;
    let c = tcp(ctx).await;
    assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0, "connect: {}", ctx.wsa_get_last_error());
    let s = ctx.accept(l, None, None).await;
    assert_ne!(s, INVALID_SOCKET, "accept: {}", ctx.wsa_get_last_error());
    assert_eq!(ctx.closesocket(l).await, 0);
    (c, s)
}

/// Asserts an int-returning call failed with `e`.
#[track_caller]
fn fails(ctx: &ThreadCtx, ret: i32, e: Win32Error) {
    assert_eq!(ret, SOCKET_ERROR, "expected failure with {e}");
    assert_eq!(ctx.wsa_get_last_error(), e.0 as i32, "expected {e}, got {}", ctx.get_last_error());
}

/// recv into a buffer of `len`: the bytes.
async fn recv_bytes(ctx: &ThreadCtx, s: SOCKET, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = ctx.recv(s, &mut buf, len as i32, 0).await;
    assert!(n >= 0, "recv failed: {}", ctx.get_last_error());
    buf.truncate(n as usize);
    buf
}

/// Receives until `total` bytes arrived (a stream may return them in parts).
async fn recv_all(ctx: &ThreadCtx, s: SOCKET, total: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < total {
        let part = recv_bytes(ctx, s, total - out.len()).await;
        assert!(!part.is_empty(), "end of stream after {} of {total} bytes", out.len());
        out.extend(part);
    }
    out
}

fn int(v: i32) -> [u8; 4] {
    v.to_le_bytes()
}

// ----- WSAStartup, socket (22.1, 22.2) ----------------------------------------------------

/// §22.1 (MS docs socket, bind, WSACleanup: "WSANOTINITIALISED: A successful WSAStartup call
/// must occur before using this function"): every call before WSAStartup fails with 10093.
#[test]
fn calls_before_wsastartup_fail_with_wsanotinitialised() {
    check(|ctx| async move {
        assert_eq!(WSANOTINITIALISED.0, 10093);
        ctx.wsa_set_last_error(SENTINEL as i32);
        assert_eq!(ctx.socket(AF_INET, SOCK_STREAM, 0).await, INVALID_SOCKET);
        assert_eq!(ctx.wsa_get_last_error(), 10093);
        fails(&ctx, ctx.wsa_cleanup().await, WSANOTINITIALISED);
        fails(&ctx, ctx.listen(HANDLE(4), 1).await, WSANOTINITIALISED);
        fails(&ctx, ctx.closesocket(HANDLE(4)).await, WSANOTINITIALISED);
        0
    });
}

/// §22.1 (MS docs WSAStartup: version 2.2 is granted, a version below 1.0 is
/// WSAVERNOTSUPPORTED returned as the value; WSACleanup: "There must be a call to
/// WSACleanup for each successful call to WSAStartup"; sockets open at the last WSACleanup
/// are closed).
#[test]
fn wsastartup_counts_and_the_last_cleanup_closes_sockets() {
    check(|ctx| async move {
        assert_eq!(ctx.wsa_startup(0, None).await, WSAVERNOTSUPPORTED.0 as i32);
        let mut d = WSADATA::default();
        assert_eq!(ctx.wsa_startup(MAKEWORD(2, 2), Some(&mut d)).await, 0);
        assert_eq!((d.wVersion, d.wHighVersion), (0x0202, 0x0202));
        assert_eq!(ctx.wsa_startup(MAKEWORD(1, 1), Some(&mut d)).await, 0);
        assert_eq!(d.wVersion, MAKEWORD(1, 1));
        let s = tcp(&ctx).await;
        assert_eq!(ctx.wsa_cleanup().await, 0);
        // One startup left: the socket still works.
        let mut v = [0u8; 4];
        let mut len = 4;
        assert_eq!(ctx.getsockopt(s, SOL_SOCKET, SO_TYPE, Some(&mut v), Some(&mut len)).await, 0);
        assert_eq!(i32::from_le_bytes(v), SOCK_STREAM);
        assert_eq!(ctx.wsa_cleanup().await, 0);
        // The handle went with the last cleanup.
        assert_eq!(ctx.close_handle(s).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        fails(&ctx, ctx.wsa_cleanup().await, WSANOTINITIALISED);
        0
    });
}

/// §22.2 (MS docs socket error table; dotnet/runtime PAL socket tests expect
/// WSAEPROTONOSUPPORT for SOCK_STREAM with IPPROTO_UDP).
#[test]
fn socket_rejects_bad_families_types_and_protocols() {
    check(|ctx| async move {
        startup(&ctx).await;
        for (af, ty, proto, e) in [
            (1234, SOCK_STREAM, 0, WSAEAFNOSUPPORT),
            (AF_UNSPEC, SOCK_STREAM, 0, WSAEAFNOSUPPORT),
            (AF_INET, 99, 0, WSAESOCKTNOSUPPORT),
            (AF_INET, SOCK_STREAM, IPPROTO_UDP, WSAEPROTONOSUPPORT),
            (AF_INET, SOCK_DGRAM, 255, WSAEPROTONOSUPPORT),
        ] {
            ctx.wsa_set_last_error(0);
            assert_eq!(ctx.socket(af, ty, proto).await, INVALID_SOCKET, "{af} {ty} {proto}");
            assert_eq!(ctx.get_last_error(), e, "{af} {ty} {proto}");
        }
        assert_ne!(ctx.socket(AF_INET, SOCK_STREAM, 0).await, INVALID_SOCKET);
        assert_ne!(ctx.socket(AF_INET, SOCK_DGRAM, 0).await, INVALID_SOCKET);
        0
    });
}

/// §22.4 (MS docs closesocket: "WSAENOTSOCK The descriptor is not a socket"; SK-8: a
/// garbage handle is WSAENOTSOCK): an event handle, a pipe handle or a closed socket.
#[test]
fn socket_calls_on_other_handles_fail_with_wsaenotsock() {
    check(|ctx| async move {
        startup(&ctx).await;
        let ev = ctx.create_event(None, true, false, None).await;
        fails(&ctx, ctx.closesocket(ev).await, WSAENOTSOCK);
        fails(&ctx, ctx.listen(ev, 1).await, WSAENOTSOCK);
        fails(&ctx, ctx.closesocket(HANDLE(0x1234)).await, WSAENOTSOCK);
        let s = tcp(&ctx).await;
        assert_eq!(ctx.closesocket(s).await, 0);
        fails(&ctx, ctx.closesocket(s).await, WSAENOTSOCK);
        let mut b = [0u8; 4];
        fails(&ctx, ctx.recv(s, &mut b, 4, 0).await, WSAENOTSOCK);
        // The event is untouched.
        assert_eq!(ctx.set_event(ev).await, TRUE);
        0
    });
}

/// §22.4 (MS docs WSAGetLastError: it is GetLastError's value for the thread;
/// WSASetLastError sets it).
#[test]
fn wsa_last_error_is_the_thread_last_error() {
    check(|ctx| async move {
        ctx.wsa_set_last_error(10054);
        assert_eq!(ctx.get_last_error(), WSAECONNRESET);
        ctx.set_last_error(ERROR_INVALID_HANDLE);
        assert_eq!(ctx.wsa_get_last_error(), 6);
        0
    });
}

// ----- bind (22.3) -------------------------------------------------------------------------

/// §22.3 (SK-13, sock.c test_bind: WSAEFAULT for a missing or short address,
/// WSAEAFNOSUPPORT for another family, WSAEADDRNOTAVAIL for an address not on this host,
/// WSAEINVAL for a second bind, WSAEADDRINUSE for a port in use; a successful bind sets the
/// last error to 0).
#[test]
fn bind_errors() {
    check(|ctx| async move {
        startup(&ctx).await;
        let s = tcp(&ctx).await;
        fails(&ctx, ctx.bind(s, None, SOCKADDR_IN_LEN).await, WSAEFAULT);
        let a = SOCKADDR_IN::new(LOOPBACK, 0);
        fails(&ctx, ctx.bind(s, Some(&a), 8).await, WSAEFAULT);
        let mut bad = a;
        bad.sin_family = 99;
        fails(&ctx, ctx.bind(s, Some(&bad), SOCKADDR_IN_LEN).await, WSAEAFNOSUPPORT);
        let far = SOCKADDR_IN::new(0xC000_0200, 0); // 192.0.2.0
        fails(&ctx, ctx.bind(s, Some(&far), SOCKADDR_IN_LEN).await, WSAEADDRNOTAVAIL);
        ctx.wsa_set_last_error(SENTINEL as i32);
        assert_eq!(ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wsa_get_last_error(), 0, "a successful bind clears the last error");
        fails(&ctx, ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, WSAEINVAL);
        let taken = name_of(&ctx, s).await;
        let t = tcp(&ctx).await;
        fails(&ctx, ctx.bind(t, Some(&taken), SOCKADDR_IN_LEN).await, WSAEADDRINUSE);
        0
    });
}

/// §22.3 [inferred: Windows picks ephemeral ports from 49152 up; winsim picks the next free
/// one, so runs are reproducible]: port 0 gives distinct ports in the dynamic range, and
/// getsockname on an unbound socket is WSAEINVAL (MS docs getsockname).
#[test]
fn port_zero_picks_distinct_ephemeral_ports() {
    check(|ctx| async move {
        startup(&ctx).await;
        let u = tcp(&ctx).await;
        let mut a = SOCKADDR_IN::default();
        let mut len = SOCKADDR_IN_LEN;
        fails(&ctx, ctx.getsockname(u, Some(&mut a), Some(&mut len)).await, WSAEINVAL);
        let (_, a1) = listener(&ctx, 1).await;
        let (_, a2) = listener(&ctx, 1).await;
        assert!(a1.port() >= 49152 && a2.port() >= 49152);
        assert_ne!(a1.port(), a2.port());
        assert_eq!(a1.addr(), LOOPBACK);
        0
    });
}

/// §22.3 (MS docs "Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE" and its bind table;
/// TEACHING-CASES item 22b): two sockets that both set SO_REUSEADDR share a port (both
/// listen: the hijack); a socket asking to share a port whose owner did not gets WSAEACCES;
/// SO_EXCLUSIVEADDRUSE keeps everyone out (WSAEADDRINUSE).
#[test]
fn reuseaddr_shares_a_port_and_exclusiveaddruse_does_not() {
    check(|ctx| async move {
        startup(&ctx).await;
        let on = int(1);
        let a = SOCKADDR_IN::new(LOOPBACK, 5150);
        let p1 = tcp(&ctx).await;
        let p2 = tcp(&ctx).await;
        assert_eq!(ctx.setsockopt(p1, SOL_SOCKET, SO_REUSEADDR, Some(&on), 4).await, 0);
        assert_eq!(ctx.setsockopt(p2, SOL_SOCKET, SO_REUSEADDR, Some(&on), 4).await, 0);
        assert_eq!(ctx.bind(p1, Some(&a), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.bind(p2, Some(&a), SOCKADDR_IN_LEN).await, 0, "both asked to share");
        assert_eq!(ctx.listen(p1, 5).await, 0);
        assert_eq!(ctx.listen(p2, 5).await, 0);
        // The owner did not ask to share: the second is refused.
        let b = SOCKADDR_IN::new(LOOPBACK, 5151);
        let q1 = tcp(&ctx).await;
        let q2 = tcp(&ctx).await;
        assert_eq!(ctx.bind(q1, Some(&b), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.setsockopt(q2, SOL_SOCKET, SO_REUSEADDR, Some(&on), 4).await, 0);
        fails(&ctx, ctx.bind(q2, Some(&b), SOCKADDR_IN_LEN).await, WSAEACCES);
        // Exclusive use.
        let c = SOCKADDR_IN::new(LOOPBACK, 5152);
        let x1 = tcp(&ctx).await;
        let x2 = tcp(&ctx).await;
        assert_eq!(ctx.setsockopt(x1, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, Some(&on), 4).await, 0);
        assert_eq!(ctx.bind(x1, Some(&c), SOCKADDR_IN_LEN).await, 0);
        fails(&ctx, ctx.bind(x2, Some(&c), SOCKADDR_IN_LEN).await, WSAEADDRINUSE);
        // The two options exclude each other on one socket (SO_EXCLUSIVEADDRUSE doc).
        fails(&ctx, ctx.setsockopt(p1, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, Some(&on), 4).await, WSAEINVAL);
        0
    });
}

// ----- listen, accept, connect (22.6-22.12) ----------------------------------------------

/// §22.9 (SK-8, sock.c test_listen: garbage handle WSAENOTSOCK, UDP WSAEOPNOTSUPP, unbound
/// WSAEINVAL; SO_ACCEPTCONN 0 before and 1 after; listen twice succeeds).
#[test]
fn listen_errors_and_acceptconn() {
    check(|ctx| async move {
        startup(&ctx).await;
        fails(&ctx, ctx.listen(HANDLE::NULL, 1).await, WSAENOTSOCK);
        let u = udp(&ctx).await;
        fails(&ctx, ctx.listen(u, 1).await, WSAEOPNOTSUPP);
        let s = tcp(&ctx).await;
        for backlog in [-2, 1, SOMAXCONN] {
            fails(&ctx, ctx.listen(s, backlog).await, WSAEINVAL);
        }
        let acceptconn = |s| {
            let ctx = ctx.clone();
            async move {
                let mut v = [0xffu8; 4];
                let mut len = 4;
                assert_eq!(ctx.getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, Some(&mut v), Some(&mut len)).await, 0);
                i32::from_le_bytes(v)
            }
        };
        assert_eq!(acceptconn(s).await, 0);
        let a = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.listen(s, SOMAXCONN).await, 0);
        assert_eq!(acceptconn(s).await, 1);
        assert_eq!(ctx.listen(s, 1).await, 0);
        0
    });
}

/// §22.10 (SK-10, sock.c test_select/test_connect_completion_port: a blocking connect to a
/// loopback listener returns 0 before the server calls accept); getsockname/getpeername
/// of both ends agree (MS docs getpeername).
#[test]
fn connect_completes_before_accept_and_names_agree() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx, 5).await;
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        let mut from = SOCKADDR_IN::default();
        let mut len = SOCKADDR_IN_LEN;
        let s = ctx.accept(l, Some(&mut from), Some(&mut len)).await;
        assert_ne!(s, INVALID_SOCKET);
        let cname = name_of(&ctx, c).await;
        assert_eq!(from, cname, "accept returns the client's address");
        let mut peer = SOCKADDR_IN::default();
        let mut len = SOCKADDR_IN_LEN;
        assert_eq!(ctx.getpeername(c, Some(&mut peer), Some(&mut len)).await, 0);
        assert_eq!(peer, addr);
        assert_eq!(name_of(&ctx, s).await, addr);
        // connect on a connected socket: WSAEISCONN (SK-7); on a listener: WSAEINVAL.
        fails(&ctx, ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, WSAEISCONN);
        fails(&ctx, ctx.connect(l, Some(&addr), SOCKADDR_IN_LEN).await, WSAEINVAL);
        // getpeername on an unconnected socket: WSAENOTCONN.
        let u = tcp(&ctx).await;
        let mut len = SOCKADDR_IN_LEN;
        fails(&ctx, ctx.getpeername(u, Some(&mut peer), Some(&mut len)).await, WSAENOTCONN);
        0
    });
}

/// §22.6 (SK-1, SK-2: a blocking connect to a closed loopback port fails with
/// WSAECONNREFUSED, and on Windows only after about 2 s because the SYN is retried after
/// each reset; TEACHING-CASES item 22a): measured in virtual time.
#[test]
fn refused_connect_takes_two_seconds_of_virtual_time() {
    check(|ctx| async move {
        startup(&ctx).await;
        let c = tcp(&ctx).await;
        let t0 = ctx.get_tick_count().await;
        let nobody = SOCKADDR_IN::new(LOOPBACK, 4444);
        fails(&ctx, ctx.connect(c, Some(&nobody), SOCKADDR_IN_LEN).await, WSAECONNREFUSED);
        assert_eq!(WSAECONNREFUSED.0, 10061);
        let t1 = ctx.get_tick_count().await;
        assert_eq!(t1 - t0, 2000, "refusal time");
        // The socket can connect again afterwards (SK-4).
        let (_, addr) = listener(&ctx, 1).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        0
    });
}

/// §22.6 [inferred from SK-2: the SYN is resent while the connect waits, so a listener that
/// starts within the refusal time is reached by a retry]: a connect racing the listen
/// succeeds when the listen comes before the last retry.
#[test]
fn a_listen_during_the_retries_is_reached() {
    check(|ctx| async move {
        startup(&ctx).await;
        let a = SOCKADDR_IN::new(LOOPBACK, 6000);
        let l = tcp(&ctx).await;
        assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
        let late = spawn(&ctx, move |ctx| async move {
            ctx.sleep(700).await;
            assert_eq!(ctx.listen(l, 1).await, 0);
            0
        })
        .await;
        let c = tcp(&ctx).await;
        let t0 = ctx.get_tick_count().await;
        assert_eq!(ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await, 0, "{}", ctx.get_last_error());
        // Retries come every 500 ms: the one at 1000 ms finds the listener.
        assert_eq!(ctx.get_tick_count().await - t0, 1000);
        join(&ctx, late).await;
        0
    });
}

/// §22.6 (Config::connect_refusal_ms = 0: refused at once, as on Linux) and §22.7 (MS docs
/// connect: WSAETIMEDOUT "An attempt to connect timed out without establishing a
/// connection"; 21 s [inferred: three SYNs 3, 6 and 12 s apart]; WSAEADDRNOTAVAIL for
/// INADDR_ANY).
#[test]
fn unreachable_addresses_time_out_and_instant_refusal_is_configurable() {
    let mut config = Config::round_robin();
    config.connect_refusal_ms = 0;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        let c = tcp(&ctx).await;
        let t0 = ctx.get_tick_count().await;
        let nobody = SOCKADDR_IN::new(LOOPBACK, 4444);
        fails(&ctx, ctx.connect(c, Some(&nobody), SOCKADDR_IN_LEN).await, WSAECONNREFUSED);
        assert_eq!(ctx.get_tick_count().await, t0);
        let far = SOCKADDR_IN::new(0x0A00_0001, 80); // 10.0.0.1
        fails(&ctx, ctx.connect(c, Some(&far), SOCKADDR_IN_LEN).await, WSAETIMEDOUT);
        assert_eq!(ctx.get_tick_count().await - t0, 21_000);
        let any = SOCKADDR_IN::new(INADDR_ANY, 80);
        fails(&ctx, ctx.connect(c, Some(&any), SOCKADDR_IN_LEN).await, WSAEADDRNOTAVAIL);
        0
    });
    assert_completed(&r);
}

/// §22.9 (MS docs listen: "If the backlog is full ... the client will receive an error with
/// an indication of WSAECONNREFUSED"): with backlog 1, a second connection while the first
/// waits for accept is refused.
#[test]
fn connections_beyond_the_backlog_are_refused() {
    let mut config = Config::round_robin();
    config.connect_refusal_ms = 0;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx, 1).await;
        let c1 = tcp(&ctx).await;
        let c2 = tcp(&ctx).await;
        assert_eq!(ctx.connect(c1, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        fails(&ctx, ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, WSAECONNREFUSED);
        assert_ne!(ctx.accept(l, None, None).await, INVALID_SOCKET);
        assert_eq!(ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, 0, "room again after accept");
        0
    });
    assert_completed(&r);
}

/// §22.11 (SK-11, sock.c test_accept: `*addrlen` too small is WSAEFAULT; MS docs accept:
/// WSAEINVAL "The listen function was not invoked prior to accept"; a blocking accept waits
/// for a connection; non-blocking, WSAEWOULDBLOCK).
#[test]
fn accept_errors_blocking_and_nonblocking() {
    check(|ctx| async move {
        startup(&ctx).await;
        let s = tcp(&ctx).await;
        assert_eq!(ctx.accept(s, None, None).await, INVALID_SOCKET);
        assert_eq!(ctx.get_last_error(), WSAEINVAL);
        let (l, addr) = listener(&ctx, 5).await;
        let mut a = SOCKADDR_IN::default();
        let mut zero = 0;
        assert_eq!(ctx.accept(l, Some(&mut a), Some(&mut zero)).await, INVALID_SOCKET);
        assert_eq!(ctx.get_last_error(), WSAEFAULT);
        let mut on = 1u32;
        assert_eq!(ctx.ioctlsocket(l, FIONBIO, Some(&mut on)).await, 0);
        assert_eq!(ctx.accept(l, None, None).await, INVALID_SOCKET);
        assert_eq!(ctx.get_last_error(), WSAEWOULDBLOCK);
        let mut off = 0u32;
        assert_eq!(ctx.ioctlsocket(l, FIONBIO, Some(&mut off)).await, 0);
        let accepted = Rc::new(Cell::new(false));
        let flag = accepted.clone();
        let t = spawn(&ctx, move |ctx| async move {
            let s = ctx.accept(l, None, None).await;
            flag.set(true);
            u32::from(s == INVALID_SOCKET)
        })
        .await;
        ctx.sleep(1).await;
        assert!(!accepted.get(), "accept returned without a connection");
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(join(&ctx, t).await, 0);
        assert!(accepted.get());
        0
    });
}

/// §22.12 (SK-12, sock.c test_accept_inheritance: accepted sockets inherit SO_RCVBUF,
/// SO_SNDBUF, TCP_NODELAY, SO_LINGER... from the listener).
#[test]
fn accepted_sockets_inherit_the_listener_options() {
    check(|ctx| async move {
        startup(&ctx).await;
        let l = tcp(&ctx).await;
        assert_eq!(ctx.setsockopt(l, SOL_SOCKET, SO_RCVBUF, Some(&int(1234)), 4).await, 0);
        assert_eq!(ctx.setsockopt(l, IPPROTO_TCP, TCP_NODELAY, Some(&int(1)), 4).await, 0);
        let a = SOCKADDR_IN::new(LOOPBACK, 0);
        assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.listen(l, 1).await, 0);
        let addr = name_of(&ctx, l).await;
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        let s = ctx.accept(l, None, None).await;
        let mut v = [0u8; 4];
        let mut len = 4;
        assert_eq!(ctx.getsockopt(s, SOL_SOCKET, SO_RCVBUF, Some(&mut v), Some(&mut len)).await, 0);
        assert_eq!(i32::from_le_bytes(v), 1234);
        assert_eq!(ctx.getsockopt(s, IPPROTO_TCP, TCP_NODELAY, Some(&mut v), Some(&mut len)).await, 0);
        assert_eq!(i32::from_le_bytes(v), 1);
        0
    });
}

// ----- data, close, shutdown (22.14-22.23) ------------------------------------------------

/// §22.14 (MS docs recv: "If the connection has been gracefully closed, the return value is
/// zero"; SK-14, sock.c test_shutdown: further recvs keep returning 0): the bytes sent
/// before the close come first (SK-15, sock.c test_send_buffering).
#[test]
fn graceful_close_delivers_the_data_then_zero_forever() {
    check_every_schedule(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.send(s, b"hello world", 11, 0).await, 11);
        assert_eq!(ctx.closesocket(s).await, 0);
        assert_eq!(recv_all(&ctx, c, 11).await, b"hello world");
        for _ in 0..3 {
            ctx.wsa_set_last_error(SENTINEL as i32);
            assert_eq!(recv_bytes(&ctx, c, 16).await, b"");
            assert_eq!(ctx.wsa_get_last_error(), SENTINEL as i32, "recv 0 leaves the last error");
        }
        0
    });
}

/// §22.5 (TCP is a byte stream: MS docs recv "the amount of data that is currently
/// available—up to the size of the buffer"; docs/semantics.md §22.5, TEACHING-CASES
/// teaching case 1): over seeds, one 8-byte send is received in one recv on some seeds and
/// in parts on others, never reordered; the split is a recorded decision and replays.
#[test]
fn a_send_may_arrive_in_parts_decided_by_the_schedule() {
    let mut whole = 0;
    let mut split = 0;
    for seed in 0..40 {
        let r = run_with(Config::random(seed), |ctx| async move {
            startup(&ctx).await;
            let (c, s) = pair(&ctx).await;
            assert_eq!(ctx.send(s, b"RESPONSE", 8, 0).await, 8);
            let first = recv_bytes(&ctx, c, 64).await;
            let rest = recv_all(&ctx, c, 8 - first.len()).await;
            assert_eq!([first.clone(), rest].concat(), b"RESPONSE");
            first.len() as u32
        });
        let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
        if exit_codes[0].2 == 8 {
            whole += 1
        } else {
            split += 1
        }
        let again = run_with(r.replay_config(), |ctx| async move {
            startup(&ctx).await;
            let (c, s) = pair(&ctx).await;
            assert_eq!(ctx.send(s, b"RESPONSE", 8, 0).await, 8);
            recv_bytes(&ctx, c, 64).await.len() as u32
        });
        assert_eq!(again.outcome, r.outcome, "replay of seed {seed}");
    }
    assert!(whole > 0 && split > 0, "whole {whole}, split {split}");
    // Round-robin (no split): a recv takes all it can.
    let r = run_main(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.send(s, b"AB", 2, 0).await, 2);
        assert_eq!(ctx.send(s, b"CD", 2, 0).await, 2);
        recv_bytes(&ctx, c, 64).await.len() as u32
    });
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    assert_eq!(exit_codes[0].2, 4, "two sends coalesce in one recv");
}

/// §22.22 (SK-22, sock.c test_empty_recv: with bytes queued, a zero-length recv returns 0
/// and consumes nothing; the next recv returns them) and MSG_PEEK (MS docs recv: "The data
/// is copied into the buffer, but is not removed from the input queue").
#[test]
fn zero_length_recv_is_not_end_of_stream_and_peek_keeps_data() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.send(s, b"12345", 5, 0).await, 5);
        let mut none = [0u8; 0];
        assert_eq!(ctx.recv(c, &mut none, 0, 0).await, 0);
        let mut n = 0;
        assert_eq!(ctx.ioctlsocket(c, FIONREAD, Some(&mut n)).await, 0);
        assert_eq!(n, 5, "FIONREAD after the empty recv");
        let mut b = [0u8; 8];
        let k = ctx.recv(c, &mut b, 8, MSG_PEEK).await;
        assert!(k >= 1 && b[..k as usize] == b"12345"[..k as usize]);
        assert_eq!(recv_all(&ctx, c, 5).await, b"12345");
        // A length past the buffer: WSAEFAULT.
        fails(&ctx, ctx.recv(c, &mut b, 9, 0).await, WSAEFAULT);
        fails(&ctx, ctx.send(c, &b, 9, 0).await, WSAEFAULT);
        0
    });
}

/// §22.16 (SK-16, sock.c test_shutdown: after shutdown(SD_SEND) own send fails with
/// WSAESHUTDOWN (10058), repeating shutdown succeeds, the peer's recv returns 0 repeatedly,
/// the peer can still send and this side receive).
#[test]
fn shutdown_send_is_a_half_close() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.shutdown(c, SD_SEND).await, 0);
        assert_eq!(ctx.shutdown(c, SD_SEND).await, 0);
        fails(&ctx, ctx.send(c, b"x", 1, 0).await, WSAESHUTDOWN);
        assert_eq!(WSAESHUTDOWN.0, 10058);
        assert_eq!(recv_bytes(&ctx, s, 4).await, b"");
        assert_eq!(recv_bytes(&ctx, s, 4).await, b"");
        assert_eq!(ctx.send(s, b"late", 4, 0).await, 4);
        assert_eq!(recv_all(&ctx, c, 4).await, b"late");
        0
    });
}

/// §§22.17, 22.18 (SK-17: after SD_RECEIVE own recv fails with WSAESHUTDOWN even after end
/// of stream; SK-18: shutdown on an unconnected or listening socket WSAENOTCONN, a bad
/// `how` WSAEINVAL; after SD_BOTH getsockname, getpeername work and connect is WSAEISCONN).
#[test]
fn shutdown_receive_and_misuse() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.shutdown(s, SD_SEND).await, 0);
        assert_eq!(recv_bytes(&ctx, c, 4).await, b"");
        assert_eq!(ctx.shutdown(c, SD_RECEIVE).await, 0);
        let mut b = [0u8; 4];
        fails(&ctx, ctx.recv(c, &mut b, 4, 0).await, WSAESHUTDOWN);
        fails(&ctx, ctx.shutdown(c, 0xdead_beef_u32 as i32).await, WSAEINVAL);
        let u = tcp(&ctx).await;
        fails(&ctx, ctx.shutdown(u, SD_BOTH).await, WSAENOTCONN);
        let (l, addr) = listener(&ctx, 1).await;
        fails(&ctx, ctx.shutdown(l, SD_BOTH).await, WSAENOTCONN);
        assert_eq!(ctx.shutdown(c, SD_BOTH).await, 0);
        let mut a = SOCKADDR_IN::default();
        let mut len = SOCKADDR_IN_LEN;
        assert_eq!(ctx.getpeername(c, Some(&mut a), Some(&mut len)).await, 0);
        fails(&ctx, ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, WSAEISCONN);
        0
    });
}

/// §22.20 (SK-20, sock.c test_tcp_reset: after the peer's SO_LINGER {1, 0} close, recv and
/// send fail with WSAECONNRESET (10054)).
#[test]
fn linger_zero_close_resets_the_connection() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        let linger = [1u8, 0, 0, 0]; // LINGER { l_onoff: 1, l_linger: 0 }
        assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_LINGER, Some(&linger), 4).await, 0);
        assert_eq!(ctx.send(s, b"lost", 4, 0).await, 4);
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut b = [0u8; 8];
        fails(&ctx, ctx.recv(c, &mut b, 8, 0).await, WSAECONNRESET);
        fails(&ctx, ctx.recv(c, &mut b, 8, 0).await, WSAECONNRESET);
        fails(&ctx, ctx.send(c, b"x", 1, 0).await, WSAECONNRESET);
        0
    });
}

/// §22.20 (TEACHING-CASES item 22d: closesocket with received bytes unread sends a reset;
/// the peer's recv fails with WSAECONNRESET and the response it had not read is discarded;
/// libuv #3034, curl #657).
#[test]
fn close_with_unread_data_resets_and_discards_the_peer_data() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.send(c, b"request", 7, 0).await, 7);
        assert_eq!(ctx.send(s, b"error page", 10, 0).await, 10);
        // The server closes without reading the request.
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut n = SENTINEL;
        assert_eq!(ctx.ioctlsocket(c, FIONREAD, Some(&mut n)).await, 0);
        assert_eq!(n, 0, "the response was discarded");
        let mut b = [0u8; 16];
        fails(&ctx, ctx.recv(c, &mut b, 16, 0).await, WSAECONNRESET);
        0
    });
}

/// §22.19 (SK-19, sock.c test_shutdown "Send data to a peer which is closed": the send
/// succeeds, the next recv fails with WSAECONNABORTED (10053)).
#[test]
fn sending_to_a_closed_peer_aborts_the_connection() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.shutdown(c, SD_SEND).await, 0);
        assert_eq!(ctx.closesocket(c).await, 0);
        assert_eq!(ctx.send(s, b"hello", 5, 0).await, 5);
        let mut b = [0u8; 8];
        fails(&ctx, ctx.recv(s, &mut b, 8, 0).await, WSAECONNABORTED);
        0
    });
}

/// §22.21 (SK-21, sock.c test_send_buffering: a non-blocking recv with nothing queued is
/// WSAEWOULDBLOCK; a non-blocking sender filling the buffers gets WSAEWOULDBLOCK, and the
/// receiver still gets every byte).
#[test]
fn nonblocking_recv_and_send_would_block() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        let mut on = 1u32;
        assert_eq!(ctx.ioctlsocket(c, FIONBIO, Some(&mut on)).await, 0);
        assert_eq!(ctx.ioctlsocket(s, FIONBIO, Some(&mut on)).await, 0);
        let mut b = [0u8; 8];
        fails(&ctx, ctx.recv(c, &mut b, 8, 0).await, WSAEWOULDBLOCK);
        assert_eq!(ctx.setsockopt(c, SOL_SOCKET, SO_RCVBUF, Some(&int(100)), 4).await, 0);
        assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_SNDBUF, Some(&int(50)), 4).await, 0);
        let chunk = [7u8; 64];
        let mut sent = 0;
        loop {
            let n = ctx.send(s, &chunk, 64, 0).await;
            if n == SOCKET_ERROR {
                assert_eq!(ctx.get_last_error(), WSAEWOULDBLOCK);
                break;
            }
            sent += n as usize;
        }
        assert_eq!(sent, 150, "both buffers full");
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut off = 0u32;
        assert_eq!(ctx.ioctlsocket(c, FIONBIO, Some(&mut off)).await, 0);
        assert_eq!(recv_all(&ctx, c, 150).await, vec![7u8; 150]);
        assert_eq!(recv_bytes(&ctx, c, 8).await, b"");
        0
    });
}

/// §22.5 (issue 10: SO_RCVBUF/SO_SNDBUF as quotas, a send blocks when both buffers are
/// full) [inferred: the pipe write rule applied to the two buffers]: a blocking send past
/// the quota returns only after the peer reads.
#[test]
fn blocking_send_waits_for_room_in_both_buffers() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        assert_eq!(ctx.setsockopt(c, SOL_SOCKET, SO_RCVBUF, Some(&int(10)), 4).await, 0);
        assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_SNDBUF, Some(&int(10)), 4).await, 0);
        assert_eq!(ctx.send(s, &[1u8; 20], 20, 0).await, 20, "fits exactly");
        let done = Rc::new(Cell::new(false));
        let flag = done.clone();
        let t = spawn(&ctx, move |ctx| async move {
            let n = ctx.send(s, &[2u8; 5], 5, 0).await;
            flag.set(true);
            n as u32
        })
        .await;
        ctx.sleep(1).await;
        assert!(!done.get(), "the send did not wait");
        assert_eq!(recv_all(&ctx, c, 5).await, vec![1u8; 5]);
        assert_eq!(join(&ctx, t).await, 5);
        0
    });
}

/// §22.23 (SK-23, sock.c test_timeout: SO_RCVTIMEO 100 ms makes a blocking recv fail with
/// WSAETIMEDOUT (10060) after the time-out).
#[test]
fn receive_timeout_in_virtual_time() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, _s) = pair(&ctx).await;
        let mut v = [0xffu8; 4];
        let mut len = 4;
        assert_eq!(ctx.getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, Some(&mut v), Some(&mut len)).await, 0);
        assert_eq!(v, [0; 4], "SO_RCVTIMEO defaults to 0");
        assert_eq!(ctx.setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, Some(&int(100)), 4).await, 0);
        let t0 = ctx.get_tick_count().await;
        let mut b = [0u8; 4];
        fails(&ctx, ctx.recv(c, &mut b, 4, 0).await, WSAETIMEDOUT);
        assert_eq!(ctx.get_tick_count().await - t0, 100);
        0
    });
}

/// §22.4 (MS docs setsockopt/getsockopt: WSAEFAULT for a short optlen, WSAENOPROTOOPT for
/// an unknown option; SK-8: setsockopt(SO_ACCEPTCONN) is WSAENOPROTOOPT).
#[test]
fn socket_option_errors() {
    check(|ctx| async move {
        startup(&ctx).await;
        let s = tcp(&ctx).await;
        fails(&ctx, ctx.setsockopt(s, SOL_SOCKET, SO_RCVBUF, Some(&[1u8, 0]), 2).await, WSAEFAULT);
        fails(&ctx, ctx.setsockopt(s, SOL_SOCKET, SO_RCVBUF, None, 4).await, WSAEFAULT);
        fails(&ctx, ctx.setsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, Some(&int(1)), 4).await, WSAENOPROTOOPT);
        let mut v = [0u8; 2];
        let mut len = 2;
        fails(&ctx, ctx.getsockopt(s, SOL_SOCKET, SO_RCVBUF, Some(&mut v), Some(&mut len)).await, WSAEFAULT);
        fails(&ctx, ctx.ioctlsocket(s, FIONREAD, None).await, WSAEFAULT);
        0
    });
}

/// §22.15 (MS docs closesocket; sock.c test_accept "closing the listening socket from
/// another thread wakes a blocked accept"): a blocked recv whose socket another thread
/// closes returns SOCKET_ERROR [inferred: WSAEINTR].
#[test]
fn closing_a_socket_ends_blocked_calls_on_it() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (l, _) = listener(&ctx, 1).await;
        let t = spawn(&ctx, move |ctx| async move {
            let s = ctx.accept(l, None, None).await;
            u32::from(s == INVALID_SOCKET && ctx.get_last_error() == WSAEINTR)
        })
        .await;
        ctx.sleep(1).await;
        assert_eq!(ctx.closesocket(l).await, 0);
        assert_eq!(join(&ctx, t).await, 1);
        0
    });
}

/// §22.5 (issue 10: socket handles live in the handle table and are inheritable;
/// TEACHING-CASES item 22c): a DuplicateHandle'd copy keeps the connection open after
/// closesocket of the original, so the peer sees no end of stream until the copy closes.
#[test]
fn a_duplicate_handle_keeps_the_connection_open() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        let mut info = 0;
        assert_eq!(ctx.get_handle_information(s, &mut info).await, TRUE);
        assert_eq!(info & HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT, "inheritable by default");
        let me = ctx.get_current_process();
        let mut dup = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, s, me, &mut dup, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut on = 1u32;
        assert_eq!(ctx.ioctlsocket(c, FIONBIO, Some(&mut on)).await, 0);
        let mut b = [0u8; 4];
        fails(&ctx, ctx.recv(c, &mut b, 4, 0).await, WSAEWOULDBLOCK);
        assert_eq!(ctx.closesocket(dup).await, 0);
        assert_eq!(ctx.recv(c, &mut b, 4, 0).await, 0, "end of stream with the last handle");
        let w = ctx.wsa_socket(AF_INET, SOCK_STREAM, 0, WSA_FLAG_NO_HANDLE_INHERIT).await;
        assert_eq!(ctx.get_handle_information(w, &mut info).await, TRUE);
        assert_eq!(info & HANDLE_FLAG_INHERIT, 0);
        0
    });
}

/// §22.24 (deadlock report): a recv waiting on a connection whose peer's handle is leaked
/// open names the socket, its peer and the handle that keeps it open.
#[test]
fn a_recv_stuck_on_a_leaked_peer_is_reported() {
    let r = run_main(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        let _leaked = s;
        let mut b = [0u8; 4];
        ctx.recv(c, &mut b, 4, 0).await as u32
    });
    let Outcome::Deadlock(d) = &r.outcome else { panic!("expected a deadlock: {}", r.summary()) };
    let text = r.summary();
    assert!(text.contains("waits for data or end of stream on socket#"), "{text}");
    assert!(text.contains("kept open by"), "{text}");
    assert_eq!(d.threads.len(), 1);
}

// ----- UDP (22.25) -------------------------------------------------------------------------

/// §22.25 (SK-29, sock.c test_connect_udp/test_WSAPoll: send on an unconnected UDP socket
/// is WSAENOTCONN, recv on an unbound one WSAEINVAL; MS docs recvfrom: "If the datagram or
/// message is larger than the buffer specified, the buffer is filled with the first part
/// of the datagram, and recvfrom generates the error WSAEMSGSIZE. ... the excess data is
/// lost"): datagrams arrive whole, in order, with their source.
#[test]
fn udp_datagrams_are_whole_and_truncation_loses_the_rest() {
    check(|ctx| async move {
        startup(&ctx).await;
        let a = udp(&ctx).await;
        let b = udp(&ctx).await;
        let mut buf = [0u8; 16];
        fails(&ctx, ctx.recv(b, &mut buf, 16, 0).await, WSAEINVAL);
        fails(&ctx, ctx.send(a, b"x", 1, 0).await, WSAENOTCONN);
        assert_eq!(ctx.bind(b, Some(&SOCKADDR_IN::new(LOOPBACK, 0)), SOCKADDR_IN_LEN).await, 0);
        let to = name_of(&ctx, b).await;
        assert_eq!(ctx.sendto(a, b"first datagram", 14, 0, Some(&to), SOCKADDR_IN_LEN).await, 14);
        assert_eq!(ctx.sendto(a, b"second", 6, 0, Some(&to), SOCKADDR_IN_LEN).await, 6);
        let mut from = SOCKADDR_IN::default();
        let mut fromlen = SOCKADDR_IN_LEN;
        let mut small = [0u8; 5];
        let n = ctx.recvfrom(b, &mut small, 5, 0, Some(&mut from), Some(&mut fromlen)).await;
        fails(&ctx, n, WSAEMSGSIZE);
        assert_eq!(&small, b"first");
        let n = ctx.recvfrom(b, &mut buf, 16, 0, Some(&mut from), Some(&mut fromlen)).await;
        assert_eq!(n, 6, "the rest of the first datagram is lost");
        assert_eq!(&buf[..6], b"second");
        // The sender was bound implicitly to the wildcard address; the datagram comes from
        // its port on 127.0.0.1.
        assert_eq!(from.port(), name_of(&ctx, a).await.port());
        assert_eq!(from.addr(), LOOPBACK);
        // connect sets the default peer; AF_UNSPEC dissolves it.
        assert_eq!(ctx.connect(a, Some(&to), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.send(a, b"hi", 2, 0).await, 2);
        assert_eq!(ctx.recv(b, &mut buf, 16, 0).await, 2);
        let unspec = SOCKADDR_IN { sin_family: AF_UNSPEC as i16, ..Default::default() };
        assert_eq!(ctx.connect(a, Some(&unspec), SOCKADDR_IN_LEN).await, 0);
        let mut p = SOCKADDR_IN::default();
        let mut plen = SOCKADDR_IN_LEN;
        fails(&ctx, ctx.getpeername(a, Some(&mut p), Some(&mut plen)).await, WSAENOTCONN);
        0
    });
}

/// §22.25 (MS docs WSAIoctl SIO_UDP_CONNRESET: a datagram sent to a port nobody listens on
/// makes a later recvfrom fail with WSAECONNRESET) and SK-30 (sock.c test_shutdown: UDP
/// SD_RECEIVE then recvfrom is WSAESHUTDOWN).
#[test]
fn udp_port_unreachable_and_shutdown() {
    check(|ctx| async move {
        startup(&ctx).await;
        let a = udp(&ctx).await;
        let nobody = SOCKADDR_IN::new(LOOPBACK, 9999);
        assert_eq!(ctx.sendto(a, b"ping", 4, 0, Some(&nobody), SOCKADDR_IN_LEN).await, 4);
        let mut buf = [0u8; 8];
        fails(&ctx, ctx.recv(a, &mut buf, 8, 0).await, WSAECONNRESET);
        assert_eq!(ctx.shutdown(a, SD_RECEIVE).await, 0);
        fails(&ctx, ctx.recv(a, &mut buf, 8, 0).await, WSAESHUTDOWN);
        assert_eq!(ctx.shutdown(a, SD_SEND).await, 0);
        fails(&ctx, ctx.sendto(a, b"x", 1, 0, Some(&nobody), SOCKADDR_IN_LEN).await, WSAESHUTDOWN);
        0
    });
}

// ----- limits ------------------------------------------------------------------------------

/// Limits (STYLE.md "a limit on everything"): more sockets than `sockets_max` end the run
/// with a clear outcome; with LimitAction::FailCall socket fails with WSAEMFILE.
#[test]
fn the_socket_limit_ends_the_run() {
    let mut config = Config::round_robin();
    config.sockets_max = 3;
    let r = run_with(config.clone(), |ctx| async move {
        startup(&ctx).await;
        for _ in 0..10 {
            ctx.socket(AF_INET, SOCK_STREAM, 0).await;
        }
        0
    });
    assert!(matches!(&r.outcome, Outcome::LimitExceeded { .. }), "{}", r.summary());
    config.limit_action = LimitAction::FailCall;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        for _ in 0..3 {
            assert_ne!(ctx.socket(AF_INET, SOCK_STREAM, 0).await, INVALID_SOCKET);
        }
        assert_eq!(ctx.socket(AF_INET, SOCK_STREAM, 0).await, INVALID_SOCKET);
        assert_eq!(ctx.get_last_error(), WSAEMFILE);
        0
    });
    assert_completed(&r);
    // Unread socket bytes count toward pipe_bytes_max with pipes and mailslots: a send
    // past it ends the run as a limit, never an unbounded buffer.
    let mut config = Config::round_robin();
    config.pipe_bytes_max = 100;
    let r = run_with(config, |ctx| async move {
        startup(&ctx).await;
        let (_c, s) = pair(&ctx).await;
        assert_eq!(ctx.send(s, &[0u8; 60], 60, 0).await, 60);
        ctx.send(s, &[0u8; 60], 60, 0).await;
        0
    });
    let Outcome::LimitExceeded { limit, .. } = &r.outcome else { panic!("{}", r.summary()) };
    assert_eq!(*limit, sim_core::report::LimitKind::PipeBytes);
}

// ----- select, WSAPoll, WSAEventSelect (22.26-22.28) --------------------------------------

/// §22.26 (SK-27, sock.c test_select: all sets NULL or empty is WSAEINVAL; a bad handle in
/// a set is WSAENOTSOCK with the sets unchanged; an unconnected, unbound TCP socket is
/// neither readable nor writable; MS docs select: 0 when the time limit expired).
#[test]
fn select_argument_checks_and_time_out() {
    check(|ctx| async move {
        startup(&ctx).await;
        fails(&ctx, ctx.select(0, None, None, None, None).await, WSAEINVAL);
        let mut empty = fd_set::default();
        fails(&ctx, ctx.select(0, Some(&mut empty), None, None, None).await, WSAEINVAL);
        let s = tcp(&ctx).await;
        let mut set = fd_set::default();
        FD_SET(s, &mut set);
        FD_SET(HANDLE(0x1234), &mut set);
        let before = set.clone();
        fails(&ctx, ctx.select(0, Some(&mut set), None, None, None).await, WSAENOTSOCK);
        assert_eq!(set, before, "sets unchanged");
        let (mut r, mut w) = (fd_set::default(), fd_set::default());
        FD_SET(s, &mut r);
        FD_SET(s, &mut w);
        let t0 = ctx.get_tick_count().await;
        let tv = TIMEVAL { tv_sec: 0, tv_usec: 50_000 };
        assert_eq!(ctx.select(0, Some(&mut r), Some(&mut w), None, Some(&tv)).await, 0);
        assert_eq!(ctx.get_tick_count().await - t0, 50, "waited the time-out in virtual time");
        assert!(r.fd_array.is_empty() && w.fd_array.is_empty());
        0
    });
}

/// §22.26 (SK-10: a listener with a connection waiting is readable; SK-14: a closed peer
/// makes the socket readable and recv returns 0; MS docs select: writable when a send will
/// not block): and a select waiting forever wakes when data arrives.
#[test]
fn select_reports_readiness_and_waits_for_it() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx, 5).await;
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        let mut r = fd_set::default();
        FD_SET(l, &mut r);
        assert_eq!(ctx.select(0, Some(&mut r), None, None, None).await, 1);
        assert!(FD_ISSET(l, &r));
        let s = ctx.accept(l, None, None).await;
        let (mut r, mut w) = (fd_set::default(), fd_set::default());
        FD_SET(c, &mut r);
        FD_SET(c, &mut w);
        let zero = TIMEVAL::default();
        assert_eq!(ctx.select(0, Some(&mut r), Some(&mut w), None, Some(&zero)).await, 1);
        assert!(!FD_ISSET(c, &r) && FD_ISSET(c, &w), "writable, not readable");
        let t = spawn(&ctx, move |ctx| async move {
            ctx.sleep(30).await;
            u32::from(ctx.send(s, b"ping", 4, 0).await != 4)
        })
        .await;
        let mut r = fd_set::default();
        FD_SET(c, &mut r);
        assert_eq!(ctx.select(0, Some(&mut r), None, None, None).await, 1);
        assert!(FD_ISSET(c, &r));
        assert_eq!(join(&ctx, t).await, 0);
        assert_eq!(recv_all(&ctx, c, 4).await, b"ping");
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut r = fd_set::default();
        FD_SET(c, &mut r);
        assert_eq!(ctx.select(0, Some(&mut r), None, None, Some(&zero)).await, 1, "readable at end of stream");
        assert_eq!(recv_bytes(&ctx, c, 4).await, b"");
        0
    });
}

/// §22.26 (SK-3: after a refused non-blocking connect select puts the socket in exceptfds
/// only, and SO_ERROR reads WSAECONNREFUSED, twice; SK-1: after a refused blocking connect,
/// select(write) is 0 and exceptfds reports it, SO_ERROR 0).
#[test]
fn select_puts_refused_connects_in_exceptfds() {
    check(|ctx| async move {
        startup(&ctx).await;
        let nobody = SOCKADDR_IN::new(LOOPBACK, 4444);
        let s = tcp(&ctx).await;
        let mut on = 1u32;
        assert_eq!(ctx.ioctlsocket(s, FIONBIO, Some(&mut on)).await, 0);
        fails(&ctx, ctx.connect(s, Some(&nobody), SOCKADDR_IN_LEN).await, WSAEWOULDBLOCK);
        let (mut r, mut w, mut x) = (fd_set::default(), fd_set::default(), fd_set::default());
        FD_SET(s, &mut r);
        FD_SET(s, &mut w);
        FD_SET(s, &mut x);
        assert_eq!(ctx.select(0, Some(&mut r), Some(&mut w), Some(&mut x), None).await, 1);
        assert!(!FD_ISSET(s, &r) && !FD_ISSET(s, &w) && FD_ISSET(s, &x));
        for _ in 0..2 {
            let mut v = [0u8; 4];
            let mut len = 4;
            assert_eq!(ctx.getsockopt(s, SOL_SOCKET, SO_ERROR, Some(&mut v), Some(&mut len)).await, 0);
            assert_eq!(i32::from_le_bytes(v), WSAECONNREFUSED.0 as i32, "SO_ERROR is not cleared by reading");
        }
        let b = tcp(&ctx).await;
        fails(&ctx, ctx.connect(b, Some(&nobody), SOCKADDR_IN_LEN).await, WSAECONNREFUSED);
        let (mut w, mut x) = (fd_set::default(), fd_set::default());
        FD_SET(b, &mut w);
        FD_SET(b, &mut x);
        let tv = TIMEVAL { tv_sec: 0, tv_usec: 50_000 };
        assert_eq!(ctx.select(0, None, Some(&mut w), Some(&mut x), Some(&tv)).await, 1);
        assert!(!FD_ISSET(b, &w) && FD_ISSET(b, &x));
        let mut p = [WSAPOLLFD { fd: b, events: POLLWRNORM, revents: 0 }];
        assert_eq!(ctx.wsa_poll(&mut p, 1, 0).await, 1);
        assert_eq!(p[0].revents, POLLWRNORM | POLLHUP | POLLERR, "SK-1");
        0
    });
}

/// §22.27 (SK-28, sock.c test_WSAPoll: no entries WSAEINVAL; invalid handles get POLLNVAL,
/// all invalid is WSAENOTSOCK; a fresh connected pair shows only POLLWRNORM; data adds
/// POLLRDNORM; asking for POLLPRI is WSAEINVAL; a peer's close gives POLLHUP even when not
/// asked for, with POLLWRNORM; SK-20: a reset gives POLLERR|POLLHUP|POLLWRNORM).
#[test]
fn wsapoll_reports_events() {
    check(|ctx| async move {
        startup(&ctx).await;
        let mut none: [WSAPOLLFD; 0] = [];
        fails(&ctx, ctx.wsa_poll(&mut none, 0, 0).await, WSAEINVAL);
        fails(&ctx, ctx.wsa_poll(&mut none, 1, 0).await, WSAEFAULT);
        let (c, s) = pair(&ctx).await;
        let ask = POLLRDNORM | POLLWRNORM;
        let mut p =
            [WSAPOLLFD { fd: c, events: ask, revents: 0 }, WSAPOLLFD { fd: HANDLE(0x1234), events: ask, revents: 0 }];
        assert_eq!(ctx.wsa_poll(&mut p, 2, 0).await, 2);
        assert_eq!(p[0].revents, POLLWRNORM);
        assert_eq!(p[1].revents, POLLNVAL);
        let mut bad = [WSAPOLLFD { fd: HANDLE(0x1234), events: ask, revents: 0 }];
        fails(&ctx, ctx.wsa_poll(&mut bad, 1, 0).await, WSAENOTSOCK);
        let mut pri = [WSAPOLLFD { fd: c, events: POLLPRI, revents: 0 }];
        fails(&ctx, ctx.wsa_poll(&mut pri, 1, 0).await, WSAEINVAL);
        assert_eq!(ctx.send(s, b"x", 1, 0).await, 1);
        let mut p = [WSAPOLLFD { fd: c, events: ask, revents: 0 }];
        assert_eq!(ctx.wsa_poll(&mut p, 1, -1).await, 1);
        assert_eq!(p[0].revents, POLLRDNORM | POLLWRNORM);
        assert_eq!(recv_all(&ctx, c, 1).await, b"x");
        assert_eq!(ctx.closesocket(s).await, 0);
        let mut p = [WSAPOLLFD { fd: c, events: POLLWRNORM, revents: 0 }];
        assert_eq!(ctx.wsa_poll(&mut p, 1, 0).await, 1);
        assert_eq!(p[0].revents, POLLWRNORM | POLLHUP);
        let (c2, s2) = pair(&ctx).await;
        assert_eq!(ctx.setsockopt(s2, SOL_SOCKET, SO_LINGER, Some(&[1, 0, 0, 0]), 4).await, 0);
        assert_eq!(ctx.closesocket(s2).await, 0);
        let mut p = [WSAPOLLFD { fd: c2, events: POLLWRNORM, revents: 0 }];
        assert_eq!(ctx.wsa_poll(&mut p, 1, 0).await, 1);
        assert_eq!(p[0].revents, POLLERR | POLLHUP | POLLWRNORM);
        0
    });
}

/// §22.28 (MS docs WSAEventSelect: FD_ACCEPT is re-enabled by accept, FD_READ by recv,
/// FD_WRITE is recorded when a socket is first connected and after WSAEWOULDBLOCK,
/// FD_CLOSE once; conditions that already hold are recorded at once; the socket becomes
/// non-blocking; WSAEnumNetworkEvents clears the record and resets the event).
#[test]
fn wsaeventselect_records_network_events() {
    check(|ctx| async move {
        startup(&ctx).await;
        let (l, addr) = listener(&ctx, 5).await;
        let ev = ctx.wsa_create_event().await;
        assert_eq!(ctx.wsa_event_select(l, ev, FD_ACCEPT as i32).await, 0);
        let c = tcp(&ctx).await;
        assert_eq!(ctx.connect(c, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wsa_wait_for_multiple_events(&[ev], false, 0, false).await, WSA_WAIT_EVENT_0);
        let mut ne = WSANETWORKEVENTS::default();
        assert_eq!(ctx.wsa_enum_network_events(l, ev, &mut ne).await, 0);
        assert_eq!(ne.lNetworkEvents, FD_ACCEPT as i32);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT, "the event was reset");
        // A second connection before accept: FD_ACCEPT is not recorded again.
        let c2 = tcp(&ctx).await;
        assert_eq!(ctx.connect(c2, Some(&addr), SOCKADDR_IN_LEN).await, 0);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        let s = ctx.accept(l, None, None).await;
        assert_ne!(s, INVALID_SOCKET);
        // accept re-enabled it, and a connection still waits.
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        // The client end: FD_WRITE at once (connected), then FD_READ, then FD_CLOSE.
        let cev = ctx.wsa_create_event().await;
        let mask = (FD_READ | FD_WRITE | FD_CLOSE) as i32;
        assert_eq!(ctx.wsa_event_select(c, cev, mask).await, 0);
        assert_eq!(ctx.wsa_enum_network_events(c, cev, &mut ne).await, 0);
        assert_eq!(ne.lNetworkEvents, FD_WRITE as i32);
        let mut b = [0u8; 4];
        fails(&ctx, ctx.recv(c, &mut b, 4, 0).await, WSAEWOULDBLOCK);
        assert_eq!(ctx.send(s, b"abc", 3, 0).await, 3);
        assert_eq!(ctx.wsa_wait_for_multiple_events(&[cev], false, WSA_INFINITE, false).await, WSA_WAIT_EVENT_0);
        assert_eq!(ctx.wsa_enum_network_events(c, cev, &mut ne).await, 0);
        assert_eq!(ne.lNetworkEvents, FD_READ as i32);
        assert_eq!(recv_all(&ctx, c, 3).await, b"abc");
        assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_LINGER, Some(&[1, 0, 0, 0]), 4).await, 0);
        assert_eq!(ctx.closesocket(s).await, 0);
        assert_eq!(ctx.wsa_enum_network_events(c, HANDLE::NULL, &mut ne).await, 0);
        assert_eq!(ne.lNetworkEvents, FD_CLOSE as i32);
        assert_eq!(ne.iErrorCode[FD_CLOSE_BIT], WSAECONNRESET.0 as i32, "an abortive close");
        0
    });
}

// ----- inheritance (TEACHING-CASES item 22c) -----------------------------------------------

/// A server that listens on port 9000 and starts a long-running helper with
/// bInheritHandles, then exits; the launcher then starts the server again, which binds
/// port 9000. Returns the second server's exit code (0, or the bind error).
fn restart_server(no_inherit: bool) -> u32 {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("launcher.exe", |ctx| async move {
        let mut codes = Vec::new();
        for arg in ["first", "second"] {
            let mut pi = PROCESS_INFORMATION::default();
            let cmd = format!("server.exe {arg}");
            let si = STARTUPINFO::default();
            assert_eq!(ctx.create_process(None, Some(&cmd), None, None, false, 0, &si, &mut pi).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            codes.push(code);
        }
        codes[1]
    });
    sim.program("server.exe", move |ctx| async move {
        startup(&ctx).await;
        let flags = if no_inherit { WSA_FLAG_NO_HANDLE_INHERIT } else { 0 };
        let l = ctx.wsa_socket(AF_INET, SOCK_STREAM, 0, flags).await;
        let a = SOCKADDR_IN::new(LOOPBACK, 9000);
        if ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await != 0 {
            return ctx.wsa_get_last_error() as u32;
        }
        assert_eq!(ctx.listen(l, 5).await, 0);
        if ctx.get_command_line().contains("first") {
            let mut pi = PROCESS_INFORMATION::default();
            let si = STARTUPINFO::default();
            assert_eq!(ctx.create_process(None, Some("helper.exe"), None, None, true, 0, &si, &mut pi).await, TRUE);
        }
        0
    });
    sim.program("helper.exe", |ctx| async move {
        ctx.sleep(10_000).await;
        0
    });
    let r = sim.run("launcher.exe");
    let Outcome::Completed { exit_codes } = &r.outcome else { panic!("{}", r.summary()) };
    exit_codes.iter().find(|c| c.1 == "launcher.exe").expect("the launcher ran").2
}

/// §22.4 (TEACHING-CASES item 22c: socket handles are inheritable by default; a child
/// started with bInheritHandles keeps the parent's listening socket, so the port stays in
/// use after the parent exits and the restarted parent cannot bind; oven-sh/bun #36936,
/// cpp-httplib #164): with WSA_FLAG_NO_HANDLE_INHERIT the restart binds.
#[test]
fn an_inherited_listener_keeps_the_port_after_its_parent_exits() {
    assert_eq!(restart_server(false), WSAEADDRINUSE.0, "the helper's inherited copy keeps port 9000");
    assert_eq!(restart_server(true), 0, "no inherited copy: the port is free");
}

/// §22.5: the bounded exhaustive search explores the recv splits (`ChoiceKind::Data`) like
/// any other decision: a one-thread program whose recv takes an 8-byte send reaches exactly
/// the two outcomes "all 8 bytes" and "half of them", and the search exhausts the space.
#[test]
fn exhaustive_search_explores_recv_splits() {
    use sim_core::explore::{self, Explore, Sweep};
    let setup = |sim: &mut Sim| {
        sim.program("main", |ctx| async move {
            startup(&ctx).await;
            let (c, s) = pair(&ctx).await;
            assert_eq!(ctx.send(s, b"RESPONSE", 8, 0).await, 8);
            recv_bytes(&ctx, c, 64).await.len() as u32
        });
    };
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let record = |r: &RunReport| -> Result<(), String> {
        if let Outcome::Completed { exit_codes } = &r.outcome {
            seen.lock().unwrap().insert(exit_codes[0].2);
        }
        Ok(())
    };
    let explore = Explore::Dfs { preemption_bound: None, reduction: true };
    let s = Sweep { runs: 100, stop_at_failure: false, property: Some(&record), ..Sweep::new(explore) };
    let e = explore::sweep(&s, "main", &setup);
    assert!(e.exhausted, "{e:?}");
    assert_eq!(seen.into_inner().unwrap().into_iter().collect::<Vec<_>>(), [4, 8]);
}

/// §22.5 (SK-24, sock.c test_simultaneous_async_recv: receives waiting side by side
/// complete in the order they were made, the first taking the first bytes): two threads
/// blocked in recv(16), one send of 32 bytes; on every seed the recv that waited first
/// gets the stream's first bytes and nothing is lost or reordered.
#[test]
fn waiting_receives_complete_in_order() {
    check_every_schedule(|ctx| async move {
        startup(&ctx).await;
        let (c, s) = pair(&ctx).await;
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut threads = Vec::new();
        for k in 0..2u8 {
            let order = order.clone();
            threads.push(
                spawn(&ctx, move |ctx| async move {
                    let mut b = [0u8; 16];
                    let n = ctx.recv(c, &mut b, 16, 0).await;
                    order.borrow_mut().push((k, b[..n.max(0) as usize].to_vec()));
                    0
                })
                .await,
            );
            // The first is blocked before the second starts.
            ctx.sleep(1).await;
        }
        let data: Vec<u8> = (0..32).collect();
        assert_eq!(ctx.send(s, &data, 32, 0).await, 32);
        for t in threads {
            join(&ctx, t).await;
        }
        let got = order.borrow().clone();
        let first = got.iter().find(|(k, _)| *k == 0).expect("the first recv returned");
        let second = got.iter().find(|(k, _)| *k == 1).expect("the second recv returned");
        assert!(!first.1.is_empty() && !second.1.is_empty());
        let mut all = first.1.clone();
        all.extend(&second.1);
        assert_eq!(all, data[..all.len()], "the first waiter took the first bytes, in order");
        let rest = recv_all(&ctx, c, 32 - all.len()).await;
        all.extend(rest);
        assert_eq!(all, data);
        0
    });
}
