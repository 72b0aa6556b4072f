//! Named-pipe scenarios: the mistakes real pipe servers and clients make with instances,
//! connection and message mode (docs/semantics.md §§5, 6).

use crate::Scenario;
use sim_core::prelude::*;

/// The pipe every scenario here uses.
pub const PIPE: &str = r"\\.\pipe\winsim-demo";

/// Exit code of a client that got no connection: the last error it saw.
async fn open_client(ctx: &ThreadCtx, retry_busy: bool, retry_missing: bool) -> Result<HANDLE, u32> {
    loop {
        let h = ctx.create_file(PIPE, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        if h != INVALID_HANDLE_VALUE {
            return Ok(h);
        }
        let e = ctx.get_last_error();
        // The fix: all instances busy (ERROR_PIPE_BUSY) or none there yet
        // (ERROR_FILE_NOT_FOUND) means wait and try again, not fail.
        let wait = match e {
            ERROR_PIPE_BUSY if retry_busy => ctx.wait_named_pipe(PIPE, NMPWAIT_WAIT_FOREVER).await == TRUE,
            ERROR_FILE_NOT_FOUND if retry_missing => {
                ctx.sleep(1).await;
                true
            }
            _ => false,
        };
        if !wait {
            return Err(ctx.get_last_error().0);
        }
    }
}

/// A client: connects, sends `request`, reads the reply; exit code 0, or the error that
/// stopped it. `retry_busy`: wait for an instance on ERROR_PIPE_BUSY; `retry_missing`:
/// try again on ERROR_FILE_NOT_FOUND (most clients take it as "no server" and stop).
async fn client(ctx: ThreadCtx, retry_busy: bool, retry_missing: bool, request: &'static [u8]) -> u32 {
    let h = match open_client(&ctx, retry_busy, retry_missing).await {
        Ok(h) => h,
        Err(e) => return e,
    };
    let mut buf = [0u8; 64];
    let mut n = 0;
    if ctx.write_file(h, request, None).await == FALSE || ctx.read_file(h, &mut buf, Some(&mut n)).await == FALSE {
        return ctx.get_last_error().0;
    }
    let _ = ctx.close_handle(h).await;
    if &buf[..n as usize] == b"ok" { 0 } else { 1 }
}

/// Serves one connected client on `pipe`: one request, one reply.
async fn serve_one(ctx: &ThreadCtx, pipe: HANDLE) -> bool {
    let mut buf = [0u8; 64];
    let mut n = 0;
    ctx.read_file(pipe, &mut buf, Some(&mut n)).await == TRUE && ctx.write_file(pipe, b"ok", None).await == TRUE
}

/// Starts `count` client processes running `program` and waits for them; returns how
/// many exited with 0.
async fn run_clients(ctx: &ThreadCtx, program: &str, count: u32) -> u32 {
    let mut procs = Vec::new();
    for _ in 0..count {
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        if ctx.create_process(None, Some(program), None, None, false, 0, &si, &mut pi).await == TRUE {
            procs.push(pi.hProcess);
        }
    }
    let mut ok = 0;
    for p in procs {
        ctx.wait_for_single_object(p, INFINITE).await;
        let mut code = 1;
        let _ = ctx.get_exit_code_process(p, &mut code).await;
        ok += u32::from(code == 0);
    }
    ok
}

fn install_one_instance(sim: &mut Sim, retry: bool) {
    sim.program("client.exe", move |ctx| client(ctx, retry, retry, b"hello"));
    sim.program("server.exe", |ctx| async move {
        let pipe = ctx.create_named_pipe(PIPE, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512, 0, None).await;
        if pipe == INVALID_HANDLE_VALUE {
            return 100;
        }
        let clients =
            ctx.create_thread(None, 0, |ctx| async move { run_clients(&ctx, "client.exe", 2).await }, 0, None).await;
        for _ in 0..2 {
            let connected =
                ctx.connect_named_pipe(pipe, None).await == TRUE || ctx.get_last_error() == ERROR_PIPE_CONNECTED;
            if !connected || !serve_one(&ctx, pipe).await {
                return 101;
            }
            // Wait for the client to close its end before cutting it off.
            let mut buf = [0u8; 1];
            let _ = ctx.read_file(pipe, &mut buf, None).await;
            let _ = ctx.disconnect_named_pipe(pipe).await;
        }
        ctx.wait_for_single_object(clients, INFINITE).await;
        let mut served = 0;
        let _ = ctx.get_exit_code_thread(clients, &mut served).await;
        if served == 2 { 0 } else { 2 - served }
    });
}

/// Teaching case 1, naive: one instance, two clients. The second client's CreateFile
/// fails with ERROR_PIPE_BUSY while the first is served, and this client gives up.
pub fn named_pipe_busy() -> Scenario {
    Scenario {
        name: "named-pipe-busy",
        summary: "one pipe instance, two clients: the second gets ERROR_PIPE_BUSY and gives up",
        expect: "deadlocks or fails on some seeds (a client gave up), completes on others",
        install: |sim| install_one_instance(sim, false),
        main: "server.exe",
    }
}

/// Teaching case 1, fixed: on ERROR_PIPE_BUSY the client calls WaitNamedPipe, which
/// returns once the server disconnects the first client and listens again.
pub fn named_pipe_busy_fixed() -> Scenario {
    Scenario {
        name: "named-pipe-busy-fixed",
        summary: "the fix: on ERROR_PIPE_BUSY, WaitNamedPipe until an instance listens, then CreateFile again",
        expect: "completes on every seed",
        install: |sim| install_one_instance(sim, true),
        main: "server.exe",
    }
}

fn install_gap(sim: &mut Sim, next_instance_first: bool) {
    // A good client: it waits when every instance is busy; but no instance at all looks
    // like no server, and it stops.
    sim.program("client.exe", |ctx| client(ctx, true, false, b"hello"));
    sim.program("server.exe", move |ctx| async move {
        let make = || ctx.create_named_pipe(PIPE, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 512, 512, 0, None);
        let mut pipe = make().await;
        let clients =
            ctx.create_thread(None, 0, |ctx| async move { run_clients(&ctx, "client.exe", 2).await }, 0, None).await;
        for _ in 0..2 {
            let connected =
                ctx.connect_named_pipe(pipe, None).await == TRUE || ctx.get_last_error() == ERROR_PIPE_CONNECTED;
            // The fix: the next instance exists before this one is served, so a client
            // arriving meanwhile always finds one listening.
            let next = if next_instance_first { make().await } else { HANDLE::NULL };
            if connected {
                let _ = serve_one(&ctx, pipe).await;
            }
            let mut buf = [0u8; 1];
            let _ = ctx.read_file(pipe, &mut buf, None).await;
            let _ = ctx.close_handle(pipe).await;
            pipe = if next_instance_first { next } else { make().await };
        }
        let _ = ctx.close_handle(pipe).await;
        ctx.wait_for_single_object(clients, INFINITE).await;
        let mut served = 0;
        let _ = ctx.get_exit_code_thread(clients, &mut served).await;
        2 - served
    });
}

/// Teaching case 2, naive: the server makes its next instance only after serving a
/// client; a client that arrives in between, or waits in WaitNamedPipe across the gap,
/// finds no pipe at all: ERROR_FILE_NOT_FOUND (its exit code 2; the server then waits
/// for a client that never comes).
pub fn named_pipe_instance_gap() -> Scenario {
    Scenario {
        name: "named-pipe-instance-gap",
        summary: "the server creates its next instance after serving a client: a client in the gap gets ERROR_FILE_NOT_FOUND",
        expect: "deadlocks on some seeds: a client in the gap exits with ERROR_FILE_NOT_FOUND, and the server waits for it forever",
        install: |sim| install_gap(sim, false),
        main: "server.exe",
    }
}

/// Teaching case 2, fixed: the next instance is created before the current client is
/// served.
pub fn named_pipe_instance_gap_fixed() -> Scenario {
    Scenario {
        name: "named-pipe-instance-gap-fixed",
        summary: "the fix: create the next instance before serving the current client",
        expect: "completes with every client served on every seed",
        install: |sim| install_gap(sim, true),
        main: "server.exe",
    }
}

fn install_pipe_connected(sim: &mut Sim, accept_connected: bool) {
    sim.program("client.exe", |ctx| client(ctx, true, true, b"hello"));
    sim.program("server.exe", move |ctx| async move {
        let pipe = ctx.create_named_pipe(PIPE, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512, 0, None).await;
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        let _ = ctx.create_process(None, Some("client.exe"), None, None, false, 0, &si, &mut pi).await;
        let connected = ctx.connect_named_pipe(pipe, None).await == TRUE
            // The fix: ERROR_PIPE_CONNECTED means the client connected before the call,
            // a good connection (ConnectNamedPipe doc; §6.6).
            || (accept_connected && ctx.get_last_error() == ERROR_PIPE_CONNECTED);
        if !connected {
            // The naive server drops the client.
            let _ = ctx.close_handle(pipe).await;
            ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
            return 1;
        }
        let served = serve_one(&ctx, pipe).await;
        ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
        u32::from(!served)
    });
}

/// Teaching case 3, naive: ConnectNamedPipe's FALSE with ERROR_PIPE_CONNECTED is
/// treated as a failure, so the client is dropped on exactly the seeds where it
/// connected before the server called ConnectNamedPipe.
pub fn pipe_connected_is_success() -> Scenario {
    Scenario {
        name: "pipe-connected-treated-as-failure",
        summary: "ConnectNamedPipe's ERROR_PIPE_CONNECTED treated as failure drops clients that connected first",
        expect: "the server exits with 1 on the seeds where the client connected first",
        install: |sim| install_pipe_connected(sim, false),
        main: "server.exe",
    }
}

/// Teaching case 3, fixed.
pub fn pipe_connected_is_success_fixed() -> Scenario {
    Scenario {
        name: "pipe-connected-treated-as-failure-fixed",
        summary: "the fix: ERROR_PIPE_CONNECTED is a good connection",
        expect: "completes with exit code 0 on every seed",
        install: |sim| install_pipe_connected(sim, true),
        main: "server.exe",
    }
}

fn install_more_data(sim: &mut Sim, handle_more_data: bool) {
    sim.program("server.exe", move |ctx| async move {
        let pipe = ctx
            .create_named_pipe(
                PIPE,
                PIPE_ACCESS_INBOUND,
                PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                1,
                512,
                512,
                0,
                None,
            )
            .await;
        let writer = ctx
            .create_thread(
                None,
                0,
                |ctx| async move {
                    let h = ctx.create_file(PIPE, GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                    for m in [&b"first message"[..], b"second", b"the third message"] {
                        let _ = ctx.write_file(h, m, None).await;
                    }
                    let _ = ctx.close_handle(h).await;
                    0
                },
                0,
                None,
            )
            .await;
        // A client that connected first (ERROR_PIPE_CONNECTED), even one that has already
        // written and closed (ERROR_NO_DATA, its messages still queued), is a client (§6.10).
        if ctx.connect_named_pipe(pipe, None).await == FALSE
            && !matches!(ctx.get_last_error(), ERROR_PIPE_CONNECTED | ERROR_NO_DATA)
        {
            return 100;
        }
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let mut partial = Vec::new();
        loop {
            let mut buf = [0u8; 8];
            let mut n = 0;
            let ok = ctx.read_file(pipe, &mut buf, Some(&mut n)).await == TRUE;
            let e = ctx.get_last_error();
            partial.extend_from_slice(&buf[..n as usize]);
            if !ok && e == ERROR_MORE_DATA && handle_more_data {
                // The fix: the rest of this message follows; keep reading it.
                continue;
            }
            if !ok && e != ERROR_MORE_DATA {
                break;
            }
            // The naive reader takes every read as a whole message.
            messages.push(std::mem::take(&mut partial));
        }
        ctx.wait_for_single_object(writer, INFINITE).await;
        let expected: Vec<Vec<u8>> =
            [&b"first message"[..], b"second", b"the third message"].iter().map(|m| m.to_vec()).collect();
        if messages == expected { 0 } else { messages.len() as u32 }
    });
}

/// Teaching case 4, naive: a message-mode reader with an 8-byte buffer that ignores
/// ERROR_MORE_DATA splits long messages (§5.2). Exit code: the messages it thinks it got.
pub fn message_more_data() -> Scenario {
    Scenario {
        name: "message-mode-more-data",
        summary: "a message-mode reader with a small buffer that ignores ERROR_MORE_DATA splits messages",
        expect: "exits with the wrong message count on every seed",
        install: |sim| install_more_data(sim, false),
        main: "server.exe",
    }
}

/// Teaching case 4, fixed: on ERROR_MORE_DATA, read the rest of the message.
pub fn message_more_data_fixed() -> Scenario {
    Scenario {
        name: "message-mode-more-data-fixed",
        summary: "the fix: on ERROR_MORE_DATA, keep reading the same message",
        expect: "completes with exit code 0 on every seed",
        install: |sim| install_more_data(sim, true),
        main: "server.exe",
    }
}
