//! A property test over seeds, and the replay of the failing one.
//!
//! PulseEvent wakes only the threads waiting at that instant (docs/semantics.md §2): if
//! the waiter has not reached its wait yet, the pulse is lost and the program hangs. Most
//! schedules are fine; this example runs the program under many seeds, finds one that
//! deadlocks, prints its report and replays it from its recorded decisions: the same
//! trace, byte for byte. In a test, `winsim::Check` (or `#[winsim::test]`) does the same
//! search, shrinks the failure and saves it for the next run (docs/exploration.md).
//!
//! Run: `cargo run --example seed_replay`
use winsim::prelude::*;

/// The program under test, run with `config`.
fn program(config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    sim.program("race.exe", |ctx| async move {
        let ev = ctx.create_event(None, false, false, None).await; // auto-reset, not set
        let waiter = ctx
            .create_thread(None, 0, move |ctx| async move { ctx.wait_for_single_object(ev, INFINITE).await }, 0, None)
            .await;
        ctx.pulse_event(ev).await; // lost when the waiter is not waiting yet
        ctx.wait_for_single_object(waiter, INFINITE).await;
        0
    });
    sim.run("race.exe")
}

fn main() {
    let seeds = 200;
    let mut failing = None;
    let mut completed = 0;
    for seed in 0..seeds {
        let report = program(Config::random(seed));
        if report.outcome.is_completed() {
            completed += 1;
        } else if failing.is_none() {
            failing = Some(report);
        }
    }
    println!("{completed} of {seeds} seeds completed");
    let failing = failing.expect("some seed loses the pulse");
    println!("first failing seed: {:?}\n{}", failing.seed, failing.summary());

    // The same seed gives the same run; the recorded decisions replay it too.
    let again = program(Config::random(failing.seed.expect("a random run has a seed")));
    let replayed = program(failing.replay_config());
    assert_eq!(again.trace, failing.trace);
    assert_eq!(replayed.trace, failing.trace);
    println!("replayed: {} events, identical to the failing run", replayed.trace.len());
}
