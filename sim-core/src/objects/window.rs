//! Windows and per-thread message queues (user32): window classes, windows, posted and
//! sent messages, the quit flag, WM_TIMER, and the calls that retrieve and wait for
//! messages (docs/semantics.md §17).
//!
//! Windows are not kernel objects: an HWND is global (the same value in every process)
//! and lives in the window table of [`User`], not in a handle table. A thread gets a
//! message queue ([`Queue`]) on its first USER call (§17.A1).
//!
//! A window procedure is user code, so it runs on its thread, in the API layer, like an
//! APC: a call that must run one (SendMessage to a window of the caller's own thread,
//! DispatchMessage, a retrieval call that takes a message sent by another thread) returns
//! [`Value::Handoff`] and leaves the procedure with its arguments in `User::handoff`; the
//! API layer takes it, awaits it, and, for a message sent by another thread, reports the
//! result with the internal step `WndProcReturn`, which replies to the sender. A thread
//! blocked in SendMessage is woken by its reply or by a message sent to it, which it runs
//! before waiting again (`SendMessageWait`), however deep the nesting (§17.I3).

use crate::api::ThreadCtx;
use crate::error::*;
use crate::kernel::ops::{OpId, OpKind};
use crate::kernel::request::{CallResult, Reply, Value};
use crate::kernel::time::TICKS_PER_MS;
use crate::kernel::{Exec, Kernel, Pid, Tid, TimerKey};
use crate::report::WaitEdge;
use crate::types::*;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

/// A window procedure (WNDPROC): an async closure, so it may itself make calls, blocking
/// ones included.
pub type WNDPROC = Rc<dyn Fn(ThreadCtx, HWND, u32, WPARAM, LPARAM) -> Pin<Box<dyn Future<Output = LRESULT>>>>;
/// A timer callback (TIMERPROC): hwnd, WM_TIMER, the timer id, the tick count.
pub type TIMERPROC = Rc<dyn Fn(ThreadCtx, HWND, u32, usize, u32) -> Pin<Box<dyn Future<Output = ()>>>>;
/// SendMessageCallback's callback (SENDASYNCPROC): hwnd, message, dwData, the result.
pub type SENDASYNCPROC = Rc<dyn Fn(ThreadCtx, HWND, u32, usize, LRESULT) -> Pin<Box<dyn Future<Output = ()>>>>;

/// How long a thread may go without looking at its queue before SendMessageTimeout's
/// SMTO_ABORTIFHUNG considers it hung (IsHungAppWindow: 5 seconds, §17.J7).
pub const HUNG_AFTER_MS: u64 = 5_000;
/// The first window handle value; handles step by `HWND_STEP`.
const HWND_BASE: isize = 0x0001_0010;
const HWND_STEP: isize = 0x10;
/// lParam tokens that stand for a TIMERPROC in a WM_TIMER message.
const TIMER_TOKEN_BASE: isize = 0x7FF0_0000;
/// lParam tokens that stand for a COPYDATASTRUCT in the receiver (§17.P3).
const COPYDATA_TOKEN_BASE: isize = 0x00C0_0000;

/// What MsgWaitForMultipleObjects(Ex) waits for in the queue besides its handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputWait {
    /// dwWakeMask (QS_*).
    pub mask: u32,
    /// MWMO_INPUTAVAILABLE: input already seen counts too.
    pub available: bool,
    /// An STA's CoWaitForMultipleHandles (§21): 0 for none; 1: ready while something COM
    /// dispatches is queued (an incoming call, a sent message, a DDE message); 2: any
    /// posted message too (COWAIT_DISPATCH_WINDOW_MESSAGES). Presence, not newness, so
    /// `mask` and `available` are unused.
    pub com: u8,
}

/// A registered window class (RegisterClassEx), local to its process.
pub struct Class {
    /// The name as registered.
    pub name: String,
    /// Its atom.
    pub atom: ATOM,
    /// lpfnWndProc.
    pub proc: WNDPROC,
    /// Live windows of the class.
    pub windows: u32,
}

/// A window.
pub struct Window {
    /// The thread that created it: its messages go to that thread's queue.
    pub tid: Tid,
    /// Its process.
    pub pid: Pid,
    /// The class key (lower-case name) in its process.
    pub class: String,
    /// The class name as registered (for FindWindow and reports).
    pub class_name: String,
    /// Its window procedure.
    pub proc: WNDPROC,
    /// lpWindowName.
    pub title: String,
    /// A message-only window (parent HWND_MESSAGE): no broadcasts, not found by FindWindow.
    pub message_only: bool,
    /// dwStyle.
    pub style: u32,
    /// GWLP_USERDATA.
    pub userdata: isize,
    /// GWLP_ID.
    pub id: isize,
    /// Being destroyed: WM_DESTROY and WM_NCDESTROY are running.
    pub dying: bool,
}

/// What kind of sent message (InSendMessageEx's ISMEX_* bit).
#[derive(Clone)]
pub enum SendKind {
    /// SendMessage(Timeout): the sender waits for the reply.
    Send {
        /// SMTO_* flags (SMTO_NORMAL for SendMessage).
        flags: u32,
        /// The time-out in milliseconds (INFINITE for SendMessage).
        timeout_ms: u32,
    },
    /// SendNotifyMessage: nobody waits.
    Notify,
    /// SendMessageCallback: the callback runs on the sender when the reply comes.
    Callback {
        /// The callback (None: the reply is dropped).
        proc: Option<SENDASYNCPROC>,
        /// dwData.
        data: usize,
    },
}

/// Where a sent message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SentState {
    /// In the receiver's queue.
    Queued,
    /// Its window procedure is running on the receiver.
    Processing,
}

/// A message sent to another thread: it lives until replied to, timed out or abandoned.
pub struct Sent {
    /// Its number (the internal steps name it).
    pub serial: u64,
    /// The sending thread.
    pub from: Tid,
    /// The receiving thread.
    pub to: Tid,
    /// The window.
    pub hwnd: HWND,
    /// The message.
    pub msg: u32,
    /// wParam.
    pub wparam: WPARAM,
    /// lParam (a token for WM_COPYDATA's copy).
    pub lparam: LPARAM,
    /// SendMessage, SendNotifyMessage or SendMessageCallback.
    pub kind: SendKind,
    /// WM_COPYDATA's data, copied at the send.
    pub copydata: Option<COPYDATASTRUCT>,
    /// Where it is.
    pub state: SentState,
    /// The reply, once ReplyMessage or the procedure's return gave it (an error when the
    /// receiver ended without one).
    pub replied: Option<Result<LRESULT, Win32Error>>,
    /// The sender's SendMessage operation while it is blocked waiting.
    pub waiter: Option<OpId>,
    /// The sender has its result or no longer wants it (timed out, ended; always for
    /// SendNotifyMessage and SendMessageCallback).
    pub delivered: bool,
    /// The procedure has returned, or will never run.
    pub done: bool,
    /// SendMessageTimeout's due tick, counted from the send.
    pub deadline: Option<u64>,
    /// The step at which it was sent (reports).
    pub since_step: u64,
}

/// A SendMessageCallback callback queued to its sender.
pub struct QueuedCallback {
    proc: SENDASYNCPROC,
    hwnd: HWND,
    msg: u32,
    data: usize,
    result: LRESULT,
}

/// A thread's message queue.
#[derive(Default)]
pub struct Queue {
    /// Posted messages, oldest first (PostMessage, PostThreadMessage).
    pub posted: VecDeque<MSG>,
    /// PostQuitMessage's flag: its exit code (§17.E1).
    pub quit: Option<usize>,
    /// WM_QUIT was just retrieved: the status still shows QS_POSTMESSAGE until the next
    /// retrieval call (§17.E4).
    pub quit_status: bool,
    /// Messages sent by other threads, waiting to be run, oldest first.
    pub incoming: VecDeque<u64>,
    /// SendMessageCallback callbacks to run here.
    pub callbacks: VecDeque<QueuedCallback>,
    /// Sent messages whose procedure runs on this thread, innermost last.
    pub processing: Vec<u64>,
    /// QS_* bits that arrived since they were last looked at (GetQueueStatus's low word,
    /// and what wakes WaitMessage and MsgWaitForMultipleObjects).
    pub changed: u32,
    /// The tick of its last retrieval call (hung detection, §17.J7).
    pub last_pump: u64,
}

/// A SetTimer timer.
pub struct UserTimer {
    /// The thread whose queue gets its WM_TIMER.
    pub tid: Tid,
    /// Its window (NULL for a thread timer).
    pub hwnd: HWND,
    /// nIDEvent (or the id SetTimer chose for a thread timer).
    pub id: usize,
    /// The period in milliseconds (clamped, §17.N4).
    pub period_ms: u32,
    /// lpTimerFunc.
    pub proc: Option<TIMERPROC>,
    /// Due: a WM_TIMER is there to be generated (§17.F2).
    pub expired: bool,
    /// Its timer-queue entry: (due tick, sequence).
    pub entry: (u64, u64),
}

/// User code the API layer runs next on a thread.
pub enum Handoff {
    /// A window procedure call.
    Proc {
        /// The procedure.
        proc: WNDPROC,
        /// Its arguments.
        hwnd: HWND,
        /// The message.
        msg: u32,
        /// wParam.
        wparam: WPARAM,
        /// lParam.
        lparam: LPARAM,
        /// The sent message it runs (the result goes back with `WndProcReturn`).
        sent: Option<u64>,
    },
    /// A TIMERPROC (DispatchMessage of a WM_TIMER with a callback).
    Timer {
        /// The callback.
        proc: TIMERPROC,
        /// The window.
        hwnd: HWND,
        /// The timer id.
        id: usize,
        /// GetTickCount.
        time: u32,
    },
    /// A SendMessageCallback callback.
    Callback {
        /// The callback.
        proc: SENDASYNCPROC,
        /// The window.
        hwnd: HWND,
        /// The message.
        msg: u32,
        /// dwData.
        data: usize,
        /// The receiver's result.
        result: LRESULT,
    },
    /// DestroyWindow's WM_DESTROY and WM_NCDESTROY (then `WndProcReturn` frees it).
    Destroy {
        /// The procedure.
        proc: WNDPROC,
        /// The window.
        hwnd: HWND,
    },
}

/// The window manager's state: its tables, built on first use (most runs make no window),
/// and the generation every thread's exit bumps.
#[derive(Default)]
pub struct User {
    state: crate::kernel::lazy::Lazy<UserState>,
    /// Bumped at every change (or possible change) of this state: the footprint of a step
    /// for partial-order reduction (`kernel/footprint.rs`).
    pub generation: u64,
}

crate::kernel::lazy::deref_to_tables!(User => UserState, state);

/// The window manager's tables (`User`, made on first use).
#[derive(Default)]
pub struct UserState {
    /// Classes by (process, lower-case name).
    pub classes: BTreeMap<(Pid, String), Class>,
    /// The global atom table of class names and registered messages (lower-case name →
    /// atom, 0xC000 up).
    pub atoms: BTreeMap<String, ATOM>,
    /// Windows by HWND value, in creation order.
    pub windows: BTreeMap<isize, Window>,
    /// Windows ever created.
    pub created: isize,
    /// Message queues by thread.
    pub queues: BTreeMap<Tid, Queue>,
    /// Messages sent to other threads and not finished, by serial.
    pub sent: BTreeMap<u64, Sent>,
    sent_serial: u64,
    /// SetTimer timers by serial.
    pub timers: BTreeMap<u64, UserTimer>,
    timer_serial: u64,
    /// Thread timer ids handed out.
    next_thread_timer_id: usize,
    /// User code for the API layer to run next, by thread.
    pub handoff: BTreeMap<Tid, Handoff>,
}

crate::kernel::lazy::fresh_per_thread!(UserState);

/// Messages (below WM_USER) that carry pointers, which PostMessage and the other
/// asynchronous sends refuse with ERROR_MESSAGE_SYNC_ONLY (§17.B2-B3).
const SYNC_ONLY: &[u32] = &[
    0x0001, 0x000C, 0x000D, 0x001A, 0x001B, 0x0024, 0x002B, 0x002C, 0x002D, 0x0039, 0x0046, 0x0047, 0x004A, 0x0053,
    0x007C, 0x007D, 0x0081, 0x0083, 0x0087, 0x00B0, 0x00B2, 0x00B3, 0x00B4, 0x00C2, 0x00C4, 0x00CB, 0x00E3, 0x00E9,
    0x00EA, 0x00EB, 0x0140, 0x0143, 0x0145, 0x0148, 0x014A, 0x014C, 0x014D, 0x0152, 0x0158, 0x0180, 0x0181, 0x0189,
    0x018C, 0x018D, 0x018F, 0x0191, 0x0192, 0x0196, 0x0198, 0x01A2, 0x0213, 0x0214, 0x0216, 0x0220, 0x0229, 0x022A,
    0x022B, 0x022D, 0x022E, 0x022F, 0x030C,
];

/// WM_DEVICECHANGE: sync-only only when wParam has bit 0x8000 (§17.B3).
const WM_DEVICECHANGE: u32 = 0x0219;

/// Whether posting `msg` must fail with ERROR_MESSAGE_SYNC_ONLY (§17.B2-B4).
pub fn is_sync_only(msg: u32, wparam: WPARAM) -> bool {
    if msg >= WM_USER {
        return false;
    }
    SYNC_ONLY.contains(&msg) || (msg == WM_DEVICECHANGE && wparam & 0x8000 != 0)
}

/// A message number by its winuser.h name where winsim knows it (`WM_USER+2`).
pub fn message_name(msg: u32) -> String {
    let known = match msg {
        WM_NULL => "WM_NULL",
        WM_CREATE => "WM_CREATE",
        WM_DESTROY => "WM_DESTROY",
        WM_CLOSE => "WM_CLOSE",
        WM_QUIT => "WM_QUIT",
        WM_SETTEXT => "WM_SETTEXT",
        WM_GETTEXT => "WM_GETTEXT",
        WM_PAINT => "WM_PAINT",
        WM_COPYDATA => "WM_COPYDATA",
        WM_NOTIFY => "WM_NOTIFY",
        WM_NCCREATE => "WM_NCCREATE",
        WM_NCDESTROY => "WM_NCDESTROY",
        WM_KEYDOWN => "WM_KEYDOWN",
        WM_KEYUP => "WM_KEYUP",
        WM_CHAR => "WM_CHAR",
        WM_TIMER => "WM_TIMER",
        WM_HOTKEY => "WM_HOTKEY",
        WM_USER => "WM_USER",
        WM_APP => "WM_APP",
        _ => "",
    };
    match msg {
        _ if !known.is_empty() => known.to_string(),
        m if (WM_USER..WM_APP).contains(&m) => format!("WM_USER+{}", m - WM_USER),
        m if (WM_APP..0xC000).contains(&m) => format!("WM_APP+{}", m - WM_APP),
        m => format!("0x{m:04x}"),
    }
}

/// Whether a message number passes a GetMessage/PeekMessage range: 0,0 takes all; an
/// inverted range takes what lies outside it [inferred, §17.C7].
fn in_range(msg: u32, min: u32, max: u32) -> bool {
    match (min, max) {
        (0, 0) => true,
        _ if min <= max => (min..=max).contains(&msg),
        _ => msg >= min || msg <= max,
    }
}

/// An hWnd filter of GetMessage/PeekMessage, resolved.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    /// NULL: any message of the thread.
    Any,
    /// (HWND)-1, 1 or 0xFFFF: thread messages only (hwnd NULL) (§17.C5).
    ThreadOnly,
    /// One window of the calling thread.
    Window(HWND),
    /// A value that matches nothing (HWND_NOTOPMOST, HWND_MESSAGE, another thread's
    /// window) (§17.D2).
    Nothing,
}

impl Filter {
    fn takes(self, hwnd: HWND) -> bool {
        match self {
            Filter::Any => true,
            Filter::ThreadOnly => hwnd.is_null(),
            Filter::Window(w) => w == hwnd,
            Filter::Nothing => false,
        }
    }
}

/// What a retrieval found.
enum Got {
    /// User code to run first (a sent message or a callback): `User::handoff` holds it.
    Handoff,
    /// A message.
    Msg(MSG),
    /// Nothing.
    Nothing,
}

impl Kernel {
    // ----- queues -----------------------------------------------------------------------

    /// The thread's queue, created by its first USER call (§17.A1).
    pub(crate) fn queue_mut(&mut self, tid: Tid) -> &mut Queue {
        // Every user32 call and every change of a queue comes through here (or bumps it
        // itself): the step may have changed the window manager's state.
        self.user.generation += 1;
        let now = self.now;
        self.user.queues.entry(tid).or_insert_with(|| Queue { last_pump: now, ..Queue::default() })
    }

    /// The QS_* kinds of message present in `tid`'s queue (GetQueueStatus's high word).
    pub(crate) fn queue_present(&self, tid: Tid) -> u32 {
        let Some(q) = self.user.queues.get(&tid) else { return 0 };
        let mut bits = 0;
        if !q.posted.is_empty() || q.quit.is_some() || q.quit_status {
            bits |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
        }
        if q.posted.iter().any(|m| m.message == WM_HOTKEY) {
            bits |= QS_HOTKEY;
        }
        if !q.incoming.is_empty() || !q.callbacks.is_empty() {
            bits |= QS_SENDMESSAGE;
        }
        if self.user.timers.values().any(|t| t.tid == tid && t.expired) {
            bits |= QS_TIMER;
        }
        bits
    }

    /// Whether a MsgWaitForMultipleObjects input condition holds (§17.H1-H2).
    pub(crate) fn input_ready(&self, tid: Tid, i: InputWait) -> bool {
        if i.com == 3 {
            // The COM modal loop with MessagePending: also a new posted message (MF-6).
            let new = self.user.queues.get(&tid).is_some_and(|q| q.changed & i.mask != 0);
            return new || self.com_input_present(tid, false);
        }
        if i.com != 0 {
            return self.com_input_present(tid, i.com == 2);
        }
        let Some(q) = self.user.queues.get(&tid) else { return false };
        if i.available { self.queue_present(tid) & i.mask != 0 } else { q.changed & i.mask != 0 }
    }

    /// Input a wait returned for has been seen: it no longer counts as new (§17.H2).
    pub(crate) fn input_seen(&mut self, tid: Tid, i: InputWait) {
        if let Some(q) = self.user.queues.get_mut(&tid) {
            q.changed &= !i.mask;
        }
    }

    /// Whether `tid` is blocked in a call that looks at its queue (GetMessage,
    /// WaitMessage, SendMessage, MsgWaitForMultipleObjects).
    fn pumping(&self, tid: Tid) -> bool {
        self.blocked_op(tid).is_some_and(|op| match &self.ops[op].kind {
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew => true,
            OpKind::SendWait { block, .. } => !block,
            OpKind::Wait { input, .. } => input.is_some(),
            _ => false,
        })
    }

    /// Whether `tid` counts as hung: not waiting for messages and not having looked at its
    /// queue for HUNG_AFTER_MS (§17.J7).
    fn hung(&self, tid: Tid) -> bool {
        let last = self.user.queues.get(&tid).map_or(0, |q| q.last_pump);
        !self.pumping(tid) && self.now.saturating_sub(last) >= HUNG_AFTER_MS * TICKS_PER_MS
    }

    /// Something arrived in `tid`'s queue: mark it new and wake the thread if it is
    /// blocked in a call that this input ends.
    #[allow(clippy::collapsible_match)]
    pub(crate) fn queue_changed(&mut self, tid: Tid, bits: u32, cause: &str) {
        if !self.user.queues.contains_key(&tid) {
            return;
        }
        self.queue_mut(tid).changed |= bits;
        let Some(op) = self.blocked_op(tid) else { return };
        if self.thread(tid).suspend_count > 0 {
            return;
        }
        match &self.ops[op].kind {
            &OpKind::MsgGet { hwnd, min, max } => {
                let filter = self.resolve_filter(tid, hwnd).unwrap_or(Filter::Nothing);
                match self.retrieve(tid, filter, min, max, PM_REMOVE) {
                    Got::Nothing => {}
                    Got::Handoff => self.complete_with_handoff(op, tid, cause),
                    Got::Msg(m) => self.complete_op(op, Value::Msg(Box::new(m)).into(), cause),
                }
            }
            OpKind::MsgWaitNew => {
                if self.user.queues[&tid].changed != 0 || !self.user.queues[&tid].incoming.is_empty() {
                    let handoff = self.take_sent_or_callback(tid);
                    self.queue_mut(tid).changed = 0;
                    if handoff {
                        self.complete_with_handoff(op, tid, cause);
                    } else {
                        self.complete_op(op, Value::Bool(true).into(), cause);
                    }
                }
            }
            &OpKind::SendWait { block: false, sent } => {
                if self.take_sent_or_callback(tid) {
                    if let Some(s) = self.user.sent.get_mut(&sent) {
                        s.waiter = None;
                    }
                    self.complete_with_handoff(op, tid, cause);
                }
            }
            OpKind::Wait { input: Some(_), .. } => self.recheck_input_wait(tid, cause),
            _ => {}
        }
    }

    /// Wakes `tid`'s blocked call `op` to run the user code `take_sent_or_callback` handed
    /// off: the trace's wake says "returns", so a note says that the call has not returned
    /// and what runs inside it.
    fn complete_with_handoff(&mut self, op: OpId, tid: Tid, cause: &str) {
        let api = self.ops[op].api.name();
        self.complete_op(op, Value::Handoff.into(), cause);
        if self.config.trace
            && let Some(what) = self.handoff_words(tid)
        {
            let text = format!("{what} inside its {api}, which has not returned");
            self.push_event(tid, crate::trace::EventKind::Note { text });
        }
    }

    /// What the user code handed off to `tid` is, in words, for a sent message or a
    /// callback ("runs WM_APP sent by T12 to hwnd:0x10010 (its window procedure)").
    fn handoff_words(&self, tid: Tid) -> Option<String> {
        match self.user.handoff.get(&tid)? {
            Handoff::Proc { hwnd, msg, sent: Some(serial), .. } => {
                let from = self.user.sent.get(serial).map_or(String::new(), |s| format!(" by T{}", s.from));
                Some(format!("runs {} sent{from} to {hwnd} (its window procedure)", message_name(*msg)))
            }
            Handoff::Callback { msg, result, .. } => {
                Some(format!("runs its SendMessageCallback callback for {} (result {result})", message_name(*msg)))
            }
            _ => None,
        }
    }

    /// Takes the next callback or sent message of `tid` to run, if any: it goes to
    /// `User::handoff`. Returns whether there was one.
    fn take_sent_or_callback(&mut self, tid: Tid) -> bool {
        let taken = self.take_sent_or_callback_inner(tid);
        if taken && self.current == Some(tid) {
            // The thread's own call (GetMessage, PeekMessage, ...) runs it before it returns.
            let what = self.handoff_words(tid);
            self.note_effect(|_| format!("{}; the call goes on when it returns", what.unwrap_or_default()));
        }
        taken
    }

    fn take_sent_or_callback_inner(&mut self, tid: Tid) -> bool {
        if let Some(cb) = self.queue_mut(tid).callbacks.pop_front() {
            let QueuedCallback { proc, hwnd, msg, data, result } = cb;
            self.user.handoff.insert(tid, Handoff::Callback { proc, hwnd, msg, data, result });
            return true;
        }
        let Some(serial) = self.queue_mut(tid).incoming.pop_front() else { return false };
        let s = self.user.sent.get_mut(&serial).expect("queued sent message exists");
        s.state = SentState::Processing;
        let (hwnd, msg, wparam, lparam) = (s.hwnd, s.msg, s.wparam, s.lparam);
        // A window being destroyed had its queued sent messages answered (`flush_window`).
        let proc = self.user.windows[&hwnd.0].proc.clone();
        self.queue_mut(tid).processing.push(serial);
        self.user.handoff.insert(tid, Handoff::Proc { proc, hwnd, msg, wparam, lparam, sent: Some(serial) });
        true
    }

    /// Resolves a GetMessage/PeekMessage hWnd filter; ERROR_INVALID_WINDOW_HANDLE for a
    /// value that is no window (§17.C2, D1).
    fn resolve_filter(&self, tid: Tid, hwnd: HWND) -> Result<Filter, Win32Error> {
        Ok(match hwnd.0 {
            0 => Filter::Any,
            -1 | 1 | 0xFFFF => Filter::ThreadOnly,
            -2 | -3 => Filter::Nothing,
            v => match self.user.windows.get(&v) {
                Some(w) if w.tid == tid => Filter::Window(hwnd),
                // Another thread's window: nothing of this queue is for it [inferred].
                Some(_) => Filter::Nothing,
                None => return Err(ERROR_INVALID_WINDOW_HANDLE),
            },
        })
    }

    /// One look at the queue, in Windows' order: sent messages and callbacks (run at
    /// once, whatever the mask), posted messages, the quit flag, then WM_TIMER (§17.F1-F2).
    fn retrieve(&mut self, tid: Tid, filter: Filter, min: u32, max: u32, flags: u32) -> Got {
        let now = self.now;
        {
            let q = self.queue_mut(tid);
            q.changed = 0;
            q.quit_status = false;
            q.last_pump = now;
        }
        if self.take_sent_or_callback(tid) {
            return Got::Handoff;
        }
        let mask = flags >> 16;
        let remove = flags & PM_REMOVE != 0;
        let posted_ok = mask == 0 || mask & (QS_POSTMESSAGE | QS_ALLPOSTMESSAGE) != 0;
        let hotkey_ok = mask == 0 || mask & QS_HOTKEY != 0;
        let q = self.user.queues.get_mut(&tid).expect("created above");
        let pos = q.posted.iter().position(|m| {
            filter.takes(m.hwnd)
                && in_range(m.message, min, max)
                && (posted_ok || (hotkey_ok && m.message == WM_HOTKEY))
        });
        if let Some(i) = pos {
            let m = q.posted[i];
            if remove {
                q.posted.remove(i);
            }
            return Got::Msg(m);
        }
        // The quit flag: after every posted message the filter takes, whatever the range
        // and for a filter naming one of the thread's windows too (§17.D11, E1).
        if let Some(code) = q.quit.filter(|_| posted_ok && filter != Filter::Nothing) {
            if remove {
                q.quit = None;
                q.quit_status = true;
            }
            let time = self.tick_count();
            return Got::Msg(MSG {
                hwnd: HWND::NULL,
                message: WM_QUIT,
                wParam: code,
                lParam: 0,
                time,
                pt: POINT::default(),
            });
        }
        if (mask == 0 || mask & QS_TIMER != 0) && in_range(WM_TIMER, min, max) {
            let found = self.user.timers.iter_mut().find(|(_, t)| t.tid == tid && t.expired && filter.takes(t.hwnd));
            if let Some((&serial, t)) = found {
                if remove {
                    t.expired = false;
                }
                let lparam = if t.proc.is_some() { TIMER_TOKEN_BASE + serial as isize } else { 0 };
                let (hwnd, id) = (t.hwnd, t.id);
                let time = self.tick_count();
                return Got::Msg(MSG {
                    hwnd,
                    message: WM_TIMER,
                    wParam: id,
                    lParam: lparam,
                    time,
                    pt: POINT::default(),
                });
            }
        }
        Got::Nothing
    }

    fn tick_count(&self) -> u32 {
        (self.now / TICKS_PER_MS) as u32
    }

    // ----- classes and windows ------------------------------------------------------------

    /// An atom from the global atom table (class names and registered messages share it).
    fn atom(&mut self, name: &str) -> Option<ATOM> {
        let key = name.to_lowercase();
        if let Some(&a) = self.user.atoms.get(&key) {
            return Some(a);
        }
        let next = 0xC000u32 + self.user.atoms.len() as u32;
        let a = ATOM::try_from(next).ok()?;
        self.user.atoms.insert(key, a);
        Some(a)
    }

    /// RegisterClassEx: the class atom; ERROR_CLASS_ALREADY_EXISTS for a name the process
    /// registered already; ERROR_INVALID_PARAMETER for an empty name (§17.P1).
    pub(crate) fn register_class(&mut self, pid: Pid, tid: Tid, name: String, proc: Option<WNDPROC>) -> CallResult {
        self.queue_mut(tid);
        let Some(proc) = proc else { return Err(ERROR_INVALID_PARAMETER) };
        if name.is_empty() || name.len() > 256 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let key = (pid, name.to_lowercase());
        if self.user.classes.contains_key(&key) {
            return Err(ERROR_CLASS_ALREADY_EXISTS);
        }
        let Some(atom) = self.atom(&name) else { return Err(ERROR_NOT_ENOUGH_MEMORY) };
        self.user.classes.insert(key, Class { name, atom, proc, windows: 0 });
        Ok(Value::U32(u32::from(atom)).into())
    }

    /// UnregisterClass: ERROR_CLASS_DOES_NOT_EXIST, ERROR_CLASS_HAS_WINDOWS (§17.P1).
    pub(crate) fn unregister_class(&mut self, pid: Pid, tid: Tid, name: String) -> CallResult {
        self.queue_mut(tid);
        let key = (pid, name.to_lowercase());
        match self.user.classes.get(&key) {
            None => Err(ERROR_CLASS_DOES_NOT_EXIST),
            Some(c) if c.windows > 0 => Err(ERROR_CLASS_HAS_WINDOWS),
            Some(_) => {
                self.user.classes.remove(&key);
                Ok(Value::Bool(true).into())
            }
        }
    }

    /// CreateWindowEx: makes the window and hands its procedure to the API layer, which
    /// sends WM_NCCREATE and WM_CREATE and destroys the window if either refuses. The
    /// extended style is accepted and has no effect. A parent that is a window (child
    /// windows) is not modelled: the run ends as Unsupported.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_window_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        _ex_style: u32,
        class: String,
        title: String,
        style: u32,
        parent: HWND,
        id: isize,
    ) -> CallResult {
        self.queue_mut(tid);
        let message_only = parent == HWND_MESSAGE;
        if !parent.is_null() && !message_only {
            if !self.user.windows.contains_key(&parent.0) {
                return Err(ERROR_INVALID_WINDOW_HANDLE);
            }
            self.unsupported("CreateWindowEx", "child and owned windows (a parent other than NULL or HWND_MESSAGE)");
            return Err(ERROR_NOT_SUPPORTED);
        }
        let key = class.to_lowercase();
        let user = &mut *self.user;
        let Some(c) = user.classes.get_mut(&(pid, key.clone())) else { return Err(ERROR_CANNOT_FIND_WND_CLASS) };
        let owned = user.windows.values().filter(|w| w.pid == pid).count();
        if owned >= self.config.windows_max as usize {
            // The process's USER handle quota (10,000 by default on Windows) (§17.P2).
            return Err(ERROR_NO_MORE_USER_HANDLES);
        }
        c.windows += 1;
        let proc = c.proc.clone();
        let class_name = c.name.clone();
        self.user.created += 1;
        let hwnd = HWND(HWND_BASE + HWND_STEP * (self.user.created - 1));
        self.user.windows.insert(
            hwnd.0,
            Window {
                tid,
                pid,
                class: key,
                class_name,
                proc: proc.clone(),
                title,
                message_only,
                style,
                userdata: 0,
                id,
                dying: false,
            },
        );
        self.note_effect(|_| format!("{hwnd} created; WM_NCCREATE and WM_CREATE go to its procedure"));
        self.user.handoff.insert(tid, Handoff::Proc { proc, hwnd, msg: WM_NCCREATE, wparam: 0, lparam: 0, sent: None });
        Ok(Value::Hwnd(hwnd).into())
    }

    /// The window `hwnd`, if it exists and is not being destroyed.
    fn live_window(&self, hwnd: HWND) -> Option<&Window> {
        self.user.windows.get(&hwnd.0).filter(|w| !w.dying)
    }

    /// DestroyWindow: only the owning thread may (ERROR_ACCESS_DENIED, §17.I7). Posted
    /// messages for the window are discarded (its first WM_QUIT becomes the quit flag,
    /// §17.E5), its timers killed, messages sent to it and not yet run are answered 0;
    /// WM_DESTROY and WM_NCDESTROY go to its procedure, after which the handle is gone
    /// (the API layer ends it with `WndProcReturn`).
    pub(crate) fn destroy_window(&mut self, _pid: Pid, tid: Tid, hwnd: HWND) -> CallResult {
        self.queue_mut(tid);
        let Some(w) = self.user.windows.get(&hwnd.0) else { return Err(ERROR_INVALID_WINDOW_HANDLE) };
        if w.dying {
            return Err(ERROR_INVALID_WINDOW_HANDLE);
        }
        if w.tid != tid {
            return Err(ERROR_ACCESS_DENIED);
        }
        let proc = w.proc.clone();
        self.user.windows.get_mut(&hwnd.0).expect("checked").dying = true;
        let flushed = self.flush_window(tid, hwnd);
        self.note_effect(|_| format!("{hwnd} is destroyed; {flushed} message(s) for it discarded"));
        self.user.handoff.insert(tid, Handoff::Destroy { proc, hwnd });
        Ok(Value::Handoff.into())
    }

    /// Removes what a destroyed window leaves in queues: its posted messages (the first
    /// WM_QUIT among them becomes its thread's quit flag), its timers, and messages sent
    /// to it and not yet run (their senders get 0). Returns the posted messages discarded.
    fn flush_window(&mut self, tid: Tid, hwnd: HWND) -> usize {
        let mut discarded = 0;
        if let Some(q) = self.user.queues.get_mut(&tid) {
            let mut quit = None;
            q.posted.retain(|m| {
                if m.hwnd != hwnd {
                    return true;
                }
                if m.message == WM_QUIT && quit.is_none() {
                    quit = Some(m.wParam);
                }
                discarded += 1;
                false
            });
            if let Some(code) = quit {
                q.quit = Some(code);
            }
        }
        let timers: Vec<u64> =
            self.user.timers.iter().filter(|(_, t)| t.hwnd == hwnd && !hwnd.is_null()).map(|(&s, _)| s).collect();
        for s in timers {
            self.remove_user_timer(s);
        }
        let queued: Vec<u64> = self
            .user
            .sent
            .values()
            .filter(|s| s.hwnd == hwnd && s.state == SentState::Queued)
            .map(|s| s.serial)
            .collect();
        for serial in queued {
            if let Some(q) = self.user.queues.get_mut(&tid) {
                q.incoming.retain(|&s| s != serial);
            }
            self.user.sent.get_mut(&serial).expect("listed").done = true;
            self.finish_sent(serial, Ok(0), "its window was destroyed");
        }
        discarded
    }

    /// Frees a destroyed window's handle (after WM_NCDESTROY).
    fn free_window(&mut self, hwnd: HWND) {
        if let Some(w) = self.user.windows.remove(&hwnd.0)
            && let Some(c) = self.user.classes.get_mut(&(w.pid, w.class))
        {
            c.windows -= 1;
        }
    }

    /// IsWindow.
    pub(crate) fn is_window(&mut self, _pid: Pid, _tid: Tid, hwnd: HWND) -> CallResult {
        Ok(Value::Bool(self.user.windows.contains_key(&hwnd.0)).into())
    }

    /// GetWindowThreadProcessId: the creating thread and its process; 0 and
    /// ERROR_INVALID_WINDOW_HANDLE for a value that is no window.
    pub(crate) fn get_window_thread_process_id(&mut self, _pid: Pid, _tid: Tid, hwnd: HWND) -> CallResult {
        match self.user.windows.get(&hwnd.0) {
            Some(w) => Ok(Value::Ids(w.tid, w.pid).into()),
            None => Err(ERROR_INVALID_WINDOW_HANDLE),
        }
    }

    /// FindWindowEx: the most recently created matching window (top-level ones, or the
    /// message-only ones when `parent` is HWND_MESSAGE), after `after`; NULL when none,
    /// with ERROR_FILE_NOT_FOUND [inferred, §17.P4].
    pub(crate) fn find_window_ex(
        &mut self,
        _pid: Pid,
        _tid: Tid,
        parent: HWND,
        after: HWND,
        class: Option<String>,
        title: Option<String>,
    ) -> CallResult {
        let message_only = match parent.0 {
            0 => false,
            -3 => true,
            v if self.user.windows.contains_key(&v) => return Err(ERROR_FILE_NOT_FOUND),
            _ => return Err(ERROR_INVALID_WINDOW_HANDLE),
        };
        let class = class.map(|c| c.to_lowercase());
        // The title compares without regard to case, as the class does [W, §17.P4].
        let title = title.map(|t| t.to_lowercase());
        let mut candidates = self.user.windows.iter().rev().filter(|(_, w)| !w.dying && w.message_only == message_only);
        let mut skipping = !after.is_null();
        for (&v, w) in &mut candidates {
            if skipping {
                skipping = v != after.0;
                continue;
            }
            let class_ok = class.as_ref().is_none_or(|c| *c == w.class);
            let title_ok = title.as_ref().is_none_or(|t| *t == w.title.to_lowercase());
            if class_ok && title_ok {
                return Ok(Value::Hwnd(HWND(v)).into());
            }
        }
        Err(ERROR_FILE_NOT_FOUND)
    }

    /// SetWindowLongPtr (GWLP_USERDATA, GWLP_ID): the previous value, from any process
    /// (only GWLP_WNDPROC, not modelled, is refused across processes); another index:
    /// ERROR_INVALID_INDEX (§17.P5).
    pub(crate) fn set_window_long_ptr(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        index: i32,
        value: isize,
    ) -> CallResult {
        self.queue_mut(tid);
        let Some(w) = self.user.windows.get_mut(&hwnd.0) else { return Err(ERROR_INVALID_WINDOW_HANDLE) };
        let slot = match index {
            GWLP_USERDATA => &mut w.userdata,
            GWLP_ID => &mut w.id,
            _ => return Err(ERROR_INVALID_INDEX),
        };
        let old = std::mem::replace(slot, value);
        Ok(Value::Long(old as i64).into())
    }

    /// GetWindowLongPtr (GWLP_USERDATA, GWLP_ID).
    pub(crate) fn get_window_long_ptr(&mut self, _pid: Pid, tid: Tid, hwnd: HWND, index: i32) -> CallResult {
        self.queue_mut(tid);
        let Some(w) = self.user.windows.get(&hwnd.0) else { return Err(ERROR_INVALID_WINDOW_HANDLE) };
        match index {
            GWLP_USERDATA => Ok(Value::Long(w.userdata as i64).into()),
            GWLP_ID => Ok(Value::Long(w.id as i64).into()),
            _ => Err(ERROR_INVALID_INDEX),
        }
    }

    /// RegisterWindowMessage: a value in 0xC000-0xFFFF, the same for the same name in any
    /// case, from any process (§17.P6); 0 and ERROR_INVALID_PARAMETER for an empty name.
    pub(crate) fn register_window_message(&mut self, _pid: Pid, tid: Tid, name: String) -> CallResult {
        self.queue_mut(tid);
        if name.is_empty() {
            return Err(ERROR_INVALID_PARAMETER);
        }
        match self.atom(&name) {
            Some(a) => Ok(Value::U32(u32::from(a)).into()),
            None => Err(ERROR_NOT_ENOUGH_MEMORY),
        }
    }

    // ----- posting ----------------------------------------------------------------------

    /// Appends a posted message to `tid`'s queue, within the posted-message quota
    /// (ERROR_NOT_ENOUGH_QUOTA, §17.A3-A4).
    pub(crate) fn post_to(&mut self, tid: Tid, msg: MSG, cause: &str) -> Result<(), Win32Error> {
        let max = self.config.posted_messages_max as usize;
        let q = self.queue_mut(tid);
        if q.posted.len() >= max {
            self.note_effect(|_| format!("T{tid}'s queue already holds {max} posted messages, its quota"));
            return Err(ERROR_NOT_ENOUGH_QUOTA);
        }
        q.posted.push_back(msg);
        let bits = QS_POSTMESSAGE | QS_ALLPOSTMESSAGE | if msg.message == WM_HOTKEY { QS_HOTKEY } else { 0 };
        self.queue_changed(tid, bits, cause);
        Ok(())
    }

    /// PostMessage: NULL posts to the calling thread (§17.A6); HWND_BROADCAST (and
    /// HWND_TOPMOST) to every top-level window, silently dropping WM_USER..0xBFFF (§17.B5);
    /// a pointer-carrying system message fails with ERROR_MESSAGE_SYNC_ONLY (§17.B2); a
    /// value that is no window with ERROR_INVALID_WINDOW_HANDLE (§17.B1).
    pub(crate) fn post_message(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
    ) -> CallResult {
        self.queue_mut(tid);
        if is_sync_only(msg, wparam) {
            return Err(ERROR_MESSAGE_SYNC_ONLY);
        }
        let time = self.tick_count();
        let cause = self.cause(|| format!("PostMessage({})", message_name(msg)));
        if hwnd == HWND_BROADCAST || hwnd == HWND_TOPMOST {
            if (WM_USER..0xC000).contains(&msg) {
                self.note_effect(|_| "private messages are not broadcast: dropped".into());
                return Ok(Value::Bool(true).into());
            }
            let targets: Vec<(isize, Tid)> = self
                .user
                .windows
                .iter()
                .filter(|(_, w)| !w.message_only && !w.dying && w.style & WS_CHILD == 0)
                .map(|(&v, w)| (v, w.tid))
                .collect();
            for (v, to) in targets {
                let m = MSG { hwnd: HWND(v), message: msg, wParam: wparam, lParam: lparam, time, pt: POINT::default() };
                // A full queue loses the broadcast, the call still succeeds (§17.B5).
                let _ = self.post_to(to, m, &cause);
            }
            return Ok(Value::Bool(true).into());
        }
        let to = if hwnd.is_null() {
            tid
        } else {
            match self.live_window(hwnd) {
                Some(w) => w.tid,
                None => return Err(ERROR_INVALID_WINDOW_HANDLE),
            }
        };
        let m = MSG { hwnd, message: msg, wParam: wparam, lParam: lparam, time, pt: POINT::default() };
        self.post_to(to, m, &cause)?;
        self.note_effect(|_| format!("queued to T{to}"));
        Ok(Value::Bool(true).into())
    }

    /// PostThreadMessage: ERROR_INVALID_THREAD_ID for a thread that does not exist, has
    /// ended or has no queue yet (§17.A1-A2).
    pub(crate) fn post_thread_message(
        &mut self,
        _pid: Pid,
        tid: Tid,
        thread: u32,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
    ) -> CallResult {
        self.queue_mut(tid);
        if is_sync_only(msg, wparam) {
            return Err(ERROR_MESSAGE_SYNC_ONLY);
        }
        let alive = self.tids.contains_key(&thread) && self.thread(thread).exit_code.is_none();
        if !alive || !self.user.queues.contains_key(&thread) {
            return Err(ERROR_INVALID_THREAD_ID);
        }
        let time = self.tick_count();
        let m = MSG { hwnd: HWND::NULL, message: msg, wParam: wparam, lParam: lparam, time, pt: POINT::default() };
        let cause = self.cause(|| format!("PostThreadMessage({})", message_name(msg)));
        self.post_to(thread, m, &cause)?;
        self.note_effect(|_| format!("queued to T{thread}"));
        Ok(Value::Bool(true).into())
    }

    /// PostQuitMessage: sets the quit flag, delivered after every posted message (§17.E1).
    pub(crate) fn post_quit_message(&mut self, _pid: Pid, tid: Tid, exit_code: i32) -> CallResult {
        self.queue_mut(tid).quit = Some(exit_code as isize as usize);
        self.note_effect(|_| {
            format!("quit flag set (exit code {exit_code}): WM_QUIT comes once no posted message is left")
        });
        self.queue_changed(tid, QS_POSTMESSAGE | QS_ALLPOSTMESSAGE, "PostQuitMessage");
        Ok(Value::Void.into())
    }

    // ----- retrieving -------------------------------------------------------------------

    /// GetMessage: runs sent messages (handing each to the API layer, which calls again),
    /// returns a posted message, WM_QUIT or WM_TIMER, or blocks (§17.C). -1 and
    /// ERROR_INVALID_WINDOW_HANDLE for a filter that is no window (§17.C2).
    pub(crate) fn get_message(&mut self, _pid: Pid, tid: Tid, hwnd: HWND, min: u32, max: u32) -> Exec {
        self.queue_mut(tid);
        let filter = match self.resolve_filter(tid, hwnd) {
            Ok(f) => f,
            Err(e) => return Exec::from(CallResult::Err(e)),
        };
        match self.retrieve(tid, filter, min, max, PM_REMOVE) {
            Got::Handoff => Exec::Done(Value::Handoff.into()),
            Got::Msg(m) => Exec::Done(Value::Msg(Box::new(m)).into()),
            Got::Nothing => Exec::Block(self.new_op(tid, OpKind::MsgGet { hwnd, min, max }, None)),
        }
    }

    /// PeekMessage: as GetMessage without blocking; FALSE when nothing matches (§17.D).
    pub(crate) fn peek_message(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        min: u32,
        max: u32,
        flags: u32,
    ) -> CallResult {
        self.queue_mut(tid);
        let filter = self.resolve_filter(tid, hwnd)?;
        match self.retrieve(tid, filter, min, max, flags) {
            Got::Handoff => Ok(Value::Handoff.into()),
            Got::Msg(m) => Ok(Value::Msg(Box::new(m)).into()),
            Got::Nothing => Ok(Value::Bool(false).into()),
        }
    }

    /// WaitMessage: returns when new input arrives (input already seen does not count,
    /// §17.H2); a message sent to the thread is run first [inferred].
    pub(crate) fn wait_message(&mut self, _pid: Pid, tid: Tid) -> Exec {
        self.queue_mut(tid).last_pump = self.now;
        if self.take_sent_or_callback(tid) {
            self.queue_mut(tid).changed = 0;
            return Exec::Done(Value::Handoff.into());
        }
        if self.user.queues[&tid].changed != 0 {
            self.queue_mut(tid).changed = 0;
            return Exec::Done(Value::Bool(true).into());
        }
        Exec::Block(self.new_op(tid, OpKind::MsgWaitNew, None))
    }

    /// GetQueueStatus: MAKELONG(new bits asked for, present bits asked for); the new bits
    /// reported are reset (§17.G1-G2); flags outside QS_* fail with ERROR_INVALID_FLAGS
    /// and reset nothing (§17.G4).
    pub(crate) fn get_queue_status(&mut self, _pid: Pid, tid: Tid, flags: u32) -> CallResult {
        const VALID: u32 = QS_ALLINPUT | QS_ALLPOSTMESSAGE | 0x0800 | 0x1000;
        if flags & !VALID != 0 {
            return Err(ERROR_INVALID_FLAGS);
        }
        self.queue_mut(tid);
        let present = self.queue_present(tid) & flags;
        let q = self.queue_mut(tid);
        let new = q.changed & flags;
        q.changed &= !flags;
        Ok(Value::U32((present << 16) | new).into())
    }

    /// MsgWaitForMultipleObjectsEx: the handles, plus the queue as index n: input of the
    /// wake mask that is new (or any, with MWMO_INPUTAVAILABLE) returns WAIT_OBJECT_0 + n;
    /// sent messages are not run (§17.H1-H3).
    pub(crate) fn msg_wait_for_multiple_objects_ex(
        &mut self,
        pid: Pid,
        tid: Tid,
        handles: Vec<HANDLE>,
        timeout_ms: u32,
        wake_mask: u32,
        flags: u32,
    ) -> Exec {
        self.queue_mut(tid).last_pump = self.now;
        if handles.len() >= MAXIMUM_WAIT_OBJECTS || flags & !(MWMO_WAITALL | MWMO_ALERTABLE | MWMO_INPUTAVAILABLE) != 0
        {
            return Exec::from(CallResult::Err(ERROR_INVALID_PARAMETER));
        }
        let all = flags & MWMO_WAITALL != 0;
        let objects = if handles.is_empty() {
            Vec::new()
        } else {
            match self.resolve_wait(pid, tid, &handles, all, false) {
                Ok(o) => o,
                Err(e) => return Exec::from(CallResult::Err(e)),
            }
        };
        let input = InputWait { mask: wake_mask, available: flags & MWMO_INPUTAVAILABLE != 0, com: 0 };
        self.wait_on(tid, &objects, &handles, all, timeout_ms, flags & MWMO_ALERTABLE != 0, Some(input))
    }

    /// DispatchMessage: hands the window procedure (or a WM_TIMER's TIMERPROC) to the API
    /// layer. A thread message is dispatched to nobody (0, §17.A5); a value that is no
    /// window fails with ERROR_INVALID_WINDOW_HANDLE, another thread's window with
    /// ERROR_MESSAGE_SYNC_ONLY (§17.I8).
    pub(crate) fn dispatch_message(&mut self, _pid: Pid, tid: Tid, msg: MSG) -> CallResult {
        self.queue_mut(tid);
        if msg.message == WM_TIMER && msg.lParam >= TIMER_TOKEN_BASE {
            let serial = (msg.lParam - TIMER_TOKEN_BASE) as u64;
            // Only a live timer of this window (or thread) with that id and a TIMERPROC: a
            // forged or stale WM_TIMER calls nothing [inferred: Windows checks the callback
            // against the thread's timers before calling it].
            let owned = |t: &UserTimer| t.hwnd == msg.hwnd && t.id == msg.wParam && t.tid == tid;
            if let Some(t) = self.user.timers.get(&serial).filter(|t| owned(t))
                && let Some(proc) = t.proc.clone()
            {
                let time = self.tick_count();
                self.user.handoff.insert(tid, Handoff::Timer { proc, hwnd: msg.hwnd, id: msg.wParam, time });
                self.note_effect(|_| format!("calls the TIMERPROC of timer {}", msg.wParam));
                return Ok(Value::Handoff.into());
            }
        }
        if msg.hwnd.is_null() {
            self.note_effect(|_| "a thread message (hwnd NULL): no window procedure to call".into());
            return Ok(Value::Long(0).into());
        }
        let Some(w) = self.user.windows.get(&msg.hwnd.0) else { return Err(ERROR_INVALID_WINDOW_HANDLE) };
        if w.tid != tid {
            return Err(ERROR_MESSAGE_SYNC_ONLY);
        }
        let proc = w.proc.clone();
        self.note_effect(|_| format!("calls the window procedure of {} with {}", msg.hwnd, message_name(msg.message)));
        self.user.handoff.insert(
            tid,
            Handoff::Proc {
                proc,
                hwnd: msg.hwnd,
                msg: msg.message,
                wparam: msg.wParam,
                lparam: msg.lParam,
                sent: None,
            },
        );
        Ok(Value::Handoff.into())
    }

    // ----- sending ----------------------------------------------------------------------

    /// SendMessageTimeout (SendMessage is SMTO_NORMAL with no time-out): to a window of the
    /// calling thread, a direct call, the time-out ignored (§17.I1, J5); to another
    /// thread's, the message is queued to that thread and the caller waits for the reply,
    /// running messages sent to it meanwhile unless SMTO_BLOCK (§17.I2-I3). A negative
    /// time-out fails at once with ERROR_TIMEOUT; 0 means no time-out (§17.J3). With
    /// SMTO_ABORTIFHUNG a hung receiver fails it at once (§17.J7).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_message_timeout(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
        flags: u32,
        timeout_ms: u32,
        copydata: Option<COPYDATASTRUCT>,
    ) -> Exec {
        self.queue_mut(tid);
        if hwnd == HWND_BROADCAST || hwnd == HWND_TOPMOST {
            self.unsupported("SendMessage", "sending to HWND_BROADCAST");
            return Exec::from(CallResult::Err(ERROR_NOT_SUPPORTED));
        }
        let Some(w) = self.live_window(hwnd) else {
            return Exec::from(CallResult::Err(ERROR_INVALID_WINDOW_HANDLE));
        };
        let (to, proc) = (w.tid, w.proc.clone());
        if to == tid {
            self.note_effect(|_| format!("{hwnd} is the calling thread's own window: calls its procedure directly"));
            self.user.handoff.insert(tid, Handoff::Proc { proc, hwnd, msg, wparam, lparam, sent: None });
            return Exec::Done(Value::Handoff.into());
        }
        if (timeout_ms as i32) < 0 && timeout_ms != INFINITE {
            return Exec::from(CallResult::Err(ERROR_TIMEOUT));
        }
        if flags & SMTO_ABORTIFHUNG != 0 && self.hung(to) {
            self.note_effect(|_| format!("T{to} is hung (has not looked at its queue for 5 s): not sent"));
            return Exec::from(CallResult::Err(ERROR_TIMEOUT));
        }
        let depth = self.user.queues.get(&tid).map_or(0, |q| q.processing.len());
        if depth >= self.config.message_nesting_max as usize {
            let e = self.hit_limit(
                crate::report::LimitKind::MessageNesting,
                format!("T{tid} sends from {depth} nested sent messages (message_nesting_max)"),
            );
            return Exec::from(CallResult::Err(e));
        }
        let deadline = if timeout_ms == 0 { None } else { self.deadline(timeout_ms) };
        let kind = SendKind::Send { flags, timeout_ms };
        let serial = self.new_sent(tid, to, hwnd, (msg, wparam, lparam), kind, copydata, deadline);
        let op = self.new_op(tid, OpKind::SendWait { sent: serial, block: flags & SMTO_BLOCK != 0 }, deadline);
        self.user.sent.get_mut(&serial).expect("just made").waiter = Some(op);
        self.note_effect(|_| format!("sent message #{serial} queued to T{to}; T{tid} waits for the reply"));
        let cause = self.cause(|| format!("SendMessage({}) from T{tid}", message_name(msg)));
        self.queue_changed(to, QS_SENDMESSAGE, &cause);
        Exec::Block(op)
    }

    /// SendMessage: SendMessageTimeout with SMTO_NORMAL and no time-out (§17.I).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_message(
        &mut self,
        pid: Pid,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
        copydata: Option<COPYDATASTRUCT>,
    ) -> Exec {
        self.send_message_timeout(pid, tid, hwnd, msg, wparam, lparam, SMTO_NORMAL, 0, copydata)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_sent(
        &mut self,
        from: Tid,
        to: Tid,
        hwnd: HWND,
        (msg, wparam, lparam): (u32, WPARAM, LPARAM),
        kind: SendKind,
        copydata: Option<COPYDATASTRUCT>,
        deadline: Option<u64>,
    ) -> u64 {
        self.user.sent_serial += 1;
        let serial = self.user.sent_serial;
        let lparam = if copydata.is_some() { COPYDATA_TOKEN_BASE + serial as isize } else { lparam };
        let since_step = self.step;
        let delivered = !matches!(kind, SendKind::Send { .. });
        self.user.sent.insert(
            serial,
            Sent {
                serial,
                from,
                to,
                hwnd,
                msg,
                wparam,
                lparam,
                kind,
                copydata,
                state: SentState::Queued,
                replied: None,
                waiter: None,
                delivered,
                done: false,
                deadline,
                since_step,
            },
        );
        self.queue_mut(to).incoming.push_back(serial);
        serial
    }

    /// A sent message has its result (ReplyMessage, the procedure's return, its window or
    /// thread gone): a waiting sender wakes with it; a callback is queued to its sender.
    fn finish_sent(&mut self, serial: u64, result: Result<LRESULT, Win32Error>, why: &str) {
        let Some(s) = self.user.sent.get_mut(&serial) else { return };
        if s.replied.is_some() {
            return self.forget_sent_if_finished(serial);
        }
        s.replied = Some(result);
        let (from, hwnd, msg) = (s.from, s.hwnd, s.msg);
        match s.kind.clone() {
            SendKind::Send { .. } => {
                if let Some(op) = s.waiter.take() {
                    s.delivered = true;
                    let reply = match result {
                        Ok(r) => Value::Long(r as i64).into(),
                        Err(e) => Reply::error(e),
                    };
                    self.complete_op(op, reply, why);
                }
            }
            SendKind::Callback { proc: Some(proc), data } => {
                let alive = self.tids.contains_key(&from) && self.thread(from).exit_code.is_none();
                if alive {
                    let result = result.unwrap_or(0);
                    self.queue_mut(from).callbacks.push_back(QueuedCallback { proc, hwnd, msg, data, result });
                    self.queue_changed(from, QS_SENDMESSAGE, why);
                }
            }
            SendKind::Callback { proc: None, .. } | SendKind::Notify => {}
        }
        self.forget_sent_if_finished(serial);
    }

    fn forget_sent_if_finished(&mut self, serial: u64) {
        if self.user.sent.get(&serial).is_some_and(|s| s.delivered && s.done) {
            self.user.sent.remove(&serial);
        }
    }

    /// The internal step after a thread ran a message sent to it while it waited in
    /// SendMessage: its reply if it came, else the next message to run, else wait again
    /// (with the time-out counted from the send).
    pub(crate) fn send_message_wait(&mut self, _pid: Pid, tid: Tid, sent: u64) -> Exec {
        self.user.generation += 1;
        let Some(s) = self.user.sent.get_mut(&sent) else {
            return Exec::from(CallResult::Err(ERROR_INVALID_PARAMETER));
        };
        if s.from != tid || s.delivered {
            return Exec::from(CallResult::Err(ERROR_INVALID_PARAMETER));
        }
        if let Some(r) = s.replied {
            s.delivered = true;
            let msg = message_name(s.msg);
            self.note_effect(|_| format!("the reply to its SendMessage({msg}) came meanwhile: SendMessage returns"));
            self.forget_sent_if_finished(sent);
            return Exec::from(match r {
                Ok(v) => CallResult::Ok(Value::Long(v as i64).into()),
                Err(e) => CallResult::Err(e),
            });
        }
        let (block, deadline) = match s.kind {
            SendKind::Send { flags, .. } => (flags & SMTO_BLOCK != 0, s.deadline),
            _ => (true, None),
        };
        if !block && self.take_sent_or_callback(tid) {
            return Exec::Done(Value::Handoff.into());
        }
        if deadline.is_some_and(|d| d <= self.now) {
            return Exec::from(CallResult::Err(self.time_out_sent(sent)));
        }
        let op = self.new_op(tid, OpKind::SendWait { sent, block }, deadline);
        self.user.sent.get_mut(&sent).expect("checked").waiter = Some(op);
        Exec::Block(op)
    }

    /// A SendMessageTimeout's time-out: a message not yet taken is withdrawn and never
    /// delivered (§17.J2); one being run goes on, its reply discarded (§17.J4). Returns the
    /// error for the sender.
    fn time_out_sent(&mut self, serial: u64) -> Win32Error {
        let Some(s) = self.user.sent.get_mut(&serial) else { return ERROR_TIMEOUT };
        s.delivered = true;
        s.waiter = None;
        if s.state == SentState::Queued {
            s.done = true;
            let to = s.to;
            if let Some(q) = self.user.queues.get_mut(&to) {
                q.incoming.retain(|&x| x != serial);
            }
        }
        self.forget_sent_if_finished(serial);
        ERROR_TIMEOUT
    }

    /// A SendWait operation's time-out came. With SMTO_NOTIMEOUTIFNOTHUNG the wait goes on
    /// while the receiver is not hung (§17.J7).
    pub(crate) fn time_out_send_wait(&mut self, op: OpId) {
        self.user.generation += 1;
        let OpKind::SendWait { sent, .. } = self.ops[op].kind else { return };
        let (flags, timeout_ms, to) = match self.user.sent.get(&sent) {
            Some(Sent { kind: SendKind::Send { flags, timeout_ms }, to, .. }) => (*flags, *timeout_ms, *to),
            _ => (0, 0, 0),
        };
        if flags & SMTO_NOTIMEOUTIFNOTHUNG != 0 && !self.hung(to) {
            let due = self.now + u64::from(timeout_ms) * TICKS_PER_MS;
            let seq = self.next_timer_seq();
            let o = &mut self.ops[op];
            o.deadline = Some(due);
            o.timer_seq = seq;
            self.timers.insert((due, seq, TimerKey::Op(op)));
            if let Some(s) = self.user.sent.get_mut(&sent) {
                s.deadline = Some(due);
            }
            return;
        }
        let e = self.time_out_sent(sent);
        self.complete_op(op, Reply::error(e), "time-out");
    }

    /// The internal step after user code the kernel handed off has run: a sent message's
    /// result (replying if ReplyMessage did not), or the end of DestroyWindow or of a
    /// creation message.
    pub(crate) fn wnd_proc_return(&mut self, _pid: Pid, tid: Tid, sent: u64, hwnd: HWND, result: isize) -> CallResult {
        self.user.generation += 1;
        if sent != 0 {
            let q = self.queue_mut(tid);
            if q.processing.last() != Some(&sent) {
                return Err(ERROR_INVALID_PARAMETER);
            }
            q.processing.pop();
            if let Some(s) = self.user.sent.get(&sent) {
                let from = s.from;
                let then = match s.kind {
                    SendKind::Send { .. } if s.replied.is_some() => "ReplyMessage answered it already".to_string(),
                    SendKind::Send { .. } if s.delivered => format!("T{from} no longer waits: the result is discarded"),
                    SendKind::Send { .. } if s.waiter.is_some() => format!("the reply to T{from}'s SendMessage"),
                    SendKind::Send { .. } => format!("the reply waits for T{from}, which runs a message sent to it"),
                    SendKind::Notify => "SendNotifyMessage: nobody waits for the result".to_string(),
                    SendKind::Callback { .. } => format!("the result goes to T{from}'s callback"),
                };
                let msg = message_name(s.msg);
                self.note_effect(|_| format!("the window procedure returned {result} for {msg} from T{from}: {then}"));
            }
            if let Some(s) = self.user.sent.get_mut(&sent) {
                s.done = true;
            }
            let cause = self.cause(|| format!("the window procedure of T{tid} returned {result}"));
            self.finish_sent(sent, Ok(result), &cause);
            self.forget_sent_if_finished(sent);
        } else if self.user.windows.get(&hwnd.0).is_some_and(|w| w.dying && w.tid == tid) {
            self.free_window(hwnd);
            self.note_effect(|_| format!("WM_DESTROY and WM_NCDESTROY have run: {hwnd} is gone"));
        }
        Ok(Value::Void.into())
    }

    /// SendNotifyMessage: to the calling thread's window a direct call (§17.K1); to another
    /// thread's, queued as a sent message nobody waits for (§17.K2).
    pub(crate) fn send_notify_message(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
    ) -> CallResult {
        self.send_async(tid, hwnd, msg, wparam, lparam, SendKind::Notify)
    }

    /// SendMessageCallback: as SendNotifyMessage, and the callback runs on the caller with
    /// the result when it next looks at its queue (§17.K4); with no callback and dwData 1,
    /// a same-thread send is queued rather than called (§17.K3).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send_message_callback(
        &mut self,
        _pid: Pid,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
        callback: Option<SENDASYNCPROC>,
        data: usize,
    ) -> CallResult {
        self.send_async(tid, hwnd, msg, wparam, lparam, SendKind::Callback { proc: callback, data })
    }

    fn send_async(
        &mut self,
        tid: Tid,
        hwnd: HWND,
        msg: u32,
        wparam: WPARAM,
        lparam: LPARAM,
        kind: SendKind,
    ) -> CallResult {
        self.queue_mut(tid);
        if is_sync_only(msg, wparam) {
            return Err(ERROR_MESSAGE_SYNC_ONLY);
        }
        if hwnd == HWND_BROADCAST || hwnd == HWND_TOPMOST {
            self.unsupported("SendNotifyMessage", "sending to HWND_BROADCAST");
            return Err(ERROR_NOT_SUPPORTED);
        }
        let Some(w) = self.live_window(hwnd) else { return Err(ERROR_INVALID_WINDOW_HANDLE) };
        let (to, proc) = (w.tid, w.proc.clone());
        let queued_quirk = matches!(kind, SendKind::Callback { proc: None, data: 1 });
        if to == tid && !queued_quirk {
            // The callback, if any, runs right after the procedure (§17.K1): the API layer
            // calls both.
            self.user.handoff.insert(tid, Handoff::Proc { proc, hwnd, msg, wparam, lparam, sent: None });
            return Ok(Value::Handoff.into());
        }
        let serial = self.new_sent(tid, to, hwnd, (msg, wparam, lparam), kind, None, None);
        let cause = self.cause(|| format!("sent message #{serial} from T{tid}"));
        self.note_effect(|_| format!("sent message #{serial} queued to T{to}; nobody waits for it"));
        self.queue_changed(to, QS_SENDMESSAGE, &cause);
        Ok(Value::Bool(true).into())
    }

    /// ReplyMessage: answers the cross-thread sent message being run, so its sender goes on
    /// (§17.L1); TRUE for a SendNotifyMessage without marking it replied (§17.L2); FALSE
    /// when the thread runs no message sent by another thread (§17.L4-L5).
    pub(crate) fn reply_message(&mut self, _pid: Pid, tid: Tid, result: isize) -> CallResult {
        let Some(&serial) = self.queue_mut(tid).processing.last() else { return Ok(Value::Bool(false).into()) };
        let s = &self.user.sent[&serial];
        if matches!(s.kind, SendKind::Notify) || s.replied.is_some() {
            return Ok(Value::Bool(true).into());
        }
        let cause = self.cause(|| format!("ReplyMessage({result}) of T{tid}"));
        self.finish_sent(serial, Ok(result), &cause);
        Ok(Value::Bool(true).into())
    }

    /// InSendMessageEx's flags for the message `tid` is running (§17.L1-L5).
    pub(crate) fn in_send_message_ex(&self, tid: Tid) -> u32 {
        let Some(&serial) = self.user.queues.get(&tid).and_then(|q| q.processing.last()) else { return ISMEX_NOSEND };
        let s = &self.user.sent[&serial];
        match s.kind {
            SendKind::Send { .. } => ISMEX_SEND | if s.replied.is_some() { ISMEX_REPLIED } else { 0 },
            SendKind::Notify => ISMEX_NOTIFY,
            SendKind::Callback { .. } => ISMEX_CALLBACK | if s.replied.is_some() { ISMEX_REPLIED } else { 0 },
        }
    }

    /// WM_COPYDATA's copy for the receiver, while it runs the message (§17.P3).
    pub(crate) fn copydata(&self, tid: Tid, lparam: LPARAM) -> Option<COPYDATASTRUCT> {
        let q = self.user.queues.get(&tid)?;
        q.processing.iter().rev().find_map(|s| {
            let s = self.user.sent.get(s)?;
            (s.lparam == lparam).then(|| s.copydata.clone()).flatten()
        })
    }

    /// The innermost SendMessage of `tid` still waiting for its reply (the one a message
    /// run meanwhile interrupted).
    pub(crate) fn outstanding_send(&self, tid: Tid) -> Option<u64> {
        self.user
            .sent
            .values()
            .rev()
            .find(|s| s.from == tid && !s.delivered && matches!(s.kind, SendKind::Send { .. }))
            .map(|s| s.serial)
    }

    /// Takes the user code handed to the API layer.
    pub(crate) fn take_handoff(&mut self, tid: Tid) -> Option<Handoff> {
        self.user.handoff.remove(&tid)
    }

    // ----- timers -----------------------------------------------------------------------

    /// SetTimer: a window timer keeps the caller's id (§17.N1), a thread timer (hWnd NULL)
    /// gets a new one unless nIDEvent names one of the thread's (§17.N3); the same id
    /// replaces the timer. The period is clamped to [10, 0x7FFFFFFF] ms (§17.N4). Another
    /// thread of the window's process may set it (§17.N2); another process gets
    /// ERROR_ACCESS_DENIED [W]. Past `user_timers_max` per thread:
    /// ERROR_NO_MORE_USER_HANDLES (§17.N5).
    pub(crate) fn set_timer(
        &mut self,
        pid: Pid,
        tid: Tid,
        hwnd: HWND,
        id: usize,
        elapse_ms: u32,
        proc: Option<TIMERPROC>,
    ) -> CallResult {
        self.queue_mut(tid);
        let owner = if hwnd.is_null() {
            tid
        } else {
            match self.live_window(hwnd) {
                Some(w) if w.pid != pid => return Err(ERROR_ACCESS_DENIED),
                Some(w) => w.tid,
                None => return Err(ERROR_INVALID_WINDOW_HANDLE),
            }
        };
        let existing = self
            .user
            .timers
            .iter()
            .find(|(_, t)| t.hwnd == hwnd && t.id == id && (!hwnd.is_null() || t.tid == tid))
            .map(|(&s, _)| s);
        let id = match (hwnd.is_null(), existing) {
            (_, Some(_)) => id,
            (false, None) => {
                let count = self.user.timers.values().filter(|t| t.tid == owner).count();
                if count >= self.config.user_timers_max as usize {
                    return Err(ERROR_NO_MORE_USER_HANDLES);
                }
                id
            }
            (true, None) => {
                let count = self.user.timers.values().filter(|t| t.tid == owner).count();
                if count >= self.config.user_timers_max as usize {
                    return Err(ERROR_NO_MORE_USER_HANDLES);
                }
                self.user.next_thread_timer_id += 1;
                0x7FFE_0000 + self.user.next_thread_timer_id
            }
        };
        if let Some(s) = existing {
            self.remove_user_timer(s);
        }
        let period_ms = elapse_ms.clamp(USER_TIMER_MINIMUM, USER_TIMER_MAXIMUM);
        self.user.timer_serial += 1;
        let serial = self.user.timer_serial;
        let due = self.now + u64::from(period_ms) * TICKS_PER_MS;
        let seq = self.next_timer_seq();
        self.timers.insert((due, seq, TimerKey::UserTimer(serial)));
        self.user
            .timers
            .insert(serial, UserTimer { tid: owner, hwnd, id, period_ms, proc, expired: false, entry: (due, seq) });
        self.note_effect(|_| format!("WM_TIMER for T{owner} every {period_ms} ms"));
        Ok(Value::Long(id as i64).into())
    }

    /// KillTimer: FALSE with ERROR_INVALID_PARAMETER when no such timer, ERROR_ACCESS_DENIED
    /// for another process's window [W, §17.N1-N2]. A WM_TIMER not retrieved yet goes with
    /// it (it is generated, never queued, §17.N7).
    pub(crate) fn kill_timer(&mut self, pid: Pid, tid: Tid, hwnd: HWND, id: usize) -> CallResult {
        self.queue_mut(tid);
        if !hwnd.is_null() {
            match self.user.windows.get(&hwnd.0) {
                None => return Err(ERROR_INVALID_WINDOW_HANDLE),
                Some(w) if w.pid != pid => return Err(ERROR_ACCESS_DENIED),
                Some(_) => {}
            }
        }
        let found = self
            .user
            .timers
            .iter()
            .find(|(_, t)| t.hwnd == hwnd && t.id == id && (!hwnd.is_null() || t.tid == tid))
            .map(|(&s, _)| s);
        match found {
            Some(s) => {
                self.remove_user_timer(s);
                Ok(Value::Bool(true).into())
            }
            None => Err(ERROR_INVALID_PARAMETER),
        }
    }

    fn remove_user_timer(&mut self, serial: u64) {
        if let Some(t) = self.user.timers.remove(&serial) {
            self.timers.remove(&(t.entry.0, t.entry.1, TimerKey::UserTimer(serial)));
        }
    }

    /// A SetTimer timer's period elapsed: its WM_TIMER becomes due (once: WM_TIMER never
    /// piles up, §17.F2) and the next period starts.
    pub(crate) fn fire_user_timer(&mut self, serial: u64) {
        self.user.generation += 1;
        let Some(t) = self.user.timers.get_mut(&serial) else { return };
        let was = t.expired;
        t.expired = true;
        let (tid, period) = (t.tid, t.period_ms);
        let due = self.now + u64::from(period) * TICKS_PER_MS;
        let seq = self.next_timer_seq();
        self.user.timers.get_mut(&serial).expect("present").entry = (due, seq);
        self.timers.insert((due, seq, TimerKey::UserTimer(serial)));
        if !was {
            self.queue_changed(tid, QS_TIMER, "WM_TIMER due");
        }
    }

    /// Whether firing this user timer again could change anything (`clock_is_idle`): not
    /// once its WM_TIMER is due and not retrieved.
    pub(crate) fn user_timer_idle(&self, serial: u64) -> bool {
        self.user.timers.get(&serial).is_none_or(|t| t.expired)
    }

    // ----- thread exit ------------------------------------------------------------------

    /// A thread ended: its windows are destroyed (no messages run: the thread is gone), its
    /// queue and timers go, messages sent to it are answered with
    /// ERROR_INVALID_WINDOW_HANDLE [inferred, §17.M3], and messages it sent and still
    /// waited for are withdrawn (§17.M2-M3).
    pub(crate) fn user_thread_exited(&mut self, tid: Tid) {
        self.user.generation += 1;
        if !self.user.queues.contains_key(&tid) {
            return;
        }
        // Sent to it: its senders are released, before its windows go (whose flush would
        // answer them 0 with no error).
        let to_it: Vec<u64> = self.user.sent.values().filter(|s| s.to == tid).map(|s| s.serial).collect();
        for serial in to_it {
            self.user.sent.get_mut(&serial).expect("listed").done = true;
            self.finish_sent(serial, Err(ERROR_INVALID_WINDOW_HANDLE), "the receiving thread ended");
            self.forget_sent_if_finished(serial);
        }
        if let Some(q) = self.user.queues.get_mut(&tid) {
            q.incoming.clear();
        }
        let windows: Vec<isize> = self.user.windows.iter().filter(|(_, w)| w.tid == tid).map(|(&v, _)| v).collect();
        for v in windows {
            let _ = self.flush_window(tid, HWND(v));
            self.free_window(HWND(v));
        }
        let timers: Vec<u64> = self.user.timers.iter().filter(|(_, t)| t.tid == tid).map(|(&s, _)| s).collect();
        for s in timers {
            self.remove_user_timer(s);
        }
        // Sent by it: nobody waits any more; those not taken yet are withdrawn.
        let by_it: Vec<u64> = self.user.sent.values().filter(|s| s.from == tid).map(|s| s.serial).collect();
        for serial in by_it {
            let s = self.user.sent.get_mut(&serial).expect("listed");
            s.delivered = true;
            s.waiter = None;
            if s.state == SentState::Queued && matches!(s.kind, SendKind::Send { .. }) {
                s.done = true;
                let to = s.to;
                if let Some(q) = self.user.queues.get_mut(&to) {
                    q.incoming.retain(|&x| x != serial);
                }
            }
            self.forget_sent_if_finished(serial);
        }
        self.user.queues.remove(&tid);
        self.user.handoff.remove(&tid);
    }

    // ----- reports ----------------------------------------------------------------------

    /// The trace's words for a pending user32 operation.
    pub(crate) fn user_op_reason(&self, op: OpId) -> String {
        match &self.ops[op].kind {
            OpKind::MsgGet { hwnd, min, max } => {
                let filter = if hwnd.is_null() { String::new() } else { format!(" for {hwnd}") };
                let range = if (*min, *max) == (0, 0) {
                    String::new()
                } else {
                    format!(" in {}..{}", message_name(*min), message_name(*max))
                };
                format!("waits for a posted message{filter}{range} (runs sent messages meanwhile)")
            }
            OpKind::MsgWaitNew => "waits for a new message in its queue".into(),
            OpKind::SendWait { sent, block } => match self.user.sent.get(sent) {
                Some(s) => format!(
                    "waits for T{} to run {} sent to {}{}",
                    s.to,
                    message_name(s.msg),
                    s.hwnd,
                    if *block { " (SMTO_BLOCK: runs no message sent to it meanwhile)" } else { "" }
                ),
                None => "waits for the reply to a sent message".into(),
            },
            _ => String::new(),
        }
    }

    /// The deadlock report's edges for a pending user32 operation.
    pub(crate) fn user_op_wait_edges(&self, op: OpId) -> Vec<WaitEdge> {
        match &self.ops[op].kind {
            OpKind::MsgGet { .. } | OpKind::MsgWaitNew => {
                vec![WaitEdge::Message {
                    what: self.user_op_reason(op),
                    window: None,
                    receiver: None,
                    receiver_state: None,
                }]
            }
            OpKind::SendWait { sent, .. } => {
                let Some(s) = self.user.sent.get(sent) else { return Vec::new() };
                let window =
                    self.user.windows.get(&s.hwnd.0).map(|w| {
                        format!("{} (class \"{}\", title \"{}\") of T{}", s.hwnd, w.class_name, w.title, w.tid)
                    });
                let receiver_state = Some(self.thread_activity(s.to));
                vec![WaitEdge::Message {
                    what: format!(
                        "SendMessage({}) #{} sent at step {}: {}",
                        message_name(s.msg),
                        s.serial,
                        s.since_step,
                        match s.state {
                            SentState::Queued => "not yet taken by the receiver",
                            SentState::Processing => "its window procedure is running",
                        }
                    ),
                    window,
                    receiver: Some(s.to),
                    receiver_state,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// What a thread is doing, in words (the receiver of a stuck SendMessage).
    pub(crate) fn thread_activity(&self, tid: Tid) -> String {
        if !self.tids.contains_key(&tid) || self.thread(tid).exit_code.is_some() {
            return format!("T{tid} has ended");
        }
        match self.blocked_op(tid) {
            Some(op) => {
                let pumps = if self.pumping(tid) { "" } else { " and does not look at its message queue" };
                format!("T{tid} is blocked in {} ({}){pumps}", self.ops[op].api, self.op_reason(op))
            }
            None => format!("T{tid} is running"),
        }
    }

    /// The threads whose action could complete a pending user32 operation.
    pub(crate) fn user_op_releasers(&self, op: OpId) -> Vec<Tid> {
        match &self.ops[op].kind {
            OpKind::SendWait { sent, .. } => self.user.sent.get(sent).map(|s| vec![s.to]).unwrap_or_default(),
            // Anyone could post to it: no one thread in particular.
            _ => Vec::new(),
        }
    }
}
