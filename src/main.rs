//! The `winsim` command line: run a built-in scenario and show its trace and outcome.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::explore::{self, Explore, Sweep};
use sim_core::{Config, StrategyConfig, WaiterOrder};
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
    /// Explores a scenario's schedules with a strategy: outcome counts, distinct
    /// schedules, and the first failure shrunk (docs/exploration.md).
    Explore {
        /// Scenario name.
        scenario: String,
        /// random, pct[:D[:K]], dfs[:B[:por]] or rr.
        #[arg(long, default_value = "random")]
        strategy: String,
        /// Most runs.
        #[arg(long, default_value_t = 1000)]
        runs: u64,
        /// First seed (random and PCT).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Worker threads for random and PCT (the result does not depend on it).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Write the shrunk failure to this failure file (`winsim run NAME --replay FILE`).
        #[arg(long)]
        save: Option<std::path::PathBuf>,
        /// Exit with status 2 if a run failed.
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
    /// Replay the first failure of a failure file (`winsim explore --save`, or a test's
    /// winsim-regressions/*.json), as far as it fits the program.
    #[arg(long)]
    replay: Option<std::path::PathBuf>,
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
            let report = match &sched.replay {
                None => s.run(sched.config()),
                Some(path) => match replay_file(&s, path) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("winsim: {e}");
                        return ExitCode::from(66);
                    }
                },
            };
            match format {
                Format::Text => {
                    println!("scenario {}: {}\n", s.name, s.summary);
                    print!("{}", report.trace_text());
                    println!();
                    print!("{}", report.summary());
                    if let (None, Some(seed)) = (&sched.replay, report.seed) {
                        println!("replay: winsim run {} {}", s.name, seed_flags(&report.config.strategy, seed));
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
        Command::Explore { scenario, strategy, runs, seed, jobs, save, strict } => {
            let s = match find(&scenario) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let explore = match Explore::parse(&strategy) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("winsim: {e}");
                    return ExitCode::from(64);
                }
            };
            let setup = |sim: &mut sim_core::Sim| (s.install)(sim);
            let bar = progress_bar(runs);
            let tick = || bar.inc(1);
            let sweep = Sweep { runs, seed, jobs: jobs.max(1), progress: Some(&tick), ..Sweep::new(explore.clone()) };
            let e = explore::sweep(&sweep, s.main, &setup);
            bar.finish_and_clear();
            let bound = match (e.exhausted, e.exhausted_bound) {
                (true, _) => ", every schedule explored".to_string(),
                (false, Some(b)) => format!(", every schedule with at most {b} preemptions explored"),
                _ => String::new(),
            };
            println!(
                "scenario {}: strategy {}, {} runs, {} distinct schedules{bound}",
                s.name,
                explore.name(),
                e.runs,
                e.schedules
            );
            for (kind, n) in &e.outcomes {
                println!("  {kind:<16} {n}");
            }
            let Some(f) = e.failure else { return ExitCode::SUCCESS };
            let r = explore::shrink(&setup, s.main, &Config::default(), &f.report, None, 200);
            let show = |z: explore::Size| {
                format!(
                    "{} preemptions, {} switches, {} steps, {} decisions",
                    z.preemptions, z.switches, z.steps, z.decisions
                )
            };
            println!("first failure: run {} ({}): {}", f.run, f.kind, f.report.summary().lines().next().unwrap_or(""));
            println!("shrunk from {} to {}", show(r.before), show(r.after));
            if let StrategyConfig::Random { seed } | StrategyConfig::Pct { seed, .. } = f.report.config.strategy {
                println!("the run as found: winsim run {} {}", s.name, seed_flags(&f.report.config.strategy, seed));
            }
            if let Some(path) = save {
                let record = winsim::FailureRecord {
                    strategy: explore.name(),
                    run: f.run,
                    seed: f.report.config.seed(),
                    config: f.report.config.clone(),
                    decisions: r.report.decisions.clone(),
                    outcome: r.report.outcome.clone(),
                    kind: f.kind.clone(),
                    size_found: r.before,
                    size: r.after,
                };
                let file = winsim::FailureFile {
                    format: 1,
                    test: format!("scenario {}", s.name),
                    program: s.main.to_string(),
                    failures: vec![record],
                };
                if let Err(e) = file.save(&path) {
                    eprintln!("winsim: {e}");
                    return ExitCode::from(73);
                }
                println!("saved: {}\nreplay: winsim run {} --replay {}", path.display(), s.name, path.display());
            }
            if strict || f.kind == "simulator-bug" { ExitCode::from(2) } else { ExitCode::SUCCESS }
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

/// The `winsim run` flags that rerun a random or PCT run.
fn seed_flags(strategy: &StrategyConfig, seed: u64) -> String {
    match strategy {
        StrategyConfig::Pct { depth, steps, .. } => format!("--seed {seed} --pct {depth} --pct-steps {steps}"),
        _ => format!("--seed {seed}"),
    }
}

/// Replays the first failure of a failure file on a scenario, leniently, trace on.
fn replay_file(s: &scenarios::Scenario, path: &std::path::Path) -> Result<sim_core::RunReport, String> {
    let file = winsim::FailureFile::load(path)?;
    let f = file.failures.first().ok_or_else(|| format!("{}: no failures in the file", path.display()))?;
    let mut config = f.config.with_replay(f.decisions.clone());
    config.trace = true;
    let setup = |sim: &mut sim_core::Sim| (s.install)(sim);
    let (mut report, _) =
        explore::run_with(&setup, s.main, config.clone(), Box::new(explore::Lenient::new(f.decisions.clone())));
    report.config = config.with_replay(report.decisions.clone());
    Ok(report)
}

/// Runs seeds `start..start+seeds` on `jobs` worker threads; returns each seed's outcome
/// kind in seed order. Seeds are dealt out in fixed stripes, and each run is independent
/// and single-threaded, so the result is the same for any number of workers.
fn sweep(scenario: &str, start: u64, seeds: u64, jobs: usize) -> Vec<&'static str> {
    let bar = progress_bar(seeds);
    let bar = &bar;
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
                        bar.inc(1);
                        i += jobs as u64;
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().expect("a sweep worker panicked")).collect()
    });
    bar.finish_and_clear();
    let mut all: Vec<(u64, &'static str)> = stripes.into_iter().flatten().collect();
    all.sort_by_key(|&(i, _)| i);
    all.into_iter().map(|(_, k)| k).collect()
}

/// A progress line on stderr for a long sweep: drawn only when stderr is a terminal
/// (indicatif hides it otherwise), so piped and CI output stay clean.
fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} runs [{bar:30}] {per_sec}, {eta} left")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
