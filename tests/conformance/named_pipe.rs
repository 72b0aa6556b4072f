//! Named pipes: CreateNamedPipe, CreateFile on `\\.\pipe\` names, ConnectNamedPipe,
//! DisconnectNamedPipe, WaitNamedPipe, GetNamedPipeInfo, Get/SetNamedPipeHandleState,
//! message-mode reads and peeks, TransactNamedPipe, CallNamedPipe and
//! GetNamedPipeClient/ServerProcessId. Named after Wine's kernel32 pipe.c suite (the
//! function after "pipe.c ::" is the Wine test whose call sequence a test follows; only
//! assertions that pass on Windows, never todo_wine ones, unless noted). Fact numbers
//! refer to docs/semantics.md; [D] marks a behaviour taken from Microsoft's documentation
//! and [inferred] one that follows from the facts but that no Windows test checks directly.
//!
//! Every handle here is synchronous (overlapped I/O is not modelled yet). A call pending
//! on a synchronous handle holds that handle's file object (docs/semantics.md §1.A), so no
//! test calls through a handle while another thread has a call pending on it: that would
//! wait behind the pending call, on Windows too.
//!
//! Blocking is observed with `settle`, as in pipe.rs: a `Sleep(1)` of the main thread
//! returns only after every other thread has finished or blocked, and a shared cell set
//! right after a call returns tells "blocked" from "returned".

use crate::support::*;
use sim_core::prelude::*;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

// ----- helpers -------------------------------------------------------------------------

/// The pipe most tests use; every test runs in its own simulation.
const NAME: &str = r"\\.\pipe\winsim_named_pipe_test";
/// pipe.c's two test messages: 11 and 10 bytes.
const OBUF: &[u8] = b"Bit Bucket\0";
const OBUF2: &[u8] = b"More bits\0";
const RW: u32 = GENERIC_READ | GENERIC_WRITE;
const BYTE_WAIT: u32 = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT;
const MSG_WAIT: u32 = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT;

/// Lets every other thread run until it blocks or ends (see the module comment).
async fn settle(ctx: &ThreadCtx) {
    ctx.sleep(1).await;
}

/// CreateNamedPipe with every parameter; asserts success.
#[allow(clippy::too_many_arguments)]
async fn create_full(
    ctx: &ThreadCtx,
    name: &str,
    open_mode: u32,
    pipe_mode: u32,
    max_instances: u32,
    out_size: u32,
    in_size: u32,
    time_out: u32,
) -> HANDLE {
    let h = ctx.create_named_pipe(name, open_mode, pipe_mode, max_instances, out_size, in_size, time_out, None).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateNamedPipe({name}) failed: {}", ctx.get_last_error());
    h
}

/// CreateNamedPipe of `NAME` with NMPWAIT_USE_DEFAULT_WAIT; asserts success.
async fn create(ctx: &ThreadCtx, open_mode: u32, pipe_mode: u32, max: u32, out_size: u32, in_size: u32) -> HANDLE {
    create_full(ctx, NAME, open_mode, pipe_mode, max, out_size, in_size, NMPWAIT_USE_DEFAULT_WAIT).await
}

/// One duplex byte-mode PIPE_WAIT instance with 1024-byte buffers, as pipe.c uses.
async fn byte_server(ctx: &ThreadCtx) -> HANDLE {
    create(ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024).await
}

/// One duplex message-type instance in message read mode, 1024-byte buffers.
async fn msg_server(ctx: &ThreadCtx) -> HANDLE {
    create(ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 1, 1024, 1024).await
}

/// A CreateNamedPipe that must fail: asserts INVALID_HANDLE_VALUE and returns the error.
async fn create_error(ctx: &ThreadCtx, name: &str, open_mode: u32, pipe_mode: u32, max: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let h = ctx.create_named_pipe(name, open_mode, pipe_mode, max, 1024, 1024, NMPWAIT_USE_DEFAULT_WAIT, None).await;
    assert_eq!(h, INVALID_HANDLE_VALUE, "CreateNamedPipe({name}, {open_mode:#x}, {pipe_mode:#x}, {max}) succeeded");
    ctx.get_last_error()
}

/// Client CreateFile of `name` with `access`; asserts success.
async fn open_with(ctx: &ThreadCtx, name: &str, access: u32) -> HANDLE {
    let h = ctx.create_file(name, access, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    assert_ne!(h, INVALID_HANDLE_VALUE, "CreateFile({name}, {access:#x}) failed: {}", ctx.get_last_error());
    h
}

/// Client CreateFile of `NAME` for reading and writing; asserts success.
async fn open(ctx: &ThreadCtx) -> HANDLE {
    open_with(ctx, NAME, RW).await
}

/// A client CreateFile that must fail: asserts INVALID_HANDLE_VALUE and returns the error.
async fn open_error(ctx: &ThreadCtx, name: &str, access: u32) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    let h = ctx.create_file(name, access, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
    assert_eq!(h, INVALID_HANDLE_VALUE, "CreateFile({name}, {access:#x}) succeeded");
    ctx.get_last_error()
}

/// A message-mode ReadFile into a buffer too small for the message (§5.2): FALSE,
/// ERROR_MORE_DATA; returns the bytes copied, which the count reports.
async fn read_more(ctx: &ThreadCtx, h: HANDLE, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, FALSE, "a partial message read returns FALSE");
    assert_eq!(ctx.get_last_error(), ERROR_MORE_DATA);
    buf.truncate(n as usize);
    buf
}

/// A ReadFile that must fail; the count is set to 0 (ReadFile doc). Returns the error.
async fn read_error(ctx: &ThreadCtx, h: HANDLE, len: usize) -> Win32Error {
    let mut buf = vec![0u8; len];
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.read_file(h, &mut buf, Some(&mut n)).await, FALSE, "ReadFile({h:?}) succeeded");
    assert_eq!(n, 0, "a failed ReadFile reports 0 bytes");
    ctx.get_last_error()
}

/// A WriteFile that must fail; the count is set to 0 (WriteFile doc). Returns the error.
async fn write_error(ctx: &ThreadCtx, h: HANDLE, data: &[u8]) -> Win32Error {
    let mut n = SENTINEL;
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.write_file(h, data, Some(&mut n)).await, FALSE, "WriteFile({h:?}) succeeded");
    assert_eq!(n, 0, "a failed WriteFile reports 0 bytes");
    ctx.get_last_error()
}

/// PeekNamedPipe with a buffer of `len` bytes (none when 0): (bytes copied, avail, left).
async fn peek(ctx: &ThreadCtx, h: HANDLE, len: usize) -> (Vec<u8>, u32, u32) {
    let mut buf = vec![0u8; len];
    let (mut got, mut avail, mut left) = (SENTINEL, SENTINEL, SENTINEL);
    let ok = if len == 0 {
        ctx.peek_named_pipe(h, None, Some(&mut got), Some(&mut avail), Some(&mut left)).await
    } else {
        ctx.peek_named_pipe(h, Some(buf.as_mut_slice()), Some(&mut got), Some(&mut avail), Some(&mut left)).await
    };
    assert_eq!(ok, TRUE, "PeekNamedPipe failed: {}", ctx.get_last_error());
    buf.truncate(got as usize);
    (buf, avail, left)
}

/// The unread bytes PeekNamedPipe reports through `h`.
async fn peek_avail(ctx: &ThreadCtx, h: HANDLE) -> u32 {
    let mut avail = SENTINEL;
    assert_eq!(ctx.peek_named_pipe(h, None, None, Some(&mut avail), None).await, TRUE);
    avail
}

/// SetNamedPipeHandleState of the read mode only; asserts success.
async fn set_read_mode(ctx: &ThreadCtx, h: HANDLE, mode: u32) {
    let ok = ctx.set_named_pipe_handle_state(h, Some(mode), None, None).await;
    assert_eq!(ok, TRUE, "SetNamedPipeHandleState({mode:#x}) failed: {}", ctx.get_last_error());
}

/// A ConnectNamedPipe that must return FALSE at once; returns the error.
async fn connect_error(ctx: &ThreadCtx, h: HANDLE) -> Win32Error {
    ctx.set_last_error(SENTINEL);
    assert_eq!(ctx.connect_named_pipe(h, None).await, FALSE, "ConnectNamedPipe({h:?}) returned TRUE");
    ctx.get_last_error()
}

/// GetNamedPipeInfo: (flags, out size, in size, max instances).
async fn info(ctx: &ThreadCtx, h: HANDLE) -> (u32, u32, u32, u32) {
    let (mut flags, mut out, mut inb, mut max) = (SENTINEL, SENTINEL, SENTINEL, SENTINEL);
    let ok = ctx.get_named_pipe_info(h, Some(&mut flags), Some(&mut out), Some(&mut inb), Some(&mut max)).await;
    assert_eq!(ok, TRUE, "GetNamedPipeInfo failed: {}", ctx.get_last_error());
    (flags, out, inb, max)
}

/// Starts a thread running a synchronous ConnectNamedPipe on `server`; the cell receives
/// its result when it returns.
async fn connect_in_thread(ctx: &ThreadCtx, server: HANDLE) -> (HANDLE, Rc<Cell<Option<(BOOL, Win32Error)>>>) {
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let t = spawn(ctx, move |t| async move {
        t.set_last_error(SENTINEL);
        let ok = t.connect_named_pipe(server, None).await;
        g.set(Some((ok, t.get_last_error())));
        0
    })
    .await;
    (t, got)
}

/// Runs "server.exe" (which may start "client.exe") round-robin; asserts that the run
/// completed and that every process exited with 0.
fn check_server_client<S, SF, C, CF>(server: S, client: C)
where
    S: Fn(ThreadCtx) -> SF + 'static,
    SF: Future<Output = u32> + 'static,
    C: Fn(ThreadCtx) -> CF + 'static,
    CF: Future<Output = u32> + 'static,
{
    let mut sim = Sim::new(Config::round_robin());
    sim.program("server.exe", server);
    sim.program("client.exe", client);
    let r = sim.run("server.exe");
    assert_completed(&r);
    if let Outcome::Completed { exit_codes } = &r.outcome {
        assert_eq!(exit_codes.len(), 2, "server and client ran\n{}", r.trace_text());
        for (_, image, code) in exit_codes {
            assert_eq!(*code, 0, "{image} exit code\n{}", r.trace_text());
        }
    }
}

/// Starts client.exe (no inheritance); asserts success.
async fn start_client(ctx: &ThreadCtx) -> PROCESS_INFORMATION {
    let mut pi = PROCESS_INFORMATION::default();
    let ok = ctx.create_process(None, Some("client.exe"), None, None, false, 0, &STARTUPINFO::default(), &mut pi).await;
    assert_eq!(ok, TRUE, "CreateProcess(client.exe) failed: {}", ctx.get_last_error());
    pi
}

// ----- CreateNamedPipe -----------------------------------------------------------------

/// §6.1 (pipe.c :: test_CreateNamedPipe): a name outside `\\.\pipe\` fails with
/// ERROR_INVALID_NAME, and PIPE_TYPE_BYTE with PIPE_READMODE_MESSAGE fails with
/// ERROR_INVALID_PARAMETER; neither creates a pipe.
#[test]
fn a_bad_name_or_a_byte_pipe_in_message_read_mode_is_refused() {
    check(|ctx| async move {
        let bad_name = create_error(&ctx, "not a named pipe", PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1).await;
        assert_eq!(bad_name, ERROR_INVALID_NAME);
        let bad_mode =
            create_error(&ctx, NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_MESSAGE | PIPE_WAIT, 1).await;
        assert_eq!(bad_mode, ERROR_INVALID_PARAMETER);
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_FILE_NOT_FOUND, "nothing was created");
        0
    });
}

/// CreateNamedPipe doc [D] (nMaxInstances "1 through PIPE_UNLIMITED_INSTANCES"): 0 and
/// 256 fail with ERROR_INVALID_PARAMETER; 255 means unlimited: GetNamedPipeInfo reports
/// 255 and a third instance is created without ERROR_PIPE_BUSY.
#[test]
fn max_instances_must_be_1_to_255_and_255_is_unlimited() {
    check(|ctx| async move {
        assert_eq!(create_error(&ctx, NAME, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 0).await, ERROR_INVALID_PARAMETER);
        assert_eq!(create_error(&ctx, NAME, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 256).await, ERROR_INVALID_PARAMETER);
        let mut servers = Vec::new();
        for _ in 0..3 {
            servers.push(create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, PIPE_UNLIMITED_INSTANCES, 1024, 1024).await);
        }
        assert_eq!(info(&ctx, servers[2]).await.3, PIPE_UNLIMITED_INSTANCES);
        0
    });
}

/// §6.2 (ntdll om.c :: test_namespace_pipe; pipe.c's PIPENAME is spelled `\\.\PiPe\`):
/// pipe names are case-insensitive. A second instance named in other case counts against
/// the first one's limit (ERROR_PIPE_BUSY with nMaxInstances 1), and a client opening the
/// name in a third spelling reaches the instance.
#[test]
fn pipe_names_are_case_insensitive() {
    check(|ctx| async move {
        let s = create_full(&ctx, r"\\.\pipe\MixedCase", PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024, 0).await;
        let again = create_error(&ctx, r"\\.\PIPE\mixedcase", PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1).await;
        assert_eq!(again, ERROR_PIPE_BUSY, "the same pipe, already at its one instance");
        let c = open_with(&ctx, r"\\.\PiPe\MIXEDCASE", RW).await;
        write(&ctx, c, b"hi").await;
        assert_eq!(read(&ctx, s, 8).await, b"hi");
        0
    });
}

/// §6.2 (pipe.c :: test_CreateNamedPipe; om.c :: test_namespace_pipe): the part after
/// `\\.\pipe\` may contain `<>*?|"/` and even a backslash; such pipes are created and
/// opened by that name.
#[test]
fn pipe_names_may_contain_special_characters_and_backslashes() {
    check(|ctx| async move {
        for name in [r#"\\.\pipe\a<>*?|"/b"#, r"\\.\pipe\test\pipe"] {
            let s = create_full(&ctx, name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 1024, 1024, 0).await;
            let c = open_with(&ctx, name, RW).await;
            write(&ctx, s, b"ok").await;
            assert_eq!(read(&ctx, c, 8).await, b"ok", "{name}");
            assert_eq!(ctx.close_handle(c).await, TRUE);
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        0
    });
}

/// §6.3 (pipe.c :: test_CreateNamedPipe_instances_must_match): past nMaxInstances,
/// CreateNamedPipe fails with ERROR_PIPE_BUSY (max 1: the second; max 2: the third).
/// Closing an instance frees its place [inferred].
#[test]
fn creating_more_instances_than_the_maximum_fails_with_pipe_busy() {
    check(|ctx| async move {
        let only = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024).await;
        assert_eq!(create_error(&ctx, NAME, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1).await, ERROR_PIPE_BUSY);
        assert_eq!(ctx.close_handle(only).await, TRUE);

        let first = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        let _second = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        assert_eq!(create_error(&ctx, NAME, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2).await, ERROR_PIPE_BUSY);
        assert_eq!(ctx.close_handle(first).await, TRUE);
        let _third = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        0
    });
}

/// §6.4 (pipe.c :: test_CreateNamedPipe_instances_must_match): a later instance with
/// another access mode fails with ERROR_ACCESS_DENIED (DUPLEX then INBOUND, and OUTBOUND);
/// the other parameters may differ: type, max instances, buffer sizes and time-out.
#[test]
fn instances_must_share_the_access_mode_but_nothing_else() {
    check(|ctx| async move {
        let _s = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 4, 1024, 1024).await;
        for access in [PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND] {
            assert_eq!(create_error(&ctx, NAME, access, BYTE_WAIT, 4).await, ERROR_ACCESS_DENIED, "{access}");
        }
        let _other = create_full(&ctx, NAME, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 3, 102, 24, 1234).await;
        0
    });
}

/// §6.4a (ReactOS's NPFS, create.c: NpCreateExistingNamedPipe creates the instance with
/// the name's type and never looks at the type asked for; Wine's server the same, seen by
/// the native differential's generated named-pipe cases): a later instance asked as byte
/// type of a message-type name is message type: message read mode may be set on it and
/// its messages keep their boundaries. An instance asked as message type with message
/// read mode of a byte-type name is created (as Wine creates it) [inferred].
#[test]
fn every_instance_has_the_first_instances_type() {
    check(|ctx| async move {
        let _first = create(&ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 2, 1024, 1024).await;
        let byte_asked = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        let mode = PIPE_READMODE_MESSAGE;
        assert_eq!(ctx.set_named_pipe_handle_state(byte_asked, Some(mode), None, None).await, TRUE);
        // The first instance is listening first: the first client takes it (§6.15), the
        // second one this instance.
        let _c1 = open(&ctx).await;
        let c2 = open(&ctx).await;
        write(&ctx, c2, b"one").await;
        write(&ctx, c2, b"two").await;
        assert_eq!(read(&ctx, byte_asked, 16).await, b"one", "one message at a time");
        assert_eq!(read(&ctx, byte_asked, 16).await, b"two");
        0
    });
    check(|ctx| async move {
        let _first = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        let _second = create(&ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 2, 1024, 1024).await;
        0
    });
}

/// CreateNamedPipe doc [D] (FILE_FLAG_FIRST_PIPE_INSTANCE): the flag succeeds on the
/// first instance; a later instance with it fails with ERROR_ACCESS_DENIED, while one
/// without it is created.
#[test]
fn first_pipe_instance_fails_when_the_pipe_exists() {
    check(|ctx| async move {
        let first = PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE;
        let _s = create(&ctx, first, BYTE_WAIT, 2, 1024, 1024).await;
        assert_eq!(create_error(&ctx, NAME, first, BYTE_WAIT, 2).await, ERROR_ACCESS_DENIED);
        let _s2 = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        0
    });
}

/// §6.3a (ReactOS's NPFS, create.c NpCreateExistingNamedPipe, which looks at the instance
/// count before the access mode and the create disposition; Wine's server does the same,
/// and the native differential's generated named-pipe cases see it under Wine): a name at
/// its instance limit fails a new instance with ERROR_PIPE_BUSY even when its access mode
/// differs or it asks for FILE_FLAG_FIRST_PIPE_INSTANCE; below the limit those fail with
/// ERROR_ACCESS_DENIED (§6.4).
#[test]
fn the_instance_limit_is_checked_before_the_access_mode() {
    check(|ctx| async move {
        let only = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024).await;
        for open_mode in [PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE]
        {
            assert_eq!(create_error(&ctx, NAME, open_mode, BYTE_WAIT, 1).await, ERROR_PIPE_BUSY, "{open_mode:#x}");
        }
        assert_eq!(ctx.close_handle(only).await, TRUE);
        let _first = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        for open_mode in [PIPE_ACCESS_INBOUND, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE] {
            assert_eq!(create_error(&ctx, NAME, open_mode, BYTE_WAIT, 2).await, ERROR_ACCESS_DENIED, "{open_mode:#x}");
        }
        0
    });
}

/// §6.5 (pipe.c :: test_CreateNamedPipe): a server handle is signalled right after
/// creation, and the successful wait leaves the last error alone (§10.1).
#[test]
fn a_new_server_handle_is_signalled() {
    check(|ctx| async move {
        for mode in [BYTE_WAIT, MSG_WAIT] {
            let s = create(&ctx, PIPE_ACCESS_DUPLEX, mode, 1, 1024, 1024).await;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_OBJECT_0);
            assert_eq!(ctx.get_last_error(), SENTINEL);
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        0
    });
}

// ----- connecting ----------------------------------------------------------------------

/// §6.6 (pipe.c :: test_CreateNamedPipe): a new instance is already listening: a client's
/// CreateFile succeeds with no ConnectNamedPipe. A ConnectNamedPipe afterwards returns
/// FALSE with ERROR_PIPE_CONNECTED at once, and the connection is good both ways.
#[test]
fn a_new_instance_is_already_listening() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s).await, ERROR_PIPE_CONNECTED);
        write(&ctx, s, OBUF).await;
        assert_eq!(read(&ctx, c, 32).await, OBUF);
        write(&ctx, c, OBUF2).await;
        assert_eq!(read(&ctx, s, 32).await, OBUF2);
        0
    });
}

/// §6.7 (pipe.c :: test_CreateNamedPipe): ConnectNamedPipe on a client handle fails with
/// ERROR_INVALID_FUNCTION and leaves the connection alone.
#[test]
fn connect_named_pipe_on_a_client_handle_is_an_invalid_function() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        assert_eq!(connect_error(&ctx, c).await, ERROR_INVALID_FUNCTION);
        write(&ctx, c, b"still connected").await;
        assert_eq!(read(&ctx, s, 32).await, b"still connected");
        0
    });
}

/// §§6.8 and 6.14 (pipe.c :: test_CreateNamedPipe, test_wait_pipe): a name no server
/// created gives ERROR_FILE_NOT_FOUND to CreateFile and to WaitNamedPipe (time-out 0 or
/// 2000), even while a pipe of another name exists.
#[test]
fn a_missing_name_is_file_not_found() {
    check(|ctx| async move {
        let _other = create_full(&ctx, r"\\.\pipe\another_name", PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024, 0).await;
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_FILE_NOT_FOUND);
        for time_out in [0, 2000] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_named_pipe(NAME, time_out).await, FALSE, "time-out {time_out}");
            assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND, "time-out {time_out}");
        }
        0
    });
}

/// §6.8 (pipe.c :: test_CreateNamedPipe "case 1" and "case 2"): with the only instance
/// connected, another client's CreateFile fails with ERROR_PIPE_BUSY, and still does
/// after the first client closed its handle.
#[test]
fn a_connected_instance_stays_busy_after_its_client_closes() {
    check(|ctx| async move {
        let _s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_PIPE_BUSY, "case 1: the client is connected");
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_PIPE_BUSY, "case 2: the client has closed");
        0
    });
}

/// §6.8 (pipe.c :: test_CreateNamedPipe "case 3"; the Wine test stops there "as
/// ConnectNamedPipe would block", so the last step follows §6.9): after DisconnectNamedPipe
/// the instance stays busy until the server calls ConnectNamedPipe; then a client's
/// CreateFile succeeds and completes that ConnectNamedPipe with TRUE.
#[test]
fn after_disconnect_the_instance_is_busy_until_connect_named_pipe() {
    check_every_schedule(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_PIPE_BUSY, "case 3: disconnected, not listening");

        let (t, got) = connect_in_thread(&ctx, s).await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "ConnectNamedPipe waits for a client");
        let c2 = open(&ctx).await;
        join(&ctx, t).await;
        assert_eq!(got.get().map(|g| g.0), Some(TRUE));
        write(&ctx, c2, b"x").await;
        assert_eq!(read(&ctx, s, 8).await, b"x");
        0
    });
}

/// §6.9 (pipe.c :: serverThreadMain1; ConnectNamedPipe doc): a synchronous
/// ConnectNamedPipe on a new instance with no client blocks until a client opens the
/// pipe, then returns TRUE.
#[test]
fn connect_named_pipe_blocks_until_a_client_opens_the_pipe() {
    check_every_schedule(|ctx| async move {
        let s = byte_server(&ctx).await;
        let (t, got) = connect_in_thread(&ctx, s).await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "no client yet");
        let c = open(&ctx).await;
        join(&ctx, t).await;
        assert_eq!(got.get().map(|g| g.0), Some(TRUE));
        write(&ctx, s, b"hello").await;
        assert_eq!(read(&ctx, c, 8).await, b"hello");
        0
    });
}

/// §6.15 (pipe.c :: test_multiple_instances): with several instances listening, each
/// client is connected to the instance that started listening first, here the order of
/// creation: ConnectNamedPipe on that one reports ERROR_PIPE_CONNECTED at once. With none
/// listening, CreateFile fails with ERROR_PIPE_BUSY.
#[test]
fn clients_go_to_the_instance_that_listened_first() {
    check(|ctx| async move {
        let mut s = Vec::new();
        for _ in 0..3 {
            s.push(create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 3, 1024, 1024).await);
        }
        for (i, &server) in s.iter().enumerate() {
            let c = open(&ctx).await;
            assert_eq!(connect_error(&ctx, server).await, ERROR_PIPE_CONNECTED, "client {i} went to server {i}");
            write(&ctx, c, &[i as u8]).await;
            assert_eq!(read(&ctx, server, 8).await, [i as u8]);
        }
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_PIPE_BUSY);
        0
    });
}

/// §6.15 (pipe.c :: test_multiple_instances): an instance that listens again after
/// DisconnectNamedPipe joins the back of the queue, behind instances that have been
/// listening since their creation; it does not matter that it is the one with a
/// ConnectNamedPipe pending.
#[test]
fn an_instance_listening_again_joins_the_back_of_the_queue() {
    check_every_schedule(|ctx| async move {
        let mut s = Vec::new();
        for _ in 0..3 {
            s.push(create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 3, 1024, 1024).await);
        }
        let c0 = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s[0]).await, ERROR_PIPE_CONNECTED);
        assert_eq!(ctx.close_handle(c0).await, TRUE);
        assert_eq!(ctx.disconnect_named_pipe(s[0]).await, TRUE);
        let (t, got) = connect_in_thread(&ctx, s[0]).await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);

        let _c1 = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s[1]).await, ERROR_PIPE_CONNECTED, "s[1] listened before s[0] again");
        let _c2 = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s[2]).await, ERROR_PIPE_CONNECTED);
        settle(&ctx).await;
        assert_eq!(got.get(), None, "s[0] is still waiting");
        let c3 = open(&ctx).await;
        join(&ctx, t).await;
        assert_eq!(got.get().map(|g| g.0), Some(TRUE));
        write(&ctx, c3, b"3").await;
        assert_eq!(read(&ctx, s[0], 8).await, b"3");
        0
    });
}

// ----- PIPE_NOWAIT ---------------------------------------------------------------------

/// §6.10 (pipe.c :: test_nowait, which passes an OVERLAPPED; the synchronous call is
/// [inferred] to behave the same) and the ConnectNamedPipe doc [D]: on a PIPE_NOWAIT
/// server ConnectNamedPipe returns at once: ERROR_PIPE_LISTENING with no client,
/// ERROR_PIPE_CONNECTED with one [D], ERROR_NO_DATA after it closed, and
/// ERROR_PIPE_LISTENING again after DisconnectNamedPipe, when a client can connect again.
#[test]
fn nowait_connect_reports_the_state_of_the_instance() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1, 512, 512).await;
        assert_eq!(connect_error(&ctx, s).await, ERROR_PIPE_LISTENING);
        let c = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s).await, ERROR_PIPE_CONNECTED);
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(connect_error(&ctx, s).await, ERROR_NO_DATA);
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        assert_eq!(connect_error(&ctx, s).await, ERROR_PIPE_LISTENING);
        let c2 = open(&ctx).await;
        write(&ctx, c2, b"again").await;
        assert_eq!(read(&ctx, s, 8).await, b"again");
        0
    });
}

/// §6.11 (pipe.c :: test_nowait, which passes an OVERLAPPED; the fact says "at once, even
/// with an OVERLAPPED", so without one too [inferred]): ReadFile on a connected, empty
/// PIPE_NOWAIT pipe fails at once with ERROR_NO_DATA; data written afterwards is read.
#[test]
fn nowait_read_on_an_empty_pipe_fails_with_no_data() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1, 512, 512).await;
        let c = open_with(&ctx, NAME, GENERIC_WRITE).await;
        let before = ctx.get_tick_count().await;
        assert_eq!(read_error(&ctx, s, 32768).await, ERROR_NO_DATA);
        assert_eq!(ctx.get_tick_count().await, before, "at once");
        write(&ctx, c, b"bits\0").await;
        assert_eq!(read(&ctx, s, 32768).await, b"bits\0");
        0
    });
}

/// A PIPE_NOWAIT server of `pipe_type` with 512-byte quotas, its client, and a client
/// thread blocked in a `want`-byte read (when `want` is given), whose result goes to the
/// returned cell.
async fn nowait_pair_with_reader(
    ctx: &ThreadCtx,
    pipe_type: u32,
    want: Option<usize>,
) -> (HANDLE, HANDLE, Option<(HANDLE, Rc<RefCell<Option<(BOOL, Vec<u8>)>>>)>) {
    let s = create(ctx, PIPE_ACCESS_DUPLEX, pipe_type | PIPE_NOWAIT, 1, 512, 512).await;
    let c = open(ctx).await;
    let reader = match want {
        None => None,
        Some(want) => {
            let got = Rc::new(RefCell::new(None));
            let g = got.clone();
            let t = spawn(ctx, move |t| async move {
                let mut buf = vec![0u8; want];
                let mut n = SENTINEL;
                let ok = t.read_file(c, &mut buf, Some(&mut n)).await;
                buf.truncate(n as usize);
                *g.borrow_mut() = Some((ok, buf));
                0
            })
            .await;
            settle(ctx).await;
            assert!(got.borrow().is_none(), "the client read waits");
            Some((t, got))
        }
    };
    (s, c, reader)
}

/// A PIPE_NOWAIT WriteFile: TRUE and the count.
async fn nowait_write(ctx: &ThreadCtx, h: HANDLE, len: usize) -> u32 {
    let mut n = SENTINEL;
    assert_eq!(ctx.write_file(h, &vec![7u8; len], Some(&mut n)).await, TRUE, "a PIPE_NOWAIT write returns TRUE");
    n
}

/// §2.12 (pipe.c :: test_nowait, "Windows doesn't seem to do partial writes"): a
/// PIPE_NOWAIT write that does not fit the quota returns TRUE at once having written
/// nothing, on byte and message pipes alike; with a read waiting that takes enough of it,
/// the rest fits and all of it is written.
#[test]
fn a_nowait_write_that_does_not_fit_writes_nothing() {
    check(|ctx| async move {
        for pipe_type in [PIPE_TYPE_BYTE, PIPE_TYPE_MESSAGE] {
            let (s, c, _) = nowait_pair_with_reader(&ctx, pipe_type, None).await;
            assert_eq!(nowait_write(&ctx, s, 513).await, 0, "type {pipe_type:#x}: 513 bytes into a 512-byte quota");
            assert_eq!(peek_avail(&ctx, c).await, 0, "nothing was queued");
            assert_eq!(ctx.close_handle(c).await, TRUE);
            assert_eq!(ctx.close_handle(s).await, TRUE);

            // A 1-byte read waiting: it takes 1, the other 512 fit.
            let (s, c, reader) = nowait_pair_with_reader(&ctx, pipe_type, Some(1)).await;
            let (t, got) = reader.expect("a reader");
            assert_eq!(nowait_write(&ctx, s, 513).await, 513);
            join(&ctx, t).await;
            assert_eq!(got.borrow_mut().take(), Some((TRUE, vec![7])), "the read took 1 byte");
            assert_eq!(peek_avail(&ctx, c).await, 512, "the rest is queued");
            assert_eq!(ctx.close_handle(c).await, TRUE);
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        0
    });
}

/// §2.13 (pipe.c :: test_nowait, todo_wine, so Windows' behaviour): when the rest does not
/// fit even after a waiting 1-byte read took its part, a byte pipe writes only what the
/// read took (TRUE, 1 written) and a message pipe writes nothing, the read still waiting.
#[test]
fn a_nowait_write_too_big_even_after_the_reads_writes_what_they_took() {
    check(|ctx| async move {
        let (s, c, reader) = nowait_pair_with_reader(&ctx, PIPE_TYPE_BYTE, Some(1)).await;
        let (t, got) = reader.expect("a reader");
        assert_eq!(nowait_write(&ctx, s, 514).await, 1, "byte pipe: what the read took");
        join(&ctx, t).await;
        assert_eq!(got.borrow_mut().take(), Some((TRUE, vec![7])));
        assert_eq!(peek_avail(&ctx, c).await, 0, "the rest was not written");
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(ctx.close_handle(s).await, TRUE);

        let (s, _c, reader) = nowait_pair_with_reader(&ctx, PIPE_TYPE_MESSAGE, Some(1)).await;
        let (_t, got) = reader.expect("a reader");
        assert_eq!(nowait_write(&ctx, s, 514).await, 0, "message pipe: nothing");
        settle(&ctx).await;
        assert!(got.borrow().is_none(), "the read still waits");
        0
    });
}

/// §2.7 (pipe.c :: test_blocking_rw "empty write will not block", which runs for message
/// pipes too) with §5.8 (TransactNamedPipe's message never waits for the quota): a
/// zero-length write on a message pipe completes at once even when the unread bytes
/// already exceed the quota.
#[test]
fn an_empty_message_never_waits_for_the_quota() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 1, 1, 1).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let t = spawn(&ctx, move |t| async move {
            let mut reply = [0u8; 4];
            let mut n = SENTINEL;
            assert_eq!(t.transact_named_pipe(c, b"abc", &mut reply, Some(&mut n), None).await, TRUE);
            0
        })
        .await;
        settle(&ctx).await;
        write(&ctx, s, b"ok").await;
        join(&ctx, t).await;
        // "abc" (3 bytes) is unread toward the server, over its 1-byte quota.
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file(c, b"", Some(&mut n)).await, TRUE, "the empty message does not wait");
        assert_eq!(n, 0);
        assert_eq!(read(&ctx, s, 8).await, b"abc");
        assert_eq!(read(&ctx, s, 8).await, b"", "then the empty message");
        0
    });
}

/// §3.8 (pipe.c :: test_blocking_rw, the client closes after writing; §5.5): the peer of a
/// closed end still reads what was written before the close, empty messages included
/// (TRUE, 0 bytes), and only then gets ERROR_BROKEN_PIPE.
#[test]
fn an_empty_message_written_before_the_close_is_still_read() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, c, b"").await;
        write(&ctx, c, b"x").await;
        write(&ctx, c, b"").await;
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(read(&ctx, s, 8).await, b"");
        assert_eq!(read(&ctx, s, 8).await, b"x");
        assert_eq!(read(&ctx, s, 8).await, b"");
        assert_eq!(read_error(&ctx, s, 8).await, ERROR_BROKEN_PIPE);
        0
    });
}

/// §6.12 (DisconnectNamedPipe doc: the client's later calls fail; ReactOS's NPFS fails
/// every request on such a handle) [inferred for these two calls]: after the server
/// disconnects, SetNamedPipeHandleState and TransactNamedPipe on the client fail with
/// ERROR_PIPE_NOT_CONNECTED, as ReadFile does, before checking their arguments.
#[test]
fn every_call_on_a_disconnected_client_fails_with_233() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512).await;
        let c = open(&ctx).await;
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        assert_eq!(read_error(&ctx, c, 8).await, ERROR_PIPE_NOT_CONNECTED);
        let mode = PIPE_READMODE_MESSAGE;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.set_named_pipe_handle_state(c, Some(mode), None, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_NOT_CONNECTED, "not 87 for message mode on a byte pipe");
        let mut reply = [0u8; 4];
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.transact_named_pipe(c, b"q", &mut reply, None, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_NOT_CONNECTED, "not 230 for a byte pipe");
        0
    });
}

// ----- DisconnectNamedPipe -------------------------------------------------------------

/// §6.12a (ReactOS's NPFS, fsctrl.c NpDisconnect and NpListen: the file object is decoded
/// first, and a client file a disconnect cut off from its instance decodes to no pipe):
/// DisconnectNamedPipe on a connected client fails with ERROR_INVALID_FUNCTION
/// (STATUS_ILLEGAL_FUNCTION); once the server disconnected, on that client it fails with
/// ERROR_PIPE_NOT_CONNECTED (STATUS_PIPE_DISCONNECTED), while ConnectNamedPipe on it still
/// fails with ERROR_INVALID_FUNCTION (§6.7) [inferred: no test run on Windows checks it].
#[test]
fn disconnect_on_a_client_is_an_illegal_function_until_the_server_cuts_it_off() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.disconnect_named_pipe(c).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_FUNCTION, "a connected client");
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.disconnect_named_pipe(c).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_NOT_CONNECTED, "a client the server cut off");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.connect_named_pipe(c, None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_FUNCTION, "ConnectNamedPipe on it");
        0
    });
}

/// §6.12 (pipe.c :: test_DisconnectNamedPipe; DisconnectNamedPipe doc): DisconnectNamedPipe
/// discards unread data in both directions: after the instance is connected again (§6.8),
/// the new client and the server find their pipes empty.
#[test]
fn disconnect_discards_unread_data() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let old = open(&ctx).await;
        write(&ctx, old, OBUF).await;
        write(&ctx, s, OBUF2).await;
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE, "with data waiting both ways");
        assert_eq!(ctx.close_handle(old).await, TRUE);

        let (t, got) = connect_in_thread(&ctx, s).await;
        settle(&ctx).await;
        let c = open(&ctx).await;
        join(&ctx, t).await;
        assert_eq!(got.get().map(|g| g.0), Some(TRUE));
        assert_eq!(peek_avail(&ctx, s).await, 0, "the old client's bytes are gone");
        assert_eq!(peek_avail(&ctx, c).await, 0, "the server's bytes for the old client are gone");
        write(&ctx, c, b"new").await;
        assert_eq!(read(&ctx, s, 32).await, b"new");
        0
    });
}

/// §6.12 (pipe.c :: test_DisconnectNamedPipe): after DisconnectNamedPipe, WriteFile and
/// ReadFile fail with ERROR_PIPE_NOT_CONNECTED at both ends, the client's read although
/// bytes were waiting for it; a second DisconnectNamedPipe fails the same way.
#[test]
fn after_disconnect_io_fails_with_pipe_not_connected() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, c, OBUF).await;
        write(&ctx, s, OBUF).await;
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        assert_eq!(write_error(&ctx, c, OBUF).await, ERROR_PIPE_NOT_CONNECTED, "client WriteFile");
        assert_eq!(write_error(&ctx, s, OBUF).await, ERROR_PIPE_NOT_CONNECTED, "server WriteFile");
        assert_eq!(read_error(&ctx, c, 32).await, ERROR_PIPE_NOT_CONNECTED, "client ReadFile, bytes waiting");
        assert_eq!(read_error(&ctx, s, 32).await, ERROR_PIPE_NOT_CONNECTED, "server ReadFile");
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.disconnect_named_pipe(s).await, FALSE, "DisconnectNamedPipe twice");
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_NOT_CONNECTED);
        0
    });
}

/// §6.13 (pipe.c :: test_overlapped_transport "disconnect with pending writes"): a client
/// WriteFile pending because it exceeds the server's in-buffer quota (§2.5) fails with
/// ERROR_PIPE_NOT_CONNECTED and 0 bytes when the server disconnects.
#[test]
fn disconnect_fails_a_pending_client_write() {
    check_every_schedule(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 100).await;
        let c = open(&ctx).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut n = SENTINEL;
            let ok = t.write_file(c, &[7u8; 300], Some(&mut n)).await;
            g.set(Some((ok, t.get_last_error(), n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "300 bytes do not fit an in-buffer quota of 100");
        assert_eq!(peek_avail(&ctx, s).await, 300, "the pending write's bytes are queued (§2.3)");
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_PIPE_NOT_CONNECTED, 0)));
        0
    });
}

// ----- WaitNamedPipe -------------------------------------------------------------------

/// §6.14 (pipe.c :: test_CreateNamedPipe, test_wait_pipe): with an instance listening,
/// WaitNamedPipe returns TRUE at once; with every instance busy it waits the whole
/// time-out (virtual time) and fails with ERROR_SEM_TIMEOUT.
#[test]
fn wait_named_pipe_returns_at_once_or_times_out_with_sem_timeout() {
    check(|ctx| async move {
        let _s = byte_server(&ctx).await;
        let before = ctx.get_tick_count().await;
        assert_eq!(ctx.wait_named_pipe(NAME, 2000).await, TRUE);
        assert_eq!(ctx.get_tick_count().await, before, "an instance listens: at once");
        let _c = open(&ctx).await;
        let before = ctx.get_tick_count().await;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.wait_named_pipe(NAME, 100).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_SEM_TIMEOUT);
        assert_eq!(ctx.get_tick_count().await.wrapping_sub(before), 100, "after the time-out");
        0
    });
}

/// CreateNamedPipe doc [D] (nDefaultTimeOut): WaitNamedPipe with NMPWAIT_USE_DEFAULT_WAIT
/// waits the pipe's default time-out, 50 ms when that was given as 0, then fails with
/// ERROR_SEM_TIMEOUT (§6.14).
#[test]
fn wait_named_pipe_default_wait_uses_the_pipes_default_time_out() {
    check(|ctx| async move {
        for (default, expected) in [(300, 300), (0, 50)] {
            let s = create_full(&ctx, NAME, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 1024, default).await;
            let c = open(&ctx).await;
            let before = ctx.get_tick_count().await;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.wait_named_pipe(NAME, NMPWAIT_USE_DEFAULT_WAIT).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_SEM_TIMEOUT);
            assert_eq!(ctx.get_tick_count().await.wrapping_sub(before), expected, "nDefaultTimeOut {default}");
            assert_eq!(ctx.close_handle(c).await, TRUE);
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        0
    });
}

/// §6.14 (pipe.c :: test_wait_pipe "Creating a new pipe server wakes waiters"): a thread
/// waiting in WaitNamedPipe while every instance is busy returns TRUE, before its
/// time-out, when a new instance is created; a CreateFile then connects to it.
#[test]
fn a_new_instance_wakes_wait_named_pipe() {
    check_every_schedule(|ctx| async move {
        let _s0 = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        let _c0 = open(&ctx).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let before = t.get_tick_count().await;
            let ok = t.wait_named_pipe(NAME, 1000).await;
            g.set(Some((ok, t.get_tick_count().await.wrapping_sub(before))));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None, "every instance is busy");
        let s1 = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 2, 1024, 1024).await;
        join(&ctx, t).await;
        let (ok, waited) = got.get().unwrap();
        assert_eq!(ok, TRUE);
        assert!(waited < 1000, "woken by the new instance, not by the time-out ({waited} ms)");
        let _c1 = open(&ctx).await;
        assert_eq!(connect_error(&ctx, s1).await, ERROR_PIPE_CONNECTED);
        0
    });
}

// ----- GetNamedPipeInfo and GetNamedPipeHandleState ------------------------------------

/// §6.16 (pipe.c :: test_GetNamedPipeInfo): a server reports PIPE_SERVER_END plus its
/// type (PIPE_NOWAIT does not appear), the buffer sizes exactly as passed (0 and 0xf000
/// included) and its max instances. A client reports PIPE_CLIENT_END plus the type, and
/// the pipe's max instances [inferred, as §1.1 for an anonymous pipe's client end].
#[test]
fn get_named_pipe_info_reports_end_type_sizes_and_instances() {
    check(|ctx| async move {
        let cases = [
            (BYTE_WAIT, 1, 1024, 1024, PIPE_TYPE_BYTE),
            (PIPE_TYPE_MESSAGE | PIPE_NOWAIT, 3, 1024, 1024, PIPE_TYPE_MESSAGE),
            (PIPE_TYPE_MESSAGE | PIPE_WAIT, 1, 0, 0, PIPE_TYPE_MESSAGE),
            (PIPE_TYPE_MESSAGE | PIPE_WAIT, 1, 0xf000, 0xf000, PIPE_TYPE_MESSAGE),
        ];
        for (mode, max, out, inb, ty) in cases {
            let s = create(&ctx, PIPE_ACCESS_DUPLEX, mode, max, out, inb).await;
            ctx.set_last_error(SENTINEL);
            assert_eq!(info(&ctx, s).await, (PIPE_SERVER_END | ty, out, inb, max), "mode {mode:#x}");
            assert_eq!(ctx.get_last_error(), SENTINEL, "success leaves the last error alone");
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        let _s = create(&ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 3, 1024, 1024).await;
        let c = open(&ctx).await;
        let (flags, _, _, max) = info(&ctx, c).await;
        assert_eq!((flags, max), (PIPE_CLIENT_END | PIPE_TYPE_MESSAGE, 3));
        0
    });
}

/// §6.17 (pipe.c :: test_NamedPipeHandleState): on a new byte-mode PIPE_WAIT server,
/// GetNamedPipeHandleState with no outputs succeeds, and reports state 0 and 1 instance.
/// Asking also for the collection count, collection time-out and user name on a local
/// pipe fails with ERROR_INVALID_PARAMETER (todo_wine: Windows behaviour Wine lacks).
#[test]
fn get_named_pipe_handle_state_on_a_new_server() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        assert_eq!(ctx.get_named_pipe_handle_state(s, None, None, None, None, None).await, TRUE);
        let (mut state, mut instances) = (SENTINEL, SENTINEL);
        let ok = ctx.get_named_pipe_handle_state(s, Some(&mut state), Some(&mut instances), None, None, None).await;
        assert_eq!(ok, TRUE);
        assert_eq!((state, instances), (0, 1));
        let (mut count, mut timeout, mut user) = (SENTINEL, SENTINEL, String::new());
        ctx.set_last_error(SENTINEL);
        let ok = ctx
            .get_named_pipe_handle_state(
                s,
                Some(&mut state),
                Some(&mut instances),
                Some(&mut count),
                Some(&mut timeout),
                Some(&mut user),
            )
            .await;
        assert_eq!(ok, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER);
        0
    });
}

// ----- access --------------------------------------------------------------------------

/// §6.18 (pipe.c :: test_CreateNamedPipe): a client may open with access 0; the handle
/// has only SYNCHRONIZE | FILE_READ_ATTRIBUTES, so it can query the pipe but ReadFile and
/// WriteFile through it fail with ERROR_ACCESS_DENIED [inferred, as §1.3].
#[test]
fn a_client_may_open_with_access_0() {
    check(|ctx| async move {
        let _s = create(&ctx, PIPE_ACCESS_OUTBOUND, BYTE_WAIT, 1, 1024, 1024).await;
        let c = open_with(&ctx, NAME, 0).await;
        assert_eq!(info(&ctx, c).await.0, PIPE_CLIENT_END | PIPE_TYPE_BYTE);
        assert_eq!(read_error(&ctx, c, 8).await, ERROR_ACCESS_DENIED);
        assert_eq!(write_error(&ctx, c, b"x").await, ERROR_ACCESS_DENIED);
        0
    });
}

/// CreateNamedPipe doc [D] (PIPE_ACCESS_OUTBOUND: "the client must specify GENERIC_READ";
/// INBOUND: GENERIC_WRITE): a client asking to write to an OUTBOUND pipe, or to read an
/// INBOUND one, fails with ERROR_ACCESS_DENIED [inferred error code]; the refused open
/// leaves the instance listening, and a client asking for the right direction connects.
#[test]
fn a_client_cannot_ask_for_the_direction_the_pipe_lacks() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_OUTBOUND, BYTE_WAIT, 1, 1024, 1024).await;
        assert_eq!(open_error(&ctx, NAME, GENERIC_WRITE).await, ERROR_ACCESS_DENIED);
        assert_eq!(open_error(&ctx, NAME, RW).await, ERROR_ACCESS_DENIED);
        let c = open_with(&ctx, NAME, GENERIC_READ).await;
        write(&ctx, s, b"out").await;
        assert_eq!(read(&ctx, c, 8).await, b"out");
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(ctx.close_handle(s).await, TRUE);

        let s = create(&ctx, PIPE_ACCESS_INBOUND, BYTE_WAIT, 1, 1024, 1024).await;
        assert_eq!(open_error(&ctx, NAME, GENERIC_READ).await, ERROR_ACCESS_DENIED);
        let c = open_with(&ctx, NAME, GENERIC_WRITE).await;
        write(&ctx, c, b"in").await;
        assert_eq!(read(&ctx, s, 8).await, b"in");
        0
    });
}

/// §6.18 (pipe.c :: test_CreateNamedPipe, file access checks): an INBOUND server handle
/// has only read-side data rights and an OUTBOUND one only write-side rights, so WriteFile
/// on the first and ReadFile on the second fail with ERROR_ACCESS_DENIED [inferred, as
/// §1.3], although a client is connected.
#[test]
fn a_one_way_server_handle_has_only_its_direction() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_INBOUND, BYTE_WAIT, 1, 1024, 1024).await;
        let _c = open_with(&ctx, NAME, GENERIC_WRITE).await;
        assert_eq!(write_error(&ctx, s, b"x").await, ERROR_ACCESS_DENIED, "INBOUND server WriteFile");
        let s2 = create_full(&ctx, r"\\.\pipe\outbound", PIPE_ACCESS_OUTBOUND, BYTE_WAIT, 1, 1024, 1024, 0).await;
        let c2 = open_with(&ctx, r"\\.\pipe\outbound", GENERIC_READ).await;
        assert_eq!(read_error(&ctx, s2, 8).await, ERROR_ACCESS_DENIED, "OUTBOUND server ReadFile");
        write(&ctx, s2, b"ok").await;
        assert_eq!(read(&ctx, c2, 8).await, b"ok");
        0
    });
}

// ----- byte-mode data, quotas and closing ----------------------------------------------

/// §3.1 (pipe.c :: test_CreateNamedPipe, byte mode): both ends of a duplex byte pipe read
/// and write, and one read returns the bytes of several writes (11 + 10 = 21), in either
/// direction.
#[test]
fn a_duplex_byte_pipe_carries_data_both_ways_and_reads_merge_writes() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, s, OBUF).await;
        assert_eq!(read(&ctx, c, 32).await, OBUF);
        write(&ctx, c, OBUF2).await;
        assert_eq!(read(&ctx, s, 32).await, OBUF2);
        let both = [OBUF, OBUF2].concat();
        for (from, to) in [(s, c), (c, s)] {
            write(&ctx, from, OBUF).await;
            write(&ctx, from, OBUF2).await;
            assert_eq!(peek(&ctx, to, 0).await, (vec![], 21, 0), "byte mode: left is 0 (§4.1)");
            assert_eq!(read(&ctx, to, 32).await, both);
        }
        0
    });
}

/// §2.1 (pipe.c :: test_overlapped_transport with out 5000, in 6000): the server's
/// nInBufferSize is the quota of data toward the server and nOutBufferSize that of data
/// toward the client (§2.4). With out 100 and in 200, 200 client bytes and 100 server
/// bytes complete at once; one more byte either way pends until the other end reads one.
#[test]
fn each_direction_has_its_own_quota() {
    check_every_schedule(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 100, 200).await;
        let c = open(&ctx).await;
        write(&ctx, c, &[1u8; 200]).await;
        write(&ctx, s, &[2u8; 100]).await;
        assert_eq!(peek_avail(&ctx, s).await, 200);
        assert_eq!(peek_avail(&ctx, c).await, 100);

        let up = Rc::new(Cell::new(false));
        let u = up.clone();
        let t = spawn(&ctx, move |t| async move {
            write(&t, c, &[3u8]).await;
            u.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!up.get(), "201 bytes toward the server exceed its in-buffer size of 200");
        assert_eq!(read(&ctx, s, 1).await, [1u8]);
        join(&ctx, t).await;
        assert!(up.get());

        let down = Rc::new(Cell::new(false));
        let d = down.clone();
        let t = spawn(&ctx, move |t| async move {
            write(&t, s, &[4u8]).await;
            d.set(true);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(!down.get(), "101 bytes toward the client exceed the out-buffer size of 100");
        assert_eq!(read(&ctx, c, 1).await, [2u8]);
        join(&ctx, t).await;
        assert!(down.get());
        0
    });
}

/// §§1.5, 3.4 and 3.6 (pipe.c :: test_CloseHandle): after the client closes, the server's
/// reads drain what it wrote, then ReadFile of any size fails with ERROR_BROKEN_PIPE and
/// WriteFile with ERROR_NO_DATA.
#[test]
fn client_closed_server_reads_drain_then_broken_pipe_and_writes_get_no_data() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, c, b"hello").await;
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(peek_avail(&ctx, s).await, 5);
        assert_eq!(read(&ctx, s, 3).await, b"hel");
        assert_eq!(read(&ctx, s, 32).await, b"lo");
        assert_eq!(read_error(&ctx, s, 32).await, ERROR_BROKEN_PIPE);
        assert_eq!(read_error(&ctx, s, 0).await, ERROR_BROKEN_PIPE);
        assert_eq!(write_error(&ctx, s, b"x").await, ERROR_NO_DATA);
        0
    });
}

/// §§3.4, 4.5 and 3.6 (pipe.c :: test_CloseHandle, message pipe): after the server
/// closes, a zero-length client read succeeds while data is queued, the next read returns
/// the message; then ReadFile fails with ERROR_BROKEN_PIPE, PeekNamedPipe with
/// ERROR_BROKEN_PIPE leaving avail untouched, and WriteFile with ERROR_NO_DATA.
#[test]
fn server_closed_client_reads_drain_then_broken_pipe_and_writes_get_no_data() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        let data = b"Hello World\0";
        write(&ctx, s, data).await;
        assert_eq!(peek_avail(&ctx, c).await, 12);
        assert_eq!(ctx.close_handle(s).await, TRUE);
        assert_eq!(read(&ctx, c, 0).await, b"", "data still queued");
        assert_eq!(peek_avail(&ctx, c).await, 12);
        assert_eq!(read(&ctx, c, 32).await, data);
        assert_eq!(read_error(&ctx, c, 0).await, ERROR_BROKEN_PIPE);
        let mut avail = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.peek_named_pipe(c, None, None, Some(&mut avail), None).await, FALSE);
        assert_eq!((ctx.get_last_error(), avail), (ERROR_BROKEN_PIPE, SENTINEL));
        assert_eq!(write_error(&ctx, c, data).await, ERROR_NO_DATA);
        0
    });
}

/// §2.11 (pipe.c :: test_overlapped_transport "close server with pending writes"): a
/// client write pending on the server's in-buffer quota fails with ERROR_BROKEN_PIPE and
/// 0 bytes when the server closes; the next write fails with ERROR_NO_DATA.
#[test]
fn a_pending_client_write_fails_with_broken_pipe_when_the_server_closes() {
    check_every_schedule(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, BYTE_WAIT, 1, 1024, 100).await;
        let c = open(&ctx).await;
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let mut n = SENTINEL;
            let ok = t.write_file(c, &[9u8; 300], Some(&mut n)).await;
            g.set(Some((ok, t.get_last_error(), n)));
            0
        })
        .await;
        settle(&ctx).await;
        assert_eq!(got.get(), None);
        assert_eq!(ctx.close_handle(s).await, TRUE);
        join(&ctx, t).await;
        assert_eq!(got.get(), Some((FALSE, ERROR_BROKEN_PIPE, 0)));
        assert_eq!(write_error(&ctx, c, b"x").await, ERROR_NO_DATA);
        0
    });
}

// ----- message mode --------------------------------------------------------------------

/// §5.1 (pipe.c :: test_CreateNamedPipe "read 4", message mode): each WriteFile is one
/// message, and a ReadFile in message read mode returns one message although the buffer
/// could hold both.
#[test]
fn message_read_mode_returns_one_message_per_read() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, c, OBUF).await;
        write(&ctx, c, OBUF2).await;
        assert_eq!(peek_avail(&ctx, s).await, 21);
        assert_eq!(read(&ctx, s, 32).await, OBUF);
        assert_eq!(read(&ctx, s, 32).await, OBUF2);
        0
    });
}

/// §5.2 (pipe.c :: test_CreateNamedPipe, test_ReadFile): a message-mode ReadFile into a
/// buffer smaller than the message fails with ERROR_MORE_DATA and reports the bytes
/// copied; the rest stays queued. Read in three parts: FALSE, FALSE, TRUE. A 1-byte read
/// of a 512-byte message copies 1.
#[test]
fn a_short_buffer_gets_more_data_and_the_rest_stays_queued() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, c, OBUF2).await;
        assert_eq!(read_more(&ctx, s, 4).await, b"More");
        assert_eq!(read_more(&ctx, s, 4).await, b" bit");
        assert_eq!(read(&ctx, s, 32).await, b"s\0");
        write(&ctx, c, &[5u8; 512]).await;
        assert_eq!(read_more(&ctx, s, 1).await, [5u8]);
        assert_eq!(peek_avail(&ctx, s).await, 511);
        0
    });
}

/// §5.3 (pipe.c :: test_CreateNamedPipe RpcReadFile section): the rest of a partly read
/// message is kept in the pipe, not per thread: two other threads read the next 4 bytes
/// (ERROR_MORE_DATA) and the last 3.
#[test]
fn another_thread_may_read_the_rest_of_a_message() {
    check_every_schedule(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        write(&ctx, s, OBUF).await;
        assert_eq!(read_more(&ctx, c, 4).await, b"Bit ");
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let v = read_more(&t, c, 4).await;
            g.borrow_mut().push(v);
            0
        })
        .await;
        join(&ctx, t).await;
        let g = got.clone();
        let t = spawn(&ctx, move |t| async move {
            let v = read(&t, c, 32).await;
            g.borrow_mut().push(v);
            0
        })
        .await;
        join(&ctx, t).await;
        assert_eq!(*got.borrow(), [b"Buck".to_vec(), b"et\0".to_vec()]);
        0
    });
}

/// §5.4 (pipe.c :: test_CreateNamedPipe "read 3" and the mode change after it): a client
/// opened with CreateFile starts in byte read mode even on a message pipe, and one read
/// spans two messages; after SetNamedPipeHandleState(PIPE_READMODE_MESSAGE) it reads one
/// message at a time.
#[test]
fn a_new_client_reads_in_byte_mode_until_switched_to_message_mode() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, s, OBUF).await;
        write(&ctx, s, OBUF2).await;
        assert_eq!(read(&ctx, c, 32).await, [OBUF, OBUF2].concat());
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        write(&ctx, s, OBUF).await;
        write(&ctx, s, OBUF2).await;
        assert_eq!(read(&ctx, c, 32).await, OBUF);
        assert_eq!(read(&ctx, c, 32).await, OBUF2);
        0
    });
}

/// §5.5 (pipe.c :: test_blocking_rw "simple pass of empty message"): a zero-length
/// WriteFile on a message pipe returns TRUE with 0 and makes a real empty message: peek
/// shows avail 0, a ReadFile returns TRUE with 0 bytes at once and consumes it, so the
/// next read returns the next message.
#[test]
fn an_empty_write_on_a_message_pipe_is_a_real_message() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let mut n = SENTINEL;
        assert_eq!(ctx.write_file(s, b"", Some(&mut n)).await, TRUE);
        assert_eq!(n, 0);
        assert_eq!(peek_avail(&ctx, c).await, 0);
        assert_eq!(read(&ctx, c, 32).await, b"", "the empty message, not a block");
        write(&ctx, s, b"abc").await;
        assert_eq!(read(&ctx, c, 32).await, b"abc", "the empty message was consumed");
        0
    });
}

/// §5.5 (pipe.c :: test_blocking_rw "0 length write wakes one read in msg mode"): with a
/// read pending and a second one queued behind it, an empty message completes exactly the
/// first (TRUE, 0 bytes); the second waits for the next message.
#[test]
fn an_empty_message_completes_exactly_one_pending_read() {
    check_every_schedule(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let first = Rc::new(RefCell::new(None));
        let second = Rc::new(RefCell::new(None));
        let f = first.clone();
        let a = spawn(&ctx, move |t| async move {
            *f.borrow_mut() = Some(read(&t, c, 32).await);
            0
        })
        .await;
        settle(&ctx).await;
        let g = second.clone();
        let b = spawn(&ctx, move |t| async move {
            *g.borrow_mut() = Some(read(&t, c, 1).await);
            0
        })
        .await;
        settle(&ctx).await;
        assert!(first.borrow().is_none() && second.borrow().is_none(), "the pipe is empty");
        write(&ctx, s, b"").await;
        join(&ctx, a).await;
        assert_eq!(first.borrow().as_deref(), Some(&b""[..]));
        settle(&ctx).await;
        assert!(second.borrow().is_none(), "one empty message completes one read");
        write(&ctx, s, b"x").await;
        join(&ctx, b).await;
        assert_eq!(second.borrow().as_deref(), Some(&b"x"[..]));
        0
    });
}

/// §5.7 (pipe.c :: test_NamedPipeHandleState, test_CreateNamedPipe): a byte-type pipe
/// cannot be put in message read mode, at the server or the client (FALSE,
/// ERROR_INVALID_PARAMETER; byte read mode is accepted); a message-type pipe switches
/// either way at both ends, and the switch takes effect: the server in byte read mode
/// reads across messages [inferred, as §5.4], in message read mode one at a time.
#[test]
fn only_a_message_type_pipe_can_switch_to_message_read_mode() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_BYTE).await;
        for h in [s, c] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.set_named_pipe_handle_state(h, Some(PIPE_READMODE_MESSAGE), None, None).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_INVALID_PARAMETER, "{h:?}");
        }
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(ctx.close_handle(s).await, TRUE);

        let s = create(&ctx, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_WAIT, 1, 1024, 1024).await;
        set_read_mode(&ctx, s, PIPE_READMODE_BYTE).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        set_read_mode(&ctx, c, PIPE_READMODE_BYTE).await;
        write(&ctx, c, OBUF).await;
        write(&ctx, c, OBUF2).await;
        assert_eq!(read(&ctx, s, 32).await, [OBUF, OBUF2].concat(), "byte read mode");
        set_read_mode(&ctx, s, PIPE_READMODE_MESSAGE).await;
        write(&ctx, c, OBUF).await;
        write(&ctx, c, OBUF2).await;
        assert_eq!(read(&ctx, s, 32).await, OBUF, "message read mode");
        0
    });
}

/// §§4.1 and 4.2 (pipe.c :: test_CreateNamedPipe "peek 1" and the short-buffer peeks,
/// message mode): on a message pipe avail counts every unread byte, and left is the length
/// of the first message minus the bytes copied: 11 with no buffer, 7 after copying 4.
/// This holds for a client still in byte read mode (the Wine test peeks through one).
#[test]
fn peek_on_a_message_pipe_reports_the_rest_of_the_first_message() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, s, OBUF).await;
        assert_eq!(peek(&ctx, c, 0).await, (vec![], 11, 11));
        assert_eq!(peek(&ctx, c, 4).await, (b"Bit ".to_vec(), 11, 7));
        write(&ctx, c, OBUF).await;
        write(&ctx, c, OBUF2).await;
        assert_eq!(peek(&ctx, s, 4).await, (b"Bit ".to_vec(), 21, 7), "avail counts both messages");
        assert_eq!(read(&ctx, c, 32).await, OBUF, "peeks consume nothing (§4.4)");
        0
    });
}

/// §4.3 (pipe.c :: test_CreateNamedPipe "peek3", message mode): on a message-type pipe
/// PeekNamedPipe copies at most the first message, left 0, while avail counts both; the
/// Wine test peeks through a client that is still in byte read mode, and the ReadFile
/// that follows does span both messages (§5.4).
#[test]
fn peek_copies_at_most_the_first_message() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        write(&ctx, s, OBUF).await;
        write(&ctx, s, OBUF2).await;
        assert_eq!(peek(&ctx, c, 32).await, (OBUF.to_vec(), 21, 0));
        assert_eq!(read(&ctx, c, 32).await, [OBUF, OBUF2].concat());
        0
    });
}

/// §§4.1 and 5.2 (pipe.c :: test_blocking_rw, message mode and message read mode): after
/// a partial read of a 20-byte message, peek sees the 10 bytes left of it as the first
/// message: a big buffer copies them (left 0), a 1-byte buffer leaves 9; avail counts the
/// 15-byte message behind it too.
#[test]
fn peek_after_a_partial_read_sees_the_rest_of_the_message() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        write(&ctx, s, &[1u8; 20]).await;
        write(&ctx, s, &[2u8; 15]).await;
        assert_eq!(peek(&ctx, c, 0).await, (vec![], 35, 20));
        assert_eq!(read_more(&ctx, c, 10).await, [1u8; 10]);
        assert_eq!(peek(&ctx, c, 100).await, (vec![1u8; 10], 25, 0));
        assert_eq!(peek(&ctx, c, 1).await, (vec![1u8], 25, 9));
        assert_eq!(read(&ctx, c, 100).await, [1u8; 10]);
        assert_eq!(peek(&ctx, c, 100).await, (vec![2u8; 15], 15, 0));
        0
    });
}

// ----- TransactNamedPipe and CallNamedPipe ---------------------------------------------

/// §5.8 (pipe.c :: test_TransactNamedPipe): TransactNamedPipe needs a message-type pipe in
/// message read mode: on a byte pipe, and on a message pipe whose client is in byte read
/// mode, it fails with ERROR_BAD_PIPE and writes nothing.
#[test]
fn transact_needs_message_type_and_message_read_mode() {
    check(|ctx| async move {
        for server_mode in [BYTE_WAIT, MSG_WAIT] {
            let s = create(&ctx, PIPE_ACCESS_DUPLEX, server_mode, 1, 1024, 1024).await;
            let c = open(&ctx).await;
            let mut out = [0u8; 1];
            let mut n = SENTINEL;
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.transact_named_pipe(c, b"ab", &mut out, Some(&mut n), None).await, FALSE);
            assert_eq!(ctx.get_last_error(), ERROR_BAD_PIPE, "server mode {server_mode:#x}");
            assert_eq!(peek_avail(&ctx, s).await, 0, "nothing was written");
            assert_eq!(ctx.close_handle(c).await, TRUE);
            assert_eq!(ctx.close_handle(s).await, TRUE);
        }
        0
    });
}

/// §5.8 (pipe.c :: test_transact "transact fails if there is already data in read
/// buffer"): with unread data queued for the caller, TransactNamedPipe fails with
/// ERROR_PIPE_BUSY; it wrote nothing, and the queued data is still there.
#[test]
fn transact_fails_with_pipe_busy_when_data_is_queued_for_the_caller() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        write(&ctx, s, b"q").await;
        let mut out = [0u8; 1];
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.transact_named_pipe(c, b"ab", &mut out, Some(&mut n), None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_PIPE_BUSY);
        assert_eq!(peek_avail(&ctx, s).await, 0, "the request was not written");
        assert_eq!(read(&ctx, c, 32).await, b"q");
        0
    });
}

/// §5.8 (pipe.c :: test_transact "simple transact call"): TransactNamedPipe writes its
/// buffer as one message and returns the next message the other end writes: TRUE with
/// the reply's length.
#[test]
fn transact_writes_one_message_and_returns_the_reply() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let request = Rc::new(RefCell::new(Vec::new()));
        let r = request.clone();
        let server = spawn(&ctx, move |t| async move {
            *r.borrow_mut() = read(&t, s, 1000).await;
            write(&t, s, b"test").await;
            0
        })
        .await;
        let mut out = [0u8; 100];
        let mut n = SENTINEL;
        assert_eq!(ctx.transact_named_pipe(c, b"abc", &mut out, Some(&mut n), None).await, TRUE);
        assert_eq!(&out[..n as usize], b"test");
        join(&ctx, server).await;
        assert_eq!(*request.borrow(), b"abc");
        0
    });
}

/// §§5.8 and 5.2 (pipe.c :: test_transact "transact with already pending read"): a reply
/// longer than the out buffer makes TransactNamedPipe fail with ERROR_MORE_DATA after
/// copying what fits (6 of 10; the synchronous count [inferred] from the Wine test's
/// overlapped result); the rest of the reply is read with ReadFile.
#[test]
fn transact_with_a_short_reply_buffer_gets_more_data() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let server = spawn(&ctx, move |t| async move {
            assert_eq!(read(&t, s, 100).await, b"hello");
            write(&t, s, b"0123456789").await;
            0
        })
        .await;
        let mut out = [0u8; 6];
        let mut n = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.transact_named_pipe(c, b"hello", &mut out, Some(&mut n), None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_MORE_DATA);
        assert_eq!((n, &out), (6, b"012345"));
        join(&ctx, server).await;
        assert_eq!(read(&ctx, c, 32).await, b"6789");
        0
    });
}

/// §5.8 (pipe.c :: test_transact "transact doesn't block on write"): TransactNamedPipe's
/// own write never blocks: a 50-byte request into a 16-byte in-buffer quota is queued and
/// the call waits only for the reply, which the server writes without reading the
/// request [inferred: the Wine test queues the request behind a pending write instead].
#[test]
fn transact_does_not_wait_for_its_write_to_be_read() {
    check(|ctx| async move {
        let s = create(&ctx, PIPE_ACCESS_DUPLEX, MSG_WAIT, 1, 1024, 16).await;
        let c = open(&ctx).await;
        set_read_mode(&ctx, c, PIPE_READMODE_MESSAGE).await;
        let seen = Rc::new(Cell::new(SENTINEL));
        let sn = seen.clone();
        let server = spawn(&ctx, move |t| async move {
            settle(&t).await;
            sn.set(peek_avail(&t, s).await);
            write(&t, s, b"ok").await;
            0
        })
        .await;
        let mut out = [0u8; 8];
        let mut n = SENTINEL;
        assert_eq!(ctx.transact_named_pipe(c, &[3u8; 50], &mut out, Some(&mut n), None).await, TRUE);
        assert_eq!(&out[..n as usize], b"ok");
        join(&ctx, server).await;
        assert_eq!(seen.get(), 50, "the request was queued before the reply");
        assert_eq!(read(&ctx, s, 100).await, [3u8; 50], "and is still unread");
        0
    });
}

/// CallNamedPipe doc [D] ("equivalent to CreateFile, TransactNamedPipe and CloseHandle"):
/// against a message pipe whose server thread answers one request, CallNamedPipe returns
/// TRUE with the reply and its length, and has closed its handle: the server's next read
/// fails with ERROR_BROKEN_PIPE (§3.4).
#[test]
fn call_named_pipe_returns_the_reply() {
    check(|ctx| async move {
        let s = msg_server(&ctx).await;
        let server = spawn(&ctx, move |t| async move {
            t.set_last_error(SENTINEL);
            let ok = t.connect_named_pipe(s, None).await;
            assert!(ok == TRUE || t.get_last_error() == ERROR_PIPE_CONNECTED, "{}", t.get_last_error());
            assert_eq!(read(&t, s, 64).await, b"ping");
            write(&t, s, b"pong!").await;
            assert_eq!(read_error(&t, s, 64).await, ERROR_BROKEN_PIPE, "CallNamedPipe closed its handle");
            0
        })
        .await;
        let mut out = [0u8; 32];
        let mut n = SENTINEL;
        assert_eq!(ctx.call_named_pipe(NAME, b"ping", &mut out, &mut n, NMPWAIT_WAIT_FOREVER).await, TRUE);
        assert_eq!(&out[..n as usize], b"pong!");
        join(&ctx, server).await;
        0
    });
}

// ----- process ids ---------------------------------------------------------------------

/// pipe.c :: test_namedpipe_process_id ("different process"; GetNamedPipeClientProcessId
/// doc): on a connected pipe between two processes, both ends report the client's and the
/// server's process ids: the client sees its own pid and the server's, the server its own
/// and the client's (the pid CreateProcess returned).
#[test]
fn both_ends_report_the_client_and_server_process_ids() {
    check_server_client(
        |ctx| async move {
            let s = byte_server(&ctx).await;
            let pi = start_client(&ctx).await;
            let me = ctx.get_current_process_id();
            assert_ne!(pi.dwProcessId, me);
            // Wait for the client (a read before it connects fails with
            // ERROR_PIPE_LISTENING, §3.9).
            if ctx.connect_named_pipe(s, None).await == FALSE {
                assert_eq!(ctx.get_last_error(), ERROR_PIPE_CONNECTED);
            }
            let seen = read(&ctx, s, 16).await;
            assert_eq!(seen.len(), 8, "the client reports two ids");
            let seen_client = u32::from_le_bytes(seen[0..4].try_into().unwrap());
            let seen_server = u32::from_le_bytes(seen[4..8].try_into().unwrap());
            assert_eq!((seen_client, seen_server), (pi.dwProcessId, me), "as the client sees them");
            let (mut client_pid, mut server_pid) = (SENTINEL, SENTINEL);
            assert_eq!(ctx.get_named_pipe_client_process_id(s, &mut client_pid).await, TRUE);
            assert_eq!(ctx.get_named_pipe_server_process_id(s, &mut server_pid).await, TRUE);
            assert_eq!((client_pid, server_pid), (pi.dwProcessId, me), "as the server sees them");
            write(&ctx, s, b"done").await;
            assert_eq!(ctx.wait_for_single_object(pi.hProcess, INFINITE).await, WAIT_OBJECT_0);
            0
        },
        |ctx| async move {
            let c = open(&ctx).await;
            let (mut client_pid, mut server_pid) = (SENTINEL, SENTINEL);
            assert_eq!(ctx.get_named_pipe_client_process_id(c, &mut client_pid).await, TRUE);
            assert_eq!(ctx.get_named_pipe_server_process_id(c, &mut server_pid).await, TRUE);
            assert_eq!(client_pid, ctx.get_current_process_id());
            write(&ctx, c, &[client_pid.to_le_bytes(), server_pid.to_le_bytes()].concat()).await;
            assert_eq!(read(&ctx, c, 8).await, b"done");
            0
        },
    );
}

// ----- facts beyond the implementation list --------------------------------------------
//
// The tests below check facts of docs/semantics.md that the list of named-pipe behaviours
// being implemented does not name; they follow from the same state machine.

/// §3.9 (pipe.c :: test_DisconnectNamedPipe): on a new instance that no client has opened
/// yet (listening), WriteFile and ReadFile fail with ERROR_PIPE_LISTENING, at once even
/// though the handle is synchronous.
#[test]
fn io_on_a_listening_server_fails_with_pipe_listening() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let before = ctx.get_tick_count().await;
        assert_eq!(write_error(&ctx, s, OBUF).await, ERROR_PIPE_LISTENING);
        assert_eq!(read_error(&ctx, s, 32).await, ERROR_PIPE_LISTENING);
        assert_eq!(ctx.get_tick_count().await, before, "at once");
        0
    });
}

/// §§4.6 and 3.9 (pipe.c :: test_CreateNamedPipe, test_DisconnectNamedPipe): PeekNamedPipe
/// on a listening server fails with ERROR_BAD_PIPE; after DisconnectNamedPipe it fails on
/// the client with ERROR_PIPE_NOT_CONNECTED and on the server with ERROR_BAD_PIPE.
#[test]
fn peek_on_a_listening_or_disconnected_pipe_fails() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let mut avail = SENTINEL;
        ctx.set_last_error(SENTINEL);
        assert_eq!(ctx.peek_named_pipe(s, None, None, Some(&mut avail), None).await, FALSE);
        assert_eq!(ctx.get_last_error(), ERROR_BAD_PIPE, "listening server");
        let c = open(&ctx).await;
        write(&ctx, c, OBUF).await;
        assert_eq!(ctx.disconnect_named_pipe(s).await, TRUE);
        for (h, want) in [(c, ERROR_PIPE_NOT_CONNECTED), (s, ERROR_BAD_PIPE)] {
            ctx.set_last_error(SENTINEL);
            assert_eq!(ctx.peek_named_pipe(h, None, None, Some(&mut avail), None).await, FALSE);
            assert_eq!(ctx.get_last_error(), want, "{h:?} after DisconnectNamedPipe");
        }
        0
    });
}

/// §10.7 (pipe.c :: test_CancelSynchronousIo): a synchronous ConnectNamedPipe in progress
/// makes the server handle nonsignalled; when it completes the handle is signalled again.
#[test]
fn the_server_handle_is_nonsignalled_while_connect_named_pipe_waits() {
    check_every_schedule(|ctx| async move {
        let s = byte_server(&ctx).await;
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_OBJECT_0);
        let (t, got) = connect_in_thread(&ctx, s).await;
        settle(&ctx).await;
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_TIMEOUT, "ConnectNamedPipe in progress");
        let _c = open(&ctx).await;
        join(&ctx, t).await;
        assert_eq!(got.get().map(|g| g.0), Some(TRUE));
        assert_eq!(ctx.wait_for_single_object(s, 0).await, WAIT_OBJECT_0);
        0
    });
}

/// §6.10's documentation half (ConnectNamedPipe doc [D]: re-listening without a
/// DisconnectNamedPipe gives ERROR_NO_DATA once the old client closed), for a PIPE_WAIT
/// server: ConnectNamedPipe returns FALSE with ERROR_NO_DATA at once instead of waiting.
#[test]
fn connect_after_the_client_closed_fails_with_no_data() {
    check(|ctx| async move {
        let s = byte_server(&ctx).await;
        let c = open(&ctx).await;
        assert_eq!(ctx.close_handle(c).await, TRUE);
        assert_eq!(connect_error(&ctx, s).await, ERROR_NO_DATA);
        0
    });
}

/// §6.7 (Microsoft Learn, Anonymous Pipe Operations: anonymous pipes are named pipes with
/// a unique name; native differential, docs/conformance.md): the read end of an anonymous
/// pipe is a connected server end, so ConnectNamedPipe on it fails with
/// ERROR_PIPE_CONNECTED, and with ERROR_NO_DATA once the write end has closed; on the
/// write end (the client) it is ERROR_INVALID_FUNCTION.
#[test]
fn connect_named_pipe_on_an_anonymous_pipe() {
    check(|ctx| async move {
        let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
        assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE);
        assert_eq!(connect_error(&ctx, r).await, ERROR_PIPE_CONNECTED);
        assert_eq!(connect_error(&ctx, w).await, ERROR_INVALID_FUNCTION);
        write(&ctx, w, b"still connected").await;
        assert_eq!(read(&ctx, r, 32).await, b"still connected");
        assert_eq!(ctx.close_handle(w).await, TRUE);
        assert_eq!(connect_error(&ctx, r).await, ERROR_NO_DATA);
        0
    });
}

/// §24.5 (SetNamedPipeHandleState and CreateNamedPipe docs; native differential): the
/// call needs FILE_WRITE_ATTRIBUTES. An inbound pipe's server (GENERIC_READ) and a client
/// that opened an outbound pipe with GENERIC_READ alone are denied; the same client with
/// FILE_WRITE_ATTRIBUTES, and a duplex server, may change the mode.
#[test]
fn set_named_pipe_handle_state_needs_file_write_attributes() {
    check(|ctx| async move {
        let set = |h: HANDLE| {
            let ctx = ctx.clone();
            async move {
                ctx.set_last_error(SENTINEL);
                let ok = ctx.set_named_pipe_handle_state(h, Some(PIPE_READMODE_BYTE | PIPE_NOWAIT), None, None).await;
                (ok, ctx.get_last_error())
            }
        };
        let inbound = create_full(&ctx, NAME, PIPE_ACCESS_INBOUND, BYTE_WAIT, 1, 1024, 1024, 0).await;
        assert_eq!(set(inbound).await, (FALSE, ERROR_ACCESS_DENIED));
        assert_eq!(ctx.close_handle(inbound).await, TRUE);

        let outbound = create_full(&ctx, NAME, PIPE_ACCESS_OUTBOUND, BYTE_WAIT, 2, 1024, 1024, 0).await;
        let _second = create_full(&ctx, NAME, PIPE_ACCESS_OUTBOUND, BYTE_WAIT, 2, 1024, 1024, 0).await;
        let open = |access: u32| ctx.create_file(NAME, access, 0, None, OPEN_EXISTING, 0, HANDLE::NULL);
        let reader = open(GENERIC_READ).await;
        assert_ne!(reader, INVALID_HANDLE_VALUE);
        assert_eq!(set(reader).await, (FALSE, ERROR_ACCESS_DENIED));
        let reader_attrs = open(GENERIC_READ | FILE_WRITE_ATTRIBUTES).await;
        assert_ne!(reader_attrs, INVALID_HANDLE_VALUE);
        assert_eq!(set(reader_attrs).await.0, TRUE);
        assert_eq!(set(outbound).await.0, TRUE);
        0
    });
}
