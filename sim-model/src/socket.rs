//! One TCP connection over loopback (docs/semantics.md §22): two ends, each with the bytes
//! its peer sent and it has not read, the two buffer quotas, shutdown and close rules.
//!
//! The plainest statement of the stream rules: a send's bytes are readable at once and the
//! send completes when the unread bytes up to and including its own fit the receiver's
//! SO_RCVBUF plus the sender's SO_SNDBUF (or at once into an empty buffer); a recv takes
//! all it can (the kernel's schedule-decided splits are switched off for the comparison);
//! a FIN makes recv return 0 after the data; a close with unread bytes, or with SO_LINGER
//! {1, 0}, resets the peer (WSAECONNRESET, its unread bytes discarded); sending to a peer
//! that closed aborts the connection (WSAECONNABORTED).
//! Overlapped WSARecv/WSASend (§§22.40-22.41) follow the same rules, pending where the
//! blocking calls block; a close of their own socket completes them with WSAECONNABORTED.

use std::collections::VecDeque;

/// WSAEINTR: a blocked call whose socket was closed.
pub const WSAEINTR: u32 = 10004;
/// WSAENOTSOCK.
pub const WSAENOTSOCK: u32 = 10038;
/// WSAECONNABORTED.
pub const WSAECONNABORTED: u32 = 10053;
/// WSAECONNRESET.
pub const WSAECONNRESET: u32 = 10054;
/// WSAESHUTDOWN.
pub const WSAESHUTDOWN: u32 = 10058;
/// SD_RECEIVE.
pub const SD_RECEIVE: i32 = 0;
/// SD_SEND.
pub const SD_SEND: i32 = 1;
/// SD_BOTH.
pub const SD_BOTH: i32 = 2;

/// A thread id (the caller's numbering).
pub type Tid = u32;

/// What a call returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// send: the bytes sent.
    Sent(u32),
    /// recv: the bytes received (empty: end of stream, or a zero-length buffer).
    Received(Vec<u8>),
    /// shutdown, closesocket, setsockopt: 0.
    Done,
    /// The caller waits.
    Pending,
    /// SOCKET_ERROR with this error.
    Failed(u32),
}

/// A call's reply and the waiting calls it completed, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The caller's reply.
    pub reply: Reply,
    /// Waiting calls this call completed: (thread, reply).
    pub completed: Vec<(Tid, Reply)>,
}

impl From<Reply> for Outcome {
    fn from(reply: Reply) -> Outcome {
        Outcome { reply, completed: Vec::new() }
    }
}

#[derive(Debug, Clone)]
struct Segment {
    data: Vec<u8>,
    off: usize,
    /// The blocked send these bytes belong to.
    writer: Option<Tid>,
    /// That send is an overlapped WSASend (§22.41).
    overlapped: bool,
}

#[derive(Debug, Clone, Default)]
struct End {
    rcvbuf: u32,
    sndbuf: u32,
    linger_zero: bool,
    inbound: VecDeque<Segment>,
    eof: bool,
    error: Option<u32>,
    shut_send: bool,
    shut_recv: bool,
    closed: bool,
    /// The peer closed its last handle.
    peer_gone: bool,
    /// Blocked recvs: (thread, buffer size, an overlapped WSARecv).
    reads: VecDeque<(Tid, u32, bool)>,
}

impl End {
    fn unread(&self) -> u64 {
        self.inbound.iter().map(|s| (s.data.len() - s.off) as u64).sum()
    }
}

/// A connection: end 0 (the client) and end 1 (the accepted socket).
#[derive(Debug, Clone)]
pub struct StreamModel {
    ends: [End; 2],
}

impl StreamModel {
    /// A fresh connection with these buffer sizes: `rcvbuf[i]`, `sndbuf[i]` of end `i`.
    pub fn new(rcvbuf: [u32; 2], sndbuf: [u32; 2]) -> StreamModel {
        let end = |i: usize| End { rcvbuf: rcvbuf[i], sndbuf: sndbuf[i], ..End::default() };
        StreamModel { ends: [end(0), end(1)] }
    }

    /// setsockopt(SO_LINGER, {1, 0}) on end `e`.
    pub fn linger_zero(&mut self, e: usize) -> Outcome {
        if self.ends[e].closed {
            return Reply::Failed(WSAENOTSOCK).into();
        }
        self.ends[e].linger_zero = true;
        Reply::Done.into()
    }

    /// send of `data` by `tid` on end `e` (§§22.5, 22.16, 22.19).
    pub fn send(&mut self, tid: Tid, e: usize, data: &[u8]) -> Outcome {
        self.send_as(tid, e, data, false)
    }

    /// An overlapped WSASend of `data` on end `e`, its completion reported to `tid`
    /// (§22.41): as send, except that it pends (WSA_IO_PENDING) where send blocks, and a
    /// closesocket of its own socket completes it with WSAECONNABORTED (§22.40).
    pub fn send_overlapped(&mut self, tid: Tid, e: usize, data: &[u8]) -> Outcome {
        self.send_as(tid, e, data, true)
    }

    fn send_as(&mut self, tid: Tid, e: usize, data: &[u8], overlapped: bool) -> Outcome {
        let p = 1 - e;
        let me = &self.ends[e];
        if me.closed {
            return Reply::Failed(WSAENOTSOCK).into();
        }
        if me.shut_send {
            return Reply::Failed(WSAESHUTDOWN).into();
        }
        if let Some(err) = me.error {
            return Reply::Failed(err).into();
        }
        let n = data.len() as u32;
        if me.peer_gone {
            // The bytes go; the answer is a reset that aborts the connection.
            let completed = self.reset(e, WSAECONNABORTED);
            return Outcome { reply: Reply::Sent(n), completed };
        }
        if n == 0 {
            return Reply::Sent(0).into();
        }
        let quota = u64::from(self.ends[p].rcvbuf) + u64::from(self.ends[e].sndbuf);
        let overcommit = self.ends[p].unread() == 0;
        self.ends[p].inbound.push_back(Segment { data: data.to_vec(), off: 0, writer: None, overlapped });
        let mut completed = self.reads_progress(p);
        let left = self.ends[p].unread();
        if overcommit || left <= quota {
            return Outcome { reply: Reply::Sent(n), completed };
        }
        self.ends[p].inbound.back_mut().expect("bytes left").writer = Some(tid);
        completed.extend(self.sends_progress(p));
        Outcome { reply: Reply::Pending, completed }
    }

    /// recv of up to `len` bytes by `tid` on end `e` (§§22.14, 22.17, 22.20, 22.22).
    pub fn recv(&mut self, tid: Tid, e: usize, len: u32) -> Outcome {
        self.recv_as(tid, e, len, false)
    }

    /// An overlapped WSARecv of up to `len` bytes on end `e`, its completion reported to
    /// `tid` (§22.41): as recv, except that it pends (WSA_IO_PENDING) where recv blocks,
    /// and a closesocket of its own socket completes it with WSAECONNABORTED (§22.40).
    pub fn recv_overlapped(&mut self, tid: Tid, e: usize, len: u32) -> Outcome {
        self.recv_as(tid, e, len, true)
    }

    fn recv_as(&mut self, tid: Tid, e: usize, len: u32, overlapped: bool) -> Outcome {
        let me = &self.ends[e];
        if me.closed {
            return Reply::Failed(WSAENOTSOCK).into();
        }
        if me.shut_recv {
            return Reply::Failed(WSAESHUTDOWN).into();
        }
        match self.recv_now(e, len) {
            Some((reply, completed)) => Outcome { reply, completed },
            None => {
                self.ends[e].reads.push_back((tid, len, overlapped));
                Reply::Pending.into()
            }
        }
    }

    fn recv_now(&mut self, e: usize, len: u32) -> Option<(Reply, Vec<(Tid, Reply)>)> {
        let me = &mut self.ends[e];
        if let Some(err) = me.error {
            return Some((Reply::Failed(err), Vec::new()));
        }
        let unread = me.unread();
        if unread == 0 {
            return me.eof.then(|| (Reply::Received(Vec::new()), Vec::new()));
        }
        if len == 0 {
            return Some((Reply::Received(Vec::new()), Vec::new()));
        }
        let mut need = unread.min(u64::from(len)) as usize;
        let mut out = Vec::new();
        let mut i = 0;
        while need > 0 {
            let seg = &mut me.inbound[i];
            let k = (seg.data.len() - seg.off).min(need);
            out.extend_from_slice(&seg.data[seg.off..seg.off + k]);
            seg.off += k;
            need -= k;
            i += 1;
        }
        Some(self.finish_take(e, out))
    }

    /// After a recv took `out`: the send whose last bytes it took completes, then every
    /// blocked send that now fits.
    fn finish_take(&mut self, e: usize, out: Vec<u8>) -> (Reply, Vec<(Tid, Reply)>) {
        let mut completed: Vec<(Tid, Reply)> = Vec::new();
        let me = &mut self.ends[e];
        while me.inbound.front().is_some_and(|s| s.off == s.data.len()) {
            let seg = me.inbound.pop_front().expect("checked");
            if let Some(w) = seg.writer {
                completed.push((w, Reply::Sent(seg.data.len() as u32)));
            }
        }
        completed.extend(self.sends_progress(e));
        (Reply::Received(out), completed)
    }

    /// Blocked sends into `e`'s inbound whose bytes now fit complete.
    fn sends_progress(&mut self, e: usize) -> Vec<(Tid, Reply)> {
        if self.ends[e].peer_gone {
            return Vec::new();
        }
        let quota = u64::from(self.ends[e].rcvbuf) + u64::from(self.ends[1 - e].sndbuf);
        let mut upto = 0u64;
        let mut out = Vec::new();
        for seg in self.ends[e].inbound.iter_mut() {
            upto += (seg.data.len() - seg.off) as u64;
            if upto > quota {
                break;
            }
            if let Some(w) = seg.writer.take() {
                out.push((w, Reply::Sent(seg.data.len() as u32)));
            }
        }
        out
    }

    /// Blocked recvs on `e` take what arrived, oldest first.
    fn reads_progress(&mut self, e: usize) -> Vec<(Tid, Reply)> {
        let mut out = Vec::new();
        while let Some(&(tid, len, _)) = self.ends[e].reads.front() {
            let Some((reply, more)) = self.recv_now(e, len) else { break };
            self.ends[e].reads.pop_front();
            out.push((tid, reply));
            out.extend(more);
        }
        out
    }

    /// `e` is reset with `err`: its unread bytes go, its blocked recvs and the blocked
    /// sends whose bytes it held fail.
    fn reset(&mut self, e: usize, err: u32) -> Vec<(Tid, Reply)> {
        let me = &mut self.ends[e];
        me.error = Some(err);
        me.peer_gone = true;
        let mut out = Vec::new();
        for seg in me.inbound.drain(..) {
            if let Some(w) = seg.writer {
                out.push((w, Reply::Failed(err)));
            }
        }
        for (tid, ..) in me.reads.drain(..) {
            out.push((tid, Reply::Failed(err)));
        }
        out
    }

    /// shutdown(`how`) on end `e` (§§22.16-22.18).
    pub fn shutdown(&mut self, e: usize, how: i32) -> Outcome {
        if self.ends[e].closed {
            return Reply::Failed(WSAENOTSOCK).into();
        }
        if !(SD_RECEIVE..=SD_BOTH).contains(&how) {
            return Reply::Failed(10022).into();
        }
        if how != SD_SEND {
            self.ends[e].shut_recv = true;
        }
        let mut completed = Vec::new();
        if how != SD_RECEIVE && !self.ends[e].shut_send {
            self.ends[e].shut_send = true;
            if !self.ends[e].peer_gone {
                self.ends[1 - e].eof = true;
                completed = self.reads_progress(1 - e);
            }
        }
        Outcome { reply: Reply::Done, completed }
    }

    /// closesocket of end `e`'s only handle (§§22.15, 22.20): blocked calls on it end
    /// with WSAEINTR; the peer is reset (unread bytes here, or SO_LINGER {1, 0}) or sees
    /// end of stream after its data.
    pub fn close(&mut self, e: usize) -> Outcome {
        if self.ends[e].closed {
            return Reply::Failed(WSAENOTSOCK).into();
        }
        let p = 1 - e;
        let abortive = self.ends[e].unread() > 0 || self.ends[e].linger_zero;
        let mut completed: Vec<(Tid, Reply)> = Vec::new();
        // Its blocked recvs: WSAEINTR, an overlapped one WSAECONNABORTED (§22.40).
        for (tid, _, overlapped) in self.ends[e].reads.drain(..) {
            completed.push((tid, Reply::Failed(if overlapped { WSAECONNABORTED } else { WSAEINTR })));
        }
        let peer_there = !self.ends[e].peer_gone;
        if peer_there {
            // Its blocked sends, queued in the peer's inbound.
            for seg in self.ends[p].inbound.iter_mut() {
                if let Some(w) = seg.writer.take() {
                    completed.push((w, Reply::Failed(if seg.overlapped { WSAECONNABORTED } else { WSAEINTR })));
                }
            }
            if abortive {
                completed.extend(self.reset(p, WSAECONNRESET));
            } else {
                self.ends[p].peer_gone = true;
                self.ends[p].eof = true;
                completed.extend(self.reads_progress(p));
            }
        }
        // The peer's blocked sends whose bytes it held.
        let me = &mut self.ends[e];
        me.closed = true;
        for seg in me.inbound.drain(..) {
            if let Some(w) = seg.writer {
                completed.push((w, Reply::Failed(WSAECONNRESET)));
            }
        }
        Outcome { reply: Reply::Done, completed }
    }

    /// The threads waiting, in no particular order.
    pub fn waiting(&self) -> Vec<Tid> {
        let mut out: Vec<Tid> = Vec::new();
        for end in &self.ends {
            out.extend(end.reads.iter().map(|&(t, ..)| t));
            out.extend(end.inbound.iter().filter_map(|s| s.writer));
        }
        out.sort_unstable();
        out
    }
}
