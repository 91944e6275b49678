#!/bin/sh
# Run every cmocka test binary given; fail if any fails, but run them all.
# Each binary prints cmocka's own summary lines, which CI reads.  Binaries
# under build/san/ (ASan/UBSan) get PROBADOR_SANITIZED=1, which lets the
# slowest test (training) run a subset there.
status=0
for t in "$@"; do
    echo "== $t"
    start=$(date +%s)
    case "$t" in
        */san/*) PROBADOR_SANITIZED=1 "$t" || status=1 ;;
        *) "$t" || status=1 ;;
    esac
    echo "== $t: $(( $(date +%s) - start )) s"
done
[ $status -eq 0 ] && echo "all test binaries passed" || echo "some test binaries FAILED" >&2
exit $status
