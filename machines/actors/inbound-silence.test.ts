import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  createInboundSilenceWatcher,
  createSilenceDetector,
  latestPacketTime,
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

  it("treats no packets at all (nothing received yet, or aged out) as unknown, not as traffic", () => {
    const d = createSilenceDetector(1_000);
    expect(d.observe(null, 0)).toBeNull();
    d.observe(100, 100);
    expect(d.observe(null, 5_000)).toBeNull();
    expect(d.observe(12_000, 12_000)).toBe(11_900);
  });
});

describe("latestPacketTime", () => {
  it("takes the newest source over every receiver", () => {
    const receivers = [
      { getSynchronizationSources: () => [{ timestamp: 10 }, { timestamp: 40 }] },
      { getSynchronizationSources: () => [] },
      { getSynchronizationSources: () => [{ timestamp: 25 }] },
    ];
    expect(latestPacketTime(receivers)).toBe(40);
    expect(latestPacketTime([])).toBeNull();
  });
});

describe("inbound silence watcher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A fake connection whose packets flow while `flowing` is set. */
  function connection() {
    const c = { last: 0, flowing: true };
    const pc = { getReceivers: () => [{ getSynchronizationSources: () => [{ timestamp: c.last }] }] };
    return { c, pc };
  }

  it("watches every call on one timer, reports each resumption once, and stops its timer when unwatched", () => {
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
    const tick = (ms: number) => {
      for (let i = 0; i < ms / 100; i++) {
        for (const x of [a, b]) if (x.c.flowing) x.c.last += 100;
        vi.advanceTimersByTime(100);
      }
    };
    tick(2_000);
    a.c.flowing = false; // only a's link goes down
    tick(3_000);
    expect(resumed).toEqual([]);
    a.c.flowing = true;
    tick(1_000);
    expect(resumed).toHaveLength(1);
    expect(resumed[0]![0]).toBe("a");
    expect(resumed[0]![1]).toBeGreaterThanOrEqual(3_000);

    stopA();
    stopB();
    expect(vi.getTimerCount()).toBe(0);
    a.c.flowing = false;
    tick(3_000);
    a.c.flowing = true;
    tick(1_000);
    expect(resumed).toHaveLength(1);
    setIntervalSpy.mockRestore();
  });
});

describe("inbound silence watcher reads", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("only the audio receivers (a synchronous read that waits for WebRTC's thread)", () => {
    const reads = { audio: 0, video: 0 };
    const receiver = (kind: "audio" | "video") => ({
      track: { kind },
      getSynchronizationSources: () => {
        reads[kind]++;
        return [{ timestamp: 1 }];
      },
    });
    const pc = { getReceivers: () => [receiver("audio"), receiver("video")] };
    const stop = createInboundSilenceWatcher({ silenceMs: 1_000 }).watch(
      () => pc,
      () => {},
    );
    vi.advanceTimersByTime(1_000);
    stop();
    // Twice a second (half the silence to notice), not five times as before issue #16 §3.
    expect(reads).toEqual({ audio: 2, video: 0 });
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
