//! Message Queuing: MQCreateQueue, MQDeleteQueue, MQPathNameToFormatName, MQOpenQueue,
//! MQCloseQueue, MQGetQueueProperties, MQPurgeQueue, MQSendMessage, MQReceiveMessage,
//! MQCreateCursor, MQCloseCursor and internal transactions. Wine has no Message Queuing,
//! so there is no Wine suite to mirror: each test cites the Microsoft Learn page or the
//! [MS-MQDMPR] section it checks, and the fact number of docs/semantics.md §23, where the
//! URLs are; [inferred] marks what no document states.

use crate::support::*;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

const PATH: &str = r".\private$\orders";

/// MQCreateQueue of `props` that must succeed; returns the format name.
async fn create(ctx: &ThreadCtx, props: MQQUEUEPROPS) -> String {
    let (mut name, mut len) = (String::new(), 256);
    let h = ctx.mq_create_queue(&props, &mut name, &mut len).await;
    assert_eq!(h, MQ_OK, "MQCreateQueue({props:?})");
    assert_eq!(len as usize, name.len() + 1);
    name
}

/// MQOpenQueue that must succeed.
async fn open(ctx: &ThreadCtx, format_name: &str, access: u32, share: u32) -> HANDLE {
    let mut q = HANDLE::NULL;
    let h = ctx.mq_open_queue(format_name, access, share, &mut q).await;
    assert_eq!(h, MQ_OK, "MQOpenQueue({format_name}, {access:#x}, {share})");
    assert!(!q.is_null());
    q
}

/// A plain send that must succeed.
async fn send(ctx: &ThreadCtx, q: HANDLE, props: MQMSGPROPS) {
    assert_eq!(ctx.mq_send_message(q, &props, MQ_NO_TRANSACTION).await, MQ_OK);
}

/// MQReceiveMessage with a 1 KB body buffer: (HRESULT, message).
async fn recv(
    ctx: &ThreadCtx,
    q: HANDLE,
    timeout: u32,
    action: u32,
    cursor: HANDLE,
    tx: HANDLE,
) -> (HRESULT, MqMessage) {
    let mut m = MqMessage::default();
    let h = ctx.mq_receive_message(q, timeout, action, 1024, &mut m, cursor, tx).await;
    (h, m)
}

/// A receive that must succeed at once: the body.
async fn take(ctx: &ThreadCtx, q: HANDLE) -> Vec<u8> {
    let (h, m) = recv(ctx, q, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
    assert_eq!(h, MQ_OK);
    m.body
}

/// A queue created and opened for sending and receiving: (format name, send, receive).
async fn queue(ctx: &ThreadCtx, props: MQQUEUEPROPS) -> (String, HANDLE, HANDLE) {
    let f = create(ctx, props).await;
    let s = open(ctx, &f, MQ_SEND_ACCESS, MQ_DENY_NONE).await;
    let r = open(ctx, &f, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
    (f, s, r)
}

// ----- queues (23.1-23.9) --------------------------------------------------------------

/// §23.1, §23.7 (MQCreateQueue; MQPathNameToFormatName; MQHandleToFormatName: a private
/// format name needs 54 characters): a created private queue has a `PRIVATE=` format name
/// that MQPathNameToFormatName gives back; the call leaves the last error alone.
#[test]
fn create_queue_returns_its_private_format_name() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let f = create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        assert!(f.starts_with("PRIVATE="), "{f}");
        assert_eq!(f.len() + 1, 54);
        let (mut g, mut len) = (String::new(), 54);
        assert_eq!(ctx.mq_path_name_to_format_name(PATH, &mut g, &mut len).await, MQ_OK);
        assert_eq!(g, f);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        0
    });
}

/// §23.2, §23.3 (MQCreateQueue: MQ_ERROR_QUEUE_EXISTS; Queue path names are not case
/// sensitive): a second queue with the same path in another case exists already.
#[test]
fn queue_names_are_case_insensitive_and_unique() {
    check(|ctx| async move {
        create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let (mut n, mut len) = (String::new(), 256);
        let h = ctx.mq_create_queue(&MQQUEUEPROPS::path(r".\PRIVATE$\Orders"), &mut n, &mut len).await;
        assert_eq!(h, MQ_ERROR_QUEUE_EXISTS);
        let (mut g, mut len) = (String::new(), 256);
        assert_eq!(ctx.mq_path_name_to_format_name(r".\Private$\ORDERS", &mut g, &mut len).await, MQ_OK);
        0
    });
}

/// §23.4 (MQCreateQueue: MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL): a short buffer still
/// creates the queue; the length needed comes back.
#[test]
fn create_queue_with_a_short_buffer_creates_it_anyway() {
    check(|ctx| async move {
        let (mut n, mut len) = (String::new(), 10);
        let h = ctx.mq_create_queue(&MQQUEUEPROPS::path(PATH), &mut n, &mut len).await;
        assert_eq!(h, MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL);
        assert!(h.succeeded());
        assert_eq!(len, 54);
        assert!(n.is_empty());
        let (mut g, mut len) = (String::new(), 53);
        assert_eq!(ctx.mq_path_name_to_format_name(PATH, &mut g, &mut len).await, MQ_ERROR_FORMATNAME_BUFFER_TOO_SMALL);
        assert_eq!(len, 54);
        0
    });
}

/// §23.5, §23.6 (MQCreateQueue return values): no path name is
/// MQ_ERROR_INSUFFICIENT_PROPERTIES, a bad one MQ_ERROR_ILLEGAL_QUEUE_PATHNAME, a wrong
/// type or unknown property MQ_ERROR_PROPERTY, a value out of range
/// MQ_ERROR_ILLEGAL_PROPERTY_VALUE [inferred for the last two's exact codes].
#[test]
fn create_queue_rejects_bad_properties() {
    check(|ctx| async move {
        let cases = [
            (MQQUEUEPROPS::default(), MQ_ERROR_INSUFFICIENT_PROPERTIES),
            (MQQUEUEPROPS::path("orders"), MQ_ERROR_ILLEGAL_QUEUE_PATHNAME),
            (MQQUEUEPROPS::path(r".\private$\"), MQ_ERROR_ILLEGAL_QUEUE_PATHNAME),
            (MQQUEUEPROPS::path(r".\public\orders"), MQ_ERROR_ILLEGAL_QUEUE_PATHNAME),
            (MQQUEUEPROPS::path(PATH).with(PROPID_Q_QUOTA, MQPROPVARIANT::UI1(1)), MQ_ERROR_PROPERTY),
            (MQQUEUEPROPS::path(PATH).with(999, MQPROPVARIANT::UI4(1)), MQ_ERROR_PROPERTY),
            (
                MQQUEUEPROPS::path(PATH).with(PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(7)),
                MQ_ERROR_ILLEGAL_PROPERTY_VALUE,
            ),
            (
                MQQUEUEPROPS::path(PATH).with(PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR("x".repeat(125))),
                MQ_ERROR_ILLEGAL_PROPERTY_VALUE,
            ),
        ];
        for (props, want) in cases {
            let (mut n, mut len) = (String::new(), 256);
            assert_eq!(ctx.mq_create_queue(&props, &mut n, &mut len).await, want, "{props:?}");
        }
        // None of them created the queue.
        let (mut g, mut len) = (String::new(), 256);
        assert_eq!(ctx.mq_path_name_to_format_name(PATH, &mut g, &mut len).await, MQ_ERROR_QUEUE_NOT_FOUND);
        0
    });
}

/// §23.9 (MQGetQueueProperties): the properties given at creation come back.
#[test]
fn queue_properties_are_those_created() {
    check(|ctx| async move {
        let props = MQQUEUEPROPS::path(PATH)
            .with(PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR("Orders".into()))
            .with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(64))
            .with(PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(1))
            .transactional();
        let f = create(&ctx, props).await;
        let mut got = MQQUEUEPROPS::default();
        assert_eq!(ctx.mq_get_queue_properties(&f, &mut got).await, MQ_OK);
        let get = |id| got.props.iter().find(|(p, _)| *p == id).map(|(_, v)| v.clone());
        assert_eq!(get(PROPID_Q_LABEL), Some(MQPROPVARIANT::LPWSTR("Orders".into())));
        assert_eq!(get(PROPID_Q_QUOTA), Some(MQPROPVARIANT::UI4(64)));
        assert_eq!(get(PROPID_Q_TRANSACTION), Some(MQPROPVARIANT::UI1(1)));
        assert_eq!(get(PROPID_Q_JOURNAL), Some(MQPROPVARIANT::UI1(1)));
        assert_eq!(get(PROPID_Q_PATHNAME), Some(MQPROPVARIANT::LPWSTR(PATH.into())));
        0
    });
}

/// §23.9 (MQOpenQueue return values): an unknown queue is MQ_ERROR_QUEUE_NOT_FOUND, a
/// path name instead of a format name MQ_ERROR_ILLEGAL_FORMATNAME, a bad access mode
/// MQ_ERROR_UNSUPPORTED_ACCESS_MODE, as is MQ_DENY_RECEIVE_SHARE with send access; the
/// handle stays untouched on failure.
#[test]
fn open_queue_errors() {
    check(|ctx| async move {
        let f = create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let cases = [
            (r"DIRECT=OS:.\private$\nothere", MQ_RECEIVE_ACCESS, MQ_DENY_NONE, MQ_ERROR_QUEUE_NOT_FOUND),
            (PATH, MQ_RECEIVE_ACCESS, MQ_DENY_NONE, MQ_ERROR_ILLEGAL_FORMATNAME),
            ("PRIVATE=zz", MQ_RECEIVE_ACCESS, MQ_DENY_NONE, MQ_ERROR_ILLEGAL_FORMATNAME),
            (f.as_str(), 0x40, MQ_DENY_NONE, MQ_ERROR_UNSUPPORTED_ACCESS_MODE),
            (f.as_str(), MQ_SEND_ACCESS, MQ_DENY_RECEIVE_SHARE, MQ_ERROR_UNSUPPORTED_ACCESS_MODE),
        ];
        for (name, access, share, want) in cases {
            let mut q = HANDLE(SENTINEL as isize);
            assert_eq!(ctx.mq_open_queue(name, access, share, &mut q).await, want, "{name}");
            assert_eq!(q, HANDLE(SENTINEL as isize));
        }
        // The direct format name of the path opens it, in any case.
        let q = open(&ctx, r"DIRECT=OS:.\PRIVATE$\orders", MQ_SEND_ACCESS, MQ_DENY_NONE).await;
        assert_eq!(ctx.mq_close_queue(q).await, MQ_OK);
        assert_eq!(ctx.mq_close_queue(q).await, MQ_ERROR_INVALID_HANDLE);
        0
    });
}

/// §23.11 (MQOpenQueue dwShareMode: MQ_DENY_RECEIVE_SHARE limits receiving to this
/// process; MQ_ERROR_SHARING_VIOLATION): another process cannot open for receiving while
/// the exclusive handle is open, and cannot take exclusivity over a receiver; sending and
/// peeking stay possible [inferred for peeking].
#[test]
fn deny_receive_share_excludes_other_processes() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("child.exe", |ctx| async move {
        let mut q = HANDLE::NULL;
        let f = r"DIRECT=OS:.\private$\orders";
        let a = ctx.mq_open_queue(f, MQ_RECEIVE_ACCESS, MQ_DENY_NONE, &mut q).await;
        let b = ctx.mq_open_queue(f, MQ_RECEIVE_ACCESS, MQ_DENY_RECEIVE_SHARE, &mut q).await;
        let c = ctx.mq_open_queue(f, MQ_SEND_ACCESS, MQ_DENY_NONE, &mut q).await;
        let d = ctx.mq_open_queue(f, MQ_PEEK_ACCESS, MQ_DENY_NONE, &mut q).await;
        u32::from(a == MQ_ERROR_SHARING_VIOLATION)
            | u32::from(b == MQ_ERROR_SHARING_VIOLATION) << 1
            | u32::from(c == MQ_OK) << 2
            | u32::from(d == MQ_OK) << 3
    });
    sim.program("main.exe", |ctx| async move {
        let f = create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let _mine = open(&ctx, &f, MQ_RECEIVE_ACCESS, MQ_DENY_RECEIVE_SHARE).await;
        // The same process may open it again for receiving.
        let _again = open(&ctx, &f, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        let si = STARTUPINFO::default();
        let mut pi = PROCESS_INFORMATION::default();
        assert_eq!(ctx.create_process(None, Some("child.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
        assert_eq!(code, 0b1111);
        0
    });
    let r = sim.run("main.exe");
    assert_completed(&r);
}

/// §23.8 (MQDeleteQueue; MQ_ERROR_QUEUE_DELETED): after the delete the name is free, the
/// old handle reaches no queue, and a receive waiting on it ends.
#[test]
fn delete_queue_ends_waiting_receives() {
    check(|ctx| async move {
        let (f, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let got = Rc::new(Cell::new(MQ_OK));
        let g = got.clone();
        let t = spawn(&ctx, move |ctx| async move {
            g.set(recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0);
            0
        })
        .await;
        ctx.sleep(1).await;
        assert_eq!(ctx.mq_delete_queue(&f).await, MQ_OK);
        join(&ctx, t).await;
        assert_eq!(got.get(), MQ_ERROR_QUEUE_DELETED);
        assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b"x"), HANDLE::NULL).await, MQ_ERROR_QUEUE_DELETED);
        assert_eq!(ctx.mq_delete_queue(&f).await, MQ_ERROR_QUEUE_NOT_FOUND);
        let mut q = HANDLE::NULL;
        assert_eq!(ctx.mq_open_queue(&f, MQ_RECEIVE_ACCESS, 0, &mut q).await, MQ_ERROR_QUEUE_NOT_FOUND);
        // A new queue of the same path is another queue: the old format name stays dead.
        let g = create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        assert_ne!(f, g);
        0
    });
}

/// §23.1 (MQCreateQueue: the queue is registered on the local computer; [MS-MQDMPR]
/// 3.1.1.1 the queue manager holds its queues): a queue outlives the process that made it,
/// with its messages, and the process's handles are closed at its exit.
#[test]
fn queues_outlive_their_processes() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("producer.exe", |ctx| async move {
        let f = create(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let s = open(&ctx, &f, MQ_SEND_ACCESS, MQ_DENY_NONE).await;
        send(&ctx, s, MQMSGPROPS::body(b"left behind")).await;
        0 // exits with the handle open
    });
    sim.program("main.exe", |ctx| async move {
        let si = STARTUPINFO::default();
        let mut pi = PROCESS_INFORMATION::default();
        assert_eq!(ctx.create_process(None, Some("producer.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let r = open(&ctx, r"DIRECT=OS:.\private$\orders", MQ_RECEIVE_ACCESS, MQ_DENY_RECEIVE_SHARE).await;
        assert_eq!(take(&ctx, r).await, b"left behind");
        0
    });
    let r = sim.run("main.exe");
    assert_completed(&r);
}

// ----- sending and receiving (23.10, 23.12) --------------------------------------------

/// §23.10 (PROPID_M_PRIORITY: higher-priority messages are placed ahead of lower ones;
/// MS-MQDMPR 3.1.1.11 positions ordered by priority then arrival): receives take the
/// highest priority first, FIFO within a priority; properties travel with the message.
#[test]
fn priority_order_then_fifo() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        for (body, p) in [(b"a3", 3), (b"b1", 1), (b"c7", 7), (b"d3", 3), (b"e0", 0), (b"f7", 7)] {
            send(
                &ctx,
                s,
                MQMSGPROPS::body(body).priority(p).label(std::str::from_utf8(body).unwrap()).app_specific(u32::from(p)),
            )
            .await;
        }
        let mut order = Vec::new();
        for _ in 0..6 {
            let (h, m) = recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
            assert_eq!(h, MQ_OK);
            assert_eq!(m.label.as_bytes(), m.body.as_slice());
            assert_eq!(m.app_specific, u32::from(m.priority));
            order.push(String::from_utf8(m.body).unwrap());
        }
        assert_eq!(order, ["c7", "f7", "a3", "d3", "b1", "e0"]);
        // Default priority 3, priority 8 is out of range.
        send(&ctx, s, MQMSGPROPS::body(b"x")).await;
        let (_, m) = recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!(m.priority, DEFAULT_M_PRIORITY);
        assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b"y").priority(8), HANDLE::NULL).await, MQ_ERROR_PROPERTY);
        0
    });
}

/// §23.12 (MQReceiveMessage dwTimeout: 0, a time, INFINITE; MQ_ERROR_IO_TIMEOUT): an
/// empty queue times out at once with 0 and after the virtual time given otherwise; a
/// message sent while a receive waits completes it.
#[test]
fn receive_time_outs_are_virtual() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        let t0 = ctx.get_tick_count().await;
        assert_eq!(recv(&ctx, r, 250, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await - t0, 250);
        let t = spawn(&ctx, move |ctx| async move {
            ctx.sleep(40).await;
            send(&ctx, s, MQMSGPROPS::body(b"late")).await;
            0
        })
        .await;
        let (h, m) = recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"late"[..]));
        assert_eq!(ctx.get_tick_count().await - t0, 290);
        join(&ctx, t).await;
        0
    });
}

/// §23.12 (PROPID_M_BODY_SIZE: on MQ_ERROR_BUFFER_OVERFLOW use the size returned to
/// reallocate and call again): the message stays, its size comes back.
#[test]
fn buffer_overflow_leaves_the_message() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(&[7u8; 100])).await;
        let mut m = MqMessage::default();
        let h = ctx.mq_receive_message(r, 0, MQ_ACTION_RECEIVE, 10, &mut m, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!(h, MQ_ERROR_BUFFER_OVERFLOW);
        assert_eq!(m.body_size, 100);
        assert!(m.body.is_empty());
        assert_eq!(take(&ctx, r).await, vec![7u8; 100]);
        0
    });
}

/// §23.9, §23.12 (MQSendMessage: MQ_ERROR_ACCESS_DENIED without MQ_SEND_ACCESS,
/// MQ_ERROR_INVALID_HANDLE; MQReceiveMessage: receiving needs MQ_RECEIVE_ACCESS, peeking
/// MQ_PEEK_ACCESS or receive access): wrong access and bad handles get their HRESULT.
#[test]
fn access_rights_and_bad_handles() {
    check(|ctx| async move {
        let (f, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let p = open(&ctx, &f, MQ_PEEK_ACCESS, MQ_DENY_NONE).await;
        let body = MQMSGPROPS::body(b"x");
        assert_eq!(ctx.mq_send_message(r, &body, HANDLE::NULL).await, MQ_ERROR_ACCESS_DENIED);
        assert_eq!(ctx.mq_send_message(HANDLE(0x1234), &body, HANDLE::NULL).await, MQ_ERROR_INVALID_HANDLE);
        send(&ctx, s, body.clone()).await;
        assert_eq!(
            recv(&ctx, s, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0,
            MQ_ERROR_ACCESS_DENIED
        );
        assert_eq!(recv(&ctx, p, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_ACCESS_DENIED);
        assert_eq!(recv(&ctx, p, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0, MQ_OK);
        // An event handle is not a queue handle.
        let ev = ctx.create_event(None, true, false, None).await;
        assert_eq!(recv(&ctx, ev, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_INVALID_HANDLE);
        assert_eq!(recv(&ctx, r, 0, 77, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_INVALID_PARAMETER);
        // A property with the wrong type indicator.
        let bad = MQMSGPROPS::body(b"x").with(PROPID_M_LABEL, MQPROPVARIANT::UI4(1));
        assert_eq!(ctx.mq_send_message(s, &bad, HANDLE::NULL).await, MQ_ERROR_PROPERTY);
        let bad = MQMSGPROPS::body(b"x").response_queue("nonsense");
        assert_eq!(ctx.mq_send_message(s, &bad, HANDLE::NULL).await, MQ_ERROR_ILLEGAL_FORMATNAME);
        assert_eq!(take(&ctx, r).await, b"x");
        0
    });
}

/// §23.9 (MQCloseQueue; [MS-MQDMPR] 3.1.7.1.6 Close Queue cancels the descriptor's pending
/// reads): closing the queue handle ends a receive waiting on it with
/// MQ_ERROR_OPERATION_CANCELLED.
#[test]
fn close_queue_cancels_pending_receives() {
    check(|ctx| async move {
        let (_, _s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let got = Rc::new(Cell::new(MQ_OK));
        let g = got.clone();
        let t = spawn(&ctx, move |ctx| async move {
            g.set(recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0);
            0
        })
        .await;
        ctx.sleep(1).await;
        assert_eq!(ctx.mq_close_queue(r).await, MQ_OK);
        join(&ctx, t).await;
        assert_eq!(got.get(), MQ_ERROR_OPERATION_CANCELLED);
        0
    });
}

// ----- cursors (23.13-23.17) -----------------------------------------------------------

/// §23.13, §23.14 (Cursor Behavior when Creating a Cursor; when Peeking at Messages): a
/// new cursor is moved to the first message by a peek-current, which does not move it;
/// peek-next moves it on; past the last message peek-next waits at the end and times out.
#[test]
fn cursor_peeks_walk_the_queue() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        for b in [b"1", b"2", b"3"] {
            send(&ctx, s, MQMSGPROPS::body(b)).await;
        }
        let mut c = HANDLE::NULL;
        assert_eq!(ctx.mq_create_cursor(r, &mut c).await, MQ_OK);
        // [inferred] Peek-next on a cursor never moved is illegal.
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.0, MQ_ERROR_ILLEGAL_CURSOR_ACTION);
        for _ in 0..2 {
            let (h, m) = recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await;
            assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"1"[..]));
        }
        for want in [b"2", b"3"] {
            let (h, m) = recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await;
            assert_eq!((h, m.body.as_slice()), (MQ_OK, &want[..]));
        }
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        // At the end now: another peek-next would move past it (§23.16).
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.0, MQ_ERROR_ILLEGAL_CURSOR_ACTION);
        // Nothing was removed.
        assert_eq!(take(&ctx, r).await, b"1");
        assert_eq!(ctx.mq_close_cursor(c).await, MQ_OK);
        assert_eq!(ctx.mq_close_cursor(c).await, MQ_ERROR_INVALID_HANDLE);
        0
    });
}

/// §23.15 (Cursor Behavior when Retrieving Messages): a receive through the cursor moves it
/// to the next message for the next peek-current or receive; a peek-next right after a
/// receive is MQ_ERROR_ILLEGAL_CURSOR_ACTION.
#[test]
fn cursor_receive_moves_to_the_next_message() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        for b in [b"1", b"2", b"3"] {
            send(&ctx, s, MQMSGPROPS::body(b)).await;
        }
        let mut c = HANDLE::NULL;
        assert_eq!(ctx.mq_create_cursor(r, &mut c).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await.1.body, b"1");
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.1.body, b"2");
        let (h, m) = recv(&ctx, r, 0, MQ_ACTION_RECEIVE, c, HANDLE::NULL).await;
        assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"2"[..]));
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.0, MQ_ERROR_ILLEGAL_CURSOR_ACTION);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await.1.body, b"3");
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_RECEIVE, c, HANDLE::NULL).await.1.body, b"3");
        // The last one went: the cursor waits at the end.
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_RECEIVE, c, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(take(&ctx, r).await, b"1");
        0
    });
}

/// §23.16 (Cursor Behavior when Reaching the End of the Queue: a new message moves the
/// waiting cursor to it regardless of where it is placed): a high-priority message that
/// arrives while the cursor waits at the end is the one it reads, although it sits before
/// messages already peeked.
#[test]
fn cursor_at_the_end_goes_to_the_new_message() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(b"low").priority(1)).await;
        let mut c = HANDLE::NULL;
        assert_eq!(ctx.mq_create_cursor(r, &mut c).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await.1.body, b"low");
        let t = spawn(&ctx, move |ctx| async move {
            ctx.sleep(10).await;
            send(&ctx, s, MQMSGPROPS::body(b"high").priority(6)).await;
            0
        })
        .await;
        let (h, m) = recv(&ctx, r, 1000, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await;
        assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"high"[..]));
        join(&ctx, t).await;
        // Without a cursor the front is the high one too.
        assert_eq!(take(&ctx, r).await, b"high");
        0
    });
}

/// §23.17 (Cursor Behavior When Messages are Not Available: MQ_ERROR_MESSAGE_ALREADY_RECEIVED
/// when the message under the cursor was removed): another receiver took it; the cursor
/// does not move, and a peek-next goes on from its place.
#[test]
fn message_removed_under_the_cursor() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(b"1")).await;
        send(&ctx, s, MQMSGPROPS::body(b"2")).await;
        let mut c = HANDLE::NULL;
        assert_eq!(ctx.mq_create_cursor(r, &mut c).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await.1.body, b"1");
        assert_eq!(take(&ctx, r).await, b"1");
        for action in [MQ_ACTION_PEEK_CURRENT, MQ_ACTION_RECEIVE] {
            assert_eq!(recv(&ctx, r, 0, action, c, HANDLE::NULL).await.0, MQ_ERROR_MESSAGE_ALREADY_RECEIVED);
        }
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_NEXT, c, HANDLE::NULL).await.1.body, b"2");
        // A cursor of another queue handle is not this handle's [inferred].
        let r2 = open(&ctx, r"DIRECT=OS:.\private$\orders", MQ_RECEIVE_ACCESS, 0).await;
        assert_eq!(recv(&ctx, r2, 0, MQ_ACTION_PEEK_CURRENT, c, HANDLE::NULL).await.0, MQ_ERROR_INVALID_HANDLE);
        0
    });
}

/// §23.18 (MQPurgeQueue: needs receive access; MQ_ERROR_ACCESS_DENIED otherwise): every
/// message goes.
#[test]
fn purge_queue_removes_every_message() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        for _ in 0..3 {
            send(&ctx, s, MQMSGPROPS::body(b"x")).await;
        }
        assert_eq!(ctx.mq_purge_queue(s).await, MQ_ERROR_ACCESS_DENIED);
        assert_eq!(ctx.mq_purge_queue(r).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        0
    });
}

// ----- expiry, quota, dead letters (23.19) ---------------------------------------------

/// §23.19 (PROPID_M_TIME_TO_BE_RECEIVED: the message is discarded when the timer expires,
/// to the dead-letter queue if PROPID_M_JOURNAL has MQMSG_DEADLETTER; Dead-Letter Queues:
/// the class tells why): at its deadline in virtual time the message leaves; one asking
/// for it lands in the dead-letter queue with class MQMSG_CLASS_NACK_RECEIVE_TIMEOUT.
#[test]
fn time_to_be_received_expires_to_the_dead_letter_queue() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(b"gone").time_to_be_received(2)).await;
        send(&ctx, s, MQMSGPROPS::body(b"kept").time_to_be_received(2).journal(MQMSG_DEADLETTER)).await;
        send(&ctx, s, MQMSGPROPS::body(b"forever")).await;
        ctx.sleep(1999).await;
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.1.body, b"gone");
        ctx.sleep(1).await;
        assert_eq!(take(&ctx, r).await, b"forever");
        let d = open(&ctx, MQ_DEADLETTER_FORMAT_NAME, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        let (h, m) = recv(&ctx, d, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"kept"[..]));
        assert_eq!(m.class, MQMSG_CLASS_NACK_RECEIVE_TIMEOUT);
        assert_eq!(recv(&ctx, d, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        // Only Message Queuing sends to a dead-letter queue [inferred error].
        let mut q = HANDLE::NULL;
        assert_eq!(
            ctx.mq_open_queue(MQ_DEADLETTER_FORMAT_NAME, MQ_SEND_ACCESS, 0, &mut q).await,
            MQ_ERROR_ACCESS_DENIED
        );
        0
    });
}

/// §23.19 (PROPID_Q_QUOTA: when the quota is reached, messages are rejected with a
/// negative acknowledgment; [MS-MQDMPR] 3.1.7.1.9 Enqueue Message: "queue quota would be
/// exceeded"): the send itself succeeds, the message does not enter the queue, and with
/// MQMSG_DEADLETTER it is in the dead-letter queue.
#[test]
fn quota_rejects_messages() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH).with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(1))).await;
        send(&ctx, s, MQMSGPROPS::body(&[1; 600])).await;
        send(&ctx, s, MQMSGPROPS::body(&[2; 600]).journal(MQMSG_DEADLETTER)).await;
        send(&ctx, s, MQMSGPROPS::body(&[3; 400])).await;
        assert_eq!(take(&ctx, r).await, vec![1; 600]);
        assert_eq!(take(&ctx, r).await, vec![3; 400]);
        let d = open(&ctx, MQ_DEADLETTER_FORMAT_NAME, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        let (h, m) = recv(&ctx, d, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!((h, m.class), (MQ_OK, MQMSG_CLASS_NACK_Q_EXCEED_QUOTA));
        0
    });
}

// ----- transactions (23.20-23.24) ------------------------------------------------------

/// §23.20, §23.21 (MQBeginTransaction; Transactions: messages sent in a transaction are
/// delivered when it commits; [MS-MQDMPR] 3.1.4.4 Transaction Commit): sends are invisible
/// until the commit, then arrive in order; a committed receive is gone.
#[test]
fn transactional_sends_are_visible_at_commit() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH).transactional()).await;
        let mut tx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
        for b in [b"1", b"2"] {
            assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b).priority(7), tx).await, MQ_OK);
        }
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(ctx.itransaction_commit(tx).await, MQ_OK);
        assert_eq!(ctx.itransaction_commit(tx).await, XACT_E_NOTRANSACTION);
        let (h, m) = recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await;
        // Transactional messages all have priority 0 (PROPID_M_PRIORITY).
        assert_eq!((h, m.body.as_slice(), m.priority), (MQ_OK, &b"1"[..], 0));
        let mut rx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut rx).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, rx).await.1.body, b"1");
        assert_eq!(ctx.itransaction_commit(rx).await, MQ_OK);
        assert_eq!(take(&ctx, r).await, b"2");
        assert_eq!(ctx.itransaction_release(rx).await, MQ_OK);
        assert_eq!(ctx.itransaction_release(tx).await, MQ_OK);
        0
    });
}

/// §23.22 (Handling Poison Messages: an aborted receive returns the message to the queue;
/// PROPID_M_ABORT_COUNT counts the aborts; [MS-MQDMPR] 3.1.4.5 Transaction Abort: the
/// position becomes available again): the message is back at the front, ahead of later
/// ones, with its abort count; while the transaction holds it, it is invisible.
#[test]
fn aborted_receive_returns_the_message_to_its_place() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH).transactional()).await;
        for b in [&b"poison"[..], &b"next"[..]] {
            assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b), MQ_SINGLE_MESSAGE).await, MQ_OK);
        }
        for round in 1..=3 {
            let mut tx = HANDLE::NULL;
            assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
            let (h, m) = recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, tx).await;
            assert_eq!((h, m.body.as_slice(), m.abort_count), (MQ_OK, &b"poison"[..], round - 1));
            // Held by the transaction: the next reader sees the one after it.
            assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.1.body, b"next");
            assert_eq!(ctx.itransaction_abort(tx).await, MQ_OK);
            assert_eq!(ctx.itransaction_abort(tx).await, XACT_E_NOTRANSACTION);
        }
        let (_, m) = recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!((m.body.as_slice(), m.abort_count), (&b"poison"[..], 3));
        0
    });
}

/// §23.20, §23.22 ([MS-MQDMPR] 3.1.4.5: an aborted transaction's enqueues are removed): a
/// send in an aborted transaction never arrives, and a receiver waiting meanwhile keeps
/// waiting; an abort that returns a message wakes a waiting receiver.
#[test]
fn abort_drops_sends_and_wakes_receivers_with_returned_messages() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH).transactional()).await;
        let mut tx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
        assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b"never"), tx).await, MQ_OK);
        assert_eq!(ctx.itransaction_abort(tx).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 100, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b"back"), MQ_SINGLE_MESSAGE).await, MQ_OK);
        let mut rx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut rx).await, MQ_OK);
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, rx).await.1.body, b"back");
        let got = Rc::new(Cell::new(false));
        let g = got.clone();
        let t = spawn(&ctx, move |ctx| async move {
            let (h, m) = recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
            g.set(h == MQ_OK && m.body == b"back" && m.abort_count == 1);
            0
        })
        .await;
        ctx.sleep(5).await;
        assert!(!got.get());
        assert_eq!(ctx.itransaction_abort(rx).await, MQ_OK);
        join(&ctx, t).await;
        assert!(got.get());
        0
    });
}

/// §23.23 (a transaction not committed when its process ends is aborted [inferred from
/// ITransaction's reference counting and [MS-MQDMPR] 3.1.4.5]): a consumer process that
/// received in a transaction and exits gives the message back.
#[test]
fn a_transaction_left_open_at_exit_aborts() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("consumer.exe", |ctx| async move {
        let r = open(&ctx, r"DIRECT=OS:.\private$\orders", MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        let mut tx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
        let (h, _) = recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, tx).await;
        u32::from(h != MQ_OK) // exits without committing
    });
    sim.program("main.exe", |ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH).transactional()).await;
        assert_eq!(ctx.mq_send_message(s, &MQMSGPROPS::body(b"work"), MQ_SINGLE_MESSAGE).await, MQ_OK);
        let si = STARTUPINFO::default();
        let mut pi = PROCESS_INFORMATION::default();
        assert_eq!(ctx.create_process(None, Some("consumer.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        let (h, m) = recv(&ctx, r, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!((h, m.body.as_slice(), m.abort_count), (MQ_OK, &b"work"[..], 1));
        0
    });
    let r = sim.run("main.exe");
    assert_completed(&r);
    assert!(
        r.trace_text().contains("released while active: aborted: message #1 returned to its place"),
        "{}",
        r.trace_text()
    );
}

/// §23.24 (KB 901281: since MSMQ 3.0 MQSendMessage no longer returns
/// MQ_ERROR_TRANSACTION_USAGE; the mismatched message is rejected with a negative
/// acknowledgment, MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q or _MSG; MSMQTransactionDispenser:
/// reading in a transaction from a nontransactional queue is MQ_ERROR_TRANSACTION_USAGE):
/// mismatched sends succeed and never arrive (dead-lettered when asked); a transactional
/// receive from a nontransactional queue fails.
#[test]
fn transaction_usage_mismatches() {
    check(|ctx| async move {
        let (_, ts, tr) = queue(&ctx, MQQUEUEPROPS::path(r".\private$\tx").transactional()).await;
        let (_, ns, nr) = queue(&ctx, MQQUEUEPROPS::path(r".\private$\plain")).await;
        let m = MQMSGPROPS::body(b"x").journal(MQMSG_DEADLETTER);
        assert_eq!(ctx.mq_send_message(ts, &m, HANDLE::NULL).await, MQ_OK);
        assert_eq!(ctx.mq_send_message(ns, &m, MQ_SINGLE_MESSAGE).await, MQ_OK);
        let mut tx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
        assert_eq!(ctx.mq_send_message(ns, &MQMSGPROPS::body(b"y"), tx).await, MQ_OK);
        assert_eq!(ctx.itransaction_commit(tx).await, MQ_OK);
        for q in [tr, nr] {
            assert_eq!(
                recv(&ctx, q, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0,
                MQ_ERROR_IO_TIMEOUT
            );
        }
        // The rejected ones that asked for it are in the dead-letter queues, with the class
        // saying why: the nontransactional one in DEADLETTER, the transactional in DEADXACT.
        let d = open(&ctx, MQ_DEADLETTER_FORMAT_NAME, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        assert_eq!(
            recv(&ctx, d, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.1.class,
            MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q
        );
        let x = open(&ctx, MQ_DEADXACT_FORMAT_NAME, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        assert_eq!(
            recv(&ctx, x, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.1.class,
            MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_MSG
        );
        assert_eq!(recv(&ctx, x, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        // A transactional receive from a nontransactional queue fails.
        let mut rx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut rx).await, MQ_OK);
        send(&ctx, ns, MQMSGPROPS::body(b"z")).await;
        assert_eq!(recv(&ctx, nr, 0, MQ_ACTION_RECEIVE, HANDLE::NULL, rx).await.0, MQ_ERROR_TRANSACTION_USAGE);
        // A nontransactional receive from a transactional queue is allowed.
        assert_eq!(ctx.mq_send_message(ts, &MQMSGPROPS::body(b"t"), MQ_SINGLE_MESSAGE).await, MQ_OK);
        assert_eq!(take(&ctx, tr).await, b"t");
        // An ended transaction and a handle that is no transaction [inferred codes].
        assert_eq!(ctx.itransaction_commit(rx).await, MQ_OK);
        assert_eq!(ctx.mq_send_message(ts, &m, rx).await, MQ_ERROR_TRANSACTION_SEQUENCE);
        assert_eq!(ctx.mq_send_message(ts, &m, ns).await, MQ_ERROR_INVALID_PARAMETER);
        0
    });
}

// ----- reports (23.25) -----------------------------------------------------------------

/// §23.25: a receive waiting forever on an empty queue is a deadlock whose report names
/// the queue and the send handles that could end it.
#[test]
fn deadlock_report_names_the_queue_and_its_senders() {
    let r = run_main(|ctx| async move {
        let (_, _s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let _ = recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
        0
    });
    let Outcome::Deadlock(d) = &r.outcome else { panic!("{}", r.summary()) };
    let text = d.render();
    assert!(text.contains(r"waits for a message in queue .\private$\orders (0 available"), "{text}");
    assert!(text.contains("send handles open:"), "{text}");
    assert!(text.contains("MQReceiveMessage"), "{text}");
}

// ----- asynchronous receive (23.27-23.33) ----------------------------------------------

/// §23.27 (MQReceiveMessage, lpOverlapped; Asynchronous Reading: "when a suitable message
/// arrives ... the event object is set to the signaled state"; MQGetOverlappedResult reads
/// the code from Internal): an overlapped receive on an empty queue returns
/// MQ_INFORMATION_OPERATION_PENDING and the caller goes on; a message sent later
/// completes it: the event is set, Internal holds MQ_OK, the properties are written and
/// the message has left the queue.
#[test]
fn overlapped_receive_pends_then_completes_with_the_event() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, true, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        // The call reset the event; the operation is pending.
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        assert!(!ov.has_overlapped_io_completed());
        assert_eq!(ov.internal(), STATUS_PENDING);
        send(&ctx, s, MQMSGPROPS::body(b"async").label("a")).await;
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_OK);
        assert_eq!(ov.internal(), 0);
        let m = buf.get();
        assert_eq!((m.body.as_slice(), m.label.as_str()), (&b"async"[..], "a"));
        // Received: nothing is left.
        assert_eq!(recv(&ctx, r, 0, MQ_ACTION_PEEK_CURRENT, HANDLE::NULL, HANDLE::NULL).await.0, MQ_ERROR_IO_TIMEOUT);
        0
    });
}

/// §23.27 [inferred: an I/O that completes at once still reports its completion]: a
/// message already there is read at once: MQ_OK, the event set, the properties written.
/// MQ_ERROR_BUFFER_OVERFLOW at once returns the size and leaves the message.
#[test]
fn overlapped_receive_of_a_waiting_message_completes_at_once() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(b"ready")).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(
                r,
                INFINITE,
                MQ_ACTION_PEEK_CURRENT,
                2,
                &buf,
                &ov,
                HANDLE::NULL,
                HANDLE::NULL,
            )
            .await;
        assert_eq!(h, MQ_ERROR_BUFFER_OVERFLOW);
        assert_eq!(buf.get().body_size, 5);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_OK);
        assert_eq!(buf.get().body, b"ready");
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_OK);
        0
    });
}

/// §23.28 (MQGetOverlappedResult: MQ_ERROR_IO_TIMEOUT "no message was received within the
/// time-out period specified by dwTimeout"; Asynchronous Reading: the event is set "when
/// ... a time-out occurs"): the time-out is delivered asynchronously at its virtual time;
/// dwTimeout 0 on an empty queue fails at once; a transaction is refused
/// (lpOverlapped "set to NULL for ... transactions").
#[test]
fn overlapped_receive_times_out_asynchronously() {
    check(|ctx| async move {
        let (_, _s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let t0 = ctx.get_tick_count().await;
        let h = ctx
            .mq_receive_message_overlapped(r, 100, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
        assert_eq!(ctx.get_tick_count().await - t0, 100);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(ov.internal(), MQ_ERROR_IO_TIMEOUT.0 as u32);
        // dwTimeout 0: at once, the event untouched after its reset.
        let h =
            ctx.mq_receive_message_overlapped(r, 0, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!(h, MQ_ERROR_IO_TIMEOUT);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_TIMEOUT);
        let mut tx = HANDLE::NULL;
        assert_eq!(ctx.mq_begin_transaction(&mut tx).await, MQ_OK);
        let h = ctx.mq_receive_message_overlapped(r, 0, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, tx).await;
        assert_eq!(h, MQ_ERROR_TRANSACTION_USAGE);
        // Bad handles are refused at once.
        let h = ctx
            .mq_receive_message_overlapped(
                HANDLE(0x7777),
                0,
                MQ_ACTION_RECEIVE,
                64,
                &buf,
                &ov,
                HANDLE::NULL,
                HANDLE::NULL,
            )
            .await;
        assert_eq!(h, MQ_ERROR_INVALID_HANDLE);
        0
    });
}

/// §23.29 (Asynchronous Reading: "a queue handle can be associated with the port";
/// MQGetOverlappedResult after "a completion port notification"; the mqport sample
/// associates the queue handle with CreateIoCompletionPort): a completed receive queues a
/// packet with the association's key and the OVERLAPPED; a timed-out one a failing packet
/// whose Internal holds MQ_ERROR_IO_TIMEOUT; a second association is refused.
#[test]
fn overlapped_receive_completes_to_the_completion_port() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let port = ctx.create_io_completion_port(r, HANDLE::NULL, 7, 0).await;
        assert!(!port.is_null());
        ctx.set_last_error(0xdead_beefu32);
        assert_eq!(ctx.create_io_completion_port(r, port, 8, 0).await, HANDLE::NULL);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        let t = spawn(&ctx, move |ctx| async move {
            send(&ctx, s, MQMSGPROPS::body(b"via port")).await;
            0
        })
        .await;
        let (mut n, mut key, mut got) = (99, 0, None);
        assert_eq!(ctx.get_queued_completion_status(port, &mut n, &mut key, &mut got, INFINITE).await, TRUE);
        assert_eq!((n, key), (0, 7));
        let got = got.expect("the receive's OVERLAPPED");
        assert!(got.same(&ov));
        assert_eq!(ctx.mq_get_overlapped_result(&got).await, MQ_OK);
        assert_eq!(buf.get().body, b"via port");
        join(&ctx, t).await;
        // A time-out: the packet fails the call; the HRESULT is in Internal.
        let h =
            ctx.mq_receive_message_overlapped(r, 5, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL).await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        let mut got = None;
        assert_eq!(ctx.get_queued_completion_status(port, &mut n, &mut key, &mut got, INFINITE).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_MR_MID_NOT_FOUND);
        assert!(got.is_some_and(|o| o.same(&ov)));
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_ERROR_IO_TIMEOUT);
        0
    });
}

/// §23.30 (Asynchronous Reading: "Message Queuing reads the message by calling the callback
/// function ... if a message is immediately available, when a message arrives, or when the
/// time for reading a message expires"): the call returns MQ_INFORMATION_OPERATION_PENDING
/// and the callback runs on another thread than the caller's, with MQ_OK and the message,
/// or with MQ_ERROR_IO_TIMEOUT.
#[test]
fn receive_callback_runs_on_a_thread_of_message_queuing() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        send(&ctx, s, MQMSGPROPS::body(b"now")).await;
        type Seen = Rc<std::cell::RefCell<Vec<(u32, HRESULT, Vec<u8>)>>>;
        let seen: Seen = Rc::default();
        let done = ctx.create_event(None, false, false, None).await;
        let callback = |seen: Seen, done: HANDLE| -> MqReceiveCallback {
            Rc::new(move |ctx: ThreadCtx, hr: HRESULT, _q, _timeout, _action, m: MqMessage, _cursor| {
                let seen = seen.clone();
                Box::pin(async move {
                    seen.borrow_mut().push((ctx.get_current_thread_id(), hr, m.body));
                    let _ = ctx.set_event(done).await;
                })
            })
        };
        let h = ctx
            .mq_receive_message_callback(
                r,
                INFINITE,
                MQ_ACTION_RECEIVE,
                64,
                callback(seen.clone(), done),
                HANDLE::NULL,
                HANDLE::NULL,
            )
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        assert_eq!(ctx.wait_for_single_object(done, INFINITE).await, WAIT_OBJECT_0);
        let h = ctx
            .mq_receive_message_callback(
                r,
                30,
                MQ_ACTION_RECEIVE,
                64,
                callback(seen.clone(), done),
                HANDLE::NULL,
                HANDLE::NULL,
            )
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        assert_eq!(ctx.wait_for_single_object(done, INFINITE).await, WAIT_OBJECT_0);
        let me = ctx.get_current_thread_id();
        let seen = seen.borrow().clone();
        assert_eq!(seen.len(), 2);
        assert!(seen.iter().all(|(tid, ..)| *tid != me), "{seen:?}");
        assert_eq!((seen[0].1, seen[0].2.as_slice()), (MQ_OK, &b"now"[..]));
        assert_eq!(seen[1].1, MQ_ERROR_IO_TIMEOUT);
        // Refused arguments are returned; no callback.
        let h = ctx
            .mq_receive_message_callback(
                s,
                0,
                MQ_ACTION_RECEIVE,
                64,
                callback(Rc::default(), done),
                HANDLE::NULL,
                HANDLE::NULL,
            )
            .await;
        assert_eq!(h, MQ_ERROR_ACCESS_DENIED);
        0
    });
}

/// §23.31 (MQCloseQueue; mq.h: MQ_ERROR_OPERATION_CANCELLED "the operation was cancelled
/// before it could be completed"): closing the queue handle completes its pending
/// asynchronous receives with MQ_ERROR_OPERATION_CANCELLED (event set); a message sent
/// afterwards stays in the queue.
#[test]
fn close_queue_cancels_asynchronous_receives() {
    check(|ctx| async move {
        let (f, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        assert_eq!(ctx.mq_close_queue(r).await, MQ_OK);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_ERROR_OPERATION_CANCELLED);
        send(&ctx, s, MQMSGPROPS::body(b"kept")).await;
        let r = open(&ctx, &f, MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        assert_eq!(take(&ctx, r).await, b"kept");
        0
    });
}

/// §23.27 [inferred: one queue of pending reads, MS-MQDMPR 3.1.7.1 waits in arrival order]:
/// synchronous and asynchronous receives waiting on a queue are served in the order they
/// began.
#[test]
fn waiting_receives_are_served_in_order_whatever_their_form() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ov = Overlapped::new(ctx.create_event(None, true, false, None).await);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        let t = spawn(&ctx, move |ctx| async move {
            let (h, m) = recv(&ctx, r, INFINITE, MQ_ACTION_RECEIVE, HANDLE::NULL, HANDLE::NULL).await;
            assert_eq!((h, m.body.as_slice()), (MQ_OK, &b"second"[..]));
            0
        })
        .await;
        ctx.sleep(5).await;
        send(&ctx, s, MQMSGPROPS::body(b"first")).await;
        send(&ctx, s, MQMSGPROPS::body(b"second")).await;
        join(&ctx, t).await;
        assert_eq!(buf.get().body, b"first");
        0
    });
}

/// §23.31, §9 (process exit cancels the process's pending I/O): a receiver process that
/// exits with an asynchronous receive pending takes nothing; the message sent afterwards is
/// in the queue.
#[test]
fn process_exit_cancels_asynchronous_receives_and_loses_nothing() {
    let mut sim = Sim::new(Config::round_robin());
    sim.program("receiver.exe", |ctx| async move {
        let r = open(&ctx, r"DIRECT=OS:.\private$\orders", MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        let ov = Overlapped::new(HANDLE::NULL);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        0 // exits with the receive pending
    });
    sim.program("main.exe", |ctx| async move {
        let (_, s, _r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let si = STARTUPINFO::default();
        let mut pi = PROCESS_INFORMATION::default();
        assert_eq!(ctx.create_process(None, Some("receiver.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        send(&ctx, s, MQMSGPROPS::body(b"safe")).await;
        let r = open(&ctx, r"DIRECT=OS:.\private$\orders", MQ_RECEIVE_ACCESS, MQ_DENY_NONE).await;
        assert_eq!(take(&ctx, r).await, b"safe");
        0
    });
    let r = sim.run("main.exe");
    assert_completed(&r);
}

/// §23.32 (winsim's report): a thread that waits for the event of an asynchronous receive
/// nobody can complete deadlocks; the report says whose event it waits on and lists the
/// receive among the pending asynchronous operations, naming its queue and its senders.
#[test]
fn deadlock_report_names_the_queue_of_a_pending_asynchronous_receive() {
    let r = run_main(|ctx| async move {
        let (_, _s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        let _ = ctx.wait_for_single_object(ev, INFINITE).await;
        0
    });
    let Outcome::Deadlock(d) = &r.outcome else { panic!("{}", r.summary()) };
    let text = d.render();
    assert!(text.contains("pending asynchronous I/O"), "{text}");
    assert!(text.contains("it is the OVERLAPPED event of the pending MQReceiveMessage (operation #1)"), "{text}");
    assert!(text.contains(r"waits for a message in queue .\private$\orders (0 available"), "{text}");
    assert!(text.contains("MQReceiveMessage"), "{text}");
}

/// §23.8, §23.31 (mq.h: MQ_ERROR_QUEUE_DELETED "the queue was deleted; messages cannot be
/// received any more using this queue handle"): deleting the queue ends a pending
/// asynchronous receive with MQ_ERROR_QUEUE_DELETED in its OVERLAPPED, the event set.
#[test]
fn delete_queue_ends_asynchronous_receives() {
    check(|ctx| async move {
        let (f, _s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let h = ctx
            .mq_receive_message_overlapped(r, INFINITE, MQ_ACTION_RECEIVE, 64, &buf, &ov, HANDLE::NULL, HANDLE::NULL)
            .await;
        assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
        assert_eq!(ctx.mq_delete_queue(&f).await, MQ_OK);
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_ERROR_QUEUE_DELETED);
        0
    });
}

/// §23.31 [inferred: the queue handle, not the thread, owns the receive]: the issuing
/// thread's exit leaves its asynchronous receive pending; a message sent afterwards
/// completes it.
#[test]
fn issuing_thread_exit_leaves_the_asynchronous_receive_pending() {
    check(|ctx| async move {
        let (_, s, r) = queue(&ctx, MQQUEUEPROPS::path(PATH)).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let ov = Overlapped::new(ev);
        let buf = MqMessageBuf::new();
        let (ov2, buf2) = (ov.clone(), buf.clone());
        let t = spawn(&ctx, move |ctx| async move {
            let h = ctx
                .mq_receive_message_overlapped(
                    r,
                    INFINITE,
                    MQ_ACTION_RECEIVE,
                    64,
                    &buf2,
                    &ov2,
                    HANDLE::NULL,
                    HANDLE::NULL,
                )
                .await;
            assert_eq!(h, MQ_INFORMATION_OPERATION_PENDING);
            0
        })
        .await;
        join(&ctx, t).await;
        assert!(!ov.has_overlapped_io_completed());
        send(&ctx, s, MQMSGPROPS::body(b"later")).await;
        assert_eq!(ctx.wait_for_single_object(ev, 0).await, WAIT_OBJECT_0);
        assert_eq!(ctx.mq_get_overlapped_result(&ov).await, MQ_OK);
        assert_eq!(buf.get().body, b"later");
        0
    });
}
