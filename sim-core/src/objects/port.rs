//! I/O completion ports: CreateIoCompletionPort, GetQueuedCompletionStatus(Ex),
//! PostQueuedCompletionStatus, SetFileCompletionNotificationModes (docs/semantics.md §16).
//!
//! A port is a queue of completion packets (FIFO) and the threads waiting for one; the
//! thread that began waiting last gets the next packet (LIFO, so a busy server keeps
//! using the same few threads). The concurrency value holds waiters back (§16.30): a
//! thread is associated with the last port it called GetQueuedCompletionStatus(Ex) on, and
//! a waiter gets a packet only while fewer associated threads than the value are running
//! (not blocked, not ended); a thread in the call does not count, so one that comes back
//! for more takes a queued packet at once. When an associated thread blocks elsewhere or
//! ends, waiters take queued packets while the count allows.

use super::{Body, ObjectId, ObjectType};
use crate::api::Overlapped;
use crate::error::*;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{Api, Reply, Status, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid};
use crate::objects::thread::Run;
use crate::types::*;
use std::collections::VecDeque;

/// One completion packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The completion key of the file's association (or the posted one).
    pub key: usize,
    /// Bytes transferred.
    pub bytes: u32,
    /// The operation's OVERLAPPED (None for a posted packet without one).
    pub overlapped: Option<Overlapped>,
    /// The operation's error, if it failed.
    pub error: Option<Win32Error>,
}

/// The number of processors of the simulated machine: a port created with concurrency 0
/// lets this many of its threads run (CreateIoCompletionPort doc).
pub const PROCESSORS: usize = 4;

/// A completion port.
#[derive(Debug, Default)]
pub struct Port {
    /// Packets not yet taken, oldest first.
    pub queue: VecDeque<Packet>,
    /// GetQueuedCompletionStatus calls waiting, oldest first (the last one is served
    /// first).
    pub waiters: Vec<OpId>,
    /// NumberOfConcurrentThreads (0: the number of processors).
    pub concurrency: u32,
}

fn port_mut(k: &mut Kernel, id: ObjectId) -> &mut Port {
    match &mut k.objects[id].body {
        Body::Port(p) => p,
        _ => panic!("simulator bug: not a completion port"),
    }
}

impl Kernel {
    /// Queues a packet, or hands it to the thread that began waiting last.
    pub(crate) fn post_packet(&mut self, port: ObjectId, packet: Packet) {
        // A waiter is released only while fewer of the port's threads than its concurrency
        // value are running (§16.30).
        if self.port_running(port, None) >= self.port_limit(port) {
            port_mut(self, port).queue.push_back(packet);
            return;
        }
        match port_mut(self, port).waiters.pop() {
            Some(op) => {
                // The waiter's reference on the port goes with its wait.
                self.release(port);
                let why = self.cause(|| "a completion packet".to_string());
                let ex = self.ops[op].api == Api::GetQueuedCompletionStatusEx;
                self.complete_op(op, packet_reply(vec![packet], ex), &why);
            }
            None => port_mut(self, port).queue.push_back(packet),
        }
    }

    /// The port's concurrency value; 0 means the number of processors, which is
    /// [`PROCESSORS`] on the simulated machine.
    fn port_limit(&self, id: ObjectId) -> usize {
        match &self.objects[id].body {
            Body::Port(p) if p.concurrency > 0 => p.concurrency as usize,
            _ => PROCESSORS,
        }
    }

    /// How many threads associated with the port are running (not blocked, not ended),
    /// leaving `except` out.
    fn port_running(&self, id: ObjectId, except: Option<Tid>) -> usize {
        self.tids
            .iter()
            .filter(|&(t, _)| Some(t) != except)
            .filter(|&(t, _)| {
                let th = self.thread(t);
                th.port == Some(id) && th.exit_code.is_none() && !matches!(th.run, Run::Blocked(_) | Run::Exited)
            })
            .count()
    }

    /// Thread `tid` blocked or ended: if it is associated with a port, waiters of that port
    /// take queued packets while the running count allows (§16.30).
    pub(crate) fn port_thread_stopped(&mut self, tid: Tid) {
        let Some(port) = self.thread(tid).port else { return };
        if !self.objects.contains_key(port) || !matches!(self.objects[port].body, Body::Port(_)) {
            return;
        }
        while !port_mut(self, port).queue.is_empty()
            && !port_mut(self, port).waiters.is_empty()
            && self.port_running(port, None) < self.port_limit(port)
        {
            let packet = port_mut(self, port).queue.pop_front().expect("checked non-empty");
            let op = port_mut(self, port).waiters.pop().expect("checked non-empty");
            self.release(port);
            let why = self.cause(|| "a completion packet (a thread of the port stopped running)".to_string());
            let ex = self.ops[op].api == Api::GetQueuedCompletionStatusEx;
            self.complete_op(op, packet_reply(vec![packet], ex), &why);
        }
    }

    /// CreateIoCompletionPort: with INVALID_HANDLE_VALUE and no port, a new port; with a
    /// file handle, associates it with `existing_port` (or a new port) under `key`. The
    /// file must have been opened with FILE_FLAG_OVERLAPPED and not be associated yet
    /// (ERROR_INVALID_PARAMETER) (CreateIoCompletionPort doc; §16).
    pub(crate) fn create_io_completion_port(
        &mut self,
        pid: Pid,
        tid: Tid,
        file: HANDLE,
        existing_port: HANDLE,
        key: usize,
        concurrency: u32,
    ) -> CallResult {
        let file_id = if file == INVALID_HANDLE_VALUE {
            if !existing_port.is_null() {
                return Err(ERROR_INVALID_PARAMETER);
            }
            None
        } else {
            let id = self.object_from_handle(pid, tid, file, None, 0)?;
            match &self.objects[id].body {
                Body::File(f) => {
                    if f.synchronous || f.port.is_some() {
                        return Err(ERROR_INVALID_PARAMETER);
                    }
                }
                // A Message Queuing queue handle can be associated too (§23.29).
                Body::MqQueue(d) => {
                    if d.port.is_some() {
                        return Err(ERROR_INVALID_PARAMETER);
                    }
                }
                // A socket is a file object: one with the overlapped attribute, once
                // (sock.c test_completion_port; §22.40) [inferred: a socket without it is
                // refused as a synchronous file is].
                Body::Socket(so) => {
                    if !so.overlapped || so.port.is_some() {
                        return Err(ERROR_INVALID_PARAMETER);
                    }
                }
                _ => {
                    // What the file-type check gives for any other object.
                    let _ = self.object_from_handle(pid, tid, file, Some(ObjectType::File), 0)?;
                    return Err(ERROR_INVALID_HANDLE);
                }
            }
            Some(id)
        };
        let (port, h) = if existing_port.is_null() {
            let port = self.alloc_object(Body::Port(Port { concurrency, ..Port::default() }), None);
            let origin = self.origin(pid, tid, "CreateIoCompletionPort", "created", None);
            let h = match self.alloc_handle(pid, port, IO_COMPLETION_ALL_ACCESS, 0, vec![origin]) {
                Ok(h) => h,
                Err(e) => {
                    // No handle (the handle limit): the new port goes at once.
                    self.maybe_destroy(port);
                    return Err(e);
                }
            };
            (port, h)
        } else {
            let port = self.object_from_handle(
                pid,
                tid,
                existing_port,
                Some(ObjectType::IoCompletion),
                IO_COMPLETION_MODIFY_STATE,
            )?;
            (port, existing_port)
        };
        if let Some(id) = file_id {
            if matches!(self.objects[id].body, Body::MqQueue(_)) {
                self.mq_associate_port(id, port, key)?;
            } else {
                match &mut self.objects[id].body {
                    Body::File(f) => f.port = Some((port, key)),
                    Body::Socket(so) => so.port = Some((port, key)),
                    _ => {}
                }
                // The association holds the port (its packets go there while the file lives).
                self.add_ref(port);
            }
        }
        Ok(Value::Handle(h).into())
    }

    /// GetQueuedCompletionStatus(Ex): up to `max` packets at once, or a wait (LIFO) with a
    /// time-out: FALSE with WAIT_TIMEOUT and no OVERLAPPED when it expires; a packet of a
    /// failed operation gives FALSE with its error and its OVERLAPPED (§16).
    pub(crate) fn get_queued_completion_status(
        &mut self,
        pid: Pid,
        tid: Tid,
        port: HANDLE,
        max: u32,
        timeout_ms: u32,
        alertable: bool,
    ) -> Exec {
        let id =
            match self.object_from_handle(pid, tid, port, Some(ObjectType::IoCompletion), IO_COMPLETION_MODIFY_STATE) {
                Ok(id) => id,
                Err(e) => return Exec::Done(Reply::error(e)),
            };
        if max == 0 {
            return Exec::Done(Reply::error(ERROR_INVALID_PARAMETER));
        }
        // The thread is associated with this port from now on, and does not count as
        // running while it is in the call (§16.30).
        self.thread_mut(tid).port = Some(id);
        let open = self.port_running(id, Some(tid)) < self.port_limit(id);
        let p = port_mut(self, id);
        if !p.queue.is_empty() && open {
            let n = (max as usize).min(p.queue.len());
            let packets: Vec<Packet> = p.queue.drain(..n).collect();
            let ex = self.calling.as_ref().is_some_and(|(a, _)| *a == Api::GetQueuedCompletionStatusEx);
            return Exec::Done(packet_reply(packets, ex));
        }
        // Queued APCs end an alertable wait: FALSE with WAIT_IO_COMPLETION [Wine; §16].
        if self.alerted(tid, alertable) {
            return Exec::Done(Reply::error(Win32Error(WAIT_IO_COMPLETION)));
        }
        if timeout_ms == 0 {
            return Exec::Done(Reply::error(Win32Error(WAIT_TIMEOUT)));
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::PortWait { port: id }, deadline);
        self.ops[op].alertable = alertable;
        port_mut(self, id).waiters.push(op);
        self.add_ref(id);
        Exec::Block(op)
    }

    /// PostQueuedCompletionStatus: a packet of the caller's making.
    pub(crate) fn post_queued_completion_status(
        &mut self,
        pid: Pid,
        tid: Tid,
        port: HANDLE,
        bytes: u32,
        key: usize,
        overlapped: Option<Overlapped>,
    ) -> CallResult {
        let id = self.object_from_handle(pid, tid, port, Some(ObjectType::IoCompletion), IO_COMPLETION_MODIFY_STATE)?;
        self.post_packet(id, Packet { key, bytes, overlapped, error: None });
        Ok(Value::Bool(true).into())
    }

    /// SetFileCompletionNotificationModes: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS (no packet
    /// for an operation that succeeds at once) and FILE_SKIP_SET_EVENT_ON_HANDLE (the file
    /// object is not signalled at completion).
    pub(crate) fn set_file_completion_notification_modes(
        &mut self,
        pid: Pid,
        tid: Tid,
        h: HANDLE,
        flags: u32,
    ) -> CallResult {
        let id = self.object_from_handle(pid, tid, h, None, 0)?;
        if let Body::Socket(so) = &mut self.objects[id].body {
            // Sockets take the modes too (SetFileCompletionNotificationModes doc: "for
            // sockets ... FILE_SKIP_COMPLETION_PORT_ON_SUCCESS"; §22.40).
            if flags & !(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) != 0 {
                return Err(ERROR_INVALID_PARAMETER);
            }
            so.skip_port_on_success |= flags & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS != 0;
            so.skip_set_event |= flags & FILE_SKIP_SET_EVENT_ON_HANDLE != 0;
            if so.skip_set_event {
                so.signalled = false;
            }
            return Ok(Value::Bool(true).into());
        }
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::File), 0)?;
        if flags & !(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE) != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        // Modes are added, never cleared (§16.32).
        if let Body::File(f) = &mut self.objects[id].body {
            f.skip_port_on_success |= flags & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS != 0;
            f.skip_set_event |= flags & FILE_SKIP_SET_EVENT_ON_HANDLE != 0;
            if f.skip_set_event {
                // The call is itself an operation on the file object, which it leaves
                // nonsignalled once the handle is no longer set at completions (Wine's
                // ntdll pipe.c test_completion: "handle is never signaled" right after
                // setting the mode; [inferred] the set-information call clears the file
                // object's event, as every I/O call does, and its own completion no longer
                // sets it; §16.32).
                f.signalled = false;
            }
        }
        Ok(Value::Bool(true).into())
    }
}

/// The reply of GetQueuedCompletionStatus for the packets it took: FALSE with the error
/// when the (single) packet is of a failed operation. GetQueuedCompletionStatusEx (`ex`)
/// succeeds whenever it took packets; each entry carries its status (§16.31).
fn packet_reply(packets: Vec<Packet>, ex: bool) -> Reply {
    let error = if packets.len() == 1 && !ex { packets[0].error } else { None };
    let value = Value::Packets(packets);
    match error {
        None => Reply { status: Status::Success, value },
        Some(e) => Reply { status: Status::Error(e), value },
    }
}

/// The last handle to a port closed: its waiters return ERROR_ABANDONED_WAIT_0 (§16).
pub(crate) fn port_closed(k: &mut Kernel, id: ObjectId) {
    let waiters = std::mem::take(&mut port_mut(k, id).waiters);
    let why = k.cause(|| format!("the last handle to {} closed", k.describe(id)));
    for op in waiters {
        k.release(id);
        k.complete_op(op, Reply::error(ERROR_ABANDONED_WAIT_0), &why);
    }
}

/// Takes a GetQueuedCompletionStatus wait off its port.
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    if let OpKind::PortWait { port } = k.ops[op].kind {
        port_mut(k, port).waiters.retain(|&o| o != op);
        k.release(port);
    }
}
