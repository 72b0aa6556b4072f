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

// ----- WaitOnAddress, WakeByAddressSingle, WakeByAddressAll (§26) ----------------------------

/// A read-write page of a fresh section: its address.
async fn page(ctx: &ThreadCtx) -> usize {
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 0x1000, None).await;
    let p = ctx.map_view_of_file(h, FILE_MAP_ALL_ACCESS, 0, 0, 0).await;
    assert_ne!(p, 0);
    p
}

/// §26.1 (ntdll sync.c test_wait_on_address, "invalid values": size 5 gives
/// STATUS_INVALID_PARAMETER; Microsoft Learn: AddressSize is 1, 2, 4 or 8): another size
/// fails with ERROR_INVALID_PARAMETER, without waiting.
#[test]
fn wait_on_address_takes_sizes_1_2_4_8_only() {
    check(|ctx| async move {
        let p = page(&ctx).await;
        for size in [0usize, 3, 5, 16] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_on_address(p, &vec![0u8; size], INFINITE).await, FALSE, "size {size}");
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        }
        0
    });
}

/// §26.2, §26.3 (ntdll sync.c test_wait_on_address, "values match": STATUS_TIMEOUT after
/// the time-out, the memory untouched; "different address size": only the first `size`
/// bytes are compared; compare 1 against 0 returns success at once): equal values sleep
/// until the time-out, FALSE with ERROR_TIMEOUT (Microsoft Learn); a different value
/// returns TRUE at once.
#[test]
fn wait_on_address_compares_size_bytes_and_times_out() {
    check(|ctx| async move {
        let p = page(&ctx).await;
        let t0 = ctx.get_tick_count().await;
        assert_eq!(ctx.wait_on_address(p, &0u64.to_le_bytes(), 100).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await - t0, 100, "virtual time moved by the time-out");
        assert_eq!(ctx.read_u64(p).await, 0);
        for size in [1usize, 2, 4] {
            // compare = ~0 << (size * 8): its first `size` bytes are 0, like the memory.
            let compare = (!0u64 << (size * 8)).to_le_bytes();
            assert_eq!(ctx.wait_on_address(p, &compare[..size], 10).await, FALSE, "size {size}");
            assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
            assert_eq!(ctx.wait_on_address(p, &compare[..size * 2], 10).await, TRUE, "size {}", size * 2);
        }
        assert_eq!(ctx.wait_on_address(p, &1u64.to_le_bytes(), INFINITE).await, TRUE);
        // A zero time-out with equal values returns at once [inferred].
        assert_eq!(ctx.wait_on_address(p, &[0u8; 4], 0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
        0
    });
}

/// §26.5 (ntdll sync.c test_wait_on_address, "don't crash" and "no waiters"): a wake with
/// no waiter, or of NULL, does nothing and is not remembered: a later wait still sleeps.
#[test]
fn a_wake_with_no_waiter_is_lost() {
    check(|ctx| async move {
        let p = page(&ctx).await;
        ctx.wake_by_address_single(0).await;
        ctx.wake_by_address_all(0).await;
        ctx.wake_by_address_single(p).await;
        ctx.wake_by_address_all(p).await;
        assert_eq!(ctx.read_u64(p).await, 0);
        assert_eq!(ctx.wait_on_address(p, &[0u8; 4], 10).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_TIMEOUT);
        0
    });
}

/// §26.4, §26.5 (Microsoft Learn WakeByAddressSingle: "If multiple threads are waiting for
/// this address, the system wakes the first thread to wait"; WaitOnAddress may return TRUE
/// with the value unchanged, so callers look again): WakeByAddressSingle wakes the first
/// waiter only, WakeByAddressAll the rest; each returns TRUE although the value is still
/// the one it compared.
#[test]
fn wake_single_wakes_the_first_waiter_and_wake_all_the_rest() {
    let r = run_main(|ctx| async move {
        let p = page(&ctx).await;
        let order = Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut threads = Vec::new();
        for i in 0..3u32 {
            let order = order.clone();
            threads.push(
                spawn(&ctx, move |ctx| async move {
                    assert_eq!(ctx.wait_on_address(p, &[0u8; 4], INFINITE).await, TRUE);
                    order.borrow_mut().push(i);
                    0
                })
                .await,
            );
            // Let it reach its wait before the next one starts (round-robin).
            ctx.sleep(1).await;
        }
        ctx.wake_by_address_single(p).await;
        ctx.sleep(1).await;
        assert_eq!(*order.borrow(), [0], "the first to wait");
        ctx.wake_by_address_all(p).await;
        for t in threads {
            join(&ctx, t).await;
        }
        let mut rest = order.borrow()[1..].to_vec();
        rest.sort();
        assert_eq!(rest, [1, 2]);
        0
    });
    assert_completed(&r);
    assert!(r.trace_text().contains("woke 1 waiter(s)") && r.trace_text().contains("woke 2 waiter(s)"));
}

/// §26.6 and §25.2: a flag published with an interlocked operation and WakeByAddressSingle,
/// awaited with WaitOnAddress in a loop (the documented pattern): every item arrives, on
/// every seed, and the data written before the flag is ordered before the waiter's read
/// (no race).
#[test]
fn wait_on_address_publishes_data_without_a_race() {
    for r in seeds(|ctx| async move {
        let p = page(&ctx).await;
        let t = spawn(&ctx, move |ctx| async move {
            ctx.write_u32(p + 8, 42).await;
            ctx.interlocked_exchange(p, 1).await;
            ctx.wake_by_address_single(p).await;
            0
        })
        .await;
        while ctx.interlocked_compare_exchange(p, 0, 0).await == 0 {
            assert_eq!(ctx.wait_on_address(p, &[0u8; 4], INFINITE).await, TRUE);
        }
        assert_eq!(ctx.read_u32(p + 8).await, 42);
        join(&ctx, t).await;
        0
    }) {
        assert_completed(&r);
    }
}

/// §26.7: a WaitOnAddress nobody can end is a deadlock whose report names the address, the
/// value there and the value compared.
#[test]
fn a_wait_on_address_nobody_wakes_is_a_deadlock() {
    let r = run_main(|ctx| async move {
        let p = page(&ctx).await;
        ctx.write_u32(p, 7).await;
        ctx.wait_on_address(p, &7u32.to_le_bytes(), INFINITE).await;
        0
    });
    let d = r.outcome.deadlock().unwrap_or_else(|| panic!("expected a deadlock: {}", r.summary()));
    assert!(
        matches!(&d.threads[0].waits[0], WaitEdge::AddressWait { address, state }
            if *address == 0x1000_0000 && state.contains("[07 00 00 00]")),
        "{:?}",
        d.threads[0].waits
    );
    assert!(d.render().contains("waits on address 0x10000000"), "{}", d.render());
}

/// §26.2 (Microsoft Learn: an address the thread cannot read faults like any access): an
/// unmapped address ends the run with an access violation.
#[test]
fn wait_on_an_unmapped_address_is_an_access_violation() {
    let r = run_main(|ctx| async move {
        ctx.wait_on_address(0x4000, &[0u8; 4], INFINITE).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { address: 0x4000, write: false, .. }), "{:?}", r.outcome);
}

// ----- one-time initialisation (§26.8-26.10) -------------------------------------------------

/// §26.8-26.10 (Wine kernel32 sync.c test_initonce, whose assertions pass on Windows): the
/// callback runs once and its context is returned; a later call does not run it and
/// returns the same context; a failed callback returns FALSE with the last error untouched
/// and leaves the INIT_ONCE not begun, so the next call runs it again.
#[test]
fn init_once_execute_once_runs_the_callback_once() {
    check(|ctx| async move {
        let once = INIT_ONCE::default();
        let runs = Rc::new(Cell::new(0));
        let r2 = runs.clone();
        let mut context = 0usize;
        let init = |r: Rc<Cell<u32>>, ok: BOOL| {
            move |_ctx: ThreadCtx| async move {
                r.set(r.get() + 1);
                (ok, 0xFFFF_FFF0usize)
            }
        };
        assert_eq!(ctx.init_once_execute_once(&once, init(r2.clone(), TRUE), Some(&mut context)).await, TRUE);
        assert_eq!((runs.get(), context), (1, 0xFFFF_FFF0));
        context = 0;
        assert_eq!(ctx.init_once_execute_once(&once, init(r2.clone(), TRUE), Some(&mut context)).await, TRUE);
        assert_eq!((runs.get(), context), (1, 0xFFFF_FFF0), "not run again");
        // callback failed
        let failing = INIT_ONCE::default();
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.init_once_execute_once(&failing, init(r2.clone(), FALSE), None).await, FALSE);
        assert_eq!(ctx.get_last_error(), SENTINEL);
        assert_eq!(ctx.init_once_execute_once(&failing, init(r2.clone(), TRUE), None).await, TRUE);
        assert_eq!(runs.get(), 3, "run again after the failure");
        0
    });
}

/// §26.9, §26.10 (sync.c test_initonce, "blocking initialization without a callback" and
/// "test INIT_ONCE_CHECK_ONLY"): BeginInitialize makes the caller the initialiser (pending);
/// CHECK_ONLY fails with ERROR_GEN_FAILURE until it is done, pending untouched; Complete with
/// INIT_ONCE_INIT_FAILED and a context is ERROR_INVALID_PARAMETER and leaves it pending; a
/// context with a low bit set is ERROR_INVALID_PARAMETER; Complete(0, ctx) finishes it, and
/// CHECK_ONLY then returns TRUE, not pending, with the context. INIT_FAILED on one not begun
/// is ERROR_GEN_FAILURE; CHECK_ONLY|ASYNC is ERROR_INVALID_PARAMETER.
#[test]
fn init_once_begin_and_complete_follow_the_state_machine() {
    check(|ctx| async move {
        let once = INIT_ONCE::default();
        ctx.init_once_initialize(&once);
        let (mut pending, mut c) = (FALSE, 0usize);
        assert_eq!(ctx.init_once_begin_initialize(&once, 0, &mut pending, Some(&mut c)).await, TRUE);
        assert_eq!(pending, TRUE);
        let mut untouched = 0xf;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.init_once_begin_initialize(&once, INIT_ONCE_CHECK_ONLY, &mut untouched, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_GEN_FAILURE);
        assert_eq!(untouched, 0xf);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.init_once_complete(&once, INIT_ONCE_INIT_FAILED, 0xdeadbee0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        assert_eq!(ctx.init_once_complete(&once, 0, 0xdeadbeef).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        assert_eq!(ctx.init_once_complete(&once, 0, 0xdeadbee0).await, TRUE);
        assert_eq!(ctx.init_once_begin_initialize(&once, INIT_ONCE_CHECK_ONLY, &mut pending, Some(&mut c)).await, TRUE);
        assert_eq!((pending, c), (FALSE, 0xdeadbee0));
        let fresh = INIT_ONCE::default();
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.init_once_complete(&fresh, INIT_ONCE_INIT_FAILED, 0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_GEN_FAILURE);
        let flags = INIT_ONCE_CHECK_ONLY | INIT_ONCE_ASYNC;
        assert_eq!(ctx.init_once_begin_initialize(&fresh, flags, &mut pending, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

/// §26.8, §26.10, §25.2: threads racing through InitOnceExecuteOnce run the callback once
/// on every seed; the others wait for it, and its writes to simulated memory are ordered
/// before their reads (InitOnceComplete → the callers after it: no race).
#[test]
fn init_once_runs_once_across_threads_and_publishes_its_writes() {
    for r in seeds(|ctx| async move {
        let p = page(&ctx).await;
        let once = INIT_ONCE::default();
        let mut threads = Vec::new();
        for _ in 0..3 {
            let once = once.clone();
            threads.push(
                spawn(&ctx, move |ctx| async move {
                    let init = move |ctx: ThreadCtx| async move {
                        let n = ctx.read_u32(p).await;
                        ctx.sleep(1).await;
                        ctx.write_u32(p, n + 1).await;
                        ctx.write_u32(p + 8, 42).await;
                        (TRUE, p + 8)
                    };
                    let mut c = 0usize;
                    assert_eq!(ctx.init_once_execute_once(&once, init, Some(&mut c)).await, TRUE);
                    assert_eq!(ctx.read_u32(c).await, 42);
                    0
                })
                .await,
            );
        }
        for t in threads {
            join(&ctx, t).await;
        }
        assert_eq!(ctx.read_u32(p).await, 1, "the callback ran once");
        0
    }) {
        assert_completed(&r);
        assert!(r.trace_text().contains("InitOnceBeginInitialize"));
    }
}
