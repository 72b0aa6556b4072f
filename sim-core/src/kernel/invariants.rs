//! `Kernel::check_invariants`: the clauses matching the `// Invariant:` comments on the
//! kernel's fields. Tests and fuzzing run it after every step (`Config::check_invariants`,
//! on by default in debug builds). A violation is a simulator bug, so it panics.

use super::{BlockOn, Kernel};
use crate::objects::thread::Run;
use crate::objects::{Body, ObjectId};
use std::collections::BTreeMap;

impl Kernel {
    /// Checks every structural invariant; panics with "simulator bug" on a violation.
    pub fn check_invariants(&self) {
        // Handle counts equal the handle table entries that refer to each object.
        let mut counted: BTreeMap<ObjectId, u32> = BTreeMap::new();
        for &pobj in self.pids.values() {
            if let Body::Process(p) = &self.objects[pobj].body {
                assert!(
                    p.exit_code.is_none() || p.handles.is_empty(),
                    "simulator bug: ended process P{} holds handles",
                    p.pid
                );
                assert!(
                    p.exit_code.is_none() || p.threads.is_empty(),
                    "simulator bug: ended process P{} has threads",
                    p.pid
                );
                for (h, e) in p.handles.iter() {
                    assert!(
                        self.objects.contains_key(e.object),
                        "simulator bug: P{} handle {h} refers to a destroyed object",
                        p.pid
                    );
                    *counted.entry(e.object).or_default() += 1;
                }
            }
        }
        for (id, o) in &self.objects {
            let n = counted.get(&id).copied().unwrap_or(0);
            assert_eq!(
                o.hdr.handle_count,
                n,
                "simulator bug: handle count of {} is {} but {n} handles refer to it",
                self.describe(id),
                o.hdr.handle_count
            );
            assert!(
                o.hdr.handle_count > 0 || o.hdr.ref_count > 0,
                "simulator bug: {} should have been destroyed",
                self.describe(id)
            );
            for &w in &o.hdr.waiters {
                let ok = matches!(&self.thread(w).run, Run::Blocked(b) if matches!(&b.on, BlockOn::Wait { objects, .. } if objects.contains(&id)));
                assert!(ok, "simulator bug: T{w} is on the wait list of {} but not waiting on it", self.describe(id));
            }
            match &o.body {
                Body::Mutex(m) => {
                    assert_eq!(m.owner.is_some(), m.count > 0, "simulator bug: mutex owner and count disagree");
                    if let Some(t) = m.owner {
                        assert!(
                            self.thread(t).owned_mutexes.contains(&id),
                            "simulator bug: owner T{t} does not list its mutex"
                        );
                    }
                }
                Body::Semaphore(s) => {
                    assert!(
                        0 <= s.count && s.count <= s.maximum,
                        "simulator bug: semaphore count {} outside 0..={}",
                        s.count,
                        s.maximum
                    );
                }
                Body::Pipe(p) => {
                    for end in &p.ends {
                        let q = &end.inbound;
                        let sum: u64 = q.entries.iter().map(|e| (e.data.len() - e.offset) as u64).sum();
                        assert_eq!(q.unread, sum, "simulator bug: pipe unread count is off");
                        assert!(
                            end.reads.is_empty() || q.unread == 0,
                            "simulator bug: reads pending on a pipe with data"
                        );
                        for e in &q.entries {
                            assert!(e.offset <= e.data.len(), "simulator bug: pipe entry offset past its data");
                            if let Some(w) = e.writer {
                                assert!(
                                    matches!(&self.thread(w).run, Run::Blocked(b) if matches!(b.on, BlockOn::PipeWrite { .. })),
                                    "simulator bug: T{w} owns a pending write but is not blocked writing"
                                );
                            }
                        }
                        for r in &end.reads {
                            assert!(
                                matches!(&self.thread(r.tid).run, Run::Blocked(b) if matches!(b.on, BlockOn::PipeRead { .. })),
                                "simulator bug: T{} has a pending read but is not blocked reading",
                                r.tid
                            );
                        }
                    }
                }
                Body::File(f) => {
                    if let Some(t) = f.lock {
                        let holder = self.thread(t);
                        assert!(
                            holder.held_lock == Some(id)
                                || matches!(holder.run, Run::Running | Run::Ready | Run::Parked(_)),
                            "simulator bug: lock holder T{t} does not hold it"
                        );
                    }
                }
                _ => {}
            }
        }
        let queued: u64 = self
            .objects
            .values()
            .filter_map(|o| match &o.body {
                Body::Pipe(p) => Some(p.ends.iter().map(|e| e.inbound.unread).sum::<u64>()),
                _ => None,
            })
            .sum();
        assert_eq!(self.pipe_bytes, queued, "simulator bug: pipe byte count is off");
        // Names are bound exactly to live objects that still have handles.
        for (name, &id) in &self.names {
            let o = self
                .objects
                .get(id)
                .unwrap_or_else(|| panic!("simulator bug: name {name:?} bound to a destroyed object"));
            assert!(o.hdr.handle_count > 0, "simulator bug: name {name:?} bound with no handle open");
        }
        // Every deadline belongs to a thread blocked with that deadline.
        for &(d, t) in &self.deadlines {
            assert!(
                matches!(&self.thread(t).run, Run::Blocked(b) if b.deadline_ms == Some(d)),
                "simulator bug: stale deadline for T{t}"
            );
        }
        for (&tid, &id) in &self.tids {
            if let Body::Thread(t) = &self.objects[id].body {
                assert_eq!(t.tid, tid, "simulator bug: tid map is off");
                assert!(
                    t.suspend_count <= crate::types::MAXIMUM_SUSPEND_COUNT,
                    "simulator bug: suspend count above the maximum"
                );
                if let Run::Blocked(b) = &t.run {
                    if let BlockOn::Wait { objects, .. } = &b.on {
                        for o in objects {
                            assert!(
                                self.objects[*o].hdr.waiters.contains(&tid),
                                "simulator bug: T{tid} waits on an object that does not list it"
                            );
                        }
                    }
                }
            }
        }
    }
}
