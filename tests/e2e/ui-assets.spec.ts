/** Static assets from public/ (favicon, icons, web manifest) and the opt-in debug panel (issue 20 §8, issue 11 §5). */
import { expect, test } from "./fixtures";
import { openCallPage, openStudy } from "./media";

test("the favicon, icons and web manifest are served and linked from every page", async ({ page, request }) => {
  const ico = await request.get("/favicon.ico");
  expect(ico.status()).toBe(200);
  expect(ico.headers()["content-type"]).toMatch(/^image\//);

  await page.goto("/login");
  const manifestHref = await page.locator('link[rel="manifest"]').getAttribute("href");
  expect(manifestHref).toBeTruthy();
  const manifest = await request.get(manifestHref!);
  expect(manifest.status()).toBe(200);
  const body = (await manifest.json()) as { name: string; icons: Array<{ src: string; sizes: string }> };
  expect(body.name).toBe("CoUp study rooms");
  expect(body.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
  const linked = await page
    .locator('link[rel="icon"], link[rel="apple-touch-icon"]')
    .evaluateAll((els) => els.map((el) => el.getAttribute("href")!));
  for (const href of [...linked, ...body.icons.map((i) => i.src)]) {
    const res = await request.get(href);
    expect(res.status(), href).toBe(200);
    expect(res.headers()["content-type"], href).toMatch(/^image\//);
  }
});

test("the debug panel shows only with ?debug=1", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await openCallPage(alice, studyId);
  await expect(alice.getByRole("region", { name: "Debug panel" })).toHaveCount(0);
  await alice.goto(`/studies/${studyId}/call?debug=1`);
  await expect(alice.getByRole("region", { name: "Debug panel" })).toBeVisible();
});
