//! The interpreter of scenario files: each `program` becomes a simulated program whose
//! threads walk their statements and make the Win32 calls on their `ThreadCtx`.
//!
//! Variables are per process (every thread of a process sees the handles its other
//! threads created, as handles are process-wide on Windows). A statement that cannot be
//! carried out (a variable never set, an `expect=` not met, an `assert` that fails)
//! panics with the file, line and column of the statement; the kernel turns that panic
//! into a `Failed` outcome with the message, as it does for any thread body.

use crate::file::{Arg, Call, Cond, Handler, Param, Pos, Ret, ScenarioFile, Stmt, StmtKind, constant};
use sim_core::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

mod mq;

/// A variable's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Val {
    Handle(HANDLE),
    Num(i64),
}

/// What the threads of one process share.
/// A read in progress on an OVERLAPPED variable: its buffer, and the `into=` buffer its
/// data goes to.
type PendingRead = (IoBuffer, Option<String>);

#[derive(Default)]
struct ProcState {
    vars: BTreeMap<String, Val>,
    buffers: BTreeMap<String, Vec<u8>>,
    /// OVERLAPPED variables (`overlapped=NAME` on ReadFile/WriteFile): the structure, and
    /// for a read still in progress its buffer and the `into=` buffer its data goes to
    /// when GetOverlappedResult reports it.
    overlapped: BTreeMap<String, (Overlapped, Option<PendingRead>)>,
    /// The OVERLAPPED and message record of each `MQReceiveMessage overlapped=NAME`, for
    /// MQGetOverlappedResult.
    mq_overlapped: BTreeMap<String, (Overlapped, MqMessageBuf)>,
}

/// One thread's interpreter state.
struct Cx {
    ctx: ThreadCtx,
    file: Arc<ScenarioFile>,
    prog: usize,
    st: Rc<RefCell<ProcState>>,
    /// The innermost-last stack of the enclosing loops' until-error sets.
    until: RefCell<Vec<Vec<u32>>>,
    /// The previous call: return value, success, last error after it.
    last: Cell<(i64, bool, u32)>,
    /// The message GetMessage or PeekMessage retrieved last (for DispatchMessage).
    msg: Cell<MSG>,
}

/// How a block ended.
enum Flow {
    Next,
    /// `break`, or a call failing with an until-error of the loop at this depth.
    Break(usize),
    Exit(i64),
}

/// Registers a scenario file's programs with a simulation.
pub fn install(file: &Arc<ScenarioFile>, sim: &mut Sim) {
    for (i, p) in file.programs.iter().enumerate() {
        let f = file.clone();
        sim.program(&p.name, move |ctx| run_body(ctx, f.clone(), i, None, Rc::new(RefCell::new(ProcState::default()))));
    }
    // Hosts and the network between them (docs/semantics.md §27).
    for (name, addr) in &file.hosts {
        sim.host(name, *addr);
    }
    for link in &file.links {
        sim.link(link.clone());
    }
    for (a, b, from, to) in &file.partitions {
        sim.partition(a, b, *from, *to);
    }
    for (host, command) in &file.starts {
        sim.start_on(host, command);
    }
    // Services: session 0, SeCreateGlobalPrivilege (docs/semantics.md §30.1).
    for command in &file.services {
        sim.start_service(command);
    }
}

/// A COM call's HRESULT as the number a scenario sees (its 32 bits, unsigned).
fn hres(hr: HRESULT) -> i64 {
    i64::from(hr.0 as u32)
}

/// Runs a scenario file once.
pub fn run(file: &Arc<ScenarioFile>, config: Config) -> RunReport {
    let mut sim = Sim::new(config);
    install(file, &mut sim);
    sim.run_command_line(&file.main)
}

async fn run_body(
    ctx: ThreadCtx,
    file: Arc<ScenarioFile>,
    prog: usize,
    thread: Option<String>,
    st: Rc<RefCell<ProcState>>,
) -> u32 {
    let f = file.clone();
    let body: &[Stmt] = match &thread {
        None => &f.programs[prog].main,
        Some(t) => &f.programs[prog].threads[t],
    };
    let cx = Cx::new(ctx, file, prog, st);
    match exec(&cx, body).await {
        Flow::Exit(code) => code as u32,
        _ => 0,
    }
}

/// A window class's procedure: runs the `on MSG` handler of the message (its `return N`
/// is the LRESULT) with `hwnd`, `message`, `wparam` and `lparam` set, or DefWindowProc.
fn class_proc(file: Arc<ScenarioFile>, prog: usize, class: String, st: Rc<RefCell<ProcState>>) -> WNDPROC {
    wndproc(move |ctx: ThreadCtx, hwnd: HWND, msg: u32, w: WPARAM, l: LPARAM| {
        let (file, st, class) = (file.clone(), st.clone(), class.clone());
        async move {
            let f = file.clone();
            let cx = Cx::new(ctx.clone(), file, prog, st);
            let pos = Pos { line: 0, column: 0 };
            let handlers: &[Handler] = f.programs[prog].classes.get(&class).map_or(&[], Vec::as_slice);
            let Some(h) = handlers.iter().find(|h| cx.num(pos, &h.msg) == i64::from(msg)) else {
                return ctx.def_window_proc(hwnd, msg, w, l).await;
            };
            {
                let mut st = cx.st.borrow_mut();
                st.vars.insert("hwnd".into(), Val::Handle(HANDLE(hwnd.0)));
                st.vars.insert("message".into(), Val::Num(i64::from(msg)));
                st.vars.insert("wparam".into(), Val::Num(w as i64));
                st.vars.insert("lparam".into(), Val::Num(l as i64));
            }
            match exec(&cx, &h.body).await {
                Flow::Exit(r) => r as LRESULT,
                _ => 0,
            }
        }
    })
}

fn exec<'a>(cx: &'a Cx, stmts: &'a [Stmt]) -> Pin<Box<dyn Future<Output = Flow> + 'a>> {
    Box::pin(async move {
        for s in stmts {
            match &s.kind {
                StmtKind::Call(c) => {
                    let (ret, ok, err) = cx.call(s.pos, c).await;
                    if !ok {
                        // A call returning an HRESULT leaves the last error alone: its
                        // loop ends on the HRESULT (`until-error=MQ_ERROR_IO_TIMEOUT`).
                        let code = if c.api.ret == Ret::Hresult { ret as u32 } else { err };
                        let until = cx.until.borrow();
                        if let Some(depth) = until.iter().rposition(|set| set.contains(&code)) {
                            return Flow::Break(depth);
                        }
                    }
                }
                StmtKind::Repeat { count, until, body } => {
                    let n = cx.num(s.pos, count);
                    let depth = cx.enter(s.pos, until);
                    let mut flow = Flow::Next;
                    for _ in 0..n.max(0) {
                        match exec(cx, body).await {
                            Flow::Next => {}
                            Flow::Break(d) if d == depth => break,
                            other => {
                                flow = other;
                                break;
                            }
                        }
                    }
                    cx.until.borrow_mut().pop();
                    if !matches!(flow, Flow::Next) {
                        return flow;
                    }
                }
                StmtKind::Loop { until, body } => {
                    let depth = cx.enter(s.pos, until);
                    let flow = loop {
                        match exec(cx, body).await {
                            Flow::Next => {}
                            Flow::Break(d) if d == depth => break Flow::Next,
                            other => break other,
                        }
                    };
                    cx.until.borrow_mut().pop();
                    if !matches!(flow, Flow::Next) {
                        return flow;
                    }
                }
                StmtKind::If { cond, then, otherwise } => {
                    let (ret, ok, err) = cx.last.get();
                    let yes = match cond {
                        Cond::Ok(b) => ok == *b,
                        Cond::Error(e) => i64::from(err) == cx.num(s.pos, e),
                        Cond::Ret(r) => ret == cx.num(s.pos, r),
                        Cond::Var(v, n) => cx.var_num(s.pos, v) == cx.num(s.pos, n),
                    };
                    match exec(cx, if yes { then } else { otherwise }).await {
                        Flow::Next => {}
                        other => return other,
                    }
                }
                StmtKind::Break => {
                    let depth = cx.until.borrow().len();
                    if depth == 0 {
                        cx.fail(s.pos, "`break` outside a loop".to_string());
                    }
                    return Flow::Break(depth - 1);
                }
                StmtKind::Exit(code) => return Flow::Exit(cx.num(s.pos, code)),
                StmtKind::AssertData { buffer, equals, size } => {
                    let got = cx.st.borrow().buffers.get(buffer).cloned().unwrap_or_default();
                    if let Some(e) = equals {
                        let want = cx.string(s.pos, e);
                        if got != want.as_bytes() {
                            cx.fail(
                                s.pos,
                                format!(
                                    "assert-data {buffer}: got {:?}, expected {want:?}",
                                    String::from_utf8_lossy(&got)
                                ),
                            );
                        }
                    }
                    if let Some(n) = size {
                        let want = cx.num(s.pos, n);
                        if got.len() as i64 != want {
                            cx.fail(s.pos, format!("assert-data {buffer}: {} bytes, expected {want}", got.len()));
                        }
                    }
                }
                StmtKind::Assert { var, equals } => {
                    let (got, want) = (cx.var_num(s.pos, var), cx.num(s.pos, equals));
                    if got != want {
                        cx.fail(s.pos, format!("assert {var}: it is {got}, expected {want}"));
                    }
                }
                StmtKind::Set { var, value } => {
                    let v = cx.num(s.pos, value);
                    cx.st.borrow_mut().vars.insert(var.clone(), Val::Num(v));
                }
                StmtKind::Add { var, value } => {
                    let v = cx.var_num(s.pos, var).wrapping_add(cx.num(s.pos, value));
                    cx.st.borrow_mut().vars.insert(var.clone(), Val::Num(v));
                }
            }
        }
        Flow::Next
    })
}

impl Cx {
    fn new(ctx: ThreadCtx, file: Arc<ScenarioFile>, prog: usize, st: Rc<RefCell<ProcState>>) -> Cx {
        Cx {
            ctx,
            file,
            prog,
            st,
            until: RefCell::new(Vec::new()),
            last: Cell::new((0, true, 0)),
            msg: Cell::new(MSG::default()),
        }
    }

    /// Ends the thread's body with a failure at the scenario's own place. It unwinds
    /// without the panic hook, so the outcome carries the file's line and column and no
    /// location in the interpreter's Rust source.
    fn fail(&self, pos: Pos, message: String) -> ! {
        std::panic::resume_unwind(Box::new(format!("{}:{}:{}: {message}", self.file.path, pos.line, pos.column)))
    }

    /// Pushes a loop's until-error set; returns its depth.
    fn enter(&self, pos: Pos, until: &[Arg]) -> usize {
        let set = until.iter().map(|a| self.num(pos, a) as u32).collect();
        let mut stack = self.until.borrow_mut();
        stack.push(set);
        stack.len() - 1
    }

    fn param(&self, pos: Pos, name: &str) -> &Param {
        match self.file.params.get(name) {
            Some(p) => p,
            None => self.fail(pos, format!("no parameter {name}")),
        }
    }

    fn var_num(&self, pos: Pos, name: &str) -> i64 {
        match self.st.borrow().vars.get(name) {
            Some(Val::Num(n)) => *n,
            Some(Val::Handle(h)) => h.0 as i64,
            None => self.fail(pos, format!("variable {name} has not been set")),
        }
    }

    fn num(&self, pos: Pos, a: &Arg) -> i64 {
        match a {
            Arg::Int(n) => *n,
            Arg::Bool(b) => i64::from(*b),
            Arg::List(_) => self.fail(pos, "a list where a number was expected".to_string()),
            Arg::Str(s) => {
                if let Some(p) = s.strip_prefix('$') {
                    return match self.param(pos, p) {
                        Param::Int(n) => *n,
                        Param::Str(v) => self.fail(pos, format!("parameter {p} is {v:?}, not a number")),
                    };
                }
                if s.contains('|') {
                    return s
                        .split('|')
                        .map(|part| self.num(pos, &Arg::Str(part.trim().to_string())))
                        .fold(0, |a, b| a | b);
                }
                if let Some(c) = constant(s) {
                    return c;
                }
                if let Some(n) = s.strip_prefix("0x").and_then(|h| i64::from_str_radix(h, 16).ok()) {
                    return n;
                }
                self.var_num(pos, s)
            }
        }
    }

    fn string(&self, pos: Pos, a: &Arg) -> String {
        match a {
            Arg::Str(s) => match s.strip_prefix('$') {
                Some(p) => match self.param(pos, p) {
                    Param::Int(n) => n.to_string(),
                    Param::Str(v) => v.clone(),
                },
                None => s.clone(),
            },
            Arg::Int(n) => n.to_string(),
            other => self.fail(pos, format!("{other:?} where a string was expected")),
        }
    }

    fn handle(&self, pos: Pos, a: &Arg) -> HANDLE {
        let Arg::Str(name) = a else { self.fail(pos, format!("{a:?} where a handle variable was expected")) };
        match name.as_str() {
            "NULL" => HANDLE::NULL,
            "INVALID_HANDLE_VALUE" => INVALID_HANDLE_VALUE,
            "HWND_MESSAGE" => HANDLE(HWND_MESSAGE.0),
            "HWND_BROADCAST" => HANDLE(HWND_BROADCAST.0),
            "MQ_SINGLE_MESSAGE" => MQ_SINGLE_MESSAGE,
            "MQ_MTS_TRANSACTION" => MQ_MTS_TRANSACTION,
            _ => match self.st.borrow().vars.get(name) {
                Some(Val::Handle(h)) => *h,
                Some(Val::Num(n)) => HANDLE(*n as isize),
                None => self.fail(pos, format!("handle variable {name} has not been set")),
            },
        }
    }

    fn bind(&self, c: &Call, param: &str, v: Val) {
        if let Some(Some(Arg::Str(name))) = c.api.index(param).map(|i| &c.args[i]) {
            self.st.borrow_mut().vars.insert(name.clone(), v);
        }
    }

    /// GetMessage's and PeekMessage's outputs.
    fn bind_msg(&self, c: &Call, msg: &MSG) {
        self.bind(c, "window", Val::Handle(HANDLE(msg.hwnd.0)));
        self.bind(c, "message", Val::Num(i64::from(msg.message)));
        self.bind(c, "wparam", Val::Num(msg.wParam as i64));
        self.bind(c, "lparam", Val::Num(msg.lParam as i64));
    }

    /// The handle list of a wait.
    fn handles(&self, pos: Pos, c: &Call) -> Vec<HANDLE> {
        match self.arg(c, "handles") {
            Some(Arg::List(l)) => l.iter().map(|n| self.handle(pos, &Arg::Str(n.clone()))).collect(),
            _ => Vec::new(),
        }
    }

    fn arg<'c>(&self, c: &'c Call, param: &str) -> Option<&'c Arg> {
        c.api.index(param).and_then(|i| c.args[i].as_ref())
    }

    fn n(&self, pos: Pos, c: &Call, param: &str, default: i64) -> i64 {
        self.arg(c, param).map_or(default, |a| self.num(pos, a))
    }

    fn u(&self, pos: Pos, c: &Call, param: &str, default: u32) -> u32 {
        self.n(pos, c, param, i64::from(default)) as u32
    }

    fn h(&self, pos: Pos, c: &Call, param: &str) -> HANDLE {
        self.arg(c, param).map_or(HANDLE::NULL, |a| self.handle(pos, a))
    }

    fn s(&self, pos: Pos, c: &Call, param: &str) -> Option<String> {
        self.arg(c, param).map(|a| self.string(pos, a))
    }

    /// A COM interface pointer (or stream) argument: a number variable, NULL for None.
    fn ptr(&self, pos: Pos, c: &Call, param: &str) -> Option<ComPtr> {
        let v = self.n(pos, c, param, 0);
        (v != 0).then_some(ComPtr(v as u32))
    }

    /// The `this` pointer of a method call; NULL is a program error here, as calling a
    /// method through a NULL pointer crashes on Windows.
    fn this(&self, pos: Pos, c: &Call) -> ComPtr {
        match self.ptr(pos, c, "this") {
            Some(p) => p,
            None => self.fail(pos, format!("{} through a NULL interface pointer", c.api.name)),
        }
    }

    /// A CLSID or IID argument by its name (`$param` allowed), or `default`.
    fn guid(&self, pos: Pos, c: &Call, param: &str, default: GUID) -> GUID {
        match self.s(pos, c, param) {
            None => default,
            Some(name) => match crate::file::guid(&name) {
                Some(g) => g,
                None => self.fail(pos, format!("unknown CLSID or IID {name:?}")),
            },
        }
    }

    /// Binds `as=` to a pointer, stream or cookie a COM call returned (0 when it failed).
    fn bind_ptr(&self, c: &Call, v: Option<u32>) {
        self.bind(c, "as", Val::Num(i64::from(v.unwrap_or(0))));
    }

    /// A comma-separated list of numbers or constants (`"SERVERCALL_REJECTED,SERVERCALL_ISHANDLED"`).
    fn list(&self, pos: Pos, c: &Call, param: &str) -> Vec<i64> {
        match self.s(pos, c, param) {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(|t| {
                    let t = t.trim();
                    match t.parse::<i64>() {
                        Ok(v) => v,
                        Err(_) => self.num(pos, &Arg::Str(t.to_string())),
                    }
                })
                .collect(),
        }
    }

    /// The call's `hwnd=` window (NULL when not given).
    fn hwnd(&self, pos: Pos, c: &Call) -> HWND {
        HWND(self.h(pos, c, "hwnd").0)
    }

    /// A socket address from `addr=` (dotted IPv4, default `default`) and `port=`.
    fn sockaddr(&self, pos: Pos, c: &Call, default: u32) -> SOCKADDR_IN {
        let addr = match self.s(pos, c, "addr") {
            None => default,
            Some(text) => match crate::file::parse_ipv4(&text) {
                Some(octets) => u32::from_be_bytes(octets),
                None => self.fail(pos, format!("{text:?} is not a dotted IPv4 address")),
            },
        };
        let port = self.n(pos, c, "port", 0);
        let Ok(port) = u16::try_from(port) else { self.fail(pos, format!("port {port} is outside 0..=65535")) };
        SOCKADDR_IN::new(addr, port)
    }

    fn b(&self, c: &Call, param: &str) -> bool {
        match self.arg(c, param) {
            Some(Arg::Bool(b)) => *b,
            Some(a @ Arg::Str(_)) => self.num(Pos { line: 0, column: 0 }, a) != 0,
            _ => false,
        }
    }

    fn sa(&self, c: &Call) -> Option<&'static SECURITY_ATTRIBUTES> {
        self.b(c, "inherit").then_some(&SECURITY_ATTRIBUTES::INHERIT)
    }

    /// The name of the call's `overlapped=` variable.
    fn overlapped_name(&self, c: &Call) -> String {
        match self.arg(c, "overlapped") {
            Some(Arg::Str(name)) => name.clone(),
            _ => String::new(),
        }
    }

    /// A fresh OVERLAPPED for a ReadFile or WriteFile, with `event=` as its hEvent, kept
    /// under its `overlapped=` name for GetOverlappedResult and CancelIoEx (as C code
    /// zeroes its OVERLAPPED and sets hEvent before each operation).
    fn new_overlapped(&self, pos: Pos, c: &Call) -> Overlapped {
        let event = match self.arg(c, "event") {
            Some(_) => self.h(pos, c, "event"),
            None => HANDLE::NULL,
        };
        let ov = Overlapped::new(event);
        self.st.borrow_mut().overlapped.insert(self.overlapped_name(c), (ov.clone(), None));
        ov
    }

    /// ReadFile's (or recv's) `size=`, within the interpreter's 16 MiB buffer limit.
    fn read_size(&self, pos: Pos, c: &Call) -> usize {
        let (size, api) = (self.n(pos, c, "size", 0), c.api.name);
        let Ok(size) = usize::try_from(size) else { self.fail(pos, format!("{api} size {size}")) };
        if size > 1 << 24 {
            self.fail(pos, format!("{api} size {size} is over the interpreter's 16 MiB buffer limit"));
        }
        size
    }

    /// WriteFile's bytes: `data=` text, or `size=N` bytes `abc...z` repeated.
    fn write_data(&self, pos: Pos, c: &Call) -> Vec<u8> {
        match self.s(pos, c, "data") {
            Some(text) => text.into_bytes(),
            None => {
                let size = self.n(pos, c, "size", 0);
                if !(0..=1 << 24).contains(&size) {
                    self.fail(pos, format!("WriteFile size {size} is outside 0..=16 MiB"));
                }
                (0..size).map(|i| b'a' + (i % 26) as u8).collect()
            }
        }
    }

    /// Makes one call; checks its expectations; returns (return value, success, last error).
    async fn call(&self, pos: Pos, c: &Call) -> (i64, bool, u32) {
        let ctx = &self.ctx;
        let name = c.api.name;
        let ret: i64 = match name {
            "GetStdHandle" => {
                let h = ctx.get_std_handle(self.u(pos, c, "which", 0));
                self.bind(c, "as", Val::Handle(h));
                h.0 as i64
            }
            "GetCurrentThreadId" => {
                let id = ctx.get_current_thread_id();
                self.bind(c, "as", Val::Num(i64::from(id)));
                i64::from(id)
            }
            "GetCurrentProcessId" => {
                let id = ctx.get_current_process_id();
                self.bind(c, "as", Val::Num(i64::from(id)));
                i64::from(id)
            }
            "CreatePipe" => {
                let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
                let ok = ctx.create_pipe(&mut r, &mut w, self.sa(c), self.u(pos, c, "size", 0)).await;
                if ok != FALSE {
                    self.bind(c, "read", Val::Handle(r));
                    self.bind(c, "write", Val::Handle(w));
                }
                i64::from(ok)
            }
            "SetHandleInformation" => i64::from(
                ctx.set_handle_information(
                    self.h(pos, c, "handle"),
                    self.u(pos, c, "mask", 0),
                    self.u(pos, c, "flags", 0),
                )
                .await,
            ),
            "CloseHandle" => i64::from(ctx.close_handle(self.h(pos, c, "handle")).await),
            "CreateProcess" => {
                let command = self.s(pos, c, "command").unwrap_or_default();
                let std = ["stdin", "stdout", "stderr"];
                let si = if std.iter().any(|p| self.arg(c, p).is_some()) {
                    STARTUPINFO {
                        dwFlags: STARTF_USESTDHANDLES,
                        hStdInput: self.h(pos, c, "stdin"),
                        hStdOutput: self.h(pos, c, "stdout"),
                        hStdError: self.h(pos, c, "stderr"),
                    }
                } else {
                    STARTUPINFO::default()
                };
                let mut pi = PROCESS_INFORMATION::default();
                let flags = self.u(pos, c, "flags", 0);
                let ok = ctx
                    .create_process(None, Some(&command), None, None, self.b(c, "inherit"), flags, &si, &mut pi)
                    .await;
                if ok != FALSE {
                    self.bind(c, "as", Val::Handle(pi.hProcess));
                    self.bind(c, "thread", Val::Handle(pi.hThread));
                    self.bind(c, "pid", Val::Num(i64::from(pi.dwProcessId)));
                }
                i64::from(ok)
            }
            "CreateThread" => {
                let Some(Arg::Str(body)) = self.arg(c, "body") else {
                    self.fail(pos, "CreateThread needs a body".into())
                };
                let (file, st, prog, body) = (self.file.clone(), self.st.clone(), self.prog, body.clone());
                let mut tid = 0;
                let h = ctx
                    .create_thread(
                        self.sa(c),
                        0,
                        move |ctx| run_body(ctx, file, prog, Some(body), st),
                        self.u(pos, c, "flags", 0),
                        Some(&mut tid),
                    )
                    .await;
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                    self.bind(c, "id", Val::Num(i64::from(tid)));
                }
                h.0 as i64
            }
            "ResumeThread" => i64::from(ctx.resume_thread(self.h(pos, c, "handle")).await),
            "GetExitCodeProcess" | "GetExitCodeThread" => {
                let mut code = 0;
                let h = self.h(pos, c, "handle");
                let ok = if name == "GetExitCodeProcess" {
                    ctx.get_exit_code_process(h, &mut code).await
                } else {
                    ctx.get_exit_code_thread(h, &mut code).await
                };
                if ok != FALSE {
                    self.bind(c, "as", Val::Num(i64::from(code)));
                }
                i64::from(ok)
            }
            "TerminateProcess" => {
                i64::from(ctx.terminate_process(self.h(pos, c, "handle"), self.u(pos, c, "code", 0)).await)
            }
            "ExitProcess" => {
                ctx.exit_process(self.u(pos, c, "code", 0)).await;
                0
            }
            "ExitThread" => {
                ctx.exit_thread(self.u(pos, c, "code", 0)).await;
                0
            }
            "ReadFile" if self.arg(c, "overlapped").is_some() => {
                let size = self.read_size(pos, c);
                let ov = self.new_overlapped(pos, c);
                let buf = IoBuffer::new(size);
                let mut n = 0;
                let ok = ctx.read_file_overlapped(self.h(pos, c, "handle"), &buf, Some(&mut n), &ov).await;
                let into = match self.arg(c, "into") {
                    Some(Arg::Str(b)) => Some(b.clone()),
                    _ => None,
                };
                if ok != FALSE {
                    if let Some(b) = &into {
                        self.st
                            .borrow_mut()
                            .buffers
                            .entry(b.clone())
                            .or_default()
                            .extend_from_slice(&buf.head(n as usize));
                    }
                } else if ctx.get_last_error() == ERROR_IO_PENDING {
                    // The data arrives later: GetOverlappedResult appends it.
                    let key = self.overlapped_name(c);
                    if let Some(e) = self.st.borrow_mut().overlapped.get_mut(&key) {
                        e.1 = Some((buf, into));
                    }
                }
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                i64::from(ok)
            }
            "WriteFile" if self.arg(c, "overlapped").is_some() => {
                let data = self.write_data(pos, c);
                let ov = self.new_overlapped(pos, c);
                let mut n = 0;
                let ok = ctx.write_file_overlapped(self.h(pos, c, "handle"), &data, Some(&mut n), &ov).await;
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                i64::from(ok)
            }
            "GetOverlappedResult" => {
                let key = self.overlapped_name(c);
                let Some(ov) = self.st.borrow().overlapped.get(&key).map(|e| e.0.clone()) else {
                    self.fail(pos, format!("no ReadFile or WriteFile has used OVERLAPPED {key} yet"))
                };
                let mut n = 0;
                let ok = ctx.get_overlapped_result(self.h(pos, c, "handle"), &ov, &mut n, self.b(c, "wait")).await;
                if ok != FALSE {
                    let read = self.st.borrow_mut().overlapped.get_mut(&key).and_then(|e| e.1.take());
                    if let Some((buf, Some(into))) = read {
                        self.st.borrow_mut().buffers.entry(into).or_default().extend_from_slice(&buf.head(n as usize));
                    }
                }
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                i64::from(ok)
            }
            "CancelIoEx" => {
                let ov = match self.arg(c, "overlapped") {
                    Some(_) => {
                        let key = self.overlapped_name(c);
                        self.st.borrow().overlapped.get(&key).map(|e| e.0.clone())
                    }
                    None => None,
                };
                i64::from(ctx.cancel_io_ex(self.h(pos, c, "handle"), ov.as_ref()).await)
            }
            "CreateWaitableTimer" => {
                let name = self.s(pos, c, "name");
                let h = ctx.create_waitable_timer(self.sa(c), self.b(c, "manual"), name.as_deref()).await;
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "SetWaitableTimer" => {
                let due = self.n(pos, c, "due", 0);
                let period = self.n(pos, c, "period", 0);
                let Ok(period) = i32::try_from(period) else {
                    self.fail(pos, format!("period {period} is not a LONG"))
                };
                i64::from(ctx.set_waitable_timer(self.h(pos, c, "timer"), due, period, None, false).await)
            }
            "CancelWaitableTimer" => i64::from(ctx.cancel_waitable_timer(self.h(pos, c, "timer")).await),
            "GetTickCount" => {
                let t = ctx.get_tick_count().await;
                self.bind(c, "as", Val::Num(i64::from(t)));
                i64::from(t)
            }
            "ReadFile" => {
                let size = self.read_size(pos, c);
                let mut buf = vec![0u8; size];
                let mut n = 0;
                let ok = ctx.read_file(self.h(pos, c, "handle"), &mut buf, Some(&mut n)).await;
                if let Some(Arg::Str(b)) = self.arg(c, "into") {
                    let got = &buf[..(n as usize).min(buf.len())];
                    self.st.borrow_mut().buffers.entry(b.clone()).or_default().extend_from_slice(got);
                }
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                i64::from(ok)
            }
            "WriteFile" => {
                let data = self.write_data(pos, c);
                let mut n = 0;
                let ok = ctx.write_file(self.h(pos, c, "handle"), &data, Some(&mut n)).await;
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                i64::from(ok)
            }
            "PeekNamedPipe" => {
                let (mut avail, mut left) = (0, 0);
                let ok =
                    ctx.peek_named_pipe(self.h(pos, c, "handle"), None, None, Some(&mut avail), Some(&mut left)).await;
                if ok != FALSE {
                    self.bind(c, "avail", Val::Num(i64::from(avail)));
                    self.bind(c, "left", Val::Num(i64::from(left)));
                }
                i64::from(ok)
            }
            "FlushFileBuffers" => i64::from(ctx.flush_file_buffers(self.h(pos, c, "handle")).await),
            "CreateNamedPipe" => {
                let h = ctx
                    .create_named_pipe(
                        &self.s(pos, c, "name").unwrap_or_default(),
                        self.u(pos, c, "open", PIPE_ACCESS_DUPLEX),
                        self.u(pos, c, "mode", 0),
                        self.u(pos, c, "instances", PIPE_UNLIMITED_INSTANCES),
                        self.u(pos, c, "out", 4096),
                        self.u(pos, c, "in", 4096),
                        self.u(pos, c, "timeout", 0),
                        self.sa(c),
                    )
                    .await;
                if h != INVALID_HANDLE_VALUE {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "ConnectNamedPipe" => i64::from(ctx.connect_named_pipe(self.h(pos, c, "handle"), None).await),
            "DisconnectNamedPipe" => i64::from(ctx.disconnect_named_pipe(self.h(pos, c, "handle")).await),
            "WaitNamedPipe" => i64::from(
                ctx.wait_named_pipe(
                    &self.s(pos, c, "name").unwrap_or_default(),
                    self.u(pos, c, "timeout", NMPWAIT_USE_DEFAULT_WAIT),
                )
                .await,
            ),
            "CreateFile" => {
                let h = ctx
                    .create_file(
                        &self.s(pos, c, "name").unwrap_or_default(),
                        self.u(pos, c, "access", GENERIC_READ | GENERIC_WRITE),
                        self.u(pos, c, "share", 0),
                        self.sa(c),
                        self.u(pos, c, "disposition", OPEN_EXISTING),
                        self.u(pos, c, "flags", 0),
                        HANDLE::NULL,
                    )
                    .await;
                if h != INVALID_HANDLE_VALUE {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "CreateMailslot" => {
                let name = self.s(pos, c, "name");
                let h = ctx
                    .create_mailslot(
                        name.as_deref(),
                        self.u(pos, c, "max", 0),
                        self.u(pos, c, "timeout", MAILSLOT_WAIT_FOREVER),
                        None,
                    )
                    .await;
                if h != INVALID_HANDLE_VALUE {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "CreateEvent" | "CreateMutex" | "CreateSemaphore" | "OpenEvent" => {
                let obj_name = self.s(pos, c, "name");
                let h = match name {
                    "CreateEvent" => {
                        ctx.create_event(self.sa(c), self.b(c, "manual"), self.b(c, "initial"), obj_name.as_deref())
                            .await
                    }
                    "CreateMutex" => ctx.create_mutex(self.sa(c), self.b(c, "owned"), obj_name.as_deref()).await,
                    "CreateSemaphore" => {
                        ctx.create_semaphore(
                            self.sa(c),
                            self.n(pos, c, "initial", 0) as i32,
                            self.n(pos, c, "max", 1) as i32,
                            obj_name.as_deref(),
                        )
                        .await
                    }
                    _ => {
                        ctx.open_event(
                            self.u(pos, c, "access", EVENT_ALL_ACCESS),
                            self.b(c, "inherit"),
                            obj_name.as_deref(),
                        )
                        .await
                    }
                };
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "SetEvent" => i64::from(ctx.set_event(self.h(pos, c, "handle")).await),
            "ResetEvent" => i64::from(ctx.reset_event(self.h(pos, c, "handle")).await),
            "PulseEvent" => i64::from(ctx.pulse_event(self.h(pos, c, "handle")).await),
            "ReleaseMutex" => i64::from(ctx.release_mutex(self.h(pos, c, "handle")).await),
            "ReleaseSemaphore" => {
                let mut prev = 0;
                let ok = ctx
                    .release_semaphore(self.h(pos, c, "handle"), self.n(pos, c, "count", 1) as i32, Some(&mut prev))
                    .await;
                if ok != FALSE {
                    self.bind(c, "previous", Val::Num(i64::from(prev)));
                }
                i64::from(ok)
            }
            "WaitForSingleObject" => i64::from(
                ctx.wait_for_single_object(self.h(pos, c, "handle"), self.u(pos, c, "timeout", INFINITE)).await,
            ),
            "WaitForMultipleObjects" => {
                let handles = self.handles(pos, c);
                i64::from(
                    ctx.wait_for_multiple_objects(&handles, self.b(c, "all"), self.u(pos, c, "timeout", INFINITE))
                        .await,
                )
            }
            "Sleep" => {
                ctx.sleep(self.u(pos, c, "ms", 0)).await;
                0
            }
            "PostThreadMessage" => i64::from(
                ctx.post_thread_message(
                    self.u(pos, c, "thread", 0),
                    self.u(pos, c, "msg", 0),
                    self.n(pos, c, "wparam", 0) as WPARAM,
                    self.n(pos, c, "lparam", 0) as LPARAM,
                )
                .await,
            ),
            "GetMessage" => {
                let mut msg = MSG::default();
                let r = ctx
                    .get_message(&mut msg, self.hwnd(pos, c), self.u(pos, c, "min", 0), self.u(pos, c, "max", 0))
                    .await;
                self.msg.set(msg);
                if r != -1 {
                    self.bind_msg(c, &msg);
                }
                i64::from(r)
            }
            "SetTimer" => {
                let id = usize::try_from(self.n(pos, c, "id", 0)).unwrap_or(0);
                let r = ctx.set_timer(self.hwnd(pos, c), id, self.u(pos, c, "ms", 0), None).await;
                self.bind(c, "as", Val::Num(r as i64));
                r as i64
            }
            "KillTimer" => {
                let id = usize::try_from(self.n(pos, c, "id", 0)).unwrap_or(0);
                i64::from(ctx.kill_timer(self.hwnd(pos, c), id).await)
            }
            "SleepEx" => {
                let r = ctx.sleep_ex(self.u(pos, c, "ms", 0), self.b(c, "alertable")).await;
                self.bind(c, "as", Val::Num(i64::from(r)));
                i64::from(r)
            }
            "WaitForSingleObjectEx" => i64::from(
                ctx.wait_for_single_object_ex(
                    self.h(pos, c, "handle"),
                    self.u(pos, c, "timeout", INFINITE),
                    self.b(c, "alertable"),
                )
                .await,
            ),
            "QueueUserAPC" => {
                let Some(Arg::Str(body)) = self.arg(c, "body") else {
                    self.fail(pos, "QueueUserAPC needs a body".into())
                };
                let (file, st, prog, body) = (self.file.clone(), self.st.clone(), self.prog, body.clone());
                let data = usize::try_from(self.n(pos, c, "data", 0)).unwrap_or(0);
                // The APC runs the body's statements on the target thread, with `data`
                // set to its parameter (variables are per process, as handles are).
                let apc = move |ctx: ThreadCtx, data: usize| async move {
                    st.borrow_mut().vars.insert("data".into(), Val::Num(data as i64));
                    run_body(ctx, file, prog, Some(body), st).await;
                };
                i64::from(ctx.queue_user_apc(apc, self.h(pos, c, "thread"), data).await)
            }
            "CreateIoCompletionPort" => {
                let file = match self.arg(c, "handle") {
                    Some(_) => self.h(pos, c, "handle"),
                    None => INVALID_HANDLE_VALUE,
                };
                let key = usize::try_from(self.n(pos, c, "key", 0)).unwrap_or(0);
                let h = ctx
                    .create_io_completion_port(file, self.h(pos, c, "port"), key, self.u(pos, c, "threads", 0))
                    .await;
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "GetQueuedCompletionStatus" => {
                let (mut n, mut key, mut ov) = (0, 0, None);
                let timeout = self.u(pos, c, "timeout", INFINITE);
                let ok =
                    ctx.get_queued_completion_status(self.h(pos, c, "port"), &mut n, &mut key, &mut ov, timeout).await;
                self.bind(c, "bytes", Val::Num(i64::from(n)));
                self.bind(c, "key", Val::Num(key as i64));
                i64::from(ok)
            }
            "PostQueuedCompletionStatus" => {
                let key = usize::try_from(self.n(pos, c, "key", 0)).unwrap_or(0);
                i64::from(
                    ctx.post_queued_completion_status(self.h(pos, c, "port"), self.u(pos, c, "bytes", 0), key, None)
                        .await,
                )
            }
            "WSAStartup" => {
                let version = self.n(pos, c, "version", 0x0202) as u16;
                i64::from(ctx.wsa_startup(version, None).await)
            }
            "WSACleanup" => i64::from(ctx.wsa_cleanup().await),
            "WSAGetLastError" => {
                let e = ctx.wsa_get_last_error();
                self.bind(c, "as", Val::Num(i64::from(e)));
                i64::from(e)
            }
            "socket" => {
                let af = self.n(pos, c, "af", i64::from(AF_INET)) as i32;
                let ty = self.n(pos, c, "type", 0) as i32;
                let s = ctx.socket(af, ty, self.n(pos, c, "protocol", 0) as i32).await;
                if s != INVALID_SOCKET {
                    self.bind(c, "as", Val::Handle(s));
                    // Sockets are inheritable when created (§22); `inherit=#false` clears it.
                    if matches!(self.arg(c, "inherit"), Some(Arg::Bool(false))) {
                        let _ = ctx.set_handle_information(s, HANDLE_FLAG_INHERIT, 0).await;
                    }
                }
                s.0 as i64
            }
            "bind" => {
                let a = self.sockaddr(pos, c, INADDR_ANY);
                i64::from(ctx.bind(self.h(pos, c, "socket"), Some(&a), SOCKADDR_IN_LEN).await)
            }
            "listen" => i64::from(
                ctx.listen(self.h(pos, c, "socket"), self.n(pos, c, "backlog", i64::from(SOMAXCONN)) as i32).await,
            ),
            "accept" => {
                let mut peer = SOCKADDR_IN::default();
                let mut len = SOCKADDR_IN_LEN;
                let s = ctx.accept(self.h(pos, c, "socket"), Some(&mut peer), Some(&mut len)).await;
                if s != INVALID_SOCKET {
                    self.bind(c, "as", Val::Handle(s));
                    self.bind(c, "port", Val::Num(i64::from(peer.port())));
                }
                s.0 as i64
            }
            "connect" => {
                let a = self.sockaddr(pos, c, INADDR_LOOPBACK);
                i64::from(ctx.connect(self.h(pos, c, "socket"), Some(&a), SOCKADDR_IN_LEN).await)
            }
            "send" => {
                let data = self.write_data(pos, c);
                let Ok(len) = i32::try_from(data.len()) else { self.fail(pos, "send: too much data".into()) };
                let n = ctx.send(self.h(pos, c, "socket"), &data, len, self.n(pos, c, "flags", 0) as i32).await;
                self.bind(c, "bytes", Val::Num(i64::from(n.max(0))));
                i64::from(n)
            }
            "recv" => {
                let size = self.read_size(pos, c);
                let mut buf = vec![0u8; size];
                let n =
                    ctx.recv(self.h(pos, c, "socket"), &mut buf, size as i32, self.n(pos, c, "flags", 0) as i32).await;
                if n > 0
                    && let Some(Arg::Str(b)) = self.arg(c, "into")
                {
                    self.st.borrow_mut().buffers.entry(b.clone()).or_default().extend_from_slice(&buf[..n as usize]);
                }
                self.bind(c, "bytes", Val::Num(i64::from(n.max(0))));
                i64::from(n)
            }
            "shutdown" => i64::from(ctx.shutdown(self.h(pos, c, "socket"), self.n(pos, c, "how", 0) as i32).await),
            "closesocket" => i64::from(ctx.closesocket(self.h(pos, c, "socket")).await),
            "setsockopt" => {
                let option = self.n(pos, c, "option", 0) as i32;
                let value = self.n(pos, c, "value", 0);
                let bytes: Vec<u8> = if option == SO_LINGER {
                    // LINGER { l_onoff = value, l_linger = seconds= }.
                    let secs = self.n(pos, c, "seconds", 0) as u16;
                    [(value as u16).to_le_bytes(), secs.to_le_bytes()].concat()
                } else {
                    (value as u32).to_le_bytes().to_vec()
                };
                let level = self.n(pos, c, "level", 0) as i32;
                i64::from(
                    ctx.setsockopt(self.h(pos, c, "socket"), level, option, Some(&bytes), bytes.len() as i32).await,
                )
            }
            "ioctlsocket" => {
                let mut arg = self.u(pos, c, "arg", 0);
                let r =
                    ctx.ioctlsocket(self.h(pos, c, "socket"), self.n(pos, c, "cmd", 0) as i32, Some(&mut arg)).await;
                self.bind(c, "as", Val::Num(i64::from(arg)));
                i64::from(r)
            }
            "getsockname" => {
                let mut a = SOCKADDR_IN::default();
                let mut len = SOCKADDR_IN_LEN;
                let r = ctx.getsockname(self.h(pos, c, "socket"), Some(&mut a), Some(&mut len)).await;
                if r == 0 {
                    self.bind(c, "port", Val::Num(i64::from(a.port())));
                }
                i64::from(r)
            }
            "PeekMessage" => {
                let mut msg = MSG::default();
                let (min, max) = (self.u(pos, c, "min", 0), self.u(pos, c, "max", 0));
                let r = ctx
                    .peek_message(&mut msg, self.hwnd(pos, c), min, max, self.u(pos, c, "remove", PM_NOREMOVE))
                    .await;
                if r != FALSE {
                    self.msg.set(msg);
                    self.bind_msg(c, &msg);
                }
                i64::from(r)
            }
            "PostQuitMessage" => {
                ctx.post_quit_message(self.n(pos, c, "code", 0) as i32).await;
                0
            }
            "RegisterClassEx" => {
                let Some(Arg::Str(class)) = self.arg(c, "class") else {
                    self.fail(pos, "RegisterClassEx needs a class".into())
                };
                let proc = class_proc(self.file.clone(), self.prog, class.clone(), self.st.clone());
                i64::from(ctx.register_class_ex(&WNDCLASSEX::new(class, proc)).await)
            }
            "CreateWindowEx" => {
                let class = self.s(pos, c, "class").unwrap_or_default();
                let title = self.s(pos, c, "title").unwrap_or_else(|| class.clone());
                let parent = HWND(self.h(pos, c, "parent").0);
                let hwnd = ctx.create_window_ex(0, &class, &title, 0, 0, 0, 0, 0, parent, 0).await;
                if hwnd != HWND::NULL {
                    self.bind(c, "as", Val::Handle(HANDLE(hwnd.0)));
                }
                hwnd.0 as i64
            }
            "DestroyWindow" => i64::from(ctx.destroy_window(HWND(self.h(pos, c, "hwnd").0)).await),
            "SendMessage" => {
                let r = ctx
                    .send_message(
                        HWND(self.h(pos, c, "hwnd").0),
                        self.u(pos, c, "msg", 0),
                        self.n(pos, c, "wparam", 0) as WPARAM,
                        self.n(pos, c, "lparam", 0) as LPARAM,
                    )
                    .await;
                self.bind(c, "as", Val::Num(r as i64));
                r as i64
            }
            "SendMessageTimeout" => {
                let mut result = 0usize;
                let r = ctx
                    .send_message_timeout(
                        HWND(self.h(pos, c, "hwnd").0),
                        self.u(pos, c, "msg", 0),
                        self.n(pos, c, "wparam", 0) as WPARAM,
                        self.n(pos, c, "lparam", 0) as LPARAM,
                        self.u(pos, c, "flags", SMTO_NORMAL),
                        self.u(pos, c, "timeout", 0),
                        Some(&mut result),
                    )
                    .await;
                if r != 0 {
                    self.bind(c, "result", Val::Num(result as i64));
                }
                r as i64
            }
            "PostMessage" => i64::from(
                ctx.post_message(
                    HWND(self.h(pos, c, "hwnd").0),
                    self.u(pos, c, "msg", 0),
                    self.n(pos, c, "wparam", 0) as WPARAM,
                    self.n(pos, c, "lparam", 0) as LPARAM,
                )
                .await,
            ),
            "DispatchMessage" => {
                let r = ctx.dispatch_message(&self.msg.get()).await;
                self.bind(c, "as", Val::Num(r as i64));
                r as i64
            }
            "MsgWaitForMultipleObjects" => {
                let handles = self.handles(pos, c);
                i64::from(
                    ctx.msg_wait_for_multiple_objects(
                        &handles,
                        self.b(c, "all"),
                        self.u(pos, c, "timeout", INFINITE),
                        self.u(pos, c, "mask", QS_ALLINPUT),
                    )
                    .await,
                )
            }
            "MsgWaitForMultipleObjectsEx" => {
                let handles = self.handles(pos, c);
                i64::from(
                    ctx.msg_wait_for_multiple_objects_ex(
                        &handles,
                        self.u(pos, c, "timeout", INFINITE),
                        self.u(pos, c, "mask", QS_ALLINPUT),
                        self.u(pos, c, "flags", 0),
                    )
                    .await,
                )
            }
            "CreateFileMapping" => {
                let size = self.n(pos, c, "size", 0) as u64;
                let file = match self.arg(c, "file") {
                    Some(a) => self.handle(pos, a),
                    None => INVALID_HANDLE_VALUE,
                };
                let name = self.s(pos, c, "name");
                let h = ctx
                    .create_file_mapping(
                        file,
                        self.sa(c),
                        self.u(pos, c, "protect", PAGE_READWRITE),
                        (size >> 32) as u32,
                        size as u32,
                        name.as_deref(),
                    )
                    .await;
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "OpenFileMapping" => {
                let name = self.s(pos, c, "name");
                let h = ctx
                    .open_file_mapping(
                        self.u(pos, c, "access", FILE_MAP_ALL_ACCESS),
                        self.b(c, "inherit"),
                        name.as_deref(),
                    )
                    .await;
                if !h.is_null() {
                    self.bind(c, "as", Val::Handle(h));
                }
                h.0 as i64
            }
            "MapViewOfFile" => {
                let offset = self.n(pos, c, "offset", 0) as u64;
                let p = ctx
                    .map_view_of_file(
                        self.h(pos, c, "mapping"),
                        self.u(pos, c, "access", FILE_MAP_ALL_ACCESS),
                        (offset >> 32) as u32,
                        offset as u32,
                        self.n(pos, c, "size", 0) as usize,
                    )
                    .await;
                if p != 0 {
                    self.bind(c, "as", Val::Num(p as i64));
                }
                p as i64
            }
            "UnmapViewOfFile" => i64::from(ctx.unmap_view_of_file(self.n(pos, c, "address", 0) as usize).await),
            "ReadMemory"
            | "WriteMemory"
            | "InterlockedIncrement"
            | "InterlockedExchangeAdd"
            | "InterlockedCompareExchange" => {
                let at = (self.n(pos, c, "address", 0) + self.n(pos, c, "offset", 0)) as usize;
                let v = match name {
                    "ReadMemory" => match self.n(pos, c, "size", 4) {
                        1 => i64::from(ctx.read_u8(at).await),
                        2 => i64::from(ctx.read_u16(at).await),
                        4 => i64::from(ctx.read_u32(at).await),
                        8 => ctx.read_u64(at).await as i64,
                        n => self.fail(pos, format!("ReadMemory size {n}: 1, 2, 4 or 8")),
                    },
                    "WriteMemory" => {
                        let value = self.n(pos, c, "value", 0);
                        match self.n(pos, c, "size", 4) {
                            1 => ctx.write_u8(at, value as u8).await,
                            2 => ctx.write_u16(at, value as u16).await,
                            4 => ctx.write_u32(at, value as u32).await,
                            8 => ctx.write_u64(at, value as u64).await,
                            n => self.fail(pos, format!("WriteMemory size {n}: 1, 2, 4 or 8")),
                        }
                        0
                    }
                    "InterlockedIncrement" => i64::from(ctx.interlocked_increment(at).await),
                    "InterlockedExchangeAdd" => {
                        i64::from(ctx.interlocked_exchange_add(at, self.n(pos, c, "value", 0) as i32).await)
                    }
                    _ => i64::from(
                        ctx.interlocked_compare_exchange(
                            at,
                            self.n(pos, c, "exchange", 0) as i32,
                            self.n(pos, c, "comparand", 0) as i32,
                        )
                        .await,
                    ),
                };
                self.bind(c, "as", Val::Num(v));
                v
            }
            // ----- COM (docs/semantics.md §21): the same ThreadCtx calls as Rust code -----
            "CoInitializeEx" => hres(ctx.co_initialize_ex(None, self.u(pos, c, "coinit", 0)).await),
            "CoInitialize" => hres(ctx.co_initialize(None).await),
            "CoUninitialize" => {
                ctx.co_uninitialize().await;
                0
            }
            "OleInitialize" => hres(ctx.ole_initialize(None).await),
            "OleUninitialize" => {
                ctx.ole_uninitialize().await;
                0
            }
            "CoCreateInstance" => {
                let clsid = self.guid(pos, c, "clsid", CLSID_Toy);
                let iid = self.guid(pos, c, "iid", IID_IToy);
                let mut p = None;
                let hr = ctx
                    .co_create_instance(
                        &clsid,
                        self.ptr(pos, c, "outer"),
                        self.u(pos, c, "context", CLSCTX_INPROC_SERVER),
                        &iid,
                        Some(&mut p),
                    )
                    .await;
                self.bind_ptr(c, p.map(|p| p.0));
                hres(hr)
            }
            "CoGetClassObject" => {
                let clsid = self.guid(pos, c, "clsid", CLSID_Toy);
                let iid = self.guid(pos, c, "iid", IID_IClassFactory);
                let mut p = None;
                let ctxflags = self.u(pos, c, "context", CLSCTX_INPROC_SERVER);
                let hr = ctx.co_get_class_object(&clsid, ctxflags, None, &iid, Some(&mut p)).await;
                self.bind_ptr(c, p.map(|p| p.0));
                hres(hr)
            }
            "CoRegisterClassObject" => {
                let clsid = self.guid(pos, c, "clsid", CLSID_ToyServer);
                let mut cookie = 0;
                let hr = ctx
                    .co_register_class_object(
                        &clsid,
                        self.ptr(pos, c, "unk"),
                        self.u(pos, c, "context", CLSCTX_LOCAL_SERVER),
                        self.u(pos, c, "flags", REGCLS_MULTIPLEUSE),
                        Some(&mut cookie),
                    )
                    .await;
                self.bind_ptr(c, (hr == S_OK).then_some(cookie));
                hres(hr)
            }
            "CoRevokeClassObject" => hres(ctx.co_revoke_class_object(self.u(pos, c, "cookie", 0)).await),
            "CoResumeClassObjects" => hres(ctx.co_resume_class_objects().await),
            "IClassFactory_CreateInstance" | "QueryInterface" => {
                let this = self.this(pos, c);
                let mut p = None;
                let hr = if name == "QueryInterface" {
                    ctx.query_interface(this, &self.guid(pos, c, "iid", IID_IUnknown), Some(&mut p)).await
                } else {
                    let iid = self.guid(pos, c, "iid", IID_IToy);
                    ctx.iclassfactory_create_instance(this, self.ptr(pos, c, "outer"), &iid, Some(&mut p)).await
                };
                self.bind_ptr(c, p.map(|p| p.0));
                hres(hr)
            }
            "AddRef" => i64::from(ctx.add_ref(self.this(pos, c)).await),
            "Release" => i64::from(ctx.release(self.this(pos, c)).await),
            "IToy_Add" => hres(ctx.itoy_add(self.this(pos, c), self.n(pos, c, "n", 1) as i32).await),
            "IToy_Get" => {
                let mut v = 0;
                let hr = ctx.itoy_get(self.this(pos, c), Some(&mut v)).await;
                if hr.succeeded() {
                    self.bind(c, "as", Val::Num(v));
                }
                hres(hr)
            }
            "IToy_CallBack" => hres(ctx.itoy_call_back(self.this(pos, c), self.ptr(pos, c, "cb")).await),
            "IToy_WaitOn" => hres(ctx.itoy_wait_on(self.this(pos, c), self.h(pos, c, "event")).await),
            "IToy_SendTo" => {
                hres(ctx.itoy_send_to(self.this(pos, c), self.hwnd(pos, c), self.u(pos, c, "msg", 0)).await)
            }
            "IToyCallback_Notify" => hres(ctx.itoy_callback_notify(self.this(pos, c)).await),
            "CoMarshalInterThreadInterfaceInStream" => {
                let iid = self.guid(pos, c, "iid", IID_IToy);
                let mut st = None;
                let hr =
                    ctx.co_marshal_inter_thread_interface_in_stream(&iid, self.ptr(pos, c, "unk"), Some(&mut st)).await;
                self.bind_ptr(c, st.map(|s| s.0));
                hres(hr)
            }
            "CoGetInterfaceAndReleaseStream" => {
                let iid = self.guid(pos, c, "iid", IID_IToy);
                let stream = self.ptr(pos, c, "stream").map(|p| IStream(p.0));
                let mut p = None;
                let hr = ctx.co_get_interface_and_release_stream(stream, &iid, Some(&mut p)).await;
                self.bind_ptr(c, p.map(|p| p.0));
                hres(hr)
            }
            "RegisterInterfaceInGlobal" => {
                let iid = self.guid(pos, c, "iid", IID_IToy);
                let git = self.ptr(pos, c, "git").unwrap_or(ComPtr(0));
                let mut cookie = 0;
                let hr = ctx.register_interface_in_global(git, self.ptr(pos, c, "unk"), &iid, Some(&mut cookie)).await;
                self.bind_ptr(c, (hr == S_OK).then_some(cookie));
                hres(hr)
            }
            "GetInterfaceFromGlobal" => {
                let iid = self.guid(pos, c, "iid", IID_IToy);
                let git = self.ptr(pos, c, "git").unwrap_or(ComPtr(0));
                let mut p = None;
                let hr = ctx.get_interface_from_global(git, self.u(pos, c, "cookie", 0), &iid, Some(&mut p)).await;
                self.bind_ptr(c, p.map(|p| p.0));
                hres(hr)
            }
            "RevokeInterfaceFromGlobal" => {
                let git = self.ptr(pos, c, "git").unwrap_or(ComPtr(0));
                hres(ctx.revoke_interface_from_global(git, self.u(pos, c, "cookie", 0)).await)
            }
            "CoDisconnectObject" => hres(ctx.co_disconnect_object(self.ptr(pos, c, "unk"), 0).await),
            "CoWaitForMultipleHandles" => {
                let handles = self.handles(pos, c);
                let mut index = 0;
                let hr = ctx
                    .co_wait_for_multiple_handles(
                        self.u(pos, c, "flags", COWAIT_DEFAULT),
                        self.u(pos, c, "timeout", INFINITE),
                        Some(&handles),
                        Some(&mut index),
                    )
                    .await;
                self.bind(c, "index", Val::Num(i64::from(index)));
                hres(hr)
            }
            "CoRegisterMessageFilter" => {
                let given = ["incoming", "callpending", "retry", "pending"].iter().any(|p| self.arg(c, p).is_some());
                let filter = given.then(|| MessageFilter {
                    handle_in_coming_call: self.list(pos, c, "incoming").into_iter().map(|v| v as u32).collect(),
                    when_call_pending: self.arg(c, "callpending").map(|a| self.num(pos, a) as u32),
                    retry_rejected_call: self.list(pos, c, "retry").into_iter().map(|v| v as i32).collect(),
                    message_pending: self.list(pos, c, "pending").into_iter().map(|v| v as u32).collect(),
                });
                let mut prev = None;
                hres(ctx.co_register_message_filter(filter, Some(&mut prev)).await)
            }
            // ----- Message Queuing (docs/semantics.md §23): interp/mq.rs -----
            _ if name.starts_with("MQ") || name.starts_with("ITransaction_") => self.mq(pos, c).await,
            other => self.fail(pos, format!("the interpreter has no implementation of {other}")),
        };
        let ok = match c.api.ret {
            Ret::Bool | Ret::HandleNull => ret != 0,
            Ret::HandleInvalid => ret != -1,
            Ret::Dword(f) => ret != i64::from(f),
            Ret::Value => true,
            Ret::GetMessage | Ret::Int => ret != -1,
            Ret::ErrorCode => ret == 0,
            Ret::Hresult => ret as u32 as i32 >= 0,
        };
        let err = ctx.get_last_error().0;
        self.last.set((ret, ok, err));
        let error_name = |e: u32| Win32Error(e).name().map_or_else(|| e.to_string(), str::to_string);
        if let Some(want) = &c.expect {
            // An HRESULT name wins over a Win32 error of the same name (RPC_S_CALL_FAILED is
            // both: 1726 and HRESULT_FROM_WIN32 of it).
            let w = match want {
                Arg::Str(n) if c.api.ret == Ret::Hresult => {
                    HRESULT::from_name(n).or_else(|| mq_from_name(n)).map_or_else(|| self.num(pos, want), hres)
                }
                _ => self.num(pos, want),
            };
            if w != ret {
                if c.api.ret == Ret::Hresult {
                    // Message Queuing calls name their HRESULTs as mq.h does (MQ_OK, not S_OK).
                    let mq_call = name.starts_with("MQ") || name.starts_with("ITransaction_");
                    let hr_name = |v: i64| {
                        let h = HRESULT(v as u32 as i32);
                        let n = if mq_call { mq_name(h).or(h.name()) } else { h.name().or_else(|| mq_name(h)) };
                        n.map_or_else(|| format!("{v:#x}"), str::to_string)
                    };
                    self.fail(pos, format!("{name} returned {}, expected {}", hr_name(ret), hr_name(w)));
                }
                self.fail(pos, format!("{name} returned {ret} (last error {}), expected {w}", error_name(err)));
            }
        }
        if let Some(want) = &c.error {
            let w = self.num(pos, want) as u32;
            if w != err {
                self.fail(
                    pos,
                    format!(
                        "{name} returned {ret} and left last error {}, expected {}",
                        error_name(err),
                        error_name(w)
                    ),
                );
            }
        }
        (ret, ok, err)
    }
}
