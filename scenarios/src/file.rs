//! Scenario files: simulated programs written as KDL documents, checked when they are
//! loaded (every mistake reported with file, line and column), and run by the
//! interpreter in [`crate::interp`]. The format is described, with the reasons for
//! choosing KDL, in docs/scenarios.md.
//!
//! ```kdl
//! scenario "redirect-fixed" {
//!     summary "a parent reads its child's stdout to ERROR_BROKEN_PIPE"
//!     expect completed
//!     main "parent.exe"
//! }
//! program "child.exe" {
//!     GetStdHandle STD_OUTPUT_HANDLE as=out
//!     WriteFile out "line 1\n" expect=TRUE
//! }
//! program "parent.exe" {
//!     CreatePipe r w inherit=#true
//!     SetHandleInformation r HANDLE_FLAG_INHERIT 0
//!     CreateProcess "child.exe" inherit=#true stdout=w as=child thread=ct
//!     CloseHandle w
//!     loop until-error=ERROR_BROKEN_PIPE {
//!         ReadFile r 64 into=got
//!     }
//!     assert-data got "line 1\n"
//! }
//! ```

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use std::collections::BTreeMap;
use std::fmt;

/// A mistake in a scenario file, with where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScenarioError {
    /// The file (as given to [`load`]).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)
    }
}

impl std::error::Error for ScenarioError {}

/// A place in a scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// A parsed, checked scenario file.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ScenarioFile {
    /// The path it was loaded from (or the name given to [`parse`]).
    pub path: String,
    /// Its name (`scenario NAME`).
    pub name: String,
    /// One line saying what it shows.
    pub summary: String,
    /// The outcome kinds (`Outcome::kind`) a run may end with and still be as expected,
    /// for the parameters' current values (see [`ScenarioFile::expect_when`]).
    pub expect: Vec<String>,
    /// `expect KIND... when="PARAM=VALUE"` lines, in file order: the first whose parameter
    /// has that value gives [`ScenarioFile::expect`]; when none does, the plain `expect`
    /// line does. So one file holds a bug and its fix, each with its own expectation.
    pub expect_when: Vec<(String, String, Vec<String>)>,
    /// The plain `expect` line's kinds.
    pub expect_default: Vec<String>,
    /// The command line of the first process.
    pub main: String,
    /// Parameters with their values (defaults, then `--set`).
    pub params: BTreeMap<String, Param>,
    /// The programs, in file order.
    pub programs: Vec<Program>,
    /// `host "NAME" "A.B.C.D"`: hosts and their addresses (docs/semantics.md §27).
    pub hosts: Vec<(String, [u8; 4])>,
    /// `start "COMMAND LINE" host="NAME"`: processes started on a host when the run begins.
    pub starts: Vec<(String, String)>,
    /// `service "COMMAND LINE"`: processes started as services (session 0, with
    /// SeCreateGlobalPrivilege) when the run begins (docs/semantics.md §30.1).
    pub services: Vec<String>,
    /// `link "A" "B" latency=MS ...`: the network between two hosts.
    pub links: Vec<sim_core::LinkConfig>,
    /// `partition "A" "B" from=MS [to=MS]`: a time the link carries nothing.
    pub partitions: Vec<(String, String, u64, Option<u64>)>,
}

/// A parameter's value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Param {
    /// A number.
    Int(i64),
    /// A string.
    Str(String),
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Int(n) => write!(f, "{n}"),
            Param::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// A program: its main thread's statements and the thread bodies it can start.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Program {
    /// The image name (`CreateProcess "child.exe"`).
    pub name: String,
    /// The main thread.
    pub main: Vec<Stmt>,
    /// Thread bodies by name (`CreateThread NAME`).
    pub threads: BTreeMap<String, Vec<Stmt>>,
    /// Window classes by name (`RegisterClassEx NAME`): their message handlers.
    pub classes: BTreeMap<String, Vec<Handler>>,
}

/// `on MSG { ... }` in a `window-class`: what the window procedure does for MSG.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Handler {
    /// The message (a number or a WM_* name).
    pub msg: Arg,
    /// The statements; `return N` gives the LRESULT (default 0).
    pub body: Vec<Stmt>,
}

/// One statement, with where it is.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Stmt {
    /// Where it starts.
    pub pos: Pos,
    /// What it does.
    pub kind: StmtKind,
}

/// What a statement does.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StmtKind {
    /// A Win32 call.
    Call(Call),
    /// `repeat N [until-error=E] { ... }`.
    Repeat {
        /// How many times (N).
        count: Arg,
        /// The errors (`until-error=E`, `E1|E2`) a failing call ends the loop with; empty
        /// when none.
        until: Vec<Arg>,
        /// The statements repeated.
        body: Vec<Stmt>,
    },
    /// `loop [until-error=E] { ... }`: until a `break`, or a call failing with E.
    Loop {
        /// The errors (`until-error=E`, `E1|E2`) a failing call ends the loop with; empty
        /// when only `break` ends it.
        until: Vec<Arg>,
        /// The statements repeated.
        body: Vec<Stmt>,
    },
    /// `if COND { ... } [else { ... }]` on the previous call's result.
    If {
        /// The condition.
        cond: Cond,
        /// The statements run when it holds.
        then: Vec<Stmt>,
        /// The `else` block's statements (empty without one).
        otherwise: Vec<Stmt>,
    },
    /// `break`: leaves the innermost loop.
    Break,
    /// `exit [CODE]` (or `return [CODE]`): the thread body returns CODE (default 0); in
    /// a message handler, the LRESULT.
    Exit(Arg),
    /// `assert-data BUF "text"` or `assert-data BUF size=N`.
    AssertData {
        /// The buffer variable (a call's `into=BUF`).
        buffer: String,
        /// The text it must hold, when given.
        equals: Option<Arg>,
        /// The number of bytes it must hold (`size=N`), when given.
        size: Option<Arg>,
    },
    /// `assert VAR N`: a number variable's value.
    Assert {
        /// The variable.
        var: String,
        /// The value it must have.
        equals: Arg,
    },
    /// `set VAR N`.
    Set {
        /// The variable.
        var: String,
        /// Its new value.
        value: Arg,
    },
    /// `add VAR N`.
    Add {
        /// The variable.
        var: String,
        /// What is added to it.
        value: Arg,
    },
}

/// The condition of an `if`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Cond {
    /// `ok=#true`: whether the previous call succeeded.
    Ok(bool),
    /// `error=E`: the last error after the previous call.
    Error(Arg),
    /// `ret=N`: the previous call's return value.
    Ret(Arg),
    /// `var=NAME equals=N`.
    Var(String, Arg),
}

/// A Win32 call with its arguments.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Call {
    /// Its signature.
    pub api: &'static Sig,
    /// Arguments by parameter index (`None`: not given, the default applies).
    pub args: Vec<Option<Arg>>,
    /// `expect=`: the return value it must have.
    pub expect: Option<Arg>,
    /// `error=`: the last error it must leave.
    pub error: Option<Arg>,
}

/// An argument as written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arg {
    /// A number literal.
    Int(i64),
    /// A string, a name (variable, constant, thread), or `$param`.
    Str(String),
    /// `#true` / `#false`.
    Bool(bool),
    /// Several handles (the rest of the positional arguments).
    List(Vec<String>),
}

/// What a parameter of a call takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A handle variable (or NULL, INVALID_HANDLE_VALUE).
    Handle,
    /// Handle variables: every remaining positional argument.
    Handles,
    /// A variable the call sets.
    Out,
    /// A number: literal, constant (`A|B` for flags), `$param` or number variable.
    Num,
    /// A string (or `$param`).
    Str,
    /// `#true` / `#false`.
    Bool,
    /// A thread body of the same program.
    Thread,
    /// A data buffer name (`into=`).
    Buffer,
    /// A window class of the same program.
    Class,
    /// A CLSID or IID by its winsim name (`CLSID_Toy`, `IID_IToy`, docs/scenarios.md).
    Guid,
}

/// How a call's return value says it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ret {
    /// BOOL: FALSE is failure.
    Bool,
    /// A handle, NULL on failure.
    HandleNull,
    /// A handle, INVALID_HANDLE_VALUE on failure.
    HandleInvalid,
    /// A DWORD, this value on failure.
    Dword(u32),
    /// A value that cannot fail.
    Value,
    /// GetMessage's BOOL: -1 is failure, 0 is WM_QUIT.
    GetMessage,
    /// A Winsock int: SOCKET_ERROR (-1) is failure.
    Int,
    /// An error code returned directly (WSAStartup): 0 is success.
    ErrorCode,
    /// A COM HRESULT: negative (as an i32) is failure, as FAILED(hr). The value a scenario
    /// sees is the HRESULT's 32 bits as an unsigned number (`expect=RPC_E_WRONG_THREAD`).
    Hresult,
}

/// A call's signature: its Win32 name, parameters (positional order) and return.
#[derive(Debug)]
#[non_exhaustive]
pub struct Sig {
    /// The Win32 name (`WriteFile`).
    pub name: &'static str,
    /// Parameters: name, kind, whether it must be given.
    pub params: &'static [(&'static str, Kind, bool)],
    /// How its return value reports failure.
    pub ret: Ret,
}

impl Sig {
    /// The index of a parameter.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.0 == name)
    }
}

use Kind::*;

macro_rules! sigs {
    ($($name:literal $ret:expr => [$(($p:literal, $k:expr, $req:expr)),* $(,)?];)*) => {
        /// Every call a scenario file can make.
        pub static SIGS: &[Sig] = &[$(Sig { name: $name, ret: $ret, params: &[$(($p, $k, $req)),*] }),*];
    };
}

sigs! {
    "GetStdHandle" Ret::Value => [("which", Num, true), ("as", Out, true)];
    "GetCurrentThreadId" Ret::Value => [("as", Out, true)];
    "GetCurrentProcessId" Ret::Value => [("as", Out, true)];
    "CreatePipe" Ret::Bool => [("read", Out, true), ("write", Out, true), ("size", Num, false), ("inherit", Bool, false)];
    "SetHandleInformation" Ret::Bool => [("handle", Handle, true), ("mask", Num, true), ("flags", Num, true)];
    "CloseHandle" Ret::Bool => [("handle", Handle, true)];
    "CreateProcess" Ret::Bool => [
        ("command", Str, true), ("as", Out, false), ("thread", Out, false), ("pid", Out, false),
        ("inherit", Bool, false), ("stdin", Handle, false), ("stdout", Handle, false), ("stderr", Handle, false),
        ("flags", Num, false),
    ];
    "CreateThread" Ret::HandleNull => [("body", Thread, true), ("as", Out, false), ("id", Out, false), ("flags", Num, false), ("inherit", Bool, false)];
    "ResumeThread" Ret::Dword(u32::MAX) => [("handle", Handle, true)];
    "GetExitCodeProcess" Ret::Bool => [("handle", Handle, true), ("as", Out, false)];
    "GetExitCodeThread" Ret::Bool => [("handle", Handle, true), ("as", Out, false)];
    "TerminateProcess" Ret::Bool => [("handle", Handle, true), ("code", Num, false)];
    "ExitProcess" Ret::Value => [("code", Num, false)];
    "ExitThread" Ret::Value => [("code", Num, false)];
    "ReadFile" Ret::Bool => [("handle", Handle, true), ("size", Num, true), ("into", Buffer, false), ("bytes", Out, false), ("overlapped", Buffer, false), ("event", Handle, false)];
    "WriteFile" Ret::Bool => [("handle", Handle, true), ("data", Str, false), ("size", Num, false), ("bytes", Out, false), ("overlapped", Buffer, false), ("event", Handle, false)];
    "GetOverlappedResult" Ret::Bool => [("handle", Handle, true), ("overlapped", Buffer, true), ("wait", Bool, false), ("bytes", Out, false)];
    "CancelIoEx" Ret::Bool => [("handle", Handle, true), ("overlapped", Buffer, false)];
    "CreateWaitableTimer" Ret::HandleNull => [("as", Out, true), ("manual", Bool, false), ("name", Str, false)];
    "SetWaitableTimer" Ret::Bool => [("timer", Handle, true), ("due", Num, true), ("period", Num, false)];
    "CancelWaitableTimer" Ret::Bool => [("timer", Handle, true)];
    "GetTickCount" Ret::Value => [("as", Out, true)];
    "PeekNamedPipe" Ret::Bool => [("handle", Handle, true), ("avail", Out, false), ("left", Out, false)];
    "FlushFileBuffers" Ret::Bool => [("handle", Handle, true)];
    "CreateNamedPipe" Ret::HandleInvalid => [
        ("name", Str, true), ("as", Out, false), ("open", Num, false), ("mode", Num, false), ("instances", Num, false),
        ("out", Num, false), ("in", Num, false), ("timeout", Num, false), ("inherit", Bool, false),
    ];
    "ConnectNamedPipe" Ret::Bool => [("handle", Handle, true)];
    "DisconnectNamedPipe" Ret::Bool => [("handle", Handle, true)];
    "WaitNamedPipe" Ret::Bool => [("name", Str, true), ("timeout", Num, false)];
    "CreateFile" Ret::HandleInvalid => [
        ("name", Str, true), ("as", Out, false), ("access", Num, false), ("share", Num, false),
        ("disposition", Num, false), ("flags", Num, false), ("inherit", Bool, false),
    ];
    "CreateMailslot" Ret::HandleInvalid => [("name", Str, true), ("as", Out, false), ("max", Num, false), ("timeout", Num, false)];
    "CreateEvent" Ret::HandleNull => [("as", Out, true), ("manual", Bool, false), ("initial", Bool, false), ("name", Str, false), ("inherit", Bool, false)];
    "OpenEvent" Ret::HandleNull => [("name", Str, true), ("as", Out, true), ("access", Num, false), ("inherit", Bool, false)];
    "SetEvent" Ret::Bool => [("handle", Handle, true)];
    "ResetEvent" Ret::Bool => [("handle", Handle, true)];
    "PulseEvent" Ret::Bool => [("handle", Handle, true)];
    "CreateMutex" Ret::HandleNull => [("as", Out, true), ("owned", Bool, false), ("name", Str, false), ("inherit", Bool, false)];
    "ReleaseMutex" Ret::Bool => [("handle", Handle, true)];
    "CreateSemaphore" Ret::HandleNull => [("as", Out, true), ("initial", Num, false), ("max", Num, false), ("name", Str, false), ("inherit", Bool, false)];
    "ReleaseSemaphore" Ret::Bool => [("handle", Handle, true), ("count", Num, false), ("previous", Out, false)];
    "WaitForSingleObject" Ret::Dword(sim_core::prelude::WAIT_FAILED) => [("handle", Handle, true), ("timeout", Num, false)];
    "WaitForMultipleObjects" Ret::Dword(sim_core::prelude::WAIT_FAILED) => [("handles", Handles, true), ("all", Bool, false), ("timeout", Num, false)];
    "Sleep" Ret::Value => [("ms", Num, true)];
    "PostThreadMessage" Ret::Bool => [("thread", Num, true), ("msg", Num, true), ("wparam", Num, false), ("lparam", Num, false)];
    "GetMessage" Ret::GetMessage => [
        ("message", Out, false), ("wparam", Out, false), ("lparam", Out, false), ("hwnd", Handle, false), ("min", Num, false),
        ("max", Num, false), ("window", Out, false),
    ];
    "PeekMessage" Ret::Value => [
        ("remove", Num, false), ("message", Out, false), ("wparam", Out, false), ("lparam", Out, false), ("hwnd", Handle, false),
        ("min", Num, false), ("max", Num, false), ("window", Out, false),
    ];
    "SetTimer" Ret::HandleNull => [("hwnd", Handle, false), ("id", Num, false), ("ms", Num, true), ("as", Out, false)];
    "KillTimer" Ret::Bool => [("hwnd", Handle, false), ("id", Num, true)];
    "SleepEx" Ret::Value => [("ms", Num, true), ("alertable", Bool, false), ("as", Out, false)];
    "WaitForSingleObjectEx" Ret::Dword(sim_core::prelude::WAIT_FAILED) => [("handle", Handle, true), ("timeout", Num, false), ("alertable", Bool, false)];
    "QueueUserAPC" Ret::Bool => [("body", Thread, true), ("thread", Handle, true), ("data", Num, false)];
    "CreateIoCompletionPort" Ret::HandleNull => [("handle", Handle, false), ("port", Handle, false), ("key", Num, false), ("threads", Num, false), ("as", Out, false)];
    "GetQueuedCompletionStatus" Ret::Bool => [("port", Handle, true), ("timeout", Num, false), ("bytes", Out, false), ("key", Out, false)];
    "PostQueuedCompletionStatus" Ret::Bool => [("port", Handle, true), ("bytes", Num, false), ("key", Num, false)];
    "WSAStartup" Ret::ErrorCode => [("version", Num, false)];
    "WSACleanup" Ret::Int => [];
    "WSAGetLastError" Ret::Value => [("as", Out, true)];
    "socket" Ret::HandleInvalid => [("type", Num, true), ("as", Out, false), ("af", Num, false), ("protocol", Num, false), ("inherit", Bool, false)];
    "bind" Ret::Int => [("socket", Handle, true), ("port", Num, true), ("addr", Str, false)];
    "listen" Ret::Int => [("socket", Handle, true), ("backlog", Num, false)];
    "accept" Ret::HandleInvalid => [("socket", Handle, true), ("as", Out, false), ("port", Out, false)];
    "connect" Ret::Int => [("socket", Handle, true), ("port", Num, true), ("addr", Str, false)];
    "send" Ret::Int => [("socket", Handle, true), ("data", Str, false), ("size", Num, false), ("bytes", Out, false), ("flags", Num, false)];
    "recv" Ret::Int => [("socket", Handle, true), ("size", Num, true), ("into", Buffer, false), ("bytes", Out, false), ("flags", Num, false)];
    "shutdown" Ret::Int => [("socket", Handle, true), ("how", Num, true)];
    "closesocket" Ret::Int => [("socket", Handle, true)];
    "setsockopt" Ret::Int => [("socket", Handle, true), ("level", Num, true), ("option", Num, true), ("value", Num, true), ("seconds", Num, false)];
    "ioctlsocket" Ret::Int => [("socket", Handle, true), ("cmd", Num, true), ("arg", Num, false), ("as", Out, false)];
    "getsockname" Ret::Int => [("socket", Handle, true), ("port", Out, true)];
    "PostQuitMessage" Ret::Value => [("code", Num, false)];
    "RegisterClassEx" Ret::HandleNull => [("class", Class, true)];
    "CreateWindowEx" Ret::HandleNull => [("class", Str, true), ("as", Out, false), ("title", Str, false), ("parent", Handle, false)];
    "DestroyWindow" Ret::Bool => [("hwnd", Handle, true)];
    "SendMessage" Ret::Value => [("hwnd", Handle, true), ("msg", Num, true), ("wparam", Num, false), ("lparam", Num, false), ("as", Out, false)];
    "SendMessageTimeout" Ret::HandleNull => [("hwnd", Handle, true), ("msg", Num, true), ("wparam", Num, false), ("lparam", Num, false), ("flags", Num, false), ("timeout", Num, true), ("result", Out, false)];
    "PostMessage" Ret::Bool => [("hwnd", Handle, true), ("msg", Num, true), ("wparam", Num, false), ("lparam", Num, false)];
    "DispatchMessage" Ret::Value => [("as", Out, false)];
    "CreateFileMapping" Ret::HandleNull => [("as", Out, true), ("size", Num, true), ("protect", Num, false), ("name", Str, false), ("file", Handle, false), ("inherit", Bool, false)];
    "OpenFileMapping" Ret::HandleNull => [("name", Str, true), ("as", Out, true), ("access", Num, false), ("inherit", Bool, false)];
    "MapViewOfFile" Ret::HandleNull => [("mapping", Handle, true), ("as", Out, true), ("access", Num, false), ("offset", Num, false), ("size", Num, false)];
    "UnmapViewOfFile" Ret::Bool => [("address", Num, true)];
    "ReadMemory" Ret::Value => [("address", Num, true), ("as", Out, true), ("offset", Num, false), ("size", Num, false)];
    "WriteMemory" Ret::Value => [("address", Num, true), ("value", Num, true), ("offset", Num, false), ("size", Num, false)];
    "InterlockedIncrement" Ret::Value => [("address", Num, true), ("offset", Num, false), ("as", Out, false)];
    "InterlockedExchangeAdd" Ret::Value => [("address", Num, true), ("value", Num, true), ("offset", Num, false), ("as", Out, false)];
    "InterlockedCompareExchange" Ret::Value => [("address", Num, true), ("exchange", Num, true), ("comparand", Num, true), ("offset", Num, false), ("as", Out, false)];
    "MsgWaitForMultipleObjects" Ret::Dword(sim_core::prelude::WAIT_FAILED) => [("handles", Handles, false), ("all", Bool, false), ("timeout", Num, false), ("mask", Num, false)];
    "MsgWaitForMultipleObjectsEx" Ret::Dword(sim_core::prelude::WAIT_FAILED) => [("handles", Handles, false), ("timeout", Num, false), ("mask", Num, false), ("flags", Num, false)];
    // COM (docs/semantics.md §21): interface pointers, streams and cookies are number
    // variables; NULL passes a NULL pointer.
    "CoInitializeEx" Ret::Hresult => [("coinit", Num, true)];
    "CoInitialize" Ret::Hresult => [];
    "CoUninitialize" Ret::Value => [];
    "OleInitialize" Ret::Hresult => [];
    "OleUninitialize" Ret::Value => [];
    "CoCreateInstance" Ret::Hresult => [("clsid", Guid, true), ("as", Out, false), ("context", Num, false), ("iid", Guid, false), ("outer", Num, false)];
    "CoGetClassObject" Ret::Hresult => [("clsid", Guid, true), ("as", Out, false), ("context", Num, false), ("iid", Guid, false)];
    "CoRegisterClassObject" Ret::Hresult => [("clsid", Guid, true), ("unk", Num, true), ("as", Out, false), ("context", Num, false), ("flags", Num, false)];
    "CoRevokeClassObject" Ret::Hresult => [("cookie", Num, true)];
    "CoResumeClassObjects" Ret::Hresult => [];
    "IClassFactory_CreateInstance" Ret::Hresult => [("this", Num, true), ("as", Out, false), ("iid", Guid, false), ("outer", Num, false)];
    "QueryInterface" Ret::Hresult => [("this", Num, true), ("iid", Guid, true), ("as", Out, false)];
    "AddRef" Ret::Value => [("this", Num, true)];
    "Release" Ret::Value => [("this", Num, true)];
    "IToy_Add" Ret::Hresult => [("this", Num, true), ("n", Num, false)];
    "IToy_Get" Ret::Hresult => [("this", Num, true), ("as", Out, false)];
    "IToy_CallBack" Ret::Hresult => [("this", Num, true), ("cb", Num, false)];
    "IToy_WaitOn" Ret::Hresult => [("this", Num, true), ("event", Handle, true)];
    "IToy_SendTo" Ret::Hresult => [("this", Num, true), ("hwnd", Handle, true), ("msg", Num, true)];
    "IToyCallback_Notify" Ret::Hresult => [("this", Num, true)];
    "CoMarshalInterThreadInterfaceInStream" Ret::Hresult => [("unk", Num, true), ("as", Out, false), ("iid", Guid, false)];
    "CoGetInterfaceAndReleaseStream" Ret::Hresult => [("stream", Num, true), ("as", Out, false), ("iid", Guid, false)];
    "RegisterInterfaceInGlobal" Ret::Hresult => [("git", Num, true), ("unk", Num, true), ("as", Out, false), ("iid", Guid, false)];
    "GetInterfaceFromGlobal" Ret::Hresult => [("git", Num, true), ("cookie", Num, true), ("as", Out, false), ("iid", Guid, false)];
    "RevokeInterfaceFromGlobal" Ret::Hresult => [("git", Num, true), ("cookie", Num, true)];
    "CoDisconnectObject" Ret::Hresult => [("unk", Num, true)];
    "CoWaitForMultipleHandles" Ret::Hresult => [("handles", Handles, false), ("flags", Num, false), ("timeout", Num, false), ("index", Out, false)];
    "CoRegisterMessageFilter" Ret::Hresult => [("incoming", Str, false), ("callpending", Num, false), ("retry", Str, false), ("pending", Str, false)];
    // Message Queuing (docs/semantics.md §23): format names are strings, or buffers a call
    // filled (`as=` of MQCreateQueue, `response=` of a receive); queue, cursor and
    // transaction handles are handle variables.
    "MQCreateQueue" Ret::Hresult => [
        ("path", Str, true), ("as", Buffer, false), ("transactional", Bool, false), ("label", Str, false),
        ("quota", Num, false), ("journal", Bool, false), ("length", Num, false), ("needed", Out, false),
    ];
    "MQDeleteQueue" Ret::Hresult => [("format", Str, true)];
    "MQPathNameToFormatName" Ret::Hresult => [("path", Str, true), ("as", Buffer, false), ("length", Num, false), ("needed", Out, false)];
    "MQOpenQueue" Ret::Hresult => [("format", Str, true), ("access", Num, true), ("as", Out, false), ("share", Num, false)];
    "MQCloseQueue" Ret::Hresult => [("queue", Handle, true)];
    "MQGetQueueProperties" Ret::Hresult => [
        ("format", Str, true), ("transactional", Out, false), ("quota", Out, false), ("journal", Out, false),
        ("label", Buffer, false), ("path", Buffer, false),
    ];
    "MQPurgeQueue" Ret::Hresult => [("queue", Handle, true)];
    "MQCreateCursor" Ret::Hresult => [("queue", Handle, true), ("as", Out, false)];
    "MQCloseCursor" Ret::Hresult => [("cursor", Handle, true)];
    "MQSendMessage" Ret::Hresult => [
        ("queue", Handle, true), ("body", Str, false), ("size", Num, false), ("label", Str, false), ("priority", Num, false),
        ("correlation", Str, false), ("response", Str, false), ("app-specific", Num, false), ("ttbr", Num, false),
        ("ttrq", Num, false), ("journal", Num, false), ("delivery", Num, false), ("transaction", Handle, false),
    ];
    "MQReceiveMessage" Ret::Hresult => [
        ("queue", Handle, true), ("timeout", Num, false), ("action", Num, false), ("size", Num, false),
        ("into", Buffer, false), ("label", Buffer, false), ("correlation", Buffer, false), ("response", Buffer, false),
        ("body-size", Out, false), ("priority", Out, false), ("app-specific", Out, false), ("class", Out, false),
        ("abort-count", Out, false), ("cursor", Handle, false), ("transaction", Handle, false),
        ("overlapped", Buffer, false), ("event", Handle, false), ("callback", Thread, false), ("status", Out, false),
    ];
    "MQGetOverlappedResult" Ret::Hresult => [
        ("overlapped", Buffer, true), ("into", Buffer, false), ("label", Buffer, false), ("correlation", Buffer, false),
        ("response", Buffer, false), ("body-size", Out, false), ("priority", Out, false), ("app-specific", Out, false),
        ("class", Out, false), ("abort-count", Out, false),
    ];
    "MQBeginTransaction" Ret::Hresult => [("as", Out, false)];
    "ITransaction_Commit" Ret::Hresult => [("transaction", Handle, true)];
    "ITransaction_Abort" Ret::Hresult => [("transaction", Handle, true)];
    "ITransaction_Release" Ret::Hresult => [("transaction", Handle, true)];
}

/// The signature of a call by its Win32 name.
pub fn sig(name: &str) -> Option<&'static Sig> {
    SIGS.iter().find(|s| s.name == name)
}

macro_rules! constants {
    ($($name:ident),* $(,)?) => {
        /// The value of a Win32 constant a scenario may name.
        pub fn constant(name: &str) -> Option<i64> {
            use sim_core::prelude::*;
            match name {
                "TRUE" => Some(1),
                "FALSE" => Some(0),
                "NULL" => Some(0),
                "INVALID_HANDLE_VALUE" => Some(-1),
                $( stringify!($name) => Some(i64::from($name)), )*
                _ => sim_core::prelude::Win32Error::from_name(name)
                    .map(|e| i64::from(e.0))
                    .or_else(|| sim_core::prelude::HRESULT::from_name(name).map(|h| i64::from(h.0 as u32)))
                    .or_else(|| sim_core::mq::mq_from_name(name).map(|h| i64::from(h.0 as u32))),
            }
        }
    };
}

constants! {
    INFINITE, WAIT_OBJECT_0, WAIT_ABANDONED_0, WAIT_TIMEOUT, WAIT_FAILED, WAIT_IO_COMPLETION, STILL_ACTIVE,
    CREATE_SUSPENDED, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE, HANDLE_FLAG_INHERIT,
    HANDLE_FLAG_PROTECT_FROM_CLOSE, PIPE_TYPE_BYTE, PIPE_TYPE_MESSAGE, PIPE_READMODE_BYTE, PIPE_READMODE_MESSAGE,
    PIPE_WAIT, PIPE_NOWAIT, PIPE_ACCEPT_REMOTE_CLIENTS, PIPE_REJECT_REMOTE_CLIENTS, PIPE_UNLIMITED_INSTANCES,
    PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND, PIPE_ACCESS_DUPLEX, FILE_FLAG_FIRST_PIPE_INSTANCE,
    FILE_FLAG_WRITE_THROUGH, FILE_FLAG_OVERLAPPED, NMPWAIT_USE_DEFAULT_WAIT, NMPWAIT_NOWAIT, NMPWAIT_WAIT_FOREVER,
    MAILSLOT_WAIT_FOREVER, MAILSLOT_NO_MESSAGE, CREATE_NEW, CREATE_ALWAYS, OPEN_EXISTING, OPEN_ALWAYS,
    TRUNCATE_EXISTING, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_ATTRIBUTE_NORMAL, SYNCHRONIZE, GENERIC_READ,
    GENERIC_WRITE, GENERIC_ALL, EVENT_MODIFY_STATE, EVENT_ALL_ACCESS, MUTEX_ALL_ACCESS, SEMAPHORE_ALL_ACCESS,
    WM_NULL, WM_QUIT, WM_TIMER, WM_USER, WM_APP, PM_NOREMOVE, PM_REMOVE, WM_CREATE, WM_DESTROY, WM_CLOSE,
    WM_NCCREATE, WM_NCDESTROY, WM_COPYDATA, QS_POSTMESSAGE, QS_SENDMESSAGE, QS_ALLPOSTMESSAGE, QS_TIMER,
    QS_ALLEVENTS, QS_ALLINPUT, QS_INPUT, PAGE_READONLY, PAGE_READWRITE, PAGE_WRITECOPY, PAGE_NOACCESS,
    SMTO_NORMAL, SMTO_BLOCK, SMTO_ABORTIFHUNG, SMTO_NOTIMEOUTIFNOTHUNG, SMTO_ERRORONEXIT, SEC_COMMIT, SEC_RESERVE, FILE_MAP_ALL_ACCESS, FILE_MAP_READ, FILE_MAP_WRITE, FILE_MAP_COPY,
    MWMO_WAITALL, MWMO_ALERTABLE, MWMO_INPUTAVAILABLE,
    AF_INET, SOCK_STREAM, SOCK_DGRAM, IPPROTO_TCP, IPPROTO_UDP, SOL_SOCKET, SO_REUSEADDR, SO_EXCLUSIVEADDRUSE,
    SO_LINGER, SO_DONTLINGER, SO_RCVBUF, SO_SNDBUF, SO_KEEPALIVE, TCP_NODELAY, FIONBIO, FIONREAD, SD_RECEIVE, SD_SEND,
    SD_BOTH, SOMAXCONN, MSG_PEEK, SOCKET_ERROR, INADDR_ANY, INADDR_LOOPBACK,
    COINIT_APARTMENTTHREADED, COINIT_MULTITHREADED, COINIT_DISABLE_OLE1DDE, COINIT_SPEED_OVER_MEMORY,
    CLSCTX_INPROC_SERVER, CLSCTX_INPROC_HANDLER, CLSCTX_LOCAL_SERVER, CLSCTX_ALL, REGCLS_SINGLEUSE,
    REGCLS_MULTIPLEUSE, REGCLS_MULTI_SEPARATE, REGCLS_SUSPENDED, REGCLS_SURROGATE, REGCLS_AGILE,
    COWAIT_DEFAULT, COWAIT_WAITALL, COWAIT_ALERTABLE, COWAIT_INPUTAVAILABLE, COWAIT_DISPATCH_CALLS,
    COWAIT_DISPATCH_WINDOW_MESSAGES, SERVERCALL_ISHANDLED, SERVERCALL_REJECTED, SERVERCALL_RETRYLATER,
    PENDINGMSG_CANCELCALL, PENDINGMSG_WAITNOPROCESS, PENDINGMSG_WAITDEFPROCESS,
    MQ_RECEIVE_ACCESS, MQ_SEND_ACCESS, MQ_PEEK_ACCESS, MQ_ADMIN_ACCESS, MQ_DENY_NONE, MQ_DENY_RECEIVE_SHARE,
    MQ_ACTION_RECEIVE, MQ_ACTION_PEEK_CURRENT, MQ_ACTION_PEEK_NEXT, MQMSG_JOURNAL_NONE, MQMSG_DEADLETTER,
    MQMSG_JOURNAL, MQMSG_DELIVERY_EXPRESS, MQMSG_DELIVERY_RECOVERABLE, MQ_TRANSACTIONAL_NONE, MQ_TRANSACTIONAL,
    MQ_MAX_PRIORITY, MQMSG_CLASS_NORMAL, MQMSG_CLASS_NACK_RECEIVE_TIMEOUT, MQMSG_CLASS_NACK_Q_EXCEED_QUOTA,
    MQMSG_CLASS_NACK_Q_PURGED, MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q, MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_MSG,
    MQMSG_CLASS_NACK_Q_DELETED,
}

/// The CLSIDs and IIDs a scenario may name (docs/semantics.md §§21.6, 21.7a, 21.18).
pub const GUIDS: &[(&str, sim_core::prelude::GUID)] = {
    use sim_core::prelude::*;
    &[
        ("CLSID_Toy", CLSID_Toy),
        ("CLSID_ToyServer", CLSID_ToyServer),
        ("CLSID_StdGlobalInterfaceTable", CLSID_StdGlobalInterfaceTable),
        ("IID_IUnknown", IID_IUnknown),
        ("IID_IToy", IID_IToy),
        ("IID_IToyCallback", IID_IToyCallback),
        ("IID_IClassFactory", IID_IClassFactory),
        ("IID_IGlobalInterfaceTable", IID_IGlobalInterfaceTable),
    ]
};

/// The GUID a scenario names.
pub fn guid(name: &str) -> Option<sim_core::prelude::GUID> {
    GUIDS.iter().find(|(n, _)| *n == name).map(|(_, g)| *g)
}

/// The closest of `names` to `word` (case-insensitive edit distance at most a third of
/// its length, at least 2), for "did you mean" in load errors.
pub fn did_you_mean<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.iter().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    let limit = (word.chars().count() / 3).max(2);
    names.iter().map(|n| (distance(word, n), *n)).filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d).map(|(_, n)| n)
}

impl ScenarioFile {
    /// Sets parameter `key` from its text, as `--set key=value` does: a number for a
    /// number parameter, anything for a string one.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let Some(p) = self.params.get_mut(key) else {
            let known: Vec<&str> = self.params.keys().map(String::as_str).collect();
            return Err(format!(
                "scenario {} has no parameter {key:?} (it has: {})",
                self.name,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ));
        };
        *p = match p {
            Param::Int(_) => Param::Int(
                parse_int(value).ok_or_else(|| format!("parameter {key} is a number; {value:?} is not one"))?,
            ),
            Param::Str(_) => Param::Str(value.to_string()),
        };
        self.refresh_expect();
        Ok(())
    }

    /// Recomputes [`ScenarioFile::expect`] from the parameters' current values.
    fn refresh_expect(&mut self) {
        let hit = self.expect_when.iter().find(|(k, v, _)| match self.params.get(k) {
            Some(Param::Int(n)) => parse_int(v) == Some(*n),
            Some(Param::Str(s)) => s == v,
            None => false,
        });
        self.expect = match hit {
            Some((_, _, kinds)) => kinds.clone(),
            None => self.expect_default.clone(),
        };
    }

    /// Whether an outcome kind is one this scenario expects.
    pub fn expects(&self, kind: &str) -> bool {
        self.expect.iter().any(|e| e == kind || e == "any")
    }
}

/// A dotted IPv4 address (`10.0.0.2`) as its four octets.
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let octets: Vec<Option<u8>> = text.split('.').map(|p| p.parse().ok()).collect();
    match octets[..] {
        [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
        _ => None,
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

/// The outcome kinds `expect` may name.
pub const OUTCOME_KINDS: &[&str] = &[
    "completed",
    "deadlock",
    "failed",
    "step-limit",
    "livelock",
    "limit",
    "unsupported",
    "access-violation",
    "data-race",
    "any",
];

/// Reads and parses a scenario file.
pub fn load(path: &std::path::Path) -> Result<ScenarioFile, ScenarioError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: shown.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read the file: {e}"),
    })?;
    parse(&text, &shown)
}

/// Parses a scenario from its text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<ScenarioFile, ScenarioError> {
    let p = Parser { text, file };
    let doc = KdlDocument::parse_v2(text).map_err(|e| {
        let (offset, message) = match e.diagnostics.first() {
            Some(d) => {
                let what = d.message.clone().or_else(|| d.label.clone()).unwrap_or_else(|| "syntax error".into());
                let help = d.help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default();
                (d.span.offset(), format!("not valid KDL: {what}{help}"))
            }
            None => (0, "not valid KDL".to_string()),
        };
        // A C programmer's `} else {` on one line is the likeliest mistake: KDL needs a
        // newline (or `;`) between nodes. Say so at the `else`.
        let same_line_else = text.lines().scan(0, |start, line| {
            let at = *start;
            *start += line.len() + 1;
            Some((at, line))
        });
        for (at, line) in same_line_else {
            if let Some(i) = line.find('}')
                && line[i + 1..].trim_start().starts_with("else")
            {
                let col = i + 1 + (line[i + 1..].len() - line[i + 1..].trim_start().len());
                return p.err_at(
                    at + col,
                    "`else` goes on its own line after the `if` block's `}` (KDL separates nodes by newlines or `;`)",
                );
            }
        }
        p.err_at(offset, message)
    })?;
    p.document(&doc)
}

struct Parser<'a> {
    text: &'a str,
    file: &'a str,
}

impl Parser<'_> {
    fn pos(&self, offset: usize) -> Pos {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Pos { line, column }
    }

    fn err_at(&self, offset: usize, message: impl Into<String>) -> ScenarioError {
        let Pos { line, column } = self.pos(offset);
        ScenarioError { file: self.file.to_string(), line, column, message: message.into() }
    }

    fn err(&self, node: &KdlNode, message: impl Into<String>) -> ScenarioError {
        self.err_at(node.span().offset(), message)
    }

    fn err_entry(&self, e: &KdlEntry, message: impl Into<String>) -> ScenarioError {
        self.err_at(e.span().offset(), message)
    }

    fn document(&self, doc: &KdlDocument) -> Result<ScenarioFile, ScenarioError> {
        let mut out = ScenarioFile {
            path: self.file.to_string(),
            name: String::new(),
            summary: String::new(),
            expect: Vec::new(),
            expect_when: Vec::new(),
            expect_default: Vec::new(),
            main: String::new(),
            params: BTreeMap::new(),
            programs: Vec::new(),
            hosts: Vec::new(),
            starts: Vec::new(),
            services: Vec::new(),
            links: Vec::new(),
            partitions: Vec::new(),
        };
        let mut header = None;
        for node in doc.nodes() {
            match node.name().value() {
                "scenario" => {
                    if header.is_some() {
                        return Err(self.err(node, "a second `scenario` node; a file holds one scenario"));
                    }
                    header = Some(node);
                    self.header(node, &mut out)?;
                }
                "param" => {
                    let name = self.string_arg(node, 0, "a parameter name")?;
                    let value = match node.entries().iter().filter(|e| e.name().is_none()).nth(1) {
                        Some(e) => match e.value() {
                            KdlValue::Integer(n) => Param::Int(self.int(e, *n)?),
                            KdlValue::String(s) => Param::Str(s.clone()),
                            _ => return Err(self.err_entry(e, "a parameter's default is a number or a string")),
                        },
                        None => return Err(self.err(node, format!("parameter {name} needs a default: param {name} 4"))),
                    };
                    self.no_children(node)?;
                    if out.params.insert(name.clone(), value).is_some() {
                        return Err(self.err(node, format!("parameter {name} is declared twice")));
                    }
                }
                "program" => {
                    let name = self.string_arg(node, 0, "a program's image name")?;
                    if out.programs.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
                        return Err(self.err(node, format!("program {name:?} is defined twice")));
                    }
                    let mut prog =
                        Program { name, main: Vec::new(), threads: BTreeMap::new(), classes: BTreeMap::new() };
                    if let Some(children) = node.children() {
                        for child in children.nodes() {
                            if child.name().value() == "window-class" {
                                let c = self.string_arg(child, 0, "a window class name")?;
                                let handlers = self.handlers(child)?;
                                if prog.classes.insert(c.clone(), handlers).is_some() {
                                    return Err(self.err(child, format!("window class {c:?} is defined twice")));
                                }
                            }
                            if child.name().value() == "thread" {
                                let t = self.string_arg(child, 0, "a thread body's name")?;
                                let body = self.block(child)?;
                                if prog.threads.insert(t.clone(), body).is_some() {
                                    return Err(self.err(child, format!("thread {t:?} is defined twice")));
                                }
                            }
                        }
                        prog.main = self.stmts(children, true)?;
                    }
                    out.programs.push(prog);
                }
                "host" => {
                    let name = self.string_arg(node, 0, "a host name")?;
                    let text = self.string_arg(node, 1, "the host's IPv4 address (\"10.0.0.2\")")?;
                    let Some(addr) = parse_ipv4(&text) else {
                        return Err(self.err(node, format!("{text:?} is not a dotted IPv4 address")));
                    };
                    self.no_children(node)?;
                    out.hosts.push((name, addr));
                }
                "start" => {
                    let command = self.string_arg(node, 0, "the command line of a process to start")?;
                    let host = self.string_prop(node, "host")?.unwrap_or_else(|| "local".to_string());
                    self.no_children(node)?;
                    out.starts.push((host, command));
                }
                "service" => {
                    let command = self.string_arg(node, 0, "the command line of a service to start")?;
                    self.no_children(node)?;
                    out.services.push(command);
                }
                "link" => {
                    let a = self.string_arg(node, 0, "the first host")?;
                    let b = self.string_arg(node, 1, "the second host")?;
                    let mut link = sim_core::LinkConfig::new(&a, &b, 1);
                    for e in node.entries().iter().filter(|e| e.name().is_some()) {
                        let key = prop(e).unwrap_or("");
                        let KdlValue::Integer(n) = e.value() else {
                            return Err(self.err_entry(e, format!("{key}= takes a number")));
                        };
                        let n = self.int(e, *n)?;
                        let small = |max: i64| -> Result<i64, ScenarioError> {
                            if (0..=max).contains(&n) {
                                Ok(n)
                            } else {
                                Err(self.err_entry(e, format!("{key}={n} is outside 0..={max}")))
                            }
                        };
                        match key {
                            "latency" => link.latency_ms = small(i64::from(u32::MAX))? as u32,
                            "bandwidth" => link.bandwidth = Some(small(i64::from(u32::MAX))? as u32),
                            "drop" => link.drop_permille = small(1000)? as u16,
                            "duplicate" => link.duplicate_permille = small(1000)? as u16,
                            "reorder" => link.reorder_permille = small(1000)? as u16,
                            other => {
                                return Err(self.err_entry(
                                    e,
                                    format!("unknown link property `{other}`; expected latency, bandwidth, drop, duplicate or reorder"),
                                ));
                            }
                        }
                    }
                    self.no_children(node)?;
                    out.links.push(link);
                }
                "partition" => {
                    let a = self.string_arg(node, 0, "the first host")?;
                    let b = self.string_arg(node, 1, "the second host")?;
                    let mut from = 0u64;
                    let mut to = None;
                    for e in node.entries().iter().filter(|e| e.name().is_some()) {
                        let key = prop(e).unwrap_or("");
                        let n = match e.value() {
                            KdlValue::Integer(n) if *n >= 0 => u64::try_from(*n).unwrap_or(u64::MAX),
                            _ => return Err(self.err_entry(e, format!("{key}= takes a time in ms"))),
                        };
                        match key {
                            "from" => from = n,
                            "to" => to = Some(n),
                            other => {
                                return Err(self.err_entry(
                                    e,
                                    format!("unknown partition property `{other}`; expected from or to"),
                                ));
                            }
                        }
                    }
                    self.no_children(node)?;
                    out.partitions.push((a, b, from, to));
                }
                other => {
                    return Err(self.err(
                        node,
                        format!(
                            "unknown top-level node `{other}`; expected `scenario`, `param`, `program`, `host`, `start`, `service`, `link` or `partition`"
                        ),
                    ));
                }
            }
        }
        let Some(header) = header else {
            return Err(self.err_at(0, "no `scenario \"NAME\" { ... }` node"));
        };
        if out.programs.is_empty() {
            return Err(self.err(header, "the scenario has no `program`"));
        }
        if out.main.is_empty() {
            out.main = out.programs[0].name.clone();
        }
        let first = out.main.split_whitespace().next().unwrap_or("");
        if !out.programs.iter().any(|p| p.name.eq_ignore_ascii_case(first)) {
            return Err(self.err(header, format!("main names program {first:?}, which the file does not define")));
        }
        for command in &out.services {
            let image = command.split_whitespace().next().unwrap_or("");
            if !out.programs.iter().any(|p| p.name.eq_ignore_ascii_case(image)) {
                return Err(
                    self.err(header, format!("service names program {image:?}, which the file does not define"))
                );
            }
        }
        if out.expect_default.is_empty() {
            out.expect_default.push("completed".to_string());
        }
        for (key, value, _) in &out.expect_when {
            let known = match out.params.get(key) {
                Some(Param::Int(_)) => parse_int(value).is_some(),
                Some(Param::Str(_)) => true,
                None => false,
            };
            if !known {
                return Err(self.err(
                    header,
                    format!("`expect ... when=\"{key}={value}\"` names no parameter {key} taking that value"),
                ));
            }
        }
        out.refresh_expect();
        self.check(&out)?;
        Ok(out)
    }

    fn header(&self, node: &KdlNode, out: &mut ScenarioFile) -> Result<(), ScenarioError> {
        out.name = self.string_arg(node, 0, "the scenario's name")?;
        let Some(children) = node.children() else { return Ok(()) };
        for c in children.nodes() {
            match c.name().value() {
                "summary" => out.summary = self.string_arg(c, 0, "a one-line summary")?,
                "main" => out.main = self.string_arg(c, 0, "the first process's command line")?,
                "expect" => {
                    let mut kinds = Vec::new();
                    let mut when = None;
                    for e in c.entries() {
                        if prop(e) == Some("when") {
                            let cond = match e.value() {
                                KdlValue::String(s) => s.split_once('=').map(|(k, v)| (k.trim(), v.trim())),
                                _ => None,
                            };
                            let Some((k, v)) = cond else {
                                return Err(self.err_entry(e, "when= takes \"PARAM=VALUE\""));
                            };
                            when = Some((k.to_string(), v.to_string()));
                            continue;
                        }
                        let KdlValue::String(k) = e.value() else {
                            return Err(self.err_entry(e, "expect takes outcome kinds: completed, deadlock, ..."));
                        };
                        if e.name().is_some() || !OUTCOME_KINDS.contains(&k.as_str()) {
                            return Err(self.err_entry(
                                e,
                                format!("unknown outcome kind {k:?}; expected one of {}", OUTCOME_KINDS.join(", ")),
                            ));
                        }
                        kinds.push(k.clone());
                    }
                    match when {
                        Some((k, v)) => out.expect_when.push((k, v, kinds)),
                        None => out.expect_default.extend(kinds),
                    }
                }
                other => {
                    return Err(
                        self.err(c, format!("unknown scenario field `{other}`; expected summary, expect or main"))
                    );
                }
            }
        }
        Ok(())
    }

    fn no_children(&self, node: &KdlNode) -> Result<(), ScenarioError> {
        match node.children() {
            Some(_) => Err(self.err(node, format!("`{}` takes no block", node.name().value()))),
            None => Ok(()),
        }
    }

    fn string_arg(&self, node: &KdlNode, i: usize, what: &str) -> Result<String, ScenarioError> {
        match node.entries().iter().filter(|e| e.name().is_none()).nth(i) {
            Some(e) => match e.value() {
                KdlValue::String(s) => Ok(s.clone()),
                _ => Err(self.err_entry(e, format!("expected {what} (a string)"))),
            },
            None => Err(self.err(node, format!("`{}` needs {what}", node.name().value()))),
        }
    }

    /// A string property (`host="server"`) of a node, if given.
    fn string_prop(&self, node: &KdlNode, key: &str) -> Result<Option<String>, ScenarioError> {
        match node.entries().iter().find(|e| prop(e) == Some(key)) {
            None => Ok(None),
            Some(e) => match e.value() {
                KdlValue::String(s) => Ok(Some(s.clone())),
                _ => Err(self.err_entry(e, format!("{key}= takes a string"))),
            },
        }
    }

    fn int(&self, e: &KdlEntry, n: i128) -> Result<i64, ScenarioError> {
        i64::try_from(n).map_err(|_| self.err_entry(e, format!("{n} is out of range")))
    }

    fn arg(&self, e: &KdlEntry) -> Result<Arg, ScenarioError> {
        match e.value() {
            KdlValue::Integer(n) => Ok(Arg::Int(self.int(e, *n)?)),
            KdlValue::String(s) => Ok(Arg::Str(s.clone())),
            KdlValue::Bool(b) => Ok(Arg::Bool(*b)),
            KdlValue::Float(_) => Err(self.err_entry(e, "numbers here are integers")),
            KdlValue::Null => Err(self.err_entry(e, "#null is not an argument here; write NULL for a null handle")),
        }
    }

    fn block(&self, node: &KdlNode) -> Result<Vec<Stmt>, ScenarioError> {
        match node.children() {
            Some(d) => self.stmts(d, false),
            None => Err(self.err(node, format!("`{}` needs a block: {{ ... }}", node.name().value()))),
        }
    }

    /// Statements of a block; `top` skips `thread` definitions (a program's top level).
    fn stmts(&self, doc: &KdlDocument, top: bool) -> Result<Vec<Stmt>, ScenarioError> {
        let mut out: Vec<Stmt> = Vec::new();
        for node in doc.nodes() {
            let name = node.name().value();
            let pos = self.pos(node.span().offset());
            let kind = match name {
                "thread" | "window-class" if top => continue,
                "window-class" => return Err(self.err(node, "window classes are defined at a program's top level")),
                "on" => return Err(self.err(node, "`on MSG { ... }` goes inside a `window-class`")),
                "thread" => return Err(self.err(node, "thread bodies are defined at a program's top level")),
                "repeat" => {
                    let count = self.positional(node, 0).ok_or_else(|| self.err(node, "repeat needs a count"))?;
                    StmtKind::Repeat { count: self.arg(count)?, until: self.until(node)?, body: self.block(node)? }
                }
                "loop" => StmtKind::Loop { until: self.until(node)?, body: self.block(node)? },
                "if" => {
                    let cond = self.cond(node)?;
                    StmtKind::If { cond, then: self.block(node)?, otherwise: Vec::new() }
                }
                "else" => {
                    let body = self.block(node)?;
                    match out.last_mut() {
                        Some(Stmt { kind: StmtKind::If { otherwise, .. }, .. }) if otherwise.is_empty() => {
                            *otherwise = body;
                            continue;
                        }
                        _ => return Err(self.err(node, "`else` must follow an `if` block")),
                    }
                }
                "break" => {
                    self.no_children(node)?;
                    StmtKind::Break
                }
                "exit" | "return" => {
                    self.no_children(node)?;
                    StmtKind::Exit(match self.positional(node, 0) {
                        Some(e) => self.arg(e)?,
                        None => Arg::Int(0),
                    })
                }
                "assert-data" => {
                    let buffer = self.string_arg(node, 0, "a buffer name")?;
                    let equals = self.positional(node, 1).map(|e| self.arg(e)).transpose()?;
                    let size =
                        node.entries().iter().find(|e| prop(e) == Some("size")).map(|e| self.arg(e)).transpose()?;
                    if equals.is_none() && size.is_none() {
                        return Err(self.err(node, "assert-data needs the expected text or size=N"));
                    }
                    StmtKind::AssertData { buffer, equals, size }
                }
                "assert" | "set" | "add" => {
                    let var = self.string_arg(node, 0, "a variable name")?;
                    let value = self
                        .positional(node, 1)
                        .ok_or_else(|| self.err(node, format!("`{name}` needs a value: {name} {var} 1")))?;
                    let value = self.arg(value)?;
                    match name {
                        "assert" => StmtKind::Assert { var, equals: value },
                        "set" => StmtKind::Set { var, value },
                        _ => StmtKind::Add { var, value },
                    }
                }
                _ => StmtKind::Call(self.call(node)?),
            };
            out.push(Stmt { pos, kind });
        }
        Ok(out)
    }

    fn handlers(&self, class: &KdlNode) -> Result<Vec<Handler>, ScenarioError> {
        let mut out = Vec::new();
        let Some(children) = class.children() else { return Ok(out) };
        for h in children.nodes() {
            if h.name().value() != "on" {
                return Err(self.err(h, "a window-class holds `on MSG { ... }` handlers"));
            }
            let msg = self.positional(h, 0).ok_or_else(|| self.err(h, "`on` needs a message: on WM_APP { ... }"))?;
            let msg = self.typed(msg, Num)?;
            if let Arg::Str(m) = &msg
                && constant(m).is_none()
                && parse_int(m).is_none()
            {
                return Err(self.err(h, format!("unknown message {m:?}")));
            }
            out.push(Handler { msg, body: self.block(h)? });
        }
        Ok(out)
    }

    fn positional<'n>(&self, node: &'n KdlNode, i: usize) -> Option<&'n KdlEntry> {
        node.entries().iter().filter(|e| e.name().is_none()).nth(i)
    }

    fn until(&self, node: &KdlNode) -> Result<Vec<Arg>, ScenarioError> {
        let mut out = Vec::new();
        for e in node.entries() {
            match prop(e) {
                Some("until-error") => match self.arg(e)? {
                    Arg::Str(s) => out.extend(s.split('|').map(|p| Arg::Str(p.trim().to_string()))),
                    a @ Arg::Int(_) => out.push(a),
                    _ => return Err(self.err_entry(e, "until-error takes an error name or number")),
                },
                Some(other) => {
                    return Err(self.err_entry(e, format!("unknown property `{other}`; expected until-error")));
                }
                None => {}
            }
        }
        Ok(out)
    }

    fn cond(&self, node: &KdlNode) -> Result<Cond, ScenarioError> {
        let mut cond = None;
        let mut var_value = None;
        for e in node.entries() {
            let c = match (prop(e), e.value()) {
                (Some("ok"), KdlValue::Bool(b)) => Cond::Ok(*b),
                (Some("error"), _) => Cond::Error(self.arg(e)?),
                (Some("ret"), _) => Cond::Ret(self.arg(e)?),
                (Some("var"), KdlValue::String(s)) => Cond::Var(s.clone(), Arg::Int(0)),
                (Some("equals"), _) => {
                    var_value = Some(self.arg(e)?);
                    continue;
                }
                _ => {
                    return Err(self.err_entry(
                        e,
                        "an `if` tests the previous call: ok=#true|#false, error=E, ret=N, or var=NAME equals=N",
                    ));
                }
            };
            if cond.replace(c).is_some() {
                return Err(self.err_entry(e, "an `if` tests one thing"));
            }
        }
        match (cond, var_value) {
            (Some(Cond::Var(v, _)), Some(n)) => Ok(Cond::Var(v, n)),
            (Some(Cond::Var(..)), None) => Err(self.err(node, "`if var=NAME` needs equals=N")),
            (Some(c), None) => Ok(c),
            (_, Some(_)) => Err(self.err(node, "equals= goes with var=NAME")),
            (None, None) => Err(self.err(node, "`if` needs a condition: ok=, error=, ret= or var=")),
        }
    }

    fn call(&self, node: &KdlNode) -> Result<Call, ScenarioError> {
        let name = node.name().value();
        let Some(api) = sig(name) else {
            let names: Vec<&str> = SIGS.iter().map(|s| s.name).collect();
            let hint = did_you_mean(name, &names).map_or(String::new(), |n| format!("did you mean `{n}`? "));
            return Err(self.err(
                node,
                format!(
                    "unknown call or statement `{name}`; {hint}docs/scenarios.md lists the calls (and repeat, loop, if, else, break, exit, assert, assert-data, set, add)"
                ),
            ));
        };
        self.no_children(node)?;
        let mut call = Call { api, args: vec![None; api.params.len()], expect: None, error: None };
        let mut next = 0;
        for e in node.entries() {
            match prop(e) {
                Some("expect") => call.expect = Some(self.arg(e)?),
                Some("error") => call.error = Some(self.arg(e)?),
                Some(p) => {
                    let i = api.index(p).ok_or_else(|| {
                        let names: Vec<&str> = api.params.iter().map(|p| p.0).collect();
                        self.err_entry(
                            e,
                            format!("{name} has no parameter `{p}`; it takes {}, expect=, error=", names.join(", ")),
                        )
                    })?;
                    if call.args[i].is_some() {
                        return Err(self.err_entry(e, format!("`{p}` is given twice")));
                    }
                    call.args[i] = Some(self.typed(e, api.params[i].1)?);
                }
                None => {
                    while next < api.params.len()
                        && call.args[next].is_some()
                        && !(api.params[next].1 == Handles && matches!(call.args[next], Some(Arg::List(_))))
                    {
                        next += 1;
                    }
                    let Some(&(pname, kind, _)) = api.params.get(next) else {
                        return Err(self.err_entry(e, format!("too many arguments for {name}")));
                    };
                    if kind == Handles {
                        let mut list = match call.args[next].take() {
                            Some(Arg::List(l)) => l,
                            _ => Vec::new(),
                        };
                        match e.value() {
                            KdlValue::String(s) => list.push(s.clone()),
                            _ => return Err(self.err_entry(e, format!("{pname}: expected handle variables"))),
                        }
                        call.args[next] = Some(Arg::List(list));
                        continue; // the list takes every further positional argument
                    }
                    call.args[next] = Some(self.typed(e, kind)?);
                    next += 1;
                }
            }
        }
        for (i, &(pname, _, required)) in api.params.iter().enumerate() {
            if required && call.args[i].is_none() {
                return Err(self.err(node, format!("{name} needs `{pname}`")));
            }
        }
        if name == "WriteFile" && call.args[1].is_some() == call.args[2].is_some() {
            return Err(self.err(node, "WriteFile takes either data (\"text\") or size=N"));
        }
        let given = |p: &str| api.index(p).is_some_and(|i| call.args[i].is_some());
        if name == "MQSendMessage" && given("body") && given("size") {
            return Err(self.err(node, "MQSendMessage takes either a body (\"text\") or size=N"));
        }
        if name == "MQReceiveMessage" {
            if given("overlapped") && given("callback") {
                return Err(self.err(node, "MQReceiveMessage takes overlapped= or callback=, not both"));
            }
            if given("event") && !given("overlapped") {
                return Err(self.err(node, "event= goes with overlapped=NAME"));
            }
            if given("status") && !given("callback") {
                return Err(self.err(node, "status= is the callback's result; it goes with callback=THREAD"));
            }
        }
        Ok(call)
    }

    fn typed(&self, e: &KdlEntry, kind: Kind) -> Result<Arg, ScenarioError> {
        let a = self.arg(e)?;
        let ok = match (kind, &a) {
            (Bool, Arg::Bool(_)) => true,
            (Bool, Arg::Str(p)) => p.starts_with('$'),
            (Num, Arg::Int(_) | Arg::Str(_)) => true,
            (Str, Arg::Str(_)) => true,
            (Handle | Out | Thread | Buffer | Class, Arg::Str(_)) => true,
            (Guid, Arg::Str(g)) => {
                if g.starts_with('$') || guid(g).is_some() {
                    true
                } else {
                    let names: Vec<&str> = GUIDS.iter().map(|(n, _)| *n).collect();
                    let hint = did_you_mean(g, &names).map_or(String::new(), |n| format!("; did you mean `{n}`?"));
                    return Err(
                        self.err_entry(e, format!("unknown CLSID or IID {g:?}{hint} (known: {})", names.join(", ")))
                    );
                }
            }
            (Handles, Arg::Str(s)) => return Ok(Arg::List(vec![s.clone()])),
            _ => false,
        };
        if !ok {
            let want = match kind {
                Handle => "a handle variable",
                Handles => "handle variables",
                Out => "a variable name to set",
                Num => "a number, a constant or a number variable",
                Str => "a string",
                Bool => "#true, #false or a \"$param\" (non-zero is true)",
                Thread => "a thread body's name",
                Buffer => "a buffer name",
                Class => "a window class name",
                Guid => "a CLSID or IID name",
            };
            return Err(self.err_entry(e, format!("expected {want}")));
        }
        if let (Num, Arg::Str(s)) = (kind, &a) {
            // Flags: every part a constant or a number; a single name may be a variable.
            if s.contains('|') {
                for part in s.split('|') {
                    if constant(part.trim()).is_none() && parse_int(part).is_none() {
                        return Err(self.err_entry(e, format!("unknown constant {:?}", part.trim())));
                    }
                }
            }
        }
        Ok(a)
    }

    /// Checks what needs the whole file: threads and programs named, `$params` declared.
    fn check(&self, f: &ScenarioFile) -> Result<(), ScenarioError> {
        let err_at = |pos: Pos, message: String| ScenarioError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            message,
        };
        fn walk(stmts: &[Stmt], f: &mut dyn FnMut(&Stmt) -> Result<(), ScenarioError>) -> Result<(), ScenarioError> {
            for s in stmts {
                f(s)?;
                match &s.kind {
                    StmtKind::Repeat { body, .. } | StmtKind::Loop { body, .. } => walk(body, f)?,
                    StmtKind::If { then, otherwise, .. } => {
                        walk(then, f)?;
                        walk(otherwise, f)?;
                    }
                    _ => {}
                }
            }
            Ok(())
        }
        for prog in &f.programs {
            let mut visit = |s: &Stmt| -> Result<(), ScenarioError> {
                let mut args: Vec<&Arg> = Vec::new();
                match &s.kind {
                    StmtKind::Call(c) => {
                        for (i, a) in c.args.iter().enumerate() {
                            let Some(a) = a else { continue };
                            if c.api.params[i].1 == Class
                                && let Arg::Str(t) = a
                                && !prog.classes.contains_key(t)
                            {
                                return Err(err_at(
                                    s.pos,
                                    format!("program {:?} has no window-class {t:?}", prog.name),
                                ));
                            }
                            if c.api.params[i].1 == Thread
                                && let Arg::Str(t) = a
                                && !prog.threads.contains_key(t)
                            {
                                return Err(err_at(s.pos, format!("program {:?} has no thread body {t:?}", prog.name)));
                            }
                            if c.api.name == "CreateProcess"
                                && i == 0
                                && let Arg::Str(cmd) = a
                            {
                                let image = cmd.split_whitespace().next().unwrap_or("");
                                if !cmd.starts_with('$')
                                    && !f.programs.iter().any(|p| p.name.eq_ignore_ascii_case(image))
                                {
                                    return Err(err_at(
                                        s.pos,
                                        format!(
                                            "CreateProcess names program {image:?}, which the file does not define"
                                        ),
                                    ));
                                }
                            }
                            args.push(a);
                        }
                        args.extend(c.expect.iter());
                        args.extend(c.error.iter());
                    }
                    StmtKind::Repeat { count, until, .. } => {
                        args.push(count);
                        args.extend(until.iter());
                    }
                    StmtKind::Loop { until, .. } => args.extend(until.iter()),
                    StmtKind::If { cond: Cond::Error(a) | Cond::Ret(a) | Cond::Var(_, a), .. } => args.push(a),
                    StmtKind::Exit(a) => args.push(a),
                    StmtKind::AssertData { equals, size, .. } => {
                        args.extend(equals.iter());
                        args.extend(size.iter());
                    }
                    StmtKind::Assert { equals: a, .. }
                    | StmtKind::Set { value: a, .. }
                    | StmtKind::Add { value: a, .. } => args.push(a),
                    _ => {}
                }
                for a in args {
                    if let Arg::Str(s2) = a
                        && let Some(p) = s2.strip_prefix('$')
                        && !f.params.contains_key(p)
                    {
                        return Err(err_at(s.pos, format!("`${p}` names no parameter; declare it: param {p} 0")));
                    }
                }
                Ok(())
            };
            walk(&prog.main, &mut visit)?;
            for body in prog.threads.values() {
                walk(body, &mut visit)?;
            }
            for h in prog.classes.values().flatten() {
                walk(&h.body, &mut visit)?;
            }
        }
        Ok(())
    }
}

fn prop(e: &KdlEntry) -> Option<&str> {
    e.name().map(|n| n.value())
}
