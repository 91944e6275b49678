#!/bin/sh
# tools/verify.sh PROBADOR COMMITTED SCRATCH EXPERIMENT.yaml... — `make verify`.
#
# Reruns every experiment's quick profile from scratch into SCRATCH and compares
# each deterministic result file with the committed one in COMMITTED, byte for
# byte.  Compared: every file of every run folder except the three that hold
# wall-clock facts (timing.csv, environment.txt) or are not committed
# (checkpoint.bin; the weights are compared through summary.csv's weights_hash).
# The top-level summary.csv is skipped too: it holds training times.
set -eu
probador=$1 committed=$2 scratch=$3
shift 3

if [ ! -d "$committed" ]; then
    echo "$committed: error: no committed quick results to compare with; run" \
         "'make reproduce PROFILE=quick' and commit $committed" >&2
    exit 1
fi
rm -rf "$scratch"
mkdir -p "$scratch"
for e in "$@"; do
    "$probador" run "$e" --all --quick --results "$scratch"
done

compared=0 differ=0
for f in $(cd "$committed" && find . -mindepth 2 -type f \
        ! -name timing.csv ! -name environment.txt ! -name checkpoint.bin ! -name '*.tmp*' | sort); do
    if [ ! -f "$scratch/$f" ]; then
        echo "verify: $committed/$f: error: the rerun did not produce this file" >&2
        differ=$((differ + 1))
    elif ! cmp -s "$committed/$f" "$scratch/$f"; then
        echo "verify: $committed/$f: error: differs from the rerun ($scratch/$f):" >&2
        diff "$committed/$f" "$scratch/$f" | head -5 >&2 || true
        differ=$((differ + 1))
    fi
    compared=$((compared + 1))
done
for f in $(cd "$scratch" && find . -mindepth 2 -name summary.csv | sort); do
    [ -f "$committed/$f" ] || { echo "verify: $f: error: a run the committed results lack;" \
        "rerun 'make reproduce PROFILE=quick' and commit $committed" >&2; differ=$((differ + 1)); }
done
if [ "$differ" -ne 0 ]; then
    echo "verify: FAILED: $differ of $compared files differ from the committed quick results" >&2
    exit 1
fi
echo "verify: OK: $compared result files byte-identical to $committed"
