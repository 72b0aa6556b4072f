//! Asynchronous I/O: calls with an OVERLAPPED on a file opened with FILE_FLAG_OVERLAPPED,
//! their completion (OVERLAPPED fields, event or file signalled, data delivered, a packet
//! for the completion port), GetOverlappedResult(Ex), and cancellation (CancelIo,
//! CancelIoEx, CancelSynchronousIo). docs/semantics.md §16.
//!
//! An asynchronous operation is an ordinary pending operation whose completion target is
//! [`AsyncTarget`] instead of a blocked thread: the pipe code queues and completes it the
//! same way, and `complete_op` hands the reply here.

use super::ops::{OpId, OpKind, Target};
use super::request::{Api, Reply, Status, Value};
use super::{Exec, Kernel, Pid, Tid};
use crate::api::{IoBuffer, Overlapped, STATUS_PENDING};
use crate::error::*;
use crate::objects::{Body, ObjectId, ObjectType};
use crate::report::Outcome;
use crate::trace::EventKind;
use crate::types::*;

/// Where an asynchronous operation's completion goes.
pub struct AsyncTarget {
    /// The process that issued it (CancelIoEx and process exit are per process).
    pub pid: Pid,
    /// The OVERLAPPED.
    pub overlapped: Overlapped,
    /// Its event (a reference is held while the operation is pending), if it has one.
    pub event: Option<ObjectId>,
    /// The file object the operation runs on (signalled at completion when there is no
    /// event).
    pub file: ObjectId,
    /// The buffer a read fills at completion.
    pub buffer: Option<IoBuffer>,
    /// ReadFileEx/WriteFileEx's completion routine, queued as an APC to the issuing
    /// thread at completion (§16.39).
    pub routine: Option<IoCompletionRoutine>,
    /// Whether the completion queues a packet to the file's port: false for a call with a
    /// NULL OVERLAPPED on an overlapped handle, which has no OVERLAPPED to report (§16.6).
    pub packet: bool,
    /// An asynchronous MQReceiveMessage: where the message's properties go. Its
    /// completion is Message Queuing's (`Kernel::mq_signal_async`, §23.27).
    pub mq_message: Option<crate::mq::MqMessageBuf>,
}

/// A ReadFileEx/WriteFileEx completion routine (LPOVERLAPPED_COMPLETION_ROUTINE): called
/// with the error code (0 on success and on warnings), the bytes transferred and the
/// OVERLAPPED.
pub type IoCompletionRoutine = Box<
    dyn FnOnce(crate::api::ThreadCtx, u32, u32, Overlapped) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
>;

impl std::fmt::Debug for AsyncTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncTarget").field("event", &self.event).field("file", &self.file).finish_non_exhaustive()
    }
}

/// The NTSTATUS an OVERLAPPED's `Internal` holds for a completion status.
fn ntstatus(status: Status) -> u32 {
    match status {
        Status::Success | Status::SuccessSetting(_) => 0,
        Status::Pending => STATUS_PENDING,
        Status::Warning(e) | Status::Error(e) => match e {
            ERROR_MORE_DATA => 0x8000_0005,          // STATUS_BUFFER_OVERFLOW
            ERROR_BROKEN_PIPE => 0xC000_014B,        // STATUS_PIPE_BROKEN
            ERROR_NO_DATA => 0xC000_00B1,            // STATUS_PIPE_CLOSING
            ERROR_PIPE_NOT_CONNECTED => 0xC000_00B0, // STATUS_PIPE_DISCONNECTED
            ERROR_PIPE_LISTENING => 0xC000_00B3,     // STATUS_PIPE_LISTENING
            ERROR_OPERATION_ABORTED => 0xC000_0120,  // STATUS_CANCELLED
            ERROR_INVALID_HANDLE => 0xC000_0008,     // STATUS_INVALID_HANDLE
            _ => 0xC000_0001,                        // STATUS_UNSUCCESSFUL
        },
    }
}

/// The NTSTATUS of a failed (or warned) operation's Win32 error.
pub(crate) fn error_ntstatus(e: Win32Error) -> u32 {
    ntstatus(Status::Error(e))
}

/// Bytes a reply transferred.
fn transferred(v: &Value) -> u32 {
    match v {
        Value::Read(d) => d.len() as u32,
        Value::Written(n) => *n,
        // Socket operations: a receive's bytes, a send's (or ConnectEx's) count (§22.40).
        Value::Recv(d, _) => d.len() as u32,
        Value::Long(n) if *n > 0 => *n as u32,
        _ => 0,
    }
}

impl Kernel {
    /// Starts an asynchronous operation with `overlapped` on `file`: refuses an OVERLAPPED
    /// already in use (the run ends as `Failed`, naming both operations), resolves and
    /// resets its event, makes the file object nonsignalled, and sets `Internal` to
    /// STATUS_PENDING (§16).
    /// `use_event`: false for ReadFileEx/WriteFileEx, which ignore hEvent.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn begin_async_with(
        &mut self,
        pid: Pid,
        tid: Tid,
        api: Api,
        file: ObjectId,
        overlapped: &Overlapped,
        buffer: Option<IoBuffer>,
        use_event: bool,
    ) -> Result<AsyncTarget, Win32Error> {
        if let Some((serial, other)) = overlapped.state.borrow().pending {
            let message = format!(
                "T{tid} started {api} with an OVERLAPPED that {other} (operation #{serial}) is still using; \
                 on Windows this corrupts memory (Application Verifier reports it): use one OVERLAPPED per \
                 pending operation"
            );
            if self.stop.is_none() {
                self.stop = crate::kernel::Stop::of(Outcome::Failed { pid, tid, message, location: None });
            }
            return Err(ERROR_INVALID_PARAMETER);
        }
        let h_event = overlapped.h_event();
        let event = if h_event.is_null() || !use_event {
            None
        } else {
            // The event handle is the low bits-cleared value (a set low bit asks to skip
            // the port; winsim takes the handle as is).
            let id = self.object_from_handle(pid, tid, h_event, Some(ObjectType::Event), EVENT_MODIFY_STATE)?;
            if let Body::Event(e) = &mut self.objects[id].body {
                e.signalled = false;
            }
            Some(id)
        };
        match &mut self.objects[file].body {
            Body::File(f) => f.signalled = false,
            // A mailslot's server is a file object too (§18.18).
            Body::Mailslot(m) => m.signalled = false,
            // So is a socket (§22.40).
            Body::Socket(s) => s.signalled = false,
            _ => {}
        }
        {
            let mut st = overlapped.state.borrow_mut();
            st.internal = STATUS_PENDING;
            st.error = None;
        }
        Ok(AsyncTarget {
            pid,
            overlapped: overlapped.clone(),
            event,
            file,
            buffer,
            routine: None,
            packet: true,
            mq_message: None,
        })
    }

    /// Makes a started asynchronous operation pending: FALSE, ERROR_IO_PENDING; the
    /// caller goes on. The returned id is queued where the family keeps it.
    pub(crate) fn pend_async(&mut self, tid: Tid, kind: OpKind, target: AsyncTarget) -> OpId {
        self.pend_overlapped(tid, kind, target, false)
    }

    /// A call with an OVERLAPPED on a synchronous handle that must wait: its thread
    /// blocks on the returned operation, and the OVERLAPPED records it (§16.7).
    pub(crate) fn pend_sync_overlapped(&mut self, tid: Tid, kind: OpKind, target: AsyncTarget) -> OpId {
        self.pend_overlapped(tid, kind, target, true)
    }

    fn pend_overlapped(&mut self, tid: Tid, kind: OpKind, target: AsyncTarget, blocking: bool) -> OpId {
        if let Some(ev) = target.event {
            self.add_ref(ev);
        }
        let ov = target.overlapped.clone();
        let target = if blocking { Target::SyncOverlapped(Box::new(target)) } else { Target::Async(Box::new(target)) };
        let op = self.new_op_for(tid, kind, None, target);
        let (serial, api) = (self.ops[op].serial, self.ops[op].api.name());
        ov.state.borrow_mut().pending = Some((serial, api));
        op
    }

    /// An asynchronous operation that completed (or failed) without pending: its
    /// OVERLAPPED, event, file and port see the completion at once, and the call returns
    /// its result. A failure at once touches nothing and queues no packet (§16).
    pub(crate) fn finish_async_now(&mut self, tid: Tid, api: Api, target: AsyncTarget, reply: Reply) -> Exec {
        // A warning (part of a message) on a file associated with a port: since Windows 8
        // the NT call pends, so the call reports ERROR_IO_PENDING and the packet (with
        // STATUS_BUFFER_OVERFLOW) is queued even under FILE_SKIP_COMPLETION_PORT_ON_SUCCESS
        // (§16.5; ntdll pipe.c test_completion, the "win8+" branches).
        let pends = matches!(reply.status, Status::Warning(_))
            && target.packet
            && matches!(&self.objects[target.file].body, Body::File(f) if f.port.is_some());
        if pends {
            self.signal_async(tid, api, false, target, &reply);
            return Exec::Done(Reply { status: Status::Pending, value: Value::Void });
        }
        if !matches!(reply.status, Status::Error(_)) {
            self.signal_async(tid, api, true, target, &reply);
        } else {
            match &mut self.objects[target.file].body {
                Body::File(f) => f.signalled = true,
                Body::Mailslot(m) => m.signalled = true,
                Body::Socket(s) => s.signalled = true,
                _ => {}
            }
        }
        Exec::Done(reply)
    }

    /// An asynchronous operation whose result is known within the call but which Windows
    /// reports as pending (ConnectEx, §22.43): the call fails with ERROR_IO_PENDING and
    /// the OVERLAPPED, event and port hear of the completion at once.
    pub(crate) fn complete_as_pending(&mut self, tid: Tid, api: Api, target: AsyncTarget, reply: Reply) -> Exec {
        self.signal_async(tid, api, false, target, &reply);
        Exec::Done(Reply { status: Status::Pending, value: Value::Void })
    }

    /// An asynchronous operation completed: the one place its target hears of it.
    pub(crate) fn deliver_async(
        &mut self,
        tid: Tid,
        api: Api,
        serial: u64,
        target: AsyncTarget,
        reply: Reply,
        why: &str,
    ) {
        if self.config.trace && self.tids.contains_key(&tid) {
            let kind = EventKind::Wake {
                api: api.name().into(),
                ret: reply.ret(api.ret_kind()),
                outs: self.shown_outs(&reply.value),
                error: reply.status.last_error(),
                why: format!("{why} (asynchronous completion)").into(),
            };
            self.push_event_full(tid, Some(serial), kind);
        }
        let event = target.event;
        self.signal_async(tid, api, false, target, &reply);
        if let Some(ev) = event {
            self.release(ev);
        }
    }

    /// A blocking call with an OVERLAPPED on a synchronous handle completed (or its thread
    /// ended under it, `reply` then being ERROR_OPERATION_ABORTED): the OVERLAPPED, its
    /// event, the file and its port hear of it as for an asynchronous operation (§16.7).
    pub(crate) fn signal_sync_overlapped(&mut self, tid: Tid, api: Api, target: AsyncTarget, reply: &Reply) {
        let event = target.event;
        self.signal_async(tid, api, false, target, reply);
        if let Some(ev) = event {
            self.release(ev);
        }
    }

    /// Writes the completion into the OVERLAPPED and the buffer, signals the event or the
    /// file object, and queues the completion packet.
    fn signal_async(&mut self, tid: Tid, api: Api, at_once: bool, target: AsyncTarget, reply: &Reply) {
        if target.mq_message.is_some() {
            // An asynchronous MQReceiveMessage: its HRESULT goes into Internal (§23.27).
            self.mq_signal_async(tid, api, target, reply);
            return;
        }
        let bytes = transferred(&reply.value);
        if let Some(routine) = target.routine {
            // The completion routine runs as an APC on the issuing thread, never inside
            // the call, even for a completion at once; its error code is 0 on success and
            // on warnings (§16.39).
            let code = match reply.status {
                Status::Error(e) => e.0,
                _ => 0,
            };
            let ov = target.overlapped.clone();
            let apc: super::request::ApcRoutine = Box::new(move |ctx| routine(ctx, code, bytes, ov));
            self.queue_apc(tid, apc, format!("{api}'s completion routine"));
        }
        let data: Option<&[u8]> = match &reply.value {
            Value::Read(d) => Some(d),
            Value::Recv(d, _) => Some(d),
            _ => None,
        };
        if let (Some(buf), Some(d)) = (&target.buffer, data) {
            let mut b = buf.data.borrow_mut();
            let n = d.len().min(b.len());
            b[..n].copy_from_slice(&d[..n]);
        }
        let on_socket = matches!(self.objects.get(target.file).map(|o| &o.body), Some(Body::Socket(_)));
        // A socket operation's status is AFD's NTSTATUS: GetOverlappedResult and the port
        // report its Win32 error (ERROR_NETNAME_DELETED for a reset), WSAGetOverlappedResult
        // its Winsock error (WSAECONNRESET) (§22.40).
        let codes = if on_socket {
            crate::objects::socket::completion_codes(reply.status)
        } else {
            let e = reply.status.last_error().filter(|_| !reply.status.succeeded());
            (ntstatus(reply.status), e, e)
        };
        {
            let mut st = target.overlapped.state.borrow_mut();
            st.internal = codes.0;
            st.internal_high = bytes;
            st.error = codes.1;
            st.wsa_error = codes.2;
            st.pending = None;
        }
        let why = self.cause(|| format!("{api} completed"));
        match target.event {
            Some(ev) if self.objects.contains_key(ev) => {
                if let Body::Event(e) = &mut self.objects[ev].body {
                    e.signalled = true;
                }
                self.record_signal(ev, tid, api);
                self.wake_waiters(ev, &why);
            }
            _ => {}
        }
        if let Some(Body::Mailslot(m)) = self.objects.get_mut(target.file).map(|o| &mut o.body) {
            // A mailslot's server is signalled as a file object is (§§16.3, 18.18); it has
            // no completion port.
            if target.event.is_none() {
                m.signalled = true;
                if !self.objects[target.file].hdr.waiters.is_empty() {
                    self.wake_waiters(target.file, &why);
                }
            }
        }
        if let Some(Body::File(f)) = self.objects.get_mut(target.file).map(|o| &mut o.body) {
            // The file object is signalled only when the OVERLAPPED has no event (§16.3),
            // and never under FILE_SKIP_SET_EVENT_ON_HANDLE; FILE_SKIP_COMPLETION_PORT_ON_SUCCESS:
            // no packet for a success at once (§16.32).
            let set_file = !f.skip_set_event && target.event.is_none();
            let skip_packet = at_once && f.skip_port_on_success && reply.status.succeeded();
            if set_file {
                f.signalled = true;
            }
            if set_file && !self.objects[target.file].hdr.waiters.is_empty() {
                self.wake_waiters(target.file, &why);
            }
            if !skip_packet && target.packet {
                self.queue_completion_packet(target.file, bytes, &target.overlapped, reply.status);
            }
        }
        if let Some(Body::Socket(so)) = self.objects.get_mut(target.file).map(|o| &mut o.body) {
            // A socket is a file object: the same rules (§§16.3, 16.32, 22.40).
            let set_file = !so.skip_set_event && target.event.is_none();
            let skip_packet = at_once && so.skip_port_on_success && reply.status.succeeded();
            let port = so.port;
            if set_file {
                so.signalled = true;
            }
            if set_file && !self.objects[target.file].hdr.waiters.is_empty() {
                self.wake_waiters(target.file, &why);
            }
            if let (false, true, Some((port, key))) = (skip_packet, target.packet, port) {
                let packet = crate::objects::port::Packet {
                    key,
                    bytes,
                    overlapped: Some(target.overlapped.clone()),
                    error: codes.1,
                };
                self.post_packet(port, packet);
            }
        }
    }

    /// The completion packet of an operation on a file associated with a port.
    fn queue_completion_packet(&mut self, file: ObjectId, bytes: u32, overlapped: &Overlapped, status: Status) {
        let Body::File(f) = &self.objects[file].body else { return };
        let Some((port, key)) = f.port else { return };
        let error = if status.succeeded() { None } else { status.last_error() };
        self.post_packet(
            port,
            crate::objects::port::Packet { key, bytes, overlapped: Some(overlapped.clone()), error },
        );
    }

    /// GetOverlappedResult(Ex): the result of a completed operation (its bytes, even on
    /// failure), ERROR_IO_INCOMPLETE while pending without waiting, or a wait on the
    /// OVERLAPPED's event (the file object when it has none) with a time-out (§16).
    pub(crate) fn get_overlapped_result(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        overlapped: Overlapped,
        timeout_ms: u32,
        alertable: bool,
    ) -> Exec {
        if overlapped.has_overlapped_io_completed() {
            // A completed operation's result comes from the OVERLAPPED alone: the handle
            // is not looked at (§16.10).
            return Exec::Done(overlapped_result(&overlapped));
        }
        if timeout_ms == 0 {
            // Even alertable, a 0 time-out runs no APC (§16.13), and it does not look at
            // the handle either: kernel32 answers from Internal alone (§16.11).
            return Exec::Done(Reply::error(ERROR_IO_INCOMPLETE));
        }
        let file = match self.object_from_handle(pid, tid, h, None, 0) {
            Ok(f) => f,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if self.alerted(tid, alertable) {
            return Exec::Done(Reply::error(Win32Error(WAIT_IO_COMPLETION)));
        }
        let object = if overlapped.h_event().is_null() {
            file
        } else {
            match self.object_from_handle(pid, tid, overlapped.h_event(), None, SYNCHRONIZE) {
                Ok(ev) => ev,
                Err(e) => return Exec::Done(Reply::error(e)),
            }
        };
        if self.signalled_for(object, tid) {
            let _ = self.consume(object, tid);
            return Exec::Done(self.overlapped_result_after_wait(&overlapped));
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::OverlappedResult { object, overlapped }, deadline);
        self.ops[op].alertable = alertable;
        self.objects[object].hdr.waiters.push_back(op);
        self.add_ref(object);
        Exec::Block(op)
    }

    /// The result once the wait of GetOverlappedResult returned: the operation's, or
    /// ERROR_IO_INCOMPLETE when the event was set by someone else while it still runs.
    pub(crate) fn overlapped_result_after_wait(&self, overlapped: &Overlapped) -> Reply {
        self.overlapped_result_after_wait_as(overlapped, false)
    }

    /// As `overlapped_result_after_wait`, with the Winsock error for WSAGetOverlappedResult
    /// (`wsa`).
    pub(crate) fn overlapped_result_after_wait_as(&self, overlapped: &Overlapped, wsa: bool) -> Reply {
        if overlapped.has_overlapped_io_completed() {
            overlapped_result_as(overlapped, wsa)
        } else {
            Reply::error(ERROR_IO_INCOMPLETE)
        }
    }

    /// The asynchronous operations on `file` issued by process `pid` (by thread `by` when
    /// given) using `overlapped` when given.
    fn async_ops(&self, file: ObjectId, pid: Pid, by: Option<Tid>, overlapped: Option<&Overlapped>) -> Vec<OpId> {
        self.ops
            .iter()
            .filter(|(_, op)| match &op.target {
                Target::Async(t) => {
                    t.file == file
                        && t.pid == pid
                        && by.is_none_or(|tid| op.tid == tid)
                        && overlapped.is_none_or(|ov| ov.same(&t.overlapped))
                }
                Target::Thread | Target::SyncOverlapped(_) => false,
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// Cancels pending operations: each completes with ERROR_OPERATION_ABORTED (its event
    /// set, its packet queued; a pending pipe write loses its unread bytes, §2.9).
    pub(crate) fn cancel_ops(&mut self, ops: Vec<OpId>, why: &str) {
        for op in ops {
            if self.ops.contains_key(op) {
                self.unqueue_op(op);
                // A cancelled Message Queuing receive ends with MQ_ERROR_OPERATION_CANCELLED
                // (§23.31).
                let reply = if matches!(self.ops[op].kind, OpKind::MqReceive(_)) {
                    Value::MqReceived(crate::mq::MQ_ERROR_OPERATION_CANCELLED, None).into()
                } else {
                    Reply::error(ERROR_OPERATION_ABORTED)
                };
                self.complete_op(op, reply, why);
            }
        }
    }

    /// CancelIo: the calling thread's pending I/O on the handle. TRUE whether or not there
    /// was any [inferred from the CancelIo doc].
    pub(crate) fn cancel_io(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> Exec {
        let file = match self.io_object_from_handle(pid, tid, h) {
            Ok(f) => f,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let ops = self.async_ops(file, pid, Some(tid), None);
        let why = self.cause(|| format!("CancelIo({h})"));
        self.cancel_ops(ops, &why);
        Exec::Done(Reply::from(Value::Bool(true)))
    }

    /// CancelIoEx: every pending operation on the handle, or the one using `overlapped`;
    /// ERROR_NOT_FOUND when none matched (CancelIoEx doc).
    pub(crate) fn cancel_io_ex(&mut self, pid: Pid, tid: Tid, h: HANDLE, overlapped: Option<Overlapped>) -> Exec {
        let file = match self.io_object_from_handle(pid, tid, h) {
            Ok(f) => f,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        // I/O issued by the calling process only (CancelIoEx doc: "cancels all pending I/O
        // operations for the specified file handle that were issued by the calling
        // process"; §16.16).
        let mut ops = self.async_ops(file, pid, None, overlapped.as_ref());
        // Synchronous I/O of its other threads on the file is cancelled too when no
        // OVERLAPPED is named [inferred: CancelIoEx cancels all I/O on the handle].
        if overlapped.is_none() {
            ops.extend(self.sync_io_ops(file).into_iter().filter(|&op| self.pid_of(self.ops[op].tid) == pid));
        }
        if ops.is_empty() {
            return Exec::Done(Reply::error(ERROR_NOT_FOUND));
        }
        let why = self.cause(|| format!("CancelIoEx({h})"));
        self.cancel_ops(ops, &why);
        Exec::Done(Reply::from(Value::Bool(true)))
    }

    /// The file object behind a handle for CancelIo(Ex): a pipe's, or a mailslot's server
    /// or client (§18.18); anything else is ERROR_INVALID_HANDLE.
    fn io_object_from_handle(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<ObjectId, Win32Error> {
        let id = self.object_from_handle(pid, tid, h, None, 0)?;
        match self.objects[id].body.object_type() {
            // A socket's overlapped operations are cancelled the same way (CancelIoEx doc;
            // sock.c test_completion_port; §22.40).
            ObjectType::File | ObjectType::Mailslot | ObjectType::MailslotClient | ObjectType::Socket => Ok(id),
            _ => Err(ERROR_INVALID_HANDLE),
        }
    }

    /// Synchronous I/O operations pending on a file object (threads blocked in them).
    fn sync_io_ops(&self, file: ObjectId) -> Vec<OpId> {
        self.ops
            .iter()
            .filter(|(_, op)| {
                matches!(op.target, Target::Thread | Target::SyncOverlapped(_)) && self.op_file(&op.kind) == Some(file)
            })
            .map(|(id, _)| id)
            .collect()
    }

    /// The file object an I/O operation runs on.
    fn op_file(&self, kind: &OpKind) -> Option<ObjectId> {
        match kind {
            OpKind::PipeRead { file, .. }
            | OpKind::PipeWrite { file, .. }
            | OpKind::PipeFlush { file, .. }
            | OpKind::PipeConnect { file } => Some(*file),
            OpKind::MailslotRead { slot, .. } => Some(*slot),
            _ => None,
        }
    }

    /// CancelSynchronousIo: the synchronous I/O the thread is blocked in completes with
    /// ERROR_OPERATION_ABORTED; ERROR_NOT_FOUND when it is in none (CancelSynchronousIo
    /// doc).
    pub(crate) fn cancel_synchronous_io(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> Exec {
        let target = match self.object_from_handle(pid, tid, h, Some(ObjectType::Thread), THREAD_TERMINATE) {
            Ok(id) => match &self.objects[id].body {
                Body::Thread(t) => t.tid,
                _ => unreachable!("type checked"),
            },
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let op = self.blocked_op(target).filter(|&op| {
            self.op_file(&self.ops[op].kind).is_some() || matches!(self.ops[op].kind, OpKind::WaitNamedPipe { .. })
        });
        let Some(op) = op else { return Exec::Done(Reply::error(ERROR_NOT_FOUND)) };
        let why = self.cause(|| format!("CancelSynchronousIo({h})"));
        self.cancel_ops(vec![op], &why);
        Exec::Done(Reply::from(Value::Bool(true)))
    }

    /// The pending asynchronous operations, described for the deadlock report: the
    /// operation, its issuer, its file, its OVERLAPPED's event, and what it waits for.
    pub(crate) fn pending_async_described(&self) -> Vec<String> {
        self.ops
            .iter()
            .filter_map(|(id, op)| {
                let Target::Async(t) = &op.target else { return None };
                let event = match t.event {
                    Some(ev) => format!("event {} [{}]", self.describe(ev), self.object_state(ev)),
                    None => "no event (the file handle is signalled)".into(),
                };
                let by = if self.tids.contains_key(&op.tid) {
                    format!("P{}/T{}", self.pid_of(op.tid), op.tid)
                } else {
                    format!("T{} (ended)", op.tid)
                };
                Some(format!(
                    "{} (operation #{}) by {by} on {}, OVERLAPPED with {event}: {}",
                    op.api,
                    op.serial,
                    self.describe(t.file),
                    self.op_reason(id)
                ))
            })
            .collect()
    }

    /// Process exit: all of the process's pending asynchronous I/O is cancelled, on files
    /// associated with a completion port too, before its handles close (§§9.3, 16.20).
    pub(crate) fn cancel_process_io(&mut self, pid: Pid) {
        let ops: Vec<OpId> = self
            .ops
            .iter()
            .filter(|(_, op)| matches!(&op.target, Target::Async(t) if t.pid == pid))
            .map(|(id, _)| id)
            .collect();
        if !ops.is_empty() {
            self.cancel_ops(ops, &format!("P{pid} exited"));
        }
    }

    /// Thread exit: the thread's pending asynchronous I/O is cancelled, except on files
    /// associated with a completion port, whose I/O does not belong to a thread
    /// [inferred: IRPs are queued to the issuing thread unless the file object is
    /// thread-agnostic, §16].
    pub(crate) fn cancel_thread_io(&mut self, tid: Tid) {
        if !self.async_ops.contains_key(&tid) {
            return;
        }
        let ops: Vec<OpId> = self
            .ops
            .iter()
            .filter(|(_, op)| {
                op.tid == tid
                    && matches!(&op.target, Target::Async(t)
                        if matches!(self.objects.get(t.file).map(|o| &o.body),
                            Some(Body::File(f)) if f.port.is_none())
                            || matches!(self.objects.get(t.file).map(|o| &o.body), Some(Body::Mailslot(_)))
                            // A socket's likewise: a WSARecv on a socket with a port survives
                            // its thread (sock.c iocp_async_read_thread_closesocket).
                            || matches!(self.objects.get(t.file).map(|o| &o.body),
                                Some(Body::Socket(so)) if so.port.is_none()))
            })
            .map(|(id, _)| id)
            .collect();
        if !ops.is_empty() {
            self.cancel_ops(ops, &format!("T{tid} exited"));
        }
    }
}

/// The result GetOverlappedResult reports for a completed operation.
fn overlapped_result(overlapped: &Overlapped) -> Reply {
    overlapped_result_as(overlapped, false)
}

/// The result GetOverlappedResult (`wsa` false: the Win32 error) or WSAGetOverlappedResult
/// (`wsa`: the Winsock error) reports for a completed operation (§22.40).
pub(crate) fn overlapped_result_as(overlapped: &Overlapped, wsa: bool) -> Reply {
    let st = overlapped.state.borrow();
    let value = Value::Out(st.internal_high);
    let error = if wsa { st.wsa_error.or(st.error) } else { st.error };
    match error {
        None => Reply { status: Status::Success, value },
        Some(ERROR_MORE_DATA) => Reply { status: Status::Warning(ERROR_MORE_DATA), value },
        Some(e) => Reply { status: Status::Error(e), value },
    }
}
