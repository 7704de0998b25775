import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

const DEMO_PASSWORD = "coup-demo-pass";

export async function logIn(page: Page, email: string, password = DEMO_PASSWORD) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/studies/);
}

type Fixtures = {
  /** A fresh browser context (its own cookies, camera, microphone) logged in as a demo user. */
  loginAs: (email: string, opts?: { permissions?: string[]; password?: string }) => Promise<Page>;
  /** Fails the test if any page broke the Content-Security-Policy while it ran. */
  cspGuard: void;
};

interface CspViolation {
  url: string;
  directive: string;
  blocked: string;
  sample: string;
}

/** Violations reported by any watched context and not yet blamed on a test. */
const cspViolations: CspViolation[] = [];
const watched = new WeakSet<BrowserContext>();

/**
 * Reports every `securitypolicyviolation` event of the context's pages (across navigations) so
 * the running test fails on it. Contexts made outside the fixtures (beforeAll helpers) call this too.
 */
export async function watchCsp(context: BrowserContext): Promise<void> {
  if (watched.has(context)) return;
  watched.add(context);
  await context.exposeBinding("__coupCspViolation", (_source, v: CspViolation) => {
    cspViolations.push(v);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      const report = (window as unknown as { __coupCspViolation?: (v: unknown) => void }).__coupCspViolation;
      report?.({
        url: e.documentURI,
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        sample: e.sample,
      });
    });
  });
}

async function newUserPage(browser: Browser, contexts: BrowserContext[], permissions: string[]) {
  const context = await browser.newContext({ permissions });
  contexts.push(context);
  await watchCsp(context);
  return context.newPage();
}

export const test = base.extend<Fixtures>({
  cspGuard: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads fixture dependencies from this pattern.
    async ({}, use) => {
      await use();
      const seen = cspViolations.splice(0);
      expect(seen, "Content-Security-Policy violations").toEqual([]);
    },
    { auto: true },
  ],
  context: async ({ context }, use) => {
    await watchCsp(context);
    await use(context);
  },
  loginAs: async ({ browser, baseURL }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (email, opts) => {
      const page = await newUserPage(browser, contexts, opts?.permissions ?? ["camera", "microphone"]);
      await page.goto(baseURL ?? "/");
      await logIn(page, email, opts?.password);
      return page;
    });
    for (const c of contexts) await c.close().catch(() => {});
  },
});

export { expect };
