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

use crate::kernel::Tid;
use crate::kernel::footprint::Footprint;
use crate::kernel::sched::{ChoiceKind, ChoicePoint, Strategy};
use std::cell::RefCell;
use std::collections::BTreeSet;
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

/// The search state: the current path and what it has learnt.
#[derive(Debug)]
pub struct DfsState {
    bound: Option<u32>,
    reduction: bool,
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
        Dfs(Rc::new(RefCell::new(DfsState {
            bound,
            reduction,
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
        for i in n.order() {
            match self.allowed(n, i) {
                Ok(true) => return Some(i),
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
            path.push(root);
            self.deferred.push(Root(path));
        }
    }

    fn pick(&mut self, p: &ChoicePoint<'_>) -> Option<usize> {
        let depth = p.index;
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
}
