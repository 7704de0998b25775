import { describe, expect, it } from "vitest";
import { createSpeakingDetector, rmsLevel } from "./speaking";

const feed = (
  d: ReturnType<typeof createSpeakingDetector>,
  level: number,
  fromMs: number,
  toMs: number,
  stepMs = 50,
) => {
  let last = d.speaking;
  for (let t = fromMs; t <= toMs; t += stepMs) last = d.update(level, t);
  return last;
};

describe("speaking detector", () => {
  it("turns on only after ~100 ms of voice", () => {
    const d = createSpeakingDetector({ threshold: 0.1, onMs: 100, offMs: 500 });
    expect(d.update(0.5, 0)).toBe(false);
    expect(d.update(0.5, 50)).toBe(false);
    expect(d.update(0.5, 100)).toBe(true);
  });

  it("ignores a short click", () => {
    const d = createSpeakingDetector({ threshold: 0.1, onMs: 100, offMs: 500 });
    d.update(0.9, 0);
    d.update(0.0, 50);
    expect(feed(d, 0.0, 100, 1000)).toBe(false);
  });

  it("stays on through short pauses and clears after ~500 ms of silence", () => {
    const d = createSpeakingDetector({ threshold: 0.1, onMs: 100, offMs: 500 });
    expect(feed(d, 0.5, 0, 200)).toBe(true);
    expect(feed(d, 0.0, 250, 600)).toBe(true); // 350 ms pause
    expect(feed(d, 0.5, 650, 700)).toBe(true);
    expect(feed(d, 0.0, 750, 1200)).toBe(true); // 450 ms
    expect(d.update(0.0, 1250)).toBe(false); // 500 ms
  });

  it("computes RMS around the 128 midpoint", () => {
    expect(rmsLevel([128, 128, 128])).toBe(0);
    expect(rmsLevel([0, 255, 0, 255])).toBeGreaterThan(0.99);
    expect(rmsLevel([])).toBe(0);
  });
});
