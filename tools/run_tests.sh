#!/bin/sh
# Run every cmocka test binary given; fail if any fails, but run them all.
# Each binary prints cmocka's own summary lines, which CI reads.
status=0
for t in "$@"; do
    echo "== $t"
    "$t" || status=1
done
[ $status -eq 0 ] && echo "all test binaries passed" || echo "some test binaries FAILED" >&2
exit $status
