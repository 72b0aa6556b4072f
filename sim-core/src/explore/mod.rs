//! Exploration: many runs of one program under a strategy, the first failure, and
//! shrinking of its decision list. `docs/exploration.md` describes the strategies.
//!
//! A program is given as a *setup* closure that registers its programs on a fresh
//! [`Sim`], and the name of the one to start. Random and PCT runs are independent (run i
//! uses seed `seed + i`) and can be dealt out to worker threads in fixed stripes; the
//! result is the same for any number of workers. The exhaustive search is sequential.

mod dfs;
mod pct;
mod shrink;

pub use dfs::{Dfs, DfsOptions, DfsState, Root, StateMemory};
pub use pct::Pct;
pub use shrink::{Anchored, Lenient, Preemption, ShrinkResult, Size, Sticky, measure, shrink};

use crate::kernel::config::{Config, DecisionRecord, StrategyConfig};
use crate::kernel::sched::{ChoicePoint, ReplaySchedule, StateHash, Strategy};
use crate::report::{Outcome, RunReport};
use crate::sim::Sim;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a sweep explores schedules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Explore {
    /// Seeded uniform random choice; run i uses `Config::random(seed + i)`.
    Random,
    /// PCT with depth d; run i uses `Config::pct(seed + i, d, k)`. Without `steps`, k is
    /// the most thread choices of a few calibration runs that end (one random, eight
    /// PCT), at least 2·d (`pct_steps_estimate`).
    Pct {
        /// The bug depth targeted.
        depth: u32,
        /// The estimated thread choices per run (k).
        steps: Option<u64>,
    },
    /// Exhaustive search, fewest preemptions first: every schedule with 0 preemptions,
    /// then with 1, ... up to `preemption_bound` (None: until the space is exhausted).
    Dfs {
        /// The most preemptions a run may have.
        preemption_bound: Option<u32>,
        /// Sleep-set partial-order reduction (threads must share state only through
        /// winsim objects).
        reduction: bool,
    },
    /// Round-robin (one run: every run would be the same).
    RoundRobin,
    /// Exhaustive search without a preemption bound, with dynamic partial-order reduction
    /// (Flanagan and Godefroid, POPL 2005) and sleep sets: only the orders of conflicting
    /// steps are varied (threads must share state only through winsim objects).
    Dpor,
}

impl Explore {
    /// Parses `random`, `pct`, `pct:D`, `pct:D:K`, `dfs`, `dfs:B`, `dfs:B:por` (reduction),
    /// `dfs::por` (no bound, reduction), `rr` / `round-robin` (WINSIM_STRATEGY).
    pub fn parse(s: &str) -> Result<Explore, String> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |p: Option<&&str>| -> Result<Option<u64>, String> {
            match p {
                None => Ok(None),
                Some(&"") => Ok(None),
                Some(x) => x.parse().map(Some).map_err(|_| format!("{x:?} is not a number in strategy {s:?}")),
            }
        };
        match parts[0] {
            "random" if parts.len() == 1 => Ok(Explore::Random),
            "rr" | "round-robin" if parts.len() == 1 => Ok(Explore::RoundRobin),
            "dpor" if parts.len() == 1 => Ok(Explore::Dpor),
            "pct" if parts.len() <= 3 => {
                Ok(Explore::Pct { depth: num(parts.get(1))?.unwrap_or(3) as u32, steps: num(parts.get(2))? })
            }
            "dfs" if parts.len() <= 3 => {
                let reduction = match parts.get(2) {
                    None => false,
                    Some(&"por") => true,
                    Some(x) => return Err(format!("{x:?}: expected `por` in strategy {s:?}")),
                };
                Ok(Explore::Dfs { preemption_bound: num(parts.get(1))?.map(|b| b as u32), reduction })
            }
            _ => Err(format!("unknown strategy {s:?}: expected random, pct[:D[:K]], dfs[:B[:por]], dpor or rr")),
        }
    }

    /// The short name `parse` reads back.
    pub fn name(&self) -> String {
        match self {
            Explore::Random => "random".into(),
            Explore::Pct { depth, steps: None } => format!("pct:{depth}"),
            Explore::Pct { depth, steps: Some(k) } => format!("pct:{depth}:{k}"),
            Explore::Dfs { preemption_bound: None, reduction: false } => "dfs".into(),
            Explore::Dfs { preemption_bound, reduction } => {
                let b = preemption_bound.map(|b| b.to_string()).unwrap_or_default();
                if *reduction { format!("dfs:{b}:por") } else { format!("dfs:{b}") }
            }
            Explore::RoundRobin => "rr".into(),
            Explore::Dpor => "dpor".into(),
        }
    }
}

/// What counts as a failing run: an outcome other than `Completed`, or a property that
/// returns an error for a completed run.
pub type Property<'a> = dyn Fn(&RunReport) -> Result<(), String> + Sync + 'a;

/// The verdict on one run: None if it passed, else the kind of failure (the outcome's
/// kind, or "property") and a message.
pub fn verdict(report: &RunReport, property: Option<&Property<'_>>) -> Option<(String, String)> {
    match &report.outcome {
        Outcome::Completed { .. } => match property.map(|p| p(report)) {
            Some(Err(message)) => Some(("property".into(), message)),
            _ => None,
        },
        o => Some((o.kind().to_string(), report.summary())),
    }
}

/// The same kind of failure: the same outcome kind, and for a panic the same location.
pub fn same_failure(a: &RunReport, b: &RunReport, property: Option<&Property<'_>>) -> bool {
    match (verdict(a, property), verdict(b, property)) {
        (Some((ka, _)), Some((kb, _))) if ka == kb => match (&a.outcome, &b.outcome) {
            (Outcome::Failed { location: la, .. }, Outcome::Failed { location: lb, .. }) => la == lb,
            _ => true,
        },
        _ => false,
    }
}

/// A sweep's settings.
pub struct Sweep<'a> {
    /// How to explore.
    pub explore: Explore,
    /// The most runs (for DFS, the most runs over all bounds).
    pub runs: u64,
    /// The first seed (random and PCT).
    pub seed: u64,
    /// Limits and options of every run (its strategy is replaced per run). The trace is
    /// turned off during the sweep.
    pub config: Config,
    /// Worker threads for random and PCT runs (the result does not depend on it).
    pub jobs: usize,
    /// Extra failure condition for completed runs.
    pub property: Option<&'a Property<'a>>,
    /// Stop at the first failure (otherwise count outcomes over all runs).
    pub stop_at_failure: bool,
    /// Called after each run, from whichever worker ran it: for a progress display only
    /// (it cannot change the sweep, whose result does not depend on it).
    pub progress: Option<&'a (dyn Fn() + Sync)>,
    /// Count distinct kernel states (`Kernel::state_hash` at every thread choice and at
    /// each run's end): `Exploration::states`. Costs formatting the state per choice.
    pub states: bool,
    /// Exhaustive search (`Dfs`): do not explore again a choice whose state (thread
    /// positions included), current thread and preemptions were explored before. Sound
    /// only for deterministic thread bodies that share state only through winsim objects
    /// (docs/exploration.md). Ignored by the other strategies and by `Dpor`.
    pub prune_states: bool,
}

impl Sweep<'_> {
    /// Default settings for `explore`: 1000 runs from seed 0, default limits, one worker.
    pub fn new(explore: Explore) -> Sweep<'static> {
        Sweep {
            explore,
            runs: 1000,
            seed: 0,
            config: Config::default(),
            jobs: 1,
            property: None,
            stop_at_failure: true,
            progress: None,
            states: false,
            prune_states: false,
        }
    }
}

/// The first failing run of a sweep.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Its index in the sweep (0-based).
    pub run: u64,
    /// Its report (trace off).
    pub report: RunReport,
    /// The kind of failure ("deadlock", "failed", "property", ...).
    pub kind: String,
    /// What failed, for people.
    pub message: String,
}

/// What a sweep found.
#[derive(Clone, Debug, Default)]
pub struct Exploration {
    /// Runs made (up to and including the first failure when the sweep stops there).
    pub runs: u64,
    /// Distinct schedules (decision lists) among them.
    pub schedules: u64,
    /// Runs an exhaustive search abandoned as redundant (every option asleep).
    pub pruned: u64,
    /// Runs per outcome kind.
    pub outcomes: BTreeMap<String, u64>,
    /// The first failing run, if any.
    pub failure: Option<Failure>,
    /// Exhaustive search: the preemption bound whose schedules were all explored (None if
    /// the run budget ran out first or the strategy is not exhaustive).
    pub exhausted_bound: Option<u32>,
    /// Exhaustive search: every schedule, whatever its preemptions, was explored.
    pub exhausted: bool,
    /// The thread-choice estimate PCT used.
    pub pct_steps: Option<u64>,
    /// Distinct kernel states seen at thread choices and at runs' ends (when
    /// `Sweep::states`; `Kernel::state_hash`).
    pub states: Option<u64>,
    /// The distinct states runs ended in (when `Sweep::states`; abandoned runs excluded).
    pub final_states: BTreeSet<u64>,
    /// Runs the exhaustive search abandoned because their state had been explored
    /// (`Sweep::prune_states`; counted in `pruned` too).
    pub state_pruned: u64,
}

/// Random runs PCT tries, at most, to estimate a run's length when the first never ends.
const CALIBRATION_RUNS: u64 = 5;

/// PCT's own runs that measure a run's length for its estimate of k.
const PCT_CALIBRATION_RUNS: u64 = 8;

/// Where the seeds of PCT's calibration runs start, above the sweep's seed: far from the
/// seeds its runs take.
const PCT_CALIBRATION_SEEDS: u64 = 1 << 40;

/// PCT's k when the sweep gives none: the most thread choices any calibration run that
/// ended made, and at least 2·d. The calibration runs are one random run
/// (`Config::random(seed)`, or if it never ends, the first of the next four seeds whose
/// run ends) and `PCT_CALIBRATION_RUNS` PCT runs of depth d over the random run's choices
/// doubled (at least 10), whose lengths are the ones k must bound: PCT's own runs can be
/// longer than a random one. A run that never ended (a livelock, or a loop until the step
/// limit) says nothing about a run's length; if none ended, k is the first random run's
/// choices.
///
/// k is the length, not a multiple of it, as in Coyote's and shuttle's PCT (the most
/// steps seen): PCT's guarantee, 1/(n·k^(d−1)), needs k to bound a run's choices, and
/// every doubling of k divides the chance of a depth-3 bug by four (the depth-3 bug of
/// the exploration catalogue took 90.5 runs on average with twice one random run's
/// choices, at least 10, and 21.9 with this; docs/exploration.md). The floor of 2·d keeps
/// half the choices of the shortest runs free of change points: with k at most d − 1,
/// every choice is one, and a bug that needs none (the lost wake-up) was never found.
fn pct_steps_estimate<S: Fn(&mut Sim)>(s: &Sweep, entry: &str, setup: &S, base: &Config, depth: u32) -> u64 {
    let run = |strategy| run_once(setup, entry, Config { strategy, ..base.clone() });
    let endless = |r: &RunReport| matches!(r.outcome, Outcome::StepLimit { .. } | Outcome::Livelock(_));
    let choices = |r: &RunReport| r.schedule.iter().filter(|(k, _)| *k == crate::ChoiceKind::Thread).count() as u64;
    let random = |i: u64| run(StrategyConfig::Random { seed: s.seed.wrapping_add(i) });
    let first = random(0);
    let first_choices = choices(&first);
    let random_run = match endless(&first) {
        true => (1..CALIBRATION_RUNS).map(random).find(|r| !endless(r)),
        false => Some(first),
    };
    let provisional = (2 * random_run.as_ref().map_or(first_choices, choices)).max(10);
    let depth = depth.max(1);
    let pct_runs = (0..PCT_CALIBRATION_RUNS).map(|i| {
        let seed = s.seed.wrapping_add(PCT_CALIBRATION_SEEDS).wrapping_add(i);
        run(StrategyConfig::Pct { seed, depth, steps: provisional })
    });
    let most = random_run.into_iter().chain(pct_runs).filter(|r| !endless(r)).map(|r| choices(&r)).max();
    most.unwrap_or(first_choices).max(2 * u64::from(depth))
}

/// One run of the program with `config`.
pub fn run_once<S: Fn(&mut Sim)>(setup: &S, entry: &str, config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    setup(&mut sim);
    sim.run(entry)
}

/// One run of the program whose choices `strategy` makes; `config` describes the run.
pub fn run_with<S: Fn(&mut Sim)>(
    setup: &S,
    entry: &str,
    config: Config,
    strategy: Box<dyn Strategy>,
) -> (RunReport, Box<dyn Strategy>) {
    let mut sim = Sim::with_strategy(config, strategy);
    setup(&mut sim);
    sim.run_with_strategy(entry)
}

/// Wraps a run's strategy to collect the state hashes it is shown.
struct Counting {
    inner: Box<dyn Strategy>,
    seen: std::rc::Rc<std::cell::RefCell<(BTreeSet<u64>, Option<u64>)>>,
}

impl Strategy for Counting {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        if let Some(st) = point.state {
            self.seen.borrow_mut().0.insert(st.hash);
        }
        self.inner.pick(point)
    }
    fn new_execution(&mut self) -> bool {
        self.inner.new_execution()
    }
    fn end_execution(&mut self, footprint: Option<&crate::kernel::footprint::Footprint>) {
        self.inner.end_execution(footprint);
    }
    fn wants_calls(&self) -> bool {
        self.inner.wants_calls()
    }
    fn wants_states(&self) -> bool {
        true
    }
    fn end_state(&mut self, state: StateHash) {
        self.seen.borrow_mut().1 = Some(state.hash);
        self.inner.end_state(state);
    }
}

/// One run of the program with `config`, and (when `states`) the states seen at its
/// thread choices and the state it ended in.
fn run_counting<S: Fn(&mut Sim)>(
    setup: &S,
    entry: &str,
    config: Config,
    states: bool,
) -> (RunReport, BTreeSet<u64>, Option<u64>) {
    if !states {
        return (run_once(setup, entry, config), BTreeSet::new(), None);
    }
    let seen = std::rc::Rc::new(std::cell::RefCell::new((BTreeSet::new(), None)));
    let inner = crate::kernel::sched::from_config(&config.strategy);
    let (report, _) = run_with(setup, entry, config, Box::new(Counting { inner, seen: seen.clone() }));
    let (set, end) = seen.take();
    (report, set, end)
}

/// Runs a sweep of the program `entry` registered by `setup`.
pub fn sweep<S: Fn(&mut Sim) + Sync>(s: &Sweep<'_>, entry: &str, setup: &S) -> Exploration {
    let mut base = s.config.clone();
    base.trace = false;
    match &s.explore {
        Explore::Random => indexed(s, entry, setup, None, &|i| Config {
            strategy: StrategyConfig::Random { seed: s.seed.wrapping_add(i) },
            ..base.clone()
        }),
        Explore::Pct { depth, steps } => {
            let k = match steps {
                Some(k) => *k,
                None => pct_steps_estimate(s, entry, setup, &base, *depth),
            };
            let strategy = |i: u64| StrategyConfig::Pct { seed: s.seed.wrapping_add(i), depth: *depth, steps: k };
            indexed(s, entry, setup, Some(k), &|i| Config { strategy: strategy(i), ..base.clone() })
        }
        Explore::RoundRobin => {
            // Every round-robin run is the same run: one is enough.
            let one = Sweep { runs: s.runs.min(1), property: s.property, jobs: 1, ..Sweep::new(Explore::RoundRobin) };
            indexed(&one, entry, setup, None, &|_| Config { strategy: StrategyConfig::RoundRobin, ..base.clone() })
        }
        Explore::Dfs { preemption_bound, reduction } => {
            let options = DfsOptions {
                bound: *preemption_bound,
                reduction: *reduction,
                dpor: false,
                states: s.states,
                prune_states: s.prune_states,
            };
            exhaustive(s, entry, setup, &base, options)
        }
        Explore::Dpor => {
            let options =
                DfsOptions { bound: None, reduction: true, dpor: true, states: s.states, prune_states: false };
            exhaustive(s, entry, setup, &base, options)
        }
    }
}

/// Random, PCT, round-robin: independent runs `0..runs`, striped over workers.
fn indexed<S: Fn(&mut Sim) + Sync>(
    s: &Sweep<'_>,
    entry: &str,
    setup: &S,
    pct_steps: Option<u64>,
    config_of: &(dyn Fn(u64) -> Config + Sync),
) -> Exploration {
    let jobs = s.jobs.max(1) as u64;
    type Row = (u64, u64, String, Option<Failure>, BTreeSet<u64>, Option<u64>);
    let worker = |w: u64| -> Vec<Row> {
        let mut out = Vec::new();
        let mut i = w;
        while i < s.runs {
            // Runs record their schedule only (one byte a decision); the run reported
            // as a failure is run again with its decisions in full (same config, same run).
            let config = Config { decision_record: DecisionRecord::Schedule, ..config_of(i) };
            let (report, states, end) = run_counting(setup, entry, config, s.states);
            if let Some(p) = s.progress {
                p();
            }
            let v = verdict(&report, s.property);
            let kind = report.outcome.kind().to_string();
            let hash = report.schedule.hash64();
            let failure = v.map(|(k, message)| {
                let report = run_once(setup, entry, Config { decision_record: DecisionRecord::Full, ..config_of(i) });
                Failure { run: i, report, kind: k, message }
            });
            let stop = failure.is_some() && s.stop_at_failure;
            out.push((i, hash, kind, failure, states, end));
            if stop {
                break;
            }
            i += jobs;
        }
        out
    };
    let mut all: Vec<Row> = if jobs == 1 {
        worker(0)
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..jobs).map(|w| scope.spawn(move || worker(w))).collect();
            handles.into_iter().flat_map(|h| h.join().expect("a sweep worker panicked")).collect()
        })
    };
    all.sort_by_key(|r| r.0);
    // Runs after the first failure are not counted: which of them ran depends on the
    // number of workers.
    if s.stop_at_failure
        && let Some(pos) = all.iter().position(|r| r.3.is_some())
    {
        all.truncate(pos + 1);
    }
    let mut e = Exploration { pct_steps, ..Exploration::default() };
    let mut seen = BTreeSet::new();
    let mut states = BTreeSet::new();
    for (_, hash, kind, failure, at_choices, end) in all {
        e.runs += 1;
        seen.insert(hash);
        states.extend(at_choices);
        states.extend(end);
        e.final_states.extend(end);
        *e.outcomes.entry(kind).or_default() += 1;
        if e.failure.is_none() {
            e.failure = failure;
        }
    }
    e.schedules = seen.len() as u64;
    e.states = s.states.then_some(states.len() as u64);
    e
}

/// The exhaustive search: bounds 0, 1, ... (fewest preemptions first); each bound
/// searches only the subtrees the previous one deferred. With DPOR, one unbounded search.
fn exhaustive<S: Fn(&mut Sim)>(
    s: &Sweep<'_>,
    entry: &str,
    setup: &S,
    base: &Config,
    options: DfsOptions,
) -> Exploration {
    // Runs record their schedule only; a failure is run again with its decisions in full.
    let compact = Config { decision_record: DecisionRecord::Schedule, ..base.clone() };
    let full = Config { decision_record: DecisionRecord::Full, ..base.clone() };
    let mut e = Exploration::default();
    let mut seen = BTreeSet::new();
    let mut roots = vec![Root::default()];
    let mut limit = 0u32;
    let mut memory = StateMemory::default();
    let finish = |e: &mut Exploration, seen: &BTreeSet<u64>, memory: &StateMemory| {
        e.schedules = seen.len() as u64;
        if options.states {
            e.states = Some(memory.seen.len() as u64);
            e.final_states = memory.finals.clone();
        }
    };
    loop {
        let mut next = Vec::new();
        for root in roots {
            let bound = if options.dpor { None } else { Some(limit) };
            let dfs = Dfs::with_options(root, DfsOptions { bound, ..options }, std::mem::take(&mut memory));
            let mut strategy: Box<dyn Strategy> = Box::new(dfs.clone());
            let done = loop {
                if e.runs >= s.runs {
                    break true;
                }
                if !strategy.new_execution() {
                    break false;
                }
                let (mut report, back) = run_with(setup, entry, compact.clone(), strategy);
                strategy = back;
                report.config = base.with_schedule(report.schedule.clone());
                e.runs += 1;
                if let Some(p) = s.progress {
                    p();
                }
                let state = dfs.state();
                if let Some(n) = &state.nondeterminism {
                    panic!("the program is not deterministic: {n}");
                }
                if state.abandoned {
                    e.pruned += 1;
                    e.state_pruned += u64::from(state.state_pruned);
                    continue;
                }
                drop(state);
                seen.insert(report.schedule.hash64());
                *e.outcomes.entry(report.outcome.kind().to_string()).or_default() += 1;
                if e.failure.is_none()
                    && let Some((kind, message)) = verdict(&report, s.property)
                {
                    // The run again, its decisions in full.
                    let schedule = Box::new(ReplaySchedule::new(report.schedule.clone()));
                    let (mut report, _) = run_with(setup, entry, full.clone(), schedule);
                    report.config = full.with_replay(report.decisions.clone());
                    e.failure = Some(Failure { run: e.runs - 1, report, kind, message });
                    if s.stop_at_failure {
                        break true;
                    }
                }
            };
            memory = dfs.take_memory();
            if done {
                finish(&mut e, &seen, &memory);
                return e;
            }
            next.extend(dfs.take_deferred());
        }
        finish(&mut e, &seen, &memory);
        if options.dpor {
            e.exhausted = true;
            return e;
        }
        e.exhausted_bound = Some(limit);
        if next.is_empty() {
            e.exhausted = true;
            return e;
        }
        if options.bound.is_some_and(|max| limit >= max) {
            return e;
        }
        roots = next;
        limit += 1;
    }
}
