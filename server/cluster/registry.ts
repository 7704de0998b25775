/**
 * Which instance holds which PeerServer socket, and which instances are alive, kept in Redis with
 * TTLs that each instance refreshes on a heartbeat. Signaling relays use it to find a peer's
 * instance; survivors use it to find the peers of an instance that died without a clean shutdown.
 */
import type { Logger } from "../logger.js";
import type { RedisLink } from "./redis.js";

/**
 * An instance (and each of its peers) counts as gone this long after its last heartbeat: five
 * missed beats, so a busy event loop is not mistaken for a dead process.
 */
const REGISTRY_TTL_MS = 5_000;
const BEAT_MS = 1_000;

// Only the holder may delete its own entry: the peer may already have re-registered elsewhere.
const UNREGISTER_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1`;

export class PeerRegistry {
  private readonly local = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private readonly deadHandlers: Array<(instanceId: string, peerIds: string[]) => void> = [];

  constructor(
    private readonly redis: RedisLink,
    private readonly log: Pick<Logger, "warn">,
  ) {
    redis.cmd.defineCommand("coupUnregisterPeer", { numberOfKeys: 2, lua: UNREGISTER_SCRIPT });
    // Whatever was registered while Redis was away is written again.
    redis.onReconnect(() => void this.beat());
  }

  get instanceId(): string {
    return this.redis.instanceId;
  }

  isLocal(peerId: string): boolean {
    return this.local.has(peerId);
  }

  add(peerId: string): void {
    this.local.add(peerId);
    this.redis.cmd
      .multi()
      .set(this.peerKey(peerId), this.instanceId, "PX", REGISTRY_TTL_MS)
      .sadd(this.peersOf(this.instanceId), peerId)
      .exec()
      .catch((err: unknown) => this.log.warn({ err, peerId }, "registering a peer in Redis failed"));
  }

  remove(peerId: string): void {
    this.local.delete(peerId);
    const cmd = this.redis.cmd as unknown as { coupUnregisterPeer(...a: string[]): Promise<unknown> };
    cmd
      .coupUnregisterPeer(this.peerKey(peerId), this.peersOf(this.instanceId), this.instanceId, peerId)
      .catch((err: unknown) => this.log.warn({ err, peerId }, "unregistering a peer in Redis failed"));
  }

  /** The instance holding `peerId`'s socket, or null when none does. */
  async whereIs(peerId: string): Promise<string | null> {
    if (this.local.has(peerId)) return this.instanceId;
    return this.redis.cmd.get(this.peerKey(peerId));
  }

  /** Whether the instance is heartbeating (a slow one presumed dead may come back). */
  async isAlive(instanceId: string): Promise<boolean> {
    return (await this.redis.cmd.exists(this.aliveKey(instanceId))) === 1;
  }

  /** Calls `handler` (on exactly one survivor) with the peers of an instance that stopped heartbeating. */
  onInstanceDead(handler: (instanceId: string, peerIds: string[]) => void): void {
    this.deadHandlers.push(handler);
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), BEAT_MS);
    this.timer.unref();
  }

  /** Clean shutdown: the peers' sockets close with it, and their drop grace runs on whichever instance they re-dial. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.cmd
      .multi()
      .del(this.aliveKey(this.instanceId))
      .srem(this.redis.key("instances"), this.instanceId)
      .del(this.peersOf(this.instanceId))
      .exec()
      .catch(() => {});
  }

  /** Stops heartbeating without cleaning up, as a SIGKILL would; for tests. */
  abandon(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async beat(): Promise<void> {
    try {
      const tx = this.redis.cmd
        .multi()
        .set(this.aliveKey(this.instanceId), "1", "PX", REGISTRY_TTL_MS)
        .sadd(this.redis.key("instances"), this.instanceId);
      for (const peerId of this.local) {
        tx.set(this.peerKey(peerId), this.instanceId, "PX", REGISTRY_TTL_MS).sadd(
          this.peersOf(this.instanceId),
          peerId,
        );
      }
      await tx.exec();
      await this.reapDead();
    } catch (err) {
      this.log.warn({ err }, "cluster heartbeat failed");
    }
  }

  /** An instance in the set whose alive key expired died; SREM hands it to exactly one survivor. */
  private async reapDead(): Promise<void> {
    const instances = await this.redis.cmd.smembers(this.redis.key("instances"));
    for (const id of instances) {
      if (id === this.instanceId) continue;
      if (await this.redis.cmd.exists(this.aliveKey(id))) continue;
      const peersKey = this.peersOf(id);
      const [[, claimed], [, peerIds]] = (await this.redis.cmd
        .multi()
        .srem(this.redis.key("instances"), id)
        .smembers(peersKey)
        .del(peersKey)
        .exec()) as [[unknown, number], [unknown, string[]]];
      if (claimed !== 1) continue;
      for (const h of this.deadHandlers) h(id, peerIds);
    }
  }

  private peerKey(peerId: string): string {
    return this.redis.key(`peer:${peerId}`);
  }
  private peersOf(instanceId: string): string {
    return this.redis.key(`instance-peers:${instanceId}`);
  }
  private aliveKey(instanceId: string): string {
    return this.redis.key(`alive:${instanceId}`);
  }
}
