/** The in-call controls as a user meets them: toasts beside them, focus, keyboard, muted look (issue 20 §2, §7). */
import type { Locator, Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { clickJoin, joinCall, leaveCall, openCallPage, openStudy, tile, waitUntilNoCall } from "./media";

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function boxes(locator: Locator): Promise<Box[]> {
  return locator.evaluateAll((els) =>
    els.map((el) => {
      const r = el.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }),
  );
}

/** Every toast's box against every toolbar control's box, once the toasts have settled. */
async function expectNoToastOverControls(page: Page) {
  const toasts = page.locator("[data-sonner-toast]");
  await expect(toasts.first()).toBeVisible();
  await page.waitForTimeout(600); // the enter animation slides the toast up into place
  const controls = await boxes(page.getByRole("toolbar", { name: "Call controls" }).locator("button, summary"));
  expect(controls.length).toBeGreaterThanOrEqual(5);
  for (const t of await boxes(toasts))
    for (const c of controls) expect(overlaps(t, c), JSON.stringify({ t, c })).toBe(false);
  // A click on the Leave button's centre reaches the button, not a toast.
  const leave = page.getByRole("button", { name: "Leave call" });
  const hit = await leave.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el;
  });
  expect(hit).toBe(true);
}

test("toasts never cover the call controls (alone at 1280×800 after someone leaves)", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await alice.setViewportSize({ width: 1280, height: 800 });
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  await joinCall(bob);
  await expect(alice.getByText("Bob joined")).toBeVisible();
  await expectNoToastOverControls(alice);

  await leaveCall(bob);
  await expect(alice.getByText("Bob left")).toBeVisible();
  await expectNoToastOverControls(alice);
  // The toast's close button is at least 24×24 px (WCAG 2.5.8).
  const close = alice.locator("[data-sonner-toast] [data-close-button]").first();
  const size = await close.boundingBox();
  expect(size?.width).toBeGreaterThanOrEqual(24);
  expect(size?.height).toBeGreaterThanOrEqual(24);
  await leaveCall(alice);
});

test("after Join, focus is on the call's first control", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  await expect(alice.getByRole("button", { name: "Mute microphone" })).toBeFocused();
  await leaveCall(alice);
});

test("after Leave, focus is on the 'You left the call' message", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  await alice.getByRole("button", { name: "Leave call" }).click();
  await expect(alice.getByRole("status").filter({ hasText: "You left the call." })).toBeFocused();
});

test("Esc closes the Devices menu and gives focus back to its button", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  const devices = alice.getByRole("toolbar", { name: "Call controls" }).getByText("Devices", { exact: true });
  // Anchored: the toolbar's icon buttons are named by aria-label too ("Turn off camera").
  const camera = alice.getByRole("toolbar").getByLabel(/^Camera/);
  await devices.click();
  await expect(camera).toBeVisible();
  await camera.focus();
  await alice.keyboard.press("Escape");
  await expect(camera).toBeHidden();
  await expect(devices).toBeFocused();
  // Opened from the keyboard, Esc right away closes it too.
  await devices.press("Enter");
  await expect(camera).toBeVisible();
  await alice.keyboard.press("Escape");
  await expect(camera).toBeHidden();
  await leaveCall(alice);
});

test("the mute button has a pressed state and a clearly different muted look", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  const look = (b: Locator) =>
    b.evaluate((el) => {
      const s = getComputedStyle(el);
      return `${s.backgroundColor} ${s.color}`;
    });
  const mute = alice.getByRole("button", { name: "Mute microphone", pressed: false });
  await expect(mute).toBeVisible();
  const unmutedLook = await look(mute);
  await mute.click();
  const unmute = alice.getByRole("button", { name: "Unmute microphone", pressed: true });
  await expect(unmute).toBeVisible();
  await expect(tile(alice, "Alice (you)").getByText("Muted", { exact: true })).toBeVisible();
  expect(await look(unmute)).not.toBe(unmutedLook);
  await unmute.click();
  await expect(alice.getByRole("button", { name: "Mute microphone", pressed: false })).toBeVisible();
  await leaveCall(alice);
});

test("keyboard focus is clearly visible on blue, red and grey buttons", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await joinCall(alice);
  // Tab through the bar: each focused control shows a two-tone ring (white against the button,
  // dark around it), whatever the button's colour.
  const ring = (name: string) =>
    alice.getByRole("button", { name }).evaluate((el) => {
      const s = getComputedStyle(el);
      return { outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, shadow: s.boxShadow };
    });
  await alice.getByRole("button", { name: "Mute microphone" }).focus();
  await alice.keyboard.press("Tab");
  await expect(alice.getByRole("button", { name: "Turn off camera" })).toBeFocused();
  for (const name of ["Turn off camera", "Leave call"]) {
    // Leave is the bar's last control, set apart: Tab along the bar until it has focus.
    if (name === "Leave call")
      for (
        let i = 0;
        i < 15 && !(await alice.getByRole("button", { name }).evaluate((el) => el === document.activeElement));
        i++
      )
        await alice.keyboard.press("Tab");
    await expect(alice.getByRole("button", { name })).toBeFocused();
    const r = await ring(name);
    expect(r.outline).toBe("solid 3px rgb(255, 255, 255)");
    expect(r.shadow).toContain("6px");
  }
  await leaveCall(alice);
  // A blue (primary) button: the Rejoin page's "Start call" on the pre-join screen.
  await openCallPage(alice, studyId);
  const start = alice.getByRole("button", { name: /^(Join|Start) call$/ });
  await start.focus();
  await alice.keyboard.press("Shift+Tab");
  await alice.keyboard.press("Tab");
  await expect(start).toBeFocused();
  const blue = await start.evaluate((el) => getComputedStyle(el).outlineColor + " " + getComputedStyle(el).boxShadow);
  expect(blue).toContain("rgb(255, 255, 255)");
  expect(blue).toContain("6px");
});
