//! The differential cases on the simulator side, in the default test command: the log
//! matches the checked-in one, it is the same on every schedule, and it agrees with the
//! last native run (Wine, `native/expected/wine.log`, written by
//! `tools/native-diff.sh --update`) under the comparer's rules and the manifest.

use winsim_native::compare::{Finding, compare, parse_manifest};
use winsim_native::sim_side::run_all;

fn lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

#[test]
fn the_simulator_log_matches_the_checked_in_log() {
    let expected = lines(include_str!("../expected/sim.log"));
    let got = run_all(1);
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "line {} differs (regenerate with tools/native-diff.sh --update if intended)", i + 1);
    }
    assert_eq!(got.len(), expected.len(), "the number of lines differs");
}

/// The cases are written to be deterministic on real Windows; in the simulator that shows
/// as the same log whatever the seeded scheduler picks.
#[test]
fn the_simulator_log_is_the_same_on_every_schedule() {
    let first = run_all(1);
    for seed in [2, 3, 17, 1234] {
        assert_eq!(run_all(seed), first, "seed {seed}");
    }
}

#[test]
fn the_simulator_agrees_with_the_last_native_run() {
    let manifest = parse_manifest(winsim_native::MANIFEST).expect("manifest parses");
    let c = compare(&run_all(1), &lines(include_str!("../expected/wine.log")), &manifest);
    assert_eq!(c.disagreements(), 0, "{}", c.render());
    // Every manifest entry is still needed: a documented difference that no longer
    // shows up should leave the manifest.
    let unused: Vec<_> = (0..manifest.len()).filter(|i| !c.entries_used.contains(i)).map(|i| &manifest[i]).collect();
    assert!(unused.is_empty(), "manifest entries no line needs: {unused:?}");
    assert_eq!(c.cases, 127);
    assert!(c.lines > 150, "{}", c.render());
}

fn line(case: &str, what: &str, ret: &str, err: &str) -> String {
    [case, what, ret, err].join(" | ")
}

/// Rule 3: the last error counts only where the call failed.
#[test]
fn the_last_error_is_compared_only_on_failure() {
    let sim = vec![
        line("c", "SetEvent", "TRUE", "untouched"),
        line("c", "SetEvent(closed)", "FALSE", "ERROR_INVALID_HANDLE"),
    ];
    let same_ok = vec![line("c", "SetEvent", "TRUE", "ERROR_SUCCESS"), sim[1].clone()];
    let c = compare(&sim, &same_ok, &[]);
    assert_eq!((c.agreements, c.disagreements(), c.cases_agreeing), (2, 0, 1));
    let other_err = vec![sim[0].clone(), line("c", "SetEvent(closed)", "FALSE", "ERROR_ACCESS_DENIED")];
    let c = compare(&sim, &other_err, &[]);
    assert_eq!((c.agreements, c.disagreements(), c.cases_agreeing), (1, 1, 0));
}

/// Rules 1, 2 and 4: return values and notes always count, lines must correspond, and a
/// manifest entry matches only its exact values.
#[test]
fn return_values_missing_lines_and_the_manifest() {
    let sim =
        vec![line("c", "ReleaseSemaphore(0)", "FALSE", "ERROR_INVALID_PARAMETER"), line("c", "note: n", "5", "-")];
    let native = vec![line("c", "ReleaseSemaphore(0)", "TRUE", "untouched")];
    let c = compare(&sim, &native, &[]);
    assert_eq!((c.lines, c.agreements, c.disagreements()), (2, 0, 2));
    let manifest = parse_manifest("c | ReleaseSemaphore(0) | ret | FALSE | TRUE | a source\n").unwrap();
    let c = compare(&sim, &native, &manifest);
    assert_eq!((c.documented(), c.disagreements()), (1, 1));
    assert!(matches!(&c.findings[0], Finding::Documented { source, .. } if source == "a source"));
    let wrong_values = parse_manifest("c | ReleaseSemaphore(0) | ret | FALSE | BOOL(2) | a source\n").unwrap();
    assert_eq!(compare(&sim, &native, &wrong_values).documented(), 0);
    assert!(parse_manifest("c | too few | fields\n").is_err());
}

/// Rule 4 with `*`: an entry's case and call may be patterns; an entry counts as used once
/// it documents a line.
#[test]
fn manifest_patterns() {
    use winsim_native::compare::glob;
    assert!(glob("random_*", "random_ops_3"));
    assert!(glob("CreateFile(*)", "CreateFile(a, GENERIC_READ)"));
    assert!(glob("a*b*c", "abc") && glob("a*b*c", "a-b-b-c") && !glob("a*b*c", "a-c-b"));
    assert!(glob("*", "") && glob("x", "x") && !glob("x", "xy") && !glob("x*", "y"));
    assert!(glob("ab*ab", "ab-ab") && !glob("ab*ab", "ab"), "the tail may not overlap the head");
    let sim = vec![line("random_ops_1", "CreateFile(a, GENERIC_READ)", "INVALID_HANDLE_VALUE", "ERROR_ACCESS_DENIED")];
    let native = vec![line("random_ops_1", "CreateFile(a, GENERIC_READ)", "INVALID_HANDLE_VALUE", "ERROR_PIPE_BUSY")];
    let manifest = parse_manifest(
        "random_* | CreateFile(*) | err | ERROR_ACCESS_DENIED | ERROR_PIPE_BUSY | s\nother | x | ret | TRUE | FALSE | t\n",
    )
    .unwrap();
    let c = compare(&sim, &native, &manifest);
    assert_eq!((c.documented(), c.disagreements()), (1, 0));
    assert_eq!(c.entries_used.iter().copied().collect::<Vec<_>>(), vec![0]);
}
