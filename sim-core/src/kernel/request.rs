//! What a thread asks of the kernel at a schedule point, and what it gets back.
//!
//! A [`Request`] is posted by an API future (`api/kernel32.rs`) when the thread parks at
//! the call; the kernel executes it atomically when the scheduler picks the thread, and
//! answers with a [`Value`] (or blocks the thread until an event decides the `Value`).

use crate::api::ThreadCtx;
use crate::types::{HANDLE, PROCESS_INFORMATION, STARTUPINFO};
use std::fmt::{self, Write as _};
use std::future::Future;
use std::pin::Pin;

/// A thread body's future: returns the thread's exit code.
pub type BodyFuture = Pin<Box<dyn Future<Output = u32>>>;
/// A thread start routine (CreateThread's lpStartAddress + lpParameter, as a closure).
pub type ThreadStart = Box<dyn FnOnce(ThreadCtx) -> BodyFuture>;
/// A program registered with the simulation: its main thread body, run once per process.
pub type Program = std::rc::Rc<dyn Fn(ThreadCtx) -> BodyFuture>;

/// One Win32 call, as the kernel sees it. Each variant is the Win32 function of the same
/// name with its parameters (documented on the `ThreadCtx` method that posts it).
#[allow(missing_docs)]
pub enum Request {
    CreateThread {
        inherit: bool,
        flags: u32,
        start: ThreadStart,
    },
    ResumeThread(HANDLE),
    SuspendThread(HANDLE),
    ExitThread(u32),
    TerminateThread(HANDLE, u32),
    GetExitCodeThread(HANDLE),
    CreateProcess {
        application_name: Option<String>,
        command_line: Option<String>,
        inherit_process: bool,
        inherit_thread: bool,
        inherit_handles: bool,
        flags: u32,
        startup: STARTUPINFO,
    },
    ExitProcess(u32),
    TerminateProcess(HANDLE, u32),
    GetExitCodeProcess(HANDLE),
    OpenProcess {
        access: u32,
        inherit: bool,
        pid: u32,
    },
    CloseHandle(HANDLE),
    DuplicateHandle {
        source_process: HANDLE,
        source: HANDLE,
        target_process: HANDLE,
        access: u32,
        inherit: bool,
        options: u32,
    },
    SetHandleInformation {
        handle: HANDLE,
        mask: u32,
        flags: u32,
    },
    GetHandleInformation(HANDLE),
    WaitForSingleObject {
        handle: HANDLE,
        timeout_ms: u32,
    },
    WaitForMultipleObjects {
        handles: Vec<HANDLE>,
        wait_all: bool,
        timeout_ms: u32,
    },
    SignalObjectAndWait {
        signal: HANDLE,
        wait: HANDLE,
        timeout_ms: u32,
        alertable: bool,
    },
    Sleep(u32),
    CreateEvent {
        inherit: bool,
        manual_reset: bool,
        initial_state: bool,
        name: Option<String>,
    },
    OpenEvent {
        access: u32,
        inherit: bool,
        name: Option<String>,
    },
    SetEvent(HANDLE),
    ResetEvent(HANDLE),
    PulseEvent(HANDLE),
    CreateMutex {
        inherit: bool,
        initial_owner: bool,
        name: Option<String>,
    },
    OpenMutex {
        access: u32,
        inherit: bool,
        name: Option<String>,
    },
    ReleaseMutex(HANDLE),
    CreateSemaphore {
        inherit: bool,
        initial: i32,
        maximum: i32,
        name: Option<String>,
    },
    OpenSemaphore {
        access: u32,
        inherit: bool,
        name: Option<String>,
    },
    ReleaseSemaphore {
        handle: HANDLE,
        count: i32,
    },
    CreatePipe {
        inherit: bool,
        size: u32,
    },
    ReadFile {
        handle: HANDLE,
        len: u32,
    },
    WriteFile {
        handle: HANDLE,
        data: Vec<u8>,
    },
    PeekNamedPipe {
        handle: HANDLE,
        len: u32,
    },
    GetNamedPipeInfo(HANDLE),
    FlushFileBuffers(HANDLE),
}

fn name_arg(name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{n:?}"),
        None => "NULL".into(),
    }
}

/// Renders up to 24 bytes of data for a trace line: as a quoted string when it is
/// text, as hex bytes otherwise.
pub(crate) fn show_bytes(data: &[u8]) -> String {
    let mut s = String::new();
    let shown = &data[..data.len().min(24)];
    match std::str::from_utf8(shown) {
        Ok(text) if text.chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')) => {
            let _ = write!(s, "{text:?}");
        }
        _ => {
            s.push('[');
            for (i, b) in shown.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{b:02x}");
            }
            s.push(']');
        }
    }
    if data.len() > shown.len() {
        s.push('…');
    }
    s
}

impl Request {
    /// The Win32 function name.
    pub fn api(&self) -> &'static str {
        match self {
            Request::CreateThread { .. } => "CreateThread",
            Request::ResumeThread(_) => "ResumeThread",
            Request::SuspendThread(_) => "SuspendThread",
            Request::ExitThread(_) => "ExitThread",
            Request::TerminateThread(..) => "TerminateThread",
            Request::GetExitCodeThread(_) => "GetExitCodeThread",
            Request::CreateProcess { .. } => "CreateProcess",
            Request::ExitProcess(_) => "ExitProcess",
            Request::TerminateProcess(..) => "TerminateProcess",
            Request::GetExitCodeProcess(_) => "GetExitCodeProcess",
            Request::OpenProcess { .. } => "OpenProcess",
            Request::CloseHandle(_) => "CloseHandle",
            Request::DuplicateHandle { .. } => "DuplicateHandle",
            Request::SetHandleInformation { .. } => "SetHandleInformation",
            Request::GetHandleInformation(_) => "GetHandleInformation",
            Request::WaitForSingleObject { .. } => "WaitForSingleObject",
            Request::WaitForMultipleObjects { .. } => "WaitForMultipleObjects",
            Request::SignalObjectAndWait { .. } => "SignalObjectAndWait",
            Request::Sleep(_) => "Sleep",
            Request::CreateEvent { .. } => "CreateEvent",
            Request::OpenEvent { .. } => "OpenEvent",
            Request::SetEvent(_) => "SetEvent",
            Request::ResetEvent(_) => "ResetEvent",
            Request::PulseEvent(_) => "PulseEvent",
            Request::CreateMutex { .. } => "CreateMutex",
            Request::OpenMutex { .. } => "OpenMutex",
            Request::ReleaseMutex(_) => "ReleaseMutex",
            Request::CreateSemaphore { .. } => "CreateSemaphore",
            Request::OpenSemaphore { .. } => "OpenSemaphore",
            Request::ReleaseSemaphore { .. } => "ReleaseSemaphore",
            Request::CreatePipe { .. } => "CreatePipe",
            Request::ReadFile { .. } => "ReadFile",
            Request::WriteFile { .. } => "WriteFile",
            Request::PeekNamedPipe { .. } => "PeekNamedPipe",
            Request::GetNamedPipeInfo(_) => "GetNamedPipeInfo",
            Request::FlushFileBuffers(_) => "FlushFileBuffers",
        }
    }

    /// The arguments, rendered for a trace line.
    pub fn args(&self) -> String {
        match self {
            Request::CreateThread { inherit, flags, .. } => format!("inherit={inherit}, flags=0x{flags:x}"),
            Request::ResumeThread(h)
            | Request::SuspendThread(h)
            | Request::GetExitCodeThread(h)
            | Request::GetExitCodeProcess(h)
            | Request::CloseHandle(h)
            | Request::GetHandleInformation(h)
            | Request::SetEvent(h)
            | Request::ResetEvent(h)
            | Request::PulseEvent(h)
            | Request::ReleaseMutex(h)
            | Request::GetNamedPipeInfo(h)
            | Request::FlushFileBuffers(h) => format!("{h}"),
            Request::ExitThread(c) | Request::ExitProcess(c) => format!("{c}"),
            Request::TerminateThread(h, c) | Request::TerminateProcess(h, c) => format!("{h}, {c}"),
            Request::CreateProcess { application_name, command_line, inherit_handles, flags, startup, .. } => {
                let mut s = format!(
                    "{}, {}, bInheritHandles={}, flags=0x{flags:x}",
                    name_arg(application_name),
                    name_arg(command_line),
                    if *inherit_handles { "TRUE" } else { "FALSE" }
                );
                if startup.dwFlags & crate::types::STARTF_USESTDHANDLES != 0 {
                    let _ = write!(
                        s,
                        ", stdin={} stdout={} stderr={}",
                        startup.hStdInput, startup.hStdOutput, startup.hStdError
                    );
                }
                s
            }
            Request::OpenProcess { access, inherit, pid } => format!("0x{access:x}, {inherit}, {pid}"),
            Request::DuplicateHandle { source_process, source, target_process, access, inherit, options } => {
                format!("{source_process}, {source}, {target_process}, 0x{access:x}, {inherit}, 0x{options:x}")
            }
            Request::SetHandleInformation { handle, mask, flags } => format!("{handle}, 0x{mask:x}, 0x{flags:x}"),
            Request::WaitForSingleObject { handle, timeout_ms } => format!("{handle}, {}", timeout(*timeout_ms)),
            Request::WaitForMultipleObjects { handles, wait_all, timeout_ms } => {
                let hs: Vec<String> = handles.iter().map(|h| h.to_string()).collect();
                format!("{}, [{}], bWaitAll={}, {}", handles.len(), hs.join(", "), wait_all, timeout(*timeout_ms))
            }
            Request::SignalObjectAndWait { signal, wait, timeout_ms, alertable } => {
                format!("{signal}, {wait}, {}, {alertable}", timeout(*timeout_ms))
            }
            Request::Sleep(ms) => timeout(*ms),
            Request::CreateEvent { inherit, manual_reset, initial_state, name } => {
                format!("inherit={inherit}, manual={manual_reset}, initial={initial_state}, {}", name_arg(name))
            }
            Request::OpenEvent { access, inherit, name }
            | Request::OpenMutex { access, inherit, name }
            | Request::OpenSemaphore { access, inherit, name } => {
                format!("0x{access:x}, {inherit}, {}", name_arg(name))
            }
            Request::CreateMutex { inherit, initial_owner, name } => {
                format!("inherit={inherit}, owner={initial_owner}, {}", name_arg(name))
            }
            Request::CreateSemaphore { inherit, initial, maximum, name } => {
                format!("inherit={inherit}, {initial}, {maximum}, {}", name_arg(name))
            }
            Request::ReleaseSemaphore { handle, count } => format!("{handle}, {count}"),
            Request::CreatePipe { inherit, size } => format!("inherit={inherit}, nSize={size}"),
            Request::ReadFile { handle, len } => format!("{handle}, {len}"),
            Request::WriteFile { handle, data } => format!("{handle}, {} bytes {}", data.len(), show_bytes(data)),
            Request::PeekNamedPipe { handle, len } => format!("{handle}, {len}"),
        }
    }
}

fn timeout(ms: u32) -> String {
    if ms == crate::types::INFINITE { "INFINITE".into() } else { format!("{ms}ms") }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.api(), self.args())
    }
}

/// What a completed call returns to its thread. The API layer (api/kernel32.rs) turns it
/// into the Win32 return value and out-parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// BOOL-returning calls without out-parameters, and failures of any call.
    Bool(bool),
    /// A DWORD result (suspend counts).
    U32(u32),
    /// A wait function's result (`WAIT_OBJECT_0 + i`, `WAIT_TIMEOUT`, ...).
    Wait(u32),
    /// A handle (Create*/Open*), or the failure value given by the API.
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
        /// The bytes copied.
        data: Vec<u8>,
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
    /// A DWORD out-parameter of a BOOL call (exit codes, handle flags).
    Out(u32),
    /// ReleaseSemaphore: the previous count.
    PrevCount(i32),
    /// Sleep and other calls that return nothing.
    Void,
}

impl Value {
    /// Renders the value for a trace line.
    pub fn render(&self) -> String {
        match self {
            Value::Bool(true) => "TRUE".into(),
            Value::Bool(false) => "FALSE".into(),
            Value::U32(v) => format!("{v}"),
            Value::Wait(v) => wait_code(*v),
            Value::Handle(h) => format!("{h}"),
            Value::Thread(h, tid) => format!("{h} (tid {tid})"),
            Value::Pipe(r, w) => format!("TRUE, read={r} write={w}"),
            Value::Process(pi) => format!(
                "TRUE, hProcess={} hThread={} pid={} tid={}",
                pi.hProcess, pi.hThread, pi.dwProcessId, pi.dwThreadId
            ),
            Value::Read(d) => format!("TRUE, read {} {}", d.len(), show_bytes(d)),
            Value::Written(n) => format!("TRUE, written {n}"),
            Value::Peek { data, avail, left } => {
                format!("TRUE, read {} avail {avail} left {left}", data.len())
            }
            Value::PipeInfo { flags, out_size, in_size, max_instances } => {
                format!("TRUE, flags=0x{flags:x} out={out_size} in={in_size} max={max_instances}")
            }
            Value::Out(v) => format!("TRUE, {v}"),
            Value::PrevCount(p) => format!("TRUE, previous {p}"),
            Value::Void => String::new(),
        }
    }
}

fn wait_code(v: u32) -> String {
    use crate::types::*;
    match v {
        WAIT_TIMEOUT => "WAIT_TIMEOUT".into(),
        WAIT_FAILED => "WAIT_FAILED".into(),
        0 => "WAIT_OBJECT_0".into(),
        WAIT_ABANDONED_0 => "WAIT_ABANDONED_0".into(),
        v if v < 64 => format!("WAIT_OBJECT_0+{v}"),
        v if (WAIT_ABANDONED_0..WAIT_ABANDONED_0 + 64).contains(&v) => {
            format!("WAIT_ABANDONED_0+{}", v - WAIT_ABANDONED_0)
        }
        v => format!("{v}"),
    }
}
