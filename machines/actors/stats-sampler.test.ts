import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ParsedStats, type StatsLike, parseStatsReport } from "../quality";
import { createStatsSampler, readStats, type ReadPlan, type StatsSource } from "./stats-sampler";

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

  it("skips its samples while told to (a call on the page negotiates) and samples again after", async () => {
    let negotiating = true;
    const sampler = createStatsSampler(2_000, { skipWhile: () => negotiating });
    const a = fakeConnection(800);
    const samples: ParsedStats[] = [];
    const stop = sampler.register(
      () => a,
      (s) => samples.push(s),
    );
    await vi.advanceTimersByTimeAsync(4_000);
    expect(a.calls()).toBe(0);
    negotiating = false;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.calls()).toBe(1);
    expect(samples).toHaveLength(1);
    stop();
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

/**
 * A Chromium-like report: map-like, and counting the entries it had to build (every entry
 * iterated, or each one read by id).
 */
function chromiumReport(t: number, extra: StatsLike[] = []) {
  const entries: StatsLike[] = [
    { type: "certificate", id: "CF1", timestamp: t, base64Certificate: "x".repeat(1_000) },
    { type: "codec", id: "CIT01_111", timestamp: t, mimeType: "audio/opus" },
    { type: "local-candidate", id: "I1", timestamp: t },
    { type: "remote-candidate", id: "I2", timestamp: t },
    { type: "candidate-pair", id: "CP1", timestamp: t, state: "succeeded", currentRoundTripTime: 0.03 },
    { type: "candidate-pair", id: "CP2", timestamp: t, state: "failed", currentRoundTripTime: 0.5 },
    { type: "transport", id: "T01", timestamp: t, selectedCandidatePairId: "CP1" },
    { type: "inbound-rtp", id: "ITA", timestamp: t, kind: "audio", bytesReceived: t * 4, packetsReceived: t / 20 },
    {
      type: "inbound-rtp",
      id: "ITV",
      timestamp: t,
      kind: "video",
      bytesReceived: t * 60,
      packetsReceived: t / 5,
      framesPerSecond: 30,
      frameWidth: 640,
      frameHeight: 360,
    },
    { type: "outbound-rtp", id: "OTA", timestamp: t, kind: "audio", bytesSent: t * 4 },
    { type: "outbound-rtp", id: "OTV", timestamp: t, kind: "video", bytesSent: t * 50 },
    { type: "remote-inbound-rtp", id: "RIV", timestamp: t, kind: "video", fractionLost: 0.01, roundTripTime: 0.04 },
    { type: "media-source", id: "SV", timestamp: t, kind: "video" },
    ...extra,
  ];
  const map = new Map(entries.map((e) => [e.id, e]));
  let built = 0;
  const report = {
    get size() {
      return map.size;
    },
    get: (id: string) => {
      const e = map.get(id);
      if (e) built++;
      return e;
    },
    keys: () => map.keys(),
    *values() {
      for (const e of map.values()) {
        built++;
        yield e;
      }
    },
  };
  return { report, built: () => built };
}

describe("readStats (read only what the parser looks at)", () => {
  it("gives the parser the same sample as a full read, building a third of the entries", () => {
    let plan: ReadPlan | undefined;
    let prevPicked: ParsedStats | undefined;
    let prevFull: ParsedStats | undefined;
    const builtPerSample: number[] = [];
    for (let t = 2_000; t <= 20_000; t += 2_000) {
      const { report, built } = chromiumReport(t);
      const read = readStats(report, plan);
      plan = read.plan;
      const picked = parseStatsReport(read.stats, prevPicked);
      const full = parseStatsReport([...chromiumReport(t).report.values()], prevFull);
      expect(picked).toEqual(full);
      expect(picked.rttMs).toBe(30); // the selected pair's, not the failed one's
      [prevPicked, prevFull] = [picked, full];
      builtPerSample.push(built());
    }
    expect(builtPerSample[0]).toBe(13); // the first read is a full one
    expect(builtPerSample.slice(1).every((n) => n === 7)).toBe(true);
  });

  it("reads everything again when the report grows (a stream's first packets, a new candidate)", () => {
    const first = readStats(chromiumReport(2_000).report, undefined);
    const grown = chromiumReport(4_000, [
      { type: "inbound-rtp", id: "ITV2", timestamp: 4_000, kind: "video", bytesReceived: 1, packetsReceived: 1 },
    ]);
    const read = readStats(grown.report, first.plan);
    expect(grown.built()).toBe(14);
    expect(read.stats.map((s) => s.id)).toContain("ITV2");
    expect(read.plan?.ids).toContain("ITV2");
  });

  it("reads everything again when an entry is replaced in place (same size: Firefox drops a pair as a stream starts)", () => {
    const first = readStats(chromiumReport(2_000).report, undefined);
    const same = chromiumReport(4_000);
    // One entry gone, one new: the size is what it was.
    const replaced = new Map([...same.report.values()].filter((e) => e.id !== "CP2").map((e) => [e.id, e]));
    replaced.set("ITV2", { type: "inbound-rtp", id: "ITV2", timestamp: 4_000, kind: "video", bytesReceived: 1 });
    expect(replaced.size).toBe(13);
    const read = readStats(replaced, first.plan);
    expect(read.stats.map((s) => s.id)).toContain("ITV2");
    expect(read.plan?.ids).toContain("ITV2");
  });

  it("reads everything again now and then, and whenever an id has gone", () => {
    let plan = readStats(chromiumReport(0).report, undefined).plan;
    let fullReads = 0;
    for (let i = 1; i <= 30; i++) {
      const { report, built } = chromiumReport(i * 2_000);
      plan = readStats(report, plan).plan;
      if (built() === 13) fullReads++;
    }
    expect(fullReads).toBeGreaterThanOrEqual(1);
    expect(fullReads).toBeLessThanOrEqual(2);
    const stale = { all: plan!.all, ids: ["gone", ...(plan?.ids ?? [])], age: 0 };
    const { report, built } = chromiumReport(99_000);
    expect(readStats(report, stale).stats).toHaveLength(13);
    expect(built()).toBe(13);
  });

  it("reads the whole report every time when no transport names the selected pair (Firefox)", () => {
    const ff = [
      { type: "candidate-pair", id: "p1", timestamp: 1, selected: true, currentRoundTripTime: 0.02 },
      { type: "certificate", id: "c1", timestamp: 1 },
      { type: "inbound-rtp", id: "in", timestamp: 1, kind: "video", bytesReceived: 1 },
    ];
    const map = new Map(ff.map((e) => [e.id, e]));
    const first = readStats(map, undefined);
    expect(first.plan).toBeUndefined();
    expect(first.stats).toHaveLength(3);
    expect(parseStatsReport(readStats(map, first.plan).stats).rttMs).toBe(20);
  });
});
