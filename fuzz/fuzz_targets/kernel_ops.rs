//! Fuzz target: random programs of Win32 calls (see fuzz/ops.rs).
//!
//! Run: `cargo fuzz run kernel_ops` from the repository root (needs cargo-fuzz and a
//! nightly toolchain). The same interpreter runs in `cargo test` as a proptest
//! (tests/conformance/robustness.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../ops.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    let _ = ops::run_program(data);
});
