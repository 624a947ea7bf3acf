"""Schemathesis hooks for tests/api/schemathesis.rs.

Some valid values depend on what the service holds, which no schema can say:
random strings are not agency ids, so a generated dispute would always be
refused (422, "unknown agency ids") and the run would never get past raising
one. Before each call these hooks put values the service holds in their place:

- a body that names agencies (`parties` of a dispute, `agencies` of a
  mediation) gets real registry ids, read once from `GET /v1/agencies` with
  the run's token, the caller's own agency first (the raiser's agency must be
  a party);
- a `rung` filter gets a rung that a stored policy has (`GET /v1/policies`);
- a generated `cursor` is dropped (only the service makes one);
- a proof's tree sizes are brought within the ledger's first two entries (the
  registry and the default policy, written at the first start), which the
  tree always has.

Schemathesis re-validates a case after this hook, so a case that was meant to
be invalid in another way stays a negative case, and its checks still apply.

Environment: LEDGER_URL (the server's base URL), LEDGER_TOKEN (the bearer
token the run uses), LEDGER_AGENCY (the token's agency id, for an agency user).
"""

import json
import os
import urllib.request

import schemathesis

URL = os.environ["LEDGER_URL"]
TOKEN = os.environ["LEDGER_TOKEN"]
# The token's agency, if it is an agency user's (it must be a party).
OWN = os.environ.get("LEDGER_AGENCY", "")


def _agency_ids():
    body = _get("/v1/agencies")
    # Today a bare list; `{"items": [...]}` once lists share one shape.
    items = body["items"] if isinstance(body, dict) else body
    ids = [a["id"] for a in items]
    if (OWN and OWN not in ids) or len(ids) < 2:
        raise SystemExit(f"GET /v1/agencies does not list {OWN!r} and another: {ids}")
    return ([OWN] if OWN else []) + [i for i in ids if i != OWN]


def _get(path):
    req = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.load(res)


def _rungs():
    """The rungs of the policies the service has activated (and so stores)."""
    body = _get("/v1/policies")
    items = body["items"] if isinstance(body, dict) else body
    return sorted({r for p in items if p["activations"] for r in p["rungs"]})


IDS = _agency_ids()
RUNGS = _rungs()
# Entries every ledger has from its first start: the registry and the policy.
FIRST_ENTRIES = 2


def _valid(v):
    """Two distinct real ids for a generated list of agency ids, keeping its length."""
    n = max(2, min(len(v), len(IDS)))
    return IDS[:n]


def _int(v, default=None):
    """An integer parameter's value, generated as a number or as digits."""
    if isinstance(v, bool):
        return default
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            return default
    return default


def _clamp(query, name, low, high):
    """Bring an integer parameter, if given, within [low, high]."""
    v = _int(query.get(name))
    if v is not None:
        query[name] = min(max(v, low), high)


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict):
        for field in ("parties", "agencies"):
            v = body.get(field)
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                body[field] = _valid(v)
    query = case.query
    if not isinstance(query, dict):
        return
    # A cursor is opaque and only the service makes one (a page's `next`): a
    # generated one is refused, rightly, as "not one this service gave out".
    # Stateful runs follow real `next` values; here a made-up one is dropped.
    query.pop("cursor", None)
    rung = query.get("rung")
    if isinstance(rung, str) and rung not in RUNGS:
        query["rung"] = RUNGS[len(rung) % len(RUNGS)]
    path = case.operation.path
    if path == "/v1/ledger/proofs/inclusion":
        _clamp(query, "size", 1, FIRST_ENTRIES)
        _clamp(query, "seq", 0, _int(query.get("size"), FIRST_ENTRIES) - 1)
    elif path == "/v1/ledger/proofs/consistency":
        _clamp(query, "to", 1, FIRST_ENTRIES)
        _clamp(query, "from", 1, _int(query.get("to"), FIRST_ENTRIES))
