/**
 * A per-key sliding-window counter ("10 messages per 10 s per person"). In-process, like the room
 * event bus: several app instances would need a shared store.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a hit for `key` and says whether it is within the limit (a refused hit is not counted). */
  take(key: string): boolean {
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((h) => h > t - this.windowMs);
    if (recent.length >= this.max) {
      this.hits.set(key, recent);
      return false;
    }
    recent.push(t);
    this.hits.set(key, recent);
    // Keys are user ids; drop idle ones so the map stays small.
    if (this.hits.size > 10_000)
      for (const [k, v] of this.hits) if (!v.some((h) => h > t - this.windowMs)) this.hits.delete(k);
    return true;
  }

  /** Gives back the last hit of `key` (the request turned out to be a retry of one already counted). */
  refund(key: string): void {
    this.hits.get(key)?.pop();
  }
}
