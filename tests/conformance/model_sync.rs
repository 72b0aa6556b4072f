//! Kernel versus reference model (sim-model's `sync`) on events, mutexes and semaphores:
//! random programs (a few objects, 2-3 threads setting, resetting and pulsing events,
//! releasing mutexes and semaphores, waiting on one or several objects with time-outs
//! 0, small or INFINITE, exiting while owning mutexes) run under random seeds, and every
//! call on those objects in the kernel's trace is replayed, in order, on the model. They
//! must agree on each call: the return value and last error of a call that completed at
//! once, blocked or not, and which blocked waiters each state change released with which
//! wait code. When several waiters compete, the kernel's choice (its Wake events) must be
//! one the model allows, and the model then follows it.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Event, EventKind};
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
                    ctx.release_mutex(m).await;
                }
            }
            Op::ReleaseSemaphore(i, n) => {
                if let Some(s) = pick(&h.semaphores, *i) {
                    let mut prev = 0;
                    ctx.release_semaphore(s, *n, Some(&mut prev)).await;
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

/// A rendered wait code ("WAIT_OBJECT_0+1", "WAIT_ABANDONED_0", "WAIT_TIMEOUT") as a number.
fn parse_wait(s: &str) -> u32 {
    let (base, rest) = if let Some(r) = s.strip_prefix("WAIT_OBJECT_0") {
        (WAIT_OBJECT_0, r)
    } else if let Some(r) = s.strip_prefix("WAIT_ABANDONED_0") {
        (WAIT_ABANDONED_0, r)
    } else if s == "WAIT_TIMEOUT" {
        return WAIT_TIMEOUT;
    } else if s == "WAIT_FAILED" {
        return WAIT_FAILED;
    } else {
        panic!("not a wait code: {s:?}");
    };
    match rest.strip_prefix('+') {
        Some(n) => base + n.parse::<u32>().unwrap(),
        None if rest.is_empty() => base,
        None => panic!("not a wait code: {s:?}"),
    }
}

/// A wait's arguments from the trace: handles, bWaitAll, time-out.
fn parse_wait_args(api: &str, args: &str) -> (Vec<String>, bool, u32) {
    let (handles, all, timeout) = if api == "WaitForSingleObject" {
        let (h, t) = args.split_once(", ").unwrap();
        (vec![h.to_string()], false, t)
    } else {
        // "2, [0x4, 0x8], bWaitAll=true, 5ms"
        let open = args.find('[').unwrap();
        let close = args.find(']').unwrap();
        let hs = args[open + 1..close].split(", ").map(str::to_string).collect();
        let rest = &args[close + 1..];
        let all = rest.contains("bWaitAll=true");
        (hs, all, rest.rsplit(", ").next().unwrap())
    };
    let timeout_ms =
        if timeout == "INFINITE" { INFINITE } else { timeout.strip_suffix("ms").unwrap().parse().unwrap() };
    (handles, all, timeout_ms)
}

/// A model wait code rendered as the kernel's trace renders it.
fn render(code: u32) -> String {
    match code {
        WAIT_TIMEOUT => "WAIT_TIMEOUT".into(),
        WAIT_OBJECT_0 => "WAIT_OBJECT_0".into(),
        WAIT_ABANDONED_0 => "WAIT_ABANDONED_0".into(),
        c if c > WAIT_ABANDONED_0 => format!("WAIT_ABANDONED_0+{}", c - WAIT_ABANDONED_0),
        c => format!("WAIT_OBJECT_0+{c}"),
    }
}

/// The replay: the trace, a cursor in it, and the model.
struct Replay<'a> {
    trace: &'a [Event],
    /// Index of the next event to read.
    next: usize,
    model: SyncModel,
    /// Handle (as rendered) -> model object.
    handles: BTreeMap<String, ObjectId>,
    /// Model object of each mutex by its kernel serial - 1 (`mutex#1` is the first).
    mutexes: Vec<ObjectId>,
    /// Threads blocked in a wait on handles the model does not know (main's join).
    ignored: BTreeSet<u32>,
    /// Threads blocked in a wait on the model's objects, per the kernel's trace.
    blocked: BTreeSet<u32>,
}

impl Replay<'_> {
    /// The model's waiters become eligible after a state change (or a pulse of `pulse`):
    /// the kernel's Wake events that follow must release them, each one the model offers,
    /// with the same wait code, until none is eligible.
    fn release(&mut self, step: u64, pulse: Option<ObjectId>) -> Result<(), String> {
        let trace = self.trace;
        let next = &mut self.next;
        let ignored = &self.ignored;
        let mut woken: Vec<(u32, String, Option<Win32Error>)> = Vec::new();
        let choose = |eligible: &[u32]| -> Result<u32, String> {
            match trace.get(*next) {
                Some(Event { tid, kind: EventKind::Wake { api, result, error, cause }, .. })
                    if WAIT_APIS.contains(&api.as_str()) && cause != "time-out" && !ignored.contains(tid) =>
                {
                    if !eligible.contains(tid) {
                        return Err(format!(
                            "step {step}: kernel released T{tid} ({result}, {cause}); the model allows only {eligible:?}"
                        ));
                    }
                    *next += 1;
                    woken.push((*tid, result.clone(), *error));
                    Ok(*tid)
                }
                _ => Err(format!(
                    "step {step}: model says waiters {eligible:?} can be released; the kernel released none"
                )),
            }
        };
        let released = match pulse {
            Some(e) => self.model.pulse_event(e, choose)?,
            None => self.model.settle(choose)?,
        };
        for ((t, code), (_, result, error)) in released.iter().zip(&woken) {
            self.blocked.remove(t);
            if parse_wait(result) != *code || error.is_some() {
                return Err(format!(
                    "step {step}: kernel released T{t} with {result} (error {error:?}), model with {}",
                    render(*code)
                ));
            }
        }
        Ok(())
    }

    fn object(&self, step: u64, h: &str) -> Result<ObjectId, String> {
        self.handles.get(h).copied().ok_or_else(|| format!("step {step}: unknown handle {h}"))
    }
}

/// Checks a completed call's result and error against what the model expects.
fn expect(step: u64, api: &str, got: (&str, Option<Win32Error>), want: (String, Option<u32>)) -> Result<(), String> {
    if got.0 != want.0 || got.1.map(|e| e.0) != want.1 {
        return Err(format!(
            "step {step}: {api}: kernel {} (error {:?}), model {} (error {:?})",
            got.0, got.1, want.0, want.1
        ));
    }
    Ok(())
}

/// Replays the kernel's calls on the sync objects on the model and compares every result.
fn compare(p: &Program, r: &RunReport) -> Result<(), String> {
    let mut rp = Replay {
        trace: &r.trace,
        next: 0,
        model: SyncModel::new(),
        handles: BTreeMap::new(),
        mutexes: Vec::new(),
        ignored: BTreeSet::new(),
        blocked: BTreeSet::new(),
    };
    let mut specs = p.objects.iter();
    while let Some(e) = rp.trace.get(rp.next) {
        rp.next += 1;
        let (step, tid) = (e.step, e.tid);
        match &e.kind {
            EventKind::Call { api, args, result, error }
                if ["CreateEvent", "CreateMutex", "CreateSemaphore"].contains(&api.as_str()) =>
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
                if error.is_some_and(|e| e.0 != 0) {
                    return Err(format!("step {step}: {api}({args}) = {result}, error {error:?}"));
                }
                rp.handles.insert(result.clone(), id);
            }
            EventKind::Call { api, args, result, error }
                if ["SetEvent", "ResetEvent", "PulseEvent"].contains(&api.as_str()) =>
            {
                let id = rp.object(step, args)?;
                expect(step, api, (result, *error), ("TRUE".into(), None))?;
                match api.as_str() {
                    "SetEvent" => rp.model.set_event(id),
                    "ResetEvent" => rp.model.reset_event(id),
                    _ => {
                        rp.release(step, Some(id))?;
                        continue;
                    }
                }
                rp.release(step, None)?;
            }
            EventKind::Call { api, args, result, error } if api == "ReleaseMutex" => {
                let id = rp.object(step, args)?;
                let want = match rp.model.release_mutex(id, tid) {
                    Ok(()) => ("TRUE".to_string(), None),
                    Err(code) => ("FALSE".to_string(), Some(code)),
                };
                expect(step, api, (result, *error), want)?;
                rp.release(step, None)?;
            }
            EventKind::Call { api, args, result, error } if api == "ReleaseSemaphore" => {
                let (h, n) = args.split_once(", ").ok_or("ReleaseSemaphore args")?;
                let id = rp.object(step, h)?;
                let want = match rp.model.release_semaphore(id, n.parse().unwrap()) {
                    Ok(prev) => (format!("TRUE, previous {prev}"), None),
                    Err(code) => ("FALSE".to_string(), Some(code)),
                };
                expect(step, api, (result, *error), want)?;
                rp.release(step, None)?;
            }
            EventKind::Call { api, args, .. } | EventKind::Block { api, args, .. }
                if WAIT_APIS.contains(&api.as_str()) =>
            {
                let (hs, all, timeout_ms) = parse_wait_args(api, args);
                let known = hs.iter().filter(|h| rp.handles.contains_key(*h)).count();
                if known == 0 {
                    // Main's join on the worker threads.
                    if matches!(e.kind, EventKind::Block { .. }) {
                        rp.ignored.insert(tid);
                    }
                    continue;
                }
                if known < hs.len() {
                    return Err(format!("step {step}: {api}({args}): handles the model does not know"));
                }
                let objects: Vec<ObjectId> = hs.iter().map(|h| rp.handles[h]).collect();
                let model = rp.model.wait(&objects, all, tid, timeout_ms);
                match (&e.kind, model) {
                    (EventKind::Block { .. }, WaitOutcome::Blocked) => {
                        rp.blocked.insert(tid);
                    }
                    (EventKind::Call { result, error, .. }, WaitOutcome::Done(code)) => {
                        expect(step, api, (result, *error), (render(code), None))?;
                    }
                    (EventKind::Call { result, error, .. }, WaitOutcome::Failed(code)) => {
                        expect(step, api, (result, *error), ("WAIT_FAILED".into(), Some(code)))?;
                    }
                    (kind, model) => {
                        return Err(format!("step {step}: {api}({args}) by T{tid}: kernel {kind:?}, model {model:?}"));
                    }
                }
                rp.release(step, None)?;
            }
            EventKind::Wake { api, result, error, cause } if WAIT_APIS.contains(&api.as_str()) => {
                if rp.ignored.remove(&tid) {
                    continue;
                }
                if cause != "time-out" {
                    return Err(format!(
                        "step {step}: kernel released T{tid} with {result} ({cause}); the model did not"
                    ));
                }
                if result != "WAIT_TIMEOUT" || error.is_some() || !rp.model.time_out(tid) {
                    return Err(format!(
                        "step {step}: T{tid} timed out with {result}, error {error:?}; model waiters {:?}",
                        rp.model.waiters
                    ));
                }
                rp.blocked.remove(&tid);
            }
            EventKind::Note { text } if text.contains(" abandoned by T") => {
                let (what, who) = text.split_once(" abandoned by T").unwrap();
                let serial: usize = what.strip_prefix("mutex#").ok_or("abandoned what?")?.parse().unwrap();
                let owner: u32 = who.parse().unwrap();
                let id = rp.mutexes[serial - 1];
                if !rp.model.abandon_mutex(id, owner) {
                    return Err(format!("step {step}: kernel: {text}; model: T{owner} does not own it"));
                }
                rp.release(step, None)?;
            }
            EventKind::ThreadExit { .. } => {
                rp.ignored.remove(&tid);
                rp.blocked.remove(&tid);
                let left = rp.model.thread_exited(tid);
                if !left.is_empty() {
                    return Err(format!(
                        "step {step}: T{tid} exited owning mutexes {left:?}; the kernel did not abandon them"
                    ));
                }
                rp.release(step, None)?;
            }
            EventKind::Wake { .. } => return Err(format!("step {step}: unexpected {:?}", e.kind)),
            _ => {}
        }
    }
    let model_blocked: BTreeSet<u32> = rp.model.waiters.iter().map(|w| w.thread).collect();
    if model_blocked != rp.blocked {
        return Err(format!("blocked at the end: kernel {:?}, model {model_blocked:?}", rp.blocked));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    /// Facts 10.1, 10.2, 10.4, 11.1, 11.2, 12.1, 12.3, 12.5, 13.2, 13.3 as stated by
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
