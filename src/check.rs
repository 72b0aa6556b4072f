//! `winsim::check`: explore a program's schedules inside a user's own test.
//!
//! ```no_run
//! use winsim::prelude::*;
//! winsim::Check::new("two_writers").runs(500).run("main.exe", |sim| {
//!     sim.program("main.exe", |ctx| async move {
//!         // ... create threads, pipes, events; assert what must hold ...
//!         0
//!     });
//! });
//! ```
//!
//! A sweep runs with the trace off. On the first failing run it shrinks the decision
//! list, replays the result with the trace on, writes a *failure file* (JSON: test and
//! program, strategy, seed, config, decisions, outcome, sizes before and after shrinking)
//! to the failure folder, and panics with the outcome, the seed, the file's path and the
//! way to replay it. The next time the same test runs, the failures in its file are
//! replayed first. `docs/exploration.md` documents all of it.
//!
//! Environment: `WINSIM_RUNS` (runs), `WINSIM_STRATEGY` (`random`, `pct[:D[:K]]`,
//! `dfs[:B[:por]]`, `rr`), `WINSIM_SEED` (first seed), `WINSIM_JOBS` (worker threads; the
//! result does not depend on it), `WINSIM_REPLAY=path` (replay that failure file with the
//! trace on instead of sweeping).

use serde::{Deserialize, Serialize};
use sim_core::explore::{self, Exploration, Explore, Property, Size, Sweep};
use sim_core::{Config, Decision, Outcome, RunReport, Sim, StrategyConfig};
use std::path::{Path, PathBuf};

/// The folder failure files go to by default, under the crate being tested.
pub const FAILURE_DIR: &str = "winsim-regressions";

/// One failing run, as stored in a failure file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The strategy of the sweep (`Explore::name`).
    pub strategy: String,
    /// The run's index in its sweep.
    pub run: u64,
    /// The run's seed (random and PCT).
    pub seed: Option<u64>,
    /// The run's configuration (its strategy as it ran, its limits).
    pub config: Config,
    /// The decisions that reproduce it (shrunk).
    pub decisions: Vec<Decision>,
    /// What it ended with.
    pub outcome: Outcome,
    /// The kind of failure ("deadlock", "failed", "property", ...).
    pub kind: String,
    /// Its size as found.
    pub size_found: Size,
    /// Its size after shrinking.
    pub size: Size,
}

/// A failure file: every failure found for one test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureFile {
    /// Format version (1).
    pub format: u32,
    /// The test's name.
    pub test: String,
    /// The program started.
    pub program: String,
    /// The failures, oldest first; each is replayed before a new sweep.
    pub failures: Vec<FailureRecord>,
    /// For a failure saved by the CLI: the scenario (a built-in name or a scenario
    /// file's path) and its `--set` parameters, so `winsim replay FILE` needs nothing
    /// else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// The `--set KEY=VALUE` parameters the failure was found with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<String>,
}

impl FailureFile {
    /// Reads a failure file.
    pub fn load(path: &Path) -> Result<FailureFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Writes it (creating the folder).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// A check of one program: its strategy, runs, limits, property and failure folder.
pub struct Check {
    name: String,
    explore: Explore,
    runs: u64,
    seed: u64,
    jobs: usize,
    config: Config,
    property: Option<Box<Property<'static>>>,
    failure_dir: Option<PathBuf>,
    shrink_attempts: u64,
    use_env: bool,
}

/// What a passing check explored.
#[derive(Clone, Debug)]
pub struct Passed {
    /// The sweep's result (no failure).
    pub exploration: Exploration,
    /// Failures from the failure file replayed first (all passed).
    pub replayed: usize,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    Some(v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

impl Check {
    /// A check named `name` (the failure file is `<failure folder>/<name>.json`): 1000
    /// random runs from seed 0, default limits.
    pub fn new(name: &str) -> Check {
        Check {
            name: name.to_string(),
            explore: Explore::Random,
            runs: 1000,
            seed: 0,
            jobs: 1,
            config: Config::default(),
            property: None,
            failure_dir: None,
            shrink_attempts: 200,
            use_env: true,
        }
    }
    /// How to explore.
    pub fn strategy(mut self, explore: Explore) -> Check {
        self.explore = explore;
        self
    }
    /// The most runs (WINSIM_RUNS overrides).
    pub fn runs(mut self, runs: u64) -> Check {
        self.runs = runs;
        self
    }
    /// The first seed (WINSIM_SEED overrides).
    pub fn seed(mut self, seed: u64) -> Check {
        self.seed = seed;
        self
    }
    /// Worker threads for random and PCT sweeps (WINSIM_JOBS overrides).
    pub fn jobs(mut self, jobs: usize) -> Check {
        self.jobs = jobs.max(1);
        self
    }
    /// Limits and options of every run (its strategy is set per run).
    pub fn config(mut self, config: Config) -> Check {
        self.config = config;
        self
    }
    /// The most kernel steps per run.
    pub fn steps_max(mut self, steps: u64) -> Check {
        self.config.steps_max = steps;
        self
    }
    /// A property every completed run must satisfy.
    pub fn property(mut self, p: impl Fn(&RunReport) -> Result<(), String> + Sync + 'static) -> Check {
        self.property = Some(Box::new(p));
        self
    }
    /// Where failure files go (default: `$CARGO_MANIFEST_DIR/winsim-regressions`).
    pub fn failure_dir(mut self, dir: impl Into<PathBuf>) -> Check {
        self.failure_dir = Some(dir.into());
        self
    }
    /// Runs tried while shrinking (0: no shrinking).
    pub fn shrink_attempts(mut self, n: u64) -> Check {
        self.shrink_attempts = n;
        self
    }
    /// Ignore the WINSIM_* environment variables (for tests of the checker itself).
    pub fn ignore_env(mut self) -> Check {
        self.use_env = false;
        self
    }

    /// The failure file's path.
    pub fn failure_path(&self) -> PathBuf {
        let dir = self.failure_dir.clone().unwrap_or_else(|| {
            let root = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
            root.join(FAILURE_DIR)
        });
        let file: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        dir.join(format!("{file}.json"))
    }

    fn apply_env(&mut self) {
        if !self.use_env {
            return;
        }
        if let Some(n) = env_u64("WINSIM_RUNS") {
            self.runs = n;
        }
        if let Some(s) = env_u64("WINSIM_SEED") {
            self.seed = s;
        }
        if let Some(j) = env_u64("WINSIM_JOBS") {
            self.jobs = j.max(1) as usize;
        }
        if let Ok(s) = std::env::var("WINSIM_STRATEGY") {
            self.explore = Explore::parse(&s).unwrap_or_else(|e| panic!("WINSIM_STRATEGY: {e}"));
        }
    }

    /// Runs the check of program `entry` as `setup` registers it; panics on a failure
    /// with the outcome, the seed, the failure file and how to replay it.
    pub fn run<S: Fn(&mut Sim) + Sync>(self, entry: &str, setup: S) -> Passed {
        match self.try_run(entry, setup) {
            Ok(p) => p,
            Err(message) => panic!("{message}"),
        }
    }

    /// Like [`Check::run`], returning the failure message instead of panicking.
    ///
    /// ```
    /// use winsim::prelude::*;
    /// let dir = std::env::temp_dir().join("winsim-doctest-try-run");
    /// let failed = winsim::Check::new("lost_pulse")
    ///     .runs(200)
    ///     .ignore_env() // this example ignores WINSIM_RUNS, WINSIM_SEED, ...
    ///     .failure_dir(&dir)
    ///     .try_run("main.exe", |sim| {
    ///         sim.program("main.exe", |ctx| async move {
    ///             let ev = ctx.create_event(None, false, false, None).await;
    ///             let waiter = ctx
    ///                 .create_thread(None, 0, move |ctx| async move { ctx.wait_for_single_object(ev, INFINITE).await }, 0, None)
    ///                 .await;
    ///             ctx.pulse_event(ev).await; // lost when the waiter is not waiting yet (§2)
    ///             ctx.wait_for_single_object(waiter, INFINITE).await;
    ///             0
    ///         });
    ///     });
    /// let message = failed.expect_err("some schedule loses the pulse");
    /// assert!(message.contains("DEADLOCK"), "{message}");
    /// assert!(dir.join("lost_pulse.json").exists()); // replayed first next time
    /// # std::fs::remove_dir_all(&dir).ok();
    /// ```
    pub fn try_run<S: Fn(&mut Sim) + Sync>(mut self, entry: &str, setup: S) -> Result<Passed, String> {
        self.apply_env();
        let path = self.failure_path();
        let property = self.property.as_deref();
        if self.use_env
            && let Ok(replay) = std::env::var("WINSIM_REPLAY")
        {
            return self.replay_file(Path::new(&replay), entry, &setup);
        }
        // Failures found before are replayed first.
        let mut file = match path.exists() {
            true => FailureFile::load(&path)?,
            false => FailureFile {
                format: 1,
                test: self.name.clone(),
                program: entry.to_string(),
                failures: Vec::new(),
                scenario: None,
                set: Vec::new(),
            },
        };
        for (i, f) in file.failures.iter().enumerate() {
            // Replayed as far as it fits the program as it is now, then without
            // preemptions: an edited program does not make the record useless.
            let report = replay(&setup, entry, f, false);
            if explore::verdict(&report, property).is_some() {
                return Err(format!(
                    "winsim check {:?}: failure {i} of {} still fails on replay:\n{}\ntrace:\n{}\n\
                     replay: WINSIM_REPLAY={} cargo test {}",
                    self.name,
                    path.display(),
                    report.summary(),
                    report.trace_text(),
                    path.display(),
                    self.name
                ));
            }
        }
        let replayed = file.failures.len();
        // A progress line on a terminal (hidden when stderr is not one, as under
        // `cargo test`'s capture or in CI).
        let bar = indicatif::ProgressBar::new(self.runs);
        let tick = || bar.inc(1);
        let sweep = Sweep {
            explore: self.explore.clone(),
            runs: self.runs,
            seed: self.seed,
            config: self.config.clone(),
            jobs: self.jobs,
            property,
            stop_at_failure: true,
            progress: Some(&tick),
            states: false,
            prune_states: false,
        };
        let exploration = explore::sweep(&sweep, entry, &setup);
        bar.finish_and_clear();
        let Some(failure) = exploration.failure.clone() else {
            let exhausted = match (exploration.exhausted, exploration.exhausted_bound) {
                (true, _) => ", every schedule explored".to_string(),
                (false, Some(b)) => format!(", every schedule with at most {b} preemptions explored"),
                _ => String::new(),
            };
            eprintln!(
                "winsim check {:?}: {} runs ({}), {} distinct schedules, no failure{exhausted}",
                self.name,
                exploration.runs,
                self.explore.name(),
                exploration.schedules
            );
            return Ok(Passed { exploration, replayed });
        };
        let shrunk = explore::shrink(&setup, entry, &self.config, &failure.report, property, self.shrink_attempts);
        // The shrunk run again, with the trace on.
        let mut traced = self.config.clone();
        traced.trace = true;
        let decisions = shrunk.report.decisions.clone();
        let report = explore::run_once(&setup, entry, traced.with_replay(decisions.clone()));
        let record = FailureRecord {
            strategy: self.explore.name(),
            run: failure.run,
            seed: failure.report.config.seed(),
            config: failure.report.config.clone(),
            decisions,
            outcome: report.outcome.clone(),
            kind: failure.kind.clone(),
            size_found: shrunk.before,
            size: shrunk.after,
        };
        file.failures.push(record.clone());
        let saved = match file.save(&path) {
            Ok(()) => format!("failure file: {}", path.display()),
            Err(e) => format!("failure file NOT written: {e}"),
        };
        let how_seed = match &failure.report.config.strategy {
            StrategyConfig::Random { seed } => format!("WINSIM_SEED={seed} WINSIM_RUNS=1 WINSIM_STRATEGY=random"),
            StrategyConfig::Pct { seed, depth, steps } => {
                format!("WINSIM_SEED={seed} WINSIM_RUNS=1 WINSIM_STRATEGY=pct:{depth}:{steps}")
            }
            _ => format!("WINSIM_STRATEGY={} (run {} of the search)", self.explore.name(), failure.run),
        };
        Err(format!(
            "winsim check {:?} failed on run {} of {} ({} distinct schedules, strategy {}):\n{}\n\
             shrunk from {} preemptions, {} switches, {} steps, {} decisions to {} preemptions, {} switches, \
             {} steps, {} decisions ({} attempts)\ntrace of the shrunk run:\n{}\n{saved}\n\
             replay the shrunk run: WINSIM_REPLAY={} cargo test {}\n\
             rerun the original run: {} cargo test {}",
            self.name,
            failure.run,
            exploration.runs,
            exploration.schedules,
            self.explore.name(),
            report.summary(),
            shrunk.before.preemptions,
            shrunk.before.switches,
            shrunk.before.steps,
            shrunk.before.decisions,
            shrunk.after.preemptions,
            shrunk.after.switches,
            shrunk.after.steps,
            shrunk.after.decisions,
            shrunk.attempts,
            report.trace_text(),
            path.display(),
            self.name,
            how_seed,
            self.name,
        ))
    }

    fn replay_file<S: Fn(&mut Sim)>(&self, path: &Path, entry: &str, setup: &S) -> Result<Passed, String> {
        let file = FailureFile::load(path)?;
        let mut out = String::new();
        let mut failed = false;
        for (i, f) in file.failures.iter().enumerate() {
            let report = replay(setup, entry, f, true);
            let v = explore::verdict(&report, self.property.as_deref());
            failed |= v.is_some();
            out.push_str(&format!(
                "failure {i} ({}, run {}, seed {:?}):\n{}\ntrace:\n{}\n",
                f.strategy,
                f.run,
                f.seed,
                report.summary(),
                report.trace_text()
            ));
        }
        if failed {
            Err(format!("winsim check {:?}: replay of {}:\n{out}", self.name, path.display()))
        } else {
            eprintln!("winsim check {:?}: replay of {} no longer fails:\n{out}", self.name, path.display());
            Ok(Passed { exploration: Exploration::default(), replayed: file.failures.len() })
        }
    }
}

/// Replays a failure record leniently (`explore::Lenient`).
fn replay<S: Fn(&mut Sim)>(setup: &S, entry: &str, f: &FailureRecord, trace: bool) -> RunReport {
    let mut config = f.config.with_replay(f.decisions.clone());
    config.trace = trace;
    let strategy = Box::new(explore::Lenient::new(f.decisions.clone()));
    let (mut report, _) = explore::run_with(setup, entry, config.clone(), strategy);
    report.config = config.with_replay(report.decisions.clone());
    report
}

/// Checks program `entry` as `setup` registers it with the default settings
/// ([`Check::new`]); panics on a failure.
///
/// ```
/// use winsim::prelude::*;
/// let passed = winsim::check("two_increments", "main.exe", |sim| {
///     sim.program("main.exe", |ctx| async move {
///         let mem = ctx.virtual_alloc(0, 4096, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE).await;
///         let add = move |ctx: ThreadCtx| async move { ctx.interlocked_increment(mem).await as u32 };
///         let a = ctx.create_thread(None, 0, add, 0, None).await;
///         let b = ctx.create_thread(None, 0, add, 0, None).await;
///         ctx.wait_for_multiple_objects(&[a, b], true, INFINITE).await;
///         assert_eq!(ctx.read_u32(mem).await, 2); // never a lost update
///         0
///     });
/// });
/// assert!(passed.exploration.runs > 0);
/// ```
pub fn check<S: Fn(&mut Sim) + Sync>(name: &str, entry: &str, setup: S) -> Passed {
    Check::new(name).run(entry, setup)
}
