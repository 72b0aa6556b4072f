//! Kernel benchmarks (divan). Run: `cargo bench --bench kernel`.
//! Results and the machine they were measured on: docs/performance.md.
#![forbid(unsafe_code)]

use winsim::prelude::*;

#[path = "common/scaling.rs"]
mod scaling;
use scaling::{Beside, ping_pong_beside, round_trips};

fn main() {
    divan::main();
}

/// Two threads exchange `n` one-byte messages over two pipes (2n ReadFile + 2n
/// WriteFile calls, each a kernel step with a scheduler decision), beside `idle` more
/// threads blocked for ever in WaitForSingleObject (the cost of a step must not grow with
/// threads that take no part in it).
fn ping_pong_with_idle(n: u32, idle: u32, trace: bool) -> RunReport {
    ping_pong_with(n, idle, trace, RaceDetection::Stop)
}

fn ping_pong_with(n: u32, idle: u32, trace: bool, races: RaceDetection) -> RunReport {
    let mut config = Config::random(1);
    config.trace = trace;
    config.race_detection = races;
    config.threads_max = config.threads_max.max(idle + 16);
    config.handles_max = config.handles_max.max(idle as usize + 64);
    let mut sim = Sim::new(config);
    sim.program("pingpong.exe", move |ctx| async move {
        if idle > 0 {
            let never = ctx.create_event(None, true, false, None).await;
            for _ in 0..idle {
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move { ctx.wait_for_single_object(never, INFINITE).await },
                        0,
                        None,
                    )
                    .await;
            }
        }
        round_trips!(ctx, n);
        0
    });
    sim.run("pingpong.exe")
}

/// Scaling (benchmark 4): the 1000-round-trip ping-pong (trace off) beside 0 to 10,000
/// idle threads; counted per ping-pong step.
#[divan::bench(args = [0, 100, 1000, 10000])]
fn pipe_ping_pong_1000_idle_threads(bencher: divan::Bencher, idle: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, idle, false));
}

/// The same programs without the round trips: what the idle threads' creation, waits and
/// teardown cost (subtract from the above for the per-step cost).
#[divan::bench(args = [0, 100, 1000, 10000])]
fn pipe_ping_pong_0_idle_threads(bencher: divan::Bencher, idle: u32) {
    bencher.bench(|| ping_pong_with_idle(0, idle, false));
}

/// Kernel steps per second with the trace off: 1000 round trips = 4003 steps.
#[divan::bench]
fn pipe_ping_pong_1000_no_trace(bencher: divan::Bencher) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, 0, false));
}

/// The same with the data-race detector off (it is on by default): what its clocks cost
/// per step.
#[divan::bench]
fn pipe_ping_pong_1000_no_race_detection(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(4003u32))
        .bench(|| ping_pong_with(1000, 0, false, RaceDetection::Off));
}

/// The same with the full trace recorded.
#[divan::bench]
fn pipe_ping_pong_1000_traced(bencher: divan::Bencher) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, 0, true));
}

/// A seed sweep's unit of work: one run of a small scenario, trace off.
#[divan::bench(args = ["redirect-leaked-write-end", "lost-wakeup-pulse-event", "pipe-quota-arithmetic"])]
fn scenario_run(bencher: divan::Bencher, name: &str) {
    let s = scenarios::find(name).unwrap();
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        let mut c = Config::random(seed);
        c.trace = false;
        s.run(c)
    });
}

/// Scaling: the ping-pong beside 10 to 100,000 live handles (per ping-pong step; the
/// `_setup` bench below is the same program without the round trips).
#[divan::bench(args = [10, 1000, 100000])]
fn pipe_ping_pong_1000_live_handles(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::Handles(k)));
}

#[divan::bench(args = [10, 1000, 100000])]
fn pipe_ping_pong_0_live_handles(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::Handles(k)));
}

/// Scaling: the ping-pong beside 0 to 10,000 messages queued to the main thread.
#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_1000_queued_messages(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::Messages(k)));
}

#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_0_queued_messages(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::Messages(k)));
}

/// Scaling: the ping-pong beside 0 to 10,000 pending overlapped ReadFiles.
#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_1000_pending_reads(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::PendingReads(k)));
}

#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_0_pending_reads(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::PendingReads(k)));
}

/// Benchmark 3: a trivial two-thread run (CreateThread, the thread returns, the main
/// thread waits for it), setup and teardown included: a fresh `Sim` per run, as a user's
/// sweep makes them.
#[divan::bench]
fn trivial_two_thread_run(bencher: divan::Bencher) {
    bencher.bench(|| {
        let mut config = Config::random(1);
        config.trace = false;
        let mut sim = Sim::new(config);
        sim.program("t.exe", |ctx| async move {
            let t = ctx.create_thread(None, 0, |_ctx| async move { 0 }, 0, None).await;
            ctx.wait_for_single_object(t, INFINITE).await;
            0
        });
        sim.run("t.exe")
    });
}
