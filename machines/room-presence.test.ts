import { describe, expect, it } from "vitest";
import { applyRoomEvent, describePresence, EMPTY_PRESENCE, type RoomPresence } from "./room-presence";
import type { RoomParticipant, RoomSession } from "./room-protocol";

const person = (name: string, peerId: string): RoomParticipant => ({
  userId: `u-${name}`,
  name,
  avatarUrl: null,
  peerId,
  joinedAt: "2026-01-01T00:00:00.000Z",
  audio: true,
  video: true,
  screen: false,
});
const session = (participants: RoomParticipant[]): RoomSession => ({
  id: "s1",
  roomId: "r1",
  startedAt: "2026-01-01T00:00:00.000Z",
  startedBy: "u-Alice",
  participants,
  onlineCount: participants.length,
});

describe("room presence", () => {
  it("follows a call from start to end", () => {
    let p: RoomPresence = EMPTY_PRESENCE;
    p = applyRoomEvent(p, { type: "session-started", session: session([person("Alice", "pa")]) });
    expect(describePresence(p.session)).toBe("1 in call: Alice");
    p = applyRoomEvent(p, { type: "user-joined", sessionId: "s1", participant: person("Bob", "pb") });
    expect(describePresence(p.session)).toBe("2 in call: Alice, Bob");
    p = applyRoomEvent(p, {
      type: "media-changed",
      sessionId: "s1",
      userId: "u-Bob",
      peerId: "pb",
      audio: false,
      video: true,
      screen: false,
    });
    expect(p.session?.participants.find((x) => x.name === "Bob")?.audio).toBe(false);
    p = applyRoomEvent(p, { type: "user-left", sessionId: "s1", userId: "u-Alice", peerId: "pa", reason: "LEFT" });
    expect(describePresence(p.session)).toBe("1 in call: Bob");
    p = applyRoomEvent(p, { type: "session-ended", sessionId: "s1", endedAt: "2026-01-01T01:00:00.000Z" });
    expect(p.session).toBeNull();
    expect(describePresence(p.session)).toBe("No one is in the call");
  });

  it("replaces a reloaded member's old participation instead of listing them twice", () => {
    let p = applyRoomEvent(EMPTY_PRESENCE, { type: "snapshot", session: session([person("Alice", "pa1")]) });
    p = applyRoomEvent(p, { type: "user-joined", sessionId: "s1", participant: person("Alice", "pa2") });
    expect(p.session?.participants.map((x) => x.peerId)).toEqual(["pa2"]);
    // the late user-left for the old participation must not remove the new one
    p = applyRoomEvent(p, { type: "user-left", sessionId: "s1", userId: "u-Alice", peerId: "pa1", reason: "LEFT" });
    expect(p.session?.participants.map((x) => x.peerId)).toEqual(["pa2"]);
  });

  it("ignores events of another session", () => {
    const p = applyRoomEvent(EMPTY_PRESENCE, { type: "snapshot", session: session([person("Alice", "pa")]) });
    const q = applyRoomEvent(p, { type: "user-joined", sessionId: "other", participant: person("Eve", "pe") });
    expect(q).toBe(p);
  });
});
