#!/usr/bin/env bash
# Runs a command (the app + browsers) inside a fresh network namespace where only loopback is up,
# so WebRTC traffic in tests can never leave the machine. Needs root (or unprivileged user namespaces).
#
# The namespace also gets a default route over lo, with a documentation address (192.0.2.1,
# TEST-NET-1) on lo as its source. Firefox (as the tests drive it) gathers ICE candidates only on
# its "default address", the source address of a route to a public IP; with no route at all it
# gathers none, ICE fails and the page's target closes. Over lo nothing can leave: a packet for any
# other address goes nowhere, and lo is the namespace's only interface.
set -euo pipefail
if [ "$#" -eq 0 ]; then echo "usage: scripts/isolated.sh COMMAND..." >&2; exit 2; fi
if [ "${COUP_ISOLATED:-}" = "1" ]; then exec "$@"; fi
if [ "$(id -u)" = "0" ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  export COUP_ISOLATED=1
  exec unshare -n sh -c 'ip link set lo up && ip addr add 192.0.2.1/32 dev lo &&
    ip route add default dev lo src 192.0.2.1 && exec "$@"' sh "$@"
fi
echo "scripts/isolated.sh: cannot create a network namespace here (not root?); running without isolation." >&2
exec "$@"
