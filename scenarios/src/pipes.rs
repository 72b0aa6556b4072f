//! Pipe scenarios: redirecting a child's stdout, and when a pipe write returns.

use crate::Scenario;
use sim_core::prelude::*;

/// The child: writes three lines to its standard output and exits.
fn child(sim: &mut Sim) {
    sim.program("child.exe", |ctx| async move {
        let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
        for line in ["line 1\n", "line 2\n", "line 3\n"] {
            let mut written = 0;
            if ctx.write_file(out, line.as_bytes(), Some(&mut written)).await == FALSE {
                return 1;
            }
        }
        0
    });
}

/// The parent: redirects the child's stdout through an anonymous pipe and reads until
/// ERROR_BROKEN_PIPE. `close_write_end` is the line the buggy variant forgets.
async fn parent(ctx: ThreadCtx, close_write_end: bool) -> u32 {
    let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
    if ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await == FALSE {
        return 1;
    }
    // The parent's read end must not be inherited (Microsoft's redirection sample).
    ctx.set_handle_information(r, HANDLE_FLAG_INHERIT, 0).await;
    let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdInput: HANDLE::NULL, hStdOutput: w, hStdError: w };
    let mut pi = PROCESS_INFORMATION::default();
    if ctx.create_process(None, Some("child.exe"), None, None, true, 0, &si, &mut pi).await == FALSE {
        return 2;
    }
    if close_write_end {
        ctx.close_handle(w).await;
    }
    let mut total = 0;
    let mut buf = [0u8; 64];
    loop {
        let mut n = 0;
        if ctx.read_file(r, &mut buf, Some(&mut n)).await == FALSE {
            // ERROR_BROKEN_PIPE: every write handle is closed and the pipe is drained.
            if ctx.get_last_error() != ERROR_BROKEN_PIPE.0 {
                return 3;
            }
            break;
        }
        total += n;
    }
    ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(pi.hProcess, &mut code).await;
    ctx.close_handle(pi.hProcess).await;
    ctx.close_handle(pi.hThread).await;
    ctx.close_handle(r).await;
    if total == 21 && code == 0 { 0 } else { 4 }
}

/// Teaching case 1: the parent closes its copy of the write end and sees end of file.
pub fn redirect_fixed() -> Scenario {
    Scenario {
        name: "redirect-fixed",
        summary: "a parent reads a child's redirected stdout to ERROR_BROKEN_PIPE after closing its own write handle",
        expect: "completes on every seed",
        install: |sim| {
            child(sim);
            sim.program("parent.exe", |ctx| parent(ctx, true));
        },
        main: "parent.exe",
    }
}

/// Teaching case 2: the parent forgets to close its copy of the write end, so its
/// ReadFile never sees end of file.
pub fn redirect_leaked_write_end() -> Scenario {
    Scenario {
        name: "redirect-leaked-write-end",
        summary: "the parent forgets CloseHandle on its copy of the write end: ReadFile never sees end of file",
        expect: "deadlocks on every seed; the report names the leaked write handle",
        install: |sim| {
            child(sim);
            sim.program("parent.exe", |ctx| parent(ctx, false));
        },
        main: "parent.exe",
    }
}

/// Teaching case 3: nSize = 4 and a 10-byte WriteFile; a reader takes one byte at a
/// time. The write returns once the unread bytes (10 - read) fit the quota of 4, that
/// is after the 6th one-byte read, not the 10th.
pub fn pipe_quota_arithmetic() -> Scenario {
    Scenario {
        name: "pipe-quota-arithmetic",
        summary: "CreatePipe(nSize=4) and a 10-byte WriteFile: it blocks, and returns after the 6th 1-byte read",
        expect: "completes on every seed",
        install: |sim| {
            sim.program("quota.exe", |ctx| async move {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let _ = ctx.create_pipe(&mut r, &mut w, None, 4).await;
                let writer = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            let mut n = 0;
                            let _ = ctx.write_file(w, b"0123456789", Some(&mut n)).await;
                            n
                        },
                        0,
                        None,
                    )
                    .await;
                let mut got = Vec::new();
                while got.len() < 10 {
                    let mut avail = 0;
                    let _ = ctx.peek_named_pipe(r, None, None, Some(&mut avail), None).await;
                    let mut b = [0u8; 1];
                    let mut n = 0;
                    let _ = ctx.read_file(r, &mut b, Some(&mut n)).await;
                    got.extend_from_slice(&b[..n as usize]);
                }
                ctx.wait_for_single_object(writer, INFINITE).await;
                let mut written = 0;
                let _ = ctx.get_exit_code_thread(writer, &mut written).await;
                if got == b"0123456789" && written == 10 { 0 } else { 1 }
            });
        },
        main: "quota.exe",
    }
}

/// Registers the pipe-clog programs: the parent waits for the child to exit before it
/// reads the child's stdout; the child writes `out_bytes` in one WriteFile.
pub fn install_pipe_clog(sim: &mut Sim, out_bytes: u32) {
    sim.program("writer.exe", move |ctx| async move {
        let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
        let data = vec![b'.'; out_bytes as usize];
        if ctx.write_file(out, &data, None).await == FALSE { 1 } else { 0 }
    });
    sim.program("waiter.exe", move |ctx| async move {
        let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
        let _ = ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await;
        ctx.set_handle_information(r, HANDLE_FLAG_INHERIT, 0).await;
        let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdOutput: w, hStdError: w, ..STARTUPINFO::default() };
        let mut pi = PROCESS_INFORMATION::default();
        if ctx.create_process(None, Some("writer.exe"), None, None, true, 0, &si, &mut pi).await == FALSE {
            return 2;
        }
        ctx.close_handle(w).await;
        // The bug: waiting for the child before draining its output.
        ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
        let mut buf = vec![0u8; 8192];
        let mut total = 0;
        let mut n = 0;
        while ctx.read_file(r, &mut buf, Some(&mut n)).await == TRUE {
            total += n;
        }
        if total == out_bytes { 0 } else { 3 }
    });
}

/// TEACHING-CASES item 1 (shape a): the parent waits for the child before reading its
/// stdout; the child's 8192-byte WriteFile does not fit the 4096-byte pipe, so each
/// waits for the other. Up to 4096 bytes it completes: "works in tests, hangs in
/// production".
pub fn pipe_clog() -> Scenario {
    Scenario {
        name: "pipe-clog",
        summary: "the parent waits for the child before reading its stdout; the child's 8 KiB write never fits the 4 KiB pipe",
        expect: "deadlocks on every seed: a wait-for cycle across two processes",
        install: |sim| install_pipe_clog(sim, 8192),
        main: "waiter.exe",
    }
}

/// docs/semantics.md §1.A: a synchronous handle lets one call at a time proceed. A reader
/// thread blocks in ReadFile on the pipe's read handle; a monitor thread calls
/// PeekNamedPipe on the same handle to see whether the pipe is idle, then tells the main
/// thread, which is waiting for that before it writes. When the reader's ReadFile comes
/// first, the peek queues behind it, so nobody ever writes: a deadlock that Wine (which
/// does not serialise synchronous I/O) would not show.
pub fn sync_handle_serialization() -> Scenario {
    Scenario {
        name: "sync-handle-serialization",
        summary: "a PeekNamedPipe queues behind another thread's pending ReadFile on the same synchronous handle",
        expect: "deadlocks on seeds where the ReadFile starts before the peek; completes on the others",
        install: |sim| {
            sim.program("monitor.exe", |ctx| async move {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let _ = ctx.create_pipe(&mut r, &mut w, None, 0).await;
                let idle = ctx.create_event(None, true, false, None).await;
                let reader = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            let mut buf = [0u8; 16];
                            let mut n = 0;
                            let _ = ctx.read_file(r, &mut buf, Some(&mut n)).await;
                            n
                        },
                        0,
                        None,
                    )
                    .await;
                let monitor = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            let mut avail = 0;
                            let _ = ctx.peek_named_pipe(r, None, None, Some(&mut avail), None).await;
                            if avail == 0 {
                                ctx.set_event(idle).await;
                            }
                            0
                        },
                        0,
                        None,
                    )
                    .await;
                // Write the request only once the monitor saw the pipe idle.
                ctx.wait_for_single_object(idle, INFINITE).await;
                let _ = ctx.write_file(w, b"request", None).await;
                ctx.wait_for_multiple_objects(&[reader, monitor], true, INFINITE).await;
                0
            });
        },
        main: "monitor.exe",
    }
}
