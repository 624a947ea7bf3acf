#!/bin/bash
# Mutation testing of the pure core (docs/testing.md), by hand: too slow for CI.
#
# cargo-mutants rebuilds the crate for every mutant. Rebuilding the whole
# service took 2.5 to 8 minutes per mutant on the shared two-core machine, so
# this copies src/core (which imports nothing outside itself: tests/layers.rs
# holds it to that) and the assets it embeds into a throwaway crate with the
# same dependency versions (Cargo.lock), and runs the core's own unit tests
# there: about a minute per mutant.
#
#   scripts/mutants-core.sh DIR ladder policy calendar ...
#
# One job (the machine is shared; `--in-place` runs one at a time, and
# cargo-mutants refuses `--jobs` beside it), 120 s per mutant at most (MUTANTS_TIMEOUT), the lib's unit
# tests only. Extra cargo-mutants options go in MUTANTS_ARGS, e.g. the second
# half of a file's mutants, in the order `cargo mutants --list` gives them:
#
#   MUTANTS_ARGS="--shard 1/2 --sharding slice" scripts/mutants-core.sh DIR ladder
#
# and arguments for the test binary in MUTANTS_TEST_ARGS (after a `--`): the
# whole of the core's unit tests took 135 s on the loaded machine, 78 s of it
# core::tlog_proof, so modules that do not reach the file can be left out:
#
#   MUTANTS_TEST_ARGS="-- --skip core::tlog_proof --skip core::merkle" ...
#
# needs `cargo install --locked cargo-mutants`; results in DIR/out-<file>.
set -euo pipefail
dir=${1:?usage: $0 DIR FILE...}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir/src"
cp "$here/Cargo.lock" "$dir/"
rm -rf "$dir/src/core" "$dir/assets"
cp -r "$here/src/core" "$dir/src/"
cp -r "$here/assets" "$dir/"
# pq.rs's tests read a published ML-DSA key from tests/vectors.
mkdir -p "$dir/tests"
rm -rf "$dir/tests/vectors"
cp -r "$here/tests/vectors" "$dir/tests/"
echo 'pub mod core;' > "$dir/src/lib.rs"
cat > "$dir/Cargo.toml" <<'EOF'
[package]
name = "escalation-ledger-core"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["raw_value"] }
chrono = { version = "0.4", default-features = false, features = ["clock", "serde", "std"] }
chrono-tz = { version = "0.10", default-features = false, features = ["std"] }
sha2 = "0.10"
hmac = "0.12"
ed25519-dalek = "2"
base64 = "0.22"
hex = "0.4"
thiserror = "2"
utoipa = { version = "5", features = ["chrono"] }
toml = "0.9"
getrandom = "0.3"
ml-dsa = { version = "0.1.2", default-features = false, features = ["alloc"] }

[dev-dependencies]
proptest = "1"

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false

# As in the service's Cargo.toml: ML-DSA is slow unoptimised.
[profile.dev.package.ml-dsa]
opt-level = 3
[profile.dev.package.module-lattice]
opt-level = 3
[profile.dev.package.keccak]
opt-level = 3
[profile.dev.package.shake]
opt-level = 3
[profile.dev.package.hybrid-array]
opt-level = 3
EOF
cd "$dir"
export CARGO_TARGET_DIR="$dir/target"
for f in "$@"; do
    start=$(date -u +%s)
    # shellcheck disable=SC2086 # MUTANTS_ARGS is split into options on purpose
    cargo mutants --in-place --baseline skip --file "src/core/$f.rs" \
        --timeout "${MUTANTS_TIMEOUT:-120}" ${MUTANTS_ARGS:-} -o "$dir/out-$f" -- --lib ${MUTANTS_TEST_ARGS:-} || true
    echo "$f: $(( $(date -u +%s) - start )) s"
done
