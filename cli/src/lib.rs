//! The `winsim` command line: run, sweep, explore, trace, explain, replay and shrink a
//! scenario (a built-in one, a scenario file, or one of your own) and show its trace and
//! outcome.
//!
//! Your own binary gets the same command line over your own scenarios:
//!
//! ```no_run
//! use winsim::prelude::*;
//! use winsim_cli::{Catalogue, CliScenario};
//!
//! fn main() -> std::process::ExitCode {
//!     let size = 4096; // install functions may capture anything Send + Sync
//!     let echo = CliScenario::new("my-echo", "server.exe", move |sim: &mut Sim| {
//!         sim.program("server.exe", move |ctx| async move {
//!             let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
//!             let _ = ctx.create_pipe(&mut r, &mut w, None, size).await;
//!             0
//!         });
//!     })
//!     .summary("my protocol's echo server")
//!     .expect(&["completed"]);
//!     winsim_cli::main(Catalogue::new().with(echo))
//! }
//! ```
//!
//! Exit codes: 0 the run ended as the scenario expects (for `explore` and `sweep`:
//! every run did); 1 an unexpected outcome (with `--strict`, anything but completion);
//! 2 bad input (usage errors, an unknown scenario, a malformed scenario file, a failure
//! file that cannot be read). Output to a closed pipe ends the command quietly.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::Sim;
use sim_core::explore::{self, Explore, Sweep};
use sim_core::{Config, StrategyConfig, WaiterOrder};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// `println!` that ends the process quietly when stdout is closed (`winsim run X | head`).
macro_rules! say {
    ($($arg:tt)*) => {
        if writeln!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

/// `print!` with the same closed-pipe rule.
macro_rules! say_raw {
    ($($arg:tt)*) => {
        if write!(std::io::stdout().lock(), $($arg)*).is_err() {
            std::process::exit(0);
        }
    };
}

const UNEXPECTED: u8 = 1;
const BAD_INPUT: u8 = 2;

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
    ///
    /// Example: `winsim run redirect-leaked-write-end --seed 3`, or a scenario file:
    /// `winsim run my-protocol.kdl --set nSize=8192`.
    Run {
        /// A scenario name (see `winsim list`) or a scenario file (docs/scenarios.md).
        scenario: String,
        /// Set a scenario file's parameter: `--set nSize=4097` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        sched: SchedArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit with status 1 unless the run completed (for scripts).
        #[arg(long)]
        strict: bool,
        /// Also write the run as one self-contained HTML page (timeline, wait-for graph,
        /// why each call blocked) to this file.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// Explores a scenario's schedules with a strategy: outcome counts, distinct
    /// schedules, and the first failure shrunk (docs/exploration.md).
    ///
    /// Example: `winsim explore lost-wakeup-pulse-event --strategy pct:2 --runs 500`.
    Explore {
        /// A scenario name or a scenario file.
        scenario: String,
        /// Set a scenario file's parameter (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// random, pct[:D[:K]], dfs[:B[:por]], dpor or rr.
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
        /// Run only shard I of N (`--shard 2/4`): random and PCT runs are split into N
        /// contiguous seed ranges, so N machines together make the same runs as one.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Write the shrunk failure to this failure file (`winsim run NAME --replay FILE`).
        #[arg(long)]
        save: Option<std::path::PathBuf>,
        /// Count every outcome but completion as a failure.
        #[arg(long)]
        strict: bool,
        /// Count distinct kernel states (a canonical hash of the kernel's state at every
        /// thread choice and at each run's end; slower per run).
        #[arg(long)]
        states: bool,
        /// Exhaustive search (dfs): do not explore again a choice whose state was
        /// explored (sound for deterministic bodies sharing state only through winsim
        /// objects; docs/exploration.md).
        #[arg(long)]
        prune_states: bool,
        /// Output format: text, or JSON lines (the counts, then the result with the
        /// first failure shrunk).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Draws one run: its trace as text or JSON lines, a Chrome trace-event file for
    /// Perfetto (ui.perfetto.dev), a Mermaid sequence diagram, or the deadlock's wait-for
    /// graph (Mermaid or Graphviz DOT).
    ///
    /// Example: `winsim trace redirect-leaked-write-end --format mermaid > run.mmd`, or
    /// `winsim trace pipe-both-write --format dot | dot -Tsvg > waits.svg`.
    Trace {
        /// A scenario name or a scenario file.
        scenario: String,
        /// Set a scenario file's parameter (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        sched: SchedArgs,
        /// What to draw.
        #[arg(long, value_enum, default_value_t = Picture::Text)]
        format: Picture,
    },
    /// Explains a run: for each call that blocked, what it waited for (with the buffer
    /// or queue occupancy then), when it returned and which call woke it.
    ///
    /// Example: `winsim explain named-pipe-echo --seed 0 --step 6`.
    Explain {
        /// A scenario name or a scenario file.
        scenario: String,
        /// Set a scenario file's parameter (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[command(flatten)]
        sched: SchedArgs,
        /// Only the calls at this kernel step (the `#N` column of the trace).
        #[arg(long)]
        step: Option<u64>,
    },
    /// Finds the smallest value of a scenario file's parameter at which its outcome
    /// changes, by bisection over sweeps (assuming one change in the range).
    ///
    /// Example: `winsim threshold pipe-both-write --param nSize --range 1..65536`
    /// prints "nSize 1..=8191: deadlock on every seed; from 8192: completed on every seed".
    Threshold {
        /// A scenario file (or a built-in one's name).
        scenario: String,
        /// Set other parameters (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The number parameter to vary.
        #[arg(long)]
        param: String,
        /// The range to search, `A..B` (both ends included).
        #[arg(long)]
        range: String,
        /// Seeds per value: a value's outcome is the set of outcome kinds over them.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// Worker threads (the result does not depend on it).
        #[arg(long)]
        jobs: Option<usize>,
        /// The data-race detector: stop (default), record or off (docs/semantics.md §25).
        #[arg(long, value_enum)]
        races: Option<Races>,
    },
    /// Replays the first failure of a failure file (`winsim explore --save FILE`) with
    /// its trace and report: the scenario and parameters come from the file.
    ///
    /// Example: `winsim replay failure.json`.
    Replay {
        /// The failure file.
        file: std::path::PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Shrinks the first failure of a failure file further (fewer preemptions, switches
    /// and decisions) and writes it back, or to --out.
    ///
    /// Example: `winsim shrink failure.json --out smaller.json`.
    Shrink {
        /// The failure file.
        file: std::path::PathBuf,
        /// Where to write the shrunk failure (default: over FILE).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Most replays the shrinker may try.
        #[arg(long, default_value_t = 500)]
        budget: u64,
    },
    /// Runs a scenario over many seeds and counts the outcomes.
    ///
    /// Example: `winsim sweep sync-handle-serialization --seeds 10000`.
    Sweep {
        /// A scenario name or a scenario file.
        scenario: String,
        /// Set a scenario file's parameter (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
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
        /// Exit with status 1 if any seed did not complete (for scripts and CI).
        #[arg(long)]
        strict: bool,
        /// The data-race detector: stop (default), record or off (docs/semantics.md §25).
        #[arg(long, value_enum)]
        races: Option<Races>,
        /// Output format: text, or JSON lines (the counts, each failing seed up to
        /// 1000, then the result with the first failure's report).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// The scheduler as `explore` names it: random, rr, or pct:D[:K] (seeded by --seed).
    #[arg(long)]
    strategy: Option<String>,
    /// The data-race detector (docs/semantics.md §25): stop (the default: the first race
    /// ends the run), record (races are listed, the run goes on), or off.
    #[arg(long, value_enum)]
    races: Option<Races>,
}

/// `Config::race_detection` for a `--races` flag.
fn race_detection(races: Option<Races>) -> sim_core::RaceDetection {
    match races {
        Some(Races::Stop) | None => sim_core::RaceDetection::Stop,
        Some(Races::Record) => sim_core::RaceDetection::Record,
        Some(Races::Off) => sim_core::RaceDetection::Off,
    }
}

/// The `--races` flag to repeat in a replay line.
fn races_flag(races: Option<Races>) -> &'static str {
    match races {
        Some(Races::Stop) | None => "",
        Some(Races::Record) => " --races record",
        Some(Races::Off) => " --races off",
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Races {
    /// The first data race ends the run (the default).
    Stop,
    /// Data races are recorded and the run goes on.
    Record,
    /// No race detection.
    Off,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Narrated trace and report.
    Text,
    /// JSON lines: one trace event per line, then the report.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Picture {
    /// The narrated trace.
    Text,
    /// JSON lines (docs/trace-format.md).
    Json,
    /// Chrome trace-event JSON: open it in ui.perfetto.dev or chrome://tracing.
    Chrome,
    /// A Mermaid sequence diagram of the run.
    Mermaid,
    /// The deadlock's wait-for graph as a Mermaid flowchart.
    MermaidGraph,
    /// The deadlock's wait-for graph in Graphviz DOT.
    Dot,
}

impl SchedArgs {
    /// A `--strategy` this command cannot use is bad input.
    fn check(&self) -> Result<(), ExitCode> {
        let Some(st) = self.strategy.as_deref() else { return Ok(()) };
        let ok = matches!(st, "random" | "rr" | "round-robin")
            || (st.starts_with("pct")
                && st.split(':').skip(1).all(|p| p.parse::<u64>().is_ok_and(|v| v > 0))
                && st.split(':').count() <= 3
                && (st == "pct" || st.starts_with("pct:")));
        if ok {
            Ok(())
        } else {
            eprintln!("winsim: --strategy {st:?}: a single run takes random, rr or pct:D[:K] (dfs is for explore)");
            Err(ExitCode::from(BAD_INPUT))
        }
    }

    fn config(&self) -> Config {
        let mut c = match self.strategy.as_deref().map(str::trim) {
            Some("random") | None => None,
            Some("rr" | "round-robin") => Some(Config::round_robin()),
            Some(pct) if pct.starts_with("pct") => {
                let mut parts = pct.split(':').skip(1).map(|p| p.parse::<u64>().ok());
                let depth = parts.next().flatten().unwrap_or(3) as u32;
                let steps = parts.next().flatten().unwrap_or(self.pct_steps);
                Some(Config::pct(self.seed, depth, steps))
            }
            Some(_) => None,
        }
        .unwrap_or_else(|| match (self.round_robin, self.pct) {
            (true, _) => Config::round_robin(),
            (false, Some(d)) => Config::pct(self.seed, d, self.pct_steps),
            (false, None) => Config::random(self.seed),
        });
        if self.fifo {
            c.waiter_order = WaiterOrder::Fifo;
        }
        c.race_detection = race_detection(self.races);
        c
    }
}

/// A scenario the command line can run: yours ([`CliScenario::new`]), a built-in one, or
/// a scenario file.
#[derive(Clone)]
pub struct CliScenario {
    name: String,
    summary: String,
    /// What the scenario says a run shows.
    expect: String,
    /// The outcome kinds that are as expected.
    expected: Vec<String>,
    main: String,
    install: Arc<dyn Fn(&mut Sim) + Send + Sync>,
}

type Target = CliScenario;

impl CliScenario {
    /// A scenario named `name` whose programs `install` registers and whose first
    /// process runs `main` (a command line). It is expected to complete; see
    /// [`CliScenario::expect`].
    pub fn new(name: &str, main: &str, install: impl Fn(&mut Sim) + Send + Sync + 'static) -> CliScenario {
        CliScenario {
            name: name.to_string(),
            summary: String::new(),
            expect: "completed".to_string(),
            expected: vec!["completed".to_string()],
            main: main.to_string(),
            install: Arc::new(install),
        }
    }

    /// Its one-line summary (`winsim list`).
    pub fn summary(mut self, summary: &str) -> CliScenario {
        self.summary = summary.to_string();
        self
    }

    /// The outcome kinds a run may end with and still be as expected (`completed`,
    /// `deadlock`, `failed`, ..., or `any`): they decide the exit status.
    pub fn expect(mut self, kinds: &[&str]) -> CliScenario {
        self.expected = kinds.iter().map(|k| k.to_string()).collect();
        self.expect = kinds.join(" or ");
        self
    }

    fn run(&self, config: Config) -> sim_core::RunReport {
        let mut sim = sim_core::Sim::new(config);
        (self.install)(&mut sim);
        sim.run_command_line(&self.main)
    }

    fn expects(&self, kind: &str, strict: bool) -> bool {
        if strict {
            return kind == "completed";
        }
        self.expected.iter().any(|k| k == kind || k == "any")
    }
}

/// Finds a scenario by catalogue name or file path and applies `--set`s; says what is
/// wrong on stderr otherwise.
fn resolve(cat: &Catalogue, name: &str, sets: &[String]) -> Result<Target, ExitCode> {
    let bad = |msg: String| {
        eprintln!("winsim: {msg}");
        ExitCode::from(BAD_INPUT)
    };
    if let Some(s) = cat.scenarios.iter().find(|s| s.name == name) {
        if let Some(first) = sets.first() {
            return Err(bad(format!("scenario {name} has no parameters (--set {first})")));
        }
        return Ok(s.clone());
    }
    if let Some(s) = scenarios::find(name).filter(|_| cat.builtin) {
        if let Some(first) = sets.first() {
            return Err(bad(format!("scenario {name} is built in Rust and has no parameters (--set {first})")));
        }
        let install = s.install;
        return Ok(Target {
            name: s.name.to_string(),
            summary: s.summary.to_string(),
            expect: s.expect.to_string(),
            expected: s.expected_kinds().iter().map(|k| k.to_string()).collect(),
            main: s.main.to_string(),
            install: Arc::new(move |sim: &mut sim_core::Sim| install(sim)),
        });
    }
    let file = match scenarios::find_file(name).filter(|_| cat.builtin) {
        Some(f) => (*f).clone(),
        None => {
            let path = std::path::Path::new(name);
            if !path.exists() && !name.ends_with(".kdl") {
                return Err(bad(format!("no scenario named {name:?}; `winsim list` shows them, or give a file path")));
            }
            scenarios::file::load(path).map_err(|e| bad(e.to_string()))?
        }
    };
    let mut file = file;
    for kv in sets {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(bad(format!("--set takes KEY=VALUE, not {kv:?}")));
        };
        file.set(k.trim(), v.trim()).map_err(bad)?;
    }
    let params: Vec<String> = file.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let file = Arc::new(file);
    let f = file.clone();
    Ok(Target {
        name: file.name.clone(),
        summary: if params.is_empty() {
            file.summary.clone()
        } else {
            format!("{} ({})", file.summary, params.join(", "))
        },
        expect: file.expect.join(" or "),
        expected: file.expect.clone(),
        main: file.main.clone(),
        install: Arc::new(move |sim: &mut sim_core::Sim| scenarios::interp::install(&f, sim)),
    })
}

/// The scenarios a command line offers: yours, and (with [`Catalogue::builtin`] or
/// [`Catalogue::with_builtin`]) winsim's built-in ones. Scenario files given by path
/// always run.
#[derive(Clone, Default)]
pub struct Catalogue {
    scenarios: Vec<CliScenario>,
    builtin: bool,
}

impl Catalogue {
    /// No scenarios yet (add yours with [`Catalogue::with`]).
    pub fn new() -> Catalogue {
        Catalogue::default()
    }

    /// winsim's built-in scenarios (what the `winsim` binary offers).
    pub fn builtin() -> Catalogue {
        Catalogue { scenarios: Vec::new(), builtin: true }
    }

    /// Adds a scenario; yours are found before built-in ones of the same name.
    pub fn with(mut self, s: CliScenario) -> Catalogue {
        self.scenarios.push(s);
        self
    }

    /// Offers the built-in scenarios too.
    pub fn with_builtin(mut self) -> Catalogue {
        self.builtin = true;
        self
    }
}

/// Runs the command line on the process's arguments over `catalogue`; returns the exit
/// status (module docs).
pub fn main(catalogue: Catalogue) -> ExitCode {
    run_with_args(std::env::args_os(), &catalogue)
}

/// Runs the command line on `args` (the first is the program name) over `catalogue`.
pub fn run_with_args<I, T>(args: I, catalogue: &Catalogue) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { BAD_INPUT } else { 0 });
        }
    };
    let cat = catalogue;
    match cli.command {
        Command::List => {
            for s in &cat.scenarios {
                say!("{:<28} {}\n{:<28} expect: {}", s.name, s.summary, "", s.expect);
            }
            if cat.builtin {
                for s in scenarios::catalogue() {
                    say!("{:<28} {}\n{:<28} expect: {}", s.name, s.summary, "", s.expect);
                }
                for f in scenarios::file_catalogue() {
                    say!("{:<28} {}\n{:<28} expect: {} (scenario file)", f.name, f.summary, "", f.expect.join(" or "));
                }
            }
            ExitCode::SUCCESS
        }
        Command::Run { scenario, set, sched, format, strict, html } => {
            let (s, report) = match one_run(cat, &scenario, &set, &sched) {
                Ok(x) => x,
                Err(code) => return code,
            };
            if let Some(path) = &html {
                let page = winsim::pictures::html(&report, &format!("winsim: {} ({})", s.name, s.summary));
                if let Err(e) = std::fs::write(path, page) {
                    eprintln!("winsim: {}: {e}", path.display());
                    return ExitCode::from(BAD_INPUT);
                }
            }
            match format {
                Format::Text => {
                    say!("scenario {}: {}\n", s.name, s.summary);
                    say_raw!("{}", report.trace_text());
                    say!();
                    say_raw!("{}", report.summary());
                    if !s.expects(report.outcome.kind(), strict) {
                        say!(
                            "unexpected outcome: {} (the scenario expects: {})",
                            report.outcome.kind(),
                            if strict { "completed, with --strict" } else { &s.expect }
                        );
                    }
                    if let (None, Some(seed)) = (&sched.replay, report.seed) {
                        say!(
                            "replay: winsim run {} {}{}",
                            scenario,
                            seed_flags(&report.config.strategy, seed),
                            set_flags(&set)
                        );
                    }
                }
                Format::Json => {
                    say_raw!("{}", sim_core::trace::render_json_lines(&report.trace));
                    let summary = serde_json::json!({
                        "type": "result",
                        "kind": report.outcome.kind(),
                        "report": report.summary(),
                        "outcome": report.outcome,
                        "seed": report.seed,
                        "steps": report.steps,
                        "time_ms": report.time_ms,
                        "decisions": report.decisions,
                        "trace_dropped": report.trace_dropped,
                        "expected": s.expects(report.outcome.kind(), strict),
                    });
                    say!("{summary}");
                }
            }
            // A deadlock the scenario expects is a result, not an error of the tool.
            if s.expects(report.outcome.kind(), strict) { ExitCode::SUCCESS } else { ExitCode::from(UNEXPECTED) }
        }
        Command::Explore {
            scenario,
            set,
            strategy,
            runs,
            seed,
            jobs,
            shard,
            save,
            strict,
            states,
            prune_states,
            format,
        } => {
            let text = matches!(format, Format::Text);
            let s = match resolve(cat, &scenario, &set) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let explore = match Explore::parse(&strategy) {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("winsim: {e}");
                    return ExitCode::from(BAD_INPUT);
                }
            };
            if runs == 0 {
                eprintln!("winsim: --runs 0 explores nothing");
                return ExitCode::from(BAD_INPUT);
            }
            let (seed, runs) = match shard.as_deref().map(|sh| sh.split_once('/')) {
                None => (seed, runs),
                Some(Some((i, n))) => match (i.trim().parse::<u64>(), n.trim().parse::<u64>()) {
                    (Ok(i), Ok(n))
                        if n > 0
                            && i >= 1
                            && i <= n
                            && !strategy.starts_with("dfs")
                            && !strategy.starts_with("dpor") =>
                    {
                        let from = runs * (i - 1) / n;
                        let to = runs * i / n;
                        (seed + from, to - from)
                    }
                    _ => {
                        eprintln!("winsim: --shard takes I/N with 1 <= I <= N, for random and PCT strategies");
                        return ExitCode::from(BAD_INPUT);
                    }
                },
                Some(None) => {
                    eprintln!("winsim: --shard takes I/N, not {:?}", shard.unwrap_or_default());
                    return ExitCode::from(BAD_INPUT);
                }
            };
            if runs == 0 {
                say!("scenario {}: this shard has no runs", s.name);
                return ExitCode::SUCCESS;
            }
            let setup = |sim: &mut sim_core::Sim| (s.install)(sim);
            let bar = progress_bar(runs);
            let tick = || tick_batched(&bar);
            let sweep = Sweep {
                runs,
                seed,
                jobs: jobs.max(1),
                progress: Some(&tick),
                states,
                prune_states,
                ..Sweep::new(explore.clone())
            };
            let e = explore::sweep(&sweep, &s.main, &setup);
            bar.finish_and_clear();
            let bound = match (e.exhausted, e.exhausted_bound) {
                (true, _) => ", every schedule explored".to_string(),
                (false, Some(b)) => format!(", every schedule with at most {b} preemptions explored"),
                _ => String::new(),
            };
            let counts: std::collections::BTreeMap<&str, u64> =
                e.outcomes.iter().map(|(k, n)| (k.as_str(), *n)).collect();
            if text {
                let distinct_states = match e.states {
                    Some(n) => format!(", {n} distinct states"),
                    None => String::new(),
                };
                let pruned = match e.pruned {
                    0 => String::new(),
                    n => format!(", {n} pruned"),
                };
                say!(
                    "scenario {}: strategy {}, {} runs, {} distinct schedules{distinct_states}{pruned}{bound}",
                    s.name,
                    explore.name(),
                    e.runs,
                    e.schedules
                );
                for (kind, n) in &counts {
                    say!("  {kind:<16} {n}");
                }
            } else {
                say!(
                    "{}",
                    serde_json::json!({
                        "type": "explore", "scenario": s.name, "strategy": explore.name(), "runs": e.runs,
                        "schedules": e.schedules, "exhausted": e.exhausted, "exhausted_bound": e.exhausted_bound,
                        "counts": counts, "states": e.states, "pruned": e.pruned,
                    })
                );
            }
            let unexpected = e.outcomes.iter().any(|(kind, _)| !s.expects(kind, strict));
            let Some(f) = e.failure else {
                if !text {
                    say!("{}", serde_json::json!({"type": "result", "expected": !unexpected, "first_failure": null}));
                }
                return if unexpected { ExitCode::from(UNEXPECTED) } else { ExitCode::SUCCESS };
            };
            let r = explore::shrink(&setup, &s.main, &Config::default(), &f.report, None, 200);
            let show = |z: explore::Size| {
                format!(
                    "{} preemptions, {} switches, {} steps, {} decisions",
                    z.preemptions, z.switches, z.steps, z.decisions
                )
            };
            let found = match f.report.config.strategy {
                StrategyConfig::Random { seed } | StrategyConfig::Pct { seed, .. } => Some(format!(
                    "winsim run {scenario} {}{}",
                    seed_flags(&f.report.config.strategy, seed),
                    set_flags(&set)
                )),
                _ => None,
            };
            if text {
                say!("first failure: run {} ({}): {}", f.run, f.kind, f.report.summary().lines().next().unwrap_or(""));
                say!("shrunk from {} to {}", show(r.before), show(r.after));
                if let Some(cmd) = &found {
                    say!("the run as found: {cmd}");
                }
            } else {
                say!(
                    "{}",
                    serde_json::json!({
                        "type": "result",
                        "expected": false,
                        "first_failure": {
                            "run": f.run, "kind": f.kind, "outcome": r.report.outcome, "report": r.report.summary(),
                            "size_found": show(r.before), "size": show(r.after), "replay": found,
                        },
                    })
                );
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
                    program: s.main.clone(),
                    failures: vec![record],
                    scenario: Some(scenario.clone()),
                    set: set.clone(),
                };
                if let Err(e) = file.save(&path) {
                    eprintln!("winsim: {e}");
                    return ExitCode::from(BAD_INPUT);
                }
                if text {
                    say!("saved: {}\nreplay: winsim replay {}", path.display(), path.display());
                }
            }
            // A failure is what explore looks for: finding one is exit status 1.
            ExitCode::from(UNEXPECTED)
        }
        Command::Trace { scenario, set, sched, format } => {
            let (s, report) = match one_run(cat, &scenario, &set, &sched) {
                Ok(x) => x,
                Err(code) => return code,
            };
            match format {
                Picture::Text => say_raw!("{}", report.trace_text()),
                Picture::Json => say_raw!("{}", sim_core::trace::render_json_lines(&report.trace)),
                Picture::Chrome => say!("{}", winsim::pictures::chrome_trace(&report)),
                Picture::Mermaid => say_raw!("{}", winsim::pictures::mermaid_sequence(&report)),
                Picture::MermaidGraph | Picture::Dot => match report.outcome.deadlock() {
                    Some(d) if matches!(format, Picture::Dot) => say_raw!("{}", winsim::pictures::dot_wait_for(d)),
                    Some(d) => say_raw!("{}", winsim::pictures::mermaid_wait_for(d)),
                    None => {
                        eprintln!(
                            "winsim: the run ended {}, not in a deadlock: there is no wait-for graph to draw",
                            report.outcome.kind()
                        );
                        return ExitCode::from(UNEXPECTED);
                    }
                },
            }
            if s.expects(report.outcome.kind(), false) { ExitCode::SUCCESS } else { ExitCode::from(UNEXPECTED) }
        }
        Command::Explain { scenario, set, sched, step } => {
            let (s, report) = match one_run(cat, &scenario, &set, &sched) {
                Ok(x) => x,
                Err(code) => return code,
            };
            say!("scenario {}: {}\n", s.name, s.summary);
            say_raw!("{}", winsim::pictures::explain(&report, step));
            say!("\n{}", report.summary().lines().next().unwrap_or(""));
            if s.expects(report.outcome.kind(), false) { ExitCode::SUCCESS } else { ExitCode::from(UNEXPECTED) }
        }
        Command::Replay { file, format } => {
            let (s, saved, report) = match failure_target(cat, &file) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let failure = &saved.failures[0];
            match format {
                Format::Text => {
                    say!("scenario {}: {}", s.name, s.summary);
                    say!(
                        "replaying {} ({} run {}, {} decisions)\n",
                        file.display(),
                        failure.strategy,
                        failure.run,
                        failure.decisions.len()
                    );
                    say_raw!("{}", report.trace_text());
                    say!();
                    say_raw!("{}", report.summary());
                }
                Format::Json => {
                    say_raw!("{}", sim_core::trace::render_json_lines(&report.trace));
                    say!(
                        "{}",
                        serde_json::json!({"type": "result", "kind": report.outcome.kind(), "report": report.summary(), "outcome": report.outcome})
                    );
                }
            }
            // The replay shows the failure again: that is what was expected of it.
            if report.outcome.kind() == failure.kind { ExitCode::SUCCESS } else { ExitCode::from(UNEXPECTED) }
        }
        Command::Shrink { file, out, budget } => {
            let (s, mut saved, report) = match failure_target(cat, &file) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let failure = saved.failures[0].clone();
            if report.outcome.kind() != failure.kind {
                eprintln!(
                    "winsim: the failure no longer reproduces: the replay ended {}, the file says {}",
                    report.outcome.kind(),
                    failure.kind
                );
                return ExitCode::from(UNEXPECTED);
            }
            let setup = |sim: &mut sim_core::Sim| (s.install)(sim);
            let r = explore::shrink(&setup, &s.main, &Config::default(), &report, None, budget);
            let record = &mut saved.failures[0];
            record.decisions = r.report.decisions.clone();
            record.outcome = r.report.outcome.clone();
            record.size = r.after;
            let target = out.unwrap_or(file);
            if let Err(e) = saved.save(&target) {
                eprintln!("winsim: {e}");
                return ExitCode::from(BAD_INPUT);
            }
            let show = |z: explore::Size| {
                format!(
                    "{} preemptions, {} switches, {} steps, {} decisions",
                    z.preemptions, z.switches, z.steps, z.decisions
                )
            };
            say!("shrunk from {} to {}\nsaved: {}", show(r.before), show(r.after), target.display());
            ExitCode::SUCCESS
        }
        Command::Threshold { scenario, set, param, range, seeds, jobs, races } => {
            let bad = |msg: String| {
                eprintln!("winsim: {msg}");
                ExitCode::from(BAD_INPUT)
            };
            let Some((a, b)) = range.split_once("..") else {
                return bad(format!("--range takes A..B, not {range:?}"));
            };
            let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().trim_start_matches('=').parse::<i64>()) else {
                return bad(format!("--range takes two integers, A..B, not {range:?}"));
            };
            if a >= b || seeds == 0 {
                return bad(format!("--range {range} must have A < B, and --seeds must be positive"));
            }
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
            let outcome_at = |v: i64| -> Result<(Vec<&'static str>, String), ExitCode> {
                let mut sets = set.clone();
                sets.push(format!("{param}={v}"));
                let t = resolve(cat, &scenario, &sets)?;
                let stats = sweep(&t, 0, seeds, jobs, false, races);
                let kinds: Vec<&'static str> = stats.counts.keys().copied().collect();
                let words = if stats.counts.len() == 1 {
                    format!("{} on every seed", kinds[0])
                } else {
                    stats.counts.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
                        + &format!(" of {seeds} seeds")
                };
                Ok((kinds, words))
            };
            let (first, first_words) = match outcome_at(a) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let (last, last_words) = match outcome_at(b) {
                Ok(x) => x,
                Err(code) => return code,
            };
            if first == last {
                say!("{param} {a}..={b}: {first_words} at both ends; no change found");
                return ExitCode::SUCCESS;
            }
            let (mut lo, mut hi, mut hi_words) = (a, b, last_words);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                match outcome_at(mid) {
                    Ok((k, _)) if k == first => lo = mid,
                    Ok((_, w)) => (hi, hi_words) = (mid, w),
                    Err(code) => return code,
                }
            }
            say!("{param} {a}..={lo}: {first_words}; from {hi}: {hi_words}");
            ExitCode::SUCCESS
        }
        Command::Sweep { scenario, set, seeds, start, jobs, strict, format, races } => {
            let s = match resolve(cat, &scenario, &set) {
                Ok(s) => s,
                Err(code) => return code,
            };
            if seeds == 0 {
                eprintln!("winsim: --seeds 0 sweeps nothing");
                return ExitCode::from(BAD_INPUT);
            }
            if start.checked_add(seeds).is_none() {
                eprintln!("winsim: --start {start} plus --seeds {seeds} is past the last seed (2^64 - 1)");
                return ExitCode::from(BAD_INPUT);
            }
            let jobs =
                jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
            let stats = sweep(&s, start, seeds, jobs, strict, races);
            let first = stats.failing.first().copied();
            match format {
                Format::Text => {
                    say!("scenario {}: {seeds} seeds from {start}", s.name);
                    for (kind, n) in &stats.counts {
                        say!("  {kind:<16} {n}");
                    }
                    if let Some((seed, _)) = first {
                        say!(
                            "first seed that did not complete: {seed}\nreplay: winsim run {scenario} --seed {seed}{}{}",
                            set_flags(&set),
                            races_flag(races)
                        );
                    }
                }
                Format::Json => {
                    say!(
                        "{}",
                        serde_json::json!({"type": "sweep", "scenario": s.name, "seeds": seeds, "start": start, "counts": stats.counts})
                    );
                    for (seed, kind) in &stats.failing {
                        say!("{}", serde_json::json!({"type": "failure", "seed": seed, "kind": kind}));
                    }
                    let failures = seeds - stats.counts.get("completed").copied().unwrap_or(0);
                    let first_report = first.map(|(seed, kind)| {
                        let r = s.run(Config { race_detection: race_detection(races), ..Config::random(seed) });
                        serde_json::json!({
                            "seed": seed,
                            "kind": kind,
                            "outcome": r.outcome,
                            "report": r.summary(),
                            "replay": format!("winsim run {scenario} --seed {seed}{}{}", set_flags(&set), races_flag(races)),
                        })
                    });
                    say!(
                        "{}",
                        serde_json::json!({
                            "type": "result",
                            "expected": stats.all_expected,
                            "failures": failures,
                            "failures_listed": stats.failing.len(),
                            "first_failure": first_report,
                        })
                    );
                }
            }
            if stats.all_expected { ExitCode::SUCCESS } else { ExitCode::from(UNEXPECTED) }
        }
    }
}

/// One run of a scenario for `run`, `trace` and `explain`: by the scheduler the flags
/// name, or replaying a failure file (`--replay`).
fn one_run(
    cat: &Catalogue,
    scenario: &str,
    set: &[String],
    sched: &SchedArgs,
) -> Result<(Target, sim_core::RunReport), ExitCode> {
    sched.check()?;
    let s = resolve(cat, scenario, set)?;
    let report = match &sched.replay {
        None => s.run(sched.config()),
        Some(path) => replay_file(&s, path).map_err(|e| {
            eprintln!("winsim: {e}");
            ExitCode::from(BAD_INPUT)
        })?,
    };
    Ok((s, report))
}

/// The scenario a failure file names, the file, and the replay of its first failure.
fn failure_target(
    cat: &Catalogue,
    path: &std::path::Path,
) -> Result<(Target, winsim::FailureFile, sim_core::RunReport), ExitCode> {
    let bad = |msg: String| {
        eprintln!("winsim: {msg}");
        ExitCode::from(BAD_INPUT)
    };
    let file = winsim::FailureFile::load(path).map_err(bad)?;
    let Some(first) = file.failures.first() else {
        return Err(bad(format!("{}: no failures in the file", path.display())));
    };
    let name = match (&file.scenario, file.test.strip_prefix("scenario ")) {
        (Some(s), _) => s.clone(),
        (None, Some(name)) => name.to_string(),
        (None, None) => {
            return Err(bad(format!(
                "{}: saved by the test {:?}, not by the CLI; replay it with that test (WINSIM_REPLAY) or `winsim run SCENARIO --replay FILE`",
                path.display(),
                file.test
            )));
        }
    };
    let s = resolve(cat, &name, &file.set)?;
    let report = replay_record(&s, first);
    Ok((s, file, report))
}

/// The `--set` flags of a command, to repeat in the replay line it prints.
fn set_flags(set: &[String]) -> String {
    set.iter().map(|kv| format!(" --set {kv}")).collect()
}

/// The `winsim run` flags that rerun a random or PCT run.
fn seed_flags(strategy: &StrategyConfig, seed: u64) -> String {
    match strategy {
        StrategyConfig::Pct { depth, steps, .. } => format!("--seed {seed} --pct {depth} --pct-steps {steps}"),
        _ => format!("--seed {seed}"),
    }
}

/// Replays the first failure of a failure file on a scenario, leniently, trace on.
fn replay_file(s: &Target, path: &std::path::Path) -> Result<sim_core::RunReport, String> {
    let file = winsim::FailureFile::load(path)?;
    let f = file.failures.first().ok_or_else(|| format!("{}: no failures in the file", path.display()))?;
    Ok(replay_record(s, f))
}

/// Replays one failure record leniently, trace on.
fn replay_record(s: &Target, f: &winsim::FailureRecord) -> sim_core::RunReport {
    let mut config = f.config.with_replay(f.decisions.clone());
    config.trace = true;
    let setup = |sim: &mut sim_core::Sim| (s.install)(sim);
    let (mut report, _) =
        explore::run_with(&setup, &s.main, config.clone(), Box::new(explore::Lenient::new(f.decisions.clone())));
    report.config = config.with_replay(report.decisions.clone());
    report
}

/// How many failing seeds a sweep lists (the smallest ones); the counts cover all.
const SWEEP_LISTED: usize = 1000;

/// What a sweep found, in memory independent of the number of seeds.
#[derive(Default)]
struct SweepStats {
    /// Runs per outcome kind.
    counts: std::collections::BTreeMap<&'static str, u64>,
    /// The smallest failing seeds (not completed), up to [`SWEEP_LISTED`], in order.
    failing: Vec<(u64, &'static str)>,
    /// Whether every run ended as the scenario expects.
    all_expected: bool,
}

impl SweepStats {
    fn add_failing(&mut self, seed: u64, kind: &'static str) {
        self.failing.push((seed, kind));
        if self.failing.len() > 2 * SWEEP_LISTED {
            self.failing.sort_unstable();
            self.failing.truncate(SWEEP_LISTED);
        }
    }

    fn merge(mut self, other: SweepStats) -> SweepStats {
        for (k, n) in other.counts {
            *self.counts.entry(k).or_default() += n;
        }
        self.failing.extend(other.failing);
        self.failing.sort_unstable();
        self.failing.truncate(SWEEP_LISTED);
        self.all_expected &= other.all_expected;
        self
    }
}

/// Runs seeds `start..start+seeds` on `jobs` worker threads. Seeds are dealt out in
/// fixed stripes, each run is independent and single-threaded, and the merge sorts, so
/// the result is the same for any number of workers; memory does not grow with `seeds`.
fn sweep(s: &Target, start: u64, seeds: u64, jobs: usize, strict: bool, races: Option<Races>) -> SweepStats {
    let bar = progress_bar(seeds);
    let bar = &bar;
    let stats: Vec<SweepStats> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs as u64)
            .map(|w| {
                scope.spawn(move || {
                    let mut out = SweepStats { all_expected: true, ..SweepStats::default() };
                    let mut i = w;
                    while i < seeds {
                        let mut config = Config::random(start + i);
                        config.trace = false;
                        config.race_detection = race_detection(races);
                        // Only the outcome is kept: the decisions as the one-byte schedule.
                        config.decision_record = sim_core::DecisionRecord::Schedule;
                        let kind = s.run(config).outcome.kind();
                        *out.counts.entry(kind).or_default() += 1;
                        if kind != "completed" {
                            out.add_failing(start + i, kind);
                        }
                        out.all_expected &= s.expects(kind, strict);
                        tick_batched(bar);
                        i += jobs as u64;
                    }
                    out
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().expect("a sweep worker panicked")).collect()
    });
    bar.finish_and_clear();
    stats.into_iter().fold(SweepStats { all_expected: true, ..SweepStats::default() }, SweepStats::merge)
}

/// Runs a worker counts before it moves the progress bar. Moving it takes the time
/// (`Instant::now`) and an atomic add on a counter every worker writes: once a run, with
/// runs of 2-4 µs, two workers wrote that line in turn at every run (issue 13: the two-
/// worker speed-up; docs/performance.md, twenty-third session).
const PROGRESS_BATCH: u64 = 64;

thread_local! {
    /// `tick_batched`'s runs not yet on the bar, on this worker thread.
    static UNREPORTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// One run done, for a progress bar moved every `PROGRESS_BATCH` runs of this thread (a
/// sweep's worker, or the exploration's progress hook, called from whichever worker ran
/// the run). What is left under a batch at the end is not shown: the bar is cleared then.
fn tick_batched(bar: &indicatif::ProgressBar) {
    UNREPORTED.with(|n| {
        let runs = n.get() + 1;
        if runs == PROGRESS_BATCH {
            bar.inc(runs);
            n.set(0);
        } else {
            n.set(runs);
        }
    });
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
