//! Pipes: CreatePipe, ReadFile, WriteFile, PeekNamedPipe, GetNamedPipeInfo,
//! FlushFileBuffers (§§1.x-4.x of docs/semantics.md).
//!
//! A [`Pipe`] is one pipe instance as NPFS has it: two ends, each with an inbound data
//! queue (what the peer wrote and this end has not read yet) and its pending reads. An
//! anonymous pipe is a byte-mode pipe whose read end is the server end (§1.4), so
//! named pipes (duplex, message mode, instances) add states and modes, not a new shape.
//!
//! Handles refer to a [`File`] object over one end, shared by duplicates and inherited
//! copies. A synchronous file object serialises its I/O: while one call is pending on it,
//! other calls on the same file object wait their turn (docs/semantics.md §1.A).
//!
//! Write rule (§§2.2-2.5): a write is queued at once and its bytes are readable at
//! once; it completes, with its full length, when the unread bytes of all queued data up
//! to and including its own fit the quota. It never completes partially.

use super::{Body, ObjectId, ObjectType};
use crate::api::{IoBuffer, Overlapped};
use crate::error::*;
use crate::kernel::io::AsyncTarget;
use crate::kernel::ops::{OpId, OpKind, Target};
use crate::kernel::request::{Api, KeptArgs, Reply, Request, Status, Value};
use crate::kernel::sched::ChoiceKind;
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::objects::thread::Run;
use crate::report::{HandleRef, LimitKind, WaitEdge};
use crate::trace::{EventKind, push_handle, push_u64};
use crate::types::*;
use std::collections::VecDeque;

/// Index of the server end (the read end of an anonymous pipe).
pub const SERVER: usize = 0;
/// Index of the client end (the write end of an anonymous pipe).
pub const CLIENT: usize = 1;

/// Access of CreatePipe's read handle: GENERIC_READ | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE
/// (§1.3: read data, write attributes, no write data).
pub const PIPE_READ_END_ACCESS: u32 = FILE_GENERIC_READ | FILE_WRITE_ATTRIBUTES;
/// Access of CreatePipe's write handle: GENERIC_WRITE | FILE_READ_ATTRIBUTES | SYNCHRONIZE
/// (§1.3: write and append data, no read data).
pub const PIPE_WRITE_END_ACCESS: u32 = FILE_GENERIC_WRITE | FILE_READ_ATTRIBUTES;

/// One write's bytes in a data queue.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The bytes written.
    pub data: Vec<u8>,
    /// How many of them have been read. Invariant: `offset <= data.len()`.
    pub offset: usize,
    /// The WriteFile operation still pending on this entry.
    pub writer: Option<OpId>,
    /// An empty message (a zero-length write in message mode) that no read has taken yet
    /// (§5.5).
    pub empty_unread: bool,
}

impl Entry {
    fn remaining(&self) -> usize {
        self.data.len() - self.offset
    }
    /// Whether a read still has something to take from it.
    fn unread(&self) -> bool {
        self.remaining() > 0 || self.empty_unread
    }
}

/// A data queue's writes, oldest first: a ring of entries, in `VecDeque`'s order (first
/// in, first out) and with the part of its interface the pipes use.
///
/// `VecDeque::push_back` was left out of line in WriteFile's usual path, about 26
/// instructions a write where the work is a few stores (issue 13); this ring's push is
/// small enough to be inlined. Its slots are `Option`s, `None` outside the queued range,
/// so that nothing is moved into a free slot or out of a taken one but the entry itself.
#[derive(Clone, Default)]
pub struct Entries {
    /// The slots; their number is the capacity, a power of two (or 0 before the first
    /// push). The queued entries are the `len` slots from `head` on, wrapping around.
    slots: Vec<Option<Entry>>,
    head: usize,
    len: usize,
}

impl Entries {
    /// How many entries are queued.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot of the `i`-th entry (`i < len`).
    #[inline(always)]
    fn slot(&self, i: usize) -> usize {
        (self.head + i) & (self.slots.len() - 1)
    }

    /// The oldest entry.
    #[inline(always)]
    pub fn front(&self) -> Option<&Entry> {
        match self.len {
            0 => None,
            _ => self.slots[self.head].as_ref(),
        }
    }

    /// The newest entry.
    #[inline(always)]
    pub fn back_mut(&mut self) -> Option<&mut Entry> {
        match self.len {
            0 => None,
            n => {
                let at = self.slot(n - 1);
                self.slots[at].as_mut()
            }
        }
    }

    /// Queues `e` last.
    #[inline(always)]
    pub fn push_back(&mut self, e: Entry) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let at = self.slot(self.len);
        // A free slot holds nothing: it is overwritten, not dropped.
        debug_assert!(self.slots[at].is_none());
        std::mem::forget(self.slots[at].replace(e));
        self.len += 1;
    }

    /// Takes the oldest entry.
    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<Entry> {
        if self.len == 0 {
            return None;
        }
        let e = self.slots[self.head].take();
        self.head = self.slot(1);
        self.len -= 1;
        e
    }

    /// The queued slots in order: those from `head` to the end of the buffer, then those
    /// wrapped around to its start.
    fn ranges(&self) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let first = (self.slots.len() - self.head).min(self.len);
        (self.head..self.head + first, 0..self.len - first)
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        let (a, b) = self.ranges();
        self.slots[a].iter().chain(&self.slots[b]).flatten()
    }

    /// The entries, oldest first, to change.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Entry> + '_ {
        let (a, b) = self.ranges();
        // `b` lies before `a` in the buffer.
        let (low, high) = self.slots.split_at_mut(a.start);
        high[..a.len()].iter_mut().chain(&mut low[b]).flatten()
    }

    /// Keeps only the entries for which `keep` is true, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        let mut kept = 0;
        for i in 0..self.len {
            let from = self.slot(i);
            let e = self.slots[from].take().expect("a queued slot holds an entry");
            if keep(&e) {
                let to = self.slot(kept);
                self.slots[to] = Some(e);
                kept += 1;
            }
        }
        self.len = kept;
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        for i in 0..self.len {
            let at = self.slot(i);
            self.slots[at] = None;
        }
        self.head = 0;
        self.len = 0;
    }

    /// Doubles the buffer (at least 8 slots), the entries moved to its start in order.
    /// (Eight at first, not four: a pipe of nSize 4 written a byte at a time holds four
    /// entries and a pending write's, and grew a second time in every such run, one more
    /// allocation, copy and free, issue 13; eight entries are 384 bytes.)
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(8);
        let mut slots = Vec::with_capacity(cap);
        for i in 0..self.len {
            let at = self.slot(i);
            slots.push(self.slots[at].take());
        }
        slots.resize_with(cap, || None);
        self.slots = slots;
        self.head = 0;
    }
}

impl std::fmt::Debug for Entries {
    /// As a `VecDeque` shows: the entries, as a list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Data flowing one way, toward one end.
#[derive(Debug, Clone, Default)]
pub struct DataQueue {
    /// The quota: nInBufferSize for data toward the server, nOutBufferSize toward the
    /// client; nSize (0 meaning 4096) both ways for an anonymous pipe (§§1.1, 2.1).
    pub quota: u32,
    /// Writes with unread bytes, oldest first.
    pub entries: Entries,
    /// Unread bytes. Invariant: the sum of `entries[i].remaining()`.
    pub unread: u64,
    /// Bytes ever queued, and bytes ever read (FlushFileBuffers waits for the second to
    /// reach the first's value at the time of the flush).
    pub written_total: u64,
    /// Bytes ever read, plus bytes of cancelled writes discarded unread.
    pub read_total: u64,
    /// Pending FlushFileBuffers of the writing end (each knows the `read_total` it
    /// waits for).
    pub flushers: Vec<OpId>,
    /// Writes into this queue are messages (the pipe is PIPE_TYPE_MESSAGE).
    pub message: bool,
    /// Empty messages not yet read. Invariant: the number of entries with `empty_unread`.
    pub empty_messages: u32,
}

impl DataQueue {
    /// Whether a read would find something: bytes, or an empty message.
    pub fn available(&self) -> bool {
        self.unread > 0 || self.empty_messages > 0
    }

    /// Bytes left in the first unread message (0 for a byte-type queue).
    fn first_message_left(&self) -> u32 {
        if !self.message {
            return 0;
        }
        self.entries.iter().find(|e| e.unread()).map(|e| e.remaining() as u32).unwrap_or(0)
    }

    /// `pipe_progress_ops`' writes and flushes in the usual case with a write pending (a
    /// bounded producer blocked on its last write, after a read): the one pending write of
    /// all pipes (`pending`, `Kernel::pipe_writes_pending`) is this queue's last entry,
    /// and no flush waits. The scan there adds up the entries' unread bytes to reach it;
    /// the unread bytes up to and including the last entry are all the queue's (`unread`),
    /// so it completes exactly when they fit. As there, its writer is taken and the
    /// consumed entries at the front go; `Some` with the write that completes, if it does
    /// (its op and length: no other write, no flush completes), for the caller to count
    /// and complete; `None` (nothing done) in any other case.
    #[inline(always)]
    fn last_write_only(&mut self, pending: u32) -> Option<Option<(OpId, u32)>> {
        if pending != 1 || !self.flushers.is_empty() {
            return None;
        }
        let last = self.entries.back_mut()?;
        last.writer?;
        let done = if self.unread <= u64::from(self.quota) {
            last.writer.take().map(|w| (w, last.data.len() as u32))
        } else {
            None
        };
        self.pop_consumed();
        Some(done)
    }

    /// Drops fully read entries whose write has completed from the front.
    #[inline(always)]
    fn pop_consumed(&mut self) {
        while self.front_consumed() {
            self.entries.pop_front();
        }
    }

    /// Whether the front entry is one `pop_consumed` drops: fully read, its write
    /// completed.
    #[inline(always)]
    fn front_consumed(&self) -> bool {
        self.entries.front().is_some_and(|e| !e.unread() && e.writer.is_none())
    }
}

/// One end of a pipe instance.
#[derive(Debug, Clone, Default)]
pub struct PipeEnd {
    /// The file object over this end while it is open.
    pub file: Option<ObjectId>,
    /// Set when the last handle to this end's file object closed.
    pub closed: bool,
    /// What the peer wrote that this end has not read.
    pub inbound: DataQueue,
    /// ReadFile operations pending on this end, oldest first (completed in this order,
    /// as NPFS does: pending I/O order is not a scheduler choice).
    pub reads: VecDeque<OpId>,
}

/// A pipe instance.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// `[server, client]`.
    pub ends: [PipeEnd; 2],
    /// True for CreatePipe's pipes.
    pub anonymous: bool,
    /// nMaxInstances (1 for an anonymous pipe).
    pub max_instances: u32,
    /// PIPE_TYPE_MESSAGE: each write is a message.
    pub message_type: bool,
    /// A named pipe instance's connection state (None for an anonymous pipe).
    pub named: Option<super::named_pipe::Instance>,
}

/// A file object over one pipe end.
#[derive(Debug, Clone)]
pub struct File {
    /// The pipe instance.
    pub pipe: ObjectId,
    /// Which end: SERVER or CLIENT.
    pub end: usize,
    /// Opened without FILE_FLAG_OVERLAPPED (always, for CreatePipe): the I/O manager lets
    /// one call at a time proceed on it.
    pub synchronous: bool,
    /// The thread whose call holds the synchronous I/O lock.
    pub lock: Option<Tid>,
    /// Operations waiting for the lock, in arrival order.
    pub lock_waiters: Vec<OpId>,
    /// Signalled while no I/O is in progress on it (§10.7).
    pub signalled: bool,
    /// PIPE_READMODE_MESSAGE: a read returns at most one message (§5.1).
    pub read_message: bool,
    /// PIPE_NOWAIT: reads and connects return at once (§§6.10, 6.11).
    pub nowait: bool,
    /// A client file object whose server called DisconnectNamedPipe: every call on it
    /// fails with ERROR_PIPE_NOT_CONNECTED (§6.12), and it no longer is the instance's
    /// client end.
    pub disconnected: bool,
    /// The completion port it is associated with, and the key (a reference is held on
    /// the port).
    pub port: Option<(ObjectId, usize)>,
    /// FILE_SKIP_COMPLETION_PORT_ON_SUCCESS.
    pub skip_port_on_success: bool,
    /// FILE_SKIP_SET_EVENT_ON_HANDLE.
    pub skip_set_event: bool,
}

/// What a WriteFile's progress says it was (its text built only when needed).
fn write_cause(h: HANDLE, len: u32) -> impl Fn(&mut String) {
    move |s: &mut String| {
        s.push_str("WriteFile(");
        push_handle(s, h);
        s.push_str(", ");
        push_u64(s, u64::from(len));
        s.push_str(" bytes)");
    }
}

/// ReadFileEx/WriteFileEx return TRUE once the operation is under way, pending or done
/// (the result reaches the completion routine).
pub(crate) fn ex_result(exec: Exec) -> Exec {
    match exec {
        Exec::Done(Reply { status: Status::Pending | Status::Warning(_), .. }) => {
            Exec::Done(Reply::from(Value::Bool(true)))
        }
        Exec::Done(Reply { status: Status::Success | Status::SuccessSetting(_), .. }) => {
            Exec::Done(Reply::from(Value::Bool(true)))
        }
        other => other,
    }
}

/// How a data call runs (`Kernel::io_mode`).
#[derive(Debug)]
pub enum IoMode {
    /// Synchronously: the thread blocks if the call waits.
    Sync,
    /// Asynchronously, completing to this target.
    Async(AsyncTarget),
    /// Synchronously on a synchronous handle, with an OVERLAPPED that records the
    /// completion as for an asynchronous call (§16.7).
    SyncOverlapped(AsyncTarget),
}

impl File {
    /// A synchronous file object over one end of `pipe`, in byte read mode.
    pub fn new(pipe: ObjectId, end: usize) -> File {
        File {
            pipe,
            end,
            synchronous: true,
            lock: None,
            lock_waiters: Vec::new(),
            signalled: true,
            read_message: false,
            nowait: false,
            disconnected: false,
            port: None,
            skip_port_on_success: false,
            skip_set_event: false,
        }
    }
}

/// "read end" / "write end" for an anonymous pipe, "server end" / "client end" otherwise.
pub fn end_name(k: &Kernel, f: &File) -> &'static str {
    let anonymous = matches!(k.objects.get(f.pipe).map(|o| &o.body), Some(Body::Pipe(p)) if p.anonymous);
    match (anonymous, f.end) {
        (true, SERVER) => "read end",
        (true, _) => "write end",
        (false, SERVER) => "server end",
        (false, _) => "client end",
    }
}

/// An object id that names an object of another type: a bug in winsim.
#[cold]
#[inline(never)]
#[track_caller]
fn not_a(what: &str) -> ! {
    panic!("simulator bug: not {what}")
}

#[inline(always)]
pub(crate) fn file_ref(k: &Kernel, id: ObjectId) -> &File {
    match &k.objects[id].body {
        Body::File(f) => f,
        _ => not_a("a file object"),
    }
}

#[inline(always)]
pub(crate) fn file_mut(k: &mut Kernel, id: ObjectId) -> &mut File {
    match &mut k.objects[id].body {
        Body::File(f) => f,
        _ => not_a("a file object"),
    }
}

#[inline(always)]
pub(crate) fn pipe_mut(k: &mut Kernel, id: ObjectId) -> &mut Pipe {
    match &mut k.objects[id].body {
        Body::Pipe(p) => p,
        _ => not_a("a pipe"),
    }
}

#[inline(always)]
pub(crate) fn pipe_ref(k: &Kernel, id: ObjectId) -> &Pipe {
    match &k.objects[id].body {
        Body::Pipe(p) => p,
        _ => not_a("a pipe"),
    }
}

/// A read: in message read mode at most one message, with ERROR_MORE_DATA when it does
/// not fit (the rest stays queued, §§5.1-5.3); in byte read mode across writes (§3.1).
pub(crate) fn take_read(q: &mut DataQueue, len: u32, message: bool) -> Reply {
    if !message || !q.message {
        let data = take(q, len);
        return Reply::from(Value::Read(data));
    }
    let e = q.entries.iter_mut().find(|e| e.unread()).expect("a read takes from a queue with data");
    let n = (len as usize).min(e.remaining());
    let data = match whole_entry(e, n) {
        Some(data) => data,
        None => {
            let data = e.data[e.offset..e.offset + n].to_vec();
            e.offset += n;
            data
        }
    };
    let more = e.remaining() > 0;
    if e.empty_unread {
        e.empty_unread = false;
        q.empty_messages -= 1;
    }
    q.unread -= n as u64;
    q.read_total += n as u64;
    q.pop_consumed();
    if more {
        Reply { status: Status::Warning(ERROR_MORE_DATA), value: Value::Read(data) }
    } else {
        Reply::from(Value::Read(data))
    }
}

/// Takes up to `len` bytes from the front of a queue (byte mode: across writes; empty
/// messages in the way are consumed).
#[inline(always)]
fn take(q: &mut DataQueue, len: u32) -> Vec<u8> {
    take_with(q, len, |data| data)
}

/// `take`, its bytes written as a read's reply into `slot` (a thread's, which holds
/// none) in each of `take_with`'s two ways: moved there from where they lie, not through
/// a stack copy where the ways meet (issue 13: that copy read the bytes' vector back whole
/// just after it was written field by field, and waited for the writes). Returns their
/// count.
#[inline(always)]
fn take_into(q: &mut DataQueue, len: u32, slot: &mut Option<Reply>) -> usize {
    debug_assert!(slot.is_none(), "simulator bug: a thread's last reply not taken");
    take_with(q, len, |data| {
        let n = data.len();
        std::mem::forget(slot.replace(Reply::from(Value::Read(data))));
        n
    })
}

/// `take`'s work, the bytes handed to `put` in each of its two ways (inlined in each).
#[inline(always)]
fn take_with<R>(q: &mut DataQueue, len: u32, put: impl FnOnce(Vec<u8>) -> R) -> R {
    let want = (len as u64).min(q.unread) as usize;
    // A read of exactly the front write's bytes (the usual case) takes its entry, whose
    // buffer it returns (as `whole_entry`, with the consumed entry dropped at once).
    if q.entries.front().is_some_and(|e| !e.empty_unread && is_whole(e, want)) {
        let data = q.entries.pop_front().expect("checked above").data;
        let n = data.len() as u64;
        let taken = put(data);
        q.unread -= n;
        q.read_total += n;
        // No `pop_consumed` (issue 13: its test of the next entry, about 18 instructions a
        // read): the entry taken was unread, and the entries behind an unread one are
        // unread too. Reads take bytes in queue order, and what discards bytes out of
        // order (`cancel_write`, a close) drops every entry it leaves fully read.
        debug_assert!(!q.front_consumed(), "simulator bug: a fully read entry behind an unread one");
        return taken;
    }
    put(take_across(q, want))
}

/// `take` of `want` bytes (at most the unread ones) when they are not exactly the front
/// write's.
#[inline(never)]
fn take_across(q: &mut DataQueue, want: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    let mut took_empty = false;
    for e in q.entries.iter_mut() {
        // Stop once the buffer is full; a read of nothing but an empty message takes it
        // (a byte-mode reader consumes empty messages too, §5.5).
        if out.len() == want && (want > 0 || took_empty || !e.empty_unread) {
            break;
        }
        took_empty |= e.empty_unread && want == 0;
        let n = (want - out.len()).min(e.remaining());
        out.extend_from_slice(&e.data[e.offset..e.offset + n]);
        e.offset += n;
        if e.empty_unread {
            e.empty_unread = false;
            q.empty_messages -= 1;
        }
    }
    q.unread -= out.len() as u64;
    q.read_total += out.len() as u64;
    q.pop_consumed();
    out
}

/// A read of `n` bytes that takes all of an entry no write waits on: its buffer itself,
/// moved out instead of copied (the entry is then consumed: nothing left at offset 0);
/// None otherwise.
fn whole_entry(e: &mut Entry, n: usize) -> Option<Vec<u8>> {
    is_whole(e, n).then(|| std::mem::take(&mut e.data))
}

/// Whether a read of `n` bytes takes exactly entry `e`'s, whose write has completed.
#[inline(always)]
fn is_whole(e: &Entry, n: usize) -> bool {
    n > 0 && e.offset == 0 && n == e.data.len() && e.writer.is_none()
}

/// Copies up to `len` bytes from the front of a queue without consuming them; on a
/// message-type pipe from the first message only, whatever the read mode (§4.3; Wine's
/// pipe.c peeks through a byte-read-mode client).
fn peek(q: &DataQueue, len: u32) -> Vec<u8> {
    if q.message {
        let n = (len as u64).min(u64::from(q.first_message_left())) as usize;
        return q
            .entries
            .iter()
            .find(|e| e.unread())
            .map(|e| e.data[e.offset..e.offset + n].to_vec())
            .unwrap_or_default();
    }
    let want = (len as u64).min(q.unread) as usize;
    let mut out = Vec::with_capacity(want);
    for e in q.entries.iter() {
        if out.len() == want {
            break;
        }
        let n = (want - out.len()).min(e.remaining());
        out.extend_from_slice(&e.data[e.offset..e.offset + n]);
    }
    out
}

/// The access a file call needs on its handle, checked when the handle is resolved,
/// before the file object's I/O lock is taken.
fn io_access(req: &Request) -> Option<(HANDLE, u32)> {
    match req {
        Request::ReadFile { handle, .. } => Some((*handle, FILE_READ_DATA)),
        Request::WriteFile { handle, .. } => Some((*handle, FILE_WRITE_DATA)),
        // FSCTL_PIPE_PEEK needs read access (Wine probe: peeking through the write end
        // of an anonymous pipe fails with ERROR_ACCESS_DENIED).
        Request::PeekNamedPipe { handle, .. } => Some((*handle, FILE_READ_DATA)),
        Request::GetNamedPipeInfo { handle } => Some((*handle, FILE_READ_ATTRIBUTES)),
        // Wine probe: FlushFileBuffers succeeds on the read end too.
        Request::FlushFileBuffers { handle } => Some((*handle, 0)),
        // The named-pipe FSCTLs and information calls go through the same I/O manager
        // path, so a synchronous file object serialises them too (§1.A).
        Request::ConnectNamedPipe { pipe, .. }
        | Request::DisconnectNamedPipe { pipe }
        | Request::SetNamedPipeHandleState { pipe, .. }
        | Request::GetNamedPipeHandleState { pipe, .. }
        | Request::GetNamedPipeClientProcessId { pipe }
        | Request::GetNamedPipeServerProcessId { pipe } => Some((*pipe, 0)),
        Request::TransactNamedPipe { pipe, .. } => Some((*pipe, FILE_READ_DATA | FILE_WRITE_DATA)),
        _ => None,
    }
}

/// Whether a call of `api` may involve a file object's I/O lock (`lock_file_for`):
/// CloseHandle and the calls `io_access` lists. For any other call `lock_file_for` gives
/// `Ok(None)` without a lookup, so the caller skips it on a test of the API it already
/// has, instead of two matches on the request at every call.
#[inline]
pub(crate) fn may_lock_file(api: Api) -> bool {
    matches!(
        api,
        Api::CloseHandle
            | Api::ReadFile
            | Api::WriteFile
            | Api::PeekNamedPipe
            | Api::GetNamedPipeInfo
            | Api::FlushFileBuffers
            | Api::ConnectNamedPipe
            | Api::DisconnectNamedPipe
            | Api::SetNamedPipeHandleState
            | Api::GetNamedPipeHandleState
            | Api::GetNamedPipeClientProcessId
            | Api::GetNamedPipeServerProcessId
            | Api::TransactNamedPipe
    )
}

/// Whether `lock_file_for` gives `Ok(None)` for `req` whatever the state: what
/// `may_lock_file` must say of every call it leaves out (checked in debug builds).
pub(crate) fn never_locks(req: &Request) -> bool {
    !matches!(req, Request::CloseHandle { .. }) && io_access(req).is_none()
}

/// Takes the I/O lock of a synchronous file object for a file call, if the call is one.
/// `Ok(Some(file))`: the lock is held for this call; `Ok(None)`: no lock is involved
/// (not a file call, or a handle error the call itself reports); `Err(file)`: another
/// thread's call holds the lock, and this thread is queued for it.
/// `granted` is the thread's `granted` file object, and `process` the object of process
/// `pid` (the caller has the thread at hand, which names both).
#[inline]
pub(crate) fn lock_file_for(
    k: &mut Kernel,
    (pid, process): (Pid, ObjectId),
    tid: Tid,
    req: &Request,
    granted: Option<ObjectId>,
) -> Result<Option<ObjectId>, ObjectId> {
    if let Request::CloseHandle { handle } = req {
        return close_waits_for_lock(k, pid, tid, *handle);
    }
    let Some((h, access)) = io_access(req) else { return Ok(None) };
    let r = lock_io_handle(k, (pid, process), tid, h, access, granted, false);
    // (The file object given is kept for the call, as `lock_io_handle` keeps any other.)
    if let Ok((_, Some(at))) = r {
        k.call_file = Some((pid, h, access, at.id));
    }
    r.map(|(lock, _)| lock.held())
}

/// How a file call stands with its file object's I/O lock, once `lock_io_handle` let it
/// go on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum IoLock {
    /// No lock is involved (an overlapped file object, or a handle error the call itself
    /// reports).
    Free,
    /// The lock is held for this call (taken now, or granted after waiting): it stays with
    /// the call if it blocks, else it goes (`Kernel::file_call_done`).
    Held(ObjectId),
    /// The lock was free, and nobody waits for it: it is taken only if the call blocks
    /// (`Kernel::file_call_done`). For a call that completes at once (the usual one), taking
    /// it and giving it back changes nothing anyone sees: see `lock_io_handle`.
    Deferred(ObjectId),
}

impl IoLock {
    /// The lock held for the call, if any (a caller that does not defer it).
    #[inline(always)]
    fn held(self) -> Option<ObjectId> {
        match self {
            IoLock::Free => None,
            IoLock::Held(id) => Some(id),
            IoLock::Deferred(_) => unreachable!("simulator bug: a lock deferred for a call that does not defer it"),
        }
    }
}

/// What a data call (`Kernel::read_file_at`, `Kernel::write_file_at`) needs of its file
/// object, read when the lock check resolved its handle: the file object already looked
/// up is not looked up again, nor its handle compared with the one resolved.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileAt {
    /// The file object.
    pub id: ObjectId,
    /// Its pipe and end.
    pub pipe: ObjectId,
    pub end: usize,
    /// Synchronous, connected and without PIPE_NOWAIT: the usual case's state.
    pub plain: bool,
}

impl FileAt {
    /// The file object `id`, `f`.
    #[inline(always)]
    fn of(id: ObjectId, f: &File) -> FileAt {
        FileAt { id, pipe: f.pipe, end: f.end, plain: f.synchronous && !f.disconnected && !f.nowait }
    }
}

/// `lock_file_for` of a call through handle `h` that needs `access` on it (what
/// `io_access` says of the call; the call wrapper's ReadFile and WriteFile arms know both
/// without a match on the request). It also gives the file object as `FileAt` when it
/// resolved the handle and the call may use the lock (the usual case); not for a call
/// granted the lock after waiting, which resolves its file object its own way
/// (`file_from_handle_slow`).
///
/// With `defer` (ReadFile and WriteFile without an OVERLAPPED), a free lock on a
/// signalled file object is not taken here but only if the call blocks
/// (`IoLock::Deferred`, `Kernel::file_call_done`): a call that completes at once, most of
/// them, then neither takes it nor gives it back, which changes nothing anyone sees
/// (`unlock_file` of a signalled object without waiters only frees the lock). Why: a free
/// lock has no waiters (a waiter is queued only behind a holder, and `unlock_file` grants
/// the lock to one as it frees it), and nothing reads or writes this file object's
/// `lock`, `lock_waiters` or `signalled` while such a call runs. Its handler (`read_file_at`, `write_file_at`, with no OVERLAPPED on a
/// synchronous file object: `IoMode::Sync`) touches none of them; the operations it
/// completes are other threads', which hold no lock on this file object (it is free) and
/// release only their own; the one call that queues for a lock is the executing one, in
/// `execute` before any handler; the lock's readers (the deadlock report's edges and
/// releasers, `op_reason`, the invariants) run between steps, or for a `FileLock`
/// operation on this file object, of which there is none. So at the end of the call the
/// lock is free, without waiters, and the object signalled: exactly what `unlock_file`
/// leaves after a call that took the lock and did not block (checked in debug builds).
#[inline(always)]
#[allow(clippy::type_complexity)]
pub(crate) fn lock_io_handle(
    k: &mut Kernel,
    (pid, process): (Pid, ObjectId),
    tid: Tid,
    h: HANDLE,
    access: u32,
    granted: Option<ObjectId>,
    defer: bool,
) -> Result<(IoLock, Option<FileAt>), ObjectId> {
    let id = match granted {
        // A call granted the lock after waiting already holds its file object.
        Some(id) => id,
        // `object_from_handle` for a file object, inlined: a pseudo handle names a process
        // or a thread, never a file object; a handle error is the call's to report.
        None => {
            if h == crate::types::CURRENT_PROCESS_PSEUDO_HANDLE || h == crate::types::CURRENT_THREAD_PSEUDO_HANDLE {
                return Ok((IoLock::Free, None));
            }
            // (The process through its object, without a look-up of its id.)
            let Body::Process(p) = &k.objects[process].body else { not_a("a process") };
            debug_assert!(std::ptr::eq(p, k.process(pid)));
            let Some(e) = p.handles.get(h) else { return Ok((IoLock::Free, None)) };
            let (id, granted_access) = (e.object, e.access);
            // The file object looked up once, for its type and for its lock (the handle
            // resolved is kept for the call in either case).
            let Body::File(f) = &mut k.objects[id].body else { return Ok((IoLock::Free, None)) };
            if granted_access & access != access {
                return Ok((IoLock::Free, None));
            }
            let r = take_file_lock(f, id, tid, defer);
            let at = FileAt::of(id, f);
            // The handle resolved is kept for the call (`call_file`), but for a call given
            // its file object: that one's handler keeps it where it needs it
            // (`Kernel::keep_io_call`, issue 13), or its caller does (`lock_file_for`).
            if let Ok(lock) = r
                && !matches!(lock, IoLock::Free)
            {
                return Ok((lock, Some(at)));
            }
            k.call_file = Some((pid, h, access, id));
            return r.map(|lock| (lock, None));
        }
    };
    take_file_lock(file_mut(k, id), id, tid, false).map(|lock| (lock, None))
}

/// `lock_file_for`'s test of a file object's lock, taken if free (or, with `defer`, left
/// free: `lock_io_handle`).
#[inline(always)]
fn take_file_lock(f: &mut File, id: ObjectId, tid: Tid, defer: bool) -> Result<IoLock, ObjectId> {
    if !f.synchronous {
        return Ok(IoLock::Free);
    }
    match f.lock {
        // (A file object left nonsignalled without a lock, by
        // SetFileCompletionNotificationModes with FILE_SKIP_SET_EVENT_ON_HANDLE, takes it:
        // giving it back signals the object.)
        None if defer && f.signalled => {
            debug_assert!(f.lock_waiters.is_empty(), "simulator bug: a free lock with waiters");
            Ok(IoLock::Deferred(id))
        }
        None => {
            f.lock = Some(tid);
            Ok(IoLock::Held(id))
        }
        Some(holder) if holder == tid => Ok(IoLock::Held(id)),
        Some(_) => Err(id),
    }
}

/// Queues the executing call behind the holder of a file object's lock: a `FileLock`
/// operation holding a reference on the file object.
pub(crate) fn queue_lock_wait(k: &mut Kernel, tid: Tid, file: ObjectId, req: Request) -> OpId {
    let op = k.new_op(tid, OpKind::FileLock { file, next: Box::new(req) }, None);
    file_mut(k, file).lock_waiters.push(op);
    k.add_ref(file);
    op
}

/// CloseHandle of the last handle to a synchronous file object waits for the call in
/// progress on it: the I/O manager takes the file object's lock before the cleanup, so
/// the close itself hangs behind a pending ReadFile (docs/semantics.md §1.A; bazel #1708).
/// Closing a handle that is not the last one only drops a count and never waits.
fn close_waits_for_lock(k: &mut Kernel, pid: Pid, tid: Tid, h: HANDLE) -> Result<Option<ObjectId>, ObjectId> {
    let Some(e) = k.process(pid).handles.get(h) else { return Ok(None) };
    let id = e.object;
    if e.protected() || k.objects[id].hdr.handle_count != 1 {
        return Ok(None);
    }
    let Body::File(f) = &mut k.objects[id].body else { return Ok(None) };
    match f.lock {
        Some(holder) if f.synchronous && holder != tid => Err(id),
        _ => Ok(None),
    }
}

/// The call holding a file object's lock blocked: the lock stays with it, and the file
/// object is nonsignalled while the I/O is in progress (§10.7).
pub(crate) fn hold_lock(k: &mut Kernel, id: ObjectId, tid: Tid) {
    k.thread_mut(tid).held_lock = Some(id);
    file_mut(k, id).signalled = false;
}

/// A call whose lock was deferred (`IoLock::Deferred`) blocked: it takes the lock, still
/// free, and holds it, as if it had taken it before it ran (`hold_lock`). Its thread's
/// record of the lock (`Thread::held_lock`) is the caller's to set (`Kernel::execute`
/// does, through the thread's object).
/// Inlined into the call's dispatch (issue 13: once `read_file_at` and `write_file_at`
/// were inlined there, this call's boundary cost the dispatch about 20 instructions a
/// ping-pong step in registers saved and reloaded around it).
#[inline(always)]
pub(crate) fn take_deferred_lock(k: &mut Kernel, id: ObjectId, tid: Tid) {
    let f = file_mut(k, id);
    debug_assert!(
        f.lock.is_none() && f.lock_waiters.is_empty() && f.signalled,
        "simulator bug: a deferred lock taken in the meantime"
    );
    f.lock = Some(tid);
    f.signalled = false;
}

/// A call whose lock was deferred (`IoLock::Deferred`) did not block: the lock is as it
/// was, free, without waiters, the object signalled (what `unlock_file` would leave).
#[inline(always)]
pub(crate) fn deferred_lock_unused(k: &Kernel, id: ObjectId) {
    debug_assert!(
        matches!(&k.objects.get(id).map(|o| &o.body), Some(Body::File(f)) if f.lock.is_none() && f.lock_waiters.is_empty() && f.signalled),
        "simulator bug: a deferred lock taken in the meantime"
    );
    let _ = (k, id);
}

/// Releases a file object's I/O lock and grants it to a waiting call, if any (the
/// scheduler picks among several). The granted call runs in a step of its own.
#[inline]
pub(crate) fn unlock_file(k: &mut Kernel, id: ObjectId) {
    let o = &mut k.objects[id];
    let Body::File(f) = &mut o.body else { not_a("a file object") };
    // The usual cases, inlined: nobody waits for the lock, and the object was signalled
    // (a call that did not block), or it was not (a call that blocked) and nobody waits
    // on it, so that there is no wait to wake: it is signalled again, as below.
    if f.lock_waiters.is_empty() {
        if f.signalled {
            f.lock = None;
            return;
        }
        if o.hdr.waiters.is_empty() {
            f.lock = None;
            f.signalled = true;
            return;
        }
    }
    unlock_file_waiters(k, id);
}

/// `unlock_file` when the object was nonsignalled or calls wait for its lock.
#[inline(never)]
fn unlock_file_waiters(k: &mut Kernel, id: ObjectId) {
    let f = file_mut(k, id);
    f.lock = None;
    let was_signalled = std::mem::replace(&mut f.signalled, true);
    if !f.lock_waiters.is_empty() {
        let waiters = f.lock_waiters.clone();
        let tids: Vec<Tid> = waiters.iter().map(|&op| k.ops[op].tid).collect();
        let w = k.choose(ChoiceKind::Waiter, &tids);
        let op = waiters[tids.iter().position(|&t| t == w).expect("chosen among them")];
        let f = file_mut(k, id);
        f.lock_waiters.retain(|&o| o != op);
        f.lock = Some(w);
        k.grant_file_lock(op);
    }
    if !was_signalled && !k.objects[id].hdr.waiters.is_empty() {
        let cause = k.cause(|| format!("I/O on {} completed", k.describe(id)));
        k.wake_waiters(id, &cause);
    }
}

/// Takes a pipe operation off its queue (the pipe family's `unqueue_op`): a thread
/// that ends while blocked, or a time-out.
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    match k.ops[op].kind {
        OpKind::PipeRead { file, .. } => {
            let (pipe, end) = (file_ref(k, file).pipe, file_ref(k, file).end);
            // The first match, usually at the front (reads end in the order they began):
            // a process exit cancelling thousands of reads stays linear.
            let reads = &mut pipe_mut(k, pipe).ends[end].reads;
            if let Some(i) = reads.iter().position(|&r| r == op) {
                reads.remove(i);
            }
        }
        OpKind::PipeWrite { file, .. } => cancel_write(k, file, op),
        OpKind::PipeFlush { file, .. } => {
            let (pipe, end) = (file_ref(k, file).pipe, file_ref(k, file).end);
            pipe_mut(k, pipe).ends[1 - end].inbound.flushers.retain(|&f| f != op);
        }
        OpKind::FileLock { file, .. } => {
            file_mut(k, file).lock_waiters.retain(|&o| o != op);
            k.release(file);
        }
        _ => unreachable!("not a pipe operation"),
    }
}

impl Kernel {
    /// The error a data call gets from a named pipe instance's connection state, if any:
    /// a listening server has no client yet (ERROR_PIPE_LISTENING), a disconnected
    /// instance or a disconnected client file ERROR_PIPE_NOT_CONNECTED (§6.12); a peek on a
    /// server without a client gets ERROR_BAD_PIPE (§§3.9, 4.6). Anonymous pipes are
    /// always connected.
    #[inline]
    pub(crate) fn connection_error(&self, file: ObjectId, peek: bool) -> Option<Win32Error> {
        // The usual case, inlined: an anonymous pipe's end (always connected).
        let f = file_ref(self, file);
        if !f.disconnected && pipe_ref(self, f.pipe).named.is_none() {
            return None;
        }
        self.named_connection_error(file, peek)
    }

    fn named_connection_error(&self, file: ObjectId, peek: bool) -> Option<Win32Error> {
        let f = file_ref(self, file);
        if f.disconnected {
            return Some(ERROR_PIPE_NOT_CONNECTED);
        }
        let named = pipe_ref(self, f.pipe).named.as_ref()?;
        // §3.9's table: a server without a client fails a peek with ERROR_BAD_PIPE.
        match named.state {
            super::named_pipe::InstanceState::Listening | super::named_pipe::InstanceState::Disconnected if peek => {
                Some(ERROR_BAD_PIPE)
            }
            super::named_pipe::InstanceState::Listening => Some(ERROR_PIPE_LISTENING),
            super::named_pipe::InstanceState::Disconnected => Some(ERROR_PIPE_NOT_CONNECTED),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn file_from_handle(
        &self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        access: u32,
    ) -> Result<(ObjectId, ObjectId, usize), Win32Error> {
        // The usual case, inlined: the call's I/O lock check resolved this very handle a
        // moment ago (it does so only for a call not granted its lock after waiting, so the
        // thread's `granted` need not be looked at).
        if let Some((p, ch, a, id)) = self.call_file
            && p == pid
            && ch == h
            && a == access
        {
            let f = file_ref(self, id);
            return Ok((id, f.pipe, f.end));
        }
        self.file_from_handle_slow(pid, tid, h, access)
    }

    /// `file_from_handle`'s file object alone, for a caller that looks at the object
    /// itself next: the usual case (the handle the lock check resolved) looks nothing up.
    #[inline]
    fn file_id_from_handle(&self, pid: Pid, tid: Tid, h: HANDLE, access: u32) -> Result<ObjectId, Win32Error> {
        if let Some((p, ch, a, id)) = self.call_file
            && p == pid
            && ch == h
            && a == access
        {
            return Ok(id);
        }
        self.file_from_handle_slow(pid, tid, h, access).map(|(id, _, _)| id)
    }

    /// `file_from_handle` when the lock check did not resolve the handle.
    #[inline(never)]
    fn file_from_handle_slow(
        &self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        access: u32,
    ) -> Result<(ObjectId, ObjectId, usize), Win32Error> {
        let id = match self.thread(tid).granted {
            // The call waited for this file object's lock: it referenced the object when
            // it was issued (handle and access checked then), so a handle closed in the
            // meantime does not matter (ntpipe.c read_pipe_test "Close queued handle").
            Some(id) => {
                let f = file_ref(self, id);
                if pipe_ref(self, f.pipe).ends[f.end].closed {
                    return Err(ERROR_INVALID_HANDLE);
                }
                id
            }
            // The call's I/O lock check resolved this very handle a moment ago.
            _ => match self.call_file {
                Some((p, ch, a, id)) if p == pid && ch == h && a == access => id,
                _ => self.object_from_handle(pid, tid, h, Some(ObjectType::File), access)?,
            },
        };
        let f = file_ref(self, id);
        Ok((id, f.pipe, f.end))
    }

    #[inline]
    fn io_limit(&mut self, len: usize) -> Result<(), Win32Error> {
        if len as u64 > u64::from(self.config.io_bytes_max) {
            let max = self.config.io_bytes_max;
            return Err(self.hit_limit(LimitKind::IoBytes, format!("a {len}-byte I/O exceeds io_bytes_max ({max})")));
        }
        Ok(())
    }

    /// CreatePipe: nSize 0 means 4096, any other value is the quota as given (§§1.1,
    /// 1.2); the read end is the server end; each end has only its own rights (§1.3).
    pub(crate) fn create_pipe(&mut self, pid: Pid, tid: Tid, inherit: bool, size: u32) -> CallResult {
        let quota = if size == 0 { 4096 } else { size };
        let end = |quota| PipeEnd { inbound: DataQueue { quota, ..DataQueue::default() }, ..PipeEnd::default() };
        let pipe = self.alloc_object(
            Body::Pipe(Pipe {
                ends: [end(quota), end(quota)],
                anonymous: true,
                max_instances: 1,
                message_type: false,
                named: None,
            }),
            None,
        );
        let mut handles = [HANDLE::NULL; 2];
        for (i, access) in [(SERVER, PIPE_READ_END_ACCESS), (CLIENT, PIPE_WRITE_END_ACCESS)] {
            let f = self.alloc_object(Body::File(File::new(pipe, i)), None);
            self.add_ref(pipe);
            pipe_mut(self, pipe).ends[i].file = Some(f);
            let how = if i == SERVER { "created (read end)" } else { "created (write end)" };
            let origin = self.origin(pid, tid, "CreatePipe", how, None);
            handles[i] =
                match self.alloc_handle(pid, f, access, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin]) {
                    Ok(h) => h,
                    Err(e) => {
                        // No half-made pipe survives a failed call (LimitAction::FailCall):
                        // the read end's handle goes, and the write end's file object with
                        // it, as it has no handle.
                        if i == CLIENT {
                            let _ = self.close_handle(pid, handles[SERVER]);
                        }
                        self.maybe_destroy(f);
                        return Err(e);
                    }
                };
        }
        Ok(Value::Pipe(handles[SERVER], handles[CLIENT]).into())
    }

    pub(crate) fn write_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        data: Vec<u8>,
        overlapped: Option<Overlapped>,
    ) -> Exec {
        let file_id = match self.file_id_from_handle(pid, tid, h, FILE_WRITE_DATA) {
            Ok(x) => x,
            // Not a pipe's file object: maybe a mailslot's (§18), checked only here so that
            // pipe calls pay nothing for it.
            Err(_) if self.is_mailslot_handle(pid, tid, h) => {
                return self.mailslot_write_file(pid, tid, Api::WriteFile, h, data, overlapped, None);
            }
            // A file of the volume (§28.11).
            Err(_) if self.is_disk_file_handle(pid, tid, h) => {
                let routine = self.pending_routine.take();
                return self.disk_write_file(pid, tid, Api::WriteFile, h, &data, overlapped, routine);
            }
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let at = FileAt::of(file_id, file_ref(self, file_id));
        self.write_file_at(pid, tid, h, at, data, overlapped, None)
    }

    /// WriteFile through handle `h` to the file object `at`, resolved (with access
    /// checked) by `write_file` or by the call's lock check (`lock_io_handle`).
    /// Inlined into the call's dispatch (`Kernel::execute`), as `read_file_at` is (issue
    /// 13: their eight arguments, passed partly through memory, a call, a frame's entry
    /// and exit, were about 35 instructions a ping-pong step).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn write_file_at(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        at: FileAt,
        data: Vec<u8>,
        overlapped: Option<Overlapped>,
        deliver: Option<ObjectId>,
    ) -> Exec {
        // The usual case: no OVERLAPPED on a synchronous handle, some bytes into an
        // anonymous byte-type pipe whose reader is there, within the limits. The checks
        // below all pass (no error, no PIPE_NOWAIT, nothing dropped); the file object's
        // state read with it (`FileAt`) and one lookup of the pipe answer them.
        let FileAt { id: file_id, pipe, end, plain } = at;
        let n = data.len() as u64;
        if overlapped.is_none()
            && plain
            && n > 0
            && n <= u64::from(self.config.io_bytes_max)
            && self.pipe_bytes + n <= self.config.pipe_bytes_max
        {
            // Queued as the general path does, in the one look-up of the pipe its checks
            // made; then `pipe_progress`'s usual case (nothing pending that could complete:
            // only fully read entries at the front go), inlined, and done if the unread
            // bytes fit the quota, else blocked (`write_pipe_block`); with something
            // pending, `write_pipe_progress` serves it first. (tests/conformance/pipe.rs:
            // completion_rule_with_running_totals_quota_5000 blocks both ways, and
            // a_write_that_fits_completes_at_once_beside_a_smaller_pending_read is done
            // after serving a read.)
            let pending = self.pipe_writes_pending;
            let peer = 1 - end;
            // (The pipe and the operation table borrowed apart: a pending read's length is
            // read with the pipe at hand.)
            let Body::Pipe(p) = &mut self.objects[pipe].body else { not_a("a pipe") };
            if p.named.is_none() && !p.message_type && !p.ends[peer].closed {
                let len = n as u32;
                let e = &mut p.ends[peer];
                let q = &mut e.inbound;
                // The usual write that a pending read takes whole (a consumer blocked on an
                // empty pipe): nothing queued, nothing else pending that could complete, and
                // the first pending read's buffer holds all the bytes. The general path
                // queues the bytes, and `pipe_progress` hands that entry's buffer to the
                // read (`take`), drops the entry, and completes the read; then the write is
                // done (nothing unread). Here the buffer goes to the read directly, with the
                // same counts, the same reply and the same cause, in the same order.
                if pending == 0
                    && q.entries.is_empty()
                    && q.flushers.is_empty()
                    && let Some(&r) = e.reads.front()
                    && let OpKind::PipeRead { len: want, .. } = self.ops[r].kind
                    && u64::from(want) >= n
                {
                    e.reads.pop_front();
                    q.written_total += n;
                    q.read_total += n;
                    // (`unread` and `pipe_bytes` each went up and down by `n`.)
                    let why = if self.config.trace { self.cause_with(write_cause(h, len)) } else { String::new() };
                    self.complete_op(r, Reply::from(Value::Read(data)), &why);
                    return self.written_at_once(tid, len, deliver);
                }
                q.unread += n;
                q.written_total += n;
                q.entries.push_back(Entry { data, offset: 0, writer: None, empty_unread: false });
                if pending == 0 && e.reads.is_empty() && q.flushers.is_empty() {
                    // (`pipe_progress`'s `pop_consumed` has nothing to drop here, issue 13:
                    // a fully read entry stays queued only while its write is pending, and
                    // no write is (`pending`); every read, completion and discard drops the
                    // fully read entries it leaves at the front.)
                    debug_assert!(!q.front_consumed(), "simulator bug: a fully read entry left queued");
                    let fits = q.unread <= u64::from(q.quota);
                    self.pipe_bytes += n;
                    if fits {
                        return self.written_at_once(tid, len, deliver);
                    }
                    return self.write_pipe_block(pid, tid, h, file_id, pipe, peer, len);
                }
                self.pipe_bytes += n;
                return self.write_pipe_progress(pid, tid, h, file_id, pipe, peer, len);
            }
        }
        self.keep_io_call(pid, h, FILE_WRITE_DATA, file_id, Api::WriteFile, || {
            KeptArgs::write_file(&h, &data, &overlapped)
        });
        let mode = match self.io_mode(pid, tid, Api::WriteFile, file_id, overlapped, None) {
            Ok(m) => m,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if let Err(e) = self.io_limit(data.len()) {
            return self.io_done(mode, tid, Api::WriteFile, Reply::error(e));
        }
        if let Some(e) = self.connection_error(file_id, false) {
            // A call on a pipe in the wrong state fails at once, even an overlapped one
            // (§3.10).
            return self.io_done(mode, tid, Api::WriteFile, Reply::error(e));
        }
        let peer = 1 - end;
        let p = pipe_mut(self, pipe);
        if p.ends[peer].closed {
            // The reader is gone: ERROR_NO_DATA at once, zero-length writes included
            // (§§2.11, 3.6; Wine probe).
            return self.io_done(mode, tid, Api::WriteFile, Reply::error(ERROR_NO_DATA));
        }
        let len = data.len() as u32;
        let message = p.message_type;
        if len == 0 && !message {
            // A zero-length write never blocks and changes nothing in byte mode (§2.7).
            return self.io_done(mode, tid, Api::WriteFile, Reply::from(Value::Written(0)));
        }
        if self.pipe_bytes + u64::from(len) > self.config.pipe_bytes_max {
            let max = self.config.pipe_bytes_max;
            let e = self.hit_limit(
                LimitKind::PipeBytes,
                format!("pipes would hold more than {max} unread bytes (pipe_bytes_max)"),
            );
            return self.io_done(mode, tid, Api::WriteFile, Reply::error(e));
        }
        let nowait = file_ref(self, file_id).nowait;
        let q = &pipe_ref(self, pipe).ends[peer].inbound;
        let mut dropped = 0u64;
        if nowait && len > 0 {
            // PIPE_NOWAIT never waits. The waiting reads take their part first; if the rest
            // fits the quota, it is all written. Otherwise a message-type pipe writes
            // nothing and a byte-type pipe writes only what the waiting reads take, both
            // returning TRUE with that count (pipe.c test_nowait: 513 bytes into a 512-byte
            // quota write 0, or all of them behind a 1-byte read; 514 behind a 1-byte read
            // write 1 on a byte pipe and 0 on a message pipe; docs/semantics.md §§2.12-2.13).
            let mut rest = u64::from(len);
            for &r in &pipe_ref(self, pipe).ends[peer].reads {
                if let OpKind::PipeRead { len: want, .. } = self.ops[r].kind {
                    rest -= rest.min(u64::from(want));
                }
            }
            if q.unread + rest > u64::from(q.quota) {
                if message || pipe_ref(self, pipe).ends[peer].reads.is_empty() {
                    return self.io_done(mode, tid, Api::WriteFile, Reply::from(Value::Written(0)));
                }
                // The waiting reads complete with their part (a zero-length one with
                // nothing, §3.3); the rest is dropped below.
                dropped = rest;
            }
        }
        let len = data.len() as u32;
        self.pipe_bytes += u64::from(len);
        let q = &mut pipe_mut(self, pipe).ends[peer].inbound;
        q.unread += u64::from(len);
        q.written_total += u64::from(len);
        // A zero-length write in message mode is a real, empty message (§5.5).
        let empty = len == 0;
        q.empty_messages += u32::from(empty);
        q.entries.push_back(Entry { data, offset: 0, writer: None, empty_unread: empty });
        // Pending reads take their bytes first; then the write is the last entry, and the
        // unread bytes up to the end of it are all the unread bytes.
        self.pipe_progress(pipe, peer, write_cause(h, len));
        if dropped > 0 {
            // A PIPE_NOWAIT byte write that did not fit: what the reads did not take is
            // not written (counted as consumed, so a later flush does not wait for it).
            let q = &mut pipe_mut(self, pipe).ends[peer].inbound;
            let e = q.entries.back_mut().expect("the write's own entry: the reads took less than all of it");
            e.offset += dropped as usize;
            q.unread -= dropped;
            q.read_total += dropped;
            q.pop_consumed();
            self.pipe_bytes -= dropped;
            return self.io_done(mode, tid, Api::WriteFile, Reply::from(Value::Written(len - dropped as u32)));
        }
        let q = &pipe_ref(self, pipe).ends[peer].inbound;
        if len == 0 || q.unread <= u64::from(q.quota) {
            // An empty message never waits, whatever the queue holds (§2.7: "empty write
            // will not block", in message mode too).
            return self.io_done(mode, tid, Api::WriteFile, Reply::from(Value::Written(len)));
        }
        let (op, exec) = self.io_pend(mode, tid, OpKind::PipeWrite { file: file_id, len });
        let q = &mut pipe_mut(self, pipe).ends[peer].inbound;
        q.entries.back_mut().expect("the write's own entry is still queued: it does not fit").writer = Some(op);
        self.pipe_writes_pending += 1;
        exec
    }

    /// A ReadFile's or WriteFile's kept arguments (`Kernel::calling`, for the operation it
    /// may make), set as `execute` sets any other call's as it starts, unless they are set
    /// already. `execute`'s ReadFile and WriteFile arms set none when they call
    /// `read_file_at` or `write_file_at` (issue 13: written at every read and write, and
    /// cleared at its end, they were read only where the call blocks, 11-16% of a pipe's
    /// steps): those set them here, where they leave their usual case for the general
    /// path or block, before anything reads them. A call through `read_file` or
    /// `write_file` has them set by its caller.
    /// The file object the call's lock check resolved (`Kernel::call_file`, which the
    /// race detector and the general path read) is kept with them, as `pid`'s handle `h`
    /// with `access`: `lock_io_handle` leaves it to here when it gives the file object
    /// (issue 13, as the kept arguments).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn keep_io_call(
        &mut self,
        pid: Pid,
        h: HANDLE,
        access: u32,
        file_id: ObjectId,
        api: Api,
        kept: impl FnOnce() -> KeptArgs,
    ) {
        if self.calling.is_none() {
            debug_assert!(self.call_file.is_none(), "simulator bug: a call's file object kept without its arguments");
            std::mem::forget(self.calling.replace((api, Some(kept()))));
            self.call_file = Some((pid, h, access, file_id));
        }
    }

    /// `keep_io_call`, then the call's pending operation of `kind` made (`make_op`): where
    /// the call kept nothing yet (the usual case), its arguments go to the operation
    /// directly (`make_op_kept`), not through the kernel's slot to be read back at once
    /// (issue 13).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn block_io_call(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        access: u32,
        file_id: ObjectId,
        api: Api,
        kept: impl FnOnce() -> KeptArgs,
        kind: OpKind,
    ) -> OpId {
        if self.calling.is_none() {
            debug_assert!(self.call_file.is_none(), "simulator bug: a call's file object kept without its arguments");
            self.call_file = Some((pid, h, access, file_id));
            return self.make_op_kept(tid, kind, None, Target::Thread, (api, Some(kept())));
        }
        self.make_op(tid, kind, None, Target::Thread)
    }

    /// `write_file`'s usual case after its bytes were queued, when something is pending
    /// (a read on the reader's end, a write in any pipe, a flush): as the general path,
    /// pending operations served, then done when the unread bytes fit the quota, else
    /// blocked.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn write_pipe_progress(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        file_id: ObjectId,
        pipe: ObjectId,
        peer: usize,
        len: u32,
    ) -> Exec {
        self.pipe_progress_ops(pipe, peer, write_cause(h, len));
        let q = &pipe_ref(self, pipe).ends[peer].inbound;
        if q.unread <= u64::from(q.quota) {
            return Exec::Done(Reply::from(Value::Written(len)));
        }
        self.write_pipe_block(pid, tid, h, file_id, pipe, peer, len)
    }

    /// A WriteFile of `len` bytes done at once: its reply, or with `deliver` (the
    /// thread's object: the trace off, no I/O lock granted or held) the reply written
    /// into the thread as `plain_call_done` does (`Exec::Delivered`), from its scalars,
    /// not built here and copied through the frames on its way (issue 13: the copy read
    /// back, whole, a value just written field by field, and waited for the writes). Such
    /// a call kept no file object (`keep_io_call`) for `file_call_done` to forget.
    #[inline(always)]
    fn written_at_once(&mut self, tid: Tid, len: u32, deliver: Option<ObjectId>) -> Exec {
        match deliver {
            Some(oid) => {
                // (No file object kept to forget: `keep_io_call`.)
                debug_assert!(self.call_file.is_none());
                self.delivered_call_done(oid, tid, std::mem::ManuallyDrop::new(Reply::from(Value::Written(len))));
                Exec::Delivered
            }
            None => Exec::Done(Reply::from(Value::Written(len))),
        }
    }

    /// `write_file`'s usual case when its bytes do not fit the quota: a pending write,
    /// the thread blocked on it (`io_pend` in Sync mode), as the general path.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn write_pipe_block(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        file_id: ObjectId,
        pipe: ObjectId,
        peer: usize,
        len: u32,
    ) -> Exec {
        // (The usual case's kept arguments: no OVERLAPPED, `len` bytes. Made here, as
        // `read_pipe_bytes` makes a blocked read's.)
        let kept = || KeptArgs::WriteFile { handle: h, data: len, overlapped: false };
        let kind = OpKind::PipeWrite { file: file_id, len };
        let op = self.block_io_call(pid, tid, h, FILE_WRITE_DATA, file_id, Api::WriteFile, kept, kind);
        let q = &mut pipe_mut(self, pipe).ends[peer].inbound;
        q.entries.back_mut().expect("the write's own entry is still queued: it does not fit").writer = Some(op);
        self.pipe_writes_pending += 1;
        Exec::Block(op)
    }

    /// After data was added to or taken from the queue toward `reader`: completes pending
    /// reads (in order), writes whose data now fits the quota, and flushes whose data has
    /// been read.
    /// `cause` says what made the progress; its text is built only when an operation
    /// completes and the trace is on.
    #[inline(always)]
    pub(crate) fn pipe_progress(&mut self, pipe: ObjectId, reader: usize, cause: impl Fn(&mut String)) {
        // The usual case, inlined: no read pending on this end, no write pending in any
        // pipe, no flush pending: nothing can complete, and only fully read entries at the
        // front go (as below).
        let pending = self.pipe_writes_pending;
        let e = &mut pipe_mut(self, pipe).ends[reader];
        if pending == 0 && e.reads.is_empty() && e.inbound.flushers.is_empty() {
            e.inbound.pop_consumed();
            return;
        }
        self.pipe_progress_ops(pipe, reader, cause);
    }

    /// `pipe_progress` when an operation may complete.
    #[inline(never)]
    fn pipe_progress_ops(&mut self, pipe: ObjectId, reader: usize, cause: impl Fn(&mut String)) {
        // The text is written once, into one String, for all the operations it completes;
        // with the trace off it is empty (as `cause_with` makes it) and nothing is kept.
        let trace = self.config.trace;
        let mut text: Option<String> = None;
        #[inline(always)]
        fn why<'a>(k: &Kernel, trace: bool, text: &'a mut Option<String>, cause: &impl Fn(&mut String)) -> &'a str {
            if !trace {
                return "";
            }
            cause_text(k, text, cause)
        }
        #[inline(never)]
        fn cause_text<'a>(k: &Kernel, text: &'a mut Option<String>, cause: &impl Fn(&mut String)) -> &'a str {
            text.get_or_insert_with(|| k.cause_with(cause))
        }
        // Pending reads take what is there, in order (§3.1: a read returns what is
        // available; §3.3: a zero-length read completes with 0 bytes).
        loop {
            // (The pipe and the operation table borrowed apart: the pipe is looked up once
            // for a read of a byte-type queue.)
            let Body::Pipe(p) = &mut self.objects[pipe].body else { not_a("a pipe") };
            let e = &mut p.ends[reader];
            if !e.inbound.available() {
                break;
            }
            let Some(r) = e.reads.pop_front() else { break };
            let OpKind::PipeRead { len, file } = self.ops[r].kind else { unreachable!("a read queue holds reads") };
            // The read mode matters only for a message-type queue (`take_read`): the file
            // object is looked up only then.
            let reply = if e.inbound.message {
                let message = file_ref(self, file).read_message;
                take_read(&mut pipe_mut(self, pipe).ends[reader].inbound, len, message)
            } else {
                // `take_read` of a byte-type queue, inlined.
                Reply::from(Value::Read(take(&mut e.inbound, len)))
            };
            if let Value::Read(d) = &reply.value {
                self.pipe_bytes -= d.len() as u64;
            }
            let why = why(self, trace, &mut text, &cause);
            self.complete_op(r, reply, why);
        }
        // Writes complete when the unread bytes up to and including theirs fit (§2.4).
        // (No write waits in any pipe, the usual case: nothing to look for.)
        let pending = self.pipe_writes_pending;
        let p = pipe_mut(self, pipe);
        let q = &mut p.ends[reader].inbound;
        if pending == 0 && q.flushers.is_empty() {
            // No write and no flush pending (the usual case after a read completed): nothing
            // more completes; only fully read entries at the front go, as below.
            q.pop_consumed();
            return;
        }
        // The usual case with a write pending, without the scan (`last_write_only`).
        if let Some(done) = q.last_write_only(pending) {
            if let Some((w, n)) = done {
                self.pipe_writes_pending = 0;
                let reason = why(self, trace, &mut text, &cause);
                self.complete_op(w, Value::Written(n).into(), reason);
            }
            return;
        }
        // The first write completed, and any others (usually none: no list is built).
        let mut first: Option<(OpId, u32)> = None;
        let mut more = Vec::new();
        if pending > 0 {
            let mut running = 0u64;
            let quota = u64::from(q.quota);
            for e in q.entries.iter_mut() {
                running += e.remaining() as u64;
                if running > quota {
                    break;
                }
                if let Some(w) = e.writer.take() {
                    let done = (w, e.data.len() as u32);
                    if first.is_none() {
                        first = Some(done);
                    } else {
                        more.push(done);
                    }
                }
            }
        }
        q.pop_consumed();
        let flushing = !q.flushers.is_empty();
        self.pipe_writes_pending -= u32::from(first.is_some()) + more.len() as u32;
        let mut flushed = Vec::new();
        if flushing {
            let q = &mut pipe_mut(self, pipe).ends[reader].inbound;
            let read_total = q.read_total;
            let flushers = std::mem::take(&mut q.flushers);
            let mut waiting = Vec::new();
            for f in flushers {
                match self.ops[f].kind {
                    OpKind::PipeFlush { target, .. } if read_total >= target => flushed.push(f),
                    _ => waiting.push(f),
                }
            }
            pipe_mut(self, pipe).ends[reader].inbound.flushers = waiting;
        }
        // In order: the first write, the others, then the flushes.
        if let Some((w, n)) = first {
            let reason = why(self, trace, &mut text, &cause);
            self.complete_op(w, Value::Written(n).into(), reason);
            for (w, n) in more {
                let reason = why(self, trace, &mut text, &cause);
                self.complete_op(w, Value::Written(n).into(), reason);
            }
        }
        for f in flushed {
            let why = why(self, trace, &mut text, &cause);
            self.complete_op(f, Value::Bool(true).into(), why);
        }
    }

    /// ReadFile on a pipe: what is there, up to the buffer; blocks while empty (or pends,
    /// with an OVERLAPPED on an overlapped handle). The bytes moved (not the buffer's
    /// size) count against `io_bytes_max`.
    pub(crate) fn read_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        len: u32,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
    ) -> Exec {
        let file_id = match self.file_id_from_handle(pid, tid, h, FILE_READ_DATA) {
            Ok(x) => x,
            // Not a pipe's file object: maybe a mailslot's (§18).
            Err(_) if self.is_mailslot_handle(pid, tid, h) => {
                return self.mailslot_read_file(pid, tid, Api::ReadFile, h, len, overlapped, buffer, None);
            }
            // A file of the volume (§28.10).
            Err(_) if self.is_disk_file_handle(pid, tid, h) => {
                return self.disk_read_file(pid, tid, Api::ReadFile, h, len, overlapped, buffer, None);
            }
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let at = FileAt::of(file_id, file_ref(self, file_id));
        self.read_file_at(pid, tid, h, at, len, overlapped, buffer, None)
    }

    /// ReadFile through handle `h` from the file object `at`, resolved (with access
    /// checked) by `read_file` or by the call's lock check (`lock_io_handle`). Inlined
    /// into the call's dispatch (`write_file_at`'s comment).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_file_at(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        at: FileAt,
        len: u32,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
        deliver: Option<ObjectId>,
    ) -> Exec {
        let file_id = at.id;
        // The usual case: no OVERLAPPED on a synchronous handle, a read of some bytes from
        // an anonymous byte-type pipe, without PIPE_NOWAIT. The general path's checks then
        // all pass (Sync mode, no connection error, no zero-length read, a byte read
        // whatever the read mode); `read_pipe_bytes` does what remains with one lookup of
        // the pipe (the file object's state read with it, `FileAt`), or says to go on with
        // the general path.
        // (tests/conformance/pipe.rs: writer_closed_reads_drain_then_broken_pipe and
        // an_oversized_io_request_ends_at_io_bytes_max take both ways.)
        if overlapped.is_none()
            && at.plain
            && len > 0
            && let Some(exec) = self.read_pipe_bytes(pid, tid, h, file_id, at.pipe, at.end, len, deliver)
        {
            return exec;
        }
        self.keep_io_call(pid, h, FILE_READ_DATA, file_id, Api::ReadFile, || {
            KeptArgs::read_file(&h, &len, &overlapped, &buffer)
        });
        let mode = match self.io_mode(pid, tid, Api::ReadFile, file_id, overlapped, buffer) {
            Ok(m) => m,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if let Some(e) = self.connection_error(file_id, false) {
            return self.io_done(mode, tid, Api::ReadFile, Reply::error(e));
        }
        self.read_now_or_wait(tid, Api::ReadFile, file_id, len, mode, |s: &mut String| {
            s.push_str("ReadFile(");
            push_handle(s, h);
            s.push(')');
        })
    }

    /// `read_file`'s usual case (see there), as `read_now_or_wait` does it: the bytes
    /// queued, up to `len`, pending operations served as `pipe_progress` serves them; or,
    /// with nothing queued and the writer there, a pending read the thread blocks on.
    /// None (nothing done) for anything else: a named or message-type pipe, empty messages
    /// queued, a read over `io_bytes_max`, end of file.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn read_pipe_bytes(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        file_id: ObjectId,
        pipe: ObjectId,
        end: usize,
        len: u32,
        deliver: Option<ObjectId>,
    ) -> Option<Exec> {
        let io_max = u64::from(self.config.io_bytes_max);
        let pending = self.pipe_writes_pending;
        // With `deliver`, the thread beside the pipe (one look-up of the two).
        let (p, thread) = match deliver {
            Some(oid) => match self.objects.get_pair_mut(pipe, oid) {
                Some((super::Object { body: Body::Pipe(p), .. }, super::Object { body: Body::Thread(t), .. })) => {
                    (p, Some(t))
                }
                _ => not_a("a pipe and a thread"),
            },
            None => (pipe_mut(self, pipe), None),
        };
        if p.named.is_some() {
            return None;
        }
        let writer_closed = p.ends[1 - end].closed;
        let e = &mut p.ends[end];
        let q = &mut e.inbound;
        if q.message || q.empty_messages > 0 {
            return None;
        }
        if q.unread == 0 {
            if writer_closed {
                return None;
            }
            // Empty: the read waits (`io_pend` in Sync mode). The operation is made here
            // (`block_io_call`, inlined, what `new_op`'s call does): the usual blocked
            // read, as every other ping-pong step is, pays no call and no copy of its kind.
            // (The usual case's kept arguments: no OVERLAPPED; a buffer keeps nothing.)
            let kept = || KeptArgs::read_file(&h, &len, &None, &None);
            let kind = OpKind::PipeRead { file: file_id, len };
            let op = self.block_io_call(pid, tid, h, FILE_READ_DATA, file_id, Api::ReadFile, kept, kind);
            pipe_mut(self, pipe).ends[end].reads.push_back(op);
            return Some(Exec::Block(op));
        }
        if q.unread.min(u64::from(len)) > io_max {
            return None;
        }
        // The bytes go straight into the thread's reply slot when delivered (`take_into`),
        // and the thread is made ready in the same look-up (`poll`: whether it is to be
        // polled), not in one of its own at the end (issue 13; what `plain_call_placed`
        // did there: nothing between reads the thread's state, and the completion of a
        // blocked write below is another thread's); else they are returned as the reply.
        let (data, n, poll) = match thread {
            Some(t) => {
                let n = take_into(q, len, &mut t.reply);
                debug_assert!(matches!(t.run, Run::Running), "simulator bug: T{tid} is not running");
                std::mem::forget(std::mem::replace(&mut t.run, Run::Ready));
                (None, n, t.suspend_count == 0)
            }
            None => {
                let data = take(q, len);
                let n = data.len();
                (Some(data), n, false)
            }
        };
        // `take` dropped the consumed entries at the front: with nothing pending that
        // could complete, `pipe_progress` has nothing left to do.
        let quiet = pending == 0 && e.reads.is_empty() && e.inbound.flushers.is_empty();
        // With no read pending here, `pipe_progress_ops` takes no read and goes on to its
        // usual case with a write pending (`last_write_only`): done here, without its call.
        let last = if quiet || !e.reads.is_empty() { None } else { e.inbound.last_write_only(pending) };
        self.pipe_bytes -= n as u64;
        let cause = move |s: &mut String| {
            s.push_str("ReadFile(");
            push_handle(s, h);
            s.push_str(") took ");
            push_u64(s, n as u64);
            s.push_str(" bytes");
        };
        match last {
            Some(Some((w, m))) => {
                // As `pipe_progress_ops` completes it (its cause's text, once).
                self.pipe_writes_pending = 0;
                let why = if self.config.trace { self.cause_with(cause) } else { String::new() };
                self.complete_op(w, Value::Written(m).into(), &why);
            }
            Some(None) => {}
            None if !quiet => self.pipe_progress_ops(pipe, end, cause),
            None => {}
        }
        match (data, deliver) {
            (Some(data), _) => Some(Exec::Done(Reply::from(Value::Read(data)))),
            // The reply is in the thread, which is ready (`take_into`; nothing above reads
            // them): the rest of `plain_call_done`, in its place in the step
            // (`Exec::Delivered`). It kept no file object (`keep_io_call`) for
            // `file_call_done` to forget before the reply goes.
            (None, Some(oid)) => {
                // (No file object kept to forget: `keep_io_call`.)
                debug_assert!(self.call_file.is_none());
                self.plain_call_placed(oid, tid, poll);
                Some(Exec::Delivered)
            }
            (None, None) => unreachable!(),
        }
    }

    /// A read on a file object: what is there (one message in message read mode), or end
    /// of file, or a pending read (an error at once for PIPE_NOWAIT).
    pub(crate) fn read_now_or_wait(
        &mut self,
        tid: Tid,
        api: Api,
        file_id: ObjectId,
        len: u32,
        mode: IoMode,
        what: impl Fn(&mut String),
    ) -> Exec {
        let (pipe, end, message, nowait) = {
            let f = file_ref(self, file_id);
            (f.pipe, f.end, f.read_message, f.nowait)
        };
        let p = pipe_mut(self, pipe);
        let q = &p.ends[end].inbound;
        if q.available() {
            if len == 0 && q.unread > 0 && !(message && q.message) {
                // A zero-length read with data queued returns at once and consumes
                // nothing (§3.2).
                return self.io_done(mode, tid, api, Reply::from(Value::Read(Vec::new())));
            }
            let moved = if message && q.message { q.first_message_left() as u64 } else { q.unread };
            if let Err(e) = self.io_limit(moved.min(u64::from(len)) as usize) {
                return self.io_done(mode, tid, api, Reply::error(e));
            }
            let reply = take_read(&mut pipe_mut(self, pipe).ends[end].inbound, len, message);
            let n = match &reply.value {
                Value::Read(d) => d.len(),
                _ => 0,
            };
            self.pipe_bytes -= n as u64;
            self.pipe_progress(pipe, end, move |s: &mut String| {
                what(s);
                s.push_str(" took ");
                push_u64(s, n as u64);
                s.push_str(" bytes");
            });
            return self.io_done(mode, tid, api, reply);
        }
        if p.ends[1 - end].closed {
            // Drained and the writer is gone: end of file (§§1.5, 3.4).
            return self.io_done(mode, tid, api, Reply::error(ERROR_BROKEN_PIPE));
        }
        if nowait {
            // PIPE_NOWAIT: an empty pipe is ERROR_NO_DATA at once (§6.11).
            return self.io_done(mode, tid, api, Reply::error(ERROR_NO_DATA));
        }
        // Empty: the read waits (or pends), a zero-length one included (§3.3).
        let (op, exec) = self.io_pend(mode, tid, OpKind::PipeRead { file: file_id, len });
        pipe_mut(self, pipe).ends[end].reads.push_back(op);
        exec
    }

    /// ReadFileEx: an asynchronous read whose completion routine is queued as an APC to
    /// the calling thread (it runs in an alertable wait, never inside this call, §16.39).
    /// TRUE when the read was started (pending or already complete); a synchronous handle
    /// is not modelled (Unsupported).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_file_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        len: u32,
        overlapped: Overlapped,
        buffer: IoBuffer,
        routine: crate::kernel::io::IoCompletionRoutine,
    ) -> Exec {
        let (file_id, _, _) = match self.file_from_handle(pid, tid, h, FILE_READ_DATA) {
            Ok(x) => x,
            // A file of the volume (§28.21).
            Err(_) if self.is_disk_file_handle(pid, tid, h) => {
                let api = Api::ReadFileEx;
                return ex_result(self.disk_read_file(
                    pid,
                    tid,
                    api,
                    h,
                    len,
                    Some(overlapped),
                    Some(buffer),
                    Some(routine),
                ));
            }
            // Not a pipe's file object: maybe a mailslot's (§18.18).
            Err(_) if self.is_mailslot_handle(pid, tid, h) => {
                let api = Api::ReadFileEx;
                return ex_result(self.mailslot_read_file(
                    pid,
                    tid,
                    api,
                    h,
                    len,
                    Some(overlapped),
                    Some(buffer),
                    Some(routine),
                ));
            }
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let mode = match self.ex_mode(pid, tid, Api::ReadFileEx, file_id, overlapped, Some(buffer), routine) {
            Ok(m) => m,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let exec = match self.connection_error(file_id, false) {
            Some(e) => self.io_done(mode, tid, Api::ReadFileEx, Reply::error(e)),
            None => self.read_now_or_wait(tid, Api::ReadFileEx, file_id, len, mode, |s: &mut String| {
                s.push_str("ReadFileEx(");
                push_handle(s, h);
                s.push(')');
            }),
        };
        ex_result(exec)
    }

    /// WriteFileEx: WriteFile's asynchronous form with a completion routine (§16.39).
    pub(crate) fn write_file_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        data: Vec<u8>,
        overlapped: Overlapped,
        routine: crate::kernel::io::IoCompletionRoutine,
    ) -> Exec {
        let file_id = match self.file_from_handle(pid, tid, h, FILE_WRITE_DATA) {
            Ok((f, _, _)) => f,
            // A file of the volume (§28.21).
            Err(_) if self.is_disk_file_handle(pid, tid, h) => {
                let api = Api::WriteFileEx;
                return ex_result(self.disk_write_file(pid, tid, api, h, &data, Some(overlapped), Some(routine)));
            }
            // Not a pipe's file object: maybe a mailslot's (§18.18).
            Err(_) if self.is_mailslot_handle(pid, tid, h) => {
                let api = Api::WriteFileEx;
                return ex_result(self.mailslot_write_file(pid, tid, api, h, data, Some(overlapped), Some(routine)));
            }
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if file_ref(self, file_id).port.is_some() {
            // No completion routine on a port-associated file (§16.23; see `ex_mode`).
            return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
        }
        self.pending_routine = Some(routine);
        let exec = self.write_file(pid, tid, h, data, Some(overlapped));
        self.pending_routine = None;
        ex_result(exec)
    }

    /// The asynchronous mode of ReadFileEx/WriteFileEx, with its completion routine.
    #[allow(clippy::too_many_arguments)]
    fn ex_mode(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        file: ObjectId,
        overlapped: Overlapped,
        buffer: Option<IoBuffer>,
        routine: crate::kernel::io::IoCompletionRoutine,
    ) -> Result<IoMode, Win32Error> {
        if file_ref(self, file).port.is_some() {
            // A completion routine and a completion port are exclusive ways of hearing of
            // a completion: NtReadFile/NtWriteFile refuse an APC routine on a file with a
            // completion port (STATUS_INVALID_PARAMETER; WRK io/iomgr read.c; the
            // CreateIoCompletionPort doc forbids ReadFileEx/WriteFileEx there; §16.23).
            return Err(ERROR_INVALID_PARAMETER);
        }
        // ReadFileEx/WriteFileEx ignore hEvent: the program may use it for its own purposes
        // (ReadFileEx doc, lpOverlapped; §16.39).
        let mut t = self.begin_async_with(pid, tid, api, file, &overlapped, buffer, false)?;
        t.routine = Some(routine);
        if file_ref(self, file).synchronous {
            // On a synchronous handle (every CreatePipe handle) the call runs
            // synchronously, non-alertably, and the routine is still queued at completion
            // [inferred from the I/O manager's design; §16.40, unproven on Windows].
            return Ok(IoMode::SyncOverlapped(t));
        }
        Ok(IoMode::Async(t))
    }

    /// How a data call runs: synchronously (its thread blocks when it must wait), or, with
    /// an OVERLAPPED on a handle opened with FILE_FLAG_OVERLAPPED, asynchronously (§16).
    /// An OVERLAPPED on a synchronous handle is not modelled (Unsupported).
    #[inline(always)]
    pub(crate) fn io_mode(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        file: ObjectId,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
    ) -> Result<IoMode, Win32Error> {
        // The usual case, inlined: no OVERLAPPED on a synchronous handle.
        if overlapped.is_none() && file_ref(self, file).synchronous {
            return Ok(IoMode::Sync);
        }
        self.io_mode_overlapped(pid, tid, api, file, overlapped, buffer)
    }

    /// `io_mode` with an OVERLAPPED, or on a handle opened for overlapped I/O.
    #[inline(never)]
    fn io_mode_overlapped(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        file: ObjectId,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
    ) -> Result<IoMode, Win32Error> {
        let synchronous = file_ref(self, file).synchronous;
        match overlapped {
            None if !synchronous => {
                // A NULL OVERLAPPED on an overlapped handle: the call waits for its own
                // operation (§16.6), and the file object is nonsignalled until it completes,
                // as for any operation without an event (§§10.7, 16.2-16.3). Carried by an
                // OVERLAPPED of the kernel's own, which queues no port packet.
                if let Body::File(f) = &mut self.objects[file].body {
                    f.signalled = false;
                }
                Ok(IoMode::SyncOverlapped(AsyncTarget {
                    pid,
                    overlapped: Overlapped::new(HANDLE::NULL),
                    event: None,
                    file,
                    buffer: None,
                    routine: None,
                    packet: false,
                    mq_message: None,
                }))
            }
            None => Ok(IoMode::Sync),
            Some(ov) if synchronous => {
                // The call stays synchronous; the OVERLAPPED is written as for an
                // asynchronous one (§16.7).
                // WriteFileEx (a pending routine) ignores hEvent (§16.39).
                let use_event = self.pending_routine.is_none();
                let mut t = self.begin_async_with(pid, tid, api, file, &ov, buffer, use_event)?;
                t.routine = self.pending_routine.take();
                Ok(IoMode::SyncOverlapped(t))
            }
            Some(ov) => {
                // WriteFileEx (a pending routine) ignores hEvent (§16.39).
                let use_event = self.pending_routine.is_none();
                let mut t = self.begin_async_with(pid, tid, api, file, &ov, buffer, use_event)?;
                t.routine = self.pending_routine.take();
                Ok(IoMode::Async(t))
            }
        }
    }

    /// A data call's result when it does not wait: the reply, and for an asynchronous
    /// call its OVERLAPPED, event, file and port told at once.
    pub(crate) fn io_done(&mut self, mode: IoMode, tid: Tid, api: Api, reply: Reply) -> Exec {
        match mode {
            IoMode::Sync => Exec::Done(reply),
            IoMode::Async(t) | IoMode::SyncOverlapped(t) => self.finish_async_now(tid, api, t, reply),
        }
    }

    /// A data call that must wait: a pending operation its thread blocks on, or, for an
    /// asynchronous call, FALSE with ERROR_IO_PENDING while the operation goes on.
    pub(crate) fn io_pend(&mut self, mode: IoMode, tid: Tid, kind: OpKind) -> (OpId, Exec) {
        match mode {
            IoMode::Sync => {
                let op = self.new_op(tid, kind, None);
                (op, Exec::Block(op))
            }
            IoMode::Async(t) => {
                let op = self.pend_async(tid, kind, t);
                (op, Exec::Done(Reply { status: Status::Pending, value: Value::Void }))
            }
            IoMode::SyncOverlapped(t) => {
                let op = self.pend_sync_overlapped(tid, kind, t);
                (op, Exec::Block(op))
            }
        }
    }

    pub(crate) fn peek_named_pipe(&mut self, pid: Pid, tid: Tid, h: HANDLE, len: u32) -> CallResult {
        let (file_id, pipe, end) = self.file_from_handle(pid, tid, h, FILE_READ_DATA)?;
        if let Some(e) = self.connection_error(file_id, true) {
            return Err(e);
        }
        let p = pipe_ref(self, pipe);
        let q = &p.ends[end].inbound;
        if !q.available() && p.ends[1 - end].closed {
            // Drained after the writer closed: ERROR_BROKEN_PIPE, outputs untouched (4.5).
            return Err(ERROR_BROKEN_PIPE);
        }
        let moved = q.unread.min(u64::from(len));
        self.io_limit(moved as usize)?;
        let q = &pipe_ref(self, pipe).ends[end].inbound;
        let data = peek(q, len);
        // "Left in this message" is the first message's length (0 for a byte-type pipe)
        // minus the bytes copied, as a DWORD (§§4.1, 4.2). avail counts pending writes'
        // bytes too (4.7).
        let left = q.first_message_left().wrapping_sub(data.len() as u32);
        Ok(Value::Peek { avail: q.unread.min(u64::from(u32::MAX)) as u32, left, data: data.into_boxed_slice() }.into())
    }

    pub(crate) fn get_named_pipe_info(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let (_, pipe, end) = self.file_from_handle(pid, tid, h, FILE_READ_ATTRIBUTES)?;
        let p = pipe_ref(self, pipe);
        // The pipe type, never PIPE_NOWAIT (§6.16).
        let ty = if p.message_type { PIPE_TYPE_MESSAGE } else { PIPE_TYPE_BYTE };
        let flags = if end == SERVER { PIPE_SERVER_END } else { PIPE_CLIENT_END } | ty;
        Ok(Value::PipeInfo {
            flags,
            // The server's out buffer limits data toward the client (§2.1).
            out_size: p.ends[CLIENT].inbound.quota,
            in_size: p.ends[SERVER].inbound.quota,
            max_instances: p.max_instances,
        }
        .into())
    }

    pub(crate) fn flush_file_buffers(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> Exec {
        let (file_id, pipe, end) = match self.file_from_handle(pid, tid, h, 0) {
            Ok(x) => x,
            // A file of the volume (§28.23).
            Err(_) if self.is_disk_file_handle(pid, tid, h) => {
                return Exec::Done(self.disk_flush_file_buffers(pid, tid, h).into());
            }
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if let Some(e) = self.connection_error(file_id, false) {
            return Exec::Done(Reply::error(e));
        }
        let peer = 1 - end;
        let p = pipe_mut(self, pipe);
        // Nothing queued, or nobody left to read it: TRUE at once (§2.8; Wine probe
        // for a flush after the reader closed).
        if p.ends[peer].closed || !p.ends[peer].inbound.available() {
            return Exec::Done(Reply::from(Value::Bool(true)));
        }
        let target = p.ends[peer].inbound.written_total;
        let op = self.new_op(tid, OpKind::PipeFlush { file: file_id, target }, None);
        pipe_mut(self, pipe).ends[peer].inbound.flushers.push(op);
        Exec::Block(op)
    }
}

/// The last handle to a file object closed: its pipe end closes, with Windows' effects
/// on the calls pending on both ends (§§1.9, 2.8, 2.11, 3.4, 3.5).
pub(crate) fn file_cleanup(k: &mut Kernel, id: ObjectId) {
    let (pipe, end, disconnected) = {
        let f = file_ref(k, id);
        (f.pipe, f.end, f.disconnected)
    };
    if disconnected {
        // Its server disconnected it: it is no longer an end of the instance.
        return;
    }
    let peer = 1 - end;
    let what = k.trace_text(|| format!("{} closed", k.describe(id)));
    let cause = k.cause(|| format!("last handle to {}", k.describe(id)));
    if let Some(actor) = k.current
        && k.tids.contains_key(&actor)
    {
        k.push_event(actor, EventKind::Note { text: what });
    }
    let p = pipe_mut(k, pipe);
    p.ends[end].closed = true;
    p.ends[end].file = None;
    // The usual close (every run's pipes close at their process's exit): no operation is
    // pending on either end, so none completes, and the queues change as below without
    // the lists of operations (`closed_quiet`).
    let quiet = p.ends.iter().all(|e| {
        e.reads.is_empty() && e.inbound.flushers.is_empty() && e.inbound.entries.iter().all(|e| e.writer.is_none())
    });
    if quiet {
        closed_quiet(k, pipe, end, &cause);
        return;
    }
    // Reads pending on this end itself [inferred: NPFS completes the closing end's IRPs].
    let own_reads: Vec<OpId> = p.ends[end].reads.drain(..).collect();
    // This end's own pending writes lose their unread bytes [inferred, as when the
    // writer's process is terminated, §2.10], and its flushes end.
    let q = &mut p.ends[peer].inbound;
    let mut own_writes = Vec::new();
    let mut discarded = 0u64;
    for e in q.entries.iter_mut() {
        if let Some(w) = e.writer.take() {
            own_writes.push(w);
            discarded += e.remaining() as u64;
            q.unread -= e.remaining() as u64;
            q.read_total += e.remaining() as u64;
            e.offset = e.data.len();
        }
    }
    // Empty messages not yet read stay: the peer still reads them (§3.8).
    q.entries.retain(|e| e.unread());
    let own_flushes: Vec<OpId> = q.flushers.drain(..).collect();
    // The peer's pending reads end with ERROR_BROKEN_PIPE once nothing is left to read.
    let peer_reads: Vec<OpId> =
        if p.ends[peer].inbound.available() { Vec::new() } else { p.ends[peer].reads.drain(..).collect() };
    // Data toward this end is discarded; the peer's pending writes into it fail with
    // ERROR_BROKEN_PIPE (§2.11), and so do its pending flushes (§2.8).
    let q = &mut p.ends[end].inbound;
    let peer_writes: Vec<OpId> = q.entries.iter().filter_map(|e| e.writer).collect();
    let peer_flushes: Vec<OpId> = q.flushers.drain(..).collect();
    q.entries.clear();
    q.empty_messages = 0;
    discarded += std::mem::take(&mut q.unread);
    k.pipe_bytes -= discarded;
    k.pipe_writes_pending -= (own_writes.len() + peer_writes.len()) as u32;
    for op in own_reads.into_iter().chain(own_writes).chain(own_flushes) {
        k.complete_op(op, Reply::error(ERROR_BROKEN_PIPE), &cause);
    }
    for op in peer_reads.into_iter().chain(peer_writes).chain(peer_flushes) {
        k.complete_op(op, Reply::error(ERROR_BROKEN_PIPE), &cause);
    }
    if pipe_ref(k, pipe).named.is_some() {
        super::named_pipe::end_closed(k, pipe, end, &cause);
    }
}

/// `file_cleanup` with no operation pending on either end: what it does to the queues
/// then (the peer's fully read entries go; the data toward the closed end is discarded),
/// in its order.
fn closed_quiet(k: &mut Kernel, pipe: ObjectId, end: usize, cause: &str) {
    let p = pipe_mut(k, pipe);
    // Empty messages not yet read stay: the peer still reads them (§3.8).
    p.ends[1 - end].inbound.entries.retain(|e| e.unread());
    // Data toward this end is discarded (§2.11).
    let q = &mut p.ends[end].inbound;
    q.entries.clear();
    q.empty_messages = 0;
    let discarded = std::mem::take(&mut q.unread);
    k.pipe_bytes -= discarded;
    if pipe_ref(k, pipe).named.is_some() {
        super::named_pipe::end_closed(k, pipe, end, cause);
    }
}

/// A pending write's thread ended: the unread remainder of its write is discarded
/// (§2.10), which may let later writes complete.
fn cancel_write(k: &mut Kernel, file: ObjectId, op: OpId) {
    let (pipe, end) = (file_ref(k, file).pipe, file_ref(k, file).end);
    let peer = 1 - end;
    let q = &mut pipe_mut(k, pipe).ends[peer].inbound;
    let mut discarded = 0u64;
    let mut cancelled = 0;
    for e in q.entries.iter_mut() {
        if e.writer == Some(op) {
            e.writer = None;
            cancelled += 1;
            discarded += e.remaining() as u64;
            q.unread -= e.remaining() as u64;
            // Discarded bytes will never be read: count them as consumed, or a later
            // FlushFileBuffers would wait for them forever.
            q.read_total += e.remaining() as u64;
            e.offset = e.data.len();
        }
    }
    // Empty messages not yet read stay: the peer still reads them (§3.8).
    q.entries.retain(|e| e.unread());
    k.pipe_bytes -= discarded;
    k.pipe_writes_pending -= cancelled;
    let tid = k.ops[op].tid;
    k.pipe_progress(pipe, peer, move |s: &mut String| {
        s.push('T');
        push_u64(s, u64::from(tid));
        s.push_str("'s pending write was cancelled");
    });
}

/// Each handle (in every process, in id and value order) that names `id`, with its process.
fn each_handle_to(
    k: &Kernel,
    id: ObjectId,
) -> impl Iterator<Item = (Pid, &crate::objects::process::Process, HANDLE)> + '_ {
    k.pids
        .iter()
        .filter_map(|(pid, &pobj)| match &k.objects[pobj].body {
            Body::Process(p) => Some((pid, p)),
            _ => None,
        })
        .flat_map(move |(pid, p)| p.handles.iter().filter(move |(_, e)| e.object == id).map(move |(h, _)| (pid, p, h)))
}

/// Handles (in every process) that refer to an object: (pid, image, handle).
pub fn handles_to(k: &Kernel, id: ObjectId) -> Vec<(Pid, String, HANDLE)> {
    each_handle_to(k, id).map(|(pid, p, h)| (pid, p.image.clone(), h)).collect()
}

/// How many handles name `id`, in all processes (`handles_to(k, id).len()`): the object's
/// handle count, which the invariants check against every process's handle table
/// (`check_handles_and_counts`), read instead of walking the tables.
fn handle_count_to(k: &Kernel, id: ObjectId) -> usize {
    let n = k.objects[id].hdr.handle_count as usize;
    debug_assert_eq!(n, each_handle_to(k, id).count(), "simulator bug: a handle count differs from the tables");
    n
}

pub(crate) fn handle_refs(k: &Kernel, id: ObjectId) -> Vec<HandleRef> {
    handles_to(k, id)
        .into_iter()
        .map(|(pid, image, handle)| {
            let history = k.process(pid).handles.get(handle).map(|e| e.history.clone()).unwrap_or_default();
            HandleRef { pid, image, handle, history }
        })
        .collect()
}

fn pipe_label(k: &Kernel, pipe: ObjectId) -> String {
    format!("pipe#{}", k.objects[pipe].hdr.serial)
}

/// The file object a pipe operation works on.
fn op_file(k: &Kernel, op: OpId) -> ObjectId {
    match k.ops[op].kind {
        OpKind::PipeRead { file, .. }
        | OpKind::PipeWrite { file, .. }
        | OpKind::PipeFlush { file, .. }
        | OpKind::FileLock { file, .. } => file,
        _ => unreachable!("not a pipe operation"),
    }
}

/// What a pending pipe operation waits for, in words (the pipe family's `op_reason`).
pub(crate) fn op_reason(k: &Kernel, op: OpId) -> String {
    let id = op_file(k, op);
    let f = file_ref(k, id);
    let p = pipe_ref(k, f.pipe);
    match k.ops[op].kind {
        // The two reasons a traced step gives most, pushed piece by piece.
        OpKind::PipeRead { .. } => {
            let writers = p.ends[1 - f.end].file.map(|w| handle_count_to(k, w)).unwrap_or(0);
            let mut s = String::with_capacity(96);
            s.push_str("waits for data in pipe#");
            push_u64(&mut s, u64::from(k.objects[f.pipe].hdr.serial));
            s.push_str(" (");
            push_u64(&mut s, p.ends[f.end].inbound.unread);
            s.push_str(" bytes queued; ");
            s.push_str(if p.anonymous { "write end" } else { "peer end" });
            s.push_str(" has ");
            push_u64(&mut s, writers as u64);
            s.push_str(" open handle(s))");
            s
        }
        OpKind::PipeWrite { .. } => {
            let q = &p.ends[1 - f.end].inbound;
            let mut upto = 0u64;
            for e in q.entries.iter() {
                upto += e.remaining() as u64;
                if e.writer == Some(op) {
                    break;
                }
            }
            let mut s = String::with_capacity(160);
            s.push_str("pipe#");
            push_u64(&mut s, u64::from(k.objects[f.pipe].hdr.serial));
            s.push_str(" has ");
            push_u64(&mut s, q.unread);
            s.push_str(" unread bytes, quota ");
            push_u64(&mut s, u64::from(q.quota));
            s.push_str("; the write returns when the unread bytes up to the end of it (");
            push_u64(&mut s, upto);
            s.push_str(") fit the quota");
            s
        }
        OpKind::PipeFlush { .. } => format!(
            "waits for the reader of {} to read {} queued bytes",
            pipe_label(k, f.pipe),
            p.ends[1 - f.end].inbound.unread
        ),
        OpKind::FileLock { .. } => {
            let holder = match f.lock {
                Some(t) => {
                    let api = match &k.thread(t).run {
                        Run::Blocked(b) => k.ops[*b].api.name(),
                        _ => "call",
                    };
                    format!("P{}/T{t}'s pending {api}", k.pid_of(t))
                }
                None => "another call".into(),
            };
            format!("queued behind {holder} on the same synchronous file object ({})", k.describe(id))
        }
        _ => unreachable!("not a pipe operation"),
    }
}

/// The wait-for edges of a pending pipe operation (deadlock report).
pub(crate) fn op_wait_edges(k: &Kernel, op: OpId) -> Vec<WaitEdge> {
    let id = op_file(k, op);
    let f = file_ref(k, id);
    let p = pipe_ref(k, f.pipe);
    let pipe = pipe_label(k, f.pipe);
    match k.ops[op].kind {
        OpKind::PipeRead { .. } => {
            let writer = p.ends[1 - f.end].file;
            vec![WaitEdge::PipeData {
                pipe,
                queued: p.ends[f.end].inbound.unread,
                writers: writer.map(|w| handle_refs(k, w)).unwrap_or_default(),
                closed_writers: writer.map(|w| k.objects[w].hdr.closed.clone()).unwrap_or_default(),
            }]
        }
        OpKind::PipeWrite { .. } => {
            let q = &p.ends[1 - f.end].inbound;
            let reader = p.ends[1 - f.end].file;
            vec![WaitEdge::PipeSpace {
                pipe,
                unread: q.unread,
                quota: q.quota,
                readers: reader.map(|r| handle_refs(k, r)).unwrap_or_default(),
            }]
        }
        OpKind::PipeFlush { .. } => vec![WaitEdge::PipeDrain { pipe, unread: p.ends[1 - f.end].inbound.unread }],
        OpKind::FileLock { .. } => vec![WaitEdge::FileLock { file: k.describe(id), holder: f.lock }],
        _ => unreachable!("not a pipe operation"),
    }
}

/// The threads that could complete a pending pipe operation: those holding the peer end
/// (for reads, writes and flushes), or the lock holder.
pub(crate) fn op_releasers(k: &Kernel, op: OpId) -> Vec<Tid> {
    let id = op_file(k, op);
    match k.ops[op].kind {
        OpKind::FileLock { .. } => k.releasers(id),
        _ => {
            let f = file_ref(k, id);
            let p = pipe_ref(k, f.pipe);
            p.ends[1 - f.end].file.map(|peer| k.holder_threads(peer)).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Entries, Entry};
    use std::collections::VecDeque;

    fn entry(n: u32) -> Entry {
        Entry {
            data: n.to_le_bytes().to_vec(),
            offset: (n % 3) as usize,
            writer: None,
            empty_unread: n.is_multiple_of(5),
        }
    }

    /// The ring answers as a `VecDeque` does through pushes, pops, growth, wrap-around,
    /// changes through `iter_mut` and `back_mut`, `retain` and `clear` (a pipe's data comes
    /// out in its order), and shows the same `Debug` text.
    #[test]
    fn entries_match_a_vec_deque() {
        let mut q = Entries::default();
        let mut model: VecDeque<Entry> = VecDeque::new();
        let same = |q: &Entries, model: &VecDeque<Entry>| {
            assert_eq!(q.len(), model.len());
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(format!("{:?}", q.front()), format!("{:?}", model.front()));
            assert_eq!(format!("{q:?}"), format!("{model:?}"));
        };
        let mut x: u32 = 7;
        for step in 0..5_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            match (x >> 16) % 10 {
                0..=3 => {
                    q.push_back(entry(step));
                    model.push_back(entry(step));
                }
                4..=5 => assert_eq!(format!("{:?}", q.pop_front()), format!("{:?}", model.pop_front())),
                6 => {
                    let m = ((x >> 8) % 3) as usize;
                    q.retain(|e| e.data[0] as usize % 3 != m);
                    model.retain(|e| e.data[0] as usize % 3 != m);
                }
                7 => {
                    for e in q.iter_mut() {
                        e.offset += 1;
                    }
                    for e in model.iter_mut() {
                        e.offset += 1;
                    }
                }
                8 => {
                    if let Some(e) = q.back_mut() {
                        e.writer = Some(Default::default());
                    }
                    if let Some(e) = model.back_mut() {
                        e.writer = Some(Default::default());
                    }
                }
                _ if step % 97 == 0 => {
                    q.clear();
                    model.clear();
                }
                _ => {}
            }
            same(&q, &model);
        }
    }
}
