//! A single-producer, single-consumer ring buffer in shared memory between two processes
//! (docs/semantics.md §§19.2-19.4, 19.24, 19.25, 25).
//!
//! The producer creates a named pagefile-backed section (CreateFileMapping) and two named
//! auto-reset events; the consumer opens them by name. Four u32 slots follow two
//! counters, head (items published) and tail (items taken), read and advanced only with
//! Interlocked operations. The producer writes a slot, then publishes it with
//! InterlockedIncrement(head), a full barrier; publishing first would let the consumer read
//! a stale slot, and winsim's race detector would end that run with a `data-race` outcome
//! naming both accesses.
//!
//! Run: `cargo run --example shm_ring_buffer`
use winsim::prelude::*;

const NAME: &str = r"Local\ring";
const HEAD: usize = 0; // offset of the count of items published
const TAIL: usize = 4; // offset of the count of items taken
const SLOTS: u32 = 4;
const ITEMS: u32 = 10;

/// The address of item `i`'s slot.
fn slot(view: usize, i: u32) -> usize {
    view + 8 + 4 * (i % SLOTS) as usize
}

/// Reads a counter the other side advances: InterlockedCompareExchange(at, 0, 0), the usual
/// interlocked read. A plain `read_u32` there is a data race (§25): winsim's detector ends
/// the run with a `data-race` outcome naming both accesses.
async fn read_counter(ctx: &ThreadCtx, at: usize) -> u32 {
    ctx.interlocked_compare_exchange(at, 0, 0).await as u32
}

async fn producer(ctx: ThreadCtx) -> u32 {
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4096, Some(NAME)).await;
    let view = ctx.map_view_of_file(h, FILE_MAP_ALL_ACCESS, 0, 0, 0).await;
    let data = ctx.create_event(None, false, false, Some(r"Local\ring-data")).await;
    let space = ctx.create_event(None, false, false, Some(r"Local\ring-space")).await;
    let (si, mut pi) = (STARTUPINFO::default(), PROCESS_INFORMATION::default());
    assert_eq!(ctx.create_process(None, Some("consumer.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
    for i in 0..ITEMS {
        while i - read_counter(&ctx, view + TAIL).await == SLOTS {
            ctx.wait_for_single_object(space, INFINITE).await; // full
        }
        ctx.write_u32(slot(view, i), 100 + i).await;
        ctx.interlocked_increment(view + HEAD).await; // publish after the write
        ctx.set_event(data).await;
    }
    ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
    let mut code = 0;
    assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
    code
}

async fn consumer(ctx: ThreadCtx) -> u32 {
    let h = ctx.open_file_mapping(FILE_MAP_READ | FILE_MAP_WRITE, false, Some(NAME)).await;
    let view = ctx.map_view_of_file(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0).await;
    let data = ctx.open_event(SYNCHRONIZE, false, Some(r"Local\ring-data")).await;
    let space = ctx.open_event(EVENT_MODIFY_STATE, false, Some(r"Local\ring-space")).await;
    let mut got = Vec::new();
    for i in 0..ITEMS {
        while read_counter(&ctx, view + HEAD).await == i {
            ctx.wait_for_single_object(data, INFINITE).await; // empty
        }
        got.push(ctx.read_u32(slot(view, i)).await);
        ctx.interlocked_increment(view + TAIL).await;
        ctx.set_event(space).await;
    }
    println!("consumer received {got:?}");
    u32::from(got != (100..100 + ITEMS).collect::<Vec<_>>()) // exit code 0: all, in order
}

fn main() {
    for seed in 0..5 {
        let mut sim = Sim::new(Config::random(seed));
        sim.program("producer.exe", producer);
        sim.program("consumer.exe", consumer);
        let report = sim.run("producer.exe");
        let Outcome::Completed { exit_codes } = &report.outcome else { panic!("{}", report.summary()) };
        assert!(exit_codes.iter().all(|(_, _, code)| *code == 0), "{}", report.summary());
        println!("seed {seed}: completed in {} steps, {} ms of virtual time", report.steps, report.time_ms);
    }
}
