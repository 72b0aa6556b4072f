//! The SendMessage deadlock, and its fix (docs/semantics.md §17).
//!
//! A GUI thread owns a window and starts a worker; the worker reports to the window with
//! SendMessage, which returns only once the window's thread runs the message. A thread
//! runs sent messages only while it looks at its queue (GetMessage, PeekMessage,
//! MsgWaitForMultipleObjects...), so a GUI thread that joins the worker with
//! WaitForSingleObject never runs it: each waits for the other. The fix waits with
//! MsgWaitForMultipleObjects and pumps what arrives.
//!
//! Run: `cargo run --example sendmessage_deadlock`
use winsim::prelude::*;

async fn gui_thread(ctx: ThreadCtx, pump_while_waiting: bool) -> u32 {
    let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
        if msg == WM_APP {
            return w as LRESULT * 2; // the worker's answer
        }
        ctx.def_window_proc(hwnd, msg, w, l).await
    });
    ctx.register_class_ex(&WNDCLASSEX::new("progress", proc)).await;
    let hwnd = ctx.create_window_ex(0, "progress", "progress", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    let worker = ctx
        .create_thread(None, 0, move |ctx| async move { ctx.send_message(hwnd, WM_APP, 21, 0).await as u32 }, 0, None)
        .await;
    if pump_while_waiting {
        // WAIT_OBJECT_0 + 1: a message arrived; run it and wait again.
        while ctx.msg_wait_for_multiple_objects(&[worker], false, INFINITE, QS_ALLINPUT).await != WAIT_OBJECT_0 {
            let mut m = MSG::default();
            while ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await == TRUE {
                ctx.dispatch_message(&m).await;
            }
        }
    } else {
        ctx.wait_for_single_object(worker, INFINITE).await; // never runs the sent message
    }
    let mut code = 0;
    assert_eq!(ctx.get_exit_code_thread(worker, &mut code).await, TRUE);
    code
}

fn run(pump_while_waiting: bool) -> RunReport {
    let mut sim = Sim::new(Config::random(3));
    sim.program("gui.exe", move |ctx| gui_thread(ctx, pump_while_waiting));
    sim.run("gui.exe")
}

fn main() {
    println!("== WaitForSingleObject on the worker:");
    let hang = run(false);
    assert!(hang.outcome.deadlock().is_some(), "{}", hang.summary());
    println!("{}", hang.summary());

    println!("\n== MsgWaitForMultipleObjects, pumping:");
    let fixed = run(true);
    let Outcome::Completed { exit_codes } = &fixed.outcome else { panic!("{}", fixed.summary()) };
    assert_eq!(exit_codes.last().map(|e| e.2), Some(42)); // the worker's SendMessage got 21 * 2
    println!("{}", fixed.summary());
}
