//! Processes: CreateProcess of a registered program, ExitProcess, TerminateProcess,
//! GetExitCodeProcess, OpenProcess, handle inheritance and standard handles (facts in
//! sections 7 and 9 of docs/semantics.md).

use super::{Body, ObjectId, ObjectType};
use crate::error::*;
use crate::handles::{HandleEntry, HandleTable};
use crate::kernel::request::{Reply, Value};
use crate::kernel::{CallResult, Exec, Kernel, Pid, Start, Tid};
use crate::report::LimitKind;
use crate::trace::EventKind;
use crate::types::*;

/// A process object.
#[derive(Debug)]
pub struct Process {
    /// Process id.
    pub pid: Pid,
    /// Image (program) name.
    pub image: String,
    /// Command line (GetCommandLine).
    pub command_line: String,
    /// Creating process id (0 for the first process).
    pub parent: Pid,
    /// Handle table. Emptied when the process exits.
    pub handles: HandleTable,
    /// Live threads, in creation order. Invariant: empty once `exit_code` is set.
    /// (Ids only grow, so id order is creation order; a set, so that a thread leaves it
    /// in O(log n) when thousands end.)
    pub threads: std::collections::BTreeSet<Tid>,
    /// Exit code once ended.
    pub exit_code: Option<u32>,
    /// Standard handles: input, output, error (PEB process parameters).
    pub std_handles: [HANDLE; 3],
    /// Its simulated address space: the views it maps. Emptied when the process exits.
    pub space: super::section::AddressSpace,
    /// The host it runs on (docs/semantics.md §27.1): 0 is the default host; a child
    /// runs on its parent's.
    pub host: usize,
    /// The Terminal Services session it runs in (docs/semantics.md §30.1): 1 for a user's
    /// process, 0 for a service (`Sim::start_service`); a child runs in its parent's.
    pub session: u32,
    /// Whether its token holds SeCreateGlobalPrivilege (§30.3): a service's does, a
    /// user's process's does not; a child has its parent's.
    pub create_global: bool,
}

/// Index of a STD_*_HANDLE value in `Process::std_handles`.
pub fn std_index(n: u32) -> Option<usize> {
    match n {
        STD_INPUT_HANDLE => Some(0),
        STD_OUTPUT_HANDLE => Some(1),
        STD_ERROR_HANDLE => Some(2),
        _ => None,
    }
}

const CREATE_PROCESS_FLAGS_ACCEPTED: u32 = CREATE_SUSPENDED
    | DETACHED_PROCESS
    | CREATE_NEW_CONSOLE
    | CREATE_NEW_PROCESS_GROUP
    | CREATE_UNICODE_ENVIRONMENT
    | CREATE_NO_WINDOW
    | 0x0000_0020 // NORMAL_PRIORITY_CLASS
    | 0x0000_0040 // IDLE_PRIORITY_CLASS
    | 0x0000_0080 // HIGH_PRIORITY_CLASS
    | 0x0000_4000 // BELOW_NORMAL_PRIORITY_CLASS
    | 0x0000_8000 // ABOVE_NORMAL_PRIORITY_CLASS
    | 0x0008_0000 // EXTENDED_STARTUPINFO_PRESENT
    | 0x0100_0000 // CREATE_BREAKAWAY_FROM_JOB
    | 0x0400_0000; // CREATE_DEFAULT_ERROR_MODE

impl Kernel {
    /// Creates a process object and its main thread running `program`.
    pub(crate) fn new_process(
        &mut self,
        image: String,
        command_line: String,
        parent: Pid,
        start: Start,
        suspended: bool,
    ) -> Option<(ObjectId, Pid, ObjectId, Tid)> {
        if self.processes_created >= self.config.processes_max {
            let max = self.config.processes_max;
            self.hit_limit(LimitKind::Processes, format!("{max} processes created (processes_max)"));
            return None;
        }
        if self.live_threads >= self.config.threads_max {
            let max = self.config.threads_max;
            self.hit_limit(LimitKind::Threads, format!("{max} live threads (threads_max)"));
            return None;
        }
        self.processes_created += 1;
        let pid = self.alloc_cid();
        let host = if parent == 0 { 0 } else { self.pids.get(&parent).map(|_| self.process(parent).host).unwrap_or(0) };
        // A child runs in its parent's session with its parent's token (§30.1, §30.3).
        let (session, create_global) = match self.pids.get(&parent) {
            Some(_) if parent != 0 => (self.process(parent).session, self.process(parent).create_global),
            _ => (1, false),
        };
        // The trace's copy of the names, made only when it is on.
        let event = self.config.trace.then(|| EventKind::ProcessStart {
            image: image.clone(),
            command_line: command_line.clone(),
            parent,
        });
        // An ended process's emptied buffers, when there is one (no allocation).
        let handles = HandleTable::with_slots(self.spare_handle_slots());
        let threads = self.spare_thread_set();
        let id = self.alloc_object(
            Body::Process(Process {
                pid,
                image,
                command_line,
                parent,
                handles,
                threads,
                exit_code: None,
                std_handles: [HANDLE::NULL; 3],
                space: Default::default(),
                host,
                session,
                create_global,
            }),
            None,
        );
        // Alive until its last thread ends.
        self.add_ref(id);
        self.pids.insert(pid, id);
        if let Some(event) = event {
            let _ = self.push_process_event(pid, event);
        }
        let (tid_obj, tid) = self.new_thread(pid, start, suspended, true)?;
        Some((id, pid, tid_obj, tid))
    }

    /// Makes a process a service: session 0, with SeCreateGlobalPrivilege (§30.1, §30.3).
    pub(crate) fn make_service(&mut self, pid: Pid) {
        let p = self.process_mut(pid);
        p.session = 0;
        p.create_global = true;
    }

    /// Starts the first process of a run (no parent, no handles).
    pub fn start_process(&mut self, name: &str, command_line: &str) -> Option<(Pid, Tid)> {
        let (display, program) = self.find_program(name)?;
        let (_, pid, _, tid) =
            self.new_process(display, command_line.to_string(), 0, Start::Program(program), false)?;
        Some((pid, tid))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create_process(
        &mut self,
        pid: Pid,
        tid: Tid,
        application_name: Option<String>,
        command_line: Option<String>,
        inherit_process: bool,
        inherit_thread: bool,
        inherit_handles: bool,
        flags: u32,
        si: STARTUPINFO,
    ) -> CallResult {
        if flags & DEBUG_PROCESS != 0 {
            self.unsupported("CreateProcess", "DEBUG_PROCESS (debugging is not modelled)");
            return Err(ERROR_INVALID_PARAMETER);
        }
        if flags & !CREATE_PROCESS_FLAGS_ACCEPTED != 0 {
            return Err(ERROR_INVALID_PARAMETER);
        }
        let program_name = match (&application_name, &command_line) {
            (Some(app), _) => app.clone(),
            (None, Some(cmd)) => first_token(cmd),
            (None, None) => return Err(ERROR_INVALID_PARAMETER),
        };
        let Some((display, program)) = self.find_program(&program_name) else {
            return Err(ERROR_FILE_NOT_FOUND);
        };
        let cmdline = command_line.clone().unwrap_or_else(|| program_name.clone());
        let suspended = flags & CREATE_SUSPENDED != 0;
        let Some((proc_obj, child, thread_obj, child_tid)) =
            self.new_process(display, cmdline, pid, Start::Program(program), suspended)
        else {
            return Err(ERROR_NOT_ENOUGH_MEMORY);
        };
        // Inheritance: every inheritable handle, at the same value, same access, still
        // inheritable (§§7.10, 7.11).
        if inherit_handles {
            let inherited: Vec<(HANDLE, HandleEntry)> = self
                .process(pid)
                .handles
                .iter()
                .filter(|(_, e)| e.inheritable())
                .map(|(h, e)| (h, e.clone()))
                .collect();
            let max = self.config.handles_max;
            for (h, mut e) in inherited {
                e.history.push(self.origin(pid, tid, "CreateProcess", "inherited", Some((pid, h))));
                let object = e.object;
                if self.process_mut(child).handles.insert_at(h, e, max) {
                    self.objects[object].hdr.handle_count += 1;
                } else {
                    self.hit_limit(LimitKind::Handles, format!("process P{child} holds {max} handles"));
                }
            }
        }
        // Standard handles (§7.11): STARTF_USESTDHANDLES passes raw values when
        // handles are inherited, NULL when they are not; otherwise a console child gets
        // the parent's values, duplicated into it when handles are not inherited.
        let std = if si.dwFlags & STARTF_USESTDHANDLES != 0 {
            if inherit_handles { [si.hStdInput, si.hStdOutput, si.hStdError] } else { [HANDLE::NULL; 3] }
        } else {
            let parent_std = self.process(pid).std_handles;
            if inherit_handles {
                parent_std
            } else {
                let mut out = [HANDLE::NULL; 3];
                for (i, h) in parent_std.into_iter().enumerate() {
                    out[i] = self.duplicate_std_into(pid, tid, child, h);
                }
                out
            }
        };
        self.process_mut(child).std_handles = std;
        // Handles for the caller.
        let o1 = self.origin(pid, tid, "CreateProcess", "created", None);
        let o2 = o1.clone();
        let hp = self.alloc_handle(
            pid,
            proc_obj,
            PROCESS_ALL_ACCESS,
            if inherit_process { HANDLE_FLAG_INHERIT } else { 0 },
            vec![o1],
        )?;
        let ht = self.alloc_handle(
            pid,
            thread_obj,
            THREAD_ALL_ACCESS,
            if inherit_thread { HANDLE_FLAG_INHERIT } else { 0 },
            vec![o2],
        )?;
        Ok(Value::Process(PROCESS_INFORMATION { hProcess: hp, hThread: ht, dwProcessId: child, dwThreadId: child_tid })
            .into())
    }

    /// Duplicates a parent's std handle into a console child (§7.11 d), keeping its
    /// flags. A value with no object behind it is passed through unchanged.
    fn duplicate_std_into(&mut self, pid: Pid, tid: Tid, child: Pid, h: HANDLE) -> HANDLE {
        let Some(e) = self.process(pid).handles.get(h).cloned() else { return h };
        let mut history = e.history.clone();
        history.push(self.origin(pid, tid, "CreateProcess", "duplicated as std handle", Some((pid, h))));
        self.alloc_handle(child, e.object, e.access, e.flags, history).unwrap_or(HANDLE::NULL)
    }

    /// Ends every thread of a process with `code`; its last thread's exit ends it.
    pub(crate) fn terminate_process_by_id(&mut self, pid: Pid, code: u32, how: String) {
        // Its COM apartments end as a dying server's (§21.17).
        self.com.ending.insert(pid);
        // Its threads in id order, each looked up after the last one's exit (a thread
        // leaves the set as it ends; a dying process starts none), so no copy of the set
        // is made; the last exit may destroy the process.
        let mut from = 0;
        while let Some(t) = self.pids.get(&pid).and_then(|&id| match &self.objects[id].body {
            Body::Process(p) => p.threads.range(from..).next().copied(),
            _ => None,
        }) {
            from = t + 1;
            self.kill_thread(t, code, how.clone());
        }
    }

    /// A process's last thread ended: close its handles, signal it (§§9.4, 8.8).
    pub(crate) fn exit_process(&mut self, pid: Pid, code: u32) {
        // Its pending I/O is cancelled first, so it completes with ERROR_OPERATION_ABORTED
        // rather than with the error of its file's close (§16.20).
        self.cancel_process_io(pid);
        // Its views go with its address space (§19.19).
        self.unmap_all(pid);
        let id = self.pids[&pid];
        let p = self.process_mut(pid);
        p.exit_code = Some(code);
        let image = p.image.clone();
        // Its emptied thread set goes to the next process (kept allocated).
        let threads = if p.threads.is_empty() { Some(std::mem::take(&mut p.threads)) } else { None };
        // Its handles in value order (slot order).
        let mut slots = p.handles.take_slots();
        if let Some(t) = threads {
            self.keep_thread_set(t);
        }
        self.exited.push((pid, image, code));
        let closed = if self.config.trace {
            slots
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.as_ref().map(|e| (crate::handles::handle_of(i), e)))
                .map(|(h, e)| format!("{h} ({})", self.describe(e.object)))
                .collect()
        } else {
            Vec::new()
        };
        let _ = self.push_process_event(pid, EventKind::ProcessExit { code, closed });
        for (i, e) in slots.drain(..).enumerate() {
            let Some(mut e) = e else { continue };
            let h = crate::handles::handle_of(i);
            self.note_closed(pid, h, &mut e, "ExitProcess", "closed at process exit");
            self.drop_handle_ref(e.object);
        }
        // The emptied slots go to the next process's table.
        self.keep_handle_slots(slots);
        let cause = self.trace_text(|| format!("P{pid} exited"));
        self.wake_waiters(id, &cause);
        self.release(id);
    }

    fn process_from_handle(&self, pid: Pid, tid: Tid, h: HANDLE, access: u32) -> Result<Pid, Win32Error> {
        let id = self.object_from_handle(pid, tid, h, Some(ObjectType::Process), access)?;
        match &self.objects[id].body {
            Body::Process(p) => Ok(p.pid),
            _ => unreachable!("type checked above"),
        }
    }

    pub(crate) fn terminate_process(&mut self, pid: Pid, tid: Tid, h: HANDLE, code: u32) -> Exec {
        let target = match self.process_from_handle(pid, tid, h, PROCESS_TERMINATE) {
            Ok(p) => p,
            Err(e) => return Exec::Done(Reply::error(e)),
        };
        if self.process(target).exit_code.is_some() {
            // Windows: TerminateProcess on a process that has ended fails with
            // ERROR_ACCESS_DENIED (CPython's subprocess relies on it; Wine returns TRUE).
            return Exec::Done(Reply::error(ERROR_ACCESS_DENIED));
        }
        let how = self.trace_text(|| format!("TerminateProcess({code}) by P{pid}/T{tid}"));
        self.terminate_process_by_id(target, code, how);
        if target == pid { Exec::Gone } else { Exec::Done(Reply::from(Value::Bool(true))) }
    }

    /// ExitProcess: ends every thread of the calling process; never returns.
    pub(crate) fn exit_process_call(&mut self, pid: Pid, tid: Tid, code: u32) -> Exec {
        let how = self.trace_text(|| format!("ExitProcess({code}) by T{tid}"));
        self.terminate_process_by_id(pid, code, how);
        Exec::Gone
    }

    pub(crate) fn get_exit_code_process(&mut self, pid: Pid, tid: Tid, h: HANDLE) -> CallResult {
        let target = self.process_from_handle(pid, tid, h, 0)?;
        let granted = self.granted_access(pid, h).unwrap_or(PROCESS_ALL_ACCESS);
        if granted & (PROCESS_QUERY_INFORMATION | PROCESS_QUERY_LIMITED_INFORMATION) == 0 {
            return Err(ERROR_ACCESS_DENIED);
        }
        Ok(Value::Out(self.process(target).exit_code.unwrap_or(STILL_ACTIVE)).into())
    }

    pub(crate) fn open_process(&mut self, pid: Pid, tid: Tid, access: u32, inherit: bool, target: Pid) -> CallResult {
        // An unknown process id: ERROR_INVALID_PARAMETER. A process that has ended but
        // whose object some handle still keeps alive can still be opened (its pid is not
        // reused until then); only once the object is gone does the pid become unknown
        // (psutil PR #1094, ruby PR #18589: OpenProcess succeeds for exited processes).
        let Some(&id) = self.pids.get(&target) else { return Err(ERROR_INVALID_PARAMETER) };
        let access = map_generic(ObjectType::Process, access);
        let origin = self.origin(pid, tid, "OpenProcess", "opened", None);
        let h = self.alloc_handle(pid, id, access, if inherit { HANDLE_FLAG_INHERIT } else { 0 }, vec![origin])?;
        Ok(Value::Handle(h).into())
    }
}

/// The first token of a command line (quoted or not).
fn first_token(cmd: &str) -> String {
    let cmd = cmd.trim_start();
    if let Some(rest) = cmd.strip_prefix('"') {
        rest.split('"').next().unwrap_or("").to_string()
    } else {
        cmd.split_whitespace().next().unwrap_or("").to_string()
    }
}

/// Maps GENERIC_* rights to an object type's specific rights (its GENERIC_MAPPING).
pub fn map_generic(ty: ObjectType, access: u32) -> u32 {
    let (read, write, execute, all) = match ty {
        ObjectType::Event => (
            READ_CONTROL | EVENT_QUERY_STATE,
            READ_CONTROL | EVENT_MODIFY_STATE,
            READ_CONTROL | SYNCHRONIZE,
            EVENT_ALL_ACCESS,
        ),
        ObjectType::Mutex => {
            (READ_CONTROL | MUTANT_QUERY_STATE, READ_CONTROL, READ_CONTROL | SYNCHRONIZE, MUTEX_ALL_ACCESS)
        }
        ObjectType::Semaphore => (
            READ_CONTROL | SEMAPHORE_QUERY_STATE,
            READ_CONTROL | SEMAPHORE_MODIFY_STATE,
            READ_CONTROL | SYNCHRONIZE,
            SEMAPHORE_ALL_ACCESS,
        ),
        ObjectType::Process => (
            READ_CONTROL | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
            READ_CONTROL | 0x0BEA,
            READ_CONTROL | SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_TERMINATE,
            PROCESS_ALL_ACCESS,
        ),
        ObjectType::Thread => (
            READ_CONTROL | THREAD_QUERY_INFORMATION | 0x0008,
            READ_CONTROL | 0x0037,
            READ_CONTROL | SYNCHRONIZE | THREAD_QUERY_LIMITED_INFORMATION | 0x0400,
            THREAD_ALL_ACCESS,
        ),
        ObjectType::Timer => (
            READ_CONTROL | TIMER_QUERY_STATE,
            READ_CONTROL | TIMER_MODIFY_STATE,
            READ_CONTROL | SYNCHRONIZE,
            TIMER_ALL_ACCESS,
        ),
        ObjectType::IoCompletion => (
            READ_CONTROL | 0x0001,
            READ_CONTROL | IO_COMPLETION_MODIFY_STATE,
            READ_CONTROL | SYNCHRONIZE,
            IO_COMPLETION_ALL_ACCESS,
        ),
        ObjectType::File
        | ObjectType::Pipe
        | ObjectType::NamedPipe
        | ObjectType::Mailslot
        | ObjectType::MailslotClient
        | ObjectType::Socket
        | ObjectType::DiskFile
        | ObjectType::FileNode => (FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS),
        // [inferred] Message Queuing handles carry no NT access mask of their own.
        ObjectType::MqQueue | ObjectType::MqCursor | ObjectType::MqTransaction => (0, 0, 0, 0),
        // The section GENERIC_MAPPING; FILE_MAP_EXECUTE (SECTION_MAP_EXECUTE_EXPLICIT) is
        // grantable too [inferred].
        ObjectType::Section => (
            READ_CONTROL | SECTION_QUERY | SECTION_MAP_READ,
            READ_CONTROL | SECTION_MAP_WRITE,
            READ_CONTROL | SECTION_MAP_EXECUTE,
            SECTION_ALL_ACCESS | SECTION_MAP_EXECUTE_EXPLICIT,
        ),
    };
    let mut out = access & !(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL | MAXIMUM_ALLOWED);
    if access & GENERIC_READ != 0 {
        out |= read;
    }
    if access & GENERIC_WRITE != 0 {
        out |= write;
    }
    if access & GENERIC_EXECUTE != 0 {
        out |= execute;
    }
    if access & (GENERIC_ALL | MAXIMUM_ALLOWED) != 0 {
        out |= all;
    }
    out
}
