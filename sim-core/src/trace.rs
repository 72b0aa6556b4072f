//! The trace: one serde event type, recording every call with its arguments, result, last
//! error, blocking and wake-up (with its cause), virtual time, pid and tid. A run's trace
//! is a pure function of program + config + seed.

use crate::error::Win32Error;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// One trace event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Kernel step (number of calls executed before this event's call, plus one).
    pub step: u64,
    /// Virtual time in milliseconds.
    pub time_ms: u64,
    /// Process id of the thread concerned.
    pub pid: u32,
    /// Thread id of the thread concerned.
    pub tid: u32,
    /// What happened (flattened into the event's JSON object, tagged by `"event"`).
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A call that completed at once.
    Call {
        /// Win32 function name.
        api: String,
        /// Rendered arguments.
        args: String,
        /// Rendered result (return value and out-parameters).
        result: String,
        /// The last error the call set, if it set one.
        error: Option<Win32Error>,
    },
    /// A call that blocked.
    Block {
        /// Win32 function name.
        api: String,
        /// Rendered arguments.
        args: String,
        /// What it waits for.
        reason: String,
    },
    /// A blocked call completed.
    Wake {
        /// Win32 function name.
        api: String,
        /// Rendered result.
        result: String,
        /// The last error the call set, if it set one.
        error: Option<Win32Error>,
        /// The event that completed it.
        cause: String,
    },
    /// A process started.
    ProcessStart {
        /// Its image (program) name.
        image: String,
        /// Its command line.
        command_line: String,
        /// The creating process id (0 for the first process).
        parent: u32,
    },
    /// A process ended.
    ProcessExit {
        /// Its exit code.
        code: u32,
        /// Handles its exit closed, rendered.
        closed: Vec<String>,
    },
    /// A thread started running its body.
    ThreadStart,
    /// A thread ended.
    ThreadExit {
        /// Its exit code.
        code: u32,
        /// Why: "returned", "ExitThread", "terminated by ...".
        how: String,
    },
    /// A thread's body panicked (the run ends with `Outcome::Failed`).
    Panic {
        /// The panic message.
        message: String,
    },
    /// Something the kernel did on its own that a reader should see (a pipe end closing,
    /// a mutex abandoned).
    Note {
        /// What happened.
        text: String,
    },
}

/// Renders a trace as plain text, one event per line.
pub fn render_text(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let who = if e.tid == 0 { format!("P{}", e.pid) } else { format!("P{}/T{}", e.pid, e.tid) };
        let _ = write!(out, "#{:<4} {:>6}ms  {who:<10} ", e.step, e.time_ms);
        match &e.kind {
            EventKind::Call { api, args, result, error } => {
                let _ = write!(out, "{api}({args}) = {result}");
                if let Some(err) = error {
                    let _ = write!(out, "  [last error {err}]");
                }
            }
            EventKind::Block { api, args, reason } => {
                let _ = write!(out, "{api}({args}) BLOCKS: {reason}");
            }
            EventKind::Wake { api, result, error, cause } => {
                let _ = write!(out, "{api} returns {result}");
                if let Some(err) = error {
                    let _ = write!(out, "  [last error {err}]");
                }
                let _ = write!(out, "  <- {cause}");
            }
            EventKind::ProcessStart { image, command_line, parent } => {
                let _ = write!(out, "process starts: {image} ({command_line:?}), parent P{parent}");
            }
            EventKind::ProcessExit { code, closed } => {
                let _ = write!(out, "process exits with code {code}");
                if !closed.is_empty() {
                    let _ = write!(out, "; closing {}", closed.join(", "));
                }
            }
            EventKind::ThreadStart => out.push_str("thread starts"),
            EventKind::ThreadExit { code, how } => {
                let _ = write!(out, "thread exits with code {code} ({how})");
            }
            EventKind::Panic { message } => {
                let _ = write!(out, "PANIC: {message}");
            }
            EventKind::Note { text } => {
                let _ = write!(out, "note: {text}");
            }
        }
        out.push('\n');
    }
    out
}

/// Renders a trace as JSON lines (one serialized [`Event`] per line; the schema is the
/// serde form of [`Event`], documented in docs/architecture.md).
pub fn render_json_lines(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        // Serializing plain data with string keys cannot fail.
        out.push_str(&serde_json::to_string(e).expect("trace events serialize"));
        out.push('\n');
    }
    out
}
