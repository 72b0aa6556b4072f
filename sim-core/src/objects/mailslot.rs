//! Mailslots: CreateMailslot, CreateFile on `\\.\mailslot\NAME`, ReadFile and WriteFile
//! on mailslot handles, GetMailslotInfo, SetMailslotInfo (docs/semantics.md §18).
//!
//! A [`Mailslot`] is the server side (MSFS's FCB): the name, the queue of messages, the
//! maximum message size, the read time-out, and the reads waiting for a message. The
//! handles CreateMailslot returns refer to it directly. Each CreateFile on its name makes
//! a [`MailslotClient`] (MSFS's CCB), a write-only file object that holds a reference on
//! the mailslot. The mailslot namespace is its own and case-insensitive (§18.1), apart
//! from the kernel-object and pipe namespaces.
//!
//! A message is one WriteFile: a read returns exactly one message or fails without
//! consuming anything (§§18.9, 18.12). Unlike a pipe there is no quota: a write never
//! waits (§18.9).

use super::pipe::{handle_refs, handles_to};
use super::{Body, ObjectId, ObjectType};
use crate::api::{IoBuffer, Overlapped};
use crate::error::*;
use crate::kernel::io::{AsyncTarget, IoCompletionRoutine};
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{Api, Reply, Status, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::objects::process::map_generic;
use crate::report::{LimitKind, WaitEdge};
use crate::types::*;
use std::collections::VecDeque;

/// The server side of a mailslot.
#[derive(Debug, Clone)]
pub struct Mailslot {
    /// The name as created (`\\.\mailslot\NAME`).
    pub name: String,
    /// nMaxMessageSize: a longer write fails (§18.15); 0 means any size.
    pub max_message_size: u32,
    /// The read time-out in ms (MAILSLOT_WAIT_FOREVER: none), set by CreateMailslot and
    /// SetMailslotInfo; each read takes the value current when it starts (§18.14).
    pub read_timeout_ms: u32,
    /// Messages not yet read, oldest first.
    pub messages: VecDeque<Vec<u8>>,
    /// Unread bytes. Invariant: the sum of the lengths of `messages`.
    pub bytes: u64,
    /// ReadFile operations waiting for a message, oldest first (completed in this order,
    /// §18.17).
    pub reads: VecDeque<OpId>,
    /// Client file objects with handles open, in the order they were opened.
    pub clients: Vec<ObjectId>,
    /// Set when the last server handle closed: the name is free and writes fail (§18.16).
    pub closed: bool,
    /// Signalled as a file object is: not while an asynchronous read without an event is
    /// in progress (§§16.3, 18.20).
    pub signalled: bool,
}

/// A client (writer) file object over a mailslot.
#[derive(Debug, Clone)]
pub struct MailslotClient {
    /// The mailslot (a reference is held on it).
    pub slot: ObjectId,
}

/// Rights of a CreateMailslot handle: kernel32 opens the server with GENERIC_READ,
/// SYNCHRONIZE and WRITE_DAC, so a WriteFile on it is ERROR_ACCESS_DENIED (§18.7).
const SERVER_ACCESS: u32 = FILE_GENERIC_READ | WRITE_DAC;

fn slot(k: &Kernel, id: ObjectId) -> &Mailslot {
    match &k.objects[id].body {
        Body::Mailslot(m) => m,
        _ => panic!("simulator bug: not a mailslot"),
    }
}

fn slot_mut(k: &mut Kernel, id: ObjectId) -> &mut Mailslot {
    match &mut k.objects[id].body {
        Body::Mailslot(m) => m,
        _ => panic!("simulator bug: not a mailslot"),
    }
}

/// The namespace key of `\\.\mailslot\NAME`: NAME, lower-cased (§18.1). Anything else is
/// ERROR_INVALID_NAME (§18.1).
pub(crate) fn mailslot_key(name: &str) -> Result<String, Win32Error> {
    const PREFIX: &str = "\\\\.\\mailslot\\";
    let head = name.get(..PREFIX.len()).filter(|h| h.eq_ignore_ascii_case(PREFIX)).ok_or(ERROR_INVALID_NAME)?;
    let rest = &name[head.len()..];
    if rest.is_empty() || rest.ends_with('\\') || rest.contains("\\\\") {
        // [inferred] An empty name or an empty path component names nothing.
        return Err(ERROR_INVALID_NAME);
    }
    Ok(rest.to_lowercase())
}

/// Whether `name` names a local mailslot (`\\.\mailslot\...`).
pub(crate) fn is_mailslot_path(name: &str) -> bool {
    name.get(..13).is_some_and(|h| h.eq_ignore_ascii_case("\\\\.\\mailslot\\"))
}

/// How a mailslot ReadFile or WriteFile completes: to its blocked thread, or to its
/// OVERLAPPED (event, completion routine) (§18.18).
enum SlotIo {
    Sync,
    Async(AsyncTarget),
}

/// What a handle refers to, as far as mailslot calls are concerned.
enum Side {
    /// A CreateMailslot handle: the mailslot.
    Server(ObjectId),
    /// A CreateFile handle: the client's mailslot.
    Client(ObjectId),
}

impl Kernel {
    /// The mailslot side a handle refers to, if it is a mailslot handle (`None` for any
    /// other object, and for a bad handle).
    fn mailslot_side(&self, pid: Pid, tid: Tid, h: HANDLE) -> Option<Side> {
        let id = self.object_from_handle(pid, tid, h, None, 0).ok()?;
        match &self.objects[id].body {
            Body::Mailslot(_) => Some(Side::Server(id)),
            Body::MailslotClient(c) => Some(Side::Client(c.slot)),
            _ => None,
        }
    }

    /// Whether `h` is a mailslot handle (ReadFile and WriteFile dispatch on this). A call
    /// granted a pipe file object's lock works on that object, whatever its handle value
    /// names by now.
    pub(crate) fn is_mailslot_handle(&self, pid: Pid, tid: Tid, h: HANDLE) -> bool {
        self.thread(tid).granted.is_none() && self.mailslot_side(pid, tid, h).is_some()
    }

    /// CreateMailslot: a new name in the mailslot namespace (§§18.1-18.3).
    pub(crate) fn create_mailslot(
        &mut self,
        pid: Pid,
        tid: Tid,
        name: Option<String>,
        max_message_size: u32,
        read_timeout_ms: u32,
        inherit: bool,
    ) -> CallResult {
        // NULL: ERROR_PATH_NOT_FOUND; a name outside \\.\mailslot\: ERROR_INVALID_NAME (§18.1).
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        let key = mailslot_key(&name)?;
        if self.mailslot_names.contains_key(&key) {
            // A second server for a name fails; it never opens the first (§18.2).
            return Err(ERROR_ALREADY_EXISTS);
        }
        let id = self.alloc_object(
            Body::Mailslot(Mailslot {
                name: name.clone(),
                max_message_size,
                read_timeout_ms,
                messages: VecDeque::new(),
                bytes: 0,
                reads: VecDeque::new(),
                clients: Vec::new(),
                closed: false,
                signalled: true,
            }),
            None,
        );
        let origin = self.origin(pid, tid, "CreateMailslot", "created (server)", None);
        let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        let h = match self.alloc_handle(pid, id, SERVER_ACCESS, flags, vec![origin]) {
            Ok(h) => h,
            Err(e) => {
                // No handle (LimitAction::FailCall): nothing is left behind.
                self.maybe_destroy(id);
                return Err(e);
            }
        };
        self.mailslot_names.insert(key, id);
        self.note_effect(|k| format!("{} created", k.describe(id)));
        Ok(Value::Handle(h).into())
    }

    /// CreateFile on `\\.\mailslot\NAME`: a client (writer) handle (§18.8).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_mailslot(
        &mut self,
        pid: Pid,
        tid: Tid,
        name: &str,
        access: u32,
        inherit: bool,
        disposition: u32,
    ) -> CallResult {
        if !(CREATE_NEW..=TRUNCATE_EXISTING).contains(&disposition) {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let key = mailslot_key(name)?;
        // No server: ERROR_FILE_NOT_FOUND (§18.8).
        let Some(slot_id) = self.mailslot_names.get(&key).copied() else { return Err(ERROR_FILE_NOT_FOUND) };
        let client = self.alloc_object(Body::MailslotClient(MailslotClient { slot: slot_id }), None);
        self.add_ref(slot_id);
        let origin = self.origin(pid, tid, "CreateFile", "opened (mailslot client)", None);
        let granted = map_generic(ObjectType::File, access) | SYNCHRONIZE | FILE_READ_ATTRIBUTES;
        let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        let h = match self.alloc_handle(pid, client, granted, flags, vec![origin]) {
            Ok(h) => h,
            Err(e) => {
                self.maybe_destroy(client);
                return Err(e);
            }
        };
        slot_mut(self, slot_id).clients.push(client);
        Ok(Value::Handle(h).into())
    }

    /// ReadFile on a mailslot handle (§§18.4-18.7, 18.9-18.12, 18.17): one message, or
    /// ERROR_INSUFFICIENT_BUFFER consuming nothing; on an empty mailslot ERROR_SEM_TIMEOUT
    /// at once (time-out 0), or a pending read with the mailslot's time-out.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mailslot_read_file(
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
        let Some(side) = self.mailslot_side(pid, tid, h) else {
            unreachable!("simulator bug: mailslot_read_file on a handle that is not a mailslot's")
        };
        let id = match side {
            Side::Client(..) => {
                // A client can only write: without read access the I/O manager refuses
                // (ERROR_ACCESS_DENIED), with it MSFS does (ERROR_INVALID_PARAMETER) (§18.7).
                let e = match self.object_from_handle(pid, tid, h, None, FILE_READ_DATA) {
                    Err(e) => e,
                    Ok(_) => ERROR_INVALID_PARAMETER,
                };
                return Exec::Done(Reply::error(e));
            }
            Side::Server(id) => id,
        };
        let io = match self.slot_io(pid, tid, api, id, overlapped, buffer, routine) {
            Ok(io) => io,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let m = slot(self, id);
        if let Some(first) = m.messages.front() {
            if first.len() as u64 > u64::from(len) {
                // No partial read: the message stays (§18.12).
                return self.slot_done(io, tid, api, Reply::error(ERROR_INSUFFICIENT_BUFFER));
            }
            let data = self.take_message(id);
            return self.slot_done(io, tid, api, Reply::from(Value::Read(data)));
        }
        match m.read_timeout_ms {
            // Time-out 0: an error at once, zero-length buffer too (§18.4).
            0 => self.slot_done(io, tid, api, Reply::error(ERROR_SEM_TIMEOUT)),
            t => {
                let deadline = self.deadline(t);
                let kind = OpKind::MailslotRead { slot: id, len };
                let (op, exec) = match io {
                    SlotIo::Sync => {
                        let op = self.new_op(tid, kind, deadline);
                        (op, Exec::Block(op))
                    }
                    SlotIo::Async(t) => {
                        // The handle is asynchronous: FALSE, ERROR_IO_PENDING (§18.18).
                        let op = self.pend_async(tid, kind, t);
                        self.arm_deadline(op, deadline);
                        (op, Exec::Done(Reply { status: Status::Pending, value: Value::Void }))
                    }
                };
                slot_mut(self, id).reads.push_back(op);
                exec
            }
        }
    }

    /// Starts a mailslot call's asynchronous completion when it has an OVERLAPPED (its
    /// event reset unless a completion routine is given, Internal STATUS_PENDING).
    #[allow(clippy::too_many_arguments)]
    fn slot_io(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        id: ObjectId,
        overlapped: Option<Overlapped>,
        buffer: Option<IoBuffer>,
        routine: Option<IoCompletionRoutine>,
    ) -> Result<SlotIo, Win32Error> {
        let Some(ov) = overlapped else { return Ok(SlotIo::Sync) };
        let mut t = self.begin_async_with(pid, tid, api, id, &ov, buffer, routine.is_none())?;
        t.routine = routine;
        Ok(SlotIo::Async(t))
    }

    /// A mailslot call that completed at once: to its thread, or to its OVERLAPPED too.
    fn slot_done(&mut self, io: SlotIo, tid: Tid, api: Api, reply: Reply) -> Exec {
        match io {
            SlotIo::Sync => Exec::Done(reply),
            SlotIo::Async(t) => self.finish_async_now(tid, api, t, reply),
        }
    }

    /// Takes the first message off a mailslot.
    fn take_message(&mut self, id: ObjectId) -> Vec<u8> {
        let m = slot_mut(self, id);
        let data = m.messages.pop_front().expect("simulator bug: taking a message from an empty mailslot");
        m.bytes -= data.len() as u64;
        self.pipe_bytes -= data.len() as u64;
        data
    }

    /// WriteFile on a mailslot handle (§§18.7, 18.9, 18.11, 18.15, 18.16, 18.19): the
    /// message is queued, or handed to the first pending read, and the call returns at once.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mailslot_write_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        h: HANDLE,
        data: Vec<u8>,
        overlapped: Option<Overlapped>,
        routine: Option<IoCompletionRoutine>,
    ) -> Exec {
        let Some(side) = self.mailslot_side(pid, tid, h) else {
            unreachable!("simulator bug: mailslot_write_file on a handle that is not a mailslot's")
        };
        // The I/O manager checks write access first: the server handle has none (§18.7).
        if let Err(e) = self.object_from_handle(pid, tid, h, None, FILE_WRITE_DATA) {
            return Exec::Done(Reply::error(e));
        }
        let id = match side {
            // [inferred] A server handle opened with write access (not possible through
            // CreateMailslot) would reach MSFS, which writes only to clients.
            Side::Server(_) => return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER)),
            Side::Client(slot) => slot,
        };
        let client = self.object_from_handle(pid, tid, h, None, 0).expect("resolved above");
        let io = match self.slot_io(pid, tid, api, client, overlapped, None, routine) {
            Ok(io) => io,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let m = slot(self, id);
        if m.closed {
            // The server is gone: STATUS_FILE_FORCED_CLOSED (§18.16).
            return self.slot_done(io, tid, api, Reply::error(ERROR_HANDLE_EOF));
        }
        let n = data.len();
        if m.max_message_size != 0 && n as u64 > u64::from(m.max_message_size) {
            return self.slot_done(io, tid, api, Reply::error(ERROR_INVALID_PARAMETER));
        }
        if n as u64 > u64::from(self.config.io_bytes_max) {
            let max = self.config.io_bytes_max;
            let e = self.hit_limit(LimitKind::IoBytes, format!("a {n}-byte I/O exceeds io_bytes_max ({max})"));
            return self.slot_done(io, tid, api, Reply::error(e));
        }
        if self.pipe_bytes + n as u64 > self.config.pipe_bytes_max {
            // Unread mailslot bytes count toward the same limit as pipes' (§18.19).
            let max = self.config.pipe_bytes_max;
            let e = self.hit_limit(
                LimitKind::PipeBytes,
                format!("pipes and mailslots would hold more than {max} unread bytes (pipe_bytes_max)"),
            );
            return self.slot_done(io, tid, api, Reply::error(e));
        }
        let m = slot_mut(self, id);
        m.messages.push_back(data);
        m.bytes += n as u64;
        self.pipe_bytes += n as u64;
        self.mailslot_progress(id, &move || format!("{api}({h}, {n} bytes)"));
        // After the waiting reads took theirs: what the mailslot still holds.
        self.note_effect(|k| format!("{} holds {} message(s)", k.describe(id), slot(k, id).messages.len()));
        self.slot_done(io, tid, api, Reply::from(Value::Written(n as u32)))
    }

    /// Pending reads take the queued messages, in order (§18.17): a read whose buffer is
    /// too small fails with ERROR_INSUFFICIENT_BUFFER and the message stays for the next.
    fn mailslot_progress(&mut self, id: ObjectId, cause: &dyn Fn() -> String) {
        loop {
            let m = slot_mut(self, id);
            let Some(&first_len) = m.messages.front().map(|d| d.len()).as_ref() else { break };
            let Some(op) = m.reads.pop_front() else { break };
            let OpKind::MailslotRead { len, .. } = self.ops[op].kind else {
                unreachable!("simulator bug: a mailslot's read queue holds a read")
            };
            let why = self.cause(cause);
            if first_len as u64 > u64::from(len) {
                self.complete_op(op, Reply::error(ERROR_INSUFFICIENT_BUFFER), &why);
                continue;
            }
            let data = self.take_message(id);
            self.complete_op(op, Reply::from(Value::Read(data)), &why);
        }
    }

    /// GetMailslotInfo: maximum message size, next message size (MAILSLOT_NO_MESSAGE when
    /// none), message count, read time-out (§§18.3, 18.10, 18.13). A client handle answers
    /// too (Windows 8 and later).
    pub(crate) fn get_mailslot_info(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let id = match self.mailslot_side(pid, tid, h) {
            Some(Side::Server(id)) | Some(Side::Client(id)) => id,
            None => return Err(self.not_a_mailslot(pid, tid, h)),
        };
        let m = slot(self, id);
        Ok(Value::MailslotInfo {
            max_message_size: m.max_message_size,
            next_size: m.messages.front().map(|d| d.len() as u32).unwrap_or(MAILSLOT_NO_MESSAGE),
            message_count: m.messages.len() as u32,
            read_timeout: m.read_timeout_ms,
        }
        .into())
    }

    /// SetMailslotInfo: the read time-out of later reads (§18.14); server handles only.
    pub(crate) fn set_mailslot_info(&mut self, pid: Pid, tid: Tid, h: HANDLE, read_timeout_ms: u32) -> CallResult {
        let id = match self.mailslot_side(pid, tid, h) {
            Some(Side::Server(id)) => id,
            // [inferred] MSFS sets information only through the server's FCB.
            Some(Side::Client(..)) => return Err(ERROR_INVALID_PARAMETER),
            None => return Err(self.not_a_mailslot(pid, tid, h)),
        };
        slot_mut(self, id).read_timeout_ms = read_timeout_ms;
        self.note_effect(|k| format!("{} read time-out {read_timeout_ms} ms", k.describe(id)));
        Ok(Value::Bool(true).into())
    }

    /// The error of a mailslot call on a handle that is not a mailslot's: a bad handle or
    /// another object type is ERROR_INVALID_HANDLE (STATUS_OBJECT_TYPE_MISMATCH); a pipe's
    /// file object reaches NPFS, which knows no mailslot information class:
    /// ERROR_INVALID_PARAMETER [inferred] (§18.3).
    fn not_a_mailslot(&self, pid: Pid, tid: Tid, h: HANDLE) -> Win32Error {
        match self.object_from_handle(pid, tid, h, Some(ObjectType::File), 0) {
            Ok(_) => ERROR_INVALID_PARAMETER,
            Err(e) => e,
        }
    }
}

/// The last server handle closed: the name is free, queued messages are discarded, and
/// pending reads end with ERROR_HANDLE_EOF (§18.16).
pub(crate) fn server_closed(k: &mut Kernel, id: ObjectId) {
    let why = k.cause(|| format!("last handle to {}", k.describe(id)));
    let key = mailslot_key(&slot(k, id).name).expect("a created name is valid");
    if k.mailslot_names.get(&key) == Some(&id) {
        k.mailslot_names.remove(&key);
    }
    let m = slot_mut(k, id);
    m.closed = true;
    m.messages.clear();
    let bytes = std::mem::take(&mut m.bytes);
    let reads: Vec<OpId> = m.reads.drain(..).collect();
    k.pipe_bytes -= bytes;
    for op in reads {
        k.complete_op(op, Reply::error(ERROR_HANDLE_EOF), &why);
    }
}

/// The last handle to a client closed: it is no longer a writer.
pub(crate) fn client_closed(k: &mut Kernel, id: ObjectId) {
    let Body::MailslotClient(c) = &k.objects[id].body else { return };
    let s = c.slot;
    slot_mut(k, s).clients.retain(|&c| c != id);
}

/// Takes a mailslot read off its queue (a time-out, a cancel, its thread ending).
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    let OpKind::MailslotRead { slot: id, .. } = k.ops[op].kind else { unreachable!("not a mailslot operation") };
    slot_mut(k, id).reads.retain(|&r| r != op);
}

/// What a mailslot read waits for, in words.
pub(crate) fn op_reason(k: &Kernel, op: OpId) -> String {
    let OpKind::MailslotRead { slot: id, .. } = k.ops[op].kind else { unreachable!("not a mailslot operation") };
    let m = slot(k, id);
    let writers: usize = m.clients.iter().map(|&c| handles_to(k, c).len()).sum();
    format!("waits for a message in mailslot {} ({} queued; {writers} writer handle(s) open)", m.name, m.messages.len())
}

/// The wait-for edge of a mailslot read: the mailslot and who holds writer handles.
pub(crate) fn op_wait_edges(k: &Kernel, op: OpId) -> Vec<WaitEdge> {
    let OpKind::MailslotRead { slot: id, .. } = k.ops[op].kind else { unreachable!("not a mailslot operation") };
    let m = slot(k, id);
    vec![WaitEdge::MailslotMessage {
        mailslot: m.name.clone(),
        queued: m.messages.len() as u64,
        writers: m.clients.iter().flat_map(|&c| handle_refs(k, c)).collect(),
    }]
}

/// The threads that could complete a mailslot read: those holding writer handles (anyone
/// could also open the name, which the report cannot name).
pub(crate) fn op_releasers(k: &Kernel, op: OpId) -> Vec<Tid> {
    let OpKind::MailslotRead { slot: id, .. } = k.ops[op].kind else { unreachable!("not a mailslot operation") };
    let mut out: Vec<Tid> = slot(k, id).clients.iter().flat_map(|&c| k.holder_threads(c)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// An object's state in words (deadlock report).
pub(crate) fn state(m: &Mailslot) -> String {
    format!(
        "{} message(s) queued, read time-out {}{}",
        m.messages.len(),
        if m.read_timeout_ms == MAILSLOT_WAIT_FOREVER {
            "forever".to_string()
        } else {
            format!("{} ms", m.read_timeout_ms)
        },
        if m.closed { ", server closed" } else { "" }
    )
}
