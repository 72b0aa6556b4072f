//! Helpers shared by the conformance modules.

use sim_core::prelude::*;
use std::future::Future;

/// Runs `body` as the main thread of a one-program simulation, round-robin scheduled.
pub fn run_main<F, Fut>(body: F) -> RunReport
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    run_with(Config::round_robin(), body)
}

/// Runs `body` as the main thread of a one-program simulation with `config`.
pub fn run_with<F, Fut>(config: Config, body: F) -> RunReport
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(config);
    sim.program("test.exe", body);
    sim.run("test.exe")
}

/// Asserts that a run completed, printing its summary and trace otherwise.
#[track_caller]
pub fn assert_completed(r: &RunReport) {
    assert!(r.outcome.is_completed(), "run did not complete:\n{}\ntrace:\n{}", r.summary(), r.trace_text());
}

/// Runs `body` and asserts that the run completed with main's exit code 0; the body
/// asserts what it observes (a failed assertion inside it is reported with the trace).
#[track_caller]
pub fn check<F, Fut>(body: F)
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let r = run_main(body);
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert_eq!(exit_codes[0].2, 0, "main exit code\n{}", r.trace_text());
    }
}

/// Creates an anonymous pipe; panics (a test failure) if CreatePipe fails.
pub async fn pipe(ctx: &ThreadCtx, size: u32) -> (HANDLE, HANDLE) {
    let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
    assert_eq!(ctx.create_pipe(&mut r, &mut w, None, size).await, TRUE);
    (r, w)
}

/// The sentinel a test sets before a call to see whether the call touched the last error.
pub const SENTINEL: u32 = 0xdead_beef;

/// Starts a thread in the caller's process running `body`; a NULL handle fails the test.
pub async fn spawn<F, Fut>(ctx: &ThreadCtx, body: F) -> HANDLE
where
    F: FnOnce(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let h = ctx.create_thread(None, 0, body, 0, None).await;
    assert!(!h.is_null(), "CreateThread failed with {}", ctx.get_last_error());
    h
}

/// Waits for a thread to end and returns its exit code.
pub async fn join(ctx: &ThreadCtx, thread: HANDLE) -> u32 {
    assert_eq!(ctx.wait_for_single_object(thread, INFINITE).await, WAIT_OBJECT_0);
    let mut code = 0;
    assert_eq!(ctx.get_exit_code_thread(thread, &mut code).await, TRUE);
    code
}

/// One ReadFile of up to `len` bytes that must succeed; returns the bytes.
pub async fn read(ctx: &ThreadCtx, h: HANDLE, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut n = SENTINEL;
    assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, TRUE, "ReadFile failed: {}", ctx.get_last_error());
    buf.truncate(n as usize);
    buf
}

/// A WriteFile that must complete in full.
pub async fn write(ctx: &ThreadCtx, h: HANDLE, data: &[u8]) {
    let mut n = SENTINEL;
    assert_eq!(ctx.write_file(h, data, Some(&mut n)).await, TRUE, "WriteFile failed: {}", ctx.get_last_error());
    assert_eq!(n as usize, data.len());
}

/// Runs `body` round-robin and then under 20 random seeds, asserting completion with
/// main's exit code 0 each time: for tests whose outcome must not depend on the schedule.
pub fn check_every_schedule<F, Fut>(body: F)
where
    F: Fn(ThreadCtx) -> Fut + 'static,
    Fut: Future<Output = u32> + 'static,
{
    let body = std::rc::Rc::new(body);
    let configs = std::iter::once(Config::round_robin()).chain((0..20).map(Config::random));
    for config in configs {
        let b = body.clone();
        let r = run_with(config.clone(), move |ctx| b(ctx));
        assert_completed(&r);
        if let Outcome::Completed { exit_codes } = &r.outcome {
            assert_eq!(exit_codes[0].2, 0, "main exit code under {:?}\n{}", config.strategy, r.trace_text());
        }
    }
}
