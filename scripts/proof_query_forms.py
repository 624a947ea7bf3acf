#!/usr/bin/env python3
"""Server-side time of one inclusion proof's node fetch on PostgreSQL, in the
two statement forms `store::tree::fetch` has used, side by side.

In a scratch schema it builds `merkle_nodes` as a 1,000,000-entry ledger
leaves it (every perfect subtree, 1,999,993 rows), never analyzed (as with
`autovacuum = off`: reltuples -1, no column statistics). Then, in one session,
it prepares both forms and runs both on the node ids of each of `proofs` random
inclusion proofs, taking turns at going first (the first reads the pages
cold), each under `EXPLAIN (ANALYZE, TIMING OFF)`:

- `or`: `WHERE (level = $1 AND idx = $2) OR ...`, one text per number of ids
  (what diesel sent for the boxed query: cached per text, so PostgreSQL goes
  to a generic plan after five executions);
- `unnest`: one fixed text, the ids as two array binds, joined on the key.

Prints plan + execution time (PostgreSQL's own figures, no client or network)
p50/p99/max per form and the plan each used, then drops the schema.

    python3 scripts/proof_query_forms.py [postgres://postgres@127.0.0.1:5432/test] [proofs]
"""
import random
import subprocess
import sys
from collections import Counter

URL = sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/test"
PROOFS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
N = 1_000_000
SCHEMA = "proof_query_forms"


def psql(sql):
    return subprocess.run(
        ["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", URL],
        input=sql, capture_output=True, text=True, check=True,
    ).stdout


def proof_ids(seq):
    """The leaf, its audit path (siblings at every level) and the root's perfect subtrees."""
    ids = {(0, seq)}
    for level in range(20):
        sib = (seq >> level) ^ 1
        if (sib + 1) << level <= N:
            ids.add((level, sib))
    start = 0
    for level in range(19, -1, -1):
        if N & (1 << level):
            ids.add((level, start >> level))
            start += 1 << level
    return sorted(ids)


setup = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
SET search_path = {SCHEMA};
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL CHECK (level >= 0),
    idx BIGINT NOT NULL CHECK (idx >= 0),
    hash BYTEA NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
);
INSERT INTO merkle_nodes
SELECT l, i, sha256(int8send(i) || int4send(l))
FROM generate_series(0, 19) l, LATERAL generate_series(0, ({N} >> l) - 1) i
ORDER BY ((i + 1) << l) - 1, l;
SELECT 'rows ' || count(*) FROM merkle_nodes;
SELECT 'reltuples ' || reltuples FROM pg_class WHERE oid = '{SCHEMA}.merkle_nodes'::regclass;
"""
try:
    print(psql(setup).strip())
    rng = random.Random(7)
    script = [f"SET search_path = {SCHEMA};"]
    script.append(
        "PREPARE u(integer[], bigint[]) AS SELECT n.level, n.idx, n.hash FROM "
        "unnest($1, $2) AS k(level, idx) JOIN merkle_nodes n "
        "ON n.level = k.level AND n.idx = k.idx;"
    )
    prepared, order = set(), []
    for _ in range(PROOFS):
        ids = proof_ids(rng.randrange(N))
        k = len(ids)
        if k not in prepared:
            terms = " OR ".join(f"(level = ${2 * j + 1} AND idx = ${2 * j + 2})" for j in range(k))
            script.append(f"PREPARE o{k} AS SELECT level, idx, hash FROM merkle_nodes WHERE {terms};")
            prepared.add(k)
        flat = ", ".join(f"{lv}, {ix}" for lv, ix in ids)
        arrays = "'{%s}', '{%s}'" % (",".join(str(lv) for lv, _ in ids), ",".join(str(ix) for _, ix in ids))
        pair = [("or", f"EXECUTE o{k}({flat})"), ("unnest", f"EXECUTE u({arrays})")]
        # Whichever runs first reads the proof's pages cold: take turns.
        for kind, sql in pair if len(order) % 4 == 0 else pair[::-1]:
            order.append(kind)
            script.append(f"EXPLAIN (ANALYZE, TIMING OFF) {sql};")
    script.append("SELECT 'prepared ' || name || ' generic ' || generic_plans || ' custom ' || custom_plans FROM pg_prepared_statements ORDER BY name;")
    out = psql("\n".join(script)).splitlines()
    runs, cur = [], None
    for line in out:
        if not line.startswith(" ") and ("(cost=" in line) and cur is None:
            cur = {"plan": line.split("  (")[0].strip(), "ms": 0.0}
        elif line.startswith("Planning Time") or line.startswith("Execution Time"):
            cur["ms"] += float(line.split()[2])
            if line.startswith("Execution Time"):
                runs.append(cur)
                cur = None
    for name in ("or", "unnest"):
        mine = [r for r, kind in zip(runs, order) if kind == name]
        t = sorted(r["ms"] for r in mine)
        q = lambda p: t[round((len(t) - 1) * p)]
        plans = Counter(r["plan"] for r in mine).most_common(2)
        print(f"{name:<7} n={len(t)}  plan+exec p50 {q(0.5):.3f} ms  p99 {q(0.99):.3f} ms  max {t[-1]:.3f} ms  plans {plans}")
    generic = [line for line in out if line.startswith("prepared ")]
    print("; ".join(generic))
finally:
    psql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;")
