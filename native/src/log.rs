//! The one line format both backends print, so their logs can be compared line by line.
//!
//! A line is four fields separated by ` | `:
//!
//! ```text
//! case | what | ret | err
//! pipe_broken | WriteFile(reader closed) | FALSE | ERROR_NO_DATA
//! pipe_broken | note: read | "x" | -
//! ```
//!
//! `what` names the call (or, for a `note:`, a value the case read back: data, counts,
//! exit codes); `ret` is the call's return value rendered without raw handle values
//! (`handle`, `NULL`, `INVALID_HANDLE_VALUE`, `TRUE`, `FALSE`, `WAIT_OBJECT_0+1`...);
//! `err` is GetLastError after the call, the last error having been set to 0xdeadbeef
//! just before it (`untouched` when the call left it alone).

use sim_core::error::Win32Error;
use sim_core::types::*;
use std::sync::{Arc, Mutex};

/// The field separator.
pub const SEP: &str = " | ";

/// One case's log: lines in order. Cloning shares the buffer. A thread whose calls would
/// interleave with another's in real time logs into its own [`Log::thread`] buffer, which
/// the case merges once the thread has ended, so the log is the same on every schedule.
#[derive(Clone, Debug)]
pub struct Log {
    case: String,
    lines: Arc<Mutex<Vec<String>>>,
    scratch: Arc<str>,
}

/// The scratch directory of a simulator run: the volume is the run's own (§28.1), so a
/// fixed path is unique.
pub const SIM_SCRATCH: &str = r"C:\winsim-diff";

impl Log {
    /// An empty log for `case`.
    pub fn new(case: &str) -> Log {
        Log { case: case.to_string(), lines: Arc::new(Mutex::new(Vec::new())), scratch: SIM_SCRATCH.into() }
    }

    /// The same log with another scratch directory (the native runner's, unique to the
    /// run, since the real file system outlives it).
    pub fn with_scratch(mut self, dir: &str) -> Log {
        self.scratch = dir.into();
        self
    }

    /// The directory, not yet created, under which file cases make their files: its
    /// path differs between the backends, so cases never log it.
    pub fn scratch(&self) -> &str {
        &self.scratch
    }

    /// A separate buffer for a thread of this case, its lines named `case/who`.
    pub fn thread(&self, who: &str) -> Log {
        Log::new(&format!("{}/{who}", self.case)).with_scratch(&self.scratch)
    }

    /// Appends another buffer's lines (a thread's, after it ended).
    pub fn merge(&self, other: &Log) {
        let theirs = other.lines();
        self.lines.lock().expect("log lock").extend(theirs);
    }

    /// Records a call: its return value and the last error read right after it.
    pub fn call(&self, what: &str, ret: &dyn Rendered, err: u32) {
        self.push(what, &ret.render(), &render_error(err));
    }

    /// Records a value the case read back (data, a count, an exit code).
    pub fn note(&self, what: &str, value: impl std::fmt::Display) {
        self.push(&format!("note: {what}"), &value.to_string(), "-");
    }

    fn push(&self, what: &str, ret: &str, err: &str) {
        let line = [self.case.as_str(), what, ret, err].join(SEP);
        if ECHO.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!("{line}");
        }
        self.lines.lock().expect("log lock").push(line);
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("log lock").clone()
    }
}

/// A debugging aid for a native run that dies in a case (an access violation): when set,
/// each line also goes to stderr as it is logged. The native runner sets it once, before
/// the first case, from the environment variable WINSIM_NATIVE_ECHO (reading the
/// environment sets the last error, so it is never read between a call and its line).
pub static ECHO: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The sentinel set before every logged call.
pub const SENTINEL: u32 = 0xdead_beef;

/// A last error as its winerror.h name where winsim knows it.
pub fn render_error(err: u32) -> String {
    if err == SENTINEL {
        return "untouched".to_string();
    }
    match Win32Error(err).name() {
        Some(name) => name.to_string(),
        None => format!("0x{err:08x}"),
    }
}

/// Bytes as a quoted string (printable ASCII kept, others as `\xNN`).
pub fn render_bytes(data: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in data {
        if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    s
}

/// A return value rendered for the log.
pub trait Rendered {
    /// The text in the `ret` field.
    fn render(&self) -> String;
}

/// BOOL.
impl Rendered for i32 {
    fn render(&self) -> String {
        match *self {
            FALSE => "FALSE".to_string(),
            TRUE => "TRUE".to_string(),
            v => format!("BOOL({v})"),
        }
    }
}

/// A wait result (the only DWORD returns in the surface).
impl Rendered for u32 {
    fn render(&self) -> String {
        match *self {
            WAIT_TIMEOUT => "WAIT_TIMEOUT".to_string(),
            WAIT_FAILED => "WAIT_FAILED".to_string(),
            WAIT_IO_COMPLETION => "WAIT_IO_COMPLETION".to_string(),
            v if v < 64 => format!("WAIT_OBJECT_0+{v}"),
            v if (WAIT_ABANDONED_0..WAIT_ABANDONED_0 + 64).contains(&v) => {
                format!("WAIT_ABANDONED_0+{}", v - WAIT_ABANDONED_0)
            }
            v => format!("DWORD({v})"),
        }
    }
}

/// A handle: its value is meaningless across backends, so only what kind it is.
impl Rendered for HANDLE {
    fn render(&self) -> String {
        if self.is_null() {
            "NULL".to_string()
        } else if *self == INVALID_HANDLE_VALUE {
            "INVALID_HANDLE_VALUE".to_string()
        } else {
            "handle".to_string()
        }
    }
}

/// An address (MapViewOfFile, VirtualAlloc): its value differs between the backends, so
/// only whether it is NULL.
impl Rendered for usize {
    fn render(&self) -> String {
        if *self == 0 { "NULL".to_string() } else { "address".to_string() }
    }
}

/// A DWORD that is a number, not a wait result (GetFileSize, SetFilePointer,
/// GetFileType): `DWORD(n)`, and 0xFFFFFFFF (INVALID_FILE_SIZE, INVALID_SET_FILE_POINTER)
/// as `DWORD(0xffffffff)`, a failure when the last error is not 0, so the comparer
/// compares the last error for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dword(pub u32);

impl Rendered for Dword {
    fn render(&self) -> String {
        if self.0 == u32::MAX { "DWORD(0xffffffff)".to_string() } else { format!("DWORD({})", self.0) }
    }
}

/// A byte count a call returns (VirtualQuery): `SIZE(n)`, `SIZE(0)` being its failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub usize);

impl Rendered for Size {
    fn render(&self) -> String {
        format!("SIZE({})", self.0)
    }
}

/// An int a Winsock call returns: `SOCKET_ERROR` (-1, a failure whose error
/// WSAGetLastError gives), otherwise the number (`INT(5)`: bytes sent, received; 0 for
/// success).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int(pub i32);

impl Rendered for Int {
    fn render(&self) -> String {
        if self.0 == -1 { "SOCKET_ERROR".to_string() } else { format!("INT({})", self.0) }
    }
}

/// A window: its value is meaningless across backends (§17), so only whether it is NULL.
impl Rendered for HWND {
    fn render(&self) -> String {
        if self.0 == 0 { "NULL".to_string() } else { "window".to_string() }
    }
}

/// A message result (SendMessage, SendMessageTimeout, DispatchMessage): `LRESULT(n)`.
/// The cases' window procedures never answer 0, so `LRESULT(0)` is a failure (or a
/// SendMessageTimeout that timed out) and the comparer compares its last error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lresult(pub isize);

impl Rendered for Lresult {
    fn render(&self) -> String {
        format!("LRESULT({})", self.0)
    }
}

/// A class atom (RegisterClassEx): its value differs between the backends, so `atom`, or
/// `ATOM(0)`, the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Atom(pub u16);

impl Rendered for Atom {
    fn render(&self) -> String {
        if self.0 == 0 { "ATOM(0)".to_string() } else { "atom".to_string() }
    }
}

/// A thread or process id a call returns (GetWindowThreadProcessId): its value differs
/// between the backends, so `id`, or `ID(0)`, the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Id(pub u32);

impl Rendered for Id {
    fn render(&self) -> String {
        if self.0 == 0 { "ID(0)".to_string() } else { "id".to_string() }
    }
}

/// An HRESULT: its winerror.h name, or its value in hex. COM reports through it, not the
/// last error, so no HRESULT counts as a failure for the comparer's last-error rule.
impl Rendered for sim_core::error::HRESULT {
    fn render(&self) -> String {
        match self.name() {
            Some(n) => n.to_string(),
            None => format!("HRESULT(0x{:08x})", self.0 as u32),
        }
    }
}

/// No return value (Sleep).
impl Rendered for () {
    fn render(&self) -> String {
        "-".to_string()
    }
}

/// True for a rendered return value that means the call failed (or, for
/// `DWORD(0xffffffff)`, may have: the last error tells), so the comparer checks the last
/// error only then.
pub fn is_failure(ret: &str) -> bool {
    matches!(
        ret,
        "FALSE"
            | "NULL"
            | "INVALID_HANDLE_VALUE"
            | "WAIT_FAILED"
            | "DWORD(0xffffffff)"
            | "SIZE(0)"
            | "SOCKET_ERROR"
            | "LRESULT(0)"
            | "ATOM(0)"
            | "ID(0)"
    )
}
