//! The JSON winsim writes, validated against the schemas in docs/schema/: every line of
//! the JSON-lines trace (docs/trace-format.md) of every built-in scenario, and the Chrome
//! trace-event JSON of a few. A schema that accepts anything would prove nothing, so each
//! schema is also shown to reject a malformed document.

use serde_json::Value;

fn schema(file: &str) -> jsonschema::Validator {
    let path = format!("{}/docs/schema/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::draft202012::new(&doc).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

/// docs/trace-format.md: schema version 3, every event kind with its fields.
#[test]
fn every_builtin_trace_matches_the_trace_schema() {
    let v = schema("trace-v3.schema.json");
    let mut kinds = std::collections::BTreeSet::new();
    let mut runs: Vec<(String, sim_core::RunReport)> = Vec::new();
    for s in scenarios::catalogue() {
        let mut c = sim_core::Config::random(0);
        c.steps_max = 20_000;
        runs.push((s.name.to_string(), s.run(c)));
    }
    for f in scenarios::file_catalogue() {
        let mut c = sim_core::Config::random(0);
        c.steps_max = 20_000;
        runs.push((f.name.clone(), scenarios::interp::run(&f, c)));
    }
    for (name, r) in &runs {
        let text = sim_core::trace::render_json_lines(&r.trace);
        for (i, line) in text.lines().enumerate() {
            let doc: Value = serde_json::from_str(line).expect("a JSON line");
            let errs = errors(&v, &doc);
            assert!(errs.is_empty(), "{name} line {}: {line}\n{errs:#?}", i + 1);
            if let Some(k) = doc["event"].as_str() {
                kinds.insert(k.to_string());
            }
        }
    }
    for k in
        ["call", "block", "wake", "counter", "process_start", "process_exit", "thread_start", "thread_exit", "note"]
    {
        assert!(kinds.contains(k), "the catalogue shows a {k} event: {kinds:?}");
    }
}

#[test]
fn the_trace_schema_rejects_what_it_should() {
    let v = schema("trace-v3.schema.json");
    let good = r#"{"id":3,"step":1,"time_ms":0,"pid":4,"tid":8,"event":"call","api":"CreatePipe","args":[],"ret":{"bool":true},"outs":[{"name":"read","value":{"handle":4}}]}"#;
    assert!(v.is_valid(&serde_json::from_str(good).unwrap()));
    for bad in [
        // Schema 2's nested handle.
        r#"{"id":3,"step":1,"time_ms":0,"pid":4,"tid":8,"event":"call","api":"CreatePipe","args":[],"ret":{"bool":true},"outs":[{"name":"read","value":{"handle":{"handle":4}}}]}"#,
        // An unknown event kind, a missing field, a stray field.
        r#"{"id":3,"step":1,"time_ms":0,"pid":4,"tid":8,"event":"teleport"}"#,
        r#"{"id":3,"step":1,"time_ms":0,"pid":4,"tid":8,"event":"block","api":"ReadFile","args":[],"op":1}"#,
        r#"{"id":3,"step":1,"time_ms":0,"pid":4,"tid":8,"event":"counter","name":"pipe#1 unread bytes","value":-1}"#,
        r#"{"schema":"winsim-trace","version":2}"#,
    ] {
        assert!(!v.is_valid(&serde_json::from_str(bad).unwrap()), "accepted: {bad}");
    }
}

/// The Chrome trace-event format (the JSON object form) as winsim writes it.
#[test]
fn chrome_traces_match_the_chrome_schema() {
    let v = schema("chrome-trace.schema.json");
    for name in
        ["named-pipe-echo", "pipe-both-write", "redirect-leaked-write-end", "sendmessage-no-pump", "msmq-reply-expired"]
    {
        let s = scenarios::catalogue().into_iter().find(|s| s.name == name).map(|s| s.run(sim_core::Config::random(0)));
        let r = match s {
            Some(r) => r,
            None => scenarios::interp::run(&scenarios::find_file(name).expect(name), sim_core::Config::random(0)),
        };
        let doc: Value = serde_json::from_str(&winsim::pictures::chrome_trace(&r)).expect("JSON");
        let errs = errors(&v, &doc);
        assert!(errs.is_empty(), "{name}: {errs:#?}");
    }
    let bad: Value = serde_json::from_str(
        r#"{"traceEvents":[{"ph":"X","name":"ReadFile","pid":4,"tid":8,"ts":3}],"displayTimeUnit":"ns","otherData":{"outcome":"completed","steps":3,"time_ms":0}}"#,
    )
    .unwrap();
    assert!(!v.is_valid(&bad), "a slice without dur");
}
