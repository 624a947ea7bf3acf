#!/usr/bin/env python3
"""Check deploy/compose.yaml without a container engine: it parses as YAML,
every service names an image or a build, every depends_on / volume / anchor
reference resolves, the two ledger replicas share one database and one keys
volume, and every environment variable they set is one the binary reads."""
import re
import sys
from pathlib import Path

import yaml

root = Path(__file__).resolve().parent.parent
doc = yaml.safe_load((root / "deploy/compose.yaml").read_text())
problems = []
services = doc.get("services") or {}
volumes = set((doc.get("volumes") or {}).keys())
if not services:
    problems.append("no services")
# The variables the binary reads: every `env = "..."` in the CLI, plus RUST_LOG.
known = set(re.findall(r'env = "([A-Z_]+)"', (root / "src/cli/config.rs").read_text()))
known.add("RUST_LOG")
for name, svc in services.items():
    if not isinstance(svc, dict):
        problems.append(f"{name}: not a mapping")
        continue
    if "image" not in svc and "build" not in svc:
        problems.append(f"{name}: neither image nor build")
    build = svc.get("build")
    if isinstance(build, dict):
        ctx = (root / "deploy" / build.get("context", ".")).resolve()
        if not (ctx / build.get("dockerfile", "Dockerfile")).exists():
            problems.append(f"{name}: build context {ctx} has no Dockerfile")
    deps = svc.get("depends_on") or {}
    for dep in deps if isinstance(deps, (list, dict)) else []:
        if dep not in services:
            problems.append(f"{name}: depends_on unknown service {dep}")
    for v in svc.get("volumes") or []:
        src = v.split(":")[0] if isinstance(v, str) else v.get("source")
        if src and not src.startswith((".", "/")) and src not in volumes:
            problems.append(f"{name}: volume {src} is not declared")
    env = svc.get("environment") or {}
    if name.startswith("ledger") or name == "migrate":
        for k in env:
            if k not in known:
                problems.append(f"{name}: {k} is not a variable the binary reads")
ledgers = [s for n, s in services.items() if n.startswith("ledger-")]
if len(ledgers) < 2:
    problems.append("fewer than two ledger replicas")
else:
    urls = {s["environment"]["DATABASE_URL"] for s in ledgers}
    if len(urls) != 1:
        problems.append(f"replicas on different databases: {urls}")
    if not all("keys:/data" in s.get("volumes", []) for s in ledgers):
        problems.append("replicas do not share the keys volume")
if "witness" not in services or "witness" not in (services["witness"].get("command") or []):
    problems.append("no witness job")
for p in problems:
    print(f"compose: {p}")
print(f"compose: {len(services)} services, {len(volumes)} volumes, {len(problems)} problems")
sys.exit(1 if problems else 0)
