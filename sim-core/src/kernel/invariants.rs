//! `Kernel::check_invariants`: the clauses matching the `// Invariant:` comments on the
//! kernel's fields. Tests and fuzzing run it after every step (`Config::check_invariants`,
//! on by default in debug builds). A violation is a simulator bug, so it panics (and the
//! run ends as `Outcome::SimulatorBug`).

use super::Kernel;
use super::ops::{OpId, OpKind, Target};
use super::time::TimerKey;
use crate::objects::thread::Run;
use crate::objects::{Body, ObjectId};
use std::collections::BTreeMap;

impl Kernel {
    /// Checks every structural invariant; panics with "simulator bug" on a violation.
    pub fn check_invariants(&self) {
        self.check_handles_and_counts();
        self.check_ops();
        self.check_objects();
        self.check_threads_and_timers();
        self.check_com_invariants();
    }

    /// Handle counts equal the handle-table entries that refer to each object; reference
    /// counts equal the references the kernel can account for; every free-set slot of a
    /// handle table is free.
    fn check_handles_and_counts(&self) {
        let mut handles: BTreeMap<ObjectId, u32> = BTreeMap::new();
        let mut refs: BTreeMap<ObjectId, u32> = BTreeMap::new();
        for &pobj in self.pids.values() {
            let Body::Process(p) = &self.objects[pobj].body else { panic!("simulator bug: pid maps to a non-process") };
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
            p.handles.check();
            for (h, e) in p.handles.iter() {
                assert!(
                    self.objects.contains_key(e.object),
                    "simulator bug: P{} handle {h} refers to a destroyed object",
                    p.pid
                );
                *handles.entry(e.object).or_default() += 1;
            }
            // Each view holds a reference on its section.
            for v in p.space.views.values() {
                *refs.entry(v.section).or_default() += 1;
            }
            if p.exit_code.is_none() {
                // A live process holds a reference on itself.
                *refs.entry(pobj).or_default() += 1;
            }
        }
        for (id, o) in &self.objects {
            match &o.body {
                Body::Thread(t) => {
                    // Its process, and its own life while it runs.
                    *refs.entry(t.process).or_default() += 1;
                    if t.exit_code.is_none() {
                        *refs.entry(id).or_default() += 1;
                    }
                    if let Some(f) = t.granted {
                        *refs.entry(f).or_default() += 1;
                    }
                }
                Body::File(f) => {
                    *refs.entry(f.pipe).or_default() += 1;
                    if let Some((port, _)) = f.port {
                        *refs.entry(port).or_default() += 1;
                    }
                }
                Body::Pipe(p) => {
                    if let Some(i) = &p.named {
                        *refs.entry(i.family).or_default() += 1;
                    }
                }
                // A mailslot client holds its mailslot (§18.16).
                Body::MailslotClient(c) => *refs.entry(c.slot).or_default() += 1,
                // A listener holds the connections waiting for accept (§22.10).
                Body::Socket(s) => {
                    s.backlog.iter().for_each(|&c| *refs.entry(c).or_default() += 1);
                    // A WSAEventSelect holds its event (§22.28).
                    if let Some((ev, _)) = s.event_select {
                        *refs.entry(ev).or_default() += 1;
                    }
                    // A socket associated with a completion port holds it (§22.40).
                    if let Some((port, _)) = s.port {
                        *refs.entry(port).or_default() += 1;
                    }
                }
                // A cursor holds its open queue (§23.13).
                Body::MqCursor(c) => *refs.entry(c.desc).or_default() += 1,
                // A timer set with a completion routine is held by its setting thread's list
                // of active timers (§14.31).
                Body::Timer(t) if t.routine.is_some() => *refs.entry(id).or_default() += 1,
                // A file object and a file-backed section hold their file's data (§28).
                Body::DiskFile(f) => *refs.entry(f.node).or_default() += 1,
                Body::Section(crate::objects::section::Section { file: Some(node), .. }) => {
                    *refs.entry(*node).or_default() += 1
                }
                // A queue handle holds its completion port (§23.29).
                Body::MqQueue(d) => {
                    if let Some((port, _)) = d.port {
                        *refs.entry(port).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        // What is in flight on the network holds its sockets (§27).
        for (_, _, f) in self.net.network.flights.values() {
            for id in f.refs() {
                *refs.entry(id).or_default() += 1;
            }
        }
        // The volume holds each linked file's data (§28.1).
        for &node in self.volume.files.values() {
            *refs.entry(node).or_default() += 1;
        }
        for (_, op) in &self.ops {
            if let Target::Async(t) | Target::SyncOverlapped(t) = &op.target {
                // An asynchronous operation holds a reference on its OVERLAPPED's event.
                if let Some(ev) = t.event {
                    *refs.entry(ev).or_default() += 1;
                }
            }
            match &op.kind {
                OpKind::Wait { objects, .. } => {
                    let mut unique = objects.to_vec();
                    unique.sort();
                    unique.dedup();
                    for o in unique {
                        *refs.entry(o).or_default() += 1;
                    }
                }
                OpKind::FileLock { file, .. } => *refs.entry(*file).or_default() += 1,
                OpKind::WaitNamedPipe { family } => *refs.entry(*family).or_default() += 1,
                OpKind::PortWait { port } => *refs.entry(*port).or_default() += 1,
                OpKind::OverlappedResult { object, .. } => *refs.entry(*object).or_default() += 1,
                _ => {}
            }
        }
        // A COM call in flight holds a reference on its reply event (§21.9).
        for c in self.com.calls.values() {
            *refs.entry(c.event).or_default() += 1;
        }
        for (id, o) in &self.objects {
            let n = handles.get(&id).copied().unwrap_or(0);
            assert_eq!(
                o.hdr.handle_count,
                n,
                "simulator bug: handle count of {} is {} but {n} handles refer to it",
                self.describe(id),
                o.hdr.handle_count
            );
            let r = refs.get(&id).copied().unwrap_or(0);
            assert_eq!(
                o.hdr.ref_count,
                r,
                "simulator bug: reference count of {} is {} but {r} references are accounted for",
                self.describe(id),
                o.hdr.ref_count
            );
            assert!(
                o.hdr.handle_count > 0 || o.hdr.ref_count > 0,
                "simulator bug: {} should have been destroyed",
                self.describe(id)
            );
        }
    }

    /// Every pending operation is in exactly one queue, and every blocked thread has
    /// exactly one synchronous operation, the one it is blocked on.
    fn check_ops(&self) {
        let mut queued: BTreeMap<OpId, u32> = BTreeMap::new();
        let mut note = |op: OpId| *queued.entry(op).or_default() += 1;
        for (_, o) in &self.objects {
            let mut seen: Vec<OpId> = o.hdr.waiters.iter().copied().collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), o.hdr.waiters.len(), "simulator bug: an operation twice on one wait list");
            match &o.body {
                Body::Pipe(p) => {
                    for end in &p.ends {
                        end.reads.iter().copied().for_each(&mut note);
                        end.inbound.entries.iter().filter_map(|e| e.writer).for_each(&mut note);
                        end.inbound.flushers.iter().copied().for_each(&mut note);
                    }
                }
                Body::File(f) => f.lock_waiters.iter().copied().for_each(&mut note),
                Body::NamedPipe(n) => n.waiters.iter().copied().for_each(&mut note),
                Body::Port(p) => p.waiters.iter().copied().for_each(&mut note),
                Body::Mailslot(m) => m.reads.iter().copied().for_each(&mut note),
                Body::Socket(s) => {
                    s.reads.iter().copied().for_each(&mut note);
                    s.accepts.iter().copied().for_each(&mut note);
                    s.inbound.iter().filter_map(|g| g.writer).for_each(&mut note);
                }
                _ => {}
            }
            if let Body::Pipe(crate::objects::pipe::Pipe { named: Some(i), .. }) = &o.body {
                i.connects.iter().copied().for_each(&mut note);
            }
        }
        // Blocking connects wait in the kernel's list (§22.6).
        self.net.connects.iter().copied().for_each(&mut note);
        self.net.selects.iter().copied().for_each(&mut note);
        for q in self.mq.queues.values() {
            q.waiters.iter().copied().for_each(&mut note);
        }
        for (id, op) in &self.ops {
            match &op.kind {
                OpKind::Wait { objects, .. } => {
                    for o in objects {
                        assert!(
                            self.objects[*o].hdr.waiters.contains(&id),
                            "simulator bug: T{}'s wait is missing from the wait list of {}",
                            op.tid,
                            self.describe(*o)
                        );
                    }
                }
                OpKind::OverlappedResult { object, .. } => assert!(
                    self.objects[*object].hdr.waiters.contains(&id),
                    "simulator bug: T{}'s GetOverlappedResult is missing from its object's wait list",
                    op.tid
                ),
                OpKind::Sleep => {}
                OpKind::InitOnceWait { once } => {
                    let pid = self.pid_of(op.tid);
                    let n = self
                        .locks
                        .init_onces
                        .get(&(pid, *once))
                        .map_or(0, |o| o.waiters.iter().filter(|&&w| w == id).count());
                    assert_eq!(n, 1, "simulator bug: T{}'s InitOnceBeginInitialize is not queued once", op.tid);
                }
                OpKind::AddressWait { address, .. } => {
                    let pid = self.pid_of(op.tid);
                    let n = self
                        .locks
                        .address_waits
                        .get(&(pid, *address))
                        .map_or(0, |q| q.iter().filter(|&&w| w == id).count());
                    assert_eq!(n, 1, "simulator bug: T{}'s WaitOnAddress is not in its address's waiters once", op.tid);
                }
                OpKind::LockWait { lock: l, .. } | OpKind::CondWait { cv: l, .. } => {
                    let pid = self.pid_of(op.tid);
                    let n =
                        self.locks.map.get(&(pid, *l)).map_or(0, |u| u.waiters.iter().filter(|&&w| w == id).count());
                    assert_eq!(
                        n, 1,
                        "simulator bug: T{}'s {} is not in its lock's waiters exactly once",
                        op.tid, op.api
                    );
                }
                // A thread waiting for its queue is found by its thread id (`queue_changed`).
                OpKind::MsgGet { .. } | OpKind::MsgWaitNew => assert!(
                    self.user.queues.contains_key(&op.tid),
                    "simulator bug: T{} waits for messages without a queue",
                    op.tid
                ),
                OpKind::SendWait { sent, .. } => assert!(
                    self.user.sent.get(sent).is_some_and(|s| s.waiter == Some(id)),
                    "simulator bug: T{}'s SendMessage wait is not the waiter of its message",
                    op.tid
                ),
                _ => assert_eq!(
                    queued.get(&id).copied().unwrap_or(0),
                    1,
                    "simulator bug: T{}'s {} operation is not in exactly one queue",
                    op.tid,
                    op.api
                ),
            }
            match &op.target {
                Target::Thread => assert!(
                    matches!(self.thread(op.tid).run, Run::Blocked(b) if b == id),
                    "simulator bug: T{}'s {} operation is pending but its thread is not blocked on it",
                    op.tid,
                    op.api
                ),
                Target::Async(t) => assert!(
                    t.overlapped.state.borrow().pending.is_some_and(|(s, _)| s == op.serial),
                    "simulator bug: a pending {} operation's OVERLAPPED does not name it",
                    op.api
                ),
                Target::SyncOverlapped(t) => assert!(
                    matches!(self.thread(op.tid).run, Run::Blocked(b) if b == id)
                        && t.overlapped.state.borrow().pending.is_some_and(|(s, _)| s == op.serial),
                    "simulator bug: T{}'s {} operation with an OVERLAPPED on a synchronous handle is pending \
                     but its thread is not blocked on it or its OVERLAPPED does not name it",
                    op.tid,
                    op.api
                ),
            }
        }
        for &op in queued.keys() {
            assert!(self.ops.contains_key(op), "simulator bug: a queue holds a completed operation");
        }
        for (oid, o) in &self.objects {
            for w in &o.hdr.waiters {
                assert!(
                    matches!(
                        self.ops.get(*w).map(|o| &o.kind),
                        Some(OpKind::Wait { .. } | OpKind::OverlappedResult { .. })
                    ),
                    "simulator bug: {} lists a waiter that is not a pending wait",
                    self.describe(oid)
                );
            }
        }
    }

    fn check_objects(&self) {
        for (id, o) in &self.objects {
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
                Body::Timer(t) => {
                    if let Some((due, seq)) = t.due {
                        assert!(
                            self.timers.contains(&(due, seq, TimerKey::Timer(id))),
                            "simulator bug: an active timer is not in the timer queue"
                        );
                    }
                }
                Body::NamedPipe(n) => {
                    for &i in &n.instances {
                        let listening = matches!(
                            &self.objects[i].body,
                            Body::Pipe(crate::objects::pipe::Pipe { named: Some(x), .. })
                                if x.state == crate::objects::named_pipe::InstanceState::Listening
                        );
                        assert_eq!(
                            listening,
                            n.listening.contains(&i),
                            "simulator bug: {}'s listening queue is off",
                            n.name
                        );
                    }
                    assert!(
                        n.listening.iter().all(|i| n.instances.contains(i)),
                        "simulator bug: a closed instance listens"
                    );
                }
                Body::Pipe(p) => {
                    for end in &p.ends {
                        let q = &end.inbound;
                        let sum: u64 = q.entries.iter().map(|e| (e.data.len() - e.offset) as u64).sum();
                        assert_eq!(q.unread, sum, "simulator bug: pipe unread count is off");
                        let empties = q.entries.iter().filter(|e| e.empty_unread).count() as u32;
                        assert_eq!(q.empty_messages, empties, "simulator bug: empty message count is off");
                        assert!(
                            end.reads.is_empty() || !q.available(),
                            "simulator bug: reads pending on a pipe with data"
                        );
                        for e in q.entries.iter() {
                            assert!(e.offset <= e.data.len(), "simulator bug: pipe entry offset past its data");
                        }
                    }
                }
                Body::File(f) => {
                    if let Some(t) = f.lock {
                        let holder = self.thread(t);
                        assert!(
                            holder.held_lock == Some(id)
                                || holder.granted == Some(id)
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
                // Unread mailslot bytes count toward the same limit (§18.19).
                Body::Mailslot(m) => {
                    assert_eq!(
                        m.bytes,
                        m.messages.iter().map(|d| d.len() as u64).sum::<u64>(),
                        "simulator bug: mailslot byte count is off"
                    );
                    Some(m.bytes)
                }
                // Unread socket bytes count toward the same limit (§22).
                Body::Socket(s) => {
                    let stream: u64 = s.inbound.iter().map(|g| (g.data.len() - g.off) as u64).sum();
                    let dgrams: u64 = s.datagrams.iter().map(|(_, d)| d.len() as u64).sum();
                    assert_eq!(s.unread, stream + dgrams, "simulator bug: socket byte count is off");
                    Some(s.unread)
                }
                _ => None,
            })
            .sum::<u64>()
            + self.check_mq()
            + self.net.network.flight_bytes();
        assert_eq!(self.pipe_bytes, queued, "simulator bug: pipe byte count is off");
        let writes = self
            .objects
            .values()
            .filter_map(|o| match &o.body {
                Body::Pipe(p) => {
                    Some(p.ends.iter().flat_map(|e| e.inbound.entries.iter()).filter(|e| e.writer.is_some()).count())
                }
                _ => None,
            })
            .sum::<usize>();
        assert_eq!(self.pipe_writes_pending as usize, writes, "simulator bug: pending pipe write count is off");
        // Materialised section pages: sections' own and copy-on-write views' private ones.
        let page = crate::objects::section::PAGE_SIZE;
        let mut pages: u64 = 0;
        for o in self.objects.values() {
            match &o.body {
                Body::Section(s) => pages += s.pages.len() as u64,
                Body::Process(p) => pages += p.space.views.values().map(|v| v.private.len() as u64).sum::<u64>(),
                _ => {}
            }
        }
        assert_eq!(self.section_bytes, pages * page, "simulator bug: section byte count is off");
        let mut views: BTreeMap<ObjectId, u32> = BTreeMap::new();
        for o in self.objects.values() {
            if let Body::Process(p) = &o.body {
                for v in p.space.views.values() {
                    *views.entry(v.section).or_default() += 1;
                }
            }
        }
        for (id, o) in &self.objects {
            if let Body::Section(s) = &o.body {
                let n = views.get(&id).copied().unwrap_or(0);
                assert_eq!(s.views, n, "simulator bug: {} counts {} views but {n} exist", self.describe(id), s.views);
            }
        }
        assert!(self.section_bytes <= self.config.section_bytes_max, "simulator bug: section bytes past the cap");
        // Private memory (§29): committed pages are charged, data only on committed pages,
        // regions do not overlap each other or a view.
        let mut committed: u64 = 0;
        for o in self.objects.values() {
            if let Body::Process(p) = &o.body {
                let mut last_end = 0u64;
                for (b, r) in &p.space.regions {
                    assert!(*b >= last_end, "simulator bug: private regions overlap at 0x{b:x}");
                    last_end = b + r.size;
                    committed += r.committed.len() as u64;
                    for page in r.data.keys() {
                        assert!(r.committed.contains_key(page), "simulator bug: data on an uncommitted page");
                    }
                    let vb = p.space.views.range(..b + r.size).next_back();
                    assert!(vb.is_none_or(|(vb, v)| vb + v.size <= *b), "simulator bug: a region overlaps a view");
                }
            }
        }
        assert_eq!(self.private_bytes, committed * page, "simulator bug: private byte count is off");
        assert!(self.private_bytes <= self.config.private_bytes_max, "simulator bug: private bytes past the cap");
        // The volume counts the size of every file whose data exists; each linked name
        // maps to a linked node of that key; a node's opens and sections are live (§28).
        let mut sizes = 0u64;
        for (id, o) in &self.objects {
            if let Body::FileNode(n) = &o.body {
                sizes += n.size;
                assert_eq!(n.linked, self.volume.files.get(&n.key) == Some(&id), "simulator bug: {} linked", n.path);
                assert!(
                    !n.pages.keys().any(|&p| p * page >= n.size.div_ceil(page) * page + page),
                    "simulator bug: {} has pages past its end",
                    n.path
                );
                for &f in &n.opens {
                    assert!(
                        matches!(self.objects.get(f).map(|o| &o.body), Some(Body::DiskFile(d)) if d.node == id)
                            && self.objects[f].hdr.handle_count > 0,
                        "simulator bug: a closed open on {}",
                        n.path
                    );
                }
                for &s in &n.sections {
                    assert!(
                        matches!(self.objects.get(s).map(|o| &o.body), Some(Body::Section(sec)) if sec.file == Some(id)),
                        "simulator bug: a dead section on {}",
                        n.path
                    );
                }
            }
        }
        assert_eq!(self.volume.bytes, sizes, "simulator bug: volume byte count is off");
        // Sockets: a connection's two ends name each other; the port table holds open,
        // bound sockets of its protocol and port.
        for (id, o) in &self.objects {
            if let Body::Socket(s) = &o.body
                && let Some(p) = s.peer
            {
                let back = matches!(self.objects.get(p).map(|o| &o.body), Some(Body::Socket(q)) if q.peer == Some(id));
                assert!(back, "simulator bug: {} names a peer that does not name it", self.describe(id));
            }
        }
        for ((_, proto, port), list) in &self.net.bound {
            for &id in list {
                let ok = matches!(self.objects.get(id).map(|o| &o.body),
                    Some(Body::Socket(s)) if !s.closed && s.proto == *proto && s.local.map(|a| a.port) == Some(*port));
                assert!(ok, "simulator bug: port {port} is bound to a closed or different socket");
            }
        }
        for (key, &id) in self.mailslot_names.iter() {
            let bound = matches!(self.objects.get(id).map(|o| &o.body), Some(Body::Mailslot(m)) if !m.closed);
            assert!(bound, "simulator bug: mailslot name {key} is bound to a closed or missing mailslot");
        }
        // Names are bound exactly to live objects that still have handles.
        for (name, &id) in self.names.iter() {
            let o = self
                .objects
                .get(id)
                .unwrap_or_else(|| panic!("simulator bug: name {name:?} bound to a destroyed object"));
            assert!(o.hdr.handle_count > 0, "simulator bug: name {name:?} bound with no handle open");
        }
    }

    /// user32: every queued or running sent message is in exactly one receiver's list;
    /// every window and queue belongs to a live thread; a sender blocked in SendMessage is
    /// the waiter its message names.
    fn check_user(&self) {
        for (&tid, q) in &self.user.queues {
            assert!(
                self.tids.contains_key(&tid) && self.thread(tid).exit_code.is_none(),
                "simulator bug: a message queue outlived T{tid}"
            );
            for s in &q.incoming {
                let m =
                    self.user.sent.get(s).unwrap_or_else(|| panic!("simulator bug: queued sent message #{s} missing"));
                assert!(
                    m.to == tid && m.state == crate::objects::window::SentState::Queued,
                    "simulator bug: sent #{s} misplaced"
                );
            }
            for s in &q.processing {
                let m =
                    self.user.sent.get(s).unwrap_or_else(|| panic!("simulator bug: running sent message #{s} missing"));
                assert!(
                    m.to == tid && m.state == crate::objects::window::SentState::Processing,
                    "simulator bug: sent #{s} misplaced"
                );
            }
            assert!(
                q.posted.len() <= self.config.posted_messages_max as usize,
                "simulator bug: T{tid}'s queue is over its quota"
            );
        }
        for (serial, s) in &self.user.sent {
            assert!(!(s.delivered && s.done), "simulator bug: finished sent message #{serial} kept");
            let listed = match s.state {
                crate::objects::window::SentState::Queued => {
                    self.user.queues.get(&s.to).is_some_and(|q| q.incoming.contains(serial))
                }
                crate::objects::window::SentState::Processing => {
                    self.user.queues.get(&s.to).is_some_and(|q| q.processing.contains(serial))
                }
            };
            // A message whose procedure has returned (or never will) waits, in no queue, for
            // its sender to take the reply (the sender was running a message sent to it).
            assert!(listed || s.done, "simulator bug: sent message #{serial} is in no queue");
            if let Some(op) = s.waiter {
                assert!(
                    matches!(self.ops.get(op).map(|o| &o.kind), Some(OpKind::SendWait { sent, .. }) if sent == serial),
                    "simulator bug: sent message #{serial} names a wrong waiter"
                );
            }
        }
        for (v, w) in &self.user.windows {
            assert!(self.user.queues.contains_key(&w.tid), "simulator bug: window 0x{v:x} outlived its thread's queue");
        }
    }

    /// The queue manager's books (§23): names, byte and message counts, expiries, locks;
    /// returns the bytes its queues hold (they count toward `pipe_bytes_max`).
    fn check_mq(&self) -> u64 {
        let mq = &self.mq;
        for (key, id) in &mq.names {
            let q = mq.queues.get(id).unwrap_or_else(|| panic!("simulator bug: queue name {key} names no queue"));
            assert_eq!(
                crate::objects::msmq::path_key(&q.path_name).as_deref(),
                Ok(key.as_str()),
                "simulator bug: queue name bound to another queue"
            );
        }
        let mut bytes = 0;
        let mut count = 0;
        for q in mq.queues.values() {
            assert_eq!(
                q.bytes,
                q.messages.values().map(|m| m.body.len() as u64).sum::<u64>(),
                "simulator bug: queue byte count is off"
            );
            for (pos, m) in &q.messages {
                assert_eq!(pos.1, m.seq, "simulator bug: a message out of its position");
                if let Some(t) = m.locked {
                    assert!(
                        matches!(self.objects.get(t).map(|o| &o.body), Some(Body::MqTransaction(x)) if x.active),
                        "simulator bug: a message locked by a transaction that ended"
                    );
                }
            }
            bytes += q.bytes;
            count += q.messages.len() as u64;
        }
        assert_eq!(mq.messages, count, "simulator bug: message count is off");
        for (seq, (queue, pos, _, _)) in &mq.expiries {
            assert!(
                mq.queues.get(queue).is_some_and(|q| q.messages.get(pos).is_some_and(|m| m.seq == *seq)),
                "simulator bug: an expiry for a message not in its queue"
            );
        }
        bytes
    }

    fn check_threads_and_timers(&self) {
        // Every timer-queue entry belongs to a pending operation or an active timer with
        // that due time.
        for &(d, seq, key) in &self.timers {
            match key {
                TimerKey::Op(op) => {
                    let o = self
                        .ops
                        .get(op)
                        .unwrap_or_else(|| panic!("simulator bug: a time-out for a completed operation"));
                    assert!(
                        o.deadline == Some(d) && o.timer_seq == seq,
                        "simulator bug: stale time-out for T{}",
                        o.tid
                    );
                }
                TimerKey::Timer(t) => {
                    assert!(
                        matches!(self.objects.get(t).map(|o| &o.body), Some(Body::Timer(x)) if x.due == Some((d, seq))),
                        "simulator bug: stale timer entry"
                    );
                }
                TimerKey::UserTimer(serial) => {
                    assert!(
                        self.user.timers.get(&serial).is_some_and(|t| t.entry == (d, seq)),
                        "simulator bug: stale SetTimer entry"
                    );
                }
                TimerKey::MqExpiry(m) => {
                    assert!(
                        self.mq.expiries.get(&m).is_some_and(|&(_, _, due, s)| (due, s) == (d, seq)),
                        "simulator bug: stale message expiry entry"
                    );
                }
                TimerKey::Net(n) => {
                    assert!(
                        self.net.network.flights.get(&n).is_some_and(|&(due, s, _)| (due, s) == (d, seq)),
                        "simulator bug: stale network flight entry"
                    );
                }
            }
        }
        self.check_user();
        let mut live = 0;
        for (tid, &id) in &self.tids {
            let Body::Thread(t) = &self.objects[id].body else { panic!("simulator bug: tid maps to a non-thread") };
            assert_eq!(t.tid, tid, "simulator bug: tid map is off");
            assert!(
                t.suspend_count <= crate::types::MAXIMUM_SUSPEND_COUNT,
                "simulator bug: suspend count above the maximum"
            );
            if let Run::Blocked(op) = t.run {
                let o = self
                    .ops
                    .get(op)
                    .unwrap_or_else(|| panic!("simulator bug: T{tid} is blocked on a missing operation"));
                assert_eq!(o.tid, tid, "simulator bug: T{tid} is blocked on another thread's operation");
            }
            if !matches!(t.run, Run::Exited) {
                live += 1;
            }
        }
        assert_eq!(self.live_threads, live, "simulator bug: live thread count is off");
        let scanned: super::tidset::TidSet = self
            .tids
            .iter()
            .filter_map(|(tid, &id)| match &self.objects[id].body {
                Body::Thread(t) if t.suspend_count == 0 && matches!(t.run, Run::Parked(_)) => Some(tid),
                _ => None,
            })
            .collect();
        assert_eq!(self.parked, scanned, "simulator bug: the runnable set is off");
        let mut counted: BTreeMap<super::Tid, u32> = BTreeMap::new();
        for (_, op) in &self.ops {
            if matches!(op.target, Target::Async(_)) {
                *counted.entry(op.tid).or_default() += 1;
            }
        }
        assert_eq!(*self.async_ops, counted, "simulator bug: the count of asynchronous operations is off");
    }
}
