//! The runner: owns the thread bodies' futures and drives the kernel until the run ends.
//!
//! One OS thread polls every simulated thread's future with a no-op waker: the kernel
//! knows exactly which thread to poll, so wakers carry no information.

use crate::api::ThreadCtx;
use crate::kernel::config::Config;
use crate::kernel::request::BodyFuture;
use crate::kernel::sched::{ChoiceKind, Strategy};
use crate::kernel::{Kernel, Tid};
use crate::objects::thread::Run;
use crate::report::{DeadlockReport, Outcome, RunReport};
use crate::trace::EventKind;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::Once;
use std::task::{Context, Poll, Waker};

thread_local! {
    /// Where the last panic inside a simulated thread body happened (set by the hook).
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
    /// True while a run is being driven on this OS thread (its panics become outcomes).
    static IN_BODY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

thread_local! {
    /// The emptied body table of the last `Sim` dropped on this OS thread, for the next
    /// one (like the kernel's spare buffers: a sweep builds a `Sim` for each run).
    static SPARE_BODIES: std::cell::Cell<Option<crate::kernel::idmap::IdMap<BodyFuture>>> =
        const { std::cell::Cell::new(None) };
}

/// A body table: the last dropped `Sim`'s, emptied, or a new one.
fn body_table() -> crate::kernel::idmap::IdMap<BodyFuture> {
    SPARE_BODIES.try_with(|s| s.take()).ok().flatten().unwrap_or_default()
}

impl Drop for Sim {
    fn drop(&mut self) {
        if self.bodies.capacity() <= 64 {
            let mut bodies = std::mem::take(&mut self.bodies);
            bodies.clear();
            let _ = SPARE_BODIES.try_with(|s| s.set(Some(bodies)));
        }
    }
}

/// Installs (once per process) a panic hook that records the location of a panic in a
/// thread body, so `Outcome::Failed` can name its file and line, and keeps such panics
/// (reported as outcomes) off stderr. Other panics go to the hook that was there before.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_BODY.with(|b| b.get()) {
                let at = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                PANIC_LOCATION.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// A simulation: programs registered by name, then one run.
///
/// ```
/// use winsim_core::prelude::*;
/// let mut sim = Sim::new(Config::random(1));
/// sim.program("main", |ctx| async move {
///     let (mut r, mut w) = (HANDLE::NULL, HANDLE::NULL);
///     assert_eq!(ctx.create_pipe(&mut r, &mut w, None, 0).await, TRUE);
///     assert_eq!(ctx.write_file(w, b"hi", None).await, TRUE);
///     let mut buf = [0u8; 8];
///     let mut n = 0;
///     assert_eq!(ctx.read_file(r, &mut buf, Some(&mut n)).await, TRUE);
///     assert_eq!(&buf[..n as usize], b"hi");
///     0
/// });
/// let report = sim.run("main");
/// assert!(report.outcome.is_completed());
/// ```
pub struct Sim {
    kernel: Rc<RefCell<Kernel>>,
    /// Thread bodies by thread id (indexed directly: looked up at every poll).
    bodies: crate::kernel::idmap::IdMap<BodyFuture>,
    /// Processes to start at the beginning of the run besides the first: (host, command
    /// line), in order.
    start_on: Vec<(String, String)>,
    /// Services to start at the beginning of the run, after `start_on`'s processes:
    /// command lines, in order (docs/semantics.md §30.1).
    services: Vec<String>,
}

impl Sim {
    /// A simulation with the given configuration.
    pub fn new(config: Config) -> Sim {
        install_panic_hook();
        Sim {
            // (`new_cyclic` allocates first and builds the kernel in its allocation:
            // `Rc::new` built it on the stack and copied its 1.8 KB twice, issue 13.)
            kernel: Rc::new_cyclic(|_| RefCell::new(Kernel::new(config))),
            bodies: body_table(),
            start_on: Vec::new(),
            services: Vec::new(),
        }
    }

    /// A simulation whose choices are made by `strategy` instead of the one
    /// `config.strategy` names (which then only describes the run): a strategy that lives
    /// across the runs of a sweep. `run_with_strategy` hands it back.
    pub fn with_strategy(config: Config, strategy: Box<dyn Strategy>) -> Sim {
        install_panic_hook();
        Sim {
            kernel: Rc::new_cyclic(|_| RefCell::new(Kernel::with_strategy(config, strategy))),
            bodies: body_table(),
            start_on: Vec::new(),
            services: Vec::new(),
        }
    }

    /// Runs like [`Sim::run`] and returns the strategy too, for the next run of a sweep.
    pub fn run_with_strategy(self, name: &str) -> (RunReport, Box<dyn Strategy>) {
        let kernel = self.kernel.clone();
        let report = self.run(name);
        let mut k = kernel.borrow_mut();
        let placeholder: Box<dyn Strategy> = Box::new(crate::kernel::sched::RoundRobin::default());
        (report, k.take_strategy(placeholder))
    }

    /// Registers a program: `body` is its main thread; its return value is main's return
    /// value (the C runtime then calls ExitProcess with it). CreateProcess finds it by
    /// name, case-insensitively, with or without ".exe".
    pub fn program<F, Fut>(&mut self, name: &str, body: F) -> &mut Sim
    where
        F: Fn(ThreadCtx) -> Fut + 'static,
        Fut: Future<Output = u32> + 'static,
    {
        let program: crate::kernel::request::Program = Rc::new(move |ctx| Box::pin(body(ctx)));
        self.kernel.borrow_mut().register_program(name, program);
        self
    }

    /// Adds a host with the IPv4 address `addr` (docs/semantics.md §27.1), or gives an
    /// existing host (`local` is the default host, where the first process runs) one more
    /// address. Each host has its own loopback, ports and processes; hosts reach each other
    /// through the simulated network (`Config::network`: links, faults, partitions). The
    /// host is recorded in the configuration, so `RunReport::replay_config` keeps it.
    pub fn host(&mut self, name: &str, addr: [u8; 4]) -> &mut Sim {
        {
            let mut k = self.kernel.borrow_mut();
            let hosts = &mut k.config.network.hosts;
            match hosts.iter_mut().find(|h| h.name.eq_ignore_ascii_case(name)) {
                Some(h) if h.addrs.contains(&addr) => {}
                Some(h) => h.addrs.push(addr),
                None => hosts.push(crate::kernel::config::HostConfig { name: name.into(), addrs: vec![addr] }),
            }
        }
        self
    }

    /// Configures the link between two hosts (`Config::network.links`; a later link for
    /// the same pair wins). Recorded in the configuration, like `host`.
    pub fn link(&mut self, link: crate::kernel::config::LinkConfig) -> &mut Sim {
        {
            let mut k = self.kernel.borrow_mut();
            if !k.config.network.links.contains(&link) {
                k.config.network.links.push(link);
            }
        }
        self
    }

    /// Cuts hosts `a` and `b` apart from `from_ms` to `to_ms` (None: for good), both ways
    /// (`Config::network.partitions`, docs/semantics.md §27.6).
    pub fn partition(&mut self, a: &str, b: &str, from_ms: u64, to_ms: Option<u64>) -> &mut Sim {
        {
            let p = crate::kernel::config::PartitionConfig { a: a.into(), b: b.into(), from_ms, to_ms };
            let mut k = self.kernel.borrow_mut();
            if !k.config.network.partitions.contains(&p) {
                k.config.network.partitions.push(p);
            }
        }
        self
    }

    /// Starts a process from `command_line` on host `host` when the run begins, after the
    /// first process (in the order of the calls). Its children run on its host.
    pub fn start_on(&mut self, host: &str, command_line: &str) -> &mut Sim {
        self.start_on.push((host.to_string(), command_line.to_string()));
        self
    }

    /// Starts a process from `command_line` as a service when the run begins, after the
    /// first process and the `start_on` ones: it runs in session 0, where names without
    /// a prefix (and `Local\`) are in the global namespace, and holds
    /// SeCreateGlobalPrivilege; its children too (docs/semantics.md §§30.1-30.3). Other
    /// processes run in session 1 without the privilege.
    pub fn start_service(&mut self, command_line: &str) -> &mut Sim {
        self.services.push(command_line.to_string());
        self
    }

    /// Puts a file on the run's in-memory volume before the run starts, with its
    /// directories (docs/semantics.md §28.1); a file of that name is replaced. The file is
    /// recorded in the configuration (`Config::files`), so a replay has it too.
    pub fn file(&mut self, path: &str, data: &[u8]) -> &mut Sim {
        let mut k = self.kernel.borrow_mut();
        k.config.files.push(crate::objects::file::VolumeFile { path: path.to_string(), data: data.to_vec() });
        k.preload_file(path, data);
        drop(k);
        self
    }

    /// Starts the program `name` as the first process and runs until the outcome.
    pub fn run(self, name: &str) -> RunReport {
        self.run_command_line(name)
    }

    /// Runs like [`Sim::run`], then makes this `Sim` ready for another run under `next`,
    /// without registering the programs again: a sweep keeps one `Sim` for all its runs.
    /// What `program`, `host`, `link`, `partition`, `file` and `start_on` set up is kept
    /// (the hosts, links, partitions and files are carried into `next`'s configuration
    /// when it has none of its own); the rest of `next` (strategy and seed, limits,
    /// trace) replaces the configuration. The next run is the run a fresh `Sim` with the
    /// same setup and `next` would make, decision for decision.
    pub fn run_and_reset(&mut self, name: &str, next: Config) -> RunReport {
        let start_on = self.start_on.clone();
        let services = self.services.clone();
        let (programs, network, files) = {
            let k = self.kernel.borrow();
            (k.programs.clone(), k.config.network.clone(), k.config.files.clone())
        };
        let report = self.run_inner(name);
        let mut next = next;
        if next.network == crate::kernel::config::NetworkConfig::default() {
            next.network = network;
        }
        if next.files.is_empty() {
            next.files = files;
        }
        let mut kernel = Kernel::new(next);
        kernel.programs = programs;
        self.kernel = Rc::new(RefCell::new(kernel));
        self.bodies = Default::default();
        self.start_on = start_on;
        self.services = services;
        report
    }

    /// Starts the first process from a command line (its first token names the program).
    pub fn run_command_line(mut self, command_line: &str) -> RunReport {
        self.run_inner(command_line)
    }

    fn run_inner(&mut self, command_line: &str) -> RunReport {
        let program = command_line.split_whitespace().next().unwrap_or("");
        let booted = self.kernel.borrow_mut().net_boot();
        let started = match booted {
            Ok(()) => self.kernel.borrow_mut().start_process(program, command_line),
            Err(o) => {
                self.kernel.borrow_mut().stop = crate::kernel::Stop::of(*o);
                None
            }
        };
        let started = match started {
            Some(first) => self.start_others().map(|()| first),
            None => None,
        };
        let outcome = match started {
            None => match self.kernel.borrow_mut().stop.take() {
                Some(o) => o,
                None => {
                    Outcome::Unsupported { api: "Sim::run".into(), detail: format!("no program named {program:?}") }
                }
            },
            Some(_) => self.drive(),
        };
        self.bodies.clear();
        let mut k = self.kernel.borrow_mut();
        k.end_execution();
        let mut outcome = outcome;
        if let Outcome::Completed { exit_codes } = &mut outcome {
            // `drive_steps` leaves the list in the kernel until its last reader is done.
            *exit_codes = std::mem::take(&mut k.exited);
        }
        RunReport {
            outcome,
            seed: k.config.seed(),
            steps: k.step,
            time_ms: k.now_ms(),
            decisions: k.take_decisions(),
            schedule: k.take_schedule(),
            trace: k.take_trace(),
            races: std::mem::take(&mut k.race.races),
            trace_dropped: k.trace_dropped,
            volume: k.volume_files(),
            // Last, after every other reader: the run is over and nothing reads the
            // kernel's configuration again (the kernel is dropped, or replaced by
            // `run_and_reset`), so it is moved, not copied.
            config: std::mem::take(&mut k.config),
        }
    }

    /// Starts the `start_on` processes; None (with `stop` set) if one cannot start.
    fn start_others(&mut self) -> Option<()> {
        let list = std::mem::take(&mut self.start_on);
        let mut k = self.kernel.borrow_mut();
        for (host, cmd) in list {
            let Some(h) = k.host_id(&host) else {
                k.stop = crate::kernel::Stop::of(Outcome::Unsupported {
                    api: "Sim::start_on".into(),
                    detail: format!("no host named {host:?} (Sim::host adds one)"),
                });
                return None;
            };
            let program = cmd.split_whitespace().next().unwrap_or("").to_string();
            let Some((pid, _)) = k.start_process(&program, &cmd) else {
                if k.stop.is_none() {
                    k.stop = crate::kernel::Stop::of(Outcome::Unsupported {
                        api: "Sim::start_on".into(),
                        detail: format!("no program named {program:?}"),
                    });
                }
                return None;
            };
            k.set_process_host(pid, h);
        }
        for cmd in std::mem::take(&mut self.services) {
            let program = cmd.split_whitespace().next().unwrap_or("").to_string();
            let Some((pid, _)) = k.start_process(&program, &cmd) else {
                if k.stop.is_none() {
                    k.stop = crate::kernel::Stop::of(Outcome::Unsupported {
                        api: "Sim::start_service".into(),
                        detail: format!("no program named {program:?}"),
                    });
                }
                return None;
            };
            k.make_service(pid);
        }
        Some(())
    }

    fn drive(&mut self) -> Outcome {
        // A panic in the kernel itself (a simulator bug) must not take a whole seed sweep
        // down: it ends this run with `Outcome::SimulatorBug`, seed and step included.
        // Panics while the run is driven are outcomes, so the hook records them quietly.
        IN_BODY.with(|b| b.set(true));
        let result = catch_unwind(AssertUnwindSafe(|| self.drive_steps()));
        IN_BODY.with(|b| b.set(false));
        match result {
            Ok(o) => o,
            Err(payload) => {
                let step = self.kernel.try_borrow().map(|k| k.steps()).unwrap_or(0);
                // Where in winsim it panicked: the first thing to look at.
                let at = PANIC_LOCATION.with(|p| p.borrow_mut().take());
                let message = match at {
                    Some(at) => format!("{} (at {at})", panic_message(&*payload)),
                    None => panic_message(&*payload),
                };
                Outcome::SimulatorBug { step, message }
            }
        }
    }

    fn drive_steps(&mut self) -> Outcome {
        {
            let mut k = self.kernel.borrow_mut();
            k.inline_steps = true;
            k.stepping_inline = false;
        }
        let outcome = self.drive_steps_loop();
        if let Ok(mut k) = self.kernel.try_borrow_mut() {
            k.inline_steps = false;
        }
        outcome
    }

    fn drive_steps_loop(&mut self) -> Outcome {
        loop {
            if let Some(o) = self.poll_ready() {
                return o;
            }
            let mut k = self.kernel.borrow_mut();
            if let Some(o) = k.stop.take() {
                return o;
            }
            // The usual case: the choice made from the runnable set's word, without its
            // list (`Kernel::choose_thread_in`); an empty set and the step limit are for
            // the general path below. (A plain step, `Kernel::plain_step`, is below the
            // limit, with the random strategy choosing from the word: one comparison.)
            let mask = match k.plain_step() {
                true => k.parked.low_only(),
                false => k.runnable_mask().filter(|_| k.step < k.config.steps_max),
            };
            // Else one or two runnable threads, one past the word's ids (a program past
            // its first 64 thread ids), chosen without their list (`choose_thread_few`).
            let chosen = match mask {
                Some(mask) if mask != 0 => Some(k.choose_thread_in(mask)),
                _ => match k.runnable_few() {
                    Some((first, second)) if k.step < k.config.steps_max => Some(k.choose_thread_few(first, second)),
                    _ => None,
                },
            };
            if let Some(tid) = chosen {
                k.before_step(tid);
                k.step_thread(tid);
                if let Some(o) = k.stop.take() {
                    return o;
                }
                continue;
            }
            // The runnable set into a buffer kept across steps (no allocation per step).
            let mut runnable = std::mem::take(&mut k.scratch_tids);
            runnable.clear();
            k.parked.extend_into(&mut runnable);
            if runnable.is_empty() {
                k.scratch_tids = runnable;
                if k.live_threads == 0 {
                    // The exit list moves into the outcome after `end_execution` (which
                    // hashes it) instead of being copied here (`run_inner`).
                    return Outcome::Completed { exit_codes: Vec::new() };
                }
                if !k.clock_is_idle() && k.advance_clock() {
                    continue;
                }
                return Outcome::Deadlock(DeadlockReport::build(&k));
            }
            if k.step >= k.config.steps_max {
                k.scratch_tids = runnable;
                return match k.livelock_report() {
                    Some(l) => Outcome::Livelock(l),
                    None => Outcome::StepLimit { steps: k.step },
                };
            }
            let tid = k.choose(ChoiceKind::Thread, &runnable);
            k.scratch_tids = runnable;
            if let Some(o) = k.stop.take() {
                return o;
            }
            k.before_step(tid);
            k.step_thread(tid);
            // A limit reached by this call ends the run before any thread sees the call's
            // result.
            if let Some(o) = k.stop.take() {
                return o;
            }
        }
    }

    /// Runs every thread whose call completed (or that is new) to its next call.
    ///
    /// One `catch_unwind` is around the whole round, not one around each poll (whose
    /// closure's captures cost each poll about ten instructions, issue 13): `polled`
    /// holds the thread and process of the poll under way, and is `None` between polls,
    /// so that a panic outside a poll (a body's destructor, the kernel) goes on to the
    /// driver as it did when only the polls were caught.
    fn poll_ready(&mut self) -> Option<Outcome> {
        let mut polled: Option<(Tid, u32)> = None;
        let result = catch_unwind(AssertUnwindSafe(|| self.poll_round(&mut polled)));
        match result {
            Ok(o) => o,
            Err(payload) => {
                // A panic outside a poll, or in the kernel while this thread's call took
                // the driver's steps (`Kernel::step_inline`), goes on to the driver,
                // which reports it as a simulator bug, as it would have if it had taken
                // the step.
                let Some((tid, pid)) = polled else { std::panic::resume_unwind(payload) };
                if self.kernel.try_borrow().is_ok_and(|k| k.stepping_inline) {
                    std::panic::resume_unwind(payload);
                }
                let message = panic_message(&*payload);
                let location = PANIC_LOCATION.with(|p| p.borrow_mut().take());
                let mut k = self.kernel.borrow_mut();
                k.polling = None;
                // A panic after a misuse of a ThreadCtx reports the misuse.
                if let Some(o) = k.stop.take() {
                    return Some(o);
                }
                if message.starts_with("simulator bug") {
                    // The kernel panicked inside a call made from this body.
                    let step = k.steps();
                    return Some(Outcome::SimulatorBug { step, message });
                }
                k.push_event(tid, EventKind::Panic { message: message.clone() });
                Some(Outcome::Failed { pid, tid, message, location })
            }
        }
    }

    /// `poll_ready`'s round: `polled` is set for each poll (a body's start and its poll)
    /// and cleared after it.
    #[inline(always)]
    fn poll_round(&mut self, polled: &mut Option<(Tid, u32)>) -> Option<Outcome> {
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            // One borrow of the kernel for everything before the poll.
            let mut k = self.kernel.borrow_mut();
            if !k.dead.is_empty() {
                let mut dead: Vec<Tid> = std::mem::take(&mut k.dead);
                drop(k);
                for t in dead.drain(..) {
                    // Dropping a body runs its destructors; the kernel is not borrowed here.
                    drop(self.bodies.remove(&t));
                }
                // The emptied list goes back for the next exits (no allocation per exit).
                let mut k = self.kernel.borrow_mut();
                if k.dead.is_empty() {
                    k.dead = dead;
                }
                continue;
            }
            let tid = k.to_poll.pop_front()?;
            // (`thread_if_mut`, with the thread's object kept for its calls in the poll:
            // `Kernel::polling_oid`.)
            let Some(&oid) = k.tids.get(&tid) else { continue };
            let crate::objects::Body::Thread(t) = &mut k.objects[oid].body else { continue };
            if t.suspend_count > 0 {
                continue;
            }
            // (One match for both tests of the state, issue 13.)
            let fresh = match t.run {
                Run::Ready => false,
                Run::Fresh => true,
                _ => continue,
            };
            // `Ready` and `Fresh` hold nothing to free: the state is forgotten, not
            // dropped (no test of it for a parked request's drop, issue 13).
            std::mem::forget(std::mem::replace(&mut t.run, Run::Running));
            let pid = t.pid;
            let start = if fresh {
                k.push_event(tid, EventKind::ThreadStart);
                k.starts.remove(&tid)
            } else {
                None
            };
            k.polling = Some(tid);
            k.polling_oid = oid;
            k.polled_parked = false;
            drop(k);
            *polled = Some((tid, pid));
            if let Some(start) = start {
                let ctx = ThreadCtx::new(self.kernel.clone(), tid, pid);
                let body = if self.kernel.borrow().has_apcs(tid) {
                    // APCs queued before the thread started (to a CREATE_SUSPENDED
                    // thread, say) run first, before its body (§16.34).
                    Box::pin(async move {
                        ctx.run_apcs().await;
                        start.call(ctx).await
                    })
                } else {
                    start.call(ctx)
                };
                self.bodies.insert(tid, body);
            }
            let fut = self.bodies.get_mut(&tid).expect("a running thread has a body");
            let poll = fut.as_mut().poll(&mut cx);
            *polled = None;
            // (A stop is looked for before it is taken: `take` writes its field back.)
            match poll {
                Poll::Ready(code) => {
                    drop(self.bodies.remove(&tid));
                    let mut k = self.kernel.borrow_mut();
                    k.polling = None;
                    if !k.stop.is_none() {
                        return k.stop.take();
                    }
                    k.thread_returned(tid, code);
                }
                Poll::Pending => {
                    let mut k = self.kernel.borrow_mut();
                    k.polling = None;
                    if !k.stop.is_none() {
                        return k.stop.take();
                    }
                    // The thread is still running (`Run::Running`) exactly when it has not
                    // parked since it was made running: the kernel's note of that
                    // (`Kernel::polled_parked`) stands for a lookup of the thread. (Only
                    // a step changes a thread's state, and a step is taken in a poll
                    // only from a call the polled thread parked at.)
                    debug_assert_eq!(
                        !k.polled_parked,
                        k.thread_if_mut(tid).is_some_and(|t| matches!(t.run, Run::Running)),
                        "simulator bug: T{tid}'s note of its park is wrong"
                    );
                    if !k.polled_parked {
                        let message = "the thread body awaited a future that is not a winsim call; \
                                       simulated threads may only await ThreadCtx calls"
                            .to_string();
                        k.push_event(tid, EventKind::Panic { message: message.clone() });
                        return Some(Outcome::Failed { pid, tid, message, location: None });
                    }
                }
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}
