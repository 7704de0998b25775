// Pre-join grants (issue #16 §2): the signaling socket opens before the click, only for an ACTIVE member's own
// unused, unexpired grant; the join consumes it; nobody learns the peer id before the join; an unused grant leaves no record.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { StudyMember, VideoCallParticipant } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import { createServices, type Services } from "../../server/services/index.js";
import { grantPeerIds } from "../../server/services/video-call/prejoin-grants.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { trpcClient } from "../helpers/trpc-client.js";
import { peerSocket } from "./cluster-harness.js";
import { ManualClock, sessionCookie, startTestServer } from "./video-call-harness.js";

const SECRET = "g".repeat(32);
const peerIdOf = grantPeerIds(SECRET);
const db = useTestDatabase();
const clock = new ManualClock(new Date().toISOString());
let services: Services;
let server: AppServer;

beforeAll(async () => {
  services = createServices(db().sequelize, { SESSION_SECRET: SECRET }, { now: clock.now });
  server = await startTestServer(services);
});
afterAll(async () => {
  await services?.stop();
  await server?.close();
});

const wsUrl = (id: string, token = "t") =>
  `${server.url.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}`;

/** 101 when the upgrade is accepted, else the refusal's HTTP status. */
function upgradeStatus(id: string, cookie: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(id, `t${Math.random().toString(36).slice(2)}`), { headers: { Cookie: cookie } });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("error", () => {});
  });
}

async function room() {
  const alice = await makeUser("Alice");
  const bob = await makeUser("Bob");
  const carol = await makeUser("Carol");
  const study = await makeStudy(alice);
  await addMember(study, bob);
  await addMember(study, carol);
  const cookies = {
    alice: await sessionCookie(services, alice.id),
    bob: await sessionCookie(services, bob.id),
    carol: await sessionCookie(services, carol.id),
  };
  const api = (who: keyof typeof cookies) => trpcClient(server.url, cookies[who]).videoCall;
  const { session } = await api("alice").start.mutate({ studyId: study.id });
  const a = await api("alice").join.mutate({ studyId: study.id, sessionId: session.id });
  return { study, session, alice, bob, carol, cookies, api, a };
}

const participations = (userId: string) => VideoCallParticipant.count({ where: { userId } });

describe("pre-join grants", () => {
  it("a warm socket joins with the grant's peer id, learned only from the join, and signals at once", async () => {
    const { study, session, bob, cookies, api, a } = await room();
    const sa = await peerSocket(server.url, cookies.alice, a.peerId);

    const prepared = await api("bob").prepareJoin.mutate({ studyId: study.id });
    expect(prepared.grant).toMatch(/^g[0-9a-f]{32}$/);
    expect(Date.parse(prepared.expiresAt) - clock.now().getTime()).toBeLessThanOrEqual(120_000);
    expect(prepared.iceTransportPolicy).toBe("all");
    const futurePeerId = peerIdOf(prepared.grant);
    // Nothing the browser (or anyone in the room) can read names the future peer id.
    expect(JSON.stringify(prepared)).not.toContain(futurePeerId);
    const sb = await peerSocket(server.url, cookies.bob, prepared.grant);
    expect(sb.messages[0]).toEqual({ type: "OPEN" });
    expect(JSON.stringify(await api("bob").status.query({ studyId: study.id }))).not.toContain(futurePeerId);
    expect(await participations(bob.id)).toBe(0);

    const joined = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant: prepared.grant });
    expect(joined).toMatchObject({ warm: true, peerId: futurePeerId });
    // Dials at once: the warm socket's first offer reaches Alice as coming from Bob's participation.
    sb.send({ type: "OFFER", dst: a.peerId, payload: { sdp: "offer" } });
    await sa.until((m) => m.some((x) => x.type === "OFFER"), "Bob's offer");
    expect(sa.messages.find((m) => m.type === "OFFER")).toMatchObject({ src: joined.peerId, dst: a.peerId });
    sa.send({ type: "ANSWER", dst: joined.peerId, payload: { sdp: "answer" } });
    await sb.until((m) => m.some((x) => x.type === "ANSWER"), "Alice's answer");

    // PeerJS re-registers with the id it opened with: the used grant stands for the open participation only.
    sb.close();
    expect(await upgradeStatus(prepared.grant, cookies.bob)).toBe(101);
    await api("bob").leave.mutate({ sessionId: session.id });
    expect(await upgradeStatus(prepared.grant, cookies.bob)).toBe(401);
    sa.close();
  });

  it("a pre-join socket cannot signal anyone before its join", async () => {
    const { study, cookies, api, a } = await room();
    const sa = await peerSocket(server.url, cookies.alice, a.peerId);
    const { grant } = await api("bob").prepareJoin.mutate({ studyId: study.id });
    const sb = await peerSocket(server.url, cookies.bob, grant);
    const closed = new Promise<number>((resolve) => sb.ws.once("close", (code) => resolve(code)));
    sb.send({ type: "OFFER", dst: a.peerId, payload: { sdp: "offer" } });
    expect(await closed).toBe(1008);
    await new Promise((r) => setTimeout(r, 200));
    expect(sa.messages.filter((m) => m.type === "OFFER")).toEqual([]);
    sa.close();
  });

  it("an expired grant opens no socket, warms no join, and leaves no call record", async () => {
    const { study, session, bob, cookies, api } = await room();
    const { grant } = await api("bob").prepareJoin.mutate({ studyId: study.id });
    clock.advance(121);
    expect(await upgradeStatus(grant, cookies.bob)).toBe(401);
    expect(await participations(bob.id)).toBe(0);
    // A join without a warm socket works as before: a fresh peer id, the socket opened with it.
    const joined = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant });
    expect(joined.warm).toBe(false);
    expect(joined.peerId).not.toBe(peerIdOf(grant));
    expect(await upgradeStatus(joined.peerId, cookies.bob)).toBe(101);
  });

  it("another user's grant opens no socket and is not consumed by their join", async () => {
    const { study, session, cookies, api } = await room();
    const { grant } = await api("bob").prepareJoin.mutate({ studyId: study.id });
    expect(await upgradeStatus(grant, cookies.carol)).toBe(401);
    const carols = await api("carol").join.mutate({ studyId: study.id, sessionId: session.id, grant });
    expect(carols.warm).toBe(false);
    expect(carols.peerId).not.toBe(peerIdOf(grant));
    // Bob's grant is untouched.
    expect(await upgradeStatus(grant, cookies.bob)).toBe(101);
    const bobs = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant });
    expect(bobs).toMatchObject({ warm: true, peerId: peerIdOf(grant) });
  });

  it("a grant is used once: a second join with it is cold, and after leaving it opens nothing", async () => {
    const { study, session, cookies, api } = await room();
    const { grant } = await api("bob").prepareJoin.mutate({ studyId: study.id });
    const first = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant });
    expect(first.warm).toBe(true);
    const second = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant });
    expect(second.warm).toBe(false);
    expect(second.peerId).not.toBe(first.peerId);
    // The first participation was replaced (closed): the grant no longer stands for anything open.
    expect(await upgradeStatus(grant, cookies.bob)).toBe(401);
  });

  it("only an ACTIVE member gets a grant, and one who stops being one can't use theirs", async () => {
    const { study, session, bob, cookies, api } = await room();
    const mallory = await makeUser("Mallory");
    const pat = await makeUser("Pat");
    await addMember(study, pat, "PENDING");
    for (const user of [mallory, pat]) {
      const stranger = trpcClient(server.url, await sessionCookie(services, user.id)).videoCall;
      await expect(stranger.prepareJoin.mutate({ studyId: study.id })).rejects.toMatchObject({
        data: { code: "FORBIDDEN" },
      });
    }
    // A grant from another study does not warm a join here.
    const other = await makeStudy(bob);
    const foreign = await api("bob").prepareJoin.mutate({ studyId: other.id });
    const cold = await api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant: foreign.grant });
    expect(cold.warm).toBe(false);
    await api("bob").leave.mutate({ sessionId: session.id });

    const { grant } = await api("bob").prepareJoin.mutate({ studyId: study.id });
    await StudyMember.update({ status: "LEFT" }, { where: { studyId: study.id, userId: bob.id } });
    expect(await upgradeStatus(grant, cookies.bob)).toBe(401);
  });

  it("malformed grants are a 400 and change nothing", async () => {
    const { study, session, bob, api } = await room();
    await expect(
      api("bob").join.mutate({ studyId: study.id, sessionId: session.id, grant: "p0123" }),
    ).rejects.toMatchObject({ data: { code: "BAD_REQUEST" } });
    expect(await participations(bob.id)).toBe(0);
  });
});
