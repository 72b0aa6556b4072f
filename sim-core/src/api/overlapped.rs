//! `OVERLAPPED` and I/O buffers, shaped for safe Rust.
//!
//! On Windows an OVERLAPPED and the buffer of an asynchronous read are caller memory that
//! the kernel writes when the operation completes, which safe Rust cannot hand out across
//! an `await`. Here both are shared records: cloning an [`Overlapped`] gives the same
//! OVERLAPPED (as passing its address twice would), and the kernel fills
//! `Internal`/`InternalHigh` through it when the operation completes; an [`IoBuffer`] is
//! a buffer the kernel fills at completion (its contents before then are whatever they
//! were, as on Windows). Using one OVERLAPPED for a second operation while the first is
//! pending ends the run as `Outcome::Failed`, naming both operations: on Windows it
//! corrupts memory, and Application Verifier reports it.

use crate::error::Win32Error;
use crate::types::HANDLE;
use std::cell::RefCell;
use std::rc::Rc;

/// `STATUS_PENDING`: OVERLAPPED.Internal while the operation runs.
pub const STATUS_PENDING: u32 = 0x0000_0103;

#[derive(Debug, Default)]
pub(crate) struct OverlappedState {
    pub(crate) event: HANDLE,
    pub(crate) internal: u32,
    pub(crate) internal_high: u32,
    /// The Win32 error of the completed operation (what GetOverlappedResult reports).
    pub(crate) error: Option<Win32Error>,
    /// A socket operation's Winsock error (what WSAGetOverlappedResult reports: WSAECONNRESET
    /// where GetOverlappedResult says ERROR_NETNAME_DELETED, §22.40).
    pub(crate) wsa_error: Option<Win32Error>,
    /// The pending operation using it: (its trace number, its API name).
    pub(crate) pending: Option<(u64, &'static str)>,
    /// `Offset` and `OffsetHigh`: where a read or write of a file on the volume starts
    /// (docs/semantics.md §28.21).
    pub(crate) offset: u64,
}

/// An `OVERLAPPED` structure: its event and the status fields the kernel writes.
#[derive(Clone, Debug, Default)]
pub struct Overlapped {
    pub(crate) state: Rc<RefCell<OverlappedState>>,
}

/// The Win32 name.
pub type OVERLAPPED = Overlapped;

/// Two values are equal when they are the same OVERLAPPED.
impl PartialEq for Overlapped {
    fn eq(&self, other: &Overlapped) -> bool {
        self.same(other)
    }
}

impl Eq for Overlapped {}

impl Overlapped {
    /// An OVERLAPPED whose `hEvent` is `h_event` (NULL for none: the file handle itself is
    /// signalled at completion).
    pub fn new(h_event: HANDLE) -> Overlapped {
        Overlapped { state: Rc::new(RefCell::new(OverlappedState { event: h_event, ..Default::default() })) }
    }

    /// An OVERLAPPED with `hEvent` and the file position `Offset`/`OffsetHigh` (for a
    /// file on the volume: where the read or write starts; 0xFFFFFFFF_FFFFFFFF writes at
    /// the end of file, docs/semantics.md §28.21).
    pub fn with_offset(h_event: HANDLE, offset: u64) -> Overlapped {
        let o = Overlapped::new(h_event);
        o.set_offset(offset);
        o
    }

    /// `Offset` and `OffsetHigh` as one 64-bit position.
    pub fn offset(&self) -> u64 {
        self.state.borrow().offset
    }

    /// Sets `Offset` and `OffsetHigh`.
    pub fn set_offset(&self, offset: u64) {
        self.state.borrow_mut().offset = offset;
    }

    /// `hEvent`.
    pub fn h_event(&self) -> HANDLE {
        self.state.borrow().event
    }

    /// `Internal`: the operation's NTSTATUS (STATUS_PENDING, 0x103, while it runs).
    pub fn internal(&self) -> u32 {
        self.state.borrow().internal
    }

    /// `InternalHigh`: the bytes transferred.
    pub fn internal_high(&self) -> u32 {
        self.state.borrow().internal_high
    }

    /// HasOverlappedIoCompleted: `Internal != STATUS_PENDING`.
    pub fn has_overlapped_io_completed(&self) -> bool {
        self.internal() != STATUS_PENDING
    }

    /// What kernel32 does with the OVERLAPPED before it calls the NT service: `Internal`
    /// becomes STATUS_PENDING, so a call that fails before the I/O manager took the
    /// request (a closed handle, a bad event) leaves it so, and GetOverlappedResult then
    /// reports ERROR_IO_INCOMPLETE (docs/semantics.md §16.4).
    pub(crate) fn mark_started(&self) {
        self.state.borrow_mut().internal = STATUS_PENDING;
    }

    /// Whether two values are the same OVERLAPPED.
    pub fn same(&self, other: &Overlapped) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}

/// HasOverlappedIoCompleted (a macro in winbase.h).
#[allow(non_snake_case)]
pub fn HasOverlappedIoCompleted(overlapped: &Overlapped) -> bool {
    overlapped.has_overlapped_io_completed()
}

/// `OVERLAPPED_ENTRY`: one packet taken by GetQueuedCompletionStatusEx.
#[allow(non_snake_case, non_camel_case_types)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OVERLAPPED_ENTRY {
    /// The completion key.
    pub lpCompletionKey: usize,
    /// The operation's OVERLAPPED (None for a posted packet without one).
    pub lpOverlapped: Option<Overlapped>,
    /// The operation's completion status, an NTSTATUS (Microsoft documents it as
    /// reserved; it is the status block's Status: 0 for a success or a posted packet,
    /// 0xC0000120 STATUS_CANCELLED for a cancelled operation, §16.31).
    pub Internal: u32,
    /// Bytes transferred.
    pub dwNumberOfBytesTransferred: u32,
}

/// A buffer for asynchronous reads: the kernel writes the data into it when the read
/// completes. Cloning gives the same buffer.
#[derive(Clone, Debug, Default)]
pub struct IoBuffer {
    pub(crate) data: Rc<RefCell<Vec<u8>>>,
}

impl IoBuffer {
    /// A zeroed buffer of `len` bytes.
    pub fn new(len: usize) -> IoBuffer {
        IoBuffer { data: Rc::new(RefCell::new(vec![0; len])) }
    }

    /// Its size.
    pub fn len(&self) -> usize {
        self.data.borrow().len()
    }

    /// True for a zero-length buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of its contents.
    pub fn to_vec(&self) -> Vec<u8> {
        self.data.borrow().clone()
    }

    /// A copy of its first `n` bytes (the bytes a completed read transferred).
    pub fn head(&self, n: usize) -> Vec<u8> {
        let d = self.data.borrow();
        d[..n.min(d.len())].to_vec()
    }
}

/// `LPWSAOVERLAPPED_COMPLETION_ROUTINE`: a WSARecv/WSASend completion routine, called as an
/// APC in an alertable wait of the issuing thread with the operation's error (0 on
/// success), the bytes transferred and the OVERLAPPED (dwFlags is always 0 here).
#[allow(non_camel_case_types)]
pub type LPWSAOVERLAPPED_COMPLETION_ROUTINE = crate::kernel::io::IoCompletionRoutine;

/// Boxes a closure as an `LPWSAOVERLAPPED_COMPLETION_ROUTINE`.
pub fn wsa_completion_routine<F, Fut>(f: F) -> LPWSAOVERLAPPED_COMPLETION_ROUTINE
where
    F: FnOnce(crate::api::ThreadCtx, u32, u32, Overlapped) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    Box::new(move |ctx, code, bytes, ov| Box::pin(f(ctx, code, bytes, ov)))
}
