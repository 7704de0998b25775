#!/bin/sh
# The browser the tests and benchmarks launch: Debian's Chromium (CHROMIUM_PATH overrides), run
# the way it runs for the people using the app, without the right to raise thread priorities.
# As root Chromium would give its media and IO threads nice -8 and its audio threads real-time
# priority; on a shared 2-core box they then starve everything at normal priority (the app
# server, Postgres, the pages' own JavaScript), a contest no user's browser and server ever have.
bin="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
  exec setpriv --bounding-set -sys_nice --inh-caps -sys_nice "$bin" "$@"
fi
exec "$bin" "$@"
