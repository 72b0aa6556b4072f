//! Conformance tests: one binary, one module per Wine test suite. Every test cites the
//! source of the Windows behaviour it checks (shared/semantics/pipes-handles-threads-waits.md
//! fact numbers, Wine test functions, Microsoft Learn pages).
#![forbid(unsafe_code)]

mod support;

mod audit;
mod cli;
mod determinism;
mod handles;
mod model;
mod model_sync;
mod pipe;
mod process;
mod robustness;
mod sync;
mod teaching;
mod thread;
