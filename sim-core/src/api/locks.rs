//! Critical sections, slim reader/writer locks and condition variables (facts in §20 of
//! docs/semantics.md). These are user-mode structures on Windows, not kernel objects: the
//! program owns them as values; winsim keeps their state by process and id
//! (`objects/locks.rs`).

use super::ThreadCtx;
use crate::kernel::request::Request;
use crate::types::*;
use std::cell::Cell;
use std::rc::Rc;

/// The id cell shared by the clones of a lock value (0: not initialised yet).
#[derive(Clone, Debug, Default)]
struct LockId(Rc<Cell<u64>>);

/// A CRITICAL_SECTION: the program's value. Clones name the same critical section (share
/// it between the threads of one process by cloning it into their bodies). It must be
/// initialised with [`ThreadCtx::initialize_critical_section`] before use; using one that
/// was not, or that was deleted, ends the run as `Outcome::Failed`. It lives in one
/// process's memory: another process using a clone sees no critical section there.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, Default)]
pub struct CRITICAL_SECTION(LockId);

/// An SRWLOCK. `SRWLOCK::default()` is `SRWLOCK_INIT`: a free lock, usable without a call
/// ([`ThreadCtx::initialize_srw_lock`] does the same). Clones name the same lock.
#[derive(Clone, Debug, Default)]
pub struct SRWLOCK(LockId);

/// A CONDITION_VARIABLE. `CONDITION_VARIABLE::default()` is `CONDITION_VARIABLE_INIT`.
/// Clones name the same variable.
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, Default)]
pub struct CONDITION_VARIABLE(LockId);

/// An INIT_ONCE. `INIT_ONCE::default()` is `INIT_ONCE_STATIC_INIT`. Clones name the same
/// one-time initialisation (§26.8).
#[allow(non_camel_case_types)]
#[derive(Clone, Debug, Default)]
pub struct INIT_ONCE(LockId);

/// `SRWLOCK_INIT`: a statically initialised SRW lock.
#[allow(non_snake_case)]
pub fn SRWLOCK_INIT() -> SRWLOCK {
    SRWLOCK::default()
}

/// `CONDITION_VARIABLE_INIT`: a statically initialised condition variable.
#[allow(non_snake_case)]
pub fn CONDITION_VARIABLE_INIT() -> CONDITION_VARIABLE {
    CONDITION_VARIABLE::default()
}

/// TRUE for a success whose value is not `Bool(false)` (a TryEnter that did not get the
/// lock succeeds, without an error, and returns FALSE).
fn bool_ret(r: &crate::kernel::request::Reply) -> BOOL {
    if r.status.succeeded() && r.value != crate::kernel::request::Value::Bool(false) { TRUE } else { FALSE }
}

impl ThreadCtx {
    /// The id of a lazily initialised lock, assigned on first use.
    fn lock_id(&self, id: &LockId) -> u64 {
        if id.0.get() == 0 {
            id.0.set(self.kernel.borrow_mut().alloc_lock_id());
        }
        id.0.get()
    }

    /// InitializeCriticalSection: a free critical section (§20.1). Initialising one again
    /// makes a new critical section; threads waiting for the old one keep waiting for it.
    pub async fn initialize_critical_section(&self, cs: &CRITICAL_SECTION) {
        let id = self.kernel.borrow_mut().alloc_lock_id();
        cs.0.0.set(id);
        let _ = self.call(Request::InitializeCriticalSection { lock: id, spin_count: 0 }).await;
    }

    /// InitializeCriticalSectionAndSpinCount: as InitializeCriticalSection; the spin count
    /// changes nothing in virtual time. Always TRUE (§20.1).
    pub async fn initialize_critical_section_and_spin_count(&self, cs: &CRITICAL_SECTION, spin_count: u32) -> BOOL {
        let id = self.kernel.borrow_mut().alloc_lock_id();
        cs.0.0.set(id);
        let r = self.call(Request::InitializeCriticalSectionAndSpinCount { lock: id, spin_count }).await;
        bool_ret(&r)
    }

    /// EnterCriticalSection: blocks while another thread owns it; the owner entering
    /// again adds to the recursion count (§20.2-20.4). When it is left, the scheduler
    /// picks which waiter gets it.
    pub async fn enter_critical_section(&self, cs: &CRITICAL_SECTION) {
        let _ = self.call(Request::EnterCriticalSection { lock: cs.0.0.get() }).await;
    }

    /// TryEnterCriticalSection: TRUE if it now owns it (or already did: recursion counts),
    /// FALSE at once if another thread owns it; the last error is left alone (§20.5).
    #[must_use]
    pub async fn try_enter_critical_section(&self, cs: &CRITICAL_SECTION) -> BOOL {
        bool_ret(&self.call(Request::TryEnterCriticalSection { lock: cs.0.0.get() }).await)
    }

    /// LeaveCriticalSection: one level of ownership less; at zero, a waiter gets it.
    /// Leaving one the thread does not own is undefined on Windows: the run ends as
    /// `Outcome::Failed` naming the call (§20.6).
    pub async fn leave_critical_section(&self, cs: &CRITICAL_SECTION) {
        let _ = self.call(Request::LeaveCriticalSection { lock: cs.0.0.get() }).await;
    }

    /// DeleteCriticalSection: the critical section is gone; using it again, or deleting
    /// it while threads wait for it, ends the run as `Outcome::Failed` (§20.7).
    pub async fn delete_critical_section(&self, cs: &CRITICAL_SECTION) {
        let _ = self.call(Request::DeleteCriticalSection { lock: cs.0.0.get() }).await;
    }

    /// InitializeSRWLock: a free SRW lock (the same as `SRWLOCK_INIT`; no call is made).
    pub fn initialize_srw_lock(&self, lock: &SRWLOCK) {
        lock.0.0.set(0);
    }

    /// AcquireSRWLockExclusive: blocks while any thread holds it, the caller included (no
    /// recursion: a second acquire by the owner never returns, §20.8).
    pub async fn acquire_srw_lock_exclusive(&self, lock: &SRWLOCK) {
        let _ = self.call(Request::AcquireSRWLockExclusive { lock: self.lock_id(&lock.0) }).await;
    }

    /// AcquireSRWLockShared: blocks while a thread holds it exclusive or threads wait for
    /// it; readers hold it together (§20.9).
    pub async fn acquire_srw_lock_shared(&self, lock: &SRWLOCK) {
        let _ = self.call(Request::AcquireSRWLockShared { lock: self.lock_id(&lock.0) }).await;
    }

    /// TryAcquireSRWLockExclusive: TRUE (nonzero BOOLEAN) if acquired, FALSE at once
    /// otherwise (§20.10).
    #[must_use]
    pub async fn try_acquire_srw_lock_exclusive(&self, lock: &SRWLOCK) -> BOOL {
        let r = self.call(Request::TryAcquireSRWLockExclusive { lock: self.lock_id(&lock.0) }).await;
        bool_ret(&r)
    }

    /// TryAcquireSRWLockShared (§20.10).
    #[must_use]
    pub async fn try_acquire_srw_lock_shared(&self, lock: &SRWLOCK) -> BOOL {
        let r = self.call(Request::TryAcquireSRWLockShared { lock: self.lock_id(&lock.0) }).await;
        bool_ret(&r)
    }

    /// ReleaseSRWLockExclusive: releasing a lock the caller does not hold exclusive ends
    /// the run as `Outcome::Failed` (§20.11).
    pub async fn release_srw_lock_exclusive(&self, lock: &SRWLOCK) {
        let _ = self.call(Request::ReleaseSRWLockExclusive { lock: self.lock_id(&lock.0) }).await;
    }

    /// ReleaseSRWLockShared (§20.11).
    pub async fn release_srw_lock_shared(&self, lock: &SRWLOCK) {
        let _ = self.call(Request::ReleaseSRWLockShared { lock: self.lock_id(&lock.0) }).await;
    }

    /// InitializeConditionVariable (the same as `CONDITION_VARIABLE_INIT`; no call).
    pub fn initialize_condition_variable(&self, cv: &CONDITION_VARIABLE) {
        cv.0.0.set(0);
    }

    /// SleepConditionVariableCS: leaves the critical section and sleeps in one step;
    /// re-enters it before returning. TRUE when woken; FALSE with ERROR_TIMEOUT when
    /// `milliseconds` of virtual time pass first (§20.12-20.14). No spurious wake-ups.
    /// Sleeping while holding the critical section recursively ends the run as
    /// `Outcome::Failed` (not modelled).
    #[must_use]
    pub async fn sleep_condition_variable_cs(
        &self,
        cv: &CONDITION_VARIABLE,
        cs: &CRITICAL_SECTION,
        milliseconds: u32,
    ) -> BOOL {
        let req =
            Request::SleepConditionVariableCS { cv: self.lock_id(&cv.0), lock: cs.0.0.get(), timeout_ms: milliseconds };
        bool_ret(&self.call(req).await)
    }

    /// SleepConditionVariableSRW: as SleepConditionVariableCS for an SRW lock held
    /// exclusive, or shared with `CONDITION_VARIABLE_LOCKMODE_SHARED` (§20.12-20.14).
    #[must_use]
    pub async fn sleep_condition_variable_srw(
        &self,
        cv: &CONDITION_VARIABLE,
        lock: &SRWLOCK,
        milliseconds: u32,
        flags: u32,
    ) -> BOOL {
        let req = Request::SleepConditionVariableSRW {
            cv: self.lock_id(&cv.0),
            lock: self.lock_id(&lock.0),
            timeout_ms: milliseconds,
            flags,
        };
        bool_ret(&self.call(req).await)
    }

    /// WakeConditionVariable: wakes one sleeper (the scheduler picks which); with none,
    /// the wake is lost (§20.15).
    pub async fn wake_condition_variable(&self, cv: &CONDITION_VARIABLE) {
        let _ = self.call(Request::WakeConditionVariable { cv: self.lock_id(&cv.0) }).await;
    }

    /// WakeAllConditionVariable: wakes every sleeper (§20.16).
    pub async fn wake_all_condition_variable(&self, cv: &CONDITION_VARIABLE) {
        let _ = self.call(Request::WakeAllConditionVariable { cv: self.lock_id(&cv.0) }).await;
    }

    /// WaitOnAddress (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-waitonaddress):
    /// waits while the `compare_address.len()` bytes (1, 2, 4 or 8) at the simulated
    /// `address` equal `compare_address`, until a WakeByAddressSingle/All on `address` by
    /// another thread of this process or `milliseconds` (virtual time; INFINITE). TRUE when
    /// the value differs at the call (at once) or when woken, even if the value is still
    /// the same (the caller must look again, §26.4); FALSE with ERROR_TIMEOUT after the
    /// time-out, FALSE with ERROR_INVALID_PARAMETER for another size (§26.1). An address
    /// the thread may not read ends the run with `Outcome::AccessViolation`.
    pub async fn wait_on_address(&self, address: usize, compare_address: &[u8], milliseconds: u32) -> BOOL {
        let req = Request::WaitOnAddress {
            address: address as u64,
            compare: compare_address.to_vec(),
            timeout_ms: milliseconds,
        };
        bool_ret(&self.call(req).await)
    }

    /// WakeByAddressSingle (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-wakebyaddresssingle):
    /// wakes the first thread of this process waiting on `address` in WaitOnAddress;
    /// nothing when none waits (the wake is not remembered, §26.5).
    pub async fn wake_by_address_single(&self, address: usize) {
        let _ = self.call(Request::WakeByAddressSingle { address: address as u64 }).await;
    }

    /// WakeByAddressAll (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-wakebyaddressall):
    /// wakes every thread of this process waiting on `address` (§26.5).
    pub async fn wake_by_address_all(&self, address: usize) {
        let _ = self.call(Request::WakeByAddressAll { address: address as u64 }).await;
    }

    /// InitOnceInitialize (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-initonceinitialize):
    /// makes `init_once` a fresh, not begun one-time initialisation (§26.8).
    pub fn init_once_initialize(&self, init_once: &INIT_ONCE) {
        init_once.0.0.set(self.kernel.borrow_mut().alloc_lock_id());
    }

    /// InitOnceBeginInitialize (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-initoncebegininitialize),
    /// synchronous: TRUE with `*pending` TRUE when the caller must initialise (then call
    /// InitOnceComplete), TRUE with `*pending` FALSE and `*context` when it is done; waits
    /// while another thread initialises. INIT_ONCE_CHECK_ONLY: FALSE with ERROR_GEN_FAILURE
    /// when not done (§§26.8, 26.9). INIT_ONCE_ASYNC ends the run as `Outcome::Unsupported`.
    pub async fn init_once_begin_initialize(
        &self,
        init_once: &INIT_ONCE,
        flags: u32,
        pending: &mut BOOL,
        context: Option<&mut usize>,
    ) -> BOOL {
        let req = Request::InitOnceBeginInitialize { once: self.lock_id(&init_once.0), flags };
        let r = self.call(req).await;
        if let crate::kernel::request::Value::InitOnce(p, c) = r.value {
            *pending = if p { TRUE } else { FALSE };
            if let Some(ctx) = context {
                *ctx = c as usize;
            }
        }
        bool_ret(&r)
    }

    /// InitOnceComplete (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-initoncecomplete),
    /// synchronous: ends the caller's initialisation with `context` (its two low bits 0),
    /// or, with INIT_ONCE_INIT_FAILED and a NULL context, as failed (another caller may try
    /// again). FALSE with ERROR_INVALID_PARAMETER or ERROR_GEN_FAILURE for a bad call
    /// (§26.10).
    pub async fn init_once_complete(&self, init_once: &INIT_ONCE, flags: u32, context: usize) -> BOOL {
        let req = Request::InitOnceComplete { once: self.lock_id(&init_once.0), flags, context: context as u64 };
        bool_ret(&self.call(req).await)
    }

    /// InitOnceExecuteOnce (learn.microsoft.com/en-us/windows/win32/api/synchapi/nf-synchapi-initonceexecuteonce):
    /// runs `init_fn` once for all the threads of the process that call this with
    /// `init_once`: the first caller runs it (on its own thread; it may make any call),
    /// concurrent callers wait for it, later callers return at once. `init_fn` returns
    /// (TRUE, context) on success: every caller gets TRUE and `*context`; on FALSE this
    /// call returns FALSE, the last error untouched, and the next caller runs it again
    /// (§26.10). Built, as in ntdll, from InitOnceBeginInitialize and InitOnceComplete,
    /// which the trace shows.
    pub async fn init_once_execute_once<F, Fut>(
        &self,
        init_once: &INIT_ONCE,
        init_fn: F,
        context: Option<&mut usize>,
    ) -> BOOL
    where
        F: FnOnce(ThreadCtx) -> Fut,
        Fut: std::future::Future<Output = (BOOL, usize)>,
    {
        let mut pending = FALSE;
        let mut ctx = 0usize;
        if self.init_once_begin_initialize(init_once, 0, &mut pending, Some(&mut ctx)).await == FALSE {
            return FALSE;
        }
        if pending == TRUE {
            let (ok, c) = init_fn(self.clone()).await;
            if ok == FALSE {
                let _ = self.init_once_complete(init_once, crate::types::INIT_ONCE_INIT_FAILED, 0).await;
                return FALSE;
            }
            if self.init_once_complete(init_once, 0, c).await == FALSE {
                return FALSE;
            }
            ctx = c;
        }
        if let Some(out) = context {
            *out = ctx;
        }
        TRUE
    }
}
