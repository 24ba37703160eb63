#!/usr/bin/env bash
# Benchmark: `imprimatur build` against `hugo` on the same generated help center.
# Run by hand (not in CI):  bash bench/run.sh      or   BENCH_PAGES=1000 bash bench/run.sh
# See bench/README.md for what it measures and the caveats.
#
# Settings (environment):
#   BENCH_PAGES   page counts to measure, space-separated   (default "1000 10000")
#   BENCH_SPACES  spaces in the generated site               (default 10)
#   BENCH_RUNS    timed runs per tool and size               (default 3; the median is reported)
#   BENCH_NOW     the build's --now                          (default 2026-11-21T12:00:00Z)
#   BENCH_TOOLS   which tools to time                        (default "imprimatur hugo")
#   BENCH_KEEP=1  keep the generated sites and outputs (under /tmp) instead of deleting them
#   BENCH_NO_BUILD=1  use the release binaries already built instead of running cargo build
#   CARGO_TARGET_DIR  where cargo builds (default: <crate>/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PAGES_LIST="${BENCH_PAGES:-1000 10000}"
SPACES="${BENCH_SPACES:-10}"
RUNS="${BENCH_RUNS:-3}"
NOW="${BENCH_NOW:-2026-11-21T12:00:00Z}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS=" ${BENCH_TOOLS:-imprimatur hugo} "
want() { [[ "$TOOLS" == *" $1 "* ]]; }

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

# --- tools -------------------------------------------------------------------------------------
apt_install() {
    command -v apt-get >/dev/null || die "$1 is missing and apt-get is not available; install $1"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "bench: installing $1"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "$1" >/dev/null
}
want hugo && { command -v hugo >/dev/null || apt_install hugo; }
[ -x /usr/bin/time ] || apt_install time

IMPRIMATUR="$TARGET_DIR/release/imprimatur"
GENERATE="$TARGET_DIR/release/examples/gen_bench_site"
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
    [ -x "$IMPRIMATUR" ] && [ -x "$GENERATE" ] || die "BENCH_NO_BUILD=1 but $IMPRIMATUR or $GENERATE is missing"
    say "bench: using the binaries built $(date -u -r "$IMPRIMATUR" +%Y-%m-%dT%H:%MZ)"
else
    say "bench: building imprimatur and the site generator (release)"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo build --release --quiet \
        --bin imprimatur --example gen_bench_site)
fi

WORK="$(mktemp -d /tmp/imprimatur-bench.XXXXXX)"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "bench: keeping everything under $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

want hugo && say "bench: $(hugo version | head -1)"
say "bench: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM"

# --- helpers -----------------------------------------------------------------------------------
# timed LABEL LOG cmd...: runs cmd under /usr/bin/time; prints "wall_s peak_kib cpu_s" (cpu =
# user + system); fails loudly.
timed() {
    local label="$1" log="$2"; shift 2
    local tf="$WORK/time.$$"
    if ! /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$log" 2>&1; then
        say "bench: $label failed ($(head -1 "$tf")); last lines of its output:"
        tail -20 "$log" >&2
        exit 1
    fi
    tail -1 "$tf" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'
}
wall() { echo "${1%% *}"; }
peak_mib() { calc '%.0f' "$(echo "$1" | cut -d' ' -f2) / 1024"; }
cpu() { echo "${1##* }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# row TOOL FILE: the median wall time and peak memory of the runs in FILE, as a table row;
# sets WALL and PEAK (KiB) for the ratios.
row() {
    WALL="$(cut -d' ' -f1 "$2" | median)"
    PEAK="$(cut -d' ' -f2 "$2" | median)"
    CPU="$(cut -d' ' -f3 "$2" | median)"
    # /usr/bin/time has 10 ms resolution; never divide by zero.
    WALL="$(calc '%.2f' "($WALL < 0.01) ? 0.01 : $WALL")"
    printf '| %-10s | %10.2f | %10.0f | %10.1f | %10.2f |\n' \
        "$1" "$WALL" "$(calc '%f' "$N / $WALL")" "$(calc '%f' "$PEAK / 1024")" "$CPU"
}

SUMMARY=""

for N in $PAGES_LIST; do
    SITE="$WORK/site-$N"
    HUGO_SITE="$SITE-hugo"
    say ""
    say "bench: generating $N pages in $SPACES spaces"
    gen="$(timed "gen_bench_site" "$WORK/gen-$N.log" "$GENERATE" --pages "$N" --spaces "$SPACES" --out "$SITE")"
    say "bench: $(cat "$WORK/gen-$N.log")"

    # Every record must count before any build is timed (verify exits 3 on an invalid record).
    ver="$(timed "imprimatur verify" "$WORK/verify-$N.log" "$IMPRIMATUR" verify --site "$SITE" --now "$NOW")"
    say "bench: $(tail -1 "$WORK/verify-$N.log")"
    say "bench: imprimatur verify: $(wall "$ver") s, $(peak_mib "$ver") MiB, cpu $(cpu "$ver") s"

    : >"$WORK/imp-$N.txt"
    : >"$WORK/hugo-$N.txt"
    for run in $(seq 1 "$RUNS"); do
        # Cold-ish: a fresh output folder every run (the OS page cache is not dropped).
        if want imprimatur; then
            rm -rf "$SITE/output" "$SITE/reports" "$SITE"/.imprimatur-*
            r="$(timed "imprimatur build" "$WORK/imp-$N-$run.log" \
                "$IMPRIMATUR" build --site "$SITE" --now "$NOW")"
            echo "$r" >>"$WORK/imp-$N.txt"
            [ -f "$SITE/output/index.html" ] || die "imprimatur build: no output/index.html"
            pages_out="$(find "$SITE/output" -mindepth 4 -maxdepth 4 -name index.html | wc -l)"
            all_out="$(find "$SITE/output" -name index.html | wc -l)"
            [ "$pages_out" -eq "$N" ] ||
                die "imprimatur build: $pages_out of $N pages in output/<space>/<section>/<page>/index.html"
            [ "$all_out" -ge $((N + SPACES + 1)) ] && [ "$all_out" -le $((N + SPACES * 12 + 1)) ] ||
                die "imprimatur build: $all_out index.html files, expected about $((N + SPACES + 1))"
            say "bench: run $run imprimatur: $(wall "$r") s, $(peak_mib "$r") MiB, cpu $(cpu "$r") s, $all_out index.html"
        fi
        if want hugo; then
            DEST="$WORK/hugo-out-$N-$run"
            rm -rf "$DEST"
            h="$(timed "hugo" "$WORK/hugo-$N-$run.log" \
                hugo --source "$HUGO_SITE" --destination "$DEST" --cacheDir "$WORK/hugo-cache-$N-$run" --quiet)"
            echo "$h" >>"$WORK/hugo-$N.txt"
            hugo_pages="$(find "$DEST" -mindepth 4 -maxdepth 4 -name index.html | wc -l)"
            [ "$hugo_pages" -eq "$N" ] || die "hugo: $hugo_pages of $N pages in <space>/<section>/<page>/index.html"
            say "bench: run $run hugo:       $(wall "$h") s, $(peak_mib "$h") MiB, cpu $(cpu "$h") s"
            rm -rf "$DEST" "$WORK/hugo-cache-$N-$run"
        fi
    done

    table="$(
        printf '\n%s pages, %s spaces, %s records (median of %s runs, --now %s)\n' \
            "$N" "$SPACES" "$((3 * N))" "$RUNS" "$NOW"
        printf '| %-10s | %10s | %10s | %10s | %10s |\n' tool "wall s" "pages/s" "peak MiB" "cpu s"
        printf '|%s|%s|%s|%s|%s|\n' ------------ ------------ ------------ ------------ ------------
        if want imprimatur; then row imprimatur "$WORK/imp-$N.txt"; iw="$WALL" im="$PEAK" ic="$CPU"; fi
        if want hugo; then row hugo "$WORK/hugo-$N.txt"; hw="$WALL" hm="$PEAK" hc="$CPU"; fi
        printf '(imprimatur verify alone: %s s, %s MiB, cpu %s s; generator: %s s)\n' \
            "$(wall "$ver")" "$(peak_mib "$ver")" "$(cpu "$ver")" "$(wall "$gen")"
        if want imprimatur && want hugo; then
            tr="$(calc '%.2f' "$iw / $hw")"
            mr="$(calc '%.2f' "$im / $hm")"
            printf 'imprimatur/hugo: time %s×, memory %s× (cpu time %s×)\n' \
                "$tr" "$mr" "$(calc '%.2f' "$ic / (($hc < 0.01) ? 0.01 : $hc)")"
            if [ "$N" -eq 10000 ]; then
                printf 'targets at 10,000 pages / 30,000 records: time <= 0.50× hugo: %s; memory <= 0.25× hugo: %s\n' \
                    "$(calc '%s' "($tr <= 0.5) ? \"PASS\" : \"FAIL\"")" \
                    "$(calc '%s' "($mr <= 0.25) ? \"PASS\" : \"FAIL\"")"
            else
                printf '(the targets apply at 10,000 pages: time <= 0.50× hugo, memory <= 0.25× hugo)\n'
            fi
        fi
    )"
    say "$table"
    SUMMARY="$SUMMARY$table"$'\n'
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$SITE" "$HUGO_SITE"
done

printf '\n== imprimatur vs hugo (%s) ==%s' "$(date -u +%Y-%m-%dT%H:%MZ)" "$SUMMARY"
