/** The call room (issue 12): a stage that fits the window, layouts, shortcuts, raised hands, the cap. */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { aliceStartsBobJoins, clickJoin, expectVideoFlowing, gridTiles, leaveCall, openCallPage, tile } from "./media";
import { roomStudy } from "./room-study";

const stage = (page: Page) => page.getByRole("main", { name: "Call stage" });
const people = (page: Page) => page.getByRole("list", { name: "People in the call" });

/** Nothing scrolls, and the element lies wholly inside the viewport. */
async function expectInViewport(page: Page, selector: string) {
  const out = await page.locator(selector).evaluateAll((els) =>
    els
      .map((el) => el.getBoundingClientRect())
      .filter((r) => r.top < -0.5 || r.left < -0.5 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5)
      .map((r) => [r.left, r.top, r.right, r.bottom]),
  );
  expect(out, `${selector} outside the viewport`).toEqual([]);
}
async function expectNoScroll(page: Page) {
  const overflow = await page.evaluate(() => ({
    y: document.documentElement.scrollHeight - innerHeight,
    x: document.documentElement.scrollWidth - innerWidth,
  }));
  expect(overflow.y).toBeLessThanOrEqual(0);
  expect(overflow.x).toBeLessThanOrEqual(0);
}

test("six people at 1280×800: every tile and the whole toolbar in the window, no scroll; the 7th sees 'full'", async ({
  loginAs,
}) => {
  test.setTimeout(480_000);
  const { pages, studyId, code } = await roomStudy(loginAs, [
    "alice@example.com",
    "bob@example.com",
    "carol@example.com",
    "dave@example.com",
    "pat@example.com",
  ]);
  // The 7th, a newcomer who joins the study too; signed up before any camera runs (two cores).
  const nora = await loginAs("alice@example.com");
  await nora.getByRole("button", { name: "Log out" }).click();
  await expect(nora.getByRole("button", { name: "Log out" })).toHaveCount(0);
  await nora.goto("/signup");
  await nora.getByLabel("Name", { exact: true }).fill("Nora Seventh");
  await nora.getByLabel("Email", { exact: true }).fill(`nora-${Date.now()}@example.com`);
  await nora.getByLabel("Password", { exact: true }).fill("a-long-password");
  await nora.getByRole("button", { name: "Sign up" }).click();
  await expect(nora.getByRole("button", { name: "Log out" })).toBeVisible();
  await nora.goto("/studies");
  await nora.getByLabel("Invite code").fill(code);
  await nora.getByRole("button", { name: "Join study" }).click();
  await expect(nora.getByRole("heading", { name: "Room Study" })).toBeVisible();
  for (const page of pages) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await openCallPage(page, studyId);
    await clickJoin(page);
  }
  const mallory = pages[0]!;
  await expect(gridTiles(mallory)).toHaveCount(6);
  await expect(stage(mallory)).toHaveAttribute("data-layout", "grid");
  await expectNoScroll(mallory);
  await expectInViewport(mallory, ".stage [role=group]");
  await expectInViewport(mallory, "[role=toolbar][aria-label='Call controls'] button");
  await expectInViewport(mallory, "[role=toolbar][aria-label='Call controls'] summary");
  for (const name of ["Alice", "Bob", "Carol", "Dave", "Pat"]) await expectVideoFlowing(mallory, name);

  // The 7th is told before clicking, and refused after.
  await nora.goto(`/studies/${studyId}`);
  await expect(nora.getByTestId("call-full")).toHaveText("This call is full (6 people)");
  await nora.goto(`/studies/${studyId}/call`);
  await expect(nora.getByTestId("call-full")).toHaveText("This call is full (6 people)");
  await nora.getByRole("button", { name: "Join call" }).click();
  await expect(nora.getByRole("alert")).toContainText("This call is full (6 people)");
  await expect(gridTiles(mallory)).toHaveCount(6);
  for (const page of pages) await leaveCall(page);
});

test("presenter while Bob shares, back to grid after; M toggles the mic (not in a text field); Space talks", async ({
  loginAs,
}) => {
  test.setTimeout(180_000);
  const { alice, bob } = await aliceStartsBobJoins(loginAs);
  await expect(stage(alice)).toHaveAttribute("data-layout", "grid");

  await bob.getByRole("button", { name: "Share screen" }).click();
  await expect(stage(alice)).toHaveAttribute("data-layout", "presenter");
  // Bob's tile takes the stage: it comes first and is the largest.
  const [bobBox, ownBox] = [await tile(alice, "Bob").boundingBox(), await tile(alice, "Alice (you)").boundingBox()];
  expect(bobBox!.width).toBeGreaterThan(ownBox!.width * 2);
  await bob.getByRole("button", { name: "Stop sharing" }).click();
  await expect(stage(alice)).toHaveAttribute("data-layout", "grid");

  // M on the page toggles the mic: the button's name flips and Bob sees "Muted".
  await alice.locator("body").click({ position: { x: 5, y: 5 } });
  await alice.keyboard.press("m");
  await expect(alice.getByRole("button", { name: "Unmute microphone" })).toBeVisible();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toBeVisible();
  await alice.keyboard.press("m");
  await expect(alice.getByRole("button", { name: "Mute microphone" })).toBeVisible();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toHaveCount(0);

  // Typing "m" in a text field types it.
  await alice.evaluate(() => {
    const input = document.createElement("input");
    input.setAttribute("aria-label", "Scratch");
    document.querySelector(".call-header")!.append(input);
  });
  await alice.getByLabel("Scratch").fill("");
  await alice.getByLabel("Scratch").press("m");
  await expect(alice.getByLabel("Scratch")).toHaveValue("m");
  await expect(alice.getByRole("button", { name: "Mute microphone" })).toBeVisible();
  await alice.getByLabel("Scratch").press("Escape");
  await expect(alice.getByLabel("Scratch")).not.toBeFocused();

  // Space held while muted talks; letting go mutes again.
  await alice.getByRole("button", { name: "Mute microphone" }).click();
  await alice.locator("body").click({ position: { x: 5, y: 5 } });
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toBeVisible();
  await alice.keyboard.down(" ");
  await expect(alice.getByRole("button", { name: "Mute microphone" })).toBeVisible();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toHaveCount(0);
  await alice.keyboard.up(" ");
  await expect(alice.getByRole("button", { name: "Unmute microphone" })).toBeVisible();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toBeVisible();

  // "?" opens the shortcuts, listed from the keymap.
  await alice.keyboard.press("?");
  const dialog = alice.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByText("Ctrl/⌘ + D")).toBeVisible();
  await alice.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await leaveCall(bob);
  await leaveCall(alice);
});

test("two raised hands appear in order, numbered, for a third member", async ({ loginAs }) => {
  test.setTimeout(180_000);
  const { alice, bob, studyId } = await aliceStartsBobJoins(loginAs);
  const carol = await loginAs("carol@example.com");
  await openCallPage(carol, studyId);
  await clickJoin(carol);
  await bob.getByRole("button", { name: "Raise hand" }).click();
  await expect(bob.getByRole("button", { name: "Lower hand" })).toBeVisible();
  // The queue is in the server's order. Bob's button turns at once, before the server has stamped his
  // hand; on a loaded machine Alice's request, sent a moment later, could reach it first (a CI run
  // numbered Alice 1). A user sees who was first on the tiles, so wait until Alice sees Bob's hand.
  await expect(tile(alice, "Bob").getByText("Hand raised")).toBeVisible();
  await alice.keyboard.press("h");
  await expect(alice.getByRole("button", { name: "Lower hand" })).toBeVisible();
  await carol.getByRole("button", { name: "People" }).click();
  await expect(carol.getByRole("button", { name: "People" })).toHaveAttribute("aria-pressed", "true");
  const rows = people(carol).getByRole("listitem");
  await expect(rows.nth(0)).toContainText("Bob");
  await expect(rows.nth(0).getByLabel("Hand raised, number 1")).toBeVisible();
  await expect(rows.nth(1)).toContainText("Alice");
  await expect(rows.nth(1).getByLabel("Hand raised, number 2")).toBeVisible();
  await expect(rows.nth(2)).toContainText("Carol (you)");
  await expect(tile(carol, "Bob").getByText("Hand raised")).toBeVisible();
  await bob.getByRole("button", { name: "Lower hand" }).click();
  await expect(rows.nth(0)).toContainText("Alice");
  await expect(rows.nth(0).getByLabel("Hand raised, number 1")).toBeVisible();
  for (const page of [carol, bob, alice]) await leaveCall(page);
});
