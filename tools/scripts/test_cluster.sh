#!/bin/sh
# tools/scripts/test_cluster.sh — `make test-cluster`: the launchers on real engines.
# Starts a single-node Slurm cluster on this machine (tools/launch/local_slurm.sh),
# runs the quick profile from scratch through the Slurm launcher, then through GNU
# parallel, and compares every result file of each, byte for byte, with the
# committed quick results (make verify's comparison).  Installs what it needs
# (munge, slurm-wlm, parallel) like make deps; needs root.  About 12 minutes on
# 2 cores.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
sh tools/scripts/deps.sh munge slurm-wlm parallel
make --no-print-directory build/probador
work=$repo/build/cluster
sh tools/launch/local_slurm.sh stop "$work/slurm" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
trap 'sh tools/launch/local_slurm.sh stop "$work/slurm"' EXIT INT TERM
conf=$(sh tools/launch/local_slurm.sh start "$work/slurm")
export "$conf"
experiments=$(ls experiments/*.yaml)

start=$(date +%s)
echo "test-cluster: the quick profile through Slurm job arrays ($conf)" >&2
sh tools/launch/slurm.sh --profile quick --results "$work/slurm-results" --cpus-per-task 1 --max-parallel 2 --wait
# shellcheck disable=SC2086
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador reports/results-quick "$work/slurm-results" $experiments
[ -f "$work/slurm-results/reports/README.md" ] || {
    echo "test-cluster: error: the report job wrote no $work/slurm-results/reports/README.md" >&2; exit 1; }
echo "test-cluster: Slurm: $(( $(date +%s) - start )) s" >&2

start=$(date +%s)
echo "test-cluster: the quick profile through GNU parallel, 2 jobs at once" >&2
sh tools/launch/parallel.sh --profile quick --results "$work/parallel-results" --jobs 2 --joblog "$work/parallel"
# shellcheck disable=SC2086
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador reports/results-quick "$work/parallel-results" $experiments
echo "test-cluster: GNU parallel: $(( $(date +%s) - start )) s" >&2
echo "test-cluster: OK: both launchers reproduced the committed quick results byte for byte" >&2
