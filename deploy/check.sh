#!/usr/bin/env bash
# Check the deployment artefacts without a container engine or a cluster:
# hadolint on the Dockerfile, kubernetes-validate (strict) on deploy/k8s,
# systemd-analyze verify and security on the units, the compose file's
# syntax and references, and the alert rules' YAML. Fails when a tool is
# missing. BIN: the built binary the units' ExecStart is pointed at.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-$PWD/target/debug/escalation-ledger}"
fail=0
need() { command -v "$1" >/dev/null 2>&1 || { echo "deploy/check: $1 is missing" >&2; exit 1; }; }
need hadolint; need kubernetes-validate; need systemd-analyze; need python3
[ -x "$BIN" ] || { echo "deploy/check: no binary at $BIN (cargo build first)" >&2; exit 1; }

echo "== hadolint Dockerfile deploy/podman/Containerfile.local"
hadolint Dockerfile deploy/podman/Containerfile.local && echo "hadolint: no findings" || fail=1

echo "== kubernetes-validate --strict deploy/k8s"
kubernetes-validate --strict --quiet deploy/k8s/*.yaml && echo "kubernetes-validate: all passed" || fail=1

echo "== systemd-analyze verify / security"
units="$(mktemp -d)"
trap 'rm -rf "$units"' EXIT
for u in deploy/systemd/*.service deploy/systemd/*.timer; do
    sed "s#/usr/local/bin/escalation-ledger#$BIN#g" "$u" > "$units/$(basename "$u")"
done
# The witness reads its env file; give verify one.
sed -i "s#^EnvironmentFile=/etc/escalation-ledger/witness.env#EnvironmentFile=-/etc/escalation-ledger/witness.env#" "$units/escalation-ledger-witness.service"
if SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$units"/*.service "$units"/*.timer; then
    echo "systemd-analyze verify: clean"
else
    fail=1
fi
for s in "$units"/*.service; do
    line="$(systemd-analyze security --offline=yes "$s" 2>&1 | grep 'Overall exposure level')"
    echo "$line"
    score="$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")"
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "exposure $score is above 2.0" >&2; fail=1; }
done

echo "== compose"
python3 deploy/check_compose.py || fail=1

echo "== prometheus alert rules"
python3 - <<'PY' || fail=1
import yaml
doc = yaml.safe_load(open("deploy/prometheus/alerts.yaml"))
rules = [r for g in doc["groups"] for r in g["rules"]]
assert all({"alert", "expr"} <= r.keys() for r in rules), "a rule without alert/expr"
names = {r["alert"] for r in rules}
for want in ["EscalationLedgerCheckpointNotWitnessed", "EscalationLedgerOutboxFailures",
             "EscalationLedgerDeadlineSweepStalled", "EscalationLedgerNotReady"]:
    assert want in names, want
print(f"alerts: {len(rules)} rules parse")
PY

exit "$fail"
