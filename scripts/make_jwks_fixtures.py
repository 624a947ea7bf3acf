#!/usr/bin/env python3
"""Build tests/fixtures/jwks/jwks-all.json (the public JWKs) from the committed
test key pairs in tests/fixtures/jwks/*.pem. The PEMs were made once with:

    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-1.pem
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-2.pem
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-1.pem
    openssl genpkey -algorithm ED25519 -out ed-1.pem

They are test fixtures only; never use them for anything else.
Needs the `cryptography` package; the tests do not run this.
"""
import base64
import json
import pathlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "jwks"


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def jwk(kid: str, alg) -> dict:
    key = serialization.load_pem_private_key((DIR / f"{kid}.pem").read_bytes(), None)
    pub = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        n = pub.public_numbers()
        out = {"kty": "RSA", "use": "sig", "kid": kid, "n": b64(uint(n.n)), "e": b64(uint(n.e))}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        n = pub.public_numbers()
        out = {"kty": "EC", "use": "sig", "kid": kid, "crv": "P-256",
               "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        out = {"kty": "OKP", "use": "sig", "kid": kid, "crv": "Ed25519", "x": b64(raw)}
    else:
        raise SystemExit(f"unexpected key type in {kid}.pem")
    if alg:
        out["alg"] = alg
    # The public key as PEM too, for the key-confusion test (HS256 signed with it).
    (DIR / f"{kid}.pub.pem").write_bytes(
        pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return out


# rsa-2 carries no "alg", as Entra ID's keys don't: the verifier infers RS256.
keys = [jwk("rsa-1", "RS256"), jwk("rsa-2", None), jwk("ec-1", "ES256"), jwk("ed-1", "EdDSA")]
(DIR / "jwks-all.json").write_text(json.dumps({"keys": keys}, indent=2) + "\n")
print(f"wrote {DIR / 'jwks-all.json'}")
