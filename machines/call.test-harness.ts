/**
 * A joined call machine with fake actors, for the call machine's tests of what happens in the
 * room (host controls, push-to-talk): the test drives the room feed and signaling and reads what
 * the machine published, asked of the tracks, and sent to the server.
 */
import { vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import type {
  HostActionInput,
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
import { peerMachine } from "./peer.machine";
import type { CallPermissions, ModerationEvent, RoomEvent, RoomParticipant } from "./room-protocol";
import {
  controllablePromise,
  fakeMediaCalls,
  fakeSignalingHandle,
  fakeStream,
  fakeTrack,
  participant,
} from "./test-utils";

export const SESSION = "session-1";
export const T1 = "2024-05-01T10:01:00.000Z";
export const ME = "me-peer";
export const mic = fakeTrack("audio-mic");
export const camera = fakeTrack("video-camera");
export const screenTrack = fakeTrack("video-screen");

/**
 * Devices granted (no microphone when `noMic`), joined as ME (a host when `host`), the room holding
 * `room`; signaling open unless `open: false`. Host actions wait in `hostActions` for the test to settle.
 */
export async function inCall(
  opts: {
    host?: boolean;
    room?: RoomParticipant[];
    open?: boolean;
    joined?: Partial<RoomParticipant>;
    noMic?: boolean;
  } = {},
) {
  const published: PublishMediaInput[] = [];
  const trackCommands: LocalTracksCommand[] = [];
  const signalingCommands: SignalingCommand[] = [];
  const leaves: SessionRef[] = [];
  const display = controllablePromise<void, ScreenMedia>();
  const hostActions = controllablePromise<HostActionInput, void>();
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
          audioTrack: opts.noMic ? null : mic,
          videoTrack: camera,
        })),
        displayMedia: display.logic,
        hostAction: hostActions.logic,
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
    hostActions,
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

export const moderation = (
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

export const permissions = (p: Partial<CallPermissions>): RoomEvent => ({
  type: "permissions-changed",
  sessionId: SESSION,
  permissions: { unmute: "everyone", camera: "everyone", screenShare: "everyone", locked: false, ...p },
});

export const flush = () => vi.advanceTimersByTimeAsync(0);
