//! winsim's reference model: the plainest executable statement of each object's
//! semantics. No arenas, no scheduler, no performance tricks: a pipe is a `VecDeque` of
//! writes and a quota. The kernel (sim-core) is checked against it.
//!
//! Facts are numbered as in docs/semantics.md.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod com;
pub mod com_class;
pub mod mailslot;
pub mod memory;
pub mod messages;
pub mod msmq;
pub mod named_pipe;
pub mod pipe;
pub mod socket;
pub mod sync;
pub mod volume;
