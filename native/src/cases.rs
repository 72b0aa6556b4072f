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

use crate::log::{Log, render_bytes, render_error};
use sim_core::backend::{Program, Win32};
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
    vec![
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
    ]
}

/// The child programs cases start with CreateProcess, by name.
pub fn programs<W: Win32>() -> Vec<(&'static str, Program<W>)> {
    vec![("child_writer", |w| Box::pin(child_writer(w)))]
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
