#!/usr/bin/env python3
"""An outside tlog-witness, written from the C2SP specifications only
(tlog-witness, tlog-cosignature, signed-note, tlog-checkpoint, RFC 6962
consistency proofs), to receive the ledger's add-checkpoint pushes.

    fake_witness.py --name NAME --log-key VKEY --requests FILE
                    [--size N --root B64] [--answer cosign|403|422]

Binds 127.0.0.1 port 0 and prints two lines on stdout:
    vkey <its cosignature/v1 verifier key>
    port <port>
then serves POST /add-checkpoint. Every request is appended to FILE as a
JSON line {"old": ..., "size": ..., "proof": n, "status": ...}.

--size/--root preset the size and root it "last cosigned", so that the
log's first push (old 0) is answered 409 with that size. --answer 403 or
422 answers every well-formed request with that status instead.
Standard library plus `cryptography` (Ed25519).
"""

import argparse
import base64
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014 "


def sha256(b):
    return hashlib.sha256(b).digest()


def key_id(name, alg, pub):
    # signed-note: key ID = SHA-256(name || 0x0A || type || public key)[:4]
    return sha256(name.encode() + b"\n" + bytes([alg]) + pub)[:4]


def node(left, right):
    return sha256(b"\x01" + left + right)


def verify_consistency(first, second, proof, first_hash, second_hash):
    """RFC 9162 section 2.1.4.2."""
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


class Refuse(Exception):
    def __init__(self, status, body, ctype="text/plain; charset=utf-8"):
        super().__init__(body)
        self.status, self.body, self.ctype = status, body, ctype


def parse_log_key(vkey):
    name, kid, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    if raw[0] != 0x01 or len(raw) != 33 or key_id(name, 1, raw[1:]).hex() != kid:
        raise SystemExit("bad --log-key")
    return name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:])


class Witness:
    def __init__(self, args):
        self.name = args.name
        self.origin, self.log_kid, self.log_pub = parse_log_key(args.log_key)
        self.sk = Ed25519PrivateKey.generate()
        self.pub = self.sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.kid = key_id(self.name, 4, self.pub)
        self.size = args.size
        self.root = base64.b64decode(args.root) if args.root else None
        self.answer = args.answer
        self.requests = args.requests
        self.lock = threading.Lock()

    def vkey(self):
        return "%s+%s+%s" % (
            self.name,
            self.kid.hex(),
            base64.b64encode(b"\x04" + self.pub).decode(),
        )

    def record(self, entry):
        with open(self.requests, "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()

    def add_checkpoint(self, body):
        text = body.decode("utf-8")
        first, _, rest = text.partition("\n")
        if not first.startswith("old "):
            raise Refuse(400, "no old line\n")
        old = int(first[4:])
        proof = []
        while True:
            line, sep, rest = rest.partition("\n")
            if not sep:
                raise Refuse(400, "no empty line\n")
            if line == "":
                break
            proof.append(base64.b64decode(line, validate=True))
        note = rest
        cut = note.index("\n\n")
        body_text = note[: cut + 1]
        sigs = note[cut + 2 :].splitlines()
        lines = body_text.split("\n")
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
        entry = {"old": old, "size": size, "proof": len(proof)}
        if origin != self.origin:
            raise Refuse(404, "unknown origin\n")
        ok = False
        for s in sigs:
            if not s.startswith(DASH):
                raise Refuse(400, "bad signature line\n")
            name, b64 = s[len(DASH):].rsplit(" ", 1)
            raw = base64.b64decode(b64)
            if name != self.origin or raw[:4] != self.log_kid:
                continue  # unknown keys are ignored
            try:
                self.log_pub.verify(raw[4:], body_text.encode())
                ok = True
            except InvalidSignature:
                pass
        if not ok:
            raise Refuse(403, "no trusted signature\n")
        if self.answer != "cosign":
            raise Refuse(int(self.answer), "refused as configured\n")
        if old > size:
            raise Refuse(400, "old > size\n")
        with self.lock:
            if old != self.size:
                raise Refuse(409, "%d\n" % self.size, "text/x.tlog.size")
            if old == 0:
                if proof:
                    raise Refuse(422, "proof from 0\n")
            elif not verify_consistency(old, size, proof, self.root, root):
                raise Refuse(422, "consistency proof does not verify\n")
            # Persist (here: in memory) before answering.
            self.size, self.root = size, root
            t = int(time.time())
            msg = ("cosignature/v1\ntime %d\n" % t).encode() + body_text.encode()
            sig = self.sk.sign(msg)
            blob = self.kid + t.to_bytes(8, "big") + sig
            entry["status"] = 200
            self.record(entry)
            return "%s%s %s\n" % (DASH, self.name, base64.b64encode(blob).decode())

    def handle(self, body):
        try:
            return 200, "text/plain; charset=utf-8", self.add_checkpoint(body)
        except Refuse as r:
            return r.status, r.ctype, r.body
        except (ValueError, IndexError, UnicodeDecodeError) as e:
            return 400, "text/plain; charset=utf-8", "malformed: %s\n" % e


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", required=True)
    p.add_argument("--log-key", required=True)
    p.add_argument("--requests", required=True)
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--root", default=None)
    p.add_argument("--answer", default="cosign", choices=["cosign", "403", "422"])
    args = p.parse_args()
    w = Witness(args)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            if self.path != "/add-checkpoint":
                status, ctype, out = 404, "text/plain", "not found\n"
            else:
                status, ctype, out = w.handle(body)
                if status != 200:
                    try:
                        text = body.decode()
                        old = int(text.split("\n", 1)[0][4:])
                    except (ValueError, UnicodeDecodeError):
                        old = None
                    w.record({"old": old, "status": status})
            data = out.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            sys.stderr.write("fake_witness: " + (a[0] % a[1:]) + "\n")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("vkey " + w.vkey(), flush=True)
    print("port %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
