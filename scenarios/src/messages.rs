//! Window-message scenarios: SendMessage to a thread that does not pump, the
//! progress-and-join hang, and WM_COPYDATA between two processes (docs/semantics.md §17;
//! the same programs, with their assertions, are teaching cases 2, 6 and 7 in
//! tests/conformance/teaching.rs).

use crate::Scenario;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// Registers a class with `proc` and makes a message-only window of it.
async fn window(ctx: &ThreadCtx, class: &str, proc: WNDPROC) -> HWND {
    if ctx.register_class_ex(&WNDCLASSEX::new(class, proc)).await == 0 {
        return HWND::NULL;
    }
    ctx.create_window_ex(0, class, class, 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await
}

/// Waits for `h` while running the messages that arrive: MsgWaitForMultipleObjects, and
/// PeekMessage until the queue is empty when it returns WAIT_OBJECT_0 + 1 (§17.H1).
async fn wait_pumping(ctx: &ThreadCtx, h: HANDLE) -> u32 {
    loop {
        match ctx.msg_wait_for_multiple_objects(&[h], false, INFINITE, QS_ALLINPUT).await {
            WAIT_OBJECT_0 => return WAIT_OBJECT_0,
            r if r == WAIT_OBJECT_0 + 1 => {
                let mut m = MSG::default();
                while ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await == TRUE {
                    ctx.dispatch_message(&m).await;
                }
            }
            r => return r,
        }
    }
}

/// The receiver owns a window and waits for the sender to finish; the sender's
/// SendMessage to that window returns only when the receiver runs the message.
async fn send_to_waiting_thread(ctx: ThreadCtx, pumping: bool) -> u32 {
    let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
        if msg == WM_APP {
            return w as LRESULT * 2;
        }
        ctx.def_window_proc(hwnd, msg, w, l).await
    });
    let hwnd = window(&ctx, "receiver", proc).await;
    let sender = ctx
        .create_thread(None, 0, move |ctx| async move { ctx.send_message(hwnd, WM_APP, 21, 0).await as u32 }, 0, None)
        .await;
    if pumping {
        wait_pumping(&ctx, sender).await;
    } else {
        ctx.wait_for_single_object(sender, INFINITE).await;
    }
    let mut code = 0;
    let _ = ctx.get_exit_code_thread(sender, &mut code).await;
    code
}

/// SendMessage to a thread that waits in WaitForSingleObject.
pub fn sendmessage_no_pump() -> Scenario {
    Scenario {
        name: "sendmessage-no-pump",
        summary: "SendMessage to a thread blocked in WaitForSingleObject never returns: it runs sent messages only while it looks at its queue",
        expect: "deadlocks on every seed; the report names the SendMessage, the window and what its owner waits on",
        install: |sim| {
            sim.program("send.exe", |ctx| send_to_waiting_thread(ctx, false));
        },
        main: "send.exe",
    }
}

/// The fix: wait with MsgWaitForMultipleObjects and pump.
pub fn sendmessage_msgwait() -> Scenario {
    Scenario {
        name: "sendmessage-msgwait",
        summary: "the fix: wait with MsgWaitForMultipleObjects and run the messages that arrive with PeekMessage",
        expect: "completes on every seed with exit code 42",
        install: |sim| {
            sim.program("send.exe", |ctx| send_to_waiting_thread(ctx, true));
        },
        main: "send.exe",
    }
}

/// A GUI thread with a message loop starts a worker that reports progress with
/// SendMessage (5 units); after progress 2 it closes: WM_CLOSE sets a stop event and
/// joins the worker, with WaitForSingleObject (`pumping` false) or pumping.
async fn progress(ctx: ThreadCtx, pumping: bool) -> u32 {
    let stop = ctx.create_event(None, true, false, None).await;
    let worker: Rc<Cell<HANDLE>> = Rc::default();
    let w2 = worker.clone();
    let proc = wndproc(move |ctx, hwnd, msg, w, l| {
        let worker = w2.clone();
        async move {
            match msg {
                WM_APP => {
                    if w == 2 {
                        ctx.post_message(hwnd, WM_CLOSE, 0, 0).await;
                    }
                    0
                }
                WM_CLOSE => {
                    ctx.set_event(stop).await;
                    if pumping {
                        wait_pumping(&ctx, worker.get()).await;
                    } else {
                        ctx.wait_for_single_object(worker.get(), INFINITE).await;
                    }
                    ctx.def_window_proc(hwnd, msg, w, l).await
                }
                WM_DESTROY => {
                    ctx.post_quit_message(0).await;
                    0
                }
                _ => ctx.def_window_proc(hwnd, msg, w, l).await,
            }
        }
    });
    let hwnd = window(&ctx, "progress", proc).await;
    let h = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                for n in 1..=5 {
                    if ctx.wait_for_single_object(stop, 0).await == WAIT_OBJECT_0 {
                        return 1;
                    }
                    ctx.sleep(10).await;
                    ctx.send_message(hwnd, WM_APP, n, 0).await;
                }
                0
            },
            0,
            None,
        )
        .await;
    worker.set(h);
    let mut m = MSG::default();
    while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
        ctx.dispatch_message(&m).await;
    }
    m.wParam as u32
}

/// The progress-and-join hang.
pub fn sendmessage_join_deadlock() -> Scenario {
    Scenario {
        name: "sendmessage-join-deadlock",
        summary: "a worker reports progress with SendMessage while the GUI thread, closing, waits for it in WaitForSingleObject",
        expect: "deadlocks on some seeds (the worker's SendMessage waits for the GUI thread, which waits for the worker)",
        install: |sim| {
            sim.program("gui.exe", |ctx| progress(ctx, false));
        },
        main: "gui.exe",
    }
}

/// The fix: a join that pumps messages.
pub fn sendmessage_join_pumping() -> Scenario {
    Scenario {
        name: "sendmessage-join-pumping",
        summary: "the fix: join the worker with MsgWaitForMultipleObjects and run its SendMessage meanwhile",
        expect: "completes on every seed with exit code 0",
        install: |sim| {
            sim.program("gui.exe", |ctx| progress(ctx, true));
        },
        main: "gui.exe",
    }
}

/// A server process with a window; a client process finds it with FindWindow and sends
/// WM_COPYDATA; the server answers with WM_COPYDATA to the client's window (wParam).
pub fn copydata_client_server() -> Scenario {
    Scenario {
        name: "copydata-client-server",
        summary: "two processes: the client FindWindow's the server and sends WM_COPYDATA; each side reads its own copy",
        expect: "completes on every seed; the client's exit code is the length of the server's answer (4)",
        install: |sim| {
            sim.program("server.exe", |ctx| async move {
                let proc = wndproc(|ctx, hwnd, msg, w, l| async move {
                    match msg {
                        WM_COPYDATA => {
                            let asked = ctx.copydata(l).map(|c| c.lpData).unwrap_or_default();
                            let answer = if asked == b"ping" { b"pong".to_vec() } else { b"?".to_vec() };
                            let client = HWND(w as isize);
                            ctx.send_message_copydata(
                                client,
                                hwnd.0 as usize,
                                &COPYDATASTRUCT { dwData: 0, lpData: answer },
                            )
                            .await;
                            1
                        }
                        WM_CLOSE => ctx.def_window_proc(hwnd, msg, w, l).await,
                        WM_DESTROY => {
                            ctx.post_quit_message(0).await;
                            0
                        }
                        _ => ctx.def_window_proc(hwnd, msg, w, l).await,
                    }
                });
                let ready = ctx.create_event(None, true, false, Some("server-ready")).await;
                if ctx.register_class_ex(&WNDCLASSEX::new("server", proc)).await == 0 {
                    return 1;
                }
                if ctx.create_window_ex(0, "server", "copydata server", 0, 0, 0, 0, 0, HWND::NULL, 0).await.is_null() {
                    return 3;
                }
                ctx.set_event(ready).await;
                let si = STARTUPINFO::default();
                let mut pi = PROCESS_INFORMATION::default();
                if ctx.create_process(None, Some("client.exe"), None, None, false, 0, &si, &mut pi).await == FALSE {
                    return 2;
                }
                let mut m = MSG::default();
                while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
                    ctx.dispatch_message(&m).await;
                }
                ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
                0
            });
            sim.program("client.exe", |ctx| async move {
                let got: Rc<Cell<u32>> = Rc::default();
                let g = got.clone();
                let proc = wndproc(move |ctx, hwnd, msg, w, l| {
                    let g = g.clone();
                    async move {
                        if msg == WM_COPYDATA {
                            g.set(ctx.copydata(l).map_or(0, |c| c.lpData.len() as u32));
                            return 1;
                        }
                        ctx.def_window_proc(hwnd, msg, w, l).await
                    }
                });
                let me = window(&ctx, "client", proc).await;
                let server = ctx.find_window(Some("server"), Some("copydata server")).await;
                if server.is_null() {
                    return 100;
                }
                let ping = COPYDATASTRUCT { dwData: 1, lpData: b"ping".to_vec() };
                ctx.send_message_copydata(server, me.0 as usize, &ping).await;
                ctx.post_message(server, WM_CLOSE, 0, 0).await;
                got.get()
            });
        },
        main: "server.exe",
    }
}
