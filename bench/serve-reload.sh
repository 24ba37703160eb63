#!/usr/bin/env bash
# Benchmark: `imprimatur serve`, from a save to the reloaded page. Run by hand (not in CI):
#   bash bench/serve-reload.sh                 # the example site (repository root)
#   BENCH_PAGES=10000 bash bench/serve-reload.sh   # a generated site of that many pages
#
# For each of BENCH_RUNS saves it appends a line to one page's Markdown, waits for the
# server's `reload` event on /_imprimatur/events (what an open tab waits for), then fetches
# the edited page's drafts view (what the tab loads next), and prints both times in ms.
# Settings: BENCH_PAGES (unset: the example site), BENCH_RUNS (default 5), BENCH_NOW.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS="${BENCH_RUNS:-5}"
NOW="${BENCH_NOW:-2026-11-21T12:00:00Z}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET_DIR/release/imprimatur"
(cd "$ROOT" && cargo build --release --quiet --bin imprimatur --example gen_bench_site)

WORK="$(mktemp -d)"
SERVER=""
trap 'kill "$SERVER" 2>/dev/null || true; cat "$WORK/serve.err" >&2; rm -rf "$WORK"' EXIT
if [ -n "${BENCH_PAGES:-}" ]; then
    SITE="$WORK/site"
    "$TARGET_DIR/release/examples/gen_bench_site" --pages "$BENCH_PAGES" --out "$SITE" >/dev/null
else
    SITE="$WORK/site"
    mkdir -p "$SITE"
    (cd "$ROOT" && cp -r imprimatur.yaml content approvals "$SITE"/ && { [ ! -d themes ] || cp -r themes "$SITE"/; })
fi
PAGE_FILE="$(find "$SITE/content" -name '*.md' -not -path '*/_*' | sort | sed -n 1p)"
REL="${PAGE_FILE#"$SITE/content/"}"; REL="${REL%.md}"; REL="${REL%/index}"
echo "site: $(find "$SITE/content" -name '*.md' | wc -l) Markdown files; editing content/$REL"
START=$(date +%s%N)

"$BIN" serve --site "$SITE" --port 0 --now "$NOW" >"$WORK/serve.out" 2>"$WORK/serve.err" &
SERVER=$!
for _ in $(seq 100); do grep -q ' at http' "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
URL="$(sed -n 1p "$WORK/serve.out" | sed 's/.* at //')"
echo "serve started (site judged) in $(( ($(date +%s%N) - START) / 1000000 )) ms"
# Warm: the first request renders what a tab would already have open.
curl -s -o /dev/null "${URL}_drafts/"

python3 - "$URL" "$PAGE_FILE" "$REL" "$RUNS" <<'PY'
import sys, time, urllib.request, http.client, urllib.parse
url, page_file, rel, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
u = urllib.parse.urlparse(url)
events, fetches = [], []
for i in range(runs):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("GET", "/_imprimatur/events")
    resp = conn.getresponse()
    time.sleep(0.2)
    t0 = time.perf_counter()
    with open(page_file, "a") as f:
        f.write(f"\nEdit {i}.\n")
    while True:
        line = resp.fp.readline().decode()
        if line.startswith("event: reload"):
            break
    t1 = time.perf_counter()
    body = urllib.request.urlopen(f"{url}_drafts/").read()  # the tab's reload
    t2 = time.perf_counter()
    conn.close()
    events.append((t1 - t0) * 1000); fetches.append((t2 - t0) * 1000)
    print(f"save {i}: reload event after {events[-1]:.0f} ms, page loaded after {fetches[-1]:.0f} ms")
events.sort(); fetches.sort()
print(f"median: reload event {events[len(events)//2]:.0f} ms, page loaded {fetches[len(fetches)//2]:.0f} ms")
PY
