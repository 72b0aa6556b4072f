//! Kernel versus reference model (sim-model's `com_class`) on COM class registration
//! (docs/semantics.md §21.17, §21.21): random programs of two processes, each with two
//! threads, initialise COM in either model, register CLSID_Toy's class factory as
//! CLSID_ToyServer or CLSID_Toy with every REGCLS (SINGLEUSE, MULTIPLEUSE,
//! MULTI_SEPARATE, SUSPENDED, a bad bit) and CLSCTX, revoke (their own cookies, the other
//! process's, made-up ones), resume, look classes up with CoGetClassObject and
//! CoCreateInstance in and out of process, pump, uninitialise, and end early (ExitThread).
//! Every such call in the kernel's trace is replayed, in trace order, on the model, which
//! must give the same HRESULT. At the end every thread pumps (CoWaitForMultipleHandles)
//! until every thread of both processes is done, so activations into STAs are served.
//!
//! Facts: Learn's CoRegisterClassObject, REGCLS, CoRevokeClassObject,
//! CoResumeClassObjects, CoGetClassObject, CoCreateInstance pages; compobj.c
//! test_CoRegisterClassObject and test_registered_object_thread_affinity (MP-7, SD-5).

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::com_class::ClassModel;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    Init(bool),
    Uninit,
    /// CoGetClassObject(CLSID_Toy) in process, then CoRegisterClassObject: class (0:
    /// CLSID_ToyServer, 1: CLSID_Toy), CLSCTX, REGCLS; `null` passes a NULL cookie pointer.
    Register {
        class: u8,
        ctx: u8,
        flags: u8,
        null: bool,
    },
    /// CoRevokeClassObject: 0 this process's last cookie, 1 the other process's, 2 a
    /// made-up one.
    Revoke(u8),
    Resume,
    /// CoGetClassObject: class (0: CLSID_ToyServer, 1: CLSID_Toy, 2: unregistered),
    /// CLSCTX, interface.
    Get {
        class: u8,
        ctx: u8,
        iid: u8,
    },
    /// CoCreateInstance: class, CLSCTX, with an outer object.
    Create {
        class: u8,
        ctx: u8,
        outer: bool,
    },
    /// CoWaitForMultipleHandles with a time-out: an STA serves calls meanwhile.
    Pump(u32),
    Sleep(u32),
    /// ExitThread: the thread leaves its apartment (SD-3), its registrations go (SD-5).
    Exit,
}

const CLASSES: [CLSID; 3] = [CLSID_ToyServer, CLSID_Toy, IID_IUnknown];
const CTXS: [u32; 5] =
    [CLSCTX_LOCAL_SERVER, CLSCTX_INPROC_SERVER, CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER, CLSCTX_ALL, 0];
const REGCLS: [u32; 6] = [
    REGCLS_SINGLEUSE,
    REGCLS_MULTIPLEUSE,
    REGCLS_MULTI_SEPARATE,
    REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED,
    REGCLS_SINGLEUSE | REGCLS_SUSPENDED,
    0x20,
];
const IIDS: [IID; 3] = [IID_IClassFactory, IID_IUnknown, IID_IToy];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<bool>().prop_map(Op::Init),
        1 => Just(Op::Uninit),
        4 => (0u8..2, 0u8..5, 0u8..6, proptest::bool::weighted(0.05))
            .prop_map(|(class, ctx, flags, null)| Op::Register { class, ctx, flags, null }),
        2 => (0u8..3).prop_map(Op::Revoke),
        2 => Just(Op::Resume),
        4 => (0u8..3, 0u8..5, 0u8..3).prop_map(|(class, ctx, iid)| Op::Get { class, ctx, iid }),
        4 => (0u8..3, 0u8..5, proptest::bool::weighted(0.1)).prop_map(|(class, ctx, outer)| Op::Create { class, ctx, outer }),
        2 => (0u32..4).prop_map(Op::Pump),
        1 => (0u32..3).prop_map(Op::Sleep),
        1 => Just(Op::Exit),
    ]
}

/// Four threads (two per process), each starting initialised in either model.
fn program() -> impl Strategy<Value = Vec<Vec<Op>>> {
    let thread = (any::<bool>(), proptest::collection::vec(op(), 0..12)).prop_map(|(sta, ops)| {
        let mut all = vec![Op::Init(sta)];
        all.extend(ops);
        all
    });
    proptest::collection::vec(thread, 4)
}

/// The cookies each process's calls returned, by process index.
type Cookies = Rc<RefCell<[Vec<u32>; 2]>>;

async fn worker(ctx: ThreadCtx, me: usize, ops: Vec<Op>, cookies: Cookies) -> u32 {
    let proc_ix = me / 2;
    let done = ctx.create_event(None, true, false, Some(&format!("done{me}"))).await;
    let all = ctx.create_event(None, true, false, Some("all")).await;
    for op in ops {
        match op {
            Op::Init(sta) => {
                let m = if sta { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
                let _ = ctx.co_initialize_ex(None, m).await;
            }
            Op::Uninit => ctx.co_uninitialize().await,
            Op::Register { class, ctx: c, flags, null } => {
                let mut cf = None;
                let _ = ctx
                    .co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf))
                    .await;
                if let Some(cf) = cf {
                    let mut cookie = 0;
                    let (clsid, cls_ctx, f) =
                        (CLASSES[usize::from(class)], CTXS[usize::from(c)], REGCLS[usize::from(flags)]);
                    let out = (!null).then_some(&mut cookie);
                    if ctx.co_register_class_object(&clsid, Some(cf), cls_ctx, f, out).await == S_OK {
                        cookies.borrow_mut()[proc_ix].push(cookie);
                    }
                }
            }
            Op::Revoke(which) => {
                let c = {
                    let k = cookies.borrow();
                    match which {
                        0 => k[proc_ix].last().copied().unwrap_or(999),
                        1 => k[1 - proc_ix].last().copied().unwrap_or(998),
                        _ => 997,
                    }
                };
                let _ = ctx.co_revoke_class_object(c).await;
            }
            Op::Resume => {
                let _ = ctx.co_resume_class_objects().await;
            }
            Op::Get { class, ctx: c, iid } => {
                let mut p = None;
                let (clsid, cls_ctx, iid) = (CLASSES[usize::from(class)], CTXS[usize::from(c)], IIDS[usize::from(iid)]);
                let _ = ctx.co_get_class_object(&clsid, cls_ctx, None, &iid, Some(&mut p)).await;
            }
            Op::Create { class, ctx: c, outer } => {
                let mut outer_ptr = None;
                if outer {
                    let _ = ctx
                        .co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IUnknown, Some(&mut outer_ptr))
                        .await;
                }
                let mut p = None;
                let (clsid, cls_ctx) = (CLASSES[usize::from(class)], CTXS[usize::from(c)]);
                let _ = ctx.co_create_instance(&clsid, outer_ptr, cls_ctx, &IID_IToy, Some(&mut p)).await;
            }
            Op::Pump(ms) => {
                let mut i = 0;
                let _ = ctx.co_wait_for_multiple_handles(0, ms, Some(&[all]), Some(&mut i)).await;
            }
            Op::Sleep(ms) => ctx.sleep(ms).await,
            Op::Exit => {
                ctx.set_event(done).await;
                ctx.exit_thread(0).await;
            }
        }
    }
    ctx.set_event(done).await;
    let mut i = 0;
    let _ = ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[all]), Some(&mut i)).await;
    0
}

/// One process's main thread: starts its two workers (`first` is the index of the first),
/// and (in main.exe) the peer process; main.exe sets "all" once every worker is done.
async fn process_main(ctx: ThreadCtx, p: Rc<Vec<Vec<Op>>>, first: usize, cookies: Cookies) -> u32 {
    let all = ctx.create_event(None, true, false, Some("all")).await;
    let mut dones = Vec::new();
    for me in 0..4 {
        dones.push(ctx.create_event(None, true, false, Some(&format!("done{me}"))).await);
    }
    let mut peer = HANDLE::NULL;
    if first == 0 {
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        let ok = ctx.create_process(None, Some("peer.exe"), None, None, false, 0, &si, &mut pi).await;
        assert_eq!(ok, TRUE);
        peer = pi.hProcess;
    }
    let mut threads = Vec::new();
    for me in first..first + 2 {
        let (ops, k) = (p[me].clone(), cookies.clone());
        threads.push(ctx.create_thread(None, 0, move |ctx| worker(ctx, me, ops, k), 0, None).await);
    }
    if first == 0 {
        ctx.wait_for_multiple_objects(&dones, true, INFINITE).await;
        ctx.set_event(all).await;
        ctx.wait_for_single_object(peer, INFINITE).await;
    }
    ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
    0
}

fn run(p: &[Vec<Op>], seed: u64) -> RunReport {
    let p = Rc::new(p.to_vec());
    let cookies: Cookies = Rc::default();
    let mut sim = Sim::new(Config::random(seed));
    let (p2, k2) = (p.clone(), cookies.clone());
    sim.program("main.exe", move |ctx| process_main(ctx, p.clone(), 0, cookies.clone()));
    sim.program("peer.exe", move |ctx| process_main(ctx, p2.clone(), 2, k2.clone()));
    sim.run("main.exe")
}

fn arg<'a>(list: &'a [Arg], name: &str) -> Option<&'a ArgValue> {
    list.iter().find(|a| a.name == name).map(|a| &a.value)
}

fn sym(step: u64, list: &[Arg], name: &str) -> Result<String, String> {
    match arg(list, name) {
        Some(ArgValue::Sym(s)) => Ok(s.clone()),
        v => Err(format!("step {step}: {name:?} is {v:?} in {list:?}")),
    }
}

fn num(step: u64, list: &[Arg], name: &str) -> Result<u32, String> {
    match arg(list, name) {
        Some(ArgValue::Flags(v) | ArgValue::U32(v)) => Ok(*v),
        Some(ArgValue::I64(v)) => Ok(*v as u32),
        Some(ArgValue::I32(v)) => Ok(*v as u32),
        v => Err(format!("step {step}: {name:?} is {v:?} in {list:?}")),
    }
}

fn flag(list: &[Arg], name: &str) -> bool {
    matches!(arg(list, name), Some(ArgValue::Bool(true)))
}

/// Replays the kernel's class-registration calls on the model and compares every HRESULT.
fn compare(r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    if !r.outcome.is_completed() {
        return Err(format!("the run ended with {}", r.summary()));
    }
    let mut model = ClassModel::new();
    for e in &r.trace {
        let (step, pid, tid) = (e.step, e.pid, e.tid);
        match &e.kind {
            EventKind::ThreadExit { .. } => model.thread_exit(tid),
            EventKind::Call { api, args, ret, outs, .. } => {
                let got = match ret {
                    Ret::Hresult(h) => Some(h.0 as u32),
                    _ => None,
                };
                let want = match &**api {
                    "CoInitializeEx" => {
                        let coinit = num(step, args, "coinit")?;
                        Some(model.co_initialize_ex(pid, tid, coinit & COINIT_APARTMENTTHREADED != 0))
                    }
                    "CoUninitialize" => {
                        model.co_uninitialize(tid);
                        None
                    }
                    "CoRegisterClassObject" => {
                        let cookie = if got == Some(0) { num(step, outs, "cookie")? } else { 0 };
                        Some(model.co_register_class_object(
                            pid,
                            tid,
                            &sym(step, args, "clsid")?,
                            sym(step, args, "unk")? != "NULL",
                            num(step, args, "cls_context")?,
                            num(step, args, "flags")?,
                            flag(args, "has_cookie"),
                            cookie,
                        ))
                    }
                    "CoRevokeClassObject" => Some(model.co_revoke_class_object(pid, tid, num(step, args, "cookie")?)),
                    "CoResumeClassObjects" => Some(model.co_resume_class_objects(pid)),
                    "CoGetClassObject" => Some(
                        model
                            .co_get_class_object(
                                pid,
                                tid,
                                &sym(step, args, "clsid")?,
                                num(step, args, "cls_context")?,
                                &sym(step, args, "iid")?,
                                flag(args, "has_out"),
                            )
                            .0,
                    ),
                    "CoCreateInstance" => Some(
                        model
                            .co_create_instance(
                                pid,
                                tid,
                                &sym(step, args, "clsid")?,
                                flag(args, "outer"),
                                num(step, args, "cls_context")?,
                                &sym(step, args, "iid")?,
                                flag(args, "has_out"),
                            )
                            .0,
                    ),
                    _ => None,
                };
                if let Some(w) = want
                    && got != Some(w)
                {
                    return Err(format!("step {step}: P{pid} T{tid} {api}: kernel {got:x?}, model {w:#x}"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §21.17 and §21.21 as stated by sim-model's com_class module, against the kernel.
    #[test]
    fn kernel_class_registration_agrees_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        if let Err(e) = compare(&r) {
            prop_assert!(false, "{}\n{:?}\nseed {}\n{}", e, p, seed, r.trace_text());
        }
    }
}

/// The comparison is not vacuous: a fixed program whose trace holds each kind of answer
/// (a suspended class: REGDB_E_CLASSNOTREG, then S_OK after CoResumeClassObjects; a
/// SINGLEUSE class used up; another process's cookie: E_INVALIDARG (§21.21); another
/// apartment's: RPC_E_WRONG_THREAD; a bad REGCLS bit; CLASS_E_NOAGGREGATION) agrees with
/// the model.
#[test]
fn a_fixed_program_covers_the_answers() {
    use Op::*;
    let p = vec![
        // main.exe: an STA server (suspended MULTIPLEUSE, then SINGLEUSE), resumed late.
        vec![
            Init(true),
            Register { class: 0, ctx: 0, flags: 3, null: false },
            Pump(5),
            Resume,
            Pump(10),
            Register { class: 0, ctx: 0, flags: 0, null: false },
            Register { class: 0, ctx: 0, flags: 5, null: false },
            Pump(20),
        ],
        // main.exe: another STA; revokes a cookie of the other apartment.
        vec![Init(true), Sleep(12), Revoke(0), Create { class: 1, ctx: 1, outer: true }],
        // peer.exe: a client in the MTA.
        vec![
            Init(false),
            Sleep(1),
            Get { class: 0, ctx: 0, iid: 0 },
            Sleep(8),
            Create { class: 0, ctx: 0, outer: false },
            Revoke(1),
            Get { class: 2, ctx: 3, iid: 0 },
        ],
        vec![Init(true), Sleep(3)],
    ];
    let r = run(&p, 1);
    compare(&r).unwrap_or_else(|e| panic!("{e}\n{}", r.trace_text()));
    let text = r.trace_text();
    for want in ["REGDB_E_CLASSNOTREG", "RPC_E_WRONG_THREAD", "E_INVALIDARG", "CLASS_E_NOAGGREGATION"] {
        assert!(text.contains(want), "{want} not exercised:\n{text}");
    }
}
