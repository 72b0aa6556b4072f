/* Facts 1.9, 1.10, 3.4, 3.5: a child's redirected stdout, and the leaked write end.
 * winsim scenarios redirect-fixed (variant A) and redirect-leaked-write-end (variant B).
 * The program starts itself as the child: "redirect.exe child" writes 3 lines to its stdout
 * with WriteFile and exits 0. */
#include "probe.h"

static HANDLE g_r;
static volatile LONG g_reader_done;
static DWORD g_reader_err, g_reader_total;

static int child(void) {
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    const char *lines[3] = {"line 1\n", "line 2\n", "line 3\n"};
    DWORD n;
    for (int i = 0; i < 3; i++) WriteFile(out, lines[i], 7, &n, NULL);
    return 0;
}

/* Creates the pipe (inheritable, read end made non-inheritable as in Microsoft's sample) and
 * starts the child with stdout = stderr = the write end, bInheritHandles = TRUE. */
static PROCESS_INFORMATION start(HANDLE *w) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOA si;
    PROCESS_INFORMATION pi;
    char path[MAX_PATH], cmd[MAX_PATH + 16];
    CreatePipe(&g_r, w, &sa, 0);
    SetHandleInformation(g_r, HANDLE_FLAG_INHERIT, 0);
    GetModuleFileNameA(NULL, path, MAX_PATH);
    snprintf(cmd, sizeof cmd, "\"%s\" child", path);
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = *w;
    si.hStdError = *w;
    SetLastError(0xdeadbeef);
    BOOL ok = CreateProcessA(NULL, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    E = GetLastError();
    printf("CreateProcess(bInheritHandles=TRUE, STARTF_USESTDHANDLES): ret=%d", ok);
    if (!ok) perr();
    printf("\n");
    return pi;
}

/* Reads until ReadFile fails; prints each read. */
static DWORD WINAPI reader(void *p) {
    char buf[64];
    DWORD n;
    for (;;) {
        n = 77;
        SetLastError(0xdeadbeef);
        BOOL ok = ReadFile(g_r, buf, sizeof buf, &n, NULL);
        E = GetLastError();
        printf("  ReadFile(64): ret=%d n=%lu", ok, n);
        if (!ok) {
            perr();
            printf("\n");
            g_reader_err = E;
            break;
        }
        pbytes(buf, n);
        printf("\n");
        g_reader_total += n;
    }
    InterlockedExchange(&g_reader_done, 1);
    return 0;
}

static void variant_a(void) {
    HANDLE w;
    DWORD code = 77;
    printf("== variant A: parent closes its write handle after CreateProcess\n");
    PROCESS_INFORMATION pi = start(&w);
    CloseHandle(w);
    reader(NULL);
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    printf("RESULT A: read %lu bytes in total, final ReadFile error %lu; child exit code %lu\n",
           g_reader_total, g_reader_err, code);
    CloseHandle(pi.hProcess);
    CloseHandle(pi.hThread);
    CloseHandle(g_r);
}

static void variant_b(void) {
    HANDLE w, t;
    DWORD code = 77;
    printf("== variant B: parent keeps its write handle (the leak)\n");
    g_reader_done = 0;
    g_reader_total = 0;
    PROCESS_INFORMATION pi = start(&w);
    t = CreateThread(NULL, 0, reader, NULL, 0, NULL);
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    printf("child exited with code %lu; sleeping 1000 ms\n", code);
    Sleep(1000);
    printf("RESULT B: child exited + 1000 ms: reader %s (read %lu bytes so far)\n",
           g_reader_done ? "FINISHED" : "still blocked", g_reader_total);
    /* Extra (fact 1.10): closing the last write handle is what ends the read. */
    CloseHandle(w);
    DWORD wr = WaitForSingleObject(t, 2000);
    printf("extra: after the parent's CloseHandle(write end): reader %s, error %lu\n",
           wr == WAIT_OBJECT_0 ? "finished" : "still blocked", g_reader_err);
    fflush(stdout);
    ExitProcess(0);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "child")) return child();
    setvbuf(stdout, NULL, _IONBF, 0);
    variant_a();
    variant_b();
    return 0;
}
