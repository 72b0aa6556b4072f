//! Runs to the first failure in shuttle, for the bugs of winsim's exploration catalogue
//! written for shuttle (tests/conformance/explore.rs has the winsim versions; the table
//! is in docs/exploration.md). Run:
//! `cargo run --release --manifest-path peers/Cargo.toml --example bugs`.
//!
//! Shuttle has no Win32 objects, so each bug is its closest shuttle form: the lost
//! wake-up is a Condvar notified before anyone waits (no predicate: the notification is
//! lost, as an auto-reset event's second signal is); the end-of-file hang is an mpsc
//! channel whose receiver waits for a disconnect that a leaked Sender never gives; the
//! check-then-act race, the lock-order inversion and the depth-3 ordering bug are the
//! same programs over shuttle's Mutex, threads and a shared log.
#![forbid(unsafe_code)]

use shuttle::sync::{Condvar, Mutex, mpsc};
use shuttle::thread;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

static RUNS: AtomicUsize = AtomicUsize::new(0);

fn lost_wakeup() {
    let pair = Arc::new((Mutex::new(()), Condvar::new()));
    let p2 = pair.clone();
    let producer = thread::spawn(move || {
        for _ in 0..2 {
            let _g = p2.0.lock().unwrap();
            p2.1.notify_one();
        }
    });
    for _ in 0..2 {
        let g = pair.0.lock().unwrap();
        let _g = pair.1.wait(g).unwrap();
    }
    producer.join().unwrap();
}

fn check_then_act() {
    let balance = Arc::new(Mutex::new(10i32));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let b = balance.clone();
            thread::spawn(move || {
                let enough = *b.lock().unwrap() >= 10;
                if enough {
                    thread::yield_now();
                    let mut g = b.lock().unwrap();
                    *g -= 10;
                    assert!(*g >= 0, "overdrawn");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn leaked_sender() {
    let (tx, rx) = mpsc::channel::<u8>();
    let tx2 = tx.clone();
    let writer = thread::spawn(move || {
        for &b in b"hello" {
            tx2.send(b).unwrap();
        }
    });
    let _leaked = tx; // the main thread keeps its own Sender: the channel never disconnects
    let mut got = Vec::new();
    while let Ok(b) = rx.recv() {
        got.push(b);
    }
    writer.join().unwrap();
}

fn lock_order() {
    let a = Arc::new(Mutex::new(()));
    let b = Arc::new(Mutex::new(()));
    let (a2, b2) = (a.clone(), b.clone());
    let t1 = thread::spawn(move || {
        let _x = a2.lock().unwrap();
        let _y = b2.lock().unwrap();
    });
    let t2 = thread::spawn(move || {
        let _y = b.lock().unwrap();
        let _x = a.lock().unwrap();
    });
    t1.join().unwrap();
    t2.join().unwrap();
}

fn depth3() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = [b'a', b'b']
        .into_iter()
        .map(|name| {
            let log = log.clone();
            thread::spawn(move || {
                log.lock().unwrap().extend_from_slice(&[name, b'1']);
                log.lock().unwrap().extend_from_slice(&[name, b'2']);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_ne!(&log.lock().unwrap()[..], b"a1b1a2b2");
}

/// Iterations until the first failure (panic or deadlock) under `scheduler`, at most `max`.
fn runs_to_failure(f: fn(), scheduler: impl shuttle::scheduler::Scheduler + 'static, max: usize) -> Option<usize> {
    RUNS.store(0, Ordering::SeqCst);
    let runner = shuttle::Runner::new(scheduler, shuttle::Config::new());
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runner.run(move || {
            RUNS.fetch_add(1, Ordering::SeqCst);
            f()
        })
    }))
    .is_err();
    let n = RUNS.load(Ordering::SeqCst);
    (failed && n <= max).then_some(n)
}

fn main() {
    // Shuttle prints each failure's panic and seed: keep the table readable.
    std::panic::set_hook(Box::new(|_| {}));
    let bugs: [(&str, fn()); 5] = [
        ("lost wake-up", lost_wakeup),
        ("check-then-act race", check_then_act),
        ("EOF hang from a leaked handle (a leaked Sender)", leaked_sender),
        ("lock-order inversion", lock_order),
        ("ordering bug of depth 3", depth3),
    ];
    const MAX: usize = 10_000;
    println!("| bug | shuttle random | shuttle pct:3 | mean over seeds 0..20: random | pct:3 |");
    println!("|---|---|---|---|---|");
    for (name, f) in bugs {
        let show = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_else(|| format!("not found in {MAX}"));
        let random = runs_to_failure(f, shuttle::scheduler::RandomScheduler::new_from_seed(0, MAX), MAX);
        let pct = runs_to_failure(f, shuttle::scheduler::PctScheduler::new_from_seed(0, 3, MAX), MAX);
        let mean = |runs: &dyn Fn(u64) -> Option<usize>| {
            (0..20u64).map(|s| runs(s * 1000).unwrap_or(MAX)).sum::<usize>() as f64 / 20.0
        };
        let random_mean =
            mean(&|s| runs_to_failure(f, shuttle::scheduler::RandomScheduler::new_from_seed(s, MAX), MAX));
        let pct_mean = mean(&|s| runs_to_failure(f, shuttle::scheduler::PctScheduler::new_from_seed(s, 3, MAX), MAX));
        println!("| {name} | {} | {} | {random_mean:.1} | {pct_mean:.1} |", show(random), show(pct));
    }
}
