#!/usr/bin/env bash
# Builds the published crates with the toolchain of the MSRV that Cargo.toml states
# (workspace.package.rust-version), so the stated MSRV stays true. Installs that toolchain
# with rustup when missing (minimal profile). docs/publishing.md.
#
# Cargo.lock holds the newest dependencies, some of which need a newer rustc than ours
# (kdl 6.7 asks for 1.95). A user on the MSRV gets older ones: cargo's MSRV-aware resolver
# picks, for each dependency, its newest version that supports our rust-version. The check
# does the same: it resolves a lockfile that way for the build and puts Cargo.lock back.
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

cp Cargo.lock "${TMPDIR:-/tmp}/winsim-msrv-Cargo.lock"
trap 'cp "${TMPDIR:-/tmp}/winsim-msrv-Cargo.lock" Cargo.lock' EXIT
CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update --quiet

# Its own target directory: another toolchain's artifacts would only be rebuilt.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/msrv-$msrv"
packages=(winsim-model winsim-core winsim-macros winsim-scenarios winsim winsim-native winsim-cli)
args=()
for p in "${packages[@]}"; do args+=(-p "$p"); done
# Libraries, binaries and examples: what a user of the published crates compiles.
rustup run "$msrv" cargo build --locked "${args[@]}" --lib --bins --examples
echo "MSRV $msrv: the published crates build"
