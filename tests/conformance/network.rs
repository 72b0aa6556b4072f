//! Hosts and the simulated network (docs/semantics.md §27): sockets on different hosts
//! reach each other through links with latency, bandwidth, drops, duplication, reordering
//! and partitions, every chance fault a recorded scheduler decision. Each test names the
//! §27 fact it checks (each fact gives its primary source); [inferred] marks a modelling
//! choice no Windows test checks directly.

use sim_core::prelude::*;
use sim_core::{ChoiceKind, Decision};
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

/// The client host's address (the default host, `local`).
const CLIENT_IP: [u8; 4] = [10, 0, 0, 1];
/// The server host's address.
const SERVER_IP: [u8; 4] = [10, 0, 0, 2];
const PORT: u16 = 7000;

fn ip(a: [u8; 4]) -> u32 {
    u32::from_be_bytes(a)
}

fn server_addr() -> SOCKADDR_IN {
    SOCKADDR_IN::new(ip(SERVER_IP), PORT)
}

/// Runs `client` as the first process on `local` (10.0.0.1) and `server` on host
/// `server` (10.0.0.2).
fn two_hosts<C, CF, S, SF>(config: Config, client: C, server: S) -> RunReport
where
    C: Fn(ThreadCtx) -> CF + 'static,
    CF: Future<Output = u32> + 'static,
    S: Fn(ThreadCtx) -> SF + 'static,
    SF: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(config);
    sim.host("local", CLIENT_IP).host("server", SERVER_IP);
    sim.program("client.exe", client);
    sim.program("server.exe", server);
    sim.start_on("server", "server.exe");
    sim.run("client.exe")
}

fn with_link(mut c: Config, link: LinkConfig) -> Config {
    c.network.links.push(link);
    c
}

fn partition(mut c: Config, from_ms: u64, to_ms: Option<u64>) -> Config {
    c.network.partitions.push(PartitionConfig { a: "local".into(), b: "server".into(), from_ms, to_ms });
    c
}

#[track_caller]
fn completed_ok(r: &RunReport) {
    match &r.outcome {
        Outcome::Completed { exit_codes } => {
            assert!(exit_codes.iter().all(|e| e.2 == 0), "exit codes {exit_codes:?}\n{}", r.trace_text())
        }
        _ => panic!("run did not complete:\n{}\n{}", r.summary(), r.trace_text()),
    }
}

async fn startup(ctx: &ThreadCtx) {
    assert_eq!(ctx.wsa_startup(MAKEWORD(2, 2), None).await, 0);
}

async fn tcp(ctx: &ThreadCtx) -> SOCKET {
    let s = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    assert_ne!(s, INVALID_SOCKET);
    s
}

async fn udp(ctx: &ThreadCtx) -> SOCKET {
    let s = ctx.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).await;
    assert_ne!(s, INVALID_SOCKET);
    s
}

/// A listener on 0.0.0.0:PORT, accepting one connection.
async fn accept_one(ctx: &ThreadCtx) -> SOCKET {
    let l = tcp(ctx).await;
    let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
    assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0, "bind {}", ctx.wsa_get_last_error());
    assert_eq!(ctx.listen(l, 5).await, 0);
    let s = ctx.accept(l, None, None).await;
    assert_ne!(s, INVALID_SOCKET, "accept {}", ctx.wsa_get_last_error());
    assert_eq!(ctx.closesocket(l).await, 0);
    s
}

async fn recv_all(ctx: &ThreadCtx, s: SOCKET, total: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < total {
        let mut buf = vec![0u8; total - out.len()];
        let want = buf.len() as i32;
        let n = ctx.recv(s, &mut buf, want, 0).await;
        assert!(n > 0, "recv {n}: {}", ctx.wsa_get_last_error());
        out.extend_from_slice(&buf[..n as usize]);
    }
    out
}

async fn connect_server(ctx: &ThreadCtx) -> SOCKET {
    let c = tcp(ctx).await;
    let a = server_addr();
    // The server may not listen yet (refused), or a lossy link may lose every SYN (timed
    // out): retry.
    loop {
        if ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await == 0 {
            return c;
        }
        let e = ctx.wsa_get_last_error();
        assert!(e == WSAECONNREFUSED.0 as i32 || e == WSAETIMEDOUT.0 as i32, "connect: {e}");
    }
}

/// §27.1, §27.2, §27.7: a socket on one host connects to a listener on another through
/// the network; both ends see the hosts' addresses (getsockname/getpeername), and the
/// bytes cross whole and in order.
#[test]
fn cross_host_connect_accept_send_recv() {
    let r = two_hosts(
        Config::random(1),
        |ctx| async move {
            startup(&ctx).await;
            let c = connect_server(&ctx).await;
            let mut a = SOCKADDR_IN::default();
            let mut len = SOCKADDR_IN_LEN;
            assert_eq!(ctx.getsockname(c, Some(&mut a), Some(&mut len)).await, 0);
            assert_eq!(a.addr(), ip(CLIENT_IP), "the client sends from its host's address");
            assert_eq!(ctx.send(c, b"ping", 4, 0).await, 4);
            assert_eq!(recv_all(&ctx, c, 4).await, b"pong");
            assert_eq!(ctx.closesocket(c).await, 0);
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            let mut a = SOCKADDR_IN::default();
            let mut len = SOCKADDR_IN_LEN;
            assert_eq!(ctx.getpeername(s, Some(&mut a), Some(&mut len)).await, 0);
            assert_eq!(a.addr(), ip(CLIENT_IP));
            assert_eq!(ctx.getsockname(s, Some(&mut a), Some(&mut len)).await, 0);
            assert_eq!(a.addr(), ip(SERVER_IP));
            assert_eq!(a.port(), PORT);
            assert_eq!(recv_all(&ctx, s, 4).await, b"ping");
            assert_eq!(ctx.send(s, b"pong", 4, 0).await, 4);
            // The client's FIN crosses after its data: end of stream.
            let mut buf = [0u8; 8];
            assert_eq!(ctx.recv(s, &mut buf, 8, 0).await, 0);
            assert_eq!(ctx.closesocket(s).await, 0);
            0
        },
    );
    completed_ok(&r);
    assert!(r.trace_text().contains("network:"), "the trace shows the network");
}

/// §27.2: each host has its own loopback and ports: both hosts bind 127.0.0.1:PORT and
/// 0.0.0.0:PORT; 127.0.0.1 on one host does not reach the other; binding another host's
/// address is WSAEADDRNOTAVAIL.
#[test]
fn loopback_and_ports_are_per_host() {
    let r = two_hosts(
        Config::round_robin(),
        |ctx| async move {
            startup(&ctx).await;
            let l = tcp(&ctx).await;
            let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
            assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0, "the same port on another host is free");
            let other = tcp(&ctx).await;
            let b = SOCKADDR_IN::new(ip(SERVER_IP), 0);
            assert_eq!(ctx.bind(other, Some(&b), SOCKADDR_IN_LEN).await, SOCKET_ERROR);
            assert_eq!(ctx.wsa_get_last_error(), WSAEADDRNOTAVAIL.0 as i32);
            // Nobody listens on this host's loopback (the server host's listener is not
            // reached): refused.
            let c = tcp(&ctx).await;
            let lo = SOCKADDR_IN::new(INADDR_LOOPBACK, PORT + 1);
            assert_eq!(ctx.connect(c, Some(&lo), SOCKADDR_IN_LEN).await, SOCKET_ERROR);
            assert_eq!(ctx.wsa_get_last_error(), WSAECONNREFUSED.0 as i32);
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let l = tcp(&ctx).await;
            let a = SOCKADDR_IN::new(INADDR_LOOPBACK, PORT + 1);
            assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
            assert_eq!(ctx.listen(l, 5).await, 0);
            let l2 = tcp(&ctx).await;
            let a2 = SOCKADDR_IN::new(INADDR_ANY, PORT);
            assert_eq!(ctx.bind(l2, Some(&a2), SOCKADDR_IN_LEN).await, 0);
            ctx.sleep(5000).await;
            0
        },
    );
    completed_ok(&r);
}

/// §27.4: a link's latency shows in virtual time: the connect takes one round trip, a
/// message one way.
#[test]
fn latency_is_visible_in_virtual_time() {
    let c = with_link(Config::round_robin(), LinkConfig::new("local", "server", 50));
    let r = two_hosts(
        c,
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(100).await;
            let c = tcp(&ctx).await;
            let a = server_addr();
            let t0 = ctx.get_tick_count().await;
            assert_eq!(ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await, 0);
            assert_eq!(ctx.get_tick_count().await - t0, 100, "one round trip of 2 x 50 ms");
            let t1 = ctx.get_tick_count().await;
            assert_eq!(ctx.send(c, b"x", 1, 0).await, 1);
            assert_eq!(recv_all(&ctx, c, 1).await, b"y");
            assert_eq!(ctx.get_tick_count().await - t1, 100, "there and back");
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            assert_eq!(recv_all(&ctx, s, 1).await, b"x");
            assert_eq!(ctx.send(s, b"y", 1, 0).await, 1);
            ctx.sleep(1000).await;
            0
        },
    );
    completed_ok(&r);
}

/// §27.4: a bandwidth-limited link takes len / bandwidth ms to carry the bytes.
#[test]
fn bandwidth_delays_large_sends() {
    let mut link = LinkConfig::new("local", "server", 10);
    link.bandwidth = Some(100); // bytes per ms
    let r = two_hosts(
        with_link(Config::round_robin(), link),
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(100).await;
            let c = connect_server(&ctx).await;
            let data = vec![7u8; 5000];
            assert_eq!(ctx.send(c, &data, 5000, 0).await, 5000);
            ctx.sleep(10_000).await;
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            let t0 = ctx.get_tick_count().await;
            assert_eq!(recv_all(&ctx, s, 5000).await.len(), 5000);
            let dt = ctx.get_tick_count().await - t0;
            assert!(dt >= 60, "5000 bytes at 100 bytes/ms plus 10 ms latency took {dt} ms");
            0
        },
    );
    completed_ok(&r);
}

/// The UDP fault run: the client sends datagrams 0..6 to the server, which records what
/// it receives until SO_RCVTIMEO expires.
fn udp_fault_run(config: Config) -> (RunReport, Vec<u8>) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    let mut link = LinkConfig::new("local", "server", 5);
    link.drop_permille = 100;
    link.duplicate_permille = 100;
    link.reorder_permille = 100;
    link.reorder_ms = 8;
    let r = two_hosts(
        with_link(config, link),
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let s = udp(&ctx).await;
            let to = server_addr();
            for i in 0..6u8 {
                assert_eq!(ctx.sendto(s, &[i], 1, 0, Some(&to), SOCKADDR_IN_LEN).await, 1);
                ctx.sleep(2).await;
            }
            0
        },
        move |ctx| {
            let g = g.clone();
            async move {
                startup(&ctx).await;
                let s = udp(&ctx).await;
                let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
                assert_eq!(ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, 0);
                let t = 500i32.to_le_bytes();
                assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, Some(&t), 4).await, 0);
                loop {
                    let mut buf = [0u8; 4];
                    let n = ctx.recvfrom(s, &mut buf, 4, 0, None, None).await;
                    if n < 0 {
                        assert_eq!(ctx.wsa_get_last_error(), WSAETIMEDOUT.0 as i32);
                        break;
                    }
                    g.borrow_mut().push(buf[0]);
                }
                0
            }
        },
    );
    let v = got.borrow().clone();
    (r, v)
}

/// §27.5: UDP sees the link's faults directly: over many seeds some lose a datagram,
/// some deliver one twice, some deliver out of order; each fault is a `Network`
/// decision, the same seed gives the same run, and a replay of the decisions reproduces it.
#[test]
fn udp_drop_duplicate_reorder_over_seeds() {
    let (mut lost, mut dup, mut reordered, mut clean) = (false, false, false, false);
    for seed in 0..40 {
        let (r, got) = udp_fault_run(Config::random(seed));
        completed_ok(&r);
        let mut sorted = got.clone();
        sorted.sort_unstable();
        let mut uniq = sorted.clone();
        uniq.dedup();
        lost |= uniq.len() < 6;
        dup |= uniq.len() < sorted.len();
        reordered |= got.windows(2).any(|w| w[0] > w[1]);
        clean |= got == (0..6).collect::<Vec<u8>>();
        assert!(r.decisions.iter().any(|d| d.kind == ChoiceKind::Network), "faults are decisions");
        // Deterministic per seed.
        let (again, got2) = udp_fault_run(Config::random(seed));
        assert_eq!(got, got2);
        assert_eq!(r.trace_text(), again.trace_text());
        if seed < 5 {
            // The decisions replayed reproduce the run.
            let (replayed, got3) = udp_fault_run(r.config.with_replay(r.decisions.clone()));
            assert_eq!(got, got3);
            assert_eq!(r.trace_text(), replayed.trace_text());
        }
    }
    assert!(lost && dup && reordered && clean, "lost {lost} dup {dup} reordered {reordered} clean {clean}");
}

/// §27.5: with no fault configured no network decision is made (a multi-host run's
/// decisions are the scheduler's alone).
#[test]
fn no_faults_no_network_decisions() {
    let got = Rc::new(RefCell::new(Vec::new()));
    let mut c = Config::random(3);
    c.network.links.push(LinkConfig::new("local", "server", 5));
    let g = got.clone();
    let r = two_hosts(
        c,
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let s = udp(&ctx).await;
            let to = server_addr();
            for i in 0..5u8 {
                assert_eq!(ctx.sendto(s, &[i], 1, 0, Some(&to), SOCKADDR_IN_LEN).await, 1);
            }
            0
        },
        move |ctx| {
            let g = g.clone();
            async move {
                startup(&ctx).await;
                let s = udp(&ctx).await;
                let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
                assert_eq!(ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, 0);
                for _ in 0..5 {
                    let mut buf = [0u8; 4];
                    assert_eq!(ctx.recvfrom(s, &mut buf, 4, 0, None, None).await, 1);
                    g.borrow_mut().push(buf[0]);
                }
                0
            }
        },
    );
    completed_ok(&r);
    assert_eq!(*got.borrow(), vec![0, 1, 2, 3, 4], "a fault-free link keeps datagrams in order");
    assert!(!r.decisions.iter().any(|d| d.kind == ChoiceKind::Network));
}

/// The TCP transfer run: 20 messages of 10 bytes, read back whole.
fn tcp_lossy_run(seed: u64, drop_permille: u16) -> RunReport {
    let mut link = LinkConfig::new("local", "server", 5);
    link.drop_permille = drop_permille;
    two_hosts(
        with_link(Config::random(seed), link),
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let c = connect_server(&ctx).await;
            for i in 0..20u8 {
                let msg = [i; 10];
                assert_eq!(ctx.send(c, &msg, 10, 0).await, 10);
            }
            assert_eq!(ctx.shutdown(c, SD_SEND).await, 0);
            let mut buf = [0u8; 4];
            assert_eq!(ctx.recv(c, &mut buf, 4, 0).await, 0, "the server's FIN");
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            let got = recv_all(&ctx, s, 200).await;
            let want: Vec<u8> = (0..20u8).flat_map(|i| [i; 10]).collect();
            assert_eq!(got, want, "TCP delivers every byte, in order");
            let mut buf = [0u8; 4];
            assert_eq!(ctx.recv(s, &mut buf, 4, 0).await, 0);
            assert_eq!(ctx.closesocket(s).await, 0);
            0
        },
    )
}

/// §27.8: TCP stays whole and in order despite drops; a loss only costs time (a
/// retransmission time-out).
#[test]
fn tcp_whole_and_in_order_despite_drops() {
    let base = tcp_lossy_run(0, 0);
    completed_ok(&base);
    let mut slower = false;
    for seed in 0..12 {
        let r = tcp_lossy_run(seed, 250);
        completed_ok(&r);
        slower |= r.time_ms >= base.time_ms + 300;
    }
    assert!(slower, "some seed lost a segment and paid a retransmission time-out");
}

/// §27.7 (§22.13): a connect whose SYN cannot cross a partition fails with WSAETIMEDOUT
/// after 21 s (SYNs at 0, 3 and 9 s; MaxSynRetransmissions 2).
#[test]
fn partition_connect_times_out_at_21_s() {
    let r = two_hosts(
        partition(Config::round_robin(), 0, None),
        |ctx| async move {
            startup(&ctx).await;
            let c = tcp(&ctx).await;
            let a = server_addr();
            let t0 = ctx.get_tick_count().await;
            assert_eq!(ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await, SOCKET_ERROR);
            assert_eq!(ctx.wsa_get_last_error(), WSAETIMEDOUT.0 as i32);
            assert_eq!(ctx.get_tick_count().await - t0, 21_000);
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let l = tcp(&ctx).await;
            let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
            assert_eq!(ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await, 0);
            assert_eq!(ctx.listen(l, 5).await, 0);
            ctx.sleep(30_000).await;
            0
        },
    );
    completed_ok(&r);
    assert!(r.trace_text().contains("partition #1"), "the trace shows the partition");
}

/// §27.7: a non-blocking connect across the network completes later: select reports it
/// writable once the SYN-ACK is back; across a partition SO_ERROR is WSAETIMEDOUT
/// [inferred: the blocking connect's error, recorded].
#[test]
fn nonblocking_connect_across_the_network() {
    let c = with_link(Config::round_robin(), LinkConfig::new("local", "server", 20));
    let r = two_hosts(
        c,
        |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let c = tcp(&ctx).await;
            let mut on = 1u32;
            assert_eq!(ctx.ioctlsocket(c, FIONBIO, Some(&mut on)).await, 0);
            let a = server_addr();
            assert_eq!(ctx.connect(c, Some(&a), SOCKADDR_IN_LEN).await, SOCKET_ERROR);
            assert_eq!(ctx.wsa_get_last_error(), WSAEWOULDBLOCK.0 as i32);
            let t0 = ctx.get_tick_count().await;
            let mut w = fd_set::default();
            FD_SET(c, &mut w);
            assert_eq!(ctx.select(0, None, Some(&mut w), None, None).await, 1);
            assert_eq!(ctx.get_tick_count().await - t0, 40, "writable after one round trip");
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let _s = accept_one(&ctx).await;
            ctx.sleep(100).await;
            0
        },
    );
    completed_ok(&r);
}

/// §27.6, §27.8: data sent during a partition is retransmitted and arrives once the
/// partition heals (the first retransmission after it), whole.
#[test]
fn partition_healing_delivers_delayed_data() {
    let r = two_hosts(
        partition(Config::round_robin(), 100, Some(2000)),
        |ctx| async move {
            startup(&ctx).await;
            let c = connect_server(&ctx).await;
            ctx.sleep(500).await;
            assert_eq!(ctx.send(c, b"late", 4, 0).await, 4, "the send completes at once (buffered)");
            assert_eq!(recv_all(&ctx, c, 2).await, b"ok");
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            assert_eq!(recv_all(&ctx, s, 4).await, b"late");
            let t = ctx.get_tick_count().await;
            // Sent at ~500 ms: retransmitted at +300, +900, +2100 ms (RTO 300 ms doubling):
            // the first after the heal at 2000 ms.
            assert!((2000..3000).contains(&t), "arrived at {t} ms");
            assert_eq!(ctx.send(s, b"ok", 2, 0).await, 2);
            ctx.sleep(100).await;
            0
        },
    );
    completed_ok(&r);
    assert!(r.trace_text().contains("heals"));
}

/// §27.8, §27.9: when the partition never heals, the sender's retransmissions give up and
/// its connection aborts (WSAECONNABORTED); the receiver, told nothing, waits in recv for
/// ever: a deadlock whose edge names the socket and the partitioned link.
#[test]
fn permanent_partition_aborts_the_sender_and_strands_the_receiver() {
    let r = two_hosts(
        partition(Config::round_robin(), 100, None),
        |ctx| async move {
            startup(&ctx).await;
            let c = connect_server(&ctx).await;
            ctx.sleep(500).await;
            assert_eq!(ctx.send(c, b"lost", 4, 0).await, 4);
            let mut buf = [0u8; 4];
            assert_eq!(ctx.recv(c, &mut buf, 4, 0).await, SOCKET_ERROR);
            assert_eq!(ctx.wsa_get_last_error(), WSAECONNABORTED.0 as i32);
            let t = ctx.get_tick_count().await;
            // 300 ms doubling five times: 300 * (2^6 - 1) = 18.9 s after the send.
            assert!((19_000..20_000).contains(&t), "aborted at {t} ms");
            0
        },
        |ctx| async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            let mut buf = [0u8; 4];
            let _ = ctx.recv(s, &mut buf, 4, 0).await;
            0
        },
    );
    let Outcome::Deadlock(d) = &r.outcome else { panic!("expected a deadlock:\n{}", r.summary()) };
    let text = format!("{d:?}");
    assert!(text.contains("partitioned for good"), "{text}");
    assert!(text.contains("socket#"), "{text}");
}

/// §27.1: a configuration naming an unknown host ends the run at once with a clear
/// outcome (bad input never panics).
#[test]
fn unknown_host_in_the_configuration_is_an_outcome() {
    let mut c = Config::round_robin();
    c.network.links.push(LinkConfig::new("local", "nowhere", 5));
    let r = two_hosts(c, |_ctx| async move { 0 }, |_ctx| async move { 0 });
    assert!(matches!(&r.outcome, Outcome::Unsupported { detail, .. } if detail.contains("nowhere")), "{:?}", r.outcome);
    let mut sim = Sim::new(Config::round_robin());
    sim.program("a.exe", |_ctx| async move { 0 });
    sim.start_on("mars", "a.exe");
    let r = sim.run("a.exe");
    assert!(matches!(&r.outcome, Outcome::Unsupported { detail, .. } if detail.contains("mars")), "{:?}", r.outcome);
    // One address on two hosts.
    let mut sim = Sim::new(Config::round_robin());
    sim.host("a", [10, 1, 1, 1]).host("b", [10, 1, 1, 1]);
    sim.program("a.exe", |_ctx| async move { 0 });
    let r = sim.run("a.exe");
    assert!(matches!(r.outcome, Outcome::Unsupported { .. }));
}

/// §27.5: a decision list that names a network fault replays it (the decision's options
/// carry the chance).
#[test]
fn network_decisions_carry_their_chance() {
    let (r, _) = udp_fault_run(Config::random(7));
    let d: Vec<&Decision> = r.decisions.iter().filter(|d| d.kind == ChoiceKind::Network).collect();
    assert!(!d.is_empty());
    assert!(d.iter().all(|d| *d.options == [0, 100] && (d.tid == 0 || d.tid == 100)));
    let json = serde_json::to_string(&r.decisions).unwrap();
    assert!(json.contains("\"network\"") || json.contains("Network"), "{json}");
}

/// The echo exchange of the loopback-versus-network differential: the client sends
/// messages of the given sizes, the server echoes each back, both log every result.
fn echo_run(config: Config, cross: bool, sizes: Vec<u32>) -> (RunReport, Vec<String>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (lc, ls) = (log.clone(), log.clone());
    let sizes = Rc::new(sizes);
    let mut sim = Sim::new(config);
    if cross {
        sim.host("local", CLIENT_IP).host("server", SERVER_IP);
    }
    let target = if cross { server_addr() } else { SOCKADDR_IN::new(INADDR_LOOPBACK, PORT) };
    let sz = sizes.clone();
    sim.program("client.exe", move |ctx| {
        let (log, sizes) = (lc.clone(), sz.clone());
        async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let c = tcp(&ctx).await;
            let r = ctx.connect(c, Some(&target), SOCKADDR_IN_LEN).await;
            log.borrow_mut().push(format!("client connect {r}"));
            for (k, &n) in sizes.iter().enumerate() {
                let d: Vec<u8> = (0..n).map(|i| b'a' + ((k as u32 + i) % 26) as u8).collect();
                let r = ctx.send(c, &d, n as i32, 0).await;
                log.borrow_mut().push(format!("client send {r}"));
                let back = recv_all(&ctx, c, n as usize).await;
                log.borrow_mut().push(format!("client got {:?}", String::from_utf8_lossy(&back)));
            }
            let r = ctx.shutdown(c, SD_SEND).await;
            log.borrow_mut().push(format!("client shutdown {r}"));
            let mut buf = [0u8; 4];
            let r = ctx.recv(c, &mut buf, 4, 0).await;
            log.borrow_mut().push(format!("client eof {r}"));
            let r = ctx.closesocket(c).await;
            log.borrow_mut().push(format!("client close {r}"));
            0
        }
    });
    sim.program("server.exe", move |ctx| {
        let (log, sizes) = (ls.clone(), sizes.clone());
        async move {
            startup(&ctx).await;
            let s = accept_one(&ctx).await;
            for &n in sizes.iter() {
                let got = recv_all(&ctx, s, n as usize).await;
                log.borrow_mut().push(format!("server got {:?}", String::from_utf8_lossy(&got)));
                let r = ctx.send(s, &got, n as i32, 0).await;
                log.borrow_mut().push(format!("server send {r}"));
            }
            let mut buf = [0u8; 4];
            let r = ctx.recv(s, &mut buf, 4, 0).await;
            log.borrow_mut().push(format!("server eof {r}"));
            let r = ctx.closesocket(s).await;
            log.borrow_mut().push(format!("server close {r}"));
            0
        }
    });
    sim.start_on(if cross { "server" } else { "local" }, "server.exe");
    let r = sim.run("client.exe");
    let v = log.borrow().clone();
    (r, v)
}

/// §27.2, §27.8: a connection across two fault-free hosts behaves like one over loopback
/// but for time: over many seeds and message sizes, every call returns the same, every
/// byte arrives the same, in the same order per side (the recv splits off, as in the
/// model differential model_sock.rs). A differential of the kernel against itself: the
/// reference model (sim-model) has no notion of time in flight.
#[test]
fn cross_host_connection_agrees_with_loopback_but_for_time() {
    for seed in 0..40u64 {
        let sizes: Vec<u32> = (0..(1 + seed % 5)).map(|k| 1 + ((seed * 7 + k * 13) % 40) as u32).collect();
        let mut c = Config::random(seed);
        c.stream_splits = false;
        let (one, a) = echo_run(c.clone(), false, sizes.clone());
        completed_ok(&one);
        let (two, b) = echo_run(c, true, sizes.clone());
        completed_ok(&two);
        let side = |v: &[String], who: &str| v.iter().filter(|l| l.starts_with(who)).cloned().collect::<Vec<_>>();
        for who in ["client", "server"] {
            assert_eq!(side(&a, who), side(&b, who), "seed {seed}, sizes {sizes:?}, {who}");
        }
        assert!(two.time_ms > one.time_ms, "the network takes time");
    }
}

/// §27.5: the bounded exhaustive search explores network faults like any other decision:
/// two datagrams over a link that drops half the packets reach the server 0, 1 or 2 times,
/// the search finds all three and exhausts the space.
#[test]
fn exhaustive_search_explores_network_faults() {
    use sim_core::explore::{self, Explore, Sweep};
    let setup = |sim: &mut Sim| {
        sim.host("local", CLIENT_IP).host("server", SERVER_IP);
        let mut link = LinkConfig::new("local", "server", 5);
        link.drop_permille = 500;
        sim.link(link);
        sim.program("main", |ctx| async move {
            startup(&ctx).await;
            ctx.sleep(10).await;
            let s = udp(&ctx).await;
            let to = server_addr();
            for i in 0..2u8 {
                assert_eq!(ctx.sendto(s, &[i], 1, 0, Some(&to), SOCKADDR_IN_LEN).await, 1);
            }
            0
        });
        sim.program("server.exe", |ctx| async move {
            startup(&ctx).await;
            let s = udp(&ctx).await;
            let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
            assert_eq!(ctx.bind(s, Some(&a), SOCKADDR_IN_LEN).await, 0);
            let t = 100i32.to_le_bytes();
            assert_eq!(ctx.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, Some(&t), 4).await, 0);
            let mut n = 0;
            let mut buf = [0u8; 4];
            while ctx.recvfrom(s, &mut buf, 4, 0, None, None).await > 0 {
                n += 1;
            }
            n
        });
        sim.start_on("server", "server.exe");
    };
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let record = |r: &RunReport| -> Result<(), String> {
        if let Outcome::Completed { exit_codes } = &r.outcome
            && let Some(c) = exit_codes.iter().find(|c| c.1 == "server.exe")
        {
            seen.lock().unwrap().insert(c.2);
        }
        Ok(())
    };
    let explore = Explore::Dfs { preemption_bound: None, reduction: true };
    let s = Sweep { runs: 2000, stop_at_failure: false, property: Some(&record), ..Sweep::new(explore) };
    let e = explore::sweep(&s, "main", &setup);
    assert!(e.exhausted, "{e:?}");
    assert_eq!(seen.into_inner().unwrap().into_iter().collect::<Vec<_>>(), [0, 1, 2]);
}
