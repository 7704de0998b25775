/** Screenshots for docs/user-guide.md: the study page, the pre-join screen, People with hands, chat, shortcuts, the Inspector. */
import type { Page } from "@playwright/test";
import { expect, test } from "../e2e/fixtures";
import { clickJoin, joinButton, leaveCall, openCallPage, openStudy, waitUntilNoCall } from "../e2e/media";

const OUT = "docs/screenshots";
async function shot(page: Page, name: string) {
  await page.mouse.move(1, 1); // no hover tooltip in the picture
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${OUT}/${name}.png` });
}

test("user guide screenshots", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await alice.setViewportSize({ width: 1280, height: 800 });
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await expect(alice.getByTestId("call-presence")).toHaveText("No one is in the call");
  await shot(alice, "study-page");

  await openCallPage(alice, studyId);
  await expect(alice.getByRole("meter", { name: "Microphone level" })).toBeVisible();
  await alice.waitForTimeout(1_000); // a few preview frames
  await shot(alice, "prejoin");
  await clickJoin(alice);

  const bob = await loginAs("bob@example.com");
  await bob.setViewportSize({ width: 1280, height: 800 });
  await openCallPage(bob, studyId);
  await clickJoin(bob);
  await bob.getByRole("button", { name: "Raise hand" }).click();
  await alice.getByRole("button", { name: "People" }).click();
  await expect(
    alice.getByRole("list", { name: "People in the call" }).getByLabel("Hand raised, number 1"),
  ).toBeVisible();
  await alice.waitForTimeout(1_500);
  await shot(alice, "people-hands");
  await bob.getByRole("button", { name: "Lower hand" }).click();

  await bob.getByRole("button", { name: "Chat", exact: true }).click();
  await bob.getByRole("textbox", { name: "Message" }).fill("Shall we start with exercise 3? https://example.org/ex3");
  await bob.getByRole("textbox", { name: "Message" }).press("Enter");
  await alice.getByRole("button", { name: "Chat (1 unread)" }).click();
  await alice.getByRole("textbox", { name: "Message" }).fill("Yes, I'll share my screen in a minute.");
  await alice.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(alice.getByText("Seen by Bob")).toBeVisible({ timeout: 10_000 });
  // The toast of Bob's message (it came while Alice's chat was closed) goes away by itself.
  await expect(alice.getByText("Bob: Shall we start")).toBeHidden({ timeout: 15_000 });
  await shot(alice, "chat");

  await alice.keyboard.press("Escape");
  await alice.getByRole("button", { name: "Keyboard shortcuts" }).click();
  await expect(alice.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeVisible();
  await shot(alice, "shortcuts");
  await alice.keyboard.press("Escape");

  await leaveCall(alice);
  await alice.goto(`/studies/${studyId}/call?debug=1`);
  await expect(joinButton(alice)).toBeEnabled();
  await clickJoin(alice);
  const panel = alice.getByRole("region", { name: "Debug panel" });
  await expect(panel.locator('li[data-state-path="inCall.audio.on"]')).toHaveAttribute("aria-current", "true");
  await expect(panel.getByTestId("peer-debug").filter({ hasText: "Bob" }).locator("summary")).toContainText(
    "connected",
  );
  await alice.waitForTimeout(1_500); // Bob's video frames
  // The running call's regions in view.
  await panel.locator('li[data-state-path="inCall"]').evaluate((el) => el.scrollIntoView({ block: "start" }));
  await shot(alice, "inspector");
  await leaveCall(bob);
  await leaveCall(alice);
});
