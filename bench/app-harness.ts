/**
 * What the browser benchmarks share: running inside the loopback-only namespace, the app server
 * on a throwaway embedded Postgres with the demo data, and the few page steps every scenario takes.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "@playwright/test";
import { benchDataDir } from "./data-dir.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DEMO_PASSWORD = "coup-demo-pass";

/**
 * WebRTC traffic must stay on loopback: unless already isolated, re-executes the benchmark whose
 * module URL is given through scripts/isolated.sh and exits with its status.
 */
export function rerunIsolated(moduleUrl: string): void {
  if (process.env.COUP_ISOLATED === "1" || process.env.COUP_BENCH_CHILD === "1") return;
  const res = spawnSync(
    "bash",
    [path.join(ROOT, "scripts/isolated.sh"), process.execPath, ...process.execArgv, fileURLToPath(moduleUrl)],
    {
      cwd: ROOT,
      stdio: "inherit",
      // isolated.sh runs us unisolated when it can't create a namespace; don't loop then.
      env: { ...process.env, COUP_BENCH_CHILD: "1" },
    },
  );
  process.exit(res.status ?? 1);
}

/** The app serves its pages from the Remix build: make one if there is none. */
export function ensureRemixBuild(): void {
  if (existsSync(path.join(ROOT, "build", "index.js"))) return;
  console.log("No Remix build: running `npx remix build`…");
  const r = spawnSync("npx", ["remix", "build"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("remix build failed");
}

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function waitForHealthy(url: string, child: ChildProcess, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`app server exited (code ${child.exitCode})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("app server did not become healthy");
}

export interface RunningApp {
  url: string;
  /** The server process (a tsx wrapper's child is the Node process itself). */
  pid: number;
  stop(): Promise<void>;
}

/** The app server from source (through tsx), on an embedded Postgres in a fresh temp dir with demo data. */
export async function startAppServer(tmpPrefix: string, extraEnv: Record<string, string> = {}): Promise<RunningApp> {
  const port = await freePort();
  const dataDir = benchDataDir(tmpPrefix);
  const url = `http://127.0.0.1:${port}`;
  const server = spawn("npx", ["tsx", "server/index.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      DATABASE_URL: "",
      SEED_DEMO: "always",
      LOG_LEVEL: "warn",
      ...extraEnv,
    },
    // The server logs (pino) go to stdout: keep them, a failed start must say why.
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  const stop = async () => {
    try {
      process.kill(-server.pid!, "SIGTERM");
    } catch {
      /* already gone */
    }
    await new Promise((r) => setTimeout(r, 1500));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitForHealthy(url, server);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: server.pid!, stop };
}

export async function login(page: Page, email: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/studies/);
}

/** The demo study's id, read off the study list of a logged-in page. */
export async function demoStudyId(page: Page): Promise<string> {
  await page.getByRole("link", { name: "Algorithms Study" }).click();
  await page.waitForURL(/\/studies\/[^/]+$/);
  return /\/studies\/([^/?#]+)/.exec(page.url())![1]!;
}

export async function openPrejoin(page: Page, studyId: string) {
  await page.goto(`/studies/${studyId}/call`);
  const join = page.getByRole("button", { name: /^(Join|Start) call$/ });
  await join.waitFor();
  // Devices granted and the preview up: the state a user clicks "Join" from.
  await page.waitForFunction(() => {
    const b = [...document.querySelectorAll("button")].find((x) => /^(Join|Start) call$/.test(x.textContent ?? ""));
    return !!b && !b.disabled && !!document.querySelector('[aria-label="Microphone level"]');
  });
  return join;
}

export async function leave(page: Page) {
  await page.getByRole("button", { name: "Leave call" }).click();
  await page.getByText(/^(You left the call\.|The call has ended\.)$/).waitFor();
}

/** The server must have removed the leaver before the next join, or it would join a stale room. */
export async function waitForCount(page: Page, studyId: string, count: number) {
  await page.waitForFunction(
    async ([id, n]) => {
      const r = await fetch(`/api/trpc/videoCall.status?input=${encodeURIComponent(JSON.stringify({ studyId: id }))}`);
      const body = (await r.json()) as { result: { data: { session: { participants: unknown[] } | null } } };
      return (body.result.data.session?.participants.length ?? 0) === n;
    },
    [studyId, count] as const,
    { polling: 100, timeout: 30_000 },
  );
}
