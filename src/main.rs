//! The `winsim` command line: run a built-in scenario and show its trace and outcome.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::{Config, Outcome, WaiterOrder};
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
        let mut c = if self.round_robin { Config::round_robin() } else { Config::random(self.seed) };
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
        Command::Run { scenario, sched, format } => {
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
                    });
                    println!("{summary}");
                }
            }
            if report.outcome.is_completed() { ExitCode::SUCCESS } else { ExitCode::from(2) }
        }
        Command::Sweep { scenario, seeds, start } => {
            let s = match find(&scenario) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let mut counts: std::collections::BTreeMap<&'static str, u64> = Default::default();
            let mut first_failure = None;
            for seed in start..start.saturating_add(seeds) {
                let mut config = Config::random(seed);
                config.trace = false;
                let report = s.run(config);
                *counts.entry(report.outcome.kind()).or_default() += 1;
                if first_failure.is_none() && !matches!(report.outcome, Outcome::Completed { .. }) {
                    first_failure = Some(seed);
                }
            }
            println!("scenario {}: {seeds} seeds from {start}", s.name);
            for (kind, n) in &counts {
                println!("  {kind:<16} {n}");
            }
            match first_failure {
                Some(seed) => {
                    println!("first seed that did not complete: {seed}\nreplay: winsim run {} --seed {seed}", s.name);
                    ExitCode::from(2)
                }
                None => ExitCode::SUCCESS,
            }
        }
    }
}
