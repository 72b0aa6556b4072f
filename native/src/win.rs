//! The native backend: [`NativeCtx`] implements [`Win32`] with the real Win32 calls
//! (windows-sys). Every call completes before its future is first polled, so a thread
//! body runs to its end under [`block_on`] on its own OS thread. Processes are real
//! processes: one executable holds the program registry and a child is that executable
//! started with `--winsim-program NAME ARGS`.
//!
//! The only `unsafe` in the workspace outside a forbid: FFI calls whose pointers come
//! from live Rust references for the duration of the call.
#![allow(unsafe_code)]

use sim_core::backend::{
    ApcRoutine, IoCompletionRoutine, Program, SendAsyncProc, TimerProc, TimerRoutine, Win32, WindowProc,
};
use sim_core::error::ERROR_FILE_NOT_FOUND;
use sim_core::types::*;
use std::cell::{RefCell, UnsafeCell};
use std::ffi::c_void;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use windows_sys::Win32::Foundation as F;
use windows_sys::Win32::Networking::WinSock as WS;
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES as NT_SA;
use windows_sys::Win32::Storage::FileSystem as FS;
use windows_sys::Win32::System::Environment::GetCommandLineW;
use windows_sys::Win32::System::IO;
use windows_sys::Win32::System::Mailslots as M;
use windows_sys::Win32::System::Memory as Mem;
use windows_sys::Win32::System::Pipes as P;
use windows_sys::Win32::System::Threading as T;
use windows_sys::Win32::UI::WindowsAndMessaging as WM;

/// The command-line flag that makes the executable run a registered program.
pub const PROGRAM_FLAG: &str = "--winsim-program";

static REGISTRY: OnceLock<Vec<(&'static str, Program<NativeCtx>)>> = OnceLock::new();

/// Installs the program registry (once, before any CreateProcess).
pub fn register_programs(programs: Vec<(&'static str, Program<NativeCtx>)>) {
    let _ = REGISTRY.set(programs);
}

fn find_program(name: &str) -> Option<Program<NativeCtx>> {
    let base = name.rsplit(['\\', '/']).next().unwrap_or(name).to_ascii_lowercase();
    let base = base.strip_suffix(".exe").unwrap_or(&base).to_string();
    REGISTRY.get()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(&base)).map(|&(_, p)| p)
}

/// Runs a future whose every await completes at once (the native calls are
/// synchronous). Polls again if it ever returns Pending.
pub fn block_on<Fut: Future>(fut: Fut) -> Fut::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

/// The command line after [`PROGRAM_FLAG`], if this process was started as a program.
fn program_command_line() -> Option<String> {
    // SAFETY: GetCommandLineW returns a NUL-terminated string owned by the process.
    let raw = unsafe { GetCommandLineW() };
    let mut len = 0;
    // SAFETY: reading up to the terminating NUL.
    while unsafe { *raw.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` u16s were just read.
    let full = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(raw, len) });
    let at = full.find(PROGRAM_FLAG)?;
    Some(full[at + PROGRAM_FLAG.len()..].trim_start().to_string())
}

/// If this process was started as a registered program, runs it and exits with its exit
/// code; otherwise returns.
pub fn dispatch_program() {
    let Some(cmd) = program_command_line() else { return };
    let name = cmd.split_whitespace().next().unwrap_or("");
    let code = match find_program(name) {
        Some(p) => block_on(p(NativeCtx)),
        None => 1,
    };
    std::process::exit(code as i32);
}

/// What a [`NativeOverlapped`] points at: the OVERLAPPED the kernel writes, at a stable
/// heap address, and the bytes of its last overlapped write.
struct OverlappedInner {
    ov: UnsafeCell<IO::OVERLAPPED>,
    write_data: Mutex<Box<[u8]>>,
}

// SAFETY: the OVERLAPPED is written by the kernel and read here only with volatile reads
// of `Internal` or by the kernel calls themselves; `write_data` is behind a Mutex.
unsafe impl Send for OverlappedInner {}
// SAFETY: as for Send.
unsafe impl Sync for OverlappedInner {}

/// The native OVERLAPPED: a shared heap structure (cloning gives the same OVERLAPPED, as
/// passing its address twice would). It must outlive the operation that uses it, as on
/// Windows; the differential cases wait for or cancel every operation they start.
#[derive(Clone)]
pub struct NativeOverlapped(Arc<OverlappedInner>);

impl NativeOverlapped {
    fn ptr(&self) -> *mut IO::OVERLAPPED {
        self.0.ov.get()
    }
}

/// Every OVERLAPPED made, weakly, so GetQueuedCompletionStatus can give back the value
/// whose address the kernel returns.
static OVERLAPPEDS: Mutex<Vec<Weak<OverlappedInner>>> = Mutex::new(Vec::new());

fn overlapped_at(ptr: *mut IO::OVERLAPPED) -> Option<NativeOverlapped> {
    if ptr.is_null() {
        return None;
    }
    let mut all = OVERLAPPEDS.lock().expect("overlapped registry");
    all.retain(|w| w.strong_count() > 0);
    all.iter().filter_map(Weak::upgrade).find(|o| o.ov.get() == ptr).map(NativeOverlapped)
}

/// What a [`NativeIoBuffer`] points at: a heap buffer the kernel fills when a read
/// completes.
struct IoBufferInner {
    ptr: *mut u8,
    len: usize,
}

impl Drop for IoBufferInner {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from Box::into_raw of a boxed slice of `len` bytes.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
    }
}

// SAFETY: the bytes are written by the kernel during an operation and read only after it
// completed (the program's side of the OVERLAPPED contract).
unsafe impl Send for IoBufferInner {}
// SAFETY: as for Send.
unsafe impl Sync for IoBufferInner {}

/// The native buffer for overlapped reads (cloning gives the same buffer).
#[derive(Clone)]
pub struct NativeIoBuffer(Arc<IoBufferInner>);

/// A user-mode lock structure (CRITICAL_SECTION, SRWLOCK, CONDITION_VARIABLE) at a stable
/// heap address: it is made in place behind an `Arc` and never moves, as Windows requires
/// of a structure a lock function has seen.
struct LockCell<L>(UnsafeCell<L>);

// SAFETY: the structure is read and written only by the Win32 lock functions, which are
// made to be called on one structure from any number of threads at once.
unsafe impl<L> Send for LockCell<L> {}
// SAFETY: as for Send.
unsafe impl<L> Sync for LockCell<L> {}

impl<L: Default> LockCell<L> {
    fn new() -> Arc<LockCell<L>> {
        // A zeroed structure: SRWLOCK_INIT and CONDITION_VARIABLE_INIT are all zeros; a
        // CRITICAL_SECTION is initialised by InitializeCriticalSection before use.
        Arc::new(LockCell(UnsafeCell::new(L::default())))
    }
}

impl<L> LockCell<L> {
    fn ptr(&self) -> *mut L {
        self.0.get()
    }
}

/// The native CRITICAL_SECTION: cloning gives the same one. The case deletes it before
/// the last clone goes (dropping it frees the memory only).
#[derive(Clone)]
pub struct NativeCriticalSection(Arc<LockCell<T::CRITICAL_SECTION>>);

/// The native SRWLOCK: cloning gives the same one.
#[derive(Clone)]
pub struct NativeSrwLock(Arc<LockCell<T::SRWLOCK>>);

/// The native CONDITION_VARIABLE: cloning gives the same one.
#[derive(Clone)]
pub struct NativeConditionVariable(Arc<LockCell<T::CONDITION_VARIABLE>>);

/// A thread's view of the real machine: the native backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeCtx;

fn raw(h: HANDLE) -> F::HANDLE {
    h.0 as F::HANDLE
}

fn ours(h: F::HANDLE) -> HANDLE {
    HANDLE(h as isize)
}

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn wide_opt(s: Option<&str>) -> Option<Vec<u16>> {
    s.map(wide)
}

fn pcwstr(s: &Option<Vec<u16>>) -> *const u16 {
    s.as_ref().map_or(std::ptr::null(), |v| v.as_ptr())
}

fn nt_sa(sa: Option<&SECURITY_ATTRIBUTES>) -> Option<NT_SA> {
    sa.map(|s| NT_SA {
        nLength: std::mem::size_of::<NT_SA>() as u32,
        lpSecurityDescriptor: std::ptr::null_mut(),
        bInheritHandle: s.bInheritHandle as i32,
    })
}

fn sa_ptr(sa: &Option<NT_SA>) -> *const NT_SA {
    sa.as_ref().map_or(std::ptr::null(), |s| s as *const NT_SA)
}

fn out_ptr(o: Option<&mut u32>) -> *mut u32 {
    o.map_or(std::ptr::null_mut(), |r| r as *mut u32)
}

/// Room for a socket address of any length a caller may claim (the kernel reads or writes
/// `namelen` bytes), holding an AF_INET address at its start.
#[repr(C, align(8))]
struct SaBuf([u8; 128]);

impl SaBuf {
    fn from(a: Option<&SOCKADDR_IN>) -> SaBuf {
        let mut b = SaBuf([0; 128]);
        if let Some(a) = a {
            b.0[0..2].copy_from_slice(&(a.sin_family as u16).to_le_bytes());
            b.0[2..4].copy_from_slice(&a.sin_port.to_ne_bytes());
            b.0[4..8].copy_from_slice(&a.sin_addr.s_addr.to_ne_bytes());
        }
        b
    }
    fn to_sockaddr(&self) -> SOCKADDR_IN {
        SOCKADDR_IN {
            sin_family: i16::from_le_bytes([self.0[0], self.0[1]]),
            sin_port: u16::from_ne_bytes([self.0[2], self.0[3]]),
            sin_addr: IN_ADDR { s_addr: u32::from_ne_bytes([self.0[4], self.0[5], self.0[6], self.0[7]]) },
        }
    }
    fn ptr(&self) -> *const WS::SOCKADDR {
        self.0.as_ptr() as *const WS::SOCKADDR
    }
    fn ptr_mut(&mut self) -> *mut WS::SOCKADDR {
        self.0.as_mut_ptr() as *mut WS::SOCKADDR
    }
}

fn sock(s: SOCKET) -> WS::SOCKET {
    s.0 as WS::SOCKET
}

fn our_sock(s: WS::SOCKET) -> SOCKET {
    HANDLE(s as isize)
}

/// A caller's length clamped to the buffer, for the kernel's reads and writes.
fn clamp_len(len: i32) -> i32 {
    len.min(128)
}

/// A `len` that claims more than `buf` holds is clamped to it.
fn buf_len(len: i32, buf: usize) -> i32 {
    len.min(i32::try_from(buf).unwrap_or(i32::MAX))
}

fn our_msg(m: &WM::MSG) -> MSG {
    MSG {
        hwnd: HWND(m.hwnd as isize),
        message: m.message,
        wParam: m.wParam,
        lParam: m.lParam,
        time: m.time,
        pt: POINT { x: m.pt.x, y: m.pt.y },
    }
}

fn native_msg(m: &MSG) -> WM::MSG {
    WM::MSG {
        hwnd: m.hwnd.0 as F::HWND,
        message: m.message,
        wParam: m.wParam,
        lParam: m.lParam,
        time: m.time,
        pt: F::POINT { x: m.pt.x, y: m.pt.y },
    }
}

fn hwnd_raw(h: HWND) -> F::HWND {
    h.0 as F::HWND
}

/// The procedures of the window classes this process registered, by class name (window
/// classes belong to the process, §17.P1). [`class_wndproc`] finds a window's here.
static CLASSES: Mutex<Vec<(String, WindowProc<NativeCtx>)>> = Mutex::new(Vec::new());

fn module() -> F::HINSTANCE {
    // SAFETY: NULL asks for the executable's own module; nothing is written.
    unsafe { windows_sys::Win32::System::LibraryLoader::GetModuleHandleW(std::ptr::null()) }
}

/// The one native window procedure of every class registered through [`Win32`]: it runs
/// the Rust procedure registered for the window's class on the calling thread (the
/// window's, as Windows calls it), and DefWindowProc for a class it does not know.
unsafe extern "system" fn class_wndproc(hwnd: F::HWND, msg: u32, w: WPARAM, l: LPARAM) -> LRESULT {
    let mut name = [0u16; 257];
    // SAFETY: the buffer holds 257 u16s; GetClassName writes at most 256 and a NUL.
    let n = unsafe { WM::GetClassNameW(hwnd, name.as_mut_ptr(), 257) };
    let class = String::from_utf16_lossy(&name[..n.max(0) as usize]);
    let proc = {
        let classes = CLASSES.lock().expect("class registry");
        classes.iter().find(|(c, _)| c.eq_ignore_ascii_case(&class)).map(|(_, p)| p.clone())
    };
    match proc {
        Some(p) => block_on(p(NativeCtx, HWND(hwnd as isize), msg, w, l)),
        // SAFETY: the arguments are the ones Windows passed in.
        None => unsafe { WM::DefWindowProcW(hwnd, msg, w, l) },
    }
}

/// What QueueUserAPC's argument points to: the routine and the caller's `data`.
type ApcBox = (ApcRoutine<NativeCtx>, usize);

/// The one native APC function of [`Win32::queue_user_apc`]: it takes back the box whose
/// address is its argument and runs the routine on this thread (the one the APC was
/// queued to, inside its alertable wait). An APC still queued when its thread ends is
/// discarded by Windows (§16.41) and its box is never freed: a leak of one small
/// allocation, which the cases never cause.
unsafe extern "system" fn user_apc(param: usize) {
    // SAFETY: `param` is the Box leaked by queue_user_apc, run exactly once (Windows calls
    // a queued APC once; a failed QueueUserAPC took the box back).
    let apc: Box<ApcBox> = unsafe { Box::from_raw(param as *mut ApcBox) };
    let (routine, data) = *apc;
    block_on(routine(NativeCtx, data));
}

thread_local! {
    /// The completion routines of this thread's pending ReadFileEx/WriteFileEx calls, by
    /// OVERLAPPED: Windows runs the routine on the issuing thread, so the table is the
    /// thread's own.
    static IO_ROUTINES: RefCell<Vec<(NativeOverlapped, IoCompletionRoutine<NativeCtx>)>> =
        const { RefCell::new(Vec::new()) };
    /// The completion routines of the waitable timers this thread set: alive as long as
    /// the thread, since Windows queues them to the setting thread at each expiry until
    /// the timer is cancelled, set again or closed (a timer set by a thread that ended is
    /// cancelled, §14.21).
    /// Boxed: the routine's argument is the address of a (fat) `Arc`, which must not move
    /// when the table grows.
    #[allow(clippy::vec_box)]
    static TIMER_ROUTINES: RefCell<Vec<Box<TimerRoutine<NativeCtx>>>> = const { RefCell::new(Vec::new()) };
}

/// The one native LPOVERLAPPED_COMPLETION_ROUTINE of [`Win32::read_file_ex`] and
/// [`Win32::write_file_ex`]: finds the routine of the OVERLAPPED in this thread's table.
unsafe extern "system" fn io_completion(code: u32, bytes: u32, ov: *mut IO::OVERLAPPED) {
    let found = IO_ROUTINES.with(|t| {
        let mut t = t.borrow_mut();
        let at = t.iter().position(|(o, _)| o.ptr() == ov)?;
        Some(t.remove(at))
    });
    if let Some((o, routine)) = found {
        block_on(routine(NativeCtx, code, bytes, o));
    }
}

/// The one native LPWSAOVERLAPPED_COMPLETION_ROUTINE of [`Win32::wsa_recv`] and
/// [`Win32::wsa_send`]: the routine of the OVERLAPPED in this thread's table (dwFlags is
/// not passed on).
unsafe extern "system" fn wsa_completion(code: u32, bytes: u32, ov: *mut IO::OVERLAPPED, _flags: u32) {
    // SAFETY: the same contract as io_completion's (an OVERLAPPED of this thread's table).
    unsafe { io_completion(code, bytes, ov) }
}

/// The one native PTIMERAPCROUTINE: its argument is a timer routine of this thread's
/// [`TIMER_ROUTINES`].
unsafe extern "system" fn timer_apc(arg: *const c_void, low: u32, high: u32) {
    // SAFETY: `arg` points to a Box kept in TIMER_ROUTINES for the thread's lifetime, and
    // the APC runs on that thread.
    let routine: TimerRoutine<NativeCtx> = unsafe { (*(arg as *const TimerRoutine<NativeCtx>)).clone() };
    block_on(routine(NativeCtx, low, high));
}

/// What SendMessageCallback's dwData points to when there is a callback: the callback and
/// the caller's own dwData.
type CallbackBox = (SendAsyncProc<NativeCtx>, usize);

/// The one native SENDASYNCPROC of [`Win32::send_message_callback`]: it takes back the box
/// whose address is its dwData and runs the callback on this thread (the sender's, inside
/// its GetMessage or PeekMessage, or inside SendMessageCallback itself for a window of
/// this thread). A callback that never runs (its receiver ended without answering) leaks
/// its box, which the cases never cause.
unsafe extern "system" fn send_async(hwnd: F::HWND, msg: u32, data: usize, result: LRESULT) {
    // SAFETY: `data` is the Box leaked by send_message_callback; Windows calls the
    // callback once per successful SendMessageCallback.
    let b: Box<CallbackBox> = unsafe { Box::from_raw(data as *mut CallbackBox) };
    let (callback, data) = *b;
    block_on(callback(NativeCtx, HWND(hwnd as isize), msg, data, result));
}

/// The TIMERPROCs set through [`Win32::set_timer_with_proc`], by window and timer id: a
/// TIMERPROC gets no argument of the caller's, so [`timer_proc`] finds its Rust procedure
/// here.
#[allow(clippy::type_complexity)]
static TIMER_PROCS: Mutex<Vec<((isize, usize), TimerProc<NativeCtx>)>> = Mutex::new(Vec::new());

fn forget_timer_proc(hwnd: HWND, id: usize) {
    TIMER_PROCS.lock().expect("timer procs").retain(|(k, _)| *k != (hwnd.0, id));
}

/// The one native TIMERPROC: runs the procedure set for this window and timer id (none:
/// nothing, as for a timer killed since).
unsafe extern "system" fn timer_proc(hwnd: F::HWND, msg: u32, id: usize, time: u32) {
    let key = (hwnd as isize, id);
    let proc = TIMER_PROCS.lock().expect("timer procs").iter().find(|(k, _)| *k == key).map(|(_, p)| p.clone());
    if let Some(p) = proc {
        block_on(p(NativeCtx, HWND(hwnd as isize), msg, id, time));
    }
}

/// ConnectEx, found once with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) on a socket
/// made for the purpose (Winsock must be started).
fn connect_ex_fn() -> WS::LPFN_CONNECTEX {
    static FOUND: OnceLock<WS::LPFN_CONNECTEX> = OnceLock::new();
    if let Some(&f) = FOUND.get() {
        return f;
    }
    // SAFETY: no arguments.
    let saved = unsafe { F::GetLastError() };
    // SAFETY: no pointers.
    let s = unsafe { WS::socket(WS::AF_INET as i32, WS::SOCK_STREAM, WS::IPPROTO_TCP) };
    let mut f: WS::LPFN_CONNECTEX = None;
    if s != WS::INVALID_SOCKET {
        let guid = WS::WSAID_CONNECTEX;
        let mut n = 0u32;
        // SAFETY: the GUID and the out buffer (one function pointer, which an
        // Option<fn> is laid out as) live across the call.
        let r = unsafe {
            WS::WSAIoctl(
                s,
                WS::SIO_GET_EXTENSION_FUNCTION_POINTER,
                &guid as *const _ as *const c_void,
                std::mem::size_of_val(&guid) as u32,
                &mut f as *mut WS::LPFN_CONNECTEX as *mut c_void,
                std::mem::size_of::<WS::LPFN_CONNECTEX>() as u32,
                &mut n,
                std::ptr::null_mut(),
                None,
            )
        };
        if r != 0 {
            f = None;
        }
        // SAFETY: the socket made above.
        unsafe { WS::closesocket(s) };
    }
    if f.is_some() {
        let _ = FOUND.set(f);
    }
    // SAFETY: no pointers.
    unsafe { F::SetLastError(saved) };
    f
}

/// A SOCKADDR_IN read from the address GetAcceptExSockaddrs gave.
fn sockaddr_at(p: *const WS::SOCKADDR, len: i32) -> Option<SOCKADDR_IN> {
    if p.is_null() || len < 8 {
        return None;
    }
    let mut b = SaBuf([0; 128]);
    // SAFETY: GetAcceptExSockaddrs points into the AcceptEx buffer, at an address of
    // `len` (at least 8) bytes; 8 are copied.
    unsafe { std::ptr::copy_nonoverlapping(p as *const u8, b.0.as_mut_ptr(), 8) };
    Some(b.to_sockaddr())
}

type Start = Box<dyn FnOnce() -> u32 + Send>;

unsafe extern "system" fn thread_start(param: *mut c_void) -> u32 {
    // SAFETY: `param` is the Box leaked by create_thread, given to exactly one thread.
    let start: Box<Start> = unsafe { Box::from_raw(param as *mut Start) };
    start()
}

impl Win32 for NativeCtx {
    fn get_last_error(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { F::GetLastError() }
    }
    fn set_last_error(&self, code: u32) {
        // SAFETY: no pointers.
        unsafe { F::SetLastError(code) }
    }
    fn get_current_process(&self) -> HANDLE {
        // SAFETY: no arguments.
        ours(unsafe { T::GetCurrentProcess() })
    }
    fn get_current_process_id(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { T::GetCurrentProcessId() }
    }
    fn get_command_line(&self) -> String {
        program_command_line().unwrap_or_default()
    }

    async fn create_pipe(
        &self,
        read_pipe: &mut HANDLE,
        write_pipe: &mut HANDLE,
        pipe_attributes: Option<&SECURITY_ATTRIBUTES>,
        size: u32,
    ) -> BOOL {
        let sa = nt_sa(pipe_attributes);
        let (mut r, mut w): (F::HANDLE, F::HANDLE) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: out pointers to locals, `sa` lives across the call.
        let ok = unsafe { P::CreatePipe(&mut r, &mut w, sa_ptr(&sa), size) };
        if ok != 0 {
            *read_pipe = ours(r);
            *write_pipe = ours(w);
        }
        ok
    }
    async fn read_file(&self, h_file: HANDLE, buffer: &mut [u8], bytes_read: Option<&mut u32>) -> BOOL {
        let len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
        // SAFETY: `buffer` holds `len` bytes; no OVERLAPPED.
        unsafe { FS::ReadFile(raw(h_file), buffer.as_mut_ptr(), len, out_ptr(bytes_read), std::ptr::null_mut()) }
    }
    async fn write_file(&self, h_file: HANDLE, buffer: &[u8], bytes_written: Option<&mut u32>) -> BOOL {
        let len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
        // SAFETY: `buffer` holds `len` bytes; no OVERLAPPED.
        unsafe { FS::WriteFile(raw(h_file), buffer.as_ptr(), len, out_ptr(bytes_written), std::ptr::null_mut()) }
    }
    async fn peek_named_pipe(
        &self,
        h_named_pipe: HANDLE,
        buffer: Option<&mut [u8]>,
        bytes_read: Option<&mut u32>,
        total_bytes_avail: Option<&mut u32>,
        bytes_left_this_message: Option<&mut u32>,
    ) -> BOOL {
        let (ptr, len) = match buffer {
            Some(b) => (b.as_mut_ptr() as *mut c_void, u32::try_from(b.len()).unwrap_or(u32::MAX)),
            None => (std::ptr::null_mut(), 0),
        };
        // SAFETY: `ptr` holds `len` bytes or is NULL with 0; out pointers are live.
        unsafe {
            P::PeekNamedPipe(
                raw(h_named_pipe),
                ptr,
                len,
                out_ptr(bytes_read),
                out_ptr(total_bytes_avail),
                out_ptr(bytes_left_this_message),
            )
        }
    }
    async fn flush_file_buffers(&self, h_file: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { FS::FlushFileBuffers(raw(h_file)) }
    }
    async fn close_handle(&self, h_object: HANDLE) -> BOOL {
        // SAFETY: no pointers (a bad handle fails with ERROR_INVALID_HANDLE).
        unsafe { F::CloseHandle(raw(h_object)) }
    }
    async fn duplicate_handle(
        &self,
        source_process_handle: HANDLE,
        source_handle: HANDLE,
        target_process_handle: HANDLE,
        target_handle: &mut HANDLE,
        desired_access: u32,
        inherit_handle: bool,
        options: u32,
    ) -> BOOL {
        let mut t: F::HANDLE = std::ptr::null_mut();
        // SAFETY: out pointer to a local.
        let ok = unsafe {
            F::DuplicateHandle(
                raw(source_process_handle),
                raw(source_handle),
                raw(target_process_handle),
                &mut t,
                desired_access,
                inherit_handle as i32,
                options,
            )
        };
        *target_handle = ours(t);
        ok
    }
    async fn set_handle_information(&self, h_object: HANDLE, mask: u32, flags: u32) -> BOOL {
        // SAFETY: no pointers.
        unsafe { F::SetHandleInformation(raw(h_object), mask, flags) }
    }

    async fn create_event(
        &self,
        event_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        initial_state: bool,
        name: Option<&str>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(event_attributes), wide_opt(name));
        // SAFETY: `sa` and `name` live across the call.
        ours(unsafe { T::CreateEventW(sa_ptr(&sa), manual_reset as i32, initial_state as i32, pcwstr(&name)) })
    }
    async fn set_event(&self, h_event: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { T::SetEvent(raw(h_event)) }
    }
    async fn reset_event(&self, h_event: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { T::ResetEvent(raw(h_event)) }
    }
    async fn create_mutex(
        &self,
        mutex_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_owner: bool,
        name: Option<&str>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(mutex_attributes), wide_opt(name));
        // SAFETY: `sa` and `name` live across the call.
        ours(unsafe { T::CreateMutexW(sa_ptr(&sa), initial_owner as i32, pcwstr(&name)) })
    }
    async fn release_mutex(&self, h_mutex: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { T::ReleaseMutex(raw(h_mutex)) }
    }
    async fn create_semaphore(
        &self,
        semaphore_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_count: i32,
        maximum_count: i32,
        name: Option<&str>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(semaphore_attributes), wide_opt(name));
        // SAFETY: `sa` and `name` live across the call.
        ours(unsafe { T::CreateSemaphoreW(sa_ptr(&sa), initial_count, maximum_count, pcwstr(&name)) })
    }
    async fn release_semaphore(
        &self,
        h_semaphore: HANDLE,
        release_count: i32,
        previous_count: Option<&mut i32>,
    ) -> BOOL {
        let p = previous_count.map_or(std::ptr::null_mut(), |r| r as *mut i32);
        // SAFETY: `p` is NULL or a live reference.
        unsafe { T::ReleaseSemaphore(raw(h_semaphore), release_count, p) }
    }

    async fn wait_for_single_object(&self, h_handle: HANDLE, milliseconds: u32) -> u32 {
        // SAFETY: no pointers.
        unsafe { T::WaitForSingleObject(raw(h_handle), milliseconds) }
    }
    async fn wait_for_multiple_objects(&self, handles: &[HANDLE], wait_all: bool, milliseconds: u32) -> u32 {
        let raw_handles: Vec<F::HANDLE> = handles.iter().map(|&h| raw(h)).collect();
        let ptr = if raw_handles.is_empty() { std::ptr::null() } else { raw_handles.as_ptr() };
        // SAFETY: `ptr` holds `len` handles (or is NULL with 0).
        unsafe { T::WaitForMultipleObjects(raw_handles.len() as u32, ptr, wait_all as i32, milliseconds) }
    }
    async fn sleep(&self, milliseconds: u32) {
        // SAFETY: no pointers.
        unsafe { T::Sleep(milliseconds) }
    }

    async fn create_thread<Fs, Fut>(
        &self,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        stack_size: usize,
        start: Fs,
        creation_flags: u32,
        thread_id: Option<&mut u32>,
    ) -> HANDLE
    where
        Fs: FnOnce(Self) -> Fut + Send + 'static,
        Fut: Future<Output = u32> + 'static,
    {
        let sa = nt_sa(thread_attributes);
        let body: Start = Box::new(move || block_on(start(NativeCtx)));
        let param = Box::into_raw(Box::new(body)) as *const c_void;
        // SAFETY: `param` is a leaked Box<Start> the new thread takes back; on failure
        // no thread took it and it is freed here.
        let h = unsafe {
            T::CreateThread(sa_ptr(&sa), stack_size, Some(thread_start), param, creation_flags, out_ptr(thread_id))
        };
        if h.is_null() {
            // SAFETY: the thread was not created, so `param` is still ours.
            drop(unsafe { Box::from_raw(param as *mut Start) });
        }
        ours(h)
    }
    async fn get_exit_code_thread(&self, h_thread: HANDLE, exit_code: &mut u32) -> BOOL {
        // SAFETY: out pointer to a live reference.
        unsafe { T::GetExitCodeThread(raw(h_thread), exit_code) }
    }

    async fn create_named_pipe(
        &self,
        name: &str,
        open_mode: u32,
        pipe_mode: u32,
        max_instances: u32,
        out_buffer_size: u32,
        in_buffer_size: u32,
        default_time_out: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(security_attributes), wide(name));
        // SAFETY: `sa` and `name` live across the call.
        ours(unsafe {
            P::CreateNamedPipeW(
                name.as_ptr(),
                open_mode,
                pipe_mode,
                max_instances,
                out_buffer_size,
                in_buffer_size,
                default_time_out,
                sa_ptr(&sa),
            )
        })
    }
    async fn connect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL {
        // SAFETY: no OVERLAPPED.
        unsafe { P::ConnectNamedPipe(raw(h_named_pipe), std::ptr::null_mut()) }
    }
    async fn disconnect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { P::DisconnectNamedPipe(raw(h_named_pipe)) }
    }
    async fn wait_named_pipe(&self, name: &str, time_out: u32) -> BOOL {
        let name = wide(name);
        // SAFETY: `name` lives across the call.
        unsafe { P::WaitNamedPipeW(name.as_ptr(), time_out) }
    }
    async fn create_file(
        &self,
        file_name: &str,
        desired_access: u32,
        share_mode: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
        creation_disposition: u32,
        flags_and_attributes: u32,
        template_file: HANDLE,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(security_attributes), wide(file_name));
        // SAFETY: `sa` and `name` live across the call.
        ours(unsafe {
            FS::CreateFileW(
                name.as_ptr(),
                desired_access,
                share_mode,
                sa_ptr(&sa),
                creation_disposition,
                flags_and_attributes,
                raw(template_file),
            )
        })
    }
    async fn set_named_pipe_handle_state(
        &self,
        h_named_pipe: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> BOOL {
        let p = |o: &Option<u32>| o.as_ref().map_or(std::ptr::null(), |v| v as *const u32);
        // SAFETY: each pointer is NULL or points at a live local.
        unsafe {
            P::SetNamedPipeHandleState(raw(h_named_pipe), p(&mode), p(&max_collection_count), p(&collect_data_timeout))
        }
    }

    async fn create_process(
        &self,
        command_line: &str,
        process_attributes: Option<&SECURITY_ATTRIBUTES>,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        inherit_handles: bool,
        creation_flags: u32,
        startup_info: &STARTUPINFO,
        process_information: &mut PROCESS_INFORMATION,
    ) -> BOOL {
        // The registry stands for the file system: an unknown program is not found.
        let name = command_line.split_whitespace().next().unwrap_or("");
        if find_program(name).is_none() {
            self.set_last_error(ERROR_FILE_NOT_FOUND.0);
            return FALSE;
        }
        let Ok(exe) = std::env::current_exe() else {
            self.set_last_error(ERROR_FILE_NOT_FOUND.0);
            return FALSE;
        };
        let mut cmd = wide(&format!("\"{}\" {PROGRAM_FLAG} {command_line}", exe.display()));
        let (psa, tsa) = (nt_sa(process_attributes), nt_sa(thread_attributes));
        let si = T::STARTUPINFOW {
            cb: std::mem::size_of::<T::STARTUPINFOW>() as u32,
            dwFlags: startup_info.dwFlags,
            hStdInput: raw(startup_info.hStdInput),
            hStdOutput: raw(startup_info.hStdOutput),
            hStdError: raw(startup_info.hStdError),
            ..Default::default()
        };
        let mut pi = T::PROCESS_INFORMATION::default();
        // SAFETY: every pointer is to a live local; `cmd` is writable as CreateProcessW needs.
        let ok = unsafe {
            T::CreateProcessW(
                std::ptr::null(),
                cmd.as_mut_ptr(),
                sa_ptr(&psa),
                sa_ptr(&tsa),
                inherit_handles as i32,
                creation_flags,
                std::ptr::null(),
                std::ptr::null(),
                &si,
                &mut pi,
            )
        };
        if ok != 0 {
            *process_information = PROCESS_INFORMATION {
                hProcess: ours(pi.hProcess),
                hThread: ours(pi.hThread),
                dwProcessId: pi.dwProcessId,
                dwThreadId: pi.dwThreadId,
            };
        }
        ok
    }
    async fn get_exit_code_process(&self, h_process: HANDLE, exit_code: &mut u32) -> BOOL {
        // SAFETY: out pointer to a live reference.
        unsafe { T::GetExitCodeProcess(raw(h_process), exit_code) }
    }
    async fn create_mailslot(
        &self,
        name: Option<&str>,
        max_message_size: u32,
        read_timeout: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(security_attributes), wide_opt(name));
        // SAFETY: `sa` and `name` live across the call; a `None` name is NULL.
        ours(unsafe { M::CreateMailslotW(pcwstr(&name), max_message_size, read_timeout, sa_ptr(&sa)) })
    }
    async fn get_mailslot_info(
        &self,
        h_mailslot: HANDLE,
        max_message_size: Option<&mut u32>,
        next_size: Option<&mut u32>,
        message_count: Option<&mut u32>,
        read_timeout: Option<&mut u32>,
    ) -> BOOL {
        // SAFETY: each out pointer is a live reference or NULL.
        unsafe {
            M::GetMailslotInfo(
                raw(h_mailslot),
                out_ptr(max_message_size),
                out_ptr(next_size),
                out_ptr(message_count),
                out_ptr(read_timeout),
            )
        }
    }
    async fn set_mailslot_info(&self, h_mailslot: HANDLE, read_timeout: u32) -> BOOL {
        // SAFETY: no pointers.
        unsafe { M::SetMailslotInfo(raw(h_mailslot), read_timeout) }
    }
    async fn create_file_mapping(
        &self,
        h_file: HANDLE,
        file_mapping_attributes: Option<&SECURITY_ATTRIBUTES>,
        fl_protect: u32,
        maximum_size_high: u32,
        maximum_size_low: u32,
        name: Option<&str>,
    ) -> HANDLE {
        let (sa, name) = (nt_sa(file_mapping_attributes), wide_opt(name));
        // SAFETY: `sa` and `name` live across the call; a `None` name is NULL.
        ours(unsafe {
            Mem::CreateFileMappingW(
                raw(h_file),
                sa_ptr(&sa),
                fl_protect,
                maximum_size_high,
                maximum_size_low,
                pcwstr(&name),
            )
        })
    }
    async fn open_file_mapping(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        let name = wide_opt(name);
        // SAFETY: `name` lives across the call; a `None` name is NULL.
        ours(unsafe { Mem::OpenFileMappingW(desired_access, inherit_handle as i32, pcwstr(&name)) })
    }
    async fn map_view_of_file(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
    ) -> usize {
        // SAFETY: no pointers in; the address out is only ever used through
        // read_memory/write_memory, which a program aims at what it mapped.
        let v = unsafe {
            Mem::MapViewOfFile(
                raw(h_file_mapping_object),
                desired_access,
                file_offset_high,
                file_offset_low,
                number_of_bytes_to_map,
            )
        };
        v.Value as usize
    }
    async fn map_view_of_file_ex(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
        base_address: usize,
    ) -> usize {
        // SAFETY: the base is an address hint the kernel checks; nothing is dereferenced.
        let v = unsafe {
            Mem::MapViewOfFileEx(
                raw(h_file_mapping_object),
                desired_access,
                file_offset_high,
                file_offset_low,
                number_of_bytes_to_map,
                base_address as *const c_void,
            )
        };
        v.Value as usize
    }
    async fn unmap_view_of_file(&self, base_address: usize) -> BOOL {
        let v = Mem::MEMORY_MAPPED_VIEW_ADDRESS { Value: base_address as *mut c_void };
        // SAFETY: the kernel checks the address (ERROR_INVALID_ADDRESS for no view); the
        // program no longer touches the view's memory after this call.
        unsafe { Mem::UnmapViewOfFile(v) }
    }
    async fn flush_view_of_file(&self, base_address: usize, number_of_bytes_to_flush: usize) -> BOOL {
        // SAFETY: the kernel checks the range; nothing is dereferenced here.
        unsafe { Mem::FlushViewOfFile(base_address as *const c_void, number_of_bytes_to_flush) }
    }
    async fn read_memory(&self, address: usize, buffer: &mut [u8]) {
        if buffer.is_empty() {
            return;
        }
        // SAFETY: the trait's contract: `address..address + len` is memory the program
        // mapped or committed readable (a view, a VirtualAlloc). Other threads and
        // processes may write it concurrently only where the program synchronises, as
        // with any shared memory; the copy is bytewise, like the simulator's read.
        unsafe { std::ptr::copy_nonoverlapping(address as *const u8, buffer.as_mut_ptr(), buffer.len()) }
    }
    async fn write_memory(&self, address: usize, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        // SAFETY: as read_memory, for memory the program mapped or committed writable;
        // it is never memory Rust owns, so no Rust reference aliases it.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), address as *mut u8, data.len()) }
    }
    async fn interlocked_increment(&self, addend: usize) -> i32 {
        // SAFETY: the trait's contract: a 4-byte aligned LONG in memory the program
        // mapped or committed writable, accessed by other threads only atomically.
        let a = unsafe { std::sync::atomic::AtomicI32::from_ptr(addend as *mut i32) };
        a.fetch_add(1, std::sync::atomic::Ordering::SeqCst).wrapping_add(1)
    }
    async fn interlocked_compare_exchange(&self, destination: usize, exchange: i32, comparand: i32) -> i32 {
        // SAFETY: as interlocked_increment.
        let a = unsafe { std::sync::atomic::AtomicI32::from_ptr(destination as *mut i32) };
        use std::sync::atomic::Ordering::SeqCst;
        match a.compare_exchange(comparand, exchange, SeqCst, SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }
    async fn virtual_alloc(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_allocation_type: u32,
        fl_protect: u32,
    ) -> usize {
        // SAFETY: the address is a hint the kernel checks; nothing is dereferenced.
        (unsafe { Mem::VirtualAlloc(lp_address as *const c_void, dw_size, fl_allocation_type, fl_protect) }) as usize
    }
    async fn virtual_free(&self, lp_address: usize, dw_size: usize, dw_free_type: u32) -> BOOL {
        // SAFETY: the kernel checks the range; the program no longer touches freed pages.
        unsafe { Mem::VirtualFree(lp_address as *mut c_void, dw_size, dw_free_type) }
    }
    async fn virtual_query(
        &self,
        lp_address: usize,
        lp_buffer: &mut MEMORY_BASIC_INFORMATION,
        dw_length: usize,
    ) -> usize {
        let mut m = Mem::MEMORY_BASIC_INFORMATION::default();
        let len = dw_length.min(std::mem::size_of::<Mem::MEMORY_BASIC_INFORMATION>());
        // SAFETY: `m` is a live local of at least `len` bytes.
        let n = unsafe { Mem::VirtualQuery(lp_address as *const c_void, &mut m, len) };
        if n != 0 {
            *lp_buffer = MEMORY_BASIC_INFORMATION {
                BaseAddress: m.BaseAddress as usize,
                AllocationBase: m.AllocationBase as usize,
                AllocationProtect: m.AllocationProtect,
                PartitionId: m.PartitionId,
                RegionSize: m.RegionSize,
                State: m.State,
                Protect: m.Protect,
                Type: m.Type,
            };
        }
        n
    }
    async fn virtual_protect(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_new_protect: u32,
        lpfl_old_protect: &mut u32,
    ) -> BOOL {
        // SAFETY: the kernel checks the range; the out pointer is a live reference.
        unsafe { Mem::VirtualProtect(lp_address as *const c_void, dw_size, fl_new_protect, lpfl_old_protect) }
    }

    async fn set_file_pointer(
        &self,
        h_file: HANDLE,
        distance_to_move: i32,
        distance_to_move_high: Option<&mut i32>,
        move_method: u32,
    ) -> u32 {
        let high = distance_to_move_high.map_or(std::ptr::null_mut(), |r| r as *mut i32);
        // SAFETY: `high` is NULL or a live reference.
        unsafe { FS::SetFilePointer(raw(h_file), distance_to_move, high, move_method) }
    }
    async fn set_file_pointer_ex(
        &self,
        h_file: HANDLE,
        distance_to_move: i64,
        new_file_pointer: Option<&mut i64>,
        move_method: u32,
    ) -> BOOL {
        let out = new_file_pointer.map_or(std::ptr::null_mut(), |r| r as *mut i64);
        // SAFETY: `out` is NULL or a live reference.
        unsafe { FS::SetFilePointerEx(raw(h_file), distance_to_move, out, move_method) }
    }
    async fn set_end_of_file(&self, h_file: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { FS::SetEndOfFile(raw(h_file)) }
    }
    async fn get_file_size(&self, h_file: HANDLE, file_size_high: Option<&mut u32>) -> u32 {
        // SAFETY: the out pointer is NULL or a live reference.
        unsafe { FS::GetFileSize(raw(h_file), out_ptr(file_size_high)) }
    }
    async fn get_file_size_ex(&self, h_file: HANDLE, file_size: Option<&mut i64>) -> BOOL {
        let out = file_size.map_or(std::ptr::null_mut(), |r| r as *mut i64);
        // SAFETY: `out` is NULL or a live reference.
        unsafe { FS::GetFileSizeEx(raw(h_file), out) }
    }
    async fn get_file_type(&self, h_file: HANDLE) -> u32 {
        // SAFETY: no pointers.
        unsafe { FS::GetFileType(raw(h_file)) }
    }
    async fn delete_file(&self, file_name: &str) -> BOOL {
        let name = wide(file_name);
        // SAFETY: `name` lives across the call.
        unsafe { FS::DeleteFileW(name.as_ptr()) }
    }
    async fn create_directory(&self, path_name: &str, security_attributes: Option<&SECURITY_ATTRIBUTES>) -> BOOL {
        let (sa, name) = (nt_sa(security_attributes), wide(path_name));
        // SAFETY: `sa` and `name` live across the call.
        unsafe { FS::CreateDirectoryW(name.as_ptr(), sa_ptr(&sa)) }
    }
    async fn remove_directory(&self, path_name: &str) -> BOOL {
        let name = wide(path_name);
        // SAFETY: `name` lives across the call.
        unsafe { FS::RemoveDirectoryW(name.as_ptr()) }
    }
    type Overlapped = NativeOverlapped;
    type IoBuffer = NativeIoBuffer;
    fn new_overlapped(&self, h_event: HANDLE) -> NativeOverlapped {
        let ov = IO::OVERLAPPED { hEvent: raw(h_event), ..Default::default() };
        let o = Arc::new(OverlappedInner { ov: UnsafeCell::new(ov), write_data: Mutex::new(Box::new([])) });
        OVERLAPPEDS.lock().expect("overlapped registry").push(Arc::downgrade(&o));
        NativeOverlapped(o)
    }
    fn new_io_buffer(&self, len: usize) -> NativeIoBuffer {
        let b: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        let ptr = Box::into_raw(b) as *mut u8;
        NativeIoBuffer(Arc::new(IoBufferInner { ptr, len }))
    }
    fn io_buffer_head(&self, buffer: &NativeIoBuffer, n: usize) -> Vec<u8> {
        let n = n.min(buffer.0.len);
        // SAFETY: `ptr` holds `len` bytes; the program reads them after the operation
        // that filled them completed, so the kernel no longer writes them.
        unsafe { std::slice::from_raw_parts(buffer.0.ptr, n).to_vec() }
    }
    fn has_overlapped_io_completed(&self, overlapped: &NativeOverlapped) -> bool {
        // SAFETY: a volatile read of the field the kernel writes at completion.
        let internal = unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*overlapped.ptr()).Internal)) };
        internal != 0x103 // STATUS_PENDING
    }
    fn same_overlapped(&self, a: &NativeOverlapped, b: &NativeOverlapped) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
    async fn read_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &NativeIoBuffer,
        bytes_read: Option<&mut u32>,
        overlapped: &NativeOverlapped,
    ) -> BOOL {
        let len = u32::try_from(buffer.0.len).unwrap_or(u32::MAX);
        // SAFETY: the buffer and the OVERLAPPED are heap allocations that live as long as
        // a clone of them does; the program keeps them until the operation completed.
        unsafe { FS::ReadFile(raw(h_file), buffer.0.ptr, len, out_ptr(bytes_read), overlapped.ptr()) }
    }
    async fn write_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        bytes_written: Option<&mut u32>,
        overlapped: &NativeOverlapped,
    ) -> BOOL {
        let mut keep = overlapped.0.write_data.lock().expect("write data");
        *keep = buffer.to_vec().into_boxed_slice();
        let len = u32::try_from(keep.len()).unwrap_or(u32::MAX);
        // SAFETY: the bytes live in the OVERLAPPED's own storage until its next write, so
        // a pending write reads live memory; the OVERLAPPED outlives the operation.
        unsafe { FS::WriteFile(raw(h_file), keep.as_ptr(), len, out_ptr(bytes_written), overlapped.ptr()) }
    }
    async fn connect_named_pipe_overlapped(&self, h_named_pipe: HANDLE, overlapped: &NativeOverlapped) -> BOOL {
        // SAFETY: the OVERLAPPED outlives the operation.
        unsafe { P::ConnectNamedPipe(raw(h_named_pipe), overlapped.ptr()) }
    }
    async fn get_overlapped_result(
        &self,
        h_file: HANDLE,
        overlapped: &NativeOverlapped,
        number_of_bytes_transferred: &mut u32,
        wait: bool,
    ) -> BOOL {
        // SAFETY: the OVERLAPPED is live; the out pointer is a live reference.
        unsafe { IO::GetOverlappedResult(raw(h_file), overlapped.ptr(), number_of_bytes_transferred, wait as i32) }
    }
    async fn cancel_io(&self, h_file: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { IO::CancelIo(raw(h_file)) }
    }
    async fn cancel_io_ex(&self, h_file: HANDLE, overlapped: Option<&NativeOverlapped>) -> BOOL {
        let p = overlapped.map_or(std::ptr::null(), |o| o.ptr() as *const IO::OVERLAPPED);
        // SAFETY: `p` is NULL or a live OVERLAPPED.
        unsafe { IO::CancelIoEx(raw(h_file), p) }
    }
    async fn create_io_completion_port(
        &self,
        file_handle: HANDLE,
        existing_completion_port: HANDLE,
        completion_key: usize,
        number_of_concurrent_threads: u32,
    ) -> HANDLE {
        // SAFETY: no pointers.
        ours(unsafe {
            IO::CreateIoCompletionPort(
                raw(file_handle),
                raw(existing_completion_port),
                completion_key,
                number_of_concurrent_threads,
            )
        })
    }
    async fn get_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: &mut u32,
        completion_key: &mut usize,
        overlapped: &mut Option<NativeOverlapped>,
        milliseconds: u32,
    ) -> BOOL {
        let mut p: *mut IO::OVERLAPPED = std::ptr::null_mut();
        // SAFETY: out pointers to live references and a local.
        let ok = unsafe {
            IO::GetQueuedCompletionStatus(
                raw(completion_port),
                number_of_bytes_transferred,
                completion_key,
                &mut p,
                milliseconds,
            )
        };
        *overlapped = overlapped_at(p);
        ok
    }
    async fn post_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: u32,
        completion_key: usize,
        overlapped: Option<&NativeOverlapped>,
    ) -> BOOL {
        let p = overlapped.map_or(std::ptr::null(), |o| o.ptr() as *const IO::OVERLAPPED);
        // SAFETY: `p` is NULL or a live OVERLAPPED, handed back by the port as an address.
        unsafe { IO::PostQueuedCompletionStatus(raw(completion_port), number_of_bytes_transferred, completion_key, p) }
    }
    async fn wsa_startup(&self, w_version_requested: u16, lp_wsa_data: Option<&mut WSADATA>) -> i32 {
        let mut d = WS::WSADATA::default();
        // SAFETY: an out pointer to a local.
        let r = unsafe { WS::WSAStartup(w_version_requested, &mut d) };
        if let (0, Some(out)) = (r, lp_wsa_data) {
            *out = WSADATA { wVersion: d.wVersion, wHighVersion: d.wHighVersion };
        }
        r
    }
    async fn wsa_cleanup(&self) -> i32 {
        // SAFETY: no arguments.
        unsafe { WS::WSACleanup() }
    }
    fn wsa_get_last_error(&self) -> i32 {
        // SAFETY: no arguments.
        unsafe { WS::WSAGetLastError() }
    }
    async fn socket(&self, af: i32, ty: i32, protocol: i32) -> SOCKET {
        // SAFETY: no pointers.
        our_sock(unsafe { WS::socket(af, ty, protocol) })
    }
    async fn bind(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        let b = SaBuf::from(name);
        let p = if name.is_some() { b.ptr() } else { std::ptr::null() };
        // SAFETY: `p` is NULL or 128 readable bytes, and the length is clamped to them.
        unsafe { WS::bind(sock(s), p, clamp_len(namelen)) }
    }
    async fn listen(&self, s: SOCKET, backlog: i32) -> i32 {
        // SAFETY: no pointers.
        unsafe { WS::listen(sock(s), backlog) }
    }
    async fn accept(&self, s: SOCKET, addr: Option<&mut SOCKADDR_IN>, addrlen: Option<&mut i32>) -> SOCKET {
        let mut b = SaBuf::from(None);
        let mut len = addrlen.as_ref().map_or(0, |l| clamp_len(**l));
        let (pa, pl) = match (&addr, &addrlen) {
            (Some(_), Some(_)) => (b.ptr_mut(), &mut len as *mut i32),
            (Some(_), None) => (b.ptr_mut(), std::ptr::null_mut()),
            (None, Some(_)) => (std::ptr::null_mut(), &mut len as *mut i32),
            (None, None) => (std::ptr::null_mut(), std::ptr::null_mut()),
        };
        // SAFETY: each pointer is NULL or points at a live local of the size claimed.
        let r = unsafe { WS::accept(sock(s), pa, pl) };
        if r != WS::INVALID_SOCKET {
            if let Some(a) = addr {
                *a = b.to_sockaddr();
            }
            if let Some(l) = addrlen {
                *l = len;
            }
        }
        our_sock(r)
    }
    async fn connect(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        let b = SaBuf::from(name);
        let p = if name.is_some() { b.ptr() } else { std::ptr::null() };
        // SAFETY: `p` is NULL or 128 readable bytes, and the length is clamped to them.
        unsafe { WS::connect(sock(s), p, clamp_len(namelen)) }
    }
    async fn recv(&self, s: SOCKET, buf: &mut [u8], len: i32, flags: i32) -> i32 {
        // SAFETY: `buf` holds at least the clamped length.
        unsafe { WS::recv(sock(s), buf.as_mut_ptr(), buf_len(len, buf.len()), flags) }
    }
    async fn recvfrom(
        &self,
        s: SOCKET,
        buf: &mut [u8],
        len: i32,
        flags: i32,
        from: Option<&mut SOCKADDR_IN>,
        fromlen: Option<&mut i32>,
    ) -> i32 {
        let mut b = SaBuf::from(None);
        let mut flen = fromlen.as_ref().map_or(0, |l| clamp_len(**l));
        let pa = if from.is_some() { b.ptr_mut() } else { std::ptr::null_mut() };
        let pl = if fromlen.is_some() { &mut flen as *mut i32 } else { std::ptr::null_mut() };
        // SAFETY: `buf` holds the clamped length; the address pointers are NULL or locals.
        let r = unsafe { WS::recvfrom(sock(s), buf.as_mut_ptr(), buf_len(len, buf.len()), flags, pa, pl) };
        if r >= 0 {
            if let Some(a) = from {
                *a = b.to_sockaddr();
            }
            if let Some(l) = fromlen {
                *l = flen;
            }
        }
        r
    }
    async fn send(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32) -> i32 {
        // SAFETY: `buf` holds at least the clamped length.
        unsafe { WS::send(sock(s), buf.as_ptr(), buf_len(len, buf.len()), flags) }
    }
    async fn sendto(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32, to: Option<&SOCKADDR_IN>, tolen: i32) -> i32 {
        let b = SaBuf::from(to);
        let p = if to.is_some() { b.ptr() } else { std::ptr::null() };
        // SAFETY: `buf` holds the clamped length; `p` is NULL or 128 readable bytes.
        unsafe { WS::sendto(sock(s), buf.as_ptr(), buf_len(len, buf.len()), flags, p, clamp_len(tolen)) }
    }
    async fn shutdown(&self, s: SOCKET, how: i32) -> i32 {
        // SAFETY: no pointers.
        unsafe { WS::shutdown(sock(s), how) }
    }
    async fn closesocket(&self, s: SOCKET) -> i32 {
        // SAFETY: no pointers.
        unsafe { WS::closesocket(sock(s)) }
    }
    async fn getsockname(&self, s: SOCKET, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32 {
        let mut b = SaBuf::from(None);
        let mut len = namelen.as_ref().map_or(0, |l| clamp_len(**l));
        let pa = if name.is_some() { b.ptr_mut() } else { std::ptr::null_mut() };
        let pl = if namelen.is_some() { &mut len as *mut i32 } else { std::ptr::null_mut() };
        // SAFETY: each pointer is NULL or a live local of the size claimed.
        let r = unsafe { WS::getsockname(sock(s), pa, pl) };
        if r == 0 {
            if let Some(a) = name {
                *a = b.to_sockaddr();
            }
            if let Some(l) = namelen {
                *l = len;
            }
        }
        r
    }
    async fn ioctlsocket(&self, s: SOCKET, cmd: i32, argp: Option<&mut u32>) -> i32 {
        // SAFETY: the argument pointer is NULL or a live reference.
        unsafe { WS::ioctlsocket(sock(s), cmd, out_ptr(argp)) }
    }
    fn get_current_thread_id(&self) -> u32 {
        // SAFETY: no arguments.
        unsafe { T::GetCurrentThreadId() }
    }
    async fn post_thread_message(&self, id_thread: u32, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        // SAFETY: no pointers.
        unsafe { WM::PostThreadMessageW(id_thread, msg, w_param, l_param) }
    }
    async fn post_quit_message(&self, exit_code: i32) {
        // SAFETY: no pointers.
        unsafe { WM::PostQuitMessage(exit_code) }
    }
    async fn get_message(&self, msg: &mut MSG, hwnd: HWND, msg_filter_min: u32, msg_filter_max: u32) -> BOOL {
        let mut m = WM::MSG::default();
        // SAFETY: an out pointer to a local.
        let r = unsafe { WM::GetMessageW(&mut m, hwnd.0 as F::HWND, msg_filter_min, msg_filter_max) };
        if r != -1 {
            *msg = our_msg(&m);
        }
        r
    }
    async fn peek_message(
        &self,
        msg: &mut MSG,
        hwnd: HWND,
        msg_filter_min: u32,
        msg_filter_max: u32,
        remove_msg: u32,
    ) -> BOOL {
        let mut m = WM::MSG::default();
        // SAFETY: an out pointer to a local.
        let r = unsafe { WM::PeekMessageW(&mut m, hwnd.0 as F::HWND, msg_filter_min, msg_filter_max, remove_msg) };
        if r != 0 {
            *msg = our_msg(&m);
        }
        r
    }

    async fn register_class(&self, class_name: &str, wnd_proc: WindowProc<Self>) -> ATOM {
        let name = wide(class_name);
        let wc = WM::WNDCLASSEXW {
            cbSize: std::mem::size_of::<WM::WNDCLASSEXW>() as u32,
            lpfnWndProc: Some(class_wndproc),
            hInstance: module(),
            lpszClassName: name.as_ptr(),
            ..Default::default()
        };
        // SAFETY: `wc` and the name it points to live for the call (Windows copies the name).
        let atom = unsafe { WM::RegisterClassExW(&wc) };
        if atom != 0 {
            let mut classes = CLASSES.lock().expect("class registry");
            classes.retain(|(c, _)| !c.eq_ignore_ascii_case(class_name));
            classes.push((class_name.to_string(), wnd_proc));
        }
        atom
    }
    async fn unregister_class(&self, class_name: &str) -> BOOL {
        let name = wide(class_name);
        // SAFETY: the name lives for the call.
        let ok = unsafe { WM::UnregisterClassW(name.as_ptr(), module()) };
        if ok != 0 {
            CLASSES.lock().expect("class registry").retain(|(c, _)| !c.eq_ignore_ascii_case(class_name));
        }
        ok
    }
    async fn create_window_ex(
        &self,
        ex_style: u32,
        class_name: &str,
        window_name: &str,
        style: u32,
        x: i32,
        y: i32,
        width: i32,
        height: i32,
        parent: HWND,
        menu: isize,
    ) -> HWND {
        let (class, title) = (wide(class_name), wide(window_name));
        // SAFETY: the strings live for the call; no lpParam.
        let h = unsafe {
            WM::CreateWindowExW(
                ex_style,
                class.as_ptr(),
                title.as_ptr(),
                style,
                x,
                y,
                width,
                height,
                hwnd_raw(parent),
                menu as WM::HMENU,
                module(),
                std::ptr::null(),
            )
        };
        HWND(h as isize)
    }
    async fn destroy_window(&self, hwnd: HWND) -> BOOL {
        // SAFETY: no pointers.
        unsafe { WM::DestroyWindow(hwnd_raw(hwnd)) }
    }
    async fn is_window(&self, hwnd: HWND) -> BOOL {
        // SAFETY: no pointers.
        unsafe { WM::IsWindow(hwnd_raw(hwnd)) }
    }
    async fn get_window_thread_process_id(&self, hwnd: HWND, process_id: Option<&mut u32>) -> u32 {
        // SAFETY: the out pointer is NULL or a live reference.
        unsafe { WM::GetWindowThreadProcessId(hwnd_raw(hwnd), out_ptr(process_id)) }
    }
    async fn def_window_proc(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT {
        // SAFETY: the cases pass no pointers in wParam/lParam.
        unsafe { WM::DefWindowProcW(hwnd_raw(hwnd), msg, w_param, l_param) }
    }
    async fn post_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        // SAFETY: no pointers (a message that carries one fails, ERROR_MESSAGE_SYNC_ONLY).
        unsafe { WM::PostMessageW(hwnd_raw(hwnd), msg, w_param, l_param) }
    }
    async fn send_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT {
        // SAFETY: the cases send only messages whose parameters are numbers.
        unsafe { WM::SendMessageW(hwnd_raw(hwnd), msg, w_param, l_param) }
    }
    async fn send_message_timeout(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        flags: u32,
        timeout: u32,
        result: Option<&mut usize>,
    ) -> LRESULT {
        let out = result.map_or(std::ptr::null_mut(), |r| r as *mut usize);
        // SAFETY: numeric parameters; the out pointer is NULL or a live reference.
        unsafe { WM::SendMessageTimeoutW(hwnd_raw(hwnd), msg, w_param, l_param, flags, timeout, out) }
    }
    async fn send_notify_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        // SAFETY: numeric parameters.
        unsafe { WM::SendNotifyMessageW(hwnd_raw(hwnd), msg, w_param, l_param) }
    }
    async fn send_message_callback(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        result_callback: Option<SendAsyncProc<Self>>,
        data: usize,
    ) -> BOOL {
        let Some(callback) = result_callback else {
            // SAFETY: no callback; the parameters are values.
            return unsafe { WM::SendMessageCallbackW(hwnd_raw(hwnd), msg, w_param, l_param, None, data) };
        };
        let param = Box::into_raw(Box::new((callback, data))) as usize;
        // SAFETY: `param` is a leaked Box the callback takes back (for a window of this
        // thread, before the call returns); on failure no callback will run and it is
        // freed here.
        let ok = unsafe { WM::SendMessageCallbackW(hwnd_raw(hwnd), msg, w_param, l_param, Some(send_async), param) };
        if ok == FALSE {
            // SAFETY: no arguments.
            let err = unsafe { F::GetLastError() };
            // SAFETY: nothing was sent, so the box is still ours.
            drop(unsafe { Box::from_raw(param as *mut CallbackBox) });
            // SAFETY: no pointers.
            unsafe { F::SetLastError(err) };
        }
        ok
    }
    async fn dispatch_message(&self, msg: &MSG) -> LRESULT {
        let m = native_msg(msg);
        // SAFETY: a pointer to a local MSG.
        unsafe { WM::DispatchMessageW(&m) }
    }
    async fn translate_message(&self, msg: &MSG) -> BOOL {
        let m = native_msg(msg);
        // SAFETY: a pointer to a local MSG.
        unsafe { WM::TranslateMessage(&m) }
    }
    fn in_send_message(&self) -> BOOL {
        // SAFETY: no arguments.
        unsafe { WM::InSendMessage() }
    }
    async fn reply_message(&self, result: LRESULT) -> BOOL {
        // SAFETY: no pointers.
        unsafe { WM::ReplyMessage(result) }
    }

    type CriticalSection = NativeCriticalSection;
    type SrwLock = NativeSrwLock;
    type ConditionVariable = NativeConditionVariable;
    fn new_critical_section(&self) -> NativeCriticalSection {
        NativeCriticalSection(LockCell::new())
    }
    fn new_srw_lock(&self) -> NativeSrwLock {
        NativeSrwLock(LockCell::new())
    }
    fn new_condition_variable(&self) -> NativeConditionVariable {
        NativeConditionVariable(LockCell::new())
    }
    async fn initialize_critical_section(&self, cs: &NativeCriticalSection) {
        // SAFETY: a live structure at a stable address (LockCell).
        unsafe { T::InitializeCriticalSection(cs.0.ptr()) }
    }
    async fn enter_critical_section(&self, cs: &NativeCriticalSection) {
        // SAFETY: as above; the cases initialise before use.
        unsafe { T::EnterCriticalSection(cs.0.ptr()) }
    }
    async fn try_enter_critical_section(&self, cs: &NativeCriticalSection) -> BOOL {
        // SAFETY: as above.
        unsafe { T::TryEnterCriticalSection(cs.0.ptr()) }
    }
    async fn leave_critical_section(&self, cs: &NativeCriticalSection) {
        // SAFETY: as above; the cases leave only what they entered.
        unsafe { T::LeaveCriticalSection(cs.0.ptr()) }
    }
    async fn delete_critical_section(&self, cs: &NativeCriticalSection) {
        // SAFETY: as above; no thread waits for it when the cases delete it.
        unsafe { T::DeleteCriticalSection(cs.0.ptr()) }
    }
    async fn acquire_srw_lock_exclusive(&self, lock: &NativeSrwLock) {
        // SAFETY: a live structure at a stable address (LockCell).
        unsafe { T::AcquireSRWLockExclusive(lock.0.ptr()) }
    }
    async fn acquire_srw_lock_shared(&self, lock: &NativeSrwLock) {
        // SAFETY: as above.
        unsafe { T::AcquireSRWLockShared(lock.0.ptr()) }
    }
    async fn try_acquire_srw_lock_exclusive(&self, lock: &NativeSrwLock) -> BOOL {
        // SAFETY: as above.
        (unsafe { T::TryAcquireSRWLockExclusive(lock.0.ptr()) }) as BOOL
    }
    async fn try_acquire_srw_lock_shared(&self, lock: &NativeSrwLock) -> BOOL {
        // SAFETY: as above.
        (unsafe { T::TryAcquireSRWLockShared(lock.0.ptr()) }) as BOOL
    }
    async fn release_srw_lock_exclusive(&self, lock: &NativeSrwLock) {
        // SAFETY: as above; the cases release only what they hold.
        unsafe { T::ReleaseSRWLockExclusive(lock.0.ptr()) }
    }
    async fn release_srw_lock_shared(&self, lock: &NativeSrwLock) {
        // SAFETY: as above.
        unsafe { T::ReleaseSRWLockShared(lock.0.ptr()) }
    }
    async fn sleep_condition_variable_cs(
        &self,
        cv: &NativeConditionVariable,
        cs: &NativeCriticalSection,
        milliseconds: u32,
    ) -> BOOL {
        // SAFETY: live structures at stable addresses; the caller owns the critical section.
        unsafe { T::SleepConditionVariableCS(cv.0.ptr(), cs.0.ptr(), milliseconds) }
    }
    async fn sleep_condition_variable_srw(
        &self,
        cv: &NativeConditionVariable,
        lock: &NativeSrwLock,
        milliseconds: u32,
        flags: u32,
    ) -> BOOL {
        // SAFETY: as above; the caller holds the lock in the mode `flags` says.
        unsafe { T::SleepConditionVariableSRW(cv.0.ptr(), lock.0.ptr(), milliseconds, flags) }
    }
    async fn wake_condition_variable(&self, cv: &NativeConditionVariable) {
        // SAFETY: a live structure at a stable address.
        unsafe { T::WakeConditionVariable(cv.0.ptr()) }
    }
    async fn wake_all_condition_variable(&self, cv: &NativeConditionVariable) {
        // SAFETY: as above.
        unsafe { T::WakeAllConditionVariable(cv.0.ptr()) }
    }

    async fn co_initialize_ex(&self, reserved: Option<usize>, coinit: u32) -> sim_core::error::HRESULT {
        // SAFETY: pvReserved is never dereferenced: CoInitializeEx rejects any non-NULL value.
        sim_core::error::HRESULT(unsafe {
            windows_sys::Win32::System::Com::CoInitializeEx(reserved.unwrap_or(0) as *const c_void, coinit)
        })
    }
    async fn co_uninitialize(&self) {
        // SAFETY: no arguments.
        unsafe { windows_sys::Win32::System::Com::CoUninitialize() }
    }
    async fn co_get_apartment_type(
        &self,
        apt_type: Option<&mut i32>,
        qualifier: Option<&mut i32>,
    ) -> sim_core::error::HRESULT {
        let t = apt_type.map_or(std::ptr::null_mut(), |r| r as *mut i32);
        let q = qualifier.map_or(std::ptr::null_mut(), |r| r as *mut i32);
        // SAFETY: the out pointers are NULL or live references.
        sim_core::error::HRESULT(unsafe { windows_sys::Win32::System::Com::CoGetApartmentType(t, q) })
    }

    type ComPtr = NativeComPtr;
    type IStream = NativeComPtr;
    async fn new_class_factory(&self) -> Option<NativeComPtr> {
        Some(com_obj::new_factory())
    }
    async fn co_marshal_inter_thread_interface_in_stream(
        &self,
        riid: &sim_core::objects::com::IID,
        unk: Option<NativeComPtr>,
        stream: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: the IID and the out pointer live across the call; `unk` is a live
        // interface pointer or NULL.
        com_out(stream, |pout| unsafe {
            windows_sys::Win32::System::Com::Marshal::CoMarshalInterThreadInterfaceInStream(&iid, com_ptr(unk), pout)
        })
    }
    async fn co_get_interface_and_release_stream(
        &self,
        stream: Option<NativeComPtr>,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: as above; the stream is a live IStream or NULL, released by the call.
        com_out(ppv, |pout| unsafe {
            windows_sys::Win32::System::Com::StructuredStorage::CoGetInterfaceAndReleaseStream(
                com_ptr(stream),
                &iid,
                pout,
            )
        })
    }
    async fn iclassfactory_create_instance(
        &self,
        this: NativeComPtr,
        unk_outer: Option<NativeComPtr>,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: `this` is a live IClassFactory (an object or a proxy); the vtable's fourth
        // entry is CreateInstance; the IID and out pointer live across the call.
        com_out(ppv, |pout| unsafe {
            let vt = *(this.0 as *const *const com_obj::ClassFactoryVtbl);
            ((*vt).create_instance)(this.0 as *mut c_void, com_ptr(unk_outer), &iid, pout)
        })
    }
    async fn query_interface(
        &self,
        this: NativeComPtr,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: `this` is a live interface pointer; every interface starts with IUnknown's
        // three entries.
        com_out(ppv, |pout| unsafe {
            let vt = *(this.0 as *const *const com_obj::UnknownVtbl);
            ((*vt).query_interface)(this.0 as *mut c_void, &iid, pout)
        })
    }
    async fn add_ref(&self, this: NativeComPtr) -> u32 {
        // SAFETY: as above.
        unsafe {
            let vt = *(this.0 as *const *const com_obj::UnknownVtbl);
            ((*vt).add_ref)(this.0 as *mut c_void)
        }
    }
    async fn release(&self, this: NativeComPtr) -> u32 {
        // SAFETY: as above; the caller holds the reference it releases.
        unsafe {
            let vt = *(this.0 as *const *const com_obj::UnknownVtbl);
            ((*vt).release)(this.0 as *mut c_void)
        }
    }
    async fn co_disconnect_object(&self, unk: Option<NativeComPtr>, reserved: u32) -> sim_core::error::HRESULT {
        // SAFETY: `unk` is a live interface pointer or NULL.
        sim_core::error::HRESULT(unsafe { windows_sys::Win32::System::Com::CoDisconnectObject(com_ptr(unk), reserved) })
    }
    async fn co_lock_object_external(
        &self,
        unk: Option<NativeComPtr>,
        f_lock: bool,
        f_last_unlock_releases: bool,
    ) -> sim_core::error::HRESULT {
        // SAFETY: as above.
        sim_core::error::HRESULT(unsafe {
            windows_sys::Win32::System::Com::CoLockObjectExternal(
                com_ptr(unk),
                f_lock as i32,
                f_last_unlock_releases as i32,
            )
        })
    }
    async fn co_create_instance(
        &self,
        rclsid: &sim_core::objects::com::CLSID,
        unk_outer: Option<NativeComPtr>,
        cls_context: u32,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let (clsid, iid) = (guid(rclsid), guid(riid));
        // SAFETY: the GUIDs and the out pointer live across the call; the outer object is a
        // live interface pointer or NULL.
        com_out(ppv, |pout| unsafe {
            windows_sys::Win32::System::Com::CoCreateInstance(&clsid, com_ptr(unk_outer), cls_context, &iid, pout)
        })
    }
    async fn create_stream_on_hglobal(&self, stream: Option<&mut Option<NativeComPtr>>) -> sim_core::error::HRESULT {
        // SAFETY: the out pointer lives across the call; NULL asks for a new HGLOBAL.
        com_out(stream, |pout| unsafe {
            windows_sys::Win32::System::Com::StructuredStorage::CreateStreamOnHGlobal(std::ptr::null_mut(), 1, pout)
        })
    }
    async fn istream_seek_start(&self, this: NativeComPtr) -> sim_core::error::HRESULT {
        // SAFETY: `this` is a live IStream; Seek is its vtable's sixth entry.
        sim_core::error::HRESULT(unsafe {
            let vt = *(this.0 as *const *const com_obj::StreamVtbl);
            ((*vt).seek)(this.0 as *mut c_void, 0, 0, std::ptr::null_mut())
        })
    }
    async fn istream_release(&self, this: NativeComPtr) -> u32 {
        self.release(this).await
    }
    async fn co_marshal_interface(
        &self,
        stream: Option<NativeComPtr>,
        riid: &sim_core::objects::com::IID,
        unk: Option<NativeComPtr>,
        dest_context: u32,
        dest_context_reserved: Option<usize>,
        mshlflags: u32,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        let reserved = dest_context_reserved.unwrap_or(0) as *const c_void;
        // SAFETY: the stream and the object are live interface pointers or NULL; the
        // reserved pointer is never dereferenced for MSHCTX_INPROC.
        sim_core::error::HRESULT(unsafe {
            windows_sys::Win32::System::Com::Marshal::CoMarshalInterface(
                com_ptr(stream),
                &iid,
                com_ptr(unk),
                dest_context,
                reserved,
                mshlflags,
            )
        })
    }
    async fn co_unmarshal_interface(
        &self,
        stream: Option<NativeComPtr>,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: as above.
        com_out(ppv, |pout| unsafe {
            windows_sys::Win32::System::Com::Marshal::CoUnmarshalInterface(com_ptr(stream), &iid, pout)
        })
    }
    async fn co_release_marshal_data(&self, stream: Option<NativeComPtr>) -> sim_core::error::HRESULT {
        // SAFETY: a live IStream or NULL.
        sim_core::error::HRESULT(unsafe {
            windows_sys::Win32::System::Com::Marshal::CoReleaseMarshalData(com_ptr(stream))
        })
    }
    async fn register_interface_in_global(
        &self,
        git: NativeComPtr,
        unk: Option<NativeComPtr>,
        riid: &sim_core::objects::com::IID,
        cookie: Option<&mut u32>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        let pc = cookie.map_or(std::ptr::null_mut(), |c| c as *mut u32);
        // SAFETY: `git` is the live IGlobalInterfaceTable; the arguments live across the call.
        sim_core::error::HRESULT(unsafe {
            let vt = *(git.0 as *const *const com_obj::GitVtbl);
            ((*vt).register)(git.0 as *mut c_void, com_ptr(unk), &iid, pc)
        })
    }
    async fn get_interface_from_global(
        &self,
        git: NativeComPtr,
        cookie: u32,
        riid: &sim_core::objects::com::IID,
        ppv: Option<&mut Option<NativeComPtr>>,
    ) -> sim_core::error::HRESULT {
        let iid = guid(riid);
        // SAFETY: as above.
        com_out(ppv, |pout| unsafe {
            let vt = *(git.0 as *const *const com_obj::GitVtbl);
            ((*vt).get)(git.0 as *mut c_void, cookie, &iid, pout)
        })
    }
    async fn revoke_interface_from_global(&self, git: NativeComPtr, cookie: u32) -> sim_core::error::HRESULT {
        // SAFETY: as above.
        sim_core::error::HRESULT(unsafe {
            let vt = *(git.0 as *const *const com_obj::GitVtbl);
            ((*vt).revoke)(git.0 as *mut c_void, cookie)
        })
    }

    async fn create_waitable_timer(
        &self,
        timer_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        timer_name: Option<&str>,
    ) -> HANDLE {
        let sa = nt_sa(timer_attributes);
        let name = wide_opt(timer_name);
        // SAFETY: the attributes and the name live across the call.
        ours(unsafe { T::CreateWaitableTimerW(sa_ptr(&sa), manual_reset as i32, pcwstr(&name)) })
    }
    async fn open_waitable_timer(&self, desired_access: u32, inherit_handle: bool, timer_name: Option<&str>) -> HANDLE {
        let name = wide_opt(timer_name);
        // SAFETY: the name lives across the call.
        ours(unsafe { T::OpenWaitableTimerW(desired_access, inherit_handle as i32, pcwstr(&name)) })
    }
    async fn set_waitable_timer(
        &self,
        h_timer: HANDLE,
        due_time: i64,
        period: i32,
        completion_routine: Option<TimerRoutine<Self>>,
        resume: bool,
    ) -> BOOL {
        let arg = completion_routine.map(|r| {
            let b = Box::new(r);
            let p = &*b as *const TimerRoutine<NativeCtx> as *const c_void;
            TIMER_ROUTINES.with(|t| t.borrow_mut().push(b));
            p
        });
        let (routine, arg): (T::PTIMERAPCROUTINE, *const c_void) = match arg {
            Some(p) => (Some(timer_apc), p),
            None => (None, std::ptr::null()),
        };
        // SAFETY: `due_time` lives across the call; `arg` is NULL or a Box kept for the
        // thread's lifetime.
        unsafe { T::SetWaitableTimer(raw(h_timer), &due_time, period, routine, arg, resume as i32) }
    }
    async fn cancel_waitable_timer(&self, h_timer: HANDLE) -> BOOL {
        // SAFETY: no pointers.
        unsafe { T::CancelWaitableTimer(raw(h_timer)) }
    }

    async fn sleep_ex(&self, milliseconds: u32, alertable: bool) -> u32 {
        // SAFETY: no pointers (the APCs it runs are the trampolines above).
        unsafe { T::SleepEx(milliseconds, alertable as i32) }
    }
    async fn wait_for_single_object_ex(&self, h_handle: HANDLE, milliseconds: u32, alertable: bool) -> u32 {
        // SAFETY: no pointers.
        unsafe { T::WaitForSingleObjectEx(raw(h_handle), milliseconds, alertable as i32) }
    }
    async fn wait_for_multiple_objects_ex(
        &self,
        handles: &[HANDLE],
        wait_all: bool,
        milliseconds: u32,
        alertable: bool,
    ) -> u32 {
        let raw_handles: Vec<F::HANDLE> = handles.iter().map(|&h| raw(h)).collect();
        let ptr = if raw_handles.is_empty() { std::ptr::null() } else { raw_handles.as_ptr() };
        // SAFETY: `ptr` holds `len` handles (or is NULL with 0).
        unsafe {
            T::WaitForMultipleObjectsEx(raw_handles.len() as u32, ptr, wait_all as i32, milliseconds, alertable as i32)
        }
    }
    async fn queue_user_apc(&self, pfn_apc: ApcRoutine<Self>, h_thread: HANDLE, data: usize) -> u32 {
        let param = Box::into_raw(Box::new((pfn_apc, data))) as usize;
        // SAFETY: `param` is a leaked Box the APC takes back; on failure no APC was
        // queued and it is freed here.
        let r = unsafe { T::QueueUserAPC(Some(user_apc), raw(h_thread), param) };
        if r == 0 {
            // SAFETY: nothing was queued, so the box is still ours.
            drop(unsafe { Box::from_raw(param as *mut ApcBox) });
        }
        r
    }
    async fn read_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &NativeIoBuffer,
        overlapped: &NativeOverlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL {
        IO_ROUTINES.with(|t| t.borrow_mut().push((overlapped.clone(), completion_routine)));
        let len = u32::try_from(buffer.0.len).unwrap_or(u32::MAX);
        // SAFETY: the buffer and the OVERLAPPED live as long as a clone does (the table
        // holds one until the routine ran).
        let ok = unsafe { FS::ReadFileEx(raw(h_file), buffer.0.ptr, len, overlapped.ptr(), Some(io_completion)) };
        if ok == FALSE {
            forget_io_routine(overlapped);
        }
        ok
    }
    async fn write_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        overlapped: &NativeOverlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL {
        IO_ROUTINES.with(|t| t.borrow_mut().push((overlapped.clone(), completion_routine)));
        let mut keep = overlapped.0.write_data.lock().expect("write data");
        *keep = buffer.to_vec().into_boxed_slice();
        let len = u32::try_from(keep.len()).unwrap_or(u32::MAX);
        // SAFETY: the bytes live in the OVERLAPPED's own storage until its next write.
        let ok = unsafe { FS::WriteFileEx(raw(h_file), keep.as_ptr(), len, overlapped.ptr(), Some(io_completion)) };
        drop(keep);
        if ok == FALSE {
            forget_io_routine(overlapped);
        }
        ok
    }

    async fn set_timer(&self, hwnd: HWND, id_event: usize, elapse: u32) -> usize {
        // SAFETY: no pointers.
        unsafe { WM::SetTimer(hwnd_raw(hwnd), id_event, elapse, None) }
    }
    async fn kill_timer(&self, hwnd: HWND, id_event: usize) -> BOOL {
        // SAFETY: no pointers.
        let ok = unsafe { WM::KillTimer(hwnd_raw(hwnd), id_event) };
        if ok != FALSE {
            // SAFETY: no arguments.
            let err = unsafe { F::GetLastError() };
            forget_timer_proc(hwnd, id_event);
            // SAFETY: no pointers.
            unsafe { F::SetLastError(err) };
        }
        ok
    }
    async fn set_timer_with_proc(
        &self,
        hwnd: HWND,
        id_event: usize,
        elapse: u32,
        timer_func: Option<TimerProc<Self>>,
    ) -> usize {
        let native: WM::TIMERPROC = if timer_func.is_some() { Some(timer_proc) } else { None };
        // SAFETY: the TIMERPROC is a function of this module, for the process's lifetime.
        let id = unsafe { WM::SetTimer(hwnd_raw(hwnd), id_event, elapse, native) };
        if id != 0 {
            // SAFETY: no arguments.
            let err = unsafe { F::GetLastError() };
            forget_timer_proc(hwnd, id);
            if let Some(f) = timer_func {
                TIMER_PROCS.lock().expect("timer procs").push(((hwnd.0, id), f));
            }
            // SAFETY: no pointers.
            unsafe { F::SetLastError(err) };
        }
        id
    }

    async fn find_window_ex(
        &self,
        parent: HWND,
        child_after: HWND,
        class_name: Option<&str>,
        window_name: Option<&str>,
    ) -> HWND {
        let (class, title) = (wide_opt(class_name), wide_opt(window_name));
        // SAFETY: the strings live across the call.
        let h = unsafe { WM::FindWindowExW(hwnd_raw(parent), hwnd_raw(child_after), pcwstr(&class), pcwstr(&title)) };
        HWND(h as isize)
    }
    async fn send_message_copydata(&self, hwnd: HWND, w_param: WPARAM, data: &COPYDATASTRUCT) -> LRESULT {
        let mut bytes = data.lpData.clone();
        let cds = windows_sys::Win32::System::DataExchange::COPYDATASTRUCT {
            dwData: data.dwData,
            cbData: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            lpData: if bytes.is_empty() { std::ptr::null_mut() } else { bytes.as_mut_ptr() as *mut c_void },
        };
        // SAFETY: the structure and its bytes live across the call; the system copies
        // them into the receiver.
        unsafe { WM::SendMessageW(hwnd_raw(hwnd), WM::WM_COPYDATA, w_param, &cds as *const _ as LPARAM) }
    }
    fn copydata(&self, l_param: LPARAM) -> Option<COPYDATASTRUCT> {
        if l_param == 0 {
            return None;
        }
        let p = l_param as *const windows_sys::Win32::System::DataExchange::COPYDATASTRUCT;
        // SAFETY: called by a window procedure for the lParam of WM_COPYDATA, which points
        // to the system's copy, valid while the message runs.
        let cds = unsafe { *p };
        let data = if cds.lpData.is_null() || cds.cbData == 0 {
            Vec::new()
        } else {
            // SAFETY: as above, `cbData` bytes at `lpData`.
            unsafe { std::slice::from_raw_parts(cds.lpData as *const u8, cds.cbData as usize).to_vec() }
        };
        Some(COPYDATASTRUCT { dwData: cds.dwData, lpData: data })
    }

    async fn wsa_recv(
        &self,
        s: SOCKET,
        buffer: &NativeIoBuffer,
        number_of_bytes_recvd: Option<&mut u32>,
        flags: &mut u32,
        overlapped: Option<&NativeOverlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32 {
        let wsabuf = WS::WSABUF { len: u32::try_from(buffer.0.len).unwrap_or(u32::MAX), buf: buffer.0.ptr };
        let ov = overlapped.map_or(std::ptr::null_mut(), NativeOverlapped::ptr);
        let routine: WS::LPWSAOVERLAPPED_COMPLETION_ROUTINE = match (overlapped, completion_routine) {
            (Some(o), Some(r)) => {
                IO_ROUTINES.with(|t| t.borrow_mut().push((o.clone(), r)));
                Some(wsa_completion)
            }
            _ => None,
        };
        // SAFETY: Winsock copies the WSABUF array at the call; the buffer and the
        // OVERLAPPED outlive the operation.
        let r = unsafe { WS::WSARecv(sock(s), &wsabuf, 1, out_ptr(number_of_bytes_recvd), flags, ov, routine) };
        forget_wsa_routine_on_failure(r, overlapped, routine.is_some());
        r
    }
    async fn wsa_send(
        &self,
        s: SOCKET,
        buffer: &[u8],
        number_of_bytes_sent: Option<&mut u32>,
        flags: u32,
        overlapped: Option<&NativeOverlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32 {
        let routine: WS::LPWSAOVERLAPPED_COMPLETION_ROUTINE = match (overlapped, completion_routine) {
            (Some(o), Some(r)) => {
                IO_ROUTINES.with(|t| t.borrow_mut().push((o.clone(), r)));
                Some(wsa_completion)
            }
            _ => None,
        };
        let mut owned;
        let mut keep = None;
        let ptr = match overlapped {
            Some(o) => {
                let mut k = o.0.write_data.lock().expect("write data");
                *k = buffer.to_vec().into_boxed_slice();
                let p = k.as_mut_ptr();
                keep = Some(k);
                p
            }
            None => {
                owned = buffer.to_vec();
                owned.as_mut_ptr()
            }
        };
        let wsabuf = WS::WSABUF { len: u32::try_from(buffer.len()).unwrap_or(u32::MAX), buf: ptr };
        let ov = overlapped.map_or(std::ptr::null_mut(), NativeOverlapped::ptr);
        // SAFETY: with an OVERLAPPED the bytes live in its storage until its next
        // operation; without one, in `owned` across the (blocking) call.
        let r = unsafe { WS::WSASend(sock(s), &wsabuf, 1, out_ptr(number_of_bytes_sent), flags, ov, routine) };
        drop(keep);
        forget_wsa_routine_on_failure(r, overlapped, routine.is_some());
        r
    }
    async fn wsa_get_overlapped_result(
        &self,
        s: SOCKET,
        overlapped: &NativeOverlapped,
        transfer: &mut u32,
        wait: bool,
        flags: &mut u32,
    ) -> BOOL {
        // SAFETY: the OVERLAPPED is live; the out pointers are live references.
        unsafe { WS::WSAGetOverlappedResult(sock(s), overlapped.ptr(), transfer, wait as i32, flags) }
    }
    async fn accept_ex(
        &self,
        listen_socket: SOCKET,
        accept_socket: SOCKET,
        output_buffer: Option<&NativeIoBuffer>,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        bytes_received: Option<&mut u32>,
        overlapped: Option<&NativeOverlapped>,
    ) -> BOOL {
        let need = receive_data_length as usize + local_address_length as usize + remote_address_length as usize;
        let buf = match output_buffer {
            Some(b) if b.0.len >= need => b.0.ptr as *mut c_void,
            // The kernel would write past a shorter buffer: the program's error, refused
            // here as the simulator does (WSAEFAULT).
            Some(_) => {
                // SAFETY: no pointers.
                unsafe { WS::WSASetLastError(WS::WSAEFAULT) };
                return FALSE;
            }
            None => std::ptr::null_mut(),
        };
        let ov = overlapped.map_or(std::ptr::null_mut(), NativeOverlapped::ptr);
        // SAFETY: the buffer holds the three lengths and, with the OVERLAPPED, outlives the
        // operation (the program's side of the contract); the count is a live reference.
        unsafe {
            WS::AcceptEx(
                sock(listen_socket),
                sock(accept_socket),
                buf,
                receive_data_length,
                local_address_length,
                remote_address_length,
                out_ptr(bytes_received),
                ov,
            )
        }
    }
    fn get_accept_ex_sockaddrs(
        &self,
        output_buffer: &NativeIoBuffer,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        local_sockaddr: &mut SOCKADDR_IN,
        remote_sockaddr: &mut SOCKADDR_IN,
    ) {
        let need = receive_data_length as usize + local_address_length as usize + remote_address_length as usize;
        if output_buffer.0.len < need {
            return;
        }
        let (mut lp, mut rp): (*mut WS::SOCKADDR, *mut WS::SOCKADDR) = (std::ptr::null_mut(), std::ptr::null_mut());
        let (mut ll, mut rl) = (0i32, 0i32);
        // SAFETY: the buffer holds the three lengths (checked above) and is read only; the
        // out pointers are locals.
        unsafe {
            WS::GetAcceptExSockaddrs(
                output_buffer.0.ptr as *const c_void,
                receive_data_length,
                local_address_length,
                remote_address_length,
                &mut lp,
                &mut ll,
                &mut rp,
                &mut rl,
            )
        };
        if let Some(a) = sockaddr_at(lp, ll) {
            *local_sockaddr = a;
        }
        if let Some(a) = sockaddr_at(rp, rl) {
            *remote_sockaddr = a;
        }
    }
    async fn connect_ex(
        &self,
        s: SOCKET,
        name: Option<&SOCKADDR_IN>,
        namelen: i32,
        send_buffer: Option<&[u8]>,
        bytes_sent: Option<&mut u32>,
        overlapped: Option<&NativeOverlapped>,
    ) -> BOOL {
        let Some(connect_ex) = connect_ex_fn() else {
            // SAFETY: no pointers.
            unsafe { WS::WSASetLastError(WS::WSAEOPNOTSUPP) };
            return FALSE;
        };
        let b = SaBuf::from(name);
        let p = if name.is_some() { b.ptr() } else { std::ptr::null() };
        let ov = overlapped.map_or(std::ptr::null_mut(), NativeOverlapped::ptr);
        let mut owned = Vec::new();
        let mut keep = None;
        let (data, len) = match (send_buffer, overlapped) {
            (None, _) => (std::ptr::null(), 0),
            (Some(d), Some(o)) => {
                let mut k = o.0.write_data.lock().expect("write data");
                *k = d.to_vec().into_boxed_slice();
                let p = k.as_ptr();
                keep = Some(k);
                (p, d.len())
            }
            (Some(d), None) => {
                owned.extend_from_slice(d);
                (owned.as_ptr(), d.len())
            }
        };
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        // SAFETY: the name is 128 readable bytes with its length clamped to them; the send
        // bytes live in the OVERLAPPED's storage until its next operation (in `owned`
        // across the call without one); the OVERLAPPED outlives the operation.
        let r =
            unsafe { connect_ex(sock(s), p, clamp_len(namelen), data as *const c_void, len, out_ptr(bytes_sent), ov) };
        drop(keep);
        r
    }
}

/// Drops the completion routine of a WSARecv/WSASend that failed at once (anything but 0
/// or WSA_IO_PENDING: no routine will run), keeping the Winsock error.
fn forget_wsa_routine_on_failure(r: i32, overlapped: Option<&NativeOverlapped>, had_routine: bool) {
    if r == 0 || !had_routine {
        return;
    }
    // SAFETY: no arguments.
    let err = unsafe { WS::WSAGetLastError() };
    if let Some(o) = overlapped
        && err as u32 != sim_core::types::WSA_IO_PENDING
    {
        forget_io_routine(o);
    }
    // SAFETY: no pointers.
    unsafe { WS::WSASetLastError(err) };
}

/// Drops the completion routine of an operation that did not start, keeping the call's
/// last error (a thread-local access may go through TlsGetValue, which sets it to 0).
fn forget_io_routine(overlapped: &NativeOverlapped) {
    // SAFETY: no arguments.
    let err = unsafe { F::GetLastError() };
    let p = overlapped.ptr();
    let dropped: Vec<_> = IO_ROUTINES.with(|t| {
        let mut t = t.borrow_mut();
        let (gone, kept): (Vec<_>, Vec<_>) = t.drain(..).partition(|(o, _)| o.ptr() == p);
        *t = kept;
        gone
    });
    drop(dropped);
    // SAFETY: no pointers.
    unsafe { F::SetLastError(err) };
}

/// How long a case may take natively before it counts as hung.
pub const CASE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs every case natively (or those whose name starts with `only`), in order, each on its
/// own OS thread, and prints its lines
/// as soon as it has ended. A case still running after [`CASE_TIME_LIMIT`] is reported
/// with the lines it logged so far and a `note: outcome | hung` line (the simulator's
/// log has a `note: outcome` line for a run that did not complete), and the runner
/// moves on; the process exits when every case has had its turn.
pub fn run_all(only: Option<&str>) {
    use std::io::Write;
    let echo = std::env::var_os("WINSIM_NATIVE_ECHO").is_some();
    crate::log::ECHO.store(echo, std::sync::atomic::Ordering::Relaxed);
    // The real file system outlives the run: a directory unique to it, under %TEMP%.
    let scratch = format!(
        r"{}\winsim-diff-{}",
        std::env::temp_dir().display().to_string().trim_end_matches('\\'),
        std::process::id()
    );
    for case in crate::cases::all::<NativeCtx>() {
        if only.is_some_and(|prefix| !case.name.starts_with(prefix)) {
            continue;
        }
        let log = crate::log::Log::new(case.name).with_scratch(&scratch);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (body, case_log) = (case.run, log.clone());
        std::thread::spawn(move || {
            block_on(body(NativeCtx, case_log));
            let _ = done_tx.send(());
        });
        let finished = done_rx.recv_timeout(CASE_TIME_LIMIT).is_ok();
        let mut out = std::io::stdout().lock();
        for line in log.lines() {
            let _ = writeln!(out, "{line}");
        }
        if !finished {
            let _ = writeln!(out, "{}", [case.name, "note: outcome", "hung", "-"].join(crate::log::SEP));
        }
        let _ = out.flush();
    }
}

/// A COM interface pointer's value ([`Win32::ComPtr`] natively). `Send` so a case can hand
/// marshal data (an IStream) to another thread, as COM allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeComPtr(pub usize);

fn com_ptr(p: Option<NativeComPtr>) -> *mut c_void {
    p.map_or(std::ptr::null_mut(), |p| p.0 as *mut c_void)
}

/// Makes a COM call that writes an interface pointer: `pout` is NULL when the caller passed
/// no out value, and the pointer written (if any) comes back in it.
fn com_out(
    out: Option<&mut Option<NativeComPtr>>,
    call: impl FnOnce(*mut *mut c_void) -> i32,
) -> sim_core::error::HRESULT {
    let mut p: *mut c_void = std::ptr::null_mut();
    let pout = if out.is_some() { &mut p as *mut *mut c_void } else { std::ptr::null_mut() };
    let hr = call(pout);
    if let Some(o) = out {
        *o = (!p.is_null()).then_some(NativeComPtr(p as usize));
    }
    sim_core::error::HRESULT(hr)
}

fn guid(g: &sim_core::objects::com::GUID) -> windows_sys::core::GUID {
    windows_sys::core::GUID::from_u128(g.0)
}

/// The native class factory behind [`Win32::new_class_factory`]: an IClassFactory written
/// here (Windows ships IClassFactory's proxy and stub), whose CreateInstance makes an
/// object with IUnknown only. Each object counts its references and frees itself at 0.
mod com_obj {
    use std::ffi::c_void;
    use std::sync::atomic::{AtomicU32, Ordering};
    use windows_sys::core::{GUID, HRESULT};

    const S_OK: HRESULT = 0;
    const E_NOINTERFACE: HRESULT = 0x8000_4002_u32 as i32;
    const E_POINTER: HRESULT = 0x8000_4003_u32 as i32;
    const CLASS_E_NOAGGREGATION: HRESULT = 0x8004_0110_u32 as i32;
    const IID_IUNKNOWN: GUID = GUID::from_u128(0x00000000_0000_0000_C000_000000000046);
    const IID_ICLASSFACTORY: GUID = GUID::from_u128(0x00000001_0000_0000_C000_000000000046);

    /// IUnknown's vtable.
    #[repr(C)]
    pub struct UnknownVtbl {
        pub query_interface: unsafe extern "system" fn(*mut c_void, *const GUID, *mut *mut c_void) -> HRESULT,
        pub add_ref: unsafe extern "system" fn(*mut c_void) -> u32,
        pub release: unsafe extern "system" fn(*mut c_void) -> u32,
    }

    /// IClassFactory's vtable.
    #[repr(C)]
    pub struct ClassFactoryVtbl {
        pub unknown: UnknownVtbl,
        pub create_instance:
            unsafe extern "system" fn(*mut c_void, *mut c_void, *const GUID, *mut *mut c_void) -> HRESULT,
        pub lock_server: unsafe extern "system" fn(*mut c_void, i32) -> HRESULT,
    }

    /// IStream's vtable up to Seek (ISequentialStream's Read and Write come between).
    #[repr(C)]
    pub struct StreamVtbl {
        pub unknown: UnknownVtbl,
        pub read: usize,
        pub write: usize,
        pub seek: unsafe extern "system" fn(*mut c_void, i64, u32, *mut u64) -> HRESULT,
    }

    /// IGlobalInterfaceTable's vtable.
    #[repr(C)]
    pub struct GitVtbl {
        pub unknown: UnknownVtbl,
        pub register: unsafe extern "system" fn(*mut c_void, *mut c_void, *const GUID, *mut u32) -> HRESULT,
        pub revoke: unsafe extern "system" fn(*mut c_void, u32) -> HRESULT,
        pub get: unsafe extern "system" fn(*mut c_void, u32, *const GUID, *mut *mut c_void) -> HRESULT,
    }

    /// An object: its vtable first, then its count.
    #[repr(C)]
    struct Obj<V: 'static> {
        vtbl: &'static V,
        refs: AtomicU32,
        factory: bool,
    }

    fn same(a: &GUID, b: &GUID) -> bool {
        a.data1 == b.data1 && a.data2 == b.data2 && a.data3 == b.data3 && a.data4 == b.data4
    }

    unsafe extern "system" fn qi(this: *mut c_void, riid: *const GUID, out: *mut *mut c_void) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: COM passes this object and a live IID.
        let (o, iid) = unsafe { (&*(this as *const Obj<UnknownVtbl>), &*riid) };
        if same(iid, &IID_IUNKNOWN) || (o.factory && same(iid, &IID_ICLASSFACTORY)) {
            o.refs.fetch_add(1, Ordering::SeqCst);
            // SAFETY: a live out pointer.
            unsafe { *out = this };
            S_OK
        } else {
            // SAFETY: as above.
            unsafe { *out = std::ptr::null_mut() };
            E_NOINTERFACE
        }
    }

    unsafe extern "system" fn add_ref(this: *mut c_void) -> u32 {
        // SAFETY: a live object.
        unsafe { &*(this as *const Obj<UnknownVtbl>) }.refs.fetch_add(1, Ordering::SeqCst) + 1
    }

    unsafe extern "system" fn release(this: *mut c_void) -> u32 {
        // SAFETY: a live object.
        let o = unsafe { &*(this as *const Obj<UnknownVtbl>) };
        let n = o.refs.fetch_sub(1, Ordering::SeqCst) - 1;
        if n == 0 {
            // SAFETY: the last reference: the object was made by Box::into_raw with this
            // layout (the vtable type does not change the layout: a reference first).
            drop(unsafe { Box::from_raw(this as *mut Obj<UnknownVtbl>) });
        }
        n
    }

    unsafe extern "system" fn create_instance(
        _this: *mut c_void,
        outer: *mut c_void,
        riid: *const GUID,
        out: *mut *mut c_void,
    ) -> HRESULT {
        if out.is_null() {
            return E_POINTER;
        }
        // SAFETY: a live out pointer.
        unsafe { *out = std::ptr::null_mut() };
        if !outer.is_null() {
            return CLASS_E_NOAGGREGATION;
        }
        let obj = Box::into_raw(Box::new(Obj { vtbl: &UNKNOWN, refs: AtomicU32::new(1), factory: false }));
        // SAFETY: the new object; QueryInterface adds the caller's reference, then the
        // creation's reference goes (freeing it when the interface is not implemented).
        unsafe {
            let hr = qi(obj as *mut c_void, riid, out);
            release(obj as *mut c_void);
            hr
        }
    }

    unsafe extern "system" fn lock_server(_this: *mut c_void, _lock: i32) -> HRESULT {
        S_OK
    }

    static UNKNOWN: UnknownVtbl = UnknownVtbl { query_interface: qi, add_ref, release };
    static FACTORY: ClassFactoryVtbl = ClassFactoryVtbl {
        unknown: UnknownVtbl { query_interface: qi, add_ref, release },
        create_instance,
        lock_server,
    };

    /// A new class factory with one reference (the caller's).
    pub fn new_factory() -> super::NativeComPtr {
        let f = Box::into_raw(Box::new(Obj { vtbl: &FACTORY, refs: AtomicU32::new(1), factory: true }));
        super::NativeComPtr(f as usize)
    }
}
