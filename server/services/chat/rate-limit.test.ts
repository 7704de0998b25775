// The chat limits: a sliding window per person, shared by every instance of a cluster.
import { describe, expect, it } from "vitest";
import { RateLimiter } from "./rate-limit.js";

/** Two instances' control channels, wired to each other as Redis pub/sub would (never to themselves). */
function linkedChannels() {
  const handlers = [new Map<string, (d: unknown) => void>(), new Map<string, (d: unknown) => void>()];
  const channel = (self: 0 | 1) => ({
    broadcast: (type: string, data: unknown) => handlers[1 - self]!.get(type)?.(structuredClone(data)),
    onControl: (type: string, handler: (d: unknown, from: string) => void) =>
      void handlers[self]!.set(type, (d) => handler(d, `instance-${1 - self}`)),
  });
  return [channel(0), channel(1)] as const;
}

describe("RateLimiter", () => {
  it("refuses the hit over the limit and lets it through once the window has moved on", () => {
    let t = 0;
    const limit = new RateLimiter(2, 1_000, () => t);
    expect([limit.take("u"), limit.take("u"), limit.take("u")]).toEqual([true, true, false]);
    expect(limit.take("other")).toBe(true);
    t = 1_001;
    expect(limit.take("u")).toBe(true);
  });

  it("a refund gives the hit back", () => {
    const limit = new RateLimiter(1, 1_000, () => 0);
    expect(limit.take("u")).toBe(true);
    limit.refund("u");
    expect(limit.take("u")).toBe(true);
    expect(limit.take("u")).toBe(false);
  });

  it("in a cluster, hits on one instance count on the other, and so do refunds", () => {
    const [a, b] = linkedChannels();
    const onA = new RateLimiter(3, 10_000, () => 0);
    const onB = new RateLimiter(3, 10_000, () => 0);
    onA.shareThrough(a, "chat-messages");
    onB.shareThrough(b, "chat-messages");
    // Requests alternate between instances, as a round-robin balancer sends them.
    expect([onA.take("u"), onB.take("u"), onA.take("u"), onB.take("u")]).toEqual([true, true, true, false]);
    expect(onA.take("u")).toBe(false);
    onB.refund("u");
    expect(onA.take("u")).toBe(true);
  });

  it("limits with different names do not count each other's hits", () => {
    const [a, b] = linkedChannels();
    const messages = new RateLimiter(1, 10_000, () => 0);
    const uploads = new RateLimiter(1, 10_000, () => 0);
    messages.shareThrough(a, "chat-messages");
    uploads.shareThrough(b, "chat-uploads");
    expect(messages.take("u")).toBe(true);
    expect(uploads.take("u")).toBe(true);
  });
});
