//! The bounded producer/consumer of N items through a buffer of capacity 4 as a shuttle
//! program (a Mutex and two Condvars): shared by `peers.rs` and `paired.rs`, so both
//! measure the same protocol beside winsim's (`benches/common/protocols.rs`).

/// The protocol's body over a checker's `Arc`, `Mutex`, `Condvar` and `spawn` (shuttle's
/// and loom's have std's signatures): `peers.rs` writes loom's with it too.
macro_rules! producer_consumer {
    ($n:expr, $arc:ident, $mutex:ident, $condvar:ident, $spawn:path) => {{
        let n: u32 = $n;
        let state = $arc::new(($mutex::new(std::collections::VecDeque::new()), $condvar::new(), $condvar::new()));
        let s2 = state.clone();
        let producer = $spawn(move || {
            let (m, not_full, not_empty) = &*s2;
            for i in 0..n {
                let mut q = m.lock().unwrap();
                while q.len() >= 4 {
                    q = not_full.wait(q).unwrap();
                }
                q.push_back(i);
                not_empty.notify_one();
            }
        });
        let (m, not_full, not_empty) = &*state;
        for _ in 0..n {
            let mut q = m.lock().unwrap();
            while q.is_empty() {
                q = not_empty.wait(q).unwrap();
            }
            q.pop_front();
            not_full.notify_one();
        }
        producer.join().unwrap();
    }};
}
// (`paired.rs` includes this file too, without loom.)
#[allow(unused_imports)]
pub(crate) use producer_consumer;

/// The protocol's body, run inside a shuttle test.
pub fn shuttle_body(n: u32) {
    use shuttle::sync::{Condvar, Mutex};
    use std::sync::Arc;
    producer_consumer!(n, Arc, Mutex, Condvar, shuttle::thread::spawn);
}

/// One run of `shuttle_body(n)` under shuttle's random scheduler with `seed`.
pub fn shuttle_random(n: u32, seed: u64) {
    let scheduler = shuttle::scheduler::RandomScheduler::new_from_seed(seed, 1);
    shuttle::Runner::new(scheduler, shuttle::Config::new()).run(move || shuttle_body(n));
}

/// Benchmark 3's run in shuttle: spawn and join one thread, under its random scheduler.
pub fn shuttle_trivial(seed: u64) {
    let scheduler = shuttle::scheduler::RandomScheduler::new_from_seed(seed, 1);
    shuttle::Runner::new(scheduler, shuttle::Config::new()).run(|| {
        shuttle::thread::spawn(|| {}).join().unwrap();
    });
}
