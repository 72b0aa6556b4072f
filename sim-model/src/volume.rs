//! The in-memory volume's files (docs/semantics.md §28), plainly: a map from upper-case
//! path to bytes, and open handles with their access, share mode and file pointer. Only
//! files in the root (no directories) and synchronous handles; no sections.

use std::collections::{BTreeMap, BTreeSet};

/// ERROR_FILE_NOT_FOUND.
pub const FILE_NOT_FOUND: u32 = 2;
/// ERROR_ACCESS_DENIED.
pub const ACCESS_DENIED: u32 = 5;
/// ERROR_INVALID_HANDLE.
pub const INVALID_HANDLE: u32 = 6;
/// ERROR_SHARING_VIOLATION.
pub const SHARING_VIOLATION: u32 = 32;
/// ERROR_FILE_EXISTS.
pub const FILE_EXISTS: u32 = 80;
/// ERROR_INVALID_PARAMETER.
pub const INVALID_PARAMETER: u32 = 87;
/// ERROR_NEGATIVE_SEEK.
pub const NEGATIVE_SEEK: u32 = 131;
/// ERROR_ALREADY_EXISTS.
pub const ALREADY_EXISTS: u32 = 183;
/// ERROR_DISK_FULL.
pub const DISK_FULL: u32 = 112;
/// The volume's capacity: `Config::volume_bytes_max`'s default (§28.20).
pub const CAPACITY: u64 = 256 << 20;

const READ: u32 = 0x1; // FILE_READ_DATA
const WRITE: u32 = 0x2; // FILE_WRITE_DATA
const APPEND: u32 = 0x4; // FILE_APPEND_DATA
const DELETE: u32 = 0x1_0000;

/// An open handle.
#[derive(Debug, Clone)]
pub struct Open {
    /// The file's key.
    pub key: String,
    /// Data rights granted (FILE_READ_DATA, FILE_WRITE_DATA, FILE_APPEND_DATA, DELETE).
    pub access: u32,
    /// FILE_SHARE_* bits.
    pub share: u32,
    /// The file pointer.
    pub pos: u64,
}

/// What a call gives: its return value as a number, the last error it set (None: left
/// alone), and the bytes it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The return value (TRUE/FALSE as 1/0, a handle index, a size or pointer).
    pub ret: i64,
    /// The last error set.
    pub error: Option<u32>,
    /// Bytes read.
    pub data: Vec<u8>,
}

fn ok(ret: i64) -> Answer {
    Answer { ret, error: None, data: Vec::new() }
}
fn fail(ret: i64, e: u32) -> Answer {
    Answer { ret, error: Some(e), data: Vec::new() }
}

/// The model volume.
#[derive(Debug, Default)]
pub struct Volume {
    /// Files by upper-case name.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files whose deletion is pending.
    pub pending: BTreeSet<String>,
    /// Handles by index (None: closed).
    pub handles: Vec<Option<Open>>,
}

/// GENERIC_READ / GENERIC_WRITE to data rights (the file generic mapping).
fn data_rights(access: u32) -> u32 {
    let mut r = access & (READ | WRITE | APPEND | DELETE);
    if access & 0x8000_0000 != 0 {
        r |= READ;
    }
    if access & 0x4000_0000 != 0 {
        r |= WRITE | APPEND;
    }
    r
}

fn clash(a: u32, s: u32) -> bool {
    (a & READ != 0 && s & 1 == 0) || (a & (WRITE | APPEND) != 0 && s & 2 == 0) || (a & DELETE != 0 && s & 4 == 0)
}

impl Volume {
    /// The bytes the volume holds (every file's size).
    fn total(&self) -> u64 {
        self.files.values().map(|d| d.len() as u64).sum()
    }

    fn shares_with(&self, key: &str, access: u32, share: u32) -> bool {
        self.handles
            .iter()
            .flatten()
            .filter(|o| o.key == key && o.access != 0)
            .all(|o| access == 0 || (!clash(access, o.share) && !clash(o.access, share)))
    }

    /// CreateFile(name, access, share, disposition) of a file in the root (§§28.4-28.8,
    /// 28.12). Returns the handle's index on success.
    pub fn create(&mut self, name: &str, access: u32, share: u32, disposition: u32) -> Answer {
        if !(1..=5).contains(&disposition) || (disposition == 5 && access & 0x4000_0000 == 0) {
            return fail(-1, INVALID_PARAMETER);
        }
        let key = name.to_uppercase();
        let rights = data_rights(access);
        let exists = self.files.contains_key(&key);
        if exists && disposition == 1 {
            return fail(-1, FILE_EXISTS);
        }
        if !exists && (disposition == 3 || disposition == 5) {
            return fail(-1, FILE_NOT_FOUND);
        }
        if exists && self.pending.contains(&key) {
            return fail(-1, ACCESS_DENIED);
        }
        if exists && !self.shares_with(&key, rights, share & 7) {
            return fail(-1, SHARING_VIOLATION);
        }
        let data = self.files.entry(key.clone()).or_default();
        if disposition == 2 || disposition == 5 {
            data.clear();
        }
        self.handles.push(Some(Open { key, access: rights, share: share & 7, pos: 0 }));
        let error = if exists && (disposition == 2 || disposition == 4) { ALREADY_EXISTS } else { 0 };
        Answer { ret: self.handles.len() as i64 - 1, error: Some(error), data: Vec::new() }
    }

    fn open(&self, h: usize) -> Option<&Open> {
        self.handles.get(h).and_then(|o| o.as_ref())
    }

    /// ReadFile (§28.10).
    pub fn read(&mut self, h: usize, len: u32) -> Answer {
        let Some(o) = self.open(h) else { return fail(0, INVALID_HANDLE) };
        if o.access & READ == 0 {
            return fail(0, ACCESS_DENIED);
        }
        let data = &self.files[&o.key];
        let start = (o.pos as usize).min(data.len());
        let end = (start + len as usize).min(data.len());
        let got = data[start..end].to_vec();
        let o = self.handles[h].as_mut().expect("open");
        o.pos = o.pos.max(start as u64) + got.len() as u64;
        if got.is_empty() {
            // The pointer stays where it was past the end.
        }
        Answer { ret: 1, error: None, data: got }
    }

    /// WriteFile of `len` bytes `byte` (§28.11).
    pub fn write(&mut self, h: usize, len: u32, byte: u8) -> Answer {
        let Some(o) = self.open(h) else { return fail(0, INVALID_HANDLE) };
        if o.access & (WRITE | APPEND) == 0 {
            return fail(0, ACCESS_DENIED);
        }
        if len == 0 {
            return ok(1);
        }
        let (key, append, pos) = (o.key.clone(), o.access & WRITE == 0, o.pos);
        let size = self.files[&key].len() as u64;
        let at = if append { size } else { pos };
        let end = u128::from(at) + u128::from(len);
        if end > i64::MAX as u128 {
            return fail(0, INVALID_PARAMETER);
        }
        if end as u64 > size && self.total() + (end as u64 - size) > CAPACITY {
            return fail(0, DISK_FULL);
        }
        let at = at as usize;
        let data = self.files.get_mut(&key).expect("open file");
        if data.len() < at + len as usize {
            data.resize(at + len as usize, 0);
        }
        data[at..at + len as usize].fill(byte);
        self.handles[h].as_mut().expect("open").pos = (at + len as usize) as u64;
        ok(1)
    }

    /// SetFilePointerEx (§28.17).
    pub fn seek(&mut self, h: usize, distance: i64, method: u32) -> Answer {
        // The method, and a FILE_BEGIN position, are checked before the handle.
        if method > 2 {
            return fail(0, INVALID_PARAMETER);
        }
        if method == 0 && distance < 0 {
            return fail(0, NEGATIVE_SEEK);
        }
        let Some(o) = self.open(h) else { return fail(0, INVALID_HANDLE) };
        let base = match method {
            0 => 0i128,
            1 => i128::from(o.pos),
            _ => self.files[&o.key].len() as i128,
        };
        let new = base + i128::from(distance);
        if new < 0 {
            return fail(0, NEGATIVE_SEEK);
        }
        if new > i128::from(i64::MAX) {
            return fail(0, INVALID_PARAMETER);
        }
        self.handles[h].as_mut().expect("open").pos = new as u64;
        ok(new as i64)
    }

    /// SetEndOfFile (§28.15, no sections).
    pub fn set_end(&mut self, h: usize) -> Answer {
        let Some(o) = self.open(h) else { return fail(0, INVALID_HANDLE) };
        if o.access & (WRITE | APPEND) == 0 {
            return fail(0, ACCESS_DENIED);
        }
        let (key, pos) = (o.key.clone(), o.pos);
        let size = self.files[&key].len() as u64;
        if pos > size && self.total() + (pos - size) > CAPACITY {
            return fail(0, DISK_FULL);
        }
        self.files.get_mut(&key).expect("open file").resize(pos as usize, 0);
        ok(1)
    }

    /// GetFileSizeEx (§28.18).
    pub fn size(&self, h: usize) -> Answer {
        match self.open(h) {
            Some(o) => ok(self.files[&o.key].len() as i64),
            None => fail(0, INVALID_HANDLE),
        }
    }

    /// DeleteFile (§28.12).
    pub fn delete(&mut self, name: &str) -> Answer {
        let key = name.to_uppercase();
        if !self.files.contains_key(&key) {
            return fail(0, FILE_NOT_FOUND);
        }
        if self.pending.contains(&key) {
            return fail(0, ACCESS_DENIED);
        }
        if !self.shares_with(&key, DELETE, 7) {
            return fail(0, SHARING_VIOLATION);
        }
        if self.handles.iter().flatten().any(|o| o.key == key) {
            self.pending.insert(key);
        } else {
            self.files.remove(&key);
        }
        ok(1)
    }

    /// CloseHandle: the last handle of a delete-pending file takes its name.
    pub fn close(&mut self, h: usize) -> Answer {
        let Some(o) = self.handles.get_mut(h).and_then(|o| o.take()) else { return fail(0, INVALID_HANDLE) };
        if self.pending.contains(&o.key) && !self.handles.iter().flatten().any(|x| x.key == o.key) {
            self.pending.remove(&o.key);
            self.files.remove(&o.key);
        }
        ok(1)
    }
}
