import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

export const DEMO_PASSWORD = "coup-demo-pass";

export async function logIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/studies/);
}

type Fixtures = {
  /** A fresh browser context (its own cookies, camera, microphone) logged in as a demo user. */
  loginAs: (email: string, opts?: { permissions?: string[] }) => Promise<Page>;
};

async function newUserPage(browser: Browser, contexts: BrowserContext[], permissions: string[]) {
  const context = await browser.newContext({ permissions });
  contexts.push(context);
  return context.newPage();
}

export const test = base.extend<Fixtures>({
  loginAs: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (email, opts) => {
      const page = await newUserPage(browser, contexts, opts?.permissions ?? ["camera", "microphone"]);
      await page.goto(baseURL ?? "/");
      await logIn(page, email);
      return page;
    });
    for (const c of contexts) await c.close().catch(() => {});
  },
});

export { expect };
