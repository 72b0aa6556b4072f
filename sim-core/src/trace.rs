//! The trace: one serde event type with typed arguments and results. Every call is
//! recorded with its arguments, return value, out-parameters, last error, what it changed,
//! and, when it blocked, its pending operation and the event that completed it. A run's
//! trace is a pure function of program + config + seed.
//!
//! Text (`render_text`) and JSON lines (`render_json_lines`, schema in
//! docs/trace-format.md) are renderers of this structure; tests and the model
//! differential read the structure, never the text.

use crate::error::Win32Error;
use crate::types::HANDLE;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// A trace text held inline up to 24 bytes (a buffer's preview, a counter's name), on the
/// heap past that: it reads as a `str` (`Deref`), compares with `&str` and `String`, and
/// is written in JSON as a string (issue 13).
pub use compact_str::CompactString as Text;

/// The version of the JSON-lines schema (docs/trace-format.md). Bumped on any change to
/// the shape of [`Event`].
pub const TRACE_SCHEMA_VERSION: u32 = 3;

/// One trace event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// Unique, increasing id of this event within its run.
    pub id: u64,
    /// Kernel step (number of calls executed so far, this event's call included).
    pub step: u64,
    /// Virtual time in milliseconds.
    pub time_ms: u64,
    /// Process id of the thread concerned.
    pub pid: u32,
    /// Thread id of the thread concerned (0 for a process-level event).
    pub tid: u32,
    /// The pending operation this event belongs to: a `block` and its `wake` share it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<u64>,
    /// The id of the event that caused this one (the call whose effect woke a blocked
    /// call, or the timer that fired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<u64>,
    /// What happened (flattened into the event's JSON object, tagged by `"event"`).
    #[serde(flatten)]
    pub kind: EventKind,
}

/// A typed argument or out-parameter value.
///
/// In JSON every value is an object tagged by its kind (`{"u32": 5}`); a handle is
/// `{"handle": 4, "object": "pipe#1 read end"}`, the handle a plain number as everywhere
/// else in winsim's JSON (reports, `handles` lists), with what it names beside it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ArgValueWire", from = "ArgValueWire")]
#[non_exhaustive]
pub enum ArgValue {
    /// A handle, with the object behind it in the caller's process when the trace knows it
    /// (`event#2 "name"`, `pipe#1 write end`).
    Handle {
        /// The value.
        handle: HANDLE,
        /// The object it names, if any. Shared: the events that name an object whose
        /// description cannot change (a pipe end, a thread, a process, an event, a mutex,
        /// a semaphore) hold one string, made once (issue 13).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        object: Option<std::sync::Arc<str>>,
    },
    /// Several handles (WaitForMultipleObjects).
    Handles(Vec<HANDLE>),
    /// A BOOL.
    Bool(bool),
    /// A DWORD.
    U32(u32),
    /// A LONG.
    I32(i32),
    /// A LONGLONG (LARGE_INTEGER).
    I64(i64),
    /// A bit mask, rendered in hex.
    Flags(u32),
    /// A time-out in milliseconds (`INFINITE` = 0xFFFFFFFF).
    Timeout(u32),
    /// A string, or NULL.
    Str(Option<String>),
    /// A symbolic value shown bare: a window (`hwnd:0x10010`, `HWND_MESSAGE`), a message
    /// (`WM_USER+2`), a MSG.
    Sym(String),
    /// A buffer: its length and a preview of up to 24 bytes (text or hex).
    Bytes {
        /// Its length.
        len: u32,
        /// The first bytes, rendered (held inline when short: no allocation for the
        /// usual preview).
        preview: Text,
    },
}

/// [`ArgValue`] as written in JSON: a handle flattened (`{"handle": N, "object": ...}`),
/// every other kind tagged by its snake_case name.
#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ArgValueWire {
    Handle {
        handle: HANDLE,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        object: Option<std::sync::Arc<str>>,
    },
    Other(ArgValueTagged),
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ArgValueTagged {
    Handles(Vec<HANDLE>),
    Bool(bool),
    U32(u32),
    I32(i32),
    I64(i64),
    Flags(u32),
    Timeout(u32),
    Str(Option<String>),
    Sym(String),
    Bytes { len: u32, preview: Text },
}

impl From<ArgValue> for ArgValueWire {
    fn from(v: ArgValue) -> ArgValueWire {
        use ArgValueTagged as T;
        ArgValueWire::Other(match v {
            ArgValue::Handle { handle, object } => return ArgValueWire::Handle { handle, object },
            ArgValue::Handles(h) => T::Handles(h),
            ArgValue::Bool(b) => T::Bool(b),
            ArgValue::U32(n) => T::U32(n),
            ArgValue::I32(n) => T::I32(n),
            ArgValue::I64(n) => T::I64(n),
            ArgValue::Flags(n) => T::Flags(n),
            ArgValue::Timeout(n) => T::Timeout(n),
            ArgValue::Str(s) => T::Str(s),
            ArgValue::Sym(s) => T::Sym(s),
            ArgValue::Bytes { len, preview } => T::Bytes { len, preview },
        })
    }
}

impl From<ArgValueWire> for ArgValue {
    fn from(v: ArgValueWire) -> ArgValue {
        use ArgValueTagged as T;
        match v {
            ArgValueWire::Handle { handle, object } => ArgValue::Handle { handle, object },
            ArgValueWire::Other(t) => match t {
                T::Handles(h) => ArgValue::Handles(h),
                T::Bool(b) => ArgValue::Bool(b),
                T::U32(n) => ArgValue::U32(n),
                T::I32(n) => ArgValue::I32(n),
                T::I64(n) => ArgValue::I64(n),
                T::Flags(n) => ArgValue::Flags(n),
                T::Timeout(n) => ArgValue::Timeout(n),
                T::Str(s) => ArgValue::Str(s),
                T::Sym(s) => ArgValue::Sym(s),
                T::Bytes { len, preview } => ArgValue::Bytes { len, preview },
            },
        }
    }
}

/// A named argument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Arg {
    /// The parameter's name (borrowed from the API table: no allocation per call).
    pub name: Cow<'static, str>,
    /// Its value.
    pub value: ArgValue,
}

impl Arg {
    /// A named argument.
    pub fn new(name: &'static str, value: ArgValue) -> Arg {
        Arg { name: Cow::Borrowed(name), value }
    }
}

/// An event's argument or out-parameter list: a list of [`Arg`]s that reads as a slice
/// (`Deref<Target = [Arg]>`: `iter`, `len`, `is_empty`, indexing, `to_vec`), compares with
/// a `Vec<Arg>` or a slice, prints with `{:?}` as the list does, and is written and read in
/// JSON as the array it is.
///
/// Shared, not copied: a list is immutable once made, and the kernel gives the events that
/// show the same list (a loop's ReadFile of the same handle and length, its `read=1 bytes
/// "x"`) one allocation, as a counted reference, instead of one each (issue 13: the
/// allocation and freeing of two lists were most of a traced call's cost). An empty list
/// holds no allocation.
#[derive(Clone, Default)]
pub struct ArgList(Option<std::sync::Arc<[Arg]>>);

impl ArgList {
    /// The empty list.
    pub const fn new() -> ArgList {
        ArgList(None)
    }
    /// The arguments, as a slice.
    pub fn as_slice(&self) -> &[Arg] {
        self.0.as_deref().unwrap_or_default()
    }
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
    /// The list of the arguments drained from `v` (which keeps its buffer): one
    /// allocation, none for an empty list.
    pub(crate) fn from_drain(v: &mut Vec<Arg>) -> ArgList {
        if v.is_empty() { ArgList(None) } else { ArgList(Some(v.drain(..).collect())) }
    }
    /// Whether two lists are one shared list (or both empty): then they are equal without
    /// comparing their arguments.
    pub fn ptr_eq(&self, other: &ArgList) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => std::sync::Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl std::ops::Deref for ArgList {
    type Target = [Arg];
    fn deref(&self) -> &[Arg] {
        self.as_slice()
    }
}

impl From<Vec<Arg>> for ArgList {
    fn from(v: Vec<Arg>) -> ArgList {
        if v.is_empty() { ArgList(None) } else { ArgList(Some(v.into())) }
    }
}

impl FromIterator<Arg> for ArgList {
    fn from_iter<I: IntoIterator<Item = Arg>>(iter: I) -> ArgList {
        Vec::from_iter(iter).into()
    }
}

impl<'a> IntoIterator for &'a ArgList {
    type Item = &'a Arg;
    type IntoIter = std::slice::Iter<'a, Arg>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for ArgList {
    fn eq(&self, other: &ArgList) -> bool {
        self.ptr_eq(other) || self.as_slice() == other.as_slice()
    }
}

impl Eq for ArgList {}

impl PartialEq<[Arg]> for ArgList {
    fn eq(&self, other: &[Arg]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<Vec<Arg>> for ArgList {
    fn eq(&self, other: &Vec<Arg>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<ArgList> for Vec<Arg> {
    fn eq(&self, other: &ArgList) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl fmt::Debug for ArgList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl Serialize for ArgList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'de> Deserialize<'de> for ArgList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ArgList, D::Error> {
        Vec::<Arg>::deserialize(d).map(ArgList::from)
    }
}

impl ArgValue {
    /// A buffer's length and preview.
    pub fn bytes(data: &[u8]) -> ArgValue {
        ArgValue::Bytes { len: u32::try_from(data.len()).unwrap_or(u32::MAX), preview: show_bytes_text(data) }
    }
    /// A handle with no object named yet.
    pub fn handle(h: HANDLE) -> ArgValue {
        ArgValue::Handle { handle: h, object: None }
    }
    /// A time-out.
    pub fn timeout(ms: &u32) -> ArgValue {
        ArgValue::Timeout(*ms)
    }
    /// A bit mask.
    pub fn flags(bits: &u32) -> ArgValue {
        ArgValue::Flags(*bits)
    }
    /// A simulated address, in hex.
    pub fn addr(a: &u64) -> ArgValue {
        ArgValue::Sym(format!("0x{a:x}"))
    }
    /// A window message number, by name (`WM_USER+2`).
    pub fn message(msg: &u32) -> ArgValue {
        ArgValue::Sym(crate::objects::window::message_name(*msg))
    }
    /// A GetMessage/PeekMessage filter bound: a message name, or 0 (no filter when both
    /// bounds are 0).
    pub fn msgfilter(msg: &u32) -> ArgValue {
        if *msg == 0 { ArgValue::Sym("0".into()) } else { ArgValue::message(msg) }
    }
    /// The value as a handle, if it is one.
    pub fn as_handle(&self) -> Option<HANDLE> {
        match self {
            ArgValue::Handle { handle, .. } => Some(*handle),
            _ => None,
        }
    }
    /// The value as a DWORD, if it is one (U32, Flags, Timeout).
    pub fn as_u32(&self) -> Option<u32> {
        match self {
            ArgValue::U32(v) | ArgValue::Flags(v) | ArgValue::Timeout(v) => Some(*v),
            _ => None,
        }
    }
}

impl fmt::Display for ArgValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgValue::Handle { handle, object: Some(o) } => write!(f, "{handle} [{o}]"),
            ArgValue::Handle { handle, object: None } => write!(f, "{handle}"),
            ArgValue::Handles(hs) => {
                f.write_str("[")?;
                for (i, h) in hs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{h}")?;
                }
                f.write_str("]")
            }
            ArgValue::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            ArgValue::U32(v) => write!(f, "{v}"),
            ArgValue::I32(v) => write!(f, "{v}"),
            ArgValue::I64(v) => write!(f, "{v}"),
            ArgValue::Flags(v) => write!(f, "0x{v:x}"),
            ArgValue::Timeout(v) if *v == crate::types::INFINITE => f.write_str("INFINITE"),
            ArgValue::Timeout(v) => write!(f, "{v}ms"),
            ArgValue::Str(Some(s)) => write!(f, "{s:?}"),
            ArgValue::Str(None) => f.write_str("NULL"),
            ArgValue::Sym(s) => f.write_str(s),
            ArgValue::Bytes { len, preview } if preview.is_empty() => write!(f, "{len} bytes"),
            ArgValue::Bytes { len, preview } => write!(f, "{len} bytes {preview}"),
        }
    }
}

/// Conversion of a request field to a trace argument (`None`: not shown, e.g. a closure).
pub trait ToArg {
    /// The field as an argument value; `full` asks for the costly parts too (a buffer's
    /// preview), which only the trace shows.
    fn to_arg(&self, full: bool) -> Option<ArgValue>;

    /// Calls `f` with each handle the field names, as its `to_arg` shows them (a handle,
    /// or a list of handles), without building the argument where a type says how
    /// (the data-race detector's keys, §25.2, are taken from these at every call).
    fn visit_handles(&self, f: &mut dyn FnMut(HANDLE)) {
        match self.to_arg(false) {
            Some(ArgValue::Handle { handle, .. }) => f(handle),
            Some(ArgValue::Handles(hs)) => hs.into_iter().for_each(f),
            _ => {}
        }
    }

    /// Whether the field is a BOOL that is TRUE.
    fn is_true(&self) -> bool {
        false
    }
}

impl ToArg for HANDLE {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::handle(*self))
    }
    fn visit_handles(&self, f: &mut dyn FnMut(HANDLE)) {
        f(*self)
    }
}
impl ToArg for bool {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Bool(*self))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
    fn is_true(&self) -> bool {
        *self
    }
}
impl ToArg for u32 {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::U32(*self))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for String {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(Some(self.clone())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for isize {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::I64(*self as i64))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for u64 {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::I64(*self as i64))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for crate::types::HWND {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(self.to_string()))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for crate::types::MSG {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Sym(format!(
            "{{{}, {}, {}, {}}}",
            self.hwnd,
            crate::objects::window::message_name(self.message),
            self.wParam,
            self.lParam
        )))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for i32 {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::I32(*self))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for i64 {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::I64(*self))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<String> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(self.clone()))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Vec<HANDLE> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Handles(self.clone()))
    }
    fn visit_handles(&self, f: &mut dyn FnMut(HANDLE)) {
        self.iter().for_each(|&h| f(h))
    }
}
impl ToArg for Vec<u8> {
    fn to_arg(&self, full: bool) -> Option<ArgValue> {
        if full {
            Some(ArgValue::bytes(self))
        } else {
            Some(ArgValue::Bytes { len: u32::try_from(self.len()).unwrap_or(u32::MAX), preview: Text::default() })
        }
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}

/// What a call returned, typed by the API's return type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Ret {
    /// A BOOL.
    Bool(bool),
    /// A HANDLE (NULL or INVALID_HANDLE_VALUE on failure).
    Handle(HANDLE),
    /// A DWORD (a suspend count; `(DWORD)-1` on failure).
    Dword(u32),
    /// A wait function's result (WAIT_OBJECT_0 + i, WAIT_TIMEOUT, WAIT_FAILED...).
    Wait(u32),
    /// VOID, or a call that does not return (ExitThread).
    Void,
    /// An integer (LRESULT, ATOM, GetMessage's -1/0/1).
    Long(i64),
    /// An HWND.
    Hwnd(crate::types::HWND),
    /// A pointer (MapViewOfFile's LPVOID): a simulated address, NULL on failure.
    Ptr(u64),
    /// An HRESULT (COM, §21), shown by its winerror.h name.
    Hresult(crate::error::HRESULT),
    /// An HRESULT of a Message Queuing call (§23), shown by its mq.h name (MQ_OK).
    MqHresult(crate::error::HRESULT),
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ret::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Ret::Handle(h) if h.is_null() => f.write_str("NULL"),
            Ret::Handle(h) => write!(f, "{h}"),
            Ret::Dword(v) if *v == u32::MAX => f.write_str("(DWORD)-1"),
            Ret::Dword(v) => write!(f, "{v}"),
            Ret::Wait(v) => f.write_str(&wait_code(*v)),
            Ret::Void => Ok(()),
            Ret::Long(v) => write!(f, "{v}"),
            Ret::Hwnd(h) => write!(f, "{h}"),
            Ret::Ptr(0) => f.write_str("NULL"),
            Ret::Ptr(p) => write!(f, "0x{p:x}"),
            Ret::Hresult(h) => write!(f, "{h}"),
            Ret::MqHresult(h) => f.write_str(&crate::mq::mq_display(*h)),
        }
    }
}

/// A wait code by its winbase.h name.
pub fn wait_code(v: u32) -> String {
    use crate::types::*;
    match v {
        WAIT_TIMEOUT => "WAIT_TIMEOUT".into(),
        WAIT_FAILED => "WAIT_FAILED".into(),
        WAIT_IO_COMPLETION => "WAIT_IO_COMPLETION".into(),
        0 => "WAIT_OBJECT_0".into(),
        WAIT_ABANDONED_0 => "WAIT_ABANDONED_0".into(),
        v if v < 64 => format!("WAIT_OBJECT_0+{v}"),
        v if (WAIT_ABANDONED_0..WAIT_ABANDONED_0 + 64).contains(&v) => {
            format!("WAIT_ABANDONED_0+{}", v - WAIT_ABANDONED_0)
        }
        v => format!("{v}"),
    }
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A call that completed at once.
    Call {
        /// Win32 function name (borrowed from the API table: no allocation per event).
        api: Cow<'static, str>,
        /// Its arguments.
        args: ArgList,
        /// Its return value.
        ret: Ret,
        /// Its out-parameters (bytes read, handles made, counts).
        #[serde(default, skip_serializing_if = "ArgList::is_empty")]
        outs: ArgList,
        /// The last error the call set, if it set one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<Win32Error>,
        /// What the call changed, in words ("no effect: already signalled").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        effect: Option<String>,
    },
    /// A call that became a pending operation (`op` names it).
    Block {
        /// Win32 function name (borrowed from the API table: no allocation per event).
        api: Cow<'static, str>,
        /// Its arguments.
        args: ArgList,
        /// What it waits for. Shared: the events that give the same reason hold one
        /// string (issue 13).
        reason: std::sync::Arc<str>,
        /// The call waits for a synchronous file object's lock (it has not started yet;
        /// a `granted` event lets it run).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        lock_wait: bool,
    },
    /// A pending operation completed (`op` names it, `cause` the event that completed it).
    Wake {
        /// Win32 function name (borrowed from the API table: no allocation per event).
        api: Cow<'static, str>,
        /// Its return value.
        ret: Ret,
        /// Its out-parameters.
        #[serde(default, skip_serializing_if = "ArgList::is_empty")]
        outs: ArgList,
        /// The last error the call set, if it set one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<Win32Error>,
        /// What completed it, in words. Shared: the events that give the same cause hold
        /// one string (issue 13).
        why: std::sync::Arc<str>,
    },
    /// A call waiting for a synchronous file object's lock was granted it; the call
    /// runs when its thread is next scheduled (`op` is the lock wait).
    Granted {
        /// Win32 function name (borrowed from the API table: no allocation per event).
        api: Cow<'static, str>,
        /// The file object.
        file: String,
    },
    /// A buffer's or queue's occupancy after a step that changed it (only when it
    /// changed): the unread bytes of a pipe direction, a mailslot's messages, a thread's
    /// posted messages, a Message Queuing queue's messages. Not shown in the text trace;
    /// the Chrome trace draws each `name` as a counter track.
    Counter {
        /// What is counted: `pipe#1 unread bytes`, `pipe#3 unread bytes (to client)`,
        /// `mailslot#2 messages`, `T8 posted messages`, `queue .\private$\q messages`.
        /// (Held inline when short: a counter event at a traced step makes no allocation
        /// for it.)
        name: Text,
        /// The new value.
        value: u64,
    },
    /// A waitable timer became signalled.
    TimerFired {
        /// The timer, described.
        timer: String,
        /// The period in milliseconds (0 for a one-shot timer).
        period_ms: u32,
        /// It was still signalled: this expiry changes nothing and the period is lost.
        was_signalled: bool,
    },
    /// A process started.
    ProcessStart {
        /// Its image (program) name.
        image: String,
        /// Its command line.
        command_line: String,
        /// The creating process id (0 for the first process).
        parent: u32,
    },
    /// A process ended.
    ProcessExit {
        /// Its exit code.
        code: u32,
        /// Handles its exit closed, rendered.
        closed: Vec<String>,
    },
    /// A thread started running its body.
    ThreadStart,
    /// A thread ended.
    ThreadExit {
        /// Its exit code.
        code: u32,
        /// Why: "returned", "ExitThread", "terminated by ...".
        how: String,
    },
    /// A thread ended owning a mutex: the mutex is abandoned (its next owner's wait
    /// returns WAIT_ABANDONED).
    MutexAbandoned {
        /// The mutex, described.
        mutex: String,
        /// Its serial number (`mutex#N`).
        serial: u32,
    },
    /// A thread runs a queued user APC (in an alertable wait).
    ApcRun {
        /// Who queued it.
        from: String,
    },
    /// A thread's body panicked (the run ends with `Outcome::Failed`).
    Panic {
        /// The panic message.
        message: String,
    },
    /// Something the kernel did on its own that a reader should see (a pipe end closing,
    /// a mutex abandoned).
    Note {
        /// What happened.
        text: String,
    },
}

/// Renders up to 24 bytes of data: as a quoted string when it is text, as hex bytes
/// otherwise.
pub fn show_bytes(data: &[u8]) -> String {
    show_bytes_text(data).into_string()
}

/// How many bytes of a buffer the trace shows (`show_bytes_text`).
pub(crate) const PREVIEW_BYTES: usize = 24;

/// `show_bytes` as a [`Text`]: a short preview (up to 24 bytes of text, a 1-byte
/// message's `"x"`) is held inline, without an allocation (issue 13).
pub fn show_bytes_text(data: &[u8]) -> Text {
    let shown = &data[..data.len().min(PREVIEW_BYTES)];
    let more = data.len() > shown.len();
    // Printable ASCII that `{:?}` leaves as it is (the usual buffer of a trace): the bytes
    // between quotes, put together in a stack buffer and made a `Text` at once (pushing it
    // a character at a time costs several times as much). The quotes, the bytes and the
    // ellipsis (three bytes in UTF-8): 29 bytes at most.
    if shown.iter().all(|&b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\' && b != b'\'') {
        let mut buf = [0u8; 29];
        buf[0] = b'"';
        buf[1..=shown.len()].copy_from_slice(shown);
        let mut n = shown.len() + 1;
        buf[n] = b'"';
        n += 1;
        if more {
            buf[n..n + 3].copy_from_slice("…".as_bytes());
            n += 3;
        }
        // Printable ASCII and the ellipsis: always UTF-8.
        return Text::new(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    }
    let mut s = Text::default();
    match std::str::from_utf8(shown) {
        Ok(text) if text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')) => {
            let _ = write!(s, "{text:?}");
        }
        _ => {
            s.push('[');
            for (i, &b) in shown.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.push(char::from(HEX[usize::from(b >> 4)]));
                s.push(char::from(HEX[usize::from(b & 15)]));
            }
            s.push(']');
        }
    }
    if more {
        s.push('…');
    }
    s
}

/// Renders an argument list: positionally, as a Win32 call reads (`0x8 [event#1],
/// INFINITE`), except BOOLs, flags and handle lists, which carry their name
/// (`manual_reset=TRUE`, `flags=0x4`), since their position says little.
pub fn render_args(args: &[Arg]) -> String {
    let mut s = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let named = match &a.value {
            ArgValue::Bool(_) | ArgValue::Flags(_) => true,
            ArgValue::Handles(_) => a.name != "handles",
            _ => false,
        };
        if named {
            let _ = write!(s, "{}=", a.name);
        }
        let _ = write!(s, "{}", a.value);
    }
    s
}

fn render_result(out: &mut String, ret: &Ret, outs: &[Arg]) {
    let _ = write!(out, "{ret}");
    for (i, a) in outs.iter().enumerate() {
        let sep = if i == 0 && *ret == Ret::Void { "" } else { ", " };
        let _ = write!(out, "{sep}{}={}", a.name, a.value);
    }
}

/// Renders a trace as plain text, one event per line.
pub fn render_text(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        if matches!(e.kind, EventKind::Counter { .. }) {
            // Occupancy samples are for pictures (the Chrome trace's counter tracks); the
            // narration already says what each call read or wrote.
            continue;
        }
        let who = match (e.pid, e.tid) {
            (0, 0) => "kernel".to_string(),
            (pid, 0) => format!("P{pid}"),
            (pid, tid) => format!("P{pid}/T{tid}"),
        };
        let _ = write!(out, "#{:<4} {:>6}ms  {who:<10} ", e.step, e.time_ms);
        match &e.kind {
            EventKind::Call { api, args, ret, outs, error, effect } => {
                let _ = write!(out, "{api}({})", render_args(args));
                // VOID, or a call that goes on running user code (a window procedure)
                // whose result comes later: no " = ".
                if *ret != Ret::Void || !outs.is_empty() {
                    out.push_str(" = ");
                    render_result(&mut out, ret, outs);
                }
                if let Some(err) = error {
                    let _ = write!(out, "  [last error {err}]");
                }
                if let Some(effect) = effect {
                    let _ = write!(out, "  -- {effect}");
                }
            }
            EventKind::Block { api, args, reason, .. } => {
                let _ = write!(out, "{api}({}) BLOCKS: {reason}", render_args(args));
            }
            EventKind::Wake { api, ret, outs, error, why } => {
                let _ = write!(out, "{api} returns ");
                render_result(&mut out, ret, outs);
                if let Some(err) = error {
                    let _ = write!(out, "  [last error {err}]");
                }
                let _ = write!(out, "  <- {why}");
            }
            EventKind::Granted { api, file } => {
                let _ = write!(out, "{api} may go on: it holds the lock of {file} now");
            }
            EventKind::TimerFired { timer, period_ms, was_signalled } => {
                let _ = write!(out, "{timer} fires");
                if *period_ms > 0 {
                    let _ = write!(out, " (period {period_ms}ms)");
                }
                if *was_signalled {
                    out.push_str(": it was still signalled, so this period is lost (signals do not count)");
                }
            }
            EventKind::ProcessStart { image, command_line, parent } => {
                let _ = write!(out, "process starts: {image} ({command_line:?}), parent P{parent}");
            }
            EventKind::ProcessExit { code, closed } => {
                let _ = write!(out, "process exits with code {code}");
                if !closed.is_empty() {
                    let _ = write!(out, "; closing {}", closed.join(", "));
                }
            }
            EventKind::Counter { .. } => {}
            EventKind::ThreadStart => out.push_str("thread starts"),
            EventKind::ThreadExit { code, how } => {
                let _ = write!(out, "thread exits with code {code} ({how})");
            }
            EventKind::MutexAbandoned { mutex, .. } => {
                let _ = write!(out, "{mutex} abandoned: its owner ended without releasing it");
            }
            EventKind::ApcRun { from } => {
                let _ = write!(out, "runs an APC ({from}) in its alertable wait");
            }
            EventKind::Panic { message } => {
                let _ = write!(out, "PANIC: {message}");
            }
            EventKind::Note { text } => {
                let _ = write!(out, "note: {text}");
            }
        }
        out.push('\n');
    }
    out
}

/// The first line of a JSON-lines trace: the schema and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TraceHeader {
    /// Always "winsim-trace".
    pub schema: String,
    /// [`TRACE_SCHEMA_VERSION`].
    pub version: u32,
}

/// Renders a trace as JSON lines: a [`TraceHeader`] line, then one serialized [`Event`]
/// per line (docs/trace-format.md).
pub fn render_json_lines(events: &[Event]) -> String {
    let header = TraceHeader { schema: "winsim-trace".into(), version: TRACE_SCHEMA_VERSION };
    // Serializing plain data with string keys cannot fail.
    let mut out = serde_json::to_string(&header).expect("trace header serializes");
    out.push('\n');
    for e in events {
        out.push_str(&serde_json::to_string(e).expect("trace events serialize"));
        out.push('\n');
    }
    out
}

/// Parses a JSON-lines trace written by [`render_json_lines`]: checks the header's schema
/// and version, then reads every event.
pub fn parse_json_lines(text: &str) -> Result<Vec<Event>, String> {
    let mut lines = text.lines();
    let header: TraceHeader = serde_json::from_str(lines.next().ok_or("empty trace")?)
        .map_err(|e| format!("line 1: not a trace header: {e}"))?;
    if header.schema != "winsim-trace" || header.version != TRACE_SCHEMA_VERSION {
        return Err(format!(
            "line 1: schema {} version {}, expected winsim-trace version {TRACE_SCHEMA_VERSION}",
            header.schema, header.version
        ));
    }
    lines.enumerate().map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 2))).collect()
}

/// Appends `n` in decimal (as `{n}` writes it, without the formatting machinery).
pub(crate) fn push_u64(s: &mut String, n: u64) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// Lower-case hex digits, for `push_hex` and `show_bytes`.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `n` in lower-case hex without a prefix (as `{n:x}` writes it).
pub(crate) fn push_hex(s: &mut String, n: u64) {
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = HEX[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    s.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Appends a handle as its `Display` writes it (`0x8`, `(HANDLE)-1`).
pub(crate) fn push_handle(s: &mut String, h: HANDLE) {
    match h.0 {
        v if v >= 0 => {
            s.push_str("0x");
            push_hex(s, v as u64);
        }
        _ => {
            let _ = write!(s, "{h}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preview (`show_bytes_text`: put together in a stack buffer for plain ASCII) reads
    /// as `{:?}` renders the first 24 bytes when they are text (quotes and backslashes
    /// escaped), as hex otherwise, with an ellipsis when the buffer is longer; `show_bytes`
    /// gives the same text as a `String`.
    #[test]
    fn a_preview_reads_as_debug_text_or_hex() {
        let long = [b'a'; 40];
        let text_cases: [(&[u8], &str); 9] = [
            (b"", ""),
            (b"x", "x"),
            (b"hello, pipe", "hello, pipe"),
            (&long[..24], "aaaaaaaaaaaaaaaaaaaaaaaa"),
            (&long[..25], "aaaaaaaaaaaaaaaaaaaaaaaa"),
            (&long, "aaaaaaaaaaaaaaaaaaaaaaaa"),
            (b"say \"hi\"", "say \"hi\""),
            (b"back\\slash", "back\\slash"),
            ("caf\u{e9}\n".as_bytes(), "caf\u{e9}\n"),
        ];
        for (data, shown) in text_cases {
            let ellipsis = if data.len() > 24 { "…" } else { "" };
            let want = format!("{shown:?}{ellipsis}");
            assert_eq!(show_bytes_text(data), want, "{data:?}");
            assert_eq!(show_bytes(data), want, "{data:?}");
        }
        assert_eq!(show_bytes(b"x"), "\"x\"");
        assert_eq!(show_bytes_text(&[0, 1, 0xfe, 0xff]), "[00 01 fe ff]");
        assert_eq!(show_bytes(&[0; 30]), format!("[{}]…", ["00"; 24].join(" ")));
    }
}
