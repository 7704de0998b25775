import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  JoinedCall,
  PublishMediaInput,
  RoomFeedEvent,
  SessionRef,
  SetHandInput,
  SignalingCommand,
  SignalingInput,
} from "./call.contracts";
import { callMachine } from "./call.machine";
import { fakeSignalingHandle, participant } from "./test-utils";

const T1 = "2024-05-01T10:01:00.000Z";
const RAISED_AT = "2024-05-01T10:02:00.000Z";

/** A call joined without devices (listen-only), with a fake setHand that records its requests. */
async function inCall(opts: { failSetHand?: boolean } = {}) {
  const setHands: SetHandInput[] = [];
  let sendRoom: ((e: RoomFeedEvent) => void) | null = null;
  const join: JoinedCall = {
    sessionId: "session-1",
    peerId: "me-peer",
    iceServers: [],
    participant: participant("me-peer", T1, { userId: "me", name: "Me" }),
  };
  const actor = createActor(
    callMachine.provide({
      actors: {
        joinCall: fromPromise(async () => join),
        publishMedia: fromPromise<void, PublishMediaInput>(async () => {}),
        setHand: fromPromise<{ handRaisedAt: string | null }, SetHandInput>(async ({ input }) => {
          setHands.push(input);
          if (opts.failSetHand) throw new Error("refused");
          return { handRaisedAt: input.raised ? RAISED_AT : null };
        }),
        signaling: fromCallback<SignalingCommand, SignalingInput>(({ sendBack }) => {
          sendBack({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
        }),
        roomEvents: fromCallback<EventObject, SessionRef>(({ sendBack }) => {
          sendRoom = sendBack;
        }),
      },
    }),
    {
      input: { studyId: "study-1", sessionId: "session-1", self: { userId: "me", name: "Me" }, autoStartMedia: false },
    },
  );
  actor.start();
  actor.send({ type: "JOIN" });
  await vi.advanceTimersByTimeAsync(0);
  expect(actor.getSnapshot().matches("inCall")).toBe(true);
  const hand = () => actor.getSnapshot().value;
  return { actor, setHands, room: (e: RoomFeedEvent) => sendRoom?.(e), hand };
}

const handState = (a: Awaited<ReturnType<typeof inCall>>) =>
  (a.actor.getSnapshot().value as { inCall: { hand: unknown } }).inCall.hand;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

describe("raise hand", () => {
  it("raises through setHand and keeps the server's timestamp; lowering tells the server too", async () => {
    const c = await inCall();
    c.actor.send({ type: "TOGGLE_HAND" });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.setHands).toEqual([{ sessionId: "session-1", raised: true }]);
    expect(c.actor.getSnapshot().context.handRaisedAt).toBe(RAISED_AT);
    expect(handState(c)).toEqual({ raised: "quiet" });
    c.actor.send({ type: "TOGGLE_HAND" });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.setHands.at(-1)).toEqual({ sessionId: "session-1", raised: false });
    expect(c.actor.getSnapshot().context.handRaisedAt).toBeNull();
    expect(handState(c)).toEqual({ down: "idle" });
  });

  it("a raise the server refused puts the hand back down", async () => {
    const c = await inCall({ failSetHand: true });
    c.actor.send({ type: "TOGGLE_HAND" });
    await vi.advanceTimersByTimeAsync(0);
    expect(handState(c)).toEqual({ down: "idle" });
  });

  it("talking ~3 s with the hand up asks to lower it, and lowers it unless kept", async () => {
    const c = await inCall();
    c.actor.send({ type: "TOGGLE_HAND" });
    await vi.advanceTimersByTimeAsync(0);
    c.actor.send({ type: "SELF.SPEAKING", speaking: true });
    await vi.advanceTimersByTimeAsync(2_900);
    expect(handState(c)).toEqual({ raised: "talking" });
    await vi.advanceTimersByTimeAsync(200);
    expect(handState(c)).toEqual({ raised: "asking" });
    await vi.advanceTimersByTimeAsync(6_000);
    expect(handState(c)).toEqual({ down: "idle" });
    expect(c.setHands.at(-1)).toEqual({ sessionId: "session-1", raised: false });
  });

  it("short bursts of talk never ask; Keep it raised stops the asking", async () => {
    const c = await inCall();
    c.actor.send({ type: "TOGGLE_HAND" });
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 5; i++) {
      c.actor.send({ type: "SELF.SPEAKING", speaking: true });
      await vi.advanceTimersByTimeAsync(2_000);
      c.actor.send({ type: "SELF.SPEAKING", speaking: false });
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(handState(c)).toEqual({ raised: "quiet" });
    c.actor.send({ type: "SELF.SPEAKING", speaking: true });
    await vi.advanceTimersByTimeAsync(3_000);
    c.actor.send({ type: "KEEP_HAND" });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(handState(c)).toEqual({ raised: "kept" });
    expect(c.setHands).toHaveLength(1);
  });

  it("takes other people's hands from the room's hand-changed events", async () => {
    const c = await inCall();
    c.room({ type: "ROOM.SNAPSHOT", participants: [participant("bob-peer", T1, { userId: "bob", name: "Bob" })] });
    await vi.advanceTimersByTimeAsync(0);
    c.room({
      type: "ROOM.EVENT",
      event: {
        type: "hand-changed",
        sessionId: "session-1",
        userId: "bob",
        peerId: "bob-peer",
        handRaisedAt: RAISED_AT,
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.actor.getSnapshot().context.participants["bob-peer"]?.handRaisedAt).toBe(RAISED_AT);
  });
});
