#!/usr/bin/env bash
# The differential suite: the cases of native/src/cases.rs run natively (cross-compiled
# for Windows, run under Wine) and in the simulator; the comparer prints the findings and
# the totals (docs/conformance.md). Outside the default test command.
#
#   tools/native-diff.sh            run, compare; exit 1 on a real disagreement
#   tools/native-diff.sh --update   also copy the logs to native/expected/
#
# Environment: CARGO_TARGET_DIR (the Linux build), NATIVE_WIN_TARGET_DIR (the
# cross build; default: $CARGO_TARGET_DIR-win, or target/native-win).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINUX_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WIN_TARGET_DIR=${NATIVE_WIN_TARGET_DIR:-${CARGO_TARGET_DIR:+$CARGO_TARGET_DIR-win}}
WIN_TARGET_DIR=${WIN_TARGET_DIR:-$ROOT/target/native-win}
TRIPLE=x86_64-pc-windows-gnu

# 1. What it needs: mingw, Wine, the Rust target.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! dpkg -s wine64 >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends wine64 gcc-mingw-w64-x86-64
fi
rustup target list --installed | grep -qx "$TRIPLE" || rustup target add "$TRIPLE"
WINE=$(dpkg -L wine64 | grep '/lib/wine/wine64$' | head -1)
[ -x "$WINE" ] || { echo "native-diff: no wine64 launcher found" >&2; exit 2; }

# 2. The native runner, cross-compiled, and the ProcessPrng shim beside it.
cargo build --manifest-path "$ROOT/Cargo.toml" -p winsim-native --target "$TRIPLE" --target-dir "$WIN_TARGET_DIR"
RUN=$WIN_TARGET_DIR/native-diff
mkdir -p "$RUN"
cp "$WIN_TARGET_DIR/$TRIPLE/debug/winsim-native.exe" "$RUN/"
x86_64-w64-mingw32-gcc -O1 -shared -o "$RUN/bcryptprimitives.dll" "$ROOT/tools/native/bcryptprimitives.c" -ladvapi32

# 3. Run natively under Wine, in a fresh prefix.
PREFIX=$(mktemp -d)
trap 'WINEPREFIX="$PREFIX" "$(dirname "$WINE")/wineserver" -k 2>/dev/null; rm -rf "$PREFIX" 2>/dev/null || true' EXIT
WINEPREFIX=$PREFIX WINEDEBUG=-all timeout 300 "$WINE" "$RUN/winsim-native.exe" native | tr -d '\r' >"$RUN/native.log"

# 4. The simulator side.
cargo run --manifest-path "$ROOT/Cargo.toml" -q -p winsim-native --target-dir "$LINUX_TARGET_DIR" -- sim >"$RUN/sim.log"

if [ "${1:-}" = "--update" ]; then
    cp "$RUN/native.log" "$ROOT/native/expected/wine.log"
    cp "$RUN/sim.log" "$ROOT/native/expected/sim.log"
fi

# 5. Compare.
echo "native-diff: $(wc -l <"$RUN/sim.log") simulator lines, $(wc -l <"$RUN/native.log") native lines (logs in $RUN)"
"$LINUX_TARGET_DIR/debug/winsim-native" compare "$RUN/sim.log" "$RUN/native.log" "$ROOT/native/manifest.txt"
