#!/bin/sh
# tools/scripts/shared_cores.sh PROBADOR OUT.csv — `make bench-shared`: what a
# training step costs when another process holds a core, and what OpenMP's wait
# policy, the thread count and probador's thread governor do about it
# (docs/PERFORMANCE.md, "Sharing the cores").
#
# The other process is a shell loop that spins on one core.  Part `step` times
# training steps (probador bench --train, Winograd, both models) at 1 and 2
# threads on the idle machine and beside that loop, under libgomp's default wait
# policy (spin about 300,000 times, then sleep), OMP_WAIT_POLICY=passive (sleep
# at once), OMP_WAIT_POLICY=active (spin only) and GOMP_SPINCOUNT=10000.  Part
# `train` trains resnet20 for one epoch of 12,800 images beside the loop with the
# thread governor on and off (PROBADOR_ADAPT_THREADS), 2 threads asked for, and
# checks that both runs wrote the same bits.  Run it on an otherwise idle
# machine: it takes about 6 minutes.
set -eu
probador=$1 out=$2
work=$(mktemp -d)
busy_pid=
stop_busy() { [ -z "$busy_pid" ] || { kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; }; busy_pid=; }
trap 'stop_busy; rm -rf "$work"' EXIT INT TERM
start_busy() { sh -c 'while :; do :; done' & busy_pid=$!; }

echo "part,model,setting,busy_processes,threads,ms_per_step,seconds,images_per_second,other_cores" > "$work/out.csv"

for busy in 0 1; do
    [ "$busy" = 0 ] || start_busy
    for setting in default passive active spin10k; do
        case $setting in
        default) set -- ;;
        passive) set -- OMP_WAIT_POLICY=passive ;;
        active) set -- OMP_WAIT_POLICY=active ;;
        spin10k) set -- GOMP_SPINCOUNT=10000 ;;
        esac
        env "$@" "$probador" bench --train --kernels winograd --peers none --quiet-wait 0 --reps 10 \
            --out "$work/step.csv" >/dev/null 2>&1
        # name,iterations,real_time,cpu_time,time_unit,model,kernel,phase,threads,batch,median_ms,...,images_per_second,...,other_cores
        awk -F, -v s="$setting" -v b="$busy" 'NR > 1 && $8 == "train" {
            printf "step,%s,%s,%s,%s,%s,,%s,%s\n", $6, s, b, $9, $11, $14, $17 }' "$work/step.csv" >> "$work/out.csv"
        echo "shared_cores: steps, $setting, $busy busy process(es): done" >&2
    done
    stop_busy
done

start_busy
for governor in 1 0; do
    PROBADOR_ADAPT_THREADS=$governor "$probador" run experiments/resnet20.yaml --results "$work/runs$governor" \
        training.epochs=1 data.train_images=12800 data.test_images=1000 threads=2 >/dev/null 2>&1
    # epoch,seconds,images_per_second,other_cores
    awk -F, -v g="$governor" 'NR == 2 {
        printf "train,resnet20,%s,1,2,,%s,%s,%s\n", g == 1 ? "governor" : "fixed", $2, $3, $4 }' \
        "$work/runs$governor/resnet20/seed0/timing.csv" >> "$work/out.csv"
    echo "shared_cores: training, governor $governor: done" >&2
done
stop_busy
cmp "$work/runs1/resnet20/seed0/checkpoint.bin" "$work/runs0/resnet20/seed0/checkpoint.bin" || {
    echo "shared_cores: error: the governed and the fixed run wrote different weights" >&2
    exit 1
}
mv "$work/out.csv" "$out"
echo "shared_cores: wrote $out (same weights with and without the governor)" >&2
