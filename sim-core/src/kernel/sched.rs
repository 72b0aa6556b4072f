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
    /// a replay needs only `kind` and `tid`. Shared (`Arc`) between consecutive decisions
    /// among the same options, so a run's list does not allocate a buffer per decision.
    #[serde(default, skip_serializing_if = "options_are_empty")]
    pub options: std::sync::Arc<[Tid]>,
}

fn options_are_empty(o: &std::sync::Arc<[Tid]>) -> bool {
    o.is_empty()
}

impl Decision {
    /// A decision with no recorded options (the form older recordings have).
    pub fn new(kind: ChoiceKind, tid: Tid) -> Decision {
        Decision { kind, tid, options: std::sync::Arc::default() }
    }
}

/// A run's recorded schedule in one byte per decision: the kind (top two bits) and the
/// index of the option chosen (low six bits) when it is below 63; above, the low bits are
/// 63 and the index minus 63 follows as a LEB128 varint. Options and thread ids are not
/// stored: a replay recomputes the options (the run is deterministic) and takes the
/// recorded index among them. `RunReport::schedule` holds it; `RunReport::decisions`
/// holds the expanded list (kind, thread, options) unless `Config::decision_record` is
/// `DecisionRecord::Schedule`; [`ReplaySchedule`] replays it.
///
/// JSON: the bytes as a lower-case hex string.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Schedule {
    bytes: Vec<u8>,
    len: usize,
}

/// The index bits of a schedule byte that mean "the index follows as a varint".
const SCHEDULE_ESCAPE: u8 = 63;

impl ChoiceKind {
    fn code(self) -> u8 {
        match self {
            ChoiceKind::Thread => 0,
            ChoiceKind::Waiter => 1,
            ChoiceKind::Data => 2,
            ChoiceKind::Network => 3,
        }
    }
    fn from_code(code: u8) -> ChoiceKind {
        match code & 3 {
            0 => ChoiceKind::Thread,
            1 => ChoiceKind::Waiter,
            2 => ChoiceKind::Data,
            _ => ChoiceKind::Network,
        }
    }
}

impl Schedule {
    /// An empty schedule.
    pub fn new() -> Schedule {
        Schedule::default()
    }
    /// An empty schedule with room for `bytes` bytes.
    pub(crate) fn with_capacity(bytes: usize) -> Schedule {
        Schedule { bytes: Vec::with_capacity(bytes), len: 0 }
    }

    /// This schedule with its byte buffer passed through `f` (which keeps its contents).
    pub(crate) fn map_bytes(mut self, f: impl FnOnce(Vec<u8>) -> Vec<u8>) -> Schedule {
        self.bytes = f(std::mem::take(&mut self.bytes));
        self
    }

    /// Records a decision: option `index` chosen at a choice of `kind`.
    pub fn push(&mut self, kind: ChoiceKind, index: usize) {
        let head = kind.code() << 6;
        if index < usize::from(SCHEDULE_ESCAPE) {
            // Fits: the index is below 63.
            self.bytes.push(head | index as u8);
        } else {
            self.push_escaped(head, index);
        }
        self.len += 1;
    }

    /// An index of 63 or more: the escape, then the rest as a varint (out of line: a
    /// choice among more than 63 options is rare, and a decision is recorded at every
    /// choice).
    #[cold]
    #[inline(never)]
    fn push_escaped(&mut self, head: u8, index: usize) {
        self.bytes.push(head | SCHEDULE_ESCAPE);
        let mut rest = (index - usize::from(SCHEDULE_ESCAPE)) as u64;
        loop {
            let b = (rest & 0x7f) as u8;
            rest >>= 7;
            if rest == 0 {
                self.bytes.push(b);
                break;
            }
            self.bytes.push(b | 0x80);
        }
    }
    /// Decisions recorded.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether no decision is recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The encoded bytes (one per decision whose index is below 63).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The schedule these bytes encode, or `None` if they are not a well-formed encoding
    /// (a varint cut short or longer than 64 bits).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Schedule> {
        let mut it = ScheduleIter { bytes: &bytes, pos: 0, broken: false };
        let mut len = 0;
        while it.next().is_some() {
            len += 1;
        }
        if it.broken {
            return None;
        }
        Some(Schedule { bytes, len })
    }
    /// The decisions in order: kind and index of the option chosen.
    pub fn iter(&self) -> impl Iterator<Item = (ChoiceKind, usize)> + '_ {
        ScheduleIter { bytes: &self.bytes, pos: 0, broken: false }
    }
    /// The first `n` decisions.
    pub fn prefix(&self, n: usize) -> Schedule {
        let mut s = Schedule::new();
        for (k, i) in self.iter().take(n) {
            s.push(k, i);
        }
        s
    }
    /// FNV-1a over the bytes: equal schedules of one program are equal runs.
    pub fn hash64(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in &self.bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
    /// Drops every decision, keeping the buffer.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.len = 0;
    }
}

struct ScheduleIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    broken: bool,
}

impl Iterator for ScheduleIter<'_> {
    type Item = (ChoiceKind, usize);
    fn next(&mut self) -> Option<(ChoiceKind, usize)> {
        let &head = self.bytes.get(self.pos)?;
        self.pos += 1;
        let kind = ChoiceKind::from_code(head >> 6);
        let low = head & SCHEDULE_ESCAPE;
        if low < SCHEDULE_ESCAPE {
            return Some((kind, usize::from(low)));
        }
        let mut rest: u64 = 0;
        let mut shift = 0;
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                self.broken = true;
                return None;
            };
            self.pos += 1;
            if shift > 63 {
                self.broken = true;
                return None;
            }
            rest |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let index = usize::try_from(rest).ok().and_then(|r| r.checked_add(usize::from(SCHEDULE_ESCAPE)));
        match index {
            Some(i) => Some((kind, i)),
            None => {
                self.broken = true;
                None
            }
        }
    }
}

impl Serialize for Schedule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = String::with_capacity(self.bytes.len() * 2);
        for b in &self.bytes {
            hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s.serialize_str(&hex)
    }
}

impl<'de> Deserialize<'de> for Schedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Schedule, D::Error> {
        let hex = String::deserialize(d)?;
        let digit = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
        let raw = hex.as_bytes();
        if raw.len() % 2 != 0 {
            return Err(serde::de::Error::custom("a schedule is an even number of hex digits"));
        }
        let mut bytes = Vec::with_capacity(raw.len() / 2);
        for pair in raw.chunks(2) {
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => bytes.push(h << 4 | l),
                _ => return Err(serde::de::Error::custom("a schedule is hex digits")),
            }
        }
        Schedule::from_bytes(bytes).ok_or_else(|| serde::de::Error::custom("a schedule's varint is cut short"))
    }
}

/// Replays a recorded [`Schedule`]: at each choice, the recorded index among the options
/// the replay computes. A choice of another kind, or an index past the options, is a
/// divergence (`None`).
pub struct ReplaySchedule {
    schedule: Schedule,
    /// The byte offset of the next decision.
    pos: usize,
}

impl ReplaySchedule {
    /// A strategy that makes exactly the decisions of `schedule`, in order.
    pub fn new(schedule: Schedule) -> ReplaySchedule {
        ReplaySchedule { schedule, pos: 0 }
    }
}

impl Strategy for ReplaySchedule {
    fn new_execution(&mut self) -> bool {
        self.pos = 0;
        true
    }

    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        let mut it = ScheduleIter { bytes: &self.schedule.bytes, pos: self.pos, broken: false };
        let (kind, i) = it.next()?;
        if kind != point.kind || i >= point.options.len() {
            return None;
        }
        self.pos = it.pos;
        Some(i)
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
        StrategyConfig::ReplaySchedule { schedule } => Box::new(ReplaySchedule::new(schedule.clone())),
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

impl RandomStrategy {
    /// The index this strategy picks among `options` for a choice of `kind` (`pick`,
    /// and the kernel's own copy of a configured random strategy, which calls it without
    /// a `ChoicePoint` or a virtual call: `Kernel::choose`).
    #[inline]
    pub(crate) fn pick_index(&mut self, kind: ChoiceKind, options: &[Tid]) -> usize {
        if kind == ChoiceKind::Network {
            return network_pick(options, self.rng.random_range(0..1000));
        }
        self.pick_among(options.len())
    }

    /// The index this strategy picks for a thread, waiter or data choice among `n`
    /// options (`pick_index` without the list: `Kernel::choose_thread_in`).
    #[inline(always)]
    pub(crate) fn pick_among(&mut self, n: usize) -> usize {
        // A `usize` range below 2^32 is sampled as a `u32` range (rand's `UniformUsize`,
        // for portability): asking for the `u32` range directly is the same draw, and
        // small enough to be inlined into the calls' polls (issue 13).
        match u32::try_from(n) {
            Ok(n) => self.rng.random_range(0..n) as usize,
            Err(_) => self.rng.random_range(0..n),
        }
    }
}

impl Strategy for RandomStrategy {
    fn pick(&mut self, point: &ChoicePoint<'_>) -> Option<usize> {
        Some(self.pick_index(point.kind, point.options))
    }
}

/// The strategy box of a kernel that holds its configured random strategy itself
/// (`Kernel::random`): every hook is the default, as `RandomStrategy`'s are, and it is
/// never asked to pick.
pub(crate) struct HeldRandom;

impl Strategy for HeldRandom {
    fn pick(&mut self, _point: &ChoicePoint<'_>) -> Option<usize> {
        panic!("simulator bug: the kernel's random strategy was asked through its placeholder")
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
    fn a_schedule_is_one_byte_per_decision_below_63_options() {
        let mut s = Schedule::new();
        let kinds = [ChoiceKind::Thread, ChoiceKind::Waiter, ChoiceKind::Data, ChoiceKind::Network];
        for i in 0..63 {
            s.push(kinds[i % 4], i);
        }
        assert_eq!((s.len(), s.bytes().len()), (63, 63));
        let back: Vec<_> = s.iter().collect();
        assert_eq!(back, (0..63).map(|i| (kinds[i % 4], i)).collect::<Vec<_>>());
    }

    #[test]
    fn a_schedule_escapes_large_indices_and_round_trips() {
        let mut s = Schedule::new();
        let picks =
            [(ChoiceKind::Thread, 62), (ChoiceKind::Data, 63), (ChoiceKind::Waiter, 200), (ChoiceKind::Data, 70_000)];
        for (k, i) in picks {
            s.push(k, i);
        }
        // 62: one byte; 63: escape + varint 0; 200: escape + 137 (two varint bytes);
        // 70,000: escape + 69,937 (three varint bytes).
        assert_eq!(s.bytes().len(), 1 + 2 + 3 + 4);
        assert_eq!(s.iter().collect::<Vec<_>>(), picks.to_vec());
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with("\"3e"), "{json}");
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(Schedule::from_bytes(s.bytes().to_vec()), Some(s.clone()));
        assert_eq!(s.prefix(2).iter().collect::<Vec<_>>(), picks[..2].to_vec());
    }

    #[test]
    fn a_broken_schedule_is_refused_not_a_panic() {
        // An escape with its varint cut short.
        assert_eq!(Schedule::from_bytes(vec![0x3f]), None);
        assert_eq!(Schedule::from_bytes(vec![0x3f, 0x80]), None);
        // A varint longer than 64 bits.
        assert_eq!(Schedule::from_bytes([&[0x3fu8][..], &[0xff; 11]].concat()), None);
        assert!(serde_json::from_str::<Schedule>("\"3f\"").is_err());
        assert!(serde_json::from_str::<Schedule>("\"0\"").is_err());
        assert!(serde_json::from_str::<Schedule>("\"zz\"").is_err());
    }

    #[test]
    fn a_schedule_replay_takes_the_recorded_index_and_diverges_on_another_kind() {
        let mut s = Schedule::new();
        s.push(ChoiceKind::Thread, 1);
        s.push(ChoiceKind::Thread, 5);
        let mut r = ReplaySchedule::new(s);
        assert_eq!(r.pick(&point(ChoiceKind::Thread, &[4, 8])), Some(1));
        // Index 5 among two options: the replay diverged.
        assert_eq!(r.pick(&point(ChoiceKind::Thread, &[4, 8])), None);
        let mut s = Schedule::new();
        s.push(ChoiceKind::Waiter, 0);
        assert_eq!(ReplaySchedule::new(s).pick(&point(ChoiceKind::Thread, &[4, 8])), None);
    }

    #[test]
    fn replay_diverges_on_unknown_thread() {
        let mut s = Replay::new(vec![Decision::new(ChoiceKind::Thread, 99)]);
        assert_eq!(s.pick(&point(ChoiceKind::Thread, &[4, 8])), None);
    }
}
