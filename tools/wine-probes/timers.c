/* Waitable timers and clock reads (see README.md, section "Timers"). Each line starting with
 * "RESULT <case>:" is one observation; the README maps the cases to facts. The last error is
 * printed for successful calls too, but only failures are evidence (Wine sometimes touches the
 * last error on success). */
#include "probe.h"

/* A relative due time of n milliseconds (negative, in 100 ns units). */
#define REL_MS(n) (-(LONGLONG)(n) * 10000)

static HANDLE g_timer;
static volatile LONG g_released;

/* Prints a handle-returning call: "h=<non-null|NULL> err=...". */
static HANDLE show_h(const char *tag, HANDLE h) {
    E = GetLastError();
    printf("RESULT %s: %s", tag, h ? "handle" : "NULL");
    perr();
    printf("\n");
    return h;
}
/* Prints a BOOL-returning call. */
static BOOL show_b(const char *tag, BOOL b) {
    E = GetLastError();
    printf("RESULT %s: ret=%d", tag, b);
    perr();
    printf("\n");
    return b;
}
static const char *wait_name(DWORD w) {
    switch (w) {
    case WAIT_OBJECT_0: return "WAIT_OBJECT_0";
    case WAIT_TIMEOUT: return "WAIT_TIMEOUT";
    case WAIT_FAILED: return "WAIT_FAILED";
    default: return "other";
    }
}
static DWORD show_w(const char *tag, HANDLE h, DWORD ms) {
    SetLastError(0xdeadbeef);
    DWORD w = WaitForSingleObject(h, ms);
    E = GetLastError();
    printf("RESULT %s: wait(%lu)=%s", tag, ms, wait_name(w));
    if (w == WAIT_FAILED) perr();
    printf("\n");
    return w;
}
static BOOL set_rel(HANDLE h, LONGLONG due100ns, LONG period) {
    LARGE_INTEGER due;
    due.QuadPart = due100ns;
    return SetWaitableTimer(h, &due, period, NULL, NULL, FALSE);
}
static DWORD WINAPI waiter(void *p) {
    if (WaitForSingleObject(g_timer, 3000) == WAIT_OBJECT_0) InterlockedIncrement(&g_released);
    return 0;
}

int main(int argc, char **argv) {
    HANDLE h, h2, ev, mx, t[3];
    LARGE_INTEGER due, li, li2;
    DWORD t0, dt;
    setvbuf(stdout, NULL, _IONBF, 0);

    if (argc > 1 && !strcmp(argv[1], "qpc-null")) {
        /* Child mode: the parent looks at the exit code. */
        BOOL r = QueryPerformanceCounter(NULL);
        printf("child: QueryPerformanceCounter(NULL) returned %d err=%lu\n", r, GetLastError());
        return 7;
    }

    printf("== creation, names, open\n");
    SetLastError(0xdeadbeef);
    h = show_h("C1 CreateWaitableTimerW(new name)", CreateWaitableTimerW(NULL, FALSE, L"winsim-probe-t"));
    SetLastError(0xdeadbeef);
    h2 = show_h("C2 CreateWaitableTimerW(same name)", CreateWaitableTimerW(NULL, TRUE, L"winsim-probe-t"));
    /* C2 asked for manual reset; the existing timer is a synchronization timer. */
    set_rel(h, -1, 0);
    Sleep(50);
    show_w("C2b wait via 2nd handle (sync timer fired)", h2, 0);
    show_w("C2c wait via 1st handle right after", h, 0);
    CloseHandle(h2);
    SetLastError(0xdeadbeef);
    h2 = show_h("C3 OpenWaitableTimerW(TIMER_ALL_ACCESS, existing)",
                OpenWaitableTimerW(TIMER_ALL_ACCESS, FALSE, L"winsim-probe-t"));
    CloseHandle(h2);
    SetLastError(0xdeadbeef);
    show_h("C4 OpenWaitableTimerW(missing name)", OpenWaitableTimerW(TIMER_ALL_ACCESS, FALSE, L"winsim-nope"));
    SetLastError(0xdeadbeef);
    show_h("C5 OpenWaitableTimerW(NULL name)", OpenWaitableTimerW(TIMER_ALL_ACCESS, FALSE, NULL));
    SetLastError(0xdeadbeef);
    show_h("C6 OpenWaitableTimerW(access 0)", OpenWaitableTimerW(0, FALSE, L"winsim-probe-t"));
    ev = CreateEventW(NULL, TRUE, FALSE, L"winsim-probe-ev");
    mx = CreateMutexW(NULL, FALSE, L"winsim-probe-mx");
    SetLastError(0xdeadbeef);
    show_h("C7 CreateWaitableTimerW(name of an event)", CreateWaitableTimerW(NULL, FALSE, L"winsim-probe-ev"));
    SetLastError(0xdeadbeef);
    show_h("C8 OpenWaitableTimerW(name of a mutex)", OpenWaitableTimerW(TIMER_ALL_ACCESS, FALSE, L"winsim-probe-mx"));
    SetLastError(0xdeadbeef);
    show_h("C9 CreateEventW(name of a timer)", CreateEventW(NULL, FALSE, FALSE, L"winsim-probe-t"));
    SetLastError(0xdeadbeef);
    h2 = show_h("C10 CreateWaitableTimerW(empty name)", CreateWaitableTimerW(NULL, TRUE, L""));
    SetLastError(0xdeadbeef);
    HANDLE h3 = show_h("C10b CreateWaitableTimerW(empty name) again", CreateWaitableTimerW(NULL, TRUE, L""));
    if (h2 && h3) {
        set_rel(h2, -1, 0);
        Sleep(50);
        show_w("C10c 2nd empty-name timer after setting the 1st (same object?)", h3, 0);
    }
    if (h2) CloseHandle(h2);
    if (h3) CloseHandle(h3);
    SetLastError(0xdeadbeef);
    show_h("C11 CreateWaitableTimerW(\"a\\\\b\")", CreateWaitableTimerW(NULL, FALSE, L"winsim-a\\b"));
    SetLastError(0xdeadbeef);
    h2 = show_h("C12 CreateWaitableTimerExW(flags=4 unknown)", CreateWaitableTimerExW(NULL, NULL, 4, TIMER_ALL_ACCESS));
    if (h2) CloseHandle(h2);
    SetLastError(0xdeadbeef);
    h2 = show_h("C13 CreateWaitableTimerExW(HIGH_RESOLUTION, named)",
                CreateWaitableTimerExW(NULL, L"winsim-probe-hr", 2, TIMER_ALL_ACCESS));
    if (h2) CloseHandle(h2);
    SetLastError(0xdeadbeef);
    h2 = show_h("C14 CreateWaitableTimerExW(HIGH_RESOLUTION|MANUAL_RESET, unnamed)",
                CreateWaitableTimerExW(NULL, NULL, 3, TIMER_ALL_ACCESS));
    if (h2) {
        show_b("C14b SetWaitableTimer(high-res, period 10)", (SetLastError(0xdeadbeef), set_rel(h2, -1, 10)));
        CloseHandle(h2);
    }
    CloseHandle(h);

    printf("== initial state, access rights\n");
    h = CreateWaitableTimerW(NULL, TRUE, L"winsim-probe-acc");
    show_w("A1 new timer", h, 0);
    static const struct { const char *name; DWORD access; } acc[] = {
        {"SYNCHRONIZE", SYNCHRONIZE},
        {"TIMER_MODIFY_STATE", TIMER_MODIFY_STATE},
        {"TIMER_QUERY_STATE", TIMER_QUERY_STATE},
        {"GENERIC_READ", GENERIC_READ},
        {"GENERIC_WRITE", GENERIC_WRITE},
        {"GENERIC_EXECUTE", GENERIC_EXECUTE},
        {"GENERIC_ALL", GENERIC_ALL},
    };
    for (unsigned i = 0; i < sizeof(acc) / sizeof(acc[0]); i++) {
        char tag[96];
        h2 = OpenWaitableTimerW(acc[i].access, FALSE, L"winsim-probe-acc");
        if (!h2) { printf("RESULT A2 open(%s) failed err=%lu\n", acc[i].name, GetLastError()); continue; }
        SetLastError(0xdeadbeef);
        BOOL s = set_rel(h2, REL_MS(1000), 0);
        DWORD se = GetLastError();
        SetLastError(0xdeadbeef);
        BOOL c = CancelWaitableTimer(h2);
        DWORD ce = GetLastError();
        SetLastError(0xdeadbeef);
        DWORD w = WaitForSingleObject(h2, 0);
        DWORD we = GetLastError();
        snprintf(tag, sizeof tag, "A2 open(%s)", acc[i].name);
        printf("RESULT %s: Set ret=%d err=%lu; Cancel ret=%d err=%lu; Wait=%s err=%lu\n", tag, s,
               s ? 0 : se, c, c ? 0 : ce, wait_name(w), w == WAIT_FAILED ? we : 0);
        CloseHandle(h2);
    }
    h2 = CreateWaitableTimerExW(NULL, NULL, 0, SYNCHRONIZE);
    SetLastError(0xdeadbeef);
    show_b("A3 CreateWaitableTimerExW(access SYNCHRONIZE) then SetWaitableTimer", set_rel(h2, -1, 0));
    CloseHandle(h2);
    SetLastError(0xdeadbeef);
    show_b("A4 SetWaitableTimer(event handle)", set_rel(ev, -1, 0));
    SetLastError(0xdeadbeef);
    show_b("A5 CancelWaitableTimer(event handle)", CancelWaitableTimer(ev));
    SetLastError(0xdeadbeef);
    show_b("A6 SetWaitableTimer(NULL handle)", set_rel(NULL, -1, 0));
    CloseHandle(h);

    printf("== SetWaitableTimer arguments\n");
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    SetLastError(0xdeadbeef);
    show_b("S1 period -1", set_rel(h, REL_MS(1000), -1));
    SetLastError(0xdeadbeef);
    show_b("S2 success (relative 1 s, period 0)", set_rel(h, REL_MS(1000), 0));
    SetLastError(0xdeadbeef);
    due.QuadPart = REL_MS(1000);
    show_b("S3 fResume=TRUE", SetWaitableTimer(h, &due, 0, NULL, NULL, TRUE));
    SetLastError(0xdeadbeef);
    show_b("S4 due time 0", set_rel(h, 0, 0));
    show_w("S4b right after due 0", h, 0);
    CancelWaitableTimer(h);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    SetLastError(0xdeadbeef);
    show_b("S5 absolute due 10000 (1601, in the past), period 500", set_rel(h, 10000, 500));
    show_w("S5b right after", h, 0);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    due.LowPart = ft.dwLowDateTime;
    due.HighPart = ft.dwHighDateTime;
    due.QuadPart += 300 * 10000LL;
    t0 = GetTickCount();
    SetWaitableTimer(h, &due, 0, NULL, NULL, FALSE);
    show_w("S6 absolute now+300 ms: at once", h, 0);
    DWORD w = WaitForSingleObject(h, 2000);
    dt = GetTickCount() - t0;
    printf("RESULT S6b: absolute now+300 ms: wait=%s after ~%lu ms\n", wait_name(w), dt);
    CloseHandle(h);

    printf("== re-set, cancel\n");
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    set_rel(h, -1, 0);
    show_w("R1 manual timer, due -1", h, 200);
    SetLastError(0xdeadbeef);
    show_b("R2 SetWaitableTimer again (due +1 s) while signalled", set_rel(h, REL_MS(1000), 0));
    show_w("R2b state after the re-set", h, 0);
    set_rel(h, -1, 0);
    show_w("R3 signalled again", h, 200);
    SetLastError(0xdeadbeef);
    show_b("R4 CancelWaitableTimer on a signalled, expired timer", CancelWaitableTimer(h));
    show_w("R4b state after the cancel", h, 0);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    set_rel(h, REL_MS(1000), 0); /* nonsignalled, active */
    SetLastError(0xdeadbeef);
    show_b("R5 CancelWaitableTimer on an active, nonsignalled timer", CancelWaitableTimer(h));
    show_w("R5b 1.3 s later: the due time passed while cancelled", h, 1300);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, FALSE, NULL);
    set_rel(h, -1, 0);
    Sleep(50); /* fired, no waiter: stays signalled */
    SetLastError(0xdeadbeef);
    show_b("R7 sync timer, signalled, no waiter: SetWaitableTimer(due +1 s)", set_rel(h, REL_MS(1000), 0));
    show_w("R7b state after the re-set", h, 0);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    set_rel(h, -1, 0);
    Sleep(50);
    SetLastError(0xdeadbeef);
    show_b("R8 manual timer, signalled: SetWaitableTimer(due 0 = already past)", set_rel(h, 0, 0));
    show_w("R8b state right after", h, 0);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, FALSE, NULL);
    SetLastError(0xdeadbeef);
    show_b("R6 CancelWaitableTimer on a never-set timer", CancelWaitableTimer(h));
    CloseHandle(h);

    printf("== waiting\n");
    for (int manual = 0; manual <= 1; manual++) {
        g_timer = CreateWaitableTimerW(NULL, manual, NULL);
        g_released = 0;
        for (int i = 0; i < 3; i++) t[i] = CreateThread(NULL, 0, waiter, NULL, 0, NULL);
        Sleep(200);
        set_rel(g_timer, -1, 0);
        Sleep(500);
        printf("RESULT W%d %s timer, 3 waiters, fired once: released=%ld\n", manual + 1,
               manual ? "manual-reset" : "synchronization", g_released);
        show_w(manual ? "W2b state afterwards" : "W1b state afterwards", g_timer, 0);
        WaitForMultipleObjects(3, t, TRUE, 5000);
        for (int i = 0; i < 3; i++) CloseHandle(t[i]);
        CloseHandle(g_timer);
    }
    h = CreateWaitableTimerW(NULL, FALSE, NULL);
    set_rel(h, -1, 0);
    Sleep(100);
    show_w("W3 sync timer, no waiters when it fired, 1st wait", h, 0);
    show_w("W3b 2nd wait", h, 0);
    CloseHandle(h);

    printf("== periodic timers\n");
    h = CreateWaitableTimerW(NULL, TRUE, NULL);
    set_rel(h, -1, 100);
    Sleep(50);
    show_w("P1 manual, period 100: after the first expiry", h, 0);
    Sleep(350);
    show_w("P1b 3.5 periods later, no waits in between", h, 0);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, FALSE, NULL);
    set_rel(h, -1, 50);
    Sleep(520); /* about 10 periods */
    show_w("P2 sync, period 50, ~10 periods elapsed: 1st wait", h, 0);
    show_w("P2b 2nd wait at once (would succeed if expiries queued)", h, 0);
    t0 = GetTickCount();
    w = WaitForSingleObject(h, 1000);
    dt = GetTickCount() - t0;
    printf("RESULT P2c: next wait=%s after ~%lu ms (period 50)\n", wait_name(w), dt);
    CloseHandle(h);
    h = CreateWaitableTimerW(NULL, FALSE, NULL);
    t0 = GetTickCount();
    set_rel(h, -1, 300);
    DWORD stamps[4];
    for (int i = 0; i < 4; i++) {
        WaitForSingleObject(h, 2000);
        stamps[i] = GetTickCount() - t0;
    }
    printf("RESULT P3: sync, due -1, period 300, wait returns at ~%lu %lu %lu %lu ms\n", stamps[0], stamps[1],
           stamps[2], stamps[3]);
    /* Late consumer: expiry at 0, 300, ...; consume at ~450 ms; is the next one at 600 or 750? */
    set_rel(h, -1, 300);
    t0 = GetTickCount();
    WaitForSingleObject(h, 2000);
    Sleep(450);
    WaitForSingleObject(h, 0); /* consumes the expiry of ~300 ms */
    w = WaitForSingleObject(h, 2000);
    dt = GetTickCount() - t0;
    printf("RESULT P4: period 300, consumer late by 150 ms: next expiry seen at ~%lu ms (%s)\n", dt, wait_name(w));
    CloseHandle(h);

    printf("== clocks\n");
    LARGE_INTEGER f1, f2;
    SetLastError(0xdeadbeef);
    BOOL r1 = QueryPerformanceFrequency(&f1);
    BOOL r2 = QueryPerformanceFrequency(&f2);
    printf("RESULT K1 QueryPerformanceFrequency: ret=%d freq=%lld (again %lld)\n", r1 && r2, f1.QuadPart, f2.QuadPart);
    QueryPerformanceCounter(&li);
    Sleep(100);
    QueryPerformanceCounter(&li2);
    printf("RESULT K2 QPC over Sleep(100): delta=%lld counts = %lld us\n", li2.QuadPart - li.QuadPart,
           (li2.QuadPart - li.QuadPart) * 1000000 / f1.QuadPart);
    DWORD tc = GetTickCount();
    ULONGLONG tc64 = GetTickCount64();
    printf("RESULT K3 GetTickCount=%lu GetTickCount64=%llu (low 32 bits %lu)\n", tc, tc64, (DWORD)tc64);
    GetSystemTimeAsFileTime(&ft);
    ULONGLONG st = ((ULONGLONG)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
    printf("RESULT K4 GetSystemTimeAsFileTime=%llu (= %llu s since 1970)\n", st,
           (st - 116444736000000000ULL) / 10000000ULL);
    {
        char self[MAX_PATH], cmd[MAX_PATH + 16];
        STARTUPINFOA si = {sizeof si};
        PROCESS_INFORMATION pi;
        DWORD code = 0;
        GetModuleFileNameA(NULL, self, MAX_PATH);
        snprintf(cmd, sizeof cmd, "\"%s\" qpc-null", self);
        if (CreateProcessA(NULL, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) {
            WaitForSingleObject(pi.hProcess, 10000);
            GetExitCodeProcess(pi.hProcess, &code);
            printf("RESULT K5 QueryPerformanceCounter(NULL) in a child: exit code 0x%08lx\n", code);
            CloseHandle(pi.hProcess);
            CloseHandle(pi.hThread);
        } else {
            printf("RESULT K5: CreateProcess failed err=%lu\n", GetLastError());
        }
    }
    CloseHandle(ev);
    CloseHandle(mx);
    return 0;
}
