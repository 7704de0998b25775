import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Study, StudyMember, User } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import { createServices, type Services } from "../../server/services/index.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { sessionCookie, startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
let services: Services;
let server: AppServer;

beforeAll(async () => {
  services = createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) });
  server = await startTestServer(services);
});
afterAll(() => server?.close());

const counts = async () => [await User.count(), await Study.count(), await StudyMember.count()];

async function post(path: string, body: BodyInit | null, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, { method: "POST", body, headers, redirect: "manual" });
}
const form = (fields: Record<string, string>) => new URLSearchParams(fields);

describe("pages and forms answer bad input with a 4xx and a message, never a 500", () => {
  it("login and sign-up", async () => {
    const before = await counts();
    const cases: Array<[string, BodyInit | null, Record<string, string>?]> = [
      ["/login", form({})],
      ["/login", form({ email: "x".repeat(100_000), password: "p" })],
      ["/login", "%%%not-a-form", { "Content-Type": "application/x-www-form-urlencoded" }],
      ["/signup", form({ name: "", email: "bad", password: "1" })],
      ["/signup", form({ name: "N", email: "n@example.com", password: "y".repeat(5000) })],
      ["/signup", JSON.stringify({ name: "N" }), { "Content-Type": "application/json" }],
    ];
    for (const [path, body, headers] of cases) {
      const res = await post(path, body, headers);
      expect(res.status, `${path} ${String(body).slice(0, 40)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await counts()).toEqual(before);
  });

  it("a login or sign-up posted from another site is a 403 page, not a 500", async () => {
    const before = await counts();
    for (const path of ["/login", "/signup"]) {
      const res = await post(path, form({ name: "N", email: "n@example.com", password: "password123" }), {
        "Content-Type": "application/x-www-form-urlencoded",
        Origin: "https://elsewhere.example",
      });
      expect(res.status, path).toBe(403);
      expect(await res.text()).toContain("Access denied");
    }
    expect(await counts()).toEqual(before);
  });

  it("study actions from a logged-in member", async () => {
    const owner = await makeUser("Owner");
    const member = await makeUser("Member");
    const study = await makeStudy(owner);
    await addMember(study, member);
    const ownerCookie = await sessionCookie(services, owner.id);
    const memberCookie = await sessionCookie(services, member.id);
    const before = await counts();
    const cases: Array<[string, Record<string, string>, string]> = [
      ["/studies?index", { intent: "create", name: "" }, ownerCookie],
      ["/studies?index", { intent: "create", name: "n".repeat(1000) }, ownerCookie],
      ["/studies?index", { intent: "join", inviteCode: "no such code!" }, memberCookie],
      ["/studies?index", { intent: "explode" }, memberCookie],
      [`/studies/${study.id}?index`, { intent: "role", userId: "not-a-uuid", role: "ADMIN" }, ownerCookie],
      [`/studies/${study.id}?index`, { intent: "role", userId: member.id, role: "OWNER" }, ownerCookie],
      [`/studies/${study.id}?index`, { intent: "approve", userId: member.id }, memberCookie],
      [`/studies/not-a-uuid?index`, { intent: "approve", userId: member.id }, ownerCookie],
    ];
    for (const [path, fields, cookie] of cases) {
      const res = await post(path, form(fields), {
        Cookie: cookie,
        "Content-Type": "application/x-www-form-urlencoded",
      });
      expect(res.status, `${path} ${JSON.stringify(fields)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await counts()).toEqual(before);
    const view = await services.studies.getForMember(owner.id, study.id);
    expect(view.members.find((m) => m.userId === member.id)?.role).toBe("MEMBER");
  });

  it("unknown pages are a 404 page and unknown studies a 404, other people's studies a 403", async () => {
    const owner = await makeUser("Owner");
    const stranger = await makeUser("Stranger");
    const study = await makeStudy(owner);
    const cookie = await sessionCookie(services, stranger.id);
    expect((await fetch(`${server.url}/no/such/page`)).status).toBe(404);
    expect((await fetch(`${server.url}/studies/${study.id}`, { headers: { Cookie: cookie } })).status).toBe(403);
    expect((await fetch(`${server.url}/studies/${study.id}/call`, { headers: { Cookie: cookie } })).status).toBe(403);
    expect(
      (await fetch(`${server.url}/studies/00000000-0000-4000-8000-000000000000`, { headers: { Cookie: cookie } }))
        .status,
    ).toBe(404);
    const anon = await fetch(`${server.url}/studies/${study.id}`, { redirect: "manual" });
    expect(anon.status).toBe(302);
    expect(anon.headers.get("location")).toBe(`/login?redirectTo=${encodeURIComponent(`/studies/${study.id}`)}`);
  });
});
