//! Message Queuing (docs/semantics.md §23), stated after [MS-MQDMPR]'s abstract data
//! model: a queue manager holding queues (3.1.1.2), each a list of message positions in
//! priority-then-arrival order (3.1.1.11), open-queue descriptors (3.1.1.16), cursors
//! (3.2) and transactions with their operations (3.1.1.13, 3.1.1.14). One process, calls
//! that never wait for another thread: a receive that finds nothing waits its whole
//! time-out (the caller says how long) and times out, unless it is 0.
//!
//! The model keeps its own clock in milliseconds: [`QueueManager::advance`] moves it and
//! expires messages whose time-to-be-received ran out ([MS-MQDMPR] 3.1.7.3.x "message
//! timed out"), moving those that ask for it to the dead-letter queue.

/// MQ_OK.
pub const MQ_OK: u32 = 0;
/// MQ_ERROR_QUEUE_NOT_FOUND.
pub const MQ_ERROR_QUEUE_NOT_FOUND: u32 = 0xC00E0003;
/// MQ_ERROR_QUEUE_EXISTS.
pub const MQ_ERROR_QUEUE_EXISTS: u32 = 0xC00E0005;
/// MQ_ERROR_INVALID_PARAMETER.
pub const MQ_ERROR_INVALID_PARAMETER: u32 = 0xC00E0006;
/// MQ_ERROR_INVALID_HANDLE.
pub const MQ_ERROR_INVALID_HANDLE: u32 = 0xC00E0007;
/// MQ_ERROR_BUFFER_OVERFLOW.
pub const MQ_ERROR_BUFFER_OVERFLOW: u32 = 0xC00E001A;
/// MQ_ERROR_IO_TIMEOUT.
pub const MQ_ERROR_IO_TIMEOUT: u32 = 0xC00E001B;
/// MQ_ERROR_ILLEGAL_CURSOR_ACTION.
pub const MQ_ERROR_ILLEGAL_CURSOR_ACTION: u32 = 0xC00E001C;
/// MQ_ERROR_MESSAGE_ALREADY_RECEIVED.
pub const MQ_ERROR_MESSAGE_ALREADY_RECEIVED: u32 = 0xC00E001D;
/// MQ_ERROR_ACCESS_DENIED.
pub const MQ_ERROR_ACCESS_DENIED: u32 = 0xC00E0025;
/// MQ_ERROR_TRANSACTION_USAGE.
pub const MQ_ERROR_TRANSACTION_USAGE: u32 = 0xC00E0050;
/// MQ_ERROR_TRANSACTION_SEQUENCE.
pub const MQ_ERROR_TRANSACTION_SEQUENCE: u32 = 0xC00E0051;
/// MQ_ERROR_QUEUE_DELETED.
pub const MQ_ERROR_QUEUE_DELETED: u32 = 0xC00E005A;
/// MQ_INFORMATION_OPERATION_PENDING.
pub const MQ_INFORMATION_OPERATION_PENDING: u32 = 0x400E0006;
/// MQ_ERROR_OPERATION_CANCELLED.
pub const MQ_ERROR_OPERATION_CANCELLED: u32 = 0xC00E0008;
/// STATUS_PENDING: an OVERLAPPED's Internal while its receive is pending.
pub const STATUS_PENDING: u32 = 0x103;
/// XACT_E_NOTRANSACTION.
pub const XACT_E_NOTRANSACTION: u32 = 0x8004D00E;
/// MQMSG_CLASS_NORMAL.
pub const CLASS_NORMAL: u16 = 0;
/// MQMSG_CLASS_NACK_RECEIVE_TIMEOUT.
pub const CLASS_RECEIVE_TIMEOUT: u16 = 0xC002;
/// MQMSG_CLASS_NACK_Q_EXCEED_QUOTA.
pub const CLASS_EXCEED_QUOTA: u16 = 0x8003;
/// MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_Q.
pub const CLASS_NOT_TRANSACTIONAL_Q: u16 = 0x8009;
/// MQMSG_CLASS_NACK_NOT_TRANSACTIONAL_MSG.
pub const CLASS_NOT_TRANSACTIONAL_MSG: u16 = 0x800A;
/// MQMSG_CLASS_NACK_Q_PURGED.
pub const CLASS_PURGED: u16 = 0xC001;

/// dwAccess values.
pub const RECEIVE: u32 = 1;
/// MQ_SEND_ACCESS.
pub const SEND: u32 = 2;
/// MQ_PEEK_ACCESS.
pub const PEEK: u32 = 0x20;

/// A receive action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// MQ_ACTION_RECEIVE.
    Receive,
    /// MQ_ACTION_PEEK_CURRENT.
    PeekCurrent,
    /// MQ_ACTION_PEEK_NEXT.
    PeekNext,
}

/// The transaction argument of a send or receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tx {
    /// NULL.
    None,
    /// MQ_SINGLE_MESSAGE.
    Single,
    /// An internal transaction, by its number.
    Internal(usize),
}

/// A message as a receive sees it: body, priority, abort count, class.
pub type Seen = (Vec<u8>, u8, u32, u16);

/// A call's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum R {
    /// An HRESULT.
    Hr(u32),
    /// A receive's HRESULT and the message (on MQ_OK, or without body on overflow).
    Recv(u32, Option<Seen>),
}

#[derive(Debug, Clone)]
struct Msg {
    seq: u64,
    body: Vec<u8>,
    priority: u8,
    deadline_ms: Option<u64>,
    dead_letter: bool,
    locked: Option<usize>,
    abort_count: u32,
    class: u16,
    doomed: Option<u16>,
    /// When its expiry was armed (its enqueue), to order expiries due together.
    armed: u64,
}

#[derive(Debug, Clone)]
struct Queue {
    key: String,
    transactional: bool,
    quota_kb: Option<u32>,
    /// Message positions, read from the front: higher priority first, FIFO within one.
    msgs: Vec<Msg>,
    system: bool,
    alive: bool,
}

impl Queue {
    fn bytes(&self) -> u64 {
        self.msgs.iter().map(|m| m.body.len() as u64).sum()
    }
    fn index(&self, seq: u64) -> Option<usize> {
        self.msgs.iter().position(|m| m.seq == seq)
    }
    /// The first unlocked message after the one with `after` (its position, by key).
    fn seek(&self, after: Option<(u8, u64)>) -> Option<u64> {
        self.msgs
            .iter()
            .filter(|m| after.is_none_or(|k| (7 - m.priority, m.seq) > k))
            .find(|m| m.locked.is_none())
            .map(|m| m.seq)
    }
    fn insert(&mut self, m: Msg) {
        let k = (7 - m.priority, m.seq);
        let at = self.msgs.iter().position(|x| (7 - x.priority, x.seq) > k).unwrap_or(self.msgs.len());
        self.msgs.insert(at, m);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CursorState {
    Unread,
    At((u8, u64)),
    AfterReceive((u8, u64)),
    End,
}

#[derive(Debug, Clone)]
struct Cursor {
    desc: usize,
    state: CursorState,
    open: bool,
}

#[derive(Debug, Clone)]
struct Desc {
    queue: usize,
    access: u32,
    open: bool,
}

#[derive(Debug, Clone)]
enum TxOp {
    Send(usize, Msg),
    Receive(usize, u64),
}

#[derive(Debug, Clone)]
struct Transaction {
    active: bool,
    ops: Vec<TxOp>,
    released: bool,
}

/// An asynchronous receive (docs/semantics.md §§23.27-23.31): no cursor, no transaction.
#[derive(Debug, Clone)]
struct AsyncRecv {
    desc: usize,
    action: Action,
    capacity: u32,
    /// The clock time of its time-out (None: INFINITE).
    deadline_ms: Option<u64>,
    /// Its completion (None while pending).
    result: Option<R>,
}

/// The queue manager of one machine.
#[derive(Debug, Clone)]
pub struct QueueManager {
    /// Asynchronous receives in the order they were issued (pending ones are served in
    /// that order, §23.27).
    asyncs: Vec<AsyncRecv>,
    queues: Vec<Queue>,
    descs: Vec<Desc>,
    cursors: Vec<Cursor>,
    txs: Vec<Transaction>,
    next_seq: u64,
    armed: u64,
    now_ms: u64,
}

/// The dead-letter queue's index.
pub const DEADLETTER: usize = 0;
const DEADXACT: usize = 1;

impl Default for QueueManager {
    fn default() -> Self {
        Self::new()
    }
}

impl QueueManager {
    /// A machine with its two dead-letter queues.
    pub fn new() -> QueueManager {
        let sys = |tx| Queue {
            key: String::new(),
            transactional: tx,
            quota_kb: None,
            msgs: Vec::new(),
            system: true,
            alive: true,
        };
        QueueManager {
            asyncs: Vec::new(),
            queues: vec![sys(false), sys(true)],
            descs: Vec::new(),
            cursors: Vec::new(),
            txs: Vec::new(),
            next_seq: 1,
            armed: 0,
            now_ms: 0,
        }
    }

    /// The model's clock.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Moves the clock to `now_ms`, expiring messages whose deadline is at or before it,
    /// in deadline order (those due together in the order their timers were armed).
    pub fn advance(&mut self, now_ms: u64) {
        assert!(now_ms >= self.now_ms, "the model's clock goes forward");
        loop {
            let mut due: Option<(u64, u64, usize, u64)> = None;
            for (qi, q) in self.queues.iter().enumerate() {
                for m in &q.msgs {
                    if let Some(d) = m.deadline_ms.filter(|&d| d <= now_ms)
                        && due.is_none_or(|(dd, a, _, _)| (d, m.armed) < (dd, a))
                    {
                        due = Some((d, m.armed, qi, m.seq));
                    }
                }
            }
            let Some((_, _, qi, seq)) = due else { break };
            let i = self.queues[qi].index(seq).expect("message");
            let m = &mut self.queues[qi].msgs[i];
            m.deadline_ms = None;
            if m.locked.is_some() {
                m.doomed = Some(CLASS_RECEIVE_TIMEOUT);
                continue;
            }
            let m = self.queues[qi].msgs.remove(i);
            let tx = self.queues[qi].transactional;
            self.dead_letter(m, CLASS_RECEIVE_TIMEOUT, tx);
        }
        // Pending asynchronous receives whose time ran out complete with
        // MQ_ERROR_IO_TIMEOUT (§23.28).
        for a in &mut self.asyncs {
            if a.result.is_none() && a.deadline_ms.is_some_and(|d| d <= now_ms) {
                a.result = Some(R::Recv(MQ_ERROR_IO_TIMEOUT, None));
            }
        }
        self.now_ms = now_ms;
    }

    fn dead_letter(&mut self, mut m: Msg, class: u16, transactional: bool) {
        if !m.dead_letter {
            return;
        }
        m.class = class;
        m.locked = None;
        m.doomed = None;
        m.deadline_ms = None;
        let q = if transactional { DEADXACT } else { DEADLETTER };
        let k = (7 - m.priority, m.seq);
        self.queues[q].insert(m);
        self.arrived(q, k);
    }

    /// Cursors waiting at the end of a queue move to a message that became available;
    /// then the pending asynchronous receives on the queue are served in order (§23.27).
    fn arrived(&mut self, q: usize, k: (u8, u64)) {
        for c in &mut self.cursors {
            if c.state == CursorState::End && self.descs[c.desc].queue == q {
                c.state = CursorState::At(k);
            }
        }
        for i in 0..self.asyncs.len() {
            let a = &self.asyncs[i];
            if a.result.is_some() || self.descs[a.desc].queue != q {
                continue;
            }
            let (d, action, capacity) = (a.desc, a.action, a.capacity);
            let r = self.receive(d, 0, action, capacity, None, None);
            if r != R::Recv(MQ_ERROR_IO_TIMEOUT, None) {
                self.asyncs[i].result = Some(r);
            }
        }
    }

    /// MQReceiveMessage with an OVERLAPPED (no cursor, no transaction, §§23.27-23.31): the
    /// call's result and, when it started (pending or finished at once: MQ_OK,
    /// MQ_ERROR_BUFFER_OVERFLOW, MQ_ERROR_IO_TIMEOUT), the receive's number for
    /// [`QueueManager::async_result`].
    pub fn receive_async(&mut self, d: usize, timeout_ms: u32, action: Action, capacity: u32) -> (R, Option<usize>) {
        let r = self.receive(d, 0, action, capacity, None, None);
        let (ret, result) = match r {
            R::Recv(MQ_ERROR_IO_TIMEOUT, None) if timeout_ms > 0 => {
                (R::Recv(MQ_INFORMATION_OPERATION_PENDING, None), None)
            }
            R::Recv(MQ_OK | MQ_ERROR_BUFFER_OVERFLOW | MQ_ERROR_IO_TIMEOUT, _) => (r.clone(), Some(r)),
            // Refused at once: the OVERLAPPED is not touched.
            _ => return (r, None),
        };
        let deadline_ms = (timeout_ms != u32::MAX).then(|| self.now_ms + u64::from(timeout_ms));
        self.asyncs.push(AsyncRecv { desc: d, action, capacity, deadline_ms, result });
        (ret, Some(self.asyncs.len() - 1))
    }

    /// What MQGetOverlappedResult and the message record of an asynchronous receive show:
    /// STATUS_PENDING while it is pending, else its HRESULT and (on MQ_OK and
    /// MQ_ERROR_BUFFER_OVERFLOW) the message.
    pub fn async_result(&self, a: usize) -> R {
        self.asyncs[a].result.clone().unwrap_or(R::Recv(STATUS_PENDING, None))
    }

    fn live_queue(&self, key: &str) -> Option<usize> {
        self.queues.iter().position(|q| q.alive && !q.system && q.key == key)
    }

    /// MQCreateQueue of `.\private$\<key>`.
    pub fn create(&mut self, key: &str, transactional: bool, quota_kb: Option<u32>) -> R {
        if self.live_queue(key).is_some() {
            return R::Hr(MQ_ERROR_QUEUE_EXISTS);
        }
        self.queues.push(Queue {
            key: key.into(),
            transactional,
            quota_kb,
            msgs: Vec::new(),
            system: false,
            alive: true,
        });
        R::Hr(MQ_OK)
    }

    /// MQDeleteQueue.
    pub fn delete(&mut self, key: &str) -> R {
        let Some(q) = self.live_queue(key) else { return R::Hr(MQ_ERROR_QUEUE_NOT_FOUND) };
        self.queues[q].alive = false;
        self.queues[q].msgs.clear();
        // Its pending receives end (§23.8).
        for a in &mut self.asyncs {
            if a.result.is_none() && self.descs[a.desc].queue == q {
                a.result = Some(R::Recv(MQ_ERROR_QUEUE_DELETED, None));
            }
        }
        R::Hr(MQ_OK)
    }

    /// MQOpenQueue (one process: no sharing violation); `None` key: the dead-letter queue.
    /// Returns the result and, on success, the descriptor's number.
    pub fn open(&mut self, key: Option<&str>, access: u32) -> (R, Option<usize>) {
        let q = match key {
            None => DEADLETTER,
            Some(k) => match self.live_queue(k) {
                Some(q) => q,
                None => return (R::Hr(MQ_ERROR_QUEUE_NOT_FOUND), None),
            },
        };
        if self.queues[q].system && access == SEND {
            return (R::Hr(MQ_ERROR_ACCESS_DENIED), None);
        }
        self.descs.push(Desc { queue: q, access, open: true });
        (R::Hr(MQ_OK), Some(self.descs.len() - 1))
    }

    /// MQCloseQueue.
    pub fn close(&mut self, d: usize) -> R {
        if !self.descs[d].open {
            return R::Hr(MQ_ERROR_INVALID_HANDLE);
        }
        self.descs[d].open = false;
        // Its pending asynchronous receives are cancelled (§23.31).
        for a in &mut self.asyncs {
            if a.result.is_none() && a.desc == d {
                a.result = Some(R::Recv(MQ_ERROR_OPERATION_CANCELLED, None));
            }
        }
        R::Hr(MQ_OK)
    }

    /// MQCreateCursor; on success, the cursor's number.
    pub fn create_cursor(&mut self, d: usize) -> (R, Option<usize>) {
        if !self.descs[d].open {
            return (R::Hr(MQ_ERROR_INVALID_HANDLE), None);
        }
        if self.descs[d].access == SEND {
            return (R::Hr(MQ_ERROR_ACCESS_DENIED), None);
        }
        self.cursors.push(Cursor { desc: d, state: CursorState::Unread, open: true });
        (R::Hr(MQ_OK), Some(self.cursors.len() - 1))
    }

    /// MQCloseCursor.
    pub fn close_cursor(&mut self, c: usize) -> R {
        if !self.cursors[c].open {
            return R::Hr(MQ_ERROR_INVALID_HANDLE);
        }
        self.cursors[c].open = false;
        R::Hr(MQ_OK)
    }

    /// MQBeginTransaction; the transaction's number.
    pub fn begin(&mut self) -> usize {
        self.txs.push(Transaction { active: true, ops: Vec::new(), released: false });
        self.txs.len() - 1
    }

    fn tx_arg(&self, tx: Tx) -> Result<Option<Option<usize>>, u32> {
        match tx {
            Tx::None => Ok(None),
            Tx::Single => Ok(Some(None)),
            Tx::Internal(t) if self.txs[t].released => Err(MQ_ERROR_INVALID_PARAMETER),
            Tx::Internal(t) if !self.txs[t].active => Err(MQ_ERROR_TRANSACTION_SEQUENCE),
            Tx::Internal(t) => Ok(Some(Some(t))),
        }
    }

    /// MQSendMessage of a body with a priority, a time-to-be-received in seconds and
    /// MQMSG_DEADLETTER or not.
    pub fn send(&mut self, d: usize, body: &[u8], priority: u8, ttbr_s: Option<u32>, dead_letter: bool, tx: Tx) -> R {
        if !self.descs[d].open {
            return R::Hr(MQ_ERROR_INVALID_HANDLE);
        }
        if self.descs[d].access != SEND {
            return R::Hr(MQ_ERROR_ACCESS_DENIED);
        }
        let tx = match self.tx_arg(tx) {
            Ok(t) => t,
            Err(e) => return R::Hr(e),
        };
        let q = self.descs[d].queue;
        if !self.queues[q].alive {
            return R::Hr(MQ_ERROR_QUEUE_DELETED);
        }
        let m = Msg {
            seq: self.next_seq,
            body: body.to_vec(),
            priority: if tx.is_some() { 0 } else { priority },
            deadline_ms: ttbr_s.map(|s| self.now_ms + u64::from(s) * 1000),
            dead_letter,
            locked: None,
            abort_count: 0,
            class: CLASS_NORMAL,
            doomed: None,
            armed: 0,
        };
        self.next_seq += 1;
        match tx {
            Some(Some(t)) => self.txs[t].ops.push(TxOp::Send(q, m)),
            Some(None) => self.deliver(q, m),
            // A transactional queue rejects a nontransactional message; the send succeeds
            // (KB 901281, §23.24).
            None if self.queues[q].transactional => self.dead_letter(m, CLASS_NOT_TRANSACTIONAL_Q, false),
            None => self.enqueue(q, m),
        }
        R::Hr(MQ_OK)
    }

    /// A transactional message reaches its queue: a nontransactional queue rejects it.
    fn deliver(&mut self, q: usize, m: Msg) {
        if self.queues[q].transactional {
            self.enqueue(q, m);
        } else {
            self.dead_letter(m, CLASS_NOT_TRANSACTIONAL_MSG, true);
        }
    }

    fn enqueue(&mut self, q: usize, mut m: Msg) {
        let queue = &self.queues[q];
        if queue.quota_kb.is_some_and(|kb| queue.bytes() + m.body.len() as u64 > u64::from(kb) * 1024) {
            let tx = queue.transactional;
            self.dead_letter(m, CLASS_EXCEED_QUOTA, tx);
            return;
        }
        // [MS-MQDMPR] 3.1.7.1.9 checks the quotas first, then whether the message timed
        // out before it reached the queue (§23.19).
        if m.deadline_ms.is_some_and(|d| d <= self.now_ms) {
            // Timed out before it reached the queue (§23.19).
            let tx = self.queues[q].transactional;
            self.dead_letter(m, CLASS_RECEIVE_TIMEOUT, tx);
            return;
        }
        self.armed += 1;
        m.armed = self.armed;
        let k = (7 - m.priority, m.seq);
        self.queues[q].insert(m);
        self.arrived(q, k);
    }

    /// MQReceiveMessage with a body buffer of `capacity` bytes; a receive that finds
    /// nothing waits `timeout_ms` (the clock moves) and times out.
    pub fn receive(
        &mut self,
        d: usize,
        timeout_ms: u32,
        action: Action,
        capacity: u32,
        cursor: Option<usize>,
        tx: Option<usize>,
    ) -> R {
        let fail = |e| R::Recv(e, None);
        if !self.descs[d].open {
            return fail(MQ_ERROR_INVALID_HANDLE);
        }
        let access = self.descs[d].access;
        let allowed = if action == Action::Receive { access == RECEIVE } else { access == RECEIVE || access == PEEK };
        if !allowed {
            return fail(MQ_ERROR_ACCESS_DENIED);
        }
        if let Some(c) = cursor
            && (!self.cursors[c].open || self.cursors[c].desc != d)
        {
            return fail(MQ_ERROR_INVALID_HANDLE);
        }
        if let Some(t) = tx
            && let Err(e) = self.tx_arg(Tx::Internal(t))
        {
            return fail(e);
        }
        let q = self.descs[d].queue;
        if !self.queues[q].alive {
            return fail(MQ_ERROR_QUEUE_DELETED);
        }
        if tx.is_some() && action == Action::Receive && !self.queues[q].transactional {
            return fail(MQ_ERROR_TRANSACTION_USAGE);
        }
        if action == Action::PeekNext && cursor.is_none() {
            return fail(MQ_ERROR_ILLEGAL_CURSOR_ACTION);
        }
        let queue = &self.queues[q];
        let key_of = |seq: u64| queue.msgs.iter().find(|m| m.seq == seq).map(|m| (7 - m.priority, m.seq));
        let target = match (cursor.map(|c| self.cursors[c].state), action) {
            (None, _) => queue.seek(None),
            (Some(CursorState::At(k)), Action::PeekNext) => queue.seek(Some(k)),
            (Some(_), Action::PeekNext) => return fail(MQ_ERROR_ILLEGAL_CURSOR_ACTION),
            (Some(CursorState::Unread), _) => queue.seek(None),
            (Some(CursorState::AfterReceive(k)), _) => queue.seek(Some(k)),
            (Some(CursorState::End), _) => None,
            (Some(CursorState::At(k)), _) => match queue.msgs.iter().find(|m| (7 - m.priority, m.seq) == k) {
                Some(m) if m.locked.is_none() => Some(m.seq),
                _ => return fail(MQ_ERROR_MESSAGE_ALREADY_RECEIVED),
            },
        };
        let Some(seq) = target else {
            if let Some(c) = cursor {
                self.cursors[c].state = CursorState::End;
            }
            if timeout_ms > 0 {
                let until = self.now_ms + u64::from(timeout_ms);
                self.advance(until);
            }
            return fail(MQ_ERROR_IO_TIMEOUT);
        };
        let k = key_of(seq).expect("found");
        if let Some(c) = cursor {
            self.cursors[c].state = CursorState::At(k);
        }
        let i = self.queues[q].index(seq).expect("found");
        let m = &self.queues[q].msgs[i];
        if m.body.len() as u64 > u64::from(capacity) {
            return R::Recv(MQ_ERROR_BUFFER_OVERFLOW, Some((Vec::new(), m.priority, m.abort_count, m.class)));
        }
        let seen = (m.body.clone(), m.priority, m.abort_count, m.class);
        if action != Action::Receive {
            return R::Recv(MQ_OK, Some(seen));
        }
        if let Some(c) = cursor {
            self.cursors[c].state = CursorState::AfterReceive(k);
        }
        match tx {
            Some(t) => {
                self.queues[q].msgs[i].locked = Some(t);
                self.txs[t].ops.push(TxOp::Receive(q, seq));
            }
            None => {
                self.queues[q].msgs.remove(i);
            }
        }
        R::Recv(MQ_OK, Some(seen))
    }

    /// MQPurgeQueue.
    pub fn purge(&mut self, d: usize) -> R {
        if !self.descs[d].open {
            return R::Hr(MQ_ERROR_INVALID_HANDLE);
        }
        if self.descs[d].access != RECEIVE {
            return R::Hr(MQ_ERROR_ACCESS_DENIED);
        }
        let q = self.descs[d].queue;
        if !self.queues[q].alive {
            return R::Hr(MQ_ERROR_QUEUE_DELETED);
        }
        self.queues[q].msgs.retain_mut(|m| {
            if m.locked.is_some() {
                m.doomed = Some(CLASS_PURGED);
                true
            } else {
                false
            }
        });
        R::Hr(MQ_OK)
    }

    fn tx_handle(&self, t: usize) -> Result<(), u32> {
        if self.txs[t].released {
            Err(MQ_ERROR_INVALID_PARAMETER)
        } else if !self.txs[t].active {
            Err(XACT_E_NOTRANSACTION)
        } else {
            Ok(())
        }
    }

    /// ITransaction::Commit.
    pub fn commit(&mut self, t: usize) -> R {
        if let Err(e) = self.tx_handle(t) {
            return R::Hr(e);
        }
        self.txs[t].active = false;
        for op in std::mem::take(&mut self.txs[t].ops) {
            match op {
                TxOp::Send(q, m) => {
                    if self.queues[q].alive {
                        self.deliver(q, m);
                    }
                }
                TxOp::Receive(q, seq) => {
                    if let Some(i) = self.queues[q].index(seq) {
                        self.queues[q].msgs.remove(i);
                    }
                }
            }
        }
        R::Hr(MQ_OK)
    }

    /// ITransaction::Abort.
    pub fn abort(&mut self, t: usize) -> R {
        if let Err(e) = self.tx_handle(t) {
            return R::Hr(e);
        }
        self.do_abort(t);
        R::Hr(MQ_OK)
    }

    fn do_abort(&mut self, t: usize) {
        self.txs[t].active = false;
        for op in std::mem::take(&mut self.txs[t].ops) {
            if let TxOp::Receive(q, seq) = op {
                let Some(i) = self.queues[q].index(seq) else { continue };
                let m = &mut self.queues[q].msgs[i];
                m.locked = None;
                m.abort_count += 1;
                let k = (7 - m.priority, m.seq);
                if let Some(class) = m.doomed {
                    let m = self.queues[q].msgs.remove(i);
                    let tx = self.queues[q].transactional;
                    self.dead_letter(m, class, tx);
                } else {
                    self.arrived(q, k);
                }
            }
        }
    }

    /// ITransaction::Release: an active transaction aborts.
    pub fn release(&mut self, t: usize) -> R {
        if self.txs[t].released {
            return R::Hr(MQ_ERROR_INVALID_PARAMETER);
        }
        if self.txs[t].active {
            self.do_abort(t);
        }
        self.txs[t].released = true;
        R::Hr(MQ_OK)
    }
}
