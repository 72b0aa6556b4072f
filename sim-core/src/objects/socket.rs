//! Winsock sockets on one host over loopback: TCP streams and UDP datagrams
//! (docs/semantics.md §22). The ThreadCtx methods are in `api/winsock.rs`.
//!
//! A [`Socket`] is a kernel object a handle refers to (on Windows a socket is an AFD file
//! object: the process handle table holds it, CloseHandle and inheritance apply). A TCP
//! connection is two sockets that name each other as `peer`; each socket's `inbound`
//! holds the bytes the peer sent and it has not read, as sends (segments). The kernel-wide
//! state (which processes called WSAStartup, the port table, the next ephemeral port, the
//! blocking connects retrying) is [`Net`], one resource for footprints.
//!
//! **Decisions made.** A send's bytes are readable at once and the send completes when the
//! unread bytes up to and including it fit the peer's SO_RCVBUF plus the sender's
//! SO_SNDBUF (the pipe write rule: both buffers full blocks the sender). How many of the
//! available bytes a recv returns is a scheduler decision (`ChoiceKind::Data`, recorded and
//! replayed): all it can take, the first send's bytes only, or half of the first send, so a
//! recv may return part of a message (TCP is a byte stream) or two messages at once.

use super::pipe::handle_refs;
use super::{Body, ObjectId, ObjectType};
use crate::error::*;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{Reply, Status, Value};
use crate::kernel::sched::ChoiceKind;
use crate::kernel::time::TICKS_PER_MS;
use crate::kernel::{CallResult, Exec, Kernel, Pid, Tid, TimerKey};
use crate::report::{LimitKind, WaitEdge};
use crate::types::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;

/// An IPv4 socket address in host byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SockAddr {
    /// The address (127.0.0.1 is 0x7f000001).
    pub ip: u32,
    /// The port.
    pub port: u16,
}

impl SockAddr {
    /// The Win32 form.
    pub fn to_sockaddr(self) -> SOCKADDR_IN {
        SOCKADDR_IN::new(self.ip, self.port)
    }
    fn is_loopback(self) -> bool {
        self.ip >> 24 == 127
    }
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.ip.to_be_bytes();
        write!(f, "{}.{}.{}.{}:{}", b[0], b[1], b[2], b[3], self.port)
    }
}

/// TCP or UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proto {
    /// SOCK_STREAM / IPPROTO_TCP.
    Tcp,
    /// SOCK_DGRAM / IPPROTO_UDP.
    Udp,
}

/// A socket's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created (perhaps bound), not connected.
    Open,
    /// listen() was called.
    Listening {
        /// The backlog: connections waiting for accept beyond it are refused (§22.9).
        backlog: u32,
    },
    /// A connect is in progress (a blocking connect retrying, or a non-blocking connect
    /// to an unreachable address).
    Connecting,
    /// Connected (TCP), or given a default peer (UDP).
    Connected,
    /// A non-blocking connect was refused: SO_ERROR says why (§22.6).
    Failed,
}

/// Bytes one send put in the peer's inbound queue.
#[derive(Clone, Debug)]
pub struct Segment {
    /// The bytes.
    pub data: Vec<u8>,
    /// How many of them were read already.
    pub off: usize,
    /// The blocked send these bytes belong to, until it completes.
    pub writer: Option<OpId>,
}

/// A socket.
#[derive(Clone, Debug)]
pub struct Socket {
    /// TCP or UDP.
    pub proto: Proto,
    /// The bound address (None: unbound).
    pub local: Option<SockAddr>,
    /// The peer's address (connected TCP, connected UDP).
    pub remote: Option<SockAddr>,
    /// The connection state.
    pub state: State,
    /// The other end of a TCP connection while it is open. Invariant: symmetric.
    pub peer: Option<ObjectId>,
    /// Connections completed and waiting for accept (server sockets without handles; the
    /// listener holds a reference on each).
    pub backlog: VecDeque<ObjectId>,
    /// accept calls waiting for a connection, oldest first.
    pub accepts: VecDeque<OpId>,
    /// FIONBIO.
    pub nonblocking: bool,
    /// SO_REUSEADDR.
    pub reuse_addr: bool,
    /// SO_EXCLUSIVEADDRUSE.
    pub exclusive: bool,
    /// SO_LINGER.
    pub linger: LINGER,
    /// SO_RCVBUF.
    pub rcvbuf: u32,
    /// SO_SNDBUF.
    pub sndbuf: u32,
    /// TCP_NODELAY (kept; changes nothing on loopback).
    pub nodelay: bool,
    /// SO_KEEPALIVE (kept).
    pub keepalive: bool,
    /// SO_RCVTIMEO in ms (0: none).
    pub rcvtimeo: u32,
    /// SO_SNDTIMEO in ms (0: none).
    pub sndtimeo: u32,
    /// TCP: what the peer sent and this socket has not read, one segment per send.
    pub inbound: VecDeque<Segment>,
    /// Unread bytes. Invariant: the sum over `inbound` (or `datagrams`) of unread bytes.
    pub unread: u64,
    /// The peer sent its FIN (shutdown SD_SEND or a graceful close): recv returns 0 once
    /// `inbound` is empty.
    pub eof: bool,
    /// The connection was reset (WSAECONNRESET) or aborted (WSAECONNABORTED): recv and
    /// send fail with it.
    pub error: Option<Win32Error>,
    /// SO_ERROR.
    pub so_error: u32,
    /// shutdown(SD_SEND) was called.
    pub shut_send: bool,
    /// shutdown(SD_RECEIVE) was called.
    pub shut_recv: bool,
    /// recv calls waiting for data, oldest first.
    pub reads: VecDeque<OpId>,
    /// UDP: datagrams received, oldest first, with their sources.
    pub datagrams: VecDeque<(SockAddr, Vec<u8>)>,
    /// UDP: a datagram sent from this socket found no socket at its destination (ICMP
    /// port unreachable): the next recvfrom fails with WSAECONNRESET (SIO_UDP_CONNRESET).
    pub port_unreachable: bool,
    /// Set when its last handle closed.
    pub closed: bool,
    /// The process whose `sockets_max` it counts against (the creator, or the accepter).
    pub owner: Option<Pid>,
    /// WSAEventSelect: the event (a reference is held on it) and the FD_ mask.
    pub event_select: Option<(ObjectId, u32)>,
    /// Network events recorded and not yet read by WSAEnumNetworkEvents.
    pub net_events: u32,
    /// The error code recorded with FD_CONNECT and FD_CLOSE.
    pub connect_error: u32,
    /// FD_CLOSE's error code.
    pub close_error: u32,
    /// Events that may be recorded again (cleared when recorded, set by the re-enabling
    /// call: recv for FD_READ, accept for FD_ACCEPT, a send that would block for FD_WRITE).
    pub enabled: u32,
    /// The host it lives on (docs/semantics.md §27.1): its creator's, or its listener's.
    pub host: usize,
    /// Bytes in flight to it on the network (they count toward the sender's quota).
    pub incoming: u64,
    /// When the last thing it sent over the network arrives (TCP keeps order, §27.8).
    pub last_arrival: u64,
    /// It takes overlapped I/O: socket() sockets always, WSASocket ones with
    /// WSA_FLAG_OVERLAPPED (§22.40).
    pub overlapped: bool,
    /// CreateIoCompletionPort: the port (a reference is held) and the completion key.
    pub port: Option<(ObjectId, usize)>,
    /// SetFileCompletionNotificationModes FILE_SKIP_COMPLETION_PORT_ON_SUCCESS.
    pub skip_port_on_success: bool,
    /// SetFileCompletionNotificationModes FILE_SKIP_SET_EVENT_ON_HANDLE.
    pub skip_set_event: bool,
    /// The file object's own signal: cleared when an overlapped operation starts, set when
    /// one without an event completes (§16.3).
    pub signalled: bool,
    /// Accepted by AcceptEx and not yet given SO_UPDATE_ACCEPT_CONTEXT (§22.42).
    pub needs_accept_context: bool,
    /// The AcceptEx waiting with this socket as its accept socket.
    pub accept_for: Option<OpId>,
    /// ConnectEx's lpSendBuffer: sent once the connection is made (§22.43).
    pub connect_data: Vec<u8>,
}

impl Socket {
    fn new(proto: Proto) -> Socket {
        Socket {
            proto,
            local: None,
            remote: None,
            state: State::Open,
            peer: None,
            backlog: VecDeque::new(),
            accepts: VecDeque::new(),
            nonblocking: false,
            reuse_addr: false,
            exclusive: false,
            linger: LINGER::default(),
            rcvbuf: DEFAULT_BUFFER,
            sndbuf: DEFAULT_BUFFER,
            nodelay: false,
            keepalive: false,
            rcvtimeo: 0,
            sndtimeo: 0,
            inbound: VecDeque::new(),
            unread: 0,
            eof: false,
            error: None,
            so_error: 0,
            shut_send: false,
            shut_recv: false,
            reads: VecDeque::new(),
            datagrams: VecDeque::new(),
            port_unreachable: false,
            closed: false,
            owner: None,
            event_select: None,
            net_events: 0,
            connect_error: 0,
            close_error: 0,
            enabled: FD_ALL_EVENTS,
            host: 0,
            incoming: 0,
            last_arrival: 0,
            overlapped: true,
            port: None,
            skip_port_on_success: false,
            skip_set_event: false,
            signalled: true,
            needs_accept_context: false,
            accept_for: None,
            connect_data: Vec::new(),
        }
    }
}

/// SO_RCVBUF and SO_SNDBUF of a new socket: 64 KiB [inferred: the value Windows 10 reports
/// for a loopback TCP socket].
pub const DEFAULT_BUFFER: u32 = 65536;
/// The first ephemeral port (the IANA dynamic range Windows uses since Vista).
pub const EPHEMERAL_FIRST: u16 = 49152;
/// How often a blocking connect to a loopback port nobody listens on retries (§22.6).
pub const CONNECT_RETRY_MS: u32 = 500;

/// Kernel-wide socket state: one resource for footprints (the port namespace).
#[derive(Debug, Default)]
pub struct Net {
    /// WSAStartup counts per process (WSACleanup decrements; 0 removes the entry).
    pub started: BTreeMap<Pid, u32>,
    /// The port table: sockets bound to each (host, protocol, port), in bind order. Each
    /// host has its own ports (§27.2).
    pub bound: BTreeMap<(usize, Proto, u16), Vec<ObjectId>>,
    /// The next ephemeral port to try, per host.
    pub next_ephemeral: BTreeMap<usize, u16>,
    /// Blocking connects waiting for a retry or their time-out.
    pub connects: Vec<OpId>,
    /// select and WSAPoll calls waiting for readiness, oldest first.
    pub selects: Vec<OpId>,
    /// Sockets with a WSAEventSelect, in the order it was made.
    pub event_sockets: Vec<ObjectId>,
    /// Sockets per process (the `sockets_max` limit).
    pub per_process: BTreeMap<Pid, u32>,
    /// Hosts and what is in flight between them (§27).
    pub network: super::network::Network,
    /// The overlapped call being made (WSARecv, WSASend, ConnectEx ... with an OVERLAPPED):
    /// where its operation goes if it cannot complete at once, and whether it blocks its
    /// caller instead (a socket without the overlapped attribute, §22.40). Taken by
    /// `Kernel::sock_wait`.
    pub overlapped: Option<(crate::kernel::io::AsyncTarget, bool)>,
}

/// `Net` as the kernel holds it: made on first change. Until then it reads as a fresh
/// `Net`, or, once a run has started on the default network (`Kernel::net_boot` with no
/// hosts, links or partitions configured), as that booted `Net` (the default host and
/// nothing else), either shared by every run on the OS thread: a run that makes no socket
/// allocates nothing for Winsock.
#[derive(Default)]
pub struct LazyNet {
    state: Option<Box<Net>>,
    /// Booted on the default network, still unchanged.
    booted: bool,
}

impl LazyNet {
    /// Nothing made yet, and nothing but the default network's boot done.
    pub(crate) fn is_fresh(&self) -> bool {
        self.state.is_none()
    }

    /// Boots a fresh `Net` on the default network: what `net_boot` makes of an empty
    /// network configuration.
    pub(crate) fn boot_default(&mut self) {
        debug_assert!(self.state.is_none());
        self.booted = true;
    }

    fn fresh(booted: bool) -> &'static Net {
        thread_local! {
            static FRESH: &'static Net = Box::leak(Box::default());
            static BOOTED: &'static Net = Box::leak(Box::new(Net::booted_default()));
        }
        if booted { BOOTED.with(|n| *n) } else { FRESH.with(|n| *n) }
    }
}

impl Net {
    /// A fresh `Net` booted on the default network (`LazyNet::boot_default`).
    fn booted_default() -> Net {
        let mut n = Net::default();
        n.network.hosts = vec![super::network::Host { name: super::network::LOCAL_HOST.into(), addrs: Vec::new() }];
        n
    }
}

impl std::ops::Deref for LazyNet {
    type Target = Net;
    #[inline]
    fn deref(&self) -> &Net {
        match &self.state {
            Some(n) => n,
            None => LazyNet::fresh(self.booted),
        }
    }
}

impl std::ops::DerefMut for LazyNet {
    #[inline]
    fn deref_mut(&mut self) -> &mut Net {
        let booted = self.booted;
        self.state.get_or_insert_with(|| Box::new(if booted { Net::booted_default() } else { Net::default() }))
    }
}

impl std::fmt::Debug for LazyNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

pub(crate) fn sock(k: &Kernel, id: ObjectId) -> &Socket {
    match &k.objects[id].body {
        Body::Socket(s) => s,
        _ => panic!("simulator bug: not a socket"),
    }
}

pub(crate) fn sock_mut(k: &mut Kernel, id: ObjectId) -> &mut Socket {
    match &mut k.objects[id].body {
        Body::Socket(s) => s,
        _ => panic!("simulator bug: not a socket"),
    }
}

/// Reads a SOCKADDR_IN argument: a missing or short one is WSAEFAULT, another family
/// WSAEAFNOSUPPORT (§22.13).
pub(crate) fn read_addr(name: Option<SOCKADDR_IN>, namelen: i32) -> Result<SockAddr, Win32Error> {
    let a = name.ok_or(WSAEFAULT)?;
    if namelen < SOCKADDR_IN_LEN {
        return Err(WSAEFAULT);
    }
    if i32::from(a.sin_family) != AF_INET {
        return Err(WSAEAFNOSUPPORT);
    }
    Ok(SockAddr { ip: a.addr(), port: a.port() })
}

/// The outcome of a bind's address-sharing check (MS docs "Using SO_REUSEADDR and
/// SO_EXCLUSIVEADDRUSE", its table of second-bind results).
fn share_check(first: &Socket, first_addr: SockAddr, second: &Socket, addr: SockAddr) -> Result<(), Win32Error> {
    let same = first_addr.ip == addr.ip;
    let overlap = same || first_addr.ip == 0 || addr.ip == 0;
    if !overlap {
        return Ok(());
    }
    if same {
        return match (first.exclusive, first.reuse_addr, second.exclusive, second.reuse_addr) {
            // Both asked to share: the hijack Windows allows.
            (false, true, false, true) => Ok(()),
            // Asking to share an address whose owner did not: access denied.
            (_, _, false, true) => Err(WSAEACCES),
            _ => Err(WSAEADDRINUSE),
        };
    }
    // One wildcard, one specific address.
    if second.exclusive && addr.ip == 0 {
        return Err(WSAEADDRINUSE);
    }
    if first.exclusive && first_addr.ip == 0 {
        return Err(WSAEACCES);
    }
    Ok(())
}

impl Kernel {
    /// The socket behind a handle: WSAENOTSOCK for a bad handle or another object (§22.4).
    pub(crate) fn socket_of(&self, pid: Pid, tid: Tid, s: SOCKET) -> Result<ObjectId, Win32Error> {
        let id = self.object_from_handle(pid, tid, s, None, 0).map_err(|_| WSAENOTSOCK)?;
        match &self.objects[id].body {
            Body::Socket(_) => Ok(id),
            _ => Err(WSAENOTSOCK),
        }
    }

    /// WSANOTINITIALISED unless the process called WSAStartup (§22.1).
    fn wsa_ready(&self, pid: Pid) -> Result<(), Win32Error> {
        if self.net.started.contains_key(&pid) { Ok(()) } else { Err(WSANOTINITIALISED) }
    }

    /// Both checks every socket call starts with.
    pub(crate) fn sock_call(&self, pid: Pid, tid: Tid, s: SOCKET) -> Result<ObjectId, Win32Error> {
        self.wsa_ready(pid)?;
        self.socket_of(pid, tid, s)
    }

    /// WSAStartup: version 2.2 (or what the caller asked for, if lower than 2.2 and at
    /// least 1.0); a major version 0 is WSAVERNOTSUPPORTED. Each call counts (§22.1).
    pub(crate) fn wsa_startup(&mut self, pid: Pid, _tid: Tid, version: u16) -> CallResult {
        let (major, minor) = (version & 0xff, version >> 8);
        if major == 0 {
            return Err(WSAVERNOTSUPPORTED);
        }
        let used = if major > 2 || (major == 2 && minor >= 2) { MAKEWORD(2, 2) } else { version };
        *self.net.started.entry(pid).or_default() += 1;
        let n = self.net.started[&pid];
        self.note_effect(|_| format!("Winsock started in P{pid} ({n} call(s) to WSACleanup needed)"));
        Ok(Value::Out(u32::from(used)).into())
    }

    /// WSACleanup: the last one closes the process's sockets, as closesocket would (§22.1).
    pub(crate) fn wsa_cleanup(&mut self, pid: Pid, _tid: Tid) -> CallResult {
        self.wsa_ready(pid)?;
        let n = self.net.started.get_mut(&pid).expect("checked");
        *n -= 1;
        if *n == 0 {
            self.net.started.remove(&pid);
            let handles: Vec<HANDLE> = self
                .process(pid)
                .handles
                .iter()
                .filter(|(_, e)| matches!(self.objects[e.object].body, Body::Socket(_)))
                .map(|(h, _)| h)
                .collect();
            for h in handles {
                if let Some(mut e) = self.process_mut(pid).handles.remove(h) {
                    self.note_closed(pid, h, &mut e, "WSACleanup", "closed");
                    self.drop_handle_ref(e.object);
                }
            }
        }
        Ok(Value::Long(0).into())
    }

    /// socket / WSASocket: a new unbound socket; its handle is inheritable unless
    /// WSA_FLAG_NO_HANDLE_INHERIT (§22.2, §22.5).
    pub(crate) fn socket(&mut self, pid: Pid, tid: Tid, af: i32, ty: i32, protocol: i32, flags: u32) -> CallResult {
        // socket(): "the socket that is created will have the overlapped attribute as a
        // default" (socket doc; §22.40).
        self.socket_with(pid, tid, af, ty, protocol, flags, true)
    }

    /// WSASocket: as socket, overlapped only with WSA_FLAG_OVERLAPPED (WSASocketW doc).
    pub(crate) fn wsa_socket(&mut self, pid: Pid, tid: Tid, af: i32, ty: i32, protocol: i32, flags: u32) -> CallResult {
        self.socket_with(pid, tid, af, ty, protocol, flags, flags & WSA_FLAG_OVERLAPPED != 0)
    }

    #[allow(clippy::too_many_arguments)]
    fn socket_with(
        &mut self,
        pid: Pid,
        tid: Tid,
        af: i32,
        ty: i32,
        protocol: i32,
        flags: u32,
        overlapped: bool,
    ) -> CallResult {
        self.wsa_ready(pid)?;
        if af == AF_INET6 {
            self.unsupported("socket", "AF_INET6 is not modelled");
            return Err(WSAEAFNOSUPPORT);
        }
        if af != AF_INET {
            return Err(WSAEAFNOSUPPORT);
        }
        let proto = match (ty, protocol) {
            (SOCK_STREAM, IPPROTO_IP | IPPROTO_TCP) => Proto::Tcp,
            (SOCK_DGRAM, IPPROTO_IP | IPPROTO_UDP) => Proto::Udp,
            // Another protocol, or the other type's (the PAL socket tests of dotnet/runtime
            // expect WSAEPROTONOSUPPORT for SOCK_STREAM with IPPROTO_UDP).
            (SOCK_STREAM | SOCK_DGRAM, _) => return Err(WSAEPROTONOSUPPORT),
            _ => return Err(WSAESOCKTNOSUPPORT),
        };
        let mut so = Socket::new(proto);
        so.host = self.process(pid).host;
        so.overlapped = overlapped;
        let id = self.alloc_object(Body::Socket(so), None);
        self.sock_handle(pid, tid, id, "socket", "created", flags & WSA_FLAG_NO_HANDLE_INHERIT == 0)
    }

    /// A handle to a socket object that has none yet.
    fn sock_handle(
        &mut self,
        pid: Pid,
        tid: Tid,
        id: ObjectId,
        api: &'static str,
        how: &'static str,
        inherit: bool,
    ) -> CallResult {
        let count = self.net.per_process.get(&pid).copied().unwrap_or(0);
        if count >= self.config.sockets_max {
            let max = self.config.sockets_max;
            self.maybe_destroy(id);
            return Err(self.hit_limit(LimitKind::Sockets, format!("process P{pid} holds {max} sockets (sockets_max)")));
        }
        let origin = self.origin(pid, tid, api, how, None);
        let flags = if inherit { HANDLE_FLAG_INHERIT } else { 0 };
        match self.alloc_handle(pid, id, FILE_ALL_ACCESS, flags, vec![origin]) {
            Ok(h) => {
                *self.net.per_process.entry(pid).or_default() += 1;
                sock_mut(self, id).owner = Some(pid);
                Ok(Value::Handle(h).into())
            }
            Err(e) => {
                self.maybe_destroy(id);
                Err(e)
            }
        }
    }

    /// A free ephemeral port for `proto` (§22.3).
    fn ephemeral_port(&mut self, host: usize, proto: Proto) -> Result<u16, Win32Error> {
        for _ in 0..=(u16::MAX - EPHEMERAL_FIRST) {
            let next = self.net.next_ephemeral.entry(host).or_insert(EPHEMERAL_FIRST);
            let p = (*next).max(EPHEMERAL_FIRST);
            *next = if p == u16::MAX { EPHEMERAL_FIRST } else { p + 1 };
            if self.net.bound.get(&(host, proto, p)).is_none_or(|v| v.is_empty()) {
                return Ok(p);
            }
        }
        Err(WSAENOBUFS)
    }

    fn bind_to(&mut self, id: ObjectId, mut addr: SockAddr) -> Result<(), Win32Error> {
        let s = sock(self, id);
        let proto = s.proto;
        let host = s.host;
        if addr.ip != 0 && !self.host_owns(host, addr.ip) {
            // Not an address of this host (§22.13, §27.2).
            return Err(WSAEADDRNOTAVAIL);
        }
        if addr.port == 0 {
            addr.port = self.ephemeral_port(host, proto)?;
        } else if let Some(list) = self.net.bound.get(&(host, proto, addr.port)) {
            for &other in list {
                let o = sock(self, other);
                let oa = o.local.expect("a bound socket has an address");
                share_check(o, oa, s, addr)?;
            }
        }
        sock_mut(self, id).local = Some(addr);
        self.net.bound.entry((host, proto, addr.port)).or_default().push(id);
        Ok(())
    }

    /// bind (§22.3): port 0 picks the next free ephemeral port; an address in use follows
    /// the SO_REUSEADDR / SO_EXCLUSIVEADDRUSE table. Success sets the last error to 0.
    pub(crate) fn bind(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        name: Option<SOCKADDR_IN>,
        namelen: i32,
    ) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let addr = read_addr(name, namelen)?;
        if sock(self, id).local.is_some() {
            return Err(WSAEINVAL);
        }
        self.bind_to(id, addr)?;
        self.note_effect(|k| format!("{} bound", k.describe(id)));
        Ok(crate::kernel::Done { value: Value::Long(0), last_error: Some(ERROR_SUCCESS) })
    }

    /// listen (§22.9): a bound TCP socket starts taking connections; a second listen keeps
    /// the first backlog. SOMAXCONN and larger values are clamped to 200 [inferred].
    pub(crate) fn listen(&mut self, pid: Pid, tid: Tid, s: SOCKET, backlog: i32) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let so = sock(self, id);
        if so.proto == Proto::Udp {
            return Err(WSAEOPNOTSUPP);
        }
        match so.state {
            State::Listening { .. } => return Ok(Value::Long(0).into()),
            State::Connected | State::Connecting => return Err(WSAEISCONN),
            State::Open | State::Failed => {}
        }
        if so.local.is_none() {
            return Err(WSAEINVAL);
        }
        let backlog = backlog.clamp(1, 200) as u32;
        let so = sock_mut(self, id);
        so.state = State::Listening { backlog };
        so.so_error = 0;
        self.note_effect(|k| format!("{} listens (backlog {backlog})", k.describe(id)));
        Ok(Value::Long(0).into())
    }

    /// The listener a connection to `to` reaches: a listening TCP socket bound to its port
    /// and to its address or the wildcard, the specific one first, the last bound first
    /// [inferred: Windows leaves the choice among sockets sharing a port undefined].
    fn find_listener(&self, host: usize, to: SockAddr) -> Option<ObjectId> {
        let list = self.net.bound.get(&(host, Proto::Tcp, to.port))?;
        let listening = |&&id: &&ObjectId| matches!(sock(self, id).state, State::Listening { .. });
        let at = |ip: u32| list.iter().rev().filter(listening).find(|&&id| sock(self, id).local.unwrap().ip == ip);
        at(to.ip).or_else(|| at(0)).copied()
    }

    /// Tries to connect `client` to `to` (loopback): Ok(true) when a listener took it,
    /// Ok(false) when nobody listens or its backlog is full.
    fn try_establish(&mut self, client: ObjectId, to: SockAddr) -> Result<bool, Win32Error> {
        let host = sock(self, client).host;
        Ok(self.establish_on(client, to, host, true))
    }

    /// The SYN of `client` (on another host) reaches `to` on host `dest`: a listener there
    /// takes the connection (§27.7); the client stays connecting until the SYN-ACK is back.
    pub(crate) fn establish_remote(&mut self, client: ObjectId, to: SockAddr, dest: usize) -> bool {
        if sock(self, client).local.is_some_and(|a| a.ip == 0) {
            // The wildcard-bound client sends from its host's address.
            let ip = self.host_addr(sock(self, client).host);
            sock_mut(self, client).local.as_mut().expect("checked").ip = ip;
        }
        self.establish_on(client, to, dest, false)
    }

    fn establish_on(&mut self, client: ObjectId, to: SockAddr, host: usize, now: bool) -> bool {
        let Some(listener) = self.find_listener(host, to) else { return false };
        let l = sock(self, listener);
        let State::Listening { backlog } = l.state else { unreachable!("a listener listens") };
        if l.backlog.len() as u32 >= backlog {
            // A full backlog refuses (§22.9).
            return false;
        }
        let lsock = l.clone();
        let mut server = Socket::new(Proto::Tcp);
        // Accepted sockets inherit the listener's options (§22.12).
        server.reuse_addr = lsock.reuse_addr;
        server.keepalive = lsock.keepalive;
        server.rcvbuf = lsock.rcvbuf;
        server.sndbuf = lsock.sndbuf;
        server.rcvtimeo = lsock.rcvtimeo;
        server.sndtimeo = lsock.sndtimeo;
        server.nodelay = lsock.nodelay;
        server.linger = lsock.linger;
        server.nonblocking = lsock.nonblocking;
        let local = lsock.local.expect("a listener is bound");
        server.local = Some(SockAddr { ip: if local.ip == 0 { to.ip } else { local.ip }, port: local.port });
        server.remote = sock(self, client).local;
        server.state = State::Connected;
        server.peer = Some(client);
        server.host = host;
        let sid = self.alloc_object(Body::Socket(server), None);
        let c = sock_mut(self, client);
        c.peer = Some(sid);
        c.remote = Some(to);
        // Across hosts the client is connected when the SYN-ACK is back (§27.7).
        c.state = if now { State::Connected } else { State::Connecting };
        c.so_error = 0;
        // The listener holds the connection until accept takes it.
        self.add_ref(sid);
        sock_mut(self, listener).backlog.push_back(sid);
        self.accepts_progress(listener);
        self.events_changed();
        true
    }

    /// The SYN-ACK reached a connecting client (§27.7).
    pub(crate) fn remote_connected(&mut self, client: ObjectId, op: Option<OpId>) {
        let so = sock_mut(self, client);
        so.state = State::Connected;
        so.so_error = 0;
        if let Some(op) = op {
            self.net.connects.retain(|&c| c != op);
            let n = self.connect_ex_data_sent(op, client);
            self.complete_op(op, Value::Long(n).into(), "the SYN-ACK arrived");
        }
        self.events_changed();
    }

    /// A connect to another host failed (no answer, or refused).
    pub(crate) fn remote_connect_failed(&mut self, client: ObjectId, op: Option<OpId>, e: Win32Error) {
        // The connection half-made on the other host (if any) is forgotten.
        if let Some(p) = sock_mut(self, client).peer.take() {
            sock_mut(self, p).peer = None;
            self.tcp_reset_arrived(p, WSAECONNRESET);
        }
        let so = sock_mut(self, client);
        so.state = State::Failed;
        match op {
            Some(op) => {
                so.so_error = 0;
                self.net.connects.retain(|&c| c != op);
                self.complete_op(op, Reply::error(e), "the connect gave up");
            }
            None => so.so_error = e.0,
        }
        self.events_changed();
    }

    /// Bytes from another host reach `id` (§27.8).
    pub(crate) fn tcp_arrived(&mut self, id: ObjectId, seg: Segment) {
        let so = sock_mut(self, id);
        so.unread += (seg.data.len() - seg.off) as u64;
        so.inbound.push_back(seg);
        self.reads_progress(id);
        self.sends_progress(id);
        self.events_changed();
    }

    /// A FIN from another host reaches `id`.
    pub(crate) fn tcp_fin_arrived(&mut self, id: ObjectId) {
        sock_mut(self, id).eof = true;
        self.reads_progress(id);
        self.events_changed();
    }

    /// A reset reaches `id` (or its own retransmissions gave up).
    pub(crate) fn tcp_reset_arrived(&mut self, id: ObjectId, e: Win32Error) {
        if let Some(p) = sock(self, id).peer
            && sock(self, p).peer == Some(id)
        {
            sock_mut(self, p).peer = None;
        }
        self.reset_socket(id, e);
    }

    /// Waiting recvs on a UDP socket take what arrived.
    pub(crate) fn udp_reads_progress(&mut self, id: ObjectId) {
        self.reads_progress(id);
        self.events_changed();
    }

    /// A datagram from another host reaches host `host` (§27.5): the socket bound there
    /// takes it, or an ICMP port unreachable goes back. Returns the trace's words.
    pub(crate) fn udp_arrived(
        &mut self,
        host: usize,
        dest: SockAddr,
        src: SockAddr,
        from: ObjectId,
        data: Vec<u8>,
    ) -> String {
        let n = data.len();
        let Some(t) = self.udp_target(host, dest) else {
            self.icmp_back(from, host);
            return format!("network: datagram from {src} to {dest} dropped: no socket bound there");
        };
        let ts = sock(self, t);
        if ts.shut_recv || ts.unread + n as u64 > u64::from(ts.rcvbuf) {
            return format!("network: datagram from {src} dropped: {} has no room", self.describe(t));
        }
        if self.pipe_bytes + n as u64 > self.config.pipe_bytes_max {
            return format!("network: datagram from {src} dropped: pipe_bytes_max reached");
        }
        let ts = sock_mut(self, t);
        ts.datagrams.push_back((src, data));
        ts.unread += n as u64;
        self.pipe_bytes += n as u64;
        self.reads_progress(t);
        self.events_changed();
        format!("network: datagram of {n} byte(s) from {src} delivered to {}", self.describe(t))
    }

    /// The UDP socket of host `host` a datagram to `dest` reaches.
    fn udp_target(&self, host: usize, dest: SockAddr) -> Option<ObjectId> {
        self.net.bound.get(&(host, Proto::Udp, dest.port)).and_then(|l| {
            l.iter().rev().copied().find(|&t| {
                let a = sock(self, t).local.expect("bound");
                a.ip == 0 || a.ip == dest.ip
            })
        })
    }

    /// connect (§§22.6-22.8): to a loopback listener at once (the handshake completes
    /// before accept); to a loopback port nobody listens on, a blocking connect retries
    /// every 500 ms and fails with WSAECONNREFUSED after `Config::connect_refusal_ms`
    /// (Windows retries the SYN after a reset); to an address off this host, it fails with
    /// WSAETIMEDOUT after `Config::connect_timeout_ms`. UDP: sets the default peer.
    pub(crate) fn connect(&mut self, pid: Pid, tid: Tid, s: SOCKET, name: Option<SOCKADDR_IN>, namelen: i32) -> Exec {
        match self.connect_inner(pid, tid, s, name, namelen) {
            Ok(exec) => exec,
            Err(e) => Exec::Done(Reply::error(e)),
        }
    }

    fn connect_inner(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        name: Option<SOCKADDR_IN>,
        namelen: i32,
    ) -> Result<Exec, Win32Error> {
        let id = self.sock_call(pid, tid, s)?;
        let so = sock(self, id);
        if so.proto == Proto::Udp {
            if name.is_some_and(|a| i32::from(a.sin_family) == AF_UNSPEC) && namelen >= SOCKADDR_IN_LEN {
                // AF_UNSPEC dissolves the association (§22.25).
                let so = sock_mut(self, id);
                so.remote = None;
                so.state = State::Open;
                return Ok(Exec::Done(Value::Long(0).into()));
            }
            let to = read_addr(name, namelen)?;
            if sock(self, id).local.is_none() {
                self.bind_to(id, SockAddr { ip: 0, port: 0 })?;
            }
            let so = sock_mut(self, id);
            so.remote = Some(to);
            so.state = State::Connected;
            return Ok(Exec::Done(Value::Long(0).into()));
        }
        match so.state {
            State::Listening { .. } => return Err(WSAEINVAL),
            State::Connected => return Err(WSAEISCONN),
            State::Connecting => return Err(WSAEALREADY),
            State::Open | State::Failed => {}
        }
        if so.accept_for.is_some() {
            // The accept socket of a pending AcceptEx (sock.c test_AcceptEx; §22.42).
            return Err(WSAEINVAL);
        }
        let to = read_addr(name, namelen)?;
        if to.ip == 0 || to.port == 0 {
            return Err(WSAEADDRNOTAVAIL);
        }
        if sock(self, id).local.is_none() {
            let ip = if to.is_loopback() { INADDR_LOOPBACK } else { 0 };
            self.bind_to(id, SockAddr { ip, port: 0 })?;
        }
        // ConnectEx is not affected by non-blocking mode [inferred: it is an overlapped
        // call; §22.43].
        let nonblocking = sock(self, id).nonblocking && self.net.overlapped.is_none();
        let here = sock(self, id).host;
        let local = self.host_owns(here, to.ip);
        if let Some(dest) = self.host_at(to.ip).filter(|&d| d != here) {
            // Another host: the SYN crosses the network (§27.7).
            sock_mut(self, id).state = State::Connecting;
            sock_mut(self, id).so_error = 0;
            if nonblocking {
                self.connect_remote(id, to, dest, None);
                return Ok(Exec::Done(Reply::error(WSAEWOULDBLOCK)));
            }
            let (op, exec) = self.sock_wait(tid, OpKind::SockConnect { sock: id, to, give_up: u64::MAX }, None, true);
            self.net.connects.push(op);
            self.connect_remote(id, to, dest, Some(op));
            return Ok(exec);
        }
        if local && self.try_establish(id, to)? {
            self.note_effect(|k| format!("{} connected to {to}", k.describe(id)));
            if nonblocking {
                // A non-blocking connect never succeeds at once (§22.6).
                return Ok(Exec::Done(Reply::error(WSAEWOULDBLOCK)));
            }
            return Ok(Exec::Done(Value::Long(0).into()));
        }
        let refused = local;
        if nonblocking {
            let so = sock_mut(self, id);
            if refused {
                // [inferred] A non-blocking connect's refusal is recorded at once.
                so.state = State::Failed;
                so.so_error = WSAECONNREFUSED.0;
            } else {
                so.state = State::Connecting;
            }
            return Ok(Exec::Done(Reply::error(WSAEWOULDBLOCK)));
        }
        let total = if refused { self.config.connect_refusal_ms } else { self.config.connect_timeout_ms };
        if refused && total == 0 {
            sock_mut(self, id).state = State::Failed;
            return Err(WSAECONNREFUSED);
        }
        let give_up = self.now + u64::from(total) * TICKS_PER_MS;
        let step = if refused { total.min(CONNECT_RETRY_MS) } else { total };
        let deadline = self.deadline(step);
        sock_mut(self, id).state = State::Connecting;
        let (op, exec) = self.sock_wait(tid, OpKind::SockConnect { sock: id, to, give_up }, deadline, true);
        self.net.connects.push(op);
        Ok(exec)
    }

    /// A blocking connect's retry time came: connect if someone listens now, else retry
    /// or fail (§22.6).
    pub(crate) fn connect_retry(&mut self, op: OpId) {
        let OpKind::SockConnect { sock: id, to, give_up } = self.ops[op].kind else { unreachable!("not a connect") };
        let local = self.host_owns(sock(self, id).host, to.ip);
        if local {
            match self.try_establish(id, to) {
                Ok(true) => {
                    self.net.connects.retain(|&c| c != op);
                    let n = self.connect_ex_data_sent(op, id);
                    self.complete_op(op, Value::Long(n).into(), &format!("retry reached a listener on {to}"));
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    self.net.connects.retain(|&c| c != op);
                    sock_mut(self, id).state = State::Open;
                    self.complete_op(op, Reply::error(e), "connect failed");
                    return;
                }
            }
        }
        if self.now >= give_up {
            self.net.connects.retain(|&c| c != op);
            // The socket stays in the failed state, SO_ERROR 0 (SK-1: select puts it in
            // exceptfds only, WSAPoll reports POLLWRNORM|POLLHUP|POLLERR).
            sock_mut(self, id).state = State::Failed;
            sock_mut(self, id).so_error = 0;
            let (e, why) = if local {
                (WSAECONNREFUSED, format!("nobody listens on {to}: refused"))
            } else {
                (WSAETIMEDOUT, format!("no answer from {to}"))
            };
            self.complete_op(op, Reply::error(e), &why);
            return;
        }
        let next = (self.now + u64::from(CONNECT_RETRY_MS) * TICKS_PER_MS).min(give_up);
        let seq = self.next_timer_seq();
        let o = &mut self.ops[op];
        o.deadline = Some(next);
        o.timer_seq = seq;
        self.timers.insert((next, seq, TimerKey::Op(op)));
    }

    /// Hands waiting connections to waiting accepts, oldest first.
    fn accepts_progress(&mut self, listener: ObjectId) {
        loop {
            let l = sock_mut(self, listener);
            if l.backlog.is_empty() || l.accepts.is_empty() {
                break;
            }
            let op = l.accepts.pop_front().expect("checked");
            let conn = l.backlog.pop_front().expect("checked");
            if let OpKind::SockAcceptEx { accept, local_len, .. } = self.ops[op].kind {
                if super::socket_async::accept_local_too_small(local_len) {
                    // §22.42 (sock.c test_AcceptEx): the AcceptEx fails with
                    // STATUS_BUFFER_TOO_SMALL and the connection stays for a later accept.
                    sock_mut(self, listener).backlog.push_front(conn);
                    if let Some(Body::Socket(a)) = self.objects.get_mut(accept).map(|o| &mut o.body) {
                        a.accept_for = None;
                    }
                    let why = self.cause(|| "a connection, and no room for the local address".to_string());
                    self.complete_op(op, Reply::error(WSAEFAULT), &why);
                    continue;
                }
                self.accept_ex_connection(op, conn);
                continue;
            }
            let tid = self.ops[op].tid;
            let pid = self.pid_of(tid);
            let reply = self.take_connection(pid, tid, conn);
            let why = self.cause(|| format!("a connection to {}", self.describe(listener)));
            self.complete_op(op, reply, &why);
        }
    }

    /// Gives an accepted connection a handle in `pid` (the listener's reference goes).
    fn take_connection(&mut self, pid: Pid, tid: Tid, conn: ObjectId) -> Reply {
        let r = self.sock_handle(pid, tid, conn, "accept", "accepted", true);
        match r {
            Ok(d) => {
                let remote = sock(self, conn).remote.unwrap_or_default();
                let Value::Handle(h) = d.value else { unreachable!("a handle") };
                self.release(conn);
                Value::Accept(h, remote.to_sockaddr()).into()
            }
            Err(e) => {
                // No handle: the connection is reset.
                self.abort_connection(conn);
                self.release(conn);
                Reply::error(e)
            }
        }
    }

    /// accept (§§22.10, 22.11): the oldest waiting connection, or a wait for one
    /// (WSAEWOULDBLOCK when non-blocking).
    pub(crate) fn accept(&mut self, pid: Pid, tid: Tid, s: SOCKET, addrlen: Option<i32>) -> Exec {
        let id = match self.sock_call(pid, tid, s) {
            Ok(id) => id,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        let so = sock(self, id);
        if so.proto == Proto::Udp {
            return Exec::Done(Reply::error(WSAEOPNOTSUPP));
        }
        if !matches!(so.state, State::Listening { .. }) {
            return Exec::Done(Reply::error(WSAEINVAL));
        }
        if addrlen.is_some_and(|n| n < SOCKADDR_IN_LEN) {
            return Exec::Done(Reply::error(WSAEFAULT));
        }
        self.reenable(id, FD_ACCEPT);
        if let Some(conn) = sock_mut(self, id).backlog.pop_front() {
            let r = self.take_connection(pid, tid, conn);
            self.events_changed();
            return Exec::Done(r);
        }
        if sock(self, id).nonblocking {
            return Exec::Done(Reply::error(WSAEWOULDBLOCK));
        }
        let op = self.new_op(tid, OpKind::SockAccept { sock: id }, None);
        sock_mut(self, id).accepts.push_back(op);
        Exec::Block(op)
    }

    /// `id` goes without a close handshake: its peer is reset (WSAECONNRESET).
    pub(crate) fn abort_connection(&mut self, id: ObjectId) {
        let peer = sock_mut(self, id).peer.take();
        if let Some(p) = peer {
            sock_mut(self, p).peer = None;
            self.reset_socket(p, WSAECONNRESET);
        }
    }

    /// `id` receives a reset: `e` from now on, its unread bytes discarded.
    fn reset_socket(&mut self, id: ObjectId, e: Win32Error) {
        let why = self.cause(|| format!("{} reset", self.describe(id)));
        let so = sock_mut(self, id);
        so.error = Some(e);
        so.peer = None;
        let segs: Vec<Segment> = so.inbound.drain(..).collect();
        let n = std::mem::take(&mut so.unread);
        let reads: Vec<OpId> = so.reads.drain(..).collect();
        self.pipe_bytes -= n;
        for seg in segs {
            if let Some(w) = seg.writer {
                self.complete_op(w, Reply::error(e), &why);
            }
        }
        for r in reads {
            self.complete_op(r, Reply::error(e), &why);
        }
        for w in self.flight_writers_from(id) {
            self.complete_op(w, Reply::error(e), &why);
        }
        self.note_effect(|k| format!("{} reset ({e})", k.describe(id)));
        self.events_changed();
    }

    /// recv / recvfrom (§§22.14-22.23): up to `len` bytes (how many is the scheduler's
    /// choice), 0 at end of stream, or a wait for data.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn recv(&mut self, pid: Pid, tid: Tid, s: SOCKET, len: i32, flags: i32, from: bool) -> Exec {
        let id = match self.sock_call(pid, tid, s) {
            Ok(id) => id,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if len < 0 {
            return Exec::Done(Reply::error(WSAEFAULT));
        }
        if flags & !MSG_PEEK != 0 {
            if flags & MSG_OOB != 0 {
                return Exec::Done(Reply::error(WSAEOPNOTSUPP));
            }
            self.unsupported("recv", &format!("flags 0x{flags:x} are not modelled (MSG_PEEK only)"));
            return Exec::Done(Reply::error(WSAEOPNOTSUPP));
        }
        let peek = flags & MSG_PEEK != 0;
        let so = sock(self, id);
        if so.shut_recv {
            return Exec::Done(Reply::error(WSAESHUTDOWN));
        }
        if so.proto == Proto::Udp {
            if so.local.is_none() {
                // Unbound UDP: WSAEINVAL on Windows (§22.25).
                return Exec::Done(Reply::error(WSAEINVAL));
            }
        } else if so.state != State::Connected {
            return Exec::Done(Reply::error(WSAENOTCONN));
        }
        let len = len as u32;
        // recv re-enables FD_READ (§22.28).
        self.reenable(id, FD_READ);
        let overlapped = self.net.overlapped.is_some();
        // An overlapped receive into a zero-length buffer waits for data and then completes
        // with 0 bytes, consuming nothing (sock.c test_empty_recv; §22.41).
        let empty_wait = overlapped && len == 0 && sock(self, id).proto == Proto::Tcp && !self.stream_ready(id);
        if !empty_wait && let Some(r) = self.recv_now(id, len, peek, from) {
            self.events_changed();
            return Exec::Done(r);
        }
        // An overlapped receive on a non-blocking socket pends all the same (sock.c
        // test_nonblocking_async_recv; §22.41).
        if sock(self, id).nonblocking && !overlapped {
            return Exec::Done(Reply::error(WSAEWOULDBLOCK));
        }
        let t = sock(self, id).rcvtimeo;
        let deadline = if t == 0 { None } else { self.deadline(t) };
        let (op, exec) = self.sock_wait(tid, OpKind::SockRecv { sock: id, len, peek, from }, deadline, false);
        sock_mut(self, id).reads.push_back(op);
        exec
    }

    /// Whether a stream socket has something for a receive: bytes, end of stream or an
    /// error.
    pub(crate) fn stream_ready(&self, id: ObjectId) -> bool {
        let so = sock(self, id);
        so.unread > 0 || so.eof || so.error.is_some()
    }

    /// Makes the operation a call waits in: the thread blocks in it, or, for an
    /// overlapped call (`Net::overlapped`), it goes on asynchronously and the call returns
    /// WSA_IO_PENDING (§22.40). Overlapped operations have no time-out (SO_RCVTIMEO and
    /// SO_SNDTIMEO do not apply to them, sock.c test_timeout) unless `keep_deadline` (a
    /// connect's retry timer).
    pub(crate) fn sock_wait(
        &mut self,
        tid: Tid,
        kind: OpKind,
        deadline: Option<u64>,
        keep_deadline: bool,
    ) -> (OpId, Exec) {
        let Some((target, blocking)) = self.net.overlapped.take() else {
            let op = self.new_op(tid, kind, deadline);
            return (op, Exec::Block(op));
        };
        let (op, exec) = if blocking {
            let op = self.pend_sync_overlapped(tid, kind, target);
            (op, Exec::Block(op))
        } else {
            let op = self.pend_async(tid, kind, target);
            (op, Exec::Done(Reply { status: Status::Pending, value: Value::Void }))
        };
        if let (true, Some(at)) = (keep_deadline, deadline) {
            let seq = self.next_timer_seq();
            let o = &mut self.ops[op];
            o.deadline = Some(at);
            o.timer_seq = seq;
            self.timers.insert((at, seq, TimerKey::Op(op)));
        }
        (op, exec)
    }

    /// What a recv on `id` gets now, or None when it would wait.
    pub(crate) fn recv_now(&mut self, id: ObjectId, len: u32, peek: bool, from: bool) -> Option<Reply> {
        let so = sock(self, id);
        if let Some(e) = so.error {
            return Some(Reply::error(e));
        }
        if so.proto == Proto::Udp {
            if so.port_unreachable {
                sock_mut(self, id).port_unreachable = false;
                return Some(Reply::error(WSAECONNRESET));
            }
            let (src, d) = so.datagrams.front()?.clone();
            if !peek {
                sock_mut(self, id).datagrams.pop_front();
                sock_mut(self, id).unread -= d.len() as u64;
                self.pipe_bytes -= d.len() as u64;
            }
            let src = from.then(|| src.to_sockaddr());
            if d.len() as u64 > u64::from(len) {
                // Truncated; the rest of the datagram is lost (§22.25).
                let part = d[..len as usize].to_vec();
                return Some(Reply { status: Status::Warning(WSAEMSGSIZE), value: Value::Recv(part.into(), src) });
            }
            return Some(Value::Recv(d.into(), src).into());
        }
        if so.unread == 0 {
            // End of stream after the FIN, every time (§22.14).
            return so.eof.then(|| Value::Recv(Box::default(), None).into());
        }
        if len == 0 {
            // A zero-length buffer is not end of stream: 0, nothing consumed (§22.22).
            return Some(Value::Recv(Box::default(), None).into());
        }
        let n = self.recv_split(id, len);
        let data = self.take_bytes(id, n, peek);
        let remote = sock(self, id).remote.map(|a| a.to_sockaddr()).filter(|_| from);
        Some(Value::Recv(data.into(), remote).into())
    }

    /// How many bytes a recv of `len` takes from `id` (at least 1): the scheduler's choice
    /// among all it can take, the rest of the first send, and half of that.
    fn recv_split(&mut self, id: ObjectId, len: u32) -> u32 {
        let so = sock(self, id);
        let all = so.unread.min(u64::from(len)) as u32;
        if !self.config.stream_splits || all <= 1 {
            return all;
        }
        let first = so.inbound.front().map(|s| (s.data.len() - s.off) as u32).unwrap_or(all);
        let mut options = vec![all];
        if first < all {
            options.push(first);
        }
        let half = first.min(all).div_ceil(2);
        if half < first.min(all) {
            options.push(half);
        }
        options.sort_unstable();
        options.dedup();
        self.choose(ChoiceKind::Data, &options)
    }

    /// Copies `n` unread bytes of `id`'s inbound (consuming them unless `peek`), then lets
    /// blocked sends whose bytes now fit complete.
    fn take_bytes(&mut self, id: ObjectId, n: u32, peek: bool) -> Vec<u8> {
        let so = sock_mut(self, id);
        let mut out = Vec::with_capacity(n as usize);
        let mut need = n as usize;
        let mut i = 0;
        while need > 0 {
            let seg = &mut so.inbound[i];
            let avail = seg.data.len() - seg.off;
            let k = avail.min(need);
            out.extend_from_slice(&seg.data[seg.off..seg.off + k]);
            if !peek {
                seg.off += k;
            }
            need -= k;
            i += 1;
        }
        if peek {
            return out;
        }
        so.unread -= u64::from(n);
        self.pipe_bytes -= u64::from(n);
        let mut done = Vec::new();
        let so = sock_mut(self, id);
        while so.inbound.front().is_some_and(|s| s.off == s.data.len()) {
            let seg = so.inbound.pop_front().expect("checked");
            if let Some(w) = seg.writer {
                done.push((w, seg.data.len()));
            }
        }
        for (w, len) in done {
            let why = self.cause(|| format!("the peer read the bytes of {}", self.describe(id)));
            self.complete_op(w, Value::Long(len as i64).into(), &why);
        }
        self.sends_progress(id);
        self.events_changed();
        out
    }

    /// Blocked sends into `id`'s inbound complete once the unread bytes up to and
    /// including theirs fit the two buffers (§22.5).
    fn sends_progress(&mut self, id: ObjectId) {
        let Some(p) = sock(self, id).peer else { return };
        let quota = u64::from(sock(self, id).rcvbuf) + u64::from(sock(self, p).sndbuf);
        let mut upto = 0u64;
        let mut done = Vec::new();
        let so = sock_mut(self, id);
        for seg in so.inbound.iter_mut() {
            upto += (seg.data.len() - seg.off) as u64;
            if upto > quota {
                break;
            }
            if let Some(w) = seg.writer.take() {
                done.push((w, seg.data.len()));
            }
        }
        for (w, len) in done {
            let why = self.cause(|| format!("room in {}", self.describe(id)));
            self.complete_op(w, Value::Long(len as i64).into(), &why);
        }
    }

    /// Waiting recvs on `id` take what arrived, oldest first.
    pub(crate) fn reads_progress(&mut self, id: ObjectId) {
        while let Some(&op) = sock(self, id).reads.front() {
            let OpKind::SockRecv { len, peek, from, .. } = self.ops[op].kind else {
                unreachable!("a socket's read queue holds recvs")
            };
            // Only an overlapped receive into a zero-length buffer queues with len 0: it
            // waits for data (§22.41).
            if len == 0 && sock(self, id).proto == Proto::Tcp && !self.stream_ready(id) {
                break;
            }
            let Some(reply) = self.recv_now(id, len, peek, from) else { break };
            sock_mut(self, id).reads.pop_front();
            let why = self.cause(|| format!("data or end of stream on {}", self.describe(id)));
            self.complete_op(op, reply, &why);
        }
    }

    /// send / sendto (§§22.14-22.21, 22.25).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        data: Vec<u8>,
        len: i32,
        flags: i32,
        to: Option<SOCKADDR_IN>,
        tolen: i32,
    ) -> Exec {
        if len < 0 {
            // A length past the buffer (§22).
            return match self.sock_call(pid, tid, s) {
                Ok(_) => Exec::Done(Reply::error(WSAEFAULT)),
                Err(e) => Exec::Done(Reply::error(e)),
            };
        }
        match self.send_inner(pid, tid, s, data, flags, to, tolen) {
            Ok(exec) => exec,
            Err(e) => Exec::Done(Reply::error(e)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_inner(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        data: Vec<u8>,
        flags: i32,
        to: Option<SOCKADDR_IN>,
        tolen: i32,
    ) -> Result<Exec, Win32Error> {
        let id = self.sock_call(pid, tid, s)?;
        if flags != 0 {
            if flags & MSG_OOB != 0 {
                return Err(WSAEOPNOTSUPP);
            }
            self.unsupported("send", &format!("flags 0x{flags:x} are not modelled"));
            return Err(WSAEOPNOTSUPP);
        }
        let n = data.len();
        if n as u64 > u64::from(self.config.io_bytes_max) {
            let max = self.config.io_bytes_max;
            return Err(self.hit_limit(LimitKind::IoBytes, format!("a {n}-byte send exceeds io_bytes_max ({max})")));
        }
        let so = sock(self, id);
        if so.shut_send {
            return Err(WSAESHUTDOWN);
        }
        if so.proto == Proto::Udp {
            return self.send_datagram(id, data, to, tolen).map(|v| Exec::Done(v.into()));
        }
        if so.state != State::Connected {
            return Err(WSAENOTCONN);
        }
        if let Some(e) = so.error {
            return Err(e);
        }
        let Some(p) = so.peer else {
            // The peer closed: the bytes go, the answer is a reset; the next call on this
            // socket sees the connection aborted (§22.19).
            self.reset_socket(id, WSAECONNABORTED);
            return Ok(Exec::Done(Value::Long(n as i64).into()));
        };
        if n == 0 {
            return Ok(Exec::Done(Value::Long(0).into()));
        }
        let quota = u64::from(sock(self, p).rcvbuf) + u64::from(so.sndbuf);
        let unread = sock(self, p).unread + sock(self, p).incoming;
        // An overlapped send is not affected by non-blocking mode [inferred from the
        // receive side, sock.c test_nonblocking_async_recv; §22.41].
        let nonblocking = so.nonblocking && self.net.overlapped.is_none();
        let remote = sock(self, p).host != so.host;
        let mut data = data;
        if nonblocking {
            // A non-blocking send takes what fits, WSAEWOULDBLOCK when nothing does (§22.21).
            let room = quota.saturating_sub(unread);
            if room == 0 {
                // FD_WRITE is recorded again once there is room (§22.28).
                self.reenable(id, FD_WRITE);
                return Err(WSAEWOULDBLOCK);
            }
            data.truncate(room.min(n as u64) as usize);
        }
        let k = data.len();
        if self.pipe_bytes + k as u64 > self.config.pipe_bytes_max {
            let max = self.config.pipe_bytes_max;
            return Err(self.hit_limit(
                LimitKind::PipeBytes,
                format!("pipes, mailslots and sockets would hold more than {max} unread bytes (pipe_bytes_max)"),
            ));
        }
        // [inferred] A send into an empty buffer is taken whole, however long (AFD
        // buffers one send beyond the limit).
        let overcommit = unread == 0;
        let sndtimeo = so.sndtimeo;
        if remote {
            // Over the network: in flight until it arrives (§27.8).
            self.pipe_bytes += k as u64;
            sock_mut(self, p).incoming += k as u64;
            let blocks = !(nonblocking || overcommit || unread + k as u64 <= quota);
            let mut seg = Segment { data, off: 0, writer: None };
            let op = if blocks {
                let deadline = if sndtimeo == 0 { None } else { self.deadline(sndtimeo) };
                let (op, exec) =
                    self.sock_wait(tid, OpKind::SockSend { sock: id, peer: p, len: k as u32 }, deadline, false);
                seg.writer = Some(op);
                Some(exec)
            } else {
                None
            };
            let what = self.tcp_send_remote(id, p, seg);
            self.note_effect(|_| what);
            self.events_changed();
            return Ok(match op {
                Some(exec) => exec,
                None => Exec::Done(Value::Long(k as i64).into()),
            });
        }
        let ps = sock_mut(self, p);
        ps.inbound.push_back(Segment { data, off: 0, writer: None });
        ps.unread += k as u64;
        self.pipe_bytes += k as u64;
        self.note_effect(|kk| format!("{} holds {} unread byte(s)", kk.describe(p), sock(kk, p).unread));
        // Waiting recvs take what they can first.
        self.reads_progress(p);
        self.events_changed();
        // What is still unread up to and including this send (it is the last segment if any
        // of it is left).
        let left = sock(self, p).unread;
        if nonblocking || overcommit || left <= quota {
            return Ok(Exec::Done(Value::Long(k as i64).into()));
        }
        let deadline = if sndtimeo == 0 { None } else { self.deadline(sndtimeo) };
        let (op, exec) = self.sock_wait(tid, OpKind::SockSend { sock: id, peer: p, len: k as u32 }, deadline, false);
        sock_mut(self, p).inbound.back_mut().expect("bytes left").writer = Some(op);
        Ok(exec)
    }

    fn send_datagram(
        &mut self,
        id: ObjectId,
        data: Vec<u8>,
        to: Option<SOCKADDR_IN>,
        tolen: i32,
    ) -> Result<Value, Win32Error> {
        let dest = match to {
            Some(_) => read_addr(to, tolen)?,
            None => sock(self, id).remote.ok_or(WSAENOTCONN)?,
        };
        if dest.port == 0 || dest.ip == 0 {
            return Err(WSAEADDRNOTAVAIL);
        }
        if sock(self, id).local.is_none() {
            self.bind_to(id, SockAddr { ip: 0, port: 0 })?;
        }
        let n = data.len();
        let mut src = sock(self, id).local.expect("bound");
        let here = sock(self, id).host;
        if let Some(b) = self.remote_host_of(here, dest.ip) {
            // Another host: across the network (§27.5).
            if src.ip == 0 {
                src.ip = self.host_addr(here);
            }
            if self.pipe_bytes + n as u64 > self.config.pipe_bytes_max {
                let max = self.config.pipe_bytes_max;
                return Err(self.hit_limit(
                    LimitKind::PipeBytes,
                    format!("pipes, mailslots and sockets would hold more than {max} unread bytes (pipe_bytes_max)"),
                ));
            }
            let what = self.udp_send_remote(id, src, dest, b, data);
            self.note_effect(|_| what);
            return Ok(Value::Long(n as i64));
        }
        if src.ip == 0 {
            src.ip = if dest.is_loopback() { INADDR_LOOPBACK } else { self.host_addr(here) };
        }
        if !self.host_owns(here, dest.ip) {
            // Off this host: there is no network to carry it [one host only].
            self.note_effect(|_| format!("datagram to {dest} dropped: no route off this host"));
            return Ok(Value::Long(n as i64));
        }
        let target = self.udp_target(here, dest);
        let Some(t) = target else {
            // Port unreachable: the sender's next recvfrom fails with WSAECONNRESET.
            sock_mut(self, id).port_unreachable = true;
            self.note_effect(|_| format!("datagram to {dest} dropped: no socket bound there"));
            return Ok(Value::Long(n as i64));
        };
        let ts = sock(self, t);
        if ts.shut_recv || ts.unread + n as u64 > u64::from(ts.rcvbuf) {
            // A full receive buffer drops the datagram (UDP gives no back-pressure).
            self.note_effect(|k| format!("datagram dropped: {} has no room", k.describe(t)));
            return Ok(Value::Long(n as i64));
        }
        if self.pipe_bytes + n as u64 > self.config.pipe_bytes_max {
            let max = self.config.pipe_bytes_max;
            return Err(self.hit_limit(
                LimitKind::PipeBytes,
                format!("pipes, mailslots and sockets would hold more than {max} unread bytes (pipe_bytes_max)"),
            ));
        }
        let ts = sock_mut(self, t);
        ts.datagrams.push_back((src, data));
        ts.unread += n as u64;
        self.pipe_bytes += n as u64;
        self.note_effect(|k| format!("{} holds {} datagram(s)", k.describe(t), sock(k, t).datagrams.len()));
        self.reads_progress(t);
        self.events_changed();
        Ok(Value::Long(n as i64))
    }

    /// shutdown (§§22.16-22.18).
    pub(crate) fn shutdown(&mut self, pid: Pid, tid: Tid, s: SOCKET, how: i32) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        if !(SD_RECEIVE..=SD_BOTH).contains(&how) {
            return Err(WSAEINVAL);
        }
        let so = sock(self, id);
        if so.proto == Proto::Tcp && so.state != State::Connected {
            return Err(WSAENOTCONN);
        }
        if so.proto == Proto::Udp && so.local.is_none() {
            return Err(WSAENOTCONN);
        }
        let peer = so.peer;
        let so = sock_mut(self, id);
        if how != SD_SEND {
            so.shut_recv = true;
        }
        if how != SD_RECEIVE && !so.shut_send {
            so.shut_send = true;
            if let Some(p) = peer {
                if sock(self, p).host != sock(self, id).host {
                    // The FIN crosses the network behind the data (§27.8).
                    self.tcp_close_remote(id, p, false);
                } else {
                    sock_mut(self, p).eof = true;
                    self.reads_progress(p);
                }
            }
        }
        self.events_changed();
        Ok(Value::Long(0).into())
    }

    /// closesocket (§§22.4, 22.15, 22.20): closes the handle; a socket that is not one is
    /// WSAENOTSOCK.
    pub(crate) fn closesocket(&mut self, pid: Pid, tid: Tid, s: SOCKET) -> CallResult {
        self.sock_call(pid, tid, s)?;
        self.close_handle(pid, s).map_err(|_| WSAENOTSOCK)?;
        Ok(Value::Long(0).into())
    }

    /// getsockname (§22.13): unbound is WSAEINVAL.
    pub(crate) fn getsockname(&mut self, pid: Pid, tid: Tid, s: SOCKET, namelen: i32) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        if namelen < SOCKADDR_IN_LEN {
            return Err(WSAEFAULT);
        }
        if sock(self, id).needs_accept_context {
            // An AcceptEx socket before SO_UPDATE_ACCEPT_CONTEXT (§22.42).
            return Err(WSAENOTCONN);
        }
        let a = sock(self, id).local.ok_or(WSAEINVAL)?;
        Ok(Value::SockName(a.to_sockaddr()).into())
    }

    /// getpeername: WSAENOTCONN unless connected.
    pub(crate) fn getpeername(&mut self, pid: Pid, tid: Tid, s: SOCKET, namelen: i32) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        if namelen < SOCKADDR_IN_LEN {
            return Err(WSAEFAULT);
        }
        let so = sock(self, id);
        if so.state != State::Connected || so.needs_accept_context {
            return Err(WSAENOTCONN);
        }
        Ok(Value::SockName(so.remote.ok_or(WSAENOTCONN)?.to_sockaddr()).into())
    }

    /// setsockopt: SO_REUSEADDR, SO_EXCLUSIVEADDRUSE, SO_LINGER, SO_DONTLINGER, SO_RCVBUF,
    /// SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO, SO_KEEPALIVE, TCP_NODELAY. A short value is
    /// WSAEFAULT; an unknown option WSAENOPROTOOPT (§22.8).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn setsockopt(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        level: i32,
        optname: i32,
        optval: Option<Vec<u8>>,
        optlen: i32,
    ) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let val = optval.ok_or(WSAEFAULT)?;
        if level == SOL_SOCKET && (optname == SO_UPDATE_ACCEPT_CONTEXT || optname == SO_UPDATE_CONNECT_CONTEXT) {
            return self.update_context(pid, tid, id, optname, &val, optlen);
        }
        let need = 4;
        if optlen < need || val.len() < need as usize {
            return Err(WSAEFAULT);
        }
        let int = i32::from_le_bytes([val[0], val[1], val[2], val[3]]);
        let so = sock(self, id);
        let bound = so.local.is_some();
        match (level, optname) {
            (SOL_SOCKET, SO_REUSEADDR) => {
                if so.exclusive && int != 0 {
                    // The two options exclude each other (SO_EXCLUSIVEADDRUSE doc).
                    return Err(WSAEINVAL);
                }
                sock_mut(self, id).reuse_addr = int != 0;
            }
            (SOL_SOCKET, SO_EXCLUSIVEADDRUSE) => {
                if so.reuse_addr && int != 0 {
                    return Err(WSAEINVAL);
                }
                if bound {
                    // Must be set before bind [inferred: the option is read at bind].
                    return Err(WSAEINVAL);
                }
                sock_mut(self, id).exclusive = int != 0;
            }
            (SOL_SOCKET, SO_LINGER) => {
                let l = LINGER {
                    l_onoff: u16::from_le_bytes([val[0], val[1]]),
                    l_linger: u16::from_le_bytes([val[2], val[3]]),
                };
                sock_mut(self, id).linger = l;
            }
            (SOL_SOCKET, SO_DONTLINGER) => sock_mut(self, id).linger.l_onoff = u16::from(int == 0),
            (SOL_SOCKET, SO_RCVBUF) => {
                sock_mut(self, id).rcvbuf = int.max(0) as u32;
                self.sends_progress(id);
            }
            (SOL_SOCKET, SO_SNDBUF) => {
                sock_mut(self, id).sndbuf = int.max(0) as u32;
                if let Some(p) = sock(self, id).peer {
                    self.sends_progress(p);
                }
            }
            (SOL_SOCKET, SO_RCVTIMEO) => sock_mut(self, id).rcvtimeo = int as u32,
            (SOL_SOCKET, SO_SNDTIMEO) => sock_mut(self, id).sndtimeo = int as u32,
            (SOL_SOCKET, SO_KEEPALIVE) => sock_mut(self, id).keepalive = int != 0,
            (IPPROTO_TCP, TCP_NODELAY) => {
                if so.proto != Proto::Tcp {
                    return Err(WSAENOPROTOOPT);
                }
                sock_mut(self, id).nodelay = int != 0;
            }
            (SOL_SOCKET | IPPROTO_TCP, _) => return Err(WSAENOPROTOOPT),
            _ => return Err(WSAEINVAL),
        }
        self.events_changed();
        Ok(Value::Long(0).into())
    }

    /// getsockopt: the options setsockopt takes, and SO_ACCEPTCONN, SO_ERROR, SO_TYPE.
    pub(crate) fn getsockopt(
        &mut self,
        pid: Pid,
        tid: Tid,
        s: SOCKET,
        level: i32,
        optname: i32,
        optlen: i32,
    ) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        if optlen < 4 {
            return Err(WSAEFAULT);
        }
        let so = sock(self, id);
        let v: i32 = match (level, optname) {
            (SOL_SOCKET, SO_REUSEADDR) => i32::from(so.reuse_addr),
            (SOL_SOCKET, SO_EXCLUSIVEADDRUSE) => i32::from(so.exclusive),
            (SOL_SOCKET, SO_LINGER) => {
                let b = [so.linger.l_onoff.to_le_bytes(), so.linger.l_linger.to_le_bytes()].concat();
                i32::from_le_bytes([b[0], b[1], b[2], b[3]])
            }
            (SOL_SOCKET, SO_DONTLINGER) => i32::from(so.linger.l_onoff == 0),
            (SOL_SOCKET, SO_RCVBUF) => so.rcvbuf as i32,
            (SOL_SOCKET, SO_SNDBUF) => so.sndbuf as i32,
            (SOL_SOCKET, SO_RCVTIMEO) => so.rcvtimeo as i32,
            (SOL_SOCKET, SO_SNDTIMEO) => so.sndtimeo as i32,
            (SOL_SOCKET, SO_KEEPALIVE) => i32::from(so.keepalive),
            (SOL_SOCKET, SO_ACCEPTCONN) => i32::from(matches!(so.state, State::Listening { .. })),
            // Reading SO_ERROR does not clear it (§22.6).
            (SOL_SOCKET, SO_ERROR) => so.so_error as i32,
            (SOL_SOCKET, SO_TYPE) => match so.proto {
                Proto::Tcp => SOCK_STREAM,
                Proto::Udp => SOCK_DGRAM,
            },
            (IPPROTO_TCP, TCP_NODELAY) if so.proto == Proto::Tcp => i32::from(so.nodelay),
            (SOL_SOCKET | IPPROTO_TCP, _) => return Err(WSAENOPROTOOPT),
            _ => return Err(WSAEINVAL),
        };
        Ok(Value::Out(v as u32).into())
    }

    /// ioctlsocket: FIONBIO sets or clears non-blocking mode; FIONREAD gives the unread
    /// bytes. Other commands are WSAEINVAL [inferred].
    pub(crate) fn ioctlsocket(&mut self, pid: Pid, tid: Tid, s: SOCKET, cmd: i32, arg: Option<u32>) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let arg = arg.ok_or(WSAEFAULT)?;
        match cmd {
            FIONBIO => {
                sock_mut(self, id).nonblocking = arg != 0;
                Ok(Value::Out(arg).into())
            }
            FIONREAD => {
                let so = sock(self, id);
                let n = if so.error.is_some() { 0 } else { so.unread.min(u64::from(u32::MAX)) as u32 };
                Ok(Value::Out(n).into())
            }
            _ => Err(WSAEINVAL),
        }
    }

    /// Readiness of sockets may have changed: network events are recorded (WSAEventSelect)
    /// and waiting select and WSAPoll calls that find a socket ready complete.
    pub(crate) fn events_changed(&mut self) {
        for id in self.net.event_sockets.clone() {
            self.record_events(id);
        }
        let mut i = 0;
        while i < self.net.selects.len() {
            let op = self.net.selects[i];
            match self.readiness_reply(op) {
                Some(reply) => {
                    self.net.selects.remove(i);
                    let why = self.cause(|| "a socket became ready".to_string());
                    self.complete_op(op, reply, &why);
                }
                None => i += 1,
            }
        }
    }

    /// What a socket is ready for now (select's and WSAPoll's view): (readable, writable,
    /// exception, hang-up, error). A closed or destroyed socket is readable (SK-27).
    fn readiness(&self, id: Option<ObjectId>) -> Ready {
        let Some(Body::Socket(s)) = id.and_then(|id| self.objects.get(id)).map(|o| &o.body) else {
            return Ready { read: true, hup: true, ..Ready::default() };
        };
        if s.closed {
            return Ready { read: true, hup: true, ..Ready::default() };
        }
        let mut r = Ready::default();
        match (s.proto, s.state) {
            (Proto::Tcp, State::Listening { .. }) => r.read = !s.backlog.is_empty(),
            (Proto::Tcp, State::Connected) => {
                r.read = s.unread > 0 || s.eof || s.error.is_some();
                r.write = match (s.error, s.peer) {
                    // After a reset: readable and writable (SK-20).
                    (Some(_), _) => true,
                    (None, Some(p)) => {
                        let q = u64::from(sock(self, p).rcvbuf) + u64::from(s.sndbuf);
                        let pending = sock(self, p).unread + sock(self, p).incoming;
                        pending < q || pending == 0
                    }
                    (None, None) => true,
                };
                r.hup = s.error.is_some() || (s.peer.is_none() && s.eof);
                r.err = s.error.is_some();
            }
            (Proto::Tcp, State::Failed) => {
                // A refused non-blocking connect: exceptfds only (SK-3); WSAPoll
                // POLLWRNORM|POLLHUP|POLLERR (SK-1).
                r.except = true;
                r.hup = true;
                r.err = true;
            }
            (Proto::Tcp, _) => {}
            (Proto::Udp, _) => {
                r.read = !s.datagrams.is_empty() || s.port_unreachable;
                // UDP sockets are writable, bound or not (SK-29).
                r.write = true;
            }
        }
        r
    }

    /// A waiting select's or WSAPoll's reply if anything it asks for is ready now.
    fn readiness_reply(&self, op: OpId) -> Option<Reply> {
        match &self.ops[op].kind {
            OpKind::SockSelect { sets } => {
                let out = self.select_now(sets);
                (out.iter().map(Vec::len).sum::<usize>() > 0).then(|| Value::Select(Box::new(out)).into())
            }
            OpKind::SockPoll { fds } => {
                let revents = self.poll_now(fds);
                revents.iter().any(|&r| r != 0).then(|| Value::Poll(revents).into())
            }
            _ => unreachable!("a select list holds selects and polls"),
        }
    }

    /// The handles of each set that are ready: read, write, except.
    fn select_now(&self, sets: &[Vec<(HANDLE, Option<ObjectId>)>; 3]) -> [Vec<HANDLE>; 3] {
        let mut out: [Vec<HANDLE>; 3] = Default::default();
        for (k, set) in sets.iter().enumerate() {
            for &(h, id) in set {
                let r = self.readiness(id);
                let ready = match k {
                    0 => r.read,
                    1 => r.write,
                    _ => r.except,
                };
                if ready && !out[k].contains(&h) {
                    out[k].push(h);
                }
            }
        }
        out
    }

    /// WSAPoll's revents for each entry.
    fn poll_now(&self, fds: &[(Option<ObjectId>, i16)]) -> Vec<i16> {
        fds.iter()
            .map(|&(id, events)| {
                let Some(id) = id else { return POLLNVAL };
                if !matches!(self.objects.get(id).map(|o| &o.body), Some(Body::Socket(s)) if !s.closed) {
                    return POLLNVAL;
                }
                let r = self.readiness(Some(id));
                let mut rev = 0;
                if r.read && !r.hup && events & POLLRDNORM != 0 {
                    rev |= POLLRDNORM;
                }
                if r.read && r.hup && sock(self, id).unread > 0 && events & POLLRDNORM != 0 {
                    rev |= POLLRDNORM;
                }
                if (r.write || r.except) && events & POLLWRNORM != 0 {
                    rev |= POLLWRNORM;
                }
                // Reported even when not asked for (SK-28).
                if r.hup {
                    rev |= POLLHUP;
                }
                if r.err {
                    rev |= POLLERR;
                }
                rev
            })
            .collect()
    }

    /// select (§22.26): the sets' ready sockets, or a wait for one (a time-out gives 0).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn select(
        &mut self,
        pid: Pid,
        tid: Tid,
        readfds: Option<Vec<HANDLE>>,
        writefds: Option<Vec<HANDLE>>,
        exceptfds: Option<Vec<HANDLE>>,
        timeout_ms: u32,
    ) -> Exec {
        if let Err(e) = self.wsa_ready(pid) {
            return Exec::Done(Reply::error(e));
        }
        let lists = [readfds.unwrap_or_default(), writefds.unwrap_or_default(), exceptfds.unwrap_or_default()];
        if lists.iter().all(Vec::is_empty) {
            // Nothing to wait for (SK-27).
            return Exec::Done(Reply::error(WSAEINVAL));
        }
        let mut sets: [Vec<(HANDLE, Option<ObjectId>)>; 3] = Default::default();
        for (k, list) in lists.iter().enumerate() {
            for &h in list {
                match self.socket_of(pid, tid, h) {
                    Ok(id) => sets[k].push((h, Some(id))),
                    // A handle that is not a socket: WSAENOTSOCK, sets unchanged (SK-27).
                    Err(e) => return Exec::Done(Reply::error(e)),
                }
            }
        }
        let out = self.select_now(&sets);
        if out.iter().map(Vec::len).sum::<usize>() > 0 || timeout_ms == 0 {
            return Exec::Done(Value::Select(Box::new(out)).into());
        }
        let deadline = self.deadline(timeout_ms);
        let op = self.new_op(tid, OpKind::SockSelect { sets: Box::new(sets) }, deadline);
        self.net.selects.push(op);
        Exec::Block(op)
    }

    /// WSAPoll (§22.27): revents per entry, the count of entries with any, or a wait.
    pub(crate) fn wsa_poll(&mut self, pid: Pid, tid: Tid, fds: Vec<(HANDLE, i16)>, timeout: i32) -> Exec {
        if let Err(e) = self.wsa_ready(pid) {
            return Exec::Done(Reply::error(e));
        }
        if fds.is_empty() {
            return Exec::Done(Reply::error(WSAEINVAL));
        }
        // Only the normal-data bits may be asked for (SK-28).
        if fds.iter().any(|&(_, ev)| ev & !(POLLRDNORM | POLLRDBAND | POLLWRNORM) != 0) {
            return Exec::Done(Reply::error(WSAEINVAL));
        }
        let entries: Vec<(Option<ObjectId>, i16)> =
            fds.iter().map(|&(h, ev)| (self.socket_of(pid, tid, h).ok(), ev)).collect();
        if entries.iter().all(|(id, _)| id.is_none()) {
            // Every handle invalid: -1, WSAENOTSOCK (SK-28).
            return Exec::Done(Reply::error(WSAENOTSOCK));
        }
        let revents = self.poll_now(&entries);
        if revents.iter().any(|&r| r != 0) || timeout == 0 {
            return Exec::Done(Value::Poll(revents).into());
        }
        let deadline = if timeout < 0 { None } else { self.deadline(timeout as u32) };
        let op = self.new_op(tid, OpKind::SockPoll { fds: entries }, deadline);
        self.net.selects.push(op);
        Exec::Block(op)
    }

    /// WSAEventSelect (§22.28): associates an event and an FD_ mask (0 cancels), clears the
    /// recorded events, makes the socket non-blocking, and records at once what already
    /// holds.
    pub(crate) fn wsa_event_select(&mut self, pid: Pid, tid: Tid, s: SOCKET, event: HANDLE, mask: u32) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let ev = if mask == 0 {
            None
        } else {
            Some(
                self.object_from_handle(pid, tid, event, Some(ObjectType::Event), EVENT_MODIFY_STATE)
                    .map_err(|_| WSAEINVAL)?,
            )
        };
        if mask & !FD_ALL_EVENTS != 0 {
            return Err(WSAEINVAL);
        }
        if let Some((old, _)) = sock_mut(self, id).event_select.take() {
            self.net.event_sockets.retain(|&x| x != id);
            self.release(old);
        }
        let so = sock_mut(self, id);
        so.net_events = 0;
        so.enabled = FD_ALL_EVENTS;
        so.nonblocking = true;
        if let Some(ev) = ev {
            sock_mut(self, id).event_select = Some((ev, mask));
            self.add_ref(ev);
            self.net.event_sockets.push(id);
            self.record_events(id);
        }
        Ok(Value::Long(0).into())
    }

    /// Records the network events whose condition holds and that are enabled, and sets the
    /// event if any was recorded (§22.28).
    fn record_events(&mut self, id: ObjectId) {
        let Some(Body::Socket(s)) = self.objects.get(id).map(|o| &o.body) else { return };
        let Some((ev, mask)) = s.event_select else { return };
        let r = self.readiness(Some(id));
        let s = sock(self, id);
        let mut now = 0;
        let tcp_connected = s.proto == Proto::Tcp && s.state == State::Connected;
        if (tcp_connected && s.unread > 0) || (s.proto == Proto::Udp && !s.datagrams.is_empty()) {
            now |= FD_READ;
        }
        if matches!(s.state, State::Listening { .. }) && !s.backlog.is_empty() {
            now |= FD_ACCEPT;
        }
        if r.write && (tcp_connected || s.proto == Proto::Udp) {
            now |= FD_WRITE;
        }
        if tcp_connected || s.state == State::Failed {
            now |= FD_CONNECT;
        }
        if tcp_connected && (s.error.is_some() || (s.eof && s.unread == 0)) {
            now |= FD_CLOSE;
        }
        let new = now & mask & s.enabled;
        if new == 0 {
            return;
        }
        let close_error = match s.error {
            Some(WSAECONNRESET) | Some(WSAECONNABORTED) => s.error.map_or(0, |e| e.0),
            _ => 0,
        };
        let connect_error = s.so_error;
        let so = sock_mut(self, id);
        so.net_events |= new;
        so.enabled &= !new;
        so.close_error = close_error;
        so.connect_error = connect_error;
        let tid = self.current.unwrap_or(0);
        let why = self.cause(|| format!("network events 0x{new:x} on {}", self.describe(id)));
        self.signal_event(ev, tid, crate::kernel::request::Api::WSAEventSelect, &why);
    }

    /// WSAEnumNetworkEvents (§22.28): the recorded events (cleared) with their error codes;
    /// resets the event when one is given.
    pub(crate) fn wsa_enum_network_events(&mut self, pid: Pid, tid: Tid, s: SOCKET, event: HANDLE) -> CallResult {
        let id = self.sock_call(pid, tid, s)?;
        let ev = if event.is_null() {
            None
        } else {
            Some(
                self.object_from_handle(pid, tid, event, Some(ObjectType::Event), EVENT_MODIFY_STATE)
                    .map_err(|_| WSAEINVAL)?,
            )
        };
        let so = sock_mut(self, id);
        let events = std::mem::take(&mut so.net_events);
        let mut errors = [0u32; FD_MAX_EVENTS];
        if events & FD_CONNECT != 0 {
            errors[FD_CONNECT_BIT] = so.connect_error;
        }
        if events & FD_CLOSE != 0 {
            errors[FD_CLOSE_BIT] = so.close_error;
        }
        if let Some(ev) = ev
            && let Body::Event(e) = &mut self.objects[ev].body
        {
            e.signalled = false;
        }
        Ok(Value::NetworkEvents(events, Box::new(errors)).into())
    }

    /// A call that re-enables network events was made on `id` (recv: FD_READ, accept:
    /// FD_ACCEPT, a send that would block: FD_WRITE).
    fn reenable(&mut self, id: ObjectId, bits: u32) {
        if let Some(Body::Socket(s)) = self.objects.get_mut(id).map(|o| &mut o.body) {
            s.enabled |= bits;
        }
    }
}

/// A socket's readiness.
#[derive(Clone, Copy, Debug, Default)]
struct Ready {
    read: bool,
    write: bool,
    except: bool,
    hup: bool,
    err: bool,
}

/// The last handle to a socket closed (§§22.15, 22.20): a listener refuses what waits for
/// accept; a connection closes gracefully (the peer's recv returns 0 after the data), or
/// abortively when bytes were unread here or SO_LINGER is {1, 0} (the peer's recv fails
/// with WSAECONNRESET and its unread bytes are discarded). Calls blocked on it end with
/// WSAEINTR [inferred].
pub(crate) fn socket_closed(k: &mut Kernel, id: ObjectId) {
    let why = k.cause(|| format!("{} closed", k.describe(id)));
    // Count it out of its owner's sockets.
    if let Some(pid) = sock(k, id).owner
        && let Some(n) = k.net.per_process.get_mut(&pid)
    {
        *n = n.saturating_sub(1);
        if *n == 0 {
            k.net.per_process.remove(&pid);
        }
    }
    if let Some((ev, _)) = sock_mut(k, id).event_select.take() {
        k.net.event_sockets.retain(|&x| x != id);
        k.release(ev);
    }
    let so = sock_mut(k, id);
    so.closed = true;
    let proto = so.proto;
    let local = so.local;
    let reads: Vec<OpId> = so.reads.drain(..).collect();
    let accepts: Vec<OpId> = so.accepts.drain(..).collect();
    let backlog: Vec<ObjectId> = so.backlog.drain(..).collect();
    let abortive = so.unread > 0 || (so.linger.l_onoff != 0 && so.linger.l_linger == 0);
    let peer = so.peer.take();
    let state = so.state;
    for op in reads.into_iter().chain(accepts) {
        let r = closed_reply(k, op);
        if let OpKind::SockAcceptEx { accept, .. } = k.ops[op].kind
            && let Some(Body::Socket(a)) = k.objects.get_mut(accept).map(|o| &mut o.body)
        {
            a.accept_for = None;
        }
        k.complete_op(op, r, &why);
    }
    // The AcceptEx using it as its accept socket ends (sock.c test_AcceptEx, SK-26).
    if let Some(op) = sock_mut(k, id).accept_for.take()
        && k.ops.contains_key(op)
    {
        k.unqueue_op(op);
        k.complete_op(op, Reply::error(ERROR_OPERATION_ABORTED), &why);
    }
    let connects: Vec<OpId> = k
        .net
        .connects
        .iter()
        .copied()
        .filter(|&op| matches!(k.ops[op].kind, OpKind::SockConnect { sock, .. } if sock == id))
        .collect();
    for op in connects {
        k.net.connects.retain(|&c| c != op);
        let r = closed_reply(k, op);
        k.complete_op(op, r, &why);
    }
    let host = sock(k, id).host;
    if let Some(p) = local.map(|a| (host, proto, a.port))
        && let Some(list) = k.net.bound.get_mut(&p)
    {
        list.retain(|&s| s != id);
        if list.is_empty() {
            k.net.bound.remove(&p);
        }
    }
    // Connections nobody accepted are reset.
    for conn in backlog {
        k.abort_connection(conn);
        discard(k, conn);
        k.release(conn);
    }
    // Its own blocked sends (queued in the peer's inbound) end.
    if let Some(p) = peer {
        let mine: Vec<OpId> = sock(k, p).inbound.iter().filter_map(|s| s.writer).collect();
        for seg in sock_mut(k, p).inbound.iter_mut() {
            seg.writer = None;
        }
        for w in mine {
            let r = closed_reply(k, w);
            k.complete_op(w, r, &why);
        }
        for w in k.flight_writers_from(id) {
            let r = closed_reply(k, w);
            k.complete_op(w, r, &why);
        }
        sock_mut(k, p).peer = None;
        if sock(k, p).host != host {
            // Across the network: the FIN or reset arrives later (§27.8).
            let shut = sock(k, id).shut_send;
            if abortive && state == State::Connected {
                k.tcp_close_remote(id, p, true);
            } else if !shut {
                k.tcp_close_remote(id, p, false);
            }
        } else if abortive && state == State::Connected {
            k.reset_socket(p, WSAECONNRESET);
        } else {
            // A FIN: the peer reads what is left, then 0 (§§22.14, 22.15).
            sock_mut(k, p).eof = true;
            k.reads_progress(p);
        }
    }
    discard(k, id);
    k.events_changed();
}

/// The status block of a completed overlapped socket operation: its NTSTATUS (OVERLAPPED
/// `Internal`), the Win32 error GetOverlappedResult and GetQueuedCompletionStatus report
/// (RtlNtStatusToDosError) and the Winsock error WSAGetOverlappedResult reports (§22.40).
/// The operation's reply carries the Winsock error.
pub(crate) fn completion_codes(status: Status) -> (u32, Option<Win32Error>, Option<Win32Error>) {
    let e = match status {
        Status::Success | Status::SuccessSetting(_) => return (0, None, None),
        Status::Pending => return (crate::api::STATUS_PENDING, None, None),
        Status::Warning(e) | Status::Error(e) => e,
    };
    let (nt, dos) = match e {
        // sock.c test_tcp_reset: Internal STATUS_CONNECTION_RESET, ERROR_NETNAME_DELETED.
        WSAECONNRESET => (0xC000_020D, ERROR_NETNAME_DELETED),
        // sock.c iocp_async_read_closesocket: STATUS_CONNECTION_ABORTED,
        // ERROR_CONNECTION_ABORTED.
        WSAECONNABORTED => (0xC000_0241, ERROR_CONNECTION_ABORTED),
        // STATUS_CANCELLED: ERROR_OPERATION_ABORTED = WSA_OPERATION_ABORTED (995).
        ERROR_OPERATION_ABORTED => (0xC000_0120, ERROR_OPERATION_ABORTED),
        // sock.c test_connect: ConnectEx to a closed port, ERROR_CONNECTION_REFUSED.
        WSAECONNREFUSED => (0xC000_0236, ERROR_CONNECTION_REFUSED),
        // [inferred] STATUS_IO_TIMEOUT, whose Win32 error is ERROR_SEM_TIMEOUT.
        WSAETIMEDOUT => (0xC000_00B5, ERROR_SEM_TIMEOUT),
        // STATUS_BUFFER_OVERFLOW: a datagram cut short (ERROR_MORE_DATA for the port).
        WSAEMSGSIZE => (0x8000_0005, ERROR_MORE_DATA),
        // sock.c test_AcceptEx (a local address size too small): STATUS_BUFFER_TOO_SMALL,
        // ERROR_INSUFFICIENT_BUFFER; the Winsock code WSAEFAULT [inferred].
        WSAEFAULT => (0xC000_0023, ERROR_INSUFFICIENT_BUFFER),
        // [inferred] anything else: STATUS_UNSUCCESSFUL, the Winsock code as is.
        other => (0xC000_0001, other),
    };
    (nt, Some(dos), Some(e))
}

/// What a pending operation on a closing socket ends with: a blocked call WSAEINTR; an
/// overlapped receive or send STATUS_CONNECTION_ABORTED (sock.c
/// iocp_async_read_closesocket); AcceptEx and ConnectEx STATUS_CANCELLED (sock.c
/// test_AcceptEx, SK-26; ConnectEx [inferred]).
fn closed_reply(k: &Kernel, op: OpId) -> Reply {
    let o = &k.ops[op];
    if matches!(o.target, crate::kernel::ops::Target::Thread) {
        return Reply::error(WSAEINTR);
    }
    match o.api {
        crate::kernel::request::Api::AcceptEx | crate::kernel::request::Api::ConnectEx => {
            Reply::error(ERROR_OPERATION_ABORTED)
        }
        _ => Reply::error(WSAECONNABORTED),
    }
}

/// Drops what a closing socket still holds (its unread bytes; blocked sends of its peer).
pub(crate) fn discard(k: &mut Kernel, id: ObjectId) {
    let why = k.cause(|| format!("{} closed", k.describe(id)));
    let so = sock_mut(k, id);
    let segs: Vec<Segment> = so.inbound.drain(..).collect();
    so.datagrams.clear();
    let n = std::mem::take(&mut so.unread);
    k.pipe_bytes -= n;
    for seg in segs {
        if let Some(w) = seg.writer {
            k.complete_op(w, Reply::error(WSAECONNRESET), &why);
        }
    }
}

/// Takes a socket operation off its queue (a time-out, a cancel, its thread ending).
pub(crate) fn unqueue(k: &mut Kernel, op: OpId) {
    match k.ops[op].kind {
        OpKind::SockRecv { sock: id, .. } => sock_mut(k, id).reads.retain(|&r| r != op),
        OpKind::SockAccept { sock: id } => sock_mut(k, id).accepts.retain(|&r| r != op),
        OpKind::SockAcceptEx { sock: id, accept, .. } => {
            sock_mut(k, id).accepts.retain(|&r| r != op);
            if let Some(Body::Socket(a)) = k.objects.get_mut(accept).map(|o| &mut o.body)
                && a.accept_for == Some(op)
            {
                a.accept_for = None;
            }
        }
        OpKind::SockConnect { sock: id, .. } => {
            k.net.connects.retain(|&c| c != op);
            if let Some(Body::Socket(s)) = k.objects.get_mut(id).map(|o| &mut o.body) {
                s.state = State::Open;
            }
        }
        OpKind::SockSend { peer, .. } => {
            for seg in sock_mut(k, peer).inbound.iter_mut() {
                if seg.writer == Some(op) {
                    seg.writer = None;
                }
            }
            k.flight_forget_writer(op);
        }
        OpKind::SockSelect { .. } | OpKind::SockPoll { .. } => k.net.selects.retain(|&s| s != op),
        _ => unreachable!("not a socket operation"),
    }
}

/// A socket operation's time-out (SO_RCVTIMEO, SO_SNDTIMEO: WSAETIMEDOUT), or a blocking
/// connect's retry.
pub(crate) fn timed_out(k: &mut Kernel, op: OpId) {
    if matches!(k.ops[op].kind, OpKind::SockConnect { .. }) {
        k.connect_retry(op);
        return;
    }
    k.unqueue_op(op);
    let reply = match &k.ops[op].kind {
        // select and WSAPoll return 0 at their time-out.
        OpKind::SockSelect { .. } => Value::Select(Default::default()).into(),
        OpKind::SockPoll { fds } => Value::Poll(vec![0; fds.len()]).into(),
        _ => Reply::error(WSAETIMEDOUT),
    };
    k.complete_op(op, reply, "time-out");
}

/// A socket operation's socket.
fn op_socket(k: &Kernel, op: OpId) -> ObjectId {
    match k.ops[op].kind {
        OpKind::SockRecv { sock, .. }
        | OpKind::SockAccept { sock }
        | OpKind::SockAcceptEx { sock, .. }
        | OpKind::SockConnect { sock, .. }
        | OpKind::SockSend { sock, .. } => sock,
        _ => unreachable!("not a socket operation"),
    }
}

/// The sockets a select or WSAPoll waits on, described.
fn waited_sockets(k: &Kernel, op: OpId) -> Option<Vec<String>> {
    let ids: Vec<ObjectId> = match &k.ops[op].kind {
        OpKind::SockSelect { sets } => sets.iter().flatten().filter_map(|&(_, id)| id).collect(),
        OpKind::SockPoll { fds } => fds.iter().filter_map(|&(id, _)| id).collect(),
        _ => return None,
    };
    Some(ids.into_iter().map(|id| k.describe(id)).collect())
}

/// What a socket operation waits for, in words.
pub(crate) fn op_reason(k: &Kernel, op: OpId) -> String {
    if let Some(list) = waited_sockets(k, op) {
        return format!("waits for one of [{}] to be ready", list.join(", "));
    }
    let id = op_socket(k, op);
    let d = k.describe(id);
    match k.ops[op].kind {
        OpKind::SockRecv { .. } => format!("waits for data on {d}"),
        OpKind::SockAccept { .. } => format!("waits for a connection on {d}"),
        OpKind::SockAcceptEx { accept, .. } => {
            format!("waits for a connection on {d} for {}", k.describe(accept))
        }
        OpKind::SockConnect { to, .. } => format!("connects {d} to {to}"),
        OpKind::SockSend { peer, .. } => {
            format!("waits for {} to read ({} unread byte(s))", k.describe(peer), sock(k, peer).unread)
        }
        _ => unreachable!("not a socket operation"),
    }
}

/// The wait-for edge of a socket operation: the socket, and the handles that keep its
/// peer open (a recv can see end of stream only when they are all closed).
pub(crate) fn op_wait_edges(k: &Kernel, op: OpId) -> Vec<WaitEdge> {
    if let Some(list) = waited_sockets(k, op) {
        return vec![WaitEdge::Socket {
            socket: list.join(", "),
            waits_for: format!("readiness ({})", k.ops[op].api),
            peer: None,
            peer_handles: Vec::new(),
        }];
    }
    let id = op_socket(k, op);
    let so = sock(k, id);
    let (what, other) = match k.ops[op].kind {
        OpKind::SockRecv { .. } => ("data or end of stream", so.peer),
        OpKind::SockAccept { .. } | OpKind::SockAcceptEx { .. } => ("a connection", None),
        OpKind::SockConnect { .. } => ("a listener", None),
        OpKind::SockSend { peer, .. } => ("the peer to read", Some(peer)),
        _ => unreachable!("not a socket operation"),
    };
    // A connection across hosts names its link (§27.9).
    let far = match k.ops[op].kind {
        OpKind::SockConnect { to, .. } => k.host_at(to.ip).filter(|&h| h != so.host),
        _ => other.map(|p| sock(k, p).host).or(so.remote.and_then(|r| k.host_at(r.ip))).filter(|&h| h != so.host),
    };
    let what = match far {
        Some(h) => format!("{what} over {}", k.link_words(so.host, h)),
        None => what.to_string(),
    };
    vec![WaitEdge::Socket {
        socket: k.describe(id),
        waits_for: what,
        peer: other.map(|p| k.describe(p)),
        peer_handles: other.map(|p| handle_refs(k, p)).unwrap_or_default(),
    }]
}

/// The threads that could complete a socket operation: those of the processes holding the
/// peer open (recv, send); nobody known for accept and connect (any process could).
pub(crate) fn op_releasers(k: &Kernel, op: OpId) -> Vec<Tid> {
    if waited_sockets(k, op).is_some() {
        return Vec::new();
    }
    let id = op_socket(k, op);
    let other = match k.ops[op].kind {
        OpKind::SockRecv { .. } => sock(k, id).peer,
        OpKind::SockSend { peer, .. } => Some(peer),
        _ => None,
    };
    other.map(|p| k.holder_threads(p)).unwrap_or_default()
}

/// A socket's state in words (deadlock report, trace descriptions).
pub(crate) fn state(s: &Socket) -> String {
    let local = s.local.map(|a| a.to_string()).unwrap_or_else(|| "unbound".into());
    let st = match s.state {
        State::Open => "open".to_string(),
        State::Listening { backlog } => format!("listening (backlog {backlog}, {} waiting)", s.backlog.len()),
        State::Connecting => "connecting".into(),
        State::Connected => format!(
            "connected to {}{}",
            s.remote.map(|a| a.to_string()).unwrap_or_default(),
            if s.peer.is_none() { ", peer closed" } else { "" }
        ),
        State::Failed => "connect failed".into(),
    };
    format!("{local} {st}, {} unread byte(s){}", s.unread, if s.eof { ", end of stream" } else { "" })
}

/// The label of a socket: `socket#2 tcp 127.0.0.1:8080`.
pub(crate) fn label(s: &Socket, serial: u32) -> String {
    let p = match s.proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
    };
    match s.local {
        Some(a) => format!("socket#{serial} {p} {a}"),
        None => format!("socket#{serial} {p}"),
    }
}
