//! Events, mutexes and semaphores, and the named-object namespace they share (facts in
//! sections 7.13-7.14 and 11-13 of docs/semantics.md).

use super::process::map_generic;
use super::{Body, ObjectId, ObjectType, SignalFate};
use crate::error::*;
use crate::kernel::request::{Api, Value};
use crate::kernel::{CallResult, Done, Kernel, Pid, Tid};
use crate::trace::EventKind;
use crate::types::*;

/// An event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Manual-reset (stays signalled until ResetEvent) or auto-reset (one wait consumes it).
    pub manual_reset: bool,
    /// Signalled state.
    pub signalled: bool,
}

impl Event {
    /// A satisfied wait consumes an auto-reset event's signal (a manual-reset event stays
    /// signalled); returns whether it consumed one.
    #[inline(always)]
    pub(crate) fn consume(&mut self) -> bool {
        if self.manual_reset {
            return false;
        }
        self.signalled = false;
        true
    }
}

/// A mutex ("mutant").
#[derive(Debug, Clone)]
pub struct Mutex {
    /// Owning thread. Invariant: `Some` exactly when `count > 0`.
    pub owner: Option<Tid>,
    /// Recursion count.
    pub count: u32,
    /// Set when the owner ended without releasing it; cleared by the next acquisition,
    /// which returns WAIT_ABANDONED (§12.3).
    pub abandoned: bool,
}

impl Mutex {
    /// A wait by `tid` is satisfied now: the mutex is free, or `tid` owns it (recursion).
    #[inline(always)]
    pub(crate) fn signalled_for(&self, tid: Tid) -> bool {
        self.owner.is_none() || self.owner == Some(tid)
    }

    /// `tid`'s satisfied wait acquires it (once more); returns whether it was abandoned
    /// (WAIT_ABANDONED, §12.3; cleared now) and whether it was free (then the thread's
    /// owned list gains it).
    #[inline(always)]
    pub(crate) fn acquire(&mut self, tid: Tid) -> (bool, bool) {
        let newly_owned = self.owner.is_none();
        self.owner = Some(tid);
        self.count += 1;
        (std::mem::take(&mut self.abandoned), newly_owned)
    }
}

/// A semaphore.
#[derive(Debug, Clone)]
pub struct Semaphore {
    /// Current count. Invariant: `0 <= count <= maximum`.
    pub count: i32,
    /// Maximum count.
    pub maximum: i32,
}

impl Semaphore {
    /// A wait is satisfied now: the count is above zero.
    #[inline(always)]
    pub(crate) fn signalled(&self) -> bool {
        self.count > 0
    }

    /// A satisfied wait takes one from the count.
    #[inline(always)]
    pub(crate) fn consume(&mut self) {
        self.count -= 1;
    }
}

/// Normalises an object name, as a process in `session` names it, to its namespace key,
/// or fails as Windows does for a path that names no object directory (docs/semantics.md
/// §30.2). `Local\` is the session namespace, the same as no prefix; `Global\` is the
/// global one, shared by every session; session 0 (services) uses the global namespace
/// for both. The keys of session 1, the default, are the bare names.
pub(crate) fn name_key(name: &str, session: u32) -> Result<String, Win32Error> {
    let local = |rest: &str| match session {
        0 => format!("Global\\{rest}"),
        1 => rest.to_string(),
        n => format!("Session\\{n}\\{rest}"),
    };
    let (prefix, rest) = match name.split_once('\\') {
        None => return Ok(local(name)),
        Some(split) => split,
    };
    match prefix {
        "Local" if !rest.contains('\\') => Ok(local(rest)),
        "Global" if !rest.contains('\\') => Ok(format!("Global\\{rest}")),
        // STATUS_OBJECT_PATH_NOT_FOUND: an unknown directory (Wine probe: a name with a
        // backslash gives ERROR_PATH_NOT_FOUND).
        _ => Err(ERROR_PATH_NOT_FOUND),
    }
}

impl Kernel {
    /// The part of CreateEvent/CreateMutex/CreateSemaphore that is the same for all three:
    /// open an existing object of the same name (ERROR_ALREADY_EXISTS), fail on a name
    /// held by another type (ERROR_INVALID_HANDLE, §7.14), or create; a successful
    /// create sets the last error to 0 (§7.13; Wine probe for unnamed objects).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_named(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: &'static str,
        ty: ObjectType,
        inherit: bool,
        name: Option<String>,
        access: u32,
        make: impl FnOnce(&mut Kernel) -> Body,
    ) -> CallResult {
        let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        let all = access;
        let name = name.filter(|n| !n.is_empty());
        let key = match &name {
            Some(n) => Some(name_key(n, self.process(pid).session)?),
            None => None,
        };
        if let Some(key) = &key
            && let Some(&id) = self.names.get(key)
        {
            if self.objects[id].body.object_type() != ty {
                return Err(ERROR_INVALID_HANDLE);
            }
            let origin = self.origin(pid, tid, api, "opened existing", None);
            let h = self.alloc_handle(pid, id, all, flags, vec![origin])?;
            return Ok(Done { value: Value::Handle(h), last_error: Some(ERROR_ALREADY_EXISTS) });
        }
        // Creating a file mapping in the global namespace from a session other than 0
        // needs SeCreateGlobalPrivilege; opening an existing one (above) does not (§30.3).
        if ty == ObjectType::Section && key.as_deref().is_some_and(|k| k.starts_with("Global\\")) {
            let p = self.process(pid);
            if p.session != 0 && !p.create_global {
                return Err(ERROR_ACCESS_DENIED);
            }
        }
        let body = make(self);
        let id = self.alloc_object(body, key.clone());
        if let Some(key) = &key {
            self.bind_name(key, id);
        }
        let origin = self.origin(pid, tid, api, "created", None);
        let h = match self.alloc_handle(pid, id, all, flags, vec![origin]) {
            Ok(h) => h,
            Err(e) => {
                // No handle (handles_max): the new object has no reference; drop it and
                // its name so nothing outlives the failed call.
                if let Some(key) = &key {
                    self.names.remove(key);
                }
                self.maybe_destroy(id);
                return Err(e);
            }
        };
        Ok(Done { value: Value::Handle(h), last_error: Some(ERROR_SUCCESS) })
    }

    /// OpenEvent, OpenMutex, OpenSemaphore.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_named(
        &mut self,
        pid: Pid,
        tid: Tid,
        ty: ObjectType,
        api: &'static str,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        let Some(name) = name else { return Err(ERROR_INVALID_PARAMETER) };
        if name.is_empty() {
            return Err(ERROR_INVALID_HANDLE);
        }
        let key = name_key(&name, self.process(pid).session)?;
        let Some(&id) = self.names.get(&key) else { return Err(ERROR_FILE_NOT_FOUND) };
        if self.objects[id].body.object_type() != ty {
            return Err(ERROR_INVALID_HANDLE);
        }
        if access == 0 {
            // sync.c test_mutex: OpenMutex with no access fails with ERROR_ACCESS_DENIED.
            return Err(ERROR_ACCESS_DENIED);
        }
        if access & ACCESS_SYSTEM_SECURITY != 0 {
            // sync.c test_mutex (todo_wine, so Windows' value): ACCESS_SYSTEM_SECURITY
            // needs SeSecurityPrivilege, which a normal token does not hold.
            return Err(ERROR_PRIVILEGE_NOT_HELD);
        }
        let access = map_generic(ty, access);
        if access & !map_generic(ty, GENERIC_ALL) != 0 {
            // sync.c test_mutex: OpenMutex(1 << i) fails with ERROR_ACCESS_DENIED for
            // every bit the default DACL cannot grant (failed == 0x0de0fffe, todo_wine:
            // Wine grants them all); events and semaphores go through the same access
            // check [inferred].
            return Err(ERROR_ACCESS_DENIED);
        }
        let origin = self.origin(pid, tid, api, "opened", None);
        let h = self.alloc_handle(pid, id, access, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin])?;
        Ok(Value::Handle(h).into())
    }

    pub(crate) fn open_event(
        &mut self,
        pid: Pid,
        tid: Tid,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        self.open_named(pid, tid, ObjectType::Event, "OpenEvent", access, inherit, name)
    }

    pub(crate) fn open_mutex(
        &mut self,
        pid: Pid,
        tid: Tid,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        self.open_named(pid, tid, ObjectType::Mutex, "OpenMutex", access, inherit, name)
    }

    pub(crate) fn open_semaphore(
        &mut self,
        pid: Pid,
        tid: Tid,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        self.open_named(pid, tid, ObjectType::Semaphore, "OpenSemaphore", access, inherit, name)
    }

    pub(crate) fn create_event(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        manual_reset: bool,
        initial_state: bool,
        name: Option<String>,
    ) -> CallResult {
        self.create_named(
            pid,
            tid,
            "CreateEvent",
            ObjectType::Event,
            inherit,
            name,
            map_generic(ObjectType::Event, GENERIC_ALL),
            |_| Body::Event(Event { manual_reset, signalled: initial_state }),
        )
    }

    fn event_mut(&mut self, id: ObjectId) -> &mut Event {
        match &mut self.objects[id].body {
            Body::Event(e) => e,
            _ => unreachable!("type checked by object_from_handle"),
        }
    }

    /// Signals an event and satisfies waiters (shared by SetEvent and SignalObjectAndWait).
    /// Returns how many waiters it released.
    pub(crate) fn signal_event(&mut self, id: ObjectId, tid: Tid, api: Api, cause: &str) -> usize {
        self.signal_if_event(id, tid, api, false, |_| cause.to_string())
            .unwrap_or_else(|| unreachable!("type checked by object_from_handle"))
    }

    /// `signal_event` if `id` is an event (None, and nothing done, otherwise): one look-up
    /// of the event for its type, its state, its last signal and whether anyone waits
    /// (`wake_waiters` finds no one otherwise). The wake-ups' cause is made only when
    /// there are waiters (its text reads the calling thread, which the signal leaves
    /// alone). `untraced`: the caller knows the trace is off (`Kernel::execute_sync`'s
    /// plain step), and the configuration is not read for it.
    #[inline(always)]
    fn signal_if_event(
        &mut self,
        id: ObjectId,
        tid: Tid,
        api: Api,
        untraced: bool,
        cause: impl FnOnce(&Kernel) -> String,
    ) -> Option<usize> {
        let step = self.step;
        let o = &mut self.objects[id];
        let Body::Event(e) = &mut o.body else { return None };
        let was = std::mem::replace(&mut e.signalled, true);
        // (`note_effect` does nothing with the trace off: not called then.)
        debug_assert!(!(untraced && self.config.trace));
        let traced = !untraced && self.config.trace;
        if was {
            // Setting a signalled event changes nothing: signals do not count.
            if traced {
                self.note_effect(|_| "no effect: the event was already signalled".into());
            }
            return Some(0);
        }
        let manual = e.manual_reset;
        o.hdr.record_signal(step, tid, api);
        let woken = if o.hdr.waiters.is_empty() {
            0
        } else {
            let cause = cause(self);
            self.wake_waiters(id, &cause)
        };
        if manual && woken > 0 {
            self.note_signal_fate(id, SignalFate::Released { waiters: woken });
        }
        if traced {
            self.note_effect(|k| match (woken, k.event_signalled(id)) {
                (0, _) => "signalled; no thread was waiting".into(),
                (n, true) => format!("signalled; released {n} waiter(s); stays signalled"),
                (n, false) => format!("released {n} waiter(s), which consumed the signal"),
            });
        }
        Some(woken)
    }

    fn event_signalled(&self, id: ObjectId) -> bool {
        matches!(&self.objects[id].body, Body::Event(e) if e.signalled)
    }

    pub(crate) fn set_event(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        if self.set_event_usual(self.process_object(pid), tid, false, h) {
            return Ok(Value::Bool(true).into());
        }
        self.set_event_other(pid, tid, h)
    }

    /// SetEvent's usual case, `object_from_handle`'s checks passed inline: a real handle
    /// with the right to an event (its type checked by `signal_if_event`'s own look-up,
    /// which does nothing to another object). Returns whether it was that case (the call
    /// is done and returns TRUE); anything else is `set_event_other`'s, the event left
    /// alone. (`Kernel::execute_sync` writes the reply straight into the thread.)
    /// `untraced` is `signal_if_event`'s.
    #[inline(always)]
    pub(crate) fn set_event_usual(
        &mut self,
        (pid, process): (Pid, ObjectId),
        tid: Tid,
        untraced: bool,
        h: HANDLE,
    ) -> bool {
        if let Some(e) = self.process_of(process, pid).handles.get(h)
            && e.access & EVENT_MODIFY_STATE == EVENT_MODIFY_STATE
        {
            return self.signal_if_event(e.object, tid, Api::SetEvent, untraced, handle_cause("SetEvent", h)).is_some();
        }
        false
    }

    /// SetEvent, other than its usual case (`set_event_usual`): `object_from_handle`'s to
    /// report.
    pub(crate) fn set_event_other(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Event), EVENT_MODIFY_STATE)?;
        self.signal_if_event(id, tid, Api::SetEvent, false, handle_cause("SetEvent", h))
            .unwrap_or_else(|| unreachable!("type checked"));
        Ok(Value::Bool(true).into())
    }

    pub(crate) fn reset_event(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Event), EVENT_MODIFY_STATE)?;
        // The event and its signal's fate (`note_signal_fate`) in one look-up.
        let step = self.step;
        let o = &mut self.objects[id];
        let Body::Event(e) = &mut o.body else { unreachable!("type checked by object_from_handle") };
        let was = std::mem::replace(&mut e.signalled, false);
        if was {
            o.hdr.note_fate(SignalFate::Reset { tid, step });
        }
        self.note_effect(|_| {
            if was { "was signalled; now not signalled" } else { "no effect: was not signalled" }.into()
        });
        Ok(Value::Bool(true).into())
    }

    /// PulseEvent: releases the threads waiting at this instant (all for manual-reset,
    /// one for auto-reset), then leaves the event nonsignalled (§11.1). A thread
    /// about to wait but not yet waiting misses it: the lost wake-up.
    pub(crate) fn pulse_event(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Event), EVENT_MODIFY_STATE)?;
        let cause = self.cause(|| format!("PulseEvent({h})"));
        self.event_mut(id).signalled = true;
        self.record_signal(id, tid, Api::PulseEvent);
        let woken = self.wake_waiters(id, &cause);
        self.event_mut(id).signalled = false;
        self.note_signal_fate(id, SignalFate::Pulsed { waiters: woken });
        self.note_effect(|_| match woken {
            0 => "released 0 waiters: the pulse is lost".into(),
            n => format!("released {n} waiter(s); the event is not signalled"),
        });
        Ok(Value::Bool(true).into())
    }

    pub(crate) fn create_mutex(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        initial_owner: bool,
        name: Option<String>,
    ) -> CallResult {
        // For an existing named mutex bInitialOwner is ignored (CreateMutex doc; Wine probe).
        self.create_named(
            pid,
            tid,
            "CreateMutex",
            ObjectType::Mutex,
            inherit,
            name,
            map_generic(ObjectType::Mutex, GENERIC_ALL),
            |_| {
                Body::Mutex(Mutex {
                    owner: initial_owner.then_some(tid),
                    count: u32::from(initial_owner),
                    abandoned: false,
                })
            },
        )
        .inspect(|done| {
            if initial_owner
                && done.last_error == Some(ERROR_SUCCESS)
                && let Value::Handle(h) = done.value
            {
                let id = self.process(pid).handles.get(h).expect("just allocated").object;
                self.thread_mut(tid).owned_mutexes.push(id);
            }
        })
    }

    /// A wait took the mutex for `tid` (the mutex family's `consume`). Returns true if it
    /// was abandoned (the wait then reports WAIT_ABANDONED, §12.3).
    pub(crate) fn acquire_mutex(&mut self, id: ObjectId, tid: Tid) -> bool {
        let (abandoned, newly_owned) = self.mutex_mut(id).acquire(tid);
        if newly_owned {
            self.thread_mut(tid).owned_mutexes.push(id);
        }
        abandoned
    }

    fn mutex_mut(&mut self, id: ObjectId) -> &mut Mutex {
        match &mut self.objects[id].body {
            Body::Mutex(m) => m,
            _ => unreachable!("type checked by object_from_handle"),
        }
    }

    /// Releases one level of ownership (shared by ReleaseMutex and SignalObjectAndWait).
    pub(crate) fn release_mutex_obj(&mut self, id: ObjectId, tid: Tid, cause: &str) -> Result<(), Win32Error> {
        let thread = self.thread_object(tid);
        self.release_if_mutex(id, tid, thread, false, |_| cause.to_string())
            .unwrap_or_else(|| unreachable!("type checked by object_from_handle"))
            .map(|_| ())
    }

    /// `release_mutex_obj` if `id` is a mutex (None, and nothing done, otherwise): one
    /// look-up of the mutex for its type, its state, its last signal and whether anyone
    /// waits (`wake_waiters` finds no one otherwise). The wake-ups' cause is made only
    /// when there are waiters (its text reads the calling thread, which the release
    /// leaves alone). `thread` is `tid`'s object (`thread_object`): the thread's list of
    /// owned mutexes is reached through it, without a look-up by `tid`.
    /// With `leave_unowned` (`Kernel::execute_sync`), a mutex freed with no one waiting
    /// is not taken off the thread's list here: `Ok(Some(id))` leaves that to the caller,
    /// which does it where it writes the reply, in the same look-up of the thread (nothing
    /// reads the list in between: no one is woken). Otherwise `Ok(None)`: done.
    #[inline(always)]
    fn release_if_mutex(
        &mut self,
        id: ObjectId,
        tid: Tid,
        thread: ObjectId,
        leave_unowned: bool,
        cause: impl FnOnce(&Kernel) -> String,
    ) -> Option<Result<Option<ObjectId>, Win32Error>> {
        let step = self.step;
        let o = &mut self.objects[id];
        let Body::Mutex(m) = &mut o.body else { return None };
        if m.owner != Some(tid) {
            return Some(Err(ERROR_NOT_OWNER));
        }
        m.count -= 1;
        if m.count == 0 {
            m.owner = None;
            o.hdr.record_signal(step, tid, Api::ReleaseMutex);
            let waiting = !o.hdr.waiters.is_empty();
            if leave_unowned && !waiting {
                // (Nothing else to do: no waiter, and `note_effect` does nothing with the
                // trace off, which it is in `execute_sync`'s step.)
                debug_assert!(!self.config.trace);
                return Some(Ok(Some(id)));
            }
            unown(&mut self.thread_of_mut(thread, tid).owned_mutexes, id);
            let woken = if waiting {
                let cause = cause(self);
                self.wake_waiters(id, &cause)
            } else {
                0
            };
            // (`note_effect` does nothing with the trace off: not called then.)
            if self.config.trace {
                self.note_effect(|_| match woken {
                    0 => "released; the mutex is free".into(),
                    _ => "released; ownership passed to a waiter".into(),
                });
            }
        } else {
            let left = m.count;
            self.note_effect(|_| format!("recursion count now {left}; still owned"));
        }
        Some(Ok(None))
    }

    pub(crate) fn release_mutex(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let thread = self.thread_object(tid);
        if let Some(r) = self.release_mutex_usual(self.process_object(pid), tid, thread, false, h) {
            r?;
            return Ok(Value::Bool(true).into());
        }
        self.release_mutex_other(pid, tid, h)
    }

    /// ReleaseMutex's usual case, `object_from_handle`'s checks passed inline: a real
    /// handle to a mutex (its type checked by `release_if_mutex`'s own look-up, which does
    /// nothing to another object; ReleaseMutex does not check the handle's access rights,
    /// §12.2). Returns its result (`Ok`: TRUE) if it was that case; anything else is
    /// `release_mutex_other`'s, the mutex left alone. (`Kernel::execute_sync` writes the
    /// reply straight into the thread.) `thread` is `tid`'s object; `leave_unowned` is
    /// `release_if_mutex`'s.
    #[inline(always)]
    pub(crate) fn release_mutex_usual(
        &mut self,
        (pid, process): (Pid, ObjectId),
        tid: Tid,
        thread: ObjectId,
        leave_unowned: bool,
        h: HANDLE,
    ) -> Option<Result<Option<ObjectId>, Win32Error>> {
        let e = self.process_of(process, pid).handles.get(h)?;
        self.release_if_mutex(e.object, tid, thread, leave_unowned, handle_cause("ReleaseMutex", h))
    }

    /// ReleaseMutex, other than its usual case (`release_mutex_usual`):
    /// `object_from_handle`'s to report.
    pub(crate) fn release_mutex_other(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Mutex), 0)?;
        let thread = self.thread_object(tid);
        self.release_if_mutex(id, tid, thread, false, handle_cause("ReleaseMutex", h))
            .unwrap_or_else(|| unreachable!("type checked"))?;
        Ok(Value::Bool(true).into())
    }

    /// The owner of a mutex ended without releasing it (§12.3).
    pub(crate) fn abandon_mutex(&mut self, id: ObjectId, tid: Tid) {
        let m = self.mutex_mut(id);
        if m.owner != Some(tid) {
            return;
        }
        m.owner = None;
        m.count = 0;
        m.abandoned = true;
        self.record_signal(id, tid, Api::ExitThread);
        let outer_cause = self.cause_event;
        if self.config.trace {
            let (mutex, serial) = (self.describe(id), self.objects[id].hdr.serial);
            self.push_event(tid, EventKind::MutexAbandoned { mutex, serial });
            // Outside a call (a body returned), the abandonment is what wakes the waiters.
            if self.current.is_none() {
                self.cause_event = self.trace.last().map(|e| e.id);
            }
        }
        self.wake_waiters(id, &format!("T{tid} exited owning it (abandoned)"));
        self.cause_event = outer_cause;
    }

    pub(crate) fn create_semaphore(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        initial: i32,
        maximum: i32,
        name: Option<String>,
    ) -> CallResult {
        // Checked before the name is looked up (§13.1; Wine probe: an existing name
        // with bad counts still fails with ERROR_INVALID_PARAMETER).
        if maximum <= 0 || initial < 0 || initial > maximum {
            return Err(ERROR_INVALID_PARAMETER);
        }
        self.create_named(
            pid,
            tid,
            "CreateSemaphore",
            ObjectType::Semaphore,
            inherit,
            name,
            map_generic(ObjectType::Semaphore, GENERIC_ALL),
            |_| Body::Semaphore(Semaphore { count: initial, maximum }),
        )
    }

    /// Adds to a semaphore's count, all or nothing (shared by ReleaseSemaphore and
    /// SignalObjectAndWait). Returns the previous count.
    pub(crate) fn release_semaphore_obj(
        &mut self,
        id: ObjectId,
        tid: Tid,
        count: i32,
        cause: &str,
    ) -> Result<i32, Win32Error> {
        let Body::Semaphore(s) = &mut self.objects[id].body else { unreachable!("type checked") };
        let prev = s.count;
        if i64::from(prev) + i64::from(count) > i64::from(s.maximum) {
            // All or nothing: the count is unchanged (§13.2).
            let max = s.maximum;
            self.note_effect(|_| format!("no effect: count {prev} + {count} would pass the maximum {max}"));
            return Err(ERROR_TOO_MANY_POSTS);
        }
        s.count += count;
        self.record_signal(id, tid, Api::ReleaseSemaphore);
        let woken = self.wake_waiters(id, cause);
        self.note_effect(|k| {
            let now = match &k.objects[id].body {
                Body::Semaphore(s) => s.count,
                _ => 0,
            };
            format!("count {prev} -> {}; {woken} waiter(s) took a unit; count now {now}", prev + count)
        });
        Ok(prev)
    }

    pub(crate) fn release_semaphore(&mut self, pid: Pid, tid: Tid, h: HANDLE, count: i32) -> CallResult {
        // NtReleaseSemaphore rejects a count <= 0 before looking at the handle.
        if count <= 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Semaphore), SEMAPHORE_MODIFY_STATE)?;
        let cause = self.cause(|| format!("ReleaseSemaphore({h}, {count})"));
        let prev = self.release_semaphore_obj(id, tid, count, &cause)?;
        Ok(Value::PrevCount(prev).into())
    }
}

/// The cause of the wake-ups a SetEvent or ReleaseMutex (`api`) on `h` brings: text only
/// (made with the trace on, from the handle and the calling thread), made only if the
/// object has waiters. (Its text is made out of line, so that the test of the trace is
/// inlined.)
#[inline(always)]
fn handle_cause(api: &'static str, h: HANDLE) -> impl FnOnce(&Kernel) -> String {
    move |k: &Kernel| if k.config.trace { traced_cause(k, api, h) } else { String::new() }
}

/// `Kernel::cause` of a call on one handle, "API(handle)", with the trace on.
#[inline(never)]
fn traced_cause(k: &Kernel, api: &str, h: HANDLE) -> String {
    k.cause(|| format!("{api}({h})"))
}

/// Takes `mutex` off a thread's list of owned mutexes. A thread owns a mutex once in its
/// list (`acquire_mutex` adds it only when it was free), so removing the one match is
/// `retain`'s removal of every one; the usual one is the last acquired (a pop, no shift).
#[inline(always)]
pub(crate) fn unown(owned: &mut Vec<ObjectId>, mutex: ObjectId) {
    if owned.last() == Some(&mutex) {
        owned.pop();
    } else if let Some(i) = owned.iter().position(|&o| o == mutex) {
        owned.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_keys() {
        assert_eq!(name_key("x", 1).unwrap(), "x");
        assert_eq!(name_key("Local\\x", 1).unwrap(), "x");
        assert_eq!(name_key("Global\\x", 1).unwrap(), "Global\\x");
        assert_eq!(name_key("a\\b", 1), Err(ERROR_PATH_NOT_FOUND));
        // §30.2: other sessions have their own local namespace; session 0's is global.
        assert_eq!(name_key("x", 2).unwrap(), "Session\\2\\x");
        assert_eq!(name_key("Local\\x", 2).unwrap(), "Session\\2\\x");
        assert_eq!(name_key("x", 0).unwrap(), "Global\\x");
        assert_eq!(name_key("Local\\x", 0).unwrap(), "Global\\x");
        assert_eq!(name_key("Global\\x", 0).unwrap(), "Global\\x");
    }
}
