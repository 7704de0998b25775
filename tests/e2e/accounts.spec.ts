import { expect, logIn, test } from "./fixtures";

test("a newcomer signs up, creates a study, sees it listed and logs out", async ({ page }) => {
  const email = `newcomer-${Date.now()}@example.com`;
  await page.goto("/studies");
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Fstudies/);
  await page.getByRole("link", { name: "Sign up" }).first().click();
  await page.getByLabel("Name").fill("Nora Newcomer");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("a-long-password");
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect(page).toHaveURL(/\/studies$/);
  await page.getByLabel("Study name").fill("Linear Algebra Circle");
  await page.getByRole("button", { name: "Create study" }).click();
  await expect(page.getByRole("heading", { name: "Linear Algebra Circle" })).toBeVisible();
  await expect(page.getByRole("list", { name: "Members", exact: true })).toContainText("Nora Newcomer");
  await page.goto("/studies");
  await expect(
    page.getByRole("list", { name: "My studies" }).getByRole("link", { name: "Linear Algebra Circle" }),
  ).toBeVisible();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/studies");
  await expect(page).toHaveURL(/\/login/);
});

test("Alice sees Algorithms Study with its members", async ({ loginAs }) => {
  const page = await loginAs("alice@example.com");
  await page.getByRole("link", { name: "Algorithms Study" }).click();
  await expect(page.getByRole("heading", { name: "Algorithms Study" })).toBeVisible();
  const members = page.getByRole("list", { name: "Members", exact: true });
  for (const name of ["Alice", "Bob", "Carol", "Dave"]) await expect(members).toContainText(name);
  await expect(members).toContainText("owner");
  // Pat is waiting for approval; Alice as owner sees the request.
  await expect(page.getByRole("list", { name: "Pending members" })).toContainText("Pat");
});

test("Mallory opening Algorithms Study gets the access denied page", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await alice.getByRole("link", { name: "Algorithms Study" }).click();
  await expect(alice.getByRole("heading", { name: "Algorithms Study" })).toBeVisible();
  const studyUrl = new URL(alice.url()).pathname;
  const mallory = await loginAs("mallory@example.com");
  const res = await mallory.goto(studyUrl);
  expect(res?.status()).toBe(403);
  await expect(mallory.getByRole("heading", { name: "Access denied" })).toBeVisible();
  await expect(mallory.getByText("You are not a member of this study.")).toBeVisible();
  await expect(mallory.getByText("Bob")).toHaveCount(0);
});

test("a wrong password shows one clear message", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Email").fill("alice@example.com");
  await page.getByLabel("Password").fill("not-her-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
  // The same message for an email that doesn't exist: nothing reveals which accounts exist.
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByLabel("Password").fill("whatever-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid email or password.");
  await logIn(page, "bob@example.com");
});
