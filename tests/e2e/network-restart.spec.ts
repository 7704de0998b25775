/**
 * The app server restarts mid-call. This spec runs its OWN server (child process, fixed DATA_DIR so
 * the embedded database survives the restart), never the Playwright webServer.
 *
 * Run: npx remix build && bash scripts/isolated.sh npx playwright test tests/e2e/network-restart.spec.ts
 */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { expectVideoFlowing, joinCall } from "./media";
import { AppServer, expectFramesWithin, freePort, isolated, openMember } from "./net";

test.skip(!isolated, "starts its own app server on loopback: run inside scripts/isolated.sh");

const banner = (page: Page) => page.getByRole("alert").filter({ hasText: "Reconnecting to the call server" });

test("a server restart: media keeps flowing, clients re-register within 3 s, a newcomer then connects", async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const server = new AppServer(await freePort());
  const pages: Page[] = [];
  try {
    await server.start();
    const alice = await openMember(browser, server.url, "alice@example.com");
    pages.push(alice);
    await joinCall(alice);
    const bob = await openMember(browser, server.url, "bob@example.com");
    pages.push(bob);
    await joinCall(bob);
    await expectVideoFlowing(alice, "Bob");
    await expectVideoFlowing(bob, "Alice");

    await server.stop();
    // The PeerServer socket is gone: both see the banner, and their peer-to-peer media keeps going.
    await expect(banner(alice)).toBeVisible({ timeout: 10_000 });
    await expect(banner(bob)).toBeVisible({ timeout: 10_000 });
    await expectFramesWithin(alice, "Bob", 5_000);
    await expectFramesWithin(bob, "Alice", 5_000);

    await server.start();
    const backAt = Date.now();
    // Same peer id, inside the server's boot grace: no rejoin, the banner just goes away.
    await expect(banner(alice)).toHaveCount(0, { timeout: 3_000 });
    await expect(banner(bob)).toHaveCount(0, { timeout: Math.max(500, 3_000 - (Date.now() - backAt)) });
    await expectFramesWithin(alice, "Bob", 5_000);
    await expect(alice.getByRole("button", { name: "Leave call" })).toBeVisible();

    // Past the drop grace the participations are still there, and a newcomer connects to both.
    const carol = await openMember(browser, server.url, "carol@example.com");
    pages.push(carol);
    await joinCall(carol);
    await expectVideoFlowing(carol, "Alice");
    await expectVideoFlowing(carol, "Bob");
    await expectVideoFlowing(alice, "Carol");
    await expectVideoFlowing(bob, "Carol");
  } finally {
    for (const page of pages) await page.context().close();
    await server.stop();
  }
});
