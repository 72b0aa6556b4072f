//! Determinism, replay and exploration: the same program, configuration and seed give a
//! byte-identical trace; recorded decisions replay a run exactly; random seeds explore
//! different interleavings and find schedule-dependent bugs.
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use crate::support::*;
use sim_core::prelude::*;
use sim_core::trace::render_json_lines;
use sim_core::{ChoiceKind, Decision};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Two writer threads race three writes each into one pipe; the main thread reads all six.
/// Returns the order in which the reader saw the writers' bytes.
fn racy_writers(config: Config) -> (RunReport, String) {
    let seen = Rc::new(RefCell::new(String::new()));
    let out = seen.clone();
    let r = run_with(config, move |ctx| {
        let seen = seen.clone();
        async move {
            let (r, w) = pipe(&ctx, 0).await;
            for tag in [b'a', b'b'] {
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            for _ in 0..3 {
                                assert_eq!(ctx.write_file(w, &[tag], None).await, TRUE);
                            }
                            0
                        },
                        0,
                        None,
                    )
                    .await;
            }
            let mut got = 0;
            while got < 6 {
                let mut b = [0u8; 1];
                let mut n = 0;
                assert_eq!(ctx.read_file(r, &mut b, Some(&mut n)).await, TRUE);
                seen.borrow_mut().push(b[0] as char);
                got += n;
            }
            0
        }
    });
    let order = out.borrow().clone();
    (r, order)
}

#[test]
fn same_seed_gives_identical_serialized_trace() {
    for seed in 0..20 {
        let (a, _) = racy_writers(Config::random(seed));
        let (b, _) = racy_writers(Config::random(seed));
        assert_completed(&a);
        assert_eq!(render_json_lines(&a.trace), render_json_lines(&b.trace), "seed {seed}");
        assert_eq!(a.decisions, b.decisions);
    }
    for s in scenarios::catalogue() {
        for seed in 0..5 {
            // A livelock (msmq-poison-message) runs to the step limit: 50,000 steps show
            // as much determinism as a million, and take far less time.
            let config = || Config { steps_max: 50_000, ..Config::random(seed) };
            let a = s.run(config());
            let b = s.run(config());
            assert_eq!(render_json_lines(&a.trace), render_json_lines(&b.trace), "{} seed {seed}", s.name);
            assert_eq!(a.outcome, b.outcome);
        }
    }
}

#[test]
fn many_seeds_give_several_interleavings() {
    let orders: BTreeSet<String> = (0..60).map(|seed| racy_writers(Config::random(seed)).1).collect();
    assert!(orders.len() >= 5, "only {} distinct interleavings: {orders:?}", orders.len());
    for o in &orders {
        assert_eq!(o.chars().filter(|&c| c == 'a').count(), 3);
        assert_eq!(o.chars().filter(|&c| c == 'b').count(), 3);
    }
}

#[test]
fn round_robin_is_deterministic_and_seedless() {
    let (a, oa) = racy_writers(Config::round_robin());
    let (b, ob) = racy_writers(Config::round_robin());
    assert_eq!(oa, ob);
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.seed, None);
}

#[test]
fn replaying_recorded_decisions_reproduces_the_run() {
    for seed in 0..20 {
        let (a, oa) = racy_writers(Config::random(seed));
        let (b, ob) = racy_writers(Config::replay(a.decisions.clone()));
        assert_eq!(oa, ob, "seed {seed}");
        assert_eq!(a.trace, b.trace, "seed {seed}");
        assert_eq!(a.outcome, b.outcome);
        assert_eq!(a.decisions, b.decisions);
    }
}

#[test]
fn replay_reproduces_waiter_choices() {
    // Three threads wait on one auto-reset event that is set three times: who wins each
    // SetEvent is a scheduler decision of kind Waiter, recorded and replayed.
    let program = |config: Config| {
        let order = Rc::new(RefCell::new(Vec::new()));
        let seen = order.clone();
        let r = run_with(config, move |ctx| {
            let order = order.clone();
            async move {
                let ev = ctx.create_event(None, false, false, None).await;
                let mut threads = Vec::new();
                for _ in 0..3 {
                    let order = order.clone();
                    threads.push(
                        ctx.create_thread(
                            None,
                            0,
                            move |ctx| async move {
                                ctx.wait_for_single_object(ev, INFINITE).await;
                                order.borrow_mut().push(ctx.get_current_thread_id());
                                0
                            },
                            0,
                            None,
                        )
                        .await,
                    );
                }
                // Let all three reach their wait.
                ctx.sleep(10).await;
                for _ in 0..3 {
                    ctx.set_event(ev).await;
                    ctx.sleep(10).await;
                }
                assert_eq!(ctx.wait_for_multiple_objects(&threads, true, INFINITE).await, WAIT_OBJECT_0);
                0
            }
        });
        let o = seen.borrow().clone();
        (r, o)
    };
    let mut orders = BTreeSet::new();
    for seed in 0..30 {
        let (a, oa) = program(Config::random(seed));
        assert_completed(&a);
        assert!(a.decisions.iter().any(|d| d.kind == ChoiceKind::Waiter), "seed {seed}: no waiter decision");
        let (b, ob) = program(Config::replay(a.decisions.clone()));
        assert_eq!(oa, ob);
        assert_eq!(a.trace, b.trace);
        orders.insert(oa);
    }
    assert!(orders.len() >= 3, "waiter choices should vary with the seed: {orders:?}");
}

#[test]
fn a_replay_that_does_not_fit_ends_the_run_without_panicking() {
    let bogus = vec![Decision::new(ChoiceKind::Thread, 4242); 3];
    let (r, _) = racy_writers(Config::replay(bogus));
    assert!(matches!(r.outcome, Outcome::ReplayDiverged { .. }), "{:?}", r.outcome);
}

#[test]
fn turning_the_trace_off_changes_nothing_else() {
    for seed in 0..10 {
        let (a, oa) = racy_writers(Config::random(seed));
        let mut quiet = Config::random(seed);
        quiet.trace = false;
        let (b, ob) = racy_writers(quiet);
        assert_eq!(oa, ob);
        assert_eq!(a.decisions, b.decisions);
        assert_eq!(a.outcome, b.outcome);
        assert!(b.trace.is_empty());
    }
}

/// A pipe of nSize 4 between a writer of chunks of 1 to 5 bytes and a reader of 1 to 4
/// bytes at a time: what each ReadFile and WriteFile returns, and every decision.
fn chunked_pipe(config: Config) -> (RunReport, Vec<(i32, u32, Vec<u8>)>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let out = log.clone();
    let r = run_with(config, move |ctx| {
        let log = log.clone();
        async move {
            let (r, w) = pipe(&ctx, 4).await;
            let wlog = log.clone();
            let writer = ctx
                .create_thread(
                    None,
                    0,
                    move |ctx| async move {
                        for (i, size) in [1usize, 3, 2, 5, 1, 4, 4, 2].into_iter().enumerate() {
                            let chunk = vec![b'a' + i as u8; size];
                            let mut n = 0;
                            let ok = ctx.write_file(w, &chunk, Some(&mut n)).await;
                            wlog.borrow_mut().push((ok, n, Vec::new()));
                        }
                        0
                    },
                    0,
                    None,
                )
                .await;
            let mut got = 0;
            for size in [2usize, 1, 4, 3, 1, 4, 4, 3].into_iter().cycle() {
                if got == 22 {
                    break;
                }
                let mut b = vec![0u8; size];
                let mut n = 0;
                let ok = ctx.read_file(r, &mut b, Some(&mut n)).await;
                b.truncate(n as usize);
                got += n;
                log.borrow_mut().push((ok, n, b));
            }
            ctx.wait_for_single_object(writer, INFINITE).await;
            0
        }
    });
    let log = out.borrow().clone();
    (r, log)
}

/// With the trace off, an anonymous pipe's ReadFile and WriteFile that complete at once
/// write their replies into the thread where they are made (`Exec::Delivered`, issue 13);
/// with it on, the replies go the general way. Both ways give the same results, last
/// errors and decisions, on seeds whose writes block for room and whose reads take whole
/// writes, parts of one and bytes across several.
#[test]
fn replies_written_in_place_change_nothing() {
    let mut blocked = 0;
    for seed in 0..20 {
        let (a, la) = chunked_pipe(Config::random(seed));
        let mut quiet = Config::random(seed);
        quiet.trace = false;
        let (b, lb) = chunked_pipe(quiet);
        assert_completed(&a);
        assert_eq!(la, lb, "seed {seed}");
        assert_eq!(a.decisions, b.decisions, "seed {seed}");
        assert_eq!(a.outcome, b.outcome, "seed {seed}");
        assert!(b.trace.is_empty());
        // The bytes arrive in order, every call succeeds, and the writes add up to 22.
        let read: Vec<u8> = la.iter().filter(|(_, _, b)| !b.is_empty()).flat_map(|(_, _, b)| b.clone()).collect();
        let want: Vec<u8> =
            [1usize, 3, 2, 5, 1, 4, 4, 2].into_iter().enumerate().flat_map(|(i, n)| vec![b'a' + i as u8; n]).collect();
        assert_eq!(read, want, "seed {seed}");
        assert!(la.iter().all(|(ok, _, _)| *ok == TRUE), "seed {seed}: {la:?}");
        blocked += a
            .trace
            .iter()
            .filter(|e| matches!(&e.kind, sim_core::trace::EventKind::Block { api, .. } if api == "WriteFile"))
            .count();
    }
    assert!(blocked > 0, "some write must wait for room in the pipe");
}

/// PulseEvent racing a WaitForSingleObject (PulseEvent doc: "If no threads are waiting
/// ... PulseEvent simply sets the event object's state to nonsignaled and returns";
/// §11.1; TEACHING-CASES item 25): a lost wake-up on some seeds, none on others.
#[test]
fn lost_wakeup_is_found_by_random_seeds() {
    let s = scenarios::find("lost-wakeup-pulse-event").unwrap();
    let mut deadlocked = None;
    let mut completed = 0;
    for seed in 0..100 {
        let r = s.run(Config::random(seed));
        match &r.outcome {
            Outcome::Completed { .. } => completed += 1,
            Outcome::Deadlock(d) => {
                if deadlocked.is_none() {
                    deadlocked = Some((seed, d.clone()));
                }
            }
            other => panic!("seed {seed}: unexpected {other:?}"),
        }
    }
    assert!(completed > 0, "some seeds must deliver the pulse");
    let (seed, report) = deadlocked.expect("some seed must lose the wake-up");
    // The report names the stuck waiter and the event it waits for.
    let waiter = report
        .threads
        .iter()
        .find(|t| {
            t.api == "WaitForSingleObject"
                && t.waits.iter().any(|w| matches!(w, WaitEdge::Object { object, .. } if object.starts_with("event#1")))
        })
        .unwrap_or_else(|| panic!("seed {seed}: no thread waiting on the event in {report:?}"));
    assert_ne!(waiter.tid, 0);
    assert!(report.render().contains("event#1"), "{}", report.render());
    // The main thread waits for the waiter thread, which waits for an event that only
    // their process (whose threads are all stuck) could set.
    assert_eq!(report.cycle.len(), 2, "{}", report.render());
    // Replaying the failing seed's decisions reproduces the deadlock.
    let again = s.run(Config::random(seed));
    assert_eq!(again.outcome, Outcome::Deadlock(report));
}

use sim_core::WaitEdge;

/// The JSON-lines trace is the serde form of `trace::Event`: it reads back unchanged.
#[test]
fn json_trace_round_trips() {
    for s in scenarios::catalogue() {
        let r = s.run(Config::random(3));
        let text = render_json_lines(&r.trace);
        assert!(text.starts_with("{\"schema\":\"winsim-trace\",\"version\":3}\n"), "{}", s.name);
        let back = sim_core::trace::parse_json_lines(&text).expect("a versioned trace");
        assert_eq!(back, r.trace, "{}", s.name);
        assert!(sim_core::trace::parse_json_lines(&text.replace("\"version\":3", "\"version\":1")).is_err());
    }
}

/// A long run keeps only the end of its trace, within `trace_events_max`, and says how
/// much it dropped; the run itself is unchanged.
#[test]
fn a_long_trace_keeps_its_end_within_the_limit() {
    let program = |config: Config| {
        run_with(config, |ctx| async move {
            for _ in 0..1000 {
                ctx.sleep(0).await;
            }
            0
        })
    };
    let full = program(Config::round_robin());
    let mut small = Config::round_robin();
    small.trace_events_max = 100;
    let cut = program(small);
    assert_eq!(full.outcome, cut.outcome);
    assert!(cut.trace.len() <= 100);
    assert_eq!(cut.trace_dropped as usize + cut.trace.len(), full.trace.len());
    assert_eq!(cut.trace[..], full.trace[full.trace.len() - cut.trace.len()..]);
    assert!(cut.trace_text().starts_with(&format!("… {} earlier events dropped", cut.trace_dropped)));
}

/// Outcomes and wait edges serialize with snake_case tags, like trace events, and still
/// read the PascalCase tags of failure files written before (the aliases).
#[test]
fn outcome_json_is_snake_case_and_reads_old_files() {
    let o = sim_core::Outcome::StepLimit { steps: 5 };
    assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"step_limit":{"steps":5}}"#);
    let old: sim_core::Outcome = serde_json::from_str(r#"{"StepLimit":{"steps":5}}"#).unwrap();
    assert_eq!(old, o);
    let e = sim_core::WaitEdge::SleepForever;
    assert_eq!(serde_json::to_string(&e).unwrap(), r#""sleep_forever""#);
    assert_eq!(serde_json::from_str::<sim_core::WaitEdge>(r#""SleepForever""#).unwrap(), e);
}

/// Trace schema 3 (docs/trace-format.md): a handle is a plain number in every JSON form,
/// an argument's handle with the object it names beside it; decision kinds are snake_case
/// and failure files written with the older PascalCase names still read.
#[test]
fn json_handles_are_numbers_and_decision_kinds_snake_case() {
    use sim_core::trace::ArgValue;
    let v = ArgValue::Handle { handle: HANDLE(4), object: Some("pipe#1 read end".into()) };
    let json = serde_json::to_string(&v).unwrap();
    assert_eq!(json, r#"{"handle":4,"object":"pipe#1 read end"}"#);
    assert_eq!(serde_json::from_str::<ArgValue>(&json).unwrap(), v);
    let bare = ArgValue::handle(HANDLE(8));
    assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"handle":8}"#);
    assert_eq!(serde_json::from_str::<ArgValue>(r#"{"handle":8}"#).unwrap(), bare);
    for v in
        [ArgValue::Handles(vec![HANDLE(4), HANDLE(8)]), ArgValue::U32(7), ArgValue::Str(None), ArgValue::Bool(true)]
    {
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(serde_json::from_str::<ArgValue>(&json).unwrap(), v, "{json}");
    }
    assert_eq!(serde_json::to_string(&ArgValue::Handles(vec![HANDLE(4)])).unwrap(), r#"{"handles":[4]}"#);
    let d = Decision::new(ChoiceKind::Thread, 12);
    assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"kind":"thread","tid":12}"#);
    let old: Decision = serde_json::from_str(r#"{"kind":"Waiter","tid":3}"#).unwrap();
    assert_eq!(old, Decision::new(ChoiceKind::Waiter, 3));
    // A whole trace reads back equal to what was written.
    let mut sim = Sim::new(Config::random(1));
    sim.program("p.exe", |ctx: ThreadCtx| async move {
        let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
        assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE);
        assert_eq!(ctx.write_file(w, b"x", None).await, TRUE);
        assert_eq!(ctx.close_handle(r).await, TRUE);
        assert_eq!(ctx.close_handle(w).await, TRUE);
        0
    });
    let report = sim.run("p.exe");
    let text = render_json_lines(&report.trace);
    assert!(text.contains(r#""value":{"handle":8,"object":"pipe#1 write end"}"#), "{text}");
    assert_eq!(sim_core::trace::parse_json_lines(&text).unwrap(), report.trace);
}

/// Issue 13: one `Sim` reused across the runs of a sweep (`Sim::run_and_reset`) makes the
/// same runs as a fresh `Sim` per seed: same outcome, decisions and trace, without the
/// programs being registered again; a preloaded file and a second host carry over.
#[test]
fn a_reset_sim_makes_the_runs_a_fresh_one_makes() {
    fn setup(sim: &mut Sim) {
        sim.file(r"C:\data.txt", b"abc");
        sim.host("peer", [10, 0, 0, 2]);
        sim.program("main", |ctx| async move {
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 1).await, TRUE);
            let t = ctx
                .create_thread(
                    None,
                    0,
                    move |ctx| async move {
                        for b in b"xyz" {
                            assert_eq!(ctx.write_file(w, &[*b], None).await, TRUE);
                        }
                        0
                    },
                    0,
                    None,
                )
                .await;
            let f = ctx.create_file(r"C:\data.txt", GENERIC_READ, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
            assert_ne!(f, INVALID_HANDLE_VALUE, "the preloaded file is on the volume");
            let mut b = [0u8; 3];
            for _ in 0..3 {
                assert_eq!(ctx.read_file(r, &mut b[..1], None).await, TRUE);
            }
            ctx.wait_for_single_object(t, INFINITE).await;
            0
        });
    }
    let mut reused = Sim::new(Config::random(0));
    setup(&mut reused);
    let mut distinct = BTreeSet::new();
    for seed in 0..12u64 {
        let mut fresh = Sim::new(Config::random(seed));
        setup(&mut fresh);
        let a = fresh.run("main");
        let b = reused.run_and_reset("main", Config::random(seed + 1));
        assert!(a.outcome.is_completed(), "{}", a.summary());
        assert_eq!(a.outcome, b.outcome, "seed {seed}");
        assert_eq!(a.decisions, b.decisions, "seed {seed}");
        assert_eq!(render_json_lines(&a.trace), render_json_lines(&b.trace), "seed {seed}");
        assert_eq!(b.config.network.hosts.len(), a.config.network.hosts.len(), "the host carried over");
        distinct.insert(format!("{:?}", a.decisions));
    }
    assert!(distinct.len() > 1, "the seeds made different runs");
}

/// Issue 13: a run configured with the random strategy chooses its threads from the
/// runnable set's word (`Kernel::choose_thread_in`) while every runnable id is below 256,
/// and from the set's list otherwise; the same strategy given as a boxed `Strategy` always
/// chooses through `ChoicePoint`s and the list. Both must make the same decisions with the
/// same options and give the same trace, with few threads (the word) and with runnable
/// threads past id 256 (70 idle threads created first: the list).
#[test]
fn the_random_strategy_chooses_the_same_from_the_runnable_word_and_from_the_list() {
    fn setup(sim: &mut Sim, idle: usize) {
        sim.program("main", move |ctx| async move {
            let stop = ctx.create_event(None, true, false, None).await;
            let mut idlers = Vec::new();
            for _ in 0..idle {
                idlers.push(
                    ctx.create_thread(
                        None,
                        0,
                        move |ctx| async move { ctx.wait_for_single_object(stop, INFINITE).await },
                        0,
                        None,
                    )
                    .await,
                );
            }
            let m = ctx.create_mutex(None, false, None).await;
            let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 2).await, TRUE);
            let mut workers = Vec::new();
            for tag in [b'a', b'b', b'c'] {
                workers.push(
                    ctx.create_thread(
                        None,
                        0,
                        move |ctx| async move {
                            for _ in 0..4 {
                                ctx.wait_for_single_object(m, INFINITE).await;
                                assert_eq!(ctx.write_file(w, &[tag], None).await, TRUE);
                                assert_eq!(ctx.release_mutex(m).await, TRUE);
                            }
                            0
                        },
                        0,
                        None,
                    )
                    .await,
                );
            }
            let mut b = [0u8; 1];
            for _ in 0..12 {
                assert_eq!(ctx.read_file(r, &mut b, None).await, TRUE);
            }
            assert_eq!(ctx.set_event(stop).await, TRUE);
            for t in workers.into_iter().chain(idlers) {
                ctx.wait_for_single_object(t, INFINITE).await;
            }
            0
        });
    }
    for idle in [0, 70] {
        let mut word_choices = 0;
        for seed in 0..8u64 {
            let config = Config::random(seed);
            let mut held = Sim::new(config.clone());
            setup(&mut held, idle);
            let a = held.run("main");
            let strategy = Box::new(sim_core::kernel::sched::RandomStrategy::new(seed));
            let mut boxed = Sim::with_strategy(config, strategy);
            setup(&mut boxed, idle);
            let b = boxed.run("main");
            assert!(a.outcome.is_completed(), "{}", a.summary());
            assert_eq!(a.decisions, b.decisions, "seed {seed}, {idle} idle threads");
            assert_eq!(a.schedule, b.schedule, "seed {seed}, {idle} idle threads");
            assert!(!a.trace.is_empty());
            assert_eq!(render_json_lines(&a.trace), render_json_lines(&b.trace), "seed {seed}");
            // The choices among several threads, all below id 256 (the word) or not.
            let several = a.decisions.iter().filter(|d| d.options.len() > 1);
            word_choices += several.clone().filter(|d| d.options.iter().all(|&t| t < 256)).count();
            if idle == 70 {
                assert!(several.clone().any(|d| d.options.iter().any(|&t| t >= 256)), "the list is used");
            }
        }
        assert!(word_choices > 0, "the word is used");
    }
}

/// Issue 13: past the runnable set's word (thread ids from 256 on, after 70 idle threads),
/// a choice among one or two runnable threads is made without their list
/// (`Kernel::choose_thread_few`); it must make the decisions, schedule and trace that the
/// same random strategy makes given as a boxed `Strategy` (which always chooses through
/// the list), with the trace on and off (a plain step, `Kernel::step_inline`'s way), among
/// two threads past the word and among one of them and the main thread.
#[test]
fn the_random_strategy_chooses_the_same_among_few_threads_past_the_word() {
    fn setup(sim: &mut Sim) {
        sim.program("main", move |ctx| async move {
            let stop = ctx.create_event(None, true, false, None).await;
            let mut idlers = Vec::new();
            for _ in 0..70 {
                let idler = move |ctx: ThreadCtx| async move { ctx.wait_for_single_object(stop, INFINITE).await };
                idlers.push(ctx.create_thread(None, 0, idler, 0, None).await);
            }
            let (mut r1, mut w1, mut r2, mut w2) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
            assert_eq!(ctx.create_pipe(&mut r1, &mut w1, None, 1).await, TRUE);
            assert_eq!(ctx.create_pipe(&mut r2, &mut w2, None, 1).await, TRUE);
            let ping = move |ctx: ThreadCtx| async move {
                let mut b = [0u8; 1];
                for i in 0..6u8 {
                    assert_eq!(ctx.write_file(w1, &[i], None).await, TRUE);
                    assert_eq!(ctx.read_file(r2, &mut b, None).await, TRUE);
                }
                0
            };
            let pong = move |ctx: ThreadCtx| async move {
                let mut b = [0u8; 1];
                for _ in 0..6u8 {
                    assert_eq!(ctx.read_file(r1, &mut b, None).await, TRUE);
                    assert_eq!(ctx.write_file(w2, &b, None).await, TRUE);
                }
                0
            };
            let a = ctx.create_thread(None, 0, ping, 0, None).await;
            let b = ctx.create_thread(None, 0, pong, 0, None).await;
            // The main thread runs beside them for a while, then waits.
            let ev = ctx.create_event(None, false, false, None).await;
            for _ in 0..4 {
                assert_eq!(ctx.set_event(ev).await, TRUE);
            }
            ctx.wait_for_single_object(a, INFINITE).await;
            ctx.wait_for_single_object(b, INFINITE).await;
            assert_eq!(ctx.set_event(stop).await, TRUE);
            for t in idlers {
                ctx.wait_for_single_object(t, INFINITE).await;
            }
            0
        });
    }
    let (mut both_past, mut one_past) = (0, 0);
    for trace in [true, false] {
        for seed in 0..8u64 {
            let mut config = Config::random(seed);
            config.trace = trace;
            let mut held = Sim::new(config.clone());
            setup(&mut held);
            let a = held.run("main");
            let strategy = Box::new(sim_core::kernel::sched::RandomStrategy::new(seed));
            let mut boxed = Sim::with_strategy(config, strategy);
            setup(&mut boxed);
            let b = boxed.run("main");
            assert!(a.outcome.is_completed(), "{}", a.summary());
            assert_eq!(a.outcome, b.outcome, "seed {seed}, trace {trace}");
            assert_eq!(a.decisions, b.decisions, "seed {seed}, trace {trace}");
            assert_eq!(a.schedule, b.schedule, "seed {seed}, trace {trace}");
            assert_eq!(a.trace.is_empty(), !trace);
            assert_eq!(render_json_lines(&a.trace), render_json_lines(&b.trace), "seed {seed}");
            for d in a.decisions.iter().filter(|d| d.options.len() == 2) {
                match (d.options[0] >= 256, d.options[1] >= 256) {
                    (true, true) => both_past += 1,
                    (false, true) => one_past += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(
        both_past > 0 && one_past > 0,
        "{both_past} choices between two threads past the word, {one_past} beside one"
    );
}
