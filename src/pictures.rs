//! Pictures of a run: a Chrome trace-event file that Perfetto (ui.perfetto.dev) and
//! chrome://tracing open, a Mermaid sequence diagram (renders on GitHub), and the
//! deadlock's wait-for graph as Mermaid and as Graphviz DOT.
//!
//! Time in the pictures is the kernel step: one step is drawn as one microsecond, so a
//! blocked call's span is as long as the number of calls other threads made while it
//! waited, and events at the same virtual millisecond stay apart and in order. Each
//! event's virtual time is in its arguments (`time_ms`).

use serde_json::{Value, json};
use sim_core::trace::{Event, EventKind};
use sim_core::{DeadlockReport, RunReport};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One event as the text trace says it, without the step/time/thread columns.
fn line(e: &Event) -> String {
    let text = sim_core::trace::render_text(std::slice::from_ref(e));
    let who = match (e.pid, e.tid) {
        (0, 0) => "kernel".to_string(),
        (pid, 0) => format!("P{pid}"),
        (pid, tid) => format!("P{pid}/T{tid}"),
    };
    let prefix = format!("#{:<4} {:>6}ms  {who:<10} ", e.step, e.time_ms);
    text.strip_prefix(&prefix).unwrap_or(&text).trim_end().to_string()
}

fn image_of(events: &[Event]) -> BTreeMap<u32, String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ProcessStart { image, .. } => Some((e.pid, image.clone())),
            _ => None,
        })
        .collect()
}

/// The run as Chrome trace-event JSON (the "JSON object format": `traceEvents` plus
/// metadata): a track per thread grouped by process, a slice per call (a blocked call's
/// slice spans from its call to its return), flow arrows from the event that woke a
/// call to its return, and instant events for process and thread starts and exits,
/// notes and panics.
pub fn chrome_trace(report: &RunReport) -> String {
    let events = &report.trace;
    let mut out: Vec<Value> = Vec::new();
    for (pid, image) in image_of(events) {
        out.push(json!({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": format!("P{pid} {image}")}}));
    }
    let mut threads: BTreeMap<(u32, u32), ()> = BTreeMap::new();
    for e in events.iter().filter(|e| e.tid != 0) {
        threads.insert((e.pid, e.tid), ());
    }
    for &(pid, tid) in threads.keys() {
        out.push(
            json!({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": format!("T{tid}")}}),
        );
    }
    let by_id: BTreeMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let mut open: BTreeMap<u64, &Event> = BTreeMap::new();
    let mut counters = false;
    let end = report.steps.max(events.last().map_or(0, |e| e.step)) + 1;
    for e in events {
        let ts = e.step;
        match &e.kind {
            EventKind::Call { api, .. } => out.push(json!({
                "ph": "X", "name": api, "cat": "call", "ts": ts, "dur": 1, "pid": e.pid, "tid": e.tid,
                "args": {"call": line(e), "time_ms": e.time_ms}
            })),
            EventKind::Block { .. } => {
                if let Some(op) = e.op {
                    open.insert(op, e);
                }
            }
            EventKind::Wake { api, .. } => {
                let start = e.op.and_then(|op| open.remove(&op));
                let (begin, called) = match start {
                    Some(b) => (b.step, line(b)),
                    None => (ts, String::new()),
                };
                out.push(json!({
                    "ph": "X", "name": api, "cat": "blocked", "ts": begin, "dur": (ts - begin).max(1),
                    "pid": e.pid, "tid": e.tid,
                    "args": {"call": called, "returned": line(e), "time_ms": e.time_ms}
                }));
                if let Some(cause) = e.cause.and_then(|c| by_id.get(&c))
                    && (cause.pid, cause.tid) != (e.pid, e.tid)
                    && cause.tid != 0
                {
                    out.push(json!({"ph": "s", "name": "wakes", "cat": "wake", "id": e.id, "ts": cause.step, "pid": cause.pid, "tid": cause.tid}));
                    out.push(json!({"ph": "f", "bp": "e", "name": "wakes", "cat": "wake", "id": e.id, "ts": ts, "pid": e.pid, "tid": e.tid}));
                }
            }
            EventKind::Granted { .. } => {}
            // Occupancy: a counter track per buffer or queue, on the "buffers and queues"
            // pseudo-process (pid 0), as a track belongs to no one thread's process.
            EventKind::Counter { name, value } => {
                counters = true;
                out.push(json!({"ph": "C", "name": name, "ts": ts, "pid": 0, "tid": 0, "args": {"value": value}}));
            }
            _ => out.push(json!({
                "ph": "i", "s": if e.tid == 0 { "p" } else { "t" }, "name": line(e), "cat": "event",
                "ts": ts, "pid": e.pid, "tid": e.tid, "args": {"time_ms": e.time_ms}
            })),
        }
    }
    if counters {
        out.push(
            json!({"ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": {"name": "buffers and queues"}}),
        );
    }
    // Calls still blocked when the run ended: their slices run to the end.
    for b in open.values() {
        let EventKind::Block { api, .. } = &b.kind else { continue };
        out.push(json!({
            "ph": "X", "name": format!("{api} (never returned)"), "cat": "blocked", "ts": b.step,
            "dur": (end - b.step).max(1), "pid": b.pid, "tid": b.tid, "args": {"call": line(b), "time_ms": b.time_ms}
        }));
    }
    let doc = json!({
        "traceEvents": out,
        "displayTimeUnit": "ns",
        "otherData": {"outcome": report.outcome.kind(), "seed": report.seed, "steps": report.steps, "time_ms": report.time_ms, "time_axis": "kernel steps, one per microsecond"},
    });
    serde_json::to_string_pretty(&doc).expect("a JSON value serializes")
}

/// Mermaid text: `#`, `;`, `<` and `>` would be read as markup, so they become entities;
/// long lines are cut.
fn mermaid_text(s: &str, max: usize) -> String {
    let s: String = if s.chars().count() > max {
        s.chars().take(max - 1).chain(std::iter::once('…')).collect()
    } else {
        s.to_string()
    };
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The run as a Mermaid sequence diagram: a participant per thread; calls as notes; a
/// blocked call activates its thread until it returns; a return caused by another
/// thread is an arrow from that thread.
pub fn mermaid_sequence(report: &RunReport) -> String {
    let events = &report.trace;
    let images = image_of(events);
    let mut out = String::from("sequenceDiagram\n");
    let mut seen: Vec<(u32, u32)> = Vec::new();
    for e in events.iter().filter(|e| e.tid != 0) {
        if !seen.contains(&(e.pid, e.tid)) {
            seen.push((e.pid, e.tid));
            let image = images.get(&e.pid).map_or("", String::as_str);
            let _ = writeln!(out, "    participant T{} as P{}/T{} {}", e.tid, e.pid, e.tid, mermaid_text(image, 40));
        }
    }
    let by_id: BTreeMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let mut active: BTreeMap<u32, u32> = BTreeMap::new();
    for e in events {
        let who = if e.tid != 0 {
            format!("T{}", e.tid)
        } else {
            match seen.iter().find(|(p, _)| *p == e.pid) {
                Some((_, t)) => format!("T{t}"),
                None => continue,
            }
        };
        match &e.kind {
            EventKind::Block { .. } => {
                let _ = writeln!(out, "    Note over {who}: {}", mermaid_text(&line(e), 90));
                let _ = writeln!(out, "    activate {who}");
                *active.entry(e.tid).or_default() += 1;
            }
            EventKind::Wake { .. } => {
                let cause = e.cause.and_then(|c| by_id.get(&c)).filter(|c| c.tid != 0 && c.tid != e.tid);
                let text = mermaid_text(&line(e), 90);
                match cause {
                    Some(c) => {
                        let _ = writeln!(out, "    T{}->>{who}: {text}", c.tid);
                    }
                    None => {
                        let _ = writeln!(out, "    Note over {who}: {text}");
                    }
                }
                if let Some(n) = active.get_mut(&e.tid).filter(|n| **n > 0) {
                    *n -= 1;
                    let _ = writeln!(out, "    deactivate {who}");
                }
            }
            EventKind::Granted { .. } | EventKind::ThreadStart | EventKind::Counter { .. } => {}
            _ => {
                let _ = writeln!(out, "    Note over {who}: {}", mermaid_text(&line(e), 90));
            }
        }
    }
    out
}

/// A stuck thread's node label: who it is, the call it is in, and what it waits for (the
/// first lines the deadlock report gives under it).
fn stuck_labels(d: &DeadlockReport) -> Vec<(u32, String, String)> {
    let text = d.render();
    d.threads
        .iter()
        .map(|t| {
            let head = format!("- P{} ({}) T{} ", t.pid, t.image, t.tid);
            // Up to four lines: what it waits for, and who holds it (the leaked handle).
            let waits: Vec<String> = text
                .lines()
                .skip_while(|l| !l.starts_with(&head))
                .skip(1)
                .take_while(|l| l.starts_with("    "))
                .take(4)
                .map(|l| l.trim().to_string())
                .collect();
            let waits = waits.join("\n");
            let call = if t.api.is_empty() { "(between calls)".to_string() } else { format!("{}({})", t.api, t.args) };
            (t.tid, format!("P{}/T{} {}", t.pid, t.tid, t.image), format!("{call}\n{waits}"))
        })
        .collect()
}

fn in_cycle(d: &DeadlockReport, from: u32, to: u32) -> bool {
    let c = &d.cycle;
    match c.len() {
        0 => false,
        1 => from == c[0] && to == c[0],
        n => (0..n).any(|i| c[i] == from && c[(i + 1) % n] == to),
    }
}

/// The deadlock's wait-for graph as a Mermaid flowchart: a node per stuck thread with
/// its call and what it waits for; an edge from each thread to every thread whose
/// action could release it; the cycle's edges thick.
pub fn mermaid_wait_for(d: &DeadlockReport) -> String {
    let mut out = String::from("flowchart LR\n");
    for (tid, who, what) in stuck_labels(d) {
        let what = what.lines().map(|l| mermaid_text(l, 100)).collect::<Vec<_>>().join("<br/>");
        let _ = writeln!(
            out,
            "    T{tid}[\"{}<br/>{}\"]",
            mermaid_text(&who, 60).replace('"', "'"),
            what.replace('"', "'")
        );
    }
    for t in &d.threads {
        for &w in &t.waits_for {
            let arrow = if in_cycle(d, t.tid, w) { "==>" } else { "-->" };
            let _ = writeln!(out, "    T{} {arrow}|waits for| T{w}", t.tid);
        }
    }
    out
}

/// The deadlock's wait-for graph in Graphviz DOT (`dot -Tsvg`): the same nodes and
/// edges as [`mermaid_wait_for`], the cycle in red.
pub fn dot_wait_for(d: &DeadlockReport) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let mut out = String::from("digraph wait_for {\n    rankdir=LR;\n    node [shape=box, fontname=\"monospace\"];\n");
    for (tid, who, what) in stuck_labels(d) {
        let _ = writeln!(out, "    T{tid} [label=\"{}\\n{}\"];", esc(&who), esc(&what));
    }
    for t in &d.threads {
        for &w in &t.waits_for {
            let style = if in_cycle(d, t.tid, w) { " color=red penwidth=2" } else { "" };
            let _ = writeln!(out, "    T{} -> T{w} [label=\"waits for\"{style}];", t.tid);
        }
    }
    out.push_str("}\n");
    out
}

/// Why each call blocked and what woke it: for every call that blocked (or, with
/// `step`, every call made at that step), what it waited for, with the buffer or queue
/// occupancy the kernel saw then, when and by what it returned, and how long it waited.
pub fn explain(report: &RunReport, step: Option<u64>) -> String {
    let events = &report.trace;
    let by_id: BTreeMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let wakes: BTreeMap<u64, &Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Wake { .. }))
        .filter_map(|e| e.op.map(|op| (op, e)))
        .collect();
    let who = |e: &Event| format!("P{}/T{}", e.pid, e.tid);
    let mut out = String::new();
    let mut immediate = 0;
    for e in events {
        if step.is_some_and(|s| s != e.step) {
            continue;
        }
        match &e.kind {
            EventKind::Block { reason, .. } => {
                let call = line(e);
                let call = call.split(" BLOCKS: ").next().unwrap_or(&call);
                let _ = writeln!(out, "{} {call} at step #{} ({}ms)", who(e), e.step, e.time_ms);
                let _ = writeln!(out, "  blocked: {reason}");
                match e.op.and_then(|op| wakes.get(&op)) {
                    Some(w) => {
                        let _ = writeln!(
                            out,
                            "  returned at step #{} ({}ms), {} steps and {}ms later: {}",
                            w.step,
                            w.time_ms,
                            w.step - e.step,
                            w.time_ms - e.time_ms,
                            line(w).split("  <- ").next().unwrap_or("")
                        );
                        match w.cause.and_then(|c| by_id.get(&c)) {
                            Some(c) if c.tid != 0 => {
                                let _ = writeln!(out, "  woken by {} {}", who(c), line(c));
                            }
                            _ => {
                                if let EventKind::Wake { why, .. } = &w.kind {
                                    let _ = writeln!(out, "  woken by {why}");
                                }
                            }
                        }
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "  never returned: the run ended {} with it still waiting",
                            report.outcome.kind()
                        );
                    }
                }
            }
            EventKind::Call { .. } if step.is_some() => {
                let _ = writeln!(out, "{} {} at step #{} ({}ms): returned at once", who(e), line(e), e.step, e.time_ms);
            }
            EventKind::Call { .. } => immediate += 1,
            EventKind::Wake { .. } if step.is_some() => {
                let _ = writeln!(out, "{} {} at step #{}", who(e), line(e), e.step);
            }
            _ => {}
        }
    }
    if step.is_none() {
        let _ = writeln!(out, "{immediate} other calls returned at once.");
    } else if out.is_empty() {
        let _ = writeln!(out, "no call at step #{}", step.unwrap_or(0));
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One self-contained HTML page (no scripts from the network, no external files): the
/// timeline as an SVG with a lane per thread (calls as ticks, blocked calls as bars from
/// call to return, arrows from the waking call to the woken one), the deadlock's
/// wait-for graph and report, and a table of every call with why it blocked and what
/// woke it. Hovering a mark shows its trace line.
pub fn html(report: &RunReport, title: &str) -> String {
    let events = &report.trace;
    let images = image_of(events);
    let mut lanes: Vec<(u32, u32)> = Vec::new();
    for e in events.iter().filter(|e| e.tid != 0) {
        if !lanes.contains(&(e.pid, e.tid)) {
            lanes.push((e.pid, e.tid));
        }
    }
    let lane = |pid: u32, tid: u32| lanes.iter().position(|&l| l == (pid, tid)).unwrap_or(0);
    let steps = report.steps.max(events.last().map_or(0, |e| e.step)) + 1;
    let (left, dx, dy, top) = (170.0, (900.0 / steps as f64).clamp(4.0, 40.0), 44.0, 30.0);
    let x = |step: u64| left + step as f64 * dx;
    let y = |i: usize| top + i as f64 * dy;
    let width = x(steps) + 20.0;
    let height = y(lanes.len()) + 10.0;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"timeline\">"
    );
    svg.push_str("<defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#c33\"/></marker></defs>\n");
    for (i, &(pid, tid)) in lanes.iter().enumerate() {
        let image = images.get(&pid).map_or("", String::as_str);
        let _ = writeln!(
            svg,
            "<g class=\"lane\" data-thread=\"P{pid}/T{tid}\"><text x=\"4\" y=\"{:.0}\">P{pid}/T{tid} {}</text><line x1=\"{left}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#ccc\"/></g>",
            y(i) + 4.0,
            html_escape(image),
            y(i),
            x(steps),
            y(i)
        );
    }
    let by_id: BTreeMap<u64, &Event> = events.iter().map(|e| (e.id, e)).collect();
    let mut open: BTreeMap<u64, &Event> = BTreeMap::new();
    for e in events.iter().filter(|e| e.tid != 0) {
        let ly = y(lane(e.pid, e.tid));
        let tip = html_escape(&format!("#{} {}ms P{}/T{}: {}", e.step, e.time_ms, e.pid, e.tid, line(e)));
        match &e.kind {
            EventKind::Block { .. } => {
                if let Some(op) = e.op {
                    open.insert(op, e);
                }
            }
            EventKind::Wake { .. } => {
                let b = e.op.and_then(|op| open.remove(&op));
                let from = b.map_or(e.step, |b| b.step);
                let call = b.map(|b| html_escape(&line(b))).unwrap_or_default();
                let _ = writeln!(
                    svg,
                    "<rect class=\"blocked\" x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"12\" fill=\"#f0b400\"><title>{call}\n{tip}</title></rect>",
                    x(from),
                    ly - 6.0,
                    (x(e.step) - x(from)).max(2.0)
                );
                if let Some(c) = e.cause.and_then(|c| by_id.get(&c)).filter(|c| c.tid != 0 && c.tid != e.tid) {
                    let _ = writeln!(
                        svg,
                        "<line class=\"wake\" x1=\"{:.1}\" y1=\"{:.0}\" x2=\"{:.1}\" y2=\"{:.0}\" stroke=\"#c33\" marker-end=\"url(#arrow)\"><title>{}</title></line>",
                        x(c.step),
                        y(lane(c.pid, c.tid)),
                        x(e.step),
                        ly,
                        html_escape(&format!("#{} {} woke {}", c.step, line(c), line(e)))
                    );
                }
            }
            EventKind::Call { error, .. } => {
                let color = if error.is_some_and(|e| e.0 != 0) { "#c33" } else { "#36c" };
                let _ = writeln!(
                    svg,
                    "<circle class=\"call\" cx=\"{:.1}\" cy=\"{ly:.0}\" r=\"4\" fill=\"{color}\"><title>{tip}</title></circle>",
                    x(e.step)
                );
            }
            EventKind::Counter { .. } => {}
            _ => {
                let _ = writeln!(
                    svg,
                    "<rect class=\"event\" x=\"{:.1}\" y=\"{:.0}\" width=\"3\" height=\"14\" fill=\"#888\"><title>{tip}</title></rect>",
                    x(e.step) - 1.5,
                    ly - 7.0
                );
            }
        }
    }
    for b in open.values() {
        let _ = writeln!(
            svg,
            "<rect class=\"blocked never\" x=\"{:.1}\" y=\"{:.0}\" width=\"{:.1}\" height=\"12\" fill=\"#d33\"><title>{} (never returned)</title></rect>",
            x(b.step),
            y(lane(b.pid, b.tid)) - 6.0,
            (x(steps) - x(b.step)).max(2.0),
            html_escape(&line(b))
        );
    }
    svg.push_str("</svg>\n");
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>\nbody {{ font-family: sans-serif; margin: 1.5em; }}\npre {{ background: #f6f6f6; padding: .8em; overflow-x: auto; }}\n.timeline text {{ font: 12px monospace; }}\ntable {{ border-collapse: collapse; font: 12px monospace; }}\ntd, th {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }}\n.legend span {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}\n</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p class=\"outcome\">{o}</p>\n<h2>Timeline</h2>\n<p class=\"legend\">one column per kernel step;<span style=\"background:#36c\"></span>a call that returned at once<span style=\"background:#f0b400\"></span>a blocked call, from its call to its return<span style=\"background:#d33\"></span>never returned<span style=\"background:#c33;height:2px\"></span>the call that woke it. Hover for the trace line.</p>\n{svg}",
        t = html_escape(title),
        o = html_escape(report.summary().lines().next().unwrap_or("")),
    );
    if let Some(d) = report.outcome.deadlock() {
        page.push_str("<h2>Wait-for graph</h2>\n<ul class=\"wait-for\">\n");
        for (tid, who, what) in stuck_labels(d) {
            let waits: Vec<String> = d
                .threads
                .iter()
                .find(|t| t.tid == tid)
                .map(|t| t.waits_for.iter().map(|w| format!("T{w}")).collect())
                .unwrap_or_default();
            let _ = writeln!(
                page,
                "<li><b>{}</b> waits for {}{}<pre>{}</pre></li>",
                html_escape(&who),
                html_escape(&waits.join(", ")),
                if d.cycle.contains(&tid) { " <em>(in the cycle)</em>" } else { "" },
                html_escape(&what)
            );
        }
        page.push_str("</ul>\n");
    }
    let _ = write!(
        page,
        "<h2>Report</h2>\n<pre class=\"report\">{}</pre>\n<h2>Why each call blocked and what woke it</h2>\n<pre class=\"explain\">{}</pre>\n<h2>Trace</h2>\n<table class=\"trace\">\n<tr><th>step</th><th>time</th><th>thread</th><th>event</th></tr>\n",
        html_escape(&report.summary()),
        html_escape(&explain(report, None))
    );
    for e in events.iter().filter(|e| !matches!(e.kind, EventKind::Counter { .. })) {
        let _ = writeln!(
            page,
            "<tr><td>#{}</td><td>{}ms</td><td>P{}/T{}</td><td>{}</td></tr>",
            e.step,
            e.time_ms,
            e.pid,
            e.tid,
            html_escape(&line(e))
        );
    }
    page.push_str("</table>\n</body>\n</html>\n");
    page
}
