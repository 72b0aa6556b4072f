//! Scheduling strategies. A strategy is asked only where there is a real choice (two or
//! more options); every answer is recorded as a [`Decision`] (kind, options, choice), so
//! any run can be replayed, and a search can backtrack over the recorded options.
//!
//! A strategy can live across the runs of a sweep (`Sim::run_with_strategy` hands it back):
//! `new_execution` starts each run, `end_execution` ends it. At each choice it sees a
//! [`ChoicePoint`]: the kind, the options, the thread that made the last step, and, when
//! it asks for them, each option's next call and the footprint of what ran since the
//! previous choice (for partial-order reduction, `kernel/footprint.rs`).

use super::Tid;
use super::footprint::Footprint;
use super::request::Api;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What is being chosen.
///
/// JSON: `"thread"`, `"waiter"`, `"data"` (the PascalCase names of failure files written
/// before trace schema 3 are still read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceKind {
    /// Which runnable thread executes its pending call next.
    #[serde(alias = "Thread")]
    Thread,
    /// Which of several waiters a signal satisfies (event, mutex, semaphore, file lock).
    #[serde(alias = "Waiter")]
    Waiter,
    /// How many bytes a recv on a stream socket takes (docs/semantics.md §22): the options
    /// are byte counts, not threads (`Decision::tid` holds the count chosen).
    #[serde(alias = "Data")]
    Data,
    /// Whether the simulated network faults a packet (docs/semantics.md §27.5): the
    /// options are `[0, p]`, 0 for no fault and `p` (1..=999) for the fault, whose chance
    /// is `p` permille; random strategies draw it with that chance, the others pick 0.
    Network,
}

/// The index a random strategy picks at a `ChoiceKind::Network` point: the fault
/// (index 1) with chance `options[1]` permille.
pub fn network_pick(options: &[Tid], draw: u32) -> usize {
    let p = options.get(1).copied().unwrap_or(0);
    usize::from(draw % 1000 < p)
}

/// One recorded scheduler decision: the kind of choice, the options offered and the
/// thread chosen.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Decision {
    /// What was chosen.
    pub kind: ChoiceKind,
    /// The thread id chosen.
    pub tid: Tid,
    /// The options offered (sorted). Empty in lists recorded before options were kept;
    /// a replay needs only `kind` and `tid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Tid>,
}

impl Decision {
    /// A decision with no recorded options (the form older recordings have).
    pub fn new(kind: ChoiceKind, tid: Tid) -> Decision {
        Decision { kind, tid, options: Vec::new() }
    }
}

/// A runnable thread's next call, as a strategy sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextCall {
    /// The thread.
    pub tid: Tid,
    /// The Win32 function it is about to call.
    pub api: Api,
    /// What the call may read (objects named by its handles, the caller's handle table,
    /// or everything when winsim does not know), before it runs.
    pub reads: Footprint,
}

/// What a strategy sees at a choice.
#[derive(Debug)]
pub struct ChoicePoint<'a> {
    /// What is being chosen.
    pub kind: ChoiceKind,
    /// The options, sorted by thread id (at least two).
    pub options: &'a [Tid],
    /// For a thread choice, the thread that made the last step (still among the options
    /// unless it blocked or ended: choosing another one then is a preemption); for a
    /// waiter choice, the thread whose call is signalling.
    pub current: Option<Tid>,
    /// Kernel steps executed so far.
    pub step: u64,
    /// Decisions made so far in this run (this one's index).
    pub index: usize,
    /// For a thread choice, each option's next call (same order as `options`); empty
    /// unless the strategy's `wants_calls` says so.
    pub calls: &'a [NextCall],
    /// For a thread choice when the strategy `wants_calls`: the footprint of everything
    /// that ran since the previous thread choice (steps, wake-ups, thread exits).
    pub footprint: Option<&'a Footprint>,
    /// For a thread choice when the strategy `wants_states`: the canonical hash of the
    /// kernel's state (`Kernel::state_hash`, thread positions included).
    pub state: Option<StateHash>,
}

/// The kernel's state at a choice or at the end of a run, hashed (`Kernel::state_hash`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StateHash {
    /// The hash.
    pub hash: u64,
    /// Whether everything is in it: false once the window manager has state, which is
    /// summarised by its change count (fine for counting states, not a key for pruning).
    pub exact: bool,
}

/// A scheduling strategy: picks one of the options of a [`ChoicePoint`].
pub trait Strategy {
    /// Returns the index of the chosen option, or `None` when the strategy cannot choose
    /// (a replay that diverged, or a search abandoning a redundant run).
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize>;
    /// Called before each run of a sweep; `false` means there is nothing left to explore.
    fn new_execution(&mut self) -> bool {
        true
    }
    /// Called when a run ends, with the footprint of what ran since the last thread
    /// choice (when `wants_calls`).
    fn end_execution(&mut self, _footprint: Option<&Footprint>) {}
    /// Whether choice points should carry each option's next call and footprints (costs
    /// a snapshot of the kernel's objects per choice: for exhaustive search only).
    fn wants_calls(&self) -> bool {
        false
    }
    /// Whether thread choices should carry the kernel's state hash, and the run's end
    /// `end_state` (costs formatting the whole state per choice: opt-in).
    fn wants_states(&self) -> bool {
        false
    }
    /// Called when a run ends, before `end_execution`, with the final state's hash (when
    /// `wants_states`).
    fn end_state(&mut self, _state: StateHash) {}
}

/// The strategy a configuration names, for one run.
pub fn from_config(config: &super::config::StrategyConfig) -> Box<dyn Strategy> {
    use super::config::StrategyConfig;
    match config {
        StrategyConfig::Random { seed } => Box::new(RandomStrategy::new(*seed)),
        StrategyConfig::RoundRobin => Box::new(RoundRobin::default()),
        StrategyConfig::Replay { decisions } => Box::new(Replay::new(decisions.clone())),
        StrategyConfig::Pct { seed, depth, steps } => Box::new(crate::explore::Pct::new(*seed, *depth, *steps)),
    }
}

/// Seeded uniform random choice. The only RNG in the kernel; its stream is derived from
/// the run's seed, so other consumers of the seed never perturb scheduling.
pub struct RandomStrategy {
    rng: ChaCha8Rng,
}

impl RandomStrategy {
    /// A strategy for `seed`.
    pub fn new(seed: u64) -> RandomStrategy {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(1);
        RandomStrategy { rng }
    }
}

impl Strategy for RandomStrategy {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        if point.kind == ChoiceKind::Network {
            return Some(network_pick(point.options, self.rng.random_range(0..1000)));
        }
        Some(self.rng.random_range(0..point.options.len()))
    }
}

/// Round-robin: the next thread after the last one picked, in thread-id order; waiters
/// in wait order.
#[derive(Default)]
pub struct RoundRobin {
    last: Option<Tid>,
}

impl Strategy for RoundRobin {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        let options = point.options;
        if point.kind == ChoiceKind::Waiter {
            return Some(0);
        }
        if point.kind == ChoiceKind::Data {
            // The textbook stream: a recv takes all it can.
            return Some(options.len() - 1);
        }
        if point.kind == ChoiceKind::Network {
            // The textbook network: no faults.
            return Some(0);
        }
        let i = match self.last {
            Some(last) => options.iter().position(|&t| t > last).unwrap_or(0),
            None => 0,
        };
        self.last = Some(options[i]);
        Some(i)
    }
}

/// Replays a recorded decision list.
pub struct Replay {
    decisions: Vec<Decision>,
    pos: usize,
}

impl Replay {
    /// A strategy that makes exactly `decisions`, in order.
    pub fn new(decisions: Vec<Decision>) -> Replay {
        Replay { decisions, pos: 0 }
    }
}

impl Replay {
    /// Decisions replayed so far.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl Strategy for Replay {
    fn new_execution(&mut self) -> bool {
        self.pos = 0;
        true
    }

    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        let d = self.decisions.get(self.pos)?;
        if d.kind != point.kind {
            return None;
        }
        let i = point.options.iter().position(|&t| t == d.tid)?;
        self.pos += 1;
        Some(i)
    }
}

/// Replays a recorded prefix of decisions, then lets another strategy continue: a search
/// resumes from a known point, and shrinking tries a shortened list.
pub struct PrefixThen {
    prefix: Replay,
    then: Box<dyn Strategy>,
    len: usize,
}

impl PrefixThen {
    /// Makes `prefix` first, then asks `then`.
    pub fn new(prefix: Vec<Decision>, then: Box<dyn Strategy>) -> PrefixThen {
        PrefixThen { len: prefix.len(), prefix: Replay::new(prefix), then }
    }
}

impl Strategy for PrefixThen {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        if self.prefix.position() < self.len {
            return self.prefix.pick(point);
        }
        self.then.pick(point)
    }
    fn new_execution(&mut self) -> bool {
        self.prefix.new_execution();
        self.then.new_execution()
    }
    fn end_execution(&mut self, footprint: Option<&Footprint>) {
        self.then.end_execution(footprint);
    }
    fn wants_calls(&self) -> bool {
        self.then.wants_calls()
    }
    fn wants_states(&self) -> bool {
        self.then.wants_states()
    }
    fn end_state(&mut self, state: StateHash) {
        self.then.end_state(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(kind: ChoiceKind, options: &[Tid]) -> ChoicePoint<'_> {
        ChoicePoint { kind, options, current: None, step: 0, index: 0, calls: &[], footprint: None, state: None }
    }

    #[test]
    fn random_is_reproducible() {
        let opts = [4, 8, 12, 16];
        let a: Vec<_> = {
            let mut s = RandomStrategy::new(7);
            (0..50).map(|_| s.pick(&point(ChoiceKind::Thread, &opts)).unwrap()).collect()
        };
        let b: Vec<_> = {
            let mut s = RandomStrategy::new(7);
            (0..50).map(|_| s.pick(&point(ChoiceKind::Thread, &opts)).unwrap()).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().any(|&i| i != a[0]), "a random strategy must vary its picks");
    }

    #[test]
    fn round_robin_cycles() {
        let mut s = RoundRobin::default();
        let picks: Vec<_> = (0..4).map(|_| s.pick(&point(ChoiceKind::Thread, &[4, 8, 12])).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0]);
    }

    #[test]
    fn replay_diverges_on_unknown_thread() {
        let mut s = Replay::new(vec![Decision::new(ChoiceKind::Thread, 99)]);
        assert_eq!(s.pick(&point(ChoiceKind::Thread, &[4, 8])), None);
    }
}
