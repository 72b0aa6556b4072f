//! Kernel versus reference model (sim-model's `com`) on COM initialisation counting and
//! apartment affinity: random programs of 2-3 threads (each initialises and uninitialises
//! COM and OLE in either model, asks its apartment type, takes and returns MTA usage
//! cookies, makes toy objects marshalled table-strong into one stream per thread,
//! unmarshals the other threads' objects and calls through the pointers it got, or
//! through another thread's raw pointer) run under random seeds; every COM call in the
//! kernel's trace is replayed, in trace order, on the model, which must give the same
//! HRESULT (and apartment type and qualifier). At the end each thread waits in
//! CoWaitForMultipleHandles (which pumps in an STA) until every thread is done, so calls
//! into STAs are served and runs complete.
//!
//! Facts: com-apartments.md CI-1..CI-8, MP-3, MP-5, SD-1, SD-2 (docs/semantics.md §21).

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::com::ComModel;
use std::cell::RefCell;
use std::rc::Rc;

const THREADS_MAX: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Init(bool),
    Uninit,
    OleInit,
    OleUninit,
    AptType,
    IncUsage,
    DecUsage,
    /// CoCreateInstance, then one table-strong stream per thread.
    Make,
    /// Unmarshal object k (of those made so far) from this thread's stream.
    Unmarshal(usize),
    /// IToy::Get through the k-th pointer this thread unmarshalled.
    Call(usize),
    /// IToy::Get through object k's raw pointer (MP-6).
    CallRaw(usize),
    /// IToy::Get through the k-th pointer any thread unmarshalled (MP-5: a proxy used
    /// from another apartment).
    CallShared(usize),
    Sleep(u32),
    /// AddRef then Release through object k's raw pointer: the object's count (§21.23).
    Count(usize),
    /// AddRef then Release through the k-th pointer this thread got by UnmarshalData: a
    /// proxy manager's count, or the object's (§21.23, §21.24).
    CountMine(usize),
    /// IToy::Get through the k-th pointer this thread got by UnmarshalData.
    CallData(usize),
    /// CoMarshalInterface of object k's raw pointer into a new shared stream, with
    /// MSHLFLAGS 0 (NORMAL), 1 (TABLESTRONG) or 2 (TABLEWEAK) (§21.24).
    MarshalData(usize, u32),
    /// CoUnmarshalInterface of the k-th shared stream, rewound.
    UnmarshalData(usize),
    /// CoReleaseMarshalData of the k-th shared stream, rewound (§21.24).
    ReleaseData(usize),
    /// The last Release of the k-th pointer this thread got by UnmarshalData (§21.24).
    ReleaseMine(usize),
    /// CoLockObjectExternal(object k, fLock, fLastUnlockReleases) (§21.25).
    Lock(usize, bool, bool),
    /// CoDisconnectObject(object k) (§21.16).
    Disconnect(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(Op::Init),
        3 => Just(Op::Uninit),
        1 => Just(Op::OleInit),
        1 => Just(Op::OleUninit),
        2 => Just(Op::AptType),
        1 => Just(Op::IncUsage),
        1 => Just(Op::DecUsage),
        3 => Just(Op::Make),
        3 => (0usize..3).prop_map(Op::Unmarshal),
        3 => (0usize..3).prop_map(Op::Call),
        1 => (0usize..4).prop_map(Op::CallRaw),
        4 => (0usize..4).prop_map(Op::CallShared),
        1 => (0u32..5).prop_map(Op::Sleep),
        2 => (0usize..4).prop_map(Op::Count),
        2 => (0usize..3).prop_map(Op::CountMine),
        3 => ((0usize..4), (0u32..3)).prop_map(|(k, f)| Op::MarshalData(k, f)),
        3 => (0usize..4).prop_map(Op::UnmarshalData),
        2 => (0usize..4).prop_map(Op::ReleaseData),
        2 => (0usize..3).prop_map(Op::ReleaseMine),
        3 => (0usize..3).prop_map(Op::CallData),
        2 => ((0usize..4), any::<bool>(), any::<bool>()).prop_map(|(k, l, r)| Op::Lock(k, l, r)),
        1 => (0usize..4).prop_map(Op::Disconnect),
    ]
}

/// Each thread starts initialised (either model) with an object made and marshalled, so
/// the random ops meet proxies often.
fn program() -> impl Strategy<Value = Vec<Vec<Op>>> {
    let thread = (any::<bool>(), proptest::collection::vec(op(), 0..14)).prop_map(|(sta, ops)| {
        let mut all = vec![Op::Init(sta), Op::Make, Op::Sleep(1), Op::Unmarshal(0), Op::Unmarshal(1)];
        all.extend(ops);
        all
    });
    proptest::collection::vec(thread, 2..=THREADS_MAX)
}

/// Objects made so far: the raw pointer and one stream per thread; every pointer
/// unmarshalled by any thread (None once its last Release is done); and the streams of
/// MarshalData.
type Made = Rc<RefCell<(Vec<(ComPtr, Vec<Option<IStream>>)>, Vec<Option<ComPtr>>, Vec<IStream>)>>;

fn raw(made: &Made, k: usize) -> Option<ComPtr> {
    made.borrow().0.get(k).map(|(p, _)| *p)
}

async fn worker(ctx: ThreadCtx, me: usize, n: usize, ops: Vec<Op>, made: Made, done: HANDLE, all: HANDLE) -> u32 {
    // Indices into made.1 of the pointers this thread unmarshalled.
    let mut mine: Vec<usize> = Vec::new();
    // The pointers of UnmarshalData: this thread's alone (None after their last Release),
    // so no other thread uses one after its release.
    let mut own: Vec<Option<ComPtr>> = Vec::new();
    let mut cookies: Vec<u64> = Vec::new();
    for op in ops {
        match op {
            Op::Init(sta) => {
                let m = if sta { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
                let _ = ctx.co_initialize_ex(None, m).await;
            }
            Op::Uninit => ctx.co_uninitialize().await,
            Op::OleInit => {
                let _ = ctx.ole_initialize(None).await;
            }
            Op::OleUninit => ctx.ole_uninitialize().await,
            Op::AptType => {
                let (mut t, mut q) = (0, 0);
                let _ = ctx.co_get_apartment_type(Some(&mut t), Some(&mut q)).await;
            }
            Op::IncUsage => {
                let mut c = 0;
                if ctx.co_increment_mta_usage(Some(&mut c)).await == S_OK {
                    cookies.push(c);
                }
            }
            Op::DecUsage => {
                let c = cookies.pop().unwrap_or(9999);
                let _ = ctx.co_decrement_mta_usage(c).await;
            }
            Op::Make => {
                let mut p = None;
                let _ = ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await;
                if let Some(p) = p {
                    let mut streams = Vec::new();
                    for _ in 0..n {
                        let mut s = None;
                        let _ = ctx.create_stream_on_hglobal(Some(&mut s)).await;
                        let s = s.expect("a stream");
                        let hr = ctx
                            .co_marshal_interface(
                                Some(s),
                                &IID_IToy,
                                Some(p),
                                MSHCTX_INPROC,
                                None,
                                MSHLFLAGS_TABLESTRONG,
                            )
                            .await;
                        streams.push((hr == S_OK).then_some(s));
                    }
                    made.borrow_mut().0.push((p, streams));
                }
            }
            Op::Unmarshal(k) => {
                let s = made.borrow().0.get(k).and_then(|(_, s)| s[me]);
                if let Some(s) = s {
                    let _ = ctx.istream_seek_start(s).await;
                    let mut p = None;
                    let _ = ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut p)).await;
                    if p.is_some() {
                        let mut m = made.borrow_mut();
                        mine.push(m.1.len());
                        m.1.push(p);
                    }
                }
            }
            Op::Call(k) => {
                if let Some(p) = mine.get(k).and_then(|&i| made.borrow().1[i]) {
                    let _ = ctx.itoy_get(p, None).await;
                }
            }
            Op::CallRaw(k) => {
                let p = made.borrow().0.get(k).map(|(p, _)| *p);
                if let Some(p) = p {
                    let _ = ctx.itoy_get(p, None).await;
                }
            }
            Op::CallShared(k) => {
                let p = made.borrow().1.get(k).copied().flatten();
                if let Some(p) = p {
                    let _ = ctx.itoy_get(p, None).await;
                }
            }
            Op::Sleep(ms) => ctx.sleep(ms).await,
            Op::Count(k) => {
                if let Some(p) = raw(&made, k) {
                    let _ = ctx.add_ref(p).await;
                    let _ = ctx.release(p).await;
                }
            }
            Op::CountMine(k) => {
                if let Some(p) = own.get(k).copied().flatten() {
                    let _ = ctx.add_ref(p).await;
                    let _ = ctx.release(p).await;
                }
            }
            Op::MarshalData(k, flags) => {
                if let Some(p) = raw(&made, k) {
                    let mut s = None;
                    let _ = ctx.create_stream_on_hglobal(Some(&mut s)).await;
                    let s = s.expect("a stream");
                    let hr = ctx.co_marshal_interface(Some(s), &IID_IToy, Some(p), MSHCTX_INPROC, None, flags).await;
                    if hr == S_OK {
                        made.borrow_mut().2.push(s);
                    }
                }
            }
            Op::UnmarshalData(k) => {
                let s = made.borrow().2.get(k).copied();
                if let Some(s) = s {
                    let _ = ctx.istream_seek_start(s).await;
                    let mut p = None;
                    let _ = ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut p)).await;
                    if p.is_some() {
                        own.push(p);
                    }
                }
            }
            Op::CallData(k) => {
                if let Some(p) = own.get(k).copied().flatten() {
                    let _ = ctx.itoy_get(p, None).await;
                }
            }
            Op::ReleaseData(k) => {
                let s = made.borrow().2.get(k).copied();
                if let Some(s) = s {
                    let _ = ctx.istream_seek_start(s).await;
                    let _ = ctx.co_release_marshal_data(Some(s)).await;
                }
            }
            Op::ReleaseMine(k) => {
                let p = own.get_mut(k).and_then(Option::take);
                if let Some(p) = p {
                    let _ = ctx.release(p).await;
                }
            }
            Op::Lock(k, lock, last) => {
                if let Some(p) = raw(&made, k) {
                    let _ = ctx.co_lock_object_external(Some(p), lock, last).await;
                }
            }
            Op::Disconnect(k) => {
                if let Some(p) = raw(&made, k) {
                    let _ = ctx.co_disconnect_object(Some(p), 0).await;
                }
            }
        }
    }
    ctx.set_event(done).await;
    let mut i = 0;
    let _ = ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[all]), Some(&mut i)).await;
    0
}

fn run(p: &[Vec<Op>], seed: u64) -> RunReport {
    let p = Rc::new(p.to_vec());
    let mut sim = Sim::new(Config::random(seed));
    sim.program("model_com.exe", move |ctx| {
        let p = p.clone();
        async move {
            let n = p.len();
            let made: Made = Rc::default();
            let all = ctx.create_event(None, true, false, None).await;
            let mut dones = Vec::new();
            let mut threads = Vec::new();
            for (me, ops) in p.iter().cloned().enumerate() {
                let done = ctx.create_event(None, true, false, None).await;
                let made = made.clone();
                let t = ctx.create_thread(None, 0, move |ctx| worker(ctx, me, n, ops, made, done, all), 0, None).await;
                dones.push(done);
                threads.push(t);
            }
            ctx.wait_for_multiple_objects(&dones, true, INFINITE).await;
            ctx.set_event(all).await;
            ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
            0
        }
    });
    sim.run("model_com.exe")
}

fn sym<'a>(step: u64, list: &'a [Arg], name: &str) -> Result<&'a str, String> {
    match list.iter().find(|a| a.name == name).map(|a| &a.value) {
        Some(ArgValue::Sym(s)) => Ok(s),
        v => Err(format!("step {step}: {name:?} is {v:?} in {list:?}")),
    }
}

/// The number in `itf#7` or `stream#3`.
fn num(step: u64, list: &[Arg], name: &str) -> Result<u32, String> {
    let s = sym(step, list, name)?;
    s.split('#').nth(1).and_then(|n| n.parse().ok()).ok_or_else(|| format!("step {step}: {name:?} = {s}"))
}

fn int(list: &[Arg], name: &str) -> Option<i64> {
    list.iter().find(|a| a.name == name).and_then(|a| match a.value {
        ArgValue::I32(v) => Some(i64::from(v)),
        ArgValue::I64(v) => Some(v),
        ArgValue::U32(v) => Some(i64::from(v)),
        _ => None,
    })
}

/// Replays the kernel's COM calls on the model and compares every HRESULT.
fn compare(r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    if !r.outcome.is_completed() {
        return Err(format!("the run ended with {}", r.summary()));
    }
    let mut model = ComModel::new();
    for e in &r.trace {
        let (step, tid) = (e.step, e.tid);
        match &e.kind {
            EventKind::ThreadExit { .. } => model.thread_exit(tid),
            EventKind::Call { api, args, ret, outs, .. } => {
                let got = match ret {
                    Ret::Hresult(h) => Some(h.0 as u32),
                    Ret::Long(v) => Some(*v as u32),
                    _ => None,
                };
                let want = match &**api {
                    "CoInitializeEx" => {
                        let coinit = match args.iter().find(|a| a.name == "coinit").map(|a| &a.value) {
                            Some(ArgValue::Flags(f)) => *f,
                            v => return Err(format!("step {step}: coinit {v:?}")),
                        };
                        Some(model.co_initialize_ex(tid, coinit & COINIT_APARTMENTTHREADED != 0))
                    }
                    "CoUninitialize" => {
                        model.co_uninitialize(tid);
                        None
                    }
                    "OleInitialize" => Some(model.ole_initialize(tid)),
                    "OleUninitialize" => {
                        model.ole_uninitialize(tid);
                        None
                    }
                    "CoGetApartmentType" => {
                        let (hr, t, q) = model.co_get_apartment_type(tid);
                        let (kt, kq) = (int(outs, "type"), int(outs, "qualifier"));
                        if (kt, kq) != (Some(i64::from(t)), Some(i64::from(q))) {
                            return Err(format!("step {step}: apartment type: kernel {kt:?}/{kq:?}, model {t}/{q}"));
                        }
                        Some(hr)
                    }
                    "CoIncrementMTAUsage" => {
                        let cookie = int(outs, "cookie").ok_or(format!("step {step}: no cookie"))?;
                        Some(model.co_increment_mta_usage(cookie as u64))
                    }
                    "CoDecrementMTAUsage" => {
                        let cookie = match args.iter().find(|a| a.name == "cookie").map(|a| &a.value) {
                            Some(ArgValue::I64(v)) => *v as u64,
                            Some(ArgValue::U32(v)) => u64::from(*v),
                            v => return Err(format!("step {step}: cookie {v:?}")),
                        };
                        Some(model.co_decrement_mta_usage(cookie))
                    }
                    "CoCreateInstance" => {
                        let ptr = if got == Some(0) { num(step, outs, "ppv")? } else { 0 };
                        Some(model.co_create_instance(tid, ptr))
                    }
                    "CoMarshalInterface" => {
                        let flags = match args.iter().find(|a| a.name == "flags").map(|a| &a.value) {
                            Some(ArgValue::Flags(f)) => *f,
                            v => return Err(format!("step {step}: flags {v:?}")),
                        };
                        Some(model.marshal(tid, num(step, args, "stream")?, num(step, args, "unk")?, flags))
                    }
                    "IStream_Seek" => {
                        model.seek_start(num(step, args, "this")?);
                        None
                    }
                    // §21.23, §21.24: the counts AddRef and Release return.
                    "IUnknown_AddRef" => Some(model.add_ref(num(step, args, "this")?)),
                    "IUnknown_Release" => Some(model.release(num(step, args, "this")?)),
                    "CoReleaseMarshalData" => Some(model.co_release_marshal_data(tid, num(step, args, "stream")?)),
                    "CoDisconnectObject" => Some(model.co_disconnect_object(tid, num(step, args, "unk")?)),
                    "CoLockObjectExternal" => {
                        let b = |n: &str| match args.iter().find(|a| a.name == n).map(|a| &a.value) {
                            Some(ArgValue::Bool(v)) => Ok(*v),
                            v => Err(format!("step {step}: {n} {v:?}")),
                        };
                        let (lock, last) = (b("lock")?, b("last_unlock_releases")?);
                        Some(model.co_lock_object_external(tid, num(step, args, "unk")?, lock, last))
                    }
                    "CoUnmarshalInterface" => {
                        let ptr = if got == Some(0) { num(step, outs, "ppv")? } else { 0 };
                        Some(model.unmarshal(tid, num(step, args, "stream")?, ptr))
                    }
                    "IToy_Get" => Some(model.call(tid, num(step, args, "this")?)),
                    _ => None,
                };
                if let Some(w) = want
                    && got != Some(w)
                {
                    return Err(format!("step {step}: T{tid} {api}: kernel {got:x?}, model {w:#x}"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §21 (CI-1..CI-8, MP-3, MP-5, SD-1, SD-2) as stated by sim-model's com module,
    /// against the kernel.
    #[test]
    fn kernel_com_calls_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        if let Err(e) = compare(&r) {
            prop_assert!(false, "{}\n{:?}\nseed {}\n{}", e, p, seed, r.trace_text());
        }
    }
}

/// The comparison is not vacuous: a fixed program whose trace holds each kind of answer
/// (RPC_E_CHANGED_MODE, S_FALSE, CO_E_NOTINITIALIZED, RPC_E_WRONG_THREAD from a proxy
/// unmarshalled in the MTA and called after the thread joined an STA, E_INVALIDARG for a
/// cookie not outstanding) agrees with the model.
#[test]
fn a_fixed_program_covers_the_answers() {
    let p = vec![
        vec![
            Op::Init(true),
            Op::Make,
            Op::AptType,
            Op::Sleep(3),
            Op::Init(false),
            Op::OleInit,
            Op::OleInit,
            Op::Uninit,
        ],
        vec![
            Op::Sleep(1),
            Op::Init(false),
            Op::Unmarshal(0),
            Op::Call(0),
            Op::IncUsage,
            Op::Uninit,
            Op::AptType,
            Op::Init(true),
            Op::Call(0),
            Op::Uninit,
            Op::DecUsage,
            Op::AptType,
            Op::DecUsage,
            Op::OleInit,
        ],
    ];
    let r = run(&p, 1);
    compare(&r).unwrap_or_else(|e| panic!("{e}\n{}", r.trace_text()));
    let text = r.trace_text();
    for want in ["RPC_E_CHANGED_MODE", "S_FALSE", "CO_E_NOTINITIALIZED", "RPC_E_WRONG_THREAD", "E_INVALIDARG"] {
        assert!(text.contains(want), "{want} not exercised:\n{text}");
    }
}
