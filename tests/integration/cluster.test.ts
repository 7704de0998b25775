// Two app instances sharing Postgres and Redis: room events, resume, caches, sessions, login throttle and signaling across them.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VideoCallParticipant, VideoCallSession } from "../../db/models/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import {
  client,
  dropPrefix,
  newPrefix,
  peerSocket,
  startInstance,
  subscribe,
  type Instance,
} from "./cluster-harness.js";
import { sessionCookie } from "./video-call-harness.js";

const db = useTestDatabase();
let A: Instance;
let B: Instance;
const prefix = newPrefix();

beforeAll(async () => {
  A = await startInstance(db().sequelize, { id: "A", prefix });
  B = await startInstance(db().sequelize, { id: "B", prefix });
});
afterAll(async () => {
  await A?.stop();
  await B?.stop();
  await dropPrefix(prefix);
});

async function room() {
  const alice = await makeUser("Alice");
  const bob = await makeUser("Bob");
  const study = await makeStudy(alice);
  await addMember(study, bob, "ACTIVE");
  return {
    study,
    alice: { user: alice, cookie: await sessionCookie(A.services, alice.id) },
    bob: { user: bob, cookie: await sessionCookie(A.services, bob.id) },
  };
}

describe("cluster: two instances behind one Redis", () => {
  it("reports redis ok in /healthz on every instance", async () => {
    for (const i of [A, B]) {
      const res = await fetch(`${i.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok", db: "ok", redis: "ok" });
    }
  });

  it("events published on A reach an SSE subscriber on B, in order", async () => {
    const { study, alice, bob } = await room();
    const onB = subscribe(B.url, bob.cookie, { studyId: study.id });
    await onB.until((e) => e[0]?.type === "snapshot", "snapshot");
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    const joined = await client(A.url, alice.cookie).videoCall.join.mutate({
      studyId: study.id,
      sessionId: session.id,
    });
    await client(A.url, alice.cookie).videoCall.setMedia.mutate({
      sessionId: session.id,
      audio: false,
      video: true,
      screen: false,
    });
    await onB.until((e) => e.some((x) => x.type === "media-changed"), "media-changed on B");
    expect(onB.types()).toEqual(["snapshot", "session-started", "user-joined", "media-changed"]);
    const media = onB.received[3]!.event;
    expect(media).toMatchObject({ type: "media-changed", peerId: joined.peerId, audio: false });
    onB.close();
  });

  it("a stream resumed on the other instance with lastEventId replays exactly what it missed", async () => {
    const { study, alice, bob } = await room();
    const onA = subscribe(A.url, bob.cookie, { studyId: study.id });
    await onA.until((e) => e[0]?.type === "snapshot", "snapshot");
    const api = client(A.url, alice.cookie).videoCall;
    const { session } = await api.start.mutate({ studyId: study.id });
    await onA.until((e) => e.some((x) => x.type === "session-started"), "session-started");
    const lastEventId = onA.received.at(-1)!.id;
    onA.close();
    // Missed while away: a join on B and a media change on A.
    await client(B.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await api.setMedia.mutate({ sessionId: session.id, audio: true, video: false, screen: false });
    const onB = subscribe(B.url, bob.cookie, { studyId: study.id, lastEventId });
    await onB.until((e) => e.length >= 2, "replay on B");
    // No snapshot: the replay came from the shared log.
    expect(onB.types()).toEqual(["user-joined", "media-changed"]);
    // Live events keep coming after the replay.
    await client(A.url, alice.cookie).videoCall.leave.mutate({ sessionId: session.id });
    await onB.until((e) => e.some((x) => x.type === "session-ended"), "session-ended");
    expect(onB.types()).toEqual(["user-joined", "media-changed", "user-left", "session-ended"]);
    onB.close();
  });

  it("an id the log no longer holds (or garbage) re-snapshots instead of skipping events", async () => {
    const { study, bob } = await room();
    const s = subscribe(B.url, bob.cookie, { studyId: study.id, lastEventId: "1-0" });
    await s.until((e) => e.length >= 1, "snapshot");
    expect(s.types()).toEqual(["snapshot"]);
    s.close();
  });

  it("a join on A and a leave on B keep one session and close the participation once", async () => {
    const { study, alice, bob } = await room();
    const { session, created } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    const again = await client(B.url, bob.cookie).videoCall.start.mutate({ studyId: study.id });
    expect(created).toBe(true);
    expect(again).toMatchObject({ created: false, session: { id: session.id } });
    await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await client(B.url, bob.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await client(B.url, alice.cookie).videoCall.leave.mutate({ sessionId: session.id });
    expect(await VideoCallSession.count({ where: { studyId: study.id } })).toBe(1);
    const rows = await VideoCallParticipant.findAll({ where: { sessionId: session.id }, order: [["joinedAt", "ASC"]] });
    expect(rows.map((r) => [r.userId, r.leaveReason ?? null])).toEqual([
      [alice.user.id, "LEFT"],
      [bob.user.id, null],
    ]);
  });

  it("status on B sees a call started on A at once (snapshot cache invalidated across instances)", async () => {
    const { study, alice, bob } = await room();
    const statusB = () => client(B.url, bob.cookie).videoCall.status.query({ studyId: study.id });
    expect((await statusB()).session).toBeNull(); // now cached on B
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    await new Promise((r) => setTimeout(r, 100));
    expect((await statusB()).session?.id).toBe(session.id);
  });

  it("membership changes on A apply on B's next request (membership cache invalidated across instances)", async () => {
    const { study, bob } = await room();
    const statusB = () => client(B.url, bob.cookie).videoCall.status.query({ studyId: study.id });
    await statusB(); // caches Bob as ACTIVE on B
    // A's model write runs A's hooks; in one test process that would also reach B's hooks, so say it through Redis only.
    await db().sequelize.query(`UPDATE study_members SET status = 'BANNED' WHERE "userId" = $1`, {
      bind: [bob.user.id],
    });
    A.services.cluster!.redis.broadcast("memberships", null);
    await new Promise((r) => setTimeout(r, 100));
    await expect(statusB()).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
  });

  it("a login session revoked on A is refused by B at once", async () => {
    const { study, bob } = await room();
    const statusB = () => client(B.url, bob.cookie).videoCall.status.query({ studyId: study.id });
    await statusB(); // B now holds Bob's session in its 2 s cache
    const sessionId = (await B.services.auth.sessionFromCookie(bob.cookie))!.id;
    await A.services.auth.sessions.end(sessionId);
    await new Promise((r) => setTimeout(r, 100));
    await expect(statusB()).rejects.toMatchObject({ data: { code: "UNAUTHORIZED" } });
  });

  it("the login throttle counts failures from every instance", async () => {
    const user = await makeUser("Throttled");
    const attempt = (i: Instance) =>
      i.services.accounts.login({ email: user.email, password: "wrong-password" }, "203.0.113.9");
    for (const i of [A, B, A, B, A]) await expect(attempt(i)).rejects.toBeTruthy();
    await new Promise((r) => setTimeout(r, 100));
    await expect(attempt(B)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });

  it("the chat limit counts messages sent through every instance", async () => {
    const { study, alice } = await room();
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const send = (i: Instance, n: number) =>
      client(i.url, alice.cookie).chat.send.mutate({ sessionId: session.id, body: `m${n}`, clientId: randomUUID() });
    // Ten messages per 10 s, alternating instances as a round-robin balancer would send them.
    for (let n = 0; n < 10; n++) {
      await send(n % 2 ? B : A, n);
      await new Promise((r) => setTimeout(r, 20));
    }
    await expect(send(A, 10)).rejects.toMatchObject({ data: { code: "TOO_MANY_REQUESTS" } });
    await expect(send(B, 11)).rejects.toMatchObject({ data: { code: "TOO_MANY_REQUESTS" } });
  });

  it("signaling from a socket on A reaches a peer on B, in order, with the sender's id", async () => {
    const { study, alice, bob } = await room();
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    const a = await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const b = await client(B.url, bob.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sa = await peerSocket(A.url, alice.cookie, a.peerId);
    const sb = await peerSocket(B.url, bob.cookie, b.peerId);
    expect(sa.messages[0]).toMatchObject({ type: "OPEN" });
    expect(A.services.cluster!.registry.isLocal(a.peerId)).toBe(true);
    expect(B.services.cluster!.registry.isLocal(b.peerId)).toBe(true);
    const forwardedBefore = A.services.cluster!.relay.stats.forwarded;
    sa.send({ type: "OFFER", dst: b.peerId, payload: { sdp: "offer" } });
    for (let n = 0; n < 50; n++) sa.send({ type: "CANDIDATE", dst: b.peerId, payload: { n } });
    await sb.until((m) => m.filter((x) => x.type === "CANDIDATE").length === 50, "50 candidates on B");
    const relayed = sb.messages.filter((m) => m.type !== "OPEN");
    expect(relayed[0]).toMatchObject({ type: "OFFER", src: a.peerId, dst: b.peerId, payload: { sdp: "offer" } });
    expect(relayed.slice(1).map((m) => (m.payload as { n: number }).n)).toEqual([...Array(50).keys()]);
    expect(A.services.cluster!.relay.stats.forwarded - forwardedBefore).toBe(51);
    // And back the other way.
    sb.send({ type: "ANSWER", dst: a.peerId, payload: { sdp: "answer" } });
    await sa.until((m) => m.some((x) => x.type === "ANSWER"), "answer on A");
    expect(sa.messages.find((m) => m.type === "ANSWER")).toMatchObject({ src: b.peerId });
    sa.close();
    sb.close();
  });

  it("signaling follows a peer that re-dialed to a third instance, straight there", async () => {
    const C = await startInstance(db().sequelize, { id: "C", prefix });
    try {
      const { study, alice, bob } = await room();
      const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
      const a = await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
      const b = await client(B.url, bob.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
      const sa = await peerSocket(A.url, alice.cookie, a.peerId);
      const sb = await peerSocket(B.url, bob.cookie, b.peerId);
      sa.send({ type: "OFFER", dst: b.peerId, payload: { n: 1 } });
      await sb.until((m) => m.some((x) => x.type === "OFFER"), "the offer on B");
      // Bob's signaling socket drops and re-dials within the drop grace (300 ms here); the balancer sends it to C.
      sb.close();
      await new Promise((r) => setTimeout(r, 50));
      const sc = await peerSocket(C.url, bob.cookie, b.peerId);
      expect(sc.messages[0]).toMatchObject({ type: "OPEN" });
      await new Promise((r) => setTimeout(r, 100));
      const forwardedByB = B.services.cluster!.relay.stats.forwarded;
      for (let n = 2; n <= 4; n++) sa.send({ type: "CANDIDATE", dst: b.peerId, payload: { n } });
      await sc.until((m) => m.filter((x) => x.type === "CANDIDATE").length === 3, "three candidates on C");
      expect(sc.messages.filter((m) => m.type === "CANDIDATE").map((m) => (m.payload as { n: number }).n)).toEqual([
        2, 3, 4,
      ]);
      // A did not send them to B on an old guess (B would have had to pass them on).
      expect(B.services.cluster!.relay.stats.forwarded).toBe(forwardedByB);
      sa.close();
      sc.close();
    } finally {
      await C.stop();
    }
  });

  it("a pre-join grant issued on A opens a socket on B, is consumed by a join on A, and signals at once", async () => {
    const { study, alice, bob } = await room();
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    const a = await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sa = await peerSocket(A.url, alice.cookie, a.peerId);
    const { grant } = await client(A.url, bob.cookie).videoCall.prepareJoin.mutate({ studyId: study.id });
    const sb = await peerSocket(B.url, bob.cookie, grant);
    expect(sb.messages[0]).toMatchObject({ type: "OPEN" });
    expect(await VideoCallParticipant.count({ where: { userId: bob.user.id } })).toBe(0);
    const b = await client(A.url, bob.cookie).videoCall.join.mutate({
      studyId: study.id,
      sessionId: session.id,
      grant,
    });
    expect(b.warm).toBe(true);
    expect(B.services.cluster!.registry.isLocal(b.peerId)).toBe(true);
    sb.send({ type: "OFFER", dst: a.peerId, payload: { sdp: "offer" } });
    await sa.until((m) => m.some((x) => x.type === "OFFER"), "Bob's offer on A");
    expect(sa.messages.find((m) => m.type === "OFFER")).toMatchObject({ src: b.peerId });
    // Used once, on any instance.
    const again = await client(B.url, bob.cookie).videoCall.join.mutate({
      studyId: study.id,
      sessionId: session.id,
      grant,
    });
    expect(again.warm).toBe(false);
    sa.close();
    sb.close();
  });

  it("a message for a peer that is nowhere expires as PeerJS does", async () => {
    const { study, alice } = await room();
    const { session } = await client(A.url, alice.cookie).videoCall.start.mutate({ studyId: study.id });
    const a = await client(A.url, alice.cookie).videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    const sa = await peerSocket(A.url, alice.cookie, a.peerId);
    sa.send({ type: "OFFER", dst: "pnowhere", payload: {} });
    await sa.until((m) => m.some((x) => x.type === "EXPIRE"), "EXPIRE", 10_000);
    expect(sa.messages.find((m) => m.type === "EXPIRE")).toMatchObject({ src: "pnowhere", dst: a.peerId });
    sa.close();
  }, 15_000);
});
