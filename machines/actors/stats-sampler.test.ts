import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ParsedStats, StatsLike } from "../quality";
import { createStatsSampler, type StatsSource } from "./stats-sampler";

/** A fake connection whose cumulative counters grow by `kbps` per second of fake time. */
function fakeConnection(kbps: number) {
  let calls = 0;
  const source: StatsSource & { calls: () => number } = {
    calls: () => calls,
    getStats: async () => {
      calls++;
      const now = Date.now();
      const stats: StatsLike[] = [
        { type: "inbound-rtp", id: "in", timestamp: now, kind: "video", bytesReceived: (now / 1000) * kbps * 125 },
      ];
      return stats;
    },
  };
  return source;
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("stats sampler", () => {
  it("polls every registered connection on one shared timer and parses against each one's previous report", async () => {
    const sampler = createStatsSampler(2_000);
    const a = fakeConnection(800);
    const b = fakeConnection(200);
    const fromA: ParsedStats[] = [];
    const fromB: ParsedStats[] = [];
    const setIntervalSpy = vi.spyOn(globalThis, "setInterval");
    sampler.register(
      () => a,
      (s) => fromA.push(s),
    );
    sampler.register(
      () => b,
      (s) => fromB.push(s),
    );
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    expect(sampler.size).toBe(2);

    await vi.advanceTimersByTimeAsync(1_999);
    expect(a.calls()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect([a.calls(), b.calls()]).toEqual([1, 1]);
    expect(fromA[0]?.inboundKbps).toBeNull(); // no previous report yet

    await vi.advanceTimersByTimeAsync(2_000);
    expect([a.calls(), b.calls()]).toEqual([2, 2]);
    expect(fromA[1]?.inboundKbps).toBe(800);
    expect(fromB[1]?.inboundKbps).toBe(200);
    setIntervalSpy.mockRestore();
  });

  it("runs no timer while nothing is registered and stops when the last connection leaves", async () => {
    const sampler = createStatsSampler(2_000);
    expect(sampler.running).toBe(false);
    const a = fakeConnection(100);
    const offA = sampler.register(
      () => a,
      () => undefined,
    );
    const offB = sampler.register(
      () => fakeConnection(100),
      () => undefined,
    );
    expect(sampler.running).toBe(true);
    offA();
    expect(sampler.running).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.calls()).toBe(0);
    offB();
    expect(sampler.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("skips connections not created yet and drops samples for one unregistered mid-round", async () => {
    const sampler = createStatsSampler(1_000);
    const conn: { pc?: StatsSource } = {};
    const samples: ParsedStats[] = [];
    const off = sampler.register(
      () => conn.pc,
      (s) => samples.push(s),
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(samples).toHaveLength(0);

    let release: (() => void) | null = null;
    conn.pc = {
      getStats: () =>
        new Promise((resolve) => {
          release = () => resolve([]);
        }),
    };
    await vi.advanceTimersByTimeAsync(1_000);
    expect(release).not.toBeNull();
    off();
    release!();
    await flush();
    expect(samples).toHaveLength(0);
  });

  it("never stacks ticks behind a slow getStats and survives a failing one", async () => {
    const sampler = createStatsSampler(1_000);
    let pending = 0;
    let finish: Array<() => void> = [];
    const slow: StatsSource = {
      getStats: () => {
        pending++;
        return new Promise((resolve) => finish.push(() => resolve([])));
      },
    };
    const failing: StatsSource = { getStats: () => Promise.reject(new Error("closed")) };
    const samples: string[] = [];
    sampler.register(
      () => slow,
      () => samples.push("slow"),
    );
    sampler.register(
      () => failing,
      () => samples.push("failing"),
    );
    await vi.advanceTimersByTimeAsync(3_000);
    expect(pending).toBe(1);
    for (const f of finish) f();
    finish = [];
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pending).toBe(2);
    expect(samples).toEqual(["slow"]);
  });
});
