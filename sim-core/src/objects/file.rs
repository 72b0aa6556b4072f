//! Files on the run's in-memory volume (docs/semantics.md §28): CreateFile on paths,
//! ReadFile/WriteFile at the file pointer, SetFilePointer(Ex), SetEndOfFile,
//! GetFileSize(Ex), FlushFileBuffers, DeleteFile, GetFileType, CreateDirectory,
//! RemoveDirectory, and the file side of file-backed sections (section.rs maps them).
//!
//! The volume is one drive, `C:`, that lives as long as the run, across its processes.
//! A file's data is a [`FileNode`], a kernel object no handle names (like NTFS's FCB and
//! the cache manager's section object pointers in one): the volume holds a reference
//! on it while its name is linked, each open file object holds one, and each file-backed
//! section holds one. Its bytes are sparse 4 KiB pages (a page never written reads as
//! zeros), shared with every view of every section of the file, so views and
//! ReadFile/WriteFile see the same bytes, as the cache manager gives on Windows (§28.16).
//!
//! A handle from CreateFile names a [`DiskFile`], the file object: its granted access,
//! its share mode and its file pointer. I/O is synchronous and never waits (an
//! in-memory volume has no latency): every call completes in its own step.

use super::section::{PAGE_SIZE, Page};
use super::{Body, ObjectId, ObjectType};
use crate::api::{IoBuffer, Overlapped};
use crate::error::*;
use crate::kernel::io::IoCompletionRoutine;
use crate::kernel::request::{Api, Done, Reply, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A file on the volume, by path and contents: what `Config::files` and `Sim::file`
/// preload, and what `Kernel::volume_files` reads back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeFile {
    /// Its path, `C:\dir\name.ext` (missing directories are created with it).
    pub path: String,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// How many bytes of each file `RunReport::volume` shows.
pub const VOLUME_REPORT_BYTES: u64 = 16 << 20;

/// The run's volume: names and directories.
#[derive(Debug, Default)]
pub struct Volume {
    /// Linked file names: upper-case key → the file's node (the volume holds a reference
    /// on each).
    pub files: BTreeMap<String, ObjectId>,
    /// Directories other than the root: upper-case key → path as created.
    pub dirs: BTreeMap<String, String>,
    /// The sum of the sizes of the files whose data exists (linked or still open): what
    /// `Config::volume_bytes_max` caps (§28.20).
    pub bytes: u64,
}

crate::kernel::lazy::fresh_shared!(Volume);

/// A file's data and sharing state (not reachable through a handle).
#[derive(Debug)]
pub struct FileNode {
    /// Its path as created.
    pub path: String,
    /// Its upper-case key in the volume.
    pub key: String,
    /// Its size in bytes (the end of file).
    pub size: u64,
    /// Pages written so far, by page index (sparse: a missing page reads as zeros).
    pub pages: BTreeMap<u64, Page>,
    /// Its name is in the volume.
    pub linked: bool,
    /// DeleteFile (or a FILE_FLAG_DELETE_ON_CLOSE handle's close) marked it: the name
    /// lingers until the last file object closes, and opening it fails (§28.12).
    pub delete_pending: bool,
    /// File objects on it that still have a handle, in open order (the share-mode check).
    pub opens: Vec<ObjectId>,
    /// Live file-backed sections of it.
    pub sections: Vec<ObjectId>,
    /// A section was created on it once: its ReadFile/WriteFile reach the data-race
    /// detector's shadow memory from then on (§28.19).
    pub mapped: bool,
}

/// A file object on a volume file: what a CreateFile handle names.
#[derive(Debug)]
pub struct DiskFile {
    /// The file's node (a reference is held on it).
    pub node: ObjectId,
    /// The access granted (generic rights mapped).
    pub access: u32,
    /// dwShareMode.
    pub share: u32,
    /// The file pointer.
    pub position: u64,
    /// Opened with FILE_FLAG_OVERLAPPED: there is no file pointer (§28.21).
    pub overlapped: bool,
    /// FILE_FLAG_DELETE_ON_CLOSE.
    pub delete_on_close: bool,
}

/// The data rights the share-mode check looks at (§28.8).
const DATA_RIGHTS: u32 = FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_EXECUTE | DELETE;

/// Whether two opens (granted access, share mode) may coexist: each one's data rights
/// must be shared by the other; an open with no data right takes part in no check
/// (§28.8; Wine dlls/kernel32/tests/file.c, test_file_sharing).
pub fn sharing_compatible(access1: u32, share1: u32, access2: u32, share2: u32) -> bool {
    let (a1, a2) = (access1 & DATA_RIGHTS, access2 & DATA_RIGHTS);
    let all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
    let s1 = if a1 == 0 { all } else { share1 };
    let s2 = if a2 == 0 { all } else { share2 };
    let conflict = |a: u32, s: u32| {
        (a & (FILE_READ_DATA | FILE_EXECUTE) != 0 && s & FILE_SHARE_READ == 0)
            || (a & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 && s & FILE_SHARE_WRITE == 0)
            || (a & DELETE != 0 && s & FILE_SHARE_DELETE == 0)
    };
    !conflict(a1, s2) && !conflict(a2, s1)
}

/// A parsed path: its components (as written) and its upper-case key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumePath {
    /// The components below the root, as written.
    pub parts: Vec<String>,
}

impl VolumePath {
    /// `C:\A\B`, upper-cased: the volume's key (names are case-insensitive, §28.2).
    pub fn key(&self) -> String {
        key_of(&self.parts)
    }
    /// The key of the directory holding it (`C:` for the root).
    pub fn parent_key(&self) -> String {
        key_of(&self.parts[..self.parts.len().saturating_sub(1)])
    }
    /// The path as written, `C:\a\b`.
    pub fn display(&self) -> String {
        format!("C:\\{}", self.parts.join("\\"))
    }
}

fn key_of(parts: &[String]) -> String {
    let mut k = String::from("C:");
    for p in parts {
        k.push('\\');
        k.push_str(&p.to_uppercase());
    }
    k
}

/// Parses a Win32 path on the volume (§28.2): `C:\dir\file`, `\dir\file` (the root of
/// the current drive), or relative to the current directory, which is `C:\` for every
/// simulated process \[inferred\]. `/` separates like `\`; `.` and `..` are resolved; a
/// `\\?\` prefix is accepted. Another drive letter → ERROR_PATH_NOT_FOUND (no such
/// volume); the characters `<>:"|?*` and control characters in a name →
/// ERROR_INVALID_NAME; an empty path → ERROR_PATH_NOT_FOUND.
pub fn parse_path(path: &str) -> Result<VolumePath, Win32Error> {
    let p = path.strip_prefix(r"\\?\").unwrap_or(path).replace('/', "\\");
    if p.is_empty() {
        return Err(ERROR_PATH_NOT_FOUND);
    }
    let rest: &str = match p.as_bytes() {
        [d, b':', ..] if d.is_ascii_alphabetic() => {
            if !d.eq_ignore_ascii_case(&b'C') {
                return Err(ERROR_PATH_NOT_FOUND);
            }
            &p[2..]
        }
        // A UNC path (\\server\share) names no volume of this machine.
        [b'\\', b'\\', ..] => return Err(ERROR_PATH_NOT_FOUND),
        _ => &p,
    };
    let mut parts: Vec<String> = Vec::new();
    for c in rest.split('\\') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => {
                if name.chars().any(|ch| (ch as u32) < 0x20 || "<>:\"|?*".contains(ch)) {
                    return Err(ERROR_INVALID_NAME);
                }
                // Win32 drops trailing dots and spaces from a name [D: Naming Files].
                let trimmed = name.trim_end_matches(['.', ' ']);
                if trimmed.is_empty() {
                    return Err(ERROR_INVALID_NAME);
                }
                parts.push(trimmed.to_string());
            }
        }
    }
    Ok(VolumePath { parts })
}

/// What a path names on the volume.
enum Lookup {
    /// A linked file.
    File(ObjectId),
    /// A directory (or the root).
    Dir,
    /// Nothing, in an existing directory.
    Missing,
}

fn round_up_page(v: u64) -> u64 {
    v.div_ceil(PAGE_SIZE).saturating_mul(PAGE_SIZE)
}

impl Kernel {
    pub(crate) fn node(&self, id: ObjectId) -> &FileNode {
        match &self.objects[id].body {
            Body::FileNode(n) => n,
            _ => panic!("simulator bug: not a file node"),
        }
    }

    pub(crate) fn node_mut(&mut self, id: ObjectId) -> &mut FileNode {
        match &mut self.objects[id].body {
            Body::FileNode(n) => n,
            _ => panic!("simulator bug: not a file node"),
        }
    }

    fn disk_file(&self, id: ObjectId) -> &DiskFile {
        match &self.objects[id].body {
            Body::DiskFile(f) => f,
            _ => panic!("simulator bug: not a disk file"),
        }
    }

    fn disk_file_mut(&mut self, id: ObjectId) -> &mut DiskFile {
        match &mut self.objects[id].body {
            Body::DiskFile(f) => f,
            _ => panic!("simulator bug: not a disk file"),
        }
    }

    /// Whether `h` names a file object on the volume (ReadFile, WriteFile and
    /// FlushFileBuffers dispatch on this).
    pub(crate) fn is_disk_file_handle(&self, pid: Pid, tid: Tid, h: HANDLE) -> bool {
        self.thread(tid).granted.is_none()
            && self.object_from_handle(pid, tid, h, Some(ObjectType::DiskFile), 0).is_ok()
    }

    /// What `path` names; ERROR_PATH_NOT_FOUND when a directory on the way is missing
    /// (or is a file, §28.3).
    fn lookup(&self, path: &VolumePath) -> Result<Lookup, Win32Error> {
        let parent = path.parent_key();
        if parent != "C:" && !self.volume.dirs.contains_key(&parent) {
            return Err(ERROR_PATH_NOT_FOUND);
        }
        if path.parts.is_empty() {
            return Ok(Lookup::Dir);
        }
        let key = path.key();
        if let Some(&id) = self.volume.files.get(&key) {
            return Ok(Lookup::File(id));
        }
        if self.volume.dirs.contains_key(&key) {
            return Ok(Lookup::Dir);
        }
        Ok(Lookup::Missing)
    }

    /// A new, empty, linked file node.
    fn new_node(&mut self, path: &VolumePath) -> ObjectId {
        let key = path.key();
        let node = FileNode {
            path: path.display(),
            key: key.clone(),
            size: 0,
            pages: BTreeMap::new(),
            linked: true,
            delete_pending: false,
            opens: Vec::new(),
            sections: Vec::new(),
            mapped: false,
        };
        let id = self.alloc_object(Body::FileNode(node), None);
        self.add_ref(id);
        self.volume.files.insert(key, id);
        id
    }

    /// Preloads a file (Config::files, Sim::file): its directories are created, an
    /// existing file of that name is replaced. A bad path is ignored.
    pub(crate) fn preload_file(&mut self, path: &str, data: &[u8]) {
        let Ok(p) = parse_path(path) else { return };
        if p.parts.is_empty() {
            return;
        }
        for i in 1..p.parts.len() {
            let dir = VolumePath { parts: p.parts[..i].to_vec() };
            self.volume.dirs.entry(dir.key()).or_insert_with(|| dir.display());
        }
        if self.volume.dirs.contains_key(&p.key()) {
            return;
        }
        let id = match self.volume.files.get(&p.key()) {
            Some(&id) => id,
            None => self.new_node(&p),
        };
        let old = self.node(id).size;
        self.volume.bytes = self.volume.bytes - old + data.len() as u64;
        let n = self.node_mut(id);
        n.pages.clear();
        n.size = 0;
        write_bytes(n, 0, data);
        n.size = data.len() as u64;
    }

    /// The linked files of the volume, by path, in key order (tests and reports); each
    /// file's first `VOLUME_REPORT_BYTES` bytes (a sparse file may be huge).
    pub fn volume_files(&self) -> Vec<VolumeFile> {
        self.volume
            .files
            .values()
            .map(|&id| {
                let n = self.node(id);
                let mut data = vec![0u8; n.size.min(VOLUME_REPORT_BYTES) as usize];
                read_bytes(n, 0, &mut data);
                VolumeFile { path: n.path.clone(), data }
            })
            .collect()
    }

    /// Whether a writable section exists on `node` (an open that does not share write
    /// then fails, §28.9).
    fn has_writable_section(&self, node: ObjectId) -> bool {
        self.node(node).sections.iter().any(|&s| match &self.objects[s].body {
            Body::Section(sec) => matches!(sec.protect, PAGE_READWRITE | PAGE_EXECUTE_READWRITE),
            _ => false,
        })
    }

    /// Whether a section of `node` keeps it from shrinking to `size` (ERROR_USER_MAPPED_FILE,
    /// §28.15).
    fn mapped_beyond(&self, node: ObjectId, size: u64) -> bool {
        self.node(node).sections.iter().any(|&s| match &self.objects[s].body {
            Body::Section(sec) => round_up_page(size) < sec.size,
            _ => false,
        })
    }

    /// Changes a file's size (truncating drops the pages past the end and zeroes the
    /// rest of the last page; extending reads as zeros), within the volume's capacity.
    fn resize(&mut self, node: ObjectId, size: u64) -> Result<(), Win32Error> {
        let old = self.node(node).size;
        if size > old {
            let grow = size - old;
            if self.volume.bytes.saturating_add(grow) > self.config.volume_bytes_max {
                return Err(ERROR_DISK_FULL);
            }
            self.volume.bytes += grow;
        } else {
            self.volume.bytes -= old - size;
        }
        let n = self.node_mut(node);
        // The bytes past the old end (in its last page) read as zeros once inside.
        let cut = size.min(old);
        let first_gone = cut.div_ceil(PAGE_SIZE);
        n.pages.retain(|&p, _| p < first_gone);
        if !cut.is_multiple_of(PAGE_SIZE)
            && let Some(p) = n.pages.get_mut(&(cut / PAGE_SIZE))
        {
            p[(cut % PAGE_SIZE) as usize..].fill(0);
        }
        n.size = size;
        Ok(())
    }

    /// CreateFile on a path of the volume (§§28.1-28.13).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_disk_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        name: &str,
        access: u32,
        share: u32,
        inherit: bool,
        disposition: u32,
        flags: u32,
    ) -> CallResult {
        if !(CREATE_NEW..=TRUNCATE_EXISTING).contains(&disposition) {
            return Err(ERROR_INVALID_PARAMETER);
        }
        // TRUNCATE_EXISTING needs GENERIC_WRITE in the request itself (§28.5).
        if disposition == TRUNCATE_EXISTING && access & GENERIC_WRITE == 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let path = parse_path(name)?;
        let delete_on_close = flags & FILE_FLAG_DELETE_ON_CLOSE != 0;
        // kernelbase adds SYNCHRONIZE and FILE_READ_ATTRIBUTES, and DELETE for
        // FILE_FLAG_DELETE_ON_CLOSE (§28.7).
        let mut granted =
            super::process::map_generic(ObjectType::DiskFile, access) | SYNCHRONIZE | FILE_READ_ATTRIBUTES;
        if delete_on_close {
            granted |= DELETE;
        }
        let share = share & (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE);
        let found = self.lookup(&path)?;
        let (node, created, existed) = match found {
            // A directory: CreateFile opens one only with FILE_FLAG_BACKUP_SEMANTICS,
            // which is not modelled (§28.3).
            Lookup::Dir if disposition == CREATE_NEW => return Err(ERROR_FILE_EXISTS),
            Lookup::Dir => return Err(ERROR_ACCESS_DENIED),
            Lookup::Missing => match disposition {
                OPEN_EXISTING | TRUNCATE_EXISTING => return Err(ERROR_FILE_NOT_FOUND),
                _ => (None, true, false),
            },
            Lookup::File(id) => {
                if disposition == CREATE_NEW {
                    return Err(ERROR_FILE_EXISTS);
                }
                // A file whose deletion is pending cannot be opened (STATUS_DELETE_PENDING,
                // §28.12).
                if self.node(id).delete_pending {
                    return Err(ERROR_ACCESS_DENIED);
                }
                (Some(id), false, true)
            }
        };
        if let Some(id) = node {
            // The share-mode check against every open of the file (§28.8), then a
            // writable section's (§28.9).
            let conflict = self.node(id).opens.iter().any(|&o| {
                let f = self.disk_file(o);
                !sharing_compatible(f.access, f.share, granted, share)
            });
            if conflict || (share & FILE_SHARE_WRITE == 0 && self.has_writable_section(id)) {
                return Err(ERROR_SHARING_VIOLATION);
            }
            // Overwriting (CREATE_ALWAYS, TRUNCATE_EXISTING) a file with a section fails
            // (§28.15).
            let overwrite = matches!(disposition, CREATE_ALWAYS | TRUNCATE_EXISTING);
            if overwrite && self.mapped_beyond(id, 0) {
                return Err(ERROR_USER_MAPPED_FILE);
            }
            if overwrite {
                self.resize(id, 0)?;
            }
        }
        let node = match node {
            Some(id) => id,
            None => self.new_node(&path),
        };
        let f = DiskFile {
            node,
            access: granted,
            share,
            position: 0,
            overlapped: flags & FILE_FLAG_OVERLAPPED != 0,
            delete_on_close,
        };
        let file = self.alloc_object(Body::DiskFile(f), None);
        self.add_ref(node);
        let how = if created { "created" } else { "opened" };
        let origin = self.origin(pid, tid, "CreateFile", how, None);
        let h = match self.alloc_handle(pid, file, granted, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin])
        {
            Ok(h) => h,
            Err(e) => {
                self.maybe_destroy(file);
                if created {
                    self.unlink(node);
                }
                return Err(e);
            }
        };
        self.node_mut(node).opens.push(file);
        self.note_effect(|k| format!("{} {} ({} bytes)", how, k.describe(node), k.node(node).size));
        // CREATE_ALWAYS and OPEN_ALWAYS over an existing file say so; every other success
        // sets the last error to 0 (§28.4).
        let last_error = if existed && matches!(disposition, CREATE_ALWAYS | OPEN_ALWAYS) {
            ERROR_ALREADY_EXISTS
        } else {
            ERROR_SUCCESS
        };
        Ok(Done { value: Value::Handle(h), last_error: Some(last_error) })
    }

    /// Removes a node's name from the volume (the volume's reference goes).
    fn unlink(&mut self, node: ObjectId) {
        if !self.node(node).linked {
            return;
        }
        let key = self.node(node).key.clone();
        if self.volume.files.get(&key) == Some(&node) {
            self.volume.files.remove(&key);
        }
        self.node_mut(node).linked = false;
        self.release(node);
    }

    /// The file object `h` names, with `access` checked.
    fn disk_handle(&self, pid: Pid, tid: Tid, h: HANDLE, access: u32) -> Result<ObjectId, Win32Error> {
        self.object_from_handle(pid, tid, h, Some(ObjectType::DiskFile), access)
    }

    /// The file object of a call on a handle that must be a volume file: another kind of
    /// file object (pipe, mailslot, socket) → ERROR_INVALID_FUNCTION [inferred], any other
    /// object → ERROR_INVALID_HANDLE.
    fn disk_handle_or(&self, pid: Pid, tid: Tid, h: HANDLE, access: u32) -> Result<ObjectId, Win32Error> {
        match self.disk_handle(pid, tid, h, access) {
            Err(ERROR_INVALID_HANDLE) => {
                match self.object_from_handle(pid, tid, h, None, 0).map(|id| &self.objects[id].body) {
                    Ok(Body::File(_) | Body::Mailslot(_) | Body::MailslotClient(_) | Body::Socket(_)) => {
                        Err(ERROR_INVALID_FUNCTION)
                    }
                    _ => Err(ERROR_INVALID_HANDLE),
                }
            }
            r => r,
        }
    }

    /// Records a ReadFile/WriteFile of `[offset, offset + len)` of a mapped file for the
    /// race detector, as the view accesses of its sections are (§28.19).
    fn race_file_access(&mut self, pid: Pid, tid: Tid, node: ObjectId, offset: u64, len: u64, write: bool) {
        if self.config.race_detection == crate::kernel::race::RaceDetection::Off || !self.node(node).mapped {
            return;
        }
        let api = if write { Api::WriteFile } else { Api::ReadFile };
        let mut done = 0u64;
        while done < len {
            let off = offset + done;
            let n = (len - done).min(PAGE_SIZE - off % PAGE_SIZE);
            let key = crate::kernel::race::MemKey::Section(node);
            let access =
                crate::kernel::race::MemAccess { key, offset: off, len: n, write, atomic: false, address: off, api };
            self.race_memory(pid, tid, access);
            done += n;
        }
    }

    /// ReadFile (and ReadFileEx) on a volume file (§28.10, §28.21): from the file pointer,
    /// or from the OVERLAPPED's offset, up to the end of file. Without an OVERLAPPED a
    /// read at or past the end returns TRUE with 0 bytes; with one it fails with
    /// ERROR_HANDLE_EOF. I/O never waits: with an OVERLAPPED it completes at once, its
    /// OVERLAPPED and event (and a completion routine) hearing of it as for any
    /// completion at once (§16).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn disk_read_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        h: HANDLE,
        len: u32,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
        routine: Option<IoCompletionRoutine>,
    ) -> Exec {
        let id = match self.disk_handle(pid, tid, h, FILE_READ_DATA) {
            Ok(id) => id,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let (node, sync) = {
            let f = self.disk_file(id);
            (f.node, !f.overlapped)
        };
        let Some(ov) = overlapped else {
            if !sync {
                // No file pointer on an overlapped file object: NtReadFile needs a
                // ByteOffset (§28.21).
                return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
            }
            let pos = self.disk_file(id).position;
            return Exec::Done(self.read_at(pid, tid, id, pos, len, false).into());
        };
        let pos = ov.offset();
        let mut t = match self.begin_async_with(pid, tid, api, id, &ov, buffer, routine.is_none()) {
            Ok(t) => t,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        t.routine = routine;
        let r = if pos >= self.node(node).size && len > 0 {
            // STATUS_END_OF_FILE with an OVERLAPPED (§28.21).
            Err(ERROR_HANDLE_EOF)
        } else {
            self.read_at(pid, tid, id, pos, len, sync)
        };
        self.finish_async_now(tid, api, t, r.into())
    }

    /// Reads `len` bytes of the file of `id` from `pos` (up to its end); the file pointer
    /// moves past them when `move_pointer` (a read without an OVERLAPPED, or with one on a
    /// synchronous handle).
    fn read_at(&mut self, pid: Pid, tid: Tid, id: ObjectId, pos: u64, len: u32, move_pointer: bool) -> CallResult {
        let node = self.disk_file(id).node;
        if u64::from(len) > u64::from(self.config.io_bytes_max) {
            let max = self.config.io_bytes_max;
            return Err(self.hit_limit(
                crate::report::LimitKind::IoBytes,
                format!("a {len}-byte I/O exceeds io_bytes_max ({max})"),
            ));
        }
        let size = self.node(node).size;
        let n = size.saturating_sub(pos).min(u64::from(len));
        let mut data = vec![0u8; n as usize];
        read_bytes(self.node(node), pos, &mut data);
        let f = self.disk_file_mut(id);
        if move_pointer || !f.overlapped {
            f.position = pos + n;
        }
        self.race_file_access(pid, tid, node, pos, n, false);
        self.note_effect(|k| format!("reads {n} bytes of {} at {pos}", k.describe(node)));
        Ok(Value::Read(data).into())
    }

    /// WriteFile (and WriteFileEx) on a volume file (§28.11, §28.21): at the file pointer,
    /// or at the OVERLAPPED's offset (0xFFFFFFFF_FFFFFFFF: at the end of file), and at the
    /// end of file for a handle with FILE_APPEND_DATA and not FILE_WRITE_DATA; extending
    /// the file, with zeros in any gap.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn disk_write_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        h: HANDLE,
        data: &[u8],
        overlapped: Option<Overlapped>,
        routine: Option<IoCompletionRoutine>,
    ) -> Exec {
        let id = match self.disk_handle(pid, tid, h, FILE_WRITE_DATA) {
            Ok(id) => Ok(id),
            Err(ERROR_ACCESS_DENIED) => self.disk_handle(pid, tid, h, FILE_APPEND_DATA),
            Err(e) => Err(e),
        };
        let id = match id {
            Ok(id) => id,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let sync = !self.disk_file(id).overlapped;
        let Some(ov) = overlapped else {
            if !sync {
                return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
            }
            let pos = self.disk_file(id).position;
            return Exec::Done(self.write_at(pid, tid, id, Some(pos), data).into());
        };
        let pos = ov.offset();
        let mut t = match self.begin_async_with(pid, tid, api, id, &ov, None, routine.is_none()) {
            Ok(t) => t,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        t.routine = routine;
        let r = self.write_at(pid, tid, id, (pos != u64::MAX).then_some(pos), data);
        self.finish_async_now(tid, api, t, r.into())
    }

    /// Writes `data` to the file of `id` at `pos` (`None`: at the end of file); the file
    /// pointer of a synchronous file object moves past them.
    fn write_at(&mut self, pid: Pid, tid: Tid, id: ObjectId, pos: Option<u64>, data: &[u8]) -> CallResult {
        let (node, append, sync) = {
            let f = self.disk_file(id);
            (f.node, f.access & FILE_WRITE_DATA == 0, !f.overlapped)
        };
        if data.len() as u64 > u64::from(self.config.io_bytes_max) {
            let max = self.config.io_bytes_max;
            let n = data.len();
            return Err(self
                .hit_limit(crate::report::LimitKind::IoBytes, format!("a {n}-byte I/O exceeds io_bytes_max ({max})")));
        }
        let size = self.node(node).size;
        let at = if append { size } else { pos.unwrap_or(size) };
        let len = data.len() as u64;
        if len == 0 {
            // A zero-length write changes nothing, not even the size (§28.11).
            return Ok(Value::Written(0).into());
        }
        let Some(end) = at.checked_add(len).filter(|&e| e <= i64::MAX as u64) else {
            return Err(ERROR_INVALID_PARAMETER);
        };
        if end > size {
            self.resize(node, end)?;
        }
        write_bytes(self.node_mut(node), at, data);
        if sync {
            self.disk_file_mut(id).position = end;
        }
        self.race_file_access(pid, tid, node, at, len, true);
        self.note_effect(|k| format!("writes {len} bytes to {} at {at}", k.describe(node)));
        Ok(Value::Written(len as u32).into())
    }

    /// FlushFileBuffers on a volume file: TRUE with write access (nothing is cached in
    /// virtual time); ERROR_ACCESS_DENIED without (§28.23).
    pub(crate) fn disk_flush_file_buffers(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = self.disk_handle(pid, tid, h, 0)?;
        if self.disk_file(id).access & (FILE_WRITE_DATA | FILE_APPEND_DATA) == 0 {
            return Err(ERROR_ACCESS_DENIED);
        }
        Ok(Value::Bool(true).into())
    }

    /// SetFilePointer (§28.17): `distance` is the signed 32-bit lDistanceToMove, or the
    /// 64-bit value with *lpDistanceToMoveHigh when `high` is set.
    pub(crate) fn set_file_pointer(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        distance: i64,
        _high: bool,
        method: u32,
    ) -> CallResult {
        let pos = self.move_pointer(pid, tid, h, distance, method)?;
        // A success whose low part is INVALID_SET_FILE_POINTER sets the last error to 0,
        // so a caller can tell it from a failure (§28.17).
        let last_error = (pos as u32 == INVALID_SET_FILE_POINTER).then_some(ERROR_SUCCESS);
        Ok(Done { value: Value::FilePos(pos), last_error })
    }

    /// SetFilePointerEx (§28.17).
    pub(crate) fn set_file_pointer_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        distance: i64,
        method: u32,
    ) -> CallResult {
        let pos = self.move_pointer(pid, tid, h, distance, method)?;
        Ok(Value::FilePos(pos).into())
    }

    fn move_pointer(&mut self, pid: Pid, tid: Tid, h: HANDLE, distance: i64, method: u32) -> Result<u64, Win32Error> {
        // kernel32 checks the method, and works out a FILE_BEGIN position, before it asks
        // the file system anything: a bad method or a negative FILE_BEGIN position fails
        // whatever the handle (§28.17).
        if !matches!(method, FILE_BEGIN | FILE_CURRENT | FILE_END) {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if method == FILE_BEGIN && distance < 0 {
            return Err(ERROR_NEGATIVE_SEEK);
        }
        let id = self.disk_handle_or(pid, tid, h, 0)?;
        let f = self.disk_file(id);
        let base = match method {
            FILE_BEGIN => 0i128,
            FILE_CURRENT => i128::from(f.position),
            _ => i128::from(self.node(f.node).size),
        };
        let new = base + i128::from(distance);
        if new < 0 {
            // The pointer stays (§28.17).
            return Err(ERROR_NEGATIVE_SEEK);
        }
        // FilePositionInformation takes a LARGE_INTEGER: past i64::MAX is invalid [inferred].
        let new = u64::try_from(new).ok().filter(|&n| n <= i64::MAX as u64).ok_or(ERROR_INVALID_PARAMETER)?;
        self.disk_file_mut(id).position = new;
        Ok(new)
    }

    /// SetEndOfFile (§28.15): the file ends at the file pointer.
    pub(crate) fn set_end_of_file(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = match self.disk_handle_or(pid, tid, h, FILE_WRITE_DATA) {
            Err(ERROR_ACCESS_DENIED) if self.disk_handle(pid, tid, h, FILE_APPEND_DATA).is_ok() => {
                self.disk_handle(pid, tid, h, FILE_APPEND_DATA)?
            }
            r => r?,
        };
        let (node, pos) = {
            let f = self.disk_file(id);
            (f.node, f.position)
        };
        if pos < self.node(node).size && self.mapped_beyond(node, pos) {
            return Err(ERROR_USER_MAPPED_FILE);
        }
        self.resize(node, pos)?;
        self.note_effect(|k| format!("{} now ends at {pos}", k.describe(node)));
        Ok(Value::Bool(true).into())
    }

    /// GetFileSize (§28.18): the low part, the high part through the out-parameter.
    pub(crate) fn get_file_size(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let size = self.file_size(pid, tid, h)?;
        let last_error = (size as u32 == INVALID_FILE_SIZE).then_some(ERROR_SUCCESS);
        Ok(Done { value: Value::FilePos(size), last_error })
    }

    /// GetFileSizeEx (§28.18).
    pub(crate) fn get_file_size_ex(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        Ok(Value::FilePos(self.file_size(pid, tid, h)?).into())
    }

    fn file_size(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<u64, Win32Error> {
        let id = self.disk_handle_or(pid, tid, h, 0)?;
        Ok(self.node(self.disk_file(id).node).size)
    }

    /// GetFileType (§28.22): FILE_TYPE_DISK for a volume file, FILE_TYPE_PIPE for a pipe
    /// or socket, FILE_TYPE_UNKNOWN (last error 0) for a mailslot, and FILE_TYPE_UNKNOWN
    /// with ERROR_INVALID_HANDLE for anything else.
    pub(crate) fn get_file_type(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let ty = match self.object_from_handle(pid, tid, h, None, 0).map(|id| &self.objects[id].body) {
            Ok(Body::DiskFile(_)) => FILE_TYPE_DISK,
            Ok(Body::File(_) | Body::Socket(_)) => FILE_TYPE_PIPE,
            Ok(Body::Mailslot(_) | Body::MailslotClient(_)) => {
                return Ok(Done { value: Value::U32(FILE_TYPE_UNKNOWN), last_error: Some(ERROR_SUCCESS) });
            }
            _ => return Ok(Done { value: Value::U32(FILE_TYPE_UNKNOWN), last_error: Some(ERROR_INVALID_HANDLE) }),
        };
        Ok(Value::U32(ty).into())
    }

    /// DeleteFile (§28.12): the name goes at once when no file object is open on the
    /// file, else when the last one closes (delete pending).
    pub(crate) fn delete_file(&mut self, _pid: Pid, _tid: Tid, name: Option<String>) -> CallResult {
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        let path = parse_path(&name)?;
        let node = match self.lookup(&path)? {
            Lookup::File(id) => id,
            Lookup::Missing => return Err(ERROR_FILE_NOT_FOUND),
            // DeleteFile on a directory (§28.12).
            Lookup::Dir => return Err(ERROR_ACCESS_DENIED),
        };
        if self.node(node).delete_pending {
            return Err(ERROR_ACCESS_DENIED);
        }
        // DeleteFile opens the file for DELETE, sharing everything: an open that does not
        // share delete refuses it (§28.8).
        let all = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;
        let conflict = self.node(node).opens.iter().any(|&o| {
            let f = self.disk_file(o);
            !sharing_compatible(f.access, f.share, DELETE, all)
        });
        if conflict {
            return Err(ERROR_SHARING_VIOLATION);
        }
        if self.node(node).opens.is_empty() {
            self.note_effect(|k| format!("deletes {}", k.describe(node)));
            self.unlink(node);
        } else {
            self.node_mut(node).delete_pending = true;
            self.note_effect(|k| format!("marks {} for deletion when its last handle closes", k.describe(node)));
        }
        Ok(Value::Bool(true).into())
    }

    /// CreateDirectory (§28.3).
    pub(crate) fn create_directory(
        &mut self,
        _pid: Pid,
        _tid: Tid,
        name: Option<String>,
        _inherit: bool,
    ) -> CallResult {
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        let path = parse_path(&name)?;
        match self.lookup(&path)? {
            Lookup::Missing => {}
            _ => return Err(ERROR_ALREADY_EXISTS),
        }
        self.volume.dirs.insert(path.key(), path.display());
        self.note_effect(|_| format!("creates the directory {}", path.display()));
        Ok(Value::Bool(true).into())
    }

    /// RemoveDirectory (§28.3).
    pub(crate) fn remove_directory(&mut self, _pid: Pid, _tid: Tid, name: Option<String>) -> CallResult {
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        let path = parse_path(&name)?;
        match self.lookup(&path)? {
            Lookup::Missing => return Err(ERROR_FILE_NOT_FOUND),
            Lookup::File(_) => return Err(ERROR_DIRECTORY),
            // The root cannot be removed [inferred].
            Lookup::Dir if path.parts.is_empty() => return Err(ERROR_ACCESS_DENIED),
            Lookup::Dir => {}
        }
        let key = path.key();
        let prefix = format!("{key}\\");
        let busy = self.volume.files.range(prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&prefix))
            || self.volume.dirs.range(prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&prefix));
        if busy {
            return Err(ERROR_DIR_NOT_EMPTY);
        }
        self.volume.dirs.remove(&key);
        self.note_effect(|_| format!("removes the directory {}", path.display()));
        Ok(Value::Bool(true).into())
    }

    /// CreateFileMapping on a volume file (§§28.14-28.16): checks the handle's access
    /// against the protection, sizes the section (0: the file's size) and extends the
    /// file when the protection writes. Returns the node and the section size.
    pub(crate) fn file_section_source(
        &mut self,
        pid: Pid,
        tid: Tid,
        file: HANDLE,
        protect: u32,
        maximum_size: u64,
    ) -> Result<ObjectId, Win32Error> {
        let id = self.object_from_handle(pid, tid, file, None, 0)?;
        let access = match &self.objects[id].body {
            Body::DiskFile(f) => f.access,
            // A pipe, mailslot or socket has no data a section could map:
            // STATUS_INVALID_FILE_FOR_SECTION [inferred, §28.14].
            Body::File(_) | Body::Mailslot(_) | Body::MailslotClient(_) | Body::Socket(_) => {
                return Err(ERROR_BAD_EXE_FORMAT);
            }
            // STATUS_OBJECT_TYPE_MISMATCH.
            _ => return Err(ERROR_INVALID_HANDLE),
        };
        let base = protect & 0xFF;
        let mut need = match base {
            PAGE_READWRITE | PAGE_EXECUTE_READWRITE => FILE_READ_DATA | FILE_WRITE_DATA,
            _ => FILE_READ_DATA,
        };
        if matches!(base, PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY) {
            need |= FILE_EXECUTE;
        }
        if access & need != need {
            return Err(ERROR_ACCESS_DENIED);
        }
        let node = self.disk_file(id).node;
        let size = self.node(node).size;
        if maximum_size == 0 && size == 0 {
            // STATUS_MAPPED_FILE_SIZE_ZERO (§28.14).
            return Err(ERROR_FILE_INVALID);
        }
        if maximum_size > size {
            if !matches!(base, PAGE_READWRITE | PAGE_EXECUTE_READWRITE) {
                // STATUS_SECTION_TOO_BIG: a read-only section cannot extend the file.
                return Err(ERROR_NOT_ENOUGH_MEMORY);
            }
            if maximum_size > super::section::USER_SPACE_END {
                return Err(ERROR_NOT_ENOUGH_MEMORY);
            }
            self.resize(node, maximum_size)?;
        }
        Ok(node)
    }

    /// A file-backed section was made on `node`.
    pub(crate) fn file_section_created(&mut self, node: ObjectId, section: ObjectId) {
        self.add_ref(node);
        let n = self.node_mut(node);
        n.sections.push(section);
        n.mapped = true;
    }
}

/// Copies `out.len()` bytes of the file from `at` (the range is inside the file).
pub(crate) fn read_bytes(n: &FileNode, at: u64, out: &mut [u8]) {
    let mut done = 0usize;
    while done < out.len() {
        let off = at + done as u64;
        let (page, in_page) = (off / PAGE_SIZE, (off % PAGE_SIZE) as usize);
        let k = (out.len() - done).min(PAGE_SIZE as usize - in_page);
        match n.pages.get(&page) {
            Some(p) => out[done..done + k].copy_from_slice(&p[in_page..in_page + k]),
            None => out[done..done + k].fill(0),
        }
        done += k;
    }
}

/// Copies `data` into the file at `at`, materialising pages (the size is the caller's).
pub(crate) fn write_bytes(n: &mut FileNode, at: u64, data: &[u8]) {
    let mut done = 0usize;
    while done < data.len() {
        let off = at + done as u64;
        let (page, in_page) = (off / PAGE_SIZE, (off % PAGE_SIZE) as usize);
        let k = (data.len() - done).min(PAGE_SIZE as usize - in_page);
        let p = n.pages.entry(page).or_insert_with(|| vec![0u8; PAGE_SIZE as usize].into_boxed_slice());
        p[in_page..in_page + k].copy_from_slice(&data[done..done + k]);
        done += k;
    }
}

/// The last handle to a file object closed: it leaves the share-mode accounting; a
/// FILE_FLAG_DELETE_ON_CLOSE handle marks the file for deletion; the last file object
/// of a file marked for deletion takes its name away (§28.12, §28.13).
pub(crate) fn file_closed(k: &mut Kernel, id: ObjectId) {
    let (node, doc) = {
        let f = k.disk_file(id);
        (f.node, f.delete_on_close)
    };
    let n = k.node_mut(node);
    n.opens.retain(|&o| o != id);
    if doc {
        n.delete_pending = true;
    }
    if n.delete_pending && n.opens.is_empty() {
        k.unlink(node);
    }
}

/// A file object was destroyed: its reference on the node goes.
pub(crate) fn file_destroyed(k: &mut Kernel, f: &DiskFile) {
    k.release(f.node);
}

/// A node was destroyed: its bytes leave the volume's count.
pub(crate) fn node_destroyed(k: &mut Kernel, n: &FileNode) {
    k.volume.bytes -= n.size;
}

/// A file-backed section was destroyed: it leaves its file's list and releases it.
pub(crate) fn section_destroyed(k: &mut Kernel, section: ObjectId, node: ObjectId) {
    k.node_mut(node).sections.retain(|&s| s != section);
    k.release(node);
}

/// A file object's state in words (reports).
pub(crate) fn state(k: &Kernel, f: &DiskFile) -> String {
    let n = k.node(f.node);
    format!(
        "{} ({} bytes{}), file pointer {}, access 0x{:x}, share 0x{:x}",
        n.path,
        n.size,
        if n.delete_pending { ", delete pending" } else { "" },
        f.position,
        f.access,
        f.share
    )
}
