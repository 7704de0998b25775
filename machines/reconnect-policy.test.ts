import { describe, expect, it } from "vitest";
import { MAX_RECONNECT_ATTEMPTS, RECONNECT_GIVE_UP_AFTER_MS, nextRetryDelay } from "./reconnect-policy";

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
