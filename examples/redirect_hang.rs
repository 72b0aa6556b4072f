//! The redirected-child hang, the classic of Windows IPC (README, docs/semantics.md §3).
//!
//! A parent redirects a child's stdout through an anonymous pipe (CreatePipe, then
//! CreateProcess with inheritable handles) and reads until `ERROR_BROKEN_PIPE`. End of
//! file comes only once every handle to the pipe's write end is closed; a parent that
//! forgets its own copy waits forever. winsim ends that run with a deadlock report naming
//! the leaked handle and where it came from.
//!
//! Run: `cargo run --example redirect_hang`
use winsim::prelude::*;

/// The parent and its child; `close_own_write_end` is the one line that matters.
fn run(close_own_write_end: bool) -> RunReport {
    let mut sim = Sim::new(Config::random(1));
    sim.program("child.exe", |ctx| async move {
        let out = ctx.get_std_handle(STD_OUTPUT_HANDLE);
        assert_eq!(ctx.write_file(out, b"hello from the child\n", None).await, TRUE);
        0
    });
    sim.program("parent.exe", move |ctx| async move {
        let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
        assert_eq!(ctx.create_pipe(&mut r, &mut w, Some(&SECURITY_ATTRIBUTES::INHERIT), 0).await, TRUE);
        let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdOutput: w, ..Default::default() };
        let mut pi = PROCESS_INFORMATION::default();
        assert_eq!(ctx.create_process(None, Some("child.exe"), None, None, true, 0, &si, &mut pi).await, TRUE);
        if close_own_write_end {
            ctx.close_handle(w).await;
        }
        let (mut buf, mut n, mut got) = ([0u8; 64], 0, Vec::new());
        while ctx.read_file(r, &mut buf, Some(&mut n)).await == TRUE {
            got.extend_from_slice(&buf[..n as usize]);
        }
        // ReadFile's FALSE with ERROR_BROKEN_PIPE is a pipe's end of file.
        assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
        print!("parent read: {}", String::from_utf8_lossy(&got));
        0
    });
    sim.run("parent.exe")
}

fn main() {
    println!("== the parent keeps its copy of the write end:");
    let hang = run(false);
    assert_eq!(hang.outcome.kind(), "deadlock");
    println!("{}", hang.summary());

    println!("\n== the parent closes its copy after CreateProcess:");
    let fixed = run(true);
    assert!(fixed.outcome.is_completed(), "{}", fixed.summary());
    println!("{}", fixed.summary());
}
