//! Sessions and kernel object namespaces (docs/semantics.md §30): a service in session 0
//! and a user's process in session 1, `Global\` and `Local\`, and the privilege that
//! creating a file mapping in the global namespace needs. Sources: Microsoft Learn
//! "Kernel object namespaces" (learn.microsoft.com/windows/win32/termserv/kernel-object-namespaces),
//! CreateFileMapping and OpenFileMapping (memoryapi.h).

use crate::support::*;
use sim_core::prelude::*;

/// CreateEvent(manual reset) by name; asserts success.
async fn event(ctx: &ThreadCtx, name: &str) -> HANDLE {
    let h = ctx.create_event(None, true, false, Some(name)).await;
    assert!(!h.is_null(), "CreateEvent({name}) failed: {:?}", ctx.get_last_error());
    h
}

/// OpenEvent that must fail: its error.
async fn open_event_error(ctx: &ThreadCtx, name: &str) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let h = ctx.open_event(SYNCHRONIZE, false, Some(name)).await;
    assert!(h.is_null(), "OpenEvent({name}) succeeded");
    ctx.get_last_error()
}

/// CreateFileMapping (pagefile-backed, 4 KiB) by name: the handle and the last error.
async fn mapping(ctx: &ThreadCtx, name: &str) -> (HANDLE, Win32Error) {
    ctx.set_last_error(SENTINEL);
    let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 4096, Some(name)).await;
    (h, ctx.get_last_error())
}

/// The service (session 0): unprefixed names are global. It makes an event and a
/// mapping, says it is ready through `ready` (unprefixed: `Global\ready` for the user's
/// process), and keeps them until the user's process is done.
async fn service(ctx: ThreadCtx) -> u32 {
    let ready = event(&ctx, "ready").await;
    let done = event(&ctx, "Global\\done").await;
    let _own = event(&ctx, "svc-event").await;
    let (m, e) = mapping(&ctx, "Global\\svc-map").await;
    assert!(!m.is_null(), "a service creates in Global\\: {e:?}");
    assert_eq!(e, ERROR_SUCCESS);
    // Session 0's own names are the global namespace: `Local\` too [inferred, §30.2].
    let (m2, e) = mapping(&ctx, "Local\\svc-map").await;
    assert!(!m2.is_null());
    assert_eq!(e, ERROR_ALREADY_EXISTS, "Local\\ in session 0 names the global object");
    ctx.set_event(ready).await;
    assert_eq!(ctx.wait_for_single_object(done, INFINITE).await, WAIT_OBJECT_0);
    0
}

/// §30.1, §30.2: the service's unprefixed names are not in the user's session namespace;
/// `Global\` reaches them. §30.3: opening the service's global mapping, by
/// OpenFileMapping or by CreateFileMapping, needs no privilege; creating a new one in
/// `Global\` from session 1 fails with ERROR_ACCESS_DENIED; `Local\` and events in
/// `Global\` need none.
#[test]
fn a_service_and_a_user_process_share_only_the_global_namespace() {
    let mut sim = Sim::new(Config::random(0));
    sim.program("service.exe", service);
    sim.program("user.exe", |ctx: ThreadCtx| async move {
        let ready = event(&ctx, "Global\\ready").await;
        let done = event(&ctx, "Global\\done").await;
        assert_eq!(ctx.wait_for_single_object(ready, INFINITE).await, WAIT_OBJECT_0);
        // §30.2: session 1's namespace does not hold the service's names.
        assert_eq!(open_event_error(&ctx, "svc-event").await, ERROR_FILE_NOT_FOUND);
        assert_eq!(open_event_error(&ctx, "Local\\svc-event").await, ERROR_FILE_NOT_FOUND);
        let h = ctx.open_event(SYNCHRONIZE, false, Some("Global\\svc-event")).await;
        assert!(!h.is_null(), "Global\\ reaches the service's event");
        // §30.3: opening an existing global mapping needs no privilege.
        let r = ctx.open_file_mapping(FILE_MAP_READ, false, Some("Global\\svc-map")).await;
        assert!(!r.is_null(), "OpenFileMapping(Global\\): {:?}", ctx.get_last_error());
        let (h, e) = mapping(&ctx, "Global\\svc-map").await;
        assert!(!h.is_null(), "CreateFileMapping opens the existing global mapping");
        assert_eq!(e, ERROR_ALREADY_EXISTS);
        // §30.3: creating one is privileged from session 1.
        let (h, e) = mapping(&ctx, "Global\\user-map").await;
        assert!(h.is_null());
        assert_eq!(e, ERROR_ACCESS_DENIED);
        assert_eq!(open_event_error(&ctx, "Global\\user-map").await, ERROR_FILE_NOT_FOUND, "nothing was created");
        let (h, e) = mapping(&ctx, "Local\\user-map").await;
        assert!(!h.is_null());
        assert_eq!(e, ERROR_SUCCESS);
        let (h, e) = mapping(&ctx, "user-map").await;
        assert!(!h.is_null());
        assert_eq!(e, ERROR_ALREADY_EXISTS, "Local\\ and no prefix are one namespace");
        // Events (and mutexes, semaphores) in Global\ need no privilege.
        let _ = event(&ctx, "Global\\user-event").await;
        ctx.set_event(done).await;
        0
    });
    sim.start_service("service.exe");
    let r = sim.run("user.exe");
    assert_completed(&r);
    match &r.outcome {
        Outcome::Completed { exit_codes } => assert!(exit_codes.iter().all(|(_, _, c)| *c == 0), "{exit_codes:?}"),
        o => panic!("{o:?}"),
    }
}

/// §30.1: a child runs in its parent's session with its parent's token: a service's
/// child creates in `Global\`, a user process's child cannot.
#[test]
fn children_run_in_their_parents_session() {
    let mut sim = Sim::new(Config::random(0));
    sim.program("svcchild.exe", |ctx: ThreadCtx| async move {
        let (h, e) = mapping(&ctx, "Global\\from-service-child").await;
        u32::from(h.is_null()) + if e == ERROR_SUCCESS { 0 } else { 10 }
    });
    sim.program("userchild.exe", |ctx: ThreadCtx| async move {
        let (h, e) = mapping(&ctx, "Global\\from-user-child").await;
        u32::from(!h.is_null()) + if e == ERROR_ACCESS_DENIED { 0 } else { 10 }
    });
    for (parent, child) in [("svc.exe", "svcchild.exe"), ("user.exe", "userchild.exe")] {
        sim.program(parent, move |ctx: ThreadCtx| async move {
            let mut pi = PROCESS_INFORMATION::default();
            let si = STARTUPINFO::default();
            assert_eq!(ctx.create_process(None, Some(child), None, None, false, 0, &si, &mut pi).await, TRUE);
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            let mut code = 99;
            assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
            code
        });
    }
    sim.start_service("svc.exe");
    let r = sim.run("user.exe");
    match &r.outcome {
        Outcome::Completed { exit_codes } => {
            assert_eq!(exit_codes.len(), 4, "{exit_codes:?}");
            assert!(exit_codes.iter().all(|(_, _, c)| *c == 0), "{exit_codes:?}\n{}", r.trace_text());
        }
        o => panic!("{o:?}\n{}", r.trace_text()),
    }
}

/// The catalogue file global-mapping-service-client (TEACHING-CASES item 21): the
/// unprefixed name fails on every seed with ERROR_FILE_NOT_FOUND (§30.2); the
/// create-or-open fails with ERROR_ACCESS_DENIED on the seeds where the client comes first
/// and works on others (§30.3); the fix works on every seed.
#[test]
fn global_mapping_service_client_teaching_case() {
    use scenarios::interp;
    let with = |mode: &str| {
        let mut f = (*scenarios::find_file("global-mapping-service-client").unwrap()).clone();
        f.set("mode", mode).unwrap();
        std::sync::Arc::new(f)
    };
    let last_error_of = |r: &RunReport, api: &str| {
        r.trace_text().lines().filter(|l| l.contains(&format!("{api}("))).map(str::to_string).collect::<Vec<_>>()
    };
    let (mut denied, mut worked) = (0, 0);
    for seed in 0..30 {
        let r = interp::run(&with("0"), Config::random(seed));
        assert_eq!(r.outcome.kind(), "failed", "seed {seed}");
        let opens = last_error_of(&r, "OpenFileMapping");
        assert!(opens.iter().any(|l| l.contains("ERROR_FILE_NOT_FOUND")), "seed {seed}: {opens:?}");
        let r = interp::run(&with("1"), Config::random(seed));
        let creates = last_error_of(&r, "CreateFileMapping");
        if r.outcome.is_completed() {
            worked += 1;
        } else {
            assert_eq!(r.outcome.kind(), "failed", "seed {seed}: {}", r.summary());
            assert!(creates.iter().any(|l| l.contains("ERROR_ACCESS_DENIED")), "seed {seed}: {creates:?}");
            denied += 1;
        }
        let r = interp::run(&with("2"), Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
    }
    assert!(denied > 0 && worked > 0, "mode 1: denied on {denied} seeds, worked on {worked}");
    let r = interp::run(&with("0"), Config::random(0));
    insta::assert_snapshot!("global_mapping_service_client_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
}
