//! Asynchronous I/O scenarios: a completion-port server, an OVERLAPPED reused while its
//! operation is pending, and an APC queued to a thread that never waits alertably
//! (docs/semantics.md §16).

use crate::Scenario;
use sim_core::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// The echo server's pipe.
pub const ECHO_PIPE: &str = r"\\.\pipe\winsim-echo";
/// Clients (and pipe instances) of the echo server.
pub const CLIENTS: usize = 3;
/// The completion key that tells a worker to stop.
const STOP: usize = usize::MAX;

/// One pipe instance of the echo server and its OVERLAPPEDs.
struct Instance {
    pipe: HANDLE,
    connect: Overlapped,
    read: Overlapped,
    write: Overlapped,
    buffer: IoBuffer,
}

/// The server's state, shared by its worker threads (plain data: the threads of one
/// process share memory; every access here happens between two calls).
struct Server {
    port: HANDLE,
    instances: Vec<Instance>,
    echoed: usize,
    closed: usize,
}

/// Starts an overlapped read on instance `i`: a completion packet comes either way.
async fn start_read(ctx: &ThreadCtx, server: &Rc<RefCell<Server>>, i: usize) -> bool {
    let (pipe, buffer, ov) = {
        let s = server.borrow();
        (s.instances[i].pipe, s.instances[i].buffer.clone(), s.instances[i].read.clone())
    };
    ctx.read_file_overlapped(pipe, &buffer, None, &ov).await == TRUE || ctx.get_last_error() == ERROR_IO_PENDING
}

/// A worker: takes completion packets until told to stop. On a read it starts the next
/// read, then echoes what it got with its write OVERLAPPED.
async fn worker(ctx: ThreadCtx, server: Rc<RefCell<Server>>) -> u32 {
    loop {
        let port = server.borrow().port;
        let (mut n, mut key, mut ov) = (0, 0, None);
        let ok = ctx.get_queued_completion_status(port, &mut n, &mut key, &mut ov, INFINITE).await == TRUE;
        if key == STOP {
            return 0;
        }
        let Some(ov) = ov else { return 1 };
        let i = key;
        let (is_connect, is_read) = {
            let s = server.borrow();
            (ov == s.instances[i].connect, ov == s.instances[i].read)
        };
        if is_connect {
            if !start_read(&ctx, &server, i).await {
                return 2;
            }
        } else if is_read && !ok {
            // The client closed its end (ERROR_BROKEN_PIPE): this instance is done.
            let last = {
                let mut s = server.borrow_mut();
                s.closed += 1;
                (s.closed == CLIENTS).then_some(s.port)
            };
            if let Some(port) = last {
                for _ in 0..2 {
                    let _ = ctx.post_queued_completion_status(port, 0, STOP, None).await;
                }
            }
        } else if is_read {
            let data = server.borrow().instances[i].buffer.head(n as usize);
            // The next read goes out first, then the echo.
            if !start_read(&ctx, &server, i).await {
                return 3;
            }
            let (pipe, write) = {
                let s = server.borrow();
                (s.instances[i].pipe, s.instances[i].write.clone())
            };
            if ctx.write_file_overlapped(pipe, &data, None, &write).await == FALSE
                && ctx.get_last_error() != ERROR_IO_PENDING
            {
                return 4;
            }
            server.borrow_mut().echoed += 1;
        }
    }
}

/// A client: sends "ping N", expects it back.
async fn echo_client(ctx: ThreadCtx) -> u32 {
    let h = loop {
        let h = ctx.create_file(ECHO_PIPE, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
        if h != INVALID_HANDLE_VALUE {
            break h;
        }
        if ctx.get_last_error() != ERROR_PIPE_BUSY
            || ctx.wait_named_pipe(ECHO_PIPE, NMPWAIT_WAIT_FOREVER).await == FALSE
        {
            return 10;
        }
    };
    let message = format!("ping {}", ctx.get_current_process_id());
    let mut buf = [0u8; 64];
    let mut n = 0;
    if ctx.write_file(h, message.as_bytes(), None).await == FALSE
        || ctx.read_file(h, &mut buf, Some(&mut n)).await == FALSE
    {
        return 11;
    }
    let _ = ctx.close_handle(h).await;
    u32::from(&buf[..n as usize] != message.as_bytes())
}

fn install_echo(sim: &mut Sim, share_overlapped: bool) {
    sim.program("client.exe", echo_client);
    sim.program("server.exe", move |ctx| async move {
        let port = ctx.create_io_completion_port(INVALID_HANDLE_VALUE, HANDLE::NULL, 0, 2).await;
        let mut instances = Vec::new();
        for i in 0..CLIENTS {
            let pipe = ctx
                .create_named_pipe(
                    ECHO_PIPE,
                    PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                    PIPE_TYPE_BYTE,
                    CLIENTS as u32,
                    512,
                    512,
                    0,
                    None,
                )
                .await;
            if pipe == INVALID_HANDLE_VALUE || ctx.create_io_completion_port(pipe, port, i, 0).await != port {
                return 100;
            }
            let read = Overlapped::new(HANDLE::NULL);
            // The bug: one OVERLAPPED for the read and the write of an instance.
            let write = if share_overlapped { read.clone() } else { Overlapped::new(HANDLE::NULL) };
            instances.push(Instance {
                pipe,
                connect: Overlapped::new(HANDLE::NULL),
                read,
                write,
                buffer: IoBuffer::new(64),
            });
        }
        let server = Rc::new(RefCell::new(Server { port, instances, echoed: 0, closed: 0 }));
        for i in 0..CLIENTS {
            let (pipe, connect) = {
                let s = server.borrow();
                (s.instances[i].pipe, s.instances[i].connect.clone())
            };
            if ctx.connect_named_pipe(pipe, Some(&connect)).await == FALSE {
                match ctx.get_last_error() {
                    ERROR_IO_PENDING => {}
                    // A client already connected: no packet comes for this connect.
                    ERROR_PIPE_CONNECTED => {
                        if !start_read(&ctx, &server, i).await {
                            return 101;
                        }
                    }
                    _ => return 102,
                }
            }
        }
        let mut workers = Vec::new();
        for _ in 0..2 {
            let s = server.clone();
            workers.push(ctx.create_thread(None, 0, move |ctx| worker(ctx, s), 0, None).await);
        }
        let mut clients = Vec::new();
        for _ in 0..CLIENTS {
            let mut pi = PROCESS_INFORMATION::default();
            let si = STARTUPINFO::default();
            let _ = ctx.create_process(None, Some("client.exe"), None, None, false, 0, &si, &mut pi).await;
            clients.push(pi.hProcess);
        }
        let mut failed = 0;
        for p in clients {
            ctx.wait_for_single_object(p, INFINITE).await;
            let mut code = 1;
            let _ = ctx.get_exit_code_process(p, &mut code).await;
            failed += u32::from(code != 0);
        }
        for t in workers {
            ctx.wait_for_single_object(t, INFINITE).await;
            let mut code = 1;
            let _ = ctx.get_exit_code_thread(t, &mut code).await;
            failed += u32::from(code != 0);
        }
        let echoed = server.borrow().echoed as u32;
        if failed == 0 && echoed == CLIENTS as u32 { 0 } else { 200 + failed }
    });
}

/// Teaching case 5: an I/O completion port echo server with two worker threads and three
/// clients, each pipe instance with its own read and write OVERLAPPED: completes on every
/// seed.
pub fn iocp_echo_server() -> Scenario {
    Scenario {
        name: "iocp-echo-server",
        summary: "a completion-port echo server, two workers, three clients, one OVERLAPPED per operation",
        expect: "completes with exit code 0 on every seed",
        install: |sim| install_echo(sim, false),
        main: "server.exe",
    }
}

/// Teaching case 5, broken: the same server with one OVERLAPPED per instance for both the
/// read and the write. The echo's WriteFile reuses the OVERLAPPED of the read that is still
/// pending, which corrupts memory on Windows; winsim stops the run and names both.
pub fn iocp_echo_server_shared_overlapped() -> Scenario {
    Scenario {
        name: "iocp-echo-server-shared-overlapped",
        summary: "the echo server reusing the pending read's OVERLAPPED for the echo write: reported",
        expect: "fails on every seed that echoes, naming both operations",
        install: |sim| install_echo(sim, true),
        main: "server.exe",
    }
}

fn install_apc(sim: &mut Sim, alertable: bool) {
    sim.program("apc.exe", move |ctx| async move {
        let done = ctx.create_event(None, true, false, None).await;
        let worker = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    loop {
                        // The bug: a plain wait never runs the APC that would set `done`.
                        let r = if alertable {
                            ctx.wait_for_single_object_ex(done, INFINITE, true).await
                        } else {
                            ctx.wait_for_single_object(done, INFINITE).await
                        };
                        if r == WAIT_OBJECT_0 {
                            return 0;
                        }
                    }
                },
                0,
                None,
            )
            .await;
        let queued = ctx
            .queue_user_apc(
                move |ctx, _| async move {
                    let _ = ctx.set_event(done).await;
                },
                worker,
                0,
            )
            .await;
        if queued == 0 {
            return 1;
        }
        ctx.wait_for_single_object(worker, INFINITE).await;
        0
    });
}

/// Teaching case 6: an APC queued to a thread blocked in a non-alertable wait never runs;
/// the deadlock report names the queued APC.
pub fn apc_never_runs() -> Scenario {
    Scenario {
        name: "apc-non-alertable-wait",
        summary: "QueueUserAPC to a thread in WaitForSingleObject: the APC never runs",
        expect: "deadlocks on every seed; the report names the queued APC",
        install: |sim| install_apc(sim, false),
        main: "apc.exe",
    }
}

/// Teaching case 6, fixed: the thread waits alertably (WaitForSingleObjectEx), runs the APC
/// and sees its event set.
pub fn apc_alertable_wait() -> Scenario {
    Scenario {
        name: "apc-alertable-wait",
        summary: "the fix: WaitForSingleObjectEx(..., TRUE) runs the APC, which sets the event",
        expect: "completes on every seed",
        install: |sim| install_apc(sim, true),
        main: "apc.exe",
    }
}
