// `npm run cluster`: two app instances behind nginx round-robin on one port, sharing Postgres and Redis, for trying cluster mode locally.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { openDatabase } from "../../db/index.js";
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from "../../db/seed.js";
import { Nginx } from "./nginx.js";

const PORT = Number(process.env.PORT ?? 3000);
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATA_DIR = path.resolve(process.env.DATA_DIR ?? ".data/cluster");
const SESSION_SECRET = process.env.SESSION_SECRET ?? "local-cluster-secret-change-me-in-production";
const INSTANCES = Number(process.env.INSTANCES ?? 2);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function main() {
  mkdirSync(DATA_DIR, { recursive: true });
  // DATABASE_URL when given; otherwise one embedded Postgres that every instance shares.
  const db = await openDatabase({ url: process.env.DATABASE_URL || undefined, dataDir: DATA_DIR });
  if (db.embedded) await seedDemo(db.sequelize);
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    const port = await freePort();
    ports.push(port);
    const id = String.fromCharCode(65 + i);
    const child = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_URL: db.url,
        REDIS_URL,
        SESSION_SECRET,
        INSTANCE_ID: id,
        // nginx on this machine is the only proxy in front; it names the client in X-Forwarded-For.
        TRUST_PROXY: "loopback",
        SEED_DEMO: "never",
        DATA_DIR,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(child);
  }
  for (const port of ports) {
    for (let t = 0; ; t++) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (t > 300) throw new Error(`instance on port ${port} did not become healthy`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const nginx = new Nginx(PORT);
  await nginx.start(ports);
  console.log(
    [
      `CoUp cluster: ${INSTANCES} instances (ports ${ports.join(", ")}) behind nginx at http://127.0.0.1:${PORT}`,
      `Redis ${REDIS_URL}; Postgres ${db.embedded ? "embedded under " + DATA_DIR : "from DATABASE_URL"}`,
      db.embedded ? `Demo logins (password "${DEMO_PASSWORD}"): ${DEMO_LOGINS.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join("\n"),
  );
  const stop = async () => {
    nginx.stop();
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
    await db.close();
    process.exit(0);
  };
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
