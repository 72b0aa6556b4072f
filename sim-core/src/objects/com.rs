//! COM apartments (docs/semantics.md §21; facts: /work/shared/semantics/com-apartments.md,
//! cited by their numbers, CI-2, MP-5, ...).
//!
//! COM adds no kernel object: it is per-thread state (init counts, the apartment),
//! apartments (one MTA per process, any number of STAs), in-process objects of the toy
//! class (IToy/IToyCallback), interface pointers (direct or proxies bound to the
//! apartment that unmarshalled them), marshal packets in streams, and calls in flight.
//! Everything rides on what exists: an STA's hidden window is an ordinary window of class
//! `OleMainThreadWndClass`; a call into an STA is a message posted to it (`WM_COM_CALL`)
//! and runs only when that thread retrieves and dispatches it; a call into the MTA runs on
//! a simulated RPC worker thread; the caller waits on an event of its own process, an STA
//! caller in the COM modal loop (CoWaitForMultipleHandles, which pumps), an MTA caller in
//! a plain wait.
//!
//! The method bodies are user code (they make calls), so they run in the API layer
//! (`api/com.rs`), between the internal steps `ToyEnter` and `ToyLeave`; the kernel keeps
//! the bookkeeping here.

#![allow(non_upper_case_globals)]

use crate::error::*;
use crate::kernel::request::{Api, CallResult, Value};
use crate::kernel::time::TICKS_PER_MS;
use crate::kernel::{Exec, Kernel, Pid, Tid};
use crate::objects::ObjectId;
use crate::report::WaitEdge;
use crate::trace::{ArgValue, ToArg};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

// ----- public names ------------------------------------------------------------------------

/// A GUID (IID, CLSID), as one 128-bit number written in registry order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct GUID(pub u128);
/// An interface id.
pub type IID = GUID;
/// A class id.
pub type CLSID = GUID;

/// IID_IUnknown {00000000-0000-0000-C000-000000000046}.
pub const IID_IUnknown: IID = GUID(0x00000000_0000_0000_C000_000000000046);
/// IID_IClassFactory {00000001-0000-0000-C000-000000000046} (the toy does not implement it:
/// asking for it gives E_NOINTERFACE, as in marshal.c's tests).
pub const IID_IClassFactory: IID = GUID(0x00000001_0000_0000_C000_000000000046);
/// The toy interface IToy (winsim's own, com-apartments.md J.2).
pub const IID_IToy: IID = GUID(0x77150001_0000_0000_C000_000000000057);
/// The toy callback interface IToyCallback (J.2).
pub const IID_IToyCallback: IID = GUID(0x77150002_0000_0000_C000_000000000057);
/// IID_IGlobalInterfaceTable {00000146-0000-0000-C000-000000000046}.
pub const IID_IGlobalInterfaceTable: IID = GUID(0x00000146_0000_0000_C000_000000000046);
/// CLSID_StdGlobalInterfaceTable {00000323-0000-0000-C000-000000000046}: the process's
/// Global Interface Table (MP-9).
pub const CLSID_StdGlobalInterfaceTable: CLSID = GUID(0x00000323_0000_0000_C000_000000000046);
/// The toy class: an in-process class with ThreadingModel "Both", so CoCreateInstance
/// makes its objects in the caller's apartment (MP-8); it implements IUnknown, IToy and
/// IToyCallback.
pub const CLSID_Toy: CLSID = GUID(0x77151000_0000_0000_C000_000000000057);
/// A class id with no registry entry, for classes a server process registers itself with
/// CoRegisterClassObject (winsim's own, §21.17): found only while registered.
pub const CLSID_ToyServer: CLSID = GUID(0x77151001_0000_0000_C000_000000000057);

/// REGCLS_SINGLEUSE (0): after one CoGetClassObject connects to it, the class object is
/// removed from public view (Learn, REGCLS).
pub const REGCLS_SINGLEUSE: u32 = 0;
/// REGCLS_MULTIPLEUSE (1): many clients; with CLSCTX_LOCAL_SERVER it is also registered
/// as CLSCTX_INPROC_SERVER for its own process.
pub const REGCLS_MULTIPLEUSE: u32 = 1;
/// REGCLS_MULTI_SEPARATE (2): many clients, each context registered separately.
pub const REGCLS_MULTI_SEPARATE: u32 = 2;
/// REGCLS_SUSPENDED (4): not visible to clients until CoResumeClassObjects.
pub const REGCLS_SUSPENDED: u32 = 4;
/// REGCLS_SURROGATE (8): accepted, no effect.
pub const REGCLS_SURROGATE: u32 = 8;
/// REGCLS_AGILE (0x10): accepted, no effect.
pub const REGCLS_AGILE: u32 = 0x10;

impl GUID {
    /// The Win32 name winsim knows for it.
    pub fn name(&self) -> String {
        match *self {
            IID_IUnknown => "IID_IUnknown".into(),
            IID_IClassFactory => "IID_IClassFactory".into(),
            IID_IToy => "IID_IToy".into(),
            IID_IToyCallback => "IID_IToyCallback".into(),
            CLSID_Toy => "CLSID_Toy".into(),
            CLSID_ToyServer => "CLSID_ToyServer".into(),
            IID_IGlobalInterfaceTable => "IID_IGlobalInterfaceTable".into(),
            CLSID_StdGlobalInterfaceTable => "CLSID_StdGlobalInterfaceTable".into(),
            GUID(v) => format!("{{{v:032X}}}"),
        }
    }
}

impl ToArg for GUID {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.name()))
    }
}

/// An interface pointer a program holds (`IUnknown*`, `IToy*`): a number standing for a
/// pointer in the process's memory. It may point at the object itself (a direct pointer,
/// in the object's apartment) or at a proxy bound to the apartment that unmarshalled it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct ComPtr(pub u32);

impl fmt::Display for ComPtr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "itf#{}", self.0)
    }
}

impl ToArg for ComPtr {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.to_string()))
    }
}
impl ToArg for Option<ComPtr> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.map_or("NULL".to_string(), |p| p.to_string())))
    }
}

/// An `IStream*` (CreateStreamOnHGlobal): holds marshal packets.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct IStream(pub u32);

impl fmt::Display for IStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream#{}", self.0)
    }
}
impl ToArg for Option<IStream> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.map_or("NULL".to_string(), |p| p.to_string())))
    }
}
impl ToArg for IStream {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.to_string()))
    }
}
impl ToArg for HRESULT {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.to_string()))
    }
}
// `Option<Vec<HANDLE>>` renders through the kernel's own impl (request.rs).

/// COINIT_MULTITHREADED (0): join the process's MTA.
pub const COINIT_MULTITHREADED: u32 = 0x0;
/// COINIT_APARTMENTTHREADED (2): make a single-threaded apartment.
pub const COINIT_APARTMENTTHREADED: u32 = 0x2;
/// COINIT_DISABLE_OLE1DDE (4): accepted, no effect (CI-2: not part of the mode).
pub const COINIT_DISABLE_OLE1DDE: u32 = 0x4;
/// COINIT_SPEED_OVER_MEMORY (8): accepted, no effect.
pub const COINIT_SPEED_OVER_MEMORY: u32 = 0x8;

/// APTTYPE_CURRENT (-1).
pub const APTTYPE_CURRENT: i32 = -1;
/// APTTYPE_STA (0).
pub const APTTYPE_STA: i32 = 0;
/// APTTYPE_MTA (1).
pub const APTTYPE_MTA: i32 = 1;
/// APTTYPE_NA (2): not modelled.
pub const APTTYPE_NA: i32 = 2;
/// APTTYPE_MAINSTA (3): the first STA of the process (CI-5).
pub const APTTYPE_MAINSTA: i32 = 3;
/// APTTYPEQUALIFIER_NONE (0).
pub const APTTYPEQUALIFIER_NONE: i32 = 0;
/// APTTYPEQUALIFIER_IMPLICIT_MTA (1) (CI-7).
pub const APTTYPEQUALIFIER_IMPLICIT_MTA: i32 = 1;

/// CLSCTX_INPROC_SERVER (1).
pub const CLSCTX_INPROC_SERVER: u32 = 0x1;
/// CLSCTX_INPROC_HANDLER (2).
pub const CLSCTX_INPROC_HANDLER: u32 = 0x2;
/// CLSCTX_LOCAL_SERVER (4): out-of-process servers are not modelled.
pub const CLSCTX_LOCAL_SERVER: u32 = 0x4;
/// CLSCTX_ALL.
pub const CLSCTX_ALL: u32 = 0x17;

/// MSHLFLAGS_NORMAL (0): the data is unmarshalled once (MP-2).
pub const MSHLFLAGS_NORMAL: u32 = 0;
/// MSHLFLAGS_TABLESTRONG (1): many unmarshals; keeps the object until released (MP-4).
pub const MSHLFLAGS_TABLESTRONG: u32 = 1;
/// MSHLFLAGS_TABLEWEAK (2): many unmarshals; does not keep the object (MP-4).
pub const MSHLFLAGS_TABLEWEAK: u32 = 2;
/// MSHLFLAGS_NOPING (4): accepted, no effect.
pub const MSHLFLAGS_NOPING: u32 = 4;
/// MSHCTX_LOCAL (0).
pub const MSHCTX_LOCAL: u32 = 0;
/// MSHCTX_INPROC (3).
pub const MSHCTX_INPROC: u32 = 3;

/// COWAIT_DEFAULT (0).
pub const COWAIT_DEFAULT: u32 = 0;
/// COWAIT_WAITALL (1).
pub const COWAIT_WAITALL: u32 = 1;
/// COWAIT_ALERTABLE (2).
pub const COWAIT_ALERTABLE: u32 = 2;
/// COWAIT_INPUTAVAILABLE (4).
pub const COWAIT_INPUTAVAILABLE: u32 = 4;
/// COWAIT_DISPATCH_CALLS (8): only matters in an ASTA (CW-6); accepted, no effect.
pub const COWAIT_DISPATCH_CALLS: u32 = 8;
/// COWAIT_DISPATCH_WINDOW_MESSAGES (0x10): an STA wait dispatches every posted message.
pub const COWAIT_DISPATCH_WINDOW_MESSAGES: u32 = 0x10;

/// CALLTYPE_TOPLEVEL (1): the callee has no outgoing call pending (XC-3).
pub const CALLTYPE_TOPLEVEL: u32 = 1;
/// CALLTYPE_NESTED (2): a callback on behalf of the callee's own pending call.
pub const CALLTYPE_NESTED: u32 = 2;
/// CALLTYPE_TOPLEVEL_CALLPENDING (4): a new call arriving while the callee waits on one.
pub const CALLTYPE_TOPLEVEL_CALLPENDING: u32 = 4;

/// The message COM posts to an STA's hidden window for an incoming call. The native
/// numbers are undocumented; Wine uses WM_USER + 0 [inferred, ST-1].
pub const WM_COM_CALL: u32 = WM_USER;
/// The class of an STA's hidden window (ST-1).
pub const OLE_MAIN_THREAD_WND_CLASS: &str = "OleMainThreadWndClass";
/// The title of an STA's hidden window.
pub const OLE_MAIN_THREAD_WND_NAME: &str = "OleMainThreadWndName";
/// The first and last DDE messages, which an STA's CoWaitForMultipleHandles dispatches
/// (CW-4).
pub const WM_DDE_FIRST: u32 = 0x03E0;
/// WM_DDE_LAST.
pub const WM_DDE_LAST: u32 = 0x03E8;

/// SERVERCALL_ISHANDLED (0): HandleInComingCall lets the call in.
pub const SERVERCALL_ISHANDLED: u32 = 0;
/// SERVERCALL_REJECTED (1).
pub const SERVERCALL_REJECTED: u32 = 1;
/// SERVERCALL_RETRYLATER (2).
pub const SERVERCALL_RETRYLATER: u32 = 2;

/// An IMessageFilter as a scripted policy (MF-1 .. MF-3): what its HandleInComingCall and
/// RetryRejectedCall return. MessagePending is not modelled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageFilter {
    /// HandleInComingCall's answers (SERVERCALL_*), one per incoming call in order; the
    /// last one repeats; empty: SERVERCALL_ISHANDLED.
    pub handle_in_coming_call: Vec<u32>,
    /// If set, the answer for CALLTYPE_TOPLEVEL_CALLPENDING calls (the others get
    /// `handle_in_coming_call`'s).
    pub when_call_pending: Option<u32>,
    /// RetryRejectedCall's answers, in order, the last repeating: -1 cancels (the call
    /// returns RPC_E_CALL_REJECTED), 0..99 retries at once, 100 or more retries after that
    /// many virtual milliseconds (MF-3). Empty: -1.
    pub retry_rejected_call: Vec<i32>,
    /// MessagePending's answers (PENDINGMSG_*), one per window message that arrives while
    /// the STA waits for an outgoing call's reply, the last repeating (MF-6, §21.20).
    /// Empty: MessagePending is not consulted (as before §21.20).
    pub message_pending: Vec<u32>,
}

/// PENDINGMSG_CANCELCALL (0): the outgoing call fails with RPC_E_CALL_CANCELED (MF-6).
pub const PENDINGMSG_CANCELCALL: u32 = 0;
/// PENDINGMSG_WAITNOPROCESS (1): keep waiting; the message stays queued.
pub const PENDINGMSG_WAITNOPROCESS: u32 = 1;
/// PENDINGMSG_WAITDEFPROCESS (2): keep waiting; the message stays queued [inferred for
/// posted messages: winsim has no keyboard, mouse or WM_PAINT input].
pub const PENDINGMSG_WAITDEFPROCESS: u32 = 2;
/// PENDINGTYPE_TOPLEVEL (1).
pub const PENDINGTYPE_TOPLEVEL: u32 = 1;
/// PENDINGTYPE_NESTED (2).
pub const PENDINGTYPE_NESTED: u32 = 2;

impl ToArg for Option<MessageFilter> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(if self.is_some() { "filter" } else { "NULL" }.to_string()))
    }
}

// ----- kernel state ------------------------------------------------------------------------

/// A method of the toy class, with its arguments (J.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToyMethod {
    /// IToy::Add(n): counter += n, read on entry and written on exit.
    Add(i32),
    /// IToy::Get(): the counter.
    Get,
    /// IToy::CallBack(cb): calls cb->Notify().
    CallBack(Option<ComPtr>),
    /// IToy::WaitOn(event): WaitForSingleObject(event, INFINITE) on the callee's thread
    /// (a wait that does not pump).
    WaitOn(HANDLE),
    /// IToy::SendTo(hwnd, msg): SendMessage(hwnd, msg, 0, 0) from the callee's thread.
    SendTo(HWND, u32),
    /// IToyCallback::Notify(): counts a notification (the counter grows by 1).
    Notify,
    /// IClassFactory::CreateInstance(NULL, iid): a new toy object in the factory's
    /// apartment (§21.17).
    CreateInstance(IID),
    /// IUnknown::QueryInterface(iid) answered by the object's apartment (a proxy asking
    /// for an interface it does not have yet, §21.19).
    QueryInterface(IID),
}

impl ToyMethod {
    /// `IToy::Add` and so on.
    pub fn name(&self) -> &'static str {
        match self {
            ToyMethod::Add(_) => "IToy::Add",
            ToyMethod::Get => "IToy::Get",
            ToyMethod::CallBack(_) => "IToy::CallBack",
            ToyMethod::WaitOn(_) => "IToy::WaitOn",
            ToyMethod::SendTo(..) => "IToy::SendTo",
            ToyMethod::Notify => "IToyCallback::Notify",
            ToyMethod::CreateInstance(_) => "IClassFactory::CreateInstance",
            ToyMethod::QueryInterface(_) => "IUnknown::QueryInterface",
        }
    }
    fn iid(&self) -> IID {
        match self {
            ToyMethod::Notify => IID_IToyCallback,
            ToyMethod::CreateInstance(_) => IID_IClassFactory,
            ToyMethod::QueryInterface(_) => IID_IUnknown,
            _ => IID_IToy,
        }
    }
}

impl ToArg for ToyMethod {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.name().to_string()))
    }
}

/// What kind of apartment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AptKind {
    /// A single-threaded apartment: its one thread.
    Sta(Tid),
    /// The process's multithreaded apartment.
    Mta,
}

/// An apartment. Ids are never reused, so a pointer bound to a dead apartment stays dead.
#[derive(Clone, Debug)]
pub struct Apartment {
    /// Its process.
    pub pid: Pid,
    /// STA or MTA.
    pub kind: AptKind,
    /// The main STA: the first STA of the process while it lives (CI-5, CI-6).
    pub main: bool,
    /// MTA: threads that joined it with CoInitializeEx (and RPC workers running calls).
    pub members: u32,
    /// MTA: CoIncrementMTAUsage cookies outstanding (CI-7).
    pub usage: u32,
    /// Alive (an STA until its thread's last CoUninitialize or exit; the MTA until its last
    /// member and cookie go).
    pub alive: bool,
}

/// A thread's COM state.
#[derive(Clone, Debug, Default)]
pub struct ComThread {
    /// Successful CoInitialize(Ex) calls not yet balanced (CI-2). Invariant: `apt` is
    /// Some exactly while it is above 0.
    pub init: u32,
    /// Successful OleInitialize calls not yet balanced (CI-4).
    pub ole: u32,
    /// The apartment it entered explicitly.
    pub apt: Option<u32>,
    /// Outgoing calls it waits on, innermost last.
    pub outgoing: Vec<u32>,
    /// Incoming calls it runs, innermost last.
    pub running: Vec<u32>,
    /// Its logical thread id (causality), given at its first outgoing call (XC-3).
    pub causality: u32,
}

/// An object of the toy class.
#[derive(Clone, Debug)]
pub struct ComObject {
    /// The apartment it lives in.
    pub apt: u32,
    /// IToy's counter.
    pub counter: i64,
    /// Methods running on it now (more than one: a re-entrant or concurrent call).
    pub busy: u32,
    /// Method entries made while another method was running on it (J.2's invariant flag).
    pub reentered: u32,
    /// Alive: its apartment lives (its stub answers calls).
    pub alive: bool,
    /// CoDisconnectObject calls on it: proxies made before the last one are cut off (§21.16).
    pub disconnects: u32,
    /// A class factory (IClassFactory) of the toy class rather than a toy object (§21.17).
    pub factory: bool,
    /// Its server process ended (not only its apartment): proxies in other processes answer
    /// RPC_S_SERVER_UNAVAILABLE (§21.17).
    pub server_gone: bool,
    /// Its reference count, as the toy class keeps it (what AddRef and Release through a
    /// direct pointer return): the direct pointers' counts, one for its stub manager while
    /// that exists, one per class registration (§21.23).
    pub refs: u32,
    /// Its stub manager exists (made by the first marshal, proxy or external lock; it holds
    /// one reference on the object) (§21.24).
    pub stub: bool,
    /// CoLockObjectExternal locks outstanding (strong external references, §21.25).
    pub locks: u32,
    /// Its last reference was released: the object is gone (§21.23).
    pub destroyed: bool,
}

impl ComObject {
    /// A new, live object in apartment `apt`: a toy object, or a class factory.
    fn new(apt: u32, factory: bool) -> ComObject {
        ComObject {
            apt,
            counter: 0,
            busy: 0,
            reentered: 0,
            alive: true,
            disconnects: 0,
            factory,
            server_gone: false,
            refs: 0,
            stub: false,
            locks: 0,
            destroyed: false,
        }
    }
}

/// A class object registered with CoRegisterClassObject (§21.17).
#[derive(Clone, Debug)]
pub struct ClassReg {
    /// The registering process.
    pub pid: Pid,
    /// The registering apartment (registrations are per apartment, MP-7).
    pub apt: u32,
    /// The class.
    pub clsid: CLSID,
    /// The class object.
    pub obj: u32,
    /// CLSCTX_* it was registered for (REGCLS_MULTIPLEUSE with CLSCTX_LOCAL_SERVER adds
    /// CLSCTX_INPROC_SERVER).
    pub ctx: u32,
    /// REGCLS_*.
    pub flags: u32,
    /// REGCLS_SUSPENDED and CoResumeClassObjects not yet called.
    pub suspended: bool,
    /// REGCLS_SINGLEUSE: a client connected, so it is out of public view.
    pub used: bool,
}

/// What an interface pointer points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PtrKind {
    /// The object itself.
    Direct,
    /// A proxy bound to the apartment that unmarshalled it (MP-5).
    Proxy {
        /// That apartment.
        owner: u32,
        /// Connected to a stub (false: made from released marshal data, MP-2).
        connected: bool,
    },
}

/// An interface pointer.
#[derive(Clone, Debug)]
pub struct PtrState {
    /// The process whose memory it is in.
    pub pid: Pid,
    /// The object.
    pub obj: u32,
    /// The interface.
    pub iid: IID,
    /// Direct or proxy.
    pub kind: PtrKind,
    /// Its reference count; 0: released (kept to catch a use after release).
    pub refs: u32,
    /// The object's `disconnects` when it was made: a proxy made before a later
    /// CoDisconnectObject answers CO_E_OBJNOTCONNECTED (§21.16).
    pub epoch: u32,
}

/// Where marshal data is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketState {
    /// Not yet unmarshalled (or table data).
    Fresh,
    /// NORMAL data, unmarshalled once (MP-2).
    Consumed,
    /// CoReleaseMarshalData ran.
    Released,
}

/// Marshal data (an OBJREF) written to a stream.
#[derive(Clone, Debug)]
pub struct Packet {
    /// The object.
    pub obj: u32,
    /// The interface.
    pub iid: IID,
    /// MSHLFLAGS_*.
    pub flags: u32,
    /// Its state.
    pub state: PacketState,
}

/// A stream (CreateStreamOnHGlobal).
#[derive(Clone, Debug)]
pub struct Stream {
    /// Its process.
    pub pid: Pid,
    /// The packets written, in order.
    pub packets: Vec<u32>,
    /// The seek position, in packets.
    pub pos: usize,
    /// Released.
    pub released: bool,
}

/// Where a cross-apartment call is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallState {
    /// Posted to the hidden window (STA) or given to a worker (MTA), not yet running.
    Queued,
    /// Its method runs on this thread.
    Running(Tid),
    /// Replied (or failed): the caller takes its result.
    Done,
}

/// A call through a proxy, from its post to its reply.
#[derive(Clone, Debug)]
pub struct ComCall {
    /// The method and its arguments.
    pub method: ToyMethod,
    /// The object.
    pub obj: u32,
    /// The calling thread and process.
    pub caller: Tid,
    /// The caller's process.
    pub caller_pid: Pid,
    /// The caller has ended: nobody takes the result.
    pub caller_gone: bool,
    /// The apartment it goes to.
    pub target: u32,
    /// Where it is.
    pub state: CallState,
    /// The result (HRESULT, the out value).
    pub result: Option<(HRESULT, i64)>,
    /// The event the caller waits on, and its handle in the caller's process.
    pub event: ObjectId,
    /// That handle.
    pub event_handle: HANDLE,
    /// The logical thread id it carries (XC-3).
    pub causality: u32,
    /// The hidden window it was posted to (STA).
    pub hwnd: HWND,
    /// The pointer made for a CallBack argument in the callee's apartment.
    pub arg_ptr: Option<ComPtr>,
    /// The step at which it was made.
    pub since_step: u64,
}

/// Everything COM keeps (`Kernel::com`): its tables, built on first use (most runs never
/// touch COM), and the processes being ended (every process's end is recorded there).
#[derive(Clone, Default)]
pub struct Com {
    state: crate::kernel::lazy::Lazy<ComState>,
    /// Processes being ended (ExitProcess, TerminateProcess, their last thread): their
    /// apartments end as their server process dies (§21.17).
    pub ending: PidSet,
}

impl Com {
    /// COM with nothing made yet, its set of ending processes in `buffer` (emptied).
    pub(crate) fn with_ending(buffer: Vec<Pid>) -> Com {
        Com { state: Default::default(), ending: PidSet::with_buffer(buffer) }
    }
}

crate::kernel::lazy::deref_to_tables!(Com => ComState, state);

/// A set of process ids: a sorted vector, shown as a set (as the `BTreeSet` it replaces);
/// a process's end adds one, none leaves, so it stays short.
#[derive(Clone, Default)]
pub struct PidSet(Vec<Pid>);

impl PidSet {
    /// Adds `pid`; false if it was there.
    pub fn insert(&mut self, pid: Pid) -> bool {
        match self.0.binary_search(&pid) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, pid);
                true
            }
        }
    }

    /// Whether `pid` is in the set.
    pub fn contains(&self, pid: &Pid) -> bool {
        self.0.binary_search(pid).is_ok()
    }

    /// Its buffer, emptied (the kernel's spare buffers).
    pub(crate) fn take_buffer(&mut self) -> Vec<Pid> {
        let mut v = std::mem::take(&mut self.0);
        v.clear();
        v
    }

    /// An empty set in `buffer` (emptied).
    pub(crate) fn with_buffer(mut buffer: Vec<Pid>) -> PidSet {
        buffer.clear();
        PidSet(buffer)
    }

    /// The memory it keeps, in ids.
    pub(crate) fn capacity(&self) -> usize {
        self.0.capacity()
    }
}

impl std::fmt::Debug for PidSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(&self.0).finish()
    }
}

/// As the one struct it was: the tables' fields in order, `ending` before `next`.
impl std::fmt::Debug for Com {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s: &ComState = &self.state;
        f.debug_struct("Com")
            .field("threads", &s.threads)
            .field("apts", &s.apts)
            .field("mta", &s.mta)
            .field("objects", &s.objects)
            .field("ptrs", &s.ptrs)
            .field("packets", &s.packets)
            .field("streams", &s.streams)
            .field("calls", &s.calls)
            .field("cookies", &s.cookies)
            .field("git", &s.git)
            .field("filters", &s.filters)
            .field("classes", &s.classes)
            .field("ending", &self.ending)
            .field("next", &s.next)
            .finish()
    }
}

/// COM's tables (`Com`, made on first use).
#[derive(Clone, Debug, Default)]
pub struct ComState {
    /// Per-thread state, for threads that touched COM.
    pub threads: BTreeMap<Tid, ComThread>,
    /// Apartments by id.
    pub apts: BTreeMap<u32, Apartment>,
    /// Each process's live MTA.
    pub mta: BTreeMap<Pid, u32>,
    /// Objects by id.
    pub objects: BTreeMap<u32, ComObject>,
    /// Interface pointers by id.
    pub ptrs: BTreeMap<u32, PtrState>,
    /// Marshal packets by id.
    pub packets: BTreeMap<u32, Packet>,
    /// Streams by id.
    pub streams: BTreeMap<u32, Stream>,
    /// Calls in flight by number.
    pub calls: BTreeMap<u32, ComCall>,
    /// MTA usage cookies: cookie → process.
    pub cookies: BTreeMap<u64, Pid>,
    /// The Global Interface Table: cookie → (process, the stream holding its table-strong
    /// marshal data) (MP-9).
    pub git: BTreeMap<u32, (Pid, u32)>,
    /// Message filters by STA, with how many HandleInComingCall and RetryRejectedCall
    /// answers each has given.
    pub filters: BTreeMap<u32, (MessageFilter, usize, usize)>,
    /// Class objects registered with CoRegisterClassObject, by cookie (§21.17).
    pub classes: BTreeMap<u32, ClassReg>,
    next: u32,
}

crate::kernel::lazy::fresh_shared!(ComState);

/// What a COM call returns besides its HRESULT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComOut {
    /// Nothing.
    None,
    /// An interface pointer.
    Ptr(ComPtr),
    /// A stream.
    Stream(IStream),
    /// CoGetApartmentType: type and qualifier.
    AptType(i32, i32),
    /// A cookie.
    Cookie(u64),
    /// A method's out value (IToy::Get), a reference count.
    Value(i64),
    /// CoInitializeEx/OleInitialize made an STA: the API layer creates its hidden window.
    NewSta,
    /// CoUninitialize closed an STA: the API layer destroys its hidden window.
    ClosedSta(HWND),
    /// The call goes to another apartment: wait on `event`, then take call `call`'s result.
    Pending {
        /// The call.
        call: u32,
        /// The event to wait on.
        event: HANDLE,
        /// The target is the MTA: the API layer starts an RPC worker thread.
        mta: bool,
    },
    /// CoCreateInstance of a class a server registered: the API layer calls the class
    /// object's IClassFactory::CreateInstance through this pointer, then releases it.
    Activate(ComPtr),
    /// A direct pointer: run the method here.
    Direct {
        /// The object.
        obj: u32,
        /// The method (arguments as given).
        method: ToyMethod,
    },
}

/// A COM call's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComReply {
    /// The HRESULT.
    pub hr: HRESULT,
    /// The out value.
    pub out: ComOut,
}

impl ComReply {
    /// The out-parameters it fills in, for the trace.
    pub fn outs(&self) -> Vec<crate::trace::Arg> {
        use crate::trace::Arg;
        match self.out {
            ComOut::Ptr(p) => vec![Arg::new("ppv", ArgValue::Sym(p.to_string()))],
            ComOut::Stream(s) => vec![Arg::new("stream", ArgValue::Sym(s.to_string()))],
            ComOut::AptType(t, q) => vec![Arg::new("type", ArgValue::I32(t)), Arg::new("qualifier", ArgValue::I32(q))],
            ComOut::Cookie(c) => vec![Arg::new("cookie", ArgValue::I64(c as i64))],
            ComOut::Value(v) => vec![Arg::new("value", ArgValue::I64(v))],
            ComOut::ClosedSta(h) => vec![Arg::new("hidden_window", ArgValue::Sym(h.to_string()))],
            ComOut::Pending { call, event, .. } => {
                vec![Arg::new("call", ArgValue::U32(call)), Arg::new("reply_event", ArgValue::handle(event))]
            }
            ComOut::Activate(p) => vec![Arg::new("class_object", ArgValue::Sym(p.to_string()))],
            ComOut::None | ComOut::NewSta | ComOut::Direct { .. } => Vec::new(),
        }
    }
}

fn hr(h: HRESULT) -> CallResult {
    Ok(Value::Com(Box::new(ComReply { hr: h, out: ComOut::None })).into())
}
fn hr_out(h: HRESULT, out: ComOut) -> CallResult {
    Ok(Value::Com(Box::new(ComReply { hr: h, out })).into())
}

impl ComState {
    fn id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }
}

fn implements(iid: IID) -> bool {
    matches!(iid, IID_IUnknown | IID_IToy | IID_IToyCallback)
}

/// The interfaces an object answers: a class factory IUnknown and IClassFactory, a toy
/// object IUnknown, IToy and IToyCallback.
fn obj_implements(o: &ComObject, iid: IID) -> bool {
    if o.factory { matches!(iid, IID_IUnknown | IID_IClassFactory) } else { implements(iid) }
}

impl Kernel {
    // ----- apartments ----------------------------------------------------------------------

    fn com_thread(&mut self, tid: Tid) -> &mut ComThread {
        self.com.threads.entry(tid).or_default()
    }

    /// The apartment `tid` is in: its own, or the process's MTA implicitly (CI-7).
    pub(crate) fn com_apartment_of(&self, tid: Tid) -> Option<(u32, bool)> {
        if let Some(a) = self.com.threads.get(&tid).and_then(|t| t.apt) {
            return Some((a, false));
        }
        let pid = self.tids.get(&tid).map(|_| self.thread(tid).pid)?;
        self.com.mta.get(&pid).map(|&m| (m, true))
    }

    /// Whether `tid` is in an STA.
    pub(crate) fn com_is_sta(&self, tid: Tid) -> bool {
        self.com_apartment_of(tid).is_some_and(|(a, _)| matches!(self.com.apts[&a].kind, AptKind::Sta(_)))
    }

    /// The hidden window of `tid`'s STA (an ordinary window of class
    /// OleMainThreadWndClass that `tid` owns), if it has one.
    pub(crate) fn com_hidden_window(&self, tid: Tid) -> Option<HWND> {
        self.user
            .windows
            .iter()
            .find(|(_, w)| w.tid == tid && !w.dying && w.class_name == OLE_MAIN_THREAD_WND_CLASS)
            .map(|(&h, _)| HWND(h))
    }

    fn apt_words(&self, apt: u32) -> String {
        match self.com.apts.get(&apt) {
            Some(Apartment { kind: AptKind::Sta(t), main, .. }) => {
                format!("{}STA#{apt} (T{t})", if *main { "main " } else { "" })
            }
            Some(Apartment { pid, .. }) => format!("MTA#{apt} of P{pid}"),
            None => format!("apartment #{apt}"),
        }
    }

    fn new_sta(&mut self, pid: Pid, tid: Tid) -> u32 {
        let id = self.com.id();
        let main = !self.com.apts.values().any(|a| a.pid == pid && a.main && a.alive);
        self.com.apts.insert(id, Apartment { pid, kind: AptKind::Sta(tid), main, members: 1, usage: 0, alive: true });
        id
    }

    fn mta_for(&mut self, pid: Pid) -> u32 {
        if let Some(&m) = self.com.mta.get(&pid) {
            return m;
        }
        let id = self.com.id();
        self.com.apts.insert(id, Apartment { pid, kind: AptKind::Mta, main: false, members: 0, usage: 0, alive: true });
        self.com.mta.insert(pid, id);
        id
    }

    fn mta_maybe_dies(&mut self, apt: u32) {
        let a = &self.com.apts[&apt];
        if a.members == 0 && a.usage == 0 && a.alive {
            self.kill_apartment(apt);
        }
    }

    /// An apartment ends: its objects are disconnected (their stubs go, SD-2), proxies it
    /// owns stop working (SD-1), calls queued to it or running in it fail with
    /// RPC_E_DISCONNECTED (SD-6, proposal [unverified]). Returns its hidden window.
    fn kill_apartment(&mut self, apt: u32) -> Option<HWND> {
        let a = self.com.apts.get_mut(&apt).expect("simulator bug: apartment exists");
        a.alive = false;
        a.main = false;
        let (pid, kind) = (a.pid, a.kind);
        // Its process is ending: other processes see their server die (§21.17).
        let server_gone = self.com.ending.contains(&pid);
        self.com.filters.remove(&apt);
        // Its class registrations go with it (SD-5, MP-7), and their references.
        let regs: Vec<u32> = self.com.classes.iter().filter(|(_, r)| r.apt == apt).map(|(&c, _)| c).collect();
        for c in regs {
            if let Some(r) = self.com.classes.remove(&c) {
                self.obj_refs_add(r.obj, -1);
            }
        }
        // Objects elsewhere its proxies held (SD-1: the proxies' references go).
        let held: Vec<u32> = {
            let mut v: Vec<u32> = self
                .com
                .ptrs
                .values()
                .filter(|p| p.refs > 0 && matches!(p.kind, PtrKind::Proxy { owner, connected: true } if owner == apt))
                .map(|p| p.obj)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        if kind == AptKind::Mta {
            self.com.mta.remove(&pid);
        }
        let mut gone = 0;
        let mut stubs = Vec::new();
        for (&id, o) in self.com.objects.iter_mut().filter(|(_, o)| o.apt == apt && o.alive) {
            o.alive = false;
            o.server_gone = server_gone;
            o.locks = 0;
            if std::mem::replace(&mut o.stub, false) {
                stubs.push(id);
            }
            gone += 1;
        }
        // Its stub managers release their references on their objects (SD-4) (§21.24).
        for id in stubs {
            self.obj_refs_add(id, -1);
        }
        for obj in held {
            self.stub_maybe_release(obj, true, "the apartment holding its proxies ended");
        }
        let calls: Vec<(u32, Pid)> = self
            .com
            .calls
            .iter()
            .filter(|(_, c)| c.target == apt && c.state != CallState::Done)
            .map(|(&n, c)| (n, c.caller_pid))
            .collect();
        for &(n, caller_pid) in &calls {
            if server_gone && caller_pid != pid {
                self.finish_call(n, RPC_S_CALL_FAILED, 0, "lost its server process");
            } else {
                self.finish_call(n, RPC_E_DISCONNECTED, 0, "its apartment ended");
            }
        }
        let words = self.apt_words(apt);
        self.note_effect(|_| {
            let mut s = format!("{words} ends: {gone} object(s) disconnected");
            if !calls.is_empty() {
                let h = if server_gone {
                    "RPC_S_CALL_FAILED (from other processes) or RPC_E_DISCONNECTED"
                } else {
                    "RPC_E_DISCONNECTED"
                };
                s.push_str(&format!("; {} call(s) into it fail with {h}", calls.len()));
            }
            s
        });
        match kind {
            AptKind::Sta(t) => self.com_hidden_window(t),
            AptKind::Mta => None,
        }
    }

    fn co_initialize_inner(&mut self, pid: Pid, tid: Tid, coinit: u32) -> (HRESULT, ComOut) {
        let want_sta = coinit & COINIT_APARTMENTTHREADED != 0;
        let t = self.com_thread(tid).clone();
        if t.init > 0 {
            let apt = t.apt.expect("simulator bug: initialised thread without apartment");
            let is_sta = matches!(self.com.apts[&apt].kind, AptKind::Sta(_));
            if is_sta != want_sta {
                // CI-3: a failed call does not count.
                return (RPC_E_CHANGED_MODE, ComOut::None);
            }
            self.com_thread(tid).init += 1;
            return (S_FALSE, ComOut::None);
        }
        if want_sta {
            let a = self.new_sta(pid, tid);
            let th = self.com_thread(tid);
            th.apt = Some(a);
            th.init = 1;
            let words = self.apt_words(a);
            self.note_effect(|_| format!("enters a new {words}"));
            (S_OK, ComOut::NewSta)
        } else {
            let m = self.mta_for(pid);
            self.com.apts.get_mut(&m).expect("mta").members += 1;
            let th = self.com_thread(tid);
            th.apt = Some(m);
            th.init = 1;
            let words = self.apt_words(m);
            self.note_effect(|_| format!("joins {words}"));
            (S_OK, ComOut::None)
        }
    }

    /// Leaves the thread's apartment (its last CoUninitialize, or its exit).
    fn leave_apartment(&mut self, tid: Tid) -> Option<HWND> {
        let th = self.com_thread(tid);
        th.init = 0;
        let apt = th.apt.take()?;
        match self.com.apts[&apt].kind {
            AptKind::Sta(_) => self.kill_apartment(apt),
            AptKind::Mta => {
                let a = self.com.apts.get_mut(&apt).expect("mta");
                a.members = a.members.saturating_sub(1);
                self.mta_maybe_dies(apt);
                None
            }
        }
    }

    fn co_uninitialize_inner(&mut self, tid: Tid) -> ComOut {
        let th = self.com_thread(tid);
        if th.init == 0 {
            // CI-9: Wine ignores an unbalanced CoUninitialize; Windows [unverified].
            self.note_effect(|_| "no effect: COM is not initialised on this thread [inferred, CI-9]".into());
            return ComOut::None;
        }
        th.init -= 1;
        if th.init > 0 {
            return ComOut::None;
        }
        match self.leave_apartment(tid) {
            Some(h) => ComOut::ClosedSta(h),
            None => ComOut::None,
        }
    }

    /// CoInitializeEx (CI-2, CI-3).
    pub(crate) fn co_initialize_ex(&mut self, pid: Pid, tid: Tid, reserved: bool, coinit: u32) -> CallResult {
        if reserved || coinit & !0xF != 0 {
            return hr(E_INVALIDARG);
        }
        let (h, out) = self.co_initialize_inner(pid, tid, coinit);
        hr_out(h, out)
    }

    /// CoUninitialize (CI-2).
    pub(crate) fn co_uninitialize(&mut self, _pid: Pid, tid: Tid) -> CallResult {
        let out = self.co_uninitialize_inner(tid);
        hr_out(S_OK, out)
    }

    /// OleInitialize: CoInitializeEx(STA) plus its own count (CI-4).
    pub(crate) fn ole_initialize(&mut self, pid: Pid, tid: Tid, reserved: bool) -> CallResult {
        if reserved {
            return hr(E_INVALIDARG);
        }
        let (h, out) = self.co_initialize_inner(pid, tid, COINIT_APARTMENTTHREADED);
        if h.failed() {
            return hr(h);
        }
        let th = self.com_thread(tid);
        th.ole += 1;
        hr_out(if th.ole == 1 { S_OK } else { S_FALSE }, out)
    }

    /// OleUninitialize: balances one OleInitialize, and its CoInitializeEx (CI-4); extra
    /// calls do nothing.
    pub(crate) fn ole_uninitialize(&mut self, _pid: Pid, tid: Tid) -> CallResult {
        let th = self.com_thread(tid);
        if th.ole == 0 {
            self.note_effect(|_| "no effect: OLE is not initialised on this thread (CI-4)".into());
            return hr(S_OK);
        }
        th.ole -= 1;
        let out = self.co_uninitialize_inner(tid);
        hr_out(S_OK, out)
    }

    /// CoGetApartmentType (CI-1, CI-5, CI-7).
    pub(crate) fn co_get_apartment_type(
        &mut self,
        _pid: Pid,
        tid: Tid,
        has_type: bool,
        has_qualifier: bool,
    ) -> CallResult {
        if !has_type || !has_qualifier {
            return hr(E_INVALIDARG);
        }
        match self.com_apartment_of(tid) {
            None => hr_out(CO_E_NOTINITIALIZED, ComOut::AptType(APTTYPE_CURRENT, APTTYPEQUALIFIER_NONE)),
            Some((a, implicit)) => {
                let apt = &self.com.apts[&a];
                let t = match apt.kind {
                    AptKind::Sta(_) if apt.main => APTTYPE_MAINSTA,
                    AptKind::Sta(_) => APTTYPE_STA,
                    AptKind::Mta => APTTYPE_MTA,
                };
                let q = if implicit { APTTYPEQUALIFIER_IMPLICIT_MTA } else { APTTYPEQUALIFIER_NONE };
                hr_out(S_OK, ComOut::AptType(t, q))
            }
        }
    }

    /// CoIncrementMTAUsage: makes the MTA if needed and holds it (CI-7).
    pub(crate) fn co_increment_mta_usage(&mut self, pid: Pid, _tid: Tid, has_cookie: bool) -> CallResult {
        if !has_cookie {
            return hr(E_INVALIDARG);
        }
        let m = self.mta_for(pid);
        self.com.apts.get_mut(&m).expect("mta").usage += 1;
        let cookie = u64::from(self.com.id());
        self.com.cookies.insert(cookie, pid);
        hr_out(S_OK, ComOut::Cookie(cookie))
    }

    /// CoDecrementMTAUsage: E_INVALIDARG for a cookie not outstanding [inferred].
    pub(crate) fn co_decrement_mta_usage(&mut self, pid: Pid, _tid: Tid, cookie: u64) -> CallResult {
        if self.com.cookies.get(&cookie) != Some(&pid) {
            return hr(E_INVALIDARG);
        }
        self.com.cookies.remove(&cookie);
        if let Some(&m) = self.com.mta.get(&pid) {
            let a = self.com.apts.get_mut(&m).expect("mta");
            a.usage = a.usage.saturating_sub(1);
            self.mta_maybe_dies(m);
        }
        hr(S_OK)
    }

    // ----- objects and pointers -------------------------------------------------------------

    /// A new pointer with one reference: a direct one adds a reference to the object, a
    /// connected proxy makes the object's stub manager if it has none (§21.23, §21.24).
    fn new_ptr(&mut self, pid: Pid, obj: u32, iid: IID, kind: PtrKind) -> ComPtr {
        let id = self.com.id();
        let epoch = self.com.objects.get(&obj).map_or(0, |o| o.disconnects);
        if obj != 0 {
            match kind {
                PtrKind::Direct => {
                    self.obj_refs_add(obj, 1);
                }
                PtrKind::Proxy { connected: true, .. } => self.stub_ensure(obj),
                PtrKind::Proxy { .. } => {}
            }
        }
        let epoch = self.com.objects.get(&obj).map_or(epoch, |o| o.disconnects);
        self.com.ptrs.insert(id, PtrState { pid, obj, iid, kind, refs: 1, epoch });
        ComPtr(id)
    }

    // ----- reference counts and the stub manager (§21.23 .. §21.25) --------------------------

    fn obj_words(&self, obj: u32) -> String {
        if self.com.objects.get(&obj).is_some_and(|o| o.factory) {
            format!("class factory #{obj}")
        } else {
            format!("toy object #{obj}")
        }
    }

    /// The object's reference count moves by `delta` (the toy class's own count); at 0 the
    /// object is destroyed (§21.23). Returns the new count.
    fn obj_refs_add(&mut self, obj: u32, delta: i64) -> u32 {
        let Some(o) = self.com.objects.get_mut(&obj) else { return 0 };
        if o.destroyed {
            return 0;
        }
        let r = (i64::from(o.refs) + delta).clamp(0, i64::from(u32::MAX)) as u32;
        o.refs = r;
        if r == 0 {
            o.destroyed = true;
            let w = self.obj_words(obj);
            self.note_effect(|_| format!("{w} destroyed: its last reference was released (§21.23)"));
        }
        r
    }

    /// The references of the proxy manager `p` belongs to: the counts of the live proxies
    /// of its apartment to its object since the object's last disconnection (§21.24).
    fn proxy_manager_refs(&self, s: &PtrState) -> u32 {
        self.com
            .ptrs
            .values()
            .filter(|q| q.obj == s.obj && q.kind == s.kind && q.epoch == s.epoch)
            .map(|q| q.refs)
            .sum()
    }

    /// The stub manager's strong external references (§21.24): NORMAL marshal data not yet
    /// unmarshalled or released, TABLESTRONG data not released, one per proxy manager (an
    /// apartment that holds a live connected proxy made since the last disconnection), and
    /// CoLockObjectExternal locks (§21.25).
    fn strong_refs(&self, obj: u32) -> u32 {
        let Some(o) = self.com.objects.get(&obj) else { return 0 };
        let data = self
            .com
            .packets
            .values()
            .filter(|p| {
                p.obj == obj
                    && match p.flags {
                        MSHLFLAGS_NORMAL => p.state == PacketState::Fresh,
                        MSHLFLAGS_TABLESTRONG => p.state != PacketState::Released,
                        _ => false,
                    }
            })
            .count() as u32;
        let mut owners: Vec<u32> = self
            .com
            .ptrs
            .values()
            .filter_map(|p| match p.kind {
                PtrKind::Proxy { owner, connected: true }
                    if p.obj == obj
                        && p.refs > 0
                        && p.epoch == o.disconnects
                        && self.com.apts.get(&owner).is_some_and(|a| a.alive) =>
                {
                    Some(owner)
                }
                _ => None,
            })
            .collect();
        owners.sort_unstable();
        owners.dedup();
        data + owners.len() as u32 + o.locks
    }

    /// TABLEWEAK marshal data of the object not released (§21.24).
    fn weak_refs(&self, obj: u32) -> u32 {
        self.com
            .packets
            .values()
            .filter(|p| p.obj == obj && p.flags == MSHLFLAGS_TABLEWEAK && p.state != PacketState::Released)
            .count() as u32
    }

    /// The object's stub manager, made if it has none: it holds one reference on the
    /// object (§21.24).
    fn stub_ensure(&mut self, obj: u32) {
        let Some(o) = self.com.objects.get_mut(&obj) else { return };
        if o.stub || o.destroyed || !o.alive {
            return;
        }
        o.stub = true;
        self.obj_refs_add(obj, 1);
    }

    /// The stub manager goes: its marshal data is released, its proxies are cut off, its
    /// external locks dropped and its reference on the object released (§21.16, §21.24).
    fn stub_release(&mut self, obj: u32, why: &str) {
        let Some(o) = self.com.objects.get_mut(&obj) else { return };
        o.disconnects += 1;
        o.locks = 0;
        let had = std::mem::replace(&mut o.stub, false);
        // NORMAL data already unmarshalled stays consumed (a second unmarshal:
        // CO_E_OBJNOTCONNECTED, MP-2).
        for pk in self.com.packets.values_mut().filter(|pk| pk.obj == obj && pk.state == PacketState::Fresh) {
            pk.state = PacketState::Released;
        }
        if had {
            let left = self.obj_refs_add(obj, -1);
            let w = self.obj_words(obj);
            self.note_effect(|_| {
                if left == 0 {
                    format!("{w}'s stub manager released ({why}); it held the last reference: {w} destroyed (§21.24)")
                } else {
                    format!("{w}'s stub manager released ({why}); {left} reference(s) left on the object (§21.24)")
                }
            });
        }
    }

    /// A strong external reference went: with none left, the stub manager goes, unless
    /// `last_closes` is false and TABLEWEAK data still holds it (§21.24, §21.25).
    fn stub_maybe_release(&mut self, obj: u32, last_closes: bool, why: &str) {
        let Some(o) = self.com.objects.get(&obj) else { return };
        if !o.stub || !o.alive {
            return;
        }
        if self.strong_refs(obj) == 0 && (last_closes || self.weak_refs(obj) == 0) {
            self.stub_release(obj, why);
        }
    }

    /// A pointer's references all go at once (a pointer COM held for a call, handed over,
    /// or dropped with its call), with the accounting of Release.
    fn drop_ptr(&mut self, p: u32) {
        let Some(s) = self.com.ptrs.get_mut(&p) else { return };
        let n = std::mem::replace(&mut s.refs, 0);
        let s = s.clone();
        if n == 0 || s.obj == 0 {
            return;
        }
        match s.kind {
            PtrKind::Direct => {
                self.obj_refs_add(s.obj, -i64::from(n));
            }
            PtrKind::Proxy { .. } => {
                if self.proxy_manager_refs(&s) == 0 {
                    self.stub_maybe_release(s.obj, true, "its last proxy was released");
                }
            }
        }
    }

    /// A pointer to `obj` for apartment `apt`: the object itself there, else a proxy bound
    /// to `apt` (MP-3).
    fn ptr_for(&mut self, pid: Pid, obj: u32, iid: IID, apt: u32, connected: bool) -> ComPtr {
        let kind = if self.com.objects[&obj].apt == apt && connected {
            PtrKind::Direct
        } else {
            PtrKind::Proxy { owner: apt, connected }
        };
        self.new_ptr(pid, obj, iid, kind)
    }

    /// Ends the run as `Failed` for a use of a pointer that is not a live interface
    /// pointer of the caller's process (undefined behaviour on Windows: a crash).
    fn com_misuse(&mut self, pid: Pid, tid: Tid, message: String) -> CallResult {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(crate::report::Outcome::Failed { pid, tid, message, location: None });
        }
        hr(E_POINTER)
    }

    fn ptr_ok(&self, pid: Pid, p: ComPtr) -> Result<PtrState, String> {
        match self.com.ptrs.get(&p.0) {
            None => Err(format!("{p} is not an interface pointer")),
            Some(s) if s.pid != pid => Err(format!("{p} is a pointer of another process (P{})", s.pid)),
            Some(s) if s.refs == 0 => match self.com.objects.get(&s.obj) {
                Some(o) if o.destroyed => Err(format!(
                    "{p} was used after its last Release ({} was destroyed: use after release, §21.23)",
                    self.obj_words(s.obj)
                )),
                _ => Err(format!("{p} was used after its last Release")),
            },
            Some(s) => Ok(s.clone()),
        }
    }

    /// CoCreateInstance of the toy class, in the caller's apartment (MP-8, CI-1).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn co_create_instance(
        &mut self,
        pid: Pid,
        tid: Tid,
        clsid: GUID,
        outer: bool,
        cls_context: u32,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        if !has_out {
            return hr(E_POINTER);
        }
        let Some((apt, _)) = self.com_apartment_of(tid) else { return hr(CO_E_NOTINITIALIZED) };
        if outer {
            return hr(CLASS_E_NOAGGREGATION);
        }
        if clsid == CLSID_StdGlobalInterfaceTable {
            // The process's GIT: object 0, agile (usable from any apartment) (MP-9).
            if iid != IID_IGlobalInterfaceTable && iid != IID_IUnknown {
                return hr(E_NOINTERFACE);
            }
            let p = self.new_ptr(pid, 0, IID_IGlobalInterfaceTable, PtrKind::Direct);
            return hr_out(S_OK, ComOut::Ptr(p));
        }
        if let Some(cookie) = self.find_class(tid, clsid, cls_context) {
            // A class object a server registered: CoCreateInstance is CoGetClassObject,
            // IClassFactory::CreateInstance and Release (Learn, CoCreateInstance) (§21.17).
            return match self.class_object_ptr(pid, tid, cookie, IID_IClassFactory) {
                Ok(p) => hr_out(S_OK, ComOut::Activate(p)),
                Err(h) => hr(h),
            };
        }
        if clsid != CLSID_Toy || cls_context & (CLSCTX_INPROC_SERVER | CLSCTX_INPROC_HANDLER) == 0 {
            return hr(REGDB_E_CLASSNOTREG);
        }
        if !implements(iid) {
            return hr(E_NOINTERFACE);
        }
        let obj = self.com.id();
        self.com.objects.insert(obj, ComObject::new(apt, false));
        let p = self.new_ptr(pid, obj, iid, PtrKind::Direct);
        let words = self.apt_words(apt);
        self.note_effect(|_| format!("toy object #{obj} made in {words}"));
        hr_out(S_OK, ComOut::Ptr(p))
    }

    /// The checks of a call through a proxy, in J.1's order (SD-1, MP-5, MP-2).
    fn proxy_check(&self, tid: Tid, s: &PtrState) -> Result<u32, HRESULT> {
        let PtrKind::Proxy { connected, .. } = s.kind else { return Ok(self.com.objects[&s.obj].apt) };
        let apt = self.proxy_check_caller(tid, s)?;
        let o = &self.com.objects[&s.obj];
        if connected && !o.alive && o.server_gone && self.com.apts[&o.apt].pid != s.pid {
            // The server process ended (§21.17).
            return Err(RPC_S_SERVER_UNAVAILABLE);
        }
        if !connected || !o.alive {
            return Err(RPC_E_DISCONNECTED);
        }
        if s.epoch != self.com.objects[&s.obj].disconnects {
            // CoDisconnectObject cut this proxy off (§21.16).
            return Err(CO_E_OBJNOTCONNECTED);
        }
        Ok(apt)
    }

    /// The caller's side of [`Self::proxy_check`]: the proxy's own apartment alive
    /// (CO_E_OBJNOTCONNECTED), the caller in an apartment (CO_E_NOTINITIALIZED) and in the
    /// proxy's (RPC_E_WRONG_THREAD). What the proxy manager answers locally needs only these.
    fn proxy_check_caller(&self, tid: Tid, s: &PtrState) -> Result<u32, HRESULT> {
        let PtrKind::Proxy { owner, .. } = s.kind else { return Ok(self.com.objects[&s.obj].apt) };
        if !self.com.apts[&owner].alive {
            return Err(CO_E_OBJNOTCONNECTED);
        }
        let Some((apt, _)) = self.com_apartment_of(tid) else { return Err(CO_E_NOTINITIALIZED) };
        if apt != owner {
            return Err(RPC_E_WRONG_THREAD);
        }
        Ok(apt)
    }

    /// IUnknown::QueryInterface: answered locally, without a round trip [inferred]; a
    /// proxy checks its apartment first (MP-5).
    pub(crate) fn iunknown_query_interface(
        &mut self,
        pid: Pid,
        tid: Tid,
        this: ComPtr,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        let s = match self.ptr_ok(pid, this) {
            Ok(s) => s,
            Err(m) => return self.com_misuse(pid, tid, format!("IUnknown::QueryInterface: {m}")),
        };
        if !has_out {
            return hr(E_POINTER);
        }
        if s.obj == 0 {
            return hr(if iid == IID_IUnknown || iid == IID_IGlobalInterfaceTable { S_OK } else { E_NOINTERFACE });
        }
        if let PtrKind::Proxy { .. } = s.kind {
            // The proxy manager answers IUnknown and the interfaces it already has a proxy
            // for, even when the object's side is gone (disconnected, its apartment or
            // process ended: tools/wine-probes/com_inferred.c, Wine 8.0 answers S_OK for
            // IUnknown after the object's apartment ended); any other goes to the object's
            // apartment as a call, after every check (§21.19).
            let known = iid == IID_IUnknown
                || self.com.ptrs.values().any(|p| p.obj == s.obj && p.kind == s.kind && p.iid == iid && p.refs > 0);
            let checked = if known { self.proxy_check_caller(tid, &s) } else { self.proxy_check(tid, &s) };
            if let Err(h) = checked {
                return hr(h);
            }
            if !known {
                return self.com_invoke(pid, tid, this, ToyMethod::QueryInterface(iid));
            }
        } else if !obj_implements(&self.com.objects[&s.obj], iid) {
            return hr(E_NOINTERFACE);
        }
        let p = self.new_ptr(pid, s.obj, iid, s.kind);
        hr_out(S_OK, ComOut::Ptr(p))
    }

    /// IUnknown::AddRef: the new count. Through a direct pointer the object's own count
    /// (the toy class returns it, §21.23); through a proxy its proxy manager's, counted
    /// locally (§21.24).
    pub(crate) fn iunknown_add_ref(&mut self, pid: Pid, tid: Tid, this: ComPtr) -> CallResult {
        if let Err(m) = self.ptr_ok(pid, this) {
            return self.com_misuse(pid, tid, format!("IUnknown::AddRef: {m}"));
        }
        let s = self.com.ptrs.get_mut(&this.0).expect("checked");
        if s.obj == 0 {
            // The GIT is a singleton: AddRef and Release return 1 (MP-9).
            return Ok(Value::Long(1).into());
        }
        s.refs += 1;
        let s = s.clone();
        let n = match s.kind {
            PtrKind::Direct => self.obj_refs_add(s.obj, 1),
            PtrKind::Proxy { .. } => self.proxy_manager_refs(&s),
        };
        Ok(Value::Long(i64::from(n)).into())
    }

    /// IUnknown::Release: the new count; accepted from any apartment (MP-5). Through a
    /// direct pointer the object's count, the object destroyed at 0 (§21.23); through a
    /// proxy its proxy manager's, whose last Release releases the stub manager's strong
    /// reference (§21.24).
    pub(crate) fn iunknown_release(&mut self, pid: Pid, tid: Tid, this: ComPtr) -> CallResult {
        if let Err(m) = self.ptr_ok(pid, this) {
            return self.com_misuse(pid, tid, format!("IUnknown::Release: {m}"));
        }
        let s = self.com.ptrs.get_mut(&this.0).expect("checked");
        if s.obj == 0 {
            return Ok(Value::Long(1).into());
        }
        s.refs -= 1;
        let s = s.clone();
        let n = match s.kind {
            PtrKind::Direct => self.obj_refs_add(s.obj, -1),
            PtrKind::Proxy { connected, .. } => {
                let n = self.proxy_manager_refs(&s);
                if n == 0 && connected {
                    self.stub_maybe_release(s.obj, true, "its last proxy was released");
                }
                n
            }
        };
        Ok(Value::Long(i64::from(n)).into())
    }

    // ----- calls ---------------------------------------------------------------------------

    /// Whether `tid` runs a message another thread sent with SendMessage (InSendMessage,
    /// IS-1, IS-2).
    fn in_input_sync(&self, tid: Tid) -> bool {
        let Some(q) = self.user.queues.get(&tid) else { return false };
        q.processing.last().and_then(|s| self.user.sent.get(s)).is_some_and(|s| {
            s.from != tid && matches!(s.kind, crate::objects::window::SendKind::Send { .. }) && s.replied.is_none()
        })
    }

    fn causality_of(&mut self, tid: Tid) -> u32 {
        if let Some(&c) = self.com.threads.get(&tid).and_then(|t| t.running.last())
            && let Some(call) = self.com.calls.get(&c)
        {
            return call.causality;
        }
        if self.com_thread(tid).causality == 0 {
            let id = self.com.id();
            self.com_thread(tid).causality = id;
        }
        self.com_thread(tid).causality
    }

    /// A method call through an interface pointer: a direct pointer runs the method here
    /// (MP-6: not checked, but a raw pointer used outside its apartment is flagged); a
    /// proxy checks (J.1 step 1-2), then posts the call to the target STA's hidden window
    /// or hands it to an MTA worker (XC-1).
    fn com_invoke(&mut self, pid: Pid, tid: Tid, this: ComPtr, method: ToyMethod) -> CallResult {
        let s = match self.ptr_ok(pid, this) {
            Ok(s) => s,
            Err(m) => return self.com_misuse(pid, tid, format!("{}: {m}", method.name())),
        };
        if s.obj == 0 {
            return self.com_misuse(pid, tid, format!("{}: {this} is the Global Interface Table", method.name()));
        }
        let qi = matches!(method, ToyMethod::QueryInterface(_));
        if !qi && !obj_implements(&self.com.objects[&s.obj], method.iid()) {
            let what = if self.com.objects[&s.obj].factory { "a class factory" } else { "a toy object" };
            return self.com_misuse(pid, tid, format!("{}: {this} points at {what}", method.name()));
        }
        if !qi && s.iid != method.iid() && s.iid != IID_IUnknown && !(s.iid == IID_IToy && method == ToyMethod::Notify)
        {
            // Calling a method of another interface through this pointer: a vtable mix-up.
            return self.com_misuse(pid, tid, format!("{}: {this} is an {} pointer", method.name(), s.iid.name()));
        }
        if let ToyMethod::CallBack(Some(cb)) = method {
            if let Err(m) = self.ptr_ok(pid, cb) {
                return self.com_misuse(pid, tid, format!("IToy::CallBack's argument: {m}"));
            }
            if self.com.ptrs[&cb.0].obj == 0 {
                return self.com_misuse(pid, tid, "IToy::CallBack's argument is the Global Interface Table".into());
            }
        }
        if s.kind == PtrKind::Direct {
            let obj_apt = self.com.objects[&s.obj].apt;
            if self.com_apartment_of(tid).map(|a| a.0) != Some(obj_apt) {
                let words = self.apt_words(obj_apt);
                self.note_effect(|_| {
                    format!(
                        "apartment violation: a direct pointer to an object of {words} used from T{tid}; the \
                         method runs on T{tid} unchecked (MP-6)"
                    )
                });
            }
            return hr_out(S_OK, ComOut::Direct { obj: s.obj, method });
        }
        if let Err(h) = self.proxy_check(tid, &s) {
            return hr(h);
        }
        if self.com_is_sta(tid) && self.in_input_sync(tid) {
            return hr(RPC_E_CANTCALLOUT_ININPUTSYNCCALL);
        }
        let target = self.com.objects[&s.obj].apt;
        let kind = self.com.apts[&target].kind;
        let hwnd = match kind {
            AptKind::Sta(t) => match self.com_hidden_window(t) {
                Some(h) => h,
                // An STA whose window could not be made: nothing can reach it [inferred].
                None => return hr(RPC_E_DISCONNECTED),
            },
            AptKind::Mta => HWND::NULL,
        };
        let ev = match self.create_event(pid, tid, false, true, false, None) {
            Ok(d) => match d.value {
                Value::Handle(h) => h,
                _ => return hr(E_OUTOFMEMORY),
            },
            Err(_) => return hr(E_OUTOFMEMORY),
        };
        let event = self.process(pid).handles.get(ev).expect("just made").object;
        // The call holds its own reference on its reply event: a program that closes the
        // handle (COM's, on Windows) must not free it under the call.
        self.add_ref(event);
        let causality = self.causality_of(tid);
        let n = self.com.id();
        let since_step = self.step;
        self.com.calls.insert(
            n,
            ComCall {
                method,
                obj: s.obj,
                caller: tid,
                caller_pid: pid,
                caller_gone: false,
                target,
                state: CallState::Queued,
                result: None,
                event,
                event_handle: ev,
                causality,
                hwnd,
                arg_ptr: None,
                since_step,
            },
        );
        self.com_thread(tid).outgoing.push(n);
        let words = self.apt_words(target);
        match kind {
            AptKind::Sta(t) => {
                let time = (self.now / TICKS_PER_MS) as u32;
                let msg = MSG { hwnd, message: WM_COM_CALL, wParam: n as usize, lParam: 0, time, pt: POINT::default() };
                let cause = self.cause(|| format!("{} call #{n}", method.name()));
                if self.post_to(t, msg, &cause).is_err() {
                    self.finish_call(n, RPC_E_SERVERCALL_RETRYLATER, 0, "the hidden window's queue is full");
                }
                self.note_effect(|_| {
                    format!("call #{n} posted to {hwnd} ({OLE_MAIN_THREAD_WND_CLASS}) of T{t} for {words}; it runs when T{t} retrieves it")
                });
            }
            AptKind::Mta => {
                self.note_effect(|_| format!("call #{n} goes to an RPC worker thread of {words}"));
            }
        }
        hr_out(S_OK, ComOut::Pending { call: n, event: ev, mta: kind == AptKind::Mta })
    }

    /// No RPC worker thread could be started for call `n` into the MTA (the thread limit
    /// with `LimitAction::FailCall`): it fails with RPC_E_OUT_OF_RESOURCES instead of
    /// staying queued (§21.15) [inferred: the HRESULT].
    pub(crate) fn com_no_worker(&mut self, _pid: Pid, tid: Tid, n: u32) -> CallResult {
        let queued = self.com.calls.get(&n).is_some_and(|c| c.state == CallState::Queued && c.caller == tid);
        if !queued {
            return hr(E_UNEXPECTED);
        }
        self.finish_call(n, RPC_E_OUT_OF_RESOURCES, 0, "found no RPC worker thread");
        self.note_effect(|_| format!("call #{n} failed: no RPC worker thread could be started"));
        hr(S_OK)
    }

    /// An RPC worker thread in the server process of call `n` into another process's MTA
    /// (§21.17); none can be made: the call fails as in §21.15.
    pub(crate) fn com_start_worker(
        &mut self,
        _pid: Pid,
        tid: Tid,
        n: u32,
        start: crate::kernel::request::ThreadStart,
    ) -> CallResult {
        let Some(c) = self.com.calls.get(&n).filter(|c| c.state == CallState::Queued && c.caller == tid) else {
            return hr(E_UNEXPECTED);
        };
        let server = self.com.apts[&c.target].pid;
        let made = self.new_thread(server, crate::kernel::Start::Thread(start), false, false);
        let Some((id, worker)) = made else {
            self.finish_call(n, RPC_E_OUT_OF_RESOURCES, 0, "found no RPC worker thread");
            return hr(RPC_E_OUT_OF_RESOURCES);
        };
        let origin = self.origin(server, tid, "CreateThread", "RPC worker", None);
        if let Ok(h) = self.alloc_handle(server, id, crate::types::THREAD_ALL_ACCESS, 0, vec![origin]) {
            let _ = self.close_handle(server, h);
        }
        self.note_effect(|_| format!("RPC worker T{worker} of server process P{server} takes call #{n}"));
        hr(S_OK)
    }

    /// Call `n` ends: it leaves the table, its reply event handle is closed if it still
    /// names the event (the program may have closed it, and the number been reused), and
    /// the call's own reference on the event goes.
    fn drop_call(&mut self, n: u32) -> Option<ComCall> {
        let c = self.com.calls.remove(&n)?;
        let pid = c.caller_pid;
        let named = self.pids.contains_key(&pid)
            && self.process(pid).handles.get(c.event_handle).is_some_and(|e| e.object == c.event);
        if named {
            let _ = self.close_handle(pid, c.event_handle);
        }
        if self.objects.contains_key(c.event) {
            self.release(c.event);
        }
        Some(c)
    }

    /// Stores a call's result and signals its caller's event.
    fn finish_call(&mut self, n: u32, h: HRESULT, value: i64, why: &str) {
        let Some(c) = self.com.calls.get_mut(&n) else { return };
        if c.state == CallState::Done {
            return;
        }
        c.state = CallState::Done;
        c.result = Some((h, value));
        let (event, gone) = (c.event, c.caller_gone);
        let arg = c.arg_ptr.take();
        if let Some(p) = arg {
            self.drop_ptr(p.0);
        }
        if gone {
            // The caller's process may have ended since (its handles went with it): a call
            // from a client process that exited, finished when the server's apartment ends.
            self.drop_call(n);
            return;
        }
        let tid = self.current.unwrap_or(0);
        let cause = self.cause(|| format!("call #{n} {why}"));
        self.signal_event(event, tid, Api::ComStubReturn, &cause);
    }

    pub(crate) fn itoy_add(&mut self, pid: Pid, tid: Tid, this: ComPtr, n: i32) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::Add(n))
    }
    pub(crate) fn itoy_get(&mut self, pid: Pid, tid: Tid, this: ComPtr) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::Get)
    }
    pub(crate) fn itoy_call_back(&mut self, pid: Pid, tid: Tid, this: ComPtr, cb: Option<ComPtr>) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::CallBack(cb))
    }
    pub(crate) fn itoy_wait_on(&mut self, pid: Pid, tid: Tid, this: ComPtr, event: HANDLE) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::WaitOn(event))
    }
    pub(crate) fn itoy_send_to(&mut self, pid: Pid, tid: Tid, this: ComPtr, hwnd: HWND, msg: u32) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::SendTo(hwnd, msg))
    }
    pub(crate) fn itoy_callback_notify(&mut self, pid: Pid, tid: Tid, this: ComPtr) -> CallResult {
        self.com_invoke(pid, tid, this, ToyMethod::Notify)
    }
    /// IClassFactory::CreateInstance: CLASS_E_NOAGGREGATION with an outer object, E_POINTER
    /// for a NULL `ppv` (§21.17).
    pub(crate) fn iclassfactory_create_instance(
        &mut self,
        pid: Pid,
        tid: Tid,
        this: ComPtr,
        outer: bool,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        if !has_out {
            return hr(E_POINTER);
        }
        if outer {
            return hr(CLASS_E_NOAGGREGATION);
        }
        self.com_invoke(pid, tid, this, ToyMethod::CreateInstance(iid))
    }

    /// The stub side: the callee thread (the STA's own, from its hidden window's
    /// procedure, or an MTA worker) takes call `n` to run its method. The call type
    /// follows XC-3.
    pub(crate) fn com_stub_invoke(&mut self, pid: Pid, tid: Tid, n: u32) -> CallResult {
        let Some(c) = self.com.calls.get(&n).cloned() else { return hr(RPC_E_DISCONNECTED) };
        if c.state != CallState::Queued {
            return hr(RPC_E_DISCONNECTED);
        }
        if !self.com.objects[&c.obj].alive || self.com.objects[&c.obj].destroyed {
            self.finish_call(n, RPC_E_DISCONNECTED, 0, "found its object disconnected");
            return hr(RPC_E_DISCONNECTED);
        }
        if matches!(self.com.apts[&c.target].kind, AptKind::Mta) && self.com_apartment_of(tid).is_none() {
            // The RPC worker runs in the MTA while it serves the call.
            self.com.apts.get_mut(&c.target).expect("mta").members += 1;
            let th = self.com_thread(tid);
            th.apt = Some(c.target);
            th.init = 1;
        }
        let th = self.com_thread(tid).clone();
        let calltype = match th.outgoing.last().and_then(|o| self.com.calls.get(o)) {
            None => CALLTYPE_TOPLEVEL,
            Some(o) if o.causality == c.causality => CALLTYPE_NESTED,
            Some(_) => CALLTYPE_TOPLEVEL_CALLPENDING,
        };
        if let Some((f, used, _)) = self.com.filters.get_mut(&c.target) {
            let answer = match f.when_call_pending {
                Some(a) if calltype == CALLTYPE_TOPLEVEL_CALLPENDING => a,
                _ => {
                    let a = f.handle_in_coming_call.get(*used).or(f.handle_in_coming_call.last()).copied();
                    *used += 1;
                    a.unwrap_or(SERVERCALL_ISHANDLED)
                }
            };
            if answer != SERVERCALL_ISHANDLED {
                let h = if answer == SERVERCALL_RETRYLATER { RPC_E_SERVERCALL_RETRYLATER } else { RPC_E_CALL_REJECTED };
                self.finish_call(n, h, 0, "was refused by the callee's message filter");
                self.note_effect(|_| {
                    format!(
                        "the message filter's HandleInComingCall answers {} to call #{n} (MF-2)",
                        h.name().unwrap_or("")
                    )
                });
                return hr(h);
            }
        }
        let mut method = c.method;
        let mut arg_ptr = None;
        if let ToyMethod::CallBack(Some(cb)) = method {
            // The interface argument is marshalled into the callee's apartment.
            let cbs = self.com.ptrs[&cb.0].clone();
            let p = self.ptr_for(pid, cbs.obj, IID_IToyCallback, c.target, true);
            method = ToyMethod::CallBack(Some(p));
            arg_ptr = Some(p);
        }
        let call = self.com.calls.get_mut(&n).expect("exists");
        call.state = CallState::Running(tid);
        call.arg_ptr = arg_ptr;
        self.com_thread(tid).running.push(n);
        let name = match calltype {
            CALLTYPE_TOPLEVEL => "CALLTYPE_TOPLEVEL",
            CALLTYPE_NESTED => "CALLTYPE_NESTED",
            _ => "CALLTYPE_TOPLEVEL_CALLPENDING",
        };
        self.note_effect(|_| format!("runs {} call #{n} from T{} ({name})", c.method.name(), c.caller));
        hr_out(S_OK, ComOut::Direct { obj: c.obj, method })
    }

    /// The stub side: the method of call `n` returned; the reply goes back to the caller
    /// (its event is signalled), with the callee's HRESULT unchanged (XC-5).
    pub(crate) fn com_stub_return(&mut self, _pid: Pid, tid: Tid, n: u32, h: HRESULT, value: i64) -> CallResult {
        let th = self.com_thread(tid);
        th.running.retain(|&c| c != n);
        self.finish_call(n, h, value, "replied");
        Ok(Value::Void.into())
    }

    /// The caller takes its call's result: the end of the call's span.
    pub(crate) fn com_call_return(&mut self, pid: Pid, tid: Tid, n: u32) -> CallResult {
        self.com_thread(tid).outgoing.retain(|&c| c != n);
        let Some(c) = self.drop_call(n) else { return hr(RPC_E_DISCONNECTED) };
        let (mut h, mut v) = c.result.unwrap_or((RPC_E_DISCONNECTED, 0));
        if h.succeeded() {
            // An interface pointer coming back is unmarshalled in the caller's apartment:
            // a proxy (§21.17, §21.19).
            let mut handed = None;
            let obj = match c.method {
                ToyMethod::CreateInstance(_) => self.com.ptrs.get(&(v as u32)).map(|p| {
                    handed = Some(v as u32);
                    (p.obj, p.iid)
                }),
                ToyMethod::QueryInterface(iid) => Some((c.obj, iid)),
                _ => None,
            };
            if let Some((obj, iid)) = obj {
                match self.com_apartment_of(tid) {
                    Some((apt, _)) => {
                        let p = self.ptr_for(pid, obj, iid, apt, true);
                        v = i64::from(p.0);
                    }
                    None => (h, v) = (CO_E_NOTINITIALIZED, 0),
                }
            }
            if let Some(p) = handed {
                // The callee's own pointer is handed over to the stub (which now holds the
                // object, §21.24); with no proxy made the object goes.
                self.drop_ptr(p);
            }
        }
        let steps = self.step - c.since_step;
        self.note_effect(|_| format!("{} call #{n} returns {h} ({steps} steps after it was made)", c.method.name()));
        hr_out(h, ComOut::Value(v))
    }

    /// A toy method begins on its object (J.2): returns the counter (or the notification
    /// count); a method entered while another runs on the object is noted.
    pub(crate) fn toy_enter(&mut self, _pid: Pid, _tid: Tid, obj: u32, method: ToyMethod) -> CallResult {
        let Some(o) = self.com.objects.get_mut(&obj) else { return hr(E_UNEXPECTED) };
        o.busy += 1;
        let v = o.counter;
        if o.busy > 1 {
            o.reentered += 1;
            let busy = o.busy - 1;
            self.note_effect(|_| {
                format!("{} entered while {busy} other call(s) run on object #{obj} (re-entered)", method.name())
            });
        }
        hr_out(S_OK, ComOut::Value(v))
    }

    /// A toy method ends: IToy::Add stores the counter it computed from what it read on
    /// entry (so two unserialised Adds can lose one).
    pub(crate) fn toy_leave(&mut self, _pid: Pid, _tid: Tid, obj: u32, method: ToyMethod, value: i64) -> CallResult {
        let Some(o) = self.com.objects.get_mut(&obj) else { return hr(E_UNEXPECTED) };
        o.busy = o.busy.saturating_sub(1);
        match method {
            ToyMethod::Add(_) | ToyMethod::Notify => o.counter = value,
            _ => {}
        }
        hr(S_OK)
    }

    // ----- marshalling -----------------------------------------------------------------------

    /// CreateStreamOnHGlobal(NULL, TRUE, &stream).
    pub(crate) fn create_stream_on_hglobal(&mut self, pid: Pid, _tid: Tid, has_out: bool) -> CallResult {
        if !has_out {
            return hr(E_INVALIDARG);
        }
        let id = self.com.id();
        self.com.streams.insert(id, Stream { pid, packets: Vec::new(), pos: 0, released: false });
        hr_out(S_OK, ComOut::Stream(IStream(id)))
    }

    fn stream_ok(&self, pid: Pid, s: IStream) -> Result<(), String> {
        match self.com.streams.get(&s.0) {
            None => Err(format!("{s} is not a stream")),
            Some(st) if st.pid != pid => Err(format!("{s} is a stream of another process")),
            Some(st) if st.released => Err(format!("{s} was used after its Release")),
            Some(_) => Ok(()),
        }
    }

    /// IStream::Seek(0, STREAM_SEEK_SET): rewinds.
    pub(crate) fn istream_seek(&mut self, pid: Pid, tid: Tid, this: IStream) -> CallResult {
        if let Err(m) = self.stream_ok(pid, this) {
            return self.com_misuse(pid, tid, format!("IStream::Seek: {m}"));
        }
        self.com.streams.get_mut(&this.0).expect("checked").pos = 0;
        hr(S_OK)
    }

    /// IStream::Release: the stream goes (marshal data in it that was never unmarshalled
    /// stays until CoReleaseMarshalData or the object's apartment ends).
    pub(crate) fn istream_release(&mut self, pid: Pid, tid: Tid, this: IStream) -> CallResult {
        if let Err(m) = self.stream_ok(pid, this) {
            return self.com_misuse(pid, tid, format!("IStream::Release: {m}"));
        }
        self.com.streams.get_mut(&this.0).expect("checked").released = true;
        Ok(Value::Long(0).into())
    }

    fn marshal_into(&mut self, tid: Tid, stream: u32, iid: IID, unk: ComPtr, flags: u32) -> HRESULT {
        if self.com_apartment_of(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        if flags & !7 != 0 || flags & 3 == 3 {
            return E_INVALIDARG;
        }
        let s = self.com.ptrs[&unk.0].clone();
        if s.obj == 0 {
            return E_NOINTERFACE;
        }
        if let PtrKind::Proxy { .. } = s.kind {
            // Marshalling a proxy marshals the original object (MP-4), from the proxy's
            // own apartment.
            if let Err(h) = self.proxy_check(tid, &s) {
                return h;
            }
        }
        if !obj_implements(&self.com.objects[&s.obj], iid) {
            return E_NOINTERFACE;
        }
        if !self.com.objects[&s.obj].alive {
            return CO_E_OBJNOTCONNECTED;
        }
        self.stub_ensure(s.obj);
        let id = self.com.id();
        self.com.packets.insert(id, Packet { obj: s.obj, iid, flags: flags & 3, state: PacketState::Fresh });
        let st = self.com.streams.get_mut(&stream).expect("checked");
        st.packets.truncate(st.pos);
        st.packets.push(id);
        st.pos += 1;
        S_OK
    }

    /// CoMarshalInterface (MP-2, MP-4): NULL stream or pointer → E_INVALIDARG.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn co_marshal_interface(
        &mut self,
        pid: Pid,
        tid: Tid,
        stream: Option<IStream>,
        iid: GUID,
        unk: Option<ComPtr>,
        _dest_context: u32,
        flags: u32,
    ) -> CallResult {
        let (Some(st), Some(p)) = (stream, unk) else { return hr(E_INVALIDARG) };
        if let Err(m) = self.stream_ok(pid, st).and_then(|_| self.ptr_ok(pid, p).map(|_| ())) {
            return self.com_misuse(pid, tid, format!("CoMarshalInterface: {m}"));
        }
        let h = self.marshal_into(tid, st.0, iid, p, flags);
        hr(h)
    }

    fn unmarshal_from(&mut self, pid: Pid, tid: Tid, stream: u32, iid: IID) -> (HRESULT, ComOut) {
        let Some((apt, _)) = self.com_apartment_of(tid) else { return (CO_E_NOTINITIALIZED, ComOut::None) };
        let st = self.com.streams.get_mut(&stream).expect("checked");
        let Some(&pk) = st.packets.get(st.pos) else { return (STG_E_READFAULT, ComOut::None) };
        st.pos += 1;
        let p = self.com.packets[&pk].clone();
        let alive = self.com.objects[&p.obj].alive;
        let mut connected = true;
        match (p.flags, p.state) {
            (MSHLFLAGS_NORMAL, PacketState::Consumed) => return (CO_E_OBJNOTCONNECTED, ComOut::None),
            // MP-2: a proxy from released NORMAL data answers RPC_E_DISCONNECTED.
            (MSHLFLAGS_NORMAL, PacketState::Released) => connected = false,
            (_, PacketState::Released) => return (CO_E_OBJNOTREG, ComOut::None),
            (MSHLFLAGS_TABLEWEAK, _) if !alive => return (CO_E_OBJNOTREG, ComOut::None),
            _ if !alive => return (CO_E_OBJNOTCONNECTED, ComOut::None),
            _ => {}
        }
        if p.flags == MSHLFLAGS_NORMAL {
            self.com.packets.get_mut(&pk).expect("exists").state = PacketState::Consumed;
        }
        if !obj_implements(&self.com.objects[&p.obj], iid) {
            // The data is consumed all the same (MP-2).
            if p.flags == MSHLFLAGS_NORMAL {
                self.stub_maybe_release(p.obj, true, "its NORMAL marshal data was consumed");
            }
            return (E_NOINTERFACE, ComOut::None);
        }
        let ptr = self.ptr_for(pid, p.obj, iid, apt, connected);
        if p.flags == MSHLFLAGS_NORMAL {
            // The data's strong reference passed to the proxy, or went (the object itself
            // unmarshalled in its own apartment) (§21.24).
            self.stub_maybe_release(p.obj, true, "its NORMAL marshal data was unmarshalled in its own apartment");
        }
        let direct = self.com.ptrs[&ptr.0].kind == PtrKind::Direct;
        let (here, home) = (self.apt_words(apt), self.apt_words(self.com.objects[&p.obj].apt));
        self.note_effect(|_| {
            if direct {
                format!("{ptr} is object #{} itself (it lives in {here})", p.obj)
            } else {
                format!("{ptr} is a proxy bound to {here} for object #{} in {home}", p.obj)
            }
        });
        (S_OK, ComOut::Ptr(ptr))
    }

    /// CoUnmarshalInterface (MP-2, MP-3, MP-4, CI-1).
    pub(crate) fn co_unmarshal_interface(
        &mut self,
        pid: Pid,
        tid: Tid,
        stream: Option<IStream>,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        let Some(st) = stream else { return hr(E_INVALIDARG) };
        if !has_out {
            return hr(E_INVALIDARG);
        }
        if let Err(m) = self.stream_ok(pid, st) {
            return self.com_misuse(pid, tid, format!("CoUnmarshalInterface: {m}"));
        }
        let (h, out) = self.unmarshal_from(pid, tid, st.0, iid);
        hr_out(h, out)
    }

    /// CoReleaseMarshalData (MP-2, MP-4).
    pub(crate) fn co_release_marshal_data(&mut self, pid: Pid, tid: Tid, stream: Option<IStream>) -> CallResult {
        let Some(st) = stream else { return hr(E_INVALIDARG) };
        if let Err(m) = self.stream_ok(pid, st) {
            return self.com_misuse(pid, tid, format!("CoReleaseMarshalData: {m}"));
        }
        if self.com_apartment_of(tid).is_none() {
            return hr(CO_E_NOTINITIALIZED);
        }
        let s = self.com.streams.get_mut(&st.0).expect("checked");
        let Some(&pk) = s.packets.get(s.pos) else { return hr(STG_E_READFAULT) };
        s.pos += 1;
        let p = self.com.packets.get_mut(&pk).expect("exists");
        let was = std::mem::replace(&mut p.state, PacketState::Released);
        let (obj, weak) = (p.obj, p.flags == MSHLFLAGS_TABLEWEAK);
        if was != PacketState::Released {
            // Releasing strong data closes the stub manager when it was the last strong
            // reference, table-weak data notwithstanding; releasing weak data only when
            // nothing else holds it (§21.24).
            self.stub_maybe_release(obj, !weak, "CoReleaseMarshalData released its last marshal data");
        } else if !self.com.objects.get(&obj).is_some_and(|o| o.stub) {
            // Released before, and its object has no stub manager any more: nothing in the
            // apartment knows the data (Wine 8.0: RPC_E_INVALID_OBJREF; §21.7).
            return hr(RPC_E_INVALID_OBJREF);
        }
        hr(S_OK)
    }

    /// CoDisconnectObject (§21.16): cuts off every proxy to the object (their later calls
    /// answer CO_E_OBJNOTCONNECTED; calls already queued or running complete) and drops
    /// the references its marshal data holds (as CoReleaseMarshalData would). The object
    /// itself, and direct pointers to it, stay usable; it may be marshalled again.
    pub(crate) fn co_disconnect_object(
        &mut self,
        pid: Pid,
        tid: Tid,
        unk: Option<ComPtr>,
        _reserved: u32,
    ) -> CallResult {
        let Some(p) = unk else { return hr(E_INVALIDARG) };
        let s = match self.ptr_ok(pid, p) {
            Ok(s) => s,
            Err(m) => return self.com_misuse(pid, tid, format!("CoDisconnectObject: {m}")),
        };
        if s.obj == 0 || matches!(s.kind, PtrKind::Proxy { .. }) {
            // The GIT, or a proxy: this process manages no stub for it (Wine 8.0 answers
            // S_OK to both with COM initialised: tools/wine-probes/com_inferred.c).
            return hr(S_OK);
        }
        if self.com_apartment_of(tid).is_none() {
            // As CoLockObjectExternal (Wine 8.0: CO_E_NOTINITIALIZED after the thread's
            // last CoUninitialize; tools/wine-probes/com_inferred.c).
            return hr(CO_E_NOTINITIALIZED);
        }
        let obj = s.obj;
        // The stub manager goes with its marshal data, proxies and external locks (§21.16,
        // §21.25: test_lock_object_external, locks drop to 0).
        self.stub_release(obj, "CoDisconnectObject");
        let w = self.obj_words(obj);
        self.note_effect(|_| format!("{w} disconnected: its proxies are cut off"));
        hr(S_OK)
    }

    /// CoLockObjectExternal (§21.25): `lock` adds an external lock (a strong reference of
    /// the object's stub manager, made if need be); an unlock removes one, and when it was
    /// the last strong reference the stub manager goes (its proxies cut off, its reference
    /// on the object released) unless `last_unlock_releases` is FALSE and TABLEWEAK marshal
    /// data still holds it (marshal.c test_lock_object_external, run on Windows). NULL:
    /// E_INVALIDARG; no apartment: CO_E_NOTINITIALIZED [Wine impl]; an unlock without a
    /// lock: S_OK, nothing done [Wine impl: "native ... silently fails"]; a proxy, the GIT
    /// or an object whose apartment ended: S_OK, nothing done [inferred].
    pub(crate) fn co_lock_object_external(
        &mut self,
        pid: Pid,
        tid: Tid,
        unk: Option<ComPtr>,
        lock: bool,
        last_unlock_releases: bool,
    ) -> CallResult {
        let Some(p) = unk else { return hr(E_INVALIDARG) };
        let s = match self.ptr_ok(pid, p) {
            Ok(s) => s,
            Err(m) => return self.com_misuse(pid, tid, format!("CoLockObjectExternal: {m}")),
        };
        if self.com_apartment_of(tid).is_none() {
            return hr(CO_E_NOTINITIALIZED);
        }
        if s.obj == 0 || matches!(s.kind, PtrKind::Proxy { .. }) || !self.com.objects[&s.obj].alive {
            return hr(S_OK);
        }
        let obj = s.obj;
        let w = self.obj_words(obj);
        if lock {
            self.stub_ensure(obj);
            let o = self.com.objects.get_mut(&obj).expect("a live pointer's object");
            o.locks += 1;
            let n = o.locks;
            self.note_effect(|_| format!("{w} externally locked ({n} lock(s))"));
        } else {
            let o = self.com.objects.get_mut(&obj).expect("a live pointer's object");
            if o.locks == 0 {
                self.note_effect(|_| format!("no effect: {w} has no external lock [Wine impl]"));
                return hr(S_OK);
            }
            o.locks -= 1;
            let n = o.locks;
            self.note_effect(|_| format!("{w} externally unlocked ({n} lock(s) left)"));
            self.stub_maybe_release(obj, last_unlock_releases, "its last strong reference was unlocked");
        }
        hr(S_OK)
    }

    /// CoMarshalInterThreadInterfaceInStream: a new stream holding NORMAL marshal data,
    /// rewound (MP-1).
    pub(crate) fn co_marshal_inter_thread_interface_in_stream(
        &mut self,
        pid: Pid,
        tid: Tid,
        iid: GUID,
        unk: Option<ComPtr>,
        has_out: bool,
    ) -> CallResult {
        let Some(p) = unk else { return hr(E_INVALIDARG) };
        if !has_out {
            return hr(E_INVALIDARG);
        }
        if let Err(m) = self.ptr_ok(pid, p) {
            return self.com_misuse(pid, tid, format!("CoMarshalInterThreadInterfaceInStream: {m}"));
        }
        let id = self.com.id();
        self.com.streams.insert(id, Stream { pid, packets: Vec::new(), pos: 0, released: false });
        let h = self.marshal_into(tid, id, iid, p, MSHLFLAGS_NORMAL);
        if h.failed() {
            self.com.streams.remove(&id);
            return hr(h);
        }
        self.com.streams.get_mut(&id).expect("made").pos = 0;
        hr_out(S_OK, ComOut::Stream(IStream(id)))
    }

    /// CoGetInterfaceAndReleaseStream: unmarshals, and releases the stream even when that
    /// fails (MP-1).
    pub(crate) fn co_get_interface_and_release_stream(
        &mut self,
        pid: Pid,
        tid: Tid,
        stream: Option<IStream>,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        let Some(st) = stream else { return hr(E_INVALIDARG) };
        if !has_out {
            return hr(E_INVALIDARG);
        }
        if let Err(m) = self.stream_ok(pid, st) {
            return self.com_misuse(pid, tid, format!("CoGetInterfaceAndReleaseStream: {m}"));
        }
        let (h, out) = self.unmarshal_from(pid, tid, st.0, iid);
        self.com.streams.get_mut(&st.0).expect("checked").released = true;
        hr_out(h, out)
    }

    // ----- message filters (MF-1 .. MF-4) -------------------------------------------------------

    /// The message filter of `tid`'s STA, if any (what CoRegisterMessageFilter's
    /// lplpMessageFilter receives).
    pub(crate) fn com_filter_of(&self, tid: Tid) -> Option<MessageFilter> {
        let (a, _) = self.com_apartment_of(tid)?;
        self.com.filters.get(&a).map(|f| f.0.clone())
    }

    /// CoRegisterMessageFilter: one filter per STA, replacing the previous one; outside an
    /// STA (no COM, the MTA, the implicit MTA) CO_E_NOT_SUPPORTED (MF-1).
    pub(crate) fn co_register_message_filter(
        &mut self,
        _pid: Pid,
        tid: Tid,
        filter: Option<MessageFilter>,
        _has_prev: bool,
    ) -> CallResult {
        if !self.com_is_sta(tid) {
            return hr(CO_E_NOT_SUPPORTED);
        }
        let (a, _) = self.com_apartment_of(tid).expect("an STA");
        match filter {
            Some(f) => self.com.filters.insert(a, (f, 0, 0)),
            None => self.com.filters.remove(&a),
        };
        hr(S_OK)
    }

    /// The caller's IMessageFilter::RetryRejectedCall for a call refused with `rejected`
    /// (MF-2, MF-3): its answer, or None when the caller's apartment has no filter.
    pub(crate) fn com_retry_rejected_call(&mut self, _pid: Pid, tid: Tid, rejected: HRESULT) -> CallResult {
        let Some((a, _)) = self.com_apartment_of(tid) else { return hr_out(S_OK, ComOut::None) };
        let Some((f, _, used)) = self.com.filters.get_mut(&a) else { return hr_out(S_OK, ComOut::None) };
        let answer = f.retry_rejected_call.get(*used).or(f.retry_rejected_call.last()).copied().unwrap_or(-1);
        *used += 1;
        self.note_effect(|_| format!("RetryRejectedCall({rejected}) answers {answer} (MF-3)"));
        hr_out(S_OK, ComOut::Value(i64::from(answer)))
    }

    // ----- the Global Interface Table (MP-9) ---------------------------------------------------

    fn git_ok(&mut self, pid: Pid, tid: Tid, this: ComPtr, api: &str) -> Result<(), CallResult> {
        match self.ptr_ok(pid, this) {
            Ok(s) if s.obj == 0 => Ok(()),
            Ok(_) => Err(self.com_misuse(pid, tid, format!("{api}: {this} is not the Global Interface Table"))),
            Err(m) => Err(self.com_misuse(pid, tid, format!("{api}: {m}"))),
        }
    }

    /// IGlobalInterfaceTable::RegisterInterfaceInGlobal: table-strong marshal data kept
    /// under a cookie; it keeps the object until revoked (MP-9).
    pub(crate) fn git_register_interface_in_global(
        &mut self,
        pid: Pid,
        tid: Tid,
        this: ComPtr,
        unk: Option<ComPtr>,
        iid: GUID,
        has_cookie: bool,
    ) -> CallResult {
        if let Err(r) = self.git_ok(pid, tid, this, "IGlobalInterfaceTable::RegisterInterfaceInGlobal") {
            return r;
        }
        let (Some(p), true) = (unk, has_cookie) else { return hr(E_INVALIDARG) };
        if let Err(m) = self.ptr_ok(pid, p) {
            return self.com_misuse(pid, tid, format!("IGlobalInterfaceTable::RegisterInterfaceInGlobal: {m}"));
        }
        let id = self.com.id();
        self.com.streams.insert(id, Stream { pid, packets: Vec::new(), pos: 0, released: false });
        let h = self.marshal_into(tid, id, iid, p, MSHLFLAGS_TABLESTRONG);
        if h.failed() {
            self.com.streams.remove(&id);
            return hr(h);
        }
        self.com.git.insert(id, (pid, id));
        hr_out(S_OK, ComOut::Cookie(u64::from(id)))
    }

    /// IGlobalInterfaceTable::GetInterfaceFromGlobal: unmarshals the cookie's data in the
    /// caller's apartment (a proxy elsewhere, the object itself in its own);
    /// CO_E_NOTINITIALIZED without an apartment (MP-9); E_INVALIDARG for an unknown cookie
    /// [inferred].
    pub(crate) fn git_get_interface_from_global(
        &mut self,
        pid: Pid,
        tid: Tid,
        this: ComPtr,
        cookie: u32,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        if let Err(r) = self.git_ok(pid, tid, this, "IGlobalInterfaceTable::GetInterfaceFromGlobal") {
            return r;
        }
        if !has_out {
            return hr(E_INVALIDARG);
        }
        let Some(&(owner, stream)) = self.com.git.get(&cookie) else { return hr(E_INVALIDARG) };
        if owner != pid {
            return hr(E_INVALIDARG);
        }
        self.com.streams.get_mut(&stream).expect("git stream").pos = 0;
        let (h, out) = self.unmarshal_from(pid, tid, stream, iid);
        hr_out(h, out)
    }

    /// IGlobalInterfaceTable::RevokeInterfaceFromGlobal: from any apartment (MP-9).
    pub(crate) fn git_revoke_interface_from_global(
        &mut self,
        pid: Pid,
        tid: Tid,
        this: ComPtr,
        cookie: u32,
    ) -> CallResult {
        if let Err(r) = self.git_ok(pid, tid, this, "IGlobalInterfaceTable::RevokeInterfaceFromGlobal") {
            return r;
        }
        match self.com.git.get(&cookie) {
            Some(&(owner, stream)) if owner == pid => {
                self.com.git.remove(&cookie);
                let st = self.com.streams.get_mut(&stream).expect("git stream");
                st.released = true;
                if let Some(&pk) = st.packets.first() {
                    let p = self.com.packets.get_mut(&pk).expect("packet");
                    if std::mem::replace(&mut p.state, PacketState::Released) != PacketState::Released {
                        let obj = p.obj;
                        self.stub_maybe_release(obj, true, "its Global Interface Table entry was revoked");
                    }
                }
                hr(S_OK)
            }
            _ => hr(E_INVALIDARG),
        }
    }

    // ----- class objects and local servers (§21.17) -----------------------------------------

    /// CoRegisterClassObject: publishes the object behind `unk` as the class object of
    /// `clsid` for the caller's apartment. NULL `unk` or cookie: E_INVALIDARG; no apartment:
    /// CO_E_NOTINITIALIZED; unknown REGCLS bits: E_INVALIDARG [inferred]. A repeated
    /// registration is independent and gets its own cookie (Learn: "Multiple registrations
    /// of the same class object are independent and do not produce an error").
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn co_register_class_object(
        &mut self,
        pid: Pid,
        tid: Tid,
        clsid: GUID,
        unk: Option<ComPtr>,
        cls_context: u32,
        flags: u32,
        has_cookie: bool,
    ) -> CallResult {
        let (Some(p), true) = (unk, has_cookie) else { return hr(E_INVALIDARG) };
        let s = match self.ptr_ok(pid, p) {
            Ok(s) => s,
            Err(m) => return self.com_misuse(pid, tid, format!("CoRegisterClassObject: {m}")),
        };
        let Some((apt, _)) = self.com_apartment_of(tid) else { return hr(CO_E_NOTINITIALIZED) };
        if flags & !0x1F != 0 || s.obj == 0 {
            return hr(E_INVALIDARG);
        }
        let mut ctx = cls_context;
        if flags & REGCLS_MULTIPLEUSE != 0 && ctx & CLSCTX_LOCAL_SERVER != 0 {
            // Learn, REGCLS_MULTIPLEUSE: also registered as CLSCTX_INPROC_SERVER.
            ctx |= CLSCTX_INPROC_SERVER;
        }
        let cookie = self.com.id();
        let suspended = flags & REGCLS_SUSPENDED != 0;
        self.com.classes.insert(cookie, ClassReg { pid, apt, clsid, obj: s.obj, ctx, flags, suspended, used: false });
        // COM keeps a reference on a registered class object until it is revoked (§21.23).
        self.obj_refs_add(s.obj, 1);
        let (words, name) = (self.apt_words(apt), clsid.name());
        self.note_effect(|_| {
            format!(
                "{name} registered from {words} (cookie {cookie}){}",
                if suspended { ", suspended until CoResumeClassObjects" } else { "" }
            )
        });
        hr_out(S_OK, ComOut::Cookie(u64::from(cookie)))
    }

    /// CoRevokeClassObject: only from the registering apartment (RPC_E_WRONG_THREAD
    /// otherwise, compobj.c test_registered_object_thread_affinity); an unknown cookie:
    /// E_INVALIDARG [inferred]; so is another process's cookie, as each process keeps its own
    /// class table (§21.21). Proxies already handed out keep working.
    pub(crate) fn co_revoke_class_object(&mut self, pid: Pid, tid: Tid, cookie: u32) -> CallResult {
        let Some((apt, _)) = self.com_apartment_of(tid) else { return hr(CO_E_NOTINITIALIZED) };
        match self.com.classes.get(&cookie) {
            None => hr(E_INVALIDARG),
            Some(r) if r.pid != pid => hr(E_INVALIDARG),
            Some(r) if r.apt != apt => hr(RPC_E_WRONG_THREAD),
            Some(_) => {
                if let Some(r) = self.com.classes.remove(&cookie) {
                    self.obj_refs_add(r.obj, -1);
                }
                hr(S_OK)
            }
        }
    }

    /// CoResumeClassObjects: the process's REGCLS_SUSPENDED registrations become visible.
    pub(crate) fn co_resume_class_objects(&mut self, pid: Pid, _tid: Tid) -> CallResult {
        let mut n = 0;
        for r in self.com.classes.values_mut().filter(|r| r.pid == pid && r.suspended) {
            r.suspended = false;
            n += 1;
        }
        self.note_effect(|_| format!("{n} suspended class object(s) now visible to clients"));
        hr(S_OK)
    }

    /// The registration a client in `tid` reaches for `clsid` in `ctx`: an in-process one
    /// of its own apartment first (MP-7), then a local server one of any process, not
    /// suspended and not a REGCLS_SINGLEUSE one a client already connected to (which it
    /// then marks).
    fn find_class(&mut self, tid: Tid, clsid: CLSID, ctx: u32) -> Option<u32> {
        let (apt, _) = self.com_apartment_of(tid)?;
        if ctx & CLSCTX_INPROC_SERVER != 0 {
            let found = self
                .com
                .classes
                .iter()
                .find(|(_, r)| r.clsid == clsid && r.apt == apt && r.ctx & CLSCTX_INPROC_SERVER != 0);
            if let Some((&c, _)) = found {
                return Some(c);
            }
        }
        if ctx & CLSCTX_LOCAL_SERVER != 0 {
            let found = self.com.classes.iter_mut().find(|(_, r)| {
                r.clsid == clsid
                    && r.ctx & CLSCTX_LOCAL_SERVER != 0
                    && !r.suspended
                    && !(r.flags & 3 == REGCLS_SINGLEUSE && r.used)
            });
            if let Some((&c, r)) = found {
                if r.flags & 3 == REGCLS_SINGLEUSE {
                    r.used = true;
                }
                return Some(c);
            }
        }
        None
    }

    /// A pointer for the caller to the class object of registration `cookie` (the object
    /// itself in its own apartment, a proxy elsewhere, MP-3, MP-7).
    fn class_object_ptr(&mut self, pid: Pid, tid: Tid, cookie: u32, iid: IID) -> Result<ComPtr, HRESULT> {
        let r = self.com.classes[&cookie].clone();
        if !obj_implements(&self.com.objects[&r.obj], iid) {
            return Err(E_NOINTERFACE);
        }
        let (apt, _) = self.com_apartment_of(tid).ok_or(CO_E_NOTINITIALIZED)?;
        let p = self.ptr_for(pid, r.obj, iid, apt, true);
        let (here, home, name) = (self.apt_words(apt), self.apt_words(r.apt), r.clsid.name());
        let other = if r.pid != pid { format!(" of server process P{}", r.pid) } else { String::new() };
        self.note_effect(|_| {
            format!("{p} reaches the class object of {name} (cookie {cookie}) in {home}{other} from {here}")
        });
        Ok(p)
    }

    /// CoGetClassObject: a registered class object (CLSCTX_INPROC_SERVER: of the caller's
    /// apartment; CLSCTX_LOCAL_SERVER: of any process, as a proxy), else for CLSID_Toy
    /// with CLSCTX_INPROC_SERVER a new class factory in the caller's apartment;
    /// REGDB_E_CLASSNOTREG otherwise (nothing is launched: no class has a LocalServer32
    /// entry) (§21.17).
    pub(crate) fn co_get_class_object(
        &mut self,
        pid: Pid,
        tid: Tid,
        clsid: GUID,
        cls_context: u32,
        iid: GUID,
        has_out: bool,
    ) -> CallResult {
        if !has_out {
            return hr(E_INVALIDARG);
        }
        let Some((apt, _)) = self.com_apartment_of(tid) else { return hr(CO_E_NOTINITIALIZED) };
        if let Some(cookie) = self.find_class(tid, clsid, cls_context) {
            return match self.class_object_ptr(pid, tid, cookie, iid) {
                Ok(p) => hr_out(S_OK, ComOut::Ptr(p)),
                Err(h) => hr(h),
            };
        }
        if clsid != CLSID_Toy || cls_context & (CLSCTX_INPROC_SERVER | CLSCTX_INPROC_HANDLER) == 0 {
            return hr(REGDB_E_CLASSNOTREG);
        }
        if !matches!(iid, IID_IUnknown | IID_IClassFactory) {
            return hr(E_NOINTERFACE);
        }
        let obj = self.com.id();
        self.com.objects.insert(obj, ComObject::new(apt, true));
        let p = self.new_ptr(pid, obj, iid, PtrKind::Direct);
        let words = self.apt_words(apt);
        self.note_effect(|_| format!("class factory #{obj} of CLSID_Toy made in {words}"));
        hr_out(S_OK, ComOut::Ptr(p))
    }

    /// IClassFactory::CreateInstance, on the class object's thread: a new toy object in
    /// the factory's apartment, and a direct pointer to it for that thread.
    pub(crate) fn class_factory_create(&mut self, pid: Pid, _tid: Tid, factory: u32, iid: GUID) -> CallResult {
        let Some(f) = self.com.objects.get(&factory) else { return hr(E_UNEXPECTED) };
        if !implements(iid) {
            return hr(E_NOINTERFACE);
        }
        let apt = f.apt;
        let obj = self.com.id();
        self.com.objects.insert(obj, ComObject::new(apt, false));
        let p = self.new_ptr(pid, obj, iid, PtrKind::Direct);
        let words = self.apt_words(apt);
        self.note_effect(|_| format!("toy object #{obj} made by class factory #{factory} in {words}"));
        hr_out(S_OK, ComOut::Ptr(p))
    }

    /// Whether call `n` goes to another process (a local server, §21.17).
    pub(crate) fn com_call_is_remote(&self, n: u32) -> bool {
        self.com.calls.get(&n).is_some_and(|c| self.com.apts.get(&c.target).is_some_and(|a| a.pid != c.caller_pid))
    }

    /// Whether object `obj` answers `iid` (QueryInterface run in its apartment, §21.19).
    pub(crate) fn com_obj_implements(&self, obj: u32, iid: IID) -> bool {
        self.com.objects.get(&obj).is_some_and(|o| obj_implements(o, iid))
    }

    // ----- waiting -----------------------------------------------------------------------------

    /// CoWaitForMultipleHandles, one round: the argument checks (CW-1), then a wait on the
    /// handles which, in an STA, also ends when something COM dispatches is there (CW-4):
    /// an incoming COM call on the hidden window, a message sent by another thread, a DDE
    /// message (or any posted message with COWAIT_DISPATCH_WINDOW_MESSAGES). Outside an
    /// STA it is WaitForMultipleObjectsEx (CW-5). The API layer dispatches and waits again.
    pub(crate) fn co_wait_for_multiple_handles(
        &mut self,
        pid: Pid,
        tid: Tid,
        flags: u32,
        timeout_ms: u32,
        handles: Option<Vec<HANDLE>>,
        has_index: bool,
    ) -> Exec {
        if !has_index {
            return Exec::from(hr(E_INVALIDARG));
        }
        let Some(handles) = handles else { return Exec::from(hr(E_INVALIDARG)) };
        if handles.is_empty() {
            return Exec::from(hr(RPC_E_NO_SYNC));
        }
        if flags & !0x1F != 0 || handles.len() >= MAXIMUM_WAIT_OBJECTS {
            return Exec::from(hr(E_INVALIDARG));
        }
        let all = flags & COWAIT_WAITALL != 0;
        let alertable = flags & COWAIT_ALERTABLE != 0;
        let objects = match self.resolve_wait(pid, tid, &handles, all, false) {
            Ok(o) => o,
            Err(e) => return Exec::from(hr(HRESULT_FROM_WIN32(e))),
        };
        let pending = self.com_message_pending_call(pid, tid, &handles).is_some();
        let input = if self.com_is_sta(tid) && self.user.queues.contains_key(&tid) {
            self.queue_mut(tid).last_pump = self.now;
            let com = if flags & COWAIT_DISPATCH_WINDOW_MESSAGES != 0 { 2 } else { 1 };
            if pending {
                // The modal loop also wakes for a new window message, for MessagePending (MF-6).
                Some(crate::objects::window::InputWait { mask: QS_POSTMESSAGE, available: false, com: 3 })
            } else {
                Some(crate::objects::window::InputWait { mask: 0, available: false, com })
            }
        } else {
            None
        };
        self.wait_on(tid, &objects, &handles, all, timeout_ms, alertable, input)
    }

    /// The outgoing call whose reply `tid`'s COM modal loop waits for on `handles`, when
    /// its STA's message filter scripts MessagePending (MF-6; a bare
    /// CoWaitForMultipleHandles never consults it, CW-7).
    pub(crate) fn com_message_pending_call(&self, pid: Pid, tid: Tid, handles: &[HANDLE]) -> Option<u32> {
        let th = self.com.threads.get(&tid)?;
        let &n = th.outgoing.last()?;
        let c = self.com.calls.get(&n)?;
        if handles != [c.event_handle] || c.caller_pid != pid || !self.com_is_sta(tid) {
            return None;
        }
        let (a, _) = self.com_apartment_of(tid)?;
        self.com.filters.get(&a).filter(|f| !f.0.message_pending.is_empty()).map(|_| n)
    }

    /// Posted messages in `tid`'s queue that the COM modal loop does not dispatch (what
    /// MessagePending is told about).
    pub(crate) fn com_other_posted(&self, tid: Tid) -> usize {
        let Some(q) = self.user.queues.get(&tid) else { return 0 };
        let hidden = self.com_hidden_window(tid);
        q.posted
            .iter()
            .filter(|m| {
                !((m.message == WM_COM_CALL && Some(m.hwnd) == hidden)
                    || (WM_DDE_FIRST..=WM_DDE_LAST).contains(&m.message))
            })
            .count()
    }

    /// IMessageFilter::MessagePending for outgoing call `n` (MF-6): the script's answer.
    pub(crate) fn com_message_pending(&mut self, _pid: Pid, tid: Tid, n: u32) -> CallResult {
        let nested = self.com.threads.get(&tid).is_some_and(|t| !t.running.is_empty());
        let Some((a, _)) = self.com_apartment_of(tid) else { return hr(E_UNEXPECTED) };
        let Some((f, _, _)) = self.com.filters.get_mut(&a) else { return hr(E_UNEXPECTED) };
        let used = f.message_pending.len();
        let answer = f.message_pending.first().copied().unwrap_or(PENDINGMSG_WAITDEFPROCESS);
        if used > 1 {
            f.message_pending.remove(0);
        }
        let kind = if nested { "PENDINGTYPE_NESTED" } else { "PENDINGTYPE_TOPLEVEL" };
        let name = match answer {
            PENDINGMSG_CANCELCALL => "PENDINGMSG_CANCELCALL",
            PENDINGMSG_WAITNOPROCESS => "PENDINGMSG_WAITNOPROCESS",
            _ => "PENDINGMSG_WAITDEFPROCESS",
        };
        self.note_effect(|_| {
            format!("a window message arrived while call #{n} waits: MessagePending({kind}) answers {name} (MF-6); the message stays queued")
        });
        hr_out(S_OK, ComOut::Value(i64::from(answer)))
    }

    /// The caller gives up outgoing call `n` (MessagePending said PENDINGMSG_CANCELCALL):
    /// RPC_E_CALL_CANCELED; a reply that comes later is dropped (MF-6).
    pub(crate) fn com_call_cancel(&mut self, _pid: Pid, tid: Tid, n: u32) -> CallResult {
        self.com_thread(tid).outgoing.retain(|&c| c != n);
        if let Some(c) = self.com.calls.get_mut(&n) {
            c.caller_gone = true;
            if c.state == CallState::Done {
                self.drop_call(n);
            }
        }
        self.note_effect(|_| format!("call #{n} cancelled: returns RPC_E_CALL_CANCELED; its reply will be dropped"));
        hr(RPC_E_CALL_CANCELED)
    }

    /// Whether an STA's CoWaitForMultipleHandles has something to dispatch (CW-4).
    pub(crate) fn com_input_present(&self, tid: Tid, all_posted: bool) -> bool {
        let Some(q) = self.user.queues.get(&tid) else { return false };
        if !q.incoming.is_empty() || !q.callbacks.is_empty() {
            return true;
        }
        let hidden = self.com_hidden_window(tid);
        q.posted.iter().any(|m| {
            all_posted
                || (m.message == WM_COM_CALL && Some(m.hwnd) == hidden)
                || (WM_DDE_FIRST..=WM_DDE_LAST).contains(&m.message)
        })
    }

    // ----- thread exit, reports, invariants -------------------------------------------------

    /// A thread ends: its apartment is left as by its last CoUninitialize (SD-3); calls it
    /// was running fail with RPC_E_DISCONNECTED; its outgoing calls lose their caller.
    pub(crate) fn com_thread_exited(&mut self, tid: Tid) {
        let Some(th) = self.com.threads.get(&tid).cloned() else { return };
        let pid = self.thread(tid).pid;
        if self.process(pid).threads.len() <= 1 {
            // Its last thread: the process ends with it (§21.17).
            self.com.ending.insert(pid);
        }
        let ending = self.com.ending.contains(&pid);
        for n in th.running.iter().rev() {
            let other = self.com.calls.get(n).is_some_and(|c| c.caller_pid != pid);
            if ending && other {
                self.finish_call(*n, RPC_S_CALL_FAILED, 0, "lost its server process");
            } else {
                self.finish_call(*n, RPC_E_DISCONNECTED, 0, "lost its callee thread");
            }
        }
        for n in &th.outgoing {
            if let Some(c) = self.com.calls.get_mut(n) {
                c.caller_gone = true;
                if c.state == CallState::Done {
                    self.drop_call(*n);
                }
            }
        }
        if th.apt.is_some() {
            self.leave_apartment(tid);
        }
        self.com.threads.remove(&tid);
    }

    /// The COM part of a stuck thread's wait: its innermost outgoing call, where that call
    /// is, and what the thread that must run it does.
    pub(crate) fn com_wait_edges(&self, tid: Tid) -> (Vec<WaitEdge>, Vec<Tid>) {
        let Some(&n) = self.com.threads.get(&tid).and_then(|t| t.outgoing.last()) else {
            return (Vec::new(), Vec::new());
        };
        let Some(c) = self.com.calls.get(&n) else { return (Vec::new(), Vec::new()) };
        // Only while the thread waits for this call's reply (not while it runs something
        // nested inside its modal loop that blocked elsewhere).
        let waiting = self.blocked_op(tid).is_some_and(|op| match &self.ops[op].kind {
            crate::kernel::ops::OpKind::Wait { objects, .. } => objects.contains(&c.event),
            _ => false,
        });
        if !waiting {
            return (Vec::new(), Vec::new());
        }
        let mut apartment = self.apt_words(c.target);
        if let Some(a) = self.com.apts.get(&c.target).filter(|a| a.pid != c.caller_pid) {
            // A local server: name its process (§21.17).
            let image = self.pids.get(&a.pid).map_or(String::new(), |_| self.process(a.pid).image.clone());
            apartment = format!("{apartment} of server process P{} ({image})", a.pid);
        }
        let (state, receiver) = match (c.state, self.com.apts.get(&c.target).map(|a| a.kind)) {
            (CallState::Queued, Some(AptKind::Sta(t))) => (
                format!(
                    "queued on the hidden window {} ({OLE_MAIN_THREAD_WND_CLASS}) of T{t}, not yet retrieved",
                    c.hwnd
                ),
                Some(t),
            ),
            (CallState::Queued, _) => ("waiting for an RPC worker thread".to_string(), None),
            (CallState::Running(t), _) => (format!("running on T{t}"), Some(t)),
            (CallState::Done, _) => ("replied".to_string(), None),
        };
        let edge = WaitEdge::ComCall {
            call: format!("{} (call #{n})", c.method.name()),
            apartment,
            state,
            receiver,
            receiver_state: receiver.map(|t| self.thread_activity(t)),
        };
        (vec![edge], receiver.into_iter().collect())
    }

    /// COM's invariants (`check_invariants`).
    pub(crate) fn check_com_invariants(&self) {
        for (tid, t) in &self.com.threads {
            assert_eq!(t.init > 0, t.apt.is_some(), "simulator bug: T{tid}'s COM init count and apartment disagree");
            for n in &t.outgoing {
                let c = self.com.calls.get(n).expect("simulator bug: an outgoing call is in the call table");
                assert_eq!(c.caller, *tid, "simulator bug: call #{n} is on the wrong caller");
            }
        }
        for (n, c) in &self.com.calls {
            if let CallState::Running(t) = c.state {
                let th = self.com.threads.get(&t).expect("simulator bug: a running call's thread has COM state");
                assert!(th.running.contains(n), "simulator bug: call #{n} runs on T{t} but is not on its stack");
            }
            if !c.caller_gone {
                assert!(self.objects.contains_key(c.event), "simulator bug: call #{n}'s event exists");
            }
        }
        for (pid, m) in &self.com.mta {
            let a = &self.com.apts[m];
            assert!(a.alive && a.pid == *pid && a.kind == AptKind::Mta, "simulator bug: P{pid}'s MTA is live");
        }
    }
}
