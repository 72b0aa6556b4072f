//! Socket scenarios (docs/semantics.md §22; issue 10's teaching cases 1-3, TEACHING-CASES
//! item 22): a stream that splits messages, a connect racing the server's listen, and an
//! abortive close that loses the last response. Each has a buggy and a fixed form.

use crate::Scenario;
use sim_core::prelude::*;

/// The server's port.
pub const PORT: u16 = 8080;
/// The response of the message-split scenario.
pub const RESPONSE: &[u8] = b"RESPONSE 1: hello, client";
/// The error page of the abortive-close scenario.
pub const ERROR_PAGE: &[u8] = b"HTTP/1.0 413 Payload Too Large";

fn server_addr() -> SOCKADDR_IN {
    SOCKADDR_IN::new(INADDR_LOOPBACK, PORT)
}

/// Starts `cmd` as a process; its process handle, or None.
async fn start(ctx: &ThreadCtx, cmd: &str) -> Option<HANDLE> {
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    if ctx.create_process(None, Some(cmd), None, None, false, 0, &si, &mut pi).await == FALSE {
        return None;
    }
    let _ = ctx.close_handle(pi.hThread).await;
    Some(pi.hProcess)
}

/// WSAStartup and a listening socket on 127.0.0.1:PORT.
async fn listen_on_port(ctx: &ThreadCtx) -> Option<SOCKET> {
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return None;
    }
    let l = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    let a = server_addr();
    if l == INVALID_SOCKET || ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await != 0 || ctx.listen(l, 5).await != 0 {
        return None;
    }
    Some(l)
}

/// WSAStartup and a connected client socket (one connect).
async fn connect_once(ctx: &ThreadCtx) -> Result<SOCKET, i32> {
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return Err(0);
    }
    let s = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    let a = server_addr();
    if ctx.connect(s, Some(&a), SOCKADDR_IN_LEN).await != 0 {
        return Err(ctx.wsa_get_last_error());
    }
    Ok(s)
}

/// Sends all of `data` (a blocking send sends it all).
async fn send_all(ctx: &ThreadCtx, s: SOCKET, data: &[u8]) -> bool {
    ctx.send(s, data, data.len() as i32, 0).await == data.len() as i32
}

/// Receives exactly `n` bytes, looping over recv (a stream may split them); None at end of
/// stream or on an error first.
async fn recv_exact(ctx: &ThreadCtx, s: SOCKET, n: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let want = n - out.len();
        let mut buf = vec![0u8; want];
        let k = ctx.recv(s, &mut buf, want as i32, 0).await;
        if k <= 0 {
            return None;
        }
        out.extend_from_slice(&buf[..k as usize]);
    }
    Some(out)
}

/// Reads until the peer's FIN (recv returns 0); false on an error.
async fn drain(ctx: &ThreadCtx, s: SOCKET) -> bool {
    let mut buf = [0u8; 64];
    loop {
        match ctx.recv(s, &mut buf, 64, 0).await {
            0 => return true,
            n if n < 0 => return false,
            _ => {}
        }
    }
}

// ----- 1. a response split by the stream ------------------------------------------------

/// The launcher: the server, which starts the client once it listens.
async fn split_server(ctx: ThreadCtx, framed: bool) -> u32 {
    let Some(l) = listen_on_port(&ctx).await else { return 10 };
    let client = if framed { "client.exe framed" } else { "client.exe" };
    let Some(child) = start(&ctx, client).await else { return 11 };
    let s = ctx.accept(l, None, None).await;
    if s == INVALID_SOCKET {
        return 12;
    }
    // The request is 5 bytes ("GET 1"), read in full whatever the splits.
    if recv_exact(&ctx, s, 5).await.is_none() {
        return 13;
    }
    let mut reply = Vec::new();
    if framed {
        reply.extend_from_slice(&(RESPONSE.len() as u32).to_le_bytes());
    }
    reply.extend_from_slice(RESPONSE);
    if !send_all(&ctx, s, &reply).await {
        return 14;
    }
    // Graceful close: FIN, wait for the client's, close.
    let _ = ctx.shutdown(s, SD_SEND).await;
    let _ = drain(&ctx, s).await;
    let _ = ctx.closesocket(s).await;
    let _ = ctx.closesocket(l).await;
    ctx.wait_for_single_object(child, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(child, &mut code).await;
    code
}

/// The client: sends "GET 1" and reads the response. Unframed, it treats one recv as the
/// whole response (the bug); framed, it reads a 4-byte length and then exactly that many
/// bytes. Exit code 1 when it misparses.
async fn split_client(ctx: ThreadCtx) -> u32 {
    let framed = ctx.get_command_line().contains("framed");
    let Ok(s) = connect_once(&ctx).await else { return 20 };
    if !send_all(&ctx, s, b"GET 1").await {
        return 21;
    }
    let response = if framed {
        let Some(len) = recv_exact(&ctx, s, 4).await else { return 22 };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(body) = recv_exact(&ctx, s, len).await else { return 23 };
        body
    } else {
        // The bug: one recv is taken for one message.
        let mut buf = [0u8; 64];
        let n = ctx.recv(s, &mut buf, 64, 0).await;
        if n <= 0 {
            return 24;
        }
        buf[..n as usize].to_vec()
    };
    let _ = drain(&ctx, s).await;
    let _ = ctx.closesocket(s).await;
    u32::from(response != RESPONSE)
}

/// Teaching case 1, buggy: the client treats every recv as one whole message.
pub fn tcp_message_split() -> Scenario {
    Scenario {
        name: "tcp-message-split",
        summary: "TCP is a byte stream: a client that takes one recv for one response misparses a split response",
        expect: "fails on some seeds: the server exits with the client's 1 when its recv returned part of the response",
        install: |sim| {
            sim.program("server.exe", |ctx| split_server(ctx, false));
            sim.program("client.exe", split_client);
        },
        main: "server.exe",
    }
}

/// Teaching case 1, fixed: the response carries its length; the client reads exactly it.
pub fn tcp_message_split_fixed() -> Scenario {
    Scenario {
        name: "tcp-message-split-fixed",
        summary: "a length prefix frames each response; the client loops over recv until it has it all",
        expect: "completes with exit code 0 on every seed",
        install: |sim| {
            sim.program("server.exe", |ctx| split_server(ctx, true));
            sim.program("client.exe", split_client);
        },
        main: "server.exe",
    }
}

// ----- 2. a connect racing the server's listen ------------------------------------------

/// How long the slow server takes to start listening (loading its configuration).
pub const SERVER_START_MS: u32 = 2500;

/// The launcher: starts the server and the client together; the exit code is the client's.
async fn race_launcher(ctx: ThreadCtx) -> u32 {
    let Some(server) = start(&ctx, "server.exe").await else { return 30 };
    let Some(client) = start(&ctx, "client.exe").await else { return 31 };
    ctx.wait_for_multiple_objects(&[server, client], true, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(client, &mut code).await;
    code
}

/// A server that needs SERVER_START_MS before it listens, then serves one client.
async fn race_server(ctx: ThreadCtx) -> u32 {
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return 40;
    }
    ctx.sleep(SERVER_START_MS).await;
    let Some(l) = listen_on_port(&ctx).await else { return 41 };
    // Serve one client, or give up after 10 s if it never came.
    let mut nb = 1u32;
    let _ = ctx.ioctlsocket(l, FIONBIO, Some(&mut nb)).await;
    for _ in 0..100 {
        let s = ctx.accept(l, None, None).await;
        if s != INVALID_SOCKET {
            let _ = send_all(&ctx, s, b"hello").await;
            let _ = ctx.shutdown(s, SD_SEND).await;
            let mut nb = 0u32;
            let _ = ctx.ioctlsocket(s, FIONBIO, Some(&mut nb)).await;
            let _ = drain(&ctx, s).await;
            let _ = ctx.closesocket(s).await;
            return 0;
        }
        ctx.sleep(100).await;
    }
    0
}

/// The client: one connect (buggy) or connects with back-off (fixed: 250 ms doubling, up to
/// 8 tries). Exit code 1 when it gave up (WSAECONNREFUSED).
async fn race_client(ctx: ThreadCtx, retry: bool) -> u32 {
    let tries = if retry { 8 } else { 1 };
    let mut backoff = 250;
    for _ in 0..tries {
        match connect_once(&ctx).await {
            Ok(s) => {
                let ok = drain(&ctx, s).await;
                let _ = ctx.closesocket(s).await;
                return u32::from(!ok) * 2;
            }
            Err(e) if e == WSAECONNREFUSED.0 as i32 => {
                ctx.sleep(backoff).await;
                backoff *= 2;
            }
            Err(_) => return 3,
        }
    }
    1
}

/// Teaching case 2, buggy: the client connects once, before the server listens.
pub fn connect_refused_race() -> Scenario {
    Scenario {
        name: "connect-refused-race",
        summary: "a client that connects once loses the race with a slow server: WSAECONNREFUSED after 2 s of SYN retries",
        expect: "the client exits with 1 (refused at 2000 ms; the server listens at 2500 ms) on every seed",
        install: |sim| {
            sim.program("launcher.exe", race_launcher);
            sim.program("server.exe", race_server);
            sim.program("client.exe", |ctx| race_client(ctx, false));
        },
        main: "launcher.exe",
    }
}

/// Teaching case 2, fixed: the client retries with back-off in virtual time.
pub fn connect_refused_race_fixed() -> Scenario {
    Scenario {
        name: "connect-refused-race-fixed",
        summary: "the client retries a refused connect with exponential back-off and reaches the server",
        expect: "completes with exit code 0 on every seed",
        install: |sim| {
            sim.program("launcher.exe", race_launcher);
            sim.program("server.exe", race_server);
            sim.program("client.exe", |ctx| race_client(ctx, true));
        },
        main: "launcher.exe",
    }
}

// ----- 3. an abortive close loses the response -------------------------------------------

/// The server: reads only the request line, answers with an error page and closes. Buggy:
/// closesocket with the body unread sends a reset. Fixed: shutdown(SD_SEND), drain, close.
async fn reset_server(ctx: ThreadCtx, graceful: bool) -> u32 {
    let Some(l) = listen_on_port(&ctx).await else { return 50 };
    let client = "client.exe";
    let Some(child) = start(&ctx, client).await else { return 51 };
    let s = ctx.accept(l, None, None).await;
    if s == INVALID_SOCKET {
        return 52;
    }
    // The request line only: the body stays unread.
    if recv_exact(&ctx, s, 13).await.is_none() {
        return 53;
    }
    if !send_all(&ctx, s, ERROR_PAGE).await {
        return 54;
    }
    if graceful {
        let _ = ctx.shutdown(s, SD_SEND).await;
        let _ = drain(&ctx, s).await;
    }
    let _ = ctx.closesocket(s).await;
    let _ = ctx.closesocket(l).await;
    ctx.wait_for_single_object(child, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(child, &mut code).await;
    code
}

/// The client: uploads a request line and a 100-byte body, then reads the response until
/// the server's FIN. Exit code 1 when it did not get the whole error page (a reset came
/// first).
async fn reset_client(ctx: ThreadCtx) -> u32 {
    let Ok(s) = connect_once(&ctx).await else { return 60 };
    let mut request = b"POST /upload\n".to_vec();
    request.extend(std::iter::repeat_n(b'x', 100));
    if !send_all(&ctx, s, &request).await {
        return 61;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = ctx.recv(s, &mut buf, 64, 0).await;
        if n <= 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    let _ = ctx.closesocket(s).await;
    u32::from(got != ERROR_PAGE)
}

/// Teaching case 3, buggy: closing with unread bytes resets the connection.
pub fn abortive_close_lost_response() -> Scenario {
    Scenario {
        name: "abortive-close-lost-response",
        summary: "closesocket with unread bytes sends a reset: the client's recv fails with WSAECONNRESET and the error page is lost",
        expect: "fails on some seeds: the client exits with 1 when the reset discarded the page before it read it",
        install: |sim| {
            sim.program("server.exe", |ctx| reset_server(ctx, false));
            sim.program("client.exe", reset_client);
        },
        main: "server.exe",
    }
}

/// Teaching case 3, fixed: graceful close (shutdown SD_SEND, read until 0, close).
pub fn abortive_close_lost_response_fixed() -> Scenario {
    Scenario {
        name: "abortive-close-lost-response-fixed",
        summary: "a graceful close (shutdown(SD_SEND), drain until recv returns 0, closesocket) delivers the page",
        expect: "completes with exit code 0 on every seed",
        install: |sim| {
            sim.program("server.exe", |ctx| reset_server(ctx, true));
            sim.program("client.exe", reset_client);
        },
        main: "server.exe",
    }
}

// ----- TEACHING-CASES item 22b: a second server hijacks the port ----------------------

/// The launcher: starts the real server, then the impostor, then a client; the exit code
/// is the client's: 0 when the real server answered, 1 when the impostor did.
async fn hijack_launcher(ctx: ThreadCtx, exclusive: bool) -> u32 {
    let real = if exclusive { "server.exe real exclusive" } else { "server.exe real" };
    let Some(a) = start(&ctx, real).await else { return 70 };
    // The real server listens before the impostor starts.
    ctx.sleep(10).await;
    let Some(b) = start(&ctx, "server.exe impostor").await else { return 71 };
    ctx.sleep(10).await;
    let Some(c) = start(&ctx, "client.exe").await else { return 72 };
    ctx.wait_for_single_object(c, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(c, &mut code).await;
    let _ = ctx.terminate_process(a, 0).await;
    let _ = ctx.terminate_process(b, 0).await;
    code
}

/// A server: SO_REUSEADDR (or, with "exclusive", SO_EXCLUSIVEADDRUSE), bind PORT, listen,
/// answer one client with its name. The impostor sets SO_REUSEADDR too; when its bind
/// fails it exits with the error.
async fn hijack_server(ctx: ThreadCtx) -> u32 {
    let cmd = ctx.get_command_line();
    let name: &[u8] = if cmd.contains("impostor") { b"impostor" } else { b"real" };
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return 80;
    }
    let l = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    let opt = if cmd.contains("exclusive") { SO_EXCLUSIVEADDRUSE } else { SO_REUSEADDR };
    let _ = ctx.setsockopt(l, SOL_SOCKET, opt, Some(&1i32.to_le_bytes()), 4).await;
    let a = server_addr();
    if ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await != 0 {
        return ctx.wsa_get_last_error() as u32;
    }
    if ctx.listen(l, 5).await != 0 {
        return 81;
    }
    let s = ctx.accept(l, None, None).await;
    if s == INVALID_SOCKET {
        return 82;
    }
    let _ = send_all(&ctx, s, name).await;
    let _ = ctx.shutdown(s, SD_SEND).await;
    let _ = drain(&ctx, s).await;
    let _ = ctx.closesocket(s).await;
    0
}

/// The client: connects and reads who answered; exit code 1 for the impostor.
async fn hijack_client(ctx: ThreadCtx) -> u32 {
    let Ok(s) = connect_once(&ctx).await else { return 90 };
    let mut got = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        let n = ctx.recv(s, &mut buf, 16, 0).await;
        if n <= 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    let _ = ctx.closesocket(s).await;
    u32::from(got != b"real")
}

/// TEACHING-CASES item 22b, buggy: both servers set SO_REUSEADDR; the second binds the same
/// port and takes the connections.
pub fn port_hijack() -> Scenario {
    Scenario {
        name: "port-hijack",
        summary: "SO_REUSEADDR on Windows lets a second server bind a port in use: the client reaches the impostor",
        expect: "the client exits with 1 (answered by the impostor) on every seed",
        install: |sim| {
            sim.program("launcher.exe", |ctx| hijack_launcher(ctx, false));
            sim.program("server.exe", hijack_server);
            sim.program("client.exe", hijack_client);
        },
        main: "launcher.exe",
    }
}

/// TEACHING-CASES item 22b, fixed: the real server sets SO_EXCLUSIVEADDRUSE; the impostor's
/// bind fails with WSAEACCES and the client reaches the real server.
pub fn port_hijack_fixed() -> Scenario {
    Scenario {
        name: "port-hijack-fixed",
        summary: "SO_EXCLUSIVEADDRUSE keeps the port: the impostor's bind fails and the client reaches the real server",
        expect: "completes with exit code 0 on every seed",
        install: |sim| {
            sim.program("launcher.exe", |ctx| hijack_launcher(ctx, true));
            sim.program("server.exe", hijack_server);
            sim.program("client.exe", hijack_client);
        },
        main: "launcher.exe",
    }
}

// ----- TEACHING-CASES item 22: an IOCP server that skips packets on success ------------

/// The number of one-byte requests the client makes (each waits for its one-byte answer).
pub const SKIP_REQUESTS: u8 = 3;

/// The server: accepts, associates the connection with a completion port, sets
/// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (§22.40) and serves SKIP_REQUESTS requests with
/// overlapped WSARecv. Buggy (`handle_at_once` false): it takes WSARecv's 0 (the data was
/// already there) like WSA_IO_PENDING and waits in GetQueuedCompletionStatus for a packet
/// that skip mode never queues. Fixed: a 0 is the completion; the bytes are in
/// lpNumberOfBytesRecvd; only WSA_IO_PENDING waits for the port.
async fn skip_server(ctx: ThreadCtx, handle_at_once: bool) -> u32 {
    let Some(l) = listen_on_port(&ctx).await else { return 80 };
    let Some(child) = start(&ctx, "client.exe").await else { return 81 };
    let s = ctx.accept(l, None, None).await;
    if s == INVALID_SOCKET {
        return 82;
    }
    let port = ctx.create_io_completion_port(s, HANDLE::NULL, 1, 0).await;
    if port == HANDLE::NULL {
        return 83;
    }
    if ctx.set_file_completion_notification_modes(s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).await == FALSE {
        return 84;
    }
    let buf = IoBuffer::new(1);
    for _ in 0..SKIP_REQUESTS {
        let ov = Overlapped::new(HANDLE::NULL);
        let (mut bytes, mut flags) = (0u32, 0u32);
        let r = ctx.wsa_recv(s, &buf, Some(&mut bytes), &mut flags, Some(&ov), None).await;
        let pending = r == SOCKET_ERROR && ctx.wsa_get_last_error() == WSA_IO_PENDING as i32;
        if r != 0 && !pending {
            return 85;
        }
        if pending || !handle_at_once {
            // The bug when r == 0: with skip mode no packet comes for a success at once.
            let (mut key, mut done) = (0usize, None);
            if ctx.get_queued_completion_status(port, &mut bytes, &mut key, &mut done, INFINITE).await == FALSE {
                return 86;
            }
        }
        if bytes != 1 || !send_all(&ctx, s, &buf.head(1)).await {
            return 87;
        }
    }
    let _ = ctx.shutdown(s, SD_SEND).await;
    let _ = drain(&ctx, s).await;
    let _ = ctx.closesocket(s).await;
    let _ = ctx.closesocket(l).await;
    let _ = ctx.close_handle(port).await;
    ctx.wait_for_single_object(child, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(child, &mut code).await;
    code
}

/// The client: SKIP_REQUESTS one-byte requests, each followed by a blocking recv of its
/// one-byte echo; exit code 1 when an echo is wrong or missing.
async fn skip_client(ctx: ThreadCtx) -> u32 {
    let Ok(s) = connect_once(&ctx).await else { return 90 };
    for i in 0..SKIP_REQUESTS {
        let request = [b'1' + i];
        if !send_all(&ctx, s, &request).await {
            return 91;
        }
        let mut echo = [0u8; 1];
        if ctx.recv(s, &mut echo, 1, 0).await != 1 || echo != request {
            return 1;
        }
    }
    let _ = ctx.shutdown(s, SD_SEND).await;
    let _ = drain(&ctx, s).await;
    let _ = ctx.closesocket(s).await;
    0
}

/// TEACHING-CASES item 22 (overlapped sockets), buggy: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
/// with a server that still waits on the port when WSARecv returns 0.
pub fn iocp_skip_on_success_hang() -> Scenario {
    Scenario {
        name: "iocp-skip-on-success-hang",
        summary: "with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS, a WSARecv that returns 0 queues no packet: a server that waits on the port for it hangs",
        expect: "deadlocks on some seeds: those where a request was already there when the server's WSARecv ran",
        install: |sim| {
            sim.program("server.exe", |ctx| skip_server(ctx, false));
            sim.program("client.exe", skip_client);
        },
        main: "server.exe",
    }
}

/// TEACHING-CASES item 22, fixed: a 0 from WSARecv is the completion, handled at once.
pub fn iocp_skip_on_success_fixed() -> Scenario {
    Scenario {
        name: "iocp-skip-on-success-fixed",
        summary: "a WSARecv that returns 0 is handled at once; only WSA_IO_PENDING waits for the completion port",
        expect: "completes with exit code 0 on every seed",
        install: |sim| {
            sim.program("server.exe", |ctx| skip_server(ctx, true));
            sim.program("client.exe", skip_client);
        },
        main: "server.exe",
    }
}
