//! The Win32 surface that simulated thread bodies call: one `async fn` per API on
//! [`ThreadCtx`], named after the Win32 function in snake_case, parameters in Win32
//! order. Every awaited call is a schedule point.

mod com;
mod file;
mod kernel32;
mod locks;
mod mailslot;
mod mapping;
mod msmq;
mod overlapped;
mod user32;
mod vmem;
mod winsock;
mod winsock_async;

pub use com::CO_MTA_USAGE_COOKIE;
pub use file::{
    HFILE, HFILE_ERROR, OF_CANCEL, OF_CREATE, OF_DELETE, OF_EXIST, OF_PARSE, OF_PROMPT, OF_READ, OF_READWRITE,
    OF_REOPEN, OF_SHARE_COMPAT, OF_SHARE_DENY_NONE, OF_SHARE_DENY_READ, OF_SHARE_DENY_WRITE, OF_SHARE_EXCLUSIVE,
    OF_VERIFY, OF_WRITE, OFS_MAXPATHNAME, OFSTRUCT, OFSTRUCT_SIZE,
};
pub use kernel32::ThreadCtx;
pub use locks::{CONDITION_VARIABLE, CONDITION_VARIABLE_INIT, CRITICAL_SECTION, INIT_ONCE, SRWLOCK, SRWLOCK_INIT};
pub use overlapped::{HasOverlappedIoCompleted, IoBuffer, OVERLAPPED, OVERLAPPED_ENTRY, Overlapped, STATUS_PENDING};
pub use overlapped::{LPWSAOVERLAPPED_COMPLETION_ROUTINE, wsa_completion_routine};
pub use user32::{SENDASYNCPROC, TIMERPROC, WNDCLASSEX, WNDPROC, sendasyncproc, timerproc, wndproc};
