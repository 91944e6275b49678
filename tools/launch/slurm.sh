#!/bin/sh
# tools/launch/slurm.sh [options] — make reproduce's runs as Slurm job arrays
# (`make reproduce LAUNCHER=slurm`).  For each stage of `probador plan --all-stale`
# (fine-tunings come a stage after their source) one array job whose task N runs
# line N of that stage's plan, each stage after the previous one succeeded
# (--dependency=afterok), then one job that renders the reports.  The plan's
# lines are self-contained (absolute paths; --if-stale makes a finished run a
# no-op, --resume continues an interrupted one), so the repository and the
# results folder must sit on a file system every node sees at the same path.
# Resubmitting after a failure reruns only what is still stale.
#
#   --profile full|quick   which results (default full: reports/results)
#   --results DIR          another results root (the reports then go to DIR/reports)
#   --partition P          Slurm partition (default: the cluster's default)
#   --time T               time limit per run (default 4:00:00)
#   --cpus-per-task C      cores per run (default 2)
#   --max-parallel K       at most K runs of a stage at once (%K; default 8)
#   --wait                 return when the report job has finished (sbatch --wait)
#
# Prints the job ids; logs go to build/launch/slurm-JOB_TASK.out.
set -eu
profile=full root= partition= time=4:00:00 cpus=2 max=8 wait=
while [ $# -gt 0 ]; do
    case $1 in
    --profile) profile=$2; shift 2 ;;
    --results) root=$2; shift 2 ;;
    --partition) partition=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --cpus-per-task) cpus=$2; shift 2 ;;
    --max-parallel) max=$2; shift 2 ;;
    --wait) wait=1; shift ;;
    *) echo "tools/launch/slurm.sh: error: unknown option '$1'; see the comment at the top of the script" >&2
       exit 2 ;;
    esac
done
. "$(dirname "$0")/launch_common.sh"
launch_setup slurm.sh sbatch "install Slurm's client (Debian: slurm-client), or run on the cluster's login node"
mkdir -p build/launch
part=${partition:+--partition=$partition}
dep=
for s in $(seq 0 $((stages - 1))); do
    plan=$repo/build/launch/plan-$profile-$s.txt
    n=$(plan_stage "$s" "$plan")
    if [ "$n" -eq 0 ]; then
        echo "slurm: stage $s: nothing to run" >&2
        continue
    fi
    # shellcheck disable=SC2086
    job=$(sbatch --parsable --job-name="probador-$profile-$s" $part --time="$time" --cpus-per-task="$cpus" \
        --array="1-$n%$max" ${dep:+--dependency=afterok:$dep} --output="$repo/build/launch/slurm-%A_%a.out" \
        --wrap "sed -n \"\${SLURM_ARRAY_TASK_ID}p\" '$plan' | sh")
    echo "slurm: stage $s: $n run(s), array job $job" >&2
    echo "$job"
    dep=$job
done
# shellcheck disable=SC2086
job=$(sbatch --parsable --job-name="probador-$profile-report" $part --time=1:00:00 --cpus-per-task=1 \
    ${dep:+--dependency=afterok:$dep} ${wait:+--wait} --output="$repo/build/launch/slurm-%j.out" \
    --wrap "cd '$repo' && $report")
echo "slurm: reports: job $job (after the runs)" >&2
echo "$job"
