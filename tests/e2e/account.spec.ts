import { expect, test } from "./fixtures";
import { joinCall, leaveCall, tile, trpcQuery } from "./media";

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

test("a member logged out from another device is taken out of the call within seconds", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  await joinCall(bob);
  await expect(tile(alice, "Bob")).toBeVisible();

  const bobsPhone = await loginAs("bob@example.com");
  await bobsPhone.goto("/account");
  await bobsPhone.getByRole("button", { name: "Log out other devices" }).click();
  await expect(bobsPhone.getByRole("status")).toHaveText(/Logged out \d+ other devices?\./);

  // Bob's laptop lost its session: everyone sees him go, and the record says he left (not DROPPED).
  await expect(tile(alice, "Bob")).toHaveCount(0, { timeout: 5_000 });
  await expect(tile(alice, "Alice (you)")).toBeVisible();
  const studyId = /\/studies\/([^/]+)\/call/.exec(alice.url())![1];
  await leaveCall(alice);
  type History = { sessions: Array<{ participants: Array<{ name: string; leaveReason: string | null }> }> };
  const history = await trpcQuery<History>(alice, "videoCall.history", { studyId, limit: 1 });
  expect(history.sessions[0]!.participants.find((p) => p.name === "Bob")?.leaveReason).toBe("LEFT");
});
