#!/usr/bin/env python3
"""Check escalation-ledger's checkpoint and Merkle proofs without its code.

Usage: check_checkpoint.py BASE_URL    (a bearer token in $LEDGER_TOKEN; optionally
       the log's verifier key, pinned out of band, in $LEDGER_LOG_KEY)

Written from the specifications, not from the service:
  - RFC 9162 section 2.1: the tree hash, and the inclusion (2.1.3.2) and
    consistency (2.1.4.2) verification algorithms, with Python's hashlib;
  - C2SP signed-note and tlog-checkpoint: the note's Ed25519 signature, checked
    with the `cryptography` package (not the Rust library the service uses).
It recomputes the root from every entry hash, checks the signed checkpoint,
every inclusion proof and a consistency proof from every earlier size.
Exit 0 when all hold; otherwise it says what failed and exits 1.
"""
import base64
import hashlib
import json
import os
import sys
import urllib.request

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(b):
    return hashlib.sha256(b).digest()


def node(left, right):
    return sha256(b"\x01" + left + right)


def mth(leaves):
    """RFC 9162 2.1.1, over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def lsb(x):
    return x & 1 == 1


def verify_inclusion(leaf, index, size, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if lsb(fn) or fn == sn:
            r = node(p, r)
            if not lsb(fn):
                while not lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, path, first_hash, second_hash):
    """RFC 9162 2.1.4.2 (first == second needs an empty proof and equal roots)."""
    if first == second:
        return not path and first_hash == second_hash
    if first > second or not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash] + list(path)
    fn, sn = first - 1, second - 1
    while lsb(fn):
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if lsb(fn) or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not lsb(fn):
                while not lsb(fn) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def parse_verifier_key(vkey):
    """C2SP signed-note: name+hex(key id)+base64(0x01 || Ed25519 public key)."""
    name, key_id, blob = vkey.split("+", 2)
    raw = base64.b64decode(blob)
    if raw[0] != 1 or len(raw) != 33:
        raise ValueError("not an Ed25519 verifier key")
    expect = sha256(name.encode() + b"\n" + raw)[:4]
    if expect.hex() != key_id:
        raise ValueError("key id does not match the key")
    return name, expect, raw[1:]


def check_note(note, vkey):
    """Return the checkpoint text if one signature line verifies under vkey."""
    name, key_id, public = parse_verifier_key(vkey)
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        raise ValueError("no signature block")
    text += "\n"
    pk = Ed25519PublicKey.from_public_bytes(public)
    for line in sigs.splitlines():
        dash, signer, blob = line.split(" ")
        raw = base64.b64decode(blob)
        if dash != "\u2014" or signer != name or raw[:4] != key_id:
            continue
        try:
            pk.verify(raw[4:], text.encode())
            return text
        except InvalidSignature:
            raise ValueError("the log's signature does not verify")
    raise ValueError("no signature by the log key")


def get(base, path, raw=False):
    req = urllib.request.Request(base.rstrip("/") + path,
                                 headers={"Authorization": "Bearer " + os.environ.get("LEDGER_TOKEN", "")})
    with urllib.request.urlopen(req, timeout=60) as res:
        body = res.read()
    return body.decode() if raw else json.loads(body)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    base = argv[1]
    keys = get(base, "/v1/ledger/keys")
    # A key pinned out of band ($LEDGER_LOG_KEY) is what the note must verify
    # under; without one, the log's own published key is trusted on first use.
    pinned = os.environ.get("LEDGER_LOG_KEY", "").strip()
    text = check_note(get(base, "/v1/ledger/checkpoint", raw=True), pinned or keys["log"])
    if pinned and keys["log"] != pinned:
        raise ValueError("the log publishes key %s, not the pinned %s" % (keys["log"], pinned))
    origin, size, root = text.splitlines()[:3]
    size, root = int(size), base64.b64decode(root)
    if origin != keys["origin"]:
        raise ValueError("origin %r is not %r" % (origin, keys["origin"]))

    leaves = []
    while len(leaves) < size:
        page = get(base, "/v1/ledger/entries?from=%d&limit=200" % len(leaves))
        if not page["items"]:
            break
        leaves.extend(bytes.fromhex(e["entry_hash"]) for e in page["items"])
    leaves = leaves[:size]
    if mth(leaves) != root:
        raise ValueError("the recomputed root differs from the signed checkpoint")

    for i in range(size):
        p = get(base, "/v1/ledger/proofs/inclusion?seq=%d&size=%d" % (i, size))
        path = [base64.b64decode(h) for h in p["proof"]]
        if not verify_inclusion(leaves[i], i, size, path, root):
            raise ValueError("inclusion proof for seq %d does not verify" % i)
    for m in range(1, size + 1):
        p = get(base, "/v1/ledger/proofs/consistency?from=%d&to=%d" % (m, size))
        path = [base64.b64decode(h) for h in p["proof"]]
        if not verify_consistency(m, size, path, mth(leaves[:m]), root):
            raise ValueError("consistency proof %d -> %d does not verify" % (m, size))
    print("independent check ok: size %d, root %s, %d inclusion and %d consistency proofs"
          % (size, base64.b64encode(root).decode(), size, size))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except ValueError as err:
        print("check failed: %s" % err)
        sys.exit(1)
