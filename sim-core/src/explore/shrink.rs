//! Shrinking a failing run's decision list: fewer preemptions, then fewer context
//! switches, then fewer steps, while the same kind of failure recurs.
//!
//! Candidates, from the best list so far: the list with one preemption undone (the
//! preempted thread chosen instead, the rest replayed as far as it fits, [`Lenient`]),
//! and each prefix continued by [`Sticky`], which keeps the current thread running
//! while it can and otherwise takes the lowest thread id (no preemption). The recorded decisions of a
//! candidate that fails the same way and is smaller become the new best; the search
//! stops when no candidate improves or the attempt budget runs out.

use super::{Property, run_with, same_failure};
use crate::kernel::config::Config;
use crate::kernel::footprint::Footprint;
use crate::kernel::sched::{ChoiceKind, ChoicePoint, Decision, PrefixThen, Replay, Strategy};
use crate::report::RunReport;
use crate::sim::Sim;
use std::cell::Cell;
use std::rc::Rc;

/// Never preempts: the thread that made the last step if it can run, else the lowest id;
/// the first waiter.
#[derive(Default)]
pub struct Sticky;

impl Strategy for Sticky {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        if p.kind == ChoiceKind::Thread {
            if let Some(i) = p.current.and_then(|c| p.options.iter().position(|&t| t == c)) {
                return Some(i);
            }
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
        if let Some(d) = self.decisions.get(self.pos) {
            if d.kind == p.kind {
                self.pos += 1;
                if let Some(i) = p.options.iter().position(|&t| t == d.tid) {
                    return Some(i);
                }
            }
        }
        Sticky.pick(p)
    }
    fn new_execution(&mut self) -> bool {
        self.pos = 0;
        true
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
    preempting: std::cell::RefCell<Vec<(usize, crate::kernel::Tid)>>,
}

/// Wraps a strategy and counts preemptions and switches at its choices.
struct Meter {
    inner: Box<dyn Strategy>,
    counts: Rc<Counts>,
}

impl Strategy for Meter {
    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        let i = self.inner.pick(p)?;
        if p.kind == ChoiceKind::Thread {
            if let Some(c) = p.current {
                if p.options[i] != c {
                    self.counts.switches.set(self.counts.switches.get() + 1);
                    if p.options.contains(&c) {
                        self.counts.preemptions.set(self.counts.preemptions.get() + 1);
                        self.counts.preempting.borrow_mut().push((p.index, c));
                    }
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

/// Runs with `strategy`, measuring the run; returns the report (decisions included), its
/// size, and the decisions that preempted (index, thread preempted).
fn metered<S: Fn(&mut Sim)>(
    setup: &S,
    entry: &str,
    config: &Config,
    strategy: Box<dyn Strategy>,
) -> (RunReport, Size, Vec<(usize, crate::kernel::Tid)>) {
    let counts = Rc::new(Counts::default());
    let meter = Meter { inner: strategy, counts: counts.clone() };
    let (report, _) = run_with(setup, entry, config.clone(), Box::new(meter));
    let size = Size {
        preemptions: counts.preemptions.get(),
        switches: counts.switches.get(),
        steps: report.steps,
        decisions: report.decisions.len() as u64,
    };
    let pre = counts.preempting.borrow().clone();
    (report, size, pre)
}

/// The size of the run that `decisions` replay.
pub fn measure<S: Fn(&mut Sim)>(setup: &S, entry: &str, config: &Config, decisions: &[Decision]) -> Size {
    metered(setup, entry, config, Box::new(Replay::new(decisions.to_vec()))).1
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
    let (first, before, mut preempting) =
        metered(setup, entry, &config, Box::new(Replay::new(failing.decisions.clone())));
    let mut best = first;
    let mut size = before;
    let mut attempts = 1;
    let mut best_decisions = failing.decisions.clone();
    'improve: loop {
        // Candidates: each preemption undone (latest first; the rest replayed as far as
        // it fits), then each prefix continued without preemptions (shortest first).
        let mut candidates: Vec<Box<dyn Strategy>> = Vec::new();
        for &(j, current) in preempting.iter().rev() {
            let mut d = best_decisions.clone();
            d[j].tid = current;
            candidates.push(Box::new(Lenient::new(d)));
        }
        for j in 0..best_decisions.len() {
            candidates.push(Box::new(PrefixThen::new(best_decisions[..j].to_vec(), Box::new(Sticky))));
        }
        for strategy in candidates {
            if attempts >= attempts_max {
                break 'improve;
            }
            attempts += 1;
            let (report, s, pre) = metered(setup, entry, &config, strategy);
            if s < size && same_failure(&report, failing, property) {
                size = s;
                best_decisions = report.decisions.clone();
                preempting = pre;
                best = report;
                continue 'improve;
            }
        }
        break;
    }
    best.config = config.with_replay(best_decisions);
    ShrinkResult { before, after: size, report: best, attempts }
}
