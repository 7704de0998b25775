/**
 * A per-key sliding-window counter ("10 messages per 10 s per person"). In a cluster every instance
 * keeps the same counts: each counted hit (and each refund) is announced on the Redis control channel,
 * the way the login throttle shares its failures, so a person cannot multiply a limit by the number of
 * instances the load balancer spreads their requests over.
 */
import type { RedisLink } from "../../cluster/redis.js";

type ControlChannel = Pick<RedisLink, "broadcast" | "onControl">;

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  private shared: { channel: ControlChannel; type: string } | null = null;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a hit for `key` and says whether it is within the limit (a refused hit is not counted). */
  take(key: string): boolean {
    if (this.recent(key).length >= this.max) return false;
    this.record(key);
    this.shared?.channel.broadcast(this.shared.type, { key, hit: true });
    return true;
  }

  /** Gives back the last hit of `key` (the request turned out to be a retry of one already counted). */
  refund(key: string): void {
    this.hits.get(key)?.pop();
    this.shared?.channel.broadcast(this.shared.type, { key, hit: false });
  }

  /** Counts the hits other instances take against the same limit (`name` tells limits apart). */
  shareThrough(channel: ControlChannel, name: string): void {
    const type = `rate-limit:${name}`;
    this.shared = { channel, type };
    channel.onControl(type, (d) => {
      if (!d || typeof d !== "object" || !("key" in d) || typeof d.key !== "string") return;
      if ("hit" in d && d.hit === true) this.record(d.key);
      else this.hits.get(d.key)?.pop();
    });
  }

  private recent(key: string): number[] {
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((h) => h > t - this.windowMs);
    this.hits.set(key, recent);
    return recent;
  }

  private record(key: string): void {
    const t = this.now();
    this.recent(key).push(t);
    // Keys are user ids; drop idle ones so the map stays small.
    if (this.hits.size > 10_000)
      for (const [k, v] of this.hits) if (!v.some((h) => h > t - this.windowMs)) this.hits.delete(k);
  }
}
