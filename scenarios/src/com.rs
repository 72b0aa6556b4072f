//! COM apartment scenarios (docs/semantics.md §21; com-apartments.md J.3's teaching
//! cases 1, 3, 4, 5, 6 and 7; the same programs, with their assertions, are in
//! tests/conformance/teaching.rs). Exit codes are HRESULTs (as u32) or counters, so the
//! catalogue's `expect` lines can name them.

use crate::Scenario;
use sim_core::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

/// A toy object in the caller's apartment (0 on failure: the scenario's exit code says).
async fn toy(ctx: &ThreadCtx) -> Option<ComPtr> {
    let mut p = None;
    ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await;
    p
}

async fn marshal(ctx: &ThreadCtx, p: ComPtr) -> Option<IStream> {
    let mut s = None;
    ctx.co_marshal_inter_thread_interface_in_stream(&IID_IToy, Some(p), Some(&mut s)).await;
    s
}

async fn unmarshal(ctx: &ThreadCtx, s: Option<IStream>) -> Option<ComPtr> {
    let mut p = None;
    ctx.co_get_interface_and_release_stream(s, &IID_IToy, Some(&mut p)).await;
    p
}

async fn counter(ctx: &ThreadCtx, p: ComPtr) -> u32 {
    let mut v = 0;
    ctx.itoy_get(p, Some(&mut v)).await;
    v as u32
}

// ----- 1. an STA that waits without pumping ------------------------------------------------

/// Main (the main STA) makes a toy, gives a marshalled pointer to a worker in the MTA
/// that calls Add(1), and waits for the worker: with WaitForSingleObject (`pump` false)
/// or CoWaitForMultipleHandles. Exits with the counter.
async fn sta_waits_for_worker(ctx: ThreadCtx, pump: bool) -> u32 {
    ctx.co_initialize(None).await;
    let Some(p) = toy(&ctx).await else { return 1000 };
    let s = marshal(&ctx, p).await;
    let worker = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await;
                let Some(proxy) = unmarshal(&ctx, s).await else { return 1 };
                let hr = ctx.itoy_add(proxy, 1).await;
                ctx.release(proxy).await;
                ctx.co_uninitialize().await;
                hr.0 as u32
            },
            0,
            None,
        )
        .await;
    if pump {
        let mut index = 0;
        ctx.co_wait_for_multiple_handles(COWAIT_DEFAULT, INFINITE, Some(&[worker]), Some(&mut index)).await;
    } else {
        ctx.wait_for_single_object(worker, INFINITE).await;
    }
    let v = counter(&ctx, p).await;
    ctx.co_uninitialize().await;
    v
}

/// Teaching case 1: an STA blocked without pumping.
pub fn com_sta_no_pump() -> Scenario {
    Scenario {
        name: "com-sta-no-pump",
        summary: "a call into an STA that waits in WaitForSingleObject is posted to its hidden window and never runs",
        expect: "deadlocks on every seed; the report names IToy::Add, the STA, its hidden window and what its thread waits in",
        install: |sim| {
            sim.program("sta.exe", |ctx| sta_waits_for_worker(ctx, false));
        },
        main: "sta.exe",
    }
}

/// Teaching case 1, fixed: wait with CoWaitForMultipleHandles.
pub fn com_sta_cowait() -> Scenario {
    Scenario {
        name: "com-sta-cowait",
        summary: "the fix: the STA waits with CoWaitForMultipleHandles, which runs the incoming call inside the wait",
        expect: "completes on every seed with exit code 1 (the counter)",
        install: |sim| {
            sim.program("sta.exe", |ctx| sta_waits_for_worker(ctx, true));
        },
        main: "sta.exe",
    }
}

/// Teaching case 1, raw-pointer variant: two MTA workers call Add(1) three times each
/// through the STA object's raw pointer (not marshalled): the calls run on the workers,
/// unserialised, and increments are lost on some seeds. Exits with the counter.
async fn raw_pointer_race(ctx: ThreadCtx) -> u32 {
    ctx.co_initialize(None).await;
    let Some(p) = toy(&ctx).await else { return 1000 };
    let mut workers = Vec::new();
    for _ in 0..2 {
        let w = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await;
                    for _ in 0..3 {
                        ctx.itoy_add(p, 1).await;
                    }
                    ctx.co_uninitialize().await;
                    0
                },
                0,
                None,
            )
            .await;
        workers.push(w);
    }
    let mut index = 0;
    ctx.co_wait_for_multiple_handles(COWAIT_WAITALL, INFINITE, Some(&workers), Some(&mut index)).await;
    let v = counter(&ctx, p).await;
    ctx.co_uninitialize().await;
    v
}

/// Teaching case 1, the raw pointer.
pub fn com_raw_pointer_race() -> Scenario {
    Scenario {
        name: "com-raw-pointer-race",
        summary: "two MTA threads call an STA object through its raw pointer: the calls run on them, unserialised (MP-6)",
        expect: "completes on every seed; the exit code (the counter) is 6, or less on some seeds (lost increments)",
        install: |sim| {
            sim.program("raw.exe", raw_pointer_race);
        },
        main: "raw.exe",
    }
}

// ----- a server STA that pumps ----------------------------------------------------------------

/// Starts an STA thread that makes a toy, marshals it, and pumps with GetMessage until
/// WM_QUIT. Returns the marshalled stream, the thread and its id.
async fn server_sta(ctx: &ThreadCtx) -> (Option<IStream>, HANDLE, u32) {
    let out: Rc<RefCell<(Option<IStream>, u32)>> = Rc::default();
    let o2 = out.clone();
    let ready = ctx.create_event(None, true, false, None).await;
    let t = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.co_initialize(None).await;
                if let Some(p) = toy(&ctx).await {
                    *o2.borrow_mut() = (marshal(&ctx, p).await, ctx.get_current_thread_id());
                }
                ctx.set_event(ready).await;
                let mut m = MSG::default();
                while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
                    ctx.dispatch_message(&m).await;
                }
                ctx.co_uninitialize().await;
                0
            },
            0,
            None,
        )
        .await;
    ctx.wait_for_single_object(ready, INFINITE).await;
    let (s, tid) = *out.borrow();
    (s, t, tid)
}

// ----- 3. the input-synchronous call ------------------------------------------------------------

/// Main (an STA) owns a window whose WM_APP handler calls a server STA's object through
/// a proxy. Another thread SendMessages WM_APP, then PostMessages it. Exits with the
/// HRESULT of the sent-message call (RPC_E_CANTCALLOUT_ININPUTSYNCCALL), after checking
/// that the posted one succeeded (else 1).
async fn input_sync(ctx: ThreadCtx) -> u32 {
    ctx.co_initialize(None).await;
    let (s, server, server_tid) = server_sta(&ctx).await;
    let Some(proxy) = unmarshal(&ctx, s).await else { return 1000 };
    let results: Rc<RefCell<Vec<HRESULT>>> = Rc::default();
    let r2 = results.clone();
    let proc = wndproc(move |ctx, h, msg, w, l| {
        let r2 = r2.clone();
        async move {
            if msg == WM_APP {
                let hr = ctx.itoy_add(proxy, 1).await;
                r2.borrow_mut().push(hr);
                return 0;
            }
            ctx.def_window_proc(h, msg, w, l).await
        }
    });
    ctx.register_class_ex(&WNDCLASSEX::new("frame", proc)).await;
    let w = ctx.create_window_ex(0, "frame", "frame", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    let x = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.send_message(w, WM_APP, 0, 0).await;
                ctx.post_message(w, WM_APP, 0, 0).await;
                0
            },
            0,
            None,
        )
        .await;
    let mut m = MSG::default();
    if ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
        ctx.dispatch_message(&m).await;
    }
    ctx.wait_for_single_object(x, INFINITE).await;
    ctx.release(proxy).await;
    ctx.post_thread_message(server_tid, WM_QUIT, 0, 0).await;
    let mut index = 0;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[server]), Some(&mut index)).await;
    ctx.co_uninitialize().await;
    let r = results.borrow().clone();
    match r.as_slice() {
        [first, S_OK] => first.0 as u32,
        _ => 1,
    }
}

/// Teaching case 3: an outgoing call from a handler of another thread's SendMessage.
pub fn com_input_sync_call() -> Scenario {
    Scenario {
        name: "com-input-sync-call",
        summary: "an STA handling another thread's SendMessage cannot call out; the same call from a posted message works",
        expect: "completes on every seed with exit code 0x8001010D (RPC_E_CANTCALLOUT_ININPUTSYNCCALL)",
        install: |sim| {
            sim.program("frame.exe", input_sync);
        },
        main: "frame.exe",
    }
}

// ----- 4. UI on an MTA thread ------------------------------------------------------------------

/// Main owns a window and calls a server STA's object whose method SendMessages to that
/// window. Main is in the MTA (`sta` false: it blocks without pumping, so the sent message
/// never runs) or in an STA (its modal loop runs it). Exits with the call's HRESULT.
async fn ui_thread(ctx: ThreadCtx, sta: bool) -> u32 {
    let model = if sta { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
    ctx.co_initialize_ex(None, model).await;
    let proc = wndproc(|ctx, h, msg, w, l| async move {
        if msg == WM_APP {
            return 7;
        }
        ctx.def_window_proc(h, msg, w, l).await
    });
    ctx.register_class_ex(&WNDCLASSEX::new("ui", proc)).await;
    let w = ctx.create_window_ex(0, "ui", "ui", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    let (s, server, server_tid) = server_sta(&ctx).await;
    let Some(proxy) = unmarshal(&ctx, s).await else { return 1000 };
    let hr = ctx.itoy_send_to(proxy, w, WM_APP).await;
    ctx.release(proxy).await;
    ctx.post_thread_message(server_tid, WM_QUIT, 0, 0).await;
    let mut index = 0;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[server]), Some(&mut index)).await;
    ctx.co_uninitialize().await;
    hr.0 as u32
}

/// Teaching case 4: a window on an MTA thread.
pub fn com_ui_on_mta() -> Scenario {
    Scenario {
        name: "com-ui-on-mta",
        summary: "an MTA thread with a window calls an STA object that sends it a message: the MTA caller does not pump",
        expect: "deadlocks on every seed; the report names IToy::SendTo and the SendMessage to the MTA thread's window",
        install: |sim| {
            sim.program("ui.exe", |ctx| ui_thread(ctx, false));
        },
        main: "ui.exe",
    }
}

/// Teaching case 4, fixed: the same program in an STA.
pub fn com_ui_on_sta() -> Scenario {
    Scenario {
        name: "com-ui-on-sta",
        summary: "the same program with the caller in an STA: its modal loop runs the sent message",
        expect: "completes on every seed with exit code 0 (S_OK)",
        install: |sim| {
            sim.program("ui.exe", |ctx| ui_thread(ctx, true));
        },
        main: "ui.exe",
    }
}

// ----- 5. a proxy used from the wrong thread ----------------------------------------------------

/// Main (an STA) unmarshals a proxy to a server STA's object and gives a second STA
/// thread the proxy pointer itself (`marshal` false) or a marshalled stream. Exits with
/// the second thread's call's HRESULT.
async fn wrong_thread(ctx: ThreadCtx, marshal_it: bool) -> u32 {
    ctx.co_initialize(None).await;
    let (s, server, server_tid) = server_sta(&ctx).await;
    let Some(proxy) = unmarshal(&ctx, s).await else { return 1000 };
    let stream = if marshal_it { marshal(&ctx, proxy).await } else { None };
    let t = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.co_initialize(None).await;
                let p = if marshal_it { unmarshal(&ctx, stream).await } else { Some(proxy) };
                let hr = match p {
                    Some(p) => ctx.itoy_add(p, 1).await,
                    None => E_POINTER,
                };
                ctx.co_uninitialize().await;
                hr.0 as u32
            },
            0,
            None,
        )
        .await;
    let mut index = 0;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut index)).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_thread(t, &mut code).await;
    ctx.release(proxy).await;
    ctx.post_thread_message(server_tid, WM_QUIT, 0, 0).await;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[server]), Some(&mut index)).await;
    ctx.co_uninitialize().await;
    code
}

/// Teaching case 5: the proxy pointer passed to another apartment.
pub fn com_wrong_thread_proxy() -> Scenario {
    Scenario {
        name: "com-wrong-thread-proxy",
        summary: "a proxy pointer handed to another apartment fails every call with RPC_E_WRONG_THREAD",
        expect: "completes on every seed with exit code 0x8001010E (RPC_E_WRONG_THREAD)",
        install: |sim| {
            sim.program("wrong.exe", |ctx| wrong_thread(ctx, false));
        },
        main: "wrong.exe",
    }
}

/// Teaching case 5, fixed: marshal it (CoMarshalInterThreadInterfaceInStream).
pub fn com_marshalled_proxy() -> Scenario {
    Scenario {
        name: "com-marshalled-proxy",
        summary: "the fix: marshal the pointer to the other apartment, which gets a proxy of its own",
        expect: "completes on every seed with exit code 0 (S_OK)",
        install: |sim| {
            sim.program("wrong.exe", |ctx| wrong_thread(ctx, true));
        },
        main: "wrong.exe",
    }
}

// ----- 6. shutdown ordering ---------------------------------------------------------------------

/// Main (an STA) holds a proxy to a server STA's object. It calls (S_OK), uninitialises
/// and calls again (CO_E_OBJNOTCONNECTED, SD-1); then, in the MTA, unmarshals a second
/// proxy, lets the server end, and calls (RPC_E_DISCONNECTED, SD-2). Exits with 0 when the
/// three calls returned those, else 1.
async fn shutdown_order(ctx: ThreadCtx) -> u32 {
    ctx.co_initialize(None).await;
    let (s, server, server_tid) = server_sta(&ctx).await;
    let Some(proxy) = unmarshal(&ctx, s).await else { return 1000 };
    // A second, table-strong stream made by the server is not needed: marshal the proxy
    // again before leaving (it names the original object, MP-4).
    let again = marshal(&ctx, proxy).await;
    let first = ctx.itoy_add(proxy, 1).await;
    ctx.co_uninitialize().await;
    let second = ctx.itoy_add(proxy, 1).await;
    ctx.release(proxy).await;
    ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await;
    let Some(p2) = unmarshal(&ctx, again).await else { return 1001 };
    ctx.post_thread_message(server_tid, WM_QUIT, 0, 0).await;
    ctx.wait_for_single_object(server, INFINITE).await;
    let third = ctx.itoy_add(p2, 1).await;
    ctx.release(p2).await;
    ctx.co_uninitialize().await;
    u32::from((first, second, third) != (S_OK, CO_E_OBJNOTCONNECTED, RPC_E_DISCONNECTED))
}

/// Teaching case 6: shutdown ordering.
pub fn com_shutdown_order() -> Scenario {
    Scenario {
        name: "com-shutdown-order",
        summary: "a proxy after its own apartment ended gives CO_E_OBJNOTCONNECTED; after the server's, RPC_E_DISCONNECTED",
        expect: "completes on every seed with exit code 0 (S_OK, CO_E_OBJNOTCONNECTED, RPC_E_DISCONNECTED seen)",
        install: |sim| {
            sim.program("shutdown.exe", shutdown_order);
        },
        main: "shutdown.exe",
    }
}

// ----- 7. initialisation bookkeeping -----------------------------------------------------------

/// The CI-2/CI-3/CI-4 sequences on one thread; every HRESULT is in the trace. Exits with
/// the number of results that differ from Windows' (0).
async fn init_table(ctx: ThreadCtx) -> u32 {
    let mut got = Vec::new();
    let sta = COINIT_APARTMENTTHREADED;
    got.push((ctx.co_initialize_ex(None, sta | COINIT_DISABLE_OLE1DDE).await, S_OK));
    got.push((ctx.co_initialize_ex(None, sta).await, S_FALSE));
    got.push((ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, RPC_E_CHANGED_MODE));
    got.push((ctx.ole_initialize(None).await, S_OK));
    got.push((ctx.ole_initialize(None).await, S_FALSE));
    ctx.ole_uninitialize().await;
    ctx.ole_uninitialize().await;
    ctx.co_uninitialize().await;
    ctx.co_uninitialize().await;
    let (mut t, mut q) = (0, 0);
    got.push((ctx.co_get_apartment_type(Some(&mut t), Some(&mut q)).await, CO_E_NOTINITIALIZED));
    got.push((ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK));
    got.push((ctx.ole_initialize(None).await, RPC_E_CHANGED_MODE));
    ctx.ole_uninitialize().await;
    got.push((ctx.co_get_apartment_type(Some(&mut t), Some(&mut q)).await, S_OK));
    ctx.co_uninitialize().await;
    got.push((ctx.co_initialize(None).await, S_OK));
    got.push((ctx.ole_initialize(None).await, S_OK));
    ctx.co_uninitialize().await;
    ctx.co_uninitialize().await;
    got.push((ctx.ole_initialize(None).await, S_FALSE));
    ctx.ole_uninitialize().await;
    ctx.ole_uninitialize().await;
    got.iter().filter(|(g, want)| g != want).count() as u32
}

/// Teaching case 7: initialisation bookkeeping.
pub fn com_init_table() -> Scenario {
    Scenario {
        name: "com-init-table",
        summary: "CoInitializeEx/OleInitialize counting as a table of HRESULTs: S_FALSE on repeat, RPC_E_CHANGED_MODE not counted, OLE's own count",
        expect: "completes on every seed with exit code 0 (every HRESULT as on Windows)",
        install: |sim| {
            sim.program("init.exe", init_table);
        },
        main: "init.exe",
    }
}

// ----- 2. re-entrancy during an outgoing call, and the message-filter fix -------------------------

/// Main (STA A) owns object `mine` and runs mine->CallBack(cb) on it, where cb is a proxy
/// to an object of STA B, which starts pumping only after 50 ms: A waits in its modal
/// loop. Meanwhile thread C (an STA) calls mine->Add(10) through a proxy: it is let in as
/// CALLTYPE_TOPLEVEL_CALLPENDING and enters `mine` while its CallBack runs (the trace says
/// "re-entered"). With `filters`, A answers SERVERCALL_RETRYLATER to such calls and C's
/// RetryRejectedCall says "retry in 150 ms", so C's call lands after A's finished. Exits
/// with the counter (10).
async fn reentrancy(ctx: ThreadCtx, filters: bool) -> u32 {
    ctx.co_initialize(None).await;
    if filters {
        let f = MessageFilter { when_call_pending: Some(SERVERCALL_RETRYLATER), ..MessageFilter::default() };
        ctx.co_register_message_filter(Some(f), None).await;
    }
    let Some(mine) = toy(&ctx).await else { return 1000 };
    let for_c = marshal(&ctx, mine).await;
    // B: an STA that is busy for 50 ms before it pumps.
    let out: Rc<RefCell<(Option<IStream>, u32)>> = Rc::default();
    let o2 = out.clone();
    let ready = ctx.create_event(None, true, false, None).await;
    let b = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.co_initialize(None).await;
                if let Some(p) = toy(&ctx).await {
                    *o2.borrow_mut() = (marshal(&ctx, p).await, ctx.get_current_thread_id());
                }
                ctx.set_event(ready).await;
                ctx.sleep(50).await;
                let mut m = MSG::default();
                while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
                    ctx.dispatch_message(&m).await;
                }
                ctx.co_uninitialize().await;
                0
            },
            0,
            None,
        )
        .await;
    ctx.wait_for_single_object(ready, INFINITE).await;
    let (s, b_tid) = *out.borrow();
    let Some(cb) = unmarshal(&ctx, s).await else { return 1001 };
    let c = ctx
        .create_thread(
            None,
            0,
            move |ctx| async move {
                ctx.co_initialize(None).await;
                if filters {
                    let f = MessageFilter { retry_rejected_call: vec![150], ..MessageFilter::default() };
                    ctx.co_register_message_filter(Some(f), None).await;
                }
                let hr = match unmarshal(&ctx, for_c).await {
                    Some(p) => ctx.itoy_add(p, 10).await,
                    None => E_POINTER,
                };
                ctx.co_uninitialize().await;
                hr.0 as u32
            },
            0,
            None,
        )
        .await;
    // The method on our own object that calls out (the direct pointer: runs here).
    ctx.itoy_call_back(mine, Some(cb)).await;
    let mut index = 0;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[c]), Some(&mut index)).await;
    ctx.release(cb).await;
    ctx.post_thread_message(b_tid, WM_QUIT, 0, 0).await;
    ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[b]), Some(&mut index)).await;
    let v = counter(&ctx, mine).await;
    ctx.co_uninitialize().await;
    v
}

/// Teaching case 2: re-entrancy during an outgoing call.
pub fn com_reentrancy() -> Scenario {
    Scenario {
        name: "com-reentrancy",
        summary: "an STA waiting on an outgoing call lets an unrelated incoming call (CALLTYPE_TOPLEVEL_CALLPENDING) into the object whose method is running",
        expect: "completes on every seed with exit code 10; the trace shows IToy::Add re-entering the object",
        install: |sim| {
            sim.program("reenter.exe", |ctx| reentrancy(ctx, false));
        },
        main: "reenter.exe",
    }
}

/// Teaching case 2, fixed with message filters.
pub fn com_reentrancy_filtered() -> Scenario {
    Scenario {
        name: "com-reentrancy-filtered",
        summary: "the fix: the STA's filter answers SERVERCALL_RETRYLATER to pending-time calls; the caller's retries after 150 ms",
        expect: "completes on every seed with exit code 10; no re-entry, the call lands at 150 ms",
        install: |sim| {
            sim.program("reenter.exe", |ctx| reentrancy(ctx, true));
        },
        main: "reenter.exe",
    }
}

// ----- "plus": a client process and an out-of-process STA server (§21.17) ---------------------

/// server.exe: an STA that registers CLSID_Toy's class factory as CLSID_ToyServer
/// (CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE), sets the named event "ready", then waits for
/// "done": with WaitForSingleObject (`pump` false: its hidden window is never looked at)
/// or CoWaitForMultipleHandles (which serves incoming calls).
async fn local_server(ctx: ThreadCtx, pump: bool) -> u32 {
    ctx.co_initialize(None).await;
    let mut cf = None;
    ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf)).await;
    let mut cookie = 0;
    let hr =
        ctx.co_register_class_object(&CLSID_ToyServer, cf, CLSCTX_LOCAL_SERVER, REGCLS_MULTIPLEUSE, Some(&mut cookie));
    if hr.await != S_OK {
        return 1;
    }
    let ready = ctx.create_event(None, true, false, Some("ready")).await;
    let done = ctx.create_event(None, true, false, Some("done")).await;
    ctx.set_event(ready).await;
    if pump {
        let mut index = 0;
        ctx.co_wait_for_multiple_handles(COWAIT_DEFAULT, INFINITE, Some(&[done]), Some(&mut index)).await;
    } else {
        ctx.wait_for_single_object(done, INFINITE).await;
    }
    ctx.co_revoke_class_object(cookie).await;
    if let Some(cf) = cf {
        ctx.release(cf).await;
    }
    ctx.co_uninitialize().await;
    0
}

/// client.exe: starts server.exe, waits until it registered, creates an object of
/// CLSID_ToyServer with CLSCTX_LOCAL_SERVER (a proxy), calls Add(1), reads the counter,
/// lets the server go. Exits with the counter (or 1000 + the failed step).
async fn local_server_client(ctx: ThreadCtx) -> u32 {
    ctx.co_initialize(None).await;
    let ready = ctx.create_event(None, true, false, Some("ready")).await;
    let done = ctx.create_event(None, true, false, Some("done")).await;
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    if ctx.create_process(None, Some("server.exe"), None, None, false, 0, &si, &mut pi).await == FALSE {
        return 1001;
    }
    ctx.wait_for_single_object(ready, INFINITE).await;
    let mut p = None;
    ctx.co_create_instance(&CLSID_ToyServer, None, CLSCTX_LOCAL_SERVER, &IID_IToy, Some(&mut p)).await;
    let Some(p) = p else { return 1002 };
    ctx.itoy_add(p, 1).await;
    let v = counter(&ctx, p).await;
    ctx.release(p).await;
    ctx.set_event(done).await;
    ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
    ctx.co_uninitialize().await;
    v
}

/// The "plus" teaching case: a client calls an out-of-process STA server that waits
/// without pumping.
pub fn com_local_server_no_pump() -> Scenario {
    Scenario {
        name: "com-local-server-no-pump",
        summary: "a client process creates an object of an out-of-process STA server that waits in WaitForSingleObject: the activation call is posted to the server's hidden window and never runs",
        expect: "deadlocks on every seed; the report names IClassFactory::CreateInstance, the server's STA and process, and its thread",
        install: |sim| {
            sim.program("client.exe", local_server_client);
            sim.program("server.exe", |ctx| local_server(ctx, false));
        },
        main: "client.exe",
    }
}

/// The "plus" teaching case, fixed: the server waits with CoWaitForMultipleHandles.
pub fn com_local_server_cowait() -> Scenario {
    Scenario {
        name: "com-local-server-cowait",
        summary: "the fix: the out-of-process STA server waits with CoWaitForMultipleHandles, which serves the client's calls",
        expect: "completes on every seed with exit code 1 (the counter, read through the proxy)",
        install: |sim| {
            sim.program("client.exe", local_server_client);
            sim.program("server.exe", |ctx| local_server(ctx, true));
        },
        main: "client.exe",
    }
}
