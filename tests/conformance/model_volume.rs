//! Kernel versus reference model (sim-model's `volume`) on files of the in-memory volume:
//! random sequences of CreateFile (every disposition, access and share mode, three names
//! in two spellings), ReadFile, WriteFile, SetFilePointerEx, SetEndOfFile, GetFileSizeEx,
//! DeleteFile and CloseHandle run on one thread; every call's return value, last error and
//! bytes read must be the model's. Handles are named by the index of the CreateFile that
//! made them (an index never made is a closed or bad handle). Section numbers refer to
//! docs/semantics.md §28.

use proptest::prelude::*;
use sim_core::prelude::*;
use sim_model::volume::{Answer, Volume};
use std::cell::RefCell;
use std::rc::Rc;

const NAMES: [&str; 4] = ["a.txt", "A.TXT", "b.bin", "c.dat"];

#[derive(Debug, Clone)]
enum Op {
    Create { name: usize, access: u32, share: u32, disposition: u32 },
    Read { h: usize, len: u32 },
    Write { h: usize, len: u32, byte: u8 },
    Seek { h: usize, distance: i64, method: u32 },
    SetEnd { h: usize },
    Size { h: usize },
    Delete { name: usize },
    Close { h: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let access = prop_oneof![
        Just(GENERIC_READ | GENERIC_WRITE),
        Just(GENERIC_READ),
        Just(GENERIC_WRITE),
        Just(0u32),
        Just(FILE_APPEND_DATA),
        Just(GENERIC_READ | DELETE),
        Just(FILE_READ_DATA | FILE_WRITE_DATA),
    ];
    let h = 0usize..8;
    prop_oneof![
        3 => (0usize..4, access, 0u32..8, 0u32..7).prop_map(|(name, access, share, disposition)| Op::Create { name, access, share, disposition }),
        2 => (h.clone(), 0u32..40).prop_map(|(h, len)| Op::Read { h, len }),
        2 => (h.clone(), 0u32..40, any::<u8>()).prop_map(|(h, len, byte)| Op::Write { h, len, byte }),
        2 => (h.clone(), prop_oneof![-50i64..100, Just(i64::MAX), Just(i64::MIN)], 0u32..4)
            .prop_map(|(h, distance, method)| Op::Seek { h, distance, method }),
        1 => h.clone().prop_map(|h| Op::SetEnd { h }),
        1 => h.clone().prop_map(|h| Op::Size { h }),
        1 => (0usize..4).prop_map(|name| Op::Delete { name }),
        1 => h.prop_map(|h| Op::Close { h }),
    ]
}

/// The answers the model gives, one per op.
fn model(ops: &[Op]) -> Vec<Answer> {
    let mut v = Volume::default();
    ops.iter()
        .map(|op| match *op {
            Op::Create { name, access, share, disposition } => v.create(NAMES[name], access, share, disposition),
            Op::Read { h, len } => v.read(h, len),
            Op::Write { h, len, byte } => v.write(h, len, byte),
            Op::Seek { h, distance, method } => v.seek(h, distance, method),
            Op::SetEnd { h } => v.set_end(h),
            Op::Size { h } => v.size(h),
            Op::Delete { name } => v.delete(NAMES[name]),
            Op::Close { h } => v.close(h),
        })
        .collect()
}

/// The answers the kernel gives (the last error read after each call; left alone shows
/// as the sentinel, which becomes `None`).
fn kernel(ops: Vec<Op>, seed: u64) -> Vec<Answer> {
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    let mut sim = Sim::new(Config::random(seed));
    sim.program("main", move |ctx| {
        let (ops, out) = (ops.clone(), o.clone());
        async move {
            let mut handles: Vec<HANDLE> = Vec::new();
            let hv = |handles: &Vec<HANDLE>, h: usize| handles.get(h).copied().unwrap_or(HANDLE(0x7770));
            for op in ops {
                ctx.set_last_error(0xdead_beefu32);
                let mut data = Vec::new();
                let ret: i64 = match op {
                    Op::Create { name, access, share, disposition } => {
                        let path = format!(r"C:\{}", NAMES[name]);
                        let h = ctx.create_file(&path, access, share, None, disposition, 0, HANDLE::NULL).await;
                        if h == INVALID_HANDLE_VALUE {
                            -1
                        } else {
                            handles.push(h);
                            handles.len() as i64 - 1
                        }
                    }
                    Op::Read { h, len } => {
                        let mut buf = vec![0u8; len as usize];
                        let mut n = 0;
                        let r = ctx.read_file(hv(&handles, h), &mut buf, Some(&mut n)).await;
                        data = buf[..n as usize].to_vec();
                        i64::from(r)
                    }
                    Op::Write { h, len, byte } => {
                        i64::from(ctx.write_file(hv(&handles, h), &vec![byte; len as usize], None).await)
                    }
                    Op::Seek { h, distance, method } => {
                        let mut p = 0;
                        let r = ctx.set_file_pointer_ex(hv(&handles, h), distance, Some(&mut p), method).await;
                        if r == TRUE { p } else { 0 }
                    }
                    Op::SetEnd { h } => i64::from(ctx.set_end_of_file(hv(&handles, h)).await),
                    Op::Size { h } => {
                        let mut s = 0;
                        let r = ctx.get_file_size_ex(hv(&handles, h), Some(&mut s)).await;
                        if r == TRUE { s } else { 0 }
                    }
                    Op::Delete { name } => i64::from(ctx.delete_file(&format!(r"C:\{}", NAMES[name])).await),
                    Op::Close { h } => {
                        // A handle closed once is closed for good (never reused by index).
                        let v = hv(&handles, h);
                        let r = ctx.close_handle(v).await;
                        if let Some(slot) = handles.get_mut(h) {
                            *slot = HANDLE(0x7770);
                        }
                        i64::from(r)
                    }
                };
                let e = ctx.get_last_error().0;
                out.borrow_mut().push(Answer { ret, error: (e != 0xdead_beef).then_some(e), data });
            }
            0
        }
    });
    let r = sim.run("main");
    assert!(r.outcome.is_completed(), "{}\n{}", r.summary(), r.trace_text());
    out.take()
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]
    /// §§28.4-28.12, 28.17, 28.18: the kernel's files agree with the model, call by call.
    #[test]
    fn kernel_file_calls_agree_with_the_model(ops in proptest::collection::vec(op(), 0..60), seed in any::<u64>()) {
        let want = model(&ops);
        let got = kernel(ops.clone(), seed);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            prop_assert_eq!(g, w, "op {} {:?} of {:?}", i, ops[i], ops);
        }
        prop_assert_eq!(got.len(), want.len());
    }
}
