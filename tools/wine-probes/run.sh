#!/bin/sh
# Compiles each probe with mingw and runs it under Wine, each in a fresh prefix.
# A manual tool, not part of CI. Usage: tools/wine-probes/run.sh [probe ...]
# (probe = pipe_quota | redirect | zero_length | timers | com_inferred; default: all).
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
cc=x86_64-w64-mingw32-gcc

die() { echo "run.sh: $*" >&2; exit 2; }

command -v "$cc" >/dev/null 2>&1 ||
    die "$cc not found; install it with: apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64"

# Debian puts the launcher in /usr/lib/wine, not on PATH; ask dpkg where it is.
wine=""
if command -v dpkg >/dev/null 2>&1; then
    wine=$(dpkg -L wine64 2>/dev/null | grep -E '/wine64$' | head -n 1 || true)
fi
if [ -z "$wine" ] || [ ! -x "$wine" ]; then
    wine=$(command -v wine64 2>/dev/null || command -v wine 2>/dev/null || true)
fi
[ -n "$wine" ] && [ -x "$wine" ] ||
    die "no Wine launcher found (dpkg -L wine64, wine64, wine); install it with: apt-get install -y --no-install-recommends wine64"
wineserver=$(dirname "$wine")/wineserver64
[ -x "$wineserver" ] || wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver 2>/dev/null || true)

probes=${*:-"pipe_quota redirect zero_length timers com_inferred"}
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT INT TERM

echo "wine: $wine ($("$wine" --version 2>/dev/null || echo unknown version))"
echo "cc:   $(command -v "$cc")"
status=0
for p in $probes; do
    p=${p%.c}
    [ -f "$dir/$p.c" ] || die "no probe $dir/$p.c"
    # A probe names the libraries it needs in a comment: "LIBS: -lole32 -luuid".
    libs=$(sed -n 's/.*LIBS: \(-[-a-z0-9_ ]*\).*/\1/p' "$dir/$p.c" | head -n 1)
    # shellcheck disable=SC2086
    "$cc" -O1 -Wall -o "$build/$p.exe" "$dir/$p.c" $libs || die "compiling $p.c failed"
    prefix=$(mktemp -d)
    echo
    echo "##### $p.exe (WINEPREFIX=$prefix)"
    # The first run in a new prefix takes about 10 s (prefix creation).
    WINEPREFIX=$prefix WINEDEBUG=-all timeout 120 "$wine" "$build/$p.exe" </dev/null 2>"$build/$p.stderr" |
        tr -d '\r' || status=1
    # Drop the two lines Wine prints while it creates a new prefix.
    grep -v -e 'rundll32.exe": c0000135$' -e 'has been updated\.$' "$build/$p.stderr" \
        >"$build/$p.err" || true
    if [ -s "$build/$p.err" ]; then
        echo "(stderr of $p.exe:)"
        sed 's/^/  /' "$build/$p.err"
    fi
    if [ -n "$wineserver" ]; then WINEPREFIX=$prefix "$wineserver" -k 2>/dev/null || true; fi
    rm -rf "$prefix"
done
exit $status
