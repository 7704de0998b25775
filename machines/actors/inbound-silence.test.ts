import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createInboundSilenceWatcher,
  audioPacketsReceived,
  createSilenceDetector,
  silencePolling,
} from "./inbound-silence";

describe("inbound silence detector", () => {
  it("stays quiet while packets keep arriving, however long the call", () => {
    const d = createSilenceDetector(1_000);
    for (let t = 0; t < 60_000; t += 200) expect(d.observe(t, t)).toBeNull();
  });

  it("reports how long the silence lasted when packets come back after an outage", () => {
    const d = createSilenceDetector(1_000);
    d.observe(0, 0);
    d.observe(200, 200);
    // 3 s of nothing: the last packet stays at 200.
    for (let t = 400; t <= 3_200; t += 200) expect(d.observe(200, t)).toBeNull();
    expect(d.observe(3_400, 3_400)).toBe(3_200);
    // Once: the next packet is ordinary traffic again.
    expect(d.observe(3_600, 3_600)).toBeNull();
  });

  it("ignores gaps shorter than the threshold (jitter, a slow poll)", () => {
    const d = createSilenceDetector(1_000);
    d.observe(0, 0);
    expect(d.observe(0, 800)).toBeNull();
    expect(d.observe(900, 900)).toBeNull();
  });

  it("does not take a late or skipped poll for a silence: some poll must have seen nothing new", () => {
    const d = createSilenceDetector(750);
    d.observe(1, 0);
    // The next read came 1.2 s later (a busy page), and packets had kept arriving.
    expect(d.observe(61, 1_200)).toBeNull();
    // A real outage: a poll sees nothing, then packets again.
    expect(d.observe(61, 1_700)).toBeNull();
    expect(d.observe(70, 2_200)).toBe(1_000);
  });

  it("treats no packets at all (nothing received yet, or aged out) as unknown, not as traffic", () => {
    const d = createSilenceDetector(1_000);
    expect(d.observe(null, 0)).toBeNull();
    d.observe(100, 100);
    expect(d.observe(null, 5_000)).toBeNull();
    expect(d.observe(12_000, 12_000)).toBe(11_900);
  });
});

/** A map-like stats report over `entries`, counting how many entries were built (iterated or got). */
function report(entries: Array<Record<string, unknown> & { id: string; type: string }>, built = { n: 0 }) {
  const byId = new Map(entries.map((e) => [e.id, { timestamp: 0, ...e }]));
  return {
    built,
    get: (id: string) => {
      const e = byId.get(id);
      if (e) built.n++;
      return e;
    },
    *values() {
      for (const e of byId.values()) {
        built.n++;
        yield e;
      }
    },
  };
}

describe("audioPacketsReceived", () => {
  it("sums the inbound audio streams' packets, ignores video, and reads just those entries once it knows them", () => {
    const entries = [
      { id: "codec", type: "codec" },
      { id: "a", type: "inbound-rtp", kind: "audio", packetsReceived: 40 },
      { id: "v", type: "inbound-rtp", kind: "video", packetsReceived: 900 },
      { id: "pair", type: "candidate-pair" },
    ];
    const first = report(entries);
    const r1 = audioPacketsReceived(first, []);
    expect(r1).toEqual({ count: 40, ids: ["a"] });
    const second = report(entries);
    expect(audioPacketsReceived(second, r1.ids)).toEqual({ count: 40, ids: ["a"] });
    expect(second.built.n).toBe(1); // the audio entry alone
  });

  it("walks the report again when a remembered entry went away, and says null while there is no audio", () => {
    const moved = report([{ id: "a2", type: "inbound-rtp", kind: "audio", packetsReceived: 7 }]);
    expect(audioPacketsReceived(moved, ["a"])).toEqual({ count: 7, ids: ["a2"] });
    expect(audioPacketsReceived(report([{ id: "v", type: "inbound-rtp", kind: "video" }]), [])).toEqual({
      count: null,
      ids: [],
    });
  });
});

describe("inbound silence watcher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A fake connection whose packets flow while `flowing` is set. */
  function connection() {
    const c = { last: 0, flowing: true };
    const pc = {
      getStats: async () => report([{ id: "a", type: "inbound-rtp", kind: "audio", packetsReceived: c.last }]),
    };
    return { c, pc };
  }

  it("watches every call on one timer, reports each resumption once, and stops its timer when unwatched", async () => {
    const setIntervalSpy = vi.spyOn(globalThis, "setInterval");
    const watcher = createInboundSilenceWatcher({ silenceMs: 1_000 });
    const a = connection();
    const b = connection();
    const resumed: Array<[string, number]> = [];
    const stopA = watcher.watch(
      () => a.pc,
      (ms) => resumed.push(["a", ms]),
    );
    const stopB = watcher.watch(
      () => b.pc,
      (ms) => resumed.push(["b", ms]),
    );
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    const tick = async (ms: number) => {
      for (let i = 0; i < ms / 100; i++) {
        for (const x of [a, b]) if (x.c.flowing) x.c.last += 5; // five packets per 100 ms
        await vi.advanceTimersByTimeAsync(100);
      }
    };
    await tick(2_000);
    a.c.flowing = false; // only a's link goes down
    await tick(3_000);
    expect(resumed).toEqual([]);
    a.c.flowing = true;
    await tick(1_000);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]![0]).toBe("a");
    expect(resumed[0]![1]).toBeGreaterThanOrEqual(3_000);

    stopA();
    stopB();
    expect(vi.getTimerCount()).toBe(0);
    a.c.flowing = false;
    await tick(3_000);
    a.c.flowing = true;
    await tick(1_000);
    expect(resumed).toHaveLength(1);
    setIntervalSpy.mockRestore();
  });
});

describe("inbound silence watcher reads", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("twice a second, never stacking a read on one still under way, never waiting for it", async () => {
    let calls = 0;
    let answer: (() => void) | null = null;
    const pc = {
      getStats: () => {
        calls++;
        return new Promise<ReturnType<typeof report>>((resolve) => {
          answer = () => resolve(report([{ id: "a", type: "inbound-rtp", kind: "audio", packetsReceived: calls }]));
        });
      },
    };
    const stop = createInboundSilenceWatcher({ silenceMs: 1_000 }).watch(
      () => pc,
      () => {},
    );
    await vi.advanceTimersByTimeAsync(1_600);
    // Three polls, but the first read never answered: no second read was stacked on it.
    expect(calls).toBe(1);
    answer!();
    await vi.advanceTimersByTimeAsync(500);
    expect(calls).toBe(2);
    stop();
  });
});

describe("inbound silence watcher: skipped polls", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("reads nothing while told to (a call on the page negotiates), and the gap is not an outage", async () => {
    let negotiating = false;
    let packets = 0;
    let calls = 0;
    const pc = {
      getStats: async () => {
        calls++;
        return report([{ id: "a", type: "inbound-rtp", kind: "audio", packetsReceived: packets }]);
      },
    };
    const resumed: number[] = [];
    const stop = createInboundSilenceWatcher({ silenceMs: 1_000, skipWhile: () => negotiating }).watch(
      () => pc,
      (ms) => resumed.push(ms),
    );
    const run = async (ms: number) => {
      for (let i = 0; i < ms / 100; i++) {
        packets += 5; // media keeps flowing
        await vi.advanceTimersByTimeAsync(100);
      }
    };
    await run(1_000);
    const before = calls;
    expect(before).toBeGreaterThan(0);
    negotiating = true;
    await run(3_000);
    expect(calls).toBe(before);
    negotiating = false;
    await run(1_000);
    expect(calls).toBeGreaterThan(before);
    expect(resumed).toEqual([]);
    stop();
  });
});

describe("silence polling (read seldom, miss nothing)", () => {
  /**
   * Packets every 20 ms except during [outageAt, outageAt + outageMs); polls at `pollMs` apart,
   * each late by up to `lateMs` (a busy main thread). Returns what the watcher's detector reported.
   */
  function simulate(outageAt: number, outageMs: number, lateMs = 0) {
    const { pollMs, thresholdMs } = silencePolling(1_000);
    const d = createSilenceDetector(thresholdMs);
    const reports: number[] = [];
    let late = 0;
    for (let poll = 0; poll < 10_000; poll += pollMs) {
      late = (late + 137) % (lateMs + 1); // varied, deterministic lateness
      const now = poll + late;
      // Newest packet at or before `now`, skipping the outage.
      let last = Math.floor(now / 20) * 20;
      if (last >= outageAt && last < outageAt + outageMs) last = Math.floor((outageAt - 1) / 20) * 20;
      const silent = d.observe(last, now);
      if (silent !== null) reports.push(silent);
    }
    return reports;
  }

  it("notices every silence of 1 s, whatever its phase against the polls", () => {
    for (let phase = 0; phase < 500; phase += 10) {
      expect(simulate(3_000 + phase, 1_000), `outage at +${phase} ms`).toHaveLength(1);
      expect(simulate(3_000 + phase, 1_000, 150), `outage at +${phase} ms, late timers`).toHaveLength(1);
      expect(simulate(3_000 + phase, 3_000, 150), `3 s outage at +${phase} ms`).toHaveLength(1);
    }
  });

  it("never reports flowing media, even when the timer runs late", () => {
    expect(simulate(Infinity, 0)).toEqual([]);
    expect(simulate(Infinity, 0, 200)).toEqual([]);
  });

  it("reads at half the silence it must notice", () => {
    expect(silencePolling(1_000).pollMs).toBe(500);
  });
});
