//! Window messages: per-thread queues, PostMessage, SendMessage, GetMessage and friends
//! (docs/semantics.md §17; Wine dlls/user32/tests/msg.c, which runs on Windows).

use crate::support::*;
use sim_core::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// A class whose procedure records (message, wParam) and returns wParam + 1.
async fn recording_window(ctx: &ThreadCtx, log: Rc<RefCell<Vec<(u32, usize)>>>) -> HWND {
    let proc = wndproc(move |ctx, hwnd, msg, w, l| {
        let log = log.clone();
        async move {
            match msg {
                WM_NCCREATE | WM_CREATE | WM_DESTROY | WM_NCDESTROY => ctx.def_window_proc(hwnd, msg, w, l).await,
                _ => {
                    log.borrow_mut().push((msg, w));
                    w as LRESULT + 1
                }
            }
        }
    });
    let name = format!("rec{}", ctx.get_current_thread_id());
    assert_ne!(ctx.register_class_ex(&WNDCLASSEX::new(&name, proc)).await, 0);
    let hwnd = ctx.create_window_ex(0, &name, "recorder", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    assert!(!hwnd.is_null(), "CreateWindowEx failed: {}", ctx.get_last_error());
    hwnd
}

/// §17.A6, C1: PostMessage(NULL) posts a thread message to the caller; GetMessage returns
/// it (nonzero) with hwnd NULL.
#[test]
fn post_null_hwnd_is_a_thread_message() {
    check(|ctx| async move {
        assert_eq!(ctx.post_message(HWND::NULL, WM_USER + 2, 0x5678, 0x1234).await, TRUE);
        let mut m = MSG::default();
        assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 1);
        assert_eq!((m.hwnd, m.message, m.wParam, m.lParam), (HWND::NULL, WM_USER + 2, 0x5678, 0x1234));
        0
    });
}

/// §17.E1: the quit flag comes after every posted message, even one posted later; a PM_NOREMOVE
/// peek sees it without consuming it.
#[test]
fn quit_comes_after_later_posted_messages() {
    check(|ctx| async move {
        ctx.post_quit_message(0xbeef).await;
        let mut m = MSG::default();
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_NOREMOVE).await, TRUE);
        assert_eq!((m.message, m.wParam), (WM_QUIT, 0xbeef));
        assert_eq!(ctx.post_thread_message(ctx.get_current_thread_id(), WM_USER, 0, 0).await, TRUE);
        assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 1);
        assert_eq!(m.message, WM_USER);
        assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 0);
        assert_eq!((m.message, m.wParam), (WM_QUIT, 0xbeef));
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await, FALSE);
        0
    });
}

/// §17.I2, C6: a cross-thread SendMessage blocks until the receiver's GetMessage runs it;
/// GetMessage runs the sent message first and then returns the posted one.
#[test]
fn cross_thread_send_runs_inside_getmessage() {
    check(|ctx| async move {
        let log = Rc::new(RefCell::new(Vec::new()));
        let hwnd = recording_window(&ctx, log.clone()).await;
        let sender = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.post_message(hwnd, WM_USER, 0, 0).await, TRUE);
            assert_eq!(ctx.send_message(hwnd, WM_USER + 2, 41, 0).await, 42);
            0
        })
        .await;
        // Let the sender post and block in its SendMessage before looking at the queue.
        ctx.sleep(10).await;
        let mut m = MSG::default();
        assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 1);
        assert_eq!(m.message, WM_USER);
        assert_eq!(join(&ctx, sender).await, 0);
        assert_eq!(*log.borrow(), vec![(WM_USER + 2, 41)]);
        0
    });
}

/// §17.I3: re-entrancy. A sends to B, whose procedure sends back to A: A runs it inside its
/// own SendMessage, and both complete.
#[test]
fn sends_nest_across_two_threads() {
    check(|ctx| async move {
        let a_log = Rc::new(RefCell::new(Vec::new()));
        let a = recording_window(&ctx, a_log.clone()).await;
        let ready = ctx.create_event(None, true, false, None).await;
        let b_hwnd = Rc::new(RefCell::new(HWND::NULL));
        let slot = b_hwnd.clone();
        let b = spawn(&ctx, move |ctx| async move {
            let proc = wndproc(move |ctx, hwnd, msg, w, l| async move {
                if msg == WM_USER {
                    // Back to A while A waits in its SendMessage to us.
                    return ctx.send_message(a, WM_USER + 1, w * 10, 0).await;
                }
                ctx.def_window_proc(hwnd, msg, w, l).await
            });
            assert_ne!(ctx.register_class_ex(&WNDCLASSEX::new("b", proc)).await, 0);
            let hwnd = ctx.create_window_ex(0, "b", "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
            *slot.borrow_mut() = hwnd;
            ctx.set_event(ready).await;
            let mut m = MSG::default();
            while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {}
            0
        })
        .await;
        ctx.wait_for_single_object(ready, INFINITE).await;
        let bw = *b_hwnd.borrow();
        assert_eq!(ctx.send_message(bw, WM_USER, 3, 0).await, 31);
        assert_eq!(*a_log.borrow(), vec![(WM_USER + 1, 30)]);
        assert_eq!(ctx.post_message(bw, WM_QUIT, 0, 0).await, TRUE);
        assert_eq!(join(&ctx, b).await, 0);
        0
    });
}

/// §17.I5: SendMessage to a thread that never looks at its queue deadlocks; the report
/// names the SendMessage, the window and what the receiver waits on.
#[test]
fn send_to_a_thread_that_does_not_pump_deadlocks() {
    let r = run_main(|ctx| async move {
        let log = Rc::new(RefCell::new(Vec::new()));
        let hwnd = recording_window(&ctx, log).await;
        let _t = spawn(&ctx, move |ctx| async move { ctx.send_message(hwnd, WM_USER, 0, 0).await as u32 }).await;
        let never = ctx.create_event(None, true, false, None).await;
        ctx.wait_for_single_object(never, INFINITE).await;
        0
    });
    let Outcome::Deadlock(report) = &r.outcome else { panic!("expected a deadlock: {}", r.summary()) };
    let text = report.render();
    assert!(text.contains("SendMessage(WM_USER)"), "{text}");
    assert!(text.contains("does not look at its message queue"), "{text}");
    assert!(text.contains("class \"rec"), "{text}");
}

/// §17.J2: a SendMessageTimeout that times out before the receiver takes it fails with
/// ERROR_TIMEOUT and is never delivered.
#[test]
fn send_timeout_before_pickup_is_never_delivered() {
    check(|ctx| async move {
        let log = Rc::new(RefCell::new(Vec::new()));
        let hwnd = recording_window(&ctx, log.clone()).await;
        let t = spawn(&ctx, move |ctx| async move {
            let mut res = 7;
            ctx.set_last_error(SENTINEL);
            let ok = ctx.send_message_timeout(hwnd, WM_USER, 0, 0, SMTO_NORMAL, 10, Some(&mut res)).await;
            assert_eq!((ok, ctx.get_last_error()), (0, ERROR_TIMEOUT));
            0
        })
        .await;
        assert_eq!(join(&ctx, t).await, 0);
        let mut m = MSG::default();
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await, FALSE);
        assert!(log.borrow().is_empty());
        0
    });
}

/// §17.A4: the 10,001st posted message fails with ERROR_NOT_ENOUGH_QUOTA.
#[test]
fn posted_message_quota() {
    check(|ctx| async move {
        let me = ctx.get_current_thread_id();
        for i in 0..10_000 {
            assert_eq!(ctx.post_thread_message(me, WM_USER, i, 0).await, TRUE);
        }
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.post_thread_message(me, WM_USER, 0, 0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_NOT_ENOUGH_QUOTA);
        0
    });
}

/// §17.N3, F2: a thread timer's WM_TIMER comes from virtual time and DispatchMessage calls
/// its TIMERPROC.
#[test]
fn thread_timer_calls_its_timerproc() {
    check(|ctx| async move {
        let fired = Rc::new(RefCell::new(0));
        let f = fired.clone();
        let id = ctx
            .set_timer(
                HWND::NULL,
                0,
                100,
                Some(timerproc(move |_ctx, _h, _m, _id, _t| {
                    let f = f.clone();
                    async move { *f.borrow_mut() += 1 }
                })),
            )
            .await;
        assert_ne!(id, 0);
        let mut m = MSG::default();
        for _ in 0..3 {
            assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 1);
            assert_eq!((m.message, m.wParam), (WM_TIMER, id));
            ctx.dispatch_message(&m).await;
        }
        assert_eq!(*fired.borrow(), 3);
        assert_eq!(ctx.kill_timer(HWND::NULL, id).await, TRUE);
        0
    });
}
