//! The bounded producer/consumer of N one-byte items through a buffer of capacity 4, as
//! winsim programs: shared by `benches/profile.rs` (instructions under callgrind) and
//! `peers/benches/peers.rs` (beside shuttle and loom), so both measure the same protocol.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use winsim::prelude::*;

/// Through a pipe of nSize 4: the producer writes N single bytes, the consumer reads N
/// times (a full pipe blocks the writer, an empty one the reader).
pub fn pipe_pc(n: u32, config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    sim.program("pc.exe", move |ctx| async move {
        let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
        let _ = ctx.create_pipe(&mut r, &mut w, None, 4).await;
        let producer = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    for i in 0..n {
                        let _ = ctx.write_file(w, &[i as u8], None).await;
                    }
                    0
                },
                0,
                None,
            )
            .await;
        let mut b = [0u8; 1];
        for _ in 0..n {
            let _ = ctx.read_file(r, &mut b, None).await;
        }
        ctx.wait_for_single_object(producer, INFINITE).await;
        0
    });
    sim.run("pc.exe")
}

/// Through a 4-slot buffer guarded by a mutex, with auto-reset events "not full" and
/// "not empty".
pub fn mutex_events(n: u32, config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    sim.program("pc.exe", move |ctx| async move {
        let buf: Rc<RefCell<VecDeque<u32>>> = Rc::default();
        let m = ctx.create_mutex(None, false, None).await;
        let not_full = ctx.create_event(None, false, false, None).await;
        let not_empty = ctx.create_event(None, false, false, None).await;
        let b2 = buf.clone();
        let producer = ctx
            .create_thread(
                None,
                0,
                move |ctx| async move {
                    for i in 0..n {
                        loop {
                            ctx.wait_for_single_object(m, INFINITE).await;
                            if b2.borrow().len() < 4 {
                                b2.borrow_mut().push_back(i);
                                let _ = ctx.release_mutex(m).await;
                                ctx.set_event(not_empty).await;
                                break;
                            }
                            let _ = ctx.release_mutex(m).await;
                            ctx.wait_for_single_object(not_full, INFINITE).await;
                        }
                    }
                    0
                },
                0,
                None,
            )
            .await;
        for _ in 0..n {
            loop {
                ctx.wait_for_single_object(m, INFINITE).await;
                if buf.borrow_mut().pop_front().is_some() {
                    let _ = ctx.release_mutex(m).await;
                    ctx.set_event(not_full).await;
                    break;
                }
                let _ = ctx.release_mutex(m).await;
                ctx.wait_for_single_object(not_empty, INFINITE).await;
            }
        }
        ctx.wait_for_single_object(producer, INFINITE).await;
        0
    });
    sim.run("pc.exe")
}

/// Benchmark 3's run: CreateThread, the thread returns, the main thread waits for it; a
/// fresh `Sim`, so setup and teardown are included.
pub fn trivial(config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    sim.program("t.exe", |ctx| async move {
        let t = ctx.create_thread(None, 0, |_ctx| async move { 0 }, 0, None).await;
        ctx.wait_for_single_object(t, INFINITE).await;
        0
    });
    sim.run("t.exe")
}
