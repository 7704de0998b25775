import { randomUUID } from "node:crypto";
import { trpcClient } from "../helpers/trpc-client.js";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StudyMember, VideoCallParticipant, VideoCallSession, type Study, type User } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import type { RoomStreamEvent } from "../../server/events.js";
import { createServices, type Services } from "../../server/services/index.js";
import type { AppRouter } from "../../server/trpc/routers/_app.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { ManualClock, sessionCookie, startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
let clock: ManualClock;
let services: Services;
let server: AppServer;

beforeAll(async () => {
  clock = new ManualClock();
  services = createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) }, { now: clock.now });
  server = await startTestServer(services);
});
afterAll(async () => {
  await services?.stop();
  await server?.close();
});

type Who = { user: User; cookie: string };
async function person(name: string, study?: Study, status?: "ACTIVE" | "PENDING" | "BANNED"): Promise<Who> {
  const user = await makeUser(name);
  if (study && status) await addMember(study, user, status);
  return { user, cookie: await sessionCookie(services, user.id) };
}

async function rest(method: string, path: string, opts: { cookie?: string; body?: unknown; raw?: string } = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(opts.cookie ? { Cookie: opts.cookie } : {}),
      ...(opts.body !== undefined || opts.raw ? { "Content-Type": "application/json" } : {}),
    },
    body: opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path} → ${res.status} non-JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body, type: res.headers.get("content-type") };
}
const callPath = (studyId: string, action: string) => `/api/my-studies/${studyId}/video-call/${action}`;

function client(cookie?: string) {
  return trpcClient(server.url, cookie);
}

/** Reads an SSE response until `marker` shows up (or the stream ends), then hangs up. */
async function readSseUntil(res: Response, marker: string): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + 5_000;
  while (!text.includes(marker) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

/** A browser-like subscriber over real SSE. */
function subscribe(cookie: string, input: { studyId: string; lastEventId?: string }) {
  const received: Array<{ id: string; event: RoomStreamEvent }> = [];
  let failure: unknown = null;
  const sub = client(cookie).videoCall.events.subscribe(input, {
    onData: (t) => received.push({ id: t.id, event: t.data }),
    onError: (err) => {
      failure = err;
    },
  });
  return {
    received,
    types: () => received.map((r) => r.event.type),
    async until(predicate: (types: string[]) => boolean, what = "events") {
      for (let i = 0; i < 500 && !predicate(received.map((r) => r.event.type)); i++) {
        if (failure) throw failure;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (!predicate(received.map((r) => r.event.type)))
        throw new Error(`timed out waiting for ${what}; got ${received.map((r) => r.event.type)}`);
    },
    close: () => sub.unsubscribe(),
  };
}

describe("REST: /api/my-studies/:studyId/video-call/*", () => {
  it("runs a call: start, status, join, leave, with the documented shapes", async () => {
    const alice = await person("Alice");
    const study = await makeStudy(alice.user);
    const bob = await person("Bob", study, "ACTIVE");

    const none = await rest("GET", callPath(study.id, "status"), { cookie: bob.cookie });
    expect(none).toMatchObject({ status: 200, body: { session: null } });
    expect(none.type).toContain("application/json");

    const started = await rest("POST", callPath(study.id, "start"), { cookie: alice.cookie });
    expect(started).toMatchObject({ status: 200, body: { created: true } });
    const session = started.body.session as { id: string; startedBy: string };
    expect(session.startedBy).toBe(alice.user.id);
    const again = await rest("POST", callPath(study.id, "start"), { cookie: bob.cookie });
    expect(again).toMatchObject({ status: 200, body: { session: { id: session.id }, message: expect.any(String) } });

    const joined = await rest("POST", callPath(study.id, "join"), {
      cookie: alice.cookie,
      body: { sessionId: session.id },
    });
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({
      participant: { userId: alice.user.id, name: "Alice", audio: true, video: true, screen: false },
      peerId: expect.stringMatching(/^p[0-9a-f]{32}$/),
      iceServers: [],
    });
    clock.advance(12);
    const status = await rest("GET", callPath(study.id, "status"), { cookie: bob.cookie });
    expect(status.body.session).toMatchObject({
      id: session.id,
      onlineCount: 1,
      participants: [{ userId: alice.user.id }],
    });

    const left = await rest("POST", callPath(study.id, "leave"), {
      cookie: alice.cookie,
      body: { sessionId: session.id },
    });
    expect(left).toMatchObject({ status: 200, body: { success: true } });
    expect((await rest("GET", callPath(study.id, "status"), { cookie: bob.cookie })).body).toEqual({ session: null });
    expect((await VideoCallSession.findByPk(session.id))?.duration).toBe(12);
  });

  it("answers every refusal and bad request with {error} and the right status, writing nothing", async () => {
    const owner = await person("Owner");
    const study = await makeStudy(owner.user);
    const member = await person("Member", study, "ACTIVE");
    const stranger = await person("Stranger");
    const pending = await person("Pending", study, "PENDING");
    const banned = await person("Banned", study, "BANNED");
    const { body } = await rest("POST", callPath(study.id, "start"), { cookie: owner.cookie });
    const sessionId = (body.session as { id: string }).id;
    await rest("POST", callPath(study.id, "join"), { cookie: owner.cookie, body: { sessionId } });

    const counts = async () => [
      await VideoCallSession.count(),
      await VideoCallParticipant.count(),
      await VideoCallParticipant.count({ where: { leftAt: null } }),
      await StudyMember.count(),
    ];
    const before = await counts();
    const routes: Array<[string, string, unknown]> = [
      ["GET", "status", undefined],
      ["POST", "start", undefined],
      ["POST", "join", { sessionId }],
      ["POST", "leave", { sessionId }],
    ];
    for (const [who, cookie, status] of [
      ["anonymous", undefined, 401],
      ["garbage cookie", "coup_session=forged", 401],
      ["non-member", stranger.cookie, 403],
      ["pending", pending.cookie, 403],
      ["banned", banned.cookie, 403],
    ] as const) {
      for (const [method, action, reqBody] of routes) {
        const res = await rest(method, callPath(study.id, action), { cookie, body: reqBody });
        expect([who, action, res.status]).toEqual([who, action, status]);
        expect(res.body.error, `${who} ${action}`).toEqual(expect.any(String));
      }
    }
    expect(await counts()).toEqual(before);

    const unknown = randomUUID();
    const cases: Array<[string, string, string, { body?: unknown; raw?: string }, number]> = [
      ["study id not a uuid", "GET", callPath("nope", "status"), {}, 400],
      ["unknown study", "GET", callPath(unknown, "status"), {}, 400],
      ["unknown study start", "POST", callPath(unknown, "start"), {}, 400],
      ["no body", "POST", callPath(study.id, "join"), {}, 400],
      ["not JSON", "POST", callPath(study.id, "join"), { raw: "sessionId=1" }, 400],
      ["JSON array", "POST", callPath(study.id, "join"), { body: [sessionId] }, 400],
      ["wrong type", "POST", callPath(study.id, "join"), { body: { sessionId: 7 } }, 400],
      ["huge string", "POST", callPath(study.id, "join"), { body: { sessionId: "x".repeat(10_000) } }, 400],
      ["huge body", "POST", callPath(study.id, "join"), { body: { sessionId, pad: "x".repeat(100_000) } }, 400],
      ["unknown session", "POST", callPath(study.id, "join"), { body: { sessionId: unknown } }, 400],
      ["unknown session leave", "POST", callPath(study.id, "leave"), { body: { sessionId: unknown } }, 400],
      ["not in the call", "POST", callPath(study.id, "leave"), { body: { sessionId } }, 404],
      ["wrong method status", "POST", callPath(study.id, "status"), {}, 405],
      ["wrong method join", "GET", callPath(study.id, "join"), {}, 405],
      ["wrong method leave", "DELETE", callPath(study.id, "leave"), {}, 405],
    ];
    for (const [label, method, path, opts, status] of cases) {
      const res = await rest(method, path, { cookie: member.cookie, ...opts });
      expect([label, res.status]).toEqual([label, status]);
      expect(res.body.error, label).toEqual(expect.any(String));
      expect(res.body.error, label).not.toMatch(/went wrong/);
    }
    expect(await counts()).toEqual(before);

    // a call that has ended can't be joined
    await rest("POST", callPath(study.id, "leave"), { cookie: owner.cookie, body: { sessionId } });
    const late = await rest("POST", callPath(study.id, "join"), { cookie: member.cookie, body: { sessionId } });
    expect(late).toMatchObject({ status: 400, body: { error: expect.stringMatching(/ended/) } });
  });
});

describe("tRPC over HTTP", () => {
  it("a refused join carries its reason (removed, locked) beside the code, on tRPC and REST", async () => {
    const owner = await person("Olga");
    const study = await makeStudy(owner.user);
    const bob = await person("Bob", study, "ACTIVE");
    const carol = await person("Carol", study, "ACTIVE");
    const { session } = await client(owner.cookie).videoCall.start.mutate({ studyId: study.id });
    const sessionId = session.id;
    await client(owner.cookie).videoCall.join.mutate({ studyId: study.id, sessionId });
    await client(bob.cookie).videoCall.join.mutate({ studyId: study.id, sessionId });
    await client(owner.cookie).videoCall.removeParticipant.mutate({ sessionId, userId: bob.user.id, ban: true });
    const refusal = async (who: Who) => {
      const err = await client(who.cookie)
        .videoCall.join.mutate({ studyId: study.id, sessionId })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(TRPCClientError);
      const data = (err as TRPCClientError<AppRouter>).data as { code?: string; reason?: string | null };
      return { code: data.code, reason: data.reason, message: (err as Error).message };
    };
    expect(await refusal(bob)).toEqual({
      code: "FORBIDDEN",
      reason: "removed",
      message: "You were removed from this call",
    });
    await client(owner.cookie).videoCall.setPermissions.mutate({
      sessionId,
      unmute: "everyone",
      camera: "everyone",
      screenShare: "everyone",
      locked: true,
    });
    expect(await refusal(carol)).toEqual({ code: "FORBIDDEN", reason: "locked", message: "The call is locked" });
    // REST says the same; a non-member's refusal has no reason.
    const locked = await rest("POST", callPath(study.id, "join"), { cookie: carol.cookie, body: { sessionId } });
    expect(locked).toMatchObject({ status: 403, body: { error: "The call is locked", reason: "locked" } });
    const stranger = await person("Sam");
    const refusedStranger = await rest("POST", callPath(study.id, "join"), {
      cookie: stranger.cookie,
      body: { sessionId },
    });
    expect(refusedStranger.status).toBe(403);
    expect(refusedStranger.body.reason).toBeUndefined();
  });

  it("serves videoCall.status by GET with the session cookie and maps errors to 401/403/400", async () => {
    const owner = await person("Owner");
    const study = await makeStudy(owner.user);
    const stranger = await person("Stranger");
    const url = (input: unknown) =>
      `${server.url}/api/trpc/videoCall.status?input=${encodeURIComponent(JSON.stringify(input))}`;
    const ok = await fetch(url({ studyId: study.id }), { headers: { Cookie: owner.cookie } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ result: { data: { session: null } } });
    expect((await fetch(url({ studyId: study.id }))).status).toBe(401);
    expect((await fetch(url({ studyId: study.id }), { headers: { Cookie: stranger.cookie } })).status).toBe(403);
    const bad = await fetch(url({ studyId: 5 }), { headers: { Cookie: owner.cookie } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/studyId/);

    const c = client(owner.cookie);
    const huge = await c.videoCall.leave.mutate({ sessionId: "x".repeat(200_000) }).catch((e: unknown) => e);
    expect(huge).toBeInstanceOf(TRPCClientError);
    expect((huge as TRPCClientError<AppRouter>).data?.httpStatus).toBe(400);
  });

  it("refuses the events subscription to anonymous, non-members, PENDING and BANNED before streaming", async () => {
    const owner = await person("Owner");
    const study = await makeStudy(owner.user);
    const url = `${server.url}/api/trpc/videoCall.events?input=${encodeURIComponent(JSON.stringify({ studyId: study.id }))}`;
    // tRPC answers SSE with 200 and reports a refusal as the stream's only event: an error, no data.
    const cases: Array<[string | undefined, string]> = [
      [undefined, "UNAUTHORIZED"],
      [(await person("Stranger")).cookie, "FORBIDDEN"],
      [(await person("Pending", study, "PENDING")).cookie, "FORBIDDEN"],
      [(await person("Banned", study, "BANNED")).cookie, "FORBIDDEN"],
    ];
    for (const [cookie, code] of cases) {
      const res = await fetch(url, { headers: { Accept: "text/event-stream", ...(cookie ? { Cookie: cookie } : {}) } });
      const text = await readSseUntil(res, "serialized-error");
      expect(text).toMatch(/event: serialized-error/);
      expect(text).toContain(`"code":"${code}"`);
      expect(text).not.toMatch(/snapshot/);
    }
    const sub = subscribe((await person("Stranger2")).cookie, { studyId: study.id });
    await expect(sub.until((t) => t.length > 0)).rejects.toMatchObject({ data: { code: "FORBIDDEN" } });
    sub.close();

    const res = await fetch(url, { headers: { Accept: "text/event-stream", Cookie: owner.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await readSseUntil(res, "snapshot")).toMatch(/"type":"snapshot","session":null/);
  });

  it("a second client on videoCall.events sees the call in order, and resuming with lastEventId loses nothing", async () => {
    const alice = await person("Alice");
    const study = await makeStudy(alice.user);
    const bob = await person("Bob", study, "ACTIVE");
    const carol = await person("Carol", study, "ACTIVE");
    const a = client(alice.cookie);
    const b = client(bob.cookie);

    const watcher = subscribe(carol.cookie, { studyId: study.id });
    await watcher.until((t) => t.includes("snapshot"));
    expect(watcher.received[0]!.event).toEqual({ type: "snapshot", session: null });

    const { session } = await a.videoCall.start.mutate({ studyId: study.id });
    await a.videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await b.videoCall.join.mutate({ studyId: study.id, sessionId: session.id });
    await watcher.until((t) => t.filter((x) => x === "user-joined").length === 2);
    const resumeFrom = watcher.received.at(-1)!.id;
    watcher.close();

    // while carol is away
    await a.videoCall.setMedia.mutate({ sessionId: session.id, audio: false, video: true, screen: false });
    await b.videoCall.leave.mutate({ sessionId: session.id });

    const resumed = subscribe(carol.cookie, { studyId: study.id, lastEventId: resumeFrom });
    await resumed.until((t) => t.includes("user-left"));
    await a.videoCall.leave.mutate({ sessionId: session.id });
    await resumed.until((t) => t.includes("session-ended"));
    resumed.close();

    expect([...watcher.types(), ...resumed.types()]).toEqual([
      "snapshot",
      "session-started",
      "user-joined",
      "user-joined",
      "media-changed",
      "user-left",
      "user-left",
      "session-ended",
    ]);
    const ids = [...watcher.received, ...resumed.received].map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(resumed.received.at(-1)!.event).toMatchObject({ type: "session-ended", sessionId: session.id });
  });
});
