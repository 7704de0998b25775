import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createAppServer, type AppServer } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { logger } from "../../server/logger.js";
import type { Services } from "../../server/services/index.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD = path.join(ROOT, "build", "index.js");

/** A clock the test moves by hand, so durations are exact and no test waits on wall time. */
export class ManualClock {
  private t: number;
  constructor(start = "2026-01-05T10:00:00.000Z") {
    this.t = Date.parse(start);
  }
  readonly now = () => new Date(this.t);
  advance(seconds: number) {
    this.t += seconds * 1000;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * The REST routes are Remix resource routes, so the real server needs a Remix build that contains
 * them. Builds when build/index.js is missing or older than app/; a lock directory keeps parallel
 * test files from building at once.
 */
export async function ensureRemixBuild(): Promise<void> {
  const fresh = () => existsSync(BUILD) && statSync(BUILD).mtimeMs >= newestMtime(path.join(ROOT, "app"));
  if (fresh()) return;
  const lock = path.join(ROOT, ".cache", "remix-build.lock");
  mkdirSync(path.dirname(lock), { recursive: true });
  for (let waited = 0; ; waited += 250) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 60_000) throw new Error(`Timed out waiting for ${lock}; remove it if no build is running.`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (!fresh()) execFileSync("npx", ["remix", "build"], { cwd: ROOT, stdio: "pipe" });
  } finally {
    rmdirSync(lock);
  }
}

/** The production HTTP stack (Express, tRPC, PeerServer, Remix) on an ephemeral port. */
export async function startTestServer(services: Services, env: Record<string, string> = {}): Promise<AppServer> {
  await ensureRemixBuild();
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    HOST: "127.0.0.1",
    SESSION_SECRET: "x".repeat(32),
    DATA_DIR: path.join(os.tmpdir(), "coup-test-data"),
    ...env,
  });
  return createAppServer({ config, services, log: logger });
}

/** A logged-in browser's Cookie header for `userId`, minted the way the login action does. */
export async function sessionCookie(services: Services, userId: string): Promise<string> {
  const setCookie = await services.auth.commitLogin(new Request("http://127.0.0.1/login"), userId);
  return setCookie.split(";")[0]!;
}
