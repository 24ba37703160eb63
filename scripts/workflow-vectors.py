#!/usr/bin/env python3
"""Signing vectors for the records docs/workflow.md adds (an `assign` field on a submit, and
the `assign` record kind), made independently of the Rust code with Python's `cryptography`
and the signing rule of SPEC section 4. Writes tests/data/workflow-vectors.json; tests/vectors.rs
checks that imprimatur reproduces every byte. Run: python3 scripts/workflow-vectors.py
"""
import base64
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

SEED = bytes(range(1, 33))
KEY = Ed25519PrivateKey.from_private_bytes(SEED)
PUBLIC = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
VERSION = "sha256:800b8d5b130876c872bf6d3644f2ca43a5f589120e05d9704bf01aaff0164d46"

RECORDS = [
    {
        "imprimatur": 1,
        "kind": "submit",
        "space": "kb",
        "content": "kb/install",
        "version": VERSION,
        "reviewer": "wanda",
        "key": "wanda-2026",
        "signed_at": "2026-11-20T09:00:00Z",
        "comment": "Für Raj und Eli",
        "assign": {"technical": ["raj", "eli"], "legal": ["dana"]},
    },
    {
        "imprimatur": 1,
        "kind": "assign",
        "space": "kb",
        "content": "kb/install",
        "version": VERSION,
        "step": "technical",
        "reviewer": "carol",
        "key": "carol-2026",
        "signed_at": "2026-11-20T11:00:00Z",
        "assign": {"technical": ["eli", "zoe"]},
    },
]


def signed_bytes(record):
    fields = {k: v for k, v in record.items() if k != "signature"}
    return b"imprimatur-record-v1\n" + json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def main():
    vectors = []
    for record in RECORDS:
        data = signed_bytes(record)
        signature = base64.b64encode(KEY.sign(data)).decode()
        vectors.append(
            {
                "record": dict(record, signature=signature),
                "signed_bytes_text": data.decode(),
                "signed_bytes_hex": data.hex(),
            }
        )
    out = {
        "about": "Signing vectors for the records of docs/workflow.md (assign), made with Python cryptography by scripts/workflow-vectors.py.",
        "secret_seed_hex": SEED.hex(),
        "public_key": base64.b64encode(PUBLIC).decode(),
        "records": vectors,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "workflow-vectors.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
