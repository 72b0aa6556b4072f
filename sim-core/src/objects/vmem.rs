//! Process memory: VirtualAlloc, VirtualFree, VirtualQuery, VirtualProtect on private
//! memory and on views, SEC_RESERVE sections committed through a view, and heaps
//! (GetProcessHeap, HeapCreate, HeapDestroy, HeapAlloc, HeapFree, HeapReAlloc, HeapSize).
//! Facts in section 29 of docs/semantics.md.
//!
//! Private memory lives in the process's simulated address space beside its views
//! (`AddressSpace::regions`): a reservation is 64 KiB-aligned and a whole number of pages;
//! each of its pages is reserved or committed with a protection. Committed pages read as
//! zeros until written; their bytes are kept in 4 KiB pages made by the first store, as a
//! section's are. Committed bytes are charged to `Kernel::private_bytes`, capped by
//! `Config::private_bytes_max` (VirtualAlloc then fails with ERROR_COMMITMENT_LIMIT).
//!
//! A heap is a list of private regions (segments, committed whole) and a table of live
//! blocks kept by the kernel, not in simulated memory: a first-fit allocator with 16-byte
//! aligned blocks and a 16-byte gap before each, so addresses are deterministic and
//! blocks never touch. Each heap call is one kernel step (the heap's lock).

use super::section::{
    ALLOCATION_GRANULARITY, PAGE_SIZE, Page, USER_SPACE_END, VIEW_BASE_START, View, ViewAccess, round_up,
};
use crate::error::*;
use crate::kernel::request::Value;
use crate::kernel::{CallResult, Kernel, Pid, Tid};
use crate::report::Outcome;
use crate::types::*;
use std::collections::BTreeMap;

/// A reservation of private memory (VirtualAlloc, or a heap segment).
#[derive(Debug)]
pub struct Region {
    /// Its size: a whole number of pages.
    pub size: u64,
    /// The protection it was allocated with (VirtualQuery's AllocationProtect).
    pub alloc_protect: u32,
    /// Committed pages (by page index in the region) and their protection; a page not
    /// listed is reserved. Invariant: their count times the page size is charged to
    /// `Kernel::private_bytes`.
    pub committed: BTreeMap<u64, u32>,
    /// Bytes of committed pages written so far, by page index (a page not here reads as
    /// zeros). Invariant: only committed pages.
    pub data: BTreeMap<u64, Page>,
    /// The heap it is a segment of, if any.
    pub heap: Option<u64>,
}

/// A heap (HeapCreate, or the process heap).
#[derive(Debug)]
pub struct Heap {
    /// HeapCreate's options (HEAP_NO_SERIALIZE, HEAP_GENERATE_EXCEPTIONS, ...).
    pub options: u32,
    /// Its maximum size (0: growable).
    pub maximum: u64,
    /// Its segments: private regions by base, with their size.
    pub segments: Vec<(u64, u64)>,
    /// Live blocks by address: the size asked for.
    pub blocks: BTreeMap<u64, u64>,
}

/// sizeof(MEMORY_BASIC_INFORMATION) on x64.
pub const MEMORY_BASIC_INFORMATION_SIZE: u64 = 48;

/// The gap before each heap block (a header on Windows) and the blocks' alignment.
const HEAP_GRANULE: u64 = 16;
/// A growable heap's segment size (at least; a bigger block gets a segment its size).
const HEAP_SEGMENT: u64 = 0x10_0000;
/// The largest heap request winsim accepts; larger ones fail as Windows' do for want of
/// memory (a block must fit in the address space).
const HEAP_REQUEST_MAX: u64 = 0x7FFF_FFFF_0000;

/// The base protection of a PAGE_* value (its low byte) if it is exactly one of the eight.
fn base_protect(p: u32) -> Option<u32> {
    let b = p & 0xFF;
    matches!(
        b,
        PAGE_NOACCESS
            | PAGE_READONLY
            | PAGE_READWRITE
            | PAGE_WRITECOPY
            | PAGE_EXECUTE
            | PAGE_EXECUTE_READ
            | PAGE_EXECUTE_READWRITE
            | PAGE_EXECUTE_WRITECOPY
    )
    .then_some(b)
}

/// Checks a page protection for VirtualAlloc and VirtualProtect (§29.3): one base
/// protection, optionally PAGE_NOCACHE or PAGE_WRITECOMBINE (not both); PAGE_GUARD is
/// reported separately (not modelled). Err: ERROR_INVALID_PARAMETER.
fn check_page_protect(p: u32) -> Result<u32, Win32Error> {
    let base = base_protect(p).ok_or(ERROR_INVALID_PARAMETER)?;
    let modifiers = p & !0xFF;
    if modifiers & !(PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE) != 0 {
        return Err(ERROR_INVALID_PARAMETER);
    }
    if modifiers & PAGE_NOCACHE != 0 && modifiers & PAGE_WRITECOMBINE != 0 {
        return Err(ERROR_INVALID_PARAMETER);
    }
    if base == PAGE_NOACCESS && modifiers != 0 {
        return Err(ERROR_INVALID_PARAMETER);
    }
    Ok(base)
}

/// Whether a page of protection `p` may be read (or written) (§29.10): PAGE_NOACCESS and
/// PAGE_EXECUTE pages may not be touched, read-only ones not written.
pub(crate) fn protect_allows(p: u32, write: bool) -> bool {
    match p & 0xFF {
        PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY => true,
        PAGE_READONLY | PAGE_EXECUTE_READ => !write,
        _ => false,
    }
}

/// A view's own protection (MapViewOfFile's; VirtualQuery's AllocationProtect, §29.12).
pub(crate) fn view_protect(v: &View) -> u32 {
    match (v.access, v.execute) {
        (ViewAccess::NoAccess, _) => PAGE_NOACCESS,
        (ViewAccess::Read, false) => PAGE_READONLY,
        (ViewAccess::Read, true) => PAGE_EXECUTE_READ,
        (ViewAccess::Write, false) => PAGE_READWRITE,
        (ViewAccess::Write, true) => PAGE_EXECUTE_READWRITE,
        (ViewAccess::Copy, false) => PAGE_WRITECOPY,
        (ViewAccess::Copy, true) => PAGE_EXECUTE_WRITECOPY,
    }
}

/// The protection of page `page` (index in the view) of a view, or None when it is not
/// committed (an uncommitted page of a SEC_RESERVE section, §29.14). A copy-on-write page
/// already copied is PAGE_READWRITE (§29.12).
pub(crate) fn view_page_protect(v: &View, s: &super::section::Section, page: u64) -> Option<u32> {
    let section_page = v.offset / PAGE_SIZE + page;
    if s.reserve && !s.committed.contains(&section_page) {
        return None;
    }
    let p = v.protect.get(&page).copied().unwrap_or_else(|| view_protect(v));
    if v.private.contains_key(&section_page) {
        return Some(match p & 0xFF {
            PAGE_WRITECOPY => (p & !0xFF) | PAGE_READWRITE,
            PAGE_EXECUTE_WRITECOPY => (p & !0xFF) | PAGE_EXECUTE_READWRITE,
            _ => p,
        });
    }
    Some(p)
}

/// The next view page after `i` where a page's attributes may change: where an entry of
/// the view's protections, the section's commits (SEC_RESERVE) or the view's private
/// copies starts or ends.
fn next_change(v: &View, s: &super::section::Section, i: u64) -> Option<u64> {
    let base = v.offset / PAGE_SIZE;
    let mut best: Option<u64> = None;
    let mut consider = |c: Option<u64>| {
        if let Some(c) = c.filter(|&c| c > i) {
            best = Some(best.map_or(c, |b: u64| b.min(c)));
        }
    };
    // A key after i starts an entry; the first key at or after i ends one at key + 1.
    consider(v.protect.range(i + 1..).next().map(|(k, _)| *k));
    consider(v.protect.range(i..).next().map(|(k, _)| k + 1));
    if s.reserve {
        consider(s.committed.range(base + i + 1..).next().map(|k| k - base));
        consider(s.committed.range(base + i..).next().map(|k| k - base + 1));
    }
    consider(v.private.range(base + i + 1..).next().map(|(k, _)| k - base));
    consider(v.private.range(base + i..).next().map(|(k, _)| k - base + 1));
    best
}

/// What a page is, for VirtualQuery: (state, protection) — protection 0 when reserved.
fn page_attrs(p: Option<u32>) -> (u32, u32) {
    match p {
        Some(p) => (MEM_COMMIT, p),
        None => (MEM_RESERVE, 0),
    }
}

impl Kernel {
    /// The base and reservation of `pid`'s private memory containing `addr`.
    pub(crate) fn region_at(&self, pid: Pid, addr: u64) -> Option<(u64, &Region)> {
        let (b, r) = self.process(pid).space.regions.range(..=addr).next_back()?;
        (addr < b + r.size).then_some((*b, r))
    }

    /// Checks private memory from `a` (no view there) up to `end`: returns where the
    /// checked run stops (the end of the region or `end`), or the first address that may
    /// not be touched.
    pub(crate) fn check_private(&self, pid: Pid, a: u64, end: u64, write: bool) -> Result<u64, u64> {
        let Some((b, r)) = self.region_at(pid, a) else { return Err(a) };
        let mut x = a;
        let stop = (b + r.size).min(end);
        while x < stop {
            match r.committed.get(&((x - b) / PAGE_SIZE)) {
                Some(&p) if protect_allows(p, write) => {}
                _ => return Err(x),
            }
            x = ((x / PAGE_SIZE) + 1) * PAGE_SIZE;
        }
        Ok(stop)
    }

    /// Copies private memory at `a` into `out` up to the end of the page; returns the
    /// bytes copied (the range is checked).
    pub(crate) fn load_private(&self, pid: Pid, a: u64, out: &mut [u8]) -> usize {
        let (b, r) = self.region_at(pid, a).expect("checked");
        let (page, in_page) = ((a - b) / PAGE_SIZE, ((a - b) % PAGE_SIZE) as usize);
        let n = out.len().min(PAGE_SIZE as usize - in_page);
        match r.data.get(&page) {
            Some(p) => out[..n].copy_from_slice(&p[in_page..in_page + n]),
            None => out[..n].fill(0),
        }
        n
    }

    /// Copies `data` into private memory at `a` up to the end of the page; returns the
    /// bytes copied (the range is checked and committed, so the page costs nothing new).
    pub(crate) fn store_private(&mut self, pid: Pid, a: u64, data: &[u8]) -> usize {
        let b = self.region_at(pid, a).expect("checked").0;
        let r = self.process_mut(pid).space.regions.get_mut(&b).expect("checked");
        let (page, in_page) = ((a - b) / PAGE_SIZE, ((a - b) % PAGE_SIZE) as usize);
        let n = data.len().min(PAGE_SIZE as usize - in_page);
        let p = r.data.entry(page).or_insert_with(|| vec![0u8; PAGE_SIZE as usize].into_boxed_slice());
        p[in_page..in_page + n].copy_from_slice(&data[..n]);
        n
    }

    /// Finds a free 64 KiB-aligned range of `len` bytes for a new allocation (views and
    /// private memory share the address space, §29.4).
    fn find_free(&mut self, pid: Pid, len: u64) -> Option<u64> {
        let span = round_up(len, ALLOCATION_GRANULARITY)?;
        let mut at = self.process(pid).space.next_base;
        loop {
            let end = at.checked_add(span).filter(|&e| e <= USER_SPACE_END)?;
            match self.first_overlap(pid, at, span) {
                None => break,
                Some(e) => at = round_up(e, ALLOCATION_GRANULARITY).unwrap_or(end),
            }
        }
        self.process_mut(pid).space.next_base = at + span;
        Some(at)
    }

    /// Charges `pages` newly committed pages; false past `Config::private_bytes_max`.
    fn charge(&mut self, pages: u64) -> bool {
        let bytes = pages.saturating_mul(PAGE_SIZE);
        match self.private_bytes.checked_add(bytes) {
            Some(t) if t <= self.config.private_bytes_max => {
                self.private_bytes = t;
                true
            }
            _ => false,
        }
    }

    /// Makes a new reservation at `at` (free) of `size` bytes, committed with `commit`.
    fn new_region(&mut self, pid: Pid, at: u64, size: u64, protect: u32, commit: bool, heap: Option<u64>) {
        let mut committed = BTreeMap::new();
        if commit {
            for i in 0..size / PAGE_SIZE {
                committed.insert(i, protect);
            }
        }
        let r = Region { size, alloc_protect: protect, committed, data: BTreeMap::new(), heap };
        self.process_mut(pid).space.regions.insert(at, r);
    }

    /// VirtualAlloc (§§29.1-29.7, 29.14).
    pub(crate) fn virtual_alloc(
        &mut self,
        pid: Pid,
        _tid: Tid,
        address: u64,
        size: u64,
        ty: u32,
        protect: u32,
    ) -> CallResult {
        if ty & (MEM_WRITE_WATCH | MEM_PHYSICAL | MEM_LARGE_PAGES | MEM_RESET_UNDO) != 0
            && ty
                & !(MEM_COMMIT
                    | MEM_RESERVE
                    | MEM_RESET
                    | MEM_TOP_DOWN
                    | MEM_WRITE_WATCH
                    | MEM_PHYSICAL
                    | MEM_LARGE_PAGES
                    | MEM_RESET_UNDO)
                == 0
        {
            self.unsupported(
                "VirtualAlloc",
                "MEM_WRITE_WATCH, MEM_PHYSICAL, MEM_LARGE_PAGES and MEM_RESET_UNDO are not modelled",
            );
            return Err(ERROR_INVALID_PARAMETER);
        }
        // Only these flags; MEM_RESET alone (§29.2).
        if ty & !(MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_TOP_DOWN) != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let reset = ty & MEM_RESET != 0;
        if reset && ty & (MEM_COMMIT | MEM_RESERVE) != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if !reset && ty & (MEM_COMMIT | MEM_RESERVE) == 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if size == 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if reset {
            return self.virtual_reset(pid, address, size);
        }
        // The protection (§29.3): MEM_RESERVE checks it too; copy-on-write is for views.
        let base = check_page_protect(protect)?;
        if protect & PAGE_GUARD != 0 {
            self.unsupported("VirtualAlloc", "PAGE_GUARD pages are not modelled");
            return Err(ERROR_INVALID_PARAMETER);
        }
        let in_view = address != 0 && self.view_at(pid, address).is_some();
        if matches!(base, PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY) && !in_view {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if ty & MEM_RESERVE != 0 || address == 0 {
            // A new reservation: its base rounded down to 64 KiB, its end up to a page
            // (§29.4). MEM_COMMIT with no address reserves too (§29.5).
            let commit = ty & MEM_COMMIT != 0;
            let at = address / ALLOCATION_GRANULARITY * ALLOCATION_GRANULARITY;
            let Some(end) = address.checked_add(size).and_then(|e| round_up(e, PAGE_SIZE)) else {
                return Err(if address == 0 { ERROR_NOT_ENOUGH_MEMORY } else { ERROR_INVALID_PARAMETER });
            };
            let len = end - at;
            if address == 0 {
                if len > USER_SPACE_END - VIEW_BASE_START {
                    return Err(ERROR_NOT_ENOUGH_MEMORY);
                }
            } else if at < ALLOCATION_GRANULARITY || end > USER_SPACE_END {
                // [inferred] STATUS_INVALID_PARAMETER_2 for a range outside user space.
                return Err(ERROR_INVALID_PARAMETER);
            } else if self.overlaps(pid, at, len) {
                // STATUS_CONFLICTING_ADDRESSES (§29.4).
                return Err(ERROR_INVALID_ADDRESS);
            }
            if commit && !self.charge(len / PAGE_SIZE) {
                return Err(ERROR_COMMITMENT_LIMIT);
            }
            let at = if address == 0 {
                match self.find_free(pid, len) {
                    Some(a) => a,
                    None => {
                        if commit {
                            self.private_bytes -= len;
                        }
                        return Err(ERROR_NOT_ENOUGH_MEMORY);
                    }
                }
            } else {
                at
            };
            self.new_region(pid, at, len, protect, commit, None);
            let what = if commit { "reserves and commits" } else { "reserves" };
            self.note_effect(|_| format!("{what} 0x{at:x}..0x{:x} ({len} bytes)", at + len));
            return Ok(Value::Ptr(at).into());
        }
        // MEM_COMMIT at an address: pages of one existing allocation (§29.5).
        let start = address / PAGE_SIZE * PAGE_SIZE;
        let Some(end) = address.checked_add(size).and_then(|e| round_up(e, PAGE_SIZE)) else {
            return Err(ERROR_INVALID_ADDRESS);
        };
        if in_view {
            return self.commit_view(pid, start, end, protect);
        }
        let Some((b, r)) = self.region_at(pid, start) else { return Err(ERROR_INVALID_ADDRESS) };
        if end > b + r.size {
            return Err(ERROR_INVALID_ADDRESS);
        }
        let (first, last) = ((start - b) / PAGE_SIZE, (end - b) / PAGE_SIZE);
        let new = (last - first) - r.committed.range(first..last).count() as u64;
        if !self.charge(new) {
            return Err(ERROR_COMMITMENT_LIMIT);
        }
        let r = self.process_mut(pid).space.regions.get_mut(&b).expect("found");
        for i in first..last {
            // Newly committed pages are zero; committed ones keep their bytes and take
            // the new protection (§29.5).
            if r.committed.insert(i, protect).is_none() {
                r.data.remove(&i);
            }
        }
        self.note_effect(|_| format!("commits 0x{start:x}..0x{end:x}"));
        Ok(Value::Ptr(start).into())
    }

    /// MEM_RESET: the range must lie in one allocation; the contents may stay (§29.7).
    fn virtual_reset(&mut self, pid: Pid, address: u64, size: u64) -> CallResult {
        let start = address / PAGE_SIZE * PAGE_SIZE;
        let Some(end) = address.checked_add(size).and_then(|e| round_up(e, PAGE_SIZE)) else {
            return Err(ERROR_INVALID_ADDRESS);
        };
        let (b, len) = if let Some(b) = self.view_at(pid, start) {
            (b, self.process(pid).space.views[&b].size)
        } else if let Some((b, r)) = self.region_at(pid, start) {
            (b, r.size)
        } else {
            return Err(ERROR_INVALID_ADDRESS);
        };
        if end > b + len {
            return Err(ERROR_INVALID_ADDRESS);
        }
        Ok(Value::Ptr(start).into())
    }

    /// VirtualAlloc(MEM_COMMIT) inside a view: commits a SEC_RESERVE section's pages for
    /// every view of it, and sets this view's protection of them (§29.14).
    fn commit_view(&mut self, pid: Pid, start: u64, end: u64, protect: u32) -> CallResult {
        let b = self.view_at(pid, start).expect("in a view");
        let (section, offset, vsize) = {
            let v = &self.process(pid).space.views[&b];
            (v.section, v.offset, v.size)
        };
        if end > b + vsize {
            return Err(ERROR_INVALID_ADDRESS);
        }
        self.check_view_protect(pid, b, protect)?;
        let (first, last) = ((start - b) / PAGE_SIZE, (end - b) / PAGE_SIZE);
        if !self.view_pages_within_limit(last - first, "VirtualAlloc") {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        let s = self.section_mut(section);
        if s.reserve {
            for i in first..last {
                s.committed.insert(offset / PAGE_SIZE + i);
            }
        }
        let v = self.process_mut(pid).space.views.get_mut(&b).expect("found");
        for i in first..last {
            v.protect.insert(i, protect);
        }
        self.note_effect(|_| format!("commits 0x{start:x}..0x{end:x} of the view at 0x{b:x}"));
        Ok(Value::Ptr(start).into())
    }

    /// winsim keeps a view's page protections and a SEC_RESERVE section's commits page by
    /// page: one call may set at most `section_bytes_max` bytes of them (§29.6); past it
    /// the limit is reached (the run ends, or the call fails under `LimitAction::FailCall`).
    fn view_pages_within_limit(&mut self, pages: u64, api: &str) -> bool {
        let max = self.config.section_bytes_max;
        if pages.saturating_mul(PAGE_SIZE) <= max {
            return true;
        }
        let detail =
            format!("{api} on {pages} pages of a view: per-page view state past section_bytes_max ({max} bytes)");
        let _ = self.hit_limit(crate::report::LimitKind::SectionBytes, detail);
        false
    }

    /// Whether `protect` is within what the view at `b` allows (§29.13): a read-only
    /// view cannot be made writable, executable protections need FILE_MAP_EXECUTE.
    fn check_view_protect(&mut self, pid: Pid, b: u64, protect: u32) -> Result<(), Win32Error> {
        let v = &self.process(pid).space.views[&b];
        let base = protect & 0xFF;
        let exec = matches!(base, PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
        if exec && !v.execute {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let writes = matches!(base, PAGE_READWRITE | PAGE_EXECUTE_READWRITE);
        let copies = matches!(base, PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY);
        match v.access {
            ViewAccess::NoAccess | ViewAccess::Read if writes || copies => Err(ERROR_INVALID_PARAMETER),
            ViewAccess::Write if copies => {
                self.unsupported("VirtualProtect", "copy-on-write pages in a shared writable view are not modelled");
                Err(ERROR_INVALID_PARAMETER)
            }
            _ => Ok(()),
        }
    }

    /// VirtualFree (§29.8).
    pub(crate) fn virtual_free(&mut self, pid: Pid, _tid: Tid, address: u64, size: u64, ty: u32) -> CallResult {
        if ty != MEM_DECOMMIT && ty != MEM_RELEASE {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if ty == MEM_RELEASE && size != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if self.view_at(pid, address).is_some() {
            // A view is unmapped with UnmapViewOfFile, not freed (§29.8).
            return Err(ERROR_INVALID_PARAMETER);
        }
        let Some((b, r)) = self.region_at(pid, address) else {
            // STATUS_MEMORY_NOT_ALLOCATED [inferred].
            return Err(ERROR_INVALID_ADDRESS);
        };
        let rsize = r.size;
        if ty == MEM_RELEASE {
            if address != b {
                // STATUS_FREE_VM_NOT_AT_BASE.
                return Err(ERROR_INVALID_ADDRESS);
            }
            self.release_region(pid, b);
            self.note_effect(|_| format!("releases 0x{b:x}..0x{:x}", b + rsize));
            return Ok(Value::Bool(true).into());
        }
        let start = address / PAGE_SIZE * PAGE_SIZE;
        let end = if size == 0 {
            b + rsize
        } else {
            match address.checked_add(size).and_then(|e| round_up(e, PAGE_SIZE)) {
                Some(e) if e <= b + rsize => e,
                // STATUS_UNABLE_TO_FREE_VM [inferred].
                _ => return Err(ERROR_INVALID_PARAMETER),
            }
        };
        let (first, last) = ((start - b) / PAGE_SIZE, (end - b) / PAGE_SIZE);
        let r = self.process_mut(pid).space.regions.get_mut(&b).expect("found");
        let pages: Vec<u64> = r.committed.range(first..last).map(|(k, _)| *k).collect();
        let freed = pages.len() as u64;
        for i in pages {
            r.committed.remove(&i);
            r.data.remove(&i);
        }
        self.private_bytes -= freed * PAGE_SIZE;
        self.note_effect(|_| format!("decommits 0x{start:x}..0x{end:x}"));
        Ok(Value::Bool(true).into())
    }

    /// Releases a reservation: its committed bytes go, and its shadow memory.
    pub(crate) fn release_region(&mut self, pid: Pid, b: u64) {
        if let Some(r) = self.process_mut(pid).space.regions.remove(&b) {
            self.private_bytes -= r.committed.len() as u64 * PAGE_SIZE;
            self.race_forget_memory(crate::kernel::race::MemKey::Virtual(pid, b));
        }
    }

    /// A process ended: its private memory and heaps go (§29.9).
    pub(crate) fn release_all_private(&mut self, pid: Pid) {
        let bases: Vec<u64> = self.process(pid).space.regions.keys().copied().collect();
        for b in bases {
            self.release_region(pid, b);
        }
        let space = &mut self.process_mut(pid).space;
        space.heaps.clear();
        space.process_heap = None;
    }

    /// VirtualQuery (§§29.11-29.12).
    pub(crate) fn virtual_query(&mut self, pid: Pid, _tid: Tid, address: u64, length: u64) -> CallResult {
        if length < MEMORY_BASIC_INFORMATION_SIZE {
            return Err(ERROR_BAD_LENGTH);
        }
        if address >= USER_SPACE_END {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let at = address / PAGE_SIZE * PAGE_SIZE;
        let space = &self.process(pid).space;
        let mut info = MEMORY_BASIC_INFORMATION { BaseAddress: at as usize, ..Default::default() };
        if let Some(b) = self.view_at(pid, at) {
            let v = &space.views[&b];
            let s = self.section(v.section);
            let first = (at - b) / PAGE_SIZE;
            let attrs = page_attrs(view_page_protect(v, s, first));
            let n = v.size / PAGE_SIZE;
            // Only where a page's own protection, commit or copy starts or ends can the
            // attributes change: jump from one such point to the next.
            let mut i = first;
            loop {
                match next_change(v, s, i).filter(|&c| c < n) {
                    None => {
                        i = n;
                        break;
                    }
                    Some(c) if page_attrs(view_page_protect(v, s, c)) != attrs => {
                        i = c;
                        break;
                    }
                    Some(c) => i = c,
                }
            }
            info.AllocationBase = b as usize;
            info.AllocationProtect = view_protect(v);
            info.RegionSize = ((i - first) * PAGE_SIZE) as usize;
            (info.State, info.Protect) = attrs;
            info.Type = MEM_MAPPED;
        } else if let Some((b, r)) = self.region_at(pid, at) {
            let first = (at - b) / PAGE_SIZE;
            let n = r.size / PAGE_SIZE;
            let attrs = page_attrs(r.committed.get(&first).copied());
            let i = match r.committed.get(&first) {
                // Reserved: up to the next committed page.
                None => r.committed.range(first..).next().map_or(n, |(k, _)| *k),
                // Committed: while the pages follow on with the same protection.
                Some(&p) => {
                    let mut i = first + 1;
                    for (&k, &q) in r.committed.range(first + 1..) {
                        if k != i || q != p {
                            break;
                        }
                        i += 1;
                    }
                    i
                }
            };
            info.AllocationBase = b as usize;
            info.AllocationProtect = r.alloc_protect;
            info.RegionSize = ((i - first) * PAGE_SIZE) as usize;
            (info.State, info.Protect) = attrs;
            info.Type = MEM_PRIVATE;
        } else {
            // Free memory: up to the next allocation (§29.11).
            let next_view = space.views.range(at..).next().map(|(b, _)| *b);
            let next_region = space.regions.range(at..).next().map(|(b, _)| *b);
            let next = [next_view, next_region].into_iter().flatten().min().unwrap_or(USER_SPACE_END);
            info.RegionSize = (next - at) as usize;
            info.State = MEM_FREE;
            info.Protect = PAGE_NOACCESS;
        }
        Ok(Value::MemInfo(Box::new(info)).into())
    }

    /// VirtualProtect (§29.13).
    pub(crate) fn virtual_protect(
        &mut self,
        pid: Pid,
        _tid: Tid,
        address: u64,
        size: u64,
        new_protect: u32,
    ) -> CallResult {
        let base = check_page_protect(new_protect)?;
        if new_protect & PAGE_GUARD != 0 {
            self.unsupported("VirtualProtect", "PAGE_GUARD pages are not modelled");
            return Err(ERROR_INVALID_PARAMETER);
        }
        let start = address / PAGE_SIZE * PAGE_SIZE;
        let end = match address.checked_add(size.max(1)).and_then(|e| round_up(e, PAGE_SIZE)) {
            Some(e) => e,
            None => return Err(ERROR_INVALID_PARAMETER),
        };
        if let Some(b) = self.view_at(pid, start) {
            let vsize = self.process(pid).space.views[&b].size;
            if end > b + vsize {
                return Err(ERROR_INVALID_ADDRESS);
            }
            let (first, last) = ((start - b) / PAGE_SIZE, (end - b) / PAGE_SIZE);
            if !self.view_pages_within_limit(last - first, "VirtualProtect") {
                return Err(ERROR_NOT_ENOUGH_MEMORY);
            }
            let old = {
                let v = &self.process(pid).space.views[&b];
                let s = self.section(v.section);
                let committed = !s.reserve
                    || s.committed.range(v.offset / PAGE_SIZE + first..v.offset / PAGE_SIZE + last).count() as u64
                        == last - first;
                if !committed {
                    return Err(ERROR_INVALID_ADDRESS);
                }
                view_page_protect(v, s, first).unwrap_or(0)
            };
            self.check_view_protect(pid, b, new_protect)?;
            // On a copy-on-write view, PAGE_READWRITE asks for copy-on-write (§29.13).
            let copy = self.process(pid).space.views[&b].access == ViewAccess::Copy;
            let p = match base {
                PAGE_READWRITE if copy => (new_protect & !0xFF) | PAGE_WRITECOPY,
                PAGE_EXECUTE_READWRITE if copy => (new_protect & !0xFF) | PAGE_EXECUTE_WRITECOPY,
                _ => new_protect,
            };
            let v = self.process_mut(pid).space.views.get_mut(&b).expect("found");
            for i in first..last {
                v.protect.insert(i, p);
            }
            self.note_effect(|_| format!("protects 0x{start:x}..0x{end:x} 0x{p:x} (was 0x{old:x})"));
            return Ok(Value::Out(old).into());
        }
        if matches!(base, PAGE_WRITECOPY | PAGE_EXECUTE_WRITECOPY) {
            // Copy-on-write is for views [inferred: as VirtualAlloc, §29.3].
            return Err(ERROR_INVALID_PARAMETER);
        }
        let Some((b, r)) = self.region_at(pid, start) else { return Err(ERROR_INVALID_ADDRESS) };
        if end > b + r.size {
            return Err(ERROR_INVALID_ADDRESS);
        }
        let (first, last) = ((start - b) / PAGE_SIZE, (end - b) / PAGE_SIZE);
        if r.committed.range(first..last).count() as u64 != last - first {
            return Err(ERROR_INVALID_ADDRESS);
        }
        let old = r.committed[&first];
        let r = self.process_mut(pid).space.regions.get_mut(&b).expect("found");
        for i in first..last {
            r.committed.insert(i, new_protect);
        }
        self.note_effect(|_| format!("protects 0x{start:x}..0x{end:x} 0x{new_protect:x} (was 0x{old:x})"));
        Ok(Value::Out(old).into())
    }

    // ----- heaps -----------------------------------------------------------------------

    /// Ends the run: the program corrupted a heap or passed a bad heap handle, which on
    /// Windows is undefined behaviour that usually ends the process (§29.19).
    fn heap_corruption(&mut self, pid: Pid, tid: Tid, what: String) -> Win32Error {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::Failed {
                pid,
                tid,
                message: format!("heap corruption (STATUS_HEAP_CORRUPTION 0xC0000374): {what}"),
                location: None,
            });
        }
        ERROR_INVALID_PARAMETER
    }

    /// Adds a committed segment of at least `len` bytes to heap `h` (its first one when
    /// the heap is new); None when memory runs out.
    fn heap_segment(&mut self, pid: Pid, len: u64, protect: u32, heap: Option<u64>) -> Option<u64> {
        let len = round_up(len, ALLOCATION_GRANULARITY)?;
        if len > USER_SPACE_END - VIEW_BASE_START || !self.charge(len / PAGE_SIZE) {
            return None;
        }
        let Some(at) = self.find_free(pid, len) else {
            self.private_bytes -= len;
            return None;
        };
        self.new_region(pid, at, len, protect, true, Some(heap.unwrap_or(at)));
        Some(at)
    }

    fn make_heap(&mut self, pid: Pid, options: u32, initial: u64, maximum: u64) -> Option<u64> {
        let protect = if options & HEAP_CREATE_ENABLE_EXECUTE != 0 { PAGE_EXECUTE_READWRITE } else { PAGE_READWRITE };
        // A fixed-size heap commits its maximum at once; a growable one a first segment.
        let len = if maximum != 0 { maximum } else { initial.max(HEAP_SEGMENT) };
        let at = self.heap_segment(pid, len, protect, None)?;
        let size = self.process(pid).space.regions[&at].size;
        let heap = Heap { options, maximum, segments: vec![(at, size)], blocks: BTreeMap::new() };
        self.process_mut(pid).space.heaps.insert(at, heap);
        Some(at)
    }

    /// GetProcessHeap (§29.15): made at its first use.
    pub(crate) fn get_process_heap(&mut self, pid: Pid, _tid: Tid) -> CallResult {
        if let Some(h) = self.process(pid).space.process_heap {
            return Ok(Value::Ptr(h).into());
        }
        let h = self.make_heap(pid, 0, 0, 0).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        self.process_mut(pid).space.process_heap = Some(h);
        self.note_effect(|_| format!("makes the process heap at 0x{h:x}"));
        Ok(Value::Ptr(h).into())
    }

    /// HeapCreate (§29.16).
    pub(crate) fn heap_create(&mut self, pid: Pid, _tid: Tid, options: u32, initial: u64, maximum: u64) -> CallResult {
        if maximum != 0 && initial > maximum {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let options = options & (HEAP_NO_SERIALIZE | HEAP_GENERATE_EXCEPTIONS | HEAP_CREATE_ENABLE_EXECUTE);
        let h = self.make_heap(pid, options, initial, maximum).ok_or(ERROR_NOT_ENOUGH_MEMORY)?;
        self.note_effect(|_| format!("creates the heap 0x{h:x}"));
        Ok(Value::Ptr(h).into())
    }

    /// HeapDestroy (§29.16).
    pub(crate) fn heap_destroy(&mut self, pid: Pid, tid: Tid, heap: u64) -> CallResult {
        if !self.process(pid).space.heaps.contains_key(&heap) {
            return Err(self.heap_corruption(pid, tid, format!("HeapDestroy of 0x{heap:x}, which is not a heap")));
        }
        if self.process(pid).space.process_heap == Some(heap) {
            // RtlDestroyHeap refuses the process heap [inferred].
            return Err(ERROR_INVALID_HANDLE);
        }
        let h = self.process_mut(pid).space.heaps.remove(&heap).expect("checked");
        for (b, _) in h.segments {
            self.release_region(pid, b);
        }
        self.note_effect(|_| format!("destroys the heap 0x{heap:x}"));
        Ok(Value::Bool(true).into())
    }

    /// Finds room for a block of `span` bytes (rounded) in heap `heap`, first fit: its
    /// address. A block at `a` occupies `[a - HEAP_GRANULE, a + span)`.
    fn heap_fit(&self, pid: Pid, heap: u64, span: u64) -> Option<u64> {
        let h = &self.process(pid).space.heaps[&heap];
        let need = span.checked_add(HEAP_GRANULE)?;
        for &(seg, len) in &h.segments {
            let mut cursor = seg;
            for (&a, &sz) in h.blocks.range(seg..seg + len) {
                let gap_end = a - HEAP_GRANULE;
                if gap_end >= cursor && gap_end - cursor >= need {
                    return Some(cursor + HEAP_GRANULE);
                }
                cursor = a + round_up(sz.max(1), HEAP_GRANULE).unwrap_or(sz);
            }
            if seg + len >= cursor && seg + len - cursor >= need {
                return Some(cursor + HEAP_GRANULE);
            }
        }
        None
    }

    /// A heap call's failure to find memory: NULL without setting the last error, or the
    /// STATUS_NO_MEMORY exception with HEAP_GENERATE_EXCEPTIONS, which ends the run (§29.17).
    fn heap_no_memory(&mut self, pid: Pid, tid: Tid, heap: u64, flags: u32, api: &str, size: u64) -> CallResult {
        let options = self.process(pid).space.heaps[&heap].options;
        if (flags | options) & HEAP_GENERATE_EXCEPTIONS != 0 {
            if self.stop.is_none() {
                self.stop = crate::kernel::Stop::of(Outcome::Failed {
                    pid,
                    tid,
                    message: format!(
                        "{api} of {size} bytes raised STATUS_NO_MEMORY (0xC0000017) with HEAP_GENERATE_EXCEPTIONS, unhandled"
                    ),
                    location: None,
                });
            }
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        Ok(Value::Ptr(0).into())
    }

    /// Allocates a block of `size` bytes in heap `heap`: its address.
    fn heap_place(&mut self, pid: Pid, heap: u64, size: u64) -> Option<u64> {
        let span = round_up(size.max(1), HEAP_GRANULE)?;
        let at = match self.heap_fit(pid, heap, span) {
            Some(a) => a,
            None => {
                let h = &self.process(pid).space.heaps[&heap];
                if h.maximum != 0 {
                    return None;
                }
                let first = h.segments[0].0;
                let protect = self.process(pid).space.regions.get(&first).map_or(PAGE_READWRITE, |r| r.alloc_protect);
                let seg = self.heap_segment(pid, (span + 2 * HEAP_GRANULE).max(HEAP_SEGMENT), protect, Some(heap))?;
                let len = self.process(pid).space.regions[&seg].size;
                self.process_mut(pid).space.heaps.get_mut(&heap).expect("heap").segments.push((seg, len));
                seg + HEAP_GRANULE
            }
        };
        self.process_mut(pid).space.heaps.get_mut(&heap).expect("heap").blocks.insert(at, size);
        Some(at)
    }

    /// Zeroes `len` bytes of heap memory at `at` (pages never written are zero); false
    /// when the memory is not writable (the program decommitted or protected it).
    fn heap_zero(&mut self, pid: Pid, at: u64, len: u64) -> bool {
        if self.check_range(pid, at, len, true).is_err() {
            return false;
        }
        let mut a = at;
        let end = at + len;
        while a < end {
            let Some((b, _)) = self.region_at(pid, a) else {
                // Something else was mapped there under the heap: plain stores.
                let n = (end - a).min(PAGE_SIZE - a % PAGE_SIZE);
                if !self.store(pid, a, &vec![0u8; n as usize]) {
                    return false;
                }
                a += n;
                continue;
            };
            let r = self.process_mut(pid).space.regions.get_mut(&b).expect("found");
            let page = (a - b) / PAGE_SIZE;
            let in_page = ((a - b) % PAGE_SIZE) as usize;
            let n = (end - a).min(PAGE_SIZE - in_page as u64);
            if let Some(p) = r.data.get_mut(&page) {
                p[in_page..in_page + n as usize].fill(0);
            }
            a += n;
        }
        true
    }

    /// Zeroes heap bytes for a call, or ends the run with the access violation the call
    /// makes when the program decommitted or protected the memory.
    fn heap_zero_for(&mut self, pid: Pid, tid: Tid, at: u64, len: u64, api: &str) -> Result<(), Win32Error> {
        if self.heap_zero(pid, at, len) {
            return Ok(());
        }
        let x = self.check_range(pid, at, len, true).err().unwrap_or(at);
        Err(self.access_violation(pid, tid, x, true, format!("{api}(0x{at:x}, {len} bytes)")))
    }

    fn check_heap(&mut self, pid: Pid, tid: Tid, heap: u64, api: &str) -> Result<(), Win32Error> {
        if self.process(pid).space.heaps.contains_key(&heap) {
            Ok(())
        } else {
            Err(self.heap_corruption(pid, tid, format!("{api} on 0x{heap:x}, which is not a heap")))
        }
    }

    /// HeapAlloc (§29.17).
    pub(crate) fn heap_alloc(&mut self, pid: Pid, tid: Tid, heap: u64, flags: u32, bytes: u64) -> CallResult {
        self.check_heap(pid, tid, heap, "HeapAlloc")?;
        let at = if bytes > HEAP_REQUEST_MAX { None } else { self.heap_place(pid, heap, bytes) };
        match at {
            Some(a) => {
                if flags & HEAP_ZERO_MEMORY != 0 {
                    self.heap_zero_for(pid, tid, a, bytes, "HeapAlloc")?;
                }
                self.note_effect(|_| format!("allocates {bytes} bytes at 0x{a:x}"));
                Ok(Value::Ptr(a).into())
            }
            None => self.heap_no_memory(pid, tid, heap, flags, "HeapAlloc", bytes),
        }
    }

    /// HeapFree (§§29.18-29.19).
    pub(crate) fn heap_free(&mut self, pid: Pid, tid: Tid, heap: u64, _flags: u32, mem: u64) -> CallResult {
        self.check_heap(pid, tid, heap, "HeapFree")?;
        if mem == 0 {
            // RtlFreeHeap of NULL succeeds and does nothing (§29.18).
            return Ok(Value::Bool(true).into());
        }
        let h = self.process_mut(pid).space.heaps.get_mut(&heap).expect("checked");
        if h.blocks.remove(&mem).is_none() {
            let what = format!(
                "HeapFree of 0x{mem:x}, which is not a live block of the heap 0x{heap:x} (a double free or a foreign pointer)"
            );
            return Err(self.heap_corruption(pid, tid, what));
        }
        self.note_effect(|_| format!("frees the block at 0x{mem:x}"));
        Ok(Value::Bool(true).into())
    }

    /// HeapSize (§29.18): (SIZE_T)-1 without a last error for a pointer that is no block.
    pub(crate) fn heap_size(&mut self, pid: Pid, tid: Tid, heap: u64, _flags: u32, mem: u64) -> CallResult {
        self.check_heap(pid, tid, heap, "HeapSize")?;
        let size = self.process(pid).space.heaps[&heap].blocks.get(&mem).copied();
        Ok(Value::Long(size.map_or(-1, |s| s as i64)).into())
    }

    /// HeapReAlloc (§29.18).
    pub(crate) fn heap_re_alloc(
        &mut self,
        pid: Pid,
        tid: Tid,
        heap: u64,
        flags: u32,
        mem: u64,
        bytes: u64,
    ) -> CallResult {
        self.check_heap(pid, tid, heap, "HeapReAlloc")?;
        let Some(old) = self.process(pid).space.heaps[&heap].blocks.get(&mem).copied() else {
            let what = format!("HeapReAlloc of 0x{mem:x}, which is not a live block of the heap 0x{heap:x}");
            return Err(self.heap_corruption(pid, tid, what));
        };
        if bytes > HEAP_REQUEST_MAX {
            return self.heap_no_memory(pid, tid, heap, flags, "HeapReAlloc", bytes);
        }
        let zero = flags & HEAP_ZERO_MEMORY != 0;
        // In place when the block's room holds the new size: up to the next block or the
        // end of its segment.
        let room = {
            let h = &self.process(pid).space.heaps[&heap];
            let seg_end = h.segments.iter().find(|(s, l)| mem >= *s && mem < s + l).map(|(s, l)| s + l).unwrap_or(mem);
            let next = h.blocks.range(mem + 1..).next().map(|(a, _)| a - HEAP_GRANULE).unwrap_or(seg_end).min(seg_end);
            next - mem
        };
        if round_up(bytes.max(1), HEAP_GRANULE).is_some_and(|s| s <= room) {
            self.process_mut(pid).space.heaps.get_mut(&heap).expect("checked").blocks.insert(mem, bytes);
            if zero && bytes > old {
                self.heap_zero_for(pid, tid, mem + old, bytes - old, "HeapReAlloc")?;
            }
            self.note_effect(|_| format!("resizes the block at 0x{mem:x} to {bytes} bytes in place"));
            return Ok(Value::Ptr(mem).into());
        }
        if flags & HEAP_REALLOC_IN_PLACE_ONLY != 0 {
            return self.heap_no_memory(pid, tid, heap, flags, "HeapReAlloc", bytes);
        }
        let Some(at) = self.heap_place(pid, heap, bytes) else {
            return self.heap_no_memory(pid, tid, heap, flags, "HeapReAlloc", bytes);
        };
        // Move the bytes, then free the old block. Heap memory the program decommitted or
        // protected faults in the copy, as it would inside HeapReAlloc on Windows.
        let keep = old.min(bytes);
        for (a, len, write) in [(mem, keep, false), (at, keep, true)] {
            if let Err(x) = self.check_range(pid, a, len, write) {
                self.process_mut(pid).space.heaps.get_mut(&heap).expect("checked").blocks.remove(&at);
                return Err(self.access_violation(pid, tid, x, write, format!("HeapReAlloc(0x{heap:x}, 0x{mem:x})")));
            }
        }
        let mut buf = vec![0u8; keep as usize];
        self.load(pid, mem, &mut buf);
        if !self.store(pid, at, &buf) {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        if bytes > keep && zero {
            self.heap_zero_for(pid, tid, at + keep, bytes - keep, "HeapReAlloc")?;
        }
        self.process_mut(pid).space.heaps.get_mut(&heap).expect("checked").blocks.remove(&mem);
        self.note_effect(|_| format!("moves the block at 0x{mem:x} to 0x{at:x} ({bytes} bytes)"));
        Ok(Value::Ptr(at).into())
    }
}
