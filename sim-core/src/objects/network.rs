//! Hosts and the simulated network between them (docs/semantics.md §27).
//!
//! A simulation has one or more hosts (`Config::network`): host 0 is the default host,
//! with loopback only unless configured; each further host has its own addresses, port
//! space and processes. Packets between hosts cross a link whose latency, bandwidth,
//! losses, duplication, reordering and partitions are configured; every fault that is a
//! matter of chance is a scheduler decision (`ChoiceKind::Network`), so a run replays,
//! shrinks and is searched like any other. What is in flight waits in `Net::flights`,
//! each entry with one timer-queue entry (`TimerKey::Net`) at its arrival time.
//!
//! **Simplifications** (each in §27): TCP's reliability is modelled by its effect: a
//! lost segment arrives one retransmission time-out later (doubling per loss), in order
//! behind what was sent before it; when every retransmission is lost the sender's
//! connection aborts. Acknowledgements are not modelled (their loss would only cause a
//! spurious retransmission). A connect's SYN and SYN-ACK cross or not together.

use super::socket::{Segment, SockAddr, State};
use super::{Body, ObjectId};
use crate::error::*;
use crate::kernel::Kernel;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::Reply;
use crate::kernel::sched::ChoiceKind;
use crate::kernel::time::{TICKS_PER_MS, TimerKey};
use crate::report::Outcome;
use crate::trace::EventKind;
use std::collections::BTreeMap;

/// The name of the default host (host 0, where the first process runs).
pub const LOCAL_HOST: &str = "local";
/// Windows' minimum retransmission time-out for data, 300 ms (`Get-NetTCPSetting`
/// MinRto; §27.8).
pub const MIN_RTO_MS: u64 = 300;
/// Retransmissions of a data segment before the connection is dropped:
/// TcpMaxDataRetransmissions, 5 by default (§27.8).
pub const MAX_DATA_RETRANSMISSIONS: u32 = 5;
/// The first SYN retransmission comes 3 s after the SYN (InitialRto 3000 ms), the next
/// 6 s later (§22.13, §27.7).
pub const SYN_RTO_MS: u64 = 3000;

/// A host.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its name.
    pub name: String,
    /// Its addresses besides loopback, host byte order.
    pub addrs: Vec<u32>,
}

/// A link's settings, resolved to host ids.
#[derive(Clone, Debug)]
pub struct Link {
    /// Sender.
    pub from: usize,
    /// Receiver.
    pub to: usize,
    /// The settings.
    pub cfg: crate::kernel::config::LinkConfig,
}

/// A connect in progress to another host.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The connecting socket (a reference is held while the handshake is in flight).
    pub client: ObjectId,
    /// Where to.
    pub to: SockAddr,
    /// The host that owns `to`.
    pub dest: usize,
    /// The blocking connect waiting (None for a non-blocking one).
    pub op: Option<OpId>,
    /// When the connect started (ticks).
    pub start: u64,
    /// SYNs sent so far.
    pub attempt: u32,
    /// When the first reset came back (refusal retries last `connect_refusal_ms`).
    pub first_rst: Option<u64>,
}

/// Something in flight on the network, delivered at its timer.
#[derive(Clone, Debug)]
pub enum Flight {
    /// TCP bytes (a reference is held on both sockets).
    Segment {
        /// The sending socket.
        from: ObjectId,
        /// The receiving socket.
        to: ObjectId,
        /// The bytes (and the blocked send they belong to).
        seg: Segment,
    },
    /// A FIN: the receiver's recv returns 0 after the bytes before it.
    Fin {
        /// The sender.
        from: ObjectId,
        /// The receiver.
        to: ObjectId,
    },
    /// A reset (abortive close).
    Reset {
        /// The sender.
        from: ObjectId,
        /// The receiver.
        to: ObjectId,
    },
    /// Every retransmission of a segment from `from` was lost: its connection aborts.
    Abort {
        /// The sender.
        from: ObjectId,
        /// Its peer then.
        to: ObjectId,
    },
    /// A UDP datagram for `dest` on host `host`.
    Datagram {
        /// The receiving host.
        host: usize,
        /// The destination address.
        dest: SockAddr,
        /// The source address.
        src: SockAddr,
        /// The sending socket (for the ICMP port-unreachable answer; a reference held).
        from: ObjectId,
        /// The payload.
        data: Vec<u8>,
    },
    /// ICMP port unreachable back to a UDP sender.
    PortUnreachable {
        /// The sender of the datagram.
        to: ObjectId,
    },
    /// A connect's next SYN goes out.
    SynSend(Handshake),
    /// The SYN reaches the destination host.
    SynArrive(Handshake),
    /// The SYN-ACK reaches the client: connected.
    Established(Handshake),
    /// A reset answers the SYN: nobody listens.
    Refused(Handshake),
    /// The connect gives up.
    ConnectFailed(Handshake, Win32Error),
    /// A partition begins or ends (a trace note only).
    PartitionNote(String),
}

impl Flight {
    /// The sockets it holds references on.
    pub(crate) fn refs(&self) -> Vec<ObjectId> {
        match self {
            Flight::Segment { from, to, .. }
            | Flight::Fin { from, to }
            | Flight::Reset { from, to }
            | Flight::Abort { from, to } => vec![*from, *to],
            Flight::Datagram { from, .. } => vec![*from],
            Flight::PortUnreachable { to } => vec![*to],
            Flight::SynSend(h)
            | Flight::SynArrive(h)
            | Flight::Established(h)
            | Flight::Refused(h)
            | Flight::ConnectFailed(h, _) => vec![h.client],
            Flight::PartitionNote(_) => Vec::new(),
        }
    }

    /// Payload bytes it carries (they count toward `pipe_bytes_max`).
    pub fn bytes(&self) -> u64 {
        match self {
            Flight::Segment { seg, .. } => (seg.data.len() - seg.off) as u64,
            Flight::Datagram { data, .. } => data.len() as u64,
            _ => 0,
        }
    }
}

/// The network's state (part of `socket::Net`).
#[derive(Debug, Default)]
pub struct Network {
    /// The hosts; index 0 is the default host. Empty until the run starts (then one host).
    pub hosts: Vec<Host>,
    /// Configured links, resolved.
    pub links: Vec<Link>,
    /// Partitions: (host a, host b, from tick, to tick).
    pub partitions: Vec<(usize, usize, u64, Option<u64>)>,
    /// What is in flight, by sequence number (each has a `TimerKey::Net` entry).
    pub flights: BTreeMap<u64, (u64, u64, Flight)>,
    /// The last sequence number given.
    pub next_flight: u64,
    /// When each directed link is free again (bandwidth-limited links only).
    pub busy_until: BTreeMap<(usize, usize), u64>,
}

impl Network {
    /// Bytes in flight (invariant: part of `Kernel::pipe_bytes`).
    pub fn flight_bytes(&self) -> u64 {
        self.flights.values().map(|(_, _, f)| f.bytes()).sum()
    }
}

/// The settings a packet from `a` to `b` sees.
#[derive(Clone, Debug)]
struct LinkNow {
    latency: u64,
    bandwidth: Option<u32>,
    drop: u16,
    dup: u16,
    reorder: u16,
    reorder_ms: u32,
}

fn ip_text(ip: u32) -> String {
    let b = ip.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

impl Kernel {
    /// Resolves the network configuration at the start of a run: hosts, links and
    /// partitions (partition notes go in the timer queue). A configuration that names an
    /// unknown host or gives one address to two hosts ends the run at once.
    pub(crate) fn net_boot(&mut self) -> Result<(), Box<Outcome>> {
        let n = &self.config.network;
        if n.hosts.is_empty() && n.links.is_empty() && n.partitions.is_empty() && self.net.is_fresh() {
            // What the code below makes of an empty configuration: the default host only.
            self.net.boot_default();
            return Ok(());
        }
        let cfg = self.config.network.clone();
        let bad = |detail: String| Box::new(Outcome::Unsupported { api: "Config::network".into(), detail });
        let mut hosts = vec![Host { name: LOCAL_HOST.into(), addrs: Vec::new() }];
        for h in &cfg.hosts {
            let i = match hosts.iter().position(|x| x.name.eq_ignore_ascii_case(&h.name)) {
                Some(i) => i,
                None => {
                    hosts.push(Host { name: h.name.clone(), addrs: Vec::new() });
                    hosts.len() - 1
                }
            };
            for a in &h.addrs {
                let ip = u32::from_be_bytes(*a);
                if ip == 0 || ip >> 24 == 127 || ip == u32::MAX {
                    return Err(bad(format!("host {} cannot have address {}", h.name, ip_text(ip))));
                }
                if hosts.iter().any(|x| x.addrs.contains(&ip)) {
                    return Err(bad(format!("address {} is given to two hosts", ip_text(ip))));
                }
                hosts[i].addrs.push(ip);
            }
        }
        let find = |name: &str| hosts.iter().position(|x| x.name.eq_ignore_ascii_case(name));
        let mut links = Vec::new();
        for l in &cfg.links {
            let (Some(a), Some(b)) = (find(&l.from), find(&l.to)) else {
                return Err(bad(format!("a link names an unknown host ({} -> {})", l.from, l.to)));
            };
            links.push(Link { from: a, to: b, cfg: l.clone() });
        }
        let mut parts = Vec::new();
        for p in &cfg.partitions {
            let (Some(a), Some(b)) = (find(&p.a), find(&p.b)) else {
                return Err(bad(format!("a partition names an unknown host ({} | {})", p.a, p.b)));
            };
            if p.to_ms.is_some_and(|t| t <= p.from_ms) {
                return Err(bad(format!("partition {} | {} ends before it starts", p.a, p.b)));
            }
            parts.push((a, b, p.from_ms * TICKS_PER_MS, p.to_ms.map(|t| t * TICKS_PER_MS)));
        }
        self.net.network.hosts = hosts;
        self.net.network.links = links;
        self.net.network.partitions = parts.clone();
        for (i, &(a, b, from, to)) in parts.iter().enumerate() {
            let (na, nb) = (self.host_name(a), self.host_name(b));
            let text = match to {
                Some(t) => format!(
                    "network: partition #{} between {na} and {nb} begins (heals at {} ms)",
                    i + 1,
                    t / TICKS_PER_MS
                ),
                None => format!("network: partition #{} between {na} and {nb} begins (it never heals)", i + 1),
            };
            self.schedule_flight_at(from, Flight::PartitionNote(text));
            if let Some(t) = to {
                let text = format!("network: partition #{} between {na} and {nb} heals", i + 1);
                self.schedule_flight_at(t, Flight::PartitionNote(text));
            }
        }
        Ok(())
    }

    /// Puts a process (not yet running) on host `h`, with a trace note.
    pub(crate) fn set_process_host(&mut self, pid: crate::kernel::Pid, h: usize) {
        self.process_mut(pid).host = h;
        let addrs: Vec<String> =
            self.net.network.hosts.get(h).map(|x| x.addrs.iter().map(|&a| ip_text(a)).collect()).unwrap_or_default();
        let addrs = if addrs.is_empty() { "loopback only".to_string() } else { addrs.join(", ") };
        let text = format!("P{pid} runs on host {} ({addrs})", self.host_name(h));
        let _ = self.push_process_event(pid, EventKind::Note { text });
    }

    /// A host's id by name (case-insensitive).
    pub(crate) fn host_id(&self, name: &str) -> Option<usize> {
        if self.net.network.hosts.is_empty() {
            return name.eq_ignore_ascii_case(LOCAL_HOST).then_some(0);
        }
        self.net.network.hosts.iter().position(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// A host's name.
    pub(crate) fn host_name(&self, h: usize) -> String {
        self.net.network.hosts.get(h).map(|x| x.name.clone()).unwrap_or_else(|| LOCAL_HOST.into())
    }

    /// Whether `ip` is an address of host `h` (loopback is every host's own).
    pub(crate) fn host_owns(&self, h: usize, ip: u32) -> bool {
        ip >> 24 == 127 || self.net.network.hosts.get(h).is_some_and(|x| x.addrs.contains(&ip))
    }

    /// The host that owns a non-loopback address.
    pub(crate) fn host_at(&self, ip: u32) -> Option<usize> {
        if ip >> 24 == 127 {
            return None;
        }
        self.net.network.hosts.iter().position(|x| x.addrs.contains(&ip))
    }

    /// The address a socket of host `h` sends from when bound to the wildcard.
    pub(crate) fn host_addr(&self, h: usize) -> u32 {
        self.net.network.hosts.get(h).and_then(|x| x.addrs.first().copied()).unwrap_or(crate::types::INADDR_LOOPBACK)
    }

    fn link_now(&self, a: usize, b: usize) -> LinkNow {
        let found = self
            .net
            .network
            .links
            .iter()
            .rev()
            .find(|l| (l.from == a && l.to == b) || (l.cfg.both_ways && l.from == b && l.to == a));
        match found {
            Some(l) => LinkNow {
                latency: u64::from(l.cfg.latency_ms) * TICKS_PER_MS,
                bandwidth: l.cfg.bandwidth.filter(|&b| b > 0),
                drop: l.cfg.drop_permille,
                dup: l.cfg.duplicate_permille,
                reorder: l.cfg.reorder_permille,
                reorder_ms: l.cfg.reorder_ms,
            },
            None => LinkNow {
                latency: u64::from(self.config.network.default_latency_ms) * TICKS_PER_MS,
                bandwidth: None,
                drop: 0,
                dup: 0,
                reorder: 0,
                reorder_ms: 0,
            },
        }
    }

    /// Whether a partition cuts `a` from `b` at tick `t`.
    pub(crate) fn partitioned(&self, a: usize, b: usize, t: u64) -> bool {
        self.net.network.partitions.iter().any(|&(x, y, from, to)| {
            ((x == a && y == b) || (x == b && y == a)) && from <= t && to.is_none_or(|to| t < to)
        })
    }

    /// Whether a fault of chance `permille` happens: a `ChoiceKind::Network` decision
    /// between 1 and 999 permille, none otherwise.
    fn net_fault(&mut self, permille: u16) -> bool {
        match permille {
            0 => false,
            p if p >= 1000 => true,
            p => self.choose(ChoiceKind::Network, &[0, u32::from(p)]) != 0,
        }
    }

    /// When `len` bytes put on the link `a -> b` at `t` have all arrived (bandwidth and
    /// the link's queue), before latency.
    fn transmit(&mut self, a: usize, b: usize, t: u64, len: usize, link: &LinkNow) -> u64 {
        let Some(bw) = link.bandwidth else { return t };
        let start = self.net.network.busy_until.get(&(a, b)).copied().unwrap_or(0).max(t);
        let dur = (len as u64 * TICKS_PER_MS).div_ceil(u64::from(bw));
        let end = start + dur;
        self.net.network.busy_until.insert((a, b), end);
        end
    }

    fn schedule_flight_at(&mut self, due: u64, f: Flight) {
        for id in f.refs() {
            self.add_ref(id);
        }
        self.net.network.next_flight += 1;
        let n = self.net.network.next_flight;
        let seq = self.next_timer_seq();
        self.net.network.flights.insert(n, (due, seq, f));
        self.timers.insert((due, seq, TimerKey::Net(n)));
    }

    /// Takes flights out of the queue (their timers too), releasing nothing.
    fn unschedule(&mut self, pred: impl Fn(&Flight) -> bool) -> Vec<Flight> {
        let keys: Vec<u64> =
            self.net.network.flights.iter().filter(|(_, (_, _, f))| pred(f)).map(|(&k, _)| k).collect();
        let mut out = Vec::new();
        for k in keys {
            let (due, seq, f) = self.net.network.flights.remove(&k).expect("listed");
            self.timers.remove(&(due, seq, TimerKey::Net(k)));
            out.push(f);
        }
        out
    }

    fn release_flight(&mut self, f: &Flight) {
        self.pipe_bytes -= f.bytes();
        for id in f.refs() {
            self.release(id);
        }
    }

    /// A TCP packet (segment or FIN) from host `a` to `b` sent now: its arrival tick, or
    /// `Err(t)` when every retransmission is lost (the connection aborts at `t`). Each
    /// loss is a partition or a `ChoiceKind::Network` decision; each retransmission comes
    /// one time-out later, the time-out doubling (§27.8).
    fn tcp_arrival(&mut self, a: usize, b: usize, len: usize) -> (Result<u64, u64>, u32) {
        let link = self.link_now(a, b);
        let rto = (MIN_RTO_MS * TICKS_PER_MS).max(link.latency * 6);
        let mut t = self.now;
        let mut wait = rto;
        for i in 0..=MAX_DATA_RETRANSMISSIONS {
            let lost = self.partitioned(a, b, t) || self.net_fault(link.drop);
            if !lost {
                let sent = self.transmit(a, b, t, len, &link);
                return (Ok(sent + link.latency), i);
            }
            t += wait;
            wait *= 2;
        }
        (Err(t), MAX_DATA_RETRANSMISSIONS + 1)
    }

    /// Bytes from `from` to its peer `to` on another host (§27.8): in flight until they
    /// arrive, in order behind what `from` sent before. Returns what the send's trace says.
    pub(crate) fn tcp_send_remote(&mut self, from: ObjectId, to: ObjectId, seg: Segment) -> String {
        let (a, b) = (self.sock_host(from), self.sock_host(to));
        let n = seg.data.len();
        let (arrival, lost) = self.tcp_arrival(a, b, n);
        let after = self.sock_last_arrival(from);
        match arrival {
            Ok(t) => {
                let t = t.max(after);
                self.set_last_arrival(from, t);
                self.schedule_flight_at(t, Flight::Segment { from, to, seg });
                let re = if lost > 0 { format!(" after {lost} retransmission(s)") } else { String::new() };
                format!("{n} byte(s) in flight to {}: they arrive at {} ms{re}", self.host_name(b), t / TICKS_PER_MS)
            }
            Err(t) => {
                let t = t.max(after);
                self.set_last_arrival(from, t);
                // The bytes stay in flight (counted) until the abort discards them.
                self.schedule_flight_at(t, Flight::Segment { from, to, seg });
                self.schedule_abort(from, to, t);
                format!(
                    "{n} byte(s) to {}: every transmission lost; the connection aborts at {} ms",
                    self.host_name(b),
                    t / TICKS_PER_MS
                )
            }
        }
    }

    fn schedule_abort(&mut self, from: ObjectId, to: ObjectId, t: u64) {
        let already =
            self.net.network.flights.values().any(|(_, _, f)| matches!(f, Flight::Abort { from: x, .. } if *x == from));
        if !already {
            // Scheduled after the segment at the same tick, so the abort fires first only
            // if it was scheduled first: the abort discards what is still in flight.
            self.schedule_flight_at(t.saturating_sub(1).max(self.now), Flight::Abort { from, to });
        }
    }

    /// A FIN (graceful) or a reset (abortive) from `from` to `to` on another host.
    pub(crate) fn tcp_close_remote(&mut self, from: ObjectId, to: ObjectId, abortive: bool) {
        let (a, b) = (self.sock_host(from), self.sock_host(to));
        let after = self.sock_last_arrival(from);
        if abortive {
            // A reset is sent once (RFC 793): lost, the peer never learns.
            let link = self.link_now(a, b);
            if self.partitioned(a, b, self.now) || self.net_fault(link.drop) {
                let text = format!("network: reset to {} lost", self.host_name(b));
                let _ = self.push_process_event(0, EventKind::Note { text });
                return;
            }
            let t = self.now + link.latency;
            self.schedule_flight_at(t, Flight::Reset { from, to });
            return;
        }
        let (arrival, _) = self.tcp_arrival(a, b, 0);
        match arrival {
            Ok(t) => {
                let t = t.max(after);
                self.set_last_arrival(from, t);
                self.schedule_flight_at(t, Flight::Fin { from, to });
            }
            Err(t) => self.schedule_abort(from, to, t.max(after)),
        }
    }

    /// A UDP datagram from socket `from` (address `src`) to `dest` on host `b` (§27.5):
    /// lost in a partition or by a drop decision, perhaps duplicated, perhaps held back.
    pub(crate) fn udp_send_remote(
        &mut self,
        from: ObjectId,
        src: SockAddr,
        dest: SockAddr,
        b: usize,
        data: Vec<u8>,
    ) -> String {
        let a = self.sock_host(from);
        let link = self.link_now(a, b);
        let n = data.len();
        if self.partitioned(a, b, self.now) {
            return format!("datagram to {dest} lost: {} and {} are partitioned", self.host_name(a), self.host_name(b));
        }
        if self.net_fault(link.drop) {
            return format!("datagram to {dest} dropped by the network");
        }
        let copies = if self.net_fault(link.dup) { 2 } else { 1 };
        let mut times = Vec::new();
        for _ in 0..copies {
            let held = if self.net_fault(link.reorder) { u64::from(link.reorder_ms) * TICKS_PER_MS } else { 0 };
            let sent = self.transmit(a, b, self.now, n, &link);
            let t = sent + link.latency + held;
            self.pipe_bytes += n as u64;
            self.schedule_flight_at(t, Flight::Datagram { host: b, dest, src, from, data: data.clone() });
            times.push(format!("{} ms{}", t / TICKS_PER_MS, if held > 0 { " (held back)" } else { "" }));
        }
        let dup = if copies > 1 { " twice (duplicated)" } else { "" };
        format!("datagram of {n} byte(s) in flight to {dest}{dup}: arrives at {}", times.join(" and "))
    }

    /// A connect to `to` on host `dest` (§27.7): the SYN goes out now.
    pub(crate) fn connect_remote(&mut self, client: ObjectId, to: SockAddr, dest: usize, op: Option<OpId>) {
        let hs = Handshake { client, to, dest, op, start: self.now, attempt: 0, first_rst: None };
        self.schedule_flight_at(self.now, Flight::SynSend(hs));
    }

    fn sock_host(&self, id: ObjectId) -> usize {
        match &self.objects[id].body {
            Body::Socket(s) => s.host,
            _ => 0,
        }
    }

    fn sock_last_arrival(&self, id: ObjectId) -> u64 {
        match &self.objects[id].body {
            Body::Socket(s) => s.last_arrival,
            _ => 0,
        }
    }

    fn set_last_arrival(&mut self, id: ObjectId, t: u64) {
        if let Body::Socket(s) = &mut self.objects[id].body {
            s.last_arrival = t;
        }
    }

    /// Whether a handshake still matters: its socket is open and connecting and its
    /// blocking connect (if any) still waits.
    fn handshake_live(&self, hs: &Handshake) -> bool {
        let open =
            matches!(&self.objects[hs.client].body, Body::Socket(s) if !s.closed && s.state == State::Connecting);
        let waiting = hs.op.is_none_or(|op| {
            self.net.connects.contains(&op)
                && matches!(self.ops.get(op).map(|o| &o.kind), Some(OpKind::SockConnect { sock, .. }) if *sock == hs.client)
        });
        open && waiting
    }

    /// A flight's timer came.
    pub(crate) fn net_deliver(&mut self, n: u64) {
        let Some((_, _, f)) = self.net.network.flights.remove(&n) else { return };
        self.deliver_flight(&f);
        for id in f.refs() {
            self.release(id);
        }
    }

    fn note_net(&mut self, text: String) {
        let ev = self.push_process_event(0, EventKind::Note { text });
        self.cause_event = ev;
    }

    fn deliver_flight(&mut self, f: &Flight) {
        match f {
            Flight::PartitionNote(text) => {
                let text = text.clone();
                self.note_net(text);
            }
            Flight::Segment { from, to, seg } => {
                let (from, to) = (*from, *to);
                let n = (seg.data.len() - seg.off) as u64;
                let ok =
                    matches!(&self.objects[to].body, Body::Socket(s) if !s.closed && s.error.is_none() && !s.shut_recv);
                if let Body::Socket(s) = &mut self.objects[to].body {
                    s.incoming = s.incoming.saturating_sub(n);
                }
                if !ok {
                    self.pipe_bytes -= n;
                    let text =
                        format!("network: {n} byte(s) for {} discarded: it is closed or reset", self.describe(to));
                    self.note_net(text);
                    if let Some(w) = seg.writer {
                        self.complete_op(w, Reply::error(WSAECONNRESET), "the peer is gone");
                    }
                    return;
                }
                let text = format!(
                    "network: {n} byte(s) from {} ({}) delivered to {}",
                    self.describe(from),
                    self.host_name(self.sock_host(from)),
                    self.describe(to)
                );
                self.note_net(text);
                self.tcp_arrived(to, seg.clone());
            }
            Flight::Fin { from, to } => {
                let to = *to;
                if matches!(&self.objects[to].body, Body::Socket(s) if !s.closed) {
                    let text =
                        format!("network: end of stream from {} reaches {}", self.describe(*from), self.describe(to));
                    self.note_net(text);
                    self.tcp_fin_arrived(to);
                }
            }
            Flight::Reset { from, to } => {
                let to = *to;
                if matches!(&self.objects[to].body, Body::Socket(s) if !s.closed && s.error.is_none()) {
                    let text = format!("network: reset from {} reaches {}", self.describe(*from), self.describe(to));
                    self.note_net(text);
                    self.tcp_reset_arrived(to, WSAECONNRESET);
                }
            }
            Flight::Abort { from, to } => {
                let (from, to) = (*from, *to);
                // What the sender still has in flight to `to` goes.
                let gone = self.unschedule(|g| {
                    matches!(g, Flight::Segment { from: x, to: y, .. } | Flight::Fin { from: x, to: y }
                        if *x == from && *y == to)
                });
                let mut writers = Vec::new();
                for g in &gone {
                    if let Flight::Segment { seg, .. } = g {
                        if let Body::Socket(s) = &mut self.objects[to].body {
                            s.incoming = s.incoming.saturating_sub((seg.data.len() - seg.off) as u64);
                        }
                        writers.extend(seg.writer);
                    }
                }
                for g in &gone {
                    self.release_flight(g);
                }
                let text = format!(
                    "network: {} gave up retransmitting to {}: the connection is aborted",
                    self.describe(from),
                    self.describe(to)
                );
                self.note_net(text);
                for w in writers {
                    self.complete_op(w, Reply::error(WSAECONNABORTED), "retransmissions timed out");
                }
                let linked = matches!(&self.objects[to].body, Body::Socket(s) if s.peer == Some(from));
                if linked && let Body::Socket(s) = &mut self.objects[to].body {
                    // The peer is not told: without keep-alives it waits on (§27.8).
                    s.peer = None;
                }
                if matches!(&self.objects[from].body, Body::Socket(s) if !s.closed && s.error.is_none()) {
                    self.tcp_reset_arrived(from, WSAECONNABORTED);
                }
                self.events_changed();
            }
            Flight::Datagram { host, dest, src, from, data } => {
                let n = data.len() as u64;
                self.pipe_bytes -= n;
                let text = self.udp_arrived(*host, *dest, *src, *from, data.clone());
                self.note_net(text);
            }
            Flight::PortUnreachable { to } => {
                if let Body::Socket(s) = &mut self.objects[*to].body
                    && !s.closed
                {
                    s.port_unreachable = true;
                    let text = format!("network: ICMP port unreachable reaches {}", self.describe(*to));
                    self.note_net(text);
                    self.udp_reads_progress(*to);
                }
            }
            Flight::SynSend(hs) => self.syn_send(hs.clone()),
            Flight::SynArrive(hs) => self.syn_arrive(hs.clone()),
            Flight::Established(hs) => {
                if !self.handshake_live(hs) {
                    return;
                }
                let text = format!("network: {} connected to {}", self.describe(hs.client), hs.to);
                self.note_net(text);
                self.remote_connected(hs.client, hs.op);
            }
            Flight::Refused(hs) => {
                if !self.handshake_live(hs) {
                    return;
                }
                let mut hs = hs.clone();
                let first = *hs.first_rst.get_or_insert(self.now);
                let text = format!("network: {} refused the connection of {}", hs.to, self.describe(hs.client));
                self.note_net(text);
                let total = u64::from(self.config.connect_refusal_ms) * TICKS_PER_MS;
                if self.now >= first + total {
                    self.remote_connect_failed(hs.client, hs.op, WSAECONNREFUSED);
                } else {
                    let t = (self.now + u64::from(super::socket::CONNECT_RETRY_MS) * TICKS_PER_MS).min(first + total);
                    self.schedule_flight_at(t, Flight::SynSend(hs));
                }
            }
            Flight::ConnectFailed(hs, e) => {
                if !self.handshake_live(hs) {
                    return;
                }
                let text = format!("network: no answer from {}: {} gives up", hs.to, self.describe(hs.client));
                self.note_net(text);
                self.remote_connect_failed(hs.client, hs.op, *e);
            }
        }
    }

    /// A connect's SYN (and the SYN-ACK back) crosses, or is lost and sent again 3 s,
    /// then 6 s later, the connect failing with WSAETIMEDOUT at `connect_timeout_ms`.
    fn syn_send(&mut self, mut hs: Handshake) {
        if !self.handshake_live(&hs) {
            return;
        }
        let a = self.sock_host(hs.client);
        let b = hs.dest;
        let there = self.link_now(a, b);
        let back = self.link_now(b, a);
        let lost = self.partitioned(a, b, self.now)
            || self.partitioned(b, a, self.now + there.latency)
            || self.net_fault(there.drop)
            || self.net_fault(back.drop);
        hs.attempt += 1;
        if !lost {
            self.schedule_flight_at(self.now + there.latency, Flight::SynArrive(hs));
            return;
        }
        let give_up = hs.start + u64::from(self.config.connect_timeout_ms) * TICKS_PER_MS;
        // SYNs at 0, 3 and 9 s (InitialRto 3 s, doubling).
        let next = hs.start + SYN_RTO_MS * TICKS_PER_MS * ((1u64 << hs.attempt) - 1);
        let text = format!("network: SYN #{} of {} to {} lost", hs.attempt, self.describe(hs.client), hs.to);
        self.note_net(text);
        if hs.attempt <= 2 && next < give_up && hs.first_rst.is_none() {
            self.schedule_flight_at(next, Flight::SynSend(hs));
        } else if hs.first_rst.is_some() {
            // Retrying after a reset: the refusal window decides.
            let t = self.now + u64::from(super::socket::CONNECT_RETRY_MS) * TICKS_PER_MS;
            let first = hs.first_rst.unwrap_or(self.now);
            let total = u64::from(self.config.connect_refusal_ms) * TICKS_PER_MS;
            if t >= first + total {
                self.schedule_flight_at(first + total, Flight::ConnectFailed(hs, WSAECONNREFUSED));
            } else {
                self.schedule_flight_at(t, Flight::SynSend(hs));
            }
        } else {
            self.schedule_flight_at(give_up.max(self.now), Flight::ConnectFailed(hs, WSAETIMEDOUT));
        }
    }

    /// The SYN reaches the destination host: a listener takes the connection (the
    /// SYN-ACK goes back), or a reset answers.
    fn syn_arrive(&mut self, hs: Handshake) {
        if !self.handshake_live(&hs) {
            return;
        }
        let a = self.sock_host(hs.client);
        let back = self.link_now(hs.dest, a);
        let t = self.now + back.latency;
        let text = format!("network: SYN from {} reaches {}", self.describe(hs.client), hs.to);
        self.note_net(text);
        if self.establish_remote(hs.client, hs.to, hs.dest) {
            self.schedule_flight_at(t, Flight::Established(hs));
        } else {
            let text = format!("network: nobody listens on {}: a reset goes back", hs.to);
            self.note_net(text);
            self.schedule_flight_at(t, Flight::Refused(hs));
        }
    }

    /// Discards what is in flight to or from a socket whose handles are all closed and
    /// that nobody can read (flights to it are dropped when they arrive).
    pub(crate) fn flight_writers_from(&mut self, from: ObjectId) -> Vec<OpId> {
        let mut out = Vec::new();
        for (_, _, f) in self.net.network.flights.values_mut() {
            if let Flight::Segment { from: x, seg, .. } = f
                && *x == from
            {
                out.extend(seg.writer.take());
            }
        }
        out
    }

    /// Forgets a blocked send's op in the flights (its time-out or cancel).
    pub(crate) fn flight_forget_writer(&mut self, op: OpId) {
        for (_, _, f) in self.net.network.flights.values_mut() {
            if let Flight::Segment { seg, .. } = f
                && seg.writer == Some(op)
            {
                seg.writer = None;
            }
        }
    }

    /// The network link a socket's connection crosses, in words (deadlock reports).
    pub(crate) fn link_words(&self, a: usize, b: usize) -> String {
        let cut = self
            .net
            .network
            .partitions
            .iter()
            .filter(|&&(x, y, from, to)| {
                ((x == a && y == b) || (x == b && y == a)) && from <= self.now && to.is_none_or(|to| self.now < to)
            })
            .map(|&(_, _, _, to)| match to {
                Some(t) => format!(", partitioned until {} ms", t / TICKS_PER_MS),
                None => ", partitioned for good".to_string(),
            })
            .next()
            .unwrap_or_default();
        format!("the network link {} <-> {}{cut}", self.host_name(a), self.host_name(b))
    }

    /// Whether a UDP datagram `dest` is on a host other than `a`; that host.
    pub(crate) fn remote_host_of(&self, a: usize, ip: u32) -> Option<usize> {
        if self.host_owns(a, ip) {
            return None;
        }
        self.host_at(ip).filter(|&b| b != a)
    }

    /// Schedules an ICMP port unreachable back to `from` (if the link carries it).
    pub(crate) fn icmp_back(&mut self, from: ObjectId, b: usize) {
        let a = self.sock_host(from);
        let link = self.link_now(b, a);
        if self.partitioned(b, a, self.now) {
            return;
        }
        self.schedule_flight_at(self.now + link.latency, Flight::PortUnreachable { to: from });
    }
}
