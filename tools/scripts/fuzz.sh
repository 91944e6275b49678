#!/bin/sh
# Run the libFuzzer harnesses and summarise them; called by make fuzz (docs/FUZZING.md).
#   sh tools/scripts/fuzz.sh run DIR NAME SECONDS TIMEOUT RSS_MB
#       fuzzes DIR/fuzz_NAME for SECONDS in fork mode (a crash, timeout or OOM is
#       saved and fuzzing goes on), working corpus DIR/corpus/NAME seeded from
#       tests/fuzz/corpus/NAME, findings in DIR/crashes/NAME/, log DIR/logs/NAME.log;
#       then replays up to MAX_REPLAY findings (spread over their sizes, the
#       smallest always) to group them by crash site into
#       DIR/crashes/NAME/distinct.txt.
#   sh tools/scripts/fuzz.sh summary DIR NAME...
#       one line per harness: executions, exec/s, coverage, findings.
set -eu
MAX_REPLAY=${MAX_REPLAY:-100}

# "KIND at FUNCTION FILE:LINE" for one finding, from its replay's sanitizer report
signature() {
    "$1" "$2" 2>&1 | awk -v root="$(pwd)/" '
        function local(s) { i = index(s, root); return i ? substr(s, 1, i - 1) substr(s, i + length(root)) : s }
        /ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)/ && !kind {
            kind = $0; sub(/.*Sanitizer: /, "", kind); sub(/.*libFuzzer: /, "", kind); sub(/ on .*/, "", kind) }
        /runtime error:/ && !kind { kind = $0; sub(/.*runtime error: /, "", kind); sub(/ (0x|[0-9-]).*/, "", kind)
            site = local($1); sub(/:$/, "", site) }
        /broken contract:/ && !kind { kind = $0; sub(/.*: fuzz: /, "", kind) }
        /^ *#[0-9]+ / && !site && / in / && !/ in (__asan|__interceptor|__sanitizer|__ubsan|fuzz_check|abort|raise|__GI_|__libc)/ {
            site = $0; sub(/.* in /, "", site); site = local(site) }
        END { if (!kind) kind = "no crash on replay"; printf "%s at %s\n", kind, site ? site : "?" }'
}

run() {
    dir=$1 name=$2 seconds=$3 timeout=$4 rss=$5
    bin=$dir/fuzz_$name
    mkdir -p "$dir/corpus/$name" "$dir/crashes/$name" "$dir/logs"
    log=$dir/logs/$name.log
    echo "fuzz $name: ${seconds} s, log $log"
    # fork mode exits non-zero when it saved a finding; the summary reports it
    "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss" -malloc_limit_mb="$rss" \
        -artifact_prefix="$dir/crashes/$name/" "$dir/corpus/$name" "tests/fuzz/corpus/$name" >"$log" 2>&1 || true
    : >"$dir/crashes/$name/distinct.txt.tmp"
    found=$(ls "$dir/crashes/$name" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
    every=$(((found + MAX_REPLAY - 1) / MAX_REPLAY))
    for f in $(ls -rS "$dir/crashes/$name" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | awk -v k="$every" 'NR % k == 1 || k <= 1'); do
        printf '%s\t%s\n' "$(UBSAN_OPTIONS=print_stacktrace=1 signature "$bin" "$dir/crashes/$name/$f")" "$f" >>"$dir/crashes/$name/distinct.txt.tmp"
    done
    # one line per crash site: the smallest input first (ls -rS), and how many replayed inputs hit it
    sort -s -t "$(printf '\t')" -k1,1 "$dir/crashes/$name/distinct.txt.tmp" |
        awk -F '\t' '$1 != last { if (last != "") printf "%s\t%d\t%s\n", last, n, first; last = $1; first = $2; n = 0 }
                     { n++ } END { if (last != "") printf "%s\t%d\t%s\n", last, n, first }' >"$dir/crashes/$name/distinct.txt"
    rm -f "$dir/crashes/$name/distinct.txt.tmp"
}

summary() {
    dir=$1
    shift
    printf '\n%-11s %12s %8s %6s %6s %8s  %s\n' harness executions exec/s cov ft findings "distinct crash sites (replayed; inputs; smallest input)"
    for name in "$@"; do
        log=$dir/logs/$name.log
        stats=$(grep -E '^#[0-9]+: cov:' "$log" 2>/dev/null | tail -n 1 || true)
        secs=$(echo "$stats" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
        execs=$(echo "$stats" | sed -n 's/^#\([0-9]*\):.*/\1/p')
        cov=$(echo "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
        ft=$(echo "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
        found=$(ls "$dir/crashes/$name" 2>/dev/null | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
        rate=$([ -n "$execs" ] && [ "${secs:-0}" -gt 0 ] && echo $((execs / secs)) || echo "?")
        printf '%-11s %12s %8s %6s %6s %8s\n' "$name" "${execs:-?}" "$rate" "${cov:-?}" "${ft:-?}" "$found"
        [ -s "$dir/crashes/$name/distinct.txt" ] &&
            awk -F '\t' -v d="$dir/crashes/$name/" '{ printf "            - %s; %d inputs; %s%s\n", $1, $2, d, $3 }' \
                "$dir/crashes/$name/distinct.txt"
    done
    echo
    echo "A finding replays with: $dir/fuzz_NAME FILE   (save it under tests/fuzz/regressions/NAME/)"
}

case "${1:-}" in
run) shift; run "$@" ;;
summary) shift; summary "$@" ;;
*) echo "usage: sh tools/scripts/fuzz.sh run DIR NAME SECONDS TIMEOUT RSS_MB | summary DIR NAME..." >&2; exit 2 ;;
esac
