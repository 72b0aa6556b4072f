//! The floor of winsim's design: a bare prototype of it, written from scratch, that does
//! not use winsim (issue 13).
//!
//! Simulated threads are `async` bodies, `Pin<Box<dyn Future>>`. A thread calls
//! `ctx.write(pipe, byte).await` or `ctx.read(pipe).await`; the call parks its request in
//! the thread's slot of a shared `Rc<RefCell<Kernel>>` and returns `Pending` once. A driver
//! loop picks one runnable thread with a seeded RNG (ChaCha8), polls it until it parks its
//! next call, and executes that call against a quota pipe: a `VecDeque<u8>` of at most
//! `quota` bytes. A write that does not fit blocks the writer until the reader drains the
//! pipe, a read of an empty pipe blocks the reader until a write; the call that unblocks a
//! peer completes the peer's call (stores its reply) and makes it runnable again. Blocked
//! threads are not runnable; the runnable set is a small `Vec`.
//!
//! What winsim does beside this, and this does not: handles and their table, last error,
//! the Win32 signatures and argument checks, the trace and decision record, race
//! detection, step limits, processes and thread objects. So its cost per step is the floor
//! of winsim's design without those fidelity features (docs/performance.md).
//!
//! A step is one pick: the chosen thread runs from its last call to its next one and that
//! call is executed (a thread's last step runs it to its end). The ping-pong makes 4,000
//! calls in 4,002 steps, the producer/consumer of N items 2N calls in 2N + 2 steps, against
//! 4,004 and 2N + 3 for winsim's (which also counts CreatePipe, CreateThread and the wait).
//!
//! Run it like `benches/profile.rs`:
//! `cargo bench --bench prototype -- WORKLOAD [N] [RUNS]`, or under
//! `valgrind --tool=callgrind target/release/deps/prototype-<hash> WORKLOAD N RUNS`.
//! Workloads: `pingpong` (two threads, two pipes, N round trips of one byte) and `pipe-pc`
//! (a producer writes N one-byte items into one pipe of quota 4, a consumer reads them);
//! N = 0 measures setup and teardown alone, to subtract. Seed 1.
#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Tid = usize;
type PipeId = usize;

/// A call as parked by a thread.
#[derive(Clone, Copy)]
enum Request {
    Write(PipeId, u8),
    Read(PipeId),
}

/// A pipe that holds at most `quota` bytes, and the one thread blocked on each end.
struct Pipe {
    bytes: VecDeque<u8>,
    quota: usize,
    blocked_reader: Option<Tid>,
    blocked_writer: Option<(Tid, u8)>,
}

/// A thread's parked call, and the reply (the byte read, 0 for a write) it resumes with.
#[derive(Default)]
struct Slot {
    request: Option<Request>,
    reply: Option<u8>,
}

/// What the threads share with the driver.
#[derive(Default)]
struct Kernel {
    slots: Vec<Slot>,
    pipes: Vec<Pipe>,
    runnable: Vec<Tid>,
}

impl Kernel {
    /// Executes `tid`'s call: stores its reply and returns true, or blocks it and returns
    /// false. A call that unblocks the peer completes the peer's call and makes it runnable.
    fn execute(&mut self, tid: Tid, request: Request) -> bool {
        let reply = match request {
            Request::Write(p, byte) => {
                let pipe = &mut self.pipes[p];
                if let Some(reader) = pipe.blocked_reader.take() {
                    // The pipe is empty: the byte goes straight to the waiting reader.
                    self.slots[reader].reply = Some(byte);
                    self.runnable.push(reader);
                } else if pipe.bytes.len() < pipe.quota {
                    pipe.bytes.push_back(byte);
                } else {
                    pipe.blocked_writer = Some((tid, byte));
                    return false;
                }
                0
            }
            Request::Read(p) => {
                let pipe = &mut self.pipes[p];
                let Some(byte) = pipe.bytes.pop_front() else {
                    pipe.blocked_reader = Some(tid);
                    return false;
                };
                if let Some((writer, pending)) = pipe.blocked_writer.take() {
                    // The read made room: the blocked write completes.
                    pipe.bytes.push_back(pending);
                    self.slots[writer].reply = Some(0);
                    self.runnable.push(writer);
                }
                byte
            }
        };
        self.slots[tid].reply = Some(reply);
        true
    }
}

/// A thread's handle on the kernel.
struct Ctx {
    tid: Tid,
    kernel: Rc<RefCell<Kernel>>,
}

impl Ctx {
    fn write(&self, pipe: PipeId, byte: u8) -> Call<'_> {
        Call { ctx: self, request: Some(Request::Write(pipe, byte)) }
    }
    fn read(&self, pipe: PipeId) -> Call<'_> {
        Call { ctx: self, request: Some(Request::Read(pipe)) }
    }
}

/// A call in flight: the first poll parks the request and returns `Pending`; the next
/// (the driver polls a thread only once its call has completed) returns the reply.
struct Call<'a> {
    ctx: &'a Ctx,
    request: Option<Request>,
}

impl Future for Call<'_> {
    type Output = u8;
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
        let mut kernel = self.ctx.kernel.borrow_mut();
        match self.request.take() {
            Some(request) => {
                kernel.slots[self.ctx.tid].request = Some(request);
                Poll::Pending
            }
            None => Poll::Ready(kernel.slots[self.ctx.tid].reply.take().expect("polled before its reply")),
        }
    }
}

type Body = Pin<Box<dyn Future<Output = ()>>>;

/// One run: the kernel, the thread bodies (`None` once finished) and the seeded RNG.
struct Sim {
    kernel: Rc<RefCell<Kernel>>,
    threads: Vec<Option<Body>>,
    rng: ChaCha8Rng,
}

impl Sim {
    fn new(seed: u64) -> Sim {
        Sim { kernel: Rc::default(), threads: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    fn pipe(&mut self, quota: usize) -> PipeId {
        let pipes = &mut self.kernel.borrow_mut().pipes;
        pipes.push(Pipe {
            bytes: VecDeque::with_capacity(quota.min(64)),
            quota,
            blocked_reader: None,
            blocked_writer: None,
        });
        pipes.len() - 1
    }

    fn spawn<F: Future<Output = ()> + 'static>(&mut self, body: impl FnOnce(Ctx) -> F) {
        let tid = self.threads.len();
        let mut kernel = self.kernel.borrow_mut();
        kernel.slots.push(Slot::default());
        kernel.runnable.push(tid);
        drop(kernel);
        self.threads.push(Some(Box::pin(body(Ctx { tid, kernel: self.kernel.clone() }))));
    }

    /// Runs every thread to its end; returns the number of steps.
    fn run(mut self) -> u64 {
        let mut cx = Context::from_waker(Waker::noop());
        let mut live = self.threads.len();
        let mut steps = 0;
        while live > 0 {
            let (i, tid) = {
                let kernel = self.kernel.borrow();
                let n = kernel.runnable.len();
                assert!(n > 0, "deadlock: {live} threads blocked");
                // The seeded choice (no draw when only one thread can run).
                let i = if n > 1 { self.rng.random_range(0..n) } else { 0 };
                (i, kernel.runnable[i])
            };
            steps += 1;
            let body = self.threads[tid].as_mut().expect("a finished thread is not runnable");
            let poll = body.as_mut().poll(&mut cx);
            let mut kernel = self.kernel.borrow_mut();
            let runs_on = match poll {
                Poll::Ready(()) => {
                    self.threads[tid] = None;
                    live -= 1;
                    false
                }
                Poll::Pending => {
                    let request = kernel.slots[tid].request.take().expect("a thread parks only at a call");
                    kernel.execute(tid, request)
                }
            };
            if !runs_on {
                // Index i is still `tid`: execute only appends the threads it wakes.
                kernel.runnable.swap_remove(i);
            }
        }
        steps
    }
}

/// Two threads, two pipes: `n` round trips of one byte.
fn ping_pong(n: u32) -> u64 {
    let mut sim = Sim::new(1);
    let (there, back) = (sim.pipe(4096), sim.pipe(4096));
    sim.spawn(move |ctx| async move {
        for i in 0..n {
            ctx.write(there, i as u8).await;
            assert_eq!(ctx.read(back).await, i as u8);
        }
    });
    sim.spawn(move |ctx| async move {
        for _ in 0..n {
            let byte = ctx.read(there).await;
            ctx.write(back, byte).await;
        }
    });
    sim.run()
}

/// A producer writes `n` one-byte items into a pipe of quota 4; a consumer reads them.
fn pipe_pc(n: u32) -> u64 {
    let mut sim = Sim::new(1);
    let pipe = sim.pipe(4);
    sim.spawn(move |ctx| async move {
        for i in 0..n {
            ctx.write(pipe, i as u8).await;
        }
    });
    sim.spawn(move |ctx| async move {
        for i in 0..n {
            assert_eq!(ctx.read(pipe).await, i as u8);
        }
    });
    sim.run()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let workload = args.first().map(String::as_str).unwrap_or("pingpong");
    let n: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let runs: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let start = Instant::now();
    let mut steps = 0;
    for _ in 0..runs {
        steps += match workload {
            "pingpong" => ping_pong(n),
            "pipe-pc" => pipe_pc(n),
            other => panic!("unknown workload {other}"),
        };
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "{workload} n={n} runs={runs}: {:.3} ms/run, {:.1} ns/step ({} steps/run)",
        t * 1e3 / runs as f64,
        t * 1e9 / steps.max(1) as f64,
        steps / runs.max(1) as u64
    );
}
