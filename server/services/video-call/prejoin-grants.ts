/**
 * Pre-join grants: the right to open a PeerServer socket before joining, so the Join click only
 * needs `videoCall.join` and can dial at once (issue #16 §2).
 *
 * A grant is an opaque token (`g` + 32 hex) issued to an ACTIVE member for one study, valid for
 * GRANT_TTL_MS and consumed by the one join that uses it. The browser opens its PeerJS socket with
 * the token as its id; the server registers that socket under `peerIdOfGrant(token)`, an HMAC of
 * the token under a server secret, and the join that consumes the grant opens its participation
 * with that same peer id. So the browser (and everyone else) learns the peer id only from the
 * join's answer, and a grant nobody uses leaves nothing behind but an expired key: no row is
 * written before the join.
 *
 * Where grants live: in this process, or in Redis in cluster mode (the socket and the join may
 * land on different instances). Keys include the user id, so presenting someone else's token
 * finds nothing and cannot consume it.
 */
import { createHmac, randomBytes } from "node:crypto";
import type { RedisLink } from "../../cluster/redis.js";

/** How long an unused grant stays valid (the issue allows at most 2 minutes). */
const GRANT_TTL_MS = 90_000;

const GRANT_PATTERN = /^g[0-9a-f]{32}$/;
const LOCAL_MAX = 10_000;

export interface PrejoinGrant {
  studyId: string;
  /** Epoch ms. */
  expiresAt: number;
}

function newGrantToken(): string {
  return `g${randomBytes(16).toString("hex")}`;
}

export function isGrantToken(id: string): boolean {
  return GRANT_PATTERN.test(id);
}

/**
 * The peer id a grant's socket is registered under and its join's participation gets. Only the
 * server can compute it; the sub-key keeps this use of the secret apart from cookie signing.
 */
export function grantPeerIds(secret: string): (token: string) => string {
  const key = createHmac("sha256", secret).update("coup prejoin peer id v1").digest();
  return (token) => `p${createHmac("sha256", key).update(token).digest("hex").slice(0, 32)}`;
}

export interface GrantStore {
  put(userId: string, token: string, grant: PrejoinGrant, now: number): Promise<void>;
  /** The grant if it is this user's, unused and unexpired; leaves it in place. */
  peek(userId: string, token: string, now: number): Promise<PrejoinGrant | null>;
  /** As peek, but removes it: a grant is consumed by exactly one join. */
  take(userId: string, token: string, now: number): Promise<PrejoinGrant | null>;
}

const live = (grant: PrejoinGrant | undefined | null, now: number) => (grant && grant.expiresAt > now ? grant : null);

export class LocalGrantStore implements GrantStore {
  private readonly grants = new Map<string, PrejoinGrant>();

  async put(userId: string, token: string, grant: PrejoinGrant, now: number): Promise<void> {
    // Expired grants are dropped as new ones come in, so the map holds at most a TTL's worth.
    for (const [key, g] of this.grants) {
      if (g.expiresAt > now && this.grants.size < LOCAL_MAX) break;
      this.grants.delete(key);
    }
    this.grants.set(`${userId}:${token}`, grant);
  }

  async peek(userId: string, token: string, now: number): Promise<PrejoinGrant | null> {
    return live(this.grants.get(`${userId}:${token}`), now);
  }

  async take(userId: string, token: string, now: number): Promise<PrejoinGrant | null> {
    const key = `${userId}:${token}`;
    const grant = this.grants.get(key);
    this.grants.delete(key);
    return live(grant, now);
  }
}

/** Cluster mode: any instance may see the socket or the join. GETDEL makes the consumption atomic. */
export class RedisGrantStore implements GrantStore {
  constructor(private readonly redis: RedisLink) {}

  async put(userId: string, token: string, grant: PrejoinGrant, now: number): Promise<void> {
    const ttl = Math.max(1, grant.expiresAt - now);
    await this.redis.cmd.set(this.key(userId, token), JSON.stringify(grant), "PX", ttl);
  }

  async peek(userId: string, token: string, now: number): Promise<PrejoinGrant | null> {
    return live(parse(await this.redis.cmd.get(this.key(userId, token))), now);
  }

  async take(userId: string, token: string, now: number): Promise<PrejoinGrant | null> {
    return live(parse(await this.redis.cmd.getdel(this.key(userId, token))), now);
  }

  private key(userId: string, token: string): string {
    return this.redis.key(`grant:${userId}:${token}`);
  }
}

/** Issues, checks and consumes grants; the one place that knows a grant's peer id. */
export class PrejoinGrants {
  readonly peerIdOf: (token: string) => string;

  constructor(
    private readonly store: GrantStore,
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.peerIdOf = grantPeerIds(secret);
  }

  async issue(userId: string, studyId: string): Promise<{ grant: string; expiresAt: number }> {
    const grant = newGrantToken();
    const expiresAt = this.now() + GRANT_TTL_MS;
    await this.store.put(userId, grant, { studyId, expiresAt }, this.now());
    return { grant, expiresAt };
  }

  /** The unused grant `token` of this user, with the peer id its socket registers under. */
  async check(userId: string, token: string): Promise<(PrejoinGrant & { peerId: string }) | null> {
    if (!isGrantToken(token)) return null;
    const grant = await this.store.peek(userId, token, this.now());
    return grant ? { ...grant, peerId: this.peerIdOf(token) } : null;
  }

  /** Consumes this user's grant for a join in `studyId`: its peer id, or null (unknown, expired, used, other study). */
  async consume(userId: string, token: string, studyId: string): Promise<string | null> {
    if (!isGrantToken(token)) return null;
    const grant = await this.store.take(userId, token, this.now());
    return grant && grant.studyId === studyId ? this.peerIdOf(token) : null;
  }
}

function parse(raw: string | null): PrejoinGrant | null {
  if (!raw) return null;
  try {
    const g = JSON.parse(raw) as PrejoinGrant;
    return typeof g.studyId === "string" && typeof g.expiresAt === "number" ? g : null;
  } catch {
    return null;
  }
}
