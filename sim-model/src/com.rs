//! COM apartments, reference model (docs/semantics.md §21; facts numbered as in
//! com-apartments.md): per-thread initialisation counting (CI-2, CI-3, CI-4), apartment
//! identity (CI-5, CI-7), the MTA's lifetime (CI-7, CI-8), and the checks a call through a
//! proxy makes before anything is sent (MP-5, SD-1, SD-2: J.1's order). One process; the
//! callers name threads, objects, pointers and streams by the numbers the kernel gave them.
//! No calls are carried: the model says what the proxy answers at once (S_OK: the call
//! goes out).

use std::collections::BTreeMap;

/// S_OK.
pub const S_OK: u32 = 0;
/// S_FALSE.
pub const S_FALSE: u32 = 1;
/// E_INVALIDARG.
pub const E_INVALIDARG: u32 = 0x8007_0057;
/// CO_E_NOTINITIALIZED.
pub const CO_E_NOTINITIALIZED: u32 = 0x8004_01F0;
/// CO_E_OBJNOTCONNECTED.
pub const CO_E_OBJNOTCONNECTED: u32 = 0x8004_01FD;
/// RPC_E_CHANGED_MODE.
pub const RPC_E_CHANGED_MODE: u32 = 0x8001_0106;
/// RPC_E_DISCONNECTED.
pub const RPC_E_DISCONNECTED: u32 = 0x8001_0108;
/// RPC_E_WRONG_THREAD.
pub const RPC_E_WRONG_THREAD: u32 = 0x8001_010E;

/// APTTYPE_CURRENT, STA, MTA, MAINSTA.
pub const APTTYPE_CURRENT: i32 = -1;
/// APTTYPE_STA.
pub const APTTYPE_STA: i32 = 0;
/// APTTYPE_MTA.
pub const APTTYPE_MTA: i32 = 1;
/// APTTYPE_MAINSTA.
pub const APTTYPE_MAINSTA: i32 = 3;

#[derive(Clone, Debug)]
struct Apt {
    sta: bool,
    alive: bool,
    /// MTA: explicit members and usage cookies.
    members: u32,
    usage: u32,
    /// The main STA: made while no main STA lived (CI-5, CI-6; a later STA becomes main
    /// only if made after the main one ended, as in Wine [inferred]).
    main: bool,
}

#[derive(Clone, Debug, Default)]
struct Thread {
    init: u32,
    ole: u32,
    apt: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
enum Ptr {
    Direct,
    Proxy { owner: usize },
}

/// The model.
#[derive(Clone, Debug, Default)]
pub struct ComModel {
    threads: BTreeMap<u32, Thread>,
    apts: Vec<Apt>,
    mta: Option<usize>,
    cookies: BTreeMap<u64, ()>,
    /// Object → its apartment.
    objects: BTreeMap<u32, usize>,
    /// Pointer → (object, kind).
    ptrs: BTreeMap<u32, (u32, Ptr)>,
    /// Stream → the object its table-strong marshal data names.
    streams: BTreeMap<u32, u32>,
}

impl ComModel {
    /// An empty process.
    pub fn new() -> ComModel {
        ComModel::default()
    }

    fn thread(&mut self, tid: u32) -> &mut Thread {
        self.threads.entry(tid).or_default()
    }

    /// The thread's apartment and whether it is the implicit MTA.
    fn apartment(&self, tid: u32) -> Option<(usize, bool)> {
        match self.threads.get(&tid).and_then(|t| t.apt) {
            Some(a) => Some((a, false)),
            None => self.mta.map(|m| (m, true)),
        }
    }

    fn new_apt(&mut self, sta: bool) -> usize {
        let id = self.apts.len();
        let main = sta && !self.apts.iter().any(|a| a.main && a.alive);
        self.apts.push(Apt { sta, alive: true, members: 0, usage: 0, main });
        id
    }

    fn mta(&mut self) -> usize {
        match self.mta {
            Some(m) => m,
            None => {
                let m = self.new_apt(false);
                self.mta = Some(m);
                m
            }
        }
    }

    fn kill(&mut self, a: usize) {
        self.apts[a].alive = false;
        if self.mta == Some(a) {
            self.mta = None;
        }
    }

    fn mta_check(&mut self, m: usize) {
        if self.apts[m].members == 0 && self.apts[m].usage == 0 {
            self.kill(m);
        }
    }

    /// CoInitializeEx with COINIT_APARTMENTTHREADED (`sta`) or COINIT_MULTITHREADED
    /// (CI-2, CI-3).
    pub fn co_initialize_ex(&mut self, tid: u32, sta: bool) -> u32 {
        let t = self.thread(tid).clone();
        if t.init > 0 {
            let a = t.apt.expect("initialised");
            if self.apts[a].sta != sta {
                return RPC_E_CHANGED_MODE;
            }
            self.thread(tid).init += 1;
            return S_FALSE;
        }
        let a = if sta { self.new_apt(true) } else { self.mta() };
        if !sta {
            self.apts[a].members += 1;
        }
        let t = self.thread(tid);
        t.init = 1;
        t.apt = Some(a);
        S_OK
    }

    fn leave(&mut self, tid: u32) {
        let t = self.thread(tid);
        t.init = 0;
        if let Some(a) = t.apt.take() {
            if self.apts[a].sta {
                self.kill(a);
            } else {
                self.apts[a].members -= 1;
                self.mta_check(a);
            }
        }
    }

    /// CoUninitialize (an unbalanced one does nothing).
    pub fn co_uninitialize(&mut self, tid: u32) {
        let t = self.thread(tid);
        if t.init == 0 {
            return;
        }
        t.init -= 1;
        if t.init == 0 {
            self.leave(tid);
        }
    }

    /// OleInitialize (CI-4).
    pub fn ole_initialize(&mut self, tid: u32) -> u32 {
        let hr = self.co_initialize_ex(tid, true);
        if hr >= 0x8000_0000 {
            return hr;
        }
        let t = self.thread(tid);
        t.ole += 1;
        if t.ole == 1 { S_OK } else { S_FALSE }
    }

    /// OleUninitialize (CI-4).
    pub fn ole_uninitialize(&mut self, tid: u32) {
        let t = self.thread(tid);
        if t.ole == 0 {
            return;
        }
        t.ole -= 1;
        self.co_uninitialize(tid);
    }

    /// CoGetApartmentType: (HRESULT, type, qualifier) (CI-1, CI-5, CI-7).
    pub fn co_get_apartment_type(&self, tid: u32) -> (u32, i32, i32) {
        match self.apartment(tid) {
            None => (CO_E_NOTINITIALIZED, APTTYPE_CURRENT, 0),
            Some((a, implicit)) if !self.apts[a].sta => (S_OK, APTTYPE_MTA, i32::from(implicit)),
            Some((a, _)) => (S_OK, if self.apts[a].main { APTTYPE_MAINSTA } else { APTTYPE_STA }, 0),
        }
    }

    /// CoIncrementMTAUsage, which gave `cookie`.
    pub fn co_increment_mta_usage(&mut self, cookie: u64) -> u32 {
        let m = self.mta();
        self.apts[m].usage += 1;
        self.cookies.insert(cookie, ());
        S_OK
    }

    /// CoDecrementMTAUsage.
    pub fn co_decrement_mta_usage(&mut self, cookie: u64) -> u32 {
        if self.cookies.remove(&cookie).is_none() {
            return E_INVALIDARG;
        }
        if let Some(m) = self.mta {
            self.apts[m].usage -= 1;
            self.mta_check(m);
        }
        S_OK
    }

    /// CoCreateInstance of the toy class, giving pointer `ptr` (MP-8).
    pub fn co_create_instance(&mut self, tid: u32, ptr: u32) -> u32 {
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        self.objects.insert(ptr, a);
        self.ptrs.insert(ptr, (ptr, Ptr::Direct));
        S_OK
    }

    /// The checks of a call through `ptr` in J.1's order; S_OK: the call goes ahead.
    pub fn call(&self, tid: u32, ptr: u32) -> u32 {
        let Some(&(obj, kind)) = self.ptrs.get(&ptr) else { return E_INVALIDARG };
        let Ptr::Proxy { owner } = kind else { return S_OK };
        if !self.apts[owner].alive {
            return CO_E_OBJNOTCONNECTED;
        }
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        if a != owner {
            return RPC_E_WRONG_THREAD;
        }
        if !self.apts[self.objects[&obj]].alive {
            return RPC_E_DISCONNECTED;
        }
        S_OK
    }

    /// CoMarshalInterface(MSHLFLAGS_TABLESTRONG) of `ptr` into `stream`.
    pub fn marshal_table_strong(&mut self, tid: u32, stream: u32, ptr: u32) -> u32 {
        if self.apartment(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        let hr = self.call(tid, ptr);
        if hr != S_OK {
            return hr;
        }
        let obj = self.ptrs[&ptr].0;
        if !self.apts[self.objects[&obj]].alive {
            return CO_E_OBJNOTCONNECTED;
        }
        self.streams.insert(stream, obj);
        S_OK
    }

    /// CoUnmarshalInterface of a rewound table-strong stream, giving pointer `ptr`: the
    /// object itself in its own apartment, else a proxy bound to the caller's (MP-3).
    pub fn unmarshal(&mut self, tid: u32, stream: u32, ptr: u32) -> u32 {
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        let Some(&obj) = self.streams.get(&stream) else { return E_INVALIDARG };
        let home = self.objects[&obj];
        if !self.apts[home].alive {
            return CO_E_OBJNOTCONNECTED;
        }
        let kind = if home == a { Ptr::Direct } else { Ptr::Proxy { owner: a } };
        self.ptrs.insert(ptr, (obj, kind));
        S_OK
    }

    /// A thread ends: it leaves its apartment as by its last CoUninitialize (SD-3).
    pub fn thread_exit(&mut self, tid: u32) {
        if self.threads.get(&tid).is_some_and(|t| t.init > 0) {
            self.leave(tid);
        }
        self.threads.remove(&tid);
    }
}
