import { describe, expect, it } from "vitest";
import {
  MAX_RECONNECT_ATTEMPTS,
  NO_JITTER,
  RECONNECT_GIVE_UP_AFTER_MS,
  nextRetryDelay,
  nextSignalingRetryDelay,
} from "./reconnect-policy";

describe("nextRetryDelay", () => {
  it("grows the delay over exactly three attempts", () => {
    expect(MAX_RECONNECT_ATTEMPTS).toBe(3);
    const delays = [1, 2, 3].map((a) => nextRetryDelay(a, 0));
    expect(delays).toEqual([1000, 3000, 7000]);
    expect(delays[1]!).toBeGreaterThan(delays[0]!);
    expect(delays[2]!).toBeGreaterThan(delays[1]!);
  });

  it("gives up after the last attempt", () => {
    expect(nextRetryDelay(4, 0)).toBeNull();
    expect(nextRetryDelay(100, 0)).toBeNull();
  });

  it("gives up once the elapsed time passes the cap, even with attempts left", () => {
    expect(nextRetryDelay(2, RECONNECT_GIVE_UP_AFTER_MS - 1)).toBe(3000);
    expect(nextRetryDelay(2, RECONNECT_GIVE_UP_AFTER_MS)).toBeNull();
    expect(nextRetryDelay(1, 10 * 60_000)).toBeNull();
  });

  it("rejects nonsense attempts instead of inventing a delay", () => {
    expect(nextRetryDelay(0, 0)).toBeNull();
    expect(nextRetryDelay(-1, 0)).toBeNull();
    expect(nextRetryDelay(1.5, 0)).toBeNull();
    expect(nextRetryDelay(1, Number.NaN)).toBeNull();
  });
});

describe("nextSignalingRetryDelay", () => {
  /** A seeded linear congruential generator: the same "random" sequence on every run. */
  const seeded = (seed: number) => () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  it("without jitter: a first re-dial after 1 s, then every 2 s, for a minute", () => {
    expect([1, 2, 3, 10].map((a) => nextSignalingRetryDelay(a, 0, NO_JITTER))).toEqual([1000, 2000, 2000, 2000]);
    expect(nextSignalingRetryDelay(5, RECONNECT_GIVE_UP_AFTER_MS, NO_JITTER)).toBeNull();
    expect(nextSignalingRetryDelay(0, 0, NO_JITTER)).toBeNull();
    expect(nextSignalingRetryDelay(1, Number.NaN, NO_JITTER)).toBeNull();
  });

  it("jitter only shortens a gap, by at most half, even at the ends of the random range", () => {
    for (const r of [0, 0.999_999, 1, -1, 2]) {
      expect(nextSignalingRetryDelay(1, 0, () => r)).toBeGreaterThanOrEqual(500);
      expect(nextSignalingRetryDelay(1, 0, () => r)).toBeLessThanOrEqual(1000);
      expect(nextSignalingRetryDelay(2, 0, () => r)).toBeGreaterThanOrEqual(1000);
      expect(nextSignalingRetryDelay(2, 0, () => r)).toBeLessThanOrEqual(2000);
    }
    expect(nextSignalingRetryDelay(2, 0, () => 0)).toBe(2000);
    expect(nextSignalingRetryDelay(2, 0, () => 1)).toBe(1000);
  });

  it("spreads a crowd that lost the server at the same instant over the whole window", () => {
    const random = seeded(42);
    const delays = Array.from({ length: 1000 }, () => nextSignalingRetryDelay(2, 0, random)!);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
    // No beat: every 100 ms slice of the 1 s window gets a share of the re-dials (≈100 each).
    const slices = Array.from({ length: 10 }, (_, i) => delays.filter((d) => Math.floor((d - 1000) / 100) === i));
    for (const slice of slices) expect(slice.length).toBeGreaterThan(50);
    expect(new Set(delays).size).toBeGreaterThan(500);
  });
});
