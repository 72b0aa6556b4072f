//! Pictures of runs (src/pictures.rs): the Chrome trace-event file, the Mermaid sequence
//! diagram and the deadlock's wait-for graph in Mermaid and DOT.

use sim_core::prelude::*;
use sim_core::trace::EventKind;
use std::collections::BTreeMap;
use std::sync::Arc;
use winsim::pictures;

fn run_builtin(name: &str, seed: u64) -> RunReport {
    match scenarios::find(name) {
        Some(s) => s.run(Config::random(seed)),
        None => scenarios::interp::run(&scenarios::find_file(name).expect("scenario"), Config::random(seed)),
    }
}

/// The Chrome trace-event format (the JSON object form): metadata names every process
/// and thread; every event has ph, ts, pid and tid; flows come in s/f pairs with one id;
/// a call that never returned is a slice to the end of the run.
#[test]
fn chrome_trace_is_well_formed() {
    for (name, seed) in [("named-pipe-echo", 0), ("pipe-both-write", 0), ("redirect-leaked-write-end", 0)] {
        let report = run_builtin(name, seed);
        let doc: serde_json::Value = serde_json::from_str(&pictures::chrome_trace(&report)).expect("JSON");
        let events = doc["traceEvents"].as_array().expect("traceEvents");
        let mut flows: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
        for e in events {
            let ph = e["ph"].as_str().expect("ph");
            assert!(e["pid"].is_u64() && e["tid"].is_u64(), "{e}");
            assert!(ph == "M" || e["ts"].is_u64(), "{e}");
            if ph == "X" {
                assert!(e["dur"].as_u64().unwrap() >= 1, "{e}");
            }
            if ph == "s" || ph == "f" {
                flows.entry(e["id"].as_u64().unwrap()).or_default().push(ph);
            }
        }
        assert!(flows.values().all(|v| v == &["s", "f"]), "{name}: {flows:?}");
        assert!(events.iter().any(|e| e["name"] == "process_name"), "{name}");
        assert_eq!(doc["otherData"]["outcome"], report.outcome.kind(), "{name}");
        if name == "named-pipe-echo" {
            assert!(!flows.is_empty(), "a write that wakes a read is an arrow");
        }
        if name == "pipe-both-write" {
            let stuck = events.iter().filter(|e| e["name"] == "WriteFile (never returned)").count();
            assert_eq!(stuck, 2, "both writers are still blocked at the end");
            // Occupancy: a counter track per pipe direction, ending at what was left unread.
            let samples: Vec<&serde_json::Value> = events.iter().filter(|e| e["ph"] == "C").collect();
            assert!(!samples.is_empty(), "counter events");
            assert!(samples.iter().all(|e| e["pid"] == 0 && e["args"]["value"].is_u64()), "{samples:?}");
            assert!(
                events.iter().any(|e| e["ph"] == "M" && e["pid"] == 0 && e["args"]["name"] == "buffers and queues"),
                "the counters' pseudo-process is named"
            );
        }
    }
}

/// The sequence diagram: a participant per thread; a blocked call activates its thread
/// and its return deactivates it; a return caused by another thread is an arrow from it;
/// Mermaid's markup characters are entities.
#[test]
fn mermaid_sequence_diagram() {
    let text = pictures::mermaid_sequence(&run_builtin("named-pipe-echo", 0));
    assert!(text.starts_with("sequenceDiagram\n    participant T8 as P4/T8 server.exe\n"), "{text}");
    assert!(text.contains("    participant T16 as P12/T16 client.exe\n"), "{text}");
    assert_eq!(text.matches("    activate T").count(), text.matches("    deactivate T").count());
    assert!(text.contains("    T8->>T16: ReadFile returns TRUE, read=4 bytes \"pong\""), "{text}");
    for l in text.lines().skip(1) {
        let body = l.split_once(": ").map_or("", |(_, b)| b);
        assert!(
            !body
                .replace("#35;", "")
                .replace("#59;", "")
                .replace("#lt;", "")
                .replace("#gt;", "")
                .contains(['#', ';', '<', '>']),
            "{l}"
        );
    }
    insta::assert_snapshot!(
        "mermaid_redirect_leaked_write_end",
        pictures::mermaid_sequence(&run_builtin("redirect-leaked-write-end", 0))
    );
}

/// The wait-for graph names the stuck call, what it waits for and the leaked handle;
/// the cycle's edges stand out.
#[test]
fn wait_for_graphs() {
    let report = run_builtin("redirect-leaked-write-end", 0);
    let d = report.outcome.deadlock().expect("deadlock");
    let dot = pictures::dot_wait_for(d);
    insta::assert_snapshot!("dot_redirect_leaked_write_end", dot);
    assert!(dot.contains("handle 0x8 in P4 (parent.exe)"), "{dot}");
    let report = run_builtin("pipe-both-write", 0);
    let d = report.outcome.deadlock().expect("deadlock");
    let dot = pictures::dot_wait_for(d);
    assert_eq!(dot.matches("color=red").count(), 2, "{dot}");
    let mermaid = pictures::mermaid_wait_for(d);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert_eq!(mermaid.matches("==>|waits for|").count(), 2, "{mermaid}");
    insta::assert_snapshot!("mermaid_graph_pipe_both_write", mermaid);
}

/// The pictures are deterministic: the same seed draws the same picture.
#[test]
fn pictures_are_deterministic() {
    let f = Arc::new((*scenarios::find_file("semaphore-worker-pool").unwrap()).clone());
    let a = scenarios::interp::run(&f, Config::random(9));
    let b = scenarios::interp::run(&f, Config::random(9));
    assert_eq!(pictures::chrome_trace(&a), pictures::chrome_trace(&b));
    assert_eq!(pictures::mermaid_sequence(&a), pictures::mermaid_sequence(&b));
}

/// docs/trace-format.md `counter`: a pipe's unread bytes after each step that changes
/// them. pipe-quota-arithmetic writes 10 bytes into a pipe of nSize 4 (the blocked write's
/// bytes are queued, docs/semantics.md §2) and reads them one at a time: 10 down to 0. The
/// text trace does not show the samples.
#[test]
fn occupancy_counters_follow_the_pipe() {
    let report = run_builtin("pipe-quota-arithmetic", 0);
    let values: Vec<u64> = report
        .trace
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Counter { name, value } if name == "pipe#1 unread bytes" => Some(*value),
            _ => None,
        })
        .collect();
    assert_eq!(values, (0..=10).rev().collect::<Vec<u64>>());
    let narrated = report.trace.iter().filter(|e| !matches!(e.kind, EventKind::Counter { .. })).count();
    assert_eq!(report.trace_text().lines().count(), narrated);
}
