/**
 * An instance's link to the cluster's Redis: one connection for commands, one for pub/sub, the
 * control channel other modules broadcast cache invalidations and session ends on, and the health
 * that /healthz reports. Only exists when REDIS_URL is set (see docs/deploy.md).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../logger.js";

type Handler = (data: unknown, from: string) => void;

export interface ClusterOptions {
  url: string;
  /** This instance's name; random when not given. */
  instanceId?: string;
  /** Prefixes every key and channel, so several clusters (or test runs) can share one Redis. */
  prefix?: string;
  log: Pick<Logger, "info" | "warn" | "error">;
}

export class RedisLink {
  readonly instanceId: string;
  readonly prefix: string;
  /** Commands. Fails fast while Redis is down instead of queueing without bound. */
  readonly cmd: Redis;
  /** Subscriptions only (a subscribed connection can issue nothing else). */
  private readonly sub: Redis;
  private readonly channelHandlers = new Map<string, (message: string) => void>();
  private readonly controlHandlers = new Map<string, Handler[]>();
  private readonly reconnectHandlers: Array<() => void> = [];
  private wasDown = false;
  private readonly log: ClusterOptions["log"];

  constructor(opts: ClusterOptions) {
    this.instanceId = opts.instanceId ?? `i-${randomBytes(4).toString("hex")}`;
    this.prefix = opts.prefix ?? "coup:";
    this.log = opts.log;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      // Keep trying forever, at most once a second: Redis coming back must heal the cluster by itself.
      retryStrategy: (times: number) => Math.min(1_000, 50 * times),
    };
    this.cmd = new Redis(opts.url, { ...common, connectionName: `coup-${this.instanceId}` });
    this.sub = new Redis(opts.url, { ...common, connectionName: `coup-${this.instanceId}-sub` });
    for (const [name, conn] of [
      ["commands", this.cmd],
      ["subscriber", this.sub],
    ] as const) {
      conn.on("error", () => {}); // reported once per outage below, not per retry
      conn.on("end", () => {});
      conn.on("close", () => {
        if (!this.wasDown) this.log.error({ redis: name }, "Redis connection lost; retrying every second");
        this.wasDown = true;
      });
      conn.on("ready", () => {
        if (name === "subscriber" && this.wasDown) {
          this.wasDown = false;
          this.log.info("Redis connection is back");
          for (const h of this.reconnectHandlers) h();
        }
      });
    }
    this.sub.on("message", (channel: string, message: string) => this.channelHandlers.get(channel)?.(message));
    this.onChannel("ctl", (raw) => {
      let msg: { from: string; type: string; data: unknown };
      try {
        msg = JSON.parse(raw) as typeof msg;
      } catch {
        return;
      }
      if (msg.from === this.instanceId) return;
      for (const h of this.controlHandlers.get(msg.type) ?? []) h(msg.data, msg.from);
    });
  }

  async connect(): Promise<void> {
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    // ioredis re-subscribes by itself after a reconnect.
    await this.sub.subscribe(...[...this.channelHandlers.keys()]);
  }

  async close(): Promise<void> {
    this.cmd.disconnect();
    this.sub.disconnect();
  }

  key(name: string): string {
    return this.prefix + name;
  }

  /** Handles every message published on `name` (prefixed); register before connect(). */
  onChannel(name: string, handler: (message: string) => void): void {
    this.channelHandlers.set(this.key(name), handler);
    if (this.sub.status === "ready") void this.sub.subscribe(this.key(name));
  }

  /** Publishes on `name` (prefixed); answers how many subscribers received it (0: nobody listens there). */
  async publish(name: string, message: string): Promise<number> {
    return this.cmd.publish(this.key(name), message);
  }

  /** Tells every other instance; lost while Redis is down (caches then fall back to their TTLs). */
  broadcast(type: string, data: unknown): void {
    this.publish("ctl", JSON.stringify({ from: this.instanceId, type, data })).catch((err: unknown) =>
      this.log.warn({ err, type }, "cluster broadcast failed"),
    );
  }

  /** Runs `handler` for `type` messages other instances broadcast. */
  onControl(type: string, handler: Handler): void {
    this.controlHandlers.set(type, [...(this.controlHandlers.get(type) ?? []), handler]);
  }

  /** Runs after Redis returned from an outage (messages published meanwhile were lost). */
  onReconnect(handler: () => void): void {
    this.reconnectHandlers.push(handler);
  }

  /** "ok" when a PING answers within a second. */
  async health(): Promise<"ok" | "down"> {
    if (this.cmd.status !== "ready") return "down";
    try {
      const pong = await Promise.race([
        this.cmd.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), 1_000).unref()),
      ]);
      return pong === "PONG" ? "ok" : "down";
    } catch {
      return "down";
    }
  }
}
