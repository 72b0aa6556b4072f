//! kernel32: threads, processes, handles, waits, events, mutexes, semaphores, pipes.
//!
//! Each function documents what is modelled; facts are numbered as in
//! docs/semantics.md. Calls that only read the thread's own
//! environment block (GetLastError, GetCurrentThreadId, GetStdHandle...) are plain
//! functions: on Windows they do not enter the kernel, so they are not schedule points.

use super::{IoBuffer, OVERLAPPED_ENTRY, Overlapped};
use crate::error::Win32Error;
use crate::kernel::request::{Api, Reply, Request, Status, TimerApcRoutine, Value};
use crate::kernel::{Kernel, Pid, Tid};
use crate::objects::process::std_index;
use crate::trace::Ret;
use crate::types::*;
use std::cell::RefCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// A simulated thread's view of the machine: the `ctx` its body receives. Cloning it is
/// cheap; a clone is the same thread.
#[derive(Clone)]
pub struct ThreadCtx {
    pub(super) kernel: Rc<RefCell<Kernel>>,
    pub(super) tid: Tid,
    pub(super) pid: Pid,
}

/// The future of one call: parks the thread at the call with its request, then yields
/// the result the kernel decided.
pub(super) struct Call<'a> {
    ctx: &'a ThreadCtx,
    req: Option<Request>,
}

impl Future for Call<'_> {
    type Output = Reply;
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Reply> {
        let this = &mut *self;
        let mut k = this.ctx.kernel.borrow_mut();
        match poll_call(&mut k, this.ctx.tid, &mut this.req) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

/// A call's poll, with the kernel at hand: the first (a request in `req`) parks the
/// thread at it and takes the driver's next steps inside the call, where it may
/// complete at once; a later one takes the reply, if there is one yet.
#[inline(always)]
fn poll_call(k: &mut Kernel, tid: Tid, req: &mut Option<Request>) -> Option<Reply> {
    if req.is_some() {
        // The request moves from the future straight into the thread (`park`), not
        // through a copy of its own (it is large).
        let oid = k.park(tid, req);
        // The driver's next steps, taken here: the call may complete at once.
        return k.step_inline::<false>(tid, oid);
    }
    k.take_reply(tid)
}

/// The first poll of a future written by hand (`LazyCall`, `ReadFileCall`,
/// `WriteFileCall`): the thread parks at `req`, made straight into it, and the driver's
/// next steps are taken here, where the call may complete at once. A later poll takes
/// the reply (`Kernel::take_reply`).
/// `SYNC_FIRST`: as `Kernel::step_inline`'s.
#[inline(always)]
fn first_poll<const SYNC_FIRST: bool>(k: &mut Kernel, tid: Tid, req: Request) -> Option<Reply> {
    let oid = k.park_request(tid, req);
    k.step_inline::<SYNC_FIRST>(tid, oid)
}

/// `*count = 0` where a count is asked for (a call sets its out-count first, as Windows
/// does).
#[inline(always)]
fn zero(count: Option<&mut u32>) {
    if let Some(n) = count {
        *n = 0;
    }
}

/// A call's future that turns the reply into the API's return value as it completes: one
/// state machine between a thread body and the kernel for the calls made most, where an
/// `async fn` around the call makes two and one around `call_dword` three (issue 13).
pub(super) struct MapReply<'a, T> {
    call: Call<'a>,
    api: Api,
    map: fn(&ThreadCtx, Api, Reply) -> T,
}

impl<T> Future for MapReply<'_, T> {
    type Output = T;
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        match Pin::new(&mut this.call).poll(cx) {
            Poll::Ready(r) => Poll::Ready((this.map)(this.call.ctx, this.api, r)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A call's future whose request is made at its first poll, straight into the parked
/// thread (`Kernel::park_request`), its reply mapped by `map` as it completes: what
/// `MapReply` does, without a request carried in the future (a 48-byte `Request` moved
/// with it into the caller's state machine) and with the kernel borrowed once a poll.
/// For the small calls made most (WaitForSingleObject, SetEvent, ReleaseMutex; issue 13).
/// `map` is a type of its own (a function item or a closure), not a function pointer: it
/// is inlined into the poll, where a pointer is an indirect call a completed call.
/// It takes the reply as `ManuallyDrop` (it drops what it does not forget): a reply that
/// the map's panic would have to drop was copied on the stack once more for the
/// unwinding alone (issue 13).
/// `usual` reads a later poll's usual reply where it lies (`Kernel::polled_reply_slot`):
/// taken whole, it was copied to the stack first (issue 13). It answers only for a reply
/// that owns no memory, which is then forgotten.
pub(super) struct LazyCall<'a, F, M, U> {
    ctx: &'a ThreadCtx,
    /// Makes the request; taken at the first poll.
    make: Option<F>,
    api: Api,
    map: M,
    usual: U,
}

impl<
    T,
    F: FnOnce() -> Request + Unpin,
    M: Fn(&ThreadCtx, Api, ManuallyDrop<Reply>) -> T + Unpin,
    U: Fn(&Reply) -> Option<T> + Unpin,
> Future for LazyCall<'_, F, M, U>
{
    type Output = T;
    /// A later poll's usual case, the reply read where it lies, is inlined into the
    /// caller's poll; the first poll (the park and the driver's steps) and the rest are
    /// out of line (issue 13: one function for all of them saved and restored six
    /// registers at each later poll too, for the first poll's sake).
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        if this.make.is_some() {
            return this.poll_first();
        }
        let ctx = this.ctx;
        let mut k = ctx.kernel.borrow_mut();
        if let Some(slot) = k.polled_reply_slot(ctx.tid)
            && let Some(r) = slot
            && let Some(v) = (this.usual)(r)
        {
            // Owns no memory (`usual`): no drop to run.
            std::mem::forget(slot.take());
            return Poll::Ready(v);
        }
        drop(k);
        this.poll_taken()
    }
}

impl<
    T,
    F: FnOnce() -> Request + Unpin,
    M: Fn(&ThreadCtx, Api, ManuallyDrop<Reply>) -> T + Unpin,
    U: Fn(&Reply) -> Option<T> + Unpin,
> LazyCall<'_, F, M, U>
{
    /// The first poll: the request made into the parked thread, and the driver's next
    /// steps taken (`first_poll`).
    #[inline(never)]
    fn poll_first(&mut self) -> Poll<T> {
        let ctx = self.ctx;
        let Some(make) = self.make.take() else { unreachable!("simulator bug: a call's first poll made twice") };
        let mut k = ctx.kernel.borrow_mut();
        let reply = first_poll::<true>(&mut k, ctx.tid, make());
        drop(k);
        self.ready(reply)
    }

    /// A later poll other than the usual case: the reply taken whole (`take_reply`).
    #[inline(never)]
    fn poll_taken(&mut self) -> Poll<T> {
        let ctx = self.ctx;
        let reply = ctx.kernel.borrow_mut().take_reply(ctx.tid);
        self.ready(reply)
    }

    #[inline(always)]
    fn ready(&self, reply: Option<Reply>) -> Poll<T> {
        match reply {
            Some(r) => Poll::Ready((self.map)(self.ctx, self.api, ManuallyDrop::new(r))),
            None => Poll::Pending,
        }
    }
}

/// ReadFile's future without an OVERLAPPED (`ThreadCtx::read_file`), written by hand: one
/// state machine where an `async fn` around a `Call` made two, and the kernel borrowed
/// once a poll (issue 13). It does what the `async fn` did, in its order: nothing until
/// first polled; then `*bytes_read = 0`, the request, made straight into the parked
/// thread (`Kernel::park_request`), and the driver's next steps (`Call`'s first poll); a
/// later poll takes the reply. The reply's data is copied into the caller's buffer as
/// it is taken.
struct ReadFileCall<'a> {
    ctx: &'a ThreadCtx,
    handle: HANDLE,
    buffer: &'a mut [u8],
    bytes_read: Option<&'a mut u32>,
    started: bool,
}

impl Future for ReadFileCall<'_> {
    type Output = BOOL;
    /// A later poll's usual case is inlined into the caller's poll; the first poll and
    /// the rest are out of line (as `LazyCall`'s, issue 13).
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<BOOL> {
        let this = &mut *self;
        let ctx = this.ctx;
        // A later poll takes the reply; the first makes the request and polls as
        // `first_poll`. Each uses its reply where it arrives (`read_done`, inlined twice):
        // where the two ways met, the reply was copied to the stack to be read from there
        // (issue 13).
        if this.started {
            let mut k = ctx.kernel.borrow_mut();
            // The usual reply, data read, is read where it lies (`polled_reply_slot`), its
            // buffer taken from it: taken whole, it was copied to the stack first (issue 13).
            if let Some(slot) = k.polled_reply_slot(ctx.tid)
                && let Some(Reply { status, value: Value::Read(data) }) = slot
            {
                let ok = if status.succeeded() { TRUE } else { FALSE };
                let data = std::mem::take(data);
                // What is left (a status, an empty buffer) owns no memory: no drop to run.
                std::mem::forget(slot.take());
                copy_bytes(&mut this.buffer[..data.len()], &data);
                if let Some(n) = this.bytes_read.as_deref_mut() {
                    *n = data.len() as u32;
                }
                k.recycle_bytes(data);
                return Poll::Ready(ok);
            }
            drop(k);
            return this.poll_taken();
        }
        this.poll_first()
    }
}

impl ReadFileCall<'_> {
    /// The first poll: `*bytes_read = 0`, the request, and the driver's next steps.
    #[inline(never)]
    fn poll_first(&mut self) -> Poll<BOOL> {
        let ctx = self.ctx;
        self.started = true;
        let mut k = ctx.kernel.borrow_mut();
        zero(self.bytes_read.as_deref_mut());
        let len = u32::try_from(self.buffer.len()).unwrap_or(u32::MAX);
        let req = Request::ReadFile { handle: self.handle, len, overlapped: None, buffer: None };
        let Some(r) = first_poll::<false>(&mut k, ctx.tid, req) else { return Poll::Pending };
        self.read_done(k, r)
    }

    /// A later poll other than the usual case: the reply taken whole.
    #[inline(never)]
    fn poll_taken(&mut self) -> Poll<BOOL> {
        let ctx = self.ctx;
        let mut k = ctx.kernel.borrow_mut();
        let Some(r) = k.take_reply(ctx.tid) else { return Poll::Pending };
        self.read_done(k, r)
    }

    /// The completed read's reply into the caller's buffer (`fill_read`), a value of the
    /// wrong shape reported once the kernel is let go.
    #[inline(always)]
    fn read_done(&mut self, mut k: std::cell::RefMut<'_, Kernel>, r: Reply) -> Poll<BOOL> {
        match fill_read(&mut k, r, self.buffer, self.bytes_read.as_deref_mut()) {
            Ok(ok) => Poll::Ready(ok),
            Err(v) => {
                drop(k);
                self.ctx.mismatch(Api::ReadFile, &v);
                Poll::Ready(FALSE)
            }
        }
    }
}

/// A read's reply into the caller's buffer: the data of a success, and of a partial
/// message read (FALSE with ERROR_MORE_DATA, §5.2), with the byte count; the data's
/// buffer goes back to the kernel's spares. `Err`: a value of the wrong shape, for the
/// caller to report (`ThreadCtx::mismatch`) once it has let go of the kernel.
#[inline(always)]
fn fill_read(k: &mut Kernel, r: Reply, buffer: &mut [u8], bytes_read: Option<&mut u32>) -> Result<BOOL, Value> {
    let ok = bool_of(&r);
    match r.value {
        Value::Read(data) => {
            copy_bytes(&mut buffer[..data.len()], &data);
            if let Some(n) = bytes_read {
                *n = data.len() as u32;
            }
            k.recycle_bytes(data);
        }
        Value::Void => {}
        v => return Err(v),
    }
    Ok(ok)
}

/// WriteFile's future without an OVERLAPPED (`ThreadCtx::write_file`), written by hand as
/// `ReadFileCall` is: the written bytes are copied into a spare buffer of the kernel's
/// at the first poll.
struct WriteFileCall<'a> {
    ctx: &'a ThreadCtx,
    handle: HANDLE,
    buffer: &'a [u8],
    bytes_written: Option<&'a mut u32>,
    started: bool,
}

impl Future for WriteFileCall<'_> {
    type Output = BOOL;
    /// (As `ReadFileCall`'s: a later poll's usual case inlined, the rest out of line.)
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<BOOL> {
        let this = &mut *self;
        let ctx = this.ctx;
        // (As `ReadFileCall`'s: each way uses its reply where it arrives, issue 13.)
        if this.started {
            let mut k = ctx.kernel.borrow_mut();
            // The usual reply is read where it lies (as `ReadFileCall`'s, issue 13).
            if let Some(slot) = k.polled_reply_slot(ctx.tid)
                && let Some(Reply { status: Status::Success, value: Value::Written(w) }) = *slot
            {
                // Owns no memory: no drop to run.
                std::mem::forget(slot.take());
                drop(k);
                if let Some(n) = this.bytes_written.as_deref_mut() {
                    *n = w;
                }
                return Poll::Ready(TRUE);
            }
            drop(k);
            return this.poll_taken();
        }
        this.poll_first()
    }
}

impl WriteFileCall<'_> {
    /// The first poll: `*bytes_written = 0`, the request, and the driver's next steps.
    #[inline(never)]
    fn poll_first(&mut self) -> Poll<BOOL> {
        let ctx = self.ctx;
        self.started = true;
        let mut k = ctx.kernel.borrow_mut();
        zero(self.bytes_written.as_deref_mut());
        let req = Request::WriteFile { handle: self.handle, data: k.byte_buffer(self.buffer), overlapped: None };
        let Some(r) = first_poll::<false>(&mut k, ctx.tid, req) else { return Poll::Pending };
        drop(k);
        self.write_done(r)
    }

    /// A later poll other than the usual case: the reply taken whole.
    #[inline(never)]
    fn poll_taken(&mut self) -> Poll<BOOL> {
        let ctx = self.ctx;
        let Some(r) = ctx.kernel.borrow_mut().take_reply(ctx.tid) else { return Poll::Pending };
        self.write_done(r)
    }

    /// The completed write's reply: the byte count where it is asked for.
    #[inline(always)]
    fn write_done(&mut self, r: Reply) -> Poll<BOOL> {
        let this = self;
        if let Reply { status: Status::Success, value: Value::Written(w) } = r {
            // The usual reply owns no memory: no drop to run.
            std::mem::forget(r);
            if let Some(n) = this.bytes_written.as_deref_mut() {
                *n = w;
            }
            return Poll::Ready(TRUE);
        }
        Poll::Ready(match done(r) {
            Some(v) => {
                if let (Value::Written(w), Some(n)) = (v, this.bytes_written.as_deref_mut()) {
                    *n = w;
                }
                TRUE
            }
            None => FALSE,
        })
    }
}

/// A DWORD or wait-code return (`call_dword`'s mapping).
fn dword_of(ctx: &ThreadCtx, api: Api, r: Reply) -> u32 {
    match r.ret(api.ret_kind()) {
        Ret::Dword(v) | Ret::Wait(v) => v,
        _ => {
            ctx.mismatch(api, &r.value);
            u32::MAX
        }
    }
}

/// A wait code (`WaitForSingleObject`'s mapping): `dword_of`, with the usual reply (a
/// success carrying its wait code, nothing to drop) read without `Reply::ret`.
/// (`ManuallyDrop`: as `LazyCall` passes it; any other reply is dropped.)
#[inline]
fn wait_of(ctx: &ThreadCtx, api: Api, r: ManuallyDrop<Reply>) -> u32 {
    if let Reply { status: Status::Success, value: Value::Wait(v) } = *r {
        // Owns no memory: no drop to run.
        return v;
    }
    dword_of(ctx, api, ManuallyDrop::into_inner(r))
}

/// `wait_of`'s usual reply (a success carrying its wait code), read where it lies
/// (`LazyCall::usual`: it owns no memory).
#[inline(always)]
fn usual_wait(r: &Reply) -> Option<u32> {
    match *r {
        Reply { status: Status::Success, value: Value::Wait(v) } => Some(v),
        _ => None,
    }
}

/// `bool_reply`'s usual reply (`Value::Bool`), read where it lies (`LazyCall::usual`: it
/// owns no memory).
#[inline(always)]
fn usual_bool(r: &Reply) -> Option<BOOL> {
    matches!(r.value, Value::Bool(_)).then(|| bool_of(r))
}

/// A BOOL return (`bool_of`) of a reply taken by value: the usual one (`Value::Bool`)
/// has nothing to drop.
#[inline]
fn bool_reply(r: Reply) -> BOOL {
    let b = bool_of(&r);
    match r.value {
        // Owns no memory: no drop to run.
        Value::Bool(_) => std::mem::forget(r),
        _ => drop(r),
    }
    b
}

/// `dst.copy_from_slice(src)`, a single byte (the usual small pipe message) copied by
/// hand: a call of `memcpy` costs more than the copy.
#[inline(always)]
fn copy_bytes(dst: &mut [u8], src: &[u8]) {
    match (dst, src) {
        ([d], [b]) => *d = *b,
        (dst, src) => dst.copy_from_slice(src),
    }
}

/// The value of a call that returned its success value (`None` on failure).
pub(super) fn done(r: Reply) -> Option<Value> {
    r.status.succeeded().then_some(r.value)
}

pub(super) fn bool_of(r: &Reply) -> BOOL {
    if r.status.succeeded() { TRUE } else { FALSE }
}

impl ThreadCtx {
    pub(crate) fn new(kernel: Rc<RefCell<Kernel>>, tid: Tid, pid: Pid) -> ThreadCtx {
        ThreadCtx { kernel, tid, pid }
    }

    /// The call's future itself (not an `async fn` around it: one state machine fewer
    /// between the thread body and the kernel, and the request is not moved once more).
    pub(super) fn call(&self, req: Request) -> Call<'_> {
        Call { ctx: self, req: Some(req) }
    }

    /// A call's reply had a value of the wrong shape: a bug in winsim. The run ends as
    /// `Outcome::SimulatorBug` (at the thread's next call) instead of a panic charged to
    /// the program.
    pub(super) fn mismatch(&self, api: Api, v: &Value) {
        self.kernel.borrow_mut().simulator_bug(format!("{api} returned an unexpected value {v:?}"));
    }

    /// A call returning a HANDLE.
    pub(super) async fn call_handle(&self, req: Request) -> HANDLE {
        let api = req.api();
        let r = self.call(req).await;
        if r.status.succeeded() && !matches!(r.value, Value::Handle(_)) {
            self.mismatch(api, &r.value);
            return HANDLE::NULL;
        }
        match r.ret(api.ret_kind()) {
            Ret::Handle(h) => h,
            _ => HANDLE::NULL,
        }
    }

    /// A call returning a DWORD, or a wait code.
    fn call_dword(&self, req: Request) -> MapReply<'_, u32> {
        self.call_mapped(req, dword_of)
    }

    /// `call_mapped` of a request made at the first poll (`LazyCall`).
    #[inline]
    fn call_lazy<
        T,
        F: FnOnce() -> Request + Unpin,
        M: Fn(&ThreadCtx, Api, ManuallyDrop<Reply>) -> T + Unpin,
        U: Fn(&Reply) -> Option<T> + Unpin,
    >(
        &self,
        api: Api,
        make: F,
        map: M,
        usual: U,
    ) -> LazyCall<'_, F, M, U> {
        LazyCall { ctx: self, make: Some(make), api, map, usual }
    }

    /// The call's future, its reply mapped by `map`.
    #[inline]
    fn call_mapped<T>(&self, req: Request, map: fn(&ThreadCtx, Api, Reply) -> T) -> MapReply<'_, T> {
        let api = req.api();
        MapReply { call: self.call(req), api, map }
    }

    /// A BOOL call with one DWORD out-parameter.
    async fn call_out(&self, req: Request, out: &mut u32) -> BOOL {
        let api = req.api();
        let r = self.call(req).await;
        let ok = bool_of(&r);
        match done(r) {
            Some(Value::Out(v)) => *out = v,
            Some(v) => self.mismatch(api, &v),
            None => {}
        }
        ok
    }

    /// A call whose out value is 64 bits.
    async fn call_u64(&self, req: Request) -> Option<u64> {
        let api = req.api();
        match done(self.call(req).await) {
            Some(Value::U64(v)) => Some(v),
            Some(v) => {
                self.mismatch(api, &v);
                None
            }
            None => None,
        }
    }

    // ----- the thread environment block: no kernel call, no schedule point -----------

    /// GetCurrentThreadId.
    pub fn get_current_thread_id(&self) -> u32 {
        self.tid
    }

    /// GetCurrentProcessId.
    pub fn get_current_process_id(&self) -> u32 {
        self.pid
    }

    /// GetCurrentProcess: the pseudo handle `(HANDLE)-1`.
    pub fn get_current_process(&self) -> HANDLE {
        CURRENT_PROCESS_PSEUDO_HANDLE
    }

    /// GetCurrentThread: the pseudo handle `(HANDLE)-2`.
    pub fn get_current_thread(&self) -> HANDLE {
        CURRENT_THREAD_PSEUDO_HANDLE
    }

    /// GetLastError. A [`Win32Error`], so it matches the `ERROR_*` constants directly
    /// (`match ctx.get_last_error() { ERROR_BROKEN_PIPE => .., _ => .. }`) and compares
    /// with a plain `u32` both ways; `.0` is the number.
    pub fn get_last_error(&self) -> Win32Error {
        Win32Error(self.kernel.borrow().last_error(self.tid))
    }

    /// SetLastError: takes a `u32` or a [`Win32Error`].
    pub fn set_last_error(&self, code: impl Into<u32>) {
        self.kernel.borrow_mut().set_last_error(self.tid, code.into());
    }

    /// GetCommandLine.
    pub fn get_command_line(&self) -> String {
        let k = self.kernel.borrow();
        match k.pids.get(&self.pid).map(|&id| &k.objects[id].body) {
            Some(crate::objects::Body::Process(p)) => p.command_line.clone(),
            _ => String::new(),
        }
    }

    /// GetStdHandle: the process's standard handle (NULL when it has none). An invalid
    /// `nStdHandle` gives INVALID_HANDLE_VALUE and ERROR_INVALID_HANDLE (Wine probe).
    pub fn get_std_handle(&self, n_std_handle: u32) -> HANDLE {
        let mut k = self.kernel.borrow_mut();
        match (std_index(n_std_handle), k.pids.get(&self.pid).copied()) {
            (Some(i), Some(id)) => match &k.objects[id].body {
                crate::objects::Body::Process(p) => p.std_handles[i],
                _ => HANDLE::NULL,
            },
            (Some(_), None) => HANDLE::NULL,
            (None, _) => {
                k.set_last_error(self.tid, crate::error::ERROR_INVALID_HANDLE.0);
                INVALID_HANDLE_VALUE
            }
        }
    }

    /// SetStdHandle.
    pub fn set_std_handle(&self, n_std_handle: u32, h: HANDLE) -> BOOL {
        let mut k = self.kernel.borrow_mut();
        match (std_index(n_std_handle), k.pids.get(&self.pid).copied()) {
            (Some(i), Some(id)) => {
                if let crate::objects::Body::Process(p) = &mut k.objects[id].body {
                    p.std_handles[i] = h;
                }
                TRUE
            }
            _ => {
                k.set_last_error(self.tid, crate::error::ERROR_INVALID_HANDLE.0);
                FALSE
            }
        }
    }

    // ----- threads ------------------------------------------------------------------

    /// CreateThread. `start` is the thread's body (lpStartAddress and lpParameter in
    /// one closure); its return value is the exit code. `dwCreationFlags`:
    /// CREATE_SUSPENDED, STACK_SIZE_PARAM_IS_A_RESERVATION; other bits fail with
    /// ERROR_INVALID_PARAMETER. Success leaves the last error alone (§8.7).
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let worker = ctx.create_thread(None, 0, |ctx| async move { ctx.sleep(5).await; 7 }, 0, None).await;
    ///     assert_eq!(ctx.wait_for_single_object(worker, INFINITE).await, WAIT_OBJECT_0);
    ///     let mut code = 0;
    ///     assert_eq!(ctx.get_exit_code_thread(worker, &mut code).await, TRUE);
    ///     assert_eq!(code, 7); // the body's return value
    ///     0
    /// });
    /// assert!(sim.run("main.exe").outcome.is_completed());
    /// ```
    #[must_use]
    pub async fn create_thread<F, Fut>(
        &self,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        _stack_size: usize,
        start: F,
        creation_flags: u32,
        thread_id: Option<&mut u32>,
    ) -> HANDLE
    where
        F: FnOnce(ThreadCtx) -> Fut + 'static,
        Fut: Future<Output = u32> + 'static,
    {
        let inherit = thread_attributes.is_some_and(|s| s.bInheritHandle);
        let start: crate::kernel::request::ThreadStart = Box::new(move |ctx| Box::pin(start(ctx)));
        match done(self.call(Request::CreateThread { inherit, flags: creation_flags, start }).await) {
            Some(v) => match v {
                Value::Thread(h, tid) => {
                    if let Some(out) = thread_id {
                        *out = tid;
                    }
                    h
                }
                other => panic!("simulator bug: CreateThread returned {other:?}"),
            },
            None => HANDLE::NULL,
        }
    }

    /// ResumeThread: returns the previous suspend count, or (DWORD)-1 on failure;
    /// 0 for a thread that has ended (§8.2).
    pub async fn resume_thread(&self, h_thread: HANDLE) -> u32 {
        self.call_dword(Request::ResumeThread { thread: h_thread }).await
    }

    /// SuspendThread: returns the previous suspend count, or (DWORD)-1 (ERROR_ACCESS_DENIED
    /// for an ended thread, ERROR_SIGNAL_REFUSED beyond MAXIMUM_SUSPEND_COUNT).
    pub async fn suspend_thread(&self, h_thread: HANDLE) -> u32 {
        self.call_dword(Request::SuspendThread { thread: h_thread }).await
    }

    /// ExitThread: ends the calling thread; never returns. The last thread's exit ends
    /// the process.
    pub async fn exit_thread(&self, exit_code: u32) {
        let _ = self.call(Request::ExitThread { exit_code }).await;
        unreachable!("ExitThread returned");
    }

    /// TerminateThread.
    pub async fn terminate_thread(&self, h_thread: HANDLE, exit_code: u32) -> BOOL {
        bool_of(&self.call(Request::TerminateThread { thread: h_thread, exit_code }).await)
    }

    /// GetExitCodeThread: STILL_ACTIVE (259) while the thread runs.
    #[must_use]
    pub async fn get_exit_code_thread(&self, h_thread: HANDLE, exit_code: &mut u32) -> BOOL {
        self.call_out(Request::GetExitCodeThread { thread: h_thread }, exit_code).await
    }

    // ----- processes ----------------------------------------------------------------

    /// CreateProcess of a program registered with the simulation. The program is found
    /// by `application_name`, or else by the first token of `command_line` (last path
    /// component, case-insensitive, ".exe" optional); an unknown one fails with
    /// ERROR_FILE_NOT_FOUND. With `inherit_handles`, every inheritable handle is copied
    /// at the same value (§7.10); std handles follow §7.11. Flags:
    /// CREATE_SUSPENDED and the console/priority flags (accepted, no effect);
    /// DEBUG_PROCESS ends the run as Unsupported.
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("child.exe", |ctx| async move { if ctx.get_command_line() == "child.exe 3" { 3 } else { 1 } });
    /// sim.program("parent.exe", |ctx| async move {
    ///     let (si, mut pi) = (STARTUPINFO::default(), PROCESS_INFORMATION::default());
    ///     assert_eq!(ctx.create_process(None, Some("child.exe 3"), None, None, false, 0, &si, &mut pi).await, TRUE);
    ///     ctx.wait_for_single_object(pi.hProcess, INFINITE).await;
    ///     let mut code = 0;
    ///     assert_eq!(ctx.get_exit_code_process(pi.hProcess, &mut code).await, TRUE);
    ///     assert_eq!(code, 3);
    ///     // A program the simulation does not know:
    ///     assert_eq!(ctx.create_process(None, Some("nope.exe"), None, None, false, 0, &si, &mut pi).await, FALSE);
    ///     assert_eq!(ctx.get_last_error(), ERROR_FILE_NOT_FOUND);
    ///     0
    /// });
    /// assert!(sim.run("parent.exe").outcome.is_completed());
    /// ```
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub async fn create_process(
        &self,
        application_name: Option<&str>,
        command_line: Option<&str>,
        process_attributes: Option<&SECURITY_ATTRIBUTES>,
        thread_attributes: Option<&SECURITY_ATTRIBUTES>,
        inherit_handles: bool,
        creation_flags: u32,
        startup_info: &STARTUPINFO,
        process_information: &mut PROCESS_INFORMATION,
    ) -> BOOL {
        let r = self
            .call(Request::CreateProcess {
                args: Box::new(crate::kernel::request::boxed::CreateProcess {
                    application_name: application_name.map(str::to_string),
                    command_line: command_line.map(str::to_string),
                    inherit_process: process_attributes.is_some_and(|s| s.bInheritHandle),
                    inherit_thread: thread_attributes.is_some_and(|s| s.bInheritHandle),
                    inherit_handles,
                    flags: creation_flags,
                    stdio: *startup_info,
                }),
            })
            .await;
        let ok = bool_of(&r);
        if let Some(Value::Process(pi)) = done(r) {
            *process_information = pi;
        }
        ok
    }

    /// ExitProcess: ends every thread of the calling process; never returns.
    pub async fn exit_process(&self, exit_code: u32) {
        let _ = self.call(Request::ExitProcess { exit_code }).await;
        unreachable!("ExitProcess returned");
    }

    /// TerminateProcess. On a process that has ended: FALSE, ERROR_ACCESS_DENIED.
    /// Terminating the caller's own process does not return.
    pub async fn terminate_process(&self, h_process: HANDLE, exit_code: u32) -> BOOL {
        bool_of(&self.call(Request::TerminateProcess { process: h_process, exit_code }).await)
    }

    /// GetExitCodeProcess: STILL_ACTIVE (259) while the process runs (§9.1).
    #[must_use]
    pub async fn get_exit_code_process(&self, h_process: HANDLE, exit_code: &mut u32) -> BOOL {
        self.call_out(Request::GetExitCodeProcess { process: h_process }, exit_code).await
    }

    /// OpenProcess: an unknown process id fails with ERROR_INVALID_PARAMETER. A process
    /// that has ended can still be opened while a handle keeps its object alive.
    #[must_use]
    pub async fn open_process(&self, desired_access: u32, inherit_handle: bool, process_id: u32) -> HANDLE {
        self.call_handle(Request::OpenProcess { access: desired_access, inherit: inherit_handle, pid: process_id })
            .await
    }

    // ----- handles ------------------------------------------------------------------

    /// CloseHandle: ERROR_INVALID_HANDLE for an unknown or closed handle (§7.6) and
    /// for one protected from close, which stays open (§7.7). Pseudo handles: TRUE.
    pub async fn close_handle(&self, h_object: HANDLE) -> BOOL {
        bool_of(&self.call(Request::CloseHandle { handle: h_object }).await)
    }

    /// DuplicateHandle (§§7.2-7.5, 7.9). On failure `*target_handle` is NULL.
    #[must_use]
    #[allow(clippy::too_many_arguments)]
    pub async fn duplicate_handle(
        &self,
        source_process_handle: HANDLE,
        source_handle: HANDLE,
        target_process_handle: HANDLE,
        target_handle: &mut HANDLE,
        desired_access: u32,
        inherit_handle: bool,
        options: u32,
    ) -> BOOL {
        let r = self
            .call(Request::DuplicateHandle {
                source_process: source_process_handle,
                source: source_handle,
                target_process: target_process_handle,
                access: desired_access,
                inherit: inherit_handle,
                options,
            })
            .await;
        let ok = bool_of(&r);
        *target_handle = match done(r) {
            Some(Value::Handle(h)) => h,
            _ => HANDLE::NULL,
        };
        ok
    }

    /// SetHandleInformation: HANDLE_FLAG_INHERIT, HANDLE_FLAG_PROTECT_FROM_CLOSE.
    pub async fn set_handle_information(&self, h_object: HANDLE, mask: u32, flags: u32) -> BOOL {
        bool_of(&self.call(Request::SetHandleInformation { handle: h_object, mask, flags }).await)
    }

    /// GetHandleInformation.
    #[must_use]
    pub async fn get_handle_information(&self, h_object: HANDLE, flags: &mut u32) -> BOOL {
        self.call_out(Request::GetHandleInformation { handle: h_object }, flags).await
    }

    // ----- waits --------------------------------------------------------------------

    /// WaitForSingleObject: WAIT_OBJECT_0, WAIT_ABANDONED, WAIT_TIMEOUT, or WAIT_FAILED
    /// with the last error set; success and time-out leave it alone (§10.1).
    /// Pseudo handles may be waited on (§8.11).
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let ev = ctx.create_event(None, true, false, None).await; // manual-reset, not signalled
    ///     assert_eq!(ctx.wait_for_single_object(ev, 10).await, WAIT_TIMEOUT); // 10 ms of virtual time
    ///     assert_eq!(ctx.set_event(ev).await, TRUE);
    ///     assert_eq!(ctx.wait_for_single_object(ev, INFINITE).await, WAIT_OBJECT_0);
    ///     0
    /// });
    /// let report = sim.run("main.exe");
    /// assert!(report.outcome.is_completed());
    /// assert_eq!(report.time_ms, 10);
    /// ```
    pub fn wait_for_single_object(&self, h_handle: HANDLE, milliseconds: u32) -> impl Future<Output = u32> + '_ {
        self.call_lazy(
            Api::WaitForSingleObject,
            move || Request::WaitForSingleObject { handle: h_handle, timeout_ms: milliseconds },
            wait_of,
            usual_wait,
        )
    }

    /// WaitForMultipleObjects (`nCount` is `handles.len()`): 1 to 64 handles, no pseudo
    /// handles (§10.3), no object twice when waiting for all (§10.4). Wait-any
    /// reports and consumes the lowest signalled index (§10.2).
    pub async fn wait_for_multiple_objects(&self, handles: &[HANDLE], wait_all: bool, milliseconds: u32) -> u32 {
        let req = Request::WaitForMultipleObjects { handles: handles.to_vec(), wait_all, timeout_ms: milliseconds };
        self.call_dword(req).await
    }

    /// SignalObjectAndWait: signals an event, releases a mutex or a semaphore (by 1), and
    /// waits, as one transition (§10.6); alertably when asked (WAIT_IO_COMPLETION after
    /// running queued APCs, §16.36).
    pub async fn signal_object_and_wait(
        &self,
        h_object_to_signal: HANDLE,
        h_object_to_wait_on: HANDLE,
        milliseconds: u32,
        alertable: bool,
    ) -> u32 {
        let req = Request::SignalObjectAndWait {
            signal: h_object_to_signal,
            wait: h_object_to_wait_on,
            timeout_ms: milliseconds,
            alertable,
        };
        let code = self.call_dword(req).await;
        if code == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        code
    }

    /// Sleep: virtual milliseconds. Sleep(0) is a schedule point only.
    pub async fn sleep(&self, milliseconds: u32) {
        let _ = self.call(Request::Sleep { ms: milliseconds }).await;
    }

    // ----- events, mutexes, semaphores ----------------------------------------------

    /// CreateEvent. Sets the last error to 0, or to ERROR_ALREADY_EXISTS when the name
    /// exists (§7.13); a name held by another type: NULL, ERROR_INVALID_HANDLE (7.14).
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let a = ctx.create_event(None, false, false, Some("Local\\ready")).await;
    ///     assert_eq!(ctx.get_last_error(), 0u32);
    ///     let b = ctx.create_event(None, false, false, Some("Local\\ready")).await;
    ///     assert!(!b.is_null() && b != a); // a second handle to the same event
    ///     assert_eq!(ctx.get_last_error(), ERROR_ALREADY_EXISTS);
    ///     0
    /// });
    /// assert!(sim.run("main.exe").outcome.is_completed());
    /// ```
    #[must_use]
    pub async fn create_event(
        &self,
        event_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        initial_state: bool,
        name: Option<&str>,
    ) -> HANDLE {
        let req = Request::CreateEvent {
            inherit: event_attributes.is_some_and(|s| s.bInheritHandle),
            manual_reset,
            initial_state,
            name: name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// OpenEvent: ERROR_FILE_NOT_FOUND for a missing name, ERROR_INVALID_PARAMETER for
    /// none, ERROR_INVALID_HANDLE for another type.
    #[must_use]
    pub async fn open_event(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        let req =
            Request::OpenEvent { access: desired_access, inherit: inherit_handle, name: name.map(str::to_string) };
        self.call_handle(req).await
    }

    /// SetEvent (needs EVENT_MODIFY_STATE).
    pub fn set_event(&self, h_event: HANDLE) -> impl Future<Output = BOOL> + '_ {
        self.call_lazy(
            Api::SetEvent,
            move || Request::SetEvent { event: h_event },
            |_, _, r| bool_reply(ManuallyDrop::into_inner(r)),
            usual_bool,
        )
    }

    /// ResetEvent.
    pub async fn reset_event(&self, h_event: HANDLE) -> BOOL {
        bool_reply(self.call(Request::ResetEvent { event: h_event }).await)
    }

    /// PulseEvent: releases only the threads waiting at this instant (§11.1).
    pub async fn pulse_event(&self, h_event: HANDLE) -> BOOL {
        bool_of(&self.call(Request::PulseEvent { event: h_event }).await)
    }

    /// CreateMutex. An existing name ignores `initial_owner`.
    #[must_use]
    pub async fn create_mutex(
        &self,
        mutex_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_owner: bool,
        name: Option<&str>,
    ) -> HANDLE {
        let req = Request::CreateMutex {
            inherit: mutex_attributes.is_some_and(|s| s.bInheritHandle),
            initial_owner,
            name: name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// OpenMutex.
    #[must_use]
    pub async fn open_mutex(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        let req =
            Request::OpenMutex { access: desired_access, inherit: inherit_handle, name: name.map(str::to_string) };
        self.call_handle(req).await
    }

    /// ReleaseMutex: ERROR_NOT_OWNER unless the caller owns it (§§12.1, 12.5).
    pub fn release_mutex(&self, h_mutex: HANDLE) -> impl Future<Output = BOOL> + '_ {
        self.call_lazy(
            Api::ReleaseMutex,
            move || Request::ReleaseMutex { mutex: h_mutex },
            |_, _, r| bool_reply(ManuallyDrop::into_inner(r)),
            usual_bool,
        )
    }

    /// CreateSemaphore: ERROR_INVALID_PARAMETER unless 0 <= initial <= maximum, maximum > 0.
    #[must_use]
    pub async fn create_semaphore(
        &self,
        semaphore_attributes: Option<&SECURITY_ATTRIBUTES>,
        initial_count: i32,
        maximum_count: i32,
        name: Option<&str>,
    ) -> HANDLE {
        let req = Request::CreateSemaphore {
            inherit: semaphore_attributes.is_some_and(|s| s.bInheritHandle),
            initial: initial_count,
            maximum: maximum_count,
            name: name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// OpenSemaphore.
    #[must_use]
    pub async fn open_semaphore(&self, desired_access: u32, inherit_handle: bool, name: Option<&str>) -> HANDLE {
        let req =
            Request::OpenSemaphore { access: desired_access, inherit: inherit_handle, name: name.map(str::to_string) };
        self.call_handle(req).await
    }

    /// ReleaseSemaphore: all or nothing; past the maximum, ERROR_TOO_MANY_POSTS and
    /// `previous_count` is not written (§13.2).
    #[must_use]
    pub async fn release_semaphore(
        &self,
        h_semaphore: HANDLE,
        release_count: i32,
        previous_count: Option<&mut i32>,
    ) -> BOOL {
        match done(self.call(Request::ReleaseSemaphore { semaphore: h_semaphore, count: release_count }).await) {
            Some(v) => {
                if let (Value::PrevCount(p), Some(out)) = (v, previous_count) {
                    *out = p;
                }
                TRUE
            }
            None => FALSE,
        }
    }

    // ----- pipes --------------------------------------------------------------------

    /// CreatePipe: `size` 0 means 4096, other values are the quota as given (§§1.1,
    /// 1.2). The handles are synchronous.
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
    ///     assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE); // 0: a 4096-byte quota
    ///     let mut written = 0;
    ///     assert_eq!(ctx.write_file(w, &[1; 4096], Some(&mut written)).await, TRUE);
    ///     assert_eq!(written, 4096); // fits the quota: returns at once
    ///     0
    /// });
    /// assert!(sim.run("main.exe").outcome.is_completed());
    /// ```
    #[must_use]
    pub async fn create_pipe(
        &self,
        read_pipe: &mut HANDLE,
        write_pipe: &mut HANDLE,
        pipe_attributes: Option<&SECURITY_ATTRIBUTES>,
        size: u32,
    ) -> BOOL {
        let req = Request::CreatePipe { inherit: pipe_attributes.is_some_and(|s| s.bInheritHandle), size };
        match done(self.call(req).await) {
            Some(v) => {
                if let Value::Pipe(r, w) = v {
                    *read_pipe = r;
                    *write_pipe = w;
                }
                TRUE
            }
            None => FALSE,
        }
    }

    /// ReadFile on a pipe: returns what is available up to `buffer.len()`, blocking while
    /// the pipe is empty; FALSE with ERROR_BROKEN_PIPE once drained after every write
    /// handle closed (§§3.1-3.5). `*bytes_read` is set to 0 first, as Windows does.
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
    ///     assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE);
    ///     assert_eq!(ctx.write_file(w, b"bye", None).await, TRUE);
    ///     assert_eq!(ctx.close_handle(w).await, TRUE);
    ///     let (mut buf, mut n) = ([0u8; 16], 0);
    ///     assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE); // what is there
    ///     assert_eq!(&buf[..n as usize], b"bye");
    ///     assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, FALSE); // then end of file
    ///     assert_eq!(ctx.get_last_error(), ERROR_BROKEN_PIPE);
    ///     0
    /// });
    /// assert!(sim.run("main.exe").outcome.is_completed());
    /// ```
    ///
    /// The future is written by hand (it behaves as an `async fn` would: nothing happens
    /// until it is first polled), so that a call costs one state machine, not two.
    pub fn read_file<'a>(
        &'a self,
        h_file: HANDLE,
        buffer: &'a mut [u8],
        bytes_read: Option<&'a mut u32>,
    ) -> impl Future<Output = BOOL> + 'a {
        ReadFileCall { ctx: self, handle: h_file, buffer, bytes_read, started: false }
    }

    /// WriteFile on a pipe: completes in full or blocks until the unread bytes up to and
    /// including its own fit the quota (§§2.2-2.5); ERROR_NO_DATA once the reader is
    /// gone, ERROR_BROKEN_PIPE if it goes while the write is pending (§2.11).
    ///
    /// ```
    /// use winsim_core::prelude::*;
    /// let mut sim = Sim::new(Config::random(1));
    /// sim.program("main.exe", |ctx| async move {
    ///     let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
    ///     assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE);
    ///     assert_eq!(ctx.close_handle(r).await, TRUE); // no reader left
    ///     assert_eq!(ctx.write_file(w, b"lost", None).await, FALSE);
    ///     assert_eq!(ctx.get_last_error(), ERROR_NO_DATA);
    ///     0
    /// });
    /// assert!(sim.run("main.exe").outcome.is_completed());
    /// ```
    ///
    /// The future is written by hand, as `read_file`'s is.
    pub fn write_file<'a>(
        &'a self,
        h_file: HANDLE,
        buffer: &'a [u8],
        bytes_written: Option<&'a mut u32>,
    ) -> impl Future<Output = BOOL> + 'a {
        WriteFileCall { ctx: self, handle: h_file, buffer, bytes_written, started: false }
    }

    /// PeekNamedPipe: copies without consuming; `avail` counts every unread byte,
    /// pending writes included; in byte mode `left` is `(DWORD)(0 - copied)` (§4.2).
    /// On failure the outputs are untouched (§4.5).
    #[must_use]
    pub async fn peek_named_pipe(
        &self,
        h_named_pipe: HANDLE,
        buffer: Option<&mut [u8]>,
        bytes_read: Option<&mut u32>,
        total_bytes_avail: Option<&mut u32>,
        bytes_left_this_message: Option<&mut u32>,
    ) -> BOOL {
        let len = buffer.as_ref().map(|b| u32::try_from(b.len()).unwrap_or(u32::MAX)).unwrap_or(0);
        match done(self.call(Request::PeekNamedPipe { handle: h_named_pipe, len }).await) {
            Some(v) => {
                if let Value::Peek { data, avail, left } = v {
                    if let Some(b) = buffer {
                        b[..data.len()].copy_from_slice(&data);
                    }
                    if let Some(n) = bytes_read {
                        *n = data.len() as u32;
                    }
                    if let Some(a) = total_bytes_avail {
                        *a = avail;
                    }
                    if let Some(l) = bytes_left_this_message {
                        *l = left;
                    }
                }
                TRUE
            }
            None => FALSE,
        }
    }

    /// GetNamedPipeInfo: the read end of an anonymous pipe is the server end (§1.1).
    #[must_use]
    pub async fn get_named_pipe_info(
        &self,
        h_named_pipe: HANDLE,
        flags: Option<&mut u32>,
        out_buffer_size: Option<&mut u32>,
        in_buffer_size: Option<&mut u32>,
        max_instances: Option<&mut u32>,
    ) -> BOOL {
        match done(self.call(Request::GetNamedPipeInfo { handle: h_named_pipe }).await) {
            Some(v) => {
                if let Value::PipeInfo { flags: f, out_size, in_size, max_instances: m } = v {
                    if let Some(x) = flags {
                        *x = f;
                    }
                    if let Some(x) = out_buffer_size {
                        *x = out_size;
                    }
                    if let Some(x) = in_buffer_size {
                        *x = in_size;
                    }
                    if let Some(x) = max_instances {
                        *x = m;
                    }
                }
                TRUE
            }
            None => FALSE,
        }
    }

    /// FlushFileBuffers on a pipe: blocks until the reader has read everything written
    /// so far (§2.8).
    pub async fn flush_file_buffers(&self, h_file: HANDLE) -> BOOL {
        bool_of(&self.call(Request::FlushFileBuffers { handle: h_file }).await)
    }

    // ----- waitable timers ------------------------------------------------------------

    /// CreateWaitableTimer: `manual_reset` TRUE makes a notification timer (releases every
    /// waiter, stays signalled until set again), FALSE a synchronization timer (releases
    /// one waiter and resets). The timer starts inactive and nonsignalled. Names share the
    /// kernel-object namespace: an existing timer of that name is opened (last error
    /// ERROR_ALREADY_EXISTS; a new one sets it to 0), another type's name fails with
    /// ERROR_INVALID_HANDLE (docs/semantics.md §14).
    #[must_use]
    pub async fn create_waitable_timer(
        &self,
        timer_attributes: Option<&SECURITY_ATTRIBUTES>,
        manual_reset: bool,
        timer_name: Option<&str>,
    ) -> HANDLE {
        let req = Request::CreateWaitableTimer {
            inherit: timer_attributes.is_some_and(|s| s.bInheritHandle),
            manual_reset,
            name: timer_name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// CreateWaitableTimerEx: `flags` CREATE_WAITABLE_TIMER_MANUAL_RESET and
    /// CREATE_WAITABLE_TIMER_HIGH_RESOLUTION (no effect in virtual time); other bits fail
    /// with ERROR_INVALID_PARAMETER. The handle gets `desired_access`.
    #[must_use]
    pub async fn create_waitable_timer_ex(
        &self,
        timer_attributes: Option<&SECURITY_ATTRIBUTES>,
        timer_name: Option<&str>,
        flags: u32,
        desired_access: u32,
    ) -> HANDLE {
        let req = Request::CreateWaitableTimerEx {
            inherit: timer_attributes.is_some_and(|s| s.bInheritHandle),
            name: timer_name.map(str::to_string),
            flags,
            access: desired_access,
        };
        self.call_handle(req).await
    }

    /// OpenWaitableTimer: ERROR_FILE_NOT_FOUND for a missing name, ERROR_INVALID_PARAMETER
    /// for none, ERROR_INVALID_HANDLE for another type.
    #[must_use]
    pub async fn open_waitable_timer(
        &self,
        desired_access: u32,
        inherit_handle: bool,
        timer_name: Option<&str>,
    ) -> HANDLE {
        let req = Request::OpenWaitableTimer {
            access: desired_access,
            inherit: inherit_handle,
            name: timer_name.map(str::to_string),
        };
        self.call_handle(req).await
    }

    /// SetWaitableTimer. `due_time` (the LARGE_INTEGER pointed to): negative is relative,
    /// in 100-ns units; zero or positive is an absolute FILETIME against the virtual system
    /// clock (`Config::system_time_start`), and a time already passed signals the timer at
    /// once. `period` in milliseconds (0: one-shot; negative: ERROR_INVALID_PARAMETER).
    /// Setting a timer cancels its earlier setting and makes it nonsignalled. A completion
    /// routine is queued as an APC to this thread at each expiry, unless one is still
    /// queued; it runs in the thread's alertable waits (docs/semantics.md §14.21); `resume`
    /// succeeds with ERROR_NOT_SUPPORTED, as on a machine without wake support. Needs
    /// TIMER_MODIFY_STATE.
    #[must_use]
    pub async fn set_waitable_timer(
        &self,
        h_timer: HANDLE,
        due_time: i64,
        period: i32,
        completion_routine: Option<TimerApcRoutine>,
        resume: bool,
    ) -> BOOL {
        let req = Request::SetWaitableTimer {
            timer: h_timer,
            args: Box::new(crate::kernel::request::boxed::SetWaitableTimer {
                due_time,
                period_ms: period,
                completion_routine,
                resume,
            }),
        };
        bool_of(&self.call(req).await)
    }

    /// CancelWaitableTimer: stops the timer; its signalled state does not change. TRUE on
    /// a timer that was never set.
    #[must_use]
    pub async fn cancel_waitable_timer(&self, h_timer: HANDLE) -> BOOL {
        bool_of(&self.call(Request::CancelWaitableTimer { timer: h_timer }).await)
    }

    // ----- the clock ------------------------------------------------------------------

    /// GetTickCount: virtual milliseconds since boot, wrapping at 2^32. A schedule point
    /// (and a trace line), so a program that polls the clock lets other threads run.
    pub async fn get_tick_count(&self) -> u32 {
        self.call_dword(Request::GetTickCount {}).await
    }

    /// GetTickCount64: virtual milliseconds since boot.
    pub async fn get_tick_count64(&self) -> u64 {
        self.call_u64(Request::GetTickCount64 {}).await.unwrap_or(0)
    }

    /// QueryPerformanceCounter: virtual time in units of QueryPerformanceFrequency.
    pub async fn query_performance_counter(&self, performance_count: &mut i64) -> BOOL {
        match self.call_u64(Request::QueryPerformanceCounter {}).await {
            Some(v) => {
                *performance_count = v as i64;
                TRUE
            }
            None => FALSE,
        }
    }

    /// QueryPerformanceFrequency: 10,000,000 counts per second (100-ns ticks).
    pub async fn query_performance_frequency(&self, frequency: &mut i64) -> BOOL {
        match self.call_u64(Request::QueryPerformanceFrequency {}).await {
            Some(v) => {
                *frequency = v as i64;
                TRUE
            }
            None => FALSE,
        }
    }

    /// GetSystemTimeAsFileTime: the virtual UTC time.
    pub async fn get_system_time_as_file_time(&self, system_time_as_file_time: &mut FILETIME) {
        if let Some(v) = self.call_u64(Request::GetSystemTimeAsFileTime {}).await {
            *system_time_as_file_time = FILETIME::from_u64(v);
        }
    }

    // ----- named pipes ----------------------------------------------------------------

    /// CreateNamedPipe: `name` is `\\.\pipe\NAME` (case-insensitive; anything else
    /// fails with ERROR_INVALID_NAME). `open_mode`: PIPE_ACCESS_INBOUND / OUTBOUND /
    /// DUPLEX, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_WRITE_THROUGH (FILE_FLAG_OVERLAPPED
    /// ends the run as Unsupported until overlapped I/O is modelled). `pipe_mode`:
    /// PIPE_TYPE_BYTE/MESSAGE, PIPE_READMODE_BYTE/MESSAGE, PIPE_WAIT/NOWAIT,
    /// PIPE_REJECT_REMOTE_CLIENTS. `out_buffer_size` limits data toward the client,
    /// `in_buffer_size` data toward the server. A new instance listens at once.
    /// INVALID_HANDLE_VALUE on failure (docs/semantics.md §6).
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub async fn create_named_pipe(
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
        let req = Request::CreateNamedPipe {
            args: Box::new(crate::kernel::request::boxed::CreateNamedPipe {
                name: Some(name.to_string()),
                open_mode,
                pipe_mode,
                max_instances,
                out_buffer_size,
                in_buffer_size,
                default_timeout_ms: default_time_out,
                inherit: security_attributes.is_some_and(|s| s.bInheritHandle),
            }),
        };
        self.call_handle(req).await
    }

    /// CreateFile: the client end of a named pipe (`\\.\pipe\NAME`), a mailslot writer
    /// (`\\.\mailslot\NAME`, §18.8), or a file of the run's in-memory volume (`C:\dir\name`,
    /// §28). For a pipe: ERROR_FILE_NOT_FOUND when no such pipe exists, ERROR_PIPE_BUSY
    /// when no instance is listening, ERROR_ACCESS_DENIED for access against the pipe's
    /// direction; the client starts in byte read mode (§5.4). For a file: the five
    /// dispositions (ERROR_FILE_EXISTS, ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND; last
    /// error ERROR_ALREADY_EXISTS when CREATE_ALWAYS or OPEN_ALWAYS found the file, else
    /// 0), share modes (ERROR_SHARING_VIOLATION), delete-pending files
    /// (ERROR_ACCESS_DENIED), FILE_FLAG_DELETE_ON_CLOSE (§§28.1-28.13).
    /// INVALID_HANDLE_VALUE on failure.
    #[allow(clippy::too_many_arguments)]
    #[must_use]
    pub async fn create_file(
        &self,
        file_name: &str,
        desired_access: u32,
        share_mode: u32,
        security_attributes: Option<&SECURITY_ATTRIBUTES>,
        creation_disposition: u32,
        flags_and_attributes: u32,
        template_file: HANDLE,
    ) -> HANDLE {
        let req = Request::CreateFile {
            args: Box::new(crate::kernel::request::boxed::CreateFile {
                name: Some(file_name.to_string()),
                access: desired_access,
                share_mode,
                inherit: security_attributes.is_some_and(|s| s.bInheritHandle),
                disposition: creation_disposition,
                flags: flags_and_attributes,
                template: template_file,
            }),
        };
        self.call_handle(req).await
    }

    /// WaitNamedPipe: TRUE once an instance listens; FALSE with ERROR_SEM_TIMEOUT after
    /// `time_out` ms of virtual time (NMPWAIT_USE_DEFAULT_WAIT: the pipe's default,
    /// NMPWAIT_WAIT_FOREVER); ERROR_FILE_NOT_FOUND for no such pipe (§6.14).
    pub async fn wait_named_pipe(&self, name: &str, time_out: u32) -> BOOL {
        bool_of(&self.call(Request::WaitNamedPipe { name: Some(name.to_string()), timeout_ms: time_out }).await)
    }

    /// ConnectNamedPipe: waits for a client (TRUE); FALSE with ERROR_PIPE_CONNECTED when
    /// one connected first (a good connection, §6.6), ERROR_NO_DATA when it connected and
    /// closed, ERROR_PIPE_LISTENING for PIPE_NOWAIT (§6.10), ERROR_INVALID_FUNCTION on a
    /// client handle (§6.7). An `overlapped` ends the run as Unsupported for now.
    pub async fn connect_named_pipe(&self, h_named_pipe: HANDLE, overlapped: Option<&Overlapped>) -> BOOL {
        if let Some(o) = overlapped {
            o.mark_started();
        }
        let req = Request::ConnectNamedPipe { pipe: h_named_pipe, overlapped: overlapped.cloned() };
        bool_of(&self.call(req).await)
    }

    /// DisconnectNamedPipe: discards unread data; the client's calls then fail with
    /// ERROR_PIPE_NOT_CONNECTED (§6.12); the instance listens again only after
    /// ConnectNamedPipe (§6.8).
    pub async fn disconnect_named_pipe(&self, h_named_pipe: HANDLE) -> BOOL {
        bool_of(&self.call(Request::DisconnectNamedPipe { pipe: h_named_pipe }).await)
    }

    /// SetNamedPipeHandleState: `mode` PIPE_READMODE_BYTE/MESSAGE | PIPE_WAIT/NOWAIT
    /// (message read mode on a byte-type pipe: ERROR_INVALID_PARAMETER, §5.7); the
    /// collection settings are for remote pipes and fail with ERROR_INVALID_PARAMETER.
    pub async fn set_named_pipe_handle_state(
        &self,
        h_named_pipe: HANDLE,
        mode: Option<u32>,
        max_collection_count: Option<u32>,
        collect_data_timeout: Option<u32>,
    ) -> BOOL {
        let req =
            Request::SetNamedPipeHandleState { pipe: h_named_pipe, mode, max_collection_count, collect_data_timeout };
        bool_of(&self.call(req).await)
    }

    /// GetNamedPipeHandleState: the handle's PIPE_NOWAIT / PIPE_READMODE_MESSAGE bits and
    /// the instance count; asking for the collection settings or the user name of a local
    /// pipe fails with ERROR_INVALID_PARAMETER (§6.17).
    #[must_use]
    pub async fn get_named_pipe_handle_state(
        &self,
        h_named_pipe: HANDLE,
        state: Option<&mut u32>,
        cur_instances: Option<&mut u32>,
        max_collection_count: Option<&mut u32>,
        collect_data_timeout: Option<&mut u32>,
        user_name: Option<&mut String>,
    ) -> BOOL {
        let req = Request::GetNamedPipeHandleState {
            pipe: h_named_pipe,
            collection: max_collection_count.is_some() || collect_data_timeout.is_some(),
            user_name: user_name.is_some(),
        };
        let r = self.call(req).await;
        let ok = bool_of(&r);
        match done(r) {
            Some(Value::PipeState { state: s, instances }) => {
                if let Some(x) = state {
                    *x = s;
                }
                if let Some(x) = cur_instances {
                    *x = instances;
                }
            }
            Some(v) => self.mismatch(Api::GetNamedPipeHandleState, &v),
            None => {}
        }
        ok
    }

    /// GetNamedPipeClientProcessId: the connected client's process id (kept after the
    /// client closes; ERROR_NOT_FOUND once disconnected, §6.19).
    #[must_use]
    pub async fn get_named_pipe_client_process_id(&self, pipe: HANDLE, client_process_id: &mut u32) -> BOOL {
        self.call_out(Request::GetNamedPipeClientProcessId { pipe }, client_process_id).await
    }

    /// GetNamedPipeServerProcessId: the process that created the instance.
    #[must_use]
    pub async fn get_named_pipe_server_process_id(&self, pipe: HANDLE, server_process_id: &mut u32) -> BOOL {
        self.call_out(Request::GetNamedPipeServerProcessId { pipe }, server_process_id).await
    }

    /// TransactNamedPipe: writes `in_buffer` as one message and reads one message back
    /// into `out_buffer` (FALSE with ERROR_MORE_DATA when it does not fit). Needs a
    /// message-type pipe in message read mode (ERROR_BAD_PIPE) with nothing unread for
    /// the caller (ERROR_PIPE_BUSY) (§5.8). An `overlapped` ends the run as Unsupported.
    #[must_use]
    pub async fn transact_named_pipe(
        &self,
        h_named_pipe: HANDLE,
        in_buffer: &[u8],
        out_buffer: &mut [u8],
        bytes_read: Option<&mut u32>,
        overlapped: Option<&Overlapped>,
    ) -> BOOL {
        let mut bytes_read = bytes_read;
        if let Some(n) = bytes_read.as_deref_mut() {
            *n = 0;
        }
        if let Some(o) = overlapped {
            o.mark_started();
        }
        let req = Request::TransactNamedPipe {
            pipe: h_named_pipe,
            args: Box::new(crate::kernel::request::boxed::TransactNamedPipe {
                data: in_buffer.to_vec(),
                len: u32::try_from(out_buffer.len()).unwrap_or(u32::MAX),
                overlapped: overlapped.cloned(),
                buffer: None,
            }),
        };
        let r = self.call(req).await;
        let mut k = self.kernel.borrow_mut();
        match fill_read(&mut k, r, out_buffer, bytes_read) {
            Ok(ok) => ok,
            Err(v) => {
                drop(k);
                self.mismatch(Api::TransactNamedPipe, &v);
                FALSE
            }
        }
    }

    /// CallNamedPipe: connects to a message-type pipe (waiting up to `time_out` for an
    /// instance when all are busy), sets message read mode, transacts one message and
    /// closes, as kernel32 composes it; each step is its own call in the trace.
    pub async fn call_named_pipe(
        &self,
        name: &str,
        in_buffer: &[u8],
        out_buffer: &mut [u8],
        bytes_read: &mut u32,
        time_out: u32,
    ) -> BOOL {
        *bytes_read = 0;
        let pipe = loop {
            let h = self.create_file(name, GENERIC_READ | GENERIC_WRITE, 0, None, OPEN_EXISTING, 0, HANDLE::NULL).await;
            if h != INVALID_HANDLE_VALUE {
                break h;
            }
            if self.get_last_error() != crate::error::ERROR_PIPE_BUSY
                || self.wait_named_pipe(name, time_out).await == FALSE
            {
                return FALSE;
            }
        };
        let ok = if self.set_named_pipe_handle_state(pipe, Some(PIPE_READMODE_MESSAGE), None, None).await == FALSE {
            FALSE
        } else {
            self.transact_named_pipe(pipe, in_buffer, out_buffer, Some(bytes_read), None).await
        };
        let error = self.get_last_error();
        let _ = self.close_handle(pipe).await;
        self.set_last_error(error);
        ok
    }

    // ----- asynchronous I/O -------------------------------------------------------------

    /// ReadFile with an OVERLAPPED, on a handle opened with FILE_FLAG_OVERLAPPED: returns
    /// TRUE when it completes at once (or FALSE with ERROR_MORE_DATA for part of a
    /// message), else FALSE with ERROR_IO_PENDING and the read goes on; the data reaches
    /// `buffer` (`buffer.len()` bytes requested) when it completes, and the OVERLAPPED,
    /// its event (or the file handle) and the handle's completion port hear of it
    /// (docs/semantics.md §16). `*bytes_read` is set only for a completion at once.
    #[must_use]
    pub async fn read_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &IoBuffer,
        bytes_read: Option<&mut u32>,
        overlapped: &Overlapped,
    ) -> BOOL {
        let mut bytes_read = bytes_read;
        if let Some(n) = bytes_read.as_deref_mut() {
            *n = 0;
        }
        let len = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
        overlapped.mark_started();
        let req = Request::ReadFile {
            handle: h_file,
            len,
            overlapped: Some(overlapped.clone()),
            buffer: Some(buffer.clone()),
        };
        let r = self.call(req).await;
        let ok = bool_of(&r);
        if let (TRUE, Value::Read(d), Some(n)) = (ok, &r.value, bytes_read) {
            // The direct count is set for a success at once; a partial message leaves it 0
            // (§5.6).
            *n = d.len() as u32;
        }
        ok
    }

    /// WriteFile with an OVERLAPPED: TRUE when the bytes fit at once, else FALSE with
    /// ERROR_IO_PENDING until the reader makes room (the bytes are queued and readable at
    /// once, as for a synchronous write, §2.3).
    #[must_use]
    pub async fn write_file_overlapped(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        bytes_written: Option<&mut u32>,
        overlapped: &Overlapped,
    ) -> BOOL {
        let mut bytes_written = bytes_written;
        if let Some(n) = bytes_written.as_deref_mut() {
            *n = 0;
        }
        overlapped.mark_started();
        let req = Request::WriteFile { handle: h_file, data: buffer.to_vec(), overlapped: Some(overlapped.clone()) };
        let r = self.call(req).await;
        let ok = bool_of(&r);
        if let (TRUE, Value::Written(w), Some(n)) = (ok, &r.value, bytes_written) {
            *n = *w;
        }
        ok
    }

    /// TransactNamedPipe with an OVERLAPPED: the reply message reaches `out_buffer` when
    /// the operation completes.
    #[must_use]
    pub async fn transact_named_pipe_overlapped(
        &self,
        h_named_pipe: HANDLE,
        in_buffer: &[u8],
        out_buffer: &IoBuffer,
        overlapped: &Overlapped,
    ) -> BOOL {
        overlapped.mark_started();
        let req = Request::TransactNamedPipe {
            pipe: h_named_pipe,
            args: Box::new(crate::kernel::request::boxed::TransactNamedPipe {
                data: in_buffer.to_vec(),
                len: u32::try_from(out_buffer.len()).unwrap_or(u32::MAX),
                overlapped: Some(overlapped.clone()),
                buffer: Some(out_buffer.clone()),
            }),
        };
        bool_of(&self.call(req).await)
    }

    /// GetOverlappedResult: the operation's result and bytes (bytes are reported for a
    /// failed operation too); while it is pending, FALSE with ERROR_IO_INCOMPLETE, or with
    /// `wait`, a wait on the OVERLAPPED's event (the file handle when it has none).
    #[must_use]
    pub async fn get_overlapped_result(
        &self,
        h_file: HANDLE,
        overlapped: &Overlapped,
        number_of_bytes_transferred: &mut u32,
        wait: bool,
    ) -> BOOL {
        let timeout_ms = if wait { INFINITE } else { 0 };
        self.overlapped_result(h_file, overlapped, number_of_bytes_transferred, timeout_ms, false).await
    }

    /// GetOverlappedResultEx: as GetOverlappedResult with a time-out in milliseconds
    /// (FALSE with WAIT_TIMEOUT when it expires); alertable, FALSE with
    /// WAIT_IO_COMPLETION after running queued APCs (§16.13).
    #[must_use]
    pub async fn get_overlapped_result_ex(
        &self,
        h_file: HANDLE,
        overlapped: &Overlapped,
        number_of_bytes_transferred: &mut u32,
        milliseconds: u32,
        alertable: bool,
    ) -> BOOL {
        self.overlapped_result(h_file, overlapped, number_of_bytes_transferred, milliseconds, alertable).await
    }

    async fn overlapped_result(
        &self,
        h_file: HANDLE,
        overlapped: &Overlapped,
        bytes: &mut u32,
        timeout_ms: u32,
        alertable: bool,
    ) -> BOOL {
        let req =
            Request::GetOverlappedResult { handle: h_file, overlapped: overlapped.clone(), timeout_ms, alertable };
        let r = self.call(req).await;
        if let Value::Out(n) = r.value {
            *bytes = n;
        }
        if alertable && self.get_last_error() == WAIT_IO_COMPLETION && !r.status.succeeded() {
            self.run_apcs().await;
        }
        bool_of(&r)
    }

    /// CancelIo: cancels the calling thread's pending I/O on the handle; each cancelled
    /// operation completes with ERROR_OPERATION_ABORTED.
    pub async fn cancel_io(&self, h_file: HANDLE) -> BOOL {
        bool_of(&self.call(Request::CancelIo { handle: h_file }).await)
    }

    /// CancelIoEx: cancels the pending I/O on the handle (all of it, or the operation
    /// using `overlapped`); ERROR_NOT_FOUND when there was none.
    pub async fn cancel_io_ex(&self, h_file: HANDLE, overlapped: Option<&Overlapped>) -> BOOL {
        bool_of(&self.call(Request::CancelIoEx { handle: h_file, overlapped: overlapped.cloned() }).await)
    }

    /// CancelSynchronousIo: cancels the synchronous I/O a thread is blocked in
    /// (ERROR_OPERATION_ABORTED for it); ERROR_NOT_FOUND when it is in none.
    pub async fn cancel_synchronous_io(&self, h_thread: HANDLE) -> BOOL {
        bool_of(&self.call(Request::CancelSynchronousIo { thread: h_thread }).await)
    }

    // ----- completion ports -------------------------------------------------------------

    /// CreateIoCompletionPort: `file_handle` INVALID_HANDLE_VALUE with no port makes a new
    /// port; a file handle (opened with FILE_FLAG_OVERLAPPED, not yet associated) is
    /// associated with `existing_completion_port` (or a new port) under `completion_key`.
    /// NULL on failure. The concurrency value does not hold waiters back (docs/semantics.md
    /// §16).
    #[must_use]
    pub async fn create_io_completion_port(
        &self,
        file_handle: HANDLE,
        existing_completion_port: HANDLE,
        completion_key: usize,
        number_of_concurrent_threads: u32,
    ) -> HANDLE {
        let req = Request::CreateIoCompletionPort {
            file: file_handle,
            existing_port: existing_completion_port,
            key: completion_key,
            concurrency: number_of_concurrent_threads,
        };
        self.call_handle(req).await
    }

    /// GetQueuedCompletionStatus: the oldest packet; the thread that began waiting last is
    /// served first. FALSE with WAIT_TIMEOUT and `*overlapped = None` on a time-out; FALSE
    /// with the operation's error (and its OVERLAPPED) for a failed operation;
    /// ERROR_ABANDONED_WAIT_0 when the port's last handle closes.
    #[must_use]
    pub async fn get_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: &mut u32,
        completion_key: &mut usize,
        overlapped: &mut Option<Overlapped>,
        milliseconds: u32,
    ) -> BOOL {
        let req = Request::GetQueuedCompletionStatus {
            port: completion_port,
            max: 1,
            timeout_ms: milliseconds,
            alertable: false,
        };
        let r = self.call(req).await;
        *overlapped = None;
        if let Value::Packets(p) = &r.value
            && let [one] = p.as_slice()
        {
            *number_of_bytes_transferred = one.bytes;
            *completion_key = one.key;
            *overlapped = one.overlapped.clone();
        }
        bool_of(&r)
    }

    /// GetQueuedCompletionStatusEx: up to `entries.len()` packets at once.
    #[must_use]
    pub async fn get_queued_completion_status_ex(
        &self,
        completion_port: HANDLE,
        entries: &mut [OVERLAPPED_ENTRY],
        num_entries_removed: &mut u32,
        milliseconds: u32,
        alertable: bool,
    ) -> BOOL {
        let max = u32::try_from(entries.len()).unwrap_or(u32::MAX);
        let req =
            Request::GetQueuedCompletionStatusEx { port: completion_port, max, timeout_ms: milliseconds, alertable };
        let r = self.call(req).await;
        *num_entries_removed = 0;
        if let Value::Packets(p) = &r.value {
            for (slot, packet) in entries.iter_mut().zip(p) {
                *slot = OVERLAPPED_ENTRY {
                    lpCompletionKey: packet.key,
                    lpOverlapped: packet.overlapped.clone(),
                    Internal: packet.error.map_or(0, crate::kernel::io::error_ntstatus),
                    dwNumberOfBytesTransferred: packet.bytes,
                };
            }
            *num_entries_removed = p.len() as u32;
            // GetQueuedCompletionStatusEx succeeds when it took packets, failed operations
            // among them included (their status is in the entries).
            return TRUE;
        }
        if alertable && self.get_last_error() == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        bool_of(&r)
    }

    /// PostQueuedCompletionStatus: queues a packet of the caller's making.
    pub async fn post_queued_completion_status(
        &self,
        completion_port: HANDLE,
        number_of_bytes_transferred: u32,
        completion_key: usize,
        overlapped: Option<&Overlapped>,
    ) -> BOOL {
        let req = Request::PostQueuedCompletionStatus {
            port: completion_port,
            bytes: number_of_bytes_transferred,
            key: completion_key,
            overlapped: overlapped.cloned(),
        };
        bool_of(&self.call(req).await)
    }

    /// SetFileCompletionNotificationModes: FILE_SKIP_COMPLETION_PORT_ON_SUCCESS,
    /// FILE_SKIP_SET_EVENT_ON_HANDLE.
    pub async fn set_file_completion_notification_modes(&self, file_handle: HANDLE, flags: u32) -> BOOL {
        bool_of(&self.call(Request::SetFileCompletionNotificationModes { handle: file_handle, flags }).await)
    }

    // ----- APCs and alertable waits -----------------------------------------------------

    /// Runs the thread's queued user APCs, oldest first, until none is left (the kernel
    /// delivers them when an alertable wait returns WAIT_IO_COMPLETION, §16.36).
    pub(crate) async fn run_apcs(&self) {
        loop {
            let apc = self.kernel.borrow_mut().take_apc(self.tid);
            match apc {
                Some(routine) => routine(self.clone()).await,
                None => break,
            }
        }
    }

    /// SleepEx: 0 when the time elapsed; alertable, WAIT_IO_COMPLETION (192) after running
    /// the APCs queued to the thread (at once if some are queued, §16.37).
    pub async fn sleep_ex(&self, milliseconds: u32, alertable: bool) -> u32 {
        let code = self.call_dword(Request::SleepEx { ms: milliseconds, alertable }).await;
        if code == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        code
    }

    /// WaitForSingleObjectEx: WaitForSingleObject that, when alertable, returns
    /// WAIT_IO_COMPLETION after running queued APCs; an object already signalled wins
    /// over queued APCs (§16.38).
    pub async fn wait_for_single_object_ex(&self, h_handle: HANDLE, milliseconds: u32, alertable: bool) -> u32 {
        let code = self
            .call_dword(Request::WaitForSingleObjectEx { handle: h_handle, timeout_ms: milliseconds, alertable })
            .await;
        if code == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        code
    }

    /// WaitForMultipleObjectsEx: WaitForMultipleObjects, alertably when asked.
    pub async fn wait_for_multiple_objects_ex(
        &self,
        handles: &[HANDLE],
        wait_all: bool,
        milliseconds: u32,
        alertable: bool,
    ) -> u32 {
        let req = Request::WaitForMultipleObjectsEx {
            handles: handles.to_vec(),
            wait_all,
            timeout_ms: milliseconds,
            alertable,
        };
        let code = self.call_dword(req).await;
        if code == WAIT_IO_COMPLETION {
            self.run_apcs().await;
        }
        code
    }

    /// QueueUserAPC: queues `pfn_apc(ctx, data)` to the thread; it runs on that thread
    /// when it next waits alertably, never in a non-alertable wait (§16.35). Nonzero on
    /// success; a thread that has ended: 0 with ERROR_GEN_FAILURE (§16.34).
    pub async fn queue_user_apc<F, Fut>(&self, pfn_apc: F, h_thread: HANDLE, data: usize) -> u32
    where
        F: FnOnce(ThreadCtx, usize) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let routine: crate::kernel::request::ApcRoutine = Box::new(move |ctx| Box::pin(pfn_apc(ctx, data)));
        let r = self.call(Request::QueueUserAPC { routine, thread: h_thread, data }).await;
        match (r.status.succeeded(), r.value) {
            (true, Value::U32(v)) => v,
            _ => 0,
        }
    }

    /// ReadFileEx: an asynchronous read (the handle must be overlapped) whose completion
    /// routine runs as an APC on this thread, in an alertable wait after the read
    /// completes (never inside this call, §16.39), with the error code (0 on success), the
    /// bytes read (in `buffer`) and the OVERLAPPED. TRUE when the read was started.
    #[must_use]
    pub async fn read_file_ex<F, Fut>(
        &self,
        h_file: HANDLE,
        buffer: &IoBuffer,
        overlapped: &Overlapped,
        completion_routine: F,
    ) -> BOOL
    where
        F: FnOnce(ThreadCtx, u32, u32, Overlapped) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let routine: crate::kernel::io::IoCompletionRoutine =
            Box::new(move |ctx, code, bytes, ov| Box::pin(completion_routine(ctx, code, bytes, ov)));
        overlapped.mark_started();
        let req = Request::ReadFileEx {
            args: Box::new(crate::kernel::request::boxed::ReadFileEx {
                handle: h_file,
                len: u32::try_from(buffer.len()).unwrap_or(u32::MAX),
                overlapped: overlapped.clone(),
                buffer: buffer.clone(),
                routine,
            }),
        };
        bool_of(&self.call(req).await)
    }

    /// WriteFileEx: WriteFile's asynchronous form with a completion routine (§16.39).
    #[must_use]
    pub async fn write_file_ex<F, Fut>(
        &self,
        h_file: HANDLE,
        buffer: &[u8],
        overlapped: &Overlapped,
        completion_routine: F,
    ) -> BOOL
    where
        F: FnOnce(ThreadCtx, u32, u32, Overlapped) -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let routine: crate::kernel::io::IoCompletionRoutine =
            Box::new(move |ctx, code, bytes, ov| Box::pin(completion_routine(ctx, code, bytes, ov)));
        overlapped.mark_started();
        let req = Request::WriteFileEx {
            args: Box::new(crate::kernel::request::boxed::WriteFileEx {
                handle: h_file,
                data: buffer.to_vec(),
                overlapped: overlapped.clone(),
                routine,
            }),
        };
        bool_of(&self.call(req).await)
    }
}
