//! Message Queuing scenarios (docs/semantics.md §23): issue 15's teaching cases.

use crate::Scenario;
use sim_core::prelude::*;

/// The request queue of the request/response scenarios.
pub const REQUESTS: &str = r".\private$\requests";
/// The client's response queue.
pub const REPLIES: &str = r".\private$\replies";
/// The work queue of the poison-message scenarios (transactional).
pub const WORK: &str = r".\private$\work";
/// Where the fixed consumer moves a poison message.
pub const POISON: &str = r".\private$\poison";
/// The queue of the starvation scenario.
pub const JOBS: &str = r".\private$\jobs";
/// How many aborts the fixed consumer allows a message before moving it aside.
pub const MAX_ABORTS: u32 = 3;

fn direct(path: &str) -> String {
    format!("DIRECT=OS:{path}")
}

/// Creates `path` (transactional or not) if it does not exist; MQ_OK or
/// MQ_ERROR_QUEUE_EXISTS both do.
async fn ensure_queue(ctx: &ThreadCtx, path: &str, transactional: bool) -> bool {
    let mut props = MQQUEUEPROPS::path(path);
    if transactional {
        props = props.transactional();
    }
    let (mut name, mut len) = (String::new(), 256);
    let h = ctx.mq_create_queue(&props, &mut name, &mut len).await;
    h == MQ_OK || h == MQ_ERROR_QUEUE_EXISTS
}

async fn open(ctx: &ThreadCtx, path: &str, access: u32) -> Option<HANDLE> {
    let mut q = HANDLE::NULL;
    (ctx.mq_open_queue(&direct(path), access, MQ_DENY_NONE, &mut q).await == MQ_OK).then_some(q)
}

async fn start(ctx: &ThreadCtx, cmd: &str) -> Option<HANDLE> {
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    if ctx.create_process(None, Some(cmd), None, None, false, 0, &si, &mut pi).await == FALSE {
        return None;
    }
    let _ = ctx.close_handle(pi.hThread).await;
    Some(pi.hProcess)
}

// ----- case 1: request/response matched by correlation id ------------------------------

/// The server: two worker threads each answer one request, copying its correlation id
/// into the reply sent to the request's response queue.
async fn rr_server(ctx: ThreadCtx) -> u32 {
    let mut workers = Vec::new();
    for _ in 0..2 {
        let t = ctx
            .create_thread(
                None,
                0,
                |ctx: ThreadCtx| async move {
                    let Some(rq) = open(&ctx, REQUESTS, MQ_RECEIVE_ACCESS).await else { return 1 };
                    let mut m = MqMessage::default();
                    if ctx
                        .mq_receive_message(rq, INFINITE, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, HANDLE::NULL)
                        .await
                        != MQ_OK
                    {
                        return 2;
                    }
                    let mut q = HANDLE::NULL;
                    if ctx.mq_open_queue(&m.response_queue, MQ_SEND_ACCESS, MQ_DENY_NONE, &mut q).await != MQ_OK {
                        return 3;
                    }
                    let mut body = b"reply to ".to_vec();
                    body.extend_from_slice(&m.body);
                    let reply = MQMSGPROPS::body(&body).correlation_id(&m.correlation_id);
                    u32::from(ctx.mq_send_message(q, &reply, HANDLE::NULL).await != MQ_OK) * 4
                },
                0,
                None,
            )
            .await;
        workers.push(t);
    }
    ctx.wait_for_multiple_objects(&workers, true, INFINITE).await;
    0
}

/// A client thread's request: its body and its correlation id.
fn request(tag: u8) -> (Vec<u8>, Vec<u8>) {
    (vec![tag], vec![tag; 20])
}

/// Waits for the reply whose correlation id is `corr`: by arrival order (`fixed` false:
/// the first message of the response queue, whatever it answers) or by walking the queue
/// with a cursor and receiving the matching message (`fixed`). Returns the reply's body
/// and whether its correlation id was `corr`.
async fn await_reply(ctx: &ThreadCtx, q: HANDLE, corr: &[u8], fixed: bool) -> Option<(Vec<u8>, bool)> {
    let mut m = MqMessage::default();
    if !fixed {
        let h = ctx.mq_receive_message(q, INFINITE, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, HANDLE::NULL).await;
        return (h == MQ_OK).then(|| (m.body.clone(), m.correlation_id == corr));
    }
    let mut c = HANDLE::NULL;
    if ctx.mq_create_cursor(q, &mut c).await != MQ_OK {
        return None;
    }
    let mut action = MQ_ACTION_PEEK_CURRENT;
    for _ in 0..64 {
        let h = ctx.mq_receive_message(q, INFINITE, action, 64, &mut m, c, HANDLE::NULL).await;
        action = match h {
            MQ_OK if m.correlation_id == corr => {
                // Ours: take it through the cursor. Another thread may have taken the
                // message meanwhile (not ours, then), so check again.
                let h = ctx.mq_receive_message(q, 0, MQ_ACTION_RECEIVE, 64, &mut m, c, HANDLE::NULL).await;
                if h == MQ_OK && m.correlation_id == corr {
                    let _ = ctx.mq_close_cursor(c).await;
                    return Some((m.body.clone(), true));
                }
                MQ_ACTION_PEEK_CURRENT
            }
            // Someone else's reply, or one taken from under the cursor: look further.
            MQ_OK | MQ_ERROR_MESSAGE_ALREADY_RECEIVED => MQ_ACTION_PEEK_NEXT,
            _ => MQ_ACTION_PEEK_CURRENT,
        };
    }
    None
}

/// The client: two threads each send a request naming the client's response queue and
/// wait for their reply. Exit code 0 when each thread got its own reply, 10 + n when n
/// threads got another's.
async fn rr_client(ctx: ThreadCtx, fixed: bool) -> u32 {
    if !ensure_queue(&ctx, REQUESTS, false).await || !ensure_queue(&ctx, REPLIES, false).await {
        return 1;
    }
    let Some(server) = start(&ctx, "server.exe").await else { return 2 };
    let mut threads = Vec::new();
    for tag in [b'x', b'y'] {
        let body = move |ctx: ThreadCtx| async move {
            let (Some(rq), Some(rp)) =
                (open(&ctx, REQUESTS, MQ_SEND_ACCESS).await, open(&ctx, REPLIES, MQ_RECEIVE_ACCESS).await)
            else {
                return 100;
            };
            let (body, corr) = request(tag);
            let m = MQMSGPROPS::body(&body).correlation_id(&corr).response_queue(&direct(REPLIES));
            if ctx.mq_send_message(rq, &m, HANDLE::NULL).await != MQ_OK {
                return 101;
            }
            match await_reply(&ctx, rp, &corr, fixed).await {
                Some((_, true)) => 0,
                Some((_, false)) => 1,
                None => 102,
            }
        };
        threads.push(ctx.create_thread(None, 0, body, 0, None).await);
    }
    ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
    let mut wrong = 0;
    for t in threads {
        let mut code = 0;
        let _ = ctx.get_exit_code_thread(t, &mut code).await;
        match code {
            0 => {}
            1 => wrong += 1,
            c => return c,
        }
    }
    ctx.wait_for_single_object(server, INFINITE).await;
    if wrong == 0 { 0 } else { 10 + wrong }
}

/// Teaching case 1, the bug: two threads of one client share its response queue and each
/// takes the first reply that arrives; the server's two workers answer in either order.
pub fn msmq_reply_by_arrival_order() -> Scenario {
    Scenario {
        name: "msmq-reply-by-arrival-order",
        summary: "two requests, one response queue, replies taken in arrival order: a thread gets the other's reply",
        expect: "completes; on some seeds the client exits with 12 (both threads got the other's reply)",
        install: |sim| {
            sim.program("client.exe", |ctx| rr_client(ctx, false));
            sim.program("server.exe", rr_server);
        },
        main: "client.exe",
    }
}

/// Teaching case 1, the fix: each thread walks the response queue with a cursor and
/// receives the reply whose correlation id is its request's.
pub fn msmq_reply_by_correlation_id() -> Scenario {
    Scenario {
        name: "msmq-reply-by-correlation-id",
        summary: "replies matched by correlation id with a cursor: each thread gets its own reply",
        expect: "completes on every seed with exit code 0",
        install: |sim| {
            sim.program("client.exe", |ctx| rr_client(ctx, true));
            sim.program("server.exe", rr_server);
        },
        main: "client.exe",
    }
}

// ----- case 2: competing consumers and a poison message --------------------------------

/// A consumer thread: in a transaction, receive a message (100 ms time-out), "process"
/// it (a body "poison" always fails: abort), commit otherwise; stop when the queue stays
/// empty. With `fixed`, a message aborted `MAX_ABORTS` times is moved to the poison queue
/// in the receiving transaction, which then commits.
async fn consumer(ctx: ThreadCtx, fixed: bool) -> u32 {
    let (Some(q), Some(p)) = (open(&ctx, WORK, MQ_RECEIVE_ACCESS).await, open(&ctx, POISON, MQ_SEND_ACCESS).await)
    else {
        return 1;
    };
    loop {
        let mut tx = HANDLE::NULL;
        if ctx.mq_begin_transaction(&mut tx).await != MQ_OK {
            return 2;
        }
        let mut m = MqMessage::default();
        let h = ctx.mq_receive_message(q, 100, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, tx).await;
        if h == MQ_ERROR_IO_TIMEOUT {
            let _ = ctx.itransaction_abort(tx).await;
            let _ = ctx.itransaction_release(tx).await;
            return 0;
        }
        if h != MQ_OK {
            return 3;
        }
        if m.body == b"poison" {
            if fixed && m.abort_count >= MAX_ABORTS {
                let moved = MQMSGPROPS::body(&m.body).label("moved aside");
                if ctx.mq_send_message(p, &moved, tx).await != MQ_OK {
                    return 4;
                }
                let _ = ctx.itransaction_commit(tx).await;
            } else {
                let _ = ctx.itransaction_abort(tx).await;
            }
        } else {
            let _ = ctx.itransaction_commit(tx).await;
        }
        let _ = ctx.itransaction_release(tx).await;
    }
}

async fn poison_main(ctx: ThreadCtx, fixed: bool) -> u32 {
    if !ensure_queue(&ctx, WORK, true).await || !ensure_queue(&ctx, POISON, true).await {
        return 1;
    }
    let Some(q) = open(&ctx, WORK, MQ_SEND_ACCESS).await else { return 2 };
    for body in [&b"order 1"[..], b"poison", b"order 2"] {
        if ctx.mq_send_message(q, &MQMSGPROPS::body(body), MQ_SINGLE_MESSAGE).await != MQ_OK {
            return 3;
        }
    }
    let mut threads = Vec::new();
    for _ in 0..2 {
        threads.push(ctx.create_thread(None, 0, move |ctx| consumer(ctx, fixed), 0, None).await);
    }
    ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
    0
}

/// Teaching case 2, the bug: two consumers receive transactionally; processing the poison
/// message always fails and aborts, which puts it back at the front, so the consumers take
/// it again and again and never see the queue empty.
pub fn msmq_poison_message() -> Scenario {
    Scenario {
        name: "msmq-poison-message",
        summary: "an aborted transactional receive returns the message to the front: consumers spin on a poison message",
        expect: "never ends: StepLimit on every seed (a livelock, not a deadlock)",
        install: |sim| {
            sim.program("consumers.exe", |ctx| poison_main(ctx, false));
        },
        main: "consumers.exe",
    }
}

/// Teaching case 2, the fix: after `MAX_ABORTS` aborts (PROPID_M_ABORT_COUNT) the
/// consumer moves the message to a poison queue in the same transaction.
pub fn msmq_poison_message_moved_aside() -> Scenario {
    Scenario {
        name: "msmq-poison-message-moved-aside",
        summary: "a message aborted 3 times is moved to a poison queue: the consumers finish",
        expect: "completes on every seed; the poison queue holds the message",
        install: |sim| {
            sim.program("consumers.exe", |ctx| poison_main(ctx, true));
        },
        main: "consumers.exe",
    }
}

// ----- case 3: priority starvation -----------------------------------------------------

/// How many high-priority messages the producer sends.
pub const HIGH_COUNT: u32 = 20;

async fn starvation_main(ctx: ThreadCtx) -> u32 {
    if !ensure_queue(&ctx, JOBS, false).await {
        return 1;
    }
    let (Some(s), Some(r)) = (open(&ctx, JOBS, MQ_SEND_ACCESS).await, open(&ctx, JOBS, MQ_RECEIVE_ACCESS).await) else {
        return 2;
    };
    // The low-priority job is first in, at time 0.
    if ctx.mq_send_message(s, &MQMSGPROPS::body(b"low").priority(1).label("low"), HANDLE::NULL).await != MQ_OK {
        return 3;
    }
    let producer = ctx
        .create_thread(
            None,
            0,
            move |ctx: ThreadCtx| async move {
                for i in 0..HIGH_COUNT {
                    let m = MQMSGPROPS::body(format!("high {i}").as_bytes()).priority(6).label("high");
                    let _ = ctx.mq_send_message(s, &m, HANDLE::NULL).await;
                    ctx.sleep(10).await;
                }
                0
            },
            0,
            None,
        )
        .await;
    // The consumer starts 1 ms later and needs 15 ms per job: slower than the producer,
    // so a high-priority job is always waiting when it looks.
    ctx.sleep(1).await;
    let mut position = 0;
    for n in 1..=HIGH_COUNT + 1 {
        let mut m = MqMessage::default();
        if ctx.mq_receive_message(r, INFINITE, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, HANDLE::NULL).await != MQ_OK
        {
            return 4;
        }
        if m.body == b"low" {
            position = n;
        }
        ctx.sleep(15).await;
    }
    ctx.wait_for_single_object(producer, INFINITE).await;
    // Exit code: the position at which the low-priority job was served.
    position
}

/// Teaching case 3: a steady high-priority producer and a slower consumer: the
/// low-priority job sent first is served last; the trace shows how long it waited.
pub fn msmq_priority_starvation() -> Scenario {
    Scenario {
        name: "msmq-priority-starvation",
        summary: "higher priority first: a low-priority job waits behind a steady high-priority stream",
        expect: "completes; the low-priority job is served last (exit code 21), about 300 ms after it was sent",
        install: |sim| {
            sim.program("jobs.exe", starvation_main);
        },
        main: "jobs.exe",
    }
}

// ----- case 4: a reply that expires ----------------------------------------------------

async fn expiry_server(ctx: ThreadCtx) -> u32 {
    let Some(rq) = open(&ctx, REQUESTS, MQ_RECEIVE_ACCESS).await else { return 1 };
    let mut m = MqMessage::default();
    if ctx.mq_receive_message(rq, INFINITE, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, HANDLE::NULL).await != MQ_OK {
        return 2;
    }
    let mut q = HANDLE::NULL;
    if ctx.mq_open_queue(&m.response_queue, MQ_SEND_ACCESS, MQ_DENY_NONE, &mut q).await != MQ_OK {
        return 3;
    }
    // The reply is worth reading for 1 s, and goes to the dead-letter queue otherwise.
    let reply = MQMSGPROPS::body(b"price: 42")
        .correlation_id(&m.correlation_id)
        .time_to_be_received(1)
        .journal(MQMSG_DEADLETTER);
    u32::from(ctx.mq_send_message(q, &reply, HANDLE::NULL).await != MQ_OK) * 4
}

async fn expiry_client(ctx: ThreadCtx) -> u32 {
    if !ensure_queue(&ctx, REQUESTS, false).await || !ensure_queue(&ctx, REPLIES, false).await {
        return 1;
    }
    let Some(server) = start(&ctx, "server.exe").await else { return 2 };
    let (Some(rq), Some(rp)) =
        (open(&ctx, REQUESTS, MQ_SEND_ACCESS).await, open(&ctx, REPLIES, MQ_RECEIVE_ACCESS).await)
    else {
        return 3;
    };
    let m = MQMSGPROPS::body(b"quote?").correlation_id(b"q1").response_queue(&direct(REPLIES));
    if ctx.mq_send_message(rq, &m, HANDLE::NULL).await != MQ_OK {
        return 4;
    }
    // Busy elsewhere for 1.5 s before it looks for the reply.
    ctx.sleep(1500).await;
    let mut reply = MqMessage::default();
    let h = ctx.mq_receive_message(rp, 500, MQ_ACTION_RECEIVE, 64, &mut reply, HANDLE::NULL, HANDLE::NULL).await;
    ctx.wait_for_single_object(server, INFINITE).await;
    if h != MQ_ERROR_IO_TIMEOUT {
        return 5;
    }
    // Where did it go? The dead-letter queue, with the class saying why.
    let mut dl = HANDLE::NULL;
    if ctx.mq_open_queue(MQ_DEADLETTER_FORMAT_NAME, MQ_RECEIVE_ACCESS, MQ_DENY_NONE, &mut dl).await != MQ_OK {
        return 6;
    }
    let mut dead = MqMessage::default();
    let h = ctx.mq_receive_message(dl, 0, MQ_ACTION_PEEK_CURRENT, 64, &mut dead, HANDLE::NULL, HANDLE::NULL).await;
    if h == MQ_OK && dead.body == b"price: 42" && dead.class == MQMSG_CLASS_NACK_RECEIVE_TIMEOUT { 0 } else { 7 }
}

/// Teaching case 4: the reply's time-to-be-received (1 s) runs out while the client is
/// busy (1.5 s): the client's receive times out, and the dead-letter queue holds the
/// reply with class MQMSG_CLASS_NACK_RECEIVE_TIMEOUT.
pub fn msmq_reply_expired() -> Scenario {
    Scenario {
        name: "msmq-reply-expired",
        summary: "a reply with a 1 s time-to-be-received read after 1.5 s: the receive times out, the reply is dead-lettered",
        expect: "completes on every seed with exit code 0 (the client found the reply in the dead-letter queue)",
        install: |sim| {
            sim.program("client.exe", expiry_client);
            sim.program("server.exe", expiry_server);
        },
        main: "client.exe",
    }
}

// ----- case 5: a receiver that exits while its receive is pending ----------------------

async fn exiting_receiver(ctx: ThreadCtx) -> u32 {
    let Some(q) = open(&ctx, JOBS, MQ_RECEIVE_ACCESS).await else { return 1 };
    // An asynchronous receive for the next job (docs/semantics.md §23.27); the process ends
    // before one comes, with the receive pending.
    let event = ctx.create_event(None, true, false, None).await;
    let overlapped = Overlapped::new(event);
    let message = MqMessageBuf::new();
    let h = ctx
        .mq_receive_message_overlapped(
            q,
            INFINITE,
            MQ_ACTION_RECEIVE,
            64,
            &message,
            &overlapped,
            HANDLE::NULL,
            HANDLE::NULL,
        )
        .await;
    if h != MQ_INFORMATION_OPERATION_PENDING {
        return 2;
    }
    ctx.sleep(10).await;
    0 // main returns: ExitProcess cancels the pending receive (§23.31)
}

async fn exit_main(ctx: ThreadCtx) -> u32 {
    if !ensure_queue(&ctx, JOBS, false).await {
        return 1;
    }
    let Some(receiver) = start(&ctx, "receiver.exe").await else { return 2 };
    ctx.wait_for_single_object(receiver, INFINITE).await;
    let Some(s) = open(&ctx, JOBS, MQ_SEND_ACCESS).await else { return 3 };
    if ctx.mq_send_message(s, &MQMSGPROPS::body(b"job"), HANDLE::NULL).await != MQ_OK {
        return 4;
    }
    // Nothing took it: the ended receive left no claim on the queue.
    let Some(r) = open(&ctx, JOBS, MQ_RECEIVE_ACCESS).await else { return 5 };
    let mut m = MqMessage::default();
    let h = ctx.mq_receive_message(r, 0, MQ_ACTION_RECEIVE, 64, &mut m, HANDLE::NULL, HANDLE::NULL).await;
    if h == MQ_OK && m.body == b"job" { 0 } else { 6 }
}

/// Teaching case 5: the receiver process exits while its asynchronous receive (an
/// OVERLAPPED with an event) is pending; process exit cancels it (§23.31), so the message
/// sent afterwards is not lost, it stays in the queue for the next receiver.
pub fn msmq_receiver_exits() -> Scenario {
    Scenario {
        name: "msmq-receiver-exits",
        summary: "a receiver that exits while its asynchronous receive is pending loses nothing: the message stays queued",
        expect: "completes on every seed with exit code 0",
        install: |sim| {
            sim.program("main.exe", exit_main);
            sim.program("receiver.exe", exiting_receiver);
        },
        main: "main.exe",
    }
}
