#!/usr/bin/env bash
# scripts/bench.sh: every figure of issue 15's targets table, in one run on
# this machine, references first (docs/benchmarks.md, "Targets").
#
#   scripts/bench.sh                      # everything, about 10 to 15 minutes
#   QUICK=1 scripts/bench.sh              # smaller sizes, a minute or two (a smoke run)
#
# Measures, in order:
#   1. SHA-256 reference: `openssl speed -evp sha256 -bytes 256` (one core).
#   2. PostgreSQL: pgbench single-row INSERT commits, 16 clients.
#   3. SQLite: raw autocommit inserts (WAL, synchronous = NORMAL), python3 sqlite3.
#   4. loadgen on SQLite and PostgreSQL: ledger actions over HTTP at 16 clients
#      (rate and p99), and `verify` over the ledger it wrote.
#   5. GET one dispute and /healthz at 64 connections (wrk against `serve`),
#      alternated twice, SQLite and PostgreSQL.
#   6. The offline audit of a synthetic bundle of AUDIT_ENTRIES entries
#      (default 10 M): rate, and peak RSS from /usr/bin/time -v.
#   7. treebench on SQLite and PostgreSQL at PROOF_ENTRIES (default 1 M):
#      proof latency in-process (server-side) and over HTTP.
# then prints every ratio of the targets table, and one `BENCH {json}` line.
#
# Needs: cargo, python3, openssl, pgbench, wrk, curl, /usr/bin/time, psql, and
# PostgreSQL at PG_URL (default postgres://postgres@127.0.0.1:5432/test).
# Everything it writes is under one temporary directory and in scratch
# PostgreSQL schemas/tables, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
if [[ -n "${QUICK:-}" ]]; then
  : "${AUDIT_ENTRIES:=1000000}" "${PROOF_ENTRIES:=100000}" "${DISPUTES:=300}" "${SECS:=3}"
fi
AUDIT_ENTRIES=${AUDIT_ENTRIES:-10000000}
PROOF_ENTRIES=${PROOF_ENTRIES:-1000000}
DISPUTES=${DISPUTES:-1000}
SECS=${SECS:-5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

need() { command -v "$1" >/dev/null || { echo "bench.sh: $1 is missing ($2)" >&2; exit 2; }; }
if ! command -v pgbench >/dev/null && [[ -x /usr/lib/postgresql/15/bin/pgbench ]]; then
  PATH=$PATH:/usr/lib/postgresql/15/bin
fi
need python3 "apt-get install python3"
need openssl "apt-get install openssl"
need pgbench "apt-get install postgresql-contrib"
need psql "apt-get install postgresql-client"
need wrk "apt-get install wrk"
need curl "apt-get install curl"
[[ -x /usr/bin/time ]] || { echo "bench.sh: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/bench.XXXXXX)
RES=$WORK/results
: >"$RES"
PIDS=()
PGTABLE=bench_pgbench_$$
cleanup() {
  for p in "${PIDS[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  psql -q "$PG_URL" -c "DROP TABLE IF EXISTS $PGTABLE" >/dev/null 2>&1 || true
  for s in $(grep '^pgschema ' "$RES" 2>/dev/null | cut -d' ' -f2); do
    psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
put() { echo "$1 $2" >>"$RES"; echo "  $1 = $2"; }
step() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

step build
cargo build --release --bins -q
BIN=$CARGO_TARGET_DIR/release
START=$(date +%s)

step "SHA-256 reference: openssl speed -evp sha256 -bytes 256 -seconds 3"
# The last line: "sha256  <bytes/s at 256>k"; openssl prints thousands of bytes/s.
SHA_K=$(openssl speed -evp sha256 -bytes 256 -seconds 3 2>/dev/null | awk '/^sha256/ {v=$2} END {sub("k","",v); print v}')
put sha256_mb_per_s "$(python3 -c "print(round($SHA_K*1000/1e6, 1))")"
put sha256_blocks_per_s "$(python3 -c "print(round($SHA_K*1000/256))")"

step "PostgreSQL: pgbench single-row INSERT commits, 16 clients, ${SECS}s x2"
psql -q "$PG_URL" -c "CREATE UNLOGGED TABLE IF NOT EXISTS $PGTABLE (id bigserial primary key, v int)" >/dev/null
psql -q "$PG_URL" -c "DROP TABLE $PGTABLE; CREATE TABLE $PGTABLE (id bigserial primary key, v int)" >/dev/null
echo "INSERT INTO $PGTABLE (v) VALUES (1);" >"$WORK/insert.sql"
best=0
for _ in 1 2; do
  tps=$(pgbench -n -c 16 -j 2 -T "$SECS" -f "$WORK/insert.sql" "$PG_URL" 2>/dev/null \
    | awk '/^tps/ {print $3; exit}')
  echo "  pgbench: $tps tps"
  best=$(python3 -c "print(max($best, ${tps:-0}))")
done
put pgbench_insert_per_s "$best"

step "PostgreSQL: one round trip, pgbench SELECT 1 on one connection, ${SECS}s"
# The sequencer sends a batch's statements one after another on one
# connection, so this latency times the statements per action is the floor of
# an action's share of a batch on PostgreSQL (docs/benchmarks.md).
echo "SELECT 1;" >"$WORK/select1.sql"
lat=$(pgbench -n -c 1 -j 1 -T "$SECS" -f "$WORK/select1.sql" "$PG_URL" 2>/dev/null \
  | awk '/^latency average/ {print $4; exit}')
put pg_round_trip_ms "${lat:-0}"

step "SQLite: raw autocommit inserts, WAL, synchronous = NORMAL (and FULL), ${SECS}s each"
python3 - "$WORK/raw.db" "$SECS" >>"$RES" <<'EOF'
import sqlite3, sys, time, os
path, secs = sys.argv[1], float(sys.argv[2])
for sync in ("NORMAL", "FULL"):
    for f in (path, path + "-wal", path + "-shm"):
        if os.path.exists(f): os.remove(f)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute(f"PRAGMA synchronous={sync}")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < secs:
        for _ in range(100):
            c.execute("INSERT INTO t (v) VALUES (1)")
        n += 100
    rate = n / (time.perf_counter() - t0)
    c.close()
    print(f"sqlite_raw_{sync.lower()}_per_s {rate:.0f}")
EOF
grep '^sqlite_raw' "$RES" | sed 's/^/  /'

loadgen() { # backend url
  local out=$WORK/loadgen-$1.txt
  # Exit 1 (a failed action, or verify not ok) is reported in the table, not fatal.
  { "$BIN/loadgen" --database-url "$2" --clients 16 --disputes "$DISPUTES" --fresh || true; } \
    | tee "$out" | grep -v '^RESULT' | sed 's/^/  /'
  grep '^RESULT ' "$out" | sed 's/^RESULT //' >"$WORK/loadgen-$1.json"
  python3 - "$1" "$WORK/loadgen-$1.json" >>"$RES" <<'EOF'
import json, sys
b, r = sys.argv[1], json.load(open(sys.argv[2]))
print(f"{b}_actions_per_s {r['http']['actions_per_s']}")
print(f"{b}_action_p99_ms {r['http']['p99_ms']}")
print(f"{b}_action_p50_ms {r['http']['p50_ms']}")
print(f"{b}_actions_failed {r['http']['failed']}")
print(f"{b}_statements_per_action {r['http']['statements_per_action']}")
print(f"{b}_mean_batch {r['http']['mean_batch']}")
print(f"{b}_verify_entries {r['verify']['entries']}")
print(f"{b}_verify_per_s {r['verify']['entries_per_s']}")
print(f"{b}_verify_ok {str(r['verify']['ok']).lower()}")
EOF
}
step "loadgen, SQLite: $DISPUTES disputes x 4 actions, 16 clients, then verify"
loadgen sqlite "sqlite://$WORK/loadgen.db"
step "loadgen, PostgreSQL: $DISPUTES disputes x 4 actions, 16 clients, then verify"
loadgen postgres "$PG_URL"

wrk_rate() { # label url [token]
  local out
  if [[ -n "${3:-}" ]]; then
    out=$(wrk -t2 -c64 -d"${SECS}s" -H "Authorization: Bearer $3" "$2")
  else
    out=$(wrk -t2 -c64 -d"${SECS}s" "$2")
  fi
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "bench.sh: $1 answered non-2xx: $out" >&2
    exit 1
  fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}

reads() { # backend url
  local d=$WORK/serve-$1 port
  mkdir -p "$d"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export DATA_DIR=$d DATABASE_URL=$2
  "$BIN/escalation-ledger" migrate >/dev/null 2>&1
  local token
  token=$("$BIN/escalation-ledger" token --sub bench@kingston --role agency --agency kingston-council 2>/dev/null | tail -1)
  RUST_LOG=warn RATE_LIMIT_PER_SUBJECT=0 RATE_LIMIT_PER_ADDRESS=0 CHECKPOINT_INTERVAL=0s \
    DEADLINE_SWEEP=0s OUTBOX_POLL=1h "$BIN/escalation-ledger" serve --bind "127.0.0.1:$port" \
    >"$d/serve.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  local id
  id=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"parties":["kingston-council","metropolitan-police"],"summary":"Benchmark dispute","child_ref":"BENCH-1"}' \
    "http://127.0.0.1:$port/v1/disputes" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/v1/disputes/$id" >/dev/null
  local h=0 g=0 r
  for _ in 1 2; do
    r=$(wrk_rate healthz "http://127.0.0.1:$port/healthz"); echo "  /healthz        $r req/s"
    h=$(python3 -c "print(max($h, $r))")
    r=$(wrk_rate dispute "http://127.0.0.1:$port/v1/disputes/$id" "$token"); echo "  GET one dispute $r req/s"
    g=$(python3 -c "print(max($g, $r))")
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  unset DATA_DIR DATABASE_URL
  put "$1_healthz_per_s" "$h"
  put "$1_get_dispute_per_s" "$g"
}
step "reads, SQLite: /healthz and GET one dispute, wrk 64 connections, ${SECS}s each, twice"
reads sqlite "sqlite://$WORK/reads.db"
step "reads, PostgreSQL: the same"
SCHEMA=bench_reads_$$
echo "pgschema $SCHEMA" >>"$RES"
psql -q "$PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
reads postgres "$PG_URL?options=-csearch_path%3D$SCHEMA"

step "offline audit: a synthetic bundle of $AUDIT_ENTRIES entries"
"$BIN/escalation-ledger" bundle-synth --entries "$AUDIT_ENTRIES" --out "$WORK/bundle" | sed 's/^/  /'
ls -l "$WORK/bundle/bundle.jsonl" | awk '{printf "  bundle: %.0f MB\n", $5/1e6}'
cat "$WORK/bundle/bundle.jsonl" >/dev/null # into the page cache, as for every run
audit_run() { # prefix, then env assignments
  local prefix=$1; shift
  env "$@" /usr/bin/time -v "$BIN/escalation-ledger" audit "$WORK/bundle" --json >"$WORK/audit.json" 2>"$WORK/audit.time" || true
  python3 - "$WORK/audit.json" "$WORK/audit.time" "$prefix" >>"$RES" <<'EOF'
import json, sys, re
r = json.load(open(sys.argv[1])); t = open(sys.argv[2]).read(); p = sys.argv[3]
wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", t)
secs = (int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
print(f"{p}_outcome {r['outcome']}")
print(f"{p}_entries {r['entries']}")
print(f"{p}_seconds {secs:.2f}")
print(f"{p}_per_s {r['entries'] / secs:.0f}")
print(f"{p}_rss_mib {rss / 1024:.1f}")
print(f"{p}_cpu_percent {cpu}")
EOF
}
# The serial reference path (every line through Auditor::feed, one thread), then the pipeline.
audit_run audit_serial AUDIT_THREADS=0
audit_run audit PATH="$PATH"
grep '^audit' "$RES" | sed 's/^/  /'
rm -rf "$WORK/bundle"

treebench() { # backend url
  "$BIN/treebench" --database-url "$2" --entries "$PROOF_ENTRIES" --appends 400 --proofs 2000 \
    2> >(grep -v 'grown to' >&2) | tee "$WORK/treebench-$1.txt" | grep -v '^RESULT' | sed 's/^/  /'
  python3 - "$1" "$WORK/treebench-$1.txt" >>"$RES" <<'EOF'
import json, sys
b = sys.argv[1]
line = [l for l in open(sys.argv[2]) if l.startswith("RESULT ")][-1]
r = json.loads(line[len("RESULT "):])
p, h = r["proofs_in_process"], r["proofs_http"]
print(f"{b}_proof_entries {r['grow']['entries']}")
print(f"{b}_inclusion_p99_ms {p['inclusion']['p99_ms']:.3f}")
print(f"{b}_consistency_p99_ms {p['consistency']['p99_ms']:.3f}")
for k, v in h.items():
    if isinstance(v, dict) and "p99_ms" in v:
        print(f"{b}_http_{k}_p99_ms {v['p99_ms']:.3f}")
EOF
}
step "treebench, SQLite: proofs at $PROOF_ENTRIES entries"
treebench sqlite "sqlite://$WORK/tree.db"
step "treebench, PostgreSQL: proofs at $PROOF_ENTRIES entries"
treebench postgres "$PG_URL"

step "targets (issue 15), this run"
python3 - "$RES" "$(( $(date +%s) - START ))" <<'EOF'
import json, sys
r = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    try: r[k] = float(v)
    except ValueError: r[k] = v
rows = []
def row(name, value, target, ok):
    rows.append((name, value, target, "met" if ok else "MISSED"))
for b, raw in (("postgres", r["pgbench_insert_per_s"]), ):
    x = r["postgres_actions_per_s"] / raw
    row("PostgreSQL actions/s ÷ pgbench INSERT commits/s",
        f"{r['postgres_actions_per_s']:.0f} ÷ {raw:.0f} = {x:.3f}", "≥ 0.5", x >= 0.5)
x = r["sqlite_actions_per_s"] / r["sqlite_raw_normal_per_s"]
row("SQLite actions/s ÷ raw autocommit (NORMAL) inserts/s",
    f"{r['sqlite_actions_per_s']:.0f} ÷ {r['sqlite_raw_normal_per_s']:.0f} = {x:.3f}", "≥ 0.3", x >= 0.3)
rt = r.get("pg_round_trip_ms", 0)
if rt:
    # Statements per action inside a batch (docs/benchmarks.md, "Statements
    # per action"): the writer sends them one after another.
    per = r.get("postgres_statements_per_action", 0)
    floor = 1000 / (per * rt) if per else 0
    row("PostgreSQL serial-writer floor: 1 ÷ (statements per action × round trip)",
        f"1 ÷ ({per:.1f} × {rt:.3f} ms) = {floor:.0f} actions/s", "(reference)", True)
for b in ("sqlite", "postgres"):
    p = r[f"{b}_action_p99_ms"]
    row(f"p99 of an action at 16 clients, {b}", f"{p:.1f} ms (p50 {r[f'{b}_action_p50_ms']:.1f})", "< 20 ms", p < 20)
for b in ("sqlite", "postgres"):
    x = r[f"{b}_get_dispute_per_s"] / r[f"{b}_healthz_per_s"]
    row(f"GET one dispute ÷ /healthz, 64 connections, {b}",
        f"{r[f'{b}_get_dispute_per_s']:.0f} ÷ {r[f'{b}_healthz_per_s']:.0f} = {x:.3f}", "≥ 0.3", x >= 0.3)
a = r["audit_per_s"]
row(f"offline audit, {int(r['audit_entries'])} entries", f"{a:,.0f} entries/s ({r['audit_cpu_percent']:.0f}% CPU)",
    "≥ 1,000,000/s", a >= 1e6 and r["audit_outcome"] == "intact")
row(f"offline audit peak RSS at {int(r['audit_entries'])} entries", f"{r['audit_rss_mib']:.1f} MiB", "< 64 MiB",
    r["audit_rss_mib"] < 64 and r["audit_entries"] >= 1e7)
row("offline audit, serial reference path (AUDIT_THREADS=0)", f"{r['audit_serial_per_s']:,.0f} entries/s ({r['audit_serial_cpu_percent']:.0f}% CPU)", "(before)", True)
sha = r["sha256_blocks_per_s"]
row("offline audit ÷ SHA-256 of 256-byte blocks (one core)", f"{a / sha:.3f} ({sha:,.0f} blocks/s, {r['sha256_mb_per_s']} MB/s)", "(reference)", True)
for b in ("sqlite", "postgres"):
    v = r[f"{b}_verify_per_s"]
    row(f"verify, {b} ({int(r[f'{b}_verify_entries'])} entries)", f"{v:,.0f} entries/s", "≥ 500,000/s", v >= 5e5 and r[f"{b}_verify_ok"] == "true")
for b in ("sqlite", "postgres"):
    i, c = r[f"{b}_inclusion_p99_ms"], r[f"{b}_consistency_p99_ms"]
    row(f"proofs at {int(r[f'{b}_proof_entries'])} entries, {b}, server-side p99",
        f"inclusion {i:.3f} ms, consistency {c:.3f} ms", "< 1 ms", max(i, c) < 1 and r[f"{b}_proof_entries"] >= 1e6)
w = max(len(x[0]) for x in rows); v = max(len(x[1]) for x in rows)
for name, value, target, ok in rows:
    print(f"{name:<{w}}  {value:<{v}}  {target:<14} {ok}")
print(f"(bench.sh took {sys.argv[2]} s after the build)")
print("BENCH " + json.dumps(r, sort_keys=True))
EOF
