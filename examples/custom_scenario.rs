//! A scenario of your own, run from Rust: a scenario file (KDL, docs/scenarios.md)
//! parsed from a string, run with its parameter's default and then with `--set`'s
//! equivalent, and swept over seeds. `winsim run FILE` runs the same file from the
//! command line; `winsim_cli::main(catalogue)` gives your own binary those commands.
//!
//! The scenario: a parent and a child talk through two anonymous pipes and both write
//! before they read. WriteFile returns only once its bytes fit the pipe's quota or have
//! been read (docs/semantics.md §3): with a message larger than the pipe, each waits for
//! the other to read, and neither does.
//!
//! Run: `cargo run --example custom_scenario`
use std::sync::Arc;
use winsim::prelude::*;
use winsim::scenarios::{file, interp};

const SCENARIO: &str = r#"
scenario "both-write-first" {
    summary "parent and child each write a message before reading the other's"
    expect deadlock
    expect completed when="nSize=8192"
    main "parent.exe"
}
param nSize 4096
program "child.exe" {
    GetStdHandle STD_INPUT_HANDLE as=in
    GetStdHandle STD_OUTPUT_HANDLE as=out
    WriteFile out size=6000 expect=TRUE
    loop until-error=ERROR_BROKEN_PIPE {
        ReadFile in 4096 into=got
    }
    assert-data got size=6000
}
program "parent.exe" {
    CreatePipe to_child_r to_child_w size="$nSize" inherit=#true expect=TRUE
    CreatePipe from_child_r from_child_w size="$nSize" inherit=#true expect=TRUE
    SetHandleInformation to_child_w HANDLE_FLAG_INHERIT 0
    SetHandleInformation from_child_r HANDLE_FLAG_INHERIT 0
    CreateProcess "child.exe" inherit=#true stdin=to_child_r stdout=from_child_w as=child expect=TRUE
    CloseHandle to_child_r
    CloseHandle from_child_w
    WriteFile to_child_w size=6000 expect=TRUE
    CloseHandle to_child_w
    loop until-error=ERROR_BROKEN_PIPE {
        ReadFile from_child_r 4096 into=got
    }
    assert-data got size=6000
    WaitForSingleObject child expect=WAIT_OBJECT_0
}
"#;

fn main() {
    let mut scenario = file::parse(SCENARIO, "both-write-first.kdl").unwrap_or_else(|e| panic!("{e}"));
    for n_size in ["4096", "8192"] {
        scenario.set("nSize", n_size).expect("the file declares nSize");
        let shared = Arc::new(scenario.clone());
        let mut kinds = std::collections::BTreeMap::<&str, u32>::new();
        for seed in 0..20 {
            let report = interp::run(&shared, Config::random(seed));
            assert!(scenario.expects(report.outcome.kind()), "{}", report.summary());
            *kinds.entry(report.outcome.kind()).or_default() += 1;
        }
        println!("nSize={n_size}: expected {:?}, over 20 seeds {kinds:?}", scenario.expect);
    }
    let report = interp::run(&Arc::new(file::parse(SCENARIO, "both-write-first.kdl").unwrap()), Config::random(0));
    println!("\nwith the default nSize:\n{}", report.summary());
}
