import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  JoinCallInput,
  JoinedCall,
  LocalMedia,
  LocalTracksCommand,
  PublishMediaInput,
  ReportViewsInput,
  RequestMediaInput,
  RoomFeedEvent,
  SessionRef,
  SignalingCommand,
  SignalingEvent,
  SignalingInput,
} from "./call.contracts";
import { callMachine } from "./call.machine";
import { linkEncoding } from "./link-encoding";
import { peerMachine } from "./peer.machine";
import { bitrateBudget } from "./quality";
import {
  controllablePromise,
  fakeMediaCalls,
  fakeSignalingHandle,
  fakeStream,
  fakeTrack,
  participant,
} from "./test-utils";

const SESSION = "session-1";
const T0 = "2024-05-01T10:00:00.000Z";
const T1 = "2024-05-01T10:01:00.000Z";

/** A joined call with Bob and Cid in it; the test settles each reportViews call by hand. */
async function inCall() {
  const reports = controllablePromise<ReportViewsInput, void>();
  const calls = fakeMediaCalls();
  let room: ((e: RoomFeedEvent) => void) | null = null;
  let signaling: ((e: SignalingEvent) => void) | null = null;
  const machine = callMachine.provide({
    actors: {
      requestMedia: fromPromise<LocalMedia, RequestMediaInput>(async () => ({
        stream: fakeStream("cam"),
        audioTrack: fakeTrack("audio-mic"),
        videoTrack: fakeTrack("video-cam"),
      })),
      joinCall: fromPromise<JoinedCall, JoinCallInput>(async () => ({
        sessionId: SESSION,
        peerId: "me",
        iceServers: [],
        participant: participant("me", T1, { userId: "me" }),
      })),
      publishMedia: fromPromise<void, PublishMediaInput>(async () => undefined),
      heartbeat: fromCallback<EventObject, SessionRef>(() => undefined),
      localTracks: fromCallback<LocalTracksCommand, void>(() => undefined),
      signaling: fromCallback<SignalingCommand, SignalingInput>(({ sendBack }) => {
        signaling = sendBack;
      }),
      roomEvents: fromCallback<EventObject, SessionRef>(({ sendBack }) => {
        room = sendBack;
      }),
      reportViews: reports.logic,
      peer: peerMachine.provide({ actors: calls.actors }),
    },
  });
  const actor = createActor(machine, {
    input: { studyId: "study-1", sessionId: SESSION, self: { userId: "me", name: "Me" } },
  });
  actor.start();
  await vi.advanceTimersByTimeAsync(0);
  actor.send({ type: "JOIN" });
  await vi.advanceTimersByTimeAsync(0);
  signaling!({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
  room!({ type: "ROOM.SNAPSHOT", participants: [participant("bob", T0), participant("cid", T0)] });
  await vi.advanceTimersByTimeAsync(0);
  const sent = () => reports.pending.map((p) => p.input.views);
  return { actor, reports, calls, sent, room: (e: RoomFeedEvent) => room!(e) };
}

const stage = { width: 1100, height: 620, shownFraction: 1 };
const strip = { width: 231, height: 130, shownFraction: 1 };

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

describe("views: the receiver tells each sender how it shows them", () => {
  it("waits for the layout to settle, then sends every view in one report", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: strip, cid: strip } });
    await vi.advanceTimersByTimeAsync(100);
    // A layout switch a moment later replaces the first measurement: one report, the final sizes.
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: stage, cid: strip } });
    expect(h.sent()).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect(h.sent()).toEqual([
      [
        { peerId: "bob", width: 1100, height: 620, shown: true },
        { peerId: "cid", width: 231, height: 130, shown: true },
      ],
    ]);
    expect(h.reports.pending[0]!.input.sessionId).toBe(SESSION);
  });

  it("sends only what changed enough, one report at a time", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: stage, cid: strip } });
    await vi.advanceTimersByTimeAsync(300);
    expect(h.sent()).toHaveLength(1);
    // While the first is on its way: a few pixels on Bob (ignored), Cid moves to the stage.
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: { ...stage, height: 610 }, cid: stage } });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.sent()).toHaveLength(1);
    h.reports.pending[0]!.resolve();
    await vi.advanceTimersByTimeAsync(300);
    expect(h.sent()[1]).toEqual([{ peerId: "cid", width: 1100, height: 620, shown: true }]);
  });

  it("a page in the background hides every tile; coming back shows them at once", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: stage, cid: strip } });
    await vi.advanceTimersByTimeAsync(300);
    h.reports.pending[0]!.resolve();
    h.actor.send({ type: "VIEW.PAGE", visible: false });
    await vi.advanceTimersByTimeAsync(300);
    expect(h.sent()[1]!.map((v) => v.shown)).toEqual([false, false]);
    h.reports.pending[1]!.resolve();
    await vi.advanceTimersByTimeAsync(1_000);
    h.actor.send({ type: "VIEW.PAGE", visible: true });
    await vi.advanceTimersByTimeAsync(0);
    expect(h.sent()[2]).toEqual([
      { peerId: "bob", width: 1100, height: 620, shown: true },
      { peerId: "cid", width: 231, height: 130, shown: true },
    ]);
  });

  it("a tile the side panel covers is hidden", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: { ...strip, shownFraction: 0 }, cid: strip } });
    await vi.advanceTimersByTimeAsync(300);
    expect(h.sent()[0]).toEqual([
      { peerId: "bob", width: 231, height: 130, shown: false },
      { peerId: "cid", width: 231, height: 130, shown: true },
    ]);
  });

  it("a failed report is told again on the next refresh; views are refreshed periodically anyway", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: stage, cid: strip } });
    await vi.advanceTimersByTimeAsync(300);
    h.reports.pending[0]!.reject(new Error("server said no"));
    await vi.advanceTimersByTimeAsync(30_000 + 300);
    expect(h.sent()).toHaveLength(2);
    expect(h.sent()[1]).toEqual(h.sent()[0]);
    h.reports.pending[1]!.resolve();
    // Settle (nothing new), then the refresh a period later, then its own settle.
    await vi.advanceTimersByTimeAsync(250 + 30_000 + 250);
    expect(h.sent()).toHaveLength(3);
  });

  it("tells a link that (re)connects our view of it again", async () => {
    const h = await inCall();
    h.actor.send({ type: "VIEW.TILES", tiles: { bob: stage, cid: strip } });
    await vi.advanceTimersByTimeAsync(300);
    h.reports.pending[0]!.resolve();
    const bobCall = h.calls.live().find((c) => c.remotePeerId === "bob")!;
    bobCall.report({ type: "CALL.ICE_STATE", state: "connected" });
    await vi.advanceTimersByTimeAsync(300);
    expect(h.sent()[1]).toEqual([{ peerId: "bob", width: 1100, height: 620, shown: true }]);
  });
});

describe("views: the sender fits each link to the view it is told", () => {
  it("applies a tile-view addressed to us to that one link, and ignores others' views", async () => {
    const h = await inCall();
    const bobCall = h.calls.live().find((c) => c.remotePeerId === "bob")!;
    const cidCall = h.calls.live().find((c) => c.remotePeerId === "cid")!;
    const view = { width: 231, height: 130, shown: true };
    const event = {
      type: "tile-view",
      sessionId: SESSION,
      userId: "me",
      peerId: "me",
      fromPeerId: "bob",
      ...view,
    } as const;
    h.room({ type: "ROOM.EVENT", event });
    h.room({ type: "ROOM.EVENT", event: { ...event, peerId: "cid", userId: "user-cid" } });
    expect(bobCall.received.at(-1)).toEqual({ type: "APPLY_BUDGET", budget: linkEncoding(bitrateBudget(2), view) });
    expect(cidCall.received.filter((c) => c.type === "APPLY_BUDGET").at(-1)).toEqual({
      type: "APPLY_BUDGET",
      budget: { ...bitrateBudget(2), active: true },
    });
    h.room({ type: "ROOM.EVENT", event: { ...event, shown: false } });
    expect(bobCall.received.at(-1)).toMatchObject({ type: "APPLY_BUDGET", budget: { active: false } });
  });
});
