//! Win32 error codes with their real numeric values and winerror.h names.
//!
//! Tier 1 of the error model (see docs/architecture.md): what a Windows program sees
//! through `GetLastError`. The API layer turns a `Result<_, Win32Error>` into the
//! BOOL/HANDLE/DWORD return value plus the thread's last error in one place
//! (`kernel::Kernel::finish_call`).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A Win32 error code (`GetLastError` value), e.g. `ERROR_BROKEN_PIPE` = 109.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Win32Error(pub u32);

macro_rules! win32_errors {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $( $(#[$doc])* pub const $name: Win32Error = Win32Error($value); )*
        impl Win32Error {
            /// The winerror.h name of this code, if winsim knows it.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// The code a winerror.h name stands for (`ERROR_BROKEN_PIPE` → 109), if
            /// winsim knows it.
            pub fn from_name(name: &str) -> Option<Win32Error> {
                match name {
                    $( stringify!($name) => Some($name), )*
                    _ => None,
                }
            }
        }
    };
}

win32_errors! {
    /// The operation completed successfully (0).
    ERROR_SUCCESS = 0;
    /// Incorrect function (1).
    ERROR_INVALID_FUNCTION = 1;
    /// The system cannot find the file specified (2).
    ERROR_FILE_NOT_FOUND = 2;
    /// The system cannot find the path specified (3).
    ERROR_PATH_NOT_FOUND = 3;
    /// The system cannot open the file (4): too many open files.
    ERROR_TOO_MANY_OPEN_FILES = 4;
    /// Access is denied (5).
    ERROR_ACCESS_DENIED = 5;
    /// The handle is invalid (6).
    ERROR_INVALID_HANDLE = 6;
    /// Not enough memory resources are available to process this command (8).
    ERROR_NOT_ENOUGH_MEMORY = 8;
    /// Attempt to access invalid address (487): STATUS_NOT_MAPPED_VIEW and
    /// STATUS_CONFLICTING_ADDRESSES.
    ERROR_INVALID_ADDRESS = 487;
    /// Invalid access to memory location (998): STATUS_ACCESS_VIOLATION.
    ERROR_NOACCESS = 998;
    /// The volume for a file has been externally altered (1006): STATUS_MAPPED_FILE_SIZE_ZERO.
    ERROR_FILE_INVALID = 1006;
    /// The base address or the file offset specified does not have the proper alignment
    /// (1132): STATUS_MAPPED_ALIGNMENT.
    ERROR_MAPPED_ALIGNMENT = 1132;
    /// Reached the end of the file (38): STATUS_FILE_FORCED_CLOSED's error (a mailslot
    /// whose server is gone, docs/semantics.md §18).
    ERROR_HANDLE_EOF = 38;
    /// The request is not supported (50).
    ERROR_NOT_SUPPORTED = 50;
    /// The parameter is incorrect (87).
    ERROR_INVALID_PARAMETER = 87;
    /// The pipe has been ended (109).
    ERROR_BROKEN_PIPE = 109;
    /// The semaphore timeout period has expired (121).
    ERROR_SEM_TIMEOUT = 121;
    /// The data area passed to a system call is too small (122).
    ERROR_INSUFFICIENT_BUFFER = 122;
    /// The filename, directory name, or volume label syntax is incorrect (123).
    ERROR_INVALID_NAME = 123;
    /// The recipient process has refused the signal (156).
    ERROR_SIGNAL_REFUSED = 156;
    /// Cannot create a file when that file already exists (183).
    ERROR_ALREADY_EXISTS = 183;
    /// The pipe state is invalid (230).
    ERROR_BAD_PIPE = 230;
    /// All pipe instances are busy (231).
    ERROR_PIPE_BUSY = 231;
    /// The pipe is being closed (232).
    ERROR_NO_DATA = 232;
    /// No process is on the other end of the pipe (233).
    ERROR_PIPE_NOT_CONNECTED = 233;
    /// More data is available (234).
    ERROR_MORE_DATA = 234;
    /// No more data is available (259); the same number as STILL_ACTIVE.
    ERROR_NO_MORE_ITEMS = 259;
    /// Attempt to release mutex not owned by caller (288).
    ERROR_NOT_OWNER = 288;
    /// Too many posts were made to a semaphore (298).
    ERROR_TOO_MANY_POSTS = 298;
    /// There is a process on other end of the pipe (535).
    ERROR_PIPE_CONNECTED = 535;
    /// Waiting for a process to open the other end of the pipe (536).
    ERROR_PIPE_LISTENING = 536;
    /// The wait operation timed out (258): WAIT_TIMEOUT as a last error (GetQueuedCompletionStatus, GetOverlappedResultEx).
    WAIT_TIMEOUT_ERROR = 258;
    /// The I/O operation has been aborted because of either a thread exit or an application request (995).
    ERROR_OPERATION_ABORTED = 995;
    /// Overlapped I/O event is not in a signaled state (996).
    ERROR_IO_INCOMPLETE = 996;
    /// Overlapped I/O operation is in progress (997).
    ERROR_IO_PENDING = 997;
    /// The handle of a completion port was closed while a thread waited on it (735).
    ERROR_ABANDONED_WAIT_0 = 735;
    /// Element not found (1168).
    ERROR_NOT_FOUND = 1168;
    /// The system cannot find message text for message number 0x%1 (317): what
    /// RtlNtStatusToDosError gives for an NTSTATUS it has no mapping for, such as a
    /// Message Queuing HRESULT in a completion packet (docs/semantics.md §23.29).
    ERROR_MR_MID_NOT_FOUND = 317;
    /// A required privilege is not held by the client (1314).
    ERROR_PRIVILEGE_NOT_HELD = 1314;
    /// Insufficient system resources exist to complete the requested service (1450).
    ERROR_NO_SYSTEM_RESOURCES = 1450;
    /// Invalid flags (1004).
    ERROR_INVALID_FLAGS = 1004;
    /// The current process has used all of its system allowance of handles for Window
    /// Manager objects (1158).
    ERROR_NO_MORE_USER_HANDLES = 1158;
    /// The message can be used only with synchronous operations (1159).
    ERROR_MESSAGE_SYNC_ONLY = 1159;
    /// Invalid window handle (1400).
    ERROR_INVALID_WINDOW_HANDLE = 1400;
    /// Cannot find window class (1407).
    ERROR_CANNOT_FIND_WND_CLASS = 1407;
    /// Invalid window; it belongs to other thread (1408).
    ERROR_WINDOW_OF_OTHER_THREAD = 1408;
    /// Class already exists (1410).
    ERROR_CLASS_ALREADY_EXISTS = 1410;
    /// Class does not exist (1411).
    ERROR_CLASS_DOES_NOT_EXIST = 1411;
    /// Class still has open windows (1412).
    ERROR_CLASS_HAS_WINDOWS = 1412;
    /// Invalid index (1413).
    ERROR_INVALID_INDEX = 1413;
    /// Invalid thread identifier (1444).
    ERROR_INVALID_THREAD_ID = 1444;
    /// This operation returned because the timeout period expired (1460).
    ERROR_TIMEOUT = 1460;
    /// Not enough quota is available to process this command (1816).
    ERROR_NOT_ENOUGH_QUOTA = 1816;
    // ----- Winsock (winerror.h WSABASEERR + n; docs/semantics.md §22) -----
    /// A blocking operation was interrupted (10004): a blocking call whose socket another
    /// thread closed.
    WSAEINTR = 10004;
    /// Permission denied (10013): a bind refused by the address-sharing rules.
    WSAEACCES = 10013;
    /// Bad address (10014): a missing or short address or buffer.
    WSAEFAULT = 10014;
    /// Invalid argument (10022).
    WSAEINVAL = 10022;
    /// Too many open sockets (10024).
    WSAEMFILE = 10024;
    /// Resource temporarily unavailable (10035): a non-blocking call that would block.
    WSAEWOULDBLOCK = 10035;
    /// Operation now in progress (10036).
    WSAEINPROGRESS = 10036;
    /// Operation already in progress (10037).
    WSAEALREADY = 10037;
    /// Socket operation on nonsocket (10038).
    WSAENOTSOCK = 10038;
    /// Destination address required (10039).
    WSAEDESTADDRREQ = 10039;
    /// Message too long (10040): a datagram larger than the receive buffer (truncated).
    WSAEMSGSIZE = 10040;
    /// Protocol wrong type for socket (10041).
    WSAEPROTOTYPE = 10041;
    /// Bad protocol option (10042).
    WSAENOPROTOOPT = 10042;
    /// Protocol not supported (10043).
    WSAEPROTONOSUPPORT = 10043;
    /// Socket type not supported (10044).
    WSAESOCKTNOSUPPORT = 10044;
    /// Operation not supported (10045).
    WSAEOPNOTSUPP = 10045;
    /// Address family not supported by protocol family (10047).
    WSAEAFNOSUPPORT = 10047;
    /// Address already in use (10048).
    WSAEADDRINUSE = 10048;
    /// Cannot assign requested address (10049).
    WSAEADDRNOTAVAIL = 10049;
    /// Software caused connection abort (10053).
    WSAECONNABORTED = 10053;
    /// Connection reset by peer (10054).
    WSAECONNRESET = 10054;
    /// No buffer space available (10055).
    WSAENOBUFS = 10055;
    /// Socket is already connected (10056).
    WSAEISCONN = 10056;
    /// Socket is not connected (10057).
    WSAENOTCONN = 10057;
    /// Cannot send after socket shutdown (10058).
    WSAESHUTDOWN = 10058;
    /// Connection timed out (10060).
    WSAETIMEDOUT = 10060;
    /// Connection refused (10061).
    WSAECONNREFUSED = 10061;
    /// Winsock.dll version out of range (10092).
    WSAVERNOTSUPPORTED = 10092;
    /// Successful WSAStartup not yet performed (10093).
    WSANOTINITIALISED = 10093;
    // ----- overlapped socket I/O (docs/semantics.md §22.40-) -----
    /// The specified network name is no longer available (64): RtlNtStatusToDosError of
    /// STATUS_CONNECTION_RESET, what GetOverlappedResult and GetQueuedCompletionStatus report
    /// for an overlapped socket operation ended by a reset (sock.c test_tcp_reset).
    ERROR_NETNAME_DELETED = 64;
    /// The network connection was aborted by the local system (1236):
    /// STATUS_CONNECTION_ABORTED (closesocket with an overlapped WSARecv pending, sock.c
    /// iocp_async_read_closesocket).
    ERROR_CONNECTION_ABORTED = 1236;
    /// The remote computer refused the network connection (1225): STATUS_CONNECTION_REFUSED
    /// (ConnectEx to a closed port, sock.c test_connect).
    ERROR_CONNECTION_REFUSED = 1225;
    /// The remote system is not reachable by the transport (1232): STATUS_HOST_UNREACHABLE.
    ERROR_HOST_UNREACHABLE = 1232;
    /// Graceful shutdown in progress (10101).
    WSAEDISCON = 10101;
    /// A non-blocking call that cannot be completed at once was deferred (11002): WSAAccept's
    /// condition function returned CF_DEFER (sock.c test_accept).
    WSATRY_AGAIN = 11002;
    /// A device attached to the system is not functioning (31): InitOnceBeginInitialize
    /// with INIT_ONCE_CHECK_ONLY before the initialisation completed (§26.9).
    ERROR_GEN_FAILURE = 31;
    /// The paging file is too small for this operation to complete (1455):
    /// STATUS_COMMITMENT_LIMIT (VirtualAlloc past `Config::private_bytes_max`, §29.6).
    ERROR_COMMITMENT_LIMIT = 1455;
    /// The program issued a command but the command length is incorrect (24):
    /// STATUS_INFO_LENGTH_MISMATCH (VirtualQuery with a buffer too small, §29.11).
    ERROR_BAD_LENGTH = 24;
    // ----- files on the in-memory volume (docs/semantics.md §28) -----
    /// The file exists (80): CreateFile CREATE_NEW over an existing file.
    ERROR_FILE_EXISTS = 80;
    /// The process cannot access the file because it is being used by another process
    /// (32): the share-mode check (§28.8).
    ERROR_SHARING_VIOLATION = 32;
    /// There is not enough space on the disk (112): the volume is full (§28.20).
    ERROR_DISK_FULL = 112;
    /// An attempt was made to move the file pointer before the beginning of the file (131).
    ERROR_NEGATIVE_SEEK = 131;
    /// The directory is not empty (145).
    ERROR_DIR_NOT_EMPTY = 145;
    /// The directory name is invalid (267).
    ERROR_DIRECTORY = 267;
    /// The requested operation cannot be performed on a file with a user-mapped section
    /// open (1224).
    ERROR_USER_MAPPED_FILE = 1224;
    /// %1 is not a valid Win32 application (193): STATUS_INVALID_FILE_FOR_SECTION, a
    /// section on a file object that cannot back one (a pipe, §28.14).
    ERROR_BAD_EXE_FORMAT = 193;
    /// The filename or extension is too long (206): OpenFile with a full path that does
    /// not fit OFSTRUCT's 128 characters (§28.24).
    ERROR_FILENAME_EXCED_RANGE = 206;
}

impl fmt::Debug for Win32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Win32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "error {} (0x{:x})", self.0, self.0),
        }
    }
}

impl From<Win32Error> for u32 {
    fn from(e: Win32Error) -> u32 {
        e.0
    }
}

impl PartialEq<u32> for Win32Error {
    fn eq(&self, other: &u32) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Win32Error> for u32 {
    fn eq(&self, other: &Win32Error) -> bool {
        *self == other.0
    }
}

// ----- COM: HRESULT (docs/semantics.md §21) ---------------------------------------------

/// A COM status code (`HRESULT`, a LONG): negative values are failures. Values and names
/// are winerror.h's (/work/shared/semantics/com-apartments.md §0).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HRESULT(pub i32);

macro_rules! hresults {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        $( $(#[$doc])* pub const $name: HRESULT = HRESULT($value as u32 as i32); )*
        impl HRESULT {
            /// The winerror.h name of this code, if winsim knows it.
            pub fn name(self) -> Option<&'static str> {
                match self.0 as u32 {
                    $( v if v == $value as u32 => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// The HRESULT a winerror.h name stands for, if winsim knows it.
            pub fn from_name(name: &str) -> Option<HRESULT> {
                match name {
                    $( stringify!($name) => Some($name), )*
                    _ => None,
                }
            }
        }
    };
}

hresults! {
    /// Success (0).
    S_OK = 0x0000_0000u32;
    /// Success, "already done" (1): a repeated CoInitializeEx.
    S_FALSE = 0x0000_0001u32;
    /// Not implemented.
    E_NOTIMPL = 0x8000_4001u32;
    /// No such interface supported.
    E_NOINTERFACE = 0x8000_4002u32;
    /// Invalid pointer.
    E_POINTER = 0x8000_4003u32;
    /// Unspecified failure.
    E_FAIL = 0x8000_4005u32;
    /// Catastrophic failure.
    E_UNEXPECTED = 0x8000_FFFFu32;
    /// The operation is not supported (a message filter outside an STA, MF-1).
    CO_E_NOT_SUPPORTED = 0x8000_4021u32;
    /// One or more arguments are invalid.
    E_INVALIDARG = 0x8007_0057u32;
    /// Out of memory.
    E_OUTOFMEMORY = 0x8007_000Eu32;
    /// A marshal stream read past its end (MP-2).
    STG_E_READFAULT = 0x8003_001Eu32;
    /// Class not registered.
    REGDB_E_CLASSNOTREG = 0x8004_0154u32;
    /// Class does not support aggregation.
    CLASS_E_NOAGGREGATION = 0x8004_0110u32;
    /// CoInitialize has not been called (CI-1).
    CO_E_NOTINITIALIZED = 0x8004_01F0u32;
    /// Object is not registered (table-weak data whose object is gone, MP-4).
    CO_E_OBJNOTREG = 0x8004_01FBu32;
    /// Object is not connected to the server (SD-1, MP-2).
    CO_E_OBJNOTCONNECTED = 0x8004_01FDu32;
    /// Call was rejected by callee.
    RPC_E_CALL_REJECTED = 0x8001_0001u32;
    /// Call was canceled by the message filter.
    RPC_E_CALL_CANCELED = 0x8001_0002u32;
    /// It is illegal to call out while inside message filter.
    RPC_E_CANTCALLOUT_INEXTERNALCALL = 0x8001_0005u32;
    /// Cannot change thread mode after it is set (CI-3).
    RPC_E_CHANGED_MODE = 0x8001_0106u32;
    /// The object invoked has disconnected from its clients (MP-2, SD-2).
    RPC_E_DISCONNECTED = 0x8001_0108u32;
    /// The object exporter specified was not found (RPC_E_INVALID_OBJREF): winsim's answer
    /// to CoReleaseMarshalData of data already released whose object has no stub manager
    /// left (Wine 8.0, tools/wine-probes/com_inferred.c; docs/semantics.md §21.7).
    RPC_E_INVALID_OBJREF = 0x8001_011Du32;
    /// Not enough resources (0x80010101): winsim's result of a call into the MTA for
    /// which no RPC worker thread could be started (docs/semantics.md §21.15) \[inferred\].
    RPC_E_OUT_OF_RESOURCES = 0x8001_0101u32;
    /// The message filter rejected the call (RPC_E_SERVERCALL_REJECTED).
    RPC_E_SERVERCALL_REJECTED = 0x8001_010Bu32;
    /// The message filter indicated that the application is busy.
    RPC_E_SERVERCALL_RETRYLATER = 0x8001_010Au32;
    /// An outgoing call cannot be made while dispatching an input-synchronous call (IS-1).
    RPC_E_CANTCALLOUT_ININPUTSYNCCALL = 0x8001_010Du32;
    /// The application called an interface that was marshalled for a different thread (MP-5).
    RPC_E_WRONG_THREAD = 0x8001_010Eu32;
    /// HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE, 1722) = 0x800706BA, "The RPC server is
    /// unavailable": a call through a proxy whose server process has ended (§21.17).
    RPC_S_SERVER_UNAVAILABLE = 0x8007_06BAu32;
    /// HRESULT_FROM_WIN32(RPC_S_CALL_FAILED, 1726) = 0x800706BE, "The remote procedure call
    /// failed": a call in flight when its server process ended (§21.17).
    RPC_S_CALL_FAILED = 0x8007_06BEu32;
    /// Already registered in the class object table (CoRegisterClassObject; Windows CE's
    /// page lists it, the desktop page says repeated registrations are independent).
    CO_E_OBJISREG = 0x8004_01FCu32;
    /// Server execution failed (CoCreateInstance of a local server that could not start).
    CO_E_SERVER_EXEC_FAILURE = 0x8008_0005u32;
    /// CoWaitForMultipleHandles timed out (CW-3).
    RPC_S_CALLPENDING = 0x8001_0115u32;
    /// CoWaitForMultipleHandles with no handles (CW-1).
    RPC_E_NO_SYNC = 0x8001_0120u32;
}

impl HRESULT {
    /// SUCCEEDED(hr).
    pub fn succeeded(self) -> bool {
        self.0 >= 0
    }
    /// FAILED(hr).
    pub fn failed(self) -> bool {
        self.0 < 0
    }
}

/// SUCCEEDED(hr).
#[allow(non_snake_case)]
pub fn SUCCEEDED(hr: HRESULT) -> bool {
    hr.succeeded()
}

/// FAILED(hr).
#[allow(non_snake_case)]
pub fn FAILED(hr: HRESULT) -> bool {
    hr.failed()
}

/// HRESULT_FROM_WIN32: 0x8007xxxx for a Win32 error, S_OK for 0.
#[allow(non_snake_case)]
pub fn HRESULT_FROM_WIN32(e: Win32Error) -> HRESULT {
    if e.0 == 0 { S_OK } else { HRESULT(((e.0 & 0xFFFF) | 0x8007_0000) as i32) }
}

impl fmt::Debug for HRESULT {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for HRESULT {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:08X}", self.0 as u32),
        }
    }
}
