// Every answer carries the security headers; writes from other origins are refused with a 403.
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Study, User } from "../../db/models/index.js";
import { createAppServer, type AppServer } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { createServices, type Services } from "../../server/services/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { makeStudy, makeUser } from "../helpers/factories.js";
import { ensureRemixBuild, sessionCookie } from "./video-call-harness.js";

const db = useTestDatabase();
let services: Services;
let server: AppServer;
let prod: AppServer;
const warnings: Array<{ msg: string; path?: string; origin?: string }> = [];

async function start(env: "test" | "production", log: pino.Logger) {
  const config = loadConfig({
    NODE_ENV: env,
    PORT: "0",
    HOST: "127.0.0.1",
    SESSION_SECRET: "x".repeat(32),
    DATA_DIR: path.join(os.tmpdir(), "coup-test-data"),
  });
  return createAppServer({ config, services, log });
}

beforeAll(async () => {
  await ensureRemixBuild();
  services = createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) });
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      warnings.push(JSON.parse(chunk.toString()) as (typeof warnings)[number]);
      done();
    },
  });
  server = await start("test", pino({ level: "warn" }, sink));
  prod = await start("production", pino({ level: "silent" }));
});
afterAll(async () => {
  await server?.close();
  await prod?.close();
});

function expectSecurityHeaders(res: Response, what: string) {
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
  expect(csp, what).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:\/\/127\.0\.0\.1:\d+/);
  expect(csp, what).toMatch(/media-src [^;]*blob:/);
  expect(csp, what).toMatch(/img-src [^;]*blob:/);
  expect(csp, what).not.toContain("unsafe-eval");
  expect(res.headers.get("referrer-policy"), what).toBe("strict-origin-when-cross-origin");
  expect(res.headers.get("permissions-policy"), what).toBe("camera=(self), microphone=(self), display-capture=(self)");
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("x-frame-options"), what).toBe("DENY");
}

describe("security headers", () => {
  it("are on every page, API answer, asset and error", async () => {
    const user = await makeUser("Hal");
    const study = await makeStudy(user);
    const cookie = await sessionCookie(services, user.id);
    const input = encodeURIComponent(JSON.stringify({ studyId: study.id }));
    const cases: Array<[string, RequestInit?]> = [
      ["/"],
      ["/login"],
      ["/signup"],
      ["/studies", { headers: { Cookie: cookie } }],
      [`/studies/${study.id}`, { headers: { Cookie: cookie } }],
      [`/studies/${study.id}/call`, { headers: { Cookie: cookie } }],
      ["/account", { headers: { Cookie: cookie } }],
      ["/no-such-page"],
      ["/healthz"],
      ["/favicon.ico"],
      ["/api/trpc/study.list", { headers: { Cookie: cookie } }],
      ["/api/trpc/study.list"],
      [`/api/trpc/videoCall.status?input=${input}`, { headers: { Cookie: cookie } }],
      [`/api/my-studies/${study.id}/video-call/status`, { headers: { Cookie: cookie } }],
      ["/api/my-studies/not-a-uuid/video-call/status"],
      ["/peerjs/peerjs/id"],
    ];
    for (const [p, init] of cases) {
      const res = await fetch(`${server.url}${p}`, { redirect: "manual", ...init });
      await res.body?.cancel();
      expectSecurityHeaders(res, `${p} (${res.status})`);
      // HSTS only where it can mean something: production behind https.
      expect(res.headers.get("strict-transport-security"), p).toBeNull();
    }
  });

  it("pages' inline scripts carry this response's nonce, and no script goes without it", async () => {
    const res = await fetch(`${server.url}/login`);
    const nonce = /'nonce-([^']+)'/.exec(res.headers.get("content-security-policy") ?? "")?.[1];
    const html = await res.text();
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // Fresh per response: a nonce seen once is no key to the next page.
    const again = await fetch(`${server.url}/login`);
    await again.body?.cancel();
    expect(again.headers.get("content-security-policy")).not.toContain(nonce);
  });

  it("HSTS is sent in production", async () => {
    const res = await fetch(`${prod.url}/login`);
    await res.body?.cancel();
    expectSecurityHeaders(res, "production /login");
    expect(res.headers.get("strict-transport-security")).toMatch(/max-age=31536000/);
  });
});

describe("writes from other origins", () => {
  const evil = { Origin: "https://evil.example" };
  const formHeaders = { "Content-Type": "application/x-www-form-urlencoded" };

  it("a cross-origin post to /login or any action is a 403 with the app's error page, logged at warn", async () => {
    const user = await makeUser("Ivy");
    const study = await makeStudy(user);
    const cookie = await sessionCookie(services, user.id);
    const before = [await User.count(), await Study.count()];
    const cases: Array<[string, Record<string, string>]> = [
      ["/login", { email: "a@b.example", password: "whatever1" }],
      ["/signup", { name: "Mal", email: "mal@evil.example", password: "password123" }],
      ["/logout", {}],
      ["/studies?index", { intent: "create", name: "Planted" }],
      [`/studies/${study.id}?index`, { intent: "approve", userId: user.id }],
      ["/account", { intent: "rename", name: "Pwned" }],
      ["/account", { intent: "logout-others" }],
      [`/studies/${study.id}/call`, {}],
    ];
    for (const [p, fields] of cases) {
      for (const headers of [evil, { Origin: "null" }, { "Sec-Fetch-Site": "cross-site" }]) {
        const before = warnings.length;
        const res = await fetch(`${server.url}${p}`, {
          method: "POST",
          body: new URLSearchParams(fields),
          headers: { ...formHeaders, ...headers, Cookie: cookie },
          redirect: "manual",
        });
        const what = `${p} ${JSON.stringify(headers)}`;
        expect(res.status, what).toBe(403);
        expect(res.headers.get("content-type"), what).toContain("text/html");
        const html = await res.text();
        expect(html, what).toContain("Access denied");
        expect(html, what).toContain("sent from another site");
        expectSecurityHeaders(res, what);
        expect(warnings.length, what).toBe(before + 1);
        expect(warnings.at(-1)).toMatchObject({ level: 40, msg: "cross-site request refused" });
      }
    }
    expect([await User.count(), await Study.count()]).toEqual(before);
    expect((await User.findByPk(user.id))?.name).toBe("Ivy");
    // The session survived the forged logout.
    const still = await fetch(`${server.url}/api/trpc/study.list`, { headers: { Cookie: cookie } });
    expect(still.status).toBe(200);
  });

  it("API writes from other origins are a JSON 403", async () => {
    const user = await makeUser("Jo");
    const study = await makeStudy(user);
    const cookie = await sessionCookie(services, user.id);
    for (const p of [`/api/my-studies/${study.id}/video-call/start`, "/api/trpc/videoCall.start"]) {
      const res = await fetch(`${server.url}${p}`, {
        method: "POST",
        body: JSON.stringify({ studyId: study.id }),
        headers: { "Content-Type": "application/json", ...evil, Cookie: cookie },
      });
      expect(res.status, p).toBe(403);
      expect(await res.json()).toEqual({ error: "Requests from other sites are not allowed." });
    }
    expect((await services.videoCall.status(user.id, { studyId: study.id })).session).toBeNull();
  });

  it("same-origin posts and clients that send no Origin still work", async () => {
    const email = `ok-${Date.now()}@example.test`;
    await services.accounts.signup({ name: "Kim", email, password: "password123" });
    const cases: Array<Record<string, string>> = [{ Origin: server.url, "Sec-Fetch-Site": "same-origin" }, {}];
    for (const headers of cases) {
      const res = await fetch(`${server.url}/login`, {
        method: "POST",
        body: new URLSearchParams({ email, password: "password123" }),
        headers: { ...formHeaders, ...headers },
        redirect: "manual",
      });
      expect(res.status).toBe(302);
      expect(res.headers.get("set-cookie")).toContain("coup_session=");
    }
  });
});
