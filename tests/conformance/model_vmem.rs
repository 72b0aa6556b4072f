//! Kernel versus reference model (sim-model's `memory`) on sections, views and private
//! memory: random single-threaded programs of CreateFileMapping (named or not, with
//! SEC_COMMIT or SEC_RESERVE, valid and invalid protections and sizes), OpenFileMapping,
//! MapViewOfFile (every access, aligned and misaligned offsets, sizes past the end),
//! UnmapViewOfFile, CloseHandle, writes and reads through views (copy-on-write included)
//! and private memory, VirtualQuery, VirtualAlloc (reserve, commit, both, on views),
//! VirtualFree and VirtualProtect run on the kernel, and the same program runs on the
//! model, where a section is a plain `Vec<u8>`. They must agree on every call's return
//! value and last error, every byte read, every VirtualQuery field, and on the access
//! violation (address, read or write) that ends a program. Section numbers refer to
//! docs/semantics.md §§19 and 29.

use crate::support::SENTINEL;
use proptest::prelude::*;
use sim_core::prelude::*;
use sim_model::memory::{Info, MemoryModel, Res};
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, Clone)]
enum Op {
    Create { protect: u32, size: u32, name: Option<&'static str> },
    Open { access: u32, name: &'static str },
    Close(usize),
    Map { slot: usize, access: u32, offset: u32, bytes: usize },
    Unmap { target: usize, offset: usize },
    Write { target: usize, offset: usize, len: usize, byte: u8 },
    Read { target: usize, offset: usize, len: usize },
    Query { target: usize, offset: usize },
    Alloc { target: Option<usize>, offset: usize, size: usize, ty: u32, protect: u32 },
    Free { target: usize, offset: usize, size: usize, ty: u32 },
    Protect { target: usize, offset: usize, size: usize, protect: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let name = prop_oneof![Just(None), Just(Some("a")), Just(Some("b"))];
    let protect = prop_oneof![
        3 => Just(PAGE_READWRITE),
        1 => Just(PAGE_READONLY),
        1 => Just(PAGE_WRITECOPY),
        1 => Just(PAGE_READWRITE | SEC_RESERVE),
        1 => Just(PAGE_READWRITE | SEC_COMMIT),
        1 => Just(0u32),
    ];
    let size = prop_oneof![Just(0x1000u32), Just(0x2345), Just(0x20000), Just(0)];
    let access = prop_oneof![
        3 => Just(FILE_MAP_WRITE),
        2 => Just(FILE_MAP_READ),
        2 => Just(FILE_MAP_COPY),
        1 => Just(0u32),
        1 => Just(FILE_MAP_ALL_ACCESS),
    ];
    let page_protect = prop_oneof![
        3 => Just(PAGE_READWRITE),
        2 => Just(PAGE_READONLY),
        1 => Just(PAGE_NOACCESS),
        1 => Just(PAGE_EXECUTE_READ),
        1 => Just(0u32),
    ];
    let offset = prop_oneof![0usize..0x40, Just(0xFFE), Just(0x1000), 0x1000usize..0x21000];
    prop_oneof![
        3 => (protect, size, name.clone()).prop_map(|(protect, size, name)| Op::Create { protect, size, name }),
        1 => (prop_oneof![Just(FILE_MAP_READ), Just(FILE_MAP_WRITE), Just(FILE_MAP_READ | FILE_MAP_WRITE)], prop_oneof![Just("a"), Just("b")])
            .prop_map(|(access, name)| Op::Open { access, name }),
        1 => (0usize..8).prop_map(Op::Close),
        4 => (0usize..8, access, prop_oneof![Just(0u32), Just(0x10000), Just(0x1000)], prop_oneof![Just(0usize), Just(0x1000), Just(0x10001)])
            .prop_map(|(slot, access, offset, bytes)| Op::Map { slot, access, offset, bytes }),
        1 => (0usize..8, 0usize..0x2000).prop_map(|(target, offset)| Op::Unmap { target, offset }),
        5 => (0usize..8, offset.clone(), 1usize..12, any::<u8>())
            .prop_map(|(target, offset, len, byte)| Op::Write { target, offset, len, byte }),
        4 => (0usize..8, offset.clone(), 1usize..12).prop_map(|(target, offset, len)| Op::Read { target, offset, len }),
        3 => (0usize..8, offset.clone()).prop_map(|(target, offset)| Op::Query { target, offset }),
        4 => (
            prop_oneof![Just(None), (0usize..8).prop_map(Some)],
            offset.clone(),
            prop_oneof![Just(0x1000usize), Just(0x3000), Just(0x20000), Just(0)],
            prop_oneof![Just(MEM_COMMIT), Just(MEM_RESERVE), Just(MEM_COMMIT | MEM_RESERVE), Just(0u32)],
            page_protect.clone(),
        )
            .prop_map(|(target, offset, size, ty, protect)| Op::Alloc { target, offset, size, ty, protect }),
        2 => (0usize..8, offset.clone(), prop_oneof![Just(0usize), Just(0x1000), Just(1)], prop_oneof![Just(MEM_DECOMMIT), Just(MEM_RELEASE), Just(0u32)])
            .prop_map(|(target, offset, size, ty)| Op::Free { target, offset, size, ty }),
        3 => (0usize..8, offset, prop_oneof![Just(0x1000usize), Just(1), Just(0x3000)], page_protect)
            .prop_map(|(target, offset, size, protect)| Op::Protect { target, offset, size, protect }),
    ]
}

fn show_res(r: Res) -> String {
    match r {
        Ok((v, e)) => format!("ok {v:#x} err {}", e.map_or("-".into(), |e| e.to_string())),
        Err(e) => format!("fail err {e}"),
    }
}

fn show_info(i: Info) -> String {
    format!(
        "base {:#x} alloc {:#x} aprot {:#x} size {:#x} state {:#x} prot {:#x} type {:#x}",
        i.base, i.allocation_base, i.allocation_protect, i.size, i.state, i.protect, i.ty
    )
}

/// Runs the program on the model: one line per call, and the fault that ends it.
fn on_model(ops: &[Op]) -> Vec<String> {
    let mut m = MemoryModel::new();
    let mut targets: Vec<u64> = Vec::new();
    let mut slots = 0usize;
    let mut out = Vec::new();
    let t = |targets: &Vec<u64>, i: usize, off: usize| {
        targets.get(i % targets.len().max(1)).map_or(0x1000_0000, |b| *b) + off as u64
    };
    for op in ops {
        let line = match op {
            Op::Create { protect, size, name } => {
                let r = m.create(*protect, u64::from(*size), *name);
                if r.is_ok() {
                    slots += 1;
                }
                show_res(r.map(|(_, e)| (1, e)))
            }
            Op::Open { access, name } => {
                let r = m.open(*access, name);
                if r.is_ok() {
                    slots += 1;
                }
                show_res(r.map(|(_, e)| (1, e)))
            }
            Op::Close(s) => show_res(if slots == 0 { Err(6) } else { m.close(s % slots) }),
            Op::Map { slot, access, offset, bytes } => {
                let r =
                    if slots == 0 { Err(6) } else { m.map(slot % slots, *access, u64::from(*offset), *bytes as u64) };
                if let Ok((a, _)) = r {
                    targets.push(a);
                }
                show_res(r)
            }
            Op::Unmap { target, offset } => show_res(m.unmap(t(&targets, *target, *offset))),
            Op::Write { target, offset, len, byte } => {
                let a = t(&targets, *target, *offset);
                if let Some(f) = m.fault(a, *len as u64, true) {
                    out.push(format!("fault {f:#x} write true"));
                    return out;
                }
                m.write(a, &vec![*byte; *len]);
                "written".into()
            }
            Op::Read { target, offset, len } => {
                let a = t(&targets, *target, *offset);
                if let Some(f) = m.fault(a, *len as u64, false) {
                    out.push(format!("fault {f:#x} write false"));
                    return out;
                }
                format!("read {:?}", m.read(a, *len as u64))
            }
            Op::Query { target, offset } => match m.query(t(&targets, *target, *offset)) {
                Ok(i) => show_info(i),
                Err(e) => format!("fail err {e}"),
            },
            Op::Alloc { target, offset, size, ty, protect } => {
                let a = target.map_or(0, |i| t(&targets, i, *offset));
                let r = m.alloc(a, *size as u64, *ty, *protect);
                if let (Ok((p, _)), None) = (r, target) {
                    targets.push(p);
                }
                show_res(r)
            }
            Op::Free { target, offset, size, ty } => show_res(m.free(t(&targets, *target, *offset), *size as u64, *ty)),
            Op::Protect { target, offset, size, protect } => {
                show_res(m.protect(t(&targets, *target, *offset), *size as u64, *protect))
            }
        };
        out.push(line);
    }
    out
}

/// Runs the program on the kernel, with the same lines.
fn on_kernel(ops: Vec<Op>) -> Vec<String> {
    let out = Rc::new(RefCell::new(Vec::new()));
    let o2 = out.clone();
    let mut sim = Sim::new(Config { memory_atomic_bytes: 4096, ..Config::round_robin() });
    sim.program("test.exe", move |ctx| {
        let (ops, out) = (ops.clone(), o2.clone());
        async move {
            let mut targets: Vec<u64> = Vec::new();
            // Closed slots hold a value that names no handle (values are reused).
            let mut slots: Vec<HANDLE> = Vec::new();
            const CLOSED: HANDLE = HANDLE(0x7777_0000);
            let t = |targets: &Vec<u64>, i: usize, off: usize| {
                (targets.get(i % targets.len().max(1)).map_or(0x1000_0000, |b| *b) + off as u64) as usize
            };
            let res = |ok: bool, v: u64, e: Win32Error| {
                if ok {
                    format!("ok {v:#x} err {}", if e.0 == SENTINEL { "-".to_string() } else { e.0.to_string() })
                } else {
                    format!("fail err {}", e.0)
                }
            };
            for op in ops {
                ctx.set_last_error(SENTINEL);
                let line = match op {
                    Op::Create { protect, size, name } => {
                        let h = ctx.create_file_mapping(INVALID_HANDLE_VALUE, None, protect, 0, size, name).await;
                        if !h.is_null() {
                            slots.push(h);
                        }
                        res(!h.is_null(), 1, ctx.get_last_error())
                    }
                    Op::Open { access, name } => {
                        let h = ctx.open_file_mapping(access, false, Some(name)).await;
                        if !h.is_null() {
                            slots.push(h);
                        }
                        res(!h.is_null(), 1, ctx.get_last_error())
                    }
                    Op::Close(s) => {
                        let h = if slots.is_empty() { HANDLE(0x1234) } else { slots[s % slots.len()] };
                        let ok = ctx.close_handle(h).await == TRUE;
                        if ok {
                            let n = slots.len();
                            slots[s % n] = CLOSED;
                        }
                        res(ok, 1, ctx.get_last_error())
                    }
                    Op::Map { slot, access, offset, bytes } => {
                        let h = if slots.is_empty() { HANDLE(0x1234) } else { slots[slot % slots.len()] };
                        let a = ctx.map_view_of_file(h, access, 0, offset, bytes).await;
                        if a != 0 {
                            targets.push(a as u64);
                        }
                        res(a != 0, a as u64, ctx.get_last_error())
                    }
                    Op::Unmap { target, offset } => {
                        let ok = ctx.unmap_view_of_file(t(&targets, target, offset)).await == TRUE;
                        res(ok, 1, ctx.get_last_error())
                    }
                    Op::Write { target, offset, len, byte } => {
                        ctx.write_memory(t(&targets, target, offset), &vec![byte; len]).await;
                        "written".into()
                    }
                    Op::Read { target, offset, len } => {
                        let mut buf = vec![0u8; len];
                        ctx.read_memory(t(&targets, target, offset), &mut buf).await;
                        format!("read {buf:?}")
                    }
                    Op::Query { target, offset } => {
                        let mut i = MEMORY_BASIC_INFORMATION::default();
                        if ctx.virtual_query(t(&targets, target, offset), &mut i, 48).await == 48 {
                            show_info(Info {
                                base: i.BaseAddress as u64,
                                allocation_base: i.AllocationBase as u64,
                                allocation_protect: i.AllocationProtect,
                                size: i.RegionSize as u64,
                                state: i.State,
                                protect: i.Protect,
                                ty: i.Type,
                            })
                        } else {
                            format!("fail err {}", ctx.get_last_error().0)
                        }
                    }
                    Op::Alloc { target, offset, size, ty, protect } => {
                        let a = target.map_or(0, |i| t(&targets, i, offset));
                        let p = ctx.virtual_alloc(a, size, ty, protect).await;
                        if p != 0 && target.is_none() {
                            targets.push(p as u64);
                        }
                        res(p != 0, p as u64, ctx.get_last_error())
                    }
                    Op::Free { target, offset, size, ty } => {
                        let ok = ctx.virtual_free(t(&targets, target, offset), size, ty).await == TRUE;
                        res(ok, 1, ctx.get_last_error())
                    }
                    Op::Protect { target, offset, size, protect } => {
                        let mut old = 0;
                        let ok =
                            ctx.virtual_protect(t(&targets, target, offset), size, protect, &mut old).await == TRUE;
                        res(ok, u64::from(old), ctx.get_last_error())
                    }
                };
                out.borrow_mut().push(line);
            }
            0
        }
    });
    let r = sim.run("test.exe");
    let mut lines = out.borrow().clone();
    match r.outcome {
        Outcome::AccessViolation { address, write, .. } => lines.push(format!("fault {address:#x} write {write}")),
        Outcome::Completed { .. } => {}
        o => lines.push(format!("outcome {o:?}")),
    }
    lines
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§19, 29: the kernel and the byte-vector model agree call by call.
    #[test]
    fn kernel_agrees_with_the_memory_model(ops in proptest::collection::vec(op(), 1..40)) {
        let model = on_model(&ops);
        let kernel = on_kernel(ops.clone());
        prop_assert_eq!(&kernel, &model, "ops {:?}", ops);
    }
}
