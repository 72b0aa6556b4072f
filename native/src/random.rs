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
