//! Sections, views and private memory as plain byte vectors (docs/semantics.md §§19, 29):
//! a section is a `Vec<u8>` of its size, a view a window on it (with whole private copies
//! of the pages a copy-on-write view wrote), a VirtualAlloc reservation a `Vec<u8>` with a
//! state per page. One process; handles are slots in a `Vec`. Addresses follow winsim's
//! documented placement: the next 64 KiB-aligned free range from 0x1000_0000, never
//! reused unless asked for (§§19.12, 29.4).

use std::collections::BTreeMap;

const PAGE: u64 = 0x1000;
const GRAN: u64 = 0x1_0000;
const START: u64 = 0x1000_0000;
const END: u64 = 0x7FFF_FFFF_0000;

// Win32 values (winnt.h, winerror.h).
const PAGE_NOACCESS: u32 = 0x01;
const PAGE_READONLY: u32 = 0x02;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_WRITECOPY: u32 = 0x08;
const PAGE_EXECUTE: u32 = 0x10;
const PAGE_EXECUTE_READ: u32 = 0x20;
const PAGE_EXECUTE_READWRITE: u32 = 0x40;
const PAGE_EXECUTE_WRITECOPY: u32 = 0x80;
const SEC_RESERVE: u32 = 0x0400_0000;
const SEC_COMMIT: u32 = 0x0800_0000;
const FILE_MAP_COPY: u32 = 0x1;
const FILE_MAP_WRITE: u32 = 0x2;
const FILE_MAP_READ: u32 = 0x4;
const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_DECOMMIT: u32 = 0x4000;
const MEM_RELEASE: u32 = 0x8000;
const MEM_FREE: u32 = 0x1_0000;
const MEM_PRIVATE: u32 = 0x2_0000;
const MEM_MAPPED: u32 = 0x4_0000;
/// ERROR_ACCESS_DENIED.
pub const ACCESS_DENIED: u32 = 5;
/// ERROR_INVALID_HANDLE.
pub const INVALID_HANDLE: u32 = 6;
/// ERROR_FILE_NOT_FOUND.
pub const FILE_NOT_FOUND: u32 = 2;
/// ERROR_INVALID_PARAMETER.
pub const INVALID_PARAMETER: u32 = 87;
/// ERROR_INVALID_ADDRESS.
pub const INVALID_ADDRESS: u32 = 487;
/// ERROR_MAPPED_ALIGNMENT.
pub const MAPPED_ALIGNMENT: u32 = 1132;
/// ERROR_ALREADY_EXISTS.
pub const ALREADY_EXISTS: u32 = 183;

/// A result: Ok(value, last error set on success) or Err(last error).
pub type Res = Result<(u64, Option<u32>), u32>;

struct Section {
    data: Vec<u8>,
    protect: u32,
    reserve: bool,
    committed: Vec<bool>,
    /// Its name, while a handle refers to it: the last CloseHandle frees the name even
    /// when views remain (test_MapViewOfFile "close named mapping handle without
    /// unmapping": OpenFileMapping then fails, CreateFileMapping makes a new section).
    name: Option<String>,
    refs: u32,
    handles: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    None,
    Read,
    Write,
    Copy,
}

struct View {
    section: usize,
    offset: u64,
    size: u64,
    access: Access,
    /// Copy-on-write pages written: the whole page's bytes.
    private: BTreeMap<u64, Vec<u8>>,
    /// Protections set on pages (by page in the view).
    protect: BTreeMap<u64, u32>,
}

struct Region {
    size: u64,
    alloc_protect: u32,
    /// Per page: None reserved, Some(protection) committed.
    pages: Vec<Option<u32>>,
    data: Vec<u8>,
}

/// VirtualQuery's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// BaseAddress.
    pub base: u64,
    /// AllocationBase.
    pub allocation_base: u64,
    /// AllocationProtect.
    pub allocation_protect: u32,
    /// RegionSize.
    pub size: u64,
    /// State.
    pub state: u32,
    /// Protect.
    pub protect: u32,
    /// Type.
    pub ty: u32,
}

/// One process's sections, handles, views and private memory.
#[derive(Default)]
pub struct MemoryModel {
    sections: Vec<Option<Section>>,
    /// Handle slots: (section, granted map-read, map-write); None once closed.
    handles: Vec<Option<(usize, bool, bool)>>,
    views: BTreeMap<u64, View>,
    regions: BTreeMap<u64, Region>,
    next: u64,
}

fn valid_section_protect(p: u32) -> bool {
    matches!(
        p,
        PAGE_READONLY
            | PAGE_READWRITE
            | PAGE_WRITECOPY
            | PAGE_EXECUTE_READ
            | PAGE_EXECUTE_READWRITE
            | PAGE_EXECUTE_WRITECOPY
    )
}

fn up(v: u64, to: u64) -> Option<u64> {
    v.checked_add(to - 1).map(|x| x / to * to)
}

fn allows(p: u32, write: bool) -> bool {
    match p & 0xFF {
        PAGE_READWRITE | PAGE_WRITECOPY | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY => true,
        PAGE_READONLY | PAGE_EXECUTE_READ => !write,
        _ => false,
    }
}

impl MemoryModel {
    /// A process with nothing mapped.
    pub fn new() -> MemoryModel {
        MemoryModel { next: START, ..Default::default() }
    }

    /// The number of handle slots made so far (a failed create makes none).
    pub fn slots(&self) -> usize {
        self.handles.len()
    }

    fn release(&mut self, s: usize) {
        let sec = self.sections[s].as_mut().expect("live");
        sec.refs -= 1;
        if sec.refs == 0 {
            self.sections[s] = None;
        }
    }

    fn find_name(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.as_ref().is_some_and(|s| s.name.as_deref() == Some(name)))
    }

    /// CreateFileMapping(INVALID_HANDLE_VALUE, protect|sec, size, name) (§§19.1-19.9):
    /// Ok(slot) with last error 0 or ERROR_ALREADY_EXISTS.
    pub fn create(&mut self, protect: u32, size: u64, name: Option<&str>) -> Res {
        let base = protect & 0xFF;
        let sec = protect & !0xFF;
        if !valid_section_protect(base) || !matches!(sec, 0 | SEC_COMMIT | SEC_RESERVE) || size == 0 {
            return Err(INVALID_PARAMETER);
        }
        let write = matches!(base, PAGE_READWRITE | PAGE_EXECUTE_READWRITE);
        if let Some(n) = name
            && let Some(s) = self.find_name(n)
        {
            let sec = self.sections[s].as_mut().expect("live");
            sec.refs += 1;
            sec.handles += 1;
            self.handles.push(Some((s, true, write)));
            return Ok(((self.handles.len() - 1) as u64, Some(ALREADY_EXISTS)));
        }
        let size = up(size, PAGE).ok_or(INVALID_PARAMETER)?;
        let pages = (size / PAGE) as usize;
        self.sections.push(Some(Section {
            data: vec![0; size as usize],
            protect: base,
            reserve: sec == SEC_RESERVE,
            committed: vec![false; pages],
            name: name.map(str::to_string),
            refs: 1,
            handles: 1,
        }));
        self.handles.push(Some((self.sections.len() - 1, true, write)));
        Ok(((self.handles.len() - 1) as u64, Some(0)))
    }

    /// OpenFileMapping(access, name) with FILE_MAP_READ, FILE_MAP_WRITE or both (§19.3).
    pub fn open(&mut self, access: u32, name: &str) -> Res {
        let s = self.find_name(name).ok_or(FILE_NOT_FOUND)?;
        let sec = self.sections[s].as_mut().expect("live");
        sec.refs += 1;
        sec.handles += 1;
        self.handles.push(Some((s, access & FILE_MAP_READ != 0, access & FILE_MAP_WRITE != 0)));
        Ok(((self.handles.len() - 1) as u64, None))
    }

    /// CloseHandle of a slot.
    pub fn close(&mut self, slot: usize) -> Res {
        let (s, _, _) = self.handles.get_mut(slot).and_then(Option::take).ok_or(INVALID_HANDLE)?;
        let sec = self.sections[s].as_mut().expect("live");
        sec.handles -= 1;
        if sec.handles == 0 {
            sec.name = None;
        }
        self.release(s);
        Ok((1, None))
    }

    fn overlaps(&self, at: u64, len: u64) -> Option<u64> {
        let end = at + len;
        let v = self.views.range(..end).next_back().filter(|(b, v)| *b + v.size > at).map(|(b, v)| b + v.size);
        let r = self.regions.range(..end).next_back().filter(|(b, r)| *b + r.size > at).map(|(b, r)| b + r.size);
        match (v, r) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn place(&mut self, len: u64) -> Option<u64> {
        let span = up(len, GRAN)?;
        let mut at = self.next;
        loop {
            if at.checked_add(span)? > END {
                return None;
            }
            match self.overlaps(at, span) {
                None => break,
                Some(e) => at = up(e, GRAN)?,
            }
        }
        self.next = at + span;
        Some(at)
    }

    /// MapViewOfFile(slot, access, offset, bytes) (§§19.10-19.14).
    pub fn map(&mut self, slot: usize, access: u32, offset: u64, bytes: u64) -> Res {
        let &(s, read, write) = self.handles.get(slot).and_then(Option::as_ref).ok_or(INVALID_HANDLE)?;
        let view = if access & FILE_MAP_WRITE != 0 {
            Access::Write
        } else if access == FILE_MAP_COPY {
            Access::Copy
        } else if access & FILE_MAP_READ != 0 {
            Access::Read
        } else {
            Access::None
        };
        let granted = if view == Access::Write { write } else { read };
        if !granted {
            return Err(ACCESS_DENIED);
        }
        let sec = self.sections[s].as_ref().expect("live");
        if view == Access::Write && !matches!(sec.protect, PAGE_READWRITE | PAGE_EXECUTE_READWRITE) {
            return Err(ACCESS_DENIED);
        }
        if !offset.is_multiple_of(GRAN) {
            return Err(MAPPED_ALIGNMENT);
        }
        let size = sec.data.len() as u64;
        if offset >= size {
            return Err(ACCESS_DENIED);
        }
        let bytes = if bytes == 0 { size - offset } else { bytes };
        if bytes > size - offset {
            return Err(ACCESS_DENIED);
        }
        let vsize = up(bytes, PAGE).ok_or(ACCESS_DENIED)?;
        let at = self.place(vsize).ok_or(8u32)?;
        self.sections[s].as_mut().expect("live").refs += 1;
        let v =
            View { section: s, offset, size: vsize, access: view, private: BTreeMap::new(), protect: BTreeMap::new() };
        self.views.insert(at, v);
        Ok((at, None))
    }

    fn view_at(&self, a: u64) -> Option<u64> {
        let (b, v) = self.views.range(..=a).next_back()?;
        (a < b + v.size).then_some(*b)
    }

    fn region_at(&self, a: u64) -> Option<u64> {
        let (b, r) = self.regions.range(..=a).next_back()?;
        (a < b + r.size).then_some(*b)
    }

    /// UnmapViewOfFile(any address in the view) (§§19.16-19.17).
    pub fn unmap(&mut self, a: u64) -> Res {
        let b = self.view_at(a).ok_or(INVALID_ADDRESS)?;
        let v = self.views.remove(&b).expect("found");
        self.release(v.section);
        Ok((1, None))
    }

    fn view_protect(v: &View) -> u32 {
        match v.access {
            Access::None => PAGE_NOACCESS,
            Access::Read => PAGE_READONLY,
            Access::Write => PAGE_READWRITE,
            Access::Copy => PAGE_WRITECOPY,
        }
    }

    /// A view page's protection, None when not committed (§§29.12, 29.14).
    fn view_page(&self, v: &View, page: u64) -> Option<u32> {
        let sp = v.offset / PAGE + page;
        let sec = self.sections[v.section].as_ref().expect("live");
        if sec.reserve && !sec.committed[sp as usize] {
            return None;
        }
        let p = v.protect.get(&page).copied().unwrap_or(Self::view_protect(v));
        if v.private.contains_key(&sp) && p == PAGE_WRITECOPY {
            return Some(PAGE_READWRITE);
        }
        Some(p)
    }

    /// The protection of the page holding `a`, None when it may not be touched at all.
    fn page_protect(&self, a: u64) -> Option<u32> {
        if let Some(b) = self.view_at(a) {
            let v = &self.views[&b];
            return self.view_page(v, (a - b) / PAGE);
        }
        let b = self.region_at(a)?;
        self.regions[&b].pages[((a - b) / PAGE) as usize]
    }

    /// The first address of `[a, a + len)` that may not be read (written).
    pub fn fault(&self, a: u64, len: u64, write: bool) -> Option<u64> {
        let Some(end) = a.checked_add(len) else { return Some(a) };
        (a..end).find(|&x| !self.page_protect(x).is_some_and(|p| allows(p, write)))
    }

    /// Reads bytes (the range must not fault).
    pub fn read(&self, a: u64, len: u64) -> Vec<u8> {
        (a..a + len)
            .map(|x| {
                if let Some(b) = self.view_at(x) {
                    let v = &self.views[&b];
                    let off = v.offset + (x - b);
                    if let Some(p) = v.private.get(&(off / PAGE)) {
                        return p[(off % PAGE) as usize];
                    }
                    return self.sections[v.section].as_ref().expect("live").data[off as usize];
                }
                let b = self.region_at(x).expect("checked");
                self.regions[&b].data[(x - b) as usize]
            })
            .collect()
    }

    /// Writes bytes (the range must not fault).
    pub fn write(&mut self, a: u64, data: &[u8]) {
        for (i, &byte) in data.iter().enumerate() {
            let x = a + i as u64;
            if let Some(b) = self.view_at(x) {
                let (s, off, copy) = {
                    let v = &self.views[&b];
                    (v.section, v.offset + (x - b), v.access == Access::Copy)
                };
                if copy {
                    let page = off / PAGE;
                    let sec_page: Vec<u8> = {
                        let d = &self.sections[s].as_ref().expect("live").data;
                        d[(page * PAGE) as usize..((page + 1) * PAGE) as usize].to_vec()
                    };
                    let v = self.views.get_mut(&b).expect("found");
                    let p = v.private.entry(page).or_insert(sec_page);
                    p[(off % PAGE) as usize] = byte;
                } else {
                    self.sections[s].as_mut().expect("live").data[off as usize] = byte;
                }
                continue;
            }
            let b = self.region_at(x).expect("checked");
            self.regions.get_mut(&b).expect("found").data[(x - b) as usize] = byte;
        }
    }

    /// VirtualQuery(a) (§§29.11-29.12).
    pub fn query(&self, a: u64) -> Result<Info, u32> {
        if a >= END {
            return Err(INVALID_PARAMETER);
        }
        let at = a / PAGE * PAGE;
        let state = |p: Option<u32>| match p {
            Some(p) => (MEM_COMMIT, p),
            None => (0x2000, 0),
        };
        if let Some(b) = self.view_at(at) {
            let v = &self.views[&b];
            let first = (at - b) / PAGE;
            let s0 = state(self.view_page(v, first));
            let mut i = first + 1;
            while i < v.size / PAGE && state(self.view_page(v, i)) == s0 {
                i += 1;
            }
            let (st, p) = s0;
            return Ok(Info {
                base: at,
                allocation_base: b,
                allocation_protect: Self::view_protect(v),
                size: (i - first) * PAGE,
                state: st,
                protect: p,
                ty: MEM_MAPPED,
            });
        }
        if let Some(b) = self.region_at(at) {
            let r = &self.regions[&b];
            let first = (at - b) / PAGE;
            let s0 = state(r.pages[first as usize]);
            let mut i = first + 1;
            while i < r.size / PAGE && state(r.pages[i as usize]) == s0 {
                i += 1;
            }
            let (st, p) = s0;
            return Ok(Info {
                base: at,
                allocation_base: b,
                allocation_protect: r.alloc_protect,
                size: (i - first) * PAGE,
                state: st,
                protect: p,
                ty: MEM_PRIVATE,
            });
        }
        let next = [self.views.range(at..).next().map(|(b, _)| *b), self.regions.range(at..).next().map(|(b, _)| *b)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(END);
        Ok(Info {
            base: at,
            allocation_base: 0,
            allocation_protect: 0,
            size: next - at,
            state: MEM_FREE,
            protect: PAGE_NOACCESS,
            ty: 0,
        })
    }

    /// VirtualAlloc with MEM_COMMIT and/or MEM_RESERVE and a plain protection
    /// (PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE) or 0 (invalid) (§§29.1-29.5, 29.14).
    pub fn alloc(&mut self, address: u64, size: u64, ty: u32, protect: u32) -> Res {
        if ty & !(MEM_COMMIT | MEM_RESERVE) != 0 || ty == 0 || size == 0 {
            return Err(INVALID_PARAMETER);
        }
        if !matches!(
            protect,
            PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE | PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE
        ) {
            return Err(INVALID_PARAMETER);
        }
        let commit = ty & MEM_COMMIT != 0;
        if ty & MEM_RESERVE != 0 || address == 0 {
            let at = address / GRAN * GRAN;
            let end = up(address + size, PAGE).ok_or(INVALID_PARAMETER)?;
            let len = end - at;
            if address != 0 && self.overlaps(at, len).is_some() {
                return Err(INVALID_ADDRESS);
            }
            let at = if address == 0 { self.place(len).ok_or(8u32)? } else { at };
            let pages = (len / PAGE) as usize;
            let state = if commit { Some(protect) } else { None };
            let r =
                Region { size: len, alloc_protect: protect, pages: vec![state; pages], data: vec![0; len as usize] };
            self.regions.insert(at, r);
            return Ok((at, None));
        }
        let start = address / PAGE * PAGE;
        let end = up(address + size, PAGE).ok_or(INVALID_ADDRESS)?;
        if let Some(b) = self.view_at(start) {
            let (s, off, vsize, access) = {
                let v = &self.views[&b];
                (v.section, v.offset, v.size, v.access)
            };
            if end > b + vsize {
                return Err(INVALID_ADDRESS);
            }
            let exec = matches!(protect, PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE);
            if exec || (protect == PAGE_READWRITE && matches!(access, Access::Read | Access::None)) {
                return Err(INVALID_PARAMETER);
            }
            let sec = self.sections[s].as_mut().expect("live");
            for p in (start - b) / PAGE..(end - b) / PAGE {
                if sec.reserve {
                    sec.committed[(off / PAGE + p) as usize] = true;
                }
            }
            let v = self.views.get_mut(&b).expect("found");
            for p in (start - b) / PAGE..(end - b) / PAGE {
                v.protect.insert(p, protect);
            }
            return Ok((start, None));
        }
        let b = self.region_at(start).ok_or(INVALID_ADDRESS)?;
        let r = self.regions.get_mut(&b).expect("found");
        if end > b + r.size {
            return Err(INVALID_ADDRESS);
        }
        for p in (start - b) / PAGE..(end - b) / PAGE {
            if r.pages[p as usize].is_none() {
                r.data[(p * PAGE) as usize..((p + 1) * PAGE) as usize].fill(0);
            }
            r.pages[p as usize] = Some(protect);
        }
        Ok((start, None))
    }

    /// VirtualFree (§29.8).
    pub fn free(&mut self, address: u64, size: u64, ty: u32) -> Res {
        if ty != MEM_DECOMMIT && ty != MEM_RELEASE {
            return Err(INVALID_PARAMETER);
        }
        if ty == MEM_RELEASE && size != 0 {
            return Err(INVALID_PARAMETER);
        }
        if self.view_at(address).is_some() {
            return Err(INVALID_PARAMETER);
        }
        let b = self.region_at(address).ok_or(INVALID_ADDRESS)?;
        if ty == MEM_RELEASE {
            if address != b {
                return Err(INVALID_ADDRESS);
            }
            self.regions.remove(&b);
            return Ok((1, None));
        }
        let r = self.regions.get_mut(&b).expect("found");
        let start = address / PAGE * PAGE;
        let end = if size == 0 { b + r.size } else { up(address + size, PAGE).unwrap_or(u64::MAX) };
        if end > b + r.size {
            return Err(INVALID_PARAMETER);
        }
        for p in (start - b) / PAGE..(end - b) / PAGE {
            r.pages[p as usize] = None;
        }
        Ok((1, None))
    }

    /// VirtualProtect with a plain protection or 0 (§29.13): Ok(old protection).
    pub fn protect(&mut self, address: u64, size: u64, protect: u32) -> Res {
        if !matches!(protect, PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE | PAGE_EXECUTE_READ) {
            return Err(INVALID_PARAMETER);
        }
        let start = address / PAGE * PAGE;
        let end = up(address + size.max(1), PAGE).ok_or(INVALID_PARAMETER)?;
        if let Some(b) = self.view_at(start) {
            let v = &self.views[&b];
            if end > b + v.size {
                return Err(INVALID_ADDRESS);
            }
            let (first, last) = ((start - b) / PAGE, (end - b) / PAGE);
            if (first..last).any(|p| self.view_page(v, p).is_none()) {
                return Err(INVALID_ADDRESS);
            }
            let old = self.view_page(v, first).expect("committed");
            if protect == PAGE_EXECUTE_READ
                || (protect == PAGE_READWRITE && matches!(v.access, Access::Read | Access::None))
            {
                return Err(INVALID_PARAMETER);
            }
            let p = if protect == PAGE_READWRITE && v.access == Access::Copy { PAGE_WRITECOPY } else { protect };
            let v = self.views.get_mut(&b).expect("found");
            for i in first..last {
                v.protect.insert(i, p);
            }
            return Ok((u64::from(old), None));
        }
        let b = self.region_at(start).ok_or(INVALID_ADDRESS)?;
        let r = self.regions.get_mut(&b).expect("found");
        if end > b + r.size {
            return Err(INVALID_ADDRESS);
        }
        let (first, last) = ((start - b) / PAGE, (end - b) / PAGE);
        if (first..last).any(|p| r.pages[p as usize].is_none()) {
            return Err(INVALID_ADDRESS);
        }
        let old = r.pages[first as usize].expect("committed");
        for p in first..last {
            r.pages[p as usize] = Some(protect);
        }
        Ok((u64::from(old), None))
    }
}
