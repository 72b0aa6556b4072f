//! Generated cases: seeded random sequences of handle, synchronization-object and
//! anonymous-pipe calls, run by both backends and compared like the written cases.
//!
//! The written cases check the sequences someone thought of; these check the rules on
//! sequences nobody wrote down: a handle duplicated with less access and then used, a
//! protected handle closed, a wait-all naming a closed handle, a semaphore released past
//! its maximum through a duplicate, a pipe read through a second handle after its writer
//! closed. The sequence is a function of the seed only (a SplitMix64 generator, the same
//! on both sides), so the two logs have the same lines wherever the backends agree.
//!
//! Every call returns at once on real Windows, whatever the state: waits have a time-out
//! of 0; a pipe is written at most `PIPE_BYTES` bytes in all (far below any pipe's
//! buffer, so WriteFile never waits for a reader); ReadFile is made on a pipe's read end
//! only after PeekNamedPipe, on the same handle, did not report an empty pipe with a
//! live writer (the one state in which it would wait). A handle is used after its
//! CloseHandle only until the next handle is made, so a reused handle value never
//! stands for another object. Handle values are never logged.
//!
//! Each line names its handles by slot: `e2` an event, `m3` a mutex, `s4` a semaphore,
//! `r5`/`w6` a pipe's read/write end, the number its place in the case's list (a
//! duplicate gets a new slot of its source's kind).

use crate::cases::call;
use crate::log::{Log, render_bytes};
use sim_core::backend::Win32;
use sim_core::error::ERROR_ALREADY_EXISTS;
use sim_core::types::*;

/// Calls a case makes (a pipe read adds its PeekNamedPipe line).
const OPS: usize = 70;

/// The most bytes written into one pipe in a case, both directions together.
const PIPE_BYTES: u32 = 256;

/// SplitMix64: small, and the same sequence on every target.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    pub(crate) fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// What a slot's handle was made as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Event,
    Mutex,
    Semaphore,
    /// A pipe's read end (the pipe's index in the case).
    Read(usize),
    /// A pipe's write end.
    Write(usize),
}

impl Kind {
    /// The pipe of a pipe's end.
    fn pipe(self) -> Option<usize> {
        match self {
            Kind::Read(p) | Kind::Write(p) => Some(p),
            _ => None,
        }
    }

    fn letter(self) -> char {
        match self {
            Kind::Event => 'e',
            Kind::Mutex => 'm',
            Kind::Semaphore => 's',
            Kind::Read(_) => 'r',
            Kind::Write(_) => 'w',
        }
    }
}

/// One handle the case made.
struct Slot {
    h: HANDLE,
    kind: Kind,
    /// `Some(n)`: closed when `n` handles had been made (usable until the next is made).
    closed: Option<usize>,
    /// Protected from CloseHandle (HANDLE_FLAG_PROTECT_FROM_CLOSE), as the case set it.
    protected: bool,
    /// The object: slots with the same number are handles to one object (duplicates, and
    /// a named create that opened an existing object).
    object: usize,
}

struct State {
    rng: Rng,
    slots: Vec<Slot>,
    /// Handles made so far (successful creations and duplications).
    made: usize,
    /// Bytes written into each pipe so far.
    written: Vec<u32>,
    /// The case's object names (distinct across cases: the native run is one process).
    names: [String; 2],
    /// Objects made so far.
    objects: usize,
    /// The object each name last made.
    named: [usize; 2],
}

impl State {
    fn label(&self, i: usize) -> String {
        format!("{}{i}", self.slots[i].kind.letter())
    }

    /// A slot whose handle may be used: open, or closed with no handle made since.
    fn usable(&mut self) -> Option<usize> {
        let ok: Vec<usize> =
            (0..self.slots.len()).filter(|&i| self.slots[i].closed.is_none_or(|n| n == self.made)).collect();
        if ok.is_empty() { None } else { Some(ok[self.rng.below(ok.len())]) }
    }

    /// One of the case's two names (as its index), or none.
    fn name(&mut self) -> Option<usize> {
        if self.rng.below(3) == 0 { Some(self.rng.below(2)) } else { None }
    }

    /// A handle made to a new object, or (`existing`) to the one `name` names already.
    fn add_made(&mut self, h: HANDLE, kind: Kind, name: Option<usize>, existing: bool) {
        // A create that failed made nothing, and the name keeps its object.
        if h.is_null() || h == INVALID_HANDLE_VALUE {
            return;
        }
        let object = match name {
            Some(n) if existing => self.named[n],
            _ => {
                self.objects += 1;
                self.objects
            }
        };
        if let Some(n) = name {
            self.named[n] = object;
        }
        self.add(h, kind, object);
    }

    fn add(&mut self, h: HANDLE, kind: Kind, object: usize) {
        if !h.is_null() && h != INVALID_HANDLE_VALUE {
            self.slots.push(Slot { h, kind, closed: None, protected: false, object });
            self.made += 1;
        }
    }
}

fn name_tag(name: Option<usize>) -> &'static str {
    match name {
        None => "",
        Some(0) => ", \"a\"",
        Some(_) => ", \"b\"",
    }
}

/// PeekNamedPipe through `h` (logged), before a ReadFile that would wait on an empty pipe
/// with a live writer: whether the read may be made (the peek failed, so the read fails at
/// once too, or found bytes).
async fn may_read<W: Win32>(w: &W, log: &Log, h: HANDLE, label: &str) -> bool {
    let mut avail = u32::MAX;
    let ok =
        call!(w, log, &format!("PeekNamedPipe({label})"), w.peek_named_pipe(h, None, None, Some(&mut avail), None));
    log.note("available", avail);
    ok == FALSE || avail != 0
}

/// ReadFile of up to `len` bytes through `h` (logged), with the count and, when bytes came
/// (a message longer than the buffer included, ERROR_MORE_DATA), the data.
async fn read<W: Win32>(w: &W, log: &Log, h: HANDLE, label: &str, len: usize) {
    let mut buf = vec![0u8; len];
    let mut got = u32::MAX;
    let ok = call!(w, log, &format!("ReadFile({label}, {len})"), w.read_file(h, &mut buf, Some(&mut got)));
    log.note("read", got);
    if ok != FALSE || w.get_last_error() == sim_core::error::ERROR_MORE_DATA.0 {
        log.note("data", render_bytes(&buf[..(got as usize).min(len)]));
    }
}

/// One generated case: `OPS` calls drawn from `seed`.
pub async fn random_ops<W: Win32>(w: W, log: Log, seed: u64) {
    let mut st = State {
        rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED),
        slots: Vec::new(),
        made: 0,
        written: Vec::new(),
        names: [format!("winsim-diff-random-{seed}-a"), format!("winsim-diff-random-{seed}-b")],
        objects: 0,
        named: [0; 2],
    };
    let process = w.get_current_process();
    for _ in 0..OPS {
        // Making handles is likelier while there are few.
        let make = st.slots.len() < 3 || st.rng.below(5) == 0;
        if make {
            match st.rng.below(4) {
                0 => {
                    let (manual, initial, name) = (st.rng.coin(), st.rng.coin(), st.name());
                    let what = format!(
                        "CreateEvent({}, {}{})",
                        if manual { "manual" } else { "auto" },
                        if initial { "set" } else { "unset" },
                        name_tag(name)
                    );
                    let text = name.map(|n| st.names[n].clone());
                    let h = call!(w, log, &what, w.create_event(None, manual, initial, text.as_deref()));
                    st.add_made(h, Kind::Event, name, w.get_last_error() == ERROR_ALREADY_EXISTS.0);
                }
                1 => {
                    let (owned, name) = (st.rng.coin(), st.name());
                    let what = format!("CreateMutex({}{})", if owned { "owned" } else { "free" }, name_tag(name));
                    let text = name.map(|n| st.names[n].clone());
                    let h = call!(w, log, &what, w.create_mutex(None, owned, text.as_deref()));
                    st.add_made(h, Kind::Mutex, name, w.get_last_error() == ERROR_ALREADY_EXISTS.0);
                }
                2 => {
                    let initial = st.rng.pick(&[-1, 0, 1, 2, 3]);
                    let max = st.rng.pick(&[0, 1, 2, 3]);
                    let name = st.name();
                    let what = format!("CreateSemaphore({initial} of {max}{})", name_tag(name));
                    let text = name.map(|n| st.names[n].clone());
                    let h = call!(w, log, &what, w.create_semaphore(None, initial, max, text.as_deref()));
                    st.add_made(h, Kind::Semaphore, name, w.get_last_error() == ERROR_ALREADY_EXISTS.0);
                }
                _ => {
                    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
                    let ok = call!(w, log, "CreatePipe", w.create_pipe(&mut r, &mut wr, None, 0));
                    if ok != FALSE {
                        let pipe = st.written.len();
                        st.written.push(0);
                        st.add_made(r, Kind::Read(pipe), None, false);
                        st.add_made(wr, Kind::Write(pipe), None, false);
                    }
                }
            }
            continue;
        }
        let Some(i) = st.usable() else { continue };
        let (h, l) = (st.slots[i].h, st.label(i));
        match st.rng.below(15) {
            0 => {
                call!(w, log, &format!("SetEvent({l})"), w.set_event(h));
            }
            1 => {
                call!(w, log, &format!("ResetEvent({l})"), w.reset_event(h));
            }
            2 => {
                call!(w, log, &format!("ReleaseMutex({l})"), w.release_mutex(h));
            }
            3 => {
                // Counts of 0 and below are left out: Windows rejects them before it looks at
                // the handle, Wine does not (native/manifest.txt, sync_objects), and the
                // state would part from there on.
                let count = st.rng.pick(&[1, 1, 2, 3]);
                let mut prev = -7;
                call!(
                    w,
                    log,
                    &format!("ReleaseSemaphore({l}, {count})"),
                    w.release_semaphore(h, count, Some(&mut prev))
                );
                log.note("previous count", prev);
            }
            4 | 5 => {
                call!(w, log, &format!("WaitForSingleObject({l}, 0)"), w.wait_for_single_object(h, 0));
            }
            6 => {
                let n = 1 + st.rng.below(3);
                let all = st.rng.coin();
                let mut hs = vec![h];
                let mut ls = vec![l];
                let mut objects = vec![st.slots[i].object];
                for _ in 1..n {
                    if let Some(j) = st.usable() {
                        // A wait-all never names one object twice: Windows fails it, Wine
                        // waits (native/manifest.txt, sync_objects), and the state would
                        // part from there on.
                        if all && objects.contains(&st.slots[j].object) {
                            continue;
                        }
                        objects.push(st.slots[j].object);
                        hs.push(st.slots[j].h);
                        ls.push(st.label(j));
                    }
                }
                let what = format!("WaitForMultipleObjects({}; {}; 0)", ls.join(", "), if all { "all" } else { "any" });
                call!(w, log, &what, w.wait_for_multiple_objects(&hs, all, 0));
            }
            7 | 8 => {
                let ok = call!(w, log, &format!("CloseHandle({l})"), w.close_handle(h));
                if ok != FALSE {
                    st.slots[i].closed = Some(st.made);
                }
            }
            9 => {
                let (access, access_name) = st.rng.pick(&[
                    (0, "0"),
                    (SYNCHRONIZE, "SYNCHRONIZE"),
                    (EVENT_MODIFY_STATE, "MODIFY_STATE"),
                    (GENERIC_READ, "GENERIC_READ"),
                    (GENERIC_WRITE, "GENERIC_WRITE"),
                    (GENERIC_EXECUTE, "GENERIC_EXECUTE"),
                ]);
                let (options, options_name) = st.rng.pick(&[
                    (DUPLICATE_SAME_ACCESS, "SAME_ACCESS"),
                    (DUPLICATE_SAME_ACCESS, "SAME_ACCESS"),
                    (0, "0"),
                    (DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE, "SAME_ACCESS|CLOSE_SOURCE"),
                    (DUPLICATE_CLOSE_SOURCE, "CLOSE_SOURCE"),
                ]);
                let mut out = HANDLE::NULL;
                let what = format!("DuplicateHandle({l}, {access_name}, {options_name})");
                let ok =
                    call!(w, log, &what, w.duplicate_handle(process, h, process, &mut out, access, false, options));
                // DUPLICATE_CLOSE_SOURCE closes the source whether or not the duplicate is
                // made (Microsoft Learn DuplicateHandle), unless it is protected.
                if options & DUPLICATE_CLOSE_SOURCE != 0 && !st.slots[i].protected {
                    st.slots[i].closed = st.slots[i].closed.or(Some(st.made));
                }
                if ok != FALSE {
                    let (kind, object) = (st.slots[i].kind, st.slots[i].object);
                    st.add(out, kind, object);
                }
            }
            10 => {
                let protect = st.rng.coin();
                let (mask, flags) = if st.rng.below(3) == 0 {
                    (HANDLE_FLAG_INHERIT, if protect { HANDLE_FLAG_INHERIT } else { 0 })
                } else {
                    (HANDLE_FLAG_PROTECT_FROM_CLOSE, if protect { HANDLE_FLAG_PROTECT_FROM_CLOSE } else { 0 })
                };
                let what = format!(
                    "SetHandleInformation({l}, {}, {})",
                    if mask == HANDLE_FLAG_INHERIT { "INHERIT" } else { "PROTECT_FROM_CLOSE" },
                    if flags != 0 { "on" } else { "off" }
                );
                let ok = call!(w, log, &what, w.set_handle_information(h, mask, flags));
                if ok != FALSE && mask == HANDLE_FLAG_PROTECT_FROM_CLOSE {
                    st.slots[i].protected = protect;
                }
            }
            11 | 12 => {
                let n = 1 + st.rng.below(12) as u32;
                // Either end: a duplicate of a read end made with GENERIC_WRITE writes too.
                let pipe = st.slots[i].kind.pipe();
                if pipe.is_some_and(|p| st.written[p] + n > PIPE_BYTES) {
                    continue;
                }
                let data: Vec<u8> = (0..n).map(|k| b'a' + ((k as usize + i) % 26) as u8).collect();
                let mut done = u32::MAX;
                let ok = call!(w, log, &format!("WriteFile({l}, {n})"), w.write_file(h, &data, Some(&mut done)));
                log.note("written", done);
                if let (Some(p), true) = (pipe, ok != FALSE) {
                    st.written[p] += done;
                }
            }
            13 => {
                // A pipe's handle is peeked first, through the same handle: an empty pipe with
                // a live writer would block the read (either end: a duplicate of a write end
                // made with GENERIC_READ reads too).
                if st.slots[i].kind.pipe().is_some() && !may_read(&w, &log, h, &l).await {
                    continue;
                }
                let len = 1 + st.rng.below(8);
                read(&w, &log, h, &l, len).await;
            }
            _ => {
                // Pipes only: on another object Windows fails the call's handle check
                // (ERROR_INVALID_HANDLE, as winsim), Wine its access check.
                if st.slots[i].kind.pipe().is_none() {
                    continue;
                }
                let mut avail = u32::MAX;
                let mut peeked = u32::MAX;
                let mut buf = [0u8; 4];
                let what = format!("PeekNamedPipe({l}, 4)");
                call!(w, log, &what, w.peek_named_pipe(h, Some(&mut buf), Some(&mut peeked), Some(&mut avail), None));
                log.note("peeked, available", format!("{peeked}, {avail}"));
            }
        }
    }
    // Unlogged: every handle still open is closed (protected ones unprotected first), so
    // the native run's process holds nothing of this case when the next begins.
    for s in &st.slots {
        if s.closed.is_none() {
            if s.protected {
                w.set_handle_information(s.h, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0).await;
            }
            w.close_handle(s.h).await;
        }
    }
}

/// What a named-pipe case's slot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// A server instance of name `0`.
    Server(usize),
    /// A client of name `0`, opened with the access in `1`.
    Client(usize, u32),
}

/// One handle a named-pipe case made.
struct PipeSlot {
    h: HANDLE,
    end: End,
    closed: Option<usize>,
}

/// The access a client opens with, and its label.
const CLIENT_ACCESS: [(u32, &str); 4] = [
    (GENERIC_READ, "GENERIC_READ"),
    (GENERIC_WRITE, "GENERIC_WRITE"),
    (GENERIC_READ | GENERIC_WRITE, "GENERIC_READ|GENERIC_WRITE"),
    (GENERIC_READ | FILE_WRITE_ATTRIBUTES, "GENERIC_READ|FILE_WRITE_ATTRIBUTES"),
];

/// A generated named-pipe case: `OPS` calls drawn from `seed` on two pipe names (and a
/// third never created): server instances of every direction, type and read mode,
/// clients of four accesses, ConnectNamedPipe, DisconnectNamedPipe,
/// SetNamedPipeHandleState, WaitNamedPipe, WriteFile (zero-length messages included),
/// PeekNamedPipe and ReadFile, CloseHandle.
///
/// Nothing waits natively: every server instance is made with PIPE_NOWAIT and keeps it
/// (ConnectNamedPipe answers at once, a server's ReadFile never waits); a client's
/// ReadFile follows a PeekNamedPipe on the same handle that did not report an empty,
/// connected pipe; at most `PIPE_BYTES` bytes are written under each name, far below the
/// 1024-byte buffers, so no write waits for quota; WaitNamedPipe waits 1 ms at most.
/// SetNamedPipeHandleState is made only through handles with FILE_WRITE_ATTRIBUTES
/// (Wine does not check that access on a client: native/manifest.txt).
pub async fn random_named_pipes<W: Win32>(w: W, log: Log, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E6C_63D0_676A_9A99) ^ 0x0B1E);
    let names = [
        format!(r"\\.\pipe\winsim-diff-random-{seed}-a"),
        format!(r"\\.\pipe\winsim-diff-random-{seed}-b"),
        format!(r"\\.\pipe\winsim-diff-random-{seed}-none"),
    ];
    let mut slots: Vec<PipeSlot> = Vec::new();
    let mut made = 0usize;
    let mut written = [0u32; 3];
    let label = |slots: &[PipeSlot], i: usize| match slots[i].end {
        End::Server(n) => format!("server{i}/{}", ["a", "b", "none"][n]),
        End::Client(n, _) => format!("client{i}/{}", ["a", "b", "none"][n]),
    };
    for _ in 0..OPS {
        let usable: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].closed.is_none_or(|n| n == made)).collect();
        let make = usable.len() < 2 || rng.below(4) == 0;
        if make {
            if rng.coin() {
                let n = rng.below(2);
                let (open_mode, open_name) = rng.pick(&[
                    (PIPE_ACCESS_DUPLEX, "duplex"),
                    (PIPE_ACCESS_INBOUND, "inbound"),
                    (PIPE_ACCESS_OUTBOUND, "outbound"),
                ]);
                let (ty, ty_name) = rng.pick(&[(PIPE_TYPE_BYTE, "byte"), (PIPE_TYPE_MESSAGE, "message")]);
                let (read, read_name) =
                    rng.pick(&[(PIPE_READMODE_BYTE, "read byte"), (PIPE_READMODE_MESSAGE, "read message")]);
                let max = rng.pick(&[1, 2, PIPE_UNLIMITED_INSTANCES]);
                let what = format!(
                    "CreateNamedPipe({}, {open_name}, {ty_name}, {read_name}, nowait, {max})",
                    ["a", "b", "none"][n]
                );
                let h = call!(
                    w,
                    log,
                    &what,
                    w.create_named_pipe(&names[n], open_mode, ty | read | PIPE_NOWAIT, max, 1024, 1024, 0, None)
                );
                if h != INVALID_HANDLE_VALUE && !h.is_null() {
                    slots.push(PipeSlot { h, end: End::Server(n), closed: None });
                    made += 1;
                }
            } else {
                let n = rng.pick(&[0, 0, 1, 1, 2]);
                let (access, access_name) = rng.pick(&CLIENT_ACCESS);
                let what = format!("CreateFile({}, {access_name})", ["a", "b", "none"][n]);
                let h = call!(w, log, &what, w.create_file(&names[n], access, 0, None, OPEN_EXISTING, 0, HANDLE::NULL));
                if h != INVALID_HANDLE_VALUE && !h.is_null() {
                    slots.push(PipeSlot { h, end: End::Client(n, access), closed: None });
                    made += 1;
                }
            }
            continue;
        }
        let i = usable[rng.below(usable.len())];
        let (h, l) = (slots[i].h, label(&slots, i));
        let name = match slots[i].end {
            End::Server(n) | End::Client(n, _) => n,
        };
        match rng.below(12) {
            0 => {
                call!(w, log, &format!("ConnectNamedPipe({l})"), w.connect_named_pipe(h));
            }
            1 => {
                call!(w, log, &format!("DisconnectNamedPipe({l})"), w.disconnect_named_pipe(h));
            }
            2 => {
                // A server keeps PIPE_NOWAIT; a client may change both modes, given the
                // access.
                let may = match slots[i].end {
                    End::Server(_) => true,
                    End::Client(_, access) => access & (GENERIC_WRITE | FILE_WRITE_ATTRIBUTES) != 0,
                };
                if !may {
                    continue;
                }
                let message = rng.coin();
                let nowait = matches!(slots[i].end, End::Server(_)) || rng.coin();
                let mode = if message { PIPE_READMODE_MESSAGE } else { PIPE_READMODE_BYTE }
                    | if nowait { PIPE_NOWAIT } else { PIPE_WAIT };
                let what = format!(
                    "SetNamedPipeHandleState({l}, {}, {})",
                    if message { "read message" } else { "read byte" },
                    if nowait { "nowait" } else { "wait" }
                );
                call!(w, log, &what, w.set_named_pipe_handle_state(h, Some(mode), None, None));
            }
            3 => {
                let n = rng.pick(&[0, 1, 2]);
                let what = format!("WaitNamedPipe({}, 1 ms)", ["a", "b", "none"][n]);
                call!(w, log, &what, w.wait_named_pipe(&names[n], 1));
            }
            4..=6 => {
                let len = rng.pick(&[0, 1, 3, 5, 8, 12]);
                if written[name] + len > PIPE_BYTES {
                    continue;
                }
                let data: Vec<u8> = (0..len).map(|k| b'A' + ((k as usize + i) % 26) as u8).collect();
                let mut done = u32::MAX;
                let ok = call!(w, log, &format!("WriteFile({l}, {len})"), w.write_file(h, &data, Some(&mut done)));
                log.note("written", done);
                if ok != FALSE {
                    written[name] += done;
                }
            }
            7 | 8 => {
                // A client is peeked first (a server never waits: PIPE_NOWAIT).
                if matches!(slots[i].end, End::Client(..)) && !may_read(&w, &log, h, &l).await {
                    continue;
                }
                let len = rng.pick(&[1, 2, 4, 8]);
                read(&w, &log, h, &l, len).await;
            }
            9 | 10 => {
                let mut avail = u32::MAX;
                let mut peeked = u32::MAX;
                let mut left = u32::MAX;
                let mut buf = [0u8; 4];
                let what = format!("PeekNamedPipe({l}, 4)");
                let ok = call!(
                    w,
                    log,
                    &what,
                    w.peek_named_pipe(h, Some(&mut buf), Some(&mut peeked), Some(&mut avail), Some(&mut left))
                );
                log.note("peeked, available, left in message", format!("{peeked}, {avail}, {left}"));
                if ok != FALSE {
                    log.note("data", render_bytes(&buf[..(peeked as usize).min(4)]));
                }
            }
            _ => {
                let ok = call!(w, log, &format!("CloseHandle({l})"), w.close_handle(h));
                if ok != FALSE {
                    slots[i].closed = Some(made);
                }
            }
        }
    }
    for s in &slots {
        if s.closed.is_none() {
            w.close_handle(s.h).await;
        }
    }
}

/// The windows of a message case, by handle, for the labels the procedure logs.
type Windows = std::sync::Arc<std::sync::Mutex<Vec<HWND>>>;

/// A window's label: `win<i>` by its place in the case's list, `NULL`, or `other`.
fn window_label(windows: &Windows, h: HWND) -> String {
    if h.0 == 0 {
        return "NULL".into();
    }
    match windows.lock().expect("windows lock").iter().position(|&x| x == h) {
        Some(i) => format!("win{i}"),
        None => "other".into(),
    }
}

/// The procedure of a message case's windows: logs the messages it is given (its own
/// range and the destruction pair) and answers a value made of them.
fn message_proc<W: Win32>(log: Log, windows: Windows) -> sim_core::backend::WindowProc<W> {
    std::sync::Arc::new(move |w: W, hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM| {
        let (log, windows) = (log.clone(), windows.clone());
        Box::pin(async move {
            let me = window_label(&windows, hwnd);
            match msg {
                WM_DESTROY | WM_NCDESTROY => {
                    let name = if msg == WM_DESTROY { "WM_DESTROY" } else { "WM_NCDESTROY" };
                    log.note("procedure", format!("{me} {name}"));
                    0
                }
                m if (WM_USER..WM_USER + 8).contains(&m) => {
                    log.note("procedure", format!("{me} WM_USER+{} wParam {wp} lParam {lp}", m - WM_USER));
                    (m - WM_USER) as LRESULT * 1000 + wp as LRESULT
                }
                _ => w.def_window_proc(hwnd, msg, wp, lp).await,
            }
        })
    })
}

/// A message as the log shows it.
fn msg_text(windows: &Windows, m: &MSG) -> String {
    let name = match m.message {
        WM_QUIT => "WM_QUIT".to_string(),
        x if (WM_USER..WM_USER + 8).contains(&x) => format!("WM_USER+{}", x - WM_USER),
        x => format!("{x:#x}"),
    };
    format!("{} {name} wParam {} lParam {}", window_label(windows, m.hwnd), m.wParam, m.lParam)
}

/// A generated message case: `OPS` calls drawn from `seed` on one thread's queue and its
/// message-only windows: PostThreadMessage and PostMessage (to a window, to NULL, to a
/// destroyed window), SendMessage (a direct call of the procedure), PostQuitMessage,
/// PeekMessage with every kind of window filter (NULL, a window, a destroyed window; not
/// -1, see below) and of range (everything, one message, a band, WM_QUIT alone; not an
/// inverted band, see below), PM_REMOVE and PM_NOREMOVE, GetMessage, DispatchMessage of what was
/// last taken, CreateWindowEx, DestroyWindow (which takes its window's posted messages
/// with it), IsWindow.
///
/// GetMessage would wait on an empty queue, so it is made only right after a
/// PeekMessage(PM_NOREMOVE) with the same filters found a message or failed (a filter
/// naming a destroyed window fails both at once).
pub async fn random_messages<W: Win32>(w: W, log: Log, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x3E55);
    let class = format!("winsim_diff_random_{seed}");
    let windows: Windows = Default::default();
    let me = w.get_current_thread_id();
    let mut m = MSG::default();
    // Unlogged: the thread's queue exists from here on (the written thread_messages case
    // checks what happens before).
    w.peek_message(&mut m, HWND(0), 0, 0, PM_NOREMOVE).await;
    w.register_class(&class, message_proc::<W>(log.clone(), windows.clone())).await;
    // Windows made, and whether each is destroyed.
    let mut made: Vec<(HWND, bool)> = Vec::new();
    let mut last: Option<MSG> = None;
    // No inverted range (min > max): what Windows takes for one is unproven
    // (docs/semantics.md §17.C7), Wine takes no posted message, and the queues would part.
    let ranges: [(u32, u32, &str); 5] = [
        (0, 0, "all"),
        (0, 0, "all"),
        (WM_USER + 1, WM_USER + 1, "WM_USER+1"),
        (WM_USER, WM_USER + 2, "WM_USER..+2"),
        (WM_QUIT, WM_QUIT, "WM_QUIT"),
    ];
    for _ in 0..OPS {
        let n = made.len();
        // A window of the case (destroyed ones included, a fifth of the time), or none.
        let window = |rng: &mut Rng| -> Option<usize> {
            let live: Vec<usize> = (0..n).filter(|&i| !made[i].1).collect();
            if n > 0 && (live.is_empty() || rng.below(5) == 0) {
                Some(rng.below(n))
            } else if !live.is_empty() {
                Some(live[rng.below(live.len())])
            } else {
                None
            }
        };
        match rng.below(14) {
            0 => {
                if made.iter().filter(|x| !x.1).count() >= 2 {
                    continue;
                }
                let h = call!(
                    w,
                    log,
                    &format!("CreateWindowEx(message-only, win{n})"),
                    w.create_window_ex(0, &class, "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
                );
                if h.0 != 0 {
                    windows.lock().expect("windows lock").push(h);
                    made.push((h, false));
                }
            }
            1 | 2 => {
                let k = rng.below(5) as u32;
                let wp = rng.below(100);
                call!(
                    w,
                    log,
                    &format!("PostThreadMessage(own thread, WM_USER+{k}, {wp})"),
                    w.post_thread_message(me, WM_USER + k, wp, 7)
                );
            }
            3 | 4 => {
                let target = if rng.below(4) == 0 { None } else { window(&mut rng) };
                let h = target.map_or(HWND(0), |i| made[i].0);
                let k = rng.below(5) as u32;
                let wp = rng.below(100);
                let what = format!("PostMessage({}, WM_USER+{k}, {wp})", window_label(&windows, h));
                call!(w, log, &what, w.post_message(h, WM_USER + k, wp, 9));
            }
            5 => {
                let Some(i) = window(&mut rng) else { continue };
                let h = made[i].0;
                let k = rng.below(5) as u32;
                let wp = rng.below(100);
                let what = format!("SendMessage(win{i}, WM_USER+{k}, {wp})");
                call!(w, log, &what, async { crate::log::Lresult(w.send_message(h, WM_USER + k, wp, 3).await) });
            }
            6 => {
                let code = rng.below(4) as i32;
                log.note("PostQuitMessage", code);
                w.post_quit_message(code).await;
            }
            7..=10 => {
                // Not -1 (thread messages only, Microsoft Learn PeekMessage): Wine 8.0 takes
                // it for a bad window, sets ERROR_INVALID_WINDOW_HANDLE and still returns a
                // pending WM_QUIT ahead of posted messages, and the queues would part.
                let filter = match rng.below(3) {
                    0 | 1 => window(&mut rng).map_or(HWND(0), |i| made[i].0),
                    _ => HWND(0),
                };
                let flabel = if filter.0 == -1 { "-1".to_string() } else { window_label(&windows, filter) };
                let (lo, hi, rlabel) = ranges[rng.below(ranges.len())];
                let get = rng.below(3) == 0;
                let remove = rng.coin();
                let mode = if get || !remove { PM_NOREMOVE } else { PM_REMOVE };
                let what = format!(
                    "PeekMessage({flabel}, {rlabel}, {})",
                    if mode == PM_REMOVE { "PM_REMOVE" } else { "PM_NOREMOVE" }
                );
                w.set_last_error(crate::log::SENTINEL);
                let mut peeked = MSG::default();
                let found = w.peek_message(&mut peeked, filter, lo, hi, mode).await;
                let err = w.get_last_error();
                log.call(&what, &found, err);
                if found != FALSE {
                    log.note("message", msg_text(&windows, &peeked));
                    if mode == PM_REMOVE {
                        last = Some(peeked);
                    }
                }
                if get && (found != FALSE || err != crate::log::SENTINEL) {
                    let mut got = MSG::default();
                    let r = call!(w, log, &format!("GetMessage({flabel}, {rlabel})"), async {
                        crate::log::Int(w.get_message(&mut got, filter, lo, hi).await)
                    });
                    if r.0 != -1 {
                        log.note("message", msg_text(&windows, &got));
                        last = Some(got);
                    }
                }
            }
            11 => {
                let Some(msg) = last.take() else { continue };
                let what = format!("DispatchMessage({})", msg_text(&windows, &msg));
                call!(w, log, &what, async { crate::log::Lresult(w.dispatch_message(&msg).await) });
            }
            12 => {
                let Some(i) = window(&mut rng) else { continue };
                let ok = call!(w, log, &format!("DestroyWindow(win{i})"), w.destroy_window(made[i].0));
                if ok != FALSE {
                    made[i].1 = true;
                }
            }
            _ => {
                let Some(i) = window(&mut rng) else { continue };
                call!(w, log, &format!("IsWindow(win{i})"), w.is_window(made[i].0));
            }
        }
    }
    // Unlogged: the windows go, then the class, so the native run's process keeps nothing.
    for (h, destroyed) in made {
        if !destroyed {
            w.destroy_window(h).await;
        }
    }
    w.unregister_class(&class).await;
}

/// One section handle a section case made.
struct SectionSlot {
    h: HANDLE,
    /// The section (slots of one section share it).
    section: usize,
    /// Made by OpenFileMapping, or by a CreateFileMapping that opened an existing name.
    opened: bool,
    closed: Option<usize>,
}

/// What the case knows of a section: its size, whether its pages are left uncommitted,
/// and whether it was made writable (PAGE_READWRITE or PAGE_EXECUTE_READWRITE).
struct SectionInfo {
    size: u32,
    reserved: bool,
    writable: bool,
    /// Made with an execute protection.
    executable: bool,
}

/// One view a section case mapped.
struct View {
    addr: usize,
    section: usize,
    /// The access it was mapped with.
    access: u32,
    /// Its offset in the section.
    offset: u32,
    /// Written through (a copy-on-write view's written page is private from then on).
    written: bool,
    /// `Some(n)`: unmapped when `n` views had been mapped. Its address is used again only
    /// until the next view is mapped, which may take the same address (in one backend and
    /// not the other).
    unmapped: Option<usize>,
}

/// The protections a section is made with, and their labels.
const PROTECTIONS: [(u32, &str); 7] = [
    (PAGE_READWRITE, "PAGE_READWRITE"),
    (PAGE_READWRITE, "PAGE_READWRITE"),
    (PAGE_READONLY, "PAGE_READONLY"),
    (PAGE_WRITECOPY, "PAGE_WRITECOPY"),
    (PAGE_EXECUTE_READ, "PAGE_EXECUTE_READ"),
    (PAGE_EXECUTE_READWRITE, "PAGE_EXECUTE_READWRITE"),
    (PAGE_NOACCESS, "PAGE_NOACCESS"),
];

/// The accesses a view is mapped with (and a section opened with), and their labels.
const MAP_ACCESS: [(u32, &str); 7] = [
    (FILE_MAP_READ, "FILE_MAP_READ"),
    (FILE_MAP_WRITE, "FILE_MAP_WRITE"),
    (FILE_MAP_ALL_ACCESS, "FILE_MAP_ALL_ACCESS"),
    (FILE_MAP_COPY, "FILE_MAP_COPY"),
    (FILE_MAP_READ | FILE_MAP_WRITE, "FILE_MAP_READ|FILE_MAP_WRITE"),
    (FILE_MAP_EXECUTE | FILE_MAP_READ, "FILE_MAP_EXECUTE|FILE_MAP_READ"),
    (0, "0"),
];

/// A generated section case: `OPS` calls drawn from `seed` on pagefile-backed sections
/// and their views: CreateFileMapping of every protection (PAGE_NOACCESS and a size of 0
/// fail), sizes around the 64 KiB granularity, SEC_RESERVE, named sections (an existing
/// name keeps its size) and OpenFileMapping, MapViewOfFile of every access at aligned,
/// unaligned and past-the-end offsets and sizes, reads and writes through the views (one
/// section's views see each other's writes, a FILE_MAP_COPY view keeps its own),
/// VirtualQuery of a view, UnmapViewOfFile (at the base, inside, twice), CloseHandle
/// (views outlive their handles).
///
/// Memory is touched only where it is there on Windows: the first 8 bytes of a view the
/// call mapped inside a section made without SEC_RESERVE, read through any view and written
/// through one mapped with write or copy access of a section made writable (an access
/// violation would end the native run).
pub async fn random_sections<W: Win32>(w: W, log: Log, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EC7);
    let names = [format!("winsim-diff-random-section-{seed}-a"), format!("winsim-diff-random-section-{seed}-b")];
    let mut slots: Vec<SectionSlot> = Vec::new();
    let mut sections: Vec<SectionInfo> = Vec::new();
    let mut views: Vec<View> = Vec::new();
    // The section each name names, while it has a handle open (as the case knows it).
    let mut named: [Option<usize>; 2] = [None, None];
    let mut made = 0usize;
    for _ in 0..OPS {
        let usable: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].closed.is_none_or(|n| n == made)).collect();
        let live_views: Vec<usize> = (0..views.len()).filter(|&v| views[v].unmapped.is_none()).collect();
        let addressable: Vec<usize> =
            (0..views.len()).filter(|&v| views[v].unmapped.is_none_or(|n| n == views.len())).collect();
        match rng.below(12) {
            0 | 1 => {
                let (protect, protect_name) = rng.pick(&PROTECTIONS);
                let reserve = rng.below(6) == 0;
                let size = rng.pick(&[0x1000u32, 0x3000, 0x10000, 0x10001, 0x20000, 0]);
                let name = if rng.below(3) == 0 { Some(rng.below(2)) } else { None };
                let what = format!(
                    "CreateFileMapping({protect_name}{}, {size:#x}{})",
                    if reserve { "|SEC_RESERVE" } else { "" },
                    name_tag(name)
                );
                let flags = protect | if reserve { SEC_RESERVE } else { 0 };
                let text = name.map(|n| names[n].clone());
                let h = call!(
                    w,
                    log,
                    &what,
                    w.create_file_mapping(INVALID_HANDLE_VALUE, None, flags, 0, size, text.as_deref())
                );
                if h.is_null() {
                    continue;
                }
                let existing = w.get_last_error() == ERROR_ALREADY_EXISTS.0;
                // A create of a name that exists opens that section: its handle counts as an
                // opened one (below).
                let opened = name.is_some() && existing;
                let section = match (name, existing) {
                    (Some(n), true) if named[n].is_some() => named[n].expect("checked"),
                    _ => {
                        sections.push(SectionInfo {
                            size,
                            reserved: reserve,
                            writable: matches!(protect, PAGE_READWRITE | PAGE_EXECUTE_READWRITE),
                            executable: matches!(protect, PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE),
                        });
                        sections.len() - 1
                    }
                };
                if let Some(n) = name {
                    named[n] = Some(section);
                }
                slots.push(SectionSlot { h, section, opened, closed: None });
                made += 1;
            }
            2 => {
                let n = rng.below(2);
                // Not access 0: Windows refuses to open an object with no access (as OpenMutex
                // does, docs/semantics.md §12.2, §19.4), Wine 8.0 opens the section, and the
                // handles would part.
                let (access, access_name) = rng.pick(&MAP_ACCESS[..6]);
                let what = format!("OpenFileMapping({access_name}{})", name_tag(Some(n)));
                let h = call!(w, log, &what, w.open_file_mapping(access, false, Some(&names[n])));
                if let (false, Some(section)) = (h.is_null(), named[n]) {
                    slots.push(SectionSlot { h, section, opened: true, closed: None });
                    made += 1;
                }
            }
            3..=5 => {
                if usable.is_empty() {
                    continue;
                }
                let i = usable[rng.below(usable.len())];
                let (access, access_name) = rng.pick(&MAP_ACCESS[..6]);
                // Not a view the section's protection cannot grant (write access to a section
                // not made writable, execute access to one not made executable) through an
                // opened handle or of a SEC_RESERVE section: Windows refuses it
                // (docs/semantics.md §19.11), Wine 8.0 maps it there, and the views would
                // part. Through the creating handle of a committed section both refuse it.
                let info = &sections[slots[i].section];
                let exceeds = (access & FILE_MAP_WRITE != 0 && !info.writable)
                    || (access & FILE_MAP_EXECUTE != 0 && !info.executable);
                if exceeds && (slots[i].opened || info.reserved) {
                    continue;
                }
                let offset = rng.pick(&[0u32, 0, 0x1000, 0x10000, 0x20000]);
                let size = rng.pick(&[0usize, 0, 1, 0x1000, 0x2000, 0x30000]);
                let what = format!("MapViewOfFile(s{i}, {access_name}, {offset:#x}, {size:#x})");
                let addr = call!(w, log, &what, w.map_view_of_file(slots[i].h, access, 0, offset, size));
                if addr != 0 {
                    views.push(View {
                        addr,
                        section: slots[i].section,
                        access,
                        offset,
                        written: false,
                        unmapped: None,
                    });
                    log.note("view", format!("v{}", views.len() - 1));
                }
            }
            6 | 7 => {
                if live_views.is_empty() {
                    continue;
                }
                let v = live_views[rng.below(live_views.len())];
                let view = &views[v];
                // Every access the case maps with gives readable pages (FILE_MAP_WRITE maps
                // them read-write); write and copy access give writable ones. Writes go only
                // to views of writable sections: a copy-on-write view of a read-only section
                // is writable on Windows, but Wine 8.0 faults on the store (seen: the native
                // run died), and a fault ends the native run.
                let writable = view.access & (FILE_MAP_WRITE | FILE_MAP_COPY) != 0 && sections[view.section].writable;
                // Only a view that starts inside its section: Wine 8.0 maps one past the end
                // (Windows refuses it, native/manifest.txt), and touching it faults.
                if sections[view.section].reserved || view.offset >= sections[view.section].size {
                    continue;
                }
                if rng.coin() && writable {
                    let data: Vec<u8> = (0..4).map(|k| b'a' + ((v + k + rng.below(20)) % 26) as u8).collect();
                    log.note(&format!("write v{v}"), render_bytes(&data));
                    w.write_memory(view.addr, &data).await;
                    views[v].written = true;
                } else {
                    let mut buf = [0u8; 8];
                    w.read_memory(view.addr, &mut buf).await;
                    log.note(&format!("read v{v}"), render_bytes(&buf));
                }
            }
            8 => {
                if live_views.is_empty() {
                    continue;
                }
                let v = live_views[rng.below(live_views.len())];
                // Not a copy-on-write view written through: its written page is private and
                // PAGE_READWRITE on Windows (Microsoft Learn, Memory Protection Constants;
                // docs/semantics.md §29.12), Wine 8.0 still reports PAGE_WRITECOPY (and one
                // region where Windows has two).
                if views[v].written && views[v].access == FILE_MAP_COPY {
                    continue;
                }
                let mut m = MEMORY_BASIC_INFORMATION::default();
                let n = call!(w, log, &format!("VirtualQuery(v{v})"), async {
                    crate::log::Size(
                        w.virtual_query(views[v].addr, &mut m, std::mem::size_of::<MEMORY_BASIC_INFORMATION>()).await,
                    )
                });
                if n.0 != 0 {
                    // The view's region relative to its base (addresses differ between the
                    // backends); its current protection on a line of its own.
                    let base = views[v].addr as i64;
                    log.note(
                        &format!("v{v} region"),
                        format!(
                            "base {:+#x} allocation base {:+#x} size {:#x} state {:#x} allocation protect {:#x} type {:#x}",
                            m.BaseAddress as i64 - base,
                            m.AllocationBase as i64 - base,
                            m.RegionSize,
                            m.State,
                            m.AllocationProtect,
                            m.Type
                        ),
                    );
                    log.note(&format!("v{v} protect"), format!("{:#x}", m.Protect));
                }
            }
            9 => {
                if addressable.is_empty() {
                    continue;
                }
                // Usually a live view, at its base or inside it; sometimes one just unmapped.
                let v = if !live_views.is_empty() && rng.below(4) != 0 {
                    live_views[rng.below(live_views.len())]
                } else {
                    addressable[rng.below(addressable.len())]
                };
                let inside = rng.below(3) == 0;
                let what = format!("UnmapViewOfFile(v{v}{})", if inside { " + 0x10" } else { "" });
                let ok = call!(w, log, &what, w.unmap_view_of_file(views[v].addr + if inside { 0x10 } else { 0 }));
                if ok != FALSE {
                    views[v].unmapped = Some(views.len());
                }
            }
            _ => {
                if usable.is_empty() {
                    continue;
                }
                let i = usable[rng.below(usable.len())];
                let ok = call!(w, log, &format!("CloseHandle(s{i})"), w.close_handle(slots[i].h));
                if ok != FALSE {
                    slots[i].closed = Some(made);
                    // The name goes with the section's last handle; views do not keep it.
                    let section = slots[i].section;
                    if !slots.iter().any(|s| s.section == section && s.closed.is_none()) {
                        for n in named.iter_mut() {
                            if *n == Some(section) {
                                *n = None;
                            }
                        }
                    }
                }
            }
        }
    }
    for v in &views {
        if v.unmapped.is_none() {
            w.unmap_view_of_file(v.addr).await;
        }
    }
    for s in &slots {
        if s.closed.is_none() {
            w.close_handle(s.h).await;
        }
    }
}

/// One reservation a memory case made, page by page as the case knows it.
struct Region {
    base: usize,
    /// Each page: `None` reserved, `Some(protect)` committed with that protection.
    pages: Vec<Option<u32>>,
    /// Pages were decommitted: Wine 8.0 reports such a region's extent differently
    /// (native/manifest.txt, virtual_memory), so it is no longer queried.
    decommitted: bool,
    /// `Some(n)`: released when `n` reservations had been made (its address is used again
    /// only until the next one, which may take it).
    released: Option<usize>,
}

const PAGE: usize = 0x1000;

/// The protections a memory case asks for, and their labels.
const VM_PROTECT: [(u32, &str); 7] = [
    (PAGE_READWRITE, "PAGE_READWRITE"),
    (PAGE_READWRITE, "PAGE_READWRITE"),
    (PAGE_READONLY, "PAGE_READONLY"),
    (PAGE_NOACCESS, "PAGE_NOACCESS"),
    (PAGE_EXECUTE_READWRITE, "PAGE_EXECUTE_READWRITE"),
    (PAGE_EXECUTE_READ, "PAGE_EXECUTE_READ"),
    (PAGE_WRITECOPY, "PAGE_WRITECOPY"),
];

/// A generated memory case: `OPS` calls drawn from `seed` on private memory: VirtualAlloc
/// reserving, committing at once, and committing pages inside a reservation (sizes and
/// addresses on and off page boundaries, PAGE_WRITECOPY and a size of 0 refused),
/// VirtualProtect (the old protection of the first page; a range with a reserved page
/// refused), VirtualFree (MEM_DECOMMIT of pages, MEM_RELEASE at the base with size 0, and
/// the refused forms: a size with MEM_RELEASE, not at the base, twice), VirtualQuery, and
/// reads and writes of committed pages (fresh pages read as zeros, a decommitted and
/// recommitted page too).
///
/// Memory is touched only where the case's own account of its pages says it is committed
/// with a protection that allows the access, kept from the calls that succeeded in this
/// backend (an access violation would end the native run).
pub async fn random_memory<W: Win32>(w: W, log: Log, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0xE703_7ED1_A0B4_28DB) ^ 0x7E77);
    let mut regions: Vec<Region> = Vec::new();
    let readable = |p: u32| matches!(p, PAGE_READONLY | PAGE_READWRITE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE);
    let writable = |p: u32| matches!(p, PAGE_READWRITE | PAGE_EXECUTE_READWRITE);
    for _ in 0..OPS {
        let reservations = regions.len();
        let usable: Vec<usize> =
            (0..regions.len()).filter(|&r| regions[r].released.is_none_or(|n| n == reservations)).collect();
        let live: Vec<usize> = (0..regions.len()).filter(|&r| regions[r].released.is_none()).collect();
        let make = live.is_empty() || rng.below(6) == 0;
        if make {
            let size = rng.pick(&[0usize, 0x1000, 0x3000, 0x10000, 0x12345]);
            let (kind, kind_name) = rng.pick(&[
                (MEM_RESERVE, "MEM_RESERVE"),
                (MEM_RESERVE | MEM_COMMIT, "MEM_RESERVE|MEM_COMMIT"),
                (MEM_COMMIT, "MEM_COMMIT"),
            ]);
            let (protect, protect_name) = rng.pick(&VM_PROTECT);
            let what = format!("VirtualAlloc(NULL, {size:#x}, {kind_name}, {protect_name})");
            let base = call!(w, log, &what, w.virtual_alloc(0, size, kind, protect));
            if base != 0 {
                let pages = size.div_ceil(PAGE);
                let state = if kind & MEM_COMMIT != 0 { Some(protect) } else { None };
                log.note("region", format!("m{}", regions.len()));
                regions.push(Region { base, pages: vec![state; pages], decommitted: false, released: None });
            }
            continue;
        }
        let r = if rng.below(8) == 0 { usable[rng.below(usable.len())] } else { live[rng.below(live.len())] };
        let n = regions[r].pages.len();
        // A page of the region, and a length of one to three pages (sometimes off the page
        // boundaries, or running past the end).
        let page = rng.below(n.max(1));
        let off = page * PAGE + if rng.below(5) == 0 { 0x800 } else { 0 };
        let len = rng.pick(&[PAGE, PAGE, 2 * PAGE, 3 * PAGE, 0x10]);
        let first = off / PAGE;
        let last = ((off + len).div_ceil(PAGE)).min(n.max(1));
        let base = regions[r].base;
        match rng.below(10) {
            0 | 1 => {
                let (protect, protect_name) = rng.pick(&VM_PROTECT);
                let what = format!("VirtualAlloc(m{r}+{off:#x}, {len:#x}, MEM_COMMIT, {protect_name})");
                let a = call!(w, log, &what, w.virtual_alloc(base + off, len, MEM_COMMIT, protect));
                if a != 0 {
                    log.note("at the page", a == base + first * PAGE);
                    for p in first..last.min(n) {
                        regions[r].pages[p] = Some(protect);
                    }
                }
            }
            2 | 3 => {
                let (protect, protect_name) = rng.pick(&VM_PROTECT);
                let mut old = 0xdead_u32;
                let what = format!("VirtualProtect(m{r}+{off:#x}, {len:#x}, {protect_name})");
                let ok = call!(w, log, &what, w.virtual_protect(base + off, len, protect, &mut old));
                log.note("old protection", format!("{old:#x}"));
                if ok != FALSE {
                    for p in first..last.min(n) {
                        regions[r].pages[p] = Some(protect);
                    }
                }
            }
            4 => {
                let what = format!("VirtualFree(m{r}+{off:#x}, {len:#x}, MEM_DECOMMIT)");
                let ok = call!(w, log, &what, w.virtual_free(base + off, len, MEM_DECOMMIT));
                if ok != FALSE {
                    for p in first..last.min(n) {
                        regions[r].pages[p] = None;
                    }
                    regions[r].decommitted = true;
                }
            }
            5 => {
                // At the base with size 0 (the one form that releases), or a refused form.
                let (at, size, label) = match rng.below(4) {
                    0 => (base + PAGE, 0, "+0x1000, 0"),
                    1 => (base, n * PAGE, "+0x0, its size"),
                    _ => (base, 0, "+0x0, 0"),
                };
                let what = format!("VirtualFree(m{r}{label}, MEM_RELEASE)");
                let ok = call!(w, log, &what, w.virtual_free(at, size, MEM_RELEASE));
                if ok != FALSE && regions[r].released.is_none() {
                    regions[r].released = Some(regions.len());
                }
            }
            6 => {
                if regions[r].decommitted || regions[r].released.is_some() {
                    continue;
                }
                let mut m = MEMORY_BASIC_INFORMATION::default();
                let n = call!(w, log, &format!("VirtualQuery(m{r}+{off:#x})"), async {
                    crate::log::Size(
                        w.virtual_query(base + off, &mut m, std::mem::size_of::<MEMORY_BASIC_INFORMATION>()).await,
                    )
                });
                if n.0 != 0 {
                    log.note(
                        &format!("m{r} region"),
                        format!(
                            "base {:+#x} allocation base {:+#x} size {:#x} state {:#x} protect {:#x} allocation protect {:#x} type {:#x}",
                            m.BaseAddress as i64 - base as i64,
                            m.AllocationBase as i64 - base as i64,
                            m.RegionSize,
                            m.State,
                            m.Protect,
                            m.AllocationProtect,
                            m.Type
                        ),
                    );
                }
            }
            _ => {
                if regions[r].released.is_some() || n == 0 {
                    continue;
                }
                let Some(protect) = regions[r].pages[page] else { continue };
                let at = base + page * PAGE + 0x10;
                if rng.coin() && writable(protect) {
                    let data: Vec<u8> = (0..4).map(|k| b'A' + ((r + page + k + rng.below(9)) % 26) as u8).collect();
                    log.note(&format!("write m{r}+{:#x}", page * PAGE + 0x10), render_bytes(&data));
                    w.write_memory(at, &data).await;
                } else if readable(protect) {
                    let mut buf = [0u8; 4];
                    w.read_memory(at, &mut buf).await;
                    log.note(&format!("read m{r}+{:#x}", page * PAGE + 0x10), render_bytes(&buf));
                }
            }
        }
    }
    for r in &regions {
        if r.released.is_none() {
            w.virtual_free(r.base, 0, MEM_RELEASE).await;
        }
    }
}

/// What an async case's slot is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AsyncKind {
    /// An I/O completion port.
    Port,
    /// A manual-reset event (something to wait on, and a handle of the wrong type).
    Event,
    /// A waitable timer: the timer object's index in the case.
    Timer(usize),
    /// A named pipe's server end: the pipe's index, and whether it was opened with
    /// FILE_FLAG_OVERLAPPED.
    Server(usize, bool),
    /// A named pipe's client end.
    Client(usize, bool),
}

impl AsyncKind {
    fn letter(self) -> &'static str {
        match self {
            AsyncKind::Port => "p",
            AsyncKind::Event => "e",
            AsyncKind::Timer(_) => "t",
            AsyncKind::Server(..) => "server",
            AsyncKind::Client(..) => "client",
        }
    }

    /// The pipe and the direction (0: towards the server, 1: towards the client) a write
    /// through this end goes.
    fn direction(self) -> Option<(usize, usize)> {
        match self {
            AsyncKind::Server(p, _) => Some((p, 1)),
            AsyncKind::Client(p, _) => Some((p, 0)),
            _ => None,
        }
    }
}

/// One handle an async case made.
struct AsyncSlot {
    h: HANDLE,
    kind: AsyncKind,
    closed: Option<usize>,
    /// Associated with a port (as the case knows it).
    associated: bool,
}

/// What an async case knows of a waitable timer.
struct TimerInfo {
    manual: bool,
    /// Possibly signalled: set with a due time already passed and not yet waited on
    /// (a synchronization timer) since. Such a timer is never set again: Windows makes it
    /// nonsignalled, Wine 8.0 does not (native/manifest.txt, waitable_timers), and the
    /// states would part.
    signalled: bool,
}

/// The accesses an async case opens a timer with, and their labels.
const TIMER_ACCESS: [(u32, &str); 4] = [
    (TIMER_ALL_ACCESS, "TIMER_ALL_ACCESS"),
    (TIMER_MODIFY_STATE | SYNCHRONIZE, "TIMER_MODIFY_STATE|SYNCHRONIZE"),
    (SYNCHRONIZE, "SYNCHRONIZE"),
    (TIMER_QUERY_STATE, "TIMER_QUERY_STATE"),
];

/// A user APC of an async case: logs its data; `chain` makes it queue one more APC (data
/// + 100) to its own thread from inside, which the same alertable wait runs (§16.36).
fn async_apc<W: Win32>(log: &Log, chain: bool) -> sim_core::backend::ApcRoutine<W> {
    let log = log.clone();
    Box::new(move |w: W, data: usize| {
        Box::pin(async move {
            log.note("APC", format!("data {data}"));
            if chain {
                let r = w.queue_user_apc(async_apc::<W>(&log, false), CURRENT_THREAD_PSEUDO_HANDLE, data + 100).await;
                log.note("APC queued from an APC", r != 0);
            }
        })
    })
}

/// A generated case of asynchronous notifications, on one thread: I/O completion ports
/// (CreateIoCompletionPort making a port and associating files, overlapped and not, and
/// handles of other types; PostQueuedCompletionStatus; GetQueuedCompletionStatus at
/// time-out 0 on empty and non-empty ports, closed handles and handles of other types),
/// overlapped ReadFile and WriteFile on named pipes that complete at once (their packets
/// on an associated port), QueueUserAPC to the thread itself (an APC that queues another)
/// and to handles of other types, SleepEx(0) and WaitForSingleObjectEx /
/// WaitForMultipleObjectsEx at time-out 0, alertable or not (APCs run oldest first and
/// give WAIT_IO_COMPLETION; a non-alertable wait leaves them queued; a signalled object
/// wins over them), waitable timers (manual and synchronization, named, OpenWaitableTimer
/// with four accesses, SetWaitableTimer with a due time passed or an hour away, a period
/// of an hour, a completion routine, CancelWaitableTimer), SetEvent/ResetEvent, and an
/// SRW lock's try-acquires on the thread that holds it.
///
/// Nothing depends on timing: every wait has a time-out of 0, a timer is due either
/// before the call (due time 0, absolute: 1601) or an hour later, with a period of 0 or
/// an hour; pipe reads are made only after PeekNamedPipe through the same handle found
/// bytes (or failed), and at most `PIPE_BYTES` bytes go each way of a pipe, far below its
/// 1024-byte buffer, so every read and write completes in the call; an SRW lock is
/// acquired without "Try" only when the case holds nothing of it. The last call is an
/// alertable SleepEx(0), so both backends run what is still queued.
pub async fn random_async<W: Win32>(w: W, log: Log, seed: u64) {
    use std::sync::Arc;
    let mut rng = Rng(seed.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ 0xA5C0);
    let names = [format!("winsim-diff-random-async-{seed}-a"), format!("winsim-diff-random-async-{seed}-b")];
    let pipe_name = |k: usize| format!(r"\\.\pipe\winsim-diff-random-async-{seed}-{k}");
    let mut slots: Vec<AsyncSlot> = Vec::new();
    let mut timers: Vec<TimerInfo> = Vec::new();
    // The timer object each name names while a handle to it is open.
    let mut named: [Option<usize>; 2] = [None, None];
    let mut made = 0usize;
    let mut pipes = 0usize;
    // Bytes written each way of each pipe.
    let mut written: Vec<[u32; 2]> = Vec::new();
    let ovs: Vec<W::Overlapped> = (0..3).map(|_| w.new_overlapped(HANDLE::NULL)).collect();
    let ov_label = |w: &W, o: &Option<W::Overlapped>| match o {
        None => "none".to_string(),
        Some(x) => match ovs.iter().position(|y| w.same_overlapped(x, y)) {
            Some(i) => format!("o{i}"),
            None => "another".to_string(),
        },
    };
    let mut apcs = 0usize;
    let srw = w.new_srw_lock();
    let (mut shared, mut exclusive) = (0u32, false);
    let routine_log = log.clone();
    let routine: sim_core::backend::TimerRoutine<W> = Arc::new(move |_w: W, _low, _high| {
        let l = routine_log.clone();
        Box::pin(async move { l.note("timer routine", "run") })
    });
    let label = |slots: &[AsyncSlot], i: usize| format!("{}{i}", slots[i].kind.letter());
    for _ in 0..OPS {
        let usable: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].closed.is_none_or(|n| n == made)).collect();
        let pick_kind = |rng: &mut Rng, f: &dyn Fn(AsyncKind) -> bool| -> Option<usize> {
            let of: Vec<usize> = usable.iter().copied().filter(|&i| f(slots[i].kind)).collect();
            if of.is_empty() { None } else { Some(of[rng.below(of.len())]) }
        };
        let any = |rng: &mut Rng| -> Option<usize> {
            if usable.is_empty() { None } else { Some(usable[rng.below(usable.len())]) }
        };
        let make = usable.len() < 3 || rng.below(6) == 0;
        if make {
            let mut new: Vec<(HANDLE, AsyncKind)> = Vec::new();
            let open_ports = slots.iter().filter(|s| s.kind == AsyncKind::Port && s.closed.is_none()).count();
            match rng.below(7) {
                // At most two ports open: packets go to few ports, and the case looks there.
                0 if open_ports < 2 => {
                    let n = rng.pick(&[0u32, 1, 4]);
                    let h = call!(
                        w,
                        log,
                        &format!("CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, {n})"),
                        w.create_io_completion_port(INVALID_HANDLE_VALUE, HANDLE::NULL, 0, n)
                    );
                    new.push((h, AsyncKind::Port));
                }
                1 => {
                    let initial = rng.coin();
                    let h = call!(
                        w,
                        log,
                        &format!("CreateEvent(manual, {})", if initial { "set" } else { "unset" }),
                        w.create_event(None, true, initial, None)
                    );
                    new.push((h, AsyncKind::Event));
                }
                2 => {
                    let manual = rng.coin();
                    let name = if rng.coin() { Some(rng.below(2)) } else { None };
                    let text = name.map(|n| names[n].clone());
                    let what = format!(
                        "CreateWaitableTimer({}{})",
                        if manual { "manual" } else { "synchronization" },
                        name_tag(name)
                    );
                    let h = call!(w, log, &what, w.create_waitable_timer(None, manual, text.as_deref()));
                    if !h.is_null() {
                        let existing = w.get_last_error() == ERROR_ALREADY_EXISTS.0;
                        let t = match name.and_then(|n| named[n]) {
                            Some(t) if existing => t,
                            _ => {
                                timers.push(TimerInfo { manual, signalled: false });
                                timers.len() - 1
                            }
                        };
                        if let Some(n) = name {
                            named[n] = Some(t);
                        }
                        new.push((h, AsyncKind::Timer(t)));
                    }
                }
                3 => {
                    let n = rng.below(2);
                    let (access, access_name) = rng.pick(&TIMER_ACCESS);
                    let what = format!("OpenWaitableTimer({access_name}{})", name_tag(Some(n)));
                    let h = call!(w, log, &what, w.open_waitable_timer(access, false, Some(&names[n])));
                    if let (false, Some(t)) = (h.is_null(), named[n]) {
                        new.push((h, AsyncKind::Timer(t)));
                    }
                }
                _ => {
                    // A pipe: its server and a client, each overlapped or not.
                    let k = pipes;
                    pipes += 1;
                    written.push([0, 0]);
                    let (sov, cov) = (rng.below(6) != 0, rng.below(6) != 0);
                    let tag = |ov: bool| if ov { "overlapped" } else { "synchronous" };
                    let s = call!(
                        w,
                        log,
                        &format!("CreateNamedPipe(pipe{k}, {})", tag(sov)),
                        w.create_named_pipe(
                            &pipe_name(k),
                            PIPE_ACCESS_DUPLEX | if sov { FILE_FLAG_OVERLAPPED } else { 0 },
                            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                            1,
                            1024,
                            1024,
                            0,
                            None
                        )
                    );
                    let c = call!(
                        w,
                        log,
                        &format!("CreateFile(pipe{k}, {})", tag(cov)),
                        w.create_file(
                            &pipe_name(k),
                            GENERIC_READ | GENERIC_WRITE,
                            0,
                            None,
                            OPEN_EXISTING,
                            if cov { FILE_FLAG_OVERLAPPED } else { 0 },
                            HANDLE::NULL
                        )
                    );
                    new.push((s, AsyncKind::Server(k, sov)));
                    new.push((c, AsyncKind::Client(k, cov)));
                }
            }
            for (h, kind) in new {
                if !h.is_null() && h != INVALID_HANDLE_VALUE {
                    slots.push(AsyncSlot { h, kind, closed: None, associated: false });
                    made += 1;
                    log.note("slot", label(&slots, slots.len() - 1));
                }
            }
            continue;
        }
        match rng.below(23) {
            0 | 1 | 21 => {
                // Associate a handle (usually an overlapped pipe end not yet associated) with
                // a port (usually a port).
                let fresh: Vec<usize> = usable
                    .iter()
                    .copied()
                    .filter(|&i| {
                        matches!(slots[i].kind, AsyncKind::Server(_, true) | AsyncKind::Client(_, true))
                            && !slots[i].associated
                            && slots[i].closed.is_none()
                    })
                    .collect();
                let Some(i) = (if !fresh.is_empty() && rng.below(4) != 0 {
                    Some(fresh[rng.below(fresh.len())])
                } else {
                    any(&mut rng)
                }) else {
                    continue;
                };
                let key = rng.pick(&[1usize, 2, 7]);
                let (port, plabel) = match rng.below(6) {
                    0 => (HANDLE::NULL, "NULL".to_string()),
                    1 => match any(&mut rng) {
                        Some(j) => (slots[j].h, label(&slots, j)),
                        None => continue,
                    },
                    _ => match pick_kind(&mut rng, &|k| k == AsyncKind::Port) {
                        Some(j) => (slots[j].h, label(&slots, j)),
                        None => (HANDLE::NULL, "NULL".to_string()),
                    },
                };
                let what = format!("CreateIoCompletionPort({}, {plabel}, key {key}, 0)", label(&slots, i));
                let h = call!(w, log, &what, w.create_io_completion_port(slots[i].h, port, key, 0));
                if !h.is_null() {
                    slots[i].associated = true;
                    if port.is_null() {
                        slots.push(AsyncSlot { h, kind: AsyncKind::Port, closed: None, associated: false });
                        made += 1;
                        log.note("slot", label(&slots, slots.len() - 1));
                    } else {
                        log.note("returns the port", h == port);
                    }
                }
            }
            2 => {
                if rng.coin() {
                    continue;
                }
                let Some(j) = pick_kind(&mut rng, &|k| k == AsyncKind::Port) else { continue };
                let what = format!("CreateIoCompletionPort(INVALID_HANDLE_VALUE, {}, key 3, 0)", label(&slots, j));
                call!(w, log, &what, w.create_io_completion_port(INVALID_HANDLE_VALUE, slots[j].h, 3, 0));
            }
            3..=5 => {
                let Some(i) =
                    (if rng.below(5) != 0 { pick_kind(&mut rng, &|k| k == AsyncKind::Port) } else { any(&mut rng) })
                else {
                    continue;
                };
                let bytes = rng.pick(&[0u32, 5, 1000]);
                let key = rng.pick(&[0usize, 9, 0xffff]);
                let o = rng.below(4);
                let what = format!(
                    "PostQueuedCompletionStatus({}, {bytes}, key {key}, {})",
                    label(&slots, i),
                    if o == 3 { "NULL".to_string() } else { format!("o{o}") }
                );
                call!(w, log, &what, w.post_queued_completion_status(slots[i].h, bytes, key, ovs.get(o)));
            }
            6..=8 => {
                // Usually a port still open.
                let open: Vec<usize> = usable
                    .iter()
                    .copied()
                    .filter(|&i| slots[i].kind == AsyncKind::Port && slots[i].closed.is_none())
                    .collect();
                let i = if !open.is_empty() && rng.below(6) != 0 {
                    open[rng.below(open.len())]
                } else {
                    match any(&mut rng) {
                        Some(i) => i,
                        None => continue,
                    }
                };
                let (mut n, mut key) = (0xffu32, 0xffusize);
                let mut o = None;
                let what = format!("GetQueuedCompletionStatus({}, 0 ms)", label(&slots, i));
                call!(w, log, &what, w.get_queued_completion_status(slots[i].h, &mut n, &mut key, &mut o, 0));
                log.note("packet", format!("bytes {n} key {key} overlapped {}", ov_label(&w, &o)));
            }
            9 | 10 => {
                // An overlapped write that fits: it completes in the call.
                let Some(i) = pick_kind(&mut rng, &|k| k.direction().is_some()) else { continue };
                let (p, d) = slots[i].kind.direction().expect("a pipe end");
                let len = rng.pick(&[1u32, 3, 8]);
                if written[p][d] + len > PIPE_BYTES {
                    continue;
                }
                let o = rng.below(3);
                let data: Vec<u8> = (0..len).map(|k| b'a' + ((k as usize + i + o) % 26) as u8).collect();
                let mut done = 0xffu32;
                let what = format!("WriteFile({}, {len}, o{o})", label(&slots, i));
                let ok = call!(w, log, &what, w.write_file_overlapped(slots[i].h, &data, Some(&mut done), &ovs[o]));
                log.note("written", done);
                if ok != FALSE {
                    written[p][d] += len;
                }
                if rng.coin() {
                    let mut n = 0xffu32;
                    let what = format!("GetOverlappedResult({}, o{o}, no wait)", label(&slots, i));
                    call!(w, log, &what, w.get_overlapped_result(slots[i].h, &ovs[o], &mut n, false));
                    log.note("bytes", n);
                }
            }
            11 | 12 => {
                // An overlapped read, only where PeekNamedPipe through the same handle found
                // bytes or failed: it completes (or fails) in the call.
                let Some(i) = pick_kind(&mut rng, &|k| k.direction().is_some()) else { continue };
                let l = label(&slots, i);
                if !may_read(&w, &log, slots[i].h, &l).await {
                    continue;
                }
                let o = rng.below(3);
                let len = rng.pick(&[1usize, 4, 16]);
                let buf = w.new_io_buffer(len);
                let mut got = 0xffu32;
                let what = format!("ReadFile({l}, {len}, o{o})");
                let ok = call!(w, log, &what, w.read_file_overlapped(slots[i].h, &buf, Some(&mut got), &ovs[o]));
                log.note("read", got);
                if ok != FALSE {
                    log.note("data", render_bytes(&w.io_buffer_head(&buf, got as usize)));
                }
            }
            13 | 14 => {
                // To the thread itself (the pseudo handle), now and then to another handle.
                let (h, target) = if rng.below(6) == 0 {
                    match any(&mut rng) {
                        Some(j) => (slots[j].h, label(&slots, j)),
                        None => continue,
                    }
                } else {
                    (CURRENT_THREAD_PSEUDO_HANDLE, "current thread".to_string())
                };
                apcs += 1;
                let chain = rng.below(4) == 0;
                let what = format!("QueueUserAPC({target}, {apcs}{})", if chain { ", queues another" } else { "" });
                call!(w, log, &what, async {
                    if w.queue_user_apc(async_apc::<W>(&log, chain), h, apcs).await != 0 { TRUE } else { FALSE }
                });
            }
            15 => {
                let alertable = rng.coin();
                let what = format!("SleepEx(0, {})", if alertable { "alertable" } else { "not alertable" });
                call!(w, log, &what, w.sleep_ex(0, alertable));
            }
            16 | 17 => {
                // Events and timers; now and then the thread itself (never signalled while it
                // runs).
                let alertable = rng.coin();
                let wait = |rng: &mut Rng| -> Option<usize> {
                    pick_kind(rng, &|k| matches!(k, AsyncKind::Event | AsyncKind::Timer(_)))
                };
                let alert = if alertable { "alertable" } else { "not alertable" };
                if rng.below(3) == 0 {
                    // Several, any or all (never one object twice in a wait-all: Windows fails
                    // it, Wine waits, native/manifest.txt sync_objects).
                    let all = rng.coin();
                    let (mut hs, mut ls, mut objs) = (Vec::new(), Vec::new(), Vec::new());
                    for _ in 0..1 + rng.below(3) {
                        let Some(j) = wait(&mut rng) else { continue };
                        let obj = match slots[j].kind {
                            AsyncKind::Timer(t) => t + 1_000_000,
                            _ => j,
                        };
                        if all && objs.contains(&obj) {
                            continue;
                        }
                        objs.push(obj);
                        hs.push(slots[j].h);
                        ls.push(j);
                    }
                    if hs.is_empty() {
                        continue;
                    }
                    let what = format!(
                        "WaitForMultipleObjectsEx({}; {}; 0; {alert})",
                        ls.iter().map(|&j| label(&slots, j)).collect::<Vec<_>>().join(", "),
                        if all { "all" } else { "any" }
                    );
                    let r = call!(w, log, &what, w.wait_for_multiple_objects_ex(&hs, all, 0, alertable));
                    // A synchronization timer the wait took is nonsignalled again.
                    let taken: Vec<usize> = if all && r == WAIT_OBJECT_0 {
                        ls.clone()
                    } else if !all && r < WAIT_OBJECT_0 + ls.len() as u32 {
                        vec![ls[r as usize]]
                    } else {
                        Vec::new()
                    };
                    for j in taken {
                        if let AsyncKind::Timer(t) = slots[j].kind
                            && !timers[t].manual
                        {
                            timers[t].signalled = false;
                        }
                    }
                } else {
                    let (h, l, j) = match wait(&mut rng) {
                        Some(j) if rng.below(8) != 0 => (slots[j].h, label(&slots, j), Some(j)),
                        _ => (CURRENT_THREAD_PSEUDO_HANDLE, "current thread".to_string(), None),
                    };
                    let what = format!("WaitForSingleObjectEx({l}, 0, {alert})");
                    let r = call!(w, log, &what, w.wait_for_single_object_ex(h, 0, alertable));
                    if let (WAIT_OBJECT_0, Some(AsyncKind::Timer(t))) = (r, j.map(|j| slots[j].kind))
                        && !timers[t].manual
                    {
                        timers[t].signalled = false;
                    }
                }
            }
            18 => {
                let Some(i) =
                    (if rng.below(6) != 0 { pick_kind(&mut rng, &|k| k == AsyncKind::Event) } else { any(&mut rng) })
                else {
                    continue;
                };
                if rng.coin() {
                    call!(w, log, &format!("SetEvent({})", label(&slots, i)), w.set_event(slots[i].h));
                } else {
                    call!(w, log, &format!("ResetEvent({})", label(&slots, i)), w.reset_event(slots[i].h));
                }
            }
            19 => {
                let Some(i) = (if rng.below(6) != 0 {
                    pick_kind(&mut rng, &|k| matches!(k, AsyncKind::Timer(_)))
                } else {
                    any(&mut rng)
                }) else {
                    continue;
                };
                let l = label(&slots, i);
                if rng.below(3) == 0 {
                    call!(w, log, &format!("CancelWaitableTimer({l})"), w.cancel_waitable_timer(slots[i].h));
                    continue;
                }
                if let AsyncKind::Timer(t) = slots[i].kind
                    && !timers[t].manual
                    && timers[t].signalled
                {
                    continue;
                }
                let passed = rng.coin();
                let period = rng.pick(&[0i32, 0, 3_600_000]);
                let with_routine = rng.below(3) == 0;
                let due = if passed { 0 } else { -3_600_000 * 10_000i64 };
                let what = format!(
                    "SetWaitableTimer({l}, {}, period {period}{})",
                    if passed { "due time passed" } else { "in an hour" },
                    if with_routine { ", routine" } else { "" }
                );
                let r = with_routine.then(|| routine.clone());
                let ok = call!(w, log, &what, w.set_waitable_timer(slots[i].h, due, period, r, false));
                if let (true, AsyncKind::Timer(t)) = (ok != FALSE, slots[i].kind) {
                    timers[t].signalled = passed;
                }
            }
            20 => {
                // The SRW lock, held or not by this thread.
                match rng.below(6) {
                    0 => {
                        let ok = call!(w, log, "TryAcquireSRWLockExclusive", w.try_acquire_srw_lock_exclusive(&srw));
                        exclusive |= ok != FALSE;
                    }
                    1 => {
                        let ok = call!(w, log, "TryAcquireSRWLockShared", w.try_acquire_srw_lock_shared(&srw));
                        shared += u32::from(ok != FALSE);
                    }
                    2 if !exclusive && shared == 0 => {
                        log.note("AcquireSRWLockExclusive", "free");
                        w.acquire_srw_lock_exclusive(&srw).await;
                        exclusive = true;
                    }
                    3 if !exclusive && shared == 0 => {
                        log.note("AcquireSRWLockShared", "free");
                        w.acquire_srw_lock_shared(&srw).await;
                        shared += 1;
                    }
                    _ if exclusive => {
                        log.note("ReleaseSRWLockExclusive", "held");
                        w.release_srw_lock_exclusive(&srw).await;
                        exclusive = false;
                    }
                    _ if shared > 0 => {
                        log.note("ReleaseSRWLockShared", shared);
                        w.release_srw_lock_shared(&srw).await;
                        shared -= 1;
                    }
                    _ => {}
                }
            }
            _ => {
                let Some(i) = any(&mut rng) else { continue };
                // A port is closed less often: its packets are what the case is about.
                if slots[i].kind == AsyncKind::Port && rng.coin() {
                    continue;
                }
                let ok = call!(w, log, &format!("CloseHandle({})", label(&slots, i)), w.close_handle(slots[i].h));
                if ok != FALSE {
                    slots[i].closed = Some(made);
                    if let AsyncKind::Timer(t) = slots[i].kind
                        && !slots.iter().any(|s| s.kind == AsyncKind::Timer(t) && s.closed.is_none())
                    {
                        for n in named.iter_mut() {
                            if *n == Some(t) {
                                *n = None;
                            }
                        }
                    }
                }
            }
        }
    }
    call!(w, log, "SleepEx(0, alertable, the end)", w.sleep_ex(0, true));
    // Unlogged: the lock released, every handle closed.
    if exclusive {
        w.release_srw_lock_exclusive(&srw).await;
    }
    for _ in 0..shared {
        w.release_srw_lock_shared(&srw).await;
    }
    for s in &slots {
        if s.closed.is_none() {
            w.close_handle(s.h).await;
        }
    }
}

/// The files of a file case, relative to its directory: two in it, one in `sub`.
const FILE_NAMES: [&str; 3] = ["a.txt", "b.txt", r"sub\c.txt"];

/// The directories of a file case, relative to its directory.
const DIR_NAMES: [&str; 2] = ["sub", "sub2"];

/// The accesses a file case opens with, and their labels.
const FILE_ACCESS: [(u32, &str); 6] = [
    (GENERIC_READ, "GENERIC_READ"),
    (GENERIC_WRITE, "GENERIC_WRITE"),
    (GENERIC_READ | GENERIC_WRITE, "GENERIC_READ|GENERIC_WRITE"),
    (GENERIC_READ | GENERIC_WRITE, "GENERIC_READ|GENERIC_WRITE"),
    (0, "0"),
    (FILE_APPEND_DATA, "FILE_APPEND_DATA"),
];

/// The share modes a file case opens with, and their labels.
const FILE_SHARE: [(u32, &str); 6] = [
    (0, "0"),
    (FILE_SHARE_READ, "R"),
    (FILE_SHARE_WRITE, "W"),
    (FILE_SHARE_READ | FILE_SHARE_WRITE, "RW"),
    (FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, "RWD"),
    (FILE_SHARE_DELETE, "D"),
];

/// The dispositions, and their labels.
const DISPOSITIONS: [(u32, &str); 5] = [
    (CREATE_NEW, "CREATE_NEW"),
    (CREATE_ALWAYS, "CREATE_ALWAYS"),
    (OPEN_EXISTING, "OPEN_EXISTING"),
    (OPEN_ALWAYS, "OPEN_ALWAYS"),
    (TRUNCATE_EXISTING, "TRUNCATE_EXISTING"),
];

/// One handle a file case opened.
struct FileSlot {
    h: HANDLE,
    /// The file (an index into `FILE_NAMES`).
    file: usize,
    access: u32,
    share: u32,
    closed: Option<usize>,
}

/// A generated case of files on paths: CreateFile of three names (one in a directory that
/// may not exist) with every disposition, six accesses (append-only and none included)
/// and six share modes, against existing and missing files and against the handles
/// already open (ERROR_SHARING_VIOLATION); ReadFile and WriteFile at the file pointer,
/// SetFilePointer and SetFilePointerEx from each origin (before the start:
/// ERROR_NEGATIVE_SEEK; past the end), SetEndOfFile, GetFileSize(Ex), GetFileType,
/// FlushFileBuffers, CloseHandle, DeleteFile (missing, a directory, refused by an open that
/// does not share delete), CreateDirectory and RemoveDirectory (existing, missing, not
/// empty, a file), CreateFile of a directory.
///
/// Left out: TRUNCATE_EXISTING without GENERIC_WRITE (Windows refuses it, Wine 8.0 opens
/// and truncates: native/manifest.txt, files), SetEndOfFile through a handle without
/// write access (Windows refuses it, Wine 8.0 answers other errors or moves the end of
/// file), and a DeleteFile that would succeed while
/// the file is open (every open shares delete): the file is delete-pending under the
/// documented rules winsim models, while Windows 10 may delete it at once with POSIX
/// semantics (docs/semantics.md §28.12), so what the name does next is not one answer.
/// Nothing waits: every handle is synchronous and volume I/O never blocks.
pub async fn random_files<W: Win32>(w: W, log: Log, seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7) ^ 0xF11E);
    let root = log.scratch().to_string();
    let dir = format!(r"{root}\random-files-{seed}");
    let path = |rel: &str| format!(r"{dir}\{rel}");
    // Unlogged: the scratch directory exists (another case may have made it already).
    w.create_directory(&root, None).await;
    call!(w, log, "CreateDirectory(the case's directory)", w.create_directory(&dir, None));
    let mut slots: Vec<FileSlot> = Vec::new();
    let mut made = 0usize;
    const DATA_RIGHTS: u32 = GENERIC_READ | GENERIC_WRITE | FILE_APPEND_DATA;
    for _ in 0..OPS {
        let usable: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].closed.is_none_or(|n| n == made)).collect();
        let make = usable.len() < 2 || rng.below(4) == 0;
        if make {
            let file = rng.pick(&[0usize, 0, 1, 1, 2]);
            let (access, access_name) = rng.pick(&FILE_ACCESS);
            let (share, share_name) = rng.pick(&FILE_SHARE);
            let (disposition, disposition_name) = rng.pick(&DISPOSITIONS);
            // Not TRUNCATE_EXISTING without GENERIC_WRITE: Wine 8.0 opens and truncates
            // where Windows refuses (native/manifest.txt, files).
            if disposition == TRUNCATE_EXISTING && access & GENERIC_WRITE == 0 {
                continue;
            }
            let what =
                format!("CreateFile({}, {access_name}, share {share_name}, {disposition_name})", FILE_NAMES[file]);
            let h = call!(
                w,
                log,
                &what,
                w.create_file(
                    &path(FILE_NAMES[file]),
                    access,
                    share,
                    None,
                    disposition,
                    FILE_ATTRIBUTE_NORMAL,
                    HANDLE::NULL
                )
            );
            if h != INVALID_HANDLE_VALUE && !h.is_null() {
                if matches!(disposition, CREATE_ALWAYS | OPEN_ALWAYS) {
                    // ERROR_ALREADY_EXISTS or 0: whether the file was there.
                    log.note("last error", crate::log::render_error(w.get_last_error()));
                }
                slots.push(FileSlot { h, file, access, share, closed: None });
                made += 1;
                log.note("handle", format!("h{}", slots.len() - 1));
            }
            continue;
        }
        let i = usable[rng.below(usable.len())];
        let (h, l) = (slots[i].h, format!("h{i}/{}", FILE_NAMES[slots[i].file]));
        match rng.below(16) {
            0..=2 => {
                let len = rng.pick(&[1usize, 3, 7, 16]);
                let data: Vec<u8> = (0..len).map(|k| b'a' + ((k + i + rng.below(5)) % 26) as u8).collect();
                let mut done = 0xffu32;
                call!(w, log, &format!("WriteFile({l}, {len})"), w.write_file(h, &data, Some(&mut done)));
                log.note("written", done);
            }
            3..=5 => {
                let len = rng.pick(&[1usize, 4, 16]);
                let mut buf = vec![0u8; len];
                let mut got = 0xffu32;
                let ok = call!(w, log, &format!("ReadFile({l}, {len})"), w.read_file(h, &mut buf, Some(&mut got)));
                log.note("read", got);
                if ok != FALSE {
                    log.note("data", render_bytes(&buf[..(got as usize).min(len)]));
                }
            }
            6 | 7 => {
                let dist = rng.pick(&[0i32, 2, 5, 40, -1, -3, -100]);
                let (method, method_name) =
                    rng.pick(&[(FILE_BEGIN, "FILE_BEGIN"), (FILE_CURRENT, "FILE_CURRENT"), (FILE_END, "FILE_END")]);
                if rng.coin() {
                    let what = format!("SetFilePointer({l}, {dist}, {method_name})");
                    call!(w, log, &what, async { crate::log::Dword(w.set_file_pointer(h, dist, None, method).await) });
                } else {
                    let mut pos = -7i64;
                    let what = format!("SetFilePointerEx({l}, {dist}, {method_name})");
                    call!(w, log, &what, w.set_file_pointer_ex(h, i64::from(dist), Some(&mut pos), method));
                    log.note("pointer", pos);
                }
            }
            8 => {
                // Not through a handle without write access (opened with access 0, or open
                // with GENERIC_READ alone): Windows refuses it (ERROR_ACCESS_DENIED:
                // SetEndOfFile needs GENERIC_WRITE, Microsoft Learn SetEndOfFile), Wine 8.0
                // answers ERROR_INVALID_PARAMETER or ERROR_INVALID_HANDLE, or succeeds and
                // moves the end of file, and the files would part. (A closed handle is
                // ERROR_INVALID_HANDLE in both.)
                let writes = slots[i].access & (GENERIC_WRITE | FILE_APPEND_DATA) != 0;
                if slots[i].access == 0 || (slots[i].closed.is_none() && !writes) {
                    continue;
                }
                call!(w, log, &format!("SetEndOfFile({l})"), w.set_end_of_file(h));
            }
            9 => {
                if rng.coin() {
                    let mut high = 0xffu32;
                    call!(w, log, &format!("GetFileSize({l})"), async {
                        crate::log::Dword(w.get_file_size(h, Some(&mut high)).await)
                    });
                    log.note("high part", high);
                } else {
                    let mut size = -1i64;
                    call!(w, log, &format!("GetFileSizeEx({l})"), w.get_file_size_ex(h, Some(&mut size)));
                    log.note("size", size);
                }
            }
            10 => {
                if rng.coin() {
                    call!(w, log, &format!("GetFileType({l})"), async { crate::log::Dword(w.get_file_type(h).await) });
                } else {
                    call!(w, log, &format!("FlushFileBuffers({l})"), w.flush_file_buffers(h));
                }
            }
            11 | 12 => {
                let ok = call!(w, log, &format!("CloseHandle({l})"), w.close_handle(h));
                if ok != FALSE {
                    slots[i].closed = Some(made);
                }
            }
            13 => {
                // DeleteFile of a file, a directory or a missing name; of a file only when no
                // handle is open to it, or an open with a data right refuses it.
                let target = rng.below(FILE_NAMES.len() + 2);
                if target < FILE_NAMES.len() {
                    let open: Vec<&FileSlot> =
                        slots.iter().filter(|s| s.file == target && s.closed.is_none()).collect();
                    let refused = open.iter().any(|s| s.access & DATA_RIGHTS != 0 && s.share & FILE_SHARE_DELETE == 0);
                    if !open.is_empty() && !refused {
                        continue;
                    }
                }
                let name = match target {
                    t if t < FILE_NAMES.len() => FILE_NAMES[t],
                    t if t == FILE_NAMES.len() => DIR_NAMES[0],
                    _ => "missing.txt",
                };
                call!(w, log, &format!("DeleteFile({name})"), w.delete_file(&path(name)));
            }
            14 => {
                let name = rng.pick(&[DIR_NAMES[0], DIR_NAMES[0], DIR_NAMES[1], r"sub2\deeper\x", FILE_NAMES[0]]);
                if rng.coin() {
                    call!(w, log, &format!("CreateDirectory({name})"), w.create_directory(&path(name), None));
                } else {
                    call!(w, log, &format!("RemoveDirectory({name})"), w.remove_directory(&path(name)));
                }
            }
            _ => {
                let name = rng.pick(&DIR_NAMES);
                let (access, access_name) = rng.pick(&FILE_ACCESS[..3]);
                let what = format!("CreateFile({name}, {access_name}, share RW, OPEN_EXISTING)");
                let h = call!(
                    w,
                    log,
                    &what,
                    w.create_file(
                        &path(name),
                        access,
                        FILE_SHARE_READ | FILE_SHARE_WRITE,
                        None,
                        OPEN_EXISTING,
                        FILE_ATTRIBUTE_NORMAL,
                        HANDLE::NULL
                    )
                );
                if h != INVALID_HANDLE_VALUE && !h.is_null() {
                    w.close_handle(h).await;
                }
            }
        }
    }
    // Unlogged: every handle closed, the files and directories gone.
    for s in &slots {
        if s.closed.is_none() {
            w.close_handle(s.h).await;
        }
    }
    for name in FILE_NAMES {
        w.delete_file(&path(name)).await;
    }
    w.remove_directory(&path(r"sub2\deeper")).await;
    w.remove_directory(&path(FILE_NAMES[0])).await;
    for name in DIR_NAMES {
        w.remove_directory(&path(name)).await;
    }
    call!(w, log, "RemoveDirectory(the case's directory)", w.remove_directory(&dir));
    w.remove_directory(&root).await;
}
