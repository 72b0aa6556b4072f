//! Bounded exhaustive search over decisions (CHESS-style), with sleep-set reduction.
//!
//! The search is stateless: each run replays the current path of the decision tree and
//! extends it; `new_execution` backtracks to the deepest choice with an untried option.
//! At a thread choice, the thread that made the last step is tried first (no preemption),
//! then the others in thread-id order. Choosing another thread while the last one could
//! still run is a *preemption*; with a bound b, options that would exceed b preemptions
//! are not tried but *deferred*: each is kept as a [`Root`] (the path to it), which a
//! search with bound b + 1 starts from (`Dfs::from_root`). So the sweep runs each
//! schedule once, at the lowest bound that admits it (iterative context bounding, as in
//! CHESS). Waiter choices are all tried and cost nothing.
//!
//! **Sleep sets** (Godefroid 1996). Once option u of a choice is fully explored, a later
//! sibling t whose step commutes with u's (their footprints do not conflict,
//! `kernel/footprint.rs`) puts u to sleep in t's subtree: every run that would take u
//! there reaches a state already reached via u first. A sleeping thread stays asleep until
//! a step that conflicts with it runs. A run whose every option sleeps is abandoned.
//!
//! **DPOR** (Flanagan and Godefroid, POPL 2005), with sleep sets, for the unbounded
//! search (`DfsOptions::dpor`). A thread choice does not try every option: it tries the
//! first, and after each run the steps of the run are checked for *races*: a step j that
//! conflicts with an earlier step i of another thread that does not happen before j (by
//! program order and earlier conflicts, vector clocks over the footprints). For each, the
//! thread of j is added to the options to try at i (all of i's options when it was not
//! runnable there). A step between two choices may include calls of threads that ran
//! without a choice (the chosen one blocked or ended): they all count as its threads.
//!
//! **State pruning** (`DfsOptions::prune_states`). At a thread choice, the kernel's state
//! hash (thread positions included), the current thread and the preemptions so far form
//! a key; a choice whose key was reached before, with a sleep set no larger than now, is
//! not explored again (its subtree was, or is deferred to the next bound). Sound for
//! deterministic bodies that share state only through winsim objects (docs/exploration.md).

use crate::kernel::Tid;
use crate::kernel::footprint::{Footprint, Resource};
use crate::kernel::sched::{ChoiceKind, ChoicePoint, StateHash, Strategy};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[derive(Clone, Debug)]
struct Node {
    kind: ChoiceKind,
    options: Vec<Tid>,
    current: Option<Tid>,
    /// Index (in `options`) of the option being explored.
    chosen: usize,
    /// Options tried (explored or being explored).
    tried: BTreeSet<usize>,
    /// Options explored in full, with their steps' footprints (thread choices).
    done: Vec<(Tid, Footprint)>,
    /// Threads asleep on entry, with their footprints.
    sleep: Vec<(Tid, Footprint)>,
    /// The footprint of the chosen option's step, over all runs through it so far.
    footprint: Footprint,
    /// Preemptions before this choice.
    preemptions: u32,
    /// Options the bound cut, deferred to the next bound when this choice is left (so
    /// their subtrees start with every sibling explored at this bound in `done`).
    cut: Vec<usize>,
    /// DPOR: the options to try (the first, then those races add).
    backtrack: BTreeSet<usize>,
}

impl Node {
    /// Options in the order they are tried: the current thread first, then by id.
    fn order(&self) -> Vec<usize> {
        let cur = self.current.and_then(|c| self.options.iter().position(|&t| t == c));
        let mut v: Vec<usize> = cur.into_iter().collect();
        v.extend((0..self.options.len()).filter(|&i| Some(i) != cur));
        v
    }

    fn is_preemption(&self, i: usize) -> bool {
        self.kind == ChoiceKind::Thread
            && self.current.is_some_and(|c| self.options.contains(&c) && self.options[i] != c)
    }
}

/// How the exhaustive search runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DfsOptions {
    /// The most preemptions per run (None: no bound). Ignored with `dpor`.
    pub bound: Option<u32>,
    /// Sleep sets.
    pub reduction: bool,
    /// Dynamic partial-order reduction (with sleep sets), unbounded.
    pub dpor: bool,
    /// Collect the state hashes seen at thread choices and at runs' ends.
    pub states: bool,
    /// Do not explore again a thread choice whose state was explored (module docs).
    pub prune_states: bool,
}

/// What the search remembers of states across runs (and across the searches of the
/// subtrees a bound deferred).
#[derive(Clone, Debug, Default)]
pub struct StateMemory {
    /// Distinct state hashes seen at thread choices and at runs' ends.
    pub seen: BTreeSet<u64>,
    /// Distinct state hashes at runs' ends (runs that were not abandoned).
    pub finals: BTreeSet<u64>,
    /// Explored choices by (state, current thread, preemptions): the sleep sets they had.
    visited: BTreeMap<(u64, Option<Tid>, u32), Vec<BTreeSet<Tid>>>,
}

/// The search state: the current path and what it has learnt.
#[derive(Debug)]
pub struct DfsState {
    bound: Option<u32>,
    reduction: bool,
    options: DfsOptions,
    /// State hashes seen, and choices explored.
    pub memory: StateMemory,
    /// The last run's final state (when `states`).
    pub final_state: Option<StateHash>,
    /// The last run was abandoned because its state had been explored.
    pub state_pruned: bool,
    stack: Vec<Node>,
    /// Choices below this depth are fixed (the root of a deferred subtree).
    floor: usize,
    /// Subtrees cut by the bound: each is a path whose last choice takes one preemption
    /// too many, to be searched with the next bound.
    deferred: Vec<Root>,
    started: bool,
    /// Some option was not tried because of the preemption bound.
    pub bound_hit: bool,
    /// The last run was abandoned (every option asleep).
    pub abandoned: bool,
    /// The program made different choices on the same path: it is not deterministic.
    pub nondeterminism: Option<String>,
}

/// A subtree the bound cut: a fixed path of choices whose last one exceeds the bound.
#[derive(Clone, Debug, Default)]
pub struct Root(Vec<Node>);

/// Exhaustive search with at most `bound` preemptions per run (None: no bound), with or
/// without sleep-set reduction. Share the state (`Dfs::state`) to read what it learnt.
#[derive(Clone)]
pub struct Dfs(Rc<RefCell<DfsState>>);

impl Dfs {
    /// A new search.
    pub fn new(bound: Option<u32>, reduction: bool) -> Dfs {
        Dfs::from_root(Root(Vec::new()), bound, reduction)
    }

    /// A search of the subtree below `root` only (iterative context bounding: each
    /// schedule is run at the lowest bound that admits it, once).
    pub fn from_root(root: Root, bound: Option<u32>, reduction: bool) -> Dfs {
        Dfs::with_options(root, DfsOptions { bound, reduction, ..DfsOptions::default() }, StateMemory::default())
    }

    /// A search of the subtree below `root` with `options`, remembering `memory`.
    pub fn with_options(root: Root, options: DfsOptions, memory: StateMemory) -> Dfs {
        let bound = if options.dpor { None } else { options.bound };
        Dfs(Rc::new(RefCell::new(DfsState {
            bound,
            reduction: options.reduction || options.dpor,
            options,
            memory,
            final_state: None,
            state_pruned: false,
            floor: root.0.len(),
            stack: root.0,
            deferred: Vec::new(),
            started: false,
            bound_hit: false,
            abandoned: false,
            nondeterminism: None,
        })))
    }

    /// The shared state.
    pub fn state(&self) -> std::cell::Ref<'_, DfsState> {
        self.0.borrow()
    }

    /// Takes the subtrees the bound cut so far.
    pub fn take_deferred(&self) -> Vec<Root> {
        std::mem::take(&mut self.0.borrow_mut().deferred)
    }

    /// Takes what the search remembers of states (to hand to the next subtree's search).
    pub fn take_memory(&self) -> StateMemory {
        std::mem::take(&mut self.0.borrow_mut().memory)
    }
}

impl DfsState {
    /// The deepest thread choice above `depth`.
    fn parent_thread(&self, depth: usize) -> Option<usize> {
        (0..depth.min(self.stack.len())).rev().find(|&i| self.stack[i].kind == ChoiceKind::Thread)
    }

    fn allowed(&self, n: &Node, i: usize) -> Result<bool, ()> {
        if n.tried.contains(&i) || n.sleep.iter().any(|(t, _)| *t == n.options[i]) {
            return Ok(false);
        }
        match self.bound {
            Some(b) if n.is_preemption(i) && n.preemptions >= b => Err(()),
            _ => Ok(true),
        }
    }

    /// The next option of `n` (whose ancestors are the stack) to try; an option the bound
    /// cuts is deferred (marked tried here, kept as a root for the next bound).
    fn next_option(&mut self, n: &mut Node) -> Option<usize> {
        let dpor = self.options.dpor && n.kind == ChoiceKind::Thread;
        for i in n.order() {
            if dpor && !n.backtrack.is_empty() && !n.backtrack.contains(&i) {
                continue;
            }
            match self.allowed(n, i) {
                Ok(true) => {
                    if dpor {
                        n.backtrack.insert(i);
                    }
                    return Some(i);
                }
                Ok(false) => {}
                Err(()) => {
                    self.bound_hit = true;
                    n.tried.insert(i);
                    n.cut.push(i);
                }
            }
        }
        None
    }

    /// Defers the options the bound cut at `n` (whose ancestors are the stack), now that
    /// `n` is left.
    fn defer_cuts(&mut self, n: &Node) {
        for &i in &n.cut {
            let mut path = self.stack.clone();
            let mut root = n.clone();
            root.chosen = i;
            root.cut.clear();
            root.footprint = Footprint::default();
            root.backtrack.clear();
            path.push(root);
            self.deferred.push(Root(path));
        }
    }

    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        let depth = p.index;
        if let (true, Some(st)) = (self.options.states, p.state) {
            self.memory.seen.insert(st.hash);
        }
        if let (Some(f), Some(parent)) = (p.footprint, self.parent_thread(depth)) {
            self.stack[parent].footprint.extend(f);
        }
        if depth < self.stack.len() {
            let n = &self.stack[depth];
            if n.kind != p.kind || n.options != p.options {
                self.nondeterminism = Some(format!(
                    "decision {depth}: the path recorded {:?} among {:?}, the program now offers {:?} among {:?}",
                    n.kind, n.options, p.kind, p.options
                ));
                return None;
            }
            return Some(n.chosen);
        }
        assert_eq!(depth, self.stack.len(), "simulator bug: the search skipped a decision");
        let preemptions = match self.stack.last() {
            Some(last) => last.preemptions + u32::from(last.is_preemption(last.chosen)),
            None => 0,
        };
        let sleep = match (self.reduction, p.kind, p.footprint, self.parent_thread(depth)) {
            (true, ChoiceKind::Thread, Some(f), Some(parent)) => {
                let par = &self.stack[parent];
                par.sleep
                    .iter()
                    .chain(par.done.iter())
                    .filter(|(t, fu)| p.options.contains(t) && !fu.conflicts(f))
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        };
        if let (true, ChoiceKind::Thread, Some(st)) = (self.options.prune_states, p.kind, p.state)
            && st.exact
        {
            let key = (st.hash, p.current, preemptions);
            let asleep: BTreeSet<Tid> = sleep.iter().map(|(t, _)| *t).collect();
            let seen = self.memory.visited.entry(key).or_default();
            // Explored before with a sleep set no larger: everything this choice could
            // reach was reached from there (or deferred from there to the next bound).
            if seen.iter().any(|s| s.is_subset(&asleep)) {
                self.abandoned = true;
                self.state_pruned = true;
                return None;
            }
            seen.push(asleep);
        }
        let mut node = Node {
            kind: p.kind,
            options: p.options.to_vec(),
            current: p.current,
            chosen: 0,
            tried: BTreeSet::new(),
            done: Vec::new(),
            sleep,
            footprint: Footprint::default(),
            preemptions,
            cut: Vec::new(),
            backtrack: BTreeSet::new(),
        };
        match self.next_option(&mut node) {
            Some(i) => {
                node.chosen = i;
                node.tried.insert(i);
                self.stack.push(node);
                Some(i)
            }
            None => {
                self.defer_cuts(&node);
                self.abandoned = true;
                None
            }
        }
    }

    fn end(&mut self, f: Option<&Footprint>) {
        let depth = self.stack.len();
        if let (Some(f), Some(parent)) = (f, self.parent_thread(depth)) {
            self.stack[parent].footprint.extend(f);
        }
        if self.options.dpor {
            self.races();
        }
    }

    /// DPOR: finds the races of the run just made (the current path) and adds the
    /// options that reverse them to the choices where they start.
    fn races(&mut self) {
        type Clock = BTreeMap<Tid, usize>;
        fn join(a: &mut Clock, b: &Clock) {
            for (&t, &v) in b {
                let e = a.entry(t).or_insert(0);
                *e = (*e).max(v);
            }
        }
        let nodes: Vec<usize> = (0..self.stack.len()).filter(|&i| self.stack[i].kind == ChoiceKind::Thread).collect();
        let threads_of = |n: &Node| -> BTreeSet<Tid> {
            let mut t = n.footprint.threads.clone();
            t.insert(n.options[n.chosen]);
            t
        };
        let parts: Vec<BTreeSet<Tid>> = nodes.iter().map(|&k| threads_of(&self.stack[k])).collect();
        let mut clocks: Vec<Clock> = Vec::with_capacity(nodes.len());
        let mut thread_clock: BTreeMap<Tid, Clock> = BTreeMap::new();
        let mut last_write: BTreeMap<Resource, usize> = BTreeMap::new();
        let mut readers: BTreeMap<Resource, Vec<usize>> = BTreeMap::new();
        let mut all_readers: Vec<usize> = Vec::new();
        let mut adds: Vec<(usize, usize)> = Vec::new();
        for (j, &k) in nodes.iter().enumerate() {
            let f = &self.stack[k].footprint;
            let mut pre = Clock::new();
            for t in &parts[j] {
                if let Some(c) = thread_clock.get(t) {
                    join(&mut pre, c);
                }
            }
            // The latest earlier steps this one conflicts with (earlier ones are ordered
            // before those).
            let mut dependent: BTreeSet<usize> = BTreeSet::new();
            for r in f.reads.iter().chain(f.writes.iter()) {
                if let Some(&w) = last_write.get(r) {
                    dependent.insert(w);
                }
            }
            for r in &f.writes {
                dependent.extend(readers.get(r).into_iter().flatten().copied());
            }
            if f.reads_all {
                dependent.extend(last_write.values().copied());
            }
            if !f.writes.is_empty() {
                dependent.extend(all_readers.iter().copied());
            }
            let mut clock = pre.clone();
            for &i in &dependent {
                let ordered = parts[i].iter().any(|t| pre.get(t).is_some_and(|&v| v > i));
                if !ordered && parts[i].is_disjoint(&parts[j]) {
                    adds.push((i, j));
                }
                join(&mut clock, &clocks[i]);
            }
            for &t in &parts[j] {
                clock.insert(t, j + 1);
            }
            for &t in &parts[j] {
                thread_clock.insert(t, clock.clone());
            }
            for r in &f.writes {
                last_write.insert(*r, j);
                readers.remove(r);
            }
            for r in &f.reads {
                if !f.writes.contains(r) {
                    readers.entry(*r).or_default().push(j);
                }
            }
            if f.reads_all {
                all_readers.push(j);
            }
            clocks.push(clock);
        }
        // A step that includes calls of other threads (they ran without a choice after
        // the chosen one blocked or ended) hides the races between its own calls: every
        // such thread that was runnable at the choice is tried there too.
        for (j, &k) in nodes.iter().enumerate() {
            let n = &mut self.stack[k];
            let chosen = n.options[n.chosen];
            for x in 0..n.options.len() {
                if n.options[x] != chosen && parts[j].contains(&n.options[x]) {
                    n.backtrack.insert(x);
                }
            }
        }
        for (i, j) in adds {
            let (ki, kj) = (nodes[i], nodes[j]);
            let want = self.stack[kj].options[self.stack[kj].chosen];
            let n = &mut self.stack[ki];
            if let Some(x) = n.options.iter().position(|&t| t == want) {
                n.backtrack.insert(x);
                continue;
            }
            // The racing thread was not runnable there: some other thread of the step, or
            // every option.
            let others: Vec<usize> = (0..n.options.len()).filter(|&x| parts[j].contains(&n.options[x])).collect();
            if others.is_empty() {
                n.backtrack.extend(0..n.options.len());
            } else {
                n.backtrack.extend(others);
            }
        }
    }

    /// Backtracks to the deepest choice with an option left; false when none is left.
    fn backtrack(&mut self) -> bool {
        while self.stack.len() > self.floor {
            let Some(mut n) = self.stack.pop() else { break };
            let fp = std::mem::take(&mut n.footprint);
            n.done.push((n.options[n.chosen], fp));
            if let Some(i) = self.next_option(&mut n) {
                n.chosen = i;
                n.tried.insert(i);
                self.stack.push(n);
                return true;
            }
            self.defer_cuts(&n);
        }
        false
    }
}

impl Strategy for Dfs {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        self.0.borrow_mut().pick(point)
    }
    fn new_execution(&mut self) -> bool {
        let mut s = self.0.borrow_mut();
        s.abandoned = false;
        s.state_pruned = false;
        s.final_state = None;
        if !s.started {
            s.started = true;
            return true;
        }
        s.backtrack()
    }
    fn end_execution(&mut self, footprint: Option<&Footprint>) {
        self.0.borrow_mut().end(footprint);
    }
    fn wants_calls(&self) -> bool {
        self.0.borrow().reduction
    }
    fn wants_states(&self) -> bool {
        let o = self.0.borrow().options;
        o.states || o.prune_states
    }
    fn end_state(&mut self, state: StateHash) {
        let mut s = self.0.borrow_mut();
        s.final_state = Some(state);
        if s.options.states {
            s.memory.seen.insert(state.hash);
            if !s.abandoned {
                s.memory.finals.insert(state.hash);
            }
        }
    }
}
