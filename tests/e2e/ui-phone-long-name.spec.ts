/** A new user with the longest name the form allows, on a phone (issue 20 §4, §5, §8 "1 members"). */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { clickJoin, leaveCall, tile } from "./media";

const LONG_NAME = `Zoë${"x".repeat(75)}🦊`; // 80 UTF-16 units, the most the form allows; no spaces

async function expectNoSideways(page: Page) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, page.url()).toBeLessThanOrEqual(innerWidth);
}

async function expectOneLineBrand(page: Page) {
  const lines = await page.locator(".brand").evaluate((el) => {
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 20;
    return Math.round(el.getBoundingClientRect().height / lineHeight);
  });
  expect(lines).toBe(1);
}

test("an 80-character name on a 390×844 phone: ellipsis, full name on hover, nothing scrolls sideways", async ({
  browser,
}) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    permissions: ["camera", "microphone"],
  });
  const page = await context.newPage();
  await page.goto("/signup");
  const nameInput = page.getByLabel("Name");
  await nameInput.fill(LONG_NAME);
  expect(await nameInput.evaluate((el: HTMLInputElement) => el.value)).toBe(LONG_NAME);
  await page.getByLabel("Email").fill(`long-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("long-name-pass-1");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/studies$/);
  await expectNoSideways(page);
  await expectOneLineBrand(page);
  const who = page.locator(".topbar .who");
  await expect(who).toHaveAttribute("title", LONG_NAME);

  await page.getByLabel("Study name").fill("Phone study");
  await page.getByRole("button", { name: "Create study" }).click();
  await expect(page.getByRole("heading", { name: "Phone study" })).toBeVisible();
  await expectNoSideways(page);
  const member = page.getByRole("list", { name: "Members", exact: true }).locator(".member-name");
  await expect(member).toHaveAttribute("title", LONG_NAME);
  expect(await member.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true); // cut, with…
  await expect(member).toHaveCSS("text-overflow", "ellipsis"); // …an ellipsis

  // "1 member", not "1 members".
  await page.goto("/studies");
  await expect(page.getByRole("list", { name: "My studies" }).getByText("1 member", { exact: true })).toBeVisible();

  // Pre-join: the camera preview takes the full width of the page.
  await page.getByRole("link", { name: "Phone study" }).click();
  await page.getByRole("link", { name: "Start call" }).click();
  await expect(page.getByRole("button", { name: "Start call" })).toBeEnabled();
  const preview = await page.getByRole("group", { name: "Camera preview" }).boundingBox();
  const main = await page
    .locator("main")
    .evaluate((el) => el.clientWidth - 2 * parseFloat(getComputedStyle(el).paddingLeft));
  expect(preview?.width).toBeGreaterThanOrEqual(main - 1);
  await expectNoSideways(page);

  await clickJoin(page);
  const own = tile(page, `${LONG_NAME} (you)`); // the accessible name stays whole
  await expect(own).toBeVisible();
  const label = own.locator(".tile-name");
  await expect(label).toHaveAttribute("title", `${LONG_NAME} (you)`);
  expect(await label.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  await expect(label).toHaveCSS("text-overflow", "ellipsis");
  const box = await label.boundingBox();
  const tileBox = await own.boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(tileBox!.x + tileBox!.width);
  await expectNoSideways(page);
  await expectOneLineBrand(page);
  // Hovering the tile shows the whole name (it wraps instead of being cut).
  await own.hover();
  await expect(label).toHaveCSS("white-space", "normal");
  await leaveCall(page);
  await context.close();
});
