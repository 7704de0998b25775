// Who the login throttle counts as the client: the socket's address, or — only behind proxies named by
// TRUST_PROXY — the address that proxy forwards. A client can never pick its own address.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppServer } from "../../server/app.js";
import { createServices } from "../../server/services/index.js";
import { THROTTLED_LOGIN } from "../../server/services/accounts.js";
import { useTestDatabase } from "../helpers/db.js";
import { startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
const PASSWORD = "correct horse battery";
let direct: AppServer;
let behindProxy: AppServer;

beforeAll(async () => {
  const services = () => createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) });
  direct = await startTestServer(services());
  // The test's own requests come from 127.0.0.1, so here they play the part of the nginx in front.
  behindProxy = await startTestServer(services(), { TRUST_PROXY: "loopback" });
});
afterAll(async () => {
  await direct?.close();
  await behindProxy?.close();
});

async function account() {
  const email = `ip-${randomBytes(4).toString("hex")}@example.test`;
  await createServices(db().sequelize, { SESSION_SECRET: "x".repeat(32) }).accounts.signup({
    name: "Ip",
    email,
    password: PASSWORD,
  });
  return email;
}

function login(server: AppServer, email: string, password: string, forwardedFor: string) {
  return fetch(`${server.url}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": forwardedFor },
    body: new URLSearchParams({ email, password }),
  });
}

describe("the client address behind a proxy", () => {
  it("without TRUST_PROXY a forged X-Forwarded-For does not escape the throttle", async () => {
    const email = await account();
    for (let i = 1; i <= 5; i++) await login(direct, email, "wrong-password", `198.51.100.${i}`);
    const res = await login(direct, email, PASSWORD, "198.51.100.99");
    expect(res.status).toBe(429);
    expect(await res.text()).toContain(THROTTLED_LOGIN);
  });

  it("with TRUST_PROXY, one client's wrong guesses do not lock the account for another client", async () => {
    const email = await account();
    for (let i = 0; i < 5; i++) await login(behindProxy, email, "wrong-password", "198.51.100.7");
    const attacker = await login(behindProxy, email, PASSWORD, "198.51.100.7");
    expect(attacker.status).toBe(429);
    const owner = await login(behindProxy, email, PASSWORD, "203.0.113.20");
    expect(owner.status).toBe(302);
    expect(owner.headers.get("set-cookie")).toMatch(/coup_session=/);
  });
});
