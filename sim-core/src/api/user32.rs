//! user32: window classes, windows, message queues, posted and sent messages, timers
//! (docs/semantics.md §17).
//!
//! A window procedure is an async closure (`WNDPROC`, made with [`wndproc`]): it runs on
//! the window's thread, inside that thread's GetMessage, PeekMessage, WaitMessage,
//! SendMessage or DispatchMessage, and may itself make any call, blocking ones included.
//! While a thread waits in SendMessage to another thread, messages sent to it run in the
//! middle of its SendMessage (re-entrancy), however deep the nesting.

use super::ThreadCtx;
use crate::kernel::request::{Reply, Request, Value};
use crate::objects::window::Handoff;
pub use crate::objects::window::{SENDASYNCPROC, TIMERPROC, WNDPROC};
use crate::types::*;
use std::future::Future;
use std::rc::Rc;

/// Makes a [`WNDPROC`] from an async closure:
/// `wndproc(|ctx, hwnd, msg, w, l| async move { ... 0 })`.
pub fn wndproc<F, Fut>(f: F) -> WNDPROC
where
    F: Fn(ThreadCtx, HWND, u32, WPARAM, LPARAM) -> Fut + 'static,
    Fut: Future<Output = LRESULT> + 'static,
{
    Rc::new(move |ctx, hwnd, msg, w, l| Box::pin(f(ctx, hwnd, msg, w, l)))
}

/// Makes a [`TIMERPROC`] from an async closure (hwnd, WM_TIMER, the timer id, the tick).
pub fn timerproc<F, Fut>(f: F) -> TIMERPROC
where
    F: Fn(ThreadCtx, HWND, u32, usize, u32) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Rc::new(move |ctx, hwnd, msg, id, time| Box::pin(f(ctx, hwnd, msg, id, time)))
}

/// Makes a [`SENDASYNCPROC`] from an async closure (hwnd, message, dwData, result).
pub fn sendasyncproc<F, Fut>(f: F) -> SENDASYNCPROC
where
    F: Fn(ThreadCtx, HWND, u32, usize, LRESULT) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    Rc::new(move |ctx, hwnd, msg, data, result| Box::pin(f(ctx, hwnd, msg, data, result)))
}

#[allow(non_snake_case)]
/// `WNDCLASSEX`: what winsim models of a window class, its name and procedure.
#[derive(Clone, Default)]
pub struct WNDCLASSEX {
    /// style (CS_*; kept, no effect).
    pub style: u32,
    /// lpfnWndProc.
    pub lpfnWndProc: Option<WNDPROC>,
    /// lpszClassName.
    pub lpszClassName: String,
}

impl WNDCLASSEX {
    /// A class named `name` with procedure `proc`.
    pub fn new(name: &str, proc: WNDPROC) -> WNDCLASSEX {
        WNDCLASSEX { style: 0, lpfnWndProc: Some(proc), lpszClassName: name.to_string() }
    }
}

impl ThreadCtx {
    /// Runs the user code the kernel handed to this thread: a window procedure, a
    /// TIMERPROC or a SendMessageCallback callback. A message sent by another thread has
    /// its result sent back (`WndProcReturn`) and gives `None`; a direct call gives its
    /// result.
    async fn run_handoff(&self) -> Option<LRESULT> {
        let h = self.kernel.borrow_mut().take_handoff(self.tid);
        match h {
            Some(Handoff::Proc { proc, hwnd, msg, wparam, lparam, sent: Some(serial) }) => {
                let result = proc(self.clone(), hwnd, msg, wparam, lparam).await;
                let _ = self.call(Request::WndProcReturn { sent: serial, hwnd: HWND::NULL, result }).await;
                None
            }
            Some(Handoff::Proc { proc, hwnd, msg, wparam, lparam, sent: None }) => {
                Some(proc(self.clone(), hwnd, msg, wparam, lparam).await)
            }
            Some(Handoff::Timer { proc, hwnd, id, time }) => {
                proc(self.clone(), hwnd, WM_TIMER, id, time).await;
                Some(0)
            }
            Some(Handoff::Callback { proc, hwnd, msg, data, result }) => {
                proc(self.clone(), hwnd, msg, data, result).await;
                None
            }
            Some(Handoff::Destroy { proc, hwnd }) => {
                self.finish_destroy(proc, hwnd).await;
                None
            }
            None => {
                self.kernel.borrow_mut().simulator_bug("a call handed off user code that is not there".into());
                None
            }
        }
    }

    async fn finish_destroy(&self, proc: WNDPROC, hwnd: HWND) {
        proc(self.clone(), hwnd, WM_DESTROY, 0, 0).await;
        proc(self.clone(), hwnd, WM_NCDESTROY, 0, 0).await;
        let _ = self.call(Request::WndProcReturn { sent: 0, hwnd, result: 0 }).await;
    }

    fn long_of(&self, r: &Reply) -> LRESULT {
        match (&r.value, r.status.succeeded()) {
            (Value::Long(v), true) => *v as LRESULT,
            (Value::U32(v), true) => *v as LRESULT,
            _ => 0,
        }
    }

    // ----- classes and windows ------------------------------------------------------------

    /// RegisterClassEx: the class atom (0xC000 up), or 0: ERROR_CLASS_ALREADY_EXISTS for a
    /// name this process registered, ERROR_INVALID_PARAMETER for no procedure or no name
    /// (§17.P1). Classes are local to the process.
    pub async fn register_class_ex(&self, wc: &WNDCLASSEX) -> ATOM {
        let r = self
            .call(Request::RegisterClassEx { class_name: wc.lpszClassName.clone(), wnd_proc: wc.lpfnWndProc.clone() })
            .await;
        self.long_of(&r) as ATOM
    }

    /// UnregisterClass: ERROR_CLASS_DOES_NOT_EXIST, ERROR_CLASS_HAS_WINDOWS (§17.P1).
    pub async fn unregister_class(&self, class_name: &str) -> BOOL {
        let r = self.call(Request::UnregisterClass { class_name: class_name.to_string() }).await;
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// CreateWindowEx: a top-level window (`parent` NULL) or a message-only one
    /// (HWND_MESSAGE), owned by the calling thread. WM_NCCREATE and WM_CREATE are sent to
    /// its procedure before it returns; WM_NCCREATE returning 0 or WM_CREATE returning -1
    /// destroys it and gives NULL. ERROR_CANNOT_FIND_WND_CLASS for a class the process did
    /// not register. Position and size are accepted and ignored (winsim draws nothing);
    /// `menu` is the window's id (GWLP_ID). A parent that is a window (child windows) ends
    /// the run as `Outcome::Unsupported`.
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub async fn create_window_ex(
        &self,
        ex_style: u32,
        class_name: &str,
        window_name: &str,
        style: u32,
        _x: i32,
        _y: i32,
        _width: i32,
        _height: i32,
        parent: HWND,
        menu: isize,
    ) -> HWND {
        let req = Request::CreateWindowEx {
            args: Box::new(crate::kernel::request::boxed::CreateWindowEx {
                ex_style,
                class_name: class_name.to_string(),
                window_name: window_name.to_string(),
                style,
                parent,
                id: menu,
            }),
        };
        let r = self.call(req).await;
        let hwnd = match (&r.value, r.status.succeeded()) {
            (Value::Hwnd(h), true) => *h,
            _ => return HWND::NULL,
        };
        // WM_NCCREATE, handed over by the kernel; then WM_CREATE.
        let nc = self.run_handoff().await.unwrap_or(0);
        let created = nc != 0 && {
            let proc = self.kernel.borrow().user.windows.get(&hwnd.0).map(|w| w.proc.clone());
            match proc {
                Some(p) => p(self.clone(), hwnd, WM_CREATE, 0, 0).await != -1,
                None => false,
            }
        };
        if !created {
            let _ = self.destroy_window(hwnd).await;
            return HWND::NULL;
        }
        hwnd
    }

    /// DestroyWindow: WM_DESTROY then WM_NCDESTROY go to the procedure; posted messages
    /// for the window are discarded, its timers killed, messages sent to it and not yet
    /// run answered 0 (§17.M1). Another thread's window: FALSE, ERROR_ACCESS_DENIED
    /// (§17.I7).
    pub async fn destroy_window(&self, hwnd: HWND) -> BOOL {
        let r = self.call(Request::DestroyWindow { hwnd }).await;
        if !r.status.succeeded() {
            return FALSE;
        }
        self.run_handoff().await;
        TRUE
    }

    /// IsWindow.
    pub async fn is_window(&self, hwnd: HWND) -> BOOL {
        let r = self.call(Request::IsWindow { hwnd }).await;
        if r.value == Value::Bool(true) { TRUE } else { FALSE }
    }

    /// GetWindowThreadProcessId: the id of the thread that created the window (and its
    /// process's in `process_id`); 0 and ERROR_INVALID_WINDOW_HANDLE for no window.
    pub async fn get_window_thread_process_id(&self, hwnd: HWND, process_id: Option<&mut u32>) -> u32 {
        let r = self.call(Request::GetWindowThreadProcessId { hwnd }).await;
        match (r.value, r.status.succeeded()) {
            (Value::Ids(tid, pid), true) => {
                if let Some(p) = process_id {
                    *p = pid;
                }
                tid
            }
            _ => 0,
        }
    }

    /// FindWindow: the most recently created top-level window of any process whose class
    /// and title match (None matches any); NULL when none (§17.P4).
    pub async fn find_window(&self, class_name: Option<&str>, window_name: Option<&str>) -> HWND {
        self.find_window_ex(HWND::NULL, HWND::NULL, class_name, window_name).await
    }

    /// FindWindowEx: as FindWindow, after `child_after`; `parent` HWND_MESSAGE searches the
    /// message-only windows (§17.P4).
    pub async fn find_window_ex(
        &self,
        parent: HWND,
        child_after: HWND,
        class_name: Option<&str>,
        window_name: Option<&str>,
    ) -> HWND {
        let req = Request::FindWindowEx {
            args: Box::new(crate::kernel::request::boxed::FindWindowEx {
                parent,
                after: child_after,
                class_name: class_name.map(str::to_string),
                window_name: window_name.map(str::to_string),
            }),
        };
        match self.call(req).await {
            Reply { value: Value::Hwnd(h), status } if status.succeeded() => h,
            _ => HWND::NULL,
        }
    }

    /// SetWindowLongPtr (GWLP_USERDATA, GWLP_ID): the previous value; 0 on failure
    /// (ERROR_INVALID_WINDOW_HANDLE, ERROR_INVALID_INDEX). Works on another process's
    /// window too. A previous value of 0 leaves the last error alone (§17.P5).
    pub async fn set_window_long_ptr(&self, hwnd: HWND, index: i32, new_long: isize) -> isize {
        let r = self.call(Request::SetWindowLongPtr { hwnd, index, value: new_long }).await;
        self.long_of(&r)
    }

    /// GetWindowLongPtr (GWLP_USERDATA, GWLP_ID).
    pub async fn get_window_long_ptr(&self, hwnd: HWND, index: i32) -> isize {
        let r = self.call(Request::GetWindowLongPtr { hwnd, index }).await;
        self.long_of(&r)
    }

    /// RegisterWindowMessage: 0xC000-0xFFFF, the same for the same name in any case and
    /// any process (§17.P6).
    pub async fn register_window_message(&self, string: &str) -> u32 {
        let r = self.call(Request::RegisterWindowMessage { name: string.to_string() }).await;
        self.long_of(&r) as u32
    }

    /// DefWindowProc: WM_CLOSE destroys the window, WM_NCCREATE returns TRUE, anything
    /// else 0.
    pub async fn def_window_proc(&self, hwnd: HWND, msg: u32, _w_param: WPARAM, _l_param: LPARAM) -> LRESULT {
        match msg {
            WM_CLOSE => {
                let _ = self.destroy_window(hwnd).await;
                0
            }
            WM_NCCREATE => 1,
            _ => 0,
        }
    }

    // ----- posting ----------------------------------------------------------------------

    /// PostMessage: queues the message to the window's thread and returns at once. NULL
    /// posts to the calling thread (§17.A6); HWND_BROADCAST posts to every top-level window
    /// and drops WM_USER..0xBFFF (§17.B5). ERROR_INVALID_WINDOW_HANDLE (§17.B1),
    /// ERROR_MESSAGE_SYNC_ONLY for system messages that carry pointers (§17.B2),
    /// ERROR_NOT_ENOUGH_QUOTA past 10,000 posted messages (§17.A4).
    pub async fn post_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        let r = self.call(Request::PostMessage { hwnd, msg, wparam: w_param, lparam: l_param }).await;
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// PostThreadMessage: ERROR_INVALID_THREAD_ID for a thread that does not exist, has
    /// ended, or has no message queue yet (§17.A1-A2).
    pub async fn post_thread_message(&self, id_thread: u32, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        let req = Request::PostThreadMessage { thread_id: id_thread, msg, wparam: w_param, lparam: l_param };
        let r = self.call(req).await;
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// PostQuitMessage: WM_QUIT comes after every posted message, even later ones (§17.E1).
    pub async fn post_quit_message(&self, exit_code: i32) {
        let _ = self.call(Request::PostQuitMessage { exit_code }).await;
    }

    // ----- retrieving -------------------------------------------------------------------

    /// GetMessage: runs messages sent to the thread, then returns the first posted message
    /// the filters take (nonzero), WM_QUIT (0) or a due WM_TIMER, blocking until there is
    /// one; -1 and ERROR_INVALID_WINDOW_HANDLE for a filter that is no window (§17.C).
    pub async fn get_message(&self, msg: &mut MSG, hwnd: HWND, msg_filter_min: u32, msg_filter_max: u32) -> BOOL {
        loop {
            let r = self.call(Request::GetMessage { hwnd, min: msg_filter_min, max: msg_filter_max }).await;
            match (r.value, r.status.succeeded()) {
                (Value::Handoff, true) => {
                    self.run_handoff().await;
                }
                (Value::Msg(m), true) => {
                    *msg = *m;
                    return if m.message == WM_QUIT { 0 } else { 1 };
                }
                _ => return -1,
            }
        }
    }

    /// PeekMessage: as GetMessage without waiting; FALSE when nothing is there. With a
    /// PM_QS_* mask, a call that ran sent messages returns FALSE (§17.D4); PM_NOREMOVE
    /// leaves the message queued (§17.D).
    pub async fn peek_message(
        &self,
        msg: &mut MSG,
        hwnd: HWND,
        msg_filter_min: u32,
        msg_filter_max: u32,
        remove_msg: u32,
    ) -> BOOL {
        let mut flags = remove_msg;
        loop {
            let r =
                self.call(Request::PeekMessage { hwnd, min: msg_filter_min, max: msg_filter_max, remove: flags }).await;
            match (r.value, r.status.succeeded()) {
                (Value::Handoff, true) => {
                    self.run_handoff().await;
                    if remove_msg >> 16 != 0 {
                        // Only the sent messages still waiting run now (§17.D4).
                        flags = (remove_msg & 0xFFFF) | PM_QS_SENDMESSAGE;
                    }
                }
                (Value::Msg(m), true) => {
                    *msg = *m;
                    return TRUE;
                }
                _ => return FALSE,
            }
        }
    }

    /// WaitMessage: returns when a message new since the thread last looked at its queue
    /// arrives (§17.H2), after running it if it was sent by another thread.
    pub async fn wait_message(&self) -> BOOL {
        let r = self.call(Request::WaitMessage {}).await;
        if r.value == Value::Handoff && r.status.succeeded() {
            self.run_handoff().await;
        }
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// GetQueueStatus: MAKELONG(new, present) for the QS_* kinds asked; reports reset the
    /// "new" bits asked (§17.G); 0 and ERROR_INVALID_FLAGS for unknown bits (§17.G4).
    pub async fn get_queue_status(&self, flags: u32) -> u32 {
        let r = self.call(Request::GetQueueStatus { flags }).await;
        self.long_of(&r) as u32
    }

    /// GetInputState: FALSE: winsim has no keyboard or mouse.
    pub fn get_input_state(&self) -> BOOL {
        FALSE
    }

    /// MsgWaitForMultipleObjects: WaitForMultipleObjects plus the message queue as handle
    /// number `handles.len()` (§17.H1).
    pub async fn msg_wait_for_multiple_objects(
        &self,
        handles: &[HANDLE],
        wait_all: bool,
        milliseconds: u32,
        wake_mask: u32,
    ) -> u32 {
        let flags = if wait_all { MWMO_WAITALL } else { 0 };
        self.msg_wait_for_multiple_objects_ex(handles, milliseconds, wake_mask, flags).await
    }

    /// MsgWaitForMultipleObjectsEx: WAIT_OBJECT_0 + n when input of `wake_mask` arrived
    /// that is new since the thread last looked (any input with MWMO_INPUTAVAILABLE); sent
    /// messages are not run (§17.H1-H3). MWMO_ALERTABLE runs APCs (WAIT_IO_COMPLETION).
    pub async fn msg_wait_for_multiple_objects_ex(
        &self,
        handles: &[HANDLE],
        milliseconds: u32,
        wake_mask: u32,
        flags: u32,
    ) -> u32 {
        let req = Request::MsgWaitForMultipleObjectsEx {
            handles: handles.to_vec(),
            timeout_ms: milliseconds,
            wake_mask,
            flags,
        };
        let r = self.call(req).await;
        let code = match (r.value, r.status.succeeded()) {
            (Value::Wait(c), true) => c,
            _ => WAIT_FAILED,
        };
        if code == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        code
    }

    /// DispatchMessage: calls the window procedure (or a WM_TIMER's TIMERPROC) and returns
    /// its result. A thread message goes nowhere (0, §17.A5); another thread's window:
    /// 0, ERROR_MESSAGE_SYNC_ONLY (§17.I8).
    pub async fn dispatch_message(&self, msg: &MSG) -> LRESULT {
        let r = self.call(Request::DispatchMessage { msg: *msg }).await;
        match (&r.value, r.status.succeeded()) {
            (Value::Handoff, true) => self.run_handoff().await.unwrap_or(0),
            _ => self.long_of(&r),
        }
    }

    /// TranslateMessage: FALSE, no effect: winsim has no keyboard input to translate.
    pub fn translate_message(&self, _msg: &MSG) -> BOOL {
        FALSE
    }

    // ----- sending ----------------------------------------------------------------------

    /// Waits for the reply of a SendMessage that blocked, running messages sent to this
    /// thread meanwhile (§17.I3).
    async fn send_loop(&self, mut r: Reply) -> Result<LRESULT, ()> {
        loop {
            match (&r.value, r.status.succeeded()) {
                (Value::Handoff, true) => {
                    if let Some(result) = self.run_handoff().await {
                        // A window of this thread: a direct call (§17.I1).
                        return Ok(result);
                    }
                    let sent = self.kernel.borrow().outstanding_send(self.tid);
                    match sent {
                        Some(sent) => r = self.call(Request::SendMessageWait { sent }).await,
                        None => return Err(()),
                    }
                }
                (Value::Long(v), true) => return Ok(*v as LRESULT),
                _ => return Err(()),
            }
        }
    }

    /// SendMessage: to a window of the calling thread, calls its procedure; to another
    /// thread's (of any process), waits until that thread runs it inside a call that looks
    /// at its queue, running messages sent to the caller meanwhile (§17.I1-I5). 0 on
    /// failure (ERROR_INVALID_WINDOW_HANDLE).
    pub async fn send_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> LRESULT {
        let r = self
            .call(Request::SendMessage {
                args: Box::new(crate::kernel::request::boxed::SendMessage {
                    hwnd,
                    msg,
                    wparam: w_param,
                    lparam: l_param,
                    copydata: None,
                }),
            })
            .await;
        self.send_loop(r).await.unwrap_or(0)
    }

    /// SendMessage(hwnd, WM_COPYDATA, w_param, &data): the data is copied at the send; the
    /// receiver's procedure gets an lParam for which [`ThreadCtx::copydata`] gives its own
    /// copy while the message runs (§17.P3). (winsim has no simulated memory yet for an
    /// lParam pointer to point at.)
    pub async fn send_message_copydata(&self, hwnd: HWND, w_param: WPARAM, data: &COPYDATASTRUCT) -> LRESULT {
        let req = Request::SendMessage {
            args: Box::new(crate::kernel::request::boxed::SendMessage {
                hwnd,
                msg: WM_COPYDATA,
                wparam: w_param,
                lparam: 0,
                copydata: Some(data.clone()),
            }),
        };
        let r = self.call(req).await;
        self.send_loop(r).await.unwrap_or(0)
    }

    /// WM_COPYDATA's data, in the receiver's procedure, for the lParam it got (None
    /// outside that message).
    pub fn copydata(&self, l_param: LPARAM) -> Option<COPYDATASTRUCT> {
        self.kernel.borrow().copydata(self.tid, l_param)
    }

    /// SendMessageTimeout: nonzero with the procedure's result in `result`; 0 and
    /// ERROR_TIMEOUT when the time-out passes (a message not yet taken is then never
    /// delivered, §17.J2; one being run goes on, §17.J4); a time-out of 0 waits forever,
    /// a negative one fails at once (§17.J3). SMTO_BLOCK runs no message sent to the
    /// caller meanwhile; SMTO_ABORTIFHUNG fails at once for a receiver that has not looked
    /// at its queue for 5 s; SMTO_NOTIMEOUTIFNOTHUNG waits on while it has (§17.J7).
    #[allow(clippy::too_many_arguments)]
    pub async fn send_message_timeout(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        flags: u32,
        timeout: u32,
        result: Option<&mut usize>,
    ) -> LRESULT {
        let req = Request::SendMessageTimeout {
            args: Box::new(crate::kernel::request::boxed::SendMessageTimeout {
                hwnd,
                msg,
                wparam: w_param,
                lparam: l_param,
                flags,
                timeout_ms: timeout,
                copydata: None,
            }),
        };
        let r = self.call(req).await;
        match self.send_loop(r).await {
            Ok(v) => {
                if let Some(out) = result {
                    *out = v as usize;
                }
                1
            }
            Err(()) => {
                if let Some(out) = result {
                    *out = 0;
                }
                0
            }
        }
    }

    /// SendNotifyMessage: to the calling thread's window, a direct call; to another
    /// thread's, queued as a sent message (run before posted ones) and TRUE at once
    /// (§17.K1-K2).
    pub async fn send_notify_message(&self, hwnd: HWND, msg: u32, w_param: WPARAM, l_param: LPARAM) -> BOOL {
        let r = self.call(Request::SendNotifyMessage { hwnd, msg, wparam: w_param, lparam: l_param }).await;
        if r.value == Value::Handoff && r.status.succeeded() {
            self.run_handoff().await;
        }
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// SendMessageCallback: as SendNotifyMessage; the callback gets the result on the
    /// calling thread, at once for its own window (§17.K1), else when it next runs
    /// GetMessage, PeekMessage or WaitMessage (§17.K4). With no callback and `data` 1, a
    /// send to the caller's own window is queued (§17.K3).
    pub async fn send_message_callback(
        &self,
        hwnd: HWND,
        msg: u32,
        w_param: WPARAM,
        l_param: LPARAM,
        result_callback: Option<SENDASYNCPROC>,
        data: usize,
    ) -> BOOL {
        let req = Request::SendMessageCallback {
            args: Box::new(crate::kernel::request::boxed::SendMessageCallback {
                hwnd,
                msg,
                wparam: w_param,
                lparam: l_param,
                callback: result_callback.clone(),
                data,
            }),
        };
        let r = self.call(req).await;
        if r.value == Value::Handoff && r.status.succeeded() {
            let result = self.run_handoff().await.unwrap_or(0);
            if let Some(cb) = result_callback {
                cb(self.clone(), hwnd, msg, data, result).await;
            }
        }
        if r.status.succeeded() { TRUE } else { FALSE }
    }

    /// ReplyMessage: answers the message sent by another thread that this thread's
    /// procedure is running, so the sender goes on (§17.L1); FALSE when it runs none
    /// (§17.L4-L5).
    pub async fn reply_message(&self, result: LRESULT) -> BOOL {
        let r = self.call(Request::ReplyMessage { result }).await;
        if r.value == Value::Bool(true) { TRUE } else { FALSE }
    }

    /// InSendMessage: TRUE while the thread runs a message sent by another thread.
    pub fn in_send_message(&self) -> BOOL {
        if self.in_send_message_ex() != ISMEX_NOSEND { TRUE } else { FALSE }
    }

    /// InSendMessageEx: ISMEX_SEND, ISMEX_NOTIFY or ISMEX_CALLBACK, with ISMEX_REPLIED
    /// after ReplyMessage; ISMEX_NOSEND otherwise (§17.L1-L5).
    pub fn in_send_message_ex(&self) -> u32 {
        self.kernel.borrow().in_send_message_ex(self.tid)
    }

    // ----- timers -----------------------------------------------------------------------

    /// SetTimer: WM_TIMER every `elapse` ms (clamped to 10..0x7FFFFFFF) for the window's
    /// thread, generated when it looks at its queue and nothing else is there, never piling
    /// up (§17.F2-F3, N1-N4). Returns the timer id (the given one for a window timer, a new
    /// one for a thread timer); 0 on failure.
    pub async fn set_timer(&self, hwnd: HWND, id_event: usize, elapse: u32, timer_func: Option<TIMERPROC>) -> usize {
        let r = self.call(Request::SetTimer { hwnd, id: id_event, elapse_ms: elapse, timer_proc: timer_func }).await;
        self.long_of(&r) as usize
    }

    /// KillTimer: FALSE (ERROR_INVALID_PARAMETER) for no such timer.
    pub async fn kill_timer(&self, hwnd: HWND, id_event: usize) -> BOOL {
        let r = self.call(Request::KillTimer { hwnd, id: id_event }).await;
        if r.status.succeeded() { TRUE } else { FALSE }
    }
}
