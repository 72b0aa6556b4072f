//! The two-thread pipe ping-pong and the loads the scaling benchmarks (issue 13's
//! benchmark 4) put beside it: shared by `benches/kernel.rs` (divan) and
//! `benches/profile.rs` (instructions under callgrind), so both measure the same runs.

use winsim::prelude::*;

/// `n` round trips of one byte between the calling thread and an echo thread over two
/// anonymous pipes (2n WriteFile and 2n ReadFile calls), then the wait for the echo thread,
/// written in place in the thread body that uses it: a macro rather than an `async fn`, so
/// the measured body has no future of its own between it and its calls (an `async fn`
/// costs the ping-pong about 16 instructions a step under callgrind, and the figures in
/// docs/performance.md were measured without one).
macro_rules! round_trips {
    ($ctx:expr, $n:expr) => {{
        let (ctx, n): (&ThreadCtx, u32) = (&$ctx, $n);
        let (mut r1, mut w1, mut r2, mut w2) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
        let _ = ctx.create_pipe(&mut r1, &mut w1, None, 0).await;
        let _ = ctx.create_pipe(&mut r2, &mut w2, None, 0).await;
        let echo = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    let mut b = [0u8; 1];
                    for _ in 0..n {
                        let _ = ctx.read_file(r1, &mut b, None).await;
                        let _ = ctx.write_file(w2, &b, None).await;
                    }
                    0
                },
                0,
                None,
            )
            .await;
        let mut b = [0u8; 1];
        for _ in 0..n {
            let _ = ctx.write_file(w1, b"x", None).await;
            let _ = ctx.read_file(r2, &mut b, None).await;
        }
        ctx.wait_for_single_object(echo, INFINITE).await;
    }};
}
pub(crate) use round_trips;

/// What sits beside the ping-pong in the scaling workloads (benchmark 4).
#[derive(Clone, Copy, Debug)]
pub enum Beside {
    /// Live handles to events in the main process.
    Handles(u32),
    /// Messages posted to the main thread's own queue (PostThreadMessage) and never
    /// retrieved.
    Messages(u32),
    /// Overlapped ReadFiles pending on one named-pipe instance.
    PendingReads(u32),
}

/// The `n`-round-trip ping-pong (trace off, seed 1) after `beside` was set up by the main
/// thread and kept alive to the end of the run; `n` = 0 is the setup alone, to subtract.
/// Each load's calls are checked to have done what they should (an event handle made, a
/// message queued, a read left pending), so a load that quietly failed cannot pass for a
/// flat cost. Beside many handles, subtract `Sim::run_inner`'s inclusive cost
/// (`callgrind_annotate --inclusive=yes`) rather than the whole program's: freeing the
/// report's decision list (64 KiB or more; the setup-only run has none) makes glibc's
/// `malloc_consolidate` walk every small block the teardown freed, a one-off cost of
/// about 220 instructions a handle that the whole-program difference would put on the
/// round trips.
pub fn ping_pong_beside(n: u32, beside: Beside) -> RunReport {
    let mut config = Config::random(1);
    config.trace = false;
    config.handles_max = config.handles_max.max(200_000);
    config.steps_max = config.steps_max.max(1_000_000);
    let mut sim = Sim::new(config);
    sim.program("pingpong.exe", move |ctx| async move {
        // Kept alive until the end of the run.
        let mut pending = Vec::new();
        match beside {
            Beside::Handles(k) => {
                for _ in 0..k {
                    let h = ctx.create_event(None, true, false, None).await;
                    assert!(!h.is_null(), "CreateEvent: {}", ctx.get_last_error());
                }
            }
            Beside::Messages(k) => {
                let me = ctx.get_current_thread_id();
                for i in 0..k {
                    let ok = ctx.post_thread_message(me, WM_USER, i as usize, 0).await;
                    assert_eq!(ok, TRUE, "PostThreadMessage #{i}: {}", ctx.get_last_error());
                }
            }
            Beside::PendingReads(k) => {
                let (server, client) = overlapped_pipe(&ctx).await;
                assert!(!client.is_null(), "CreateFile: {}", ctx.get_last_error());
                for i in 0..k {
                    let ov = Overlapped::new(HANDLE::NULL);
                    let buf = IoBuffer::new(1);
                    let ok = ctx.read_file_overlapped(server, &buf, None, &ov).await;
                    let e = ctx.get_last_error();
                    assert!(ok == FALSE && e == ERROR_IO_PENDING, "ReadFile #{i}: {ok} {e}");
                    pending.push((ov, buf));
                }
            }
        }
        round_trips!(ctx, n);
        drop(pending);
        0
    });
    sim.run("pingpong.exe")
}

/// A named pipe's overlapped server instance and a client connected to it: where the
/// pending-read loads queue their ReadFiles (`Beside::PendingReads`, profile.rs's
/// `pending`).
pub async fn overlapped_pipe(ctx: &ThreadCtx) -> (HANDLE, HANDLE) {
    let name = r"\\.\pipe\bench";
    let server = ctx
        .create_named_pipe(
            name,
            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
            PIPE_TYPE_BYTE | PIPE_WAIT,
            1,
            1024,
            1024,
            0,
            None,
        )
        .await;
    let client = ctx.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    (server, client)
}
