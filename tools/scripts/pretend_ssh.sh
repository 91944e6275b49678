#!/bin/sh
# tools/scripts/pretend_ssh.sh [ssh options] HOST COMMAND... — the ssh that make
# test-cluster gives GNU parallel (--ssh) to try the launcher's --return mode
# without other machines.  It runs COMMAND here as if on machine HOST: HOST sees
# every file this machine does except the results root ($PRETEND_RESULTS), which
# a private mount namespace replaces with HOST's own folder
# ($PRETEND_MACHINES/HOST/results; its home is $PRETEND_MACHINES/HOST/home).  So a run "on" HOST writes where the launcher cannot
# see it, and only what rsync carries back (parallel's --return, which runs
# rsync over this same command) arrives in the results root.  Needs root
# (unshare --mount).
set -eu
# like ssh, options before and after HOST, and -- before COMMAND
host=
while [ $# -gt 0 ]; do
    case $1 in
    --) shift; break ;;
    -[bcDEeFIiJLlmOopQRSWw]) shift 2 ;; # ssh's options that take a value
    -*) shift ;;
    *) [ -z "$host" ] || break; host=$1; shift ;;
    esac
done
machine=$PRETEND_MACHINES/$host
# like sshd, the remote session has SHELL, the login shell: GNU parallel's remote
# worker runs its job with $SHELL, and without one it runs nothing and reports
# success (CI's environment has none)
SHELL=$(getent passwd "$(id -un)" | cut -d: -f7)
export SHELL="${SHELL:-/bin/sh}"
mkdir -p "$machine/home" "$machine/results"
cd "$machine/home" # where ssh logs in
# like sshd, the remote shell reads the words of COMMAND joined by spaces
exec unshare --mount sh -c 'mount --bind "$1" "$2" && shift 2 && exec sh -c "$*"' pretend_ssh \
    "$machine/results" "$PRETEND_RESULTS" "$@"
