//! Kernel versus reference model (sim-model's `mailslot`) on mailslots: random programs
//! (the main thread is the server of one name: it creates the mailslot with a random
//! maximum message size and read time-out, reads, asks for and sets the information,
//! closes and re-creates it; 0-2 reader threads read through the main thread's first
//! server handle, so reads wait side by side and may see their server closed; 1-3 client
//! threads open the name, write, ask for the information and close) run under random seeds, and every mailslot call in the kernel's
//! trace is replayed, in trace order and at its virtual time, on the model. They must
//! agree on each call: return value, last error and out-parameters of a call that
//! completed at once, whether it blocked, and which blocked reads each call (or a
//! time-out) completed with what result. Messages are letters that tell each writer's
//! writes apart, so a read's bytes show which message it took.
//!
//! Section numbers (§N.M) refer to docs/semantics.md §18.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::mailslot::{MailslotModel, Outcome as ModelOutcome, Reply, Side};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

const NAME: &str = r"\\.\mailslot\winsim_model_mailslot";

/// CreateMailslot's parameters.
#[derive(Debug, Clone, Copy)]
struct Spec {
    max: u32,
    timeout: u32,
}

#[derive(Debug, Clone)]
enum ServerOp {
    Read(u32),
    Info,
    SetTimeout(u32),
    /// CloseHandle of the server handle, then CreateMailslot again with this spec.
    Recreate(Spec),
    Sleep(u32),
}

#[derive(Debug, Clone)]
enum ClientOp {
    Open,
    Write(u32),
    Info,
    Close,
    Sleep(u32),
}

#[derive(Debug, Clone)]
struct Program {
    spec: Spec,
    server: Vec<ServerOp>,
    /// Reader threads: each a list of reads (buffer size) and sleeps (`None`: Sleep(5)).
    readers: Vec<Vec<Option<u32>>>,
    clients: Vec<Vec<ClientOp>>,
}

fn timeout() -> impl Strategy<Value = u32> {
    prop_oneof![2 => Just(0u32), 2 => 1u32..30, 1 => Just(MAILSLOT_WAIT_FOREVER)]
}

fn spec() -> impl Strategy<Value = Spec> {
    (prop_oneof![2 => Just(0u32), 1 => 1u32..6], timeout()).prop_map(|(max, timeout)| Spec { max, timeout })
}

fn server_op() -> impl Strategy<Value = ServerOp> {
    prop_oneof![
        5 => prop_oneof![1 => Just(0u32), 4 => 1u32..9].prop_map(ServerOp::Read),
        2 => Just(ServerOp::Info),
        1 => timeout().prop_map(ServerOp::SetTimeout),
        1 => spec().prop_map(ServerOp::Recreate),
        2 => (0u32..20).prop_map(ServerOp::Sleep),
    ]
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    prop_oneof![
        1 => Just(ClientOp::Open),
        5 => prop_oneof![1 => Just(0u32), 4 => 1u32..8].prop_map(ClientOp::Write),
        1 => Just(ClientOp::Info),
        1 => Just(ClientOp::Close),
        2 => (0u32..20).prop_map(ClientOp::Sleep),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    (
        spec(),
        proptest::collection::vec(server_op(), 0..12),
        proptest::collection::vec(
            proptest::collection::vec(prop_oneof![3 => (0u32..9).prop_map(Some), 1 => Just(None)], 0..5),
            0..3,
        ),
        proptest::collection::vec(
            proptest::collection::vec(client_op(), 0..10).prop_map(|ops| {
                let mut all = vec![ClientOp::Open];
                all.extend(ops);
                all
            }),
            1..4,
        ),
    )
        .prop_map(|(spec, server, readers, clients)| Program { spec, server, readers, clients })
}

/// The bytes of the `k`-th write of thread `tid`: letters, different per thread and write.
fn data(tid: u32, k: u32, len: u32) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((tid / 4 * 7 + k * 5 + i) % 26) as u8).collect()
}

async fn client(ctx: ThreadCtx, ops: Vec<ClientOp>) -> u32 {
    // Results are not checked here: compare() reads them from the trace.
    let tid = ctx.get_current_thread_id();
    let mut k = 0;
    let mut h: Option<HANDLE> = None;
    for op in ops {
        match op {
            ClientOp::Open => {
                let x =
                    ctx.create_file(NAME, GENERIC_WRITE, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                if x != INVALID_HANDLE_VALUE {
                    h = Some(x);
                }
            }
            ClientOp::Sleep(ms) => ctx.sleep(ms).await,
            ClientOp::Write(n) => {
                if let Some(w) = h {
                    k += 1;
                    let _ = ctx.write_file(w, &data(tid, k - 1, n), None).await;
                }
            }
            ClientOp::Info => {
                if let Some(w) = h {
                    let _ = ctx.get_mailslot_info(w, None, None, None, None).await;
                }
            }
            ClientOp::Close => {
                if let Some(w) = h.take() {
                    let _ = ctx.close_handle(w).await;
                }
            }
        }
    }
    0
}

fn run(p: &Program, seed: u64) -> RunReport {
    let p = Rc::new(p.clone());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model_mailslot.exe", move |ctx| {
        let p = p.clone();
        async move {
            let mut server = ctx.create_mailslot(Some(NAME), p.spec.max, p.spec.timeout, None).await;
            let mut threads = Vec::new();
            for ops in p.readers.clone() {
                let h = server;
                let body = move |ctx: ThreadCtx| async move {
                    let mut buf = [0u8; 16];
                    for op in ops {
                        match op {
                            Some(n) => {
                                let _ = ctx.read_file(h, &mut buf[..n as usize], None).await;
                            }
                            None => ctx.sleep(5).await,
                        }
                    }
                    0
                };
                let t = ctx.create_thread(None, 0, body, 0, None).await;
                assert!(!t.is_null(), "CreateThread failed");
                threads.push(t);
            }
            for ops in p.clients.clone() {
                let t = ctx.create_thread(None, 0, move |ctx| client(ctx, ops), 0, None).await;
                assert!(!t.is_null(), "CreateThread failed");
                threads.push(t);
            }
            let mut buf = [0u8; 16];
            for op in p.server.clone() {
                match op {
                    ServerOp::Read(n) => {
                        let _ = ctx.read_file(server, &mut buf[..n as usize], None).await;
                    }
                    ServerOp::Info => {
                        let _ = ctx.get_mailslot_info(server, None, None, None, None).await;
                    }
                    ServerOp::SetTimeout(t) => {
                        let _ = ctx.set_mailslot_info(server, t).await;
                    }
                    ServerOp::Recreate(s) => {
                        let _ = ctx.close_handle(server).await;
                        server = ctx.create_mailslot(Some(NAME), s.max, s.timeout, None).await;
                    }
                    ServerOp::Sleep(ms) => ctx.sleep(ms).await,
                }
            }
            ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
            0
        }
    });
    sim.run("model_mailslot.exe")
}

const APIS: [&str; 7] =
    ["CreateMailslot", "CreateFile", "ReadFile", "WriteFile", "GetMailslotInfo", "SetMailslotInfo", "CloseHandle"];

fn arg<'a>(step: u64, args: &'a [Arg], name: &str) -> Result<&'a ArgValue, String> {
    args.iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
        .ok_or_else(|| format!("step {step}: no argument {name:?} in {args:?}"))
}

fn u32_arg(step: u64, args: &[Arg], name: &str) -> Result<u32, String> {
    arg(step, args, name)?.as_u32().ok_or_else(|| format!("step {step}: {name:?} is not a DWORD in {args:?}"))
}

fn handle_arg(step: u64, args: &[Arg], name: &str) -> Result<HANDLE, String> {
    arg(step, args, name)?.as_handle().ok_or_else(|| format!("step {step}: {name:?} is not a handle in {args:?}"))
}

/// What the trace must show for a model reply (not `Created`, `Opened`, `Pending`).
fn expected(api: &str, reply: &Reply) -> (Ret, Vec<Arg>, Option<u32>) {
    let u = |name: &'static str, v: u32| Arg::new(name, ArgValue::U32(v));
    match reply {
        Reply::Read(d) => (Ret::Bool(true), vec![Arg::new("read", ArgValue::bytes(d))], None),
        Reply::Written(n) => (Ret::Bool(true), vec![u("written", *n)], None),
        Reply::Info(m, n, c, t) => {
            (Ret::Bool(true), vec![u("max", *m), u("next", *n), u("count", *c), u("timeout", *t)], None)
        }
        Reply::Done => (Ret::Bool(true), Vec::new(), None),
        Reply::Failed(e) if api == "CreateMailslot" || api == "CreateFile" => {
            (Ret::Handle(INVALID_HANDLE_VALUE), Vec::new(), Some(*e))
        }
        Reply::Failed(e) => (Ret::Bool(false), Vec::new(), Some(*e)),
        Reply::Created(_) | Reply::Opened(_) | Reply::Pending => unreachable!("checked by the caller"),
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

/// Replays the kernel's mailslot calls on the model and compares every result.
fn compare(r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    if !matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)) {
        return Err(format!("the run ended with {}", r.summary()));
    }
    let mut model = MailslotModel::new();
    let mut sides: BTreeMap<HANDLE, Side> = BTreeMap::new();
    // Blocked reads, per the kernel: thread → operation.
    let mut blocked: BTreeMap<u32, u64> = BTreeMap::new();
    // Completions the model predicts: thread → (reply, the event that must cause it, if a call).
    let mut wanted: BTreeMap<u32, (Reply, Option<u64>)> = BTreeMap::new();
    let mut writes: BTreeMap<u32, u32> = BTreeMap::new();
    for e in &r.trace {
        let (step, tid, now) = (e.step, e.tid, e.time_ms);
        match &e.kind {
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. } if APIS.contains(&&**api) => {
                if !wanted.is_empty() {
                    return Err(format!("step {step}: wake-ups {wanted:?} never came"));
                }
                let late = model.time_out(now);
                if !late.is_empty() {
                    return Err(format!("step {step} at {now} ms: the kernel did not time out {late:?}"));
                }
                let op = match &e.kind {
                    EventKind::Block { .. } => Some(e.op.ok_or(format!("step {step}: {api} blocked without an op"))?),
                    _ => None,
                };
                let side_of = |name: &str| -> Result<Side, String> {
                    let h = handle_arg(step, args, name)?;
                    sides.get(&h).copied().ok_or_else(|| format!("step {step}: {api} on unknown handle {h}"))
                };
                // A reader thread's handle may have been closed by the main thread: a read
                // on a handle that names no mailslot fails with ERROR_INVALID_HANDLE.
                let stale = api == "ReadFile" && !sides.contains_key(&handle_arg(step, args, "handle")?);
                let outcome: ModelOutcome = match &**api {
                    _ if stale => Reply::Failed(ERROR_INVALID_HANDLE.0).into(),
                    "CreateMailslot" => model
                        .create(u32_arg(step, args, "max_message_size")?, u32_arg(step, args, "read_timeout_ms")?)
                        .into(),
                    "CreateFile" => model.open().into(),
                    "ReadFile" => model.read(side_of("handle")?, tid, u32_arg(step, args, "len")?, now).into(),
                    "WriteFile" => {
                        let side = side_of("handle")?;
                        let ArgValue::Bytes { len, .. } = *arg(step, args, "data")? else {
                            return Err(format!("step {step}: WriteFile data {args:?}"));
                        };
                        let k = writes.entry(tid).or_insert(0);
                        *k += 1;
                        let d = data(tid, *k - 1, len);
                        if *arg(step, args, "data")? != ArgValue::bytes(&d) {
                            return Err(format!("step {step}: WriteFile data {args:?}, the program wrote {d:?}"));
                        }
                        model.write(side, &d)
                    }
                    "GetMailslotInfo" => model.info(side_of("mailslot")?).into(),
                    "SetMailslotInfo" => {
                        model.set_timeout(side_of("mailslot")?, u32_arg(step, args, "read_timeout_ms")?).into()
                    }
                    "CloseHandle" => {
                        let h = handle_arg(step, args, "handle")?;
                        let side =
                            sides.remove(&h).ok_or_else(|| format!("step {step}: CloseHandle of unknown {h}"))?;
                        model.close(side)
                    }
                    _ => unreachable!(),
                };
                match (op, &e.kind, &outcome.reply) {
                    (Some(op), _, Reply::Pending) => {
                        blocked.insert(tid, op);
                    }
                    (None, EventKind::Call { ret, outs, error, .. }, Reply::Created(_) | Reply::Opened(_)) => {
                        let Ret::Handle(h) = *ret else { return Err(format!("step {step}: {api} returned {ret}")) };
                        if h.is_null() || h == INVALID_HANDLE_VALUE || !outs.is_empty() || error.is_some() {
                            return Err(format!(
                                "step {step}: {api}: kernel {ret} (error {error:?}), model {:?}",
                                outcome.reply
                            ));
                        }
                        let side = match outcome.reply {
                            Reply::Created(i) => Side::Server(i),
                            Reply::Opened(c) => Side::Client(c),
                            _ => unreachable!(),
                        };
                        sides.insert(h, side);
                    }
                    (None, EventKind::Call { ret, outs, error, .. }, reply) if *reply != Reply::Pending => {
                        check(step, api, (ret, outs, error.map(|e| e.0)), expected(api, reply))?;
                    }
                    (_, kind, reply) => {
                        return Err(format!(
                            "step {step}: T{tid}'s {api}({args:?}): kernel {}, model {reply:?}",
                            if matches!(kind, EventKind::Block { .. }) { "blocked" } else { "returned" }
                        ));
                    }
                }
                for (t, reply) in outcome.completed {
                    if blocked.remove(&t).is_none() {
                        return Err(format!("step {step}: the model completed T{t}'s read, which is not blocked"));
                    }
                    wanted.insert(t, (reply, Some(e.id)));
                }
            }
            EventKind::Wake { api, ret, outs, error, .. } if api == "ReadFile" => {
                if !wanted.contains_key(&tid) {
                    // Not completed by a call: a time-out, which the model must also see now.
                    for (t, reply) in model.time_out(now) {
                        if blocked.remove(&t).is_none() {
                            return Err(format!("step {step}: the model timed out T{t}'s read, which is not blocked"));
                        }
                        wanted.insert(t, (reply, None));
                    }
                }
                let Some((reply, cause)) = wanted.remove(&tid) else {
                    return Err(format!(
                        "step {step} at {now} ms: kernel completed T{tid}'s ReadFile ({ret}, {outs:?}, error \
                         {error:?}), the model did not"
                    ));
                };
                if cause.is_some() && e.cause != cause {
                    return Err(format!("step {step}: T{tid}'s read woken by {:?}, model: by {cause:?}", e.cause));
                }
                check(step, api, (ret, outs, error.map(|e| e.0)), expected(api, &reply))?;
            }
            EventKind::Wake { api, .. } if APIS.contains(&&**api) => {
                return Err(format!("step {step}: a {api} was woken; only reads wait"));
            }
            // The process exits: its handles close, which is no call to compare.
            EventKind::ProcessExit { .. } => break,
            _ => {}
        }
    }
    if !wanted.is_empty() {
        return Err(format!("wake-ups {wanted:?} never came"));
    }
    let kernel: BTreeSet<u32> = blocked.keys().copied().collect();
    let model: BTreeSet<u32> = model.waiting().into_iter().collect();
    if kernel != model {
        return Err(format!("blocked at the end: kernel {kernel:?}, model {model:?}"));
    }
    Ok(())
}

/// The number of cases: PROPTEST_CASES from the environment, 64 by default.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§18.2-18.5, 18.7-18.17 as stated by sim-model's mailslot module, against the kernel.
    #[test]
    fn kernel_mailslot_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        if let Err(e) = compare(&r) {
            prop_assert!(false, "{}\n{:?}\nseed {}\n{}", e, p, seed, r.trace_text());
        }
    }
}
