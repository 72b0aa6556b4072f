//! File mappings ("sections" in NT terms), views and each process's simulated address
//! space: CreateFileMapping, OpenFileMapping, MapViewOfFile(Ex), UnmapViewOfFile,
//! FlushViewOfFile, and the loads, stores and interlocked operations of simulated threads
//! (facts in section 19 of docs/semantics.md).
//!
//! Only pagefile-backed sections exist (CreateFileMapping with INVALID_HANDLE_VALUE); a
//! real file handle ends the run as `Outcome::Unsupported`. A section keeps its bytes in
//! 4 KiB pages materialised by the first write to them (a page never written reads as
//! zeros, §19.9), so a 1 GiB section with one page written costs one page. A view is a
//! window on a section at a 64 KiB-aligned address of one process; a copy-on-write view
//! keeps its written pages privately. Memory is sequentially consistent: every load,
//! store and interlocked operation is one kernel step, in the order the scheduler picks.

use super::vmem::{protect_allows, view_page_protect};
use super::{Body, ObjectId, ObjectType};
use crate::error::*;
use crate::kernel::request::{Api, Value};
use crate::kernel::{CallResult, Kernel, Pid, Tid};
use crate::report::{LimitKind, Outcome};
use crate::types::*;
use std::collections::BTreeMap;

/// The page size (`SYSTEM_INFO::dwPageSize`).
pub const PAGE_SIZE: u64 = 0x1000;
/// The allocation granularity (`SYSTEM_INFO::dwAllocationGranularity`): view offsets and
/// view addresses are multiples of it (§19.12).
pub const ALLOCATION_GRANULARITY: u64 = 0x1_0000;
/// The first address winsim gives a view in each process.
pub const VIEW_BASE_START: u64 = 0x1000_0000;
/// The end of the user address space of a 64-bit process (its highest user address,
/// 0x7FFFFFFEFFFF, plus one).
pub const USER_SPACE_END: u64 = 0x7FFF_FFFF_0000;

/// A page of section memory.
pub type Page = Box<[u8]>;

/// A section: pagefile-backed, or backed by a volume file (`file`).
#[derive(Debug)]
pub struct Section {
    /// Its size, rounded up to whole pages (§19.9).
    pub size: u64,
    /// Its page protection (PAGE_READONLY ... PAGE_EXECUTE_WRITECOPY).
    pub protect: u32,
    /// SEC_RESERVE: its pages are reserved, not committed; touching one faults (§19.8).
    pub reserve: bool,
    /// Pages written so far, by page index. Invariant: their bytes are counted in
    /// `Kernel::section_bytes`.
    pub pages: BTreeMap<u64, Page>,
    /// Views of it in all processes (each holds a reference on it).
    pub views: u32,
    /// A SEC_RESERVE section's pages committed through VirtualAlloc(MEM_COMMIT) on a view
    /// of it, by page index: visible in every view (§29.14).
    pub committed: std::collections::BTreeSet<u64>,
    /// The volume file behind a file-backed section (its `FileNode`, referenced): its
    /// pages are the file's, and `pages` stays empty (§28.16).
    pub file: Option<ObjectId>,
}

/// What a view lets its process do (the view's protection, §19.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewAccess {
    /// PAGE_NOACCESS: every touch faults (desired access 0).
    NoAccess,
    /// PAGE_READONLY (or PAGE_EXECUTE_READ).
    Read,
    /// PAGE_READWRITE (or PAGE_EXECUTE_READWRITE): writes reach the section.
    Write,
    /// PAGE_WRITECOPY (or PAGE_EXECUTE_WRITECOPY): writes go to private copies.
    Copy,
}

/// A view mapped in a process.
#[derive(Debug)]
pub struct View {
    /// The section it maps (it holds a reference on it).
    pub section: ObjectId,
    /// Its offset in the section (a multiple of the allocation granularity).
    pub offset: u64,
    /// Its size, rounded up to whole pages.
    pub size: u64,
    /// Its protection.
    pub access: ViewAccess,
    /// Whether it was mapped with FILE_MAP_EXECUTE.
    pub execute: bool,
    /// A copy-on-write view's private pages, by section page index. Invariant: counted in
    /// `Kernel::section_bytes`.
    pub private: BTreeMap<u64, Page>,
    /// Page protections set by VirtualProtect or VirtualAlloc(MEM_COMMIT) on this view, by
    /// page index in the view; a page not listed has the view's own protection (§29.13).
    pub protect: BTreeMap<u64, u32>,
}

/// A process's simulated address space: its views by base address.
#[derive(Debug)]
pub struct AddressSpace {
    /// Views by base address. Invariant: they do not overlap.
    pub views: BTreeMap<u64, View>,
    /// Where the next view without a requested address goes: addresses are never reused
    /// within a run unless a caller asks for one (MapViewOfFileEx).
    pub next_base: u64,
    /// Private memory (VirtualAlloc reservations, heap segments) by base address.
    /// Invariant: they overlap neither each other nor a view (§29).
    pub regions: BTreeMap<u64, super::vmem::Region>,
    /// Heaps by handle (the heap's first segment's base, §29.16).
    pub heaps: BTreeMap<u64, super::vmem::Heap>,
    /// The process heap (GetProcessHeap), made at its first use.
    pub process_heap: Option<u64>,
}

impl Default for AddressSpace {
    fn default() -> AddressSpace {
        AddressSpace {
            views: BTreeMap::new(),
            next_base: VIEW_BASE_START,
            regions: BTreeMap::new(),
            heaps: BTreeMap::new(),
            process_heap: None,
        }
    }
}

pub(crate) fn round_up(v: u64, to: u64) -> Option<u64> {
    v.checked_add(to - 1).map(|x| x / to * to)
}

/// The handle rights a CreateFileMapping handle gets for a protection (§19.2): map-read
/// always, map-write for the writable protections, map-execute for the executable ones.
fn access_for_protection(protect: u32) -> u32 {
    let mut a = STANDARD_RIGHTS_REQUIRED | SECTION_QUERY | SECTION_MAP_READ;
    if matches!(protect, PAGE_READWRITE | PAGE_EXECUTE_READWRITE) {
        a |= SECTION_MAP_WRITE;
    }
    if matches!(protect, PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY) {
        a |= SECTION_MAP_EXECUTE;
    }
    a
}

/// Checks CreateFileMapping's flProtect: one valid base protection and an accepted
/// combination of SEC_* attributes (§§19.7, 19.8). Returns (protection, SEC_RESERVE).
fn check_protection(fl_protect: u32) -> Result<(u32, bool), Win32Error> {
    let base = fl_protect & 0xFF;
    let sec = fl_protect & 0xFFFF_FF00;
    if !matches!(
        base,
        PAGE_READONLY
            | PAGE_READWRITE
            | PAGE_WRITECOPY
            | PAGE_EXECUTE_READ
            | PAGE_EXECUTE_READWRITE
            | PAGE_EXECUTE_WRITECOPY
    ) {
        return Err(ERROR_INVALID_PARAMETER);
    }
    let kind = sec & (SEC_COMMIT | SEC_RESERVE);
    let extra = sec & !(SEC_COMMIT | SEC_RESERVE);
    let reserve = match kind {
        0 if extra == 0 => false,
        SEC_COMMIT => false,
        SEC_RESERVE => true,
        // SEC_RESERVE|SEC_COMMIT, or SEC_NOCACHE/SEC_WRITECOMBINE without either.
        _ => return Err(ERROR_INVALID_PARAMETER),
    };
    match extra {
        0 | SEC_NOCACHE | SEC_WRITECOMBINE => Ok((base, reserve)),
        // SEC_FILE, SEC_IMAGE with SEC_COMMIT/SEC_RESERVE, SEC_LARGE_PAGES with
        // SEC_RESERVE, PAGE_GUARD and other modifiers [inferred for the modifiers].
        _ => Err(ERROR_INVALID_PARAMETER),
    }
}

impl Kernel {
    pub(crate) fn section(&self, id: ObjectId) -> &Section {
        match &self.objects[id].body {
            Body::Section(s) => s,
            _ => panic!("simulator bug: not a section"),
        }
    }

    /// A section's pages: its own, or its file's for a file-backed section (§28.16).
    fn section_pages(&self, id: ObjectId) -> &BTreeMap<u64, Page> {
        match self.section(id).file {
            Some(node) => &self.node(node).pages,
            None => &self.section(id).pages,
        }
    }

    /// CreateFileMapping with a file handle (§§28.14-28.16): the section's pages are the
    /// file's; its size is the file's when `maximum_size` is 0.
    #[allow(clippy::too_many_arguments)]
    fn create_file_backed_mapping(
        &mut self,
        pid: Pid,
        tid: Tid,
        file: HANDLE,
        inherit: bool,
        protect: u32,
        maximum_size: u64,
        name: Option<String>,
    ) -> CallResult {
        let (base, reserve) = check_protection(protect)?;
        if reserve {
            // SEC_RESERVE is for pagefile-backed sections only [inferred, §28.14].
            return Err(ERROR_INVALID_PARAMETER);
        }
        let node = self.file_section_source(pid, tid, file, protect, maximum_size)?;
        let file_size = self.node(node).size;
        let bytes = if maximum_size == 0 { file_size } else { maximum_size };
        let size = round_up(bytes, PAGE_SIZE).unwrap_or(u64::MAX);
        let r = self.create_section(pid, tid, inherit, name, size, base, false, Some(node));
        if let Ok(crate::kernel::Done { value: Value::Handle(h), last_error }) = &r {
            let (h, existed) = (*h, *last_error == Some(ERROR_ALREADY_EXISTS));
            if let Ok(id) = self.object_from_handle(pid, tid, h, Some(ObjectType::Section), 0) {
                if !existed {
                    self.file_section_created(node, id);
                }
                self.note_effect(|k| {
                    let what = if existed { "opens the existing" } else { "creates" };
                    format!("{what} {} ({} bytes) on {}", k.describe(id), k.section(id).size, k.describe(node))
                });
            }
        }
        r
    }

    /// CreateFileMapping's object: a new section of `size` bytes (pagefile-backed, or on the
    /// volume file `file`), or the existing section of that name.
    #[allow(clippy::too_many_arguments)]
    fn create_section(
        &mut self,
        pid: Pid,
        tid: Tid,
        inherit: bool,
        name: Option<String>,
        size: u64,
        protect: u32,
        reserve: bool,
        file: Option<ObjectId>,
    ) -> CallResult {
        let section =
            Section { size, protect, reserve, pages: BTreeMap::new(), views: 0, committed: Default::default(), file };
        let access = access_for_protection(protect);
        self.create_named(pid, tid, "CreateFileMapping", ObjectType::Section, inherit, name, access, move |_| {
            Body::Section(section)
        })
    }

    pub(crate) fn section_mut(&mut self, id: ObjectId) -> &mut Section {
        match &mut self.objects[id].body {
            Body::Section(s) => s,
            _ => panic!("simulator bug: not a section"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_file_mapping(
        &mut self,
        pid: Pid,
        tid: Tid,
        file: HANDLE,
        inherit: bool,
        protect: u32,
        maximum_size: u64,
        name: Option<String>,
    ) -> CallResult {
        if file != INVALID_HANDLE_VALUE {
            return self.create_file_backed_mapping(pid, tid, file, inherit, protect, maximum_size, name);
        }
        // SEC_LARGE_PAGES|SEC_COMMIT is valid on Windows but needs SeLockMemoryPrivilege
        // and large pages; its other combinations are ERROR_INVALID_PARAMETER (§19.8).
        if protect & SEC_LARGE_PAGES != 0
            && protect & SEC_COMMIT != 0
            && protect & (SEC_RESERVE | SEC_IMAGE | SEC_FILE | SEC_NOCACHE | SEC_WRITECOMBINE) == 0
            && check_protection(protect & !(SEC_LARGE_PAGES | SEC_COMMIT)).is_ok()
        {
            self.unsupported("CreateFileMapping", "SEC_LARGE_PAGES (and SeLockMemoryPrivilege) is not modelled");
            return Err(ERROR_PRIVILEGE_NOT_HELD);
        }
        let (base, reserve) = check_protection(protect)?;
        if maximum_size == 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        // STATUS_SECTION_TOO_BIG: no view of it could fit in the address space (§19.6).
        let size = match round_up(maximum_size, PAGE_SIZE) {
            Some(s) if s <= USER_SPACE_END => s,
            _ => return Err(ERROR_NOT_ENOUGH_MEMORY),
        };
        let r = self.create_section(pid, tid, inherit, name, size, base, reserve, None);
        // Say which section the handle names: a new one, or the existing one, whose size
        // is kept whatever this call asked for (§19.2).
        if let Ok(crate::kernel::Done { value: Value::Handle(h), last_error }) = &r {
            let (h, existed) = (*h, *last_error == Some(ERROR_ALREADY_EXISTS));
            self.note_effect(|k| match k.object_from_handle(pid, tid, h, Some(ObjectType::Section), 0) {
                Ok(id) if existed => format!("opens the existing {} ({} bytes)", k.describe(id), k.section(id).size),
                Ok(id) => format!("creates {} ({} bytes)", k.describe(id), k.section(id).size),
                Err(_) => String::new(),
            });
        }
        r
    }

    pub(crate) fn open_file_mapping(
        &mut self,
        pid: Pid,
        tid: Tid,
        access: u32,
        inherit: bool,
        name: Option<String>,
    ) -> CallResult {
        // FILE_MAP_COPY alone asks for read access (§19.4) [inferred].
        let access = if access == FILE_MAP_COPY { SECTION_MAP_READ } else { access };
        self.open_named(pid, tid, ObjectType::Section, "OpenFileMapping", access, inherit, name)
    }

    pub(crate) fn map_view_of_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        mapping: HANDLE,
        access: u32,
        offset: u64,
        bytes: u64,
    ) -> CallResult {
        self.map_view_of_file_ex(pid, tid, mapping, access, offset, bytes, 0)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn map_view_of_file_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        mapping: HANDLE,
        access: u32,
        offset: u64,
        bytes: u64,
        base: u64,
    ) -> CallResult {
        if access & (FILE_MAP_LARGE_PAGES | FILE_MAP_RESERVE | FILE_MAP_TARGETS_INVALID) != 0 {
            self.unsupported("MapViewOfFileEx", "FILE_MAP_LARGE_PAGES, FILE_MAP_RESERVE and FILE_MAP_TARGETS_INVALID");
            return Err(ERROR_INVALID_PARAMETER);
        }
        // The view's protection from the desired access (§19.10).
        let view = if access & FILE_MAP_WRITE != 0 {
            ViewAccess::Write
        } else if access & !FILE_MAP_EXECUTE == FILE_MAP_COPY {
            ViewAccess::Copy
        } else if access & FILE_MAP_READ != 0 {
            ViewAccess::Read
        } else {
            ViewAccess::NoAccess
        };
        let execute = access & FILE_MAP_EXECUTE != 0;
        // The handle right it needs (§19.11): write access does not imply read access.
        let mut need = if view == ViewAccess::Write { SECTION_MAP_WRITE } else { SECTION_MAP_READ };
        if execute {
            need |= SECTION_MAP_EXECUTE;
        }
        let id = self.object_from_handle(pid, tid, mapping, Some(ObjectType::Section), 0)?;
        let granted = self.granted_access(pid, mapping).unwrap_or(0);
        if granted & need != need {
            return Err(ERROR_ACCESS_DENIED);
        }
        let (size, protect) = {
            let s = self.section(id);
            (s.size, s.protect)
        };
        let writable = matches!(protect, PAGE_READWRITE | PAGE_EXECUTE_READWRITE);
        let executable = matches!(protect, PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY);
        if (view == ViewAccess::Write && !writable) || (execute && !executable) {
            return Err(ERROR_ACCESS_DENIED);
        }
        if !offset.is_multiple_of(ALLOCATION_GRANULARITY) || !base.is_multiple_of(ALLOCATION_GRANULARITY) {
            return Err(ERROR_MAPPED_ALIGNMENT);
        }
        // STATUS_INVALID_VIEW_SIZE: an offset at or past the end, or more bytes than the
        // section has from the offset (§19.14) [inferred].
        if offset >= size {
            return Err(ERROR_ACCESS_DENIED);
        }
        let bytes = if bytes == 0 { size - offset } else { bytes };
        if bytes > size - offset {
            return Err(ERROR_ACCESS_DENIED);
        }
        let vsize = round_up(bytes, PAGE_SIZE).unwrap_or(size);
        let span = round_up(vsize, ALLOCATION_GRANULARITY).unwrap_or(u64::MAX);
        let at = if base != 0 {
            // STATUS_CONFLICTING_ADDRESSES (§19.15).
            if base < ALLOCATION_GRANULARITY
                || base.checked_add(vsize).is_none_or(|end| end > USER_SPACE_END)
                || self.overlaps(pid, base, vsize)
            {
                return Err(ERROR_INVALID_ADDRESS);
            }
            base
        } else {
            let mut at = self.process(pid).space.next_base;
            loop {
                let Some(end) = at.checked_add(span).filter(|&e| e <= USER_SPACE_END) else {
                    // The address space is full: STATUS_NO_MEMORY [inferred].
                    return Err(ERROR_NOT_ENOUGH_MEMORY);
                };
                match self.first_overlap(pid, at, span) {
                    None => break,
                    Some(v_end) => at = round_up(v_end, ALLOCATION_GRANULARITY).unwrap_or(end),
                }
            }
            self.process_mut(pid).space.next_base = at + span;
            at
        };
        self.add_ref(id);
        self.section_mut(id).views += 1;
        let v = View {
            section: id,
            offset,
            size: vsize,
            access: view,
            execute,
            private: BTreeMap::new(),
            protect: BTreeMap::new(),
        };
        self.process_mut(pid).space.views.insert(at, v);
        self.note_effect(|k| format!("maps {} at 0x{at:x} ({vsize} bytes, {view:?})", k.describe(id)));
        Ok(Value::Ptr(at).into())
    }

    /// The end of the first view or private region of `pid` overlapping `[at, at + len)`,
    /// if one does.
    pub(crate) fn first_overlap(&self, pid: Pid, at: u64, len: u64) -> Option<u64> {
        let end = at.saturating_add(len);
        let views = &self.process(pid).space.views;
        let before = views.range(..at).next_back().filter(|(b, v)| *b + v.size > at);
        let inside = views.range(at..end).next();
        let view = before.or(inside).map(|(b, v)| b + v.size);
        let regions = &self.process(pid).space.regions;
        let before = regions.range(..at).next_back().filter(|(b, r)| *b + r.size > at);
        let inside = regions.range(at..end).next();
        let region = before.or(inside).map(|(b, r)| b + r.size);
        match (view, region) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn overlaps(&self, pid: Pid, at: u64, len: u64) -> bool {
        self.first_overlap(pid, at, len).is_some()
    }

    /// The base of the view of `pid` that contains `addr`.
    pub(crate) fn view_at(&self, pid: Pid, addr: u64) -> Option<u64> {
        let (b, v) = self.process(pid).space.views.range(..=addr).next_back()?;
        (addr < b + v.size).then_some(*b)
    }

    pub(crate) fn unmap_view_of_file(&mut self, pid: Pid, _tid: Tid, base: u64) -> CallResult {
        // Any address inside a view unmaps it (§19.17); anything else is
        // STATUS_NOT_MAPPED_VIEW (§19.16).
        let at = self.view_at(pid, base).ok_or(ERROR_INVALID_ADDRESS)?;
        self.unmap(pid, at);
        self.note_effect(|_| format!("unmaps the view at 0x{at:x}"));
        Ok(Value::Bool(true).into())
    }

    fn unmap(&mut self, pid: Pid, at: u64) {
        let v = self.process_mut(pid).space.views.remove(&at).expect("simulator bug: unmapping a missing view");
        if v.access == ViewAccess::Copy {
            self.race_forget_memory(crate::kernel::race::MemKey::Private(pid, at));
        }
        self.section_bytes -= v.private.len() as u64 * PAGE_SIZE;
        self.section_mut(v.section).views -= 1;
        self.release(v.section);
    }

    /// A process ended: its views go (§19.19).
    pub(crate) fn unmap_all(&mut self, pid: Pid) {
        let bases: Vec<u64> = self.process(pid).space.views.keys().copied().collect();
        for at in bases {
            self.unmap(pid, at);
        }
        // Its private memory and heaps go too (§29.9).
        self.release_all_private(pid);
    }

    pub(crate) fn flush_view_of_file(&mut self, pid: Pid, _tid: Tid, base: u64, _bytes: u64) -> CallResult {
        // Nothing to write back for a pagefile-backed view (§19.26); an address outside
        // any view is STATUS_NOT_MAPPED_VIEW [inferred].
        self.view_at(pid, base).ok_or(ERROR_INVALID_ADDRESS)?;
        Ok(Value::Bool(true).into())
    }

    // ----- loads, stores, interlocked operations -----------------------------------

    /// Ends the run with an access violation at `address` (§19.23).
    pub(crate) fn access_violation(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        write: bool,
        call: String,
    ) -> Win32Error {
        if self.stop.is_none() {
            self.stop = crate::kernel::Stop::of(Outcome::AccessViolation { pid, tid, address, write, call });
        }
        ERROR_NOACCESS
    }

    /// Checks that `[addr, addr + len)` may be read (or written) by `pid`; returns the
    /// first address that may not be.
    pub(crate) fn check_range(&self, pid: Pid, addr: u64, len: u64, write: bool) -> Result<(), u64> {
        let Some(end) = addr.checked_add(len) else { return Err(addr) };
        let mut a = addr;
        while a < end {
            let Some(b) = self.view_at(pid, a) else {
                // Private memory (VirtualAlloc, heaps): page by page (§29.10).
                a = self.check_private(pid, a, end, write)?;
                continue;
            };
            let v = &self.process(pid).space.views[&b];
            let s = self.section(v.section);
            if v.protect.is_empty() && !s.reserve {
                let ok = match v.access {
                    ViewAccess::NoAccess => false,
                    ViewAccess::Read => !write,
                    ViewAccess::Write | ViewAccess::Copy => true,
                };
                if !ok {
                    return Err(a);
                }
                a = (b + v.size).min(end);
                continue;
            }
            // Pages with their own protection, or a SEC_RESERVE section (§§29.13, 29.14).
            let page_end = ((a / PAGE_SIZE) + 1) * PAGE_SIZE;
            match view_page_protect(v, s, (a - b) / PAGE_SIZE) {
                Some(p) if protect_allows(p, write) => {}
                _ => return Err(a),
            }
            a = page_end.min(end);
        }
        Ok(())
    }

    /// Copies simulated memory out (the range is checked).
    pub(crate) fn load(&self, pid: Pid, addr: u64, out: &mut [u8]) {
        let mut done = 0usize;
        while done < out.len() {
            let a = addr + done as u64;
            let Some(b) = self.view_at(pid, a) else {
                done += self.load_private(pid, a, &mut out[done..]);
                continue;
            };
            let v = &self.process(pid).space.views[&b];
            let off = v.offset + (a - b);
            let (page, in_page) = (off / PAGE_SIZE, (off % PAGE_SIZE) as usize);
            let n = (out.len() - done).min(PAGE_SIZE as usize - in_page);
            let src = v.private.get(&page).or_else(|| self.section_pages(v.section).get(&page));
            match src {
                Some(p) => out[done..done + n].copy_from_slice(&p[in_page..in_page + n]),
                None => out[done..done + n].fill(0),
            }
            done += n;
        }
    }

    /// Makes sure the page a store to `a` lands on exists, charging `section_bytes_max`;
    /// false when the cap is reached (the run then ends).
    fn materialise(&mut self, pid: Pid, a: u64) -> bool {
        let b = self.view_at(pid, a).expect("checked");
        let (section, off, copy) = {
            let v = &self.process(pid).space.views[&b];
            (v.section, v.offset + (a - b), v.access == ViewAccess::Copy)
        };
        let page = off / PAGE_SIZE;
        let have = if copy {
            self.process(pid).space.views[&b].private.contains_key(&page)
        } else {
            self.section_pages(section).contains_key(&page)
        };
        if have {
            return true;
        }
        if let (Some(node), false) = (self.section(section).file, copy) {
            // A file's page: the volume's capacity already covers the file's size (§28.20).
            self.node_mut(node).pages.insert(page, vec![0u8; PAGE_SIZE as usize].into_boxed_slice());
            return true;
        }
        let max = self.config.section_bytes_max;
        if self.section_bytes + PAGE_SIZE > max {
            let detail = format!("section pages written reach section_bytes_max ({max} bytes)");
            let _ = self.hit_limit(LimitKind::SectionBytes, detail.clone());
            if self.stop.is_none() {
                // A store has no error to return: FailCall ends the run too.
                self.stop = crate::kernel::Stop::of(Outcome::LimitExceeded { limit: LimitKind::SectionBytes, detail });
            }
            return false;
        }
        self.section_bytes += PAGE_SIZE;
        if copy {
            let initial: Page = match self.section_pages(section).get(&page) {
                Some(p) => p.clone(),
                None => vec![0u8; PAGE_SIZE as usize].into_boxed_slice(),
            };
            self.process_mut(pid).space.views.get_mut(&b).expect("checked").private.insert(page, initial);
        } else {
            self.section_mut(section).pages.insert(page, vec![0u8; PAGE_SIZE as usize].into_boxed_slice());
        }
        true
    }

    /// Copies bytes into simulated memory (the range is checked); false when the
    /// section-bytes cap ended the run.
    pub(crate) fn store(&mut self, pid: Pid, addr: u64, data: &[u8]) -> bool {
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            if self.view_at(pid, a).is_none() {
                done += self.store_private(pid, a, &data[done..]);
                continue;
            }
            if !self.materialise(pid, a) {
                return false;
            }
            let b = self.view_at(pid, a).expect("checked");
            let (section, off, copy) = {
                let v = &self.process(pid).space.views[&b];
                (v.section, v.offset + (a - b), v.access == ViewAccess::Copy)
            };
            let (page, in_page) = (off / PAGE_SIZE, (off % PAGE_SIZE) as usize);
            let n = (data.len() - done).min(PAGE_SIZE as usize - in_page);
            let file = self.section(section).file;
            let dst = if copy {
                self.process_mut(pid).space.views.get_mut(&b).and_then(|v| v.private.get_mut(&page))
            } else if let Some(node) = file {
                self.node_mut(node).pages.get_mut(&page)
            } else {
                self.section_mut(section).pages.get_mut(&page)
            };
            dst.expect("materialised")[in_page..in_page + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        true
    }

    /// Tells the race detector about an access of `len` bytes at `addr` by `tid` (the
    /// range is checked), page by page: the memory each page stands for, whichever view
    /// the thread used (§25.3).
    #[allow(clippy::too_many_arguments)]
    fn race_access(&mut self, pid: Pid, tid: Tid, api: Api, addr: u64, len: u64, write: bool, atomic: bool) {
        if self.config.race_detection == crate::kernel::race::RaceDetection::Off {
            return;
        }
        let mut done = 0u64;
        while done < len {
            let a = addr + done;
            let Some(b) = self.view_at(pid, a) else {
                // Private memory: keyed by its reservation (§29.11).
                let Some((rb, _)) = self.region_at(pid, a) else { return };
                let n = (len - done).min(PAGE_SIZE - a % PAGE_SIZE);
                let key = crate::kernel::race::MemKey::Virtual(pid, rb);
                let access =
                    crate::kernel::race::MemAccess { key, offset: a - rb, len: n, write, atomic, address: a, api };
                self.race_memory(pid, tid, access);
                done += n;
                continue;
            };
            let (key, off) = {
                let v = &self.process(pid).space.views[&b];
                let off = v.offset + (a - b);
                let private = v.access == ViewAccess::Copy && (write || v.private.contains_key(&(off / PAGE_SIZE)));
                let key = if private {
                    crate::kernel::race::MemKey::Private(pid, b)
                } else {
                    // A file-backed section's memory is its file's, whichever section
                    // maps it (§28.19).
                    crate::kernel::race::MemKey::Section(self.section(v.section).file.unwrap_or(v.section))
                };
                (key, off)
            };
            let n = (len - done).min(PAGE_SIZE - off % PAGE_SIZE);
            let access = crate::kernel::race::MemAccess { key, offset: off, len: n, write, atomic, address: a, api };
            self.race_memory(pid, tid, access);
            done += n;
        }
    }

    /// Reads `len` bytes for WaitOnAddress's comparison (§26.2): an access violation where
    /// the thread may not read; an interlocked read for the race detector (the kernel
    /// compares under its lock).
    pub(crate) fn read_for_wait(&mut self, pid: Pid, tid: Tid, address: u64, len: u64) -> Result<Vec<u8>, Win32Error> {
        if let Err(at) = self.check_range(pid, address, len, false) {
            let call = format!("WaitOnAddress(0x{address:x}, {len} bytes)");
            return Err(self.access_violation(pid, tid, at, false, call));
        }
        let mut out = vec![0u8; len as usize];
        self.load(pid, address, &mut out);
        self.race_access(pid, tid, Api::WaitOnAddress, address, len, false, true);
        Ok(out)
    }

    /// The bytes at `address` if `pid` may read them (reports).
    pub(crate) fn peek_memory(&self, pid: Pid, address: u64, len: u64) -> Option<Vec<u8>> {
        self.check_range(pid, address, len, false).ok()?;
        let mut out = vec![0u8; len as usize];
        self.load(pid, address, &mut out);
        Some(out)
    }

    pub(crate) fn read_memory(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        len: u32,
        whole: crate::kernel::request::MemoryAccess,
    ) -> CallResult {
        self.note_part(address, u64::from(len), whole, "read");
        if let Err(at) = self.check_range(pid, address, u64::from(len), false) {
            let call = format!("ReadMemory(0x{address:x}, {len} bytes)");
            return Err(self.access_violation(pid, tid, at, false, call));
        }
        let mut out = vec![0u8; len as usize];
        self.load(pid, address, &mut out);
        self.race_access(pid, tid, Api::ReadMemory, address, u64::from(len), false, false);
        Ok(Value::Read(out).into())
    }

    pub(crate) fn write_memory(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        data: Vec<u8>,
        whole: crate::kernel::request::MemoryAccess,
    ) -> CallResult {
        self.note_part(address, data.len() as u64, whole, "write");
        if let Err(at) = self.check_range(pid, address, data.len() as u64, true) {
            let call = format!("WriteMemory(0x{address:x}, {} bytes)", data.len());
            return Err(self.access_violation(pid, tid, at, true, call));
        }
        if !self.store(pid, address, &data) {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        self.race_access(pid, tid, Api::WriteMemory, address, data.len() as u64, true, false);
        Ok(Value::Void.into())
    }

    /// A step that is one part of a wider or misaligned access says so in the trace: other
    /// threads may run between its parts, which is how a read tears (§19.24).
    fn note_part(&mut self, address: u64, len: u64, whole: crate::kernel::request::MemoryAccess, what: &str) {
        if len < whole.len {
            self.note_effect(|_| {
                format!(
                    "bytes {}..{} of a {}-byte {what} at 0x{:x}, done in parts: other threads may run between them",
                    address - whole.address.min(address),
                    address - whole.address.min(address) + len,
                    whole.len,
                    whole.address
                )
            });
        }
    }

    /// One interlocked read-modify-write of `width` bytes at `address`, as one step:
    /// `op` maps the old value to the new one (`None`: no store, for a failed compare).
    /// Returns the old value. An interlocked operation needs write access even when it
    /// stores nothing, as `lock cmpxchg` does.
    fn interlocked(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        address: u64,
        width: usize,
        op: impl FnOnce(u64) -> Option<u64>,
    ) -> Result<u64, Win32Error> {
        if let Err(at) = self.check_range(pid, address, width as u64, true) {
            let call = format!("{api}(0x{address:x})");
            return Err(self.access_violation(pid, tid, at, true, call));
        }
        let mut buf = [0u8; 8];
        self.load(pid, address, &mut buf[..width]);
        let old = u64::from_le_bytes(buf);
        let new = op(old);
        if let Some(new) = new
            && !self.store(pid, address, &new.to_le_bytes()[..width])
        {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        }
        // A compare-exchange that stores nothing is an interlocked read (§25.2).
        self.race_access(pid, tid, api, address, width as u64, new.is_some(), true);
        Ok(old)
    }

    fn interlocked32(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        address: u64,
        op: impl FnOnce(i32) -> Option<i32>,
        ret_new: bool,
    ) -> CallResult {
        let mut new_value = 0i32;
        let old = self.interlocked(pid, tid, api, address, 4, |old| {
            let r = op(old as u32 as i32);
            new_value = r.unwrap_or(old as u32 as i32);
            r.map(|v| u64::from(v as u32))
        })? as u32 as i32;
        Ok(Value::Long(i64::from(if ret_new { new_value } else { old })).into())
    }

    fn interlocked64(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        address: u64,
        op: impl FnOnce(i64) -> Option<i64>,
        ret_new: bool,
    ) -> CallResult {
        let mut new_value = 0i64;
        let old = self.interlocked(pid, tid, api, address, 8, |old| {
            let r = op(old as i64);
            new_value = r.unwrap_or(old as i64);
            r.map(|v| v as u64)
        })? as i64;
        Ok(Value::Long(if ret_new { new_value } else { old }).into())
    }

    pub(crate) fn interlocked_increment(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedIncrement, address, |v| Some(v.wrapping_add(1)), true)
    }
    pub(crate) fn interlocked_decrement(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedDecrement, address, |v| Some(v.wrapping_sub(1)), true)
    }
    pub(crate) fn interlocked_exchange(&mut self, pid: Pid, tid: Tid, address: u64, value: i32) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedExchange, address, |_| Some(value), false)
    }
    pub(crate) fn interlocked_exchange_add(&mut self, pid: Pid, tid: Tid, address: u64, value: i32) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedExchangeAdd, address, |v| Some(v.wrapping_add(value)), false)
    }
    pub(crate) fn interlocked_compare_exchange(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        exchange: i32,
        comparand: i32,
    ) -> CallResult {
        let op = |v: i32| (v == comparand).then_some(exchange);
        self.interlocked32(pid, tid, Api::InterlockedCompareExchange, address, op, false)
    }
    pub(crate) fn interlocked_and(&mut self, pid: Pid, tid: Tid, address: u64, value: i32) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedAnd, address, |v| Some(v & value), false)
    }
    pub(crate) fn interlocked_or(&mut self, pid: Pid, tid: Tid, address: u64, value: i32) -> CallResult {
        self.interlocked32(pid, tid, Api::InterlockedOr, address, |v| Some(v | value), false)
    }
    pub(crate) fn interlocked_increment64(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedIncrement64, address, |v| Some(v.wrapping_add(1)), true)
    }
    pub(crate) fn interlocked_decrement64(&mut self, pid: Pid, tid: Tid, address: u64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedDecrement64, address, |v| Some(v.wrapping_sub(1)), true)
    }
    pub(crate) fn interlocked_exchange64(&mut self, pid: Pid, tid: Tid, address: u64, value: i64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedExchange64, address, |_| Some(value), false)
    }
    pub(crate) fn interlocked_exchange_add64(&mut self, pid: Pid, tid: Tid, address: u64, value: i64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedExchangeAdd64, address, |v| Some(v.wrapping_add(value)), false)
    }
    pub(crate) fn interlocked_compare_exchange64(
        &mut self,
        pid: Pid,
        tid: Tid,
        address: u64,
        exchange: i64,
        comparand: i64,
    ) -> CallResult {
        let op = |v: i64| (v == comparand).then_some(exchange);
        self.interlocked64(pid, tid, Api::InterlockedCompareExchange64, address, op, false)
    }
    pub(crate) fn interlocked_and64(&mut self, pid: Pid, tid: Tid, address: u64, value: i64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedAnd64, address, |v| Some(v & value), false)
    }
    pub(crate) fn interlocked_or64(&mut self, pid: Pid, tid: Tid, address: u64, value: i64) -> CallResult {
        self.interlocked64(pid, tid, Api::InterlockedOr64, address, |v| Some(v | value), false)
    }

    /// MemoryBarrier: memory is sequentially consistent already; a schedule point only.
    pub(crate) fn memory_barrier(&mut self, _pid: Pid, _tid: Tid) -> CallResult {
        Ok(Value::Void.into())
    }
}

/// A section destroyed: its pages are freed.
pub(crate) fn destroyed(k: &mut Kernel, s: &Section) {
    k.section_bytes -= s.pages.len() as u64 * PAGE_SIZE;
}

/// A section's state in words (reports).
pub(crate) fn state(s: &Section) -> String {
    format!(
        "{} bytes, protection 0x{:x}{}, {} page(s) written, {} view(s)",
        s.size,
        s.protect,
        if s.reserve { " (SEC_RESERVE)" } else { "" },
        s.pages.len(),
        s.views
    )
}
