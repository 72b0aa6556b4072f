//! One named pipe name with its instances: connection states and the queue of listening
//! instances (§§6.6-6.15), two data directions per instance with the quota rule (§§2.1-2.7,
//! 2.11-2.13), byte and message types and read modes (§§3, 5), PIPE_NOWAIT (§§2.12, 2.13,
//! 6.10, 6.11), PeekNamedPipe (§4) and TransactNamedPipe (§5.8).
//!
//! The state is plain data: an instance is a state, the server end's modes, the client it
//! is connected to, and two [`Direction`]s; a direction is a queue of writes (for a
//! message-type pipe each write is a message, possibly empty) and a queue of reads waiting
//! for data. Every call returns what it returns at once (or that it waits) and the calls
//! it completed, each with its result: the model has no threads and no scheduler; a
//! caller names each call that may wait with a [`CallId`] of its choice (a thread id: a
//! thread has one call at a time).
//!
//! What is not here: handles (the caller maps its handles to [`End`]s; using an end after
//! closing it is a misuse and panics), access rights, WaitNamedPipe, FlushFileBuffers,
//! overlapped I/O and synchronous-handle serialisation (§1.A).
//!
//! Section numbers (§N.M) refer to docs/semantics.md, which gives each fact its source;
//! "pipe.c" is Wine's dlls/kernel32/tests/pipe.c, whose assertions that are not
//! `todo_wine` hold on Windows. \[inferred\] marks a rule no test checks directly.

use std::collections::VecDeque;

/// A call that may wait, named by the caller (unique among the calls still waiting).
pub type CallId = u32;
/// An instance: its index in creation order.
pub type InstanceId = usize;
/// A client end: its index in the order CreateFile opened them.
pub type ClientId = usize;

/// ERROR_FILE_NOT_FOUND.
pub const ERROR_FILE_NOT_FOUND: u32 = 2;
/// ERROR_INVALID_PARAMETER.
pub const ERROR_INVALID_PARAMETER: u32 = 87;
/// ERROR_BROKEN_PIPE.
pub const ERROR_BROKEN_PIPE: u32 = 109;
/// ERROR_BAD_PIPE.
pub const ERROR_BAD_PIPE: u32 = 230;
/// ERROR_PIPE_BUSY.
pub const ERROR_PIPE_BUSY: u32 = 231;
/// ERROR_NO_DATA.
pub const ERROR_NO_DATA: u32 = 232;
/// ERROR_PIPE_NOT_CONNECTED.
pub const ERROR_PIPE_NOT_CONNECTED: u32 = 233;
/// ERROR_MORE_DATA.
pub const ERROR_MORE_DATA: u32 = 234;
/// ERROR_PIPE_CONNECTED.
pub const ERROR_PIPE_CONNECTED: u32 = 535;
/// ERROR_PIPE_LISTENING.
pub const ERROR_PIPE_LISTENING: u32 = 536;

/// One end of an instance, as a handle names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// The server end of an instance (CreateNamedPipe's handle).
    Server(InstanceId),
    /// A client end (CreateFile's handle).
    Client(ClientId),
}

/// An instance's connection state, as its server sees it (§3.9's rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for a client: new (§6.6), or put back by ConnectNamedPipe after a
    /// disconnect.
    Listening,
    /// A client opened it.
    Connected,
    /// The client closed its end: the server reads what is left, then ERROR_BROKEN_PIPE.
    Closing,
    /// DisconnectNamedPipe cut the client off; no client can open it (§6.8) until
    /// ConnectNamedPipe makes it listen again.
    Disconnected,
}

/// The modes of one end (SetNamedPipeHandleState's lpMode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mode {
    /// PIPE_READMODE_MESSAGE (only on a message-type pipe, §5.7).
    pub message_read: bool,
    /// PIPE_NOWAIT.
    pub nowait: bool,
}

/// What a call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// TRUE, nothing else (ConnectNamedPipe, DisconnectNamedPipe,
    /// SetNamedPipeHandleState, CloseHandle).
    Done,
    /// TRUE with these bytes (ReadFile, TransactNamedPipe).
    Read(Vec<u8>),
    /// FALSE, ERROR_MORE_DATA, with the part of the message read: the rest stays (§5.2).
    MoreData(Vec<u8>),
    /// TRUE, this many bytes written (WriteFile).
    Written(u32),
    /// PeekNamedPipe: TRUE, the bytes copied, every unread byte (`avail`) and what is
    /// left of the first message after the copy (`left`, §§4.1-4.3).
    Peek {
        /// The bytes copied.
        data: Vec<u8>,
        /// Unread bytes.
        avail: u32,
        /// Bytes left in this message, as a DWORD.
        left: u32,
    },
    /// CreateFile: the new client end.
    Opened(ClientId),
    /// CreateNamedPipe: the new instance.
    Created(InstanceId),
    /// FALSE (or INVALID_HANDLE_VALUE) with this error.
    Failed(u32),
    /// The call waits; a later call completes it.
    Pending,
}

/// A call's result: what it returns (or [`Reply::Pending`]), and the waiting calls it
/// completed, with theirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// This call's result.
    pub reply: Reply,
    /// Waiting calls this call completed (in no particular order: they are different
    /// threads' calls).
    pub completed: Vec<(CallId, Reply)>,
}

impl Outcome {
    fn now(reply: Reply) -> Outcome {
        Outcome { reply, completed: Vec::new() }
    }
}

/// One write in a direction: its unread bytes, its length, whether it is an empty
/// message no read has taken yet, and the caller still waiting for it.
#[derive(Debug, Clone)]
struct Write {
    unread: VecDeque<u8>,
    len: u32,
    empty_message: bool,
    writer: Option<CallId>,
}

impl Write {
    /// A read still has something to take from it.
    fn readable(&self) -> bool {
        !self.unread.is_empty() || self.empty_message
    }
}

/// A read waiting for data.
#[derive(Debug, Clone)]
struct WaitingRead {
    call: CallId,
    len: u32,
    message_read: bool,
}

/// Data flowing one way: toward the server (quota nInBufferSize) or toward the client
/// (quota nOutBufferSize) (§2.1).
#[derive(Debug, Clone)]
pub struct Direction {
    quota: u64,
    message: bool,
    writes: VecDeque<Write>,
    reads: VecDeque<WaitingRead>,
}

impl Direction {
    fn new(quota: u32, message: bool) -> Direction {
        Direction { quota: u64::from(quota), message, writes: VecDeque::new(), reads: VecDeque::new() }
    }

    /// Unread bytes, those of writes still waiting included (§4.7).
    pub fn unread(&self) -> u64 {
        self.writes.iter().map(|w| w.unread.len() as u64).sum()
    }

    /// The quota.
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// A read would find something: a byte, or an empty message (§5.5).
    fn readable(&self) -> bool {
        self.writes.iter().any(Write::readable)
    }

    /// Drops writes that are read and whose writer does not wait.
    fn tidy(&mut self) {
        self.writes.retain(|w| w.readable() || w.writer.is_some());
    }

    /// Appends a write (a message on a message-type pipe: a zero-length one is an empty
    /// message, §5.5).
    fn push(&mut self, data: &[u8], writer: Option<CallId>) {
        self.writes.push_back(Write {
            unread: data.iter().copied().collect(),
            len: data.len() as u32,
            empty_message: data.is_empty() && self.message,
            writer,
        });
    }

    /// A read of `len` bytes from a direction a read finds something in.
    ///
    /// Message read mode on a message-type pipe: the first message only; a buffer too
    /// small for it returns its start with ERROR_MORE_DATA and the rest stays, to be read
    /// by anyone (§§5.1-5.3); an empty message is taken whole, TRUE with 0 bytes (§5.5); a
    /// zero-length read of a nonempty message is ERROR_MORE_DATA with 0 bytes (§3.3).
    ///
    /// Byte read mode (any pipe type): bytes across writes and messages up to the buffer
    /// (§§3.1, 5.4). With bytes queued, a zero-length read returns 0 at once and takes
    /// nothing (§3.2). With only empty messages queued it takes the first one (pipe.c
    /// test_blocking_rw "we still have an empty message in queue", byte read mode). A read
    /// that takes bytes consumes the empty messages it passes before its last byte, and
    /// stops when it has all it can take \[inferred\].
    fn take(&mut self, len: u32, message_read: bool) -> Reply {
        let reply = if message_read && self.message {
            let w = self.writes.iter_mut().find(|w| w.readable()).expect("model misuse: a read of an empty queue");
            let n = (len as usize).min(w.unread.len());
            let data: Vec<u8> = w.unread.drain(..n).collect();
            w.empty_message = false;
            if w.unread.is_empty() { Reply::Read(data) } else { Reply::MoreData(data) }
        } else {
            let bytes = self.unread();
            if bytes == 0 {
                let w =
                    self.writes.iter_mut().find(|w| w.empty_message).expect("model misuse: a read of an empty queue");
                w.empty_message = false;
                Reply::Read(Vec::new())
            } else if len == 0 {
                return Reply::Read(Vec::new());
            } else {
                let want = (u64::from(len)).min(bytes) as usize;
                let mut data = Vec::with_capacity(want);
                for w in self.writes.iter_mut() {
                    if data.len() == want {
                        break;
                    }
                    w.empty_message = false;
                    let n = (want - data.len()).min(w.unread.len());
                    data.extend(w.unread.drain(..n));
                }
                Reply::Read(data)
            }
        };
        self.tidy();
        reply
    }

    /// Waiting writes that the quota rule completes now: every write whose unread bytes,
    /// with all unread bytes queued before it, fit the quota (§2.4), reporting its full
    /// length (§2.3: never partly).
    fn settle(&mut self) -> Vec<(CallId, Reply)> {
        let mut done = Vec::new();
        let mut running = 0u64;
        for w in self.writes.iter_mut() {
            running += w.unread.len() as u64;
            if running > self.quota {
                break;
            }
            if let Some(call) = w.writer.take() {
                done.push((call, Reply::Written(w.len)));
            }
        }
        self.tidy();
        done
    }

    /// Waiting reads take what has arrived, oldest first (§3.1), then the quota rule runs.
    fn progress(&mut self) -> Vec<(CallId, Reply)> {
        let mut done = Vec::new();
        while self.readable() {
            let Some(r) = self.reads.pop_front() else { break };
            let reply = self.take(r.len, r.message_read);
            done.push((r.call, reply));
        }
        done.extend(self.settle());
        done
    }

    /// PeekNamedPipe: copies without taking; on a message-type pipe from the first message
    /// only, whatever the read mode, and `left` is what is left of it; on a byte-type pipe
    /// across writes, and `left` is 0 minus the bytes copied as a DWORD (§§4.1-4.4; pipe.c
    /// test_blocking_rw peeks a message pipe through a byte-read-mode end).
    fn peek(&self, len: u32) -> Reply {
        let avail = self.unread().min(u64::from(u32::MAX)) as u32;
        let (data, message_len): (Vec<u8>, u32) = if self.message {
            match self.writes.iter().find(|w| w.readable()) {
                Some(w) => (w.unread.iter().take(len as usize).copied().collect(), w.unread.len() as u32),
                None => (Vec::new(), 0),
            }
        } else {
            (self.writes.iter().flat_map(|w| w.unread.iter()).take(len as usize).copied().collect(), 0)
        };
        let left = message_len.wrapping_sub(data.len() as u32);
        Reply::Peek { data, avail, left }
    }

    /// Everything queued is thrown away: returns the writes that were waiting.
    fn discard(&mut self) -> Vec<CallId> {
        let waiting = self.writes.iter().filter_map(|w| w.writer).collect();
        self.writes.clear();
        waiting
    }

    /// Calls waiting on this direction: reads, then writes.
    fn waiting(&self) -> Vec<CallId> {
        self.reads.iter().map(|r| r.call).chain(self.writes.iter().filter_map(|w| w.writer)).collect()
    }
}

/// One instance of the pipe.
#[derive(Debug, Clone)]
pub struct Instance {
    /// PIPE_TYPE_MESSAGE.
    pub message_type: bool,
    /// Its state.
    pub state: State,
    /// The server end's handle is open.
    pub server_open: bool,
    /// The server end's modes.
    pub server_mode: Mode,
    /// The client end connected to it (none while listening or disconnected).
    pub client: Option<ClientId>,
    /// Data toward the server.
    pub to_server: Direction,
    /// Data toward the client.
    pub to_client: Direction,
    /// ConnectNamedPipe calls waiting for a client.
    connects: Vec<CallId>,
}

/// A client end.
#[derive(Debug, Clone)]
pub struct Client {
    /// The instance it opened.
    pub instance: InstanceId,
    /// Its modes: byte read mode and PIPE_WAIT at first, even on a message pipe (§5.4).
    pub mode: Mode,
    /// Its server called DisconnectNamedPipe: every call on it fails with
    /// ERROR_PIPE_NOT_CONNECTED (§§3.9, 6.12) and it is no end of the instance any more.
    pub disconnected: bool,
    /// Its handle is open.
    pub open: bool,
}

/// A pipe name and everything under it.
#[derive(Debug, Clone, Default)]
pub struct NamedPipeModel {
    /// nMaxInstances of the instance that created the name.
    pub max_instances: u32,
    /// The type of the instance that created the name: every instance's (§6.4a).
    pub message_type: bool,
    /// Every instance ever created, in order (closed ones keep their place).
    pub instances: Vec<Instance>,
    /// Listening instances, in the order they began to listen: a client gets the first
    /// (§6.15).
    pub listening: VecDeque<InstanceId>,
    /// Every client end ever opened, in order.
    pub clients: Vec<Client>,
}

impl NamedPipeModel {
    /// A name with no instance (CreateFile fails with ERROR_FILE_NOT_FOUND).
    pub fn new() -> NamedPipeModel {
        NamedPipeModel::default()
    }

    /// The name exists while a server end of one of its instances is open.
    fn exists(&self) -> bool {
        self.instances.iter().any(|i| i.server_open)
    }

    fn instance_of(&self, end: End) -> InstanceId {
        match end {
            End::Server(i) => {
                assert!(self.instances[i].server_open, "model misuse: a call on a closed server end");
                i
            }
            End::Client(c) => {
                assert!(self.clients[c].open, "model misuse: a call on a closed client end");
                self.clients[c].instance
            }
        }
    }

    /// An end's modes.
    pub fn mode(&self, end: End) -> Mode {
        match end {
            End::Server(i) => self.instances[i].server_mode,
            End::Client(c) => self.clients[c].mode,
        }
    }

    fn mode_mut(&mut self, end: End) -> &mut Mode {
        match end {
            End::Server(i) => &mut self.instances[i].server_mode,
            End::Client(c) => &mut self.clients[c].mode,
        }
    }

    /// The data an end reads.
    pub fn inbound(&self, end: End) -> &Direction {
        let inst = &self.instances[self.instance_of(end)];
        if matches!(end, End::Server(_)) { &inst.to_server } else { &inst.to_client }
    }

    fn inbound_mut(&mut self, end: End) -> &mut Direction {
        let i = self.instance_of(end);
        let inst = &mut self.instances[i];
        if matches!(end, End::Server(_)) { &mut inst.to_server } else { &mut inst.to_client }
    }

    /// The data an end writes.
    pub fn outbound(&self, end: End) -> &Direction {
        let inst = &self.instances[self.instance_of(end)];
        if matches!(end, End::Server(_)) { &inst.to_client } else { &inst.to_server }
    }

    fn outbound_mut(&mut self, end: End) -> &mut Direction {
        let i = self.instance_of(end);
        let inst = &mut self.instances[i];
        if matches!(end, End::Server(_)) { &mut inst.to_client } else { &mut inst.to_server }
    }

    /// The other end is gone: the client closed (the server's instance is closing), or
    /// the server end is closed.
    fn peer_closed(&self, end: End) -> bool {
        let i = self.instance_of(end);
        match end {
            End::Server(_) => self.instances[i].state == State::Closing,
            End::Client(_) => !self.instances[i].server_open,
        }
    }

    /// The error a read, write or transaction gets from the connection (§3.9): a
    /// disconnected client ERROR_PIPE_NOT_CONNECTED; a server without a client
    /// ERROR_PIPE_LISTENING while listening (at once, even synchronous), and
    /// ERROR_PIPE_NOT_CONNECTED after DisconnectNamedPipe (§§3.10, 6.12).
    fn connection_error(&self, end: End) -> Option<u32> {
        match end {
            End::Client(c) => self.clients[c].disconnected.then_some(ERROR_PIPE_NOT_CONNECTED),
            End::Server(i) => match self.instances[i].state {
                State::Listening => Some(ERROR_PIPE_LISTENING),
                State::Disconnected => Some(ERROR_PIPE_NOT_CONNECTED),
                State::Connected | State::Closing => None,
            },
        }
    }

    /// Calls waiting anywhere.
    pub fn waiting(&self) -> Vec<CallId> {
        let mut all = Vec::new();
        for inst in &self.instances {
            all.extend(inst.to_server.waiting());
            all.extend(inst.to_client.waiting());
            all.extend(inst.connects.iter().copied());
        }
        all
    }

    /// CreateNamedPipe of one more instance. Byte type with message read mode is
    /// ERROR_INVALID_PARAMETER (§6.1); beyond nMaxInstances (the first instance's)
    /// ERROR_PIPE_BUSY (§6.3). Every instance has the first instance's type (§6.4a). A new instance listens at once (§6.6). `out_quota` limits
    /// data toward the client, `in_quota` data toward the server (§2.1), as given: 0 too
    /// (§2.6).
    pub fn create_instance(
        &mut self,
        message_type: bool,
        mode: Mode,
        max_instances: u32,
        out_quota: u32,
        in_quota: u32,
    ) -> Reply {
        if mode.message_read && !message_type {
            return Reply::Failed(ERROR_INVALID_PARAMETER);
        }
        if !self.exists() {
            self.max_instances = max_instances;
            self.message_type = message_type;
        }
        let live = self.instances.iter().filter(|i| i.server_open).count();
        if live >= self.max_instances as usize {
            return Reply::Failed(ERROR_PIPE_BUSY);
        }
        // The name's type, not the one asked for (§6.4a).
        let message_type = self.message_type;
        let id = self.instances.len();
        self.instances.push(Instance {
            message_type,
            state: State::Listening,
            server_open: true,
            server_mode: mode,
            client: None,
            to_server: Direction::new(in_quota, message_type),
            to_client: Direction::new(out_quota, message_type),
            connects: Vec::new(),
        });
        self.listening.push_back(id);
        Reply::Created(id)
    }

    /// CreateFile by a client: the instance that began listening first (§6.15); none
    /// listening: ERROR_PIPE_BUSY, also while instances are connected, closing or
    /// disconnected (§6.8); no instance at all: ERROR_FILE_NOT_FOUND (§6.8). The client
    /// starts in byte read mode and PIPE_WAIT (§5.4). Waiting ConnectNamedPipe calls on
    /// that instance return TRUE (§6.9).
    pub fn open_client(&mut self) -> Outcome {
        if !self.exists() {
            return Outcome::now(Reply::Failed(ERROR_FILE_NOT_FOUND));
        }
        let Some(i) = self.listening.pop_front() else { return Outcome::now(Reply::Failed(ERROR_PIPE_BUSY)) };
        let c = self.clients.len();
        self.clients.push(Client { instance: i, mode: Mode::default(), disconnected: false, open: true });
        let inst = &mut self.instances[i];
        debug_assert!(inst.to_server.writes.is_empty() && inst.to_client.writes.is_empty());
        inst.state = State::Connected;
        inst.client = Some(c);
        let completed = inst.connects.drain(..).map(|call| (call, Reply::Done)).collect();
        Outcome { reply: Reply::Opened(c), completed }
    }

    /// ConnectNamedPipe on a server end. A client already connected: ERROR_PIPE_CONNECTED,
    /// a good connection (§6.6); one that connected and closed: ERROR_NO_DATA (§6.10).
    /// After DisconnectNamedPipe it listens again, at the back of the queue (§6.15).
    /// Listening: a PIPE_NOWAIT server gets ERROR_PIPE_LISTENING at once (§6.10), any
    /// other waits for a client (§6.9).
    pub fn connect(&mut self, i: InstanceId, call: CallId) -> Outcome {
        let end = End::Server(i);
        self.instance_of(end);
        match self.instances[i].state {
            State::Connected => return Outcome::now(Reply::Failed(ERROR_PIPE_CONNECTED)),
            State::Closing => return Outcome::now(Reply::Failed(ERROR_NO_DATA)),
            State::Disconnected => {
                self.instances[i].state = State::Listening;
                self.listening.push_back(i);
            }
            State::Listening => {}
        }
        if self.instances[i].server_mode.nowait {
            return Outcome::now(Reply::Failed(ERROR_PIPE_LISTENING));
        }
        self.instances[i].connects.push(call);
        Outcome::now(Reply::Pending)
    }

    /// DisconnectNamedPipe on a server end with a client (connected or closing): the
    /// unread data of both directions is discarded, every read and write waiting on
    /// either end fails with ERROR_PIPE_NOT_CONNECTED (§§6.12, 6.13), the client end is
    /// cut off (§6.12), and the instance neither has a client nor listens (§6.8). Already
    /// disconnected: ERROR_PIPE_NOT_CONNECTED (§6.12). Listening: ERROR_PIPE_LISTENING and
    /// nothing changes (\[inferred\] no client to disconnect; Wine's server does this, no
    /// Windows test checks it, and ReactOS's NPFS instead succeeds and leaves the instance
    /// disconnected).
    pub fn disconnect(&mut self, i: InstanceId) -> Outcome {
        self.instance_of(End::Server(i));
        let inst = &mut self.instances[i];
        match inst.state {
            State::Listening => return Outcome::now(Reply::Failed(ERROR_PIPE_LISTENING)),
            State::Disconnected => return Outcome::now(Reply::Failed(ERROR_PIPE_NOT_CONNECTED)),
            State::Connected | State::Closing => {}
        }
        let mut failed = Vec::new();
        for dir in [&mut inst.to_server, &mut inst.to_client] {
            failed.extend(dir.reads.drain(..).map(|r| r.call));
            failed.extend(dir.discard());
        }
        if let Some(c) = inst.client.take() {
            self.clients[c].disconnected = true;
        }
        inst.state = State::Disconnected;
        let completed = failed.into_iter().map(|call| (call, Reply::Failed(ERROR_PIPE_NOT_CONNECTED))).collect();
        Outcome { reply: Reply::Done, completed }
    }

    /// SetNamedPipeHandleState(lpMode) on an end: message read mode on a byte-type pipe is
    /// ERROR_INVALID_PARAMETER and changes nothing (§5.7). A disconnected client gets
    /// ERROR_PIPE_NOT_CONNECTED (\[inferred\] from §6.12, "every call on it fails", and
    /// §6.19; ReactOS's NPFS fails the set-information request on such a file object with
    /// STATUS_PIPE_DISCONNECTED).
    pub fn set_mode(&mut self, end: End, mode: Mode) -> Reply {
        let i = self.instance_of(end);
        if let End::Client(c) = end
            && self.clients[c].disconnected
        {
            return Reply::Failed(ERROR_PIPE_NOT_CONNECTED);
        }
        if mode.message_read && !self.instances[i].message_type {
            return Reply::Failed(ERROR_INVALID_PARAMETER);
        }
        *self.mode_mut(end) = mode;
        Reply::Done
    }

    /// ReadFile on an end: what is there (§§3.1, 5.1-5.5, see [`Direction`]'s reads), and
    /// waiting writes the read makes room for complete (§2.4). Nothing there: the peer
    /// gone, ERROR_BROKEN_PIPE (§3.4); PIPE_NOWAIT, ERROR_NO_DATA at once (§6.11);
    /// otherwise the read waits, a zero-length one too (§3.3).
    pub fn read(&mut self, end: End, call: CallId, len: u32) -> Outcome {
        if let Some(e) = self.connection_error(end) {
            return Outcome::now(Reply::Failed(e));
        }
        self.read_or_wait(end, call, len, self.mode(end).message_read)
    }

    fn read_or_wait(&mut self, end: End, call: CallId, len: u32, message_read: bool) -> Outcome {
        let peer_closed = self.peer_closed(end);
        let nowait = self.mode(end).nowait;
        let dir = self.inbound_mut(end);
        if dir.readable() {
            let reply = dir.take(len, message_read);
            return Outcome { reply, completed: dir.settle() };
        }
        if peer_closed {
            return Outcome::now(Reply::Failed(ERROR_BROKEN_PIPE));
        }
        if nowait {
            return Outcome::now(Reply::Failed(ERROR_NO_DATA));
        }
        dir.reads.push_back(WaitingRead { call, len, message_read });
        Outcome::now(Reply::Pending)
    }

    /// WriteFile on an end. The peer gone: ERROR_NO_DATA, zero-length writes too
    /// (§§2.11, 3.6). A zero-length write on a byte-type pipe changes nothing (§2.7); on a
    /// message-type pipe it queues an empty message, which completes one waiting read
    /// (§5.5). The write's bytes are readable at once (§2.3): waiting reads take them, and
    /// the write completes, with its full length, when the unread bytes up to and
    /// including it fit the quota (§§2.2-2.5), at once or later. A zero-length write never
    /// waits, even behind waiting writes (§2.7; pipe.c test_blocking_rw "empty write will
    /// not block" in message mode). PIPE_NOWAIT: see [`NamedPipeModel::nowait_write`].
    pub fn write(&mut self, end: End, call: CallId, data: &[u8]) -> Outcome {
        if let Some(e) = self.connection_error(end) {
            return Outcome::now(Reply::Failed(e));
        }
        if self.peer_closed(end) {
            return Outcome::now(Reply::Failed(ERROR_NO_DATA));
        }
        let message = self.instances[self.instance_of(end)].message_type;
        if data.is_empty() && !message {
            return Outcome::now(Reply::Written(0));
        }
        if self.mode(end).nowait && !data.is_empty() {
            return self.nowait_write(end, data);
        }
        let dir = self.outbound_mut(end);
        let writer = (!data.is_empty()).then_some(call);
        dir.push(data, writer);
        let mut completed = dir.progress();
        if data.is_empty() {
            return Outcome { reply: Reply::Written(0), completed };
        }
        let reply = match completed.iter().position(|(c, _)| *c == call) {
            Some(k) => completed.remove(k).1,
            None => Reply::Pending,
        };
        Outcome { reply, completed }
    }

    /// A PIPE_NOWAIT write of `data` (nonempty): it never waits (§2.12). If, after the
    /// waiting reads have taken their part, the rest fits the quota, it is all written.
    /// Otherwise, on a byte-type pipe the waiting reads keep what they took, the rest is
    /// dropped, and the write reports what they took (§2.13: written 1); on a
    /// message-type pipe nothing happens and it reports 0 (§2.13, [T, todo_wine]).
    pub fn nowait_write(&mut self, end: End, data: &[u8]) -> Outcome {
        let message = self.instances[self.instance_of(end)].message_type;
        let dir = self.outbound_mut(end);
        let mut trial = dir.clone();
        trial.push(data, None);
        let mut completed = Vec::new();
        while trial.readable() {
            let Some(r) = trial.reads.pop_front() else { break };
            let reply = trial.take(r.len, r.message_read);
            completed.push((r.call, reply));
        }
        if trial.unread() <= trial.quota {
            completed.extend(trial.settle());
            *dir = trial;
            return Outcome { reply: Reply::Written(data.len() as u32), completed };
        }
        if message {
            return Outcome::now(Reply::Written(0));
        }
        let last = trial.writes.back_mut().expect("the write just queued");
        let dropped = last.unread.len();
        last.unread.clear();
        trial.tidy();
        *dir = trial;
        Outcome { reply: Reply::Written((data.len() - dropped) as u32), completed }
    }

    /// PeekNamedPipe on an end (§§4.1-4.4, 4.7). A disconnected client:
    /// ERROR_PIPE_NOT_CONNECTED; a server without a client (listening, disconnected):
    /// ERROR_BAD_PIPE (§§3.9, 4.6); nothing to read and the peer gone: ERROR_BROKEN_PIPE
    /// (§4.5).
    pub fn peek(&self, end: End, len: u32) -> Reply {
        match end {
            End::Client(c) if self.clients[c].disconnected => return Reply::Failed(ERROR_PIPE_NOT_CONNECTED),
            End::Server(i) if matches!(self.instances[i].state, State::Listening | State::Disconnected) => {
                return Reply::Failed(ERROR_BAD_PIPE);
            }
            _ => {}
        }
        let dir = self.inbound(end);
        if !dir.readable() && self.peer_closed(end) {
            return Reply::Failed(ERROR_BROKEN_PIPE);
        }
        dir.peek(len)
    }

    /// TransactNamedPipe: one message out, one message back, read in message mode (§5.8).
    /// A disconnected client: ERROR_PIPE_NOT_CONNECTED, as every call on it (see
    /// [`NamedPipeModel::set_mode`]). A byte-type pipe, or an end in byte read mode:
    /// ERROR_BAD_PIPE; then the server's connection errors of a write (\[inferred\] order);
    /// unread data already queued for the caller:
    /// ERROR_PIPE_BUSY; the peer gone: ERROR_NO_DATA [inferred, as a write]. The message is
    /// queued and never waits for the quota (pipe.c test_transact "transact doesn't block
    /// on write"), a waiting read of the peer takes it, and the call waits for the reply
    /// (ERROR_NO_DATA at once for PIPE_NOWAIT [inferred, as a read]).
    pub fn transact(&mut self, end: End, call: CallId, data: &[u8], len: u32) -> Outcome {
        let i = self.instance_of(end);
        if let End::Client(c) = end
            && self.clients[c].disconnected
        {
            return Outcome::now(Reply::Failed(ERROR_PIPE_NOT_CONNECTED));
        }
        if !self.instances[i].message_type || !self.mode(end).message_read {
            return Outcome::now(Reply::Failed(ERROR_BAD_PIPE));
        }
        if let Some(e) = self.connection_error(end) {
            return Outcome::now(Reply::Failed(e));
        }
        if self.inbound(end).readable() {
            return Outcome::now(Reply::Failed(ERROR_PIPE_BUSY));
        }
        if self.peer_closed(end) {
            return Outcome::now(Reply::Failed(ERROR_NO_DATA));
        }
        let dir = self.outbound_mut(end);
        dir.push(data, None);
        let mut completed = dir.progress();
        let mut read = self.read_or_wait(end, call, len, true);
        completed.append(&mut read.completed);
        Outcome { reply: read.reply, completed }
    }

    /// CloseHandle of an end's (last) handle. A client cut off by DisconnectNamedPipe is no
    /// end of the instance any more: nothing happens. Otherwise the end closes: data toward
    /// it is discarded and writes waiting on it fail with ERROR_BROKEN_PIPE (§2.11); its own
    /// waiting calls fail with ERROR_BROKEN_PIPE and its waiting writes' unread bytes are
    /// dropped (\[inferred\], as when the writer is terminated, §2.10); the peer's waiting
    /// reads fail with ERROR_BROKEN_PIPE once nothing is left to read (§3.5), and later
    /// ones after draining (§3.4). A client closing makes a connected instance closing;
    /// a server closing takes its instance off the name and the listening queue, its
    /// waiting ConnectNamedPipe fails with ERROR_BROKEN_PIPE \[inferred\], and the name goes
    /// with its last instance (§6.8: ERROR_FILE_NOT_FOUND).
    pub fn close(&mut self, end: End) -> Outcome {
        let i = self.instance_of(end);
        let mut failed = Vec::new();
        match end {
            End::Client(c) => {
                self.clients[c].open = false;
                if self.clients[c].disconnected {
                    return Outcome::now(Reply::Done);
                }
                if self.instances[i].state == State::Connected {
                    self.instances[i].state = State::Closing;
                }
            }
            End::Server(_) => {
                let inst = &mut self.instances[i];
                inst.server_open = false;
                failed.append(&mut inst.connects);
                self.listening.retain(|&l| l != i);
            }
        }
        let inst = &mut self.instances[i];
        if end == End::Server(i) && matches!(inst.state, State::Listening | State::Disconnected) {
            // No client end: the directions are empty.
        } else {
            let (toward, from) = match end {
                End::Server(_) => (&mut inst.to_server, &mut inst.to_client),
                End::Client(_) => (&mut inst.to_client, &mut inst.to_server),
            };
            failed.extend(toward.reads.drain(..).map(|r| r.call));
            failed.extend(toward.discard());
            for w in from.writes.iter_mut() {
                if let Some(call) = w.writer.take() {
                    failed.push(call);
                    w.unread.clear();
                    w.empty_message = false;
                }
            }
            from.tidy();
            if !from.readable() {
                failed.extend(from.reads.drain(..).map(|r| r.call));
            }
        }
        let completed = failed.into_iter().map(|call| (call, Reply::Failed(ERROR_BROKEN_PIPE))).collect();
        Outcome { reply: Reply::Done, completed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTE: Mode = Mode { message_read: false, nowait: false };
    const MSG: Mode = Mode { message_read: true, nowait: false };

    fn pipe(message_type: bool, server: Mode, out_quota: u32, in_quota: u32) -> (NamedPipeModel, End, End) {
        let mut m = NamedPipeModel::new();
        assert_eq!(m.create_instance(message_type, server, 1, out_quota, in_quota), Reply::Created(0));
        let Reply::Opened(c) = m.open_client().reply else { panic!("CreateFile failed") };
        (m, End::Server(0), End::Client(c))
    }

    fn written(n: u32) -> Outcome {
        Outcome::now(Reply::Written(n))
    }

    /// pipe.c test_blocking_rw, message type, message read mode, quota 5000 (server to
    /// client): the completion rule (§2.4), ERROR_MORE_DATA (§5.2), the empty message
    /// that does not wait behind waiting writes (§2.7) and is read later (§5.5).
    #[test]
    fn blocking_rw_in_message_mode() {
        let (mut m, s, c) = pipe(true, MSG, 5000, 6000);
        assert_eq!(m.set_mode(c, MSG), Reply::Done);
        assert_eq!(m.read(c, 1, 1000).reply, Reply::Pending);
        let o = m.write(s, 2, &[0xaa; 4000]);
        assert_eq!(o.reply, Reply::Written(4000));
        assert_eq!(o.completed, vec![(1, Reply::MoreData(vec![0xaa; 1000]))]);
        assert_eq!(m.peek(c, 10000), Reply::Peek { data: vec![0xaa; 3000], avail: 3000, left: 0 });
        assert_eq!(m.write(s, 3, &[0xaa; 5000]), Outcome::now(Reply::Pending));
        assert_eq!(m.write(s, 4, &[0xaa; 1]), Outcome::now(Reply::Pending));
        // The empty write does not wait.
        assert_eq!(m.write(s, 5, &[]), written(0));
        let o = m.read(c, 6, 3000);
        assert_eq!((o.reply, o.completed), (Reply::Read(vec![0xaa; 3000]), vec![(3, Reply::Written(5000))]));
        let o = m.read(c, 6, 1);
        assert_eq!((o.reply, o.completed), (Reply::MoreData(vec![0xaa]), vec![(4, Reply::Written(1))]));
        assert_eq!(m.read(c, 6, 5000).reply, Reply::Read(vec![0xaa; 4999]));
        assert_eq!(m.read(c, 6, 1000).reply, Reply::Read(vec![0xaa]));
        // "we still have an empty message in queue"
        assert_eq!(m.peek(c, 10), Reply::Peek { data: vec![], avail: 0, left: 0 });
        assert_eq!(m.read(c, 6, 1000).reply, Reply::Read(vec![]));
        assert_eq!(m.read(c, 6, 1000).reply, Reply::Pending);
    }

    /// pipe.c test_blocking_rw, message type read in byte mode: peeks see one message,
    /// reads cross messages, the last empty message stays until a read of nothing else.
    #[test]
    fn message_pipe_read_in_byte_mode() {
        let (mut m, s, c) = pipe(true, BYTE, 100, 100);
        assert_eq!(m.write(s, 1, b"0123456789abcdefghij"), written(20));
        assert_eq!(m.write(s, 1, b"klmnopqrstuvwxy"), written(15));
        assert_eq!(m.peek(c, 100), Reply::Peek { data: b"0123456789abcdefghij".to_vec(), avail: 35, left: 0 });
        assert_eq!(m.read(c, 2, 10).reply, Reply::Read(b"0123456789".to_vec()));
        assert_eq!(m.peek(c, 100), Reply::Peek { data: b"abcdefghij".to_vec(), avail: 25, left: 0 });
        assert_eq!(m.peek(c, 4), Reply::Peek { data: b"abcd".to_vec(), avail: 25, left: 6 });
        assert_eq!(m.write(s, 1, b""), written(0));
        assert_eq!(m.read(c, 2, 25).reply, Reply::Read(b"abcdefghijklmnopqrstuvwxy".to_vec()));
        assert_eq!(m.read(c, 2, 25).reply, Reply::Read(vec![]));
        assert_eq!(m.read(c, 2, 25).reply, Reply::Pending);
    }

    /// §§3.3, 5.5: a zero-length read waits on an empty pipe; an empty message completes
    /// exactly one waiting read.
    #[test]
    fn empty_message_wakes_one_read() {
        let (mut m, s, c) = pipe(true, BYTE, 100, 100);
        assert_eq!(m.read(c, 1, 0).reply, Reply::Pending);
        assert_eq!(m.read(c, 2, 1).reply, Reply::Pending);
        let o = m.write(s, 3, b"");
        assert_eq!(o, Outcome { reply: Reply::Written(0), completed: vec![(1, Reply::Read(vec![]))] });
        let o = m.write(s, 3, b"x");
        assert_eq!(o.completed, vec![(2, Reply::Read(b"x".to_vec()))]);
    }

    /// pipe.c test_transact: the message does not wait for the quota; a waiting read of
    /// the peer takes it; the reply can be bigger than the buffer; data already queued
    /// for the caller is ERROR_PIPE_BUSY.
    #[test]
    fn transact() {
        let (mut m, s, c) = pipe(true, MSG, 5, 6);
        assert_eq!(m.set_mode(c, MSG), Reply::Done);
        assert_eq!(m.read(s, 1, 10).reply, Reply::Pending);
        let o = m.transact(c, 2, b"hello world", 6);
        assert_eq!(o.reply, Reply::Pending);
        assert_eq!(o.completed, vec![(1, Reply::MoreData(b"hello worl".to_vec()))]);
        // 6 of the 12 bytes go to the transaction, 6 stay: more than the quota of 5.
        let o = m.write(s, 1, b"0123456789AB");
        assert_eq!(o.reply, Reply::Pending);
        assert_eq!(o.completed, vec![(2, Reply::MoreData(b"012345".to_vec()))]);
        assert_eq!(m.transact(c, 2, b"x", 1).reply, Reply::Failed(ERROR_PIPE_BUSY));
        let o = m.read(c, 2, 100);
        assert_eq!(o.reply, Reply::Read(b"6789AB".to_vec()));
        assert_eq!(o.completed, vec![(1, Reply::Written(12))]);
        let (mut b, _, bc) = pipe(false, BYTE, 5, 5);
        assert_eq!(b.transact(bc, 1, b"x", 1).reply, Reply::Failed(ERROR_BAD_PIPE));
        assert_eq!(b.set_mode(bc, MSG), Reply::Failed(ERROR_INVALID_PARAMETER));
    }

    /// pipe.c test_multiple_instances (§6.15) and test_CreateNamedPipe (§6.8).
    #[test]
    fn instances_listen_in_order() {
        let mut m = NamedPipeModel::new();
        assert_eq!(m.open_client().reply, Reply::Failed(ERROR_FILE_NOT_FOUND));
        for i in 0..3 {
            assert_eq!(m.create_instance(false, BYTE, 3, 10, 10), Reply::Created(i));
        }
        assert_eq!(m.create_instance(false, BYTE, 3, 10, 10), Reply::Failed(ERROR_PIPE_BUSY));
        assert_eq!(m.connect(2, 7), Outcome::now(Reply::Pending));
        assert_eq!(m.open_client().reply, Reply::Opened(0));
        assert_eq!(m.connect(0, 8).reply, Reply::Failed(ERROR_PIPE_CONNECTED));
        assert_eq!(m.close(End::Client(0)).reply, Reply::Done);
        assert_eq!(m.connect(0, 8).reply, Reply::Failed(ERROR_NO_DATA));
        assert_eq!(m.disconnect(0).reply, Reply::Done);
        assert_eq!(m.disconnect(0).reply, Reply::Failed(ERROR_PIPE_NOT_CONNECTED));
        assert_eq!(m.open_client().reply, Reply::Opened(1));
        let o = m.open_client();
        assert_eq!(o, Outcome { reply: Reply::Opened(2), completed: vec![(7, Reply::Done)] });
        assert_eq!(m.open_client().reply, Reply::Failed(ERROR_PIPE_BUSY));
        assert_eq!(m.connect(0, 8).reply, Reply::Pending);
        assert_eq!(m.open_client().completed, vec![(8, Reply::Done)]);
        for i in 0..3 {
            m.close(End::Server(i));
        }
        assert_eq!(m.open_client().reply, Reply::Failed(ERROR_FILE_NOT_FOUND));
    }

    /// §§3.9, 6.12, 6.13: the errors by state, and what a disconnect does.
    #[test]
    fn states_and_disconnect() {
        let mut m = NamedPipeModel::new();
        m.create_instance(false, BYTE, 1, 2, 2);
        let s = End::Server(0);
        assert_eq!(m.read(s, 1, 1).reply, Reply::Failed(ERROR_PIPE_LISTENING));
        assert_eq!(m.write(s, 1, b"x").reply, Reply::Failed(ERROR_PIPE_LISTENING));
        assert_eq!(m.peek(s, 1), Reply::Failed(ERROR_BAD_PIPE));
        let Reply::Opened(c) = m.open_client().reply else { panic!() };
        let c = End::Client(c);
        assert_eq!(m.write(s, 1, b"abc").reply, Reply::Pending);
        assert_eq!(m.write(c, 2, b"x").reply, Reply::Written(1));
        let o = m.disconnect(0);
        assert_eq!(o.completed, vec![(1, Reply::Failed(ERROR_PIPE_NOT_CONNECTED))]);
        for r in [m.read(c, 2, 5).reply, m.write(c, 2, b"y").reply, m.peek(c, 5)] {
            assert_eq!(r, Reply::Failed(ERROR_PIPE_NOT_CONNECTED));
        }
        assert_eq!(m.read(s, 1, 1).reply, Reply::Failed(ERROR_PIPE_NOT_CONNECTED));
        assert_eq!(m.peek(s, 1), Reply::Failed(ERROR_BAD_PIPE));
        assert_eq!(m.open_client().reply, Reply::Failed(ERROR_PIPE_BUSY));
        assert_eq!(m.close(c).completed, vec![]);
    }

    /// §§1.5, 2.11, 3.4-3.6, 4.5 with named ends.
    #[test]
    fn closing_either_end() {
        let (mut m, s, c) = pipe(false, BYTE, 4, 4);
        assert_eq!(m.write(c, 1, b"ab").reply, Reply::Written(2));
        assert_eq!(m.write(s, 2, b"0123456").reply, Reply::Pending);
        let o = m.close(c);
        assert_eq!(o.completed, vec![(2, Reply::Failed(ERROR_BROKEN_PIPE))]);
        assert_eq!(m.write(s, 2, b"").reply, Reply::Failed(ERROR_NO_DATA));
        assert_eq!(m.peek(s, 8), Reply::Peek { data: b"ab".to_vec(), avail: 2, left: 0xFFFF_FFFE });
        assert_eq!(m.read(s, 2, 8).reply, Reply::Read(b"ab".to_vec()));
        assert_eq!(m.read(s, 2, 0).reply, Reply::Failed(ERROR_BROKEN_PIPE));
        assert_eq!(m.peek(s, 8), Reply::Failed(ERROR_BROKEN_PIPE));
        assert_eq!(m.connect(0, 3).reply, Reply::Failed(ERROR_NO_DATA));

        let (mut m, s, c) = pipe(false, BYTE, 4, 4);
        assert_eq!(m.read(c, 1, 4).reply, Reply::Pending);
        assert_eq!(m.close(s).completed, vec![(1, Reply::Failed(ERROR_BROKEN_PIPE))]);
        assert_eq!(m.read(c, 1, 4).reply, Reply::Failed(ERROR_BROKEN_PIPE));
        assert_eq!(m.write(c, 1, b"x").reply, Reply::Failed(ERROR_NO_DATA));
        assert_eq!(m.open_client().reply, Reply::Failed(ERROR_FILE_NOT_FOUND));
    }

    /// pipe.c test_nowait (§§2.12, 2.13, 6.10, 6.11), quota 512.
    #[test]
    fn nowait() {
        let nowait = Mode { message_read: false, nowait: true };
        for message in [false, true] {
            let (mut m, s, c) = pipe(message, nowait, 512, 512);
            assert_eq!(m.read(s, 1, 100).reply, Reply::Failed(ERROR_NO_DATA));
            assert_eq!(m.write(s, 1, &[1; 513]), written(0));
            assert_eq!(m.read(c, 2, 32768).reply, Reply::Pending);
            assert_eq!(m.write(s, 1, &[1; 513]).completed, vec![(2, Reply::Read(vec![1; 513]))]);
            assert_eq!(m.read(c, 2, 1).reply, Reply::Pending);
            let o = m.write(s, 1, &[1; 513]);
            assert_eq!((o.reply, o.completed), (Reply::Written(513), vec![(2, Reply::Read(vec![1]))]));
            assert_eq!(m.read(c, 2, 32768).reply, Reply::Read(vec![1; 512]));
            assert_eq!(m.read(c, 2, 1).reply, Reply::Pending);
            let o = m.write(s, 1, &[1; 514]);
            if message {
                assert_eq!(o, written(0));
                assert_eq!(m.waiting(), vec![2]);
            } else {
                assert_eq!((o.reply, o.completed), (Reply::Written(1), vec![(2, Reply::Read(vec![1]))]));
                assert_eq!(m.inbound(c).unread(), 0);
            }
        }
        let mut m = NamedPipeModel::new();
        m.create_instance(false, nowait, 1, 512, 512);
        assert_eq!(m.connect(0, 1).reply, Reply::Failed(ERROR_PIPE_LISTENING));
        m.open_client();
        m.close(End::Client(0));
        assert_eq!(m.connect(0, 1).reply, Reply::Failed(ERROR_NO_DATA));
        assert_eq!(m.disconnect(0).reply, Reply::Done);
        assert_eq!(m.connect(0, 1).reply, Reply::Failed(ERROR_PIPE_LISTENING));
    }
}
