import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { aliceStartsBobJoins, expectVideoFlowing, leaveCall } from "./media";

/**
 * Records every text containing "Reconnecting" that appears anywhere on the page, however briefly
 * (a toast can come and go between two polls).
 */
async function watchForReconnecting(page: Page) {
  await page.evaluate(() => {
    const w = window as unknown as { __reconnecting: string[] };
    w.__reconnecting = [];
    const check = () => {
      const text = document.body.innerText;
      const hits = text.split("\n").filter((line) => line.includes("Reconnecting"));
      if (hits.length) w.__reconnecting.push(...hits);
    };
    new MutationObserver(check).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
}

const reconnectingSeen = (page: Page) =>
  page.evaluate(() => (window as unknown as { __reconnecting: string[] }).__reconnecting);

test("a normal leave: the others see 'Bob left', never 'Reconnecting', and report nothing", async ({ loginAs }) => {
  test.setTimeout(90_000);
  const { alice, bob } = await aliceStartsBobJoins(loginAs);
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");

  const reports: string[] = [];
  for (const page of [alice, bob]) {
    page.on("request", (r) => {
      if (r.url().includes("videoCall.reportLink")) reports.push(`${r.method()} ${r.url()}`);
    });
  }
  await watchForReconnecting(alice);

  await leaveCall(bob);
  await expect(alice.getByText("Bob left")).toBeVisible();
  await expect(alice.getByRole("group", { name: "Bob", exact: true })).toHaveCount(0);
  // Long enough for a closed link to have been taken for a failure (closeConfirm, then a re-dial).
  await alice.waitForTimeout(5_000);

  expect(await reconnectingSeen(alice)).toEqual([]);
  expect(reports).toEqual([]);
});
