//! A named-pipe server with one instance, serving three client processes in turn
//! (docs/semantics.md §§5-6).
//!
//! The server creates `\\.\pipe\echo` in message mode, waits for a client with
//! ConnectNamedPipe, answers one request, waits for the client to close, and disconnects
//! to listen again. Clients must handle two errors of CreateFile: ERROR_FILE_NOT_FOUND
//! (the server has not created the pipe yet) and ERROR_PIPE_BUSY (the one instance is
//! serving someone else: WaitNamedPipe until it listens again). And ConnectNamedPipe's
//! FALSE with ERROR_PIPE_CONNECTED means a client came first: a success.
//!
//! Run: `cargo run --example named_pipe_server`
use winsim::prelude::*;

const PIPE: &str = r"\\.\pipe\echo";
const CLIENTS: u32 = 3;

async fn client(ctx: ThreadCtx) -> u32 {
    let request = ctx.get_command_line(); // "client.exe N"
    let pipe = loop {
        let h = ctx.create_file(PIPE, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        if h != INVALID_HANDLE_VALUE {
            break h;
        }
        match ctx.get_last_error() {
            ERROR_FILE_NOT_FOUND => ctx.sleep(1).await, // no server yet
            ERROR_PIPE_BUSY => _ = ctx.wait_named_pipe(PIPE, NMPWAIT_WAIT_FOREVER).await, // all busy
            e => return e.0,
        }
    };
    let (mut reply, mut n) = ([0u8; 64], 0);
    if ctx.write_file(pipe, request.as_bytes(), None).await == FALSE
        || ctx.read_file(pipe, &mut reply, Some(&mut n)).await == FALSE
    {
        return ctx.get_last_error().0;
    }
    ctx.close_handle(pipe).await;
    u32::from(reply[..n as usize] != *format!("echo: {request}").as_bytes())
}

async fn server(ctx: ThreadCtx) -> u32 {
    let mode = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT;
    let pipe = ctx.create_named_pipe(PIPE, PIPE_ACCESS_DUPLEX, mode, 1, 512, 512, 0, None).await;
    let mut clients = Vec::new();
    for i in 1..=CLIENTS {
        let (si, mut pi) = (STARTUPINFO::default(), PROCESS_INFORMATION::default());
        let command_line = format!("client.exe {i}");
        assert_eq!(ctx.create_process(None, Some(&command_line), None, None, false, 0, &si, &mut pi).await, TRUE);
        clients.push(pi.hProcess);
    }
    for _ in 0..CLIENTS {
        if ctx.connect_named_pipe(pipe, None).await == FALSE && ctx.get_last_error() != ERROR_PIPE_CONNECTED {
            return 100;
        }
        let (mut buf, mut n) = ([0u8; 64], 0);
        assert_eq!(ctx.read_file(pipe, &mut buf, Some(&mut n)).await, TRUE);
        let request = String::from_utf8_lossy(&buf[..n as usize]).into_owned();
        println!("server answers {request:?}");
        assert_eq!(ctx.write_file(pipe, format!("echo: {request}").as_bytes(), None).await, TRUE);
        // Wait for the client to close (ERROR_BROKEN_PIPE), then listen again.
        assert_eq!(ctx.read_file(pipe, &mut buf, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
        ctx.disconnect_named_pipe(pipe).await;
    }
    ctx.wait_for_multiple_objects(&clients, true, INFINITE).await;
    0
}

fn main() {
    for seed in 0..3 {
        println!("seed {seed}:");
        let mut sim = Sim::new(Config::random(seed));
        sim.program("server.exe", server);
        sim.program("client.exe", client);
        let report = sim.run("server.exe");
        assert!(report.outcome.is_completed(), "{}", report.summary());
        // Every process exits with 0: each client got its own echo back.
        let Outcome::Completed { exit_codes } = &report.outcome else { unreachable!() };
        assert!(exit_codes.iter().all(|(_, _, code)| *code == 0), "{}", report.summary());
        println!("{}", report.summary());
    }
}
