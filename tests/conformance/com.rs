//! COM apartments (docs/semantics.md §21). Facts are numbered as in
//! /work/shared/semantics/com-apartments.md (CI-2, MP-5, ...), each with its source: Wine's
//! ole32 conformance tests (dlls/ole32/tests/compobj.c, marshal.c, run on Windows) and
//! Microsoft Learn pages.

use crate::support::*;
use sim_core::WaitEdge;
use sim_core::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;

pub(crate) async fn toy(ctx: &ThreadCtx) -> ComPtr {
    let mut p = None;
    assert_eq!(ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await, S_OK);
    p.expect("CoCreateInstance gave a pointer")
}

async fn apt_type(ctx: &ThreadCtx) -> (HRESULT, i32, i32) {
    let (mut t, mut q) = (99, 99);
    let hr = ctx.co_get_apartment_type(Some(&mut t), Some(&mut q)).await;
    (hr, t, q)
}

async fn marshal(ctx: &ThreadCtx, p: ComPtr) -> IStream {
    let mut s = None;
    assert_eq!(ctx.co_marshal_inter_thread_interface_in_stream(&IID_IToy, Some(p), Some(&mut s)).await, S_OK);
    s.expect("a stream")
}

async fn unmarshal(ctx: &ThreadCtx, s: IStream) -> ComPtr {
    let mut p = None;
    assert_eq!(ctx.co_get_interface_and_release_stream(Some(s), &IID_IToy, Some(&mut p)).await, S_OK);
    p.expect("a pointer")
}

async fn get(ctx: &ThreadCtx, p: ComPtr) -> i64 {
    let mut v = -1;
    assert_eq!(ctx.itoy_get(p, Some(&mut v)).await, S_OK);
    v
}

/// A cell to hand values between threads of one test.
fn cell<T: Default>() -> Rc<RefCell<T>> {
    Rc::new(RefCell::new(T::default()))
}

// ----- A. initialisation -------------------------------------------------------------------

#[test]
fn co_initialize_ex_counts_per_thread_and_a_repeat_is_s_false() {
    // com-apartments.md CI-2; compobj.c test_IInitializeSpy; MS docs CoInitializeEx.
    check(|ctx| async move {
        let sta = COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE;
        assert_eq!(ctx.co_initialize_ex(None, sta).await, S_OK);
        assert_eq!(ctx.co_initialize_ex(None, COINIT_APARTMENTTHREADED).await, S_FALSE);
        ctx.co_uninitialize().await;
        assert_eq!(apt_type(&ctx).await.0, S_OK, "one CoUninitialize left: still initialised");
        ctx.co_uninitialize().await;
        assert_eq!(apt_type(&ctx).await, (CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE));
        assert_eq!(ctx.co_initialize_ex(None, sta).await, S_OK, "a fresh apartment");
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn each_thread_s_first_mta_initialisation_is_s_ok() {
    // com-apartments.md CI-2 (MTA run); compobj.c test_IInitializeSpy.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED | COINIT_DISABLE_OLE1DDE).await, S_FALSE);
        let t = spawn(&ctx, |ctx| async move {
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await;
        ctx.co_uninitialize().await;
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn mixing_models_is_rpc_e_changed_mode_and_does_not_count() {
    // com-apartments.md CI-3; compobj.c test_OleInitialize_InitCounting (case 1),
    // test_CoGetApartmentType; MS docs CoInitializeEx, OleInitialize.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        assert_eq!(ctx.ole_initialize(None).await, RPC_E_CHANGED_MODE);
        ctx.ole_uninitialize().await;
        let mut p = None;
        assert_eq!(ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await, S_OK);
        ctx.co_uninitialize().await;
        assert_eq!(
            ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await,
            CO_E_NOTINITIALIZED
        );
        assert_eq!(p, None, "the out pointer is set to NULL");
        // The other direction; then the other model after a full uninitialise.
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, RPC_E_CHANGED_MODE);
        ctx.co_uninitialize().await;
        assert_eq!(apt_type(&ctx).await.0, CO_E_NOTINITIALIZED, "the failed call was not counted");
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn ole_initialize_keeps_its_own_count() {
    // com-apartments.md CI-4; compobj.c test_CoInitializeEx, test_OleInitialize_InitCounting
    // (cases 2 and 3); MS docs OleInitialize.
    check(|ctx| async move {
        // (a1)
        assert_eq!(ctx.co_initialize_ex(None, COINIT_APARTMENTTHREADED).await, S_OK);
        assert_eq!(ctx.ole_initialize(None).await, S_OK, "first OleInitialize on an STA thread");
        assert_eq!(ctx.ole_initialize(None).await, S_FALSE);
        ctx.ole_uninitialize().await;
        ctx.ole_uninitialize().await;
        ctx.co_uninitialize().await;
        assert_eq!(apt_type(&ctx).await.0, CO_E_NOTINITIALIZED);
        // (a2) extra OleUninitialize calls do not uninitialise COM.
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(ctx.ole_initialize(None).await, S_OK);
        for _ in 0..3 {
            ctx.ole_uninitialize().await;
        }
        let mut p = None;
        assert_eq!(ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await, S_OK);
        ctx.co_uninitialize().await;
        assert_eq!(
            ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await,
            CO_E_NOTINITIALIZED
        );
        // (a3) COM gone under OLE: OleInitialize is S_FALSE.
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(ctx.ole_initialize(None).await, S_OK);
        ctx.co_uninitialize().await;
        ctx.co_uninitialize().await;
        assert_eq!(
            ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await,
            CO_E_NOTINITIALIZED
        );
        assert_eq!(ctx.ole_initialize(None).await, S_FALSE);
        ctx.ole_uninitialize().await;
        ctx.ole_uninitialize().await;
        0
    });
}

#[test]
fn without_an_apartment_calls_fail_with_co_e_notinitialized() {
    // com-apartments.md CI-1; compobj.c test_CoCreateInstance, test_CoGetApartmentType,
    // test_CoUnmarshalInterface (Windows; Wine differs on the last).
    check(|ctx| async move {
        let mut p = Some(ComPtr(12345));
        assert_eq!(
            ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await,
            CO_E_NOTINITIALIZED
        );
        assert_eq!(p, None);
        assert_eq!(apt_type(&ctx).await, (CO_E_NOTINITIALIZED, APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE));
        // Marshal data made by another thread's MTA, unmarshalled here after that MTA ended.
        let s = cell::<Option<IStream>>();
        let s2 = s.clone();
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let p = toy(&ctx).await;
            *s2.borrow_mut() = Some(marshal(&ctx, p).await);
            0
        })
        .await;
        join(&ctx, t).await;
        let stream = s.borrow().expect("stream");
        let mut q = None;
        assert_eq!(ctx.co_unmarshal_interface(Some(stream), &IID_IToy, Some(&mut q)).await, CO_E_NOTINITIALIZED);
        // Bad arguments.
        assert_eq!(ctx.co_initialize_ex(Some(1), COINIT_MULTITHREADED).await, E_INVALIDARG);
        assert_eq!(ctx.co_initialize_ex(None, 0x100).await, E_INVALIDARG);
        assert_eq!(ctx.co_decrement_mta_usage(77).await, E_INVALIDARG);
        0
    });
}

#[test]
fn apartment_types_main_sta_sta_and_mta() {
    // com-apartments.md CI-5; compobj.c test_CoGetApartmentType, test_CoGetObjectContext;
    // marshal.c bad_thread_proc_sta (a second STA is APTTYPE_STA).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE));
        let t = spawn(&ctx, |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_STA, APTTYPEQUALIFIER_NONE));
            ctx.co_uninitialize().await;
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_NONE));
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await;
        // A NULL out pointer: E_INVALIDARG, the other left alone.
        let mut t = 42;
        assert_eq!(ctx.co_get_apartment_type(Some(&mut t), None).await, E_INVALIDARG);
        assert_eq!(t, 42);
        let mut q = 42;
        assert_eq!(ctx.co_get_apartment_type(None, Some(&mut q)).await, E_INVALIDARG);
        assert_eq!(q, 42);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_thread_that_never_initialised_is_in_the_implicit_mta() {
    // com-apartments.md CI-7; compobj.c test_implicit_mta (implicit_mta_proc), test_mta_usage.
    check(|ctx| async move {
        let ready = ctx.create_event(None, true, false, None).await;
        let done = ctx.create_event(None, true, false, None).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            ctx.set_event(ready).await;
            ctx.wait_for_single_object(done, INFINITE).await;
            ctx.co_uninitialize().await;
            0
        })
        .await;
        ctx.wait_for_single_object(ready, INFINITE).await;
        assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_IMPLICIT_MTA));
        let p = toy(&ctx).await;
        assert_eq!(ctx.itoy_add(p, 2).await, S_OK);
        ctx.set_event(done).await;
        join(&ctx, t).await;
        assert_eq!(apt_type(&ctx).await.0, CO_E_NOTINITIALIZED, "the MTA ended with its last member");
        // CoIncrementMTAUsage makes the MTA; two distinct cookies; both released: gone.
        let (mut c1, mut c2) = (0, 0);
        assert_eq!(ctx.co_increment_mta_usage(Some(&mut c1)).await, S_OK);
        assert_eq!(ctx.co_increment_mta_usage(Some(&mut c2)).await, S_OK);
        assert_ne!(c1, c2);
        assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_MTA, APTTYPEQUALIFIER_IMPLICIT_MTA));
        assert_eq!(ctx.co_decrement_mta_usage(c1).await, S_OK);
        assert_eq!(apt_type(&ctx).await.0, S_OK);
        assert_eq!(ctx.co_decrement_mta_usage(c2).await, S_OK);
        assert_eq!(apt_type(&ctx).await.0, CO_E_NOTINITIALIZED);
        assert_eq!(ctx.co_increment_mta_usage(None).await, E_INVALIDARG);
        // On an STA thread the usage count changes nothing about the thread.
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(ctx.co_increment_mta_usage(Some(&mut c1)).await, S_OK);
        assert_eq!(apt_type(&ctx).await, (S_OK, APTTYPE_MAINSTA, APTTYPEQUALIFIER_NONE));
        assert_eq!(ctx.co_decrement_mta_usage(c1).await, S_OK);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn an_sta_has_a_hidden_window_that_goes_with_it() {
    // com-apartments.md ST-1; MS docs concept page single-threaded-apartments (the hidden
    // window of class OleMainThreadWndClass).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let h = ctx.find_window_ex(HWND_MESSAGE, HWND::NULL, Some("OleMainThreadWndClass"), None).await;
        assert!(!h.is_null(), "the STA's hidden window is a message-only window");
        assert_eq!(ctx.get_window_thread_process_id(h, None).await, ctx.get_current_thread_id());
        ctx.co_uninitialize().await;
        assert_eq!(ctx.is_window(h).await, FALSE, "the last CoUninitialize destroys it");
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let h = ctx.find_window_ex(HWND_MESSAGE, HWND::NULL, Some("OleMainThreadWndClass"), None).await;
        assert!(h.is_null(), "an MTA thread has none");
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn thread_exit_uninitialises_and_disconnects_its_objects() {
    // com-apartments.md SD-3 (marshal.c test_no_couninitialize_server) and SD-2 (a call to
    // an object whose apartment ended: RPC_E_DISCONNECTED, flagged [inferred]).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let s = cell::<Option<IStream>>();
        let s2 = s.clone();
        let ready = ctx.create_event(None, true, false, None).await;
        let go = ctx.create_event(None, true, false, None).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let p = toy(&ctx).await;
            *s2.borrow_mut() = Some(marshal(&ctx, p).await);
            ctx.set_event(ready).await;
            ctx.wait_for_single_object(go, INFINITE).await;
            0 // exits without CoUninitialize
        })
        .await;
        ctx.wait_for_single_object(ready, INFINITE).await;
        let stream = s.borrow().expect("stream");
        let p = unmarshal(&ctx, stream).await;
        ctx.set_event(go).await;
        join(&ctx, t).await;
        assert_eq!(ctx.itoy_add(p, 1).await, RPC_E_DISCONNECTED);
        assert_eq!(ctx.release(p).await, 0, "releasing the proxy is fine");
        ctx.co_uninitialize().await;
        0
    });
}

// ----- D. marshalling -----------------------------------------------------------------------

#[test]
fn marshal_in_stream_argument_checks() {
    // com-apartments.md MP-1; compobj.c test_CoMarshalInterThreadInterfaceInStream,
    // test_CoGetInterfaceAndReleaseStream.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        let mut s = None;
        assert_eq!(
            ctx.co_marshal_inter_thread_interface_in_stream(&IID_IUnknown, None, Some(&mut s)).await,
            E_INVALIDARG
        );
        assert_eq!(ctx.co_marshal_inter_thread_interface_in_stream(&IID_IUnknown, Some(p), None).await, E_INVALIDARG);
        let mut q = None;
        assert_eq!(ctx.co_get_interface_and_release_stream(None, &IID_IToy, Some(&mut q)).await, E_INVALIDARG);
        assert_eq!(ctx.co_marshal_interface(None, &IID_IToy, Some(p), MSHCTX_INPROC, None, 0).await, E_INVALIDARG);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn normal_marshal_data_unmarshals_once() {
    // com-apartments.md MP-2, MP-3; marshal.c test_normal_marshal_and_unmarshal_twice,
    // test_same_apartment_unmarshal_failure, test_bad_marshal_stream.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        let mut s = None;
        assert_eq!(ctx.create_stream_on_hglobal(Some(&mut s)).await, S_OK);
        let s = s.expect("stream");
        assert_eq!(
            ctx.co_marshal_interface(Some(s), &IID_IToy, Some(p), MSHCTX_INPROC, None, MSHLFLAGS_NORMAL).await,
            S_OK
        );
        let mut q = None;
        assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, STG_E_READFAULT, "not rewound");
        assert_eq!(ctx.istream_seek_start(s).await, S_OK);
        assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, S_OK);
        // In the same apartment the result is the object itself: calls run here at once.
        assert_eq!(ctx.itoy_add(q.expect("ptr"), 5).await, S_OK);
        assert_eq!(get(&ctx, p).await, 5);
        assert_eq!(ctx.istream_seek_start(s).await, S_OK);
        assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTCONNECTED);
        // E_NOINTERFACE consumes NORMAL data.
        assert_eq!(ctx.istream_seek_start(s).await, S_OK);
        assert_eq!(
            ctx.co_marshal_interface(Some(s), &IID_IToy, Some(p), MSHCTX_INPROC, None, MSHLFLAGS_NORMAL).await,
            S_OK
        );
        assert_eq!(ctx.istream_seek_start(s).await, S_OK);
        assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut q)).await, E_NOINTERFACE);
        assert_eq!(ctx.istream_seek_start(s).await, S_OK);
        assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTCONNECTED);
        ctx.istream_release(s).await;
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn table_marshal_data_unmarshals_many_times_until_released() {
    // com-apartments.md MP-4; marshal.c test_tablestrong_marshal_and_unmarshal_twice,
    // test_tableweak_marshal_releasedata1 (CO_E_OBJNOTREG after release: Windows, Wine
    // differs).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        for flags in [MSHLFLAGS_TABLESTRONG, MSHLFLAGS_TABLEWEAK] {
            let mut s = None;
            assert_eq!(ctx.create_stream_on_hglobal(Some(&mut s)).await, S_OK);
            let s = s.expect("stream");
            assert_eq!(ctx.co_marshal_interface(Some(s), &IID_IToy, Some(p), MSHCTX_INPROC, None, flags).await, S_OK);
            for _ in 0..3 {
                let mut q = None;
                assert_eq!(ctx.istream_seek_start(s).await, S_OK);
                assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, S_OK);
            }
            assert_eq!(ctx.istream_seek_start(s).await, S_OK);
            assert_eq!(ctx.co_release_marshal_data(Some(s)).await, S_OK);
            assert_eq!(ctx.co_release_marshal_data(Some(s)).await, STG_E_READFAULT, "past the end");
            let mut q = None;
            assert_eq!(ctx.istream_seek_start(s).await, S_OK);
            assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTREG);
            ctx.istream_release(s).await;
        }
        ctx.co_uninitialize().await;
        0
    });
}

/// Main joins the MTA and makes an object there; a second thread (an STA) unmarshals a
/// proxy and hands the proxy pointer itself to a third thread in `third_model` (None: no
/// COM at all), which calls through it.
fn proxy_used_from(third_model: Option<u32>, no_mta: bool) -> HRESULT {
    let seen = cell::<Option<HRESULT>>();
    let seen2 = seen.clone();
    let r = run_main(move |ctx| {
        let seen = seen2.clone();
        async move {
            let cookie_holder = !no_mta;
            if cookie_holder {
                assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            } else {
                assert_eq!(ctx.co_initialize(None).await, S_OK);
            }
            let p = toy(&ctx).await;
            let s = marshal(&ctx, p).await;
            let seen = seen.clone();
            let t = spawn(&ctx, move |ctx| async move {
                assert_eq!(ctx.co_initialize(None).await, S_OK);
                let proxy = unmarshal(&ctx, s).await;
                let seen = seen.clone();
                let u = spawn(&ctx, move |ctx| async move {
                    if let Some(m) = third_model {
                        assert_eq!(ctx.co_initialize_ex(None, m).await, S_OK);
                    }
                    *seen.borrow_mut() = Some(ctx.itoy_add(proxy, 1).await);
                    let mut v = 0;
                    assert_eq!(ctx.itoy_get(proxy, Some(&mut v)).await, seen.borrow().unwrap());
                    0
                })
                .await;
                // Pump while the third thread runs (it never reaches this apartment).
                let mut i = 0;
                assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[u]), Some(&mut i)).await, S_OK);
                assert_eq!(ctx.release(proxy).await, 0);
                ctx.co_uninitialize().await;
                0
            })
            .await;
            let mut i = 0;
            assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await, S_OK);
            ctx.co_uninitialize().await;
            0
        }
    });
    assert_completed(&r);
    let v = *seen.borrow();
    v.expect("the third thread called")
}

#[test]
fn a_proxy_is_bound_to_the_apartment_that_unmarshalled_it() {
    // com-apartments.md MP-5; marshal.c test_proxy_used_in_wrong_thread (bad_thread_proc,
    // bad_thread_proc_sta); Windows: CO_E_NOTINITIALIZED with no COM at all (Wine differs).
    assert_eq!(proxy_used_from(Some(COINIT_MULTITHREADED), false), RPC_E_WRONG_THREAD);
    assert_eq!(proxy_used_from(Some(COINIT_APARTMENTTHREADED), false), RPC_E_WRONG_THREAD);
    // No COM and no MTA in the process.
    assert_eq!(proxy_used_from(None, true), CO_E_NOTINITIALIZED);
    // The implicit MTA (main is in the MTA) is still the wrong apartment.
    assert_eq!(proxy_used_from(None, false), RPC_E_WRONG_THREAD);
}

#[test]
fn a_raw_pointer_used_from_another_apartment_runs_on_the_calling_thread() {
    // com-apartments.md MP-6; MS docs concept page single-threaded-apartments.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            assert_eq!(ctx.itoy_add(p, 3).await, S_OK, "no check, no error");
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await; // not pumping: the call never needed this thread
        assert_eq!(get(&ctx, p).await, 3);
        ctx.co_uninitialize().await;
        0
    });
    assert_completed(&r);
    assert!(r.trace_text().contains("apartment violation"), "{}", r.trace_text());
}

#[test]
fn using_a_released_pointer_ends_the_run_as_failed() {
    // Bad input never panics: a use after the last Release is undefined on Windows (a
    // crash); winsim ends the run as Failed naming the call.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        assert_eq!(ctx.release(p).await, 0);
        let _ = ctx.itoy_add(p, 1).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(message.contains("after its last Release"), "{message}"),
        o => panic!("expected Failed, got {o:?}"),
    }
}

// ----- B/E. calls ---------------------------------------------------------------------------

/// Main (an STA) makes an object and gives a marshalled pointer to a worker (`worker_sta`
/// or MTA) that calls Add(1); main waits for the worker with `pump` (CoWaitForMultipleHandles)
/// or without (WaitForSingleObject).
fn sta_waits_for_caller(pump: bool, worker_sta: bool, seed: u64) -> RunReport {
    run_with(Config::random(seed), move |ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        let s = marshal(&ctx, p).await;
        let t = spawn(&ctx, move |ctx| async move {
            let model = if worker_sta { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
            assert_eq!(ctx.co_initialize_ex(None, model).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            assert_eq!(ctx.itoy_add(proxy, 1).await, S_OK);
            ctx.release(proxy).await;
            ctx.co_uninitialize().await;
            0
        })
        .await;
        if pump {
            let mut i = 7;
            assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await, S_OK);
            assert_eq!(i, 0);
        } else {
            ctx.wait_for_single_object(t, INFINITE).await;
        }
        assert_eq!(get(&ctx, p).await, 1);
        ctx.co_uninitialize().await;
        0
    })
}

#[test]
fn a_call_into_an_sta_runs_only_when_that_thread_pumps() {
    // com-apartments.md ST-1, ST-3, CW-4; MS docs concept page single-threaded-apartments;
    // compobj.c test_CoWaitForMultipleHandles_thread (the call is serviced inside the wait).
    for seed in 0..10 {
        for worker_sta in [false, true] {
            let r = sta_waits_for_caller(true, worker_sta, seed);
            assert_completed(&r);
            let r = sta_waits_for_caller(false, worker_sta, seed);
            let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock:\n{}", r.trace_text()));
            let caller = d.threads.iter().find(|t| t.waits.iter().any(|w| matches!(w, WaitEdge::ComCall { .. })));
            let caller = caller.unwrap_or_else(|| panic!("no COM edge:\n{}", d.render()));
            let text = d.render();
            assert!(text.contains("IToy::Add (call #"), "{text}");
            assert!(text.contains("queued on the hidden window"), "{text}");
            assert!(text.contains("does not look at its message queue"), "{text}");
            assert_eq!(d.cycle.len(), 2, "{text}");
            assert!(d.cycle.contains(&caller.tid));
        }
    }
}

#[test]
fn a_call_into_the_mta_runs_on_a_worker_thread() {
    // com-apartments.md ST-2, XC-1 (MTA calls are not serialised through messages; an
    // STA caller waits in the modal loop).
    check_every_schedule(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        let s = marshal(&ctx, p).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            assert_eq!(ctx.itoy_add(proxy, 4).await, S_OK);
            assert_eq!(get(&ctx, proxy).await, 4);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        // Main does not pump (it is in the MTA): the call does not need it.
        join(&ctx, t).await;
        ctx.co_uninitialize().await;
        0
    });
}

/// An STA (`a`) with a window calls an object living in another STA (`b`) whose method
/// sends a message to a's window; returns (the call's HRESULT, whether the window got it).
#[test]
fn an_sta_caller_is_re_entered_by_a_sent_message_while_it_waits() {
    // com-apartments.md XC-2; marshal.c test_message_reentrancy.
    check_every_schedule(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let got = cell::<u32>();
        let g = got.clone();
        let proc = wndproc(move |ctx, h, msg, w, l| {
            let g = g.clone();
            async move {
                if msg == WM_APP {
                    *g.borrow_mut() += 1;
                    return 0;
                }
                ctx.def_window_proc(h, msg, w, l).await
            }
        });
        ctx.register_class_ex(&WNDCLASSEX::new("A", proc)).await;
        let w = ctx.create_window_ex(0, "A", "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
        let out = cell::<Option<IStream>>();
        let o2 = out.clone();
        let ready = ctx.create_event(None, true, false, None).await;
        let tid = cell::<u32>();
        let tid2 = tid.clone();
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            *tid2.borrow_mut() = ctx.get_current_thread_id();
            let p = toy(&ctx).await;
            *o2.borrow_mut() = Some(marshal(&ctx, p).await);
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
        let stream = out.borrow().expect("stream");
        let proxy = unmarshal(&ctx, stream).await;
        assert_eq!(ctx.itoy_send_to(proxy, w, WM_APP).await, S_OK);
        assert_eq!(*got.borrow(), 1, "the sent message ran inside the outgoing call");
        ctx.release(proxy).await;
        let tid = *tid.borrow();
        ctx.post_thread_message(tid, WM_QUIT, 0, 0).await;
        let mut i = 0;
        ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await;
        ctx.co_uninitialize().await;
        0
    });
}

// ----- C. CoWaitForMultipleHandles -----------------------------------------------------------

#[test]
fn co_wait_argument_checks() {
    // com-apartments.md CW-1; compobj.c test_CoWaitForMultipleHandles.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let ev = ctx.create_event(None, true, true, None).await;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 50, Some(&[ev]), None).await, E_INVALIDARG);
        let mut i = 99;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 50, None, Some(&mut i)).await, E_INVALIDARG);
        assert_eq!(i, 0);
        let mut i = 99;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 50, Some(&[]), Some(&mut i)).await, RPC_E_NO_SYNC);
        assert_eq!(i, 0);
        ctx.co_uninitialize().await;
        0
    });
}

/// A window of the calling thread that records the messages its procedure gets.
async fn recording_window(ctx: &ThreadCtx) -> (HWND, Rc<RefCell<Vec<u32>>>) {
    let seen = cell::<Vec<u32>>();
    let s = seen.clone();
    let proc = wndproc(move |ctx, h, msg, w, l| {
        let s = s.clone();
        async move {
            if msg >= WM_DDE_FIRST {
                s.borrow_mut().push(msg);
                return 0;
            }
            ctx.def_window_proc(h, msg, w, l).await
        }
    });
    assert_ne!(ctx.register_class_ex(&WNDCLASSEX::new("rec", proc)).await, 0);
    let w = ctx.create_window_ex(0, "rec", "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    assert!(!w.is_null());
    (w, seen)
}

#[test]
fn co_wait_already_signalled_returns_at_once_without_pumping() {
    // com-apartments.md CW-2; compobj.c test_CoWaitForMultipleHandles.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (w, seen) = recording_window(&ctx).await;
        let unsig = ctx.create_event(None, true, false, None).await;
        let sig = ctx.create_event(None, true, true, None).await;
        ctx.post_message(w, WM_DDE_FIRST, 0, 0).await;
        let mut i = 99;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 50, Some(&[sig]), Some(&mut i)).await, S_OK);
        assert_eq!(i, 0);
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 50, Some(&[unsig, sig]), Some(&mut i)).await, S_OK);
        assert_eq!(i, 1);
        assert!(seen.borrow().is_empty(), "nothing pumped");
        let mut m = MSG::default();
        assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_NOREMOVE).await, TRUE);
        assert_eq!(m.message, WM_DDE_FIRST);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn co_wait_in_an_sta_dispatches_dde_and_sent_messages_only() {
    // com-apartments.md CW-3, CW-4 (the ordered example); compobj.c
    // test_CoWaitForMultipleHandles.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (w, seen) = recording_window(&ctx).await;
        for msg in [WM_NULL + 0x500, WM_DDE_FIRST, WM_USER + 1, WM_DDE_FIRST + 1] {
            assert_eq!(ctx.post_message(w, msg, 0, 0).await, TRUE);
        }
        let t = spawn(&ctx, move |ctx| async move {
            ctx.sleep(10).await;
            ctx.send_message(w, WM_USER, 0, 0).await;
            ctx.post_message(w, WM_USER, 0, 0).await;
            0
        })
        .await;
        let ev = ctx.create_event(None, true, false, None).await;
        let mut i = 99;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, 100, Some(&[ev]), Some(&mut i)).await, RPC_S_CALLPENDING);
        assert_eq!(i, 0);
        assert_eq!(*seen.borrow(), vec![WM_DDE_FIRST, WM_DDE_FIRST + 1, WM_USER]);
        let mut left = Vec::new();
        let mut m = MSG::default();
        while ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await != 0 {
            left.push(m.message);
        }
        assert_eq!(left, vec![0x500, WM_USER + 1, WM_USER], "the other posted messages stay queued");
        join(&ctx, t).await;
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn co_wait_outside_an_sta_pumps_nothing() {
    // com-apartments.md CW-5; compobj.c test_CoWaitForMultipleHandles (MTA and no COM).
    for mta in [true, false] {
        check(move |ctx| async move {
            if mta {
                assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            }
            let (w, seen) = recording_window(&ctx).await;
            ctx.post_message(w, WM_DDE_FIRST, 0, 0).await;
            let ev = ctx.create_event(None, true, false, None).await;
            let mut i = 99;
            assert_eq!(ctx.co_wait_for_multiple_handles(0, 20, Some(&[ev]), Some(&mut i)).await, RPC_S_CALLPENDING);
            assert!(seen.borrow().is_empty());
            let mut m = MSG::default();
            assert_eq!(ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_NOREMOVE).await, TRUE);
            if mta {
                ctx.co_uninitialize().await;
            }
            0
        });
    }
}

#[test]
fn co_wait_dispatch_window_messages_and_alertable() {
    // MS docs COWAIT_FLAGS (COWAIT_DISPATCH_WINDOW_MESSAGES widens the set); com-apartments.md
    // CW-6 (COWAIT_ALERTABLE with a queued APC: S_OK, WAIT_IO_COMPLETION).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (w, seen) = recording_window(&ctx).await;
        ctx.post_message(w, WM_USER + 3, 0, 0).await;
        let ev = ctx.create_event(None, true, false, None).await;
        let mut i = 99;
        let hr = ctx.co_wait_for_multiple_handles(COWAIT_DISPATCH_WINDOW_MESSAGES, 20, Some(&[ev]), Some(&mut i)).await;
        assert_eq!(hr, RPC_S_CALLPENDING);
        assert_eq!(*seen.borrow(), vec![WM_USER + 3]);
        let ran = cell::<bool>();
        let r2 = ran.clone();
        let me = ctx.get_current_thread();
        let apc = move |_ctx: ThreadCtx, _data: usize| async move {
            *r2.borrow_mut() = true;
        };
        assert_ne!(ctx.queue_user_apc(apc, me, 0).await, 0);
        let hr = ctx.co_wait_for_multiple_handles(COWAIT_ALERTABLE, 20, Some(&[ev]), Some(&mut i)).await;
        assert_eq!((hr, i), (S_OK, WAIT_IO_COMPLETION));
        assert!(*ran.borrow());
        ctx.co_uninitialize().await;
        0
    });
}

// ----- E/G/H. calls: nesting, input-synchronous calls, shutdown -------------------------------

/// Main (STA A) and a server STA B that pumps with GetMessage until WM_QUIT; returns B's
/// stream with an object of B marshalled, B's thread handle and thread id.
async fn server_sta(ctx: &ThreadCtx) -> (IStream, HANDLE, u32) {
    let out = cell::<Option<(IStream, u32)>>();
    let o2 = out.clone();
    let ready = ctx.create_event(None, true, false, None).await;
    let t = spawn(ctx, move |ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        *o2.borrow_mut() = Some((marshal(&ctx, p).await, ctx.get_current_thread_id()));
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
    let (s, tid) = out.borrow().expect("stream");
    (s, t, tid)
}

async fn stop_server(ctx: &ThreadCtx, t: HANDLE, tid: u32) {
    ctx.post_thread_message(tid, WM_QUIT, 0, 0).await;
    let mut i = 0;
    assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await, S_OK);
}

#[test]
fn a_callback_into_the_waiting_sta_is_nested() {
    // com-apartments.md XC-2, XC-3 (CALLTYPE_NESTED), XC-5; MS docs concept page
    // single-threaded-apartments; MS docs CALLTYPE.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let cb = toy(&ctx).await;
        let (s, t, tid) = server_sta(&ctx).await;
        let proxy = unmarshal(&ctx, s).await;
        assert_eq!(ctx.itoy_call_back(proxy, Some(cb)).await, S_OK);
        assert_eq!(get(&ctx, cb).await, 1, "Notify ran on this thread, inside the outgoing call");
        assert_eq!(ctx.itoy_call_back(proxy, None).await, E_POINTER, "the callee's HRESULT comes back");
        ctx.release(proxy).await;
        stop_server(&ctx, t, tid).await;
        ctx.co_uninitialize().await;
        0
    });
    assert_completed(&r);
    let text = r.trace_text();
    assert!(text.contains("runs IToyCallback::Notify call #") && text.contains("(CALLTYPE_NESTED)"), "{text}");
}

#[test]
fn an_unrelated_call_re_enters_a_waiting_sta_as_toplevel_callpending() {
    // com-apartments.md XC-2, XC-3 (CALLTYPE_TOPLEVEL_CALLPENDING: "OLE does not prevent
    // reentrancy on the same thread"); MS docs concept page single-threaded-apartments.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mine = toy(&ctx).await;
        let mine_s = marshal(&ctx, mine).await;
        let (s, t, tid) = server_sta(&ctx).await;
        let proxy = unmarshal(&ctx, s).await;
        let gate = ctx.create_event(None, true, false, None).await;
        // A third thread calls main's object while main waits in WaitOn through B.
        let c = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            let p = unmarshal(&ctx, mine_s).await;
            assert_eq!(ctx.itoy_add(p, 10).await, S_OK);
            ctx.set_event(gate).await;
            ctx.co_uninitialize().await;
            0
        })
        .await;
        // B waits (without pumping B) until C's call ran inside main's modal loop.
        assert_eq!(ctx.itoy_wait_on(proxy, gate).await, S_OK);
        assert_eq!(get(&ctx, mine).await, 10);
        join(&ctx, c).await;
        ctx.release(proxy).await;
        stop_server(&ctx, t, tid).await;
        ctx.co_uninitialize().await;
        0
    });
    assert_completed(&r);
    assert!(r.trace_text().contains("(CALLTYPE_TOPLEVEL_CALLPENDING)"), "{}", r.trace_text());
}

#[test]
fn an_outgoing_call_while_handling_another_thread_s_sendmessage_fails() {
    // com-apartments.md IS-1, IS-2, IS-3; marshal.c test_call_from_message; KB Q131056;
    // MS docs InSendMessage.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (s, t, tid) = server_sta(&ctx).await;
        let proxy = unmarshal(&ctx, s).await;
        let results = cell::<Vec<HRESULT>>();
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
        ctx.register_class_ex(&WNDCLASSEX::new("is", proc)).await;
        let w = ctx.create_window_ex(0, "is", "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
        // Another thread sends: the handler's outgoing call fails at once.
        let x = spawn(&ctx, move |ctx| async move {
            ctx.send_message(w, WM_APP, 0, 0).await;
            ctx.post_message(w, WM_APP, 0, 0).await;
            0
        })
        .await;
        let mut m = MSG::default();
        // The sent message runs inside this GetMessage; then the posted one is retrieved.
        assert!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await > 0);
        ctx.dispatch_message(&m).await;
        // Same-thread SendMessage is not input-synchronous (IS-3).
        ctx.send_message(w, WM_APP, 0, 0).await;
        assert_eq!(*results.borrow(), vec![RPC_E_CANTCALLOUT_ININPUTSYNCCALL, S_OK, S_OK]);
        join(&ctx, x).await;
        ctx.release(proxy).await;
        stop_server(&ctx, t, tid).await;
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_proxy_whose_apartment_ended_is_not_connected() {
    // com-apartments.md SD-1; marshal.c test_marshal_proxy_apartment_shutdown,
    // test_marshal_proxy_mta_apartment_shutdown.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (s, t, tid) = server_sta(&ctx).await;
        let proxy = unmarshal(&ctx, s).await;
        assert_eq!(ctx.itoy_add(proxy, 1).await, S_OK);
        ctx.co_uninitialize().await;
        assert_eq!(ctx.itoy_add(proxy, 1).await, CO_E_OBJNOTCONNECTED);
        assert_eq!(ctx.release(proxy).await, 0);
        // The server apartment ends next; a later proxy to it is disconnected (SD-2).
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        ctx.post_thread_message(tid, WM_QUIT, 0, 0).await;
        join(&ctx, t).await;
        ctx.co_uninitialize().await;
        0
    });
}

// ----- D. the Global Interface Table ---------------------------------------------------------

#[test]
fn the_global_interface_table_hands_out_pointers_per_apartment() {
    // com-apartments.md MP-9; marshal.c test_globalinterfacetable; MS docs concept pages
    // creating-the-global-interface-table, when-to-use-the-global-interface-table.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mut git = None;
        let hr = ctx
            .co_create_instance(
                &CLSID_StdGlobalInterfaceTable,
                None,
                CLSCTX_INPROC_SERVER,
                &IID_IGlobalInterfaceTable,
                Some(&mut git),
            )
            .await;
        assert_eq!(hr, S_OK);
        let git = git.expect("the GIT");
        assert_eq!(ctx.add_ref(git).await, 1, "a singleton");
        assert_eq!(ctx.release(git).await, 1);
        let p = toy(&ctx).await;
        let mut cookie = 0;
        assert_eq!(ctx.register_interface_in_global(git, Some(p), &IID_IToy, Some(&mut cookie)).await, S_OK);
        assert_eq!(ctx.register_interface_in_global(git, None, &IID_IToy, Some(&mut cookie)).await, E_INVALIDARG);
        // The owner gets it under another IID: the object itself.
        let mut q = None;
        assert_eq!(ctx.get_interface_from_global(git, cookie, &IID_IUnknown, Some(&mut q)).await, S_OK);
        let t = spawn(&ctx, move |ctx| async move {
            let mut q = None;
            assert_eq!(ctx.get_interface_from_global(git, cookie, &IID_IToy, Some(&mut q)).await, CO_E_NOTINITIALIZED);
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            assert_eq!(ctx.get_interface_from_global(git, cookie, &IID_IToy, Some(&mut q)).await, S_OK);
            // A proxy: the call runs on the owner, which pumps (MP-9 [inferred]).
            assert_eq!(ctx.itoy_add(q.expect("proxy"), 2).await, S_OK);
            // Any apartment may revoke.
            assert_eq!(ctx.revoke_interface_from_global(git, cookie).await, S_OK);
            assert_eq!(ctx.revoke_interface_from_global(git, cookie).await, E_INVALIDARG);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        let mut i = 0;
        assert_eq!(ctx.co_wait_for_multiple_handles(0, INFINITE, Some(&[t]), Some(&mut i)).await, S_OK);
        assert_eq!(get(&ctx, p).await, 2);
        let mut q = None;
        assert_eq!(ctx.get_interface_from_global(git, cookie, &IID_IToy, Some(&mut q)).await, E_INVALIDARG);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_pending_wm_quit_does_not_stop_a_com_call() {
    // com-apartments.md XC-4, CW-8; marshal.c test_WM_QUIT_handling.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let (s, t, tid) = server_sta(&ctx).await;
        let proxy = unmarshal(&ctx, s).await;
        ctx.post_quit_message(0).await;
        assert_eq!(ctx.itoy_add(proxy, 1).await, S_OK);
        assert_eq!(get(&ctx, proxy).await, 1);
        let mut m = MSG::default();
        assert_eq!(ctx.get_message(&mut m, HWND::NULL, 0, 0).await, 0, "WM_QUIT is still queued");
        ctx.release(proxy).await;
        stop_server(&ctx, t, tid).await;
        ctx.co_uninitialize().await;
        0
    });
}

// ----- F. message filters ---------------------------------------------------------------------

#[test]
fn co_register_message_filter_only_in_an_sta() {
    // com-apartments.md MF-1; compobj.c test_CoRegisterMessageFilter, implicit_mta_proc.
    check(|ctx| async move {
        let f = MessageFilter::default();
        let mut prev = Some(MessageFilter { when_call_pending: Some(9), ..MessageFilter::default() });
        assert_eq!(ctx.co_register_message_filter(Some(f.clone()), Some(&mut prev)).await, CO_E_NOT_SUPPORTED);
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        assert_eq!(ctx.co_register_message_filter(Some(f.clone()), Some(&mut prev)).await, CO_E_NOT_SUPPORTED);
        assert_eq!(prev.as_ref().and_then(|p| p.when_call_pending), Some(9), "prev untouched");
        ctx.co_uninitialize().await;
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        assert_eq!(ctx.co_register_message_filter(None, None).await, S_OK);
        assert_eq!(ctx.co_register_message_filter(None, Some(&mut prev)).await, S_OK);
        assert_eq!(prev, None, "no filter before");
        assert_eq!(ctx.co_register_message_filter(Some(f.clone()), Some(&mut prev)).await, S_OK);
        assert_eq!(ctx.co_register_message_filter(None, Some(&mut prev)).await, S_OK);
        assert_eq!(prev, Some(f));
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_callee_filter_rejects_and_a_caller_filter_retries() {
    // com-apartments.md MF-2, MF-3; marshal.c test_message_filter; MS docs
    // IMessageFilter::HandleInComingCall, RetryRejectedCall.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        // The server STA registers a filter: REJECTED, then RETRYLATER, then ISHANDLED.
        let out = cell::<Option<(IStream, u32)>>();
        let o2 = out.clone();
        let ready = ctx.create_event(None, true, false, None).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let f = MessageFilter {
                handle_in_coming_call: vec![SERVERCALL_REJECTED, SERVERCALL_RETRYLATER, SERVERCALL_ISHANDLED],
                ..MessageFilter::default()
            };
            assert_eq!(ctx.co_register_message_filter(Some(f), None).await, S_OK);
            let p = toy(&ctx).await;
            *o2.borrow_mut() = Some((marshal(&ctx, p).await, ctx.get_current_thread_id()));
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
        let (s, tid) = out.borrow().expect("stream");
        let proxy = unmarshal(&ctx, s).await;
        // No caller filter: the rejection comes back at once.
        assert_eq!(ctx.itoy_add(proxy, 1).await, RPC_E_CALL_REJECTED);
        // A caller filter that retries at once: RETRYLATER, then the call gets in.
        let f = MessageFilter { retry_rejected_call: vec![0], ..MessageFilter::default() };
        assert_eq!(ctx.co_register_message_filter(Some(f), None).await, S_OK);
        assert_eq!(ctx.itoy_add(proxy, 1).await, S_OK);
        assert_eq!(get(&ctx, proxy).await, 1);
        ctx.release(proxy).await;
        stop_server(&ctx, t, tid).await;
        ctx.co_uninitialize().await;
        0
    });
    assert_completed(&r);
    let text = r.trace_text();
    assert!(text.contains("HandleInComingCall answers RPC_E_CALL_REJECTED"), "{text}");
    assert!(text.contains("RetryRejectedCall(RPC_E_SERVERCALL_RETRYLATER) answers 0"), "{text}");
}

/// §21.15 (winsim's limit, [inferred] HRESULT): a call into the MTA for which no RPC worker
/// thread can be started (the thread limit, with `LimitAction::FailCall`) fails with
/// RPC_E_OUT_OF_RESOURCES instead of waiting forever; the method does not run.
#[test]
fn an_mta_call_without_a_worker_thread_fails_with_rpc_e_out_of_resources() {
    let config = Config { threads_max: 2, limit_action: LimitAction::FailCall, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        let s = marshal(&ctx, p).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            // The third thread (the worker) cannot be made.
            assert_eq!(ctx.itoy_add(proxy, 4).await, RPC_E_OUT_OF_RESOURCES);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(get(&ctx, p).await, 0, "the method did not run");
        ctx.co_uninitialize().await;
        0
    });
    assert_completed(&r);
}

/// §21.16: CoDisconnectObject cuts off the object's proxies (their next call:
/// CO_E_OBJNOTCONNECTED, Learn's CoDisconnectObject page), drops its marshal data's
/// references (marshal.c test_disconnect_stub: no locks left; table data then gives
/// CO_E_OBJNOTREG as after CoReleaseMarshalData, MP-4), leaves the object and direct
/// pointers usable, and rejects NULL with E_INVALIDARG (test_disconnect_stub, Windows).
#[test]
fn co_disconnect_object_cuts_off_proxies_and_marshal_data() {
    check_every_schedule(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        let s = marshal(&ctx, p).await;
        let mut table = None;
        assert_eq!(ctx.create_stream_on_hglobal(Some(&mut table)).await, S_OK);
        let table = table.expect("stream");
        assert_eq!(
            ctx.co_marshal_interface(Some(table), &IID_IToy, Some(p), MSHCTX_INPROC, None, MSHLFLAGS_TABLESTRONG).await,
            S_OK
        );
        let called = ctx.create_event(None, true, false, None).await;
        let cut = ctx.create_event(None, true, false, None).await;
        let again = cell::<Option<IStream>>();
        let again2 = again.clone();
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            assert_eq!(ctx.itoy_add(proxy, 4).await, S_OK);
            ctx.set_event(called).await;
            ctx.wait_for_single_object(cut, INFINITE).await;
            assert_eq!(ctx.itoy_add(proxy, 1).await, CO_E_OBJNOTCONNECTED);
            let mut v = -1;
            assert_eq!(ctx.itoy_get(proxy, Some(&mut v)).await, CO_E_OBJNOTCONNECTED);
            assert_eq!(v, -1, "the out value is untouched");
            assert_eq!(ctx.release(proxy).await, 0, "a cut-off proxy is still released");
            // Marshalled again after the disconnection: a working proxy.
            let fresh = again2.borrow_mut().take().expect("main marshalled again");
            let proxy = unmarshal(&ctx, fresh).await;
            assert_eq!(ctx.itoy_add(proxy, 10).await, S_OK);
            assert_eq!(ctx.release(proxy).await, 0);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        ctx.wait_for_single_object(called, INFINITE).await;
        assert_eq!(ctx.co_disconnect_object(None, 0).await, E_INVALIDARG);
        assert_eq!(ctx.co_disconnect_object(Some(p), 0).await, S_OK);
        assert_eq!(get(&ctx, p).await, 4, "the object and its direct pointer live on");
        let mut q = None;
        assert_eq!(ctx.istream_seek_start(table).await, S_OK);
        assert_eq!(ctx.co_unmarshal_interface(Some(table), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTREG);
        ctx.istream_release(table).await;
        *again.borrow_mut() = Some(marshal(&ctx, p).await);
        ctx.set_event(cut).await;
        join(&ctx, t).await;
        assert_eq!(get(&ctx, p).await, 14);
        ctx.co_uninitialize().await;
        0
    });
}

// ----- reference counts, the stub manager and external locks (§21.23 .. §21.25) -----------

/// The object's reference count as the toy class reports it: AddRef then Release through a
/// direct pointer (marshal.c's cLocks counts the same AddRef/Release calls).
async fn count(ctx: &ThreadCtx, p: ComPtr) -> u32 {
    let n = ctx.add_ref(p).await;
    assert_eq!(ctx.release(p).await, n - 1);
    n - 1
}

async fn stream(ctx: &ThreadCtx) -> IStream {
    let mut s = None;
    assert_eq!(ctx.create_stream_on_hglobal(Some(&mut s)).await, S_OK);
    s.expect("stream")
}

pub(crate) async fn marshal_with(ctx: &ThreadCtx, p: ComPtr, flags: u32) -> IStream {
    let s = stream(ctx).await;
    assert_eq!(ctx.co_marshal_interface(Some(s), &IID_IToy, Some(p), MSHCTX_INPROC, None, flags).await, S_OK);
    assert_eq!(ctx.istream_seek_start(s).await, S_OK);
    s
}

#[test]
fn the_toy_object_counts_its_references_and_is_destroyed_at_zero() {
    // §21.23. Learn IUnknown::AddRef/Release ("returns the new reference count", "for test
    // purposes only"): the toy class returns its own count, shared by its interfaces
    // (QueryInterface adds a reference). A use after the last Release is undefined on
    // Windows; winsim ends the run as Failed naming the destroyed object.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        assert_eq!(ctx.add_ref(p).await, 2);
        let mut q = None;
        assert_eq!(ctx.query_interface(p, &IID_IToyCallback, Some(&mut q)).await, S_OK);
        let q = q.expect("IToyCallback");
        assert_eq!(ctx.add_ref(q).await, 4, "one count for the object, whatever the interface");
        assert_eq!(ctx.release(q).await, 3);
        assert_eq!(ctx.release(q).await, 2);
        assert_eq!(ctx.release(p).await, 1);
        assert_eq!(ctx.itoy_add(p, 1).await, S_OK, "still alive");
        assert_eq!(ctx.release(p).await, 0, "destroyed");
        let _ = ctx.itoy_add(p, 1).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("after its last Release") && message.contains("destroyed"), "{message}")
        }
        o => panic!("expected Failed, got {o:?}"),
    }
}

#[test]
fn marshal_data_and_proxies_hold_the_object_through_its_stub_manager() {
    // §21.24. marshal.c test_normal_marshal_and_release (CoReleaseMarshalData: no locks),
    // test_normal_marshal_and_unmarshal (the proxy's last Release: no locks),
    // test_CoMarshalInterThreadInterfaceInStream (compobj.c: unmarshalled in the same
    // apartment, the data's reference goes), all run on Windows.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        assert_eq!(count(&ctx, p).await, 1);
        let s = marshal_with(&ctx, p, MSHLFLAGS_NORMAL).await;
        assert_eq!(count(&ctx, p).await, 2, "the stub manager holds the object");
        assert_eq!(ctx.co_release_marshal_data(Some(s)).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1, "released data: the stub manager goes");
        ctx.istream_release(s).await;
        // Unmarshalled in its own apartment: the object itself, the data's reference gone.
        let s = marshal(&ctx, p).await;
        let same = unmarshal(&ctx, s).await;
        assert_eq!(count(&ctx, p).await, 2, "the object and its second direct pointer");
        assert_eq!(ctx.release(same).await, 1);
        // A proxy in an STA keeps the object alive; its own AddRef/Release are counted
        // locally; its last Release releases the stub manager's reference.
        let s = marshal(&ctx, p).await;
        let seen = cell::<Vec<u32>>();
        let seen2 = seen.clone();
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            assert_eq!(ctx.itoy_add(proxy, 3).await, S_OK);
            let mut q = None;
            assert_eq!(ctx.query_interface(proxy, &IID_IUnknown, Some(&mut q)).await, S_OK);
            let q = q.expect("IUnknown");
            let v = vec![
                ctx.add_ref(proxy).await,
                ctx.release(q).await,
                ctx.release(proxy).await,
                ctx.release(proxy).await,
            ];
            seen2.borrow_mut().extend(v);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(*seen.borrow(), vec![3, 2, 1, 0], "the proxy manager's count");
        assert_eq!(get(&ctx, p).await, 3);
        assert_eq!(count(&ctx, p).await, 1, "the last proxy released the stub manager's reference");
        assert_eq!(ctx.release(p).await, 0);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn table_strong_data_holds_the_object_and_table_weak_data_only_the_stub_manager() {
    // §21.24. marshal.c (run on Windows, without IExternalConnection):
    // test_tablestrong_marshal_and_unmarshal_twice (locks remain after the proxies go, until
    // CoReleaseMarshalData), test_tableweak_marshal_and_unmarshal_twice (no locks once the
    // proxies go: "weak has cLocks == 0"), test_tableweak_marshal_releasedata2 (CO_E_OBJNOTREG
    // after), test_two_tableweak_marshal_and_releasedata (one weak ref keeps it),
    // test_tableweak_and_normal_marshal_and_releasedata ("release normal ... will free the
    // object despite the weak ref").
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        for flags in [MSHLFLAGS_TABLESTRONG, MSHLFLAGS_TABLEWEAK] {
            let s = marshal_with(&ctx, p, flags).await;
            assert_eq!(count(&ctx, p).await, 2, "the stub manager holds the object");
            let t = spawn(&ctx, move |ctx| async move {
                assert_eq!(ctx.co_initialize(None).await, S_OK);
                let mut proxies = Vec::new();
                for _ in 0..2 {
                    let mut q = None;
                    assert_eq!(ctx.istream_seek_start(s).await, S_OK);
                    assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, S_OK);
                    proxies.push(q.expect("proxy"));
                }
                assert_eq!(ctx.release(proxies[0]).await, 1, "one proxy manager for both");
                assert_eq!(ctx.release(proxies[1]).await, 0);
                ctx.co_uninitialize().await;
                0
            })
            .await;
            join(&ctx, t).await;
            let mut q = None;
            assert_eq!(ctx.istream_seek_start(s).await, S_OK);
            if flags == MSHLFLAGS_TABLESTRONG {
                assert_eq!(count(&ctx, p).await, 2, "table-strong data still holds it");
                assert_eq!(ctx.co_release_marshal_data(Some(s)).await, S_OK);
                assert_eq!(count(&ctx, p).await, 1);
            } else {
                assert_eq!(count(&ctx, p).await, 1, "the last proxy released the stub manager");
                assert_eq!(ctx.co_unmarshal_interface(Some(s), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTREG);
            }
            ctx.istream_release(s).await;
        }
        // Two table-weak marshals: the remaining one keeps the stub manager.
        let (w1, w2) =
            (marshal_with(&ctx, p, MSHLFLAGS_TABLEWEAK).await, marshal_with(&ctx, p, MSHLFLAGS_TABLEWEAK).await);
        assert_eq!(ctx.co_release_marshal_data(Some(w1)).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2);
        assert_eq!(ctx.co_release_marshal_data(Some(w2)).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        // Table-weak and NORMAL: releasing the NORMAL data frees it despite the weak data.
        let (w, n) = (marshal_with(&ctx, p, MSHLFLAGS_TABLEWEAK).await, marshal_with(&ctx, p, MSHLFLAGS_NORMAL).await);
        assert_eq!(ctx.co_release_marshal_data(Some(n)).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        let mut q = None;
        assert_eq!(ctx.co_unmarshal_interface(Some(w), &IID_IToy, Some(&mut q)).await, CO_E_OBJNOTREG);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn co_lock_object_external_holds_a_strong_reference() {
    // §21.25. marshal.c test_lock_object_external and test_disconnect_stub (run on Windows,
    // the lock counts checked without IExternalConnection too); Learn CoLockObjectExternal.
    check(|ctx| async move {
        assert_eq!(ctx.co_lock_object_external(None, true, true).await, E_INVALIDARG);
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        // The lock makes the stub manager; CoDisconnectObject drops it, locks and all.
        assert_eq!(ctx.co_lock_object_external(Some(p), true, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2);
        assert_eq!(ctx.co_disconnect_object(Some(p), 0).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        // Lock, NORMAL marshal, lock: released data leaves the locks; the last unlock with
        // fLastUnlockReleases releases the object.
        assert_eq!(ctx.co_lock_object_external(Some(p), true, true).await, S_OK);
        let s = marshal_with(&ctx, p, MSHLFLAGS_NORMAL).await;
        assert_eq!(ctx.co_lock_object_external(Some(p), true, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2, "one stub manager, one reference");
        assert_eq!(ctx.co_release_marshal_data(Some(s)).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2);
        assert_eq!(ctx.co_lock_object_external(Some(p), false, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2);
        assert_eq!(ctx.co_lock_object_external(Some(p), false, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        ctx.istream_release(s).await;
        // Only strong references: the last unlock releases even with fLastUnlockReleases
        // FALSE.
        assert_eq!(ctx.co_lock_object_external(Some(p), true, false).await, S_OK);
        assert_eq!(ctx.co_lock_object_external(Some(p), false, false).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        // Table-weak data present: an unlock with FALSE leaves the stub manager.
        let w = marshal_with(&ctx, p, MSHLFLAGS_TABLEWEAK).await;
        assert_eq!(ctx.co_lock_object_external(Some(p), true, false).await, S_OK);
        assert_eq!(ctx.co_lock_object_external(Some(p), false, false).await, S_OK);
        assert_eq!(count(&ctx, p).await, 2);
        assert_eq!(ctx.co_disconnect_object(Some(p), 0).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        ctx.istream_release(w).await;
        // An unlock without a lock does nothing [Wine impl].
        assert_eq!(ctx.co_lock_object_external(Some(p), false, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        // A lock outlives the proxies: their last Release leaves the stub manager.
        assert_eq!(ctx.co_lock_object_external(Some(p), true, true).await, S_OK);
        let s = marshal(&ctx, p).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
            let proxy = unmarshal(&ctx, s).await;
            assert_eq!(ctx.release(proxy).await, 0);
            ctx.co_uninitialize().await;
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(count(&ctx, p).await, 2, "the lock still holds the stub manager");
        assert_eq!(ctx.co_lock_object_external(Some(p), false, true).await, S_OK);
        assert_eq!(count(&ctx, p).await, 1);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn co_lock_object_external_without_an_apartment_is_co_e_notinitialized() {
    // §21.25 [Wine impl]: the current apartment's stub manager is wanted.
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let p = toy(&ctx).await;
        let t = spawn(&ctx, move |ctx| async move {
            // No COM, and the process has no MTA.
            assert_eq!(ctx.co_lock_object_external(Some(p), true, true).await, CO_E_NOTINITIALIZED);
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(count(&ctx, p).await, 1, "no lock was taken");
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_client_apartment_that_ends_releases_its_proxies_references() {
    // §21.24, SD-1; marshal.c test_no_couninitialize_client (the client thread exits
    // without CoUninitialize or Release: no locks remain on the server's object).
    check(|ctx| async move {
        assert_eq!(ctx.co_initialize_ex(None, COINIT_MULTITHREADED).await, S_OK);
        let p = toy(&ctx).await;
        let s = marshal(&ctx, p).await;
        let t = spawn(&ctx, move |ctx| async move {
            assert_eq!(ctx.co_initialize(None).await, S_OK);
            let _proxy = unmarshal(&ctx, s).await;
            0 // exits holding the proxy
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(count(&ctx, p).await, 1);
        ctx.co_uninitialize().await;
        0
    });
}

#[test]
fn a_registered_class_object_is_held_until_revoked() {
    // §21.23 [Wine impl: CoRegisterClassObject AddRefs the class object, CoRevokeClassObject
    // releases it]; Learn CoRevokeClassObject.
    let r = run_main(|ctx| async move {
        assert_eq!(ctx.co_initialize(None).await, S_OK);
        let mut f = None;
        assert_eq!(
            ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut f)).await,
            S_OK
        );
        let f = f.expect("class factory");
        let mut cookie = 0;
        assert_eq!(
            ctx.co_register_class_object(
                &CLSID_ToyServer,
                Some(f),
                CLSCTX_INPROC_SERVER,
                REGCLS_MULTIPLEUSE,
                Some(&mut cookie)
            )
            .await,
            S_OK
        );
        assert_eq!(count(&ctx, f).await, 2);
        assert_eq!(ctx.co_revoke_class_object(cookie).await, S_OK);
        assert_eq!(ctx.release(f).await, 0, "destroyed");
        let _ = ctx.release(f).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("class factory") && message.contains("destroyed"), "{message}")
        }
        o => panic!("expected Failed, got {o:?}"),
    }
}
