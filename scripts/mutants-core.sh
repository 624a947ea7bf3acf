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
echo 'pub mod core;' > "$dir/src/lib.rs"
cat > "$dir/Cargo.toml" <<'EOF'
[package]
name = "escalation-ledger-core"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
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

[dev-dependencies]
proptest = "1"

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
EOF
cd "$dir"
export CARGO_TARGET_DIR="$dir/target"
for f in "$@"; do
    start=$(date -u +%s)
    cargo mutants --in-place --baseline skip --file "src/core/$f.rs" \
        --timeout 120 -o "$dir/out-$f" -- --lib || true
    echo "$f: $(( $(date -u +%s) - start )) s"
done
