//! Win32 types and constants, named as in the Windows SDK headers.
//!
//! Values are the real ones (winnt.h, winbase.h, processthreadsapi.h, namedpipeapi.h),
//! so a Windows programmer can compare a winsim trace with a debugger session.
#![allow(non_camel_case_types, non_snake_case)]

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Win32 `BOOL`: nonzero is TRUE.
pub type BOOL = i32;
/// `TRUE`.
pub const TRUE: BOOL = 1;
/// `FALSE`.
pub const FALSE: BOOL = 0;
/// A Win32 `DWORD`.
pub type DWORD = u32;

/// A Win32 `HANDLE`: an opaque pointer-sized value, meaningful only in the process that
/// owns it. Real handles are multiples of 4; the low two bits are ignored by the kernel
/// (§7.1 of docs/semantics.md).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HANDLE(pub isize);

impl HANDLE {
    /// `NULL`.
    pub const NULL: HANDLE = HANDLE(0);
    /// True for `NULL`.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for HANDLE {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for HANDLE {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            -1 => f.write_str("(HANDLE)-1"),
            -2 => f.write_str("(HANDLE)-2"),
            v if v < 0 => write!(f, "(HANDLE){v}"),
            v => write!(f, "0x{v:x}"),
        }
    }
}

/// `INVALID_HANDLE_VALUE`, `(HANDLE)-1`; the same value as `GetCurrentProcess()`.
pub const INVALID_HANDLE_VALUE: HANDLE = HANDLE(-1);
/// The pseudo handle `GetCurrentProcess()` returns.
pub const CURRENT_PROCESS_PSEUDO_HANDLE: HANDLE = HANDLE(-1);
/// The pseudo handle `GetCurrentThread()` returns.
pub const CURRENT_THREAD_PSEUDO_HANDLE: HANDLE = HANDLE(-2);

/// `SECURITY_ATTRIBUTES`; only `bInheritHandle` is modelled (no security descriptors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SECURITY_ATTRIBUTES {
    /// Whether the new handle is inheritable by child processes.
    pub bInheritHandle: bool,
}

impl SECURITY_ATTRIBUTES {
    /// `SECURITY_ATTRIBUTES { bInheritHandle: TRUE }`.
    pub const INHERIT: SECURITY_ATTRIBUTES = SECURITY_ATTRIBUTES { bInheritHandle: true };
}

/// `STARTUPINFO`: the standard handles a child starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct STARTUPINFO {
    /// `STARTF_*` flags; only `STARTF_USESTDHANDLES` changes anything.
    pub dwFlags: u32,
    /// Standard input for the child when `STARTF_USESTDHANDLES` is set.
    pub hStdInput: HANDLE,
    /// Standard output for the child when `STARTF_USESTDHANDLES` is set.
    pub hStdOutput: HANDLE,
    /// Standard error for the child when `STARTF_USESTDHANDLES` is set.
    pub hStdError: HANDLE,
}

/// `PROCESS_INFORMATION`, filled in by `CreateProcess`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PROCESS_INFORMATION {
    /// A handle to the new process (PROCESS_ALL_ACCESS).
    pub hProcess: HANDLE,
    /// A handle to its main thread (THREAD_ALL_ACCESS).
    pub hThread: HANDLE,
    /// Its process id.
    pub dwProcessId: u32,
    /// Its main thread's id.
    pub dwThreadId: u32,
}

/// `INFINITE` time-out.
pub const INFINITE: u32 = 0xFFFF_FFFF;
/// `WAIT_OBJECT_0`.
pub const WAIT_OBJECT_0: u32 = 0;
/// `WAIT_ABANDONED_0` (`WAIT_ABANDONED`).
pub const WAIT_ABANDONED_0: u32 = 0x80;
/// `WAIT_ABANDONED`.
pub const WAIT_ABANDONED: u32 = 0x80;
/// `WAIT_IO_COMPLETION`.
pub const WAIT_IO_COMPLETION: u32 = 0xC0;
/// `WAIT_TIMEOUT` (258).
pub const WAIT_TIMEOUT: u32 = 0x102;
/// `WAIT_FAILED`.
pub const WAIT_FAILED: u32 = 0xFFFF_FFFF;
/// `MAXIMUM_WAIT_OBJECTS`.
pub const MAXIMUM_WAIT_OBJECTS: usize = 64;
/// `MAXIMUM_SUSPEND_COUNT`.
pub const MAXIMUM_SUSPEND_COUNT: u32 = 127;
/// `STILL_ACTIVE` (259), the exit code of a thread or process that has not ended.
pub const STILL_ACTIVE: u32 = 259;

/// `CREATE_SUSPENDED` (CreateThread, CreateProcess).
pub const CREATE_SUSPENDED: u32 = 0x4;
/// `STACK_SIZE_PARAM_IS_A_RESERVATION` (CreateThread); accepted, no effect.
pub const STACK_SIZE_PARAM_IS_A_RESERVATION: u32 = 0x0001_0000;
/// `DEBUG_PROCESS` (CreateProcess); not modelled.
pub const DEBUG_PROCESS: u32 = 0x1;
/// `DETACHED_PROCESS` (CreateProcess); accepted, no effect (no consoles are modelled).
pub const DETACHED_PROCESS: u32 = 0x8;
/// `CREATE_NEW_CONSOLE` (CreateProcess); accepted, no effect.
pub const CREATE_NEW_CONSOLE: u32 = 0x10;
/// `CREATE_NEW_PROCESS_GROUP` (CreateProcess); accepted, no effect.
pub const CREATE_NEW_PROCESS_GROUP: u32 = 0x200;
/// `CREATE_UNICODE_ENVIRONMENT` (CreateProcess); accepted, no effect.
pub const CREATE_UNICODE_ENVIRONMENT: u32 = 0x400;
/// `CREATE_NO_WINDOW` (CreateProcess); accepted, no effect.
pub const CREATE_NO_WINDOW: u32 = 0x0800_0000;
/// `STARTF_USESTDHANDLES`.
pub const STARTF_USESTDHANDLES: u32 = 0x100;
/// `STD_INPUT_HANDLE` ((DWORD)-10).
pub const STD_INPUT_HANDLE: u32 = -10i32 as u32;
/// `STD_OUTPUT_HANDLE` ((DWORD)-11).
pub const STD_OUTPUT_HANDLE: u32 = -11i32 as u32;
/// `STD_ERROR_HANDLE` ((DWORD)-12).
pub const STD_ERROR_HANDLE: u32 = -12i32 as u32;

/// `HANDLE_FLAG_INHERIT`.
pub const HANDLE_FLAG_INHERIT: u32 = 0x1;
/// `HANDLE_FLAG_PROTECT_FROM_CLOSE`.
pub const HANDLE_FLAG_PROTECT_FROM_CLOSE: u32 = 0x2;
/// `DUPLICATE_CLOSE_SOURCE`.
pub const DUPLICATE_CLOSE_SOURCE: u32 = 0x1;
/// `DUPLICATE_SAME_ACCESS`.
pub const DUPLICATE_SAME_ACCESS: u32 = 0x2;
/// `DUPLICATE_SAME_ATTRIBUTES` (ntdef; accepted by DuplicateHandle).
pub const DUPLICATE_SAME_ATTRIBUTES: u32 = 0x4;

/// `PIPE_SERVER_END` flag reported by GetNamedPipeInfo.
pub const PIPE_SERVER_END: u32 = 0x1;
/// `PIPE_CLIENT_END` (0).
pub const PIPE_CLIENT_END: u32 = 0x0;
/// `PIPE_TYPE_BYTE` (0).
pub const PIPE_TYPE_BYTE: u32 = 0x0;
/// `PIPE_TYPE_MESSAGE`.
pub const PIPE_TYPE_MESSAGE: u32 = 0x4;
/// `PIPE_READMODE_BYTE` (0).
pub const PIPE_READMODE_BYTE: u32 = 0x0;
/// `PIPE_READMODE_MESSAGE`.
pub const PIPE_READMODE_MESSAGE: u32 = 0x2;
/// `PIPE_WAIT` (0).
pub const PIPE_WAIT: u32 = 0x0;
/// `PIPE_NOWAIT`.
pub const PIPE_NOWAIT: u32 = 0x1;
/// `PIPE_ACCEPT_REMOTE_CLIENTS` (0).
pub const PIPE_ACCEPT_REMOTE_CLIENTS: u32 = 0x0;
/// `PIPE_REJECT_REMOTE_CLIENTS`; accepted, no effect (every simulated client is local).
pub const PIPE_REJECT_REMOTE_CLIENTS: u32 = 0x8;
/// `PIPE_UNLIMITED_INSTANCES`.
pub const PIPE_UNLIMITED_INSTANCES: u32 = 255;
/// `PIPE_ACCESS_INBOUND`: data flows from client to server.
pub const PIPE_ACCESS_INBOUND: u32 = 0x1;
/// `PIPE_ACCESS_OUTBOUND`: data flows from server to client.
pub const PIPE_ACCESS_OUTBOUND: u32 = 0x2;
/// `PIPE_ACCESS_DUPLEX`.
pub const PIPE_ACCESS_DUPLEX: u32 = 0x3;
/// `FILE_FLAG_FIRST_PIPE_INSTANCE`.
pub const FILE_FLAG_FIRST_PIPE_INSTANCE: u32 = 0x0008_0000;
/// `FILE_FLAG_WRITE_THROUGH`; accepted, no effect.
pub const FILE_FLAG_WRITE_THROUGH: u32 = 0x8000_0000;
/// `FILE_FLAG_OVERLAPPED`.
pub const FILE_FLAG_OVERLAPPED: u32 = 0x4000_0000;
/// `NMPWAIT_USE_DEFAULT_WAIT`: WaitNamedPipe waits the pipe's nDefaultTimeOut.
pub const NMPWAIT_USE_DEFAULT_WAIT: u32 = 0x0;
/// `NMPWAIT_NOWAIT`.
pub const NMPWAIT_NOWAIT: u32 = 0x1;
/// `NMPWAIT_WAIT_FOREVER`.
pub const NMPWAIT_WAIT_FOREVER: u32 = 0xFFFF_FFFF;
/// `MAILSLOT_WAIT_FOREVER`: a mailslot read waits for a message without a time-out
/// (CreateMailslot, SetMailslotInfo; docs/semantics.md §18).
pub const MAILSLOT_WAIT_FOREVER: u32 = 0xFFFF_FFFF;
/// `MAILSLOT_NO_MESSAGE`: GetMailslotInfo's next size when no message is queued (§18).
pub const MAILSLOT_NO_MESSAGE: u32 = 0xFFFF_FFFF;
/// `CREATE_NEW` (CreateFile).
pub const CREATE_NEW: u32 = 1;
/// `CREATE_ALWAYS` (CreateFile).
pub const CREATE_ALWAYS: u32 = 2;
/// `OPEN_EXISTING` (CreateFile): the disposition for opening a pipe's client end.
pub const OPEN_EXISTING: u32 = 3;
/// `OPEN_ALWAYS` (CreateFile).
pub const OPEN_ALWAYS: u32 = 4;
/// `TRUNCATE_EXISTING` (CreateFile).
pub const TRUNCATE_EXISTING: u32 = 5;
/// `IO_COMPLETION_MODIFY_STATE`.
pub const IO_COMPLETION_MODIFY_STATE: u32 = 0x0002;
/// `IO_COMPLETION_ALL_ACCESS`.
pub const IO_COMPLETION_ALL_ACCESS: u32 = 0x001F_0003;
/// `FILE_SKIP_COMPLETION_PORT_ON_SUCCESS` (SetFileCompletionNotificationModes).
pub const FILE_SKIP_COMPLETION_PORT_ON_SUCCESS: u32 = 0x1;
/// `FILE_SKIP_SET_EVENT_ON_HANDLE` (SetFileCompletionNotificationModes).
pub const FILE_SKIP_SET_EVENT_ON_HANDLE: u32 = 0x2;
/// `FILE_SHARE_READ`.
pub const FILE_SHARE_READ: u32 = 0x1;
/// `FILE_SHARE_WRITE`.
pub const FILE_SHARE_WRITE: u32 = 0x2;
/// `FILE_ATTRIBUTE_NORMAL`.
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x80;

// Access rights (winnt.h).
/// `DELETE`.
pub const DELETE: u32 = 0x0001_0000;
/// `READ_CONTROL`.
pub const READ_CONTROL: u32 = 0x0002_0000;
/// `WRITE_DAC`.
pub const WRITE_DAC: u32 = 0x0004_0000;
/// `WRITE_OWNER`.
pub const WRITE_OWNER: u32 = 0x0008_0000;
/// `SYNCHRONIZE`: needed to wait on a handle.
pub const SYNCHRONIZE: u32 = 0x0010_0000;
/// `STANDARD_RIGHTS_REQUIRED`.
pub const STANDARD_RIGHTS_REQUIRED: u32 = 0x000F_0000;
/// `STANDARD_RIGHTS_READ` (= READ_CONTROL).
pub const STANDARD_RIGHTS_READ: u32 = READ_CONTROL;
/// `STANDARD_RIGHTS_WRITE` (= READ_CONTROL).
pub const STANDARD_RIGHTS_WRITE: u32 = READ_CONTROL;
/// `STANDARD_RIGHTS_EXECUTE` (= READ_CONTROL).
pub const STANDARD_RIGHTS_EXECUTE: u32 = READ_CONTROL;
/// `GENERIC_READ`.
pub const GENERIC_READ: u32 = 0x8000_0000;
/// `GENERIC_WRITE`.
pub const GENERIC_WRITE: u32 = 0x4000_0000;
/// `GENERIC_EXECUTE`.
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
/// `GENERIC_ALL`.
pub const GENERIC_ALL: u32 = 0x1000_0000;
/// `MAXIMUM_ALLOWED`.
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
/// `ACCESS_SYSTEM_SECURITY`: access to the SACL; needs SeSecurityPrivilege.
pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;

/// `EVENT_MODIFY_STATE`: needed by SetEvent, ResetEvent, PulseEvent.
pub const EVENT_MODIFY_STATE: u32 = 0x0002;
/// `EVENT_QUERY_STATE`.
pub const EVENT_QUERY_STATE: u32 = 0x0001;
/// `EVENT_ALL_ACCESS`.
pub const EVENT_ALL_ACCESS: u32 = 0x001F_0003;
/// `MUTANT_QUERY_STATE`.
pub const MUTANT_QUERY_STATE: u32 = 0x0001;
/// `MUTEX_MODIFY_STATE` (= MUTANT_QUERY_STATE).
pub const MUTEX_MODIFY_STATE: u32 = 0x0001;
/// `MUTEX_ALL_ACCESS`.
pub const MUTEX_ALL_ACCESS: u32 = 0x001F_0001;
/// `SEMAPHORE_MODIFY_STATE`: needed by ReleaseSemaphore.
pub const SEMAPHORE_MODIFY_STATE: u32 = 0x0002;
/// `SEMAPHORE_QUERY_STATE`.
pub const SEMAPHORE_QUERY_STATE: u32 = 0x0001;
/// `SEMAPHORE_ALL_ACCESS`.
pub const SEMAPHORE_ALL_ACCESS: u32 = 0x001F_0003;

/// `TIMER_QUERY_STATE`.
pub const TIMER_QUERY_STATE: u32 = 0x0001;
/// `TIMER_MODIFY_STATE`: needed by SetWaitableTimer and CancelWaitableTimer.
pub const TIMER_MODIFY_STATE: u32 = 0x0002;
/// `TIMER_ALL_ACCESS`.
pub const TIMER_ALL_ACCESS: u32 = 0x001F_0003;
/// `CREATE_WAITABLE_TIMER_MANUAL_RESET` (CreateWaitableTimerEx): a notification timer.
pub const CREATE_WAITABLE_TIMER_MANUAL_RESET: u32 = 0x1;
/// `CREATE_WAITABLE_TIMER_HIGH_RESOLUTION` (CreateWaitableTimerEx); accepted, no effect in
/// virtual time.
pub const CREATE_WAITABLE_TIMER_HIGH_RESOLUTION: u32 = 0x2;

/// A `FILETIME`: 100-ns intervals since 1601-01-01 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FILETIME {
    /// Low 32 bits.
    pub dwLowDateTime: u32,
    /// High 32 bits.
    pub dwHighDateTime: u32,
}

impl FILETIME {
    /// From a 64-bit count of 100-ns intervals.
    pub fn from_u64(v: u64) -> FILETIME {
        FILETIME { dwLowDateTime: v as u32, dwHighDateTime: (v >> 32) as u32 }
    }
    /// As a 64-bit count of 100-ns intervals.
    pub fn to_u64(self) -> u64 {
        (u64::from(self.dwHighDateTime) << 32) | u64::from(self.dwLowDateTime)
    }
}

/// `PROCESS_TERMINATE`.
pub const PROCESS_TERMINATE: u32 = 0x0001;
/// `PROCESS_CREATE_THREAD`.
pub const PROCESS_CREATE_THREAD: u32 = 0x0002;
/// `PROCESS_VM_READ`.
pub const PROCESS_VM_READ: u32 = 0x0010;
/// `PROCESS_DUP_HANDLE`: needed on both process handles of DuplicateHandle.
pub const PROCESS_DUP_HANDLE: u32 = 0x0040;
/// `PROCESS_QUERY_INFORMATION`.
pub const PROCESS_QUERY_INFORMATION: u32 = 0x0400;
/// `PROCESS_QUERY_LIMITED_INFORMATION`.
pub const PROCESS_QUERY_LIMITED_INFORMATION: u32 = 0x1000;
/// `PROCESS_ALL_ACCESS`.
pub const PROCESS_ALL_ACCESS: u32 = 0x001F_FFFF;
/// `THREAD_TERMINATE`.
pub const THREAD_TERMINATE: u32 = 0x0001;
/// `THREAD_SUSPEND_RESUME`.
pub const THREAD_SUSPEND_RESUME: u32 = 0x0002;
/// `THREAD_SET_CONTEXT`: needed by QueueUserAPC.
pub const THREAD_SET_CONTEXT: u32 = 0x0010;
/// `THREAD_QUERY_INFORMATION`.
pub const THREAD_QUERY_INFORMATION: u32 = 0x0040;
/// `THREAD_QUERY_LIMITED_INFORMATION`.
pub const THREAD_QUERY_LIMITED_INFORMATION: u32 = 0x0800;
/// `THREAD_ALL_ACCESS`.
pub const THREAD_ALL_ACCESS: u32 = 0x001F_FFFF;

/// `FILE_READ_DATA`.
pub const FILE_READ_DATA: u32 = 0x0001;
/// `FILE_WRITE_DATA`.
pub const FILE_WRITE_DATA: u32 = 0x0002;
/// `FILE_APPEND_DATA`.
pub const FILE_APPEND_DATA: u32 = 0x0004;
/// `FILE_READ_EA`.
pub const FILE_READ_EA: u32 = 0x0008;
/// `FILE_WRITE_EA`.
pub const FILE_WRITE_EA: u32 = 0x0010;
/// `FILE_READ_ATTRIBUTES`.
pub const FILE_READ_ATTRIBUTES: u32 = 0x0080;
/// `FILE_WRITE_ATTRIBUTES`.
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
/// `FILE_GENERIC_READ`.
pub const FILE_GENERIC_READ: u32 =
    STANDARD_RIGHTS_READ | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
/// `FILE_GENERIC_WRITE`.
pub const FILE_GENERIC_WRITE: u32 =
    STANDARD_RIGHTS_WRITE | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE;
/// `FILE_GENERIC_EXECUTE`.
pub const FILE_GENERIC_EXECUTE: u32 = STANDARD_RIGHTS_EXECUTE | FILE_READ_ATTRIBUTES | 0x20 | SYNCHRONIZE;
/// `FILE_ALL_ACCESS`.
pub const FILE_ALL_ACCESS: u32 = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF;

// ----- winuser.h: windows and messages ------------------------------------------------

/// A window handle. HWND values are global: the same value names the same window in
/// every process (docs/semantics.md §17).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HWND(pub isize);

impl HWND {
    /// `NULL`.
    pub const NULL: HWND = HWND(0);
    /// True for `NULL`.
    pub fn is_null(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for HWND {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for HWND {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("NULL"),
            -3 => f.write_str("HWND_MESSAGE"),
            0xFFFF => f.write_str("HWND_BROADCAST"),
            v if v < 0 => write!(f, "(HWND){v}"),
            v => write!(f, "hwnd:0x{v:x}"),
        }
    }
}

/// `WPARAM`.
pub type WPARAM = usize;
/// `LPARAM`.
pub type LPARAM = isize;
/// `LRESULT`.
pub type LRESULT = isize;
/// `ATOM`: a class atom or a registered message (0xC000-0xFFFF).
pub type ATOM = u16;

/// `HWND_TOP` (0): as a PeekMessage filter, any window or none.
pub const HWND_TOP: HWND = HWND(0);
/// `HWND_BOTTOM` (1): as a PeekMessage filter, thread messages only (§17.C5).
pub const HWND_BOTTOM: HWND = HWND(1);
/// `HWND_TOPMOST` ((HWND)-1): thread messages only as a filter; a broadcast as a target.
pub const HWND_TOPMOST: HWND = HWND(-1);
/// `HWND_NOTOPMOST` ((HWND)-2).
pub const HWND_NOTOPMOST: HWND = HWND(-2);
/// `HWND_MESSAGE` ((HWND)-3): the parent of message-only windows.
pub const HWND_MESSAGE: HWND = HWND(-3);
/// `HWND_BROADCAST` (0xFFFF): every top-level window.
pub const HWND_BROADCAST: HWND = HWND(0xFFFF);

/// `POINT`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct POINT {
    /// x.
    pub x: i32,
    /// y.
    pub y: i32,
}

/// `MSG`: a message retrieved by GetMessage or PeekMessage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MSG {
    /// The window, or NULL for a thread message.
    pub hwnd: HWND,
    /// The message number.
    pub message: u32,
    /// wParam.
    pub wParam: WPARAM,
    /// lParam.
    pub lParam: LPARAM,
    /// GetTickCount when it was posted (§17.O2).
    pub time: u32,
    /// The cursor position (always 0,0: winsim has no input devices).
    pub pt: POINT,
}

/// `COPYDATASTRUCT`: WM_COPYDATA's data, copied into the receiver (§17.P3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct COPYDATASTRUCT {
    /// dwData.
    pub dwData: usize,
    /// The bytes lpData points to (cbData is their length).
    pub lpData: Vec<u8>,
}

/// `WM_NULL`.
pub const WM_NULL: u32 = 0x0000;
/// `WM_CREATE`.
pub const WM_CREATE: u32 = 0x0001;
/// `WM_DESTROY`.
pub const WM_DESTROY: u32 = 0x0002;
/// `WM_CLOSE`.
pub const WM_CLOSE: u32 = 0x0010;
/// `WM_QUIT`.
pub const WM_QUIT: u32 = 0x0012;
/// `WM_SETTEXT`.
pub const WM_SETTEXT: u32 = 0x000C;
/// `WM_GETTEXT`.
pub const WM_GETTEXT: u32 = 0x000D;
/// `WM_COPYDATA`.
pub const WM_COPYDATA: u32 = 0x004A;
/// `WM_NOTIFY`.
pub const WM_NOTIFY: u32 = 0x004E;
/// `WM_NCCREATE`.
pub const WM_NCCREATE: u32 = 0x0081;
/// `WM_NCDESTROY`.
pub const WM_NCDESTROY: u32 = 0x0082;
/// `WM_KEYDOWN`.
pub const WM_KEYDOWN: u32 = 0x0100;
/// `WM_KEYUP`.
pub const WM_KEYUP: u32 = 0x0101;
/// `WM_CHAR`.
pub const WM_CHAR: u32 = 0x0102;
/// `WM_TIMER`.
pub const WM_TIMER: u32 = 0x0113;
/// `WM_PAINT`.
pub const WM_PAINT: u32 = 0x000F;
/// `WM_HOTKEY`.
pub const WM_HOTKEY: u32 = 0x0312;
/// `WM_USER`: the first private message number.
pub const WM_USER: u32 = 0x0400;
/// `WM_APP`.
pub const WM_APP: u32 = 0x8000;

/// `PM_NOREMOVE`.
pub const PM_NOREMOVE: u32 = 0x0000;
/// `PM_REMOVE`.
pub const PM_REMOVE: u32 = 0x0001;
/// `PM_NOYIELD`.
pub const PM_NOYIELD: u32 = 0x0002;

/// `QS_KEY`.
pub const QS_KEY: u32 = 0x0001;
/// `QS_MOUSEMOVE`.
pub const QS_MOUSEMOVE: u32 = 0x0002;
/// `QS_MOUSEBUTTON`.
pub const QS_MOUSEBUTTON: u32 = 0x0004;
/// `QS_POSTMESSAGE`.
pub const QS_POSTMESSAGE: u32 = 0x0008;
/// `QS_TIMER`.
pub const QS_TIMER: u32 = 0x0010;
/// `QS_PAINT`.
pub const QS_PAINT: u32 = 0x0020;
/// `QS_SENDMESSAGE`.
pub const QS_SENDMESSAGE: u32 = 0x0040;
/// `QS_HOTKEY`.
pub const QS_HOTKEY: u32 = 0x0080;
/// `QS_ALLPOSTMESSAGE`.
pub const QS_ALLPOSTMESSAGE: u32 = 0x0100;
/// `QS_RAWINPUT`.
pub const QS_RAWINPUT: u32 = 0x0400;
/// `QS_MOUSE`.
pub const QS_MOUSE: u32 = QS_MOUSEMOVE | QS_MOUSEBUTTON;
/// `QS_INPUT`.
pub const QS_INPUT: u32 = QS_MOUSE | QS_KEY | QS_RAWINPUT;
/// `QS_ALLEVENTS`.
pub const QS_ALLEVENTS: u32 = QS_INPUT | QS_POSTMESSAGE | QS_TIMER | QS_PAINT | QS_HOTKEY;
/// `QS_ALLINPUT`.
pub const QS_ALLINPUT: u32 = QS_ALLEVENTS | QS_SENDMESSAGE;
/// `PM_QS_INPUT`.
pub const PM_QS_INPUT: u32 = QS_INPUT << 16;
/// `PM_QS_POSTMESSAGE`.
pub const PM_QS_POSTMESSAGE: u32 = (QS_POSTMESSAGE | QS_HOTKEY | QS_TIMER) << 16;
/// `PM_QS_PAINT`.
pub const PM_QS_PAINT: u32 = QS_PAINT << 16;
/// `PM_QS_SENDMESSAGE`.
pub const PM_QS_SENDMESSAGE: u32 = QS_SENDMESSAGE << 16;

/// `MWMO_WAITALL`.
pub const MWMO_WAITALL: u32 = 0x0001;
/// `MWMO_ALERTABLE`.
pub const MWMO_ALERTABLE: u32 = 0x0002;
/// `MWMO_INPUTAVAILABLE`.
pub const MWMO_INPUTAVAILABLE: u32 = 0x0004;

/// `SMTO_NORMAL`.
pub const SMTO_NORMAL: u32 = 0x0000;
/// `SMTO_BLOCK`: the sender does not run messages sent to it while it waits.
pub const SMTO_BLOCK: u32 = 0x0001;
/// `SMTO_ABORTIFHUNG`.
pub const SMTO_ABORTIFHUNG: u32 = 0x0002;
/// `SMTO_NOTIMEOUTIFNOTHUNG`.
pub const SMTO_NOTIMEOUTIFNOTHUNG: u32 = 0x0008;
/// `SMTO_ERRORONEXIT`.
pub const SMTO_ERRORONEXIT: u32 = 0x0020;

/// `ISMEX_NOSEND`.
pub const ISMEX_NOSEND: u32 = 0;
/// `ISMEX_SEND`.
pub const ISMEX_SEND: u32 = 1;
/// `ISMEX_NOTIFY`.
pub const ISMEX_NOTIFY: u32 = 2;
/// `ISMEX_CALLBACK`.
pub const ISMEX_CALLBACK: u32 = 4;
/// `ISMEX_REPLIED`.
pub const ISMEX_REPLIED: u32 = 8;

/// `GWLP_USERDATA`.
pub const GWLP_USERDATA: i32 = -21;
/// `GWLP_ID`.
pub const GWLP_ID: i32 = -12;

/// `USER_TIMER_MINIMUM` (ms).
pub const USER_TIMER_MINIMUM: u32 = 0x0A;
/// `USER_TIMER_MAXIMUM` (ms).
pub const USER_TIMER_MAXIMUM: u32 = 0x7FFF_FFFF;

/// `WS_OVERLAPPED`.
pub const WS_OVERLAPPED: u32 = 0x0000_0000;
/// `WS_POPUP`.
pub const WS_POPUP: u32 = 0x8000_0000;
/// `WS_CHILD`.
pub const WS_CHILD: u32 = 0x4000_0000;
/// `WS_OVERLAPPEDWINDOW`.
pub const WS_OVERLAPPEDWINDOW: u32 = 0x00CF_0000;

// ----- file mappings (docs/semantics.md §19) ------------------------------------------

/// `PAGE_NOACCESS`.
pub const PAGE_NOACCESS: u32 = 0x01;
/// `PAGE_READONLY`.
pub const PAGE_READONLY: u32 = 0x02;
/// `PAGE_READWRITE`.
pub const PAGE_READWRITE: u32 = 0x04;
/// `PAGE_WRITECOPY`.
pub const PAGE_WRITECOPY: u32 = 0x08;
/// `PAGE_EXECUTE`.
pub const PAGE_EXECUTE: u32 = 0x10;
/// `PAGE_EXECUTE_READ`.
pub const PAGE_EXECUTE_READ: u32 = 0x20;
/// `PAGE_EXECUTE_READWRITE`.
pub const PAGE_EXECUTE_READWRITE: u32 = 0x40;
/// `PAGE_EXECUTE_WRITECOPY`.
pub const PAGE_EXECUTE_WRITECOPY: u32 = 0x80;
/// `PAGE_GUARD`.
pub const PAGE_GUARD: u32 = 0x100;
/// `PAGE_NOCACHE`.
pub const PAGE_NOCACHE: u32 = 0x200;
/// `PAGE_WRITECOMBINE`.
pub const PAGE_WRITECOMBINE: u32 = 0x400;
/// `SEC_FILE`.
pub const SEC_FILE: u32 = 0x0080_0000;
/// `SEC_IMAGE`.
pub const SEC_IMAGE: u32 = 0x0100_0000;
/// `SEC_RESERVE`.
pub const SEC_RESERVE: u32 = 0x0400_0000;
/// `SEC_COMMIT`.
pub const SEC_COMMIT: u32 = 0x0800_0000;
/// `SEC_NOCACHE`.
pub const SEC_NOCACHE: u32 = 0x1000_0000;
/// `SEC_WRITECOMBINE`.
pub const SEC_WRITECOMBINE: u32 = 0x4000_0000;
/// `SEC_LARGE_PAGES`.
pub const SEC_LARGE_PAGES: u32 = 0x8000_0000;
/// `SECTION_QUERY`.
pub const SECTION_QUERY: u32 = 0x0001;
/// `SECTION_MAP_WRITE`.
pub const SECTION_MAP_WRITE: u32 = 0x0002;
/// `SECTION_MAP_READ`.
pub const SECTION_MAP_READ: u32 = 0x0004;
/// `SECTION_MAP_EXECUTE`.
pub const SECTION_MAP_EXECUTE: u32 = 0x0008;
/// `SECTION_EXTEND_SIZE`.
pub const SECTION_EXTEND_SIZE: u32 = 0x0010;
/// `SECTION_MAP_EXECUTE_EXPLICIT` (= FILE_MAP_EXECUTE).
pub const SECTION_MAP_EXECUTE_EXPLICIT: u32 = 0x0020;
/// `SECTION_ALL_ACCESS`.
pub const SECTION_ALL_ACCESS: u32 = STANDARD_RIGHTS_REQUIRED | 0x1F;
/// `FILE_MAP_COPY` (= SECTION_QUERY): a copy-on-write view when given alone.
pub const FILE_MAP_COPY: u32 = 0x0001;
/// `FILE_MAP_WRITE` (= SECTION_MAP_WRITE).
pub const FILE_MAP_WRITE: u32 = SECTION_MAP_WRITE;
/// `FILE_MAP_READ` (= SECTION_MAP_READ).
pub const FILE_MAP_READ: u32 = SECTION_MAP_READ;
/// `FILE_MAP_EXECUTE` (= SECTION_MAP_EXECUTE_EXPLICIT).
pub const FILE_MAP_EXECUTE: u32 = SECTION_MAP_EXECUTE_EXPLICIT;
/// `FILE_MAP_ALL_ACCESS` (= SECTION_ALL_ACCESS).
pub const FILE_MAP_ALL_ACCESS: u32 = SECTION_ALL_ACCESS;
/// `FILE_MAP_LARGE_PAGES`.
pub const FILE_MAP_LARGE_PAGES: u32 = 0x2000_0000;
/// `FILE_MAP_TARGETS_INVALID`.
pub const FILE_MAP_TARGETS_INVALID: u32 = 0x4000_0000;
/// `FILE_MAP_RESERVE`.
pub const FILE_MAP_RESERVE: u32 = 0x8000_0000;
/// `EXCEPTION_ACCESS_VIOLATION` (STATUS_ACCESS_VIOLATION), the code of the exception a
/// bad memory access raises.
pub const EXCEPTION_ACCESS_VIOLATION: u32 = 0xC000_0005;

/// SleepConditionVariableSRW's flag: the SRW lock is held shared.
pub const CONDITION_VARIABLE_LOCKMODE_SHARED: u32 = 0x1;

pub use crate::api::{CONDITION_VARIABLE, CRITICAL_SECTION, INIT_ONCE, SRWLOCK};

// ----- Winsock (winsock2.h, ws2def.h; docs/semantics.md §22) -----------------------------

/// `SOCKET`: a socket is a handle in its process's handle table (socket handles are
/// kernel file objects on Windows: CloseHandle, DuplicateHandle and inheritance apply).
pub type SOCKET = HANDLE;
/// `INVALID_SOCKET`: `(SOCKET)(~0)`, the same bits as INVALID_HANDLE_VALUE.
pub const INVALID_SOCKET: SOCKET = HANDLE(-1);
/// `SOCKET_ERROR`: the failure value of the int-returning Winsock functions.
pub const SOCKET_ERROR: i32 = -1;
/// `AF_UNSPEC`.
pub const AF_UNSPEC: i32 = 0;
/// `AF_INET`: IPv4.
pub const AF_INET: i32 = 2;
/// `AF_INET6`: IPv6 (not modelled: socket() ends the run as Unsupported).
pub const AF_INET6: i32 = 23;
/// `SOCK_STREAM`: TCP.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`: UDP.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
/// `IPPROTO_IP` (0: the type's default protocol).
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `SOL_SOCKET`: socket-level options.
pub const SOL_SOCKET: i32 = 0xffff;
/// `SO_ACCEPTCONN`: whether the socket listens (read-only).
pub const SO_ACCEPTCONN: i32 = 0x0002;
/// `SO_REUSEADDR`: allow a bind to an address in use (Windows' meaning: port sharing).
pub const SO_REUSEADDR: i32 = 0x0004;
/// `SO_KEEPALIVE`.
pub const SO_KEEPALIVE: i32 = 0x0008;
/// `SO_LINGER`: a `LINGER` structure.
pub const SO_LINGER: i32 = 0x0080;
/// `SO_DONTLINGER` (`~SO_LINGER`).
pub const SO_DONTLINGER: i32 = !SO_LINGER;
/// `SO_EXCLUSIVEADDRUSE` (`~SO_REUSEADDR`): nobody else may bind the address.
pub const SO_EXCLUSIVEADDRUSE: i32 = !SO_REUSEADDR;
/// `SO_SNDBUF`: the send buffer size.
pub const SO_SNDBUF: i32 = 0x1001;
/// `SO_RCVBUF`: the receive buffer size.
pub const SO_RCVBUF: i32 = 0x1002;
/// `SO_SNDTIMEO`: the send time-out in ms (0: none).
pub const SO_SNDTIMEO: i32 = 0x1005;
/// `SO_RCVTIMEO`: the receive time-out in ms (0: none).
pub const SO_RCVTIMEO: i32 = 0x1006;
/// `SO_ERROR`: the pending error.
pub const SO_ERROR: i32 = 0x1007;
/// `SO_TYPE`: SOCK_STREAM or SOCK_DGRAM.
pub const SO_TYPE: i32 = 0x1008;
/// `TCP_NODELAY` (level IPPROTO_TCP): accepted and kept; it changes nothing on loopback.
pub const TCP_NODELAY: i32 = 0x0001;
/// `FIONBIO`: ioctlsocket's command to set (non-zero) or clear non-blocking mode.
pub const FIONBIO: i32 = 0x8004_667e_u32 as i32;
/// `FIONREAD`: ioctlsocket's command for the bytes a recv would return now.
pub const FIONREAD: i32 = 0x4004_667f;
/// `SD_RECEIVE`: shutdown the receive side.
pub const SD_RECEIVE: i32 = 0;
/// `SD_SEND`: shutdown the send side (a FIN: the peer's recv returns 0).
pub const SD_SEND: i32 = 1;
/// `SD_BOTH`.
pub const SD_BOTH: i32 = 2;
/// `SOMAXCONN`: the provider's maximum backlog.
pub const SOMAXCONN: i32 = 0x7fff_ffff;
/// `MSG_OOB` (not modelled).
pub const MSG_OOB: i32 = 0x1;
/// `MSG_PEEK`: recv copies without consuming.
pub const MSG_PEEK: i32 = 0x2;
/// `INADDR_ANY` (0.0.0.0), host order.
pub const INADDR_ANY: u32 = 0;
/// `INADDR_LOOPBACK` (127.0.0.1), host order.
pub const INADDR_LOOPBACK: u32 = 0x7f00_0001;

/// `IN_ADDR`: an IPv4 address in network byte order (`S_un.S_addr`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IN_ADDR {
    /// The address, network byte order.
    pub s_addr: u32,
}

/// `SOCKADDR_IN`: an IPv4 socket address. `sin_port` and `sin_addr` are in network byte
/// order, as on Windows (`htons`, `htonl`); [`SOCKADDR_IN::new`] takes host order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SOCKADDR_IN {
    /// The address family (AF_INET).
    pub sin_family: i16,
    /// The port, network byte order.
    pub sin_port: u16,
    /// The address, network byte order.
    pub sin_addr: IN_ADDR,
}

impl SOCKADDR_IN {
    /// An AF_INET address from a host-order address and port:
    /// `SOCKADDR_IN::new(INADDR_LOOPBACK, 8080)`.
    pub fn new(addr: u32, port: u16) -> SOCKADDR_IN {
        SOCKADDR_IN { sin_family: AF_INET as i16, sin_port: htons(port), sin_addr: IN_ADDR { s_addr: htonl(addr) } }
    }
    /// The port in host order.
    pub fn port(&self) -> u16 {
        ntohs(self.sin_port)
    }
    /// The address in host order.
    pub fn addr(&self) -> u32 {
        ntohl(self.sin_addr.s_addr)
    }
}

/// `sizeof(SOCKADDR_IN)`: the length bind, connect and sendto expect.
pub const SOCKADDR_IN_LEN: i32 = 16;

/// htons.
pub fn htons(v: u16) -> u16 {
    v.to_be()
}
/// ntohs.
pub fn ntohs(v: u16) -> u16 {
    u16::from_be(v)
}
/// htonl.
pub fn htonl(v: u32) -> u32 {
    v.to_be()
}
/// ntohl.
pub fn ntohl(v: u32) -> u32 {
    u32::from_be(v)
}

/// `LINGER`: SO_LINGER's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LINGER {
    /// Non-zero: linger on close.
    pub l_onoff: u16,
    /// The time-out in seconds; with `l_onoff` and 0, closesocket resets the connection.
    pub l_linger: u16,
}

/// `WSADATA`: what WSAStartup reports (the version fields; the rest is historical).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WSADATA {
    /// The version the caller should use.
    pub wVersion: u16,
    /// The highest version ws2_32 supports (2.2).
    pub wHighVersion: u16,
}

/// `MAKEWORD(low, high)`.
pub const fn MAKEWORD(low: u8, high: u8) -> u16 {
    (low as u16) | ((high as u16) << 8)
}

/// WSASocket's `WSA_FLAG_OVERLAPPED`: the socket takes overlapped I/O (socket() sockets
/// always do; docs/semantics.md §22.40).
pub const WSA_FLAG_OVERLAPPED: u32 = 0x01;
/// WSASocket's `WSA_FLAG_NO_HANDLE_INHERIT`: the handle is not inheritable.
pub const WSA_FLAG_NO_HANDLE_INHERIT: u32 = 0x80;
/// `WSA_IO_PENDING` (= ERROR_IO_PENDING, 997): an overlapped socket call is under way.
pub const WSA_IO_PENDING: u32 = 997;
/// `WSA_IO_INCOMPLETE` (= ERROR_IO_INCOMPLETE, 996): WSAGetOverlappedResult with fWait FALSE
/// on an operation still pending.
pub const WSA_IO_INCOMPLETE: u32 = 996;
/// `WSA_OPERATION_ABORTED` (= ERROR_OPERATION_ABORTED, 995): a cancelled overlapped
/// operation.
pub const WSA_OPERATION_ABORTED: u32 = 995;
/// `SO_UPDATE_ACCEPT_CONTEXT` (mswsock.h): gives a socket accepted by AcceptEx the
/// listener's context; getpeername/getsockname and shutdown work on it only after.
pub const SO_UPDATE_ACCEPT_CONTEXT: i32 = 0x700B;
/// `SO_UPDATE_CONNECT_CONTEXT` (mswsock.h): the same for a socket connected by ConnectEx.
pub const SO_UPDATE_CONNECT_CONTEXT: i32 = 0x7010;
/// DisconnectEx / TransmitFile `TF_DISCONNECT`.
pub const TF_DISCONNECT: u32 = 0x01;
/// DisconnectEx / TransmitFile `TF_REUSE_SOCKET`: the socket can be used again by AcceptEx
/// or ConnectEx once the disconnect completes.
pub const TF_REUSE_SOCKET: u32 = 0x02;
/// WSAAccept's condition function: accept the connection.
pub const CF_ACCEPT: i32 = 0x0000;
/// WSAAccept's condition function: reject it (the client's connect fails with
/// WSAECONNREFUSED).
pub const CF_REJECT: i32 = 0x0001;
/// WSAAccept's condition function: leave it queued (WSAAccept fails with WSATRY_AGAIN).
pub const CF_DEFER: i32 = 0x0002;

/// `FD_READ`: data to read (WSAEventSelect).
pub const FD_READ: u32 = 0x01;
/// `FD_WRITE`: room to send.
pub const FD_WRITE: u32 = 0x02;
/// `FD_OOB`: out-of-band data (never recorded: not modelled).
pub const FD_OOB: u32 = 0x04;
/// `FD_ACCEPT`: a connection waits for accept.
pub const FD_ACCEPT: u32 = 0x08;
/// `FD_CONNECT`: a connect completed (its error in `iErrorCode[FD_CONNECT_BIT]`).
pub const FD_CONNECT: u32 = 0x10;
/// `FD_CLOSE`: the peer closed (its error in `iErrorCode[FD_CLOSE_BIT]`).
pub const FD_CLOSE: u32 = 0x20;
/// `FD_MAX_EVENTS`.
pub const FD_MAX_EVENTS: usize = 10;
/// `FD_ALL_EVENTS`.
pub const FD_ALL_EVENTS: u32 = (1 << FD_MAX_EVENTS) - 1;
/// `FD_READ_BIT`.
pub const FD_READ_BIT: usize = 0;
/// `FD_WRITE_BIT`.
pub const FD_WRITE_BIT: usize = 1;
/// `FD_ACCEPT_BIT`.
pub const FD_ACCEPT_BIT: usize = 3;
/// `FD_CONNECT_BIT`.
pub const FD_CONNECT_BIT: usize = 4;
/// `FD_CLOSE_BIT`.
pub const FD_CLOSE_BIT: usize = 5;

/// `WSANETWORKEVENTS`: what WSAEnumNetworkEvents reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WSANETWORKEVENTS {
    /// The FD_ bits recorded.
    pub lNetworkEvents: i32,
    /// The error code of each event, by its FD_*_BIT.
    pub iErrorCode: [i32; FD_MAX_EVENTS],
}

/// `POLLRDNORM`: normal data may be read.
pub const POLLRDNORM: i16 = 0x0100;
/// `POLLRDBAND`: priority data may be read.
pub const POLLRDBAND: i16 = 0x0200;
/// `POLLIN` (POLLRDNORM | POLLRDBAND).
pub const POLLIN: i16 = POLLRDNORM | POLLRDBAND;
/// `POLLPRI`.
pub const POLLPRI: i16 = 0x0400;
/// `POLLWRNORM`: normal data may be sent.
pub const POLLWRNORM: i16 = 0x0010;
/// `POLLOUT` (= POLLWRNORM).
pub const POLLOUT: i16 = POLLWRNORM;
/// `POLLWRBAND`.
pub const POLLWRBAND: i16 = 0x0020;
/// `POLLERR`: an error occurred.
pub const POLLERR: i16 = 0x0001;
/// `POLLHUP`: the connection was closed or reset.
pub const POLLHUP: i16 = 0x0002;
/// `POLLNVAL`: not a socket.
pub const POLLNVAL: i16 = 0x0004;

/// `WSAPOLLFD`: one WSAPoll entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WSAPOLLFD {
    /// The socket.
    pub fd: SOCKET,
    /// The events asked for (POLLRDNORM, POLLRDBAND, POLLWRNORM and their unions).
    pub events: i16,
    /// The events that happened (set by WSAPoll).
    pub revents: i16,
}

/// `fd_set` (FD_SET): a set of sockets for select.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct fd_set {
    /// The sockets (fd_count is its length).
    pub fd_array: Vec<SOCKET>,
}

/// `FD_SET(s, set)`: adds `s` (once).
pub fn FD_SET(s: SOCKET, set: &mut fd_set) {
    if !set.fd_array.contains(&s) {
        set.fd_array.push(s);
    }
}
/// `FD_CLR(s, set)`.
pub fn FD_CLR(s: SOCKET, set: &mut fd_set) {
    set.fd_array.retain(|&x| x != s);
}
/// `FD_ISSET(s, set)`.
pub fn FD_ISSET(s: SOCKET, set: &fd_set) -> bool {
    set.fd_array.contains(&s)
}
/// `FD_ZERO(set)`.
pub fn FD_ZERO(set: &mut fd_set) {
    set.fd_array.clear();
}

/// `TIMEVAL`: select's time-out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TIMEVAL {
    /// Seconds.
    pub tv_sec: i32,
    /// Microseconds.
    pub tv_usec: i32,
}

/// `WSA_INFINITE` (= INFINITE).
pub const WSA_INFINITE: u32 = INFINITE;
/// `WSA_WAIT_EVENT_0` (= WAIT_OBJECT_0).
pub const WSA_WAIT_EVENT_0: u32 = WAIT_OBJECT_0;
/// `WSA_WAIT_TIMEOUT` (= WAIT_TIMEOUT).
pub const WSA_WAIT_TIMEOUT: u32 = WAIT_TIMEOUT;
/// `WSA_WAIT_FAILED` (= WAIT_FAILED).
pub const WSA_WAIT_FAILED: u32 = WAIT_FAILED;

/// `INIT_ONCE_CHECK_ONLY`: InitOnceBeginInitialize only reports whether the initialisation
/// is done (§26.9).
pub const INIT_ONCE_CHECK_ONLY: u32 = 0x1;
/// `INIT_ONCE_ASYNC`: asynchronous one-time initialisation (not modelled, §26).
pub const INIT_ONCE_ASYNC: u32 = 0x2;
/// `INIT_ONCE_INIT_FAILED`: InitOnceComplete reports a failed initialisation (§26.10).
pub const INIT_ONCE_INIT_FAILED: u32 = 0x4;

// ----- process memory: VirtualAlloc and heaps (docs/semantics.md §29) -----------------

/// `MEM_COMMIT`.
pub const MEM_COMMIT: u32 = 0x0000_1000;
/// `MEM_RESERVE`.
pub const MEM_RESERVE: u32 = 0x0000_2000;
/// `MEM_DECOMMIT`.
pub const MEM_DECOMMIT: u32 = 0x0000_4000;
/// `MEM_RELEASE`.
pub const MEM_RELEASE: u32 = 0x0000_8000;
/// `MEM_FREE` (VirtualQuery's State of unallocated memory).
pub const MEM_FREE: u32 = 0x0001_0000;
/// `MEM_PRIVATE` (VirtualQuery's Type of VirtualAlloc memory).
pub const MEM_PRIVATE: u32 = 0x0002_0000;
/// `MEM_MAPPED` (VirtualQuery's Type of a view of a section).
pub const MEM_MAPPED: u32 = 0x0004_0000;
/// `MEM_RESET`.
pub const MEM_RESET: u32 = 0x0008_0000;
/// `MEM_TOP_DOWN`.
pub const MEM_TOP_DOWN: u32 = 0x0010_0000;
/// `MEM_WRITE_WATCH`.
pub const MEM_WRITE_WATCH: u32 = 0x0020_0000;
/// `MEM_PHYSICAL`.
pub const MEM_PHYSICAL: u32 = 0x0040_0000;
/// `MEM_RESET_UNDO`.
pub const MEM_RESET_UNDO: u32 = 0x0100_0000;
/// `MEM_LARGE_PAGES`.
pub const MEM_LARGE_PAGES: u32 = 0x2000_0000;
/// `AT_ROUND_TO_PAGE` (not accepted by VirtualAlloc, §29.2).
pub const AT_ROUND_TO_PAGE: u32 = 0x4000_0000;

/// `HEAP_NO_SERIALIZE`.
pub const HEAP_NO_SERIALIZE: u32 = 0x0000_0001;
/// `HEAP_GROWABLE`.
pub const HEAP_GROWABLE: u32 = 0x0000_0002;
/// `HEAP_GENERATE_EXCEPTIONS`.
pub const HEAP_GENERATE_EXCEPTIONS: u32 = 0x0000_0004;
/// `HEAP_ZERO_MEMORY`.
pub const HEAP_ZERO_MEMORY: u32 = 0x0000_0008;
/// `HEAP_REALLOC_IN_PLACE_ONLY`.
pub const HEAP_REALLOC_IN_PLACE_ONLY: u32 = 0x0000_0010;
/// `HEAP_CREATE_ENABLE_EXECUTE`.
pub const HEAP_CREATE_ENABLE_EXECUTE: u32 = 0x0004_0000;
/// `STATUS_NO_MEMORY`: the exception HeapAlloc raises on failure with
/// HEAP_GENERATE_EXCEPTIONS.
pub const STATUS_NO_MEMORY: u32 = 0xC000_0017;
/// `STATUS_HEAP_CORRUPTION`: the fail-fast exception of a corrupted heap (a double free).
pub const STATUS_HEAP_CORRUPTION: u32 = 0xC000_0374;

/// `MEMORY_BASIC_INFORMATION` (x64): what VirtualQuery reports about a region of pages.
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MEMORY_BASIC_INFORMATION {
    /// The start of the region (the queried address rounded down to a page).
    pub BaseAddress: usize,
    /// The base of the allocation (reservation or view) it belongs to; 0 for free memory.
    pub AllocationBase: usize,
    /// The protection the allocation was made with; 0 for free memory.
    pub AllocationProtect: u32,
    /// The partition (always 0).
    pub PartitionId: u16,
    /// The size of the run of pages from BaseAddress with the same attributes.
    pub RegionSize: usize,
    /// MEM_COMMIT, MEM_RESERVE or MEM_FREE.
    pub State: u32,
    /// The pages' protection (0 for reserved pages, PAGE_NOACCESS for free ones).
    pub Protect: u32,
    /// MEM_PRIVATE, MEM_MAPPED, or 0 for free memory.
    pub Type: u32,
}

// ----- files on the in-memory volume (docs/semantics.md §28) ------------------------------
/// `FILE_SHARE_DELETE`.
pub const FILE_SHARE_DELETE: u32 = 0x4;
/// `FILE_EXECUTE`.
pub const FILE_EXECUTE: u32 = 0x0020;
/// `FILE_FLAG_DELETE_ON_CLOSE` (CreateFile): the file is deleted when its last handle
/// closes (§28.13).
pub const FILE_FLAG_DELETE_ON_CLOSE: u32 = 0x0400_0000;
/// `FILE_BEGIN` (SetFilePointer's dwMoveMethod).
pub const FILE_BEGIN: u32 = 0;
/// `FILE_CURRENT`.
pub const FILE_CURRENT: u32 = 1;
/// `FILE_END`.
pub const FILE_END: u32 = 2;
/// `INVALID_SET_FILE_POINTER`: SetFilePointer's failure value.
pub const INVALID_SET_FILE_POINTER: u32 = 0xFFFF_FFFF;
/// `INVALID_FILE_SIZE`: GetFileSize's failure value.
pub const INVALID_FILE_SIZE: u32 = 0xFFFF_FFFF;
/// `FILE_TYPE_UNKNOWN` (GetFileType).
pub const FILE_TYPE_UNKNOWN: u32 = 0x0000;
/// `FILE_TYPE_DISK`: a file on a volume.
pub const FILE_TYPE_DISK: u32 = 0x0001;
/// `FILE_TYPE_CHAR`.
pub const FILE_TYPE_CHAR: u32 = 0x0002;
/// `FILE_TYPE_PIPE`: a pipe or a socket.
pub const FILE_TYPE_PIPE: u32 = 0x0003;
