#!/bin/sh
# tools/scripts/mpi_scaling.sh OUT.csv — `make bench-mpi`: one run over several
# processes (models/dist.h) against one process on this machine.
#
# Trains each headline model for one epoch of 12,800 images (100 steps of 128; the
# validation and test slices small) three ways: one process with 1 thread, one process with 2 threads,
# and 2 MPI processes with 1 thread each; records the training images per second
# (timing.csv: the epoch without evaluation) and the machine's other load, and
# checks that the three runs wrote the same weights (summary.csv's weights_hash).
# The traffic per step a process sends and receives is computed from the model:
# gradients as one int8 exponent and one int64 per parameter (two all-reduces), batch
# norm's block partials (2 doubles per block and channel, gathered forward and
# backward) and the loss's (2 doubles per block).  Run it on an otherwise idle
# machine: about 4 minutes.
set -eu
out=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mpirun="mpirun --allow-run-as-root --mca mpi_yield_when_idle 1"
settings="1x1 1x2 2x1" # processes x threads each
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)

echo "model,processes,threads_per_process,images,seconds,images_per_second,ms_per_step,other_cores,weights_hash,gradient_bytes_per_step,statistics_bytes_per_step,commit,cpu" > "$work/out.csv"
for model in cnn resnet20; do
    for s in $settings; do
        procs=${s%x*} threads=${s#*x}
        set -- run "experiments/$model.yaml" --seed 0 --results "$work/$s" training.epochs=1 threads="$threads" \
            data.train_images=12800 data.validation_images=500 data.test_images=1000
        if [ "$procs" = 1 ]; then
            build/probador "$@" 2>"$work/log"
        else
            $mpirun -np "$procs" -x OMP_NUM_THREADS="$threads" build/mpi/probador "$@" 2>"$work/log"
        fi || { cat "$work/log" >&2; exit 1; }
        dir="$work/$s/$model/seed0"
        params=$(awk -F': ' '/^parameters:/ { print $2 }' "$dir/environment.txt")
        channels=$(awk -F': ' '/^batch_norm_channels:/ { print $2 }' "$dir/environment.txt")
        hash=$(awk -F, 'NR == 2 { print $12 }' "$dir/summary.csv")
        # epoch,seconds,images_per_second,other_cores
        awk -F, -v m="$model" -v p="$procs" -v t="$threads" -v h="$hash" -v np="$params" -v ch="$channels" \
            -v c="$commit" -v cpu="$cpu" 'NR == 2 {
            blocks = 8; steps = 100
            printf "%s,%s,%s,12800,%s,%s,%.1f,%s,%s,%d,%d,%s,%s\n", m, p, t, $2, $3, 1000 * $2 / steps, $4, h,
                   9 * np, 2 * blocks * ch * 2 * 8 + blocks * 2 * 8, c, cpu }' "$dir/timing.csv" >> "$work/out.csv"
        echo "mpi_scaling: $model, $procs process(es) x $threads thread(s): done" >&2
    done
    hashes=$(awk -F, -v m="$model" '$1 == m { print $9 }' "$work/out.csv" | sort -u | wc -l)
    [ "$hashes" = 1 ] || { echo "mpi_scaling: error: $model's runs differ in their weights" >&2; exit 1; }
done
mv "$work/out.csv" "$out"
echo "mpi_scaling: $out (the weights of every model identical across the settings)" >&2
