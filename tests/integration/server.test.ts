import { mkdtempSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createSequelize } from "../../db/connection.js";
import { startEmbeddedPostgres, type EmbeddedDb } from "../../db/embedded.js";
import { migrate } from "../../db/migrator.js";
import { initModels } from "../../db/models/index.js";
import { createAppServer, type AppServer } from "../../server/app.js";
import { loadConfig } from "../../server/config.js";
import { logger } from "../../server/logger.js";
import { createServices } from "../../server/services/index.js";

// This file owns its Postgres so it can pull the plug on it.
let pg: EmbeddedDb;
let server: AppServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "coup-health-"));
  chmodSync(dir, 0o755);
  pg = await startEmbeddedPostgres(path.join(dir, "pg"));
  const sequelize = createSequelize(pg.url, { poolMax: 2 });
  initModels(sequelize);
  await migrate(sequelize);
  const config = loadConfig({ NODE_ENV: "test", PORT: "0", DATA_DIR: dir, SESSION_SECRET: "s".repeat(32) });
  server = await createAppServer({ config, services: createServices(sequelize, config), log: logger });
});

afterAll(async () => {
  await server?.close();
  await pg?.stop();
});

async function health() {
  const res = await fetch(`${server.url}/healthz`);
  return { status: res.status, body: await res.json() };
}

function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("error", () => {});
  });
}

describe("one HTTP server", () => {
  it("reports degraded health while Postgres is down, and recovers when it returns", async () => {
    expect(await health()).toEqual({ status: 200, body: { status: "ok", db: "ok" } });
    await pg.stop();
    expect(await health()).toEqual({ status: 503, body: { status: "degraded", db: "down" } });
    pg = await startEmbeddedPostgres(path.join(dir, "pg"), { port: Number(new URL(pg.url).port) });
    // The pool's old connections are dead; the next checks must reconnect without a restart of the app.
    let last = await health();
    for (let i = 0; i < 20 && last.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      last = await health();
    }
    expect(last).toEqual({ status: 200, body: { status: "ok", db: "ok" } });
  });

  it("refuses WebSocket upgrades on unknown paths and unauthenticated signaling sockets", async () => {
    const ws = server.url.replace("http", "ws");
    expect(await upgradeStatus(`${ws}/somewhere-else`)).toBe(404);
    expect(await upgradeStatus(`${ws}/peerjs/peerjs?key=peerjs&id=abc&token=t`)).toBe(401);
    expect(
      await upgradeStatus(`${ws}/peerjs/peerjs?key=peerjs&id=abc&token=t`, { Cookie: "coup_session=forged" }),
    ).toBe(401);
    expect(
      await upgradeStatus(`${ws}/peerjs/peerjs?key=peerjs&id=abc&token=t`, { Origin: "https://evil.example" }),
    ).toBe(403);
  });

  it("does not offer PeerServer peer discovery", async () => {
    const res = await fetch(`${server.url}/peerjs/peerjs/peers`);
    expect(res.status).toBe(401);
  });
});
