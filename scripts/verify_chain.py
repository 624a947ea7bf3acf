#!/usr/bin/env python3
"""Recompute the escalation-ledger hash chain independently (standard library only).

Usage:
    verify_chain.py BASE_URL            # token in $LEDGER_TOKEN
    verify_chain.py --file entries.json # saved entries: an array, or a GET /v1/ledger/entries page

Follows docs/ledger-format.md, not the service's code: RFC 8785 canonical JSON,
payload_hash = SHA-256(payload), entry_hash = SHA-256(0x00 || canonical entry).
Exit 0 when the chain is intact; otherwise prints the first bad seq and exits 1.
Entries whose payload is null (erased by an approved redaction, or withheld
from this token) are listed: their payload_hash cannot be checked here.
"""
import hashlib
import json
import os
import sys
import urllib.request


def canonical(value):
    """RFC 8785 for the JSON the ledger holds (no fractional numbers)."""
    if value is None or isinstance(value, bool) or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        raise ValueError("fractional numbers never appear in the ledger")
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k]) for k in keys) + "}"
    raise ValueError("not JSON: %r" % (value,))


def entry_bytes(e):
    a = e["actor"]
    return canonical({
        "seq": e["seq"],
        "recorded_at": e["recorded_at"],
        "dispute_id": e["dispute_id"],
        "event": e["event"],
        "actor": {"sub": a["sub"], "role": a["role"], "agency": a["agency"], "partner": a["partner"]},
        "facts": e["facts"],
        "payload_hash": e["payload_hash"],
        "prev_hash": e["prev_hash"],
    }).encode("utf-8")


def check(entries, nulls=None):
    """Return (size, head) or raise ValueError(seq, problem).

    The seq of every entry with a null payload is appended to `nulls`, if given.
    """
    prev = "00" * 32
    for i, e in enumerate(entries):
        if e["seq"] != i:
            raise ValueError(i, "entry %d is missing (found seq %d next)" % (i, e["seq"]))
        if e["prev_hash"] != prev:
            raise ValueError(i, "prev_hash does not match the previous entry_hash")
        if e.get("payload") is None:
            if nulls is not None:
                nulls.append(e["seq"])
        else:
            p = hashlib.sha256(canonical(e["payload"]).encode("utf-8")).hexdigest()
            if p != e["payload_hash"]:
                raise ValueError(i, "payload does not match payload_hash")
        h = hashlib.sha256(b"\x00" + entry_bytes(e)).hexdigest()
        if h != e["entry_hash"]:
            raise ValueError(i, "entry_hash does not match the recomputed %s" % h)
        prev = h
    return len(entries), (prev if entries else None)


def ranges(seqs):
    """[1, 2, 3, 7] -> "1-3, 7"."""
    out = []
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ", ".join(str(a) if a == b else "%d-%d" % (a, b) for a, b in out)


def fetch(base, token, path):
    req = urllib.request.Request(base.rstrip("/") + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.load(res)


def fetch_all(base, token):
    """Every entry, following each page's `next` cursor."""
    entries, path = [], "/v1/ledger/entries?limit=200"
    while True:
        page = fetch(base, token, path)
        entries.extend(page["items"])
        if page["next"] is None:
            return entries
        path = "/v1/ledger/entries?limit=200&cursor=" + page["next"]


def main(argv):
    if len(argv) == 3 and argv[1] == "--file":
        with open(argv[2], encoding="utf-8") as f:
            entries, head = json.load(f), None
        if isinstance(entries, dict):
            entries = entries["items"]
    elif len(argv) == 2:
        token = os.environ.get("LEDGER_TOKEN", "")
        entries = fetch_all(argv[1], token)
        head = fetch(argv[1], token, "/v1/ledger/head")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    nulls = []
    try:
        size, top = check(entries, nulls)
    except ValueError as bad:
        seq, problem = bad.args
        print("chain broken at seq %d: %s" % (seq, problem))
        return 1
    if head is not None and (head["size"] < size or (head["size"] == size and head["head_hash"] != top)):
        print("the server's head %s does not match the recomputed chain" % (head,))
        return 1
    print("chain intact: %d entries, head %s" % (size, top))
    if nulls:
        print("null payloads (erased, or withheld from this token; payload_hash not checked): %d at seq %s"
              % (len(nulls), ranges(nulls)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
