#!/bin/sh
# tools/launch/render_reports.sh ROOT — the experiment reports and the index of a
# results root other than the profiles' (the launchers' --results), into
# ROOT/reports; `make report` does this, with the kernels report, for the
# committed roots.  An experiment without results is skipped.
set -eu
root=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
mkdir -p "$root/reports"
for e in experiments/*.yaml; do
    [ -d "$root/$(basename "$e" .yaml)" ] || continue
    build/probador report experiment "$e" --results "$root" --out-dir "$root/reports"
done
build/probador report index --results "$root" --out-dir "$root/reports"
