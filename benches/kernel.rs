//! Kernel benchmarks (divan). Run: `cargo bench --bench kernel`.
//! Results and the machine they were measured on: docs/performance.md.
#![forbid(unsafe_code)]

use winsim::prelude::*;

fn main() {
    divan::main();
}

/// Two threads exchange `n` one-byte messages over two pipes (2n ReadFile + 2n
/// WriteFile calls, each a kernel step with a scheduler decision), beside `idle` more
/// threads blocked for ever in WaitForSingleObject (the cost of a step must not grow with
/// threads that take no part in it).
fn ping_pong_with_idle(n: u32, idle: u32, trace: bool) -> RunReport {
    ping_pong_with(n, idle, trace, RaceDetection::Stop)
}

fn ping_pong_with(n: u32, idle: u32, trace: bool, races: RaceDetection) -> RunReport {
    let mut config = Config::random(1);
    config.trace = trace;
    config.race_detection = races;
    config.threads_max = config.threads_max.max(idle + 16);
    config.handles_max = config.handles_max.max(idle as usize + 64);
    let mut sim = Sim::new(config);
    sim.program("pingpong.exe", move |ctx| async move {
        if idle > 0 {
            let never = ctx.create_event(None, true, false, None).await;
            for _ in 0..idle {
                let _ = ctx
                    .create_thread(
                        None,
                        0,
                        move |ctx| async move { ctx.wait_for_single_object(never, INFINITE).await },
                        0,
                        None,
                    )
                    .await;
            }
        }
        let (mut r1, mut w1, mut r2, mut w2) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
        let _ = ctx.create_pipe(&mut r1, &mut w1, None, 0).await;
        let _ = ctx.create_pipe(&mut r2, &mut w2, None, 0).await;
        let echo = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    let mut b = [0u8; 1];
                    for _ in 0..n {
                        let _ = ctx.read_file(r1, &mut b, None).await;
                        let _ = ctx.write_file(w2, &b, None).await;
                    }
                    0
                },
                0,
                None,
            )
            .await;
        let mut b = [0u8; 1];
        for _ in 0..n {
            let _ = ctx.write_file(w1, b"x", None).await;
            let _ = ctx.read_file(r2, &mut b, None).await;
        }
        ctx.wait_for_single_object(echo, INFINITE).await;
        0
    });
    sim.run("pingpong.exe")
}

/// Scaling (benchmark 4): the 1000-round-trip ping-pong (trace off) beside 0 to 10,000
/// idle threads; counted per ping-pong step.
#[divan::bench(args = [0, 100, 1000, 10000])]
fn pipe_ping_pong_1000_idle_threads(bencher: divan::Bencher, idle: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, idle, false));
}

/// The same programs without the round trips: what the idle threads' creation, waits and
/// teardown cost (subtract from the above for the per-step cost).
#[divan::bench(args = [0, 100, 1000, 10000])]
fn pipe_ping_pong_0_idle_threads(bencher: divan::Bencher, idle: u32) {
    bencher.bench(|| ping_pong_with_idle(0, idle, false));
}

/// Kernel steps per second with the trace off: 1000 round trips = 4003 steps.
#[divan::bench]
fn pipe_ping_pong_1000_no_trace(bencher: divan::Bencher) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, 0, false));
}

/// The same with the data-race detector off (it is on by default): what its clocks cost
/// per step.
#[divan::bench]
fn pipe_ping_pong_1000_no_race_detection(bencher: divan::Bencher) {
    bencher
        .counter(divan::counter::ItemsCount::new(4003u32))
        .bench(|| ping_pong_with(1000, 0, false, RaceDetection::Off));
}

/// The same with the full trace recorded.
#[divan::bench]
fn pipe_ping_pong_1000_traced(bencher: divan::Bencher) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_with_idle(1000, 0, true));
}

/// A seed sweep's unit of work: one run of a small scenario, trace off.
#[divan::bench(args = ["redirect-leaked-write-end", "lost-wakeup-pulse-event", "pipe-quota-arithmetic"])]
fn scenario_run(bencher: divan::Bencher, name: &str) {
    let s = scenarios::find(name).unwrap();
    let mut seed = 0;
    bencher.bench_local(|| {
        seed += 1;
        let mut c = Config::random(seed);
        c.trace = false;
        s.run(c)
    });
}

/// What sits beside the ping-pong in the scaling benchmarks (benchmark 4).
#[derive(Clone, Copy, Debug)]
enum Beside {
    /// Live handles to events in the main process.
    Handles(u32),
    /// Messages posted to the main thread's queue and never retrieved.
    Messages(u32),
    /// Overlapped ReadFiles pending on one named-pipe instance.
    PendingReads(u32),
}

fn ping_pong_beside(n: u32, beside: Beside) -> RunReport {
    let mut config = Config::random(1);
    config.trace = false;
    config.handles_max = config.handles_max.max(200_000);
    let mut sim = Sim::new(config);
    sim.program("pingpong.exe", move |ctx| async move {
        // Kept alive until the end of the run.
        let mut pending = Vec::new();
        match beside {
            Beside::Handles(k) => {
                for _ in 0..k {
                    let _ = ctx.create_event(None, true, false, None).await;
                }
            }
            Beside::Messages(k) => {
                let me = ctx.get_current_thread_id();
                for i in 0..k {
                    let _ = ctx.post_thread_message(me, WM_USER, i as usize, 0).await;
                }
            }
            Beside::PendingReads(k) => {
                let name = r"\\.\pipe\bench";
                let server = ctx
                    .create_named_pipe(
                        name,
                        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                        PIPE_TYPE_BYTE | PIPE_WAIT,
                        1,
                        1024,
                        1024,
                        0,
                        None,
                    )
                    .await;
                let client =
                    ctx.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                for _ in 0..k {
                    let ov = Overlapped::new(HANDLE::NULL);
                    let buf = IoBuffer::new(1);
                    let _ = ctx.read_file_overlapped(server, &buf, None, &ov).await;
                    pending.push((ov, buf));
                }
                pending.push((Overlapped::new(client), IoBuffer::new(0)));
            }
        }
        let (mut r1, mut w1, mut r2, mut w2) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
        let _ = ctx.create_pipe(&mut r1, &mut w1, None, 0).await;
        let _ = ctx.create_pipe(&mut r2, &mut w2, None, 0).await;
        let echo = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    let mut b = [0u8; 1];
                    for _ in 0..n {
                        let _ = ctx.read_file(r1, &mut b, None).await;
                        let _ = ctx.write_file(w2, &b, None).await;
                    }
                    0
                },
                0,
                None,
            )
            .await;
        let mut b = [0u8; 1];
        for _ in 0..n {
            let _ = ctx.write_file(w1, b"x", None).await;
            let _ = ctx.read_file(r2, &mut b, None).await;
        }
        ctx.wait_for_single_object(echo, INFINITE).await;
        drop(pending);
        0
    });
    sim.run("pingpong.exe")
}

/// Scaling: the ping-pong beside 10 to 100,000 live handles (per ping-pong step; the
/// `_setup` bench below is the same program without the round trips).
#[divan::bench(args = [10, 1000, 100000])]
fn pipe_ping_pong_1000_live_handles(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::Handles(k)));
}

#[divan::bench(args = [10, 1000, 100000])]
fn pipe_ping_pong_0_live_handles(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::Handles(k)));
}

/// Scaling: the ping-pong beside 0 to 10,000 messages queued to the main thread.
#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_1000_queued_messages(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::Messages(k)));
}

#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_0_queued_messages(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::Messages(k)));
}

/// Scaling: the ping-pong beside 0 to 10,000 pending overlapped ReadFiles.
#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_1000_pending_reads(bencher: divan::Bencher, k: u32) {
    bencher.counter(divan::counter::ItemsCount::new(4003u32)).bench(|| ping_pong_beside(1000, Beside::PendingReads(k)));
}

#[divan::bench(args = [0, 100, 10000])]
fn pipe_ping_pong_0_pending_reads(bencher: divan::Bencher, k: u32) {
    bencher.bench(|| ping_pong_beside(0, Beside::PendingReads(k)));
}

/// Benchmark 3: a trivial two-thread run (CreateThread, the thread returns, the main
/// thread waits for it), setup and teardown included: a fresh `Sim` per run, as a user's
/// sweep makes them.
#[divan::bench]
fn trivial_two_thread_run(bencher: divan::Bencher) {
    bencher.bench(|| {
        let mut config = Config::random(1);
        config.trace = false;
        let mut sim = Sim::new(config);
        sim.program("t.exe", |ctx| async move {
            let t = ctx.create_thread(None, 0, |_ctx| async move { 0 }, 0, None).await;
            ctx.wait_for_single_object(t, INFINITE).await;
            0
        });
        sim.run("t.exe")
    });
}
