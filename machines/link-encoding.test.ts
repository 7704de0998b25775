import { describe, expect, it } from "vitest";
import { MIN_SHOWN_FRACTION, linkEncoding, reportedView, sameEncoding, viewChanged } from "./link-encoding";
import { bitrateBudget, degrade } from "./quality";

const shown = (width: number, height: number) => ({ width, height, shown: true });
/** The picture height the receiver gets from a 640×360 camera. */
const sentHeight = (scale: number) => Math.round(360 / scale);

describe("linkEncoding: what one link sends for how its receiver shows us", () => {
  it("keeps today's group budget until the receiver has said how it shows us", () => {
    expect(linkEncoding(bitrateBudget(3), null)).toEqual({ ...bitrateBudget(3), active: true });
  });

  it("sends a filmstrip thumbnail far smaller than 640×360, at 15 fps", () => {
    const thumb = linkEncoding(bitrateBudget(3), shown(231, 130));
    expect(sentHeight(thumb.scaleResolutionDownBy)).toBe(180);
    expect(thumb.maxBitrate).toBeLessThanOrEqual(200_000);
    expect(thumb.maxFramerate).toBe(15);
    const tiny = linkEncoding(bitrateBudget(3), shown(107, 60));
    expect(sentHeight(tiny.scaleResolutionDownBy)).toBe(90);
    expect(tiny.maxBitrate).toBeLessThan(thumb.maxBitrate);
  });

  it("sends the stage the full camera picture, within the link's share of the uplink", () => {
    for (const links of [1, 2, 3, 4, 5]) {
      const stage = linkEncoding(bitrateBudget(links), shown(1100, 620));
      expect(stage.active).toBe(true);
      expect(stage.scaleResolutionDownBy).toBe(1);
      expect(stage.maxBitrate).toBe(bitrateBudget(links).maxBitrate);
      expect(stage.maxFramerate).toBe(bitrateBudget(links).maxFramerate);
    }
  });

  it("sends a larger picture the larger the tile, never more bits than the budget", () => {
    const heights = [40, 90, 130, 180, 250, 300, 700];
    const encodings = heights.map((h) => linkEncoding(bitrateBudget(3), shown((h * 16) / 9, h)));
    for (let i = 1; i < encodings.length; i++) {
      expect(encodings[i]!.scaleResolutionDownBy).toBeLessThanOrEqual(encodings[i - 1]!.scaleResolutionDownBy);
      expect(encodings[i]!.maxBitrate).toBeGreaterThanOrEqual(encodings[i - 1]!.maxBitrate);
    }
    for (const [i, e] of encodings.entries()) {
      // Never upscaled on the receiver's screen: the picture is at least as tall as the tile (up to the camera).
      expect(sentHeight(e.scaleResolutionDownBy)).toBeGreaterThanOrEqual(Math.min(heights[i]!, 360));
      expect(e.maxBitrate).toBeLessThanOrEqual(bitrateBudget(3).maxBitrate);
    }
  });

  it("pauses a hidden tile's link and keeps the rest, so showing it only flips `active`", () => {
    const hidden = linkEncoding(bitrateBudget(3), { width: 600, height: 338, shown: false });
    expect(hidden).toEqual({ ...bitrateBudget(3), active: false });
    expect(linkEncoding(bitrateBudget(3), shown(0, 0)).active).toBe(false);
  });

  it("keeps a link degraded for poor quality coarse even on the stage", () => {
    const budget = degrade(bitrateBudget(3));
    const stage = linkEncoding(budget, shown(1100, 620), true);
    expect(stage.scaleResolutionDownBy).toBe(budget.scaleResolutionDownBy);
    expect(stage.maxBitrate).toBe(budget.maxBitrate);
  });

  it("speaker layout, 4 people: a member everyone shows in the strip sends ≤ 60 % of the grid's caps", () => {
    const grid = 3 * linkEncoding(bitrateBudget(3), shown(520, 292)).maxBitrate;
    const strip = 3 * linkEncoding(bitrateBudget(3), shown(231, 130)).maxBitrate;
    expect(strip / grid).toBeLessThanOrEqual(0.6);
  });

  it("compares encodings field by field", () => {
    const a = linkEncoding(bitrateBudget(3), shown(231, 130));
    expect(sameEncoding(a, { ...a })).toBe(true);
    expect(sameEncoding(a, { ...a, active: false })).toBe(false);
    expect(sameEncoding(a, { ...a, maxFramerate: 30 })).toBe(false);
  });
});

describe("viewChanged: which new measurements are worth telling the sender", () => {
  it("always tells the first view and every shown/hidden flip", () => {
    expect(viewChanged(null, shown(100, 56))).toBe(true);
    expect(viewChanged(shown(100, 56), { ...shown(100, 56), shown: false })).toBe(true);
    expect(viewChanged({ ...shown(100, 56), shown: false }, shown(100, 56))).toBe(true);
  });

  it("ignores small resizes and resizes while hidden", () => {
    expect(viewChanged(shown(400, 225), shown(420, 236))).toBe(false);
    expect(viewChanged(shown(400, 225), shown(600, 338))).toBe(true);
    expect(viewChanged({ ...shown(400, 225), shown: false }, { ...shown(800, 450), shown: false })).toBe(false);
  });
});

describe("reportedView", () => {
  it("is hidden while the page is in the background or the tile is covered", () => {
    expect(reportedView({ width: 400, height: 225, shownFraction: 1 }, true)).toEqual(shown(400, 225));
    expect(reportedView({ width: 400, height: 225, shownFraction: 1 }, false).shown).toBe(false);
    expect(reportedView({ width: 400, height: 225, shownFraction: MIN_SHOWN_FRACTION / 2 }, true).shown).toBe(false);
    expect(reportedView({ width: 400, height: 225, shownFraction: 0.5 }, true).shown).toBe(true);
    expect(reportedView({ width: 0, height: 0, shownFraction: 1 }, true).shown).toBe(false);
  });
});
