#!/usr/bin/env bash
# Checks the public API of the published library crates against a baseline with
# cargo-semver-checks: a change that would break users' code (a removed or renamed item,
# a new required parameter, a new variant of an exhaustive enum...) without the version
# bump semver asks for fails the check. Record its result in CHANGELOG.md for each
# release. docs/publishing.md.
#
# Usage: tools/semver-check.sh [BASELINE_REV]
#   BASELINE_REV  the last release point: default the newest tag v* (required while
#                 there is none).
# cargo-semver-checks is installed from crates.io when missing (into
# $SEMVER_TOOLS/bin; SEMVER_TOOLS defaults to target/tools).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

tools="${SEMVER_TOOLS:-$root/target/tools}"
export PATH="$tools/bin:$PATH"
if ! cargo semver-checks --version >/dev/null 2>&1; then
  CARGO_TARGET_DIR="$tools/build" cargo install --locked cargo-semver-checks --root "$tools"
fi
cargo semver-checks --version

baseline="${1:-$(git tag --list 'v*' --sort=-v:refname | head -n 1)}"
if [ -z "$baseline" ]; then
  # Comparing the tree with itself would pass and prove nothing.
  echo "semver-check: no release tag v* yet; give the revision to compare with," >&2
  echo "  e.g. tools/semver-check.sh HEAD~20 (docs/publishing.md)" >&2
  exit 2
fi
rev=$(git rev-parse --verify "$baseline^{commit}")
echo "baseline: $baseline ($rev)"

# The baseline's sources, exported read-only (git archive: no worktree, no checkout).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$rev" | tar -x -C "$tmp"
# Before issue 16 the packages were named sim-core, sim-model and scenarios. A rename
# of the package is not a change of its API: give the baseline the published names, so
# that the crates are compared with what they were.
if grep -q '^name = "sim-core"' "$tmp/sim-core/Cargo.toml" 2>/dev/null; then
  sed -i 's/^name = "sim-core"/name = "winsim-core"/' "$tmp/sim-core/Cargo.toml"
  sed -i 's/^name = "sim-model"/name = "winsim-model"/' "$tmp/sim-model/Cargo.toml"
  sed -i 's/^name = "scenarios"/name = "winsim-scenarios"/' "$tmp/scenarios/Cargo.toml"
  # Their library names follow (winsim_core...), as they do now; inside the workspace
  # the dependency keys keep the old names, as they do now.
  sed -i -e 's|^sim-core = { path = "sim-core" }|sim-core = { package = "winsim-core", path = "sim-core" }|' \
         -e 's|^sim-model = { path = "sim-model" }|sim-model = { package = "winsim-model", path = "sim-model" }|' \
         -e 's|^scenarios = { path = "scenarios" }|scenarios = { package = "winsim-scenarios", path = "scenarios" }|' \
         "$tmp/Cargo.toml"
fi

# The library crates users depend on (winsim-macros is a proc-macro crate: its surface is
# the attribute, which the facade's tests exercise; winsim-cli's is main/run_with_args).
status=0
for p in winsim-model winsim-core winsim-scenarios winsim winsim-cli winsim-native; do
  echo "== $p"
  if ! cargo semver-checks check-release -p "$p" --baseline-root "$tmp"; then
    status=1
  fi
done
exit $status
