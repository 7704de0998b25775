import { randomUUID } from "node:crypto";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { Study, StudyMember, User } from "../../db/models/index.js";
import type { MemberStatus } from "../../db/models/index.js";
import { setBounded } from "../bounded-map.js";
import type { RedisLink } from "../cluster/redis.js";

export interface CachedMembership {
  status: MemberStatus;
  name: string;
  avatarUrl: string | null;
}

// Every write through the models clears the cache (after commit too), on every instance of a cluster;
// the TTL only bounds how long a write made outside the app (psql) can go unnoticed.
const TTL_MS = 5_000;
const MAX_ENTRIES = 50_000;

const HOOKS = [
  "afterCreate",
  "afterUpdate",
  "afterDestroy",
  "afterUpsert",
  "afterBulkCreate",
  "afterBulkUpdate",
  "afterBulkDestroy",
] as const;

/**
 * Who is a member of which study, with their display name: read on every call request (status is
 * polled by every open study page), so it is answered from memory. Any membership, study or user
 * write made through the models empties it, both when the write runs and when its transaction
 * commits, and a load that raced with a write is not kept.
 */
export class MembershipCache {
  private readonly entries = new Map<string, { value: CachedMembership | null; expires: number }>();
  private epoch = 0;
  private readonly hookName = `membership-cache-${randomUUID()}`;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly cluster?: RedisLink,
  ) {
    const clear = (...args: unknown[]) => {
      this.clearEverywhere();
      const transaction = args.map(transactionOf).find((t) => t !== null);
      // Readers outside the transaction still see the old row until it commits.
      transaction?.afterCommit(() => this.clearEverywhere());
    };
    cluster?.onControl("memberships", () => this.clear());
    for (const model of hookedModels()) {
      for (const hook of HOOKS) model.addHook(hook, this.hookName, clear);
    }
  }

  /** The membership of `userId` in `studyId`, or null when there is none (or no such study). */
  async get(userId: string, studyId: string): Promise<CachedMembership | null> {
    const key = `${studyId}:${userId}`;
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    const epoch = this.epoch;
    const [row] = await this.sequelize.query<CachedMembership>(
      `SELECT m.status, u.name, u."avatarUrl" FROM study_members m JOIN users u ON u.id = m."userId"
       WHERE m."studyId" = $1 AND m."userId" = $2`,
      { bind: [studyId, userId], type: QueryTypes.SELECT },
    );
    const value = row ? { status: row.status, name: row.name, avatarUrl: row.avatarUrl } : null;
    if (epoch === this.epoch) {
      setBounded(this.entries, key, { value, expires: now + TTL_MS }, MAX_ENTRIES);
    }
    return value;
  }

  private clearEverywhere(): void {
    this.clear();
    this.cluster?.broadcast("memberships", null);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  dispose(): void {
    for (const model of hookedModels()) {
      for (const hook of HOOKS) model.removeHook(hook, this.hookName);
    }
    this.clear();
  }
}

interface HookedModel {
  addHook(hook: (typeof HOOKS)[number], name: string, fn: (...args: unknown[]) => void): unknown;
  removeHook(hook: (typeof HOOKS)[number], name: string): unknown;
}
// Memberships, and the study and user rows their answers depend on (deletes cascade in the database).
const hookedModels = () => [StudyMember, Study, User] as unknown as HookedModel[];

function transactionOf(arg: unknown): Transaction | null {
  if (arg && typeof arg === "object" && "transaction" in arg) {
    const t = (arg as { transaction?: Transaction | null }).transaction;
    if (t && typeof t.afterCommit === "function") return t;
  }
  return null;
}
