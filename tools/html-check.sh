#!/usr/bin/env bash
# Opens winsim's HTML pages in headless Chromium and checks what a browser sees: the
# page renders (a screenshot is written), and the DOM after rendering has the timeline
# with one lane per thread and the trace table. Outside the default test command (it
# installs Chromium, which CI does not need): run it by hand or in a separate job.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q chromium
fi
out="${TMPDIR:-/tmp}/winsim-html-check"
mkdir -p "$out"
cargo build -q -p winsim-cli
for s in redirect-leaked-write-end named-pipe-echo pipe-both-write sendmessage-no-pump; do
  ./target/debug/winsim run "$s" --html "$out/$s.html" >/dev/null || true
  chromium --headless --no-sandbox --disable-gpu --screenshot="$out/$s.png" --window-size=1400,900 "file://$out/$s.html" 2>/dev/null
  chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$out/$s.html" 2>/dev/null > "$out/$s.dom.html"
  lanes=$(grep -o 'class="lane"' "$out/$s.dom.html" | wc -l)
  rows=$(grep -o '<tr><td>#' "$out/$s.dom.html" | wc -l)
  [ -s "$out/$s.png" ] || { echo "$s: no screenshot"; exit 1; }
  [ "$lanes" -ge 1 ] && [ "$rows" -ge 1 ] || { echo "$s: the rendered DOM lacks lanes ($lanes) or trace rows ($rows)"; exit 1; }
  echo "$s: rendered, $lanes lanes, $rows trace rows, screenshot $out/$s.png"
done
