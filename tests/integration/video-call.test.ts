import { randomUUID } from "node:crypto";
import { isTrackedEnvelope } from "@trpc/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StudyMember, VideoCallParticipant, VideoCallSession, type User } from "../../db/models/index.js";
import type { RoomStreamEvent } from "../../server/events.js";
import { logger } from "../../server/logger.js";
import { createServices, type Services } from "../../server/services/index.js";
import { createContextInner } from "../../server/trpc/context.js";
import { createCaller } from "../../server/trpc/routers/_app.js";
import { truncateAll, useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { ManualClock } from "./video-call-harness.js";

const db = useTestDatabase();
const SECRET = "x".repeat(32);

let clock: ManualClock;
let services: Services;
const extraServices: Services[] = [];

beforeEach(async () => {
  await truncateAll(db().sequelize);
  clock = new ManualClock();
  services = createServices(db().sequelize, { SESSION_SECRET: SECRET, DROP_GRACE_MS: 100 }, { now: clock.now });
});
afterEach(async () => {
  await services.stop();
  for (const s of extraServices.splice(0)) await s.stop();
});

function as(user: User | null, opts: { signal?: AbortSignal; on?: Services } = {}) {
  const sessionUser = user ? { id: user.id, email: user.email, name: user.name, avatarUrl: user.avatarUrl } : null;
  return createCaller(createContextInner({ services: opts.on ?? services, user: sessionUser, log: logger }), {
    signal: opts.signal,
  });
}

/** A second client on videoCall.events, through the caller's async iterable. */
async function watch(user: User, studyId: string, lastEventId?: string, on?: Services) {
  const abort = new AbortController();
  const received: Array<{ id: string; event: RoomStreamEvent }> = [];
  const iterable = await as(user, { signal: abort.signal, on }).videoCall.events({ studyId, lastEventId });
  const done = (async () => {
    for await (const item of iterable) {
      if (!isTrackedEnvelope(item)) throw new Error("events must be tracked");
      received.push({ id: item[0], event: item[1] as RoomStreamEvent });
    }
  })().catch(() => {});
  return {
    received,
    types: () => received.map((r) => r.event.type),
    async until(predicate: (types: string[]) => boolean, what = "events") {
      for (let i = 0; i < 500 && !predicate(received.map((r) => r.event.type)); i++)
        await new Promise((r) => setTimeout(r, 10));
      if (!predicate(received.map((r) => r.event.type)))
        throw new Error(`timed out waiting for ${what}; got ${received.map((r) => r.event.type)}`);
    },
    async close() {
      abort.abort();
      await done;
    },
  };
}

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function studyWith(...names: string[]) {
  const owner = await makeUser(names[0] ?? "Owner");
  const study = await makeStudy(owner);
  const others: User[] = [];
  for (const name of names.slice(1)) {
    const u = await makeUser(name);
    await addMember(study, u);
    others.push(u);
  }
  return { study, owner, others };
}

describe("videoCall: the call lifecycle", () => {
  it("start → join → media → leave: honest durations, media times, events in order, history", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob", "Carol");
    const [bob, carol] = others as [User, User];
    const watcher = await watch(carol, study.id);
    await watcher.until((t) => t.includes("snapshot"), "snapshot");
    expect(watcher.received[0]!.event).toEqual({ type: "snapshot", session: null });

    const started = await as(alice).videoCall.start({ studyId: study.id });
    expect(started.created).toBe(true);
    const sessionId = started.session.id;
    const status = await as(bob).videoCall.status({ studyId: study.id });
    expect(status.session).toMatchObject({ id: sessionId, startedBy: alice.id, participants: [], onlineCount: 0 });

    const aliceJoin = await as(alice).videoCall.join({ studyId: study.id, sessionId });
    expect(aliceJoin.iceServers).toEqual([]);
    expect(aliceJoin.peerId).toMatch(/^p[0-9a-f]{32}$/);
    clock.advance(10);
    const bobSees = await as(bob).videoCall.status({ studyId: study.id });
    expect(bobSees.session?.participants.map((p) => p.userId)).toEqual([alice.id]);
    const bobJoin = await as(bob).videoCall.join({ studyId: study.id, sessionId });
    expect(bobJoin.participant).toMatchObject({ userId: bob.id, name: "Bob", audio: true, video: true, screen: false });
    // The join says who is in the room, so Bob can dial without waiting for the room feed.
    expect(bobJoin.participants).toEqual([aliceJoin.participant, bobJoin.participant]);

    clock.advance(10); // t=20
    await as(alice).videoCall.setMedia({ sessionId, audio: false, video: true, screen: false });
    clock.advance(30); // t=50
    await as(alice).videoCall.setMedia({ sessionId, audio: true, video: true, screen: false });
    clock.advance(10); // t=60
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: false, screen: true });
    const mid = await as(carol).videoCall.status({ studyId: study.id });
    expect(mid.session?.onlineCount).toBe(2);
    expect(mid.session?.participants.find((p) => p.userId === bob.id)).toMatchObject({ video: false, screen: true });
    clock.advance(30); // t=90
    await as(bob).videoCall.setMedia({ sessionId, audio: true, video: false, screen: false });
    clock.advance(10); // t=100
    await as(bob).videoCall.leave({ sessionId });
    clock.advance(30); // t=130
    await as(alice).videoCall.setMedia({ sessionId, audio: false, video: true, screen: false });
    clock.advance(15); // t=145
    expect(await as(alice).videoCall.leave({ sessionId })).toEqual({ success: true });

    expect((await as(alice).videoCall.status({ studyId: study.id })).session).toBeNull();
    const session = await VideoCallSession.findByPk(sessionId);
    expect(session?.endedAt?.getTime()).toBe(Date.parse("2026-01-05T10:02:25.000Z"));
    expect(session?.duration).toBeCloseTo(145, 0);

    const history = await as(bob).videoCall.history({ studyId: study.id });
    expect(history.nextCursor).toBeNull();
    const people = Object.fromEntries(history.sessions[0]!.participants.map((p) => [p.name, p]));
    expect(people.Alice).toMatchObject({
      secondsPresent: 145,
      secondsMuted: 45,
      secondsVideoOff: 0,
      secondsScreenShared: 0,
      leaveReason: "LEFT",
    });
    expect(people.Bob).toMatchObject({
      secondsPresent: 90,
      secondsMuted: 0,
      secondsVideoOff: 40,
      secondsScreenShared: 30,
      leaveReason: "LEFT",
    });

    await watcher.until((t) => t.includes("session-ended"), "session-ended");
    expect(watcher.types()).toEqual([
      "snapshot",
      "session-started",
      "user-joined",
      "user-joined",
      "media-changed",
      "media-changed",
      "media-changed",
      "media-changed",
      "user-left",
      "media-changed",
      "user-left",
      "session-ended",
    ]);
    const joined = watcher.received.filter((r) => r.event.type === "user-joined").map((r) => r.event);
    expect(joined).toEqual([
      { type: "user-joined", sessionId, participant: aliceJoin.participant },
      { type: "user-joined", sessionId, participant: bobJoin.participant },
    ]);
    expect(watcher.received.find((r) => r.event.type === "user-left")?.event).toEqual({
      type: "user-left",
      sessionId,
      userId: bob.id,
      peerId: bobJoin.peerId,
      reason: "LEFT",
    });
    await watcher.close();
  });

  it("a rejoin (reload) closes the old participation as LEFT, hands out a new peer id, and never counts the gap", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob");
    const bob = others[0]!;
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    const first = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const watcher = await watch(bob, study.id);
    await watcher.until((t) => t.length >= 1);
    clock.advance(5);
    const reload = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    expect(reload.peerId).not.toBe(first.peerId);
    await watcher.until((t) => t.includes("user-joined"));
    expect(watcher.received.slice(1).map((r) => r.event)).toEqual([
      {
        type: "user-left",
        sessionId: session.id,
        userId: alice.id,
        peerId: first.peerId,
        reason: "LEFT",
        // The old tab (if still open) says "You joined from another tab", not "You left the call".
        replaced: true,
      },
      { type: "user-joined", sessionId: session.id, participant: reload.participant },
    ]);
    await watcher.close();
    clock.advance(5); // alice has been present 10 s
    await as(alice).videoCall.leave({ sessionId: session.id });
    clock.advance(30); // away: must not count
    await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    clock.advance(20);
    await as(alice).videoCall.leave({ sessionId: session.id });
    clock.advance(1);
    await as(bob).videoCall.leave({ sessionId: session.id });

    const rows = await VideoCallParticipant.findAll({ where: { userId: alice.id }, order: [["joinedAt", "ASC"]] });
    expect(rows.map((r) => [r.duration, r.leaveReason])).toEqual([
      [5, "LEFT"],
      [5, "LEFT"],
      [20, "LEFT"],
    ]);
    const history = await as(alice).videoCall.history({ studyId: study.id });
    const a = history.sessions[0]!.participants.find((p) => p.userId === alice.id)!;
    expect(a).toMatchObject({ secondsPresent: 30, joins: 3 });
    expect(history.sessions[0]!.duration).toBe(61);
  });

  it("50 concurrent starts for one study create exactly one session and all callers get its id", async () => {
    const { study, owner } = await studyWith("Owner");
    const members = [owner];
    for (let i = 0; i < 49; i++) {
      const u = await makeUser(`M${i}`);
      await addMember(study, u);
      members.push(u);
    }
    const results = await Promise.all(members.map((m) => as(m).videoCall.start({ studyId: study.id })));
    expect(new Set(results.map((r) => r.session.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await VideoCallSession.count({ where: { studyId: study.id } })).toBe(1);
    // once it exists, a later start returns it instead of making another
    const again = await as(owner).videoCall.start({ studyId: study.id });
    expect(again).toMatchObject({ created: false, session: { id: results[0]!.session.id } });
  });

  it("50 concurrent join/leave/rejoin calls keep one open participation per person and add up", async () => {
    // These check the locks under bursts bigger than a call may hold: the cap is raised out of the way.
    const real = createServices(db().sequelize, { SESSION_SECRET: SECRET, MAX_PARTICIPANTS: 50 });
    extraServices.push(real);
    const { study, owner: anchor } = await studyWith("Anchor");
    const people: User[] = [];
    for (let i = 0; i < 10; i++) {
      const u = await makeUser(`P${i}`);
      await addMember(study, u);
      people.push(u);
    }
    const { session } = await as(anchor, { on: real }).videoCall.start({ studyId: study.id });
    await as(anchor, { on: real }).videoCall.join({ studyId: study.id, sessionId: session.id });
    const ops: Array<Promise<unknown>> = [];
    for (let round = 0; round < 5; round++) {
      for (const p of people) {
        const kind = (round + people.indexOf(p)) % 3;
        const c = as(p, { on: real }).videoCall;
        const op =
          kind === 2 ? c.leave({ sessionId: session.id }) : c.join({ studyId: study.id, sessionId: session.id });
        // leaving without being in the call is a clean 404, never a crash
        ops.push(op.catch((err: { code?: string }) => expect(err.code).toBe("NOT_FOUND")));
      }
    }
    expect(ops).toHaveLength(50);
    await Promise.all(ops);

    // Intervals in order: a participation closed by a racing rejoin the instant it opened sorts first.
    const rows = await VideoCallParticipant.findAll({
      where: { sessionId: session.id },
      order: [
        ["joinedAt", "ASC"],
        ["leftAt", "ASC NULLS LAST"],
      ],
    });
    for (const p of [anchor, ...people]) {
      const mine = rows.filter((r) => r.userId === p.id);
      expect(mine.filter((r) => r.leftAt === null).length).toBeLessThanOrEqual(1);
      for (const r of mine) {
        if (!r.leftAt) continue;
        expect(r.leftAt.getTime()).toBeGreaterThanOrEqual(r.joinedAt.getTime());
        expect(r.duration! * 1000).toBeCloseTo(r.leftAt.getTime() - r.joinedAt.getTime(), 0);
      }
      // one person's participations never overlap
      for (let i = 1; i < mine.length; i++)
        expect(mine[i]!.joinedAt.getTime()).toBeGreaterThanOrEqual(mine[i - 1]!.leftAt!.getTime());
    }
    await Promise.all(
      [anchor, ...people].map((p) =>
        as(p, { on: real })
          .videoCall.leave({ sessionId: session.id })
          .catch(() => null),
      ),
    );
    const ended = await VideoCallSession.findByPk(session.id);
    expect(ended?.endedAt).not.toBeNull();
    const all = await VideoCallParticipant.findAll({ where: { sessionId: session.id } });
    expect(all.every((r) => r.leftAt !== null)).toBe(true);
    const history = await as(anchor, { on: real }).videoCall.history({ studyId: study.id });
    for (const person of history.sessions[0]!.participants) {
      const sum = all.filter((r) => r.userId === person.userId).reduce((s, r) => s + r.duration!, 0);
      expect(person.secondsPresent).toBeCloseTo(sum, 2);
    }
  });

  it("everyone leaving at the same instant ends the call once, at the last leave; joiners racing leavers are never stranded", async () => {
    // These check the locks under bursts bigger than a call may hold: the cap is raised out of the way.
    const real = createServices(db().sequelize, { SESSION_SECRET: SECRET, MAX_PARTICIPANTS: 50 });
    extraServices.push(real);
    const { study, owner, others } = await studyWith("Owner", ...Array.from({ length: 19 }, (_, i) => `L${i}`));
    const everyone = [owner, ...others];
    const events = await watch(owner, study.id, undefined, real);
    for (let round = 0; round < 4; round++) {
      const { session } = await as(owner, { on: real }).videoCall.start({ studyId: study.id });
      await Promise.all(
        everyone.map((p) => as(p, { on: real }).videoCall.join({ studyId: study.id, sessionId: session.id })),
      );
      if (round % 2 === 0) {
        // All twenty at once: no leaver may assume another one stays.
        await Promise.all(everyone.map((p) => as(p, { on: real }).videoCall.leave({ sessionId: session.id })));
      } else {
        // Half leave while the other half rejoin: whoever rejoined is still in a running call.
        await Promise.all(
          everyone.map((p, i) => {
            const c = as(p, { on: real }).videoCall;
            return i % 2 ? c.leave({ sessionId: session.id }) : c.join({ studyId: study.id, sessionId: session.id });
          }),
        );
        const stillOpen = await VideoCallParticipant.count({ where: { sessionId: session.id, leftAt: null } });
        expect(stillOpen).toBe(10);
        expect((await VideoCallSession.findByPk(session.id))?.endedAt).toBeNull();
        await Promise.all(
          everyone.map((p) =>
            as(p, { on: real })
              .videoCall.leave({ sessionId: session.id })
              .catch(() => null),
          ),
        );
      }
      const ended = await VideoCallSession.findByPk(session.id);
      const rows = await VideoCallParticipant.findAll({ where: { sessionId: session.id } });
      expect(rows.every((r) => r.leftAt !== null)).toBe(true);
      expect(ended?.endedAt?.getTime()).toBe(Math.max(...rows.map((r) => r.leftAt!.getTime())));
    }
    await events.until((t) => t.filter((x) => x === "session-ended").length === 4, "four session-ended events");
    // Exactly one end per call, however many leavers raced for it.
    await new Promise((r) => setTimeout(r, 50));
    expect(events.types().filter((t) => t === "session-ended")).toHaveLength(4);
    await events.close();
  });

  it("relays link reports about the remote peer, only from someone in the call", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob", "Carol");
    const [bob, carol] = others as [User, User];
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    const watcher = await watch(carol, study.id);
    await watcher.until((t) => t.length >= 1);
    await as(alice).videoCall.reportLink({
      sessionId: session.id,
      remotePeerId: b.peerId,
      state: "reconnecting",
      attempt: 2,
      maxAttempts: 3,
    });
    await watcher.until((t) => t.includes("connection-state"));
    expect(watcher.received.at(-1)!.event).toEqual({
      type: "connection-state",
      sessionId: session.id,
      userId: bob.id,
      peerId: b.peerId,
      reporterPeerId: a.peerId,
      state: "reconnecting",
      attempt: 2,
      maxAttempts: 3,
    });
    await watcher.close();
    await expect(
      as(carol).videoCall.reportLink({ sessionId: session.id, remotePeerId: b.peerId, state: "lost" }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
    await expect(
      as(alice).videoCall.reportLink({ sessionId: session.id, remotePeerId: "pnobody", state: "lost" }),
    ).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("relays a tile view to its sender only, never replayed; refuses people outside the call", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob", "Carol");
    const [bob, carol] = [others[0]!, others[1]!];
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    const c = await as(carol).videoCall.join({ studyId: study.id, sessionId: session.id });
    const bobSees = await watch(bob, study.id);
    const carolSees = await watch(carol, study.id);
    await bobSees.until((t) => t.length >= 1);
    await carolSees.until((t) => t.length >= 1);
    const cursor = await services.events.cursor(study.id);
    await as(alice).videoCall.setViews({
      sessionId: session.id,
      views: [
        { peerId: b.peerId, width: 1100, height: 620, shown: true },
        { peerId: c.peerId, width: 231, height: 130, shown: false },
        // someone who has just left: dropped, not an error
        { peerId: "pgone", width: 10, height: 10, shown: true },
      ],
    });
    await bobSees.until((t) => t.includes("tile-view"), "Bob's tile-view");
    await carolSees.until((t) => t.includes("tile-view"), "Carol's tile-view");
    const viewsOf = (w: typeof bobSees) => w.received.flatMap((r) => (r.event.type === "tile-view" ? [r.event] : []));
    expect(viewsOf(bobSees)).toEqual([
      {
        type: "tile-view",
        sessionId: session.id,
        userId: bob.id,
        peerId: b.peerId,
        fromPeerId: a.peerId,
        width: 1100,
        height: 620,
        shown: true,
      },
    ]);
    expect(viewsOf(carolSees)).toMatchObject([{ peerId: c.peerId, fromPeerId: a.peerId, shown: false }]);
    // Not kept for resuming subscribers: only the latest view matters, and it is re-sent.
    expect(await services.events.since(study.id, cursor)).toEqual([]);
    await bobSees.close();
    await carolSees.close();

    const dave = await makeUser("Dave");
    await addMember(study, dave);
    await expect(
      as(dave).videoCall.setViews({
        sessionId: session.id,
        views: [{ peerId: a.peerId, width: 1, height: 1, shown: true }],
      }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(as(bob).videoCall.setViews({ sessionId: session.id, views: [] })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
    await expect(
      as(bob).videoCall.setViews({
        sessionId: session.id,
        views: [{ peerId: a.peerId, width: -5, height: 1e9, shown: true }],
      }),
    ).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("pages history newest first with a cursor", async () => {
    const { study, owner } = await studyWith("Owner");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { session } = await as(owner).videoCall.start({ studyId: study.id });
      await as(owner).videoCall.join({ studyId: study.id, sessionId: session.id });
      clock.advance(60);
      await as(owner).videoCall.leave({ sessionId: session.id });
      clock.advance(60);
      ids.push(session.id);
    }
    const first = await as(owner).videoCall.history({ studyId: study.id, limit: 2 });
    expect(first.sessions.map((s) => s.id)).toEqual([ids[2], ids[1]]);
    const second = await as(owner).videoCall.history({ studyId: study.id, limit: 2, cursor: first.nextCursor });
    expect(second.sessions.map((s) => s.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    await expect(as(owner).videoCall.history({ studyId: study.id, cursor: "garbage" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });
});

describe("videoCall: live events resume", () => {
  it("a subscriber reconnecting with lastEventId gets exactly what it missed; an unknown id re-snapshots", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob");
    const bob = others[0]!;
    const first = await watch(bob, study.id);
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    await first.until((t) => t.includes("session-started"));
    const lastSeen = first.received.at(-1)!.id;
    await first.close();

    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    await as(alice).videoCall.setMedia({ sessionId: session.id, audio: false, video: true, screen: false });

    const resumed = await watch(bob, study.id, lastSeen);
    await resumed.until((t) => t.includes("media-changed"));
    expect(resumed.types()).toEqual(["user-joined", "media-changed"]);
    expect(resumed.received[0]!.event).toMatchObject({ type: "user-joined", participant: { peerId: a.peerId } });
    // and it stays live
    await as(alice).videoCall.leave({ sessionId: session.id });
    await resumed.until((t) => t.includes("session-ended"));
    expect(resumed.types()).toEqual(["user-joined", "media-changed", "user-left", "session-ended"]);
    await resumed.close();

    const stale = await watch(bob, study.id, "deadbeef-1");
    await stale.until((t) => t.length >= 1);
    expect(stale.received[0]!.event).toEqual({ type: "snapshot", session: null });
    await stale.close();
  });
});

describe("videoCall: authorization and bad input", () => {
  async function fixture() {
    const { study, owner, others } = await studyWith("Owner", "Member");
    const stranger = await makeUser("Stranger");
    const pending = await makeUser("Pending");
    const banned = await makeUser("Banned");
    await addMember(study, pending, "PENDING");
    await addMember(study, banned, "BANNED");
    const { session } = await as(owner).videoCall.start({ studyId: study.id });
    const joined = await as(owner).videoCall.join({ studyId: study.id, sessionId: session.id });
    return { study, owner, member: others[0]!, stranger, pending, banned, session, peerId: joined.peerId };
  }

  const counts = async () => ({
    sessions: await VideoCallSession.count(),
    participants: await VideoCallParticipant.count(),
    open: await VideoCallParticipant.count({ where: { leftAt: null } }),
    members: await StudyMember.count(),
  });

  it("anonymous, non-members, PENDING and BANNED members are refused everything and nothing is written", async () => {
    const f = await fixture();
    const before = await counts();
    const eventsBefore = await services.events.since(f.study.id, await services.events.cursor(f.study.id));
    const sid = f.session.id;
    const procedures = (c: ReturnType<typeof as>) => ({
      status: () => c.videoCall.status({ studyId: f.study.id }),
      history: () => c.videoCall.history({ studyId: f.study.id }),
      start: () => c.videoCall.start({ studyId: f.study.id }),
      join: () => c.videoCall.join({ studyId: f.study.id, sessionId: sid }),
      leave: () => c.videoCall.leave({ sessionId: sid }),
      heartbeat: () => c.videoCall.heartbeat({ sessionId: sid }),
      setMedia: () => c.videoCall.setMedia({ sessionId: sid, audio: false, video: false, screen: true }),
      reportLink: () => c.videoCall.reportLink({ sessionId: sid, remotePeerId: f.peerId, state: "lost" }),
      setViews: () =>
        c.videoCall.setViews({ sessionId: sid, views: [{ peerId: f.peerId, width: 1, height: 1, shown: true }] }),
      events: () => c.videoCall.events({ studyId: f.study.id }),
    });
    const who: Array<[string, User | null, string]> = [
      ["anonymous", null, "UNAUTHORIZED"],
      ["non-member", f.stranger, "FORBIDDEN"],
      ["pending", f.pending, "FORBIDDEN"],
      ["banned", f.banned, "FORBIDDEN"],
    ];
    let checked = 0;
    for (const [label, user, code] of who) {
      for (const [name, call] of Object.entries(procedures(as(user)))) {
        await expect(call(), `${label} × ${name}`).rejects.toMatchObject({ code });
        checked++;
      }
      // nor may they register a peer id
      if (user) expect(await services.peerAccess.authorize(user.id, f.peerId)).toBe(false);
    }
    expect(checked).toBe(40);
    expect(await counts()).toEqual(before);
    expect(await services.events.since(f.study.id, await services.events.cursor(f.study.id))).toEqual(eventsBefore);
  });

  it("membership changes apply to the very next request, although memberships are cached", async () => {
    const f = await fixture();
    const status = (u: User) => as(u).videoCall.status({ studyId: f.study.id });
    const code = (p: Promise<unknown>) =>
      p.then(
        () => "OK",
        (err: { code?: string }) => err.code,
      );
    // warm the cache with every answer first
    expect(await code(status(f.member))).toBe("OK");
    expect(await code(status(f.pending))).toBe("FORBIDDEN");

    await services.studies.approve(f.owner.id, f.study.id, { userId: f.pending.id });
    expect(await code(status(f.pending))).toBe("OK");

    await StudyMember.update({ status: "BANNED" }, { where: { studyId: f.study.id, userId: f.member.id } });
    expect(await code(status(f.member))).toBe("FORBIDDEN");
    expect(await code(as(f.member).videoCall.join({ studyId: f.study.id, sessionId: f.session.id }))).toBe("FORBIDDEN");

    const row = await StudyMember.findOne({ where: { studyId: f.study.id, userId: f.member.id } });
    await row!.update({ status: "ACTIVE" });
    expect(await code(status(f.member))).toBe("OK");
    await row!.destroy();
    expect(await code(status(f.member))).toBe("FORBIDDEN");
  });

  it("only a member's own open participation authorizes their peer id", async () => {
    const f = await fixture();
    expect(await services.peerAccess.authorize(f.owner.id, f.peerId)).toBe(true);
    expect(await services.peerAccess.authorize(f.member.id, f.peerId)).toBe(false);
    expect(await services.peerAccess.authorize(f.owner.id, "p" + "0".repeat(32))).toBe(false);
    expect(await services.peerAccess.authorize("not-a-uuid", f.peerId)).toBe(false);
    expect(await services.peerAccess.authorize(f.owner.id, "../../etc")).toBe(false);
    await StudyMember.update({ status: "BANNED" }, { where: { studyId: f.study.id, userId: f.owner.id } });
    expect(await services.peerAccess.authorize(f.owner.id, f.peerId)).toBe(false);
    await StudyMember.update({ status: "ACTIVE" }, { where: { studyId: f.study.id, userId: f.owner.id } });
    await as(f.owner).videoCall.leave({ sessionId: f.session.id });
    expect(await services.peerAccess.authorize(f.owner.id, f.peerId)).toBe(false);
  });

  it("malformed input is a 400 with a message, never a 500", async () => {
    const f = await fixture();
    const c = as(f.member).videoCall;
    const huge = "x".repeat(100_000);
    const unknown = randomUUID();
    const bad: Array<[string, () => Promise<unknown>]> = [
      ["status wrong type", () => c.status({ studyId: 42 } as never)],
      ["status missing", () => c.status({} as never)],
      ["status huge", () => c.status({ studyId: huge })],
      ["status unknown study", () => c.status({ studyId: unknown })],
      ["start unknown study", () => c.start({ studyId: unknown })],
      ["join missing session", () => c.join({ studyId: f.study.id } as never)],
      ["join unknown session", () => c.join({ studyId: f.study.id, sessionId: unknown })],
      ["join null", () => c.join(null as never)],
      ["leave unknown session", () => c.leave({ sessionId: unknown })],
      ["leave huge", () => c.leave({ sessionId: huge })],
      ["heartbeat array", () => c.heartbeat([] as never)],
      [
        "setMedia strings",
        () => c.setMedia({ sessionId: f.session.id, audio: "yes", video: true, screen: false } as never),
      ],
      ["setMedia missing flags", () => c.setMedia({ sessionId: f.session.id } as never)],
      [
        "reportLink bad state",
        () => c.reportLink({ sessionId: f.session.id, remotePeerId: f.peerId, state: "exploded" } as never),
      ],
      ["reportLink huge peer", () => c.reportLink({ sessionId: f.session.id, remotePeerId: huge, state: "lost" })],
      ["history limit", () => c.history({ studyId: f.study.id, limit: 10_000 })],
      ["history cursor type", () => c.history({ studyId: f.study.id, cursor: 5 } as never)],
      ["events huge lastEventId", () => c.events({ studyId: f.study.id, lastEventId: huge })],
      ["events unknown study", () => c.events({ studyId: unknown })],
    ];
    for (const [label, call] of bad) {
      const err = await call().then(
        () => null,
        (e: { code?: string; message?: string }) => e,
      );
      expect(err, label).toMatchObject({ code: "BAD_REQUEST" });
      expect(err?.message, label).toMatch(/\w/);
      expect(err?.message, label).not.toMatch(/Something went wrong/);
    }
    // valid shape but nothing to act on
    await expect(c.leave({ sessionId: f.session.id })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: "You are not in this call.",
    });
    await expect(c.heartbeat({ sessionId: f.session.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(
      c.setMedia({ sessionId: f.session.id, audio: true, video: true, screen: false }),
    ).rejects.toMatchObject({ code: "NOT_FOUND" });
    // an ended session is a bad request
    await as(f.owner).videoCall.leave({ sessionId: f.session.id });
    await expect(c.join({ studyId: f.study.id, sessionId: f.session.id })).rejects.toMatchObject({
      code: "BAD_REQUEST",
    });
  });
});

describe("videoCall: crashed browsers, stale participations and restarts", () => {
  it("a participation whose PeerServer socket vanished is DROPPED after the grace, at the moment it vanished", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob");
    const bob = others[0]!;
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    const watcher = await watch(bob, study.id);
    await watcher.until((t) => t.length >= 1);
    for (const [u, p] of [
      [alice, a.peerId],
      [bob, b.peerId],
    ] as const) {
      expect(await services.peerAccess.authorize(u.id, p)).toBe(true);
      services.peerAccess.onConnect(p);
    }
    clock.advance(30);
    services.peerAccess.onDisconnect(a.peerId);
    // bob's socket blips and comes back within the grace: nothing happens to him
    services.peerAccess.onDisconnect(b.peerId);
    services.peerAccess.onConnect(b.peerId);
    clock.advance(5);
    const dropped = await waitFor(
      () => VideoCallParticipant.findOne({ where: { peerId: a.peerId, leaveReason: "DROPPED" } }),
      "alice DROPPED",
    );
    expect(dropped.duration).toBe(30);
    await watcher.until((t) => t.includes("user-left"));
    expect(watcher.received.at(-1)!.event).toMatchObject({ type: "user-left", userId: alice.id, reason: "DROPPED" });
    await new Promise((r) => setTimeout(r, 250));
    expect(await VideoCallParticipant.findOne({ where: { peerId: b.peerId } })).toMatchObject({ leftAt: null });
    await watcher.close();

    // the last one dropping ends the call
    services.peerAccess.onDisconnect(b.peerId);
    const ended = await waitFor(async () => (await VideoCallSession.findByPk(session.id))?.endedAt, "session ended");
    expect(ended.toISOString()).toBe(clock.now().toISOString());
  });

  it("a reload during the grace keeps the new participation; repeating the same media flags counts nothing twice", async () => {
    const { study, owner: alice } = await studyWith("Alice");
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const first = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    services.peerAccess.onConnect(first.peerId);
    services.peerAccess.onDisconnect(first.peerId); // the tab reloads…
    const second = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id }); // …and rejoins
    await new Promise((r) => setTimeout(r, 250)); // well past the 100 ms grace
    expect(await VideoCallParticipant.findOne({ where: { peerId: second.peerId } })).toMatchObject({ leftAt: null });
    expect(await VideoCallParticipant.findOne({ where: { peerId: first.peerId } })).toMatchObject({
      leaveReason: "LEFT",
    });

    await as(alice).videoCall.setMedia({ sessionId: session.id, audio: false, video: true, screen: false });
    for (let i = 0; i < 3; i++) {
      clock.advance(10);
      await as(alice).videoCall.setMedia({ sessionId: session.id, audio: false, video: true, screen: false });
    }
    clock.advance(10);
    await as(alice).videoCall.leave({ sessionId: session.id });
    expect(await VideoCallParticipant.findOne({ where: { peerId: second.peerId } })).toMatchObject({
      audioMutedTime: 40,
      duration: 40,
    });
  });

  it("a restart arms the grace for leftovers: who re-registers stays, who doesn't is DROPPED", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob");
    const bob = others[0]!;
    await services.start();
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    clock.advance(20);
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    clock.advance(20);
    await as(alice).videoCall.heartbeat({ sessionId: session.id }); // alice last seen at t=40
    clock.advance(5);
    await services.stop(); // the old process dies; nothing is closed

    const rebooted = createServices(db().sequelize, { SESSION_SECRET: SECRET, DROP_GRACE_MS: 150 }, { now: clock.now });
    extraServices.push(rebooted);
    await rebooted.start();
    expect(rebooted.videoCall.pendingDrops()).toBe(2);
    // Bob's browser reconnects its PeerServer socket with the same peer id
    expect(await rebooted.peerAccess.authorize(bob.id, b.peerId)).toBe(true);
    rebooted.peerAccess.onConnect(b.peerId);
    expect(rebooted.videoCall.pendingDrops()).toBe(1);

    const dropped = await waitFor(
      () => VideoCallParticipant.findOne({ where: { peerId: a.peerId, leaveReason: "DROPPED" } }),
      "alice dropped",
    );
    // present until her last sign of life, not until the reboot
    expect(dropped.leftAt?.toISOString()).toBe("2026-01-05T10:00:40.000Z");
    expect(dropped.duration).toBe(40);
    await new Promise((r) => setTimeout(r, 300));
    expect(await VideoCallParticipant.findOne({ where: { peerId: b.peerId } })).toMatchObject({ leftAt: null });
    expect((await VideoCallSession.findByPk(session.id))?.endedAt).toBeNull();
  });

  it("the sweeper drops participations silent for STALE_AFTER_MS and ends calls nobody is in", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob", "Carol");
    const [bob, carol] = others as [User, User];
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    const c = await as(carol).videoCall.join({ studyId: study.id, sessionId: session.id });
    services.peerAccess.onConnect(c.peerId); // a live PeerServer socket counts as a sign of life
    clock.advance(50);
    await as(bob).videoCall.heartbeat({ sessionId: session.id });
    clock.advance(20); // alice silent 70 s, bob 20 s
    expect(await services.videoCall.sweep()).toEqual({ dropped: 1, ended: 0 });
    expect(await VideoCallParticipant.findOne({ where: { peerId: a.peerId } })).toMatchObject({
      leaveReason: "DROPPED",
      duration: 0,
    });
    expect(await VideoCallParticipant.findOne({ where: { peerId: b.peerId } })).toMatchObject({ leftAt: null });
    expect(await VideoCallParticipant.findOne({ where: { peerId: c.peerId } })).toMatchObject({ leftAt: null });

    // a call someone started but nobody joined doesn't stay "running" forever
    const other = await makeStudy(alice);
    const lonely = await as(alice).videoCall.start({ studyId: other.id });
    clock.advance(61);
    await as(bob).videoCall.heartbeat({ sessionId: session.id });
    expect(await services.videoCall.sweep()).toEqual({ dropped: 0, ended: 1 });
    expect((await VideoCallSession.findByPk(lonely.session.id))?.endedAt).not.toBeNull();
  });

  it("the sweeper refreshes a connected socket's participation only when no heartbeat did within a sweep period", async () => {
    const { study, owner: alice, others } = await studyWith("Alice", "Bob");
    const [bob] = others as [User];
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    const b = await as(bob).videoCall.join({ studyId: study.id, sessionId: session.id });
    services.peerAccess.onConnect(a.peerId);
    services.peerAccess.onConnect(b.peerId);
    const joinedAt = clock.now().getTime();
    clock.advance(10);
    await as(bob).videoCall.heartbeat({ sessionId: session.id });
    clock.advance(10); // the sweep period is 15 s (STALE_AFTER_MS / 4): alice's row is 20 s old, bob's 10 s
    await services.videoCall.sweep();
    const seen = async (peerId: string) =>
      (await VideoCallParticipant.findOne({ where: { peerId } }))!.lastSeenAt.getTime() - joinedAt;
    expect(await seen(a.peerId)).toBe(20_000);
    expect(await seen(b.peerId)).toBe(10_000);
  });

  it("the sweeper never waits on a participation someone is changing right now", async () => {
    const { study, owner: alice } = await studyWith("Alice");
    const { session } = await as(alice).videoCall.start({ studyId: study.id });
    const a = await as(alice).videoCall.join({ studyId: study.id, sessionId: session.id });
    services.peerAccess.onConnect(a.peerId);
    // Another transaction holds alice's row, as her reload or leave in flight would.
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holder = db().sequelize.transaction(async (transaction) => {
      await VideoCallParticipant.findOne({ where: { peerId: a.peerId }, lock: transaction.LOCK.UPDATE, transaction });
      locked();
      await new Promise<void>((r) => (release = r));
    });
    await isLocked;
    const swept = await Promise.race([
      services.videoCall.sweep().then(() => "done"),
      new Promise((r) => setTimeout(() => r("waiting on the lock"), 2_000)),
    ]);
    release();
    await holder;
    expect(swept).toBe("done");
  });
});
