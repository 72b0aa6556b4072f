//! User-mode locks: critical sections, SRW locks, condition variables (docs/semantics.md
//! §20). Sources: the Microsoft Learn pages of each function, cited per test.

use crate::support::*;
use sim_core::WaitEdge;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

/// Runs `body` under 40 random seeds and returns each run's report.
fn seeds<F, Fut>(body: F) -> Vec<RunReport>
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: std::future::Future<Output = u32> + 'static,
{
    let body = Rc::new(body);
    (0..40)
        .map(|seed| {
            let b = body.clone();
            run_with(Config::random(seed), move |ctx| b(ctx))
        })
        .collect()
}

/// Two threads increment a shared counter N times each with a read, a schedule point and
/// a write; `locked` guards the read-modify-write with a critical section. Returns the
/// final count.
async fn counter(ctx: ThreadCtx, locked: bool) -> u32 {
    const N: u32 = 5;
    let cs = CRITICAL_SECTION::default();
    ctx.initialize_critical_section(&cs).await;
    let count = Rc::new(Cell::new(0u32));
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (cs, count) = (cs.clone(), count.clone());
        threads.push(
            spawn(&ctx, move |ctx| async move {
                for _ in 0..N {
                    if locked {
                        ctx.enter_critical_section(&cs).await;
                    }
                    let v = count.get();
                    ctx.sleep(0).await; // another thread may run between the read and the write
                    count.set(v + 1);
                    if locked {
                        ctx.leave_critical_section(&cs).await;
                    }
                }
                0
            })
            .await,
        );
    }
    for t in threads {
        join(&ctx, t).await;
    }
    ctx.delete_critical_section(&cs).await;
    count.get()
}

/// §20.2 (EnterCriticalSection, learn.microsoft.com/windows/win32/api/synchapi/
/// nf-synchapi-entercriticalsection: "waits for ownership"): without the critical section
/// some seed loses an update; with it, no seed does.
#[test]
fn critical_section_excludes_lost_updates() {
    let unlocked = seeds(|ctx| counter(ctx, false));
    let lost =
        unlocked.iter().filter(|r| matches!(&r.outcome, Outcome::Completed { exit_codes } if exit_codes[0].2 < 10));
    assert!(lost.count() > 0, "no seed lost an update without the lock");
    for r in seeds(|ctx| counter(ctx, true)) {
        assert_completed(&r);
        let Outcome::Completed { exit_codes } = &r.outcome else { unreachable!() };
        assert_eq!(exit_codes[0].2, 10, "an update was lost under the lock\n{}", r.trace_text());
    }
}

/// §20.3 (EnterCriticalSection: "after a thread has ownership ... it can make additional
/// calls to EnterCriticalSection ... without blocking"; LeaveCriticalSection: "must call
/// LeaveCriticalSection once for each time that it entered"): recursion counts, and another
/// thread's TryEnter fails until the last Leave.
#[test]
fn critical_section_recursion_counts() {
    check(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        ctx.enter_critical_section(&cs).await;
        ctx.enter_critical_section(&cs).await;
        assert_eq!(ctx.try_enter_critical_section(&cs).await, TRUE, "the owner's TryEnter succeeds");
        let try_other = |cs: CRITICAL_SECTION| {
            move |ctx: ThreadCtx| async move { u32::from(ctx.try_enter_critical_section(&cs).await == TRUE) }
        };
        for _ in 0..3 {
            let t = spawn(&ctx, try_other(cs.clone())).await;
            assert_eq!(join(&ctx, t).await, 0, "another thread got it while entered");
            ctx.leave_critical_section(&cs).await;
        }
        let t = spawn(&ctx, try_other(cs.clone())).await;
        assert_eq!(join(&ctx, t).await, 1, "free after the third Leave");
        0
    });
}

/// §20.5 (TryEnterCriticalSection, learn.microsoft.com/windows/win32/api/synchapi/
/// nf-synchapi-tryentercriticalsection: "If another thread owns the critical section, the
/// return value is zero"): returns at once with FALSE and leaves the last error alone.
#[test]
fn try_enter_fails_when_held_elsewhere() {
    check(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        ctx.enter_critical_section(&cs).await;
        let c = cs.clone();
        let t = spawn(&ctx, move |ctx| async move {
            ctx.set_last_error(SENTINEL);
            let got = ctx.try_enter_critical_section(&c).await;
            assert_eq!(got, FALSE);
            assert_eq!(ctx.get_last_error().0, SENTINEL, "TryEnter touched the last error");
            7
        })
        .await;
        assert_eq!(join(&ctx, t).await, 7);
        ctx.leave_critical_section(&cs).await;
        0
    });
}

/// §20.2: a thread blocked in EnterCriticalSection gets it when the owner leaves, and not
/// before (on every schedule).
#[test]
fn enter_blocks_until_leave() {
    check_every_schedule(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let released = Rc::new(Cell::new(false));
        ctx.enter_critical_section(&cs).await;
        let (c, r) = (cs.clone(), released.clone());
        let t = spawn(&ctx, move |ctx| async move {
            ctx.enter_critical_section(&c).await;
            assert!(r.get(), "entered before the owner left");
            ctx.leave_critical_section(&c).await;
            0
        })
        .await;
        ctx.sleep(10).await;
        released.set(true);
        ctx.leave_critical_section(&cs).await;
        join(&ctx, t).await;
        0
    });
}

/// §20.6 (LeaveCriticalSection, learn.microsoft.com/windows/win32/api/synchapi/
/// nf-synchapi-leavecriticalsection: leaving without ownership "an error occurs that may
/// cause another thread using EnterCriticalSection to wait indefinitely"): winsim ends the
/// run as Failed naming the call.
#[test]
fn leave_not_owned_fails_the_run() {
    let r = run_main(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        ctx.leave_critical_section(&cs).await;
        0
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("LeaveCriticalSection") && message.contains("does not own"), "{message}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
}

/// §20.1/§20.7: a critical section used before InitializeCriticalSection, or after
/// DeleteCriticalSection, ends the run as Failed.
#[test]
fn uninitialised_or_deleted_critical_section_fails() {
    for delete in [false, true] {
        let r = run_main(move |ctx| async move {
            let cs = CRITICAL_SECTION::default();
            if delete {
                ctx.initialize_critical_section(&cs).await;
                ctx.delete_critical_section(&cs).await;
            }
            ctx.enter_critical_section(&cs).await;
            0
        });
        match &r.outcome {
            Outcome::Failed { message, .. } => {
                assert!(message.contains("EnterCriticalSection") && message.contains("initialised"), "{message}")
            }
            other => panic!("expected Failed, got {other:?}"),
        }
    }
}

/// §20.1 (InitializeCriticalSectionAndSpinCount: "Windows Vista and later: always succeeds
/// and returns a nonzero value").
#[test]
fn initialize_with_spin_count_returns_true() {
    check(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        assert_eq!(ctx.initialize_critical_section_and_spin_count(&cs, 4000).await, TRUE);
        assert_eq!(ctx.try_enter_critical_section(&cs).await, TRUE);
        ctx.leave_critical_section(&cs).await;
        0
    });
}

/// §20.9/§20.10 (AcquireSRWLockShared, TryAcquireSRWLockExclusive pages): readers hold an
/// SRW lock together; a writer's TryAcquire fails while any reader holds it, and succeeds
/// once none does; a reader's TryAcquire fails while the writer holds it.
#[test]
fn srw_shared_readers_together_writer_alone() {
    check(|ctx| async move {
        let lock = SRWLOCK_INIT();
        ctx.acquire_srw_lock_shared(&lock).await;
        let l = lock.clone();
        let reader = spawn(&ctx, move |ctx| async move {
            let shared = ctx.try_acquire_srw_lock_shared(&l).await;
            let excl = ctx.try_acquire_srw_lock_exclusive(&l).await;
            if shared == TRUE {
                ctx.release_srw_lock_shared(&l).await;
            }
            u32::from(shared == TRUE) * 10 + u32::from(excl == TRUE)
        })
        .await;
        assert_eq!(join(&ctx, reader).await, 10, "a second reader got in; a writer did not");
        ctx.release_srw_lock_shared(&lock).await;
        assert_eq!(ctx.try_acquire_srw_lock_exclusive(&lock).await, TRUE);
        let l = lock.clone();
        let t =
            spawn(&ctx, move |ctx| async move { u32::from(ctx.try_acquire_srw_lock_shared(&l).await == TRUE) }).await;
        assert_eq!(join(&ctx, t).await, 0, "a reader got in beside the writer");
        ctx.release_srw_lock_exclusive(&lock).await;
        0
    });
}

/// §20.8/§20.9: on every schedule, a writer never overlaps a reader or another writer,
/// and two readers can be inside together.
#[test]
fn srw_exclusion_on_every_schedule() {
    check_every_schedule(|ctx| async move {
        let lock = SRWLOCK::default();
        let inside = Rc::new(Cell::new((0u32, 0u32))); // (readers, writers)
        let mut ts = Vec::new();
        for i in 0..4 {
            let (l, inside) = (lock.clone(), inside.clone());
            ts.push(
                spawn(&ctx, move |ctx| async move {
                    let writer = i % 2 == 0;
                    if writer {
                        ctx.acquire_srw_lock_exclusive(&l).await;
                        let (r, w) = inside.get();
                        assert_eq!((r, w), (0, 0), "a writer got in beside others");
                        inside.set((r, 1));
                        ctx.sleep(0).await;
                        inside.set((inside.get().0, 0));
                        ctx.release_srw_lock_exclusive(&l).await;
                    } else {
                        ctx.acquire_srw_lock_shared(&l).await;
                        assert_eq!(inside.get().1, 0, "a reader got in beside a writer");
                        inside.set((inside.get().0 + 1, 0));
                        ctx.sleep(0).await;
                        inside.set((inside.get().0 - 1, inside.get().1));
                        ctx.release_srw_lock_shared(&l).await;
                    }
                    0
                })
                .await,
            );
        }
        for t in ts {
            join(&ctx, t).await;
        }
        0
    });
}

/// §20.8 (Slim Reader/Writer Locks: "SRW locks cannot be acquired recursively"; a
/// recursive acquire is a programming error, The Old New Thing 2016-08-19): a second
/// exclusive acquire by the owner never returns; the deadlock report names the lock and
/// the thread itself as its owner.
#[test]
fn srw_recursive_exclusive_deadlocks() {
    let r = run_main(|ctx| async move {
        let lock = SRWLOCK::default();
        ctx.acquire_srw_lock_exclusive(&lock).await;
        ctx.acquire_srw_lock_exclusive(&lock).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
    let t = &d.threads[0];
    assert_eq!(t.api, "AcquireSRWLockExclusive");
    assert!(
        matches!(&t.waits[0], WaitEdge::UserLock { lock, owners, .. } if lock.starts_with("SRW lock") && owners == &vec![t.tid]),
        "{:?}",
        t.waits
    );
    assert!(d.render().contains("held exclusive by"), "{}", d.render());
}

/// §20.2, deadlock report: two critical sections taken in opposite orders deadlock on some
/// seed, and the report names each lock's owner and the cycle.
#[test]
fn lock_order_deadlock_reports_the_cycle() {
    let reports = seeds(|ctx| async move {
        let (a, b) = (CRITICAL_SECTION::default(), CRITICAL_SECTION::default());
        ctx.initialize_critical_section(&a).await;
        ctx.initialize_critical_section(&b).await;
        let mut ts = Vec::new();
        for flip in [false, true] {
            let (x, y) = if flip { (b.clone(), a.clone()) } else { (a.clone(), b.clone()) };
            ts.push(
                spawn(&ctx, move |ctx| async move {
                    ctx.enter_critical_section(&x).await;
                    ctx.sleep(0).await;
                    ctx.enter_critical_section(&y).await;
                    ctx.leave_critical_section(&y).await;
                    ctx.leave_critical_section(&x).await;
                    0
                })
                .await,
            );
        }
        for t in ts {
            join(&ctx, t).await;
        }
        0
    });
    let deadlocked: Vec<_> = reports.iter().filter_map(|r| r.outcome.deadlock()).collect();
    assert!(!deadlocked.is_empty(), "no seed deadlocked");
    assert!(reports.iter().any(|r| r.outcome.is_completed()), "no seed completed");
    for d in deadlocked {
        assert_eq!(d.cycle.len(), 2, "{}", d.render());
        let in_enter: Vec<_> = d.threads.iter().filter(|t| t.api == "EnterCriticalSection").collect();
        assert_eq!(in_enter.len(), 2, "{}", d.render());
        for t in in_enter {
            let WaitEdge::UserLock { lock, owners, .. } = &t.waits[0] else { panic!("{:?}", t.waits) };
            assert!(lock.starts_with("critical section"));
            assert_eq!(owners.len(), 1);
            assert_ne!(owners[0], t.tid, "waits for the other thread");
            assert!(d.cycle.contains(&owners[0]));
        }
    }
}

/// §20.12/§20.15 (SleepConditionVariableCS: "releases the specified critical section as an
/// atomic operation"; WakeConditionVariable; "Using Condition Variables"): a bounded
/// producer/consumer with two condition variables delivers every item in order on every
/// schedule.
#[test]
fn condition_variable_producer_consumer() {
    check_every_schedule(|ctx| async move {
        const ITEMS: u32 = 6;
        const CAP: usize = 2;
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let (not_empty, not_full) = (CONDITION_VARIABLE_INIT(), CONDITION_VARIABLE_INIT());
        let queue = Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
        let (c, ne, nf, q) = (cs.clone(), not_empty.clone(), not_full.clone(), queue.clone());
        let producer = spawn(&ctx, move |ctx| async move {
            for i in 0..ITEMS {
                ctx.enter_critical_section(&c).await;
                while q.borrow().len() == CAP {
                    assert_eq!(ctx.sleep_condition_variable_cs(&nf, &c, INFINITE).await, TRUE);
                }
                q.borrow_mut().push_back(i);
                ctx.leave_critical_section(&c).await;
                ctx.wake_condition_variable(&ne).await;
            }
            0
        })
        .await;
        let mut got = Vec::new();
        for _ in 0..ITEMS {
            ctx.enter_critical_section(&cs).await;
            while queue.borrow().is_empty() {
                assert_eq!(ctx.sleep_condition_variable_cs(&not_empty, &cs, INFINITE).await, TRUE);
            }
            got.push(queue.borrow_mut().pop_front().unwrap());
            ctx.leave_critical_section(&cs).await;
            ctx.wake_condition_variable(&not_full).await;
        }
        assert_eq!(got, (0..ITEMS).collect::<Vec<_>>());
        join(&ctx, producer).await;
        0
    });
}

/// §20.13 (SleepConditionVariableSRW, CONDITION_VARIABLE_LOCKMODE_SHARED): a reader
/// sleeping with the lock shared is woken by WakeAll and holds the lock shared again.
#[test]
fn condition_variable_srw_shared_wake_all() {
    check_every_schedule(|ctx| async move {
        let lock = SRWLOCK::default();
        let cv = CONDITION_VARIABLE::default();
        let flag = Rc::new(Cell::new(false));
        let mut ts = Vec::new();
        for _ in 0..2 {
            let (l, cv, flag) = (lock.clone(), cv.clone(), flag.clone());
            ts.push(
                spawn(&ctx, move |ctx| async move {
                    ctx.acquire_srw_lock_shared(&l).await;
                    while !flag.get() {
                        let ok =
                            ctx.sleep_condition_variable_srw(&cv, &l, INFINITE, CONDITION_VARIABLE_LOCKMODE_SHARED);
                        assert_eq!(ok.await, TRUE);
                    }
                    ctx.release_srw_lock_shared(&l).await;
                    0
                })
                .await,
            );
        }
        ctx.acquire_srw_lock_exclusive(&lock).await;
        flag.set(true);
        ctx.release_srw_lock_exclusive(&lock).await;
        ctx.wake_all_condition_variable(&cv).await;
        for t in ts {
            join(&ctx, t).await;
        }
        0
    });
}

/// §20.14 (SleepConditionVariableCS: "If the time-out interval elapses, the function
/// re-acquires the critical section and returns zero ... ERROR_TIMEOUT"): FALSE with
/// ERROR_TIMEOUT after the virtual time-out, owning the critical section again; a zero
/// time-out returns at once.
#[test]
fn condition_variable_times_out_in_virtual_time() {
    check(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let cv = CONDITION_VARIABLE::default();
        ctx.enter_critical_section(&cs).await;
        let t0 = ctx.get_tick_count64().await;
        assert_eq!(ctx.sleep_condition_variable_cs(&cv, &cs, 50).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
        assert_eq!(ctx.get_tick_count64().await - t0, 50);
        assert_eq!(ctx.sleep_condition_variable_cs(&cv, &cs, 0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
        // Still the owner: another thread cannot enter.
        let c = cs.clone();
        let t =
            spawn(&ctx, move |ctx| async move { u32::from(ctx.try_enter_critical_section(&c).await == TRUE) }).await;
        assert_eq!(join(&ctx, t).await, 0);
        ctx.leave_critical_section(&cs).await;
        0
    });
}

/// §20.14: a sleeper whose time-out comes while another thread holds the lock returns
/// only once it has the lock back.
#[test]
fn timed_out_sleeper_waits_for_the_lock() {
    check_every_schedule(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let cv = CONDITION_VARIABLE::default();
        let holder_done = Rc::new(Cell::new(false));
        let (c, cv2, done) = (cs.clone(), cv.clone(), holder_done.clone());
        let sleeper = spawn(&ctx, move |ctx| async move {
            ctx.enter_critical_section(&c).await;
            let ok = ctx.sleep_condition_variable_cs(&cv2, &c, 10).await;
            assert_eq!(ok, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
            assert!(done.get(), "returned while another thread held the critical section");
            ctx.leave_critical_section(&c).await;
            0
        })
        .await;
        ctx.sleep(1).await; // the sleeper is asleep by now
        ctx.enter_critical_section(&cs).await;
        ctx.sleep(50).await; // its time-out passes while we hold it
        holder_done.set(true);
        ctx.leave_critical_section(&cs).await;
        join(&ctx, sleeper).await;
        0
    });
}

/// §20.15 (WakeConditionVariable: wakes a single thread; a wake with no sleeper does
/// nothing): one wake releases exactly one of two sleepers; a wake before anyone sleeps is
/// lost, so a sleeper without a predicate loop deadlocks and the report names the variable.
#[test]
fn wake_one_and_lost_wake() {
    check_every_schedule(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let cv = CONDITION_VARIABLE::default();
        let woken = Rc::new(Cell::new(0u32));
        for _ in 0..2 {
            let (c, cv, woken) = (cs.clone(), cv.clone(), woken.clone());
            spawn(&ctx, move |ctx| async move {
                ctx.enter_critical_section(&c).await;
                if ctx.sleep_condition_variable_cs(&cv, &c, 100).await == TRUE {
                    woken.set(woken.get() + 1);
                }
                ctx.leave_critical_section(&c).await;
                0
            })
            .await;
        }
        ctx.sleep(10).await; // both asleep
        ctx.wake_condition_variable(&cv).await;
        ctx.sleep(200).await;
        assert_eq!(woken.get(), 1, "one wake released {} sleepers", woken.get());
        0
    });
    let r = run_main(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let cv = CONDITION_VARIABLE::default();
        ctx.wake_condition_variable(&cv).await;
        ctx.enter_critical_section(&cs).await;
        let _ = ctx.sleep_condition_variable_cs(&cv, &cs, INFINITE).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
    assert_eq!(d.threads[0].api, "SleepConditionVariableCS");
    assert!(
        matches!(&d.threads[0].waits[0], WaitEdge::ConditionVariable { variable, .. } if variable.starts_with("condition variable"))
    );
}

/// §20.18 [inferred]: a thread that ends owning a critical section leaves it owned (no
/// abandonment): EnterCriticalSection waits forever and the report names the ended owner.
#[test]
fn critical_section_owner_exit_leaves_it_owned() {
    let r = run_main(|ctx| async move {
        let cs = CRITICAL_SECTION::default();
        ctx.initialize_critical_section(&cs).await;
        let c = cs.clone();
        let t = spawn(&ctx, move |ctx| async move {
            ctx.enter_critical_section(&c).await;
            0
        })
        .await;
        join(&ctx, t).await;
        ctx.enter_critical_section(&cs).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
    let WaitEdge::UserLock { owners, state, .. } = &d.threads[0].waits[0] else { panic!("{:?}", d.threads[0].waits) };
    assert_eq!(owners.len(), 1);
    assert!(state.starts_with("owned by T"), "{state}");
    assert_ne!(owners[0], d.threads[0].tid);
}

/// Two critical sections taken in opposite orders (or, fixed, in the same order), with
/// a predicate wait on a condition variable at the end: for the exhaustive search.
fn cs_lock_order(fixed: bool) -> Box<dyn Fn(&mut Sim) + Sync> {
    Box::new(move |sim: &mut Sim| {
        sim.program("main", move |ctx| async move {
            let (a, b) = (CRITICAL_SECTION::default(), CRITICAL_SECTION::default());
            ctx.initialize_critical_section(&a).await;
            ctx.initialize_critical_section(&b).await;
            let mut ts = Vec::new();
            for flip in [false, !fixed] {
                let (x, y) = if flip { (b.clone(), a.clone()) } else { (a.clone(), b.clone()) };
                ts.push(
                    spawn(&ctx, move |ctx| async move {
                        ctx.enter_critical_section(&x).await;
                        ctx.enter_critical_section(&y).await;
                        ctx.leave_critical_section(&y).await;
                        ctx.leave_critical_section(&x).await;
                        0
                    })
                    .await,
                );
            }
            for t in ts {
                join(&ctx, t).await;
            }
            0
        });
    })
}

/// Footprints (`Resource::Locks`): the exhaustive search with sleep-set reduction reaches
/// the same outcomes as without it on the lock-order program (deadlock and completion),
/// and proves the fixed order deadlock-free.
#[test]
fn exhaustive_search_with_reduction_finds_the_lock_order_deadlock() {
    use sim_core::explore::{self, Explore, Sweep};
    let kinds = |fixed: bool, reduction: bool| {
        let s = Sweep {
            runs: 100_000,
            stop_at_failure: false,
            ..Sweep::new(Explore::Dfs { preemption_bound: None, reduction })
        };
        let e = explore::sweep(&s, "main", &cs_lock_order(fixed));
        assert!(e.exhausted, "the search did not finish: {e:?}");
        (e.outcomes.keys().cloned().collect::<Vec<_>>(), e.schedules)
    };
    let (full, n_full) = kinds(false, false);
    let (reduced, n_reduced) = kinds(false, true);
    assert_eq!(full, reduced, "reduction lost or invented outcomes");
    assert!(full.iter().any(|k| k.contains("deadlock")), "{full:?}");
    assert!(n_reduced <= n_full);
    let (fixed, _) = kinds(true, true);
    assert!(!fixed.iter().any(|k| k.contains("deadlock")), "{fixed:?}");
}
