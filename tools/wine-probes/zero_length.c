/* Facts 3.3, 3.2, 2.7, 3.1: zero-length reads and writes, and reads merging writes. */
#include "probe.h"

static HANDLE g_r, g_w;
static volatile LONG g_done;
static BOOL g_ok;
static DWORD g_n, g_err;

static DWORD WINAPI zero_read(void *p) {
    char buf[1];
    g_n = 77;
    SetLastError(0xdeadbeef);
    g_ok = ReadFile(g_r, buf, 0, &g_n, NULL);
    g_err = GetLastError();
    InterlockedExchange(&g_done, 1);
    return 0;
}
static DWORD WINAPI zero_write(void *p) {
    g_n = 77;
    SetLastError(0xdeadbeef);
    g_ok = WriteFile(g_w, "", 0, &g_n, NULL);
    g_err = GetLastError();
    InterlockedExchange(&g_done, 1);
    return 0;
}
static DWORD WINAPI one_byte_write(void *p) {
    DWORD n;
    WriteFile(g_w, "x", 1, &n, NULL);
    return 0;
}

int main(void) {
    char buf[64];
    DWORD n;
    HANDLE t, t2;
    BOOL ok;
    setvbuf(stdout, NULL, _IONBF, 0);

    printf("== fact 3.3: zero-length ReadFile on an empty pipe\n");
    CreatePipe(&g_r, &g_w, NULL, 0);
    g_done = 0;
    t = CreateThread(NULL, 0, zero_read, NULL, 0, NULL);
    Sleep(500);
    printf("after 500 ms: zero-length read %s\n", g_done ? "RETURNED" : "blocked");
    WriteFile(g_w, "hello", 5, &n, NULL);
    printf("WriteFile(\"hello\") = %lu bytes\n", n);
    DWORD wr = WaitForSingleObject(t, 2000);
    printf("zero-length read: %s ret=%d n=%lu", wr == WAIT_OBJECT_0 ? "returned" : "STILL BLOCKED",
           g_ok, g_n);
    if (!g_ok) { E = g_err; perr(); }
    printf("; peek avail=%lu\n", peek_avail(g_r));
    ok = ReadFile(g_r, buf, 16, &n, NULL);
    printf("RESULT 3.3: ReadFile(16): ret=%d n=%lu", ok, n);
    pbytes(buf, n);
    printf("\n");
    CloseHandle(t);

    printf("== fact 3.2: zero-length ReadFile with data queued\n");
    WriteFile(g_w, "abc", 3, &n, NULL);
    n = 77;
    SetLastError(0xdeadbeef);
    ok = ReadFile(g_r, buf, 0, &n, NULL);
    E = GetLastError();
    printf("RESULT 3.2: ReadFile(0): ret=%d n=%lu", ok, n);
    if (!ok) perr();
    printf("; peek avail=%lu\n", peek_avail(g_r));
    ReadFile(g_r, buf, 16, &n, NULL);
    CloseHandle(g_r);
    CloseHandle(g_w);

    printf("== fact 2.7: zero-length WriteFile on a full pipe (nSize 4)\n");
    CreatePipe(&g_r, &g_w, NULL, 4);
    ok = WriteFile(g_w, "full", 4, &n, NULL);
    printf("WriteFile(\"full\"): ret=%d n=%lu\n", ok, n);
    g_done = 0;
    t = CreateThread(NULL, 0, zero_write, NULL, 0, NULL);
    wr = WaitForSingleObject(t, 1000);
    printf("RESULT 2.7a (full pipe): zero-length write %s ret=%d n=%lu", wr == WAIT_OBJECT_0 ? "returned" : "BLOCKED",
           g_ok, g_n);
    if (!g_ok) { E = g_err; perr(); }
    printf("; peek avail=%lu\n", peek_avail(g_r));
    CloseHandle(t);
    t2 = CreateThread(NULL, 0, one_byte_write, NULL, 0, NULL);
    SETTLE();
    printf("a 1-byte write is now pending on another thread; peek avail=%lu\n", peek_avail(g_r));
    g_done = 0;
    t = CreateThread(NULL, 0, zero_write, NULL, 0, NULL);
    wr = WaitForSingleObject(t, 1000);
    printf("RESULT 2.7b (full pipe, write pending): zero-length write %s ret=%d n=%lu",
           wr == WAIT_OBJECT_0 ? "returned" : "BLOCKED", g_ok, g_n);
    if (!g_ok) { E = g_err; perr(); }
    printf("; peek avail=%lu\n", peek_avail(g_r));
    ok = ReadFile(g_r, buf, 8, &n, NULL);
    printf("ReadFile(8): ret=%d n=%lu", ok, n);
    pbytes(buf, n);
    printf("\n");
    WaitForSingleObject(t2, 2000);
    WaitForSingleObject(t, 2000);
    CloseHandle(t);
    CloseHandle(t2);
    CloseHandle(g_r);
    CloseHandle(g_w);

    printf("== fact 3.1: one read merges two writes\n");
    CreatePipe(&g_r, &g_w, NULL, 0);
    WriteFile(g_w, "hello world", 11, &n, NULL);
    WriteFile(g_w, "0123456789", 10, &n, NULL);
    ok = ReadFile(g_r, buf, 32, &n, NULL);
    printf("RESULT 3.1: writes of 11 and 10, ReadFile(32): ret=%d n=%lu", ok, n);
    pbytes(buf, n);
    printf("\n");
    CloseHandle(g_r);
    CloseHandle(g_w);
    return 0;
}
