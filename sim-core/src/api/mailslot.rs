//! kernel32's mailslot functions: CreateMailslot, GetMailslotInfo, SetMailslotInfo
//! (docs/semantics.md §18). Writers open a mailslot with `create_file` on
//! `\\.\mailslot\NAME` and use `write_file`; the server reads with `read_file`.

use super::kernel32::{ThreadCtx, bool_of, done};
use crate::kernel::request::{Request, Value};
use crate::types::*;

impl ThreadCtx {
    /// CreateMailslot (learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-createmailslotw):
    /// the server handle of a new mailslot named `\\.\mailslot\[path]name`
    /// (case-insensitive, its own namespace, §18.1). `max_message_size` 0 means any size;
    /// `read_timeout` in ms, 0 for no wait, MAILSLOT_WAIT_FOREVER. INVALID_HANDLE_VALUE on
    /// failure: ERROR_INVALID_NAME for another form of name, ERROR_PATH_NOT_FOUND for
    /// `None`, ERROR_ALREADY_EXISTS when the name has a server (§18.2). The handle only
    /// reads (§18.7); a read returns one message (§18.9).
    #[must_use]
    pub async fn create_mailslot(
        &self,
        name: Option<&str>,
        max_message_size: u32,
        read_timeout: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
    ) -> HANDLE {
        let req = Request::CreateMailslot {
            name: name.map(str::to_string),
            max_message_size,
            read_timeout_ms: read_timeout,
            inherit: security_attributes.is_some_and(|s| s.bInheritHandle),
        };
        self.call_handle(req).await
    }

    /// GetMailslotInfo (learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-getmailslotinfo):
    /// the maximum message size, the size of the next message (MAILSLOT_NO_MESSAGE when
    /// none), the number of messages queued and the read time-out (§§18.3, 18.10). Each
    /// out-parameter may be `None`. A client handle answers too, as on Windows 8 and later
    /// (§18.13). On failure the outputs are untouched.
    #[must_use]
    pub async fn get_mailslot_info(
        &self,
        h_mailslot: HANDLE,
        max_message_size: Option<&mut u32>,
        next_size: Option<&mut u32>,
        message_count: Option<&mut u32>,
        read_timeout: Option<&mut u32>,
    ) -> BOOL {
        let r = self.call(Request::GetMailslotInfo { mailslot: h_mailslot }).await;
        let ok = bool_of(&r);
        match done(r) {
            Some(Value::MailslotInfo { max_message_size: m, next_size: n, message_count: c, read_timeout: t }) => {
                for (out, v) in [(max_message_size, m), (next_size, n), (message_count, c), (read_timeout, t)] {
                    if let Some(out) = out {
                        *out = v;
                    }
                }
            }
            Some(v) => self.mismatch(crate::kernel::request::Api::GetMailslotInfo, &v),
            None => {}
        }
        ok
    }

    /// SetMailslotInfo (learn.microsoft.com/en-us/windows/win32/api/winbase/nf-winbase-setmailslotinfo):
    /// the read time-out of every later read on the mailslot, through any of its server
    /// handles; reads already waiting keep theirs (§18.14).
    #[must_use]
    pub async fn set_mailslot_info(&self, h_mailslot: HANDLE, read_timeout: u32) -> BOOL {
        bool_of(&self.call(Request::SetMailslotInfo { mailslot: h_mailslot, read_timeout_ms: read_timeout }).await)
    }
}
