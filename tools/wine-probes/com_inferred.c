/* COM answers that docs/semantics.md §21 marks [inferred]: what a real implementation
 * (Wine 8.0's ole32/combase) returns for each. See README.md "COM". LIBS: -lole32 -luuid
 *
 * The marshalled object is a minimal IClassFactory written here, since Wine and Windows
 * ship the proxy and stub for IClassFactory (no IDL or proxy DLL is needed); IClassFactory::
 * LockServer plays the part of winsim's IToy::Get (a call with no results). */
#define COBJMACROS
#include <windows.h>
#include <objbase.h>
#include <stdio.h>

static void show(const char *what, HRESULT hr) { printf("%-64s hr=0x%08lx\n", what, (unsigned long)hr); }

/* The object: IUnknown + IClassFactory, with a reference count. */
typedef struct { IClassFactory iface; LONG refs; } Obj;
static HRESULT WINAPI o_qi(IClassFactory *i, REFIID riid, void **pp) {
    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IClassFactory)) {
        *pp = i; IClassFactory_AddRef(i); return S_OK;
    }
    *pp = NULL; return E_NOINTERFACE;
}
static ULONG WINAPI o_addref(IClassFactory *i) { return InterlockedIncrement(&((Obj *)i)->refs); }
static ULONG WINAPI o_release(IClassFactory *i) { return InterlockedDecrement(&((Obj *)i)->refs); }
/* CreateInstance answers CLASS_E_CLASSNOTAVAILABLE, so a remoted call is told from a local one. */
static HRESULT WINAPI o_create(IClassFactory *i, IUnknown *o, REFIID r, void **pp) { *pp = NULL; return CLASS_E_CLASSNOTAVAILABLE; }
static HRESULT WINAPI o_lock(IClassFactory *i, BOOL l) { return S_OK; }
static IClassFactoryVtbl vt = { o_qi, o_addref, o_release, o_create, o_lock };
static Obj obj = { { &vt }, 1 };
static IUnknown *unk(void) { return (IUnknown *)&obj.iface; }

/* The STA that owns the object: marshals it into a stream, then pumps until WM_QUIT, then
 * leaves its apartment (its end is signalled) and waits to be told to exit. */
static IStream *sta_stream, *sta_stream2;
static HANDLE sta_ready, sta_ended, sta_exit;
static DWORD sta_tid;
static DWORD WINAPI sta_main(void *arg) {
    MSG m;
    CoInitializeEx(NULL, COINIT_APARTMENTTHREADED);
    show("STA: CoMarshalInterThreadInterfaceInStream",
         CoMarshalInterThreadInterfaceInStream(&IID_IClassFactory, unk(), &sta_stream));
    show("STA: CoMarshalInterThreadInterfaceInStream (2nd)",
         CoMarshalInterThreadInterfaceInStream(&IID_IClassFactory, unk(), &sta_stream2));
    SetEvent(sta_ready);
    while (GetMessageA(&m, NULL, 0, 0) > 0) DispatchMessageA(&m);
    CoUninitialize();
    printf("STA: left its apartment, object refs now %ld\n", obj.refs);
    SetEvent(sta_ended);
    WaitForSingleObject(sta_exit, INFINITE);
    return 0;
}

static DWORD WINAPI no_com_thread(void *arg) {
    DWORD i = 77;
    HANDLE h = CreateEventA(NULL, TRUE, TRUE, NULL);
    show("no COM: CoWaitForMultipleHandles(0, signalled)", CoWaitForMultipleHandles(0, 0, 1, &h, &i));
    CloseHandle(h);
    return 0;
}

int main(void) {
    HRESULT hr;
    DWORD idx;
    HANDLE ev = CreateEventA(NULL, TRUE, TRUE, NULL);
    HANDLE bad = (HANDLE)(ULONG_PTR)0x1234;
    setvbuf(stdout, NULL, _IONBF, 0);

    /* §21.1: unknown CoInitializeEx flags. */
    show("CoInitializeEx(0x100) on a fresh thread", hr = CoInitializeEx(NULL, 0x100));
    if (SUCCEEDED(hr)) CoUninitialize();
    show("CoInitializeEx(0x10) on a fresh thread", hr = CoInitializeEx(NULL, 0x10));
    if (SUCCEEDED(hr)) CoUninitialize();
    show("CoInitializeEx(0x2|0x1000)", hr = CoInitializeEx(NULL, 0x1002));
    if (SUCCEEDED(hr)) CoUninitialize();

    /* CoWaitForMultipleHandles without COM (§21.11 CW-5). */
    HANDLE t = CreateThread(NULL, 0, no_com_thread, NULL, 0, NULL);
    WaitForSingleObject(t, INFINITE); CloseHandle(t);

    /* §21.4: CoDecrementMTAUsage with a cookie never handed out. Wine's cookie is a
     * pointer to its own record; a bogus one is a NULL cookie here, the only safe one. */
    show("CoDecrementMTAUsage(NULL)", CoDecrementMTAUsage(NULL));

    CoInitializeEx(NULL, COINIT_MULTITHREADED);

    /* §21.11: CoWaitForMultipleHandles' flags and bad handles (MTA: it only waits). */
    show("MTA: CoWaitForMultipleHandles(0x100 unknown, signalled)", CoWaitForMultipleHandles(0x100, 0, 1, &ev, &idx));
    show("MTA: CoWaitForMultipleHandles(COWAIT_INPUTAVAILABLE=4)", CoWaitForMultipleHandles(4, 0, 1, &ev, &idx));
    show("MTA: CoWaitForMultipleHandles(COWAIT_DISPATCH_CALLS=8)", CoWaitForMultipleHandles(8, 0, 1, &ev, &idx));
    show("MTA: CoWaitForMultipleHandles(bad handle)", hr = CoWaitForMultipleHandles(0, 0, 1, &bad, &idx));
    printf("  HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE)=0x%08lx\n", (unsigned long)HRESULT_FROM_WIN32(ERROR_INVALID_HANDLE));

    /* §21.17: REGCLS bits above 0x1F. */
    DWORD cookie = 0;
    show("CoRegisterClassObject(REGCLS 0x20)",
         hr = CoRegisterClassObject(&IID_IClassFactory, unk(), CLSCTX_INPROC_SERVER, 0x20, &cookie));
    if (SUCCEEDED(hr)) CoRevokeClassObject(cookie);
    show("CoRegisterClassObject(REGCLS 0x40)",
         hr = CoRegisterClassObject(&IID_IClassFactory, unk(), CLSCTX_INPROC_SERVER, 0x40, &cookie));
    if (SUCCEEDED(hr)) CoRevokeClassObject(cookie);

    /* §21.7a: the GIT with a cookie never handed out. */
    IGlobalInterfaceTable *git = NULL;
    show("CoCreateInstance(StdGlobalInterfaceTable)",
         CoCreateInstance(&CLSID_StdGlobalInterfaceTable, NULL, CLSCTX_INPROC_SERVER,
                          &IID_IGlobalInterfaceTable, (void **)&git));
    IUnknown *p = NULL;
    show("GIT RevokeInterfaceFromGlobal(0x1234)", IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, 0x1234));
    show("GIT GetInterfaceFromGlobal(0x1234)",
         IGlobalInterfaceTable_GetInterfaceFromGlobal(git, 0x1234, &IID_IUnknown, (void **)&p));
    DWORD gc = 0;
    show("GIT RegisterInterfaceInGlobal(obj)",
         IGlobalInterfaceTable_RegisterInterfaceInGlobal(git, unk(), &IID_IClassFactory, &gc));
    show("GIT RevokeInterfaceFromGlobal(cookie)", IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, gc));
    show("GIT RevokeInterfaceFromGlobal(cookie) again", IGlobalInterfaceTable_RevokeInterfaceFromGlobal(git, gc));

    /* §21.7: TABLESTRONG data after CoReleaseMarshalData; and releasing it twice. */
    IStream *s = NULL;
    LARGE_INTEGER zero = { { 0, 0 } };
    CreateStreamOnHGlobal(NULL, TRUE, &s);
    show("CoMarshalInterface(TABLESTRONG)",
         CoMarshalInterface(s, &IID_IClassFactory, unk(), MSHCTX_INPROC, NULL, MSHLFLAGS_TABLESTRONG));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(TABLESTRONG)", CoReleaseMarshalData(s));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoUnmarshalInterface(TABLESTRONG, released)", CoUnmarshalInterface(s, &IID_IUnknown, (void **)&p));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(TABLESTRONG) again", CoReleaseMarshalData(s));
    IStream_Release(s);
    CreateStreamOnHGlobal(NULL, TRUE, &s);
    show("CoMarshalInterface(NORMAL) in own apartment",
         CoMarshalInterface(s, &IID_IClassFactory, unk(), MSHCTX_INPROC, NULL, MSHLFLAGS_NORMAL));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(NORMAL)", CoReleaseMarshalData(s));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(NORMAL) again", CoReleaseMarshalData(s));
    IStream_Release(s);
    /* Released data while the stub manager lives on (other TABLESTRONG data holds it). */
    IStream *s2 = NULL;
    CreateStreamOnHGlobal(NULL, TRUE, &s);
    CreateStreamOnHGlobal(NULL, TRUE, &s2);
    CoMarshalInterface(s, &IID_IClassFactory, unk(), MSHCTX_INPROC, NULL, MSHLFLAGS_TABLESTRONG);
    CoMarshalInterface(s2, &IID_IClassFactory, unk(), MSHCTX_INPROC, NULL, MSHLFLAGS_TABLESTRONG);
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(TABLESTRONG 1 of 2)", CoReleaseMarshalData(s));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(TABLESTRONG 1 of 2) again, 2 live", CoReleaseMarshalData(s));
    IStream_Seek(s, zero, STREAM_SEEK_SET, NULL);
    show("CoUnmarshalInterface(TABLESTRONG 1 of 2, released), 2 live", CoUnmarshalInterface(s, &IID_IUnknown, (void **)&p));
    IStream_Seek(s2, zero, STREAM_SEEK_SET, NULL);
    show("CoReleaseMarshalData(TABLESTRONG 2 of 2)", CoReleaseMarshalData(s2));
    IStream_Release(s);
    IStream_Release(s2);
    printf("MTA: object refs now %ld\n", obj.refs);

    /* Proxies: the object lives in an STA; this MTA thread unmarshals a proxy. */
    sta_ready = CreateEventA(NULL, TRUE, FALSE, NULL);
    sta_ended = CreateEventA(NULL, TRUE, FALSE, NULL);
    sta_exit = CreateEventA(NULL, TRUE, FALSE, NULL);
    HANDLE st = CreateThread(NULL, 0, sta_main, NULL, 0, &sta_tid);
    WaitForSingleObject(sta_ready, INFINITE);
    IClassFactory *px = NULL, *px2 = NULL;
    show("MTA: CoGetInterfaceAndReleaseStream", CoGetInterfaceAndReleaseStream(sta_stream, &IID_IClassFactory, (void **)&px));
    show("MTA: CoGetInterfaceAndReleaseStream (2nd)", CoGetInterfaceAndReleaseStream(sta_stream2, &IID_IClassFactory, (void **)&px2));
    printf("MTA: same proxy for both: %s\n", px == px2 ? "yes" : "no");
    printf("MTA: proxy AddRef -> %lu\n", IClassFactory_AddRef(px));
    printf("MTA: proxy AddRef -> %lu\n", IClassFactory_AddRef(px));
    printf("MTA: proxy Release -> %lu\n", IClassFactory_Release(px));
    printf("MTA: proxy Release -> %lu\n", IClassFactory_Release(px));
    printf("MTA: object refs with two proxies %ld\n", obj.refs);
    show("MTA: proxy CreateInstance (STA pumps)", IClassFactory_CreateInstance(px, NULL, &IID_IUnknown, (void **)&p));
    /* §21.16, §21.25: CoDisconnectObject and CoLockObjectExternal given a proxy. */
    show("MTA: CoLockObjectExternal(proxy, TRUE, TRUE)", CoLockObjectExternal((IUnknown *)px, TRUE, TRUE));
    show("MTA: CoLockObjectExternal(proxy, FALSE, TRUE)", CoLockObjectExternal((IUnknown *)px, FALSE, TRUE));
    show("MTA: CoDisconnectObject(proxy)", CoDisconnectObject((IUnknown *)px, 0));
    show("MTA: proxy CreateInstance after CoDisconnectObject(proxy)", IClassFactory_CreateInstance(px, NULL, &IID_IUnknown, (void **)&p));
    show("MTA: CoDisconnectObject(GIT)", CoDisconnectObject((IUnknown *)git, 0));
    show("MTA: CoLockObjectExternal(GIT, TRUE, TRUE)", CoLockObjectExternal((IUnknown *)git, TRUE, TRUE));
    /* §21.8, §21.12 (SD-2): the object's apartment ends while the process lives. */
    PostThreadMessageA(sta_tid, WM_QUIT, 0, 0);
    WaitForSingleObject(sta_ended, INFINITE);
    show("MTA: proxy CreateInstance after the STA left COM", IClassFactory_CreateInstance(px, NULL, &IID_IUnknown, (void **)&p));
    show("MTA: proxy QueryInterface(IUnknown) after", IClassFactory_QueryInterface(px, &IID_IUnknown, (void **)&p));
    printf("MTA: proxy Release -> %lu\n", IClassFactory_Release(px2));
    printf("MTA: proxy Release -> %lu\n", IClassFactory_Release(px));
    SetEvent(sta_exit);
    WaitForSingleObject(st, INFINITE);

    /* §21.1: CoUninitialize counting and the MTA's end; CO_E_NOTINITIALIZED after. */
    IGlobalInterfaceTable_Release(git);
    CoUninitialize();
    show("after CoUninitialize: CoDisconnectObject(obj)", CoDisconnectObject(unk(), 0));
    show("after CoUninitialize: CoLockObjectExternal(obj)", CoLockObjectExternal(unk(), TRUE, TRUE));
    show("after CoUninitialize: CoWaitForMultipleHandles(signalled)", CoWaitForMultipleHandles(0, 0, 1, &ev, &idx));
    return 0;
}
