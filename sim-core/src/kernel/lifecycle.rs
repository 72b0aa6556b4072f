//! Object lifetime (handles and references, destruction, names) and handle-table
//! plumbing. What a family does when its last handle closes or when it is destroyed is
//! in its hook (`objects/mod.rs`), not here.

use super::{Kernel, Pid, Tid};
use crate::error::*;
use crate::handles::{HandleEntry, Origin};
use crate::objects::{Body, ObjectId, ObjectType};
use crate::report::LimitKind;
use crate::types::*;

/// Every object type, in order (`ObjectType as usize` indexes it).
const OBJECT_TYPES: [ObjectType; 19] = [
    ObjectType::Process,
    ObjectType::Thread,
    ObjectType::Event,
    ObjectType::Mutex,
    ObjectType::Semaphore,
    ObjectType::Timer,
    ObjectType::Pipe,
    ObjectType::File,
    ObjectType::NamedPipe,
    ObjectType::IoCompletion,
    ObjectType::Mailslot,
    ObjectType::MailslotClient,
    ObjectType::Section,
    ObjectType::Socket,
    ObjectType::MqQueue,
    ObjectType::MqCursor,
    ObjectType::MqTransaction,
    ObjectType::DiskFile,
    ObjectType::FileNode,
];

/// The last serial given per object type (0: none yet): an array indexed by type, shown
/// as the map by type of the types that have one.
#[derive(Default)]
pub(crate) struct Serials([u32; OBJECT_TYPES.len()]);

impl Serials {
    /// The next serial of type `ty`.
    fn next(&mut self, ty: ObjectType) -> u32 {
        debug_assert_eq!(OBJECT_TYPES[ty as usize], ty);
        let s = &mut self.0[ty as usize];
        *s += 1;
        *s
    }

    /// The last serial given of type `ty` (0: none yet).
    pub(crate) fn last(&self, ty: ObjectType) -> u32 {
        self.0[ty as usize]
    }
}

impl std::fmt::Debug for Serials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(OBJECT_TYPES.iter().zip(&self.0).filter(|(_, n)| **n > 0)).finish()
    }
}

impl Kernel {
    /// Puts a new object in the arena with no handles and no references.
    pub(crate) fn alloc_object(&mut self, body: Body, name: Option<String>) -> ObjectId {
        let serial = self.serials.next(body.object_type());
        self.objects.insert(serial, name, self.step, body)
    }

    /// A short label for an object: `event#2 "name"`, `pipe#1 write end`.
    pub fn describe(&self, id: ObjectId) -> String {
        use std::fmt::Write as _;
        let Some(o) = self.objects.get(id) else { return "(destroyed object)".into() };
        let mut s = String::with_capacity(32);
        let _ = match &o.body {
            Body::File(f) => {
                // Pushed piece by piece: a pipe end is the object a traced step names most.
                let pipe = self.objects.get(f.pipe);
                s.push_str("pipe#");
                crate::trace::push_u64(&mut s, u64::from(pipe.map(|p| p.hdr.serial).unwrap_or(0)));
                s.push(' ');
                s.push_str(crate::objects::pipe::end_name(self, f));
                if let Some(Body::Pipe(crate::objects::pipe::Pipe { named: Some(i), .. })) = pipe.map(|p| &p.body)
                    && let Some(Body::NamedPipe(n)) = self.objects.get(i.family).map(|o| &o.body)
                {
                    s.push_str(" of ");
                    s.push_str(&n.name);
                }
                Ok(())
            }
            Body::NamedPipe(n) => write!(s, "{}", n.name),
            Body::Mailslot(m) => write!(s, "mailslot#{} {}", o.hdr.serial, m.name),
            Body::MailslotClient(c) => match self.objects.get(c.slot).map(|x| (&x.body, x.hdr.serial)) {
                Some((Body::Mailslot(m), serial)) => write!(s, "mailslot#{serial} client of {}", m.name),
                _ => write!(s, "mailslot client#{}", o.hdr.serial),
            },
            Body::Socket(so) => write!(s, "{}", crate::objects::socket::label(so, o.hdr.serial)),
            Body::Process(p) => write!(s, "process {} (P{})", p.image, p.pid),
            Body::Thread(t) => {
                s.push_str("thread T");
                crate::trace::push_u64(&mut s, u64::from(t.tid));
                s.push_str(" of P");
                crate::trace::push_u64(&mut s, u64::from(t.pid));
                Ok(())
            }
            Body::MqQueue(d) => match self.mq.queues.get(&d.queue) {
                Some(q) => write!(s, "queue handle#{} {}", o.hdr.serial, q.path_name),
                None => write!(s, "queue handle#{} (queue deleted)", o.hdr.serial),
            },
            Body::DiskFile(f) => match self.objects.get(f.node).map(|n| &n.body) {
                Some(Body::FileNode(n)) => write!(s, "file#{} {}", o.hdr.serial, n.path),
                _ => write!(s, "file#{}", o.hdr.serial),
            },
            Body::FileNode(n) => write!(s, "{}", n.path),
            b => write!(s, "{}#{}", b.object_type(), o.hdr.serial),
        };
        if let Some(n) = &o.hdr.name {
            let _ = write!(s, " {n:?}");
        }
        s
    }

    /// The object behind a handle of `pid`, for trace arguments.
    pub(crate) fn handle_object(&self, pid: Pid, h: HANDLE) -> Option<ObjectId> {
        if h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE {
            return None;
        }
        let p = self.pids.get(&pid).and_then(|&id| match &self.objects[id].body {
            Body::Process(p) => Some(p),
            _ => None,
        })?;
        p.handles.get(h).map(|e| e.object)
    }

    /// The object behind a handle of `pid`, described, for trace arguments.
    pub(crate) fn describe_handle(&self, pid: Pid, h: HANDLE) -> Option<std::sync::Arc<str>> {
        self.handle_object(pid, h).map(|id| self.describe(id).into())
    }

    /// `describe_handle`, with the description of an object that cannot change kept for
    /// the next event that names it (`Kernel::descriptions`): one string shared by every
    /// traced call on a pipe end, a thread, a process or a synchronisation object,
    /// instead of one formatted and allocated at each (issue 13).
    pub(crate) fn describe_handle_shared(&mut self, pid: Pid, h: HANDLE) -> Option<std::sync::Arc<str>> {
        let id = self.handle_object(pid, h)?;
        if let Some(d) = self.descriptions.as_ref().and_then(|m| m.get(id)) {
            // What `description_is_fixed` promises, checked by every traced test.
            debug_assert_eq!(**d, *self.describe(id), "simulator bug: a kept description changed");
            return Some(d.clone());
        }
        let d: std::sync::Arc<str> = self.describe(id).into();
        if self.description_is_fixed(id) {
            self.descriptions.get_or_insert_default().insert(id, d.clone());
        }
        Some(d)
    }

    /// Whether `describe(id)` gives the same text for as long as a handle names the
    /// object: an anonymous pipe's end (its pipe lives as long as it, and its serial and
    /// end never change), a thread, a process, an event, a mutex, a semaphore (type,
    /// serial, ids and image are fixed at creation, and so is a name while a handle is
    /// open, §7.13). A named pipe's end names its family, which may go; a socket, a
    /// queue or a mailslot client describe state that changes.
    fn description_is_fixed(&self, id: ObjectId) -> bool {
        match &self.objects[id].body {
            Body::File(f) => matches!(self.objects.get(f.pipe).map(|o| &o.body), Some(Body::Pipe(p)) if p.anonymous),
            Body::Thread(_) | Body::Process(_) | Body::Event(_) | Body::Mutex(_) | Body::Semaphore(_) => true,
            _ => false,
        }
    }

    /// Takes a non-handle reference on an object (a wait, a thread's life, a file's pipe).
    pub(crate) fn add_ref(&mut self, id: ObjectId) {
        let o = self.objects.get_mut(id).unwrap_or_else(|| panic!("simulator bug: reference to a missing object"));
        o.hdr.ref_count += 1;
    }

    /// Drops a non-handle reference; destroys the object if nothing refers to it.
    pub(crate) fn release(&mut self, id: ObjectId) {
        let o = self.objects.get_mut(id).unwrap_or_else(|| panic!("simulator bug: release of a missing object"));
        if o.hdr.drop_ref() {
            self.maybe_destroy(id);
        }
    }

    pub(crate) fn maybe_destroy(&mut self, id: ObjectId) {
        let o = self.objects.get(id).unwrap_or_else(|| panic!("simulator bug: destroying a missing object"));
        if o.hdr.handle_count > 0 || o.hdr.ref_count > 0 {
            return;
        }
        assert!(o.hdr.waiters.is_empty(), "simulator bug: destroying an object with waiters");
        // Threads and processes (every run has some), and the objects most programs make
        // (pipes and their ends, events, semaphores, mutexes) need only a few ids once
        // destroyed: they are dropped where they lie rather than moved out whole (an
        // object is a few hundred bytes, and moving one out copied it four times) for
        // the other families' hook, `on_destroyed`, which does the rest after the object
        // has gone, as these arms do.
        match o.body {
            Body::Thread(ref t) => {
                let (tid, process) = (t.tid, t.process);
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
                self.tids.remove(&tid);
                self.release(process);
            }
            Body::Process(ref p) => {
                let pid = p.pid;
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
                self.pids.remove(&pid);
            }
            // A pipe end holds its pipe, and its completion port if it has one.
            Body::File(ref f) => {
                let (port, pipe) = (f.port.map(|(port, _)| port), f.pipe);
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
                if let Some(port) = port {
                    self.release(port);
                }
                self.release(pipe);
            }
            // A named pipe's instance holds its family.
            Body::Pipe(ref p) => {
                let family = p.named.as_ref().map(|inst| inst.family);
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
                if let Some(family) = family {
                    self.release(family);
                }
            }
            // An owned mutex whose last handle closed goes away; it leaves its owner's
            // list, as NT's ExpDeleteMutant releases it (the owner cannot name it again).
            Body::Mutex(ref m) => {
                let owner = m.owner;
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
                if let Some(owner) = owner.filter(|t| self.tids.contains_key(t)) {
                    self.thread_mut(owner).owned_mutexes.retain(|&o| o != id);
                }
            }
            Body::Event(_) | Body::Semaphore(_) => {
                self.objects.remove_in_place(id);
                self.race_object_destroyed(id);
            }
            _ => {
                let o = self.objects.remove(id).expect("object exists");
                self.race_object_destroyed(id);
                self.on_destroyed(id, o.body);
            }
        }
    }

    /// Binds an object's name (on creation).
    pub(crate) fn bind_name(&mut self, name: &str, id: ObjectId) {
        self.names.insert(name.to_string(), id);
    }

    // ----- handles -------------------------------------------------------------------

    /// Allocates a handle in `pid`'s table. A full table is a limit (`handles_max`).
    pub(crate) fn alloc_handle(
        &mut self,
        pid: Pid,
        object: ObjectId,
        access: u32,
        flags: u32,
        history: Vec<Origin>,
    ) -> Result<HANDLE, Win32Error> {
        let max = self.config.handles_max;
        let entry = HandleEntry { object, access, flags, history };
        match self.process_mut(pid).handles.alloc(entry, max) {
            Some(h) => {
                self.objects[object].hdr.handle_count += 1;
                Ok(h)
            }
            None => {
                Err(self.hit_limit(LimitKind::Handles, format!("process P{pid} holds {max} handles (handles_max)")))
            }
        }
    }

    /// An origin record for a handle made now by the current call.
    pub(crate) fn origin(
        &self,
        pid: Pid,
        tid: Tid,
        api: &'static str,
        how: &'static str,
        from: Option<(Pid, HANDLE)>,
    ) -> Origin {
        Origin { step: self.step, api: api.into(), how: how.into(), by_pid: pid, by_tid: tid, from }
    }

    /// Resolves a handle of `pid` (pseudo handles included) to an object of type `ty`
    /// (any type when `None`) with all of `access` granted. Windows' errors: an unknown
    /// handle or wrong type is ERROR_INVALID_HANDLE, a missing right ERROR_ACCESS_DENIED.
    pub(crate) fn object_from_handle(
        &self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        ty: Option<ObjectType>,
        access: u32,
    ) -> Result<ObjectId, Win32Error> {
        let (id, granted) = if h == CURRENT_PROCESS_PSEUDO_HANDLE {
            (self.pids[&pid], PROCESS_ALL_ACCESS)
        } else if h == CURRENT_THREAD_PSEUDO_HANDLE {
            (self.tids[&tid], THREAD_ALL_ACCESS)
        } else {
            let e = self.process(pid).handles.get(h).ok_or(ERROR_INVALID_HANDLE)?;
            (e.object, e.access)
        };
        if let Some(ty) = ty
            && self.objects[id].body.object_type() != ty
        {
            return Err(ERROR_INVALID_HANDLE);
        }
        if granted & access != access {
            return Err(ERROR_ACCESS_DENIED);
        }
        Ok(id)
    }

    /// Granted access of a real handle (None for pseudo or invalid handles).
    pub(crate) fn granted_access(&self, pid: Pid, h: HANDLE) -> Option<u32> {
        self.process(pid).handles.get(h).map(|e| e.access)
    }

    /// Removes a handle from `pid`'s table and drops its count on the object, with the
    /// side effects of the last handle closing.
    pub(crate) fn close_handle(&mut self, pid: Pid, h: HANDLE) -> Result<(), Win32Error> {
        let p = self.process_mut(pid);
        let e = p.handles.get(h).ok_or(ERROR_INVALID_HANDLE)?;
        if e.protected() {
            // STATUS_HANDLE_NOT_CLOSABLE, ERROR_INVALID_HANDLE; the handle stays
            // (docs/semantics.md §7.7).
            return Err(ERROR_INVALID_HANDLE);
        }
        let mut e = p.handles.remove(h).expect("handle exists");
        self.note_closed(pid, h, &mut e, "CloseHandle", "closed");
        self.drop_handle_ref(e.object);
        Ok(())
    }

    /// Remembers a closed handle on its object (bounded), for reports: the entry's
    /// history moves into the record (the entry is being closed).
    pub(crate) fn note_closed(
        &mut self,
        pid: Pid,
        h: HANDLE,
        e: &mut HandleEntry,
        api: &'static str,
        how: &'static str,
    ) {
        // The record lives on the object, and only a deadlock report reads it (a pipe's
        // closed writers). An object whose last handle this is, that nothing else refers
        // to, and whose family's hook for its last handle keeps no reference to it (none,
        // or a pipe end's, `file_cleanup`) is destroyed by this close (`drop_handle_ref`,
        // which checks it in debug builds), its record unread: none is made. (A pipe end
        // closed at its process's exit made two allocations a run for nothing, issue 13.)
        let o = &self.objects[e.object];
        if o.hdr.handle_count == 1
            && o.hdr.ref_count == 0
            && (!o.body.has_last_handle_hook() || matches!(o.body, Body::File(_)))
        {
            return;
        }
        let by_tid = self.current.unwrap_or(0);
        let closed = Origin { step: self.step, api: api.into(), how: how.into(), by_pid: pid, by_tid, from: None };
        let list = &mut self.objects[e.object].hdr.closed;
        if list.len() >= crate::objects::CLOSED_HANDLES_KEPT {
            list.remove(0);
        }
        let history = std::mem::take(&mut e.history);
        list.push(crate::objects::ClosedHandle { pid, handle: h, history, closed });
    }

    pub(crate) fn drop_handle_ref(&mut self, id: ObjectId) {
        let o = &mut self.objects[id];
        assert!(o.hdr.handle_count > 0, "simulator bug: handle count underflow");
        o.hdr.handle_count -= 1;
        if o.hdr.handle_count == 0 {
            // The name goes with the last handle, even while references keep the object
            // (docs/semantics.md §7.13).
            if let Some(name) = o.hdr.name.clone()
                && self.names.get(&name) == Some(&id)
            {
                self.names.remove(&name);
            }
            // The object's hook may release references others held on it (a port's
            // waiters): a reference held across the hook keeps it alive until the hook is
            // done.
            // (A pipe end that nothing referred to is destroyed below: `note_closed`
            // made no record of its close for that.)
            #[cfg(debug_assertions)]
            let unreferenced_file = o.hdr.ref_count == 0 && matches!(o.body, Body::File(_));
            self.objects[id].hdr.ref_count += 1;
            self.on_last_handle_closed(id);
            self.objects[id].hdr.ref_count -= 1;
            #[cfg(debug_assertions)]
            debug_assert!(
                !unreferenced_file || self.objects[id].hdr.ref_count == 0,
                "simulator bug: a pipe end's last close kept a reference to it"
            );
        }
        self.maybe_destroy(id);
    }
}
