#!/usr/bin/env bash
# Every test in the repo: Vitest (unit + integration against real Postgres), then the Playwright
# browser suite inside a loopback-only network namespace. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache
rm -f .cache/vitest.json .cache/playwright.json .cache/test-summary.txt

npx remix build >/dev/null || { echo "remix build failed"; echo "0 passed, 1 failed"; exit 1; }

npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest.json
vitest_rc=$?

bash scripts/isolated.sh npx playwright test
e2e_rc=$?

node scripts/summarize-tests.mjs .cache/vitest.json .cache/playwright.json | tee .cache/test-summary.txt
summary_rc=${PIPESTATUS[0]}
if [ $vitest_rc -ne 0 ] || [ $e2e_rc -ne 0 ] || [ $summary_rc -ne 0 ]; then exit 1; fi
