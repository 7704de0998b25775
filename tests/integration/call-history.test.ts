// The call history: every state change stored as a video_call_events row in its own transaction
// (surviving a SIGKILL of the server), speaking time, and who may see the history pages and CSV.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { QueryTypes } from "sequelize";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { VideoCallParticipant, type Study, type User } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import { logger } from "../../server/logger.js";
import { createServices, type Services } from "../../server/services/index.js";
import { createContextInner } from "../../server/trpc/context.js";
import { createCaller } from "../../server/trpc/routers/_app.js";
import { TABLE_HEADER, tableRows, toCsv } from "../../app/utils/call-table.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { trpcClient } from "../helpers/trpc-client.js";
import { ensureRemixBuild, ManualClock, sessionCookie, startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
const SECRET = "x".repeat(32);
const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

interface EventRow {
  kind: string;
  at: Date;
  actorId: string | null;
  targetId: string | null;
  payload: Record<string, unknown>;
}
const eventsOf = (sessionId: string) =>
  db().sequelize.query<EventRow>(
    `SELECT kind, at, "actorId", "targetId", payload FROM video_call_events WHERE "sessionId" = $1 ORDER BY id`,
    { bind: [sessionId], type: QueryTypes.SELECT },
  );
/** The session's events once there are at least `n` (a drop is closed a moment after its timer fires). */
async function eventsUntil(sessionId: string, n: number): Promise<EventRow[]> {
  let rows = await eventsOf(sessionId);
  for (let i = 0; i < 500 && rows.length < n; i++) {
    await new Promise((r) => setTimeout(r, 10));
    rows = await eventsOf(sessionId);
  }
  return rows;
}
/** "kind:who" per event, who being the first letter of the target's (or actor's) name. */
const script = (rows: EventRow[], names: Record<string, string>) =>
  rows.map((r) => {
    const who = r.targetId ?? r.actorId;
    return who ? `${r.kind}:${names[who]}` : r.kind;
  });

async function trio() {
  const alice = await makeUser("Alice");
  const bob = await makeUser("Bob");
  const study = await makeStudy(alice);
  await addMember(study, bob, "ACTIVE");
  return { alice, bob, study, names: { [alice.id]: "A", [bob.id]: "B" } };
}

describe("call events, in-process with a manual clock", () => {
  let clock: ManualClock;
  let services: Services;
  afterEach(() => services?.stop());
  const as = (user: User) =>
    createCaller(
      createContextInner({
        services,
        user: { id: user.id, email: user.email, name: user.name, avatarUrl: user.avatarUrl },
        log: logger,
      }),
    );

  it("stores every state change at the server's time, and accrues speaking only with the mic on", async () => {
    clock = new ManualClock();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
    const { alice, bob, study, names } = await trio();
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const sessionId = session.id;
    await as(alice).videoCall.join({ studyId: study.id, sessionId });
    clock.advance(5);
    const bobJoin = await as(bob).videoCall.join({ studyId: study.id, sessionId });
    clock.advance(5);
    await as(alice).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false, speaking: true });
    clock.advance(20);
    // Muted while the detector still says speaking: the 10 s after this don't count as speaking.
    await as(alice).videoCall.setMedia({ sessionId, audio: false, video: true, screen: false, speaking: true });
    clock.advance(10);
    await as(alice).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false, speaking: false });
    // A repeat of the same flags is no change and no event.
    await as(alice).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false, speaking: false });
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: false, screen: true });
    await as(bob).videoCall.setHand({ sessionId, raised: true });
    await as(bob).videoCall.setHand({ sessionId, raised: true });
    await as(alice).videoCall.join({ studyId: study.id, sessionId });
    await as(alice).videoCall.reportLink({
      sessionId,
      remotePeerId: bobJoin.peerId,
      state: "reconnecting",
      attempt: 1,
      maxAttempts: 3,
    });
    clock.advance(3);
    await as(bob).videoCall.leave({ sessionId });
    clock.advance(2);
    await as(alice).videoCall.leave({ sessionId });

    const rows = await eventsOf(sessionId);
    expect(script(rows, names)).toEqual([
      "started:A",
      "joined:A",
      "joined:B",
      "media:A", // speaking
      "media:A", // muted
      "media:A", // unmuted, silent
      "media:B", // camera off, sharing
      "hand:B",
      "left:A", // the rejoin closes the old participation…
      "joined:A", // …and opens a new one
      "link:B", // Alice reports her link to Bob
      "left:B",
      "left:A",
      "ended",
    ]);
    const t0 = Date.parse("2026-01-05T10:00:00.000Z");
    expect(rows.map((r) => (new Date(r.at).getTime() - t0) / 1000)).toEqual([
      0, 0, 5, 10, 30, 40, 40, 40, 40, 40, 40, 43, 45, 45,
    ]);
    expect(rows[3]!.payload).toEqual({ audio: true, video: true, screen: false, speaking: true });
    expect(rows[8]!.payload).toMatchObject({ reason: "LEFT" });
    expect(rows[10]).toMatchObject({ actorId: alice.id, targetId: bob.id });
    expect(rows[10]!.payload).toMatchObject({ state: "reconnecting", attempt: 1, maxAttempts: 3 });

    const aliceRows = await VideoCallParticipant.findAll({
      where: { sessionId, userId: alice.id },
      order: [["joinedAt", "ASC"]],
    });
    expect(aliceRows.map((r) => r.speakingTime)).toEqual([20, 0]);
    const { people } = await as(bob).videoCall.record({ studyId: study.id, sessionId });
    expect(people.find((p) => p.userId === alice.id)).toMatchObject({
      secondsSpeaking: 20,
      secondsMuted: 10,
      joins: 2,
    });
    expect(people.find((p) => p.userId === bob.id)).toMatchObject({ handsRaised: 1, leaveReason: "LEFT" });
  });

  it("a call from before events were stored still shows who was there and how they left", async () => {
    clock = new ManualClock();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
    const { alice, bob, study } = await trio();
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    clock.advance(7);
    await as(alice).videoCall.leave({ sessionId: session.id });
    await db().sequelize.query(`DELETE FROM video_call_events WHERE "sessionId" = $1`, { bind: [session.id] });
    const { events } = await as(bob).videoCall.record({ studyId: study.id, sessionId: session.id });
    expect(events.map((e) => [e.kind, e.targetId, e.payload])).toEqual([
      ["joined", alice.id, {}],
      ["left", alice.id, { reason: "LEFT" }],
    ]);
  });

  it("a participation written already closed gets its join and its leave", async () => {
    clock = new ManualClock();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
    const { alice, study, names } = await trio();
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const t = clock.now();
    await VideoCallParticipant.create({
      sessionId: session.id,
      userId: alice.id,
      peerId: "pimported",
      joinedAt: t,
      leftAt: new Date(t.getTime() + 5_000),
      leaveReason: "DROPPED",
      duration: 5,
      lastSeenAt: t,
      audio: true,
      video: true,
      audioChangedAt: t,
      videoChangedAt: t,
      screenChangedAt: t,
    });
    const rows = await eventsOf(session.id);
    expect(script(rows, names)).toEqual(["started:A", "joined:A", "left:A"]);
    expect(rows[2]!.payload).toMatchObject({ reason: "DROPPED" });
  });

  it("a drop (grace ran out) is stored as left DROPPED", async () => {
    clock = new ManualClock();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET, DROP_GRACE_MS: 50 }, { now: clock.now });
    const { alice, study, names } = await trio();
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const join = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    services.videoCall.peerAccess.onConnect(join.peerId);
    services.videoCall.peerAccess.onDisconnect(join.peerId);
    const rows = await eventsUntil(session.id, 4);
    expect(script(rows, names)).toEqual(["started:A", "joined:A", "left:A", "ended"]);
    expect(rows[2]!.payload).toMatchObject({ reason: "DROPPED" });
  });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** The real server (server/index.ts) as its own process, so it can be SIGKILLed mid-call. */
async function spawnServer(): Promise<{ proc: ChildProcess; url: string }> {
  await ensureRemixBuild();
  const proc = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: path.resolve(import.meta.dirname, "../.."),
    env: {
      ...process.env,
      NODE_ENV: "test",
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
      DATABASE_URL: db().url,
      REDIS_URL: "",
      SESSION_SECRET: SECRET,
      DATA_DIR: path.join(os.tmpdir(), "coup-test-data"),
      SEED_DEMO: "never",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanup.push(() => void proc.kill("SIGKILL"));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
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
    proc.once("exit", (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
  return { proc, url };
}

describe("call events survive a server killed mid-call", () => {
  it("every acknowledged change before the SIGKILL is stored; the next start drops the leftovers", async () => {
    const minting = createServices(db().sequelize, { SESSION_SECRET: SECRET });
    cleanup.push(() => minting.stop());
    const { alice, bob, study, names } = await trio();
    const aliceApi = trpcClient((await spawnOnce()).url, await sessionCookie(minting, alice.id));
    const bobApi = trpcClient((await spawnOnce()).url, await sessionCookie(minting, bob.id));

    const { session } = await aliceApi.videoCall.start.mutate({ studyId: study.id });
    const sessionId = session.id;
    await aliceApi.videoCall.join.mutate({ studyId: study.id, sessionId });
    const b = await bobApi.videoCall.join.mutate({ studyId: study.id, sessionId });
    await aliceApi.videoCall.setMedia.mutate({ sessionId, audio: false, video: true, screen: false });
    await bobApi.videoCall.setMedia.mutate({ sessionId, audio: true, video: true, screen: true, speaking: true });
    await aliceApi.videoCall.setHand.mutate({ sessionId, raised: true });
    await aliceApi.videoCall.reportLink.mutate({
      sessionId,
      remotePeerId: b.peerId,
      state: "reconnecting",
      attempt: 2,
    });
    await bobApi.videoCall.setMedia.mutate({ sessionId, audio: true, video: true, screen: false, speaking: false });
    await aliceApi.videoCall.setHand.mutate({ sessionId, raised: false });

    const server = await spawnOnce();
    server.proc.kill("SIGKILL");
    await new Promise((r) => server.proc.once("exit", r));

    const before = ["started:A", "joined:A", "joined:B", "media:A", "media:B", "hand:A", "link:B", "media:B", "hand:A"];
    expect(script(await eventsOf(sessionId), names)).toEqual(before);

    // The next run gives the leftovers the drop grace, then closes them DROPPED and ends the call.
    const next = createServices(db().sequelize, { SESSION_SECRET: SECRET, DROP_GRACE_MS: 50 });
    cleanup.push(() => next.stop());
    await next.videoCall.startBackground();
    const after = script(await eventsUntil(sessionId, before.length + 3), names);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).sort()).toEqual(["ended", "left:A", "left:B"]);
  }, 120_000);
});

// One spawned server for the kill test (spawned on first use).
let spawned: Promise<{ proc: ChildProcess; url: string }> | null = null;
const spawnOnce = () => (spawned ??= spawnServer());

describe("history pages: who may see them", () => {
  let services: Services;
  let server: AppServer;
  let study: Study;
  let otherStudy: Study;
  let sessionId: string;
  let otherSessionId: string;
  let runningId: string;
  let aliceId: string;
  const cookies: Record<string, string> = {};

  beforeAll(async () => {
    const clock = new ManualClock();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
    server = await startTestServer(services);
    const alice = await makeUser("Alice");
    aliceId = alice.id;
    const bob = await makeUser('Bob, "the" builder');
    const mallory = await makeUser("Mallory");
    const pat = await makeUser("Pat");
    study = await makeStudy(alice);
    await addMember(study, bob, "ACTIVE");
    await addMember(study, pat, "PENDING");
    otherStudy = await makeStudy(mallory);
    for (const [k, u] of Object.entries({ alice, bob, mallory, pat })) cookies[k] = await sessionCookie(services, u.id);
    const as = (u: User) =>
      createCaller(
        createContextInner({
          services,
          user: { id: u.id, email: u.email, name: u.name, avatarUrl: u.avatarUrl },
          log: logger,
        }),
      );
    const run = async (owner: User, s: Study, guest?: User) => {
      const { session } = await as(owner).videoCall.start({ studyId: s.id });
      await as(owner).videoCall.join({ studyId: s.id, sessionId: session.id });
      clock.advance(1);
      if (guest) await as(guest).videoCall.join({ studyId: s.id, sessionId: session.id });
      clock.advance(29);
      await as(owner).videoCall.setMedia({ sessionId: session.id, audio: false, video: true, screen: false });
      await as(owner).chat.send({
        sessionId: session.id,
        body: "Notes are in the <shared> doc",
        clientId: "history-1",
      });
      clock.advance(30);
      if (guest) await as(guest).videoCall.leave({ sessionId: session.id });
      await as(owner).videoCall.leave({ sessionId: session.id });
      return session.id;
    };
    sessionId = await run(alice, study, bob);
    otherSessionId = await run(mallory, otherStudy);
    runningId = (await as(alice).videoCall.start({ studyId: study.id })).session.id;
  }, 120_000);
  afterAll(async () => {
    await services?.stop();
    await server?.close();
  });

  const get = (p: string, who?: string) =>
    fetch(`${server.url}${p}`, { headers: who ? { Cookie: cookies[who]! } : {}, redirect: "manual" });
  const pages = () => [
    `/studies/${study.id}/calls`,
    `/studies/${study.id}/calls/${sessionId}`,
    `/studies/${study.id}/calls/${sessionId}/csv`,
  ];

  it("anonymous visitors are sent to log in", async () => {
    for (const p of pages()) {
      const res = await get(p);
      expect(res.status, p).toBe(302);
      expect(res.headers.get("location"), p).toMatch(/^\/login\?redirectTo=/);
    }
  });

  it("non-members and pending members are refused and see nothing of the call", async () => {
    for (const who of ["mallory", "pat"])
      for (const p of pages()) {
        const res = await get(p, who);
        expect(res.status, `${who} ${p}`).toBe(403);
        expect(await res.text()).not.toContain("Alice");
      }
  });

  it("another study's call id, a running call and a malformed id are 404", async () => {
    for (const id of [otherSessionId, runningId, "not-a-uuid", "00000000-0000-4000-8000-000000000000"]) {
      expect((await get(`/studies/${study.id}/calls/${id}`, "alice")).status, id).toBe(404);
      expect((await get(`/studies/${study.id}/calls/${id}/csv`, "alice")).status, id).toBe(404);
    }
  });

  it("members see the list, the call page (table, timeline, transcript) and a CSV matching the table", async () => {
    const study1 = await get(`/studies/${study.id}`, "bob");
    const home = await study1.text();
    expect(home).toContain("Past calls");
    expect(home).toContain(`/studies/${study.id}/calls/${sessionId}`);
    expect(home).not.toContain(`/calls/${runningId}`);

    const list = await (await get(`/studies/${study.id}/calls`, "bob")).text();
    expect(list).toContain(`/studies/${study.id}/calls/${sessionId}`);
    expect(list).toContain("Alice, Bob, &quot;the&quot; builder");

    const page = await get(`/studies/${study.id}/calls/${sessionId}`, "bob");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-testid="call-timeline"');
    expect(html).toMatch(/data-person="Alice"[^]*data-kind="muted"/);
    expect(html).toContain("Download CSV");
    expect(html).toContain("Notes are in the &lt;shared&gt; doc");

    const csv = await get(`/studies/${study.id}/calls/${sessionId}/csv`, "bob");
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(csv.headers.get("content-disposition")).toMatch(/^attachment; filename="call-.*\.csv"$/);
    const record = await services.videoCall.record(aliceId, { studyId: study.id, sessionId });
    const body = await csv.text();
    expect(body).toBe(toCsv(TABLE_HEADER, tableRows(record.people)));
    expect(body.split("\r\n")[1]).toBe("Alice,1:00,0:30,0:00,0:00,0:00,—,1,0,Left");
    expect(body.split("\r\n")[2]).toBe('"Bob, ""the"" builder",0:59,0:00,0:00,0:00,0:00,—,1,0,Left');
  });
});
