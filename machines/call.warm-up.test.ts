/**
 * The call machine and its pre-join warm-up: the click joins with the grant of the socket on
 * offer, and the signaling actor adopts that socket when the join took it over; otherwise the
 * join is cold, as without a warm-up, and the warm socket is let go.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  JoinCallInput,
  JoinedCall,
  LocalMedia,
  PublishMediaInput,
  RequestMediaInput,
  SessionRef,
  SignalingCommand,
  SignalingInput,
  WarmUpCommand,
  WarmUpEvent,
  WarmUpInput,
} from "./call.contracts";
import { callMachine } from "./call.machine";
import { JoinError } from "./errors";
import { toSignalingHandle } from "./handles";
import { peerMachine } from "./peer.machine";
import { controllablePromise, fakeMediaCalls, fakeStream, fakeTrack, participant } from "./test-utils";

const T0 = "2024-05-01T10:00:00.000Z";
const warmHandle = toSignalingHandle({ warm: "socket" });

function setup() {
  const joinCall = controllablePromise<JoinCallInput, JoinedCall>();
  const commands: WarmUpCommand[] = [];
  const signalingInputs: SignalingInput[] = [];
  let warm: ((e: WarmUpEvent) => void) | null = null;
  const machine = callMachine.provide({
    actors: {
      requestMedia: fromPromise<LocalMedia, RequestMediaInput>(async () => ({
        stream: fakeStream("s"),
        audioTrack: fakeTrack("audio-mic"),
        videoTrack: fakeTrack("video-cam"),
      })),
      warmUp: fromCallback<WarmUpCommand, WarmUpInput>(({ sendBack, receive }) => {
        warm = sendBack;
        receive((c) => commands.push(c));
      }),
      joinCall: joinCall.logic,
      signaling: fromCallback<SignalingCommand, SignalingInput>(({ input }) => {
        signalingInputs.push(input);
      }),
      roomEvents: fromCallback<EventObject, SessionRef>(() => undefined),
      heartbeat: fromCallback<EventObject, SessionRef>(() => undefined),
      publishMedia: fromPromise<void, PublishMediaInput>(async () => {}),
      peer: peerMachine.provide({ actors: fakeMediaCalls().actors }),
    },
  });
  const actor = createActor(machine, {
    input: { studyId: "study-1", sessionId: "session-1", self: { userId: "me", name: "Me" } },
  });
  actor.start();
  const joined = (warmJoin: boolean): JoinedCall => ({
    sessionId: "session-1",
    peerId: "pjoined",
    warm: warmJoin,
    iceServers: [],
    participant: participant("pjoined", T0),
  });
  return { actor, joinCall, commands, signalingInputs, warmUp: (e: WarmUpEvent) => warm!(e), joined };
}

const flush = () => vi.advanceTimersByTimeAsync(0);
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("pre-join warm-up", () => {
  it("the click joins with the warm grant, and the signaling actor adopts the warm socket", async () => {
    const t = setup();
    await flush();
    t.warmUp({ type: "WARM.READY", warm: { grant: "g-old", handle: toSignalingHandle({}) } });
    t.warmUp({ type: "WARM.READY", warm: { grant: "g-new", handle: warmHandle } }); // renewed
    t.actor.send({ type: "JOIN" });
    expect(t.commands).toEqual([{ type: "WARM.HOLD" }]);
    expect(t.joinCall.pending[0]!.input).toEqual({ studyId: "study-1", sessionId: "session-1", grant: "g-new" });
    t.joinCall.pending[0]!.resolve(t.joined(true));
    await flush();
    expect(t.actor.getSnapshot().matches("inCall")).toBe(true);
    expect(t.commands).toEqual([{ type: "WARM.HOLD" }, { type: "WARM.HAND_OVER" }]);
    expect(t.signalingInputs).toEqual([
      { peerId: "pjoined", iceServers: [], iceTransportPolicy: "all", warm: warmHandle },
    ]);
    t.actor.stop();
  });

  it("a join the server answered cold opens its own socket and lets the warm one go", async () => {
    const t = setup();
    await flush();
    t.warmUp({ type: "WARM.READY", warm: { grant: "g1", handle: warmHandle } });
    t.actor.send({ type: "JOIN" });
    t.joinCall.pending[0]!.resolve(t.joined(false));
    await flush();
    expect(t.commands).toEqual([{ type: "WARM.HOLD" }, { type: "WARM.STOP" }]);
    expect(t.signalingInputs[0]!.warm).toBeNull();
    expect(t.actor.getSnapshot().context.warm).toBeNull();
    t.actor.stop();
  });

  it("without a warm socket (not open yet, or lost) the click joins as before", async () => {
    const t = setup();
    await flush();
    t.warmUp({ type: "WARM.READY", warm: { grant: "g1", handle: warmHandle } });
    t.warmUp({ type: "WARM.LOST" });
    t.actor.send({ type: "JOIN" });
    expect(t.joinCall.pending[0]!.input.grant).toBeUndefined();
    t.joinCall.pending[0]!.resolve(t.joined(false));
    await flush();
    expect(t.signalingInputs[0]!.warm).toBeNull();
    t.actor.stop();
  });

  it("a failed join lets the warm socket go; Retry joins cold", async () => {
    const t = setup();
    await flush();
    t.warmUp({ type: "WARM.READY", warm: { grant: "g1", handle: warmHandle } });
    t.actor.send({ type: "JOIN" });
    t.joinCall.pending[0]!.reject(new JoinError("full"));
    await flush();
    expect(t.actor.getSnapshot().matches("joinFailed")).toBe(true);
    expect(t.commands.at(-1)).toEqual({ type: "WARM.STOP" });
    t.actor.send({ type: "RETRY" });
    expect(t.joinCall.pending[1]!.input.grant).toBeUndefined();
    t.actor.stop();
  });
});
