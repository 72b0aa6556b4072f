//! Mailslots (docs/semantics.md §18): one name, its server and its clients, messages in a
//! queue, reads that take one whole message, read time-outs in virtual milliseconds.
//!
//! The model keeps its own clock: the caller says what time it is at each call
//! (`now_ms`), and [`MailslotModel::due`] tells when the next waiting read times out.
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source.

use std::collections::VecDeque;

/// ERROR_FILE_NOT_FOUND.
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
/// ERROR_ACCESS_DENIED.
pub const ERROR_ACCESS_DENIED: u32 = 5;
/// ERROR_HANDLE_EOF.
pub const ERROR_HANDLE_EOF: u32 = 38;
/// ERROR_INVALID_PARAMETER.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// ERROR_SEM_TIMEOUT.
pub const ERROR_SEM_TIMEOUT: u32 = 121;
/// ERROR_INSUFFICIENT_BUFFER.
pub const ERROR_INSUFFICIENT_BUFFER: u32 = 122;
/// ERROR_ALREADY_EXISTS.
pub const ERROR_ALREADY_EXISTS: u32 = 183;
/// MAILSLOT_WAIT_FOREVER.
pub const MAILSLOT_WAIT_FOREVER: u32 = u32::MAX;
/// MAILSLOT_NO_MESSAGE.
pub const MAILSLOT_NO_MESSAGE: u32 = u32::MAX;

/// A thread id (the caller's numbering).
pub type Tid = u32;

/// A handle's side, as the model numbers them: server `i` is the `i`-th successful
/// CreateMailslot, client `c` the `c`-th successful CreateFile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    /// A CreateMailslot handle.
    Server(usize),
    /// A CreateFile handle (opened with GENERIC_WRITE only).
    Client(usize),
}

/// What a call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// CreateMailslot succeeded: server number.
    Created(usize),
    /// CreateFile succeeded: client number.
    Opened(usize),
    /// ReadFile returned one message.
    Read(Vec<u8>),
    /// WriteFile wrote this many bytes.
    Written(u32),
    /// GetMailslotInfo: max size, next size, count, read time-out.
    Info(u32, u32, u32, u32),
    /// TRUE without out-parameters (SetMailslotInfo, CloseHandle).
    Done,
    /// The caller waits (a read on an empty mailslot with a non-zero time-out).
    Pending,
    /// Failed with this Win32 error.
    Failed(u32),
}

/// A call's reply and the waiting reads it completed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The caller's reply.
    pub reply: Reply,
    /// Waiting reads this call completed: (thread, reply).
    pub completed: Vec<(Tid, Reply)>,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome { reply, completed: Vec::new() }
    }
}

#[derive(Debug, Clone)]
struct Slot {
    max: u32,
    timeout_ms: u32,
    messages: VecDeque<Vec<u8>>,
    /// Waiting reads, oldest first: thread, buffer size, due time (None: forever).
    reads: VecDeque<(Tid, u32, Option<u64>)>,
    open: bool,
}

/// One mailslot name over time: each CreateMailslot that succeeds makes a new server;
/// clients belong to the server that was open when they opened the name.
#[derive(Debug, Clone, Default)]
pub struct MailslotModel {
    slots: Vec<Slot>,
    clients: Vec<(usize, bool)>,
}

impl MailslotModel {
    /// A name with no server yet.
    pub fn new() -> MailslotModel {
        MailslotModel::default()
    }

    fn current(&self) -> Option<usize> {
        self.slots.iter().rposition(|s| s.open)
    }

    /// CreateMailslot: a new server, unless the name has one (§18.2).
    pub fn create(&mut self, max: u32, timeout_ms: u32) -> Reply {
        if self.current().is_some() {
            return Reply::Failed(ERROR_ALREADY_EXISTS);
        }
        self.slots.push(Slot { max, timeout_ms, messages: VecDeque::new(), reads: VecDeque::new(), open: true });
        Reply::Created(self.slots.len() - 1)
    }

    /// CreateFile of a writer: ERROR_FILE_NOT_FOUND without a server (§18.8).
    pub fn open(&mut self) -> Reply {
        match self.current() {
            Some(s) => {
                self.clients.push((s, true));
                Reply::Opened(self.clients.len() - 1)
            }
            None => Reply::Failed(ERROR_FILE_NOT_FOUND),
        }
    }

    fn slot_of(&self, side: Side) -> usize {
        match side {
            Side::Server(s) => s,
            Side::Client(c) => self.clients[c].0,
        }
    }

    /// ReadFile by `tid` with a `len`-byte buffer at `now_ms` (§§18.4-18.7, 18.9, 18.12).
    pub fn read(&mut self, side: Side, tid: Tid, len: u32, now_ms: u64) -> Reply {
        let Side::Server(s) = side else {
            // Writers are opened with GENERIC_WRITE only: no read access (§18.7).
            return Reply::Failed(ERROR_ACCESS_DENIED);
        };
        let slot = &mut self.slots[s];
        match slot.messages.front() {
            Some(m) if m.len() as u64 > u64::from(len) => Reply::Failed(ERROR_INSUFFICIENT_BUFFER),
            Some(_) => Reply::Read(slot.messages.pop_front().expect("checked")),
            None if slot.timeout_ms == 0 => Reply::Failed(ERROR_SEM_TIMEOUT),
            None => {
                let due = (slot.timeout_ms != MAILSLOT_WAIT_FOREVER).then(|| now_ms + u64::from(slot.timeout_ms));
                slot.reads.push_back((tid, len, due));
                Reply::Pending
            }
        }
    }

    /// WriteFile of `data` (§§18.7, 18.9, 18.15-18.17): queued, then waiting reads take
    /// messages in order.
    pub fn write(&mut self, side: Side, data: &[u8]) -> Outcome {
        let Side::Client(c) = side else { return Reply::Failed(ERROR_ACCESS_DENIED).into() };
        let slot = &mut self.slots[self.clients[c].0];
        if !slot.open {
            return Reply::Failed(ERROR_HANDLE_EOF).into();
        }
        if slot.max != 0 && data.len() as u64 > u64::from(slot.max) {
            return Reply::Failed(ERROR_INVALID_PARAMETER).into();
        }
        slot.messages.push_back(data.to_vec());
        let mut completed = Vec::new();
        while let (Some(m), Some(&(tid, len, _))) = (slot.messages.front(), slot.reads.front()) {
            slot.reads.pop_front();
            if m.len() as u64 > u64::from(len) {
                completed.push((tid, Reply::Failed(ERROR_INSUFFICIENT_BUFFER)));
            } else {
                completed.push((tid, Reply::Read(slot.messages.pop_front().expect("checked"))));
            }
        }
        Outcome { reply: Reply::Written(data.len() as u32), completed }
    }

    /// GetMailslotInfo, through either side (§§18.3, 18.10, 18.13).
    pub fn info(&self, side: Side) -> Reply {
        let slot = &self.slots[self.slot_of(side)];
        let next = slot.messages.front().map(|m| m.len() as u32).unwrap_or(MAILSLOT_NO_MESSAGE);
        Reply::Info(slot.max, next, slot.messages.len() as u32, slot.timeout_ms)
    }

    /// SetMailslotInfo (§18.14): the time-out of later reads; not through a client.
    pub fn set_timeout(&mut self, side: Side, timeout_ms: u32) -> Reply {
        match side {
            Side::Server(s) => {
                self.slots[s].timeout_ms = timeout_ms;
                Reply::Done
            }
            Side::Client(_) => Reply::Failed(ERROR_INVALID_PARAMETER),
        }
    }

    /// CloseHandle of a server (its only handle) or a client (§18.16).
    pub fn close(&mut self, side: Side) -> Outcome {
        match side {
            Side::Client(c) => {
                self.clients[c].1 = false;
                Reply::Done.into()
            }
            Side::Server(s) => {
                let slot = &mut self.slots[s];
                slot.open = false;
                slot.messages.clear();
                let completed = slot.reads.drain(..).map(|(t, _, _)| (t, Reply::Failed(ERROR_HANDLE_EOF))).collect();
                Outcome { reply: Reply::Done, completed }
            }
        }
    }

    /// The earliest time a waiting read times out, if any.
    pub fn due(&self) -> Option<u64> {
        self.slots.iter().flat_map(|s| s.reads.iter().filter_map(|r| r.2)).min()
    }

    /// Times out the reads due at `now_ms` (ERROR_SEM_TIMEOUT, §18.5), in the order they
    /// began to wait.
    pub fn time_out(&mut self, now_ms: u64) -> Vec<(Tid, Reply)> {
        let mut out = Vec::new();
        for slot in &mut self.slots {
            slot.reads.retain(|&(t, _, due)| {
                if due.is_some_and(|d| d <= now_ms) {
                    out.push((t, Reply::Failed(ERROR_SEM_TIMEOUT)));
                    false
                } else {
                    true
                }
            });
        }
        out
    }

    /// Threads whose read still waits.
    pub fn waiting(&self) -> Vec<Tid> {
        let mut v: Vec<Tid> = self.slots.iter().flat_map(|s| s.reads.iter().map(|r| r.0)).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §§18.9-18.12 as in mailslot.c's mailslot_test.
    #[test]
    fn messages_and_info() {
        let mut m = MailslotModel::new();
        assert_eq!(m.create(0, 0), Reply::Created(0));
        assert_eq!(m.create(0, 0), Reply::Failed(ERROR_ALREADY_EXISTS));
        assert_eq!(m.open(), Reply::Opened(0));
        let (s, c) = (Side::Server(0), Side::Client(0));
        assert_eq!(m.read(s, 1, 16, 0), Reply::Failed(ERROR_SEM_TIMEOUT));
        assert_eq!(m.write(c, b"a").reply, Reply::Written(1));
        assert_eq!(m.write(c, b"bc").reply, Reply::Written(2));
        assert_eq!(m.write(c, b"").reply, Reply::Written(0));
        assert_eq!(m.info(s), Reply::Info(0, 1, 3, 0));
        assert_eq!(m.read(s, 1, 16, 0), Reply::Read(b"a".to_vec()));
        assert_eq!(m.read(s, 1, 1, 0), Reply::Failed(ERROR_INSUFFICIENT_BUFFER));
        assert_eq!(m.read(s, 1, 2, 0), Reply::Read(b"bc".to_vec()));
        assert_eq!(m.read(s, 1, 0, 0), Reply::Read(Vec::new()));
        assert_eq!(m.info(c), Reply::Info(0, MAILSLOT_NO_MESSAGE, 0, 0));
    }

    /// §§18.5, 18.16, 18.17: time-outs, waiting reads in order, the server closing.
    #[test]
    fn waiting_reads() {
        let mut m = MailslotModel::new();
        m.create(0, 100);
        m.open();
        let (s, c) = (Side::Server(0), Side::Client(0));
        assert_eq!(m.read(s, 1, 1, 0), Reply::Pending);
        assert_eq!(m.read(s, 2, 8, 50), Reply::Pending);
        assert_eq!(m.due(), Some(100));
        let o = m.write(c, b"xy");
        assert_eq!(o.completed, vec![(1, Reply::Failed(ERROR_INSUFFICIENT_BUFFER)), (2, Reply::Read(b"xy".to_vec()))]);
        assert_eq!(m.read(s, 3, 8, 120), Reply::Pending);
        assert_eq!(m.time_out(220), vec![(3, Reply::Failed(ERROR_SEM_TIMEOUT))]);
        assert_eq!(m.set_timeout(s, MAILSLOT_WAIT_FOREVER), Reply::Done);
        assert_eq!(m.read(s, 4, 8, 300), Reply::Pending);
        assert_eq!(m.due(), None);
        assert_eq!(m.close(s).completed, vec![(4, Reply::Failed(ERROR_HANDLE_EOF))]);
        assert_eq!(m.write(c, b"z").reply, Reply::Failed(ERROR_HANDLE_EOF));
        assert_eq!(m.open(), Reply::Failed(ERROR_FILE_NOT_FOUND));
        assert_eq!(m.create(0, 0), Reply::Created(1));
        assert_eq!(m.write(c, b"z").reply, Reply::Failed(ERROR_HANDLE_EOF));
    }
}
