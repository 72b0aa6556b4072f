//! Mailslot scenarios (docs/semantics.md §18).

use crate::Scenario;
use sim_core::prelude::*;

/// The mailslot of the scenarios.
pub const SLOT: &str = r"\\.\mailslot\teaching\log";
/// How many messages each writer sends.
pub const PER_WRITER: u32 = 3;

/// Writer `tag`'s `i`-th message (1-based): its tag, its number, and `i - 1` dots, so that
/// messages differ in length and a merged or split message would show.
pub fn message(tag: &str, i: u32) -> Vec<u8> {
    let mut m = format!("{tag}{i}").into_bytes();
    m.extend(std::iter::repeat_n(b'.', i as usize - 1));
    m
}

/// The reader: creates the mailslot (waiting forever for messages), starts writers A and B,
/// reads one message per ReadFile until it has all of them, then waits for the writers.
/// Exit code 0, or the step that failed.
async fn reader(ctx: ThreadCtx) -> u32 {
    let slot = ctx.create_mailslot(Some(SLOT), 64, MAILSLOT_WAIT_FOREVER, None).await;
    if slot == INVALID_HANDLE_VALUE {
        return 1;
    }
    let mut writers = Vec::new();
    for tag in ["A", "B"] {
        let mut pi = PROCESS_INFORMATION::default();
        let cmd = format!("writer.exe {tag}");
        let si = STARTUPINFO::default();
        if ctx.create_process(None, Some(&cmd), None, None, false, 0, &si, &mut pi).await == FALSE {
            return 2;
        }
        let _ = ctx.close_handle(pi.hThread).await;
        writers.push(pi.hProcess);
    }
    for _ in 0..2 * PER_WRITER {
        let mut buf = [0u8; 64];
        let mut n = 0;
        if ctx.read_file(slot, &mut buf, Some(&mut n)).await == FALSE {
            return 3;
        }
    }
    ctx.wait_for_multiple_objects(&writers, true, INFINITE).await;
    0
}

/// A writer: opens the mailslot and sends its messages, one WriteFile each.
async fn writer(ctx: ThreadCtx) -> u32 {
    let cmd = ctx.get_command_line();
    let tag = cmd.split_whitespace().nth(1).unwrap_or("?").to_string();
    let h = ctx.create_file(SLOT, GENERIC_WRITE, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    if h == INVALID_HANDLE_VALUE {
        return 1;
    }
    for i in 1..=PER_WRITER {
        let mut n = 0;
        if ctx.write_file(h, &message(&tag, i), Some(&mut n)).await == FALSE {
            return 2;
        }
    }
    let _ = ctx.close_handle(h).await;
    0
}

/// Two writer processes and one reader on a mailslot: each read is one whole message,
/// each writer's messages arrive in its order, and how the two writers' messages
/// interleave is up to the schedule (§18.9).
pub fn mailslot_two_writers() -> Scenario {
    Scenario {
        name: "mailslot-two-writers",
        summary: "a mailslot keeps message boundaries and each writer's order; the interleaving of writers is the schedule's",
        expect: "completes on every seed; the order of A's and B's messages varies with the seed",
        install: |sim| {
            sim.program("reader.exe", reader);
            sim.program("writer.exe", writer);
        },
        main: "reader.exe",
    }
}
