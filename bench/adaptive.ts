/**
 * Benchmark: what adaptive links (machines/link-encoding.ts) save. Four members in one call, each
 * member's total video uplink (outbound-rtp bytesSent over 10 s, every link) in the grid, then in
 * speaker layout — Alice on the stage of Bob, Carol and Dave (pinned), Bob on Alice's — so Carol
 * and Dave sit in every strip. Goal (issue #16): each member's uplink ≤ 60 % of the grid's.
 *
 *   flock /tmp/coup-bench.lock npm run bench:adaptive
 *
 * Writes bench/results/adaptive-<date>.json and prints a table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Page } from "@playwright/test";
import { chromiumLaunchOptions } from "../tests/e2e/browser";
import { instrumentWebRtc, measureUplink } from "../tests/e2e/media";
import { ROOT, demoStudyId, ensureRemixBuild, login, openPrejoin, rerunIsolated, startAppServer } from "./app-harness";

rerunIsolated(import.meta.url);

const NAMES = ["Alice", "Bob", "Carol", "Dave"] as const;
const WINDOW_MS = 10_000;
/** Encoders ramp their bitrate up over a few seconds after any change. */
const SETTLE_MS = 8_000;
const GOAL = 0.6;

async function allDecoding(page: Page) {
  await page.waitForFunction(
    () => {
      const videos = [...document.querySelectorAll<HTMLVideoElement>(".grid video")].filter((v) => !v.muted);
      return videos.length === 3 && videos.every((v) => v.getVideoPlaybackQuality().totalVideoFrames > 10);
    },
    undefined,
    { timeout: 60_000, polling: 500 },
  );
}

/**
 * Opens the tile's menu and pins. As in the E2E spec, a click may only close another open menu, so
 * it is retried. On Alice's page (speaker layout, Bob in the strip) the click on "Pin Bob" never
 * lands: "<main class=stage> intercepts pointer events" over the item, in every try — the step
 * where every run of this bench stopped (not understood yet; the E2E spec's same click passes).
 * The menu item is then chosen from the keyboard, as a keyboard user would.
 */
async function pin(page: Page, name: string) {
  const item = page.getByRole("button", { name: `Pin ${name}` });
  for (let attempt = 1; attempt <= 3; attempt++) {
    await page.keyboard.press("Escape");
    await page.getByRole("button", { name: `More actions for ${name}` }).click({ timeout: 5_000 });
    try {
      await item.click({ timeout: 3_000 });
      return;
    } catch {
      // covered: try again, then the keyboard
    }
  }
  console.log(`  ${name}'s "Pin" item is covered by the stage on this page: chosen with the keyboard`);
  await item.focus();
  await page.keyboard.press("Enter");
}

async function main() {
  ensureRemixBuild();
  const browser = await chromium.launch(chromiumLaunchOptions());
  const app = await startAppServer("coup-bench-adaptive-");
  try {
    const pages: Page[] = [];
    for (const name of NAMES) {
      const context = await browser.newContext({
        baseURL: app.url,
        permissions: ["camera", "microphone"],
        viewport: { width: 1280, height: 720 },
      });
      const page = await context.newPage();
      // tsx (esbuild keepNames) wraps functions handed to page.evaluate in a `__name` helper.
      await page.addInitScript("globalThis.__name = (f) => f;");
      await instrumentWebRtc(page);
      await login(page, `${name.toLowerCase()}@example.com`);
      pages.push(page);
    }
    const [alice, bob, carol, dave] = pages as [Page, Page, Page, Page];
    const studyId = await demoStudyId(alice);
    for (const page of pages) {
      await (await openPrejoin(page, studyId)).click();
      await page.getByRole("button", { name: "Leave call" }).waitFor();
    }
    for (const page of pages) await allDecoding(page);

    console.log(`Grid: settling ${SETTLE_MS / 1000} s, measuring ${WINDOW_MS / 1000} s…`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const grid = await Promise.all(pages.map((p) => measureUplink(p, WINDOW_MS)));

    for (const page of pages) {
      await page.locator('summary[aria-label="Layout"]').click();
      await page.getByRole("button", { name: "Speaker" }).click();
      // The open menu would lie over the tiles' "More actions" buttons.
      await page.keyboard.press("Escape");
    }
    for (const page of [bob, carol, dave]) await pin(page, "Alice");
    await pin(alice, "Bob");
    console.log(`Speaker: settling ${SETTLE_MS / 1000} s, measuring ${WINDOW_MS / 1000} s…`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const speaker = await Promise.all(pages.map((p) => measureUplink(p, WINDOW_MS)));

    const onStageFor: Record<string, number> = { Alice: 3, Bob: 1, Carol: 0, Dave: 0 };
    const rows = NAMES.map((name, i) => {
      const g = grid[i]!.totalBps;
      const s = speaker[i]!.totalBps;
      const ratio = g > 0 ? s / g : NaN;
      return {
        member: name,
        onStageFor: onStageFor[name]!,
        gridKbps: Math.round(g / 1000),
        speakerKbps: Math.round(s / 1000),
        gridPerLinkKbps: grid[i]!.perPeerBps.map((b) => Math.round(b / 1000)),
        speakerPerLinkKbps: speaker[i]!.perPeerBps.map((b) => Math.round(b / 1000)),
        ratio: Number(ratio.toFixed(2)),
        goalMet: ratio <= GOAL,
      };
    });
    const gridTotal = rows.reduce((a, r) => a + r.gridKbps, 0);
    const speakerTotal = rows.reduce((a, r) => a + r.speakerKbps, 0);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", loadavg: os.loadavg() },
      isolated: process.env.COUP_ISOLATED === "1",
      metric: `video uplink per member, outbound-rtp bytesSent over ${WINDOW_MS / 1000} s (all links), 1280×720 windows`,
      goal: `each member's uplink in speaker layout ≤ ${GOAL * 100} % of the grid's`,
      rows,
      room: { gridKbps: gridTotal, speakerKbps: speakerTotal, ratio: Number((speakerTotal / gridTotal).toFixed(2)) },
    };
    mkdirSync(path.join(ROOT, "bench", "results"), { recursive: true });
    const file = path.join(ROOT, "bench", "results", `adaptive-${result.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

    console.log(
      `\n${"member".padEnd(8)} ${"on stage for".padStart(12)} ${"grid kbps".padStart(10)} ${"speaker kbps".padStart(13)} ${"ratio".padStart(6)}  ≤ 60 %`,
    );
    for (const r of rows) {
      console.log(
        `${r.member.padEnd(8)} ${String(r.onStageFor).padStart(12)} ${String(r.gridKbps).padStart(10)} ${String(r.speakerKbps).padStart(13)} ${r.ratio.toFixed(2).padStart(6)}  ${r.goalMet ? "yes" : "no"}`,
      );
    }
    console.log(
      `${"room".padEnd(8)} ${"".padStart(12)} ${String(gridTotal).padStart(10)} ${String(speakerTotal).padStart(13)} ${result.room.ratio.toFixed(2).padStart(6)}`,
    );
    console.log(`\n${file}`);
  } finally {
    await app.stop();
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
