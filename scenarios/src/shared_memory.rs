//! Shared-memory scenarios (docs/semantics.md §19): a single-producer/single-consumer ring
//! buffer in a named section shared by two processes, and two processes racing to create
//! the same named section. The same programs, with their assertions, are teaching cases
//! in tests/conformance/teaching.rs.

use crate::Scenario;
use sim_core::prelude::*;

/// The ring's section (§19.3: the kernel-object namespace, `Local\` prefix).
pub const RING: &str = r"Local\teaching-ring";
/// The auto-reset event the producer sets after publishing an item.
pub const RING_DATA: &str = r"Local\teaching-ring-data";
/// The auto-reset event the consumer sets after freeing a slot.
pub const RING_SPACE: &str = r"Local\teaching-ring-space";
/// Offset of `head`, the count of items published (written only by the producer, with
/// InterlockedIncrement).
pub const HEAD: usize = 0;
/// Offset of `tail`, the count of items consumed (written only by the consumer, with
/// InterlockedIncrement).
pub const TAIL: usize = 4;
/// Offset of the first slot; slot `k` is the u32 at `SLOT0 + 4 * k`.
pub const SLOT0: usize = 16;
/// The ring's slots.
pub const SLOTS: u32 = 4;
/// How many items the producer sends.
pub const ITEMS: u32 = 8;

/// The `i`-th item (0-based) the producer sends: 101, 102, ...
pub fn item(i: u32) -> u32 {
    101 + i
}

/// The address of the slot item `i` goes to in the view at `view`.
fn slot(view: usize, i: u32) -> usize {
    view + SLOT0 + 4 * (i % SLOTS) as usize
}

/// Reads the index at `at` with an interlocked operation: InterlockedCompareExchange(at,
/// 0, 0) stores nothing unless the index is 0 (then it stores the same 0) and returns the
/// value, the usual interlocked read. A plain load of an index the other side advances
/// with InterlockedIncrement would be a data race (docs/semantics.md §25): it is not
/// ordered after the other side's accesses to the slot.
async fn read_index(ctx: &ThreadCtx, at: usize) -> u32 {
    ctx.interlocked_compare_exchange(at, 0, 0).await as u32
}

/// Starts `command_line` (no handles inherited); returns its process handle or NULL.
async fn start(ctx: &ThreadCtx, command_line: &str) -> HANDLE {
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    if ctx.create_process(None, Some(command_line), None, None, false, 0, &si, &mut pi).await == FALSE {
        return HANDLE::NULL;
    }
    let _ = ctx.close_handle(pi.hThread).await;
    pi.hProcess
}

/// The producer: creates the section and both events, starts the consumer, then for each
/// item waits while the ring is full (`i - tail == SLOTS`), writes the slot, publishes it
/// with InterlockedIncrement(head) and sets the data event. Waits for the consumer and
/// exits with its exit code (10 + a step that failed for its own failures).
async fn ring_producer(ctx: ThreadCtx) -> u32 {
    producer(ctx, false).await
}

/// The producer of `shm-ring-early-publish`: publishes each item's index before writing
/// its slot.
async fn ring_producer_early(ctx: ThreadCtx) -> u32 {
    producer(ctx, true).await
}

async fn producer(ctx: ThreadCtx, publish_first: bool) -> u32 {
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4096, Some(RING)).await;
    if h.is_null() {
        return 11;
    }
    let view = ctx.map_view_of_file(h, FILE_MAP_ALL_ACCESS, 0, 0, 0).await;
    let data = ctx.create_event(None, false, false, Some(RING_DATA)).await;
    let space = ctx.create_event(None, false, false, Some(RING_SPACE)).await;
    if view == 0 || data.is_null() || space.is_null() {
        return 12;
    }
    let consumer = start(&ctx, "consumer.exe").await;
    if consumer.is_null() {
        return 13;
    }
    for i in 0..ITEMS {
        // Full: every slot holds an item the consumer has not taken. An aligned u32 read
        // is atomic (§19.24); the consumer's InterlockedIncrement(tail) publishes a free
        // slot, and the auto-reset space event wakes this wait (or is already set).
        while i - read_index(&ctx, view + TAIL).await == SLOTS {
            ctx.wait_for_single_object(space, INFINITE).await;
        }
        if publish_first {
            // The bug: head says the item is there before it is.
            ctx.interlocked_increment(view + HEAD).await;
            ctx.write_u32(slot(view, i), item(i)).await;
        } else {
            ctx.write_u32(slot(view, i), item(i)).await;
            // The slot is written before head says so: the interlocked operation is a
            // full barrier (§19.25), so the consumer never sees head before the item.
            ctx.interlocked_increment(view + HEAD).await;
        }
        ctx.set_event(data).await;
    }
    ctx.wait_for_single_object(consumer, INFINITE).await;
    let mut code = 0;
    if ctx.get_exit_code_process(consumer, &mut code).await == FALSE {
        return 14;
    }
    code
}

/// The consumer: opens the section and the events by name, then for each item waits while
/// the ring is empty (`head == i`), reads the slot, frees it with
/// InterlockedIncrement(tail) and sets the space event. Exit code 0 when it received
/// exactly `item(0..ITEMS)` in order, else 1 + the index of the first wrong item (or 20 +
/// a step that failed).
async fn ring_consumer(ctx: ThreadCtx) -> u32 {
    let h = ctx.open_file_mapping(FILE_MAP_READ | FILE_MAP_WRITE, false, Some(RING)).await;
    if h.is_null() {
        return 21;
    }
    let view = ctx.map_view_of_file(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0).await;
    let data = ctx.open_event(SYNCHRONIZE, false, Some(RING_DATA)).await;
    let space = ctx.open_event(EVENT_MODIFY_STATE, false, Some(RING_SPACE)).await;
    if view == 0 || data.is_null() || space.is_null() {
        return 22;
    }
    let mut first_wrong = 0;
    for i in 0..ITEMS {
        // Empty: the producer has published no item this one has not taken. A data event
        // set for an item already taken only costs one more look at head.
        while read_index(&ctx, view + HEAD).await == i {
            ctx.wait_for_single_object(data, INFINITE).await;
        }
        let v = ctx.read_u32(slot(view, i)).await;
        ctx.interlocked_increment(view + TAIL).await;
        ctx.set_event(space).await;
        if v != item(i) && first_wrong == 0 {
            first_wrong = i + 1;
        }
    }
    first_wrong
}

/// A single-producer/single-consumer ring buffer in a named section shared by two
/// processes (§§19.2-19.4, 19.21, 19.24, 19.25).
pub fn shm_ring_buffer() -> Scenario {
    Scenario {
        name: "shm-ring-buffer",
        summary: "a producer and a consumer process share a 4-slot ring in a named section: Interlocked head/tail, named auto-reset events to wake each other",
        expect: "completes on every seed; the consumer receives items 101..108 in order (both exit codes 0)",
        install: |sim| {
            sim.program("producer.exe", ring_producer);
            sim.program("consumer.exe", ring_consumer);
        },
        main: "producer.exe",
    }
}

/// The same ring buffer with the producer publishing each index before writing its slot
/// (issue 7, teaching case 2): the race detector reports the slot's write and the
/// consumer's read on the first run (§25); without it, some seeds let the consumer read a
/// stale slot.
pub fn shm_ring_early_publish() -> Scenario {
    Scenario {
        name: "shm-ring-early-publish",
        summary: "the shm-ring-buffer producer advances head before writing the slot: the consumer may read a slot not yet written",
        expect: "ends with a data race on the first run (the slot written after head is published); with the detector off, fails on some seeds (the consumer exits with the index of a stale item)",
        install: |sim| {
            sim.program("producer.exe", ring_producer_early);
            sim.program("consumer.exe", ring_consumer);
        },
        main: "producer.exe",
    }
}

/// The section both racers create.
pub const RACE: &str = r"Local\teaching-race";
/// The manual-reset event the launcher creates and the second racer to write sets.
pub const RACE_BOTH: &str = r"Local\teaching-race-both";
/// The value racer A writes at offset 0 and racer B at offset 4.
pub const RACE_TAGS: [u32; 2] = [0xAAAA_AAAA, 0xBBBB_BBBB];

/// The launcher: creates the "both wrote" event, starts racers A and B, waits for both.
async fn race_launcher(ctx: ThreadCtx) -> u32 {
    let both = ctx.create_event(None, true, false, Some(RACE_BOTH)).await;
    if both.is_null() {
        return 1;
    }
    let a = start(&ctx, "racer.exe A").await;
    let b = start(&ctx, "racer.exe B").await;
    if a.is_null() || b.is_null() {
        return 2;
    }
    ctx.wait_for_multiple_objects(&[a, b], true, INFINITE).await;
    0
}

/// A racer: CreateFileMapping of the name (whoever comes second gets a handle to the
/// first one's section and ERROR_ALREADY_EXISTS, §19.2), maps it, writes its tag, counts
/// itself in with InterlockedIncrement at offset 8 (the second sets the event), waits for
/// the event and reads the other racer's tag. Exit code: the last error CreateFileMapping
/// left (0 or 183) when the other's tag was there, else 1000 + a step that failed.
async fn racer(ctx: ThreadCtx) -> u32 {
    let me = usize::from(ctx.get_command_line().ends_with('B'));
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4096, Some(RACE)).await;
    let created = ctx.get_last_error();
    if h.is_null() {
        return 1001;
    }
    let view = ctx.map_view_of_file(h, FILE_MAP_ALL_ACCESS, 0, 0, 0).await;
    let both = ctx.open_event(SYNCHRONIZE | EVENT_MODIFY_STATE, false, Some(RACE_BOTH)).await;
    if view == 0 || both.is_null() {
        return 1002;
    }
    ctx.write_u32(view + 4 * me, RACE_TAGS[me]).await;
    if ctx.interlocked_increment(view + 8).await == 2 {
        ctx.set_event(both).await;
    }
    ctx.wait_for_single_object(both, INFINITE).await;
    if ctx.read_u32(view + 4 * (1 - me)).await != RACE_TAGS[1 - me] {
        return 1003;
    }
    created.0
}

/// Two processes racing to create the same named section (§§19.1, 19.2, 19.21).
pub fn shm_create_race() -> Scenario {
    Scenario {
        name: "shm-create-race",
        summary: "two processes race to CreateFileMapping one name: one creates the section, the other gets ERROR_ALREADY_EXISTS and a handle to the same section",
        expect: "completes on every seed; exactly one racer exits with 183 (ERROR_ALREADY_EXISTS), the other with 0, and each read the other's tag",
        install: |sim| {
            sim.program("launcher.exe", race_launcher);
            sim.program("racer.exe", racer);
        },
        main: "launcher.exe",
    }
}
