//! File mappings and simulated memory: CreateFileMapping (pagefile-backed), OpenFileMapping,
//! MapViewOfFile(Ex), UnmapViewOfFile, FlushViewOfFile, loads and stores through views,
//! the Interlocked functions. Named after Wine's kernel32 virtual.c suite
//! (test_CreateFileMapping, test_MapViewOfFile, test_mapping, test_shared_memory,
//! test_shared_memory_ro; only assertions that pass on Windows). Fact numbers refer to
//! docs/semantics.md §19; [inferred] marks a behaviour no Windows test checks directly.

use crate::support::*;
use sim_core::prelude::*;
use sim_core::report::LimitKind;
use std::cell::Cell;
use std::rc::Rc;

const NAME: &str = "Wine Test Mapping";
const GRAN: usize = 0x1_0000;

/// CreateFileMapping of a pagefile-backed section; asserts success.
async fn section(ctx: &ThreadCtx, protect: u32, size: u32, name: Option<&str>) -> HANDLE {
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, protect, 0, size, name).await;
    assert!(!h.is_null(), "CreateFileMapping failed: {:?}", ctx.get_last_error());
    h
}

/// MapViewOfFile that must succeed.
async fn map(ctx: &ThreadCtx, h: HANDLE, access: u32, bytes: usize) -> usize {
    let p = ctx.map_view_of_file(h, access, 0, 0, bytes).await;
    assert_ne!(p, 0, "MapViewOfFile failed: {:?}", ctx.get_last_error());
    p
}

/// CreateFileMapping that must fail: returns its error.
async fn create_error(ctx: &ThreadCtx, protect: u32, high: u32, low: u32, name: Option<&str>) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, protect, high, low, name).await;
    assert!(h.is_null(), "CreateFileMapping(0x{protect:x}, {high}:{low}) succeeded");
    ctx.get_last_error()
}

/// MapViewOfFile(Ex) that must fail: returns its error.
async fn map_error(ctx: &ThreadCtx, h: HANDLE, access: u32, offset: u32, bytes: usize, base: usize) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let p = ctx.map_view_of_file_ex(h, access, 0, offset, bytes, base).await;
    assert_eq!(p, 0, "MapViewOfFileEx(access 0x{access:x}, offset 0x{offset:x}, {bytes}, 0x{base:x}) succeeded");
    ctx.get_last_error()
}

/// Starts `image` with no handles inherited; returns its process handle.
async fn start(ctx: &ThreadCtx, image: &str) -> HANDLE {
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    assert_eq!(ctx.create_process(None, Some(image), None, None, false, 0, &si, &mut pi).await, TRUE);
    assert_eq!(ctx.close_handle(pi.hThread).await, TRUE);
    pi.hProcess
}

fn run_progs(config: Config, setup: impl FnOnce(&mut Sim)) -> RunReport {
    let mut sim = Sim::new(config);
    setup(&mut sim);
    sim.run("parent.exe")
}

#[track_caller]
fn check_progs(setup: impl FnOnce(&mut Sim)) {
    let r = run_progs(Config::round_robin(), setup);
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert!(exit_codes.iter().all(|(_, _, c)| *c == 0), "exit codes {exit_codes:?}\n{}", r.trace_text());
    }
}

// ----- CreateFileMapping / OpenFileMapping ---------------------------------------------

/// §19.1: a fresh named creation sets the last error to 0 (test_CreateFileMapping).
#[test]
fn fresh_creation_clears_the_last_error() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        let h = section(&ctx, SEC_COMMIT | PAGE_READWRITE, 0x1000, Some(NAME)).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
        ctx.set_last_error(SENTINEL);
        let anon = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS);
        assert_eq!(ctx.close_handle(anon).await, TRUE);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        0
    });
}

/// §19.2: creating an existing name returns a handle to the same section with
/// ERROR_ALREADY_EXISTS; the section keeps its size (test_CreateFileMapping; MS doc).
#[test]
fn creating_an_existing_name_opens_it() {
    check(|ctx| async move {
        let h1 = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
        ctx.set_last_error(SENTINEL);
        let h2 = section(&ctx, PAGE_READWRITE, 0x20000, Some(NAME)).await;
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_ne!(h1, h2);
        let a = map(&ctx, h1, FILE_MAP_WRITE, 0).await;
        let b = map(&ctx, h2, FILE_MAP_READ, 0).await;
        ctx.write_u32(a + 16, 0x1a2b_3c4d).await;
        assert_eq!(ctx.read_u32(b + 16).await, 0x1a2b_3c4d, "the same section");
        // Its size is still one page: a view of two pages is too big.
        assert_eq!(map_error(&ctx, h2, FILE_MAP_READ, 0, 0x2000, 0).await, ERROR_ACCESS_DENIED);
        0
    });
}

/// §19.2: the handle CreateFileMapping returns for an existing name has the access the
/// protection passed this time implies: PAGE_READONLY gives no map-write right.
#[test]
fn an_existing_name_opened_read_only_cannot_map_for_writing() {
    check(|ctx| async move {
        let _rw = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
        let ro = section(&ctx, PAGE_READONLY, 0x1000, Some(NAME)).await;
        assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
        assert_eq!(map_error(&ctx, ro, FILE_MAP_WRITE, 0, 0, 0).await, ERROR_ACCESS_DENIED);
        map(&ctx, ro, FILE_MAP_READ, 0).await;
        0
    });
}

/// §19.3: section names are case-sensitive (test_CreateFileMapping).
#[test]
fn names_are_case_sensitive() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
        ctx.set_last_error(SENTINEL);
        let other = section(&ctx, PAGE_READWRITE, 0x1000, Some("WINE TEST MAPPING")).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS, "a new object");
        assert_eq!(ctx.close_handle(other).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_file_mapping(FILE_MAP_ALL_ACCESS, false, Some("WINE TEST MAPPING")).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        assert_eq!(ctx.close_handle(h).await, TRUE);
        0
    });
}

/// §19.4: OpenFileMapping of a missing name fails with ERROR_FILE_NOT_FOUND
/// (test_MapViewOfFile); an open name opens the same section with the access asked for;
/// access 0 is ERROR_ACCESS_DENIED [inferred].
#[test]
fn open_file_mapping() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_file_mapping(FILE_MAP_READ, false, Some("no such name")).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        let h = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
        let w = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.write_u8(w, 7).await;
        ctx.set_last_error(SENTINEL);
        let ro = ctx.open_file_mapping(FILE_MAP_READ, false, Some(NAME)).await;
        assert!(!ro.is_null());
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL), "success leaves the last error alone");
        let r = map(&ctx, ro, FILE_MAP_READ, 0).await;
        assert_eq!(ctx.read_u8(r).await, 7);
        assert_eq!(map_error(&ctx, ro, FILE_MAP_WRITE, 0, 0, 0).await, ERROR_ACCESS_DENIED);
        // FILE_MAP_COPY asks for read access: a copy-on-write view works [inferred].
        let cow = ctx.open_file_mapping(FILE_MAP_COPY, false, Some(NAME)).await;
        assert!(!cow.is_null());
        map(&ctx, cow, FILE_MAP_COPY, 0).await;
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_file_mapping(0, false, Some(NAME)).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_ACCESS_DENIED);
        0
    });
}

/// §19.5: a name held by another type (an event) fails CreateFileMapping and
/// OpenFileMapping with ERROR_INVALID_HANDLE, and the other way round (MS doc lpName;
/// ntdll om.c STATUS_OBJECT_TYPE_MISMATCH).
#[test]
fn a_name_held_by_another_type() {
    check(|ctx| async move {
        let ev = ctx.create_event(None, true, false, Some(NAME)).await;
        assert!(!ev.is_null());
        assert_eq!(create_error(&ctx, PAGE_READWRITE, 0, 0x1000, Some(NAME)).await, ERROR_INVALID_HANDLE);
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_file_mapping(FILE_MAP_READ, false, Some(NAME)).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let _s = section(&ctx, PAGE_READWRITE, 0x1000, Some("a section")).await;
        ctx.set_last_error(SENTINEL);
        assert!(ctx.create_event(None, true, false, Some("a section")).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

/// §19.6: a pagefile-backed section of size 0 is ERROR_INVALID_PARAMETER (MS doc; Wine's
/// implementation); one larger than any address space is ERROR_NOT_ENOUGH_MEMORY
/// (STATUS_SECTION_TOO_BIG) [inferred]. Neither panics.
#[test]
fn size_zero_and_huge_sizes() {
    check(|ctx| async move {
        assert_eq!(create_error(&ctx, PAGE_READWRITE, 0, 0, None).await, ERROR_INVALID_PARAMETER);
        assert_eq!(create_error(&ctx, PAGE_READWRITE, 0, 0, Some(NAME)).await, ERROR_INVALID_PARAMETER);
        assert_eq!(create_error(&ctx, PAGE_READWRITE, 0x8000_0000, 0, None).await, ERROR_NOT_ENOUGH_MEMORY);
        assert_eq!(create_error(&ctx, PAGE_READWRITE, u32::MAX, u32::MAX, None).await, ERROR_NOT_ENOUGH_MEMORY);
        // 1 TiB is a valid section that costs nothing until written.
        let big = section_hl(&ctx, PAGE_READWRITE, 0x100, 0).await;
        assert_eq!(ctx.close_handle(big).await, TRUE);
        0
    });
}

async fn section_hl(ctx: &ThreadCtx, protect: u32, high: u32, low: u32) -> HANDLE {
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, protect, high, low, None).await;
    assert!(!h.is_null(), "CreateFileMapping failed: {:?}", ctx.get_last_error());
    h
}

/// §19.7: the protections CreateFileMapping accepts; 0, PAGE_NOACCESS, PAGE_EXECUTE and
/// combinations of two base protections are ERROR_INVALID_PARAMETER
/// (test_CreateFileMapping_protection).
#[test]
fn protections() {
    check(|ctx| async move {
        for p in [
            PAGE_READONLY,
            PAGE_READWRITE,
            PAGE_WRITECOPY,
            PAGE_EXECUTE_READ,
            PAGE_EXECUTE_READWRITE,
            PAGE_EXECUTE_WRITECOPY,
        ] {
            ctx.set_last_error(SENTINEL);
            let h = section(&ctx, p, 0x1000, None).await;
            assert_eq!(ctx.get_last_error(), ERROR_SUCCESS, "protection 0x{p:x}");
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        for p in [0, PAGE_NOACCESS, PAGE_EXECUTE, PAGE_READONLY | PAGE_READWRITE, PAGE_READWRITE | PAGE_GUARD, 0xFF] {
            assert_eq!(create_error(&ctx, p, 0, 0x1000, None).await, ERROR_INVALID_PARAMETER, "protection 0x{p:x}");
        }
        0
    });
}

/// §19.8: SEC_* attribute combinations (test_CreateFileMapping, sec_flag_tests).
#[test]
fn sec_flags() {
    check(|ctx| async move {
        for f in [
            0,
            SEC_COMMIT,
            SEC_RESERVE,
            SEC_RESERVE | SEC_NOCACHE,
            SEC_COMMIT | SEC_NOCACHE,
            SEC_COMMIT | SEC_WRITECOMBINE,
        ] {
            let h = section(&ctx, f | PAGE_READWRITE, 0x1000, None).await;
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        for f in [
            SEC_RESERVE | SEC_COMMIT,
            SEC_NOCACHE,
            SEC_WRITECOMBINE,
            SEC_LARGE_PAGES,
            SEC_LARGE_PAGES | SEC_RESERVE,
            SEC_IMAGE,
            SEC_FILE,
            SEC_FILE | SEC_COMMIT,
            SEC_IMAGE | SEC_RESERVE,
            SEC_IMAGE | SEC_COMMIT,
        ] {
            assert_eq!(
                create_error(&ctx, f | PAGE_READWRITE, 0, 0x1000, None).await,
                ERROR_INVALID_PARAMETER,
                "0x{f:x}"
            );
        }
        0
    });
}

/// §19.9: a pagefile-backed section's size is rounded up to whole pages and its pages
/// start zeroed (test_MapViewOfFile: a 4090-byte mapping maps 4096 bytes;
/// test_shared_memory_ro reads 0).
#[test]
fn sizes_round_to_pages_and_memory_starts_zeroed() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 4090, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        assert_eq!(ctx.read_u64(p + 4088).await, 0, "the last bytes of the page are mapped");
        ctx.write_u32(p + 4092, 0xffff_ffff).await;
        assert_eq!(ctx.read_u32(p + 4092).await, 0xffff_ffff);
        // And 4096 bytes can be asked for explicitly.
        map(&ctx, h, FILE_MAP_READ, 4096).await;
        0
    });
}

// ----- MapViewOfFile(Ex) -----------------------------------------------------------------

/// §19.10 and §19.23: FILE_MAP_READ gives a read-only view: writing through it is an
/// access violation (write = true) at the written address (test_mapping; MS doc
/// MapViewOfFile, EXCEPTION_RECORD).
#[test]
fn writing_through_a_read_only_view_is_an_access_violation() {
    let addr = Rc::new(Cell::new(0usize));
    let a2 = addr.clone();
    let r = run_main(move |ctx| {
        let a2 = a2.clone();
        async move {
            let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
            let p = map(&ctx, h, FILE_MAP_READ, 0).await;
            assert_eq!(ctx.read_u32(p + 8).await, 0);
            a2.set(p + 8);
            ctx.write_u32(p + 8, 1).await;
            unreachable!("the write raised an exception");
        }
    });
    match &r.outcome {
        Outcome::AccessViolation { address, write, call, .. } => {
            assert_eq!(*address, addr.get() as u64);
            assert!(*write);
            assert!(call.contains("WriteMemory"), "{call}");
        }
        other => panic!("expected an access violation, got {other:?}"),
    }
    assert!(r.summary().contains("0xC0000005"), "{}", r.summary());
    assert_eq!(r.outcome.kind(), "access-violation");
}

/// §19.10 and §19.23: a view mapped with access 0 is PAGE_NOACCESS: reading it faults
/// (write = false); so does reading an address no view maps (reactos
/// Test_PageFileSection; MS doc EXCEPTION_RECORD).
#[test]
fn reading_a_no_access_view_or_an_unmapped_address_is_an_access_violation() {
    let r = run_main(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, 0, 0).await;
        let _ = ctx.read_u8(p).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: false, .. }), "{:?}", r.outcome);
    let r = run_main(|ctx| async move {
        let _ = ctx.read_u32(0xdead_beef).await;
        0
    });
    match r.outcome {
        Outcome::AccessViolation { address, write: false, .. } => assert_eq!(address, 0xdead_beef),
        other => panic!("{other:?}"),
    }
    // A read that starts in a view and runs past its end faults at the first unmapped byte.
    let r = run_main(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_READ, 0).await;
        let mut buf = [0u8; 16];
        ctx.read_memory(p + 0x1000 - 8, &mut buf).await;
        0
    });
    match r.outcome {
        Outcome::AccessViolation { address, .. } => assert_eq!(address % 0x1000, 0, "{address:#x}"),
        other => panic!("{other:?}"),
    }
}

/// §19.8 and §19.23: a SEC_RESERVE section's pages are not committed, and nothing in
/// winsim commits them (VirtualAlloc is not modelled): touching its view faults
/// (test_MapViewOfFile, reactos Test_PageFileSection).
#[test]
fn touching_a_sec_reserve_view_is_an_access_violation() {
    let r = run_main(|ctx| async move {
        let h = section(&ctx, SEC_RESERVE | PAGE_READWRITE, 0x10000, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.write_u8(p, 1).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: true, .. }), "{:?}", r.outcome);
}

/// §19.11: write access that the section's protection forbids (PAGE_READONLY,
/// PAGE_WRITECOPY) is ERROR_ACCESS_DENIED, while read and copy views work; execute access
/// needs an executable protection (test_MapViewOfFile, test_mapping).
#[test]
fn access_the_protection_forbids() {
    check(|ctx| async move {
        for p in [PAGE_READONLY, PAGE_WRITECOPY] {
            let h = section(&ctx, p, 0x1000, None).await;
            assert_eq!(map_error(&ctx, h, FILE_MAP_WRITE, 0, 0, 0).await, ERROR_ACCESS_DENIED);
            assert_eq!(map_error(&ctx, h, FILE_MAP_ALL_ACCESS, 0, 0, 0).await, ERROR_ACCESS_DENIED);
            assert_eq!(map_error(&ctx, h, FILE_MAP_READ | FILE_MAP_EXECUTE, 0, 0, 0).await, ERROR_ACCESS_DENIED);
            map(&ctx, h, FILE_MAP_READ, 0).await;
            map(&ctx, h, FILE_MAP_COPY, 0).await;
        }
        let h = section(&ctx, PAGE_EXECUTE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE | FILE_MAP_EXECUTE, 0).await;
        ctx.write_u8(p, 0xc3).await;
        0
    });
}

/// §19.11: access the handle lacks is ERROR_ACCESS_DENIED; a handle opened with
/// FILE_MAP_WRITE alone maps for writing but not for reading (test_MapViewOfFile,
/// DuplicateHandle and OpenFileMappingA cases).
#[test]
fn access_the_handle_lacks() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
        let me = ctx.get_current_process();
        let mut ro = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, h, me, &mut ro, FILE_MAP_READ, false, 0).await, TRUE);
        assert_eq!(map_error(&ctx, ro, FILE_MAP_WRITE, 0, 0, 0).await, ERROR_ACCESS_DENIED);
        map(&ctx, ro, FILE_MAP_READ, 0).await;
        let mut none = HANDLE::NULL;
        assert_eq!(ctx.duplicate_handle(me, h, me, &mut none, 0, false, 0).await, TRUE);
        assert_eq!(map_error(&ctx, none, 0, 0, 0, 0).await, ERROR_ACCESS_DENIED);
        let wo = ctx.open_file_mapping(FILE_MAP_WRITE, false, Some(NAME)).await;
        assert!(!wo.is_null());
        assert_eq!(map_error(&ctx, wo, FILE_MAP_READ, 0, 0, 0).await, ERROR_ACCESS_DENIED);
        map(&ctx, wo, FILE_MAP_WRITE, 0).await;
        // Not a section at all.
        let ev = ctx.create_event(None, true, false, None).await;
        assert_eq!(map_error(&ctx, ev, FILE_MAP_READ, 0, 0, 0).await, ERROR_INVALID_HANDLE);
        assert_eq!(map_error(&ctx, HANDLE(0x1234), FILE_MAP_READ, 0, 0, 0).await, ERROR_INVALID_HANDLE);
        0
    });
}

/// §19.12: a view's offset must be a multiple of the 64 KiB allocation granularity:
/// ERROR_MAPPED_ALIGNMENT otherwise, page-aligned or not (ntdll virtual.c
/// test_NtMapViewOfSection; MS doc dwFileOffsetLow).
#[test]
fn offsets_must_be_allocation_aligned() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x30000, None).await;
        for off in [1u32, 0x1000, 0x8000, 0x10001] {
            assert_eq!(map_error(&ctx, h, FILE_MAP_READ, off, 0, 0).await, ERROR_MAPPED_ALIGNMENT, "offset {off:#x}");
        }
        let w = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.write_u32(w + 0x10000, 0x55aa).await;
        let p = ctx.map_view_of_file(h, FILE_MAP_READ, 0, 0x10000, 0).await;
        assert_ne!(p, 0);
        assert_eq!(ctx.read_u32(p).await, 0x55aa, "the view starts at its offset");
        0
    });
}

/// §19.13: 0 bytes maps from the offset to the end of the section (test_MapViewOfFile).
#[test]
fn zero_bytes_maps_to_the_end() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x24000, None).await;
        let p = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0x20000, 0).await;
        assert_ne!(p, 0);
        ctx.write_u32(p + 0x3ffc, 9).await;
        assert_eq!(ctx.read_u32(p + 0x3ffc).await, 9, "0x4000 bytes mapped");
        0
    });
}

/// §19.14: a view larger than the section from its offset, or an offset at or past its
/// end, is ERROR_ACCESS_DENIED (STATUS_INVALID_VIEW_SIZE) [inferred].
#[test]
fn views_past_the_end() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x20000, None).await;
        map(&ctx, h, FILE_MAP_READ, 0x20000).await;
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, 0x20001, 0).await, ERROR_ACCESS_DENIED);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0x10000, 0x10001, 0).await, ERROR_ACCESS_DENIED);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0x20000, 0, 0).await, ERROR_ACCESS_DENIED);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0x30000, 1, 0).await, ERROR_ACCESS_DENIED);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, usize::MAX, 0).await, ERROR_ACCESS_DENIED);
        0
    });
}

/// §19.15: two views of one section get distinct 64 KiB-aligned addresses;
/// MapViewOfFileEx at a taken address is ERROR_INVALID_ADDRESS, at an unaligned one
/// ERROR_MAPPED_ALIGNMENT, at a free aligned one succeeds there (test_MapViewOfFile,
/// test_NtMapViewOfSection).
#[test]
fn view_addresses() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let a = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        let b = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        assert_ne!(a, b);
        assert_eq!(a % GRAN, 0);
        assert_eq!(b % GRAN, 0);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, 0, a).await, ERROR_INVALID_ADDRESS);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, 0, a + 42).await, ERROR_MAPPED_ALIGNMENT);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, 0, a + 0x1000).await, ERROR_MAPPED_ALIGNMENT);
        let want = 0x5000_0000usize;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.map_view_of_file_ex(h, FILE_MAP_READ, 0, 0, 0, want).await, want);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL));
        ctx.write_u16(a + 2, 0xbeef).await;
        assert_eq!(ctx.read_u16(want + 2).await, 0xbeef);
        assert_eq!(map_error(&ctx, h, FILE_MAP_READ, 0, 0, 0x7FFF_FFFF_0000).await, ERROR_INVALID_ADDRESS);
        0
    });
}

// ----- UnmapViewOfFile, lifetime ---------------------------------------------------------

/// §19.16: UnmapViewOfFile of an address no view contains, or of a view already unmapped,
/// is ERROR_INVALID_ADDRESS (test_MapViewOfFile).
#[test]
fn unmapping_a_non_view() {
    check(|ctx| async move {
        for bad in [0usize, 0xdead_beef, 0x1000_0000] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.unmap_view_of_file(bad).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_ADDRESS);
        }
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_READ, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.unmap_view_of_file(p).await, TRUE);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL));
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.unmap_view_of_file(p).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_ADDRESS);
        0
    });
}

/// §19.17: any address inside a view unmaps the whole view (test_MapViewOfFile); the
/// address then faults.
#[test]
fn any_address_inside_unmaps_the_view() {
    let r = run_main(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 12288, None).await;
        for off in [100usize, 4096, 4196] {
            let p = map(&ctx, h, FILE_MAP_READ, 0).await;
            assert_eq!(ctx.unmap_view_of_file(p + off).await, TRUE);
        }
        let p = map(&ctx, h, FILE_MAP_READ, 0).await;
        assert_eq!(ctx.unmap_view_of_file(p + 5000).await, TRUE);
        let _ = ctx.read_u8(p).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: false, .. }), "{:?}", r.outcome);
}

/// §19.18: a view keeps its section alive after every handle is closed, but the name goes
/// with the last handle: OpenFileMapping then fails with ERROR_FILE_NOT_FOUND and
/// CreateFileMapping makes a new, unrelated section (test_MapViewOfFile).
#[test]
fn a_view_keeps_the_section_but_not_its_name() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x100000, Some(NAME)).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        let h2 = ctx.open_file_mapping(FILE_MAP_READ, false, Some(NAME)).await;
        assert!(!h2.is_null());
        assert_eq!(ctx.close_handle(h).await, TRUE);
        assert_eq!(ctx.close_handle(h2).await, TRUE);
        ctx.write_u32(p + 0x80000, 42).await;
        assert_eq!(ctx.read_u32(p + 0x80000).await, 42, "still readable and writable");
        ctx.set_last_error(SENTINEL);
        assert!(ctx.open_file_mapping(FILE_MAP_READ, false, Some(NAME)).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
        ctx.set_last_error(SENTINEL);
        let fresh = section(&ctx, PAGE_READWRITE, 0x100000, Some(NAME)).await;
        assert_eq!(ctx.get_last_error(), ERROR_SUCCESS, "a new section, not ERROR_ALREADY_EXISTS");
        let q = map(&ctx, fresh, FILE_MAP_READ, 0).await;
        assert_eq!(ctx.read_u32(q + 0x80000).await, 0, "unrelated to the old one");
        assert_eq!(ctx.unmap_view_of_file(p).await, TRUE);
        0
    });
}

/// §19.19: a process's views go when it exits: a section only a child's view kept is
/// destroyed with it, and its name (held by the parent) still names a live section only
/// while the parent's handle lives [inferred: the address space goes with the process].
#[test]
fn process_exit_unmaps_its_views() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let h = ctx.open_file_mapping(FILE_MAP_WRITE, false, Some(NAME)).await;
            assert!(!h.is_null());
            let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
            assert_eq!(ctx.close_handle(h).await, TRUE);
            ctx.write_u32(p, 0xc0ffee).await;
            // Exits without unmapping.
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let h = section(&ctx, PAGE_READWRITE, 0x1000, Some(NAME)).await;
            let child = start(&ctx, "child.exe").await;
            assert_eq!(ctx.wait_for_single_object(child, INFINITE).await, WAIT_OBJECT_0);
            let p = map(&ctx, h, FILE_MAP_READ, 0).await;
            assert_eq!(ctx.read_u32(p).await, 0xc0ffee, "the child's write is in the section");
            0
        });
    });
    // The kernel's invariants (on in tests) check that no view outlives its process and
    // that every section reference is accounted for at every step.
}

// ----- sparse sections and the section-bytes cap -----------------------------------------

/// §19.20 (winsim): a section's pages exist once written: a 1 GiB section with one page
/// written fits under a cap of a few pages; writing more pages than the cap allows ends
/// the run with `LimitExceeded(SectionBytes)`, under both limit actions.
#[test]
fn sparse_sections_and_the_section_bytes_cap() {
    let config = Config { section_bytes_max: 4 * 4096, ..Config::round_robin() };
    let r = run_with(config.clone(), |ctx| async move {
        let h = section_hl(&ctx, PAGE_READWRITE, 0, 0x4000_0000).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.write_u64(p + 0x3000_0000, 7).await;
        assert_eq!(ctx.read_u64(p + 0x3000_0000).await, 7);
        assert_eq!(ctx.read_u64(p + 0x2000_0000).await, 0, "reading materialises nothing");
        // Three more pages fit; rewriting a page costs nothing.
        for i in 1..4 {
            ctx.write_u8(p + i * 4096, 1).await;
            ctx.write_u8(p + i * 4096 + 1, 1).await;
        }
        0
    });
    assert_completed(&r);
    for action in [LimitAction::EndRun, LimitAction::FailCall] {
        let reached = Rc::new(Cell::new(0));
        let r2 = reached.clone();
        let config = Config { limit_action: action, ..config.clone() };
        let r = run_with(config, move |ctx| {
            let r2 = r2.clone();
            async move {
                let h = section_hl(&ctx, PAGE_READWRITE, 0, 0x4000_0000).await;
                let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
                for i in 0..5 {
                    r2.set(i);
                    ctx.write_u8(p + i * 0x100_0000, 1).await;
                }
                0
            }
        });
        assert!(
            matches!(r.outcome, Outcome::LimitExceeded { limit: LimitKind::SectionBytes, .. }),
            "{action:?}: {:?}",
            r.outcome
        );
        assert_eq!(reached.get(), 4, "the fifth page reaches the cap");
    }
}

/// §19.20 (winsim): a copy-on-write view's private pages count toward the cap and are
/// freed with the view; a destroyed section frees its pages.
#[test]
fn private_pages_are_freed_with_their_view() {
    let config = Config { section_bytes_max: 2 * 4096, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        for _ in 0..10 {
            let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
            let w = map(&ctx, h, FILE_MAP_WRITE, 0).await;
            ctx.write_u8(w, 1).await;
            let c = map(&ctx, h, FILE_MAP_COPY, 0).await;
            ctx.write_u8(c, 2).await;
            assert_eq!(ctx.unmap_view_of_file(c).await, TRUE);
            assert_eq!(ctx.unmap_view_of_file(w).await, TRUE);
            assert_eq!(ctx.close_handle(h).await, TRUE);
        }
        0
    });
    assert_completed(&r);
}

// ----- coherence, copy-on-write ----------------------------------------------------------

/// §19.21: views of one section are coherent within a process and across processes: a
/// child opening the name (ERROR_ALREADY_EXISTS) reads the parent's write and the parent
/// reads the child's (test_shared_memory).
#[test]
fn views_are_coherent_across_processes() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            ctx.set_last_error(SENTINEL);
            let h = section(&ctx, PAGE_READWRITE, 4096, Some(NAME)).await;
            assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
            let p = map(&ctx, h, FILE_MAP_READ | FILE_MAP_WRITE, 0).await;
            assert_eq!(ctx.read_u32(p).await, 0x1a2b_3c4d);
            ctx.write_u32(p + 4, 0x5566_7788).await;
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let h = section(&ctx, PAGE_READWRITE, 4096, Some(NAME)).await;
            let p = map(&ctx, h, FILE_MAP_READ | FILE_MAP_WRITE, 0).await;
            let q = map(&ctx, h, FILE_MAP_READ, 0).await;
            ctx.write_u32(p, 0x1a2b_3c4d).await;
            assert_eq!(ctx.read_u32(q).await, 0x1a2b_3c4d, "two views in one process");
            let child = start(&ctx, "child.exe").await;
            assert_eq!(ctx.wait_for_single_object(child, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.read_u32(q + 4).await, 0x5566_7788, "the child's write");
            0
        });
    });
}

/// §19.22: FILE_MAP_COPY alone gives a copy-on-write view whose writes stay private: the
/// parent still reads 0; FILE_MAP_COPY|FILE_MAP_WRITE is a shared writable view
/// (test_shared_memory_ro). A copy-on-write view sees the section's writes to pages it has
/// not written [inferred: its unwritten pages are the section's].
#[test]
fn copy_on_write_views_are_private() {
    check_progs(|sim| {
        sim.program("child.exe", |ctx| async move {
            let h = section(&ctx, PAGE_READWRITE, 4096, Some(NAME)).await;
            assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
            let c = map(&ctx, h, FILE_MAP_COPY, 0).await;
            ctx.write_u32(c, 0xdead_beef).await;
            assert_eq!(ctx.read_u32(c).await, 0xdead_beef, "the writer sees its copy");
            let s = map(&ctx, h, FILE_MAP_COPY | FILE_MAP_WRITE, 0).await;
            ctx.write_u32(s + 8, 0xdead_beef).await;
            0
        });
        sim.program("parent.exe", |ctx| async move {
            let h = section(&ctx, PAGE_READWRITE, 4096, Some(NAME)).await;
            let p = map(&ctx, h, FILE_MAP_READ, 0).await;
            let child = start(&ctx, "child.exe").await;
            assert_eq!(ctx.wait_for_single_object(child, INFINITE).await, WAIT_OBJECT_0);
            assert_eq!(ctx.read_u32(p).await, 0, "the copy stayed private");
            assert_eq!(ctx.read_u32(p + 8).await, 0xdead_beef, "COPY|WRITE is shared");
            // A copy view sees the section through the pages it has not written.
            let w = map(&ctx, h, FILE_MAP_WRITE, 0).await;
            let c = map(&ctx, h, FILE_MAP_COPY, 0).await;
            ctx.write_u32(w + 16, 5).await;
            assert_eq!(ctx.read_u32(c + 16).await, 5);
            ctx.write_u32(c + 20, 6).await;
            ctx.write_u32(w + 16, 7).await;
            assert_eq!(ctx.read_u32(c + 16).await, 5, "a written page is the view's own");
            assert_eq!(ctx.read_u32(w + 20).await, 0);
            0
        });
    });
}

// ----- access granularity, tearing -------------------------------------------------------

/// A writer alternates a 16-byte (or 8-byte) value between all-zeros and all-ones; a
/// reader reads it once. Returns whether the read was torn.
fn torn(seed: u64, width: usize) -> bool {
    let seen = Rc::new(Cell::new(false));
    let s2 = seen.clone();
    // The read races with the writer on purpose (§25): the detector only records it.
    let config = Config { trace: false, race_detection: RaceDetection::Record, ..Config::random(seed) };
    let r = run_with(config, move |ctx| {
        let s2 = s2.clone();
        async move {
            let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
            let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
            let writer = spawn(&ctx, move |ctx| async move {
                for i in 0..4u8 {
                    let v = if i % 2 == 0 { 0xff } else { 0 };
                    ctx.write_memory(p + 64, &vec![v; width]).await;
                }
                0
            })
            .await;
            let mut buf = vec![0u8; width];
            ctx.read_memory(p + 64, &mut buf).await;
            s2.set(buf.iter().any(|&b| b != buf[0]));
            join(&ctx, writer).await;
            0
        }
    });
    assert_completed(&r);
    seen.get()
}

/// §19.24 (winsim; x64 fact): naturally aligned accesses of up to 8 bytes never tear
/// (MS doc "Interlocked Variable Access": simple reads and writes to properly aligned
/// 64-bit variables are atomic on 64-bit Windows); a 16-byte access is two 8-byte parts
/// with a schedule point between them, so some seed tears it, reproducibly.
#[test]
fn wide_accesses_tear_and_aligned_ones_do_not() {
    let tearing: Vec<u64> = (0..64).filter(|&s| torn(s, 16)).collect();
    assert!(!tearing.is_empty(), "no seed in 0..64 tore a 16-byte read");
    assert!(tearing.iter().all(|&s| torn(s, 16)), "the same seed tears again");
    assert!((0..64).all(|s| !torn(s, 8)), "an aligned 8-byte read tore");
}

/// §19.24 (winsim): `memory_atomic_bytes` sets the split: at 16 a 16-byte aligned access
/// is one step; at 1 every byte is its own step (so an 8-byte access can tear).
#[test]
fn the_atomic_access_width_is_configurable() {
    let steps = |atomic: u32| {
        let r = run_with(Config { memory_atomic_bytes: atomic, ..Config::round_robin() }, |ctx| async move {
            let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
            let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
            ctx.write_memory(p, &[1u8; 16]).await;
            0
        });
        assert_completed(&r);
        r.trace.iter().filter(|e| format!("{:?}", e.kind).contains("WriteMemory")).count()
    };
    assert_eq!(steps(8), 2);
    assert_eq!(steps(16), 1);
    assert_eq!(steps(1), 16);
    assert_eq!(steps(0), 16, "0 rounds up to 1");
    assert_eq!(steps(12), 2, "12 rounds down to 8");
}

/// §19.24: a misaligned access is split at natural alignment: an unaligned u32 at +2 is
/// two 2-byte parts; its value reads back whole.
#[test]
fn misaligned_accesses_split() {
    let r = run_main(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x2000, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.write_u32(p + 2, 0x1122_3344).await;
        assert_eq!(ctx.read_u32(p + 2).await, 0x1122_3344);
        // Across a page boundary.
        ctx.write_u64(p + 0xffd, 0x0102_0304_0506_0708).await;
        assert_eq!(ctx.read_u64(p + 0xffd).await, 0x0102_0304_0506_0708);
        assert_eq!(ctx.read_u8(p + 0x1000).await, 0x05);
        0
    });
    assert_completed(&r);
    let writes = r.trace.iter().filter(|e| format!("{:?}", e.kind).contains("WriteMemory")).count();
    assert_eq!(writes, 2 + 4, "u32 at +2: 2+2; u64 at 0xffd: 1+2+4+1");
}

// ----- interlocked -----------------------------------------------------------------------

/// §19.25: the Interlocked functions' results: Increment/Decrement return the new value,
/// the others the initial value; CompareExchange stores only on a match; 32-bit ones wrap
/// (MS doc pages of each function).
#[test]
fn interlocked_results() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        assert_eq!(ctx.interlocked_increment(p).await, 1);
        assert_eq!(ctx.interlocked_increment(p).await, 2);
        assert_eq!(ctx.interlocked_decrement(p).await, 1);
        assert_eq!(ctx.interlocked_exchange_add(p, 10).await, 1);
        assert_eq!(ctx.interlocked_exchange(p, 100).await, 11);
        assert_eq!(ctx.interlocked_compare_exchange(p, 5, 99).await, 100, "no match");
        assert_eq!(ctx.read_u32(p).await, 100);
        assert_eq!(ctx.interlocked_compare_exchange(p, 5, 100).await, 100, "match");
        assert_eq!(ctx.read_u32(p).await, 5);
        assert_eq!(ctx.interlocked_or(p, 0x30).await, 5);
        assert_eq!(ctx.interlocked_and(p, 0x21).await, 0x35);
        assert_eq!(ctx.read_u32(p).await, 0x21);
        assert_eq!(ctx.read_u32(p + 4).await, 0, "a 32-bit operation touches 4 bytes");
        ctx.write_u32(p, i32::MAX as u32).await;
        assert_eq!(ctx.interlocked_increment(p).await, i32::MIN);
        let q = p + 8;
        assert_eq!(ctx.interlocked_increment64(q).await, 1);
        assert_eq!(ctx.interlocked_decrement64(q).await, 0);
        assert_eq!(ctx.interlocked_decrement64(q).await, -1);
        assert_eq!(ctx.read_u64(q).await, u64::MAX);
        assert_eq!(ctx.interlocked_exchange_add64(q, 1 << 40).await, -1);
        assert_eq!(ctx.interlocked_exchange64(q, 7).await, (1 << 40) - 1);
        assert_eq!(ctx.interlocked_compare_exchange64(q, 9, 8).await, 7);
        assert_eq!(ctx.interlocked_compare_exchange64(q, 9, 7).await, 7);
        assert_eq!(ctx.interlocked_or64(q, 1 << 33).await, 9);
        assert_eq!(ctx.interlocked_and64(q, 1 << 33).await, (1 << 33) | 9);
        assert_eq!(ctx.read_u64(q).await, 1 << 33);
        ctx.memory_barrier().await;
        0
    });
}

/// §19.25: an interlocked operation is one step: threads in two processes incrementing a
/// shared counter never lose an update, under any seed, while a plain read-then-write
/// increment loses some under some seed.
#[test]
fn interlocked_increments_are_never_lost() {
    let run = |seed: u64, interlocked: bool| {
        let total = Rc::new(Cell::new(0u32));
        let t2 = total.clone();
        // The plain increments race on purpose (§25): the detector only records it.
        let config = Config { trace: false, race_detection: RaceDetection::Record, ..Config::random(seed) };
        let r = run_with(config, move |ctx| {
            let t2 = t2.clone();
            async move {
                let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
                let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
                let mut threads = Vec::new();
                for _ in 0..3 {
                    threads.push(
                        spawn(&ctx, move |ctx| async move {
                            for _ in 0..5 {
                                if interlocked {
                                    ctx.interlocked_increment(p).await;
                                } else {
                                    let v = ctx.read_u32(p).await;
                                    ctx.write_u32(p, v + 1).await;
                                }
                            }
                            0
                        })
                        .await,
                    );
                }
                for t in threads {
                    join(&ctx, t).await;
                }
                t2.set(ctx.read_u32(p).await);
                0
            }
        });
        assert_completed(&r);
        // §25.2: interlocked operations never race with each other; the plain
        // read-then-write increments of three threads always do.
        assert_eq!(r.races.is_empty(), interlocked, "{:?}", r.races);
        total.get()
    };
    assert!((0..32).all(|s| run(s, true) == 15));
    assert!((0..32).any(|s| run(s, false) < 15), "no seed lost a plain increment");
}

/// §19.23: an interlocked operation on a read-only view is a write access violation.
#[test]
fn interlocked_on_a_read_only_view_faults() {
    let r = run_main(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_READ, 0).await;
        ctx.interlocked_compare_exchange(p, 1, 2).await;
        0
    });
    match &r.outcome {
        Outcome::AccessViolation { write: true, call, .. } => assert!(call.contains("InterlockedCompareExchange")),
        other => panic!("{other:?}"),
    }
}

// ----- FlushViewOfFile, unsupported uses, determinism ------------------------------------

/// §19.26: FlushViewOfFile succeeds inside a view (nothing to write back for the
/// pagefile) and fails with ERROR_INVALID_ADDRESS elsewhere [inferred].
#[test]
fn flush_view_of_file() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_WRITE, 0).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.flush_view_of_file(p + 10, 0).await, TRUE);
        assert_eq!(ctx.get_last_error(), Win32Error(SENTINEL));
        assert_eq!(ctx.flush_view_of_file(0xdead_0000, 0).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_ADDRESS);
        0
    });
}

/// A handle that is no handle, or names an object that is no file, is
/// ERROR_INVALID_HANDLE (STATUS_OBJECT_TYPE_MISMATCH); file-backed sections are in
/// tests/conformance/file.rs (§28.14).
#[test]
fn a_mapping_on_a_handle_that_is_no_file_is_invalid_handle() {
    check(|ctx| async move {
        ctx.set_last_error(SENTINEL);
        assert!(ctx.create_file_mapping(HANDLE(0x4444), None, PAGE_READWRITE, 0, 0x1000, None).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let ev = ctx.create_event(None, true, false, None).await;
        ctx.set_last_error(SENTINEL);
        assert!(ctx.create_file_mapping(ev, None, PAGE_READWRITE, 0, 0x1000, None).await.is_null());
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        0
    });
}

/// Waiting on a section handle fails: a section is not a dispatcher object
/// (ERROR_INVALID_HANDLE) [inferred].
#[test]
fn sections_are_not_waitable() {
    check(|ctx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_for_single_object(h, 0).await, WAIT_FAILED);
        assert_ne!(ctx.get_last_error(), Win32Error(SENTINEL));
        0
    });
}

/// An access violation replays: the recorded decisions reproduce the same outcome.
#[test]
fn an_access_violation_replays() {
    let body = |ctx: ThreadCtx| async move {
        let h = section(&ctx, PAGE_READWRITE, 0x1000, None).await;
        let p = map(&ctx, h, FILE_MAP_READ, 0).await;
        let t = spawn(&ctx, move |ctx| async move {
            ctx.write_u8(p + 1, 1).await;
            0
        })
        .await;
        join(&ctx, t).await;
        0
    };
    let r = run_with(Config::random(3), body);
    assert!(matches!(r.outcome, Outcome::AccessViolation { .. }));
    let again = run_with(r.replay_config(), body);
    assert_eq!(again.outcome, r.outcome);
}
