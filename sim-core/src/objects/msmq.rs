//! Message Queuing (MSMQ): the local queue manager with private queues, queue handles,
//! cursors, time-outs, expiry, dead-letter queues and internal transactions
//! (docs/semantics.md §23).
//!
//! The queue manager (`Kernel::mq`, a [`QueueManager`]) belongs to the simulated machine,
//! not to a process: its queues outlive the processes that use them, as [MS-MQDMPR]
//! 3.1.1.1's QueueManager holds its QueueCollection. A queue keeps its messages in
//! position order ([MS-MQDMPR] 3.1.1.11 MessagePosition): higher priority first, FIFO
//! within a priority (§23.10). A message received inside a transaction stays in its
//! position, locked, until the transaction ends: a commit deletes it, an abort makes it
//! available again at its place (§23.20), which is [MS-MQDMPR] 3.1.4.5's "Message
//! Position Available".
//!
//! Handles: MQOpenQueue gives an open-queue descriptor ([MS-MQDMPR] 3.1.1.16
//! OpenQueueDescriptor), MQCreateCursor a cursor (3.2), MQBeginTransaction an internal
//! transaction (3.1.1.14); all three are objects in the process handle table, so process
//! exit closes them and aborts a transaction left open (§23.23).

use super::pipe::handle_refs;
use super::{Body, ObjectId};
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{CallResult, Value};
use crate::kernel::time::{TICKS_PER_MS, TimerKey};
use crate::kernel::{Exec, Kernel, Pid, Tid};
use crate::mq::*;
use crate::report::{LimitKind, WaitEdge};
use crate::trace::EventKind;
use crate::types::{HANDLE, INFINITE};
use std::collections::{BTreeMap, VecDeque};

/// The GUID of the simulated machine's queue manager: the first part of private format
/// names (`PRIVATE=<guid>\<queue number>`) and of message identifiers.
pub const QM_GUID: &str = "5e7a1c00-0000-4000-8000-000000000001";
/// Most messages the queue manager holds (all queues): a limit of the run, not Windows'.
pub const MQ_MESSAGES_MAX: u64 = 1 << 20;
/// The largest message body Message Queuing accepts (4 MB, PROPID_M_BODY doc).
pub const MQ_BODY_MAX: usize = 4 << 20;

/// A message's place in its queue: `(7 - priority, arrival sequence)`, so ascending order
/// is the order messages are read in (§23.10).
pub type Pos = (u8, u64);

/// The queue manager of the simulated machine.
#[derive(Clone, Debug)]
pub struct QueueManager {
    /// Queues by their number (the `\<hex>` of their private format name).
    pub queues: BTreeMap<u64, Queue>,
    /// Path names, lower-cased (names are case-insensitive, §23.2), to queue numbers.
    /// Invariant: every entry names a queue of `queues` with that path.
    pub names: BTreeMap<String, u64>,
    /// The next queue number.
    pub next_queue: u64,
    /// The next message sequence number (also the message identifier's sequence part).
    pub next_seq: u64,
    /// Messages with a time-to-be-received deadline: sequence to (queue, position, due
    /// tick, timer sequence). Invariant: each has one `TimerKey::MqExpiry` timer entry.
    pub expiries: BTreeMap<u64, (u64, Pos, u64, u64)>,
    /// Messages held in all queues. Invariant: the sum of the queues' message counts.
    pub messages: u64,
}

/// The number of the nontransactional dead-letter queue.
pub const DEADLETTER: u64 = 1;
/// The number of the transactional dead-letter queue.
pub const DEADXACT: u64 = 2;

/// The queue manager as the kernel holds it: made on first change. Until then it reads as
/// a fresh `QueueManager` (the two dead-letter queues and nothing else) shared by every
/// run, so a run that never uses Message Queuing allocates nothing for it.
#[derive(Default)]
pub struct LazyQueueManager(Option<Box<QueueManager>>);

impl LazyQueueManager {
    /// Whether the run has changed nothing of the fresh manager (it has not been
    /// written to: only its two system queues, empty).
    pub(crate) fn is_fresh(&self) -> bool {
        self.0.is_none()
    }

    /// The fresh queue manager every run starts with.
    fn fresh() -> &'static QueueManager {
        static FRESH: std::sync::OnceLock<QueueManager> = std::sync::OnceLock::new();
        FRESH.get_or_init(QueueManager::default)
    }
}

impl std::ops::Deref for LazyQueueManager {
    type Target = QueueManager;
    fn deref(&self) -> &QueueManager {
        match &self.0 {
            Some(m) => m,
            None => LazyQueueManager::fresh(),
        }
    }
}

impl std::ops::DerefMut for LazyQueueManager {
    fn deref_mut(&mut self) -> &mut QueueManager {
        self.0.get_or_insert_with(|| Box::new(LazyQueueManager::fresh().clone()))
    }
}

impl std::fmt::Debug for LazyQueueManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Default for QueueManager {
    fn default() -> QueueManager {
        let mut queues = BTreeMap::new();
        for (id, path, tx) in [(DEADLETTER, "SYSTEM$;DEADLETTER", false), (DEADXACT, "SYSTEM$;DEADXACT", true)] {
            queues.insert(id, Queue::new(id, path.to_string(), String::new(), tx, INFINITE, 0, true));
        }
        QueueManager {
            queues,
            names: BTreeMap::new(),
            next_queue: 3,
            next_seq: 1,
            expiries: BTreeMap::new(),
            messages: 0,
        }
    }
}

/// A queue ([MS-MQDMPR] 3.1.1.2).
#[derive(Clone, Debug)]
pub struct Queue {
    /// Its number.
    pub id: u64,
    /// The path name as created (`.\private$\NAME`), or the system queue's name.
    pub path_name: String,
    /// PROPID_Q_LABEL.
    pub label: String,
    /// PROPID_Q_TRANSACTION.
    pub transactional: bool,
    /// PROPID_Q_QUOTA in kilobytes (INFINITE: none).
    pub quota_kb: u32,
    /// PROPID_Q_JOURNAL (accepted; no queue journal is kept).
    pub journal: u8,
    /// A dead-letter queue: only Message Queuing puts messages there.
    pub system: bool,
    /// The messages, in reading order. Locked ones are being received in a transaction.
    pub messages: BTreeMap<Pos, Message>,
    /// Body bytes of `messages`. Invariant: their sum.
    pub bytes: u64,
    /// MQReceiveMessage operations waiting, oldest first.
    pub waiters: VecDeque<OpId>,
}

impl Queue {
    fn new(id: u64, path_name: String, label: String, tx: bool, quota_kb: u32, journal: u8, system: bool) -> Queue {
        Queue {
            id,
            path_name,
            label,
            transactional: tx,
            quota_kb,
            journal,
            system,
            messages: BTreeMap::new(),
            bytes: 0,
            waiters: VecDeque::new(),
        }
    }

    /// The private format name (`PRIVATE=<guid>\<8 hex digits>`, 54 characters with its
    /// null, as MQHandleToFormatName documents for private queues).
    pub fn format_name(&self) -> String {
        match self.id {
            DEADLETTER => MQ_DEADLETTER_FORMAT_NAME.to_string(),
            DEADXACT => MQ_DEADXACT_FORMAT_NAME.to_string(),
            n => format!("PRIVATE={QM_GUID}\\{n:08x}"),
        }
    }

    /// The first available (unlocked) message after `after` (from the front for `None`).
    fn seek(&self, after: Option<Pos>) -> Option<Pos> {
        use std::ops::Bound::*;
        let lo = match after {
            Some(p) => Excluded(p),
            None => Unbounded,
        };
        self.messages.range((lo, Unbounded)).find(|(_, m)| m.locked.is_none()).map(|(p, _)| *p)
    }

    /// Messages available to a receive.
    pub fn available(&self) -> u64 {
        self.messages.values().filter(|m| m.locked.is_none()).count() as u64
    }
}

/// A message ([MS-MQDMPR] 3.1.1.12) in a queue or in a transaction's pending sends.
#[derive(Clone, Debug)]
pub struct Message {
    /// The sequence number (message identifier).
    pub seq: u64,
    /// PROPID_M_BODY.
    pub body: Vec<u8>,
    /// PROPID_M_LABEL.
    pub label: String,
    /// PROPID_M_PRIORITY.
    pub priority: u8,
    /// PROPID_M_CORRELATIONID (20 bytes).
    pub correlation_id: Vec<u8>,
    /// PROPID_M_RESP_QUEUE.
    pub response_queue: String,
    /// PROPID_M_APPSPECIFIC.
    pub app_specific: u32,
    /// PROPID_M_CLASS.
    pub class: u16,
    /// PROPID_M_JOURNAL.
    pub journal: u8,
    /// PROPID_M_DELIVERY.
    pub delivery: u8,
    /// PROPID_M_TIME_TO_BE_RECEIVED in seconds (INFINITE: none).
    pub ttbr_s: u32,
    /// The tick it was sent at (its time-to-be-received counts from there).
    pub sent_tick: u64,
    /// PROPID_M_ABORT_COUNT.
    pub abort_count: u32,
    /// The transaction receiving it, while one does (the message keeps its position).
    pub locked: Option<ObjectId>,
    /// Its deadline passed, or its queue was purged, while a transaction held it: it
    /// leaves the queue if that transaction aborts.
    pub doomed: Option<u16>,
}

impl Message {
    /// The properties MQReceiveMessage returns.
    fn props(&self, with_body: bool) -> MqMessage {
        let mut msg_id = QM_GUID.bytes().filter(|b| b.is_ascii_hexdigit()).take(16).collect::<Vec<u8>>();
        msg_id.extend_from_slice(&(self.seq as u32).to_le_bytes());
        MqMessage {
            msg_id,
            body: if with_body { self.body.clone() } else { Vec::new() },
            body_size: self.body.len() as u32,
            label: self.label.clone(),
            priority: self.priority,
            correlation_id: self.correlation_id.clone(),
            response_queue: self.response_queue.clone(),
            app_specific: self.app_specific,
            class: self.class,
            abort_count: self.abort_count,
            journal: self.journal,
            delivery: self.delivery,
        }
    }
}

/// An open queue (MQOpenQueue's handle).
#[derive(Clone, Debug)]
pub struct MqDescriptor {
    /// The queue's number (it may have been deleted since).
    pub queue: u64,
    /// The format name it was opened with.
    pub format_name: String,
    /// dwAccess.
    pub access: u32,
    /// dwShareMode.
    pub share: u32,
    /// The process that opened it.
    pub pid: Pid,
    /// The completion port it is associated with and its key (CreateIoCompletionPort on
    /// the queue handle, §23.29); a reference is held on the port.
    pub port: Option<(ObjectId, usize)>,
}

/// Where a cursor is ([MS-MQDMPR] 3.2 CursorState, in the terms of the "Cursor Behavior"
/// pages, §23.13-§23.17).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorPos {
    /// Created, not yet moved to the first message (§23.13).
    Start,
    /// At a message position (the message may have been removed since, §23.17).
    At(Pos),
    /// The message it pointed at was received through it: the next peek-current or
    /// receive moves it to the next message; a peek-next is illegal (§23.15).
    AfterReceive(Pos),
    /// At the end of the queue: the next message to arrive is where it goes (§23.16).
    End,
}

/// A cursor (MQCreateCursor's handle).
#[derive(Clone, Debug)]
pub struct MqCursor {
    /// The open-queue descriptor it was created on (a reference is held on it).
    pub desc: ObjectId,
    /// Where it is.
    pub pos: CursorPos,
}

/// One operation of a transaction ([MS-MQDMPR] 3.1.1.13).
#[derive(Clone, Debug)]
pub enum TxOp {
    /// A send, delivered at commit.
    Send {
        /// The destination queue.
        queue: u64,
        /// The message.
        msg: Message,
    },
    /// A receive: the message stays locked in its position until the end.
    Receive {
        /// The queue.
        queue: u64,
        /// The position.
        pos: Pos,
    },
}

/// An internal transaction (MQBeginTransaction).
#[derive(Clone, Debug)]
pub struct MqTransaction {
    /// Not yet committed or aborted.
    pub active: bool,
    /// Its operations, in order.
    pub ops: Vec<TxOp>,
}

/// MQReceiveMessage's arguments, as a pending receive keeps them.
#[derive(Clone, Debug)]
pub struct RecvArgs {
    /// The queue.
    pub queue: u64,
    /// The open-queue descriptor.
    pub desc: ObjectId,
    /// The cursor, if any.
    pub cursor: Option<ObjectId>,
    /// dwAction (a waiting peek-next has moved its cursor already and waits as a
    /// peek-current).
    pub action: u32,
    /// The size of the body buffer.
    pub capacity: u32,
    /// The transaction, if any.
    pub tx: Option<ObjectId>,
}

fn desc_of(k: &Kernel, id: ObjectId) -> &MqDescriptor {
    match &k.objects[id].body {
        Body::MqQueue(d) => d,
        _ => panic!("simulator bug: not an open queue"),
    }
}

/// The queue-manager key of a path name: `.\private$\NAME` (or `LOCALHOST\private$\NAME`)
/// lower-cased (§23.2). Public queues need a directory service: MQ_ERROR_NO_DS is not
/// modelled, so they are MQ_ERROR_ILLEGAL_QUEUE_PATHNAME here [inferred].
pub(crate) fn path_key(path: &str) -> Result<String, HRESULT> {
    let (machine, rest) = path.split_once('\\').ok_or(MQ_ERROR_ILLEGAL_QUEUE_PATHNAME)?;
    if machine != "." && !machine.eq_ignore_ascii_case("localhost") {
        return Err(MQ_ERROR_ILLEGAL_QUEUE_PATHNAME);
    }
    let (kind, name) = rest.split_once('\\').ok_or(MQ_ERROR_ILLEGAL_QUEUE_PATHNAME)?;
    if !kind.eq_ignore_ascii_case("private$") {
        return Err(MQ_ERROR_ILLEGAL_QUEUE_PATHNAME);
    }
    // [inferred] A queue name is not empty, has no further backslash and is at most 124
    // characters (the label limit; MSMQ documents no separate name limit here).
    if name.is_empty() || name.contains('\\') || name.chars().count() > MQ_MAX_Q_LABEL_LEN {
        return Err(MQ_ERROR_ILLEGAL_QUEUE_PATHNAME);
    }
    Ok(format!(".\\private$\\{}", name.to_lowercase()))
}

/// What a format name names: a queue number, or nothing known.
fn resolve_format_name(k: &Kernel, format_name: &str) -> Result<u64, HRESULT> {
    if format_name.eq_ignore_ascii_case(MQ_DEADLETTER_FORMAT_NAME) {
        return Ok(DEADLETTER);
    }
    if format_name.eq_ignore_ascii_case(MQ_DEADXACT_FORMAT_NAME) {
        return Ok(DEADXACT);
    }
    let (kind, rest) = format_name.split_once('=').ok_or(MQ_ERROR_ILLEGAL_FORMATNAME)?;
    if kind.eq_ignore_ascii_case("PRIVATE") {
        let (guid, num) = rest.split_once('\\').ok_or(MQ_ERROR_ILLEGAL_FORMATNAME)?;
        if num.len() != 8 || guid.len() != 36 {
            return Err(MQ_ERROR_ILLEGAL_FORMATNAME);
        }
        let n = u64::from_str_radix(num, 16).map_err(|_| MQ_ERROR_ILLEGAL_FORMATNAME)?;
        if !guid.eq_ignore_ascii_case(QM_GUID) {
            // Another machine's queue: not local, and remote queues are not modelled.
            return Err(MQ_ERROR_QUEUE_NOT_FOUND);
        }
        return k.mq.queues.get(&n).filter(|q| !q.system).map(|q| q.id).ok_or(MQ_ERROR_QUEUE_NOT_FOUND);
    }
    if kind.eq_ignore_ascii_case("DIRECT") {
        let path = rest.get(..3).filter(|p| p.eq_ignore_ascii_case("OS:")).map(|_| &rest[3..]);
        let path = path.ok_or(MQ_ERROR_ILLEGAL_FORMATNAME)?;
        let key = path_key(path).map_err(|_| MQ_ERROR_ILLEGAL_FORMATNAME)?;
        return k.mq.names.get(&key).copied().ok_or(MQ_ERROR_QUEUE_NOT_FOUND);
    }
    Err(MQ_ERROR_ILLEGAL_FORMATNAME)
}

fn hr(h: HRESULT) -> CallResult {
    Ok(Value::Hresult(h).into())
}

impl Kernel {
    fn mq_desc(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<ObjectId, HRESULT> {
        match self.object_from_handle(pid, tid, h, Some(super::ObjectType::MqQueue), 0) {
            Ok(id) => Ok(id),
            Err(_) => Err(MQ_ERROR_INVALID_HANDLE),
        }
    }

    /// The transaction argument: None (no transaction), Some(None) for a single-message
    /// transaction, Some(Some(tx)) for an internal one.
    fn mq_tx(&mut self, pid: Pid, tid: Tid, api: &str, h: HANDLE) -> Result<Option<Option<ObjectId>>, HRESULT> {
        if h == MQ_NO_TRANSACTION || h == MQ_MTS_TRANSACTION {
            // MQ_MTS_TRANSACTION outside a COM+ transaction sends outside a transaction.
            return Ok(None);
        }
        if h == MQ_SINGLE_MESSAGE {
            return Ok(Some(None));
        }
        if h == MQ_XA_TRANSACTION {
            self.unsupported(api, "XA transactions (MQ_XA_TRANSACTION) are not modelled");
            return Err(MQ_ERROR_TRANSACTION_USAGE);
        }
        let id = self
            .object_from_handle(pid, tid, h, Some(super::ObjectType::MqTransaction), 0)
            .map_err(|_| MQ_ERROR_INVALID_PARAMETER)?;
        let Body::MqTransaction(t) = &self.objects[id].body else { unreachable!() };
        if !t.active {
            return Err(MQ_ERROR_TRANSACTION_SEQUENCE);
        }
        Ok(Some(Some(id)))
    }

    /// MQCreateQueue (§§23.1-23.6).
    pub(crate) fn mq_create_queue(
        &mut self,
        pid: Pid,
        _tid: Tid,
        props: MQQUEUEPROPS,
        format_name_len: u32,
    ) -> CallResult {
        let mut path = None;
        let (mut label, mut tx, mut quota, mut journal) = (String::new(), false, INFINITE, 0u8);
        for (id, v) in &props.props {
            match (*id, v) {
                (PROPID_Q_PATHNAME, MQPROPVARIANT::LPWSTR(s)) => path = Some(s.clone()),
                (PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR(s)) => {
                    if s.chars().count() > MQ_MAX_Q_LABEL_LEN {
                        return hr(MQ_ERROR_ILLEGAL_PROPERTY_VALUE);
                    }
                    label = s.clone();
                }
                (PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(b)) if *b <= 1 => tx = *b == MQ_TRANSACTIONAL,
                (PROPID_Q_QUOTA, MQPROPVARIANT::UI4(q)) => quota = *q,
                (PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(b)) if *b <= 1 => journal = *b,
                (PROPID_Q_JOURNAL_QUOTA, MQPROPVARIANT::UI4(_)) => {}
                (PROPID_Q_TRANSACTION | PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(_)) => {
                    return hr(MQ_ERROR_ILLEGAL_PROPERTY_VALUE);
                }
                // A known property with the wrong type indicator, or an unknown property:
                // MQ_ERROR_PROPERTY (the per-property status is not modelled) [inferred].
                _ => return hr(MQ_ERROR_PROPERTY),
            }
        }
        let Some(path) = path else { return hr(MQ_ERROR_INSUFFICIENT_PROPERTIES) };
        let key = match path_key(&path) {
            Ok(k) => k,
            Err(e) => return hr(e),
        };
        if self.mq.names.contains_key(&key) {
            return hr(MQ_ERROR_QUEUE_EXISTS);
        }
        let id = self.mq.next_queue;
        self.mq.next_queue += 1;
        let q = Queue::new(id, path.clone(), label, tx, quota, journal, false);
        let name = q.format_name();
        self.mq.queues.insert(id, q);
        self.mq.names.insert(key, id);
        self.note_effect(|_| {
            format!("queue {path} created ({}) by P{pid}", if tx { "transactional" } else { "nontransactional" })
        });
        format_name_reply(name, format_name_len, MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL)
    }

    /// MQPathNameToFormatName (§23.7).
    pub(crate) fn mq_path_name_to_format_name(&mut self, _pid: Pid, _tid: Tid, path: String, len: u32) -> CallResult {
        let key = match path_key(&path) {
            Ok(k) => k,
            Err(e) => return hr(e),
        };
        let Some(&id) = self.mq.names.get(&key) else { return hr(MQ_ERROR_QUEUE_NOT_FOUND) };
        format_name_reply(self.mq.queues[&id].format_name(), len, MQ_ERROR_FORMATNAME_BUFFER_TOO_SMALL)
    }

    /// MQDeleteQueue (§23.8): the queue goes; its messages are discarded, waiting
    /// receives end with MQ_ERROR_QUEUE_DELETED, and its open handles stay valid but reach
    /// no queue (MQ_ERROR_QUEUE_DELETED).
    pub(crate) fn mq_delete_queue(&mut self, _pid: Pid, _tid: Tid, format_name: String) -> CallResult {
        let id = match resolve_format_name(self, &format_name) {
            Ok(id) => id,
            Err(e) => return hr(e),
        };
        if id == DEADLETTER || id == DEADXACT {
            // [inferred] System queues cannot be deleted.
            return hr(MQ_ERROR_ACCESS_DENIED);
        }
        let why = self.cause(|| format!("MQDeleteQueue({format_name})"));
        let q = self.mq.queues.remove(&id).expect("resolved");
        let key = path_key(&q.path_name).expect("a created path is valid");
        self.mq.names.remove(&key);
        for (pos, m) in &q.messages {
            self.mq_forget_message(m, q.id, *pos);
        }
        self.pipe_bytes -= q.bytes;
        for op in q.waiters {
            self.complete_op(op, Value::Hresult(MQ_ERROR_QUEUE_DELETED).into(), &why);
        }
        let n = q.messages.len();
        self.note_effect(|_| format!("queue {} deleted with {n} message(s)", q.path_name));
        hr(MQ_OK)
    }

    /// A message leaves the queue manager's books (its expiry and count).
    fn mq_forget_message(&mut self, m: &Message, _queue: u64, _pos: Pos) {
        self.mq.messages -= 1;
        if let Some((_, _, due, tseq)) = self.mq.expiries.remove(&m.seq) {
            self.timers.remove(&(due, tseq, TimerKey::MqExpiry(m.seq)));
        }
    }

    /// MQOpenQueue (§§23.9, 23.11, 23.12).
    pub(crate) fn mq_open_queue(
        &mut self,
        pid: Pid,
        tid: Tid,
        format_name: String,
        access: u32,
        share: u32,
    ) -> CallResult {
        if ![MQ_RECEIVE_ACCESS, MQ_SEND_ACCESS, MQ_PEEK_ACCESS].contains(&access) {
            return Ok(Value::MqHandle(MQ_ERROR_UNSUPPORTED_ACCESS_MODE, HANDLE::NULL).into());
        }
        if share != MQ_DENY_NONE && share != MQ_DENY_RECEIVE_SHARE {
            return Ok(Value::MqHandle(MQ_ERROR_INVALID_PARAMETER, HANDLE::NULL).into());
        }
        if share == MQ_DENY_RECEIVE_SHARE && access != MQ_RECEIVE_ACCESS {
            // MQ_DENY_RECEIVE_SHARE only with MQ_RECEIVE_ACCESS (MQOpenQueue doc).
            return Ok(Value::MqHandle(MQ_ERROR_UNSUPPORTED_ACCESS_MODE, HANDLE::NULL).into());
        }
        let queue = match resolve_format_name(self, &format_name) {
            Ok(q) => q,
            Err(e) => return Ok(Value::MqHandle(e, HANDLE::NULL).into()),
        };
        if self.mq.queues[&queue].system && access == MQ_SEND_ACCESS {
            // Only Message Queuing puts messages in dead-letter queues (§23.19) [inferred
            // error].
            return Ok(Value::MqHandle(MQ_ERROR_ACCESS_DENIED, HANDLE::NULL).into());
        }
        if access == MQ_RECEIVE_ACCESS {
            // Another process's receive handle excludes (or is excluded by) a
            // MQ_DENY_RECEIVE_SHARE open (§23.11).
            let clash = self.objects.values().any(|o| match &o.body {
                Body::MqQueue(d) => {
                    o.hdr.handle_count > 0
                        && d.queue == queue
                        && d.pid != pid
                        && d.access == MQ_RECEIVE_ACCESS
                        && (d.share == MQ_DENY_RECEIVE_SHARE || share == MQ_DENY_RECEIVE_SHARE)
                }
                _ => false,
            });
            if clash {
                return Ok(Value::MqHandle(MQ_ERROR_SHARING_VIOLATION, HANDLE::NULL).into());
            }
        }
        let id =
            self.alloc_object(Body::MqQueue(MqDescriptor { queue, format_name, access, share, pid, port: None }), None);
        let origin = self.origin(pid, tid, "MQOpenQueue", "opened (queue)", None);
        match self.alloc_handle(pid, id, 0, 0, vec![origin]) {
            Ok(h) => Ok(Value::MqHandle(MQ_OK, h).into()),
            Err(_) => {
                self.maybe_destroy(id);
                Ok(Value::MqHandle(MQ_ERROR_INSUFFICIENT_RESOURCES, HANDLE::NULL).into())
            }
        }
    }

    /// MQCloseQueue (§23.9): receives pending through the handle end with
    /// MQ_ERROR_OPERATION_CANCELLED.
    pub(crate) fn mq_close_queue(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        if let Err(e) = self.mq_desc(pid, tid, h) {
            return hr(e);
        }
        self.close_handle(pid, h).expect("resolved");
        hr(MQ_OK)
    }

    /// MQGetQueueProperties (§23.9): path name, label, transaction, quota, journal.
    pub(crate) fn mq_get_queue_properties(&mut self, _pid: Pid, _tid: Tid, format_name: String) -> CallResult {
        let id = match resolve_format_name(self, &format_name) {
            Ok(id) => id,
            Err(e) => return Ok(Value::MqQueueProps(e, MQQUEUEPROPS::default()).into()),
        };
        let q = &self.mq.queues[&id];
        let props = MQQUEUEPROPS::path(&q.path_name)
            .with(PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR(q.label.clone()))
            .with(PROPID_Q_TRANSACTION, MQPROPVARIANT::UI1(u8::from(q.transactional)))
            .with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(q.quota_kb))
            .with(PROPID_Q_JOURNAL, MQPROPVARIANT::UI1(q.journal));
        Ok(Value::MqQueueProps(MQ_OK, props).into())
    }

    /// MQPurgeQueue (§23.18): every message goes; one locked by a transaction goes when
    /// that transaction ends.
    pub(crate) fn mq_purge_queue(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let d = match self.mq_desc(pid, tid, h) {
            Ok(d) => d,
            Err(e) => return hr(e),
        };
        let (queue, access) = (desc_of(self, d).queue, desc_of(self, d).access);
        if access != MQ_RECEIVE_ACCESS {
            return hr(MQ_ERROR_ACCESS_DENIED);
        }
        let Some(q) = self.mq.queues.get_mut(&queue) else { return hr(MQ_ERROR_QUEUE_DELETED) };
        let gone: Vec<Pos> = q.messages.iter().filter(|(_, m)| m.locked.is_none()).map(|(p, _)| *p).collect();
        for m in q.messages.values_mut().filter(|m| m.locked.is_some()) {
            m.doomed = Some(MQMSG_CLASS_NACK_Q_PURGED);
        }
        for p in &gone {
            self.mq_remove(queue, *p);
        }
        let n = gone.len();
        self.note_effect(|k| format!("{} purged: {n} message(s) removed", k.mq.queues[&queue].path_name));
        hr(MQ_OK)
    }

    /// Takes a message out of its queue.
    fn mq_remove(&mut self, queue: u64, pos: Pos) -> Message {
        let q = self.mq.queues.get_mut(&queue).expect("simulator bug: removing from a missing queue");
        let m = q.messages.remove(&pos).expect("simulator bug: removing a missing message");
        q.bytes -= m.body.len() as u64;
        self.pipe_bytes -= m.body.len() as u64;
        self.mq_forget_message(&m, queue, pos);
        m
    }

    /// MQCreateCursor (§23.13).
    pub(crate) fn mq_create_cursor(&mut self, pid: Pid, tid: Tid, queue: HANDLE) -> CallResult {
        let d = match self.mq_desc(pid, tid, queue) {
            Ok(d) => d,
            Err(e) => return Ok(Value::MqHandle(e, HANDLE::NULL).into()),
        };
        if desc_of(self, d).access == MQ_SEND_ACCESS {
            // [inferred] A cursor reads: a send-only handle cannot have one.
            return Ok(Value::MqHandle(MQ_ERROR_ACCESS_DENIED, HANDLE::NULL).into());
        }
        let id = self.alloc_object(Body::MqCursor(MqCursor { desc: d, pos: CursorPos::Start }), None);
        self.add_ref(d);
        let origin = self.origin(pid, tid, "MQCreateCursor", "created (cursor)", None);
        match self.alloc_handle(pid, id, 0, 0, vec![origin]) {
            Ok(h) => Ok(Value::MqHandle(MQ_OK, h).into()),
            Err(_) => {
                self.maybe_destroy(id);
                Ok(Value::MqHandle(MQ_ERROR_INSUFFICIENT_RESOURCES, HANDLE::NULL).into())
            }
        }
    }

    /// MQCloseCursor (§23.13).
    pub(crate) fn mq_close_cursor(&mut self, pid: Pid, tid: Tid, cursor: HANDLE) -> CallResult {
        if self.object_from_handle(pid, tid, cursor, Some(super::ObjectType::MqCursor), 0).is_err() {
            return hr(MQ_ERROR_INVALID_HANDLE);
        }
        self.close_handle(pid, cursor).expect("resolved");
        hr(MQ_OK)
    }

    /// MQBeginTransaction (§23.20).
    pub(crate) fn mq_begin_transaction(&mut self, pid: Pid, tid: Tid) -> CallResult {
        let id = self.alloc_object(Body::MqTransaction(MqTransaction { active: true, ops: Vec::new() }), None);
        let origin = self.origin(pid, tid, "MQBeginTransaction", "created (transaction)", None);
        match self.alloc_handle(pid, id, 0, 0, vec![origin]) {
            Ok(h) => Ok(Value::MqHandle(MQ_OK, h).into()),
            Err(_) => {
                self.maybe_destroy(id);
                Ok(Value::MqHandle(MQ_ERROR_INSUFFICIENT_RESOURCES, HANDLE::NULL).into())
            }
        }
    }

    fn mq_tx_handle(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<ObjectId, HRESULT> {
        let id = self
            .object_from_handle(pid, tid, h, Some(super::ObjectType::MqTransaction), 0)
            .map_err(|_| MQ_ERROR_INVALID_PARAMETER)?;
        match &self.objects[id].body {
            Body::MqTransaction(t) if t.active => Ok(id),
            _ => Err(XACT_E_NOTRANSACTION),
        }
    }

    /// ITransaction::Commit (§23.21): sends become visible, received messages are gone.
    pub(crate) fn itransaction_commit(&mut self, pid: Pid, tid: Tid, transaction: HANDLE) -> CallResult {
        let id = match self.mq_tx_handle(pid, tid, transaction) {
            Ok(id) => id,
            Err(e) => return hr(e),
        };
        let ops = self.tx_take(id);
        let (mut sent, mut received) = (0, 0);
        for op in ops {
            match op {
                TxOp::Send { queue, msg } => {
                    if self.mq.queues.contains_key(&queue) {
                        sent += 1;
                        self.mq_deliver(queue, msg, true);
                    }
                }
                TxOp::Receive { queue, pos } => {
                    if self.mq.queues.get(&queue).is_some_and(|q| q.messages.contains_key(&pos)) {
                        received += 1;
                        self.mq_remove(queue, pos);
                    }
                }
            }
        }
        self.note_effect(|_| format!("committed: {sent} message(s) delivered, {received} received message(s) removed"));
        hr(MQ_OK)
    }

    /// ITransaction::Abort (§23.22): sends are dropped, received messages return to their
    /// places with their abort count incremented.
    pub(crate) fn itransaction_abort(&mut self, pid: Pid, tid: Tid, transaction: HANDLE) -> CallResult {
        let id = match self.mq_tx_handle(pid, tid, transaction) {
            Ok(id) => id,
            Err(e) => return hr(e),
        };
        let text = self.tx_abort(id);
        self.note_effect(|_| text);
        hr(MQ_OK)
    }

    /// The transaction's operations; it is no longer active.
    fn tx_take(&mut self, id: ObjectId) -> Vec<TxOp> {
        let Body::MqTransaction(t) = &mut self.objects[id].body else { unreachable!("not a transaction") };
        t.active = false;
        std::mem::take(&mut t.ops)
    }

    /// Aborts a transaction; returns what happened, in words.
    pub(crate) fn tx_abort(&mut self, id: ObjectId) -> String {
        let ops = self.tx_take(id);
        let mut words = Vec::new();
        let mut dropped = 0;
        for op in ops {
            match op {
                TxOp::Send { .. } => dropped += 1,
                TxOp::Receive { queue, pos } => {
                    let Some(q) = self.mq.queues.get_mut(&queue) else { continue };
                    let Some(m) = q.messages.get_mut(&pos) else { continue };
                    m.locked = None;
                    m.abort_count += 1;
                    let (seq, count, doomed) = (m.seq, m.abort_count, m.doomed);
                    let path = q.path_name.clone();
                    if let Some(class) = doomed {
                        self.mq_discard(queue, pos, class);
                        words.push(format!("message #{seq} leaves {path} (its time ran out or the queue was purged)"));
                    } else {
                        words.push(format!("message #{seq} returned to its place in {path} (abort count {count})"));
                        self.mq_arrived(queue, pos);
                    }
                }
            }
        }
        if dropped > 0 {
            words.push(format!("{dropped} send(s) dropped"));
        }
        if words.is_empty() { "aborted: nothing to undo".into() } else { format!("aborted: {}", words.join("; ")) }
    }

    /// ITransaction::Release: the last reference goes; an active transaction aborts.
    pub(crate) fn itransaction_release(&mut self, pid: Pid, tid: Tid, transaction: HANDLE) -> CallResult {
        if self.object_from_handle(pid, tid, transaction, Some(super::ObjectType::MqTransaction), 0).is_err() {
            return hr(MQ_ERROR_INVALID_PARAMETER);
        }
        self.close_handle(pid, transaction).expect("resolved");
        hr(MQ_OK)
    }

    /// Parses MQSendMessage's properties into a message.
    fn mq_parse_message(&self, props: &MQMSGPROPS) -> Result<Message, HRESULT> {
        let mut m = Message {
            seq: 0,
            body: Vec::new(),
            label: String::new(),
            priority: DEFAULT_M_PRIORITY,
            correlation_id: vec![0; 20],
            response_queue: String::new(),
            app_specific: 0,
            class: MQMSG_CLASS_NORMAL,
            journal: MQMSG_JOURNAL_NONE,
            delivery: MQMSG_DELIVERY_EXPRESS,
            ttbr_s: INFINITE,
            sent_tick: self.now,
            abort_count: 0,
            locked: None,
            doomed: None,
        };
        for (id, v) in &props.props {
            match (*id, v) {
                (PROPID_M_BODY, MQPROPVARIANT::Bytes(b)) => {
                    if b.len() > MQ_BODY_MAX {
                        return Err(MQ_ERROR_INSUFFICIENT_RESOURCES);
                    }
                    m.body = b.clone();
                }
                (PROPID_M_LABEL, MQPROPVARIANT::LPWSTR(s)) => {
                    if s.chars().count() > MQ_MAX_MSG_LABEL_LEN {
                        return Err(MQ_ERROR_PROPERTY);
                    }
                    m.label = s.clone();
                }
                (PROPID_M_PRIORITY, MQPROPVARIANT::UI1(p)) if *p <= MQ_MAX_PRIORITY => m.priority = *p,
                (PROPID_M_CORRELATIONID, MQPROPVARIANT::Bytes(b)) if b.len() == 20 => m.correlation_id = b.clone(),
                (PROPID_M_RESP_QUEUE, MQPROPVARIANT::LPWSTR(s)) => {
                    // The response queue's format name must be well formed (MQSendMessage:
                    // MQ_ERROR_ILLEGAL_FORMATNAME); it need not exist.
                    if let Err(MQ_ERROR_ILLEGAL_FORMATNAME) = resolve_format_name(self, s) {
                        return Err(MQ_ERROR_ILLEGAL_FORMATNAME);
                    }
                    m.response_queue = s.clone();
                }
                (PROPID_M_APPSPECIFIC, MQPROPVARIANT::UI4(v)) => m.app_specific = *v,
                (PROPID_M_JOURNAL, MQPROPVARIANT::UI1(j)) if *j <= (MQMSG_DEADLETTER | MQMSG_JOURNAL) => m.journal = *j,
                (PROPID_M_DELIVERY, MQPROPVARIANT::UI1(d)) if *d <= MQMSG_DELIVERY_RECOVERABLE => m.delivery = *d,
                (PROPID_M_TIME_TO_BE_RECEIVED, MQPROPVARIANT::UI4(s)) => m.ttbr_s = *s,
                // Accepted; a local queue is reached at once (§23.19) [inferred].
                (PROPID_M_TIME_TO_REACH_QUEUE, MQPROPVARIANT::UI4(_)) => {}
                // An unknown or read-only property, a wrong type indicator, or a value out
                // of range: MQ_ERROR_PROPERTY (per-property status not modelled) [inferred].
                _ => return Err(MQ_ERROR_PROPERTY),
            }
        }
        Ok(m)
    }

    /// MQSendMessage (§§23.10, 23.19, 23.20, 23.24).
    pub(crate) fn mq_send_message(
        &mut self,
        pid: Pid,
        tid: Tid,
        queue: HANDLE,
        props: MQMSGPROPS,
        transaction: HANDLE,
    ) -> CallResult {
        let d = match self.mq_desc(pid, tid, queue) {
            Ok(d) => d,
            Err(e) => return hr(e),
        };
        let (qid, access) = (desc_of(self, d).queue, desc_of(self, d).access);
        if access != MQ_SEND_ACCESS {
            return hr(MQ_ERROR_ACCESS_DENIED);
        }
        let mut msg = match self.mq_parse_message(&props) {
            Ok(m) => m,
            Err(e) => return hr(e),
        };
        let tx = match self.mq_tx(pid, tid, "MQSendMessage", transaction) {
            Ok(t) => t,
            Err(e) => return hr(e),
        };
        let Some(q) = self.mq.queues.get(&qid) else { return hr(MQ_ERROR_QUEUE_DELETED) };
        let queue_tx = q.transactional;
        if tx.is_some() {
            // Transactional messages all have priority 0 (§23.10).
            msg.priority = 0;
        }
        let n = msg.body.len() as u64;
        if self.pipe_bytes + n > self.config.pipe_bytes_max || self.mq.messages >= MQ_MESSAGES_MAX {
            let max = self.config.pipe_bytes_max;
            self.hit_limit(
                LimitKind::PipeBytes,
                format!(
                    "pipes, mailslots and message queues would hold more than {max} bytes or {MQ_MESSAGES_MAX} messages"
                ),
            );
            return hr(MQ_ERROR_INSUFFICIENT_RESOURCES);
        }
        msg.seq = self.mq.next_seq;
        self.mq.next_seq += 1;
        let seq = msg.seq;
        if tx.is_none() && queue_tx {
            // A transactional queue takes only transactional messages; since MSMQ 3.0 the
            // send succeeds and the message is rejected (KB 901281; §23.24).
            self.mq_reject(qid, msg, MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q, false);
            return hr(MQ_OK);
        }
        match tx {
            Some(Some(t)) => {
                let Body::MqTransaction(tr) = &mut self.objects[t].body else { unreachable!() };
                tr.ops.push(TxOp::Send { queue: qid, msg });
                self.note_effect(|k| format!("message #{seq} held by {} until commit", k.describe(t)));
            }
            Some(None) => self.mq_deliver(qid, msg, true),
            None => self.mq_enqueue(qid, msg),
        }
        hr(MQ_OK)
    }

    /// Puts a message in a queue (or rejects it for the quota), arms its expiry, moves
    /// cursors waiting at the end and serves waiting receives.
    /// Rejects a message a queue does not take (transactional mismatch, §23.24): it goes
    /// to the dead-letter queue if it asks for it; the send still returned MQ_OK.
    fn mq_reject(&mut self, queue: u64, msg: Message, class: u16, transactional_msg: bool) {
        let path = queue_name(self, queue);
        let (seq, dl) = (msg.seq, msg.journal & MQMSG_DEADLETTER != 0);
        self.mq_dead_letter(msg, class, transactional_msg);
        let why = if transactional_msg { "a transactional message" } else { "a nontransactional message" };
        self.add_effect(|| {
            format!(
                "message #{seq} rejected: {path} does not take {why}{}",
                if dl { "; moved to the dead-letter queue" } else { "" }
            )
        });
    }

    /// Delivers a message sent outside a transaction (`transactional` false) or in one
    /// (true: a single-message transaction, or an internal one at its commit).
    fn mq_deliver(&mut self, queue: u64, msg: Message, transactional: bool) {
        if transactional && !self.mq.queues[&queue].transactional {
            self.mq_reject(queue, msg, MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_MSG, true);
            return;
        }
        self.mq_enqueue(queue, msg);
    }

    fn mq_enqueue(&mut self, queue: u64, msg: Message) {
        let q = self.mq.queues.get_mut(&queue).expect("simulator bug: enqueue to a missing queue");
        let n = msg.body.len() as u64;
        if q.quota_kb != INFINITE && q.bytes + n > u64::from(q.quota_kb) * 1024 {
            // The queue is full: the message is rejected (negative acknowledgment), to the
            // dead-letter queue if asked; the sender's call still succeeds (§23.19).
            let path = q.path_name.clone();
            let tx = q.transactional;
            let seq = msg.seq;
            let dl = msg.journal & MQMSG_DEADLETTER != 0;
            self.mq_dead_letter(msg, MQMSG_CLASS_NACK_Q_EXCEED_QUOTA, tx);
            self.note_effect(|_| {
                format!(
                    "message #{seq} rejected: {path} is over its quota{}",
                    if dl { "; moved to the dead-letter queue" } else { "" }
                )
            });
            return;
        }
        let pos: Pos = (MQ_MAX_PRIORITY - msg.priority, msg.seq);
        let deadline = (msg.ttbr_s != INFINITE).then(|| msg.sent_tick + u64::from(msg.ttbr_s) * 1000 * TICKS_PER_MS);
        let seq = msg.seq;
        if deadline.is_some_and(|d| d <= self.now) {
            // Its time ran out before it reached the queue (a transaction committed too
            // late, or a time-to-be-received of 0): [MS-MQDMPR] 3.1.7.1.9's "message timed
            // out in transit"; it never enters the queue (§23.19).
            let (path, tx) = (q.path_name.clone(), q.transactional);
            let dl = msg.journal & MQMSG_DEADLETTER != 0;
            self.mq_dead_letter(msg, MQMSG_CLASS_NACK_RECEIVE_TIMEOUT, tx);
            self.note_effect(|_| {
                format!(
                    "message #{seq} expired before reaching {path}{}",
                    if dl { "; moved to the dead-letter queue" } else { "" }
                )
            });
            return;
        }
        q.bytes += n;
        q.messages.insert(pos, msg);
        self.pipe_bytes += n;
        self.mq.messages += 1;
        if let Some(due) = deadline {
            let tseq = self.next_timer_seq();
            self.timers.insert((due, tseq, TimerKey::MqExpiry(seq)));
            self.mq.expiries.insert(seq, (queue, pos, due, tseq));
        }
        self.note_effect(|k| {
            let q = &k.mq.queues[&queue];
            format!(
                "message #{seq} (priority {}) queued in {}: {} available",
                MQ_MAX_PRIORITY - pos.0,
                q.path_name,
                q.available()
            )
        });
        self.mq_arrived(queue, pos);
    }

    /// A message became available at `pos`: cursors at the end of the queue move to it
    /// (§23.16), then waiting receives are served in order.
    fn mq_arrived(&mut self, queue: u64, pos: Pos) {
        let cursors: Vec<ObjectId> = self
            .objects
            .iter()
            .filter_map(|(id, o)| match &o.body {
                Body::MqCursor(c) if c.pos == CursorPos::End => Some((id, c.desc)),
                _ => None,
            })
            .filter(|&(_, d)| matches!(&self.objects[d].body, Body::MqQueue(x) if x.queue == queue))
            .map(|(id, _)| id)
            .collect();
        for c in cursors {
            if let Body::MqCursor(c) = &mut self.objects[c].body {
                c.pos = CursorPos::At(pos);
            }
        }
        self.mq_serve(queue);
    }

    /// Serves the waiting receives of a queue, oldest first.
    fn mq_serve(&mut self, queue: u64) {
        let waiters: Vec<OpId> = match self.mq.queues.get(&queue) {
            Some(q) => q.waiters.iter().copied().collect(),
            None => return,
        };
        for op in waiters {
            let OpKind::MqReceive(args) = &self.ops[op].kind else {
                unreachable!("simulator bug: a queue's waiter is a receive")
            };
            let args = args.clone();
            if let Some(v) = self.mq_attempt(&args, true) {
                self.mq.queues.get_mut(&queue).expect("queue").waiters.retain(|&w| w != op);
                let (tid, what) = (self.ops[op].tid, if args.action == MQ_ACTION_RECEIVE { "receive" } else { "peek" });
                self.add_effect(|| format!("taken by T{tid}'s waiting {what}"));
                let why = self.cause(|| "a message became available".to_string());
                self.complete_op(op, Value::MqReceived(v.0, v.1.map(Box::new)).into(), &why);
            }
        }
    }

    /// Removes a message and puts it in the dead-letter queue when its PROPID_M_JOURNAL
    /// asks for it (§23.19), with `class`.
    fn mq_discard(&mut self, queue: u64, pos: Pos, class: u16) {
        let tx = self.mq.queues[&queue].transactional;
        let m = self.mq_remove(queue, pos);
        self.mq_dead_letter(m, class, tx);
    }

    /// Puts a message that could not be delivered or received in time in a dead-letter
    /// queue, if its PROPID_M_JOURNAL asks for it: the transactional one for a message of
    /// a transactional queue (§23.19).
    fn mq_dead_letter(&mut self, mut m: Message, class: u16, transactional: bool) {
        if m.journal & MQMSG_DEADLETTER == 0 {
            return;
        }
        let dlq = if transactional { DEADXACT } else { DEADLETTER };
        m.class = class;
        m.locked = None;
        m.doomed = None;
        m.ttbr_s = INFINITE;
        let pos: Pos = (MQ_MAX_PRIORITY - m.priority, m.seq);
        let n = m.body.len() as u64;
        let q = self.mq.queues.get_mut(&dlq).expect("system queue");
        q.bytes += n;
        q.messages.insert(pos, m);
        self.pipe_bytes += n;
        self.mq.messages += 1;
        self.mq_arrived(dlq, pos);
    }

    /// A message's time-to-be-received ran out (§23.19).
    pub(crate) fn mq_expire(&mut self, seq: u64) {
        let Some((queue, pos, _, _)) = self.mq.expiries.remove(&seq) else { return };
        let Some(q) = self.mq.queues.get_mut(&queue) else { return };
        let path = q.path_name.clone();
        let Some(m) = q.messages.get_mut(&pos) else { return };
        let ttbr = m.ttbr_s;
        if m.locked.is_some() {
            // Held by a transaction: it goes if the transaction aborts [inferred].
            m.doomed = Some(MQMSG_CLASS_NACK_RECEIVE_TIMEOUT);
            return;
        }
        let dl = m.journal & MQMSG_DEADLETTER != 0;
        let text = format!(
            "message #{seq} expired in {path} (time-to-be-received {ttbr} s){}",
            if dl { ": moved to the dead-letter queue" } else { ": discarded" }
        );
        let ev = self.push_process_event(0, EventKind::Note { text });
        self.cause_event = ev;
        self.mq_discard(queue, pos, MQMSG_CLASS_NACK_RECEIVE_TIMEOUT);
    }

    /// MQReceiveMessage (§§23.12-23.18, 23.20): synchronous only.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mq_receive_message(
        &mut self,
        pid: Pid,
        tid: Tid,
        queue: HANDLE,
        timeout_ms: u32,
        action: u32,
        body_capacity: u32,
        cursor: HANDLE,
        transaction: HANDLE,
        asynchronous: Option<MqAsyncReceive>,
    ) -> Exec {
        let done = |h: HRESULT| Exec::Done(Value::MqReceived(h, None).into());
        let d = match self.mq_desc(pid, tid, queue) {
            Ok(d) => d,
            Err(e) => return done(e),
        };
        if ![MQ_ACTION_RECEIVE, MQ_ACTION_PEEK_CURRENT, MQ_ACTION_PEEK_NEXT].contains(&action) {
            // [inferred] An unknown action.
            return done(MQ_ERROR_INVALID_PARAMETER);
        }
        let (qid, access) = (desc_of(self, d).queue, desc_of(self, d).access);
        let allowed = match action {
            MQ_ACTION_RECEIVE => access == MQ_RECEIVE_ACCESS,
            _ => access == MQ_RECEIVE_ACCESS || access == MQ_PEEK_ACCESS,
        };
        if !allowed {
            return done(MQ_ERROR_ACCESS_DENIED);
        }
        let cursor = if cursor.is_null() {
            None
        } else {
            match self.object_from_handle(pid, tid, cursor, Some(super::ObjectType::MqCursor), 0) {
                Ok(c) if matches!(&self.objects[c].body, Body::MqCursor(x) if x.desc == d) => Some(c),
                _ => return done(MQ_ERROR_INVALID_HANDLE),
            }
        };
        if asynchronous.is_some() && !transaction.is_null() {
            // lpOverlapped and fnReceiveCallback are NULL for transactions (MQReceiveMessage,
            // Windows CE page): an asynchronous receive in a transaction is refused
            // (§23.28) [inferred: the HRESULT].
            return done(MQ_ERROR_TRANSACTION_USAGE);
        }
        let tx = if transaction.is_null() {
            None
        } else {
            match self.mq_tx(pid, tid, "MQReceiveMessage", transaction) {
                Ok(Some(Some(t))) => Some(t),
                // A single-message transaction is for sends only [inferred].
                Ok(Some(None)) => return done(MQ_ERROR_TRANSACTION_USAGE),
                Ok(None) => None,
                Err(e) => return done(e),
            }
        };
        let Some(q) = self.mq.queues.get(&qid) else { return done(MQ_ERROR_QUEUE_DELETED) };
        if tx.is_some() && action == MQ_ACTION_RECEIVE && !q.transactional {
            // Receiving in a transaction from a nontransactional queue (§23.24).
            return done(MQ_ERROR_TRANSACTION_USAGE);
        }
        if action == MQ_ACTION_PEEK_NEXT && cursor.is_none() {
            // [inferred] Peek-next needs a cursor (MQReceiveMessage doc).
            return done(MQ_ERROR_ILLEGAL_CURSOR_ACTION);
        }
        let args = RecvArgs { queue: qid, desc: d, cursor, action, capacity: body_capacity, tx };
        if let Some(a) = asynchronous {
            return self.mq_receive_async(pid, tid, args, timeout_ms, a);
        }
        if let Some((h, m)) = self.mq_attempt(&args, false) {
            return Exec::Done(Value::MqReceived(h, m.map(Box::new)).into());
        }
        if timeout_ms == 0 {
            return done(MQ_ERROR_IO_TIMEOUT);
        }
        // Waiting: a peek-next has moved its cursor to the end and waits as a peek-current.
        let mut args = args;
        if args.action == MQ_ACTION_PEEK_NEXT {
            args.action = MQ_ACTION_PEEK_CURRENT;
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::MqReceive(args), deadline);
        self.mq.queues.get_mut(&qid).expect("queue").waiters.push_back(op);
        Exec::Block(op)
    }

    /// An asynchronous MQReceiveMessage (§§23.27-23.30): a result known at once is
    /// returned (the overlapped form: MQ_OK also sets the event and queues the port's
    /// packet; an error touches nothing) or, for the callback form, delivered as a
    /// completion; otherwise the receive waits in the queue as a pending operation whose
    /// completion writes the OVERLAPPED, sets its event and queues a packet to the queue
    /// handle's completion port, and the call returns MQ_INFORMATION_OPERATION_PENDING.
    fn mq_receive_async(&mut self, pid: Pid, tid: Tid, args: RecvArgs, timeout_ms: u32, a: MqAsyncReceive) -> Exec {
        let api = crate::kernel::request::Api::MQReceiveMessage;
        let mut target = match self.begin_async_with(pid, tid, api, args.desc, &a.overlapped, None, true) {
            Ok(t) => t,
            // A bad hEvent [inferred: MQ_ERROR_INVALID_PARAMETER].
            Err(_) => return Exec::Done(Value::MqReceived(MQ_ERROR_INVALID_PARAMETER, None).into()),
        };
        target.mq_message = Some(a.message.clone());
        let at_once = match self.mq_attempt(&args, false) {
            Some(r) => Some(r),
            None if timeout_ms == 0 => Some((MQ_ERROR_IO_TIMEOUT, None)),
            None => None,
        };
        if let Some((h, m)) = at_once {
            if a.callback || h == MQ_OK {
                let reply: crate::kernel::request::Reply = Value::MqReceived(h, m.clone().map(Box::new)).into();
                self.mq_signal_async(tid, api, target, &reply);
            } else {
                // A failure at once: the OVERLAPPED says so; no event, no packet [inferred,
                // as for file I/O, §16].
                let mut st = a.overlapped.state.borrow_mut();
                st.internal = h.0 as u32;
                st.pending = None;
            }
            if a.callback {
                return Exec::Done(Value::MqReceived(MQ_INFORMATION_OPERATION_PENDING, None).into());
            }
            if let Some(msg) = &m {
                // MQ_ERROR_BUFFER_OVERFLOW at once still tells the body's size.
                *a.message.data.borrow_mut() = msg.clone();
            }
            return Exec::Done(Value::MqReceived(h, m.map(Box::new)).into());
        }
        // Pending: a peek-next has moved its cursor to the end and waits as a peek-current.
        let mut args = args;
        if args.action == MQ_ACTION_PEEK_NEXT {
            args.action = MQ_ACTION_PEEK_CURRENT;
        }
        let qid = args.queue;
        let deadline = self.deadline(timeout_ms);
        let op = self.pend_async(tid, OpKind::MqReceive(args), target);
        self.arm_deadline(op, deadline);
        self.mq.queues.get_mut(&qid).expect("queue").waiters.push_back(op);
        let serial = self.ops[op].serial;
        self.note_effect(|k| format!("receive #{serial} pending on {} (asynchronous)", queue_name(k, qid)));
        Exec::Done(Value::MqReceived(MQ_INFORMATION_OPERATION_PENDING, None).into())
    }

    /// An asynchronous receive completed (or ended at once, or was cancelled): the
    /// message's properties go to its record, its HRESULT into the OVERLAPPED's Internal
    /// (MQGetOverlappedResult reads it there), its event is set and, when the queue handle
    /// is associated with a completion port, a packet is queued (§§23.27-23.29, 23.31).
    pub(crate) fn mq_signal_async(
        &mut self,
        tid: Tid,
        api: crate::kernel::request::Api,
        target: crate::kernel::io::AsyncTarget,
        reply: &crate::kernel::request::Reply,
    ) {
        let (h, m) = match &reply.value {
            Value::MqReceived(h, m) => (*h, m.as_deref().cloned()),
            // MQDeleteQueue's MQ_ERROR_QUEUE_DELETED (§23.8).
            Value::Hresult(h) => (*h, None),
            _ => (MQ_ERROR_OPERATION_CANCELLED, None),
        };
        if let (Some(buf), Some(m)) = (&target.mq_message, m) {
            *buf.data.borrow_mut() = m;
        }
        {
            let mut st = target.overlapped.state.borrow_mut();
            st.internal = h.0 as u32;
            st.internal_high = 0;
            st.error = (!h.succeeded()).then_some(crate::error::ERROR_MR_MID_NOT_FOUND);
            st.pending = None;
        }
        let why = self.cause(|| format!("{api} completed"));
        if let Some(ev) = target.event.filter(|&ev| self.objects.contains_key(ev)) {
            if let Body::Event(e) = &mut self.objects[ev].body {
                e.signalled = true;
            }
            self.record_signal(ev, tid, api);
            self.wake_waiters(ev, &why);
        }
        let port = match self.objects.get(target.file).map(|o| &o.body) {
            Some(Body::MqQueue(d)) => d.port,
            _ => None,
        };
        if let Some((port, key)) = port {
            // The packet's status is the HRESULT as an NTSTATUS: GetQueuedCompletionStatus
            // fails for an error one [inferred: no Win32 error maps Message Queuing's
            // facility, so ERROR_MR_MID_NOT_FOUND], 0 bytes (§23.29).
            let error = (!h.succeeded()).then_some(crate::error::ERROR_MR_MID_NOT_FOUND);
            self.post_packet(
                port,
                super::port::Packet { key, bytes: 0, overlapped: Some(target.overlapped.clone()), error },
            );
        }
    }

    /// MQGetOverlappedResult (§23.27): the HRESULT in the OVERLAPPED's Internal member
    /// (STATUS_PENDING, 0x103, while the receive is pending [inferred]).
    pub(crate) fn mq_get_overlapped_result(
        &mut self,
        _pid: Pid,
        _tid: Tid,
        overlapped: crate::api::Overlapped,
    ) -> CallResult {
        hr(HRESULT(overlapped.internal() as i32))
    }

    /// CreateIoCompletionPort on a queue handle (§23.29): associates it with `port` under
    /// `key`; a handle already associated: ERROR_INVALID_PARAMETER (as for files, §16).
    pub(crate) fn mq_associate_port(
        &mut self,
        desc: ObjectId,
        port: ObjectId,
        key: usize,
    ) -> Result<(), crate::error::Win32Error> {
        let Body::MqQueue(d) = &mut self.objects[desc].body else { unreachable!("type checked") };
        if d.port.is_some() {
            return Err(crate::error::ERROR_INVALID_PARAMETER);
        }
        d.port = Some((port, key));
        self.add_ref(port);
        Ok(())
    }

    /// One attempt at a receive: `None` means wait. On a waiting retry (`retry`) a cursor
    /// whose message was taken by an earlier waiter goes back to waiting at the end
    /// [inferred].
    fn mq_attempt(&mut self, a: &RecvArgs, retry: bool) -> Option<(HRESULT, Option<MqMessage>)> {
        let Some(q) = self.mq.queues.get(&a.queue) else { return Some((MQ_ERROR_QUEUE_DELETED, None)) };
        if let Some(t) = a.tx
            && !matches!(self.objects.get(t).map(|o| &o.body), Some(Body::MqTransaction(x)) if x.active)
        {
            // [inferred] The transaction ended while the receive waited.
            return Some((MQ_ERROR_TRANSACTION_SEQUENCE, None));
        }
        let cursor = match a.cursor {
            None => None,
            Some(c) => match self.objects.get(c).map(|o| &o.body) {
                Some(Body::MqCursor(x)) => Some((c, x.pos)),
                _ => return Some((MQ_ERROR_INVALID_HANDLE, None)),
            },
        };
        let target: Option<Pos> = match (cursor, a.action) {
            (None, _) => q.seek(None),
            (Some((_, pos)), MQ_ACTION_PEEK_NEXT) => match pos {
                // Peek-next from a fresh cursor, after a receive or past the end: illegal
                // (§§23.14-23.16).
                CursorPos::Start | CursorPos::AfterReceive(_) | CursorPos::End => {
                    return Some((MQ_ERROR_ILLEGAL_CURSOR_ACTION, None));
                }
                CursorPos::At(p) => q.seek(Some(p)),
            },
            (Some((c, pos)), _) => match pos {
                CursorPos::Start => q.seek(None),
                CursorPos::AfterReceive(p) => q.seek(Some(p)),
                CursorPos::End => None,
                CursorPos::At(p) => match q.messages.get(&p) {
                    Some(m) if m.locked.is_none() => Some(p),
                    _ if retry => {
                        self.set_cursor(c, CursorPos::End);
                        return None;
                    }
                    // The message under the cursor was removed (§23.17); the cursor stays.
                    _ => return Some((MQ_ERROR_MESSAGE_ALREADY_RECEIVED, None)),
                },
            },
        };
        let Some(p) = target else {
            if let Some((c, _)) = cursor {
                // Nothing there: the cursor waits at the end of the queue (§23.16).
                self.set_cursor(c, CursorPos::End);
            }
            return None;
        };
        if let Some((c, _)) = cursor {
            self.set_cursor(c, CursorPos::At(p));
        }
        let q = &self.mq.queues[&a.queue];
        let m = &q.messages[&p];
        if m.body.len() as u64 > u64::from(a.capacity) {
            // The message stays where it is; PROPID_M_BODY_SIZE tells the size (§23.12).
            return Some((MQ_ERROR_BUFFER_OVERFLOW, Some(m.props(false))));
        }
        let props = m.props(true);
        if a.action != MQ_ACTION_RECEIVE {
            return Some((MQ_OK, Some(props)));
        }
        let seq = m.seq;
        let path = q.path_name.clone();
        let waited_ms = (self.now - m.sent_tick) / TICKS_PER_MS;
        if let Some((c, _)) = cursor {
            self.set_cursor(c, CursorPos::AfterReceive(p));
        }
        match a.tx {
            Some(t) => {
                self.mq.queues.get_mut(&a.queue).expect("queue").messages.get_mut(&p).expect("message").locked =
                    Some(t);
                let Body::MqTransaction(tr) = &mut self.objects[t].body else { unreachable!() };
                tr.ops.push(TxOp::Receive { queue: a.queue, pos: p });
                if !retry {
                    self.note_effect(|k| format!("message #{seq} of {path} received in {}", k.describe(t)));
                }
            }
            None => {
                self.mq_remove(a.queue, p);
                if !retry {
                    self.note_effect(|k| {
                        format!(
                            "message #{seq} removed from {path} {waited_ms} ms after it was sent: {} available",
                            k.mq.queues[&a.queue].available()
                        )
                    });
                }
            }
        }
        Some((MQ_OK, Some(props)))
    }

    /// Adds to what the executing call changed (a send that also completed waiting
    /// receives), for the trace.
    fn add_effect(&mut self, what: impl FnOnce() -> String) {
        if self.config.trace {
            let more = what();
            self.effect = Some(match self.effect.take() {
                Some(e) => format!("{e}; {more}"),
                None => more,
            });
        }
    }

    fn set_cursor(&mut self, c: ObjectId, pos: CursorPos) {
        if let Body::MqCursor(x) = &mut self.objects[c].body {
            x.pos = pos;
        }
    }
}

/// A format-name result: the name, or only its length when the buffer is too small.
fn format_name_reply(name: String, len: u32, too_small: HRESULT) -> CallResult {
    let need = name.chars().count() as u32 + 1;
    if len < need {
        return Ok(Value::MqFormatName(too_small, Box::default(), need).into());
    }
    Ok(Value::MqFormatName(MQ_OK, name.into(), need).into())
}

/// The last handle to an open queue closed: receives pending through it end with
/// MQ_ERROR_OPERATION_CANCELLED (§23.9).
pub(crate) fn desc_closed(k: &mut Kernel, id: ObjectId) {
    let queue = desc_of(k, id).queue;
    let Some(q) = k.mq.queues.get(&queue) else { return };
    let ops: Vec<OpId> = q
        .waiters
        .iter()
        .copied()
        .filter(|&op| matches!(&k.ops[op].kind, OpKind::MqReceive(a) if a.desc == id))
        .collect();
    let why = k.cause(|| "MQCloseQueue".to_string());
    for op in ops {
        k.mq.queues.get_mut(&queue).expect("queue").waiters.retain(|&w| w != op);
        k.complete_op(op, Value::MqReceived(MQ_ERROR_OPERATION_CANCELLED, None).into(), &why);
    }
}

/// The last handle to a transaction closed (ITransaction::Release, or its process
/// exited): an active transaction aborts (§23.23).
pub(crate) fn tx_closed(k: &mut Kernel, id: ObjectId) {
    if matches!(&k.objects[id].body, Body::MqTransaction(t) if t.active) {
        let text = k.tx_abort(id);
        let text = format!("{} released while active: {text}", k.describe(id));
        let actor = k.current.filter(|t| k.tids.contains_key(t));
        match actor {
            Some(t) => k.push_event(t, EventKind::Note { text }),
            None => {
                k.push_process_event(0, EventKind::Note { text });
            }
        }
    }
}

/// Takes a receive off its queue's waiters (a time-out, its thread ending).
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    let OpKind::MqReceive(a) = &k.ops[op].kind else { unreachable!("not a receive") };
    let queue = a.queue;
    if let Some(q) = k.mq.queues.get_mut(&queue) {
        q.waiters.retain(|&w| w != op);
    }
}

fn queue_name(k: &Kernel, queue: u64) -> String {
    k.mq.queues.get(&queue).map_or_else(|| format!("deleted queue {queue}"), |q| q.path_name.clone())
}

/// The open queues referring to a queue with the given access.
fn descriptors(k: &Kernel, queue: u64, access: u32) -> Vec<ObjectId> {
    k.objects
        .iter()
        .filter(|(_, o)| {
            o.hdr.handle_count > 0 && matches!(&o.body, Body::MqQueue(d) if d.queue == queue && d.access == access)
        })
        .map(|(id, _)| id)
        .collect()
}

/// Messages in flight to a queue: sent in transactions still open.
fn in_flight(k: &Kernel, queue: u64) -> (u64, Vec<ObjectId>) {
    let mut n = 0;
    let mut txs = Vec::new();
    for (id, o) in &k.objects {
        if let Body::MqTransaction(t) = &o.body {
            let c = t.ops.iter().filter(|op| matches!(op, TxOp::Send { queue: q, .. } if *q == queue)).count() as u64;
            if c > 0 {
                n += c;
                txs.push(id);
            }
        }
    }
    (n, txs)
}

/// What a receive waits for, in words.
pub(crate) fn op_reason(k: &Kernel, op: OpId) -> String {
    let OpKind::MqReceive(a) = &k.ops[op].kind else { unreachable!("not a receive") };
    let senders: usize =
        descriptors(k, a.queue, MQ_SEND_ACCESS).iter().map(|&d| k.objects[d].hdr.handle_count as usize).sum();
    let (flight, _) = in_flight(k, a.queue);
    let locked = k.mq.queues.get(&a.queue).map_or(0, |q| q.messages.len() as u64 - q.available());
    format!(
        "waits for a message in queue {} ({} available, {locked} held by transactions, {flight} in flight in open transactions; {senders} sender handle(s) open)",
        queue_name(k, a.queue),
        k.mq.queues.get(&a.queue).map_or(0, |q| q.available())
    )
}

/// The wait-for edge of a receive: the queue, its sender handles, its messages in flight.
pub(crate) fn op_wait_edges(k: &Kernel, op: OpId) -> Vec<WaitEdge> {
    let OpKind::MqReceive(a) = &k.ops[op].kind else { unreachable!("not a receive") };
    let (flight, _) = in_flight(k, a.queue);
    let q = k.mq.queues.get(&a.queue);
    vec![WaitEdge::QueueMessage {
        queue: queue_name(k, a.queue),
        available: q.map_or(0, |q| q.available()),
        locked: q.map_or(0, |q| q.messages.len() as u64 - q.available()),
        in_flight: flight,
        senders: descriptors(k, a.queue, MQ_SEND_ACCESS).into_iter().flat_map(|d| handle_refs(k, d)).collect(),
    }]
}

/// The threads that could complete a receive: those of processes holding send handles to
/// the queue, or transactions that hold its messages or sends to it.
pub(crate) fn op_releasers(k: &Kernel, op: OpId) -> Vec<Tid> {
    let OpKind::MqReceive(a) = &k.ops[op].kind else { unreachable!("not a receive") };
    let mut out: Vec<Tid> =
        descriptors(k, a.queue, MQ_SEND_ACCESS).into_iter().flat_map(|d| k.holder_threads(d)).collect();
    let (_, txs) = in_flight(k, a.queue);
    out.extend(txs.into_iter().flat_map(|t| k.holder_threads(t)));
    if let Some(q) = k.mq.queues.get(&a.queue) {
        for m in q.messages.values() {
            if let Some(t) = m.locked {
                out.extend(k.holder_threads(t));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// An object's state in words (deadlock report).
pub(crate) fn state(k: &Kernel, body: &Body) -> String {
    match body {
        Body::MqQueue(d) => format!("open on {} (access 0x{:x})", queue_name(k, d.queue), d.access),
        Body::MqCursor(c) => format!("cursor {:?}", c.pos),
        Body::MqTransaction(t) => {
            format!("{}, {} operation(s)", if t.active { "active" } else { "ended" }, t.ops.len())
        }
        _ => String::new(),
    }
}
