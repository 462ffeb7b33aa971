#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench.sh — the whole comparison in one command.
#
#   scripts/bench.sh [--quick|--full] [--rounds N] [--only PARTS] [--no-install]
#                    [--no-build] [--build-dir DIR]
#
# 1. installs the peers if they are missing (as root: apt-get), 2. builds the
# library and the benchmarks in build-bench (release), 3. runs the parts
# (default all: micro request json stress callgrind) with every allocator
# column interleaved round by round (glibc jemalloc mimalloc tcmalloc
# liboffheap ...: the SAME binary under LD_PRELOAD), 4. prints the tables
# (bench/report.py) and renders the requests/s plot.
# Reference columns (bench/floor_preload.c, bench/shim_preload.c: measuring
# sticks built beside the benchmarks, never installed):
#   floor             request loop and JSON: the `malloc` variant under
#                     libbench_floor.so, the cheapest in-scope malloc any
#                     LD_PRELOAD library can have (bump / floor is the limit
#                     of every preload);
#   shim              stress: libbench_shim.so, a bare tail jump to jemalloc's
#                     own functions (shim / jemalloc is the limit of every
#                     interposer in front of jemalloc);
#   liboffheap-armed  stress: liboffheap with `stress --armed` (one empty
#                     scope before the loop: a process that uses scopes).
# Raw outputs: bench/out/<stamp>-<mode>/ (gitignored; bench/out/latest links
# the last run).  A full run of all parts also copies the plot to
# bench/requests.png.
# --quick is the CI smoke: 1 round, small counts, a minute or so.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
ROUNDS=
PARTS="micro request json stress callgrind"
INSTALL=1
BUILD_STEP=1
BUILD="$ROOT/build-bench"

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --rounds) ROUNDS=$2; shift ;;
    --only) PARTS=$2; shift ;;
    --no-install) INSTALL=0 ;;
    --no-build) BUILD_STEP=0 ;;
    --build-dir) BUILD=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    -h|--help) awk 'NR >= 3 && /^#/ { sub(/^# ?/, ""); print; next } NR >= 3 { exit }' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$ROUNDS" ]; then
    if [ $MODE = quick ]; then ROUNDS=1; else ROUNDS=7; fi
fi
QUICK=(); [ $MODE = quick ] && QUICK=(--quick)

MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR=/usr/lib/$MULTIARCH
JEMALLOC=$LIBDIR/libjemalloc.so.2
MIMALLOC=$LIBDIR/libmimalloc.so.2
TCMALLOC=$LIBDIR/libtcmalloc_minimal.so.4

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- 1. peers -------------------------------------------------------------
PKGS="libjemalloc2 libmimalloc2.0 libmimalloc-dev libtcmalloc-minimal4 libcjson-dev libjansson-dev
      gnuplot-nox hyperfine valgrind"
need_install=0
for f in "$JEMALLOC" "$MIMALLOC" "$TCMALLOC" /usr/include/mimalloc.h /usr/include/cjson/cJSON.h \
         /usr/include/jansson.h; do
    [ -e "$f" ] || need_install=1
done
command -v gnuplot >/dev/null || need_install=1
if [ $INSTALL = 1 ] && [ $need_install = 1 ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing the peers: $PKGS"
        apt-get update -q
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PKGS
    else
        log "peers missing and not root: run as root or install: $PKGS"
    fi
fi

# ---- 2. build -------------------------------------------------------------
if [ $BUILD_STEP = 1 ]; then
    if [ ! -f "$BUILD/build.ninja" ]; then
        log "meson setup $BUILD"
        meson setup "$BUILD" "$ROOT" -Dbuildtype=release -Dtests=false -Dexamples=false >&2
    fi
    # -k 0: build what can be built; a missing library only drops its column.
    ninja -C "$BUILD" -j2 -k 0 >&2 || log "WARNING: part of the build failed; running what was built"
fi

STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$ROOT/bench/out/$STAMP-$MODE"
mkdir -p "$OUT/raw"
ln -sfn "$STAMP-$MODE" "$ROOT/bench/out/latest"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"

# ---- columns: name and the library preloaded for it -----------------------
declare -A PRELOAD=([glibc]="" [jemalloc]="$JEMALLOC" [mimalloc]="$MIMALLOC" [tcmalloc]="$TCMALLOC")
COLUMNS=(glibc)
for c in jemalloc mimalloc tcmalloc; do
    if [ -e "${PRELOAD[$c]}" ]; then COLUMNS+=("$c"); else log "no $c: column skipped"; fi
done
if [ -e "$BUILD/liboffheap.so" ]; then
    PRELOAD[liboffheap]="$BUILD/liboffheap.so"
    COLUMNS+=(liboffheap)
else
    log "no $BUILD/liboffheap.so yet: liboffheap column skipped"
fi
# Reference preloads, run beside the columns above in the same rounds.
HAVE_FLOOR=0; HAVE_SHIM=0
if [ -e "$BUILD/bench/libbench_floor.so" ]; then
    PRELOAD[floor]="$BUILD/bench/libbench_floor.so"; HAVE_FLOOR=1
else
    log "no $BUILD/bench/libbench_floor.so: floor column skipped"
fi
if [ -e "$BUILD/bench/libbench_shim.so" ] && [ -e "$JEMALLOC" ]; then
    PRELOAD[shim]="$BUILD/bench/libbench_shim.so"; HAVE_SHIM=1
else
    log "no $BUILD/bench/libbench_shim.so (or no jemalloc): shim column skipped"
fi
if [ -n "${PRELOAD[liboffheap]:-}" ]; then PRELOAD[liboffheap-armed]="${PRELOAD[liboffheap]}"; fi

# run COLUMN ROUND LOGNAME -- command...: one run with the column's preload;
# stdout goes to the raw log, RESULT lines also to results.tsv.
run() {
    local col=$1 round=$2 name=$3
    shift 4
    local pre=${PRELOAD[$col]:-}
    local logf="$OUT/raw/$name.log"
    echo "$(date +%H:%M:%S) $name $col round $round load $(cut -d' ' -f1 /proc/loadavg)" >> "$OUT/load.txt"
    {
        echo "### round $round column $col: LD_PRELOAD=$pre $*"
        local rc=0
        env BENCH_ALLOC="$col" LD_PRELOAD="$pre" "$@" 2>&1 || rc=$?
        if [ $rc != 0 ]; then
            echo "### FAILED: exit status $rc (round $round, column $col)"
            log "FAILED: $col $name, exit status $rc (see $logf)"
        fi
    } > "$OUT/raw/.one" || true
    cat "$OUT/raw/.one" >> "$logf"
    grep -v '^RESULT ' "$OUT/raw/.one" | grep -v '^###' | sed "s/^/  /" >&2 || true
    awk -v c="$col" -v r="$round" '$1 == "RESULT" { printf "%s\t%s\t%s\t%s\t%s\t%s\n", c, r, $2, $3, $4, $5 }' \
        "$OUT/raw/.one" >> "$RESULTS"
}

have() { [ -x "$BUILD/bench/$1" ]; }
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "mode: $MODE, rounds: $ROUNDS, parts: $PARTS"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "glibc: $(ldd --version | head -1)"
    echo "compiler: $(cc --version | head -1)"
    for p in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libcjson1 libjansson4 valgrind; do
        echo "$p: $(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo missing)"
    done
    if [ "$(git -C "$ROOT" rev-parse --show-toplevel 2>/dev/null)" = "$ROOT" ]; then
        echo "liboffheap: $(git -C "$ROOT" log -1 --format='%h %s')"
        echo "uncommitted changes to tracked files: $(git -C "$ROOT" status --porcelain --untracked-files=no | wc -l)"
    else
        echo "liboffheap: ${BENCH_REV:-unknown revision (not a git checkout; set BENCH_REV)}"
    fi
    echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"
log "machine: $(tr '\n' ';' < "$OUT/machine.txt")"

# ---- 3a. micro --------------------------------------------------------------
if want micro; then
    for round in $(seq 1 "$([ $MODE = quick ] && echo 1 || echo 2)"); do
        for col in "${COLUMNS[@]}"; do
            have micro_pool && run "$col" "$round" micro_pool -- "$BUILD/bench/micro_pool" "${QUICK[@]}"
            have micro_concurrent && run "$col" "$round" micro_concurrent -- "$BUILD/bench/micro_concurrent" "${QUICK[@]}"
            have micro_scope && run "$col" "$round" micro_scope -- "$BUILD/bench/micro_scope" "${QUICK[@]}"
        done
    done
fi

# ---- 3b. request loop ---------------------------------------------------------
if want request && have macro_request; then
    for round in $(seq 1 "$ROUNDS"); do
        for t in 1 2; do
            log "request loop: round $round/$ROUNDS, $t thread(s)"
            for col in "${COLUMNS[@]}"; do
                run "$col" "$round" request -- "$BUILD/bench/macro_request" --threads $t "${QUICK[@]}"
            done
            [ $HAVE_FLOOR = 1 ] &&
                run floor "$round" request -- "$BUILD/bench/macro_request" --threads $t "${QUICK[@]}"
            run bump "$round" request -- "$BUILD/bench/macro_request" --variant bump --threads $t "${QUICK[@]}"
            have macro_request_miheap &&
                run miheap "$round" request -- "$BUILD/bench/macro_request_miheap" --threads $t "${QUICK[@]}"
        done
    done
fi

# ---- 3c. cJSON / jansson --------------------------------------------------------
if want json && have macro_json; then
    # Round 1 runs cJSON for 100k requests (RSS must stay flat over 100k: the
    # report takes RSS from that round); later rounds 30k, to keep the part
    # short on a loaded machine (rates are per request either way).  jansson
    # is ~3x slower per document: 20k.  At most 5 rounds.
    JROUNDS=$((ROUNDS < 5 ? ROUNDS : 5))
    for round in $(seq 1 "$JROUNDS"); do
        log "json: round $round/$JROUNDS"
        CJ_N=(); JA_N=()
        if [ $MODE = full ]; then
            if [ "$round" = 1 ]; then CJ_N=(--requests 100000); else CJ_N=(--requests 30000); fi
            JA_N=(--requests 20000)
        fi
        for col in "${COLUMNS[@]}"; do
            run "$col" "$round" json -- "$BUILD/bench/macro_json" --lib cjson "${QUICK[@]}" "${CJ_N[@]}"
        done
        [ $HAVE_FLOOR = 1 ] &&
            run floor "$round" json -- "$BUILD/bench/macro_json" --lib cjson "${QUICK[@]}" "${CJ_N[@]}"
        run bump "$round" json -- "$BUILD/bench/macro_json" --lib cjson --variant bump "${QUICK[@]}" "${CJ_N[@]}"
        for col in "${COLUMNS[@]}"; do
            run "$col" "$round" json -- "$BUILD/bench/macro_json" --lib jansson "${QUICK[@]}" "${JA_N[@]}"
        done
        [ $HAVE_FLOOR = 1 ] &&
            run floor "$round" json -- "$BUILD/bench/macro_json" --lib jansson "${QUICK[@]}" "${JA_N[@]}"
    done
fi

# ---- 3d. outside scopes: liboffheap vs jemalloc alone --------------------------
# Columns: jemalloc alone; shim (the bare call level in front of jemalloc);
# liboffheap (a process that never opens a scope); liboffheap-armed (the same
# program after one empty scope: `stress --armed`).
STRESS_COLS=()
case " ${COLUMNS[*]} " in *" jemalloc "*) STRESS_COLS+=(jemalloc) ;; esac
[ $HAVE_SHIM = 1 ] && STRESS_COLS+=(shim)
case " ${COLUMNS[*]} " in *" liboffheap "*) STRESS_COLS+=(liboffheap liboffheap-armed) ;; esac
stress_args() { [ "$1" = liboffheap-armed ] && echo --armed; return 0; }
if want stress && have stress; then
    SROUNDS=$([ $MODE = quick ] && echo 1 || echo $((ROUNDS + 4)))
    for round in $(seq 1 "$SROUNDS"); do
        log "stress: round $round/$SROUNDS"
        for prog in larson xmalloc small; do
            for col in "${STRESS_COLS[@]}"; do
                # shellcheck disable=SC2046
                run "$col" "$round" stress -- "$BUILD/bench/stress" "$prog" $(stress_args "$col") "${QUICK[@]}"
            done
        done
    done
fi

# ---- 3e. callgrind: instructions per operation ---------------------------------
# Each program dumps one callgrind profile per case (client requests); the
# summary line of each dump divided by the case's op count is Ir/op.  For
# the request loop the totals line is taken instead: its workers warm up
# before the count is zeroed, and the summary line still includes the
# warm-up (checked against the per-function costs, which add up to totals).
if want callgrind && command -v valgrind >/dev/null; then
    CG="$OUT/callgrind"
    mkdir -p "$CG"
    : > "$OUT/callgrind.tsv"
    cgrun() {
        local col=$1 tag=$2
        shift 3
        local pre=${PRELOAD[$col]:-}
        log "callgrind: $col $tag"
        mkdir -p "$CG/$col-$tag"
        if ! env BENCH_ALLOC="$col" LD_PRELOAD="$pre" valgrind --tool=callgrind -q \
                --callgrind-out-file="$CG/$col-$tag/cg.out" "$@" > "$CG/$col-$tag/stdout" 2>&1; then
            log "callgrind run failed: $col $tag (see $CG/$col-$tag/stdout)"
        fi
        for f in "$CG/$col-$tag"/cg.out.*; do
            [ -e "$f" ] || continue
            awk -v c="$col" -v tag="$tag" '
                /^desc: Trigger: Client Request: / { sub(/^desc: Trigger: Client Request: /, ""); d = $0 }
                /^summary: / { if (s == "" || tag != "request") s = $2 }
                /^totals: / { if (s == "" || tag == "request") s = $2 }
                END { if (d != "") { split(d, a, " "); ops = a[3]; sub(/^ops=/, "", ops);
                                     printf "%s\t%s\t%s\t%s\t%s\n", c, a[1], a[2], ops, s } }' "$f" \
                >> "$OUT/callgrind.tsv"
        done
    }
    CGCOLS=(jemalloc)
    case " ${COLUMNS[*]} " in *" liboffheap "*) CGCOLS+=(liboffheap) ;; esac
    have micro_pool && cgrun glibc pool -- "$BUILD/bench/micro_pool"
    have micro_concurrent && cgrun glibc concurrent -- "$BUILD/bench/micro_concurrent"
    for col in glibc "${CGCOLS[@]}" mimalloc tcmalloc; do
        case " ${COLUMNS[*]} " in *" $col "*) ;; *) continue ;; esac
        have micro_scope && cgrun "$col" scope -- "$BUILD/bench/micro_scope"
        have macro_request && cgrun "$col" request -- "$BUILD/bench/macro_request"
        have macro_json && cgrun "$col" cjson -- "$BUILD/bench/macro_json" --lib cjson
    done
    if [ $HAVE_FLOOR = 1 ]; then
        have macro_request && cgrun floor request -- "$BUILD/bench/macro_request"
        have macro_json && cgrun floor cjson -- "$BUILD/bench/macro_json" --lib cjson
    fi
    have macro_request && cgrun bump request -- "$BUILD/bench/macro_request" --variant bump
    have macro_json && cgrun bump cjson -- "$BUILD/bench/macro_json" --lib cjson --variant bump
    [ $HAVE_SHIM = 1 ] && CGCOLS+=(shim)
    case " ${CGCOLS[*]} " in *" liboffheap "*) CGCOLS+=(liboffheap-armed) ;; esac
    for col in "${CGCOLS[@]}"; do
        if have stress; then
            for prog in larson xmalloc small; do
                # shellcheck disable=SC2046
                cgrun "$col" "stress-$prog" -- "$BUILD/bench/stress" "$prog" $(stress_args "$col")
            done
        fi
    done
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

# ---- 4. tables and plot -----------------------------------------------------------
{
    echo "# liboffheap benchmarks ($MODE, $ROUNDS rounds) — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    sed 's/^/    /' "$OUT/machine.txt"
    echo
    python3 "$ROOT/bench/report.py" "$OUT"
} | tee "$OUT/tables.txt"

if [ -s "$OUT/requests.dat" ] && command -v gnuplot >/dev/null; then
    gnuplot -e "datafile='$OUT/requests.dat'; outfile='$OUT/requests.png'; subtitle='$MODE run $STAMP, median of $ROUNDS interleaved runs, $(nproc) cores'" \
        "$ROOT/bench/plot.gp" && log "plot: $OUT/requests.png"
    # Only a complete full run replaces the committed plot (not --only parts).
    if [ $MODE = full ] && [ "$PARTS" = "micro request json stress callgrind" ] && [ -s "$OUT/requests.png" ]; then
        cp "$OUT/requests.png" "$ROOT/bench/requests.png"
    fi
fi
log "raw outputs in $OUT"
