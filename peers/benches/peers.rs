//! winsim beside shuttle on the same protocol: a bounded producer/consumer of N one-byte
//! items through a buffer of capacity 4, one run per iteration, seeded random scheduling,
//! no trace. Run: `cargo bench --manifest-path peers/Cargo.toml`. Results:
//! docs/performance.md.
//!
//! - winsim, pipe: CreatePipe with nSize 4; the producer writes N single bytes, the
//!   consumer reads N times (a full pipe blocks the writer, an empty one the reader).
//! - winsim, mutex + events: a 4-slot buffer guarded by a winsim mutex, with auto-reset
//!   events "not full" and "not empty".
//! - shuttle: the Mutex + two Condvars version, under shuttle's random and PCT schedulers.
//! - loom: the same Mutex + two Condvars version, explored exhaustively by `loom::model`
//!   with preemption bound 2; one iteration is the whole exploration, and divan's
//!   throughput (items) is executions per second, so its time per item is loom's cost
//!   per run (N = 2 and 4 only: the exploration grows exponentially with N).
//!
//! winsim's runs record their decisions as `Sim::run` does by default
//! (`DecisionRecord::Full`: each decision with its options); the `_sweep` variants record
//! only the one-byte schedule, as `winsim sweep` and the explorers run.
#![forbid(unsafe_code)]

use winsim::prelude::*;

#[path = "../../benches/common/protocols.rs"]
mod protocols;
#[path = "common/shuttle_pc.rs"]
mod shuttle_pc;
use shuttle_pc::shuttle_body;

fn main() {
    divan::main();
}

const SIZES: [u32; 3] = [16, 32, 256];

fn winsim_pipe(n: u32, seed: u64) -> RunReport {
    winsim_pipe_recording(n, seed, DecisionRecord::Full)
}

fn winsim_pipe_recording(n: u32, seed: u64, record: DecisionRecord) -> RunReport {
    protocols::pipe_pc(n, untraced(seed, record))
}

fn winsim_mutex_events(n: u32, seed: u64) -> RunReport {
    winsim_mutex_events_recording(n, seed, DecisionRecord::Full)
}

fn winsim_mutex_events_recording(n: u32, seed: u64, record: DecisionRecord) -> RunReport {
    protocols::mutex_events(n, untraced(seed, record))
}

/// A seeded random run without the trace, recording its decisions as `record` says.
fn untraced(seed: u64, record: DecisionRecord) -> Config {
    let mut config = Config::random(seed);
    config.trace = false;
    config.decision_record = record;
    config
}

#[divan::bench(args = SIZES)]
fn winsim_pipe_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_pipe(n, seed)
    });
}

#[divan::bench(args = SIZES)]
fn winsim_mutex_events_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_mutex_events(n, seed)
    });
}

#[divan::bench(args = SIZES)]
fn winsim_pipe_sweep_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_pipe_recording(n, seed, DecisionRecord::Schedule)
    });
}

#[divan::bench(args = SIZES)]
fn winsim_mutex_events_sweep_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_mutex_events_recording(n, seed, DecisionRecord::Schedule)
    });
}

#[divan::bench(args = SIZES)]
fn shuttle_random_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        shuttle_pc::shuttle_random(n, seed);
    });
}

#[divan::bench(args = SIZES)]
fn shuttle_pct_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        let scheduler = shuttle::scheduler::PctScheduler::new_from_seed(seed, 3, 1);
        shuttle::Runner::new(scheduler, shuttle::Config::new()).run(move || shuttle_body(n));
    });
}

/// Benchmark 3: a trivial two-thread run, setup and teardown included: winsim's
/// CreateThread + WaitForSingleObject on a fresh `Sim`, beside shuttle's spawn + join in
/// one run of its random scheduler.
#[divan::bench]
fn winsim_trivial_run(bencher: divan::Bencher) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        protocols::trivial(untraced(seed, DecisionRecord::Full))
    });
}

#[divan::bench]
fn shuttle_trivial_run(bencher: divan::Bencher) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        shuttle_pc::shuttle_trivial(seed);
    });
}

fn loom_body(n: u32) {
    use loom::sync::{Arc, Condvar, Mutex};
    shuttle_pc::producer_consumer!(n, Arc, Mutex, Condvar, loom::thread::spawn);
}

/// One exhaustive loom exploration (preemption bound 2); returns the executions it ran.
fn loom_explore(n: u32) -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.max_branches = 1_000_000;
    builder.check(move || {
        counted.fetch_add(1, Ordering::Relaxed);
        loom_body(n);
    });
    runs.load(Ordering::Relaxed)
}

#[divan::bench(args = [2, 4])]
fn loom_pb2_exploration(bencher: divan::Bencher, n: u32) {
    let executions = loom_explore(n);
    eprintln!("loom, N = {n}, preemption bound 2: {executions} executions per exploration");
    bencher.counter(divan::counter::ItemsCount::new(executions)).bench_local(|| loom_explore(n));
}

/// winsim's pipe and mutex + events runs at the loom sizes, in the same process.
#[divan::bench(args = [2, 4])]
fn winsim_pipe_small_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_pipe(n, seed)
    });
}

#[divan::bench(args = [2, 4])]
fn winsim_mutex_events_small_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        winsim_mutex_events(n, seed)
    });
}

#[divan::bench(args = [2, 4])]
fn shuttle_random_small_run(bencher: divan::Bencher, n: u32) {
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        shuttle_pc::shuttle_random(n, seed);
    });
}
