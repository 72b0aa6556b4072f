//! Bad input never panics: random programs of Win32 calls with valid, closed, pseudo,
//! tagged and invalid handles, bad sizes and flags, on two threads under random seeds.
//! Every run must end with an outcome, with the kernel's invariants checked after every
//! step. The same interpreter is the fuzz target (fuzz/ops.rs).

#[path = "../../fuzz/ops.rs"]
mod ops;

use proptest::prelude::*;
use sim_core::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn random_programs_end_with_an_outcome(data in proptest::collection::vec(any::<u8>(), 2..200)) {
        let r = ops::run_program(&data).expect("input is long enough");
        // Any outcome but a kernel panic is acceptable; limits and deadlocks included.
        prop_assert!(
            !matches!(r.outcome, Outcome::Unsupported { .. } | Outcome::ReplayDiverged { .. } | Outcome::SimulatorBug { .. }),
            "{:?}",
            r.outcome
        );
        // A thread body that panicked fails the test; the program errors the kernel reports
        // as such (an OVERLAPPED reused, or its event closed, while its operation is
        // pending: docs/semantics.md §16.42) are outcomes like a deadlock.
        if let Outcome::Failed { message, location, .. } = &r.outcome {
            prop_assert!(location.is_none() && message.contains("OVERLAPPED"), "a thread body failed: {}", message);
        }
    }
}

/// The number of cases of the mailslot-family property: PROPTEST_CASES from the
/// environment, 200 by default.
fn mailslot_cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

/// Whether an outcome is one a random program may end with (see
/// `random_programs_end_with_an_outcome`).
fn acceptable(outcome: &Outcome) -> Result<(), String> {
    if matches!(outcome, Outcome::Unsupported { .. } | Outcome::ReplayDiverged { .. } | Outcome::SimulatorBug { .. }) {
        return Err(format!("{outcome:?}"));
    }
    if let Outcome::Failed { message, location, .. } = outcome {
        if location.is_some() || !message.contains("OVERLAPPED") {
            return Err(format!("a thread body failed: {message}"));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: mailslot_cases(), ..ProptestConfig::default() })]
    /// The mailslot family (extended header 0xFF, family 1, docs/semantics.md §18): ops
    /// 96-111 are mailslot calls, mixed with every op of the 96-op set.
    #[test]
    fn random_mailslot_programs_end_with_an_outcome(
        seed in 0u8..16,
        split in any::<u8>(),
        ops in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // Ops 96-111 half the time, so that mailslot calls meet each other often.
        let mut data = vec![0xFF, 0x10 | seed, split];
        for (i, b) in ops.iter().enumerate() {
            data.push(if i % 3 == 0 && b & 1 == 0 { 96 + (b >> 1) % 16 } else { *b });
        }
        let r = ops::run_program(&data).expect("input is long enough");
        if let Err(e) = acceptable(&r.outcome) {
            prop_assert!(false, "{}\ninput {:?}", e, data);
        }
    }
}

/// Inputs the fuzzer found that once broke the kernel (fuzz/regressions/), kept as
/// regression tests.
#[test]
fn fuzz_regressions() {
    let inputs: &[(&str, &[u8])] = &[
        // A thread exits owning two mutexes; abandoning the first wakes a waiter whose
        // release destroys the second (its last handle was gone), which was then
        // abandoned after its destruction: a kernel panic.
        ("abandon-destroyed-mutex", include_bytes!("../../fuzz/regressions/abandon-destroyed-mutex.bin")),
        // A call queued for a synchronous file object's lock was the object's last
        // reference (its process had exited, closing every handle); the object was
        // released before the queued call used it: a kernel panic.
        ("lock-waiter-outlives-file", include_bytes!("../../fuzz/regressions/lock-waiter-outlives-file.bin")),
        // A periodic timer nobody waits on, every thread blocked without a time-out: the
        // clock advanced from expiry to expiry forever instead of reporting the deadlock.
        ("periodic-timer-hang", include_bytes!("../../fuzz/regressions/periodic-timer-hang.bin")),
        // An unread empty message queued when an end closed: the close dropped it and left
        // the queue's count of empty messages wrong, a kernel panic (§3.8).
        ("close-drops-empty-message", include_bytes!("../../fuzz/regressions/close-drops-empty-message.bin")),
        (
            "close-keeps-discarded-empty-message",
            include_bytes!("../../fuzz/regressions/close-keeps-discarded-empty-message.bin"),
        ),
        // CreateFile on a named pipe hitting the handle limit mid-call.
        ("createfile-handle-limit", include_bytes!("../../fuzz/regressions/createfile-handle-limit.bin")),
        // Found by the mailslot family's sweep (extended header 0xFF, family 1): a thread
        // blocked in ReadFileEx on a synchronous pipe handle was killed (ExitProcess); the
        // cancellation queued the routine's APC to the dying thread, which still read as
        // blocked on the operation just removed: a kernel panic.
        ("readfileex-killed-thread-apc", include_bytes!("../../fuzz/regressions/readfileex-killed-thread-apc.bin")),
    ];
    for (name, data) in inputs {
        let r = ops::run_program(data).expect("long enough");
        assert!(!matches!(r.outcome, Outcome::Failed { .. } | Outcome::SimulatorBug { .. }), "{name}: {:?}", r.outcome);
    }
}
