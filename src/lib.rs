#![forbid(unsafe_code)]
pub use sim_core::*;
