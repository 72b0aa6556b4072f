//! Scenario files (docs/scenarios.md): the built-in files reach their expected outcomes,
//! parameters change runs, and every mistake in a file is reported with its file, line
//! and column. The Windows behaviour each catalogue file shows is cited in the file's
//! own comment and tested in the family's module; here the subject is the format and
//! its interpreter.

use scenarios::file::{self, ScenarioFile};
use scenarios::interp;
use sim_core::prelude::*;
use std::sync::Arc;

fn builtin(name: &str) -> Arc<ScenarioFile> {
    scenarios::find_file(name).unwrap_or_else(|| panic!("no built-in scenario file {name}"))
}

fn kinds(f: &Arc<ScenarioFile>, seeds: std::ops::Range<u64>) -> Vec<&'static str> {
    seeds
        .map(|seed| {
            let mut c = Config::random(seed);
            c.trace = false;
            interp::run(f, c).outcome.kind()
        })
        .collect()
}

#[test]
fn every_builtin_file_parses_and_is_named_after_its_file() {
    for (name, text) in scenarios::files() {
        let f = file::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Some(f.name.as_str()), name.strip_suffix(".kdl"), "{name}");
        assert!(!f.summary.is_empty(), "{name} has no summary");
    }
    assert_eq!(scenarios::file_catalogue().len(), scenarios::files().len());
}

#[test]
fn builtin_files_reach_their_expected_outcomes() {
    for f in scenarios::file_catalogue() {
        for (seed, kind) in kinds(&f, 0..40).into_iter().enumerate() {
            assert!(f.expects(kind), "{} seed {seed}: {kind}, expected {:?}", f.name, f.expect);
        }
    }
}

/// `expect ... when="PARAM=VALUE"`: each such line is a variant (usually the fix) with its
/// own expectation, checked like the default one.
#[test]
fn builtin_files_reach_their_expected_outcomes_in_every_variant() {
    for f in scenarios::file_catalogue() {
        for (key, value, want) in &f.expect_when {
            let mut v = (*f).clone();
            v.set(key, value).unwrap();
            assert_eq!(&v.expect, want, "{} {key}={value}", f.name);
            let v = Arc::new(v);
            for (seed, kind) in kinds(&v, 0..40).into_iter().enumerate() {
                assert!(v.expects(kind), "{} {key}={value} seed {seed}: {kind}, expected {want:?}", f.name);
            }
        }
    }
}

#[test]
fn expect_when_names_a_parameter_and_a_value_it_can_take() {
    let text = |when: &str| {
        format!(
            "scenario \"w\" {{\n    summary \"s\"\n    expect deadlock\n    expect completed when=\"{when}\"\n}}\nparam fix 0\nprogram \"a.exe\" {{\n    Sleep 1\n}}\n"
        )
    };
    let f = file::parse(&text("fix=1"), "w.kdl").unwrap();
    assert_eq!(f.expect, ["deadlock"]);
    let mut g = f.clone();
    g.set("fix", "1").unwrap();
    assert_eq!(g.expect, ["completed"]);
    g.set("fix", "2").unwrap();
    assert_eq!(g.expect, ["deadlock"]);
    let e = file::parse(&text("nope=1"), "w.kdl").unwrap_err().to_string();
    assert!(e.starts_with("w.kdl:1:1:") && e.contains("no parameter nope"), "{e}");
    let e = file::parse(&text("fix=x"), "w.kdl").unwrap_err().to_string();
    assert!(e.contains("no parameter fix taking that value"), "{e}");
    let e = file::parse(&text("fix"), "w.kdl").unwrap_err().to_string();
    assert!(e.starts_with("w.kdl:4:") && e.contains("PARAM=VALUE"), "{e}");
}

fn with(name: &str, key: &str, value: &str) -> Arc<ScenarioFile> {
    let mut f = (*builtin(name)).clone();
    f.set(key, value).unwrap();
    Arc::new(f)
}

/// docs/semantics.md §17.E1: PostQuitMessage sets a flag, and WM_QUIT comes only when no
/// posted message is left, so a nested loop eats the quit only on schedules where the
/// worker's last post is late; re-posting it (PostQuitMessage(wParam)) fixes every seed.
#[test]
fn wm_quit_eaten_by_a_nested_loop() {
    let k = kinds(&builtin("wm-quit-nested-loop"), 0..60);
    assert!(k.contains(&"deadlock") && k.contains(&"completed"), "{k:?}");
    let fixed = with("wm-quit-nested-loop", "repost", "1");
    for seed in 0..60 {
        let r = interp::run(&fixed, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert!(r.summary().contains(": 3"), "exit code 3 (WM_QUIT's wParam): {}", r.summary());
    }
}

/// docs/semantics.md §17.H2: MsgWaitForMultipleObjects without MWMO_INPUTAVAILABLE wakes
/// only for input that arrived after the thread last looked at its queue; the report says
/// that the queued message is not new.
#[test]
fn msgwait_does_not_wake_for_a_message_already_seen() {
    let f = builtin("msgwait-stale-input");
    let reports: Vec<_> = (0..40).map(|seed| interp::run(&f, Config::random(seed))).collect();
    let stuck = reports.iter().filter(|r| r.outcome.kind() == "deadlock").count();
    assert!(stuck > 0 && stuck < 40, "deadlocks on some seeds only: {stuck}/40");
    let r = reports.iter().find(|r| r.outcome.kind() == "deadlock").unwrap();
    let text = r.summary();
    assert!(text.contains("1 posted message(s) already queued were seen"), "{text}");
    for fix in ["1", "2"] {
        assert!(kinds(&with("msgwait-stale-input", "fix", fix), 0..40).iter().all(|k| *k == "completed"));
    }
}

/// docs/semantics.md §17.I, §17.J2, §17.J7: SendMessage waits for a thread that does not
/// pump; SendMessageTimeout's time-out applies per window (10 s for two hung windows);
/// SMTO_ABORTIFHUNG fails at once for a thread that has not looked at its queue for 5 s.
#[test]
fn sendmessage_to_hung_windows_and_its_two_fixes() {
    let r = interp::run(&builtin("sendmessage-to-hung-window"), Config::random(0));
    assert_eq!(r.outcome.kind(), "deadlock", "{}", r.summary());
    assert!(r.summary().contains("does not look at its message queue"), "{}", r.summary());
    for (fix, ms) in [("1", 10_000), ("2", 5_000)] {
        let f = with("sendmessage-to-hung-window", "fix", fix);
        for seed in 0..20 {
            let r = interp::run(&f, Config::random(seed));
            assert!(r.outcome.is_completed(), "fix={fix} seed {seed}: {}", r.summary());
            assert_eq!(r.time_ms, ms, "fix={fix} seed {seed}");
            assert!(r.summary().contains(": 2"), "two windows timed out: {}", r.summary());
        }
    }
}

/// docs/semantics.md §19 (SM-35, SM-36, SM-18): a view keeps the section alive, the name
/// needs a handle, and views start on the 64 KiB granularity. The file's own asserts check
/// the values each process read; here both settings must complete.
#[test]
fn section_lifetime_and_namespace() {
    for keep in ["0", "1"] {
        let f = with("section-lifetime-and-namespace", "keep", keep);
        let r = interp::run(&f, Config::random(0));
        assert!(r.outcome.is_completed(), "keep={keep}: {}", r.summary());
        let trace = r.trace_text();
        let created = trace.matches("creates section#").count();
        assert_eq!(created, if keep == "0" { 2 } else { 1 }, "keep={keep}: {trace}");
    }
}

/// docs/semantics.md §3: a WriteFile returns once its bytes fit the quota or are read;
/// both sides writing more than nSize before reading deadlock on every seed, and with
/// room for the whole message the same program completes.
#[test]
fn pipe_both_write_deadlocks_until_the_quota_fits_the_message() {
    let f = builtin("pipe-both-write");
    assert!(kinds(&f, 0..20).iter().all(|&k| k == "deadlock"));
    let report = interp::run(&f, Config::random(0));
    let text = report.outcome.deadlock().expect("deadlock").render();
    assert!(text.contains("WriteFile"), "{text}");
    let mut roomy = (*f).clone();
    roomy.set("nSize", "8192").unwrap();
    assert!(kinds(&Arc::new(roomy), 0..20).iter().all(|&k| k == "completed"));
}

/// docs/semantics.md §17: PostThreadMessage to a thread without a message queue fails
/// with ERROR_INVALID_THREAD_ID (1444); the failed `expect=` names the file, line and
/// column of the call, and the fixed file never fails.
#[test]
fn post_progress_fails_on_some_seeds_and_names_the_line() {
    let f = builtin("post-progress");
    let mut failed = None;
    let mut completed = 0;
    for seed in 0..200 {
        let r = interp::run(&f, Config::random(seed));
        match &r.outcome {
            Outcome::Failed { message, .. } => failed = failed.or(Some(message.clone())),
            Outcome::Completed { .. } => completed += 1,
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    let message = failed.expect("some seed lets the worker post before the queue exists");
    assert!(completed > 0);
    assert!(
        message.starts_with("scenarios/catalogue/post-progress.kdl:")
            && message.contains("PostThreadMessage returned 0 (last error ERROR_INVALID_THREAD_ID), expected 1"),
        "{message}"
    );
    assert!(kinds(&builtin("post-progress-fixed"), 0..200).iter().all(|&k| k == "completed"));
}

#[test]
fn set_checks_the_parameter_and_its_type() {
    let mut f = (*builtin("pipe-both-write")).clone();
    assert!(f.set("nSize", "0x2000").is_ok());
    assert_eq!(f.params["nSize"], file::Param::Int(8192));
    assert!(f.set("nSize", "big").unwrap_err().contains("is a number"));
    assert!(f.set("nsize", "1").unwrap_err().contains("has no parameter \"nsize\" (it has: bytes, nSize)"));
}

/// Every mistake is reported as file:line:column: message.
#[test]
fn mistakes_are_reported_with_line_and_column() {
    let head = "scenario \"t\" {\n    main \"a.exe\"\n}\n";
    let cases: &[(&str, &str)] = &[
        ("program \"a.exe\" {\n    WriteFile h \"x\n}\n", "t.kdl:5:17: not valid KDL: Unexpected newline"),
        ("program \"a.exe\" {\n    Frobnicate h\n}\n", "t.kdl:5:5: unknown call or statement `Frobnicate`"),
        ("program \"a.exe\" {\n    CloseHandle h bogus=1\n}\n", "t.kdl:5:19: CloseHandle has no parameter `bogus`"),
        ("program \"a.exe\" {\n    CloseHandle\n}\n", "t.kdl:5:5: CloseHandle needs `handle`"),
        ("program \"a.exe\" {\n    CloseHandle a b\n}\n", "t.kdl:5:19: too many arguments for CloseHandle"),
        (
            "program \"a.exe\" {\n    CreatePipe r w inherit=1\n}\n",
            "t.kdl:5:20: expected #true, #false or a \"$param\"",
        ),
        (
            "program \"a.exe\" {\n    CreateThread nobody\n}\n",
            "t.kdl:5:5: program \"a.exe\" has no thread body \"nobody\"",
        ),
        ("program \"a.exe\" {\n    Sleep \"$later\"\n}\n", "t.kdl:5:5: `$later` names no parameter"),
        ("program \"a.exe\" {\n    CreateProcess \"b.exe\"\n}\n", "which the file does not define"),
        ("program \"a.exe\" {\n    else { }\n}\n", "t.kdl:5:5: `else` must follow an `if` block"),
        ("program \"a.exe\" {\n    if { }\n}\n", "t.kdl:5:5: `if` needs a condition"),
        (
            "program \"a.exe\" {\n    WaitForSingleObject h timeout=\"INFINITE|BOGUS\"\n}\n",
            "unknown constant \"BOGUS\"",
        ),
        ("program \"a.exe\" {\n    WriteFile h\n}\n", "WriteFile takes either data"),
        ("program \"a.exe\" {\n    if ok=#true { } else { }\n}\n", "t.kdl:5:21: `else` goes on its own line"),
        ("procedure \"a.exe\" { }\n", "t.kdl:4:1: unknown top-level node `procedure`"),
        ("param n\nprogram \"a.exe\" { }\n", "t.kdl:4:1: parameter n needs a default"),
    ];
    for (body, want) in cases {
        let err = file::parse(&format!("{head}{body}"), "t.kdl").expect_err(body).to_string();
        assert!(err.contains(want), "{body:?}: got {err:?}, want {want:?}");
    }
    let err = file::parse("program \"a.exe\" { }\n", "t.kdl").unwrap_err().to_string();
    assert_eq!(err, "t.kdl:1:1: no `scenario \"NAME\" { ... }` node");
    let err = file::parse("scenario \"t\" { expect sometimes }\nprogram \"a.exe\" { }\n", "t.kdl").unwrap_err();
    assert_eq!((err.line, err.column), (1, 23), "{err}");
    let err = file::load(std::path::Path::new("/nonexistent/x.kdl")).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/x.kdl:1:1: cannot read the file"), "{err}");
}

/// A statement that cannot be carried out ends the run as Failed with its place.
#[test]
fn runtime_mistakes_are_failed_outcomes_with_their_place() {
    let src = "scenario \"t\" { main \"a.exe\" }\nprogram \"a.exe\" {\n    CloseHandle never_set\n}\n";
    let f = Arc::new(file::parse(src, "t.kdl").unwrap());
    match interp::run(&f, Config::random(0)).outcome {
        Outcome::Failed { message, .. } => {
            assert_eq!(message, "t.kdl:3:5: handle variable never_set has not been set")
        }
        other => panic!("{other:?}"),
    }
    // CloseHandle on a handle that was closed: FALSE, ERROR_INVALID_HANDLE (§2.3), and
    // the expectation machinery reports it against error=.
    let src = "scenario \"t\" { main \"a.exe\" }\nprogram \"a.exe\" {\n    CreateEvent as=e\n    CloseHandle e expect=TRUE\n    CloseHandle e expect=FALSE error=ERROR_INVALID_HANDLE\n    CloseHandle e error=ERROR_SUCCESS\n}\n";
    let f = Arc::new(file::parse(src, "t.kdl").unwrap());
    match interp::run(&f, Config::random(0)).outcome {
        Outcome::Failed { message, .. } => assert_eq!(
            message,
            "t.kdl:6:5: CloseHandle returned 0 and left last error ERROR_INVALID_HANDLE, expected ERROR_SUCCESS"
        ),
        other => panic!("{other:?}"),
    }
}

/// Loops: `until-error` ends the loop on that error only; `break` ends the innermost;
/// `repeat` counts; `if`/`else` test the previous call.
#[test]
fn control_flow() {
    let src = r#"
scenario "t" { main "a.exe" }
program "a.exe" {
    set n 0
    repeat 3 {
        repeat 2 { add n 1 }
    }
    assert n 6
    CreateEvent as=e
    loop {
        add n 1
        if var=n equals=10 { break }
    }
    assert n 10
    WaitForSingleObject e timeout=5
    if ret=WAIT_TIMEOUT { set t 1 }
    else { set t 2 }
    assert t 1
    CloseHandle e
    loop until-error=ERROR_INVALID_HANDLE {
        add n 1
        CloseHandle e
    }
    assert n 11
    exit 7
}
"#;
    let f = Arc::new(file::parse(src, "t.kdl").unwrap());
    match interp::run(&f, Config::random(0)).outcome {
        Outcome::Completed { exit_codes } => assert_eq!(exit_codes[0].2, 7),
        other => panic!("{other:?}"),
    }
}

#[test]
fn named_pipe_echo_trace() {
    let r = interp::run(&builtin("named-pipe-echo"), Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
    insta::assert_snapshot!("file_named_pipe_echo_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
}

/// docs/scenarios.md lists every call a file can make, so the table cannot drift.
#[test]
fn the_docs_list_every_call() {
    let docs = include_str!("../../docs/scenarios.md");
    for s in file::SIGS {
        assert!(docs.contains(&format!("| `{}` |", s.name)), "docs/scenarios.md does not list {}", s.name);
    }
}

/// Every file in scenarios/catalogue/ is built in (listed in `scenarios::files()`).
#[test]
fn every_catalogue_file_is_built_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/catalogue");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".kdl"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = scenarios::files().iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

/// docs/semantics.md §17: a thread runs sent messages only while it looks at its queue.
/// gui-worker-sendmessage deadlocks on every seed (its report names the SendMessage, the
/// window and what its owner waits in); gui-worker-msgwait completes on every seed; and
/// without its final drain loop the last posted message is still queued on some seeds
/// (MsgWaitForMultipleObjects reports the ended worker before the input).
#[test]
fn gui_worker_sendmessage_and_its_fix() {
    let stuck = builtin("gui-worker-sendmessage");
    assert!(kinds(&stuck, 0..50).iter().all(|&k| k == "deadlock"));
    let r = interp::run(&stuck, Config::random(0));
    let text = r.outcome.deadlock().expect("deadlock").render();
    assert!(text.contains("SendMessage(WM_APP) #1 sent at step 7: not yet taken by the receiver"), "{text}");
    assert!(text.contains("T8 is blocked in WaitForSingleObject"), "{text}");
    insta::assert_snapshot!("file_gui_worker_sendmessage_seed_0", format!("{}\n{}", r.trace_text(), r.summary()));
    let fixed = builtin("gui-worker-msgwait");
    assert!(kinds(&fixed, 0..300).iter().all(|&k| k == "completed"));
    let mut no_drain = (*fixed).clone();
    let main = &mut no_drain.programs[0].main;
    let drain = main.len() - 3; // the drain loop, before the two asserts
    assert!(matches!(main[drain].kind, file::StmtKind::Loop { .. }));
    main.remove(drain);
    let no_drain = Arc::new(no_drain);
    let failures: Vec<String> = (0..300)
        .filter_map(|seed| match interp::run(&no_drain, Config::random(seed)).outcome {
            Outcome::Failed { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(!failures.is_empty());
    assert!(failures.iter().all(|m| m.ends_with("assert progress: it is 2, expected 3")), "{failures:?}");
}

/// docs/semantics.md §19: views of one section in two processes see each other's writes;
/// a read-add-write increment is three accesses another process can run between (lost
/// updates on some seeds), InterlockedIncrement is one (none lost on any seed). §25.1:
/// the data-race detector reports the read-add-write on every run, naming both workers'
/// accesses to the counter; with it off, the lost updates show as failed assertions.
#[test]
fn shared_counter_lost_updates_and_interlocked() {
    let racy = builtin("shm-lost-update");
    let k = kinds(&racy, 0..100);
    assert!(k.iter().all(|&k| k == "data-race"), "{k:?}");
    match interp::run(&racy, Config::random(0)).outcome {
        Outcome::DataRace(r) => {
            assert_eq!(r.offset, 0, "the counter");
            assert!(r.memory.contains("counter"), "{}", r.memory);
            assert_ne!(r.first.pid, r.second.pid, "the two workers");
            assert!(r.first.write || r.second.write);
            assert!(r.render().contains("ReadMemory") || r.render().contains("WriteMemory"), "{}", r.render());
        }
        other => panic!("{other:?}"),
    }
    let off = |seed| Config { race_detection: RaceDetection::Off, ..Config::random(seed) };
    let outcomes: Vec<&str> = (0..100).map(|s| interp::run(&racy, off(s)).outcome.kind()).collect();
    assert!(outcomes.contains(&"failed") && outcomes.contains(&"completed"), "{outcomes:?}");
    match interp::run(&racy, off(0)).outcome {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("shm-lost-update.kdl:") && message.contains("assert total: it is"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let mut one_each = (*racy).clone();
    one_each.set("rounds", "0").unwrap();
    assert!(kinds(&Arc::new(one_each), 0..20).iter().all(|&k| k == "completed"));
    assert!(kinds(&builtin("shm-interlocked"), 0..200).iter().all(|&k| k == "completed"));
}

/// docs/semantics.md §7.10 and §7.11 (d): a grandchild started with bInheritHandles TRUE
/// inherits the pipe's write end; with FALSE but no STARTF_USESTDHANDLES a console child
/// still gets its parent's std handles duplicated; only explicit NULL std handles keep
/// the pipe out. The report names the handle held in the grandchild.
#[test]
fn grandchild_holds_the_pipe_in_two_of_three_ways() {
    let f = builtin("redirect-grandchild-holds-pipe");
    for (mode, want) in [("0", "deadlock"), ("1", "deadlock"), ("2", "completed")] {
        let mut g = (*f).clone();
        g.set("mode", mode).unwrap();
        let g = Arc::new(g);
        assert!(kinds(&g, 0..100).iter().all(|&k| k == want), "mode {mode}");
        if want == "deadlock" {
            let r = interp::run(&g, Config::random(0));
            let text = r.outcome.deadlock().unwrap().render();
            assert!(text.contains("in P20 (helper.exe)"), "{text}");
            let how = if mode == "0" {
                "inherited by CreateProcess at step 5 (P12/T16)"
            } else {
                "duplicated as std handle by CreateProcess"
            };
            assert!(text.contains(how), "mode {mode}: {text}");
        }
    }
}

/// docs/semantics.md §7 (abandoned mutexes, ERROR_NOT_OWNER) and §15.7 (the 10,000
/// posted-message quota, ERROR_NOT_ENOUGH_QUOTA): every call in these files states its
/// result, so completing is the check.
#[test]
fn mutex_abandoned_and_posted_message_quota() {
    assert!(kinds(&builtin("mutex-abandoned"), 0..20).iter().all(|&k| k == "completed"));
    assert_eq!(kinds(&builtin("posted-message-quota"), 0..2), ["completed", "completed"]);
}

/// docs/semantics.md §7.10 (TEACHING-CASES item 4): bInheritHandles copies every
/// inheritable handle, so a child started while another thread's pipe is open inherits
/// that pipe's write end: a deadlock on some seeds, whose report says which CreateProcess
/// of which thread gave B the handle another thread created; a mutex around
/// create-pipe-and-spawn completes on every seed.
#[test]
fn spawn_race_inherits_the_other_threads_pipe() {
    let f = builtin("spawn-race-inheritance");
    let k = kinds(&f, 0..100);
    assert!(k.contains(&"deadlock") && k.contains(&"completed"), "{k:?}");
    let seed = k.iter().position(|&x| x == "deadlock").unwrap() as u64;
    let r = interp::run(&f, Config::random(seed));
    let text = r.outcome.deadlock().unwrap().render();
    assert!(text.contains("(b.exe)") && text.contains("created (write end) by CreatePipe"), "{text}");
    let mut locked = (*f).clone();
    locked.set("locked", "1").unwrap();
    assert!(kinds(&Arc::new(locked), 0..200).iter().all(|&k| k == "completed"));
}

/// docs/semantics.md §17.J2: SendMessageTimeout to a thread that does not pump returns 0
/// with ERROR_TIMEOUT (1460) when the time-out passes (virtual time), so the program that
/// deadlocks with SendMessage completes on every seed, at the time-out.
#[test]
fn sendmessage_timeout_to_a_hung_window() {
    let f = builtin("sendmessage-timeout-hung");
    for seed in 0..50 {
        let r = interp::run(&f, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert_eq!(r.time_ms, 1000, "seed {seed}");
    }
}

/// docs/semantics.md §10.7: a file object is signalled while no I/O is in progress, so a
/// wait on a pipe handle returns at once and the ReadFile after it blocks: the reader
/// never sees its stop event. The overlapped fix (§16) waits on the read's event and
/// the stop event, and its cancelled read reports ERROR_OPERATION_ABORTED.
#[test]
fn pipe_poll_vs_wait_and_the_overlapped_fix() {
    let r = interp::run(&builtin("pipe-poll-vs-wait"), Config::random(0));
    assert_eq!(r.outcome.kind(), "deadlock", "{}", r.summary());
    assert!(r.summary().contains("is blocked in ReadFile"), "{}", r.summary());
    let fixed = with("pipe-poll-vs-wait", "fix", "1");
    for seed in 0..30 {
        let r = interp::run(&fixed, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert_eq!(r.time_ms, 1000, "the reader stops when asked, at 1 s");
        let t = r.trace_text();
        assert!(t.contains("ERROR_IO_PENDING") && t.contains("ERROR_OPERATION_ABORTED"), "{t}");
    }
}

/// Waitable timers and GetTickCount as statements (docs/semantics.md §14: a relative due
/// time in 100-ns units; a periodic timer signals once per period).
#[test]
fn waitable_timer_statements() {
    let text = r#"
scenario "timers" {
    summary "a timer due in 2 s, then periodic every 500 ms"
}
program "t.exe" {
    CreateWaitableTimer as=t
    SetWaitableTimer t due=-20000000 expect=TRUE
    WaitForSingleObject t expect=WAIT_OBJECT_0
    GetTickCount as=now
    assert now 2000
    SetWaitableTimer t due=-5000000 period=500 expect=TRUE
    repeat 3 {
        WaitForSingleObject t expect=WAIT_OBJECT_0
    }
    GetTickCount as=now
    assert now 3500
    CancelWaitableTimer t expect=TRUE
    WaitForSingleObject t timeout=1000 expect=WAIT_TIMEOUT
}
"#;
    let f = Arc::new(file::parse(text, "timers.kdl").unwrap());
    let r = interp::run(&f, Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
    assert_eq!(r.time_ms, 4500);
}

/// docs/semantics.md §7.13 (CreateMutex of an existing name: a handle and
/// ERROR_ALREADY_EXISTS, never NULL) and §6 (CreateFile on a pipe name with no instance:
/// ERROR_FILE_NOT_FOUND): the NULL check makes both launches primary on every seed; the
/// right check still leaves the gap before the pipe exists on some seeds; retrying fixes it.
#[test]
fn single_instance_race_and_its_fix() {
    assert!(kinds(&with("single-instance-race", "check", "0"), 0..30).iter().all(|k| *k == "deadlock"));
    let b = kinds(&with("single-instance-race", "check", "1"), 0..60);
    assert!(b.contains(&"deadlock") && b.contains(&"completed"), "{b:?}");
    let fixed = with("single-instance-race", "check", "2");
    for seed in 0..60 {
        let r = interp::run(&fixed, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert_eq!(r.trace_text().matches("[last error ERROR_ALREADY_EXISTS (183)]").count(), 1, "seed {seed}");
    }
}

/// docs/semantics.md §9 and §10: an exit code of 259 is STILL_ACTIVE's value, so polling
/// GetExitCodeProcess keeps a finished worker "alive"; a zero-time-out wait on the
/// process handle tells them apart.
#[test]
fn supervisor_polling_exit_codes_and_waiting_on_handles() {
    let r = interp::run(&builtin("process-supervisor-waits"), Config::random(0));
    assert_eq!(r.outcome.kind(), "failed", "{}", r.summary());
    assert!(r.summary().contains("assert alive: it is 1, expected 0"), "{}", r.summary());
    assert_eq!(r.time_ms, 4900, "gave up at the 50th poll, after 49 sleeps of 100 ms");
    let r = interp::run(&with("process-supervisor-waits", "fix", "1"), Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
    assert_eq!(r.time_ms, 300, "seen gone at its exit");
}

fn exit_code(r: &RunReport, image: &str) -> Option<u32> {
    match &r.outcome {
        Outcome::Completed { exit_codes } => exit_codes.iter().find(|(_, i, _)| i == image).map(|(_, _, c)| *c),
        _ => None,
    }
}

/// docs/semantics.md §9 (a completion packet is dequeued by one thread): one exit packet
/// ends one of two workers; the other waits in GetQueuedCompletionStatus, named by the
/// deadlock report. One packet per worker shuts the pool down.
#[test]
fn iocp_pool_needs_an_exit_packet_per_worker() {
    let f = builtin("iocp-one-exit-packet-per-worker");
    for seed in 0..20 {
        let r = interp::run(&f, Config::random(seed));
        let Outcome::Deadlock(d) = &r.outcome else { panic!("seed {seed}: {}", r.summary()) };
        let text = d.render();
        assert!(text.contains("GetQueuedCompletionStatus"), "seed {seed}: {text}");
        assert!(text.contains("WaitForMultipleObjects"), "seed {seed}: {text}");
    }
    assert!(kinds(&with("iocp-one-exit-packet-per-worker", "exits", "2"), 0..20).iter().all(|k| *k == "completed"));
}

/// docs/semantics.md §16.33: a user-mode APC runs only in an alertable wait, which then
/// returns WAIT_IO_COMPLETION.
#[test]
fn apc_runs_only_in_an_alertable_wait() {
    let f = builtin("apc-needs-alertable-wait");
    for seed in 0..10 {
        let r = interp::run(&f, Config::random(seed));
        assert_eq!(r.outcome.kind(), "deadlock", "seed {seed}: {}", r.summary());
        assert!(r.trace_text().contains("QueueUserAPC"), "seed {seed}");
    }
    let fixed = with("apc-needs-alertable-wait", "alertable", "1");
    for seed in 0..10 {
        let r = interp::run(&fixed, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert!(r.trace_text().contains("WAIT_IO_COMPLETION"), "seed {seed}: the alertable wait ran the APC");
    }
}

/// docs/semantics.md §17.C (GetMessage's hwnd filter): a loop filtered to one window
/// leaves the posted messages of the thread's other windows queued.
#[test]
fn a_filtered_getmessage_starves_the_helper_window() {
    let f = builtin("filtered-getmessage-starves-window");
    for seed in 0..10 {
        let r = interp::run(&f, Config::random(seed));
        assert_eq!(r.outcome.kind(), "deadlock", "seed {seed}: {}", r.summary());
    }
    assert!(kinds(&with("filtered-getmessage-starves-window", "fix", "1"), 0..20).iter().all(|k| *k == "completed"));
}

/// docs/semantics.md §17.C, §17.O: DispatchMessage of a thread message (no window) has
/// nowhere to deliver it, so a modal loop drops the thread's messages; a message posted
/// to a window reaches its procedure from any loop.
#[test]
fn a_modal_loop_eats_a_thread_message() {
    let f = builtin("thread-message-eaten-by-modal-loop");
    for seed in 0..10 {
        let r = interp::run(&f, Config::random(seed));
        assert_eq!(r.outcome.kind(), "deadlock", "seed {seed}: {}", r.summary());
        let trace = r.trace_text();
        assert!(trace.contains("PostThreadMessage"), "seed {seed}");
        assert!(trace.contains("DispatchMessage"), "seed {seed}");
    }
    assert!(kinds(&with("thread-message-eaten-by-modal-loop", "fix", "1"), 0..20).iter().all(|k| *k == "completed"));
}

/// docs/semantics.md §22 (socket handles are inheritable; SO_EXCLUSIVEADDRUSE and the port
/// table): the child's inherited listener keeps the port bound after the parent closes its
/// handle, so the re-bind fails with WSAEADDRINUSE; without inheritance it succeeds.
#[test]
fn an_inherited_listening_socket_keeps_its_port() {
    let f = builtin("socket-inherited-listener");
    for seed in 0..10 {
        let r = interp::run(&f, Config::random(seed));
        assert_eq!(exit_code(&r, "server.exe"), Some(1), "seed {seed}: {}", r.summary());
        assert!(r.trace_text().contains("WSAEADDRINUSE"), "seed {seed}");
    }
    let fixed = with("socket-inherited-listener", "fix", "1");
    for seed in 0..10 {
        let r = interp::run(&fixed, Config::random(seed));
        assert_eq!(exit_code(&r, "server.exe"), Some(0), "seed {seed}: {}", r.summary());
    }
}

/// The socket statements over loopback: a server and a client exchange a request and a
/// response; connect to a port nobody listens on is refused after the retries
/// (docs/semantics.md §22.6: about 2 s); WSAGetLastError reads the thread's last error.
#[test]
fn socket_statements() {
    let text = r#"
scenario "sock" {
    summary "loopback echo"
    main "a.exe"
}
program "a.exe" {
    thread "client" {
        socket type=SOCK_STREAM as=c
        connect c port=7000 expect=0
        send c data="ping" expect=4
        recv c size=16 into=reply
        assert-data reply "pong"
        closesocket c expect=0
    }
    WSAStartup expect=0
    socket type=SOCK_STREAM as=l
    bind l port=7000 addr="127.0.0.1" expect=0
    listen l backlog=1 expect=0
    getsockname l port=p
    assert p 7000
    CreateThread client as=t
    accept l as=s
    recv s size=4 into=req bytes=n
    assert n 4
    assert-data req "ping"
    send s data="pong" expect=4
    recv s size=4 expect=0
    closesocket s expect=0
    socket type=SOCK_STREAM as=x
    connect x port=7001 expect=SOCKET_ERROR error=WSAECONNREFUSED
    WSAGetLastError as=e
    assert e 10061
    GetTickCount as=now
    WaitForSingleObject t expect=WAIT_OBJECT_0
    WSACleanup expect=0
}
"#;
    let f = Arc::new(file::parse(text, "sock.kdl").unwrap_or_else(|e| panic!("{e}")));
    for seed in 0..10 {
        let r = interp::run(&f, Config { stream_splits: false, ..Config::random(seed) });
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert!(r.time_ms >= 2000, "the refused connect took {} ms", r.time_ms);
    }
}

/// Window timers and the message filters: a timer's WM_TIMER is generated when the
/// thread looks at its queue, one per elapsed period however many passed (§17.N), and
/// PeekMessage's min/max filter selects it.
#[test]
fn window_timer_statements() {
    let text = r#"
scenario "timer" {
    summary "SetTimer"
    main "a.exe"
}
program "a.exe" {
    window-class "w" {
        on WM_TIMER {
            add ticks 1
            return 0
        }
    }
    set ticks 0
    RegisterClassEx "w"
    CreateWindowEx "w" as=win
    SetTimer hwnd=win id=7 ms=100 as=id
    assert id 7
    Sleep 1000
    PeekMessage remove=PM_REMOVE min=WM_TIMER max=WM_TIMER message=m window=h expect=1
    assert m 275
    DispatchMessage
    PeekMessage remove=PM_REMOVE min=WM_TIMER max=WM_TIMER expect=0
    assert ticks 1
    KillTimer hwnd=win id=7 expect=TRUE
    KillTimer hwnd=win id=7 expect=FALSE
}
"#;
    let f = Arc::new(file::parse(text, "timer.kdl").unwrap_or_else(|e| panic!("{e}")));
    let r = interp::run(&f, Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
}

/// Hosts in scenario files (docs/semantics.md §27): `host`, `start ... host=`, `link` and
/// `partition` nodes. A client on the default host reaches a server on another host
/// across a 50 ms link (connect and the exchange take whole round trips of virtual time);
/// with the link partitioned for good, the connect fails with WSAETIMEDOUT after 21 s
/// (§27.7, §22.13).
#[test]
fn hosts_links_and_partitions_in_scenario_files() {
    let text = |partition: &str| {
        format!(
            r#"
scenario "two-hosts" {{
    summary "a client and a server on two hosts"
    main "client.exe"
}}
host "server" "10.0.0.2"
link "local" "server" latency=50
{partition}
start "server.exe" host="server"
program "client.exe" {{
    WSAStartup expect=0
    socket type=SOCK_STREAM as=c
    Sleep 10
    connect c port=80 addr="10.0.0.2"
    if ok=#false {{
        WSAGetLastError as=e
        exit 2
    }}
    send c data="ping" expect=4
    recv c size=4 into=r
    assert-data r "pong"
    closesocket c expect=0
}}
program "server.exe" {{
    WSAStartup expect=0
    socket type=SOCK_STREAM as=l
    bind l port=80 expect=0
    listen l expect=0
    accept l as=s
    recv s size=4 into=q
    assert-data q "ping"
    send s data="pong" expect=4
    recv s size=4 expect=0
}}
"#
        )
    };
    let f = Arc::new(file::parse(&text(""), "two-hosts.kdl").unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(f.hosts, vec![("server".to_string(), [10, 0, 0, 2])]);
    assert_eq!(f.starts, vec![("server".to_string(), "server.exe".to_string())]);
    for seed in 0..10 {
        // Each recv takes what has arrived whole (no split decisions): the file's recvs
        // expect whole messages, which TCP does not promise (teaching case 1 of §22).
        let r = interp::run(&f, Config { stream_splits: false, ..Config::random(seed) });
        assert!(r.outcome.is_completed(), "seed {seed}: {}", r.summary());
        assert!(r.summary().contains("client.exe: 0"), "seed {seed}: {}", r.summary());
        // Connect (a round trip) and the request and response (another): at least 200 ms
        // after the client's 10 ms sleep.
        assert!(r.time_ms >= 210, "seed {seed}: {} ms", r.time_ms);
    }
    let cut = Arc::new(file::parse(&text(r#"partition "local" "server" from=0"#), "cut.kdl").unwrap());
    let r = interp::run(&cut, Config::random(0));
    let trace = r.trace_text();
    assert!(trace.contains("WSAETIMEDOUT"), "{trace}");
    // The client gives up; the server waits in accept for ever.
    assert_eq!(r.outcome.kind(), "deadlock", "{}", r.summary());
    // Mistakes in the network nodes are reported with their place.
    for (bad, want) in [
        (r#"host "s" "10.0.0""#, "not a dotted IPv4 address"),
        (r#"link "local" "s" drop=2000"#, "outside 0..=1000"),
        (r#"link "local" "s" jitter=3"#, "unknown link property `jitter`"),
        (r#"partition "local" "s" until=3"#, "unknown partition property `until`"),
    ] {
        let e = file::parse(&format!("{bad}\n{}", text("")), "bad.kdl").unwrap_err().to_string();
        assert!(e.contains(want) && e.contains("bad.kdl:1:"), "{bad}: {e}");
    }
}

// ----- COM statements (docs/scenarios.md "COM", docs/semantics.md §21.22) ----------------------

fn parse_err(text: &str) -> String {
    file::parse(text, "c.kdl").unwrap_err().to_string()
}

fn com_file(body: &str) -> String {
    format!("scenario \"c\" {{\n    summary \"s\"\n}}\nprogram \"a.exe\" {{\n{body}}}\n")
}

/// Malformed COM statements are rejected at load with file:line:column; an unknown call or
/// CLSID/IID name comes with the closest known one.
#[test]
fn com_statement_mistakes_are_reported_with_their_place_and_a_suggestion() {
    let e = parse_err(&com_file("    CoInitialise\n"));
    assert!(e.starts_with("c.kdl:5:5:") && e.contains("did you mean `CoInitialize`?"), "{e}");
    let e = parse_err(&com_file("    CoInitializeEx expect=S_OK\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("CoInitializeEx needs `coinit`"), "{e}");
    let e = parse_err(&com_file("    CoInitializeEx COINIT_MULTITHREADED\n    CoCreateInstance CLSID_Toi as=p\n"));
    assert!(e.starts_with("c.kdl:6:") && e.contains("did you mean `CLSID_Toy`?"), "{e}");
    let e = parse_err(&com_file("    CoCreateInstance 5 as=p\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("expected a CLSID or IID name"), "{e}");
    let e = parse_err(&com_file("    IToy_Add p n=1 count=2\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("IToy_Add has no parameter `count`"), "{e}");
    let e = parse_err(&com_file("    CoWaitForMultipleHandles h flags=\"COWAIT_WAITALL|COWAIT_NOPE\"\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("unknown constant \"COWAIT_NOPE\""), "{e}");
}

/// A method called through NULL ends the run as `failed` at the statement; an HRESULT
/// expectation that is not met names both HRESULTs (§21.22).
#[test]
fn com_statement_run_time_failures_name_the_statement_and_the_hresults() {
    let f = Arc::new(file::parse(&com_file("    IToy_Add NULL\n"), "c.kdl").unwrap());
    let r = interp::run(&f, Config::round_robin());
    match &r.outcome {
        Outcome::Failed { message, .. } => {
            assert!(message.contains("c.kdl:5:5: IToy_Add through a NULL interface pointer"), "{message}")
        }
        o => panic!("{o:?}"),
    }
    // com-proxy-wrong-apartment's bug: J.1/MP-5, RPC_E_WRONG_THREAD from a proxy used in
    // another apartment (§21.8).
    let r = interp::run(&builtin("com-proxy-wrong-apartment"), Config::random(3));
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(
            message.contains("com-proxy-wrong-apartment.kdl:")
                && message.contains("IToy_Add returned RPC_E_WRONG_THREAD, expected S_OK"),
            "{message}"
        ),
        o => panic!("{o:?}"),
    }
}

/// The statements reach the same ThreadCtx calls: the GIT from two apartments (MP-9,
/// §21.7a), a scripted message filter that rejects (§21.9a: no caller filter, so
/// RPC_E_CALL_REJECTED), CoGetClassObject/CoRegisterClassObject/CoRevokeClassObject with
/// another apartment's cookie (RPC_E_WRONG_THREAD, MP-7), QueryInterface and AddRef (the
/// object's count: the QueryInterface added one, §21.23).
#[test]
fn com_statements_drive_the_git_message_filters_and_class_registration() {
    let text = com_file(
        r#"    thread "mta" {
        CoInitializeEx COINIT_MULTITHREADED expect=S_OK
        GetInterfaceFromGlobal git cookie as=p expect=S_OK
        IToy_Add p 2 expect=RPC_E_CALL_REJECTED
        IToy_Add p 3 expect=S_OK
        Release p
        CoRevokeClassObject reg expect=RPC_E_WRONG_THREAD
        CoUninitialize
    }
    CoInitializeEx COINIT_APARTMENTTHREADED expect=S_OK
    CoRegisterMessageFilter incoming="SERVERCALL_REJECTED,SERVERCALL_ISHANDLED" expect=S_OK
    CoCreateInstance CLSID_Toy as=toy expect=S_OK
    QueryInterface toy IID_IToyCallback as=cb expect=S_OK
    QueryInterface toy IID_IClassFactory as=none expect=E_NOINTERFACE
    AddRef toy expect=3
    Release toy expect=2
    CoCreateInstance CLSID_StdGlobalInterfaceTable iid=IID_IGlobalInterfaceTable as=git expect=S_OK
    RegisterInterfaceInGlobal git toy as=cookie expect=S_OK
    CoGetClassObject CLSID_Toy as=factory expect=S_OK
    CoRegisterClassObject CLSID_ToyServer factory as=reg expect=S_OK
    CreateThread mta as=t
    CoWaitForMultipleHandles t expect=S_OK
    IToy_Get toy as=n expect=S_OK
    assert n 3
    RevokeInterfaceFromGlobal git cookie expect=S_OK
    CoRevokeClassObject reg expect=S_OK
    CoRevokeClassObject reg expect=E_INVALIDARG
    CoRegisterMessageFilter expect=S_OK
    CoUninitialize
    CoCreateInstance CLSID_Toy as=p2 expect=CO_E_NOTINITIALIZED
"#,
    );
    let f = Arc::new(file::parse(&text, "c.kdl").unwrap_or_else(|e| panic!("{e}")));
    for seed in 0..8 {
        let r = interp::run(&f, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}\n{}", r.summary(), r.trace_text());
    }
}

// ----- Message Queuing statements (docs/scenarios.md "Message Queuing", docs/semantics.md §23)

/// Malformed MSMQ statements are rejected at load with file:line:column; an unknown call
/// or parameter comes with the closest known one or the list of parameters.
#[test]
fn msmq_statement_mistakes_are_reported_with_their_place_and_a_suggestion() {
    let e = parse_err(&com_file("    MQRecieveMessage q\n"));
    assert!(e.starts_with("c.kdl:5:5:") && e.contains("did you mean `MQReceiveMessage`?"), "{e}");
    let e = parse_err(&com_file("    MQOpenQueue \"DIRECT=OS:.\\\\private$\\\\q\" as=q\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("MQOpenQueue needs `access`"), "{e}");
    let e = parse_err(&com_file("    MQReceiveMessage q timeout_ms=5\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("MQReceiveMessage has no parameter `timeout_ms`"), "{e}");
    let e = parse_err(&com_file("    MQSendMessage q \"a\" size=3\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("either a body"), "{e}");
    let e = parse_err(&com_file("    MQReceiveMessage q overlapped=ov callback=cb\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("overlapped= or callback=, not both"), "{e}");
    let e = parse_err(&com_file("    MQReceiveMessage q event=e\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("event= goes with overlapped=NAME"), "{e}");
    let e = parse_err(&com_file("    MQReceiveMessage q callback=nothere\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("no thread body \"nothere\""), "{e}");
    let e = parse_err(&com_file("    MQOpenQueue \"x\" \"MQ_RECEIVE_ACCESS|MQ_PEAK_ACCESS\"\n"));
    assert!(e.starts_with("c.kdl:5:") && e.contains("unknown constant \"MQ_PEAK_ACCESS\""), "{e}");
    // An HRESULT expectation not met names both by their mq.h names, at the statement.
    let f = Arc::new(
        file::parse(
            &com_file(
                "    MQCreateQueue \".\\\\private$\\\\q\" as=fmt expect=MQ_OK\n    MQOpenQueue fmt MQ_RECEIVE_ACCESS as=q expect=MQ_OK\n    MQReceiveMessage q timeout=0 expect=MQ_OK\n",
            ),
            "c.kdl",
        )
        .unwrap(),
    );
    match &interp::run(&f, Config::round_robin()).outcome {
        Outcome::Failed { message, .. } => assert!(
            message.contains("c.kdl:7:5: MQReceiveMessage returned MQ_ERROR_IO_TIMEOUT, expected MQ_OK"),
            "{message}"
        ),
        o => panic!("{o:?}"),
    }
}

fn run_completed(text: &str, seeds: std::ops::Range<u64>) {
    let f = Arc::new(file::parse(text, "c.kdl").unwrap_or_else(|e| panic!("{e}")));
    for seed in seeds {
        let r = interp::run(&f, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}\n{}", r.summary(), r.trace_text());
    }
}

/// The statements reach the same ThreadCtx calls as Rust code: queue creation and its
/// format name (§§23.1-23.7: the informational code for a short buffer, 54 characters
/// with the null), opening, properties (§23.9), priority order (§23.10), a virtual-time
/// time-out (§23.12), buffer overflow leaving the message (§23.12), cursors (§§23.13-23.15),
/// purge (§23.18), deletion (§23.8).
#[test]
fn msmq_statements_drive_queues_messages_and_cursors() {
    let text = com_file(
        r#"    MQCreateQueue ".\\private$\\orders" as=fmt label="orders" quota=64 expect=MQ_OK
    MQCreateQueue ".\\PRIVATE$\\Orders" expect=MQ_ERROR_QUEUE_EXISTS
    MQCreateQueue ".\\private$\\short" length=10 needed=n expect=MQ_INFORMATION_FORMATNAME_BUFFER_TOO_SMALL
    assert n 54
    MQPathNameToFormatName ".\\private$\\orders" as=fmt2 expect=MQ_OK
    assert-data fmt2 size=53
    MQPathNameToFormatName ".\\private$\\orders" length=5 needed=n expect=MQ_ERROR_FORMATNAME_BUFFER_TOO_SMALL
    assert n 54
    MQPathNameToFormatName ".\\private$\\nope" expect=MQ_ERROR_QUEUE_NOT_FOUND
    MQGetQueueProperties fmt2 transactional=t quota=qk label=l path=p expect=MQ_OK
    assert t 0
    assert qk 64
    assert-data l "orders"
    assert-data p ".\\private$\\orders"
    MQOpenQueue fmt MQ_SEND_ACCESS as=s expect=MQ_OK
    MQOpenQueue "DIRECT=OS:.\\private$\\orders" MQ_RECEIVE_ACCESS as=r expect=MQ_OK
    MQReceiveMessage r timeout=0 expect=MQ_ERROR_IO_TIMEOUT
    GetTickCount as=t0
    MQReceiveMessage r timeout=250 expect=MQ_ERROR_IO_TIMEOUT
    GetTickCount as=t1
    add t1 -250
    assert t1 t0
    MQSendMessage s "low" priority=1 label="first" expect=MQ_OK
    MQSendMessage s "high" priority=6 correlation="c-1" app-specific=7 response=fmt expect=MQ_OK
    MQSendMessage s size=40 expect=MQ_OK
    MQReceiveMessage r size=2 body-size=bs expect=MQ_ERROR_BUFFER_OVERFLOW
    assert bs 4
    MQReceiveMessage r into=b priority=pr correlation=cid app-specific=a response=reply expect=MQ_OK
    assert-data b "high"
    assert pr 6
    assert a 7
    assert-data cid "c-1"
    MQOpenQueue reply MQ_PEEK_ACCESS as=peek expect=MQ_OK
    MQCreateCursor peek as=cur expect=MQ_OK
    MQReceiveMessage peek cursor=cur action=MQ_ACTION_PEEK_NEXT expect=MQ_ERROR_ILLEGAL_CURSOR_ACTION
    MQReceiveMessage peek cursor=cur action=MQ_ACTION_PEEK_CURRENT body-size=bs priority=pr expect=MQ_OK
    assert bs 40
    assert pr 3
    MQReceiveMessage peek cursor=cur action=MQ_ACTION_PEEK_NEXT into=b label=l expect=MQ_OK
    assert-data b "low"
    assert-data l "first"
    MQReceiveMessage peek cursor=cur action=MQ_ACTION_RECEIVE expect=MQ_ERROR_ACCESS_DENIED
    MQCloseCursor cur expect=MQ_OK
    MQCloseCursor cur expect=MQ_ERROR_INVALID_HANDLE
    MQPurgeQueue s expect=MQ_ERROR_ACCESS_DENIED
    MQPurgeQueue r expect=MQ_OK
    MQReceiveMessage r timeout=0 expect=MQ_ERROR_IO_TIMEOUT
    MQCloseQueue peek expect=MQ_OK
    MQCloseQueue s expect=MQ_OK
    MQCloseQueue r expect=MQ_OK
    MQCloseQueue r expect=MQ_ERROR_INVALID_HANDLE
    MQDeleteQueue fmt expect=MQ_OK
    MQOpenQueue fmt MQ_RECEIVE_ACCESS as=r expect=MQ_ERROR_QUEUE_NOT_FOUND
"#,
    );
    run_completed(&text, 0..4);
}

/// Transactions (§§23.20-23.24): sends visible at commit; an aborted receive puts the
/// message back with PROPID_M_ABORT_COUNT incremented; an ended transaction is
/// MQ_ERROR_TRANSACTION_SEQUENCE / XACT_E_NOTRANSACTION; a transactional receive from a
/// nontransactional queue is MQ_ERROR_TRANSACTION_USAGE; and a loop ends on an HRESULT
/// (`until-error=MQ_ERROR_IO_TIMEOUT`).
#[test]
fn msmq_statements_drive_transactions_and_hresult_loops() {
    let text = com_file(
        r#"    MQCreateQueue ".\\private$\\tx" transactional=#true as=fmt expect=MQ_OK
    MQOpenQueue fmt MQ_SEND_ACCESS as=s expect=MQ_OK
    MQOpenQueue fmt MQ_RECEIVE_ACCESS as=r expect=MQ_OK
    MQBeginTransaction as=t expect=MQ_OK
    MQSendMessage s "one" transaction=t expect=MQ_OK
    MQSendMessage s "two" transaction=t expect=MQ_OK
    MQReceiveMessage r timeout=0 expect=MQ_ERROR_IO_TIMEOUT
    ITransaction_Commit t expect=MQ_OK
    ITransaction_Commit t expect=XACT_E_NOTRANSACTION
    MQSendMessage s "late" transaction=t expect=MQ_ERROR_TRANSACTION_SEQUENCE
    ITransaction_Release t expect=MQ_OK
    MQBeginTransaction as=t2 expect=MQ_OK
    MQReceiveMessage r transaction=t2 into=b abort-count=ac expect=MQ_OK
    assert-data b "one"
    assert ac 0
    ITransaction_Abort t2 expect=MQ_OK
    ITransaction_Release t2 expect=MQ_OK
    MQReceiveMessage r action=MQ_ACTION_PEEK_CURRENT into=b abort-count=ac expect=MQ_OK
    assert-data b "one"
    assert ac 1
    MQSendMessage s "three" transaction=MQ_SINGLE_MESSAGE expect=MQ_OK
    set got 0
    loop until-error=MQ_ERROR_IO_TIMEOUT {
        MQReceiveMessage r timeout=0
        add got 1
    }
    assert got 3
    MQCreateQueue ".\\private$\\plain" as=plain expect=MQ_OK
    MQOpenQueue plain MQ_RECEIVE_ACCESS as=pr expect=MQ_OK
    MQBeginTransaction as=t3 expect=MQ_OK
    MQReceiveMessage pr timeout=0 transaction=t3 expect=MQ_ERROR_TRANSACTION_USAGE
    if ret=MQ_ERROR_TRANSACTION_USAGE {
        ITransaction_Abort t3 expect=MQ_OK
    }
    ITransaction_Release t3
"#,
    );
    run_completed(&text, 0..4);
}

/// The asynchronous forms (§§23.27-23.30): an overlapped receive pends, its event is set
/// when a message arrives, and MQGetOverlappedResult gives the HRESULT and the message;
/// a callback receive runs its thread body on a thread of Message Queuing's with the
/// message and `status=` set.
#[test]
fn msmq_statements_drive_overlapped_and_callback_receives() {
    let text = com_file(
        r#"    thread "sender" {
        Sleep 50
        MQOpenQueue "DIRECT=OS:.\\private$\\async" MQ_SEND_ACCESS as=s expect=MQ_OK
        MQSendMessage s "first" expect=MQ_OK
        Sleep 50
        MQSendMessage s "second" expect=MQ_OK
        MQCloseQueue s
    }
    thread "on-message" {
        assert hr 0
        assert-data cb "second"
        GetCurrentThreadId as=cbtid
        SetEvent done
    }
    MQCreateQueue ".\\private$\\async" as=fmt expect=MQ_OK
    MQOpenQueue fmt MQ_RECEIVE_ACCESS as=r expect=MQ_OK
    CreateEvent as=e manual=#true
    CreateEvent as=done manual=#true
    MQReceiveMessage r overlapped=ov event=e into=b expect=MQ_INFORMATION_OPERATION_PENDING
    MQGetOverlappedResult ov expect=0x103
    CreateThread sender as=st
    WaitForSingleObject e expect=WAIT_OBJECT_0
    MQGetOverlappedResult ov into=b expect=MQ_OK
    assert-data b "first"
    MQReceiveMessage r callback=on-message into=cb status=hr expect=MQ_INFORMATION_OPERATION_PENDING
    WaitForSingleObject done expect=WAIT_OBJECT_0
    GetCurrentThreadId as=me
    if var=cbtid equals=me {
        exit 1
    }
    WaitForSingleObject st expect=WAIT_OBJECT_0
    MQReceiveMessage r overlapped=ov2 event=e timeout=0 expect=MQ_ERROR_IO_TIMEOUT
    MQCloseQueue r expect=MQ_OK
"#,
    );
    let f = Arc::new(file::parse(&text, "c.kdl").unwrap_or_else(|e| panic!("{e}")));
    for seed in 0..4 {
        let r = interp::run(&f, Config::random(seed));
        assert!(r.outcome.is_completed(), "seed {seed}: {}\n{}", r.summary(), r.trace_text());
        assert_eq!(exit_code(&r, "a.exe"), Some(0), "seed {seed}: the callback ran on the calling thread");
    }
}

/// msmq-transactional-send-to-plain-queue (§23.24): the transactional send returns MQ_OK,
/// the queue rejects the message, and the INFINITE receive deadlocks; the report names
/// the queue. Created transactional, the queue takes it.
#[test]
fn msmq_transactional_send_to_a_plain_queue_is_dropped() {
    let f = builtin("msmq-transactional-send-to-plain-queue");
    let r = interp::run(&f, Config::random(0));
    match &r.outcome {
        Outcome::Deadlock { .. } => {}
        o => panic!("{o:?}\n{}", r.trace_text()),
    }
    assert!(r.summary().contains(r".\private$\orders"), "{}", r.summary());
    insta::assert_snapshot!(
        "file_msmq_transactional_send_to_plain_queue_seed_0",
        format!("{}\n{}", r.trace_text(), r.summary())
    );
    let r = interp::run(&with("msmq-transactional-send-to-plain-queue", "fix", "1"), Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
    insta::assert_snapshot!("file_msmq_transactional_send_to_plain_queue_fixed_seed_0", r.trace_text());
}

/// msmq-poison-message-batch (§§23.20-23.22): each abort puts the message back at the
/// front with its abort count up by one, so the batch of 20 receives processes one order of
/// two; moving the message aside after 3 aborts processes both.
#[test]
fn msmq_poison_message_and_moving_it_aside() {
    let r = interp::run(&builtin("msmq-poison-message-batch"), Config::random(0));
    match &r.outcome {
        Outcome::Failed { message, .. } => assert!(
            message.contains("msmq-poison-message-batch.kdl:")
                && message.contains("assert processed: it is 1, expected 2"),
            "{message}"
        ),
        o => panic!("{o:?}"),
    }
    assert!(r.trace_text().contains("abort count 18"), "{}", r.trace_text());
    let r = interp::run(&with("msmq-poison-message-batch", "fix", "1"), Config::random(0));
    assert!(r.outcome.is_completed(), "{}", r.summary());
    insta::assert_snapshot!("file_msmq_poison_message_fixed_seed_0", r.trace_text());
}

/// `service "CMDLINE"` (docs/semantics.md §30.1) names a program of the file; another
/// name is rejected at load with its place.
#[test]
fn a_service_node_names_a_program_of_the_file() {
    let text = |svc: &str| {
        format!(
            "scenario \"s\" {{\n    summary \"s\"\n}}\nservice \"{svc}\"\nprogram \"a.exe\" {{\n    Sleep 1\n}}\nprogram \"svc.exe\" {{\n    Sleep 1\n}}\n"
        )
    };
    let f = file::parse(&text("svc.exe --flag"), "s.kdl").unwrap();
    assert_eq!(f.services, ["svc.exe --flag"]);
    assert!(interp::run(&Arc::new(f), Config::random(0)).outcome.is_completed());
    let e = file::parse(&text("nope.exe"), "s.kdl").unwrap_err().to_string();
    assert!(e.starts_with("s.kdl:1:1:") && e.contains("service names program \"nope.exe\""), "{e}");
    let e = parse_err("scenario \"s\" {\n    summary \"s\"\n}\nservices \"x\"\nprogram \"a.exe\" {\n    Sleep 1\n}\n");
    assert!(e.starts_with("c.kdl:4:1:") && e.contains("`service`"), "{e}");
}
