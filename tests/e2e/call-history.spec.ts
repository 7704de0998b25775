import { readFile } from "node:fs/promises";
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { aliceStartsBobJoins, expectVideoFlowing, leaveCall, tile } from "./media";

/** A browser that vanishes without leaving (crash, dead laptop): its pagehide "leave" never goes out. */
async function vanish(page: Page) {
  await page.evaluate(() => {
    const original = window.fetch.bind(window);
    window.fetch = (input, init) =>
      String(input instanceof Request ? input.url : input).includes("/video-call/leave")
        ? Promise.reject(new TypeError("Failed to fetch"))
        : original(input, init);
  });
  await page.context().close();
}

test("after a call with a mute, a screen share and a drop, its history page shows them for the right people", async ({
  loginAs,
}) => {
  test.setTimeout(120_000);
  const { alice, bob, studyId } = await aliceStartsBobJoins(loginAs);
  await expectVideoFlowing(bob, "Alice");
  await expectVideoFlowing(alice, "Bob");

  // Bob mutes; Alice sees it.
  await bob.getByRole("button", { name: "Mute microphone" }).click();
  await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toBeVisible();
  // Alice shares her screen for a moment; Bob sees it.
  await alice.getByRole("button", { name: "Share screen" }).click();
  await expect(tile(bob, "Alice").getByText("Presenting", { exact: true })).toBeVisible();
  await alice.waitForTimeout(1_500);
  await alice.getByRole("button", { name: "Stop sharing" }).click();
  await expect(tile(bob, "Alice").getByText("Presenting", { exact: true })).toHaveCount(0);

  // Bob's browser vanishes: the server drops him after the grace.
  await vanish(bob);
  await expect(tile(alice, "Bob")).toHaveCount(0, { timeout: 20_000 });
  await leaveCall(alice);

  // The study page lists the call first under "Past calls".
  await alice.goto(`/studies/${studyId}`);
  const past = alice.getByRole("list", { name: "Past calls" });
  await expect(past.getByRole("listitem").first()).toContainText("Alice, Bob");
  await past.getByRole("link").first().click();
  await expect(alice.getByRole("heading", { name: /^Call of / })).toBeVisible();

  // The table: how each of them left.
  const table = alice.getByTestId("people-table");
  const row = (name: string) => table.getByRole("row").filter({ has: alice.getByRole("rowheader", { name }) });
  await expect(row("Alice").getByRole("cell").last()).toHaveText("Left");
  await expect(row("Bob").getByRole("cell").last()).toHaveText("Dropped");

  // The timeline: Bob's lane has the mute and the drop, Alice's the share; not the other way round.
  const lane = (name: string) => alice.locator(`[data-testid="call-timeline"] [data-person="${name}"]`);
  await expect(lane("Bob").locator('[data-kind="muted"]')).not.toHaveCount(0);
  await expect(lane("Bob").locator('[data-marker="drop"]')).toHaveCount(1);
  await expect(lane("Bob").locator('[data-kind="sharing"]')).toHaveCount(0);
  await expect(lane("Alice").locator('[data-kind="sharing"]')).toHaveCount(1);
  await expect(lane("Alice").locator('[data-kind="muted"]')).toHaveCount(0);
  await expect(lane("Alice").locator('[data-marker="drop"]')).toHaveCount(0);
  // The accessible summary says the same in words.
  await expect(alice.getByRole("img", { name: "Call timeline, one lane per person" })).toBeVisible();
  await alice.getByText("Timeline as text").click();
  await expect(alice.getByTestId("timeline-summary")).toContainText(/Bob: in the call .*muted .*dropped\./);
  await expect(alice.getByTestId("timeline-summary")).toContainText(/Alice: in the call .*sharing screen /);

  // Both history pages pass axe.
  const violations = async () => (await new AxeBuilder({ page: alice }).analyze()).violations.map((v) => v.id);
  expect(await violations()).toEqual([]);

  // "Download CSV" gives the table's rows, cell for cell.
  const [download] = await Promise.all([
    alice.waitForEvent("download"),
    alice.getByRole("link", { name: "Download CSV" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^call-.*\.csv$/);
  const csv = await readFile((await download.path())!, "utf8");
  const shown = await table
    .getByRole("row")
    .evaluateAll((rows) =>
      rows.map((r) => [...r.querySelectorAll("th, td")].map((c) => (c.textContent ?? "").trim()).join(",")),
    );
  // Demo names need no CSV quoting, so a row is its cells joined by commas.
  expect(csv.trimEnd().split("\r\n")).toEqual(shown);
  expect(shown).toHaveLength(3);

  await alice.getByRole("link", { name: "Past calls" }).click();
  await expect(alice.getByRole("table", { name: "Past calls" })).toContainText("Alice, Bob");
  expect(await violations()).toEqual([]);
});
