import { describe, expect, it } from "vitest";
import {
  bestFit,
  decideLayout,
  NO_SPEAKER,
  nextLayoutChoice,
  nextSpeaker,
  SPEAKER_HOLD_MS,
  type SpeakerState,
} from "./call-layout";

const ids = ["me", "bob", "carol", "dave"];
const base = { ids, speaker: null, sharer: null, pinned: null, choice: "auto" as const };

describe("decideLayout", () => {
  it("is a grid of everyone, in room order, by default", () => {
    expect(decideLayout(base)).toEqual({ layout: "grid", main: null, order: ids });
  });
  it("turns into presenter with the shared screen on the stage while someone shares, and back", () => {
    expect(decideLayout({ ...base, sharer: "carol" })).toEqual({
      layout: "presenter",
      main: "carol",
      order: ["carol", "me", "bob", "dave"],
    });
    expect(decideLayout({ ...base, sharer: null }).layout).toBe("grid");
  });
  it("the Layout menu's Grid overrides presenter", () => {
    expect(decideLayout({ ...base, sharer: "carol", choice: "grid" }).layout).toBe("grid");
  });
  it("speaker puts the active speaker on the stage, someone else than you when nobody speaks", () => {
    expect(decideLayout({ ...base, choice: "speaker", speaker: "dave" })).toMatchObject({
      layout: "speaker",
      main: "dave",
      order: ["dave", "me", "bob", "carol"],
    });
    expect(decideLayout({ ...base, choice: "speaker" }).main).toBe("bob");
  });
  it("a pinned tile takes the stage in any layout; a pin of someone who left is ignored", () => {
    for (const choice of ["auto", "grid", "speaker"] as const) {
      expect(decideLayout({ ...base, choice, pinned: "bob", speaker: "dave", sharer: "carol" }).main).toBe("bob");
    }
    expect(decideLayout({ ...base, pinned: "carol", sharer: "carol" }).layout).toBe("presenter");
    expect(decideLayout({ ...base, pinned: "gone" }).layout).toBe("grid");
  });
  it("L cycles through the choices", () => {
    expect([nextLayoutChoice("auto"), nextLayoutChoice("grid"), nextLayoutChoice("speaker")]).toEqual([
      "grid",
      "speaker",
      "auto",
    ]);
  });
});

describe("bestFit", () => {
  it("one tile fills the width of a wide stage, 16:9", () => {
    expect(bestFit(1, 1280, 720, 16 / 9, 0)).toEqual({ columns: 1, rows: 1, width: 1280, height: 720 });
  });
  it("picks the column count that makes tiles largest", () => {
    expect(bestFit(2, 1280, 660).columns).toBe(2);
    expect(bestFit(4, 1280, 660).columns).toBe(2);
    expect(bestFit(6, 1280, 660).columns).toBe(3);
    // A tall phone stage stacks them.
    expect(bestFit(4, 370, 640).columns).toBe(1);
    expect(bestFit(6, 370, 640).columns).toBe(2);
  });
  it("never overflows the box", () => {
    for (let n = 1; n <= 6; n++)
      for (const [w, h] of [
        [1280, 660],
        [1920, 940],
        [370, 600],
        [300, 200],
      ] as const) {
        const f = bestFit(n, w, h);
        expect(f.columns * f.width + (f.columns - 1) * 8).toBeLessThanOrEqual(w);
        expect(f.rows * f.height + (f.rows - 1) * 8).toBeLessThanOrEqual(h);
        expect(f.columns * f.rows).toBeGreaterThanOrEqual(n);
      }
  });
});

describe("nextSpeaker (hysteresis)", () => {
  const run = (steps: Array<[number, string[]]>, start: SpeakerState = NO_SPEAKER) =>
    steps.reduce((s, [t, who]) => nextSpeaker(s, new Set(who), t), start);

  it("the first voice takes the stage at once", () => {
    expect(run([[0, ["bob"]]]).current).toBe("bob");
  });
  it("a challenger needs 1.5 s of talk while the current speaker is silent", () => {
    expect(SPEAKER_HOLD_MS).toBe(1_500);
    const steps: Array<[number, string[]]> = [
      [0, ["bob"]],
      [1000, []],
      [1100, ["carol"]],
      [2500, ["carol"]],
    ];
    expect(run(steps).current).toBe("bob");
    expect(run([...steps, [2600, ["carol"]]]).current).toBe("carol");
  });
  it("short interjections and a pause of the challenger reset the count: no flapping", () => {
    const s = run([
      [0, ["bob"]],
      [100, ["carol"]],
      [1000, ["carol"]],
      [1100, []],
      [1200, ["carol"]],
      [2600, ["carol"]],
    ]);
    expect(s.current).toBe("bob");
  });
  it("nobody takes over while the current speaker keeps talking", () => {
    expect(
      run([
        [0, ["bob"]],
        [500, ["bob", "carol"]],
        [3000, ["bob", "carol"]],
      ]).current,
    ).toBe("bob");
  });
  it("stays the same object while nothing changes, so nothing re-renders for it", () => {
    const held = run([[0, ["bob"]]]);
    expect(nextSpeaker(held, new Set(["bob"]), 5_000)).toBe(held);
    const silent = nextSpeaker(held, new Set(), 6_000);
    expect(nextSpeaker(silent, new Set(), 60_000)).toBe(silent);
    expect(nextSpeaker(NO_SPEAKER, new Set(), 60_000)).toBe(NO_SPEAKER);
  });
});
