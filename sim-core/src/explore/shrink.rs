//! Shrinking a failing run's decision list: fewer preemptions, then fewer context
//! switches, then fewer steps, while the same kind of failure recurs.
//!
//! Candidates, from the best run so far: each preemption removed with the others kept
//! ([`Anchored`]: preemptions anchored to the preempted thread's progress, everything
//! else like [`Sticky`]); each preemption undone with the rest of the list replayed as far
//! as it fits ([`Lenient`]); each prefix continued by [`Sticky`], which keeps the current
//! thread running while it can and otherwise takes the lowest thread id (no preemption).
//! The recorded decisions of a candidate that fails the same way and is smaller become
//! the new best; the search stops when no candidate improves or the attempt budget runs
//! out.

use super::{Property, run_with, same_failure};
use crate::kernel::Tid;
use crate::kernel::config::Config;
use crate::kernel::footprint::Footprint;
use crate::kernel::sched::{ChoiceKind, ChoicePoint, Decision, PrefixThen, Replay, Strategy};
use crate::report::RunReport;
use crate::sim::Sim;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Never preempts: the thread that made the last step if it can run, else the lowest id;
/// the first waiter.
#[derive(Default)]
pub struct Sticky;

impl Strategy for Sticky {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        if p.kind == ChoiceKind::Thread
            && let Some(i) = p.current.and_then(|c| p.options.iter().position(|&t| t == c))
        {
            return Some(i);
        }
        if p.kind == ChoiceKind::Data {
            // A recv takes all it can: no split.
            return Some(p.options.len() - 1);
        }
        Some(0)
    }
}

/// Replays a decision list as far as it fits, then goes on like [`Sticky`]: a recorded
/// thread that is not among the options, or a choice of another kind, is made by
/// `Sticky` instead (a recorded decision of the same kind is used up either way). A
/// failure file replayed on an edited program, or a decision list with one preemption
/// undone, still runs to an end instead of diverging.
pub struct Lenient {
    decisions: Vec<Decision>,
    pos: usize,
}

impl Lenient {
    /// Replays `decisions` leniently.
    pub fn new(decisions: Vec<Decision>) -> Lenient {
        Lenient { decisions, pos: 0 }
    }
}

impl Strategy for Lenient {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        if let Some(d) = self.decisions.get(self.pos)
            && d.kind == p.kind
        {
            self.pos += 1;
            if let Some(i) = p.options.iter().position(|&t| t == d.tid) {
                return Some(i);
            }
        }
        Sticky.pick(p)
    }
    fn new_execution(&mut self) -> bool {
        self.pos = 0;
        true
    }
}

/// A preemption anchored to the preempted thread's progress: at the `nth` thread choice
/// (0-based) at which `from` is the current thread, switch to `to`. Anchored this way, a
/// preemption keeps its meaning when another one is removed (a decision index would not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preemption {
    /// The thread preempted.
    pub from: Tid,
    /// How many thread choices `from` had been current at before.
    pub nth: u64,
    /// The thread switched to.
    pub to: Tid,
}

/// Runs without preemptions ([`Sticky`]) except the given ones; waiter choices follow a
/// recorded list of waiter decisions as far as it fits.
pub struct Anchored {
    preemptions: Vec<Preemption>,
    waiters: Vec<Tid>,
    seen: BTreeMap<Tid, u64>,
    waiter_pos: usize,
}

impl Anchored {
    /// Sticky but for `preemptions`; the k-th waiter choice picks `waiters[k]` if it can.
    pub fn new(preemptions: Vec<Preemption>, waiters: Vec<Tid>) -> Anchored {
        Anchored { preemptions, waiters, seen: BTreeMap::new(), waiter_pos: 0 }
    }
}

impl Strategy for Anchored {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        if p.kind != ChoiceKind::Thread {
            let w = self.waiters.get(self.waiter_pos).copied();
            self.waiter_pos += 1;
            return Some(w.and_then(|w| p.options.iter().position(|&t| t == w)).unwrap_or(0));
        }
        if let Some(c) = p.current {
            let n = self.seen.entry(c).or_default();
            let nth = *n;
            *n += 1;
            if p.options.contains(&c) {
                let to = self.preemptions.iter().find(|x| x.from == c && x.nth == nth).map(|x| x.to);
                if let Some(i) = to.and_then(|t| p.options.iter().position(|&o| o == t)) {
                    return Some(i);
                }
            }
        }
        Sticky.pick(p)
    }
}

/// The size of a run, compared in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Size {
    /// Thread choices that switched away from a thread that could go on.
    pub preemptions: u64,
    /// Thread choices that switched threads at all.
    pub switches: u64,
    /// Kernel steps.
    pub steps: u64,
    /// Decisions recorded.
    pub decisions: u64,
}

#[derive(Default)]
struct Counts {
    preemptions: Cell<u64>,
    switches: Cell<u64>,
    /// The decisions that preempted: index and the thread preempted.
    preempting: RefCell<Vec<(usize, Tid)>>,
    /// The same preemptions, anchored to the preempted thread's progress.
    anchored: RefCell<Vec<Preemption>>,
    /// How many thread choices each thread has been current at.
    seen: RefCell<BTreeMap<Tid, u64>>,
    /// The waiter decisions, in order.
    waiters: RefCell<Vec<Tid>>,
}

/// Wraps a strategy and counts preemptions and switches at its choices.
struct Meter {
    inner: Box<dyn Strategy>,
    counts: Rc<Counts>,
}

impl Strategy for Meter {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        let i = self.inner.pick(p)?;
        if p.kind != ChoiceKind::Thread {
            self.counts.waiters.borrow_mut().push(p.options[i]);
        }
        if p.kind == ChoiceKind::Thread
            && let Some(c) = p.current
        {
            let nth = {
                let mut seen = self.counts.seen.borrow_mut();
                let n = seen.entry(c).or_default();
                *n += 1;
                *n - 1
            };
            if p.options[i] != c {
                self.counts.switches.set(self.counts.switches.get() + 1);
                if p.options.contains(&c) {
                    self.counts.preemptions.set(self.counts.preemptions.get() + 1);
                    self.counts.preempting.borrow_mut().push((p.index, c));
                    self.counts.anchored.borrow_mut().push(Preemption { from: c, nth, to: p.options[i] });
                }
            }
        }
        Some(i)
    }
    fn new_execution(&mut self) -> bool {
        self.inner.new_execution()
    }
    fn end_execution(&mut self, f: Option<&Footprint>) {
        self.inner.end_execution(f)
    }
    fn wants_calls(&self) -> bool {
        self.inner.wants_calls()
    }
}

/// A measured run: its report, size, and preemptions (by decision index, and anchored).
struct Measured {
    report: RunReport,
    size: Size,
    preempting: Vec<(usize, Tid)>,
    anchored: Vec<Preemption>,
    waiters: Vec<Tid>,
}

/// Runs with `strategy`, measuring the run.
fn metered<S: Fn(&mut Sim)>(setup: &S, entry: &str, config: &Config, strategy: Box<dyn Strategy>) -> Measured {
    let counts = Rc::new(Counts::default());
    let meter = Meter { inner: strategy, counts: counts.clone() };
    let (report, _) = run_with(setup, entry, config.clone(), Box::new(meter));
    let size = Size {
        preemptions: counts.preemptions.get(),
        switches: counts.switches.get(),
        steps: report.steps,
        decisions: report.schedule.len() as u64,
    };
    let preempting = counts.preempting.borrow().clone();
    let anchored = counts.anchored.borrow().clone();
    let waiters = counts.waiters.borrow().clone();
    Measured { report, size, preempting, anchored, waiters }
}

/// The size of the run that `decisions` replay.
pub fn measure<S: Fn(&mut Sim)>(setup: &S, entry: &str, config: &Config, decisions: &[Decision]) -> Size {
    metered(setup, entry, config, Box::new(Replay::new(decisions.to_vec()))).size
}

/// What shrinking did.
#[derive(Clone, Debug)]
pub struct ShrinkResult {
    /// The size before.
    pub before: Size,
    /// The size after.
    pub after: Size,
    /// The shrunk run (replayable: its config replays its decisions).
    pub report: RunReport,
    /// Runs tried.
    pub attempts: u64,
}

/// Decision lists longer than this are long runs: shrinking tries coarse prefixes first.
const LONG_RUN: usize = 64;

/// Shrinks the failing run `failing` (its decisions, replayed with `config`'s limits)
/// with at most `attempts_max` runs.
pub fn shrink<S: Fn(&mut Sim)>(
    setup: &S,
    entry: &str,
    config: &Config,
    failing: &RunReport,
    property: Option<&Property<'_>>,
    attempts_max: u64,
) -> ShrinkResult {
    let mut config = config.clone();
    config.trace = false;
    // Shrinking edits decision lists by thread: record them in full.
    config.decision_record = crate::kernel::config::DecisionRecord::Full;
    let first: Box<dyn Strategy> = if failing.decisions.is_empty() && !failing.schedule.is_empty() {
        Box::new(crate::kernel::sched::ReplaySchedule::new(failing.schedule.clone()))
    } else {
        Box::new(Replay::new(failing.decisions.clone()))
    };
    let mut best = metered(setup, entry, &config, first);
    let before = best.size;
    let mut attempts = 1;
    'improve: loop {
        // Candidates: each preemption removed, the others kept (anchored, earliest
        // first); each preemption undone with the rest replayed as far as it fits
        // (latest first); each prefix continued without preemptions (shortest first).
        // Built one at a time, as tried: a long run has thousands of decisions, and
        // building every candidate up front costs the square of that.
        let (anchored, preempting, n) = (best.anchored.len(), best.preempting.len(), best.report.decisions.len());
        // A long run (a livelock reaches the step limit with thousands of preemptions)
        // first tries prefixes of 1, 2, 4, 8, ... decisions continued without
        // preemptions: one of them often keeps the failure at a fraction of the size,
        // where removing preemptions one at a time would take thousands of runs.
        let coarse: Vec<usize> = if n > LONG_RUN {
            std::iter::successors(Some(1usize), |j| Some(j * 2)).take_while(|&j| j < n).collect()
        } else {
            Vec::new()
        };
        let candidate = |i: usize| -> Box<dyn Strategy> {
            if let Some(&j) = coarse.get(i) {
                return Box::new(PrefixThen::new(best.report.decisions[..j].to_vec(), Box::new(Sticky)));
            }
            let i = i - coarse.len();
            if i < anchored {
                let mut kept = best.anchored.clone();
                kept.remove(i);
                return Box::new(Anchored::new(kept, best.waiters.clone()));
            }
            let decisions = &best.report.decisions;
            let i = i - anchored;
            if i < preempting {
                let (j, current) = best.preempting[preempting - 1 - i];
                let mut d = decisions.clone();
                d[j].tid = current;
                return Box::new(Lenient::new(d));
            }
            let j = i - preempting;
            Box::new(PrefixThen::new(decisions[..j].to_vec(), Box::new(Sticky)))
        };
        for i in 0..coarse.len() + anchored + preempting + n {
            if attempts >= attempts_max {
                break 'improve;
            }
            attempts += 1;
            let m = metered(setup, entry, &config, candidate(i));
            if m.size < best.size && same_failure(&m.report, failing, property) {
                best = m;
                continue 'improve;
            }
        }
        break;
    }
    let mut report = best.report;
    report.config = config.with_replay(report.decisions.clone());
    ShrinkResult { before, after: best.size, report, attempts }
}
