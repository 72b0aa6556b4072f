//! Named pipes: CreateNamedPipe, CreateFile on `\\.\pipe\NAME`, WaitNamedPipe,
//! ConnectNamedPipe, DisconnectNamedPipe, Set/GetNamedPipeHandleState,
//! GetNamedPipeClientProcessId/ServerProcessId, TransactNamedPipe (docs/semantics.md §§5,
//! 6). CallNamedPipe is composed of these in the API layer, as kernel32 does.
//!
//! A [`NamedPipe`] is one name in the pipe namespace (NPFS's FCB): its instances, the
//! instances listening in the order they began to (a client gets the first, §6.15), and
//! the WaitNamedPipe calls waiting for one. Each instance is an ordinary [`Pipe`] with an
//! [`Instance`] state (listening, connected, closing, disconnected), so reads, writes,
//! quotas, message mode and end of file are the pipe code's, shared with anonymous pipes.
//! The pipe namespace is its own and case-insensitive (§6.2), not the kernel-object one.

use super::pipe::{CLIENT, DataQueue, File, Pipe, PipeEnd, SERVER, file_mut, file_ref, pipe_mut, pipe_ref};
use super::{Body, ObjectId, ObjectType};
use crate::api::Overlapped;
use crate::error::*;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{Api, Reply, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::objects::process::map_generic;
use crate::report::{LimitKind, WaitEdge};
use crate::types::*;
use std::collections::VecDeque;

/// WaitNamedPipe's NMPWAIT_USE_DEFAULT_WAIT when the pipe's nDefaultTimeOut was 0
/// (CreateNamedPipe doc: "A value of zero will result in a default time-out of 50
/// milliseconds").
const DEFAULT_WAIT_MS: u32 = 50;

/// One name in the pipe namespace.
#[derive(Debug, Clone)]
pub struct NamedPipe {
    /// The name as first created (`\\.\pipe\NAME`).
    pub name: String,
    /// PIPE_ACCESS_INBOUND / OUTBOUND / DUPLEX of the first instance: later instances must
    /// use the same (§6.4).
    pub access: u32,
    /// nMaxInstances of the first instance.
    pub max_instances: u32,
    /// PIPE_TYPE_MESSAGE of the first instance: every instance is of this type, whatever
    /// type a later CreateNamedPipe asks for (§6.4a).
    pub message_type: bool,
    /// nDefaultTimeOut of the first instance (WaitNamedPipe's default wait).
    pub default_timeout_ms: u32,
    /// Instances whose server end is open, in creation order.
    pub instances: Vec<ObjectId>,
    /// Instances listening for a client, in the order they began to (§6.15).
    /// Invariant: exactly the instances in state `Listening`.
    pub listening: VecDeque<ObjectId>,
    /// Pending WaitNamedPipe operations.
    pub waiters: Vec<OpId>,
}

/// Where a named pipe instance is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Waiting for a client: a new instance, or one ConnectNamedPipe put back after a
    /// disconnect (§6.6).
    Listening,
    /// A client opened it.
    Connected,
    /// Connected, and the client closed its end: the server reads what is left, then
    /// ERROR_BROKEN_PIPE; ConnectNamedPipe gives ERROR_NO_DATA until DisconnectNamedPipe
    /// (§6.10).
    Closing,
    /// The server called DisconnectNamedPipe: no client, not listening (CreateFile gets
    /// ERROR_PIPE_BUSY, §6.8) until ConnectNamedPipe.
    Disconnected,
}

/// A named pipe instance's connection.
#[derive(Debug, Clone)]
pub struct Instance {
    /// The name it belongs to (a reference is held on it).
    pub family: ObjectId,
    /// Its state.
    pub state: InstanceState,
    /// The process that created the instance.
    pub server_pid: Pid,
    /// The connected client's process (kept after the client closes, §6.19).
    pub client_pid: Option<Pid>,
    /// Pending ConnectNamedPipe operations.
    pub connects: Vec<OpId>,
}

fn family(k: &Kernel, id: ObjectId) -> &NamedPipe {
    match &k.objects[id].body {
        Body::NamedPipe(n) => n,
        _ => panic!("simulator bug: not a named pipe"),
    }
}

fn family_mut(k: &mut Kernel, id: ObjectId) -> &mut NamedPipe {
    match &mut k.objects[id].body {
        Body::NamedPipe(n) => n,
        _ => panic!("simulator bug: not a named pipe"),
    }
}

fn instance(k: &Kernel, pipe: ObjectId) -> Option<&Instance> {
    pipe_ref(k, pipe).named.as_ref()
}

fn instance_mut(k: &mut Kernel, pipe: ObjectId) -> &mut Instance {
    pipe_mut(k, pipe).named.as_mut().expect("a named pipe instance")
}

/// The namespace key of `\\.\pipe\NAME`: NAME, lower-cased (pipe names are
/// case-insensitive, §6.2). Anything else is ERROR_INVALID_NAME (§6.1).
pub(crate) fn pipe_key(name: &str) -> Result<String, Win32Error> {
    const PREFIX: &str = "\\\\.\\pipe\\";
    let head = name.get(..PREFIX.len()).filter(|h| h.eq_ignore_ascii_case(PREFIX)).ok_or(ERROR_INVALID_NAME)?;
    let rest = &name[head.len()..];
    if rest.is_empty() {
        return Err(ERROR_INVALID_NAME);
    }
    Ok(rest.to_lowercase())
}

/// Whether `name` names a pipe (`\\.\pipe\...`).
pub(crate) fn is_pipe_path(name: &str) -> bool {
    pipe_key(name).is_ok()
}

/// Rights of a server handle, by the pipe's direction. PIPE_ACCESS_INBOUND gives "the
/// equivalent of GENERIC_READ access" (CreateNamedPipe doc), so no FILE_WRITE_ATTRIBUTES:
/// SetNamedPipeHandleState on such a server fails with ERROR_ACCESS_DENIED (§24.5).
fn server_access(access: u32) -> u32 {
    match access {
        PIPE_ACCESS_INBOUND => FILE_GENERIC_READ,
        PIPE_ACCESS_OUTBOUND => FILE_GENERIC_WRITE | FILE_READ_ATTRIBUTES,
        _ => FILE_GENERIC_READ | FILE_GENERIC_WRITE,
    }
}

impl Kernel {
    /// The named pipe instance behind a server handle; a client handle, or an anonymous
    /// pipe's, is ERROR_INVALID_FUNCTION (ConnectNamedPipe on a client, §6.7).
    fn server_instance(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<(ObjectId, ObjectId), Win32Error> {
        let (file, pipe, end) = self.file_from_handle(pid, tid, h, 0)?;
        if end != SERVER || instance(self, pipe).is_none() {
            return Err(ERROR_INVALID_FUNCTION);
        }
        Ok((file, pipe))
    }

    /// An instance entered the listening state: it joins the back of the queue, and
    /// every WaitNamedPipe on its name returns TRUE (§6.14).
    fn start_listening(&mut self, pipe: ObjectId) {
        let inst = instance_mut(self, pipe);
        inst.state = InstanceState::Listening;
        let fam = inst.family;
        family_mut(self, fam).listening.push_back(pipe);
        let waiters = std::mem::take(&mut family_mut(self, fam).waiters);
        let why = self.cause(|| format!("an instance of {} is listening", family(self, fam).name));
        for op in waiters {
            self.release(fam);
            self.complete_op(op, Value::Bool(true).into(), &why);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_named_pipe(
        &mut self,
        pid: Pid,
        tid: Tid,
        name: Option<String>,
        open_mode: u32,
        pipe_mode: u32,
        max_instances: u32,
        out_buffer_size: u32,
        in_buffer_size: u32,
        default_timeout_ms: u32,
        inherit: bool,
    ) -> CallResult {
        // CreateNamedPipe(NULL) is ERROR_PATH_NOT_FOUND, a name outside \\.\pipe\
        // ERROR_INVALID_NAME (§6.1).
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        let key = pipe_key(&name)?;
        let access = open_mode & PIPE_ACCESS_DUPLEX;
        const OPEN_MODE_BITS: u32 = PIPE_ACCESS_DUPLEX
            | FILE_FLAG_FIRST_PIPE_INSTANCE
            | FILE_FLAG_OVERLAPPED
            | FILE_FLAG_WRITE_THROUGH
            | WRITE_DAC
            | ACCESS_SYSTEM_SECURITY;
        if access == 0 || open_mode & !OPEN_MODE_BITS != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        const PIPE_MODE_BITS: u32 =
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT | PIPE_REJECT_REMOTE_CLIENTS;
        if pipe_mode & !PIPE_MODE_BITS != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let asked_message_type = pipe_mode & PIPE_TYPE_MESSAGE != 0;
        let read_message = pipe_mode & PIPE_READMODE_MESSAGE != 0;
        if read_message && !asked_message_type {
            // A byte-type pipe cannot be read in message mode (§6.1).
            return Err(ERROR_INVALID_PARAMETER);
        }
        if max_instances == 0 || max_instances > PIPE_UNLIMITED_INSTANCES {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let fam = match self.pipe_names.get(&key).copied() {
            Some(fam) => {
                let f = family(self, fam);
                // The instance limit is checked first: a name at its limit answers
                // ERROR_PIPE_BUSY whatever else the call asks (§6.3a).
                if f.instances.len() >= f.max_instances as usize {
                    // STATUS_INSTANCE_NOT_AVAILABLE (§6.3).
                    return Err(ERROR_PIPE_BUSY);
                }
                if open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE != 0 || f.access != access {
                    // The name exists: FILE_FLAG_FIRST_PIPE_INSTANCE fails (CreateNamedPipe
                    // doc), and so does another access mode (§6.4).
                    return Err(ERROR_ACCESS_DENIED);
                }
                fam
            }
            None => {
                let fam = self.alloc_object(
                    Body::NamedPipe(NamedPipe {
                        name: name.clone(),
                        access,
                        max_instances,
                        message_type: asked_message_type,
                        default_timeout_ms,
                        instances: Vec::new(),
                        listening: VecDeque::new(),
                        waiters: Vec::new(),
                    }),
                    None,
                );
                self.pipe_names.insert(key.clone(), fam);
                fam
            }
        };
        // The type is the name's, set by its first instance; the read mode is kept as asked,
        // and a message read mode reads a byte-type pipe as bytes (§6.4a).
        let message_type = family(self, fam).message_type;
        // nInBufferSize limits data toward the server, nOutBufferSize data toward the
        // client (§2.1).
        let end = |quota| PipeEnd {
            inbound: DataQueue { quota, message: message_type, ..DataQueue::default() },
            ..PipeEnd::default()
        };
        let pipe = self.alloc_object(
            Body::Pipe(Pipe {
                ends: [end(in_buffer_size), end(out_buffer_size)],
                anonymous: false,
                max_instances: family(self, fam).max_instances,
                message_type,
                named: Some(Instance {
                    family: fam,
                    state: InstanceState::Disconnected,
                    server_pid: pid,
                    client_pid: None,
                    connects: Vec::new(),
                }),
            }),
            None,
        );
        self.add_ref(fam);
        let mut f = File::new(pipe, SERVER);
        f.read_message = read_message;
        f.nowait = pipe_mode & PIPE_NOWAIT != 0;
        f.synchronous = open_mode & FILE_FLAG_OVERLAPPED == 0;
        let file = self.alloc_object(Body::File(f), None);
        self.add_ref(pipe);
        pipe_mut(self, pipe).ends[SERVER].file = Some(file);
        let origin = self.origin(pid, tid, "CreateNamedPipe", "created (server end)", None);
        let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        let h = match self.alloc_handle(pid, file, server_access(access), flags, vec![origin]) {
            Ok(h) => h,
            Err(e) => {
                // No half-made instance survives a failed call (LimitAction::FailCall): the
                // file object goes, then the instance, then a name with no instance.
                pipe_mut(self, pipe).ends[SERVER].file = None;
                self.maybe_destroy(file);
                return Err(e);
            }
        };
        family_mut(self, fam).instances.push(pipe);
        // A new instance is listening at once (§6.6).
        self.start_listening(pipe);
        Ok(Value::Handle(h).into())
    }

    /// CreateFile: the client end of a named pipe. Files on a volume come with the
    /// shared-memory work; a path that is not a pipe ends the run as Unsupported.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_file(
        &mut self,
        pid: Pid,
        tid: Tid,
        name: Option<String>,
        access: u32,
        share_mode: u32,
        inherit: bool,
        disposition: u32,
        flags: u32,
        _template: HANDLE,
    ) -> CallResult {
        let name = name.ok_or(ERROR_PATH_NOT_FOUND)?;
        if super::mailslot::is_mailslot_path(&name) {
            return self.open_mailslot(pid, tid, &name, access, inherit, disposition);
        }
        if !is_pipe_path(&name) {
            // A path on the in-memory volume (§28).
            return self.create_disk_file(pid, tid, &name, access, share_mode, inherit, disposition, flags);
        }
        if !(CREATE_NEW..=TRUNCATE_EXISTING).contains(&disposition) {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let key = pipe_key(&name)?;
        let Some(fam) = self.pipe_names.get(&key).copied() else { return Err(ERROR_FILE_NOT_FOUND) };
        let access = map_generic(ObjectType::File, access);
        // The client may only move data the way the pipe flows (§6.18).
        let denied = match family(self, fam).access {
            PIPE_ACCESS_INBOUND => FILE_READ_DATA,
            PIPE_ACCESS_OUTBOUND => FILE_WRITE_DATA,
            _ => 0,
        };
        if access & denied != 0 {
            return Err(ERROR_ACCESS_DENIED);
        }
        // The instance that began listening first (§6.15); none: ERROR_PIPE_BUSY (§6.8).
        let Some(pipe) = family_mut(self, fam).listening.pop_front() else { return Err(ERROR_PIPE_BUSY) };
        let mut f = File::new(pipe, CLIENT);
        f.synchronous = flags & FILE_FLAG_OVERLAPPED == 0;
        let file = self.alloc_object(Body::File(f), None);
        self.add_ref(pipe);
        let p = pipe_mut(self, pipe);
        let listening_end = p.ends[CLIENT].clone();
        p.ends[CLIENT] = PipeEnd {
            file: Some(file),
            closed: false,
            inbound: DataQueue { quota: p.ends[CLIENT].inbound.quota, message: p.message_type, ..DataQueue::default() },
            reads: VecDeque::new(),
        };
        let inst = instance_mut(self, pipe);
        inst.state = InstanceState::Connected;
        inst.client_pid = Some(pid);
        let connects = std::mem::take(&mut inst.connects);
        let origin = self.origin(pid, tid, "CreateFile", "opened (client end)", None);
        // A client handle with access 0 still has SYNCHRONIZE and FILE_READ_ATTRIBUTES
        // (§6.18).
        let granted = access | SYNCHRONIZE | FILE_READ_ATTRIBUTES;
        let h = match self.alloc_handle(pid, file, granted, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin])
        {
            Ok(h) => h,
            Err(e) => {
                // No handle (LimitAction::FailCall): the call fails having changed nothing.
                // The instance listens again, first in line, with its waiting connects.
                let inst = instance_mut(self, pipe);
                inst.state = InstanceState::Listening;
                inst.client_pid = None;
                inst.connects = connects;
                pipe_mut(self, pipe).ends[CLIENT] = listening_end;
                family_mut(self, fam).listening.push_front(pipe);
                self.maybe_destroy(file);
                return Err(e);
            }
        };
        let why = self.cause(|| format!("CreateFile({name:?})"));
        for op in connects {
            self.complete_op(op, Value::Bool(true).into(), &why);
        }
        Ok(Value::Handle(h).into())
    }

    /// WaitNamedPipe: TRUE once an instance of the name is listening (at once if one is),
    /// ERROR_SEM_TIMEOUT after the time-out, ERROR_FILE_NOT_FOUND for a name that does not
    /// exist (§6.14). It reserves nothing: another client may take the instance first.
    pub(crate) fn wait_named_pipe(&mut self, _pid: Pid, tid: Tid, name: Option<String>, timeout_ms: u32) -> Exec {
        let key = match name.ok_or(ERROR_PATH_NOT_FOUND).and_then(|n| pipe_key(&n)) {
            Ok(k) => k,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let Some(fam) = self.pipe_names.get(&key).copied() else {
            return Exec::Done(Reply::error(ERROR_FILE_NOT_FOUND));
        };
        let f = family(self, fam);
        if !f.listening.is_empty() {
            return Exec::Done(Reply::from(Value::Bool(true)));
        }
        let wait_ms = match timeout_ms {
            NMPWAIT_USE_DEFAULT_WAIT if f.default_timeout_ms == 0 => DEFAULT_WAIT_MS,
            NMPWAIT_USE_DEFAULT_WAIT => f.default_timeout_ms,
            ms => ms,
        };
        let deadline = self.deadline(wait_ms);
        let op = self.new_op(tid, OpKind::WaitNamedPipe { family: fam }, deadline);
        family_mut(self, fam).waiters.push(op);
        self.add_ref(fam);
        Exec::Block(op)
    }

    /// ConnectNamedPipe (synchronous): TRUE when a client connects; ERROR_PIPE_CONNECTED
    /// when one already has (§6.6); ERROR_NO_DATA when it connected and closed (§6.10);
    /// after DisconnectNamedPipe the instance listens again. PIPE_NOWAIT returns
    /// ERROR_PIPE_LISTENING instead of waiting (§6.10).
    pub(crate) fn connect_named_pipe(&mut self, pid: Pid, tid: Tid, h: HANDLE, overlapped: Option<Overlapped>) -> Exec {
        // An anonymous pipe is a named pipe whose one client is connected from the start:
        // its read (server) end answers as a connected instance does, ERROR_PIPE_CONNECTED,
        // or ERROR_NO_DATA once the write end has closed (§6.7; found by the native
        // differential, docs/conformance.md).
        if let Ok((_, pipe, end)) = self.file_from_handle(pid, tid, h, 0)
            && end == SERVER
            && instance(self, pipe).is_none()
        {
            let err = if pipe_ref(self, pipe).ends[CLIENT].closed { ERROR_NO_DATA } else { ERROR_PIPE_CONNECTED };
            return Exec::Done(Reply::error(err));
        }
        let (file, pipe) = match self.server_instance(pid, tid, h) {
            Ok(x) => x,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let mode = match self.io_mode(pid, tid, Api::ConnectNamedPipe, file, overlapped, None) {
            Ok(m) => m,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let nowait = file_ref(self, file).nowait;
        // An error at once, overlapped or not: ERROR_PIPE_CONNECTED leaves the OVERLAPPED
        // pending and its event unsignalled (§6.9).
        let api = Api::ConnectNamedPipe;
        match instance(self, pipe).expect("named").state {
            InstanceState::Connected => return self.io_done(mode, tid, api, Reply::error(ERROR_PIPE_CONNECTED)),
            InstanceState::Closing => return self.io_done(mode, tid, api, Reply::error(ERROR_NO_DATA)),
            InstanceState::Disconnected => self.start_listening(pipe),
            InstanceState::Listening => {}
        }
        if nowait {
            return self.io_done(mode, tid, api, Reply::error(ERROR_PIPE_LISTENING));
        }
        let (op, exec) = self.io_pend(mode, tid, OpKind::PipeConnect { file });
        instance_mut(self, pipe).connects.push(op);
        exec
    }

    /// DisconnectNamedPipe: the client is cut off; queued data is discarded; pending
    /// calls on both ends fail with ERROR_PIPE_NOT_CONNECTED (§§6.12, 6.13); the instance
    /// neither has a client nor listens until ConnectNamedPipe (§6.8).
    pub(crate) fn disconnect_named_pipe(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        // A client file a DisconnectNamedPipe cut off is no end of any instance any more:
        // the call fails as on a disconnected pipe before it asks which end it is (§6.12a).
        if let Ok((file, _, _)) = self.file_from_handle(pid, tid, h, 0)
            && file_ref(self, file).disconnected
        {
            return Err(ERROR_PIPE_NOT_CONNECTED);
        }
        let (_, pipe) = self.server_instance(pid, tid, h)?;
        match instance(self, pipe).expect("named").state {
            InstanceState::Disconnected => return Err(ERROR_PIPE_NOT_CONNECTED),
            // [inferred] Nothing to disconnect yet.
            InstanceState::Listening => return Err(ERROR_PIPE_LISTENING),
            InstanceState::Connected | InstanceState::Closing => {}
        }
        let why = self.cause(|| format!("DisconnectNamedPipe({h})"));
        let p = pipe_mut(self, pipe);
        let mut failed: Vec<OpId> = Vec::new();
        let mut discarded = 0;
        let mut writes = 0;
        for e in 0..2 {
            let end = &mut p.ends[e];
            failed.extend(end.reads.drain(..));
            let q = &mut end.inbound;
            let before = failed.len();
            failed.extend(q.entries.iter().filter_map(|x| x.writer));
            writes += failed.len() - before;
            failed.append(&mut q.flushers);
            discarded += q.unread;
            q.read_total += q.unread;
            q.entries.clear();
            q.unread = 0;
            q.empty_messages = 0;
        }
        // The client's file object stays (its handles stay valid) but is no longer an
        // end of this instance.
        let client = p.ends[CLIENT].file.take();
        p.ends[CLIENT].closed = false;
        self.pipe_bytes -= discarded;
        self.pipe_writes_pending -= writes as u32;
        if let Some(c) = client {
            file_mut(self, c).disconnected = true;
        }
        instance_mut(self, pipe).state = InstanceState::Disconnected;
        for op in failed {
            self.complete_op(op, Reply::error(ERROR_PIPE_NOT_CONNECTED), &why);
        }
        Ok(Value::Bool(true).into())
    }

    /// SetNamedPipeHandleState: PIPE_READMODE_MESSAGE (not on a byte-type pipe, §5.7) and
    /// PIPE_NOWAIT for this file object. The collection count and time-out are for remote
    /// pipes only: ERROR_INVALID_PARAMETER [inferred from §6.17].
    pub(crate) fn set_named_pipe_handle_state(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> CallResult {
        // The handle needs FILE_WRITE_ATTRIBUTES: GENERIC_WRITE gives it, a read-only end
        // must ask for it (SetNamedPipeHandleState doc; §24.5).
        let (file, pipe, _) = self.file_from_handle(pid, tid, h, FILE_WRITE_ATTRIBUTES)?;
        if file_ref(self, file).disconnected {
            // A client whose server disconnected fails every call with
            // ERROR_PIPE_NOT_CONNECTED (§6.12) [inferred for this call: NPFS checks the
            // handle's state before the request; no Windows test covers it].
            return Err(ERROR_PIPE_NOT_CONNECTED);
        }
        if max_collection_count.is_some() || collect_data_timeout.is_some() {
            return Err(ERROR_INVALID_PARAMETER);
        }
        if let Some(mode) = mode {
            if mode & !(PIPE_READMODE_MESSAGE | PIPE_NOWAIT) != 0 {
                return Err(ERROR_INVALID_PARAMETER);
            }
            if mode & PIPE_READMODE_MESSAGE != 0 && !pipe_ref(self, pipe).message_type {
                return Err(ERROR_INVALID_PARAMETER);
            }
            let f = file_mut(self, file);
            f.read_message = mode & PIPE_READMODE_MESSAGE != 0;
            f.nowait = mode & PIPE_NOWAIT != 0;
        }
        Ok(Value::Bool(true).into())
    }

    /// GetNamedPipeHandleState: this handle's PIPE_NOWAIT / PIPE_READMODE_MESSAGE bits and
    /// the number of instances (§6.17); asking for the collection settings or the user
    /// name of a local pipe is ERROR_INVALID_PARAMETER (§6.17, todo_wine).
    pub(crate) fn get_named_pipe_handle_state(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        collection: bool,
        user_name: bool,
    ) -> CallResult {
        let (file, pipe, _) = self.file_from_handle(pid, tid, h, 0)?;
        if collection || user_name {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let f = file_ref(self, file);
        let state = (if f.nowait { PIPE_NOWAIT } else { 0 }) | (if f.read_message { PIPE_READMODE_MESSAGE } else { 0 });
        let instances = match instance(self, pipe) {
            Some(i) => family(self, i.family).instances.len() as u32,
            None => 1,
        };
        Ok(Value::PipeState { state, instances }.into())
    }

    /// GetNamedPipeClientProcessId / GetNamedPipeServerProcessId (§6.19): the process at
    /// the other end (or this end). A disconnected server has no client: ERROR_NOT_FOUND;
    /// a disconnected client: ERROR_PIPE_NOT_CONNECTED.
    fn pipe_process_id(&self, pid: Pid, tid: Tid, h: HANDLE, client: bool) -> CallResult {
        let (file, pipe, _) = self.file_from_handle(pid, tid, h, 0)?;
        if file_ref(self, file).disconnected {
            return Err(ERROR_PIPE_NOT_CONNECTED);
        }
        let Some(inst) = instance(self, pipe) else {
            // [inferred] An anonymous pipe has no client or server process on record.
            return Err(ERROR_NOT_FOUND);
        };
        match (client, inst.state, inst.client_pid) {
            (false, _, _) => Ok(Value::Out(inst.server_pid).into()),
            (true, InstanceState::Connected | InstanceState::Closing, Some(c)) => Ok(Value::Out(c).into()),
            _ => Err(ERROR_NOT_FOUND),
        }
    }

    pub(crate) fn get_named_pipe_client_process_id(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        self.pipe_process_id(pid, tid, h, true)
    }

    pub(crate) fn get_named_pipe_server_process_id(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        self.pipe_process_id(pid, tid, h, false)
    }

    /// TransactNamedPipe: one message out, one message back (§5.8). Needs a message-type
    /// pipe in message read mode (else ERROR_BAD_PIPE) with nothing unread for the caller
    /// (else ERROR_PIPE_BUSY); its write never waits for the quota.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn transact_named_pipe(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        data: Vec<u8>,
        len: u32,
        overlapped: Option<Overlapped>,
        buffer: Option<crate::api::IoBuffer>,
    ) -> Exec {
        let (file, pipe, end) = match self.file_from_handle(pid, tid, h, FILE_READ_DATA | FILE_WRITE_DATA) {
            Ok(x) => x,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if overlapped.is_some() && buffer.is_none() {
            self.unsupported(
                "TransactNamedPipe",
                "an OVERLAPPED with a slice for the reply (use transact_named_pipe_overlapped and an IoBuffer)",
            );
            return Exec::Done(Reply::error(ERROR_NOT_SUPPORTED));
        }
        let mode = match self.io_mode(pid, tid, Api::TransactNamedPipe, file, overlapped, buffer) {
            Ok(m) => m,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let api = Api::TransactNamedPipe;
        if file_ref(self, file).disconnected {
            // A disconnected client: ERROR_PIPE_NOT_CONNECTED before any other check, as
            // every call on it (§6.12) [inferred for this call].
            return self.io_done(mode, tid, api, Reply::error(ERROR_PIPE_NOT_CONNECTED));
        }
        if !pipe_ref(self, pipe).message_type || !file_ref(self, file).read_message {
            return self.io_done(mode, tid, api, Reply::error(ERROR_BAD_PIPE));
        }
        if let Some(e) = self.connection_error(file, false) {
            return self.io_done(mode, tid, api, Reply::error(e));
        }
        let p = pipe_ref(self, pipe);
        if p.ends[end].inbound.available() {
            return self.io_done(mode, tid, api, Reply::error(ERROR_PIPE_BUSY));
        }
        let peer = 1 - end;
        if p.ends[peer].closed {
            return self.io_done(mode, tid, api, Reply::error(ERROR_NO_DATA));
        }
        let n = data.len() as u64;
        if self.pipe_bytes + n > self.config.pipe_bytes_max {
            let max = self.config.pipe_bytes_max;
            let e = self.hit_limit(LimitKind::PipeBytes, format!("pipes would hold more than {max} unread bytes"));
            return self.io_done(mode, tid, api, Reply::error(e));
        }
        self.pipe_bytes += n;
        let q = &mut pipe_mut(self, pipe).ends[peer].inbound;
        q.unread += n;
        q.written_total += n;
        q.empty_messages += u32::from(n == 0);
        q.entries.push_back(super::pipe::Entry { data, offset: 0, writer: None, empty_unread: n == 0 });
        self.pipe_progress(pipe, peer, move |s: &mut String| {
            let _ = std::fmt::Write::write_fmt(s, format_args!("TransactNamedPipe({h}, {n} bytes)"));
        });
        self.read_now_or_wait(tid, api, file, len, mode, move |s: &mut String| {
            let _ = std::fmt::Write::write_fmt(s, format_args!("TransactNamedPipe({h})"));
        })
    }
}

/// A named pipe instance lost an end (its last handle closed): the client leaving makes
/// it `Closing`; the server leaving takes it off its name, and the name goes with its
/// last instance (§6.8, §6.14).
pub(crate) fn end_closed(k: &mut Kernel, pipe: ObjectId, end: usize, why: &str) {
    let inst = instance_mut(k, pipe);
    if end == CLIENT {
        if inst.state == InstanceState::Connected {
            inst.state = InstanceState::Closing;
        }
        return;
    }
    let fam = inst.family;
    let connects = std::mem::take(&mut inst.connects);
    inst.state = InstanceState::Closing;
    let f = family_mut(k, fam);
    f.instances.retain(|&i| i != pipe);
    f.listening.retain(|&i| i != pipe);
    let gone = f.instances.is_empty();
    for op in connects {
        k.complete_op(op, Reply::error(ERROR_BROKEN_PIPE), why);
    }
    if gone {
        let key = pipe_key(&family(k, fam).name).expect("a created name is valid");
        if k.pipe_names.get(&key) == Some(&fam) {
            k.pipe_names.remove(&key);
        }
        // WaitNamedPipe on a name that is gone: ERROR_FILE_NOT_FOUND [inferred, as for a
        // name that never existed, §6.14].
        let waiters = std::mem::take(&mut family_mut(k, fam).waiters);
        for op in waiters {
            k.release(fam);
            k.complete_op(op, Reply::error(ERROR_FILE_NOT_FOUND), why);
        }
    }
}

/// Instances listening for a client, described for the deadlock report.
pub(crate) fn listening_described(k: &Kernel) -> Vec<String> {
    let mut out = Vec::new();
    for &fam in k.pipe_names.values() {
        let f = family(k, fam);
        for &i in &f.listening {
            let server = pipe_ref(k, i).ends[SERVER].file.map(|s| k.describe(s)).unwrap_or_default();
            let waiting = if instance(k, i).is_some_and(|x| !x.connects.is_empty()) {
                " (a ConnectNamedPipe waits on it)"
            } else {
                ""
            };
            out.push(format!("{server}: no client has opened it{waiting}"));
        }
    }
    out
}

/// Takes a named-pipe operation off its queue.
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    match k.ops[op].kind {
        OpKind::PipeConnect { file } => {
            let pipe = file_ref(k, file).pipe;
            instance_mut(k, pipe).connects.retain(|&o| o != op);
        }
        OpKind::WaitNamedPipe { family: fam } => {
            family_mut(k, fam).waiters.retain(|&o| o != op);
            k.release(fam);
        }
        _ => unreachable!("not a named-pipe operation"),
    }
}

/// What a named-pipe operation waits for, in words.
pub(crate) fn op_reason(k: &Kernel, op: OpId) -> String {
    match k.ops[op].kind {
        OpKind::PipeConnect { file } => {
            let pipe = file_ref(k, file).pipe;
            let fam = instance(k, pipe).expect("named").family;
            format!("waits for a client to open {}", family(k, fam).name)
        }
        OpKind::WaitNamedPipe { family: fam } => {
            let f = family(k, fam);
            format!("waits for one of the {} instance(s) of {} to listen", f.instances.len(), f.name)
        }
        _ => unreachable!("not a named-pipe operation"),
    }
}

/// The wait-for edges of a named-pipe operation.
pub(crate) fn op_wait_edges(k: &Kernel, op: OpId) -> Vec<WaitEdge> {
    match k.ops[op].kind {
        OpKind::PipeConnect { file } => {
            let pipe = file_ref(k, file).pipe;
            let fam = instance(k, pipe).expect("named").family;
            vec![WaitEdge::PipeClient { pipe: family(k, fam).name.clone() }]
        }
        OpKind::WaitNamedPipe { family: fam } => {
            let f = family(k, fam);
            let servers = f
                .instances
                .iter()
                .map(|&i| {
                    let state = instance(k, i).map(|x| format!("{:?}", x.state)).unwrap_or_default();
                    format!("{} ({})", k.describe(pipe_ref(k, i).ends[SERVER].file.unwrap_or(i)), state.to_lowercase())
                })
                .collect();
            vec![WaitEdge::PipeInstance { pipe: f.name.clone(), instances: servers }]
        }
        _ => unreachable!("not a named-pipe operation"),
    }
}

/// The threads that could complete a named-pipe operation: for WaitNamedPipe the
/// threads of the processes holding server handles (they could disconnect and listen
/// again, or make an instance); a ConnectNamedPipe waits for any process to open the
/// pipe, which the report cannot name.
pub(crate) fn op_releasers(k: &Kernel, op: OpId) -> Vec<Tid> {
    match k.ops[op].kind {
        OpKind::PipeConnect { .. } => Vec::new(),
        OpKind::WaitNamedPipe { family: fam } => family(k, fam)
            .instances
            .iter()
            .filter_map(|&i| pipe_ref(k, i).ends[SERVER].file)
            .flat_map(|f| k.holder_threads(f))
            .collect(),
        _ => unreachable!("not a named-pipe operation"),
    }
}
