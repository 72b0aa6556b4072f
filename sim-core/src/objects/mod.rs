//! Kernel objects: one arena, one closed enum, one file per object family
//! (like Wine's server/: process.c, thread.c, event.c/mutex.c/semaphore.c, named_pipe.c).
//!
//! Every object has a [`Header`] counting its handles and its other references (a
//! thread's own life, a pending wait, a file object's hold on its pipe). It is destroyed
//! when both reach zero, at a well-defined step, with Windows' side effects.

pub mod pipe;
pub mod process;
pub mod sync;
pub mod thread;

use crate::kernel::Tid;
use serde::{Deserialize, Serialize};
use std::fmt;

slotmap::new_key_type! {
    /// The id of a kernel object in the arena. Never reused while the run lasts.
    pub struct ObjectId;
}

/// A kernel object: header plus type-specific body.
#[derive(Debug)]
pub struct Object {
    /// Counts, name, waiters.
    pub hdr: Header,
    /// What kind of object, and its state.
    pub body: Body,
}

/// State common to every object.
#[derive(Debug, Clone)]
pub struct Header {
    /// Display number, unique per run and per type family (`pipe#1`, `event#2`).
    pub serial: u32,
    /// Number of handles to this object, in all processes.
    pub handle_count: u32,
    /// Other references: a live thread or process holds one on itself, a wait block
    /// holds one on each object it waits for, a file object holds one on its pipe.
    pub ref_count: u32,
    /// The name in the object namespace, if any. Invariant: bound in
    /// `Kernel::names` exactly while `handle_count > 0` (fact 7.13).
    pub name: Option<String>,
    /// Threads whose wait block includes this object, in the order they began waiting.
    pub waiters: Vec<Tid>,
    /// Kernel step at which the object was created.
    pub created_step: u64,
    /// The most recently closed handles to this object (at most `CLOSED_HANDLES_KEPT`),
    /// so a report can say where the other copies went.
    pub closed: Vec<ClosedHandle>,
}

/// How many closed handles an object remembers.
pub const CLOSED_HANDLES_KEPT: usize = 16;

/// A handle that was closed, with its history and the close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedHandle {
    /// The process that held it.
    pub pid: crate::kernel::Pid,
    /// Its value there.
    pub handle: crate::types::HANDLE,
    /// Where it came from, oldest first.
    pub history: Vec<crate::handles::Origin>,
    /// The close.
    pub closed: crate::handles::Origin,
}

/// The type-specific part of an object.
#[derive(Debug)]
pub enum Body {
    /// A process (see `process.rs`).
    Process(process::Process),
    /// A thread (see `thread.rs`).
    Thread(thread::Thread),
    /// An event (see `sync.rs`).
    Event(sync::Event),
    /// A mutex, "mutant" in NT terms (see `sync.rs`).
    Mutex(sync::Mutex),
    /// A semaphore (see `sync.rs`).
    Semaphore(sync::Semaphore),
    /// A pipe instance with its two ends and two data queues (see `pipe.rs`).
    Pipe(pipe::Pipe),
    /// A file object over one end of a pipe: what pipe handles refer to (see `pipe.rs`).
    File(pipe::File),
}

/// The type of an object, as NT's object manager names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ObjectType {
    /// Process.
    Process,
    /// Thread.
    Thread,
    /// Event.
    Event,
    /// Mutant (mutex).
    Mutex,
    /// Semaphore.
    Semaphore,
    /// A pipe instance (not reachable through a handle).
    Pipe,
    /// File (a pipe end).
    File,
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectType::Process => "process",
            ObjectType::Thread => "thread",
            ObjectType::Event => "event",
            ObjectType::Mutex => "mutex",
            ObjectType::Semaphore => "semaphore",
            ObjectType::Pipe => "pipe",
            ObjectType::File => "file",
        })
    }
}

impl Body {
    /// The object's type.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Body::Process(_) => ObjectType::Process,
            Body::Thread(_) => ObjectType::Thread,
            Body::Event(_) => ObjectType::Event,
            Body::Mutex(_) => ObjectType::Mutex,
            Body::Semaphore(_) => ObjectType::Semaphore,
            Body::Pipe(_) => ObjectType::Pipe,
            Body::File(_) => ObjectType::File,
        }
    }
}
