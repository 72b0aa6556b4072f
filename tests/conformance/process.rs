//! Processes: CreateProcess of registered programs, command lines, handle inheritance,
//! standard handles, ExitProcess, TerminateProcess, GetExitCodeProcess, OpenProcess and
//! DuplicateHandle across processes. Named after Wine's dlls/kernel32/tests/process.c;
//! fact numbers are those of docs/semantics.md (sections
//! 7.9-7.12, 9).

use crate::support::{SENTINEL, assert_completed};
use sim_core::prelude::*;
use sim_core::report::LimitKind;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Runs a simulation whose programs `setup` registers, starting "parent.exe".
fn run_progs(config: Config, setup: impl FnOnce(&mut Sim)) -> RunReport {
    let mut sim = Sim::new(config);
    setup(&mut sim);
    sim.run("parent.exe")
}

/// Runs round-robin and asserts completion with the parent's exit code 0.
#[track_caller]
fn check_progs(setup: impl FnOnce(&mut Sim)) -> RunReport {
    let r = run_progs(Config::round_robin(), setup);
    assert_completed(&r);
    assert_eq!(code_of(&r, "parent.exe"), 0, "parent exit code\n{}", r.trace_text());
    r
}

/// The exit code of the (first) process with this image, from a completed run.
#[track_caller]
fn code_of(r: &RunReport, image: &str) -> u32 {
    match &r.outcome {
        Outcome::Completed { exit_codes } => {
            exit_codes.iter().find(|(_, i, _)| i == image).unwrap_or_else(|| panic!("no {image} in {exit_codes:?}")).2
        }
        other => panic!("not completed: {other:?}"),
    }
}

/// The hexadecimal handle values (and numbers) after the program name on a command line.
fn args(cmd: &str) -> Vec<u32> {
    cmd.split_whitespace()
        .skip(1)
        .filter_map(|a| a.strip_prefix("0x").and_then(|h| u32::from_str_radix(h, 16).ok()))
        .collect()
}

fn handle_args(ctx: &ThreadCtx) -> Vec<HANDLE> {
    args(&ctx.get_command_line()).into_iter().map(|v| HANDLE(v as isize)).collect()
}

/// CreateProcess with a command line; asserts success.
async fn spawn(ctx: &ThreadCtx, cmd: &str, inherit: bool, flags: u32, si: &STARTUPINFO) -> PROCESS_INFORMATION {
    let mut pi = PROCESS_INFORMATION::default();
    let ok = ctx.create_process(None, Some(cmd), None, None, inherit, flags, si, &mut pi).await;
    assert_eq!(ok, TRUE, "CreateProcess({cmd}) failed: {}", ctx.get_last_error());
    pi
}

/// Waits for a process and returns its exit code.
async fn wait_exit(ctx: &ThreadCtx, h: HANDLE) -> u32 {
    assert_eq!(ctx.wait_for_single_object(h, INFINITE).await, WAIT_OBJECT_0);
    let mut code = 0;
    assert_eq!(ctx.get_exit_code_process(h, &mut code).await, TRUE);
    code
}

/// The flags of `h` in the calling process, or the error.
async fn handle_info(ctx: &ThreadCtx, h: HANDLE) -> Result<u32, Win32Error> {
    let mut flags = 0;
    ctx.set_last_error(SENTINEL);
    if ctx.get_handle_information(h, &mut flags).await == TRUE { Ok(flags) } else { Err(ctx.get_last_error()) }
}

// CreateProcess doc (lpCommandLine; .exe appended when missing); process.c ::
// test_CommandLine: the child's GetCommandLine is the command line as passed, quotes and
// arguments included; PROCESS_INFORMATION names the child's process and main thread.
#[test]
fn create_process_command_line_and_ids() {
    let seen: Rc<RefCell<Vec<(String, u32, u32)>>> = Rc::default();
    let s2 = seen.clone();
    let s3 = seen.clone();
    let r = check_progs(move |sim| {
        sim.program("Child.exe", move |ctx| {
            let s2 = s2.clone();
            async move {
                s2.borrow_mut().push((
                    ctx.get_command_line(),
                    ctx.get_current_process_id(),
                    ctx.get_current_thread_id(),
                ));
                5
            }
        });
        sim.program("parent.exe", move |ctx| {
            let s3 = s3.clone();
            async move {
                let si = STARTUPINFO::default();
                let cmds = ["\"child.exe\" one \"two words\"", "CHILD arg", "C:\\bin\\child.EXE  x"];
                for (i, cmd) in cmds.iter().enumerate() {
                    let pi = spawn(&ctx, cmd, false, 0, &si).await;
                    assert_eq!(wait_exit(&ctx, pi.hProcess).await, 5);
                    let (line, pid, tid) = s3.borrow()[i].clone();
                    assert_eq!(line, *cmd);
                    assert_eq!(pid, pi.dwProcessId);
                    assert_eq!(tid, pi.dwThreadId);
                    assert_ne!(pid, ctx.get_current_process_id());
                    // The main thread's handle is signalled too, with main's return value.
                    assert_eq!(ctx.wait_for_single_object(pi.hThread, 0).await, WAIT_OBJECT_0);
                    let mut code = 0;
                    assert_eq!(ctx.get_exit_code_thread(pi.hThread, &mut code).await, TRUE);
                    assert_eq!(code, 5);
                    assert_eq!(handle_info(&ctx, pi.hProcess).await, Ok(0));
                    assert_eq!(ctx.close_handle(pi.hProcess).await, TRUE);
                    assert_eq!(ctx.close_handle(pi.hThread).await, TRUE);
                }
                // lpApplicationName names the program; the command line is passed as is.
                let mut pi = PROCESS_INFORMATION::default();
                let ok = ctx
                    .create_process(Some("child"), Some("anything at all"), None, None, false, 0, &si, &mut pi)
                    .await;
                assert_eq!(ok, TRUE);
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 5);
                assert_eq!(s3.borrow()[3].0, "anything at all");
                // Inheritable process and thread handles via the security attributes.
                let inh = SECURITY_ATTRIBUTES::INHERIT;
                let ok = ctx.create_process(None, Some("child"), Some(&inh), Some(&inh), false, 0, &si, &mut pi).await;
                assert_eq!(ok, TRUE);
                assert_eq!(handle_info(&ctx, pi.hProcess).await, Ok(HANDLE_FLAG_INHERIT));
                assert_eq!(handle_info(&ctx, pi.hThread).await, Ok(HANDLE_FLAG_INHERIT));
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 5);
                0
            }
        });
    });
    assert_eq!(seen.borrow().len(), 5, "{}", r.trace_text());
}

// Wine probe: CreateProcess of an unknown program fails with ERROR_FILE_NOT_FOUND (2),
// creating nothing.
#[test]
fn create_process_unknown_program() {
    check_progs(|sim| {
        sim.program("parent.exe", |ctx| async move {
            let si = STARTUPINFO::default();
            for (app, cmd) in [
                (None, Some("nosuch.exe a b")),
                (None, Some("\"no such\" x")),
                (Some("nosuch"), Some("parent.exe")),
                (None, Some("parentx")),
            ] {
                let mut pi = PROCESS_INFORMATION::default();
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.create_process(app, cmd, None, None, false, 0, &si, &mut pi).await, FALSE, "{cmd:?}");
                assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND, "{cmd:?}");
                assert_eq!(pi, PROCESS_INFORMATION::default());
            }
            0
        });
    });
}

// §7.10 (process.c :: test_handle_list_attribute; object-inheritance doc): with
// bInheritHandles every inheritable handle appears in the child at the same value,
// still inheritable, with the same access; non-inheritable ones do not appear. With
// bInheritHandles FALSE none do.
#[test]
fn inheritance_copies_only_inheritable_handles() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let h = handle_args(&ctx);
            let (inh, non, weak, expect_inherited) = (h[0], h[1], h[2], h[3].0 == 1);
            if expect_inherited {
                assert_eq!(handle_info(&ctx, inh).await, Ok(HANDLE_FLAG_INHERIT));
                assert_eq!(handle_info(&ctx, weak).await, Ok(HANDLE_FLAG_INHERIT));
                // The same object: setting it here is seen by the parent.
                assert_eq!(ctx.set_event(inh).await, TRUE);
                // The same access: SYNCHRONIZE only, so SetEvent is denied.
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.set_event(weak).await, FALSE);
                assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            } else {
                assert_eq!(handle_info(&ctx, inh).await, Err(ERROR_INVALID_HANDLE));
                assert_eq!(handle_info(&ctx, weak).await, Err(ERROR_INVALID_HANDLE));
            }
            assert_eq!(handle_info(&ctx, non).await, Err(ERROR_INVALID_HANDLE));
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_event(non).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let inh = ctx.create_event(Some(&SECURITY_ATTRIBUTES::INHERIT), true, false, None).await;
            let non = ctx.create_event(None, true, false, None).await;
            let me = ctx.get_current_process();
            let mut weak = HANDLE::NULL;
            assert_eq!(ctx.duplicate_handle(me, non, me, &mut weak, SYNCHRONIZE, true, 0).await, TRUE);
            // A handle made non-inheritable with SetHandleInformation is not inherited.
            let cleared = ctx.create_event(Some(&SECURITY_ATTRIBUTES::INHERIT), true, false, None).await;
            assert_eq!(ctx.set_handle_information(cleared, HANDLE_FLAG_INHERIT, 0).await, TRUE);
            let si = STARTUPINFO::default();
            for (inherit, flag) in [(true, 1), (false, 0)] {
                let cmd = format!("child.exe {inh:?} {non:?} {weak:?} 0x{flag}");
                let pi = spawn(&ctx, &cmd, inherit, 0, &si).await;
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
                let signalled = ctx.wait_for_single_object(inh, 0).await;
                assert_eq!(signalled, if inherit { WAIT_OBJECT_0 } else { WAIT_TIMEOUT });
                assert_eq!(ctx.reset_event(inh).await, TRUE);
                let cmd = format!("child.exe {cleared:?} {non:?} {non:?} 0x0");
                let pi = spawn(&ctx, &cmd, inherit, 0, &si).await;
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
            }
            0
        });
    });
}

/// What a child saw as its stdout: the value and its GetHandleInformation result.
type StdSeen = (HANDLE, Result<u32, Win32Error>);

// §7.11 (process.c :: test_StdHandleInheritance) (a)-(e), as far as the kernel models
// them (no consoles: every child is treated as a console child).
#[test]
fn std_handles_follow_startupinfo() {
    // (case, what the child saw as its stdout: value and its GetHandleInformation).
    let seen: Rc<RefCell<Vec<StdSeen>>> = Rc::default();
    let s2 = seen.clone();
    let s3 = seen.clone();
    check_progs(move |sim| {
        sim.program("child.exe", move |ctx| {
            let s2 = s2.clone();
            async move {
                let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
                let info = handle_info(&ctx, out).await;
                s2.borrow_mut().push((out, info));
                if info.is_ok() {
                    assert_eq!(ctx.write_file(out, b"hi", None).await, TRUE);
                }
                0
            }
        });
        sim.program("parent.exe", move |ctx| {
            let s3 = s3.clone();
            async move {
                let mut r = HANDLE::NULL;
                let mut w_inh = HANDLE::NULL;
                let inh = SECURITY_ATTRIBUTES::INHERIT;
                assert_eq!(ctx.create_pipe(&mut r, &mut w_inh, Some(&inh), 0).await, TRUE);
                let me = ctx.get_current_process();
                let mut w_non = HANDLE::NULL;
                assert_eq!(
                    ctx.duplicate_handle(me, w_inh, me, &mut w_non, 0, false, DUPLICATE_SAME_ACCESS).await,
                    TRUE
                );
                let use_std =
                    |h| STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdOutput: h, ..STARTUPINFO::default() };
                let plain = STARTUPINFO::default();
                let mut buf = [0u8; 8];
                let mut n = 0;

                // (a) STARTF_USESTDHANDLES, inherit, inheritable: same value, valid, INHERIT.
                let pi = spawn(&ctx, "child", true, 0, &use_std(w_inh)).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[0], (w_inh, Ok(HANDLE_FLAG_INHERIT)));
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);
                assert_eq!(&buf[..n as usize], b"hi");

                // (b) STARTF_USESTDHANDLES, inheritable, bInheritHandles FALSE: NULL.
                let pi = spawn(&ctx, "child", false, 0, &use_std(w_inh)).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[1].0, HANDLE::NULL);

                // (c) bInheritHandles TRUE, handle not inheritable: the raw value, dangling.
                let pi = spawn(&ctx, "child", true, 0, &use_std(w_non)).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[2], (w_non, Err(ERROR_INVALID_HANDLE)));

                // (d) No STARTF_USESTDHANDLES, bInheritHandles FALSE: the parent's std
                // handle is duplicated into the child though not inheritable, flags kept.
                assert_eq!(ctx.set_std_handle(STD_OUTPUT_HANDLE, w_non), TRUE);
                let pi = spawn(&ctx, "child", false, 0, &plain).await;
                wait_exit(&ctx, pi.hProcess).await;
                let (h, info) = s3.borrow()[3];
                assert!(!h.is_null());
                assert_eq!(info, Ok(0));
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);
                assert_eq!(&buf[..n as usize], b"hi");
                // ... and an inheritable one keeps its INHERIT flag.
                assert_eq!(ctx.set_std_handle(STD_OUTPUT_HANDLE, w_inh), TRUE);
                let pi = spawn(&ctx, "child", false, 0, &plain).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[4].1, Ok(HANDLE_FLAG_INHERIT));
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);

                // (e) No STARTF_USESTDHANDLES, bInheritHandles TRUE, non-inheritable std
                // handle: the raw value, dangling, as in (c).
                assert_eq!(ctx.set_std_handle(STD_OUTPUT_HANDLE, w_non), TRUE);
                let pi = spawn(&ctx, "child", true, 0, &plain).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[5], (w_non, Err(ERROR_INVALID_HANDLE)));
                // ... while an inheritable one arrives by inheritance, at the same value.
                assert_eq!(ctx.set_std_handle(STD_OUTPUT_HANDLE, w_inh), TRUE);
                let pi = spawn(&ctx, "child", true, 0, &plain).await;
                wait_exit(&ctx, pi.hProcess).await;
                assert_eq!(s3.borrow()[6], (w_inh, Ok(HANDLE_FLAG_INHERIT)));
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);

                // Every copy of the write end is gone once the parent closes its own:
                // the children's were closed at their exit (§§1.10, 9.4).
                assert_eq!(ctx.close_handle(w_inh).await, TRUE);
                assert_eq!(ctx.close_handle(w_non).await, TRUE);
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE);
                assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
                0
            }
        });
    });
}

// CreateProcess doc (CREATE_SUSPENDED: "The primary thread of the new process is created
// in a suspended state, and does not run until the ResumeThread function is called");
// §§8.1, 9.1.
#[test]
fn create_suspended_process_runs_after_resume() {
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    let r3 = ran.clone();
    check_progs(move |sim| {
        sim.program("child.exe", move |_| {
            let r2 = r2.clone();
            async move {
                r2.set(true);
                9
            }
        });
        sim.program("parent.exe", move |ctx| {
            let r3 = r3.clone();
            async move {
                let pi = spawn(&ctx, "child.exe", false, CREATE_SUSPENDED, &STARTUPINFO::default()).await;
                assert_eq!(ctx.wait_for_single_object(pi.hProcess, 100).await, WAIT_TIMEOUT);
                assert!(!r3.get());
                let mut code = 0;
                assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
                assert_eq!(code, STILL_ACTIVE);
                assert_eq!(ctx.suspend_thread(pi.hThread).await, 1);
                assert_eq!(ctx.resume_thread(pi.hThread).await, 2);
                assert_eq!(ctx.resume_thread(pi.hThread).await, 1);
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 9);
                assert!(r3.get());
                0
            }
        });
    });
}

// The CRT calls ExitProcess when main returns (ExitProcess doc; §8.8): the process
// ends with main's value even while other threads run; they are ended with that code.
#[test]
fn main_return_ends_process_with_threads_running() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let never = ctx.create_event(None, true, false, None).await;
            let t = ctx
                .create_thread(
                    None,
                    0,
                    move |t| async move { t.wait_for_single_object(never, INFINITE).await },
                    0,
                    None,
                )
                .await;
            assert!(!t.is_null());
            ctx.sleep(10).await;
            5
        });
        sim.program("parent.exe", |ctx| async move {
            let pi = spawn(&ctx, "child.exe", false, 0, &STARTUPINFO::default()).await;
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 5);
            0
        });
    });
}

// ExitProcess doc: called from any thread, it ends every thread of the process with the
// code; the main thread's pending wait never completes.
#[test]
fn exit_process_from_secondary_thread() {
    let after = Rc::new(Cell::new(false));
    let a2 = after.clone();
    let a3 = after.clone();
    check_progs(move |sim| {
        sim.program("child.exe", move |ctx| {
            let a2 = a2.clone();
            async move {
                let never = ctx.create_event(None, true, false, None).await;
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        |t| async move {
                            t.exit_process(9).await;
                            1
                        },
                        0,
                        None,
                    )
                    .await;
                ctx.wait_for_single_object(never, INFINITE).await;
                a2.set(true);
                1
            }
        });
        sim.program("parent.exe", move |ctx| {
            let a3 = a3.clone();
            async move {
                let pi = spawn(&ctx, "child.exe", false, 0, &STARTUPINFO::default()).await;
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 9);
                let mut code = 0;
                assert_eq!(ctx.get_exit_code_thread(pi.hThread, &mut code).await, TRUE);
                assert_eq!(code, 9);
                assert!(!a3.get());
                0
            }
        });
    });
}

// §9.1 (process.c :: test_TerminateJobObject; TerminateProcess doc), 9.4, 1.10, 2.11;
// Wine probe: TerminateProcess on an exited process is FALSE, ERROR_ACCESS_DENIED, and
// the exit code is unchanged.
#[test]
fn terminate_process_ends_threads_and_closes_handles() {
    let after = Rc::new(Cell::new(0u32));
    let a2 = after.clone();
    let a3 = after.clone();
    check_progs(move |sim| {
        sim.program("child.exe", move |ctx| {
            let a2 = a2.clone();
            async move {
                let w = handle_args(&ctx)[0];
                let never = ctx.create_event(None, true, false, None).await;
                let a4 = a2.clone();
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        move |t| async move {
                            t.wait_for_single_object(never, INFINITE).await;
                            a4.set(a4.get() + 1);
                            0
                        },
                        0,
                        None,
                    )
                    .await;
                assert_eq!(ctx.write_file(w, b"ready", None).await, TRUE);
                ctx.wait_for_single_object(never, INFINITE).await;
                a2.set(a2.get() + 1);
                1
            }
        });
        sim.program("parent.exe", move |ctx| {
            let a3 = a3.clone();
            async move {
                let mut r = HANDLE::NULL;
                let mut w = HANDLE::NULL;
                assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await, TRUE);
                let pi = spawn(&ctx, &format!("child.exe {w:?}"), true, 0, &STARTUPINFO::default()).await;
                // The child now holds the only write handle.
                assert_eq!(ctx.close_handle(w).await, TRUE);
                let mut buf = [0u8; 16];
                let mut n = 0;
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);
                assert_eq!(&buf[..n as usize], b"ready");
                let mut code = 0;
                assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
                assert_eq!(code, STILL_ACTIVE);
                assert_eq!(ctx.wait_for_single_object(pi.hProcess, 0).await, WAIT_TIMEOUT);

                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.terminate_process(pi.hProcess, 13).await, TRUE);
                assert_eq!(ctx.wait_for_single_object(pi.hProcess, 0).await, WAIT_OBJECT_0);
                assert_eq!(ctx.wait_for_single_object(pi.hThread, 0).await, WAIT_OBJECT_0);
                assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
                assert_eq!(code, 13);
                assert_eq!(ctx.get_exit_code_thread(pi.hThread, &mut code).await, TRUE);
                assert_eq!(code, 13);
                // Its handles were closed: the reader sees end of file.
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE);
                assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
                assert_eq!(n, 0);

                // Terminating it again fails and keeps the exit code.
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.terminate_process(pi.hProcess, 14).await, FALSE);
                assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
                assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
                assert_eq!(code, 13);
                // §9.2: the handle of an ended process stays valid.
                assert_eq!(handle_info(&ctx, pi.hProcess).await, Ok(0));
                // No thread of the child ran past its wait.
                assert_eq!(a3.get(), 0);
                0
            }
        });
    });
}

// §9.5 (process.c :: test_TerminateProcess): TerminateProcess of a suspended child
// succeeds, even with a handle to its thread duplicated into its own table.
#[test]
fn terminate_suspended_process() {
    let ran = Rc::new(Cell::new(false));
    let r2 = ran.clone();
    let r3 = ran.clone();
    let r = check_progs(move |sim| {
        sim.program("child.exe", move |_| {
            let r2 = r2.clone();
            async move {
                r2.set(true);
                0
            }
        });
        sim.program("parent.exe", move |ctx| {
            let r3 = r3.clone();
            async move {
                let pi = spawn(&ctx, "child.exe", false, CREATE_SUSPENDED, &STARTUPINFO::default()).await;
                let me = ctx.get_current_process();
                let mut dup = HANDLE::NULL;
                assert_eq!(
                    ctx.duplicate_handle(me, pi.hThread, pi.hProcess, &mut dup, 0, false, DUPLICATE_SAME_ACCESS).await,
                    TRUE
                );
                assert!(!dup.is_null());
                assert_eq!(ctx.terminate_process(pi.hProcess, 17).await, TRUE);
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 17);
                assert!(!r3.get());
                0
            }
        });
    });
    assert_eq!(code_of(&r, "child.exe"), 17);
}

// TerminateProcess doc: TerminateProcess(GetCurrentProcess(), code) ends the caller's
// process and does not return; ExitProcess likewise.
#[test]
fn terminate_and_exit_own_process() {
    let after = Rc::new(Cell::new(false));
    let a2 = after.clone();
    let a3 = after.clone();
    let r = run_progs(Config::round_robin(), move |sim| {
        sim.program("parent.exe", move |ctx| {
            let a2 = a2.clone();
            async move {
                ctx.terminate_process(ctx.get_current_process(), 21).await;
                a2.set(true);
                1
            }
        });
    });
    assert_eq!(code_of(&r, "parent.exe"), 21);
    assert!(!after.get());
    let r = run_progs(Config::round_robin(), move |sim| {
        sim.program("parent.exe", move |ctx| {
            let a3 = a3.clone();
            async move {
                ctx.exit_process(22).await;
                a3.set(true);
                1
            }
        });
    });
    assert_eq!(code_of(&r, "parent.exe"), 22);
    assert!(!after.get());
}

// CloseHandle doc; §8.9: closing a process handle does not end the process.
#[test]
fn closing_process_handle_does_not_end_process() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let h = handle_args(&ctx);
            assert_eq!(ctx.wait_for_single_object(h[0], INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.set_event(h[1]).await, TRUE);
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let inh = SECURITY_ATTRIBUTES::INHERIT;
            let go = ctx.create_event(Some(&inh), false, false, None).await;
            let done = ctx.create_event(Some(&inh), false, false, None).await;
            let pi = spawn(&ctx, &format!("child.exe {go:?} {done:?}"), true, 0, &STARTUPINFO::default()).await;
            assert_eq!(ctx.close_handle(pi.hProcess).await, TRUE);
            assert_eq!(ctx.close_handle(pi.hThread).await, TRUE);
            assert_eq!(ctx.set_event(go).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(done, 1000).await, WAIT_OBJECT_0);
            0
        });
    });
}

// §9.1: GetExitCodeProcess is STILL_ACTIVE while the process runs, then its code;
// GetCurrentProcess() works and is STILL_ACTIVE; waiting on it times out (§8.11).
#[test]
fn get_exit_code_process_and_current_process() {
    check_progs(|sim| {
        sim.program("parent.exe", |ctx| async move {
            let me = ctx.get_current_process();
            assert_eq!(me, HANDLE(-1));
            let mut code = 0;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_exit_code_process(me, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE);
            assert_eq!(ctx.get_last_error(), SENTINEL);
            assert_eq!(ctx.wait_for_single_object(me, 100).await, WAIT_TIMEOUT);
            assert_eq!(ctx.get_last_error(), SENTINEL);
            0
        });
    });
}

// Bad handles: TerminateProcess / GetExitCodeProcess on NULL, garbage, closed, and
// wrong-type handles fail with ERROR_INVALID_HANDLE (§§7.6, 0.1); without
// PROCESS_TERMINATE or a query right, ERROR_ACCESS_DENIED.
#[test]
fn process_calls_with_bad_handles() {
    check_progs(|sim| {
        sim.program("child.exe", |_| async { 0 });
        sim.program("parent.exe", |ctx| async move {
            let ev = ctx.create_event(None, true, false, None).await;
            let pi = spawn(&ctx, "child.exe", false, CREATE_SUSPENDED, &STARTUPINFO::default()).await;
            let closed = ctx.create_event(None, true, false, None).await;
            assert_eq!(ctx.close_handle(closed).await, TRUE);
            for h in [HANDLE::NULL, HANDLE(0x2bad2bad), ev, closed, pi.hThread, HANDLE(-2)] {
                let mut code = 12345;
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.get_exit_code_process(h, &mut code).await, FALSE, "{h}");
                assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
                assert_eq!(code, 12345);
                ctx.set_last_error(SENTINEL);
                assert_eq!(ctx.terminate_process(h, 1).await, FALSE, "{h}");
                assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE, "{h}");
            }
            let me = ctx.get_current_process();
            let mut weak = HANDLE::NULL;
            assert_eq!(ctx.duplicate_handle(me, pi.hProcess, me, &mut weak, SYNCHRONIZE, false, 0).await, TRUE);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.terminate_process(weak, 1).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            let mut code = 0;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.get_exit_code_process(weak, &mut code).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            // The child is untouched: still suspended, still running.
            assert_eq!(ctx.wait_for_single_object(weak, 0).await, WAIT_TIMEOUT);
            assert_eq!(ctx.resume_thread(pi.hThread).await, 1);
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
            0
        });
    });
}

// §7.9 (pipe.c :: test_exit_process_async): the child opens its parent with
// OpenProcess(PROCESS_DUP_HANDLE) and moves a handle out of it with
// DUPLICATE_CLOSE_SOURCE: the parent's copy is closed, the child holds the object.
#[test]
fn open_process_and_duplicate_handle_between_processes() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let a = args(&ctx.get_command_line());
            let (parent_pid, ev) = (a[0], HANDLE(a[1] as isize));
            ctx.set_last_error(SENTINEL);
            let parent = ctx.open_process(PROCESS_DUP_HANDLE, false, parent_pid).await;
            assert!(!parent.is_null(), "OpenProcess: {}", ctx.get_last_error());
            assert_eq!(handle_info(&ctx, parent).await, Ok(0));
            let mut mine = HANDLE::NULL;
            let opts = DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE;
            assert_eq!(
                ctx.duplicate_handle(parent, ev, ctx.get_current_process(), &mut mine, 0, false, opts).await,
                TRUE
            );
            assert!(!mine.is_null());
            assert_eq!(ctx.set_event(mine).await, TRUE);
            // PROCESS_DUP_HANDLE does not grant PROCESS_TERMINATE.
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.terminate_process(parent, 1).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let ev = ctx.create_event(None, true, false, None).await;
            let me = ctx.get_current_process();
            let mut keep = HANDLE::NULL;
            assert_eq!(ctx.duplicate_handle(me, ev, me, &mut keep, 0, false, DUPLICATE_SAME_ACCESS).await, TRUE);
            let cmd = format!("child.exe 0x{:x} {ev:?}", ctx.get_current_process_id());
            let pi = spawn(&ctx, &cmd, false, 0, &STARTUPINFO::default()).await;
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
            assert_eq!(handle_info(&ctx, ev).await, Err(ERROR_INVALID_HANDLE));
            assert_eq!(ctx.wait_for_single_object(keep, 0).await, WAIT_OBJECT_0);

            // The other direction: the parent pushes a handle into a suspended child
            // through pi.hProcess (PROCESS_ALL_ACCESS includes PROCESS_DUP_HANDLE).
            let pi = spawn(&ctx, "child.exe 0x0 0x0", false, CREATE_SUSPENDED, &STARTUPINFO::default()).await;
            let mut in_child = HANDLE::NULL;
            assert_eq!(
                ctx.duplicate_handle(me, keep, pi.hProcess, &mut in_child, 0, false, DUPLICATE_SAME_ACCESS).await,
                TRUE
            );
            assert!(!in_child.is_null());
            assert_eq!(ctx.terminate_process(pi.hProcess, 3).await, TRUE);
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 3);
            // Into a process that has ended: STATUS_PROCESS_IS_TERMINATING (WRK
            // ObDuplicateObject fails to acquire the target's rundown protection), which
            // is ERROR_ACCESS_DENIED (§0.1); the target handle is NULL.
            let mut late = HANDLE(0x1234);
            ctx.set_last_error(SENTINEL);
            assert_eq!(
                ctx.duplicate_handle(me, keep, pi.hProcess, &mut late, 0, false, DUPLICATE_SAME_ACCESS).await,
                FALSE
            );
            assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
            assert!(late.is_null());
            0
        });
    });
}

// OpenProcess: an unknown pid fails with ERROR_INVALID_PARAMETER (87); the caller's own
// pid works; an ended process can be opened while a handle keeps its object alive
// (psutil PR #1094, ruby PR #18589: OpenProcess succeeds for exited processes), and its
// exit code read; once the last handle is closed the pid is unknown.
#[test]
fn open_process_by_pid() {
    check_progs(|sim| {
        sim.program("child.exe", |_| async { 6 });
        sim.program("parent.exe", |ctx| async move {
            for pid in [0u32, 1, 0xfff0, u32::MAX] {
                ctx.set_last_error(SENTINEL);
                assert!(ctx.open_process(PROCESS_QUERY_INFORMATION, false, pid).await.is_null(), "{pid}");
                assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER, "{pid}");
            }
            let me =
                ctx.open_process(PROCESS_QUERY_INFORMATION | SYNCHRONIZE, true, ctx.get_current_process_id()).await;
            assert!(!me.is_null());
            assert_eq!(handle_info(&ctx, me).await, Ok(HANDLE_FLAG_INHERIT));
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_process(me, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE);
            assert_eq!(ctx.wait_for_single_object(me, 0).await, WAIT_TIMEOUT);

            let pi = spawn(&ctx, "child.exe", false, 0, &STARTUPINFO::default()).await;
            let opened = ctx.open_process(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, false, pi.dwProcessId).await;
            assert!(!opened.is_null());
            assert_eq!(wait_exit(&ctx, opened).await, 6);
            assert_eq!(ctx.close_handle(opened).await, TRUE);
            // Ended, but pi.hProcess keeps the object: it can be opened again.
            let again = ctx.open_process(PROCESS_QUERY_LIMITED_INFORMATION, false, pi.dwProcessId).await;
            assert!(!again.is_null(), "{}", ctx.get_last_error());
            assert_eq!(ctx.get_exit_code_process(again, &mut code).await, TRUE);
            assert_eq!(code, 6);
            for h in [again, pi.hProcess, pi.hThread] {
                assert_eq!(ctx.close_handle(h).await, TRUE);
            }
            ctx.set_last_error(SENTINEL);
            assert!(ctx.open_process(PROCESS_QUERY_LIMITED_INFORMATION, false, pi.dwProcessId).await.is_null());
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
            0
        });
    });
}

// §§12.3, 12.4 (sync.c :: test_mutex; ntsync.c :: test_mutant): a mutex owned by a
// thread of a terminated process is abandoned; a thread blocked on it wakes with
// WAIT_ABANDONED and owns it.
#[test]
fn mutex_of_terminated_process_is_abandoned() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let h = handle_args(&ctx);
            let (m, owned) = (h[0], h[1]);
            assert_eq!(ctx.wait_for_single_object(m, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.set_event(owned).await, TRUE);
            let never = ctx.create_event(None, true, false, None).await;
            ctx.wait_for_single_object(never, INFINITE).await;
            1
        });
        sim.program("parent.exe", |ctx| async move {
            let inh = SECURITY_ATTRIBUTES::INHERIT;
            let m = ctx.create_mutex(Some(&inh), false, Some("abandon-me")).await;
            let owned = ctx.create_event(Some(&inh), true, false, None).await;
            let pi = spawn(&ctx, &format!("child.exe {m:?} {owned:?}"), true, 0, &STARTUPINFO::default()).await;
            assert_eq!(ctx.wait_for_single_object(owned, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_TIMEOUT);
            let waiter = ctx
                .create_thread(
                    None,
                    0,
                    move |t| async move {
                        let r = t.wait_for_single_object(m, INFINITE).await;
                        assert_eq!(t.release_mutex(m).await, TRUE);
                        r
                    },
                    0,
                    None,
                )
                .await;
            ctx.sleep(10).await;
            assert_eq!(ctx.terminate_process(pi.hProcess, 2).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(waiter, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_thread(waiter, &mut code).await, TRUE);
            assert_eq!(code, WAIT_ABANDONED);
            // Released by the waiter, the abandoned flag cleared: a normal acquire now.
            assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            assert_eq!(ctx.release_mutex(m).await, TRUE);
            0
        });
    });
}

// The same with nobody waiting at the time: the next wait returns WAIT_ABANDONED (fact
// 12.3), after the owner's process ended by returning from main.
#[test]
fn mutex_of_exited_process_is_abandoned_for_next_waiter() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let m = handle_args(&ctx)[0];
            assert_eq!(ctx.wait_for_single_object(m, INFINITE).await, WAIT_OBJECT_0);
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let m = ctx.create_mutex(Some(&SECURITY_ATTRIBUTES::INHERIT), false, None).await;
            let pi = spawn(&ctx, &format!("child.exe {m:?}"), true, 0, &STARTUPINFO::default()).await;
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
            assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_ABANDONED);
            assert_eq!(ctx.wait_for_single_object(m, 0).await, WAIT_OBJECT_0);
            assert_eq!(ctx.release_mutex(m).await, TRUE);
            assert_eq!(ctx.release_mutex(m).await, TRUE);
            0
        });
    });
}

// winsim: a panic in a child process's thread ends the run as Outcome::Failed naming
// that process and thread, with the message.
#[test]
fn panic_in_child_process_is_reported() {
    let r = run_progs(Config::round_robin(), |sim| {
        sim.program("child.exe", |ctx| async move {
            assert_eq!(ctx.get_command_line(), "something else", "child saw its command line");
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let pi = spawn(&ctx, "child.exe x", false, 0, &STARTUPINFO::default()).await;
            wait_exit(&ctx, pi.hProcess).await;
            0
        });
    });
    match &r.outcome {
        Outcome::Failed { pid, message, .. } => {
            assert_ne!(*pid, 0);
            assert!(message.contains("child saw its command line"), "{message}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

// winsim limits: creating more than Config::processes_max processes ends the run with
// Outcome::LimitExceeded (the first process counts); a thread limit reached by
// CreateProcess ends it the same way.
#[test]
fn processes_max_ends_run() {
    let setup = |sim: &mut Sim| {
        // Children stay alive a while, so they count as live threads.
        sim.program("child.exe", |ctx| async move {
            ctx.sleep(10).await;
            0
        });
        sim.program("parent.exe", |ctx| async move {
            for _ in 0..5 {
                let mut pi = PROCESS_INFORMATION::default();
                let _ = ctx
                    .create_process(None, Some("child"), None, None, false, 0, &STARTUPINFO::default(), &mut pi)
                    .await;
            }
            0
        });
    };
    let r = run_progs(Config { processes_max: 3, ..Config::round_robin() }, setup);
    match &r.outcome {
        Outcome::LimitExceeded { limit, detail } => {
            assert_eq!(*limit, LimitKind::Processes);
            assert!(detail.contains("processes_max"), "{detail}");
        }
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    let r = run_progs(Config { threads_max: 2, ..Config::round_robin() }, setup);
    match &r.outcome {
        Outcome::LimitExceeded { limit, .. } => assert_eq!(*limit, LimitKind::Threads),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
    // Within the limits the same program completes.
    let r = run_progs(Config { processes_max: 6, threads_max: 6, ..Config::round_robin() }, setup);
    assert_completed(&r);
}

// CreateProcess flags: DEBUG_PROCESS is not modelled and ends the run as Unsupported
// (tier 2 of the error model, kernel32.rs CreateProcess doc); the console and priority
// flags are accepted.
#[test]
fn create_process_flags() {
    let r = run_progs(Config::round_robin(), |sim| {
        sim.program("child.exe", |_| async { 0 });
        sim.program("parent.exe", |ctx| async move {
            let si = STARTUPINFO::default();
            for flags in [CREATE_NEW_CONSOLE, DETACHED_PROCESS | CREATE_NO_WINDOW, CREATE_NEW_PROCESS_GROUP | 0x20] {
                let pi = spawn(&ctx, "child", false, flags, &si).await;
                assert_eq!(wait_exit(&ctx, pi.hProcess).await, 0);
            }
            let mut pi = PROCESS_INFORMATION::default();
            let _ = ctx.create_process(None, Some("child"), None, None, false, DEBUG_PROCESS, &si, &mut pi).await;
            0
        });
    });
    match &r.outcome {
        Outcome::Unsupported { api, detail } => {
            assert_eq!(api, "CreateProcess");
            assert!(detail.contains("DEBUG_PROCESS"), "{detail}");
        }
        other => panic!("expected Unsupported, got {other:?}\n{}", r.trace_text()),
    }
}

// §8.8 across processes (ExitThread doc): the child's main thread calling ExitThread
// signals its thread handle with its code while the process runs on; the last thread's
// exit ends the process with that thread's code.
#[test]
fn child_main_exit_thread_leaves_process_running() {
    let r = check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let go = handle_args(&ctx)[0];
            let _ = ctx
                .create_thread(
                    None,
                    0,
                    move |t| async move {
                        assert_eq!(t.wait_for_single_object(go, INFINITE).await, WAIT_OBJECT_0);
                        8
                    },
                    0,
                    None,
                )
                .await;
            ctx.exit_thread(4).await;
            1
        });
        sim.program("parent.exe", |ctx| async move {
            let go = ctx.create_event(Some(&SECURITY_ATTRIBUTES::INHERIT), true, false, None).await;
            let pi = spawn(&ctx, &format!("child.exe {go:?}"), true, 0, &STARTUPINFO::default()).await;
            assert_eq!(ctx.wait_for_single_object(pi.hThread, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_thread(pi.hThread, &mut code).await, TRUE);
            assert_eq!(code, 4);
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, 10).await, WAIT_TIMEOUT);
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            assert_eq!(code, STILL_ACTIVE);
            assert_eq!(ctx.set_event(go).await, TRUE);
            assert_eq!(wait_exit(&ctx, pi.hProcess).await, 8);
            0
        });
    });
    assert_eq!(code_of(&r, "child.exe"), 8);
}

// §7.12 (process.c :: test_Handles): CloseHandle((HANDLE)STD_ERROR_HANDLE) closes the
// real std handle and GetStdHandle then returns NULL. kernelbase CloseHandle clears the
// std slot before NtClose [W], so the slot is cleared even when the close fails (a
// protected or dangling handle: FALSE, ERROR_INVALID_HANDLE).
#[test]
fn close_std_handle_pseudo_value() {
    check_progs(|sim| {
        sim.program("parent.exe", |ctx| async move {
            let ev = ctx.create_event(None, true, false, None).await;
            assert_eq!(ctx.set_std_handle(STD_ERROR_HANDLE, ev), TRUE);
            assert_eq!(ctx.get_std_handle(STD_ERROR_HANDLE), ev);
            assert_eq!(ctx.close_handle(HANDLE(STD_ERROR_HANDLE as i32 as isize)).await, TRUE);
            assert_eq!(ctx.get_std_handle(STD_ERROR_HANDLE), HANDLE::NULL);
            assert_eq!(handle_info(&ctx, ev).await, Err(ERROR_INVALID_HANDLE));
            // Nothing there now: FALSE, ERROR_INVALID_HANDLE (NtClose(NULL)).
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.close_handle(HANDLE(-12)).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);

            // A protected std handle: the close fails, the handle stays, the slot is cleared.
            let p = ctx.create_event(None, true, false, None).await;
            assert_eq!(
                ctx.set_handle_information(p, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE).await,
                TRUE
            );
            assert_eq!(ctx.set_std_handle(STD_OUTPUT_HANDLE, p), TRUE);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.close_handle(HANDLE(-11)).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            assert_eq!(handle_info(&ctx, p).await, Ok(HANDLE_FLAG_PROTECT_FROM_CLOSE));
            assert_eq!(ctx.get_std_handle(STD_OUTPUT_HANDLE), HANDLE::NULL);

            // A dangling std value: FALSE, ERROR_INVALID_HANDLE, slot cleared.
            assert_eq!(ctx.set_std_handle(STD_INPUT_HANDLE, HANDLE(0x7000)), TRUE);
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.close_handle(HANDLE(-10)).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
            assert_eq!(ctx.get_std_handle(STD_INPUT_HANDLE), HANDLE::NULL);
            0
        });
    });
}
