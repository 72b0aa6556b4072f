//! Livelock detection: telling a livelock from a long run when a run reaches its step
//! limit (docs/exploration.md, "Livelocks").
//!
//! A program's threads keep state the kernel cannot see, so a repeated kernel state alone
//! does not prove that nothing progresses. What the kernel does see is every call each
//! thread makes and every result it gets back: a thread's future depends on nothing else.
//! So over the last `Config::livelock_window` steps before the limit, the kernel records,
//! per thread, each completed call with its full result (return value, last error, out
//! data). The run is a livelock when
//!
//! - at least one thread made calls in that window, and every thread that did repeats one
//!   cycle of calls, with the same results each time, at least three times over; and
//! - no data moved: no thread took bytes from a pipe, mailslot or socket, retrieved a
//!   window message, dequeued a completion packet, accepted a connection, ran a sent
//!   message or received a Message Queuing message for good (a receive inside a
//!   transaction counts only when the transaction commits).
//!
//! The second condition separates a livelock from a long run that repeats itself while it
//! works (a writer and a reader moving identical chunks through a pipe until the limit).
//! Otherwise the run ends as `Outcome::StepLimit`, as before.
//!
//! A thread whose calls repeat but whose results do not (it reads the clock each round,
//! say) is judged by the kernel's state instead (`Kernel::livelock_state_hash`: no thread
//! positions, times relative to now). Over the last `STATE_TAIL` steps the kernel records
//! the state after each step; the states *return* when every state of the tail's second
//! half was already seen in its first half (under a random schedule the threads' steps
//! interleave differently each round, so the states recur without forming one periodic
//! sequence). Such a thread counts as repeating itself when the APIs it calls form one
//! cycle, three times over, and the states return; the report marks its cycle
//! `results_vary` and shows how many distinct states the tail went through. The report of
//! any livelock shows the returning states when the kernel recorded them (not beyond
//! `STATE_OBJECTS_MAX` objects, where hashing each step would cost too much).
//!
//! Recording starts only `livelock_window` steps before the limit, so runs that end
//! earlier pay one comparison per step for it.

use super::request::{Api, Reply, Request, Value};
use super::{Kernel, Pid, Tid};
use crate::report::{LivelockReport, LivelockStates, LivelockThread};
use std::collections::{BTreeMap, BTreeSet};

/// The steps before the limit over which the kernel's state is recorded.
pub(crate) const STATE_TAIL: u64 = 512;
/// Above this many objects the state is not recorded (each hash formats every object).
const STATE_OBJECTS_MAX: usize = 4096;

/// PM_REMOVE: PeekMessage takes the message off the queue.
const PM_REMOVE: u32 = 0x0001;
/// MQ_ACTION_RECEIVE: MQReceiveMessage takes the message (the peeks are 0x8000_000x).
const MQ_ACTION_RECEIVE: u32 = 0;
/// MQ_SINGLE_MESSAGE: a receive in a transaction of its own, committed at once.
const MQ_SINGLE_MESSAGE: u64 = 3;

/// What the kernel records while it watches for a livelock.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    /// Each thread's completed calls in the window, in order.
    threads: BTreeMap<Tid, ThreadLog>,
    /// Data moved in the window (see the module documentation).
    pub(crate) moved: bool,
    /// The kernel's state after each of the last `STATE_TAIL` steps.
    states: Vec<u64>,
    /// A state was not recorded (too many objects).
    states_skipped: bool,
}

#[derive(Debug, Default)]
struct ThreadLog {
    pid: Pid,
    /// The call the thread is in, and whether its success moves data.
    calling: Option<(Api, Moves)>,
    /// Completed calls: `API -> result`, in words.
    calls: Vec<String>,
    /// The same calls' API names alone.
    apis: Vec<String>,
}

/// Whether a call's result moves data, decided from its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Moves {
    /// By the value it returns (bytes read, a message, packets, a connection).
    ByValue,
    /// Never (a peek, a receive inside a transaction).
    Never,
    /// Always when it succeeds (ITransactionCommit).
    OnSuccess,
}

fn moves_of(req: &Request) -> Moves {
    match req {
        Request::PeekMessage { remove, .. } if remove & PM_REMOVE == 0 => Moves::Never,
        Request::MQReceiveMessage { args } => {
            let (action, transaction) = (args.action, args.transaction);
            let in_transaction = !transaction.is_null() && transaction.0 as u64 != MQ_SINGLE_MESSAGE;
            if action != MQ_ACTION_RECEIVE || in_transaction { Moves::Never } else { Moves::ByValue }
        }
        Request::ITransactionCommit { .. } => Moves::OnSuccess,
        _ => Moves::ByValue,
    }
}

/// Whether a result carries data that left a queue or buffer for good.
fn value_moves(v: &Value) -> bool {
    match v {
        Value::Read(d) => !d.is_empty(),
        Value::Recv(d, _) => !d.is_empty(),
        Value::Packets(p) => !p.is_empty(),
        Value::Msg(_) | Value::Accept(..) | Value::Handoff => true,
        Value::MqReceived(_, m) => m.is_some(),
        _ => false,
    }
}

impl Kernel {
    /// Called for each step once the watch window has begun: notes the call `tid` makes.
    pub(crate) fn watch_call(&mut self, tid: Tid, req: &Request) {
        let pid = self.pid_of(tid);
        let log = self.livelock.get_or_insert_with(Box::default).threads.entry(tid).or_default();
        log.pid = pid;
        log.calling = Some((req.api(), moves_of(req)));
    }

    /// Called when `tid` takes the result of its call, while the window is open.
    pub(crate) fn watch_reply(&mut self, tid: Tid, reply: &Reply) {
        let Some(watch) = self.livelock.as_mut() else { return };
        let Some(log) = watch.threads.get_mut(&tid) else { return };
        let Some((api, moves)) = log.calling.take() else { return };
        let ok = reply.status.succeeded();
        let moved = match moves {
            Moves::ByValue => ok && value_moves(&reply.value),
            Moves::Never => false,
            Moves::OnSuccess => ok,
        };
        watch.moved |= moved;
        let ret = reply.ret(api.ret_kind()).to_string();
        let mut line = if ret.is_empty() { api.name().to_string() } else { format!("{} -> {ret}", api.name()) };
        if let Some(e) = reply.status.last_error() {
            line.push_str(&format!(" ({e})"));
        }
        let outs = reply.value.outs();
        if !outs.is_empty() {
            let outs: Vec<String> = outs.iter().map(|a| format!("{}={}", a.name, a.value)).collect();
            line.push_str(&format!(" [{}]", outs.join(", ")));
        }
        log.calls.push(line);
        log.apis.push(api.name().to_string());
    }

    /// Called after each step while the window is open: records the kernel's state over
    /// the last `STATE_TAIL` steps.
    pub(crate) fn watch_state(&mut self) {
        let tail = STATE_TAIL.min(self.config.livelock_window);
        if self.step + tail <= self.config.steps_max {
            return;
        }
        let state = (self.objects.len() <= STATE_OBJECTS_MAX).then(|| self.livelock_state_hash());
        let watch = self.livelock.get_or_insert_with(Box::default);
        match state {
            Some(h) => watch.states.push(h),
            None => watch.states_skipped = true,
        }
    }

    /// At the step limit: the livelock the window shows, if it shows one.
    pub(crate) fn livelock_report(&self) -> Option<LivelockReport> {
        let watch = self.livelock.as_ref()?;
        if watch.moved {
            return None;
        }
        let states = watch.states_return();
        let mut threads = Vec::new();
        for (&tid, log) in &watch.threads {
            if log.calls.is_empty() {
                continue;
            }
            // The same calls with the same results; or, while the kernel's states return,
            // the same calls with results that vary.
            let (seq, results_vary) = match cycle_period(&log.calls) {
                Some(_) => (&log.calls, false),
                None if states.is_some() => (&log.apis, true),
                None => return None,
            };
            let period = cycle_period(seq)?;
            // The window may start anywhere in a cycle: show it from its least rotation, so
            // the same livelock reads the same whatever the window's alignment.
            let cycle = least_rotation(&seq[..period]);
            let repeats = (seq.len() / period) as u64;
            let image = self.process_image(log.pid);
            threads.push(LivelockThread { pid: log.pid, tid, image, cycle, repeats, results_vary });
        }
        if threads.is_empty() {
            return None;
        }
        Some(LivelockReport { steps: self.step, window: self.config.livelock_window, threads, states })
    }

    fn process_image(&self, pid: Pid) -> String {
        self.exited
            .iter()
            .find(|(p, _, _)| *p == pid)
            .map(|(_, image, _)| image.clone())
            .or_else(|| self.pids.contains_key(&pid).then(|| self.process(pid).image.clone()))
            .unwrap_or_default()
    }
}

impl Watch {
    /// Whether the recorded states return: the whole tail was recorded and every state of
    /// its second half was seen in its first half.
    fn states_return(&self) -> Option<LivelockStates> {
        let n = self.states.len();
        if self.states_skipped || n < 4 {
            return None;
        }
        let first: BTreeSet<u64> = self.states[..n / 2].iter().copied().collect();
        if !self.states[n / 2..].iter().all(|h| first.contains(h)) {
            return None;
        }
        let distinct = self.states.iter().collect::<BTreeSet<_>>().len() as u64;
        Some(LivelockStates { steps: n as u64, distinct })
    }
}

/// The shortest period `p` with `calls[i] == calls[i + p]` throughout and at least three
/// whole repetitions, if there is one.
fn cycle_period(calls: &[String]) -> Option<usize> {
    let n = calls.len();
    (1..=n / 3).find(|&p| (p..n).all(|i| calls[i] == calls[i - p]))
}

/// The rotation of `cycle` that sorts first: a canonical starting point.
fn least_rotation(cycle: &[String]) -> Vec<String> {
    (0..cycle.len())
        .map(|r| cycle[r..].iter().chain(&cycle[..r]).cloned().collect::<Vec<_>>())
        .min()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn periods_need_three_repetitions() {
        assert_eq!(cycle_period(&s(&["a", "b", "a", "b", "a", "b"])), Some(2));
        assert_eq!(cycle_period(&s(&["b", "a", "b", "a", "b", "a", "b"])), Some(2));
        assert_eq!(cycle_period(&s(&["a", "b", "a", "b"])), None);
        assert_eq!(cycle_period(&s(&["a", "a", "a"])), Some(1));
        assert_eq!(cycle_period(&s(&["a", "b", "c", "a", "b", "d", "a", "b", "c"])), None);
        assert_eq!(cycle_period(&[]), None);
    }

    #[test]
    fn cycles_start_at_their_least_rotation() {
        assert_eq!(least_rotation(&s(&["b", "c", "a"])), s(&["a", "b", "c"]));
        assert_eq!(least_rotation(&s(&["a"])), s(&["a"]));
    }

    #[test]
    fn what_moves_data() {
        // PeekMessage moves a message only with PM_REMOVE.
        let peek = |remove| Request::PeekMessage { hwnd: crate::types::HWND::NULL, min: 0, max: 0, remove };
        assert_eq!(moves_of(&peek(0)), Moves::Never);
        assert_eq!(moves_of(&peek(PM_REMOVE)), Moves::ByValue);
        assert!(value_moves(&Value::Read(vec![1])));
        assert!(!value_moves(&Value::Read(Vec::new())));
        assert!(!value_moves(&Value::Bool(true)));
    }
}
