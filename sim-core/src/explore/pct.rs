//! PCT, the probabilistic concurrency testing scheduler of Burckhardt, Kothari, Musuvathi
//! and Nagarakatte ("A Randomized Scheduler with Probabilistic Guarantees of Finding
//! Bugs", ASPLOS 2010).
//!
//! Each thread gets a random priority when it first appears (above `depth`); at every
//! thread choice the highest-priority option runs. `depth - 1` change points are drawn
//! uniformly among the first `steps` thread choices; at the i-th one, the thread that
//! would run drops to priority `depth - i` (below every initial priority, later drops
//! below earlier ones) and the choice is made again. A bug of *depth d* (one that needs
//! d ordering constraints between events to show) is then found by a single run with
//! probability at least 1/(n·k^(d-1)), for n threads and k choices per run.
//!
//! Waiter choices go to the highest-priority waiter and are not counted as steps.

use crate::kernel::Tid;
use crate::kernel::sched::{ChoiceKind, ChoicePoint, Strategy};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The PCT strategy for one run (see the module documentation).
pub struct Pct {
    seed: u64,
    depth: u32,
    steps: u64,
    rng: ChaCha8Rng,
    priority: BTreeMap<Tid, u64>,
    /// The thread-choice counts at which priorities change, ascending.
    change_points: Vec<u64>,
    /// Thread choices made so far.
    count: u64,
}

impl Pct {
    /// PCT with `depth` (d ≥ 1) over an estimated `steps` (k) thread choices per run.
    pub fn new(seed: u64, depth: u32, steps: u64) -> Pct {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        let k = steps.max(1);
        let wanted = (depth.max(1) - 1) as usize;
        let mut change_points: Vec<u64> = Vec::new();
        // Distinct points in 1..=k (fewer when k is smaller than d - 1).
        while change_points.len() < wanted.min(k as usize) {
            let p = rng.random_range(1..=k);
            if !change_points.contains(&p) {
                change_points.push(p);
            }
        }
        change_points.sort_unstable();
        Pct { seed, depth: depth.max(1), steps: k, rng, priority: BTreeMap::new(), change_points, count: 0 }
    }

    /// The run's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The steps estimate k.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    fn best(&self, options: &[Tid]) -> usize {
        let mut best = 0;
        for (i, t) in options.iter().enumerate() {
            if self.priority[t] > self.priority[&options[best]] {
                best = i;
            }
        }
        best
    }
}

impl Strategy for Pct {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        if point.kind == ChoiceKind::Network {
            return Some(crate::kernel::sched::network_pick(point.options, self.rng.random_range(0..1000)));
        }
        if point.kind == ChoiceKind::Data {
            // Byte counts are no threads: drawn uniformly.
            return Some(self.rng.random_range(0..point.options.len()));
        }
        for &t in point.options {
            if !self.priority.contains_key(&t) {
                // Initial priorities lie above every change-point priority (1..depth).
                let p = u64::from(self.depth) + 1 + u64::from(self.rng.random::<u32>());
                self.priority.insert(t, p);
            }
        }
        if point.kind == ChoiceKind::Waiter {
            return Some(self.best(point.options));
        }
        self.count += 1;
        let mut i = self.best(point.options);
        if let Some(j) = self.change_points.iter().position(|&c| c == self.count) {
            // The j-th change point (0-based): priority depth - 1 - j, so later drops rank
            // below earlier ones, and all below the initial priorities.
            self.priority.insert(point.options[i], u64::from(self.depth) - 1 - j as u64);
            i = self.best(point.options);
        }
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(p: &mut Pct, options: &[Tid], current: Option<Tid>) -> usize {
        let point = ChoicePoint {
            kind: ChoiceKind::Thread,
            options,
            current,
            step: 0,
            index: 0,
            calls: &[],
            footprint: None,
            state: None,
        };
        p.pick(&point).unwrap()
    }

    #[test]
    fn depth_one_keeps_one_priority_order() {
        // No change points: the same thread wins every time it can run.
        let mut p = Pct::new(3, 1, 50);
        let first = pick(&mut p, &[4, 8, 12], None);
        for _ in 0..20 {
            assert_eq!(pick(&mut p, &[4, 8, 12], None), first);
        }
    }

    #[test]
    fn change_points_demote_the_running_thread() {
        // d = 3, k = 2: both thread choices are change points; each demotes the thread
        // that would run, so the first two picks differ and the third repeats the second
        // (the earlier demotion ranks above the later one).
        let mut p = Pct::new(9, 3, 2);
        assert_eq!(p.change_points, vec![1, 2]);
        let a = pick(&mut p, &[4, 8], None);
        let b = pick(&mut p, &[4, 8], None);
        assert_ne!(a, b);
        let c = pick(&mut p, &[4, 8], None);
        assert_eq!(c, b);
    }

    #[test]
    fn same_seed_same_choices() {
        let run = |seed| {
            let mut p = Pct::new(seed, 3, 10);
            (0..10).map(|i| pick(&mut p, &[4, 8, 12], Some(4 * (i % 3 + 1)))).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
    }
}
