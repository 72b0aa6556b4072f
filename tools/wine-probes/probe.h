/* Shared helpers for the winsim Wine probes (see README.md). Each call is printed with its
 * return value and, after SetLastError(0xdeadbeef), its last error; compare the error only
 * where the call failed (Wine sometimes touches it on success). */
#include <windows.h>
#include <stdio.h>
#include <string.h>

static DWORD E;
static void perr(void) {
    if (E == 0xdeadbeef) printf(" err=untouched");
    else printf(" err=%lu", E);
}
/* Prints bytes with \n escaped, so a line holds one call. */
static __attribute__((unused)) void pbytes(const char *b, DWORD n) {
    printf(" \"");
    for (DWORD i = 0; i < n; i++) {
        if (b[i] == '\n') printf("\\n");
        else if (b[i] == '\r') printf("\\r");
        else if (b[i] >= 32 && b[i] < 127) putchar(b[i]);
        else printf("\\x%02x", (unsigned char)b[i]);
    }
    printf("\"");
}
/* Lets other threads run; 50 ms is ample under Wine on an idle machine. */
#define SETTLE() Sleep(50)

static __attribute__((unused)) DWORD peek_avail(HANDLE r) {
    DWORD avail = 77;
    SetLastError(0xdeadbeef);
    BOOL ok = PeekNamedPipe(r, NULL, 0, NULL, &avail, NULL);
    E = GetLastError();
    if (!ok) { printf("  PeekNamedPipe failed"); perr(); printf("\n"); }
    return avail;
}
