//! Kernel versus reference model (sim-model::messages) on message queues: two threads,
//! each with windows, post to each other's windows and threads, post quit, peek with
//! every kind of filter, range and PM_QS mask, and read their queue status, under random
//! seeds and a small posted-message quota. Every call the kernel executed is replayed, in
//! trace order, on the model, and both must agree on its result: return value, last
//! error, and the message retrieved.
//!
//! Section numbers (§17.X) refer to docs/semantics.md, which gives each fact its source.

use proptest::prelude::*;
use sim_core::objects::window::message_name;
use sim_core::prelude::*;
use sim_core::trace::{Arg, ArgValue, EventKind, Ret};
use sim_model::messages::{Filter, Msg, QueueModel};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

const MESSAGES: [u32; 9] =
    [WM_USER, WM_USER + 1, WM_USER + 3, WM_QUIT, WM_HOTKEY, WM_TIMER, WM_COPYDATA, WM_SETTEXT, WM_CHAR];
const RANGES: [(u32, u32); 6] = [
    (0, 0),
    (WM_USER, WM_USER),
    (WM_USER + 1, WM_USER + 5),
    (WM_QUIT, WM_QUIT),
    (WM_USER + 3, WM_USER),
    (WM_HOTKEY, WM_HOTKEY),
];
const PEEK_FLAGS: [u32; 6] = [
    PM_NOREMOVE,
    PM_REMOVE,
    PM_REMOVE | PM_QS_POSTMESSAGE,
    PM_REMOVE | PM_QS_SENDMESSAGE,
    PM_NOREMOVE | PM_QS_INPUT,
    PM_REMOVE | (QS_HOTKEY << 16),
];
const STATUS_FLAGS: [u32; 7] =
    [QS_POSTMESSAGE, QS_ALLINPUT, QS_HOTKEY, QS_POSTMESSAGE | QS_SENDMESSAGE, 0xFFFF_FFFF, QS_ALLPOSTMESSAGE, 0x2000];

/// One call of a thread's script.
#[derive(Debug, Clone)]
enum Op {
    /// PostMessage to: 0, 1 = the first thread's windows, 2 = the second's, 3 = NULL,
    /// 4 = a value that is no window.
    Post { to: u8, msg: u8, w: u8 },
    /// PostThreadMessage to: 0 = the first thread, 1 = the second, 2 = no thread.
    PostThread { to: u8, msg: u8, w: u8 },
    /// PostQuitMessage.
    Quit(u8),
    /// PeekMessage with filter (0-9, see `filter`), range and flags.
    Peek { filter: u8, range: u8, flags: u8 },
    /// GetQueueStatus.
    Status(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..5, 0u8..9, any::<u8>()).prop_map(|(to, msg, w)| Op::Post { to, msg, w }),
        2 => (0u8..3, 0u8..9, any::<u8>()).prop_map(|(to, msg, w)| Op::PostThread { to, msg, w }),
        1 => any::<u8>().prop_map(Op::Quit),
        4 => (0u8..10, 0u8..6, 0u8..6).prop_map(|(filter, range, flags)| Op::Peek { filter, range, flags }),
        2 => (0u8..7).prop_map(Op::Status),
    ]
}

#[derive(Debug, Clone)]
struct Program {
    quota: u32,
    first: Vec<Op>,
    second: Vec<Op>,
}

fn program() -> impl Strategy<Value = Program> {
    (1u32..6, proptest::collection::vec(op(), 0..16), proptest::collection::vec(op(), 0..16))
        .prop_map(|(quota, first, second)| Program { quota, first, second })
}

/// The shared state of a run: windows (first thread's two, second's one) and thread ids.
#[derive(Default)]
struct Shared {
    windows: [HWND; 3],
    tids: [u32; 2],
}

async fn window(ctx: &ThreadCtx, class: &str) -> HWND {
    let proc = wndproc(|ctx, hwnd, msg, w, l| async move { ctx.def_window_proc(hwnd, msg, w, l).await });
    let _ = ctx.register_class_ex(&WNDCLASSEX::new(class, proc)).await;
    ctx.create_window_ex(0, class, "", 0, 0, 0, 0, 0, HWND_MESSAGE, 0).await
}

fn filter_hwnd(sh: &Shared, f: u8) -> HWND {
    match f {
        0 => HWND::NULL,
        1 => HWND(-1),
        2 => HWND(1),
        3 => HWND_BROADCAST,
        4 => HWND_NOTOPMOST,
        5 => HWND_MESSAGE,
        6..=8 => sh.windows[usize::from(f - 6)],
        _ => HWND(0xdead0),
    }
}

async fn run_ops(ctx: &ThreadCtx, sh: &Rc<RefCell<Shared>>, ops: &[Op]) {
    for op in ops {
        let (windows, tids) = {
            let s = sh.borrow();
            (s.windows, s.tids)
        };
        match *op {
            Op::Post { to, msg, w } => {
                let hwnd = match to {
                    0..=2 => windows[usize::from(to)],
                    3 => HWND::NULL,
                    _ => HWND(0xdead0),
                };
                let _ = ctx.post_message(hwnd, MESSAGES[usize::from(msg)], usize::from(w), 0).await;
            }
            Op::PostThread { to, msg, w } => {
                let tid = if to < 2 { tids[usize::from(to)] } else { 0x7777 };
                let _ = ctx.post_thread_message(tid, MESSAGES[usize::from(msg)], usize::from(w), 0).await;
            }
            Op::Quit(code) => ctx.post_quit_message(i32::from(code)).await,
            Op::Peek { filter, range, flags } => {
                let (min, max) = RANGES[usize::from(range)];
                let mut m = MSG::default();
                let hwnd = filter_hwnd(&sh.borrow(), filter);
                let _ = ctx.peek_message(&mut m, hwnd, min, max, PEEK_FLAGS[usize::from(flags)]).await;
            }
            Op::Status(f) => {
                let _ = ctx.get_queue_status(STATUS_FLAGS[usize::from(f)]).await;
            }
        }
    }
}

fn run(p: &Program, seed: u64) -> RunReport {
    let p = Rc::new(p.clone());
    let mut config = Config::random(seed);
    config.posted_messages_max = p.quota;
    let mut sim = Sim::new(config);
    sim.program("model.exe", move |ctx| {
        let p = p.clone();
        async move {
            let sh = Rc::new(RefCell::new(Shared::default()));
            let w0 = window(&ctx, "a0").await;
            let w1 = window(&ctx, "a1").await;
            {
                let mut s = sh.borrow_mut();
                s.windows[0] = w0;
                s.windows[1] = w1;
                s.tids[0] = ctx.get_current_thread_id();
            }
            let ready = ctx.create_event(None, true, false, None).await;
            let (sh2, p2) = (sh.clone(), p.clone());
            let second = ctx
                .create_thread(
                    None,
                    0,
                    move |ctx| async move {
                        let wb = window(&ctx, "b").await;
                        {
                            let mut s = sh2.borrow_mut();
                            s.windows[2] = wb;
                            s.tids[1] = ctx.get_current_thread_id();
                        }
                        ctx.set_event(ready).await;
                        run_ops(&ctx, &sh2, &p2.second).await;
                        0
                    },
                    0,
                    None,
                )
                .await;
            ctx.wait_for_single_object(ready, INFINITE).await;
            run_ops(&ctx, &sh, &p.first).await;
            ctx.wait_for_single_object(second, INFINITE).await;
            0
        }
    });
    sim.run("model.exe")
}

fn arg<'a>(step: u64, args: &'a [Arg], name: &str) -> Result<&'a ArgValue, String> {
    args.iter()
        .find(|a| a.name == name)
        .map(|a| &a.value)
        .ok_or_else(|| format!("step {step}: no {name:?} in {args:?}"))
}

fn text(step: u64, v: &ArgValue) -> Result<String, String> {
    match v {
        ArgValue::Str(Some(s)) | ArgValue::Sym(s) => Ok(s.clone()),
        other => Err(format!("step {step}: expected a string, got {other:?}")),
    }
}

fn int(step: u64, v: &ArgValue) -> Result<i64, String> {
    match v {
        ArgValue::I64(x) => Ok(*x),
        ArgValue::I32(x) => Ok(i64::from(*x)),
        ArgValue::U32(x) | ArgValue::Flags(x) => Ok(i64::from(*x)),
        other => Err(format!("step {step}: expected a number, got {other:?}")),
    }
}

/// A message number from its rendered name (the program uses only `MESSAGES` and the
/// range bounds).
fn number(step: u64, name: &str) -> Result<u32, String> {
    let all = MESSAGES.iter().copied().chain(RANGES.iter().flat_map(|&(a, b)| [a, b]));
    if name == "0" {
        return Ok(0);
    }
    all.into_iter().find(|&m| message_name(m) == name).ok_or_else(|| format!("step {step}: unknown message {name}"))
}

/// Replays the kernel's calls on the model, in trace order, and compares each result.
fn compare(p: &Program, r: &RunReport) -> Result<(), String> {
    if r.trace_dropped != 0 {
        return Err(format!("{} trace events dropped", r.trace_dropped));
    }
    let mut queues: BTreeMap<u32, QueueModel> = BTreeMap::new();
    // Rendered HWND -> (owner thread, window number for the model).
    let mut windows: BTreeMap<String, (u32, i64)> = BTreeMap::new();
    let quota = p.quota as usize;
    for e in &r.trace {
        let (step, tid) = (e.step, e.tid);
        if let EventKind::ThreadExit { .. } = e.kind {
            // Its queue and windows go with it (§17.M2-M3).
            queues.remove(&tid);
            windows.retain(|_, (t, _)| *t != tid);
            continue;
        }
        let EventKind::Call { api, args, ret, outs, error, .. } = &e.kind else { continue };
        match &**api {
            "CreateWindowEx" => {
                let Ret::Hwnd(h) = ret else { return Err(format!("step {step}: CreateWindowEx returned {ret}")) };
                windows.insert(h.to_string(), (tid, h.0 as i64));
                queues.entry(tid).or_insert_with(|| QueueModel::new(quota));
            }
            "PostMessage" | "PostThreadMessage" => {
                let msg = number(step, &text(step, arg(step, args, "msg")?)?)?;
                let w = int(step, arg(step, args, "wparam")?)? as u64;
                let (target, hwnd) = if api == "PostMessage" {
                    let h = text(step, arg(step, args, "hwnd")?)?;
                    if h == "NULL" { (Some(tid), 0) } else { windows.get(&h).map_or((None, 0), |&(t, v)| (Some(t), v)) }
                } else {
                    let t = int(step, arg(step, args, "thread_id")?)? as u32;
                    (queues.contains_key(&t).then_some(t), 0)
                };
                let want = match target {
                    // §17.B1 / A2: no such window or thread (checked before the message).
                    None if api == "PostMessage" => Err(1400),
                    None => Err(1444),
                    Some(t) => queues.entry(t).or_insert_with(|| QueueModel::new(quota)).post(Msg {
                        hwnd,
                        message: msg,
                        wparam: w,
                    }),
                };
                // The kernel checks sync-only messages before the target (§17.B2).
                let want = match want {
                    Err(1400 | 1444)
                        if msg < WM_USER && [0x0001, 0x000C, 0x000D, 0x004A, 0x0081, 0x0083].contains(&msg) =>
                    {
                        Err(1159)
                    }
                    w => w,
                };
                let got = match (ret, error) {
                    (Ret::Bool(true), None) => Ok(()),
                    (Ret::Bool(false), Some(e)) => Err(e.0),
                    _ => return Err(format!("step {step}: {api} returned {ret} with {error:?}")),
                };
                if got != want {
                    return Err(format!("step {step}: T{tid} {api}: kernel {got:?}, model {want:?}"));
                }
            }
            "PostQuitMessage" => {
                let code = int(step, arg(step, args, "exit_code")?)?;
                queues.entry(tid).or_insert_with(|| QueueModel::new(quota)).post_quit(code as u64);
            }
            "PeekMessage" => {
                let h = text(step, arg(step, args, "hwnd")?)?;
                let min = number(step, &text(step, arg(step, args, "min")?)?)?;
                let max = number(step, &text(step, arg(step, args, "max")?)?)?;
                let flags = int(step, arg(step, args, "remove")?)? as u32;
                let filter = match h.as_str() {
                    "NULL" => Some(Filter::Any),
                    "(HWND)-1" | "hwnd:0x1" | "HWND_BROADCAST" => Some(Filter::ThreadOnly),
                    "(HWND)-2" | "HWND_MESSAGE" => Some(Filter::Nothing),
                    other => match windows.get(other) {
                        Some(&(t, v)) if t == tid => Some(Filter::Window(v)),
                        Some(_) => Some(Filter::Nothing),
                        None => None,
                    },
                };
                let q = queues.entry(tid).or_insert_with(|| QueueModel::new(quota));
                let want = match filter {
                    None => Err(1400),
                    Some(f) => Ok(q.peek(f, min, max, flags)),
                };
                let got = match (ret, error) {
                    (Ret::Bool(false), Some(e)) => Err(e.0),
                    (Ret::Bool(false), None) => Ok(None),
                    (Ret::Bool(true), None) => {
                        let hwnd = text(step, arg(step, outs, "hwnd")?)?;
                        let hwnd = if hwnd == "NULL" {
                            0
                        } else {
                            windows.get(&hwnd).map(|&(_, v)| v).ok_or(format!("step {step}: unknown hwnd {hwnd}"))?
                        };
                        let message = number(step, &text(step, arg(step, outs, "message")?)?)?;
                        let wparam = int(step, arg(step, outs, "wParam")?)? as u64;
                        Ok(Some(Msg { hwnd, message, wparam }))
                    }
                    _ => return Err(format!("step {step}: PeekMessage returned {ret} with {error:?}")),
                };
                if got != want {
                    return Err(format!(
                        "step {step}: T{tid} PeekMessage({h}, {min:#x}, {max:#x}, {flags:#x}): kernel {got:?}, model {want:?}"
                    ));
                }
            }
            "GetQueueStatus" => {
                let flags = int(step, arg(step, args, "flags")?)? as u32;
                let want = queues.entry(tid).or_insert_with(|| QueueModel::new(quota)).get_queue_status(flags);
                let got = match (ret, error) {
                    (Ret::Long(v), None) => Ok(*v as u32),
                    (Ret::Long(0), Some(e)) => Err(e.0),
                    _ => return Err(format!("step {step}: GetQueueStatus returned {ret} with {error:?}")),
                };
                if got != want {
                    return Err(format!(
                        "step {step}: T{tid} GetQueueStatus({flags:#x}): kernel {got:?}, model {want:?}"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §17.A2-A6, B1-B3, B7, C5, C7, D2, D4-D5, D11, E1-E4, G1-G5 as stated by sim-model,
    /// against the kernel.
    #[test]
    fn kernel_message_queues_agree_with_the_model(p in program(), seed in any::<u64>()) {
        let r = run(&p, seed);
        prop_assert!(matches!(r.outcome, Outcome::Completed { .. }), "{}\n{}", r.summary(), r.trace_text());
        if let Err(e) = compare(&p, &r) {
            prop_assert!(false, "{}\n{:?}\n{}", e, p, r.trace_text());
        }
    }
}
