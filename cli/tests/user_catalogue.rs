//! `winsim_cli::main` over a user's own scenarios: the same command line for their
//! binary, install functions that capture parameters, and exit statuses by what each
//! scenario expects.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use winsim::prelude::*;
use winsim_cli::{Catalogue, CliScenario, run_with_args};

/// A program that waits on an event nobody sets when `leak` is true (a deadlock), and
/// completes otherwise; `installs` counts the install calls (one per run).
fn waiter(name: &str, leak: bool, installs: Arc<AtomicU32>) -> CliScenario {
    CliScenario::new(name, "w.exe", move |sim: &mut Sim| {
        installs.fetch_add(1, Ordering::Relaxed);
        sim.program("w.exe", move |ctx| async move {
            let e = ctx.create_event(None, true, !leak, None).await;
            ctx.wait_for_single_object(e, INFINITE).await
        });
    })
}

#[test]
fn a_users_catalogue_gets_the_command_line() {
    let installs = Arc::new(AtomicU32::new(0));
    let cat = Catalogue::new()
        .with(waiter("ok", false, installs.clone()).summary("completes"))
        .with(waiter("stuck", true, installs.clone()).summary("deadlocks").expect(&["deadlock"]))
        .with(waiter("stuck-unexpected", true, installs.clone()));
    let run = |args: &[&str]| run_with_args(std::iter::once("mytool").chain(args.iter().copied()), &cat);
    assert_eq!(run(&["run", "ok"]), ExitCode::SUCCESS);
    assert_eq!(run(&["run", "stuck"]), ExitCode::SUCCESS, "the deadlock is expected");
    assert_eq!(run(&["run", "stuck-unexpected"]), ExitCode::from(1));
    assert_eq!(run(&["sweep", "ok", "--seeds", "10", "--jobs", "2"]), ExitCode::SUCCESS);
    assert!(installs.load(Ordering::Relaxed) >= 13, "the install function ran per run");
    assert_eq!(run(&["trace", "stuck", "--format", "dot"]), ExitCode::SUCCESS);
    // Built-in scenarios are not offered unless asked for.
    assert_eq!(run(&["run", "redirect-fixed"]), ExitCode::from(2));
    assert_eq!(run(&["frobnicate"]), ExitCode::from(2));
    let with_builtin = cat.clone().with_builtin();
    assert_eq!(run_with_args(["mytool", "run", "redirect-fixed"], &with_builtin), ExitCode::SUCCESS);
}
