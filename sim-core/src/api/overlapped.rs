//! `OVERLAPPED`, shaped for safe Rust.
//!
//! On Windows an OVERLAPPED is caller memory that the kernel writes when the operation
//! completes, which safe Rust cannot hand out across an `await`. Here it is a shared
//! record: cloning an `Overlapped` gives the same OVERLAPPED (as passing its address
//! twice would), and the kernel fills `Internal`/`InternalHigh` through it.
//!
//! Asynchronous I/O (ERROR_IO_PENDING, completion events, GetOverlappedResult, completion
//! ports, APCs) is not modelled yet: a call given an `Overlapped` ends the run as
//! `Outcome::Unsupported`, never silently treated as synchronous.

use crate::types::HANDLE;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, Default)]
struct OverlappedState {
    event: HANDLE,
    internal: u32,
    internal_high: u32,
}

/// An `OVERLAPPED` structure: its event and the status fields the kernel writes.
#[derive(Clone, Debug, Default)]
pub struct Overlapped {
    state: Rc<RefCell<OverlappedState>>,
}

/// The Win32 name.
pub type OVERLAPPED = Overlapped;

impl Overlapped {
    /// An OVERLAPPED whose `hEvent` is `h_event` (NULL for none).
    pub fn new(h_event: HANDLE) -> Overlapped {
        Overlapped { state: Rc::new(RefCell::new(OverlappedState { event: h_event, ..Default::default() })) }
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

    /// Whether two values are the same OVERLAPPED.
    pub fn same(&self, other: &Overlapped) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}
