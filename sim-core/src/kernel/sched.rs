//! Scheduling strategies. A strategy is asked only where there is a real choice (two or
//! more options); every answer is recorded as a [`Decision`], so any run can be replayed.

use super::Tid;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What is being chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChoiceKind {
    /// Which runnable thread executes its pending call next.
    Thread,
    /// Which of several waiters a signal satisfies (event, mutex, semaphore, file lock).
    Waiter,
}

/// One recorded scheduler decision: the kind of choice and the thread chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What was chosen.
    pub kind: ChoiceKind,
    /// The thread id chosen.
    pub tid: Tid,
}

/// A scheduling strategy: picks one of `options` (sorted, at least two).
pub trait Strategy {
    /// Returns the index of the chosen option, or `None` when the strategy cannot choose
    /// (a replay that diverged).
    fn pick(&mut self, kind: ChoiceKind, options: &[Tid]) -> Option<usize>;
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
    fn pick(&mut self, _kind: ChoiceKind, options: &[Tid]) -> Option<usize> {
        Some(self.rng.random_range(0..options.len()))
    }
}

/// Round-robin: the next thread after the last one picked, in thread-id order; waiters
/// in wait order.
#[derive(Default)]
pub struct RoundRobin {
    last: Option<Tid>,
}

impl Strategy for RoundRobin {
    fn pick(&mut self, kind: ChoiceKind, options: &[Tid]) -> Option<usize> {
        if kind == ChoiceKind::Waiter {
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

impl Strategy for Replay {
    fn pick(&mut self, kind: ChoiceKind, options: &[Tid]) -> Option<usize> {
        let d = self.decisions.get(self.pos)?;
        if d.kind != kind {
            return None;
        }
        let i = options.iter().position(|&t| t == d.tid)?;
        self.pos += 1;
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_is_reproducible() {
        let opts = [4, 8, 12, 16];
        let a: Vec<_> = {
            let mut s = RandomStrategy::new(7);
            (0..50).map(|_| s.pick(ChoiceKind::Thread, &opts).unwrap()).collect()
        };
        let b: Vec<_> = {
            let mut s = RandomStrategy::new(7);
            (0..50).map(|_| s.pick(ChoiceKind::Thread, &opts).unwrap()).collect()
        };
        assert_eq!(a, b);
        assert!(a.iter().any(|&i| i != a[0]), "a random strategy must vary its picks");
    }

    #[test]
    fn round_robin_cycles() {
        let mut s = RoundRobin::default();
        let picks: Vec<_> = (0..4).map(|_| s.pick(ChoiceKind::Thread, &[4, 8, 12]).unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2, 0]);
    }

    #[test]
    fn replay_diverges_on_unknown_thread() {
        let mut s = Replay::new(vec![Decision { kind: ChoiceKind::Thread, tid: 99 }]);
        assert_eq!(s.pick(ChoiceKind::Thread, &[4, 8]), None);
    }
}
