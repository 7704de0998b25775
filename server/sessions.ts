// Server-side login sessions: create, resolve (briefly cached), end, list, prune, and tell live streams when theirs ends.
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { Op, QueryTypes, type Sequelize } from "sequelize";
import { Session } from "../db/models/index.js";
import { RELAXED_COMMIT } from "../db/relaxed-commit.js";
import { setBounded } from "./bounded-map.js";
import type { RedisLink } from "./cluster/redis.js";
import type { Logger } from "./logger.js";
import type { SessionUser } from "./services/accounts.js";

export const SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** 32 random bytes, base64url: the only shape a session id can have. */
export const SESSION_ID_RE = /^[A-Za-z0-9_-]{43}$/;

/**
 * How long a resolved session is reused without asking Postgres. Revocation on this instance
 * clears the entry at once, and on the other instances of a cluster as soon as Redis tells them;
 * a row deleted by hand (or a revocation announced while Redis was down) takes at most this long.
 */
const CACHE_MS = 2_000;
const CACHE_MAX = 10_000;
/** Live streams of sessions that ended elsewhere (another instance, expiry) close within this. */
const WATCH_POLL_MS = 2_000;
/** `lastUsedAt` is a hint for the account page, not an audit log: one write a minute is plenty. */
const TOUCH_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface AuthSession {
  id: string;
  user: SessionUser;
  expiresAt: Date;
}

export interface SessionInfo {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  userAgent: string | null;
}

interface Row {
  id: string;
  expiresAt: Date;
  lastUsedAt: Date;
  userId: string;
  email: string;
  name: string;
  avatarUrl: string | null;
}

export class SessionStore {
  private readonly cache = new Map<string, { session: AuthSession; lastUsedAt: number; until: number }>();
  private readonly ended = new EventEmitter();
  private readonly watched = new Map<string, number>();
  private pollTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly opts: { now?: () => Date; log?: Logger; ttlMs?: number; cluster?: RedisLink } = {},
  ) {
    this.ended.setMaxListeners(0);
    opts.cluster?.onControl("sessions-ended", (ids) => {
      if (Array.isArray(ids)) this.forgetHere(ids.filter((id): id is string => typeof id === "string"));
    });
    opts.cluster?.onControl("user-changed", (userId) => {
      if (typeof userId === "string") this.dropUser(userId);
    });
  }

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  async create(userId: string, userAgent: string | null): Promise<{ id: string; expiresAt: Date }> {
    const id = randomBytes(32).toString("base64url");
    const now = this.now();
    const expiresAt = new Date(now.getTime() + (this.opts.ttlMs ?? SESSION_TTL_MS));
    await Session.create({
      id,
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      userAgent: userAgent ? userAgent.slice(0, 300) : null,
    });
    return { id, expiresAt };
  }

  /** The live session with this id and its user, or null when it never existed, ended or expired. */
  async resolve(id: string): Promise<AuthSession | null> {
    if (!SESSION_ID_RE.test(id)) return null;
    const now = this.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > Date.now()) {
      if (hit.session.expiresAt > now) {
        this.touch(hit, now);
        return hit.session;
      }
      this.cache.delete(id);
      return null;
    }
    const [row] = await this.sequelize.query<Row>(
      `SELECT s.id, s."expiresAt", s."lastUsedAt", u.id AS "userId", u.email, u.name, u."avatarUrl"
       FROM sessions s JOIN users u ON u.id = s."userId"
       WHERE s.id = $1 AND s."expiresAt" > $2`,
      { bind: [id, now], type: QueryTypes.SELECT },
    );
    if (!row) {
      this.cache.delete(id);
      return null;
    }
    const session: AuthSession = {
      id: row.id,
      expiresAt: row.expiresAt,
      user: { id: row.userId, email: row.email, name: row.name, avatarUrl: row.avatarUrl },
    };
    const entry = { session, lastUsedAt: row.lastUsedAt.getTime(), until: Date.now() + CACHE_MS };
    setBounded(this.cache, id, entry, CACHE_MAX);
    this.touch(entry, now);
    return session;
  }

  private touch(entry: { session: AuthSession; lastUsedAt: number }, now: Date): void {
    if (now.getTime() - entry.lastUsedAt < TOUCH_EVERY_MS) return;
    entry.lastUsedAt = now.getTime();
    // A hint, so it commits without waiting for the WAL flush (db/relaxed-commit.ts says why).
    this.sequelize
      .query(`UPDATE sessions SET "lastUsedAt" = $1 FROM ${RELAXED_COMMIT} relaxed WHERE id = $2`, {
        bind: [now, entry.session.id],
      })
      .catch((err) => this.opts.log?.warn({ err }, "recording session use failed"));
  }

  async list(userId: string): Promise<SessionInfo[]> {
    const rows = await Session.findAll({
      where: { userId, expiresAt: { [Op.gt]: this.now() } },
      order: [["lastUsedAt", "DESC"]],
    });
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.createdAt.toISOString(),
      lastUsedAt: r.lastUsedAt.toISOString(),
      expiresAt: r.expiresAt.toISOString(),
      userAgent: r.userAgent,
    }));
  }

  async end(id: string): Promise<void> {
    if (!SESSION_ID_RE.test(id)) return;
    await Session.destroy({ where: { id } });
    this.forget([id]);
  }

  /** Ends every session of the user except `keepId` (password change, "log out other devices"). */
  async endOthers(userId: string, keepId: string): Promise<number> {
    const rows = await this.sequelize.query<{ id: string }>(
      `DELETE FROM sessions WHERE "userId" = $1 AND id <> $2 RETURNING id`,
      { bind: [userId, keepId], type: QueryTypes.SELECT },
    );
    this.forget(rows.map((r) => r.id));
    return rows.length;
  }

  /** After a profile change: cached sessions of this user would otherwise show the old name for a moment. */
  refreshUser(userId: string): void {
    this.dropUser(userId);
    this.opts.cluster?.broadcast("user-changed", userId);
  }

  private dropUser(userId: string): void {
    for (const [id, entry] of this.cache) if (entry.session.user.id === userId) this.cache.delete(id);
  }

  async prune(): Promise<number> {
    const rows = await this.sequelize.query<{ id: string }>(
      `DELETE FROM sessions WHERE "expiresAt" <= $1 RETURNING id`,
      {
        bind: [this.now()],
        type: QueryTypes.SELECT,
      },
    );
    this.forget(rows.map((r) => r.id));
    return rows.length;
  }

  private forget(ids: string[]): void {
    this.forgetHere(ids);
    if (ids.length) this.opts.cluster?.broadcast("sessions-ended", ids);
  }

  private forgetHere(ids: string[]): void {
    for (const id of ids) {
      this.cache.delete(id);
      this.ended.emit(id);
    }
  }

  /**
   * Calls `onEnd` once when the session ends: at once for an end on this instance, within
   * WATCH_POLL_MS for an end anywhere else (expiry, another instance). Returns an unsubscribe.
   */
  onEnd(id: string, onEnd: () => void): () => void {
    let done = false;
    const fire = () => {
      if (done) return;
      done = true;
      stop();
      onEnd();
    };
    const stop = () => {
      this.ended.off(id, fire);
      const n = (this.watched.get(id) ?? 1) - 1;
      if (n > 0) this.watched.set(id, n);
      else this.watched.delete(id);
    };
    this.ended.on(id, fire);
    this.watched.set(id, (this.watched.get(id) ?? 0) + 1);
    this.ensurePolling();
    return () => {
      if (done) return;
      done = true;
      stop();
    };
  }

  /** An AbortSignal that aborts when `signal` does or the session ends; for streams. */
  untilEnded(id: string, signal?: AbortSignal): AbortSignal {
    const controller = new AbortController();
    const stop = this.onEnd(id, () => controller.abort());
    if (signal?.aborted) controller.abort();
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    controller.signal.addEventListener("abort", stop, { once: true });
    return controller.signal;
  }

  /** Checks the sessions that live streams depend on; ones gone from the table count as ended. */
  async checkWatched(): Promise<void> {
    const ids = [...this.watched.keys()];
    if (!ids.length) return;
    const alive = await this.sequelize.query<{ id: string }>(
      `SELECT id FROM sessions WHERE id = ANY($1) AND "expiresAt" > $2`,
      { bind: [ids, this.now()], type: QueryTypes.SELECT },
    );
    const live = new Set(alive.map((r) => r.id));
    this.forgetHere(ids.filter((id) => !live.has(id)));
  }

  private ensurePolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      if (!this.watched.size) {
        clearInterval(this.pollTimer!);
        this.pollTimer = null;
        return;
      }
      this.checkWatched().catch((err) => this.opts.log?.warn({ err }, "checking live sessions failed"));
    }, WATCH_POLL_MS);
    this.pollTimer.unref();
  }

  /** Prunes expired sessions now and hourly. */
  async start(): Promise<void> {
    await this.prune().catch((err) => this.opts.log?.warn({ err }, "pruning sessions failed"));
    this.pruneTimer = setInterval(() => {
      this.prune().catch((err) => this.opts.log?.warn({ err }, "pruning sessions failed"));
    }, PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  stop(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pruneTimer = this.pollTimer = null;
  }
}
