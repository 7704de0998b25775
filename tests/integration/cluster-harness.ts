/**
 * Several app instances in one test process sharing one Postgres database and one Redis (under a
 * prefix of their own), each with its real HTTP stack; plus clients that talk to a chosen instance.
 */
import { randomBytes } from "node:crypto";
import { trpcClient } from "../helpers/trpc-client.js";
import type { Sequelize } from "sequelize";
import { Redis } from "ioredis";
import WebSocket from "ws";
import type { AppServer } from "../../server/app.js";
import { RedisLink } from "../../server/cluster/redis.js";
import type { RoomStreamEvent } from "../../server/events.js";
import { logger } from "../../server/logger.js";
import { createServices, type Services } from "../../server/services/index.js";
import { startTestServer } from "./video-call-harness.js";

export const SECRET = "c".repeat(32);
export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

export interface Instance {
  id: string;
  services: Services;
  server: AppServer;
  url: string;
  stop(): Promise<void>;
}

/** A prefix no other test run shares. */
export const newPrefix = () => `coup-test-${randomBytes(4).toString("hex")}:`;

/** Deletes what a test run left in Redis under its prefix (event streams would otherwise stay a day). */
export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length) await redis.del(...keys);
  } catch {
    // Redis gone (the outage test's own server): nothing left to clean.
  } finally {
    redis.disconnect();
  }
}

export async function startInstance(
  sequelize: Sequelize,
  opts: { id: string; prefix: string; redisUrl?: string; dropGraceMs?: number },
): Promise<Instance> {
  const redis = new RedisLink({
    url: opts.redisUrl ?? REDIS_URL,
    instanceId: opts.id,
    prefix: opts.prefix,
    log: logger,
  });
  const services = createServices(
    sequelize,
    { SESSION_SECRET: SECRET, DROP_GRACE_MS: opts.dropGraceMs ?? 300 },
    { redis, log: logger },
  );
  await services.start();
  const server = await startTestServer(services);
  return {
    id: opts.id,
    services,
    server,
    url: server.url,
    async stop() {
      await services.stop();
      await server.close();
    },
  };
}

export const client = trpcClient;

/** A browser-like room event subscriber over real SSE against one instance. */
export function subscribe(url: string, cookie: string, input: { studyId: string; lastEventId?: string }) {
  const received: Array<{ id: string; event: RoomStreamEvent }> = [];
  let failure: unknown = null;
  const sub = client(url, cookie).videoCall.events.subscribe(input, {
    onData: (t) => received.push({ id: t.id, event: t.data }),
    onError: (err) => {
      failure = err;
    },
  });
  return {
    received,
    types: () => received.map((r) => r.event.type),
    async until(predicate: (events: RoomStreamEvent[]) => boolean, what = "events", ms = 5_000) {
      const deadline = Date.now() + ms;
      while (!predicate(received.map((r) => r.event)) && Date.now() < deadline) {
        if (failure) throw failure;
        await new Promise((r) => setTimeout(r, 10));
      }
      if (!predicate(received.map((r) => r.event)))
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(received.map((r) => r.event))}`);
    },
    close: () => sub.unsubscribe(),
  };
}

/** A PeerJS signaling socket (what the browser's Peer opens) on one instance; records what arrives. */
export async function peerSocket(url: string, cookie: string, peerId: string) {
  const ws = new WebSocket(`${url.replace("http", "ws")}/peerjs/peerjs?key=peerjs&id=${peerId}&token=t`, {
    headers: { Cookie: cookie },
  });
  const messages: Array<Record<string, unknown>> = [];
  ws.on("message", (data: Buffer) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", () => resolve());
  });
  return {
    ws,
    messages,
    send: (m: Record<string, unknown>) => ws.send(JSON.stringify(m)),
    async until(predicate: (ms: Array<Record<string, unknown>>) => boolean, what: string, ms = 5_000) {
      const deadline = Date.now() + ms;
      while (!predicate(messages) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      if (!predicate(messages)) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
    },
    close: () => ws.close(),
  };
}

export async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}
