#!/usr/bin/env python3
"""Vectors for the formats of docs/trust-root.md (root files, the governance manifest and its
signed bytes, a seal), made independently of the Rust code with Python's `cryptography` and
the rules written in that document. Writes tests/data/trust-root-vectors.json; tests/vectors.rs
checks that imprimatur reproduces every byte. Run: python3 scripts/trust-root-vectors.py
(pip install cryptography when it is missing).
"""
import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization


def key(seed_byte):
    k = Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
    pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return k, base64.b64encode(pub).decode()


def jcs(value):
    # Strings, small integers and lists of objects: sorted compact JSON is RFC 8785 here.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def q(s):
    return json.dumps(s, ensure_ascii=False)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def sign(k, message):
    return base64.b64encode(k.sign(message)).decode()


ADMINS = {name: key(seed) for name, seed in [("ada", 11), ("bo", 12), ("cy", 13), ("di", 14)]}


def root(version, threshold, admins, signers):
    body = {
        "admins": [{"id": a, "public_key": ADMINS[a][1]} for a in admins],
        "imprimatur": 1,
        "threshold": threshold,
        "version": version,
    }
    signed = b"imprimatur-root-v1\n" + jcs(body)
    sigs = [(s, sign(ADMINS[s][0], signed)) for s in signers]
    text = "imprimatur: 1\nversion: %d\nthreshold: %d\nadmins:\n" % (version, threshold)
    for a in admins:
        text += "  - id: %s\n    public_key: %s\n" % (q(a), q(ADMINS[a][1]))
    text += "signatures:\n"
    for s, sig in sigs:
        text += "  - key: %s\n    signature: %s\n" % (q(s), q(sig))
    return {
        "file": "approvals/root/%d.yaml" % version,
        "text": text,
        "signed_bytes": signed.decode(),
        "pin": "sha256:" + sha256(text.encode()),
        "signatures": dict(sigs),
    }


ROOT1 = root(1, 2, ["ada", "bo"], ["ada", "bo"])
# Rotation: two of the old admins and two of the new sign root 2.
ROOT2 = root(2, 2, ["cy", "di"], ["ada", "bo", "cy", "di"])

FILES = {
    "imprimatur.yaml": sha256(b"title: Example Help Center\nbase_url: https://help.example.com/\n"),
    "approvals/keyring.yaml": sha256(b"reviewers: []\n"),
    "approvals/policies/kb.yaml": sha256(b"contributors: [anyone]\n"),
    "themes/default/templates/page.html": sha256(b"{{ page.title }}\n"),
    "approvals/keyring.yaml#public": sha256(b"reviewers: []\n"),
}
manifest = "imprimatur-governance-manifest-v1\n" + "".join(
    "%s %s\n" % (FILES[p], p) for p in sorted(FILES, key=lambda p: p.encode())
)
manifest_hash = "sha256:" + sha256(manifest.encode())
GOV_VERSION = 3
gov_signed = b"imprimatur-governance-v1\n" + jcs(
    {"imprimatur": 1, "manifest": manifest_hash, "version": GOV_VERSION}
)
gov_sigs = [(s, sign(ADMINS[s][0], gov_signed)) for s in ["cy", "di"]]
gov_text = "imprimatur: 1\nversion: %d\nmanifest: %s\nfiles:\n" % (GOV_VERSION, q(manifest_hash))
for p in sorted(FILES, key=lambda p: p.encode()):
    gov_text += "  - %s\n" % q("%s %s" % (FILES[p], p))
gov_text += "signatures:\n"
for s, sig in gov_sigs:
    gov_text += "  - key: %s\n    signature: %s\n" % (q(s), q(sig))

# A seal entry is sha256 of a record's signed bytes (SPEC section 4).
record = {
    "imprimatur": 1,
    "kind": "approve",
    "space": "kb",
    "content": "kb/install",
    "version": "sha256:" + "0" * 64,
    "step": "technical",
    "reviewer": "alice",
    "key": "alice-2026",
    "signed_at": "2026-11-20T10:00:00Z",
}
record_signed = b"imprimatur-record-v1\n" + jcs(record)

out = {
    "admins": {name: {"seed_byte": seed, "public_key": ADMINS[name][1]}
               for name, seed in [("ada", 11), ("bo", 12), ("cy", 13), ("di", 14)]},
    "roots": [ROOT1, ROOT2],
    "governance": {
        "files": FILES,
        "manifest": manifest,
        "manifest_hash": manifest_hash,
        "version": GOV_VERSION,
        "signed_bytes": gov_signed.decode(),
        "signatures": dict(gov_sigs),
        "text": gov_text,
        "trusted_root": 2,
    },
    "seal": {"record": record, "signed_bytes": record_signed.decode(),
             "seal": "sha256:" + sha256(record_signed)},
}
path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "trust-root-vectors.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(out, f, indent=2, ensure_ascii=False, sort_keys=True)
    f.write("\n")
print("wrote", os.path.normpath(path))
