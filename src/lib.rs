//! winsim: a deterministic simulator of Windows inter-process communication.
//!
//! This facade re-exports the kernel ([`sim_core`]), the reference model
//! ([`sim_model`]) and the scenario catalogue ([`scenarios`]). Start with
//! [`prelude`] and [`Sim`]:
//!
//! ```
//! use winsim::prelude::*;
//!
//! let mut sim = Sim::new(Config::random(7));
//! sim.program("main.exe", |ctx| async move {
//!     let ev = ctx.create_event(None, true, false, None).await;
//!     assert_eq!(ctx.wait_for_single_object(ev, 10).await, WAIT_TIMEOUT);
//!     0
//! });
//! let report = sim.run("main.exe");
//! assert!(report.outcome.is_completed());
//! assert_eq!(report.time_ms, 10); // virtual time
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod check;
pub mod pictures;

pub use check::{Check, FAILURE_DIR, FailureFile, FailureRecord, Passed, check};
pub use scenarios;
pub use sim_core;
pub use sim_core::*;
pub use sim_model;
/// `#[winsim::test]`: a test that explores a simulated program's schedules
/// (`winsim_macros::test`).
pub use winsim_macros::test;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
