//! Teaching case 4 (issue 10; docs/semantics.md §27): two hosts, a partition during a
//! request. The client's recv times out (SO_RCVTIMEO, WSAETIMEDOUT), it closes the
//! connection and retries on a new one; the request reaches the server twice. A server
//! that applies every request charges twice; one that remembers request ids charges once.

use crate::Scenario;
use sim_core::prelude::*;

/// The server's port.
pub const PORT: u16 = 9000;
/// The client host (the default host `local`) and the server host.
pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 1];
/// The server host's address.
pub const SERVER_IP: [u8; 4] = [10, 0, 0, 2];
/// One-way latency of the link.
pub const LATENCY_MS: u32 = 5;
/// The partition: from 50 ms to 3 s.
pub const PARTITION: (u64, u64) = (50, 3000);
/// How long the server takes to process a request (the partition begins meanwhile).
pub const PROCESSING_MS: u32 = 100;
/// The client's SO_RCVTIMEO.
pub const CLIENT_TIMEOUT_MS: u32 = 1000;
/// The request: id 7, charge 100.
pub const REQUEST: &[u8; 16] = b"CHARGE id=7 $100";

fn install(sim: &mut Sim, dedup: bool) {
    sim.host("local", CLIENT_IP).host("server", SERVER_IP);
    sim.link(LinkConfig::new("local", "server", LATENCY_MS));
    sim.partition("local", "server", PARTITION.0, Some(PARTITION.1));
    sim.program("client.exe", client);
    if dedup {
        sim.program("server.exe", |ctx| server(ctx, true));
    } else {
        sim.program("server.exe", |ctx| server(ctx, false));
    }
    sim.start_on("server", "server.exe");
}

/// The client: sends the request and waits for "OK id=7" at most CLIENT_TIMEOUT_MS; on a
/// time-out the connection is in an indeterminate state (setsockopt doc), so it closes it
/// and retries on a new one, up to 3 attempts. Exit code 0 once answered, 1 if never.
async fn client(ctx: ThreadCtx) -> u32 {
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return 10;
    }
    let to = SOCKADDR_IN::new(u32::from_be_bytes(SERVER_IP), PORT);
    for _attempt in 0..3 {
        let s = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
        let t = (CLIENT_TIMEOUT_MS as i32).to_le_bytes();
        let _ = ctx.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, Some(&t), 4).await;
        if ctx.connect(s, Some(&to), SOCKADDR_IN_LEN).await != 0 {
            let _ = ctx.closesocket(s).await;
            continue;
        }
        if ctx.send(s, REQUEST, REQUEST.len() as i32, 0).await != REQUEST.len() as i32 {
            let _ = ctx.closesocket(s).await;
            continue;
        }
        // The answer is 8 bytes, however the stream splits them (teaching case 1).
        let mut buf = [0u8; 8];
        let mut got = 0;
        while got < 8 {
            let n = ctx.recv(s, &mut buf[got..], (8 - got) as i32, 0).await;
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        let _ = ctx.closesocket(s).await;
        if got == 8 && &buf == b"OK id=7 " {
            return 0;
        }
        // WSAETIMEDOUT (or a reset): retry the same request.
    }
    1
}

/// The server: serves connections until none comes for 10 s; each carries one request.
/// Exit code: how many times it charged.
async fn server(ctx: ThreadCtx, dedup: bool) -> u32 {
    if ctx.wsa_startup(MAKEWORD(2, 2), None).await != 0 {
        return 100;
    }
    let l = ctx.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await;
    let a = SOCKADDR_IN::new(INADDR_ANY, PORT);
    if ctx.bind(l, Some(&a), SOCKADDR_IN_LEN).await != 0 || ctx.listen(l, 5).await != 0 {
        return 101;
    }
    let mut charged = 0;
    let mut seen: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut r = fd_set::default();
        FD_SET(l, &mut r);
        let tv = TIMEVAL { tv_sec: 10, tv_usec: 0 };
        if ctx.select(0, Some(&mut r), None, None, Some(&tv)).await != 1 {
            break;
        }
        let s = ctx.accept(l, None, None).await;
        if s == INVALID_SOCKET {
            continue;
        }
        let mut req = [0u8; 16];
        let mut got = 0;
        while got < 16 {
            let n = ctx.recv(s, &mut req[got..], (16 - got) as i32, 0).await;
            if n <= 0 {
                break;
            }
            got += n as usize;
        }
        if got == 16 {
            let id = req[7..11].to_vec();
            // Charging the card takes a while: the partition begins meanwhile.
            ctx.sleep(PROCESSING_MS).await;
            if !dedup || !seen.contains(&id) {
                charged += 1;
                seen.push(id);
            }
            let _ = ctx.send(s, b"OK id=7 ", 8, 0).await;
        }
        let _ = ctx.closesocket(s).await;
    }
    let _ = ctx.closesocket(l).await;
    charged
}

/// Teaching case 4, buggy: the retried request is charged again.
pub fn partition_retry_double_charge() -> Scenario {
    Scenario {
        name: "partition-retry-double-charge",
        summary: "two hosts, a partition during a request: the client times out and retries, the server charges the duplicate",
        expect: "completes on every seed: the client gets its answer (exit code 0) and the server exits with 2 (charged twice)",
        install: |sim| install(sim, false),
        main: "client.exe",
    }
}

/// Teaching case 4, fixed: the server remembers request ids and answers a duplicate
/// without charging again.
pub fn partition_retry_idempotent() -> Scenario {
    Scenario {
        name: "partition-retry-idempotent",
        summary: "the server deduplicates by request id: the retried request is answered, not charged again",
        expect: "completes on every seed: the client gets its answer (exit code 0) and the server exits with 1 (charged once)",
        install: |sim| install(sim, true),
        main: "client.exe",
    }
}
