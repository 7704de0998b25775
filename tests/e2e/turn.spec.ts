/**
 * A call relayed through coturn: its own app server (TURN_URLS/TURN_SECRET, ICE_TRANSPORT_POLICY
 * relay) and a coturn on 127.0.0.1 with TURN REST auth, both child processes inside the
 * loopback-only namespace.
 *
 * Run: npx remix build && bash scripts/isolated.sh npx playwright test tests/e2e/turn.spec.ts
 */
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { expectVideoFlowing, joinCall } from "./media";
import { AppServer, TurnServer, freePort, isolated, openMember, selectedCandidates, trackPeerConnections } from "./net";

test.skip(!isolated, "starts coturn and an app server on loopback: run inside scripts/isolated.sh");

test("with ICE_TRANSPORT_POLICY=relay the call goes through coturn and video decodes", async ({ browser }) => {
  test.setTimeout(180_000);
  const secret = "e2e-turn-secret-0123456789";
  const turnPort = await freePort();
  const relayMin = 49_200 + Math.floor(Math.random() * 500) * 10;
  const turn = new TurnServer(turnPort, secret, { min: relayMin, max: relayMin + 9 });
  const server = new AppServer(await freePort(), {
    TURN_URLS: turn.url,
    TURN_SECRET: secret,
    ICE_TRANSPORT_POLICY: "relay",
  });
  const pages: Page[] = [];
  try {
    await turn.start();
    await server.start();
    for (const email of ["alice@example.com", "bob@example.com"]) {
      const page = await openMember(browser, server.url, email);
      await trackPeerConnections(page);
      pages.push(page);
    }
    const [alice, bob] = pages as [Page, Page];

    // join hands out TURN REST credentials for the configured URL, with the relay-only policy.
    const joined = alice.waitForResponse((r) => r.url().includes("videoCall.join") && r.ok());
    await joinCall(alice);
    const body = JSON.stringify(await (await joined).json());
    expect(body).toContain(turn.url);
    expect(body).toContain('"iceTransportPolicy":"relay"');
    await joinCall(bob);

    await expectVideoFlowing(alice, "Bob");
    await expectVideoFlowing(bob, "Alice");
    for (const page of pages) {
      const pairs = await selectedCandidates(page);
      expect(pairs.length, turn.log).toBeGreaterThan(0);
      for (const p of pairs) expect(p.candidateType).toBe("relay");
    }
  } finally {
    for (const page of pages) await page.context().close();
    await server.stop();
    await turn.stop();
  }
});
