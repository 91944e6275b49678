#!/bin/sh
# Run every cmocka test binary given; fail if any fails, but run them all.
# Each binary prints cmocka's own summary lines, which CI reads.  Binaries
# under build/san/ (ASan/UBSan) get PROBADOR_SANITIZED=1, which lets the
# slowest test (training) run a subset there.
#
# With PROBADOR_TEST_FILTER set (`make test F=...`), each binary runs only the
# cases it matches; one where it matches none exits 77 (tests/testing.h) and is
# noted, not failed, but a filter that matches no case in any binary is an error:
# a typo must not pass as a green run.
filter=${PROBADOR_TEST_FILTER:-}
status=0 ran=0
for t in "$@"; do
    echo "== $t"
    start=$(date +%s)
    rc=0
    case "$t" in
        */san/*) PROBADOR_SANITIZED=1 "$t" || rc=$? ;;
        *) "$t" || rc=$? ;;
    esac
    if [ -n "$filter" ] && [ $rc -eq 77 ]; then
        echo "== $t: skipped, no case matches"
        continue
    fi
    [ $rc -eq 0 ] || status=1
    ran=$((ran + 1))
    echo "== $t: $(( $(date +%s) - start )) s"
done
if [ -n "$filter" ] && [ $ran -eq 0 ]; then
    echo "run_tests: error: F='$filter' matches no case in any of the $# test binaries;" \
         "'make test-list' (with the same T) prints their case names" >&2
    exit 1
fi
[ $status -eq 0 ] && echo "all test binaries passed" || echo "some test binaries FAILED" >&2
exit $status
