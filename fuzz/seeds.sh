#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from the repository's own files (records, pages,
# policies, the keyring, the store, the test vectors), plus a few made here for the formats
# the repository keeps no copy of (key files, ledger, caches). Nothing here is committed:
# fuzz/corpus/ is ignored, and the seeds are made again at every run. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus
seed() { # seed <target> <file>...: copy files in, named by their hash (no duplicates)
  local target=$1
  shift
  mkdir -p "$corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$corpus/$target/$(sha256sum "$f" | cut -c1-16)"
  done
  return 0
}
text() { # text <target> <string>: one seed from a string
  mkdir -p "$corpus/$1"
  printf '%b' "$2" >"$corpus/$1/$(printf '%b' "$2" | sha256sum | cut -c1-16)"
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Records: every record of the example, and the contract's vectors (JSON is YAML).
mapfile -t records < <(find approvals/records -type f -name '*.yaml' | sort)
python3 - "$tmp" <<'PY'
import json, sys, os
out = sys.argv[1]
n = 0
for name in ["tests/data/vectors.json", "tests/data/vectors-v2.json"]:
    def walk(v):
        global n
        if isinstance(v, dict):
            if "signature" in v and "kind" in v:
                n += 1
                open(os.path.join(out, f"vector-{n}.json"), "w").write(json.dumps(v))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(json.load(open(name)))
PY
for target in record record_readers_agree record_signed_bytes; do
  seed "$target" "${records[@]}" "$tmp"/vector-*.json
done
# A proof shows records as text: the same seeds make a proof of them.
python3 - "$tmp" "${records[@]:0:4}" <<'PY' >"$tmp/proof.json"
import json, sys, base64
files = sys.argv[2:]
print(json.dumps({
    "imprimatur_proof": 1, "page": "kb/getting-started/install",
    "source_path": "getting-started/install.md", "url": "/kb/getting-started/install/",
    "version": "sha256:" + "0" * 64, "built_at": "2026-12-01T00:00:00Z",
    "audiences": ["public"], "html_sha256": "0" * 64,
    "markdown": base64.b64encode(b"---\ntitle: \"Install\"\n---\nWords.\n").decode(),
    "assets": {}, "records": {f: open(f).read() for f in files},
    "keys": {"alice-2026": "5cxWiCzZ43+qcvNMz+lgl5oAsoCa2Xc69+7m5Z+CYTU="},
    "policy": "policies/kb.yaml", "trust": {"keyring.yaml": "0" * 64},
}, indent=2))
PY
seed proof "$tmp/proof.json"

# Pages: the example's pages, for their front matter and for their Markdown; the docs too.
mapfile -t pages < <(find content -type f -name '*.md' | sort)
seed page "${pages[@]}"
seed front_matter_readers_agree "${pages[@]}"
seed markdown "${pages[@]}" README.md docs/*.md
text markdown '<script>alert(1)</script>\n[x](javascript:alert(1))\n<a href="&#106;avascript:x" onclick="y">z</a>\n<img src=x onerror=alert(1)>\n# Title {#id .class}\n| a | b |\n|---|:-:|\n| 1 | 2 |\n- [x] done\n[^1]\n\n[^1]: note\n'

# Admin files.
seed keyring approvals/keyring.yaml
seed policy approvals/policies/*.yaml

# Store manifests: the bundle manifests in the example's store.
for blob in approvals/store/*/*; do
  if head -c 21 "$blob" | grep -q '^imprimatur-bundle-v1'; then seed store_manifest "$blob"; fi
done

# Key files: made here (the repository keeps no secret key), plain and encrypted.
if command -v ssh-keygen >/dev/null 2>&1; then
  ssh-keygen -q -t ed25519 -N '' -C fuzz -f "$tmp/ssh-plain" </dev/null
  ssh-keygen -q -t ed25519 -N 'pass' -a 2 -C fuzz -f "$tmp/ssh-encrypted" </dev/null
  seed key_file "$tmp/ssh-plain" "$tmp/ssh-encrypted"
fi
if command -v openssl >/dev/null 2>&1; then
  openssl genpkey -algorithm ed25519 -out "$tmp/pkcs8.pem" 2>/dev/null
  openssl pkcs8 -topk8 -in "$tmp/pkcs8.pem" -passout pass:pass -iter 2 -out "$tmp/pkcs8-enc.pem" 2>/dev/null || true
  seed key_file "$tmp/pkcs8.pem" "$tmp/pkcs8-enc.pem"
fi

# Passkey registrations: "none" attestations of an ES256 and an EdDSA key for localhost, in
# CBOR written out by hand (the repository keeps no browser's answer).
python3 - "$corpus/passkey_registration" <<'PY'
import hashlib, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def bstr(b): return (bytes([0x58, len(b)]) if len(b) < 256 else bytes([0x59]) + len(b).to_bytes(2, "big")) + b
def tstr(t): return bytes([0x60 + len(t)]) + t.encode()
es256 = bytes([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21]) + bstr(b"\x11" * 32) + bytes([0x22]) + bstr(b"\x22" * 32)
eddsa = bytes([0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21]) + bstr(b"\x33" * 32)
for name, key in [("es256", es256), ("eddsa", eddsa)]:
    auth = hashlib.sha256(b"localhost").digest() + bytes([0x45]) + bytes(4) + bytes(16) + (6).to_bytes(2, "big") + b"cred-1" + key
    obj = bytes([0xa3]) + tstr("fmt") + tstr("none") + tstr("attStmt") + bytes([0xa0]) + tstr("authData") + bstr(auth)
    open(os.path.join(out, name), "wb").write(obj)
PY

# The notification ledger.
text notify_ledger '{\n  "format": "imprimatur-notified/1",\n  "routes": {"email": "2026-11-01T00:00:00Z", "slack:CHAT": "2026-11-01T00:00:00Z"},\n  "delivered": [\n    {"id": "e1", "event": "review_requested", "page": "kb/install", "version": "sha256:00", "step": "technical", "route": "email", "to": "bob", "at": "2026-11-02T00:00:00Z", "how": "sent"},\n    {"id": "e2", "event": "published", "page": "kb/install", "version": "sha256:00", "route": "slack:CHAT", "at": "2026-11-02T00:00:00Z", "how": "digest"}\n  ],\n  "digests": [{"route": "email", "to": "bob", "day": "2026-11-02"}]\n}\n'

# Caches: the fuzz targets tag what they are given, so seeds are the payloads (postcard).
text render_memo '\x00\x00'
text render_memo '\x01\x0akb/x/index.html\x02ab\x02cd\x02ef\x01\x05a.png\x04text\x00\x01\x06search\x02ab\x01\x0bsearch.json\x02cd\x01\x03/x/\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
text kept_inputs '\x00\x00'
text kept_inputs '\x00\x01\x0bkb/x.md\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02ab\x05title'
# A counted-records file of the example's first record.
python3 - "${records[0]}" >"$tmp/counted" <<'PY'
import sys, struct, hashlib
path = sys.argv[1].encode()
text = open(sys.argv[1], "rb").read()
magic = b"imprimatur-counted-records-v2\n"
offset = len(magic) + 8 + 48
sys.stdout.buffer.write(magic + struct.pack(">Q", 1) + hashlib.sha256(text).digest()
    + struct.pack(">QII", offset, len(path), len(text)) + path + text)
PY
seed counted_records "$tmp/counted"
head -c 96 /dev/urandom >"$tmp/verified"
seed verified_cache "$tmp/verified"

for target in $(cat fuzz/targets.txt); do
  printf '%s: %s seeds\n' "$target" "$(find "$corpus/$target" -type f 2>/dev/null | wc -l)"
done
