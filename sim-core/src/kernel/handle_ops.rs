//! CloseHandle, DuplicateHandle, SetHandleInformation, GetHandleInformation (facts in
//! section 7 of docs/semantics.md).

use super::request::Value;
use super::{CallResult, Kernel, Pid, Tid};
use crate::error::*;
use crate::objects::process::{map_generic, std_index};
use crate::objects::{Body, ObjectType};
use crate::types::*;

impl Kernel {
    pub(crate) fn close_handle_call(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        if h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE {
            // Closing a pseudo handle succeeds and does nothing (Wine probe).
            return Ok(Value::Bool(true).into());
        }
        if let Some(i) = std_index(h.0 as u32).filter(|_| (-12..=-10).contains(&h.0)) {
            // CloseHandle((HANDLE)STD_ERROR_HANDLE) closes the real std handle and clears
            // it (§7.12). The slot is cleared first, so even when the close fails
            // (protected or dangling handle) it reads NULL afterwards (kernelbase
            // CloseHandle exchanges the PEB slot with 0 before NtClose [W]).
            let real = std::mem::replace(&mut self.process_mut(pid).std_handles[i], HANDLE::NULL);
            self.close_handle(pid, real)?;
            return Ok(Value::Bool(true).into());
        }
        let object = self.process(pid).handles.get(h).map(|e| e.object);
        self.close_handle(pid, h)?;
        if let Some(id) = object.filter(|&id| self.objects.get(id).is_some_and(|o| o.hdr.handle_count == 0)) {
            self.check_event_in_use(pid, tid, id);
        }
        Ok(Value::Bool(true).into())
    }

    /// The last handle to an event closed while a pending asynchronous operation names
    /// it in its OVERLAPPED: on Windows the completion would signal a freed or reused
    /// handle; the run ends as `Failed`, naming the operation.
    fn check_event_in_use(&mut self, pid: Pid, tid: Tid, id: crate::objects::ObjectId) {
        let user =
            self.ops.values().find(|op| matches!(&op.target, super::ops::Target::Async(t) | super::ops::Target::SyncOverlapped(t) if t.event == Some(id)));
        if let Some(op) = user {
            let message = format!(
                "T{tid} closed the last handle to {}, the event of the OVERLAPPED of {} (operation #{}) that is still \
                 pending; keep the event until the operation completes",
                self.describe(id),
                op.api,
                op.serial
            );
            if self.stop.is_none() {
                self.stop =
                    crate::kernel::Stop::of(crate::report::Outcome::Failed { pid, tid, message, location: None });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn duplicate_handle(
        &mut self,
        pid: Pid,
        tid: Tid,
        source_process: HANDLE,
        source: HANDLE,
        target_process: HANDLE,
        access: u32,
        inherit: bool,
        options: u32,
    ) -> CallResult {
        let src_pid = self.process_pid(pid, tid, source_process)?;
        // Resolve the source in its own process; pseudo handles name that process and,
        // for the caller's own process, the calling thread.
        let (object, src_access, src_flags, mut history, real_source) = if source == CURRENT_PROCESS_PSEUDO_HANDLE {
            (self.pids[&src_pid], PROCESS_ALL_ACCESS, 0, Vec::new(), false)
        } else if source == CURRENT_THREAD_PSEUDO_HANDLE && src_pid == pid {
            (self.tids[&tid], THREAD_ALL_ACCESS, 0, Vec::new(), false)
        } else {
            let e = self.process(src_pid).handles.get(source).ok_or(ERROR_INVALID_HANDLE)?;
            (e.object, e.access, e.flags, e.history.clone(), true)
        };
        let close_source = options & DUPLICATE_CLOSE_SOURCE != 0 && real_source;
        if target_process == HANDLE::NULL && options & DUPLICATE_CLOSE_SOURCE != 0 {
            // No target process: only close the source, and succeed (ZwDuplicateObject doc:
            // TargetProcessHandle "can be specified as NULL if the DUPLICATE_CLOSE_SOURCE
            // flag is set"; ReactOS ObDuplicateObject). Wine fails it instead.
            if close_source {
                let _ = self.close_handle(src_pid, source);
            }
            return Ok(Value::Handle(HANDLE::NULL).into());
        }
        let tgt_pid = match self.process_pid(pid, tid, target_process) {
            Ok(p) if self.process(p).exit_code.is_none() => p,
            result => {
                // DUPLICATE_CLOSE_SOURCE closes the source whatever the outcome
                // (DuplicateHandle doc; Wine probe with a bad target process).
                if close_source {
                    let _ = self.close_handle(src_pid, source);
                }
                return Err(result.err().unwrap_or(ERROR_ACCESS_DENIED));
            }
        };
        let ty = self.objects[object].body.object_type();
        let new_access = if options & DUPLICATE_SAME_ACCESS != 0 { src_access } else { map_generic(ty, access) };
        let new_flags = if options & DUPLICATE_SAME_ATTRIBUTES != 0 {
            src_flags & (HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE)
        } else if inherit {
            HANDLE_FLAG_INHERIT
        } else {
            0
        };
        history.push(self.origin(pid, tid, "DuplicateHandle", "duplicated", Some((src_pid, source))));
        let protected = src_flags & HANDLE_FLAG_PROTECT_FROM_CLOSE != 0;
        if close_source && src_pid == tgt_pid && !protected {
            // Same process, close source: the entry is reused in place, so the value is
            // the source's, even when a lower slot is free (§7.2).
            let e = self.process_mut(src_pid).handles.get_mut(source).expect("resolved above");
            e.access = new_access;
            e.flags = new_flags;
            e.history = history;
            return Ok(Value::Handle(HANDLE(source.0 & !3)).into());
        }
        let h = self.alloc_handle(tgt_pid, object, new_access, new_flags, history)?;
        if close_source {
            // A protected source stays open and the call still succeeds (§7.5).
            let _ = self.close_handle(src_pid, source);
        }
        Ok(Value::Handle(h).into())
    }

    /// The process id behind a process handle with PROCESS_DUP_HANDLE.
    fn process_pid(&self, pid: Pid, tid: Tid, h: HANDLE) -> Result<Pid, Win32Error> {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Process), PROCESS_DUP_HANDLE)?;
        match &self.objects[id].body {
            Body::Process(p) => Ok(p.pid),
            _ => unreachable!("type checked"),
        }
    }

    pub(crate) fn set_handle_information(
        &mut self,
        pid: Pid,
        _tid: Tid,
        h: HANDLE,
        mask: u32,
        flags: u32,
    ) -> CallResult {
        if h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE {
            // Wine probe: SetHandleInformation on a pseudo handle fails with access denied.
            return Err(ERROR_ACCESS_DENIED);
        }
        let e = self.process_mut(pid).handles.get_mut(h).ok_or(ERROR_INVALID_HANDLE)?;
        let mask = mask & (HANDLE_FLAG_INHERIT | HANDLE_FLAG_PROTECT_FROM_CLOSE);
        e.flags = (e.flags & !mask) | (flags & mask);
        Ok(Value::Bool(true).into())
    }

    pub(crate) fn get_handle_information(&mut self, pid: Pid, _tid: Tid, h: HANDLE) -> CallResult {
        if h == CURRENT_PROCESS_PSEUDO_HANDLE || h == CURRENT_THREAD_PSEUDO_HANDLE {
            return Ok(Value::Out(0).into());
        }
        let e = self.process(pid).handles.get(h).ok_or(ERROR_INVALID_HANDLE)?;
        Ok(Value::Out(e.flags).into())
    }
}
