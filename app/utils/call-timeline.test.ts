import { describe, expect, it } from "vitest";
import { buildLanes, describeLane, LANE_HEIGHT, layoutTimeline, tickStep, type TimelineEvent } from "./call-timeline";

const T0 = Date.parse("2026-01-05T10:00:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const ev = (
  s: number,
  kind: string,
  who: string,
  payload: Record<string, unknown> = {},
  actor?: string,
): TimelineEvent => ({
  kind,
  at: at(s),
  actorId: actor ?? who,
  targetId: who,
  payload,
});
const media = (s: number, who: string, f: Partial<Record<"audio" | "video" | "screen" | "speaking", boolean>>) =>
  ev(s, "media", who, { audio: true, video: true, screen: false, speaking: false, ...f });

describe("buildLanes", () => {
  it("turns joins, media changes and leaves into segments per person", () => {
    const lanes = buildLanes(
      [
        { userId: "a", name: "Alice" },
        { userId: "b", name: "Bob" },
      ],
      [
        ev(0, "joined", "a", { audio: true, video: true, screen: false }),
        ev(10, "joined", "b", { audio: true, video: true, screen: false }),
        media(20, "a", { audio: false }),
        media(50, "a", {}),
        media(30, "b", { screen: true }),
        media(40, "b", { screen: true, speaking: true }),
        media(45, "b", { screen: false }),
        ev(60, "left", "b", { reason: "DROPPED" }),
        ev(100, "left", "a", { reason: "LEFT" }),
      ],
      at(0),
      at(100),
    );
    const [alice, bob] = lanes;
    expect(alice!.segments.present).toEqual([{ start: 0, end: 100 }]);
    expect(alice!.segments.muted).toEqual([{ start: 20, end: 50 }]);
    expect(alice!.segments.sharing).toEqual([]);
    expect(bob!.segments.present).toEqual([{ start: 10, end: 60 }]);
    expect(bob!.segments.sharing).toEqual([{ start: 30, end: 45 }]);
    expect(bob!.segments.speaking).toEqual([{ start: 40, end: 45 }]);
    expect(bob!.markers.map((m) => m.kind)).toEqual(["join", "drop"]);
    expect(alice!.markers.map((m) => m.kind)).toEqual(["join", "leave"]);
  });

  it("does not count speaking while muted, and closes everyone at the call's end", () => {
    const [alice] = buildLanes(
      [{ userId: "a", name: "Alice" }],
      [ev(0, "joined", "a"), media(5, "a", { audio: false, speaking: true }), media(8, "a", { speaking: true })],
      at(0),
      at(20),
    );
    expect(alice!.segments.speaking).toEqual([{ start: 8, end: 20 }]);
    expect(alice!.segments.present).toEqual([{ start: 0, end: 20 }]);
  });

  it("marks hands, reconnect attempts, removals and host actions on the right lane", () => {
    const [alice, bob] = buildLanes(
      [
        { userId: "a", name: "Alice" },
        { userId: "b", name: "Bob" },
      ],
      [
        ev(0, "joined", "a"),
        ev(0, "joined", "b"),
        ev(3, "hand", "a", { raised: true }),
        ev(4, "hand", "a", { raised: false }),
        ev(6, "link", "b", { state: "reconnecting", attempt: 2 }, "a"),
        ev(7, "host.mute", "b", {}, "a"),
        ev(9, "left", "b", { reason: "KICKED" }),
      ],
      at(0),
      at(10),
    );
    expect(alice!.markers.map((m) => m.kind)).toEqual(["join", "hand"]);
    expect(bob!.markers.map((m) => [m.kind, m.label])).toEqual([
      ["join", "Joined"],
      ["reconnect", "Reconnect attempt 2"],
      ["host", "Host: mute"],
      ["removed", "Removed"],
    ]);
  });

  it("keeps rejoins as separate presence spans", () => {
    const [alice] = buildLanes(
      [{ userId: "a", name: "Alice" }],
      [
        ev(0, "joined", "a"),
        ev(10, "left", "a", { reason: "DROPPED" }),
        ev(15, "joined", "a"),
        ev(30, "left", "a", { reason: "LEFT" }),
      ],
      at(0),
      at(30),
    );
    expect(alice!.segments.present).toEqual([
      { start: 0, end: 10 },
      { start: 15, end: 30 },
    ]);
    expect(describeLane(alice!)).toBe("Alice: in the call 0:00–0:10, 0:15–0:30; dropped.");
  });
});

describe("layoutTimeline", () => {
  const people = (n: number) => Array.from({ length: n }, (_, i) => ({ userId: `u${i}`, name: `Person ${i}` }));
  const joinsAll = (n: number, end: number) =>
    people(n).flatMap((p) => [ev(0, "joined", p.userId), ev(end, "left", p.userId, { reason: "LEFT" })]);

  it("gives each of 2 and of 6 people their own non-overlapping lane inside the drawing", () => {
    for (const n of [2, 6]) {
      const layout = layoutTimeline(buildLanes(people(n), joinsAll(n, 600), at(0), at(600)), 600);
      expect(layout.lanes).toHaveLength(n);
      for (let i = 1; i < n; i++)
        expect(layout.lanes[i]!.y).toBeGreaterThanOrEqual(layout.lanes[i - 1]!.y + LANE_HEIGHT);
      const last = layout.lanes[n - 1]!;
      expect(last.y + last.height).toBeLessThanOrEqual(layout.height);
      for (const lane of layout.lanes)
        for (const r of lane.rects) {
          expect(r.y).toBeGreaterThanOrEqual(lane.y);
          expect(r.y + r.height).toBeLessThanOrEqual(lane.y + lane.height);
          expect(r.x).toBeGreaterThanOrEqual(layout.plot.x0);
          expect(r.x + r.width).toBeLessThanOrEqual(layout.plot.x1 + 0.1);
        }
    }
  });

  it("spans the whole plot for someone present the whole call", () => {
    const layout = layoutTimeline(buildLanes(people(2), joinsAll(2, 600), at(0), at(600)), 600);
    const present = layout.lanes[0]!.rects.find((r) => r.kind === "present")!;
    expect(present.x).toBe(layout.plot.x0);
    expect(present.x + present.width).toBeCloseTo(layout.plot.x1, 0);
  });

  it("keeps a 3-hour call readable: half-hour ticks, short mutes still visible, dense markers merged", () => {
    const end = 3 * 3600;
    const events: TimelineEvent[] = [ev(0, "joined", "u0")];
    // A 2-second mute every 5 minutes and a reconnect burst of 10 attempts within 20 seconds.
    for (let t = 300; t < end; t += 300) events.push(media(t, "u0", { audio: false }), media(t + 2, "u0", {}));
    for (let i = 0; i < 10; i++)
      events.push(ev(5000 + i * 2, "link", "u0", { state: "reconnecting", attempt: i + 1 }, "u1"));
    events.push(ev(end, "left", "u0", { reason: "LEFT" }));
    const layout = layoutTimeline(buildLanes(people(1), events, at(0), at(end)), end);
    expect(layout.ticks.map((t) => t.label)).toEqual(["0:00", "0:30", "1:00", "1:30", "2:00", "2:30", "3:00"]);
    const mutes = layout.lanes[0]!.rects.filter((r) => r.kind === "muted");
    expect(mutes).toHaveLength(35);
    for (const m of mutes) expect(m.width).toBeGreaterThanOrEqual(1);
    const reconnects = layout.lanes[0]!.markers.filter((m) => m.kind === "reconnect");
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]!.count).toBe(10);
  });

  it("picks at most 8 tick intervals for any length", () => {
    for (const s of [1, 40, 600, 3599, 3 * 3600, 30 * 3600]) expect(s / tickStep(s)).toBeLessThanOrEqual(8);
  });
});
