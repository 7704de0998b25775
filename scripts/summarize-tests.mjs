// Sums Vitest's and Playwright's JSON reports into the one closing line CI reads.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
const [vitestFile, playwrightFile] = process.argv.slice(2);

if (vitestFile && existsSync(vitestFile)) {
  const r = JSON.parse(readFileSync(vitestFile, "utf8"));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load has no tests to count; count it as a failure so it can't hide.
  for (const file of r.testResults ?? [])
    if (file.status === "failed" && (file.assertionResults ?? []).length === 0) failed += 1;
} else {
  console.log(`no Vitest report at ${vitestFile}`);
  failed += 1;
}

if (playwrightFile && existsSync(playwrightFile)) {
  const r = JSON.parse(readFileSync(playwrightFile, "utf8"));
  const s = r.stats ?? {};
  passed += (s.expected ?? 0) + (s.flaky ?? 0);
  failed += s.unexpected ?? 0;
  skipped += s.skipped ?? 0;
  for (const e of r.errors ?? []) {
    console.log(`playwright error: ${e.message?.split("\n")[0]}`);
    failed += 1;
  }
} else {
  console.log(`no Playwright report at ${playwrightFile}`);
  failed += 1;
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 ? 1 : 0);
