/** Screenshots of the call room at 2, 4 and 6 people (1280×800) and on a phone, for docs/. */
import type { Page } from "@playwright/test";
import { expect, test } from "../e2e/fixtures";
import { clickJoin, gridTiles, leaveCall, openCallPage } from "../e2e/media";
import { roomStudy } from "../e2e/room-study";

const OUT = "docs/screenshots";

async function shoot(page: Page, name: string, count: number) {
  await expect(gridTiles(page)).toHaveCount(count);
  await page.waitForTimeout(1_500); // let video frames arrive
  await page.screenshot({ path: `${OUT}/${name}.png` });
}

test("call room screenshots", async ({ loginAs }) => {
  const { pages, studyId } = await roomStudy(loginAs, [
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
    "pat@example.com",
  ]);
  const first = pages[0]!;
  for (const [i, page] of pages.entries()) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openCallPage(page, studyId);
    await clickJoin(page);
    if (i === 1) await shoot(first, "call-2-people", 2);
    if (i === 3) await shoot(first, "call-4-people", 4);
  }
  await shoot(first, "call-6-people", 6);
  await first.setViewportSize({ width: 390, height: 844 });
  await shoot(first, "call-phone", 6);
  for (const page of pages) await leaveCall(page);
});
