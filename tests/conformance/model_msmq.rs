//! Kernel versus reference model (sim-model's `msmq`) on Message Queuing: random
//! single-process programs create and delete queues (transactional or not, some with a
//! 1 KB quota), open them with each access, send messages of random priority, size,
//! time-to-be-received and dead-letter journaling (outside transactions, single-message or
//! in internal transactions), receive and peek with and without cursors and transactions
//! (time-out 0, or a finite one that moves the virtual clock), create and close cursors,
//! begin, commit, abort and release transactions, purge, and sleep across expiry
//! deadlines. The kernel runs the program under a random seed; the model runs the same
//! operations; every call's HRESULT and the message it read (body, priority, abort count,
//! class) must agree. Asynchronous receives with an OVERLAPPED (no cursor, no
//! transaction) and their results (MQGetOverlappedResult and the message record) are
//! compared too (§§23.27-23.31). Sections (§23.N) refer to docs/semantics.md.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_model::msmq::{Action, QueueManager, R, Tx};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    Create {
        q: u8,
        tx: bool,
        quota: Option<u32>,
    },
    Delete {
        q: u8,
    },
    /// `q` None: the dead-letter queue.
    Open {
        q: Option<u8>,
        access: u8,
    },
    Close {
        d: usize,
    },
    /// `any`: among all queue handles, else among send handles.
    Send {
        any: bool,
        d: usize,
        prio: u8,
        len: usize,
        ttbr: Option<u32>,
        dl: bool,
        tx: Option<Option<usize>>,
    },
    /// `any`: among all queue handles, else among receive and peek handles.
    Recv {
        any: bool,
        d: usize,
        action: u8,
        cap: u32,
        cursor: Option<usize>,
        tx: Option<usize>,
        timeout: u32,
    },
    Cursor {
        d: usize,
    },
    CloseCursor {
        c: usize,
    },
    Begin,
    Commit {
        t: usize,
    },
    Abort {
        t: usize,
    },
    Release {
        t: usize,
    },
    Purge {
        d: usize,
    },
    Sleep {
        ms: u32,
    },
    /// MQReceiveMessage with an OVERLAPPED (no cursor, no transaction; not on the
    /// dead-letter queue, whose arrivals depend on expiry order): `any` as for Recv.
    RecvAsync {
        any: bool,
        d: usize,
        action: u8,
        cap: u32,
        timeout: u32,
    },
    /// MQGetOverlappedResult and the message record of asynchronous receive `a`.
    AsyncResult {
        a: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let idx = 0usize..4;
    prop_oneof![
        2 => (0u8..3, any::<bool>(), prop_oneof![3 => Just(None), 1 => Just(Some(1u32))])
            .prop_map(|(q, tx, quota)| Op::Create { q, tx, quota }),
        1 => (0u8..3).prop_map(|q| Op::Delete { q }),
        3 => (prop_oneof![6 => (0u8..3).prop_map(Some), 1 => Just(None)], 0u8..3)
            .prop_map(|(q, access)| Op::Open { q, access }),
        1 => idx.clone().prop_map(|d| Op::Close { d }),
        8 => (
            (prop::bool::weighted(0.15), idx.clone()),
            0u8..8,
            prop_oneof![3 => 0usize..16, 1 => 300usize..700],
            prop_oneof![3 => Just(None), 1 => (0u32..4).prop_map(Some)],
            any::<bool>(),
            prop_oneof![2 => Just(None), 2 => Just(Some(None)), 2 => idx.clone().prop_map(|t| Some(Some(t)))],
        )
            .prop_map(|((any, d), prio, len, ttbr, dl, tx)| Op::Send { any, d, prio, len, ttbr, dl, tx }),
        10 => (
            (prop::bool::weighted(0.15), idx.clone()),
            0u8..3,
            prop_oneof![1 => 0u32..8, 4 => Just(1024u32)],
            prop_oneof![1 => Just(None), 1 => idx.clone().prop_map(Some)],
            prop_oneof![1 => Just(None), 1 => idx.clone().prop_map(Some)],
            prop_oneof![4 => Just(0u32), 1 => 1u32..2500],
        )
            .prop_map(|((any, d), action, cap, cursor, tx, timeout)| Op::Recv { any, d, action, cap, cursor, tx, timeout }),
        2 => idx.clone().prop_map(|d| Op::Cursor { d }),
        1 => idx.clone().prop_map(|c| Op::CloseCursor { c }),
        2 => Just(Op::Begin),
        2 => idx.clone().prop_map(|t| Op::Commit { t }),
        3 => idx.clone().prop_map(|t| Op::Abort { t }),
        1 => idx.clone().prop_map(|t| Op::Release { t }),
        1 => idx.clone().prop_map(|d| Op::Purge { d }),
        2 => (1u32..2500).prop_map(|ms| Op::Sleep { ms }),
        4 => (
            (prop::bool::weighted(0.15), idx.clone()),
            0u8..3,
            prop_oneof![1 => 0u32..8, 4 => Just(1024u32)],
            prop_oneof![1 => Just(0u32), 2 => Just(INFINITE), 2 => 1u32..2500],
        )
            .prop_map(|((any, d), action, cap, timeout)| Op::RecvAsync { any, d, action, cap, timeout }),
        4 => idx.clone().prop_map(|a| Op::AsyncResult { a }),
    ]
}

/// A prologue that gives the random operations something to work on (a queue, transactional
/// or not, with send, receive and dead-letter handles, a cursor and a transaction), then
/// random operations.
fn program() -> impl Strategy<Value = Vec<Op>> {
    (any::<bool>(), proptest::collection::vec(op(), 0..48)).prop_map(|(tx, ops)| {
        let mut all = vec![
            Op::Create { q: 0, tx, quota: None },
            Op::Open { q: Some(0), access: 1 },
            Op::Open { q: Some(0), access: 0 },
            Op::Open { q: None, access: 0 },
            Op::Cursor { d: 1 },
            Op::Begin,
        ];
        all.extend(ops);
        all
    })
}

const ACCESS: [u32; 3] = [MQ_RECEIVE_ACCESS, MQ_SEND_ACCESS, MQ_PEEK_ACCESS];
const ACTIONS: [u32; 3] = [MQ_ACTION_RECEIVE, MQ_ACTION_PEEK_CURRENT, MQ_ACTION_PEEK_NEXT];

fn name(q: u8) -> String {
    format!(r"DIRECT=OS:.\private$\q{q}")
}

fn pick(len: usize, i: usize) -> Option<usize> {
    (len > 0).then(|| i % len)
}

/// The `i`-th (modulo) queue handle whose access `fits`, or any when `any`.
fn pick_desc(access: &[u32], any: bool, i: usize, fits: impl Fn(u32) -> bool) -> Option<usize> {
    let list: Vec<usize> = (0..access.len()).filter(|&d| any || fits(access[d])).collect();
    pick(list.len(), i).map(|k| list[k])
}

fn sender(a: u32) -> bool {
    a == MQ_SEND_ACCESS
}

fn reader(a: u32) -> bool {
    a != MQ_SEND_ACCESS
}

/// What the kernel returned for each operation (`None`: skipped, no such handle yet).
type Results = Vec<Option<R>>;

fn run_kernel(ops: &[Op], seed: u64) -> (RunReport, Results) {
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    let ops = Rc::new(ops.to_vec());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model_msmq.exe", move |ctx| {
        let (ops, out) = (ops.clone(), o.clone());
        async move {
            let (mut descs, mut dlq, mut cursors, mut txs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut access: Vec<u32> = Vec::new();
            // Handle values that name something now: (kind, entry). A closed entry whose
            // value a later entry reuses is skipped (handle values are reused, as on
            // Windows, and the model numbers objects instead).
            let mut live: BTreeMap<isize, (u8, usize)> = BTreeMap::new();
            let mut sends = 0u8;
            let mut asyncs: Vec<(Overlapped, MqMessageBuf)> = Vec::new();
            for op in ops.iter() {
                let usable = |live: &BTreeMap<isize, (u8, usize)>, kind: u8, list: &[HANDLE], i: Option<usize>| {
                    i.filter(|&i| live.get(&list[i].0).is_none_or(|&e| e == (kind, i)))
                };
                let hr = |h: HRESULT| Some(R::Hr(h.0 as u32));
                let r = match op {
                    Op::Create { q, tx, quota } => {
                        let mut props = MQQUEUEPROPS::path(&format!(r".\private$\q{q}"));
                        if *tx {
                            props = props.transactional();
                        }
                        if let Some(kb) = quota {
                            props = props.with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(*kb));
                        }
                        let (mut n, mut len) = (String::new(), 64);
                        hr(ctx.mq_create_queue(&props, &mut n, &mut len).await)
                    }
                    Op::Delete { q } => hr(ctx.mq_delete_queue(&name(*q)).await),
                    Op::Open { q, access: access_i } => {
                        let f = q.map_or(MQ_DEADLETTER_FORMAT_NAME.to_string(), name);
                        let mut h = HANDLE::NULL;
                        let r = ctx.mq_open_queue(&f, ACCESS[*access_i as usize], MQ_DENY_NONE, &mut h).await;
                        if r == MQ_OK {
                            live.insert(h.0, (0, descs.len()));
                            descs.push(h);
                            dlq.push(q.is_none());
                            access.push(ACCESS[*access_i as usize]);
                        }
                        hr(r)
                    }
                    Op::Close { d } => match usable(&live, 0, &descs, pick(descs.len(), *d)) {
                        Some(d) => {
                            let r = ctx.mq_close_queue(descs[d]).await;
                            if r == MQ_OK {
                                live.remove(&descs[d].0);
                            }
                            hr(r)
                        }
                        None => None,
                    },
                    Op::Send { any, d, prio, len, ttbr, dl, tx } => {
                        match usable(&live, 0, &descs, pick_desc(&access, *any, *d, sender)) {
                            None => None,
                            Some(d) => {
                                let t = match tx {
                                    None => Some(MQ_NO_TRANSACTION),
                                    Some(None) => Some(MQ_SINGLE_MESSAGE),
                                    Some(Some(t)) => usable(&live, 2, &txs, pick(txs.len(), *t)).map(|t| txs[t]),
                                };
                                match t {
                                    None => None,
                                    Some(t) => {
                                        sends = sends.wrapping_add(1);
                                        let mut m = MQMSGPROPS::body(&vec![sends; *len]).priority(*prio);
                                        if let Some(s) = ttbr {
                                            m = m.time_to_be_received(*s);
                                        }
                                        if *dl {
                                            m = m.journal(MQMSG_DEADLETTER);
                                        }
                                        hr(ctx.mq_send_message(descs[d], &m, t).await)
                                    }
                                }
                            }
                        }
                    }
                    Op::Recv { any, d, action, cap, cursor, tx, timeout } => {
                        match usable(&live, 0, &descs, pick_desc(&access, *any, *d, reader)) {
                            None => None,
                            Some(d) => {
                                let c = match cursor {
                                    None => Some(HANDLE::NULL),
                                    Some(c) => usable(&live, 1, &cursors, pick(cursors.len(), *c)).map(|c| cursors[c]),
                                };
                                let t = match tx {
                                    None => Some(HANDLE::NULL),
                                    Some(t) => usable(&live, 2, &txs, pick(txs.len(), *t)).map(|t| txs[t]),
                                };
                                match (c, t) {
                                    (Some(c), Some(t)) => {
                                        let timeout = if dlq[d] { 0 } else { *timeout };
                                        let mut m = MqMessage::default();
                                        let h = ctx
                                            .mq_receive_message(
                                                descs[d],
                                                timeout,
                                                ACTIONS[*action as usize],
                                                *cap,
                                                &mut m,
                                                c,
                                                t,
                                            )
                                            .await;
                                        let seen = (h == MQ_OK || h == MQ_ERROR_BUFFER_OVERFLOW).then_some((
                                            m.body,
                                            m.priority,
                                            m.abort_count,
                                            m.class,
                                        ));
                                        Some(R::Recv(h.0 as u32, seen))
                                    }
                                    _ => None,
                                }
                            }
                        }
                    }
                    Op::Cursor { d } => match usable(&live, 0, &descs, pick(descs.len(), *d)) {
                        None => None,
                        Some(d) => {
                            let mut c = HANDLE::NULL;
                            let r = ctx.mq_create_cursor(descs[d], &mut c).await;
                            if r == MQ_OK {
                                live.insert(c.0, (1, cursors.len()));
                                cursors.push(c);
                            }
                            hr(r)
                        }
                    },
                    Op::CloseCursor { c } => match usable(&live, 1, &cursors, pick(cursors.len(), *c)) {
                        Some(c) => {
                            let r = ctx.mq_close_cursor(cursors[c]).await;
                            if r == MQ_OK {
                                live.remove(&cursors[c].0);
                            }
                            hr(r)
                        }
                        None => None,
                    },
                    Op::Begin => {
                        let mut t = HANDLE::NULL;
                        let r = ctx.mq_begin_transaction(&mut t).await;
                        live.insert(t.0, (2, txs.len()));
                        txs.push(t);
                        hr(r)
                    }
                    Op::Commit { t } => match usable(&live, 2, &txs, pick(txs.len(), *t)) {
                        Some(t) => hr(ctx.itransaction_commit(txs[t]).await),
                        None => None,
                    },
                    Op::Abort { t } => match usable(&live, 2, &txs, pick(txs.len(), *t)) {
                        Some(t) => hr(ctx.itransaction_abort(txs[t]).await),
                        None => None,
                    },
                    Op::Release { t } => match usable(&live, 2, &txs, pick(txs.len(), *t)) {
                        Some(t) => {
                            let r = ctx.itransaction_release(txs[t]).await;
                            if r == MQ_OK {
                                live.remove(&txs[t].0);
                            }
                            hr(r)
                        }
                        None => None,
                    },
                    Op::Purge { d } => match usable(&live, 0, &descs, pick(descs.len(), *d)) {
                        Some(d) => hr(ctx.mq_purge_queue(descs[d]).await),
                        None => None,
                    },
                    Op::Sleep { ms } => {
                        ctx.sleep(*ms).await;
                        None
                    }
                    Op::RecvAsync { any, d, action, cap, timeout } => {
                        match usable(&live, 0, &descs, pick_desc(&access, *any, *d, reader)).filter(|&d| !dlq[d]) {
                            None => None,
                            Some(d) => {
                                let (ov, buf) = (Overlapped::new(HANDLE::NULL), MqMessageBuf::new());
                                let h = ctx
                                    .mq_receive_message_overlapped(
                                        descs[d],
                                        *timeout,
                                        ACTIONS[*action as usize],
                                        *cap,
                                        &buf,
                                        &ov,
                                        HANDLE::NULL,
                                        HANDLE::NULL,
                                    )
                                    .await;
                                let started = [
                                    MQ_INFORMATION_OPERATION_PENDING,
                                    MQ_OK,
                                    MQ_ERROR_BUFFER_OVERFLOW,
                                    MQ_ERROR_IO_TIMEOUT,
                                ];
                                if started.contains(&h) {
                                    asyncs.push((ov, buf.clone()));
                                }
                                Some(R::Recv(h.0 as u32, seen_of(h, &buf.get())))
                            }
                        }
                    }
                    Op::AsyncResult { a } => match pick(asyncs.len(), *a) {
                        None => None,
                        Some(a) => {
                            let (ov, buf) = &asyncs[a];
                            let h = ctx.mq_get_overlapped_result(ov).await;
                            Some(R::Recv(h.0 as u32, seen_of(h, &buf.get())))
                        }
                    },
                };
                out.borrow_mut().push(r);
            }
            0
        }
    });
    let r = sim.run("model_msmq.exe");
    let results = out.borrow().clone();
    (r, results)
}

/// The message a receive's record shows: on MQ_OK and MQ_ERROR_BUFFER_OVERFLOW.
fn seen_of(h: HRESULT, m: &MqMessage) -> Option<sim_model::msmq::Seen> {
    (h == MQ_OK || h == MQ_ERROR_BUFFER_OVERFLOW).then(|| (m.body.clone(), m.priority, m.abort_count, m.class))
}

fn run_model(ops: &[Op], kernel: &Results) -> Results {
    let mut m = QueueManager::new();
    let (mut descs, mut dlq, mut cursors, mut txs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut access: Vec<u32> = Vec::new();
    let mut sends = 0u8;
    let mut asyncs: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if kernel.get(i).is_none_or(|k| k.is_none()) && !matches!(op, Op::Sleep { .. }) {
            // The kernel's program skipped it (no such handle, or a reused handle value).
            out.push(None);
            continue;
        }
        let r = match op {
            Op::Create { q, tx, quota } => Some(m.create(&format!("q{q}"), *tx, *quota)),
            Op::Delete { q } => Some(m.delete(&format!("q{q}"))),
            Op::Open { q, access: a } => {
                let key = q.map(|q| format!("q{q}"));
                let (r, d) = m.open(key.as_deref(), ACCESS[*a as usize]);
                if let Some(d) = d {
                    descs.push(d);
                    dlq.push(q.is_none());
                    access.push(ACCESS[*a as usize]);
                }
                Some(r)
            }
            Op::Close { d } => pick(descs.len(), *d).map(|d| m.close(descs[d])),
            Op::Send { any, d, prio, len, ttbr, dl, tx } => pick_desc(&access, *any, *d, sender).and_then(|d| {
                let t = match tx {
                    None => Some(Tx::None),
                    Some(None) => Some(Tx::Single),
                    Some(Some(t)) => pick(txs.len(), *t).map(|t| Tx::Internal(txs[t])),
                };
                t.map(|t| {
                    sends = sends.wrapping_add(1);
                    m.send(descs[d], &vec![sends; *len], *prio, *ttbr, *dl, t)
                })
            }),
            Op::Recv { any, d, action, cap, cursor, tx, timeout } => {
                pick_desc(&access, *any, *d, reader).and_then(|d| {
                    let c = match cursor {
                        None => Some(None),
                        Some(c) => pick(cursors.len(), *c).map(|c| Some(cursors[c])),
                    };
                    let t = match tx {
                        None => Some(None),
                        Some(t) => pick(txs.len(), *t).map(|t| Some(txs[t])),
                    };
                    let action = [Action::Receive, Action::PeekCurrent, Action::PeekNext][*action as usize];
                    let timeout = if dlq[d] { 0 } else { *timeout };
                    match (c, t) {
                        (Some(c), Some(t)) => Some(m.receive(descs[d], timeout, action, *cap, c, t)),
                        _ => None,
                    }
                })
            }
            Op::Cursor { d } => pick(descs.len(), *d).map(|d| {
                let (r, c) = m.create_cursor(descs[d]);
                cursors.extend(c);
                r
            }),
            Op::CloseCursor { c } => pick(cursors.len(), *c).map(|c| m.close_cursor(cursors[c])),
            Op::Begin => {
                txs.push(m.begin());
                Some(R::Hr(sim_model::msmq::MQ_OK))
            }
            Op::Commit { t } => pick(txs.len(), *t).map(|t| m.commit(txs[t])),
            Op::Abort { t } => pick(txs.len(), *t).map(|t| m.abort(txs[t])),
            Op::Release { t } => pick(txs.len(), *t).map(|t| m.release(txs[t])),
            Op::Purge { d } => pick(descs.len(), *d).map(|d| m.purge(descs[d])),
            Op::Sleep { ms } => {
                let now = m.now_ms() + u64::from(*ms);
                m.advance(now);
                None
            }
            Op::RecvAsync { any, d, action, cap, timeout } => {
                pick_desc(&access, *any, *d, reader).filter(|&d| !dlq[d]).map(|d| {
                    let action = [Action::Receive, Action::PeekCurrent, Action::PeekNext][*action as usize];
                    let (r, a) = m.receive_async(descs[d], *timeout, action, *cap);
                    asyncs.extend(a);
                    r
                })
            }
            Op::AsyncResult { a } => pick(asyncs.len(), *a).map(|a| m.async_result(asyncs[a])),
        };
        out.push(r);
    }
    out
}

/// The number of cases: PROPTEST_CASES from the environment, 256 by default (a case
/// takes well under a millisecond).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§23.1-23.24 and 23.27-23.31 as stated by sim-model's msmq module, against the kernel.
    #[test]
    fn kernel_msmq_calls_agree_with_the_model(ops in program(), seed in any::<u64>()) {
        let (r, kernel) = run_kernel(&ops, seed);
        prop_assert!(r.outcome.is_completed(), "{}\n{}", r.summary(), r.trace_text());
        let model = run_model(&ops, &kernel);
        for (i, (k, m)) in kernel.iter().zip(&model).enumerate() {
            prop_assert_eq!(k, m, "operation {} {:?}\n{}", i, ops[i], r.trace_text());
        }
        prop_assert_eq!(kernel.len(), model.len());
    }
}
