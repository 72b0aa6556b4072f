//! Benchmarks 2 and 3 measured in pairs: winsim's runs and shuttle's random scheduler's on
//! the same protocol, timed in alternating blocks, so that the machine's drift (a shared
//! VM's speed can change by half between one second and the next) weighs on both sides
//! alike. `peers.rs` (divan) runs each benchmark's samples one after the other, so a
//! ratio of its results also measures how the machine changed in between.
//!
//! Run: `cargo bench --manifest-path peers/Cargo.toml --bench paired` (environment:
//! `PAIRED_BLOCKS`, blocks a case, default 200; `PAIRED_MS`, each side's time a block,
//! default 2 ms). Results: docs/performance.md.
//!
//! For each case, a block runs one side's runs, then the other's (the side that goes
//! first alternates from block to block), each side for about `PAIRED_MS` (its run
//! count is set once, from a first timed run); each run takes the next seed of its side,
//! as in `peers.rs`. Printed, per case: each side's mean time a run over all blocks, the
//! ratio of those means (the ratio of runs per second: the measure), and the
//! median and quartiles of the blocks' own ratios (how much the pairing still varies).
//! winsim records its decisions as `Sim::run` does by default (`DecisionRecord::Full`),
//! with the trace off.
#![forbid(unsafe_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};
use winsim::prelude::*;

#[path = "../../benches/common/protocols.rs"]
mod protocols;
#[path = "common/shuttle_pc.rs"]
mod shuttle_pc;

/// One side of a case: a run with a given seed.
type Side = Box<dyn Fn(u64)>;

fn untraced(seed: u64) -> Config {
    let mut config = Config::random(seed);
    config.trace = false;
    config.decision_record = DecisionRecord::Full;
    config
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Runs of `side` that take about `budget` (at least one), from one timed run after a
/// warm-up run.
fn runs_for(side: &Side, budget: Duration) -> u64 {
    side(u64::MAX);
    let start = Instant::now();
    side(u64::MAX - 1);
    let one = start.elapsed().max(Duration::from_nanos(1));
    (budget.as_nanos() / one.as_nanos()).max(1) as u64
}

/// `runs` runs of `side` from seed `*seed` on: their time.
fn time_block(side: &Side, runs: u64, seed: &mut u64) -> Duration {
    let start = Instant::now();
    for _ in 0..runs {
        *seed += 1;
        side(black_box(*seed));
    }
    start.elapsed()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at]
}

fn main() {
    // `cargo bench` passes `--bench`; a name given on the command line filters the cases.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let blocks = env_number("PAIRED_BLOCKS", 200).max(1);
    let budget = Duration::from_millis(env_number("PAIRED_MS", 2).max(1));
    let mut cases: Vec<(String, Side, Side)> = Vec::new();
    for n in [16u32, 32, 256] {
        cases.push((
            format!("pipe/{n}"),
            Box::new(move |seed| drop(black_box(protocols::pipe_pc(n, untraced(seed))))),
            Box::new(move |seed| shuttle_pc::shuttle_random(n, seed)),
        ));
        cases.push((
            format!("mutex_events/{n}"),
            Box::new(move |seed| drop(black_box(protocols::mutex_events(n, untraced(seed))))),
            Box::new(move |seed| shuttle_pc::shuttle_random(n, seed)),
        ));
    }
    cases.push((
        "trivial".into(),
        Box::new(|seed| drop(black_box(protocols::trivial(untraced(seed))))),
        Box::new(shuttle_pc::shuttle_trivial),
    ));
    println!(
        "{blocks} blocks a case, about {} ms a side a block; times are a run's mean over all blocks",
        budget.as_millis()
    );
    println!("{:<16} {:>12} {:>12} {:>8} {:>24}", "case", "winsim", "shuttle", "ratio", "blocks' ratios q1/med/q3");
    for (name, winsim, shuttle) in &cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let (wn, sn) = (runs_for(winsim, budget), runs_for(shuttle, budget));
        let (mut wseed, mut sseed) = (0u64, 0u64);
        let (mut wtotal, mut stotal) = (Duration::ZERO, Duration::ZERO);
        let mut ratios = Vec::with_capacity(blocks as usize);
        for b in 0..blocks {
            let (w, s) = if b % 2 == 0 {
                let w = time_block(winsim, wn, &mut wseed);
                (w, time_block(shuttle, sn, &mut sseed))
            } else {
                let s = time_block(shuttle, sn, &mut sseed);
                (time_block(winsim, wn, &mut wseed), s)
            };
            wtotal += w;
            stotal += s;
            // This block's ratio of runs per second.
            ratios.push((s.as_secs_f64() / sn as f64) / (w.as_secs_f64() / wn as f64));
        }
        ratios.sort_by(f64::total_cmp);
        let wmean = wtotal.as_secs_f64() / (wn * blocks) as f64;
        let smean = stotal.as_secs_f64() / (sn * blocks) as f64;
        println!(
            "{name:<16} {:>9.2} µs {:>9.2} µs {:>7.2}x {:>7.2} / {:.2} / {:.2}",
            wmean * 1e6,
            smean * 1e6,
            smean / wmean,
            quantile(&ratios, 0.25),
            quantile(&ratios, 0.5),
            quantile(&ratios, 0.75),
        );
    }
}
