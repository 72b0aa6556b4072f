//! winsim's kernel: a single-threaded discrete-event simulation of Windows processes,
//! threads, handle tables, waits, synchronisation objects and pipes.
//!
//! A simulated thread's body is an `async` closure taking a [`ThreadCtx`]; every Win32
//! call is an awaited schedule point where a seeded scheduler picks which thread runs.
//! The same program, configuration and seed give a byte-identical trace.
//!
//! Layout: `kernel/` is the one place that loops (scheduler, clock, waits, calls);
//! `objects/` holds one file per object family; `handles.rs` the per-process tables;
//! `api/` the Win32 surface; `error.rs`, `types.rs` the Win32 names; `trace.rs` and
//! `report.rs` what a run tells.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod error;
pub mod explore;
pub mod handles;
pub mod kernel;
pub mod mq;
pub mod objects;
pub mod report;
pub mod sim;
pub mod trace;
pub mod types;

pub use api::ThreadCtx;
pub use backend::Win32;
pub use kernel::config::{Config, DecisionRecord, LimitAction, StrategyConfig, WaiterOrder};
pub use kernel::config::{HostConfig, LinkConfig, NetworkConfig, PartitionConfig};
pub use kernel::race::RaceDetection;
pub use kernel::sched::{
    ChoiceKind, ChoicePoint, Decision, DecisionOptions, ReplaySchedule, Schedule, StateHash, Strategy,
};
pub use report::{
    DeadlockReport, LivelockReport, LivelockThread, Outcome, RaceAccess, RaceReport, RunReport, WaitEdge,
};
pub use sim::Sim;

/// Everything a simulated program needs: `use winsim_core::prelude::*;` (through the
/// facade: `use winsim::prelude::*;`).
pub mod prelude {
    pub use crate::api::{
        CONDITION_VARIABLE_INIT, HasOverlappedIoCompleted, IoBuffer, OVERLAPPED, OVERLAPPED_ENTRY, Overlapped,
        SENDASYNCPROC, SRWLOCK_INIT, STATUS_PENDING, TIMERPROC, ThreadCtx, WNDCLASSEX, WNDPROC, sendasyncproc,
        timerproc, wndproc,
    };
    pub use crate::api::{
        HFILE, HFILE_ERROR, OF_CANCEL, OF_CREATE, OF_DELETE, OF_EXIST, OF_PARSE, OF_PROMPT, OF_READ, OF_READWRITE,
        OF_REOPEN, OF_SHARE_COMPAT, OF_SHARE_DENY_NONE, OF_SHARE_DENY_READ, OF_SHARE_DENY_WRITE, OF_SHARE_EXCLUSIVE,
        OF_VERIFY, OF_WRITE, OFS_MAXPATHNAME, OFSTRUCT, OFSTRUCT_SIZE,
    };
    pub use crate::api::{LPWSAOVERLAPPED_COMPLETION_ROUTINE, wsa_completion_routine};
    pub use crate::error::*;
    pub use crate::kernel::config::{Config, DecisionRecord, LimitAction, StrategyConfig, WaiterOrder};
    pub use crate::kernel::race::RaceDetection;
    pub use crate::kernel::request::TimerApcRoutine;
    pub use crate::mq::*;
    pub use crate::objects::file::VolumeFile;
    pub use crate::objects::port::Packet;
    pub use crate::report::{Outcome, RaceReport, RunReport};
    pub use crate::sim::Sim;
    pub use crate::types::*;
    // COM apartments (§21): HRESULTs come with crate::error::*.
    pub use crate::api::CO_MTA_USAGE_COOKIE;
    pub use crate::objects::com::*;
    // Hosts and the simulated network (§27).
    pub use crate::kernel::config::{HostConfig, LinkConfig, NetworkConfig, PartitionConfig};
}
