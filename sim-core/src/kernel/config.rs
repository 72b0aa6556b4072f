//! Run configuration: strategy, limits, options.

use super::sched::Decision;
use serde::{Deserialize, Serialize};

/// Which scheduler picks the next thread at each schedule point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StrategyConfig {
    /// Seeded uniform random choice (ChaCha8, seed as given).
    Random {
        /// The seed; the same seed gives the same run.
        seed: u64,
    },
    /// Round-robin over runnable threads in thread-id order.
    RoundRobin,
    /// PCT (Burckhardt et al., ASPLOS 2010): random thread priorities, the highest-priority
    /// runnable thread runs, and `depth - 1` times, at random steps among the first
    /// `steps`, the running thread drops to the lowest priority. A bug of depth `depth`
    /// is found by one run with probability at least 1/(n·steps^(depth-1)) for n threads.
    Pct {
        /// The seed of the priorities and change points.
        seed: u64,
        /// The bug depth d targeted (d - 1 priority change points).
        depth: u32,
        /// The estimated number of choices k a run makes (change points fall among them).
        steps: u64,
    },
    /// Replays a recorded decision list exactly.
    Replay {
        /// The decisions recorded by an earlier run (`RunReport::decisions`).
        decisions: Vec<Decision>,
    },
    /// Replays a recorded schedule exactly (`RunReport::schedule`, one byte a decision).
    ReplaySchedule {
        /// The schedule recorded by an earlier run.
        schedule: super::sched::Schedule,
    },
}

/// Which waiter wins when one signal can satisfy only some of the threads waiting for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum WaiterOrder {
    /// The scheduler decides (recorded and replayed like any decision). Windows promises
    /// no FIFO order: kernel APCs reorder wait lists.
    #[default]
    Scheduler,
    /// The thread that began waiting first wins (the textbook order).
    Fifo,
}

/// What reaching a limit does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum LimitAction {
    /// The run ends with `Outcome::LimitExceeded` (the default: a limit is winsim's, not
    /// the program's).
    #[default]
    EndRun,
    /// The call that reaches it fails with the error Windows gives when that resource runs
    /// out (`LimitKind::win32_error`), and the run goes on: a program's out-of-resource
    /// paths become testable.
    FailCall,
}

/// Limits and options of one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The scheduling strategy.
    pub strategy: StrategyConfig,
    /// Waiter choice among competing waiters.
    pub waiter_order: WaiterOrder,
    /// The run ends with `Outcome::StepLimit` after this many kernel steps (API calls).
    pub steps_max: u64,
    /// Threads that may be alive at once (`Outcome::LimitExceeded` beyond).
    pub threads_max: u32,
    /// Processes that may ever be created in one run.
    pub processes_max: u32,
    /// Open handles per process.
    pub handles_max: usize,
    /// Bytes a single ReadFile/WriteFile/PeekNamedPipe may move (bytes actually moved, not
    /// the buffer's size). Windows would accept more; winsim ends the run with
    /// `Outcome::LimitExceeded` rather than allocate without bound.
    pub io_bytes_max: u32,
    /// Unread bytes all pipes and mailslots together may hold (docs/semantics.md §18.19).
    /// Windows would let a pipe with a huge
    /// nSize keep accepting writes; winsim ends the run with `Outcome::LimitExceeded`
    /// rather than grow without bound.
    pub pipe_bytes_max: u64,
    /// Record the trace (turn off for fast sweeps).
    pub trace: bool,
    /// Trace events kept. Past this, the oldest half is dropped (counted in
    /// `RunReport::trace_dropped`): the end of a long run, where a hang shows, is kept,
    /// and a long run cannot exhaust memory through its trace.
    pub trace_events_max: usize,
    /// Run `Kernel::check_invariants` after every step (on by default in debug builds).
    pub check_invariants: bool,
    /// What reaching a limit does.
    pub limit_action: LimitAction,
    /// The virtual system time at boot, as a FILETIME (100-ns units since 1601-01-01 UTC):
    /// GetSystemTimeAsFileTime and absolute SetWaitableTimer due times count from it.
    pub system_time_start: u64,
    /// Posted messages a message queue holds before PostMessage fails with
    /// ERROR_NOT_ENOUGH_QUOTA: 10,000, Windows' default (USERPostMessageLimit, §17.A4).
    #[serde(default = "default_posted_messages_max")]
    pub posted_messages_max: u32,
    /// Windows a process may own (Windows' USER handle quota, 10,000 by default):
    /// CreateWindowEx fails with ERROR_NO_MORE_USER_HANDLES beyond.
    #[serde(default = "default_windows_max")]
    pub windows_max: u32,
    /// SetTimer timers per thread (ERROR_NO_MORE_USER_HANDLES beyond, §17.N5).
    #[serde(default = "default_windows_max")]
    pub user_timers_max: u32,
    /// Sent messages a thread may be running, nested, when it sends another: beyond, the
    /// limit is reached (a SendMessage ping-pong that never ends).
    #[serde(default = "default_message_nesting_max")]
    pub message_nesting_max: u32,
    /// Bytes of section pages (pagefile-backed file mappings and their private
    /// copy-on-write copies) that writes may materialise in one run (§19.20). A section
    /// costs nothing until a page is written; reaching the cap ends the run with
    /// `Outcome::LimitExceeded` (a store has no error to return, so `LimitAction::FailCall`
    /// ends the run too).
    #[serde(default = "default_section_bytes_max")]
    pub section_bytes_max: u64,
    /// The widest access to simulated memory that is one atomic step: a read or write of
    /// simulated memory is split into naturally aligned parts of at most this many bytes
    /// (a power of two from 1 to 4096; other values are rounded down into that range), with
    /// a schedule point between parts, so a torn read is reproducible by seed (§19.24).
    /// Default 8: naturally aligned accesses up to 8 bytes never tear, as on x64.
    #[serde(default = "default_memory_atomic_bytes")]
    pub memory_atomic_bytes: u32,
    /// Sockets one process may hold (socket and accept): beyond it the run ends with
    /// `LimitKind::Sockets` (or the call fails with WSAEMFILE under `LimitAction::FailCall`).
    #[serde(default = "default_sockets_max")]
    pub sockets_max: u32,
    /// How long a blocking connect to a loopback port nobody listens on retries before
    /// WSAECONNREFUSED: Windows resends the SYN after each reset, about 2 s in all
    /// (TEACHING-CASES item 22a; docs/semantics.md §22.6). 0 refuses at once, as Linux does.
    #[serde(default = "default_connect_refusal_ms")]
    pub connect_refusal_ms: u32,
    /// How long a blocking connect to an address no host answers waits before
    /// WSAETIMEDOUT: 21 s, three SYNs 3, 6 and 12 s apart [inferred: TcpMaxConnectRetransmissions 2].
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u32,
    /// Whether the scheduler decides how many of the available bytes a recv on a stream
    /// socket returns (`ChoiceKind::Data`); off, a recv takes all it can.
    #[serde(default = "default_true")]
    pub stream_splits: bool,
    /// The data-race detector (docs/semantics.md §25): `Stop` (default) ends the run with
    /// `Outcome::DataRace` at the first race, `Record` lists races in `RunReport::races`
    /// and goes on, `Off` tracks nothing.
    #[serde(default)]
    pub race_detection: super::race::RaceDetection,
    /// How many steps before `steps_max` the kernel starts watching for a livelock
    /// (`kernel/livelock.rs`, docs/exploration.md): a run that reaches the limit with every
    /// running thread repeating one cycle of calls and results, and no data moving, ends
    /// with `Outcome::Livelock` instead of `Outcome::StepLimit`. 0 turns the watch off.
    #[serde(default = "default_livelock_window")]
    pub livelock_window: u64,
    /// Bytes of private memory (VirtualAlloc commits and heap segments) that may be
    /// committed at once in one run (§29.6): past it VirtualAlloc fails with
    /// ERROR_COMMITMENT_LIMIT and HeapAlloc returns NULL, as when Windows' commit limit
    /// is reached. A failed allocation does not end the run.
    #[serde(default = "default_private_bytes_max")]
    pub private_bytes_max: u64,
    /// Whether a thread sleeping in SleepConditionVariableCS/SRW may wake spuriously: the
    /// scheduler then decides, as a recorded choice, whether each sleeping waiter wakes
    /// without a Wake call (returning TRUE with its lock re-acquired, §29.20). Off by
    /// default: waiters wake only when woken or timed out.
    #[serde(default)]
    pub spurious_wakeups: bool,
    /// Hosts and the simulated network between them (docs/semantics.md §27). Empty by
    /// default: one host, loopback only, no faults.
    #[serde(default)]
    pub network: NetworkConfig,
    /// The in-memory volume's capacity: the sum of the sizes of its files (§28.20). A
    /// write, SetEndOfFile or file-backed CreateFileMapping that would pass it fails with
    /// ERROR_DISK_FULL, as on a full disk, and the run goes on. Storage is sparse: only
    /// written 4 KiB pages cost memory, so a large cap costs nothing until it is used.
    #[serde(default = "default_volume_bytes_max")]
    pub volume_bytes_max: u64,
    /// Files on the volume when the run starts (`Sim::file` adds to it), by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<crate::objects::file::VolumeFile>,
    /// What a run records of its decisions: `Full` (default) fills both
    /// `RunReport::decisions` (kind, thread, options) and `RunReport::schedule` (one byte
    /// a decision); `Schedule` only the schedule (sweeps, which expand the one run they
    /// report).
    #[serde(default, skip_serializing_if = "DecisionRecord::is_full")]
    pub decision_record: DecisionRecord,
}

/// What a run records of its scheduler decisions (`Config::decision_record`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRecord {
    /// `RunReport::decisions` (each decision's kind, thread and options) and
    /// `RunReport::schedule`.
    #[default]
    Full,
    /// `RunReport::schedule` only: one byte per decision, no list.
    Schedule,
}

impl DecisionRecord {
    fn is_full(&self) -> bool {
        *self == DecisionRecord::Full
    }
}

fn default_livelock_window() -> u64 {
    2048
}

fn default_private_bytes_max() -> u64 {
    256 << 20
}

/// A host of a multi-host simulation (docs/semantics.md §27.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostConfig {
    /// Its name (`Sim::start_on` names it). `local` is the default host, where the first
    /// process runs.
    pub name: String,
    /// Its IPv4 addresses besides 127.0.0.1 (each on one host only).
    pub addrs: Vec<[u8; 4]>,
}

/// The link between two hosts, in one direction or both (docs/semantics.md §27.4).
/// Probabilities are in permille (0: never, 1000: always); each fault is a scheduler
/// decision (`ChoiceKind::Network`) made only when its probability is between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkConfig {
    /// The sending host.
    pub from: String,
    /// The receiving host.
    pub to: String,
    /// The same settings apply from `to` to `from`.
    #[serde(default = "default_true")]
    pub both_ways: bool,
    /// One-way delay in virtual milliseconds.
    #[serde(default)]
    pub latency_ms: u32,
    /// Bytes the link carries per virtual millisecond (None: unlimited).
    #[serde(default)]
    pub bandwidth: Option<u32>,
    /// Chance a packet (a datagram, a TCP segment or SYN) is lost, in permille.
    #[serde(default)]
    pub drop_permille: u16,
    /// Chance a datagram arrives twice, in permille (TCP discards duplicates).
    #[serde(default)]
    pub duplicate_permille: u16,
    /// Chance a datagram is held back `reorder_ms` so later ones overtake it, in permille.
    #[serde(default)]
    pub reorder_permille: u16,
    /// How long a reordered datagram is held back (virtual ms).
    #[serde(default = "default_reorder_ms")]
    pub reorder_ms: u32,
}

impl LinkConfig {
    /// A fault-free link with `latency_ms` both ways.
    pub fn new(from: &str, to: &str, latency_ms: u32) -> LinkConfig {
        LinkConfig {
            from: from.into(),
            to: to.into(),
            both_ways: true,
            latency_ms,
            bandwidth: None,
            drop_permille: 0,
            duplicate_permille: 0,
            reorder_permille: 0,
            reorder_ms: default_reorder_ms(),
        }
    }
}

/// A time window during which the link between two hosts carries nothing, either way
/// (docs/semantics.md §27.6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionConfig {
    /// One host.
    pub a: String,
    /// The other host.
    pub b: String,
    /// Start, virtual ms since boot.
    pub from_ms: u64,
    /// End (None: it never heals).
    pub to_ms: Option<u64>,
}

/// The simulated network (docs/semantics.md §27).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// Hosts besides the default one (or `local` itself, to give it addresses).
    #[serde(default)]
    pub hosts: Vec<HostConfig>,
    /// Links; a pair of hosts with none has `default_latency_ms` and no faults.
    #[serde(default)]
    pub links: Vec<LinkConfig>,
    /// Partitions.
    #[serde(default)]
    pub partitions: Vec<PartitionConfig>,
    /// The one-way latency of a link not configured (virtual ms).
    #[serde(default = "default_latency_ms")]
    pub default_latency_ms: u32,
}

impl Default for NetworkConfig {
    fn default() -> NetworkConfig {
        NetworkConfig {
            hosts: Vec::new(),
            links: Vec::new(),
            partitions: Vec::new(),
            default_latency_ms: default_latency_ms(),
        }
    }
}

fn default_latency_ms() -> u32 {
    1
}
fn default_reorder_ms() -> u32 {
    10
}

fn default_volume_bytes_max() -> u64 {
    256 << 20
}

fn default_sockets_max() -> u32 {
    10_000
}
fn default_connect_refusal_ms() -> u32 {
    2000
}
fn default_connect_timeout_ms() -> u32 {
    21_000
}
fn default_true() -> bool {
    true
}

fn default_section_bytes_max() -> u64 {
    256 << 20
}
fn default_memory_atomic_bytes() -> u32 {
    8
}

fn default_posted_messages_max() -> u32 {
    10_000
}
fn default_windows_max() -> u32 {
    10_000
}
fn default_message_nesting_max() -> u32 {
    256
}

/// 2026-01-01 00:00:00 UTC as a FILETIME: the default virtual boot time.
pub const DEFAULT_SYSTEM_TIME_START: u64 = 116_444_736_000_000_000 + 1_767_225_600 * 10_000_000;

impl Config {
    /// A seeded random run with default limits.
    pub fn random(seed: u64) -> Config {
        Config { strategy: StrategyConfig::Random { seed }, ..Config::default() }
    }
    /// A round-robin run with default limits.
    pub fn round_robin() -> Config {
        Config { strategy: StrategyConfig::RoundRobin, ..Config::default() }
    }
    /// A replay of recorded decisions with default limits.
    pub fn replay(decisions: Vec<Decision>) -> Config {
        Config { strategy: StrategyConfig::Replay { decisions }, ..Config::default() }
    }
    /// This configuration with its strategy replaced by a replay of `decisions`: every
    /// other setting (waiter order, limits, trace) stays, so the replay reproduces the run.
    pub fn with_replay(&self, decisions: Vec<Decision>) -> Config {
        Config { strategy: StrategyConfig::Replay { decisions }, ..self.clone() }
    }
    /// This configuration with its strategy replaced by a replay of `schedule` (the
    /// compact record, `RunReport::schedule`).
    pub fn with_schedule(&self, schedule: super::sched::Schedule) -> Config {
        Config { strategy: StrategyConfig::ReplaySchedule { schedule }, ..self.clone() }
    }
    /// A PCT run with default limits (see `StrategyConfig::Pct`).
    pub fn pct(seed: u64, depth: u32, steps: u64) -> Config {
        Config { strategy: StrategyConfig::Pct { seed, depth, steps }, ..Config::default() }
    }
    /// The seed, for a random or PCT strategy.
    pub fn seed(&self) -> Option<u64> {
        match self.strategy {
            StrategyConfig::Random { seed } | StrategyConfig::Pct { seed, .. } => Some(seed),
            _ => None,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            strategy: StrategyConfig::Random { seed: 0 },
            waiter_order: WaiterOrder::Scheduler,
            steps_max: 1_000_000,
            threads_max: 10_000,
            processes_max: 1_000,
            handles_max: 1 << 16,
            io_bytes_max: 64 << 20,
            pipe_bytes_max: 256 << 20,
            trace: true,
            trace_events_max: 500_000,
            check_invariants: cfg!(debug_assertions),
            limit_action: LimitAction::EndRun,
            system_time_start: DEFAULT_SYSTEM_TIME_START,
            posted_messages_max: default_posted_messages_max(),
            windows_max: default_windows_max(),
            user_timers_max: default_windows_max(),
            message_nesting_max: default_message_nesting_max(),
            section_bytes_max: default_section_bytes_max(),
            memory_atomic_bytes: default_memory_atomic_bytes(),
            sockets_max: default_sockets_max(),
            connect_refusal_ms: default_connect_refusal_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            stream_splits: true,
            race_detection: super::race::RaceDetection::Stop,
            livelock_window: default_livelock_window(),
            private_bytes_max: default_private_bytes_max(),
            spurious_wakeups: false,
            network: NetworkConfig::default(),
            volume_bytes_max: default_volume_bytes_max(),
            files: Vec::new(),
            decision_record: DecisionRecord::Full,
        }
    }
}
