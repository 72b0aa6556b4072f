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
/// RPC_E_INVALID_OBJREF.
pub const RPC_E_INVALID_OBJREF: u32 = 0x8001_011D;
/// RPC_E_WRONG_THREAD.
pub const RPC_E_WRONG_THREAD: u32 = 0x8001_010E;
/// CO_E_OBJNOTREG.
pub const CO_E_OBJNOTREG: u32 = 0x8004_01FB;
/// STG_E_READFAULT.
pub const STG_E_READFAULT: u32 = 0x8003_001E;

/// MSHLFLAGS_NORMAL.
pub const MSHLFLAGS_NORMAL: u32 = 0;
/// MSHLFLAGS_TABLESTRONG.
pub const MSHLFLAGS_TABLESTRONG: u32 = 1;
/// MSHLFLAGS_TABLEWEAK.
pub const MSHLFLAGS_TABLEWEAK: u32 = 2;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ptr {
    Direct,
    /// A proxy bound to apartment `owner`; `connected` false: made from released NORMAL
    /// data (MP-2); `generation`: the object's stub-manager generation it was made in (a released
    /// stub manager cuts off the proxies made before, §21.16, §21.24).
    Proxy {
        owner: usize,
        connected: bool,
        generation: u32,
    },
}

/// An object (§21.23, §21.24, §21.25).
#[derive(Clone, Debug)]
struct Obj {
    apt: usize,
    /// Its reference count (§21.23).
    refs: u32,
    /// Whether its stub manager exists (it holds one reference, §21.24).
    stub: bool,
    /// How many times its stub manager was released.
    generation: u32,
    /// CoLockObjectExternal locks (§21.25).
    locks: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataState {
    Fresh,
    Consumed,
    Released,
}

/// Marshal data in a stream.
#[derive(Clone, Copy, Debug)]
struct Data {
    obj: u32,
    flags: u32,
    state: DataState,
    /// The stream's position is past the data (written or read since the last rewind).
    past: bool,
}

/// The model.
#[derive(Clone, Debug, Default)]
pub struct ComModel {
    threads: BTreeMap<u32, Thread>,
    apts: Vec<Apt>,
    mta: Option<usize>,
    cookies: BTreeMap<u64, ()>,
    /// Object number → the object.
    objects: BTreeMap<u32, Obj>,
    /// Pointer → (object, kind, the pointer's own references).
    ptrs: BTreeMap<u32, (u32, Ptr, u32)>,
    /// Stream → the marshal data it holds (one each, written at its start).
    streams: BTreeMap<u32, Data>,
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

    /// An apartment ends (§21.24): its objects' stub managers are released (SD-4), and
    /// the proxies it holds no longer count as strong references (SD-1).
    fn kill(&mut self, a: usize) {
        let mut held: Vec<u32> = Vec::new();
        for &(obj, kind, refs) in self.ptrs.values() {
            if matches!(kind, Ptr::Proxy { owner, connected: true, .. } if owner == a)
                && refs > 0
                && !held.contains(&obj)
            {
                held.push(obj);
            }
        }
        held.sort_unstable();
        self.apts[a].alive = false;
        if self.mta == Some(a) {
            self.mta = None;
        }
        for o in self.objects.values_mut().filter(|o| o.apt == a) {
            o.locks = 0;
            if o.stub {
                o.stub = false;
                o.refs = o.refs.saturating_sub(1);
            }
        }
        for obj in held {
            self.stub_check(obj, true);
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

    /// CoCreateInstance of the toy class, giving pointer `ptr` (MP-8): one reference
    /// (§21.23).
    pub fn co_create_instance(&mut self, tid: u32, ptr: u32) -> u32 {
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        self.objects.insert(ptr, Obj { apt: a, refs: 1, stub: false, generation: 0, locks: 0 });
        self.ptrs.insert(ptr, (ptr, Ptr::Direct, 1));
        S_OK
    }

    /// The object's reference count (§21.23), for tests.
    pub fn object_refs(&self, obj: u32) -> Option<u32> {
        self.objects.get(&obj).map(|o| o.refs)
    }

    fn home_alive(&self, obj: u32) -> bool {
        self.apts[self.objects[&obj].apt].alive
    }

    /// The stub manager's strong references (§21.24, §21.25): NORMAL data neither
    /// unmarshalled nor released, TABLESTRONG data not released, one per apartment (alive)
    /// holding a live connected proxy of the stub manager's generation, and external locks.
    fn strong(&self, obj: u32) -> u32 {
        let o = &self.objects[&obj];
        let data = self
            .streams
            .values()
            .filter(|d| {
                d.obj == obj
                    && match d.flags {
                        MSHLFLAGS_NORMAL => d.state == DataState::Fresh,
                        MSHLFLAGS_TABLESTRONG => d.state != DataState::Released,
                        _ => false,
                    }
            })
            .count() as u32;
        let mut owners: Vec<usize> = Vec::new();
        for &(pobj, kind, refs) in self.ptrs.values() {
            if let Ptr::Proxy { owner, connected: true, generation } = kind
                && pobj == obj
                && refs > 0
                && generation == o.generation
                && self.apts[owner].alive
                && !owners.contains(&owner)
            {
                owners.push(owner);
            }
        }
        data + owners.len() as u32 + o.locks
    }

    /// TABLEWEAK data not released: weak references (§21.24).
    fn weak(&self, obj: u32) -> u32 {
        self.streams
            .values()
            .filter(|d| d.obj == obj && d.flags == MSHLFLAGS_TABLEWEAK && d.state != DataState::Released)
            .count() as u32
    }

    /// The first marshal, proxy or lock makes the stub manager, which holds one reference
    /// on the object (§21.24).
    fn stub_make(&mut self, obj: u32) {
        let alive = self.home_alive(obj);
        let o = self.objects.get_mut(&obj).expect("an object");
        if !o.stub && alive {
            o.stub = true;
            o.refs += 1;
        }
    }

    /// A released stub manager: its locks go, its unreleased marshal data becomes released,
    /// the proxies made before are cut off, and its reference on the object goes (§21.16,
    /// §21.24, §21.25).
    fn stub_release(&mut self, obj: u32) {
        let o = self.objects.get_mut(&obj).expect("an object");
        o.generation += 1;
        o.locks = 0;
        if o.stub {
            o.stub = false;
            o.refs = o.refs.saturating_sub(1);
        }
        for d in self.streams.values_mut() {
            if d.obj == obj && d.state == DataState::Fresh {
                d.state = DataState::Released;
            }
        }
    }

    /// A strong reference went: with none left the stub manager is released, unless
    /// `always` is false and TABLEWEAK data still holds it (§21.24, §21.25).
    fn stub_check(&mut self, obj: u32, always: bool) {
        if !self.objects[&obj].stub || !self.home_alive(obj) {
            return;
        }
        if self.strong(obj) == 0 && (always || self.weak(obj) == 0) {
            self.stub_release(obj);
        }
    }

    /// The count a proxy's AddRef/Release returns: its apartment's proxies to the object of
    /// its generation (§21.24 [inferred]).
    fn proxy_manager_refs(&self, obj: u32, kind: Ptr) -> u32 {
        self.ptrs.values().filter(|&&(o, k, _)| o == obj && k == kind).map(|&(_, _, r)| r).sum()
    }

    /// IUnknown::AddRef: the object's count through a direct pointer (§21.23), the proxy
    /// manager's through a proxy (§21.24).
    pub fn add_ref(&mut self, ptr: u32) -> u32 {
        let Some(e) = self.ptrs.get_mut(&ptr) else { return 0 };
        e.2 += 1;
        let (obj, kind, _) = *e;
        match kind {
            Ptr::Direct => {
                let o = self.objects.get_mut(&obj).expect("an object");
                o.refs += 1;
                o.refs
            }
            Ptr::Proxy { .. } => self.proxy_manager_refs(obj, kind),
        }
    }

    /// IUnknown::Release, accepted from any apartment (§21.8); a proxy manager's last
    /// Release is a strong reference going (§21.24).
    pub fn release(&mut self, ptr: u32) -> u32 {
        let Some(e) = self.ptrs.get_mut(&ptr) else { return 0 };
        e.2 = e.2.saturating_sub(1);
        let (obj, kind, _) = *e;
        match kind {
            Ptr::Direct => {
                let o = self.objects.get_mut(&obj).expect("an object");
                o.refs = o.refs.saturating_sub(1);
                o.refs
            }
            Ptr::Proxy { connected, .. } => {
                let n = self.proxy_manager_refs(obj, kind);
                if n == 0 && connected {
                    self.stub_check(obj, true);
                }
                n
            }
        }
    }

    /// The checks of a call through `ptr` in J.1's order (§21.8, §21.16); S_OK: the call
    /// goes ahead.
    pub fn call(&self, tid: u32, ptr: u32) -> u32 {
        let Some(&(obj, kind, _)) = self.ptrs.get(&ptr) else { return E_INVALIDARG };
        let Ptr::Proxy { owner, connected, generation } = kind else { return S_OK };
        if !self.apts[owner].alive {
            return CO_E_OBJNOTCONNECTED;
        }
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        if a != owner {
            return RPC_E_WRONG_THREAD;
        }
        if !connected || !self.home_alive(obj) {
            return RPC_E_DISCONNECTED;
        }
        if generation != self.objects[&obj].generation {
            return CO_E_OBJNOTCONNECTED;
        }
        S_OK
    }

    /// CoMarshalInterface of `ptr` into `stream` with MSHLFLAGS `flags` (NORMAL,
    /// TABLESTRONG or TABLEWEAK): a proxy marshals its object (MP-4), the stub manager is
    /// made (§21.24).
    pub fn marshal(&mut self, tid: u32, stream: u32, ptr: u32, flags: u32) -> u32 {
        if self.apartment(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        let hr = self.call(tid, ptr);
        if hr != S_OK {
            return hr;
        }
        let obj = self.ptrs[&ptr].0;
        if !self.home_alive(obj) {
            return CO_E_OBJNOTCONNECTED;
        }
        self.stub_make(obj);
        self.streams.insert(stream, Data { obj, flags, state: DataState::Fresh, past: true });
        S_OK
    }

    /// IStream::Seek to the stream's start (the callers' streams hold one marshal data
    /// each); reading past the end: STG_E_READFAULT (§21.7).
    pub fn seek_start(&mut self, stream: u32) {
        if let Some(d) = self.streams.get_mut(&stream) {
            d.past = false;
        }
    }

    /// CoMarshalInterface(MSHLFLAGS_TABLESTRONG) of `ptr` into `stream`.
    pub fn marshal_table_strong(&mut self, tid: u32, stream: u32, ptr: u32) -> u32 {
        self.marshal(tid, stream, ptr, MSHLFLAGS_TABLESTRONG)
    }

    /// CoUnmarshalInterface of a rewound stream, giving pointer `ptr`: the object itself in
    /// its own apartment, else a proxy bound to the caller's (MP-3); NORMAL data once
    /// (then CO_E_OBJNOTCONNECTED), released NORMAL data a disconnected proxy (MP-2),
    /// released table data or table-weak data of an object gone CO_E_OBJNOTREG (MP-4,
    /// §21.24); NORMAL data's strong reference passes to the proxy manager or goes.
    pub fn unmarshal(&mut self, tid: u32, stream: u32, ptr: u32) -> u32 {
        let Some((a, _)) = self.apartment(tid) else { return CO_E_NOTINITIALIZED };
        let Some(d) = self.streams.get_mut(&stream) else { return E_INVALIDARG };
        if std::mem::replace(&mut d.past, true) {
            return STG_E_READFAULT;
        }
        let d = *d;
        let alive = self.home_alive(d.obj);
        let mut connected = true;
        match (d.flags, d.state) {
            (MSHLFLAGS_NORMAL, DataState::Consumed) => return CO_E_OBJNOTCONNECTED,
            (MSHLFLAGS_NORMAL, DataState::Released) => connected = false,
            (_, DataState::Released) => return CO_E_OBJNOTREG,
            (MSHLFLAGS_TABLEWEAK, _) if !alive => return CO_E_OBJNOTREG,
            _ if !alive => return CO_E_OBJNOTCONNECTED,
            _ => {}
        }
        if d.flags == MSHLFLAGS_NORMAL {
            self.streams.get_mut(&stream).expect("present").state = DataState::Consumed;
        }
        let o = self.objects.get_mut(&d.obj).expect("an object");
        let kind = if o.apt == a && connected {
            o.refs += 1;
            Ptr::Direct
        } else {
            Ptr::Proxy { owner: a, connected, generation: o.generation }
        };
        self.ptrs.insert(ptr, (d.obj, kind, 1));
        if connected && kind != Ptr::Direct {
            self.stub_make(d.obj);
        }
        if d.flags == MSHLFLAGS_NORMAL {
            self.stub_check(d.obj, true);
        }
        S_OK
    }

    /// CoReleaseMarshalData of a rewound stream (§21.24): strong data going releases the
    /// stub manager when no strong reference is left; weak data only when nothing is left.
    pub fn co_release_marshal_data(&mut self, tid: u32, stream: u32) -> u32 {
        if self.apartment(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        let Some(d) = self.streams.get_mut(&stream) else { return E_INVALIDARG };
        if std::mem::replace(&mut d.past, true) {
            return STG_E_READFAULT;
        }
        let was = std::mem::replace(&mut d.state, DataState::Released);
        let (obj, weak) = (d.obj, d.flags == MSHLFLAGS_TABLEWEAK);
        if was != DataState::Released {
            self.stub_check(obj, !weak);
        } else if !self.objects.get(&obj).is_some_and(|o| o.stub) {
            // Released before, and no stub manager left (§21.7).
            return RPC_E_INVALID_OBJREF;
        }
        S_OK
    }

    /// CoDisconnectObject (§21.16): the stub manager is released with its locks, marshal
    /// data and proxies; a proxy: S_OK, nothing done; no apartment: CO_E_NOTINITIALIZED.
    pub fn co_disconnect_object(&mut self, tid: u32, ptr: u32) -> u32 {
        let Some(&(obj, kind, _)) = self.ptrs.get(&ptr) else { return E_INVALIDARG };
        if kind != Ptr::Direct {
            return S_OK;
        }
        if self.apartment(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        self.stub_release(obj);
        S_OK
    }

    /// CoLockObjectExternal (§21.25).
    pub fn co_lock_object_external(&mut self, tid: u32, ptr: u32, lock: bool, last_unlock_releases: bool) -> u32 {
        let Some(&(obj, kind, _)) = self.ptrs.get(&ptr) else { return E_INVALIDARG };
        if self.apartment(tid).is_none() {
            return CO_E_NOTINITIALIZED;
        }
        if kind != Ptr::Direct || !self.home_alive(obj) {
            return S_OK;
        }
        if lock {
            self.stub_make(obj);
            self.objects.get_mut(&obj).expect("an object").locks += 1;
        } else {
            let o = self.objects.get_mut(&obj).expect("an object");
            if o.locks == 0 {
                return S_OK;
            }
            o.locks -= 1;
            self.stub_check(obj, last_unlock_releases);
        }
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
