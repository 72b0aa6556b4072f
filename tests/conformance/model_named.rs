//! Kernel versus reference model (sim-model's `named_pipe`) on named pipes and message
//! mode: random programs (1-2 instances of one pipe name, each of random type, read mode,
//! PIPE_WAIT or PIPE_NOWAIT and small quotas, owned by the main thread acting as the
//! server; 1-3 client threads) run under random seeds, and every named-pipe call in the
//! kernel's trace is replayed, in trace order, on the model. They must agree on each
//! call: return value, last error and out-parameters (bytes read, written, peeked, avail
//! and left) of a call that completed at once, blocked or not, and which blocked calls
//! each call completed (each Wake paired with its Block by operation, caused by that call)
//! with what result. The trace is read as typed events only.
//!
//! The server calls CreateNamedPipe, ConnectNamedPipe, DisconnectNamedPipe, ReadFile,
//! WriteFile, PeekNamedPipe, TransactNamedPipe and CloseHandle; a client CreateFile,
//! WriteFile, ReadFile, PeekNamedPipe, SetNamedPipeHandleState (read mode), TransactNamedPipe
//! and CloseHandle. Every thread uses only its own handles, so no call ever waits for a
//! synchronous file object's lock (§1.A; the model has no such lock), and a call pending on
//! an end is the only call on that end.
//!
//! # Kernel bugs it found (all fixed)
//!
//! 1. A zero-length WriteFile on a message-type pipe whose unread bytes already exceeded
//!    the quota blocked; Windows completes it at once (§2.7).
//! 2. SetNamedPipeHandleState and TransactNamedPipe on a client whose server disconnected
//!    did not fail with ERROR_PIPE_NOT_CONNECTED as every other call does (§6.12,
//!    [inferred] for these two calls).
//! 3. Closing an end with an unread empty message queued ended the run as a
//!    SimulatorBug, and dropped empty messages the peer still reads (§3.8).
//! 4. A PIPE_NOWAIT write that did not fit wrote what fitted, deciding before waiting reads
//!    took their part; Windows writes all when the rest fits after the reads, else only
//!    what the reads took on a byte pipe and nothing on a message pipe (§§2.12, 2.13).
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::named_pipe::{End, Mode, NamedPipeModel, Outcome as ModelOutcome, Reply};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

const NAME: &str = r"\\.\pipe\winsim_model_named";

#[derive(Debug, Clone)]
struct InstSpec {
    message: bool,
    message_read: bool,
    nowait: bool,
    out_quota: u32,
    in_quota: u32,
}

/// A server operation on instance `i % instances` (skipped if that instance could not be
/// created or is closed).
#[derive(Debug, Clone)]
enum ServerOp {
    Connect(usize),
    Disconnect(usize),
    Read(usize, u32),
    Write(usize, u32),
    Peek(usize, u32),
    Transact(usize, u32, u32),
    Close(usize),
}

/// A client operation on its current handle (skipped if it has none; `Open` replaces it,
/// leaving an older one open).
#[derive(Debug, Clone)]
enum ClientOp {
    Open,
    Write(u32),
    Read(u32),
    Peek(u32),
    /// SetNamedPipeHandleState: message read mode (TRUE) or byte read mode, PIPE_WAIT.
    ReadMode(bool),
    Transact(u32, u32),
    Close,
}

#[derive(Debug, Clone)]
struct Program {
    max_instances: u32,
    instances: Vec<InstSpec>,
    server: Vec<ServerOp>,
    clients: Vec<Vec<ClientOp>>,
}

fn quota() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 4 => 1u32..12]
}

fn write_len() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 4 => 1u32..10]
}

fn read_len() -> impl Strategy<Value = u32> {
    prop_oneof![1 => Just(0u32), 1 => 1u32..3, 3 => 1u32..14]
}

fn inst_spec() -> impl Strategy<Value = InstSpec> {
    let message = prop_oneof![1 => Just(false), 2 => Just(true)];
    (message, any::<bool>(), prop_oneof![4 => Just(false), 1 => Just(true)], quota(), quota()).prop_map(
        |(message, read, nowait, out_quota, in_quota)| InstSpec {
            message,
            message_read: message && read,
            nowait,
            out_quota,
            in_quota,
        },
    )
}

fn server_op() -> impl Strategy<Value = ServerOp> {
    let i = 0usize..2;
    prop_oneof![
        2 => i.clone().prop_map(ServerOp::Connect),
        2 => i.clone().prop_map(ServerOp::Disconnect),
        4 => (i.clone(), read_len()).prop_map(|(i, n)| ServerOp::Read(i, n)),
        4 => (i.clone(), write_len()).prop_map(|(i, n)| ServerOp::Write(i, n)),
        2 => (i.clone(), read_len()).prop_map(|(i, n)| ServerOp::Peek(i, n)),
        2 => (i.clone(), write_len(), read_len()).prop_map(|(i, w, r)| ServerOp::Transact(i, w, r)),
        1 => i.prop_map(ServerOp::Close),
    ]
}

fn client_op() -> impl Strategy<Value = ClientOp> {
    prop_oneof![
        1 => Just(ClientOp::Open),
        3 => write_len().prop_map(ClientOp::Write),
        3 => read_len().prop_map(ClientOp::Read),
        2 => read_len().prop_map(ClientOp::Peek),
        1 => any::<bool>().prop_map(ClientOp::ReadMode),
        2 => (write_len(), read_len()).prop_map(|(w, r)| ClientOp::Transact(w, r)),
        1 => Just(ClientOp::Close),
    ]
}

/// A client opens the pipe first, and often switches to message read mode (for its reads
/// and TransactNamedPipe), then does random operations.
fn client_ops() -> impl Strategy<Value = Vec<ClientOp>> {
    (any::<bool>(), proptest::collection::vec(client_op(), 0..10)).prop_map(|(message, ops)| {
        let mut all = vec![ClientOp::Open];
        if message {
            all.push(ClientOp::ReadMode(true));
        }
        all.extend(ops);
        all
    })
}

/// The server first waits for a client on each instance in turn (or sees it listening, if
/// PIPE_NOWAIT), then does random operations.
fn program() -> impl Strategy<Value = Program> {
    (
        1u32..4,
        proptest::collection::vec(inst_spec(), 1..3),
        proptest::collection::vec(server_op(), 0..12),
        proptest::collection::vec(client_ops(), 1..4),
    )
        .prop_map(|(max_instances, instances, ops, clients)| {
            let mut server: Vec<ServerOp> = (0..instances.len()).map(ServerOp::Connect).collect();
            server.extend(ops);
            Program { max_instances, instances, server, clients }
        })
}

/// The bytes of the `k`-th write (or transaction) of thread `tid`: letters, so the trace's
/// preview of a buffer (up to 24 bytes, every buffer here is shorter) is the whole buffer,
/// and different writes differ.
fn data(tid: u32, k: u32, len: u32) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((tid / 4 * 7 + k * 5 + i) % 26) as u8).collect()
}

/// A thread's writes and transactions, counted to build their data.
struct Writer {
    tid: u32,
    k: u32,
}

impl Writer {
    fn next(&mut self, len: u32) -> Vec<u8> {
        self.k += 1;
        data(self.tid, self.k - 1, len)
    }
}

async fn client(ctx: ThreadCtx, ops: Vec<ClientOp>) -> u32 {
    // Results are not checked here: compare() reads them from the trace.
    let mut w = Writer { tid: ctx.get_current_thread_id(), k: 0 };
    let mut h: Option<HANDLE> = None;
    let mut buf = [0u8; 16];
    for op in ops {
        if let ClientOp::Open = op {
            let x = ctx.create_file(NAME, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
            if x != INVALID_HANDLE_VALUE {
                h = Some(x);
            }
            continue;
        }
        let Some(p) = h else { continue };
        match op {
            ClientOp::Open => unreachable!(),
            ClientOp::Write(n) => {
                let _ = ctx.write_file(p, &w.next(n), None).await;
            }
            ClientOp::Read(n) => {
                let _ = ctx.read_file(p, &mut buf[..n as usize], None).await;
            }
            ClientOp::Peek(n) => {
                let _ = ctx.peek_named_pipe(p, Some(&mut buf[..n as usize]), None, None, None).await;
            }
            ClientOp::ReadMode(message) => {
                let mode = if message { PIPE_READMODE_MESSAGE } else { PIPE_READMODE_BYTE };
                let _ = ctx.set_named_pipe_handle_state(p, Some(mode | PIPE_WAIT), None, None).await;
            }
            ClientOp::Transact(wn, rn) => {
                let _ = ctx.transact_named_pipe(p, &w.next(wn), &mut buf[..rn as usize], None, None).await;
            }
            ClientOp::Close => {
                let _ = ctx.close_handle(p).await;
                h = None;
            }
        }
    }
    0
}

fn run(p: &Program, seed: u64) -> RunReport {
    let p = Rc::new(p.clone());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model_named.exe", move |ctx| {
        let p = p.clone();
        async move {
            let mut servers: Vec<Option<HANDLE>> = Vec::new();
            for s in &p.instances {
                let mode = (if s.message { PIPE_TYPE_MESSAGE } else { PIPE_TYPE_BYTE })
                    | (if s.message_read { PIPE_READMODE_MESSAGE } else { PIPE_READMODE_BYTE })
                    | (if s.nowait { PIPE_NOWAIT } else { PIPE_WAIT });
                let h = ctx
                    .create_named_pipe(
                        NAME,
                        PIPE_ACCESS_DUPLEX,
                        mode,
                        p.max_instances,
                        s.out_quota,
                        s.in_quota,
                        0,
                        None,
                    )
                    .await;
                servers.push((h != INVALID_HANDLE_VALUE).then_some(h));
            }
            let mut threads = Vec::new();
            for ops in p.clients.clone() {
                let t = ctx.create_thread(None, 0, move |ctx| client(ctx, ops), 0, None).await;
                assert!(!t.is_null(), "CreateThread failed");
                threads.push(t);
            }
            let mut w = Writer { tid: ctx.get_current_thread_id(), k: 0 };
            let mut buf = [0u8; 16];
            let n = servers.len();
            for op in p.server.clone() {
                let i = match op {
                    ServerOp::Connect(i)
                    | ServerOp::Disconnect(i)
                    | ServerOp::Read(i, _)
                    | ServerOp::Write(i, _)
                    | ServerOp::Peek(i, _)
                    | ServerOp::Transact(i, _, _)
                    | ServerOp::Close(i) => i % n,
                };
                let Some(h) = servers[i] else { continue };
                match op {
                    ServerOp::Connect(_) => {
                        let _ = ctx.connect_named_pipe(h, None).await;
                    }
                    ServerOp::Disconnect(_) => {
                        let _ = ctx.disconnect_named_pipe(h).await;
                    }
                    ServerOp::Read(_, len) => {
                        let _ = ctx.read_file(h, &mut buf[..len as usize], None).await;
                    }
                    ServerOp::Write(_, len) => {
                        let _ = ctx.write_file(h, &w.next(len), None).await;
                    }
                    ServerOp::Peek(_, len) => {
                        let _ = ctx.peek_named_pipe(h, Some(&mut buf[..len as usize]), None, None, None).await;
                    }
                    ServerOp::Transact(_, wn, rn) => {
                        let _ = ctx.transact_named_pipe(h, &w.next(wn), &mut buf[..rn as usize], None, None).await;
                    }
                    ServerOp::Close(_) => {
                        let _ = ctx.close_handle(h).await;
                        servers[i] = None;
                    }
                }
            }
            ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
            0
        }
    });
    sim.run("model_named.exe")
}

const PIPE_APIS: [&str; 9] = [
    "CreateNamedPipe",
    "CreateFile",
    "ConnectNamedPipe",
    "DisconnectNamedPipe",
    "SetNamedPipeHandleState",
    "ReadFile",
    "WriteFile",
    "PeekNamedPipe",
    "TransactNamedPipe",
];

/// The argument `name` of a traced call.
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

/// A call's result as the trace records it: return value, out-parameters, last error.
type Got<'a> = (&'a Ret, &'a [Arg], Option<u32>);

/// What the trace must show for a model reply to `api` (not `Pending`, `Opened`,
/// `Created`: those are checked where they occur).
fn expected(api: &str, reply: &Reply) -> (Ret, Vec<Arg>, Option<u32>) {
    let handle_api = api == "CreateFile" || api == "CreateNamedPipe";
    let u = |name: &'static str, v: u32| Arg::new(name, ArgValue::U32(v));
    match reply {
        Reply::Done => (Ret::Bool(true), Vec::new(), None),
        Reply::Read(d) => (Ret::Bool(true), vec![Arg::new("read", ArgValue::bytes(d))], None),
        Reply::MoreData(d) => (Ret::Bool(false), vec![Arg::new("read", ArgValue::bytes(d))], Some(ERROR_MORE_DATA.0)),
        Reply::Written(n) => (Ret::Bool(true), vec![u("written", *n)], None),
        Reply::Peek { data, avail, left } => {
            (Ret::Bool(true), vec![Arg::new("read", ArgValue::bytes(data)), u("avail", *avail), u("left", *left)], None)
        }
        Reply::Failed(e) if handle_api => (Ret::Handle(INVALID_HANDLE_VALUE), Vec::new(), Some(*e)),
        Reply::Failed(e) => (Ret::Bool(false), Vec::new(), Some(*e)),
        Reply::Opened(_) | Reply::Created(_) | Reply::Pending => unreachable!("checked by the caller"),
    }
}

fn check(step: u64, api: &str, got: Got, want: (Ret, Vec<Arg>, Option<u32>)) -> Result<(), String> {
    if *got.0 != want.0 || got.1 != want.1.as_slice() || got.2 != want.2 {
        return Err(format!(
            "step {step}: {api}: kernel {} {:?} (error {:?}), model {} {:?} (error {:?})",
            got.0, got.1, got.2, want.0, want.1, want.2
        ));
    }
    Ok(())
}

/// A blocked call, per the kernel: its operation and API.
#[derive(Debug, Clone, Copy)]
struct Blocked {
    op: u64,
    api: &'static str,
}

/// A completion the model predicts for a blocked call: its thread, API, result, and the
/// id of the call event that must be its cause.
#[derive(Debug)]
struct Wanted {
    tid: u32,
    api: &'static str,
    reply: Reply,
    cause: u64,
}

fn api_name(api: &str) -> &'static str {
    PIPE_APIS.iter().find(|a| **a == api).copied().unwrap_or("?")
}

/// Replays the kernel's named-pipe calls on the model and compares every result.
fn compare(r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    if !matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)) {
        return Err(format!("the run ended with {}", r.summary()));
    }
    let mut model = NamedPipeModel::new();
    let mut ends: BTreeMap<HANDLE, End> = BTreeMap::new();
    let mut blocked: BTreeMap<u32, Blocked> = BTreeMap::new();
    let mut wanted: BTreeMap<u64, Wanted> = BTreeMap::new();
    let mut writes: BTreeMap<u32, u32> = BTreeMap::new();
    for e in &r.trace {
        let (step, tid) = (e.step, e.tid);
        match &e.kind {
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. }
                if PIPE_APIS.contains(&&**api) || api == "CloseHandle" =>
            {
                if !wanted.is_empty() {
                    return Err(format!("step {step}: wake-ups {wanted:?} never came"));
                }
                let op = match &e.kind {
                    EventKind::Block { lock_wait: true, .. } => {
                        return Err(format!("step {step}: T{tid}'s {api} waits for a file object's lock"));
                    }
                    EventKind::Block { .. } => Some(e.op.ok_or(format!("step {step}: {api} blocked without an op"))?),
                    _ => None,
                };
                let end_of = |name: &str| -> Result<End, String> {
                    let h = handle_arg(step, args, name)?;
                    ends.get(&h).copied().ok_or_else(|| format!("step {step}: {api} on unknown handle {h}"))
                };
                let mut next_data = |len: u32| {
                    let k = writes.entry(tid).or_insert(0);
                    *k += 1;
                    data(tid, *k - 1, len)
                };
                let check_data = |name: &str, d: &[u8]| -> Result<(), String> {
                    if *arg(step, args, name)? != ArgValue::bytes(d) {
                        return Err(format!("step {step}: {api} {name} {args:?}, the program wrote {d:?}"));
                    }
                    Ok(())
                };
                let outcome: ModelOutcome = match &**api {
                    "CreateNamedPipe" => {
                        let mode = u32_arg(step, args, "pipe_mode")?;
                        let reply = model.create_instance(
                            mode & PIPE_TYPE_MESSAGE != 0,
                            Mode { message_read: mode & PIPE_READMODE_MESSAGE != 0, nowait: mode & PIPE_NOWAIT != 0 },
                            u32_arg(step, args, "max_instances")?,
                            u32_arg(step, args, "out_buffer_size")?,
                            u32_arg(step, args, "in_buffer_size")?,
                        );
                        ModelOutcome { reply, completed: Vec::new() }
                    }
                    "CreateFile" => model.open_client(),
                    "ConnectNamedPipe" => match end_of("pipe")? {
                        End::Server(i) => model.connect(i, tid),
                        End::Client(_) => return Err(format!("step {step}: ConnectNamedPipe on a client")),
                    },
                    "DisconnectNamedPipe" => match end_of("pipe")? {
                        End::Server(i) => model.disconnect(i),
                        End::Client(_) => return Err(format!("step {step}: DisconnectNamedPipe on a client")),
                    },
                    "SetNamedPipeHandleState" => {
                        let end = end_of("pipe")?;
                        let bits = u32_arg(step, args, "mode")?;
                        let mode =
                            Mode { message_read: bits & PIPE_READMODE_MESSAGE != 0, nowait: bits & PIPE_NOWAIT != 0 };
                        ModelOutcome { reply: model.set_mode(end, mode), completed: Vec::new() }
                    }
                    "ReadFile" => model.read(end_of("handle")?, tid, u32_arg(step, args, "len")?),
                    "PeekNamedPipe" => ModelOutcome {
                        reply: model.peek(end_of("handle")?, u32_arg(step, args, "len")?),
                        completed: Vec::new(),
                    },
                    "WriteFile" => {
                        let end = end_of("handle")?;
                        let ArgValue::Bytes { len, .. } = *arg(step, args, "data")? else {
                            return Err(format!("step {step}: WriteFile data {args:?}"));
                        };
                        let d = next_data(len);
                        check_data("data", &d)?;

                        model.write(end, tid, &d)
                    }
                    "TransactNamedPipe" => {
                        let end = end_of("pipe")?;
                        let ArgValue::Bytes { len, .. } = *arg(step, args, "data")? else {
                            return Err(format!("step {step}: TransactNamedPipe data {args:?}"));
                        };
                        let d = next_data(len);
                        check_data("data", &d)?;
                        model.transact(end, tid, &d, u32_arg(step, args, "len")?)
                    }
                    "CloseHandle" => {
                        let h = handle_arg(step, args, "handle")?;
                        let end = ends.remove(&h).ok_or_else(|| format!("step {step}: CloseHandle of unknown {h}"))?;
                        model.close(end)
                    }
                    _ => unreachable!(),
                };
                match (op, &e.kind, &outcome.reply) {
                    (Some(op), _, Reply::Pending) => {
                        blocked.insert(tid, Blocked { op, api: api_name(api) });
                    }
                    (None, EventKind::Call { ret, outs, error, .. }, Reply::Opened(_) | Reply::Created(_)) => {
                        let Ret::Handle(h) = *ret else {
                            return Err(format!("step {step}: {api} returned {ret}"));
                        };
                        if h.is_null() || h == INVALID_HANDLE_VALUE || !outs.is_empty() || error.is_some() {
                            return Err(format!(
                                "step {step}: {api}: kernel {ret} (error {error:?}), model {:?}",
                                outcome.reply
                            ));
                        }
                        let end = match outcome.reply {
                            Reply::Opened(c) => End::Client(c),
                            Reply::Created(i) => End::Server(i),
                            _ => unreachable!(),
                        };
                        ends.insert(h, end);
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
                    let b = blocked
                        .remove(&t)
                        .ok_or(format!("step {step}: the model completed T{t}'s call, not blocked"))?;
                    wanted.insert(b.op, Wanted { tid: t, api: b.api, reply, cause: e.id });
                }
            }
            EventKind::Wake { api, ret, outs, error, .. } if PIPE_APIS.contains(&&**api) => {
                let want = e.op.and_then(|op| wanted.remove(&op));
                let Some(want) = want else {
                    return Err(format!(
                        "step {step}: kernel completed T{tid}'s {api} (op {:?}: {ret}, {outs:?}, error {error:?}), the \
                         model did not",
                        e.op
                    ));
                };
                if want.tid != tid || want.api != api || e.cause != Some(want.cause) {
                    return Err(format!(
                        "step {step}: kernel woke T{tid}'s {api} (cause {:?}); model: {want:?}",
                        e.cause
                    ));
                }
                check(step, api, (ret, outs, error.map(|e| e.0)), expected(api, &want.reply))
                    .map_err(|m| format!("{m} (woken by event {})", want.cause))?;
            }
            EventKind::Granted { .. } => return Err(format!("step {step}: a file object's lock was granted")),
            // The process exits: its handles close, which is no call to compare.
            EventKind::ProcessExit { .. } => break,
            _ => {}
        }
    }
    if !wanted.is_empty() {
        return Err(format!("wake-ups {wanted:?} never came"));
    }
    if !matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)) {
        return Err(format!("the run ended with {} at a call the model did not expect", r.outcome.kind()));
    }
    // Whatever is left blocked is what the model says is still waiting.
    let kernel: BTreeSet<u32> = blocked.keys().copied().collect();
    let model: BTreeSet<u32> = model.waiting().into_iter().collect();
    if kernel != model {
        return Err(format!("blocked at the end: kernel {kernel:?}, model {model:?}"));
    }
    Ok(())
}

/// The number of cases: PROPTEST_CASES from the environment, 200 by default (about a
/// tenth of a second).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§2.1-2.7, 2.11, 3.1-3.9, 4.1-4.7, 5.1-5.5, 5.7, 5.8, 6.3, 6.6-6.13, 6.15 as stated
    /// by sim-model's named_pipe module, against the kernel.
    #[test]
    fn kernel_named_pipe_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        if let Err(e) = compare(&r) {
            prop_assert!(false, "{}\n{:?}\nseed {}\n{}", e, p, seed, r.trace_text());
        }
    }
}
