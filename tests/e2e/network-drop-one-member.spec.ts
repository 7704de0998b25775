/**
 * One member's own network drops while the rest of the mesh is fine. Alice and Bob browse from the
 * test's namespace; Carol's browser runs in a namespace of her own behind a veth pair, so nft can
 * silence exactly her UDP (in one shared loopback, addresses can't tell members apart).
 *
 * Run: npx remix build && bash scripts/isolated.sh npx playwright test tests/e2e/network-drop-one-member.spec.ts
 */
import { chromium, type Browser, type Page } from "@playwright/test";
import { chromiumLaunchOptions } from "./browser";
import { expect, test } from "./fixtures";
import { expectVideoFlowing, joinCall, tile } from "./media";
import { AppServer, expectFramesWithin, freePort, isolated, MemberNetwork, openMember } from "./net";

test.skip(!isolated || process.getuid?.() !== 0, "needs root inside scripts/isolated.sh (network namespaces, nft)");

const overlay = (page: Page, name: string) => tile(page, name).getByRole("status");

// A server of its own, listening on the veth address too; no call left over from another spec.
const net = new MemberNetwork();
let server: AppServer | null = null;
let carolBrowser: Browser | null = null;
test.beforeAll(async () => {
  test.setTimeout(120_000);
  net.up();
  server = new AppServer(await freePort(), { HOST: "0.0.0.0" });
  await server.start();
});
test.afterAll(async () => {
  net.restore();
  await carolBrowser?.close();
  await server?.stop();
  net.down();
});

test("one member's network drops: the others see Reconnecting (2/3) on her tile, their own link keeps flowing, all recover", async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const alice = await openMember(browser, server!.url, "alice@example.com");
  await joinCall(alice);
  const bob = await openMember(browser, server!.url, "bob@example.com");
  await joinCall(bob);
  const carolURL = `http://${net.hostIp}:${server!.port}`;
  carolBrowser = await chromium.launch({
    // Camera and microphone need a secure context; this plain-http address is one only by decree.
    ...chromiumLaunchOptions([`--unsafely-treat-insecure-origin-as-secure=${carolURL}`]),
    executablePath: net.chromium(),
  });
  const carol = await openMember(carolBrowser, carolURL, "carol@example.com");
  await joinCall(carol);
  for (const [page, name] of [
    [alice, "Carol"],
    [bob, "Carol"],
    [carol, "Alice"],
    [carol, "Bob"],
    [alice, "Bob"],
  ] as const)
    await expectVideoFlowing(page, name);

  net.cutUdp();
  // The first re-dial fails too (her network is still down), so the others watch the count go up.
  await expect(overlay(alice, "Carol")).toHaveText("Reconnecting (2/3)", { timeout: 90_000 });
  await expect(overlay(bob, "Carol")).toHaveText(/^Reconnecting \([23]\/3\)$/, { timeout: 20_000 });
  // Carol sees the same from her side, for both of them.
  await expect(overlay(carol, "Alice")).toHaveText(/^Reconnecting \([123]\/3\)$/);
  await expect(overlay(carol, "Bob")).toHaveText(/^Reconnecting \([123]\/3\)$/);
  // Alice and Bob's own link never noticed, and neither tile blames the other for Carol's reports.
  await expect(overlay(alice, "Bob")).toHaveCount(0);
  await expect(overlay(bob, "Alice")).toHaveCount(0);
  await expectFramesWithin(alice, "Bob", 5_000);
  await expectFramesWithin(bob, "Alice", 5_000);

  net.restore();
  // The attempt under way (or the next one) gets through once her network is back.
  for (const [page, name] of [
    [alice, "Carol"],
    [bob, "Carol"],
    [carol, "Alice"],
    [carol, "Bob"],
  ] as const) {
    await expect(overlay(page, name)).toHaveCount(0, { timeout: 45_000 });
    await expectFramesWithin(page, name, 10_000);
  }

  for (const page of [carol, bob, alice]) {
    await page.getByRole("button", { name: "Leave call" }).click();
    await expect(page.getByText(/^(You left the call\.|The call has ended\.)$/)).toBeVisible();
  }
  await alice.context().close();
  await bob.context().close();
});
