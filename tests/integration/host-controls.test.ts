// Host controls on the videoCall router: who may act on whom, what each action changes and tells the room,
// bans and locks under concurrent joins, permissions after a restart, and the removed peer's socket closing.
import { isTrackedEnvelope, TRPCError } from "@trpc/server";
import WebSocket from "ws";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VideoCallParticipant, type User } from "../../db/models/index.js";
import type { RoomStreamEvent } from "../../server/events.js";
import { logger } from "../../server/logger.js";
import { createServices, type Services } from "../../server/services/index.js";
import { createContextInner } from "../../server/trpc/context.js";
import { createCaller } from "../../server/trpc/routers/_app.js";
import { truncateAll, useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { ManualClock, sessionCookie, startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
const SECRET = "x".repeat(32);

let clock: ManualClock;
let services: Services;
const extra: Services[] = [];

beforeEach(async () => {
  await truncateAll(db().sequelize);
  clock = new ManualClock();
  services = createServices(db().sequelize, { SESSION_SECRET: SECRET, DROP_GRACE_MS: 100 }, { now: clock.now });
});
afterEach(async () => {
  await services.stop();
  for (const s of extra.splice(0)) await s.stop();
});

function as(user: User | null, opts: { signal?: AbortSignal; on?: Services } = {}) {
  const sessionUser = user ? { id: user.id, email: user.email, name: user.name, avatarUrl: user.avatarUrl } : null;
  return createCaller(createContextInner({ services: opts.on ?? services, user: sessionUser, log: logger }), {
    signal: opts.signal,
  });
}

async function watch(user: User, studyId: string) {
  const abort = new AbortController();
  const received: RoomStreamEvent[] = [];
  const iterable = await as(user, { signal: abort.signal }).videoCall.events({ studyId });
  const done = (async () => {
    for await (const item of iterable) {
      if (!isTrackedEnvelope(item)) throw new Error("events must be tracked");
      received.push(item[1] as RoomStreamEvent);
    }
  })().catch(() => {});
  return {
    received,
    async until(predicate: (events: RoomStreamEvent[]) => boolean, what: string) {
      for (let i = 0; i < 300 && !predicate(received); i++) await new Promise((r) => setTimeout(r, 10));
      if (!predicate(received)) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received)}`);
    },
    async close() {
      abort.abort();
      await done;
    },
  };
}

/** Alice (OWNER), Adam (ADMIN), Bob and Carol (MEMBER) in a running call; Mallory is in no study. */
async function call() {
  const alice = await makeUser("Alice");
  const study = await makeStudy(alice);
  const adam = await makeUser("Adam");
  await addMember(study, adam, "ACTIVE", "ADMIN");
  const bob = await makeUser("Bob");
  await addMember(study, bob);
  const carol = await makeUser("Carol");
  await addMember(study, carol);
  const mallory = await makeUser("Mallory");
  const { session } = await as(alice).videoCall.start({ studyId: study.id });
  const sessionId = session.id;
  const joins: Record<string, Awaited<ReturnType<ReturnType<typeof as>["videoCall"]["join"]>>> = {};
  for (const u of [alice, adam, bob, carol])
    joins[u.name] = await as(u).videoCall.join({ studyId: study.id, sessionId });
  return { study, sessionId, alice, adam, bob, carol, mallory, joins };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}

async function open(sessionId: string, userId: string) {
  return VideoCallParticipant.findOne({ where: { sessionId, userId, leftAt: null } });
}

async function logCount(): Promise<number> {
  const [rows] = await db().sequelize.query(`SELECT count(*)::int AS n FROM video_call_moderation`);
  return (rows as Array<{ n: number }>)[0]!.n;
}

describe("host controls: who may act on whom", () => {
  it("anonymous, non-member, MEMBER, ADMIN on OWNER and self are refused by every procedure, changing nothing", async () => {
    const { sessionId, alice, adam, bob, carol, mallory } = await call();
    const everyone = { unmute: "hosts", camera: "hosts", screenShare: "hosts", locked: true } as const;
    type Caller = ReturnType<typeof as>;
    // Each procedure as `who` acting on `target` (ignored by the ones that act on everyone).
    const procedures: Record<string, (c: Caller, target: User) => Promise<unknown>> = {
      muteParticipant: (c, t) => c.videoCall.muteParticipant({ sessionId, userId: t.id }),
      askToUnmute: (c, t) => c.videoCall.askToUnmute({ sessionId, userId: t.id }),
      removeParticipant: (c, t) => c.videoCall.removeParticipant({ sessionId, userId: t.id, ban: true }),
      lowerHand: (c, t) => c.videoCall.lowerHand({ sessionId, userId: t.id }),
      muteAll: (c) => c.videoCall.muteAll({ sessionId }),
      setPermissions: (c) => c.videoCall.setPermissions({ sessionId, ...everyone }),
      lowerAllHands: (c) => c.videoCall.lowerAllHands({ sessionId }),
    };
    const targeted = new Set(["muteParticipant", "askToUnmute", "removeParticipant", "lowerHand"]);
    await as(alice).videoCall.setHand({ sessionId, raised: true });
    await as(bob).videoCall.setHand({ sessionId, raised: true });
    const outcomes: Record<string, Record<string, string>> = {};
    for (const [name, run] of Object.entries(procedures)) {
      outcomes[name] = {
        anonymous: await codeOf(run(as(null), bob)),
        nonMember: await codeOf(run(as(mallory), bob)),
        member: await codeOf(run(as(carol), bob)),
        ...(targeted.has(name)
          ? {
              adminOnOwner: await codeOf(run(as(adam), alice)),
              self: await codeOf(run(as(alice), alice)),
              memberOnSelf: await codeOf(run(as(bob), bob)),
            }
          : {}),
      };
    }
    const refused = { anonymous: "UNAUTHORIZED", nonMember: "FORBIDDEN", member: "FORBIDDEN" };
    const targetedRefused = { ...refused, adminOnOwner: "FORBIDDEN", self: "BAD_REQUEST", memberOnSelf: "FORBIDDEN" };
    expect(outcomes).toEqual({
      muteParticipant: targetedRefused,
      askToUnmute: targetedRefused,
      removeParticipant: targetedRefused,
      lowerHand: targetedRefused,
      muteAll: refused,
      setPermissions: refused,
      lowerAllHands: refused,
    });
    // Nothing changed: everyone still in, unmuted, hands up, the call open, nothing logged.
    for (const u of [alice, adam, bob, carol]) expect(await open(sessionId, u.id)).toMatchObject({ audio: true });
    expect((await open(sessionId, bob.id))!.handRaisedAt).not.toBeNull();
    expect((await open(sessionId, alice.id))!.handRaisedAt).not.toBeNull();
    expect(await logCount()).toBe(0);
  });

  it("an ADMIN may act on MEMBERs and on everyone; bad input is a 400 that changes nothing", async () => {
    const { sessionId, adam, bob } = await call();
    await as(adam).videoCall.muteParticipant({ sessionId, userId: bob.id });
    expect((await open(sessionId, bob.id))!.audio).toBe(false);
    expect(await codeOf(as(adam).videoCall.muteAll({ sessionId }))).toBe("OK");
    const bad = [
      as(adam).videoCall.muteParticipant({ sessionId, userId: "bob" }),
      as(adam).videoCall.setPermissions({
        sessionId,
        unmute: "nobody" as "hosts",
        camera: "hosts",
        screenShare: "hosts",
        locked: false,
      }),
      as(adam).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: "yes" as unknown as boolean }),
    ];
    for (const p of bad) expect(await codeOf(p)).toBe("BAD_REQUEST");
    expect(await open(sessionId, bob.id)).not.toBeNull();
    expect(await codeOf(as(adam).videoCall.muteParticipant({ sessionId, userId: adam.id }))).toBe("BAD_REQUEST");
  });
});

describe("host controls: what each action does", () => {
  it("mute: Bob's audio goes off on the server, the room hears moderation then media-changed; Bob may unmute himself", async () => {
    const { study, sessionId, alice, bob, joins } = await call();
    const w = await watch(bob, study.id);
    await w.until((e) => e.length >= 1, "snapshot");
    await as(alice).videoCall.muteParticipant({ sessionId, userId: bob.id });
    await w.until((e) => e.some((x) => x.type === "media-changed"), "media-changed");
    expect(w.received.slice(1)).toEqual([
      {
        type: "moderation",
        sessionId,
        action: "mute",
        actorId: alice.id,
        actorName: "Alice",
        targetId: bob.id,
        targetPeerId: joins.Bob!.peerId,
      },
      {
        type: "media-changed",
        sessionId,
        userId: bob.id,
        peerId: joins.Bob!.peerId,
        audio: false,
        video: true,
        screen: false,
      },
    ]);
    const status = await as(bob).videoCall.status({ studyId: study.id });
    expect(status.session?.participants.find((p) => p.userId === bob.id)).toMatchObject({ audio: false });
    expect(status.session?.participants.find((p) => p.userId === alice.id)).toMatchObject({ host: true });
    expect(status.session?.participants.find((p) => p.userId === bob.id)).toMatchObject({ host: false });
    // Nobody unmutes Bob but Bob.
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false });
    expect((await open(sessionId, bob.id))!.audio).toBe(true);
    await w.close();
  });

  it("host actions are in the call's stored events, and a forced mute is dated when the host made it", async () => {
    const { study, sessionId, alice, adam, bob, carol } = await call();
    clock.advance(30);
    const muteAt = clock.now().toISOString();
    await as(alice).videoCall.muteParticipant({ sessionId, userId: bob.id });
    clock.advance(10);
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false, speaking: true });
    clock.advance(20);
    await as(adam).videoCall.removeParticipant({ sessionId, userId: carol.id, ban: false });
    for (const u of [alice, adam, bob]) await as(u).videoCall.leave({ sessionId });
    const record = await as(bob).videoCall.record({ studyId: study.id, sessionId });
    const host = record.events.filter((e) => e.kind.startsWith("host."));
    expect(host.map((e) => [e.kind, e.actorId, e.targetId])).toEqual([
      ["host.mute", alice.id, bob.id],
      ["host.remove", adam.id, carol.id],
    ]);
    expect(host[0]!.at).toBe(muteAt);
    const bobsMedia = record.events.filter((e) => e.kind === "media" && e.targetId === bob.id);
    expect(bobsMedia[0]).toMatchObject({ at: muteAt, payload: { audio: false } });
    // Bob spoke for the 20 s between unmuting and leaving: the speaking flag rides on his own media update.
    expect(record.people.find((p) => p.userId === bob.id)).toMatchObject({ secondsSpeaking: 20 });
    expect(record.people.find((p) => p.userId === carol.id)).toMatchObject({ leaveReason: "KICKED" });
  });

  it("muteAll mutes everyone but hosts; askToUnmute only asks; lowerHand and lowerAllHands lower hands", async () => {
    const { study, sessionId, alice, adam, bob, carol, joins } = await call();
    const w = await watch(carol, study.id);
    await w.until((e) => e.length >= 1, "snapshot");
    expect(await as(adam).videoCall.muteAll({ sessionId })).toEqual({ muted: 2 });
    expect((await open(sessionId, alice.id))!.audio).toBe(true);
    expect((await open(sessionId, adam.id))!.audio).toBe(true);
    expect((await open(sessionId, bob.id))!.audio).toBe(false);
    expect((await open(sessionId, carol.id))!.audio).toBe(false);

    await as(alice).videoCall.askToUnmute({ sessionId, userId: bob.id });
    expect((await open(sessionId, bob.id))!.audio).toBe(false);

    await as(bob).videoCall.setHand({ sessionId, raised: true });
    await as(carol).videoCall.setHand({ sessionId, raised: true });
    await as(alice).videoCall.lowerHand({ sessionId, userId: bob.id });
    expect((await open(sessionId, bob.id))!.handRaisedAt).toBeNull();
    expect((await open(sessionId, carol.id))!.handRaisedAt).not.toBeNull();
    await as(carol).videoCall.setHand({ sessionId, raised: true });
    await as(bob).videoCall.setHand({ sessionId, raised: true });
    expect(await as(alice).videoCall.lowerAllHands({ sessionId })).toEqual({ lowered: 2 });
    expect((await open(sessionId, carol.id))!.handRaisedAt).toBeNull();

    await w.until((e) => e.filter((x) => x.type === "moderation").length === 4, "four moderation events");
    const moderation = w.received.filter((x) => x.type === "moderation");
    expect(moderation.map((m) => [m.action, m.targetId, m.targetPeerId])).toEqual([
      ["mute-all", null, null],
      ["ask-unmute", bob.id, joins.Bob!.peerId],
      ["lower-hand", bob.id, joins.Bob!.peerId],
      ["lower-all-hands", null, null],
    ]);
    await w.close();
  });

  it("remove: KICKED, the room hears it; without ban Bob may rejoin, with ban he may not; history lists it", async () => {
    const { study, sessionId, alice, adam, bob, carol, joins } = await call();
    const w = await watch(carol, study.id);
    await w.until((e) => e.length >= 1, "snapshot");
    await as(alice).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: false });
    await w.until((e) => e.some((x) => x.type === "user-left"), "user-left");
    expect(w.received.slice(1)).toEqual([
      expect.objectContaining({ type: "moderation", action: "remove", targetId: bob.id, ban: false }),
      { type: "user-left", sessionId, userId: bob.id, peerId: joins.Bob!.peerId, reason: "KICKED" },
    ]);
    const again = await as(bob).videoCall.join({ studyId: study.id, sessionId });
    clock.advance(5);
    await as(alice).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: true });
    await expect(as(bob).videoCall.join({ studyId: study.id, sessionId })).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "You were removed from this call",
    });
    // Removing someone already gone is a 404 unless it bans them.
    expect(await codeOf(as(alice).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: false }))).toBe(
      "NOT_FOUND",
    );
    expect(await codeOf(as(alice).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: true }))).toBe("OK");
    expect(again.peerId).not.toBe(joins.Bob!.peerId);

    for (const u of [alice, adam, carol]) await as(u).videoCall.leave({ sessionId });
    const history = await as(carol).videoCall.history({ studyId: study.id });
    const s = history.sessions[0]!;
    expect(s.participants.find((p) => p.userId === bob.id)).toMatchObject({ leaveReason: "KICKED", joins: 2 });
    expect(s.moderation.map((m) => [m.action, m.actorName, m.targetName, m.details])).toEqual([
      ["remove", "Alice", "Bob", { ban: false }],
      ["remove", "Alice", "Bob", { ban: true }],
      ["remove", "Alice", "Bob", { ban: true }],
    ]);
    await w.close();
  });

  it("permissions: withdrawn tracks go off for non-hosts, they can't turn them on, hosts can, a joiner starts off", async () => {
    const { study, sessionId, alice, adam, bob, carol } = await call();
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: true, screen: true });
    await as(alice).videoCall.setMedia({ sessionId, audio: true, video: true, screen: true });
    const w = await watch(carol, study.id);
    await w.until((e) => e.length >= 1, "snapshot");
    const permissions = { unmute: "everyone", camera: "hosts", screenShare: "hosts", locked: false } as const;
    expect(await as(adam).videoCall.setPermissions({ sessionId, ...permissions })).toEqual({ permissions });
    await w.until((e) => e.filter((x) => x.type === "media-changed").length === 2, "media-changed for Bob and Carol");
    expect(w.received.find((x) => x.type === "permissions-changed")).toEqual({
      type: "permissions-changed",
      sessionId,
      permissions,
    });
    expect(await open(sessionId, bob.id)).toMatchObject({ audio: true, video: false, screen: false });
    expect(await open(sessionId, carol.id)).toMatchObject({ audio: true, video: false, screen: false });
    expect(await open(sessionId, alice.id)).toMatchObject({ video: true, screen: true });
    await expect(
      as(bob).videoCall.setMedia({ sessionId, audio: true, video: false, screen: true }),
    ).rejects.toMatchObject({ code: "FORBIDDEN", message: "Only hosts can share their screen in this call." });
    await expect(
      as(bob).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false }),
    ).rejects.toMatchObject({ code: "FORBIDDEN", message: "Only hosts can turn on their camera in this call." });
    // Turning things off is always allowed.
    await as(bob).videoCall.setMedia({ sessionId, audio: false, video: false, screen: false });
    await as(adam).videoCall.setMedia({ sessionId, audio: true, video: true, screen: true });
    await as(alice).videoCall.setPermissions({ sessionId, ...permissions, unmute: "hosts" });
    expect(await codeOf(as(bob).videoCall.setMedia({ sessionId, audio: true, video: false, screen: false }))).toBe(
      "FORBIDDEN",
    );
    expect((await open(sessionId, carol.id))!.audio).toBe(false);
    // A rejoin starts with what the permissions allow.
    const rejoin = await as(carol).videoCall.join({ studyId: study.id, sessionId });
    expect(rejoin.participant).toMatchObject({ audio: false, video: false, screen: false, host: false });
    const status = await as(carol).videoCall.status({ studyId: study.id });
    expect(status.session?.permissions).toEqual({ ...permissions, unmute: "hosts" });
    await w.close();
  });

  it("permissions survive a server restart", async () => {
    const { study, sessionId, alice, bob } = await call();
    const permissions = { unmute: "hosts", camera: "everyone", screenShare: "hosts", locked: true } as const;
    await as(alice).videoCall.setPermissions({ sessionId, ...permissions });
    await services.stop();
    services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
    await services.start();
    expect((await as(bob).videoCall.status({ studyId: study.id })).session?.permissions).toEqual(permissions);
    expect(await codeOf(as(bob).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false }))).toBe(
      "FORBIDDEN",
    );
    const dave = await makeUser("Dave");
    await addMember(study, dave);
    await expect(as(dave).videoCall.join({ studyId: study.id, sessionId })).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: "The call is locked",
    });
  });
});

describe("host controls: races", () => {
  it("a banned member's join is refused, also when it races the removal", async () => {
    const real = createServices(db().sequelize, { SESSION_SECRET: SECRET });
    extra.push(real);
    const { study, sessionId, alice, bob } = await call();
    for (let round = 0; round < 20; round++) {
      // Bob reloads (a join) while Alice removes him with a ban; half the rounds he starts outside the call.
      if (round % 2 === 0) await db().sequelize.query(`DELETE FROM video_call_bans`);
      if (round % 2 === 0) await as(bob, { on: real }).videoCall.join({ studyId: study.id, sessionId });
      const [join, remove] = await Promise.allSettled([
        as(bob, { on: real }).videoCall.join({ studyId: study.id, sessionId }),
        as(alice, { on: real }).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: true }),
      ]);
      expect(remove.status).toBe("fulfilled");
      if (join.status === "rejected") expect(join.reason).toMatchObject({ message: "You were removed from this call" });
      // Whatever the order, Bob is not in the call afterwards, and cannot get back in.
      expect(await open(sessionId, bob.id)).toBeNull();
      await expect(as(bob, { on: real }).videoCall.join({ studyId: study.id, sessionId })).rejects.toMatchObject({
        code: "FORBIDDEN",
      });
    }
  });

  it("lock vs concurrent joins: each join is either in before the lock or refused; hosts and reloads still join", async () => {
    const real = createServices(db().sequelize, { SESSION_SECRET: SECRET, MAX_PARTICIPANTS: 50 });
    extra.push(real);
    const { study, sessionId, alice, adam, bob } = await call();
    const newcomers: User[] = [];
    for (let i = 0; i < 12; i++) {
      const u = await makeUser(`N${i}`);
      await addMember(study, u);
      newcomers.push(u);
    }
    const lock = { unmute: "everyone", camera: "everyone", screenShare: "everyone", locked: true } as const;
    const results = await Promise.allSettled([
      ...newcomers.slice(0, 6).map((u) => as(u, { on: real }).videoCall.join({ studyId: study.id, sessionId })),
      as(alice, { on: real }).videoCall.setPermissions({ sessionId, ...lock }),
      ...newcomers.slice(6).map((u) => as(u, { on: real }).videoCall.join({ studyId: study.id, sessionId })),
    ]);
    const joins = results.filter((_, i) => i !== 6);
    expect(results[6]!.status).toBe("fulfilled");
    for (const [i, r] of joins.entries()) {
      const inCall = await open(sessionId, newcomers[i]!.id);
      if (r.status === "fulfilled") expect(inCall).not.toBeNull();
      else {
        expect(r.reason).toMatchObject({ message: "The call is locked" });
        expect(inCall).toBeNull();
      }
    }
    // After the lock: newcomers are refused, a host and a member already in the call (a reload) get in.
    const late = newcomers.find((_, i) => joins[i]!.status === "rejected") ?? (await makeUser("Late"));
    if (!(await open(sessionId, late.id))) await addMember(study, late).catch(() => {});
    await expect(as(late, { on: real }).videoCall.join({ studyId: study.id, sessionId })).rejects.toMatchObject({
      message: "The call is locked",
    });
    expect(await codeOf(as(adam, { on: real }).videoCall.join({ studyId: study.id, sessionId }))).toBe("OK");
    expect(await codeOf(as(bob, { on: real }).videoCall.join({ studyId: study.id, sessionId }))).toBe("OK");
  });
});

describe("host controls: the removed peer's signaling socket", () => {
  it("closes from the server, and the peer id can't register again", async () => {
    await services.start();
    const server = await startTestServer(services);
    try {
      const { sessionId, alice, bob, joins } = await call();
      const cookie = await sessionCookie(services, bob.id);
      const url = `${server.url.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${joins.Bob!.peerId}&token=t`;
      const ws = new WebSocket(url, { headers: { Cookie: cookie } });
      await new Promise<void>((resolve, reject) => {
        ws.once("error", reject);
        ws.once("message", () => resolve());
      });
      const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
      await as(alice).videoCall.removeParticipant({ sessionId, userId: bob.id, ban: false });
      await closed;
      const again = new WebSocket(url, { headers: { Cookie: cookie } });
      const status = await new Promise<number>((resolve) => {
        again.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        again.once("open", () => resolve(101));
      });
      expect(status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
