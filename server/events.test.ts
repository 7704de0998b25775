import { describe, expect, it } from "vitest";
import { RoomEventBus } from "./events.js";

describe("RoomEventBus", () => {
  it("keeps typing notices out of the resume ring, so a burst of them can't force a re-snapshot", () => {
    const bus = new RoomEventBus(10);
    const seen: string[] = [];
    bus.subscribe("st", (e) => seen.push(e.event.type));
    const from = bus.cursor();
    bus.publish("st", { type: "session-ended", sessionId: "s", endedAt: "2026-01-01T00:00:00.000Z" });
    for (let i = 0; i < 50; i++)
      bus.publish("st", { type: "chat-typing", sessionId: "s", userId: "u", name: "Bob" }, { replay: false });
    // Live subscribers got everything; a resume replays only what still matters.
    expect(seen).toHaveLength(51);
    expect(bus.since("st", from)?.map((e) => e.event.type)).toEqual(["session-ended"]);
  });
});
