/**
 * Two app instances behind nginx round-robin (no sticky sessions), sharing Postgres and Redis.
 * Alice's signaling socket is on A and Bob's on B (read from the Redis peer registry); they see and
 * hear each other and mute shows across. Then A is SIGKILLed: Alice's PeerJS re-dials through
 * nginx to B, media never stops, and Carol, joining afterwards, connects to both.
 *
 * Runs its own Postgres, Redis, nginx and instances (never the Playwright webServer):
 *   npx remix build && bash scripts/isolated.sh npx playwright test tests/e2e/cluster.spec.ts
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import { Redis } from "ioredis";
import { QueryTypes } from "sequelize";
import { openDatabase, type Database } from "../../db/index.js";
import { seedDemo } from "../../db/seed.js";
import { Nginx } from "../../scripts/cluster/nginx.js";
import { expect, test } from "./fixtures";
import { expectAudioFlowing, expectVideoFlowing, joinCall, tile } from "./media";
import { AppServer, expectFramesWithin, freePort, isolated, openMember } from "./net";

test.skip(!isolated, "starts Postgres, Redis, nginx and two instances on loopback: run inside scripts/isolated.sh");

const PREFIX = "coup-e2e:";

/** Which instance holds each open participation's signaling socket, by the member's name. */
async function socketsByName(db: Database, redis: Redis): Promise<Record<string, string | null>> {
  const rows = await db.sequelize.query<{ peerId: string; name: string }>(
    `SELECT p."peerId", u.name FROM video_call_participants p JOIN users u ON u.id = p."userId" WHERE p."leftAt" IS NULL`,
    { type: QueryTypes.SELECT },
  );
  const out: Record<string, string | null> = {};
  for (const r of rows) out[r.name] = await redis.get(`${PREFIX}peer:${r.peerId}`);
  return out;
}

test("two instances behind nginx: a call across them survives the death of one", async ({ browser }) => {
  test.setTimeout(300_000);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "coup-e2e-cluster-"));
  chmodSync(dataDir, 0o755);
  const pages: Page[] = [];
  let redisProc: ChildProcess | null = null;
  let db: Database | null = null;
  const nginx = new Nginx(await freePort());
  const instances: AppServer[] = [];
  let redis: Redis | null = null;
  try {
    db = await openDatabase({ dataDir });
    await seedDemo(db.sequelize);
    const redisPort = await freePort();
    redisProc = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", ""], {
      stdio: "ignore",
    });
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    redis = new Redis(redisUrl, { retryStrategy: () => 100 });
    redis.on("error", () => {}); // refused until redis-server listens
    await expect.poll(() => redis!.ping().catch(() => "no"), { timeout: 10_000 }).toBe("PONG");

    const env = (id: string) => ({
      DATABASE_URL: db!.url,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: PREFIX,
      INSTANCE_ID: id,
      SESSION_SECRET: "e2e-cluster-secret-0123456789abcdef",
      SEED_DEMO: "never",
      DROP_GRACE_MS: "8000",
    });
    const A = new AppServer(await freePort(), env("A"));
    const B = new AppServer(await freePort(), env("B"));
    instances.push(A, B);
    await Promise.all([A.start(), B.start()]);

    const lb = `http://127.0.0.1:${nginx.port}`;
    // Only A while Alice dials in, only B while Bob does; then round-robin over both for everything else.
    await nginx.start([A.port]);
    const alice = await openMember(browser, lb, "alice@example.com");
    pages.push(alice);
    await joinCall(alice);
    await nginx.reload([B.port]);
    const bob = await openMember(browser, lb, "bob@example.com");
    pages.push(bob);
    await joinCall(bob);
    await nginx.reload([A.port, B.port]);

    await expect.poll(() => socketsByName(db!, redis!)).toEqual({ Alice: "A", Bob: "B" });
    await expectVideoFlowing(alice, "Bob");
    await expectVideoFlowing(bob, "Alice");
    await expectAudioFlowing(alice, "Bob");
    await expectAudioFlowing(bob, "Alice");

    // Mute on one instance's member shows on the other's (the event crosses Redis).
    await alice.getByRole("button", { name: "Mute microphone" }).click();
    await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toBeVisible();
    await alice.getByRole("button", { name: "Unmute microphone" }).click();
    await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toHaveCount(0);

    // A dies without a word. Peer-to-peer media never depended on it.
    await A.kill();
    await expectFramesWithin(alice, "Bob", 3_000);
    await expectFramesWithin(bob, "Alice", 3_000);
    // Alice's PeerJS re-dials through nginx and lands on B, the only one left; her seat is kept.
    await expect.poll(() => socketsByName(db!, redis!), { timeout: 20_000 }).toEqual({ Alice: "B", Bob: "B" });
    await expectFramesWithin(alice, "Bob", 3_000);
    await expectFramesWithin(bob, "Alice", 3_000);

    // Past the drop grace, nobody was dropped, and a newcomer connects to both.
    await new Promise((r) => setTimeout(r, 9_000));
    const carol = await openMember(browser, lb, "carol@example.com");
    pages.push(carol);
    await joinCall(carol);
    await expectVideoFlowing(carol, "Alice");
    await expectVideoFlowing(carol, "Bob");
    await expectVideoFlowing(alice, "Carol");
    await expectVideoFlowing(bob, "Carol");
    await expectAudioFlowing(carol, "Alice");
    await expect(alice.getByRole("button", { name: "Leave call" })).toBeVisible();
    expect(Object.keys(await socketsByName(db, redis)).sort()).toEqual(["Alice", "Bob", "Carol"]);
  } finally {
    for (const page of pages) await page.context().close();
    for (const i of instances) await i.stop();
    nginx.stop();
    redis?.disconnect();
    redisProc?.kill("SIGKILL");
    await db?.close();
  }
});
