// Instances dying (SIGKILL, no clean shutdown) and Redis going away: survivors close the dead one's participations once, health says so, everything recovers.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { VideoCallParticipant, VideoCallSession } from "../../db/models/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import {
  client,
  dropPrefix,
  eventually,
  newPrefix,
  peerSocket,
  REDIS_URL,
  SECRET,
  startInstance,
  subscribe,
  type Instance,
} from "./cluster-harness.js";
import { ensureRemixBuild, sessionCookie } from "./video-call-harness.js";

const db = useTestDatabase();
const cleanup: Array<() => Promise<void> | void> = [];
const prefixes: string[] = [];
const freshPrefix = () => {
  const p = newPrefix();
  prefixes.push(p);
  return p;
};
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
  for (const p of prefixes) await dropPrefix(p);
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The real server (server/index.ts) as its own process, so it can be SIGKILLed. */
async function spawnInstance(id: string, prefix: string): Promise<{ proc: ChildProcess; url: string }> {
  await ensureRemixBuild();
  const proc = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: {
      ...process.env,
      NODE_ENV: "test",
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      DATABASE_URL: db().url,
      REDIS_URL,
      REDIS_PREFIX: prefix,
      INSTANCE_ID: id,
      SESSION_SECRET: SECRET,
      DATA_DIR: path.join(os.tmpdir(), "coup-test-data"),
      DROP_GRACE_MS: "300",
      SEED_DEMO: "never",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanup.push(() => void proc.kill("SIGKILL"));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`instance ${id} did not start: ${out}`)), 30_000);
    const read = (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on("data", read);
    proc.stderr!.on("data", read);
    proc.once("exit", (code) => reject(new Error(`instance ${id} exited (${code}): ${out}`)));
  });
  return { proc, url };
}

describe("cluster failover", () => {
  it("SIGKILL of instance A: a survivor closes A's participations DROPPED after the grace, exactly once", async () => {
    const prefix = freshPrefix();
    // A grace of seconds, as in production (8 s): a survivor merely slowed down by a loaded machine
    // (a late heartbeat looks like death) gets its heartbeat in before anything of its own is dropped.
    const B = await startInstance(db().sequelize, { id: "B", prefix, dropGraceMs: 3_000 });
    const C = await startInstance(db().sequelize, { id: "C", prefix, dropGraceMs: 3_000 });
    cleanup.push(
      () => B.stop(),
      () => C.stop(),
    );
    const A = await spawnInstance("A", prefix);

    const alice = await makeUser("Alice");
    const bob = await makeUser("Bob");
    const study = await makeStudy(alice);
    await addMember(study, bob, "ACTIVE");
    const aliceCookie = await sessionCookie(B.services, alice.id);
    const bobCookie = await sessionCookie(B.services, bob.id);

    const { session } = await client(A.url, aliceCookie).videoCall.start.mutate({ studyId: study.id });
    const a = await client(A.url, aliceCookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const b = await client(B.url, bobCookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sa = await peerSocket(A.url, aliceCookie, a.peerId);
    const sb = await peerSocket(B.url, bobCookie, b.peerId);
    expect(await B.services.cluster!.registry.whereIs(a.peerId)).toBe("A");
    const watchB = subscribe(B.url, bobCookie, { studyId: study.id });
    const watchC = subscribe(C.url, bobCookie, { studyId: study.id });
    await watchB.until((e) => e.length >= 1, "snapshot on B");
    await watchC.until((e) => e.length >= 1, "snapshot on C");

    const killedAt = Date.now();
    A.proc.kill("SIGKILL");
    await new Promise((r) => A.proc.once("exit", r));
    sa.close();

    const leftOf = (events: Array<{ type: string; peerId?: string }>) =>
      events.filter((e) => e.type === "user-left" && e.peerId === a.peerId);
    await watchC.until((e) => leftOf(e as never).length >= 1, "Alice DROPPED", 25_000);
    const droppedAfter = Date.now() - killedAt;
    // Detection plus the grace (3 s), not before. A's alive key (5 s TTL) was last refreshed by its
    // heartbeat up to 1 s before the kill, so it expires 4–5 s after it.
    expect(droppedAfter).toBeGreaterThanOrEqual(7_000);
    expect(leftOf(watchC.received.map((r) => r.event) as never)[0]).toMatchObject({ reason: "DROPPED" });
    // Give a second survivor every chance to drop again.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(leftOf(watchB.received.map((r) => r.event) as never)).toHaveLength(1);
    expect(leftOf(watchC.received.map((r) => r.event) as never)).toHaveLength(1);
    const rows = await VideoCallParticipant.findAll({ where: { sessionId: session.id } });
    expect(rows.filter((r) => r.peerId === a.peerId).map((r) => r.leaveReason)).toEqual(["DROPPED"]);
    // Bob, on a survivor, is untouched and the call goes on.
    expect(rows.find((r) => r.peerId === b.peerId)?.leftAt).toBeNull();
    expect((await VideoCallSession.findByPk(session.id))?.endedAt).toBeNull();
    watchB.close();
    watchC.close();
    sb.close();
  }, 60_000);

  it("an instance's peer that re-dials a survivor within the grace is not dropped", async () => {
    const prefix = freshPrefix();
    const B = await startInstance(db().sequelize, { id: "B2", prefix, dropGraceMs: 2_000 });
    cleanup.push(() => B.stop());
    const A = await spawnInstance("A2", prefix);
    const alice = await makeUser("Alice");
    const study = await makeStudy(alice);
    const cookie = await sessionCookie(B.services, alice.id);
    const { session } = await client(A.url, cookie).videoCall.start.mutate({ studyId: study.id });
    const a = await client(A.url, cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sa = await peerSocket(A.url, cookie, a.peerId);
    A.proc.kill("SIGKILL");
    sa.close();
    // The browser's PeerJS re-dials through the load balancer and lands on B.
    const again = await peerSocket(B.url, cookie, a.peerId);
    expect(again.messages[0]).toMatchObject({ type: "OPEN" });
    await new Promise((r) => setTimeout(r, 5_000 + 2_000 + 1_500));
    const row = await VideoCallParticipant.findOne({ where: { peerId: a.peerId } });
    expect(row?.leftAt).toBeNull();
    again.close();
  }, 60_000);
});

describe("slow instance", () => {
  it("an instance that misses heartbeats for longer than the TTL but comes back within the grace keeps its members", async () => {
    const prefix = freshPrefix();
    const E1 = await startInstance(db().sequelize, { id: "E1", prefix, dropGraceMs: 4_000 });
    const E2 = await startInstance(db().sequelize, { id: "E2", prefix, dropGraceMs: 4_000 });
    cleanup.push(
      () => E1.stop(),
      () => E2.stop(),
    );
    const bob = await makeUser("Bob");
    const study = await makeStudy(bob);
    const cookie = await sessionCookie(E1.services, bob.id);
    const { session } = await client(E2.url, cookie).videoCall.start.mutate({ studyId: study.id });
    const b = await client(E2.url, cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sb = await peerSocket(E2.url, cookie, b.peerId);
    const registry = E2.services.cluster!.registry;
    registry.abandon(); // E2's event loop "stalls": no heartbeats
    // E1 presumes E2 dead once its alive key expires, and arms the grace for Bob.
    await eventually(
      () => E1.services.cluster!.registry.isAlive("E2"),
      (alive) => !alive,
      10_000,
    );
    await eventually(
      async () => E1.services.videoCall.pendingDrops(),
      (n) => n === 1,
      5_000,
    );
    registry.start(); // E2 is back before the grace ends
    await new Promise((r) => setTimeout(r, 5_000));
    expect(E1.services.videoCall.pendingDrops()).toBe(0);
    const row = await VideoCallParticipant.findOne({ where: { peerId: b.peerId } });
    expect(row?.leftAt).toBeNull();
    sb.close();
  }, 40_000);
});

describe("Redis outage", () => {
  it("health goes 503 while Redis is down and everything recovers when it returns", async () => {
    const port = await freePort();
    const startRedis = () => {
      const p = spawn(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        {
          stdio: "ignore",
        },
      );
      cleanup.push(() => void p.kill("SIGKILL"));
      return p;
    };
    let redis = startRedis();
    const redisUrl = `redis://127.0.0.1:${port}`;
    await eventually(
      () =>
        fetch(`http://127.0.0.1:${port}`).then(
          () => true,
          (e: Error) => !String(e.cause).includes("ECONNREFUSED"),
        ),
      (v) => v,
      5_000,
    );
    const prefix = freshPrefix();
    const D = await startInstance(db().sequelize, { id: "D", prefix, redisUrl });
    const E = await startInstance(db().sequelize, { id: "E", prefix, redisUrl });
    cleanup.push(
      () => D.stop(),
      () => E.stop(),
    );
    const health = async (i: Instance) => {
      const res = await fetch(`${i.url}/healthz`);
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    expect(await health(D)).toEqual({ status: 200, body: { status: "ok", db: "ok", redis: "ok" } });

    const alice = await makeUser("Alice");
    const study = await makeStudy(alice);
    const cookie = await sessionCookie(D.services, alice.id);
    const watchE = subscribe(E.url, cookie, { studyId: study.id });
    await watchE.until((e) => e.length >= 1, "snapshot");

    redis.kill("SIGKILL");
    await new Promise((r) => redis.once("exit", r));
    const down = await eventually(
      () => health(D),
      (h) => h.status === 503,
      5_000,
    );
    expect(down).toEqual({ status: 503, body: { status: "degraded", db: "ok", redis: "down" } });
    // The app itself still answers (the database is the truth); only the cluster-wide fan-out waits.
    const { session } = await client(D.url, cookie).videoCall.start.mutate({ studyId: study.id });
    expect(session.id).toBeTruthy();

    redis = startRedis();
    for (const i of [D, E]) {
      const up = await eventually(
        () => health(i),
        (h) => h.status === 200,
        10_000,
      );
      expect(up.body).toEqual({ status: "ok", db: "ok", redis: "ok" });
    }
    // The stream opened before the outage still gets events published after it.
    await eventually(
      async () => D.services.cluster!.redis.health(),
      (h) => h === "ok",
    );
    await new Promise((r) => setTimeout(r, 500));
    // The call started during the outage reaches the stream late rather than never.
    await watchE.until((e) => e.some((x) => x.type === "session-started"), "held session-started", 10_000);
    await client(D.url, cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await watchE.until((e) => e.some((x) => x.type === "user-joined"), "user-joined after recovery", 10_000);
    expect(watchE.types()).toEqual(["snapshot", "session-started", "user-joined"]);
    watchE.close();
  }, 60_000);
});
