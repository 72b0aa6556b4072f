//! A random-program interpreter shared by the fuzz target (fuzz/fuzz_targets/kernel_ops.rs)
//! and the robustness property test (tests/conformance/robustness.rs): bytes become Win32
//! calls with valid and invalid handles on two threads, under a seed from the input.
//! The kernel must never panic, must keep its invariants after every step, and must end
//! every run with an outcome.

use sim_core::prelude::*;
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

pub async fn interpret(ctx: ThreadCtx, ops: Rc<Vec<u8>>) -> u32 {
    let mut buf = [0u8; 64];
    for chunk in ops.chunks(3) {
        let [op, a, b] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let h = HANDLES[a as usize % HANDLES.len()];
        let n = b as usize % 64;
        match op % 16 {
            0 => {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                ctx.create_pipe(&mut r, &mut w, None, u32::from(b % 8)).await;
            }
            1 => {
                ctx.write_file(h, &buf[..n], None).await;
            }
            2 => {
                ctx.read_file(h, &mut buf[..n], None).await;
            }
            3 => {
                ctx.close_handle(h).await;
            }
            4 => {
                ctx.create_event(None, b & 1 == 1, b & 2 == 2, if b & 4 == 4 { Some("e") } else { None }).await;
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
                let h2 = HANDLES[b as usize % HANDLES.len()];
                ctx.wait_for_multiple_objects(&[h, h2], b & 1 == 1, u32::from(b % 3)).await;
            }
            9 => {
                ctx.create_mutex(None, b & 1 == 1, None).await;
            }
            10 => {
                ctx.release_mutex(h).await;
            }
            11 => {
                ctx.create_semaphore(None, i32::from(b % 3), i32::from(b % 4), None).await;
            }
            12 => {
                ctx.release_semaphore(h, i32::from(b % 3) - 1, None).await;
            }
            13 => {
                let mut out = HANDLE::NULL;
                let p = ctx.get_current_process();
                ctx.duplicate_handle(p, h, p, &mut out, 0, b & 1 == 1, u32::from(b % 8)).await;
            }
            14 => {
                let mut avail = 0;
                ctx.peek_named_pipe(h, Some(&mut buf[..n]), None, Some(&mut avail), None).await;
            }
            _ => {
                ctx.flush_file_buffers(h).await;
            }
        }
    }
    0
}

/// Runs the program that `data` encodes and returns its report.
pub fn run_program(data: &[u8]) -> Option<RunReport> {
    if data.len() < 2 {
        return None;
    }
    let seed = u64::from(data[0]);
    let split = (data[1] as usize).min(data.len() - 2);
    let body = &data[2..];
    let (first, second) = body.split_at(split.min(body.len()));
    let (first, second) = (Rc::new(first.to_vec()), Rc::new(second.to_vec()));
    let mut config = Config::random(seed);
    config.steps_max = 10_000;
    config.check_invariants = true;
    config.trace = false;
    let mut sim = Sim::new(config);
    sim.program("fuzz.exe", move |ctx| {
        let (first, second) = (first.clone(), second.clone());
        async move {
            let other = ctx.create_thread(None, 0, move |ctx| interpret(ctx, second), 0, None).await;
            interpret(ctx.clone(), first).await;
            ctx.wait_for_single_object(other, 50).await;
            0
        }
    });
    Some(sim.run("fuzz.exe"))
}
