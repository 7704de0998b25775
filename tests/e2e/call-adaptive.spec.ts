/**
 * Each link sends what its receiver shows (machines/link-encoding.ts): in speaker layout the
 * stage's link arrives larger than a strip tile's, a member everyone shows in the strip sends less
 * than in the grid, and a hidden tile's link is paused and back at full size soon after it shows.
 * Sizes are read where the user would notice them: the receiver's decoded frames (getStats).
 */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import {
  clickJoin,
  gridTiles,
  instrumentWebRtc,
  leaveCall,
  measureUplink,
  openCallPage,
  openStudy,
  waitUntilNoCall,
} from "./media";

const MEMBERS = [
  ["alice@example.com", "Alice"],
  ["bob@example.com", "Bob"],
  ["carol@example.com", "Carol"],
  ["dave@example.com", "Dave"],
] as const;

interface Inbound {
  width: number;
  height: number;
  framesDecoded: number;
  bytesReceived: number;
}

/** What arrives on the link whose video the named tile shows (its receiver's inbound-rtp). */
function inboundVideo(page: Page, name: string): Promise<Inbound | null> {
  return page.evaluate(async (label) => {
    const tile = [...document.querySelectorAll("[role=group]")].find((el) => el.getAttribute("aria-label") === label);
    const track = (tile?.querySelector("video")?.srcObject as MediaStream | null)?.getVideoTracks()[0];
    if (!track) return null;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === "closed") continue;
      const receiver = pc.getReceivers().find((r) => r.track === track);
      if (!receiver) continue;
      let found: Inbound | null = null;
      (await receiver.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === "inbound-rtp" && s.kind === "video") {
          found = {
            width: Number(s.frameWidth ?? 0),
            height: Number(s.frameHeight ?? 0),
            framesDecoded: Number(s.framesDecoded ?? 0),
            bytesReceived: Number(s.bytesReceived ?? 0),
          };
        }
      });
      return found;
    }
    return null;
  }, name);
}

const heightOf = async (page: Page, name: string) => (await inboundVideo(page, name))?.height ?? 0;

async function pin(page: Page, name: string) {
  // A click that only closed another open menu did not open this one: open it until the item shows.
  await expect(async () => {
    await page.getByRole("button", { name: `More actions for ${name}` }).click();
    await expect(page.getByRole("button", { name: `Pin ${name}` })).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 20_000 });
  await page.getByRole("button", { name: `Pin ${name}` }).click();
}

/** The browser's signal for a tab in the background (headless pages are never hidden by themselves). */
async function setPageHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (h ? "hidden" : "visible") });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}

test("speaker layout: the stage link arrives larger than a strip link; the strip costs its sender less; a hidden tile comes back", async ({
  loginAs,
}) => {
  test.setTimeout(240_000);
  const pages: Page[] = [];
  for (const [email] of MEMBERS) {
    const page = await loginAs(email);
    await instrumentWebRtc(page);
    pages.push(page);
  }
  const [alice, bob, carol, dave] = pages as [Page, Page, Page, Page];
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  for (const page of pages) {
    await openCallPage(page, studyId);
    await clickJoin(page);
  }
  for (const page of pages) await expect(gridTiles(page)).toHaveCount(4);
  // Every link delivers decoded video before anything is measured.
  for (const [i, page] of pages.entries()) {
    for (const [, name] of MEMBERS.filter((_, j) => j !== i)) {
      await expect
        .poll(async () => (await inboundVideo(page, name))?.framesDecoded ?? 0, { timeout: 30_000 })
        .toBeGreaterThan(10);
    }
  }

  // The grid (4 tiles of ~520×292 in a 1280×720 window): what Dave sends each of the three.
  const grid = await measureUplink(dave, 6_000);

  await test.step("speaker layout: Alice on the others' stage, Bob on hers; Dave in everyone's strip", async () => {
    for (const page of pages) {
      await page.locator('summary[aria-label="Layout"]').click();
      await page.getByRole("button", { name: "Speaker" }).click();
      await page.keyboard.press("Escape");
    }
    for (const page of [bob, carol, dave]) await pin(page, "Alice");
    await pin(alice, "Bob");
    for (const page of pages)
      await expect(page.getByRole("main", { name: "Call stage" })).toHaveAttribute("data-layout", "speaker");

    // At Bob: Alice (stage) arrives larger than Carol (strip), who comes at a thumbnail's size. (Under CPU
    // load Chrome may scale any encoder down further, so the stage is not pinned to 360 lines.)
    await expect.poll(() => heightOf(bob, "Carol"), { timeout: 20_000 }).toBeLessThanOrEqual(180);
    await expect
      .poll(async () => (await heightOf(bob, "Alice")) - (await heightOf(bob, "Carol")), { timeout: 20_000 })
      .toBeGreaterThan(0);
    const stageH = await heightOf(bob, "Alice");
    const stripH = await heightOf(bob, "Carol");
    await expect.poll(() => heightOf(carol, "Dave"), { timeout: 20_000 }).toBeLessThanOrEqual(180);
    await expect.poll(() => heightOf(alice, "Dave"), { timeout: 20_000 }).toBeLessThanOrEqual(180);

    const speaker = await measureUplink(dave, 6_000);
    console.log(
      `Dave's video uplink: grid ${Math.round(grid.totalBps / 1000)} kbps, speaker (in every strip) ${Math.round(speaker.totalBps / 1000)} kbps` +
        ` (${Math.round((100 * speaker.totalBps) / grid.totalBps)} %); stage ${stageH} lines, strip ${stripH}`,
    );
    expect(speaker.perPeerBps, "still sending on every link").toHaveLength(3);
    for (const bps of speaker.perPeerBps) expect(bps, "video still goes out to every strip").toBeGreaterThan(2_000);
    expect(speaker.totalBps, "a member in everyone's strip sends less than in the grid").toBeLessThan(
      grid.totalBps * 0.8,
    );
  });

  await test.step("a tile hidden by a tab in the background is paused, then back at stage size", async () => {
    await setPageHidden(bob, true);
    // Nothing more arrives from Alice for Bob's hidden stage.
    await expect
      .poll(
        async () => {
          const before = (await inboundVideo(bob, "Alice"))?.bytesReceived ?? 0;
          await bob.waitForTimeout(1_000);
          return ((await inboundVideo(bob, "Alice"))?.bytesReceived ?? 0) - before;
        },
        { timeout: 20_000 },
      )
      .toBeLessThan(2_000);
    const frozenAt = (await inboundVideo(bob, "Alice"))?.framesDecoded ?? 0;
    const shownAt = Date.now();
    await setPageHidden(bob, false);
    await expect
      .poll(async () => (await inboundVideo(bob, "Alice"))?.framesDecoded ?? 0, { timeout: 10_000, intervals: [50] })
      .toBeGreaterThan(frozenAt + 5);
    await expect
      .poll(async () => (await heightOf(bob, "Alice")) - (await heightOf(bob, "Carol")), {
        timeout: 10_000,
        intervals: [50],
      })
      .toBeGreaterThan(0);
    console.log(
      `Alice's stage video at Bob: decoding at full size again ${Date.now() - shownAt} ms after the tab was shown`,
    );
  });

  for (const page of pages) await leaveCall(page);
  await waitUntilNoCall(alice, studyId);
});
