//! Generated Winsock cases: seeded random sequences of socket calls on loopback, run by
//! both backends and compared like the written cases (`random.rs` for the other
//! families, whose generator and rules these follow).
//!
//! TCP sockets are made, bound (to 127.0.0.1 port 0, twice, to a port in use, with a short
//! name), listened on, connected to a listener, accepted, written, read, shut down and
//! closed, in every order the generator can reach; UDP sockets are bound, sent datagrams
//! (to themselves and to each other) and read with buffers that may truncate them. Every
//! call is also made in the states where it fails: a connect on a listener or on a
//! connected socket, an accept on a socket that does not listen, a send or recv on an
//! unconnected socket or after shutdown, a closed socket, an event handle.
//!
//! Every call returns at once on real Windows: a blocking recv is made only when data, or
//! the end of the stream, is there; a blocking accept only when a connection waits; a
//! connect only to a listener with no connection waiting (any backlog takes one). What
//! would depend on timing is never done: nothing is sent to a socket whose peer closed
//! or shut down receiving (Windows then resets the connection), a socket with unread data
//! is closed only as the last use of its connection (it resets its peer), no connect is
//! made to a port nobody listens on (Windows retries for seconds), no datagram to a
//! closed socket (Windows reports the ICMP error to the sender). The model follows the
//! calls' real results where they change a socket's state, so a backend that disagrees
//! is seen at the first line that differs and never made to wait.
//!
//! Lines name sockets by slot: `t2` a TCP socket, `u3` a UDP one, `e0` the case's event.
//! Ports and socket values are never logged.

use crate::cases::call;
use crate::log::{Int, Log, render_bytes};
use crate::random::Rng;
use sim_core::backend::Win32;
use sim_core::error::WSAEMSGSIZE;
use sim_core::types::*;
use std::collections::VecDeque;

/// Calls a case makes.
const OPS: usize = 60;

/// The most bytes sent each way on one connection (far below any socket buffer).
const CONN_BYTES: u32 = 256;

/// The most sockets a case has open at once.
const OPEN_MAX: usize = 7;

/// What is sent: the first bytes of this, so a stream's data can be checked.
const DATA: &[u8; 16] = b"0123456789abcdef";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Tcp,
    Udp,
}

/// One socket the case made.
struct Sock {
    s: SOCKET,
    proto: Proto,
    /// `Some(n)`: closed when `n` sockets had been made (usable until the next is made).
    closed: Option<usize>,
    /// Its address, when bound (explicitly, or by a connect or a sendto).
    bound: Option<SOCKADDR_IN>,
    listening: bool,
    /// A listener's connections not yet accepted: the clients' slots.
    waiting: VecDeque<usize>,
    /// A client whose connect succeeded, until it is accepted.
    connected_waiting: bool,
    /// The other end of its connection, once accepted.
    peer: Option<usize>,
    nonblocking: bool,
    shut_send: bool,
    shut_recv: bool,
    /// Bytes sent to it and not read yet (TCP).
    inbound: u32,
    /// Bytes it sent on its connection.
    sent: u32,
    /// Its peer closed or shut down sending: once `inbound` is read, recv returns 0.
    at_end: bool,
    /// Its peer is gone or may reset it: it is not sent on.
    no_send: bool,
    /// Its connection was reset (or may have been): it is only closed or asked its name.
    spoiled: bool,
    /// Datagrams waiting (UDP): their lengths.
    datagrams: VecDeque<usize>,
}

impl Sock {
    fn new(s: SOCKET, proto: Proto) -> Sock {
        Sock {
            s,
            proto,
            closed: None,
            bound: None,
            listening: false,
            waiting: VecDeque::new(),
            connected_waiting: false,
            peer: None,
            nonblocking: false,
            shut_send: false,
            shut_recv: false,
            inbound: 0,
            sent: 0,
            at_end: false,
            no_send: false,
            spoiled: false,
            datagrams: VecDeque::new(),
        }
    }

    fn open(&self) -> bool {
        self.closed.is_none()
    }

    /// Connected (accepted, or a client whose connection was accepted) and usable.
    fn connected(&self) -> bool {
        self.peer.is_some() && !self.spoiled
    }

    /// A TCP socket with no connection and not listening.
    fn idle_tcp(&self) -> bool {
        self.proto == Proto::Tcp && !self.listening && self.peer.is_none() && !self.connected_waiting
    }
}

struct State<W: Win32> {
    w: W,
    log: Log,
    rng: Rng,
    socks: Vec<Sock>,
    /// Sockets made so far (successful socket and accept calls).
    made: usize,
    event: HANDLE,
}

impl<W: Win32> State<W> {
    fn label(&self, i: usize) -> String {
        let letter = if self.socks[i].proto == Proto::Tcp { 't' } else { 'u' };
        format!("{letter}{i}")
    }

    /// What a call on slot `i` needs: the backend, the log, the slot's label, its socket.
    fn parts(&self, i: usize) -> (W, Log, String, SOCKET) {
        (self.w.clone(), self.log.clone(), self.label(i), self.socks[i].s)
    }

    fn open_count(&self) -> usize {
        self.socks.iter().filter(|s| s.open()).count()
    }

    /// A slot whose socket may be used: open, or closed with no socket made since.
    fn usable(&mut self, want: impl Fn(&Sock) -> bool) -> Option<usize> {
        let made = self.made;
        let ok: Vec<usize> = (0..self.socks.len())
            .filter(|&i| self.socks[i].closed.is_none_or(|n| n == made) && want(&self.socks[i]))
            .collect();
        if ok.is_empty() { None } else { Some(ok[self.rng.below(ok.len())]) }
    }

    fn add(&mut self, s: SOCKET, proto: Proto) -> Option<usize> {
        if s == INVALID_SOCKET || s.is_null() {
            return None;
        }
        self.socks.push(Sock::new(s, proto));
        self.made += 1;
        Some(self.socks.len() - 1)
    }

    /// The socket's address, read without a log line (its port is never logged).
    async fn learn_address(&mut self, i: usize) {
        let (mut at, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
        if self.w.getsockname(self.socks[i].s, Some(&mut at), Some(&mut len)).await == 0 {
            self.socks[i].bound = Some(at);
        }
    }

    async fn make_socket(&mut self) {
        let (af, ty, proto, what) = match self.rng.below(8) {
            0 => (AF_INET, SOCK_STREAM, 99, "socket(TCP, protocol 99)"),
            1 => (99, SOCK_STREAM, 0, "socket(AF 99)"),
            2 | 3 => (AF_INET, SOCK_DGRAM, 0, "socket(UDP)"),
            _ => (AF_INET, SOCK_STREAM, IPPROTO_TCP, "socket(TCP)"),
        };
        let (w, log) = (self.w.clone(), self.log.clone());
        let s = call!(w, log, what, w.socket(af, ty, proto));
        let kind = if ty == SOCK_DGRAM { Proto::Udp } else { Proto::Tcp };
        self.add(s, kind);
    }

    async fn bind(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let loopback = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
        let sock = &self.socks[i];
        // A port in use: an open socket of the same protocol bound and not connected
        // (so no connection, nor one in TIME_WAIT, shares its port).
        let proto = sock.proto;
        let in_use: Vec<SOCKADDR_IN> = self
            .socks
            .iter()
            .enumerate()
            .filter(|&(j, o)| {
                j != i && o.open() && o.proto == proto && o.peer.is_none() && !o.connected_waiting && o.bound.is_some()
            })
            .filter_map(|(_, o)| o.bound)
            .collect();
        let unbound = sock.open() && sock.bound.is_none() && (sock.proto == Proto::Udp || sock.idle_tcp());
        match self.rng.below(6) {
            0 if unbound => {
                call!(w, log, &format!("bind({label}, namelen 3)"), async { Int(w.bind(s, Some(&loopback), 3).await) });
            }
            1 if unbound && !in_use.is_empty() => {
                let at = in_use[self.rng.below(in_use.len())];
                let r = call!(w, log, &format!("bind({label}, a port in use)"), async {
                    Int(w.bind(s, Some(&at), SOCKADDR_IN_LEN).await)
                });
                if r.0 == 0 {
                    self.learn_address(i).await;
                }
            }
            _ => {
                let r = call!(w, log, &format!("bind({label}, 127.0.0.1 port 0)"), async {
                    Int(w.bind(s, Some(&loopback), SOCKADDR_IN_LEN).await)
                });
                if r.0 == 0 && self.socks[i].open() {
                    self.learn_address(i).await;
                }
            }
        }
    }

    async fn listen(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let backlog = self.rng.pick(&[2, 5, SOMAXCONN]);
        // Which of WSAEOPNOTSUPP (a datagram socket) and WSAEINVAL (not bound) an unbound
        // UDP socket gets is not established.
        if self.socks[i].open() && self.socks[i].proto == Proto::Udp && self.socks[i].bound.is_none() {
            return;
        }
        let r = call!(
            w,
            log,
            &format!(
                "listen({label}, {})",
                if backlog == SOMAXCONN { "SOMAXCONN".to_string() } else { backlog.to_string() }
            ),
            async { Int(w.listen(s, backlog).await) }
        );
        let sock = &mut self.socks[i];
        if r.0 == 0 && sock.open() && sock.proto == Proto::Tcp {
            sock.listening = true;
        }
    }

    async fn connect(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        // A listener with no connection waiting.
        let listeners: Vec<usize> = (0..self.socks.len())
            .filter(|&j| self.socks[j].open() && self.socks[j].listening && self.socks[j].waiting.is_empty())
            .collect();
        let sock = &self.socks[i];
        let may_connect = sock.open() && sock.idle_tcp() && !sock.nonblocking;
        // A connect that fails at once: on a closed socket, a listener, a connected one.
        let fails_at_once = !sock.open() || sock.listening || sock.peer.is_some() || sock.connected_waiting;
        if listeners.is_empty() || sock.spoiled || !(may_connect || fails_at_once) {
            return;
        }
        let l = listeners[self.rng.below(listeners.len())];
        let Some(at) = self.socks[l].bound else { return };
        if self.rng.below(5) == 0 && may_connect {
            call!(w, log, &format!("connect({label}, namelen 3)"), async { Int(w.connect(s, Some(&at), 3).await) });
            return;
        }
        let what = format!("connect({label}, the listener {})", self.label(l));
        let r = call!(w, log, &what, async { Int(w.connect(s, Some(&at), SOCKADDR_IN_LEN).await) });
        if r.0 == 0 && may_connect {
            self.socks[i].connected_waiting = true;
            self.socks[l].waiting.push_back(i);
            self.learn_address(i).await;
        }
    }

    async fn accept(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let sock = &self.socks[i];
        // A blocking accept only when a connection waits.
        if sock.open() && sock.listening && sock.waiting.is_empty() && !sock.nonblocking {
            return;
        }
        let (mut peer, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
        let a = call!(w, log, &format!("accept({label})"), w.accept(s, Some(&mut peer), Some(&mut len)));
        if a == INVALID_SOCKET || a.is_null() {
            return;
        }
        let Some(client) = self.socks[i].waiting.pop_front() else {
            // Accepted something the model did not expect: keep it closed.
            self.made += 1;
            let _ = w.closesocket(a).await;
            return;
        };
        let nonblocking = self.socks[i].nonblocking;
        let at = self.socks[i].bound;
        if let Some(j) = self.add(a, Proto::Tcp) {
            let client_at = self.socks[client].bound;
            log.note(
                &format!("accept({label}) gives t{j}, the peer of {}", self.label(client)),
                client_at == Some(peer),
            );
            let new = &mut self.socks[j];
            new.peer = Some(client);
            new.bound = at;
            // The accepted socket has the listener's properties, its non-blocking mode
            // among them (accept's documentation).
            new.nonblocking = nonblocking;
            let c = &mut self.socks[client];
            c.connected_waiting = false;
            c.peer = Some(j);
        }
    }

    async fn send(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let sock = &self.socks[i];
        // Not on a listener (Wine 8.0 waits where Windows fails with WSAENOTCONN), nor on
        // an unbound UDP socket (Linux binds it while failing the send, and later binds
        // then differ).
        if sock.spoiled
            || sock.connected_waiting
            || sock.listening
            || (sock.proto == Proto::Udp && sock.bound.is_none())
        {
            return;
        }
        let n = self.rng.pick(&[0usize, 1, 3, 16]);
        if let Some(p) = sock.peer
            && sock.open()
            && !sock.shut_send
        {
            let peer = &self.socks[p];
            if sock.no_send || !peer.open() || peer.shut_recv || sock.sent + n as u32 > CONN_BYTES {
                return;
            }
        }
        let r = call!(w, log, &format!("send({label}, {n} bytes)"), async {
            Int(w.send(s, &DATA[..n], n as i32, 0).await)
        });
        if r.0 > 0
            && let Some(p) = self.socks[i].peer
        {
            self.socks[i].sent += r.0 as u32;
            self.socks[p].inbound += r.0 as u32;
        }
    }

    async fn recv(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let len = self.rng.pick(&[1usize, 4, 16]);
        let sock = &self.socks[i];
        // Not on a listener (Wine 8.0 waits where Windows fails with WSAENOTCONN).
        if sock.spoiled || sock.listening {
            return;
        }
        if sock.open() && !sock.nonblocking && !sock.shut_recv {
            // Would a blocking recv wait?
            let waits = match sock.proto {
                Proto::Tcp if sock.listening => false,
                Proto::Tcp if sock.peer.is_some() => sock.inbound == 0 && !sock.at_end,
                Proto::Tcp => sock.connected_waiting,
                // Unbound: Windows fails (WSAEINVAL) where Wine waits (Linux binds it).
                Proto::Udp => sock.bound.is_none() || sock.datagrams.is_empty(),
            };
            if waits {
                return;
            }
        }
        let mut buf = [0u8; 16];
        let r =
            call!(w, log, &format!("recv({label}, {len})"), async { Int(w.recv(s, &mut buf, len as i32, 0).await) });
        if r.0 > 0 {
            log.note(&format!("recv({label}) data"), render_bytes(&buf[..r.0 as usize]));
        }
        let sock = &mut self.socks[i];
        match sock.proto {
            Proto::Tcp if r.0 > 0 => sock.inbound = sock.inbound.saturating_sub(r.0 as u32),
            Proto::Udp if sock.open() && (r.0 >= 0 || w.get_last_error() == WSAEMSGSIZE.0) => {
                sock.datagrams.pop_front();
            }
            _ => {}
        }
    }

    async fn sendto(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let targets: Vec<usize> = (0..self.socks.len())
            // Bound to 127.0.0.1: a socket bound by its first sendto has the wildcard
            // address, which Windows refuses as a destination (WSAEADDRNOTAVAIL, Microsoft
            // Learn sendto) where Linux delivers to it.
            .filter(|&j| {
                let t = &self.socks[j];
                t.open() && t.proto == Proto::Udp && t.bound.is_some_and(|a| a.addr() == INADDR_LOOPBACK)
            })
            .collect();
        if targets.is_empty() || self.socks[i].proto != Proto::Udp || self.socks[i].spoiled {
            return;
        }
        let t = targets[self.rng.below(targets.len())];
        let Some(to) = self.socks[t].bound else { return };
        let n = self.rng.pick(&[0usize, 2, 8, 16]);
        // A short address only from a bound socket: Linux binds a socket whose sendto it
        // fails, which Windows is not known to do.
        let short = self.rng.below(6) == 0 && self.socks[i].bound.is_some();
        let tolen = if short { 3 } else { SOCKADDR_IN_LEN };
        let what =
            format!("sendto({label}, {n} bytes, to {}{})", self.label(t), if tolen == 3 { ", tolen 3" } else { "" });
        let r = call!(w, log, &what, async { Int(w.sendto(s, &DATA[..n], n as i32, 0, Some(&to), tolen).await) });
        if r.0 >= 0 && self.socks[i].open() {
            if self.socks[i].bound.is_none() {
                self.learn_address(i).await;
            }
            self.socks[t].datagrams.push_back(n);
        }
    }

    async fn shutdown(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let sock = &self.socks[i];
        // Not on an unbound UDP socket: what Windows answers there is not established.
        if sock.spoiled
            || sock.connected_waiting
            || sock.peer.is_some_and(|p| !self.socks[p].open())
            || (sock.open() && sock.proto == Proto::Udp && sock.bound.is_none())
        {
            return;
        }
        let how = self.rng.pick(&[SD_SEND, SD_SEND, SD_RECEIVE, SD_BOTH, 5]);
        // Shutting down receiving with data unread, or with the peer still sending, is
        // left alone (Windows resets the connection when data comes after it).
        if sock.connected() && (how == SD_RECEIVE || how == SD_BOTH) && sock.inbound > 0 {
            return;
        }
        let name = match how {
            SD_SEND => "SD_SEND",
            SD_RECEIVE => "SD_RECEIVE",
            SD_BOTH => "SD_BOTH",
            _ => "5",
        };
        let r = call!(w, log, &format!("shutdown({label}, {name})"), async { Int(w.shutdown(s, how).await) });
        if r.0 != 0 || !self.socks[i].open() {
            return;
        }
        let peer = self.socks[i].peer;
        if how == SD_SEND || how == SD_BOTH {
            self.socks[i].shut_send = true;
            if let Some(p) = peer {
                self.socks[p].at_end = true;
            }
        }
        if how == SD_RECEIVE || how == SD_BOTH {
            self.socks[i].shut_recv = true;
            if let Some(p) = peer {
                self.socks[p].no_send = true;
            }
        }
    }

    async fn close(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let sock = &self.socks[i];
        if sock.open() && sock.connected_waiting {
            return;
        }
        let r = call!(w, log, &format!("closesocket({label})"), async { Int(w.closesocket(s).await) });
        if r.0 != 0 || !self.socks[i].open() {
            return;
        }
        self.socks[i].closed = Some(self.made);
        // Closing with data unread resets the peer; otherwise the peer reads to the end
        // and sends no more. A listener's waiting connections are reset.
        if let Some(p) = self.socks[i].peer {
            if self.socks[i].inbound > 0 {
                self.socks[p].spoiled = true;
            }
            self.socks[p].at_end = true;
            self.socks[p].no_send = true;
        }
        for c in std::mem::take(&mut self.socks[i].waiting) {
            self.socks[c].spoiled = true;
            self.socks[c].connected_waiting = false;
        }
    }

    async fn getsockname(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let (mut at, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
        let r = call!(w, log, &format!("getsockname({label})"), async {
            Int(w.getsockname(s, Some(&mut at), Some(&mut len)).await)
        });
        if r.0 == 0 {
            log.note(
                &format!("getsockname({label}) address"),
                format!("{:#010x}, port {}", at.addr(), if at.port() == 0 { "0" } else { "picked" }),
            );
        }
    }

    async fn ioctl(&mut self, i: usize) {
        let (w, log, label, s) = self.parts(i);
        let sock = &self.socks[i];
        if self.rng.coin() {
            let on = self.rng.coin();
            let mut arg = on as u32;
            let r = call!(w, log, &format!("ioctlsocket({label}, FIONBIO, {})", on as u32), async {
                Int(w.ioctlsocket(s, FIONBIO, Some(&mut arg)).await)
            });
            if r.0 == 0 && self.socks[i].open() {
                self.socks[i].nonblocking = on;
            }
        } else {
            if sock.spoiled || sock.listening {
                return;
            }
            let mut arg = 0xffu32;
            let r = call!(w, log, &format!("ioctlsocket({label}, FIONREAD)"), async {
                Int(w.ioctlsocket(s, FIONREAD, Some(&mut arg)).await)
            });
            if r.0 == 0 {
                log.note(&format!("ioctlsocket({label}, FIONREAD) bytes"), arg);
            }
        }
    }

    /// A call (as `random_sockets` numbers them) that moves socket `i` on: bind an unbound
    /// socket, listen or connect a bound one, accept a waiting connection, send, receive,
    /// shut down or close a connected one, send datagrams from and to UDP sockets.
    fn onward(&mut self, i: usize) -> usize {
        let sock = &self.socks[i];
        let listener_free = self.socks.iter().any(|l| l.open() && l.listening && l.waiting.is_empty());
        let choices: &[usize] = match sock.proto {
            _ if !sock.open() => &[17, 18, 19, 9, 12],
            Proto::Udp if sock.bound.is_none() => &[0, 15],
            Proto::Udp => &[15, 15, 12, 12, 19, 17],
            Proto::Tcp if sock.listening && !sock.waiting.is_empty() => &[7],
            Proto::Tcp if sock.listening => &[19, 7, 17],
            Proto::Tcp if sock.connected_waiting => &[19, 18],
            Proto::Tcp if sock.peer.is_some() => &[9, 9, 9, 12, 12, 12, 16, 17, 19, 18],
            Proto::Tcp if listener_free => &[4, 4, 0, 2],
            Proto::Tcp if sock.bound.is_none() => &[0],
            Proto::Tcp => &[2, 2, 4],
        };
        self.rng.pick(choices)
    }

    /// A socket call on the case's event handle.
    async fn on_event(&mut self) {
        let (w, log) = (self.w.clone(), self.log.clone());
        let e = self.event;
        let mut buf = [0u8; 4];
        match self.rng.below(3) {
            0 => call!(w, log, "send(e0, 1 byte)", async { Int(w.send(e, b"x", 1, 0).await) }),
            1 => call!(w, log, "recv(e0, 4)", async { Int(w.recv(e, &mut buf, 4, 0).await) }),
            _ => call!(w, log, "listen(e0, 5)", async { Int(w.listen(e, 5).await) }),
        };
    }
}

/// One generated case: `OPS` Winsock calls drawn from `seed`.
pub async fn random_sockets<W: Win32>(w: W, log: Log, seed: u64) {
    let mut data = WSADATA::default();
    if w.wsa_startup(MAKEWORD(2, 2), Some(&mut data)).await != 0 {
        log.note("WSAStartup failed", 0);
        return;
    }
    let event = w.create_event(None, true, false, None).await;
    let mut st = State {
        w: w.clone(),
        log: log.clone(),
        rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x50C4),
        socks: Vec::new(),
        made: 0,
        event,
    };
    for _ in 0..OPS {
        let open = st.open_count();
        if open < 2 || (open < OPEN_MAX && st.rng.below(6) == 0) {
            st.make_socket().await;
            continue;
        }
        if st.rng.below(30) == 0 {
            st.on_event().await;
            continue;
        }
        let Some(i) = st.usable(|_| true) else { continue };
        // Two calls in three move the socket on (so connections are made, used and
        // ended); the others are drawn from every call, mostly failing ones.
        let op = if st.rng.below(3) == 0 { st.rng.below(20) } else { st.onward(i) };
        match op {
            0 | 1 => st.bind(i).await,
            2 | 3 => st.listen(i).await,
            4..=6 => st.connect(i).await,
            7 | 8 => st.accept(i).await,
            9..=11 => st.send(i).await,
            12..=14 => st.recv(i).await,
            15 => st.sendto(i).await,
            16 => st.shutdown(i).await,
            17 => st.close(i).await,
            18 => st.getsockname(i).await,
            _ => st.ioctl(i).await,
        }
    }
    // Everything left open is closed without a line, then Winsock is cleaned up.
    for sock in &st.socks {
        if sock.open() {
            let _ = w.closesocket(sock.s).await;
        }
    }
    let _ = w.close_handle(event).await;
    let _ = w.wsa_cleanup().await;
}
