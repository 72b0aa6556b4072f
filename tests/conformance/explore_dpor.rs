//! Exploration by states (docs/exploration.md, issue 11): the canonical state hash
//! (`Kernel::state_hash`), distinct-state coverage, state pruning in the exhaustive
//! search, and dynamic partial-order reduction (DPOR, Flanagan and Godefroid, POPL 2005).
//!
//! Soundness is checked the way the literature states it: a reduced search must reach
//! every outcome (kind and exit code) and every final state (the state hash at each run's
//! end) that the plain exhaustive search reaches, on the catalogue of seeded bugs and on
//! small programs built for it; and it must run fewer schedules.
//!
//! The counts in docs/exploration.md:
//! `cargo test --test conformance explore_dpor::counts -- --ignored --nocapture`.

use crate::explore::{catalogue, depth3, independent};
use sim_core::explore::{self, Explore, Sweep};
use sim_core::prelude::*;
use std::collections::BTreeSet;

type Setup = Box<dyn Fn(&mut Sim) + Sync>;

async fn spawn<F, Fut>(ctx: &ThreadCtx, body: F) -> HANDLE
where
    F: FnOnce(ThreadCtx) -> Fut + 'static,
    Fut: std::future::Future<Output = u32> + 'static,
{
    let h = ctx.create_thread(None, 0, body, 0, None).await;
    assert!(!h.is_null());
    h
}

/// Two threads each wait for their own event, which nobody sets; main joins them: every
/// schedule ends in the same deadlock, with the two waits' operations allocated in either
/// order (slot-map ids differ, the state does not).
fn two_stuck_waiters() -> Setup {
    Box::new(|sim: &mut Sim| {
        sim.program("main", |ctx| async move {
            let mut threads = Vec::new();
            for _ in 0..2 {
                let ev = ctx.create_event(None, true, false, None).await;
                threads.push(
                    spawn(&ctx, move |ctx| async move {
                        ctx.wait_for_single_object(ev, INFINITE).await;
                        0
                    })
                    .await,
                );
            }
            ctx.wait_for_multiple_objects(&threads, true, INFINITE).await;
            0
        });
    })
}

/// Two independent pipe pairs: thread A writes to pipe 1 and thread B to pipe 2, each
/// twice; main reads both. Nothing conflicts but the joins: one final state.
fn independent_pipe_pairs() -> Setup {
    Box::new(|sim: &mut Sim| {
        sim.program("main", |ctx| async move {
            let mut threads = Vec::new();
            let mut readers = Vec::new();
            for name in [b'a', b'b'] {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 64).await, TRUE);
                readers.push(r);
                threads.push(
                    spawn(&ctx, move |ctx| async move {
                        for i in [b'1', b'2'] {
                            let mut n = 0;
                            assert_eq!(ctx.write_file(w, &[name, i], Some(&mut n)).await, TRUE);
                        }
                        0
                    })
                    .await,
                );
            }
            assert_eq!(ctx.wait_for_multiple_objects(&threads, true, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 0;
            for r in readers {
                let mut buf = [0u8; 8];
                let mut n = 0;
                assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);
                assert_eq!(n, 4);
                code = code * 256 + u32::from(buf[0]);
            }
            code
        });
    })
}

/// Two threads on one auto-reset event: A sets it twice, B waits for it with a zero
/// time-out twice; main returns how many of B's waits succeeded (0, 1 or 2: an auto-reset
/// event does not count its sets, docs/semantics.md §3).
fn two_threads_one_event() -> Setup {
    Box::new(|sim: &mut Sim| {
        sim.program("main", |ctx| async move {
            let ev = ctx.create_event(None, false, false, None).await;
            let a = spawn(&ctx, move |ctx| async move {
                for _ in 0..2 {
                    assert_eq!(ctx.set_event(ev).await, TRUE);
                }
                0
            })
            .await;
            let b = spawn(&ctx, move |ctx| async move {
                let mut got = 0;
                for _ in 0..2 {
                    if ctx.wait_for_single_object(ev, 0).await == WAIT_OBJECT_0 {
                        got += 1;
                    }
                }
                got
            })
            .await;
            assert_eq!(ctx.wait_for_multiple_objects(&[a, b], true, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 0;
            assert_eq!(ctx.get_exit_code_thread(b, &mut code).await, TRUE);
            code
        });
    })
}

/// A cycle of three mutexes: thread i takes mutex i, then mutex i+1 (mod 3). If each
/// gets its first, all three wait for each other: a deadlock; otherwise they complete.
fn mutex_cycle() -> Setup {
    Box::new(|sim: &mut Sim| {
        sim.program("main", |ctx| async move {
            let m = [
                ctx.create_mutex(None, false, None).await,
                ctx.create_mutex(None, false, None).await,
                ctx.create_mutex(None, false, None).await,
            ];
            let mut threads = Vec::new();
            for i in 0..3 {
                let (first, second) = (m[i], m[(i + 1) % 3]);
                threads.push(
                    spawn(&ctx, move |ctx| async move {
                        assert_eq!(ctx.wait_for_single_object(first, INFINITE).await, WAIT_OBJECT_0);
                        assert_eq!(ctx.wait_for_single_object(second, INFINITE).await, WAIT_OBJECT_0);
                        assert_eq!(ctx.release_mutex(second).await, TRUE);
                        assert_eq!(ctx.release_mutex(first).await, TRUE);
                        0
                    })
                    .await,
                );
            }
            assert_eq!(ctx.wait_for_multiple_objects(&threads, true, INFINITE).await, WAIT_OBJECT_0);
            0
        });
    })
}

/// What an exhaustive search reached: outcomes (the whole outcome of each completed run,
/// other outcomes by kind), final state hashes, and the sweep's counts.
struct Reached {
    outcomes: BTreeSet<String>,
    finals: BTreeSet<u64>,
    e: explore::Exploration,
}

fn reach(setup: &Setup, explore: Explore, prune_states: bool, runs: u64) -> Reached {
    let seen = std::sync::Mutex::new(BTreeSet::new());
    let record = |r: &RunReport| -> Result<(), String> {
        seen.lock().unwrap().insert(format!("{:?}", r.outcome));
        Ok(())
    };
    let s = Sweep {
        runs,
        stop_at_failure: false,
        property: Some(&record),
        states: true,
        prune_states,
        config: Config { steps_max: 10_000, ..Config::default() },
        ..Sweep::new(explore)
    };
    let e = explore::sweep(&s, "main", setup);
    let mut outcomes = seen.into_inner().unwrap();
    outcomes.extend(e.outcomes.keys().map(|k| format!("kind {k}")));
    Reached { outcomes, finals: e.final_states.clone(), e }
}

fn full() -> Explore {
    Explore::Dfs { preemption_bound: None, reduction: false }
}

/// The programs the reductions are checked in CI: the catalogue's small ones (both
/// variants) and the purpose-built ones.
fn small_programs() -> Vec<(String, Setup)> {
    let mut v: Vec<(String, Setup)> = Vec::new();
    for (name, program, _, _) in
        catalogue().into_iter().filter(|b| ["lost", "pipe", "lock"].iter().any(|p| b.0.starts_with(p)))
    {
        for fixed in [false, true] {
            v.push((format!("{name} (fixed: {fixed})"), program(fixed)));
        }
    }
    v.push(("independent pipe pairs".into(), independent_pipe_pairs()));
    v.push(("two threads on one event".into(), two_threads_one_event()));
    v
}

/// Every program the reductions are measured on: the catalogue's (both variants) whose
/// threads share state only through winsim objects and whose every run ends, and the
/// purpose-built ones.
fn programs() -> Vec<(String, Setup)> {
    let mut v = small_programs();
    for (name, program, _, _) in
        catalogue().into_iter().filter(|b| ["ordering", "SendMessage"].iter().any(|p| b.0.starts_with(p)))
    {
        for fixed in [false, true] {
            v.push((format!("{name} (fixed: {fixed})"), program(fixed)));
        }
    }
    v.push(("independent work".into(), independent()));
    v.push(("mutex cycle of three".into(), mutex_cycle()));
    v
}

/// The state hash does not see which slots a schedule allocated: every schedule of
/// `two_stuck_waiters` ends in one deadlock, its two wait operations allocated in either
/// order, and the final states hash alike; `independent` ends in exactly two states, one
/// per order of its records (kernel/state_hash.rs).
#[test]
fn the_state_hash_ignores_allocation_order_and_tells_states_apart() {
    let r = reach(&two_stuck_waiters(), full(), false, 10_000);
    assert!(r.e.exhausted);
    assert!(r.e.schedules >= 2, "{} schedules", r.e.schedules);
    assert_eq!(r.outcomes.iter().filter(|o| o.starts_with("kind")).collect::<Vec<_>>(), ["kind deadlock"]);
    assert_eq!(r.finals.len(), 1, "one deadlock state, {} hashes over {} schedules", r.finals.len(), r.e.schedules);
    let r = reach(&independent(), full(), false, 10_000);
    let completed = r.outcomes.iter().filter(|o| o.starts_with("Completed")).count();
    assert_eq!(completed, 2, "{:?}", r.outcomes);
    assert_eq!(r.finals.len(), 2, "two orders of the records, two final states");
    // Many more schedules than states at their ends; states seen at choices are counted.
    assert!(r.e.schedules > 100 && r.e.states.unwrap() > 2, "{:?}", r.e);
}

/// Coverage: every strategy reports distinct states when asked (and only then); the
/// exhaustive search sees every state a random sweep sees.
#[test]
fn sweeps_report_distinct_states_when_asked() {
    // The strategy's name parses back (WINSIM_STRATEGY, `winsim explore --strategy`).
    assert_eq!(Explore::parse("dpor"), Ok(Explore::Dpor));
    assert_eq!(Explore::Dpor.name(), "dpor");
    let setup = depth3(true);
    let mut counts = Vec::new();
    for explore in [Explore::Random, Explore::Pct { depth: 3, steps: None }, full(), Explore::Dpor] {
        let s = Sweep { runs: 400, stop_at_failure: false, states: true, ..Sweep::new(explore.clone()) };
        let e = explore::sweep(&s, "main", &setup);
        let n = e.states.unwrap_or_else(|| panic!("{}: no state count", explore.name()));
        assert!(n > 1 && !e.final_states.is_empty(), "{}: {e:?}", explore.name());
        counts.push((explore.name(), n, e.final_states.clone()));
        let off = explore::sweep(&Sweep { runs: 5, states: false, ..Sweep::new(explore.clone()) }, "main", &setup);
        assert_eq!(off.states, None);
        assert!(off.final_states.is_empty());
    }
    // The full search reaches every final state random search reached, and DPOR every
    // final state of the full search.
    let finals = |name: &str| counts.iter().find(|c| c.0 == name).map(|c| c.2.clone()).unwrap();
    assert!(finals("random").is_subset(&finals("dfs")), "{counts:?}");
    assert_eq!(finals("dfs"), finals("dpor"));
}

/// DPOR is sound on these programs: it reaches the same outcomes and the same final
/// states as the plain exhaustive search, and never runs more schedules (fewer on the
/// lock-order programs: 226 against 513 and 116 against 391, docs/exploration.md).
#[test]
fn dpor_reaches_every_outcome_and_final_state_with_fewer_runs() {
    let mut fewer = 0;
    let programs = small_programs();
    for (name, setup) in &programs {
        let f = reach(setup, full(), false, 100_000);
        let d = reach(setup, Explore::Dpor, false, 100_000);
        eprintln!("{name}: full {} runs, DPOR {} runs ({} pruned)", f.e.runs, d.e.runs, d.e.pruned);
        assert!(f.e.exhausted && d.e.exhausted, "{name}: not exhausted");
        assert_eq!(f.outcomes, d.outcomes, "{name}: DPOR lost or invented outcomes");
        assert_eq!(f.finals, d.finals, "{name}: DPOR lost or invented final states");
        assert!(d.e.runs <= f.e.runs, "{name}: DPOR {} runs, full {}", d.e.runs, f.e.runs);
        fewer += usize::from(d.e.runs < f.e.runs);
    }
    assert!(fewer >= 3, "DPOR ran fewer schedules on only {fewer} of {}", programs.len());
}

/// State pruning keeps every outcome and final state, bounded and unbounded, and runs
/// fewer schedules where states repeat.
#[test]
fn state_pruning_keeps_every_outcome_with_fewer_runs() {
    let mut fewer = 0;
    let programs = small_programs();
    for (name, setup) in &programs {
        for bound in [Some(2), None] {
            let explore = Explore::Dfs { preemption_bound: bound, reduction: false };
            let f = reach(setup, explore.clone(), false, 100_000);
            let p = reach(setup, explore, true, 100_000);
            assert_eq!(f.e.exhausted_bound, p.e.exhausted_bound, "{name}");
            assert_eq!(f.outcomes, p.outcomes, "{name} (bound {bound:?}): pruning lost or invented outcomes");
            assert_eq!(f.finals, p.finals, "{name} (bound {bound:?}): pruning lost or invented final states");
            assert!(p.e.runs <= f.e.runs, "{name}: {} runs with pruning, {} without", p.e.runs, f.e.runs);
            assert_eq!(p.e.states, f.e.states, "{name}: pruning must not lose states");
            fewer += usize::from(p.e.runs < f.e.runs);
        }
    }
    assert!(fewer > 0, "pruning never saved a run");
}

/// The counts for docs/exploration.md: runs of the plain exhaustive search, sleep sets,
/// state pruning, DPOR, and distinct final states, per program.
#[test]
#[ignore]
fn counts() {
    eprintln!("| program | dfs | dfs:por (sleep sets) | dfs --prune-states | dpor | final states | states |");
    eprintln!("|---|---|---|---|---|---|---|");
    for (name, setup) in programs() {
        let f = reach(&setup, full(), false, 1_000_000);
        let s = reach(&setup, Explore::Dfs { preemption_bound: None, reduction: true }, false, 1_000_000);
        let p = reach(&setup, full(), true, 1_000_000);
        let d = reach(&setup, Explore::Dpor, false, 1_000_000);
        eprintln!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            f.e.runs,
            s.e.runs,
            p.e.runs,
            d.e.runs,
            f.finals.len(),
            f.e.states.unwrap_or(0)
        );
    }
}
