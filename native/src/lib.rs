//! winsim-native: the same program on the simulator and on real Windows.
//!
//! - [`cases`]: the differential cases, written once, generic over
//!   [`sim_core::backend::Win32`];
//! - [`log`]: the one line format both backends print;
//! - [`random`]: generated cases, seeded random call sequences;
//! - [`sim_side`]: runs the cases in the simulator;
//! - [`compare`]: compares a simulator log with a native one under documented rules and
//!   a manifest of known Wine-versus-Windows differences;
//! - `win` (Windows only): the native backend, `NativeCtx`, over windows-sys: real
//!   Win32 calls, OS threads, real processes.
//!
//! On other targets the crate has no native backend and no windows-sys dependency.
//! Run `tools/native-diff.sh` to cross-compile, run under Wine and compare.
#![cfg_attr(not(windows), forbid(unsafe_code))]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod cases;
pub mod compare;
pub mod log;
pub mod random;
pub mod random_sockets;
pub mod sim_side;
#[cfg(windows)]
pub mod win;

/// The manifest of known Wine-versus-Windows differences, checked in beside the crate.
pub const MANIFEST: &str = include_str!("../manifest.txt");
