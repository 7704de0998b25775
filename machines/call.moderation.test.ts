// The call machine obeying host controls (room `moderation` / `permissions-changed` / `user-left` KICKED events), with fake actors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  JoinCallInput,
  JoinedCall,
  LocalMedia,
  LocalTracksCommand,
  PublishMediaInput,
  RequestMediaInput,
  RoomFeedEvent,
  ScreenMedia,
  SessionRef,
  SignalingCommand,
  SignalingEvent,
  SignalingInput,
} from "./call.contracts";
import { callMachine } from "./call.machine";
import { permissionWithheld } from "./call.setup";
import { peerMachine } from "./peer.machine";
import type { CallPermissions, ModerationEvent, RoomEvent, RoomParticipant } from "./room-protocol";
import {
  controllablePromise,
  fakeCallHandle,
  fakeMediaCalls,
  fakeSignalingHandle,
  fakeStream,
  fakeTrack,
  participant,
} from "./test-utils";

const SESSION = "session-1";
const T1 = "2024-05-01T10:01:00.000Z";
const ME = "me-peer";
const mic = fakeTrack("audio-mic");
const camera = fakeTrack("video-camera");
const screenTrack = fakeTrack("video-screen");

/** Devices granted, joined as ME (a host when `host`), the room holding `room`; signaling open unless `open: false`. */
async function inCall(
  opts: { host?: boolean; room?: RoomParticipant[]; open?: boolean; joined?: Partial<RoomParticipant> } = {},
) {
  const published: PublishMediaInput[] = [];
  const trackCommands: LocalTracksCommand[] = [];
  const signalingCommands: SignalingCommand[] = [];
  const leaves: SessionRef[] = [];
  const display = controllablePromise<void, ScreenMedia>();
  const calls = fakeMediaCalls();
  let sendSignaling: ((e: SignalingEvent) => void) | null = null;
  let sendRoom: ((e: RoomFeedEvent) => void) | null = null;
  const join: JoinedCall = {
    sessionId: SESSION,
    peerId: ME,
    iceServers: [],
    participant: participant(ME, T1, { userId: "me", name: "Me", host: opts.host ?? false, ...opts.joined }),
  };
  const actor = createActor(
    callMachine.provide({
      actors: {
        requestMedia: fromPromise<LocalMedia, RequestMediaInput>(async () => ({
          stream: fakeStream("cam"),
          audioTrack: mic,
          videoTrack: camera,
        })),
        displayMedia: display.logic,
        joinCall: fromPromise<JoinedCall, JoinCallInput>(async () => join),
        publishMedia: fromPromise<void, PublishMediaInput>(async ({ input }) => {
          published.push(input);
        }),
        leaveCall: fromPromise<void, SessionRef>(async ({ input }) => {
          leaves.push(input);
        }),
        localTracks: fromCallback<LocalTracksCommand, void>(({ receive }) => {
          receive((c) => trackCommands.push(c));
        }),
        signaling: fromCallback<SignalingCommand, SignalingInput>(({ sendBack, receive }) => {
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
        watchScreenTrack: fromCallback(() => undefined),
        heartbeat: fromCallback(() => undefined),
        peer: peerMachine.provide({ actors: calls.actors }),
      },
    }),
    { input: { studyId: "study-1", sessionId: SESSION, self: { userId: "me", name: "Me" } } },
  );
  actor.start();
  await vi.advanceTimersByTimeAsync(0);
  actor.send({ type: "JOIN" });
  await vi.advanceTimersByTimeAsync(0);
  const signaling = (e: SignalingEvent) => {
    if (!sendSignaling) throw new Error("signaling actor not running");
    sendSignaling(e);
  };
  if (opts.open !== false) signaling({ type: "SIGNALING.OPEN", handle: fakeSignalingHandle() });
  sendRoom!({ type: "ROOM.SNAPSHOT", participants: [join.participant, ...(opts.room ?? [])] });
  await vi.advanceTimersByTimeAsync(0);
  const c = {
    actor,
    published,
    trackCommands,
    signalingCommands,
    leaves,
    display,
    calls,
    signaling,
    signalingRunning: () => sendSignaling !== null,
    room: (event: RoomEvent) => {
      if (!sendRoom) throw new Error("room feed not running");
      sendRoom({ type: "ROOM.EVENT", event });
    },
    region: (name: "audio" | "video" | "screen" | "signaling") =>
      (actor.getSnapshot().value as { inCall: Record<string, unknown> }).inCall[name],
    context: () => actor.getSnapshot().context,
  };
  return c;
}

const moderation = (
  action: ModerationEvent["action"],
  targetPeerId: string | null,
  extra: Partial<ModerationEvent> = {},
) =>
  ({
    type: "moderation",
    sessionId: SESSION,
    action,
    actorId: "alice",
    actorName: "Alice",
    targetId: targetPeerId ? `user-${targetPeerId}` : null,
    targetPeerId,
    ...extra,
  }) satisfies ModerationEvent;

const permissions = (p: Partial<CallPermissions>): RoomEvent => ({
  type: "permissions-changed",
  sessionId: SESSION,
  permissions: { unmute: "everyone", camera: "everyone", screenShare: "everyone", locked: false, ...p },
});

const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

describe("forced mute", () => {
  it("a host's mute while the mic is on turns it off, silences the track, publishes and says who", async () => {
    const c = await inCall();
    expect(c.region("audio")).toBe("on");
    c.room(moderation("mute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    expect(c.published.at(-1)).toMatchObject({ audio: false });
    expect(c.context().notice).toEqual({ kind: "muted", by: "Alice" });
    // The user may unmute themselves: nobody is unmuted by someone else, and nobody is kept muted.
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(c.region("audio")).toBe("on");
    expect(c.published.at(-1)).toMatchObject({ audio: true });
  });

  it("a mute aimed at someone else changes nothing here; mute-all spares hosts", async () => {
    const c = await inCall({ room: [participant("bob-peer", T1)] });
    c.room(moderation("mute", "bob-peer"));
    await flush();
    expect(c.region("audio")).toBe("on");
    expect(c.context().notice).toBeNull();
    const host = await inCall({ host: true });
    host.room(moderation("mute-all", null));
    await flush();
    expect(host.region("audio")).toBe("on");
    c.room(moderation("mute-all", null));
    await flush();
    expect(c.region("audio")).toBe("off");
  });

  it("ask-unmute only shows the notice; Stay muted dismisses it", async () => {
    const c = await inCall();
    c.room(moderation("mute", ME));
    c.room(moderation("ask-unmute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.context().notice).toEqual({ kind: "ask-unmute", by: "Alice" });
    c.actor.send({ type: "DISMISS_NOTICE" });
    expect(c.context().notice).toBeNull();
    expect(c.region("audio")).toBe("off");
  });
});

describe("permissions", () => {
  it("unmute kept to hosts mutes a member and refuses their unmute; a host keeps theirs", async () => {
    const c = await inCall();
    c.room(permissions({ unmute: "hosts" }));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(permissionWithheld(c.context(), "unmute")).toBe(true);
    const before = c.published.length;
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.published).toHaveLength(before);
    const host = await inCall({ host: true });
    host.room(permissions({ unmute: "hosts" }));
    await flush();
    expect(host.region("audio")).toBe("on");
    expect(permissionWithheld(host.context(), "unmute")).toBe(false);
  });

  it("screen share withdrawn during a share stops it; a new share is refused until it is given back", async () => {
    const c = await inCall();
    c.actor.send({ type: "START_SHARE" });
    c.display.pending[0]!.resolve({ stream: fakeStream("screen"), videoTrack: screenTrack });
    await flush();
    expect(c.region("screen")).toBe("on");
    c.room(permissions({ screenShare: "hosts" }));
    await flush();
    expect(c.region("screen")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [screenTrack] });
    expect(c.published.at(-1)).toMatchObject({ screen: false });
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("off");
    expect(c.display.pending).toHaveLength(1);
    c.room(permissions({ screenShare: "everyone" }));
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("starting");
  });

  it("screen share withdrawn while the picker is open: the share never starts", async () => {
    const c = await inCall();
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("starting");
    c.room(permissions({ screenShare: "hosts" }));
    await flush();
    expect(c.region("screen")).toBe("off");
  });

  it("camera withdrawn turns the camera off and lets it go", async () => {
    const c = await inCall();
    expect(c.region("video")).toBe("on");
    c.room(permissions({ camera: "hosts" }));
    await flush();
    expect(c.region("video")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(c.published.at(-1)).toMatchObject({ video: false });
  });

  it("a join the server started muted (unmute kept to hosts) silences the mic and publishes nothing", async () => {
    const c = await inCall({ joined: { audio: false } });
    expect(c.region("audio")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    expect(c.published).toEqual([]);
  });
});

describe("removal", () => {
  it("while connecting to signaling: out at once, kicked, told by whom, media released, no leave request", async () => {
    const c = await inCall({ open: false });
    expect(c.region("signaling")).toBe("connecting");
    c.room(moderation("remove", ME, { ban: true }));
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.context().endReason).toBe("kicked");
    expect(c.context().notice).toEqual({ kind: "removed", by: "Alice" });
    expect(c.leaves).toEqual([]);
    expect(c.trackCommands.at(-1)).toEqual({ type: "TRACKS.RELEASE", tracks: [mic, camera] });
    expect(c.signalingRunning()).toBe(false);
  });

  it("a ban arriving while signaling re-dials: out, and no more re-dials", async () => {
    const c = await inCall();
    c.signaling({ type: "SIGNALING.DISCONNECTED" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.region("signaling")).toEqual({ reconnecting: "dialing" });
    const dials = c.signalingCommands.length;
    // Only the user-left reaches us (the moderation event was missed): the same end.
    c.room({ type: "user-left", sessionId: SESSION, userId: "me", peerId: ME, reason: "KICKED" });
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.context().endReason).toBe("kicked");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.signalingCommands).toHaveLength(dials);
  });

  it("while signaling is reconnecting (waiting to re-dial)", async () => {
    const c = await inCall();
    c.signaling({ type: "SIGNALING.DISCONNECTED" });
    await flush();
    expect(c.region("signaling")).toEqual({ reconnecting: "waiting" });
    c.room(moderation("remove", ME));
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.signalingCommands).toEqual([]);
  });

  it("others hang up on a removed peer and refuse its calls", async () => {
    const c = await inCall({ room: [participant("bob-peer", T1), participant("carol-peer", T1)] });
    expect(Object.keys(c.context().peers).sort()).toEqual(["bob-peer", "carol-peer"]);
    c.room({ type: "user-left", sessionId: SESSION, userId: "user-bob-peer", peerId: "bob-peer", reason: "KICKED" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
    expect(c.calls.live().some((x) => x.remotePeerId === "bob-peer")).toBe(false);
    const call = fakeCallHandle("from-bob");
    c.signaling({ type: "SIGNALING.INCOMING_CALL", call, remotePeerId: "bob-peer" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
    expect(c.signalingCommands).toContainEqual({ type: "REJECT_CALL", call });
    // Someone who merely left may call again (a rejoin gets a new peer id anyway).
    c.room({ type: "user-left", sessionId: SESSION, userId: "user-carol-peer", peerId: "carol-peer", reason: "LEFT" });
    c.signaling({ type: "SIGNALING.INCOMING_CALL", call: fakeCallHandle(), remotePeerId: "carol-peer" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
  });
});
