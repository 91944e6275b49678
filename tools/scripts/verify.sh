#!/bin/sh
# tools/scripts/verify.sh PROBADOR COMMITTED SCRATCH EXPERIMENT.yaml... — `make verify`.
#
# Reruns every experiment's quick profile from scratch into SCRATCH and compares
# each deterministic result file with the committed one in COMMITTED, byte for
# byte.  Compared: every file of every run folder except the three that hold
# wall-clock facts (timing.csv, environment.txt) or are not committed
# (checkpoint.bin; the weights are compared through summary.csv's weights_hash).
# The top-level summary.csv is skipped too: it holds training times.  A run's
# config.yaml is compared without its description and its comments: prose that
# rewording must not turn into a failure (it decides nothing; see README,
# staleness), and the list of choices a key's comment gives, which grows when
# a kernel or a model is added to its registry.
set -eu
probador=$1 committed=$2 scratch=$3
shift 3

if [ ! -d "$committed" ]; then
    echo "$committed: error: no committed quick results to compare with; run" \
         "'make reproduce PROFILE=quick' and commit $committed" >&2
    exit 1
fi
# VERIFY_RERUN=0: SCRATCH already holds a rerun (make test-cluster's, through a
# launcher): compare only
if [ "${VERIFY_RERUN:-1}" != 0 ]; then
    rm -rf "$scratch"
    mkdir -p "$scratch"
    for e in "$@"; do
        "$probador" run "$e" --all --quick --results "$scratch"
    done
fi

# FILE without the indented block of its top-level `description:` key, and
# without comments (config_write puts each after two spaces and a '#').
without_prose() {
    awk '/^description:/ { skip = 1; next } skip && /^  / { next }
         { skip = 0; sub(/  +# .*$/, ""); if ($0 !~ /^#/) print }' "$1"
}

# Whether two result files agree, byte for byte (config.yaml: less the prose and comments).
same_result() {
    case $1 in
    */config.yaml)
        without_prose "$1" >"$scratch/.a" && without_prose "$2" >"$scratch/.b" &&
            cmp -s "$scratch/.a" "$scratch/.b" ;;
    *) cmp -s "$1" "$2" ;;
    esac
}

compared=0 differ=0
for f in $(cd "$committed" && find . -mindepth 2 -type f \
        ! -name timing.csv ! -name environment.txt ! -name checkpoint.bin ! -name '*.tmp*' | sort); do
    if [ ! -f "$scratch/$f" ]; then
        echo "verify: $committed/$f: error: the rerun did not produce this file" >&2
        differ=$((differ + 1))
    elif ! same_result "$committed/$f" "$scratch/$f"; then
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
    # The usual cause: a build for another target (ARCH=native, another compiler).
    env_of() { find "$1" -name environment.txt | sort | head -n 1; }
    old=$(env_of "$committed") new=$(env_of "$scratch")
    if [ -n "$old" ] && [ -n "$new" ]; then
        echo "verify: note: committed results built with: $(grep '^cflags:' "$old" | cut -d' ' -f2-)" >&2
        echo "verify: note: this rerun built with:         $(grep '^cflags:' "$new" | cut -d' ' -f2-)" >&2
    fi
    exit 1
fi
echo "verify: OK: $compared result files byte-identical to $committed"
