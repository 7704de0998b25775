/**
 * axe-core scans of every page a member meets: any violation fails. Also the two "needs review"
 * items issue 20 found in the call grid stay fixed (tile names readable over video, no aria-label on
 * a role-less div).
 */
import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { joinCall, leaveCall, openCallPage, openStudy, waitUntilNoCall } from "./media";

async function scan(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const violations = results.violations.map((v) => ({
    rule: v.id,
    impact: v.impact,
    nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
  }));
  expect(violations, what).toEqual([]);
  return results;
}

/** "Needs review" entries inside the call grid: none for contrast over video or stray aria-labels. */
function gridReviewItems(results: Awaited<ReturnType<AxeBuilder["analyze"]>>) {
  return results.incomplete
    .filter((r) => ["color-contrast", "aria-prohibited-attr", "aria-allowed-attr"].includes(r.id))
    .flatMap((r) => r.nodes.map((n) => `${r.id}: ${n.target.join(" ")}`))
    .filter((t) => /grid|tile/.test(t));
}

test("login, studies, study and pre-join pages have no axe violations", async ({ page, loginAs }) => {
  await page.goto("/login");
  await scan(page, "login");
  await page.goto("/signup");
  await scan(page, "signup");

  const alice = await loginAs("alice@example.com");
  await scan(alice, "studies");
  const studyId = await openStudy(alice);
  await scan(alice, "study");
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await scan(alice, "pre-join");
});

test("the in-call page with two people, on a laptop and a phone, has no axe violations", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  await bob.setViewportSize({ width: 390, height: 844 });
  await joinCall(bob);
  await expect(alice.getByRole("group", { name: "Bob", exact: true }).locator("video")).toBeVisible();
  await expect(bob.getByRole("group", { name: "Alice", exact: true }).locator("video")).toBeVisible();

  expect(gridReviewItems(await scan(alice, "in call, 1280 wide"))).toEqual([]);
  expect(gridReviewItems(await scan(bob, "in call, phone"))).toEqual([]);
  // Camera off: the initials avatar and the "Muted" pills.
  await bob.getByRole("button", { name: "Turn off camera" }).click();
  await bob.getByRole("button", { name: "Mute microphone" }).click();
  await expect(alice.getByRole("img", { name: "Bob's camera is off" })).toBeVisible();
  await scan(alice, "in call, camera off");
  await scan(bob, "in call, phone, muted and camera off");
  await leaveCall(bob);
  await scan(bob, "left the call");

  await leaveCall(alice);
});

test("the opt-in debug panel is readable (no axe violations, state chips included)", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await alice.goto(`/studies/${studyId}/call?debug=1`);
  await alice.getByRole("button", { name: /^(Join|Start) call$/ }).click();
  await expect(alice.getByRole("button", { name: "Leave call" })).toBeVisible();
  await expect(alice.getByRole("region", { name: "Debug panel" }).locator("code").first()).toBeVisible();
  // The call machine's diagram (Mermaid's SVG) is part of the scan.
  await expect(alice.getByRole("img", { name: "Call machine diagram" }).locator("svg")).toBeVisible();
  await scan(alice, "debug panel");
  await leaveCall(alice);
});
