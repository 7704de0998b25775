import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import {
  type CallInput,
  type JoinCallInput,
  type JoinedCall,
  type LocalMedia,
  type LocalTracksCommand,
  type PublishMediaInput,
  type ReportLinkInput,
  type RequestMediaInput,
  type RoomFeedEvent,
  type ScreenMedia,
  type SessionRef,
  type SignalingCommand,
  type SignalingEvent,
  type SignalingInput,
  type WatchTrackInput,
  callMachine,
  peerChildId,
} from "./call.machine";
import { JoinError, MediaError } from "./errors";
import { linkPhase, peerMachine, peerStatus, shouldCall } from "./peer.machine";
import { bitrateBudget } from "./quality";
import type { LinkState, RoomParticipant } from "./room-protocol";
import {
  type FakeCall,
  controllablePromise,
  fakeCallHandle,
  fakeMediaCalls,
  fakeSignalingHandle,
  fakeStream,
  fakeTrack,
  participant,
} from "./test-utils";

const STUDY = "study-1";
const SESSION = "session-1";
const T0 = "2024-05-01T10:00:00.000Z";
const T1 = "2024-05-01T10:01:00.000Z";

interface Harness {
  actor: ReturnType<typeof createActor<typeof callMachine>>;
  media: ReturnType<typeof controllablePromise<RequestMediaInput, LocalMedia>>;
  display: ReturnType<typeof controllablePromise<void, ScreenMedia>>;
  joins: ReturnType<typeof controllablePromise<JoinCallInput, JoinedCall>>;
  published: PublishMediaInput[];
  reported: ReportLinkInput[];
  leaves: SessionRef[];
  heartbeats: SessionRef[];
  trackCommands: LocalTracksCommand[];
  signalingCommands: SignalingCommand[];
  signalingInputs: SignalingInput[];
  signaling: (e: SignalingEvent) => void;
  room: (e: RoomFeedEvent) => void;
  screenEnded: () => void;
  calls: ReturnType<typeof fakeMediaCalls>;
  value: () => unknown;
  peer: (peerId: string) => ReturnType<typeof peerSnapshot>;
}

/** A peer's snapshot, its value flattened to the status ("calling", not { media: "calling" }). */
function peerSnapshot(h: { actor: Harness["actor"] }, peerId: string) {
  const snapshot = h.actor.getSnapshot().context.peers[peerId]?.getSnapshot();
  return snapshot && { value: peerStatus(snapshot), context: snapshot.context };
}

/** Set by a test to make every reportLink call reject (the server refusing a report). */
let reportLinkError: Error | null = null;

function harness(input: Partial<CallInput> = {}): Harness {
  const media = controllablePromise<RequestMediaInput, LocalMedia>();
  const display = controllablePromise<void, ScreenMedia>();
  const joins = controllablePromise<JoinCallInput, JoinedCall>();
  const calls = fakeMediaCalls();
  const published: PublishMediaInput[] = [];
  const reported: ReportLinkInput[] = [];
  const leaves: SessionRef[] = [];
  const heartbeats: SessionRef[] = [];
  const trackCommands: LocalTracksCommand[] = [];
  const signalingCommands: SignalingCommand[] = [];
  const signalingInputs: SignalingInput[] = [];
  let sendSignaling: ((e: SignalingEvent) => void) | null = null;
  let sendRoom: ((e: RoomFeedEvent) => void) | null = null;
  let sendScreen: ((e: EventObject) => void) | null = null;

  const machine = callMachine.provide({
    actors: {
      requestMedia: media.logic,
      displayMedia: display.logic,
      joinCall: joins.logic,
      publishMedia: fromPromise<void, PublishMediaInput>(async ({ input }) => {
        published.push(input);
      }),
      reportLink: fromPromise<void, ReportLinkInput>(async ({ input }) => {
        reported.push(input);
        if (reportLinkError) throw reportLinkError;
      }),
      leaveCall: fromPromise<void, SessionRef>(async ({ input }) => {
        leaves.push(input);
      }),
      heartbeat: fromCallback<EventObject, SessionRef>(({ input }) => {
        heartbeats.push(input);
      }),
      localTracks: fromCallback<LocalTracksCommand, void>(({ receive }) => {
        receive((c) => trackCommands.push(c));
      }),
      signaling: fromCallback<SignalingCommand, SignalingInput>(({ input, sendBack, receive }) => {
        signalingInputs.push(input);
        sendSignaling = sendBack;
        receive((c) => signalingCommands.push(c));
        return () => {
          sendSignaling = null;
        };
      }),
      roomEvents: fromCallback<EventObject, SessionRef>(({ sendBack }) => {
        sendRoom = sendBack;
        return () => {
          sendRoom = null;
        };
      }),
      watchScreenTrack: fromCallback<EventObject, WatchTrackInput>(({ sendBack }) => {
        sendScreen = sendBack;
        return () => {
          sendScreen = null;
        };
      }),
      peer: peerMachine.provide({ actors: calls.actors }),
    },
  });
  const actor = createActor(machine, {
    input: { studyId: STUDY, sessionId: SESSION, self: { userId: "me", name: "Me" }, ...input },
  });
  actor.start();
  const h: Harness = {
    actor,
    media,
    display,
    joins,
    published,
    reported,
    leaves,
    heartbeats,
    trackCommands,
    signalingCommands,
    signalingInputs,
    calls,
    signaling: (e) => {
      if (!sendSignaling) throw new Error("signaling actor not running");
      sendSignaling(e);
    },
    room: (e) => {
      if (!sendRoom) throw new Error("room events actor not running");
      sendRoom(e);
    },
    screenEnded: () => {
      if (!sendScreen) throw new Error("not watching a screen track");
      sendScreen({ type: "SCREEN_TRACK_ENDED" });
    },
    value: () => actor.getSnapshot().value,
    peer: (peerId) => peerSnapshot({ actor }, peerId),
  };
  return h;
}

const flush = () => vi.advanceTimersByTimeAsync(0);

const camera = fakeTrack("video-camera");
const mic = fakeTrack("audio-mic");
const fullMedia: LocalMedia = { stream: fakeStream("cam-stream"), audioTrack: mic, videoTrack: camera };

function joinResult(peerId: string, joinedAt: string, sessionId = SESSION): JoinedCall {
  return {
    sessionId,
    peerId,
    iceServers: [{ urls: "stun:stun.example.org" }],
    participant: participant(peerId, joinedAt, { userId: "me", name: "Me" }),
  };
}

/** Grants devices (or fails them), joins as `selfPeerId`, opens signaling. */
async function joined(
  opts: {
    selfPeerId?: string;
    joinedAt?: string;
    media?: LocalMedia | MediaError;
    room?: RoomParticipant[];
    /** false: the camera was turned off on the pre-join screen. */
    video?: boolean;
  } = {},
) {
  const h = harness();
  const m = opts.media ?? fullMedia;
  if (m instanceof MediaError) h.media.pending[0]!.reject(m);
  else h.media.pending[0]!.resolve(m);
  await flush();
  if (opts.video === false) h.actor.send({ type: "TOGGLE_VIDEO" });
  h.actor.send({ type: "JOIN" });
  h.joins.pending[0]!.resolve(joinResult(opts.selfPeerId ?? "me-peer", opts.joinedAt ?? T1));
  await flush();
  h.signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
  h.room({ type: "ROOM.SNAPSHOT", participants: opts.room ?? [] });
  await flush();
  return h;
}

const liveCallTo = (h: Harness, peerId: string): FakeCall => {
  const c = h.calls.live().find((x) => x.remotePeerId === peerId);
  if (!c) throw new Error(`no live call to ${peerId}`);
  return c;
};

beforeEach(() => {
  reportLinkError = null;
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => {
  vi.useRealTimers();
});

describe("prejoin", () => {
  it.each([
    ["denied", "denied"],
    ["no-device", "noDevice"],
    ["in-use", "inUse"],
    ["unknown", "failed"],
  ] as const)("maps a %s media error to prejoin.%s", async (reason, state) => {
    const h = harness();
    expect(h.value()).toEqual({ prejoin: "requestingDevices" });
    h.media.pending[0]!.reject(new MediaError(reason));
    await flush();
    expect(h.value()).toEqual({ prejoin: state });
    expect(h.actor.getSnapshot().context.mediaError?.reason).toBe(reason);
  });

  it("treats an untyped rejection as failed, and RETRY_DEVICES asks again", async () => {
    const h = harness();
    h.media.pending[0]!.reject(new TypeError("weird"));
    await flush();
    expect(h.value()).toEqual({ prejoin: "failed" });
    h.actor.send({ type: "RETRY_DEVICES" });
    expect(h.value()).toEqual({ prejoin: "requestingDevices" });
    h.media.pending[1]!.resolve(fullMedia);
    await flush();
    expect(h.value()).toEqual({ prejoin: "ready" });
  });

  it("re-requests with the chosen device and releases the previous tracks", async () => {
    const h = harness();
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    h.actor.send({ type: "SELECT_DEVICE", kind: "video", deviceId: "cam-2" });
    expect(h.media.pending[1]!.input).toMatchObject({ video: true, videoDeviceId: "cam-2" });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [mic, camera] });
  });

  it("does not touch devices when autoStartMedia is false", () => {
    const h = harness({ autoStartMedia: false });
    expect(h.value()).toEqual({ prejoin: "idle" });
    expect(h.media.pending).toHaveLength(0);
  });

  it("publishes the prejoin choice (muted mic) on join", async () => {
    const h = harness();
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    h.actor.send({ type: "TOGGLE_AUDIO" });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    h.actor.send({ type: "JOIN" });
    h.joins.pending[0]!.resolve(joinResult("me-peer", T1));
    await flush();
    expect(h.published).toEqual([{ sessionId: SESSION, audio: false, video: true, screen: false, speaking: false }]);
    expect(h.actor.getSnapshot().matches({ inCall: { audio: "off", video: "on" } })).toBe(true);
  });
});

describe("joining", () => {
  it("shows joinFailed with the reason and RETRY joins again", async () => {
    const h = harness();
    h.actor.send({ type: "JOIN" });
    h.joins.pending[0]!.reject({ reason: "forbidden" });
    await flush();
    expect(h.value()).toBe("joinFailed");
    expect(h.actor.getSnapshot().context.joinError?.reason).toBe("forbidden");
    h.actor.send({ type: "RETRY" });
    h.joins.pending[1]!.resolve(joinResult("me-peer", T1));
    await flush();
    expect(h.actor.getSnapshot().matches("inCall")).toBe(true);
  });

  it("keeps a ban's and a lock's reason, so the page can say which", async () => {
    const h = harness();
    h.actor.send({ type: "JOIN" });
    h.joins.pending[0]!.reject(new JoinError("removed", "You were removed from this call"));
    await flush();
    expect(h.value()).toBe("joinFailed");
    expect(h.actor.getSnapshot().context.joinError?.reason).toBe("removed");
    h.actor.send({ type: "RETRY" });
    h.joins.pending[1]!.reject({ reason: "locked" });
    await flush();
    expect(h.actor.getSnapshot().context.joinError?.reason).toBe("locked");
  });

  it("fails the join when the signaling server never opens", async () => {
    const h = harness();
    h.actor.send({ type: "JOIN" });
    h.joins.pending[0]!.resolve(joinResult("me-peer", T1));
    await flush();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.value()).toBe("joinFailed");
    expect(h.actor.getSnapshot().context.joinError?.reason).toBe("signaling");
  });

  it("joins the call the page knows of and dials the room the join reported, before any room snapshot", async () => {
    const h = harness({ sessionId: null });
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    h.actor.send({ type: "JOIN", sessionId: "running-session" });
    expect(h.joins.pending[0]!.input).toEqual({ studyId: STUDY, sessionId: "running-session" });
    const bob = participant("bob", T0);
    h.joins.pending[0]!.resolve({
      ...joinResult("me-peer", T1, "running-session"),
      participants: [bob, participant("me-peer", T1, { userId: "me", name: "Me" })],
    });
    await flush();
    // Bob is known, but nobody dials before the signaling socket is open.
    expect(Object.keys(h.actor.getSnapshot().context.peers)).toEqual(["bob"]);
    expect(h.calls.calls).toHaveLength(0);
    h.signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
    await flush();
    expect(h.calls.live().map((c) => [c.kind, c.remotePeerId])).toEqual([["outgoing", "bob"]]);
    // The feed's first snapshot agrees and changes nothing.
    h.room({ type: "ROOM.SNAPSHOT", participants: [bob] });
    await flush();
    expect(h.calls.calls).toHaveLength(1);
  });
});

describe("listen-only join", () => {
  it("joins without devices and turns the camera on later without reloading", async () => {
    const early = participant("early", T0);
    const h = await joined({ media: new MediaError("no-device"), room: [early] });
    expect(h.published).toEqual([{ sessionId: SESSION, audio: false, video: false, screen: false, speaking: false }]);
    // We joined later, so we dial; with no local media at all.
    expect(liveCallTo(h, "early").input.localStream).toBeNull();

    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.actor.getSnapshot().matches({ inCall: { video: "acquiring" } })).toBe(true);
    expect(h.media.pending[1]!.input).toEqual({ audio: false, video: true, audioDeviceId: null, videoDeviceId: null });
    const lateCam = fakeTrack("video-late");
    h.media.pending[1]!.resolve({ stream: fakeStream("late"), audioTrack: null, videoTrack: lateCam });
    await flush();

    expect(h.actor.getSnapshot().matches({ inCall: { video: "on", audio: "off" } })).toBe(true);
    expect(liveCallTo(h, "early").received).toContainEqual({ type: "REPLACE_VIDEO_TRACK", track: lateCam });
    expect(h.published.at(-1)).toEqual({
      sessionId: SESSION,
      audio: false,
      video: true,
      screen: false,
      speaking: false,
    });
  });

  it("a microphone picked while the microphone is being turned on is the one turned on", async () => {
    const h = await joined({ media: new MediaError("no-device") });
    h.actor.send({ type: "TOGGLE_AUDIO" });
    h.actor.send({ type: "SELECT_DEVICE", kind: "audio", deviceId: "mic-2" });
    expect(h.actor.getSnapshot().matches({ inCall: { audio: "acquiring" } })).toBe(true);
    const latest = h.media.pending.at(-1)!;
    expect(latest.input).toEqual({ audio: true, video: false, audioDeviceId: "mic-2", videoDeviceId: null });
    latest.resolve({ stream: fakeStream("mic2"), audioTrack: fakeTrack("audio-mic-2"), videoTrack: null });
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { audio: "on" } })).toBe(true);
    expect(h.published.at(-1)).toMatchObject({ audio: true });
  });

  it("stays listen-only if the camera is still unavailable", async () => {
    const h = await joined({ media: new MediaError("denied") });
    h.actor.send({ type: "TOGGLE_VIDEO" });
    h.media.pending[1]!.reject(new MediaError("denied"));
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { video: "off" } })).toBe(true);
    expect(h.published).toHaveLength(1);
  });
});

describe("peers", () => {
  it("spawns a peer per remote participant, never for ourselves, with roles from shouldCall", async () => {
    const earlier = participant("earlier", T0);
    const later = participant("later", "2024-05-01T10:05:00.000Z");
    const me = participant("me-peer", T1);
    const h = await joined({ room: [earlier, me, later] });
    const peers = h.actor.getSnapshot().context.peers;
    expect(Object.keys(peers).sort()).toEqual(["earlier", "later"]);
    expect(h.peer("earlier")?.value).toBe("calling");
    expect(h.peer("later")?.value).toBe("answering");
    expect(h.calls.calls.map((c) => c.remotePeerId)).toEqual(["earlier"]);
  });

  it("stops the peer (and its call) when the remote leaves mid-negotiation", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "checking" });
    expect(h.peer("bob")?.value).toBe("connecting");
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "user-bob", peerId: "bob", reason: "LEFT" },
    });
    expect(h.actor.getSnapshot().context.peers).toEqual({});
    expect(h.actor.getSnapshot().children[peerChildId("bob")]).toBeUndefined();
    expect(h.calls.live()).toHaveLength(0);
  });

  describe("a remote who leaves is an ending, not a failure, whichever news comes first", () => {
    const bobLeft = {
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "user-bob", peerId: "bob", reason: "LEFT" },
    } as const;

    it("call closed first, then the room says he left: no Reconnecting, no report", async () => {
      const h = await joined({ room: [participant("bob", T0)] });
      liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
      await flush();
      const phases: string[] = [];
      const bob = h.actor.getSnapshot().context.peers.bob!;
      bob.subscribe((s) => phases.push(linkPhase(peerStatus(s), s.context.attempt)));
      liveCallTo(h, "bob").report({ type: "CALL.CLOSED" });
      await vi.advanceTimersByTimeAsync(2_000); // a slow room feed
      h.room(bobLeft);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(phases).not.toContain("reconnecting");
      expect(h.reported.map((r) => r.state)).toEqual(["connected"]);
      expect(h.actor.getSnapshot().context.peers).toEqual({});
      expect(h.calls.calls.filter((c) => c.remotePeerId === "bob")).toHaveLength(1);
    });

    it("room says he left first, then his call closes: no Reconnecting, no report", async () => {
      const h = await joined({ room: [participant("bob", T0)] });
      const call = liveCallTo(h, "bob");
      call.report({ type: "CALL.ICE_STATE", state: "connected" });
      await flush();
      h.room(bobLeft);
      call.report({ type: "CALL.CLOSED" }); // ignored: the call actor is already stopped
      await vi.advanceTimersByTimeAsync(60_000);
      expect(h.reported.map((r) => r.state)).toEqual(["connected"]);
      expect(h.actor.getSnapshot().context.peers).toEqual({});
      expect(h.calls.live()).toHaveLength(0);
      expect(h.calls.calls).toHaveLength(1);
    });

    it("a closed call the room never explains is a failure after closeConfirm", async () => {
      const h = await joined({ room: [participant("bob", T0)] });
      liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
      await flush();
      liveCallTo(h, "bob").report({ type: "CALL.CLOSED" });
      await vi.advanceTimersByTimeAsync(2_999);
      expect(h.reported.map((r) => r.state)).toEqual(["connected"]);
      await vi.advanceTimersByTimeAsync(1);
      expect(h.peer("bob")?.value).toBe("reconnecting");
      expect(h.reported.map((r) => r.state)).toEqual(["connected", "reconnecting"]);
    });
  });

  it("ignores events of another session", async () => {
    const h = await joined();
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: "other", participant: participant("x", T0) },
    });
    expect(h.actor.getSnapshot().context.peers).toEqual({});
  });

  it("answers a call from someone the room has not announced yet", async () => {
    const h = await joined();
    const call = fakeCallHandle();
    h.signaling({ type: "SIGNALING.INCOMING_CALL", call, remotePeerId: "newcomer" });
    expect(h.peer("newcomer")?.value).toBe("connecting");
    expect(liveCallTo(h, "newcomer")).toMatchObject({ kind: "answer", input: { call } });
    // The room event arrives afterwards: no second peer, no dial.
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: SESSION, participant: participant("newcomer", T1, { name: "Newt" }) },
    });
    expect(Object.keys(h.actor.getSnapshot().context.peers)).toEqual(["newcomer"]);
    expect(h.calls.calls).toHaveLength(1);
    expect(h.peer("newcomer")?.context.remote.name).toBe("Newt");
    // Nor is the newcomer left showing the placeholder's "muted, camera off".
    expect(h.peer("newcomer")?.context.remoteMedia).toEqual({ audio: true, video: true, screen: false });
  });

  it("forwards remote media flags to the right peer", async () => {
    const h = await joined({ room: [participant("bob", T0), participant("amy", T0)] });
    h.room({
      type: "ROOM.EVENT",
      event: {
        type: "media-changed",
        sessionId: SESSION,
        userId: "user-bob",
        peerId: "bob",
        audio: false,
        video: true,
        screen: true,
      },
    });
    expect(h.peer("bob")?.context.remoteMedia).toEqual({ audio: false, video: true, screen: true });
    expect(h.peer("amy")?.context.remoteMedia).toEqual({ audio: true, video: true, screen: false });
  });

  it("a repeat of someone's media flags changes nothing the room or their tile shows (no re-render)", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    const event = {
      type: "media-changed" as const,
      sessionId: SESSION,
      userId: "user-bob",
      peerId: "bob",
      audio: false,
      video: true,
      screen: false,
    };
    h.room({ type: "ROOM.EVENT", event });
    const participants = h.actor.getSnapshot().context.participants;
    const media = h.peer("bob")?.context.remoteMedia;
    expect(participants["bob"]?.audio).toBe(false);
    h.room({ type: "ROOM.EVENT", event });
    expect(h.actor.getSnapshot().context.participants).toBe(participants);
    expect(h.peer("bob")?.context.remoteMedia).toBe(media);
    h.room({ type: "ROOM.EVENT", event: { ...event, audio: true } });
    expect(h.actor.getSnapshot().context.participants["bob"]?.audio).toBe(true);
    expect(h.peer("bob")?.context.remoteMedia).toEqual({ audio: true, video: true, screen: false });
  });

  it("re-applies the bitrate budget when someone joins or leaves", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    const bob = liveCallTo(h, "bob");
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: SESSION, participant: participant("amy", T0) },
    });
    expect(bob.received.at(-1)).toEqual({ type: "APPLY_BUDGET", budget: { ...bitrateBudget(2), active: true } });
    expect(liveCallTo(h, "amy").input.budget).toEqual({ ...bitrateBudget(2), active: true });
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: SESSION, participant: participant("cid", T0) },
    });
    expect(bob.received.at(-1)).toEqual({ type: "APPLY_BUDGET", budget: { ...bitrateBudget(3), active: true } });
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "u", peerId: "amy", reason: "DROPPED" },
    });
    expect(bob.received.at(-1)).toEqual({ type: "APPLY_BUDGET", budget: { ...bitrateBudget(2), active: true } });
    expect(liveCallTo(h, "cid").received.at(-1)).toEqual({
      type: "APPLY_BUDGET",
      budget: { ...bitrateBudget(2), active: true },
    });
  });

  it("reports link state changes to the server", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "failed" });
    await flush();
    expect(h.reported).toEqual([
      { sessionId: SESSION, remotePeerId: "bob", state: "connected", attempt: 0, maxAttempts: 3 },
      { sessionId: SESSION, remotePeerId: "bob", state: "reconnecting", attempt: 1, maxAttempts: 3 },
    ]);
  });

  it("stays in the call when the server refuses a link report (the remote had just left)", async () => {
    const h = await joined({ room: [participant("bob", T0), participant("cid", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    await flush();
    reportLinkError = new Error("That person is no longer in this call.");
    // Bob's call closes and the room says nothing of him within closeConfirm (his leave was slow
    // to reach the server): the peer reports "reconnecting", which the server now refuses.
    liveCallTo(h, "bob").report({ type: "CALL.CLOSED" });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(h.reported.at(-1)).toMatchObject({ remotePeerId: "bob", state: "reconnecting" });
    expect(h.actor.getSnapshot().status).toBe("active");
    expect(h.actor.getSnapshot().matches("inCall")).toBe(true);
    expect(h.peer("cid")).toBeDefined();
  });

  it("lets go of each link report once it is sent or refused", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    const reports = () => Object.keys(h.actor.getSnapshot().children).filter((id) => id.startsWith("reportLink."));
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    await flush();
    reportLinkError = new Error("That person is no longer in this call.");
    liveCallTo(h, "bob").report({ type: "CALL.CLOSED" });
    await vi.advanceTimersByTimeAsync(3_000); // closeConfirm: the room did not say he left
    expect(h.reported).toHaveLength(2);
    expect(reports()).toEqual([]);
    expect(h.actor.getSnapshot().matches("inCall")).toBe(true);
  });

  it("RETRY_PEER restarts a lost link", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    for (let i = 0; i < 4; i++) {
      liveCallTo(h, "bob").report({ type: "CALL.CLOSED" });
      await vi.advanceTimersByTimeAsync(3_000 + 7_000); // closeConfirm, then the longest retry gap
    }
    expect(h.peer("bob")?.value).toBe("lost");
    h.actor.send({ type: "RETRY_PEER", peerId: "bob" });
    expect(h.peer("bob")?.value).toBe("calling");
  });
});

describe("glare: two members joining at the same instant", () => {
  it("exactly one side dials, and both links connect", async () => {
    const a = participant("peer-a", T0, { userId: "ua" });
    const b = participant("peer-b", T0, { userId: "ub" });
    const ha = await joined({ selfPeerId: a.peerId, joinedAt: T0, room: [a, b] });
    const hb = await joined({ selfPeerId: b.peerId, joinedAt: T0, room: [a, b] });

    const dials = [...ha.calls.calls, ...hb.calls.calls].filter((c) => c.kind === "outgoing");
    expect(dials).toHaveLength(1);
    expect(shouldCall(a, b) !== shouldCall(b, a)).toBe(true);

    const [dialer, answerer, answererSide] = ha.calls.calls.length ? [ha, hb, b] : [hb, ha, a];
    const otherSide = answererSide === a ? b : a;
    answerer.signaling({ type: "SIGNALING.INCOMING_CALL", call: fakeCallHandle(), remotePeerId: otherSide.peerId });
    liveCallTo(dialer, answererSide.peerId).report({ type: "CALL.ICE_STATE", state: "connected" });
    liveCallTo(answerer, otherSide.peerId).report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(ha.peer(b.peerId)?.value).toBe("connected");
    expect(hb.peer(a.peerId)?.value).toBe("connected");
    expect([...ha.calls.calls, ...hb.calls.calls]).toHaveLength(2);
  });
});

describe("media toggles in the call", () => {
  it("muting while a peer is connecting publishes audio:false and the peer still connects", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    const bob = liveCallTo(h, "bob");
    bob.report({ type: "CALL.ICE_STATE", state: "checking" });
    h.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(h.published.at(-1)).toEqual({
      sessionId: SESSION,
      audio: false,
      video: true,
      screen: false,
      speaking: false,
    });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    bob.report({ type: "CALL.ICE_STATE", state: "connected" });
    expect(h.peer("bob")?.value).toBe("connected");
    expect(h.calls.calls).toHaveLength(1);
  });

  it("publishes our own speaking starts and stops with the media flags, once each", async () => {
    const h = await joined();
    expect(h.published).toHaveLength(0);
    h.actor.send({ type: "SELF.SPEAKING", speaking: true });
    await flush();
    h.actor.send({ type: "SELF.SPEAKING", speaking: true });
    await flush();
    expect(h.published).toEqual([{ sessionId: SESSION, audio: true, video: true, screen: false, speaking: true }]);
    h.actor.send({ type: "SELF.SPEAKING", speaking: false });
    await flush();
    expect(h.published.at(-1)).toEqual({
      sessionId: SESSION,
      audio: true,
      video: true,
      screen: false,
      speaking: false,
    });
    expect(h.published).toHaveLength(2);
  });

  it("rapid toggles publish serially and end on the latest flags", async () => {
    let release: (() => void) | null = null;
    const inputs: PublishMediaInput[] = [];
    // A slow server: each setMedia waits for the test.
    const media = controllablePromise<RequestMediaInput, LocalMedia>();
    const joins = controllablePromise<JoinCallInput, JoinedCall>();
    let sendSignaling: ((e: SignalingEvent) => void) | null = null;
    const actor = createActor(
      callMachine.provide({
        actors: {
          requestMedia: media.logic,
          joinCall: joins.logic,
          publishMedia: fromPromise<void, PublishMediaInput>(
            ({ input }) =>
              new Promise<void>((resolve) => {
                inputs.push(input);
                release = resolve;
              }),
          ),
          signaling: fromCallback<SignalingCommand, SignalingInput>(({ sendBack }) => {
            sendSignaling = sendBack;
          }),
          peer: peerMachine.provide({ actors: fakeMediaCalls().actors }),
        },
      }),
      { input: { studyId: STUDY, sessionId: SESSION, self: { userId: "me", name: "Me" } } },
    );
    actor.start();
    media.pending[0]!.resolve(fullMedia);
    await flush();
    actor.send({ type: "JOIN" });
    joins.pending[0]!.resolve(joinResult("me-peer", T1));
    await flush();
    sendSignaling!({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
    // Joined with microphone and camera on, as the server records every join: nothing to publish.
    expect(inputs).toHaveLength(0);
    actor.send({ type: "TOGGLE_AUDIO" });
    actor.send({ type: "TOGGLE_VIDEO" });
    actor.send({ type: "TOGGLE_AUDIO" });
    expect(inputs).toEqual([{ sessionId: SESSION, audio: false, video: true, screen: false, speaking: false }]);
    release!();
    await flush();
    expect(inputs).toHaveLength(2);
    expect(inputs[1]).toEqual({ sessionId: SESSION, audio: true, video: false, screen: false, speaking: false });
    release!();
    await flush();
    expect(inputs).toHaveLength(2);
  });

  it("publishes the flags once on joining when they differ from what the server recorded", async () => {
    const inputs: PublishMediaInput[] = [];
    const media = controllablePromise<RequestMediaInput, LocalMedia>();
    const joins = controllablePromise<JoinCallInput, JoinedCall>();
    const actor = createActor(
      callMachine.provide({
        actors: {
          requestMedia: media.logic,
          joinCall: joins.logic,
          publishMedia: fromPromise<void, PublishMediaInput>(async ({ input }) => {
            inputs.push(input);
          }),
          signaling: fromCallback<SignalingCommand, SignalingInput>(() => {}),
          peer: peerMachine.provide({ actors: fakeMediaCalls().actors }),
        },
      }),
      { input: { studyId: STUDY, sessionId: SESSION, self: { userId: "me", name: "Me" } } },
    );
    actor.start();
    media.pending[0]!.resolve(fullMedia);
    await flush();
    actor.send({ type: "TOGGLE_VIDEO" }); // camera off on the pre-join screen
    actor.send({ type: "JOIN" });
    joins.pending[0]!.resolve(joinResult("me-peer", T1));
    await flush();
    expect(inputs).toEqual([{ sessionId: SESSION, audio: true, video: false, screen: false, speaking: false }]);
  });
});

describe("camera off on the pre-join screen", () => {
  it("lets go of the preview's camera; on again, it asks for the camera picked meanwhile", async () => {
    const h = harness();
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(h.actor.getSnapshot().context).toMatchObject({ wantVideo: false, videoTrack: null, audioTrack: mic });
    expect(h.value()).toEqual({ prejoin: "ready" });

    h.actor.send({ type: "SELECT_DEVICE", kind: "video", deviceId: "cam-2" });
    // Picking a device asks again, but not for the camera that is off.
    expect(h.media.pending[1]!.input).toMatchObject({ audio: true, video: false, videoDeviceId: "cam-2" });
    h.media.pending[1]!.resolve({ stream: fakeStream("mic-only"), audioTrack: mic, videoTrack: null });
    await flush();

    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.value()).toEqual({ prejoin: "acquiringVideo" });
    expect(h.media.pending[2]!.input).toEqual({
      audio: false,
      video: true,
      audioDeviceId: null,
      videoDeviceId: "cam-2",
    });
    const cam2 = fakeTrack("video-cam-2");
    h.media.pending[2]!.resolve({ stream: fakeStream("cam2"), audioTrack: null, videoTrack: cam2 });
    await flush();
    expect(h.value()).toEqual({ prejoin: "ready" });
    expect(h.actor.getSnapshot().context).toMatchObject({ wantVideo: true, videoTrack: cam2, audioTrack: mic });

    h.actor.send({ type: "JOIN" });
    h.joins.pending[0]!.resolve(joinResult("me-peer", T1));
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { video: "on" } })).toBe(true);
  });

  it("a camera turned off while the browser was still asking is let go when it arrives", async () => {
    const h = harness();
    h.actor.send({ type: "TOGGLE_VIDEO" });
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(h.actor.getSnapshot().context.videoTrack).toBeNull();
    // Turning it on now asks for it again rather than re-enabling a stopped track.
    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.value()).toEqual({ prejoin: "acquiringVideo" });
  });

  it("a camera that can't be had stays off, and the reason is kept", async () => {
    const h = harness();
    h.media.pending[0]!.resolve(fullMedia);
    await flush();
    h.actor.send({ type: "TOGGLE_VIDEO" });
    h.actor.send({ type: "TOGGLE_VIDEO" });
    h.media.pending[1]!.reject(new MediaError("in-use"));
    await flush();
    expect(h.value()).toEqual({ prejoin: "ready" });
    expect(h.actor.getSnapshot().context).toMatchObject({ wantVideo: false, videoTrack: null });
    expect(h.actor.getSnapshot().context.mediaError?.reason).toBe("in-use");
  });
});

describe("switching devices mid-call", () => {
  it("swaps the new camera into every call and releases the old one", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    h.actor.send({ type: "SELECT_DEVICE", kind: "video", deviceId: "cam-2" });
    expect(h.media.pending[1]!.input).toEqual({
      audio: false,
      video: true,
      audioDeviceId: null,
      videoDeviceId: "cam-2",
    });
    const cam2 = fakeTrack("video-cam-2");
    h.media.pending[1]!.resolve({ stream: fakeStream("cam2"), audioTrack: null, videoTrack: cam2 });
    await flush();
    expect(liveCallTo(h, "bob").received).toContainEqual({ type: "REPLACE_VIDEO_TRACK", track: cam2 });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(h.trackCommands.at(-1)).toEqual({ type: "TRACKS.ENABLE", track: cam2, enabled: true });
    expect(h.actor.getSnapshot().matches({ inCall: { video: "on", audio: "on" } })).toBe(true);
  });
});

describe("camera off", () => {
  it("lets go of the camera and sends no video; on again, it asks for the camera picked meanwhile", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    h.actor.send({ type: "TOGGLE_VIDEO" });
    // Released (its light goes out), not merely disabled; Bob's call stops carrying it.
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(liveCallTo(h, "bob").received.at(-1)).toEqual({ type: "REPLACE_VIDEO_TRACK", track: null });
    expect(h.actor.getSnapshot().context.videoTrack).toBeNull();
    await flush();
    expect(h.published.at(-1)).toMatchObject({ video: false });

    // Picking another camera while off opens nothing.
    h.actor.send({ type: "SELECT_DEVICE", kind: "video", deviceId: "cam-2" });
    expect(h.media.pending).toHaveLength(1);
    expect(h.actor.getSnapshot().matches({ inCall: { video: "off" } })).toBe(true);

    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.actor.getSnapshot().matches({ inCall: { video: "acquiring" } })).toBe(true);
    expect(h.media.pending[1]!.input).toMatchObject({ video: true, audio: false, videoDeviceId: "cam-2" });
    const cam2 = fakeTrack("video-cam-2");
    h.media.pending[1]!.resolve({ stream: fakeStream("cam2"), audioTrack: null, videoTrack: cam2 });
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { video: "on" } })).toBe(true);
    expect(liveCallTo(h, "bob").received.at(-1)).toEqual({ type: "REPLACE_VIDEO_TRACK", track: cam2 });
    expect(h.published.at(-1)).toMatchObject({ video: true });
  });

  it("picking another camera while one is being turned on asks for the new one instead", async () => {
    const h = await joined({ room: [participant("bob", T0)], video: false });
    h.actor.send({ type: "TOGGLE_VIDEO" });
    expect(h.actor.getSnapshot().matches({ inCall: { video: "acquiring" } })).toBe(true);
    h.actor.send({ type: "SELECT_DEVICE", kind: "video", deviceId: "cam-2" });
    expect(h.actor.getSnapshot().matches({ inCall: { video: "acquiring" } })).toBe(true);
    const latest = h.media.pending.at(-1)!;
    expect(latest.input).toMatchObject({ video: true, videoDeviceId: "cam-2" });
    const cam2 = fakeTrack("video-cam-2");
    latest.resolve({ stream: fakeStream("cam2"), audioTrack: null, videoTrack: cam2 });
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { video: "on" } })).toBe(true);
    expect(liveCallTo(h, "bob").received.at(-1)).toEqual({ type: "REPLACE_VIDEO_TRACK", track: cam2 });
  });

  it("a member who joins with the camera off doesn't hold it, and a share ending sends no camera", async () => {
    const h = await joined({ room: [participant("bob", T0)], video: false });
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(liveCallTo(h, "bob").input.videoTrack ?? null).toBeNull();
    h.actor.send({ type: "START_SHARE" });
    const screen = fakeTrack("video-screen");
    h.display.pending[0]!.resolve({ stream: fakeStream("screen"), videoTrack: screen });
    await flush();
    h.actor.send({ type: "STOP_SHARE" });
    expect(liveCallTo(h, "bob").received.at(-1)).toEqual({ type: "REPLACE_VIDEO_TRACK", track: null });
  });
});

describe("screen share", () => {
  it("swaps the outgoing video to the screen and back to the camera, also when the browser ends it", async () => {
    const h = await joined({ room: [participant("bob", T0), participant("amy", T0)] });
    const screen = fakeTrack("video-screen");
    const replaced = (peerId: string) =>
      liveCallTo(h, peerId)
        .received.filter((c) => c.type === "REPLACE_VIDEO_TRACK")
        .map((c) => ("track" in c ? c.track : null));

    h.actor.send({ type: "START_SHARE" });
    expect(h.actor.getSnapshot().matches({ inCall: { screen: "starting" } })).toBe(true);
    h.display.pending[0]!.resolve({ stream: fakeStream("screen"), videoTrack: screen });
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { screen: "on" } })).toBe(true);
    expect(replaced("bob")).toEqual([screen]);
    expect(replaced("amy")).toEqual([screen]);
    expect(h.published.at(-1)).toMatchObject({ screen: true });

    h.actor.send({ type: "STOP_SHARE" });
    expect(replaced("bob")).toEqual([screen, camera]);
    expect(replaced("amy")).toEqual([screen, camera]);
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [screen] });

    h.actor.send({ type: "START_SHARE" });
    const screen2 = fakeTrack("video-screen-2");
    h.display.pending[1]!.resolve({ stream: fakeStream("screen2"), videoTrack: screen2 });
    await flush();
    h.screenEnded();
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { screen: "off" } })).toBe(true);
    expect(replaced("bob")).toEqual([screen, camera, screen2, camera]);
    expect(h.published.at(-1)).toMatchObject({ screen: false, video: true });
  });

  it("a newcomer during a share gets the screen track, and a cancelled picker changes nothing", async () => {
    const h = await joined({ room: [] });
    h.actor.send({ type: "START_SHARE" });
    h.display.pending[0]!.reject(new MediaError("denied"));
    await flush();
    expect(h.actor.getSnapshot().matches({ inCall: { screen: "off" } })).toBe(true);
    h.actor.send({ type: "START_SHARE" });
    const screen = fakeTrack("video-screen");
    h.display.pending[1]!.resolve({ stream: fakeStream("s"), videoTrack: screen });
    await flush();
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: SESSION, participant: participant("old", T0) },
    });
    expect(liveCallTo(h, "old").input.videoTrack).toBe(screen);
  });
});

describe("signaling loss", () => {
  it("reconnects with backoff while existing calls stay connected; new dials wait until online", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    const bobStates: unknown[] = [];
    h.actor.getSnapshot().context.peers["bob"]!.subscribe((s) => bobStates.push(peerStatus(s)));

    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    expect(h.actor.getSnapshot().matches({ inCall: { signaling: "reconnecting" } })).toBe(true);

    // Someone joins while we cannot reach the signaling server: their peer waits.
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-joined", sessionId: SESSION, participant: participant("amy", T0) },
    });
    expect(h.peer("amy")?.value).toBe("idle");

    await vi.advanceTimersByTimeAsync(999);
    expect(h.signalingCommands).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.signalingCommands).toEqual([{ type: "RECONNECT" }]);
    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    await vi.advanceTimersByTimeAsync(3_000);
    expect(h.signalingCommands).toHaveLength(2);

    h.signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
    expect(h.actor.getSnapshot().matches({ inCall: { signaling: "online" } })).toBe(true);
    expect(h.peer("amy")?.value).toBe("calling");
    expect(h.peer("bob")?.value).toBe("connected");
    expect(bobStates.every((v) => v === "connected")).toBe(true);
    expect(h.calls.calls.filter((c) => c.remotePeerId === "bob")).toHaveLength(1);
  });

  it("a link that fails while signaling is down re-dials only once signaling is back", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "failed" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.peer("bob")?.value).toBe("idle");
    expect(h.calls.calls).toHaveLength(1);
    h.signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
    expect(h.peer("bob")?.value).toBe("calling");
    expect(h.calls.calls).toHaveLength(2);
  });

  it("keeps re-dialling every 2 s, goes offline a minute after the drop, and RETRY_SIGNALING tries again", async () => {
    const h = await joined();
    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.signalingCommands).toHaveLength(1);
    for (let t = 1_000; t < 59_000; t += 2_000) {
      h.signaling({ type: "SIGNALING.DISCONNECTED" });
      await vi.advanceTimersByTimeAsync(2_000);
    }
    expect(h.actor.getSnapshot().matches({ inCall: { signaling: "reconnecting" } })).toBe(true);
    const dials = h.signalingCommands.length;
    expect(dials).toBe(30);
    await vi.advanceTimersByTimeAsync(1_000);
    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    expect(h.actor.getSnapshot().matches({ inCall: { signaling: "offline" } })).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.signalingCommands).toHaveLength(dials);
    h.actor.send({ type: "RETRY_SIGNALING" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(h.signalingCommands).toHaveLength(dials + 1);
  });

  it("re-registers within 2 s of the server coming back from a restart; media never stops", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    liveCallTo(h, "bob").report({ type: "CALL.ICE_STATE", state: "connected" });
    const bobStates = new Set<unknown>();
    h.actor.getSnapshot().context.peers["bob"]!.subscribe((s) => bobStates.add(peerStatus(s)));

    // The server goes away for ~15 s: every re-dial fails straight away (connection refused).
    h.signaling({ type: "SIGNALING.DISCONNECTED" });
    const downAt = Date.now();
    while (Date.now() - downAt < 15_000) {
      const before = h.signalingCommands.length;
      await vi.advanceTimersByTimeAsync(100);
      if (h.signalingCommands.length > before) {
        h.signaling({ type: "SIGNALING.ERROR", reason: "network" });
        h.signaling({ type: "SIGNALING.DISCONNECTED" });
      }
    }
    // Back up: the next re-dial (at most 2 s away) succeeds with the same peer id.
    const upAt = Date.now();
    const before = h.signalingCommands.length;
    while (h.signalingCommands.length === before) await vi.advanceTimersByTimeAsync(100);
    expect(Date.now() - upAt).toBeLessThanOrEqual(2_000);
    h.signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
    expect(h.actor.getSnapshot().matches({ inCall: { signaling: "online" } })).toBe(true);
    expect([...bobStates]).toEqual(["connected"]);
    expect(h.calls.calls).toHaveLength(1);

    // The room feed reopens with a snapshot; the existing link is kept, a newcomer is dialled.
    h.room({ type: "ROOM.SNAPSHOT", participants: [participant("bob", T0), participant("newcomer", T0)] });
    expect(h.peer("bob")?.value).toBe("connected");
    expect(h.peer("newcomer")?.value).toBe("calling");
  });
});

describe("link reports from the room", () => {
  const report = (peerId: string, reporterPeerId: string, state: LinkState, attempt?: number): RoomFeedEvent => ({
    type: "ROOM.EVENT",
    event: {
      type: "connection-state",
      sessionId: SESSION,
      userId: peerId,
      peerId,
      reporterPeerId,
      state,
      ...(attempt !== undefined ? { attempt, maxAttempts: 3 } : {}),
    },
  });

  it("keeps each reporter's report until they report the link connected or someone leaves", async () => {
    const h = await joined({ room: [participant("bob", T0), participant("carol", T0)] });
    h.room(report("bob", "carol", "reconnecting", 2));
    h.room(report("carol", "me-peer", "reconnecting", 1)); // ours: it tells who the troubled end is
    h.room(report("stranger", "carol", "lost")); // not in our call
    h.room(report("bob", "stranger", "lost"));
    expect(h.actor.getSnapshot().context.linkReports).toEqual({
      bob: { carol: { state: "reconnecting", attempt: 2, maxAttempts: 3 } },
      carol: { "me-peer": { state: "reconnecting", attempt: 1, maxAttempts: 3 } },
    });
    h.room(report("bob", "carol", "connected"));
    expect(h.actor.getSnapshot().context.linkReports).toEqual({
      carol: { "me-peer": { state: "reconnecting", attempt: 1, maxAttempts: 3 } },
    });
    h.room(report("bob", "carol", "lost"));
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "carol", peerId: "carol", reason: "DROPPED" },
    });
    // Gone with Carol: the reports about her and the ones she made.
    expect(h.actor.getSnapshot().context.linkReports).toEqual({});
  });

  it("forgets reports about, or by, people missing from a fresh snapshot", async () => {
    const h = await joined({ room: [participant("bob", T0), participant("carol", T0)] });
    h.room(report("bob", "me-peer", "reconnecting", 1));
    h.room(report("carol", "me-peer", "reconnecting", 3));
    h.room(report("carol", "bob", "reconnecting", 2));
    h.room({ type: "ROOM.SNAPSHOT", participants: [participant("carol", T0)] });
    expect(h.actor.getSnapshot().context.linkReports).toEqual({
      carol: { "me-peer": { state: "reconnecting", attempt: 3, maxAttempts: 3 } },
    });
  });

  it("passes the server's ICE transport policy to the signaling actor", async () => {
    const h = await joined();
    expect(h.signalingInputs[0]).toMatchObject({ peerId: "me-peer", iceTransportPolicy: "all" });
  });
});

describe("leaving", () => {
  it("leaves the session, stops every peer and releases the devices", async () => {
    const h = await joined({ room: [participant("bob", T0)] });
    h.actor.send({ type: "LEAVE" });
    await flush();
    expect(h.value()).toBe("left");
    expect(h.leaves).toEqual([{ studyId: STUDY, sessionId: SESSION }]);
    expect(h.calls.live()).toHaveLength(0);
    expect(h.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [mic, camera] });
    expect(h.actor.getSnapshot().status).toBe("done");
  });

  it("joining from another tab ends this one as replaced, not left, and lets its camera go", async () => {
    const h = await joined();
    h.room({
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "me", peerId: "me-peer", reason: "LEFT", replaced: true },
    });
    expect(h.value()).toBe("left");
    expect(h.actor.getSnapshot().context.endReason).toBe("replaced");
    expect(h.trackCommands.at(-1)).toEqual({ type: "TRACKS.RELEASE", tracks: [mic, camera] });
    expect(h.leaves).toEqual([]);
  });

  it("ends when the session ends, and offers a rejoin when the server dropped us", async () => {
    const h = await joined();
    h.room({ type: "ROOM.EVENT", event: { type: "session-ended", sessionId: SESSION, endedAt: T1 } });
    expect(h.value()).toBe("left");
    expect(h.actor.getSnapshot().context.endReason).toBe("session-ended");

    const h2 = await joined();
    h2.room({
      type: "ROOM.EVENT",
      event: { type: "user-left", sessionId: SESSION, userId: "me", peerId: "me-peer", reason: "DROPPED" },
    });
    expect(h2.value()).toBe("joinFailed");
    expect(h2.actor.getSnapshot().context.joinError?.reason).toBe("network");
  });
});
