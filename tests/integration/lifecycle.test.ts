import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../db/embedded.js";
import { ensureRemixBuild } from "./video-call-harness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The server bundle `npm start` runs (plain node, no tsx), built from the current sources. */
function buildServer(): void {
  execFileSync("npm", ["run", "--silent", "build:server"], { cwd: ROOT, stdio: "pipe" });
}

/** Starts `build/server.js` the way `npm start` does, on an embedded database under dataDir. */
async function startServer(dataDir: string, port: number) {
  const child = spawn(process.execPath, ["build/server.js"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "development",
      DATABASE_URL: "",
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: "warn",
      SEED_DEMO: "auto",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (l) => {
      out.push(l);
      if (l.startsWith("Demo logins")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`server exited early (${code}): ${out.join("\n")}`)));
  });
  return { child, out };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

async function postForm(url: string, body: Record<string, string>, cookie = "") {
  return fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookie },
    body: new URLSearchParams(body),
  });
}

const running: ChildProcess[] = [];
afterAll(() => running.forEach((c) => c.kill("SIGKILL")));

describe("server process", () => {
  it("starts with embedded Postgres and demo data, stops cleanly on SIGTERM, and a restart loses nothing", async () => {
    await ensureRemixBuild();
    buildServer();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "coup-life-"));
    chmodSync(dataDir, 0o755);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;

    const first = await startServer(dataDir, port);
    running.push(first.child);
    expect(first.out.join("\n")).toContain(`running at http://127.0.0.1:${port}`);
    expect(first.out.join("\n")).toContain("alice@example.com");
    expect((await fetch(`${base}/login`)).status).toBe(200);
    const signup = await postForm(`${base}/signup`, {
      name: "Rita Restart",
      email: "rita@example.com",
      password: "survives-restarts",
    });
    expect(signup.status).toBe(302);

    expect(await stop(first.child)).toBe(0);
    // a clean Postgres shutdown removes its pid file
    expect(existsSync(path.join(dataDir, "pg", "postmaster.pid"))).toBe(false);

    const second = await startServer(dataDir, port);
    running.push(second.child);
    const login = await postForm(`${base}/login`, { email: "rita@example.com", password: "survives-restarts" });
    expect(login.status).toBe(302);
    expect(login.headers.get("set-cookie")).toContain("coup_session=");
    // the generated session secret was kept too: the first run's cookie still works
    const cookie = signup.headers.get("set-cookie")!.split(";")[0]!;
    const studies = await fetch(`${base}/studies`, { headers: { Cookie: cookie }, redirect: "manual" });
    expect(studies.status).toBe(200);
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
