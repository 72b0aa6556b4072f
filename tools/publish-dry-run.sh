#!/usr/bin/env bash
# Packages every published crate of the workspace and checks that it would publish:
# `cargo publish --dry-run --workspace` packages each member in dependency order
# (winsim-core, winsim-macros, winsim-model, winsim-scenarios, winsim, winsim-cli,
# winsim-native), builds each .crate on its own against the others' packaged versions (a
# local overlay of crates.io), and uploads nothing. Then it checks each .crate's size
# against crates.io's 10 MB limit and lists what it ships. docs/publishing.md.
#
# Usage: tools/publish-dry-run.sh [--allow-dirty] [--no-verify]
#   --allow-dirty  package uncommitted changes too (cargo refuses them by default)
#   --no-verify    package only, without building each .crate (a few seconds, not minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
cargo publish --dry-run --workspace --locked "$@"

# The dry run keeps its .crate files in cargo's temporary folders: package once more
# without building (seconds) to have them at target/package/NAME-VERSION.crate.
package_args=()
for a in "$@"; do [ "$a" = "--allow-dirty" ] && package_args+=(--allow-dirty); done
rm -f "$target"/package/*.crate
cargo package --workspace --no-verify --locked "${package_args[@]}"

limit=$((10 * 1024 * 1024))
status=0
echo
echo "packaged crates:"
for crate in "$target"/package/*.crate; do
  size=$(wc -c < "$crate")
  files=$(tar tzf "$crate" | wc -l)
  printf '  %-32s %8d bytes  %4d files\n' "$(basename "$crate")" "$size" "$files"
  if [ "$size" -gt "$limit" ]; then
    echo "  ^ larger than crates.io's 10 MB limit" >&2
    status=1
  fi
done
exit $status
