//! One program, two backends: the backend-neutral Win32 surface.
//!
//! [`Win32`] is the part of the Win32 API a protocol written once needs: anonymous and
//! named pipes, mailslots, handles, events, mutexes, semaphores, waits, threads and
//! processes, file mappings and views, process memory, files on paths, overlapped I/O and
//! completion ports, Winsock over loopback (overlapped WSARecv/WSASend too), thread and
//! window messages (a window procedure written once, [`WindowProc`]; windows of other
//! processes and WM_COPYDATA; SetTimer/KillTimer, with a TIMERPROC written once,
//! [`TimerProc`]; SendMessageCallback with a callback written once, [`SendAsyncProc`]),
//! AcceptEx and ConnectEx, user-mode locks (critical sections, SRW
//! locks and condition variables as shareable associated types), COM initialisation and
//! objects across apartments (a class factory, marshalled between threads),
//! waitable timers, and APCs with alertable waits (routines written once: [`ApcRoutine`],
//! [`IoCompletionRoutine`], [`TimerRoutine`]). A
//! program generic over `W: Win32` runs in the simulator (`ThreadCtx` implements the
//! trait by delegating to its own methods, so code written against `ThreadCtx` is
//! unchanged) and, through the `winsim-native` crate, as a real Windows program whose
//! calls are the real Win32 calls.
//!
//! The signatures are Win32-shaped and the same in both backends: `HANDLE` values,
//! `BOOL` results, `u32` last errors compared with the `ERROR_*` constants of
//! [`crate::error`]; memory addresses are `usize` values that differ between the backends.
//! An OVERLAPPED and an overlapped read's buffer are the associated types
//! [`Win32::Overlapped`] and [`Win32::IoBuffer`], so no raw pointer crosses the surface. A
//! native call completes before its future is first polled (an overlapped one may leave
//! its operation pending, as on Windows).

use crate::api::ThreadCtx;
use crate::objects::com::{CLSCTX_INPROC_SERVER, CLSID_Toy, IID, IID_IClassFactory};
use crate::types::*;
use std::future::Future;

/// The body of a program registered under a name, generic over the backend: a program
/// registry maps names to these, in the simulator (`Sim::program`) and natively (one
/// executable dispatching on a command-line argument).
pub type Program<W> = fn(W) -> std::pin::Pin<Box<dyn Future<Output = u32>>>;

/// A window procedure generic over the backend, registered with
/// [`Win32::register_class`]: it gets the window thread's own backend value and returns
/// the message's result, calling [`Win32::def_window_proc`] for what it does not handle.
/// It is `Send + Sync` so a case can capture it in a thread body and register it there;
/// natively one `extern "system"` procedure finds it by the window's class.
pub type WindowProc<W> = std::sync::Arc<
    dyn Fn(W, HWND, u32, WPARAM, LPARAM) -> std::pin::Pin<Box<dyn Future<Output = LRESULT>>> + Send + Sync,
>;

/// A user APC written once ([`Win32::queue_user_apc`]): it runs on the thread it was queued
/// to, in that thread's next alertable wait, with the thread's own backend value and the
/// `data` given at the queueing. `Send` because it is made on one thread and run on
/// another (natively, a real thread).
pub type ApcRoutine<W> = Box<dyn FnOnce(W, usize) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send>;

/// A completion routine of [`Win32::read_file_ex`] / [`Win32::write_file_ex`]
/// (LPOVERLAPPED_COMPLETION_ROUTINE): it runs as an APC on the issuing thread with the
/// error code (0 on success), the bytes transferred and the operation's OVERLAPPED. Not
/// `Send`: it runs on the thread that started the operation, so it may hold that thread's
/// OVERLAPPED and buffer.
pub type IoCompletionRoutine<W> =
    Box<dyn FnOnce(W, u32, u32, <W as Win32>::Overlapped) -> std::pin::Pin<Box<dyn Future<Output = ()>>>>;

/// A waitable timer's completion routine ([`Win32::set_waitable_timer`],
/// PTIMERAPCROUTINE): queued as an APC to the setting thread at each expiry, with the low
/// and high halves of the expiry's FILETIME (which differ between the backends: a case
/// never logs them).
pub type TimerRoutine<W> =
    std::sync::Arc<dyn Fn(W, u32, u32) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// A SendMessageCallback callback written once ([`Win32::send_message_callback`],
/// SENDASYNCPROC): it runs on the sending thread with the window, the message, the
/// caller's dwData and the receiver's result; at once for a window of the sending thread,
/// else inside the sender's next GetMessage or PeekMessage (§17.K1, §17.K4). `Send + Sync`
/// as [`WindowProc`] is.
pub type SendAsyncProc<W> =
    std::sync::Arc<dyn Fn(W, HWND, u32, usize, LRESULT) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// A TIMERPROC written once ([`Win32::set_timer_with_proc`]): DispatchMessage of the
/// timer's WM_TIMER calls it instead of the window procedure (§17.N6), with the window
/// (NULL for a thread timer), WM_TIMER, the timer id and the tick count (a system value
/// that differs between the backends: a case never logs it).
pub type TimerProc<W> =
    std::sync::Arc<dyn Fn(W, HWND, u32, usize, u32) -> std::pin::Pin<Box<dyn Future<Output = ()>>> + Send + Sync>;

/// The Win32 calls a protocol needs, implemented by the simulator's [`ThreadCtx`] and by
/// the native backend. A value is one thread's view: cloning it is cheap and a clone is
/// the same thread; [`Win32::create_thread`] gives the new thread its own.
///
/// Each method documents only where it differs from the `ThreadCtx` method of the same
/// name, whose doc comment says what winsim models.
#[allow(async_fn_in_trait)] // the futures are polled on the thread that made them
pub trait Win32: Clone + 'static {
    /// GetLastError, as a plain `u32` (compare with `ERROR_*.0` or `u32::from`).
    fn get_last_error(&self) -> u32;
    /// SetLastError.
    fn set_last_error(&self, code: u32);
    /// GetCurrentProcess: the pseudo handle.
    fn get_current_process(&self) -> HANDLE;
    /// GetCurrentProcessId.
    fn get_current_process_id(&self) -> u32;
    /// GetCommandLine: the program's name and its arguments, as the creator passed them
    /// to [`Win32::create_process`] (natively, without the executable's own path).
    fn get_command_line(&self) -> String;

    /// CreatePipe.
    async fn create_pipe(
        &self,
        read_pipe: &mut HANDLE,
        write_pipe: &mut HANDLE,
        pipe_attributes: Option<&SECURITY_ATTRIBUTES>,
        size: u32,
    ) -> BOOL;
    /// ReadFile (synchronous).
    async fn read_file(&self, h_file: HANDLE, buffer: &mut [u8], bytes_read: Option<&mut u32>) -> BOOL;
    /// WriteFile (synchronous).
    async fn write_file(&self, h_file: HANDLE, buffer: &[u8], bytes_written: Option<&mut u32>) -> BOOL;
    /// PeekNamedPipe.
    async fn peek_named_pipe(
        &self,
        h_named_pipe: HANDLE,
        buffer: Option<&mut [u8]>,
        bytes_read: Option<&mut u32>,
        total_bytes_avail: Option<&mut u32>,
        bytes_left_this_message: Option<&mut u32>,
    ) -> BOOL;
    /// FlushFileBuffers.
    async fn flush_file_buffers(&self, h_file: HANDLE) -> BOOL;
    /// CloseHandle.
    async fn close_handle(&self, h_object: HANDLE) -> BOOL;
    /// DuplicateHandle.
    #[allow(clippy::too_many_arguments)]
    async fn duplicate_handle(
        &self,
        source_process_handle: HANDLE,
        source_handle: HANDLE,
        target_process_handle: HANDLE,
        target_handle: &mut HANDLE,
        desired_access: u32,
        inherit_handle: bool,
        options: u32,
    ) -> BOOL;
    /// SetHandleInformation.
    async fn set_handle_information(&self, h_object: HANDLE, mask: u32, flags: u32) -> BOOL;

    /// CreateEvent.
    async fn create_event(
        &self,
        event_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        initial_state: bool,
        name: Option<&str>,
    ) -> HANDLE;
    /// SetEvent.
    async fn set_event(&self, h_event: HANDLE) -> BOOL;
    /// ResetEvent.
    async fn reset_event(&self, h_event: HANDLE) -> BOOL;
    /// CreateMutex.
    async fn create_mutex(
        &self,
        mutex_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_owner: bool,
        name: Option<&str>,
    ) -> HANDLE;
    /// ReleaseMutex.
    async fn release_mutex(&self, h_mutex: HANDLE) -> BOOL;
    /// CreateSemaphore.
    async fn create_semaphore(
        &self,
        semaphore_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_count: i32,
        maximum_count: i32,
        name: Option<&str>,
    ) -> HANDLE;
    /// ReleaseSemaphore.
    async fn release_semaphore(
        &self,
        h_semaphore: HANDLE,
        release_count: i32,
        previous_count: Option<&mut i32>,
    ) -> BOOL;

    /// WaitForSingleObject. Time-outs are virtual in the simulator, real natively.
    async fn wait_for_single_object(&self, h_handle: HANDLE, milliseconds: u32) -> u32;
    /// WaitForMultipleObjects (`nCount` is `handles.len()`).
    async fn wait_for_multiple_objects(&self, handles: &[HANDLE], wait_all: bool, milliseconds: u32) -> u32;
    /// Sleep.
    async fn sleep(&self, milliseconds: u32);

    /// CreateThread: `start` receives the new thread's own backend value; its return
    /// value is the exit code. Natively the body runs on its own OS thread, so `start`
    /// is `Send`; the future it returns need not be.
    async fn create_thread<F, Fut>(
        &self,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        stack_size: usize,
        start: F,
        creation_flags: u32,
        thread_id: Option<&mut u32>,
    ) -> HANDLE
    where
        F: FnOnce(Self) -> Fut + Send + 'static,
        Fut: Future<Output = u32> + 'static;
    /// GetExitCodeThread.
    async fn get_exit_code_thread(&self, h_thread: HANDLE, exit_code: &mut u32) -> BOOL;

    /// CreateNamedPipe.
    #[allow(clippy::too_many_arguments)]
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
    ) -> HANDLE;
    /// ConnectNamedPipe, synchronous (no OVERLAPPED).
    async fn connect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL;
    /// DisconnectNamedPipe.
    async fn disconnect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL;
    /// WaitNamedPipe.
    async fn wait_named_pipe(&self, name: &str, time_out: u32) -> BOOL;
    /// CreateFile (of `\\.\pipe\NAME` in the simulator).
    #[allow(clippy::too_many_arguments)]
    async fn create_file(
        &self,
        file_name: &str,
        desired_access: u32,
        share_mode: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
        creation_disposition: u32,
        flags_and_attributes: u32,
        template_file: HANDLE,
    ) -> HANDLE;
    /// SetNamedPipeHandleState.
    async fn set_named_pipe_handle_state(
        &self,
        h_named_pipe: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> BOOL;

    /// CreateProcess of a registered program: the first token of `command_line` names
    /// it (an unknown name fails with ERROR_FILE_NOT_FOUND in both backends; natively the
    /// registry stands for the file system). `application_name` must be `None`.
    #[allow(clippy::too_many_arguments)]
    async fn create_process(
        &self,
        command_line: &str,
        process_attributes: Option<&SECURITY_ATTRIBUTES>,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        inherit_handles: bool,
        creation_flags: u32,
        startup_info: &STARTUPINFO,
        process_information: &mut PROCESS_INFORMATION,
    ) -> BOOL;
    /// GetExitCodeProcess.
    async fn get_exit_code_process(&self, h_process: HANDLE, exit_code: &mut u32) -> BOOL;
    /// CreateMailslot: the server (read) handle of `\\.\mailslot\NAME` (§18).
    async fn create_mailslot(
        &self,
        name: Option<&str>,
        max_message_size: u32,
        read_timeout: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
    ) -> HANDLE;
    /// GetMailslotInfo; each out-parameter may be `None` (§18.3).
    async fn get_mailslot_info(
        &self,
        h_mailslot: HANDLE,
        max_message_size: Option<&mut u32>,
        next_size: Option<&mut u32>,
        message_count: Option<&mut u32>,
        read_timeout: Option<&mut u32>,
    ) -> BOOL;
    /// SetMailslotInfo: the read time-out of later reads (§18.14).
    async fn set_mailslot_info(&self, h_mailslot: HANDLE, read_timeout: u32) -> BOOL;

    // ----- file mappings, views and process memory (§§19, 29) -----------------------

    /// CreateFileMapping: `h_file` INVALID_HANDLE_VALUE for a pagefile-backed section, or
    /// a file handle (in the simulator, a file of the in-memory volume, §28.14).
    async fn create_file_mapping(
        &self,
        h_file: HANDLE,
        file_mapping_attributes: Option<&SECURITY_ATTRIBUTES>,
        fl_protect: u32,
        maximum_size_high: u32,
        maximum_size_low: u32,
        name: Option<&str>,
    ) -> HANDLE;
    /// OpenFileMapping.
    async fn open_file_mapping(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE;
    /// MapViewOfFile: the view's address (0 for NULL). Addresses differ between the
    /// backends: a program uses them, it never compares them with constants.
    async fn map_view_of_file(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
    ) -> usize;
    /// MapViewOfFileEx.
    async fn map_view_of_file_ex(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
        base_address: usize,
    ) -> usize;
    /// UnmapViewOfFile.
    async fn unmap_view_of_file(&self, base_address: usize) -> BOOL;
    /// FlushViewOfFile.
    async fn flush_view_of_file(&self, base_address: usize, number_of_bytes_to_flush: usize) -> BOOL;
    /// Reads memory at `address` (a `memcpy` out of a view or an allocation). An address
    /// that cannot be read is an access violation: the simulator ends the run with
    /// `Outcome::AccessViolation`, natively the process dies, so a portable program only
    /// touches memory it mapped or committed.
    async fn read_memory(&self, address: usize, buffer: &mut [u8]);
    /// Writes memory at `address` (as [`Win32::read_memory`], for stores).
    async fn write_memory(&self, address: usize, data: &[u8]);
    /// InterlockedIncrement of the LONG at `addend`: the new value.
    async fn interlocked_increment(&self, addend: usize) -> i32;
    /// InterlockedCompareExchange of the LONG at `destination`: the initial value.
    async fn interlocked_compare_exchange(&self, destination: usize, exchange: i32, comparand: i32) -> i32;
    /// VirtualAlloc: the base address (0 for NULL).
    async fn virtual_alloc(&self, lp_address: usize, dw_size: usize, fl_allocation_type: u32, fl_protect: u32)
    -> usize;
    /// VirtualFree.
    async fn virtual_free(&self, lp_address: usize, dw_size: usize, dw_free_type: u32) -> BOOL;
    /// VirtualQuery: the bytes written to `lp_buffer` (0 on failure).
    async fn virtual_query(
        &self,
        lp_address: usize,
        lp_buffer: &mut MEMORY_BASIC_INFORMATION,
        dw_length: usize,
    ) -> usize;
    /// VirtualProtect.
    async fn virtual_protect(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_new_protect: u32,
        lpfl_old_protect: &mut u32,
    ) -> BOOL;

    // ----- files on paths (§28) -------------------------------------------------------

    /// SetFilePointer.
    async fn set_file_pointer(
        &self,
        h_file: HANDLE,
        distance_to_move: i32,
        distance_to_move_high: Option<&mut i32>,
        move_method: u32,
    ) -> u32;
    /// SetFilePointerEx.
    async fn set_file_pointer_ex(
        &self,
        h_file: HANDLE,
        distance_to_move: i64,
        new_file_pointer: Option<&mut i64>,
        move_method: u32,
    ) -> BOOL;
    /// SetEndOfFile.
    async fn set_end_of_file(&self, h_file: HANDLE) -> BOOL;
    /// GetFileSize.
    async fn get_file_size(&self, h_file: HANDLE, file_size_high: Option<&mut u32>) -> u32;
    /// GetFileSizeEx.
    async fn get_file_size_ex(&self, h_file: HANDLE, file_size: Option<&mut i64>) -> BOOL;
    /// GetFileType.
    async fn get_file_type(&self, h_file: HANDLE) -> u32;
    /// DeleteFile.
    async fn delete_file(&self, file_name: &str) -> BOOL;
    /// CreateDirectory.
    async fn create_directory(&self, path_name: &str, security_attributes: Option<&SECURITY_ATTRIBUTES>) -> BOOL;
    /// RemoveDirectory.
    async fn remove_directory(&self, path_name: &str) -> BOOL;

    // ----- overlapped I/O and completion ports (§16) ---------------------------------

    /// An OVERLAPPED: the simulator's [`crate::api::Overlapped`], natively a structure at a
    /// stable address that the kernel writes when the operation completes. Cloning gives
    /// the same OVERLAPPED. As on Windows, it must outlive the operation that uses it: a
    /// program waits for (or cancels and waits for) every operation it started.
    type Overlapped: Clone + 'static;
    /// A buffer an overlapped read fills when it completes: the simulator's
    /// [`crate::api::IoBuffer`], natively a heap buffer at a stable address.
    type IoBuffer: Clone + 'static;
    /// A new OVERLAPPED whose `hEvent` is `h_event` (NULL for none), offset 0.
    fn new_overlapped(&self, h_event: HANDLE) -> Self::Overlapped;
    /// A new zeroed buffer of `len` bytes for overlapped reads.
    fn new_io_buffer(&self, len: usize) -> Self::IoBuffer;
    /// The first `n` bytes of an I/O buffer (read once the operation has completed).
    fn io_buffer_head(&self, buffer: &Self::IoBuffer, n: usize) -> Vec<u8>;
    /// HasOverlappedIoCompleted: `Internal != STATUS_PENDING`.
    fn has_overlapped_io_completed(&self, overlapped: &Self::Overlapped) -> bool;
    /// Whether two OVERLAPPED values are the same structure (what comparing the pointers
    /// GetQueuedCompletionStatus returns does).
    fn same_overlapped(&self, a: &Self::Overlapped, b: &Self::Overlapped) -> bool;
    /// ReadFile with an OVERLAPPED (the handle opened with FILE_FLAG_OVERLAPPED).
    async fn read_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &Self::IoBuffer,
        bytes_read: Option<&mut u32>,
        overlapped: &Self::Overlapped,
    ) -> BOOL;
    /// WriteFile with an OVERLAPPED. Natively the bytes are copied into storage the
    /// OVERLAPPED keeps until its next operation, so `buffer` need not outlive the call.
    async fn write_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        bytes_written: Option<&mut u32>,
        overlapped: &Self::Overlapped,
    ) -> BOOL;
    /// ConnectNamedPipe with an OVERLAPPED.
    async fn connect_named_pipe_overlapped(&self, h_named_pipe: HANDLE, overlapped: &Self::Overlapped) -> BOOL;
    /// GetOverlappedResult.
    async fn get_overlapped_result(
        &self,
        h_file: HANDLE,
        overlapped: &Self::Overlapped,
        number_of_bytes_transferred: &mut u32,
        wait: bool,
    ) -> BOOL;
    /// CancelIo.
    async fn cancel_io(&self, h_file: HANDLE) -> BOOL;
    /// CancelIoEx.
    async fn cancel_io_ex(&self, h_file: HANDLE, overlapped: Option<&Self::Overlapped>) -> BOOL;
    /// CreateIoCompletionPort.
    async fn create_io_completion_port(
        &self,
        file_handle: HANDLE,
        existing_completion_port: HANDLE,
        completion_key: usize,
        number_of_concurrent_threads: u32,
    ) -> HANDLE;
    /// GetQueuedCompletionStatus: `*overlapped` is the packet's OVERLAPPED (None for a
    /// time-out or a posted packet without one).
    async fn get_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: &mut u32,
        completion_key: &mut usize,
        overlapped: &mut Option<Self::Overlapped>,
        milliseconds: u32,
    ) -> BOOL;
    /// PostQueuedCompletionStatus.
    async fn post_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: u32,
        completion_key: usize,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL;

    // ----- Winsock over loopback (§22) --------------------------------------------------

    /// WSAStartup: 0, or the error.
    async fn wsa_startup(&self, w_version_requested: u16, lp_wsa_data: Option<&mut WSADATA>) -> i32;
    /// WSACleanup.
    async fn wsa_cleanup(&self) -> i32;
    /// WSAGetLastError.
    fn wsa_get_last_error(&self) -> i32;
    /// socket.
    async fn socket(&self, af: i32, ty: i32, protocol: i32) -> SOCKET;
    /// bind.
    async fn bind(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32;
    /// listen.
    async fn listen(&self, s: SOCKET, backlog: i32) -> i32;
    /// accept.
    async fn accept(&self, s: SOCKET, addr: Option<&mut SOCKADDR_IN>, addrlen: Option<&mut i32>) -> SOCKET;
    /// connect.
    async fn connect(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32;
    /// recv (`len` at most `buf.len()`).
    async fn recv(&self, s: SOCKET, buf: &mut [u8], len: i32, flags: i32) -> i32;
    /// recvfrom.
    #[allow(clippy::too_many_arguments)]
    async fn recvfrom(
        &self,
        s: SOCKET,
        buf: &mut [u8],
        len: i32,
        flags: i32,
        from: Option<&mut SOCKADDR_IN>,
        fromlen: Option<&mut i32>,
    ) -> i32;
    /// send (`len` at most `buf.len()`).
    async fn send(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32) -> i32;
    /// sendto.
    async fn sendto(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32, to: Option<&SOCKADDR_IN>, tolen: i32) -> i32;
    /// shutdown.
    async fn shutdown(&self, s: SOCKET, how: i32) -> i32;
    /// closesocket.
    async fn closesocket(&self, s: SOCKET) -> i32;
    /// getsockname.
    async fn getsockname(&self, s: SOCKET, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32;
    /// ioctlsocket (FIONBIO, FIONREAD).
    async fn ioctlsocket(&self, s: SOCKET, cmd: i32, argp: Option<&mut u32>) -> i32;

    // ----- thread messages (§17) --------------------------------------------------------

    /// GetCurrentThreadId.
    fn get_current_thread_id(&self) -> u32;
    /// PostThreadMessage.
    async fn post_thread_message(&self, id_thread: u32, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL;
    /// PostQuitMessage.
    async fn post_quit_message(&self, exit_code: i32);
    /// GetMessage: nonzero for a message, 0 for WM_QUIT, -1 on error.
    async fn get_message(&self, msg: &mut MSG, hwnd: HWND, msg_filter_min: u32, msg_filter_max: u32) -> BOOL;
    /// PeekMessage.
    async fn peek_message(
        &self,
        msg: &mut MSG,
        hwnd: HWND,
        msg_filter_min: u32,
        msg_filter_max: u32,
        remove_msg: u32,
    ) -> BOOL;

    // Windows and window messages (§17).
    /// RegisterClassEx of a class with only a name and a procedure: the class atom, or 0.
    /// The atom's value differs between the backends.
    async fn register_class(&self, class_name: &str, wnd_proc: WindowProc<Self>) -> ATOM;
    /// UnregisterClass (of a class this process registered).
    async fn unregister_class(&self, class_name: &str) -> BOOL;
    /// CreateWindowEx (natively with the executable's module as hInstance and no
    /// lpParam).
    #[allow(clippy::too_many_arguments)]
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
    ) -> HWND;
    /// DestroyWindow.
    async fn destroy_window(&self, hwnd: HWND) -> BOOL;
    /// IsWindow.
    async fn is_window(&self, hwnd: HWND) -> BOOL;
    /// GetWindowThreadProcessId.
    async fn get_window_thread_process_id(&self, hwnd: HWND, process_id: Option<&mut u32>) -> u32;
    /// DefWindowProc.
    async fn def_window_proc(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT;
    /// PostMessage.
    async fn post_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL;
    /// SendMessage.
    async fn send_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT;
    /// SendMessageTimeout.
    #[allow(clippy::too_many_arguments)]
    async fn send_message_timeout(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        flags: u32,
        timeout: u32,
        result: Option<&mut usize>,
    ) -> LRESULT;
    /// SendNotifyMessage.
    async fn send_notify_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL;
    /// SendMessageCallback (natively with a callback, dwData is the address of a box
    /// holding the callback and `data`, and the callback gets `data` back).
    async fn send_message_callback(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        result_callback: Option<SendAsyncProc<Self>>,
        data: usize,
    ) -> BOOL;
    /// DispatchMessage.
    async fn dispatch_message(&self, msg: &MSG) -> LRESULT;
    /// TranslateMessage.
    async fn translate_message(&self, msg: &MSG) -> BOOL;
    /// InSendMessage.
    fn in_send_message(&self) -> BOOL;
    /// ReplyMessage.
    async fn reply_message(&self, result: LRESULT) -> BOOL;

    // User-mode locks (§20). The values are user memory on Windows; here they are
    // handles to that memory that every thread of the process may share: cloning one
    // gives the same lock (as passing its address would), and they are `Send` so a thread
    // body may capture them.
    /// A CRITICAL_SECTION's storage, shared by its clones.
    type CriticalSection: Clone + Send + Sync + 'static;
    /// An SRWLOCK, shared by its clones.
    type SrwLock: Clone + Send + Sync + 'static;
    /// A CONDITION_VARIABLE, shared by its clones.
    type ConditionVariable: Clone + Send + Sync + 'static;
    /// Storage for a new CRITICAL_SECTION, not yet initialised.
    fn new_critical_section(&self) -> Self::CriticalSection;
    /// A new SRWLOCK, SRWLOCK_INIT.
    fn new_srw_lock(&self) -> Self::SrwLock;
    /// A new CONDITION_VARIABLE, CONDITION_VARIABLE_INIT.
    fn new_condition_variable(&self) -> Self::ConditionVariable;
    /// InitializeCriticalSection.
    async fn initialize_critical_section(&self, cs: &Self::CriticalSection);
    /// EnterCriticalSection.
    async fn enter_critical_section(&self, cs: &Self::CriticalSection);
    /// TryEnterCriticalSection.
    async fn try_enter_critical_section(&self, cs: &Self::CriticalSection) -> BOOL;
    /// LeaveCriticalSection.
    async fn leave_critical_section(&self, cs: &Self::CriticalSection);
    /// DeleteCriticalSection.
    async fn delete_critical_section(&self, cs: &Self::CriticalSection);
    /// AcquireSRWLockExclusive.
    async fn acquire_srw_lock_exclusive(&self, lock: &Self::SrwLock);
    /// AcquireSRWLockShared.
    async fn acquire_srw_lock_shared(&self, lock: &Self::SrwLock);
    /// TryAcquireSRWLockExclusive (a BOOLEAN on Windows, TRUE or FALSE here).
    async fn try_acquire_srw_lock_exclusive(&self, lock: &Self::SrwLock) -> BOOL;
    /// TryAcquireSRWLockShared (a BOOLEAN on Windows, TRUE or FALSE here).
    async fn try_acquire_srw_lock_shared(&self, lock: &Self::SrwLock) -> BOOL;
    /// ReleaseSRWLockExclusive.
    async fn release_srw_lock_exclusive(&self, lock: &Self::SrwLock);
    /// ReleaseSRWLockShared.
    async fn release_srw_lock_shared(&self, lock: &Self::SrwLock);
    /// SleepConditionVariableCS.
    async fn sleep_condition_variable_cs(
        &self,
        cv: &Self::ConditionVariable,
        cs: &Self::CriticalSection,
        milliseconds: u32,
    ) -> BOOL;
    /// SleepConditionVariableSRW.
    async fn sleep_condition_variable_srw(
        &self,
        cv: &Self::ConditionVariable,
        lock: &Self::SrwLock,
        milliseconds: u32,
        flags: u32,
    ) -> BOOL;
    /// WakeConditionVariable.
    async fn wake_condition_variable(&self, cv: &Self::ConditionVariable);
    /// WakeAllConditionVariable.
    async fn wake_all_condition_variable(&self, cv: &Self::ConditionVariable);

    // COM initialisation bookkeeping (docs/semantics.md §21, CI-*): apartments only, no
    // objects.
    /// CoInitializeEx (`reserved` stands for pvReserved: natively that value is passed as
    /// the pointer).
    async fn co_initialize_ex(&self, reserved: Option<usize>, coinit: u32) -> crate::error::HRESULT;
    /// CoUninitialize.
    async fn co_uninitialize(&self);
    /// CoGetApartmentType.
    async fn co_get_apartment_type(
        &self,
        apt_type: Option<&mut i32>,
        qualifier: Option<&mut i32>,
    ) -> crate::error::HRESULT;

    // COM objects and cross-apartment calls (docs/semantics.md §21.6-§21.8, §21.16,
    // §21.19, §21.24, §21.25), through a class factory: IClassFactory's proxy and stub
    // ship with Windows, so the object marshals between apartments without a proxy DLL.

    /// A COM interface pointer: the simulator's [`crate::objects::com::ComPtr`], natively the pointer's
    /// value (a case never logs it).
    type ComPtr: Copy + Send + 'static;
    /// An IStream pointer holding marshal data.
    type IStream: Copy + Send + 'static;
    /// A class object made in the calling apartment, as an IClassFactory: in the simulator
    /// CoGetClassObject(CLSID_Toy, CLSCTX_INPROC_SERVER, NULL, IID_IClassFactory) (its
    /// objects are toy objects); natively a class factory written in Rust whose objects
    /// answer IID_IUnknown only, so a case asks the objects it makes for IID_IUnknown and
    /// IID_IClassFactory (E_NOINTERFACE on both backends) alone. `None` if it could not
    /// be made (the simulator: no apartment).
    async fn new_class_factory(&self) -> Option<Self::ComPtr>;
    /// CoMarshalInterThreadInterfaceInStream.
    async fn co_marshal_inter_thread_interface_in_stream(
        &self,
        riid: &IID,
        unk: Option<Self::ComPtr>,
        stream: Option<&mut Option<Self::IStream>>,
    ) -> crate::error::HRESULT;
    /// CoGetInterfaceAndReleaseStream.
    async fn co_get_interface_and_release_stream(
        &self,
        stream: Option<Self::IStream>,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// IClassFactory::CreateInstance (through a proxy: a call into the factory's apartment).
    async fn iclassfactory_create_instance(
        &self,
        this: Self::ComPtr,
        unk_outer: Option<Self::ComPtr>,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// IUnknown::QueryInterface.
    async fn query_interface(
        &self,
        this: Self::ComPtr,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// IUnknown::AddRef: the count it returns (a proxy's is its proxy manager's).
    async fn add_ref(&self, this: Self::ComPtr) -> u32;
    /// IUnknown::Release: the count it returns.
    async fn release(&self, this: Self::ComPtr) -> u32;
    /// CoDisconnectObject.
    async fn co_disconnect_object(&self, unk: Option<Self::ComPtr>, reserved: u32) -> crate::error::HRESULT;
    /// CoLockObjectExternal.
    async fn co_lock_object_external(
        &self,
        unk: Option<Self::ComPtr>,
        f_lock: bool,
        f_last_unlock_releases: bool,
    ) -> crate::error::HRESULT;
    /// CoCreateInstance (natively only the system's classes exist: a case asks for
    /// CLSID_StdGlobalInterfaceTable, never CLSID_Toy).
    async fn co_create_instance(
        &self,
        rclsid: &crate::objects::com::CLSID,
        unk_outer: Option<Self::ComPtr>,
        cls_context: u32,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// CreateStreamOnHGlobal(NULL, TRUE, ppstm).
    async fn create_stream_on_hglobal(&self, stream: Option<&mut Option<Self::IStream>>) -> crate::error::HRESULT;
    /// IStream::Seek to the start.
    async fn istream_seek_start(&self, this: Self::IStream) -> crate::error::HRESULT;
    /// IStream::Release (the count it returns differs between the backends: not compared).
    async fn istream_release(&self, this: Self::IStream) -> u32;
    /// CoMarshalInterface.
    async fn co_marshal_interface(
        &self,
        stream: Option<Self::IStream>,
        riid: &IID,
        unk: Option<Self::ComPtr>,
        dest_context: u32,
        dest_context_reserved: Option<usize>,
        mshlflags: u32,
    ) -> crate::error::HRESULT;
    /// CoUnmarshalInterface.
    async fn co_unmarshal_interface(
        &self,
        stream: Option<Self::IStream>,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// CoReleaseMarshalData.
    async fn co_release_marshal_data(&self, stream: Option<Self::IStream>) -> crate::error::HRESULT;
    /// IGlobalInterfaceTable::RegisterInterfaceInGlobal.
    async fn register_interface_in_global(
        &self,
        git: Self::ComPtr,
        unk: Option<Self::ComPtr>,
        riid: &IID,
        cookie: Option<&mut u32>,
    ) -> crate::error::HRESULT;
    /// IGlobalInterfaceTable::GetInterfaceFromGlobal.
    async fn get_interface_from_global(
        &self,
        git: Self::ComPtr,
        cookie: u32,
        riid: &IID,
        ppv: Option<&mut Option<Self::ComPtr>>,
    ) -> crate::error::HRESULT;
    /// IGlobalInterfaceTable::RevokeInterfaceFromGlobal.
    async fn revoke_interface_from_global(&self, git: Self::ComPtr, cookie: u32) -> crate::error::HRESULT;

    // ----- waitable timers (§14) -------------------------------------------------------

    /// CreateWaitableTimer.
    async fn create_waitable_timer(
        &self,
        timer_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        timer_name: Option<&str>,
    ) -> HANDLE;
    /// OpenWaitableTimer.
    async fn open_waitable_timer(&self, desired_access: u32, inherit_handle: bool, timer_name: Option<&str>) -> HANDLE;
    /// SetWaitableTimer: `due_time` is the LARGE_INTEGER pDueTime points to (negative:
    /// relative, in 100-ns units); natively the routine gets the expiry's FILETIME halves,
    /// and lpArgToCompletionRoutine is the backend's own.
    async fn set_waitable_timer(
        &self,
        h_timer: HANDLE,
        due_time: i64,
        period: i32,
        completion_routine: Option<TimerRoutine<Self>>,
        resume: bool,
    ) -> BOOL;
    /// CancelWaitableTimer.
    async fn cancel_waitable_timer(&self, h_timer: HANDLE) -> BOOL;

    // ----- APCs and alertable waits (§§16.34-16.41) -------------------------------------

    /// SleepEx: 0, or WAIT_IO_COMPLETION after running the thread's queued APCs.
    async fn sleep_ex(&self, milliseconds: u32, alertable: bool) -> u32;
    /// WaitForSingleObjectEx.
    async fn wait_for_single_object_ex(&self, h_handle: HANDLE, milliseconds: u32, alertable: bool) -> u32;
    /// WaitForMultipleObjectsEx.
    async fn wait_for_multiple_objects_ex(
        &self,
        handles: &[HANDLE],
        wait_all: bool,
        milliseconds: u32,
        alertable: bool,
    ) -> u32;
    /// QueueUserAPC: nonzero on success (natively the routine and `data` travel in a box
    /// whose address is the APC's argument).
    async fn queue_user_apc(&self, pfn_apc: ApcRoutine<Self>, h_thread: HANDLE, data: usize) -> u32;
    /// ReadFileEx: the bytes reach `buffer`; the routine runs in an alertable wait of this
    /// thread once the read completed.
    async fn read_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &Self::IoBuffer,
        overlapped: &Self::Overlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL;
    /// WriteFileEx (natively the bytes are kept with the OVERLAPPED, as for
    /// [`Win32::write_file_overlapped`]).
    async fn write_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        overlapped: &Self::Overlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL;

    // ----- window and thread timers (§17.N) ---------------------------------------------

    /// SetTimer without a TIMERPROC (lpTimerFunc NULL: WM_TIMER goes to the window
    /// procedure, or to GetMessage for a thread timer). A thread timer's id is the
    /// system's choice and differs between the backends.
    async fn set_timer(&self, hwnd: HWND, id_event: usize, elapse: u32) -> usize;
    /// KillTimer.
    async fn kill_timer(&self, hwnd: HWND, id_event: usize) -> BOOL;
    /// SetTimer with a TIMERPROC (None: as [`Win32::set_timer`]). The WM_TIMER's lParam
    /// is the system's (natively the procedure's address): a case logs only whether it is
    /// set. Natively the procedure is found by window and timer id, so it is kept until
    /// KillTimer or a SetTimer of the same id.
    async fn set_timer_with_proc(
        &self,
        hwnd: HWND,
        id_event: usize,
        elapse: u32,
        timer_func: Option<TimerProc<Self>>,
    ) -> usize;

    // ----- windows of other processes (§17.P) -------------------------------------------

    /// FindWindowEx (`parent` HWND_MESSAGE searches the message-only windows).
    async fn find_window_ex(
        &self,
        parent: HWND,
        child_after: HWND,
        class_name: Option<&str>,
        window_name: Option<&str>,
    ) -> HWND;
    /// SendMessage(hwnd, WM_COPYDATA, w_param, &COPYDATASTRUCT).
    async fn send_message_copydata(&self, hwnd: HWND, w_param: WPARAM, data: &COPYDATASTRUCT) -> LRESULT;
    /// In a window procedure running WM_COPYDATA, the data its lParam points to (natively
    /// read from the receiver's copy; None for an lParam of 0).
    fn copydata(&self, l_param: LPARAM) -> Option<COPYDATASTRUCT>;

    // ----- overlapped Winsock (§§22.40-22.44) -------------------------------------------

    /// WSARecv with one WSABUF (`buffer`); a completion routine runs as an APC on this
    /// thread with the Winsock error (0 on success), the bytes and the OVERLAPPED
    /// (natively dwFlags is dropped).
    #[allow(clippy::too_many_arguments)]
    async fn wsa_recv(
        &self,
        s: SOCKET,
        buffer: &Self::IoBuffer,
        number_of_bytes_recvd: Option<&mut u32>,
        flags: &mut u32,
        overlapped: Option<&Self::Overlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32;
    /// WSASend with one WSABUF (natively the bytes are kept with the OVERLAPPED while the
    /// send runs); a completion routine as for [`Win32::wsa_recv`].
    #[allow(clippy::too_many_arguments)]
    async fn wsa_send(
        &self,
        s: SOCKET,
        buffer: &[u8],
        number_of_bytes_sent: Option<&mut u32>,
        flags: u32,
        overlapped: Option<&Self::Overlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32;
    /// WSAGetOverlappedResult.
    async fn wsa_get_overlapped_result(
        &self,
        s: SOCKET,
        overlapped: &Self::Overlapped,
        transfer: &mut u32,
        wait: bool,
        flags: &mut u32,
    ) -> BOOL;
    /// AcceptEx (§22.42): `output_buffer` must hold the three lengths (natively the kernel
    /// writes that much of it; the simulator fails a shorter one with WSAEFAULT).
    #[allow(clippy::too_many_arguments)]
    async fn accept_ex(
        &self,
        listen_socket: SOCKET,
        accept_socket: SOCKET,
        output_buffer: Option<&Self::IoBuffer>,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        bytes_received: Option<&mut u32>,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL;
    /// GetAcceptExSockaddrs: the local and remote addresses a completed AcceptEx wrote
    /// into its buffer (an address left out keeps its old value).
    fn get_accept_ex_sockaddrs(
        &self,
        output_buffer: &Self::IoBuffer,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        local_sockaddr: &mut SOCKADDR_IN,
        remote_sockaddr: &mut SOCKADDR_IN,
    );
    /// ConnectEx (§22.43; natively found with WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER),
    /// the send buffer's bytes kept with the OVERLAPPED as for
    /// [`Win32::write_file_overlapped`]).
    async fn connect_ex(
        &self,
        s: SOCKET,
        name: Option<&SOCKADDR_IN>,
        namelen: i32,
        send_buffer: Option<&[u8]>,
        bytes_sent: Option<&mut u32>,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL;
}

// The simulator's lock values (`CRITICAL_SECTION`, `SRWLOCK`, `CONDITION_VARIABLE` of
// `crate::api`) are `Rc`-shared, so they cannot be captured by the `Send` thread bodies
// of [`Win32::create_thread`]. Through the trait a program holds a `Send` token instead:
// the index of the value in a table of the OS thread that runs the simulation (every
// simulated thread runs there). The table only grows, by one entry per lock a program
// makes through the trait; a token is never reused, so two runs on one OS thread cannot
// mix their locks. Nothing about a token reaches a trace.
thread_local! {
    static SIM_CRITICAL_SECTIONS: std::cell::RefCell<Vec<crate::api::CRITICAL_SECTION>> =
        const { std::cell::RefCell::new(Vec::new()) };
    static SIM_SRW_LOCKS: std::cell::RefCell<Vec<crate::api::SRWLOCK>> = const { std::cell::RefCell::new(Vec::new()) };
    static SIM_CONDITION_VARIABLES: std::cell::RefCell<Vec<crate::api::CONDITION_VARIABLE>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Through [`Win32`], the simulator's CRITICAL_SECTION: a token for a
/// [`crate::api::CRITICAL_SECTION`] of the simulating OS thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimCriticalSection(usize);

/// Through [`Win32`], the simulator's SRWLOCK: a token for a [`crate::api::SRWLOCK`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimSrwLock(usize);

/// Through [`Win32`], the simulator's CONDITION_VARIABLE: a token for a
/// [`crate::api::CONDITION_VARIABLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimConditionVariable(usize);

fn sim_cs(t: &SimCriticalSection) -> crate::api::CRITICAL_SECTION {
    SIM_CRITICAL_SECTIONS.with(|v| v.borrow()[t.0].clone())
}

fn sim_srw(t: &SimSrwLock) -> crate::api::SRWLOCK {
    SIM_SRW_LOCKS.with(|v| v.borrow()[t.0].clone())
}

fn sim_cv(t: &SimConditionVariable) -> crate::api::CONDITION_VARIABLE {
    SIM_CONDITION_VARIABLES.with(|v| v.borrow()[t.0].clone())
}

impl Win32 for ThreadCtx {
    fn get_last_error(&self) -> u32 {
        ThreadCtx::get_last_error(self).0
    }
    fn set_last_error(&self, code: u32) {
        ThreadCtx::set_last_error(self, code);
    }
    fn get_current_process(&self) -> HANDLE {
        ThreadCtx::get_current_process(self)
    }
    fn get_current_process_id(&self) -> u32 {
        ThreadCtx::get_current_process_id(self)
    }
    fn get_command_line(&self) -> String {
        ThreadCtx::get_command_line(self)
    }

    async fn create_pipe(
        &self,
        read_pipe: &mut HANDLE,
        write_pipe: &mut HANDLE,
        pipe_attributes: Option<&SECURITY_ATTRIBUTES>,
        size: u32,
    ) -> BOOL {
        ThreadCtx::create_pipe(self, read_pipe, write_pipe, pipe_attributes, size).await
    }
    async fn read_file(&self, h_file: HANDLE, buffer: &mut [u8], bytes_read: Option<&mut u32>) -> BOOL {
        ThreadCtx::read_file(self, h_file, buffer, bytes_read).await
    }
    async fn write_file(&self, h_file: HANDLE, buffer: &[u8], bytes_written: Option<&mut u32>) -> BOOL {
        ThreadCtx::write_file(self, h_file, buffer, bytes_written).await
    }
    async fn peek_named_pipe(
        &self,
        h_named_pipe: HANDLE,
        buffer: Option<&mut [u8]>,
        bytes_read: Option<&mut u32>,
        total_bytes_avail: Option<&mut u32>,
        bytes_left_this_message: Option<&mut u32>,
    ) -> BOOL {
        ThreadCtx::peek_named_pipe(self, h_named_pipe, buffer, bytes_read, total_bytes_avail, bytes_left_this_message)
            .await
    }
    async fn flush_file_buffers(&self, h_file: HANDLE) -> BOOL {
        ThreadCtx::flush_file_buffers(self, h_file).await
    }
    async fn close_handle(&self, h_object: HANDLE) -> BOOL {
        ThreadCtx::close_handle(self, h_object).await
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
        ThreadCtx::duplicate_handle(
            self,
            source_process_handle,
            source_handle,
            target_process_handle,
            target_handle,
            desired_access,
            inherit_handle,
            options,
        )
        .await
    }
    async fn set_handle_information(&self, h_object: HANDLE, mask: u32, flags: u32) -> BOOL {
        ThreadCtx::set_handle_information(self, h_object, mask, flags).await
    }

    async fn create_event(
        &self,
        event_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        initial_state: bool,
        name: Option<&str>,
    ) -> HANDLE {
        ThreadCtx::create_event(self, event_attributes, manual_reset, initial_state, name).await
    }
    async fn set_event(&self, h_event: HANDLE) -> BOOL {
        ThreadCtx::set_event(self, h_event).await
    }
    async fn reset_event(&self, h_event: HANDLE) -> BOOL {
        ThreadCtx::reset_event(self, h_event).await
    }
    async fn create_mutex(
        &self,
        mutex_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_owner: bool,
        name: Option<&str>,
    ) -> HANDLE {
        ThreadCtx::create_mutex(self, mutex_attributes, initial_owner, name).await
    }
    async fn release_mutex(&self, h_mutex: HANDLE) -> BOOL {
        ThreadCtx::release_mutex(self, h_mutex).await
    }
    async fn create_semaphore(
        &self,
        semaphore_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_count: i32,
        maximum_count: i32,
        name: Option<&str>,
    ) -> HANDLE {
        ThreadCtx::create_semaphore(self, semaphore_attributes, initial_count, maximum_count, name).await
    }
    async fn release_semaphore(
        &self,
        h_semaphore: HANDLE,
        release_count: i32,
        previous_count: Option<&mut i32>,
    ) -> BOOL {
        ThreadCtx::release_semaphore(self, h_semaphore, release_count, previous_count).await
    }

    async fn wait_for_single_object(&self, h_handle: HANDLE, milliseconds: u32) -> u32 {
        ThreadCtx::wait_for_single_object(self, h_handle, milliseconds).await
    }
    async fn wait_for_multiple_objects(&self, handles: &[HANDLE], wait_all: bool, milliseconds: u32) -> u32 {
        ThreadCtx::wait_for_multiple_objects(self, handles, wait_all, milliseconds).await
    }
    async fn sleep(&self, milliseconds: u32) {
        ThreadCtx::sleep(self, milliseconds).await
    }

    async fn create_thread<F, Fut>(
        &self,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        stack_size: usize,
        start: F,
        creation_flags: u32,
        thread_id: Option<&mut u32>,
    ) -> HANDLE
    where
        F: FnOnce(Self) -> Fut + Send + 'static,
        Fut: Future<Output = u32> + 'static,
    {
        ThreadCtx::create_thread(self, thread_attributes, stack_size, start, creation_flags, thread_id).await
    }
    async fn get_exit_code_thread(&self, h_thread: HANDLE, exit_code: &mut u32) -> BOOL {
        ThreadCtx::get_exit_code_thread(self, h_thread, exit_code).await
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
        ThreadCtx::create_named_pipe(
            self,
            name,
            open_mode,
            pipe_mode,
            max_instances,
            out_buffer_size,
            in_buffer_size,
            default_time_out,
            security_attributes,
        )
        .await
    }
    async fn connect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL {
        ThreadCtx::connect_named_pipe(self, h_named_pipe, None).await
    }
    async fn disconnect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL {
        ThreadCtx::disconnect_named_pipe(self, h_named_pipe).await
    }
    async fn wait_named_pipe(&self, name: &str, time_out: u32) -> BOOL {
        ThreadCtx::wait_named_pipe(self, name, time_out).await
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
        ThreadCtx::create_file(
            self,
            file_name,
            desired_access,
            share_mode,
            security_attributes,
            creation_disposition,
            flags_and_attributes,
            template_file,
        )
        .await
    }
    async fn set_named_pipe_handle_state(
        &self,
        h_named_pipe: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> BOOL {
        ThreadCtx::set_named_pipe_handle_state(self, h_named_pipe, mode, max_collection_count, collect_data_timeout)
            .await
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
        ThreadCtx::create_process(
            self,
            None,
            Some(command_line),
            process_attributes,
            thread_attributes,
            inherit_handles,
            creation_flags,
            startup_info,
            process_information,
        )
        .await
    }
    async fn get_exit_code_process(&self, h_process: HANDLE, exit_code: &mut u32) -> BOOL {
        ThreadCtx::get_exit_code_process(self, h_process, exit_code).await
    }
    async fn create_mailslot(
        &self,
        name: Option<&str>,
        max_message_size: u32,
        read_timeout: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
    ) -> HANDLE {
        ThreadCtx::create_mailslot(self, name, max_message_size, read_timeout, security_attributes).await
    }
    async fn get_mailslot_info(
        &self,
        h_mailslot: HANDLE,
        max_message_size: Option<&mut u32>,
        next_size: Option<&mut u32>,
        message_count: Option<&mut u32>,
        read_timeout: Option<&mut u32>,
    ) -> BOOL {
        ThreadCtx::get_mailslot_info(self, h_mailslot, max_message_size, next_size, message_count, read_timeout).await
    }
    async fn set_mailslot_info(&self, h_mailslot: HANDLE, read_timeout: u32) -> BOOL {
        ThreadCtx::set_mailslot_info(self, h_mailslot, read_timeout).await
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
        ThreadCtx::create_file_mapping(
            self,
            h_file,
            file_mapping_attributes,
            fl_protect,
            maximum_size_high,
            maximum_size_low,
            name,
        )
        .await
    }
    async fn open_file_mapping(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        ThreadCtx::open_file_mapping(self, desired_access, inherit_handle, name).await
    }
    async fn map_view_of_file(
        &self,
        h_file_mapping_object: HANDLE,
        desired_access: u32,
        file_offset_high: u32,
        file_offset_low: u32,
        number_of_bytes_to_map: usize,
    ) -> usize {
        ThreadCtx::map_view_of_file(
            self,
            h_file_mapping_object,
            desired_access,
            file_offset_high,
            file_offset_low,
            number_of_bytes_to_map,
        )
        .await
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
        ThreadCtx::map_view_of_file_ex(
            self,
            h_file_mapping_object,
            desired_access,
            file_offset_high,
            file_offset_low,
            number_of_bytes_to_map,
            base_address,
        )
        .await
    }
    async fn unmap_view_of_file(&self, base_address: usize) -> BOOL {
        ThreadCtx::unmap_view_of_file(self, base_address).await
    }
    async fn flush_view_of_file(&self, base_address: usize, number_of_bytes_to_flush: usize) -> BOOL {
        ThreadCtx::flush_view_of_file(self, base_address, number_of_bytes_to_flush).await
    }
    async fn read_memory(&self, address: usize, buffer: &mut [u8]) {
        ThreadCtx::read_memory(self, address, buffer).await
    }
    async fn write_memory(&self, address: usize, data: &[u8]) {
        ThreadCtx::write_memory(self, address, data).await
    }
    async fn interlocked_increment(&self, addend: usize) -> i32 {
        ThreadCtx::interlocked_increment(self, addend).await
    }
    async fn interlocked_compare_exchange(&self, destination: usize, exchange: i32, comparand: i32) -> i32 {
        ThreadCtx::interlocked_compare_exchange(self, destination, exchange, comparand).await
    }
    async fn virtual_alloc(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_allocation_type: u32,
        fl_protect: u32,
    ) -> usize {
        ThreadCtx::virtual_alloc(self, lp_address, dw_size, fl_allocation_type, fl_protect).await
    }
    async fn virtual_free(&self, lp_address: usize, dw_size: usize, dw_free_type: u32) -> BOOL {
        ThreadCtx::virtual_free(self, lp_address, dw_size, dw_free_type).await
    }
    async fn virtual_query(
        &self,
        lp_address: usize,
        lp_buffer: &mut MEMORY_BASIC_INFORMATION,
        dw_length: usize,
    ) -> usize {
        ThreadCtx::virtual_query(self, lp_address, lp_buffer, dw_length).await
    }
    async fn virtual_protect(
        &self,
        lp_address: usize,
        dw_size: usize,
        fl_new_protect: u32,
        lpfl_old_protect: &mut u32,
    ) -> BOOL {
        ThreadCtx::virtual_protect(self, lp_address, dw_size, fl_new_protect, lpfl_old_protect).await
    }

    async fn set_file_pointer(
        &self,
        h_file: HANDLE,
        distance_to_move: i32,
        distance_to_move_high: Option<&mut i32>,
        move_method: u32,
    ) -> u32 {
        ThreadCtx::set_file_pointer(self, h_file, distance_to_move, distance_to_move_high, move_method).await
    }
    async fn set_file_pointer_ex(
        &self,
        h_file: HANDLE,
        distance_to_move: i64,
        new_file_pointer: Option<&mut i64>,
        move_method: u32,
    ) -> BOOL {
        ThreadCtx::set_file_pointer_ex(self, h_file, distance_to_move, new_file_pointer, move_method).await
    }
    async fn set_end_of_file(&self, h_file: HANDLE) -> BOOL {
        ThreadCtx::set_end_of_file(self, h_file).await
    }
    async fn get_file_size(&self, h_file: HANDLE, file_size_high: Option<&mut u32>) -> u32 {
        ThreadCtx::get_file_size(self, h_file, file_size_high).await
    }
    async fn get_file_size_ex(&self, h_file: HANDLE, file_size: Option<&mut i64>) -> BOOL {
        ThreadCtx::get_file_size_ex(self, h_file, file_size).await
    }
    async fn get_file_type(&self, h_file: HANDLE) -> u32 {
        ThreadCtx::get_file_type(self, h_file).await
    }
    async fn delete_file(&self, file_name: &str) -> BOOL {
        ThreadCtx::delete_file(self, file_name).await
    }
    async fn create_directory(&self, path_name: &str, security_attributes: Option<&SECURITY_ATTRIBUTES>) -> BOOL {
        ThreadCtx::create_directory(self, path_name, security_attributes).await
    }
    async fn remove_directory(&self, path_name: &str) -> BOOL {
        ThreadCtx::remove_directory(self, path_name).await
    }

    type Overlapped = crate::api::Overlapped;
    type IoBuffer = crate::api::IoBuffer;
    fn new_overlapped(&self, h_event: HANDLE) -> Self::Overlapped {
        crate::api::Overlapped::new(h_event)
    }
    fn new_io_buffer(&self, len: usize) -> Self::IoBuffer {
        crate::api::IoBuffer::new(len)
    }
    fn io_buffer_head(&self, buffer: &Self::IoBuffer, n: usize) -> Vec<u8> {
        buffer.head(n)
    }
    fn has_overlapped_io_completed(&self, overlapped: &Self::Overlapped) -> bool {
        overlapped.has_overlapped_io_completed()
    }
    fn same_overlapped(&self, a: &Self::Overlapped, b: &Self::Overlapped) -> bool {
        a.same(b)
    }
    async fn read_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &Self::IoBuffer,
        bytes_read: Option<&mut u32>,
        overlapped: &Self::Overlapped,
    ) -> BOOL {
        ThreadCtx::read_file_overlapped(self, h_file, buffer, bytes_read, overlapped).await
    }
    async fn write_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        bytes_written: Option<&mut u32>,
        overlapped: &Self::Overlapped,
    ) -> BOOL {
        ThreadCtx::write_file_overlapped(self, h_file, buffer, bytes_written, overlapped).await
    }
    async fn connect_named_pipe_overlapped(&self, h_named_pipe: HANDLE, overlapped: &Self::Overlapped) -> BOOL {
        ThreadCtx::connect_named_pipe(self, h_named_pipe, Some(overlapped)).await
    }
    async fn get_overlapped_result(
        &self,
        h_file: HANDLE,
        overlapped: &Self::Overlapped,
        number_of_bytes_transferred: &mut u32,
        wait: bool,
    ) -> BOOL {
        ThreadCtx::get_overlapped_result(self, h_file, overlapped, number_of_bytes_transferred, wait).await
    }
    async fn cancel_io(&self, h_file: HANDLE) -> BOOL {
        ThreadCtx::cancel_io(self, h_file).await
    }
    async fn cancel_io_ex(&self, h_file: HANDLE, overlapped: Option<&Self::Overlapped>) -> BOOL {
        ThreadCtx::cancel_io_ex(self, h_file, overlapped).await
    }
    async fn create_io_completion_port(
        &self,
        file_handle: HANDLE,
        existing_completion_port: HANDLE,
        completion_key: usize,
        number_of_concurrent_threads: u32,
    ) -> HANDLE {
        ThreadCtx::create_io_completion_port(
            self,
            file_handle,
            existing_completion_port,
            completion_key,
            number_of_concurrent_threads,
        )
        .await
    }
    async fn get_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: &mut u32,
        completion_key: &mut usize,
        overlapped: &mut Option<Self::Overlapped>,
        milliseconds: u32,
    ) -> BOOL {
        ThreadCtx::get_queued_completion_status(
            self,
            completion_port,
            number_of_bytes_transferred,
            completion_key,
            overlapped,
            milliseconds,
        )
        .await
    }
    async fn post_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: u32,
        completion_key: usize,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL {
        ThreadCtx::post_queued_completion_status(
            self,
            completion_port,
            number_of_bytes_transferred,
            completion_key,
            overlapped,
        )
        .await
    }

    async fn wsa_startup(&self, w_version_requested: u16, lp_wsa_data: Option<&mut WSADATA>) -> i32 {
        ThreadCtx::wsa_startup(self, w_version_requested, lp_wsa_data).await
    }
    async fn wsa_cleanup(&self) -> i32 {
        ThreadCtx::wsa_cleanup(self).await
    }
    fn wsa_get_last_error(&self) -> i32 {
        ThreadCtx::wsa_get_last_error(self)
    }
    async fn socket(&self, af: i32, ty: i32, protocol: i32) -> SOCKET {
        ThreadCtx::socket(self, af, ty, protocol).await
    }
    async fn bind(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        ThreadCtx::bind(self, s, name, namelen).await
    }
    async fn listen(&self, s: SOCKET, backlog: i32) -> i32 {
        ThreadCtx::listen(self, s, backlog).await
    }
    async fn accept(&self, s: SOCKET, addr: Option<&mut SOCKADDR_IN>, addrlen: Option<&mut i32>) -> SOCKET {
        ThreadCtx::accept(self, s, addr, addrlen).await
    }
    async fn connect(&self, s: SOCKET, name: Option<&SOCKADDR_IN>, namelen: i32) -> i32 {
        ThreadCtx::connect(self, s, name, namelen).await
    }
    async fn recv(&self, s: SOCKET, buf: &mut [u8], len: i32, flags: i32) -> i32 {
        ThreadCtx::recv(self, s, buf, len, flags).await
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
        ThreadCtx::recvfrom(self, s, buf, len, flags, from, fromlen).await
    }
    async fn send(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32) -> i32 {
        ThreadCtx::send(self, s, buf, len, flags).await
    }
    async fn sendto(&self, s: SOCKET, buf: &[u8], len: i32, flags: i32, to: Option<&SOCKADDR_IN>, tolen: i32) -> i32 {
        ThreadCtx::sendto(self, s, buf, len, flags, to, tolen).await
    }
    async fn shutdown(&self, s: SOCKET, how: i32) -> i32 {
        ThreadCtx::shutdown(self, s, how).await
    }
    async fn closesocket(&self, s: SOCKET) -> i32 {
        ThreadCtx::closesocket(self, s).await
    }
    async fn getsockname(&self, s: SOCKET, name: Option<&mut SOCKADDR_IN>, namelen: Option<&mut i32>) -> i32 {
        ThreadCtx::getsockname(self, s, name, namelen).await
    }
    async fn ioctlsocket(&self, s: SOCKET, cmd: i32, argp: Option<&mut u32>) -> i32 {
        ThreadCtx::ioctlsocket(self, s, cmd, argp).await
    }

    fn get_current_thread_id(&self) -> u32 {
        ThreadCtx::get_current_thread_id(self)
    }
    async fn post_thread_message(&self, id_thread: u32, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        ThreadCtx::post_thread_message(self, id_thread, msg, w_param, l_param).await
    }
    async fn post_quit_message(&self, exit_code: i32) {
        ThreadCtx::post_quit_message(self, exit_code).await
    }
    async fn get_message(&self, msg: &mut MSG, hwnd: HWND, msg_filter_min: u32, msg_filter_max: u32) -> BOOL {
        ThreadCtx::get_message(self, msg, hwnd, msg_filter_min, msg_filter_max).await
    }
    async fn peek_message(
        &self,
        msg: &mut MSG,
        hwnd: HWND,
        msg_filter_min: u32,
        msg_filter_max: u32,
        remove_msg: u32,
    ) -> BOOL {
        ThreadCtx::peek_message(self, msg, hwnd, msg_filter_min, msg_filter_max, remove_msg).await
    }

    async fn register_class(&self, class_name: &str, wnd_proc: WindowProc<Self>) -> ATOM {
        let proc = crate::api::wndproc(move |ctx, hwnd, msg, w, l| wnd_proc(ctx, hwnd, msg, w, l));
        ThreadCtx::register_class_ex(self, &crate::api::WNDCLASSEX::new(class_name, proc)).await
    }
    async fn unregister_class(&self, class_name: &str) -> BOOL {
        ThreadCtx::unregister_class(self, class_name).await
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
        ThreadCtx::create_window_ex(self, ex_style, class_name, window_name, style, x, y, width, height, parent, menu)
            .await
    }
    async fn destroy_window(&self, hwnd: HWND) -> BOOL {
        ThreadCtx::destroy_window(self, hwnd).await
    }
    async fn is_window(&self, hwnd: HWND) -> BOOL {
        ThreadCtx::is_window(self, hwnd).await
    }
    async fn get_window_thread_process_id(&self, hwnd: HWND, process_id: Option<&mut u32>) -> u32 {
        ThreadCtx::get_window_thread_process_id(self, hwnd, process_id).await
    }
    async fn def_window_proc(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT {
        ThreadCtx::def_window_proc(self, hwnd, msg, w_param, l_param).await
    }
    async fn post_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        ThreadCtx::post_message(self, hwnd, msg, w_param, l_param).await
    }
    async fn send_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT {
        ThreadCtx::send_message(self, hwnd, msg, w_param, l_param).await
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
        ThreadCtx::send_message_timeout(self, hwnd, msg, w_param, l_param, flags, timeout, result).await
    }
    async fn send_notify_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        ThreadCtx::send_notify_message(self, hwnd, msg, w_param, l_param).await
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
        let cb = result_callback
            .map(|f| crate::api::sendasyncproc(move |ctx, hwnd, msg, data, result| f(ctx, hwnd, msg, data, result)));
        ThreadCtx::send_message_callback(self, hwnd, msg, w_param, l_param, cb, data).await
    }
    async fn dispatch_message(&self, msg: &MSG) -> LRESULT {
        ThreadCtx::dispatch_message(self, msg).await
    }
    async fn translate_message(&self, msg: &MSG) -> BOOL {
        ThreadCtx::translate_message(self, msg)
    }
    fn in_send_message(&self) -> BOOL {
        ThreadCtx::in_send_message(self)
    }
    async fn reply_message(&self, result: LRESULT) -> BOOL {
        ThreadCtx::reply_message(self, result).await
    }

    type CriticalSection = SimCriticalSection;
    type SrwLock = SimSrwLock;
    type ConditionVariable = SimConditionVariable;
    fn new_critical_section(&self) -> SimCriticalSection {
        SIM_CRITICAL_SECTIONS.with(|v| {
            let mut v = v.borrow_mut();
            v.push(crate::api::CRITICAL_SECTION::default());
            SimCriticalSection(v.len() - 1)
        })
    }
    fn new_srw_lock(&self) -> SimSrwLock {
        SIM_SRW_LOCKS.with(|v| {
            let mut v = v.borrow_mut();
            v.push(crate::api::SRWLOCK_INIT());
            SimSrwLock(v.len() - 1)
        })
    }
    fn new_condition_variable(&self) -> SimConditionVariable {
        SIM_CONDITION_VARIABLES.with(|v| {
            let mut v = v.borrow_mut();
            v.push(crate::api::CONDITION_VARIABLE_INIT());
            SimConditionVariable(v.len() - 1)
        })
    }
    async fn initialize_critical_section(&self, cs: &SimCriticalSection) {
        ThreadCtx::initialize_critical_section(self, &sim_cs(cs)).await
    }
    async fn enter_critical_section(&self, cs: &SimCriticalSection) {
        ThreadCtx::enter_critical_section(self, &sim_cs(cs)).await
    }
    async fn try_enter_critical_section(&self, cs: &SimCriticalSection) -> BOOL {
        ThreadCtx::try_enter_critical_section(self, &sim_cs(cs)).await
    }
    async fn leave_critical_section(&self, cs: &SimCriticalSection) {
        ThreadCtx::leave_critical_section(self, &sim_cs(cs)).await
    }
    async fn delete_critical_section(&self, cs: &SimCriticalSection) {
        ThreadCtx::delete_critical_section(self, &sim_cs(cs)).await
    }
    async fn acquire_srw_lock_exclusive(&self, lock: &SimSrwLock) {
        ThreadCtx::acquire_srw_lock_exclusive(self, &sim_srw(lock)).await
    }
    async fn acquire_srw_lock_shared(&self, lock: &SimSrwLock) {
        ThreadCtx::acquire_srw_lock_shared(self, &sim_srw(lock)).await
    }
    async fn try_acquire_srw_lock_exclusive(&self, lock: &SimSrwLock) -> BOOL {
        ThreadCtx::try_acquire_srw_lock_exclusive(self, &sim_srw(lock)).await
    }
    async fn try_acquire_srw_lock_shared(&self, lock: &SimSrwLock) -> BOOL {
        ThreadCtx::try_acquire_srw_lock_shared(self, &sim_srw(lock)).await
    }
    async fn release_srw_lock_exclusive(&self, lock: &SimSrwLock) {
        ThreadCtx::release_srw_lock_exclusive(self, &sim_srw(lock)).await
    }
    async fn release_srw_lock_shared(&self, lock: &SimSrwLock) {
        ThreadCtx::release_srw_lock_shared(self, &sim_srw(lock)).await
    }
    async fn sleep_condition_variable_cs(
        &self,
        cv: &SimConditionVariable,
        cs: &SimCriticalSection,
        milliseconds: u32,
    ) -> BOOL {
        ThreadCtx::sleep_condition_variable_cs(self, &sim_cv(cv), &sim_cs(cs), milliseconds).await
    }
    async fn sleep_condition_variable_srw(
        &self,
        cv: &SimConditionVariable,
        lock: &SimSrwLock,
        milliseconds: u32,
        flags: u32,
    ) -> BOOL {
        ThreadCtx::sleep_condition_variable_srw(self, &sim_cv(cv), &sim_srw(lock), milliseconds, flags).await
    }
    async fn wake_condition_variable(&self, cv: &SimConditionVariable) {
        ThreadCtx::wake_condition_variable(self, &sim_cv(cv)).await
    }
    async fn wake_all_condition_variable(&self, cv: &SimConditionVariable) {
        ThreadCtx::wake_all_condition_variable(self, &sim_cv(cv)).await
    }

    async fn co_initialize_ex(&self, reserved: Option<usize>, coinit: u32) -> crate::error::HRESULT {
        ThreadCtx::co_initialize_ex(self, reserved, coinit).await
    }
    async fn co_uninitialize(&self) {
        ThreadCtx::co_uninitialize(self).await
    }
    async fn co_get_apartment_type(
        &self,
        apt_type: Option<&mut i32>,
        qualifier: Option<&mut i32>,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_get_apartment_type(self, apt_type, qualifier).await
    }

    type ComPtr = crate::objects::com::ComPtr;
    type IStream = crate::objects::com::IStream;
    async fn new_class_factory(&self) -> Option<crate::objects::com::ComPtr> {
        let mut p = None;
        ThreadCtx::co_get_class_object(self, &CLSID_Toy, CLSCTX_INPROC_SERVER, None, &IID_IClassFactory, Some(&mut p))
            .await;
        p
    }
    async fn co_marshal_inter_thread_interface_in_stream(
        &self,
        riid: &IID,
        unk: Option<crate::objects::com::ComPtr>,
        stream: Option<&mut Option<crate::objects::com::IStream>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_marshal_inter_thread_interface_in_stream(self, riid, unk, stream).await
    }
    async fn co_get_interface_and_release_stream(
        &self,
        stream: Option<crate::objects::com::IStream>,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_get_interface_and_release_stream(self, stream, riid, ppv).await
    }
    async fn iclassfactory_create_instance(
        &self,
        this: crate::objects::com::ComPtr,
        unk_outer: Option<crate::objects::com::ComPtr>,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::iclassfactory_create_instance(self, this, unk_outer, riid, ppv).await
    }
    async fn query_interface(
        &self,
        this: crate::objects::com::ComPtr,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::query_interface(self, this, riid, ppv).await
    }
    async fn add_ref(&self, this: crate::objects::com::ComPtr) -> u32 {
        ThreadCtx::add_ref(self, this).await
    }
    async fn release(&self, this: crate::objects::com::ComPtr) -> u32 {
        ThreadCtx::release(self, this).await
    }
    async fn co_disconnect_object(
        &self,
        unk: Option<crate::objects::com::ComPtr>,
        reserved: u32,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_disconnect_object(self, unk, reserved).await
    }
    async fn co_lock_object_external(
        &self,
        unk: Option<crate::objects::com::ComPtr>,
        f_lock: bool,
        f_last_unlock_releases: bool,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_lock_object_external(self, unk, f_lock, f_last_unlock_releases).await
    }
    async fn co_create_instance(
        &self,
        rclsid: &crate::objects::com::CLSID,
        unk_outer: Option<crate::objects::com::ComPtr>,
        cls_context: u32,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_create_instance(self, rclsid, unk_outer, cls_context, riid, ppv).await
    }
    async fn create_stream_on_hglobal(
        &self,
        stream: Option<&mut Option<crate::objects::com::IStream>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::create_stream_on_hglobal(self, stream).await
    }
    async fn istream_seek_start(&self, this: crate::objects::com::IStream) -> crate::error::HRESULT {
        ThreadCtx::istream_seek_start(self, this).await
    }
    async fn istream_release(&self, this: crate::objects::com::IStream) -> u32 {
        ThreadCtx::istream_release(self, this).await
    }
    async fn co_marshal_interface(
        &self,
        stream: Option<crate::objects::com::IStream>,
        riid: &IID,
        unk: Option<crate::objects::com::ComPtr>,
        dest_context: u32,
        dest_context_reserved: Option<usize>,
        mshlflags: u32,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_marshal_interface(self, stream, riid, unk, dest_context, dest_context_reserved, mshlflags).await
    }
    async fn co_unmarshal_interface(
        &self,
        stream: Option<crate::objects::com::IStream>,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::co_unmarshal_interface(self, stream, riid, ppv).await
    }
    async fn co_release_marshal_data(&self, stream: Option<crate::objects::com::IStream>) -> crate::error::HRESULT {
        ThreadCtx::co_release_marshal_data(self, stream).await
    }
    async fn register_interface_in_global(
        &self,
        git: crate::objects::com::ComPtr,
        unk: Option<crate::objects::com::ComPtr>,
        riid: &IID,
        cookie: Option<&mut u32>,
    ) -> crate::error::HRESULT {
        ThreadCtx::register_interface_in_global(self, git, unk, riid, cookie).await
    }
    async fn get_interface_from_global(
        &self,
        git: crate::objects::com::ComPtr,
        cookie: u32,
        riid: &IID,
        ppv: Option<&mut Option<crate::objects::com::ComPtr>>,
    ) -> crate::error::HRESULT {
        ThreadCtx::get_interface_from_global(self, git, cookie, riid, ppv).await
    }
    async fn revoke_interface_from_global(
        &self,
        git: crate::objects::com::ComPtr,
        cookie: u32,
    ) -> crate::error::HRESULT {
        ThreadCtx::revoke_interface_from_global(self, git, cookie).await
    }

    async fn create_waitable_timer(
        &self,
        timer_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        timer_name: Option<&str>,
    ) -> HANDLE {
        ThreadCtx::create_waitable_timer(self, timer_attributes, manual_reset, timer_name).await
    }
    async fn open_waitable_timer(&self, desired_access: u32, inherit_handle: bool, timer_name: Option<&str>) -> HANDLE {
        ThreadCtx::open_waitable_timer(self, desired_access, inherit_handle, timer_name).await
    }
    async fn set_waitable_timer(
        &self,
        h_timer: HANDLE,
        due_time: i64,
        period: i32,
        completion_routine: Option<TimerRoutine<Self>>,
        resume: bool,
    ) -> BOOL {
        let routine = completion_routine.map(|r| {
            let r: crate::kernel::request::TimerApcRoutine = std::rc::Rc::new(move |ctx, low, high| r(ctx, low, high));
            r
        });
        ThreadCtx::set_waitable_timer(self, h_timer, due_time, period, routine, resume).await
    }
    async fn cancel_waitable_timer(&self, h_timer: HANDLE) -> BOOL {
        ThreadCtx::cancel_waitable_timer(self, h_timer).await
    }

    async fn sleep_ex(&self, milliseconds: u32, alertable: bool) -> u32 {
        ThreadCtx::sleep_ex(self, milliseconds, alertable).await
    }
    async fn wait_for_single_object_ex(&self, h_handle: HANDLE, milliseconds: u32, alertable: bool) -> u32 {
        ThreadCtx::wait_for_single_object_ex(self, h_handle, milliseconds, alertable).await
    }
    async fn wait_for_multiple_objects_ex(
        &self,
        handles: &[HANDLE],
        wait_all: bool,
        milliseconds: u32,
        alertable: bool,
    ) -> u32 {
        ThreadCtx::wait_for_multiple_objects_ex(self, handles, wait_all, milliseconds, alertable).await
    }
    async fn queue_user_apc(&self, pfn_apc: ApcRoutine<Self>, h_thread: HANDLE, data: usize) -> u32 {
        ThreadCtx::queue_user_apc(self, pfn_apc, h_thread, data).await
    }
    async fn read_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &Self::IoBuffer,
        overlapped: &Self::Overlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL {
        ThreadCtx::read_file_ex(self, h_file, buffer, overlapped, move |ctx, code, n, ov| {
            completion_routine(ctx, code, n, ov)
        })
        .await
    }
    async fn write_file_ex(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        overlapped: &Self::Overlapped,
        completion_routine: IoCompletionRoutine<Self>,
    ) -> BOOL {
        ThreadCtx::write_file_ex(self, h_file, buffer, overlapped, move |ctx, code, n, ov| {
            completion_routine(ctx, code, n, ov)
        })
        .await
    }

    async fn set_timer(&self, hwnd: HWND, id_event: usize, elapse: u32) -> usize {
        ThreadCtx::set_timer(self, hwnd, id_event, elapse, None).await
    }
    async fn kill_timer(&self, hwnd: HWND, id_event: usize) -> BOOL {
        ThreadCtx::kill_timer(self, hwnd, id_event).await
    }
    async fn set_timer_with_proc(
        &self,
        hwnd: HWND,
        id_event: usize,
        elapse: u32,
        timer_func: Option<TimerProc<Self>>,
    ) -> usize {
        let proc =
            timer_func.map(|f| crate::api::timerproc(move |ctx, hwnd, msg, id, time| f(ctx, hwnd, msg, id, time)));
        ThreadCtx::set_timer(self, hwnd, id_event, elapse, proc).await
    }

    async fn find_window_ex(
        &self,
        parent: HWND,
        child_after: HWND,
        class_name: Option<&str>,
        window_name: Option<&str>,
    ) -> HWND {
        ThreadCtx::find_window_ex(self, parent, child_after, class_name, window_name).await
    }
    async fn send_message_copydata(&self, hwnd: HWND, w_param: WPARAM, data: &COPYDATASTRUCT) -> LRESULT {
        ThreadCtx::send_message_copydata(self, hwnd, w_param, data).await
    }
    fn copydata(&self, l_param: LPARAM) -> Option<COPYDATASTRUCT> {
        ThreadCtx::copydata(self, l_param)
    }

    async fn wsa_recv(
        &self,
        s: SOCKET,
        buffer: &Self::IoBuffer,
        number_of_bytes_recvd: Option<&mut u32>,
        flags: &mut u32,
        overlapped: Option<&Self::Overlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32 {
        let routine = completion_routine.map(crate::api::wsa_completion_routine);
        ThreadCtx::wsa_recv(self, s, buffer, number_of_bytes_recvd, flags, overlapped, routine).await
    }
    async fn wsa_send(
        &self,
        s: SOCKET,
        buffer: &[u8],
        number_of_bytes_sent: Option<&mut u32>,
        flags: u32,
        overlapped: Option<&Self::Overlapped>,
        completion_routine: Option<IoCompletionRoutine<Self>>,
    ) -> i32 {
        let routine = completion_routine.map(crate::api::wsa_completion_routine);
        ThreadCtx::wsa_send(self, s, buffer, number_of_bytes_sent, flags, overlapped, routine).await
    }
    async fn wsa_get_overlapped_result(
        &self,
        s: SOCKET,
        overlapped: &Self::Overlapped,
        transfer: &mut u32,
        wait: bool,
        flags: &mut u32,
    ) -> BOOL {
        ThreadCtx::wsa_get_overlapped_result(self, s, overlapped, transfer, wait, flags).await
    }
    async fn accept_ex(
        &self,
        listen_socket: SOCKET,
        accept_socket: SOCKET,
        output_buffer: Option<&Self::IoBuffer>,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        bytes_received: Option<&mut u32>,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL {
        ThreadCtx::accept_ex(
            self,
            listen_socket,
            accept_socket,
            output_buffer,
            receive_data_length,
            local_address_length,
            remote_address_length,
            bytes_received,
            overlapped,
        )
        .await
    }
    fn get_accept_ex_sockaddrs(
        &self,
        output_buffer: &Self::IoBuffer,
        receive_data_length: u32,
        local_address_length: u32,
        remote_address_length: u32,
        local_sockaddr: &mut SOCKADDR_IN,
        remote_sockaddr: &mut SOCKADDR_IN,
    ) {
        ThreadCtx::get_accept_ex_sockaddrs(
            self,
            output_buffer,
            receive_data_length,
            local_address_length,
            remote_address_length,
            local_sockaddr,
            remote_sockaddr,
        )
    }
    async fn connect_ex(
        &self,
        s: SOCKET,
        name: Option<&SOCKADDR_IN>,
        namelen: i32,
        send_buffer: Option<&[u8]>,
        bytes_sent: Option<&mut u32>,
        overlapped: Option<&Self::Overlapped>,
    ) -> BOOL {
        ThreadCtx::connect_ex(self, s, name, namelen, send_buffer, bytes_sent, overlapped).await
    }
}
