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
