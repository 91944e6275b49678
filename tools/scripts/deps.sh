#!/bin/sh
# Install the Debian packages probador needs; a quick no-op when all are present.
# Called by `make deps` (and so by make test, make bench and make reproduce).
# Arguments name more packages to install with these (make fuzz-deps passes
# clang's; make deps DEPS_EXTRA="..." passes any).
set -eu
# libdnnl-dev and python3-torch: the peers `probador bench` times beside its own rows
# (oneDNN through its C API; tools/bench/torch_peer.py, run with /usr/bin/python3).
PKGS="gcc make libc6-dev libblis-dev libblis-openmp-dev libdnnl-dev libyaml-dev libcmocka-dev zlib1g-dev gnuplot-nox fonts-dejavu-core dataset-fashion-mnist python3-torch $*"

missing=""
for p in $PKGS; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

line="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "tools/scripts/deps.sh: error: missing Debian packages:$missing" >&2
    echo "tools/scripts/deps.sh: note: run as root:  $line" >&2
    exit 1
fi
echo "tools/scripts/deps.sh: installing$missing" >&2
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; } >&2; then
    echo "tools/scripts/deps.sh: error: could not install$missing" >&2
    echo "tools/scripts/deps.sh: note: the command was:  $line" >&2
    exit 1
fi
