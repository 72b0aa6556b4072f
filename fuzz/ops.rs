//! A random-program interpreter shared by the fuzz target (fuzz/fuzz_targets/kernel_ops.rs)
//! and the robustness property test (tests/conformance/robustness.rs): bytes become Win32
//! calls with valid and invalid handles on several threads and processes, under a seed
//! from the input. The kernel must never panic, must keep its invariants after every
//! step, and must end every run with an outcome.
//!
//! Input layout: byte 0 picks the op set with its top bits and the seed with the rest.
//!
//! | byte 0      | ops | adds to the set above                                            | seed       |
//! |-------------|-----|------------------------------------------------------------------|------------|
//! | `0xxx xxxx` | 16  | (the basic ops of the first version)                             | low 7 bits |
//! | `10xx xxxx` | 24  | threads, suspension, termination, processes, SignalObjectAndWait | low 7 bits |
//! | `110x xxxx` | 32  | waitable timers and the clock reads                              | low 6 bits |
//! | `111x 0xxx` | 64  | named pipes (ops 32-63) and more handle values (`HANDLES_64`)    | low 3 bits |
//! | `111x 1xxx` | 96  | overlapped I/O, completion ports, APCs, timer routines (64-95)  | low 3 bits |
//! | `1111 1111` | 112 | a family's ops (96-111), the family named by byte 1              | byte 1     |
//!
//! Family sets (byte 0 = 0xFF) keep the 96-op set's ops 0-95 and add 16 ops of one API
//! family: byte 1's high nibble picks the family (0: window messages, `msg_op`; 1:
//! mailslots, `mailslot_op`; 2: file mappings and simulated memory, `mapping_op`; 3:
//! critical sections, SRW locks and condition variables, `lock_op`; 4: COM apartments,
//! `com_op`; 5: Winsock sockets, `socket_op`; 6: Message Queuing, `msmq_op`; 7:
//! WaitOnAddress and WakeByAddress* on view addresses, `address_op`; 8: sockets across
//! two hosts and a faulty network, `net_op`; 9: files on the in-memory volume and
//! file-backed sections, `file_op`; 10: process memory, VirtualAlloc & co and heaps,
//! `vmem_op`; 11: overlapped sockets, completion ports, AcceptEx, ConnectEx and
//! DisconnectEx, `overlapped_socket_op`; 12: COM local servers, `local_server_op`, with a
//! server.exe that fuzz.exe starts first; the others add nothing yet), its low nibble is the seed; byte 2
//! is then the split byte and the ops start at byte 3. They run with the tight limits off.
//!
//! In the 64- and 96-op sets, bit 4 of byte 0 also runs with `LimitAction::FailCall` and small
//! handle and pipe-byte limits, so that running out fails calls midway instead of ending
//! the run. Older sets keep their meaning so that fuzz/regressions/ inputs replay as they
//! were found (the 64-op set took `111x xxxx` from the 32-op set, and the 96-op set took
//! `111x 1xxx` from the 64-op set; no regression input started so). Byte 1 splits the rest between the two first threads. Every further 3 bytes
//! are one call: op, handle selector (a second argument for the calls that take no
//! handle), argument. In the 64- and 96-op sets a selector of 0x40 or more picks among the last
//! pipe handles the process's calls returned (`Script::recent`), when there are any.
//!
//! Named pipes are opened by name only (`\\.\pipe\a`, `\\.\pipe\b`, in varying case):
//! CreateFile or CallNamedPipe on another path ends the run as Unsupported, so only
//! CreateNamedPipe and WaitNamedPipe get bad names. The 64-op set passes no OVERLAPPED and
//! no FILE_FLAG_OVERLAPPED; the 96-op set does (`async_op`), on any handle, reusing a few
//! OVERLAPPED records (a reuse while pending, or an event closed under one, ends the run
//! as `Failed`: a reported program error, §16.42). A PIPE_NOWAIT write that does
//! not fit the quota ended the run as Unsupported when the set was written, so PIPE_NOWAIT
//! is only ever set atomically, by CreateNamedPipe on the server end of a
//! PIPE_ACCESS_INBOUND pipe: no handle to that file object can have FILE_WRITE_DATA
//! (duplicates keep its access or get none), so no write reaches it.
//! SetNamedPipeHandleState only asks for PIPE_NOWAIT together with bits that fail the call.

use sim_core::prelude::*;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// Handle values the ops pick from: real ones (small multiples of 4), pseudo handles,
/// NULL, a value with tag bits, and a far-away invalid one.
const HANDLES: [HANDLE; 10] = [
    HANDLE(4),
    HANDLE(8),
    HANDLE(12),
    HANDLE(16),
    HANDLE(20),
    HANDLE(-1),
    HANDLE(-2),
    HANDLE(0),
    HANDLE(9),
    HANDLE(0x1234),
];

/// The 64-op set's handle values: more real ones, as pipe programs hold more handles.
const HANDLES_64: [HANDLE; 16] = [
    HANDLE(4),
    HANDLE(8),
    HANDLE(12),
    HANDLE(16),
    HANDLE(20),
    HANDLE(24),
    HANDLE(28),
    HANDLE(32),
    HANDLE(36),
    HANDLE(40),
    HANDLE(44),
    HANDLE(-1),
    HANDLE(-2),
    HANDLE(0),
    HANDLE(9),
    HANDLE(0x1234),
];

/// Pipe names: two pipes, each in two spellings (the namespace is case-insensitive).
const PIPE_NAMES: [&str; 4] = [r"\\.\pipe\a", r"\\.\pipe\B", r"\\.\PIPE\A", r"\\.\Pipe\b"];

/// Names CreateNamedPipe and WaitNamedPipe must reject (never CreateFile's: a path that is
/// not a pipe ends the run as Unsupported).
const BAD_PIPE_NAMES: [&str; 6] = [r"\\.\pipe\", r"\\.\pipf\a", "a", "", r"\\?\pipe\a", "\\\\.\\pipe\u{e9}\\a"];

/// How deep threads and processes started by the program may nest.
const DEPTH_MAX: u32 = 3;

/// How many of the pipe handles its calls returned a process remembers.
const RECENT_MAX: usize = 8;

/// One thread's program: the ops, the op set, its nesting depth, and the pipe handles
/// its process's calls returned.
#[derive(Clone)]
pub struct Script {
    ops: Rc<Vec<u8>>,
    /// How many ops the set has: 16, 24, 32, 64, 96, or 112 for a family set.
    set: u8,
    /// The API family of a 112-op set (byte 1's high nibble).
    family: Option<u8>,
    depth: u32,
    /// The last `RECENT_MAX` pipe handles (CreatePipe, CreateNamedPipe, CreateFile,
    /// DuplicateHandle) returned in this process, newest last, shared by its threads. The
    /// 64-op set's selectors from 0x40 up pick among them (newest first), so that pipe
    /// calls reach pipes more often than the fixed values alone would.
    recent: Rc<RefCell<Vec<HANDLE>>>,
}

/// Remembers a handle a call returned (not a failure's NULL or INVALID_HANDLE_VALUE).
fn remember(recent: &RefCell<Vec<HANDLE>>, h: HANDLE) {
    if h != HANDLE::NULL && h != INVALID_HANDLE_VALUE {
        let mut r = recent.borrow_mut();
        if r.len() == RECENT_MAX {
            r.remove(0);
        }
        r.push(h);
    }
}

fn boxed(ctx: ThreadCtx, script: Script) -> Pin<Box<dyn Future<Output = u32>>> {
    Box::pin(interpret(ctx, script))
}

/// Runs a script as a thread body.
pub async fn interpret(ctx: ThreadCtx, script: Script) -> u32 {
    let mut buf = [0u8; 64];
    let ops = script.ops.clone();
    for (i, chunk) in ops.chunks(3).enumerate() {
        let [op, a, b] = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let handles: &[HANDLE] = if script.set >= 64 { &HANDLES_64 } else { &HANDLES };
        let h = {
            let recent = script.recent.borrow();
            if script.set >= 64 && a >= 0x40 && !recent.is_empty() {
                recent[recent.len() - 1 - usize::from(a & 0x3f) % recent.len()]
            } else {
                handles[a as usize % handles.len()]
            }
        };
        let h2 = handles[b as usize % handles.len()];
        let n = b as usize % 64;
        let op = op % script.set;
        // What a new thread or process runs: the rest of this script, one level deeper.
        let rest = || Script {
            ops: Rc::new(ops.get((i + 1) * 3..).unwrap_or(&[]).to_vec()),
            set: script.set.max(24),
            family: script.family,
            depth: script.depth + 1,
            recent: script.recent.clone(),
        };
        match op {
            0 => {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let sa = (b & 8 == 8).then_some(SECURITY_ATTRIBUTES::INHERIT);
                let _ = ctx.create_pipe(&mut r, &mut w, sa.as_ref(), u32::from(b % 8)).await;
                remember(&script.recent, r);
                remember(&script.recent, w);
            }
            1 => {
                let _ = ctx.write_file(h, &buf[..n], None).await;
            }
            2 => {
                let _ = ctx.read_file(h, &mut buf[..n], None).await;
            }
            3 => {
                ctx.close_handle(h).await;
            }
            4 => {
                let _ = ctx.create_event(None, b & 1 == 1, b & 2 == 2, if b & 4 == 4 { Some("e") } else { None }).await;
            }
            5 => {
                ctx.set_event(h).await;
            }
            6 => {
                ctx.pulse_event(h).await;
            }
            7 => {
                ctx.wait_for_single_object(h, u32::from(b % 4)).await;
            }
            8 => {
                ctx.wait_for_multiple_objects(&[h, h2], b & 1 == 1, u32::from(b % 3)).await;
            }
            9 => {
                let _ = ctx.create_mutex(None, b & 1 == 1, None).await;
            }
            10 => {
                let _ = ctx.release_mutex(h).await;
            }
            11 => {
                let _ = ctx.create_semaphore(None, i32::from(b % 3), i32::from(b % 4), None).await;
            }
            12 => {
                let _ = ctx.release_semaphore(h, i32::from(b % 3) - 1, None).await;
            }
            13 => {
                let mut out = HANDLE::NULL;
                let p = ctx.get_current_process();
                let _ = ctx.duplicate_handle(p, h, p, &mut out, 0, b & 1 == 1, u32::from(b % 8)).await;
                remember(&script.recent, out);
            }
            14 => {
                let mut avail = 0;
                let _ = ctx.peek_named_pipe(h, Some(&mut buf[..n]), None, Some(&mut avail), None).await;
            }
            15 => {
                ctx.flush_file_buffers(h).await;
            }
            16 if script.depth < DEPTH_MAX => {
                let s = rest();
                let flags = if b & 1 == 1 { CREATE_SUSPENDED } else { 0 };
                let _ = ctx.create_thread(None, 0, move |ctx| boxed(ctx, s), flags, None).await;
            }
            17 => {
                ctx.suspend_thread(h).await;
            }
            18 => {
                ctx.resume_thread(h).await;
            }
            19 => {
                ctx.terminate_thread(h, u32::from(b)).await;
            }
            20 if script.depth < DEPTH_MAX => {
                let name = format!("child{}.exe", script.depth + 1);
                let si = STARTUPINFO { dwFlags: STARTF_USESTDHANDLES, hStdInput: h, hStdOutput: h2, hStdError: h2 };
                let flags = if b & 2 == 2 { CREATE_SUSPENDED } else { 0 };
                let mut pi = PROCESS_INFORMATION::default();
                let _ = ctx.create_process(None, Some(&name), None, None, b & 1 == 1, flags, &si, &mut pi).await;
            }
            21 => {
                ctx.terminate_process(h, u32::from(b)).await;
            }
            22 => {
                ctx.signal_object_and_wait(h, h2, u32::from(b % 3), false).await;
            }
            23 if b == 0xff => {
                ctx.exit_thread(7).await;
            }
            23 => {
                ctx.sleep(u32::from(b % 3)).await;
            }
            24 => {
                let _ = ctx.create_waitable_timer(None, b & 1 == 1, (b & 2 == 2).then_some("t")).await;
            }
            25 => {
                // Relative (negative), absolute in the past (small positive) or now (0).
                let due = match b % 3 {
                    0 => -i64::from(b % 7) * 10_000,
                    1 => i64::from(b),
                    _ => 0,
                };
                let _ = ctx.set_waitable_timer(h, due, i32::from(b % 4) * 5 - 1, None, b & 8 == 8).await;
            }
            26 => {
                let _ = ctx.cancel_waitable_timer(h).await;
            }
            27 => {
                let access = [TIMER_ALL_ACCESS, SYNCHRONIZE, TIMER_MODIFY_STATE, 0, GENERIC_READ][b as usize % 5];
                let _ = ctx.open_waitable_timer(access, b & 8 == 8, (b & 16 == 16).then_some("t")).await;
            }
            28 => {
                let access = [TIMER_ALL_ACCESS, SYNCHRONIZE, GENERIC_WRITE][b as usize % 3];
                let _ = ctx.create_waitable_timer_ex(None, (b & 4 == 4).then_some("t"), u32::from(b % 8), access).await;
            }
            29 => {
                let mut v = 0;
                match b % 4 {
                    0 => drop(ctx.get_tick_count().await),
                    1 => drop(ctx.get_tick_count64().await),
                    2 => drop(ctx.query_performance_counter(&mut v).await),
                    _ => {
                        let mut ft = FILETIME::default();
                        ctx.get_system_time_as_file_time(&mut ft).await;
                    }
                }
            }
            30 => {
                ctx.wait_for_single_object(h, u32::from(b % 20)).await;
            }
            31 => {
                ctx.sleep(u32::from(b % 12)).await;
            }
            96.. if script.family == Some(0) => msg_op(&ctx, op, a, b, h).await,
            96.. if script.family == Some(1) => mailslot_op(&ctx, op, a, b, h, &mut buf, &script.recent).await,
            96.. if script.family == Some(2) => mapping_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(3) => lock_op(&ctx, op, a, b).await,
            96.. if script.family == Some(4) => com_op(&ctx, op, a, b, h).await,
            96.. if script.family == Some(5) => socket_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(6) => msmq_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(7) => address_op(&ctx, op, a, b, &script.recent).await,
            96.. if script.family == Some(8) => net_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(9) => file_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(10) => vmem_op(&ctx, op, a, b, &script.recent).await,
            96.. if script.family == Some(11) => overlapped_socket_op(&ctx, op, a, b, h, &script.recent).await,
            96.. if script.family == Some(12) => local_server_op(&ctx, op, a, b, h).await,
            64.. => async_op(&ctx, op, a, b, h, &script.recent).await,
            32.. => pipe_op(&ctx, op, a, b, h, &mut buf, &script.recent).await,
            _ => {}
        }
    }
    0
}

/// A name for CreateNamedPipe or WaitNamedPipe: three in four valid, else a bad one.
fn any_pipe_name(sel: u8, bad: u8) -> &'static str {
    match sel % 8 {
        6 | 7 => BAD_PIPE_NAMES[bad as usize % BAD_PIPE_NAMES.len()],
        i => PIPE_NAMES[i as usize % PIPE_NAMES.len()],
    }
}

/// A WaitNamedPipe / CallNamedPipe time-out.
fn pipe_wait(sel: u8) -> u32 {
    [NMPWAIT_USE_DEFAULT_WAIT, NMPWAIT_NOWAIT, 2, 10, 50, 200, NMPWAIT_WAIT_FOREVER, NMPWAIT_USE_DEFAULT_WAIT]
        [sel as usize % 8]
}

/// CreateNamedPipe's arguments from two bytes: `a` bits 0-2 the name (bad names
/// included), 3-4 the direction, 5 FILE_FLAG_FIRST_PIPE_INSTANCE, 6 an extra open-mode bit
/// (valid or not), 7 PIPE_NOWAIT on an inbound pipe (else an invalid argument); `b` bit 0
/// PIPE_TYPE_MESSAGE, 1 PIPE_READMODE_MESSAGE (invalid on a byte pipe), 2-3 the instance
/// limit (1, 2, unlimited, or 0 / 256), 4 PIPE_REJECT_REMOTE_CLIENTS, 5-7 the quota and
/// default time-out. `valid` leaves out every invalid choice (the call can still fail on
/// an existing name). Never FILE_FLAG_OVERLAPPED.
fn named_pipe_args(a: u8, b: u8, skew: bool, valid: bool) -> (&'static str, u32, u32, u32, u32, u32, u32) {
    let name = if valid { PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()] } else { any_pipe_name(a, b >> 5) };
    let mut access =
        [PIPE_ACCESS_DUPLEX, PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND, PIPE_ACCESS_DUPLEX][usize::from(a >> 3) % 4];
    let mut open_mode = 0;
    if a & 0x20 != 0 {
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    if a & 0x40 != 0 {
        open_mode |= if b & 0x10 != 0 && !valid { 0x100 } else { FILE_FLAG_WRITE_THROUGH | WRITE_DAC };
    }
    let mut pipe_mode = 0;
    if b & 1 != 0 {
        pipe_mode |= PIPE_TYPE_MESSAGE;
    }
    if b & 2 != 0 && (b & 1 != 0 || !valid) {
        pipe_mode |= PIPE_READMODE_MESSAGE;
    }
    if b & 0x10 != 0 {
        pipe_mode |= PIPE_REJECT_REMOTE_CLIENTS;
    }
    if a & 0x80 != 0 {
        // PIPE_NOWAIT only where no handle can write (see the header); elsewhere the bit
        // makes the call fail: no direction, or an unknown pipe-mode bit.
        match access {
            PIPE_ACCESS_INBOUND => pipe_mode |= PIPE_NOWAIT,
            _ if valid => {}
            _ if b & 0x10 != 0 => access = 0,
            _ => pipe_mode |= 0x10,
        }
    }
    let max_instances = match (b >> 2) & 3 {
        0 => 1,
        1 => 2,
        2 => PIPE_UNLIMITED_INSTANCES,
        _ if valid => 4,
        _ if b & 0x10 != 0 => 256,
        _ => 0,
    };
    let q = u32::from(b >> 5);
    let (out_quota, in_quota) = if skew { (q, (q + 3) % 8) } else { (q, q) };
    let timeout = [0, 1, 10, 100][q as usize % 4];
    (name, access | open_mode, pipe_mode, max_instances, out_quota, in_quota, timeout)
}

/// CreateFile on a pipe name (never another path) from two bytes: `a` bits 0-1 the name,
/// 2-4 the access, 5-6 the share mode, 7 inheritable; `b` bits 0-2 the disposition
/// (mostly OPEN_EXISTING), 3-4 flags (never FILE_FLAG_OVERLAPPED).
async fn open_pipe(ctx: &ThreadCtx, a: u8, b: u8) -> HANDLE {
    let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
    let access = [
        GENERIC_READ | GENERIC_WRITE,
        GENERIC_READ,
        GENERIC_WRITE,
        0,
        FILE_READ_DATA | FILE_WRITE_DATA,
        FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES,
        GENERIC_ALL,
        MAXIMUM_ALLOWED,
    ][usize::from(a >> 2) % 8];
    let share = [0, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE][usize::from(a >> 5) % 4];
    let sa = (a & 0x80 != 0).then_some(SECURITY_ATTRIBUTES::INHERIT);
    let disposition = match b % 8 {
        0..=3 => OPEN_EXISTING,
        4 => 0,
        5 => OPEN_ALWAYS,
        6 => CREATE_ALWAYS,
        _ => TRUNCATE_EXISTING + 1,
    };
    let flags =
        [0, FILE_ATTRIBUTE_NORMAL, FILE_FLAG_WRITE_THROUGH, FILE_FLAG_FIRST_PIPE_INSTANCE][usize::from(b >> 3) % 4];
    ctx.create_file(name, access, share, sa.as_ref(), disposition, flags, HANDLE::NULL).await
}

/// The named-pipe ops of the 64-op set (32-63). `h` is the handle `a` selects; the calls
/// that take no handle read `a` as a second argument.
async fn pipe_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, buf: &mut [u8; 64], recent: &RefCell<Vec<HANDLE>>) {
    let mut out = [0u8; 64];
    let mut n = 0u32;
    match op {
        32 | 33 | 58 => {
            // 58: valid arguments only.
            let (name, open_mode, pipe_mode, max, out_quota, in_quota, timeout) =
                named_pipe_args(a, b, op == 33, op == 58);
            let sa = (op == 33).then_some(SECURITY_ATTRIBUTES::INHERIT);
            let s =
                ctx.create_named_pipe(name, open_mode, pipe_mode, max, out_quota, in_quota, timeout, sa.as_ref()).await;
            remember(recent, s);
        }
        34 | 59 => {
            remember(recent, open_pipe(ctx, a, b).await);
        }
        35 => {
            // A client: open, maybe switch to message read mode, maybe write a little.
            let c = open_pipe(ctx, a, b & 7).await;
            remember(recent, c);
            if c != INVALID_HANDLE_VALUE {
                if b & 0x20 != 0 {
                    ctx.set_named_pipe_handle_state(c, Some(PIPE_READMODE_MESSAGE), None, None).await;
                }
                if b & 0xc0 != 0 {
                    let _ = ctx.write_file(c, &buf[..usize::from(b >> 6) * 3], Some(&mut n)).await;
                }
            }
        }
        36 => {
            ctx.wait_named_pipe(any_pipe_name(a, a >> 3), pipe_wait(b)).await;
        }
        37 | 62 => {
            ctx.connect_named_pipe(h, None).await;
        }
        38 => {
            ctx.disconnect_named_pipe(h).await;
        }
        39 => {
            // Never a valid PIPE_NOWAIT (see the header): only with bits that fail the call.
            let mode = [
                None,
                Some(PIPE_READMODE_BYTE | PIPE_WAIT),
                Some(PIPE_READMODE_MESSAGE),
                Some(PIPE_READMODE_MESSAGE),
                Some(PIPE_NOWAIT | PIPE_TYPE_MESSAGE),
                Some(PIPE_READMODE_MESSAGE | 0x100),
                Some(u32::MAX),
                Some(PIPE_READMODE_BYTE),
            ][usize::from(b) % 8];
            let count = (b & 0x08 != 0).then_some(u32::from(b));
            let timeout = (b & 0x10 != 0).then_some(10);
            ctx.set_named_pipe_handle_state(h, mode, count, timeout).await;
        }
        40 => {
            let (mut state, mut instances, mut count, mut timeout) = (0, 0, 0, 0);
            let mut user = String::new();
            let _ = ctx
                .get_named_pipe_handle_state(
                    h,
                    (b & 1 != 0).then_some(&mut state),
                    (b & 2 != 0).then_some(&mut instances),
                    (b & 0x1c == 0x04).then_some(&mut count),
                    (b & 0x1c == 0x08).then_some(&mut timeout),
                    (b & 0x1c == 0x0c).then_some(&mut user),
                )
                .await;
        }
        41 => {
            let _ = if b & 1 == 0 {
                ctx.get_named_pipe_client_process_id(h, &mut n).await
            } else {
                ctx.get_named_pipe_server_process_id(h, &mut n).await
            };
        }
        42 => {
            let (mut flags, mut out_size, mut in_size, mut max) = (0, 0, 0, 0);
            let _ = ctx
                .get_named_pipe_info(
                    h,
                    (b & 1 != 0).then_some(&mut flags),
                    (b & 2 != 0).then_some(&mut out_size),
                    (b & 4 != 0).then_some(&mut in_size),
                    (b & 8 != 0).then_some(&mut max),
                )
                .await;
        }
        43 | 44 | 63 => {
            let len_in = usize::from(b & 15);
            let len_out = usize::from(b >> 4) * if op == 44 { 4 } else { 1 };
            let _ = ctx.transact_named_pipe(h, &buf[..len_in], &mut out[..len_out], Some(&mut n), None).await;
        }
        45 => {
            let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
            let wait = [NMPWAIT_NOWAIT, NMPWAIT_USE_DEFAULT_WAIT, 20, NMPWAIT_WAIT_FOREVER][usize::from(a >> 2) % 4];
            let _ = ctx
                .call_named_pipe(name, &buf[..usize::from(b & 15)], &mut out[..usize::from(b >> 4)], &mut n, wait)
                .await;
        }
        46 | 60 => {
            // Small writes, empty messages included, against quotas of 0-7 bytes.
            let _ = ctx.write_file(h, &buf[..usize::from(b) % 12], Some(&mut n)).await;
        }
        47 => {
            let _ = ctx.write_file(h, &buf[..usize::from(b) % 12], None).await;
        }
        48 | 61 => {
            let _ = ctx.read_file(h, &mut buf[..usize::from(b) % 12], Some(&mut n)).await;
        }
        49 => {
            let (mut read, mut avail, mut left) = (0, 0, 0);
            let len = usize::from(b >> 4);
            let _ = ctx
                .peek_named_pipe(
                    h,
                    (b & 1 != 0).then_some(&mut buf[..len]),
                    (b & 2 != 0).then_some(&mut read),
                    (b & 4 != 0).then_some(&mut avail),
                    (b & 8 != 0).then_some(&mut left),
                )
                .await;
        }
        50 => {
            ctx.close_handle(h).await;
        }
        51 => {
            // A server: a valid instance, then wait for its client, maybe read.
            let access = [PIPE_ACCESS_DUPLEX, PIPE_ACCESS_DUPLEX, PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND]
                [usize::from(a >> 2) % 4];
            let mode = [0, PIPE_TYPE_MESSAGE, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE][usize::from(b) % 3];
            let q = u32::from(b >> 5);
            let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
            let s = ctx.create_named_pipe(name, access, mode, PIPE_UNLIMITED_INSTANCES, q, q, 0, None).await;
            remember(recent, s);
            if s != INVALID_HANDLE_VALUE {
                ctx.connect_named_pipe(s, None).await;
                if b & 0x10 != 0 {
                    let _ = ctx.read_file(s, &mut buf[..usize::from(b >> 5)], Some(&mut n)).await;
                }
            }
        }
        52 => {
            // A server recycling its instance: flush, disconnect, listen again.
            if b & 1 != 0 {
                ctx.flush_file_buffers(h).await;
            }
            ctx.disconnect_named_pipe(h).await;
            if b & 2 != 0 {
                ctx.connect_named_pipe(h, None).await;
            }
        }
        53 => {
            // A client's loop: wait for an instance, then open it.
            let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
            if ctx.wait_named_pipe(name, pipe_wait(b)).await == TRUE {
                let c =
                    ctx.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
                remember(recent, c);
                if c != INVALID_HANDLE_VALUE && b & 8 != 0 {
                    ctx.set_named_pipe_handle_state(c, Some(PIPE_READMODE_MESSAGE), None, None).await;
                }
            }
        }
        54 => {
            // PIPE_NOWAIT on an inbound server end, which no handle can write through:
            // ConnectNamedPipe returns at once, reads do not wait.
            let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
            let mode =
                PIPE_NOWAIT | [0, PIPE_TYPE_MESSAGE, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE][usize::from(b) % 3];
            let q = u32::from(b >> 5);
            let s = ctx
                .create_named_pipe(name, PIPE_ACCESS_INBOUND, mode, 1 + u32::from((b >> 3) & 3), q, q, 0, None)
                .await;
            remember(recent, s);
            if s != INVALID_HANDLE_VALUE {
                ctx.connect_named_pipe(s, None).await;
                if b & 0x4 != 0 {
                    ctx.sleep(1).await;
                    ctx.connect_named_pipe(s, None).await;
                    let _ = ctx.read_file(s, &mut buf[..usize::from(b >> 5)], Some(&mut n)).await;
                }
            }
        }
        55 => {
            ctx.sleep(u32::from(b % 4)).await;
        }
        56 => {
            ctx.wait_for_single_object(h, u32::from(b % 5)).await;
        }
        57 => {
            // Same-access duplicates (never with more access: see the header), maybe
            // closing the source.
            let mut dup = HANDLE::NULL;
            let p = ctx.get_current_process();
            let options = DUPLICATE_SAME_ACCESS | if b & 1 != 0 { DUPLICATE_CLOSE_SOURCE } else { 0 };
            let _ = ctx.duplicate_handle(p, h, p, &mut dup, 0, b & 2 != 0, options).await;
            remember(recent, dup);
        }
        _ => {}
    }
}

/// Ignores a call's result (the fuzzer only checks that the kernel survives).
fn ignore<T>(_: T) {}

/// OVERLAPPED records a thread's asynchronous ops reuse: one per op code and `b` bit 7,
/// so a record is usually free again when it is reused (a reuse while pending ends the run
/// as Failed, which the fuzzer accepts: it is the program's error, reported).
fn overlapped_for(slot: u8, event: HANDLE) -> Overlapped {
    OVERLAPPED_POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let i = usize::from(slot) % 4;
        while pool.len() <= i {
            pool.push(None);
        }
        match &pool[i] {
            Some(ov) if HasOverlappedIoCompleted(ov) || ov.internal() == 0 => {
                let fresh = Overlapped::new(event);
                pool[i] = Some(fresh.clone());
                fresh
            }
            Some(ov) if slot & 0x80 != 0 => ov.clone(), // misuse on purpose
            _ => {
                let fresh = Overlapped::new(event);
                pool[i] = Some(fresh.clone());
                fresh
            }
        }
    })
}

thread_local! {
    /// The OVERLAPPED records of the program being run (reset by `run_program`).
    static OVERLAPPED_POOL: RefCell<Vec<Option<Overlapped>>> = const { RefCell::new(Vec::new()) };
}

/// The 96-op set's ops 64-95: asynchronous I/O, completion ports, APCs and timer
/// completion routines, six kinds (58-63 below), the starting of operations weighted up.
/// `a` picks the handle (`h`); `b` the variant and its arguments.
async fn async_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    let op = [58, 58, 59, 59, 59, 60, 60, 61, 61, 62, 62, 63][usize::from(op - 64) % 12];
    let other = {
        let r = recent.borrow();
        if r.is_empty() { HANDLE(4) } else { r[usize::from(b) % r.len()] }
    };
    let event = if b & 0x40 != 0 { other } else { HANDLE::NULL };
    match op {
        58 => {
            // Overlapped ends: a server instance or a client, FILE_FLAG_OVERLAPPED.
            let name = PIPE_NAMES[usize::from(a) % PIPE_NAMES.len()];
            let h = if b & 1 == 0 {
                let mode = [PIPE_TYPE_BYTE, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE][usize::from(b >> 1) % 2];
                let q = u32::from(b >> 5);
                ctx.create_named_pipe(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, mode, 2, q, q, 0, None).await
            } else {
                let flags = FILE_FLAG_OVERLAPPED;
                ctx.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, flags, HANDLE::NULL).await
            };
            remember(recent, h);
            if b & 0x10 != 0 {
                // An event for the OVERLAPPEDs to name.
                let ev = ctx.create_event(None, b & 0x20 != 0, false, None).await;
                remember(recent, ev);
            }
        }
        59 => {
            // Starting an operation with an OVERLAPPED (on any handle: a synchronous one
            // makes the call block, §16.7).
            let ov = overlapped_for(op ^ (b & 0x83), event);
            let len = usize::from(b >> 3 & 7) * 3;
            match b & 3 {
                0 => ignore(ctx.read_file_overlapped(h, &IoBuffer::new(len), None, &ov).await),
                1 => ignore(ctx.write_file_overlapped(h, &[b'w'; 21][..len], None, &ov).await),
                2 => ignore(ctx.connect_named_pipe(h, Some(&ov)).await),
                _ => ignore(ctx.transact_named_pipe_overlapped(h, &[b't'; 21][..len], &IoBuffer::new(len), &ov).await),
            }
        }
        60 => {
            // Collecting or cancelling.
            let ov = overlapped_for(b & 0x83, event);
            let mut n = 0;
            match b & 7 {
                0 => ignore(ctx.get_overlapped_result(h, &ov, &mut n, b & 8 != 0).await),
                1 => ignore(ctx.get_overlapped_result_ex(h, &ov, &mut n, u32::from(b >> 3 & 3), b & 0x20 != 0).await),
                2 => ignore(ctx.cancel_io(h).await),
                3 => ignore(ctx.cancel_io_ex(h, (b & 8 != 0).then_some(&ov)).await),
                4 => ignore(ctx.cancel_synchronous_io(h).await),
                5 => ignore(HasOverlappedIoCompleted(&ov)),
                6 => ignore(ctx.set_file_completion_notification_modes(h, u32::from(b >> 3 & 7)).await),
                _ => ignore(ctx.wait_for_single_object_ex(h, u32::from(b >> 3 & 3), b & 0x20 != 0).await),
            }
        }
        61 => {
            // Completion ports.
            match b & 3 {
                0 => {
                    let file = if b & 4 != 0 { INVALID_HANDLE_VALUE } else { h };
                    let existing = if b & 8 != 0 { other } else { HANDLE::NULL };
                    let p = ctx.create_io_completion_port(file, existing, usize::from(b >> 4), u32::from(b >> 6)).await;
                    remember(recent, p);
                }
                1 => {
                    let (mut n, mut key, mut ov) = (0, 0, None);
                    let _ = ctx.get_queued_completion_status(h, &mut n, &mut key, &mut ov, u32::from(b >> 2 & 7)).await;
                }
                2 => {
                    let mut entries = vec![OVERLAPPED_ENTRY::default(); usize::from(b >> 2 & 3)];
                    let mut removed = 0;
                    let ms = u32::from(b >> 4 & 3);
                    let _ = ctx.get_queued_completion_status_ex(h, &mut entries, &mut removed, ms, b & 0x40 != 0).await;
                }
                _ => {
                    let ov = (b & 4 != 0).then(|| overlapped_for(b & 0x03, HANDLE::NULL));
                    let _ = ctx.post_queued_completion_status(h, u32::from(b >> 3), usize::from(b), ov.as_ref()).await;
                }
            }
        }
        62 => {
            // APCs and alertable waits.
            match b & 7 {
                0 => ignore(
                    ctx.queue_user_apc(
                        |ctx, d| async move { ignore(ctx.sleep_ex(0, d & 1 != 0).await) },
                        h,
                        usize::from(b >> 3),
                    )
                    .await,
                ),
                1 => ignore(ctx.sleep_ex(u32::from(b >> 3 & 3), b & 0x20 != 0).await),
                2 => ignore(
                    ctx.wait_for_multiple_objects_ex(&[h, other], b & 8 != 0, u32::from(b >> 4 & 3), b & 0x40 != 0)
                        .await,
                ),
                3 => {
                    let ov = overlapped_for(b & 0x83, event);
                    let buf = IoBuffer::new(usize::from(b >> 3 & 7));
                    ignore(
                        ctx.read_file_ex(h, &buf, &ov, |ctx, _e, _n, _ov| async move {
                            ignore(ctx.sleep_ex(0, true).await)
                        })
                        .await,
                    );
                }
                4 => {
                    let ov = overlapped_for(b & 0x83, event);
                    ignore(
                        ctx.write_file_ex(h, &[b'x'; 7][..usize::from(b >> 3 & 7)], &ov, |_ctx, _e, _n, _ov| async {})
                            .await,
                    );
                }
                5 => ignore(ctx.signal_object_and_wait(h, other, u32::from(b >> 3 & 3), true).await),
                _ => ignore(ctx.wait_for_single_object_ex(h, u32::from(b >> 3 & 3), true).await),
            }
        }
        _ => {
            // A waitable timer with a completion routine (§14.21).
            let routine: TimerApcRoutine =
                Rc::new(|ctx, _lo, _hi| Box::pin(async move { ignore(ctx.sleep_ex(0, false).await) }));
            let due = -i64::from(b & 7) * 10_000;
            ignore(ctx.set_waitable_timer(h, due, i32::from(b >> 3 & 3) * 3, Some(routine), false).await);
        }
    }
}

thread_local! {
    /// The windows the program's calls created (HWNDs are global), newest last.
    static WINDOWS: RefCell<Vec<HWND>> = const { RefCell::new(Vec::new()) };
}

/// Messages the window-message ops post and send: private ones (some of which the fuzz
/// window procedure acts on), WM_QUIT, a manual WM_TIMER, WM_CLOSE, sync-only ones, a
/// registered-message value.
const FUZZ_MESSAGES: [u32; 12] = [
    WM_USER,
    WM_USER + 1,
    WM_USER + 2,
    WM_USER + 3,
    WM_USER + 4,
    WM_QUIT,
    WM_TIMER,
    WM_CLOSE,
    WM_COPYDATA,
    WM_HOTKEY,
    WM_NULL,
    0xC000,
];

/// A window the program made (or a bad value), by selector.
fn fuzz_window(sel: u8) -> HWND {
    WINDOWS.with(|w| {
        let w = w.borrow();
        match sel % 8 {
            0 => HWND::NULL,
            1 => HWND(0xdead0),
            2 => HWND_BROADCAST,
            _ if w.is_empty() => HWND(0x10010),
            n => w[w.len() - 1 - usize::from(n - 3) % w.len()],
        }
    })
}

/// The fuzz window procedure: some private messages make nested calls (post, send back,
/// reply early, wait), WM_CLOSE destroys; the rest go to DefWindowProc.
fn fuzz_wndproc() -> WNDPROC {
    wndproc(|ctx, hwnd, msg, w, l| async move {
        match msg {
            m if m == WM_USER + 1 => ctx.post_message(fuzz_window(w as u8), WM_USER, w, 0).await as LRESULT,
            m if m == WM_USER + 2 => {
                let to = fuzz_window(w as u8);
                let to = if to == HWND_BROADCAST { hwnd } else { to };
                ctx.send_message(to, WM_USER + (w as u32 & 3), w >> 2, 0).await
            }
            m if m == WM_USER + 3 => {
                let _ = ctx.reply_message(7).await;
                let mut m = MSG::default();
                ctx.peek_message(&mut m, HWND::NULL, 0, 0, PM_REMOVE).await as LRESULT
            }
            m if m == WM_USER + 4 => {
                ctx.sleep(w as u32 & 3).await;
                ctx.in_send_message_ex() as LRESULT
            }
            _ => ctx.def_window_proc(hwnd, msg, w, l).await,
        }
    })
}

/// The window-message family's ops 96-111 (byte 0 = 0xFF, family 0): windows, posting,
/// retrieving, sending (nested and timed out), timers, waits. `a` picks the window or
/// filter, `b` the variant and arguments; `h` is a handle for the waits.
async fn msg_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE) {
    let msg = FUZZ_MESSAGES[usize::from(b) % FUZZ_MESSAGES.len()];
    let hwnd = fuzz_window(a);
    // Sending to HWND_BROADCAST is not modelled (Unsupported): sends go to NULL instead.
    let target = if hwnd == HWND_BROADCAST { HWND::NULL } else { hwnd };
    let mut m = MSG::default();
    let ranges = [(0, 0), (WM_USER, WM_USER + 2), (WM_TIMER, WM_TIMER), (WM_USER + 3, WM_USER)];
    let (min, max) = ranges[usize::from(b >> 4) % ranges.len()];
    match op {
        96 => {
            let _ = ctx.register_class_ex(&WNDCLASSEX::new("fz", fuzz_wndproc())).await;
            let parent = if b & 1 == 0 { HWND_MESSAGE } else { HWND::NULL };
            let w = ctx.create_window_ex(0, "fz", ["a", "b"][usize::from(b >> 1) % 2], 0, 0, 0, 0, 0, parent, 0).await;
            if !w.is_null() {
                WINDOWS.with(|ws| ws.borrow_mut().push(w));
            }
        }
        97 => ignore(ctx.post_message(hwnd, msg, usize::from(a), 0).await),
        98 => {
            let me = ctx.get_current_thread_id();
            let tid = [me, me.wrapping_sub(4), me + 4, 0x1234][usize::from(a) % 4];
            ignore(ctx.post_thread_message(tid, msg, usize::from(a), 0).await);
        }
        99 => ctx.post_quit_message(i32::from(b)).await,
        100 => {
            let flags = [PM_NOREMOVE, PM_REMOVE, PM_REMOVE | PM_QS_POSTMESSAGE, PM_REMOVE | PM_QS_SENDMESSAGE]
                [usize::from(b) % 4];
            let filter = if a & 0x80 != 0 { HWND(-1) } else { fuzz_window(a >> 3) };
            if ctx.peek_message(&mut m, filter, min, max, flags).await == TRUE && b & 0x08 != 0 {
                let _ = ctx.dispatch_message(&m).await;
            }
        }
        101 => {
            if ctx.get_message(&mut m, if a & 1 == 0 { HWND::NULL } else { hwnd }, min, max).await > 0 {
                let _ = ctx.translate_message(&m);
                let _ = ctx.dispatch_message(&m).await;
            }
        }
        102 => ignore(ctx.send_message(target, msg, usize::from(a), 0).await),
        103 => {
            let flags = [SMTO_NORMAL, SMTO_BLOCK, SMTO_ABORTIFHUNG, SMTO_NOTIMEOUTIFNOTHUNG][usize::from(a) % 4];
            let timeout = [0, 1, 5, 0x8000_0000][usize::from(a >> 2) % 4];
            let mut res = 0;
            ignore(ctx.send_message_timeout(target, msg, usize::from(b), 0, flags, timeout, Some(&mut res)).await);
        }
        104 => {
            if b & 1 == 0 {
                ignore(ctx.send_notify_message(target, msg, usize::from(a), 0).await);
            } else {
                let cb = (b & 2 != 0).then(|| {
                    sendasyncproc(|ctx, hwnd, _msg, data, _result| async move {
                        ignore(ctx.post_message(hwnd, WM_USER, data, 0).await);
                    })
                });
                ignore(ctx.send_message_callback(target, msg, usize::from(a), 0, cb, usize::from(b >> 2) & 1).await);
            }
        }
        105 => {
            ignore(ctx.reply_message(isize::from(b)).await);
            ignore(ctx.in_send_message());
        }
        106 => ignore(ctx.destroy_window(hwnd).await),
        107 => {
            let proc = (b & 1 != 0).then(|| timerproc(|ctx, _h, _m, _id, _t| async move { ctx.sleep(0).await }));
            let target = if b & 2 != 0 { HWND::NULL } else { hwnd };
            ignore(ctx.set_timer(target, usize::from(a & 3), u32::from(b >> 2), proc).await);
        }
        108 => ignore(ctx.kill_timer(if b & 1 != 0 { HWND::NULL } else { hwnd }, usize::from(a & 3)).await),
        109 => {
            let handles: &[HANDLE] = if b & 1 != 0 { &[] } else { std::slice::from_ref(&h) };
            let mask = [QS_ALLINPUT, QS_POSTMESSAGE, QS_SENDMESSAGE, QS_TIMER][usize::from(b >> 1) % 4];
            let flags = [0, MWMO_INPUTAVAILABLE, MWMO_ALERTABLE, MWMO_WAITALL][usize::from(b >> 3) % 4];
            ignore(ctx.msg_wait_for_multiple_objects_ex(handles, u32::from(a % 4) * 3, mask, flags).await);
        }
        110 => {
            if b & 1 != 0 {
                ignore(ctx.wait_message().await);
            } else {
                ignore(ctx.get_queue_status([QS_ALLINPUT, QS_POSTMESSAGE, 0xFFFF_FFFF][usize::from(b >> 1) % 3]).await);
            }
        }
        _ => match b % 9 {
            6 => ignore(ctx.unregister_class(["fz", "nope"][usize::from(a) % 2]).await),
            7 => ignore(ctx.get_window_long_ptr(hwnd, [GWLP_USERDATA, GWLP_ID, 3][usize::from(a) % 3]).await),
            8 => ignore(ctx.find_window_ex(HWND_MESSAGE, fuzz_window(a >> 3), None, Some("b")).await),
            0 => ignore(ctx.find_window(Some("fz"), [None, Some("a")][usize::from(a) % 2]).await),
            1 => ignore(ctx.set_window_long_ptr(hwnd, [GWLP_USERDATA, GWLP_ID, 3][usize::from(a) % 3], 9).await),
            2 => ignore(ctx.get_window_thread_process_id(hwnd, None).await),
            3 => ignore(ctx.register_window_message(["m", "M", ""][usize::from(a) % 3]).await),
            4 => ignore(ctx.is_window(hwnd).await),
            _ => {
                let data = COPYDATASTRUCT { dwData: usize::from(a), lpData: vec![b; usize::from(a & 7)] };
                ignore(ctx.send_message_copydata(target, 0, &data).await);
            }
        },
    }
}

/// Mailslot names: two mailslots, each in two spellings (the namespace is
/// case-insensitive, §18.1), one with a pseudo-directory.
const MAILSLOT_NAMES: [&str; 4] = [r"\\.\mailslot\a", r"\\.\MAILSLOT\A", r"\\.\mailslot\b\c", r"\\.\Mailslot\B\C"];

/// Local mailslot names CreateMailslot and CreateFile must reject (never a remote form or
/// another path in CreateFile: those end the run as Unsupported).
const BAD_MAILSLOT_NAMES: [&str; 4] = [r"\\.\mailslot\", r"\\.\mailslot\a\", r"\\.\mailslot\a\\b", r"\\.\mailslot\\"];

/// Names only CreateMailslot gets: other forms, rejected with ERROR_INVALID_NAME.
const FOREIGN_NAMES: [&str; 4] = ["a", "", r"\\.\pipe\a", r"\\*\mailslot\a"];

/// A name for CreateFile on a mailslot: five in eight valid, else a bad local one.
fn mailslot_name(sel: u8) -> &'static str {
    match sel % 8 {
        5..=7 => BAD_MAILSLOT_NAMES[usize::from(sel >> 3) % BAD_MAILSLOT_NAMES.len()],
        i => MAILSLOT_NAMES[usize::from(i) % MAILSLOT_NAMES.len()],
    }
}

/// A read time-out for CreateMailslot / SetMailslotInfo.
fn mailslot_timeout(sel: u8) -> u32 {
    [0, 1, 5, 20, MAILSLOT_WAIT_FOREVER, 0, 2, MAILSLOT_WAIT_FOREVER][usize::from(sel) % 8]
}

/// The mailslot family's ops (96-111, docs/semantics.md §18). `h` is the handle `a`
/// selects; the calls that take no handle read `a` as a second argument.
async fn mailslot_op(
    ctx: &ThreadCtx,
    op: u8,
    a: u8,
    b: u8,
    h: HANDLE,
    buf: &mut [u8; 64],
    recent: &RefCell<Vec<HANDLE>>,
) {
    let mut n = 0u32;
    match op {
        96 | 97 => {
            // 97: valid names only.
            let name = match (op, a % 8) {
                (96, 6) => Some(FOREIGN_NAMES[usize::from(a >> 3) % FOREIGN_NAMES.len()]),
                (96, 7) => None,
                (96, _) => Some(mailslot_name(a)),
                _ => Some(MAILSLOT_NAMES[usize::from(a) % MAILSLOT_NAMES.len()]),
            };
            let max = [0, 1, 4, 16, u32::MAX][usize::from(b) % 5];
            let sa = (b & 0x80 != 0).then_some(SECURITY_ATTRIBUTES::INHERIT);
            remember(recent, ctx.create_mailslot(name, max, mailslot_timeout(b >> 3), sa.as_ref()).await);
        }
        98 => {
            let access = [GENERIC_WRITE, GENERIC_READ | GENERIC_WRITE, GENERIC_READ, 0, FILE_WRITE_DATA, GENERIC_ALL]
                [usize::from(a >> 3) % 6];
            let share = [FILE_SHARE_READ, 0, FILE_SHARE_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE][usize::from(b) % 4];
            let sa = (a & 0x80 != 0).then_some(SECURITY_ATTRIBUTES::INHERIT);
            let disposition =
                [OPEN_EXISTING, OPEN_EXISTING, 0, OPEN_ALWAYS, TRUNCATE_EXISTING + 1][usize::from(b >> 2) % 5];
            let flags = if b & 0x40 != 0 { FILE_FLAG_OVERLAPPED } else { 0 };
            let c =
                ctx.create_file(mailslot_name(a), access, share, sa.as_ref(), disposition, flags, HANDLE::NULL).await;
            remember(recent, c);
        }
        99 => {
            // A writer: open, write one message.
            let name = MAILSLOT_NAMES[usize::from(a) % MAILSLOT_NAMES.len()];
            let c = ctx.create_file(name, GENERIC_WRITE, FILE_SHARE_READ, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
            remember(recent, c);
            if c != INVALID_HANDLE_VALUE {
                let _ = ctx.write_file(c, &buf[..usize::from(b) % 12], Some(&mut n)).await;
            }
        }
        100 | 101 => {
            let _ = ctx.write_file(h, &buf[..usize::from(b) % 12], Some(&mut n)).await;
        }
        102 | 103 => {
            let _ = ctx.read_file(h, &mut buf[..usize::from(b) % 12], Some(&mut n)).await;
        }
        104 => {
            let (mut max, mut next, mut count, mut timeout) = (0, 0, 0, 0);
            let _ = ctx
                .get_mailslot_info(
                    h,
                    (b & 1 != 0).then_some(&mut max),
                    (b & 2 != 0).then_some(&mut next),
                    (b & 4 != 0).then_some(&mut count),
                    (b & 8 != 0).then_some(&mut timeout),
                )
                .await;
        }
        105 => {
            let _ = ctx.set_mailslot_info(h, mailslot_timeout(b)).await;
        }
        106 => {
            ctx.close_handle(h).await;
        }
        107 => {
            // A server: create, then read once.
            let name = MAILSLOT_NAMES[usize::from(a) % MAILSLOT_NAMES.len()];
            let s = ctx.create_mailslot(Some(name), [0, 8][usize::from(b) % 2], mailslot_timeout(b >> 1), None).await;
            remember(recent, s);
            if s != INVALID_HANDLE_VALUE {
                let _ = ctx.read_file(s, &mut buf[..usize::from(b >> 4) % 12], Some(&mut n)).await;
            }
        }
        108 => {
            let mut dup = HANDLE::NULL;
            let p = ctx.get_current_process();
            let options = DUPLICATE_SAME_ACCESS | if b & 1 != 0 { DUPLICATE_CLOSE_SOURCE } else { 0 };
            let _ = ctx.duplicate_handle(p, h, p, &mut dup, 0, b & 2 != 0, options).await;
            remember(recent, dup);
        }
        109 => {
            ctx.wait_for_single_object(h, u32::from(b % 5)).await;
        }
        110 => {
            // OVERLAPPED reads and writes, and their collection.
            let ov = overlapped_for(0x40 | (b & 0x83), HANDLE::NULL);
            let len = usize::from(b >> 3 & 7);
            match b >> 6 & 1 {
                0 => ignore(ctx.read_file_overlapped(h, &IoBuffer::new(len), None, &ov).await),
                _ => ignore(ctx.write_file_overlapped(h, &[b'm'; 7][..len], None, &ov).await),
            }
            if b & 0x04 != 0 {
                ignore(ctx.get_overlapped_result(h, &ov, &mut n, b & 0x20 != 0).await);
            }
        }
        _ => {
            ctx.sleep(u32::from(b % 4)).await;
        }
    }
}

thread_local! {
    /// The views the program's MapViewOfFile(Ex) calls returned, by process id (reset by
    /// `run_program`): loads, stores and interlocked operations mostly aim at them.
    static VIEWS: RefCell<Vec<(u32, usize)>> = const { RefCell::new(Vec::new()) };
}

/// An address for a memory op. Usually 8-byte-aligned in the first page of one of the
/// views this process mapped (`a` picks it, newest first; it may have been unmapped
/// since, or forbid the access), after mapping a read-write view of the section "m" if it
/// has none; one time in sixteen an address that probably is not in a view (0x10000000
/// and up, where views go, or 0). A bad address ends the run with an access violation: an
/// outcome like any other, but one that ends the program, so it is kept rare.
async fn view_address(ctx: &ThreadCtx, a: u8, b: u8, recent: &RefCell<Vec<HANDLE>>) -> usize {
    let offset = usize::from(b) * 8 % 0x1000;
    if a.is_multiple_of(16) {
        return [0x1000_0000, 0x1003_0000, 0][usize::from(a >> 4) % 3] + offset;
    }
    let pid = ctx.get_current_process_id();
    let mine = || VIEWS.with(|v| v.borrow().iter().filter(|(p, _)| *p == pid).map(|(_, at)| *at).collect::<Vec<_>>());
    if mine().is_empty() {
        let m = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 0x1000, Some("m")).await;
        remember(recent, m);
        let at = ctx.map_view_of_file(m, FILE_MAP_WRITE, 0, 0, 0).await;
        if at != 0 {
            VIEWS.with(|v| v.borrow_mut().push((pid, at)));
        }
    }
    let mine = mine();
    if mine.is_empty() {
        return offset;
    }
    mine[mine.len() - 1 - usize::from(a >> 4) % mine.len()] + offset
}

/// The file-mapping family's ops (96-111, docs/semantics.md §19): sections, views, loads,
/// stores and interlocked operations. `h` is the handle `a` selects. Nothing here may end
/// the run as Unsupported: CreateFileMapping only ever gets INVALID_HANDLE_VALUE or a
/// value that is no handle (never a real file handle), and no large-page flags.
async fn mapping_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    const NAMES: [Option<&str>; 5] = [None, Some("m"), Some("M"), Some("e"), Some("m")];
    match op {
        96 | 97 => {
            let file = if op == 96 { INVALID_HANDLE_VALUE } else { [HANDLE(0), HANDLE(0x1234)][usize::from(b) % 2] };
            let protect = [PAGE_READWRITE, PAGE_READONLY, PAGE_WRITECOPY, PAGE_EXECUTE_READWRITE, 0, PAGE_EXECUTE]
                [usize::from(b) % 6];
            // SEC_RESERVE views fault on any touch: rare.
            let sec =
                [0, SEC_COMMIT, 0, SEC_COMMIT, 0, SEC_RESERVE, 0, SEC_COMMIT | SEC_RESERVE][usize::from(b >> 3) % 8];
            let (high, low) =
                [(0, 0x1000), (0, 0x10000), (0, 0x30000), (0, 1), (0, 0), (0x8000_0000, 0), (1, 0)][usize::from(a) % 7];
            let sa = (a & 0x80 != 0).then_some(SECURITY_ATTRIBUTES::INHERIT);
            let name = NAMES[usize::from(b >> 5) % NAMES.len()];
            remember(recent, ctx.create_file_mapping(file, sa.as_ref(), protect | sec, high, low, name).await);
        }
        98 => {
            let access = [FILE_MAP_WRITE, FILE_MAP_READ, FILE_MAP_COPY, 0, FILE_MAP_ALL_ACCESS, GENERIC_READ]
                [usize::from(b) % 6];
            let name = NAMES[usize::from(a) % NAMES.len()];
            remember(recent, ctx.open_file_mapping(access, b & 0x80 != 0, name).await);
        }
        99 | 100 => {
            // Mostly writable views: a store through a read-only one ends the run.
            let access = [
                FILE_MAP_WRITE,
                FILE_MAP_WRITE,
                FILE_MAP_ALL_ACCESS,
                FILE_MAP_COPY,
                FILE_MAP_WRITE | FILE_MAP_COPY,
                FILE_MAP_WRITE | FILE_MAP_EXECUTE,
                FILE_MAP_READ,
                0,
            ][usize::from(b) % 8];
            let offset = [0, 0, 0, 0x10000, 1, 0x1000][usize::from(b >> 3) % 6];
            let bytes = [0, 0, 1, 0x1000, 0x10001, usize::MAX][usize::from(b >> 5) % 6];
            let at = if op == 99 {
                ctx.map_view_of_file(h, access, 0, offset, bytes).await
            } else {
                let base = [0x1000_0000, 0x1001_0000, 0x5000_0000, 0x5000_002a, 0x7FFF_FFFF_0000, usize::MAX & !0xFFFF]
                    [usize::from(a) % 6];
                ctx.map_view_of_file_ex(h, access, 0, offset, bytes, base).await
            };
            if at != 0 {
                let pid = ctx.get_current_process_id();
                VIEWS.with(|v| v.borrow_mut().push((pid, at)));
            }
        }
        101 => {
            let at = view_address(ctx, a, b, recent).await + usize::from(b >> 4);
            if ctx.unmap_view_of_file(at).await == TRUE {
                // Forget it, so that later accesses aim at live views.
                let pid = ctx.get_current_process_id();
                VIEWS.with(|v| v.borrow_mut().retain(|&(p, base)| p != pid || !(base..base + 0x1010).contains(&at)));
            }
        }
        102 | 103 => {
            let at = view_address(ctx, a, b, recent).await;
            match b % 4 {
                0 => ctx.write_u32(at, u32::from(a) * 0x0101_0101).await,
                1 => ctx.write_u64(at, u64::from(a) << 32 | u64::from(b)).await,
                2 => ctx.write_u8(at + usize::from(b % 8), a).await,
                _ => ctx.write_memory(at + usize::from(b % 3), &[a; 16]).await,
            }
        }
        104 | 105 => {
            let at = view_address(ctx, a, b, recent).await;
            match b % 4 {
                0 => drop(ctx.read_u32(at).await),
                1 => drop(ctx.read_u64(at).await),
                2 => drop(ctx.read_u16(at + 1).await),
                _ => {
                    let mut buf = [0u8; 16];
                    ctx.read_memory(at + usize::from(b % 3), &mut buf).await;
                }
            }
        }
        106 => {
            let at = view_address(ctx, a, b, recent).await;
            let v = i32::from(b);
            let _ = match b % 7 {
                0 => ctx.interlocked_increment(at).await,
                1 => ctx.interlocked_decrement(at).await,
                2 => ctx.interlocked_exchange(at, v).await,
                3 => ctx.interlocked_exchange_add(at, v).await,
                4 => ctx.interlocked_compare_exchange(at, v, 0).await,
                5 => ctx.interlocked_and(at, v).await,
                _ => ctx.interlocked_or(at, v).await,
            };
        }
        107 => {
            let at = view_address(ctx, a, b, recent).await;
            let v = i64::from(b) << 33;
            let _ = match b % 7 {
                0 => ctx.interlocked_increment64(at).await,
                1 => ctx.interlocked_decrement64(at).await,
                2 => ctx.interlocked_exchange64(at, v).await,
                3 => ctx.interlocked_exchange_add64(at, v).await,
                4 => ctx.interlocked_compare_exchange64(at, v, 0).await,
                5 => ctx.interlocked_and64(at, v).await,
                _ => ctx.interlocked_or64(at, v).await,
            };
        }
        108 => {
            let _ = ctx.flush_view_of_file(view_address(ctx, a, b, recent).await, usize::from(b)).await;
            ctx.memory_barrier().await;
        }
        109 => {
            ctx.close_handle(h).await;
        }
        110 => {
            let mut dup = HANDLE::NULL;
            let p = ctx.get_current_process();
            let (access, options) = match b % 3 {
                0 => (0, DUPLICATE_SAME_ACCESS),
                1 => (FILE_MAP_READ, 0),
                _ => (FILE_MAP_WRITE, DUPLICATE_CLOSE_SOURCE),
            };
            let _ = ctx.duplicate_handle(p, h, p, &mut dup, access, b & 0x80 != 0, options).await;
            remember(recent, dup);
        }
        _ => {
            // A writer: the shared section "m", a read-write view, one store.
            let m = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE, 0, 0x1000, Some("m")).await;
            remember(recent, m);
            let at = ctx.map_view_of_file(m, FILE_MAP_WRITE, 0, 0, 0).await;
            if at != 0 {
                let pid = ctx.get_current_process_id();
                VIEWS.with(|v| v.borrow_mut().push((pid, at)));
                ctx.write_u32(at + usize::from(b) * 4 % 0x1000, u32::from(a)).await;
            }
        }
    }
}

/// Three of each user-mode lock, shared by every thread of a run, and what each thread
/// holds: (thread id, lock kind 0 = critical section, 1 = SRW exclusive, 2 = SRW shared,
/// index). The child processes use values that name nothing in their memory.
#[derive(Default)]
struct LockPool {
    cs: [CRITICAL_SECTION; 3],
    srw: [SRWLOCK; 3],
    cv: [CONDITION_VARIABLE; 3],
    held: Vec<(u32, u8, usize)>,
}

thread_local! {
    /// The run's user-mode locks (made at the first lock op of a run).
    static LOCKS: RefCell<Option<LockPool>> = const { RefCell::new(None) };
}

/// The lock family's ops (96-111, docs/semantics.md §20) on three critical sections
/// (initialised by main's first lock op), three SRW locks and three condition variables
/// picked by `a`. Mostly well-behaved, so runs go deep: a thread leaves, releases or sleeps
/// with only what it holds, and acquires only what it does not hold, except when `b`'s top
/// bits are all set: then the op is made regardless, and the undefined misuse ends the run
/// as `Failed` with a kernel message (an outcome like any other here), or a recursive SRW
/// acquire deadlocks. DeleteCriticalSection is made only in that case.
async fn lock_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8) {
    let tid = ctx.get_current_thread_id();
    let fresh = LOCKS.with(|l| l.borrow().is_none());
    if fresh {
        LOCKS.with(|l| *l.borrow_mut() = Some(LockPool::default()));
        let css = LOCKS.with(|l| l.borrow().as_ref().map(|p| p.cs.clone()).expect("made above"));
        for cs in &css {
            ctx.initialize_critical_section(cs).await;
        }
    }
    let (i, j, k) = (usize::from(a) % 3, usize::from(a >> 2) % 3, usize::from(a >> 4) % 3);
    let (cs, srw, cv) = LOCKS.with(|l| {
        let l = l.borrow();
        let p = l.as_ref().expect("made above");
        (p.cs[i].clone(), p.srw[j].clone(), p.cv[k].clone())
    });
    let rogue = b >= 0xF0;
    let holds =
        |kind: u8, idx: usize| LOCKS.with(|l| l.borrow().as_ref().is_some_and(|p| p.held.contains(&(tid, kind, idx))));
    let srw_held = holds(1, j) || holds(2, j);
    let note = |kind: u8, idx: usize, take: bool| {
        LOCKS.with(|l| {
            if let Some(p) = l.borrow_mut().as_mut() {
                if take {
                    p.held.push((tid, kind, idx));
                } else if let Some(at) = p.held.iter().position(|&h| h == (tid, kind, idx)) {
                    p.held.remove(at);
                }
            }
        })
    };
    let timeout = [0, 1, 5, 20, INFINITE][usize::from(b) % 5];
    match op {
        96 if rogue => ctx.initialize_critical_section(&cs).await,
        97 => {
            ctx.enter_critical_section(&cs).await;
            note(0, i, true);
        }
        98 => {
            if ctx.try_enter_critical_section(&cs).await == TRUE {
                note(0, i, true);
            }
        }
        99 if rogue || holds(0, i) => {
            ctx.leave_critical_section(&cs).await;
            note(0, i, false);
        }
        100 if rogue => ctx.delete_critical_section(&cs).await,
        101 if rogue || !srw_held => {
            ctx.acquire_srw_lock_exclusive(&srw).await;
            note(1, j, true);
        }
        102 if rogue || !srw_held => {
            ctx.acquire_srw_lock_shared(&srw).await;
            note(2, j, true);
        }
        103 if rogue || !srw_held => {
            if ctx.try_acquire_srw_lock_exclusive(&srw).await == TRUE {
                note(1, j, true);
            }
        }
        104 if rogue || !srw_held => {
            if ctx.try_acquire_srw_lock_shared(&srw).await == TRUE {
                note(2, j, true);
            }
        }
        105 if rogue || holds(1, j) => {
            ctx.release_srw_lock_exclusive(&srw).await;
            note(1, j, false);
        }
        106 if rogue || holds(2, j) => {
            ctx.release_srw_lock_shared(&srw).await;
            note(2, j, false);
        }
        107 if rogue || holds(0, i) => {
            let _ = ctx.sleep_condition_variable_cs(&cv, &cs, timeout).await;
        }
        108 if rogue || srw_held => {
            let flags = if holds(2, j) { CONDITION_VARIABLE_LOCKMODE_SHARED } else { 0 };
            let _ = ctx.sleep_condition_variable_srw(&cv, &srw, timeout, flags).await;
        }
        109 => ctx.wake_condition_variable(&cv).await,
        110 => ctx.wake_all_condition_variable(&cv).await,
        111 if rogue => ctx.initialize_condition_variable(&cv),
        _ => ctx.sleep(0).await,
    }
}

/// The COM family's interface pointers, streams and MTA cookies, each with the process
/// whose memory it is in, and the pointers released to 0 (used again only by rogue ops).
#[derive(Default)]
struct ComPool {
    ptrs: Vec<(u32, ComPtr)>,
    released: Vec<ComPtr>,
    streams: Vec<(u32, IStream)>,
    cookies: Vec<(u32, u64)>,
    /// Family 12: class registration cookies (CoRegisterClassObject), with the process.
    classes: Vec<(u32, u32)>,
    /// Family 12: fuzz.exe's handle to the server process it started, and that process's id.
    server: Option<(HANDLE, u32)>,
    /// Family 12: the interface each kept pointer was asked for, so that methods are
    /// called through pointers of their interface (a mix-up is a reported `Failed`,
    /// which only rogue ops aim at).
    iids: Vec<(ComPtr, IID)>,
    /// References AddRef added to kept pointers (one entry each): a pointer leaves `ptrs`
    /// at the Release that drops its own last reference, whatever count Release returns
    /// (the object's or the proxy manager's, docs/semantics.md §21.23, §21.24).
    extra: Vec<ComPtr>,
}

/// IUnknown::AddRef through a kept pointer, remembered in the pool.
async fn pool_add_ref(ctx: &ThreadCtx, p: ComPtr) {
    let _ = ctx.add_ref(p).await;
    COM.with(|c| c.borrow_mut().extra.push(p));
}

/// IUnknown::Release through a kept pointer: the pool drops the pointer when its own last
/// reference goes (used again only by rogue ops).
async fn pool_release(ctx: &ThreadCtx, p: ComPtr) {
    let _ = ctx.release(p).await;
    COM.with(|c| {
        let mut c = c.borrow_mut();
        if let Some(i) = c.extra.iter().position(|&q| q == p) {
            c.extra.remove(i);
        } else if c.ptrs.iter().any(|k| k.1 == p) {
            c.ptrs.retain(|k| k.1 != p);
            c.released.push(p);
        }
    });
}

thread_local! {
    /// The run's COM values.
    static COM: RefCell<ComPool> = RefCell::new(ComPool::default());
}

/// The COM family's ops (96-111, docs/semantics.md §21): initialisation in both models
/// (and bad flags), OLE, apartment types, scripted message filters, MTA usage cookies, toy objects, marshalling in
/// streams with every MSHLFLAGS, calls through direct pointers and proxies of any
/// apartment (wrong-thread, disconnected, input-synchronous), CoWaitForMultipleHandles,
/// AddRef and Release, CoLockObjectExternal and CoDisconnectObject (op 111). Pointers and streams are picked by `a` among those this process made; one
/// released to 0 is used again only when `b`'s top bits are all set (the kernel then ends
/// the run as `Failed`, an outcome like any other here).
async fn com_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE) {
    let pid = ctx.get_current_process_id();
    let rogue = b >= 0xF0;
    let ptr = COM.with(|c| {
        let c = c.borrow();
        let mine: Vec<ComPtr> = c.ptrs.iter().filter(|p| p.0 == pid).map(|p| p.1).collect();
        if rogue && !c.released.is_empty() {
            return Some(c.released[usize::from(a) % c.released.len()]);
        }
        (!mine.is_empty()).then(|| mine[usize::from(a) % mine.len()])
    });
    let stream = COM.with(|c| {
        let c = c.borrow();
        let mine: Vec<IStream> = c.streams.iter().filter(|p| p.0 == pid).map(|p| p.1).collect();
        (!mine.is_empty()).then(|| mine[usize::from(a >> 3) % mine.len()])
    });
    let keep_ptr = |p: Option<ComPtr>| {
        if let Some(p) = p {
            COM.with(|c| c.borrow_mut().ptrs.push((pid, p)));
        }
    };
    let iid = [IID_IToy, IID_IUnknown, IID_IToyCallback, IID_IClassFactory][usize::from(b >> 2) % 4];
    match op {
        96 => {
            let coinit = [COINIT_APARTMENTTHREADED, COINIT_MULTITHREADED, COINIT_APARTMENTTHREADED | 4, 0x100]
                [usize::from(b) % 4];
            let reserved = (b & 0x30 == 0x30).then_some(1);
            let _ = ctx.co_initialize_ex(reserved, coinit).await;
        }
        97 => ctx.co_uninitialize().await,
        98 => {
            let _ = ctx.ole_initialize(None).await;
        }
        99 => ctx.ole_uninitialize().await,
        100 if b >= 0xC0 => {
            // A scripted message filter (or none): answers and retries picked by b.
            let f = MessageFilter {
                handle_in_coming_call: vec![u32::from(b) % 3, SERVERCALL_ISHANDLED],
                when_call_pending: (b & 4 != 0).then_some(SERVERCALL_RETRYLATER),
                retry_rejected_call: vec![[-1, 0, 150][usize::from(b >> 3) % 3], -1],
                message_pending: if b & 2 == 0 { Vec::new() } else { vec![u32::from(b >> 4) % 3] },
            };
            let mut prev = None;
            let _ = ctx.co_register_message_filter((b & 1 == 0).then_some(f), Some(&mut prev)).await;
        }
        100 => {
            let (mut t, mut q) = (0, 0);
            let _ = ctx.co_get_apartment_type((b & 1 == 0).then_some(&mut t), (b & 2 == 0).then_some(&mut q)).await;
        }
        101 => {
            let mut cookie = 0;
            if ctx.co_increment_mta_usage((b & 7 != 7).then_some(&mut cookie)).await == S_OK {
                COM.with(|c| c.borrow_mut().cookies.push((pid, cookie)));
            }
        }
        102 => {
            let cookie = COM.with(|c| {
                let mut c = c.borrow_mut();
                match c.cookies.iter().position(|k| k.0 == pid) {
                    Some(i) if !rogue => c.cookies.remove(i).1,
                    _ => u64::from(b),
                }
            });
            let _ = ctx.co_decrement_mta_usage(cookie).await;
        }
        103 => {
            let clsid = if b & 0x0f == 0x0f { IID_IUnknown } else { CLSID_Toy };
            let ctxflags = if b & 0x30 == 0x30 { CLSCTX_LOCAL_SERVER } else { CLSCTX_INPROC_SERVER };
            let iid = if b & 0xc0 == 0xc0 { IID_IClassFactory } else { IID_IToy };
            let mut p = None;
            let _ = ctx.co_create_instance(&clsid, None, ctxflags, &iid, Some(&mut p)).await;
            keep_ptr(p);
        }
        104 => {
            let mut s = None;
            let _ = ctx.co_marshal_inter_thread_interface_in_stream(&iid, ptr, (b & 1 == 0).then_some(&mut s)).await;
            if let Some(s) = s {
                COM.with(|c| c.borrow_mut().streams.push((pid, s)));
            }
        }
        105 => {
            let mut p = None;
            let _ = ctx.co_get_interface_and_release_stream(stream, &iid, Some(&mut p)).await;
            if let Some(s) = stream {
                COM.with(|c| c.borrow_mut().streams.retain(|k| k.1 != s));
            }
            keep_ptr(p);
        }
        106 => {
            let mut s = None;
            let _ = ctx.create_stream_on_hglobal(Some(&mut s)).await;
            if let Some(s) = s {
                COM.with(|c| c.borrow_mut().streams.push((pid, s)));
                let _ = ctx.co_marshal_interface(Some(s), &iid, ptr, MSHCTX_INPROC, None, u32::from(b) % 8).await;
            }
        }
        107 => {
            if let Some(s) = stream {
                if b & 1 == 0 {
                    let _ = ctx.istream_seek_start(s).await;
                }
                if b & 2 == 0 {
                    let mut p = None;
                    let _ = ctx.co_unmarshal_interface(Some(s), &iid, Some(&mut p)).await;
                    keep_ptr(p);
                } else {
                    let _ = ctx.co_release_marshal_data(Some(s)).await;
                }
            }
        }
        108 => {
            if let Some(p) = ptr {
                let _ = match b % 3 {
                    0 => ctx.itoy_add(p, 1).await,
                    1 => ctx.itoy_get(p, None).await,
                    _ => ctx.itoy_callback_notify(p).await,
                };
            }
        }
        109 => {
            if let Some(p) = ptr {
                let hwnd = WINDOWS.with(|w| w.borrow().first().copied()).unwrap_or(HWND(0x10010));
                let _ = match b % 3 {
                    0 => ctx.itoy_call_back(p, if b & 4 == 0 { ptr } else { None }).await,
                    1 => ctx.itoy_wait_on(p, h).await,
                    _ => ctx.itoy_send_to(p, hwnd, WM_APP).await,
                };
            }
        }
        110 => {
            let flags =
                [0, COWAIT_WAITALL, COWAIT_ALERTABLE, COWAIT_DISPATCH_WINDOW_MESSAGES, 0x100][usize::from(b) % 5];
            let timeout = [0, 1, 10, 50][usize::from(b >> 3) % 4];
            let mut index = 0;
            let handles = [h];
            let hs: Option<&[HANDLE]> = match b >> 5 {
                0 => None,
                1 => Some(&[]),
                _ => Some(&handles),
            };
            let _ = ctx.co_wait_for_multiple_handles(flags, timeout, hs, (b & 0x10 == 0).then_some(&mut index)).await;
        }
        111 => {
            if let Some(p) = ptr {
                if b & 3 == 3 && !rogue {
                    // Reference counts and external locks (§21.16, §21.23 .. §21.25).
                    match (b >> 2) % 4 {
                        0 => pool_add_ref(ctx, p).await,
                        1 => ignore(ctx.co_lock_object_external(Some(p), true, b & 0x10 == 0).await),
                        2 => ignore(ctx.co_lock_object_external(Some(p), false, b & 0x10 == 0).await),
                        _ => ignore(ctx.co_disconnect_object(if b & 0x10 == 0 { Some(p) } else { None }, 0).await),
                    }
                } else {
                    pool_release(ctx, p).await;
                }
            } else if b & 3 == 3 {
                // NULL: E_INVALIDARG (§21.16, §21.25).
                ignore(ctx.co_lock_object_external(None, b & 4 == 0, true).await);
            }
        }
        _ => ctx.sleep(0).await,
    }
}

// ----- family 12: COM local servers (docs/semantics.md §§21.17-21.19) ----------------------

/// CLSCTX values family 12 passes: the local server most often (alone, with the
/// in-process server, all), in-process, none with an undefined bit, the in-process handler.
const LS_CLSCTX: [u32; 8] = [
    CLSCTX_LOCAL_SERVER,
    CLSCTX_LOCAL_SERVER,
    CLSCTX_LOCAL_SERVER,
    CLSCTX_INPROC_SERVER | CLSCTX_LOCAL_SERVER,
    CLSCTX_ALL,
    CLSCTX_INPROC_SERVER,
    0x4000_0000,
    CLSCTX_INPROC_HANDLER,
];

/// REGCLS values family 12 passes: each kind, suspended ones, the bits winsim accepts
/// without a meaning (SURROGATE, AGILE) and one above 0x1F (E_INVALIDARG, §21.17).
const LS_REGCLS: [u32; 8] = [
    REGCLS_SINGLEUSE,
    REGCLS_MULTIPLEUSE,
    REGCLS_MULTI_SEPARATE,
    REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED,
    REGCLS_SINGLEUSE | REGCLS_SUSPENDED,
    REGCLS_SURROGATE,
    REGCLS_AGILE | REGCLS_MULTIPLEUSE,
    0x40,
];

/// Classes family 12 names: the one servers register (most often), CLSID_Toy (built in),
/// and a class nobody registers (REGDB_E_CLASSNOTREG).
const LS_CLSID: [CLSID; 8] = [
    CLSID_ToyServer,
    CLSID_ToyServer,
    CLSID_ToyServer,
    CLSID_ToyServer,
    CLSID_ToyServer,
    CLSID_ToyServer,
    CLSID_Toy,
    IID_IUnknown,
];

/// The named event server.exe sets once its class object is registered (family 12).
const SERVER_READY: &str = "winsim-fuzz-server-ready";

/// server.exe of a family-12 run: initialises COM (an STA or the MTA, by the seed),
/// registers CLSID_Toy's class factory as CLSID_ToyServer for CLSCTX_LOCAL_SERVER with a
/// REGCLS picked by the seed, runs the whole input's ops, then serves calls for a while
/// (CoWaitForMultipleHandles pumps in an STA) and ends with whatever it still holds.
async fn com_server_body(ctx: ThreadCtx, script: Script, seed: u8) -> u32 {
    let pid = ctx.get_current_process_id();
    let model = if seed & 1 == 0 { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
    let _ = ctx.co_initialize_ex(None, model).await;
    let mut cf = None;
    let _ = ctx.co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf)).await;
    let flags = [REGCLS_MULTIPLEUSE, REGCLS_SINGLEUSE, REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED, REGCLS_MULTI_SEPARATE]
        [usize::from(seed >> 1) % 4];
    let mut cookie = 0;
    if ctx.co_register_class_object(&CLSID_ToyServer, cf, CLSCTX_LOCAL_SERVER, flags, Some(&mut cookie)).await == S_OK {
        COM.with(|c| c.borrow_mut().classes.push((pid, cookie)));
    }
    if let Some(cf) = cf {
        COM.with(|c| {
            let mut c = c.borrow_mut();
            c.ptrs.push((pid, cf));
            c.iids.push((cf, IID_IClassFactory));
        });
    }
    // Tell fuzz.exe the class object is registered (it waits for this in most runs, so
    // that its activations find the class; in the others registration and activation race).
    if flags & REGCLS_SUSPENDED != 0 {
        // The documented pattern: register suspended, then resume all at once (Learn,
        // REGCLS_SUSPENDED and CoResumeClassObjects).
        let _ = ctx.co_resume_class_objects().await;
    }
    let ready = ctx.create_event(None, true, false, Some(SERVER_READY)).await;
    ctx.set_event(ready).await;
    interpret(ctx.clone(), script).await;
    let never = ctx.create_event(None, true, false, None).await;
    let mut index = 0;
    let _ = ctx.co_wait_for_multiple_handles(0, 100, Some(&[never]), Some(&mut index)).await;
    0
}

/// The local-server family's ops (96-111, docs/semantics.md §§21.17-21.19): COM
/// initialisation, CoRegisterClassObject with every REGCLS and CLSCTX (and bad ones, NULL
/// object or cookie), CoRevokeClassObject (own, foreign and made-up cookies),
/// CoResumeClassObjects, CoGetClassObject and CoCreateInstance with every CLSCTX,
/// IClassFactory::CreateInstance, QueryInterface, IToy calls and Release through what they
/// gave (proxies into server.exe among them), pumping, CoDisconnectObject, the server's
/// end (CoUninitialize, ExitProcess, TerminateProcess from the client). Pointers are
/// picked by `a` among those this process holds; a released one is used again only when
/// `b >= 0xF0` (the kernel then ends the run as `Failed`).
async fn local_server_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE) {
    let pid = ctx.get_current_process_id();
    let rogue = b >= 0xF0;
    // A pointer of this process whose interface `want` accepts (any pointer, or a released
    // one, for a rogue op).
    let pick = |want: &dyn Fn(IID) -> bool| {
        COM.with(|c| {
            let c = c.borrow();
            if rogue && !c.released.is_empty() {
                return Some(c.released[usize::from(a) % c.released.len()]);
            }
            let iid_of = |p: ComPtr| c.iids.iter().rev().find(|k| k.0 == p).map_or(IID_IUnknown, |k| k.1);
            let mine: Vec<ComPtr> =
                c.ptrs.iter().filter(|p| p.0 == pid && (rogue || want(iid_of(p.1)))).map(|p| p.1).collect();
            (!mine.is_empty()).then(|| mine[usize::from(a) % mine.len()])
        })
    };
    let ptr = pick(&|_| true);
    let keep_ptr = |p: Option<ComPtr>, iid: IID| {
        if let Some(p) = p {
            COM.with(|c| {
                let mut c = c.borrow_mut();
                c.ptrs.push((pid, p));
                c.iids.push((p, iid));
            });
        }
    };
    let in_server = COM.with(|c| c.borrow().server.is_some_and(|s| s.1 == pid));
    // A client (fuzz.exe, its children) names the server's class for the local server in
    // half its ops (by `a`'s bit 3), so that activations mostly reach server.exe.
    let (clsid, clsctx) = if !in_server && a & 0x08 == 0 {
        (CLSID_ToyServer, CLSCTX_LOCAL_SERVER)
    } else {
        (LS_CLSID[usize::from(b) % 8], LS_CLSCTX[usize::from(b >> 3) % 8])
    };
    let iid = [IID_IToy, IID_IUnknown, IID_IClassFactory, IID_IToyCallback][usize::from(a >> 4) % 4];
    let out = b & 0xE0 != 0xE0;
    // server.exe runs the same ops as the clients; some mean more in one role than the
    // other (the coverage bias of §21.17's family: clients activate, the server lives).
    match op {
        96 => {
            let coinit = [COINIT_APARTMENTTHREADED, COINIT_MULTITHREADED, 0x100][usize::from(b) % 3];
            let _ = ctx.co_initialize_ex(None, coinit).await;
        }
        97 if in_server && b & 3 != 0 => {
            // In the server, three in four CoUninitialize ops pump instead, so that its
            // class object outlives the first few ops and clients can reach it.
            let mut index = 0;
            let _ = ctx.co_wait_for_multiple_handles(0, u32::from(b % 8), Some(&[h]), Some(&mut index)).await;
        }
        97 => ctx.co_uninitialize().await,
        98 => {
            let mut p = None;
            let _ = ctx.co_get_class_object(&clsid, clsctx, None, &iid, out.then_some(&mut p)).await;
            keep_ptr(p, iid);
        }
        99 => {
            let flags = LS_REGCLS[usize::from(b >> 5)];
            let unk = if a & 0x0F == 0x0F { None } else { ptr };
            let mut cookie = 0;
            let has = a & 0x0F != 0x0E;
            if ctx.co_register_class_object(&clsid, unk, clsctx, flags, has.then_some(&mut cookie)).await == S_OK {
                COM.with(|c| c.borrow_mut().classes.push((pid, cookie)));
            }
        }
        100 => {
            // This process's cookie, another process's, or a made-up one.
            let cookie = COM.with(|c| {
                let c = c.borrow();
                let (mine, theirs): (Vec<&(u32, u32)>, Vec<_>) = c.classes.iter().partition(|k| k.0 == pid);
                match b % 4 {
                    0 | 1 if !mine.is_empty() => mine[usize::from(a) % mine.len()].1,
                    2 if !theirs.is_empty() => theirs[usize::from(a) % theirs.len()].1,
                    _ => u32::from(b) * 7 + 1,
                }
            });
            let _ = ctx.co_revoke_class_object(cookie).await;
        }
        101 => {
            let _ = ctx.co_resume_class_objects().await;
        }
        102 => {
            let outer = if b & 0x80 != 0 && a & 1 == 1 { ptr } else { None };
            let mut p = None;
            let _ = ctx.co_create_instance(&clsid, outer, clsctx, &iid, out.then_some(&mut p)).await;
            keep_ptr(p, iid);
        }
        103 => {
            if let Some(f) = pick(&|i| i == IID_IClassFactory) {
                let outer = if b & 0x40 != 0 && a & 1 == 1 { ptr } else { None };
                let mut p = None;
                let _ = ctx.iclassfactory_create_instance(f, outer, &iid, out.then_some(&mut p)).await;
                keep_ptr(p, iid);
            }
        }
        104 => {
            if let Some(p) = ptr {
                let mut q = None;
                let _ = ctx.query_interface(p, &iid, out.then_some(&mut q)).await;
                keep_ptr(q, iid);
            }
        }
        105 => {
            let (toy, cb) = (pick(&|i| i == IID_IToy), pick(&|i| i == IID_IToyCallback));
            let _ = match (b % 4, toy, cb) {
                (0, Some(p), _) => ctx.itoy_add(p, 1).await,
                (1, Some(p), _) => ctx.itoy_get(p, None).await,
                (2, _, Some(p)) => ctx.itoy_callback_notify(p).await,
                (3, Some(p), _) => ctx.itoy_call_back(p, if b & 4 == 0 { cb } else { None }).await,
                _ => S_OK,
            };
        }
        106 => {
            if let Some(p) = ptr {
                match b & 3 {
                    1 if !rogue => pool_add_ref(ctx, p).await,
                    // A server pins an object with an external lock, or lets it go (§21.25).
                    3 if !rogue => ignore(ctx.co_lock_object_external(Some(p), b & 4 == 0, b & 8 == 0).await),
                    _ => pool_release(ctx, p).await,
                }
            }
        }
        107 => {
            // Pump: CoWaitForMultipleHandles (an STA serves calls), or a PeekMessage loop.
            if b & 1 == 0 {
                let mut index = 0;
                let _ = ctx.co_wait_for_multiple_handles(0, u32::from(b % 24), Some(&[h]), Some(&mut index)).await;
            } else {
                let mut msg = MSG::default();
                for _ in 0..(b % 4 + 1) {
                    if ctx.peek_message(&mut msg, HWND(0), 0, 0, PM_REMOVE).await == FALSE {
                        break;
                    }
                    let _ = ctx.dispatch_message(&msg).await;
                }
            }
        }
        108 => {
            // The server's end: its apartment (CoUninitialize), its process (ExitProcess,
            // or TerminateProcess from fuzz.exe), or only a wait without pumping.
            let server = COM.with(|c| c.borrow().server);
            match b % 4 {
                0 => ctx.co_uninitialize().await,
                1 if server.is_some_and(|s| s.1 == pid) => ctx.exit_process(3).await,
                2 => {
                    if let Some((hp, _)) = server.filter(|s| s.1 != pid) {
                        ctx.terminate_process(hp, 4).await;
                    }
                }
                _ => {
                    ctx.wait_for_single_object(h, u32::from(b % 10)).await;
                }
            }
        }
        109 => {
            if b & 1 == 0 {
                let _ = ctx.co_disconnect_object(if b & 2 == 0 { ptr } else { None }, 0).await;
            } else {
                // A filter that rejects or asks to retry, or none (§21.9a).
                let f = MessageFilter {
                    handle_in_coming_call: vec![u32::from(b >> 1) % 3, SERVERCALL_ISHANDLED],
                    when_call_pending: None,
                    retry_rejected_call: vec![[-1, 0, 150][usize::from(b >> 3) % 3], -1],
                    message_pending: Vec::new(),
                };
                let mut prev = None;
                let _ = ctx.co_register_message_filter((b & 2 == 0).then_some(f), Some(&mut prev)).await;
            }
        }
        110 => {
            // A toy object (not a class factory) registered as a class object: clients'
            // CreateInstance through it must end as a reported misuse, never a panic.
            let mut p = None;
            let _ = ctx.co_create_instance(&CLSID_Toy, None, CLSCTX_INPROC_SERVER, &IID_IToy, Some(&mut p)).await;
            if p.is_some() && b & 3 == 0 {
                let mut cookie = 0;
                let flags = LS_REGCLS[usize::from(b >> 5)];
                if ctx
                    .co_register_class_object(&CLSID_ToyServer, p, CLSCTX_LOCAL_SERVER, flags, Some(&mut cookie))
                    .await
                    == S_OK
                {
                    COM.with(|c| c.borrow_mut().classes.push((pid, cookie)));
                }
            }
            keep_ptr(p, IID_IToy);
        }
        _ if !in_server && b & 1 == 0 => {
            // In a client, half of these ops activate the server's class: CoCreateInstance
            // (or CoGetClassObject) of CLSID_ToyServer with CLSCTX_LOCAL_SERVER, keeping
            // what it gives (proxies the later ops call and release).
            let mut p = None;
            if b & 2 == 0 {
                let _ = ctx.co_create_instance(&CLSID_ToyServer, None, CLSCTX_LOCAL_SERVER, &iid, Some(&mut p)).await;
                keep_ptr(p, iid);
            } else {
                let _ = ctx
                    .co_get_class_object(&CLSID_ToyServer, CLSCTX_LOCAL_SERVER, None, &IID_IClassFactory, Some(&mut p))
                    .await;
                keep_ptr(p, IID_IClassFactory);
            }
        }
        _ => {
            // CoGetClassObject(CLSID_Toy) in-process and its registration for the local
            // server: a second server inside whichever process runs this.
            let mut cf = None;
            let _ = ctx
                .co_get_class_object(&CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut cf))
                .await;
            if cf.is_some() {
                let mut cookie = 0;
                let flags = LS_REGCLS[usize::from(b >> 5)];
                if ctx.co_register_class_object(&CLSID_ToyServer, cf, clsctx, flags, Some(&mut cookie)).await == S_OK {
                    COM.with(|c| c.borrow_mut().classes.push((pid, cookie)));
                }
            }
            keep_ptr(cf, IID_IClassFactory);
        }
    }
}

/// Runs the program that `data` encodes and returns its report.
pub fn run_program(data: &[u8]) -> Option<RunReport> {
    run_program_traced(data, std::env::var_os("FUZZ_TRACE").is_some())
}

/// `run_program` with the trace on or off (coverage checks read the trace).
pub fn run_program_with(data: &[u8], trace: bool) -> Option<RunReport> {
    run_program_traced(data, trace)
}

/// As `run_program`, with the trace on or off.
pub fn run_program_traced(data: &[u8], trace: bool) -> Option<RunReport> {
    if data.len() < 2 {
        return None;
    }
    let (family, data) = match data {
        [0xFF, f, rest @ ..] if !rest.is_empty() => (Some(f >> 4), &data[1..]),
        [0xFF, ..] => return None,
        _ => (None, data),
    };
    let (set, seed) = match (family, data[0] >> 5) {
        (Some(_), _) => (112, data[0] & 0x0f),
        (None, 0..=3) => (16, data[0] & 0x7f),
        (None, 4 | 5) => (24, data[0] & 0x7f),
        (None, 6) => (32, data[0] & 0x3f),
        (None, _) if data[0] & 0x08 != 0 => (96, data[0] & 0x07),
        (None, _) => (64, data[0] & 0x07),
    };
    let tight = family.is_none() && set >= 64 && data[0] & 0x10 != 0;
    let seed = u64::from(seed);
    let split = (data[1] as usize).min(data.len() - 2);
    let split_byte = data[1];
    let body = &data[2..];
    let (first, second) = body.split_at(split.min(body.len()));
    OVERLAPPED_POOL.with(|p| p.borrow_mut().clear());
    WINDOWS.with(|w| w.borrow_mut().clear());
    VIEWS.with(|v| v.borrow_mut().clear());
    LOCKS.with(|l| *l.borrow_mut() = None);
    ONCE.with(|o| *o.borrow_mut() = None);
    VMEM.with(|v| *v.borrow_mut() = VmemPool::default());
    COM.with(|c| *c.borrow_mut() = ComPool::default());
    MQ_HANDLES.with(|m| *m.borrow_mut() = Default::default());
    let recent = Rc::new(RefCell::new(Vec::new()));
    let first = Script { ops: Rc::new(first.to_vec()), set, family, depth: 0, recent: recent.clone() };
    let second = Script { ops: Rc::new(second.to_vec()), set, family, depth: 0, recent };
    let mut config = Config::random(seed);
    config.steps_max = 10_000;
    config.threads_max = 64;
    config.processes_max = 16;
    config.check_invariants = true;
    config.trace = trace;
    if tight {
        config.limit_action = LimitAction::FailCall;
        config.handles_max = 12;
        config.pipe_bytes_max = 24;
    }
    if family == Some(8) {
        // Two hosts (docs/semantics.md §27): this one 10.0.0.1, `far` 10.0.0.2, a lossy,
        // duplicating, reordering link and a partition, all from the seed.
        let mut link = LinkConfig::new("local", "far", 1 + (seed % 7) as u32);
        link.drop_permille = [0, 100, 300, 1000][(seed % 4) as usize];
        link.duplicate_permille = [0, 200][(seed / 4 % 2) as usize];
        link.reorder_permille = [0, 250][(seed / 8 % 2) as usize];
        link.bandwidth = (seed % 3 == 0).then_some(64);
        config.network.links.push(link);
        let to = if seed % 5 == 0 { None } else { Some(40 + seed * 50) };
        config.network.partitions.push(PartitionConfig {
            a: "local".into(),
            b: "far".into(),
            from_ms: seed * 3,
            to_ms: to,
        });
    }
    let mut sim = Sim::new(config);
    if family == Some(8) {
        sim.host("local", [10, 0, 0, 1]).host("far", [10, 0, 0, 2]);
        let ops = Rc::new(data[2..].to_vec());
        sim.program("far.exe", move |ctx| {
            boxed(
                ctx,
                Script { ops: ops.clone(), set, family, depth: DEPTH_MAX, recent: Rc::new(RefCell::new(Vec::new())) },
            )
        });
        sim.start_on("far", "far.exe");
    }
    if family == Some(12) {
        let ops = Rc::new(data[2..].to_vec());
        let seed = data[0] & 0x0f;
        sim.program("server.exe", move |ctx| {
            let s =
                Script { ops: ops.clone(), set, family, depth: DEPTH_MAX, recent: Rc::new(RefCell::new(Vec::new())) };
            Box::pin(com_server_body(ctx, s, seed)) as Pin<Box<dyn Future<Output = u32>>>
        });
    }
    sim.program("fuzz.exe", move |ctx| {
        let (first, second) = (first.clone(), second.clone());
        async move {
            if family == Some(12) {
                // A local server process (family 12) to reach with CLSCTX_LOCAL_SERVER.
                let mut pi = PROCESS_INFORMATION::default();
                let si = STARTUPINFO::default();
                if ctx.create_process(None, Some("server.exe"), None, None, false, 0, &si, &mut pi).await == TRUE {
                    COM.with(|c| c.borrow_mut().server = Some((pi.hProcess, pi.dwProcessId)));
                }
                // The client's main thread starts in an STA or the MTA (seed bit 3) so that
                // its calls reach the server; the second thread starts with no COM.
                let model = if seed & 8 == 0 { COINIT_APARTMENTTHREADED } else { COINIT_MULTITHREADED };
                let _ = ctx.co_initialize_ex(None, model).await;
                // Registration before activation in three runs in four (by the split
                // byte's low bits): wait a little for server.exe's class object.
                if split_byte & 3 != 3 {
                    let ready = ctx.create_event(None, true, false, Some(SERVER_READY)).await;
                    ctx.wait_for_single_object(ready, 20).await;
                }
                // In three runs in four (by the split byte's bits 2-3) the client starts by
                // activating the server's class, so that the ops that follow call, query and
                // release a proxy into server.exe (kept in the pool like any pointer).
                if split_byte & 0x0C != 0x0C {
                    let mut p = None;
                    let _ = ctx
                        .co_create_instance(&CLSID_ToyServer, None, CLSCTX_LOCAL_SERVER, &IID_IToy, Some(&mut p))
                        .await;
                    if let Some(p) = p {
                        let pid = ctx.get_current_process_id();
                        COM.with(|c| {
                            let mut c = c.borrow_mut();
                            c.ptrs.push((pid, p));
                            c.iids.push((p, IID_IToy));
                        });
                    }
                }
            }
            let other = ctx.create_thread(None, 0, move |ctx| boxed(ctx, second), 0, None).await;
            interpret(ctx.clone(), first).await;
            ctx.wait_for_single_object(other, 50).await;
            0
        }
    });
    // A child process (childN.exe, N its depth) runs the whole body of the input, both
    // threads' ops in a row, on one thread; it remembers its own pipe handles.
    for depth in 1..=DEPTH_MAX {
        let ops = Rc::new(data[2..].to_vec());
        let set = set.max(24);
        sim.program(&format!("child{depth}.exe"), move |ctx| {
            boxed(ctx, Script { ops: ops.clone(), set, family, depth, recent: Rc::new(RefCell::new(Vec::new())) })
        });
    }
    Some(sim.run("fuzz.exe"))
}

// ----- family 5: Winsock sockets (docs/semantics.md §22) --------------------------------

/// A socket address for the socket ops: loopback or wildcard on a few ports (0: ephemeral),
/// now and then an address off this host, a bad family or a short length.
fn fuzz_sockaddr(sel: u8) -> (SOCKADDR_IN, i32) {
    let port = [0, 7001, 7002, 7001][usize::from(sel) % 4];
    let ip = [INADDR_LOOPBACK, INADDR_LOOPBACK, INADDR_ANY, 0x0A00_0001][usize::from(sel >> 2) % 4];
    let mut a = SOCKADDR_IN::new(ip, port);
    if sel & 0x40 != 0 {
        a.sin_family = [AF_UNSPEC, 99][usize::from(sel >> 4) % 2] as i16;
    }
    let len = if sel & 0x80 != 0 { 8 } else { SOCKADDR_IN_LEN };
    (a, len)
}

/// The socket family's ops (96-111, docs/semantics.md §22). `h` is the handle `a` selects
/// (sockets are remembered among the recent handles); `b` picks arguments. Blocking calls
/// may wait forever (a deadlock is an outcome); connects to nobody take 2 s of virtual
/// time. AF_INET6 and unmodelled recv/send flags end a run as Unsupported, so they are
/// never passed.
async fn socket_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    let mut buf = [0u8; 16];
    match op {
        96 => ignore(ctx.wsa_startup(MAKEWORD(b & 3, (b >> 2) & 3), None).await),
        97 => ignore(ctx.wsa_cleanup().await),
        98 | 99 => {
            let (af, ty, proto) = match (op, b % 8) {
                (99, k) => (AF_INET, [SOCK_STREAM, SOCK_DGRAM][usize::from(k) % 2], 0),
                (_, 0) => (AF_UNSPEC, SOCK_STREAM, 0),
                (_, 1) => (AF_INET, 7, 0),
                (_, 2) => (AF_INET, SOCK_STREAM, IPPROTO_UDP),
                (_, 3) => (AF_INET, SOCK_DGRAM, IPPROTO_UDP),
                (_, k) => (AF_INET, [SOCK_STREAM, SOCK_DGRAM][usize::from(k) % 2], IPPROTO_TCP * i32::from(k & 1)),
            };
            let flags = if a & 1 != 0 { WSA_FLAG_NO_HANDLE_INHERIT } else { 0 };
            if op == 99 {
                // The valid form starts Winsock first (each start needs its cleanup).
                ignore(ctx.wsa_startup(MAKEWORD(2, 2), None).await);
            }
            let s = ctx.wsa_socket(af, ty, proto, flags).await;
            remember(recent, s);
            if op == 99 && s != INVALID_SOCKET {
                // Now and then a listener on 7001, or a client of it.
                let addr = SOCKADDR_IN::new(INADDR_LOOPBACK, 7001);
                match b >> 5 {
                    1 | 2 => {
                        ignore(ctx.bind(s, Some(&addr), SOCKADDR_IN_LEN).await);
                        ignore(ctx.listen(s, 2).await);
                    }
                    3..=5 => ignore(ctx.connect(s, Some(&addr), SOCKADDR_IN_LEN).await),
                    _ => {}
                }
            }
        }
        100 => {
            let (addr, len) = fuzz_sockaddr(b);
            ignore(ctx.bind(h, (b & 0x30 != 0x30).then_some(&addr), len).await);
        }
        101 => ignore(ctx.listen(h, [-1, 0, 1, 2, SOMAXCONN][usize::from(b) % 5]).await),
        102 => {
            let mut from = SOCKADDR_IN::default();
            let mut len = [SOCKADDR_IN_LEN, 0, 4][usize::from(b) % 3];
            remember(recent, ctx.accept(h, (b & 4 != 0).then_some(&mut from), (b & 8 != 0).then_some(&mut len)).await);
        }
        103 => {
            let (addr, len) = fuzz_sockaddr(b);
            ignore(ctx.connect(h, Some(&addr), len).await);
        }
        104 => {
            let n = usize::from(b % 17);
            ignore(ctx.send(h, &buf[..n.min(16)], [n as i32, -1, 20][usize::from(b >> 5) % 3], 0).await);
        }
        105 => {
            let flags = [0, MSG_PEEK, 0, MSG_OOB][usize::from(b >> 5) % 4];
            ignore(ctx.recv(h, &mut buf, i32::from(b % 17), flags).await);
        }
        106 => {
            let (addr, len) = fuzz_sockaddr(b);
            ignore(ctx.sendto(h, &buf, i32::from(a % 17), 0, (b & 0x30 != 0x30).then_some(&addr), len).await);
        }
        107 => {
            let mut from = SOCKADDR_IN::default();
            let mut len = SOCKADDR_IN_LEN;
            ignore(ctx.recvfrom(h, &mut buf, i32::from(b % 17), 0, Some(&mut from), Some(&mut len)).await);
        }
        108 => ignore(ctx.shutdown(h, [SD_RECEIVE, SD_SEND, SD_BOTH, 7][usize::from(b) % 4]).await),
        109 => ignore(ctx.closesocket(h).await),
        110 => {
            let (level, name) = [
                (SOL_SOCKET, SO_REUSEADDR),
                (SOL_SOCKET, SO_EXCLUSIVEADDRUSE),
                (SOL_SOCKET, SO_LINGER),
                (SOL_SOCKET, SO_RCVBUF),
                (SOL_SOCKET, SO_SNDBUF),
                (SOL_SOCKET, SO_RCVTIMEO),
                (IPPROTO_TCP, TCP_NODELAY),
                (SOL_SOCKET, SO_ACCEPTCONN),
            ][usize::from(b) % 8];
            let v = [0i32, 1, 4, 0x0001_0001][usize::from(b >> 3) % 4].to_le_bytes();
            let len = if b & 0x80 != 0 { 2 } else { 4 };
            ignore(ctx.setsockopt(h, level, name, Some(&v), len).await);
        }
        111 => {
            let mut v = [0u8; 4];
            let mut len = 4;
            let mut addr = SOCKADDR_IN::default();
            let mut alen = SOCKADDR_IN_LEN;
            match b % 9 {
                0 => ignore(ctx.getsockopt(h, SOL_SOCKET, SO_ERROR, Some(&mut v), Some(&mut len)).await),
                1 => ignore(ctx.getsockname(h, Some(&mut addr), Some(&mut alen)).await),
                2 => ignore(ctx.getpeername(h, Some(&mut addr), Some(&mut alen)).await),
                3 => {
                    let mut on = u32::from(b & 0x10 != 0);
                    ignore(ctx.ioctlsocket(h, FIONBIO, Some(&mut on)).await)
                }
                4 => {
                    let mut n = 0;
                    ignore(ctx.ioctlsocket(h, FIONREAD, Some(&mut n)).await)
                }
                5 => ignore(ctx.ioctlsocket(h, 0x1234, None).await),
                6 => {
                    // select on the selected handle and the last one remembered, maybe waiting.
                    let other = recent.borrow().last().copied().unwrap_or(h);
                    let (mut r, mut w, mut x) = (fd_set::default(), fd_set::default(), fd_set::default());
                    FD_SET(h, &mut r);
                    FD_SET(other, &mut w);
                    FD_SET(other, &mut x);
                    let tv = TIMEVAL { tv_sec: 0, tv_usec: i32::from(b >> 4) * 1000 };
                    let t = (b & 0x80 == 0).then_some(&tv);
                    ignore(ctx.select(0, Some(&mut r), Some(&mut w), (b & 0x40 != 0).then_some(&mut x), t).await);
                }
                7 => {
                    let events = [POLLRDNORM, POLLWRNORM, POLLIN | POLLOUT, POLLPRI][usize::from(b >> 4) % 4];
                    let mut fds = [WSAPOLLFD { fd: h, events, revents: 0 }];
                    let timeout = [0, 5, -1, 0][usize::from(b >> 6) % 4];
                    ignore(ctx.wsa_poll(&mut fds, u32::from(b & 0x08 == 0), timeout).await);
                }
                _ => {
                    // WSAEventSelect with a new event, then enumerate.
                    let ev = ctx.wsa_create_event().await;
                    let mask = [FD_READ | FD_WRITE | FD_CLOSE, FD_ACCEPT, 0, FD_ALL_EVENTS][usize::from(b >> 4) % 4];
                    ignore(ctx.wsa_event_select(h, ev, mask as i32).await);
                    let mut ne = WSANETWORKEVENTS::default();
                    ignore(ctx.wsa_enum_network_events(h, ev, &mut ne).await);
                    remember(recent, ev);
                }
            }
        }
        _ => {}
    }
}

// ----- family 8: sockets across hosts (docs/semantics.md §27) ----------------------------

/// An address on either host, a host nobody has, or loopback, on a few ports.
fn net_sockaddr(sel: u8) -> SOCKADDR_IN {
    let ip = [0x0A00_0002, 0x0A00_0001, 0x0A00_0009, INADDR_LOOPBACK][usize::from(sel) % 4];
    SOCKADDR_IN::new(ip, [7001, 7002][usize::from(sel >> 2) % 2])
}

/// The network family's ops (96-111): the process runs on `local` (10.0.0.1) and, the
/// same ops, on `far` (10.0.0.2), linked by a faulty network. Ops 96-98 make listeners,
/// cross-host connects and datagrams; 99-111 are the socket family's ops (§22) on the
/// sockets they made. Connects across a partition take 21 s of virtual time.
async fn net_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    match op {
        96..=98 => {
            ignore(ctx.wsa_startup(MAKEWORD(2, 2), None).await);
            let ty = if op == 98 || b & 0x80 != 0 { SOCK_DGRAM } else { SOCK_STREAM };
            let s = ctx.socket(AF_INET, ty, 0).await;
            remember(recent, s);
            let addr = net_sockaddr(b);
            match op {
                96 => {
                    let any = SOCKADDR_IN::new(INADDR_ANY, addr.port());
                    ignore(ctx.bind(s, Some(&any), SOCKADDR_IN_LEN).await);
                    ignore(ctx.listen(s, 2).await);
                }
                97 => {
                    if a & 1 != 0 {
                        let mut on = 1u32;
                        ignore(ctx.ioctlsocket(s, FIONBIO, Some(&mut on)).await);
                    }
                    ignore(ctx.connect(s, Some(&addr), SOCKADDR_IN_LEN).await);
                }
                _ => {
                    let data = [a; 8];
                    ignore(ctx.sendto(s, &data, i32::from(a % 9), 0, Some(&addr), SOCKADDR_IN_LEN).await);
                }
            }
        }
        99 => {
            let t = i32::from(b).to_le_bytes();
            ignore(ctx.setsockopt(h, SOL_SOCKET, SO_RCVTIMEO, Some(&t), 4).await);
        }
        _ => socket_op(ctx, op, a, b, h, recent).await,
    }
}

// ----- family 6: Message Queuing (docs/semantics.md §23) --------------------------------

/// Queue path names: two valid ones (in varying case) and bad ones.
const MQ_PATHS: [&str; 7] =
    [r".\private$\a", r".\PRIVATE$\b", r".\private$\A", "a", r".\private$\", r"server\private$\a", r".\public\a"];

/// Format names: the two queues', the dead-letter queues', a stale private one, bad ones.
const MQ_FORMAT_NAMES: [&str; 9] = [
    r"DIRECT=OS:.\private$\a",
    r"DIRECT=OS:.\private$\B",
    MQ_DEADLETTER_FORMAT_NAME,
    MQ_DEADXACT_FORMAT_NAME,
    r"PRIVATE=5e7a1c00-0000-4000-8000-000000000001\00000003",
    r"PRIVATE=5e7a1c00-0000-4000-8000-000000000001\zz",
    r".\private$\a",
    "",
    r"DIRECT=TCP:1.2.3.4\private$\a",
];

thread_local! {
    /// The queue handles, cursors and transactions the program's Message Queuing calls
    /// returned, by kind (0, 1, 2), with their process (reset by `run_program`).
    static MQ_HANDLES: RefCell<[Vec<(u32, HANDLE)>; 3]> = RefCell::new(Default::default());
}

fn mq_keep(ctx: &ThreadCtx, kind: usize, h: HANDLE) {
    if !h.is_null() {
        let pid = ctx.get_current_process_id();
        MQ_HANDLES.with(|m| m.borrow_mut()[kind].push((pid, h)));
    }
}

/// A handle argument of a kind: usually one of the process's handles of that kind (newest
/// first, maybe closed since), else NULL, one the process's calls returned, or a fixed
/// value.
fn mq_handle(ctx: &ThreadCtx, kind: usize, b: u8, recent: &RefCell<Vec<HANDLE>>) -> HANDLE {
    let pid = ctx.get_current_process_id();
    let mine: Vec<HANDLE> =
        MQ_HANDLES.with(|m| m.borrow()[kind].iter().filter(|(p, _)| *p == pid).map(|(_, h)| *h).collect());
    let r = recent.borrow();
    match b % 8 {
        0 => HANDLE::NULL,
        1 if !r.is_empty() => r[r.len() - 1 - usize::from(b >> 3) % r.len()],
        2 => HANDLES_64[usize::from(b >> 3) % HANDLES_64.len()],
        _ if !mine.is_empty() => mine[mine.len() - 1 - usize::from(b >> 3) % mine.len()],
        _ => HANDLE::NULL,
    }
}

/// The Message Queuing family's ops (96-111, docs/semantics.md §23). `h` is the handle
/// `a` selects (often one the process's calls returned: queue handles, cursors and
/// transactions are remembered); the calls that take no handle read `a` as a name index.
async fn msmq_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    // Mostly the first two names, so that queues get created, opened and used.
    let name_index = |x: u8| if !x.is_multiple_of(4) { usize::from(x >> 2) % 2 } else { usize::from(x >> 2) };
    let format_name = MQ_FORMAT_NAMES[name_index(a) % MQ_FORMAT_NAMES.len()];
    let path = MQ_PATHS[name_index(a) % MQ_PATHS.len()];
    // Usually a queue handle of this process; a process with none first creates (if need
    // be) and opens one, for sending or receiving as the op does.
    let mut q = if a & 3 != 0 { mq_handle(ctx, 0, a | 4, recent) } else { h };
    if q.is_null() && a & 3 != 0 && op != 99 {
        let (mut name, mut len) = (String::new(), 256);
        let props = MQQUEUEPROPS::path(MQ_PATHS[usize::from(a >> 2) % 2]);
        let props = if a & 0x80 != 0 { props.transactional() } else { props };
        ignore(ctx.mq_create_queue(&props, &mut name, &mut len).await);
        let access = if matches!(op, 105 | 106) { MQ_SEND_ACCESS } else { MQ_RECEIVE_ACCESS };
        ignore(ctx.mq_open_queue(MQ_FORMAT_NAMES[usize::from(a >> 2) % 2], access, MQ_DENY_NONE, &mut q).await);
        mq_keep(ctx, 0, q);
    }
    match op {
        96 => {
            let mut props = MQQUEUEPROPS::path(path);
            if b & 1 != 0 {
                props = props.transactional();
            }
            if b & 2 != 0 {
                props = props.with(PROPID_Q_QUOTA, MQPROPVARIANT::UI4(u32::from(b >> 4)));
            }
            if b & 4 != 0 {
                props = props.with(PROPID_Q_LABEL, MQPROPVARIANT::LPWSTR("label".into()));
            }
            if b & 0x88 == 0x88 {
                // A bad property: an unknown id, or a known one with the wrong type.
                props = props.with([999, PROPID_Q_JOURNAL][usize::from(b >> 7)], MQPROPVARIANT::UI4(1));
            }
            let (mut name, mut len) = (String::new(), [0, 10, 54, 256][usize::from(b >> 5) % 4]);
            ignore(ctx.mq_create_queue(&props, &mut name, &mut len).await);
        }
        97 => ignore(ctx.mq_delete_queue(format_name).await),
        98 => {
            let (mut name, mut len) = (String::new(), [0, 53, 54, 256][usize::from(b) % 4]);
            ignore(ctx.mq_path_name_to_format_name(path, &mut name, &mut len).await);
        }
        99 => {
            let access = [
                MQ_RECEIVE_ACCESS,
                MQ_SEND_ACCESS,
                MQ_PEEK_ACCESS,
                MQ_SEND_ACCESS,
                MQ_RECEIVE_ACCESS,
                0,
                MQ_ADMIN_ACCESS,
                3,
            ][usize::from(b) % 8];
            let share = [MQ_DENY_NONE, MQ_DENY_NONE, MQ_DENY_RECEIVE_SHARE, 2][usize::from(b >> 3) % 4];
            if b & 0x80 != 0 {
                // Create it first (transactional or not), so that the open usually finds it.
                let mut props = MQQUEUEPROPS::path(&path.replace('A', "a"));
                if b & 0x40 != 0 {
                    props = props.transactional();
                }
                let (mut name, mut len) = (String::new(), 256);
                ignore(ctx.mq_create_queue(&props, &mut name, &mut len).await);
            }
            let mut q = HANDLE::NULL;
            ignore(ctx.mq_open_queue(format_name, access, share, &mut q).await);
            mq_keep(ctx, 0, q);
        }
        100 => ignore(ctx.mq_close_queue(q).await),
        101 => {
            let mut props = MQQUEUEPROPS::default();
            ignore(ctx.mq_get_queue_properties(format_name, &mut props).await);
        }
        102 => ignore(ctx.mq_purge_queue(q).await),
        103 => {
            let mut c = HANDLE::NULL;
            ignore(ctx.mq_create_cursor(q, &mut c).await);
            mq_keep(ctx, 1, c);
        }
        104 => ignore(ctx.mq_close_cursor(mq_handle(ctx, 1, b, recent)).await),
        105 | 106 => {
            let mut m = MQMSGPROPS::body(&[b'q'; 40][..usize::from(b) % 40]).priority(b % 9);
            if b & 0x10 != 0 {
                m = m.time_to_be_received(u32::from(b >> 5) % 3).journal(MQMSG_DEADLETTER);
            }
            if b & 0x20 != 0 {
                m = m.correlation_id(&[b; 20]).app_specific(u32::from(a)).label("l");
            }
            if op == 106 && b & 0x40 != 0 {
                m = m.response_queue(MQ_FORMAT_NAMES[usize::from(b) % MQ_FORMAT_NAMES.len()]);
            }
            if b & 0x80 != 0 {
                m = m.with(PROPID_M_BODY_SIZE, MQPROPVARIANT::UI4(1));
            }
            let tx = match b % 5 {
                0 => MQ_SINGLE_MESSAGE,
                1 => MQ_MTS_TRANSACTION,
                2 | 3 => mq_handle(ctx, 2, b >> 2, recent),
                _ => MQ_NO_TRANSACTION,
            };
            ignore(ctx.mq_send_message(q, &m, tx).await);
        }
        107 | 108 => {
            let timeout = [0, 1, 5, 30, INFINITE, 0, 2, 1000][usize::from(b) % 8];
            let action = [MQ_ACTION_RECEIVE, MQ_ACTION_PEEK_CURRENT, MQ_ACTION_PEEK_NEXT, 7][usize::from(b >> 3) % 4];
            let cursor = if op == 108 { mq_handle(ctx, 1, b >> 2, recent) } else { HANDLE::NULL };
            let tx = if b & 0x20 != 0 { mq_handle(ctx, 2, b >> 1, recent) } else { HANDLE::NULL };
            if b >> 6 == 3 {
                // The asynchronous forms (§§23.27-23.31): b's top bits 11 (otherwise the
                // same capacity as 00) ask for them.
                mq_async_receive(ctx, q, timeout, action, cursor, tx, b, recent).await;
                return;
            }
            let mut m = MqMessage::default();
            ignore(
                ctx.mq_receive_message(q, timeout, action, [0, 4, 64][usize::from(b >> 6) % 3], &mut m, cursor, tx)
                    .await,
            );
        }
        109 => {
            let mut t = HANDLE::NULL;
            ignore(ctx.mq_begin_transaction(&mut t).await);
            mq_keep(ctx, 2, t);
        }
        110 => match b % 2 {
            0 => ignore(ctx.itransaction_commit(mq_handle(ctx, 2, b >> 1, recent)).await),
            _ => ignore(ctx.itransaction_abort(mq_handle(ctx, 2, b >> 1, recent)).await),
        },
        _ => ignore(ctx.itransaction_release(mq_handle(ctx, 2, b, recent)).await),
    }
}

/// MQReceiveMessage's asynchronous forms for ops 107/108 (§§23.27-23.31): with a callback
/// (`b` bit 2), or with an OVERLAPPED from the pool (its event one of the process's
/// handles, or none), the queue handle sometimes first associated with a new completion
/// port whose packet is then taken (bit 4), and MQGetOverlappedResult read at once.
#[allow(clippy::too_many_arguments)]
async fn mq_async_receive(
    ctx: &ThreadCtx,
    q: HANDLE,
    timeout: u32,
    action: u32,
    cursor: HANDLE,
    tx: HANDLE,
    b: u8,
    recent: &RefCell<Vec<HANDLE>>,
) {
    if b & 4 != 0 {
        let callback: MqReceiveCallback = Rc::new(|ctx: ThreadCtx, _hr, _q, _t, _a, _m, _c| {
            Box::pin(async move {
                // The callback itself makes a call: it runs on a thread of its own.
                ignore(ctx.get_tick_count().await);
            })
        });
        ignore(ctx.mq_receive_message_callback(q, timeout, action, 16, callback, cursor, tx).await);
        return;
    }
    let event = if b & 8 != 0 { mq_handle(ctx, 0, b, recent) } else { HANDLE::NULL };
    let event = if b & 1 != 0 { ctx.create_event(None, true, false, None).await } else { event };
    let port = if b & 0x10 != 0 {
        ctx.create_io_completion_port(q, HANDLE::NULL, usize::from(b), 0).await
    } else {
        HANDLE::NULL
    };
    let ov = overlapped_for(0x40 | (b & 3), event);
    let buf = MqMessageBuf::new();
    ignore(ctx.mq_receive_message_overlapped(q, timeout, action, 16, &buf, &ov, cursor, tx).await);
    ignore(ctx.mq_get_overlapped_result(&ov).await);
    if !port.is_null() {
        let (mut n, mut key, mut got) = (0, 0, None);
        ignore(
            ctx.get_queued_completion_status(port, &mut n, &mut key, &mut got, [0, 10][usize::from(b >> 1) % 2]).await,
        );
    }
}

/// The address-wait family's ops (96-111, docs/semantics.md §26): WaitOnAddress with every
/// size (valid or not) and time-out, WakeByAddressSingle/All, and the stores and
/// interlocked operations that change what waiters compare, at view addresses (of the
/// mapping family's views) and at addresses no view maps.
async fn address_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, recent: &RefCell<Vec<HANDLE>>) {
    // Two words of the view, so that waits and wakes meet.
    let at = view_address(ctx, a, 0, recent).await + usize::from(b >> 6 & 1) * 8;
    match op {
        96..=100 => {
            let size = [4usize, 8, 1, 2, 4, 3, 0, 16][usize::from(b) % 8];
            // Mostly the value a fresh page holds, so that the wait sleeps.
            let value = if b & 0x80 == 0 { 0u64 } else { u64::from(a) };
            let compare = value.to_le_bytes().repeat(2);
            // Mostly bounded: an INFINITE wait nobody wakes is a deadlock, an outcome.
            let timeout = [0, 1, 5, 50, 1, 5, 50, INFINITE][usize::from(a) % 8];
            let _ = ctx.wait_on_address(at, &compare[..size.min(16)], timeout).await;
        }
        101..=103 => ctx.wake_by_address_single(at).await,
        104 | 105 => ctx.wake_by_address_all(at).await,
        106 => ctx.wake_by_address_single(usize::from(a) * 0x1000).await,
        107 | 108 => {
            ctx.interlocked_exchange(at, i32::from(b)).await;
            ctx.wake_by_address_all(at).await;
        }
        109 => ctx.write_u32(at, u32::from(b)).await,
        110 => {
            // One-time initialisation (§26.8-26.10) on one INIT_ONCE per run: begin and
            // complete with every flag, or the whole of InitOnceExecuteOnce.
            let once = ONCE.with(|o| o.borrow_mut().get_or_insert_with(INIT_ONCE::default).clone());
            let mut pending = FALSE;
            match b % 4 {
                0 => {
                    let _ = ctx.init_once_begin_initialize(&once, u32::from(a % 2), &mut pending, None).await;
                }
                1 => {
                    let flags = [0, INIT_ONCE_INIT_FAILED, INIT_ONCE_INIT_FAILED | INIT_ONCE_ASYNC][usize::from(a) % 3];
                    let _ = ctx.init_once_complete(&once, flags, usize::from(b & 0xF0)).await;
                }
                _ => {
                    let init = move |ctx: ThreadCtx| async move {
                        ctx.write_u32(at, u32::from(a)).await;
                        (if a.is_multiple_of(2) { TRUE } else { FALSE }, 0x40)
                    };
                    let _ = ctx.init_once_execute_once(&once, init, None).await;
                }
            }
        }
        _ => ctx.sleep(u32::from(b % 4)).await,
    }
}

thread_local! {
    /// The run's INIT_ONCE (address-wait family, op 110).
    static ONCE: RefCell<Option<INIT_ONCE>> = const { RefCell::new(None) };
}

// ----- family 10: process memory (docs/semantics.md §29) --------------------------------

/// The process-memory family's allocations: (pid, base, size) of VirtualAlloc results,
/// (pid, heap) of heaps and (pid, heap, block) of live heap blocks.
#[derive(Default)]
struct VmemPool {
    allocs: Vec<(u32, usize, usize)>,
    heaps: Vec<(u32, usize)>,
    blocks: Vec<(u32, usize, usize)>,
}

thread_local! {
    /// The run's process-memory allocations (family 10).
    static VMEM: RefCell<VmemPool> = RefCell::new(VmemPool::default());
}

/// Protections the family passes: valid and invalid ones, never PAGE_GUARD (not modelled:
/// Unsupported) and never a copy-on-write one (Unsupported on a shared writable view).
const VMEM_PROTECT: [u32; 10] = [
    PAGE_READWRITE,
    PAGE_READWRITE,
    PAGE_READONLY,
    PAGE_NOACCESS,
    PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE,
    0,
    PAGE_READONLY | PAGE_EXECUTE,
    PAGE_READWRITE | PAGE_NOCACHE,
    0x800,
];

/// An address for a process-memory op: mostly inside one of this process's VirtualAlloc
/// allocations or heap blocks, sometimes in a view (`view_address`), sometimes nowhere.
async fn vmem_address(ctx: &ThreadCtx, a: u8, b: u8, recent: &RefCell<Vec<HANDLE>>) -> usize {
    let pid = ctx.get_current_process_id();
    let offset = usize::from(b) * 24;
    match a % 8 {
        0 => [0usize, 0x1234, 0x7FFF_FFFE_F000, usize::MAX - 7][usize::from(a >> 3) % 4] + usize::from(b % 8),
        1 => view_address(ctx, a, b, recent).await,
        2 | 3 => {
            let blocks =
                VMEM.with(|v| v.borrow().blocks.iter().filter(|x| x.0 == pid).map(|x| x.2).collect::<Vec<_>>());
            match blocks.len() {
                0 => offset,
                n => blocks[usize::from(a >> 3) % n] + usize::from(b % 32),
            }
        }
        _ => {
            let allocs =
                VMEM.with(|v| v.borrow().allocs.iter().filter(|x| x.0 == pid).map(|x| (x.1, x.2)).collect::<Vec<_>>());
            match allocs.len() {
                0 => 0x1000_0000 + offset,
                n => {
                    let (base, size) = allocs[usize::from(a >> 3) % n];
                    base + offset % size.max(1)
                }
            }
        }
    }
}

/// The process-memory family's ops (96-111, docs/semantics.md §29): VirtualAlloc with
/// every type, protection, size and address; VirtualFree, VirtualQuery, VirtualProtect
/// anywhere; loads, stores and interlocked operations on private memory; SEC_RESERVE views
/// committed with VirtualAlloc; heaps. Nothing here may end the run as Unsupported or as
/// a program error: no MEM_WRITE_WATCH/MEM_PHYSICAL/MEM_LARGE_PAGES/MEM_RESET_UNDO, no
/// PAGE_GUARD, no copy-on-write protection, no HEAP_GENERATE_EXCEPTIONS, and heap blocks
/// are freed once (each is taken off the list before its free), heaps destroyed only by
/// the op that made them.
async fn vmem_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, recent: &RefCell<Vec<HANDLE>>) {
    let pid = ctx.get_current_process_id();
    match op {
        96 | 97 => {
            let ty = [
                MEM_COMMIT,
                MEM_RESERVE | MEM_COMMIT,
                MEM_RESERVE,
                MEM_COMMIT | MEM_TOP_DOWN,
                0,
                MEM_RESET,
                MEM_DECOMMIT,
                AT_ROUND_TO_PAGE | MEM_COMMIT,
            ][usize::from(b) % 8];
            let protect = VMEM_PROTECT[usize::from(b >> 3) % VMEM_PROTECT.len()];
            let size = [0x1000, 0x10000, 0xFFFC, 1, 0, 0x3_0000, 0x100_0000, usize::MAX, 1 << 44][usize::from(a) % 9];
            let address = if op == 96 { 0 } else { vmem_address(ctx, a >> 1, b, recent).await };
            let at = ctx.virtual_alloc(address, size, ty, protect).await;
            if at != 0 && address == 0 {
                let size = (size + 0xFFF) & !0xFFF;
                VMEM.with(|v| v.borrow_mut().allocs.push((pid, at, size)));
            }
        }
        98 => {
            let at = vmem_address(ctx, a, b, recent).await;
            let at = if b & 0x80 != 0 { at & !0xFFFF } else { at };
            let (size, ty) = [
                (0, MEM_RELEASE),
                (0x1000, MEM_DECOMMIT),
                (0, MEM_DECOMMIT),
                (1, MEM_RELEASE),
                (0x1000, 0),
                (0, MEM_FREE),
            ][usize::from(b) % 6];
            if ctx.virtual_free(at, size, ty).await == TRUE && ty == MEM_RELEASE {
                VMEM.with(|v| v.borrow_mut().allocs.retain(|x| x.0 != pid || x.1 != at));
            }
        }
        99 => {
            let at = vmem_address(ctx, a, b, recent).await;
            let mut info = MEMORY_BASIC_INFORMATION::default();
            let len = [48, 48, 47, 0][usize::from(b >> 6)];
            let _ = ctx.virtual_query(at, &mut info, len).await;
        }
        100 => {
            let at = vmem_address(ctx, a, b, recent).await;
            let protect = VMEM_PROTECT[usize::from(b) % VMEM_PROTECT.len()];
            let size = [0x1000, 1, 0, 0x2000, 0x10000, usize::MAX][usize::from(b >> 4) % 6];
            let mut old = 0;
            let _ = ctx.virtual_protect(at, size, protect, &mut old).await;
        }
        101 | 102 => {
            let at = vmem_address(ctx, a, b, recent).await;
            match b % 3 {
                0 => ctx.write_u32(at, u32::from(a)).await,
                1 => ctx.write_u64(at, u64::from(b) << 8).await,
                _ => ctx.write_memory(at, &[a; 24]).await,
            }
        }
        103 => {
            let at = vmem_address(ctx, a, b, recent).await;
            let mut buf = [0u8; 24];
            match b % 2 {
                0 => drop(ctx.read_u64(at).await),
                _ => ctx.read_memory(at, &mut buf).await,
            }
        }
        104 => {
            let at = vmem_address(ctx, a, b, recent).await;
            let _ = ctx.interlocked_exchange_add(at, i32::from(b)).await;
        }
        105 => {
            let heap = if b.is_multiple_of(4) {
                ctx.heap_create(
                    [0, HEAP_NO_SERIALIZE, HEAP_CREATE_ENABLE_EXECUTE][usize::from(b >> 4) % 3],
                    [0, 0x1000, 0x10000][usize::from(a) % 3],
                    [0, 0x10000, 0x1000, 0x20000][usize::from(a >> 2) % 4],
                )
                .await
            } else {
                ctx.get_process_heap().await
            };
            if heap != 0 {
                VMEM.with(|v| {
                    let mut v = v.borrow_mut();
                    if !v.heaps.contains(&(pid, heap)) {
                        v.heaps.push((pid, heap));
                    }
                });
            }
        }
        106 | 107 => {
            let heaps = VMEM.with(|v| v.borrow().heaps.iter().filter(|x| x.0 == pid).map(|x| x.1).collect::<Vec<_>>());
            let heap = match heaps.len() {
                0 => ctx.get_process_heap().await,
                n => heaps[usize::from(a) % n],
            };
            let flags = [0, HEAP_ZERO_MEMORY, HEAP_NO_SERIALIZE][usize::from(b) % 3];
            let size = [16, 0, 1, 100, 0x1000, 0x2_0000, usize::MAX, 0x10_0000][usize::from(b >> 3) % 8];
            let p = ctx.heap_alloc(heap, flags, size).await;
            if p != 0 {
                VMEM.with(|v| v.borrow_mut().blocks.push((pid, heap, p)));
            }
        }
        108 | 109 => {
            // Take a block off the list first: no other thread can free it again.
            let taken = VMEM.with(|v| {
                let mut v = v.borrow_mut();
                let mine: Vec<usize> = (0..v.blocks.len()).filter(|&i| v.blocks[i].0 == pid).collect();
                (!mine.is_empty()).then(|| v.blocks.remove(mine[usize::from(a) % mine.len()]))
            });
            let Some((_, heap, block)) = taken else { return };
            if op == 108 {
                let _ = ctx.heap_size(heap, 0, block).await;
                let _ = ctx.heap_size(heap, 0, block + 1).await;
                let _ = ctx.heap_free(heap, 0, block).await;
            } else {
                let flags = [0, HEAP_ZERO_MEMORY, HEAP_REALLOC_IN_PLACE_ONLY][usize::from(b) % 3];
                let size = [8, 64, 0x1000, 0x4_0000, usize::MAX][usize::from(b >> 2) % 5];
                let p = ctx.heap_re_alloc(heap, flags, block, size).await;
                let keep = if p != 0 { p } else { block };
                VMEM.with(|v| v.borrow_mut().blocks.push((pid, heap, keep)));
            }
        }
        110 => {
            // A heap of its own, used and destroyed in one op.
            let heap = ctx.heap_create(0, 0, [0, 0x10000][usize::from(b) % 2]).await;
            if heap != 0 {
                let p = ctx.heap_alloc(heap, HEAP_ZERO_MEMORY, usize::from(a) * 16).await;
                if p != 0 {
                    ctx.write_u8(p, b).await;
                }
                let _ = ctx.heap_destroy(heap).await;
            }
            let _ = ctx.heap_free(ctx.get_process_heap().await, 0, 0).await;
        }
        _ => {
            // A SEC_RESERVE section, its view committed in part with VirtualAlloc.
            let m = ctx
                .create_file_mapping(INVALID_HANDLE_VALUE, None, PAGE_READWRITE | SEC_RESERVE, 0, 0x20000, Some("r"))
                .await;
            remember(recent, m);
            let access = [FILE_MAP_WRITE, FILE_MAP_READ, FILE_MAP_COPY][usize::from(b) % 3];
            let at = ctx.map_view_of_file(m, access, 0, 0, 0).await;
            if at != 0 {
                VIEWS.with(|v| v.borrow_mut().push((pid, at)));
                let protect = [PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS, PAGE_EXECUTE_READ][usize::from(a) % 4];
                let size = [0x1000, 0x10000, 0x30000][usize::from(a >> 2) % 3];
                if ctx.virtual_alloc(at + usize::from(b >> 4) * 0x1000, size, MEM_COMMIT, protect).await != 0
                    && access == FILE_MAP_WRITE
                    && protect == PAGE_READWRITE
                {
                    ctx.write_u32(at + usize::from(b >> 4) * 0x1000, u32::from(a)).await;
                }
            }
        }
    }
}

// ----- family 9: files on the in-memory volume (docs/semantics.md §28) --------------------

/// Paths the file family uses: two files in two spellings, one in a directory, the
/// directory itself, the root, and names Windows refuses (another drive, a bad character,
/// an empty path, a file as a directory).
const FILE_PATHS: [&str; 12] = [
    r"C:\f.txt",
    r"c:\F.TXT",
    r"C:\g.bin",
    "g.bin",
    r"C:\d\h.txt",
    r"C:\D\H.TXT",
    r"C:\d",
    r"C:\",
    r"D:\f.txt",
    r"C:\a?b",
    "",
    r"C:\f.txt\x",
];

/// The file family's ops (96-111, docs/semantics.md §28): CreateFile with every
/// disposition, access, share mode and flag, ReadFile/WriteFile with and without an
/// OVERLAPPED, SetFilePointer(Ex), SetEndOfFile, GetFileSize(Ex), GetFileType,
/// FlushFileBuffers, DeleteFile, CreateDirectory/RemoveDirectory, file-backed
/// CreateFileMapping and views over it. `h` is the handle `a` selects; handles CreateFile
/// returns go to `recent`. Nothing here may end the run as Unsupported.
async fn file_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    let path = FILE_PATHS[usize::from(b) % FILE_PATHS.len()];
    match op {
        96 | 97 => {
            let access = [
                GENERIC_READ | GENERIC_WRITE,
                GENERIC_READ,
                GENERIC_WRITE,
                0,
                FILE_APPEND_DATA,
                DELETE | GENERIC_READ,
                FILE_READ_ATTRIBUTES,
                GENERIC_ALL,
            ][usize::from(a) % 8];
            let share = u32::from(a >> 3) % 8;
            let disposition = u32::from(b >> 4) % 7;
            let flags =
                [0, 0, 0, FILE_FLAG_OVERLAPPED, FILE_FLAG_DELETE_ON_CLOSE, 0, 0, 0][usize::from(a >> 6) * 2 % 8];
            let sa = (b & 0x80 != 0).then_some(SECURITY_ATTRIBUTES::INHERIT);
            let f = ctx.create_file(path, access, share, sa.as_ref(), disposition.max(1), flags, HANDLE::NULL).await;
            remember(recent, f);
        }
        98 => {
            let mut buf = vec![0u8; usize::from(b) * 37];
            let _ = ctx.read_file(h, &mut buf, None).await;
        }
        99 => {
            let data = vec![b; usize::from(a) * 53 % 9000];
            let _ = ctx.write_file(h, &data, None).await;
        }
        100 => {
            let mut high = i32::from(a as i8) >> 5;
            let method = u32::from(b) % 4;
            let low = i32::from(b as i8) * 513;
            if a & 1 == 0 {
                let _ = ctx.set_file_pointer(h, low, None, method).await;
            } else {
                let _ = ctx.set_file_pointer(h, low, Some(&mut high), method).await;
            }
        }
        101 => {
            let to = [0i64, 1, 4095, 4096, 70_000, -1, i64::MAX, i64::MIN, 1 << 40, 100][usize::from(a) % 10];
            let _ = ctx.set_file_pointer_ex(h, to, None, u32::from(b) % 4).await;
        }
        102 => {
            let _ = ctx.set_end_of_file(h).await;
        }
        103 => {
            if b & 1 == 0 {
                let mut high = 0;
                let _ = ctx.get_file_size(h, Some(&mut high)).await;
            } else {
                let _ = ctx.get_file_size_ex(h, None).await;
            }
        }
        104 => {
            let _ = ctx.delete_file(path).await;
        }
        105 => {
            let dir = [r"C:\d", r"C:\D", r"C:\d\e", r"C:\x\y", r"C:\"][usize::from(a) % 5];
            if b & 1 == 0 {
                let _ = ctx.create_directory(dir, None).await;
            } else {
                let _ = ctx.remove_directory(dir).await;
            }
        }
        106 | 107 => {
            // A file-backed section on the handle `a` selects (mostly a file).
            let protect =
                [PAGE_READWRITE, PAGE_READONLY, PAGE_WRITECOPY, PAGE_EXECUTE_READ, PAGE_READWRITE | SEC_RESERVE]
                    [usize::from(b) % 5];
            let size = [0u32, 0, 100, 0x1000, 0x2_0000, 1][usize::from(b >> 3) % 6];
            remember(recent, ctx.create_file_mapping(h, None, protect, 0, size, None).await);
        }
        108 => {
            // A view of the section `a` selects, touched where its protection allows.
            let access = [FILE_MAP_WRITE, FILE_MAP_READ, FILE_MAP_COPY][usize::from(b) % 3];
            let v = ctx.map_view_of_file(h, access, 0, 0, 0).await;
            if v != 0 {
                if access == FILE_MAP_READ {
                    let _ = ctx.read_u32(v + usize::from(b) * 4 % 0x1000).await;
                } else {
                    ctx.write_u32(v + usize::from(b) * 4 % 0x1000, u32::from(a)).await;
                }
                if a & 1 == 0 {
                    let _ = ctx.unmap_view_of_file(v).await;
                } else {
                    let _ = ctx.flush_view_of_file(v, 0).await;
                }
            }
        }
        109 => {
            let _ = ctx.flush_file_buffers(h).await;
            let _ = ctx.get_file_type(h).await;
        }
        110 => {
            // I/O at an OVERLAPPED's offset (its event NULL: the file handle's own).
            let ov = Overlapped::with_offset(HANDLE::NULL, [0u64, 5, 4096, u64::MAX, 1 << 33][usize::from(a) % 5]);
            if b & 1 == 0 {
                let _ = ctx.read_file_overlapped(h, &IoBuffer::new(usize::from(b)), None, &ov).await;
            } else {
                let _ = ctx.write_file_overlapped(h, &[a; 7], None, &ov).await;
            }
        }
        _ => {
            let _ = ctx.close_handle(h).await;
        }
    }
}

// ----- family 11: overlapped sockets (docs/semantics.md §§22.40-22.44) --------------------

/// The overlapped-socket family's ops (96-111): overlapped sockets that listen on or
/// connect to 127.0.0.1:7001, completion ports on them, WSARecv/WSASend/WSARecvFrom/
/// WSASendTo with an event, no event, or a completion routine, WSAGetOverlappedResult (with
/// and without waiting), GetQueuedCompletionStatus, CancelIo(Ex), AcceptEx, ConnectEx,
/// DisconnectEx, SetFileCompletionNotificationModes and SO_UPDATE_ACCEPT_CONTEXT, with bad
/// handles, lengths and flags. `h` is the handle `a` selects (sockets and ports are
/// remembered). A wait nobody ends is a deadlock (an outcome).
async fn overlapped_socket_op(ctx: &ThreadCtx, op: u8, a: u8, b: u8, h: HANDLE, recent: &RefCell<Vec<HANDLE>>) {
    let routine = |sel: u8| (sel & 6 == 6).then(|| wsa_completion_routine(|_ctx, _code, _bytes, _ov| async {}));
    let addr = SOCKADDR_IN::new(INADDR_LOOPBACK, 7001);
    match op {
        96 => {
            ignore(ctx.wsa_startup(MAKEWORD(2, 2), None).await);
            let ty = if b & 0x80 != 0 { SOCK_DGRAM } else { SOCK_STREAM };
            let flags = if b & 0x40 != 0 { 0 } else { WSA_FLAG_OVERLAPPED };
            let s = ctx.wsa_socket(AF_INET, ty, 0, flags).await;
            remember(recent, s);
            match b & 3 {
                1 => {
                    ignore(ctx.bind(s, Some(&addr), SOCKADDR_IN_LEN).await);
                    ignore(ctx.listen(s, 2).await);
                }
                2 => ignore(ctx.connect(s, Some(&addr), SOCKADDR_IN_LEN).await),
                3 => {
                    let any = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
                    ignore(ctx.bind(s, Some(&any), SOCKADDR_IN_LEN).await);
                }
                _ => {}
            }
        }
        97 => {
            let existing = if b & 1 != 0 { recent.borrow().last().copied().unwrap_or_default() } else { HANDLE::NULL };
            let port = ctx.create_io_completion_port(h, existing, usize::from(b), 0).await;
            remember(recent, port);
        }
        98 | 99 | 110 => {
            let ov = Overlapped::new(if b & 1 != 0 { ctx.wsa_create_event().await } else { HANDLE::NULL });
            let ov = (b & 0x80 == 0).then_some(ov);
            let mut n = 0;
            let mut flags = u32::from(b >> 6 & 1) * MSG_PEEK as u32;
            match op {
                98 => {
                    let buf = IoBuffer::new(usize::from(b % 17));
                    ignore(ctx.wsa_recv(h, &buf, Some(&mut n), &mut flags, ov.as_ref(), routine(b)).await);
                }
                99 => ignore(
                    ctx.wsa_send(h, &[a; 16][..usize::from(b % 17)], Some(&mut n), 0, ov.as_ref(), routine(b)).await,
                ),
                _ if b & 8 != 0 => {
                    let (to, len) = fuzz_sockaddr(a);
                    ignore(ctx.wsa_send_to(h, &[b; 8], Some(&mut n), 0, Some(&to), len, ov.as_ref(), routine(b)).await);
                }
                _ => {
                    let buf = IoBuffer::new(usize::from(b % 9));
                    let (mut from, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
                    let r = ctx.wsa_recv_from(
                        h,
                        &buf,
                        Some(&mut n),
                        &mut flags,
                        Some(&mut from),
                        Some(&mut len),
                        ov.as_ref(),
                        routine(b),
                    );
                    ignore(r.await);
                }
            }
            if let (Some(ov), true) = (ov, b & 0x10 != 0) {
                let (mut n, mut f) = (0, 0);
                ignore(ctx.wsa_get_overlapped_result(h, &ov, &mut n, b & 0x20 != 0, &mut f).await);
            }
        }
        100 => {
            let ov = Overlapped::new(if b & 1 != 0 { ctx.wsa_create_event().await } else { HANDLE::NULL });
            let buf = IoBuffer::new(4);
            let mut flags = 0;
            ignore(ctx.wsa_recv(h, &buf, None, &mut flags, Some(&ov), None).await);
            let (mut n, mut f) = (0, 0);
            ignore(ctx.wsa_get_overlapped_result(h, &ov, &mut n, b & 2 != 0, &mut f).await);
            ignore(ctx.get_overlapped_result(h, &ov, &mut n, false).await);
        }
        101 => {
            let (mut n, mut key, mut ov) = (0, 0, None);
            let ms = [0, 10, 100][usize::from(b) % 3];
            ignore(ctx.get_queued_completion_status(h, &mut n, &mut key, &mut ov, ms).await);
        }
        102 => {
            if b & 1 != 0 {
                ignore(ctx.cancel_io(h).await);
            } else {
                ignore(ctx.cancel_io_ex(h, None).await);
            }
        }
        103 => {
            let acc = if b & 1 != 0 { ctx.socket(AF_INET, SOCK_STREAM, 0).await } else { HANDLE(isize::from(a)) };
            remember(recent, acc);
            let recv_len = u32::from(b >> 1 & 3);
            let lens = [32, 0, 31, 16];
            let (local, remote) = (lens[usize::from(b >> 3) % 4], lens[usize::from(b >> 5) % 4]);
            let buf = IoBuffer::new(usize::from(b % 3) * 40);
            let ov = (b & 0x80 == 0).then(|| Overlapped::new(HANDLE::NULL));
            let mut n = 0;
            ignore(ctx.accept_ex(h, acc, Some(&buf), recv_len, local, remote, Some(&mut n), ov.as_ref()).await);
        }
        104 => {
            if b & 1 != 0 {
                let any = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
                ignore(ctx.bind(h, Some(&any), SOCKADDR_IN_LEN).await);
            }
            let (to, len) = if b & 2 != 0 { fuzz_sockaddr(a) } else { (addr, SOCKADDR_IN_LEN) };
            let ov = (b & 0x80 == 0).then(|| Overlapped::new(HANDLE::NULL));
            let data = [b; 4];
            let mut n = 0;
            let send = (b & 4 != 0).then_some(&data[..]);
            ignore(ctx.connect_ex(h, Some(&to), len, send, Some(&mut n), ov.as_ref()).await);
        }
        105 => {
            let ov = (b & 0x80 == 0).then(|| Overlapped::new(HANDLE::NULL));
            ignore(ctx.disconnect_ex(h, ov.as_ref(), u32::from(b & 3), u32::from(b >> 6 & 1)).await);
        }
        106 => ignore(ctx.set_file_completion_notification_modes(h, u32::from(b & 7)).await),
        107 => ignore(ctx.closesocket(h).await),
        108 => {
            let other = recent.borrow().first().copied().unwrap_or_default();
            let v = (other.0 as i64).to_le_bytes();
            ignore(ctx.setsockopt(h, SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT, Some(&v), [8, 4][usize::from(b & 1)]).await);
        }
        109 => ignore(ctx.sleep_ex([0, 10][usize::from(b & 1)], true).await),
        _ => {
            // 111: the socket family's ops on the same sockets.
            Box::pin(socket_op(ctx, 96 + b % 16, a, b, h, recent)).await
        }
    }
}
