//! COM local servers (docs/semantics.md §21.17-§21.19): CoRegisterClassObject in one
//! simulated process, CoCreateInstance / CoGetClassObject with CLSCTX_LOCAL_SERVER from
//! another, calls through the proxy, the server's end, QueryInterface through a proxy.
//! Facts: com-apartments.md MP-3, MP-7, SD-5 (compobj.c test_CoRegisterClassObject,
//! test_registered_object_thread_affinity, run on Windows); Learn's CoRegisterClassObject,
//! REGCLS, CoCreateInstance pages; the DCOM error notes cited in §21.17.

use crate::support::*;
use sim_core::WaitEdge;
use sim_core::prelude::*;
use std::future::Future;

/// How the server process waits for the client to finish.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wait {
    /// CoWaitForMultipleHandles on the "done" event (an STA pumps: calls are served).
    Pump,
    /// WaitForSingleObject on the "done" event (an STA does not pump).
    NoPump,
    /// Waits on "stop", then CoUninitialize, then waits on "done" (the process lives on).
    UninitFirst,
    /// Waits on "stop", then ExitProcess.
    ExitFirst,
}

#[derive(Clone, Copy, Debug)]
struct Server {
    sta: bool,
    flags: u32,
    ctx: u32,
    wait: Wait,
}

const SERVER: Server = Server { sta: true, flags: REGCLS_MULTIPLEUSE, ctx: CLSCTX_LOCAL_SERVER, wait: Wait::Pump };

async fn named_event(ctx: &ThreadCtx, name: &str) -> HANDLE {
    let h = ctx.create_event(None, true, false, Some(name)).await;
    assert!(!h.is_null());
    h
}

/// server.exe: registers CLSID_Toy's class factory as CLSID_ToyServer, says "ready", waits.
async fn server(ctx: ThreadCtx, s: Server) -> u32 {
    let model = if s.sta { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
    assert_eq!(ctx.co_initialize_ex(None, model).await, S_OK);
    let mut cf = None;
    let hr = ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf)).await;
    assert_eq!(hr, S_OK);
    let mut cookie = 0;
    assert_eq!(ctx.co_register_class_object(&CLSID_ToyServer, cf, s.ctx, s.flags, Some(&mut cookie)).await, S_OK);
    SERVER_COOKIE.with(|c| c.set(cookie));
    let (ready, done, stop) =
        (named_event(&ctx, "ready").await, named_event(&ctx, "done").await, named_event(&ctx, "stop").await);
    let resume = named_event(&ctx, "resume").await;
    ctx.set_event(ready).await;
    if s.flags & REGCLS_SUSPENDED != 0 {
        let mut i = 0;
        let _ = ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[resume]), Some(&mut i)).await;
        assert_eq!(ctx.co_resume_class_objects().await, S_OK);
        ctx.set_event(ready).await;
    }
    let mut i = 0;
    match s.wait {
        Wait::Pump => {
            assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[done]), Some(&mut i)).await, S_OK);
        }
        Wait::NoPump => {
            ctx.wait_for_single_object(done, INFINITE).await;
        }
        Wait::UninitFirst => {
            let _ = ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[stop]), Some(&mut i)).await;
            ctx.co_uninitialize().await;
            ctx.wait_for_single_object(done, INFINITE).await;
            return 0;
        }
        Wait::ExitFirst => {
            let _ = ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[stop]), Some(&mut i)).await;
            ctx.exit_process(7).await;
        }
    }
    let _ = ctx.co_revoke_class_object(cookie).await;
    if let Some(cf) = cf {
        ctx.release(cf).await;
    }
    ctx.co_uninitialize().await;
    0
}

thread_local! {
    /// The cookie server.exe's registration got (for a client that tries to revoke it).
    static SERVER_COOKIE: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Starts server.exe and waits until it registered; returns its process handle.
async fn start_server(ctx: &ThreadCtx) -> HANDLE {
    let ready = named_event(ctx, "ready").await;
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    assert_eq!(ctx.create_process(None, Some("server.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
    assert_eq!(ctx.wait_for_single_object(ready, INFINITE).await, WAIT_OBJECT_0);
    ctx.reset_event(ready).await;
    pi.hProcess
}

/// Tells the server it is done and waits for it to end.
async fn finish_server(ctx: &ThreadCtx, process: HANDLE) {
    let done = named_event(ctx, "done").await;
    ctx.set_event(done).await;
    assert_eq!(ctx.wait_for_single_object(process, INFINITE).await, WAIT_OBJECT_0);
}

/// Runs client.exe (main) with server.exe, under `config`.
fn run_pair<F, Fut>(config: Config, s: Server, client: F) -> RunReport
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(config);
    sim.program("client.exe", client);
    sim.program("server.exe", move |ctx| server(ctx, s));
    sim.run("client.exe")
}

#[track_caller]
fn check_pair<F, Fut>(s: Server, client: F)
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let client = std::rc::Rc::new(client);
    for config in std::iter::once(Config::round_robin()).chain((0..6).map(Config::random)) {
        let c = client.clone();
        let r = run_pair(config, s, move |ctx| c(ctx));
        assert_completed(&r);
        if let Outcome::Completed { exit_codes } = &r.outcome {
            let main = exit_codes.iter().find(|e| e.1 == "client.exe").expect("client exit");
            assert_eq!(main.2, 0, "client exit code\n{}", r.trace_text());
        }
    }
}

async fn create(ctx: &ThreadCtx, clsctx: u32) -> (HRESULT, Option<ComPtr>) {
    let mut p = None;
    let hr = ctx.co_create_instance(&CLSID_ToyServer, None, clsctx, &IID_IToy, Some(&mut p)).await;
    (hr, p)
}

// ----- registration -------------------------------------------------------------------------

#[test]
fn co_register_class_object_argument_checks_and_independent_registrations() {
    // Wine combase CoRegisterClassObject / Learn: E_INVALIDARG for a NULL object or
    // cookie [Wine impl; Learn lists E_INVALIDARG among the standard values]; no
    // apartment: CO_E_NOTINITIALIZED; Learn CoRegisterClassObject: "Multiple registrations
    // of the same class object are independent and do not produce an error. Each
    // subsequent registration yields a unique key"; compobj.c test_CoRegisterClassObject:
    // every REGCLS with CLSCTX_INPROC_SERVER and CLSCTX_LOCAL_SERVER registers and revokes
    // with S_OK; test_registered_object_thread_affinity: CoRevokeClassObject from another
    // apartment is RPC_E_WRONG_THREAD.
    check(|ctx| async move {
        let mut cookie = 0;
        assert_eq!(
            ctx.co_register_class_object(&CLSID_ToyServer, None, CLSCTX_LOCAL_SERVER, 0, Some(&mut cookie)).await,
            E_INVALIDARG
        );
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mut cf = None;
        assert_eq!(
            ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf)).await,
            S_OK
        );
        assert_eq!(
            ctx.co_register_class_object(&CLSID_ToyServer, cf, CLSCTX_LOCAL_SERVER, 0, None).await,
            E_INVALIDARG
        );
        for flags in [REGCLS_SINGLEUSE, REGCLS_MULTIPLEUSE, REGCLS_MULTI_SEPARATE] {
            for clsctx in [CLSCTX_INPROC_SERVER, CLSCTX_LOCAL_SERVER, CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER] {
                let mut c = 0;
                assert_eq!(ctx.co_register_class_object(&CLSID_ToyServer, cf, clsctx, flags, Some(&mut c)).await, S_OK);
                assert_eq!(ctx.co_revoke_class_object(c).await, S_OK);
            }
        }
        let (mut a, mut b) = (0, 0);
        let mc = REGCLS_MULTIPLEUSE;
        assert_eq!(
            ctx.co_register_class_object(&CLSID_ToyServer, cf, CLSCTX_LOCAL_SERVER, mc, Some(&mut a)).await,
            S_OK
        );
        assert_eq!(
            ctx.co_register_class_object(&CLSID_ToyServer, cf, CLSCTX_LOCAL_SERVER, mc, Some(&mut b)).await,
            S_OK
        );
        assert_ne!(a, b, "each registration has its own cookie");
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let hr = ctx.co_revoke_class_object(a).await;
            ctx.co_uninitialize().await;
            hr.0 as u32
        })
        .await;
        let mut i = 0;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await, S_OK);
        let mut code = 0;
        assert_eq!(ctx.get_exit_code_thread(t, &mut code).await, TRUE);
        assert_eq!(HRESULT(code as i32), RPC_E_WRONG_THREAD);
        assert_eq!(ctx.co_revoke_class_object(a).await, S_OK);
        assert_eq!(ctx.co_revoke_class_object(b).await, S_OK);
        assert_eq!(ctx.co_revoke_class_object(b).await, E_INVALIDARG, "already revoked [inferred]");
        ctx.co_uninitialize().await;
        assert_eq!(ctx.co_revoke_class_object(b).await, CO_E_NOTINITIALIZED);
        0
    });
}

#[test]
fn in_process_registrations_belong_to_their_apartment() {
    // com-apartments.md MP-7 (compobj.c test_registered_object_thread_affinity,
    // test_CoRegisterClassObject): an in-process registration is found only from its own
    // apartment (REGDB_E_CLASSNOTREG from another) and goes with its apartment; a
    // CLSCTX_LOCAL_SERVER registration is reached from another apartment as a proxy.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mut cf = None;
        ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf)).await;
        let mut c = 0;
        let inproc = CLSCTX_INPROC_SERVER;
        assert_eq!(ctx.co_register_class_object(&CLSID_ToyServer, cf, inproc, 0, Some(&mut c)).await, S_OK);
        let mut got = None;
        assert_eq!(
            ctx.co_get_class_object(&CLSID_ToyServer, inproc, None, &IID_IClassFactory, Some(&mut got)).await,
            S_OK
        );
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let mut p = None;
            let a =
                ctx.co_get_class_object(&CLSID_ToyServer, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut p));
            let a = a.await;
            let b =
                ctx.co_get_class_object(&CLSID_ToyServer, CLSCTX_LOCAL_SERVER, None, &IID_IClassFactory, Some(&mut p));
            let b = b.await;
            ctx.co_uninitialize().await;
            u32::from(a == REGDB_E_CLASSNOTREG) + 2 * u32::from(b == REGDB_E_CLASSNOTREG)
        })
        .await;
        assert_eq!(join(&ctx, t).await, 3, "neither context reaches an in-process registration of another apartment");
        ctx.co_uninitialize().await;
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mut p = None;
        assert_eq!(
            ctx.co_get_class_object(&CLSID_ToyServer, inproc, None, &IID_IClassFactory, Some(&mut p)).await,
            REGDB_E_CLASSNOTREG,
            "the registration went with its apartment (SD-5)"
        );
        ctx.co_uninitialize().await;
        0
    });
}

// ----- a local server in another process ------------------------------------------------------

#[test]
fn a_client_process_creates_and_calls_an_object_of_a_local_server() {
    // Learn CoCreateInstance (CoGetClassObject + IClassFactory::CreateInstance + Release),
    // CoRegisterClassObject; com-apartments.md MP-3 (another apartment gets a proxy),
    // XC-1 (an STA serves calls when it pumps: the server waits in
    // CoWaitForMultipleHandles).
    for sta in [true, false] {
        check_pair(Server { sta, ..SERVER }, |ctx| async move {
            let server = start_server(&ctx).await;
            assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, CO_E_NOTINITIALIZED);
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
            assert_eq!(hr, S_OK);
            let p = p.expect("a proxy");
            assert_eq!(ctx.itoy_add(p, 2).await, S_OK);
            let mut v = 0;
            assert_eq!(ctx.itoy_get(p, Some(&mut v)).await, S_OK);
            assert_eq!(v, 2, "the object lives in the server and keeps its counter");
            // A second object from the same (multiple-use) registration is a new object.
            let (hr, q) = create(&ctx, CLSCTX_ALL).await;
            assert_eq!(hr, S_OK);
            let q = q.expect("a proxy");
            assert_eq!(ctx.itoy_get(q, Some(&mut v)).await, S_OK);
            assert_eq!(v, 0);
            assert_eq!(create(&ctx, CLSCTX_INPROC_SERVER).await.0, REGDB_E_CLASSNOTREG, "no in-process class here");
            let mut o = None;
            let hr = ctx.co_create_instance(&CLSID_ToyServer, Some(p), CLSCTX_LOCAL_SERVER, &IID_IToy, Some(&mut o));
            assert_eq!(hr.await, CLASS_E_NOAGGREGATION);
            assert_eq!(
                ctx.co_create_instance(&CLSID_ToyServer, None, CLSCTX_LOCAL_SERVER, &IID_IToy, None).await,
                E_POINTER
            );
            ctx.release(p).await;
            ctx.release(q).await;
            ctx.co_uninitialize().await;
            finish_server(&ctx, server).await;
            0
        });
    }
}

#[test]
fn the_call_runs_on_the_server_s_thread_or_an_rpc_worker_of_its_process() {
    // XC-1 for a local server: an STA server runs the call on its own thread, from its
    // hidden window; an MTA server on an RPC worker thread of the server process.
    for sta in [true, false] {
        let r = run_pair(Config::round_robin(), Server { sta, ..SERVER }, |ctx| async move {
            let server = start_server(&ctx).await;
            ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await;
            let p = create(&ctx, CLSCTX_LOCAL_SERVER).await.1.expect("proxy");
            assert_eq!(ctx.itoy_add(p, 1).await, S_OK);
            ctx.release(p).await;
            ctx.co_uninitialize().await;
            finish_server(&ctx, server).await;
            0
        });
        assert_completed(&r);
        let text = r.trace_text();
        assert!(text.contains("reaches the class object of CLSID_ToyServer"), "{text}");
        assert!(text.contains("of server process P"), "{text}");
        if sta {
            assert!(text.contains("OleMainThreadWndClass"), "{text}");
        } else {
            assert!(text.contains("RPC worker T") && text.contains("of server process P"), "{text}");
        }
    }
}

#[test]
fn single_use_suspended_revoked_and_unregistered_classes_are_not_found() {
    // Learn REGCLS: REGCLS_SINGLEUSE "after an application is connected to a class object
    // with CoGetClassObject, the class object is removed from public view";
    // REGCLS_SUSPENDED: not visible until CoResumeClassObjects. No registration and no
    // LocalServer32 entry (winsim has no registry): REGDB_E_CLASSNOTREG.
    check_pair(Server { flags: REGCLS_SINGLEUSE, ..SERVER }, |ctx| async move {
        ctx.co_initialize(None).await;
        assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, REGDB_E_CLASSNOTREG, "nothing registered yet");
        let server = start_server(&ctx).await;
        let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
        assert_eq!(hr, S_OK);
        assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, REGDB_E_CLASSNOTREG, "single use: out of view");
        ctx.release(p.expect("proxy")).await;
        ctx.co_uninitialize().await;
        finish_server(&ctx, server).await;
        0
    });
    check_pair(Server { flags: REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED, ..SERVER }, |ctx| async move {
        ctx.co_initialize(None).await;
        let server = start_server(&ctx).await;
        assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, REGDB_E_CLASSNOTREG, "suspended");
        let resume = named_event(&ctx, "resume").await;
        let ready = named_event(&ctx, "ready").await;
        ctx.set_event(resume).await;
        ctx.wait_for_single_object(ready, INFINITE).await;
        let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
        assert_eq!(hr, S_OK, "resumed");
        ctx.release(p.expect("proxy")).await;
        ctx.co_uninitialize().await;
        finish_server(&ctx, server).await;
        // The server revoked its class before it ended.
        ctx.co_initialize(None).await;
        assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, REGDB_E_CLASSNOTREG, "revoked");
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn another_process_s_cookie_is_unknown_to_co_revoke_class_object() {
    // §21.21: each process keeps its own class table (Learn CoRevokeClassObject: dwRegister
    // is "a token previously returned from the CoRegisterClassObject function" in this
    // process; Wine combase keeps the registered classes per process and answers an
    // unknown cookie with E_INVALIDARG [Wine impl]), so the server's cookie, passed to
    // CoRevokeClassObject in the client, is E_INVALIDARG [inferred], not
    // RPC_E_WRONG_THREAD, and the server's registration stays.
    check_pair(SERVER, |ctx| async move {
        ctx.co_initialize(None).await;
        let server = start_server(&ctx).await;
        let cookie = SERVER_COOKIE.with(std::cell::Cell::get);
        assert_ne!(cookie, 0);
        assert_eq!(ctx.co_revoke_class_object(cookie).await, E_INVALIDARG);
        let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
        assert_eq!(hr, S_OK, "the registration is still there");
        ctx.release(p.expect("proxy")).await;
        ctx.co_uninitialize().await;
        finish_server(&ctx, server).await;
        0
    });
}

// ----- the server's end ------------------------------------------------------------------------

#[test]
fn proxies_to_a_server_that_ended_fail() {
    // The server's apartment ends while its process lives: its objects are disconnected,
    // RPC_E_DISCONNECTED (SD-2 [inferred]; "The object invoked has disconnected from its
    // clients"). The server process ends: RPC_S_SERVER_UNAVAILABLE (0x800706BA, "The RPC
    // server is unavailable": the DCOM error notes of §21.17, "the server stub is
    // disconnected" after the server was killed).
    for (wait, want) in [(Wait::UninitFirst, RPC_E_DISCONNECTED), (Wait::ExitFirst, RPC_S_SERVER_UNAVAILABLE)] {
        check_pair(Server { wait, ..SERVER }, move |ctx| async move {
            ctx.co_initialize(None).await;
            let server = start_server(&ctx).await;
            let p = create(&ctx, CLSCTX_LOCAL_SERVER).await.1.expect("proxy");
            assert_eq!(ctx.itoy_add(p, 1).await, S_OK);
            let stop = named_event(&ctx, "stop").await;
            ctx.set_event(stop).await;
            if wait == Wait::ExitFirst {
                ctx.wait_for_single_object(server, INFINITE).await;
            } else {
                // Wait until the server left its apartment: its registration is gone.
                while create(&ctx, CLSCTX_LOCAL_SERVER).await.0 == S_OK {
                    ctx.sleep(1).await;
                }
            }
            assert_eq!(ctx.itoy_add(p, 1).await, want);
            let mut q = None;
            assert_eq!(ctx.query_interface(p, &IID_IToyCallback, Some(&mut q)).await, want);
            assert_eq!(create(&ctx, CLSCTX_LOCAL_SERVER).await.0, REGDB_E_CLASSNOTREG, "its registration went too");
            ctx.release(p).await;
            ctx.co_uninitialize().await;
            finish_server(&ctx, server).await;
            0
        });
    }
}

#[test]
fn a_call_in_flight_when_the_server_process_ends_fails_and_does_not_hang() {
    // The DCOM error notes of §21.17: the server dies before finishing the call:
    // RPC_S_CALL_FAILED (0x800706BE, "The remote procedure call failed"). Here the STA
    // server does not pump, so the call is still queued on its hidden window when a
    // second server thread ends the process.
    // A thread of the server ends its process while the call waits (CoCreateInstance
    // itself is the call: IClassFactory::CreateInstance goes into the server's STA).
    let mut sim = Sim::new(Config::round_robin());
    sim.program("client.exe", |ctx| async move {
        ctx.co_initialize(None).await;
        let server = start_server(&ctx).await;
        let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
        assert_eq!(hr, RPC_S_CALL_FAILED, "the call in flight fails when its server process ends");
        assert!(p.is_none());
        assert_eq!(ctx.wait_for_single_object(server, INFINITE).await, WAIT_OBJECT_0);
        ctx.co_uninitialize().await;
        0
    });
    sim.program("server.exe", |ctx| async move {
        let killer = ctx
            .create_thread(
                None,
                0,
                |ctx| async move {
                    // Give the client time to make its call, then end the process.
                    ctx.sleep(50).await;
                    ctx.exit_process(3).await;
                    0
                },
                0,
                None,
            )
            .await;
        let _ = killer;
        server(ctx, Server { wait: Wait::NoPump, ..SERVER }).await
    });
    let r = sim.run("client.exe");
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        let main = exit_codes.iter().find(|e| e.1 == "client.exe").expect("client exit");
        assert_eq!(main.2, 0, "{}", r.trace_text());
    }
    assert!(r.trace_text().contains("lost its server process"), "{}", r.trace_text());
}

#[test]
fn a_client_of_a_server_sta_that_does_not_pump_deadlocks_and_the_report_names_the_server() {
    // XC-1 / ST-1 across processes: the call is a message posted to the server STA's hidden
    // window; a server that waits in WaitForSingleObject never retrieves it. The report's
    // COM edge names the call, the server's apartment and process, and its thread.
    for seed in 0..8 {
        let r = run_pair(Config::random(seed), Server { wait: Wait::NoPump, ..SERVER }, |ctx| async move {
            ctx.co_initialize(None).await;
            let server = start_server(&ctx).await;
            let (hr, p) = create(&ctx, CLSCTX_LOCAL_SERVER).await;
            if let Some(p) = p {
                ctx.release(p).await;
            }
            ctx.co_uninitialize().await;
            finish_server(&ctx, server).await;
            hr.0 as u32
        });
        let d = r.outcome.deadlock().unwrap_or_else(|| panic!("seed {seed}: expected a deadlock\n{}", r.summary()));
        let text = d.render();
        let edge = d.threads.iter().flat_map(|t| t.waits.iter()).find(|w| matches!(w, WaitEdge::ComCall { .. }));
        let Some(WaitEdge::ComCall { call, apartment, receiver, .. }) = edge else { panic!("no COM edge:\n{text}") };
        assert!(call.starts_with("IClassFactory::CreateInstance (call #"), "{text}");
        assert!(apartment.contains("of server process P") && apartment.contains("(server.exe)"), "{text}");
        assert!(receiver.is_some(), "{text}");
        assert!(text.contains("queued on the hidden window"), "{text}");
    }
}

// ----- QueryInterface through a proxy (§21.19) ---------------------------------------------------

#[test]
fn query_interface_through_a_proxy_asks_the_object_s_apartment() {
    // Learn, QueryInterface on a proxy for an interface the proxy manager does not hold yet
    // is a remote call (IRemUnknown::RemQueryInterface): E_NOINTERFACE comes from the
    // object; IID_IUnknown and interfaces the proxy already has are answered locally.
    check_pair(SERVER, |ctx| async move {
        ctx.co_initialize(None).await;
        let server = start_server(&ctx).await;
        let p = create(&ctx, CLSCTX_LOCAL_SERVER).await.1.expect("proxy");
        let mut q = None;
        assert_eq!(ctx.query_interface(p, &IID_IToyCallback, Some(&mut q)).await, S_OK);
        let q = q.expect("a proxy for IToyCallback");
        assert_eq!(ctx.itoy_callback_notify(q).await, S_OK);
        let mut v = 0;
        assert_eq!(ctx.itoy_get(p, Some(&mut v)).await, S_OK);
        assert_eq!(v, 1, "the same object");
        let mut none = Some(p);
        assert_eq!(ctx.query_interface(p, &IID_IClassFactory, Some(&mut none)).await, E_NOINTERFACE);
        assert!(none.is_none());
        assert_eq!(ctx.query_interface(p, &IID_IToy, None).await, E_POINTER);
        ctx.release(q).await;
        ctx.release(p).await;
        ctx.co_uninitialize().await;
        finish_server(&ctx, server).await;
        0
    });
    // Only the first QI for IToyCallback goes to the server.
    let r = run_pair(Config::round_robin(), SERVER, |ctx| async move {
        ctx.co_initialize(None).await;
        let server = start_server(&ctx).await;
        let p = create(&ctx, CLSCTX_LOCAL_SERVER).await.1.expect("proxy");
        let (mut a, mut b, mut c) = (None, None, None);
        assert_eq!(ctx.query_interface(p, &IID_IToyCallback, Some(&mut a)).await, S_OK);
        assert_eq!(ctx.query_interface(p, &IID_IToyCallback, Some(&mut b)).await, S_OK);
        assert_eq!(ctx.query_interface(p, &IID_IUnknown, Some(&mut c)).await, S_OK);
        ctx.co_uninitialize().await;
        finish_server(&ctx, server).await;
        0
    });
    assert_completed(&r);
    let n = r.trace_text().matches("runs IUnknown::QueryInterface call #").count();
    assert_eq!(n, 1, "{}", r.trace_text());
}

#[test]
fn query_interface_through_a_proxy_waits_for_a_server_sta_that_does_not_pump() {
    // §21.19: the QI is a call like any other, so a server STA that waits without pumping
    // blocks it (in-process here: the object lives in the main STA, which waits in
    // WaitForSingleObject for the thread that asks).
    let r = run_main(|ctx| async move {
        ctx.co_initialize(None).await;
        let mut p = None;
        ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await;
        let mut s = None;
        ctx.co_marshal_inter_thread_interface_in_stream(&IID_IToy, p, Some(&mut s)).await;
        let t = spawn(&ctx, move |ctx| async move {
            ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await;
            let mut q = None;
            ctx.co_get_interface_and_release_stream(s, &IID_IToy, Some(&mut q)).await;
            let mut cb = None;
            let hr = ctx.query_interface(q.expect("proxy"), &IID_IToyCallback, Some(&mut cb)).await;
            hr.0 as u32
        })
        .await;
        ctx.wait_for_single_object(t, INFINITE).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock\n{}", r.summary()));
    assert!(d.render().contains("IUnknown::QueryInterface (call #"), "{}", d.render());
}

// ----- IMessageFilter::MessagePending (MF-6, CW-7; §21.20) -----------------------------------

/// Main (an STA with a message filter whose MessagePending answers `answer`) calls
/// WaitOn(gate) on an object of a second STA; while it waits, a third thread posts WM_APP
/// to main's thread and then sets the gate. Returns (the call's HRESULT, whether WM_APP is
/// still queued afterwards) and the trace.
fn message_pending(answer: u32) -> (RunReport, HRESULT, bool) {
    let out = std::rc::Rc::new(std::cell::Cell::new((S_OK, false)));
    let o = out.clone();
    let r = run_main(move |ctx| {
        let o = o.clone();
        async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let f = MessageFilter { message_pending: vec![answer], ..MessageFilter::default() };
            assert_eq!(ctx.co_register_message_filter(Some(f), None).await, S_OK);
            let gate = ctx.create_event(None, true, false, None).await;
            let ready = ctx.create_event(None, true, false, None).await;
            let cell = std::rc::Rc::new(std::cell::Cell::new(None));
            let c2 = cell.clone();
            let b = spawn(&ctx, move |ctx| async move {
                ctx.co_initialize(None).await;
                let mut p = None;
                ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await;
                let mut s = None;
                ctx.co_marshal_inter_thread_interface_in_stream(&IID_IToy, p, Some(&mut s)).await;
                c2.set(Some((s, ctx.get_current_thread_id())));
                ctx.set_event(ready).await;
                let mut m = MSG::default();
                while ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
                    ctx.dispatch_message(&m).await;
                }
                ctx.co_uninitialize().await;
                0
            })
            .await;
            ctx.wait_for_single_object(ready, INFINITE).await;
            let mut proxy = None;
            let (s, btid) = cell.get().expect("b's stream");
            ctx.co_get_interface_and_release_stream(s, &IID_IToy, Some(&mut proxy)).await;
            let proxy = proxy.expect("proxy");
            let me = ctx.get_current_thread_id();
            let poster = spawn(&ctx, move |ctx| async move {
                ctx.sleep(10).await;
                ctx.post_thread_message(me, WM_APP, 0, 0).await;
                ctx.sleep(10).await;
                ctx.set_event(gate).await;
                0
            })
            .await;
            let hr = ctx.itoy_wait_on(proxy, gate).await;
            let mut m = MSG::default();
            let queued = ctx.peek_message(&mut m, HWND::NULL, WM_APP, WM_APP, PM_REMOVE).await != 0;
            o.set((hr, queued));
            // A bare CoWaitForMultipleHandles does not consult MessagePending (CW-7).
            ctx.post_thread_message(me, WM_APP + 1, 0, 0).await;
            let mut i = 0;
            assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[poster]), Some(&mut i)).await, S_OK);
            ctx.post_thread_message(btid, WM_QUIT, 0, 0).await;
            assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[b]), Some(&mut i)).await, S_OK);
            ctx.co_uninitialize().await;
            0
        }
    });
    assert_completed(&r);
    let (hr, q) = out.get();
    (r, hr, q)
}

#[test]
fn message_pending_cancels_or_keeps_waiting_and_the_message_stays_queued() {
    // com-apartments.md MF-6 (Learn IMessageFilter::MessagePending, PENDINGMSG): called when
    // a window message arrives while the STA waits for an outgoing call's reply;
    // PENDINGMSG_CANCELCALL makes the call fail with RPC_E_CALL_CANCELED (0x80010002);
    // WAITDEFPROCESS / WAITNOPROCESS keep waiting; the message stays queued. CW-7: a bare
    // CoWaitForMultipleHandles does not call it.
    let (r, hr, queued) = message_pending(PENDINGMSG_CANCELCALL);
    assert_eq!(hr, RPC_E_CALL_CANCELED, "{}", r.trace_text());
    assert!(queued, "the message stays queued");
    let text = r.trace_text();
    assert_eq!(text.matches("MessagePending(PENDINGTYPE").count(), 1, "{text}");
    assert!(text.contains("answers PENDINGMSG_CANCELCALL"), "{text}");
    for answer in [PENDINGMSG_WAITDEFPROCESS, PENDINGMSG_WAITNOPROCESS] {
        let (r, hr, queued) = message_pending(answer);
        assert_eq!(hr, S_OK, "{}", r.trace_text());
        assert!(queued);
        let text = r.trace_text();
        assert!(text.contains("(PENDINGTYPE_TOPLEVEL) answers PENDINGMSG_WAIT"), "{text}");
        assert_eq!(
            text.matches("MessagePending(PENDINGTYPE").count(),
            1,
            "only for WM_APP, not in the bare wait\n{text}"
        );
    }
}
