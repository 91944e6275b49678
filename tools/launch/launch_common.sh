# tools/launch/launch_common.sh — sourced by the launchers (parallel.sh, slurm.sh):
# what both do before they hand the plan to their engine.
#
# launch_setup NAME ENGINE HINT: from $profile (full or quick) and $root (the
# --results given, or empty) sets results (the results root), quick (--quick or
# empty), report (the command that renders the reports afterwards), repo and
# probador, and changes to the repository; stops with an error when the profile is
# unknown, ENGINE is not installed (HINT says how to get it) or probador is not
# built.  plan_stage S FILE [OPTION] writes stage S of the plan of the stale runs
# to FILE (OPTION: one more of probador plan's) and prints its number of lines.
launch_setup() {
    name=$1 engine=$2 hint=$3
    case $profile in
    full) results=reports/results quick= ;;
    quick) results=reports/results-quick quick=--quick ;;
    *) echo "tools/launch/$name: error: --profile '$profile': expected full or quick" >&2; exit 2 ;;
    esac
    here=$(cd "$(dirname "$0")" && pwd)
    if [ -n "$root" ]; then
        mkdir -p "$root"
        results=$(cd "$root" && pwd)
        report="sh '$here/render_reports.sh' '$results'"
    else
        report="make --no-print-directory report PROFILE=$profile"
    fi
    command -v "$engine" >/dev/null || { echo "tools/launch/$name: error: no $engine here; $hint" >&2; exit 1; }
    repo=$(cd "$here/../.." && pwd)
    cd "$repo"
    probador=$repo/build/probador
    [ -x "$probador" ] || { echo "tools/launch/$name: error: $probador is not built; run make first" >&2; exit 1; }
    stages=$("$probador" plan experiments/*.yaml --all-stale --results "$results" $quick --stages)
}

plan_stage() {
    # shellcheck disable=SC2086
    "$probador" plan experiments/*.yaml --all-stale --results "$results" $quick --stage "$1" ${3:-} > "$2" 2>/dev/null
    wc -l < "$2"
}
