#!/usr/bin/env bash
# Benchmark: the time from a click on Approve in the review page (`imprimatur serve --key`,
# headless Chromium over the DevTools protocol) to the page showing the written record,
# counted by the server's new judgement of the site (so signed, written, read back and
# verified). 20 clicks, each on its own page in review; prints each time and the median.
# Run by hand (not in CI):  bash bench/click.sh     (needs chromium, or CHROMIUM=/path)
#   BENCH_PROFILE=release  build and run the test binary with --release (default: dev, the
#                          profile `cargo test` builds)
# See bench/README.md ("Click to record") for the numbers measured.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
profile=()
if [[ "${BENCH_PROFILE:-dev}" == release ]]; then profile=(--release); fi
# `bash bench/click.sh team`: through `serve --team`, the approval signed by a (virtual)
# passkey in the browser, committed and pushed to a local bare remote; timed to the pushed
# commit's arrival there (tests/team.rs, bench_passkey_click_to_pushed_commit).
bench=decide::bench_click_to_record
if [[ "${1:-}" == team ]]; then bench=team::bench_passkey_click_to_pushed_commit; fi
IMPRIMATUR_REQUIRE_TOOLS=1 cargo test "${profile[@]}" --test tests "$bench" \
  -- --ignored --exact --nocapture --test-threads 1
