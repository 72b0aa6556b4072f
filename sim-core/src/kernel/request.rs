//! The API table: every Win32 call the kernel executes, declared once.
//!
//! One line per API in `api_table!` gives its [`Request`] variant (the call with its
//! parameters), its [`Api`] id and Win32 name, the rendering of its arguments for the trace,
//! its return type (how a [`Reply`] becomes the BOOL/HANDLE/DWORD the caller sees), whether
//! it may block (its arguments are then kept for the deadlock report even with the trace
//! off), and the kernel method that executes it. docs/adding-an-api.md gives the steps.
//!
//! A call's result is a [`Reply`]: a [`Status`] as wide as Windows' (success, success that
//! sets the last error, a warning with data such as ERROR_MORE_DATA, pending, error) and a
//! typed [`Value`]. `Reply::ret` turns it into the Win32 return value and `Status::last_error`
//! gives the last error, in this file only.

use crate::api::ThreadCtx;
use crate::error::*;
use crate::objects::com::{ComPtr, ComReply, GUID, IStream, MessageFilter, ToyMethod};
use crate::objects::window::{SENDASYNCPROC, TIMERPROC, WNDPROC};
use crate::trace::{Arg, ArgValue, Ret, ToArg};
use crate::types::{
    COPYDATASTRUCT, HANDLE, HWND, INVALID_HANDLE_VALUE, MSG, PROCESS_INFORMATION, STARTUPINFO, WAIT_FAILED, WM_QUIT,
};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A thread body's future: returns the thread's exit code.
pub type BodyFuture = Pin<Box<dyn Future<Output = u32>>>;
/// A thread start routine (CreateThread's lpStartAddress + lpParameter, as a closure).
pub type ThreadStart = Box<dyn FnOnce(ThreadCtx) -> BodyFuture>;
/// A program registered with the simulation: its main thread body, run once per process.
pub type Program = std::rc::Rc<dyn Fn(ThreadCtx) -> BodyFuture>;
/// A waitable timer's completion routine (PTIMERAPCROUTINE with its argument bound),
/// queued as an APC to the thread that set the timer each time it fires, and called with
/// the low and high parts of the UTC FILETIME at which it fired (§14.21). `Fn`, not
/// `FnOnce`: a periodic timer calls it again.
pub type TimerApcRoutine = std::rc::Rc<dyn Fn(ThreadCtx, u32, u32) -> Pin<Box<dyn Future<Output = ()>>>>;

/// A user APC routine with its argument bound (QueueUserAPC's pfnAPC and dwData, or a
/// completion routine with its results).
pub type ApcRoutine = Box<dyn FnOnce(ThreadCtx) -> Pin<Box<dyn Future<Output = ()>>>>;

impl ToArg for ApcRoutine {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<crate::kernel::io::IoCompletionRoutine> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(self.as_ref().map(|_| "routine".to_string())))
    }
}
impl ToArg for crate::kernel::io::IoCompletionRoutine {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}

impl ToArg for ThreadStart {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<TimerApcRoutine> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(self.as_ref().map(|_| "routine".to_string())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<u32> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(match self {
            Some(v) => ArgValue::Flags(*v),
            None => ArgValue::Str(None),
        })
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<crate::api::Overlapped> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(self.as_ref().map(|_| "overlapped".to_string())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for crate::api::Overlapped {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(Some("overlapped".to_string())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<crate::mq::MqAsyncReceive> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        // A synchronous receive shows no argument for it (its trace is unchanged).
        self.as_ref().map(|a| ArgValue::Str(Some(if a.callback { "callback" } else { "overlapped" }.to_string())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for crate::api::IoBuffer {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<crate::api::IoBuffer> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<WNDPROC> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<TIMERPROC> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        self.as_ref().map(|_| ArgValue::Str(Some("timer_proc".into())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<SENDASYNCPROC> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        self.as_ref().map(|_| ArgValue::Str(Some("callback".into())))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<COPYDATASTRUCT> {
    fn to_arg(&self, full: bool) -> Option<ArgValue> {
        self.as_ref().and_then(|c| c.lpData.to_arg(full))
    }
}
/// The whole access a ReadMemory/WriteMemory step is a part of: its address and length
/// (not shown as an argument; the step's note says "part of" when it is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccess {
    /// The address of the whole access.
    pub address: u64,
    /// Its length in bytes.
    pub len: u64,
}

impl ToArg for MemoryAccess {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        None
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}

impl ToArg for crate::mq::MQQUEUEPROPS {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        let path = self.props.iter().find_map(|(id, v)| match (id, v) {
            (&crate::mq::PROPID_Q_PATHNAME, crate::mq::MQPROPVARIANT::LPWSTR(p)) => Some(p.clone()),
            _ => None,
        });
        Some(ArgValue::Str(Some(format!("{} ({} properties)", path.unwrap_or_default(), self.props.len()))))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for crate::mq::MQMSGPROPS {
    fn to_arg(&self, full: bool) -> Option<ArgValue> {
        use crate::mq::*;
        if !full {
            return None;
        }
        let parts: Vec<String> = self
            .props
            .iter()
            .map(|(id, v)| match (*id, v) {
                (PROPID_M_BODY, MQPROPVARIANT::Bytes(b)) => format!("body {} bytes", b.len()),
                (PROPID_M_PRIORITY, MQPROPVARIANT::UI1(p)) => format!("priority {p}"),
                (PROPID_M_LABEL, MQPROPVARIANT::LPWSTR(l)) => format!("label {l:?}"),
                (PROPID_M_CORRELATIONID, MQPROPVARIANT::Bytes(_)) => "correlation id".to_string(),
                (PROPID_M_RESP_QUEUE, MQPROPVARIANT::LPWSTR(q)) => format!("response queue {q}"),
                (PROPID_M_APPSPECIFIC, MQPROPVARIANT::UI4(a)) => format!("app-specific {a}"),
                (PROPID_M_TIME_TO_BE_RECEIVED, MQPROPVARIANT::UI4(t)) => format!("time-to-be-received {t} s"),
                (PROPID_M_JOURNAL, MQPROPVARIANT::UI1(j)) => format!("journal {j}"),
                (id, _) => format!("property {id}"),
            })
            .collect();
        Some(ArgValue::Str(Some(parts.join(", "))))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}

impl ToArg for usize {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::I64(*self as i64))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for STARTUPINFO {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        (self.dwFlags & crate::types::STARTF_USESTDHANDLES != 0)
            .then(|| ArgValue::Handles(vec![self.hStdInput, self.hStdOutput, self.hStdError]))
    }
}

impl ToArg for Option<crate::types::SOCKADDR_IN> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(match self {
            Some(a) => ArgValue::Sym(sockaddr(a)),
            None => ArgValue::Str(None),
        })
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<Vec<HANDLE>> {
    fn to_arg(&self, full: bool) -> Option<ArgValue> {
        Some(match self {
            Some(v) => v.to_arg(full)?,
            None => ArgValue::Str(None),
        })
    }
}
impl ToArg for Vec<(HANDLE, i16)> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Handles(self.iter().map(|&(h, _)| h).collect()))
    }
}
impl ToArg for Option<i32> {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        self.map(ArgValue::I32)
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}
impl ToArg for Option<Vec<u8>> {
    fn to_arg(&self, full: bool) -> Option<ArgValue> {
        self.as_ref().and_then(|v| v.to_arg(full))
    }
}
impl ToArg for u16 {
    fn to_arg(&self, _full: bool) -> Option<ArgValue> {
        Some(ArgValue::Flags(u32::from(*self)))
    }
    fn visit_handles(&self, _f: &mut dyn FnMut(HANDLE)) {}
}

/// How a return type turns a reply into the value the caller sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RetKind {
    /// BOOL: TRUE on success (and on a warning such as ERROR_MORE_DATA: FALSE).
    Bool,
    /// HANDLE: NULL on failure.
    Handle,
    /// HANDLE: INVALID_HANDLE_VALUE on failure (CreateFile, CreateNamedPipe).
    HandleOrInvalid,
    /// DWORD: (DWORD)-1 on failure.
    Dword,
    /// A wait function: WAIT_FAILED on failure.
    Wait,
    /// VOID.
    Void,
    /// An integer-valued user32 result: LRESULT, ATOM, UINT_PTR, LONG_PTR, a QS_ word, a
    /// thread id; 0 on failure.
    Long,
    /// An HWND: NULL on failure.
    Hwnd,
    /// GetMessage: nonzero for a message, 0 for WM_QUIT, -1 on failure.
    GetMessage,
    /// A pointer (MapViewOfFile's LPVOID): NULL on failure.
    Ptr,
    /// An HRESULT (COM, §21). A CoWaitForMultipleHandles round that waits shows the wait
    /// code it ended with.
    Hresult,
    /// A Winsock int: the value (a byte count, 0) on success, SOCKET_ERROR (-1) on failure.
    Int,
    /// An HRESULT (Message Queuing, §23): the value itself, shown by its mq.h name; the
    /// last error is left alone.
    MqHresult,
}

macro_rules! api_blocks {
    () => {
        false
    };
    (blocks) => {
        true
    };
}

macro_rules! api_count {
    ($f:ident) => {
        1
    };
}

macro_rules! api_arg {
    ($full:ident, $f:ident) => {
        ToArg::to_arg($f, $full)
    };
    ($full:ident, $f:ident, $r:ident) => {
        Some(ArgValue::$r($f))
    };
}

/// What a call that may block keeps of one argument before it runs (`KeptArgs`): the
/// parts `ToArg::to_arg(false)` reads, copied (a buffer's length, whether an OVERLAPPED
/// was given), so that the argument list is built only if the call does block (issue 13:
/// most calls complete at once, and the request itself moves into its handler).
/// `kept_arg(keep(x))` is `x.to_arg(false)`.
pub(crate) trait Keep {
    /// The kept parts.
    type Kept;
    /// Copies the parts the argument is built from.
    fn keep(&self) -> Self::Kept;
    /// The argument, as `to_arg(false)` gives it.
    fn kept_arg(kept: Self::Kept) -> Option<ArgValue>;
}

/// Values kept as they are (small `Copy` values, and the few lists and names a blocking
/// call shows in full).
macro_rules! keep_as_is {
    ($($t:ty),* $(,)?) => {$(
        impl Keep for $t {
            type Kept = $t;
            fn keep(&self) -> $t {
                self.clone()
            }
            fn kept_arg(kept: $t) -> Option<ArgValue> {
                ToArg::to_arg(&kept, false)
            }
        }
    )*};
}

/// Values of calls that cannot block (kept only when a call queues behind a file
/// object's I/O lock): the argument itself, built at once.
macro_rules! keep_built {
    ($($t:ty),* $(,)?) => {$(
        impl Keep for $t {
            type Kept = Option<Box<ArgValue>>;
            fn keep(&self) -> Option<Box<ArgValue>> {
                ToArg::to_arg(self, false).map(Box::new)
            }
            fn kept_arg(kept: Option<Box<ArgValue>>) -> Option<ArgValue> {
                kept.map(|b| *b)
            }
        }
    )*};
}

/// Values that never show as an argument.
macro_rules! keep_nothing {
    ($($t:ty),* $(,)?) => {$(
        impl Keep for $t {
            type Kept = ();
            fn keep(&self) {}
            fn kept_arg(_: ()) -> Option<ArgValue> {
                None
            }
        }
    )*};
}

keep_as_is!(
    HANDLE,
    HWND,
    bool,
    i32,
    isize,
    u32,
    u64,
    usize,
    Option<i32>,
    Option<crate::types::SOCKADDR_IN>,
    Option<String>,
    Vec<HANDLE>,
    Option<Vec<HANDLE>>,
);
keep_nothing!(
    ApcRoutine,
    ThreadStart,
    MemoryAccess,
    crate::api::IoBuffer,
    Option<crate::api::IoBuffer>,
    crate::kernel::io::IoCompletionRoutine,
);
keep_built!(
    GUID,
    ComPtr,
    crate::error::HRESULT,
    IStream,
    MSG,
    Option<ComPtr>,
    Option<IStream>,
    Option<MessageFilter>,
    Option<SENDASYNCPROC>,
    Option<TIMERPROC>,
    Option<TimerApcRoutine>,
    Option<Vec<u8>>,
    Option<WNDPROC>,
    STARTUPINFO,
    String,
    ToyMethod,
    crate::mq::MQMSGPROPS,
    crate::mq::MQQUEUEPROPS,
    Option<u32>,
    i64,
    u16,
);

impl Keep for Vec<u8> {
    /// The length (the preview is the trace's only).
    type Kept = u32;
    fn keep(&self) -> u32 {
        u32::try_from(self.len()).unwrap_or(u32::MAX)
    }
    fn kept_arg(len: u32) -> Option<ArgValue> {
        Some(ArgValue::Bytes { len, preview: crate::trace::Text::default() })
    }
}
impl Keep for Option<COPYDATASTRUCT> {
    type Kept = Option<u32>;
    fn keep(&self) -> Option<u32> {
        self.as_ref().map(|c| c.lpData.keep())
    }
    fn kept_arg(len: Option<u32>) -> Option<ArgValue> {
        len.and_then(Vec::<u8>::kept_arg)
    }
}
impl Keep for Option<crate::api::Overlapped> {
    type Kept = bool;
    fn keep(&self) -> bool {
        self.is_some()
    }
    fn kept_arg(given: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(given.then(|| "overlapped".to_string())))
    }
}
impl Keep for crate::api::Overlapped {
    type Kept = ();
    fn keep(&self) {}
    fn kept_arg(_: ()) -> Option<ArgValue> {
        Some(ArgValue::Str(Some("overlapped".to_string())))
    }
}
impl Keep for Option<crate::kernel::io::IoCompletionRoutine> {
    type Kept = bool;
    fn keep(&self) -> bool {
        self.is_some()
    }
    fn kept_arg(given: bool) -> Option<ArgValue> {
        Some(ArgValue::Str(given.then(|| "routine".to_string())))
    }
}
impl Keep for Option<crate::mq::MqAsyncReceive> {
    /// Whether it is a callback, if the receive is asynchronous.
    type Kept = Option<bool>;
    fn keep(&self) -> Option<bool> {
        self.as_ref().map(|a| a.callback)
    }
    fn kept_arg(callback: Option<bool>) -> Option<ArgValue> {
        callback.map(|c| ArgValue::Str(Some(if c { "callback" } else { "overlapped" }.to_string())))
    }
}
impl Keep for Vec<(HANDLE, i16)> {
    type Kept = Vec<HANDLE>;
    fn keep(&self) -> Vec<HANDLE> {
        self.iter().map(|&(h, _)| h).collect()
    }
    fn kept_arg(v: Vec<HANDLE>) -> Option<ArgValue> {
        Some(ArgValue::Handles(v))
    }
}

/// A field's kept type (`Keep`); a field with a renderer is a number, kept as it is.
macro_rules! api_kept_ty {
    ($t:ty) => {
        <$t as Keep>::Kept
    };
    ($t:ty, $r:ident) => {
        $t
    };
}

/// A field kept (`Request::keep_args`).
macro_rules! api_keep {
    ($f:ident, $t:ty) => {
        <$t as Keep>::keep($f)
    };
    ($f:ident, $t:ty, $r:ident) => {
        *$f
    };
}

/// A kept field's argument (`KeptArgs::args_into`), as `api_arg!` without `full` gives it.
macro_rules! api_kept_arg {
    ($f:ident, $t:ty) => {
        <$t as Keep>::kept_arg($f)
    };
    ($f:ident, $t:ty, $r:ident) => {
        Some(ArgValue::$r(&$f))
    };
}

/// One field's handles, for `Request::visit_handles` (a field with a renderer is a number).
macro_rules! api_visit {
    ($fn:ident, $alertable:ident, $f:ident) => {
        ToArg::visit_handles($f, $fn);
        if stringify!($f) == "alertable" {
            $alertable |= ToArg::is_true($f);
        }
    };
    ($fn:ident, $alertable:ident, $f:ident, $r:ident) => {};
}

/// Declares the API table. Each line:
/// `Name(field: Type [render], ...) -> RetKind [, blocks] => kernel_method;`
/// where `[render]` optionally names an `ArgValue` constructor for the trace (`timeout`,
/// `flags`), and `blocks` marks a call that can become a pending operation.
macro_rules! api_table {
    ($(
        $(#[$doc:meta])*
        $name:ident ( $($f:ident : $t:ty $([$r:ident])?),* $(,)? )
        $(boxed $bx:ident { $($bf:ident : $bt:ty $([$br:ident])?),* $(,)? })?
        -> $ret:ident $(, $blocks:ident)? => $handler:ident;
    )*) => {
        /// One Win32 call, as the kernel sees it: the Win32 function of the same name with
        /// its parameters (documented on the `ThreadCtx` method that posts it). The
        /// parameters of a call whose line says `boxed` are held in a box (its struct in
        /// `boxed`), after those in parentheses: such calls are large and rare, and a box
        /// keeps every request small, so that the usual ones move cheaply from the
        /// thread's future to their handler (issue 13).
        ///
        /// Its tag is a field of its own (`repr(u16)`: there are more than 256 calls).
        /// Left to the compiler, the tag was folded into a spare range of a field (a
        /// `Vec`'s capacity), and telling a parked call's kind, as every step does, decoded
        /// it in about 14 instructions, where a field of its own is one comparison. Each
        /// call's fields then follow the tag in their order: a call whose fields would
        /// make every request larger than 48 bytes is boxed (issue 13).
        #[allow(missing_docs, non_camel_case_types)]
        #[repr(u16)]
        pub enum Request {
            $( $(#[$doc])* $name { $($f: $t,)* $($bx: Box<boxed::$name>,)? }, )*
        }

        /// The boxed parameters of the calls whose table line says `boxed` (`Request`).
        #[allow(missing_docs, non_camel_case_types)]
        pub mod boxed {
            use super::*;
            $($(
                #[doc = concat!("The boxed parameters (`", stringify!($bx), "`) of `Request::", stringify!($name), "`.")]
                pub struct $name { $(pub $bf: $bt),* }
            )?)*
        }

        /// A call's arguments as a pending operation keeps them (`args_with(false)`),
        /// in the parts they are built from: what a call that may block keeps before it
        /// runs, its list built only if it does block (`Request::keep_args`).
        /// With a tag of its own, as `Request`'s: left to the compiler, the tag was folded
        /// into a `Vec`'s capacity, and making an operation (`OpArgs::new`, for every call
        /// that blocks) decoded it to tell the usual kinds (issue 13).
        #[allow(non_camel_case_types)]
        #[derive(Clone)]
        #[repr(u16)]
        pub(crate) enum KeptArgs {
            $( $name { $($f: api_kept_ty!($t $(, $r)?),)* $($($bf: api_kept_ty!($bt $(, $br)?),)*)? }, )*
        }

        /// The id of a Win32 function winsim executes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[allow(missing_docs, non_camel_case_types)]
        pub enum Api {
            $( $name, )*
        }

        impl Api {
            /// The Win32 function name.
            pub fn name(self) -> &'static str {
                match self { $( Api::$name => stringify!($name), )* }
            }
            /// Its return type.
            pub fn ret_kind(self) -> RetKind {
                match self { $( Api::$name => RetKind::$ret, )* }
            }
            /// Whether the call can become a pending operation.
            #[inline]
            pub fn may_block(self) -> bool {
                // A table (one load) rather than a match (a jump through a table).
                const BLOCKS: [bool; [$( Api::$name, )*].len()] = [$( api_blocks!($($blocks)?), )*];
                BLOCKS[self as usize]
            }
            /// How many arguments its request has (the most its list may hold).
            fn arg_count(self) -> usize {
                const COUNTS: [usize; [$( Api::$name, )*].len()] =
                    [$( 0 $( + api_count!($f) )* $($( + api_count!($bf) )*)?, )*];
                COUNTS[self as usize]
            }
            /// Every API, in table order.
            pub const ALL: &'static [Api] = &[$( Api::$name, )*];
        }

        impl Request {
            /// Which API this is.
            pub fn api(&self) -> Api {
                match self { $( Request::$name { .. } => Api::$name, )* }
            }
            /// The arguments, typed, for the trace.
            pub fn args(&self) -> Vec<Arg> {
                self.args_with(true)
            }

            /// Calls `f` with every handle the call names (the handles its arguments show)
            /// and returns whether it has an `alertable` argument that is TRUE: what the
            /// data-race detector takes its keys from at every call (§25.2), without
            /// building the arguments.
            #[allow(unused_variables, unused_mut)]
            pub(crate) fn visit_handles(&self, f: &mut dyn FnMut(HANDLE)) -> bool {
                match self {
                    $( Request::$name { $($f,)* $($bx,)? } => {
                        $( let boxed::$name { $($bf),* } = &**$bx; )?
                        let mut alertable = false;
                        $( api_visit!(f, alertable, $f $(, $r)?); )*
                        $($( api_visit!(f, alertable, $bf $(, $br)?); )*)?
                        alertable
                    } )*
                }
            }

            /// What the call's pending operation would show as its arguments, kept before
            /// the call runs (its handler takes the request): `args_with(false)` once
            /// built (`KeptArgs::args_into`).
            #[allow(unused_variables)]
            pub(crate) fn keep_args(&self) -> KeptArgs {
                match self {
                    $( Request::$name { $($f,)* $($bx,)? } => {
                        $( let boxed::$name { $($bf),* } = &**$bx; )?
                        KeptArgs::$name {
                            $($f: api_keep!($f, $t $(, $r)?),)*
                            $($($bf: api_keep!($bf, $bt $(, $br)?),)*)?
                        }
                    } )*
                }
            }

            /// The arguments; without `full`, the costly parts only the trace shows (a
            /// buffer's preview) are left out: what a pending operation keeps for the
            /// deadlock report, the same whether or not the trace is on.
            #[allow(unused_variables, unused_mut)]
            pub fn args_with(&self, full: bool) -> Vec<Arg> {
                let mut v = Vec::with_capacity(self.api().arg_count());
                self.args_into(full, &mut v);
                v
            }

            /// `args_with`'s list, appended to `v` (a traced call's list is built in a
            /// buffer kept from call to call, and shared from there: `Kernel::shown_args`).
            #[allow(unused_variables, unused_mut)]
            pub(crate) fn args_into(&self, full: bool, v: &mut Vec<Arg>) {
                match self {
                    $( Request::$name { $($f,)* $($bx,)? } => {
                        $( let boxed::$name { $($bf),* } = &**$bx; )?
                        $( if let Some(a) = api_arg!(full, $f $(, $r)?) { v.push(Arg::new(stringify!($f), a)); } )*
                        $($( if let Some(a) = api_arg!(full, $bf $(, $br)?) { v.push(Arg::new(stringify!($bf), a)); } )*)?
                    } )*
                }
            }
        }

        impl KeptArgs {
            /// The list `Request::args_with(false)` gives, appended to `v`.
            #[allow(unused_variables)]
            pub(crate) fn args_into(self, v: &mut Vec<Arg>) {
                match self {
                    $( KeptArgs::$name { $($f,)* $($($bf,)*)? } => {
                        $( if let Some(a) = api_kept_arg!($f, $t $(, $r)?) { v.push(Arg::new(stringify!($f), a)); } )*
                        $($( if let Some(a) = api_kept_arg!($bf, $bt $(, $br)?) { v.push(Arg::new(stringify!($bf), a)); } )*)?
                    } )*
                }
            }
        }

        impl crate::kernel::Kernel {
            /// Executes a request: the one dispatch of every API.
            pub(crate) fn dispatch(&mut self, pid: crate::kernel::Pid, tid: crate::kernel::Tid, req: Request) -> crate::kernel::Exec {
                match req {
                    $( Request::$name { $($f,)* $($bx,)? } => {
                        $( let boxed::$name { $($bf),* } = *$bx; )?
                        self.$handler(pid, tid, $($f,)* $($($bf,)*)?).into()
                    } )*
                }
            }
        }
    };
}

impl Request {
    /// `keep_args` written into `slot`, which holds none (they are not dropped), with the
    /// three calls made most that may block (ReadFile, WriteFile, WaitForSingleObject)
    /// kept inline, each written in place (not built in a temporary and moved: a
    /// `KeptArgs` is large) rather than through the table's match.
    #[inline(always)]
    pub(crate) fn keep_args_into(&self, slot: &mut Option<KeptArgs>) {
        debug_assert!(slot.is_none(), "simulator bug: kept arguments overwritten");
        let old = match self {
            Request::ReadFile { handle, len, overlapped, buffer } => {
                slot.replace(KeptArgs::read_file(handle, len, overlapped, buffer))
            }
            Request::WriteFile { handle, data, overlapped } => {
                slot.replace(KeptArgs::write_file(handle, data, overlapped))
            }
            Request::WaitForSingleObject { handle, timeout_ms } => {
                slot.replace(KeptArgs::wait_for_single_object(handle, timeout_ms))
            }
            _ => slot.replace(self.keep_args()),
        };
        std::mem::forget(old);
    }
}

/// What `Request::keep_args` keeps of the three calls made most that may block, from
/// their requests' fields: for a caller that has the fields at hand (the call wrapper's
/// arms, which keep them without a second match on the request).
impl KeptArgs {
    /// The handle of the three calls made most that may block (WaitForSingleObject,
    /// ReadFile, WriteFile), from their kept arguments; `None` for any other call's.
    #[inline(always)]
    pub(crate) fn usual_handle(kept: Option<&KeptArgs>) -> Option<HANDLE> {
        match kept {
            Some(
                KeptArgs::WaitForSingleObject { handle, .. }
                | KeptArgs::ReadFile { handle, .. }
                | KeptArgs::WriteFile { handle, .. },
            ) => Some(*handle),
            _ => None,
        }
    }

    /// ReadFile's.
    #[inline(always)]
    pub(crate) fn read_file(
        handle: &HANDLE,
        len: &u32,
        overlapped: &Option<crate::api::Overlapped>,
        buffer: &Option<crate::api::IoBuffer>,
    ) -> KeptArgs {
        KeptArgs::ReadFile {
            handle: Keep::keep(handle),
            len: Keep::keep(len),
            overlapped: Keep::keep(overlapped),
            buffer: Keep::keep(buffer),
        }
    }

    /// WriteFile's.
    #[inline(always)]
    #[allow(clippy::ptr_arg)] // (`Keep` is for the request's own type)
    pub(crate) fn write_file(handle: &HANDLE, data: &Vec<u8>, overlapped: &Option<crate::api::Overlapped>) -> KeptArgs {
        KeptArgs::WriteFile { handle: Keep::keep(handle), data: Keep::keep(data), overlapped: Keep::keep(overlapped) }
    }

    /// WaitForSingleObject's.
    #[inline(always)]
    pub(crate) fn wait_for_single_object(handle: &HANDLE, timeout_ms: &u32) -> KeptArgs {
        KeptArgs::WaitForSingleObject { handle: Keep::keep(handle), timeout_ms: *timeout_ms }
    }
}

/// Whether the kept arguments of a call of `api` hold nothing to free (ReadFile's,
/// WriteFile's and WaitForSingleObject's: handles, lengths, time-outs and flags), so that
/// they may be forgotten instead of dropped through the table's drop glue. (Told by the
/// API, which the caller has in a register, rather than by the kept arguments' own kind,
/// which is the same.)
#[inline(always)]
pub(crate) fn kept_is_plain(api: Api) -> bool {
    matches!(api, Api::ReadFile | Api::WriteFile | Api::WaitForSingleObject)
}

api_table! {
    CreateThread(inherit: bool, flags: u32 [flags], start: ThreadStart) -> Handle => create_thread;
    ResumeThread(thread: HANDLE) -> Dword => resume_thread;
    SuspendThread(thread: HANDLE) -> Dword => suspend_thread;
    ExitThread(exit_code: u32) -> Void => exit_thread;
    TerminateThread(thread: HANDLE, exit_code: u32) -> Bool => terminate_thread;
    GetExitCodeThread(thread: HANDLE) -> Bool => get_exit_code_thread;
    CreateProcess() boxed args { application_name: Option<String>, command_line: Option<String>, inherit_process: bool, inherit_thread: bool, inherit_handles: bool, flags: u32 [flags], stdio: STARTUPINFO } -> Bool => create_process;
    ExitProcess(exit_code: u32) -> Void => exit_process_call;
    TerminateProcess(process: HANDLE, exit_code: u32) -> Bool => terminate_process;
    GetExitCodeProcess(process: HANDLE) -> Bool => get_exit_code_process;
    OpenProcess(access: u32 [flags], inherit: bool, pid: u32) -> Handle => open_process;
    CloseHandle(handle: HANDLE) -> Bool => close_handle_call;
    DuplicateHandle(
        source_process: HANDLE,
        source: HANDLE,
        target_process: HANDLE,
        access: u32 [flags],
        inherit: bool,
        options: u32 [flags],
    ) -> Bool => duplicate_handle;
    SetHandleInformation(handle: HANDLE, mask: u32 [flags], flags: u32 [flags]) -> Bool => set_handle_information;
    GetHandleInformation(handle: HANDLE) -> Bool => get_handle_information;
    WaitForSingleObject(handle: HANDLE, timeout_ms: u32 [timeout]) -> Wait, blocks => wait_for_single_object;
    WaitForMultipleObjects(handles: Vec<HANDLE>, wait_all: bool, timeout_ms: u32 [timeout]) -> Wait, blocks
        => wait_for_multiple_objects;
    SignalObjectAndWait(signal: HANDLE, wait: HANDLE, timeout_ms: u32 [timeout], alertable: bool) -> Wait, blocks
        => signal_object_and_wait;
    Sleep(ms: u32 [timeout]) -> Void, blocks => sleep;
    SleepEx(ms: u32 [timeout], alertable: bool) -> Wait, blocks => sleep_ex;
    WaitForSingleObjectEx(handle: HANDLE, timeout_ms: u32 [timeout], alertable: bool) -> Wait, blocks
        => wait_for_single_object_ex;
    WaitForMultipleObjectsEx(handles: Vec<HANDLE>, wait_all: bool, timeout_ms: u32 [timeout], alertable: bool)
        -> Wait, blocks => wait_for_multiple_objects_ex;
    QueueUserAPC(routine: ApcRoutine, thread: HANDLE, data: usize) -> Dword => queue_user_apc;
    CreateEvent(inherit: bool, manual_reset: bool, initial_state: bool, name: Option<String>) -> Handle => create_event;
    OpenEvent(access: u32 [flags], inherit: bool, name: Option<String>) -> Handle => open_event;
    SetEvent(event: HANDLE) -> Bool => set_event;
    ResetEvent(event: HANDLE) -> Bool => reset_event;
    PulseEvent(event: HANDLE) -> Bool => pulse_event;
    CreateMutex(inherit: bool, initial_owner: bool, name: Option<String>) -> Handle => create_mutex;
    OpenMutex(access: u32 [flags], inherit: bool, name: Option<String>) -> Handle => open_mutex;
    ReleaseMutex(mutex: HANDLE) -> Bool => release_mutex;
    CreateSemaphore(inherit: bool, initial: i32, maximum: i32, name: Option<String>) -> Handle => create_semaphore;
    OpenSemaphore(access: u32 [flags], inherit: bool, name: Option<String>) -> Handle => open_semaphore;
    ReleaseSemaphore(semaphore: HANDLE, count: i32) -> Bool => release_semaphore;
    CreateWaitableTimer(inherit: bool, manual_reset: bool, name: Option<String>) -> Handle => create_waitable_timer;
    CreateWaitableTimerEx(inherit: bool, name: Option<String>, flags: u32 [flags], access: u32 [flags]) -> Handle
        => create_waitable_timer_ex;
    OpenWaitableTimer(access: u32 [flags], inherit: bool, name: Option<String>) -> Handle => open_waitable_timer;
    SetWaitableTimer(timer: HANDLE) boxed args {
        due_time: i64,
        period_ms: i32,
        completion_routine: Option<TimerApcRoutine>,
        resume: bool,
    } -> Bool => set_waitable_timer;
    CancelWaitableTimer(timer: HANDLE) -> Bool => cancel_waitable_timer;
    GetTickCount() -> Dword => get_tick_count;
    GetTickCount64() -> Void => get_tick_count64;
    QueryPerformanceCounter() -> Bool => query_performance_counter;
    QueryPerformanceFrequency() -> Bool => query_performance_frequency;
    GetSystemTimeAsFileTime() -> Void => get_system_time_as_file_time;
    CreatePipe(inherit: bool, size: u32) -> Bool => create_pipe;
    ReadFile(handle: HANDLE, len: u32, overlapped: Option<crate::api::Overlapped>, buffer: Option<crate::api::IoBuffer>)
        -> Bool, blocks => read_file;
    WriteFile(handle: HANDLE, data: Vec<u8>, overlapped: Option<crate::api::Overlapped>) -> Bool, blocks => write_file;
    PeekNamedPipe(handle: HANDLE, len: u32) -> Bool => peek_named_pipe;
    GetNamedPipeInfo(handle: HANDLE) -> Bool => get_named_pipe_info;
    FlushFileBuffers(handle: HANDLE) -> Bool, blocks => flush_file_buffers;
    CreateNamedPipe() boxed args { name: Option<String>, open_mode: u32 [flags], pipe_mode: u32 [flags], max_instances: u32, out_buffer_size: u32, in_buffer_size: u32, default_timeout_ms: u32 [timeout], inherit: bool } -> HandleOrInvalid => create_named_pipe;
    CreateFile() boxed args { name: Option<String>, access: u32 [flags], share_mode: u32 [flags], inherit: bool, disposition: u32, flags: u32 [flags], template: HANDLE } -> HandleOrInvalid => create_file;
    WaitNamedPipe(name: Option<String>, timeout_ms: u32 [timeout]) -> Bool, blocks => wait_named_pipe;
    ConnectNamedPipe(pipe: HANDLE, overlapped: Option<crate::api::Overlapped>) -> Bool, blocks => connect_named_pipe;
    DisconnectNamedPipe(pipe: HANDLE) -> Bool => disconnect_named_pipe;
    SetNamedPipeHandleState(
        pipe: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> Bool => set_named_pipe_handle_state;
    GetNamedPipeHandleState(pipe: HANDLE, collection: bool, user_name: bool) -> Bool => get_named_pipe_handle_state;
    GetNamedPipeClientProcessId(pipe: HANDLE) -> Bool => get_named_pipe_client_process_id;
    GetNamedPipeServerProcessId(pipe: HANDLE) -> Bool => get_named_pipe_server_process_id;
    TransactNamedPipe(pipe: HANDLE) boxed args { data: Vec<u8>, len: u32, overlapped: Option<crate::api::Overlapped>, buffer: Option<crate::api::IoBuffer> } -> Bool, blocks => transact_named_pipe;
    GetOverlappedResult(handle: HANDLE, overlapped: crate::api::Overlapped, timeout_ms: u32 [timeout], alertable: bool)
        -> Bool, blocks => get_overlapped_result;
    ReadFileEx() boxed args { handle: HANDLE, len: u32, overlapped: crate::api::Overlapped, buffer: crate::api::IoBuffer, routine: crate::kernel::io::IoCompletionRoutine } -> Bool => read_file_ex;
    WriteFileEx() boxed args { handle: HANDLE, data: Vec<u8>, overlapped: crate::api::Overlapped, routine: crate::kernel::io::IoCompletionRoutine } -> Bool => write_file_ex;
    CancelIo(handle: HANDLE) -> Bool => cancel_io;
    CancelIoEx(handle: HANDLE, overlapped: Option<crate::api::Overlapped>) -> Bool => cancel_io_ex;
    CancelSynchronousIo(thread: HANDLE) -> Bool => cancel_synchronous_io;
    CreateIoCompletionPort(file: HANDLE, existing_port: HANDLE, key: usize, concurrency: u32) -> Handle
        => create_io_completion_port;
    GetQueuedCompletionStatus(port: HANDLE, max: u32, timeout_ms: u32 [timeout], alertable: bool) -> Bool, blocks
        => get_queued_completion_status;
    GetQueuedCompletionStatusEx(port: HANDLE, max: u32, timeout_ms: u32 [timeout], alertable: bool) -> Bool, blocks
        => get_queued_completion_status;
    PostQueuedCompletionStatus(port: HANDLE, bytes: u32, key: usize, overlapped: Option<crate::api::Overlapped>) -> Bool
        => post_queued_completion_status;
    SetFileCompletionNotificationModes(handle: HANDLE, flags: u32 [flags]) -> Bool
        => set_file_completion_notification_modes;
    CreateMailslot(name: Option<String>, max_message_size: u32, read_timeout_ms: u32 [timeout], inherit: bool)
        -> HandleOrInvalid => create_mailslot;
    GetMailslotInfo(mailslot: HANDLE) -> Bool => get_mailslot_info;
    SetMailslotInfo(mailslot: HANDLE, read_timeout_ms: u32 [timeout]) -> Bool => set_mailslot_info;
    CreateFileMapping() boxed args { file: HANDLE, inherit: bool, protect: u32 [flags], maximum_size: u64, name: Option<String> }
        -> Handle => create_file_mapping;
    OpenFileMapping(access: u32 [flags], inherit: bool, name: Option<String>) -> Handle => open_file_mapping;
    MapViewOfFile(mapping: HANDLE, access: u32 [flags], offset: u64, bytes: u64) -> Ptr => map_view_of_file;
    MapViewOfFileEx(mapping: HANDLE, access: u32 [flags], offset: u64, bytes: u64, base: u64 [addr]) -> Ptr
        => map_view_of_file_ex;
    UnmapViewOfFile(base: u64 [addr]) -> Bool => unmap_view_of_file;
    FlushViewOfFile(base: u64 [addr], bytes: u64) -> Bool => flush_view_of_file;
    /// winsim's step, not a Win32 function: a load of `len` bytes of simulated memory
    /// (one atomic part of a `ThreadCtx::read_memory`).
    ReadMemory(address: u64 [addr], len: u32, whole: MemoryAccess) -> Void => read_memory;
    /// winsim's step, not a Win32 function: a store to simulated memory (one atomic part
    /// of a `ThreadCtx::write_memory`).
    WriteMemory() boxed args { address: u64 [addr], data: Vec<u8>, whole: MemoryAccess } -> Void => write_memory;
    InterlockedIncrement(address: u64 [addr]) -> Long => interlocked_increment;
    InterlockedDecrement(address: u64 [addr]) -> Long => interlocked_decrement;
    InterlockedExchange(address: u64 [addr], value: i32) -> Long => interlocked_exchange;
    InterlockedExchangeAdd(address: u64 [addr], value: i32) -> Long => interlocked_exchange_add;
    InterlockedCompareExchange(address: u64 [addr], exchange: i32, comparand: i32) -> Long
        => interlocked_compare_exchange;
    InterlockedAnd(address: u64 [addr], value: i32) -> Long => interlocked_and;
    InterlockedOr(address: u64 [addr], value: i32) -> Long => interlocked_or;
    InterlockedIncrement64(address: u64 [addr]) -> Long => interlocked_increment64;
    InterlockedDecrement64(address: u64 [addr]) -> Long => interlocked_decrement64;
    InterlockedExchange64(address: u64 [addr], value: i64) -> Long => interlocked_exchange64;
    InterlockedExchangeAdd64(address: u64 [addr], value: i64) -> Long => interlocked_exchange_add64;
    InterlockedCompareExchange64(address: u64 [addr], exchange: i64, comparand: i64) -> Long
        => interlocked_compare_exchange64;
    InterlockedAnd64(address: u64 [addr], value: i64) -> Long => interlocked_and64;
    InterlockedOr64(address: u64 [addr], value: i64) -> Long => interlocked_or64;
    MemoryBarrier() -> Void => memory_barrier;
    InitializeCriticalSection(lock: u64, spin_count: u32) -> Void => initialize_critical_section;
    InitializeCriticalSectionAndSpinCount(lock: u64, spin_count: u32) -> Bool => initialize_critical_section;
    EnterCriticalSection(lock: u64) -> Void, blocks => enter_critical_section;
    TryEnterCriticalSection(lock: u64) -> Bool => try_enter_critical_section;
    LeaveCriticalSection(lock: u64) -> Void => leave_critical_section;
    DeleteCriticalSection(lock: u64) -> Void => delete_critical_section;
    AcquireSRWLockExclusive(lock: u64) -> Void, blocks => acquire_srw_lock_exclusive;
    AcquireSRWLockShared(lock: u64) -> Void, blocks => acquire_srw_lock_shared;
    TryAcquireSRWLockExclusive(lock: u64) -> Bool => try_acquire_srw_lock_exclusive;
    TryAcquireSRWLockShared(lock: u64) -> Bool => try_acquire_srw_lock_shared;
    ReleaseSRWLockExclusive(lock: u64) -> Void => release_srw_lock_exclusive;
    ReleaseSRWLockShared(lock: u64) -> Void => release_srw_lock_shared;
    SleepConditionVariableCS(cv: u64, lock: u64, timeout_ms: u32 [timeout]) -> Bool, blocks
        => sleep_condition_variable_cs;
    SleepConditionVariableSRW(cv: u64, lock: u64, timeout_ms: u32 [timeout], flags: u32 [flags]) -> Bool, blocks
        => sleep_condition_variable_srw;
    WakeConditionVariable(cv: u64) -> Void => wake_condition_variable;
    WakeAllConditionVariable(cv: u64) -> Void => wake_all_condition_variable;
    InitOnceBeginInitialize(once: u64, flags: u32 [flags]) -> Bool, blocks => init_once_begin_initialize;
    InitOnceComplete(once: u64, flags: u32 [flags], context: u64 [addr]) -> Bool => init_once_complete;
    WaitOnAddress(address: u64 [addr], compare: Vec<u8>, timeout_ms: u32 [timeout]) -> Bool, blocks
        => wait_on_address;
    WakeByAddressSingle(address: u64 [addr]) -> Void => wake_by_address_single;
    WakeByAddressAll(address: u64 [addr]) -> Void => wake_by_address_all;
    VirtualAlloc(address: u64 [addr], size: u64, allocation_type: u32 [flags], protect: u32 [flags]) -> Ptr
        => virtual_alloc;
    VirtualFree(address: u64 [addr], size: u64, free_type: u32 [flags]) -> Bool => virtual_free;
    VirtualQuery(address: u64 [addr], length: u64) -> Bool => virtual_query;
    VirtualProtect(address: u64 [addr], size: u64, new_protect: u32 [flags]) -> Bool => virtual_protect;
    GetProcessHeap() -> Ptr => get_process_heap;
    HeapCreate(options: u32 [flags], initial_size: u64, maximum_size: u64) -> Ptr => heap_create;
    HeapDestroy(heap: u64 [addr]) -> Bool => heap_destroy;
    HeapAlloc(heap: u64 [addr], flags: u32 [flags], bytes: u64) -> Ptr => heap_alloc;
    HeapFree(heap: u64 [addr], flags: u32 [flags], mem: u64 [addr]) -> Bool => heap_free;
    HeapReAlloc(heap: u64 [addr], flags: u32 [flags], mem: u64 [addr], bytes: u64) -> Ptr => heap_re_alloc;
    HeapSize(heap: u64 [addr], flags: u32 [flags], mem: u64 [addr]) -> Long => heap_size;
    RegisterClassEx(class_name: String, wnd_proc: Option<WNDPROC>) -> Long => register_class;
    UnregisterClass(class_name: String) -> Bool => unregister_class;
    CreateWindowEx() boxed args { ex_style: u32 [flags], class_name: String, window_name: String, style: u32 [flags], parent: HWND, id: isize } -> Hwnd => create_window_ex;
    DestroyWindow(hwnd: HWND) -> Bool => destroy_window;
    IsWindow(hwnd: HWND) -> Bool => is_window;
    GetWindowThreadProcessId(hwnd: HWND) -> Long => get_window_thread_process_id;
    FindWindowEx() boxed args { parent: HWND, after: HWND, class_name: Option<String>, window_name: Option<String> } -> Hwnd
        => find_window_ex;
    SetWindowLongPtr(hwnd: HWND, index: i32, value: isize) -> Long => set_window_long_ptr;
    GetWindowLongPtr(hwnd: HWND, index: i32) -> Long => get_window_long_ptr;
    RegisterWindowMessage(name: String) -> Long => register_window_message;
    PostMessage(hwnd: HWND, msg: u32 [message], wparam: usize, lparam: isize) -> Bool => post_message;
    PostThreadMessage(thread_id: u32, msg: u32 [message], wparam: usize, lparam: isize) -> Bool
        => post_thread_message;
    PostQuitMessage(exit_code: i32) -> Void => post_quit_message;
    GetMessage(hwnd: HWND, min: u32 [msgfilter], max: u32 [msgfilter]) -> GetMessage, blocks => get_message;
    PeekMessage(hwnd: HWND, min: u32 [msgfilter], max: u32 [msgfilter], remove: u32 [flags]) -> Bool => peek_message;
    WaitMessage() -> Bool, blocks => wait_message;
    GetQueueStatus(flags: u32 [flags]) -> Long => get_queue_status;
    MsgWaitForMultipleObjectsEx(handles: Vec<HANDLE>, timeout_ms: u32 [timeout], wake_mask: u32 [flags], flags: u32 [flags])
        -> Wait, blocks => msg_wait_for_multiple_objects_ex;
    DispatchMessage(msg: MSG) -> Long => dispatch_message;
    SendMessage() boxed args { hwnd: HWND, msg: u32 [message], wparam: usize, lparam: isize, copydata: Option<COPYDATASTRUCT> }
        -> Long, blocks => send_message;
    SendMessageTimeout() boxed args { hwnd: HWND, msg: u32 [message], wparam: usize, lparam: isize, flags: u32 [flags], timeout_ms: u32 [timeout], copydata: Option<COPYDATASTRUCT> } -> Long, blocks => send_message_timeout;
    SendNotifyMessage(hwnd: HWND, msg: u32 [message], wparam: usize, lparam: isize) -> Bool => send_notify_message;
    SendMessageCallback() boxed args { hwnd: HWND, msg: u32 [message], wparam: usize, lparam: isize, callback: Option<SENDASYNCPROC>, data: usize } -> Bool => send_message_callback;
    ReplyMessage(result: isize) -> Bool => reply_message;
    SetTimer(hwnd: HWND, id: usize, elapse_ms: u32, timer_proc: Option<TIMERPROC>) -> Long => set_timer;
    KillTimer(hwnd: HWND, id: usize) -> Bool => kill_timer;
    WSAStartup(version: u16) -> Int => wsa_startup;
    WSACleanup() -> Int => wsa_cleanup;
    socket(af: i32, ty: i32, protocol: i32, flags: u32 [flags]) -> HandleOrInvalid => socket;
    WSASocket(af: i32, ty: i32, protocol: i32, flags: u32 [flags]) -> HandleOrInvalid => wsa_socket;
    bind(s: HANDLE, name: Option<crate::types::SOCKADDR_IN>, namelen: i32) -> Int => bind;
    listen(s: HANDLE, backlog: i32) -> Int => listen;
    accept(s: HANDLE, addrlen: Option<i32>) -> HandleOrInvalid, blocks => accept;
    connect(s: HANDLE, name: Option<crate::types::SOCKADDR_IN>, namelen: i32) -> Int, blocks => connect;
    recv(s: HANDLE, len: i32, flags: i32, from: bool) -> Int, blocks => recv;
    send() boxed args { s: HANDLE, data: Vec<u8>, len: i32, flags: i32, to: Option<crate::types::SOCKADDR_IN>, tolen: i32 } -> Int, blocks
        => send;
    shutdown(s: HANDLE, how: i32) -> Int => shutdown;
    closesocket(s: HANDLE) -> Int => closesocket;
    getsockname(s: HANDLE, namelen: i32) -> Int => getsockname;
    getpeername(s: HANDLE, namelen: i32) -> Int => getpeername;
    setsockopt() boxed args { s: HANDLE, level: i32, optname: i32, optval: Option<Vec<u8>>, optlen: i32 } -> Int => setsockopt;
    getsockopt(s: HANDLE, level: i32, optname: i32, optlen: i32) -> Int => getsockopt;
    ioctlsocket(s: HANDLE, cmd: i32, arg: Option<u32>) -> Int => ioctlsocket;
    select() boxed args { readfds: Option<Vec<HANDLE>>, writefds: Option<Vec<HANDLE>>, exceptfds: Option<Vec<HANDLE>>, timeout_ms: u32 [timeout] }
        -> Int, blocks => select;
    WSAPoll(fds: Vec<(HANDLE, i16)>, timeout: i32) -> Int, blocks => wsa_poll;
    WSAEventSelect(s: HANDLE, event: HANDLE, mask: u32 [flags]) -> Int => wsa_event_select;
    WSAEnumNetworkEvents(s: HANDLE, event: HANDLE) -> Int => wsa_enum_network_events;
    WSARecv() boxed args { s: HANDLE, len: u32, flags: u32 [flags], overlapped: Option<crate::api::Overlapped>, buffer: Option<crate::api::IoBuffer>, routine: Option<crate::kernel::io::IoCompletionRoutine> } -> Int, blocks => wsa_recv;
    WSARecvFrom() boxed args { s: HANDLE, len: u32, flags: u32 [flags], overlapped: Option<crate::api::Overlapped>, buffer: Option<crate::api::IoBuffer>, routine: Option<crate::kernel::io::IoCompletionRoutine> } -> Int, blocks => wsa_recv_from;
    WSASend() boxed args { s: HANDLE, data: Vec<u8>, flags: u32 [flags], to: Option<crate::types::SOCKADDR_IN>, tolen: i32, overlapped: Option<crate::api::Overlapped>, routine: Option<crate::kernel::io::IoCompletionRoutine> } -> Int, blocks => wsa_send;
    WSAGetOverlappedResult(s: HANDLE, overlapped: crate::api::Overlapped, wait: bool) -> Bool, blocks
        => wsa_get_overlapped_result;
    AcceptEx() boxed args { listen: HANDLE, accept: HANDLE, recv_len: u32, local_len: u32, remote_len: u32, overlapped: Option<crate::api::Overlapped>, buffer: Option<crate::api::IoBuffer> } -> Bool, blocks => accept_ex;
    ConnectEx() boxed args { s: HANDLE, name: Option<crate::types::SOCKADDR_IN>, namelen: i32, data: Vec<u8>, overlapped: Option<crate::api::Overlapped> } -> Bool, blocks => connect_ex;
    DisconnectEx(s: HANDLE, overlapped: Option<crate::api::Overlapped>, flags: u32 [flags]) -> Bool, blocks
        => disconnect_ex;
    MQCreateQueue(props: crate::mq::MQQUEUEPROPS, format_name_len: u32) -> MqHresult => mq_create_queue;
    MQDeleteQueue(format_name: String) -> MqHresult => mq_delete_queue;
    MQPathNameToFormatName(path_name: String, format_name_len: u32) -> MqHresult => mq_path_name_to_format_name;
    MQOpenQueue(format_name: String, access: u32 [flags], share_mode: u32 [flags]) -> MqHresult => mq_open_queue;
    MQCloseQueue(queue: HANDLE) -> MqHresult => mq_close_queue;
    MQGetQueueProperties(format_name: String) -> MqHresult => mq_get_queue_properties;
    MQPurgeQueue(queue: HANDLE) -> MqHresult => mq_purge_queue;
    MQCreateCursor(queue: HANDLE) -> MqHresult => mq_create_cursor;
    MQCloseCursor(cursor: HANDLE) -> MqHresult => mq_close_cursor;
    MQSendMessage(queue: HANDLE, props: crate::mq::MQMSGPROPS, transaction: HANDLE) -> MqHresult => mq_send_message;
    MQReceiveMessage() boxed args { queue: HANDLE, timeout_ms: u32 [timeout], action: u32 [flags], body_capacity: u32, cursor: HANDLE, transaction: HANDLE, asynchronous: Option<crate::mq::MqAsyncReceive> } -> MqHresult, blocks => mq_receive_message;
    MQBeginTransaction() -> MqHresult => mq_begin_transaction;
    /// ITransaction::Commit of an internal Message Queuing transaction.
    ITransactionCommit(transaction: HANDLE) -> MqHresult => itransaction_commit;
    /// ITransaction::Abort of an internal Message Queuing transaction.
    ITransactionAbort(transaction: HANDLE) -> MqHresult => itransaction_abort;
    /// ITransaction::Release: the last reference to the transaction goes.
    ITransactionRelease(transaction: HANDLE) -> MqHresult => itransaction_release;
    MQGetOverlappedResult(overlapped: crate::api::Overlapped) -> MqHresult => mq_get_overlapped_result;
    /// winsim's step, not a Win32 function: a thread that ran a message sent to it while it
    /// waited in SendMessage waits again (or takes its reply).
    SendMessageWait(sent: u64) -> Long, blocks => send_message_wait;
    /// winsim's step, not a Win32 function: a window procedure run for a message sent by
    /// another thread returned (the reply), or DestroyWindow's messages ran.
    WndProcReturn(sent: u64, hwnd: HWND, result: isize) -> Void => wnd_proc_return;
    // ----- COM apartments (objects/com.rs, api/com.rs, docs/semantics.md §21) -----
    CoInitializeEx(reserved: bool, coinit: u32 [flags]) -> Hresult => co_initialize_ex;
    CoUninitialize() -> Void => co_uninitialize;
    OleInitialize(reserved: bool) -> Hresult => ole_initialize;
    OleUninitialize() -> Void => ole_uninitialize;
    CoGetApartmentType(has_type: bool, has_qualifier: bool) -> Hresult => co_get_apartment_type;
    CoIncrementMTAUsage(has_cookie: bool) -> Hresult => co_increment_mta_usage;
    CoDecrementMTAUsage(cookie: u64) -> Hresult => co_decrement_mta_usage;
    CoCreateInstance() boxed args { clsid: GUID, outer: bool, cls_context: u32 [flags], iid: GUID, has_out: bool } -> Hresult
        => co_create_instance;
    IUnknown_QueryInterface(this: ComPtr, iid: GUID, has_out: bool) -> Hresult => iunknown_query_interface;
    CoRegisterClassObject() boxed args { clsid: GUID, unk: Option<ComPtr>, cls_context: u32 [flags], flags: u32 [flags], has_cookie: bool }
        -> Hresult => co_register_class_object;
    CoRevokeClassObject(cookie: u32) -> Hresult => co_revoke_class_object;
    CoResumeClassObjects() -> Hresult => co_resume_class_objects;
    CoGetClassObject() boxed args { clsid: GUID, cls_context: u32 [flags], iid: GUID, has_out: bool } -> Hresult => co_get_class_object;
    IClassFactory_CreateInstance(this: ComPtr, outer: bool, iid: GUID, has_out: bool) -> Hresult
        => iclassfactory_create_instance;
    /// winsim's step, not a Win32 function: a class factory's CreateInstance makes a toy
    /// object on the factory's thread (§21.17).
    ClassFactoryCreate(obj: u32, iid: GUID) -> Hresult => class_factory_create;
    IUnknown_AddRef(this: ComPtr) -> Long => iunknown_add_ref;
    IUnknown_Release(this: ComPtr) -> Long => iunknown_release;
    IToy_Add(this: ComPtr, n: i32) -> Hresult => itoy_add;
    IToy_Get(this: ComPtr) -> Hresult => itoy_get;
    IToy_CallBack(this: ComPtr, cb: Option<ComPtr>) -> Hresult => itoy_call_back;
    IToy_WaitOn(this: ComPtr, event: HANDLE) -> Hresult => itoy_wait_on;
    IToy_SendTo(this: ComPtr, hwnd: HWND, msg: u32 [message]) -> Hresult => itoy_send_to;
    IToyCallback_Notify(this: ComPtr) -> Hresult => itoy_callback_notify;
    IGlobalInterfaceTable_RegisterInterfaceInGlobal(this: ComPtr, unk: Option<ComPtr>, iid: GUID, has_cookie: bool)
        -> Hresult => git_register_interface_in_global;
    IGlobalInterfaceTable_GetInterfaceFromGlobal(this: ComPtr, cookie: u32, iid: GUID, has_out: bool) -> Hresult
        => git_get_interface_from_global;
    IGlobalInterfaceTable_RevokeInterfaceFromGlobal(this: ComPtr, cookie: u32) -> Hresult
        => git_revoke_interface_from_global;
    CoRegisterMessageFilter() boxed args { filter: Option<MessageFilter>, has_prev: bool } -> Hresult => co_register_message_filter;
    /// winsim's step, not a Win32 function: COM asks the caller's message filter what to do
    /// with a call the callee's filter refused (IMessageFilter::RetryRejectedCall).
    RetryRejectedCall(rejected: HRESULT) -> Hresult => com_retry_rejected_call;
    CreateStreamOnHGlobal(has_out: bool) -> Hresult => create_stream_on_hglobal;
    IStream_Seek(this: IStream) -> Hresult => istream_seek;
    IStream_Release(this: IStream) -> Long => istream_release;
    CoMarshalInterface() boxed args { stream: Option<IStream>, iid: GUID, unk: Option<ComPtr>, dest_context: u32, flags: u32 [flags] }
        -> Hresult => co_marshal_interface;
    CoUnmarshalInterface(stream: Option<IStream>, iid: GUID, has_out: bool) -> Hresult => co_unmarshal_interface;
    CoReleaseMarshalData(stream: Option<IStream>) -> Hresult => co_release_marshal_data;
    CoDisconnectObject(unk: Option<ComPtr>, reserved: u32) -> Hresult => co_disconnect_object;
    CoLockObjectExternal(unk: Option<ComPtr>, lock: bool, last_unlock_releases: bool) -> Hresult
        => co_lock_object_external;
    CoMarshalInterThreadInterfaceInStream(iid: GUID, unk: Option<ComPtr>, has_out: bool) -> Hresult
        => co_marshal_inter_thread_interface_in_stream;
    CoGetInterfaceAndReleaseStream(stream: Option<IStream>, iid: GUID, has_out: bool) -> Hresult
        => co_get_interface_and_release_stream;
    CoWaitForMultipleHandles(flags: u32 [flags], timeout_ms: u32 [timeout], handles: Option<Vec<HANDLE>>, has_index: bool)
        -> Hresult, blocks => co_wait_for_multiple_handles;
    /// winsim's step, not a Win32 function: the callee's stub takes a cross-apartment
    /// call to run (from the STA's hidden window procedure, or on an MTA worker).
    ComStubInvoke(call: u32) -> Hresult => com_stub_invoke;
    /// winsim's step, not a Win32 function: the callee's method returned; the reply goes
    /// back to the caller.
    ComStubReturn(call: u32, hr: HRESULT, value: i64) -> Void => com_stub_return;
    /// winsim's step, not a Win32 function: the caller takes its call's reply (the end of
    /// the call's span).
    ComCallReturn(call: u32) -> Hresult => com_call_return;
    /// winsim's step, not a Win32 function: no RPC worker thread could be started for an
    /// MTA call; it fails with RPC_E_OUT_OF_RESOURCES (§21.15).
    ComNoWorker(call: u32) -> Hresult => com_no_worker;
    /// winsim's step, not a Win32 function: COM asks the waiting caller's message filter
    /// about a window message that arrived (IMessageFilter::MessagePending, MF-6).
    MessagePending(call: u32) -> Hresult => com_message_pending;
    /// winsim's step, not a Win32 function: the caller cancels its outgoing call
    /// (PENDINGMSG_CANCELCALL, MF-6).
    ComCallCancel(call: u32) -> Hresult => com_call_cancel;
    /// winsim's step, not a Win32 function: an RPC worker thread starts in the server
    /// process of a call into another process's MTA (§21.17).
    ComStartWorker(call: u32, start: ThreadStart) -> Hresult => com_start_worker;
    /// winsim's step, not a Win32 function: a toy method begins on its object.
    ToyEnter() boxed args { obj: u32, method: ToyMethod } -> Void => toy_enter;
    /// winsim's step, not a Win32 function: a toy method ends on its object.
    ToyLeave() boxed args { obj: u32, method: ToyMethod, value: i64 } -> Void => toy_leave;
    // ----- files on the in-memory volume (objects/file.rs, docs/semantics.md §28) -----
    SetFilePointer(handle: HANDLE, distance: i64, high: bool, method: u32) -> Dword => set_file_pointer;
    SetFilePointerEx(handle: HANDLE, distance: i64, method: u32) -> Bool => set_file_pointer_ex;
    SetEndOfFile(handle: HANDLE) -> Bool => set_end_of_file;
    GetFileSize(handle: HANDLE) -> Dword => get_file_size;
    GetFileSizeEx(handle: HANDLE) -> Bool => get_file_size_ex;
    GetFileType(handle: HANDLE) -> Dword => get_file_type;
    DeleteFile(name: Option<String>) -> Bool => delete_file;
    CreateDirectory(name: Option<String>, inherit: bool) -> Bool => create_directory;
    RemoveDirectory(name: Option<String>) -> Bool => remove_directory;
}

// A request moves from the thread's future to its handler a few times per call: it is
// kept small (96 bytes before the large, rare calls' parameters were boxed). With a tag of
// its own, each call's fields are laid out in their order after it, and the largest
// (SetWaitableTimer's, 56 bytes) are boxed too. A parked thread's state holds it with no
// more room: `Run`'s other states take spare values of its tag.
const _: () = assert!(size_of::<Request>() <= 48);
const _: () = assert!(size_of::<crate::objects::thread::Run>() <= 48);

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.api(), crate::trace::render_args(&self.args()))
    }
}

/// What a completed call returns to its thread, typed by call family. The API layer
/// (api/kernel32.rs) turns it into out-parameters; `Reply::ret` into the return value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// BOOL-returning calls without out-parameters, and failures of any call.
    Bool(bool),
    /// A DWORD result (suspend counts, GetTickCount).
    U32(u32),
    /// A 64-bit out value (GetTickCount64, QueryPerformanceCounter/Frequency,
    /// GetSystemTimeAsFileTime).
    U64(u64),
    /// A wait function's result (`WAIT_OBJECT_0 + i`, `WAIT_TIMEOUT`, ...).
    Wait(u32),
    /// A handle (Create*/Open*).
    Handle(HANDLE),
    /// CreateThread: the handle and the new thread id.
    Thread(HANDLE, u32),
    /// CreatePipe: read and write handles.
    Pipe(HANDLE, HANDLE),
    /// CreateProcess.
    Process(PROCESS_INFORMATION),
    /// ReadFile: the bytes read.
    Read(Vec<u8>),
    /// WriteFile: bytes written.
    Written(u32),
    /// PeekNamedPipe: bytes copied, total bytes available, bytes left in this message.
    Peek {
        /// The bytes copied (a boxed slice: it keeps `Value` at 32 bytes).
        data: Box<[u8]>,
        /// Total unread bytes.
        avail: u32,
        /// Bytes left in the current message.
        left: u32,
    },
    /// GetNamedPipeInfo: flags, out buffer size, in buffer size, max instances.
    PipeInfo {
        /// PIPE_SERVER_END and the pipe type.
        flags: u32,
        /// nOutBufferSize.
        out_size: u32,
        /// nInBufferSize.
        in_size: u32,
        /// nMaxInstances.
        max_instances: u32,
    },
    /// GetNamedPipeHandleState: the handle's mode bits and the number of instances.
    PipeState {
        /// PIPE_NOWAIT | PIPE_READMODE_MESSAGE bits.
        state: u32,
        /// Instances of the pipe.
        instances: u32,
    },
    /// GetQueuedCompletionStatus(Ex): the packets taken.
    Packets(Vec<crate::objects::port::Packet>),
    /// A DWORD out-parameter of a BOOL call (exit codes, handle flags, process ids).
    Out(u32),
    /// ReleaseSemaphore: the previous count.
    PrevCount(i32),
    /// GetMailslotInfo's four out-parameters.
    MailslotInfo {
        /// lpMaxMessageSize.
        max_message_size: u32,
        /// lpNextSize (MAILSLOT_NO_MESSAGE when none).
        next_size: u32,
        /// lpMessageCount.
        message_count: u32,
        /// lpReadTimeout.
        read_timeout: u32,
    },
    /// GetMessage, PeekMessage: the message retrieved (boxed: it keeps `Value` at 32
    /// bytes).
    Msg(Box<MSG>),
    /// User code to run on the calling thread first (a window procedure, a callback): the
    /// API layer takes it from the kernel, runs it and goes on with the call.
    Handoff,
    /// An integer result (LRESULT, ATOM, timer id, window long, queue status).
    Long(i64),
    /// A window handle.
    Hwnd(HWND),
    /// GetWindowThreadProcessId: the thread and process ids.
    Ids(u32, u32),
    /// A simulated address (MapViewOfFile).
    Ptr(u64),
    /// InitOnceBeginInitialize: fPending and the context (§26.8).
    InitOnce(bool, u64),
    /// A COM call's HRESULT and out value (§21).
    Com(Box<ComReply>),
    /// A Message Queuing call's HRESULT.
    Hresult(crate::mq::HRESULT),
    /// MQOpenQueue, MQCreateCursor, MQBeginTransaction: the HRESULT and the handle.
    MqHandle(crate::mq::HRESULT, HANDLE),
    /// MQCreateQueue, MQPathNameToFormatName: the HRESULT, the format name (empty when it
    /// did not fit) and its length with the null (a boxed str: it keeps `Value` at 32
    /// bytes).
    MqFormatName(crate::mq::HRESULT, Box<str>, u32),
    /// MQGetQueueProperties: the HRESULT and the properties.
    MqQueueProps(crate::mq::HRESULT, crate::mq::MQQUEUEPROPS),
    /// MQReceiveMessage: the HRESULT and the message's properties (on
    /// MQ_ERROR_BUFFER_OVERFLOW without the body).
    MqReceived(crate::mq::HRESULT, Option<Box<crate::mq::MqMessage>>),
    /// Calls that return nothing.
    Void,
    /// accept: the new socket and the peer's address.
    Accept(HANDLE, crate::types::SOCKADDR_IN),
    /// recv, recvfrom: the bytes and, for recvfrom, the source address (a boxed slice: it
    /// keeps `Value` at 32 bytes).
    Recv(Box<[u8]>, Option<crate::types::SOCKADDR_IN>),
    /// WSARecv, WSARecvFrom, WSASend, AcceptEx completed at once: the bytes transferred
    /// (the data is in the caller's buffer) and, for WSARecvFrom, the source (§22.41).
    WsaBytes(u32, Option<crate::types::SOCKADDR_IN>),
    /// getsockname, getpeername: an address.
    SockName(crate::types::SOCKADDR_IN),
    /// select: the ready sockets of the read, write and except sets.
    Select(Box<[Vec<HANDLE>; 3]>),
    /// WSAPoll: each entry's revents.
    Poll(Vec<i16>),
    /// WSAEnumNetworkEvents: the FD_ bits and each one's error code (boxed: it keeps
    /// `Value` at 32 bytes).
    NetworkEvents(u32, Box<[u32; 10]>),
    /// VirtualQuery: the region's MEMORY_BASIC_INFORMATION (§29.11).
    MemInfo(Box<crate::types::MEMORY_BASIC_INFORMATION>),
    /// SetFilePointer(Ex): the new file pointer; GetFileSize(Ex): the size (§28).
    FilePos(u64),
}

impl Value {
    /// The out-parameters this value fills in, for the trace.
    pub fn outs(&self) -> Vec<Arg> {
        let mut v = Vec::new();
        self.outs_into(&mut v);
        v
    }

    /// `outs`'s list, appended to `out` (a traced call's list is built in a buffer kept
    /// from call to call, and shared from there: `Kernel::shown_outs`).
    pub(crate) fn outs_into(&self, out: &mut Vec<Arg>) {
        let h = |name: &'static str, h: HANDLE| Arg::new(name, ArgValue::handle(h));
        let u = |name: &'static str, v: u32| Arg::new(name, ArgValue::U32(v));
        match self {
            Value::Bool(_) | Value::Wait(_) | Value::Void | Value::U32(_) | Value::Handle(_) => {}
            Value::Handoff | Value::Long(_) | Value::Hwnd(_) | Value::Ptr(_) => {}
            Value::Com(c) => out.extend(c.outs()),
            Value::Hresult(_) | Value::MqQueueProps(..) => {}
            Value::MqHandle(_, hh) => {
                if !hh.is_null() {
                    out.push(h("handle", *hh))
                }
            }
            Value::MqFormatName(_, name, len) => {
                out.extend([Arg::new("format_name", ArgValue::Str(Some(name.to_string()))), u("len", *len)])
            }
            Value::MqReceived(_, m) => match m {
                None => {}
                Some(m) => out.extend([
                    Arg::new("body", ArgValue::bytes(&m.body)),
                    u("body_size", m.body_size),
                    Arg::new("label", ArgValue::Str(Some(m.label.clone()))),
                    u("priority", u32::from(m.priority)),
                    u("abort_count", m.abort_count),
                ]),
            },
            Value::Msg(m) => out.extend([
                Arg::new("hwnd", ArgValue::Sym(m.hwnd.to_string())),
                Arg::new("message", ArgValue::message(&m.message)),
                Arg::new("wParam", ArgValue::I64(m.wParam as i64)),
                Arg::new("lParam", ArgValue::I64(m.lParam as i64)),
            ]),
            Value::Ids(tid, pid) => out.extend([u("tid", *tid), u("pid", *pid)]),
            Value::U64(v) => out.push(Arg::new("value", ArgValue::I64(*v as i64))),
            Value::Thread(_, tid) => out.push(u("thread_id", *tid)),
            Value::Pipe(r, w) => out.extend([h("read", *r), h("write", *w)]),
            Value::Process(pi) => out.extend([
                h("hProcess", pi.hProcess),
                h("hThread", pi.hThread),
                u("pid", pi.dwProcessId),
                u("tid", pi.dwThreadId),
            ]),
            Value::Read(d) => out.push(Arg::new("read", ArgValue::bytes(d))),
            Value::Written(n) => out.push(u("written", *n)),
            Value::Peek { data, avail, left } => {
                out.extend([Arg::new("read", ArgValue::bytes(data)), u("avail", *avail), u("left", *left)])
            }
            Value::PipeInfo { flags, out_size, in_size, max_instances } => out.extend([
                Arg::new("flags", ArgValue::Flags(*flags)),
                u("out", *out_size),
                u("in", *in_size),
                u("max", *max_instances),
            ]),
            Value::Out(v) => out.push(u("out", *v)),
            Value::InitOnce(pending, context) => out.extend([
                Arg::new("pending", ArgValue::Bool(*pending)),
                Arg::new("context", ArgValue::Sym(format!("0x{context:x}"))),
            ]),
            Value::Packets(p) => {
                out.push(u("packets", p.len() as u32));
                if let [one] = p.as_slice() {
                    out.push(u("bytes", one.bytes));
                    out.push(Arg::new("key", ArgValue::I64(one.key as i64)));
                }
            }
            Value::PipeState { state, instances } => {
                out.extend([Arg::new("state", ArgValue::Flags(*state)), u("instances", *instances)])
            }
            Value::PrevCount(p) => out.push(Arg::new("previous", ArgValue::I32(*p))),
            Value::Accept(s, a) => out.extend([h("socket", *s), Arg::new("addr", ArgValue::Sym(sockaddr(a)))]),
            Value::Recv(d, from) => {
                out.push(Arg::new("read", ArgValue::bytes(d)));
                if let Some(a) = from {
                    out.push(Arg::new("from", ArgValue::Sym(sockaddr(a))));
                }
            }
            Value::SockName(a) => out.push(Arg::new("addr", ArgValue::Sym(sockaddr(a)))),
            Value::WsaBytes(n, from) => {
                out.push(u("bytes", *n));
                if let Some(a) = from {
                    out.push(Arg::new("from", ArgValue::Sym(sockaddr(a))));
                }
            }
            Value::Select(sets) => {
                let [r, w, x] = &**sets;
                out.extend([
                    Arg::new("readfds", ArgValue::Handles(r.clone())),
                    Arg::new("writefds", ArgValue::Handles(w.clone())),
                    Arg::new("exceptfds", ArgValue::Handles(x.clone())),
                ])
            }
            Value::Poll(rev) => out.push(Arg::new(
                "revents",
                ArgValue::Sym(rev.iter().map(|r| format!("0x{r:x}")).collect::<Vec<_>>().join(" ")),
            )),
            Value::NetworkEvents(ev, _) => out.push(Arg::new("events", ArgValue::Flags(*ev))),
            Value::MemInfo(m) => out.extend([
                Arg::new("BaseAddress", ArgValue::Sym(format!("0x{:x}", m.BaseAddress))),
                Arg::new("AllocationBase", ArgValue::Sym(format!("0x{:x}", m.AllocationBase))),
                Arg::new("AllocationProtect", ArgValue::Flags(m.AllocationProtect)),
                Arg::new("RegionSize", ArgValue::Sym(format!("0x{:x}", m.RegionSize))),
                Arg::new("State", ArgValue::Flags(m.State)),
                Arg::new("Protect", ArgValue::Flags(m.Protect)),
                Arg::new("Type", ArgValue::Flags(m.Type)),
            ]),
            Value::FilePos(p) => out.push(Arg::new("position", ArgValue::I64(*p as i64))),
            Value::MailslotInfo { max_message_size, next_size, message_count, read_timeout } => out.extend([
                u("max", *max_message_size),
                u("next", *next_size),
                u("count", *message_count),
                u("timeout", *read_timeout),
            ]),
        }
    }
}

/// An address as the trace shows it: `127.0.0.1:8080`.
fn sockaddr(a: &crate::types::SOCKADDR_IN) -> String {
    crate::objects::socket::SockAddr { ip: a.addr(), port: a.port() }.to_string()
}

/// How a call ended, as wide as Windows' completion status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Success; the last error is left alone.
    Success,
    /// Success that sets the last error (CreateEvent: 0, or ERROR_ALREADY_EXISTS).
    SuccessSetting(Win32Error),
    /// The call returns its failure value, but data was transferred (ERROR_MORE_DATA: the
    /// value carries the part of the message read).
    Warning(Win32Error),
    /// The operation continues asynchronously: failure value, ERROR_IO_PENDING.
    Pending,
    /// Failure.
    Error(Win32Error),
}

impl Status {
    /// The last error the call sets, if it sets one.
    pub fn last_error(self) -> Option<Win32Error> {
        match self {
            Status::Success => None,
            Status::SuccessSetting(e) | Status::Warning(e) | Status::Error(e) => Some(e),
            Status::Pending => Some(ERROR_IO_PENDING),
        }
    }
    /// Writes the last error the call sets, if it sets one, into `last_error` (a thread's).
    /// The usual plain success is told by one comparison, and the rest are out of line:
    /// `last_error`'s match was a jump table at every completed call (issue 13).
    #[inline(always)]
    pub(crate) fn set_last_error(self, last_error: &mut u32) {
        if !matches!(self, Status::Success) {
            self.set_last_error_other(last_error);
        }
    }

    /// `set_last_error` for a status other than a plain success.
    #[inline(never)]
    fn set_last_error_other(self, last_error: &mut u32) {
        if let Some(e) = self.last_error() {
            *last_error = e.0;
        }
    }

    /// True when the call returns its success value.
    pub fn succeeded(self) -> bool {
        matches!(self, Status::Success | Status::SuccessSetting(_))
    }
}

/// A completed call: its status and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// How it ended.
    pub status: Status,
    /// What it produced (`Value::Void` for a failure without data).
    pub value: Value,
}

// A call's reply is stored on its thread, taken by its future and turned into the
// caller's results: it moves a few times per call, and is kept small (`Value` was 48
// bytes and `Reply` 56 before the rare large values were boxed).
const _: () = assert!(size_of::<Value>() <= 32);
const _: () = assert!(size_of::<Reply>() <= 40);

impl Reply {
    /// A failure with no data.
    pub fn error(e: Win32Error) -> Reply {
        Reply { status: Status::Error(e), value: Value::Void }
    }

    /// The Win32 return value, typed by the API's return kind: the one place where a
    /// status becomes TRUE/FALSE, a handle or NULL, a DWORD or (DWORD)-1, a wait code or
    /// WAIT_FAILED.
    pub fn ret(&self, kind: RetKind) -> Ret {
        let ok = self.status.succeeded();
        // (Matched, not compared with a made `Value`: no call of its `PartialEq`.)
        if matches!(self.value, Value::Handoff) && ok {
            // The call goes on in the API layer: its return comes later.
            return Ret::Void;
        }
        match kind {
            RetKind::Bool => Ret::Bool(ok && !matches!(self.value, Value::Bool(false))),
            RetKind::Long => match (&self.value, ok) {
                (Value::Long(v), true) => Ret::Long(*v),
                (Value::U32(v), true) => Ret::Long(i64::from(*v)),
                (Value::Ids(tid, _), true) => Ret::Long(i64::from(*tid)),
                _ => Ret::Long(0),
            },
            RetKind::Hwnd => match (&self.value, ok) {
                (Value::Hwnd(h), true) => Ret::Hwnd(*h),
                _ => Ret::Hwnd(HWND::NULL),
            },
            RetKind::GetMessage => match (&self.value, ok) {
                (Value::Msg(m), true) => Ret::Long(i64::from(m.message != WM_QUIT)),
                _ => Ret::Long(-1),
            },
            RetKind::Handle | RetKind::HandleOrInvalid => match (&self.value, ok) {
                (Value::Handle(h), true) | (Value::Thread(h, _), true) | (Value::Accept(h, _), true) => Ret::Handle(*h),
                (_, true) => Ret::Handle(HANDLE::NULL),
                (_, false) if kind == RetKind::Handle => Ret::Handle(HANDLE::NULL),
                (_, false) => Ret::Handle(INVALID_HANDLE_VALUE),
            },
            RetKind::Dword => match (&self.value, ok) {
                (Value::U32(v), true) => Ret::Dword(*v),
                (Value::FilePos(p), true) => Ret::Dword(*p as u32),
                _ => Ret::Dword(u32::MAX),
            },
            RetKind::Wait => match (&self.value, ok) {
                (Value::Wait(v), true) => Ret::Wait(*v),
                _ => Ret::Wait(WAIT_FAILED),
            },
            RetKind::Ptr => match (&self.value, ok) {
                (Value::Ptr(p), true) => Ret::Ptr(*p),
                _ => Ret::Ptr(0),
            },
            RetKind::Hresult => match &self.value {
                Value::Com(c) => Ret::Hresult(c.hr),
                Value::Wait(v) => Ret::Wait(*v),
                _ if !ok => Ret::Wait(WAIT_FAILED),
                _ => Ret::Void,
            },
            RetKind::Int => match (&self.value, ok) {
                (Value::Long(v), true) => Ret::Long(*v),
                (Value::Recv(d, _), true) => Ret::Long(d.len() as i64),
                (Value::Select(s), true) => Ret::Long(s.iter().map(Vec::len).sum::<usize>() as i64),
                (Value::Poll(r), true) => Ret::Long(r.iter().filter(|&&x| x != 0).count() as i64),
                (_, true) => Ret::Long(0),
                _ => Ret::Long(-1),
            },
            RetKind::Void => Ret::Void,
            RetKind::MqHresult => Ret::MqHresult(match &self.value {
                Value::Hresult(h)
                | Value::MqHandle(h, _)
                | Value::MqFormatName(h, ..)
                | Value::MqQueueProps(h, _)
                | Value::MqReceived(h, _) => *h,
                _ => crate::mq::MQ_ERROR_INVALID_PARAMETER,
            }),
        }
    }
}

/// What a handler returns: `Ok` with the success value (and the last error a successful
/// call sets, if any), or `Err` with the error.
pub type CallResult = Result<Done, Win32Error>;

/// A successful call's value and, for calls that set the last error even on success
/// (CreateEvent: 0 or ERROR_ALREADY_EXISTS), that error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    /// What the call returns.
    pub value: Value,
    /// The last error set by a successful call, if it sets one.
    pub last_error: Option<Win32Error>,
}

impl From<Value> for Done {
    fn from(value: Value) -> Done {
        Done { value, last_error: None }
    }
}

impl From<CallResult> for Reply {
    fn from(r: CallResult) -> Reply {
        match r {
            Ok(Done { value, last_error: None }) => Reply { status: Status::Success, value },
            Ok(Done { value, last_error: Some(e) }) => Reply { status: Status::SuccessSetting(e), value },
            Err(e) => Reply::error(e),
        }
    }
}

impl From<Value> for Reply {
    fn from(value: Value) -> Reply {
        Reply { status: Status::Success, value }
    }
}
