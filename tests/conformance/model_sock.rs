//! Kernel versus reference model (sim-model's `socket`) on one loopback TCP connection:
//! random programs (the main thread connects a client to a listener, accepts, gives both
//! ends random SO_RCVBUF/SO_SNDBUF quotas, then starts two threads per end: a worker that
//! sends, receives, shuts down, sets SO_LINGER {1, 0} and closes, and a receiver that only
//! receives) run under random seeds, and every socket call of those threads in the kernel's
//! trace is replayed, in trace order, on the model. They must agree on each call: return
//! value, last error and received bytes of a call that completed at once, whether it
//! blocked, and which blocked calls each call completed with what result. Sent bytes are
//! letters that tell each thread's sends apart.
//!
//! Overlapped forms (§§22.40-22.41): workers also make overlapped WSARecv/WSASend (with an
//! event; WSAGetOverlappedResult(fWait) when they pend) and receivers use an overlapped
//! WSARecv for an odd buffer size. Such a call must complete at once exactly when the
//! model's call does (0 and the byte count), else pend with WSA_IO_PENDING; its
//! asynchronous completion (a `Wake` of the WSARecv/WSASend in the trace) must come from
//! the call the model says, with the model's result (a closesocket of its own socket:
//! WSAECONNABORTED, where a blocked recv gets WSAEINTR).
//!
//! The kernel's schedule-decided recv splits are switched off here (`stream_splits`): the
//! model's recv takes all it can. The splits are checked by sock.rs. Section numbers
//! (§N.M) refer to docs/semantics.md §22.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::socket::{Outcome as ModelOutcome, Reply, StreamModel};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    Send(u32),
    Recv(u32),
    Shutdown(i32),
    Linger0,
    Close,
    Sleep(u32),
    /// An overlapped WSARecv (1..12 bytes), then WSAGetOverlappedResult(fWait) if it pends.
    OvRecv(u32),
    /// An overlapped WSASend, then WSAGetOverlappedResult(fWait) if it pends.
    OvSend(u32),
}

#[derive(Debug, Clone)]
struct Program {
    rcvbuf: [u32; 2],
    sndbuf: [u32; 2],
    /// Per end: the worker's ops and the receiver's buffer sizes.
    workers: [Vec<Op>; 2],
    receivers: [Vec<u32>; 2],
}

fn buf_size() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 3 => 1u32..12, 1 => Just(64u32)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (0u32..12).prop_map(Op::Send),
        4 => (0u32..12).prop_map(Op::Recv),
        1 => (0i32..4).prop_map(Op::Shutdown),
        1 => Just(Op::Linger0),
        1 => Just(Op::Close),
        2 => (0u32..5).prop_map(Op::Sleep),
        3 => (1u32..12).prop_map(Op::OvRecv),
        3 => (0u32..12).prop_map(Op::OvSend),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (
        [buf_size(), buf_size()],
        [buf_size(), buf_size()],
        [proptest::collection::vec(op(), 0..10), proptest::collection::vec(op(), 0..10)],
        [proptest::collection::vec(0u32..12, 0..4), proptest::collection::vec(0u32..12, 0..4)],
    )
        .prop_map(|(rcvbuf, sndbuf, workers, receivers)| Program { rcvbuf, sndbuf, workers, receivers })
}

/// The bytes of the `k`-th send of thread `tid`: letters, different per thread and send.
fn data(tid: u32, k: u32, len: u32) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((tid / 4 * 7 + k * 5 + i) % 26) as u8).collect()
}

async fn worker(ctx: ThreadCtx, s: SOCKET, ops: Vec<Op>) -> u32 {
    // Results are not checked here: compare() reads them from the trace.
    let tid = ctx.get_current_thread_id();
    let mut k = 0;
    let mut buf = [0u8; 16];
    let event = ctx.create_event(None, true, false, None).await;
    for op in ops {
        match op {
            Op::Send(n) => {
                k += 1;
                let d = data(tid, k - 1, n);
                let _ = ctx.send(s, &d, n as i32, 0).await;
            }
            Op::Recv(n) => {
                let _ = ctx.recv(s, &mut buf, n as i32, 0).await;
            }
            Op::Shutdown(how) => {
                let _ = ctx.shutdown(s, how).await;
            }
            Op::Linger0 => {
                let _ = ctx.setsockopt(s, SOL_SOCKET, SO_LINGER, Some(&[1, 0, 0, 0]), 4).await;
            }
            Op::Close => {
                let _ = ctx.closesocket(s).await;
            }
            Op::Sleep(ms) => ctx.sleep(ms).await,
            Op::OvRecv(n) | Op::OvSend(n) => {
                let ov = Overlapped::new(event);
                let (mut bytes, mut flags) = (0u32, 0u32);
                let r = if let Op::OvSend(_) = op {
                    k += 1;
                    let d = data(tid, k - 1, n);
                    ctx.wsa_send(s, &d, Some(&mut bytes), 0, Some(&ov), None).await
                } else {
                    ctx.wsa_recv(s, &IoBuffer::new(n as usize), Some(&mut bytes), &mut flags, Some(&ov), None).await
                };
                if r == SOCKET_ERROR && ctx.wsa_get_last_error() == WSA_IO_PENDING as i32 {
                    let _ = ctx.wsa_get_overlapped_result(s, &ov, &mut bytes, true, &mut flags).await;
                }
            }
        }
    }
    0
}

fn run(p: &Program, seed: u64) -> (RunReport, [HANDLE; 2]) {
    let p = Rc::new(p.clone());
    let ends = Rc::new(Cell::new([HANDLE::NULL; 2]));
    let out = ends.clone();
    let mut config = Config::random(seed);
    config.stream_splits = false;
    let mut sim = Sim::new(config);
    sim.program("model_sock.exe", move |ctx| {
        let (p, ends) = (p.clone(), ends.clone());
        async move {
            assert_eq!(ctx.wsa_startup(MAKEWORD(2, 2), None).await, 0);
            let l = ctx.socket(AF_INET, SOCK_STREAM, 0).await;
            assert_eq!(ctx.bind(l, Some(&SOCKADDR_IN::new(INADDR_LOOPBACK, 0)), SOCKADDR_IN_LEN).await, 0);
            assert_eq!(ctx.listen(l, 1).await, 0);
            let mut a = SOCKADDR_IN::default();
            let mut len = SOCKADDR_IN_LEN;
            assert_eq!(ctx.getsockname(l, Some(&mut a), Some(&mut len)).await, 0);
            let c = ctx.socket(AF_INET, SOCK_STREAM, 0).await;
            assert_eq!(ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await, 0);
            let s = ctx.accept(l, None, None).await;
            assert_ne!(s, INVALID_SOCKET);
            assert_eq!(ctx.closesocket(l).await, 0);
            let hs = [c, s];
            for (i, &h) in hs.iter().enumerate() {
                let v = p.rcvbuf[i].to_le_bytes();
                assert_eq!(ctx.setsockopt(h, SOL_SOCKET, SO_RCVBUF, Some(&v), 4).await, 0);
                let v = p.sndbuf[i].to_le_bytes();
                assert_eq!(ctx.setsockopt(h, SOL_SOCKET, SO_SNDBUF, Some(&v), 4).await, 0);
            }
            ends.set(hs);
            let mut threads = Vec::new();
            for (i, &h) in hs.iter().enumerate() {
                let ops = p.workers[i].clone();
                threads.push(ctx.create_thread(None, 0, move |ctx| worker(ctx, h, ops), 0, None).await);
                // An odd size is an overlapped WSARecv (which a close of its socket aborts).
                let ops: Vec<Op> =
                    p.receivers[i].iter().map(|&n| if n % 2 == 1 { Op::OvRecv(n) } else { Op::Recv(n) }).collect();
                threads.push(ctx.create_thread(None, 0, move |ctx| worker(ctx, h, ops), 0, None).await);
            }
            ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
            0
        }
    });
    let r = sim.run("model_sock.exe");
    (r, out.get())
}

const APIS: [&str; 6] = ["send", "recv", "shutdown", "closesocket", "WSARecv", "WSASend"];

/// The overlapped calls: they pend (SOCKET_ERROR, WSA_IO_PENDING) where the others block,
/// and their asynchronous completion is a `Wake` of the call itself (§22.40).
const OVERLAPPED_APIS: [&str; 2] = ["WSARecv", "WSASend"];

/// What the trace must show for an overlapped call that completed at once (§22.40: 0, the
/// byte count in lpNumberOfBytes..., or SOCKET_ERROR with the error).
fn expected_at_once(reply: &Reply) -> (Ret, Vec<u32>, Option<u32>) {
    match reply {
        Reply::Sent(n) => (Ret::Long(0), vec![*n], None),
        Reply::Received(d) => (Ret::Long(0), vec![d.len() as u32], None),
        Reply::Failed(e) => (Ret::Long(-1), Vec::new(), Some(*e)),
        r => unreachable!("{r:?}"),
    }
}

fn arg<'a>(step: u64, args: &'a [Arg], name: &str) -> Result<&'a ArgValue, String> {
    args.iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
        .ok_or_else(|| format!("step {step}: no argument {name:?} in {args:?}"))
}

fn i32_arg(step: u64, args: &[Arg], name: &str) -> Result<i32, String> {
    match arg(step, args, name)? {
        ArgValue::I32(v) => Ok(*v),
        v => Err(format!("step {step}: {name:?} is {v:?}, not an int")),
    }
}

/// What the trace must show for a model reply (not `Pending`).
fn expected(reply: &Reply) -> (Ret, Vec<Arg>, Option<u32>) {
    match reply {
        Reply::Sent(n) => (Ret::Long(i64::from(*n)), Vec::new(), None),
        Reply::Received(d) => (Ret::Long(d.len() as i64), vec![Arg::new("read", ArgValue::bytes(d))], None),
        Reply::Done => (Ret::Long(0), Vec::new(), None),
        Reply::Failed(e) => (Ret::Long(-1), Vec::new(), Some(*e)),
        Reply::Pending => unreachable!("checked by the caller"),
    }
}

type Got<'a> = (&'a Ret, &'a [Arg], Option<u32>);

fn check(step: u64, api: &str, got: Got, want: (Ret, Vec<Arg>, Option<u32>)) -> Result<(), String> {
    if *got.0 != want.0 || got.1 != want.1.as_slice() || got.2 != want.2 {
        return Err(format!(
            "step {step}: {api}: kernel {} {:?} (error {:?}), model {} {:?} (error {:?})",
            got.0, got.1, got.2, want.0, want.1, want.2
        ));
    }
    Ok(())
}

/// Replays the worker threads' socket calls on the model and compares every result.
fn compare(r: &RunReport, p: &Program, ends: [HANDLE; 2]) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    if !matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)) {
        return Err(format!("the run ended with {}", r.summary()));
    }
    let main = r
        .trace
        .iter()
        .find(|e| matches!(e.kind, EventKind::Call { .. }))
        .map(|e| e.tid)
        .ok_or("no call in the trace")?;
    let mut model = StreamModel::new(p.rcvbuf, p.sndbuf);
    let mut blocked: BTreeSet<u32> = BTreeSet::new();
    let mut wanted: BTreeMap<u32, (Reply, u64)> = BTreeMap::new();
    let mut sends: BTreeMap<u32, u32> = BTreeMap::new();
    for e in &r.trace {
        let (step, tid) = (e.step, e.tid);
        match &e.kind {
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. }
                if tid != main && APIS.contains(&&**api) =>
            {
                if !wanted.is_empty() {
                    return Err(format!("step {step}: wake-ups {wanted:?} never came"));
                }
                let h = arg(step, args, "s")?.as_handle().ok_or(format!("step {step}: no socket"))?;
                let end = ends.iter().position(|&x| x == h).ok_or(format!("step {step}: unknown socket {h}"))?;
                let outcome: ModelOutcome = match &**api {
                    "send" => {
                        let len = i32_arg(step, args, "len")? as u32;
                        let k = sends.entry(tid).or_insert(0);
                        *k += 1;
                        let d = data(tid, *k - 1, len);
                        if *arg(step, args, "data")? != ArgValue::bytes(&d) {
                            return Err(format!("step {step}: send data {args:?}, the program sent {d:?}"));
                        }
                        model.send(tid, end, &d)
                    }
                    "recv" => model.recv(tid, end, i32_arg(step, args, "len")? as u32),
                    "WSARecv" => match arg(step, args, "len")? {
                        ArgValue::U32(n) => model.recv_overlapped(tid, end, *n),
                        v => return Err(format!("step {step}: WSARecv len {v:?}")),
                    },
                    "WSASend" => {
                        let ArgValue::Bytes { len, .. } = arg(step, args, "data")? else {
                            return Err(format!("step {step}: WSASend data {args:?}"));
                        };
                        let k = sends.entry(tid).or_insert(0);
                        *k += 1;
                        let d = data(tid, *k - 1, *len);
                        if *arg(step, args, "data")? != ArgValue::bytes(&d) {
                            return Err(format!("step {step}: WSASend data {args:?}, the program sent {d:?}"));
                        }
                        model.send_overlapped(tid, end, &d)
                    }
                    "shutdown" => model.shutdown(end, i32_arg(step, args, "how")?),
                    "closesocket" => model.close(end),
                    _ => unreachable!(),
                };
                match (&e.kind, &outcome.reply) {
                    (EventKind::Block { .. }, Reply::Pending) if !OVERLAPPED_APIS.contains(&&**api) => {
                        blocked.insert(tid);
                    }
                    // §22.40: an overlapped call that cannot complete returns SOCKET_ERROR with
                    // WSA_IO_PENDING; its thread then waits in WSAGetOverlappedResult(fWait).
                    (EventKind::Call { ret, error, .. }, Reply::Pending) if OVERLAPPED_APIS.contains(&&**api) => {
                        if *ret != Ret::Long(-1) || error.map(|e| e.0) != Some(WSA_IO_PENDING) {
                            return Err(format!(
                                "step {step}: T{tid}'s {api}: kernel {ret} (error {error:?}), model pending"
                            ));
                        }
                        blocked.insert(tid);
                    }
                    (EventKind::Call { ret, outs, error, .. }, reply) if OVERLAPPED_APIS.contains(&&**api) => {
                        let want = expected_at_once(reply);
                        let bytes: Vec<u32> = outs
                            .iter()
                            .filter(|a| a.name == "bytes")
                            .filter_map(|a| if let ArgValue::U32(n) = a.value { Some(n) } else { None })
                            .collect();
                        let read_ok = match (reply, outs.iter().find(|a| a.name == "read")) {
                            (Reply::Received(d), Some(a)) => a.value == ArgValue::bytes(d),
                            _ => true,
                        };
                        if (ret, &bytes, error.map(|e| e.0)) != (&want.0, &want.1, want.2) || !read_ok {
                            return Err(format!(
                                "step {step}: T{tid}'s {api} at once: kernel {ret} {outs:?} (error {error:?}), model {reply:?}"
                            ));
                        }
                    }
                    (EventKind::Call { ret, outs, error, .. }, reply) if *reply != Reply::Pending => {
                        check(step, api, (ret, outs, error.map(|e| e.0)), expected(reply))?;
                    }
                    (kind, reply) => {
                        return Err(format!(
                            "step {step}: T{tid}'s {api}({args:?}): kernel {}, model {reply:?}",
                            if matches!(kind, EventKind::Block { .. }) { "blocked" } else { "returned" }
                        ));
                    }
                }
                for (t, reply) in outcome.completed {
                    if !blocked.remove(&t) {
                        return Err(format!("step {step}: the model completed T{t}'s call, which is not blocked"));
                    }
                    wanted.insert(t, (reply, e.id));
                }
            }
            EventKind::Call { api, args, .. } if tid != main && api == "setsockopt" => {
                let h = arg(step, args, "s")?.as_handle().ok_or(format!("step {step}: no socket"))?;
                let end = ends.iter().position(|&x| x == h).ok_or(format!("step {step}: unknown socket {h}"))?;
                let outcome = model.linger_zero(end);
                if let EventKind::Call { ret, outs, error, .. } = &e.kind {
                    check(step, api, (ret, outs, error.map(|e| e.0)), expected(&outcome.reply))?;
                }
            }
            EventKind::Wake { api, ret, outs, error, .. } if APIS.contains(&&**api) => {
                let Some((reply, cause)) = wanted.remove(&tid) else {
                    return Err(format!(
                        "step {step}: kernel completed T{tid}'s {api} ({ret}, {outs:?}, error {error:?}), the model did not"
                    ));
                };
                if e.cause != Some(cause) {
                    return Err(format!("step {step}: T{tid}'s {api} woken by {:?}, model: by {cause}", e.cause));
                }
                check(step, api, (ret, outs, error.map(|e| e.0)), expected(&reply))?;
            }
            // The process exits: its handles close, which is no call to compare.
            EventKind::ProcessExit { .. } => break,
            _ => {}
        }
    }
    if !wanted.is_empty() {
        return Err(format!("wake-ups {wanted:?} never came"));
    }
    let model: BTreeSet<u32> = model.waiting().into_iter().collect();
    if blocked != model {
        return Err(format!("blocked at the end: kernel {blocked:?}, model {model:?}"));
    }
    Ok(())
}

/// The number of cases: PROPTEST_CASES from the environment, 64 by default.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§22.5, 22.14-22.20, 22.22, 22.40-22.41 as stated by sim-model's socket module, against the kernel.
    #[test]
    fn kernel_stream_socket_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let (r, ends) = run(&p, seed);
        if let Err(e) = compare(&r, &p, ends) {
            prop_assert!(false, "{}\n{:?}\nseed {}\n{}", e, p, seed, r.trace_text());
        }
    }
}
