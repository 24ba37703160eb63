#!/usr/bin/env bash
# Runs the fuzz targets for SECONDS each (default 10), one after the other, from seeds made
# by seeds.sh; fails on the first crash, which cargo-fuzz leaves in fuzz/artifacts/<target>/.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]   (every target of fuzz/targets.txt by default)
# Needs a nightly toolchain and cargo-fuzz (README, "Fuzzing"). A target named in
# known-crashes.txt (with the fix it waits for) may crash without failing the run: its crash
# is printed, and the line goes once the fix lands.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-10}
shift || true
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets <targets.txt; fi
bash seeds.sh >/dev/null
cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
  log=$(mktemp)
  dict=()
  case "$target" in
    record* | page | front_matter* | keyring | policy) dict=(-dict="$PWD/yaml.dict") ;;
  esac
  # -rss_limit_mb: an input that needs more memory is a finding, not a swapping machine;
  # -timeout: one input that takes longer than this is a finding (a hang).
  if ! cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${dict[@]}" \
    >"$log" 2>&1; then
    tail -n 60 "$log"
    rm -f "$log"
    known=$(awk -v t="$target" '$1 == t { $1 = ""; print substr($0, 2) }' known-crashes.txt 2>/dev/null || true)
    if [ -n "$known" ]; then
      echo "fuzz: $target crashed, as known until $known; the input is in fuzz/artifacts/$target/"
      continue
    fi
    echo "fuzz: $target crashed; the input is in fuzz/artifacts/$target/ (README, \"Fuzzing\")"
    exit 1
  fi
  runs=$(awk '/^stat::number_of_executed_units:/ { print $2 }' "$log")
  peak=$(awk '/^stat::peak_rss_mb:/ { print $2 }' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "fuzz: $target: ${runs:-?} runs in ${seconds}s, coverage ${cov:-?}, peak ${peak:-?} MB, no crash"
  rm -f "$log"
done
