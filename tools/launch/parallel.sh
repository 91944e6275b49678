#!/bin/sh
# tools/launch/parallel.sh [options] — make reproduce's runs through GNU parallel
# (Debian `parallel`), on this machine's cores or on several machines over ssh.
# For each stage of `probador plan --all-stale` (fine-tunings come a stage after
# their source) parallel runs the stage's lines, then the reports are rendered.
# The plan's lines are self-contained (absolute paths; --if-stale makes a
# finished run a no-op, --resume continues an interrupted one), so remote
# machines need the repository, built, at the same path.  The results folder is
# either shared with this one (NFS, say: every run writes its own folder and
# updates summary.csv under a lock that holds across NFS clients) or, with
# --return, each machine's own: rsync sends a run the checkpoint it starts from
# (parallel's --transferfile) and brings its folder back (--return), and
# `probador record` writes the rows of the folders that came back into this
# machine's summary.csv.
#
#   --profile full|quick    which results (default full: reports/results)
#   --results DIR           another results root (the reports then go to DIR/reports)
#   --jobs N                runs at once per machine (default 1; on 2 cores a second run
#                           gets a core of its own: each run's thread governor sees the other)
#   --sshloginfile FILE     the machines, parallel's format (":" is this one)
#   --joblog DIR            one joblog per stage, DIR/stage-S.log (default build/launch)
#   --resume-failed         rerun only the lines the joblogs record as failed or not run
#   --return                the results folder is not shared: copy inputs out and run
#                           folders back over rsync (an interrupted run resumes only
#                           on the machine that holds its checkpoint)
#   --ssh CMD               the ssh command for parallel and rsync (default ssh)
#
# Exit status: parallel's (the number of failed runs, up to 101) or 0.
set -eu
profile=full root= jobs=1 logins= joblog= resume= back= ssh=
while [ $# -gt 0 ]; do
    case $1 in
    --profile) profile=$2; shift 2 ;;
    --results) root=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --sshloginfile) logins=$2; shift 2 ;;
    --joblog) joblog=$2; shift 2 ;;
    --resume-failed) resume=--resume-failed; shift ;;
    --return) back=1; shift ;;
    --ssh) ssh=$2; shift 2 ;;
    *) echo "tools/launch/parallel.sh: error: unknown option '$1'; see the comment at the top of the script" >&2
       exit 2 ;;
    esac
done
[ -z "$joblog" ] || joblog=$(mkdir -p "$joblog" && cd "$joblog" && pwd) # before launch_setup changes folder
. "$(dirname "$0")/launch_common.sh"
launch_setup parallel.sh parallel "run as root: apt-get install parallel"
[ -z "$back" ] || command -v rsync >/dev/null || {
    echo "tools/launch/parallel.sh: error: --return copies with rsync, and there is none here (every machine" \
         "needs it); run as root: apt-get install rsync" >&2; exit 1; }
joblog=${joblog:-$repo/build/launch}
mkdir -p "$joblog"
for s in $(seq 0 $((stages - 1))); do
    plan=$joblog/plan-$profile-$s.txt
    # with --resume-failed the joblog's own line numbers must still hold: keep the plan it ran
    [ -n "$resume" ] && [ -f "$plan" ] || plan_stage "$s" "$plan" ${back:+--transfer} >/dev/null
    echo "parallel: stage $s: $(wc -l < "$plan") run(s)" >&2
    set -- --jobs "$jobs" --joblog "$joblog/stage-$s.log" $resume --halt never
    [ -z "$logins" ] || set -- "$@" --sshloginfile "$logins"
    [ -z "$ssh" ] || set -- "$@" --ssh "$ssh"
    if [ -z "$back" ]; then
        parallel "$@" < "$plan"
    else
        # lines FOLDER<tab>INPUT<tab>COMMAND (probador plan --transfer); --delete: a run
        # folder comes back whole, as a local run replaces it whole
        status=0
        PARALLEL_RSYNC_OPTS="-rlDzR --delete" parallel "$@" --colsep '\t' --transferfile '{2}' --return '{1}' \
            '{=3 uq()=}' < "$plan" || status=$?
        # the rows of the runs that came back; parallel counts a job by its command alone,
        # so a folder that rsync did not bring back is found here
        cut -f1 "$plan" > "$joblog/folders-$s.txt"
        missing=0
        while read -r dir; do
            if [ -f "$dir/summary.csv" ]; then
                "$probador" record "$dir"
            else
                missing=$((missing + 1))
                echo "$dir: error: no finished run came back here (it failed on its machine, or rsync did not bring it back)" >&2
            fi
        done < "$joblog/folders-$s.txt"
        [ "$status" -eq 0 ] || exit "$status"
        [ "$missing" -eq 0 ] || {
            echo "tools/launch/parallel.sh: error: parallel reported the $(wc -l < "$plan") run(s) of stage $s" \
                 "done, but $missing folder(s) did not come back (listed above); check on each machine of" \
                 "the sshloginfile that \`ssh HOST 'echo \$SHELL; rsync --version'\` prints a shell and rsync," \
                 "then run the same command again (a machine that holds a finished run sends it back" \
                 "without running it)" >&2
            exit 1
        }
    fi
done
eval "$report"
