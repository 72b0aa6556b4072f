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
/// handle and its provenance. The deadlock is what the scenario expects, so the command
/// succeeds; `--strict` makes any outcome but Completed exit with status 1.
#[test]
fn run_prints_the_trace_and_the_deadlock_report() {
    let (code, out) = winsim(&["run", "redirect-leaked-write-end"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(winsim(&["run", "redirect-leaked-write-end", "--strict"]).0, 1);
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
    assert_eq!(lines[0], serde_json::json!({"schema": "winsim-trace", "version": 3}));
    assert!(lines[1..lines.len() - 1].iter().all(|e| e.get("event").is_some() && e.get("step").is_some()));
    let last = lines.last().unwrap();
    assert!(last["outcome"].get("completed").is_some(), "{last}");
}

#[test]
fn sweep_finds_the_lost_wakeup_and_prints_its_replay_command() {
    let (code, out) = winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "100"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "100", "--strict"]).0, 1);
    assert!(out.contains("deadlock"), "{out}");
    let seed_line =
        out.lines().find(|l| l.starts_with("replay: winsim run lost-wakeup-pulse-event --seed ")).expect("replay line");
    let seed = seed_line.rsplit(' ').next().unwrap();
    let (code, out) = winsim(&["run", "lost-wakeup-pulse-event", "--seed", seed, "--strict"]);
    assert_eq!(code, 1);
    assert!(out.contains("DEADLOCK"), "{out}");
}

/// Bad input is exit status 2: an unknown scenario, a usage error, sweeping nothing.
#[test]
fn bad_input_is_status_2() {
    assert_eq!(winsim(&["run", "no-such-scenario"]).0, 2);
    assert_eq!(winsim(&["run"]).0, 2);
    assert_eq!(winsim(&["sweep", "redirect-fixed", "--seeds", "0"]).0, 2);
    assert_eq!(winsim(&["explore", "redirect-fixed", "--runs", "0"]).0, 2);
    assert_eq!(winsim(&["run", "redirect-fixed", "--set", "nSize=1"]).0, 2);
    assert_eq!(winsim(&["run", "pipe-both-write", "--set", "nSize"]).0, 2);
    assert_eq!(winsim(&["run", "pipe-both-write", "--set", "nosuch=1"]).0, 2);
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
    assert_eq!(code, 1, "finding a failure is status 1: {out}");
    assert!(out.contains("first failure: run") && out.contains("(deadlock)"), "{out}");
    assert!(out.contains("--pct 2 --pct-steps"), "{out}");
    assert!(out.contains(&format!("replay: winsim replay {p}")), "{out}");
    let (code, out) = winsim(&["run", "lost-wakeup-pulse-event", "--replay", p]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PulseEvent(0x4 [event#1]) = TRUE  -- released 0 waiters"), "{out}");
    assert!(out.contains("DEADLOCK"), "{out}");
    std::fs::remove_file(&path).unwrap();
    let (code, out) = winsim(&["explore", "redirect-fixed", "--strategy", "dfs:2", "--strict"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("every schedule with at most 2 preemptions explored"), "{out}");
    assert!(!out.contains("first failure"), "{out}");
    assert_eq!(winsim(&["explore", "redirect-fixed", "--strategy", "nope"]).0, 2);
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

fn winsim_err(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_winsim")).args(args).output().expect("winsim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Scenario files run by path and by built-in name; `--set` changes a parameter, and the
/// exit status says whether the outcome is the one the file expects.
#[test]
fn scenario_files_run_with_parameters_and_expected_outcomes() {
    let (code, out) = winsim(&["run", "pipe-both-write"]);
    assert_eq!(code, 0, "the deadlock is expected: {out}");
    assert!(out.contains("scenario pipe-both-write:") && out.contains("(bytes=8192, nSize=4096)"), "{out}");
    assert!(out.contains("DEADLOCK"), "{out}");
    let (code, out) = winsim(&["run", "pipe-both-write", "--set", "nSize=8192", "--seed", "4"]);
    assert_eq!(code, 1, "completion is not what the file expects: {out}");
    assert!(out.contains("COMPLETED") && out.contains("unexpected outcome: completed"), "{out}");
    assert!(out.contains("replay: winsim run pipe-both-write --seed 4 --set nSize=8192"), "{out}");
    let path = std::env::temp_dir().join(format!("winsim-cli-{}.kdl", std::process::id()));
    std::fs::write(&path, scenarios::files().iter().find(|f| f.0 == "named-pipe-echo.kdl").unwrap().1).unwrap();
    let p = path.to_str().unwrap();
    let (code, out) = winsim(&["sweep", p, "--seeds", "50", "--set", "requests=5"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("completed        50"), "{out}");
    std::fs::write(&path, "scenario \"x\" {\n    main \"a.exe\"\n}\nprogram \"a.exe\" {\n    Sleep\n}\n").unwrap();
    let (code, _, err) = winsim_err(&["run", p]);
    assert_eq!(code, 2);
    assert_eq!(err, format!("winsim: {p}:5:5: Sleep needs `ms`\n"));
    std::fs::remove_file(&path).unwrap();
    let (code, _, err) = winsim_err(&["run", "/nonexistent/none.kdl"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/none.kdl:1:1: cannot read the file"), "{err}");
}

/// `winsim run X | head -1`: the closed pipe ends the command quietly, not with a panic.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_winsim"))
        // A trace of about 600 KB, far more than a pipe holds, so writes meet the closed end.
        .args(["run", "named-pipe-echo", "--set", "requests=2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("winsim runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("winsim ends");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Each built-in Rust scenario's wording of what it expects agrees with its runs.
#[test]
fn builtin_expectations_hold_for_their_first_seeds() {
    for s in scenarios::catalogue() {
        let kinds = s.expected_kinds();
        // A livelock runs to the step limit: one seed says enough, and is slow.
        let seeds = if kinds.contains(&"step-limit") { 1 } else { 6 };
        for seed in 0..seeds {
            let mut c = sim_core::Config::random(seed);
            c.trace = false;
            c.steps_max = 100_000; // a livelock shows as well at 100,000 steps as at a million
            let kind = s.run(c).outcome.kind();
            assert!(kinds.contains(&kind), "{} seed {seed}: {kind}; expect says {:?} = {kinds:?}", s.name, s.expect);
        }
    }
}

/// `winsim trace`: every format; a wait-for graph of a run that did not deadlock is
/// refused with status 1 and a reason.
#[test]
fn trace_draws_every_format() {
    for format in ["text", "json", "chrome", "mermaid", "mermaid-graph", "dot"] {
        let (code, out) = winsim(&["trace", "redirect-leaked-write-end", "--format", format]);
        assert_eq!(code, 0, "{format}: {out}");
        assert!(!out.is_empty(), "{format}");
    }
    let (code, out) = winsim(&["trace", "pipe-both-write", "--set", "nSize=8192", "--format", "chrome"]);
    assert_eq!(code, 1, "completion is unexpected for this file: {out}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    let (code, _, err) = winsim_err(&["trace", "redirect-fixed", "--format", "dot"]);
    assert_eq!(code, 1);
    assert!(err.contains("not in a deadlock"), "{err}");
}

/// `sweep --format json` and `explore --format json`: every line a tagged JSON object;
/// the failing seeds in order with their kinds; the final line the result with the first
/// failure's rendered report; the same seeds as the text output.
#[test]
fn sweep_and_explore_speak_json_lines() {
    let (code, out) = winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "60", "--format", "json", "--jobs", "2"]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert!(lines.iter().all(|l| l["type"].is_string()), "{out}");
    assert_eq!(lines[0]["type"], "sweep");
    let failures: Vec<u64> =
        lines.iter().filter(|l| l["type"] == "failure").map(|l| l["seed"].as_u64().unwrap()).collect();
    assert!(!failures.is_empty() && failures.windows(2).all(|w| w[0] < w[1]), "{failures:?}");
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["failures"].as_u64().unwrap(), failures.len() as u64);
    assert_eq!(last["first_failure"]["seed"].as_u64(), failures.first().copied());
    assert!(last["first_failure"]["report"].as_str().unwrap().starts_with("DEADLOCK"), "{last}");
    let (_, text) = winsim(&["sweep", "lost-wakeup-pulse-event", "--seeds", "60"]);
    assert!(text.contains(&format!("first seed that did not complete: {}", failures[0])), "{text}");
    let (code, out) =
        winsim(&["explore", "lost-wakeup-pulse-event", "--strategy", "pct:2", "--runs", "50", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!((lines[0]["type"].as_str(), lines[1]["type"].as_str()), (Some("explore"), Some("result")));
    assert_eq!(lines[1]["first_failure"]["kind"], "deadlock");
    let (code, out) = winsim(&["run", "redirect-fixed", "--format", "json"]);
    assert_eq!(code, 0);
    let last: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!((last["type"].as_str(), last["kind"].as_str()), (Some("result"), Some("completed")));
    assert!(last["report"].as_str().unwrap().starts_with("COMPLETED"), "{last}");
}

/// `winsim threshold`: bisection over sweeps finds where a pipe's quota stops holding a
/// message (docs/semantics.md §3: a write returns once its bytes fit the quota or are
/// read, so two writers of `bytes` each deadlock exactly when bytes > nSize).
#[test]
fn threshold_finds_where_the_outcome_changes() {
    let (code, out) = winsim(&["threshold", "pipe-both-write", "--param", "bytes", "--range", "0..100000"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "bytes 0..=4096: completed on every seed; from 4097: deadlock on every seed\n");
    let (code, out) =
        winsim(&["threshold", "pipe-both-write", "--param", "nSize", "--range", "1..65536", "--seeds", "5"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "nSize 1..=8191: deadlock on every seed; from 8192: completed on every seed\n");
    assert_eq!(winsim(&["threshold", "pipe-both-write", "--param", "nSize", "--range", "9..3"]).0, 2);
    assert_eq!(winsim(&["threshold", "pipe-both-write", "--param", "nope", "--range", "1..3"]).0, 2);
    assert_eq!(winsim(&["threshold", "redirect-fixed", "--param", "x", "--range", "1..3"]).0, 2);
}

/// `winsim replay FILE` and `winsim shrink FILE`: the failure file names its scenario and
/// parameters; the replay shows the same failure; shrinking keeps it failing and never
/// makes it bigger; a file from a test (no scenario) is bad input with a hint.
#[test]
fn replay_and_shrink_failure_files() {
    let dir = std::env::temp_dir();
    let p = dir.join(format!("winsim-cli-replay-{}.json", std::process::id()));
    let q = dir.join(format!("winsim-cli-shrunk-{}.json", std::process::id()));
    let (p, q) = (p.to_str().unwrap(), q.to_str().unwrap());
    let (code, out) = winsim(&["explore", "pipe-both-write", "--set", "nSize=8000", "--runs", "5", "--save", p]);
    assert_eq!(code, 1, "{out}");
    let (code, out) = winsim(&["replay", p]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(bytes=8192, nSize=8000)") && out.contains("DEADLOCK"), "{out}");
    let (code, out) = winsim(&["shrink", p, "--out", q]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("shrunk from "), "{out}");
    let before: winsim::FailureFile = winsim::FailureFile::load(std::path::Path::new(p)).unwrap();
    let after: winsim::FailureFile = winsim::FailureFile::load(std::path::Path::new(q)).unwrap();
    assert!(after.failures[0].decisions.len() <= before.failures[0].decisions.len());
    assert_eq!(after.set, vec!["nSize=8000".to_string()]);
    let (code, out) = winsim(&["replay", q]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("DEADLOCK"), "{out}");
    let mut test_file = before.clone();
    test_file.scenario = None;
    test_file.test = "my_crate::my_test".into();
    test_file.save(std::path::Path::new(q)).unwrap();
    let (code, _, err) = winsim_err(&["replay", q]);
    assert_eq!(code, 2);
    assert!(err.contains("saved by the test \"my_crate::my_test\""), "{err}");
    assert_eq!(winsim(&["replay", "/nonexistent.json"]).0, 2);
    std::fs::remove_file(p).unwrap();
    std::fs::remove_file(q).unwrap();
}

/// `winsim explain`: each blocked call with what it waited for, when it returned and the
/// call that woke it; `--step K` shows the calls of one step; a call still waiting at a
/// deadlock says so.
#[test]
fn explain_says_why_calls_blocked_and_what_woke_them() {
    let (code, out) = winsim(&["explain", "named-pipe-echo"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(
        "P12/T16 ReadFile(0x4 [pipe#1 client end of \\\\.\\pipe\\echo], 4, NULL) at step #6 (0ms)\n  blocked: waits for data in pipe#1 (0 bytes queued; peer end has 1 open handle(s))\n  returned at step #8 (0ms), 2 steps and 0ms later: ReadFile returns TRUE, read=4 bytes \"pong\"\n  woken by P4/T8 WriteFile("
    ), "{out}");
    let (_, out) = winsim(&["explain", "named-pipe-echo", "--step", "8"]);
    assert!(out.contains("WriteFile(0x4 [pipe#1 server end of \\\\.\\pipe\\echo], 4 bytes \"pong\", NULL) = TRUE, written=4 at step #8 (0ms): returned at once"), "{out}");
    let (code, out) = winsim(&["explain", "redirect-leaked-write-end"]);
    assert_eq!(code, 0);
    assert!(out.contains("  never returned: the run ended deadlock with it still waiting"), "{out}");
}

/// `winsim run … --html FILE`: one self-contained page (nothing fetched from the
/// network), a timeline lane per thread, blocked calls as bars, wake arrows, the
/// wait-for graph of a deadlock, and every trace event in the table.
/// (tools/html-check.sh opens such pages in headless Chromium.)
#[test]
fn html_page_is_self_contained_and_complete() {
    let path = std::env::temp_dir().join(format!("winsim-cli-{}.html", std::process::id()));
    let p = path.to_str().unwrap();
    let (code, _) = winsim(&["run", "redirect-leaked-write-end", "--html", p]);
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(!page.contains("src=") && !page.contains("href=\"http") && !page.contains("@import"), "nothing external");
    assert_eq!(page.matches("<svg ").count(), 1);
    assert_eq!(page.matches("class=\"lane\"").count(), 2, "parent and child threads");
    assert!(page.contains("class=\"blocked never\""), "the ReadFile that never returned");
    assert!(page.contains("<h2>Wait-for graph</h2>") && page.contains("handle 0x8 in P4 (parent.exe)"));
    let (_, trace) = winsim(&["trace", "redirect-leaked-write-end"]);
    assert_eq!(page.matches("<tr><td>#").count(), trace.lines().count(), "a row per trace event");
    let (code, _) = winsim(&["run", "named-pipe-echo", "--html", p]);
    assert_eq!(code, 0);
    let page = std::fs::read_to_string(&path).unwrap();
    assert!(page.contains("class=\"wake\""), "a write that wakes a read is an arrow");
    assert!(!page.contains("Wait-for graph"), "no deadlock, no graph");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(winsim(&["run", "redirect-fixed", "--html", "/nonexistent/dir/x.html"]).0, 2);
}

fn counts(out: &str) -> std::collections::BTreeMap<String, u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_once(' ').map(|(k, n)| (k.to_string(), n.trim().parse::<u64>().unwrap())))
        .collect()
}

/// `explore --states`: the text line and the JSON line give the distinct kernel states
/// beside the distinct schedules (none without the flag); `--prune-states` on an
/// exhaustive search explores every schedule in fewer runs, with the same outcomes.
#[test]
fn explore_counts_states_and_prunes_revisits() {
    let (code, out) = winsim(&["explore", "redirect-fixed", "--strategy", "dfs", "--states"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("distinct states"), "{out}");
    let (_, plain) = winsim(&["explore", "redirect-fixed", "--strategy", "dfs"]);
    assert!(!plain.contains("distinct states"), "{plain}");
    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out) = winsim(args);
        assert_eq!(code, 0, "{out}");
        serde_json::from_str(out.lines().next().unwrap()).unwrap()
    };
    let full = json(&["explore", "redirect-fixed", "--strategy", "dfs", "--states", "--format", "json"]);
    let pruned =
        json(&["explore", "redirect-fixed", "--strategy", "dfs", "--states", "--prune-states", "--format", "json"]);
    assert!(full["states"].as_u64().unwrap() > 1, "{full}");
    let kinds = |v: &serde_json::Value| v["counts"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(kinds(&full), kinds(&pruned), "{full} {pruned}");
    assert_eq!(full["exhausted"], true);
    assert_eq!(pruned["exhausted"], true);
    assert!(pruned["runs"].as_u64() <= full["runs"].as_u64(), "{full} {pruned}");
    assert_eq!(
        json(&["explore", "redirect-fixed", "--strategy", "dfs", "--format", "json"])["states"],
        serde_json::Value::Null
    );
}

/// `explore --shard I/N`: shard I makes the I-th contiguous part of the runs (and
/// seeds), so the shards together make the runs of the whole; DFS cannot be sharded this
/// way and is refused.
#[test]
fn explore_shards_split_the_runs() {
    for strategy in ["random", "pct:2"] {
        let mut total = 0;
        for shard in ["1/3", "2/3", "3/3"] {
            let (_, out) =
                winsim(&["explore", "redirect-fixed", "--strategy", strategy, "--runs", "90", "--shard", shard]);
            total += counts(&out)["completed"];
        }
        assert_eq!(total, 90, "{strategy}");
    }
    // Shard 2/3 of 90 runs from seed 0 starts at seed 30: its first failure's seed is there.
    let (code, out) = winsim(&["explore", "lost-wakeup-pulse-event", "--runs", "90", "--shard", "2/3"]);
    assert_eq!(code, 1, "{out}");
    let seed: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("the run as found: winsim run lost-wakeup-pulse-event --seed "))
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    assert!((30..60).contains(&seed), "{out}");
    assert_eq!(winsim(&["explore", "redirect-fixed", "--strategy", "dfs", "--shard", "1/2"]).0, 2);
    assert_eq!(winsim(&["explore", "redirect-fixed", "--shard", "0/2"]).0, 2);
    assert_eq!(winsim(&["explore", "redirect-fixed", "--shard", "3"]).0, 2);
}

/// `run --strategy`: the names explore uses pick the scheduler of a single run.
#[test]
fn run_takes_a_strategy() {
    let (code, out) = winsim(&["run", "lost-wakeup-pulse-event", "--strategy", "pct:2:10", "--seed", "1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("replay: winsim run lost-wakeup-pulse-event --seed 1 --pct 2 --pct-steps 10"), "{out}");
    assert_eq!(winsim(&["run", "redirect-fixed", "--strategy", "rr"]).0, 0);
    assert_eq!(winsim(&["run", "redirect-fixed", "--strategy", "dfs"]).0, 2);
    assert_eq!(winsim(&["run", "redirect-fixed", "--strategy", "pct:0"]).0, 2);
}

fn schema(file: &str) -> jsonschema::Validator {
    let path = format!("{}/../docs/schema/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::draft202012::new(&doc).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every line `--format json` prints matches docs/schema/: summary lines (`type`) the CLI
/// lines schema, trace lines (`event`) the trace schema; and the CLI schema rejects
/// malformed lines, so it is not a schema that accepts anything.
#[test]
fn json_lines_match_their_schemas() {
    let cli = schema("cli-lines.schema.json");
    let trace = schema("trace-v3.schema.json");
    let runs: [&[&str]; 8] = [
        &["run", "pipe-both-write", "--format", "json"],
        &["run", "redirect-fixed", "--format", "json", "--round-robin"],
        &["trace", "named-pipe-echo", "--format", "json"],
        &["sweep", "lost-wakeup-pulse-event", "--seeds", "30", "--format", "json"],
        &["sweep", "redirect-fixed", "--seeds", "5", "--format", "json"],
        &["explore", "lost-wakeup-pulse-event", "--strategy", "pct:2", "--runs", "50", "--format", "json"],
        &["explore", "redirect-fixed", "--strategy", "dfs:1", "--runs", "50", "--format", "json"],
        &["explore", "redirect-fixed", "--strategy", "dpor", "--states", "--runs", "50", "--format", "json"],
    ];
    let mut types = std::collections::BTreeSet::new();
    for args in runs {
        let (_, out) = winsim(args);
        assert!(!out.trim().is_empty(), "{args:?} printed nothing");
        for line in out.lines() {
            let doc: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {line}"));
            let v = if doc.get("type").is_some() { &cli } else { &trace };
            let errs: Vec<String> = v.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errs.is_empty(), "{args:?}: {line}\n{errs:#?}");
            if let Some(t) = doc["type"].as_str() {
                types.insert(t.to_string());
            }
        }
    }
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["explore", "failure", "result", "sweep"]);
    for bad in [
        r#"{"type":"sweep","scenario":"x","seeds":3,"start":0}"#,
        r#"{"type":"failure","seed":1,"kind":"hang"}"#,
        r#"{"type":"result","expected":true,"first_failure":null,"extra":1}"#,
        r#"{"type":"explore","scenario":"x","strategy":"dfs","runs":-1,"schedules":1,"exhausted":true,"exhausted_bound":null,"counts":{},"states":null,"pruned":0}"#,
        r#"{"type":"explore","scenario":"x","strategy":"dfs","runs":1,"schedules":1,"exhausted":true,"exhausted_bound":null,"counts":{}}"#,
        r#"{"type":"result","kind":"deadlock","report":"","outcome":{"Deadlock":{}}}"#,
    ] {
        assert!(!cli.is_valid(&serde_json::from_str(bad).unwrap()), "accepted {bad}");
    }
}
