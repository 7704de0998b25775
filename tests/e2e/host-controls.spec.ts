/** Host controls (issue 14): Alice (owner) mutes, asks to unmute, removes with a ban; permissions and the lock. */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import {
  clickJoin,
  expectAudioFlowing,
  leaveCall,
  openCallPage,
  openStudy,
  peakAudioLevel,
  tile,
  waitUntilNoCall,
} from "./media";

/** Opens Bob's "More actions" menu on `page`'s stage tile for him and clicks `item`. */
async function tileAction(page: Page, name: string, item: string) {
  await tile(page, name)
    .getByRole("button", { name: `More actions for ${name}` })
    .click();
  await page.getByRole("button", { name: item }).click();
}

async function threeInCall(loginAs: (email: string) => Promise<Page>) {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  const bob = await loginAs("bob@example.com");
  await openCallPage(bob, studyId);
  await clickJoin(bob);
  const carol = await loginAs("carol@example.com");
  await openCallPage(carol, studyId);
  await clickJoin(carol);
  return { alice, bob, carol, studyId };
}

test("Alice mutes Bob, asks him to unmute, then removes him for good", async ({ loginAs }) => {
  test.setTimeout(300_000);
  const { alice, bob, carol, studyId } = await threeInCall(loginAs);
  await expectAudioFlowing(carol, "Bob");
  // Non-hosts see no host items.
  await tile(carol, "Bob").getByRole("button", { name: "More actions for Bob" }).click();
  await expect(carol.getByRole("button", { name: "Mute Bob" })).toHaveCount(0);
  await carol.keyboard.press("Escape");

  await tileAction(alice, "Bob", "Mute Bob");
  await expect(bob.getByRole("button", { name: "Unmute microphone" })).toBeVisible();
  await expect(bob.getByRole("alert").filter({ hasText: "Alice muted you" })).toBeVisible();
  await expect(tile(carol, "Bob").getByText("Muted", { exact: true })).toBeVisible();
  // What Carol receives from Bob falls silent (his browser silenced the track).
  await expect.poll(() => peakAudioLevel(carol, "Bob", 1500), { timeout: 20_000, intervals: [0] }).toBeLessThan(0.01);

  await tileAction(alice, "Bob", "Ask Bob to unmute");
  const ask = bob.getByRole("alert").filter({ hasText: "Alice asks you to unmute" });
  await expect(ask).toBeVisible();
  await expect(ask.getByRole("button", { name: "Stay muted" })).toBeVisible();
  await ask.getByRole("button", { name: "Unmute" }).click();
  await expect(bob.getByRole("button", { name: "Mute microphone" })).toBeVisible();
  await expect(tile(carol, "Bob").getByText("Muted", { exact: true })).toHaveCount(0);
  await expectAudioFlowing(carol, "Bob");

  await tileAction(alice, "Bob", "Remove Bob from call");
  const dialog = alice.getByRole("dialog", { name: "Remove Bob?" });
  await dialog.getByLabel("Don't let Bob rejoin this call").check();
  const removedAt = Date.now();
  await dialog.getByRole("button", { name: "Remove" }).click();
  await expect(tile(alice, "Bob")).toHaveCount(0, { timeout: 2_000 });
  await expect(tile(carol, "Bob")).toHaveCount(0, { timeout: Math.max(1, 2_000 - (Date.now() - removedAt)) });
  await expect(bob.getByText("Alice removed you from the call")).toBeVisible();

  await openCallPage(bob, studyId);
  await bob.getByRole("button", { name: "Join call" }).click();
  await expect(bob.getByRole("alert")).toContainText("You were removed from this call");
  await expect(tile(alice, "Bob")).toHaveCount(0);
  await leaveCall(carol);
  await leaveCall(alice);
});

test("screen sharing kept to hosts stops Bob's share and disables his button; a locked call refuses Dave", async ({
  loginAs,
}) => {
  test.setTimeout(300_000);
  const { alice, bob, carol, studyId } = await threeInCall(loginAs);
  await bob.getByRole("button", { name: "Share screen" }).click();
  await expect(bob.getByRole("button", { name: "Stop sharing" })).toBeVisible();
  await expect(tile(alice, "Bob").getByText("Presenting")).toBeVisible();

  await alice.getByRole("button", { name: "People" }).click();
  await alice.getByRole("button", { name: "Host controls" }).click();
  const controls = alice.getByRole("dialog", { name: "Host controls" });
  await controls.getByRole("switch", { name: "Everyone can share their screen" }).uncheck();
  await expect(bob.getByRole("button", { name: "Share screen" })).toBeDisabled();
  await expect(bob.getByRole("button", { name: "Share screen" })).toHaveAttribute(
    "data-tip",
    "Only hosts can share their screen in this call",
  );
  await expect(tile(alice, "Bob").getByText("Presenting")).toHaveCount(0);
  await expect(tile(carol, "Bob").getByText("Presenting")).toHaveCount(0);
  // Hosts keep it.
  await expect(alice.getByRole("button", { name: "Share screen" })).toBeEnabled();

  await controls.getByRole("switch", { name: "Lock call" }).check();
  await controls.getByRole("button", { name: "Close" }).click();
  const dave = await loginAs("dave@example.com");
  await dave.goto(`/studies/${studyId}`);
  await expect(dave.getByTestId("call-locked")).toHaveText("The call is locked");
  await openCallPage(dave, studyId);
  await expect(dave.getByTestId("call-full")).toHaveText("The call is locked");
  await dave.getByRole("button", { name: "Join call" }).click();
  await expect(dave.getByRole("alert")).toContainText("The call is locked");
  await expect(tile(alice, "Dave")).toHaveCount(0);

  for (const page of [bob, carol, alice]) await leaveCall(page);
});
