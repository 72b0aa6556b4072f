//! Fuzz target: random programs of Win32 calls (see fuzz/ops.rs).
//!
//! Run from the repository root: `cargo install cargo-fuzz` once, then
//! `cargo fuzz run -s none kernel_ops -- -max_total_time=300` (`-s none` builds on the
//! stable toolchain: coverage-guided libFuzzer without a sanitizer, which this
//! `forbid(unsafe_code)` code does not need). The same interpreter runs in `cargo test`
//! as a proptest (tests/conformance/robustness.rs).
#![no_main]
// Not `forbid(unsafe_code)`: libfuzzer-sys' `fuzz_target!` exports a `no_mangle` entry
// point, which that lint rejects. The code under test (sim-core, fuzz/ops.rs) forbids it.

use libfuzzer_sys::fuzz_target;

#[path = "../ops.rs"]
mod ops;

fuzz_target!(|data: &[u8]| {
    if let Some(r) = ops::run_program(data) {
        // The runner turns a kernel panic into an outcome; the fuzzer must still see it.
        if let sim_core::Outcome::SimulatorBug { message, .. } = &r.outcome {
            panic!("simulator bug: {message}");
        }
    }
});
