//! Per-thread message queues: posted messages, the quit flag, the posted-message quota,
//! GetMessage/PeekMessage filters and retrieval order, and GetQueueStatus's two words
//! (docs/semantics.md §17.A-G).
//!
//! A queue is a `VecDeque` of posted messages, an optional quit code and a word of "new"
//! bits. No windows, no threads: a window is just a number the caller maps to a queue.

use std::collections::VecDeque;

/// ERROR_INVALID_FLAGS.
pub const ERROR_INVALID_FLAGS: u32 = 1004;
/// ERROR_MESSAGE_SYNC_ONLY.
pub const ERROR_MESSAGE_SYNC_ONLY: u32 = 1159;
/// ERROR_NOT_ENOUGH_QUOTA.
pub const ERROR_NOT_ENOUGH_QUOTA: u32 = 1816;

/// WM_QUIT.
pub const WM_QUIT: u32 = 0x0012;
/// WM_HOTKEY.
pub const WM_HOTKEY: u32 = 0x0312;
/// WM_USER.
pub const WM_USER: u32 = 0x0400;
/// QS_POSTMESSAGE.
pub const QS_POSTMESSAGE: u32 = 0x0008;
/// QS_TIMER.
pub const QS_TIMER: u32 = 0x0010;
/// QS_SENDMESSAGE.
pub const QS_SENDMESSAGE: u32 = 0x0040;
/// QS_HOTKEY.
pub const QS_HOTKEY: u32 = 0x0080;
/// QS_ALLPOSTMESSAGE.
pub const QS_ALLPOSTMESSAGE: u32 = 0x0100;
/// PM_REMOVE.
pub const PM_REMOVE: u32 = 0x0001;

/// The window of a message: 0 for a thread message.
pub type Window = i64;

/// A posted message as retrieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Msg {
    /// Its window (0: a thread message).
    pub hwnd: Window,
    /// The message number.
    pub message: u32,
    /// wParam.
    pub wparam: u64,
}

/// GetMessage/PeekMessage's hWnd filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// NULL: everything.
    Any,
    /// (HWND)-1, 1, 0xFFFF: thread messages only (§17.C5).
    ThreadOnly,
    /// One window of the thread.
    Window(Window),
    /// A value that matches nothing (§17.D2).
    Nothing,
}

impl Filter {
    fn takes(self, hwnd: Window) -> bool {
        match self {
            Filter::Any => true,
            Filter::ThreadOnly => hwnd == 0,
            Filter::Window(w) => w == hwnd,
            Filter::Nothing => false,
        }
    }
}

/// Messages below WM_USER that carry pointers and cannot be posted (§17.B2-B3), the ones
/// the model knows (a subset of the kernel's list).
const SYNC_ONLY: [u32; 6] = [0x0001, 0x000C, 0x000D, 0x004A, 0x0081, 0x0083];

/// One thread's message queue.
#[derive(Clone, Debug)]
pub struct QueueModel {
    quota: usize,
    posted: VecDeque<Msg>,
    quit: Option<u64>,
    quit_just_taken: bool,
    new_bits: u32,
}

impl QueueModel {
    /// An empty queue that holds at most `quota` posted messages (§17.A4).
    pub fn new(quota: usize) -> QueueModel {
        QueueModel { quota, posted: VecDeque::new(), quit: None, quit_just_taken: false, new_bits: 0 }
    }

    /// Posted messages waiting.
    pub fn posted(&self) -> usize {
        self.posted.len()
    }

    /// PostMessage/PostThreadMessage to this queue: a message below WM_USER that carries a
    /// pointer fails with ERROR_MESSAGE_SYNC_ONLY (§17.B2); past the quota,
    /// ERROR_NOT_ENOUGH_QUOTA (§17.A3-A4).
    pub fn post(&mut self, m: Msg) -> Result<(), u32> {
        if m.message < WM_USER && SYNC_ONLY.contains(&m.message) {
            return Err(ERROR_MESSAGE_SYNC_ONLY);
        }
        if self.posted.len() >= self.quota {
            return Err(ERROR_NOT_ENOUGH_QUOTA);
        }
        self.new_bits |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
        if m.message == WM_HOTKEY {
            self.new_bits |= QS_HOTKEY;
        }
        self.posted.push_back(m);
        Ok(())
    }

    /// PostQuitMessage: a flag, not a queued message; a second call replaces the code
    /// (§17.E1, E3).
    pub fn post_quit(&mut self, code: u64) {
        self.quit = Some(code);
        self.new_bits |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
    }

    /// PeekMessage with these filters and flags (PM_REMOVE, PM_QS_* in the high word): the
    /// first posted message that passes (queue order), else the quit flag (any range, and
    /// any filter but one that matches nothing, §17.D11), else nothing. Any call
    /// clears the "new" bits (§17.G3) and the quit flag's after-image (§17.E4).
    pub fn peek(&mut self, filter: Filter, min: u32, max: u32, flags: u32) -> Option<Msg> {
        self.new_bits = 0;
        self.quit_just_taken = false;
        let mask = flags >> 16;
        let remove = flags & PM_REMOVE != 0;
        let posted_ok = mask == 0 || mask & (QS_POSTMESSAGE | QS_ALLPOSTMESSAGE) != 0;
        let hotkey_ok = mask == 0 || mask & QS_HOTKEY != 0;
        let passes = |m: &Msg| {
            let range = match (min, max) {
                (0, 0) => true,
                (a, b) if a <= b => a <= m.message && m.message <= b,
                (a, b) => m.message >= a || m.message <= b,
            };
            filter.takes(m.hwnd) && range && (posted_ok || (hotkey_ok && m.message == WM_HOTKEY))
        };
        if let Some(i) = self.posted.iter().position(passes) {
            let m = self.posted[i];
            if remove {
                self.posted.remove(i);
            }
            return Some(m);
        }
        match self.quit {
            Some(code) if posted_ok && filter != Filter::Nothing => {
                if remove {
                    self.quit = None;
                    self.quit_just_taken = true;
                }
                Some(Msg { hwnd: 0, message: WM_QUIT, wparam: code })
            }
            _ => None,
        }
    }

    /// GetQueueStatus: MAKELONG(new, present) restricted to `flags`, resetting the new
    /// bits reported (§17.G1-G2); unknown bits fail with ERROR_INVALID_FLAGS and reset
    /// nothing (§17.G4). The quit flag counts as a posted message, and still does once
    /// right after WM_QUIT was taken (§17.E4).
    pub fn get_queue_status(&mut self, flags: u32) -> Result<u32, u32> {
        const KNOWN: u32 = 0x04FF | QS_ALLPOSTMESSAGE | 0x0800 | 0x1000;
        if flags & !KNOWN != 0 {
            return Err(ERROR_INVALID_FLAGS);
        }
        let mut present = 0;
        if !self.posted.is_empty() || self.quit.is_some() || self.quit_just_taken {
            present |= QS_POSTMESSAGE | QS_ALLPOSTMESSAGE;
        }
        if self.posted.iter().any(|m| m.message == WM_HOTKEY) {
            present |= QS_HOTKEY;
        }
        let new = self.new_bits & flags;
        self.new_bits &= !flags;
        Ok(((present & flags) << 16) | new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(message: u32) -> Msg {
        Msg { hwnd: 0, message, wparam: 0 }
    }

    #[test]
    fn quit_after_later_posts() {
        let mut q = QueueModel::new(10);
        q.post_quit(7);
        q.post(m(WM_USER)).unwrap();
        assert_eq!(q.peek(Filter::Any, 0, 0, PM_REMOVE).map(|m| m.message), Some(WM_USER));
        assert_eq!(q.peek(Filter::Any, 0, 0, PM_REMOVE), Some(Msg { hwnd: 0, message: WM_QUIT, wparam: 7 }));
        assert_eq!(q.get_queue_status(QS_POSTMESSAGE), Ok(QS_POSTMESSAGE << 16));
        assert_eq!(q.peek(Filter::Any, 0, 0, PM_REMOVE), None);
        assert_eq!(q.get_queue_status(QS_POSTMESSAGE), Ok(0));
    }

    #[test]
    fn quota() {
        let mut q = QueueModel::new(2);
        q.post(m(WM_USER)).unwrap();
        q.post(m(WM_USER)).unwrap();
        assert_eq!(q.post(m(WM_USER)), Err(ERROR_NOT_ENOUGH_QUOTA));
    }
}
