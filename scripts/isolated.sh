#!/usr/bin/env bash
# Runs a command (the app + browsers) inside a fresh network namespace where only loopback is up,
# so WebRTC traffic in tests can never leave the machine. Needs root (or unprivileged user namespaces).
set -euo pipefail
if [ "$#" -eq 0 ]; then echo "usage: scripts/isolated.sh COMMAND..." >&2; exit 2; fi
if [ "${COUP_ISOLATED:-}" = "1" ]; then exec "$@"; fi
if [ "$(id -u)" = "0" ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  export COUP_ISOLATED=1
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "scripts/isolated.sh: cannot create a network namespace here (not root?); running without isolation." >&2
exec "$@"
