//! The simulator side of the differential: each case runs as the main program of its
//! own simulation, the child programs registered beside it.

use crate::cases::{self, Case};
use crate::log::Log;
use sim_core::{Config, Sim, ThreadCtx};

/// Runs one case under the seeded scheduler and returns its log. A run that does not
/// complete (a deadlock, a panic, a limit) adds a `note: outcome` line, which no native
/// log has, so the comparer reports it.
pub fn run_case(case: &Case<ThreadCtx>, seed: u64) -> Vec<String> {
    let log = Log::new(case.name);
    let mut config = Config::random(seed);
    if case.name.starts_with("random_sockets_") {
        // On loopback a recv gets every byte that has arrived, and a send's bytes arrive
        // at once: how many a recv returns is not left to the scheduler here
        // (docs/semantics.md §22.5), so the generated socket cases' logs are the same on
        // every schedule and comparable line by line. (The written cases read with a
        // loop, whatever the split.)
        config.stream_splits = false;
    }
    let mut sim = Sim::new(config);
    let body = case.run;
    let main_log = log.clone();
    sim.program(case.name, move |ctx| {
        let log = main_log.clone();
        async move {
            body(ctx, log).await;
            0
        }
    });
    for (name, program) in cases::programs::<ThreadCtx>() {
        sim.program(name, program);
    }
    let report = sim.run(case.name);
    if !report.outcome.is_completed() {
        log.note("outcome", format!("{:?}", report.outcome));
    }
    log.lines()
}

/// Every case's log, in order, under `seed`.
pub fn run_all(seed: u64) -> Vec<String> {
    cases::all::<ThreadCtx>().iter().flat_map(|case| run_case(case, seed)).collect()
}
