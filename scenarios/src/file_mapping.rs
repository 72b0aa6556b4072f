//! Files behind mappings (docs/semantics.md §28; issue 7, shared-memory teaching case 5):
//! a writer process maps a file of the in-memory volume, stores a record through its view
//! and publishes it with a named event; a reader process opens the same file and reads
//! the record with ReadFile. The view and ReadFile see the same bytes (§28.16), but only
//! the event orders the reader's ReadFile after the writer's store: the variant whose
//! reader does not wait is a data race (§28.19, §25).

use crate::Scenario;
use sim_core::prelude::*;

/// The file both processes open.
pub const RECORD_FILE: &str = r"C:\records\order.dat";
/// The manual-reset event the writer sets once the record is in the view.
pub const RECORD_READY: &str = r"Local\teaching-record-ready";
/// The record the writer stores at offset 0 of its view.
pub const RECORD: &[u8; 24] = b"ORDER 0042: 3 x WIDGET\r\n";
/// The size the writer gives the section (and so the file, §28.14).
pub const RECORD_FILE_SIZE: u32 = 4096;

/// The writer: creates the directory and the file, maps it (PAGE_READWRITE, 4096 bytes:
/// the empty file grows to that size), creates the event, starts the reader, stores the
/// record through the view, flushes the view and sets the event; then waits for the
/// reader and exits with its exit code (10 + a step that failed for its own failures).
async fn record_writer(ctx: ThreadCtx) -> u32 {
    let _ = ctx.create_directory(r"C:\records", None).await;
    let share = FILE_SHARE_READ | FILE_SHARE_WRITE;
    let file =
        ctx.create_file(RECORD_FILE, GENERIC_READ | GENERIC_WRITE, share, None, CREATE_ALWAYS, 0, HANDLE::NULL).await;
    if file == INVALID_HANDLE_VALUE {
        return 11;
    }
    let mapping = ctx.create_file_mapping(file, None, PAGE_READWRITE, 0, RECORD_FILE_SIZE, None).await;
    if mapping.is_null() {
        return 12;
    }
    let view = ctx.map_view_of_file(mapping, FILE_MAP_WRITE, 0, 0, 0).await;
    let ready = ctx.create_event(None, true, false, Some(RECORD_READY)).await;
    if view == 0 || ready.is_null() {
        return 13;
    }
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    if ctx.create_process(None, Some("reader.exe"), None, None, false, 0, &si, &mut pi).await == FALSE {
        return 14;
    }
    ctx.write_memory(view, RECORD).await;
    let _ = ctx.flush_view_of_file(view, RECORD.len()).await;
    let _ = ctx.set_event(ready).await;
    ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
    let mut code = 0;
    let _ = ctx.get_exit_code_process(pi.hProcess, &mut code).await;
    let _ = ctx.unmap_view_of_file(view).await;
    let _ = ctx.close_handle(mapping).await;
    let _ = ctx.close_handle(file).await;
    code
}

/// The reader: waits for the event when `wait`, opens the file (sharing write: the
/// writer's PAGE_READWRITE section refuses an open that does not, §28.9) and reads the
/// record with ReadFile. Exit code 0 when it read the record, 1 when it read other bytes
/// (the record not yet stored), 2 + the last error when a call failed.
async fn reader(ctx: ThreadCtx, wait: bool) -> u32 {
    if wait {
        let ready = ctx.open_event(SYNCHRONIZE, false, Some(RECORD_READY)).await;
        if ready.is_null() || ctx.wait_for_single_object(ready, INFINITE).await != WAIT_OBJECT_0 {
            return 2 + ctx.get_last_error().0;
        }
    }
    let share = FILE_SHARE_READ | FILE_SHARE_WRITE;
    let file = ctx.create_file(RECORD_FILE, GENERIC_READ, share, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    if file == INVALID_HANDLE_VALUE {
        return 2 + ctx.get_last_error().0;
    }
    let mut buf = [0u8; RECORD.len()];
    let mut n = 0;
    if ctx.read_file(file, &mut buf, Some(&mut n)).await == FALSE {
        return 2 + ctx.get_last_error().0;
    }
    u32::from(n as usize != RECORD.len() || &buf != RECORD)
}

async fn record_reader(ctx: ThreadCtx) -> u32 {
    reader(ctx, true).await
}

async fn record_reader_unpublished(ctx: ThreadCtx) -> u32 {
    reader(ctx, false).await
}

/// Teaching case 5: a file-backed section written through a view and read back with
/// ReadFile by another process, published with an event (§§28.14, 28.16, 28.9).
pub fn file_record_via_view() -> Scenario {
    Scenario {
        name: "file-record-via-view",
        summary: "a writer stores a record through a view of a file-backed section and sets an event; a reader process then ReadFile's the same file and sees the record",
        expect: "completes on every seed; the reader reads the record (both exit codes 0)",
        install: |sim| {
            sim.program("writer.exe", record_writer);
            sim.program("reader.exe", record_reader);
        },
        main: "writer.exe",
    }
}

/// Teaching case 5, broken: the reader does not wait for the event.
pub fn file_record_unpublished() -> Scenario {
    Scenario {
        name: "file-record-unpublished",
        summary: "the file-record-via-view reader reads the file without waiting for the writer's event: nothing orders its ReadFile after the store through the view",
        expect: "ends with a data race on every seed (the view store and the ReadFile); with the detector off, fails on some seeds (the reader exits with 1: it read zeros)",
        install: |sim| {
            sim.program("writer.exe", record_writer);
            sim.program("reader.exe", record_reader_unpublished);
        },
        main: "writer.exe",
    }
}
