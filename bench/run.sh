#!/usr/bin/env bash
# Benchmark: `imprimatur build` against `hugo` on the same generated help center, four
# scenarios per size: cold, no-op rebuild, one page edited (not approved), one approved page
# added. Run by hand (not in CI):  bash bench/run.sh   or   BENCH_PAGES=1000 bash bench/run.sh
# See bench/README.md for what it measures and the caveats.
#
# Settings (environment):
#   BENCH_PAGES   page counts to measure, space-separated   (default "1000 10000 100000")
#   BENCH_SPACES  spaces in the generated site               (default 10)
#   BENCH_RUNS    timed runs per tool and size               (default 3; the median is reported)
#   BENCH_NOW     the build's --now                          (default 2026-11-21T12:00:00Z)
#   BENCH_TOOLS   which tools to time                        (default "imprimatur hugo")
#   BENCH_HUGO_LIMIT  seconds a Hugo build may take before it is stopped and recorded as not
#                 finished (default: 4 x imprimatur's cold wall in the same run, at least 60)
#   BENCH_KEEP=1  keep the generated sites and outputs (under /tmp) instead of deleting them
#   BENCH_NO_BUILD=1  use the release binaries already built instead of running cargo build
#   CARGO_TARGET_DIR  where cargo builds (default: <crate>/target)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PAGES_LIST="${BENCH_PAGES:-1000 10000 100000}"
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
command -v node >/dev/null || say "bench: node is missing; the search download is not measured"
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
# user + system); fails loudly. What earlier runs left to write back to the disk is written
# first (`sync`, not timed): on this 2-core machine the kernel's writeback of Hugo's 10,000
# pages otherwise lands in whichever build runs next (it added 0.2 s to imprimatur's add at
# 10k, whose own time is 0.8 s), and each tool's own writeback in the other's time.
timed() {
    local label="$1" log="$2"; shift 2
    local tf="$WORK/time.$$"
    sync
    /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@" >"$log" 2>&1 || failed "$label" "$tf" "$log"
    measured "$tf"
}
# measured TIMEFILE: "wall_s peak_kib cpu_s" from what /usr/bin/time wrote (its last line).
measured() { tail -1 "$1" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }'; }
# failed LABEL TIMEFILE LOG: says how the command ended and the end of its output; exits.
failed() {
    say "bench: $1 failed ($(head -1 "$2")); last lines of its output:"
    tail -20 "$3" >&2
    exit 1
}
wall() { echo "${1%% *}"; }
peak_mib() { calc '%.0f' "$(echo "$1" | cut -d' ' -f2) / 1024"; }
cpu() { echo "${1##* }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# discard PATH...: out of the way now, deleted between sizes. On this machine's ext4 (no
# journal), creating inodes within minutes of deleting tens of thousands makes the kernel
# skip every recently freed inode number one by one (`recently_deleted` in `perf`): a cold
# build right after `rm -rf` of the last run's trees took 7-12 s instead of 3.4 s, for a
# reason that is not the build's. Moving them is one rename; they go when the bench ends.
discard() {
    mkdir -p "$WORK/trash"
    local p
    for p in "$@"; do
        [ -e "$p" ] && mv "$p" "$(mktemp -d "$WORK/trash/t.XXXXXX")/"
    done
    return 0
}

# row TOOL SCENARIO FILE: the medians of the runs in FILE as a table row; sets WALL, PEAK
# (KiB) and CPU for the ratios.
row() {
    WALL="$(cut -d' ' -f1 "$3" | median)"
    PEAK="$(cut -d' ' -f2 "$3" | median)"
    CPU="$(cut -d' ' -f3 "$3" | median)"
    # /usr/bin/time has 10 ms resolution; never divide by zero.
    WALL="$(calc '%.2f' "($WALL < 0.01) ? 0.01 : $WALL")"
    printf '| %-10s | %-8s | %8.2f | %8.2f | %8.0f |\n' \
        "$1" "$2" "$WALL" "$CPU" "$(calc '%f' "$PEAK / 1024")"
}
# Every file under a folder with its inode and modification time, sorted.
inodes() { (cd "$1" && find . -type f -printf '%i %T@ %p\n' | sort -k3); }
# pages_in DIR: pages at <space>/<section>/<page>/index.html.
pages_in() { find "$1" -mindepth 4 -maxdepth 4 -name index.html | wc -l; }

SUMMARY=""
GROWTH=""
imp_cold_wall=15

# run_imprimatur SCENARIO RUN: one timed build, its numbers appended to imp-N-SCENARIO.txt.
run_imprimatur() {
    local r
    r="$(timed "imprimatur build ($1)" "$WORK/imp-$N-$1-$2.log" env IMPRIMATUR_CACHE_DIR="$CACHE" \
        "$IMPRIMATUR" build --site "$SITE" --now "$NOW")"
    echo "$r" >>"$WORK/imp-$N-$1.txt"
    [ "$1" != cold ] || imp_cold_wall="$(wall "$r")"
    say "bench: run $2 imprimatur $1: $(wall "$r") s, cpu $(cpu "$r") s, $(peak_mib "$r") MiB; $(grep -o '([0-9]* files, [a-z0-9 ]*)' "$WORK/imp-$N-$1-$2.log")"
}
# run_hugo SCENARIO RUN: the same for Hugo, stopped at its time limit (see BENCH_HUGO_LIMIT).
# A build stopped there, or killed by the kernel (Hugo is OOM-killed at 100k pages on a 23 GiB
# machine, after ~12 minutes), did not finish: its wall and peak so far go to
# hugo-N-dnf.txt, and Hugo's later builds of that size are not run (each is a whole build).
run_hugo() {
    local h limit tf="$WORK/time.$$" log="$WORK/hugo-$N-$1-$2.log"
    if [ -s "$WORK/hugo-$N-dnf.txt" ]; then
        say "bench: run $2 hugo       $1: not run (a build of this size did not finish)"
        return 0
    fi
    limit="${BENCH_HUGO_LIMIT:-$(calc '%.0f' "($imp_cold_wall * 4 < 60) ? 60 : $imp_cold_wall * 4")}"
    sync
    # Hugo is the child of /usr/bin/time, which waits for it and so reports its peak memory
    # even when it is killed; a watchdog kills it at the limit.
    /usr/bin/time -f '%e %M %U %S' -o "$tf" \
        hugo --source "$HUGO_SITE" --destination "$DEST" --cacheDir "$HCACHE" --quiet >"$log" 2>&1 &
    local timer=$!
    (sleep "$limit" && pkill -KILL -P "$timer" -x hugo) >/dev/null 2>&1 &
    local watchdog=$!
    local status=0
    wait "$timer" || status=$?
    kill "$watchdog" 2>/dev/null || true
    if [ "$status" -eq 0 ]; then
        h="$(measured "$tf")"
        echo "$h" >>"$WORK/hugo-$N-$1.txt"
        say "bench: run $2 hugo       $1: $(wall "$h") s, cpu $(cpu "$h") s, $(peak_mib "$h") MiB"
    elif grep -q 'status 137\|signal 9' "$tf"; then
        h="$(measured "$tf")"
        echo "$1 $h" >>"$WORK/hugo-$N-dnf.txt"
        say "bench: run $2 hugo       $1: DID NOT FINISH: killed after $(wall "$h") s (limit $limit s) at $(peak_mib "$h") MiB"
    else
        failed "hugo ($1)" "$tf" "$log"
    fi
}

for N in $PAGES_LIST; do
    SITE="$WORK/site-$N"
    HUGO_SITE="$SITE-hugo"
    say ""
    say "bench: generating $N pages (and one held back to add) in $SPACES spaces"
    gen="$(timed "gen_bench_site" "$WORK/gen-$N.log" "$GENERATE" --pages "$((N + 1))" --spaces "$SPACES" --out "$SITE" --hold-back)"
    say "bench: $(cat "$WORK/gen-$N.log")"
    ADDED="$(cd "$SITE-add" && find . -type f)"
    EDITED="$(cd "$SITE" && find content -name '*.md' | sort | sed -n 1p)"
    cp "$SITE/$EDITED" "$WORK/edited-original.md"

    # Every record must count before any build is timed. (verify exits 3 here all the same:
    # pages link to the held-back page, which is not published until it is added.)
    "$IMPRIMATUR" verify --site "$SITE" --now "$NOW" >"$WORK/verify-$N.log" 2>&1 || true
    grep -q ": 0 invalid record(s)" "$WORK/verify-$N.log" ||
        die "imprimatur verify: $(head -3 "$WORK/verify-$N.log")"

    rewritten_by_noop=""
    for run in $(seq 1 "$RUNS"); do
        # Back to the generated site: the edit undone, the added page gone.
        cp "$WORK/edited-original.md" "$SITE/$EDITED"
        cp "$WORK/edited-original.md" "$HUGO_SITE/$EDITED"
        (cd "$SITE" && echo "$ADDED" | xargs rm -f)
        (cd "$SITE-hugo-add" && find . -type f) | (cd "$HUGO_SITE" && xargs rm -f)
        # Cold: no output, no reports, no cache of verified signatures (the OS page cache is
        # not dropped).
        CACHE="$WORK/cache-$N-$run"
        DEST="$WORK/hugo-out-$N-$run"
        HCACHE="$WORK/hugo-cache-$N-$run"
        discard "$SITE/output" "$SITE/reports" "$SITE"/.imprimatur-* "$CACHE" "$DEST" "$HCACHE"

        if want imprimatur; then
            run_imprimatur cold "$run"
            [ "$(pages_in "$SITE/output")" -eq "$N" ] || die "imprimatur cold: not $N pages"
        fi
        if want hugo; then
            run_hugo cold "$run"
            [ -s "$WORK/hugo-$N-dnf.txt" ] || [ "$(pages_in "$DEST")" -eq "$N" ] || die "hugo cold: not $N pages"
        fi

        if want imprimatur; then
            inodes "$SITE/output" >"$WORK/before"
            run_imprimatur noop "$run"
            inodes "$SITE/output" >"$WORK/after"
            changed="$(diff "$WORK/before" "$WORK/after" | grep -c '^>' || true)"
            rewritten_by_noop="$rewritten_by_noop $changed"
        fi
        want hugo && run_hugo noop "$run"

        # One page edited, not approved: its new words must not be published.
        printf '\nAn unapproved sentence BENCHEDIT%s.\n' "$run" >>"$SITE/$EDITED"
        printf '\nAn unapproved sentence BENCHEDIT%s.\n' "$run" >>"$HUGO_SITE/$EDITED"
        if want imprimatur; then
            run_imprimatur edit "$run"
            ! grep -rqs "BENCHEDIT" "$SITE/output" || die "imprimatur published an unapproved edit"
        fi
        want hugo && run_hugo edit "$run"

        # One approved page added (its Markdown, store blob and three signed records).
        cp -r "$SITE-add/." "$SITE/"
        cp -r "$SITE-hugo-add/." "$HUGO_SITE/"
        if want imprimatur; then
            run_imprimatur add "$run"
            [ "$(pages_in "$SITE/output")" -eq "$((N + 1))" ] || die "imprimatur add: not $((N + 1)) pages"
        fi
        if want hugo; then
            run_hugo add "$run"
            [ -s "$WORK/hugo-$N-dnf.txt" ] || [ "$(pages_in "$DEST")" -eq "$((N + 1))" ] || die "hugo add: not $((N + 1)) pages"
        fi
        search=""
        if want imprimatur && command -v node >/dev/null; then
            search="$(node "$ROOT/bench/search-bytes.js" "$SITE/output" "configure export")"
        fi
        discard "$DEST" "$HCACHE" "$CACHE"
    done

    table="$(
        printf '\n%s pages, %s spaces, %s records (median of %s runs, --now %s)\n' \
            "$N" "$SPACES" "$((3 * N))" "$RUNS" "$NOW"
        printf '| %-10s | %-8s | %8s | %8s | %8s |\n' tool scenario "wall s" "cpu s" "peak MiB"
        printf '|%s|%s|%s|%s|%s|\n' ------------ ---------- ---------- ---------- ----------
        for sc in cold noop edit add; do
            if want imprimatur; then
                row imprimatur "$sc" "$WORK/imp-$N-$sc.txt"
                eval "iw_$sc=$WALL im_$sc=$PEAK ic_$sc=$CPU"
            fi
            # Hugo's row: the runs it finished (none when it did not finish or was not run).
            if want hugo && [ -s "$WORK/hugo-$N-$sc.txt" ]; then
                row hugo "$sc" "$WORK/hugo-$N-$sc.txt"
                eval "hw_$sc=$WALL hm_$sc=$PEAK"
            elif want hugo; then
                printf '| %-10s | %-8s | %s |\n' hugo "$sc" "did not finish, or not run (see below)"
            fi
        done
        printf '(generator: %s s)\n' "$(wall "$gen")"
        if want imprimatur; then
            pass() { calc '%s' "($1) ? \"PASS\" : \"FAIL\""; }
            printf 'files of output/ rewritten by each no-op rebuild:%s\n' "$rewritten_by_noop"
            [ -n "$search" ] && printf 'one search ("configure export") downloads %s\n' "$search"
            r_noop="$(calc '%.2f' "$iw_noop / $iw_cold")"
            r_edit="$(calc '%.2f' "$iw_edit / $iw_cold")"
            r_add="$(calc '%.2f' "$iw_add / $iw_cold")"
            if [ "$N" -eq 10000 ]; then
                printf 'ratios: no-op/own cold %s× (goal <= 0.2: %s); edit/own cold %s× (<= 0.3: %s); add/own cold %s× (<= 0.3: %s)\n' \
                    "$r_noop" "$(pass "$r_noop <= 0.2")" "$r_edit" "$(pass "$r_edit <= 0.3")" "$r_add" "$(pass "$r_add <= 0.3")"
            else
                # The goals of these three are set at 10k pages.
                printf 'ratios: no-op/own cold %s×; edit/own cold %s×; add/own cold %s× (their goals, 0.2 / 0.3 / 0.3, are set at 10k)\n' \
                    "$r_noop" "$r_edit" "$r_add"
            fi
            if want hugo && [ -s "$WORK/hugo-$N-dnf.txt" ]; then
                dnf="$(head -1 "$WORK/hugo-$N-dnf.txt")"
                dnf_sc="${dnf%% *}"
                dnf="${dnf#* }"
                dnf_wall="$(wall "$dnf")"
                dnf_peak="$(echo "$dnf" | cut -d' ' -f2)"
                printf 'hugo did not finish its %s build: killed after %s s at %s MiB (no later hugo build of this size was run)\n' \
                    "$dnf_sc" "$dnf_wall" "$(calc '%.0f' "$dnf_peak / 1024")"
            fi
            if want hugo && [ ! -s "$WORK/hugo-$N-cold.txt" ]; then
                # Stopped unfinished after `dnf_wall` seconds at `dnf_peak`: its whole build
                # takes longer and needs more, so imprimatur's ratios are below these.
                r_cold="$(calc '%.2f' "$iw_cold / $dnf_wall")"
                printf 'ratios: cold imprimatur/hugo wall < %s× (goal <= 0.5: %s), peak memory < %s×\n' \
                    "$r_cold" "$(pass "$r_cold <= 0.5")" "$(calc '%.2f' "$im_cold / $dnf_peak")"
            elif want hugo; then
                r_cold="$(calc '%.2f' "$iw_cold / $hw_cold")"
                printf 'ratios: cold imprimatur/hugo wall %s× (goal <= 0.5: %s), peak memory %s×\n' \
                    "$r_cold" "$(pass "$r_cold <= 0.5")" "$(calc '%.2f' "$im_cold / $hm_cold")"
            fi
            printf 'peak memory of the cold build: %s MiB (goal at 100k: <= 1024); of the no-op, edit and add: %s, %s, %s MiB\n' \
                "$(calc '%.0f' "$im_cold / 1024")" "$(calc '%.0f' "$im_noop / 1024")" \
                "$(calc '%.0f' "$im_edit / 1024")" "$(calc '%.0f' "$im_add / 1024")"
        fi
    )"
    say "$table"
    SUMMARY="$SUMMARY$table"$'\n'
    if want imprimatur; then
        # For the growth from one size to the next: the cold build's median wall and peak.
        GROWTH="$GROWTH $N:$(cut -d' ' -f1 "$WORK/imp-$N-cold.txt" | median):$(cut -d' ' -f2 "$WORK/imp-$N-cold.txt" | median)"
    fi
    [ "${BENCH_KEEP:-0}" = 1 ] || discard "$SITE" "$HUGO_SITE" "$SITE-add" "$SITE-hugo-add"
done

# With BENCH_NO_BUILD=1 the binaries may be older than the checkout: say which was built.
if [ "${BENCH_NO_BUILD:-0}" = 1 ]; then
    built="binaries not rebuilt; checkout at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
else
    built="built at $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
fi
# Growth of imprimatur's cold build from each size to the next (linear: as many times the
# wall and the memory as the pages).
growth=""
previous=""
for size in $GROWTH; do
    if [ -n "$previous" ]; then
        IFS=: read -r n0 w0 m0 <<<"$previous"
        IFS=: read -r n1 w1 m1 <<<"$size"
        growth="$growth$(printf '\ngrowth of the cold build from %s to %s pages (x%s): wall x%s, peak memory x%s' \
            "$n0" "$n1" "$(calc '%.0f' "$n1 / $n0")" "$(calc '%.1f' "$w1 / $w0")" "$(calc '%.1f' "$m1 / $m0")")"
    fi
    previous="$size"
done
printf '\n== imprimatur vs hugo (%s, %s) ==%s%s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$built" "$SUMMARY" "$growth"
