import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type ActorLogic, createActor, type SnapshotFrom } from "xstate";
import { type AdjacencyMap, type StatePath, getAdjacencyMap, getShortestPaths } from "xstate/graph";
import {
  type PeerEmitted,
  type PeerEvent,
  type PeerInput,
  type PeerRole,
  linkPhase,
  peerMachine,
  peerStatus,
  shouldCall,
} from "./peer.machine";
import { linkEncoding } from "./link-encoding";
import { bitrateBudget, degrade, type QualitySample } from "./quality";
import { nextRetryDelay } from "./reconnect-policy";
import { fakeCallHandle, fakeMediaCalls, fakeSignalingHandle, fakeStream, fakeTrack, participant } from "./test-utils";

const T0 = "2024-05-01T10:00:00.000Z";
const T1 = "2024-05-01T10:00:05.000Z";

function startPeer(overrides: Partial<PeerInput> = {}) {
  const fakes = fakeMediaCalls();
  const input: PeerInput = {
    remote: participant("remote", T0),
    localPeerId: "local",
    role: "caller",
    localStream: fakeStream("local-stream"),
    signaling: fakeSignalingHandle(),
    ...overrides,
  };
  const actor = createActor(peerMachine.provide({ actors: fakes.actors }), { input });
  const emitted: PeerEmitted[] = [];
  actor.on("*", (e) => emitted.push(e));
  actor.start();
  return { actor, fakes, emitted, state: () => peerStatus(actor.getSnapshot()) };
}

const linkStates = (emitted: PeerEmitted[]) =>
  emitted.flatMap((e) => (e.type === "LINK_STATE" ? [`${e.state}:${e.attempt}`] : []));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => {
  vi.useRealTimers();
});

describe("shouldCall", () => {
  const a = { peerId: "aaa", joinedAt: T0 };
  const b = { peerId: "bbb", joinedAt: T1 };

  it("lets the later joiner dial", () => {
    expect(shouldCall(b, a)).toBe(true);
    expect(shouldCall(a, b)).toBe(false);
  });

  it("breaks exact ties by peerId so exactly one side dials", () => {
    const x = { peerId: "x-1", joinedAt: T0 };
    const y = { peerId: "y-1", joinedAt: T0 };
    expect([shouldCall(x, y), shouldCall(y, x)].filter(Boolean)).toHaveLength(1);
  });

  it("compares instants, not strings", () => {
    const utc = { peerId: "a", joinedAt: "2024-05-01T10:00:00.000Z" };
    const offset = { peerId: "b", joinedAt: "2024-05-01T12:00:00.000+02:00" };
    // Same instant: tie on time, so peerId decides, consistently on both sides.
    expect(shouldCall(offset, utc)).toBe(true);
    expect(shouldCall(utc, offset)).toBe(false);
  });

  it("never dials itself", () => {
    expect(shouldCall(a, a)).toBe(false);
  });
});

describe("peer machine: happy paths", () => {
  it("caller dials, negotiates and reports connected", () => {
    const { actor, fakes, emitted, state } = startPeer();
    expect(state()).toBe("calling");
    expect(fakes.calls).toHaveLength(1);
    expect(fakes.last().kind).toBe("outgoing");
    expect(fakes.last().remotePeerId).toBe("remote");

    fakes.last().report({ type: "CALL.ICE_STATE", state: "checking" });
    expect(state()).toBe("connecting");
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(state()).toBe("connected");
    expect(linkStates(emitted)).toEqual(["connected:0"]);
    actor.stop();
  });

  it("caller waits for signaling before dialling", () => {
    const { actor, fakes, state } = startPeer({ signaling: null });
    expect(state()).toBe("idle");
    expect(fakes.calls).toHaveLength(0);
    actor.send({ type: "SIGNALING.UP", signaling: fakeSignalingHandle() });
    expect(state()).toBe("calling");
    expect(fakes.calls).toHaveLength(1);
  });

  it("callee expects the call from the start (the page holds encoder changes) until it answers it", () => {
    const { actor, fakes } = startPeer({ role: "callee" });
    expect(fakes.expecting()).toBe(1);
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    expect(fakes.expecting()).toBe(0);
    expect(fakes.last().kind).toBe("answer");
    actor.stop();
    const caller = startPeer();
    expect(caller.fakes.expecting()).toBe(0);
    caller.actor.stop();
  });

  it("callee stops expecting a call that never comes", () => {
    const { actor, fakes, state } = startPeer({ role: "callee" });
    vi.advanceTimersByTime(15_000);
    expect(state()).toBe("reconnecting");
    expect(fakes.expecting()).toBe(0);
    actor.stop();
  });

  it("callee answers the incoming call with its stream", () => {
    const { actor, fakes, state } = startPeer({ role: "callee" });
    expect(state()).toBe("answering");
    expect(fakes.calls).toHaveLength(0);
    const call = fakeCallHandle();
    actor.send({ type: "INCOMING_CALL", call });
    expect(state()).toBe("connecting");
    expect(fakes.last().kind).toBe("answer");
    expect(fakes.last().input).toMatchObject({ call, localStream: { id: "local-stream" } });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "completed" });
    expect(state()).toBe("connected");
  });

  it("answers a call that arrived before the room event (input.incomingCall)", () => {
    const call = fakeCallHandle();
    const { fakes, state } = startPeer({ role: "callee", incomingCall: call });
    expect(state()).toBe("connecting");
    expect(fakes.last().input).toMatchObject({ call });
  });

  it("keeps only the first stream per stream id (PeerJS fires `stream` per track)", () => {
    const { actor, fakes, emitted } = startPeer();
    const first = fakeStream("s1");
    fakes.last().report({ type: "CALL.STREAM", stream: first, streamId: "s1" });
    fakes.last().report({ type: "CALL.STREAM", stream: fakeStream("s1"), streamId: "s1" });
    expect(emitted.filter((e) => e.type === "STREAM_READY")).toHaveLength(1);
    expect(actor.getSnapshot().context.remoteStream).toBe(first);
  });

  it("tracks the remote's media flags", () => {
    const { actor } = startPeer();
    actor.send({ type: "REMOTE_MEDIA", flags: { audio: false, video: false, screen: true } });
    expect(actor.getSnapshot().context.remoteMedia).toEqual({ audio: false, video: false, screen: true });
  });
});

describe("peer machine: failures", () => {
  function connectedPeer(overrides: Partial<PeerInput> = {}) {
    const p = startPeer(overrides);
    p.fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(p.state()).toBe("connected");
    return p;
  }

  it("counts the other end re-dialling a link it still held as reconnecting, not a first connect", () => {
    const { actor, fakes, state } = connectedPeer();
    const phase = () => linkPhase(state(), actor.getSnapshot().context.attempt);
    expect(phase()).toBe("connected");
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle("redial") });
    expect(state()).toBe("connecting");
    expect(actor.getSnapshot().context.attempt).toBe(1);
    // What the tile and the toasts go by: never "reconnecting" in the machine, yet a reconnection.
    expect(phase()).toBe("reconnecting");
    expect(fakes.calls[0]!.stopped).toBe(true);
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(state()).toBe("connected");
    expect(actor.getSnapshot().context.attempt).toBe(0);
    expect(phase()).toBe("connected");
  });

  it("names each machine state for the person looking at the tile", () => {
    expect(["idle", "calling", "answering", "connecting"].map((s) => linkPhase(s, 0))).toEqual(
      Array(4).fill("connecting"),
    );
    expect(["idle", "calling", "answering", "connecting", "reconnecting"].map((s) => linkPhase(s, 2))).toEqual(
      Array(5).fill("reconnecting"),
    );
    expect([linkPhase("connected", 0), linkPhase("disconnected", 0)]).toEqual(["connected", "connected"]);
    expect(linkPhase("lost", 3)).toBe("lost");
    // The remote closed the call: most likely leaving, and the room will say so (see "closing").
    expect(linkPhase("closing", 0)).toBe("connected");
  });

  it("recovers from ICE disconnected within the grace period without re-dialling", () => {
    const { fakes, state, emitted } = connectedPeer();
    fakes.last().report({ type: "CALL.ICE_STATE", state: "disconnected" });
    expect(state()).toBe("disconnected");
    vi.advanceTimersByTime(4_000);
    expect(fakes.last().received).not.toContainEqual({ type: "REFRESH_VIDEO" });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(state()).toBe("connected");
    // The other side lost its picture in the outage: send it a fresh keyframe right away.
    expect(fakes.last().received.filter((c) => c.type === "REFRESH_VIDEO")).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(state()).toBe("connected");
    expect(fakes.calls).toHaveLength(1);
    expect(fakes.calls[0]!.stopped).toBe(false);
    expect(linkStates(emitted)).not.toContain("reconnecting:1");
  });

  it("sends a keyframe when the remote's packets resume after an outage ICE never reported", () => {
    const { fakes, state, emitted } = connectedPeer();
    fakes.last().report({ type: "CALL.INBOUND_RESUMED", silentMs: 2_400 });
    expect(state()).toBe("connected");
    expect(fakes.last().received.filter((c) => c.type === "REFRESH_VIDEO")).toHaveLength(1);
    expect(fakes.calls).toHaveLength(1);
    expect(linkStates(emitted)).not.toContain("reconnecting:1");
  });

  it("sends the keyframe as soon as packets resume, before ICE itself reports the link back", () => {
    const { fakes, state } = connectedPeer();
    fakes.last().report({ type: "CALL.ICE_STATE", state: "disconnected" });
    fakes.last().report({ type: "CALL.INBOUND_RESUMED", silentMs: 3_000 });
    expect(state()).toBe("disconnected");
    expect(fakes.last().received.filter((c) => c.type === "REFRESH_VIDEO")).toHaveLength(1);
  });

  it("treats a disconnect outlasting the grace period as a failure", () => {
    const { fakes, state, actor } = connectedPeer();
    fakes.last().report({ type: "CALL.ICE_STATE", state: "disconnected" });
    vi.advanceTimersByTime(5_000);
    expect(state()).toBe("reconnecting");
    expect(actor.getSnapshot().context.lastError).toEqual({ reason: "disconnect-timeout" });
    expect(fakes.calls[0]!.stopped).toBe(true);
  });

  it("re-dials three times with growing delays, gives up, and RETRY starts over", () => {
    const { actor, fakes, state, emitted } = connectedPeer();
    const redialTimes: number[] = [];
    const failedAt = Date.now();

    fakes.last().report({ type: "CALL.ICE_STATE", state: "failed" });
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(state()).toBe("reconnecting");
      expect(actor.getSnapshot().context.attempt).toBe(attempt);
      const before = fakes.calls.length;
      const delay = nextRetryDelay(attempt, Date.now() - failedAt)!;
      vi.advanceTimersByTime(delay - 1);
      expect(fakes.calls.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(state()).toBe("calling");
      expect(fakes.calls.length).toBe(before + 1);
      redialTimes.push(Date.now() - failedAt);
      // (ICE failing, not the remote closing the call: a close first waits for the room, see below.)
      fakes.last().report({ type: "CALL.ICE_STATE", state: "failed" });
    }
    expect(state()).toBe("lost");
    expect(redialTimes).toEqual([1000, 4000, 11000]);
    expect(linkStates(emitted)).toEqual([
      "connected:0",
      "reconnecting:1",
      "reconnecting:2",
      "reconnecting:3",
      "lost:4",
    ]);
    expect(fakes.live()).toHaveLength(0);

    vi.advanceTimersByTime(120_000);
    expect(state()).toBe("lost");

    actor.send({ type: "RETRY" });
    expect(state()).toBe("calling");
    expect(actor.getSnapshot().context.attempt).toBe(0);
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(state()).toBe("connected");
  });

  it("counts a dial that never connects as a failure", () => {
    const { state } = startPeer();
    vi.advanceTimersByTime(15_000);
    expect(state()).toBe("reconnecting");
  });

  it("callee waits for the re-dial and accepts it while reconnecting", () => {
    const { actor, fakes, state } = startPeer({ role: "callee" });
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "failed" });
    expect(state()).toBe("reconnecting");
    vi.advanceTimersByTime(1_000);
    expect(state()).toBe("answering");
    // The callee never dials on its own.
    expect(fakes.calls.filter((c) => c.kind === "outgoing")).toHaveLength(0);
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    expect(state()).toBe("connecting");
    expect(fakes.live()).toHaveLength(1);
  });

  it("a call from the remote after giving up starts a link with a fresh attempt budget", () => {
    const { actor, fakes, state } = startPeer({ role: "callee" });
    vi.advanceTimersByTime(10 * 60_000);
    expect(state()).toBe("lost");
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    expect(state()).toBe("connecting");
    fakes.last().report({ type: "CALL.ICE_STATE", state: "failed" });
    expect(state()).toBe("reconnecting");
    expect(actor.getSnapshot().context.attempt).toBe(1);
  });

  it("callee gives up when no re-dial ever comes", () => {
    const { state } = startPeer({ role: "callee" });
    vi.advanceTimersByTime(10 * 60_000);
    expect(state()).toBe("lost");
  });

  it("a callee's RETRY dials, since the remote may have given up too", () => {
    const { actor, fakes, state } = startPeer({ role: "callee" });
    vi.advanceTimersByTime(10 * 60_000);
    actor.send({ type: "RETRY" });
    expect(state()).toBe("calling");
    expect(fakes.last().kind).toBe("outgoing");
  });

  it("a call the remote closes waits closeConfirm for the room before it counts as a failure", () => {
    const { actor, fakes, state, emitted } = connectedPeer();
    fakes.last().report({ type: "CALL.CLOSED" });
    expect(state()).toBe("closing");
    expect(linkPhase(state(), actor.getSnapshot().context.attempt)).toBe("connected");
    expect(fakes.live()).toHaveLength(0);
    vi.advanceTimersByTime(2_999);
    expect(linkStates(emitted)).toEqual(["connected:0"]);
    vi.advanceTimersByTime(1);
    expect(state()).toBe("reconnecting");
    expect(actor.getSnapshot().context.lastError).toEqual({ reason: "call-closed" });
    expect(linkStates(emitted)).toEqual(["connected:0", "reconnecting:1"]);
  });
});

describe("peer machine: outgoing media", () => {
  it("forwards track replacement to the live call and re-uses it on re-dial", () => {
    const { actor, fakes } = startPeer();
    const screen = fakeTrack("video-screen");
    actor.send({ type: "REPLACE_VIDEO_TRACK", track: screen });
    expect(fakes.last().received).toEqual([{ type: "REPLACE_VIDEO_TRACK", track: screen }]);
    fakes.last().report({ type: "CALL.ERROR", reason: "boom" });
    expect(actor.getSnapshot().context.lastError).toEqual({ reason: "call-error", detail: "boom" });
    vi.advanceTimersByTime(1_000);
    expect(fakes.calls).toHaveLength(2);
    expect(fakes.last().input.videoTrack).toBe(screen);
  });

  it("applies a new group budget to the live call", () => {
    const { actor, fakes } = startPeer();
    actor.send({ type: "SET_BUDGET", budget: bitrateBudget(4) });
    expect(fakes.last().received).toEqual([{ type: "APPLY_BUDGET", budget: { ...bitrateBudget(4), active: true } }]);
  });

  it("fits the link to how the remote shows us: thumbnail, hidden, shown again, on the stage", () => {
    const { actor, fakes } = startPeer({ budget: bitrateBudget(3) });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    const applied = () => fakes.last().received.flatMap((c) => (c.type === "APPLY_BUDGET" ? [c.budget] : []));
    const thumb = { width: 231, height: 130, shown: true };
    actor.send({ type: "REMOTE_VIEW", view: thumb });
    expect(applied().at(-1)).toEqual(linkEncoding(bitrateBudget(3), thumb));
    expect(applied().at(-1)?.scaleResolutionDownBy).toBe(2);
    // The same size again changes nothing on the encoder.
    actor.send({ type: "REMOTE_VIEW", view: { ...thumb, width: 232 } });
    expect(applied()).toHaveLength(1);
    actor.send({ type: "REMOTE_VIEW", view: { ...thumb, shown: false } });
    expect(applied().at(-1)?.active).toBe(false);
    actor.send({ type: "REMOTE_VIEW", view: thumb });
    expect(applied().at(-1)).toEqual(linkEncoding(bitrateBudget(3), thumb));
    actor.send({ type: "REMOTE_VIEW", view: { width: 1100, height: 620, shown: true } });
    expect(applied().at(-1)).toMatchObject({ active: true, scaleResolutionDownBy: 1 });
    // A group change keeps the view: the new budget is fitted to the stage tile.
    actor.send({ type: "SET_BUDGET", budget: bitrateBudget(4) });
    expect(applied().at(-1)).toEqual(linkEncoding(bitrateBudget(4), { width: 1100, height: 620, shown: true }));
  });

  it("remembers the remote's view across a re-dial: the new call starts with it", () => {
    const { actor, fakes } = startPeer({ budget: bitrateBudget(3) });
    actor.send({ type: "REMOTE_VIEW", view: { width: 100, height: 56, shown: false } });
    fakes.last().report({ type: "CALL.ERROR", reason: "boom" });
    vi.advanceTimersByTime(1_000);
    expect(fakes.calls).toHaveLength(2);
    expect(fakes.last().input.budget.active).toBe(false);
  });

  it("steps the encoder down after sustained poor quality and restores it after recovery", () => {
    const { actor, fakes } = startPeer({ budget: bitrateBudget(2) });
    fakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    const poor: QualitySample = {
      rttMs: 900,
      jitterMs: 80,
      packetLossPct: 15,
      inboundKbps: 100,
      outboundKbps: 100,
      fps: 5,
      width: 320,
      height: 180,
    };
    const good: QualitySample = { ...poor, rttMs: 50, jitterMs: 5, packetLossPct: 0, fps: 30 };
    const budgets = () => fakes.last().received.filter((c) => c.type === "APPLY_BUDGET");

    fakes.last().report({ type: "QUALITY_SAMPLE", sample: poor });
    expect(actor.getSnapshot().context.qualityLevel).toBe("poor");
    fakes.last().report({ type: "QUALITY_SAMPLE", sample: poor });
    expect(budgets()).toHaveLength(0);
    fakes.last().report({ type: "QUALITY_SAMPLE", sample: poor });
    expect(budgets()).toEqual([{ type: "APPLY_BUDGET", budget: { ...degrade(bitrateBudget(2)), active: true } }]);

    fakes.last().report({ type: "QUALITY_SAMPLE", sample: good });
    fakes.last().report({ type: "QUALITY_SAMPLE", sample: good });
    expect(actor.getSnapshot().context.qualityLevel).toBe("poor");
    fakes.last().report({ type: "QUALITY_SAMPLE", sample: good });
    expect(actor.getSnapshot().context.qualityLevel).toBe("good");
    expect(budgets().at(-1)).toEqual({ type: "APPLY_BUDGET", budget: { ...bitrateBudget(2), active: true } });
  });
});

describe("glare: two members joining at the same instant", () => {
  it("exactly one side dials and both end up connected", () => {
    const a = participant("peer-a", T0);
    const b = participant("peer-b", T0);
    const fakesA = fakeMediaCalls();
    const fakesB = fakeMediaCalls();
    const roleOf = (self: typeof a, other: typeof a): PeerRole => (shouldCall(self, other) ? "caller" : "callee");
    const atA = createActor(peerMachine.provide({ actors: fakesA.actors }), {
      input: {
        remote: b,
        localPeerId: a.peerId,
        role: roleOf(a, b),
        localStream: null,
        signaling: fakeSignalingHandle(),
      },
    });
    const atB = createActor(peerMachine.provide({ actors: fakesB.actors }), {
      input: {
        remote: a,
        localPeerId: b.peerId,
        role: roleOf(b, a),
        localStream: null,
        signaling: fakeSignalingHandle(),
      },
    });
    atA.start();
    atB.start();

    const dials = [...fakesA.calls, ...fakesB.calls].filter((c) => c.kind === "outgoing");
    expect(dials).toHaveLength(1);
    // Deliver the single dial to the other side, as the signaling server would.
    const dialerIsA = fakesA.calls.length === 1;
    const [dialer, answerer, answererFakes] = dialerIsA ? [fakesA, atB, fakesB] : [fakesB, atA, fakesA];
    answerer.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    dialer.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    answererFakes.last().report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(peerStatus(atA.getSnapshot())).toBe("connected");
    expect(peerStatus(atB.getSnapshot())).toBe("connected");
    expect([...fakesA.calls, ...fakesB.calls]).toHaveLength(2);
  });

  it("if both dial after RETRY, the rule-designated caller keeps its call", () => {
    const { actor, fakes, state } = startPeer({ role: "caller" });
    const own = fakes.last();
    actor.send({ type: "INCOMING_CALL", call: fakeCallHandle() });
    expect(state()).toBe("calling");
    expect(own.stopped).toBe(false);
    expect(fakes.calls).toHaveLength(1);
  });
});

describe("peer machine: model-based (xstate/graph)", () => {
  type PeerSnapshot = SnapshotFrom<typeof peerMachine>;
  const MEDIA_STATES = new Set(["calling", "connecting", "connected", "disconnected"]);
  /** A state's id path below the root: the media states are children of "media". */
  const pathOf = (status: string) => (MEDIA_STATES.has(status) ? `media.${status}` : status);
  const afterEvent = (delay: string, state: string) =>
    ({ type: `xstate.after.${delay}.peer.${pathOf(state)}` }) as unknown as PeerEvent;
  const modelEvents: PeerEvent[] = [
    { type: "CALL.ICE_STATE", state: "checking" },
    { type: "CALL.ICE_STATE", state: "connected" },
    { type: "CALL.ICE_STATE", state: "disconnected" },
    { type: "CALL.ICE_STATE", state: "failed" },
    { type: "CALL.CLOSED" },
    { type: "INCOMING_CALL", call: fakeCallHandle("model") },
    { type: "RETRY" },
    afterEvent("retryDelay", "reconnecting"),
    afterEvent("closeConfirm", "closing"),
    afterEvent("disconnectGrace", "disconnected"),
    afterEvent("dialTimeout", "calling"),
    afterEvent("connectTimeout", "connecting"),
    afterEvent("answerTimeout", "answering"),
  ];
  const delayMs: Record<string, (s: PeerSnapshot) => number> = {
    retryDelay: (s) => nextRetryDelay(s.context.attempt, Date.now() - (s.context.failedSince ?? Date.now()))!,
    disconnectGrace: () => 5_000,
    closeConfirm: () => 3_000,
    dialTimeout: () => 15_000,
    connectTimeout: () => 15_000,
    answerTimeout: () => 15_000,
  };

  for (const role of ["caller", "callee"] as const) {
    it(`replays every ${role} transition (shortest path to its source, then the edge) on a live actor`, () => {
      const input: PeerInput = {
        remote: participant("remote", T0),
        localPeerId: "local",
        role,
        localStream: null,
        signaling: fakeSignalingHandle(),
      };
      const serialize = (s: PeerSnapshot) =>
        JSON.stringify([s.value, s.context.attempt, s.context.dialOnRetry, s.status]);
      const options = {
        input,
        events: modelEvents,
        // Fails fast (instead of exhausting memory) if some counter stops being bounded.
        limit: 5_000,
        // A finished actor accepts no events (the machine has no final state now, but stay safe).
        stopWhen: (s: PeerSnapshot) => s.status === "done",
        // Timers only fire in the state that armed them, and only a live call can report CALL.*.
        filterEvents: (s: PeerSnapshot, e: PeerEvent) =>
          e.type.startsWith("xstate.after.")
            ? e.type.endsWith(`.peer.${pathOf(peerStatus(s))}`)
            : !e.type.startsWith("CALL.") || MEDIA_STATES.has(peerStatus(s)),
        serializeState: serialize,
      };
      const shortest = new Map<string, StatePath<PeerSnapshot, PeerEvent>>(
        getShortestPaths(peerMachine, options).map((p) => [serialize(p.state), p]),
      );
      const reached = new Set([...shortest.values()].map((p) => JSON.stringify(peerStatus(p.state))));
      expect(reached).toEqual(
        new Set(
          [
            role === "caller" ? "calling" : "answering",
            "connecting",
            "connected",
            "disconnected",
            "reconnecting",
            "lost",
            "closing",
            ...(role === "callee" ? ["calling"] : []),
          ].map((v) => JSON.stringify(v)),
        ),
      );

      // getAdjacencyMap's signature predates typed `emitted`; the logic is the same object.
      const peerLogic = peerMachine as unknown as ActorLogic<PeerSnapshot, PeerEvent, PeerInput>;
      let edges = 0;
      const adjacency: AdjacencyMap<PeerSnapshot, PeerEvent> = getAdjacencyMap(peerLogic, options);
      for (const [key, { transitions }] of Object.entries(adjacency)) {
        const base = shortest.get(key);
        expect(base).toBeDefined();
        for (const edge of Object.values(transitions) as { event: PeerEvent; state: PeerSnapshot }[]) {
          edges += 1;
          const steps = [...base!.steps.slice(1), edge];
          const { actor, fakes } = startPeer(input);
          for (const step of steps) {
            const event = step.event;
            const before = actor.getSnapshot();
            if (event.type.startsWith("xstate.after.")) {
              const name = event.type.split(".")[2]!;
              vi.advanceTimersByTime(delayMs[name]!(before));
            } else if (event.type.startsWith("CALL.")) {
              fakes.live()[0]!.report(event as Parameters<(typeof fakes.calls)[number]["report"]>[0]);
            } else {
              actor.send(event);
            }
            const now = actor.getSnapshot();
            expect(now.value).toEqual(step.state.value);
            expect(now.context.attempt).toBe(step.state.context.attempt);
            // Exactly one call actor while a call is in progress, none otherwise.
            expect(fakes.live().length).toBe(MEDIA_STATES.has(peerStatus(now)) ? 1 : 0);
          }
          actor.stop();
          expect(fakes.live()).toHaveLength(0);
        }
      }
      expect(edges).toBeGreaterThan(50);
    });
  }
});
