//! The differential cases, written once, generic over the backend.
//!
//! Each case is deterministic on real Windows: one thread, or threads sequenced by
//! waits, a thread that could race with another logging into its own buffer that is
//! merged after it ended. Every call goes through `call!`: last error set to the
//! sentinel, the call, the last error read back, one log line. A case that must see a
//! block (a deadlock, an end of file that never comes) waits on the blocked thread with a
//! time-out (virtual in the simulator, real natively) and then unblocks it by closing a
//! handle, so every thread has ended when the case returns.
//!
//! Sources: each case cites the docs/semantics.md sections it exercises; the facts there
//! cite Microsoft Learn and Wine's conformance tests.

use crate::log::{Atom, Dword, Id, Int, Log, Lresult, Size, render_bytes, render_error};
use sim_core::backend::{Program, SendAsyncProc, TimerProc, Win32, WindowProc};
use sim_core::objects::com::{
    CLSCTX_INPROC_SERVER, CLSID_StdGlobalInterfaceTable, COINIT_APARTMENTTHREADED, COINIT_MULTITHREADED,
    IID_IClassFactory, IID_IGlobalInterfaceTable, IID_IToy, IID_IUnknown, MSHCTX_INPROC, MSHLFLAGS_NORMAL,
    MSHLFLAGS_TABLESTRONG, MSHLFLAGS_TABLEWEAK,
};
use sim_core::types::*;
use std::future::Future;
use std::pin::Pin;

/// Sets the sentinel, makes the call, logs its return value and last error, and yields
/// the return value.
macro_rules! call {
    ($w:expr, $log:expr, $what:expr, $call:expr) => {{
        $w.set_last_error($crate::log::SENTINEL);
        let ret = $call.await;
        let err = $w.get_last_error();
        $log.call($what, &ret, err);
        ret
    }};
}
pub(crate) use call;

/// A case's body: the backend value of its main thread and its log.
pub type CaseBody<W> = fn(W, Log) -> Pin<Box<dyn Future<Output = ()>>>;

/// One case: its name (also the program name in the simulator) and its body.
pub struct Case<W: Win32> {
    /// The name, the first field of every line it logs.
    pub name: &'static str,
    /// The body, run as the main thread of its own process.
    pub run: CaseBody<W>,
}

/// Every case, in the order both backends run them.
pub fn all<W: Win32>() -> Vec<Case<W>> {
    let mut cases = vec![
        Case { name: "pipe_basics", run: |w, l| Box::pin(pipe_basics(w, l)) },
        Case { name: "pipe_broken", run: |w, l| Box::pin(pipe_broken(w, l)) },
        Case { name: "pipe_full_both_directions", run: |w, l| Box::pin(pipe_full_both_directions(w, l)) },
        Case { name: "pipe_leaked_write_handle", run: |w, l| Box::pin(pipe_leaked_write_handle(w, l)) },
        Case { name: "named_pipe_request_response", run: |w, l| Box::pin(named_pipe_request_response(w, l)) },
        Case { name: "sync_objects", run: |w, l| Box::pin(sync_objects(w, l)) },
        Case { name: "bad_handles", run: |w, l| Box::pin(bad_handles(w, l)) },
        Case { name: "threads", run: |w, l| Box::pin(threads(w, l)) },
        Case { name: "process_inherit", run: |w, l| Box::pin(process_inherit(w, l)) },
        Case { name: "named_pipe_modes_and_limits", run: |w, l| Box::pin(named_pipe_modes_and_limits(w, l)) },
        Case { name: "handle_duplication", run: |w, l| Box::pin(handle_duplication(w, l)) },
        Case { name: "mailslots", run: |w, l| Box::pin(mailslots(w, l)) },
        Case { name: "file_mapping", run: |w, l| Box::pin(file_mapping(w, l)) },
        Case { name: "virtual_memory", run: |w, l| Box::pin(virtual_memory(w, l)) },
        Case { name: "files", run: |w, l| Box::pin(files(w, l)) },
        Case { name: "overlapped_pipe", run: |w, l| Box::pin(overlapped_pipe(w, l)) },
        Case { name: "sockets", run: |w, l| Box::pin(sockets(w, l)) },
        Case { name: "thread_messages", run: |w, l| Box::pin(thread_messages(w, l)) },
        Case { name: "window_messages", run: |w, l| Box::pin(window_messages(w, l)) },
        Case { name: "user_locks", run: |w, l| Box::pin(user_locks(w, l)) },
        Case { name: "com_init", run: |w, l| Box::pin(com_init(w, l)) },
        Case { name: "com_marshalling", run: |w, l| Box::pin(com_marshalling(w, l)) },
        Case { name: "com_table_marshalling", run: |w, l| Box::pin(com_table_marshalling(w, l)) },
        Case { name: "waitable_timers", run: |w, l| Box::pin(waitable_timers(w, l)) },
        Case { name: "apcs", run: |w, l| Box::pin(apcs(w, l)) },
        Case { name: "window_timers", run: |w, l| Box::pin(window_timers(w, l)) },
        Case { name: "overlapped_sockets", run: |w, l| Box::pin(overlapped_sockets(w, l)) },
        Case { name: "window_messages_across_processes", run: |w, l| Box::pin(window_messages_across_processes(w, l)) },
        Case { name: "send_message_callbacks", run: |w, l| Box::pin(send_message_callbacks(w, l)) },
        Case { name: "timer_procs", run: |w, l| Box::pin(timer_procs(w, l)) },
        Case { name: "accept_connect_ex", run: |w, l| Box::pin(accept_connect_ex(w, l)) },
    ];
    // The generated cases (`random.rs`), one a seed.
    cases.extend(generated!("random_ops_", crate::random::random_ops; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(
        generated!("random_named_pipes_", crate::random::random_named_pipes; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    );
    cases.extend(generated!("random_messages_", crate::random::random_messages; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(generated!("random_sections_", crate::random::random_sections; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(generated!("random_memory_", crate::random::random_memory; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(generated!("random_async_", crate::random::random_async; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(generated!("random_files_", crate::random::random_files; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    cases.extend(
        generated!("random_sockets_", crate::random_sockets::random_sockets; 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
    );
    cases
}

/// The generated cases of one generator: `<prefix><seed>` for each seed, running the
/// generator with that seed.
macro_rules! generated {
    ($prefix:literal, $generator:path; $($seed:literal),*) => {
        [$(Case { name: concat!($prefix, $seed), run: |w, l| Box::pin($generator(w, l, $seed)) }),*]
    };
}
use generated;

/// The child programs cases start with CreateProcess, by name.
pub fn programs<W: Win32>() -> Vec<(&'static str, Program<W>)> {
    vec![
        ("child_writer", |w| Box::pin(child_writer(w))),
        ("child_mapper", |w| Box::pin(child_mapper(w))),
        ("child_window", |w| Box::pin(child_window(w))),
    ]
}

/// Reads until ReadFile fails; logs the data as one note and the failing call.
async fn read_to_end<W: Win32>(w: &W, log: &Log, h: HANDLE, what: &str) {
    let mut all = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let mut n = 0u32;
        w.set_last_error(crate::log::SENTINEL);
        let ok = w.read_file(h, &mut buf, Some(&mut n)).await;
        if ok == FALSE {
            let err = w.get_last_error();
            log.note(&format!("{what} data"), render_bytes(&all));
            log.call(&format!("ReadFile({what}, at the end)"), &ok, err);
            return;
        }
        all.extend_from_slice(&buf[..n as usize]);
    }
}

/// Closes a handle a call was expected not to return, without a log line.
async fn close_quietly<W: Win32>(w: &W, h: HANDLE) {
    if !h.is_null() && h != INVALID_HANDLE_VALUE {
        w.close_handle(h).await;
    }
}

/// Writes, logs the call and the count written.
async fn write<W: Win32>(w: &W, log: &Log, h: HANDLE, data: &[u8], what: &str) -> BOOL {
    let mut n = 0u32;
    let ok = call!(w, log, &format!("WriteFile({what})"), w.write_file(h, data, Some(&mut n)));
    log.note(&format!("{what} written"), n);
    ok
}

/// Reads once into a buffer of `len`, logs the call and the data.
async fn read<W: Win32>(w: &W, log: &Log, h: HANDLE, len: usize, what: &str) -> BOOL {
    let mut buf = vec![0u8; len];
    let mut n = 0u32;
    let ok = call!(w, log, &format!("ReadFile({what})"), w.read_file(h, &mut buf, Some(&mut n)));
    log.note(&format!("{what} read"), render_bytes(&buf[..n as usize]));
    ok
}

/// Anonymous pipe: write, peek, partial reads, end of file, double close
/// (docs/semantics.md §§1.1, 3.1-3.5, 4.2, 7.6).
async fn pipe_basics<W: Win32>(w: W, log: Log) {
    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe(size 0)", w.create_pipe(&mut r, &mut wr, None, 0));
    write(&w, &log, wr, b"hello", "hello").await;
    let (mut got, mut avail) = (0u32, 0u32);
    let mut peek = [0u8; 2];
    call!(
        w,
        log,
        "PeekNamedPipe(2 of 5)",
        w.peek_named_pipe(r, Some(&mut peek), Some(&mut got), Some(&mut avail), None)
    );
    log.note("peeked", render_bytes(&peek[..got as usize]));
    log.note("avail", avail);
    read(&w, &log, r, 3, "first 3").await;
    read(&w, &log, r, 64, "rest").await;
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));
    read(&w, &log, r, 64, "drained, writer gone").await;
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
    call!(w, log, "CloseHandle(read end again)", w.close_handle(r));
}

/// Teaching case "broken pipe": writing with no reader left, reading with no writer
/// left once drained (docs/semantics.md §§2.10, 3.3, 4.5).
async fn pipe_broken<W: Win32>(w: W, log: Log) {
    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe", w.create_pipe(&mut r, &mut wr, None, 0));
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
    write(&w, &log, wr, b"lost", "reader closed").await;
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));

    call!(w, log, "CreatePipe", w.create_pipe(&mut r, &mut wr, None, 0));
    write(&w, &log, wr, b"x", "x").await;
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));
    let mut avail = 0u32;
    call!(w, log, "PeekNamedPipe(writer gone, 1 unread)", w.peek_named_pipe(r, None, None, Some(&mut avail), None));
    log.note("avail", avail);
    read(&w, &log, r, 16, "last byte").await;
    read(&w, &log, r, 16, "drained").await;
    call!(w, log, "PeekNamedPipe(writer gone, drained)", w.peek_named_pipe(r, None, None, Some(&mut avail), None));
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
}

/// Bytes each side of `pipe_full_both_directions` writes: four times the quota.
const FLOOD: usize = 16 * 1024;

/// Teaching case "pipe both directions with a full buffer": two threads each write more
/// than the pipe holds before reading the other pipe, so both block in WriteFile for
/// ever. The main thread sees the time-out, then closes the read ends: each pending
/// write fails with ERROR_BROKEN_PIPE (docs/semantics.md §§2.2-2.5, 2.11, 10.1).
async fn pipe_full_both_directions<W: Win32>(w: W, log: Log) {
    let (mut r1, mut w1, mut r2, mut w2) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe(a to b, 4096)", w.create_pipe(&mut r1, &mut w1, None, 4096));
    call!(w, log, "CreatePipe(b to a, 4096)", w.create_pipe(&mut r2, &mut w2, None, 4096));
    // Each writer returns its WriteFile's last error (0 if the write completed).
    let writer = |out: HANDLE| {
        move |t: W| async move {
            let data = vec![b'z'; FLOOD];
            if t.write_file(out, &data, None).await == FALSE { t.get_last_error() } else { 0 }
        }
    };
    let a = call!(w, log, "CreateThread(a)", w.create_thread(None, 0, writer(w1), 0, None));
    let b = call!(w, log, "CreateThread(b)", w.create_thread(None, 0, writer(w2), 0, None));
    call!(w, log, "WaitForMultipleObjects(a, b; all; 500 ms)", w.wait_for_multiple_objects(&[a, b], true, 500));
    let mut avail = 0u32;
    call!(w, log, "PeekNamedPipe(a to b)", w.peek_named_pipe(r1, None, None, Some(&mut avail), None));
    log.note("a to b avail (pending write included)", avail);
    call!(w, log, "CloseHandle(a to b read end)", w.close_handle(r1));
    call!(w, log, "WaitForSingleObject(a, 5000 ms)", w.wait_for_single_object(a, 5000));
    call!(w, log, "CloseHandle(b to a read end)", w.close_handle(r2));
    call!(w, log, "WaitForSingleObject(b, 5000 ms)", w.wait_for_single_object(b, 5000));
    for (name, t) in [("a", a), ("b", b)] {
        let mut code = 0u32;
        call!(w, log, &format!("GetExitCodeThread({name})"), w.get_exit_code_thread(t, &mut code));
        log.note(&format!("{name}'s WriteFile error"), render_error(code));
        call!(w, log, &format!("CloseHandle(thread {name})"), w.close_handle(t));
    }
    call!(w, log, "CloseHandle(a to b write end)", w.close_handle(w1));
    call!(w, log, "CloseHandle(b to a write end)", w.close_handle(w2));
}

/// Teaching case "EOF never seen": the writer closes its handle but a duplicate of the
/// write end (the copy a child would inherit) stays open, so the reader's ReadFile waits
/// for ever; closing the leaked copy ends it with ERROR_BROKEN_PIPE
/// (docs/semantics.md §§3.3, 7.2).
async fn pipe_leaked_write_handle<W: Win32>(w: W, log: Log) {
    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe", w.create_pipe(&mut r, &mut wr, None, 0));
    let mut leaked = HANDLE::NULL;
    let me = w.get_current_process();
    call!(
        w,
        log,
        "DuplicateHandle(write end, same access)",
        w.duplicate_handle(me, wr, me, &mut leaked, 0, false, DUPLICATE_SAME_ACCESS)
    );
    let reader_log = log.thread("reader");
    let rl = reader_log.clone();
    let reader = call!(
        w,
        log,
        "CreateThread(reader)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                read_to_end(&t, &rl, r, "pipe").await;
                0
            },
            0,
            None
        )
    );
    write(&w, &log, wr, b"all of it", "all of it").await;
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));
    call!(w, log, "WaitForSingleObject(reader, 500 ms)", w.wait_for_single_object(reader, 500));
    call!(w, log, "CloseHandle(leaked write end)", w.close_handle(leaked));
    call!(w, log, "WaitForSingleObject(reader, 5000 ms)", w.wait_for_single_object(reader, 5000));
    log.merge(&reader_log);
    call!(w, log, "CloseHandle(reader)", w.close_handle(reader));
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
}

/// The pipe name of `named_pipe_request_response`.
const RR_PIPE: &str = r"\\.\pipe\winsim-diff-request-response";

/// A named-pipe request/response in message mode: the client connects before the server
/// calls ConnectNamedPipe (ERROR_PIPE_CONNECTED, a good connection), reads the response
/// through a small buffer (ERROR_MORE_DATA), the server flushes and disconnects; a
/// disconnected instance is busy until ConnectNamedPipe; unknown names are not found
/// (docs/semantics.md §§5.4-5.7, 6.6, 6.8, 6.12, 6.14, 2.8).
async fn named_pipe_request_response<W: Win32>(w: W, log: Log) {
    call!(w, log, "WaitNamedPipe(no such pipe)", w.wait_named_pipe(r"\\.\pipe\winsim-diff-nobody", 0));
    let open = |w: &W, name: &'static str| {
        let w = w.clone();
        async move { w.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await }
    };
    call!(w, log, "CreateFile(no such pipe)", open(&w, r"\\.\pipe\winsim-diff-nobody"));
    let server = call!(
        w,
        log,
        "CreateNamedPipe(duplex, message)",
        w.create_named_pipe(
            RR_PIPE,
            PIPE_ACCESS_DUPLEX,
            PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_WAIT,
            1,
            4096,
            4096,
            0,
            None
        )
    );
    let connected = call!(w, log, "CreateEvent(connected)", w.create_event(None, false, false, None));
    let client_log = log.thread("client");
    let cl = client_log.clone();
    let client = call!(
        w,
        log,
        "CreateThread(client)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                let log = cl;
                call!(t, log, "WaitNamedPipe(5000 ms)", t.wait_named_pipe(RR_PIPE, 5000));
                let h = call!(
                    t,
                    log,
                    "CreateFile(pipe)",
                    t.create_file(RR_PIPE, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
                );
                call!(t, log, "SetEvent(connected)", t.set_event(connected));
                call!(
                    t,
                    log,
                    "SetNamedPipeHandleState(message read mode)",
                    t.set_named_pipe_handle_state(h, Some(PIPE_READMODE_MESSAGE), None, None)
                );
                write(&t, &log, h, b"request", "request").await;
                read(&t, &log, h, 4, "response, 4 bytes").await;
                read(&t, &log, h, 64, "response, the rest").await;
                call!(t, log, "CloseHandle(client)", t.close_handle(h));
                0
            },
            0,
            None
        )
    );
    call!(w, log, "WaitForSingleObject(connected, 5000 ms)", w.wait_for_single_object(connected, 5000));
    call!(w, log, "ConnectNamedPipe(client came first)", w.connect_named_pipe(server));
    read(&w, &log, server, 64, "request").await;
    write(&w, &log, server, b"response", "response").await;
    call!(w, log, "FlushFileBuffers(server)", w.flush_file_buffers(server));
    call!(w, log, "WaitForSingleObject(client, 5000 ms)", w.wait_for_single_object(client, 5000));
    log.merge(&client_log);
    call!(w, log, "DisconnectNamedPipe", w.disconnect_named_pipe(server));
    call!(w, log, "CreateFile(disconnected instance)", open(&w, RR_PIPE));
    call!(w, log, "WaitNamedPipe(disconnected instance, 0 ms)", w.wait_named_pipe(RR_PIPE, 0));
    call!(w, log, "DisconnectNamedPipe(again)", w.disconnect_named_pipe(server));
    call!(w, log, "CloseHandle(client thread)", w.close_handle(client));
    call!(w, log, "CloseHandle(event)", w.close_handle(connected));
    call!(w, log, "CloseHandle(server)", w.close_handle(server));
    call!(w, log, "CreateFile(pipe gone)", open(&w, RR_PIPE));
}

/// Events, mutexes, semaphores, named objects, an abandoned mutex
/// (docs/semantics.md §§7.13, 7.14, 10.1-10.3, 11, 12.1, 12.5, 13.2).
async fn sync_objects<W: Win32>(w: W, log: Log) {
    let ev = call!(w, log, "CreateEvent(manual, unsignalled)", w.create_event(None, true, false, None));
    call!(w, log, "WaitForSingleObject(event, 0)", w.wait_for_single_object(ev, 0));
    call!(w, log, "SetEvent", w.set_event(ev));
    call!(w, log, "WaitForSingleObject(event, 0)", w.wait_for_single_object(ev, 0));
    call!(w, log, "WaitForSingleObject(event, 0) again", w.wait_for_single_object(ev, 0));
    call!(w, log, "ResetEvent", w.reset_event(ev));
    call!(w, log, "WaitForSingleObject(event, 0)", w.wait_for_single_object(ev, 0));

    let auto = call!(w, log, "CreateEvent(auto, signalled)", w.create_event(None, false, true, None));
    call!(w, log, "WaitForSingleObject(auto, 0)", w.wait_for_single_object(auto, 0));
    call!(w, log, "WaitForSingleObject(auto, 0) again", w.wait_for_single_object(auto, 0));

    let name = "winsim-diff-named-event";
    let n1 = call!(w, log, "CreateEvent(named, new)", w.create_event(None, true, false, Some(name)));
    let n2 = call!(w, log, "CreateEvent(named, exists)", w.create_event(None, true, false, Some(name)));
    log.note("last error after opening an existing name", render_error(w.get_last_error()));
    call!(w, log, "CreateMutex(name of an event)", w.create_mutex(None, false, Some(name)));
    call!(w, log, "SetEvent(second handle)", w.set_event(n2));
    call!(w, log, "WaitForSingleObject(first handle, 0)", w.wait_for_single_object(n1, 0));

    let m = call!(w, log, "CreateMutex(owned)", w.create_mutex(None, true, None));
    call!(w, log, "WaitForSingleObject(mutex, recursive)", w.wait_for_single_object(m, 0));
    call!(w, log, "ReleaseMutex", w.release_mutex(m));
    call!(w, log, "ReleaseMutex", w.release_mutex(m));
    call!(w, log, "ReleaseMutex(not owner)", w.release_mutex(m));

    // A thread takes the mutex and ends without releasing it.
    let taker = call!(
        w,
        log,
        "CreateThread(takes the mutex)",
        w.create_thread(None, 0, move |t: W| async move { t.wait_for_single_object(m, 0).await }, 0, None)
    );
    call!(w, log, "WaitForSingleObject(taker, 5000 ms)", w.wait_for_single_object(taker, 5000));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(taker)", w.get_exit_code_thread(taker, &mut code));
    log.note("taker's wait", crate::log::Rendered::render(&code));
    call!(w, log, "WaitForSingleObject(abandoned mutex, 0)", w.wait_for_single_object(m, 0));
    call!(w, log, "ReleaseMutex(after abandoned)", w.release_mutex(m));

    let s = call!(w, log, "CreateSemaphore(1 of 2)", w.create_semaphore(None, 1, 2, None));
    let mut prev = -1;
    call!(w, log, "ReleaseSemaphore(1)", w.release_semaphore(s, 1, Some(&mut prev)));
    log.note("previous count", prev);
    prev = -1;
    call!(w, log, "ReleaseSemaphore(1, past maximum)", w.release_semaphore(s, 1, Some(&mut prev)));
    log.note("previous count (left alone)", prev);
    call!(w, log, "ReleaseSemaphore(0)", w.release_semaphore(s, 0, None));
    call!(w, log, "CreateSemaphore(3 of 2)", w.create_semaphore(None, 3, 2, None));
    call!(w, log, "CreateSemaphore(0 of 0)", w.create_semaphore(None, 0, 0, None));
    call!(w, log, "CreateSemaphore(-1 of 2)", w.create_semaphore(None, -1, 2, None));
    call!(w, log, "WaitForMultipleObjects(event, semaphore; any; 0)", w.wait_for_multiple_objects(&[ev, s], false, 0));
    call!(w, log, "WaitForMultipleObjects(semaphore, auto; all; 0)", w.wait_for_multiple_objects(&[s, auto], true, 0));
    call!(w, log, "SetEvent(auto)", w.set_event(auto));
    call!(w, log, "WaitForMultipleObjects(semaphore, auto; all; 0)", w.wait_for_multiple_objects(&[s, auto], true, 0));
    call!(
        w,
        log,
        "WaitForMultipleObjects(semaphore, auto; all; 0) again",
        w.wait_for_multiple_objects(&[s, auto], true, 0)
    );
    call!(w, log, "WaitForMultipleObjects(no handles)", w.wait_for_multiple_objects(&[], false, 0));
    call!(w, log, "WaitForMultipleObjects(event twice; all)", w.wait_for_multiple_objects(&[ev, ev], true, 0));
    call!(w, log, "Sleep(10)", w.sleep(10));
    for (what, h) in
        [("event", ev), ("auto", auto), ("n1", n1), ("n2", n2), ("mutex", m), ("semaphore", s), ("taker", taker)]
    {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }
}

/// Bad input: closed handles, NULL, objects of the wrong type, the wrong end of a pipe
/// (docs/semantics.md §§7.6, 10.1, 2.1, 3.1).
async fn bad_handles<W: Win32>(w: W, log: Log) {
    let ev = call!(w, log, "CreateEvent", w.create_event(None, true, false, None));
    let m = call!(w, log, "CreateMutex", w.create_mutex(None, false, None));
    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe", w.create_pipe(&mut r, &mut wr, None, 0));

    call!(w, log, "SetEvent(mutex)", w.set_event(m));
    call!(w, log, "ResetEvent(pipe)", w.reset_event(r));
    call!(w, log, "ReleaseMutex(event)", w.release_mutex(ev));
    call!(w, log, "ReleaseSemaphore(mutex)", w.release_semaphore(m, 1, None));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(event)", w.get_exit_code_thread(ev, &mut code));
    call!(w, log, "GetExitCodeProcess(event)", w.get_exit_code_process(ev, &mut code));
    let mut buf = [0u8; 4];
    call!(w, log, "WriteFile(read end)", w.write_file(r, b"no", None));
    call!(w, log, "ReadFile(write end)", w.read_file(wr, &mut buf, None));
    call!(w, log, "ConnectNamedPipe(anonymous read end)", w.connect_named_pipe(r));
    call!(w, log, "ConnectNamedPipe(anonymous write end)", w.connect_named_pipe(wr));

    call!(w, log, "SetEvent(NULL)", w.set_event(HANDLE::NULL));
    call!(w, log, "CloseHandle(NULL)", w.close_handle(HANDLE::NULL));
    call!(w, log, "WaitForSingleObject(NULL, 0)", w.wait_for_single_object(HANDLE::NULL, 0));
    call!(w, log, "ReadFile(NULL)", w.read_file(HANDLE::NULL, &mut buf, None));

    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    call!(w, log, "SetEvent(closed)", w.set_event(ev));
    call!(w, log, "WaitForSingleObject(closed, 0)", w.wait_for_single_object(ev, 0));
    call!(w, log, "WaitForMultipleObjects(mutex, closed; any; 0)", w.wait_for_multiple_objects(&[m, ev], false, 0));
    let me = w.get_current_process();
    let mut dup = HANDLE::NULL;
    call!(w, log, "DuplicateHandle(closed)", w.duplicate_handle(me, ev, me, &mut dup, 0, false, DUPLICATE_SAME_ACCESS));
    log.note("target after failure", crate::log::Rendered::render(&dup));
    call!(w, log, "SetHandleInformation(closed)", w.set_handle_information(ev, HANDLE_FLAG_INHERIT, 0));
    call!(w, log, "CloseHandle(closed)", w.close_handle(ev));

    call!(w, log, "CloseHandle(mutex)", w.close_handle(m));
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));
    call!(w, log, "ConnectNamedPipe(anonymous read end, writer closed)", w.connect_named_pipe(r));
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
}

/// Threads: exit codes, waiting on a thread, STILL_ACTIVE while it runs
/// (docs/semantics.md §§8.1, 8.7, 10.1).
async fn threads<W: Win32>(w: W, log: Log) {
    let go = call!(w, log, "CreateEvent(go)", w.create_event(None, true, false, None));
    let t = call!(
        w,
        log,
        "CreateThread(waits for go, returns 42)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                t.wait_for_single_object(go, INFINITE).await;
                42
            },
            0,
            None
        )
    );
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(running)", w.get_exit_code_thread(t, &mut code));
    log.note("exit code", code);
    call!(w, log, "WaitForSingleObject(thread, 50 ms)", w.wait_for_single_object(t, 50));
    call!(w, log, "SetEvent(go)", w.set_event(go));
    call!(w, log, "WaitForSingleObject(thread, 5000 ms)", w.wait_for_single_object(t, 5000));
    call!(w, log, "GetExitCodeThread(ended)", w.get_exit_code_thread(t, &mut code));
    log.note("exit code", code);
    call!(w, log, "WaitForSingleObject(ended thread, 0)", w.wait_for_single_object(t, 0));
    call!(w, log, "CloseHandle(thread)", w.close_handle(t));
    call!(w, log, "CloseHandle(go)", w.close_handle(go));
}

/// Processes: a child inherits the write end of a pipe (its value passed on the command
/// line), writes and exits with 7; the parent reads to the end once its own copy is
/// closed; an unknown program is not found (docs/semantics.md §§7.10, 9.1).
async fn process_inherit<W: Win32>(w: W, log: Log) {
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    call!(
        w,
        log,
        "CreateProcess(no such program)",
        w.create_process("no_such_program", None, None, false, 0, &si, &mut pi)
    );
    let (mut r, mut wr) = (HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "CreatePipe(inheritable)", w.create_pipe(&mut r, &mut wr, Some(&SECURITY_ATTRIBUTES::INHERIT), 0));
    call!(
        w,
        log,
        "SetHandleInformation(read end, not inheritable)",
        w.set_handle_information(r, HANDLE_FLAG_INHERIT, 0)
    );
    let cmd = format!("child_writer {}", wr.0);
    call!(w, log, "CreateProcess(child_writer, inherit)", w.create_process(&cmd, None, None, true, 0, &si, &mut pi));
    call!(w, log, "CloseHandle(write end)", w.close_handle(wr));
    read_to_end(&w, &log, r, "child's output").await;
    call!(w, log, "WaitForSingleObject(child, 10000 ms)", w.wait_for_single_object(pi.hProcess, 10000));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeProcess(child)", w.get_exit_code_process(pi.hProcess, &mut code));
    log.note("child's exit code", code);
    call!(w, log, "CloseHandle(child process)", w.close_handle(pi.hProcess));
    call!(w, log, "CloseHandle(child thread)", w.close_handle(pi.hThread));
    call!(w, log, "CloseHandle(read end)", w.close_handle(r));
}

/// `child_writer HANDLE`: writes a greeting to the inherited handle, exits with 7 (or
/// with 1 if the command line carries no handle, with 2 if the write failed).
async fn child_writer<W: Win32>(w: W) -> u32 {
    let cmd = w.get_command_line();
    let Some(h) = cmd.split_whitespace().nth(1).and_then(|v| v.parse::<isize>().ok()) else {
        return 1;
    };
    if w.write_file(HANDLE(h), b"hello from the child", None).await == FALSE {
        return 2;
    }
    7
}

/// Named pipes: bad parameters, instance limits, FILE_FLAG_FIRST_PIPE_INSTANCE, access
/// against the direction, read modes, PIPE_NOWAIT, zero-length writes, a message pipe
/// read in byte mode, a client gone (docs/semantics.md §§5.1-5.7, 6.1-6.10, 4.2).
async fn named_pipe_modes_and_limits<W: Win32>(w: W, log: Log) {
    let name = r"\\.\pipe\winsim-diff-limits";
    let create = |w: &W, name: &'static str, open_mode: u32, pipe_mode: u32, max: u32| {
        let w = w.clone();
        async move { w.create_named_pipe(name, open_mode, pipe_mode, max, 1024, 1024, 0, None).await }
    };
    // Calls expected to fail use names of their own, and a handle one of them returns
    // anyway is closed without a log line, so one difference does not cascade.
    let h = call!(
        w,
        log,
        "CreateNamedPipe(max instances 0)",
        create(&w, r"\\.\pipe\winsim-diff-max0", PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 0)
    );
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "CreateNamedPipe(max instances 256)",
        create(&w, r"\\.\pipe\winsim-diff-max256", PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 256)
    );
    close_quietly(&w, h).await;
    let s = call!(
        w,
        log,
        "CreateNamedPipe(inbound, byte, 1 instance)",
        create(&w, name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1)
    );
    call!(w, log, "CreateNamedPipe(second instance of 1)", create(&w, name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1));
    call!(
        w,
        log,
        "CreateFile(GENERIC_READ of an inbound pipe)",
        w.create_file(name, GENERIC_READ, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let c = call!(
        w,
        log,
        "CreateFile(GENERIC_WRITE)",
        w.create_file(name, GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    call!(
        w,
        log,
        "SetNamedPipeHandleState(message read mode on a byte pipe)",
        w.set_named_pipe_handle_state(c, Some(PIPE_READMODE_MESSAGE), None, None)
    );
    call!(
        w,
        log,
        "SetNamedPipeHandleState(inbound server: GENERIC_READ, no FILE_WRITE_ATTRIBUTES)",
        w.set_named_pipe_handle_state(s, Some(PIPE_NOWAIT), None, None)
    );
    call!(w, log, "CloseHandle(client)", w.close_handle(c));
    call!(w, log, "CloseHandle(server)", w.close_handle(s));

    let dname = r"\\.\pipe\winsim-diff-nowait";
    let s = call!(
        w,
        log,
        "CreateNamedPipe(duplex, byte, 1 instance)",
        create(&w, dname, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1)
    );
    let c = call!(
        w,
        log,
        "CreateFile(GENERIC_READ | GENERIC_WRITE)",
        w.create_file(dname, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    call!(
        w,
        log,
        "SetNamedPipeHandleState(server, PIPE_NOWAIT)",
        w.set_named_pipe_handle_state(s, Some(PIPE_NOWAIT), None, None)
    );
    read(&w, &log, s, 16, "empty, nowait").await;
    write(&w, &log, c, b"", "zero bytes").await;
    let mut avail = 99u32;
    call!(w, log, "PeekNamedPipe(after a zero-byte write)", w.peek_named_pipe(s, None, None, Some(&mut avail), None));
    log.note("avail", avail);
    write(&w, &log, c, b"abc", "abc").await;
    read(&w, &log, s, 16, "abc, nowait").await;
    call!(w, log, "CloseHandle(client)", w.close_handle(c));
    read(&w, &log, s, 16, "client gone, nowait").await;
    call!(w, log, "ConnectNamedPipe(client gone, nowait)", w.connect_named_pipe(s));
    call!(w, log, "DisconnectNamedPipe", w.disconnect_named_pipe(s));
    call!(w, log, "ConnectNamedPipe(listening again, nowait)", w.connect_named_pipe(s));
    call!(w, log, "CloseHandle(server)", w.close_handle(s));

    let oname = r"\\.\pipe\winsim-diff-outbound";
    let s = call!(
        w,
        log,
        "CreateNamedPipe(outbound, byte, 1 instance)",
        create(&w, oname, PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE, 1)
    );
    let c = call!(
        w,
        log,
        "CreateFile(GENERIC_READ only)",
        w.create_file(oname, GENERIC_READ, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    call!(
        w,
        log,
        "SetNamedPipeHandleState(client without FILE_WRITE_ATTRIBUTES)",
        w.set_named_pipe_handle_state(c, Some(PIPE_READMODE_BYTE | PIPE_NOWAIT), None, None)
    );
    call!(w, log, "CloseHandle(client)", w.close_handle(c));
    call!(w, log, "CloseHandle(server)", w.close_handle(s));

    let mname = r"\\.\pipe\winsim-diff-message";
    let duplex_msg = PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE;
    let m = call!(
        w,
        log,
        "CreateNamedPipe(duplex, message, 2 instances)",
        create(&w, mname, PIPE_ACCESS_DUPLEX, duplex_msg, 2)
    );
    let h = call!(
        w,
        log,
        "CreateNamedPipe(FILE_FLAG_FIRST_PIPE_INSTANCE, name exists)",
        create(&w, mname, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, duplex_msg, 2)
    );
    close_quietly(&w, h).await;
    let b = call!(
        w,
        log,
        "CreateNamedPipe(byte type under a message pipe's name)",
        create(&w, mname, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2)
    );
    let mc = call!(
        w,
        log,
        "CreateFile(message pipe)",
        w.create_file(mname, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    write(&w, &log, m, b"one", "message one").await;
    write(&w, &log, m, b"two!", "message two").await;
    let (mut got, mut left) = (0u32, 99u32);
    let mut peek = [0u8; 2];
    call!(
        w,
        log,
        "PeekNamedPipe(client, 2 bytes)",
        w.peek_named_pipe(mc, Some(&mut peek), Some(&mut got), Some(&mut avail), Some(&mut left))
    );
    log.note("peeked", render_bytes(&peek[..got as usize]));
    log.note("avail", avail);
    log.note("left this message", left);
    read(&w, &log, mc, 64, "client in byte read mode").await;
    write(&w, &log, mc, b"", "zero-length message").await;
    write(&w, &log, mc, b"after", "message after it").await;
    read(&w, &log, m, 64, "zero-length message").await;
    read(&w, &log, m, 64, "message after it").await;
    call!(w, log, "CloseHandle(message client)", w.close_handle(mc));
    call!(w, log, "CloseHandle(message server)", w.close_handle(m));
    if b != INVALID_HANDLE_VALUE {
        call!(w, log, "CloseHandle(byte-type instance)", w.close_handle(b));
    }
}

/// Handles: duplicates share the object, DUPLICATE_CLOSE_SOURCE, a real handle from the
/// process pseudo handle, HANDLE_FLAG_PROTECT_FROM_CLOSE (docs/semantics.md §§7.2-7.7).
async fn handle_duplication<W: Win32>(w: W, log: Log) {
    let me = w.get_current_process();
    let ev = call!(w, log, "CreateEvent", w.create_event(None, true, false, None));
    let (mut d1, mut d2, mut p) = (HANDLE::NULL, HANDLE::NULL, HANDLE::NULL);
    call!(w, log, "DuplicateHandle(event)", w.duplicate_handle(me, ev, me, &mut d1, 0, false, DUPLICATE_SAME_ACCESS));
    log.note("duplicate is another value", d1 != ev);
    call!(w, log, "SetEvent(duplicate)", w.set_event(d1));
    call!(w, log, "WaitForSingleObject(original, 0)", w.wait_for_single_object(ev, 0));
    call!(
        w,
        log,
        "DuplicateHandle(duplicate, DUPLICATE_CLOSE_SOURCE)",
        w.duplicate_handle(me, d1, me, &mut d2, 0, false, DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)
    );
    call!(w, log, "ResetEvent(second duplicate)", w.reset_event(d2));
    call!(w, log, "WaitForSingleObject(original, 0)", w.wait_for_single_object(ev, 0));
    call!(
        w,
        log,
        "DuplicateHandle(current process pseudo handle)",
        w.duplicate_handle(me, me, me, &mut p, 0, false, DUPLICATE_SAME_ACCESS)
    );
    call!(w, log, "WaitForSingleObject(own process, 0)", w.wait_for_single_object(p, 0));
    call!(w, log, "CloseHandle(own process)", w.close_handle(p));
    call!(
        w,
        log,
        "SetHandleInformation(protect from close)",
        w.set_handle_information(ev, HANDLE_FLAG_PROTECT_FROM_CLOSE, HANDLE_FLAG_PROTECT_FROM_CLOSE)
    );
    call!(w, log, "CloseHandle(protected)", w.close_handle(ev));
    call!(w, log, "SetEvent(still open)", w.set_event(ev));
    call!(w, log, "SetHandleInformation(unprotect)", w.set_handle_information(ev, HANDLE_FLAG_PROTECT_FROM_CLOSE, 0));
    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    call!(w, log, "CloseHandle(second duplicate)", w.close_handle(d2));
    call!(w, log, "CloseHandle(second duplicate again)", w.close_handle(d2));
}

/// Logs GetMailslotInfo's four outputs as one note.
async fn mailslot_info<W: Win32>(w: &W, log: &Log, h: HANDLE, what: &str) {
    let (mut max, mut next, mut count, mut timeout) = (0u32, 0u32, 0u32, 0u32);
    call!(
        w,
        log,
        &format!("GetMailslotInfo({what})"),
        w.get_mailslot_info(h, Some(&mut max), Some(&mut next), Some(&mut count), Some(&mut timeout))
    );
    log.note(&format!("{what} info"), format!("max {max:#x} next {next:#x} count {count} timeout {timeout:#x}"));
}

/// Mailslots (docs/semantics.md §18): names, one server per name, direction, message
/// boundaries, a short buffer consuming nothing, a zero-length message, the read time-out
/// (0 and SetMailslotInfo's), GetMailslotInfo's counts, bad handles, the end of a mailslot.
async fn mailslots<W: Win32>(w: W, log: Log) {
    let name = r"\\.\mailslot\winsim_diff\box";
    let share = FILE_SHARE_READ | FILE_SHARE_WRITE;
    call!(w, log, "CreateMailslot(NULL)", w.create_mailslot(None, 0, 0, None));
    call!(w, log, "CreateMailslot(bad name)", w.create_mailslot(Some("winsim_diff_box"), 0, 0, None));
    call!(
        w,
        log,
        "CreateFile(no server)",
        w.create_file(name, GENERIC_WRITE, share, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let srv = call!(w, log, "CreateMailslot(max 0, time-out 0)", w.create_mailslot(Some(name), 0, 0, None));
    call!(w, log, "CreateMailslot(same name)", w.create_mailslot(Some(name), 0, 0, None));
    mailslot_info(&w, &log, srv, "empty").await;
    let mut buf = [0u8; 16];
    let mut n = 0xffu32;
    call!(w, log, "ReadFile(empty, time-out 0)", w.read_file(srv, &mut buf, Some(&mut n)));
    log.note("bytes read", n);
    call!(w, log, "WriteFile(server)", w.write_file(srv, b"x", None));
    let upper = r"\\.\MAILSLOT\WINSIM_DIFF\BOX";
    let cl = call!(
        w,
        log,
        "CreateFile(upper case name)",
        w.create_file(upper, GENERIC_WRITE, share, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let cl2 = call!(
        w,
        log,
        "CreateFile(second client)",
        w.create_file(name, GENERIC_WRITE, share, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let mut written = 0u32;
    call!(w, log, "WriteFile(client, \"a\")", w.write_file(cl, b"a", Some(&mut written)));
    log.note("written", written);
    call!(w, log, "WriteFile(second client, \"bc\")", w.write_file(cl2, b"bc", Some(&mut written)));
    call!(w, log, "WriteFile(client, \"hello world\")", w.write_file(cl, b"hello world", Some(&mut written)));
    mailslot_info(&w, &log, srv, "three messages").await;
    mailslot_info(&w, &log, cl, "through a client").await;
    call!(w, log, "ReadFile(client)", w.read_file(cl, &mut buf, Some(&mut n)));
    n = 0xff;
    call!(w, log, "ReadFile(first message)", w.read_file(srv, &mut buf, Some(&mut n)));
    log.note("data", render_bytes(&buf[..n as usize]));
    let mut small = [0u8; 1];
    n = 0xff;
    call!(w, log, "ReadFile(1-byte buffer, 2-byte message)", w.read_file(srv, &mut small, Some(&mut n)));
    log.note("bytes read", n);
    mailslot_info(&w, &log, srv, "after the short read").await;
    for what in ["second", "third"] {
        n = 0xff;
        call!(w, log, &format!("ReadFile({what} message)"), w.read_file(srv, &mut buf, Some(&mut n)));
        log.note("data", render_bytes(&buf[..n as usize]));
    }
    call!(w, log, "WriteFile(client, zero bytes)", w.write_file(cl, b"", Some(&mut written)));
    log.note("written", written);
    mailslot_info(&w, &log, srv, "zero-length message").await;
    n = 0xff;
    call!(w, log, "ReadFile(zero-length message)", w.read_file(srv, &mut buf, Some(&mut n)));
    log.note("bytes read", n);
    mailslot_info(&w, &log, srv, "drained").await;
    call!(w, log, "SetMailslotInfo(50 ms)", w.set_mailslot_info(srv, 50));
    mailslot_info(&w, &log, srv, "time-out set").await;
    call!(w, log, "ReadFile(empty, time-out 50 ms)", w.read_file(srv, &mut buf, Some(&mut n)));
    let ev = call!(w, log, "CreateEvent", w.create_event(None, true, false, None));
    call!(w, log, "GetMailslotInfo(event)", w.get_mailslot_info(ev, None, None, None, None));
    call!(w, log, "SetMailslotInfo(event)", w.set_mailslot_info(ev, 0));
    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    call!(w, log, "GetMailslotInfo(closed handle)", w.get_mailslot_info(ev, None, None, None, None));
    call!(w, log, "SetMailslotInfo(closed handle)", w.set_mailslot_info(ev, 0));
    call!(w, log, "ReadFile(closed handle)", w.read_file(ev, &mut buf, Some(&mut n)));
    call!(w, log, "CloseHandle(client)", w.close_handle(cl));
    call!(w, log, "CloseHandle(second client)", w.close_handle(cl2));
    call!(w, log, "CloseHandle(server)", w.close_handle(srv));
    call!(
        w,
        log,
        "CreateFile(server closed)",
        w.create_file(name, GENERIC_WRITE, share, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let srv2 = call!(w, log, "CreateMailslot(name again, max 4)", w.create_mailslot(Some(name), 4, 0, None));
    mailslot_info(&w, &log, srv2, "new mailslot").await;
    call!(w, log, "CloseHandle(new server)", w.close_handle(srv2));
}

/// Reads `len` bytes of memory at `addr` and logs them as a note.
async fn peek_memory<W: Win32>(w: &W, log: &Log, addr: usize, len: usize, what: &str) {
    let mut buf = vec![0u8; len];
    w.read_memory(addr, &mut buf).await;
    log.note(what, render_bytes(&buf));
}

/// Notes the last error a call left (for calls whose success sets it, such as a create
/// of an existing name).
fn note_last_error<W: Win32>(w: &W, log: &Log, what: &str) {
    log.note(&format!("last error after {what}"), render_error(w.get_last_error()));
}

/// The section name of `file_mapping` (and of its child).
const MAP_NAME: &str = "winsim-diff-section";

/// File mappings (docs/semantics.md §19): bad sizes and protections, a named section
/// created twice (ERROR_ALREADY_EXISTS, the size kept), case-sensitive names, another
/// type's name, access checks (write does not imply read), alignment of offsets and
/// bases, a view past the end, two views (and a child process's view) that see each
/// other's writes, interlocked operations, copy-on-write, unmapping by any inner address,
/// a view outliving its handles while the name goes.
async fn file_mapping<W: Win32>(w: W, log: Log) {
    let pagefile = INVALID_HANDLE_VALUE;
    let create = |w: &W, protect: u32, size: u32, name: Option<&'static str>| {
        let w = w.clone();
        async move { w.create_file_mapping(pagefile, None, protect, 0, size, name).await }
    };
    let h = call!(w, log, "CreateFileMapping(size 0)", create(&w, PAGE_READWRITE, 0, None));
    close_quietly(&w, h).await;
    let h = call!(w, log, "CreateFileMapping(PAGE_NOACCESS)", create(&w, PAGE_NOACCESS, 0x1000, None));
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "CreateFileMapping(PAGE_READONLY | PAGE_READWRITE)",
        create(&w, PAGE_READONLY | PAGE_READWRITE, 0x1000, None)
    );
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "CreateFileMapping(SEC_RESERVE | SEC_COMMIT)",
        create(&w, PAGE_READWRITE | SEC_RESERVE | SEC_COMMIT, 0x1000, None)
    );
    close_quietly(&w, h).await;
    call!(w, log, "OpenFileMapping(no such name)", w.open_file_mapping(FILE_MAP_READ, false, Some(MAP_NAME)));

    let s = call!(w, log, "CreateFileMapping(named, 0x3000)", create(&w, PAGE_READWRITE, 0x3000, Some(MAP_NAME)));
    note_last_error(&w, &log, "a new name");
    let s2 = call!(w, log, "CreateFileMapping(same name, 0x1000)", create(&w, PAGE_READWRITE, 0x1000, Some(MAP_NAME)));
    note_last_error(&w, &log, "an existing name");
    let h = call!(w, log, "CreateEvent(a section's name)", w.create_event(None, true, false, Some(MAP_NAME)));
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "OpenFileMapping(name in upper case)",
        w.open_file_mapping(FILE_MAP_READ, false, Some("WINSIM-DIFF-SECTION"))
    );
    close_quietly(&w, h).await;
    let ow =
        call!(w, log, "OpenFileMapping(FILE_MAP_WRITE)", w.open_file_mapping(FILE_MAP_WRITE, false, Some(MAP_NAME)));

    let v1 =
        call!(w, log, "MapViewOfFile(FILE_MAP_ALL_ACCESS, whole)", w.map_view_of_file(s, FILE_MAP_ALL_ACCESS, 0, 0, 0));
    let v2 = call!(
        w,
        log,
        "MapViewOfFile(second handle, FILE_MAP_READ, 0x1000)",
        w.map_view_of_file(s2, FILE_MAP_READ, 0, 0, 0x1000)
    );
    log.note("two views, two addresses", v1 != v2 && v1 != 0 && v2 != 0);
    if v1 == 0 || v2 == 0 {
        return;
    }
    peek_memory(&w, &log, v1 + 0x2ff0, 16, "fresh section, last 16 bytes (the size was kept)").await;
    w.write_memory(v1, b"shared").await;
    peek_memory(&w, &log, v2, 6, "written through one view, read through the other").await;
    log.note("InterlockedIncrement", w.interlocked_increment(v1 + 0x100).await);
    log.note("InterlockedIncrement", w.interlocked_increment(v1 + 0x100).await);
    log.note("InterlockedCompareExchange(10 if 5)", w.interlocked_compare_exchange(v1 + 0x100, 10, 5).await);
    log.note("InterlockedCompareExchange(10 if 2)", w.interlocked_compare_exchange(v1 + 0x100, 10, 2).await);
    peek_memory(&w, &log, v2 + 0x100, 4, "the LONG, through the other view").await;

    let h = call!(
        w,
        log,
        "MapViewOfFile(FILE_MAP_WRITE handle, FILE_MAP_READ)",
        w.map_view_of_file(ow, FILE_MAP_READ, 0, 0, 0)
    );
    if h != 0 {
        let _ = w.unmap_view_of_file(h).await;
    }
    let v3 = call!(
        w,
        log,
        "MapViewOfFile(FILE_MAP_WRITE handle, FILE_MAP_WRITE)",
        w.map_view_of_file(ow, FILE_MAP_WRITE, 0, 0, 0)
    );
    if v3 != 0 {
        w.write_memory(v3 + 6, b"+more").await;
    }
    peek_memory(&w, &log, v2, 11, "written through the opened handle's view").await;
    for (what, high, low, size) in [
        ("MapViewOfFile(offset 1)", 0, 1, 0),
        ("MapViewOfFile(offset 0x1000, not 64 KiB aligned)", 0, 0x1000, 0),
        ("MapViewOfFile(0x3001 bytes of 0x3000)", 0, 0, 0x3001),
        ("MapViewOfFile(offset past the end)", 0, 0x10000, 0),
    ] {
        let v = call!(w, log, what, w.map_view_of_file(s, FILE_MAP_READ, high, low, size));
        if v != 0 {
            let _ = w.unmap_view_of_file(v).await;
        }
    }
    let v = call!(w, log, "MapViewOfFileEx(at the first view)", w.map_view_of_file_ex(s, FILE_MAP_READ, 0, 0, 0, v1));
    if v != 0 {
        let _ = w.unmap_view_of_file(v).await;
    }
    let ev = call!(w, log, "CreateEvent", w.create_event(None, true, false, None));
    call!(w, log, "MapViewOfFile(event)", w.map_view_of_file(ev, FILE_MAP_READ, 0, 0, 0));
    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    call!(w, log, "MapViewOfFile(closed handle)", w.map_view_of_file(ev, FILE_MAP_READ, 0, 0, 0));

    // A child process maps the section by name, reads the LONG, stores it + 1.
    let si = STARTUPINFO::default();
    let mut pi = PROCESS_INFORMATION::default();
    let cmd = format!("child_mapper {MAP_NAME}");
    call!(w, log, "CreateProcess(child_mapper)", w.create_process(&cmd, None, None, false, 0, &si, &mut pi));
    call!(w, log, "WaitForSingleObject(child, 10000 ms)", w.wait_for_single_object(pi.hProcess, 10000));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeProcess(child)", w.get_exit_code_process(pi.hProcess, &mut code));
    log.note("the LONG the child read (its exit code)", code);
    peek_memory(&w, &log, v1 + 0x100, 4, "the LONG the child stored").await;
    call!(w, log, "CloseHandle(child process)", w.close_handle(pi.hProcess));
    call!(w, log, "CloseHandle(child thread)", w.close_handle(pi.hThread));

    call!(w, log, "FlushViewOfFile(view, 0)", w.flush_view_of_file(v1, 0));
    call!(w, log, "UnmapViewOfFile(an address inside the view)", w.unmap_view_of_file(v1 + 100));
    call!(w, log, "UnmapViewOfFile(again)", w.unmap_view_of_file(v1));
    call!(w, log, "UnmapViewOfFile(0)", w.unmap_view_of_file(0));
    if v3 != 0 {
        call!(w, log, "UnmapViewOfFile(third view)", w.unmap_view_of_file(v3));
    }
    call!(w, log, "CloseHandle(section)", w.close_handle(s));
    call!(w, log, "CloseHandle(second handle)", w.close_handle(s2));
    call!(w, log, "CloseHandle(opened handle)", w.close_handle(ow));
    peek_memory(&w, &log, v2, 6, "every handle closed, the view still reads").await;
    let h = call!(
        w,
        log,
        "OpenFileMapping(name gone with the handles)",
        w.open_file_mapping(FILE_MAP_READ, false, Some(MAP_NAME))
    );
    close_quietly(&w, h).await;
    call!(w, log, "UnmapViewOfFile(last view)", w.unmap_view_of_file(v2));

    // Copy-on-write: a PAGE_READONLY section maps read and copy views, not write ones.
    let ro = call!(w, log, "CreateFileMapping(PAGE_READONLY)", create(&w, PAGE_READONLY, 0x1000, None));
    let v = call!(
        w,
        log,
        "MapViewOfFile(read-only section, FILE_MAP_WRITE)",
        w.map_view_of_file(ro, FILE_MAP_WRITE, 0, 0, 0)
    );
    if v != 0 {
        let _ = w.unmap_view_of_file(v).await;
    }
    let cow = call!(
        w,
        log,
        "MapViewOfFile(read-only section, FILE_MAP_COPY)",
        w.map_view_of_file(ro, FILE_MAP_COPY, 0, 0, 0)
    );
    let rd = call!(
        w,
        log,
        "MapViewOfFile(read-only section, FILE_MAP_READ)",
        w.map_view_of_file(ro, FILE_MAP_READ, 0, 0, 0)
    );
    if cow != 0 && rd != 0 {
        w.write_memory(cow, b"private").await;
        peek_memory(&w, &log, cow, 7, "the copy-on-write view").await;
        peek_memory(&w, &log, rd, 7, "the read view (the copy is private)").await;
        call!(w, log, "UnmapViewOfFile(copy view)", w.unmap_view_of_file(cow));
        call!(w, log, "UnmapViewOfFile(read view)", w.unmap_view_of_file(rd));
    }
    call!(w, log, "CloseHandle(read-only section)", w.close_handle(ro));
}

/// `child_mapper NAME`: opens the named section, maps it, reads the LONG at 0x100, stores
/// it + 1 and exits with the value read (100 + the step that failed otherwise).
async fn child_mapper<W: Win32>(w: W) -> u32 {
    let cmd = w.get_command_line();
    let Some(name) = cmd.split_whitespace().nth(1) else { return 101 };
    let s = w.open_file_mapping(FILE_MAP_READ | FILE_MAP_WRITE, false, Some(name)).await;
    if s.is_null() {
        return 102;
    }
    let v = w.map_view_of_file(s, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0).await;
    if v == 0 {
        return 103;
    }
    let mut b = [0u8; 4];
    w.read_memory(v + 0x100, &mut b).await;
    let n = u32::from_le_bytes(b);
    w.write_memory(v + 0x100, &(n + 1).to_le_bytes()).await;
    let _ = w.unmap_view_of_file(v).await;
    let _ = w.close_handle(s).await;
    n
}

/// Logs VirtualQuery of `addr` as one note: the region relative to `base` (addresses
/// differ between the backends), its size unless `free`, state, protections and type.
async fn query<W: Win32>(w: &W, log: &Log, addr: usize, base: usize, what: &str) {
    let mut m = MEMORY_BASIC_INFORMATION::default();
    let n = call!(w, log, &format!("VirtualQuery({what})"), async {
        Size(w.virtual_query(addr, &mut m, std::mem::size_of::<MEMORY_BASIC_INFORMATION>()).await)
    });
    if n.0 == 0 {
        return;
    }
    let alloc = if m.AllocationBase == 0 {
        "none".to_string()
    } else {
        format!("{:+#x}", m.AllocationBase as i64 - base as i64)
    };
    // Free memory's region runs to the next allocation, wherever the backend put it.
    let size = if m.State == MEM_FREE { "-".to_string() } else { format!("{:#x}", m.RegionSize) };
    log.note(
        &format!("{what} region"),
        format!(
            "base {:+#x} allocation base {alloc} size {size} state {:#x} protect {:#x} allocation protect {:#x} type {:#x}",
            m.BaseAddress as i64 - base as i64,
            m.State,
            m.Protect,
            m.AllocationProtect,
            m.Type
        ),
    );
}

/// Process memory (docs/semantics.md §29): VirtualAlloc's bad sizes, types and
/// protections, reserve then commit inside the reservation, committed pages read as
/// zeros, VirtualQuery of each state, VirtualProtect and its old protection, decommit,
/// release and its rules.
async fn virtual_memory<W: Win32>(w: W, log: Log) {
    let rc = MEM_RESERVE | MEM_COMMIT;
    for (what, size, kind, protect) in [
        ("VirtualAlloc(size 0)", 0, rc, PAGE_READWRITE),
        ("VirtualAlloc(protection 0)", 0x1000, rc, 0),
        ("VirtualAlloc(PAGE_READONLY | PAGE_READWRITE)", 0x1000, rc, PAGE_READONLY | PAGE_READWRITE),
        ("VirtualAlloc(type MEM_RELEASE)", 0x1000, MEM_RELEASE, PAGE_READWRITE),
        ("VirtualAlloc(type 0)", 0x1000, 0, PAGE_READWRITE),
    ] {
        let a = call!(w, log, what, w.virtual_alloc(0, size, kind, protect));
        if a != 0 {
            let _ = w.virtual_free(a, 0, MEM_RELEASE).await;
        }
    }
    let r = call!(w, log, "VirtualAlloc(reserve 0x20000)", w.virtual_alloc(0, 0x20000, MEM_RESERVE, PAGE_NOACCESS));
    if r == 0 {
        return;
    }
    log.note("reservation 64 KiB aligned", r % 0x10000 == 0);
    query(&w, &log, r + 0x10, r, "reserved").await;
    let a = call!(
        w,
        log,
        "VirtualAlloc(reserve over the reservation)",
        w.virtual_alloc(r, 0x1000, MEM_RESERVE, PAGE_READWRITE)
    );
    log.note("address", a != 0);
    let c = call!(
        w,
        log,
        "VirtualAlloc(commit 0x1000 at +0x1800)",
        w.virtual_alloc(r + 0x1800, 0x1000, MEM_COMMIT, PAGE_READWRITE)
    );
    log.note("commit base relative to the reservation", format!("{:+#x}", c as i64 - r as i64));
    query(&w, &log, r + 0x1000, r, "committed").await;
    query(&w, &log, r + 0x3000, r, "after the committed pages").await;
    peek_memory(&w, &log, r + 0x2ff8, 8, "fresh committed bytes").await;
    w.write_memory(r + 0x1000, b"abc").await;
    peek_memory(&w, &log, r + 0x1000, 3, "written").await;
    let mut old = 0xffu32;
    call!(
        w,
        log,
        "VirtualProtect(first committed page, PAGE_READONLY)",
        w.virtual_protect(r + 0x1000, 0x1000, PAGE_READONLY, &mut old)
    );
    log.note("old protection", format!("{old:#x}"));
    query(&w, &log, r + 0x1000, r, "after VirtualProtect").await;
    old = 0xff;
    call!(w, log, "VirtualProtect(reserved page)", w.virtual_protect(r, 0x1000, PAGE_READWRITE, &mut old));
    call!(w, log, "VirtualProtect(bad protection)", w.virtual_protect(r + 0x1000, 0x1000, 0x1234, &mut old));
    let mut m = MEMORY_BASIC_INFORMATION::default();
    call!(w, log, "VirtualQuery(buffer of 10 bytes)", async { Size(w.virtual_query(r, &mut m, 10).await) });
    call!(w, log, "VirtualFree(release with a size)", w.virtual_free(r, 0x20000, MEM_RELEASE));
    call!(w, log, "VirtualFree(release not at the base)", w.virtual_free(r + 0x1000, 0, MEM_RELEASE));
    call!(w, log, "VirtualFree(free type 0)", w.virtual_free(r, 0, 0));
    call!(w, log, "VirtualFree(decommit the second page)", w.virtual_free(r + 0x2000, 0x1000, MEM_DECOMMIT));
    query(&w, &log, r + 0x2000, r, "decommitted").await;
    call!(w, log, "VirtualFree(release)", w.virtual_free(r, 0, MEM_RELEASE));
    query(&w, &log, r, r, "released").await;
    call!(w, log, "VirtualFree(release again)", w.virtual_free(r, 0, MEM_RELEASE));

    let both = call!(w, log, "VirtualAlloc(reserve and commit 0x1000)", w.virtual_alloc(0, 0x1000, rc, PAGE_READWRITE));
    if both != 0 {
        query(&w, &log, both, both, "reserved and committed").await;
        call!(w, log, "VirtualFree(release)", w.virtual_free(both, 0, MEM_RELEASE));
    }
}

/// Files on paths (docs/semantics.md §28), in a directory unique to the run: directories,
/// CreateFile's dispositions and their last errors, reads and writes at the file pointer,
/// SetFilePointer(Ex) and its errors, a write past the end (zeros in the gap),
/// SetEndOfFile, GetFileSize(Ex), GetFileType, share modes, DeleteFile and
/// RemoveDirectory rules, and a file-backed section coherent with the file.
async fn files<W: Win32>(w: W, log: Log) {
    let dir = log.scratch().to_string();
    let path = |rel: &str| format!(r"{dir}\{rel}");
    let open = |w: &W, name: String, access: u32, share: u32, disposition: u32| {
        let w = w.clone();
        async move { w.create_file(&name, access, share, None, disposition, FILE_ATTRIBUTE_NORMAL, HANDLE::NULL).await }
    };
    let rw = GENERIC_READ | GENERIC_WRITE;
    let share_rw = FILE_SHARE_READ | FILE_SHARE_WRITE;
    call!(w, log, "CreateDirectory(dir)", w.create_directory(&dir, None));
    call!(w, log, "CreateDirectory(dir again)", w.create_directory(&dir, None));
    call!(w, log, "CreateDirectory(dir\\missing\\sub)", w.create_directory(&path(r"missing\sub"), None));
    let f = path("a.txt");
    let h = call!(w, log, "CreateFile(a.txt, OPEN_EXISTING, missing)", open(&w, f.clone(), rw, 0, OPEN_EXISTING));
    close_quietly(&w, h).await;
    let h =
        call!(w, log, "CreateFile(missing\\a.txt, CREATE_NEW)", open(&w, path(r"missing\a.txt"), rw, 0, CREATE_NEW));
    close_quietly(&w, h).await;
    let h = call!(w, log, "CreateFile(a.txt, disposition 6)", open(&w, f.clone(), rw, 0, 6));
    close_quietly(&w, h).await;
    let h = call!(w, log, "CreateFile(dir itself)", open(&w, dir.clone(), GENERIC_READ, share_rw, OPEN_EXISTING));
    close_quietly(&w, h).await;
    let a = call!(
        w,
        log,
        "CreateFile(a.txt, CREATE_NEW, share read)",
        open(&w, f.clone(), rw, FILE_SHARE_READ, CREATE_NEW)
    );
    note_last_error(&w, &log, "CREATE_NEW");
    let h = call!(w, log, "CreateFile(a.txt, CREATE_NEW again)", open(&w, f.clone(), rw, share_rw, CREATE_NEW));
    close_quietly(&w, h).await;
    call!(w, log, "GetFileType(file)", async { Dword(w.get_file_type(a).await) });
    write(&w, &log, a, b"hello world", "hello world").await;
    let mut high = 0xffu32;
    call!(w, log, "GetFileSize", async { Dword(w.get_file_size(a, Some(&mut high)).await) });
    log.note("high part", high);
    let mut size = -1i64;
    call!(w, log, "GetFileSizeEx", w.get_file_size_ex(a, Some(&mut size)));
    log.note("size", size);
    call!(w, log, "SetFilePointer(6, FILE_BEGIN)", async { Dword(w.set_file_pointer(a, 6, None, FILE_BEGIN).await) });
    read(&w, &log, a, 16, "from 6").await;
    read(&w, &log, a, 16, "at the end").await;
    call!(w, log, "SetFilePointer(-100, FILE_CURRENT)", async {
        Dword(w.set_file_pointer(a, -100, None, FILE_CURRENT).await)
    });
    call!(w, log, "SetFilePointer(0, method 7)", async { Dword(w.set_file_pointer(a, 0, None, 7).await) });
    let mut pos = -1i64;
    call!(w, log, "SetFilePointerEx(0, FILE_CURRENT)", w.set_file_pointer_ex(a, 0, Some(&mut pos), FILE_CURRENT));
    log.note("pointer (unchanged by the failures)", pos);
    call!(w, log, "SetFilePointerEx(20, FILE_BEGIN)", w.set_file_pointer_ex(a, 20, Some(&mut pos), FILE_BEGIN));
    log.note("pointer", pos);
    write(&w, &log, a, b"!", "past the end").await;
    call!(w, log, "GetFileSizeEx(after)", w.get_file_size_ex(a, Some(&mut size)));
    log.note("size", size);
    let mut hi = 0i32;
    call!(w, log, "SetFilePointer(9, high 0, FILE_BEGIN)", async {
        Dword(w.set_file_pointer(a, 9, Some(&mut hi), FILE_BEGIN).await)
    });
    log.note("high part", hi);
    read(&w, &log, a, 16, "across the gap").await;
    call!(w, log, "SetFilePointer(5, FILE_BEGIN)", async { Dword(w.set_file_pointer(a, 5, None, FILE_BEGIN).await) });
    call!(w, log, "SetEndOfFile(at 5)", w.set_end_of_file(a));
    call!(w, log, "GetFileSize(after SetEndOfFile)", async { Dword(w.get_file_size(a, None).await) });
    call!(w, log, "SetFilePointerEx(0, FILE_END)", w.set_file_pointer_ex(a, 0, Some(&mut pos), FILE_END));
    log.note("pointer", pos);

    // Share modes: `a` has read and write access and shares read only.
    let r = call!(
        w,
        log,
        "CreateFile(read, share read and write)",
        open(&w, f.clone(), GENERIC_READ, share_rw, OPEN_EXISTING)
    );
    let h = call!(
        w,
        log,
        "CreateFile(write: a does not share write)",
        open(&w, f.clone(), GENERIC_WRITE, share_rw, OPEN_EXISTING)
    );
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "CreateFile(read, share read only: a writes)",
        open(&w, f.clone(), GENERIC_READ, FILE_SHARE_READ, OPEN_EXISTING)
    );
    close_quietly(&w, h).await;
    let mut n = 0u32;
    call!(w, log, "WriteFile(read-only handle)", w.write_file(r, b"x", Some(&mut n)));
    read(&w, &log, r, 16, "through the second handle").await;
    call!(w, log, "DeleteFile(open without FILE_SHARE_DELETE)", w.delete_file(&f));
    call!(w, log, "CloseHandle(a)", w.close_handle(a));
    call!(w, log, "CloseHandle(read handle)", w.close_handle(r));

    let a = call!(w, log, "CreateFile(a.txt, OPEN_ALWAYS, exists)", open(&w, f.clone(), rw, share_rw, OPEN_ALWAYS));
    note_last_error(&w, &log, "OPEN_ALWAYS of an existing file");
    call!(w, log, "GetFileSize", async { Dword(w.get_file_size(a, None).await) });
    let h = call!(w, log, "CreateFile(a.txt, CREATE_ALWAYS, exists)", open(&w, f.clone(), rw, share_rw, CREATE_ALWAYS));
    note_last_error(&w, &log, "CREATE_ALWAYS of an existing file");
    call!(w, log, "GetFileSize(emptied)", async { Dword(w.get_file_size(a, None).await) });
    close_quietly(&w, h).await;
    let h = call!(
        w,
        log,
        "CreateFile(TRUNCATE_EXISTING without GENERIC_WRITE)",
        open(&w, f.clone(), GENERIC_READ, share_rw, TRUNCATE_EXISTING)
    );
    close_quietly(&w, h).await;

    // A file-backed section sees the file's bytes, and the file sees the view's.
    let h = call!(
        w,
        log,
        "CreateFileMapping(empty file, size 0)",
        w.create_file_mapping(a, None, PAGE_READWRITE, 0, 0, None)
    );
    close_quietly(&w, h).await;
    write(&w, &log, a, b"file data", "file data").await;
    let m = call!(
        w,
        log,
        "CreateFileMapping(file, PAGE_READWRITE, size 0)",
        w.create_file_mapping(a, None, PAGE_READWRITE, 0, 0, None)
    );
    let v = call!(w, log, "MapViewOfFile(file section)", w.map_view_of_file(m, FILE_MAP_ALL_ACCESS, 0, 0, 0));
    if v != 0 {
        peek_memory(&w, &log, v, 9, "the view").await;
        w.write_memory(v, b"F").await;
        call!(w, log, "FlushViewOfFile", w.flush_view_of_file(v, 0));
        call!(w, log, "SetFilePointer(0, FILE_BEGIN)", async {
            Dword(w.set_file_pointer(a, 0, None, FILE_BEGIN).await)
        });
        read(&w, &log, a, 16, "the file after a store through the view").await;
        call!(w, log, "SetFilePointer(0, FILE_BEGIN)", async {
            Dword(w.set_file_pointer(a, 0, None, FILE_BEGIN).await)
        });
        call!(w, log, "SetEndOfFile(0 under a mapped section)", w.set_end_of_file(a));
        call!(w, log, "UnmapViewOfFile", w.unmap_view_of_file(v));
    }
    call!(w, log, "CloseHandle(file section)", w.close_handle(m));
    call!(w, log, "CloseHandle(a)", w.close_handle(a));

    call!(w, log, "DeleteFile(a.txt)", w.delete_file(&f));
    call!(w, log, "DeleteFile(a.txt again)", w.delete_file(&f));
    call!(w, log, "CreateDirectory(sub)", w.create_directory(&path("sub"), None));
    let b = call!(w, log, "CreateFile(sub\\b.txt, CREATE_NEW)", open(&w, path(r"sub\b.txt"), rw, 0, CREATE_NEW));
    call!(w, log, "CloseHandle(b)", w.close_handle(b));
    call!(w, log, "RemoveDirectory(sub, not empty)", w.remove_directory(&path("sub")));
    call!(w, log, "RemoveDirectory(a file)", w.remove_directory(&path(r"sub\b.txt")));
    call!(w, log, "RemoveDirectory(missing)", w.remove_directory(&path("missing")));
    call!(w, log, "DeleteFile(a directory)", w.delete_file(&path("sub")));
    call!(w, log, "GetFileType(closed handle)", async { Dword(w.get_file_type(b).await) });
    call!(w, log, "GetFileSize(closed handle)", async { Dword(w.get_file_size(b, None).await) });
    call!(w, log, "SetFilePointer(closed handle)", async { Dword(w.set_file_pointer(b, 0, None, FILE_BEGIN).await) });
    call!(w, log, "SetEndOfFile(closed handle)", w.set_end_of_file(b));
    call!(w, log, "DeleteFile(sub\\b.txt)", w.delete_file(&path(r"sub\b.txt")));
    call!(w, log, "RemoveDirectory(sub)", w.remove_directory(&path("sub")));
    call!(w, log, "RemoveDirectory(dir)", w.remove_directory(&dir));
}

/// The pipe name of `overlapped_pipe`.
const OV_PIPE: &str = r"\\.\pipe\winsim-diff-overlapped";

/// Logs GetQueuedCompletionStatus: its return value and last error, then one note with
/// the bytes, the key and which OVERLAPPED came back.
async fn dequeue<W: Win32>(w: &W, log: &Log, port: HANDLE, ms: u32, mine: &W::Overlapped, what: &str) {
    let (mut n, mut key) = (0xffu32, 0xffusize);
    let mut o = None;
    call!(
        w,
        log,
        &format!("GetQueuedCompletionStatus({what}, {ms} ms)"),
        w.get_queued_completion_status(port, &mut n, &mut key, &mut o, ms)
    );
    let which = match &o {
        None => "none",
        Some(x) if w.same_overlapped(x, mine) => "the read's",
        Some(_) => "another",
    };
    log.note(&format!("{what} packet"), format!("bytes {n} key {key} overlapped {which}"));
}

/// Overlapped I/O on a named pipe (docs/semantics.md §16): ConnectNamedPipe pending until
/// a client comes, GetOverlappedResult without and with waiting (ERROR_IO_INCOMPLETE),
/// a read pending until a write, one completing at once, CancelIoEx
/// (ERROR_OPERATION_ABORTED, then ERROR_NOT_FOUND), a completion port: an empty port at
/// time-out 0 (WAIT_TIMEOUT), a posted packet, a read's packet with its key and
/// OVERLAPPED, a failed read's packet (the client gone: ERROR_BROKEN_PIPE), bad handles.
async fn overlapped_pipe<W: Win32>(w: W, log: Log) {
    let server = call!(
        w,
        log,
        "CreateNamedPipe(duplex, FILE_FLAG_OVERLAPPED)",
        w.create_named_pipe(OV_PIPE, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, None)
    );
    let ev = call!(w, log, "CreateEvent(connect)", w.create_event(None, true, false, None));
    let oc = w.new_overlapped(ev);
    call!(w, log, "ConnectNamedPipe(overlapped, no client)", w.connect_named_pipe_overlapped(server, &oc));
    log.note("HasOverlappedIoCompleted", w.has_overlapped_io_completed(&oc));
    let mut n = 0xffu32;
    call!(w, log, "GetOverlappedResult(connect, no wait)", w.get_overlapped_result(server, &oc, &mut n, false));
    let client = call!(
        w,
        log,
        "CreateFile(client, FILE_FLAG_OVERLAPPED)",
        w.create_file(
            OV_PIPE,
            GENERIC_READ | GENERIC_WRITE,
            0,
            None,
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED,
            HANDLE::NULL
        )
    );
    call!(w, log, "WaitForSingleObject(connect event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    log.note("HasOverlappedIoCompleted", w.has_overlapped_io_completed(&oc));
    call!(w, log, "GetOverlappedResult(connect, no wait)", w.get_overlapped_result(server, &oc, &mut n, false));

    let rev = call!(w, log, "CreateEvent(read)", w.create_event(None, true, false, None));
    let wev = call!(w, log, "CreateEvent(write)", w.create_event(None, true, false, None));
    let (or, ow) = (w.new_overlapped(rev), w.new_overlapped(wev));
    let buf = w.new_io_buffer(16);
    call!(w, log, "ReadFile(overlapped, empty pipe)", w.read_file_overlapped(server, &buf, None, &or));
    call!(w, log, "WaitForSingleObject(read event, 0)", w.wait_for_single_object(rev, 0));
    call!(w, log, "GetOverlappedResult(read, no wait)", w.get_overlapped_result(server, &or, &mut n, false));
    let mut written = 0xffu32;
    call!(w, log, "WriteFile(overlapped, \"ping\")", w.write_file_overlapped(client, b"ping", Some(&mut written), &ow));
    log.note("written", written);
    n = 0xff;
    call!(w, log, "GetOverlappedResult(read, wait)", w.get_overlapped_result(server, &or, &mut n, true));
    log.note("read", render_bytes(&w.io_buffer_head(&buf, n as usize)));
    call!(w, log, "WaitForSingleObject(read event, 0)", w.wait_for_single_object(rev, 0));

    call!(w, log, "ResetEvent(read)", w.reset_event(rev));
    call!(w, log, "ReadFile(overlapped, to be cancelled)", w.read_file_overlapped(server, &buf, None, &or));
    call!(w, log, "CancelIoEx(the read)", w.cancel_io_ex(server, Some(&or)));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(cancelled read, wait)", w.get_overlapped_result(server, &or, &mut n, true));
    log.note("bytes", n);
    call!(w, log, "CancelIoEx(nothing pending)", w.cancel_io_ex(server, Some(&or)));
    call!(w, log, "CancelIo(nothing pending)", w.cancel_io(server));

    call!(w, log, "WriteFile(overlapped, \"abc\")", w.write_file_overlapped(client, b"abc", None, &ow));
    let mut got = 0xffu32;
    call!(w, log, "ReadFile(overlapped, data waiting)", w.read_file_overlapped(server, &buf, Some(&mut got), &or));
    log.note("read at once", got);
    n = 0xff;
    call!(w, log, "GetOverlappedResult(read at once)", w.get_overlapped_result(server, &or, &mut n, false));
    log.note("read", render_bytes(&w.io_buffer_head(&buf, n as usize)));

    // A completion port.
    let port = call!(
        w,
        log,
        "CreateIoCompletionPort(new port)",
        w.create_io_completion_port(INVALID_HANDLE_VALUE, HANDLE::NULL, 0, 1)
    );
    dequeue(&w, &log, port, 0, &or, "empty port").await;
    let same = call!(w, log, "CreateIoCompletionPort(server, key 7)", w.create_io_completion_port(server, port, 7, 0));
    log.note("returns the port", same == port);
    call!(w, log, "PostQueuedCompletionStatus(5 bytes, key 9)", w.post_queued_completion_status(port, 5, 9, None));
    dequeue(&w, &log, port, 0, &or, "posted").await;
    call!(w, log, "ResetEvent(read)", w.reset_event(rev));
    call!(w, log, "ReadFile(overlapped, port)", w.read_file_overlapped(server, &buf, None, &or));
    dequeue(&w, &log, port, 0, &or, "read pending").await;
    call!(w, log, "WriteFile(overlapped, \"xyz\")", w.write_file_overlapped(client, b"xyz", None, &ow));
    dequeue(&w, &log, port, 5000, &or, "read done").await;
    log.note("read", render_bytes(&w.io_buffer_head(&buf, 3)));
    call!(w, log, "WaitForSingleObject(read event, 0)", w.wait_for_single_object(rev, 0));
    call!(w, log, "ReadFile(overlapped, port, client to go)", w.read_file_overlapped(server, &buf, None, &or));
    call!(w, log, "CloseHandle(client)", w.close_handle(client));
    dequeue(&w, &log, port, 5000, &or, "client gone").await;
    n = 0xff;
    call!(w, log, "GetOverlappedResult(failed read)", w.get_overlapped_result(server, &or, &mut n, false));

    let mut k = 0usize;
    let mut o = None;
    call!(w, log, "GetQueuedCompletionStatus(event)", w.get_queued_completion_status(ev, &mut n, &mut k, &mut o, 0));
    call!(w, log, "PostQueuedCompletionStatus(event)", w.post_queued_completion_status(ev, 0, 0, None));
    call!(w, log, "CloseHandle(port)", w.close_handle(port));
    call!(w, log, "PostQueuedCompletionStatus(closed port)", w.post_queued_completion_status(port, 0, 0, None));
    for (what, h) in [("server", server), ("connect event", ev), ("read event", rev), ("write event", wev)] {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }
}

/// Receives exactly `n` bytes (a stream may deliver them in pieces, in the simulator as
/// on Windows) and logs them as one note, or the call that failed or hit the end.
async fn recv_exact<W: Win32>(w: &W, log: &Log, s: SOCKET, n: usize, what: &str) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < n {
        let want = (n - got.len()).min(buf.len()) as i32;
        w.set_last_error(crate::log::SENTINEL);
        let r = w.recv(s, &mut buf, want, 0).await;
        if r <= 0 {
            log.call(&format!("recv({what}, before {n} bytes)"), &Int(r), w.get_last_error());
            break;
        }
        got.extend_from_slice(&buf[..r as usize]);
    }
    log.note(&format!("{what} received"), render_bytes(&got));
}

/// Winsock on loopback (docs/semantics.md §22): calls before WSAStartup
/// (WSANOTINITIALISED), bad families, lengths and sockets, a TCP connection on a port
/// picked by bind (read back with getsockname, never printed), send and recv (data
/// compared, not the split), FIONREAD, FIONBIO and WSAEWOULDBLOCK, shutdown (end of
/// stream, WSAESHUTDOWN), closesocket twice, a refused connection, UDP to itself, and
/// WSACleanup.
async fn sockets<W: Win32>(w: W, log: Log) {
    let tcp = |w: &W| {
        let w = w.clone();
        async move { w.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await }
    };
    call!(w, log, "socket(before WSAStartup)", tcp(&w));
    call!(w, log, "WSACleanup(before WSAStartup)", async { Int(w.wsa_cleanup().await) });
    let mut data = WSADATA::default();
    let r = w.wsa_startup(MAKEWORD(2, 2), Some(&mut data)).await;
    log.note("WSAStartup(2.2)", r);
    log.note("version", format!("{:#06x}", data.wVersion));
    let s = call!(w, log, "socket(AF 99)", w.socket(99, SOCK_STREAM, 0));
    if s != INVALID_SOCKET {
        w.closesocket(s).await;
    }
    let any = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
    let lst = call!(w, log, "socket(TCP listener)", tcp(&w));
    call!(w, log, "bind(namelen 3)", async { Int(w.bind(lst, Some(&any), 3).await) });
    call!(w, log, "bind(127.0.0.1, port 0)", async { Int(w.bind(lst, Some(&any), SOCKADDR_IN_LEN).await) });
    let (mut at, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(listener)", async { Int(w.getsockname(lst, Some(&mut at), Some(&mut len)).await) });
    log.note("a port was picked", at.port() != 0);
    log.note("address", format!("{:#010x}", at.addr()));
    call!(w, log, "listen(5)", async { Int(w.listen(lst, 5).await) });
    let c = call!(w, log, "socket(TCP client)", tcp(&w));
    call!(w, log, "connect(the listener)", async { Int(w.connect(c, Some(&at), SOCKADDR_IN_LEN).await) });
    let (mut peer, mut plen) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    let a = call!(w, log, "accept", w.accept(lst, Some(&mut peer), Some(&mut plen)));
    let (mut mine, mut mlen) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(client)", async { Int(w.getsockname(c, Some(&mut mine), Some(&mut mlen)).await) });
    log.note("accept's address is the client's", peer == mine && plen == SOCKADDR_IN_LEN);

    call!(w, log, "send(client, \"hello\")", async { Int(w.send(c, b"hello", 5, 0).await) });
    recv_exact(&w, &log, a, 5, "hello").await;
    call!(w, log, "send(server, \"0123456789\")", async { Int(w.send(a, b"0123456789", 10, 0).await) });
    recv_exact(&w, &log, c, 4, "first 4").await;
    let mut avail = 0xffu32;
    call!(w, log, "ioctlsocket(FIONREAD)", async { Int(w.ioctlsocket(c, FIONREAD, Some(&mut avail)).await) });
    log.note("bytes waiting", avail);
    recv_exact(&w, &log, c, 6, "last 6").await;
    let mut on = 1u32;
    call!(w, log, "ioctlsocket(FIONBIO, 1)", async { Int(w.ioctlsocket(c, FIONBIO, Some(&mut on)).await) });
    let mut buf = [0u8; 16];
    call!(w, log, "recv(non-blocking, nothing sent)", async { Int(w.recv(c, &mut buf, 16, 0).await) });
    on = 0;
    call!(w, log, "ioctlsocket(FIONBIO, 0)", async { Int(w.ioctlsocket(c, FIONBIO, Some(&mut on)).await) });
    call!(w, log, "shutdown(client, SD_SEND)", async { Int(w.shutdown(c, SD_SEND).await) });
    call!(w, log, "send(after SD_SEND)", async { Int(w.send(c, b"late", 4, 0).await) });
    call!(w, log, "recv(server, peer shut down)", async { Int(w.recv(a, &mut buf, 16, 0).await) });
    call!(w, log, "recv(server, again)", async { Int(w.recv(a, &mut buf, 16, 0).await) });
    call!(w, log, "send(server, \"bye\")", async { Int(w.send(a, b"bye", 3, 0).await) });
    recv_exact(&w, &log, c, 3, "bye").await;

    let ev = call!(w, log, "CreateEvent", w.create_event(None, true, false, None));
    call!(w, log, "recv(an event)", async { Int(w.recv(ev, &mut buf, 16, 0).await) });
    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    let u = call!(w, log, "socket(UDP)", w.socket(AF_INET, SOCK_DGRAM, 0));
    call!(w, log, "closesocket(accepted)", async { Int(w.closesocket(a).await) });
    call!(w, log, "closesocket(accepted, again)", async { Int(w.closesocket(a).await) });
    call!(w, log, "closesocket(client)", async { Int(w.closesocket(c).await) });
    call!(w, log, "closesocket(listener)", async { Int(w.closesocket(lst).await) });
    // The listener's port is free now: nobody listens there.
    let r = call!(w, log, "socket(TCP)", tcp(&w));
    call!(w, log, "connect(a port nobody listens on)", async { Int(w.connect(r, Some(&at), SOCKADDR_IN_LEN).await) });
    call!(w, log, "closesocket", async { Int(w.closesocket(r).await) });

    call!(w, log, "bind(UDP, 127.0.0.1, port 0)", async { Int(w.bind(u, Some(&any), SOCKADDR_IN_LEN).await) });
    // Bound first: which of WSAEOPNOTSUPP (a datagram socket) and WSAEINVAL (not bound)
    // an unbound UDP socket gets is not established (Wine 8.0: WSAEINVAL).
    call!(w, log, "listen(bound UDP)", async { Int(w.listen(u, 5).await) });
    let (mut uat, mut ulen) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(UDP)", async { Int(w.getsockname(u, Some(&mut uat), Some(&mut ulen)).await) });
    call!(w, log, "sendto(itself, \"datagram\")", async {
        Int(w.sendto(u, b"datagram", 8, 0, Some(&uat), SOCKADDR_IN_LEN).await)
    });
    let (mut from, mut flen) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    let n = call!(w, log, "recvfrom(UDP)", async {
        Int(w.recvfrom(u, &mut buf, 16, 0, Some(&mut from), Some(&mut flen)).await)
    });
    log.note("datagram", render_bytes(&buf[..n.0.max(0) as usize]));
    log.note("from itself", from == uat);
    call!(w, log, "closesocket(UDP)", async { Int(w.closesocket(u).await) });
    call!(w, log, "WSACleanup", async { Int(w.wsa_cleanup().await) });
    call!(w, log, "socket(after the last WSACleanup)", tcp(&w));
}

/// Logs a retrieved message as one note (a thread message: no window).
fn note_msg(log: &Log, what: &str, m: &MSG) {
    let hwnd = if m.hwnd.0 == 0 { "NULL" } else { "a window" };
    log.note(what, format!("hwnd {hwnd} message {:#x} wParam {} lParam {}", m.message, m.wParam, m.lParam));
}

/// Thread messages (docs/semantics.md §17): PostThreadMessage to itself (its first user32
/// call makes the queue), a thread without a queue cannot be posted to
/// (ERROR_INVALID_THREAD_ID) until its first PeekMessage makes one, filters, WM_QUIT after
/// every posted message (even one posted after PostQuitMessage), GetMessage's 0 for
/// WM_QUIT, a message to another thread blocked in GetMessage, a thread that has ended.
async fn thread_messages<W: Win32>(w: W, log: Log) {
    let me = w.get_current_thread_id();
    let mut m = MSG::default();
    call!(w, log, "PostThreadMessage(own thread, its first user32 call)", w.post_thread_message(me, WM_USER + 1, 1, 2));
    call!(w, log, "PeekMessage(PM_NOREMOVE)", w.peek_message(&mut m, HWND(0), 0, 0, PM_NOREMOVE));
    call!(w, log, "PostThreadMessage(WM_USER+1)", w.post_thread_message(me, WM_USER + 1, 1, 2));
    call!(w, log, "PostThreadMessage(WM_USER+2)", w.post_thread_message(me, WM_USER + 2, 3, 4));
    call!(
        w,
        log,
        "PeekMessage(filter WM_USER+2, PM_REMOVE)",
        w.peek_message(&mut m, HWND(0), WM_USER + 2, WM_USER + 2, PM_REMOVE)
    );
    note_msg(&log, "peeked", &m);
    call!(w, log, "PostQuitMessage(5)", w.post_quit_message(5));
    call!(w, log, "PostThreadMessage(WM_USER+3, after the quit)", w.post_thread_message(me, WM_USER + 3, 5, 6));
    for what in ["first", "second", "third", "fourth"] {
        call!(w, log, &format!("GetMessage({what})"), async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
        note_msg(&log, &format!("{what} message"), &m);
    }
    call!(w, log, "PeekMessage(after WM_QUIT)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));

    // Another thread waits in GetMessage; its exit code is the message it got.
    let ready = call!(w, log, "CreateEvent(ready)", w.create_event(None, true, false, None));
    let go = call!(w, log, "CreateEvent(go)", w.create_event(None, true, false, None));
    let mut tid = 0u32;
    let t = call!(
        w,
        log,
        "CreateThread(receiver)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                let mut m = MSG::default();
                if t.wait_for_single_object(go, 5000).await != WAIT_OBJECT_0 {
                    return 2;
                }
                let _ = t.peek_message(&mut m, HWND(0), 0, 0, PM_NOREMOVE).await;
                let _ = t.set_event(ready).await;
                if t.get_message(&mut m, HWND(0), 0, 0).await <= 0 {
                    return 1;
                }
                m.message + m.wParam as u32
            },
            0,
            Some(&mut tid)
        )
    );
    call!(w, log, "PostThreadMessage(receiver, no queue yet)", w.post_thread_message(tid, WM_USER + 6, 0, 0));
    call!(w, log, "SetEvent(go)", w.set_event(go));
    call!(w, log, "WaitForSingleObject(ready, 5000 ms)", w.wait_for_single_object(ready, 5000));
    call!(w, log, "WaitForSingleObject(receiver, 0)", w.wait_for_single_object(t, 0));
    call!(w, log, "PostThreadMessage(receiver, WM_USER+7, 10)", w.post_thread_message(tid, WM_USER + 7, 10, 0));
    call!(w, log, "WaitForSingleObject(receiver, 5000 ms)", w.wait_for_single_object(t, 5000));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(receiver)", w.get_exit_code_thread(t, &mut code));
    log.note("receiver's message + wParam", format!("{code:#x}"));
    call!(w, log, "PostThreadMessage(receiver ended)", w.post_thread_message(tid, WM_USER, 0, 0));
    call!(w, log, "CloseHandle(receiver)", w.close_handle(t));
    call!(w, log, "CloseHandle(ready)", w.close_handle(ready));
    call!(w, log, "CloseHandle(go)", w.close_handle(go));
}

/// The window procedure of the `window_messages` case: it logs WM_CREATE, WM_DESTROY,
/// WM_NCDESTROY and the WM_USER range (with InSendMessage), answers WM_USER+n with
/// n * 100 + wParam (never 0), and leaves everything else, which differs between Windows
/// versions, to DefWindowProc unlogged.
fn logging_proc<W: Win32>(log: Log) -> WindowProc<W> {
    std::sync::Arc::new(move |w: W, hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM| {
        let log = log.clone();
        Box::pin(async move {
            match msg {
                WM_CREATE => {
                    log.note("procedure", "WM_CREATE");
                    0
                }
                WM_DESTROY => {
                    log.note("procedure", "WM_DESTROY");
                    0
                }
                WM_NCDESTROY => {
                    log.note("procedure", "WM_NCDESTROY");
                    0
                }
                m if (WM_USER..WM_USER + 0x100).contains(&m) => {
                    let sent = if w.in_send_message() != FALSE { "sent by another thread" } else { "not sent" };
                    log.note("procedure", format!("WM_USER+{} wParam {wp} lParam {lp}, {sent}", m - WM_USER));
                    if m == WM_USER + 8 {
                        // Answers early: the sender gets 4242, not the return value (§17.L1).
                        let replied = w.reply_message(4242).await;
                        log.note("procedure: ReplyMessage(4242)", replied);
                        let again = w.reply_message(1).await;
                        log.note("procedure: ReplyMessage again", again);
                    }
                    (m - WM_USER) as LRESULT * 100 + wp as LRESULT
                }
                _ => w.def_window_proc(hwnd, msg, wp, lp).await,
            }
        })
    })
}

/// Window messages (docs/semantics.md §17): RegisterClassEx (twice:
/// ERROR_CLASS_ALREADY_EXISTS, §17.P1), CreateWindowEx of an unknown class
/// (ERROR_CANNOT_FIND_WND_CLASS) and of a message-only window (WM_CREATE runs inside it),
/// IsWindow, GetWindowThreadProcessId, SendMessage to the own window (a direct call,
/// §17.I1), PostMessage, PeekMessage with PM_NOREMOVE and filters, GetMessage with a
/// window filter, TranslateMessage, DispatchMessage (the procedure's result), PostMessage
/// of a message that carries a pointer (ERROR_MESSAGE_SYNC_ONLY, §17.B2), SendMessage from
/// another thread run inside the window thread's GetMessage (§17.I2-I3), SendMessageTimeout
/// to a thread that does not look at its queue (ERROR_TIMEOUT, never delivered, §17.J2),
/// DestroyWindow of another thread's window (ERROR_ACCESS_DENIED, §17.I7), and a
/// destroyed window (ERROR_INVALID_WINDOW_HANDLE, §17.B1, §17.M1), UnregisterClass.
async fn window_messages<W: Win32>(w: W, log: Log) {
    const CLASS: &str = "winsim_diff_window";
    let me = w.get_current_thread_id();
    let mut m = MSG::default();
    call!(w, log, "RegisterClassEx", async { Atom(w.register_class(CLASS, logging_proc::<W>(log.clone())).await) });
    call!(w, log, "RegisterClassEx(again)", async {
        Atom(w.register_class(CLASS, logging_proc::<W>(log.clone())).await)
    });
    call!(
        w,
        log,
        "CreateWindowEx(unregistered class)",
        w.create_window_ex(0, "winsim_diff_no_such_class", "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
    );
    let hwnd = call!(
        w,
        log,
        "CreateWindowEx(message-only)",
        w.create_window_ex(0, CLASS, "diff", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
    );
    call!(w, log, "IsWindow(it)", w.is_window(hwnd));
    call!(w, log, "IsWindow(NULL)", w.is_window(HWND(0)));
    let mut pid = 0u32;
    let tid = call!(w, log, "GetWindowThreadProcessId(it)", async {
        Id(w.get_window_thread_process_id(hwnd, Some(&mut pid)).await)
    });
    log.note("window's thread is this one", tid.0 == me);
    log.note("window's process is this one", pid == w.get_current_process_id());
    call!(w, log, "GetWindowThreadProcessId(NULL)", async { Id(w.get_window_thread_process_id(HWND(0), None).await) });

    // The own window: SendMessage calls the procedure directly; posted messages wait.
    call!(w, log, "SendMessage(WM_USER+1, own window)", async {
        Lresult(w.send_message(hwnd, WM_USER + 1, 2, 3).await)
    });
    call!(w, log, "PostMessage(WM_USER+2)", w.post_message(hwnd, WM_USER + 2, 4, 5));
    call!(w, log, "PostMessage(WM_USER+3)", w.post_message(hwnd, WM_USER + 3, 6, 7));
    call!(w, log, "PeekMessage(the window, PM_NOREMOVE)", w.peek_message(&mut m, hwnd, 0, 0, PM_NOREMOVE));
    note_msg(&log, "peeked", &m);
    call!(
        w,
        log,
        "PeekMessage(filter WM_USER+3, PM_REMOVE)",
        w.peek_message(&mut m, hwnd, WM_USER + 3, WM_USER + 3, PM_REMOVE)
    );
    note_msg(&log, "peeked", &m);
    call!(w, log, "DispatchMessage(WM_USER+3)", async { Lresult(w.dispatch_message(&m).await) });
    call!(w, log, "GetMessage(the window)", async { Int(w.get_message(&mut m, hwnd, 0, 0).await) });
    note_msg(&log, "got", &m);
    call!(w, log, "TranslateMessage(WM_USER+2)", w.translate_message(&m));
    call!(w, log, "DispatchMessage(WM_USER+2)", async { Lresult(w.dispatch_message(&m).await) });
    call!(w, log, "PeekMessage(nothing left)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(w, log, "PostMessage(WM_SETTEXT, carries a pointer)", w.post_message(hwnd, WM_SETTEXT, 0, 0));
    call!(
        w,
        log,
        "SendNotifyMessage(WM_USER+10, own window: a direct call)",
        w.send_notify_message(hwnd, WM_USER + 10, 1, 0)
    );
    call!(w, log, "ReplyMessage(no message sent by another thread)", w.reply_message(5));
    call!(w, log, "PeekMessage(the notify left nothing queued)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));

    // Another thread sends to the window; its procedure runs inside this thread's
    // GetMessage, then the sender posts the result back. Told to go on, it notifies and
    // sends again (the procedure replies early), then posts both results.
    let phase2 = call!(w, log, "CreateEvent(phase 2)", w.create_event(None, true, false, None));
    let sender = call!(
        w,
        log,
        "CreateThread(sender)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                let r = t.send_message(hwnd, WM_USER + 4, 8, 9).await;
                let owner = t.get_window_thread_process_id(hwnd, None).await == me;
                if t.post_message(hwnd, WM_USER + 5, r as usize, owner as LPARAM).await == FALSE {
                    return 1;
                }
                if t.wait_for_single_object(phase2, 5000).await != WAIT_OBJECT_0 {
                    return 2;
                }
                // Queued as sent messages, run in order inside the window thread's GetMessage.
                let notified = t.send_notify_message(hwnd, WM_USER + 10, 2, 0).await;
                let replied = t.send_message(hwnd, WM_USER + 8, 8, 0).await;
                if t.post_message(hwnd, WM_USER + 11, replied as usize, notified as LPARAM).await == FALSE {
                    return 1;
                }
                0
            },
            0,
            None
        )
    );
    call!(w, log, "GetMessage(the sender's post)", async { Int(w.get_message(&mut m, hwnd, 0, 0).await) });
    note_msg(&log, "got (wParam: SendMessage's result; lParam: the owner was this thread)", &m);
    call!(w, log, "SetEvent(phase 2)", w.set_event(phase2));
    call!(w, log, "GetMessage(the sender's second post)", async { Int(w.get_message(&mut m, hwnd, 0, 0).await) });
    note_msg(&log, "got (wParam: the replied SendMessage's result; lParam: SendNotifyMessage's)", &m);
    call!(w, log, "WaitForSingleObject(sender, 5000 ms)", w.wait_for_single_object(sender, 5000));
    call!(w, log, "CloseHandle(sender)", w.close_handle(sender));
    call!(w, log, "CloseHandle(phase 2)", w.close_handle(phase2));

    // A thread with a window that does not look at its queue until told to.
    let go = call!(w, log, "CreateEvent(go)", w.create_event(None, true, false, None));
    let stop = call!(w, log, "CreateEvent(stop)", w.create_event(None, true, false, None));
    let idle = call!(
        w,
        log,
        "CreateThread(idle window thread)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                if t.wait_for_single_object(go, 5000).await != WAIT_OBJECT_0 {
                    return 99;
                }
                let h = t.create_window_ex(0, CLASS, "idle", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
                if h.0 == 0 || t.post_thread_message(me, WM_USER + 9, h.0 as usize, 0).await == FALSE {
                    return 100;
                }
                if t.wait_for_single_object(stop, 10000).await != WAIT_OBJECT_0 {
                    return 101;
                }
                let mut m = MSG::default();
                let mut seen = 0;
                while t.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE).await != FALSE {
                    seen += 1;
                }
                if t.destroy_window(h).await == FALSE {
                    return 102;
                }
                seen
            },
            0,
            None
        )
    );
    // Not through call!: the new thread's WM_CREATE is logged as soon as the event is set;
    // the GetMessage below returns after it.
    let set = w.set_event(go).await;
    call!(w, log, "GetMessage(the idle window's handle)", async {
        Int(w.get_message(&mut m, HWND(0), WM_USER + 9, WM_USER + 9).await)
    });
    log.note("SetEvent(go), made before the GetMessage", set);
    let other = HWND(m.wParam as isize);
    let mut res = 77usize;
    call!(w, log, "SendMessageTimeout(idle thread, SMTO_NORMAL, 200 ms)", async {
        Lresult(w.send_message_timeout(other, WM_USER + 6, 1, 0, SMTO_NORMAL, 200, Some(&mut res)).await)
    });
    log.note("result", res);
    call!(w, log, "SendMessageTimeout(idle thread, SMTO_ABORTIFHUNG, 200 ms)", async {
        Lresult(w.send_message_timeout(other, WM_USER + 7, 1, 0, SMTO_ABORTIFHUNG, 200, None).await)
    });
    call!(w, log, "DestroyWindow(another thread's window)", w.destroy_window(other));
    // Not through call!: the idle thread's procedure logs as soon as the event is set, so
    // this thread logs again only once that thread has ended.
    let set = w.set_event(stop).await;
    call!(w, log, "WaitForSingleObject(idle thread, 5000 ms)", w.wait_for_single_object(idle, 5000));
    log.note("SetEvent(stop), made before the wait", set);
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(idle thread)", w.get_exit_code_thread(idle, &mut code));
    log.note("messages the idle thread found", code);
    call!(w, log, "IsWindow(the idle thread's window, destroyed)", w.is_window(other));
    call!(w, log, "CloseHandle(idle thread)", w.close_handle(idle));
    call!(w, log, "CloseHandle(stop)", w.close_handle(stop));
    call!(w, log, "CloseHandle(go)", w.close_handle(go));

    // Destroyed.
    call!(w, log, "DestroyWindow(it)", w.destroy_window(hwnd));
    call!(w, log, "IsWindow(destroyed)", w.is_window(hwnd));
    call!(w, log, "PostMessage(destroyed)", w.post_message(hwnd, WM_USER, 0, 0));
    call!(w, log, "SendMessage(destroyed)", async { Lresult(w.send_message(hwnd, WM_USER, 0, 0).await) });
    call!(w, log, "DestroyWindow(destroyed)", w.destroy_window(hwnd));
    call!(w, log, "PeekMessage(destroyed window filter)", w.peek_message(&mut m, hwnd, 0, 0, PM_REMOVE));
    call!(w, log, "UnregisterClass", w.unregister_class(CLASS));
    call!(w, log, "UnregisterClass(again)", w.unregister_class(CLASS));
}

/// Starts a thread running `body`, logging only the CreateThread call.
async fn spawn<W: Win32, F, Fut>(w: &W, log: &Log, what: &str, body: F) -> HANDLE
where
    F: FnOnce(W) -> Fut + Send + 'static,
    Fut: Future<Output = u32> + 'static,
{
    call!(w, log, &format!("CreateThread({what})"), w.create_thread(None, 0, body, 0, None))
}

/// Waits for a thread (5 s), logs its exit code as a note, closes it.
async fn join<W: Win32>(w: &W, log: &Log, t: HANDLE, what: &str) {
    call!(w, log, &format!("WaitForSingleObject({what}, 5000 ms)"), w.wait_for_single_object(t, 5000));
    let mut code = 0u32;
    w.get_exit_code_thread(t, &mut code).await;
    log.note(&format!("{what} exit code"), format!("{code:#x}"));
    w.close_handle(t).await;
}

/// User-mode locks (docs/semantics.md §20), shared between threads through the trait's
/// lock handles: a critical section entered recursively (§20.3), TryEnter from another
/// thread while it is owned and once it is free (§20.5), a thread blocked in
/// EnterCriticalSection until the owner leaves (§20.2); an SRW lock held shared (another
/// thread's TryAcquireShared succeeds, TryAcquireExclusive fails) and exclusive (both
/// fail), not recursive (§§20.8-20.10); SleepConditionVariableCS/SRW timing out with
/// ERROR_TIMEOUT and the lock held again (§20.14); WakeConditionVariable waking one of two
/// sleepers and WakeAllConditionVariable the rest (§§20.12, 20.15, 20.16), the sleepers
/// checking a predicate under the lock (§20.17). Threads report through their exit codes.
async fn user_locks<W: Win32>(w: W, log: Log) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    // Critical section.
    let cs = w.new_critical_section();
    call!(w, log, "InitializeCriticalSection", w.initialize_critical_section(&cs));
    call!(w, log, "EnterCriticalSection", w.enter_critical_section(&cs));
    call!(w, log, "TryEnterCriticalSection(owner, recursion)", w.try_enter_critical_section(&cs));
    call!(w, log, "LeaveCriticalSection(one level)", w.leave_critical_section(&cs));
    let c = cs.clone();
    let t =
        spawn(
            &w,
            &log,
            "TryEnter while owned",
            move |t: W| async move { t.try_enter_critical_section(&c).await as u32 },
        )
        .await;
    join(&w, &log, t, "TryEnter while owned").await;
    call!(w, log, "LeaveCriticalSection(last level)", w.leave_critical_section(&cs));
    let c = cs.clone();
    let t = spawn(&w, &log, "TryEnter while free", move |t: W| async move {
        let got = t.try_enter_critical_section(&c).await;
        if got != FALSE {
            t.leave_critical_section(&c).await;
        }
        got as u32
    })
    .await;
    join(&w, &log, t, "TryEnter while free").await;
    call!(w, log, "EnterCriticalSection(again)", w.enter_critical_section(&cs));
    let c = cs.clone();
    let t = spawn(&w, &log, "Enter while owned", move |t: W| async move {
        t.enter_critical_section(&c).await;
        t.leave_critical_section(&c).await;
        7
    })
    .await;
    call!(w, log, "WaitForSingleObject(blocked in Enter, 200 ms)", w.wait_for_single_object(t, 200));
    call!(w, log, "LeaveCriticalSection(the waiter gets it)", w.leave_critical_section(&cs));
    join(&w, &log, t, "Enter while owned").await;

    // SRW lock.
    let srw = w.new_srw_lock();
    let try_both = |l: W::SrwLock| {
        move |t: W| async move {
            let shared = t.try_acquire_srw_lock_shared(&l).await;
            if shared != FALSE {
                t.release_srw_lock_shared(&l).await;
            }
            let exclusive = t.try_acquire_srw_lock_exclusive(&l).await;
            if exclusive != FALSE {
                t.release_srw_lock_exclusive(&l).await;
            }
            (shared as u32) << 4 | exclusive as u32
        }
    };
    call!(w, log, "AcquireSRWLockShared", w.acquire_srw_lock_shared(&srw));
    let t = spawn(&w, &log, "TryAcquire shared/exclusive while held shared", try_both(srw.clone())).await;
    join(&w, &log, t, "TryAcquire shared (0x10) / exclusive (0x1) while held shared").await;
    call!(w, log, "ReleaseSRWLockShared", w.release_srw_lock_shared(&srw));
    call!(w, log, "AcquireSRWLockExclusive", w.acquire_srw_lock_exclusive(&srw));
    let t = spawn(&w, &log, "TryAcquire shared/exclusive while held exclusive", try_both(srw.clone())).await;
    join(&w, &log, t, "TryAcquire shared (0x10) / exclusive (0x1) while held exclusive").await;
    call!(w, log, "TryAcquireSRWLockExclusive(owner: not recursive)", w.try_acquire_srw_lock_exclusive(&srw));
    call!(w, log, "TryAcquireSRWLockShared(exclusive owner)", w.try_acquire_srw_lock_shared(&srw));
    call!(w, log, "ReleaseSRWLockExclusive", w.release_srw_lock_exclusive(&srw));
    let t = spawn(&w, &log, "TryAcquire shared/exclusive while free", try_both(srw.clone())).await;
    join(&w, &log, t, "TryAcquire shared (0x10) / exclusive (0x1) while free").await;

    // Condition variables: time-outs.
    let cv = w.new_condition_variable();
    call!(w, log, "EnterCriticalSection", w.enter_critical_section(&cs));
    call!(w, log, "SleepConditionVariableCS(no wake, 50 ms)", w.sleep_condition_variable_cs(&cv, &cs, 50));
    let c = cs.clone();
    let t = spawn(&w, &log, "TryEnter after the time-out", move |t: W| async move {
        t.try_enter_critical_section(&c).await as u32
    })
    .await;
    join(&w, &log, t, "TryEnter after the time-out (the sleeper owns it again)").await;
    call!(w, log, "LeaveCriticalSection", w.leave_critical_section(&cs));
    call!(w, log, "AcquireSRWLockExclusive", w.acquire_srw_lock_exclusive(&srw));
    call!(
        w,
        log,
        "SleepConditionVariableSRW(exclusive, no wake, 50 ms)",
        w.sleep_condition_variable_srw(&cv, &srw, 50, 0)
    );
    call!(w, log, "TryAcquireSRWLockShared(held exclusive again)", w.try_acquire_srw_lock_shared(&srw));
    call!(w, log, "ReleaseSRWLockExclusive", w.release_srw_lock_exclusive(&srw));
    call!(w, log, "AcquireSRWLockShared", w.acquire_srw_lock_shared(&srw));
    call!(
        w,
        log,
        "SleepConditionVariableSRW(shared, no wake, 50 ms)",
        w.sleep_condition_variable_srw(&cv, &srw, 50, CONDITION_VARIABLE_LOCKMODE_SHARED)
    );
    call!(w, log, "ReleaseSRWLockShared", w.release_srw_lock_shared(&srw));

    // Two sleepers, each waiting under the critical section for a ticket; the second to
    // fall asleep sets `ready` while it still owns the critical section, so once this
    // thread owns it both sleep.
    let tickets = Arc::new(AtomicU32::new(0));
    let asleep = Arc::new(AtomicU32::new(0));
    let ready = call!(w, log, "CreateEvent(ready)", w.create_event(None, true, false, None));
    let mut sleepers = Vec::new();
    for i in 0..2 {
        let (c, v, tickets, asleep) = (cs.clone(), cv.clone(), tickets.clone(), asleep.clone());
        let body = move |t: W| async move {
            t.enter_critical_section(&c).await;
            if asleep.fetch_add(1, SeqCst) == 1 {
                t.set_event(ready).await;
            }
            let mut ok = TRUE;
            while tickets.load(SeqCst) == 0 && ok != FALSE {
                ok = t.sleep_condition_variable_cs(&v, &c, 10000).await;
            }
            tickets.fetch_sub(1, SeqCst);
            t.leave_critical_section(&c).await;
            ok as u32
        };
        sleepers.push(spawn(&w, &log, &format!("sleeper {i}"), body).await);
    }
    call!(w, log, "WaitForSingleObject(ready, 5000 ms)", w.wait_for_single_object(ready, 5000));
    call!(w, log, "EnterCriticalSection(both asleep)", w.enter_critical_section(&cs));
    tickets.store(1, SeqCst);
    call!(w, log, "WakeConditionVariable(one ticket)", w.wake_condition_variable(&cv));
    call!(w, log, "LeaveCriticalSection", w.leave_critical_section(&cs));
    call!(
        w,
        log,
        "WaitForMultipleObjects(both sleepers, all, 300 ms)",
        w.wait_for_multiple_objects(&sleepers, true, 300)
    );
    call!(w, log, "EnterCriticalSection", w.enter_critical_section(&cs));
    log.note("tickets left (one sleeper took it)", tickets.load(SeqCst));
    tickets.store(1, SeqCst);
    call!(w, log, "WakeAllConditionVariable(one more ticket)", w.wake_all_condition_variable(&cv));
    call!(w, log, "LeaveCriticalSection", w.leave_critical_section(&cs));
    call!(
        w,
        log,
        "WaitForMultipleObjects(both sleepers, all, 5000 ms)",
        w.wait_for_multiple_objects(&sleepers, true, 5000)
    );
    for (i, t) in sleepers.into_iter().enumerate() {
        let mut code = 0u32;
        w.get_exit_code_thread(t, &mut code).await;
        log.note(&format!("sleeper {i}'s last sleep"), code);
        w.close_handle(t).await;
    }
    log.note("tickets left", tickets.load(SeqCst));
    call!(w, log, "CloseHandle(ready)", w.close_handle(ready));
    call!(w, log, "DeleteCriticalSection", w.delete_critical_section(&cs));
}

/// CoGetApartmentType with both out values, logged.
async fn apartment<W: Win32>(w: &W, log: &Log, what: &str) {
    let (mut t, mut q) = (-7i32, -7i32);
    call!(w, log, &format!("CoGetApartmentType({what})"), w.co_get_apartment_type(Some(&mut t), Some(&mut q)));
    log.note("apartment type, qualifier", format!("{t}, {q}"));
}

/// COM initialisation bookkeeping (docs/semantics.md §21, CI-1..CI-7): CoGetApartmentType
/// before any CoInitializeEx (CO_E_NOTINITIALIZED), a reserved pointer (E_INVALIDARG, last),
/// S_OK then S_FALSE in the same model, RPC_E_CHANGED_MODE for the other (not counted),
/// the main STA of a second thread, a thread that never initialised in the implicit MTA
/// while the process has one, and CoUninitialize balancing each success. No objects.
async fn com_init<W: Win32>(w: W, log: Log) {
    apartment(&w, &log, "before CoInitializeEx").await;
    call!(w, log, "CoGetApartmentType(NULL, NULL)", w.co_get_apartment_type(None, None));
    call!(w, log, "CoInitializeEx(MTA)", w.co_initialize_ex(None, COINIT_MULTITHREADED));
    call!(w, log, "CoInitializeEx(MTA again)", w.co_initialize_ex(None, COINIT_MULTITHREADED));
    call!(w, log, "CoInitializeEx(STA, other model)", w.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
    apartment(&w, &log, "in the MTA").await;

    // A thread that never initialised, while the process has an MTA.
    let tlog = log.thread("implicit");
    let l = tlog.clone();
    let t = spawn(&w, &log, "never initialises", move |t: W| async move {
        apartment(&t, &l, "never initialised, the process has an MTA").await;
        0
    })
    .await;
    join(&w, &log, t, "never initialises").await;
    log.merge(&tlog);

    // A thread in its own STA, the process's first.
    let tlog = log.thread("sta");
    let l = tlog.clone();
    let t = spawn(&w, &log, "STA", move |t: W| async move {
        let log = l;
        call!(t, log, "CoInitializeEx(STA)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
        call!(t, log, "CoInitializeEx(STA again)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
        call!(t, log, "CoInitializeEx(MTA, other model)", t.co_initialize_ex(None, COINIT_MULTITHREADED));
        apartment(&t, &log, "in the first STA").await;
        call!(t, log, "CoUninitialize", t.co_uninitialize());
        apartment(&t, &log, "after one of two CoUninitialize").await;
        call!(t, log, "CoUninitialize", t.co_uninitialize());
        apartment(&t, &log, "after both (the process still has an MTA)").await;
        0
    })
    .await;
    join(&w, &log, t, "STA").await;
    log.merge(&tlog);

    call!(w, log, "CoUninitialize", w.co_uninitialize());
    apartment(&w, &log, "after one of two CoUninitialize").await;
    call!(w, log, "CoUninitialize", w.co_uninitialize());
    apartment(&w, &log, "after both").await;
    call!(w, log, "CoUninitialize(unbalanced)", w.co_uninitialize());
    apartment(&w, &log, "after an unbalanced CoUninitialize").await;
    // Last, so that a backend that accepts it changes no line before; undone unlogged.
    let hr = call!(w, log, "CoInitializeEx(reserved not NULL)", w.co_initialize_ex(Some(0x1000), COINIT_MULTITHREADED));
    if hr.succeeded() {
        w.co_uninitialize().await;
    }
}

/// COM objects across apartments (docs/semantics.md §21.6-§21.8, §21.16, §21.19,
/// §21.24-§21.26), through a class factory (IClassFactory's proxy and stub ship with
/// Windows): bad arguments (MP-1, §21.16); an STA makes the object, locks and
/// unlocks it, marshals it twice and pumps; the MTA unmarshals both (one proxy manager:
/// its counts), calls through the proxy (a call into the STA, answered while it pumps:
/// XC-1), asks for an interface the object lacks (E_NOINTERFACE from the object, §21.19),
/// calls from a thread in the implicit MTA (works) and from another STA
/// (RPC_E_WRONG_THREAD, MP-5); CoLockObjectExternal and CoDisconnectObject given a proxy
/// (S_OK, nothing done, §21.26); the STA leaves COM: calls answer RPC_E_DISCONNECTED
/// (SD-2), QueryInterface(IID_IUnknown) is answered locally (§21.19, §21.26), and the
/// object's own count is back to the creator's one reference (SD-4, §21.24).
async fn com_marshalling<W: Win32>(w: W, log: Log) {
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};
    call!(w, log, "CoInitializeEx(MTA)", w.co_initialize_ex(None, COINIT_MULTITHREADED));
    let mut s = None;
    call!(
        w,
        log,
        "CoMarshalInterThreadInterfaceInStream(NULL object)",
        w.co_marshal_inter_thread_interface_in_stream(&IID_IClassFactory, None, Some(&mut s))
    );
    let mut p = None;
    call!(
        w,
        log,
        "CoGetInterfaceAndReleaseStream(NULL stream)",
        w.co_get_interface_and_release_stream(None, &IID_IClassFactory, Some(&mut p))
    );
    call!(w, log, "CoDisconnectObject(NULL)", w.co_disconnect_object(None, 0));
    // CoLockObjectExternal(NULL) is left out: Wine 8.0 dereferences the pointer (a page
    // fault in get_stub_manager_from_object), winsim answers E_INVALIDARG (§21.25).

    let streams: Arc<Mutex<Vec<W::IStream>>> = Arc::default();
    let sta_id = Arc::new(AtomicU32::new(0));
    let ready = call!(w, log, "CreateEvent(ready)", w.create_event(None, true, false, None));
    let tlog = log.thread("sta");
    let (l, st, id) = (tlog.clone(), streams.clone(), sta_id.clone());
    let sta = spawn(&w, &log, "STA", move |t: W| async move {
        let log = l;
        id.store(t.get_current_thread_id(), SeqCst);
        call!(t, log, "CoInitializeEx(STA)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
        let f = t.new_class_factory().await.expect("a class factory");
        call!(t, log, "CoLockObjectExternal(object, TRUE, TRUE)", t.co_lock_object_external(Some(f), true, true));
        call!(t, log, "CoLockObjectExternal(object, FALSE, TRUE)", t.co_lock_object_external(Some(f), false, true));
        for i in 1..=2 {
            let mut s = None;
            call!(
                t,
                log,
                &format!("CoMarshalInterThreadInterfaceInStream(object, {i})"),
                t.co_marshal_inter_thread_interface_in_stream(&IID_IClassFactory, Some(f), Some(&mut s))
            );
            st.lock().expect("streams").extend(s);
        }
        call!(t, log, "SetEvent(ready)", t.set_event(ready));
        let mut m = MSG::default();
        let mut n = 0;
        while t.get_message(&mut m, HWND::NULL, 0, 0).await > 0 {
            t.dispatch_message(&m).await;
            n += 1;
        }
        log.note("pumped until WM_QUIT", if n > 0 { "some" } else { "none" });
        call!(t, log, "CoUninitialize", t.co_uninitialize());
        log.note("the object's Release after CoUninitialize", t.release(f).await);
        0
    })
    .await;
    call!(w, log, "WaitForSingleObject(ready, 5000 ms)", w.wait_for_single_object(ready, 5000));
    let got: Vec<W::IStream> = streams.lock().expect("streams").clone();
    let mut proxies = Vec::new();
    for (i, s) in got.into_iter().enumerate() {
        let mut p = None;
        call!(
            w,
            log,
            &format!("CoGetInterfaceAndReleaseStream({})", i + 1),
            w.co_get_interface_and_release_stream(Some(s), &IID_IClassFactory, Some(&mut p))
        );
        proxies.extend(p);
    }
    let px = *proxies.first().expect("a proxy");
    log.note("proxy AddRef", w.add_ref(px).await);
    log.note("proxy AddRef", w.add_ref(px).await);
    log.note("proxy Release", w.release(px).await);
    log.note("proxy Release", w.release(px).await);
    let mut o = None;
    call!(
        w,
        log,
        "IClassFactory::CreateInstance(IID_IUnknown) through the proxy",
        w.iclassfactory_create_instance(px, None, &IID_IUnknown, Some(&mut o))
    );
    if let Some(o) = o {
        log.note("the new object's proxy Release", w.release(o).await);
    }
    let mut o = None;
    call!(
        w,
        log,
        "IClassFactory::CreateInstance(IID_IClassFactory) through the proxy",
        w.iclassfactory_create_instance(px, None, &IID_IClassFactory, Some(&mut o))
    );
    let mut q = None;
    call!(w, log, "QueryInterface(proxy, IID_IUnknown)", w.query_interface(px, &IID_IUnknown, Some(&mut q)));
    if let Some(q) = q {
        w.release(q).await;
    }
    let mut q = None;
    call!(w, log, "QueryInterface(proxy, IID_IToy)", w.query_interface(px, &IID_IToy, Some(&mut q)));

    // A thread in the implicit MTA, and one in its own STA, use the MTA's proxy.
    for sta in [false, true] {
        let tl = log.thread(if sta { "other sta" } else { "implicit mta" });
        let l = tl.clone();
        let t = spawn(&w, &log, "caller", move |t: W| async move {
            let log = l;
            if sta {
                call!(t, log, "CoInitializeEx(STA)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
            }
            let mut o = None;
            call!(
                t,
                log,
                "IClassFactory::CreateInstance(IID_IUnknown) through the MTA's proxy",
                t.iclassfactory_create_instance(px, None, &IID_IUnknown, Some(&mut o))
            );
            if let Some(o) = o {
                t.release(o).await;
            }
            if sta {
                t.co_uninitialize().await;
            }
            0
        })
        .await;
        join(&w, &log, t, "caller").await;
        log.merge(&tl);
    }

    // Locked and unlocked: an unbalanced lock of a proxy differs (Wine 8.0 makes a stub
    // manager for the proxy itself, which keeps a reference on it; winsim does nothing,
    // §21.26), so only the balanced pair is compared.
    call!(w, log, "CoLockObjectExternal(proxy, TRUE, TRUE)", w.co_lock_object_external(Some(px), true, true));
    call!(w, log, "CoLockObjectExternal(proxy, FALSE, TRUE)", w.co_lock_object_external(Some(px), false, true));
    call!(w, log, "CoDisconnectObject(proxy)", w.co_disconnect_object(Some(px), 0));
    let mut o = None;
    call!(
        w,
        log,
        "IClassFactory::CreateInstance after CoDisconnectObject(proxy)",
        w.iclassfactory_create_instance(px, None, &IID_IUnknown, Some(&mut o))
    );
    if let Some(o) = o {
        w.release(o).await;
    }

    // The object's apartment ends while the proxy lives (SD-2).
    call!(w, log, "PostThreadMessage(STA, WM_QUIT)", w.post_thread_message(sta_id.load(SeqCst), WM_QUIT, 0, 0));
    join(&w, &log, sta, "STA").await;
    log.merge(&tlog);
    let mut o = None;
    call!(
        w,
        log,
        "IClassFactory::CreateInstance after the STA left COM",
        w.iclassfactory_create_instance(px, None, &IID_IUnknown, Some(&mut o))
    );
    let mut q = None;
    call!(w, log, "QueryInterface(proxy, IID_IUnknown) after", w.query_interface(px, &IID_IUnknown, Some(&mut q)));
    if let Some(q) = q {
        log.note("its Release", w.release(q).await);
    }
    for p in proxies {
        log.note("proxy Release", w.release(p).await);
    }
    call!(w, log, "CloseHandle(ready)", w.close_handle(ready));
    call!(w, log, "CoUninitialize", w.co_uninitialize());
}

/// COM marshal data and the Global Interface Table (docs/semantics.md §21.7, §21.7a,
/// §21.24, §21.26): a stream without an out pointer; the MTA marshals its class object
/// TABLESTRONG, unmarshals it in its own apartment (the object itself), and an STA
/// unmarshals it twice into proxies and calls through one (a call into the MTA); released,
/// the data is CO_E_OBJNOTREG to unmarshal and RPC_E_INVALID_OBJREF to release again;
/// TABLEWEAK data whose object has only that data (marshal.c
/// test_tableweak_marshal_releasedata2: CO_E_OBJNOTREG after the release, Wine differs);
/// NORMAL data unmarshals once (a second: CO_E_OBJNOTCONNECTED); reading past the data
/// (STG_E_READFAULT); the GIT: register in the MTA, get from an STA (a proxy that calls
/// the MTA), revoke from the STA, revoke again and get an unknown cookie (E_INVALIDARG).
async fn com_table_marshalling<W: Win32>(w: W, log: Log) {
    use std::sync::{Arc, Mutex};
    call!(w, log, "CoInitializeEx(MTA)", w.co_initialize_ex(None, COINIT_MULTITHREADED));
    call!(w, log, "CreateStreamOnHGlobal(NULL out)", w.create_stream_on_hglobal(None));
    let f = w.new_class_factory().await.expect("a class factory");
    let mut s = None;
    call!(w, log, "CreateStreamOnHGlobal", w.create_stream_on_hglobal(Some(&mut s)));
    let s = s.expect("a stream");
    call!(
        w,
        log,
        "CoMarshalInterface(TABLESTRONG)",
        w.co_marshal_interface(Some(s), &IID_IClassFactory, Some(f), MSHCTX_INPROC, None, MSHLFLAGS_TABLESTRONG)
    );
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    let mut p = None;
    call!(
        w,
        log,
        "CoUnmarshalInterface(own apartment)",
        w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
    );
    if let Some(p) = p {
        w.release(p).await;
    }
    let shared: Arc<Mutex<Option<W::IStream>>> = Arc::new(Mutex::new(Some(s)));
    let tl = log.thread("sta");
    let (l, sh) = (tl.clone(), shared.clone());
    let t = spawn(&w, &log, "STA", move |t: W| async move {
        let log = l;
        call!(t, log, "CoInitializeEx(STA)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
        let s = sh.lock().expect("stream").expect("a stream");
        let mut proxies = Vec::new();
        for i in 1..=2 {
            call!(t, log, "IStream::Seek(0)", t.istream_seek_start(s));
            let mut p = None;
            call!(
                t,
                log,
                &format!("CoUnmarshalInterface(TABLESTRONG, {i})"),
                t.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
            );
            proxies.extend(p);
        }
        if let Some(&px) = proxies.first() {
            let mut o = None;
            call!(
                t,
                log,
                "IClassFactory::CreateInstance through the proxy (a call into the MTA)",
                t.iclassfactory_create_instance(px, None, &IID_IUnknown, Some(&mut o))
            );
            if let Some(o) = o {
                t.release(o).await;
            }
        }
        for p in proxies {
            log.note("proxy Release", t.release(p).await);
        }
        t.co_uninitialize().await;
        0
    })
    .await;
    join(&w, &log, t, "STA").await;
    log.merge(&tl);
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    call!(w, log, "CoReleaseMarshalData(TABLESTRONG)", w.co_release_marshal_data(Some(s)));
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    let mut p = None;
    call!(
        w,
        log,
        "CoUnmarshalInterface(released)",
        w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
    );
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    call!(w, log, "CoReleaseMarshalData(released)", w.co_release_marshal_data(Some(s)));
    w.istream_release(s).await;

    // TABLEWEAK data is the only thing that holds the object's stub manager.
    let mut s = None;
    w.create_stream_on_hglobal(Some(&mut s)).await;
    let s = s.expect("a stream");
    call!(
        w,
        log,
        "CoMarshalInterface(TABLEWEAK)",
        w.co_marshal_interface(Some(s), &IID_IClassFactory, Some(f), MSHCTX_INPROC, None, MSHLFLAGS_TABLEWEAK)
    );
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    call!(w, log, "CoReleaseMarshalData(TABLEWEAK)", w.co_release_marshal_data(Some(s)));
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    let mut p = None;
    call!(
        w,
        log,
        "CoUnmarshalInterface(TABLEWEAK, released)",
        w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
    );
    w.istream_release(s).await;

    // NORMAL data: one unmarshal.
    let mut s = None;
    w.create_stream_on_hglobal(Some(&mut s)).await;
    let s = s.expect("a stream");
    call!(
        w,
        log,
        "CoMarshalInterface(NORMAL)",
        w.co_marshal_interface(Some(s), &IID_IClassFactory, Some(f), MSHCTX_INPROC, None, MSHLFLAGS_NORMAL)
    );
    let mut p = None;
    call!(
        w,
        log,
        "CoUnmarshalInterface(not rewound)",
        w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
    );
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    call!(w, log, "CoUnmarshalInterface(NORMAL)", w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p)));
    if let Some(p) = p.take() {
        w.release(p).await;
    }
    call!(w, log, "IStream::Seek(0)", w.istream_seek_start(s));
    call!(
        w,
        log,
        "CoUnmarshalInterface(NORMAL, again)",
        w.co_unmarshal_interface(Some(s), &IID_IClassFactory, Some(&mut p))
    );
    w.istream_release(s).await;

    // The Global Interface Table.
    let mut git = None;
    call!(
        w,
        log,
        "CoCreateInstance(CLSID_StdGlobalInterfaceTable)",
        w.co_create_instance(
            &CLSID_StdGlobalInterfaceTable,
            None,
            CLSCTX_INPROC_SERVER,
            &IID_IGlobalInterfaceTable,
            Some(&mut git)
        )
    );
    let git = git.expect("the GIT");
    let mut cookie = 0u32;
    call!(
        w,
        log,
        "RegisterInterfaceInGlobal(class object)",
        w.register_interface_in_global(git, Some(f), &IID_IClassFactory, Some(&mut cookie))
    );
    let tl = log.thread("sta 2");
    let l = tl.clone();
    let t = spawn(&w, &log, "STA 2", move |t: W| async move {
        let log = l;
        call!(t, log, "CoInitializeEx(STA)", t.co_initialize_ex(None, COINIT_APARTMENTTHREADED));
        let mut g = None;
        call!(
            t,
            log,
            "CoCreateInstance(CLSID_StdGlobalInterfaceTable)",
            t.co_create_instance(
                &CLSID_StdGlobalInterfaceTable,
                None,
                CLSCTX_INPROC_SERVER,
                &IID_IGlobalInterfaceTable,
                Some(&mut g)
            )
        );
        let g = g.expect("the GIT");
        let mut p = None;
        call!(
            t,
            log,
            "GetInterfaceFromGlobal(cookie)",
            t.get_interface_from_global(g, cookie, &IID_IClassFactory, Some(&mut p))
        );
        if let Some(p) = p {
            let mut o = None;
            call!(
                t,
                log,
                "IClassFactory::CreateInstance through the GIT's proxy",
                t.iclassfactory_create_instance(p, None, &IID_IUnknown, Some(&mut o))
            );
            if let Some(o) = o {
                t.release(o).await;
            }
            t.release(p).await;
        }
        call!(
            t,
            log,
            "RevokeInterfaceFromGlobal(cookie) from another apartment",
            t.revoke_interface_from_global(g, cookie)
        );
        call!(t, log, "RevokeInterfaceFromGlobal(cookie) again", t.revoke_interface_from_global(g, cookie));
        let mut p = None;
        call!(
            t,
            log,
            "GetInterfaceFromGlobal(revoked cookie)",
            t.get_interface_from_global(g, cookie, &IID_IClassFactory, Some(&mut p))
        );
        t.release(g).await;
        t.co_uninitialize().await;
        0
    })
    .await;
    join(&w, &log, t, "STA 2").await;
    log.merge(&tl);
    w.release(git).await;
    w.release(f).await;
    call!(w, log, "CoUninitialize", w.co_uninitialize());
}

/// 100-ns units per millisecond: a relative due time of `ms` is `-(ms * TICKS_PER_MS)`.
const TICKS_PER_MS: i64 = 10_000;

/// Waitable timers (docs/semantics.md §14), with delays of 100 ms and more so that a real
/// machine keeps the order: a new timer inactive and nonsignalled (§14.2), cancelling a
/// timer never set (§14.24), a relative due time (§14.14), a notification timer staying
/// signalled through waits and a cancel (§§14.23, 14.26), set again and nonsignalled
/// (§14.19), a due time already passed signalling during the call (§14.15), a
/// synchronization timer releasing one wait (§14.25) and reset by a new setting even when
/// signalled (§14.19), a periodic timer (§14.27) stopped by a cancel (§14.22), names
/// (§§14.4, 14.6, 14.9), access (§§14.17, 14.30), bad handles and a negative period
/// (§14.16), fResume on a machine without wake support (§14.18), and completion routines:
/// queued only at expiry, run only in an alertable wait of the setting thread, at most one
/// queued per timer (§14.21).
async fn waitable_timers<W: Win32>(w: W, log: Log) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    let n = call!(w, log, "CreateWaitableTimer(manual reset)", w.create_waitable_timer(None, true, None));
    call!(w, log, "WaitForSingleObject(new timer, 0)", w.wait_for_single_object(n, 0));
    call!(w, log, "CancelWaitableTimer(never set)", w.cancel_waitable_timer(n));
    call!(w, log, "SetWaitableTimer(in 300 ms)", w.set_waitable_timer(n, -300 * TICKS_PER_MS, 0, None, false));
    call!(w, log, "WaitForSingleObject(not yet due, 0)", w.wait_for_single_object(n, 0));
    call!(w, log, "WaitForSingleObject(due, 5000 ms)", w.wait_for_single_object(n, 5000));
    call!(w, log, "WaitForSingleObject(notification timer again, 0)", w.wait_for_single_object(n, 0));
    call!(w, log, "CancelWaitableTimer(signalled)", w.cancel_waitable_timer(n));
    call!(w, log, "WaitForSingleObject(cancelled, still signalled, 0)", w.wait_for_single_object(n, 0));
    call!(w, log, "SetWaitableTimer(in 10 s)", w.set_waitable_timer(n, -10_000 * TICKS_PER_MS, 0, None, false));
    call!(w, log, "WaitForSingleObject(set again, 0)", w.wait_for_single_object(n, 0));
    call!(w, log, "CancelWaitableTimer(active)", w.cancel_waitable_timer(n));
    call!(w, log, "SetWaitableTimer(due time 0, passed)", w.set_waitable_timer(n, 0, 0, None, false));
    call!(w, log, "WaitForSingleObject(passed due time, 0)", w.wait_for_single_object(n, 0));

    let s = call!(w, log, "CreateWaitableTimer(synchronization)", w.create_waitable_timer(None, false, None));
    call!(w, log, "SetWaitableTimer(sync, in 200 ms)", w.set_waitable_timer(s, -200 * TICKS_PER_MS, 0, None, false));
    call!(w, log, "WaitForSingleObject(sync, 5000 ms)", w.wait_for_single_object(s, 5000));
    call!(w, log, "WaitForSingleObject(sync, taken, 0)", w.wait_for_single_object(s, 0));
    call!(w, log, "SetWaitableTimer(sync, passed)", w.set_waitable_timer(s, 0, 0, None, false));
    call!(
        w,
        log,
        "SetWaitableTimer(sync, signalled, again in 10 s)",
        w.set_waitable_timer(s, -10_000 * TICKS_PER_MS, 0, None, false)
    );
    call!(w, log, "WaitForSingleObject(sync, set again, 0)", w.wait_for_single_object(s, 0));
    call!(
        w,
        log,
        "SetWaitableTimer(sync, period 300 ms)",
        w.set_waitable_timer(s, -300 * TICKS_PER_MS, 300, None, false)
    );
    call!(w, log, "WaitForSingleObject(first period, 5000 ms)", w.wait_for_single_object(s, 5000));
    call!(w, log, "WaitForSingleObject(second period, 5000 ms)", w.wait_for_single_object(s, 5000));
    call!(w, log, "CancelWaitableTimer(periodic)", w.cancel_waitable_timer(s));
    call!(w, log, "WaitForSingleObject(cancelled periodic, 700 ms)", w.wait_for_single_object(s, 700));

    // Names (one namespace with events; case-sensitive).
    let name = "winsim-diff-timer";
    let t1 = call!(w, log, "CreateWaitableTimer(named)", w.create_waitable_timer(None, false, Some(name)));
    let t2 = call!(w, log, "CreateWaitableTimer(named, again)", w.create_waitable_timer(None, true, Some(name)));
    note_last_error(&w, &log, "the second create");
    call!(
        w,
        log,
        "OpenWaitableTimer(other case)",
        w.open_waitable_timer(TIMER_ALL_ACCESS, false, Some("WINSIM-DIFF-TIMER"))
    );
    call!(w, log, "OpenWaitableTimer(NULL name)", w.open_waitable_timer(TIMER_ALL_ACCESS, false, None));
    call!(w, log, "CreateEvent(the timer's name)", w.create_event(None, true, false, Some(name)));
    let ev_name = "winsim-diff-timer-event";
    let ev = call!(w, log, "CreateEvent(named)", w.create_event(None, true, false, Some(ev_name)));
    call!(w, log, "OpenWaitableTimer(an event's name)", w.open_waitable_timer(TIMER_ALL_ACCESS, false, Some(ev_name)));
    call!(w, log, "CreateWaitableTimer(an event's name)", w.create_waitable_timer(None, false, Some(ev_name)));
    let q = call!(
        w,
        log,
        "OpenWaitableTimer(TIMER_QUERY_STATE)",
        w.open_waitable_timer(TIMER_QUERY_STATE, false, Some(name))
    );
    call!(w, log, "SetWaitableTimer(no TIMER_MODIFY_STATE)", w.set_waitable_timer(q, 0, 0, None, false));
    call!(w, log, "CancelWaitableTimer(no TIMER_MODIFY_STATE)", w.cancel_waitable_timer(q));
    call!(w, log, "WaitForSingleObject(no SYNCHRONIZE)", w.wait_for_single_object(q, 0));
    call!(w, log, "SetWaitableTimer(the named timer, passed)", w.set_waitable_timer(t1, 0, 0, None, false));
    call!(w, log, "WaitForSingleObject(through the other handle, 0)", w.wait_for_single_object(t2, 0));
    call!(w, log, "WaitForSingleObject(synchronization kept, 0)", w.wait_for_single_object(t1, 0));

    // Bad input.
    call!(w, log, "SetWaitableTimer(NULL)", w.set_waitable_timer(HANDLE::NULL, 0, 0, None, false));
    call!(w, log, "SetWaitableTimer(an event)", w.set_waitable_timer(ev, 0, 0, None, false));
    call!(w, log, "CancelWaitableTimer(an event)", w.cancel_waitable_timer(ev));
    call!(w, log, "CancelWaitableTimer(NULL)", w.cancel_waitable_timer(HANDLE::NULL));
    let ok = call!(
        w,
        log,
        "SetWaitableTimer(negative period)",
        w.set_waitable_timer(s, -10_000 * TICKS_PER_MS, -1, None, false)
    );
    if ok != FALSE {
        w.cancel_waitable_timer(s).await;
    }
    call!(w, log, "WaitForSingleObject(after the negative period, 0)", w.wait_for_single_object(s, 0));
    call!(w, log, "SetWaitableTimer(fResume)", w.set_waitable_timer(s, -10_000 * TICKS_PER_MS, 0, None, true));
    note_last_error(&w, &log, "SetWaitableTimer(fResume)");
    call!(w, log, "CancelWaitableTimer(resume timer)", w.cancel_waitable_timer(s));

    // Completion routines: queued to this thread at expiry, run only when it waits
    // alertably, at most one queued per timer.
    let runs = Arc::new(AtomicU32::new(0));
    let (r, l) = (runs.clone(), log.clone());
    let routine: sim_core::backend::TimerRoutine<W> = Arc::new(move |_w: W, _low, _high| {
        let (r, l) = (r.clone(), l.clone());
        Box::pin(async move {
            let k = r.fetch_add(1, SeqCst) + 1;
            l.note("completion routine", format!("run {k}"));
        })
    });
    call!(
        w,
        log,
        "SetWaitableTimer(sync, in 300 ms, routine)",
        w.set_waitable_timer(s, -300 * TICKS_PER_MS, 0, Some(routine.clone()), false)
    );
    call!(w, log, "SleepEx(0, alertable, not yet due)", w.sleep_ex(0, true));
    call!(w, log, "Sleep(700)", w.sleep(700));
    log.note("routine runs after a non-alertable sleep", runs.load(SeqCst));
    call!(w, log, "WaitForSingleObject(routine's timer, 0)", w.wait_for_single_object(s, 0));
    call!(w, log, "SleepEx(0, alertable)", w.sleep_ex(0, true));
    log.note("routine runs", runs.load(SeqCst));
    call!(w, log, "SleepEx(0, alertable, nothing queued)", w.sleep_ex(0, true));
    call!(
        w,
        log,
        "SetWaitableTimer(sync, period 500 ms, routine)",
        w.set_waitable_timer(s, -500 * TICKS_PER_MS, 500, Some(routine.clone()), false)
    );
    // Three expiries (500, 1000, 1500 ms), then the alertable wait at 1600 ms, 400 ms
    // before the next: a shorter period let a real machine's next expiry land inside the
    // wait's pass over the APCs, which runs an APC queued meanwhile too (§16.36).
    call!(w, log, "Sleep(1600)", w.sleep(1600));
    call!(w, log, "SleepEx(0, alertable, after three periods)", w.sleep_ex(0, true));
    log.note("routine runs", runs.load(SeqCst));
    call!(w, log, "CancelWaitableTimer(periodic, routine)", w.cancel_waitable_timer(s));
    call!(w, log, "SleepEx(0, alertable, cancelled)", w.sleep_ex(0, true));
    call!(
        w,
        log,
        "SetWaitableTimer(sync, in 200 ms, routine)",
        w.set_waitable_timer(s, -200 * TICKS_PER_MS, 0, Some(routine), false)
    );
    call!(w, log, "SleepEx(5000, alertable)", w.sleep_ex(5000, true));
    log.note("routine runs", runs.load(SeqCst));
    call!(w, log, "WaitForSingleObject(the routine's timer, 0)", w.wait_for_single_object(s, 0));

    for (what, h) in
        [("notification", n), ("synchronization", s), ("named", t1), ("named again", t2), ("query", q), ("event", ev)]
    {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }
    call!(w, log, "OpenWaitableTimer(name gone)", w.open_waitable_timer(TIMER_ALL_ACCESS, false, Some(name)));
}

/// The pipe of the `apcs` case's ReadFileEx/WriteFileEx part.
const APC_PIPE: &str = r"\\.\pipe\winsim-diff-apc";

/// A user APC that logs its data into `log` and appends it to `order`.
fn logging_apc<W: Win32>(
    log: &Log,
    order: &std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
) -> sim_core::backend::ApcRoutine<W> {
    let (log, order) = (log.clone(), order.clone());
    Box::new(move |_w: W, data: usize| {
        Box::pin(async move {
            log.note("APC", format!("data {data}"));
            order.lock().expect("order").push(data);
        })
    })
}

/// A completion routine that logs its error code, byte count, whether it got the
/// operation's own OVERLAPPED, and the bytes a read brought.
fn logging_completion<W: Win32>(
    log: &Log,
    what: &'static str,
    mine: &W::Overlapped,
    buffer: Option<W::IoBuffer>,
) -> sim_core::backend::IoCompletionRoutine<W> {
    let (log, mine) = (log.clone(), mine.clone());
    Box::new(move |w: W, code: u32, bytes: u32, ov: W::Overlapped| {
        Box::pin(async move {
            let same = w.same_overlapped(&ov, &mine);
            let data = buffer.map_or(String::from("-"), |b| render_bytes(&w.io_buffer_head(&b, bytes as usize)));
            log.note(
                &format!("completion routine ({what})"),
                format!("error {} bytes {bytes} own OVERLAPPED {same} data {data}", render_error(code)),
            );
        })
    })
}

/// APCs and alertable waits (docs/semantics.md §§16.34-16.41): APCs queued to a thread
/// that waits non-alertably stay queued (§16.35) and run, all of them and in order, at its
/// next alertable wait, which returns WAIT_IO_COMPLETION (§16.36), at once when they were
/// queued before it (§16.37); an APC ends an alertable WaitForSingleObjectEx and
/// WaitForMultipleObjectsEx; an APC that signals the awaited object leaves the signal for
/// the next wait, and an object already signalled wins over a queued APC (§16.38);
/// QueueUserAPC to a thread that has ended (ERROR_GEN_FAILURE, §16.34), through a handle
/// without THREAD_SET_CONTEXT (ERROR_ACCESS_DENIED), to NULL and to an event; ReadFileEx/WriteFileEx completion routines run only in an alertable wait of the
/// issuing thread, even when the operation completed at once, with 0 or
/// ERROR_OPERATION_ABORTED after CancelIo, and none for a call that failed (§16.39).
async fn apcs<W: Win32>(w: W, log: Log) {
    use std::sync::{Arc, Mutex};
    let order = Arc::new(Mutex::new(Vec::<usize>::new()));
    let ev = |w: &W, manual: bool| {
        let w = w.clone();
        async move { w.create_event(None, manual, false, None).await }
    };
    let ready = call!(w, log, "CreateEvent(ready)", ev(&w, true));
    let go = call!(w, log, "CreateEvent(go)", ev(&w, true));
    let waiting1 = call!(w, log, "CreateEvent(waiting 1)", ev(&w, true));
    let waiting2 = call!(w, log, "CreateEvent(waiting 2)", ev(&w, true));
    let waiting3 = call!(w, log, "CreateEvent(waiting 3)", ev(&w, true));
    let go2 = call!(w, log, "CreateEvent(go 2)", ev(&w, true));
    let never = call!(w, log, "CreateEvent(never set)", ev(&w, true));
    let sig = call!(w, log, "CreateEvent(auto-reset)", ev(&w, false));

    let tlog = log.thread("alertable");
    let (l, o) = (tlog.clone(), order.clone());
    let worker = spawn(&w, &log, "alertable", move |t: W| async move {
        let (log, order) = (l, o);
        let count = |o: &Arc<Mutex<Vec<usize>>>| o.lock().expect("order").len();
        t.set_event(ready).await;
        call!(t, log, "WaitForSingleObject(go, 5000 ms, APCs queued)", t.wait_for_single_object(go, 5000));
        log.note("APCs run in a non-alertable wait", count(&order));
        call!(t, log, "SleepEx(0, not alertable)", t.sleep_ex(0, false));
        log.note("APCs run in a non-alertable SleepEx", count(&order));
        call!(t, log, "SleepEx(0, alertable, two queued)", t.sleep_ex(0, true));
        log.note("APC order", format!("{:?}", order.lock().expect("order")));
        t.set_event(waiting1).await;
        call!(
            t,
            log,
            "WaitForSingleObjectEx(never set, 5000 ms, alertable)",
            t.wait_for_single_object_ex(never, 5000, true)
        );
        t.set_event(waiting2).await;
        call!(
            t,
            log,
            "WaitForMultipleObjectsEx(never set, auto-reset; any; 5000 ms, alertable)",
            t.wait_for_multiple_objects_ex(&[never, sig], false, 5000, true)
        );
        call!(t, log, "WaitForSingleObject(auto-reset, set by the APC, 0)", t.wait_for_single_object(sig, 0));
        t.set_event(waiting3).await;
        call!(t, log, "WaitForSingleObject(go 2, 5000 ms)", t.wait_for_single_object(go2, 5000));
        let before = count(&order);
        call!(
            t,
            log,
            "WaitForSingleObjectEx(signalled, 0, alertable, APC queued)",
            t.wait_for_single_object_ex(sig, 0, true)
        );
        log.note("APCs run by a wait satisfied at once", count(&order) - before);
        call!(t, log, "SleepEx(0, alertable, one queued)", t.sleep_ex(0, true));
        call!(t, log, "SleepEx(0, alertable, none queued)", t.sleep_ex(0, true));
        count(&order) as u32
    })
    .await;
    call!(w, log, "WaitForSingleObject(ready, 5000 ms)", w.wait_for_single_object(ready, 5000));
    let queue = |w: &W, apc: sim_core::backend::ApcRoutine<W>, h: HANDLE, data: usize| {
        let w = w.clone();
        async move { if w.queue_user_apc(apc, h, data).await != 0 { TRUE } else { FALSE } }
    };
    call!(w, log, "QueueUserAPC(1)", queue(&w, logging_apc::<W>(&tlog, &order), worker, 1));
    call!(w, log, "QueueUserAPC(2)", queue(&w, logging_apc::<W>(&tlog, &order), worker, 2));
    call!(w, log, "SetEvent(go)", w.set_event(go));
    call!(w, log, "WaitForSingleObject(waiting 1, 5000 ms)", w.wait_for_single_object(waiting1, 5000));
    call!(w, log, "QueueUserAPC(3)", queue(&w, logging_apc::<W>(&tlog, &order), worker, 3));
    call!(w, log, "WaitForSingleObject(waiting 2, 5000 ms)", w.wait_for_single_object(waiting2, 5000));
    let (l, o) = (tlog.clone(), order.clone());
    let setter: sim_core::backend::ApcRoutine<W> = Box::new(move |t: W, data: usize| {
        Box::pin(async move {
            let ok = t.set_event(sig).await;
            l.note("APC", format!("data {data}, SetEvent(auto-reset) {}", crate::log::Rendered::render(&ok)));
            o.lock().expect("order").push(data);
        })
    });
    call!(w, log, "QueueUserAPC(4, sets the awaited event)", queue(&w, setter, worker, 4));
    call!(w, log, "WaitForSingleObject(waiting 3, 5000 ms)", w.wait_for_single_object(waiting3, 5000));
    call!(w, log, "QueueUserAPC(5)", queue(&w, logging_apc::<W>(&tlog, &order), worker, 5));
    call!(w, log, "SetEvent(auto-reset)", w.set_event(sig));
    call!(w, log, "SetEvent(go 2)", w.set_event(go2));
    call!(w, log, "WaitForSingleObject(worker, 5000 ms)", w.wait_for_single_object(worker, 5000));
    let mut code = 0u32;
    w.get_exit_code_thread(worker, &mut code).await;
    log.note("APCs the worker ran", code);
    log.merge(&tlog);
    call!(w, log, "QueueUserAPC(thread ended)", queue(&w, logging_apc::<W>(&log, &order), worker, 6));
    let mut sync_only = HANDLE::NULL;
    let me = w.get_current_process();
    call!(
        w,
        log,
        "DuplicateHandle(worker, SYNCHRONIZE only)",
        w.duplicate_handle(me, worker, me, &mut sync_only, SYNCHRONIZE, false, 0)
    );
    call!(w, log, "QueueUserAPC(no THREAD_SET_CONTEXT)", queue(&w, logging_apc::<W>(&log, &order), sync_only, 9));
    call!(w, log, "CloseHandle(SYNCHRONIZE-only handle)", w.close_handle(sync_only));
    call!(w, log, "QueueUserAPC(NULL)", queue(&w, logging_apc::<W>(&log, &order), HANDLE::NULL, 7));
    call!(w, log, "QueueUserAPC(an event)", queue(&w, logging_apc::<W>(&log, &order), never, 8));
    call!(w, log, "SleepEx(0, alertable, nothing was queued here)", w.sleep_ex(0, true));
    call!(w, log, "CloseHandle(worker)", w.close_handle(worker));
    for (what, h) in [
        ("ready", ready),
        ("go", go),
        ("waiting 1", waiting1),
        ("waiting 2", waiting2),
        ("waiting 3", waiting3),
        ("go 2", go2),
        ("auto-reset", sig),
    ] {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }

    // ReadFileEx and WriteFileEx: completion routines on this thread.
    let server = call!(
        w,
        log,
        "CreateNamedPipe(duplex, FILE_FLAG_OVERLAPPED)",
        w.create_named_pipe(
            APC_PIPE,
            PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
            PIPE_TYPE_BYTE,
            1,
            4096,
            4096,
            0,
            None
        )
    );
    let client = call!(
        w,
        log,
        "CreateFile(client)",
        w.create_file(APC_PIPE, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL)
    );
    let (b1, o1) = (w.new_io_buffer(16), w.new_overlapped(HANDLE::NULL));
    call!(
        w,
        log,
        "ReadFileEx(empty pipe)",
        w.read_file_ex(server, &b1, &o1, logging_completion::<W>(&log, "pending read", &o1, Some(b1.clone())))
    );
    call!(w, log, "SleepEx(0, alertable, read pending)", w.sleep_ex(0, true));
    write(&w, &log, client, b"ping", "client, \"ping\"").await;
    call!(w, log, "SleepEx(5000, alertable)", w.sleep_ex(5000, true));
    write(&w, &log, client, b"abc", "client, \"abc\"").await;
    let (b2, o2) = (w.new_io_buffer(16), w.new_overlapped(HANDLE::NULL));
    call!(
        w,
        log,
        "ReadFileEx(data waiting)",
        w.read_file_ex(server, &b2, &o2, logging_completion::<W>(&log, "read at once", &o2, Some(b2.clone())))
    );
    call!(w, log, "SleepEx(0, alertable, read done at once)", w.sleep_ex(0, true));
    let (b3, o3) = (w.new_io_buffer(16), w.new_overlapped(HANDLE::NULL));
    call!(
        w,
        log,
        "ReadFileEx(to be cancelled)",
        w.read_file_ex(server, &b3, &o3, logging_completion::<W>(&log, "cancelled read", &o3, Some(b3.clone())))
    );
    call!(w, log, "CancelIo(server)", w.cancel_io(server));
    call!(w, log, "SleepEx(5000, alertable, cancelled)", w.sleep_ex(5000, true));
    let o4 = w.new_overlapped(HANDLE::NULL);
    call!(
        w,
        log,
        "WriteFileEx(server, \"pong\")",
        w.write_file_ex(server, b"pong", &o4, logging_completion::<W>(&log, "write", &o4, None))
    );
    call!(w, log, "SleepEx(0, alertable, write done)", w.sleep_ex(0, true));
    read(&w, &log, client, 16, "client").await;
    let o5 = w.new_overlapped(HANDLE::NULL);
    call!(
        w,
        log,
        "ReadFileEx(NULL)",
        w.read_file_ex(HANDLE::NULL, &b1, &o5, logging_completion::<W>(&log, "NULL", &o5, None))
    );
    call!(
        w,
        log,
        "WriteFileEx(an event)",
        w.write_file_ex(never, b"x", &o5, logging_completion::<W>(&log, "an event", &o5, None))
    );
    call!(w, log, "SleepEx(0, alertable, failed calls queue nothing)", w.sleep_ex(0, true));
    call!(w, log, "CloseHandle(client)", w.close_handle(client));
    call!(w, log, "CloseHandle(server)", w.close_handle(server));
    call!(w, log, "CloseHandle(never set)", w.close_handle(never));
}

/// The window procedure of `window_timers`: logs WM_TIMER (its id) and answers 1.
fn timer_proc<W: Win32>(log: Log) -> WindowProc<W> {
    std::sync::Arc::new(move |w: W, hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM| {
        let log = log.clone();
        Box::pin(async move {
            if msg == WM_TIMER {
                log.note("procedure", format!("WM_TIMER id {wp:#x} lParam {lp}"));
                1
            } else {
                w.def_window_proc(hwnd, msg, wp, lp).await
            }
        })
    })
}

/// SetTimer, KillTimer and WM_TIMER (docs/semantics.md §17.N), with periods of 100 ms and
/// more and waits several times longer: a window timer keeps its id (§17.N1), its WM_TIMER
/// comes through GetMessage and DispatchMessage to the procedure, WM_TIMER never piles up
/// however long the thread did not look (§17.N7), KillTimer takes a due WM_TIMER with it
/// (§17.N7), KillTimer of no such timer (ERROR_INVALID_PARAMETER), a thread timer gets an
/// id of the system's and its WM_TIMER no window, SetTimer with that id replaces it
/// (§17.N3), SetTimer on a window that is gone (ERROR_INVALID_WINDOW_HANDLE).
async fn window_timers<W: Win32>(w: W, log: Log) {
    const CLASS: &str = "winsim_diff_timers";
    let mut m = MSG::default();
    call!(w, log, "RegisterClassEx", async { Atom(w.register_class(CLASS, timer_proc::<W>(log.clone())).await) });
    let hwnd = call!(
        w,
        log,
        "CreateWindowEx(message-only)",
        w.create_window_ex(0, CLASS, "timers", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
    );
    let id = call!(w, log, "SetTimer(window, 0x19, 200 ms)", async { Id(w.set_timer(hwnd, 0x19, 200).await as u32) });
    log.note("id", format!("{:#x}", id.0));
    call!(w, log, "PeekMessage(not yet due)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(w, log, "GetMessage(WM_TIMER)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    log.note(
        "got",
        format!(
            "message {:#x} for the window {} wParam {:#x} lParam {}",
            m.message,
            m.hwnd == hwnd,
            m.wParam,
            m.lParam
        ),
    );
    call!(w, log, "DispatchMessage(WM_TIMER)", async { Lresult(w.dispatch_message(&m).await) });
    call!(w, log, "Sleep(1100)", w.sleep(1100));
    call!(w, log, "GetMessage(after five periods)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    log.note("got", format!("message {:#x} wParam {:#x}", m.message, m.wParam));
    call!(w, log, "PeekMessage(no second WM_TIMER)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(w, log, "Sleep(250)", w.sleep(250));
    call!(w, log, "KillTimer(window, 0x19, one due)", w.kill_timer(hwnd, 0x19));
    call!(w, log, "PeekMessage(after KillTimer)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(w, log, "KillTimer(window, 0x19, again)", w.kill_timer(hwnd, 0x19));
    call!(w, log, "KillTimer(window, never set)", w.kill_timer(hwnd, 0x77));

    let tid = call!(w, log, "SetTimer(thread timer, 100 ms)", async { Id(w.set_timer(HWND(0), 0, 100).await as u32) });
    call!(w, log, "GetMessage(thread WM_TIMER)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    log.note(
        "got",
        format!("message {:#x} no window {} wParam is the id {}", m.message, m.hwnd.0 == 0, m.wParam as u32 == tid.0),
    );
    // No window and no TIMERPROC: nothing to call, so 0 (a last error is not documented).
    let r = w.dispatch_message(&m).await;
    log.note("DispatchMessage(thread WM_TIMER)", r);
    let again = call!(w, log, "SetTimer(thread timer, its id, 200 ms)", async {
        Id(w.set_timer(HWND(0), tid.0 as usize, 200).await as u32)
    });
    log.note("same id", again.0 == tid.0);
    call!(w, log, "KillTimer(thread timer)", w.kill_timer(HWND(0), tid.0 as usize));
    call!(w, log, "KillTimer(thread timer, again)", w.kill_timer(HWND(0), tid.0 as usize));
    call!(w, log, "Sleep(300)", w.sleep(300));
    call!(w, log, "PeekMessage(killed thread timer)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));

    call!(w, log, "DestroyWindow", w.destroy_window(hwnd));
    call!(w, log, "SetTimer(destroyed window)", async { Id(w.set_timer(hwnd, 1, 100).await as u32) });
    call!(w, log, "KillTimer(destroyed window)", w.kill_timer(hwnd, 0x19));
    call!(w, log, "UnregisterClass", w.unregister_class(CLASS));
}

/// Receives what is left of `total` bytes after `first` and logs them all as one note.
async fn rest_of<W: Win32>(w: &W, log: &Log, s: SOCKET, mut first: Vec<u8>, total: usize, what: &str) {
    let mut buf = [0u8; 64];
    while first.len() < total {
        let want = (total - first.len()).min(buf.len()) as i32;
        let r = w.recv(s, &mut buf, want, 0).await;
        if r <= 0 {
            break;
        }
        first.extend_from_slice(&buf[..r as usize]);
    }
    log.note(&format!("{what} received"), render_bytes(&first));
}

/// Overlapped Winsock on loopback (docs/semantics.md §§22.40-22.41): WSARecv with an
/// OVERLAPPED pending (WSA_IO_PENDING) until the peer sends, WSAGetOverlappedResult
/// without waiting (WSA_IO_INCOMPLETE) and waiting (the bytes, flags 0), the event set at
/// completion, a WSARecv that completes at once, an overlapped WSASend, completion routines
/// of a pending receive, of a send done at once and of a cancelled receive, run only in an
/// alertable wait (WAIT_IO_COMPLETION, §22.40), a zero-length
/// receive that waits for data and consumes none (§22.41), a pending receive
/// completed by the peer's graceful close (0 bytes), one ended by closesocket of its own
/// socket (WSAECONNABORTED), CancelIoEx of a pending receive (WSA_OPERATION_ABORTED), and
/// handles that are not sockets (WSAENOTSOCK).
async fn overlapped_sockets<W: Win32>(w: W, log: Log) {
    let mut data = WSADATA::default();
    let r = w.wsa_startup(MAKEWORD(2, 2), Some(&mut data)).await;
    log.note("WSAStartup(2.2)", r);
    let tcp = |w: &W| {
        let w = w.clone();
        async move { w.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await }
    };
    let any = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
    let lst = call!(w, log, "socket(TCP listener)", tcp(&w));
    call!(w, log, "bind(127.0.0.1, port 0)", async { Int(w.bind(lst, Some(&any), SOCKADDR_IN_LEN).await) });
    let (mut at, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(listener)", async { Int(w.getsockname(lst, Some(&mut at), Some(&mut len)).await) });
    call!(w, log, "listen(5)", async { Int(w.listen(lst, 5).await) });
    let c = call!(w, log, "socket(TCP client)", tcp(&w));
    call!(w, log, "connect(the listener)", async { Int(w.connect(c, Some(&at), SOCKADDR_IN_LEN).await) });
    let a = call!(w, log, "accept", w.accept(lst, None, None));

    let ev = call!(w, log, "CreateEvent(receive)", w.create_event(None, true, false, None));
    let ov = w.new_overlapped(ev);
    let buf = w.new_io_buffer(16);
    let (mut n, mut flags) = (0xffu32, 0u32);
    call!(w, log, "WSARecv(overlapped, nothing sent)", async {
        Int(w.wsa_recv(a, &buf, Some(&mut n), &mut flags, Some(&ov), None).await)
    });
    log.note("bytes (untouched while pending)", format!("{n:#x}"));
    call!(w, log, "WaitForSingleObject(receive event, 0)", w.wait_for_single_object(ev, 0));
    let (mut got, mut fl) = (0xffu32, 0xffu32);
    call!(
        w,
        log,
        "WSAGetOverlappedResult(pending, no wait)",
        w.wsa_get_overlapped_result(a, &ov, &mut got, false, &mut fl)
    );
    call!(w, log, "send(client, \"hello\")", async { Int(w.send(c, b"hello", 5, 0).await) });
    call!(w, log, "WSAGetOverlappedResult(wait)", w.wsa_get_overlapped_result(a, &ov, &mut got, true, &mut fl));
    // A stream may deliver the bytes in pieces (in the simulator as on Windows): the
    // completion brings the first of them, plain recv calls the rest.
    let first = w.io_buffer_head(&buf, got as usize);
    log.note("completion: a start of the data, flags", format!("{} {fl}", got > 0 && b"hello".starts_with(&first)));
    rest_of(&w, &log, a, first, 5, "hello").await;
    call!(w, log, "WaitForSingleObject(receive event, 0)", w.wait_for_single_object(ev, 0));

    call!(w, log, "send(client, \"abc\")", async { Int(w.send(c, b"abc", 3, 0).await) });
    // Wait (FIONREAD) until the bytes have arrived, so the next WSARecv completes at once
    // on every machine.
    let mut avail = 0u32;
    for _ in 0..50 {
        w.ioctlsocket(a, FIONREAD, Some(&mut avail)).await;
        if avail >= 3 {
            break;
        }
        w.sleep(20).await;
    }
    call!(w, log, "ResetEvent(receive)", w.reset_event(ev));
    n = 0xff;
    call!(w, log, "WSARecv(overlapped, data waiting)", async {
        Int(w.wsa_recv(a, &buf, Some(&mut n), &mut flags, Some(&ov), None).await)
    });
    let first = w.io_buffer_head(&buf, n as usize);
    log.note("at once: a start of the data, flags", format!("{} {flags}", n > 0 && b"abc".starts_with(&first)));
    call!(
        w,
        log,
        "WSAGetOverlappedResult(done at once)",
        w.wsa_get_overlapped_result(a, &ov, &mut got, false, &mut fl)
    );
    log.note("the same count, flags", format!("{} {fl}", got == n));
    rest_of(&w, &log, a, first, 3, "abc").await;

    let sev = call!(w, log, "CreateEvent(send)", w.create_event(None, true, false, None));
    let sov = w.new_overlapped(sev);
    let mut sent = 0xffu32;
    call!(w, log, "WSASend(overlapped, \"world\")", async {
        Int(w.wsa_send(c, b"world", Some(&mut sent), 0, Some(&sov), None).await)
    });
    call!(w, log, "WSAGetOverlappedResult(send, wait)", w.wsa_get_overlapped_result(c, &sov, &mut got, true, &mut fl));
    log.note("sent", got);
    recv_exact(&w, &log, a, 5, "world").await;
    call!(w, log, "WSASend(no OVERLAPPED, \"xy\")", async {
        Int(w.wsa_send(a, b"xy", Some(&mut sent), 0, None, None).await)
    });
    log.note("sent", sent);
    recv_exact(&w, &log, c, 2, "xy").await;

    // Completion routines (§22.40): queued to this thread at completion, also for a
    // completion at once, and run only in its alertable waits.
    let (rb, ro) = (w.new_io_buffer(16), w.new_overlapped(HANDLE::NULL));
    call!(w, log, "WSARecv(routine, nothing sent)", async {
        let routine = logging_completion::<W>(&log, "WSARecv", &ro, Some(rb.clone()));
        Int(w.wsa_recv(a, &rb, None, &mut flags, Some(&ro), Some(routine)).await)
    });
    call!(w, log, "SleepEx(0, alertable, receive pending)", w.sleep_ex(0, true));
    call!(w, log, "send(client, \"r\")", async { Int(w.send(c, b"r", 1, 0).await) });
    call!(w, log, "SleepEx(5000, alertable, receive done)", w.sleep_ex(5000, true));
    let so = w.new_overlapped(HANDLE::NULL);
    call!(w, log, "WSASend(routine, \"pq\")", async {
        let routine = logging_completion::<W>(&log, "WSASend", &so, None);
        Int(w.wsa_send(c, b"pq", None, 0, Some(&so), Some(routine)).await)
    });
    call!(w, log, "SleepEx(0, alertable, send done)", w.sleep_ex(0, true));
    recv_exact(&w, &log, a, 2, "pq").await;
    let (cb, co) = (w.new_io_buffer(16), w.new_overlapped(HANDLE::NULL));
    call!(w, log, "WSARecv(routine, to be cancelled)", async {
        let routine = logging_completion::<W>(&log, "cancelled WSARecv", &co, Some(cb.clone()));
        Int(w.wsa_recv(a, &cb, None, &mut flags, Some(&co), Some(routine)).await)
    });
    call!(w, log, "CancelIoEx(the receive with a routine)", w.cancel_io_ex(a, Some(&co)));
    call!(w, log, "SleepEx(5000, alertable, receive cancelled)", w.sleep_ex(5000, true));

    // A zero-length receive waits for data and consumes none (§22.41).
    call!(w, log, "ResetEvent(receive)", w.reset_event(ev));
    let empty = w.new_io_buffer(0);
    call!(w, log, "WSARecv(overlapped, zero-length buffer)", async {
        Int(w.wsa_recv(a, &empty, None, &mut flags, Some(&ov), None).await)
    });
    call!(w, log, "WaitForSingleObject(receive event, 0)", w.wait_for_single_object(ev, 0));
    call!(w, log, "send(client, \"z\")", async { Int(w.send(c, b"z", 1, 0).await) });
    got = 0xff;
    call!(
        w,
        log,
        "WSAGetOverlappedResult(zero-length, wait)",
        w.wsa_get_overlapped_result(a, &ov, &mut got, true, &mut fl)
    );
    log.note("bytes", got);
    recv_exact(&w, &log, a, 1, "z (not consumed)").await;

    // A pending receive cancelled, then one completed by the peer's graceful close.
    call!(w, log, "ResetEvent(receive)", w.reset_event(ev));
    call!(w, log, "WSARecv(overlapped, to be cancelled)", async {
        Int(w.wsa_recv(a, &buf, None, &mut flags, Some(&ov), None).await)
    });
    call!(w, log, "CancelIoEx(the receive)", w.cancel_io_ex(a, Some(&ov)));
    call!(
        w,
        log,
        "WSAGetOverlappedResult(cancelled, wait)",
        w.wsa_get_overlapped_result(a, &ov, &mut got, true, &mut fl)
    );
    call!(w, log, "WSARecv(overlapped, peer to close)", async {
        Int(w.wsa_recv(a, &buf, None, &mut flags, Some(&ov), None).await)
    });
    call!(w, log, "closesocket(client)", async { Int(w.closesocket(c).await) });
    got = 0xff;
    call!(
        w,
        log,
        "WSAGetOverlappedResult(peer closed, wait)",
        w.wsa_get_overlapped_result(a, &ov, &mut got, true, &mut fl)
    );
    log.note("bytes", got);
    let (ovc, bufc) = (w.new_overlapped(HANDLE::NULL), w.new_io_buffer(4));
    call!(w, log, "WSARecv(closed socket)", async {
        Int(w.wsa_recv(c, &bufc, None, &mut flags, Some(&ovc), None).await)
    });

    // A pending receive whose own socket is closed.
    let c2 = call!(w, log, "socket(TCP client 2)", tcp(&w));
    call!(w, log, "connect(client 2)", async { Int(w.connect(c2, Some(&at), SOCKADDR_IN_LEN).await) });
    let a2 = call!(w, log, "accept(2)", w.accept(lst, None, None));
    let ev2 = call!(w, log, "CreateEvent(receive 2)", w.create_event(None, true, false, None));
    let ov2 = w.new_overlapped(ev2);
    let buf2 = w.new_io_buffer(16);
    call!(w, log, "WSARecv(overlapped, own socket to close)", async {
        Int(w.wsa_recv(c2, &buf2, None, &mut flags, Some(&ov2), None).await)
    });
    call!(w, log, "closesocket(client 2, receive pending)", async { Int(w.closesocket(c2).await) });
    call!(w, log, "WaitForSingleObject(receive 2 event, 5000 ms)", w.wait_for_single_object(ev2, 5000));
    log.note("HasOverlappedIoCompleted", w.has_overlapped_io_completed(&ov2));
    let mut ob = 0xffu32;
    call!(w, log, "GetOverlappedResult(closed socket's receive)", w.get_overlapped_result(c2, &ov2, &mut ob, false));

    // Not sockets.
    call!(w, log, "WSARecv(an event)", async { Int(w.wsa_recv(ev, &buf, None, &mut flags, Some(&ov), None).await) });
    call!(w, log, "WSASend(an event)", async { Int(w.wsa_send(ev, b"x", None, 0, Some(&sov), None).await) });
    call!(w, log, "WSAGetOverlappedResult(an event)", w.wsa_get_overlapped_result(ev, &ov, &mut got, false, &mut fl));

    call!(w, log, "closesocket(accepted 2)", async { Int(w.closesocket(a2).await) });
    call!(w, log, "closesocket(accepted)", async { Int(w.closesocket(a).await) });
    call!(w, log, "closesocket(listener)", async { Int(w.closesocket(lst).await) });
    for (what, h) in [("receive", ev), ("send", sev), ("receive 2", ev2)] {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }
    call!(w, log, "WSACleanup", async { Int(w.wsa_cleanup().await) });
}

/// The class, title and ready event of `window_messages_across_processes`.
const XPROC_CLASS: &str = "winsim_diff_xproc";
const XPROC_TITLE: &str = "winsim-diff-xproc";
const XPROC_READY: &str = "winsim-diff-xproc-ready";

/// `child_window`: a message-only window of its own class in a process of its own. Its
/// procedure answers WM_USER+1 with wParam * 2, adds a posted WM_USER+2's wParam to a sum,
/// answers WM_COPYDATA with dwData * 100 + the data's length when the data is "hello"
/// (-1 otherwise), destroys the window on WM_CLOSE and quits on WM_DESTROY. It sets the
/// named ready event once the window exists and exits with 100 + the sum (1 if the window
/// could not be made).
async fn child_window<W: Win32>(w: W) -> u32 {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
    let sum = Arc::new(AtomicU32::new(0));
    let s = sum.clone();
    let proc: WindowProc<W> = Arc::new(move |w: W, hwnd: HWND, msg: u32, wp: WPARAM, lp: LPARAM| {
        let s = s.clone();
        Box::pin(async move {
            match msg {
                m if m == WM_USER + 1 => wp as LRESULT * 2,
                m if m == WM_USER + 2 => {
                    s.fetch_add(wp as u32, SeqCst);
                    1
                }
                WM_COPYDATA => match w.copydata(lp) {
                    Some(cds) if cds.lpData == b"hello" => cds.dwData as LRESULT * 100 + cds.lpData.len() as LRESULT,
                    _ => -1,
                },
                WM_CLOSE => {
                    w.destroy_window(hwnd).await;
                    0
                }
                WM_DESTROY => {
                    w.post_quit_message(0).await;
                    0
                }
                _ => w.def_window_proc(hwnd, msg, wp, lp).await,
            }
        })
    });
    if w.register_class(XPROC_CLASS, proc).await == 0 {
        return 1;
    }
    let hwnd = w.create_window_ex(0, XPROC_CLASS, XPROC_TITLE, 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
    if hwnd.0 == 0 {
        return 1;
    }
    let ready = w.create_event(None, true, false, Some(XPROC_READY)).await;
    w.set_event(ready).await;
    w.close_handle(ready).await;
    let mut m = MSG::default();
    while w.get_message(&mut m, HWND(0), 0, 0).await > 0 {
        w.dispatch_message(&m).await;
    }
    100 + sum.load(SeqCst)
}

/// Window messages between processes (docs/semantics.md §17.P, §17.I7, §17.N2): a child
/// process's message-only window found with FindWindowEx(HWND_MESSAGE) by class and
/// title (and not by a top-level search), GetWindowThreadProcessId naming the child,
/// SendMessage and SendMessageTimeout answered by the child's procedure, a posted message,
/// WM_COPYDATA's data copied into the child (§17.P3) and WM_COPYDATA posted
/// (ERROR_MESSAGE_SYNC_ONLY, §17.B2), DestroyWindow, SetTimer and KillTimer of another
/// process's window (ERROR_ACCESS_DENIED), WM_CLOSE ending the child, and its window gone.
async fn window_messages_across_processes<W: Win32>(w: W, log: Log) {
    let ready = call!(w, log, "CreateEvent(named ready)", w.create_event(None, true, false, Some(XPROC_READY)));
    let mut pi = PROCESS_INFORMATION::default();
    let si = STARTUPINFO::default();
    call!(w, log, "CreateProcess(child_window)", w.create_process("child_window", None, None, false, 0, &si, &mut pi));
    call!(w, log, "WaitForSingleObject(ready, 10000 ms)", w.wait_for_single_object(ready, 10000));
    let none = w.find_window_ex(HWND_MESSAGE, HWND(0), Some("winsim_diff_no_such_class"), None).await;
    log.note("FindWindowEx(message-only, unknown class) found one", none.0 != 0);
    let top = w.find_window_ex(HWND(0), HWND(0), Some(XPROC_CLASS), None).await;
    log.note("FindWindowEx(top-level, the class) found one", top.0 != 0);
    let hw = call!(
        w,
        log,
        "FindWindowEx(message-only, class and title)",
        w.find_window_ex(HWND_MESSAGE, HWND(0), Some(XPROC_CLASS), Some(XPROC_TITLE))
    );
    let mut pid = 0u32;
    let tid = call!(w, log, "GetWindowThreadProcessId(child's window)", async {
        Id(w.get_window_thread_process_id(hw, Some(&mut pid)).await)
    });
    log.note("the child's thread and process", tid.0 == pi.dwThreadId && pid == pi.dwProcessId);
    call!(w, log, "SendMessage(WM_USER+1, 21)", async { Lresult(w.send_message(hw, WM_USER + 1, 21, 0).await) });
    call!(w, log, "PostMessage(WM_USER+2, 5)", w.post_message(hw, WM_USER + 2, 5, 0));
    let cds = COPYDATASTRUCT { dwData: 7, lpData: b"hello".to_vec() };
    call!(w, log, "SendMessage(WM_COPYDATA, 7, \"hello\")", async {
        Lresult(w.send_message_copydata(hw, 0, &cds).await)
    });
    let mut res = 0usize;
    call!(w, log, "SendMessageTimeout(WM_USER+1, 4, 5000 ms)", async {
        Lresult(w.send_message_timeout(hw, WM_USER + 1, 4, 0, SMTO_NORMAL, 5000, Some(&mut res)).await)
    });
    log.note("result", res);
    call!(w, log, "PostMessage(WM_COPYDATA)", w.post_message(hw, WM_COPYDATA, 0, 0));
    call!(w, log, "DestroyWindow(another process's window)", w.destroy_window(hw));
    call!(w, log, "SetTimer(another process's window)", async { Id(w.set_timer(hw, 1, 100).await as u32) });
    call!(w, log, "KillTimer(another process's window)", w.kill_timer(hw, 1));
    call!(w, log, "PostMessage(WM_USER+2, 3)", w.post_message(hw, WM_USER + 2, 3, 0));
    call!(w, log, "PostMessage(WM_CLOSE)", w.post_message(hw, WM_CLOSE, 0, 0));
    call!(w, log, "WaitForSingleObject(child, 10000 ms)", w.wait_for_single_object(pi.hProcess, 10000));
    let mut code = 0u32;
    call!(w, log, "GetExitCodeProcess(child)", w.get_exit_code_process(pi.hProcess, &mut code));
    log.note("child's exit code", code);
    let alive = w.is_window(hw).await;
    log.note("IsWindow(the child's window, child ended)", crate::log::Rendered::render(&alive));
    call!(w, log, "SendMessage(the child's window, child ended)", async {
        Lresult(w.send_message(hw, WM_USER + 1, 1, 0).await)
    });
    call!(w, log, "CloseHandle(child process)", w.close_handle(pi.hProcess));
    call!(w, log, "CloseHandle(child thread)", w.close_handle(pi.hThread));
    call!(w, log, "CloseHandle(ready)", w.close_handle(ready));
}

/// A SendMessageCallback callback that logs what it got (whether the window is `hwnd`,
/// the message, dwData, the result) and counts its calls.
fn logging_callback<W: Win32>(
    log: &Log,
    hwnd: HWND,
    calls: &std::sync::Arc<std::sync::atomic::AtomicU32>,
) -> SendAsyncProc<W> {
    let (log, calls) = (log.clone(), calls.clone());
    std::sync::Arc::new(move |_w: W, h: HWND, msg: u32, data: usize, result: LRESULT| {
        let (log, calls) = (log.clone(), calls.clone());
        Box::pin(async move {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            log.note(
                "callback",
                format!(
                    "the window {} WM_USER+{} data {data:#x} result {result}",
                    h == hwnd,
                    msg.wrapping_sub(WM_USER)
                ),
            );
        })
    })
}

/// SendMessageCallback (docs/semantics.md §17.K, §17.L3): to a window of the calling
/// thread the procedure runs and the callback is called before the call returns (§17.K1);
/// with no callback, dwData 0 and 2 are direct calls too (§17.K3; dwData 1 is left out,
/// docs/conformance.md); to another thread's window it returns at
/// once, the receiver runs the message when it retrieves messages (InSendMessage TRUE), and
/// the callback, queued back to the sender, runs only inside the sender's PeekMessage: not
/// in a wait or an alertable SleepEx (§17.K4), with the receiver's result, or the value it
/// gave ReplyMessage (§17.L3), and a PeekMessage with PM_NOREMOVE runs it too; a message
/// carrying a pointer to another thread (ERROR_MESSAGE_SYNC_ONLY, §17.B2), NULL and a
/// destroyed window (ERROR_INVALID_WINDOW_HANDLE, §17.B1) fail and call nothing.
async fn send_message_callbacks<W: Win32>(w: W, log: Log) {
    use std::sync::atomic::Ordering::SeqCst;
    const CLASS: &str = "winsim_diff_callbacks";
    const OTHER_CLASS: &str = "winsim_diff_callbacks_receiver";
    let me = w.get_current_thread_id();
    let mut m = MSG::default();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    call!(w, log, "RegisterClassEx", async { Atom(w.register_class(CLASS, logging_proc::<W>(log.clone())).await) });
    // The receiver's procedure runs on its thread while this one may log: its own buffer.
    let rlog = log.thread("receiver");
    call!(w, log, "RegisterClassEx(receiver's class)", async {
        Atom(w.register_class(OTHER_CLASS, logging_proc::<W>(rlog.clone())).await)
    });
    let hwnd = call!(
        w,
        log,
        "CreateWindowEx(message-only)",
        w.create_window_ex(0, CLASS, "callbacks", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
    );

    // The own window: direct calls.
    call!(w, log, "SendMessageCallback(own window, WM_USER+1, callback)", async {
        w.send_message_callback(hwnd, WM_USER + 1, 2, 3, Some(logging_callback::<W>(&log, hwnd, &calls)), 0x55).await
    });
    log.note("callbacks run", calls.load(SeqCst));
    call!(w, log, "PeekMessage(nothing queued)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(
        w,
        log,
        "SendMessageCallback(own window, WM_USER+2, no callback, data 0)",
        w.send_message_callback(hwnd, WM_USER + 2, 0, 0, None, 0)
    );
    call!(
        w,
        log,
        "SendMessageCallback(own window, WM_USER+3, no callback, data 2)",
        w.send_message_callback(hwnd, WM_USER + 3, 0, 0, None, 2)
    );
    call!(w, log, "PeekMessage(nothing queued)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));

    // A receiver thread: its window, then (once told to go) a message loop that sets
    // `done` at each WM_USER+20 and ends at WM_USER+21.
    let go = call!(w, log, "CreateEvent(go)", w.create_event(None, true, false, None));
    let done = call!(w, log, "CreateEvent(done)", w.create_event(None, false, false, None));
    let receiver = call!(
        w,
        log,
        "CreateThread(receiver)",
        w.create_thread(
            None,
            0,
            move |t: W| async move {
                let h = t.create_window_ex(0, OTHER_CLASS, "receiver", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await;
                if h.0 == 0 || t.post_thread_message(me, WM_USER + 9, h.0 as usize, 0).await == FALSE {
                    return 100;
                }
                if t.wait_for_single_object(go, 5000).await != WAIT_OBJECT_0 {
                    return 101;
                }
                let mut m = MSG::default();
                loop {
                    if t.get_message(&mut m, HWND(0), 0, 0).await <= 0 {
                        return 102;
                    }
                    match m.message {
                        x if x == WM_USER + 20 => {
                            t.set_event(done).await;
                        }
                        x if x == WM_USER + 21 => break,
                        _ => {
                            t.dispatch_message(&m).await;
                        }
                    }
                }
                if t.destroy_window(h).await == FALSE {
                    return 103;
                }
                0
            },
            0,
            None
        )
    );
    call!(w, log, "GetMessage(the receiver's window)", async {
        Int(w.get_message(&mut m, HWND(0), WM_USER + 9, WM_USER + 9).await)
    });
    let other = HWND(m.wParam as isize);
    call!(w, log, "SendMessageCallback(receiver's window, WM_USER+5, callback)", async {
        w.send_message_callback(other, WM_USER + 5, 7, 0, Some(logging_callback::<W>(&log, other, &calls)), 0x66).await
    });
    call!(w, log, "PostMessage(receiver's window, WM_USER+20)", w.post_message(other, WM_USER + 20, 0, 0));
    call!(w, log, "SetEvent(go)", w.set_event(go));
    call!(w, log, "WaitForSingleObject(done, 5000 ms)", w.wait_for_single_object(done, 5000));
    log.note("callbacks run (the receiver has answered)", calls.load(SeqCst));
    call!(w, log, "SleepEx(200, alertable)", w.sleep_ex(200, true));
    log.note("callbacks run (after an alertable wait)", calls.load(SeqCst));
    call!(w, log, "PeekMessage(runs the callback)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    log.note("callbacks run", calls.load(SeqCst));

    // The receiver answers early with ReplyMessage(4242): the callback gets 4242.
    call!(w, log, "SendMessageCallback(receiver's window, WM_USER+8, callback)", async {
        w.send_message_callback(other, WM_USER + 8, 8, 0, Some(logging_callback::<W>(&log, other, &calls)), 0x77).await
    });
    call!(w, log, "PostMessage(receiver's window, WM_USER+20)", w.post_message(other, WM_USER + 20, 0, 0));
    call!(w, log, "WaitForSingleObject(done, 5000 ms)", w.wait_for_single_object(done, 5000));
    log.note("callbacks run (the receiver has answered)", calls.load(SeqCst));
    call!(w, log, "GetMessage(WM_USER+30, after the callback)", async {
        w.post_message(hwnd, WM_USER + 30, 0, 0).await;
        Int(w.get_message(&mut m, HWND(0), 0, 0).await)
    });
    log.note("got", format!("WM_USER+{}", m.message.wrapping_sub(WM_USER)));
    log.note("callbacks run", calls.load(SeqCst));

    // A third answer: PeekMessage with PM_NOREMOVE runs the callback too.
    call!(w, log, "SendMessageCallback(receiver's window, WM_USER+7, callback)", async {
        w.send_message_callback(other, WM_USER + 7, 1, 0, Some(logging_callback::<W>(&log, other, &calls)), 0x78).await
    });
    call!(w, log, "PostMessage(receiver's window, WM_USER+20)", w.post_message(other, WM_USER + 20, 0, 0));
    call!(w, log, "WaitForSingleObject(done, 5000 ms)", w.wait_for_single_object(done, 5000));
    call!(w, log, "PeekMessage(PM_NOREMOVE, runs the callback)", w.peek_message(&mut m, HWND(0), 0, 0, PM_NOREMOVE));
    log.note("callbacks run", calls.load(SeqCst));

    // Bad input: no callback runs.
    call!(w, log, "SendMessageCallback(receiver's window, WM_SETTEXT, carries a pointer)", async {
        w.send_message_callback(other, WM_SETTEXT, 0, 0, Some(logging_callback::<W>(&log, other, &calls)), 0x88).await
    });
    call!(w, log, "PostMessage(receiver's window, WM_USER+21)", w.post_message(other, WM_USER + 21, 0, 0));
    call!(w, log, "WaitForSingleObject(receiver, 5000 ms)", w.wait_for_single_object(receiver, 5000));
    log.merge(&rlog);
    let mut code = 0u32;
    call!(w, log, "GetExitCodeThread(receiver)", w.get_exit_code_thread(receiver, &mut code));
    log.note("receiver's exit code", code);
    call!(w, log, "DestroyWindow", w.destroy_window(hwnd));
    call!(w, log, "SendMessageCallback(NULL, callback)", async {
        w.send_message_callback(HWND(0), WM_USER + 6, 0, 0, Some(logging_callback::<W>(&log, hwnd, &calls)), 0x98).await
    });
    call!(w, log, "SendMessageCallback(destroyed window, callback)", async {
        w.send_message_callback(hwnd, WM_USER + 6, 0, 0, Some(logging_callback::<W>(&log, hwnd, &calls)), 0x99).await
    });
    call!(w, log, "PeekMessage(nothing queued)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    log.note("callbacks run", calls.load(SeqCst));
    for (what, h) in [("receiver", receiver), ("go", go), ("done", done)] {
        call!(w, log, &format!("CloseHandle({what})"), w.close_handle(h));
    }
    call!(w, log, "UnregisterClass", w.unregister_class(CLASS));
    call!(w, log, "UnregisterClass(receiver's class)", w.unregister_class(OTHER_CLASS));
}

/// A TIMERPROC that logs what it got (the window or none, the message, whether the id is
/// the expected one) and counts its calls.
fn logging_timerproc<W: Win32>(
    log: &Log,
    hwnd: HWND,
    expected: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    calls: &std::sync::Arc<std::sync::atomic::AtomicU32>,
) -> TimerProc<W> {
    let (log, expected, calls) = (log.clone(), expected.clone(), calls.clone());
    std::sync::Arc::new(move |_w: W, h: HWND, msg: u32, id: usize, _time: u32| {
        let (log, expected, calls) = (log.clone(), expected.clone(), calls.clone());
        Box::pin(async move {
            use std::sync::atomic::Ordering::SeqCst;
            calls.fetch_add(1, SeqCst);
            let whose = if h.0 == 0 { "no window".to_string() } else { format!("the window {}", h == hwnd) };
            log.note("TIMERPROC", format!("{whose} message {msg:#x} the timer's id {}", id == expected.load(SeqCst)));
        })
    })
}

/// Notes a WM_TIMER: its message, whether it is for `hwnd` (or no window), wParam against
/// the expected id, and whether lParam is set (a TIMERPROC's; its value is the system's).
fn note_timer(log: &Log, m: &MSG, hwnd: HWND, id: usize) {
    let whose = if m.hwnd.0 == 0 { "no window".to_string() } else { format!("the window {}", m.hwnd == hwnd) };
    log.note("got", format!("message {:#x} {whose} the id {} lParam set {}", m.message, m.wParam == id, m.lParam != 0));
}

/// TIMERPROC callbacks (docs/semantics.md §17.N): a window timer with a TIMERPROC keeps
/// its id (§17.N1); its WM_TIMER carries the TIMERPROC in lParam and GetMessage does not
/// call it; DispatchMessage calls the TIMERPROC instead of the window procedure (§17.N6);
/// SetTimer of the same id without one replaces it, and WM_TIMER goes to the window
/// procedure again (lParam 0; Microsoft Learn SetTimer: an existing timer of that id is
/// replaced); a killed timer calls nothing; a thread timer with a TIMERPROC (§17.N3) gets
/// it called with no window and its own id, and SetTimer of its id with another TIMERPROC
/// replaces both; another thread sets a TIMERPROC timer on the
/// window, which is called on the window's thread and kills its own timer (§17.N2);
/// SetTimer with a TIMERPROC on a destroyed window fails (§17.N1).
async fn timer_procs<W: Win32>(w: W, log: Log) {
    use std::sync::atomic::Ordering::SeqCst;
    const CLASS: &str = "winsim_diff_timerprocs";
    let mut m = MSG::default();
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let expected = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0x21));
    call!(w, log, "RegisterClassEx", async { Atom(w.register_class(CLASS, timer_proc::<W>(log.clone())).await) });
    let hwnd = call!(
        w,
        log,
        "CreateWindowEx(message-only)",
        w.create_window_ex(0, CLASS, "timerprocs", 0, 0, 0, 0, 0, HWND_MESSAGE, 0)
    );
    let tp = logging_timerproc::<W>(&log, hwnd, &expected, &calls);
    call!(w, log, "SetTimer(window, 0x21, 200 ms, TIMERPROC)", async {
        Id(w.set_timer_with_proc(hwnd, 0x21, 200, Some(tp.clone())).await as u32)
    });
    call!(w, log, "PeekMessage(not yet due)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    call!(w, log, "GetMessage(WM_TIMER)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    note_timer(&log, &m, hwnd, 0x21);
    log.note("TIMERPROC calls before DispatchMessage", calls.load(SeqCst));
    // Not through call!: DispatchMessage passes on whatever the TIMERPROC, which returns
    // nothing, left as a result (natively a stray register), so neither it nor the last
    // error is compared.
    w.dispatch_message(&m).await;
    log.note("TIMERPROC calls after DispatchMessage", calls.load(SeqCst));

    call!(w, log, "SetTimer(window, 0x21, 200 ms, no TIMERPROC: replaces it)", async {
        Id(w.set_timer_with_proc(hwnd, 0x21, 200, None).await as u32)
    });
    call!(w, log, "GetMessage(WM_TIMER)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    note_timer(&log, &m, hwnd, 0x21);
    call!(w, log, "DispatchMessage(WM_TIMER without a TIMERPROC)", async { Lresult(w.dispatch_message(&m).await) });
    log.note("TIMERPROC calls", calls.load(SeqCst));

    call!(w, log, "SetTimer(window, 0x21, 200 ms, TIMERPROC again)", async {
        Id(w.set_timer_with_proc(hwnd, 0x21, 200, Some(tp.clone())).await as u32)
    });
    call!(w, log, "KillTimer(window, 0x21)", w.kill_timer(hwnd, 0x21));
    call!(w, log, "Sleep(500)", w.sleep(500));
    call!(w, log, "PeekMessage(killed timer)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));
    log.note("TIMERPROC calls", calls.load(SeqCst));

    // A thread timer: the id is the system's (not logged), the TIMERPROC gets it.
    let tid = call!(w, log, "SetTimer(thread timer, 100 ms, TIMERPROC)", async {
        Id(w.set_timer_with_proc(HWND(0), 0, 100, Some(tp.clone())).await as u32)
    });
    expected.store(tid.0 as usize, SeqCst);
    call!(w, log, "GetMessage(thread WM_TIMER)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    note_timer(&log, &m, hwnd, tid.0 as usize);
    w.dispatch_message(&m).await;
    log.note("TIMERPROC calls after DispatchMessage", calls.load(SeqCst));
    // SetTimer with the thread timer's id and another TIMERPROC replaces both (§17.N3).
    let calls2 = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tp2 = logging_timerproc::<W>(&log, hwnd, &expected, &calls2);
    let again = call!(w, log, "SetTimer(thread timer, its id, 100 ms, another TIMERPROC)", async {
        Id(w.set_timer_with_proc(HWND(0), tid.0 as usize, 100, Some(tp2)).await as u32)
    });
    log.note("same id", again.0 == tid.0);
    call!(w, log, "GetMessage(thread WM_TIMER, replaced)", async { Int(w.get_message(&mut m, HWND(0), 0, 0).await) });
    note_timer(&log, &m, hwnd, tid.0 as usize);
    w.dispatch_message(&m).await;
    log.note("calls of the first TIMERPROC, of the second", format!("{} {}", calls.load(SeqCst), calls2.load(SeqCst)));
    call!(w, log, "KillTimer(thread timer)", w.kill_timer(HWND(0), tid.0 as usize));

    // Another thread sets a timer with a TIMERPROC on this thread's window (§17.N2): the
    // WM_TIMER comes to this thread, whose DispatchMessage calls the TIMERPROC here, and the
    // TIMERPROC kills its own timer.
    let me = w.get_current_thread_id();
    let killer: TimerProc<W> = {
        let (log, calls) = (log.clone(), calls.clone());
        std::sync::Arc::new(move |w: W, h: HWND, msg: u32, id: usize, _time: u32| {
            let (log, calls) = (log.clone(), calls.clone());
            Box::pin(async move {
                calls.fetch_add(1, SeqCst);
                let here = w.get_current_thread_id() == me;
                log.note(
                    "TIMERPROC (set by another thread)",
                    format!("the window {} message {msg:#x} id {id:#x} on the window's thread {here}", h == hwnd),
                );
                let killed = w.kill_timer(h, id).await;
                log.note("TIMERPROC: KillTimer(its own timer)", killed);
            })
        })
    };
    let setter = spawn(&w, &log, "setter", move |t: W| async move {
        t.set_timer_with_proc(hwnd, 0x23, 100, Some(killer)).await as u32
    })
    .await;
    join(&w, &log, setter, "setter").await;
    call!(w, log, "GetMessage(WM_TIMER of another thread's setting)", async {
        Int(w.get_message(&mut m, HWND(0), 0, 0).await)
    });
    note_timer(&log, &m, hwnd, 0x23);
    w.dispatch_message(&m).await;
    log.note("TIMERPROC calls after DispatchMessage", calls.load(SeqCst));
    call!(w, log, "Sleep(300)", w.sleep(300));
    call!(w, log, "PeekMessage(the timer its TIMERPROC killed)", w.peek_message(&mut m, HWND(0), 0, 0, PM_REMOVE));

    call!(w, log, "DestroyWindow", w.destroy_window(hwnd));
    call!(w, log, "SetTimer(destroyed window, TIMERPROC)", async {
        Id(w.set_timer_with_proc(hwnd, 0x22, 100, Some(tp.clone())).await as u32)
    });
    call!(w, log, "UnregisterClass", w.unregister_class(CLASS));
    log.note("TIMERPROC calls", calls.load(SeqCst));
}

/// The address space AcceptEx needs for each address: sizeof(SOCKADDR_IN) + 16.
const ACCEPT_ADDR: u32 = 16 + 16;

/// AcceptEx and ConnectEx on loopback (docs/semantics.md §§22.42-22.43): AcceptEx's
/// argument checks in Windows' order (a listener that is not a socket WSAENOTSOCK, not
/// listening WSAEINVAL, an accept socket that is not one WSAENOTSOCK, no buffer WSAEFAULT,
/// a remote address size of 0 WSAEFAULT, no OVERLAPPED ERROR_INVALID_PARAMETER, a local
/// address size too small accepted), a pending AcceptEx cancelled by CancelIo on the
/// listener (ERROR_OPERATION_ABORTED), the accept socket already in an AcceptEx
/// (WSAEINVAL, and connect on it too), accept sockets that are bound, UDP or connected
/// (WSAEINVAL), completion at connect (0 bytes, the addresses
/// through GetAcceptExSockaddrs, the accept socket carrying the connection), with a receive
/// length only once data came, closing the accept socket aborting a pending AcceptEx
/// (§22.42, SK-26), a local address size of 3 failing at connect with
/// ERROR_INSUFFICIENT_BUFFER and leaving the connection for accept (§22.42); ConnectEx on
/// an unbound socket (WSAEINVAL), without an OVERLAPPED (ERROR_INVALID_PARAMETER), pending
/// then completed with the send buffer's bytes, on a connected socket (WSAEISCONN), and
/// refused (ERROR_CONNECTION_REFUSED, WSAECONNREFUSED for WSAGetOverlappedResult) (§§22.40,
/// 22.43, SK-5, SK-7); both ends overlapped, the AcceptEx's packet on the listener's
/// completion port (its key, its OVERLAPPED, the ConnectEx's first bytes). Ports are never
/// printed.
async fn accept_connect_ex<W: Win32>(w: W, log: Log) {
    let mut data = WSADATA::default();
    let r = w.wsa_startup(MAKEWORD(2, 2), Some(&mut data)).await;
    log.note("WSAStartup(2.2)", r);
    let tcp = |w: &W| {
        let w = w.clone();
        async move { w.socket(AF_INET, SOCK_STREAM, IPPROTO_TCP).await }
    };
    let any = SOCKADDR_IN::new(INADDR_LOOPBACK, 0);
    let lst = call!(w, log, "socket(TCP listener)", tcp(&w));
    call!(w, log, "bind(listener, 127.0.0.1, port 0)", async { Int(w.bind(lst, Some(&any), SOCKADDR_IN_LEN).await) });
    let (mut at, mut len) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(listener)", async { Int(w.getsockname(lst, Some(&mut at), Some(&mut len)).await) });
    let acc = call!(w, log, "socket(accept socket)", tcp(&w));
    let ev = call!(w, log, "CreateEvent(AcceptEx)", w.create_event(None, false, false, None));
    let ov = w.new_overlapped(ev);
    let size = 8 + 2 * ACCEPT_ADDR as usize;
    let buf = w.new_io_buffer(size);
    let a = ACCEPT_ADDR;

    // The argument checks, in Windows' order.
    call!(
        w,
        log,
        "AcceptEx(listener INVALID_SOCKET)",
        w.accept_ex(INVALID_SOCKET, acc, Some(&buf), 0, a, a, None, Some(&ov))
    );
    // Its own accept socket and OVERLAPPED: Wine 8.0 leaves this one pending (the
    // manifest), which the case then cancels, unlogged, so nothing after it differs.
    let (acc0, ev0) = (tcp(&w).await, w.create_event(None, true, false, None).await);
    let ov0 = w.new_overlapped(ev0);
    call!(w, log, "AcceptEx(listener not listening)", w.accept_ex(lst, acc0, Some(&buf), 0, a, a, None, Some(&ov0)));
    w.cancel_io(lst).await;
    w.wait_for_single_object(ev0, 1000).await;
    w.closesocket(acc0).await;
    w.close_handle(ev0).await;
    call!(w, log, "listen(5)", async { Int(w.listen(lst, 5).await) });
    call!(
        w,
        log,
        "AcceptEx(accept socket INVALID_SOCKET)",
        w.accept_ex(lst, INVALID_SOCKET, Some(&buf), 0, a, a, None, Some(&ov))
    );
    call!(w, log, "AcceptEx(no buffer)", w.accept_ex(lst, acc, None, 0, a, a, None, Some(&ov)));
    call!(w, log, "AcceptEx(remote address size 0)", w.accept_ex(lst, acc, Some(&buf), 0, a, 0, None, Some(&ov)));
    call!(w, log, "AcceptEx(no OVERLAPPED)", w.accept_ex(lst, acc, Some(&buf), 0, a, a, None, None));
    call!(w, log, "AcceptEx(local address size 0)", w.accept_ex(lst, acc, Some(&buf), 0, 0, a, None, Some(&ov)));
    call!(w, log, "CancelIo(listener)", w.cancel_io(lst));
    call!(w, log, "WaitForSingleObject(AcceptEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    let mut n = 0xffu32;
    call!(w, log, "GetOverlappedResult(cancelled AcceptEx)", w.get_overlapped_result(lst, &ov, &mut n, false));
    call!(w, log, "closesocket(accept socket)", async { Int(w.closesocket(acc).await) });

    // Completion at connect: 0 bytes, the addresses, the connection.
    let acc = call!(w, log, "socket(accept socket 2)", tcp(&w));
    let mut got = 0xffu32;
    call!(w, log, "AcceptEx(accept socket 2)", w.accept_ex(lst, acc, Some(&buf), 0, a, a, Some(&mut got), Some(&ov)));
    log.note("bytes (untouched while pending)", format!("{got:#x}"));
    log.note("HasOverlappedIoCompleted", w.has_overlapped_io_completed(&ov));
    let ov2 = w.new_overlapped(HANDLE::NULL);
    call!(w, log, "AcceptEx(accept socket 2 again)", w.accept_ex(lst, acc, Some(&buf), 0, a, a, None, Some(&ov2)));
    call!(w, log, "connect(accept socket 2, in an AcceptEx)", async {
        Int(w.connect(acc, Some(&at), SOCKADDR_IN_LEN).await)
    });
    let c = call!(w, log, "socket(client)", tcp(&w));
    call!(w, log, "connect(client, the listener)", async { Int(w.connect(c, Some(&at), SOCKADDR_IN_LEN).await) });
    call!(w, log, "WaitForSingleObject(AcceptEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(AcceptEx)", w.get_overlapped_result(lst, &ov, &mut n, false));
    log.note("bytes", n);
    let (mut local, mut remote, mut client) = (SOCKADDR_IN::default(), SOCKADDR_IN::default(), SOCKADDR_IN::default());
    w.get_accept_ex_sockaddrs(&buf, 0, a, a, &mut local, &mut remote);
    let mut cl = SOCKADDR_IN_LEN;
    w.getsockname(c, Some(&mut client), Some(&mut cl)).await;
    log.note(
        "GetAcceptExSockaddrs: local is the listener's, remote the client's",
        format!("{} {}", local == at, remote == client),
    );
    call!(w, log, "send(client, \"ping\")", async { Int(w.send(c, b"ping", 4, 0).await) });
    recv_exact(&w, &log, acc, 4, "ping").await;
    call!(w, log, "send(accept socket 2, \"pong\")", async { Int(w.send(acc, b"pong", 4, 0).await) });
    recv_exact(&w, &log, c, 4, "pong").await;

    // With a receive length: pending after the connect, completed by the first data.
    let acc3 = call!(w, log, "socket(accept socket 3)", tcp(&w));
    call!(
        w,
        log,
        "AcceptEx(accept socket 3, receive length 8)",
        w.accept_ex(lst, acc3, Some(&buf), 8, a, a, None, Some(&ov))
    );
    let c3 = call!(w, log, "socket(client 3)", tcp(&w));
    call!(w, log, "connect(client 3, the listener)", async { Int(w.connect(c3, Some(&at), SOCKADDR_IN_LEN).await) });
    call!(w, log, "WaitForSingleObject(AcceptEx event, 300 ms: no data yet)", w.wait_for_single_object(ev, 300));
    call!(w, log, "send(client 3, \"hello\")", async { Int(w.send(c3, b"hello", 5, 0).await) });
    call!(w, log, "WaitForSingleObject(AcceptEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(AcceptEx with data)", w.get_overlapped_result(lst, &ov, &mut n, false));
    let first = w.io_buffer_head(&buf, (n as usize).min(8));
    log.note("a start of the data", n > 0 && b"hello".starts_with(&first));
    rest_of(&w, &log, acc3, first, 5, "hello").await;
    w.get_accept_ex_sockaddrs(&buf, 8, a, a, &mut local, &mut remote);
    log.note("GetAcceptExSockaddrs(after 8 bytes): local is the listener's", local == at);

    // Closing the accept socket aborts a pending AcceptEx.
    let acc4 = call!(w, log, "socket(accept socket 4)", tcp(&w));
    call!(w, log, "AcceptEx(accept socket 4)", w.accept_ex(lst, acc4, Some(&buf), 0, a, a, None, Some(&ov)));
    call!(w, log, "closesocket(accept socket 4, AcceptEx pending)", async { Int(w.closesocket(acc4).await) });
    call!(w, log, "WaitForSingleObject(AcceptEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(aborted AcceptEx)", w.get_overlapped_result(lst, &ov, &mut n, false));

    // Accept sockets that cannot be accepted into, bound, UDP or connected: WSAEINVAL
    // (§22.42). Wine 8.0 queues them (the manifest); each has its own OVERLAPPED and is
    // cancelled, unlogged, as for the listener that did not listen.
    let bound = tcp(&w).await;
    w.bind(bound, Some(&any), SOCKADDR_IN_LEN).await;
    let udp = w.socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP).await;
    let c8 = tcp(&w).await;
    w.connect(c8, Some(&at), SOCKADDR_IN_LEN).await;
    let a8 = w.accept(lst, None, None).await;
    for (what, s8) in [("bound", bound), ("UDP", udp), ("connected", c8)] {
        let e8 = w.create_event(None, true, false, None).await;
        let o8 = w.new_overlapped(e8);
        call!(
            w,
            log,
            &format!("AcceptEx(accept socket {what})"),
            w.accept_ex(lst, s8, Some(&buf), 0, a, a, None, Some(&o8))
        );
        w.cancel_io(lst).await;
        w.wait_for_single_object(e8, 1000).await;
        w.close_handle(e8).await;
    }
    for s8 in [bound, udp, c8, a8] {
        w.closesocket(s8).await;
    }

    // A local address size too small: accepted, and failing when a client connects; the
    // connection stays for accept (taken without blocking, so a run where it is gone
    // cannot hang).
    let acc5 = call!(w, log, "socket(accept socket 5)", tcp(&w));
    call!(
        w,
        log,
        "AcceptEx(accept socket 5, local address size 3)",
        w.accept_ex(lst, acc5, Some(&buf), 0, 3, a, None, Some(&ov))
    );
    let c5 = call!(w, log, "socket(client 5)", tcp(&w));
    call!(w, log, "connect(client 5, the listener)", async { Int(w.connect(c5, Some(&at), SOCKADDR_IN_LEN).await) });
    call!(w, log, "WaitForSingleObject(AcceptEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(
        w,
        log,
        "GetOverlappedResult(AcceptEx, local address size 3)",
        w.get_overlapped_result(lst, &ov, &mut n, false)
    );
    log.note("bytes", n);
    let mut on = 1u32;
    call!(w, log, "ioctlsocket(listener, FIONBIO, 1)", async { Int(w.ioctlsocket(lst, FIONBIO, Some(&mut on)).await) });
    let a6 = call!(w, log, "accept(the connection AcceptEx left, non-blocking)", w.accept(lst, None, None));
    on = 0;
    call!(w, log, "ioctlsocket(listener, FIONBIO, 0)", async { Int(w.ioctlsocket(lst, FIONBIO, Some(&mut on)).await) });
    if a6 != INVALID_SOCKET {
        w.closesocket(a6).await;
    }

    // ConnectEx.
    let u = call!(w, log, "socket(ConnectEx socket)", tcp(&w));
    call!(w, log, "ConnectEx(unbound)", w.connect_ex(u, Some(&at), SOCKADDR_IN_LEN, None, None, Some(&ov)));
    call!(w, log, "bind(ConnectEx socket, 127.0.0.1, port 0)", async {
        Int(w.bind(u, Some(&any), SOCKADDR_IN_LEN).await)
    });
    call!(w, log, "ConnectEx(no OVERLAPPED)", w.connect_ex(u, Some(&at), SOCKADDR_IN_LEN, None, None, None));
    let mut sent = 0xffu32;
    call!(
        w,
        log,
        "ConnectEx(the listener, \"hey\")",
        w.connect_ex(u, Some(&at), SOCKADDR_IN_LEN, Some(b"hey"), Some(&mut sent), Some(&ov))
    );
    call!(w, log, "WaitForSingleObject(ConnectEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(ConnectEx)", w.get_overlapped_result(u, &ov, &mut n, false));
    log.note("bytes sent", n);
    let a5 = call!(w, log, "accept(ConnectEx's connection)", w.accept(lst, None, None));
    recv_exact(&w, &log, a5, 3, "hey").await;
    call!(w, log, "ConnectEx(connected)", w.connect_ex(u, Some(&at), SOCKADDR_IN_LEN, None, None, Some(&ov2)));

    // A port bound by a socket that does not listen: refused.
    let idle = call!(w, log, "socket(not listening)", tcp(&w));
    call!(w, log, "bind(not listening, 127.0.0.1, port 0)", async {
        Int(w.bind(idle, Some(&any), SOCKADDR_IN_LEN).await)
    });
    let (mut idle_at, mut il) = (SOCKADDR_IN::default(), SOCKADDR_IN_LEN);
    call!(w, log, "getsockname(not listening)", async {
        Int(w.getsockname(idle, Some(&mut idle_at), Some(&mut il)).await)
    });
    let r6 = call!(w, log, "socket(ConnectEx socket 2)", tcp(&w));
    call!(w, log, "bind(ConnectEx socket 2, 127.0.0.1, port 0)", async {
        Int(w.bind(r6, Some(&any), SOCKADDR_IN_LEN).await)
    });
    call!(
        w,
        log,
        "ConnectEx(a port nobody listens on)",
        w.connect_ex(r6, Some(&idle_at), SOCKADDR_IN_LEN, None, None, Some(&ov))
    );
    call!(w, log, "WaitForSingleObject(ConnectEx event, 10000 ms)", w.wait_for_single_object(ev, 10000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(refused ConnectEx)", w.get_overlapped_result(r6, &ov, &mut n, false));
    let mut fl = 0u32;
    call!(
        w,
        log,
        "WSAGetOverlappedResult(refused ConnectEx)",
        w.wsa_get_overlapped_result(r6, &ov, &mut n, false, &mut fl)
    );

    // Both ends overlapped: an AcceptEx with a receive length on a listener associated with
    // a completion port, and a ConnectEx sending "hey"; the AcceptEx's packet carries the
    // listener's key, its OVERLAPPED and the first bytes (§§16, 22.42-22.43).
    let port =
        call!(w, log, "CreateIoCompletionPort(listener, key 7)", w.create_io_completion_port(lst, HANDLE::NULL, 7, 0));
    let acc7 = call!(w, log, "socket(accept socket 7)", tcp(&w));
    let pov = w.new_overlapped(HANDLE::NULL);
    let pbuf = w.new_io_buffer(size);
    call!(
        w,
        log,
        "AcceptEx(accept socket 7, receive length 8, the port)",
        w.accept_ex(lst, acc7, Some(&pbuf), 8, a, a, None, Some(&pov))
    );
    let u7 = call!(w, log, "socket(ConnectEx socket 7)", tcp(&w));
    call!(w, log, "bind(ConnectEx socket 7, 127.0.0.1, port 0)", async {
        Int(w.bind(u7, Some(&any), SOCKADDR_IN_LEN).await)
    });
    call!(
        w,
        log,
        "ConnectEx(socket 7, the listener, \"hey\")",
        w.connect_ex(u7, Some(&at), SOCKADDR_IN_LEN, Some(b"hey"), None, Some(&ov))
    );
    call!(w, log, "WaitForSingleObject(ConnectEx event, 5000 ms)", w.wait_for_single_object(ev, 5000));
    n = 0xff;
    call!(w, log, "GetOverlappedResult(ConnectEx 7)", w.get_overlapped_result(u7, &ov, &mut n, false));
    log.note("bytes sent", n);
    let (mut pn, mut key, mut po) = (0xffu32, 0xffusize, None);
    call!(
        w,
        log,
        "GetQueuedCompletionStatus(AcceptEx 7, 5000 ms)",
        w.get_queued_completion_status(port, &mut pn, &mut key, &mut po, 5000)
    );
    let mine = po.as_ref().is_some_and(|o| w.same_overlapped(o, &pov));
    let first = w.io_buffer_head(&pbuf, (pn as usize).min(8));
    log.note(
        "packet: key, own OVERLAPPED, a start of the data",
        format!("{key} {mine} {}", pn > 0 && b"hey".starts_with(&first)),
    );
    rest_of(&w, &log, acc7, first, 3, "hey").await;
    call!(
        w,
        log,
        "GetQueuedCompletionStatus(nothing more, 0 ms)",
        w.get_queued_completion_status(port, &mut pn, &mut key, &mut po, 0)
    );

    for (what, s) in [
        ("accept socket 2", acc),
        ("client", c),
        ("accept socket 3", acc3),
        ("client 3", c3),
        ("accept socket 5", acc5),
        ("client 5", c5),
        ("ConnectEx socket", u),
        ("accepted", a5),
        ("not listening", idle),
        ("ConnectEx socket 2", r6),
        ("accept socket 7", acc7),
        ("ConnectEx socket 7", u7),
        ("listener", lst),
    ] {
        call!(w, log, &format!("closesocket({what})"), async { Int(w.closesocket(s).await) });
    }
    call!(w, log, "CloseHandle(port)", w.close_handle(port));
    call!(w, log, "CloseHandle(event)", w.close_handle(ev));
    call!(w, log, "WSACleanup", async { Int(w.wsa_cleanup().await) });
}
