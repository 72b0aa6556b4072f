//! COM class registration, reference model (docs/semantics.md §21.17, §21.21): the class
//! table of CoRegisterClassObject, CoRevokeClassObject and CoResumeClassObjects
//! (REGCLS_SINGLEUSE, MULTIPLEUSE, MULTI_SEPARATE, SUSPENDED), and the first answer of
//! CoGetClassObject and CoCreateInstance for a class that is registered, suspended,
//! revoked, used up (SINGLEUSE), unknown, or whose server's apartment or process ended.
//! Several processes; apartments only as far as registrations need them (a thread's
//! initialisation count, its STA or its process's MTA, which the implicit MTA reaches).
//!
//! The model answers for the call itself. CoCreateInstance of a registered class goes on
//! with IClassFactory::CreateInstance through the class object, a call into the server's
//! apartment; the model's S_OK means "the class object was reached" (the kernel's trace
//! shows the same first step), what the call then returns is another object's business.
//!
//! Callers name threads and processes by the kernel's numbers, classes and interfaces by
//! their winsim names (`CLSID_ToyServer`, `IID_IClassFactory`), cookies by the value the
//! kernel returned.

use std::collections::BTreeMap;

/// S_OK.
pub const S_OK: u32 = 0;
/// S_FALSE.
pub const S_FALSE: u32 = 1;
/// E_INVALIDARG.
pub const E_INVALIDARG: u32 = 0x8007_0057;
/// E_NOINTERFACE.
pub const E_NOINTERFACE: u32 = 0x8000_4002;
/// E_POINTER.
pub const E_POINTER: u32 = 0x8000_4003;
/// CO_E_NOTINITIALIZED.
pub const CO_E_NOTINITIALIZED: u32 = 0x8004_01F0;
/// REGDB_E_CLASSNOTREG.
pub const REGDB_E_CLASSNOTREG: u32 = 0x8004_0154;
/// CLASS_E_NOAGGREGATION.
pub const CLASS_E_NOAGGREGATION: u32 = 0x8004_0110;
/// RPC_E_CHANGED_MODE.
pub const RPC_E_CHANGED_MODE: u32 = 0x8001_0106;
/// RPC_E_WRONG_THREAD.
pub const RPC_E_WRONG_THREAD: u32 = 0x8001_010E;

/// CLSCTX_INPROC_SERVER.
pub const CLSCTX_INPROC_SERVER: u32 = 0x1;
/// CLSCTX_INPROC_HANDLER.
pub const CLSCTX_INPROC_HANDLER: u32 = 0x2;
/// CLSCTX_LOCAL_SERVER.
pub const CLSCTX_LOCAL_SERVER: u32 = 0x4;
/// REGCLS_SINGLEUSE.
pub const REGCLS_SINGLEUSE: u32 = 0;
/// REGCLS_MULTIPLEUSE.
pub const REGCLS_MULTIPLEUSE: u32 = 1;
/// REGCLS_SUSPENDED.
pub const REGCLS_SUSPENDED: u32 = 4;

#[derive(Clone, Debug)]
struct Thread {
    init: u32,
    apt: Option<usize>,
}

#[derive(Clone, Debug)]
struct Apt {
    sta: bool,
    members: u32,
}

/// One CoRegisterClassObject.
#[derive(Clone, Debug)]
struct Reg {
    pid: u32,
    apt: usize,
    clsid: String,
    /// CLSCTX_* as registered (REGCLS_MULTIPLEUSE with CLSCTX_LOCAL_SERVER adds
    /// CLSCTX_INPROC_SERVER, Learn REGCLS).
    ctx: u32,
    flags: u32,
    /// REGCLS_SUSPENDED until the process calls CoResumeClassObjects.
    suspended: bool,
    /// REGCLS_SINGLEUSE and a client connected: out of public view.
    used: bool,
}

/// The model: threads, apartments and the class table of every process.
#[derive(Clone, Debug, Default)]
pub struct ClassModel {
    threads: BTreeMap<u32, Thread>,
    apts: Vec<Apt>,
    /// Each process's live MTA.
    mta: BTreeMap<u32, usize>,
    /// Registrations by cookie; cookies grow, so this order is the order of registration.
    regs: BTreeMap<u32, Reg>,
}

impl ClassModel {
    /// No processes yet.
    pub fn new() -> ClassModel {
        ClassModel::default()
    }

    fn thread(&mut self, tid: u32) -> &mut Thread {
        self.threads.entry(tid).or_insert(Thread { init: 0, apt: None })
    }

    /// The thread's apartment: its own, or its process's MTA (the implicit MTA, CI-7).
    fn apartment_of(&self, pid: u32, tid: u32) -> Option<usize> {
        self.threads.get(&tid).and_then(|t| t.apt).or_else(|| self.mta.get(&pid).copied())
    }

    /// An apartment ends: its registrations go with it (SD-5, MP-7).
    fn end_apartment(&mut self, apt: usize) {
        self.regs.retain(|_, r| r.apt != apt);
        self.mta.retain(|_, &mut m| m != apt);
    }

    /// The thread leaves its apartment (the last CoUninitialize, or its exit, SD-3).
    fn leave(&mut self, tid: u32) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        t.init = 0;
        let Some(apt) = t.apt.take() else { return };
        let a = &mut self.apts[apt];
        a.members -= 1;
        if a.sta || a.members == 0 {
            self.end_apartment(apt);
        }
    }

    /// CoInitializeEx (CI-2, CI-3): S_OK for the first, S_FALSE for a repeat in the same
    /// model, RPC_E_CHANGED_MODE (not counted) for the other model.
    pub fn co_initialize_ex(&mut self, pid: u32, tid: u32, sta: bool) -> u32 {
        let t = self.thread(tid).clone();
        if let Some(apt) = t.apt {
            if self.apts[apt].sta != sta {
                return RPC_E_CHANGED_MODE;
            }
            self.thread(tid).init += 1;
            return S_FALSE;
        }
        let apt = if sta {
            self.apts.push(Apt { sta: true, members: 0 });
            self.apts.len() - 1
        } else if let Some(&m) = self.mta.get(&pid) {
            m
        } else {
            self.apts.push(Apt { sta: false, members: 0 });
            let m = self.apts.len() - 1;
            self.mta.insert(pid, m);
            m
        };
        self.apts[apt].members += 1;
        let t = self.thread(tid);
        t.apt = Some(apt);
        t.init = 1;
        S_OK
    }

    /// CoUninitialize: balances one success; the last one leaves the apartment.
    pub fn co_uninitialize(&mut self, tid: u32) {
        let Some(t) = self.threads.get_mut(&tid) else { return };
        match t.init {
            0 => {}
            1 => self.leave(tid),
            _ => t.init -= 1,
        }
    }

    /// The thread ended (its process's end ends each of its threads).
    pub fn thread_exit(&mut self, tid: u32) {
        self.leave(tid);
    }

    /// CoRegisterClassObject with a class object (`has_unk`) and a cookie pointer
    /// (`has_cookie`); `cookie` is the value the kernel returned (used on S_OK only).
    /// E_INVALIDARG for a NULL object or cookie pointer or REGCLS bits above 0x1F,
    /// CO_E_NOTINITIALIZED without an apartment; every other registration S_OK, a repeated
    /// one too (Learn: "independent and do not produce an error").
    #[allow(clippy::too_many_arguments)]
    pub fn co_register_class_object(
        &mut self,
        pid: u32,
        tid: u32,
        clsid: &str,
        has_unk: bool,
        cls_context: u32,
        flags: u32,
        has_cookie: bool,
        cookie: u32,
    ) -> u32 {
        if !has_unk || !has_cookie {
            return E_INVALIDARG;
        }
        let Some(apt) = self.apartment_of(pid, tid) else { return CO_E_NOTINITIALIZED };
        if flags & !0x1F != 0 {
            return E_INVALIDARG;
        }
        let mut ctx = cls_context;
        if flags & REGCLS_MULTIPLEUSE != 0 && ctx & CLSCTX_LOCAL_SERVER != 0 {
            ctx |= CLSCTX_INPROC_SERVER;
        }
        let reg = Reg {
            pid,
            apt,
            clsid: clsid.to_string(),
            ctx,
            flags,
            suspended: flags & REGCLS_SUSPENDED != 0,
            used: false,
        };
        self.regs.insert(cookie, reg);
        S_OK
    }

    /// CoRevokeClassObject: CO_E_NOTINITIALIZED without an apartment; E_INVALIDARG for a
    /// cookie this process does not hold (unknown, revoked, ended with its apartment, or
    /// another process's, §21.21); RPC_E_WRONG_THREAD from another apartment (MP-7).
    pub fn co_revoke_class_object(&mut self, pid: u32, tid: u32, cookie: u32) -> u32 {
        let Some(apt) = self.apartment_of(pid, tid) else { return CO_E_NOTINITIALIZED };
        match self.regs.get(&cookie) {
            Some(r) if r.pid == pid && r.apt == apt => {
                self.regs.remove(&cookie);
                S_OK
            }
            Some(r) if r.pid == pid => RPC_E_WRONG_THREAD,
            _ => E_INVALIDARG,
        }
    }

    /// CoResumeClassObjects: the process's suspended registrations become visible.
    pub fn co_resume_class_objects(&mut self, pid: u32) -> u32 {
        for r in self.regs.values_mut().filter(|r| r.pid == pid) {
            r.suspended = false;
        }
        S_OK
    }

    /// The registration a lookup from `tid` reaches: with CLSCTX_INPROC_SERVER one of its
    /// own apartment (MP-7), oldest first; then with CLSCTX_LOCAL_SERVER one of any
    /// process, not suspended and not a used-up REGCLS_SINGLEUSE one (which a connection
    /// uses up).
    fn find(&mut self, apt: usize, clsid: &str, ctx: u32) -> Option<u32> {
        if ctx & CLSCTX_INPROC_SERVER != 0 {
            let found =
                self.regs.iter().find(|(_, r)| r.clsid == clsid && r.apt == apt && r.ctx & CLSCTX_INPROC_SERVER != 0);
            if let Some((&c, _)) = found {
                return Some(c);
            }
        }
        if ctx & CLSCTX_LOCAL_SERVER != 0 {
            let found = self.regs.iter_mut().find(|(_, r)| {
                r.clsid == clsid
                    && r.ctx & CLSCTX_LOCAL_SERVER != 0
                    && !r.suspended
                    && !(r.flags & 3 == REGCLS_SINGLEUSE && r.used)
            });
            if let Some((&c, r)) = found {
                if r.flags & 3 == REGCLS_SINGLEUSE {
                    r.used = true;
                }
                return Some(c);
            }
        }
        None
    }

    /// CoGetClassObject (every registered class object in the differential is a class
    /// factory: IUnknown and IClassFactory). E_INVALIDARG for a NULL ppv,
    /// CO_E_NOTINITIALIZED, a registration's class object, CLSID_Toy's built-in factory
    /// in process, else REGDB_E_CLASSNOTREG. Returns the HRESULT and the cookie reached.
    pub fn co_get_class_object(
        &mut self,
        pid: u32,
        tid: u32,
        clsid: &str,
        ctx: u32,
        iid: &str,
        has_out: bool,
    ) -> (u32, Option<u32>) {
        if !has_out {
            return (E_INVALIDARG, None);
        }
        let Some(apt) = self.apartment_of(pid, tid) else { return (CO_E_NOTINITIALIZED, None) };
        let factory_iid = matches!(iid, "IID_IUnknown" | "IID_IClassFactory");
        if let Some(c) = self.find(apt, clsid, ctx) {
            return (if factory_iid { S_OK } else { E_NOINTERFACE }, Some(c));
        }
        if clsid != "CLSID_Toy" || ctx & (CLSCTX_INPROC_SERVER | CLSCTX_INPROC_HANDLER) == 0 {
            return (REGDB_E_CLASSNOTREG, None);
        }
        (if factory_iid { S_OK } else { E_NOINTERFACE }, None)
    }

    /// CoCreateInstance's first step: E_POINTER for a NULL ppv, CO_E_NOTINITIALIZED,
    /// CLASS_E_NOAGGREGATION with an outer object, S_OK when a registration's class object
    /// is reached (the activation goes on through it), CLSID_Toy in process (E_NOINTERFACE
    /// for an interface a toy lacks), else REGDB_E_CLASSNOTREG. Returns the HRESULT and the
    /// cookie reached.
    #[allow(clippy::too_many_arguments)]
    pub fn co_create_instance(
        &mut self,
        pid: u32,
        tid: u32,
        clsid: &str,
        outer: bool,
        ctx: u32,
        iid: &str,
        has_out: bool,
    ) -> (u32, Option<u32>) {
        if !has_out {
            return (E_POINTER, None);
        }
        let Some(apt) = self.apartment_of(pid, tid) else { return (CO_E_NOTINITIALIZED, None) };
        if outer {
            return (CLASS_E_NOAGGREGATION, None);
        }
        if let Some(c) = self.find(apt, clsid, ctx) {
            return (S_OK, Some(c));
        }
        if clsid != "CLSID_Toy" || ctx & (CLSCTX_INPROC_SERVER | CLSCTX_INPROC_HANDLER) == 0 {
            return (REGDB_E_CLASSNOTREG, None);
        }
        let toy_iid = matches!(iid, "IID_IUnknown" | "IID_IToy" | "IID_IToyCallback");
        (if toy_iid { S_OK } else { E_NOINTERFACE }, None)
    }

    /// How many registrations are live (for tests of the model itself).
    pub fn registrations(&self) -> usize {
        self.regs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §21.17: SINGLEUSE serves one local-server connection; SUSPENDED hides until
    /// CoResumeClassObjects; revoking from another process is E_INVALIDARG (§21.21); the
    /// apartment's end takes the registration.
    #[test]
    fn single_use_suspended_revoke_and_end() {
        let mut m = ClassModel::new();
        assert_eq!(m.co_initialize_ex(1, 10, true), S_OK);
        assert_eq!(m.co_initialize_ex(2, 20, false), S_OK);
        let s = "CLSID_ToyServer";
        assert_eq!(m.co_register_class_object(1, 10, s, true, CLSCTX_LOCAL_SERVER, REGCLS_SINGLEUSE, true, 5), S_OK);
        assert_eq!(m.co_create_instance(2, 20, s, false, CLSCTX_LOCAL_SERVER, "IID_IToy", true), (S_OK, Some(5)));
        assert_eq!(m.co_create_instance(2, 20, s, false, CLSCTX_LOCAL_SERVER, "IID_IToy", true).0, REGDB_E_CLASSNOTREG);
        let flags = REGCLS_MULTIPLEUSE | REGCLS_SUSPENDED;
        assert_eq!(m.co_register_class_object(1, 10, s, true, CLSCTX_LOCAL_SERVER, flags, true, 6), S_OK);
        assert_eq!(
            m.co_get_class_object(2, 20, s, CLSCTX_LOCAL_SERVER, "IID_IClassFactory", true).0,
            REGDB_E_CLASSNOTREG
        );
        assert_eq!(m.co_resume_class_objects(1), S_OK);
        assert_eq!(m.co_get_class_object(2, 20, s, CLSCTX_LOCAL_SERVER, "IID_IClassFactory", true), (S_OK, Some(6)));
        assert_eq!(m.co_revoke_class_object(2, 20, 6), E_INVALIDARG);
        m.co_uninitialize(10);
        assert_eq!(m.registrations(), 0);
        assert_eq!(
            m.co_get_class_object(2, 20, s, CLSCTX_LOCAL_SERVER, "IID_IClassFactory", true).0,
            REGDB_E_CLASSNOTREG
        );
    }
}
