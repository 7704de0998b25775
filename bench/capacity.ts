/**
 * Capacity benchmark: `npm run bench:capacity`. Not a test: numbers depend on the machine and on
 * whatever else uses its CPU (the bench client shares it with the servers).
 *
 * Simulated members without browsers, in rooms of 5. Each holds a session cookie, an open
 * participation, a PeerServer WebSocket, a `videoCall.events` SSE stream and the app's heartbeat
 * (every 15 s); while a step is measured, members now and then toggle media (setMedia) and send a
 * signaling message to a room-mate. Stepped up (CAP_STEPS, default 100,250,500,1000,2000,4000) until
 * errors or fan-out p99 > 250 ms. Per step: server CPU (% of one core) and RSS, fan-out p50/p99
 * (setMedia sent → every room-mate's stream has the event), signaling relay p99 (sent on one socket
 * → arrived on the mate's), status p99. Run for one instance (default mode, no Redis) and for two
 * instances behind nginx round-robin (Redis). Then RSS growth per 1,000 idle signaling sockets: the
 * app's PeerServer against a bare `peer` server (CAP_MODES=single,two,memory selects).
 *
 * Needs DATABASE_URL (an admin connection; a fresh database is created and dropped) and Redis at
 * REDIS_URL (default redis://127.0.0.1:6379). Writes bench/results/capacity-<date>.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Redis } from "ioredis";
import WebSocket from "ws";
import { createSequelize } from "../db/connection.js";
import { benchDatabase } from "./data-dir.js";
import { openDatabase } from "../db/index.js";
import { Study, StudyMember, User } from "../db/models/index.js";
import { createServices } from "../server/services/index.js";
import { Nginx } from "../scripts/cluster/nginx.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const STEPS = (process.env.CAP_STEPS ?? "100,250,500,1000,2000,4000").split(",").map(Number);
const MEASURE_MS = Number(process.env.CAP_MEASURE_MS ?? 20_000);
const ADMIN_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const SECRET = "bench-capacity-secret-0123456789";
const ROOM = 5;
/** How often each simulated member acts (a media toggle, a signaling message or a status read). */
const ACT_EVERY_MS = 10_000;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], q: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! * 10) / 10;
};

/** CPU seconds and RSS (MB) of a process, from /proc. */
function usage(pid: number): { cpu: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  const ticks = Number(stat[11]) + Number(stat[12]);
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
  return { cpu: ticks / 100, rssMb: Math.round(rss) };
}

/** Every server this run started: stopped too when the run itself is interrupted (Ctrl-C, a timeout). */
const children = new Set<ChildProcess>();
let balancer: Nginx | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    for (const c of children) c.kill("SIGKILL");
    balancer?.stop();
    process.exit(130);
  });

async function startInstance(env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "error",
      SEED_DEMO: "never",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { proc, port };
    await sleep(200);
  }
  throw new Error("instance did not start");
}

interface Member {
  userId: string;
  cookie: string;
  studyId: string;
  sessionId: string;
  peerId: string;
  ws: WebSocket;
  sse: AbortController;
  mates: Member[];
  audio: boolean;
  /** Two-instance mode: the instance holding this member's signaling socket (from the Redis peer registry). */
  instance?: string;
  /** Waiters fed by this member's SSE stream and signaling socket (several measurements may wait at once). */
  onEvent: Set<(e: { type: string; peerId?: string; audio?: boolean }) => void>;
  onSignal: Set<(m: { type: string; payload?: { nonce?: string } }) => void>;
}

class Client {
  errors = 0;
  constructor(readonly base: string) {}
  private async call(method: "GET" | "POST", proc: string, input: unknown, cookie: string) {
    const url =
      method === "GET"
        ? `${this.base}/api/trpc/${proc}?input=${encodeURIComponent(JSON.stringify(input))}`
        : `${this.base}/api/trpc/${proc}`;
    const res = await fetch(url, {
      method,
      headers: { cookie, "content-type": "application/json" },
      body: method === "POST" ? JSON.stringify(input) : undefined,
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: unknown };
    if (!res.ok || !body.result) {
      this.errors++;
      throw new Error(`${proc} → ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    }
    return body.result.data;
  }
  query = (proc: string, input: unknown, cookie: string) => this.call("GET", proc, input, cookie);
  mutate = (proc: string, input: unknown, cookie: string) => this.call("POST", proc, input, cookie);
}

/** Creates `n` users in rooms of 5, each with a running call and a login session; returns cookies. */
async function seedRooms(dbUrl: string, n: number, offset: number) {
  const services = createServices(createSequelize(dbUrl, { poolMax: 5 }), { SESSION_SECRET: SECRET });
  const rooms: Array<Array<{ userId: string; cookie: string; studyId: string }>> = [];
  for (let r = 0; r < n / ROOM; r++) {
    const users = await User.bulkCreate(
      Array.from({ length: ROOM }, (_, i) => ({
        name: `Bench ${offset + r * ROOM + i}`,
        email: `bench-${randomBytes(5).toString("hex")}@example.test`,
        passwordHash: "x",
        avatarUrl: null,
      })),
    );
    const study = await Study.create({
      name: `Bench room ${offset / ROOM + r}`,
      description: "",
      ownerId: users[0]!.id,
      inviteCode: randomBytes(5).toString("hex").toUpperCase(),
      requiresApproval: false,
    });
    await StudyMember.bulkCreate(
      users.map((u, i) => ({ studyId: study.id, userId: u.id, role: i ? "MEMBER" : "OWNER", status: "ACTIVE" })),
    );
    const room = [];
    for (const u of users) {
      const cookie = (await services.auth.commitLogin(new Request("http://127.0.0.1/login"), u.id)).split(";")[0]!;
      room.push({ userId: u.id, cookie, studyId: study.id });
    }
    rooms.push(room);
  }
  return rooms;
}

/** One member's SSE stream: calls `onEvent` for each room event. */
async function openStream(base: string, m: Member): Promise<void> {
  const input = encodeURIComponent(JSON.stringify({ studyId: m.studyId }));
  const res = await fetch(`${base}/api/trpc/videoCall.events?input=${input}`, {
    headers: { cookie: m.cookie, accept: "text/event-stream" },
    signal: m.sse.signal,
  });
  if (!res.ok || !res.body) throw new Error(`events → ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let first = true;
  const ready = new Promise<void>((resolve) => {
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const chunk = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = chunk
              .split("\n")
              .filter((l) => l.startsWith("data: "))
              .map((l) => l.slice(6))
              .join("");
            if (!data) continue;
            try {
              const parsed = JSON.parse(data) as { type?: string };
              if (parsed.type) {
                if (first && parsed.type === "snapshot") {
                  first = false;
                  resolve();
                }
                for (const f of m.onEvent) f(parsed as never);
              }
            } catch {
              /* not an event */
            }
          }
        }
      } catch {
        /* aborted */
      }
    })();
  });
  await ready;
}

async function addMembers(base: string, client: Client, dbUrl: string, count: number, members: Member[]) {
  const rooms = await seedRooms(dbUrl, count, members.length);
  await Promise.all(
    rooms.map(async (room) => {
      const started = (await client.mutate("videoCall.start", { studyId: room[0]!.studyId }, room[0]!.cookie)) as {
        session: { id: string };
      };
      const inRoom: Member[] = [];
      for (const r of room) {
        const joined = (await client.mutate(
          "videoCall.join",
          { studyId: r.studyId, sessionId: started.session.id },
          r.cookie,
        )) as { peerId: string };
        const ws = new WebSocket(`${base.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${joined.peerId}&token=t`, {
          headers: { cookie: r.cookie },
        });
        const m: Member = {
          ...r,
          sessionId: started.session.id,
          peerId: joined.peerId,
          ws,
          sse: new AbortController(),
          mates: inRoom,
          audio: true,
          onEvent: new Set(),
          onSignal: new Set(),
        };
        await new Promise<void>((resolve, reject) => {
          ws.once("error", reject);
          ws.once("message", () => resolve());
        });
        ws.on("message", (d: Buffer) => {
          const msg = JSON.parse(d.toString()) as never;
          for (const f of m.onSignal) f(msg);
        });
        // PeerJS clients send a heartbeat every 5 s.
        const hb = setInterval(() => ws.readyState === ws.OPEN && ws.send('{"type":"HEARTBEAT"}'), 5_000);
        ws.once("close", () => clearInterval(hb));
        await openStream(base, m);
        inRoom.push(m);
      }
      for (const m of inRoom) m.mates = inRoom.filter((x) => x !== m);
      members.push(...inRoom);
    }),
  );
}

async function measure(client: Client, members: Member[]) {
  const fanout: number[] = [];
  const relay: number[] = [];
  // Two-instance mode: relays between sockets on one instance and across instances, both through nginx.
  const relaySame: number[] = [];
  const relayCross: number[] = [];
  const status: number[] = [];
  const until = Date.now() + MEASURE_MS;
  // The floor, measured in the same seconds through the same path (nginx in two-instance mode): a bare
  // `GET /healthz` ten times a second. When it slows as much as the fan-out, the machine (or this client)
  // is the limit, not the room code.
  const floor: number[] = [];
  const floorLoop = (async () => {
    while (Date.now() < until) {
      const t0 = performance.now();
      await fetch(`${client.base}/healthz`).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
      floor.push(performance.now() - t0);
      await sleep(100);
    }
  })();
  // This client runs every simulated member in one event loop; its own delay is part of every figure.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const errorsBefore = client.errors;
  let timeouts = 0;
  // Each member acts about once per 10 s: a media toggle, a signaling message or a status read. First
  // actions are spread evenly over one period: members act "now and then", not all in the step's first
  // second (that burst measured a queue of N simultaneous requests, not a steady load of N members).
  const actors = members.map(async (m, i) => {
    await sleep(((i * 7919) % members.length) * (ACT_EVERY_MS / members.length));
    while (Date.now() < until) {
      const kind = Math.random();
      try {
        if (kind < 0.4) {
          m.audio = !m.audio;
          const want = m.audio;
          const t0 = performance.now();
          const seen = new Set<Member>();
          const waiters = new Map<Member, (e: { type: string; peerId?: string; audio?: boolean }) => void>();
          const all = new Promise<void>((resolve) => {
            for (const mate of m.mates) {
              const f = (e: { type: string; peerId?: string; audio?: boolean }) => {
                if (e.type === "media-changed" && e.peerId === m.peerId && e.audio === want && !seen.has(mate)) {
                  seen.add(mate);
                  if (seen.size === m.mates.length) resolve();
                }
              };
              waiters.set(mate, f);
              mate.onEvent.add(f);
            }
          });
          await client.mutate(
            "videoCall.setMedia",
            { sessionId: m.sessionId, audio: want, video: false, screen: false },
            m.cookie,
          );
          const ok = await Promise.race([all.then(() => true), sleep(5_000).then(() => false)]);
          if (ok) fanout.push(performance.now() - t0);
          else {
            timeouts++;
            if (process.env.CAP_VERBOSE) console.error(`fan-out timeout: ${seen.size}/${m.mates.length}`);
          }
          for (const [mate, f] of waiters) mate.onEvent.delete(f);
        } else if (kind < 0.8) {
          const mate = m.mates[i % m.mates.length]!;
          const nonce = randomBytes(6).toString("hex");
          const t0 = performance.now();
          let waiter: ((msg: { type: string; payload?: { nonce?: string } }) => void) | null = null;
          const got = new Promise<void>((resolve) => {
            waiter = (msg) => {
              if (msg.payload?.nonce === nonce) resolve();
            };
            mate.onSignal.add(waiter);
          });
          m.ws.send(JSON.stringify({ type: "CANDIDATE", dst: mate.peerId, payload: { nonce } }));
          const ok = await Promise.race([got.then(() => true), sleep(5_000).then(() => false)]);
          mate.onSignal.delete(waiter!);
          if (ok) {
            relay.push(performance.now() - t0);
            if (m.instance && mate.instance)
              (m.instance === mate.instance ? relaySame : relayCross).push(performance.now() - t0);
          } else timeouts++;
        } else {
          const t0 = performance.now();
          await client.query("videoCall.status", { studyId: m.studyId }, m.cookie);
          status.push(performance.now() - t0);
        }
      } catch (err) {
        // counted in client.errors
        if (process.env.CAP_VERBOSE) console.error(String(err).slice(0, 300));
      }
      await sleep(ACT_EVERY_MS * (0.8 + Math.random() * 0.4));
    }
  });
  // The app's heartbeat, every 15 s per member.
  const heartbeats = members.map(async (m, i) => {
    await sleep((i * 53) % 15_000);
    if (Date.now() < until)
      await client.mutate("videoCall.heartbeat", { sessionId: m.sessionId }, m.cookie).catch(() => {});
  });
  await Promise.all([...actors, ...heartbeats, floorLoop]);
  loopDelay.disable();
  return {
    errors: client.errors - errorsBefore + timeouts,
    healthzP50: pct(floor, 0.5),
    healthzP99: pct(floor, 0.99),
    fanoutP99OverHealthzP99: Math.round((pct(fanout, 0.99) / pct(floor, 0.99)) * 10) / 10,
    clientLoopDelayP99: Math.round(loopDelay.percentile(99) / 1e5) / 10,
    loadAvg1m: Math.round(loadavg()[0]! * 10) / 10,
    fanoutP50: pct(fanout, 0.5),
    fanoutP99: pct(fanout, 0.99),
    relayP50: pct(relay, 0.5),
    relayP99: pct(relay, 0.99),
    ...(relayCross.length
      ? {
          relaySameInstanceP50: pct(relaySame, 0.5),
          relaySameInstanceP99: pct(relaySame, 0.99),
          relayCrossInstanceP50: pct(relayCross, 0.5),
          relayCrossInstanceP99: pct(relayCross, 0.99),
        }
      : {}),
    statusP99: pct(status, 0.99),
    samples: { fanout: fanout.length, relay: relay.length, status: status.length },
  };
}

/** Reads from the Redis peer registry which instance holds each member's signaling socket. */
async function locateSockets(prefix: string, members: Member[]): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    for (const m of members.filter((x) => !x.instance))
      m.instance = (await redis.get(`${prefix}peer:${m.peerId}`)) ?? undefined;
  } finally {
    redis.disconnect();
  }
}

/** Deletes the run's keys (event streams would otherwise stay a day). */
async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

async function runMode(mode: "single" | "two", dbUrl: string) {
  const prefix = `coup-bench-${randomBytes(3).toString("hex")}:`;
  const env = (id: string): Record<string, string> =>
    mode === "single"
      ? { DATABASE_URL: dbUrl, SESSION_SECRET: SECRET, STALE_AFTER_MS: "600000" }
      : {
          DATABASE_URL: dbUrl,
          SESSION_SECRET: SECRET,
          STALE_AFTER_MS: "600000",
          REDIS_URL,
          REDIS_PREFIX: prefix,
          INSTANCE_ID: id,
        };
  const instances =
    mode === "single"
      ? [await startInstance(env("A"))]
      : await Promise.all(["A", "B"].map((id) => startInstance(env(id))));
  let nginx: Nginx | null = null;
  let base = `http://127.0.0.1:${instances[0]!.port}`;
  if (mode === "two") {
    nginx = balancer = new Nginx(await freePort());
    await nginx.start(instances.map((i) => i.port));
    base = `http://127.0.0.1:${nginx.port}`;
  }
  const client = new Client(base);
  const members: Member[] = [];
  const rows = [];
  try {
    for (const step of STEPS) {
      try {
        await addMembers(base, client, dbUrl, step - members.length, members);
      } catch (err) {
        rows.push({
          mode,
          members: step,
          failed:
            `${String(err)}${(err as { cause?: unknown }).cause ? ` (${String((err as { cause?: unknown }).cause)})` : ""}`.slice(
              0,
              300,
            ),
        });
        break;
      }
      if (mode === "two") await locateSockets(prefix, members);
      await sleep(2_000);
      const before = instances.map((i) => usage(i.proc.pid!));
      const t0 = Date.now();
      const m = await measure(client, members);
      const secs = (Date.now() - t0) / 1000;
      const after = instances.map((i) => usage(i.proc.pid!));
      const row = {
        mode,
        members: members.length,
        cpuPct: after.map((a, k) => Math.round(((a.cpu - before[k]!.cpu) / secs) * 100)),
        rssMb: after.map((a) => a.rssMb),
        ...m,
      };
      console.log(JSON.stringify(row));
      rows.push(row);
      if (m.errors > 0 || m.fanoutP99 > 250) break;
    }
  } finally {
    for (const m of members) {
      m.sse.abort();
      m.ws.terminate();
    }
    nginx?.stop();
    for (const i of instances) i.proc.kill("SIGTERM");
    await sleep(1_500);
    if (mode === "two") await dropPrefix(prefix);
  }
  return rows;
}

/** Opens idle WebSockets (no heartbeats), each waiting for the server's first message (OPEN). */
async function openIdle(targets: Array<{ url: string; cookie?: string }>): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < targets.length; i += 50) {
    const batch = targets.slice(i, i + 50).map(
      (t) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(t.url, t.cookie ? { headers: { cookie: t.cookie } } : {});
          ws.once("error", reject);
          ws.once("message", () => resolve(ws));
        }),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** RSS growth per 1,000 idle signaling sockets: the app's PeerServer (auth check, hooks) vs a bare `peer` server. */
async function socketMemory(dbUrl: string) {
  const n = Number(process.env.CAP_IDLE_SOCKETS ?? 1000);
  const idle = { PEER_ALIVE_TIMEOUT_MS: "600000", STALE_AFTER_MS: "600000" };
  const app = await startInstance({ DATABASE_URL: dbUrl, SESSION_SECRET: SECRET, ...idle });
  const base = `http://127.0.0.1:${app.port}`;
  const client = new Client(base);
  // A socket is only accepted for an open participation: join first, then measure the sockets alone.
  const targets: Array<{ url: string; cookie: string }> = [];
  for (const room of await seedRooms(dbUrl, n, 1_000_000)) {
    const started = (await client.mutate("videoCall.start", { studyId: room[0]!.studyId }, room[0]!.cookie)) as {
      session: { id: string };
    };
    for (const r of room) {
      const joined = (await client.mutate(
        "videoCall.join",
        { studyId: r.studyId, sessionId: started.session.id },
        r.cookie,
      )) as { peerId: string };
      targets.push({
        url: `${base.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${joined.peerId}&token=t`,
        cookie: r.cookie,
      });
    }
  }
  await sleep(3_000);
  const appBefore = usage(app.proc.pid!).rssMb;
  const appSockets = await openIdle(targets);
  await sleep(3_000);
  const appAfter = usage(app.proc.pid!).rssMb;
  for (const ws of appSockets) ws.terminate();
  app.proc.kill("SIGTERM");

  const port = await freePort();
  const bare = spawn(
    process.execPath,
    ["-e", `require("peer").PeerServer({port:${port},path:"/",alive_timeout:600000,concurrent_limit:100000})`],
    { cwd: ROOT, stdio: "ignore" },
  );
  children.add(bare);
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await sleep(100);
  }
  await sleep(1_000);
  const bareBefore = usage(bare.pid!).rssMb;
  const bareSockets = await openIdle(
    Array.from({ length: n }, (_, i) => ({ url: `ws://127.0.0.1:${port}/peerjs?key=peerjs&id=bare${i}&token=t` })),
  );
  await sleep(3_000);
  const bareAfter = usage(bare.pid!).rssMb;
  for (const ws of bareSockets) ws.terminate();
  bare.kill("SIGTERM");
  const appPer1000 = Math.round(((appAfter - appBefore) * 1000) / n);
  const barePer1000 = Math.round(((bareAfter - bareBefore) * 1000) / n);
  const row = {
    mode: "idle-sockets",
    sockets: n,
    appMbPer1000: appPer1000,
    bareMbPer1000: barePer1000,
    ratio: Math.round((appPer1000 / barePer1000) * 100) / 100,
  };
  console.log(JSON.stringify(row));
  return row;
}

/** Cross-instance against single-instance latency at each member count both modes reached (same run). */
function crossInstance(rows: Array<Record<string, unknown>>) {
  const ratio = (a: unknown, b: unknown) => Math.round((Number(a) / Number(b)) * 100) / 100;
  return rows
    .filter((r) => r.mode === "two" && r.fanoutP50 !== undefined)
    .flatMap((two) => {
      const one = rows.find((r) => r.mode === "single" && r.members === two.members && r.fanoutP50 !== undefined);
      if (!one) return [];
      return [
        {
          mode: "two-vs-one",
          members: two.members,
          fanoutP50Ratio: ratio(two.fanoutP50, one.fanoutP50),
          fanoutP99Ratio: ratio(two.fanoutP99, one.fanoutP99),
          relayP50Ratio: ratio(two.relayP50, one.relayP50),
          relayP99Ratio: ratio(two.relayP99, one.relayP99),
          // The same deployment (nginx, cluster mode), only the instances differ: what forwarding costs.
          relayCrossOverSameP50: ratio(two.relayCrossInstanceP50, two.relaySameInstanceP50),
          relayCrossOverSameP99: ratio(two.relayCrossInstanceP99, two.relaySameInstanceP99),
        },
      ];
    });
}

/** The human-readable summary of the JSON rows. */
function printTable(rows: Array<Record<string, unknown>>) {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(", ") : v === undefined ? "" : String(v));
  console.table(
    rows
      .filter((r) => r.mode === "single" || r.mode === "two")
      .map((r) => ({
        mode: r.mode,
        members: r.members,
        "cpu %": show(r.cpuPct),
        "rss MB": show(r.rssMb),
        "fan-out p50/p99": `${show(r.fanoutP50)} / ${show(r.fanoutP99)}`,
        "healthz p50/p99 (floor)": `${show(r.healthzP50)} / ${show(r.healthzP99)}`,
        "fan-out p99 ÷ floor p99": show(r.fanoutP99OverHealthzP99),
        "relay p50/p99": `${show(r.relayP50)} / ${show(r.relayP99)}`,
        "relay same / cross instance p50": r.relayCrossInstanceP50
          ? `${show(r.relaySameInstanceP50)} / ${show(r.relayCrossInstanceP50)}`
          : "",
        "status p99": show(r.statusP99),
        "client loop p99": show(r.clientLoopDelayP99),
        load: show(r.loadAvg1m),
        errors: show(r.errors ?? r.failed),
      })),
  );
  for (const c of rows.filter((x) => x.mode === "two-vs-one")) {
    console.log(
      `${c.members} members, two instances ÷ one: fan-out p50 ${c.fanoutP50Ratio}×, p99 ${c.fanoutP99Ratio}×; relay p50 ${c.relayP50Ratio}×, p99 ${c.relayP99Ratio}×; behind nginx, cross-instance ÷ same-instance relay p50 ${c.relayCrossOverSameP50}×, p99 ${c.relayCrossOverSameP99}×`,
    );
  }
  for (const r of rows.filter((x) => x.mode === "idle-sockets")) {
    console.log(
      `idle signaling sockets: app ${show(r.appMbPer1000)} MB / 1,000, bare peer ${show(r.bareMbPer1000)} MB / 1,000 (ratio ${show(r.ratio)})`,
    );
  }
}

async function main() {
  if (!ADMIN_URL) throw new Error("Set DATABASE_URL to an admin connection (a fresh database is created and dropped).");
  const results: unknown[] = [];
  for (const mode of (process.env.CAP_MODES ?? "single,two,memory").split(",")) {
    // A fresh database per mode: the participations one mode leaves open would otherwise be the next
    // mode's restart clean-up (every one dropped after the grace), measured as if it were steady load.
    const database = await benchDatabase(ADMIN_URL, "coup_bench_capacity");
    const db = await openDatabase({ url: database.url, dataDir: path.join(ROOT, ".data") });
    try {
      if (mode === "memory") results.push(await socketMemory(database.url));
      else results.push(...(await runMode(mode as "single" | "two", database.url)));
    } finally {
      await db.close();
      await database.drop();
    }
  }
  mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
  const file = path.join(
    ROOT,
    `bench/results/capacity-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.json`,
  );
  results.push(...crossInstance(results as Array<Record<string, unknown>>));
  writeFileSync(file, JSON.stringify(results, null, 2));
  printTable(results as Array<Record<string, unknown>>);
  console.log(`\nwritten ${file}`);
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
