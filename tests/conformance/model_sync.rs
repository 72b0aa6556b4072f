//! Kernel versus reference model (sim-model's `sync`) on events, mutexes and semaphores:
//! random programs (a few objects, 2-3 threads setting, resetting and pulsing events,
//! releasing mutexes and semaphores, waiting on one or several objects with time-outs
//! 0, small or INFINITE, exiting while owning mutexes) run under random seeds, and every
//! call on those objects in the kernel's trace is replayed, in order, on the model. They
//! must agree on each call: the return value and last error of a call that completed at
//! once, blocked or not, and which blocked waiters each state change released with which
//! wait code. When several waiters compete, the kernel's choice (its Wake events) must be
//! one the model allows, and the model then follows it.
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, Event, EventKind, Ret};
use sim_model::sync::{ObjectId, SyncModel, WaitOutcome};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Debug, Clone)]
enum ObjSpec {
    Event {
        manual: bool,
        initial: bool,
    },
    /// `owned`: created by the main thread with bInitialOwner = TRUE.
    Mutex {
        owned: bool,
    },
    Semaphore {
        initial: i32,
        maximum: i32,
    },
}

/// An operation of a thread. Object numbers pick among the objects of the right type
/// (modulo their number); an operation with no object of its type is skipped.
#[derive(Debug, Clone)]
enum Op {
    Set(usize),
    Reset(usize),
    Pulse(usize),
    ReleaseMutex(usize),
    ReleaseSemaphore(usize, i32),
    /// WaitForSingleObject on the first object, or WaitForMultipleObjects (any or all).
    Wait {
        objects: Vec<usize>,
        single: bool,
        all: bool,
        timeout_ms: u32,
    },
    /// ExitThread (abandoning what it owns).
    Exit,
}

#[derive(Debug, Clone)]
struct Program {
    objects: Vec<ObjSpec>,
    /// Thread 0 is the main thread: it creates the objects, starts the others, runs its
    /// operations and then waits for the others to end.
    threads: Vec<Vec<Op>>,
}

fn obj_spec() -> impl Strategy<Value = ObjSpec> {
    prop_oneof![
        (any::<bool>(), any::<bool>()).prop_map(|(manual, initial)| ObjSpec::Event { manual, initial }),
        prop_oneof![4 => Just(false), 1 => Just(true)].prop_map(|owned| ObjSpec::Mutex { owned }),
        (1i32..4)
            .prop_flat_map(|maximum| (0..=maximum, Just(maximum)))
            .prop_map(|(initial, maximum)| ObjSpec::Semaphore { initial, maximum }),
    ]
}

fn timeout() -> impl Strategy<Value = u32> {
    prop_oneof![2 => Just(0u32), 5 => 1u32..4, 2 => Just(INFINITE)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0usize..4).prop_map(Op::Set),
        1 => (0usize..4).prop_map(Op::Reset),
        1 => (0usize..4).prop_map(Op::Pulse),
        2 => (0usize..4).prop_map(Op::ReleaseMutex),
        2 => (0usize..4, 1i32..4).prop_map(|(i, n)| Op::ReleaseSemaphore(i, n)),
        6 => (proptest::collection::vec(0usize..6, 1..4), any::<bool>(), any::<bool>(), timeout())
            .prop_map(|(objects, single, all, timeout_ms)| Op::Wait { objects, single, all, timeout_ms }),
        1 => Just(Op::Exit),
    ]
}

fn program() -> impl Strategy<Value = Program> {
    let threads = prop_oneof![1 => Just(2usize), 3 => Just(3usize)];
    let threads = threads.prop_flat_map(|n| proptest::collection::vec(proptest::collection::vec(op(), 0..16), n));
    (proptest::collection::vec(obj_spec(), 1..4), threads).prop_map(|(objects, threads)| Program { objects, threads })
}

/// The handles of the objects, by type, in creation order.
#[derive(Debug, Clone, Default)]
struct Handles {
    all: Vec<HANDLE>,
    events: Vec<HANDLE>,
    mutexes: Vec<HANDLE>,
    semaphores: Vec<HANDLE>,
}

fn pick(hs: &[HANDLE], i: usize) -> Option<HANDLE> {
    (!hs.is_empty()).then(|| hs[i % hs.len()])
}

/// Runs a thread's operations; returns early at `Op::Exit`.
async fn run_ops(ctx: &ThreadCtx, ops: &[Op], h: &Handles) {
    for op in ops {
        match op {
            Op::Set(i) => {
                if let Some(e) = pick(&h.events, *i) {
                    ctx.set_event(e).await;
                }
            }
            Op::Reset(i) => {
                if let Some(e) = pick(&h.events, *i) {
                    ctx.reset_event(e).await;
                }
            }
            Op::Pulse(i) => {
                if let Some(e) = pick(&h.events, *i) {
                    ctx.pulse_event(e).await;
                }
            }
            Op::ReleaseMutex(i) => {
                if let Some(m) = pick(&h.mutexes, *i) {
                    let _ = ctx.release_mutex(m).await;
                }
            }
            Op::ReleaseSemaphore(i, n) => {
                if let Some(s) = pick(&h.semaphores, *i) {
                    let mut prev = 0;
                    let _ = ctx.release_semaphore(s, *n, Some(&mut prev)).await;
                }
            }
            Op::Wait { objects, single, all, timeout_ms } => {
                let hs: Vec<HANDLE> = objects.iter().map(|&i| h.all[i % h.all.len()]).collect();
                if *single {
                    ctx.wait_for_single_object(hs[0], *timeout_ms).await;
                } else {
                    ctx.wait_for_multiple_objects(&hs, *all, *timeout_ms).await;
                }
            }
            Op::Exit => {
                ctx.exit_thread(0).await;
                return;
            }
        }
    }
}

fn run(p: &Program, seed: u64) -> RunReport {
    let p = Rc::new(p.clone());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model_sync.exe", move |ctx| {
        let p = p.clone();
        async move {
            let mut h = Handles::default();
            for spec in &p.objects {
                let handle = match *spec {
                    ObjSpec::Event { manual, initial } => {
                        let e = ctx.create_event(None, manual, initial, None).await;
                        h.events.push(e);
                        e
                    }
                    ObjSpec::Mutex { owned } => {
                        let m = ctx.create_mutex(None, owned, None).await;
                        h.mutexes.push(m);
                        m
                    }
                    ObjSpec::Semaphore { initial, maximum } => {
                        let s = ctx.create_semaphore(None, initial, maximum, None).await;
                        h.semaphores.push(s);
                        s
                    }
                };
                assert!(!handle.is_null(), "creating {spec:?} failed");
                h.all.push(handle);
            }
            let h = Rc::new(h);
            let mut workers = Vec::new();
            for ops in &p.threads[1..] {
                let (ops, h) = (ops.clone(), h.clone());
                let t = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            run_ops(&ctx, &ops, &h).await;
                            0
                        },
                        0,
                        None,
                    )
                    .await;
                assert!(!t.is_null());
                workers.push(t);
            }
            run_ops(&ctx, &p.threads[0], &h).await;
            ctx.wait_for_multiple_objects(&workers, true, INFINITE).await;
            0
        }
    });
    sim.run("model_sync.exe")
}

const WAIT_APIS: [&str; 2] = ["WaitForSingleObject", "WaitForMultipleObjects"];

/// The argument `name` of a traced call.
fn arg<'a>(step: u64, args: &'a [Arg], name: &str) -> Result<&'a ArgValue, String> {
    args.iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
        .ok_or_else(|| format!("step {step}: no argument {name:?} in {args:?}"))
}

/// The handle argument `name` of a traced call.
fn handle_arg(step: u64, args: &[Arg], name: &str) -> Result<HANDLE, String> {
    arg(step, args, name)?.as_handle().ok_or_else(|| format!("step {step}: {name:?} is not a handle in {args:?}"))
}

/// A wait's arguments from the trace: handles, bWaitAll, time-out.
fn wait_args(step: u64, api: &str, args: &[Arg]) -> Result<(Vec<HANDLE>, bool, u32), String> {
    let timeout_ms = match arg(step, args, "timeout_ms")? {
        ArgValue::Timeout(t) => *t,
        v => return Err(format!("step {step}: {api} time-out {v:?}")),
    };
    if api == "WaitForSingleObject" {
        return Ok((vec![handle_arg(step, args, "handle")?], false, timeout_ms));
    }
    let ArgValue::Handles(hs) = arg(step, args, "handles")? else {
        return Err(format!("step {step}: {api} handles {args:?}"));
    };
    let ArgValue::Bool(all) = *arg(step, args, "wait_all")? else {
        return Err(format!("step {step}: {api} wait_all {args:?}"));
    };
    Ok((hs.clone(), all, timeout_ms))
}

/// A call's result as the trace records it: return value, out-parameters, last error.
type Got<'a> = (&'a Ret, &'a [Arg], Option<Win32Error>);

/// A wait that blocked on the model's objects, per the kernel's trace.
#[derive(Debug, Clone, Copy)]
struct BlockedWait {
    tid: u32,
    timeout_ms: u32,
    since_ms: u64,
}

/// The replay: the trace, a cursor in it, and the model.
struct Replay<'a> {
    trace: &'a [Event],
    /// Index of the next event to read.
    next: usize,
    model: SyncModel,
    /// Handle -> model object.
    handles: BTreeMap<HANDLE, ObjectId>,
    /// Model object of each mutex by its kernel serial - 1 (`mutex#1` is the first).
    mutexes: Vec<ObjectId>,
    /// Blocked waits on handles the model does not know (main's join), by operation.
    ignored: BTreeMap<u64, u32>,
    /// Blocked waits on the model's objects, per the kernel's trace, by operation.
    blocked: BTreeMap<u64, BlockedWait>,
    /// The ExitThread call of a thread that is exiting: the cause of the wake-ups its
    /// exit brings (a thread whose body returns exits outside any call: no cause).
    exit_call: BTreeMap<u32, u64>,
}

impl Replay<'_> {
    /// The model's waiters become eligible after a state change (or a pulse of `pulse`)
    /// brought by the event `cause` (a call's id; `None` for a thread returning): the
    /// kernel's Wake events that follow, each caused by it, must release them, each one
    /// the model offers, with the same wait code, until none is eligible.
    fn release(&mut self, step: u64, cause: Option<u64>, pulse: Option<ObjectId>) -> Result<(), String> {
        let trace = self.trace;
        let next = &mut self.next;
        let blocked = &self.blocked;
        let mut woken: Vec<(u32, u64, Got)> = Vec::new();
        let choose = |eligible: &[u32]| -> Result<u32, String> {
            match trace.get(*next) {
                Some(Event {
                    tid,
                    op: Some(op),
                    cause: c,
                    kind: EventKind::Wake { api, ret, outs, error, .. },
                    ..
                }) if WAIT_APIS.contains(&&**api) && *c == cause && blocked.contains_key(op) => {
                    if !eligible.contains(tid) || blocked[op].tid != *tid {
                        return Err(format!(
                            "step {step}: kernel released T{tid} (op {op}: {ret}); the model allows only {eligible:?}"
                        ));
                    }
                    *next += 1;
                    woken.push((*tid, *op, (ret, outs, *error)));
                    Ok(*tid)
                }
                _ => Err(format!(
                    "step {step}: model says waiters {eligible:?} can be released (cause {cause:?}); the kernel \
                     released none"
                )),
            }
        };
        let released = match pulse {
            Some(e) => self.model.pulse_event(e, choose)?,
            None => self.model.settle(choose)?,
        };
        for ((t, code), (_, op, got)) in released.iter().zip(&woken) {
            self.blocked.remove(op);
            expect(step, "wake-up", *got, (Ret::Wait(*code), Vec::new(), None))
                .map_err(|e| format!("{e} (T{t} released)"))?;
        }
        Ok(())
    }

    fn object(&self, step: u64, h: HANDLE) -> Result<ObjectId, String> {
        self.handles.get(&h).copied().ok_or_else(|| format!("step {step}: unknown handle {h}"))
    }
}

/// Checks a call's return value, out-parameters and error against what the model expects.
fn expect(step: u64, api: &str, got: Got, want: (Ret, Vec<Arg>, Option<u32>)) -> Result<(), String> {
    if *got.0 != want.0 || got.1 != want.1.as_slice() || got.2.map(|e| e.0) != want.2 {
        return Err(format!(
            "step {step}: {api}: kernel {} {:?} (error {:?}), model {} {:?} (error {:?})",
            got.0, got.1, got.2, want.0, want.1, want.2
        ));
    }
    Ok(())
}

/// Replays the kernel's calls on the sync objects on the model and compares every result.
fn compare(p: &Program, r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    let mut rp = Replay {
        trace: &r.trace,
        next: 0,
        model: SyncModel::new(),
        handles: BTreeMap::new(),
        mutexes: Vec::new(),
        ignored: BTreeMap::new(),
        blocked: BTreeMap::new(),
        exit_call: BTreeMap::new(),
    };
    let mut specs = p.objects.iter();
    while let Some(e) = rp.trace.get(rp.next) {
        rp.next += 1;
        let (step, tid) = (e.step, e.tid);
        let ok = (Ret::Bool(true), Vec::new(), None);
        match &e.kind {
            EventKind::Call { api, args, ret, error, .. }
                if ["CreateEvent", "CreateMutex", "CreateSemaphore"].contains(&&**api) =>
            {
                let spec = specs.next().ok_or("more objects created than the program has")?;
                let id = match *spec {
                    ObjSpec::Event { manual, initial } => rp.model.create_event(manual, initial),
                    ObjSpec::Mutex { owned } => {
                        let id = rp.model.create_mutex(owned.then_some(tid));
                        rp.mutexes.push(id);
                        id
                    }
                    ObjSpec::Semaphore { initial, maximum } => rp
                        .model
                        .create_semaphore(initial, maximum)
                        .map_err(|e| format!("step {step}: model failed {spec:?} with {e}"))?,
                };
                match ret {
                    Ret::Handle(h) if !h.is_null() && !error.is_some_and(|e| e.0 != 0) => {
                        rp.handles.insert(*h, id);
                    }
                    _ => return Err(format!("step {step}: {api}({args:?}) = {ret}, error {error:?}")),
                }
            }
            EventKind::Call { api, args, ret, outs, error, .. }
                if ["SetEvent", "ResetEvent", "PulseEvent"].contains(&&**api) =>
            {
                let id = rp.object(step, handle_arg(step, args, "event")?)?;
                expect(step, api, (ret, outs, *error), ok)?;
                match &**api {
                    "SetEvent" => rp.model.set_event(id),
                    "ResetEvent" => rp.model.reset_event(id),
                    _ => {
                        rp.release(step, Some(e.id), Some(id))?;
                        continue;
                    }
                }
                rp.release(step, Some(e.id), None)?;
            }
            EventKind::Call { api, args, ret, outs, error, .. } if api == "ReleaseMutex" => {
                let id = rp.object(step, handle_arg(step, args, "mutex")?)?;
                let want = match rp.model.release_mutex(id, tid) {
                    Ok(()) => ok,
                    Err(code) => (Ret::Bool(false), Vec::new(), Some(code)),
                };
                expect(step, api, (ret, outs, *error), want)?;
                rp.release(step, Some(e.id), None)?;
            }
            EventKind::Call { api, args, ret, outs, error, .. } if api == "ReleaseSemaphore" => {
                let id = rp.object(step, handle_arg(step, args, "semaphore")?)?;
                let ArgValue::I32(n) = *arg(step, args, "count")? else {
                    return Err(format!("step {step}: ReleaseSemaphore count {args:?}"));
                };
                let want = match rp.model.release_semaphore(id, n) {
                    Ok(prev) => (Ret::Bool(true), vec![Arg::new("previous", ArgValue::I32(prev))], None),
                    Err(code) => (Ret::Bool(false), Vec::new(), Some(code)),
                };
                expect(step, api, (ret, outs, *error), want)?;
                rp.release(step, Some(e.id), None)?;
            }
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. } if WAIT_APIS.contains(&&**api) => {
                let (hs, all, timeout_ms) = wait_args(step, api, args)?;
                let known = hs.iter().filter(|h| rp.handles.contains_key(*h)).count();
                if known == 0 {
                    // Main's join on the worker threads.
                    if matches!(e.kind, EventKind::Block { .. }) {
                        let op = e.op.ok_or(format!("step {step}: {api} blocked without an op"))?;
                        rp.ignored.insert(op, tid);
                    }
                    continue;
                }
                if known < hs.len() {
                    return Err(format!("step {step}: {api}({args:?}): handles the model does not know"));
                }
                let objects: Vec<ObjectId> = hs.iter().map(|h| rp.handles[h]).collect();
                let model = rp.model.wait(&objects, all, tid, timeout_ms);
                match (&e.kind, model) {
                    (EventKind::Block { .. }, WaitOutcome::Blocked) => {
                        let op = e.op.ok_or(format!("step {step}: {api} blocked without an op"))?;
                        rp.blocked.insert(op, BlockedWait { tid, timeout_ms, since_ms: e.time_ms });
                    }
                    (EventKind::Call { ret, outs, error, .. }, WaitOutcome::Done(code)) => {
                        expect(step, api, (ret, outs, *error), (Ret::Wait(code), Vec::new(), None))?;
                    }
                    (EventKind::Call { ret, outs, error, .. }, WaitOutcome::Failed(code)) => {
                        expect(step, api, (ret, outs, *error), (Ret::Wait(WAIT_FAILED), Vec::new(), Some(code)))?;
                    }
                    (kind, model) => {
                        return Err(format!(
                            "step {step}: {api}({args:?}) by T{tid}: kernel {kind:?}, model {model:?}"
                        ));
                    }
                }
                rp.release(step, Some(e.id), None)?;
            }
            EventKind::Wake { api, ret, outs, error, .. } if WAIT_APIS.contains(&&**api) => {
                let op = e.op.ok_or(format!("step {step}: {api} woke without an op"))?;
                if let Some(t) = rp.ignored.remove(&op) {
                    if t != tid {
                        return Err(format!("step {step}: T{tid} woke from T{t}'s wait (op {op})"));
                    }
                    continue;
                }
                // Not released by a state change the model knows of: must be a time-out.
                let Some(w) = rp.blocked.remove(&op) else {
                    return Err(format!("step {step}: T{tid} woke from op {op}, which the model does not know"));
                };
                if e.cause.is_some() || *ret != Ret::Wait(WAIT_TIMEOUT) {
                    return Err(format!(
                        "step {step}: kernel released T{tid} with {ret} (cause {:?}); the model did not",
                        e.cause
                    ));
                }
                let due = w.since_ms + u64::from(w.timeout_ms);
                if w.tid != tid
                    || !outs.is_empty()
                    || error.is_some()
                    || w.timeout_ms == INFINITE
                    || e.time_ms != due
                    || !rp.model.time_out(tid)
                {
                    return Err(format!(
                        "step {step}: T{tid} timed out at {}ms with {ret} {outs:?}, error {error:?} ({w:?}, due at \
                         {due}ms); model waiters {:?}",
                        e.time_ms, rp.model.waiters
                    ));
                }
            }
            EventKind::Call { api, .. } if api == "ExitThread" => {
                rp.exit_call.insert(tid, e.id);
            }
            EventKind::MutexAbandoned { serial, mutex } => {
                // Caused by the thread's ExitThread call, or, when its body returned, by
                // this event itself.
                let cause = Some(rp.exit_call.get(&tid).copied().unwrap_or(e.id));
                let serial = *serial as usize;
                if serial == 0 || serial > rp.mutexes.len() {
                    return Err(format!("step {step}: T{tid} abandoned an unknown {mutex}"));
                }
                let text = format!("{mutex} abandoned by T{tid}");
                let id = rp.mutexes[serial - 1];
                if !rp.model.abandon_mutex(id, tid) {
                    return Err(format!("step {step}: kernel: {text}; model: T{tid} does not own it"));
                }
                rp.release(step, cause, None)?;
            }
            EventKind::ThreadExit { .. } => {
                let cause = Some(rp.exit_call.remove(&tid).unwrap_or(e.id));
                rp.ignored.retain(|_, t| *t != tid);
                rp.blocked.retain(|_, w| w.tid != tid);
                let left = rp.model.thread_exited(tid);
                if !left.is_empty() {
                    return Err(format!(
                        "step {step}: T{tid} exited owning mutexes {left:?}; the kernel did not abandon them"
                    ));
                }
                rp.release(step, cause, None)?;
            }
            EventKind::Wake { .. } => return Err(format!("step {step}: unexpected {:?}", e.kind)),
            _ => {}
        }
    }
    let kernel_blocked: BTreeSet<u32> = rp.blocked.values().map(|w| w.tid).collect();
    let model_blocked: BTreeSet<u32> = rp.model.waiters.iter().map(|w| w.thread).collect();
    if model_blocked != kernel_blocked {
        return Err(format!("blocked at the end: kernel {kernel_blocked:?}, model {model_blocked:?}"));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    /// §§10.1, 10.2, 10.4, 11.1, 11.2, 12.1, 12.3, 12.5, 13.2, 13.3 as stated by
    /// sim-model's sync module, against the kernel.
    #[test]
    fn kernel_sync_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        prop_assert!(matches!(r.outcome, Outcome::Completed { .. } | Outcome::Deadlock(_)), "{}", r.summary());
        if let Err(e) = compare(&p, &r) {
            prop_assert!(false, "{}\n{:?}\n{}", e, p, r.trace_text());
        }
    }
}
