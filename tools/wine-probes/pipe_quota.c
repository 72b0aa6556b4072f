/* Facts 2.3, 2.4, 4.7 (shared/semantics/pipes-handles-threads-waits.md): the write quota.
 * Part 1 is winsim's scenario pipe-quota-arithmetic: CreatePipe(nSize=4), a 10-byte write
 * on another thread, then 1-byte reads. Part 2 is the quota-5000 example of fact 2.4
 * (pipe.c :: test_blocking_rw). Expected (winsim): see README.md. */
#include "probe.h"

static HANDLE g_w;
static volatile LONG g_done1, g_done_big, g_done_small;
static DWORD g_written1, g_written_big, g_written_small;

static DWORD WINAPI writer10(void *p) {
    WriteFile(g_w, "0123456789", 10, &g_written1, NULL);
    InterlockedExchange(&g_done1, 1);
    return 0;
}
static char big[5000];
static DWORD WINAPI writer_big(void *p) {
    memset(big, 2, sizeof big);
    WriteFile(g_w, big, 5000, &g_written_big, NULL);
    InterlockedExchange(&g_done_big, 1);
    return 0;
}
static DWORD WINAPI writer_small(void *p) {
    char c = 3;
    WriteFile(g_w, &c, 1, &g_written_small, NULL);
    InterlockedExchange(&g_done_small, 1);
    return 0;
}

static void part1(void) {
    HANDLE r, t;
    char c;
    DWORD n, insz = 77, outsz = 77;
    int returned_after = -1;
    printf("== part 1: CreatePipe(nSize=4), WriteFile(10 bytes) on a thread, 1-byte reads\n");
    CreatePipe(&r, &g_w, NULL, 4);
    GetNamedPipeInfo(r, NULL, &outsz, &insz, NULL);
    printf("GetNamedPipeInfo(read end): out=%lu in=%lu\n", outsz, insz);
    t = CreateThread(NULL, 0, writer10, NULL, 0, NULL);
    SETTLE();
    printf("before any read: write returned=%ld\n", g_done1);
    for (int i = 1; i <= 10; i++) {
        DWORD avail = peek_avail(r);
        SetLastError(0xdeadbeef);
        BOOL ok = ReadFile(r, &c, 1, &n, NULL);
        E = GetLastError();
        SETTLE();
        LONG d = g_done1;
        printf("peek avail=%lu; read %d: ret=%d n=%lu", avail, i, ok, n);
        if (!ok) perr();
        pbytes(&c, n);
        printf("; write returned=%ld\n", d);
        if (d && returned_after < 0) returned_after = i;
    }
    WaitForSingleObject(t, 2000);
    printf("RESULT part1: the 10-byte write returned after read %d, written=%lu\n", returned_after,
           g_written1);
    CloseHandle(t);
    CloseHandle(r);
    CloseHandle(g_w);
}

static void part2(void) {
    HANDLE r, tb, ts;
    static char buf[6000];
    DWORD n = 77;
    printf("== part 2: quota 5000 (fact 2.4)\n");
    CreatePipe(&r, &g_w, NULL, 5000);
    memset(buf, 1, 3000);
    SetLastError(0xdeadbeef);
    BOOL ok = WriteFile(g_w, buf, 3000, &n, NULL);
    E = GetLastError();
    printf("WriteFile(3000): ret=%d n=%lu (returned at once)\n", ok, n);
    tb = CreateThread(NULL, 0, writer_big, NULL, 0, NULL);
    SETTLE();
    printf("5000-byte write on thread B: returned=%ld; peek avail=%lu\n", g_done_big, peek_avail(r));
    ts = CreateThread(NULL, 0, writer_small, NULL, 0, NULL);
    SETTLE();
    printf("1-byte write on thread C (same handle): returned=%ld; peek avail=%lu\n", g_done_small,
           peek_avail(r));
    ok = ReadFile(r, buf, 3000, &n, NULL);
    SETTLE();
    LONG big3000 = g_done_big, small3000 = g_done_small;
    printf("ReadFile(3000): ret=%d n=%lu first=%d; 5000-write returned=%ld (written=%lu); "
           "1-byte write returned=%ld; peek avail=%lu\n",
           ok, n, buf[0], g_done_big, g_written_big, g_done_small, peek_avail(r));
    ok = ReadFile(r, buf, 1, &n, NULL);
    SETTLE();
    LONG small1 = g_done_small;
    printf("ReadFile(1): ret=%d n=%lu byte=%d; 1-byte write returned=%ld (written=%lu); "
           "peek avail=%lu\n",
           ok, n, buf[0], g_done_small, g_written_small, peek_avail(r));
    ok = ReadFile(r, buf, 6000, &n, NULL);
    printf("ReadFile(6000): ret=%d n=%lu last byte=%d\n", ok, n, n ? buf[n - 1] : -1);
    WaitForSingleObject(tb, 2000);
    WaitForSingleObject(ts, 2000);
    printf("RESULT part2: after read 3000: 5000-byte write %s, 1-byte write %s; "
           "after read 1: 1-byte write %s\n",
           big3000 ? "returned" : "pending", small3000 ? "returned" : "pending",
           small1 ? "returned" : "pending");
    CloseHandle(tb);
    CloseHandle(ts);
    CloseHandle(r);
    CloseHandle(g_w);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    part1();
    part2();
    return 0;
}
