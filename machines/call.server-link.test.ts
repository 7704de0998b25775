/**
 * What the call machine does when its link to the server fails: the room feed, the heartbeat and
 * publishing media flags are retried on the retry schedule, then shown (`serverTrouble`).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  JoinedCall,
  LocalMedia,
  PublishMediaInput,
  RequestMediaInput,
  RoomFeedEvent,
  SessionRef,
  SignalingCommand,
  SignalingInput,
} from "./call.contracts";
import type { HeartbeatEvent } from "./call.setup";
import { callMachine, serverTrouble } from "./call.machine";
import { fakeMediaCalls, fakeSignalingHandle, fakeStream, fakeTrack, participant } from "./test-utils";
import { peerMachine } from "./peer.machine";

const T0 = "2024-05-01T10:00:00.000Z";

function inCall() {
  const feeds: Array<(e: RoomFeedEvent) => void> = [];
  let heartbeat: ((e: HeartbeatEvent) => void) | null = null;
  const published: PublishMediaInput[] = [];
  const heartbeatCommands: EventObject[] = [];
  let publishFails = false;
  const joined: JoinedCall = {
    sessionId: "session-1",
    peerId: "me-peer",
    iceServers: [],
    participant: participant("me-peer", T0, { audio: true, video: true }),
  };
  const machine = callMachine.provide({
    actors: {
      requestMedia: fromPromise<LocalMedia, RequestMediaInput>(async () => ({
        stream: fakeStream("s"),
        audioTrack: fakeTrack("audio-mic"),
        videoTrack: fakeTrack("video-cam"),
      })),
      joinCall: fromPromise(async () => joined),
      signaling: fromCallback<SignalingCommand, SignalingInput>(({ sendBack }) => {
        sendBack({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
      }),
      roomEvents: fromCallback<EventObject, SessionRef>(({ sendBack }) => {
        feeds.push(sendBack);
      }),
      heartbeat: fromCallback<EventObject, SessionRef>(({ sendBack, receive }) => {
        heartbeat = sendBack;
        receive((c) => heartbeatCommands.push(c));
      }),
      publishMedia: fromPromise<void, PublishMediaInput>(async ({ input }) => {
        published.push(input);
        if (publishFails) throw new Error("Failed to fetch");
      }),
      peer: peerMachine.provide({ actors: fakeMediaCalls().actors }),
    },
  });
  const actor = createActor(machine, {
    input: { studyId: "study-1", sessionId: null, self: { userId: "me", name: "Me" } },
  });
  actor.start();
  return {
    actor,
    feeds,
    published,
    heartbeatCommands,
    failPublishing: (fails: boolean) => (publishFails = fails),
    feedFails: () => feeds.at(-1)!({ type: "ROOM.FEED_FAILED", reason: "refused" }),
    heartbeat: (e: HeartbeatEvent) => heartbeat!(e),
    trouble: () => serverTrouble(actor.getSnapshot()),
  };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function joinedCall() {
  const h = inCall();
  await flush();
  h.actor.send({ type: "JOIN" });
  await flush();
  expect(h.actor.getSnapshot().matches("inCall")).toBe(true);
  return h;
}

describe("room feed failures", () => {
  it("re-subscribes after 1 s, 3 s and 7 s, then shows it until the user retries", async () => {
    const h = await joinedCall();
    expect(h.feeds).toHaveLength(1);
    for (const gap of [1_000, 3_000, 7_000]) {
      h.feedFails();
      expect(h.trouble()).toBeNull();
      await vi.advanceTimersByTimeAsync(gap - 1);
      const before = h.feeds.length;
      await vi.advanceTimersByTimeAsync(1);
      expect(h.feeds).toHaveLength(before + 1);
    }
    h.feedFails();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.feeds).toHaveLength(4);
    expect(h.trouble()).toBe("room-feed");
    expect(h.actor.getSnapshot().matches("inCall")).toBe(true);
    h.actor.send({ type: "RETRY_SERVER" });
    expect(h.feeds).toHaveLength(5);
    expect(h.trouble()).toBeNull();
  });

  it("a feed that comes back (a snapshot arrives) earns a fresh set of retries", async () => {
    const h = await joinedCall();
    h.feedFails();
    await vi.advanceTimersByTimeAsync(1_000);
    h.feedFails();
    await vi.advanceTimersByTimeAsync(3_000);
    h.feeds.at(-1)!({ type: "ROOM.SNAPSHOT", participants: [] });
    expect(h.actor.getSnapshot().context.feedAttempt).toBe(0);
    h.feedFails();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.actor.getSnapshot().matches({ inCall: { room: "live" } })).toBe(true);
  });
});

describe("heartbeat failures", () => {
  it("shows that the server may drop us, until a beat gets through", async () => {
    const h = await joinedCall();
    h.heartbeat({ type: "HEARTBEAT.FAILED", reason: "Failed to fetch" });
    expect(h.trouble()).toBe("heartbeat");
    h.heartbeat({ type: "HEARTBEAT.OK" });
    expect(h.trouble()).toBeNull();
  });
});

describe("publishing failures", () => {
  it("retries the latest flags on the retry schedule, then shows it; the next change tries again", async () => {
    const h = await joinedCall();
    await flush();
    const start = h.published.length;
    h.failPublishing(true);
    h.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(h.published.length).toBe(start + 1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.published.length).toBe(start + 2);
    expect(h.trouble()).toBeNull();
    await vi.advanceTimersByTimeAsync(3_000 + 7_000);
    expect(h.published.length).toBe(start + 4);
    expect(h.published.at(-1)).toMatchObject({ audio: false, video: true });
    expect(h.trouble()).toBe("publish");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.published.length).toBe(start + 4);

    h.failPublishing(false);
    h.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(h.published.at(-1)).toMatchObject({ audio: true, video: true });
    expect(h.trouble()).toBeNull();
  });
});

describe("Try again", () => {
  it("asks the heartbeat actor to beat at once", async () => {
    const h = await joinedCall();
    h.heartbeat({ type: "HEARTBEAT.FAILED", reason: "Failed to fetch" });
    h.actor.send({ type: "RETRY_SERVER" });
    expect(h.heartbeatCommands).toEqual([{ type: "BEAT_NOW" }]);
  });
});
