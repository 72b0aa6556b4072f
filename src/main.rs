//! The `winsim` command line: run a built-in scenario and show its trace and outcome.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::{Config, WaiterOrder};
use std::process::ExitCode;

/// winsim: a deterministic simulator of Windows IPC (pipes, handles, waits, processes).
#[derive(Parser)]
#[command(name = "winsim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the built-in scenarios.
    List,
    /// Runs one scenario once and prints its trace and outcome.
    Run {
        /// Scenario name (see `winsim list`).
        scenario: String,
        #[command(flatten)]
        sched: SchedArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit with status 2 unless the run completed (for scripts).
        #[arg(long)]
        strict: bool,
    },
    /// Runs a scenario over many seeds and counts the outcomes.
    Sweep {
        /// Scenario name.
        scenario: String,
        /// Number of seeds.
        #[arg(long, default_value_t = 1000)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 0)]
        start: u64,
        /// Worker threads (default: one per core). Each simulation stays single-threaded;
        /// the result does not depend on this number.
        #[arg(long)]
        jobs: Option<usize>,
        /// Exit with status 2 if any seed did not complete (for scripts and CI).
        #[arg(long)]
        strict: bool,
    },
}

#[derive(clap::Args)]
struct SchedArgs {
    /// Seed of the random scheduler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use round-robin scheduling instead of the seeded random scheduler.
    #[arg(long)]
    round_robin: bool,
    /// The first waiter wins when a signal can satisfy only some waiters.
    #[arg(long)]
    fifo: bool,
    /// Use PCT with this depth d (d - 1 priority change points), seeded by --seed.
    #[arg(long)]
    pct: Option<u32>,
    /// PCT's estimate k of the thread choices in a run.
    #[arg(long, default_value_t = 100)]
    pct_steps: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Narrated trace and report.
    Text,
    /// JSON lines: one trace event per line, then the report.
    Json,
}

impl SchedArgs {
    fn config(&self) -> Config {
        let mut c = match (self.round_robin, self.pct) {
            (true, _) => Config::round_robin(),
            (false, Some(d)) => Config::pct(self.seed, d, self.pct_steps),
            (false, None) => Config::random(self.seed),
        };
        if self.fifo {
            c.waiter_order = WaiterOrder::Fifo;
        }
        c
    }
}

fn find(name: &str) -> Result<scenarios::Scenario, ExitCode> {
    scenarios::find(name).ok_or_else(|| {
        eprintln!("winsim: no scenario named {name:?}; `winsim list` shows them");
        ExitCode::from(64)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            for s in scenarios::catalogue() {
                println!("{:<28} {}\n{:<28} expect: {}", s.name, s.summary, "", s.expect);
            }
            ExitCode::SUCCESS
        }
        Command::Run { scenario, sched, format, strict } => {
            let s = match find(&scenario) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let report = s.run(sched.config());
            match format {
                Format::Text => {
                    println!("scenario {}: {}\n", s.name, s.summary);
                    print!("{}", report.trace_text());
                    println!();
                    print!("{}", report.summary());
                    if let Some(seed) = report.seed {
                        println!("replay: winsim run {} --seed {seed}", s.name);
                    }
                }
                Format::Json => {
                    print!("{}", sim_core::trace::render_json_lines(&report.trace));
                    let summary = serde_json::json!({
                        "outcome": report.outcome,
                        "seed": report.seed,
                        "steps": report.steps,
                        "time_ms": report.time_ms,
                        "decisions": report.decisions,
                        "trace_dropped": report.trace_dropped,
                    });
                    println!("{summary}");
                }
            }
            // A deadlock is a result, not an error of the tool; --strict makes it one.
            let failed = !report.outcome.is_completed();
            if matches!(report.outcome, sim_core::Outcome::SimulatorBug { .. }) || (strict && failed) {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Sweep { scenario, seeds, start, jobs, strict } => {
            let s = match find(&scenario) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
            let kinds = sweep(&scenario, start, seeds, jobs);
            let mut counts: std::collections::BTreeMap<&'static str, u64> = Default::default();
            for k in &kinds {
                *counts.entry(k).or_default() += 1;
            }
            let first_failure = kinds.iter().position(|&k| k != "completed").map(|i| start + i as u64);
            println!("scenario {}: {seeds} seeds from {start}", s.name);
            for (kind, n) in &counts {
                println!("  {kind:<16} {n}");
            }
            if let Some(seed) = first_failure {
                println!("first seed that did not complete: {seed}\nreplay: winsim run {} --seed {seed}", s.name);
            }
            if kinds.contains(&"simulator-bug") || (strict && first_failure.is_some()) {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// Runs seeds `start..start+seeds` on `jobs` worker threads; returns each seed's outcome
/// kind in seed order. Seeds are dealt out in fixed stripes, and each run is independent
/// and single-threaded, so the result is the same for any number of workers.
fn sweep(scenario: &str, start: u64, seeds: u64, jobs: usize) -> Vec<&'static str> {
    let stripes: Vec<Vec<(u64, &'static str)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs as u64)
            .map(|w| {
                scope.spawn(move || {
                    let s = scenarios::find(scenario).expect("scenario exists");
                    let mut out = Vec::new();
                    let mut i = w;
                    while i < seeds {
                        let mut config = Config::random(start + i);
                        config.trace = false;
                        out.push((i, s.run(config).outcome.kind()));
                        i += jobs as u64;
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().expect("a sweep worker panicked")).collect()
    });
    let mut all: Vec<(u64, &'static str)> = stripes.into_iter().flatten().collect();
    all.sort_by_key(|&(i, _)| i);
    all.into_iter().map(|(_, k)| k).collect()
}
