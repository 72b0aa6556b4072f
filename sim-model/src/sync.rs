//! Events, mutexes, semaphores and the waits on them (§§10.1, 10.2, 10.4, 11.1, 11.2,
//! 12.1, 12.3, 12.5, 13.1-13.3).
//!
//! The objects are plain records in a `Vec`; a thread is a number. Waiting is two things:
//! [`SyncModel::try_wait`], the rule for whether a wait is satisfied now and what it takes
//! (Windows' rules, no scheduler), and a list of blocked waits. Whenever an object's state
//! changes, the blocked waits that can now be satisfied are satisfied one at a time; which
//! one goes first when they compete is not the model's business (Windows promises no
//! order), so [`SyncModel::settle`] asks the caller to choose among the eligible ones.
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

/// A simulated thread (its thread id).
pub type ThreadId = u32;

/// An object of the model: its index in creation order.
pub type ObjectId = usize;

/// WAIT_OBJECT_0.
pub const WAIT_OBJECT_0: u32 = 0;
/// WAIT_ABANDONED_0.
pub const WAIT_ABANDONED_0: u32 = 0x80;
/// WAIT_TIMEOUT.
pub const WAIT_TIMEOUT: u32 = 0x102;
/// INFINITE (a time-out that never passes).
pub const INFINITE: u32 = u32::MAX;
/// MAXIMUM_WAIT_OBJECTS.
pub const MAXIMUM_WAIT_OBJECTS: usize = 64;
/// ERROR_INVALID_PARAMETER.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// ERROR_NOT_OWNER.
pub const ERROR_NOT_OWNER: u32 = 288;
/// ERROR_TOO_MANY_POSTS.
pub const ERROR_TOO_MANY_POSTS: u32 = 298;

/// An event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Manual-reset: stays signalled until reset. Auto-reset: one satisfied wait resets it
    /// (§11.2).
    pub manual_reset: bool,
    /// Signalled.
    pub signalled: bool,
}

/// A mutex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutex {
    /// The owning thread; `Some` exactly when `count > 0`.
    pub owner: Option<ThreadId>,
    /// Recursion count: how many more ReleaseMutex calls the owner needs (§12.1).
    pub count: u32,
    /// The owner ended without releasing it; the next acquisition reports
    /// WAIT_ABANDONED and clears it (§12.3).
    pub abandoned: bool,
}

/// A semaphore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semaphore {
    /// Current count, `0 <= count <= maximum`.
    pub count: i32,
    /// Maximum count.
    pub maximum: i32,
}

/// An object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// An event.
    Event(Event),
    /// A mutex.
    Mutex(Mutex),
    /// A semaphore.
    Semaphore(Semaphore),
}

impl Event {
    /// SetEvent: signalled; setting a set event changes nothing (§11.1).
    pub fn set(&mut self) {
        self.signalled = true;
    }

    /// ResetEvent: nonsignalled.
    pub fn reset(&mut self) {
        self.signalled = false;
    }
}

impl Mutex {
    /// Whether `thread` may acquire it now: it is free, or `thread` owns it (§12.1).
    pub fn available_to(&self, thread: ThreadId) -> bool {
        self.owner.is_none() || self.owner == Some(thread)
    }

    /// A satisfied wait by `thread`: it owns the mutex one level deeper. Returns whether
    /// the mutex was abandoned (the wait reports WAIT_ABANDONED; §12.3).
    pub fn acquire(&mut self, thread: ThreadId) -> bool {
        assert!(self.available_to(thread), "model misuse: acquiring a mutex owned by another thread");
        self.owner = Some(thread);
        self.count += 1;
        std::mem::take(&mut self.abandoned)
    }

    /// ReleaseMutex by `thread`: one level less; free at zero. A thread that does not own
    /// it fails with ERROR_NOT_OWNER, including one release too many (§§12.1, 12.5).
    pub fn release(&mut self, thread: ThreadId) -> Result<(), u32> {
        if self.owner != Some(thread) {
            return Err(ERROR_NOT_OWNER);
        }
        self.count -= 1;
        if self.count == 0 {
            self.owner = None;
        }
        Ok(())
    }

    /// The owner `thread` ended while owning it: free and abandoned (§12.3). Returns
    /// false (and changes nothing) if `thread` does not own it.
    pub fn abandon(&mut self, thread: ThreadId) -> bool {
        if self.owner != Some(thread) {
            return false;
        }
        self.owner = None;
        self.count = 0;
        self.abandoned = true;
        true
    }
}

impl Semaphore {
    /// CreateSemaphore's check: a maximum of at least 1 and `0 <= initial <= maximum`,
    /// else ERROR_INVALID_PARAMETER (§13.1).
    pub fn new(initial: i32, maximum: i32) -> Result<Semaphore, u32> {
        if maximum <= 0 || initial < 0 || initial > maximum {
            return Err(ERROR_INVALID_PARAMETER);
        }
        Ok(Semaphore { count: initial, maximum })
    }

    /// ReleaseSemaphore(n): all or nothing. Returns the previous count (§13.3), or
    /// ERROR_TOO_MANY_POSTS with the count unchanged when it would pass the maximum
    /// (§13.2). A count below 1 is ERROR_INVALID_PARAMETER (ReleaseSemaphore doc:
    /// lReleaseCount must be greater than zero).
    pub fn release(&mut self, n: i32) -> Result<i32, u32> {
        if n <= 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let previous = self.count;
        if i64::from(previous) + i64::from(n) > i64::from(self.maximum) {
            return Err(ERROR_TOO_MANY_POSTS);
        }
        self.count += n;
        Ok(previous)
    }
}

impl Object {
    /// Whether a wait by `thread` finds it signalled.
    pub fn signalled_for(&self, thread: ThreadId) -> bool {
        match self {
            Object::Event(e) => e.signalled,
            Object::Mutex(m) => m.available_to(thread),
            Object::Semaphore(s) => s.count > 0,
        }
    }

    /// A satisfied wait by `thread` takes its signal: an auto-reset event resets, a mutex
    /// is acquired, a semaphore's count drops by 1 (§§11.2, 12.1, 13.3). Returns
    /// whether it was an abandoned mutex.
    fn consume(&mut self, thread: ThreadId) -> bool {
        match self {
            Object::Event(e) => {
                if !e.manual_reset {
                    e.signalled = false;
                }
                false
            }
            Object::Mutex(m) => m.acquire(thread),
            Object::Semaphore(s) => {
                s.count -= 1;
                false
            }
        }
    }
}

/// A blocked wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// The waiting thread.
    pub thread: ThreadId,
    /// The objects, in argument order.
    pub objects: Vec<ObjectId>,
    /// bWaitAll.
    pub wait_all: bool,
}

/// What a wait call does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    /// Returned at once with this wait code (WAIT_OBJECT_0 + i, WAIT_ABANDONED_0 + i or
    /// WAIT_TIMEOUT).
    Done(u32),
    /// The caller blocks (registered as a [`Waiter`]).
    Blocked,
    /// WAIT_FAILED with this error.
    Failed(u32),
}

/// Objects and blocked waits.
#[derive(Debug, Clone, Default)]
pub struct SyncModel {
    /// The objects by [`ObjectId`].
    pub objects: Vec<Object>,
    /// Blocked waits, in the order they blocked. At most one per thread.
    pub waiters: Vec<Waiter>,
}

impl SyncModel {
    /// No objects, no waiters.
    pub fn new() -> SyncModel {
        SyncModel::default()
    }

    fn add(&mut self, o: Object) -> ObjectId {
        self.objects.push(o);
        self.objects.len() - 1
    }

    /// CreateEvent.
    pub fn create_event(&mut self, manual_reset: bool, initial_state: bool) -> ObjectId {
        self.add(Object::Event(Event { manual_reset, signalled: initial_state }))
    }

    /// CreateMutex: `owner` is the calling thread when bInitialOwner is TRUE (recursion
    /// count 1, §12.1).
    pub fn create_mutex(&mut self, owner: Option<ThreadId>) -> ObjectId {
        self.add(Object::Mutex(Mutex { owner, count: u32::from(owner.is_some()), abandoned: false }))
    }

    /// CreateSemaphore (§13.1).
    pub fn create_semaphore(&mut self, initial: i32, maximum: i32) -> Result<ObjectId, u32> {
        let s = Semaphore::new(initial, maximum)?;
        Ok(self.add(Object::Semaphore(s)))
    }

    /// The event `id`. Panics if it is another type (the model's caller checks types).
    pub fn event_mut(&mut self, id: ObjectId) -> &mut Event {
        match &mut self.objects[id] {
            Object::Event(e) => e,
            o => panic!("model misuse: object {id} is not an event: {o:?}"),
        }
    }

    /// The mutex `id`.
    pub fn mutex_mut(&mut self, id: ObjectId) -> &mut Mutex {
        match &mut self.objects[id] {
            Object::Mutex(m) => m,
            o => panic!("model misuse: object {id} is not a mutex: {o:?}"),
        }
    }

    /// The semaphore `id`.
    pub fn semaphore_mut(&mut self, id: ObjectId) -> &mut Semaphore {
        match &mut self.objects[id] {
            Object::Semaphore(s) => s,
            o => panic!("model misuse: object {id} is not a semaphore: {o:?}"),
        }
    }

    /// SetEvent. Waiters it satisfies are released by [`SyncModel::settle`].
    pub fn set_event(&mut self, id: ObjectId) {
        self.event_mut(id).set();
    }

    /// ResetEvent.
    pub fn reset_event(&mut self, id: ObjectId) {
        self.event_mut(id).reset();
    }

    /// PulseEvent: signal, release the waits that can be satisfied at this instant (all
    /// of them for a manual-reset event; an auto-reset event is consumed by the first),
    /// then nonsignalled, whether or not anyone was waiting (§11.1). `choose` picks
    /// which eligible waiter goes next, as in [`SyncModel::settle`].
    pub fn pulse_event<E>(
        &mut self,
        id: ObjectId,
        choose: impl FnMut(&[ThreadId]) -> Result<ThreadId, E>,
    ) -> Result<Vec<(ThreadId, u32)>, E> {
        self.event_mut(id).set();
        let released = self.settle(choose);
        self.event_mut(id).reset();
        released
    }

    /// ReleaseMutex by `thread` (§§12.1, 12.5).
    pub fn release_mutex(&mut self, id: ObjectId, thread: ThreadId) -> Result<(), u32> {
        self.mutex_mut(id).release(thread)
    }

    /// ReleaseSemaphore (§§13.2, 13.3): the previous count.
    pub fn release_semaphore(&mut self, id: ObjectId, n: i32) -> Result<i32, u32> {
        self.semaphore_mut(id).release(n)
    }

    /// The owner `thread` of mutex `id` ended without releasing it (§12.3). Returns
    /// false if `thread` did not own it.
    pub fn abandon_mutex(&mut self, id: ObjectId, thread: ThreadId) -> bool {
        self.mutex_mut(id).abandon(thread)
    }

    /// `thread` ended: its blocked wait (if any) goes away and every mutex it still owns
    /// is abandoned (§12.3). Returns the mutexes abandoned here, in id order.
    pub fn thread_exited(&mut self, thread: ThreadId) -> Vec<ObjectId> {
        self.waiters.retain(|w| w.thread != thread);
        let mut abandoned = Vec::new();
        for (id, o) in self.objects.iter_mut().enumerate() {
            if let Object::Mutex(m) = o
                && m.abandon(thread)
            {
                abandoned.push(id);
            }
        }
        abandoned
    }

    /// WaitForMultipleObjects' argument checks: 1 to 64 objects, and no object twice in
    /// a wait-all (§10.4; both ERROR_INVALID_PARAMETER).
    pub fn check_wait(objects: &[ObjectId], wait_all: bool) -> Result<(), u32> {
        if objects.is_empty() || objects.len() > MAXIMUM_WAIT_OBJECTS {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if wait_all {
            for (i, a) in objects.iter().enumerate() {
                if objects[..i].contains(a) {
                    return Err(ERROR_INVALID_PARAMETER);
                }
            }
        }
        Ok(())
    }

    /// What a wait by `thread` would return now, without taking anything; `None` if it
    /// cannot be satisfied now.
    pub fn would_wait(&self, objects: &[ObjectId], wait_all: bool, thread: ThreadId) -> Option<u32> {
        self.clone().try_wait(objects, wait_all, thread)
    }

    /// The wait rule. Wait-any: the lowest signalled index `i` wins and only that object
    /// is consumed (§10.2); the code is WAIT_OBJECT_0 + i, or WAIT_ABANDONED_0 + i for
    /// an abandoned mutex. Wait-all: nothing is taken unless everything is signalled,
    /// then everything is (§10.4); the code is WAIT_OBJECT_0, or WAIT_ABANDONED_0 if
    /// any of them was an abandoned mutex (+0, whatever its index: the kernel's Wine probe
    /// and WRK's KeWaitForMultipleObjects). A mutex is signalled for its owner (fact
    /// 12.1). `None`: not satisfied now, nothing changed.
    pub fn try_wait(&mut self, objects: &[ObjectId], wait_all: bool, thread: ThreadId) -> Option<u32> {
        if wait_all {
            if !objects.iter().all(|&o| self.objects[o].signalled_for(thread)) {
                return None;
            }
            let mut abandoned = false;
            for &o in objects {
                abandoned |= self.objects[o].consume(thread);
            }
            Some(if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 })
        } else {
            let i = objects.iter().position(|&o| self.objects[o].signalled_for(thread))?;
            let abandoned = self.objects[objects[i]].consume(thread);
            Some(if abandoned { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 } + i as u32)
        }
    }

    /// WaitForSingleObject / WaitForMultipleObjects by `thread` with a time-out: satisfied
    /// now, WAIT_TIMEOUT at once for a time-out of 0 (§10.1), or blocked (any other
    /// time-out; the time-out itself is [`SyncModel::time_out`]).
    pub fn wait(&mut self, objects: &[ObjectId], wait_all: bool, thread: ThreadId, timeout_ms: u32) -> WaitOutcome {
        if let Err(e) = SyncModel::check_wait(objects, wait_all) {
            return WaitOutcome::Failed(e);
        }
        assert!(self.waiters.iter().all(|w| w.thread != thread), "model misuse: T{thread} is already waiting");
        if let Some(code) = self.try_wait(objects, wait_all, thread) {
            return WaitOutcome::Done(code);
        }
        if timeout_ms == 0 {
            return WaitOutcome::Done(WAIT_TIMEOUT);
        }
        self.waiters.push(Waiter { thread, objects: objects.to_vec(), wait_all });
        WaitOutcome::Blocked
    }

    /// A blocked wait's time-out passed: it returns WAIT_TIMEOUT and takes nothing.
    /// Returns false if `thread` was not waiting.
    pub fn time_out(&mut self, thread: ThreadId) -> bool {
        let before = self.waiters.len();
        self.waiters.retain(|w| w.thread != thread);
        self.waiters.len() != before
    }

    /// The blocked waiters whose wait could be satisfied now, in the order they blocked.
    pub fn eligible(&self) -> Vec<ThreadId> {
        self.waiters
            .iter()
            .filter(|w| self.would_wait(&w.objects, w.wait_all, w.thread).is_some())
            .map(|w| w.thread)
            .collect()
    }

    /// Satisfies `thread`'s blocked wait now, if it can be: returns its wait code and
    /// removes it from the waiters.
    pub fn wake(&mut self, thread: ThreadId) -> Option<u32> {
        let i = self.waiters.iter().position(|w| w.thread == thread)?;
        let w = self.waiters[i].clone();
        let code = self.try_wait(&w.objects, w.wait_all, thread)?;
        self.waiters.remove(i);
        Some(code)
    }

    /// After a state change: satisfies blocked waits until none can be, one at a time,
    /// `choose` picking the next among the eligible ones (Windows promises no order; a
    /// wait that takes nothing, such as one on a manual-reset event, stays eligible
    /// whatever is picked before it). Returns who was released with which code, in order.
    /// `choose` must return one of the threads it is offered; an error stops the settling.
    pub fn settle<E>(
        &mut self,
        mut choose: impl FnMut(&[ThreadId]) -> Result<ThreadId, E>,
    ) -> Result<Vec<(ThreadId, u32)>, E> {
        let mut released = Vec::new();
        loop {
            let eligible = self.eligible();
            if eligible.is_empty() {
                return Ok(released);
            }
            let t = choose(&eligible)?;
            assert!(eligible.contains(&t), "model misuse: T{t} chosen but not eligible ({eligible:?})");
            let code = self.wake(t).expect("eligible waiter is satisfiable");
            released.push((t, code));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Settles choosing the first eligible waiter each time.
    fn settle_first(m: &mut SyncModel) -> Vec<(ThreadId, u32)> {
        m.settle::<()>(|e| Ok(e[0])).unwrap()
    }

    /// §10.2 (sync.c :: test_WaitForMultipleObjects): wait-any on all-signalled
    /// auto-reset events returns the lowest index and consumes only it, so repeated waits
    /// return 0, 1, 2, ... in turn; a manual-reset event at the lowest index is not
    /// consumed.
    #[test]
    fn wait_any_takes_the_lowest_signalled_index_only() {
        let mut m = SyncModel::new();
        let ev: Vec<ObjectId> = (0..4).map(|_| m.create_event(false, true)).collect();
        for i in 0..4 {
            assert_eq!(m.wait(&ev, false, 1, 0), WaitOutcome::Done(WAIT_OBJECT_0 + i));
        }
        assert_eq!(m.wait(&ev, false, 1, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        let manual = m.create_event(true, true);
        m.set_event(ev[1]);
        assert_eq!(m.wait(&[manual, ev[1]], false, 1, 0), WaitOutcome::Done(0));
        assert_eq!(m.wait(&[manual, ev[1]], false, 1, 0), WaitOutcome::Done(0));
        assert!(matches!(m.objects[ev[1]], Object::Event(Event { signalled: true, .. })));
    }

    /// §10.4: wait-all takes nothing until everything is signalled, then everything;
    /// an object twice is ERROR_INVALID_PARAMETER.
    #[test]
    fn wait_all_is_all_or_nothing() {
        let mut m = SyncModel::new();
        let a = m.create_event(false, true);
        let s = m.create_semaphore(0, 2).unwrap();
        assert_eq!(m.wait(&[a, s], true, 1, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        assert!(matches!(m.objects[a], Object::Event(Event { signalled: true, .. })));
        m.release_semaphore(s, 1).unwrap();
        assert_eq!(m.wait(&[a, s], true, 1, 0), WaitOutcome::Done(WAIT_OBJECT_0));
        assert!(matches!(m.objects[a], Object::Event(Event { signalled: false, .. })));
        assert_eq!(m.semaphore_mut(s).count, 0);
        assert_eq!(m.wait(&[a, a], true, 1, 0), WaitOutcome::Failed(ERROR_INVALID_PARAMETER));
        assert_eq!(m.wait(&[], false, 1, 0), WaitOutcome::Failed(ERROR_INVALID_PARAMETER));
    }

    /// §§11.1, 11.2 (ntsync.c :: test_event): setting a set event changes nothing;
    /// an auto-reset event is consumed by one wait, a manual-reset one by none; PulseEvent
    /// with no waiter leaves it nonsignalled.
    #[test]
    fn events() {
        let mut m = SyncModel::new();
        let auto = m.create_event(false, false);
        let manual = m.create_event(true, false);
        m.set_event(auto);
        m.set_event(auto);
        assert_eq!(m.wait(&[auto], false, 1, 0), WaitOutcome::Done(0));
        assert_eq!(m.wait(&[auto], false, 1, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        m.set_event(manual);
        assert_eq!(m.wait(&[manual], false, 1, 0), WaitOutcome::Done(0));
        assert_eq!(m.wait(&[manual], false, 2, 0), WaitOutcome::Done(0));
        m.reset_event(manual);
        assert_eq!(m.wait(&[manual], false, 1, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        for e in [auto, manual] {
            assert_eq!(m.pulse_event::<()>(e, |t| Ok(t[0])).unwrap(), vec![]);
            assert_eq!(m.wait(&[e], false, 1, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        }
    }

    /// PulseEvent releases the waiters waiting at that instant: all of them for a
    /// manual-reset event, one for an auto-reset event (PulseEvent doc; §11.1).
    #[test]
    fn pulse_releases_current_waiters() {
        let mut m = SyncModel::new();
        let manual = m.create_event(true, false);
        let auto = m.create_event(false, false);
        for t in [1, 2] {
            assert_eq!(m.wait(&[manual], false, t, INFINITE), WaitOutcome::Blocked);
        }
        for t in [3, 4] {
            assert_eq!(m.wait(&[auto], false, t, INFINITE), WaitOutcome::Blocked);
        }
        assert_eq!(m.pulse_event::<()>(manual, |t| Ok(t[0])).unwrap(), vec![(1, 0), (2, 0)]);
        assert_eq!(m.pulse_event::<()>(auto, |t| Ok(*t.last().unwrap())).unwrap(), vec![(4, 0)]);
        assert_eq!(m.eligible(), Vec::<ThreadId>::new());
        assert_eq!(m.waiters.len(), 1);
    }

    /// §12.1 (sync.c :: test_mutex, ntsync.c :: test_mutant): the owner acquires
    /// recursively, needs as many releases, and one more fails with ERROR_NOT_OWNER; an
    /// initial owner holds it once.
    #[test]
    fn mutex_recursion() {
        let mut m = SyncModel::new();
        let mx = m.create_mutex(None);
        for _ in 0..32 {
            assert_eq!(m.wait(&[mx], false, 1, 0), WaitOutcome::Done(0));
        }
        assert_eq!(m.wait(&[mx], false, 2, 0), WaitOutcome::Done(WAIT_TIMEOUT));
        assert_eq!(m.release_mutex(mx, 2), Err(ERROR_NOT_OWNER));
        for _ in 0..32 {
            assert_eq!(m.release_mutex(mx, 1), Ok(()));
        }
        assert_eq!(m.release_mutex(mx, 1), Err(ERROR_NOT_OWNER));
        let owned = m.create_mutex(Some(5));
        assert_eq!(m.wait(&[owned], false, 5, 0), WaitOutcome::Done(0));
        assert_eq!(m.mutex_mut(owned).count, 2);
        assert_eq!(m.release_mutex(owned, 5), Ok(()));
        assert_eq!(m.release_mutex(owned, 5), Ok(()));
        assert_eq!(m.mutex_mut(owned).owner, None);
    }

    /// §§12.3, 12.4 (ntsync.c :: test_mutant, sync.c :: test_mutex): the owner's exit
    /// abandons the mutex; the next wait returns WAIT_ABANDONED (WAIT_ABANDONED_0 + i for
    /// wait-any) and owns it, and the flag is cleared. A thread blocked on it is released
    /// with WAIT_ABANDONED.
    #[test]
    fn abandonment() {
        let mut m = SyncModel::new();
        let e = m.create_event(false, false);
        let mx = m.create_mutex(Some(1));
        assert_eq!(m.wait(&[e, mx], false, 2, 5), WaitOutcome::Blocked);
        assert_eq!(m.thread_exited(1), vec![mx]);
        assert_eq!(settle_first(&mut m), vec![(2, WAIT_ABANDONED_0 + 1)]);
        assert_eq!(m.mutex_mut(mx).owner, Some(2));
        assert!(!m.mutex_mut(mx).abandoned);
        assert_eq!(m.thread_exited(2), vec![mx]);
        assert_eq!(m.wait(&[mx], false, 3, 0), WaitOutcome::Done(WAIT_ABANDONED_0));
        assert_eq!(m.wait(&[mx], false, 3, 0), WaitOutcome::Done(WAIT_OBJECT_0));
        // Wait-all reports WAIT_ABANDONED_0 itself, whatever the mutex's index.
        assert_eq!(m.thread_exited(3), vec![mx]);
        m.set_event(e);
        assert_eq!(m.wait(&[e, mx], true, 4, 0), WaitOutcome::Done(WAIT_ABANDONED_0));
    }

    /// §§13.1-13.3 (ntsync.c :: test_semaphore): bad counts fail to create; releases
    /// report the previous count; past the maximum is ERROR_TOO_MANY_POSTS and adds
    /// nothing; each satisfied wait takes 1.
    #[test]
    fn semaphores() {
        let mut m = SyncModel::new();
        assert_eq!(m.create_semaphore(3, 2), Err(ERROR_INVALID_PARAMETER));
        let s = m.create_semaphore(0, 2).unwrap();
        assert_eq!(m.release_semaphore(s, 3), Err(ERROR_TOO_MANY_POSTS));
        assert_eq!(m.release_semaphore(s, 1), Ok(0));
        assert_eq!(m.release_semaphore(s, 1), Ok(1));
        assert_eq!(m.release_semaphore(s, 1), Err(ERROR_TOO_MANY_POSTS));
        assert_eq!(m.semaphore_mut(s).count, 2);
        assert_eq!(m.wait(&[s], false, 1, 0), WaitOutcome::Done(0));
        assert_eq!(m.semaphore_mut(s).count, 1);
        for t in [1, 2, 3] {
            let expect = if t == 1 { WaitOutcome::Done(0) } else { WaitOutcome::Blocked };
            assert_eq!(m.wait(&[s], false, t, 10), expect);
        }
        assert_eq!(m.release_semaphore(s, 2), Ok(0));
        assert_eq!(settle_first(&mut m), vec![(2, 0), (3, 0)]);
    }

    /// A blocked wait-all is released only when everything is signalled, and then the
    /// choice among competing waiters is the caller's.
    #[test]
    fn settle_offers_every_eligible_waiter() {
        let mut m = SyncModel::new();
        let s = m.create_semaphore(0, 5).unwrap();
        let e = m.create_event(true, false);
        assert_eq!(m.wait(&[s, e], true, 1, 10), WaitOutcome::Blocked);
        assert_eq!(m.wait(&[s], false, 2, 10), WaitOutcome::Blocked);
        m.release_semaphore(s, 1).unwrap();
        let mut offered = Vec::new();
        let out = m.settle::<()>(|t| {
            offered.push(t.to_vec());
            Ok(t[0])
        });
        assert_eq!(out, Ok(vec![(2, 0)]));
        assert_eq!(offered, vec![vec![2]]);
        m.set_event(e);
        m.release_semaphore(s, 1).unwrap();
        assert_eq!(settle_first(&mut m), vec![(1, 0)]);
        assert!(m.waiters.is_empty());
        assert!(!m.time_out(1), "a released waiter cannot time out");
    }

    proptest! {
        /// Semaphore counts stay within 0..=maximum whatever happens, and a failed
        /// release changes nothing.
        #[test]
        fn semaphore_count_stays_in_range(max in 1i32..5, ops in proptest::collection::vec(0i32..4, 0..40)) {
            let mut s = Semaphore::new(0, max).unwrap();
            for n in ops {
                let before = s.count;
                if n == 0 {
                    if s.count > 0 { s.count -= 1; }
                } else {
                    match s.release(n) {
                        Ok(prev) => prop_assert_eq!(prev, before),
                        Err(e) => {
                            prop_assert_eq!(e, ERROR_TOO_MANY_POSTS);
                            prop_assert_eq!(s.count, before);
                        }
                    }
                }
                prop_assert!((0..=max).contains(&s.count));
            }
        }
    }
}
