#!/usr/bin/env bash
# Builds the published crates with the toolchain of the MSRV that Cargo.toml states
# (workspace.package.rust-version), from Cargo.lock, so the stated MSRV stays true.
# Installs that toolchain with rustup when missing (minimal profile). docs/publishing.md.
#
# Usage: tools/msrv-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
if [ -z "$msrv" ]; then
  echo "no rust-version in Cargo.toml's [workspace.package]" >&2
  exit 2
fi
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$msrv" --profile minimal
fi
echo "MSRV $msrv: $(rustup run "$msrv" rustc --version)"

# Its own target directory: another toolchain's artifacts would only be rebuilt.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/msrv-$msrv"
packages=(winsim-model winsim-core winsim-macros winsim-scenarios winsim winsim-native winsim-cli)
args=()
for p in "${packages[@]}"; do args+=(-p "$p"); done
# Libraries, binaries and examples: what a user of the published crates compiles.
rustup run "$msrv" cargo build --locked "${args[@]}" --lib --bins --examples
echo "MSRV $msrv: the published crates build"
