import { expect, test } from "./fixtures";

test("on /account a user renames themself and logs out their other device", async ({ page, loginAs }) => {
  const email = `account-${Date.now()}@example.com`;
  const password = "a-long-password";
  await page.goto("/signup");
  await page.getByLabel("Name").fill("Olga Original");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/studies$/);

  // The same person on a second device.
  const phone = await loginAs(email, { password });

  await page.getByRole("link", { name: "Account" }).click();
  await expect(page.getByRole("heading", { name: "Account" })).toBeVisible();
  const devices = page.getByRole("list", { name: "Logged-in devices" }).getByRole("listitem");
  await expect(devices).toHaveCount(2);
  await expect(devices.filter({ hasText: "(this device)" })).toHaveCount(1);

  await page.getByLabel("Name").fill("Olga Renamed");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByRole("status")).toHaveText("Your name was changed.");
  await expect(page.getByRole("banner")).toContainText("Olga Renamed");

  await page.getByRole("button", { name: "Log out other devices" }).click();
  await expect(page.getByRole("status")).toHaveText("Logged out 1 other device.");
  await expect(devices).toHaveCount(1);

  // The other device is logged out on its next request; this one stays in.
  await phone.goto("/studies");
  await expect(phone).toHaveURL(/\/login/);
  await page.goto("/studies");
  await expect(page).toHaveURL(/\/studies$/);
  await expect(page.getByRole("banner")).toContainText("Olga Renamed");
});
