// Server-side sessions: a cookie stops working everywhere the moment its session ends.
import { createCookie, createCookieSessionStorage } from "@remix-run/node";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { Session, VideoCallParticipant } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import { createServices, type Services } from "../../server/services/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { sessionCookie, startTestServer } from "./video-call-harness.js";

const SECRET = "x".repeat(32);
const db = useTestDatabase();
let services: Services;
let server: AppServer;

beforeAll(async () => {
  services = createServices(db().sequelize, { SESSION_SECRET: SECRET });
  server = await startTestServer(services);
});
afterAll(async () => {
  await services?.stop();
  await server?.close();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields);

async function post(path: string, fields: Record<string, string>, cookie?: string) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    body: form(fields),
    headers: { "Content-Type": "application/x-www-form-urlencoded", ...(cookie ? { Cookie: cookie } : {}) },
    redirect: "manual",
  });
}

/** The status a page answers with (302 to /login when the cookie is not a live session). */
async function page(path: string, cookie: string) {
  const res = await fetch(`${server.url}${path}`, { headers: { Cookie: cookie }, redirect: "manual" });
  await res.body?.cancel();
  return { status: res.status, location: res.headers.get("location") };
}

async function trpcStatus(cookie: string): Promise<number> {
  const res = await fetch(`${server.url}/api/trpc/study.list`, { headers: { Cookie: cookie } });
  await res.body?.cancel();
  return res.status;
}

async function login(email: string, password: string): Promise<string> {
  const res = await post("/login", { email, password });
  expect(res.status).toBe(302);
  return res.headers.get("set-cookie")!.split(";")[0]!;
}

function upgradeStatus(url: string, cookie: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { Cookie: cookie } });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("error", () => {});
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("logging out ends the session everywhere", () => {
  it("a copied cookie stops opening pages, tRPC, the PeerServer socket and the event stream", async () => {
    const owner = await makeUser("Owner");
    const bob = await makeUser("Bob");
    const study = await makeStudy(owner);
    await addMember(study, bob);
    const cookie = await sessionCookie(services, bob.id);
    const ownerCookie = await sessionCookie(services, owner.id);

    expect(await page("/studies", cookie)).toMatchObject({ status: 200 });
    expect(await trpcStatus(cookie)).toBe(200);

    // Bob is in a call: owner starts, Bob joins and opens his signaling socket and event stream.
    const { session } = await services.videoCall.start(owner.id, { studyId: study.id });
    await services.videoCall.join(owner.id, { studyId: study.id, sessionId: session.id });
    const { peerId } = await services.videoCall.join(bob.id, { studyId: study.id, sessionId: session.id });
    const wsUrl = `${server.url.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${peerId}&token=t`;
    const ws = new WebSocket(wsUrl, { headers: { Cookie: cookie } });
    let wsClosedAt = 0;
    ws.on("close", () => (wsClosedAt = Date.now()));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });

    const input = encodeURIComponent(JSON.stringify({ studyId: study.id }));
    const sse = await fetch(`${server.url}/api/trpc/videoCall.events?input=${input}`, {
      headers: { Accept: "text/event-stream", Cookie: cookie },
    });
    const reader = sse.body!.getReader();
    let text = "";
    while (!text.includes("snapshot")) text += new TextDecoder().decode((await reader.read()).value);
    let sseEndedAt = 0;
    void (async () => {
      for (;;) if ((await reader.read()).done) break;
      sseEndedAt = Date.now();
    })().catch(() => (sseEndedAt = Date.now()));

    const loggedOutAt = Date.now();
    const res = await post("/logout", {}, cookie);
    expect(res.status).toBe(302);
    expect(res.headers.get("set-cookie")).toMatch(/coup_session=;.*Max-Age=0/i);

    // Right away, no cache window: this instance did the logout.
    expect(await page("/studies", cookie)).toEqual({ status: 302, location: "/login?redirectTo=%2Fstudies" });
    expect(await trpcStatus(cookie)).toBe(401);
    expect(await upgradeStatus(wsUrl, cookie)).toBe(401);
    await waitFor(() => wsClosedAt > 0, 5_000, "the signaling socket to close");
    await waitFor(() => sseEndedAt > 0, 5_000, "the event stream to end");
    expect(wsClosedAt - loggedOutAt).toBeLessThan(5_000);
    expect(sseEndedAt - loggedOutAt).toBeLessThan(5_000);

    // Bob was taken out of the call like a leave; the owner's seat and the call remain.
    await waitFor(
      async () => (await VideoCallParticipant.findOne({ where: { peerId } }))?.leftAt != null,
      5_000,
      "Bob's participation to close",
    );
    expect((await VideoCallParticipant.findOne({ where: { peerId } }))?.leaveReason).toBe("LEFT");
    const status = await services.videoCall.status(owner.id, { studyId: study.id });
    expect(status.session?.participants.map((p) => p.userId)).toEqual([owner.id]);
    // Other people's sessions are untouched.
    expect(await trpcStatus(ownerCookie)).toBe(200);
  });

  it("a session ended elsewhere (row deleted) closes this instance's streams within 5 s", async () => {
    const owner = await makeUser("Owner");
    const study = await makeStudy(owner);
    const cookie = await sessionCookie(services, owner.id);
    const input = encodeURIComponent(JSON.stringify({ studyId: study.id }));
    const sse = await fetch(`${server.url}/api/trpc/videoCall.events?input=${input}`, {
      headers: { Accept: "text/event-stream", Cookie: cookie },
    });
    const reader = sse.body!.getReader();
    let text = "";
    while (!text.includes("snapshot")) text += new TextDecoder().decode((await reader.read()).value);
    const started = Date.now();
    await Session.destroy({ where: { userId: owner.id } });
    for (;;) if ((await reader.read()).done) break;
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(async () => (await trpcStatus(cookie)) === 401, 5_000, "the cached session to lapse");
  });
});

describe("password change and other devices", () => {
  it("changing the password ends every other session and keeps the current one", async () => {
    const email = `pw-${randomBytes(4).toString("hex")}@example.test`;
    await services.accounts.signup({ name: "Pat", email, password: "old-password-1" });
    const laptop = await login(email, "old-password-1");
    const phone = await login(email, "old-password-1");
    expect(await trpcStatus(phone)).toBe(200);

    const wrong = await post(
      "/account",
      { intent: "password", currentPassword: "nope", newPassword: "x".repeat(9) },
      laptop,
    );
    expect(wrong.status).toBe(400);
    expect(await trpcStatus(phone)).toBe(200);

    const ok = await post(
      "/account",
      { intent: "password", currentPassword: "old-password-1", newPassword: "new-password-2" },
      laptop,
    );
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("Logged out 1 other device");
    expect(await trpcStatus(phone)).toBe(401);
    expect(await trpcStatus(laptop)).toBe(200);
    expect((await post("/login", { email, password: "old-password-1" })).status).toBe(401);
    await login(email, "new-password-2");
  });

  it("guessing the current password is throttled like logins", async () => {
    const email = `guess-${randomBytes(4).toString("hex")}@example.test`;
    await services.accounts.signup({ name: "Gus", email, password: "right-password" });
    const cookie = await login(email, "right-password");
    for (let i = 0; i < 5; i++) {
      const res = await post(
        "/account",
        { intent: "password", currentPassword: `guess-${i}`, newPassword: "z".repeat(9) },
        cookie,
      );
      expect(res.status).toBe(400);
    }
    const blocked = await post(
      "/account",
      { intent: "password", currentPassword: "right-password", newPassword: "z".repeat(9) },
      cookie,
    );
    expect(blocked.status).toBe(429);
    await login(email, "right-password");
  });

  it("logging in again replaces this browser's previous session", async () => {
    const email = `again-${randomBytes(4).toString("hex")}@example.test`;
    await services.accounts.signup({ name: "Ann", email, password: "password-123" });
    const first = await login(email, "password-123");
    const res = await fetch(`${server.url}/login`, {
      method: "POST",
      body: form({ email, password: "password-123" }),
      headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: first },
      redirect: "manual",
    });
    const second = res.headers.get("set-cookie")!.split(";")[0]!;
    expect(second).not.toBe(first);
    expect(await trpcStatus(first)).toBe(401);
    expect(await trpcStatus(second)).toBe(200);
  });

  it("the account page lists sessions, renames, and logs out other devices", async () => {
    const user = await makeUser("Dana");
    const here = await sessionCookie(services, user.id);
    const there = await sessionCookie(services, user.id);
    const res = await fetch(`${server.url}/account`, { headers: { Cookie: here } });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html.match(/<li[ >]/g)?.length).toBe(2);
    expect(html).toContain("(this device)");

    expect((await post("/account", { intent: "rename", name: "Dana Q" }, here)).status).toBe(200);
    expect(await (await fetch(`${server.url}/studies`, { headers: { Cookie: here } })).text()).toContain("Dana Q");
    expect((await post("/account", { intent: "rename", name: "" }, here)).status).toBe(400);

    const out = await post("/account", { intent: "logout-others" }, here);
    expect(await out.text()).toContain("Logged out 1 other device");
    expect(await trpcStatus(there)).toBe(401);
    expect(await trpcStatus(here)).toBe(200);
  });
});

describe("cookies that are not a live session are refused", () => {
  it("refuses tampered, forged, pre-session and unknown cookies", async () => {
    const user = await makeUser("Eve");
    const good = await sessionCookie(services, user.id);
    expect(await trpcStatus(good)).toBe(200);

    const value = good.slice(good.indexOf("=") + 1);
    const tampered = `coup_session=${value.slice(0, -2)}${value.endsWith("AA") ? "BB" : "AA"}`;
    // A well-formed id under a signature made with someone else's secret.
    const forged = await createCookie("coup_session", { secrets: ["y".repeat(32)] }).serialize(
      randomBytes(32).toString("base64url"),
    );
    // Signed with the real secret but naming no session row (a guessed id).
    const unknown = await createCookie("coup_session", { secrets: [SECRET] }).serialize(
      randomBytes(32).toString("base64url"),
    );
    // The cookie format from before server-side sessions: a signed {"userId": …}.
    const storage = createCookieSessionStorage({ cookie: { name: "coup_session", secrets: [SECRET] } });
    const old = await storage.getSession();
    old.set("userId", user.id);
    const legacy = await storage.commitSession(old);

    for (const cookie of [tampered, forged, unknown, legacy, "coup_session=garbage"]) {
      const header = cookie.split(";")[0]!;
      expect(await trpcStatus(header), header).toBe(401);
      expect((await page("/studies", header)).status, header).toBe(302);
    }
  });

  it("expired sessions are refused and pruned", async () => {
    const user = await makeUser("Old");
    const cookie = await sessionCookie(services, user.id);
    await Session.update({ expiresAt: new Date(Date.now() - 1000) }, { where: { userId: user.id } });
    expect(await trpcStatus(cookie)).toBe(401);
    expect(await page("/studies", cookie)).toMatchObject({ status: 302 });
    const live = await sessionCookie(services, user.id);
    expect(await services.auth.sessions.prune()).toBeGreaterThanOrEqual(1);
    expect(await Session.count({ where: { userId: user.id } })).toBe(1);
    expect(await trpcStatus(live)).toBe(200);
  });

  it("a new session expires after 30 days", async () => {
    const user = await makeUser("Ttl");
    await sessionCookie(services, user.id);
    const row = await Session.findOne({ where: { userId: user.id } });
    const days = (row!.expiresAt.getTime() - row!.createdAt.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(30, 3);
  });
});
