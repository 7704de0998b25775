/**
 * Chat delivery benchmark: `npm run bench:chat` (DATABASE_URL = a Postgres server to create a
 * throwaway database on; without it an embedded Postgres in a temp dir).
 *
 * Six members are in one call, each subscribed to videoCall.events over SSE. Members take turns
 * sending (paced under the 10-per-10-s limit); for each message we time send → arrival on the
 * five other members' streams. The floor, measured in the same run on the same streams, is
 * videoCall.setMedia → media-changed: the same mutation → Postgres → event bus → SSE path with
 * no chat work. The server runs in a child process so the clients don't share its event loop.
 * Results go to bench/results/chat-<date>.json. Not a test: numbers depend on the machine.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { trpcClient } from "../tests/helpers/trpc-client.js";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { RoomStreamEvent } from "../server/events.js";
import { benchDatabase, benchDataDir } from "./data-dir.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MEMBERS = 6;
const CHAT_SAMPLES = Number(process.env.BENCH_CHAT_SAMPLES ?? 120);
const FLOOR_SAMPLES = Number(process.env.BENCH_FLOOR_SAMPLES ?? 60);
/** Six senders in turn, one message every 200 ms: each sends every 1.2 s, under 10 per 10 s. */
const PACE_MS = 200;

interface Ready {
  url: string;
  studyId: string;
  cookies: string[];
  database: string;
}

// ---------------------------------------------------------------------------------------------
// Child: the server under test

async function serve(): Promise<void> {
  const { openDatabase } = await import("../db/index.js");
  const { Study, StudyMember, User } = await import("../db/models/index.js");
  const { createAppServer } = await import("../server/app.js");
  const { loadConfig } = await import("../server/config.js");
  const { logger } = await import("../server/logger.js");
  const { createServices } = await import("../server/services/index.js");

  const dataDir = benchDataDir("coup-bench-chat-");
  let url: string | undefined;
  let dropDatabase: (() => Promise<void>) | null = null;
  if (process.env.DATABASE_URL)
    ({ url, drop: dropDatabase } = await benchDatabase(process.env.DATABASE_URL, "coup_bench_chat"));
  const db = await openDatabase({ url, dataDir });
  process.env.NODE_ENV = "production";
  const config = loadConfig({
    ...process.env,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: "warn",
  });
  const services = createServices(db.sequelize, config);
  await services.start();
  const server = await createAppServer({ config, services, log: logger });

  const users = [];
  for (let i = 0; i < MEMBERS; i++) {
    users.push(
      await User.create({
        email: `chat-bench-${i}@example.com`,
        name: `Member ${i}`,
        passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$ZmFrZXNhbHQ$ZmFrZWhhc2hmYWtlaGFzaGZha2VoYXNo",
        avatarUrl: null,
      }),
    );
  }
  const study = await Study.create({
    name: "Chat bench",
    description: "",
    ownerId: users[0]!.id,
    inviteCode: randomBytes(5).toString("hex").toUpperCase(),
    requiresApproval: false,
  });
  for (const [i, u] of users.entries())
    await StudyMember.create({ studyId: study.id, userId: u.id, role: i === 0 ? "OWNER" : "MEMBER", status: "ACTIVE" });
  const cookies = [];
  for (const u of users) {
    const setCookie = await services.auth.commitLogin(new Request("http://127.0.0.1/login"), u.id);
    cookies.push(setCookie.split(";")[0]!);
  }
  const ready: Ready = {
    url: server.url,
    studyId: study.id,
    cookies,
    database: url ? "DATABASE_URL (throwaway database)" : "embedded",
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);

  const stop = async () => {
    await services.stop();
    await server.close();
    await db.close();
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  };
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
}

// ---------------------------------------------------------------------------------------------
// Parent: the members

function startServer(): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "serve"], {
    cwd: path.resolve(HERE, ".."),
    env: process.env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("{")) resolve({ child, ready: JSON.parse(line) as Ready });
    });
    child.once("exit", (code) => reject(new Error(`bench server exited early (code ${code})`)));
  });
}

const client = trpcClient;

interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round((s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN) * 100) / 100;
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { child, ready } = await startServer();
  try {
    const members = ready.cookies.map((c) => client(ready.url, c));
    const { session } = await members[0]!.videoCall.start.mutate({ studyId: ready.studyId });
    const self: string[] = [];
    for (const m of members) {
      const joined = await m.videoCall.join.mutate({ studyId: ready.studyId, sessionId: session.id });
      self.push(joined.participant.userId);
    }

    // Each stream resolves the waiter keyed by what it is waiting for.
    const waiters = new Map<string, (memberIndex: number) => void>();
    const subs = members.map((m, i) =>
      m.videoCall.events.subscribe(
        { studyId: ready.studyId },
        {
          onData: ({ data }: { data: RoomStreamEvent }) => {
            const key =
              data.type === "chat-message"
                ? `chat:${data.message.clientId}`
                : data.type === "media-changed"
                  ? `media:${data.userId}:${data.audio}`
                  : null;
            if (key) waiters.get(key)?.(i);
          },
        },
      ),
    );
    await sleep(1000);

    /** Runs `act` and resolves with the ms until each of the other five streams saw `key`. */
    const deliveries = async (sender: number, key: string, act: () => Promise<unknown>) => {
      const started = performance.now();
      const arrivals: number[] = [];
      const done = new Promise<void>((resolve, reject) => {
        const seen = new Set<number>();
        const timer = setTimeout(() => reject(new Error(`not delivered: ${key}`)), 10_000);
        waiters.set(key, (i) => {
          if (i === sender || seen.has(i)) return;
          seen.add(i);
          arrivals.push(performance.now() - started);
          if (seen.size === MEMBERS - 1) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await act();
      await done;
      waiters.delete(key);
      return arrivals;
    };

    const floorEach: number[] = [];
    const floorAll: number[] = [];
    for (let n = 0; n < FLOOR_SAMPLES; n++) {
      const sender = n % MEMBERS;
      const audio = Math.floor(n / MEMBERS) % 2 === 1;
      const arrivals = await deliveries(sender, `media:${self[sender]}:${audio}`, () =>
        members[sender]!.videoCall.setMedia.mutate({ sessionId: session.id, audio, video: true, screen: false }),
      );
      floorEach.push(...arrivals);
      floorAll.push(Math.max(...arrivals));
      await sleep(PACE_MS);
    }

    const chatEach: number[] = [];
    const chatAll: number[] = [];
    for (let n = 0; n < CHAT_SAMPLES; n++) {
      const sender = n % MEMBERS;
      const clientId = randomUUID();
      const arrivals = await deliveries(sender, `chat:${clientId}`, () =>
        members[sender]!.chat.send.mutate({ sessionId: session.id, body: `message ${n}`, clientId }),
      );
      chatEach.push(...arrivals);
      chatAll.push(Math.max(...arrivals));
      await sleep(PACE_MS);
    }
    for (const s of subs) s.unsubscribe();

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", node: process.version },
      database: ready.database,
      members: MEMBERS,
      latencyMs: {
        chatPerStream: summarize(chatEach),
        chatAllFive: summarize(chatAll),
        floorPerStream: summarize(floorEach),
        floorAllFive: summarize(floorAll),
      },
    };
    const rows = {
      "chat.send → each other member's stream": result.latencyMs.chatPerStream,
      "chat.send → all five streams": result.latencyMs.chatAllFive,
      "floor: setMedia → each stream": result.latencyMs.floorPerStream,
      "floor: setMedia → all five streams": result.latencyMs.floorAllFive,
    };
    console.table(rows);
    const dir = path.join(HERE, "results");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `chat-${result.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`Results: ${path.relative(process.cwd(), file)}`);
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
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
