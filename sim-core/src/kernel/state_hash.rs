//! A canonical hash of the kernel's state (`Kernel::state_hash`), for exploration: counting
//! the distinct states a sweep saw, pruning revisits in the exhaustive search, and telling
//! two runs' final states apart.
//!
//! **What is hashed.** Every object (header counts, name, waiters, and its body), every
//! pending operation (with its thread's object), the process and thread ids, the
//! namespaces, the volume, the timer queue (in firing order) and the virtual clock, the id
//! counters, the exit order, user-mode locks, COM, Winsock and Message Queuing state, the
//! window manager's change count, and each thread's *position*: how many call results it
//! has taken and a running hash of all of them (`Positions`, kept only when state hashing
//! is on).
//!
//! **What is left out, because it is an artefact of allocation or a report's memory.**
//! Slot-map keys (`ObjectId`, `OpId`) depend on the order of allocations and frees, which
//! differs between two schedules that reach the same state: they are replaced by
//! canonical labels (objects numbered in order of a walk from the processes, by pid, their
//! handle tables, by handle value, and the threads, by tid, then the namespaces, following
//! every id an object's state names; operations numbered by their thread's label and their
//! own text). Display serials (`event#2`), creation steps, signal records, closed-handle
//! and handle-origin histories, an operation's arguments as displayed, its issue step and
//! trace serial, and timer sequence numbers (their order is kept: the queue is hashed in
//! firing order) are dropped. Handle values, thread and process ids are *not*
//! canonicalised: a program sees them (a handle returned, GetCurrentThreadId), so two
//! states that differ in them are different states.
//!
//! **Limits.** The window manager holds window procedures and is not hashed: its change
//! count (`User::generation`) stands for it, so two different window-manager states
//! reached by as many changes hash alike; a [`StateHash`](super::sched::StateHash) says so
//! (`exact: false`) and the search does not prune on it. Serial numbers inside the user32, Message Queuing and
//! network families (a SetTimer timer's serial, a message's sequence number) are kept as
//! they are: two schedules that number them differently reach states that hash
//! differently (counted twice, never merged wrongly). Thread bodies' own Rust state is
//! invisible; the position stands for it, which is exact for deterministic bodies that
//! share nothing outside winsim objects (docs/exploration.md).

use super::{Kernel, Tid};
use crate::objects::ObjectId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;

/// Fields of objects and operations that are reports' memory or allocation artefacts.
const DROPPED_FIELDS: &[&str] =
    &["serial", "created_step", "closed", "last_signal", "history", "since_step", "timer_seq", "args"];

/// Each thread's position: results taken and a running hash of them (kept while state
/// hashing is on: a deterministic body's local state is a function of these results).
#[derive(Clone, Debug, Default)]
pub(crate) struct Positions {
    pub(crate) threads: BTreeMap<Tid, (u64, u64)>,
}

/// FNV-1a, stable across machines and runs.
pub(crate) fn fnv_extend(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

impl Positions {
    /// `tid` took a call's result (its `Debug` form).
    pub(crate) fn took(&mut self, tid: Tid, reply: &str) {
        let e = self.threads.entry(tid).or_insert((0, FNV_START));
        e.0 += 1;
        e.1 = fnv_extend(fnv_extend(e.1, reply.as_bytes()), &[0xff]);
    }
}

/// Removes `name: value` fields whose name is in `DROPPED_FIELDS` from a `Debug` string
/// (values end at the next `,` or closing bracket at their own depth; strings are skipped
/// whole).
fn drop_fields(s: &str) -> String {
    drop_fields_in(s, DROPPED_FIELDS)
}

/// `drop_fields` for the given field names.
fn drop_fields_in(s: &str, fields: &[&str]) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        // A field starts after `{ ` or `, `.
        let at_field = i >= 2 && (&b[i - 2..i] == b"{ " || &b[i - 2..i] == b", ");
        if at_field && let Some(name) = fields.iter().find(|n| s[i..].starts_with(&format!("{n}: "))) {
            let end = value_end(b, i + name.len() + 2);
            // Drop the field and the separator after it (or before it, at the end).
            if end < b.len() && b[end] == b',' {
                i = end + 2;
            } else {
                if out.ends_with(", ") {
                    out.truncate(out.len() - 2);
                    out.push(' ');
                }
                i = end;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
            }
            continue;
        }
        let c = s[i..].chars().next().unwrap_or(' ');
        if c == '"' {
            let end = string_end(b, i);
            out.push_str(&s[i..end]);
            i = end;
            continue;
        }
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The index just past the string literal starting at `i` (a `"`).
fn string_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

/// The index where a field value starting at `i` ends: a `,` or closing bracket at depth 0.
fn value_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = string_end(b, i);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            b',' if depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The raw ids (`ObjectId(3v1)` → "3v1") of the given kind named in `s`, in order.
fn ids_in<'a>(s: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut v = Vec::new();
    let mut rest = s;
    while let Some(p) = rest.find(prefix) {
        let after = &rest[p + prefix.len()..];
        match after.find(')') {
            Some(e) => {
                v.push(&after[..e]);
                rest = &after[e..];
            }
            None => break,
        }
    }
    v
}

/// Replaces every raw id of the kind `prefix` in `s` by its label (`?` when unknown).
fn relabel(s: &str, prefix: &str, labels: &BTreeMap<String, usize>, tag: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find(prefix) {
        out.push_str(&rest[..p]);
        let after = &rest[p + prefix.len()..];
        match after.find(')') {
            Some(e) => {
                match labels.get(&after[..e]) {
                    Some(l) => {
                        let _ = write!(out, "{tag}{l}");
                    }
                    None => {
                        let _ = write!(out, "{tag}?");
                    }
                }
                rest = &after[e + 1..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn raw(id: ObjectId) -> String {
    let s = format!("{id:?}");
    s.trim_start_matches("ObjectId(").trim_end_matches(')').to_string()
}

impl Kernel {
    /// Turns state hashing on for this run: from now on each thread's call results are
    /// hashed into its position (`state_hash` works without it, with every position 0).
    pub fn track_positions(&mut self) {
        if self.positions.is_none() {
            self.positions = Some(Box::default());
            self.set_plain_until();
        }
    }

    /// A canonical hash of the kernel's state (module docs: what is in it and what is
    /// left out). Two schedules that reach the same state get the same hash, whatever
    /// slots their objects and operations were given. Computed only when asked (it formats
    /// the whole state: for exploration, not for every step).
    pub fn state_hash(&self) -> u64 {
        fnv_extend(FNV_START, self.canonical_state().as_bytes())
    }

    /// The hash of the kernel's state as the livelock watch compares it
    /// (`kernel/livelock.rs`): without thread positions (they grow with every result, so
    /// with them no state ever repeats) or results not yet taken, and with time told relative to now (the clock, the
    /// timer queue's due times, pending operations' deadlines and waitable timers' due
    /// times), so a thread that sleeps 10 ms each round is in the same state each round.
    pub(crate) fn livelock_state_hash(&self) -> u64 {
        fnv_extend(FNV_START, self.canonical_state_as(Canon::Livelock).as_bytes())
    }

    /// The text `state_hash` hashes.
    pub(crate) fn canonical_state(&self) -> String {
        self.canonical_state_as(Canon::Exact)
    }

    fn canonical_state_as(&self, canon_as: Canon) -> String {
        let livelock = canon_as == Canon::Livelock;
        let now = self.now;
        // For the livelock watch, also a thread's result not yet taken: it is the thread's
        // to see (its calls' results are the watch's other witness), and a clock read
        // waiting in it would make every round's state new.
        let timed = |s: String| if livelock { relative_times(&drop_fields_in(&s, &["reply"]), now) } else { s };
        // Raw texts, with reports' memory dropped.
        let mut text: BTreeMap<ObjectId, String> = BTreeMap::new();
        for (id, obj) in self.objects.iter() {
            let hdr = &obj.hdr;
            let waiters: Vec<String> = hdr.waiters.iter().map(|w| format!("{w:?}")).collect();
            let s = format!(
                "h{} r{} n{:?} w[{}] {}",
                hdr.handle_count,
                hdr.ref_count,
                hdr.name,
                waiters.join(","),
                drop_fields(&format!("{:?}", obj.body))
            );
            let s = timed(s);
            text.insert(id, s);
        }
        // Each thread's pending operations, ordered by their text with ids blanked.
        let mut thread_ops: BTreeMap<ObjectId, Vec<(String, String, String)>> = BTreeMap::new();
        for (op_id, op) in self.ops.iter() {
            if let Some(&tid_obj) = self.tids.get(&op.tid) {
                let t = timed(drop_fields(&format!("{op:?}")));
                let blank = relabel(&relabel(&t, "ObjectId(", &BTreeMap::new(), "O"), "OpId(", &BTreeMap::new(), "P");
                let key = format!("{op_id:?}").trim_start_matches("OpId(").trim_end_matches(')').to_string();
                thread_ops.entry(tid_obj).or_default().push((blank, key, t));
            }
        }
        for v in thread_ops.values_mut() {
            v.sort();
        }
        // Canonical object order: a walk from the processes (by pid) and threads (by tid),
        // then the namespaces, following ids in the order each object's text names them.
        let by_raw: BTreeMap<String, ObjectId> = self.objects.keys().map(|id| (raw(id), id)).collect();
        let mut order: Vec<ObjectId> = Vec::new();
        let mut seen: BTreeSet<ObjectId> = BTreeSet::new();
        let mut queue: VecDeque<ObjectId> = VecDeque::new();
        let roots = self
            .pids
            .values()
            .chain(self.tids.values())
            .chain(self.names.values())
            .chain(self.pipe_names.values())
            .chain(self.mailslot_names.values())
            .copied()
            .chain(self.objects.keys());
        for root in roots {
            // A stale id in a table (never expected) is skipped, not a panic.
            if text.contains_key(&root) && seen.insert(root) {
                queue.push_back(root);
            }
            while let Some(id) = queue.pop_front() {
                order.push(id);
                let mut named: Vec<&str> = text.get(&id).map(|t| ids_in(t, "ObjectId(")).unwrap_or_default();
                if let Some(ops) = thread_ops.get(&id) {
                    for (_, _, t) in ops {
                        named.extend(ids_in(t, "ObjectId("));
                    }
                }
                for r in named {
                    if let Some(&next) = by_raw.get(r)
                        && seen.insert(next)
                    {
                        queue.push_back(next);
                    }
                }
            }
        }
        let obj_labels: BTreeMap<String, usize> = order.iter().enumerate().map(|(i, &id)| (raw(id), i)).collect();
        let mut op_labels: BTreeMap<String, usize> = BTreeMap::new();
        for id in &order {
            for (_, key, _) in thread_ops.get(id).into_iter().flatten() {
                let n = op_labels.len();
                op_labels.insert(key.clone(), n);
            }
        }
        let canon = |s: &str| relabel(&relabel(s, "ObjectId(", &obj_labels, "O"), "OpId(", &op_labels, "P");
        let mut out = String::new();
        for (i, id) in order.iter().enumerate() {
            let _ = write!(out, "#{i} {}", canon(text.get(id).map(String::as_str).unwrap_or("")));
            for (_, _, t) in thread_ops.get(id).into_iter().flatten() {
                let _ = write!(out, " op {}", canon(t));
            }
            out.push('\n');
        }
        let _ = writeln!(out, "tids {}", canon(&format!("{:?}", self.tids)));
        let _ = writeln!(out, "pids {}", canon(&format!("{:?}", self.pids)));
        let _ = writeln!(out, "names {}", canon(&format!("{:?}", self.names)));
        let _ = writeln!(out, "pipes {}", canon(&format!("{:?}", self.pipe_names)));
        let _ = writeln!(out, "mailslots {}", canon(&format!("{:?}", self.mailslot_names)));
        let _ = writeln!(out, "volume {}", canon(&drop_fields(&format!("{:?}", self.volume))));
        // The timer queue in firing order, without its sequence numbers.
        let timers: Vec<String> = self
            .timers
            .iter()
            .map(|(due, _, key)| {
                let due = if livelock { due.saturating_sub(now) } else { *due };
                format!("{due}:{}", canon(&format!("{key:?}")))
            })
            .collect();
        if livelock {
            let _ = writeln!(out, "timers {}", timers.join(","));
        } else {
            let _ = writeln!(out, "timers {} now {}", timers.join(","), self.now);
        }
        let _ = writeln!(
            out,
            "ids {} {} {:?} {} {}",
            self.next_cid, self.processes_created, self.exited, self.live_threads, self.pipe_bytes
        );
        let _ = writeln!(out, "locks {}", canon(&format!("{:?}", self.locks)));
        let _ = writeln!(out, "com {}", canon(&drop_fields(&format!("{:?}", self.com))));
        let _ = writeln!(out, "net {}", canon(&drop_fields(&format!("{:?}", self.net))));
        let _ = writeln!(out, "mq {}", canon(&format!("{:?}", self.mq)));
        let _ = writeln!(out, "user {}", self.user.generation);
        if let Some(p) = self.positions.as_ref().filter(|_| !livelock) {
            let _ = writeln!(out, "positions {:?}", p.threads);
        }
        out
    }
}

/// How `canonical_state_as` renders the state.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Canon {
    /// Everything `state_hash` covers (module documentation).
    Exact,
    /// For the livelock watch: no positions, times relative to now.
    Livelock,
}

/// Fields holding an absolute virtual time (ms): a pending operation's `deadline`, a
/// window timer's `deadline`, a socket wait's `deadline`, a waitable timer's `due`, a
/// link's `busy_until`.
const TIME_FIELDS: &[&str] = &["deadline: Some(", "due: Some((", "busy_until: {"];

/// `s` with every absolute time in a `TIME_FIELDS` field told as its distance from `now`
/// (`+10`; a time already past is `+0`). Inside `busy_until: {…}` each map value is one; a
/// `due` pair's sequence number is blanked.
fn relative_times(s: &str, now: u64) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some((at, field)) =
        TIME_FIELDS.iter().filter_map(|f| rest.find(f).map(|i| (i, *f))).min_by_key(|&(i, _)| i)
    {
        let start = at + field.len();
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        if field.ends_with('{') {
            // A map `{(a, b): t, ...}`: each value after `: `.
            let end = rest.find('}').unwrap_or(rest.len());
            let mut body = &rest[..end];
            while let Some(c) = body.find(": ") {
                out.push_str(&body[..c + 2]);
                body = &body[c + 2..];
                let n = body.bytes().take_while(u8::is_ascii_digit).count();
                match body[..n].parse::<u64>() {
                    Ok(t) => out.push_str(&format!("+{}", t.saturating_sub(now))),
                    Err(_) => out.push_str(&body[..n]),
                }
                body = &body[n..];
            }
            out.push_str(body);
            rest = &rest[end..];
        } else {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            match rest[..n].parse::<u64>() {
                Ok(t) => out.push_str(&format!("+{}", t.saturating_sub(now))),
                Err(_) => out.push_str(&rest[..n]),
            }
            rest = &rest[n..];
            // A waitable timer's `due` pairs the time with its timer-queue sequence number,
            // which grows with every setting: blanked.
            if field.starts_with("due")
                && let Some(after) = rest.strip_prefix(", ")
            {
                let m = after.bytes().take_while(u8::is_ascii_digit).count();
                out.push_str(", _");
                rest = &after[m..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_fields_removes_listed_fields_at_any_place() {
        assert_eq!(drop_fields("A { serial: 3, x: 1 }"), "A { x: 1 }");
        assert_eq!(drop_fields("A { x: 1, serial: 3 }"), "A { x: 1 }");
        assert_eq!(drop_fields("A { x: B { history: [C { a: \"}\" }], y: 2 }, z: 3 }"), "A { x: B { y: 2 }, z: 3 }");
        // Only whole field names after `{ ` or `, `.
        assert_eq!(drop_fields("A { my_serial: 3, s: \", serial: 4\" }"), "A { my_serial: 3, s: \", serial: 4\" }");
    }

    #[test]
    fn relative_times_tell_each_time_from_now() {
        assert_eq!(
            relative_times("Op { deadline: Some(130), x: 5 } T { due: Some((90, 0)) }", 100),
            "Op { deadline: Some(+30), x: 5 } T { due: Some((+0, _)) }"
        );
        assert_eq!(
            relative_times("L { busy_until: {(0, 1): 150, (1, 0): 99} }", 100),
            "L { busy_until: {(0, 1): +50, (1, 0): +0} }"
        );
        assert_eq!(relative_times("Op { deadline: None }", 100), "Op { deadline: None }");
    }

    #[test]
    fn relabel_replaces_ids_by_labels() {
        let labels: BTreeMap<String, usize> = [("3v1".to_string(), 0), ("1v2".to_string(), 1)].into();
        assert_eq!(relabel("x ObjectId(3v1) y ObjectId(1v2) ObjectId(9v9)", "ObjectId(", &labels, "O"), "x O0 y O1 O?");
        assert_eq!(ids_in("ObjectId(3v1), OpId(2v1), ObjectId(1v2)", "ObjectId("), vec!["3v1", "1v2"]);
    }
}
