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
use rand::{Rng, RngCore, SeedableRng};
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
    /// a replay needs only `kind` and `tid`. Read it as a slice (`DecisionOptions` dereferences to
    /// `[Tid]`); up to two options are held in place, longer lists are shared between
    /// consecutive decisions among the same options.
    #[serde(default, skip_serializing_if = "options_are_empty")]
    pub options: DecisionOptions,
}

fn options_are_empty(o: &DecisionOptions) -> bool {
    o.is_empty()
}

impl Decision {
    /// A decision with no recorded options (the form older recordings have).
    pub fn new(kind: ChoiceKind, tid: Tid) -> Decision {
        Decision { kind, tid, options: DecisionOptions::default() }
    }
}

/// The options offered at a recorded decision: sorted thread ids (or, for
/// `ChoiceKind::Data` and `ChoiceKind::Network`, the values offered), read as a slice
/// through `Deref<Target = [Tid]>`.
///
/// Up to two options, the usual case (two threads, or a fault or none), are held in place:
/// recording such a decision neither allocates nor touches a shared count. Longer lists
/// are one shared buffer (`Arc`), which the kernel hands to each decision among the same
/// threads. (Issue 13: with an `Arc` at every decision, its atomic increment at the record
/// was among the step's hottest instructions in perf's samples, and the decrements at the
/// report's drop took 3% of a mutex + events run.)
/// The value is 16 bytes either way, so a `Decision` stays 24.
#[derive(Clone)]
pub struct DecisionOptions(OptionsRepr);

#[derive(Clone)]
enum OptionsRepr {
    /// Up to two ids; `DecisionOptions::ABSENT` marks an unused place (only at the end). A list
    /// holding `ABSENT` itself is kept `Shared`.
    Inline([Tid; 2]),
    Shared(std::sync::Arc<[Tid]>),
}

impl DecisionOptions {
    /// The mark of an unused inline place. Thread ids are multiples of four, so never
    /// this; a value list holding it is shared instead (`DecisionOptions::from`).
    const ABSENT: Tid = Tid::MAX;

    /// The empty list.
    pub const fn new() -> DecisionOptions {
        DecisionOptions(OptionsRepr::Inline([Self::ABSENT; 2]))
    }

    /// One option, held in place.
    #[inline(always)]
    pub(crate) fn one(a: Tid) -> DecisionOptions {
        debug_assert!(a != Self::ABSENT);
        DecisionOptions(OptionsRepr::Inline([a, Self::ABSENT]))
    }

    /// Two options, held in place (`a < b`, as the kernel lists them).
    #[inline(always)]
    pub(crate) fn two(a: Tid, b: Tid) -> DecisionOptions {
        debug_assert!(a != Self::ABSENT && b != Self::ABSENT);
        DecisionOptions(OptionsRepr::Inline([a, b]))
    }

    /// Whether this list and `other` are one shared buffer (never for lists held in
    /// place). For measuring a decision list's memory.
    pub fn shares_buffer_with(&self, other: &DecisionOptions) -> bool {
        match (&self.0, &other.0) {
            (OptionsRepr::Shared(a), OptionsRepr::Shared(b)) => std::sync::Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Whether the list is held in place (two options or fewer), not in a buffer.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, OptionsRepr::Inline(_))
    }

    /// The list, as a slice.
    #[inline(always)]
    pub fn as_slice(&self) -> &[Tid] {
        match &self.0 {
            OptionsRepr::Inline(ids) => {
                let n = if ids[0] == Self::ABSENT {
                    0
                } else if ids[1] == Self::ABSENT {
                    1
                } else {
                    2
                };
                &ids[..n]
            }
            OptionsRepr::Shared(list) => list,
        }
    }
}

impl Default for DecisionOptions {
    fn default() -> DecisionOptions {
        DecisionOptions::new()
    }
}

impl std::ops::Deref for DecisionOptions {
    type Target = [Tid];
    #[inline(always)]
    fn deref(&self) -> &[Tid] {
        self.as_slice()
    }
}

impl AsRef<[Tid]> for DecisionOptions {
    fn as_ref(&self) -> &[Tid] {
        self.as_slice()
    }
}

impl DecisionOptions {
    /// `list` held in place, if it can be: at most two, with no `Tid::MAX` among them.
    fn in_place(list: &[Tid]) -> Option<DecisionOptions> {
        match *list {
            [] => Some(DecisionOptions::new()),
            [a] if a != DecisionOptions::ABSENT => Some(DecisionOptions::one(a)),
            [a, b] if a != DecisionOptions::ABSENT && b != DecisionOptions::ABSENT => Some(DecisionOptions::two(a, b)),
            _ => None,
        }
    }
}

impl From<&[Tid]> for DecisionOptions {
    /// Held in place when at most two, with no `Tid::MAX` among them; else a new buffer.
    fn from(list: &[Tid]) -> DecisionOptions {
        DecisionOptions::in_place(list)
            .unwrap_or_else(|| DecisionOptions(OptionsRepr::Shared(std::sync::Arc::from(list))))
    }
}

impl From<Vec<Tid>> for DecisionOptions {
    fn from(list: Vec<Tid>) -> DecisionOptions {
        DecisionOptions::from(&list[..])
    }
}

impl<const N: usize> From<[Tid; N]> for DecisionOptions {
    fn from(list: [Tid; N]) -> DecisionOptions {
        DecisionOptions::from(&list[..])
    }
}

impl From<std::sync::Arc<[Tid]>> for DecisionOptions {
    /// Shares `list` when it is longer than two (or holds `Tid::MAX`); else holds it in place.
    fn from(list: std::sync::Arc<[Tid]>) -> DecisionOptions {
        DecisionOptions::in_place(&list).unwrap_or(DecisionOptions(OptionsRepr::Shared(list)))
    }
}

impl std::fmt::Debug for DecisionOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for DecisionOptions {
    fn eq(&self, other: &DecisionOptions) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for DecisionOptions {}

impl PartialOrd for DecisionOptions {
    fn partial_cmp(&self, other: &DecisionOptions) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DecisionOptions {
    fn cmp(&self, other: &DecisionOptions) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl std::hash::Hash for DecisionOptions {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl Serialize for DecisionOptions {
    /// As the list (the form an `Arc<[Tid]>` had).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'de> Deserialize<'de> for DecisionOptions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<DecisionOptions, D::Error> {
        Vec::<Tid>::deserialize(d).map(DecisionOptions::from)
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

    /// `push` of an index below 63 (one byte, no escape): the choice between two threads
    /// (`Kernel::choose_thread_in`; issue 13: no test of the index there).
    #[inline(always)]
    pub(crate) fn push_small(&mut self, kind: ChoiceKind, index: u8) {
        debug_assert!(index < SCHEDULE_ESCAPE);
        self.bytes.push(kind.code() << 6 | index);
        self.len += 1;
    }

    /// Records a decision: option `index` chosen at a choice of `kind`.
    pub fn push(&mut self, kind: ChoiceKind, index: usize) {
        if index < usize::from(SCHEDULE_ESCAPE) {
            // Fits: the index is below 63.
            self.push_small(kind, index as u8);
        } else {
            self.push_escaped(kind.code() << 6, index);
            self.len += 1;
        }
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

    /// Makes this strategy `RandomStrategy::new(seed)` again, in place (a kernel reuses the
    /// last one's box: `Kernel::build`).
    pub(crate) fn reseed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.rng.set_stream(1);
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

    /// `pick_among(2)`, the usual choice, as rand computes it for that range: one `u32`
    /// drawn and multiplied by 2, its high half the index (the draw's top bit). The
    /// product's low half is even, so never above 2^32 - 2, where rand would draw again
    /// to remove a bias: one draw, always (issue 13: rand's general sampling, a multiply,
    /// a comparison and a branch to a second draw, is about ten instructions, at every
    /// decision). `picks_of_two_are_rands` checks it against rand.
    #[inline(always)]
    pub(crate) fn pick_of_two(&mut self) -> usize {
        (self.rng.next_u32() >> 31) as usize
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

    /// `pick_of_two` is rand's `random_range(0..2)` on the same generator: the same index
    /// from the same draws, and the generator left in the same state (issue 13: it stands
    /// for rand's general sampling at every choice between two threads, so every seed's
    /// schedule depends on it).
    #[test]
    fn picks_of_two_are_rands() {
        for seed in [0u64, 1, 7, 42, 0xdead_beef, u64::MAX] {
            let (mut ours, mut rands) = (RandomStrategy::new(seed), RandomStrategy::new(seed));
            let mut ones = 0;
            for _ in 0..20_000 {
                let i = ours.pick_of_two();
                assert_eq!(i, rands.rng.random_range(0..2u32) as usize, "seed {seed}");
                ones += i;
            }
            assert_eq!(ours.rng.next_u64(), rands.rng.next_u64(), "seed {seed}: the generators drifted apart");
            assert!((9_000..11_000).contains(&ones), "seed {seed}: {ones} ones in 20,000 picks");
        }
        // And `pick_among(2)`, the general path's draw, gives the same.
        let (mut ours, mut general) = (RandomStrategy::new(5), RandomStrategy::new(5));
        for _ in 0..1_000 {
            assert_eq!(ours.pick_of_two(), general.pick_among(2));
        }
    }

    /// A strategy reseeded in place (a kernel's reuse of the last one's box) draws what a
    /// new one of that seed draws, whatever the old one had drawn (part of a block, or
    /// another stream's).
    #[test]
    fn a_reseeded_strategy_is_a_new_one() {
        for (old, seed) in [(9u64, 5u64), (5, 5), (0, u64::MAX)] {
            let mut reused = RandomStrategy::new(old);
            for _ in 0..37 {
                reused.rng.next_u32();
            }
            reused.reseed(seed);
            let mut fresh = RandomStrategy::new(seed);
            for _ in 0..300 {
                assert_eq!(reused.rng.next_u32(), fresh.rng.next_u32(), "seed {seed} after {old}");
            }
            assert_eq!(reused.pick_of_two(), fresh.pick_of_two());
        }
    }

    /// `DecisionOptions` reads as the list it was made from, held in place up to two
    /// options (no `Tid::MAX` among them) and in a shared buffer past that; it compares,
    /// orders and serializes as that list, the form `Arc<[Tid]>` had (issue 13).
    #[test]
    fn decision_options_are_their_list() {
        let lists: [&[Tid]; 7] = [&[], &[4], &[0, 8], &[0, 4, 8], &[Tid::MAX], &[3, Tid::MAX], &[0, 100]];
        for &list in &lists {
            let o = DecisionOptions::from(list);
            assert_eq!(&*o, list);
            assert_eq!(o.len(), list.len());
            let inline = list.len() <= 2 && !list.contains(&Tid::MAX);
            assert_eq!(o.is_inline(), inline, "{list:?}");
            assert_eq!(DecisionOptions::from(std::sync::Arc::<[Tid]>::from(list)), o);
            assert_eq!(DecisionOptions::from(list.to_vec()), o);
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, serde_json::to_string(list).unwrap());
            assert_eq!(serde_json::from_str::<DecisionOptions>(&json).unwrap(), o);
            assert_eq!(format!("{o:?}"), format!("{list:?}"));
        }
        for a in lists {
            for b in lists {
                assert_eq!(DecisionOptions::from(a).cmp(&DecisionOptions::from(b)), a.cmp(b));
            }
        }
        assert_eq!(DecisionOptions::default().as_slice(), &[] as &[Tid]);
        assert_eq!(std::mem::size_of::<DecisionOptions>(), 16);
        // A shared list is one buffer between its clones; lists held in place share none.
        let long = DecisionOptions::from(&[0, 4, 8][..]);
        assert!(long.shares_buffer_with(&long.clone()));
        assert!(!long.shares_buffer_with(&DecisionOptions::from(&[0, 4, 8][..])));
        let two = DecisionOptions::two(0, 4);
        assert!(!two.shares_buffer_with(&two.clone()));
        // A decision recorded with its options stays 24 bytes, as with the `Arc`.
        assert_eq!(std::mem::size_of::<Decision>(), 24);
        // A decision without options (an older recording) reads and writes as before.
        let d: Decision = serde_json::from_str(r#"{"kind":"thread","tid":4}"#).unwrap();
        assert_eq!(d, Decision::new(ChoiceKind::Thread, 4));
        assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"kind":"thread","tid":4}"#);
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
