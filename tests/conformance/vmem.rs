//! Process memory: VirtualAlloc, VirtualFree, VirtualQuery, VirtualProtect on private
//! memory and on views, SEC_RESERVE sections committed through a view, heaps. Named after
//! Wine's kernel32 virtual.c (test_VirtualAlloc, test_MapViewOfFile, test_VirtualProtect)
//! and heap.c suites; only assertions that pass on Windows. Fact numbers refer to
//! docs/semantics.md §29; [inferred] marks a behaviour no Windows test checks directly.

use crate::support::*;
use sim_core::prelude::*;
use std::cell::Cell;
use std::rc::Rc;

const MBI: usize = 48;

async fn query(ctx: &ThreadCtx, addr: usize) -> MEMORY_BASIC_INFORMATION {
    let mut info = MEMORY_BASIC_INFORMATION::default();
    assert_eq!(ctx.virtual_query(addr, &mut info, MBI).await, MBI, "VirtualQuery(0x{addr:x})");
    info
}

async fn alloc_error(ctx: &ThreadCtx, addr: usize, size: usize, ty: u32, protect: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let p = ctx.virtual_alloc(addr, size, ty, protect).await;
    assert_eq!(p, 0, "VirtualAlloc(0x{addr:x}, 0x{size:x}, 0x{ty:x}, 0x{protect:x}) succeeded");
    ctx.get_last_error()
}

async fn free_error(ctx: &ThreadCtx, addr: usize, size: usize, ty: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.virtual_free(addr, size, ty).await, FALSE, "VirtualFree(0x{addr:x}, 0x{size:x}, 0x{ty:x})");
    ctx.get_last_error()
}

async fn protect_error(ctx: &ThreadCtx, addr: usize, size: usize, protect: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let mut old = 0;
    assert_eq!(ctx.virtual_protect(addr, size, protect, &mut old).await, FALSE, "VirtualProtect(0x{protect:x})");
    ctx.get_last_error()
}

// ----- VirtualAlloc / VirtualQuery on private memory ----------------------------------

/// §29.1, §29.4, §29.11: a reservation of 0xFFFC bytes is 64 KiB-aligned, one 0x10000-byte
/// region, MEM_RESERVE with Protect 0, MEM_PRIVATE (virtual.c test_VirtualAlloc).
#[test]
fn a_reservation_is_aligned_reserved_and_private() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS).await;
        assert_ne!(p, 0);
        assert_eq!(p % 0x10000, 0);
        let info = query(&ctx, p).await;
        assert_eq!(info.BaseAddress, p);
        assert_eq!(info.AllocationBase, p);
        assert_eq!(info.AllocationProtect, PAGE_NOACCESS);
        assert_eq!(info.RegionSize, 0x10000);
        assert_eq!(info.State, MEM_RESERVE);
        assert_eq!(info.Protect, 0);
        assert_eq!(info.Type, MEM_PRIVATE);
        assert_eq!(ctx.virtual_free(p, 0, MEM_RELEASE).await, TRUE);
        0
    });
}

/// §29.5, §29.11: committing one page of a reservation splits it into a committed region
/// and a reserved one; the commit returns the page-aligned address (test_VirtualAlloc).
#[test]
fn committing_a_page_splits_the_regions() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x10000, MEM_RESERVE, PAGE_NOACCESS).await;
        assert_eq!(ctx.virtual_alloc(p, 0x1000, MEM_COMMIT, PAGE_NOACCESS).await, p);
        let info = query(&ctx, p).await;
        assert_eq!((info.RegionSize, info.State, info.Protect), (0x1000, MEM_COMMIT, PAGE_NOACCESS));
        assert_eq!(info.AllocationProtect, PAGE_NOACCESS);
        let info = query(&ctx, p + 0x1234).await;
        assert_eq!(info.BaseAddress, p + 0x1000);
        assert_eq!((info.RegionSize, info.State, info.Protect), (0xF000, MEM_RESERVE, 0));
        // An unaligned commit address gives the page's base [inferred from the docs'
        // "rounded down to the next page boundary"].
        assert_eq!(ctx.virtual_alloc(p + 0x2010, 0x10, MEM_COMMIT, PAGE_READWRITE).await, p + 0x2000);
        0
    });
}

/// §29.1, §29.2, §29.3: size 0, no MEM_COMMIT/MEM_RESERVE, protection 0, two base
/// protections, AT_ROUND_TO_PAGE, PAGE_WRITECOPY on private memory are
/// ERROR_INVALID_PARAMETER (test_VirtualAlloc; Microsoft Learn, Memory Protection
/// Constants: PAGE_WRITECOPY "is not supported by the VirtualAlloc" function).
#[test]
fn bad_sizes_flags_and_protections_are_invalid_parameters() {
    check(|ctx| async move {
        assert_eq!(alloc_error(&ctx, 0, 0, MEM_RESERVE, PAGE_NOACCESS).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, 0, PAGE_READWRITE).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_RESERVE, 0).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_COMMIT, 0).await, ERROR_INVALID_PARAMETER);
        let p = ctx.virtual_alloc(0, 0x10000, MEM_RESERVE, PAGE_NOACCESS).await;
        let both = PAGE_READONLY | PAGE_EXECUTE;
        assert_eq!(alloc_error(&ctx, p, 0x1000, MEM_COMMIT, both).await, ERROR_INVALID_PARAMETER);
        let round = MEM_RESERVE | MEM_COMMIT | AT_ROUND_TO_PAGE;
        assert_eq!(alloc_error(&ctx, 0, 0x1000, round, PAGE_READWRITE).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_COMMIT, PAGE_WRITECOPY).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_COMMIT, PAGE_READWRITE | 0x800).await, ERROR_INVALID_PARAMETER);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_RESET | MEM_COMMIT, PAGE_READWRITE).await, ERROR_INVALID_PARAMETER);
        0
    });
}

/// §29.4: reserving over an existing reservation (or a view) is ERROR_INVALID_ADDRESS;
/// committing where nothing is reserved too (Microsoft Learn, VirtualAlloc; test_VirtualAlloc
/// reserves again at a released address).
#[test]
fn reserving_over_an_allocation_or_committing_outside_one_is_invalid_address() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x20000, MEM_RESERVE, PAGE_READWRITE).await;
        assert_eq!(alloc_error(&ctx, p + 0x10000, 0x1000, MEM_RESERVE, PAGE_READWRITE).await, ERROR_INVALID_ADDRESS);
        assert_eq!(alloc_error(&ctx, p + 0x30000, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, ERROR_INVALID_ADDRESS);
        // A commit that runs past the end of its reservation.
        assert_eq!(alloc_error(&ctx, p + 0x1F000, 0x2000, MEM_COMMIT, PAGE_READWRITE).await, ERROR_INVALID_ADDRESS);
        // Released, the address can be reserved again, and a requested address is
        // rounded down to 64 KiB.
        assert_eq!(ctx.virtual_free(p, 0, MEM_RELEASE).await, TRUE);
        assert_eq!(ctx.virtual_alloc(p + 0x1234, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE).await, p);
        0
    });
}

/// §29.5, §29.10: committed memory reads as zeros and is read and written like a view;
/// MEM_COMMIT with no address reserves and commits (test_MapViewOfFile's VirtualAlloc of
/// PAGE_READONLY memory; Microsoft Learn: "memory allocated by this function is
/// automatically initialized to zero").
#[test]
fn committed_memory_is_zero_filled_and_readable_and_writable() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x3000, MEM_COMMIT, PAGE_READWRITE).await;
        assert_ne!(p, 0);
        let info = query(&ctx, p).await;
        assert_eq!((info.RegionSize, info.State, info.Type), (0x3000, MEM_COMMIT, MEM_PRIVATE));
        assert_eq!(ctx.read_u64(p + 0x2FF8).await, 0);
        ctx.write_u64(p + 0xFFC, 0x1122_3344_5566_7788).await;
        assert_eq!(ctx.read_u64(p + 0xFFC).await, 0x1122_3344_5566_7788);
        assert_eq!(ctx.interlocked_increment(p + 0x2000).await, 1);
        assert_eq!(ctx.interlocked_compare_exchange64(p + 0x2008, 5, 0).await, 0);
        assert_eq!(ctx.read_u64(p + 0x2008).await, 5);
        0
    });
}

/// §29.8: VirtualFree's rules: type 0 and MEM_FREE are ERROR_INVALID_PARAMETER, MEM_RELEASE
/// needs size 0 (ERROR_INVALID_PARAMETER) and the base (ERROR_INVALID_ADDRESS);
/// MEM_DECOMMIT of partly reserved pages succeeds (test_VirtualAlloc).
#[test]
fn virtual_free_rules() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x10000, MEM_RESERVE, PAGE_NOACCESS).await;
        assert_eq!(ctx.virtual_alloc(p, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, p);
        assert_eq!(free_error(&ctx, p, 0x10000, 0).await, ERROR_INVALID_PARAMETER);
        assert_eq!(free_error(&ctx, p, 0, MEM_FREE).await, ERROR_INVALID_PARAMETER);
        assert_eq!(ctx.virtual_free(p, 0x10000, MEM_DECOMMIT).await, TRUE);
        assert_eq!(query(&ctx, p).await.State, MEM_RESERVE);
        assert_eq!(free_error(&ctx, p, 1, MEM_RELEASE).await, ERROR_INVALID_PARAMETER);
        assert_eq!(free_error(&ctx, p + 0x1000, 0, MEM_RELEASE).await, ERROR_INVALID_ADDRESS);
        assert_eq!(ctx.virtual_free(p, 0, MEM_RELEASE).await, TRUE);
        assert_eq!(free_error(&ctx, p, 0, MEM_RELEASE).await, ERROR_INVALID_ADDRESS);
        let info = query(&ctx, p).await;
        assert_eq!((info.State, info.AllocationBase, info.Type, info.Protect), (MEM_FREE, 0, 0, PAGE_NOACCESS));
        0
    });
}

/// §29.8, §29.10: a decommitted page faults when touched, and recommitted it reads zeros
/// again (Microsoft Learn, VirtualFree: decommitted pages are released to the reserved
/// state).
#[test]
fn touching_a_decommitted_page_is_an_access_violation() {
    let seen = Rc::new(Cell::new(0usize));
    let s2 = seen.clone();
    let r = run_main(move |ctx| {
        let s2 = s2.clone();
        async move {
            let p = ctx.virtual_alloc(0, 0x2000, MEM_COMMIT, PAGE_READWRITE).await;
            ctx.write_u32(p + 0x1000, 7).await;
            assert_eq!(ctx.virtual_free(p + 0x1000, 0x1000, MEM_DECOMMIT).await, TRUE);
            assert_eq!(ctx.virtual_alloc(p + 0x1000, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, p + 0x1000);
            assert_eq!(ctx.read_u32(p + 0x1000).await, 0, "recommitted pages are zero");
            assert_eq!(ctx.virtual_free(p + 0x1000, 0x1000, MEM_DECOMMIT).await, TRUE);
            s2.set(p + 0x1000);
            let _ = ctx.read_u32(p + 0x1000).await;
            unreachable!("the read faulted");
        }
    });
    match r.outcome {
        Outcome::AccessViolation { address, write: false, .. } => assert_eq!(address as usize, seen.get()),
        o => panic!("{o:?}"),
    }
}

/// §29.11: VirtualQuery of an address past the user address space is
/// ERROR_INVALID_PARAMETER; a buffer shorter than MEMORY_BASIC_INFORMATION is
/// ERROR_BAD_LENGTH (Microsoft Learn, VirtualQuery; NtQueryVirtualMemory's
/// STATUS_INFO_LENGTH_MISMATCH) [inferred for the length].
#[test]
fn virtual_query_errors_and_free_memory() {
    check(|ctx| async move {
        let mut info = MEMORY_BASIC_INFORMATION::default();
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.virtual_query(0xFFFF_FFFF_FFFF_0000, &mut info, MBI).await, 0);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.virtual_query(0x1000_0000, &mut info, 8).await, 0);
        assert_eq!(ctx.get_last_error(), ERROR_BAD_LENGTH);
        // Free memory up to the next allocation (test_MapViewOfFile after UnmapViewOfFile).
        let p = ctx.virtual_alloc(0, 0x1000, MEM_RESERVE, PAGE_READWRITE).await;
        let info = query(&ctx, p - 0x8000 + 0x10).await;
        assert_eq!(info.BaseAddress, p - 0x8000);
        assert_eq!(
            (info.State, info.Protect, info.AllocationBase, info.AllocationProtect),
            (MEM_FREE, PAGE_NOACCESS, 0, 0)
        );
        assert_eq!(info.RegionSize, 0x8000);
        0
    });
}

// ----- VirtualProtect --------------------------------------------------------------

/// §29.13: VirtualProtect on reserved pages is ERROR_INVALID_ADDRESS; on committed pages it
/// returns the old protection, and VirtualQuery reports the new one (test_VirtualAlloc).
#[test]
fn virtual_protect_returns_the_old_protection() {
    check(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS).await;
        assert_eq!(protect_error(&ctx, p, 0xFFFC, PAGE_READONLY).await, ERROR_INVALID_ADDRESS);
        assert_eq!(ctx.virtual_alloc(p, 0x1000, MEM_COMMIT, PAGE_NOACCESS).await, p);
        assert_eq!(protect_error(&ctx, p, 0xFFFC, PAGE_READONLY).await, ERROR_INVALID_ADDRESS);
        let mut old = 0;
        assert_eq!(ctx.virtual_protect(p, 0x1000, PAGE_READONLY, &mut old).await, TRUE);
        assert_eq!(old, PAGE_NOACCESS);
        assert_eq!(ctx.virtual_protect(p, 0x1000, PAGE_READWRITE, &mut old).await, TRUE);
        assert_eq!(old, PAGE_READONLY);
        let info = query(&ctx, p).await;
        assert_eq!((info.RegionSize, info.State, info.Protect), (0x1000, MEM_COMMIT, PAGE_READWRITE));
        ctx.write_u32(p, 0x5555_5555).await;
        assert_eq!(ctx.read_u32(p).await, 0x5555_5555);
        // Bad protections (test_VirtualAlloc "invalid protection values").
        let bad = PAGE_READWRITE | PAGE_EXECUTE_WRITECOPY;
        assert_eq!(protect_error(&ctx, p, 0x1000, bad).await, ERROR_INVALID_PARAMETER);
        assert_eq!(protect_error(&ctx, p, 0x1000, 0).await, ERROR_INVALID_PARAMETER);
        0
    });
}

/// §29.13, §29.10: a store to a page made read-only, or any touch of a PAGE_NOACCESS page,
/// ends the run with an access violation at that page (Microsoft Learn, Memory Protection
/// Constants: "an attempt to write ... results in an access violation").
#[test]
fn writing_a_page_made_read_only_is_an_access_violation() {
    let r = run_main(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x2000, MEM_COMMIT, PAGE_READWRITE).await;
        let mut old = 0;
        assert_eq!(ctx.virtual_protect(p + 0x1000, 1, PAGE_READONLY, &mut old).await, TRUE);
        assert_eq!(old, PAGE_READWRITE);
        ctx.write_u32(p + 0xFF0, 1).await;
        assert_eq!(ctx.read_u32(p + 0x1000).await, 0);
        ctx.write_u32(p + 0x1004, 1).await;
        unreachable!("the write faulted")
    });
    match r.outcome {
        Outcome::AccessViolation { address, write: true, .. } => assert_eq!(address % 0x10000, 0x1004),
        o => panic!("{o:?}"),
    }
    let r = run_main(|ctx| async move {
        let p = ctx.virtual_alloc(0, 0x1000, MEM_COMMIT, PAGE_NOACCESS).await;
        let _ = ctx.read_u8(p + 3).await;
        unreachable!("the read faulted")
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: false, .. }), "{:?}", r.outcome);
}

// ----- views: VirtualQuery, VirtualProtect, SEC_RESERVE ---------------------------

/// §29.12: VirtualQuery on a view: MEM_MAPPED, its base as AllocationBase, the view's
/// protection (test_MapViewOfFile: FILE_MAP_READ gives PAGE_READONLY, FILE_MAP_WRITE
/// PAGE_READWRITE, RegionSize 4096 for a 4090-byte section).
#[test]
fn virtual_query_on_a_view() {
    check(|ctx| async move {
        let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4090, None).await;
        let r = ctx.map_view_of_file(h, FILE_MAP_READ, 0, 0, 0).await;
        let info = query(&ctx, r).await;
        assert_eq!((info.BaseAddress, info.AllocationBase), (r, r));
        assert_eq!((info.AllocationProtect, info.Protect), (PAGE_READONLY, PAGE_READONLY));
        assert_eq!((info.RegionSize, info.State, info.Type), (4096, MEM_COMMIT, MEM_MAPPED));
        let w = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        let info = query(&ctx, w + 100).await;
        assert_eq!((info.BaseAddress, info.AllocationProtect, info.Protect), (w, PAGE_READWRITE, PAGE_READWRITE));
        // A copy-on-write view is PAGE_WRITECOPY until a page is written, then that page
        // is PAGE_READWRITE (Microsoft Learn, Memory Protection Constants, PAGE_WRITECOPY).
        let c = ctx.map_view_of_file(h, FILE_MAP_COPY, 0, 0, 0).await;
        assert_eq!(query(&ctx, c).await.Protect, PAGE_WRITECOPY);
        ctx.write_u8(c, 1).await;
        let info = query(&ctx, c).await;
        assert_eq!((info.Protect, info.AllocationProtect), (PAGE_READWRITE, PAGE_WRITECOPY));
        // After UnmapViewOfFile the range is free (test_MapViewOfFile).
        assert_eq!(ctx.unmap_view_of_file(r).await, TRUE);
        let info = query(&ctx, r).await;
        assert_eq!((info.State, info.AllocationBase, info.Type), (MEM_FREE, 0, 0));
        0
    });
}

/// §29.13: VirtualProtect on a view within its protection works and a write to a page made
/// read-only faults; beyond it (PAGE_READWRITE on a read-only view) is
/// ERROR_INVALID_PARAMETER; on a copy-on-write view PAGE_READWRITE reads back as
/// PAGE_WRITECOPY (virtual.c test_VirtualProtect's table).
#[test]
fn virtual_protect_on_a_view() {
    let r = run_main(|ctx| async move {
        let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 0x2000, None).await;
        let ro = ctx.map_view_of_file(h, FILE_MAP_READ, 0, 0, 0).await;
        assert_eq!(protect_error(&ctx, ro, 0x1000, PAGE_READWRITE).await, ERROR_INVALID_PARAMETER);
        assert_eq!(protect_error(&ctx, ro, 0x1000, PAGE_EXECUTE_READ).await, ERROR_INVALID_PARAMETER);
        let mut old = 0;
        assert_eq!(ctx.virtual_protect(ro, 0x1000, PAGE_NOACCESS, &mut old).await, TRUE);
        assert_eq!(old, PAGE_READONLY);
        let c = ctx.map_view_of_file(h, FILE_MAP_COPY, 0, 0, 0).await;
        assert_eq!(ctx.virtual_protect(c, 0x1000, PAGE_READWRITE, &mut old).await, TRUE);
        assert_eq!(old, PAGE_WRITECOPY);
        assert_eq!(query(&ctx, c).await.Protect, PAGE_WRITECOPY);
        let w = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        assert_eq!(ctx.virtual_protect(w + 0x1000, 0x1000, PAGE_READONLY, &mut old).await, TRUE);
        assert_eq!(old, PAGE_READWRITE);
        let info = query(&ctx, w).await;
        assert_eq!((info.RegionSize, info.Protect), (0x1000, PAGE_READWRITE));
        ctx.write_u8(w + 0xFFF, 1).await;
        ctx.write_u8(w + 0x1000, 1).await;
        unreachable!("the write faulted")
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: true, .. }), "{:?}", r.outcome);
}

/// §29.8: VirtualFree on a view is ERROR_INVALID_PARAMETER (test_MapViewOfFile: MEM_DECOMMIT
/// of a view), and UnmapViewOfFile of private memory is ERROR_INVALID_ADDRESS.
#[test]
fn virtual_free_on_a_view_and_unmap_of_private_memory_fail() {
    check(|ctx| async move {
        let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 0x10000, None).await;
        let v = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        assert_eq!(free_error(&ctx, v, 0x10000, MEM_DECOMMIT).await, ERROR_INVALID_PARAMETER);
        assert_eq!(free_error(&ctx, v, 0, MEM_RELEASE).await, ERROR_INVALID_PARAMETER);
        let p = ctx.virtual_alloc(0, 0x10000, MEM_COMMIT, PAGE_READONLY).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.unmap_view_of_file(p).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_ADDRESS);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.unmap_view_of_file(p + 0x3000).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_ADDRESS);
        assert_eq!(ctx.virtual_free(p, 0, MEM_RELEASE).await, TRUE);
        0
    });
}

/// §29.14: a view of a SEC_RESERVE section is reserved (Protect 0, MEM_MAPPED);
/// VirtualAlloc(MEM_COMMIT, PAGE_READONLY) on one view commits the pages for every view:
/// that view reports PAGE_READONLY, the other its own PAGE_READWRITE, and data written
/// through one is seen through the other (test_MapViewOfFile "read/write mapping with
/// SEC_RESERVE").
#[test]
fn sec_reserve_pages_committed_through_one_view_show_in_every_view() {
    check(|ctx| async move {
        let h =
            ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE | SEC_RESERVE, 0, 0x20000, None).await;
        let a = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        let b = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        assert_ne!(a, b);
        let info = query(&ctx, a).await;
        assert_eq!((info.RegionSize, info.State, info.Protect), (0x20000, MEM_RESERVE, 0));
        assert_eq!((info.AllocationProtect, info.Type), (PAGE_READWRITE, MEM_MAPPED));
        assert_eq!(ctx.virtual_alloc(a, 0x10000, MEM_COMMIT, PAGE_READONLY).await, a);
        let info = query(&ctx, a).await;
        assert_eq!((info.RegionSize, info.State, info.Protect), (0x10000, MEM_COMMIT, PAGE_READONLY));
        assert_eq!(info.AllocationProtect, PAGE_READWRITE);
        let info = query(&ctx, b).await;
        assert_eq!((info.RegionSize, info.State, info.Protect), (0x10000, MEM_COMMIT, PAGE_READWRITE));
        ctx.write_u32(b + 0x40, 0xABCD).await;
        assert_eq!(ctx.read_u32(a + 0x40).await, 0xABCD);
        // MEM_RESET on the view succeeds (test_MapViewOfFile).
        assert_eq!(ctx.virtual_alloc(a, 0x20000, MEM_RESET, PAGE_READONLY).await, a);
        0
    });
}

/// §29.14: an uncommitted page of a SEC_RESERVE view still faults after another page is
/// committed (Microsoft Learn, CreateFileMapping, SEC_RESERVE).
#[test]
fn an_uncommitted_sec_reserve_page_still_faults() {
    let r = run_main(|ctx| async move {
        let h =
            ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE | SEC_RESERVE, 0, 0x20000, None).await;
        let a = ctx.map_view_of_file(h, FILE_MAP_WRITE, 0, 0, 0).await;
        assert_eq!(ctx.virtual_alloc(a, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, a);
        ctx.write_u32(a + 0xFFC, 1).await;
        ctx.write_u32(a + 0x1000, 1).await;
        unreachable!("the write faulted")
    });
    match r.outcome {
        Outcome::AccessViolation { address, write: true, .. } => assert_eq!(address % 0x10000, 0x1000),
        o => panic!("{o:?}"),
    }
}

// ----- limits, process exit ---------------------------------------------------------

/// §29.6: commits past `Config::private_bytes_max` fail with ERROR_COMMITMENT_LIMIT and the
/// run goes on; a huge reservation is ERROR_NOT_ENOUGH_MEMORY [inferred: STATUS_NO_MEMORY].
#[test]
fn commits_past_the_limit_fail_cleanly() {
    let config = Config { private_bytes_max: 0x10000, ..Config::round_robin() };
    let r = run_with(config, |ctx| async move {
        let p = ctx.virtual_alloc(0, 0x10000, MEM_COMMIT, PAGE_READWRITE).await;
        assert_ne!(p, 0);
        assert_eq!(alloc_error(&ctx, 0, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, ERROR_COMMITMENT_LIMIT);
        let q = ctx.virtual_alloc(0, 0x10000, MEM_RESERVE, PAGE_READWRITE).await;
        assert_ne!(q, 0, "reserving is free");
        assert_eq!(alloc_error(&ctx, q, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, ERROR_COMMITMENT_LIMIT);
        assert_eq!(ctx.virtual_free(p, 0x1000, MEM_DECOMMIT).await, TRUE);
        assert_eq!(ctx.virtual_alloc(q, 0x1000, MEM_COMMIT, PAGE_READWRITE).await, q);
        assert_eq!(
            alloc_error(&ctx, 0, usize::MAX - 0x10000, MEM_RESERVE, PAGE_READWRITE).await,
            ERROR_NOT_ENOUGH_MEMORY
        );
        assert_eq!(alloc_error(&ctx, 0, 1 << 50, MEM_RESERVE, PAGE_READWRITE).await, ERROR_NOT_ENOUGH_MEMORY);
        0
    });
    assert_completed(&r);
}

/// §29.9: a process's private memory goes when it exits (its commit is returned): a child
/// that commits to the limit and exits leaves room for the parent.
#[test]
fn process_exit_frees_private_memory() {
    let config = Config { private_bytes_max: 0x20000, ..Config::round_robin() };
    let mut sim = Sim::new(config);
    sim.program("child.exe", |ctx| async move {
        assert_ne!(ctx.virtual_alloc(0, 0x20000, MEM_COMMIT, PAGE_READWRITE).await, 0);
        0
    });
    sim.program("parent.exe", |ctx| async move {
        let mut pi = PROCESS_INFORMATION::default();
        let si = STARTUPINFO::default();
        assert_eq!(ctx.create_process(None, Some("child.exe"), None, None, false, 0, &si, &mut pi).await, TRUE);
        assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
        assert_ne!(ctx.virtual_alloc(0, 0x20000, MEM_COMMIT, PAGE_READWRITE).await, 0);
        0
    });
    let r = sim.run("parent.exe");
    assert_completed(&r);
}

// ----- heaps -----------------------------------------------------------------------

/// §29.15, §29.17: the process heap is one heap; blocks are 16-byte aligned, distinct,
/// readable and writable; HEAP_ZERO_MEMORY zeroes a reused block; HeapSize is the size
/// asked (heap.c test_heap; Microsoft Learn, HeapAlloc: "aligned on 16-byte boundaries"
/// for 64-bit).
#[test]
fn heap_blocks_are_aligned_distinct_and_usable() {
    check(|ctx| async move {
        let heap = ctx.get_process_heap().await;
        assert_ne!(heap, 0);
        assert_eq!(ctx.get_process_heap().await, heap);
        let a = ctx.heap_alloc(heap, 0, 10).await;
        let b = ctx.heap_alloc(heap, 0, 100).await;
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!((a % 16, b % 16), (0, 0));
        assert!(a + 10 <= b || b + 100 <= a, "blocks overlap");
        assert_eq!(ctx.heap_size(heap, 0, a).await, 10);
        assert_eq!(ctx.heap_size(heap, 0, b).await, 100);
        ctx.write_memory(a, &[0xAA; 10]).await;
        assert_eq!(ctx.read_u8(a + 9).await, 0xAA);
        assert_eq!(ctx.heap_free(heap, 0, a).await, TRUE);
        let c = ctx.heap_alloc(heap, HEAP_ZERO_MEMORY, 10).await;
        let mut buf = [1u8; 10];
        ctx.read_memory(c, &mut buf).await;
        assert_eq!(buf, [0u8; 10]);
        let info = query(&ctx, c).await;
        assert_eq!((info.State, info.Type, info.Protect), (MEM_COMMIT, MEM_PRIVATE, PAGE_READWRITE));
        // HeapFree(NULL) succeeds; HeapSize of a pointer that is no block is (SIZE_T)-1.
        assert_eq!(ctx.heap_free(heap, 0, 0).await, TRUE);
        assert_eq!(ctx.heap_size(heap, 0, c + 1).await, usize::MAX);
        0
    });
}

/// §29.18: HeapReAlloc keeps the contents, zeroes what it adds with HEAP_ZERO_MEMORY, and
/// with HEAP_REALLOC_IN_PLACE_ONLY fails (NULL) rather than move (heap.c test_heap).
#[test]
fn heap_re_alloc_keeps_contents_and_honours_in_place_only() {
    check(|ctx| async move {
        let heap = ctx.heap_create(0, 0, 0).await;
        assert_ne!(heap, 0);
        let a = ctx.heap_alloc(heap, 0, 16).await;
        let b = ctx.heap_alloc(heap, 0, 16).await;
        ctx.write_u64(a, 0x0102_0304_0506_0708).await;
        // Growing `a` past `b` cannot be done in place.
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.heap_re_alloc(heap, HEAP_REALLOC_IN_PLACE_ONLY, a, 0x100).await, 0);
        assert_eq!(ctx.get_last_error().0, SENTINEL, "HeapReAlloc does not set the last error");
        let c = ctx.heap_re_alloc(heap, HEAP_ZERO_MEMORY, a, 0x100).await;
        assert_ne!(c, 0);
        assert_ne!(c, a);
        assert_eq!(ctx.read_u64(c).await, 0x0102_0304_0506_0708);
        assert_eq!(ctx.read_u64(c + 0xF8).await, 0);
        assert_eq!(ctx.heap_size(heap, 0, c).await, 0x100);
        // Shrinking is in place.
        assert_eq!(ctx.heap_re_alloc(heap, HEAP_REALLOC_IN_PLACE_ONLY, c, 8).await, c);
        assert_eq!(ctx.heap_free(heap, 0, b).await, TRUE);
        assert_eq!(ctx.heap_destroy(heap).await, TRUE);
        0
    });
}

/// §29.17: a fixed-size heap that is full: HeapAlloc returns NULL without setting the last
/// error; with HEAP_GENERATE_EXCEPTIONS it raises STATUS_NO_MEMORY, which ends the run
/// (Microsoft Learn, HeapAlloc).
#[test]
fn a_full_fixed_heap_fails_or_raises() {
    check(|ctx| async move {
        let heap = ctx.heap_create(0, 0x10000, 0x10000).await;
        assert_ne!(heap, 0);
        assert_ne!(ctx.heap_alloc(heap, 0, 0x8000).await, 0);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.heap_alloc(heap, 0, 0x8000).await, 0);
        assert_eq!(ctx.get_last_error().0, SENTINEL);
        assert_eq!(ctx.heap_alloc(heap, 0, usize::MAX).await, 0);
        0
    });
    let r = run_main(|ctx| async move {
        let heap = ctx.heap_create(HEAP_GENERATE_EXCEPTIONS, 0x10000, 0x10000).await;
        let _ = ctx.heap_alloc(heap, 0, 0x20000).await;
        unreachable!("the exception ended the process")
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(message.contains("STATUS_NO_MEMORY"), "{message}"),
        o => panic!("{o:?}"),
    }
}

/// §29.19: a double free is heap corruption: the run ends with a Failed outcome naming it
/// (Microsoft Learn, HeapFree: freeing a block twice is undefined; Windows 8+ heaps detect
/// it and fail fast with STATUS_HEAP_CORRUPTION).
#[test]
fn a_double_free_ends_the_run_as_heap_corruption() {
    let r = run_main(|ctx| async move {
        let heap = ctx.get_process_heap().await;
        let a = ctx.heap_alloc(heap, 0, 32).await;
        assert_eq!(ctx.heap_free(heap, 0, a).await, TRUE);
        let _ = ctx.heap_free(heap, 0, a).await;
        unreachable!("the heap failed fast")
    });
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(message.contains("heap corruption"), "{message}"),
        o => panic!("{o:?}"),
    }
    // A value that is no heap.
    let r = run_main(|ctx| async move {
        let _ = ctx.heap_alloc(0x1234, 0, 32).await;
        0
    });
    assert!(matches!(r.outcome, Outcome::Failed { .. }), "{:?}", r.outcome);
}

/// §29.16: HeapDestroy of the process heap fails with ERROR_INVALID_HANDLE [inferred:
/// RtlDestroyHeap refuses it]; a destroyed heap's memory is free and faults when touched.
#[test]
fn heap_destroy_frees_the_heap() {
    let r = run_main(|ctx| async move {
        let ph = ctx.get_process_heap().await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.heap_destroy(ph).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_HANDLE);
        let heap = ctx.heap_create(0, 0, 0).await;
        let a = ctx.heap_alloc(heap, 0, 8).await;
        ctx.write_u64(a, 1).await;
        assert_eq!(ctx.heap_destroy(heap).await, TRUE);
        assert_eq!(query(&ctx, a).await.State, MEM_FREE);
        let _ = ctx.read_u64(a).await;
        unreachable!("the read faulted")
    });
    assert!(matches!(r.outcome, Outcome::AccessViolation { write: false, .. }), "{:?}", r.outcome);
}

/// §29.18, §25: a block freed by one thread and allocated by another is not a data race:
/// the heap's lock orders the calls; two threads writing one block without a lock is.
#[test]
fn the_heap_lock_orders_blocks_for_the_race_detector() {
    // Two threads allocate, write and free 64-byte blocks of one heap: first fit hands
    // each the block the other just freed, so without the heap's lock their writes would
    // race. On many schedules, no race is reported.
    for seed in 0..40 {
        let r = run_with(Config::random(seed), |ctx| async move {
            let heap = ctx.get_process_heap().await;
            let worker = move |ctx: ThreadCtx| async move {
                for i in 0..4u64 {
                    let b = ctx.heap_alloc(heap, 0, 64).await;
                    ctx.write_u64(b, i).await;
                    assert_eq!(ctx.heap_free(heap, 0, b).await, TRUE);
                }
                0
            };
            let t = spawn(&ctx, worker).await;
            worker(ctx.clone()).await;
            assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
            0
        });
        assert_completed(&r);
    }
    let r = run_main(|ctx| async move {
        let heap = ctx.get_process_heap().await;
        let a = ctx.heap_alloc(heap, 0, 64).await;
        let t = spawn(&ctx, move |ctx| async move {
            ctx.write_u64(a, 2).await;
            0
        })
        .await;
        ctx.write_u64(a, 1).await;
        assert_eq!(ctx.wait_for_single_object(t, INFINITE).await, WAIT_OBJECT_0);
        0
    });
    assert!(matches!(r.outcome, Outcome::DataRace(_)), "{:?}", r.outcome);
}

// ----- spurious condition-variable wake-ups (§29.20) ---------------------------------

/// A consumer waits on a condition variable for a flag in simulated memory that a producer
/// sets; `while_loop` re-tests the flag after each wake (the documented pattern), otherwise
/// it tests it once. Returns the run.
fn cv_consumer_run(seed: u64, spurious: bool, while_loop: bool, srw: bool) -> RunReport {
    let config = Config { spurious_wakeups: spurious, ..Config::random(seed) };
    run_with(config, move |ctx| async move {
        let flag = ctx.virtual_alloc(0, 0x1000, MEM_COMMIT, PAGE_READWRITE).await;
        let cs = CRITICAL_SECTION::default();
        let srw_lock = SRWLOCK_INIT();
        let cv = CONDITION_VARIABLE_INIT();
        ctx.initialize_critical_section(&cs).await;
        let (cs2, srw2, cv2) = (cs.clone(), srw_lock.clone(), cv.clone());
        let producer = spawn(&ctx, move |ctx| async move {
            if srw {
                ctx.acquire_srw_lock_exclusive(&srw2).await;
                ctx.write_u32(flag, 1).await;
                ctx.release_srw_lock_exclusive(&srw2).await;
            } else {
                ctx.enter_critical_section(&cs2).await;
                ctx.write_u32(flag, 1).await;
                ctx.leave_critical_section(&cs2).await;
            }
            ctx.wake_condition_variable(&cv2).await;
            0
        })
        .await;
        if srw {
            ctx.acquire_srw_lock_exclusive(&srw_lock).await;
        } else {
            ctx.enter_critical_section(&cs).await;
        }
        let mut first = true;
        while ctx.read_u32(flag).await == 0 && (while_loop || first) {
            first = false;
            let ok = if srw {
                ctx.sleep_condition_variable_srw(&cv, &srw_lock, INFINITE, 0).await
            } else {
                ctx.sleep_condition_variable_cs(&cv, &cs, INFINITE).await
            };
            assert_eq!(ok, TRUE, "a wake (spurious or not) returns TRUE");
        }
        assert_eq!(ctx.read_u32(flag).await, 1, "the consumer went on before the flag was set");
        if srw {
            ctx.release_srw_lock_exclusive(&srw_lock).await;
        } else {
            ctx.leave_critical_section(&cs).await;
        }
        join(&ctx, producer).await;
        0
    })
}

/// §29.20, §20.13: with spurious wake-ups on, a waiter that re-tests its condition in a
/// loop survives every seed, with a critical section or an SRW lock (Microsoft Learn,
/// SleepConditionVariableCS: "Condition variables are subject to spurious wakeups ... and
/// stolen wakeups ... you should recheck a predicate (typically in a while loop)").
#[test]
fn a_while_loop_waiter_survives_spurious_wake_ups() {
    for seed in 0..60 {
        for srw in [false, true] {
            let r = cv_consumer_run(seed, true, true, srw);
            assert_completed(&r);
        }
    }
}

/// §29.20: a waiter that tests its condition once (`if`, not `while`) breaks on some seed
/// with spurious wake-ups on: it returns TRUE holding the lock with the flag still 0; the
/// failing run replays from its recorded decisions. With the switch off (the default) it
/// never breaks: waiters wake only when woken.
#[test]
fn an_if_waiter_breaks_on_some_seed_and_only_with_spurious_wake_ups() {
    let broken =
        (0..60).find(|&seed| matches!(cv_consumer_run(seed, true, false, false).outcome, Outcome::Failed { .. }));
    let seed = broken.expect("no seed woke the if-waiter spuriously");
    let r = cv_consumer_run(seed, true, false, false);
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(message.contains("before the flag was set"), "{message}"),
        o => panic!("{o:?}"),
    }
    assert!(r.trace_text().contains("woke spuriously"), "the trace names the spurious wake-up");
    for seed in 0..60 {
        assert_completed(&cv_consumer_run(seed, false, false, false));
        assert_completed(&cv_consumer_run(seed, false, false, true));
    }
}
