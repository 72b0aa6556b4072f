//! The `winsim` command line: the README's main command and its siblings.

use std::process::Command;

fn winsim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_winsim")).args(args).output().expect("winsim runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn list_shows_the_catalogue() {
    let (code, out) = winsim(&["list"]);
    assert_eq!(code, 0);
    for s in scenarios::catalogue() {
        assert!(out.contains(s.name), "{out}");
    }
}

/// The README's first command: the leaked write end deadlocks, and the report names the
/// handle and its provenance. A deadlock is the run's result, so the command succeeds;
/// `--strict` makes any outcome but Completed exit with status 2.
#[test]
fn run_prints_the_trace_and_the_deadlock_report() {
    let (code, out) = winsim(&["run", "redirect-leaked-write-end"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(winsim(&["run", "redirect-leaked-write-end", "--strict"]).0, 2);
    assert!(out.contains("ReadFile(0x4 [pipe#1 read end], 64, NULL) BLOCKS"), "{out}");
    assert!(out.contains("DEADLOCK"), "{out}");
    assert!(out.contains("handle 0x8 in P4 (parent.exe) (the blocked thread's own process)"), "{out}");
    assert!(out.contains("replay: winsim run redirect-leaked-write-end --seed 0"), "{out}");
    let (code, out) = winsim(&["run", "redirect-fixed", "--seed", "5"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("COMPLETED"), "{out}");
}

#[test]
fn json_output_is_one_event_per_line_then_the_outcome() {
    let (code, out) = winsim(&["run", "pipe-quota-arithmetic", "--format", "json", "--round-robin"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert!(lines.len() > 10);
    assert_eq!(lines[0], serde_json::json!({"schema": "winsim-trace", "version": 2}));
    assert!(lines[1..lines.len() - 1].iter().all(|e| e.get("event").is_some() && e.get("step").is_some()));
    let last = lines.last().unwrap();
    assert!(last["outcome"].get("Completed").is_some(), "{last}");
}

#[test]
fn sweep_finds_the_lost_wakeup_and_prints_its_replay_command() {
    let (code, out) = winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "100"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "100", "--strict"]).0, 2);
    assert!(out.contains("deadlock"), "{out}");
    let seed_line =
        out.lines().find(|l| l.starts_with("replay: winsim run lost-wakeup-pulse-event --seed ")).expect("replay line");
    let seed = seed_line.rsplit(' ').next().unwrap();
    let (code, out) = winsim(&["run", "lost-wakeup-pulse-event", "--seed", seed, "--strict"]);
    assert_eq!(code, 2);
    assert!(out.contains("DEADLOCK"), "{out}");
}

#[test]
fn unknown_scenario_is_a_usage_error() {
    let (code, _) = winsim(&["run", "no-such-scenario"]);
    assert_eq!(code, 64);
}

/// The README shows the deadlock report of its first command: keep it true.
#[test]
fn readme_shows_the_real_report() {
    let readme = include_str!("../../README.md");
    let (_, out) = winsim(&["run", "redirect-leaked-write-end"]);
    let start = out.find("DEADLOCK").unwrap();
    let end = out.find("\nseed ").unwrap();
    assert!(readme.contains(&out[start..end]), "README.md's excerpt differs from:\n{}", &out[start..end]);
}

/// Determinism with any number of worker threads: a sweep's report is the same for one
/// worker or several.
#[test]
fn sweep_results_do_not_depend_on_the_number_of_workers() {
    let one = winsim(&["sweep", "sync-handle-serialization", "--seeds", "120", "--jobs", "1"]);
    let three = winsim(&["sweep", "sync-handle-serialization", "--seeds", "120", "--jobs", "3"]);
    assert_eq!(one, three);
    assert!(one.1.contains("completed") && one.1.contains("deadlock"), "{}", one.1);
}

/// `winsim explore`: a strategy finds the lost pulse, shrinks it and saves it; `winsim run
/// --replay` replays the saved failure with its trace; an exhaustive search of the fixed
/// redirect says it explored every schedule.
#[test]
fn explore_finds_saves_and_replays_a_failure() {
    let path = std::env::temp_dir().join(format!("winsim-cli-explore-{}.json", std::process::id()));
    let p = path.to_str().unwrap();
    let (code, out) =
        winsim(&["explore", "lost-wakeup-pulse-event", "--strategy", "pct:2", "--runs", "100", "--save", p]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("first failure: run") && out.contains("(deadlock)"), "{out}");
    assert!(out.contains("--pct 2 --pct-steps"), "{out}");
    assert!(out.contains(&format!("replay: winsim run lost-wakeup-pulse-event --replay {p}")), "{out}");
    let (code, out) = winsim(&["run", "lost-wakeup-pulse-event", "--replay", p]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PulseEvent(0x4 [event#1]) = TRUE  -- released 0 waiters"), "{out}");
    assert!(out.contains("DEADLOCK"), "{out}");
    std::fs::remove_file(&path).unwrap();
    let (code, out) = winsim(&["explore", "redirect-fixed", "--strategy", "dfs:2", "--strict"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every schedule with at most 2 preemptions explored"), "{out}");
    assert!(!out.contains("first failure"), "{out}");
    assert_eq!(winsim(&["explore", "redirect-fixed", "--strategy", "nope"]).0, 64);
}

/// Sweeps draw a progress line only on a terminal: piped, stderr stays empty and stdout
/// is the summary alone.
#[test]
fn sweeps_are_silent_when_not_on_a_terminal() {
    for args in [
        &["sweep", "sendmessage-join-deadlock", "--seeds", "300"][..],
        &["explore", "sendmessage-join-deadlock", "--strategy", "random", "--runs", "50"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_winsim")).args(args).output().expect("winsim runs");
        assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("deadlock"), "{args:?}: {stdout}");
    }
}
