//! A plain driver for profilers (no benchmark harness around the work):
//! `cargo bench --bench profile -- WORKLOAD [N] [RUNS]`, or under
//! `valgrind --tool=callgrind target/release/deps/profile-<hash> WORKLOAD N RUNS`.
//! Workloads: `pingpong` (N round trips, trace off), `pingpong-traced`, `pingpong-norace`,
//! `pingpong-schedule` (trace off, decisions recorded as the one-byte schedule only),
//! `idle` (the 1000-round-trip ping-pong beside N idle threads), `beside-handles`,
//! `beside-messages` and `beside-pending` (the same ping-pong beside N live event handles,
//! N messages posted to the main thread's queue and never read, or N pending overlapped
//! ReadFiles: the scaling loads of benchmark 4), each of these four with a `-setup` twin
//! (`idle-setup`, `beside-handles-setup`, ...: the same program with 0 round trips, to
//! subtract; per step = (with − without) / the difference in steps), `trivial` (a two-thread
//! run that makes no call but CreateThread and a wait), `section` (a 1 GiB section with
//! one page touched), `pipe-pc` and `mutex-events` (the bounded producer/consumer of N
//! items that `peers/` runs beside shuttle: a pipe of nSize 4, or a 4-slot buffer guarded
//! by a mutex with two auto-reset events; seed 1). Prints the wall time per run and
//! per kernel step; docs/performance.md gives the numbers that matter (instructions).
#![forbid(unsafe_code)]

use std::time::Instant;
use winsim::prelude::*;

#[path = "common/protocols.rs"]
mod protocols;
#[path = "common/scaling.rs"]
mod scaling;
use scaling::{Beside, ping_pong_beside, round_trips};

fn ping_pong(n: u32, idle: u32, trace: bool, races: RaceDetection) -> RunReport {
    ping_pong_recording(n, idle, trace, races, DecisionRecord::Full)
}

fn ping_pong_recording(n: u32, idle: u32, trace: bool, races: RaceDetection, record: DecisionRecord) -> RunReport {
    let mut config = Config::random(1);
    config.decision_record = record;
    config.trace = trace;
    config.race_detection = races;
    config.threads_max = config.threads_max.max(idle + 16);
    config.handles_max = config.handles_max.max(idle as usize + 64);
    config.steps_max = config.steps_max.max(u64::from(idle) * 4 + 100_000);
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
        round_trips!(ctx, n);
        0
    });
    sim.run("pingpong.exe")
}

/// A seeded random run without the trace, as the protocols are measured.
fn untraced() -> Config {
    let mut config = Config::random(1);
    config.trace = false;
    config
}

fn big_section() -> RunReport {
    let mut config = Config::random(1);
    config.trace = false;
    let mut sim = Sim::new(config);
    sim.program("s.exe", |ctx| async move {
        let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 1 << 30, None).await;
        assert!(!h.is_null(), "CreateFileMapping: {}", ctx.get_last_error());
        let p = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        assert_ne!(p, 0, "MapViewOfFile: {}", ctx.get_last_error());
        ctx.write_u8(p + 4096 * 1000, 7).await;
        0
    });
    sim.run("s.exe")
}

/// `n` overlapped ReadFiles pending on one named-pipe instance.
fn pending_reads(n: u32) -> RunReport {
    let mut config = Config::random(1);
    config.trace = false;
    let mut sim = Sim::new(config);
    sim.program("p.exe", move |ctx| async move {
        let (server, _client) = scaling::overlapped_pipe(&ctx).await;
        let mut pending = Vec::new();
        for _ in 0..n {
            let ov = Overlapped::new(HANDLE::NULL);
            let buf = IoBuffer::new(1);
            let _ = ctx.read_file_overlapped(server, &buf, None, &ov).await;
            pending.push((ov, buf));
        }
        0
    });
    sim.run("p.exe")
}

/// `n` live event handles.
fn handles(n: u32) -> RunReport {
    let mut config = Config::random(1);
    config.trace = false;
    config.handles_max = config.handles_max.max(n as usize + 64);
    let mut sim = Sim::new(config);
    sim.program("h.exe", move |ctx| async move {
        for _ in 0..n {
            let _ = ctx.create_event(None, true, false, None).await;
        }
        0
    });
    sim.run("h.exe")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let workload = args.first().map(String::as_str).unwrap_or("pingpong");
    let n: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let runs: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let start = Instant::now();
    let mut steps = 0;
    let mut last = None;
    for _ in 0..runs {
        let r = match workload {
            "pingpong" => ping_pong(n, 0, false, RaceDetection::Stop),
            "pingpong-traced" => ping_pong(n, 0, true, RaceDetection::Stop),
            "pingpong-norace" => ping_pong(n, 0, false, RaceDetection::Off),
            "pingpong-schedule" => ping_pong_recording(n, 0, false, RaceDetection::Stop, DecisionRecord::Schedule),
            "idle" => ping_pong(1000, n, false, RaceDetection::Stop),
            "idle-setup" => ping_pong(0, n, false, RaceDetection::Stop),
            "beside-handles" => ping_pong_beside(1000, Beside::Handles(n)),
            "beside-handles-setup" => ping_pong_beside(0, Beside::Handles(n)),
            "beside-messages" => ping_pong_beside(1000, Beside::Messages(n)),
            "beside-messages-setup" => ping_pong_beside(0, Beside::Messages(n)),
            "beside-pending" => ping_pong_beside(1000, Beside::PendingReads(n)),
            "beside-pending-setup" => ping_pong_beside(0, Beside::PendingReads(n)),
            "trivial" => protocols::trivial(untraced()),
            "section" => big_section(),
            "pending" => pending_reads(n),
            "handles" => handles(n),
            "pipe-pc" => protocols::pipe_pc(n, untraced()),
            "mutex-events" => protocols::mutex_events(n, untraced()),
            other => panic!("unknown workload {other}"),
        };
        assert!(matches!(r.outcome, Outcome::Completed { .. }), "{:?}", r.outcome);
        steps += r.steps;
        last = Some(r);
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "{workload} n={n} runs={runs}: {:.3} ms/run, {:.1} ns/step ({} steps/run)",
        t * 1e3 / runs as f64,
        t * 1e9 / steps as f64,
        steps / runs as u64
    );
    if let Some(r) = last {
        // What a run's record of its decisions costs: the schedule's bytes, and the
        // expanded list's heap (each `Decision`, plus each options buffer once: lists of two
        // options or fewer are held in place, and consecutive decisions among the same
        // longer list share one buffer, with its two reference counts).
        let n = r.schedule.len().max(1);
        let list: usize = r
            .decisions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let shared = i > 0 && r.decisions[i - 1].options.shares_buffer_with(&d.options);
                let buffer = if shared || d.options.is_inline() {
                    0
                } else {
                    16 + d.options.len() * std::mem::size_of::<winsim::kernel::Tid>()
                };
                std::mem::size_of::<winsim::Decision>() + buffer
            })
            .sum();
        println!(
            "decisions: {} ; schedule {} bytes ({:.2} bytes/decision) ; decision list {} bytes ({:.1} bytes/decision)",
            r.schedule.len(),
            r.schedule.bytes().len(),
            r.schedule.bytes().len() as f64 / n as f64,
            list,
            list as f64 / n as f64
        );
    }
}
