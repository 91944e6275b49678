#!/bin/sh
# tools/scripts/test_cluster.sh — `make test-cluster`: the launchers on real engines.
# Starts a single-node Slurm cluster on this machine (tools/launch/local_slurm.sh),
# runs the quick profile from scratch through the Slurm launcher, then through GNU
# parallel with a shared results folder, then through GNU parallel on two
# pretended machines that do not share it (--return: rsync carries the runs'
# inputs out and their folders back; tools/scripts/pretend_ssh.sh), and compares
# every result file of each, byte for byte, with the committed quick results
# (make verify's comparison) and the deterministic columns of every summary.csv
# row with the committed ones; then trains the quick cnn
# and resnet20 runs data-parallel under mpirun (2 and 3 processes, one thread
# each) and compares them the same way.  Installs what it needs (munge, slurm-wlm,
# parallel, rsync, Open MPI) like make deps; needs root.  About 20 minutes on 2 cores.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
sh tools/scripts/deps.sh munge slurm-wlm parallel rsync
make --no-print-directory build/probador
work=$repo/build/cluster
sh tools/launch/local_slurm.sh stop "$work/slurm" 2>/dev/null || true
rm -rf "$work"
mkdir -p "$work"
trap 'sh tools/launch/local_slurm.sh stop "$work/slurm"' EXIT INT TERM
conf=$(sh tools/launch/local_slurm.sh start "$work/slurm")
export "$conf"
experiments=$(ls experiments/*.yaml)
# ROOT's summary.csv: a row for every committed quick run, the same but for the
# columns of time and commit (train_seconds, images/s, commit)
same_rows() {
    cut -d, -f1-9,12 reports/results-quick/summary.csv | sort > "$work/rows.want"
    cut -d, -f1-9,12 "$1/summary.csv" | sort > "$work/rows.got"
    cmp -s "$work/rows.want" "$work/rows.got" || {
        echo "test-cluster: error: $1/summary.csv differs from the committed rows:" >&2
        diff "$work/rows.want" "$work/rows.got" | head -5 >&2
        exit 1
    }
}

start=$(date +%s)
echo "test-cluster: the quick profile through Slurm job arrays ($conf)" >&2
sh tools/launch/slurm.sh --profile quick --results "$work/slurm-results" --cpus-per-task 1 --max-parallel 2 --wait
# shellcheck disable=SC2086
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador reports/results-quick "$work/slurm-results" $experiments
[ -f "$work/slurm-results/reports/README.md" ] || {
    echo "test-cluster: error: the report job wrote no $work/slurm-results/reports/README.md" >&2; exit 1; }
same_rows "$work/slurm-results"
echo "test-cluster: Slurm: $(( $(date +%s) - start )) s" >&2

start=$(date +%s)
echo "test-cluster: the quick profile through GNU parallel, 2 jobs at once" >&2
sh tools/launch/parallel.sh --profile quick --results "$work/parallel-results" --jobs 2 --joblog "$work/parallel"
# shellcheck disable=SC2086
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador reports/results-quick "$work/parallel-results" $experiments
same_rows "$work/parallel-results"
echo "test-cluster: GNU parallel: $(( $(date +%s) - start )) s" >&2

start=$(date +%s)
echo "test-cluster: the quick profile through GNU parallel --return, on two pretended machines" >&2
mkdir -p "$work/return-results"
printf '1/machine1\n1/machine2\n' > "$work/machines.txt"
# without SHELL, as in CI: the pretended ssh must give the remote session one, as sshd does
PRETEND_RESULTS=$work/return-results PRETEND_MACHINES=$work/machines \
    env -u SHELL sh tools/launch/parallel.sh --profile quick --results "$work/return-results" --joblog "$work/return" \
    --return --ssh "$repo/tools/scripts/pretend_ssh.sh" --sshloginfile "$work/machines.txt"
# every run ran on a pretended machine: its folder there, and here only through rsync
for m in machine1 machine2; do
    [ -n "$(find "$work/machines/$m/results" -name summary.csv -path '*/seed*')" ] || {
        echo "test-cluster: error: no run was made on $m" >&2; exit 1; }
done
# shellcheck disable=SC2086
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador reports/results-quick "$work/return-results" $experiments
same_rows "$work/return-results"
rm -rf "$work/machines"
echo "test-cluster: GNU parallel --return: $(( $(date +%s) - start )) s" >&2

start=$(date +%s)
make --no-print-directory mpi
mkdir -p "$work/mpi-committed"
cp -r reports/results-quick/cnn reports/results-quick/resnet20 "$work/mpi-committed/"
# as root (CI), Open MPI wants to be told; more processes than cores, and yielding
# while they wait, so that 3 processes share 2 cores without spinning
mpirun="mpirun --allow-run-as-root --oversubscribe --mca mpi_yield_when_idle 1 -x OMP_NUM_THREADS=1"
for run in "2 cnn" "3 resnet20"; do
    set -- $run
    echo "test-cluster: the quick $2 runs over $1 MPI processes" >&2
    $mpirun -np "$1" build/mpi/probador run "experiments/$2.yaml" --all --quick --results "$work/mpi-results"
done
VERIFY_RERUN=0 sh tools/scripts/verify.sh build/probador "$work/mpi-committed" "$work/mpi-results" \
    experiments/cnn.yaml experiments/resnet20.yaml
echo "test-cluster: MPI: $(( $(date +%s) - start )) s" >&2
echo "test-cluster: OK: both launchers (GNU parallel in both modes) and MPI data-parallel training reproduced the committed quick results byte for byte" >&2
