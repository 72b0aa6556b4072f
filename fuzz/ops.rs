//! A random-program interpreter shared by the fuzz target (fuzz/fuzz_targets/kernel_ops.rs)
//! and the robustness property test (tests/conformance/robustness.rs): bytes become Win32
//! calls with valid and invalid handles on several threads and processes, under a seed
//! from the input. The kernel must never panic, must keep its invariants after every
//! step, and must end every run with an outcome.
//!
//! Input layout: byte 0 is the seed, and its top two bits pick the op set (top bit clear:
//! the 16 basic ops of the first version; top bit set: also threads, suspension,
//! termination, processes and SignalObjectAndWait; both top bits set: also waitable
//! timers and the clock reads). Older sets keep their meaning so that fuzz/regressions/
//! inputs replay as they were found. Byte 1 splits the rest between the two first
//! threads. Every further 3 bytes are one call: op, handle selector, argument.

use sim_core::prelude::*;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Handle values the ops pick from: real ones (small multiples of 4), pseudo handles,
/// NULL, a value with tag bits, and a far-away invalid one.
const HANDLES: [HANDLE; 10] = [
    HANDLE(4),
    HANDLE(8),
    HANDLE(12),
    HANDLE(16),
    HANDLE(20),
    HANDLE(-1),
    HANDLE(-2),
    HANDLE(0),
    HANDLE(9),
    HANDLE(0x1234),
];

/// How deep threads and processes started by the program may nest.
const DEPTH_MAX: u32 = 3;

/// One thread's program: the ops, the op set, and its nesting depth.
#[derive(Clone)]
pub struct Script {
    ops: Rc<Vec<u8>>,
    /// How many ops the set has: 16, 24 or 32.
    set: u8,
    depth: u32,
}

fn boxed(ctx: ThreadCtx, script: Script) -> Pin<Box<dyn Future<Output = u32>>> {
    Box::pin(interpret(ctx, script))
}

/// Runs a script as a thread body.
pub async fn interpret(ctx: ThreadCtx, script: Script) -> u32 {
    let mut buf = [0u8; 64];
    let ops = script.ops.clone();
    for (i, chunk) in ops.chunks(3).enumerate() {
        let [op, a, b] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let h = HANDLES[a as usize % HANDLES.len()];
        let h2 = HANDLES[b as usize % HANDLES.len()];
        let n = b as usize % 64;
        let op = op % script.set;
        // What a new thread or process runs: the rest of this script, one level deeper.
        let rest = || Script {
            ops: Rc::new(ops.get((i + 1) * 3..).unwrap_or(&[]).to_vec()),
            set: script.set.max(24),
            depth: script.depth + 1,
        };
        match op {
            0 => {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let sa = (b & 8 == 8).then_some(SECURITY_ATTRIBUTES::INHERIT);
                let _ = ctx.create_pipe(&mut r, &mut w, sa.as_ref(), u32::from(b % 8)).await;
            }
            1 => {
                let _ = ctx.write_file(h, &buf[..n], None).await;
            }
            2 => {
                let _ = ctx.read_file(h, &mut buf[..n], None).await;
            }
            3 => {
                ctx.close_handle(h).await;
            }
            4 => {
                let _ = ctx.create_event(None, b & 1 == 1, b & 2 == 2, if b & 4 == 4 { Some("e") } else { None }).await;
            }
            5 => {
                ctx.set_event(h).await;
            }
            6 => {
                ctx.pulse_event(h).await;
            }
            7 => {
                ctx.wait_for_single_object(h, u32::from(b % 4)).await;
            }
            8 => {
                ctx.wait_for_multiple_objects(&[h, h2], b & 1 == 1, u32::from(b % 3)).await;
            }
            9 => {
                let _ = ctx.create_mutex(None, b & 1 == 1, None).await;
            }
            10 => {
                let _ = ctx.release_mutex(h).await;
            }
            11 => {
                let _ = ctx.create_semaphore(None, i32::from(b % 3), i32::from(b % 4), None).await;
            }
            12 => {
                let _ = ctx.release_semaphore(h, i32::from(b % 3) - 1, None).await;
            }
            13 => {
                let mut out = HANDLE::NULL;
                let p = ctx.get_current_process();
                let _ = ctx.duplicate_handle(p, h, p, &mut out, 0, b & 1 == 1, u32::from(b % 8)).await;
            }
            14 => {
                let mut avail = 0;
                let _ = ctx.peek_named_pipe(h, Some(&mut buf[..n]), None, Some(&mut avail), None).await;
            }
            15 => {
                ctx.flush_file_buffers(h).await;
            }
            16 if script.depth < DEPTH_MAX => {
                let s = rest();
                let flags = if b & 1 == 1 { CREATE_SUSPENDED } else { 0 };
                let _ = ctx.create_thread(None, 0, move |ctx| boxed(ctx, s), flags, None).await;
            }
            17 => {
                ctx.suspend_thread(h).await;
            }
            18 => {
                ctx.resume_thread(h).await;
            }
            19 => {
                ctx.terminate_thread(h, u32::from(b)).await;
            }
            20 if script.depth < DEPTH_MAX => {
                let name = format!("child{}.exe", script.depth + 1);
                let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdInput: h, hStdOutput: h2, hStdError: h2 };
                let flags = if b & 2 == 2 { CREATE_SUSPENDED } else { 0 };
                let mut pi = PROCESS_INFORMATION::default();
                let _ = ctx.create_process(None, Some(&name), None, None, b & 1 == 1, flags, &si, &mut pi).await;
            }
            21 => {
                ctx.terminate_process(h, u32::from(b)).await;
            }
            22 => {
                ctx.signal_object_and_wait(h, h2, u32::from(b % 3), false).await;
            }
            23 if b == 0xff => {
                ctx.exit_thread(7).await;
            }
            23 => {
                ctx.sleep(u32::from(b % 3)).await;
            }
            24 => {
                let _ = ctx.create_waitable_timer(None, b & 1 == 1, (b & 2 == 2).then_some("t")).await;
            }
            25 => {
                // Relative (negative), absolute in the past (small positive) or now (0).
                let due = match b % 3 {
                    0 => -i64::from(b % 7) * 10_000,
                    1 => i64::from(b),
                    _ => 0,
                };
                let _ = ctx.set_waitable_timer(h, due, i32::from(b % 4) * 5 - 1, None, b & 8 == 8).await;
            }
            26 => {
                let _ = ctx.cancel_waitable_timer(h).await;
            }
            27 => {
                let access = [TIMER_ALL_ACCESS, SYNCHRONIZE, TIMER_MODIFY_STATE, 0, GENERIC_READ][b as usize % 5];
                let _ = ctx.open_waitable_timer(access, b & 8 == 8, (b & 16 == 16).then_some("t")).await;
            }
            28 => {
                let access = [TIMER_ALL_ACCESS, SYNCHRONIZE, GENERIC_WRITE][b as usize % 3];
                let _ = ctx.create_waitable_timer_ex(None, (b & 4 == 4).then_some("t"), u32::from(b % 8), access).await;
            }
            29 => {
                let mut v = 0;
                match b % 4 {
                    0 => drop(ctx.get_tick_count().await),
                    1 => drop(ctx.get_tick_count64().await),
                    2 => drop(ctx.query_performance_counter(&mut v).await),
                    _ => {
                        let mut ft = FILETIME::default();
                        ctx.get_system_time_as_file_time(&mut ft).await;
                    }
                }
            }
            30 => {
                ctx.wait_for_single_object(h, u32::from(b % 20)).await;
            }
            31 => {
                ctx.sleep(u32::from(b % 12)).await;
            }
            _ => {}
        }
    }
    0
}

/// Runs the program that `data` encodes and returns its report.
pub fn run_program(data: &[u8]) -> Option<RunReport> {
    if data.len() < 2 {
        return None;
    }
    let (set, seed) = match data[0] >> 6 {
        0 | 1 => (16, data[0] & 0x7f),
        2 => (24, data[0] & 0x7f),
        _ => (32, data[0] & 0x3f),
    };
    let seed = u64::from(seed);
    let split = (data[1] as usize).min(data.len() - 2);
    let body = &data[2..];
    let (first, second) = body.split_at(split.min(body.len()));
    let first = Script { ops: Rc::new(first.to_vec()), set, depth: 0 };
    let second = Script { ops: Rc::new(second.to_vec()), set, depth: 0 };
    let mut config = Config::random(seed);
    config.steps_max = 10_000;
    config.threads_max = 64;
    config.processes_max = 16;
    config.check_invariants = true;
    config.trace = false;
    let mut sim = Sim::new(config);
    sim.program("fuzz.exe", move |ctx| {
        let (first, second) = (first.clone(), second.clone());
        async move {
            let other = ctx.create_thread(None, 0, move |ctx| boxed(ctx, second), 0, None).await;
            interpret(ctx.clone(), first).await;
            ctx.wait_for_single_object(other, 50).await;
            0
        }
    });
    // Child processes run what their creator had left to do, read from their command
    // line's depth; they get the creator's script through a shared slot.
    for depth in 1..=DEPTH_MAX {
        let script = Script { ops: Rc::new(data[2..].to_vec()), set: set.max(24), depth };
        sim.program(&format!("child{depth}.exe"), move |ctx| boxed(ctx, script.clone()));
    }
    Some(sim.run("fuzz.exe"))
}
