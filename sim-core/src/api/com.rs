//! ole32/combase: COM initialisation, apartments, the toy in-process class, marshalling,
//! cross-apartment calls and CoWaitForMultipleHandles (docs/semantics.md §21; facts in
//! /work/shared/semantics/com-apartments.md, cited by number).
//!
//! Interface pointers are [`ComPtr`] values and streams [`IStream`] values; methods are
//! `ThreadCtx` calls named as MIDL's C macros name them (`IToy_Add(This, n)` →
//! [`ThreadCtx::itoy_add`]). Every function returns the HRESULT Windows returns and
//! never touches the last error. NULL pointers are `None`; a pointer used after its last
//! Release, or one of another process, ends the run as `Outcome::Failed` (on Windows it
//! is a use of freed memory).
//!
//! A call through a proxy is carried as on Windows: into an STA it is a message posted to
//! the STA's hidden window (class OleMainThreadWndClass), run only when that thread
//! retrieves and dispatches it; into the MTA it runs on a new simulated RPC worker
//! thread. The caller waits for the reply: an STA caller in the COM modal loop
//! (CoWaitForMultipleHandles, which dispatches incoming calls and sent messages, so the
//! caller is re-entered), an MTA caller in a plain wait that pumps nothing.

use super::ThreadCtx;
use super::user32::{WNDCLASSEX, wndproc};
use crate::error::*;
use crate::kernel::request::{Request, Value};
pub use crate::objects::com::*;
use crate::types::*;
use std::future::Future;
use std::pin::Pin;

/// CO_MTA_USAGE_COOKIE.
#[allow(non_camel_case_types)]
pub type CO_MTA_USAGE_COOKIE = u64;

fn value_of(out: ComOut) -> i64 {
    match out {
        ComOut::Value(v) => v,
        _ => 0,
    }
}

/// The hidden window's procedure: runs the incoming call a posted WM_COM_CALL names.
fn com_wndproc() -> WNDPROC {
    wndproc(|ctx: ThreadCtx, hwnd, msg, w, l| async move {
        if msg == WM_COM_CALL {
            ctx.serve_com_call(w as u32).await;
            0
        } else {
            ctx.def_window_proc(hwnd, msg, w, l).await
        }
    })
}

use super::user32::WNDPROC;

impl ThreadCtx {
    /// A COM call's reply (a reply of another shape is a winsim bug).
    async fn com(&self, req: Request) -> ComReply {
        let api = req.api();
        let r = self.call(req).await;
        match r.value {
            Value::Com(c) => *c,
            v => {
                self.mismatch(api, &v);
                ComReply { hr: E_UNEXPECTED, out: ComOut::None }
            }
        }
    }

    async fn make_hidden_window(&self) {
        let key = (self.pid, OLE_MAIN_THREAD_WND_CLASS.to_lowercase());
        let registered = self.kernel.borrow().user.classes.contains_key(&key);
        if !registered {
            let _ = self.register_class_ex(&WNDCLASSEX::new(OLE_MAIN_THREAD_WND_CLASS, com_wndproc())).await;
        }
        let _ = self
            .create_window_ex(0, OLE_MAIN_THREAD_WND_CLASS, OLE_MAIN_THREAD_WND_NAME, 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
            .await;
    }

    async fn after_init(&self, c: ComReply) -> HRESULT {
        if c.out == ComOut::NewSta {
            // ST-1: each STA gets its hidden window, an ordinary message-only window.
            self.make_hidden_window().await;
        }
        c.hr
    }

    // ----- initialisation ------------------------------------------------------------------

    /// CoInitialize (learn.microsoft.com/en-us/windows/win32/api/objbase/nf-objbase-coinitialize):
    /// CoInitializeEx(reserved, COINIT_APARTMENTTHREADED).
    pub async fn co_initialize(&self, reserved: Option<usize>) -> HRESULT {
        self.co_initialize_ex(reserved, COINIT_APARTMENTTHREADED).await
    }

    /// CoInitializeEx (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coinitializeex):
    /// S_OK for the thread's first call (a new STA with its hidden window, or joining the
    /// process's MTA), S_FALSE for a repeat in the same model (CI-2; COINIT_DISABLE_OLE1DDE
    /// and COINIT_SPEED_OVER_MEMORY do not count), RPC_E_CHANGED_MODE for the other model,
    /// not counted (CI-3); E_INVALIDARG for a reserved pointer or unknown flags.
    pub async fn co_initialize_ex(&self, reserved: Option<usize>, coinit: u32) -> HRESULT {
        let c = self.com(Request::CoInitializeEx { reserved: reserved.is_some(), coinit }).await;
        self.after_init(c).await
    }

    /// CoUninitialize (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-couninitialize):
    /// balances one successful CoInitializeEx; the last one leaves the apartment: an STA
    /// ends (its objects are disconnected, proxies it holds stop working, its hidden window
    /// is destroyed), the MTA ends with its last member and usage cookie (CI-2, CI-8,
    /// SD-1, SD-2). An unbalanced call does nothing [inferred, CI-9].
    pub async fn co_uninitialize(&self) {
        let c = self.com(Request::CoUninitialize {}).await;
        if let ComOut::ClosedSta(h) = c.out {
            let _ = self.destroy_window(h).await;
        }
    }

    /// OleInitialize (learn.microsoft.com/en-us/windows/win32/api/ole2/nf-ole2-oleinitialize):
    /// CoInitializeEx(COINIT_APARTMENTTHREADED) plus OLE's own count: S_OK for the thread's
    /// first OleInitialize even on a thread already in an STA, S_FALSE after; the
    /// CoInitializeEx failure as is (RPC_E_CHANGED_MODE in an MTA) (CI-3, CI-4).
    pub async fn ole_initialize(&self, reserved: Option<usize>) -> HRESULT {
        let c = self.com(Request::OleInitialize { reserved: reserved.is_some() }).await;
        self.after_init(c).await
    }

    /// OleUninitialize (learn.microsoft.com/en-us/windows/win32/api/ole2/nf-ole2-oleuninitialize):
    /// balances one OleInitialize and its CoInitializeEx; without one it does nothing
    /// (CI-3, CI-4).
    pub async fn ole_uninitialize(&self) {
        let c = self.com(Request::OleUninitialize {}).await;
        if let ComOut::ClosedSta(h) = c.out {
            let _ = self.destroy_window(h).await;
        }
    }

    /// CoGetApartmentType (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cogetapartmenttype):
    /// APTTYPE_MAINSTA for the process's first STA, APTTYPE_STA for others, APTTYPE_MTA
    /// (qualifier APTTYPEQUALIFIER_IMPLICIT_MTA for a thread that never initialised in a
    /// process that has an MTA); CO_E_NOTINITIALIZED with APTTYPE_CURRENT/NONE written
    /// when the thread has no apartment; E_INVALIDARG for a NULL out pointer, the other
    /// left alone (CI-1, CI-5, CI-7).
    pub async fn co_get_apartment_type(&self, apt_type: Option<&mut i32>, qualifier: Option<&mut i32>) -> HRESULT {
        let req = Request::CoGetApartmentType { has_type: apt_type.is_some(), has_qualifier: qualifier.is_some() };
        let c = self.com(req).await;
        if let ComOut::AptType(t, q) = c.out {
            if let Some(o) = apt_type {
                *o = t;
            }
            if let Some(o) = qualifier {
                *o = q;
            }
        }
        c.hr
    }

    /// CoIncrementMTAUsage (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coincrementmtausage):
    /// makes the process's MTA if needed and keeps it alive until the cookie is passed to
    /// CoDecrementMTAUsage; threads that never initialised are then in the implicit MTA
    /// (CI-7). E_INVALIDARG for a NULL cookie pointer.
    pub async fn co_increment_mta_usage(&self, cookie: Option<&mut CO_MTA_USAGE_COOKIE>) -> HRESULT {
        let c = self.com(Request::CoIncrementMTAUsage { has_cookie: cookie.is_some() }).await;
        if let (ComOut::Cookie(v), Some(o)) = (c.out, cookie) {
            *o = v;
        }
        c.hr
    }

    /// CoDecrementMTAUsage (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-codecrementmtausage):
    /// releases a cookie; E_INVALIDARG for one not outstanding in this process \[inferred\].
    pub async fn co_decrement_mta_usage(&self, cookie: CO_MTA_USAGE_COOKIE) -> HRESULT {
        self.com(Request::CoDecrementMTAUsage { cookie }).await.hr
    }

    // ----- objects --------------------------------------------------------------------------

    /// CoCreateInstance (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cocreateinstance):
    /// a class some apartment registered with CoRegisterClassObject (§21.17: through
    /// CLSCTX_LOCAL_SERVER from any process; CoGetClassObject, IClassFactory::CreateInstance
    /// in the server's apartment, Release; the client gets a proxy), else CLSID_Toy (an
    /// in-process class with ThreadingModel "Both": the object is made in the caller's
    /// apartment and the pointer is direct, MP-8). CO_E_NOTINITIALIZED without an apartment
    /// (the implicit MTA counts, CI-1, CI-7), REGDB_E_CLASSNOTREG for a class nobody
    /// registered (winsim launches no server), CLASS_E_NOAGGREGATION with an outer object, E_NOINTERFACE,
    /// E_POINTER for a NULL `ppv`. `ppv` is set to NULL on failure.
    pub async fn co_create_instance(
        &self,
        rclsid: &CLSID,
        unk_outer: Option<ComPtr>,
        cls_context: u32,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let req = Request::CoCreateInstance {
            args: Box::new(crate::kernel::request::boxed::CoCreateInstance {
                clsid: *rclsid,
                outer: unk_outer.is_some(),
                cls_context,
                iid: *riid,
                has_out: ppv.is_some(),
            }),
        };
        let c = self.com(req).await;
        if let ComOut::Activate(factory) = c.out {
            // A class a server registered (§21.17): CoGetClassObject, then
            // IClassFactory::CreateInstance through the class object, then its Release.
            let hr = Box::pin(self.iclassfactory_create_instance(factory, None, riid, ppv)).await;
            let _ = self.release(factory).await;
            return hr;
        }
        if let Some(o) = ppv {
            *o = match c.out {
                ComOut::Ptr(p) => Some(p),
                _ => None,
            };
        }
        c.hr
    }

    /// CoGetClassObject (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cogetclassobject):
    /// a class object registered with CoRegisterClassObject (CLSCTX_INPROC_SERVER: by the
    /// caller's own apartment, MP-7; CLSCTX_LOCAL_SERVER: by any process, a proxy unless it
    /// is the caller's own apartment's), else CLSID_Toy's class factory for
    /// CLSCTX_INPROC_SERVER; REGDB_E_CLASSNOTREG otherwise (winsim launches no server:
    /// no class has a LocalServer32 entry). `server_info` (COSERVERINFO) is ignored
    /// \[inferred\]. E_INVALIDARG for a NULL `ppv`, CO_E_NOTINITIALIZED (§21.17).
    pub async fn co_get_class_object(
        &self,
        rclsid: &CLSID,
        cls_context: u32,
        _server_info: Option<usize>,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let req = Request::CoGetClassObject {
            args: Box::new(crate::kernel::request::boxed::CoGetClassObject {
                clsid: *rclsid,
                cls_context,
                iid: *riid,
                has_out: ppv.is_some(),
            }),
        };
        let c = self.com(req).await;
        if let Some(o) = ppv {
            *o = match c.out {
                ComOut::Ptr(p) => Some(p),
                _ => None,
            };
        }
        c.hr
    }

    /// CoRegisterClassObject (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coregisterclassobject):
    /// publishes a class object (e.g. CLSID_Toy's class factory from CoGetClassObject) as
    /// `rclsid` for `cls_context` (CLSCTX_LOCAL_SERVER: reachable from other processes,
    /// whose calls reach this apartment as cross-apartment calls do) with REGCLS_SINGLEUSE
    /// (one client connects, then it is out of view), REGCLS_MULTIPLEUSE (also
    /// CLSCTX_INPROC_SERVER for this process), REGCLS_MULTI_SEPARATE, REGCLS_SUSPENDED
    /// (hidden until CoResumeClassObjects). Repeated registrations are independent (Learn).
    /// E_INVALIDARG for a NULL object or cookie; CO_E_NOTINITIALIZED. The registration
    /// ends with CoRevokeClassObject or the apartment (SD-5) (§21.17).
    pub async fn co_register_class_object(
        &self,
        rclsid: &CLSID,
        unk: Option<ComPtr>,
        cls_context: u32,
        flags: u32,
        register: Option<&mut u32>,
    ) -> HRESULT {
        let req = Request::CoRegisterClassObject {
            args: Box::new(crate::kernel::request::boxed::CoRegisterClassObject {
                clsid: *rclsid,
                unk,
                cls_context,
                flags,
                has_cookie: register.is_some(),
            }),
        };
        let c = self.com(req).await;
        if let Some(o) = register {
            *o = match c.out {
                ComOut::Cookie(v) => v as u32,
                _ => 0,
            };
        }
        c.hr
    }

    /// CoRevokeClassObject (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-corevokeclassobject):
    /// from the registering apartment only (RPC_E_WRONG_THREAD otherwise, MP-7); an unknown
    /// cookie: E_INVALIDARG \[inferred\] (§21.17).
    pub async fn co_revoke_class_object(&self, register: u32) -> HRESULT {
        self.com(Request::CoRevokeClassObject { cookie: register }).await.hr
    }

    /// CoResumeClassObjects (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coresumeclassobjects):
    /// the process's REGCLS_SUSPENDED registrations become visible to clients (§21.17).
    pub async fn co_resume_class_objects(&self) -> HRESULT {
        self.com(Request::CoResumeClassObjects {}).await.hr
    }

    /// IClassFactory::CreateInstance(pUnkOuter, riid, ppv): a new toy object in the class
    /// object's apartment. Through a proxy (a local server's class object) it is a call into
    /// that apartment like any other (an STA server must pump to serve it) and `ppv`
    /// receives a proxy. CLASS_E_NOAGGREGATION with an outer object, E_POINTER for a NULL
    /// `ppv`, E_NOINTERFACE (§21.17).
    pub async fn iclassfactory_create_instance(
        &self,
        this: ComPtr,
        unk_outer: Option<ComPtr>,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let (outer, iid, has_out) = (unk_outer.is_some(), *riid, ppv.is_some());
        let (hr, v) =
            Box::pin(self.invoke(|| Request::IClassFactory_CreateInstance { this, outer, iid, has_out })).await;
        if let Some(o) = ppv {
            *o = (hr.succeeded() && v > 0).then_some(ComPtr(v as u32));
        }
        hr
    }

    /// IUnknown::QueryInterface: a toy object answers IID_IUnknown, IID_IToy,
    /// IID_IToyCallback, a class factory IID_IUnknown and IID_IClassFactory; E_NOINTERFACE
    /// otherwise. Through a proxy from another apartment: RPC_E_WRONG_THREAD (MP-5); a
    /// proxy answers IID_IUnknown and interfaces it already has itself, and asks the
    /// object's apartment for any other (a call: it waits for that apartment like any
    /// call, §21.19). The local answers hold after the object's side is gone (§21.26).
    pub async fn query_interface(&self, this: ComPtr, riid: &IID, ppv: Option<&mut Option<ComPtr>>) -> HRESULT {
        let (iid, has_out) = (*riid, ppv.is_some());
        let (hr, v) = Box::pin(self.invoke(|| Request::IUnknown_QueryInterface { this, iid, has_out })).await;
        if let Some(o) = ppv {
            *o = (hr.succeeded() && v > 0).then_some(ComPtr(v as u32));
        }
        hr
    }

    /// IUnknown::AddRef: the pointer's new reference count.
    pub async fn add_ref(&self, this: ComPtr) -> u32 {
        let r = self.call(Request::IUnknown_AddRef { this }).await;
        match r.value {
            Value::Long(v) => v as u32,
            _ => 0,
        }
    }

    /// IUnknown::Release: the pointer's new reference count; a proxy may be released from
    /// any apartment (MP-5). Using the pointer after its count reaches 0 ends the run as
    /// `Failed`.
    pub async fn release(&self, this: ComPtr) -> u32 {
        let r = self.call(Request::IUnknown_Release { this }).await;
        match r.value {
            Value::Long(v) => v as u32,
            _ => 0,
        }
    }

    // ----- the toy interface (J.2) -----------------------------------------------------------

    /// Runs a toy method on its object, on this thread: `ToyEnter`, the body, `ToyLeave`.
    fn run_toy_method(&self, obj: u32, method: ToyMethod) -> Pin<Box<dyn Future<Output = (HRESULT, i64)> + '_>> {
        Box::pin(async move {
            match method {
                ToyMethod::CreateInstance(iid) => {
                    // The class factory's method: a new object on this thread (§21.17).
                    let c = self.com(Request::ClassFactoryCreate { obj, iid }).await;
                    let p = match c.out {
                        ComOut::Ptr(p) => i64::from(p.0),
                        _ => 0,
                    };
                    return (c.hr, p);
                }
                ToyMethod::QueryInterface(iid) => {
                    // QueryInterface run in the object's apartment (§21.19).
                    let ok = self.kernel.borrow().com_obj_implements(obj, iid);
                    return (if ok { S_OK } else { E_NOINTERFACE }, 0);
                }
                _ => {}
            }
            let e = self
                .com(Request::ToyEnter { args: Box::new(crate::kernel::request::boxed::ToyEnter { obj, method }) })
                .await;
            let v = value_of(e.out);
            let (hr, out, new) = match method {
                ToyMethod::Add(n) => (S_OK, 0, v + i64::from(n)),
                ToyMethod::Get => (S_OK, v, v),
                ToyMethod::CallBack(Some(cb)) => (self.itoy_callback_notify(cb).await, 0, v),
                ToyMethod::CallBack(None) => (E_POINTER, 0, v),
                ToyMethod::WaitOn(h) => {
                    let _ = self.wait_for_single_object(h, INFINITE).await;
                    (S_OK, 0, v)
                }
                ToyMethod::SendTo(hwnd, msg) => {
                    let _ = self.send_message(hwnd, msg, 0, 0).await;
                    (S_OK, 0, v)
                }
                ToyMethod::Notify => (S_OK, 0, v + 1),
                ToyMethod::CreateInstance(_) | ToyMethod::QueryInterface(_) => (E_UNEXPECTED, 0, v),
            };
            let _ = self
                .call(Request::ToyLeave {
                    args: Box::new(crate::kernel::request::boxed::ToyLeave { obj, method, value: new }),
                })
                .await;
            (hr, out)
        })
    }

    /// The callee side of a cross-apartment call: take it, run the method, reply.
    pub(crate) async fn serve_com_call(&self, call: u32) {
        let c = self.com(Request::ComStubInvoke { call }).await;
        if let ComOut::Direct { obj, method } = c.out {
            let (hr, value) = self.run_toy_method(obj, method).await;
            let _ = self.call(Request::ComStubReturn { call, hr, value }).await;
        }
    }

    /// A method call through a pointer: direct, or through a proxy (post, wait, reply).
    async fn invoke_once(&self, req: Request) -> (HRESULT, i64) {
        let c = self.com(req).await;
        match c.out {
            ComOut::Direct { obj, method } => self.run_toy_method(obj, method).await,
            ComOut::Pending { call, event, mta } => {
                let remote = mta && self.kernel.borrow().com_call_is_remote(call);
                if remote {
                    // A worker of the server process's MTA (§21.17).
                    let start: crate::kernel::request::ThreadStart = Box::new(move |ctx: ThreadCtx| {
                        Box::pin(async move {
                            ctx.serve_com_call(call).await;
                            0
                        })
                    });
                    let _ = self.com(Request::ComStartWorker { call, start }).await;
                }
                if mta && !remote {
                    // An RPC worker thread of the MTA runs the call [inferred: Windows
                    // takes one from a pool].
                    let worker = self
                        .create_thread(
                            None,
                            0,
                            move |ctx: ThreadCtx| async move {
                                ctx.serve_com_call(call).await;
                                0
                            },
                            0,
                            None,
                        )
                        .await;
                    if worker.is_null() {
                        // No worker thread: the call fails (§21.15).
                        let _ = self.call(Request::ComNoWorker { call }).await;
                    } else {
                        let _ = self.close_handle(worker).await;
                    }
                }
                let sta = self.kernel.borrow().com_is_sta(self.tid);
                if sta {
                    // The COM modal loop (XC-1): pumps incoming calls and sent messages.
                    let mut index = 0;
                    let hr = self
                        .co_wait_for_multiple_handles(COWAIT_DEFAULT, INFINITE, Some(&[event]), Some(&mut index))
                        .await;
                    if hr == RPC_E_CALL_CANCELED {
                        // MessagePending said PENDINGMSG_CANCELCALL (MF-6).
                        return (self.com(Request::ComCallCancel { call }).await.hr, 0);
                    }
                } else {
                    // An MTA caller blocks without pumping (XC-1).
                    let _ = self.wait_for_single_object(event, INFINITE).await;
                }
                let r = self.com(Request::ComCallReturn { call }).await;
                (r.hr, value_of(r.out))
            }
            ComOut::Ptr(p) => (c.hr, i64::from(p.0)),
            _ => (c.hr, 0),
        }
    }

    /// A method call, retried as the caller's message filter says when the callee's filter
    /// refuses it (MF-2, MF-3). Without a filter: RPC_E_CALL_REJECTED for a rejection,
    /// RPC_E_SERVERCALL_RETRYLATER for "retry later" (MF-4's proposal, [unverified]). A
    /// retry after 100 ms or more waits in Sleep, without pumping (MF-3: [unverified]).
    async fn invoke(&self, mk: impl Fn() -> Request) -> (HRESULT, i64) {
        loop {
            let (hr, v) = self.invoke_once(mk()).await;
            if hr != RPC_E_CALL_REJECTED && hr != RPC_E_SERVERCALL_RETRYLATER {
                return (hr, v);
            }
            let r = self.com(Request::RetryRejectedCall { rejected: hr }).await;
            match r.out {
                ComOut::Value(-1) => return (RPC_E_CALL_REJECTED, 0),
                ComOut::Value(ms) if ms >= 100 => self.sleep(ms as u32).await,
                ComOut::Value(_) => {}
                _ => return (hr, 0),
            }
        }
    }

    /// IToy::Add(n): the counter grows by n (read on entry, written on exit: two Adds not
    /// serialised by an apartment can lose one, MP-6). Through a proxy the callee's HRESULT
    /// comes back unchanged (XC-5); the proxy's own failures: CO_E_OBJNOTCONNECTED (its
    /// apartment ended, SD-1), CO_E_NOTINITIALIZED, RPC_E_WRONG_THREAD (MP-5),
    /// RPC_E_DISCONNECTED (the object's apartment ended, SD-2),
    /// RPC_E_CANTCALLOUT_ININPUTSYNCCALL (an STA handling another thread's SendMessage,
    /// IS-1).
    pub async fn itoy_add(&self, this: ComPtr, n: i32) -> HRESULT {
        Box::pin(self.invoke(|| Request::IToy_Add { this, n })).await.0
    }

    /// IToy::Get: the counter, in `value` (left alone on failure).
    pub async fn itoy_get(&self, this: ComPtr, value: Option<&mut i64>) -> HRESULT {
        let (hr, v) = Box::pin(self.invoke(|| Request::IToy_Get { this })).await;
        if let (true, Some(o)) = (hr.succeeded(), value) {
            *o = v;
        }
        hr
    }

    /// IToy::CallBack(cb): calls cb->Notify() from the object's apartment; through a proxy
    /// `cb` is marshalled there, so a callback living in the caller's STA re-enters it as
    /// CALLTYPE_NESTED (XC-2, XC-3). E_POINTER for a NULL `cb`.
    pub async fn itoy_call_back(&self, this: ComPtr, cb: Option<ComPtr>) -> HRESULT {
        Box::pin(self.invoke(|| Request::IToy_CallBack { this, cb })).await.0
    }

    /// IToy::WaitOn(event): WaitForSingleObject(event, INFINITE) on the callee's thread, a
    /// wait that does not pump (ST-3).
    pub async fn itoy_wait_on(&self, this: ComPtr, event: HANDLE) -> HRESULT {
        Box::pin(self.invoke(|| Request::IToy_WaitOn { this, event })).await.0
    }

    /// IToy::SendTo(hwnd, msg): SendMessage(hwnd, msg, 0, 0) from the callee's thread
    /// (XC-2, IS-1).
    pub async fn itoy_send_to(&self, this: ComPtr, hwnd: HWND, msg: u32) -> HRESULT {
        Box::pin(self.invoke(|| Request::IToy_SendTo { this, hwnd, msg })).await.0
    }

    /// IToyCallback::Notify(): counts a notification (the object's counter grows by 1).
    pub async fn itoy_callback_notify(&self, this: ComPtr) -> HRESULT {
        Box::pin(self.invoke(|| Request::IToyCallback_Notify { this })).await.0
    }

    // ----- marshalling ------------------------------------------------------------------------

    /// CreateStreamOnHGlobal(NULL, TRUE, &stream): an empty stream for marshal data.
    pub async fn create_stream_on_hglobal(&self, stream: Option<&mut Option<IStream>>) -> HRESULT {
        let c = self.com(Request::CreateStreamOnHGlobal { has_out: stream.is_some() }).await;
        if let (ComOut::Stream(s), Some(o)) = (c.out, stream) {
            *o = Some(s);
        }
        c.hr
    }

    /// IStream::Seek(0, STREAM_SEEK_SET): rewinds the stream.
    pub async fn istream_seek_start(&self, this: IStream) -> HRESULT {
        self.com(Request::IStream_Seek { this }).await.hr
    }

    /// IStream::Release.
    pub async fn istream_release(&self, this: IStream) -> u32 {
        let _ = self.call(Request::IStream_Release { this }).await;
        0
    }

    /// CoMarshalInterface (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-comarshalinterface):
    /// writes marshal data for the object behind `unk` (a proxy's original object, MP-4)
    /// at the stream's position. MSHLFLAGS_NORMAL data unmarshals once, TABLESTRONG and
    /// TABLEWEAK many times (MP-2, MP-4). E_INVALIDARG for NULL stream or pointer or bad
    /// flags, E_NOINTERFACE, CO_E_NOTINITIALIZED.
    pub async fn co_marshal_interface(
        &self,
        stream: Option<IStream>,
        riid: &IID,
        unk: Option<ComPtr>,
        dest_context: u32,
        _dest_context_reserved: Option<usize>,
        mshlflags: u32,
    ) -> HRESULT {
        let req = Request::CoMarshalInterface {
            args: Box::new(crate::kernel::request::boxed::CoMarshalInterface {
                stream,
                iid: *riid,
                unk,
                dest_context,
                flags: mshlflags,
            }),
        };
        self.com(req).await.hr
    }

    /// CoUnmarshalInterface (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-counmarshalinterface):
    /// in the object's own apartment the object itself, elsewhere a proxy bound to the
    /// caller's apartment (MP-3). NORMAL data a second time: CO_E_OBJNOTCONNECTED;
    /// read past the end: STG_E_READFAULT; E_NOINTERFACE consumes NORMAL data (MP-2);
    /// released table data, or table-weak data whose object is gone: CO_E_OBJNOTREG
    /// (MP-4); no apartment: CO_E_NOTINITIALIZED (CI-1).
    pub async fn co_unmarshal_interface(
        &self,
        stream: Option<IStream>,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let c = self.com(Request::CoUnmarshalInterface { stream, iid: *riid, has_out: ppv.is_some() }).await;
        if let Some(o) = ppv {
            *o = match c.out {
                ComOut::Ptr(p) => Some(p),
                _ => None,
            };
        }
        c.hr
    }

    /// CoReleaseMarshalData (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-coreleasemarshaldata):
    /// releases the marshal data at the stream's position; STG_E_READFAULT past the end;
    /// data released before whose object has no stub manager left: RPC_E_INVALID_OBJREF
    /// (§21.7, §21.26).
    pub async fn co_release_marshal_data(&self, stream: Option<IStream>) -> HRESULT {
        self.com(Request::CoReleaseMarshalData { stream }).await.hr
    }

    /// CoDisconnectObject (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-codisconnectobject):
    /// cuts off every proxy to the object; NULL: E_INVALIDARG; a proxy or the GIT: S_OK,
    /// nothing done; no apartment: CO_E_NOTINITIALIZED (§21.16, §21.26).
    pub async fn co_disconnect_object(&self, unk: Option<ComPtr>, reserved: u32) -> HRESULT {
        self.com(Request::CoDisconnectObject { unk, reserved }).await.hr
    }

    /// CoLockObjectExternal (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-colockobjectexternal):
    /// `f_lock` TRUE adds an external lock (a strong reference held by the object's stub
    /// manager), FALSE removes one; the last strong reference unlocked releases the stub
    /// manager (its proxies cut off, its reference on the object released) unless
    /// `f_last_unlock_releases` is FALSE and table-weak marshal data still holds it. NULL:
    /// E_INVALIDARG (§21.25).
    pub async fn co_lock_object_external(
        &self,
        unk: Option<ComPtr>,
        f_lock: bool,
        f_last_unlock_releases: bool,
    ) -> HRESULT {
        self.com(Request::CoLockObjectExternal { unk, lock: f_lock, last_unlock_releases: f_last_unlock_releases })
            .await
            .hr
    }

    /// CoMarshalInterThreadInterfaceInStream (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-comarshalinterthreadinterfaceinstream):
    /// a new stream with NORMAL marshal data; E_INVALIDARG for a NULL pointer or stream
    /// out-pointer (MP-1: the test contradicts the doc's "can be NULL").
    pub async fn co_marshal_inter_thread_interface_in_stream(
        &self,
        riid: &IID,
        unk: Option<ComPtr>,
        stream: Option<&mut Option<IStream>>,
    ) -> HRESULT {
        let req = Request::CoMarshalInterThreadInterfaceInStream { iid: *riid, unk, has_out: stream.is_some() };
        let c = self.com(req).await;
        if let (ComOut::Stream(s), Some(o)) = (c.out, stream) {
            *o = Some(s);
        }
        c.hr
    }

    /// CoGetInterfaceAndReleaseStream (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cogetinterfaceandreleasestream):
    /// unmarshals and releases the stream, even when unmarshalling fails (MP-1).
    pub async fn co_get_interface_and_release_stream(
        &self,
        stream: Option<IStream>,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let c = self.com(Request::CoGetInterfaceAndReleaseStream { stream, iid: *riid, has_out: ppv.is_some() }).await;
        if let Some(o) = ppv {
            *o = match c.out {
                ComOut::Ptr(p) => Some(p),
                _ => None,
            };
        }
        c.hr
    }

    // ----- message filters ---------------------------------------------------------------------

    /// CoRegisterMessageFilter (learn.microsoft.com/en-us/windows/win32/api/objbase/nf-objbase-coregistermessagefilter):
    /// registers a scripted [`MessageFilter`] for the caller's STA (None removes it); the
    /// previous one goes to `prev` (None when there was none). Outside an STA:
    /// CO_E_NOT_SUPPORTED, `prev` untouched (MF-1; the doc's S_FALSE is contradicted by the
    /// tests). The callee's HandleInComingCall is consulted for every incoming call
    /// (REJECTED/RETRYLATER refuse it, MF-2); the caller's RetryRejectedCall decides
    /// whether a refused call is cancelled or retried (MF-3). MessagePending is not
    /// modelled.
    pub async fn co_register_message_filter(
        &self,
        filter: Option<MessageFilter>,
        prev: Option<&mut Option<MessageFilter>>,
    ) -> HRESULT {
        let old = self.kernel.borrow().com_filter_of(self.tid);
        let hr = self
            .com(Request::CoRegisterMessageFilter {
                args: Box::new(crate::kernel::request::boxed::CoRegisterMessageFilter {
                    filter,
                    has_prev: prev.is_some(),
                }),
            })
            .await
            .hr;
        if let (S_OK, Some(p)) = (hr, prev) {
            *p = old;
        }
        hr
    }

    // ----- the Global Interface Table (MP-9) -----------------------------------------------------

    /// IGlobalInterfaceTable::RegisterInterfaceInGlobal (learn.microsoft.com/en-us/windows/win32/api/objidl/nf-objidl-iglobalinterfacetable-registerinterfaceinglobal):
    /// `git` comes from CoCreateInstance(CLSID_StdGlobalInterfaceTable, ...,
    /// IID_IGlobalInterfaceTable). Table-strong marshal data under a new cookie, keeping the
    /// object until revoked (MP-9). E_INVALIDARG for a NULL pointer or cookie.
    pub async fn register_interface_in_global(
        &self,
        git: ComPtr,
        unk: Option<ComPtr>,
        riid: &IID,
        cookie: Option<&mut u32>,
    ) -> HRESULT {
        let req = Request::IGlobalInterfaceTable_RegisterInterfaceInGlobal {
            this: git,
            unk,
            iid: *riid,
            has_cookie: cookie.is_some(),
        };
        let c = self.com(req).await;
        if let (ComOut::Cookie(v), Some(o)) = (c.out, cookie) {
            *o = v as u32;
        }
        c.hr
    }

    /// IGlobalInterfaceTable::GetInterfaceFromGlobal: a pointer for the caller's apartment
    /// (a proxy, or the object itself in its own); CO_E_NOTINITIALIZED without an apartment
    /// (MP-9); E_INVALIDARG for a cookie not registered \[inferred\].
    pub async fn get_interface_from_global(
        &self,
        git: ComPtr,
        cookie: u32,
        riid: &IID,
        ppv: Option<&mut Option<ComPtr>>,
    ) -> HRESULT {
        let req = Request::IGlobalInterfaceTable_GetInterfaceFromGlobal {
            this: git,
            cookie,
            iid: *riid,
            has_out: ppv.is_some(),
        };
        let c = self.com(req).await;
        if let Some(o) = ppv {
            *o = match c.out {
                ComOut::Ptr(p) => Some(p),
                _ => None,
            };
        }
        c.hr
    }

    /// IGlobalInterfaceTable::RevokeInterfaceFromGlobal: from any apartment (MP-9);
    /// E_INVALIDARG for a cookie not registered \[inferred\].
    pub async fn revoke_interface_from_global(&self, git: ComPtr, cookie: u32) -> HRESULT {
        self.com(Request::IGlobalInterfaceTable_RevokeInterfaceFromGlobal { this: git, cookie }).await.hr
    }

    // ----- waiting ----------------------------------------------------------------------------

    /// Dispatches what an STA's CoWaitForMultipleHandles dispatches (CW-4): incoming COM
    /// calls on the hidden window and messages sent by other threads (PeekMessage runs
    /// those first), DDE messages, and with `all` every posted message but WM_QUIT
    /// (COWAIT_DISPATCH_WINDOW_MESSAGES; CW-8: WM_QUIT is left queued).
    async fn com_pump(&self, all: bool) {
        let hidden = self.kernel.borrow().com_hidden_window(self.tid);
        let mut m = MSG::default();
        loop {
            if let Some(h) = hidden
                && self.peek_message(&mut m, h, WM_COM_CALL, WM_COM_CALL, PM_REMOVE).await != 0
            {
                let _ = self.dispatch_message(&m).await;
                continue;
            }
            if self.peek_message(&mut m, HWND::NULL, WM_DDE_FIRST, WM_DDE_LAST, PM_REMOVE).await != 0 {
                let _ = self.dispatch_message(&m).await;
                continue;
            }
            if all && self.peek_message(&mut m, HWND::NULL, 0, 0, PM_NOREMOVE).await != 0 && m.message != WM_QUIT {
                let id = m.message;
                if self.peek_message(&mut m, HWND::NULL, id, id, PM_REMOVE).await != 0 {
                    let _ = self.dispatch_message(&m).await;
                    continue;
                }
            }
            break;
        }
    }

    /// CoWaitForMultipleHandles (learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cowaitformultiplehandles):
    /// waits for the handles (all of them with COWAIT_WAITALL). In an STA, while it waits
    /// it dispatches incoming COM calls, messages sent by other threads and DDE messages,
    /// and leaves other posted messages queued (CW-4; COWAIT_DISPATCH_WINDOW_MESSAGES
    /// dispatches them too); in an MTA or without COM it only waits (CW-5). S_OK with
    /// `index` the WaitForMultipleObjects-style index (WAIT_IO_COMPLETION after APCs with
    /// COWAIT_ALERTABLE, CW-6); RPC_S_CALLPENDING with index 0 on time-out (CW-3). Already
    /// signalled: S_OK at once, nothing dispatched (CW-2). E_INVALIDARG for a NULL `index`,
    /// or NULL `handles` (index 0); RPC_E_NO_SYNC for no handles (index 0) (CW-1); a bad
    /// handle gives HRESULT_FROM_WIN32 of the wait's error \[inferred\].
    /// COWAIT_INPUTAVAILABLE and COWAIT_DISPATCH_CALLS are accepted without effect
    /// [inferred; CW-6].
    pub async fn co_wait_for_multiple_handles(
        &self,
        flags: u32,
        timeout: u32,
        handles: Option<&[HANDLE]>,
        index: Option<&mut u32>,
    ) -> HRESULT {
        let start = self.kernel.borrow().now_ms();
        let has_index = index.is_some();
        let mut index = index;
        let n = handles.map_or(0, <[HANDLE]>::len) as u32;
        let mut set = |v: u32| {
            if let Some(o) = index.as_deref_mut() {
                *o = v;
            }
        };
        // Window messages MessagePending has been told about (MF-6; only in the COM modal
        // loop of an STA whose filter scripts it).
        let mut told = self.kernel.borrow().com_other_posted(self.tid);
        loop {
            let remaining = if timeout == INFINITE {
                INFINITE
            } else {
                let elapsed = self.kernel.borrow().now_ms().saturating_sub(start);
                timeout.saturating_sub(u32::try_from(elapsed).unwrap_or(u32::MAX))
            };
            let req = Request::CoWaitForMultipleHandles {
                flags,
                timeout_ms: remaining,
                handles: handles.map(<[HANDLE]>::to_vec),
                has_index,
            };
            let r = self.call(req).await;
            match (r.value, r.status.succeeded()) {
                (Value::Com(c), _) => {
                    if c.hr == RPC_E_NO_SYNC || (c.hr == E_INVALIDARG && has_index && handles.is_none()) {
                        set(0);
                    }
                    return c.hr;
                }
                (Value::Wait(code), true) => {
                    if code == WAIT_TIMEOUT {
                        set(0);
                        return RPC_S_CALLPENDING;
                    }
                    if code == WAIT_IO_COMPLETION {
                        set(code);
                        self.run_apcs().await;
                        return S_OK;
                    }
                    if code == WAIT_OBJECT_0 + n {
                        self.com_pump(flags & COWAIT_DISPATCH_WINDOW_MESSAGES != 0).await;
                        let (call, now) = {
                            let k = self.kernel.borrow();
                            (
                                k.com_message_pending_call(self.pid, self.tid, handles.unwrap_or(&[])),
                                k.com_other_posted(self.tid),
                            )
                        };
                        if let Some(call) = call.filter(|_| now > told) {
                            told = now;
                            let r = self.com(Request::MessagePending { call }).await;
                            if r.out == ComOut::Value(i64::from(PENDINGMSG_CANCELCALL)) {
                                return RPC_E_CALL_CANCELED;
                            }
                        }
                        told = told.min(now);
                        continue;
                    }
                    set(code);
                    return S_OK;
                }
                (_, _) => {
                    return match r.status.last_error() {
                        Some(e) => HRESULT_FROM_WIN32(e),
                        None => E_UNEXPECTED,
                    };
                }
            }
        }
    }
}
