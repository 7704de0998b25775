/**
 * The local side of a study-room call: devices before joining, the server session, the PeerJS
 * signaling socket, and one peer machine per remote participant. All I/O is done by the named
 * actors below; the browser implementations live in actors/browser.ts.
 */
import {
  type ActorRefFrom,
  type EventObject,
  assign,
  enqueueActions,
  fromCallback,
  fromPromise,
  sendTo,
  setup,
} from "xstate";
import { JoinError, toJoinError, toMediaError, type MediaError, type MediaErrorReason } from "./errors";
import type { CallHandle, SignalingHandle } from "./handles";
import { keepReportsAmong, recordReport, type LinkReport, type LinkReports } from "./link-reports";
import { type PeerParentEvent, peerMachine, shouldCall } from "./peer.machine";
import { bitrateBudget } from "./quality";
import { MAX_RECONNECT_ATTEMPTS, RECONNECT_GIVE_UP_AFTER_MS } from "./reconnect-policy";
import type { IceServer, JoinResult, LinkState, MediaFlags, RoomEvent, RoomParticipant } from "./room-protocol";

// ---------------------------------------------------------------------------------------------
// Signaling re-dial policy
// ---------------------------------------------------------------------------------------------

/** Gap before signaling re-dial n (1-based); the last entry repeats. */
export const SIGNALING_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000];

/**
 * When the PeerServer socket drops we keep re-dialling every 2 s (after a first 1 s try) until a
 * minute has passed since the drop, then show "Reconnect". Unlike a peer link, losing signaling
 * costs nothing that is flowing, and a server restart takes many seconds: the short steady gap
 * means we are back within ~2 s of the server, well inside its boot grace for our peer id.
 *
 * @returns the delay before re-dial `attempt`, or null when we should give up.
 */
export function nextSignalingRetryDelay(attempt: number, elapsedMs: number): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) return null;
  if (!Number.isFinite(elapsedMs) || elapsedMs >= RECONNECT_GIVE_UP_AFTER_MS) return null;
  return SIGNALING_RETRY_DELAYS_MS[Math.min(attempt, SIGNALING_RETRY_DELAYS_MS.length) - 1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Actor contracts
// ---------------------------------------------------------------------------------------------

export interface RequestMediaInput {
  audio: boolean;
  video: boolean;
  audioDeviceId: string | null;
  videoDeviceId: string | null;
}

/** Tracks are handed out separately so the machine never has to call methods on the stream. */
export interface LocalMedia {
  stream: MediaStream;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
}

export interface ScreenMedia {
  stream: MediaStream;
  videoTrack: MediaStreamTrack;
}

export type JoinedCall = JoinResult & { sessionId: string };

export interface JoinCallInput {
  studyId: string;
  /** Null: start the study's session if none is running, else join the running one. */
  sessionId: string | null;
}

export interface SignalingInput {
  peerId: string;
  iceServers: IceServer[];
  /** "relay" forces every call through TURN (server config ICE_TRANSPORT_POLICY). */
  iceTransportPolicy: "all" | "relay";
}

export type SignalingEvent =
  | { type: "SIGNALING.OPEN"; handle: SignalingHandle }
  | { type: "SIGNALING.INCOMING_CALL"; call: CallHandle; remotePeerId: string }
  | { type: "SIGNALING.DISCONNECTED" }
  | { type: "SIGNALING.CLOSED" }
  /** remotePeerId is set when the error concerns one outgoing call (PeerJS "peer-unavailable"). */
  | { type: "SIGNALING.ERROR"; reason: string; remotePeerId?: string };

export type SignalingCommand = { type: "RECONNECT" };

export interface SessionRef {
  studyId: string;
  sessionId: string;
}

export type RoomFeedEvent =
  { type: "ROOM.SNAPSHOT"; participants: RoomParticipant[] } | { type: "ROOM.EVENT"; event: RoomEvent };

export interface PublishMediaInput extends MediaFlags {
  sessionId: string;
}

export interface ReportLinkInput {
  sessionId: string;
  remotePeerId: string;
  state: LinkState;
  attempt: number;
  maxAttempts: number;
}

export type LocalTracksCommand =
  /** Tracks the actor must stop when the call machine stops (camera light off). */
  | { type: "TRACKS.ADOPT"; tracks: MediaStreamTrack[] }
  | { type: "TRACKS.ENABLE"; track: MediaStreamTrack; enabled: boolean }
  | { type: "TRACKS.RELEASE"; tracks: MediaStreamTrack[] };

export interface WatchTrackInput {
  track: MediaStreamTrack;
}

// ---------------------------------------------------------------------------------------------
// Machine types
// ---------------------------------------------------------------------------------------------

export interface CallInput {
  studyId: string;
  sessionId: string | null;
  self: { userId: string; name: string };
  /** Ask for camera and microphone as soon as the prejoin screen opens (default true). */
  autoStartMedia?: boolean;
}

export type DeviceKind = "audio" | "video";

export type CallEvent =
  /** `sessionId`: the running call the page already knows of, so joining skips the start request. */
  | { type: "JOIN"; sessionId?: string | null }
  | { type: "LEAVE" }
  | { type: "RETRY" }
  | { type: "RETRY_DEVICES" }
  | { type: "SELECT_DEVICE"; kind: DeviceKind; deviceId: string }
  | { type: "TOGGLE_AUDIO" }
  | { type: "TOGGLE_VIDEO" }
  | { type: "START_SHARE" }
  | { type: "STOP_SHARE" }
  | { type: "SCREEN_TRACK_ENDED" }
  | { type: "RETRY_PEER"; peerId: string }
  | { type: "RETRY_SIGNALING" }
  | { type: "MEDIA.CHANGED" }
  | SignalingEvent
  | RoomFeedEvent
  | PeerParentEvent;

export type PeerRef = ActorRefFrom<typeof peerMachine>;

export type CallEndReason = "left" | "session-ended" | "kicked";

export interface CallContext {
  studyId: string;
  sessionId: string | null;
  self: { userId: string; name: string };
  autoStartMedia: boolean;
  devices: { audio: string | null; video: string | null };
  localStream: MediaStream | null;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  screenStream: MediaStream | null;
  screenTrack: MediaStreamTrack | null;
  /** What the user chose on the prejoin screen; applied when the call starts. */
  wantAudio: boolean;
  wantVideo: boolean;
  mediaError: MediaError | null;
  joinError: JoinError | null;
  join: JoinedCall | null;
  signaling: SignalingHandle | null;
  signalingAttempt: number;
  signalingFailedSince: number | null;
  /** One peer machine per remote participation, keyed by its peerId. */
  peers: Record<string, PeerRef>;
  /**
   * What members report about each other's links (room `connection-state` events), per reporter,
   * ours and the ones about us included: together they tell whose network is in trouble, so a
   * tile can say "Reconnecting (2/3)" even while our own link to that person is fine
   * (reportedTrouble in link-reports.ts).
   */
  linkReports: LinkReports;
  participants: Record<string, RoomParticipant>;
  /** Flags as published to the room. */
  media: MediaFlags;
  publishPending: boolean;
  endReason: CallEndReason | null;
}

export const peerChildId = (peerId: string) => `peer:${peerId}`;

/** A spawned reportLink child finished (their ids start with "reportLink."). */
type ReportSettledEvent =
  | { type: `xstate.done.actor.reportLink.${string}`; actorId: string }
  | { type: `xstate.error.actor.reportLink.${string}`; actorId: string; error: unknown };

function placeholderParticipant(peerId: string): RoomParticipant {
  return {
    userId: "",
    name: "",
    avatarUrl: null,
    peerId,
    joinedAt: new Date().toISOString(),
    audio: false,
    video: false,
    screen: false,
  };
}

const missing = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`${name} actor not provided`)));
const missingCallback = <TEvent extends EventObject, TInput>(_name: string) =>
  fromCallback<TEvent, TInput>(() => undefined);

export const callMachine = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallEvent | ReportSettledEvent,
    input: {} as CallInput,
  },
  actors: {
    requestMedia: missing<LocalMedia, RequestMediaInput>("requestMedia"),
    displayMedia: missing<ScreenMedia, void>("displayMedia"),
    watchScreenTrack: missingCallback<EventObject, WatchTrackInput>("watchScreenTrack"),
    localTracks: missingCallback<LocalTracksCommand, void>("localTracks"),
    joinCall: missing<JoinedCall, JoinCallInput>("joinCall"),
    signaling: missingCallback<SignalingCommand, SignalingInput>("signaling"),
    roomEvents: missingCallback<EventObject, SessionRef>("roomEvents"),
    heartbeat: missingCallback<EventObject, SessionRef>("heartbeat"),
    publishMedia: missing<void, PublishMediaInput>("publishMedia"),
    reportLink: missing<void, ReportLinkInput>("reportLink"),
    leaveCall: missing<void, SessionRef>("leaveCall"),
    peer: peerMachine,
  },
  delays: {
    signalingRetryDelay: ({ context }) =>
      nextSignalingRetryDelay(context.signalingAttempt, Date.now() - (context.signalingFailedSince ?? Date.now())) ?? 0,
    signalingOpenTimeout: 10_000,
  },
  guards: {
    autoStartMedia: ({ context }) => context.autoStartMedia,
    mediaErrorIs: ({ event }, params: { reason: MediaErrorReason }) =>
      "error" in event && toMediaError(event.error).reason === params.reason,
    audioPublished: ({ context }) => context.media.audio,
    videoPublished: ({ context }) => context.media.video,
    hasMic: ({ context }) => context.audioTrack !== null,
    hasCamera: ({ context }) => context.videoTrack !== null,
    wantsNoVideo: ({ context }) => !context.wantVideo,
    publishPending: ({ context }) => context.publishPending,
    mediaMatchesJoin: ({ context }) => {
      const joined = context.join?.participant;
      return (
        !!joined &&
        joined.audio === context.media.audio &&
        joined.video === context.media.video &&
        joined.screen === context.media.screen
      );
    },
    selectsKind: ({ event }, params: { kind: DeviceKind }) =>
      event.type === "SELECT_DEVICE" && event.kind === params.kind,
    canRetrySignaling: ({ context }) =>
      nextSignalingRetryDelay(
        context.signalingAttempt + 1,
        Date.now() - (context.signalingFailedSince ?? Date.now()),
      ) !== null,
  },
  actions: {
    storeLocalMedia: enqueueActions(({ context, event, enqueue }) => {
      if (!("output" in event)) return;
      const media = event.output as LocalMedia;
      const tracks = [media.audioTrack, media.videoTrack].filter((t): t is MediaStreamTrack => t !== null);
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks });
      // The preview follows the prejoin toggles the user already set; a camera turned off while
      // the browser was still asking is let go at once.
      if (media.audioTrack)
        enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track: media.audioTrack, enabled: context.wantAudio });
      const videoTrack = context.wantVideo ? media.videoTrack : null;
      if (media.videoTrack && !videoTrack)
        enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [media.videoTrack] });
      enqueue.assign({
        localStream: media.stream,
        audioTrack: media.audioTrack,
        videoTrack,
        mediaError: null,
      });
    }),
    storeMediaError: assign({
      mediaError: ({ event }) => ("error" in event ? toMediaError(event.error) : null),
    }),
    releaseLocalMedia: enqueueActions(({ context, enqueue }) => {
      const tracks = [context.audioTrack, context.videoTrack].filter((t): t is MediaStreamTrack => t !== null);
      if (tracks.length) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks });
      enqueue.assign({ localStream: null, audioTrack: null, videoTrack: null });
    }),
    selectDevice: assign({
      devices: ({ context, event }) =>
        event.type === "SELECT_DEVICE" ? { ...context.devices, [event.kind]: event.deviceId } : context.devices,
    }),
    toggleWant: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const want = params.kind === "audio" ? !context.wantAudio : !context.wantVideo;
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track, enabled: want });
      enqueue.assign(params.kind === "audio" ? { wantAudio: want } : { wantVideo: want });
    }),
    storeJoin: assign(({ event }) => {
      const join = (event as unknown as { output: JoinedCall }).output;
      return { join, sessionId: join.sessionId, joinError: null, endReason: null };
    }),
    rememberSession: assign({
      sessionId: ({ context, event }) =>
        event.type === "JOIN" && event.sessionId ? event.sessionId : context.sessionId,
    }),
    storeJoinError: assign({
      joinError: ({ event }) => ("error" in event ? toJoinError(event.error) : null),
    }),
    initPublishedMedia: assign(({ context }) => ({
      media: {
        audio: context.wantAudio && context.audioTrack !== null,
        video: context.wantVideo && context.videoTrack !== null,
        screen: false,
      },
      publishPending: false,
    })),
    setFlag: enqueueActions(({ context, enqueue }, params: { kind: keyof MediaFlags; on: boolean }) => {
      if (params.kind === "audio" && context.audioTrack) {
        enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track: context.audioTrack, enabled: params.on });
      }
      if (params.kind === "video" && context.videoTrack) {
        enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track: context.videoTrack, enabled: params.on });
      }
      enqueue.assign({ media: { ...context.media, [params.kind]: params.on } });
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    storeAcquired: enqueueActions(({ context, event, enqueue }, params: { kind: DeviceKind }) => {
      if (!("output" in event)) return;
      const media = event.output as LocalMedia;
      const track = params.kind === "audio" ? media.audioTrack : media.videoTrack;
      if (!track) return;
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks: [track] });
      enqueue.assign(params.kind === "audio" ? { audioTrack: track } : { videoTrack: track });
      if (!context.localStream) enqueue.assign({ localStream: media.stream });
      // Calls were negotiated with placeholder tracks; swap the real one in, unless the video
      // sender is busy with a screen share (the camera comes back when sharing stops).
      const command =
        params.kind === "audio"
          ? ({ type: "REPLACE_AUDIO_TRACK", track } as const)
          : context.screenTrack
            ? null
            : ({ type: "REPLACE_VIDEO_TRACK", track } as const);
      if (command) for (const ref of Object.values(context.peers)) enqueue.sendTo(ref, command);
    }),
    /**
     * Camera off lets go of the camera, so its light goes out, as people expect; turning it on
     * asks for it again (the `acquiring` state). Peers stop getting video (they show the avatar
     * from the published flags); while sharing, their senders carry the screen and stopping the
     * share puts no camera back.
     */
    releaseCamera: enqueueActions(({ context, enqueue }) => {
      if (!context.videoTrack) return;
      enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [context.videoTrack] });
      if (!context.screenTrack) {
        for (const ref of Object.values(context.peers))
          enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: null });
      }
      enqueue.assign({ videoTrack: null });
    }),
    releaseTrack: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [track] });
    }),
    enableAsPublished: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track, enabled: context.media[params.kind] });
    }),
    startScreen: enqueueActions(({ context, event, enqueue }) => {
      if (!("output" in event)) return;
      const screen = event.output as ScreenMedia;
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks: [screen.videoTrack] });
      enqueue.assign({
        screenStream: screen.stream,
        screenTrack: screen.videoTrack,
        media: { ...context.media, screen: true },
        mediaError: null,
      });
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: screen.videoTrack });
      }
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    stopScreen: enqueueActions(({ context, enqueue }) => {
      if (context.screenTrack) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [context.screenTrack] });
      // Back to the camera; with the camera off that is no track at all, never the shared screen's
      // last frame.
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: context.videoTrack });
      }
      enqueue.assign({ screenStream: null, screenTrack: null, media: { ...context.media, screen: false } });
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    markPublishPending: assign({ publishPending: true }),
    clearPublishPending: assign({ publishPending: false }),
    signalingUp: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "SIGNALING.OPEN") return;
      enqueue.assign({ signaling: event.handle, signalingAttempt: 0, signalingFailedSince: null });
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "SIGNALING.UP", signaling: event.handle });
      }
    }),
    signalingDown: enqueueActions(({ context, enqueue }) => {
      // Established calls are peer-to-peer and keep flowing; only new dials must wait.
      for (const ref of Object.values(context.peers)) enqueue.sendTo(ref, { type: "SIGNALING.DOWN" });
      enqueue.assign({ signaling: null, signalingAttempt: 1, signalingFailedSince: Date.now() });
    }),
    countSignalingAttempt: assign({ signalingAttempt: ({ context }) => context.signalingAttempt + 1 }),
    restartSignalingAttempts: assign({ signalingAttempt: 1, signalingFailedSince: () => Date.now() }),
    reconnectSignaling: sendTo("signaling", { type: "RECONNECT" }),
    failJoinOnSignaling: assign({
      joinError: ({ event }) =>
        new JoinError("signaling", event.type === "SIGNALING.ERROR" ? event.reason : "signaling server unreachable"),
    }),

    /**
     * Reconciles peer machines with a full participant list: the room as the join saw it (so
     * dialling starts as soon as signaling is up), then each snapshot of the room feed.
     */
    syncPeers: enqueueActions(({ context, event, enqueue }) => {
      const participants = event.type === "ROOM.SNAPSHOT" ? event.participants : context.join?.participants;
      if (!participants || !context.join) return;
      const selfPeerId = context.join.peerId;
      const remotes = participants.filter((p) => p.peerId !== selfPeerId);
      const present = new Set(remotes.map((p) => p.peerId));
      for (const [peerId, ref] of Object.entries(context.peers)) {
        if (!present.has(peerId)) enqueue.stopChild(ref);
      }
      for (const p of remotes) {
        const ref = context.peers[p.peerId];
        if (ref) enqueue.sendTo(ref, { type: "REMOTE_UPDATED", remote: p });
      }
      enqueue.assign({
        linkReports: keepReportsAmong(context.linkReports, new Set([...present, selfPeerId])),
        participants: Object.fromEntries(remotes.map((p) => [p.peerId, p])),
        peers: ({ context: ctx, spawn }) => {
          const next: Record<string, PeerRef> = {};
          for (const p of remotes) {
            next[p.peerId] =
              ctx.peers[p.peerId] ?? spawn("peer", { id: peerChildId(p.peerId), input: peerInput(ctx, p, null) });
          }
          return next;
        },
      });
    }),
    handleRoomEvent: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "ROOM.EVENT" || !context.join) return;
      const e = event.event;
      const selfPeerId = context.join.peerId;
      if ("sessionId" in e && e.sessionId !== context.join.sessionId) return;
      switch (e.type) {
        case "user-joined": {
          const p = e.participant;
          if (p.peerId === selfPeerId) return;
          enqueue.assign({ participants: { ...context.participants, [p.peerId]: p } });
          const existing = context.peers[p.peerId];
          if (existing) {
            enqueue.sendTo(existing, { type: "REMOTE_UPDATED", remote: p });
            return;
          }
          enqueue.assign({
            peers: ({ context: ctx, spawn }) => ({
              ...ctx.peers,
              [p.peerId]: spawn("peer", { id: peerChildId(p.peerId), input: peerInput(ctx, p, null) }),
            }),
          });
          return;
        }
        case "user-left": {
          if (e.peerId === selfPeerId) return;
          const ref = context.peers[e.peerId];
          if (ref) enqueue.stopChild(ref);
          const { [e.peerId]: _gone, ...peers } = context.peers;
          const { [e.peerId]: _left, ...participants } = context.participants;
          const linkReports = keepReportsAmong(
            context.linkReports,
            new Set([...Object.keys(participants), selfPeerId]),
          );
          enqueue.assign({ peers, participants, linkReports });
          return;
        }
        case "connection-state": {
          // Reports about us count too: they tell who the troubled end of a link is.
          const known = (peerId: string) => peerId === selfPeerId || !!context.participants[peerId];
          if (!known(e.peerId) || !known(e.reporterPeerId)) return;
          const report: LinkReport = {
            state: e.state,
            ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
            ...(e.maxAttempts !== undefined ? { maxAttempts: e.maxAttempts } : {}),
          };
          enqueue.assign({ linkReports: recordReport(context.linkReports, e.reporterPeerId, e.peerId, report) });
          return;
        }
        case "media-changed": {
          const flags: MediaFlags = { audio: e.audio, video: e.video, screen: e.screen };
          const ref = context.peers[e.peerId];
          if (ref) enqueue.sendTo(ref, { type: "REMOTE_MEDIA", flags });
          const p = context.participants[e.peerId];
          if (p) enqueue.assign({ participants: { ...context.participants, [e.peerId]: { ...p, ...flags } } });
          return;
        }
        default:
          return;
      }
    }),
    /** Splits the uplink budget across however many remotes there are now. */
    applyBudget: enqueueActions(({ context, enqueue }) => {
      const refs = Object.values(context.peers);
      const budget = bitrateBudget(refs.length);
      for (const ref of refs) enqueue.sendTo(ref, { type: "SET_BUDGET", budget });
    }),
    routeIncomingCall: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "SIGNALING.INCOMING_CALL" || !context.join) return;
      const ref = context.peers[event.remotePeerId];
      if (ref) {
        enqueue.sendTo(ref, { type: "INCOMING_CALL", call: event.call });
        return;
      }
      if (event.remotePeerId === context.join.peerId) return;
      // The call beat the room event announcing its caller: answer now, fill in details later.
      const remote = context.participants[event.remotePeerId] ?? placeholderParticipant(event.remotePeerId);
      const call = event.call;
      enqueue.assign({
        peers: ({ context: ctx, spawn }) => ({
          ...ctx.peers,
          [remote.peerId]: spawn("peer", {
            id: peerChildId(remote.peerId),
            input: { ...peerInput(ctx, remote, call), role: "callee" },
          }),
        }),
      });
    }),
    routeSignalingError: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "SIGNALING.ERROR" || !event.remotePeerId) return;
      const ref = context.peers[event.remotePeerId];
      if (ref) enqueue.sendTo(ref, { type: "CALL.ERROR", reason: event.reason });
    }),
    retryPeer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "RETRY_PEER") return;
      const ref = context.peers[event.peerId];
      if (ref) enqueue.sendTo(ref, { type: "RETRY" });
    }),
    reportLink: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "PEER.LINK_STATE" || !context.sessionId) return;
      enqueue.spawnChild("reportLink", {
        // The "reportLink." prefix lets the machine ignore these children's failures (see the root "on").
        id: `reportLink.${event.remotePeerId}.${event.state}.${event.attempt}`,
        input: {
          sessionId: context.sessionId,
          remotePeerId: event.remotePeerId,
          state: event.state,
          attempt: event.attempt,
          maxAttempts: event.maxAttempts,
        },
      });
    }),
    // XState keeps a spawned child in the snapshot until it is stopped, finished or not: without
    // this every report of a long call (a few per link change) would stay in memory.
    forgetReport: enqueueActions(({ event, enqueue }) => {
      if ("actorId" in event) enqueue.stopChild(event.actorId);
    }),
    stopAllPeers: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.peers)) enqueue.stopChild(ref);
      enqueue.assign({ peers: {}, participants: {}, linkReports: {}, signaling: null });
    }),
    releaseAllMedia: enqueueActions(({ context, enqueue }) => {
      const tracks = [context.audioTrack, context.videoTrack, context.screenTrack].filter(
        (t): t is MediaStreamTrack => t !== null,
      );
      if (tracks.length) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks });
      enqueue.assign({ localStream: null, audioTrack: null, videoTrack: null, screenStream: null, screenTrack: null });
    }),
    endBecause: assign((_, params: { reason: CallEndReason }) => ({ endReason: params.reason })),
    removedFromRoom: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== "ROOM.EVENT" || !context.join) return;
      const e = event.event;
      if (e.type === "session-ended" && e.sessionId === context.join.sessionId) {
        enqueue.assign({ endReason: "session-ended" });
      } else if (e.type === "user-left" && e.peerId === context.join.peerId) {
        if (e.reason === "DROPPED") {
          enqueue.assign({ joinError: new JoinError("network", "the server dropped this connection") });
        } else {
          enqueue.assign({ endReason: e.reason === "KICKED" ? "kicked" : "left" });
        }
      }
    }),
  },
}).createMachine({
  id: "call",
  context: ({ input }) => ({
    studyId: input.studyId,
    sessionId: input.sessionId,
    self: input.self,
    autoStartMedia: input.autoStartMedia ?? true,
    devices: { audio: null, video: null },
    localStream: null,
    audioTrack: null,
    videoTrack: null,
    screenStream: null,
    screenTrack: null,
    wantAudio: true,
    wantVideo: true,
    mediaError: null,
    joinError: null,
    join: null,
    signaling: null,
    signalingAttempt: 0,
    signalingFailedSince: null,
    peers: {},
    linkReports: {},
    participants: {},
    media: { audio: false, video: false, screen: false },
    publishPending: false,
    endReason: null,
  }),
  // Owns the camera/mic tracks for the machine's whole life, so stopping the machine (or the
  // page navigating away) always turns the camera light off.
  invoke: { src: "localTracks", id: "tracks" },
  on: {
    /**
     * A link report is advisory, and the server refuses one about someone who has just left (their
     * call closes before the room event arrives). An unhandled child error would put the whole call
     * machine into its error state and tear the call down, so it is dropped here.
     */
    "xstate.error.actor.reportLink.*": { actions: "forgetReport" },
    "xstate.done.actor.reportLink.*": { actions: "forgetReport" },
  },
  initial: "prejoin",
  states: {
    prejoin: {
      initial: "start",
      on: {
        JOIN: { target: "joining", actions: "rememberSession" },
        LEAVE: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
        RETRY_DEVICES: { target: ".requestingDevices", actions: "releaseLocalMedia" },
        SELECT_DEVICE: { target: ".requestingDevices", actions: ["selectDevice", "releaseLocalMedia"] },
        TOGGLE_AUDIO: { actions: { type: "toggleWant", params: { kind: "audio" } } },
        TOGGLE_VIDEO: { actions: { type: "toggleWant", params: { kind: "video" } } },
      },
      states: {
        start: {
          always: [{ guard: "autoStartMedia", target: "requestingDevices" }, { target: "idle" }],
        },
        /** Media not requested yet (autoStartMedia: false). */
        idle: {},
        requestingDevices: {
          invoke: {
            src: "requestMedia",
            input: ({ context }) => ({
              audio: true,
              // A camera the user turned off is not opened again (e.g. when picking a microphone).
              video: context.wantVideo,
              audioDeviceId: context.devices.audio,
              videoDeviceId: context.devices.video,
            }),
            onDone: { target: "ready", actions: "storeLocalMedia" },
            onError: [
              {
                guard: { type: "mediaErrorIs", params: { reason: "denied" } },
                target: "denied",
                actions: "storeMediaError",
              },
              {
                guard: { type: "mediaErrorIs", params: { reason: "no-device" } },
                target: "noDevice",
                actions: "storeMediaError",
              },
              {
                guard: { type: "mediaErrorIs", params: { reason: "in-use" } },
                target: "inUse",
                actions: "storeMediaError",
              },
              { target: "failed", actions: "storeMediaError" },
            ],
          },
        },
        ready: {
          on: {
            // As in the call: the preview's camera is let go while off and asked for again. (Here a
            // held camera is always a wanted one: storeLocalMedia lets go of an unwanted one.)
            TOGGLE_VIDEO: [
              { guard: "hasCamera", actions: [{ type: "toggleWant", params: { kind: "video" } }, "releaseCamera"] },
              {
                guard: "wantsNoVideo",
                target: "acquiringVideo",
                actions: { type: "toggleWant", params: { kind: "video" } },
              },
              { actions: { type: "toggleWant", params: { kind: "video" } } },
            ],
          },
        },
        acquiringVideo: {
          invoke: {
            src: "requestMedia",
            input: ({ context }) => requestOne(context, "video"),
            onDone: { target: "ready", actions: { type: "storeAcquired", params: { kind: "video" } } },
            onError: {
              target: "ready",
              actions: [{ type: "toggleWant", params: { kind: "video" } }, "storeMediaError"],
            },
          },
          on: { TOGGLE_VIDEO: { target: "ready", actions: { type: "toggleWant", params: { kind: "video" } } } },
        },
        denied: {},
        noDevice: {},
        inUse: {},
        failed: {},
      },
    },
    joining: {
      invoke: {
        src: "joinCall",
        input: ({ context }) => ({ studyId: context.studyId, sessionId: context.sessionId }),
        onDone: { target: "inCall", actions: "storeJoin" },
        onError: { target: "joinFailed", actions: "storeJoinError" },
      },
      on: { LEAVE: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } } },
    },
    joinFailed: {
      on: {
        RETRY: "joining",
        LEAVE: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
        TOGGLE_AUDIO: { actions: { type: "toggleWant", params: { kind: "audio" } } },
        TOGGLE_VIDEO: { actions: { type: "toggleWant", params: { kind: "video" } } },
      },
    },
    inCall: {
      type: "parallel",
      entry: ["initPublishedMedia", "syncPeers", "applyBudget"],
      exit: "stopAllPeers",
      invoke: {
        src: "signaling",
        id: "signaling",
        input: ({ context }) => ({
          peerId: context.join?.peerId ?? "",
          iceServers: context.join?.iceServers ?? [],
          iceTransportPolicy: context.join?.iceTransportPolicy ?? "all",
        }),
      },
      on: {
        LEAVE: "leaving",
        "PEER.LINK_STATE": { actions: "reportLink" },
        RETRY_PEER: { actions: "retryPeer" },
        "SIGNALING.INCOMING_CALL": { actions: ["routeIncomingCall", "applyBudget"] },
        "SIGNALING.ERROR": { actions: "routeSignalingError" },
      },
      states: {
        audio: {
          initial: "init",
          states: {
            init: { always: [{ guard: "audioPublished", target: "on" }, { target: "off" }] },
            on: {
              on: {
                TOGGLE_AUDIO: { target: "off", actions: { type: "setFlag", params: { kind: "audio", on: false } } },
              },
            },
            off: {
              on: {
                TOGGLE_AUDIO: [
                  { guard: "hasMic", target: "on", actions: { type: "setFlag", params: { kind: "audio", on: true } } },
                  { target: "acquiring" },
                ],
              },
            },
            /** No microphone yet (listen-only join or denied earlier): ask again, no reload. */
            acquiring: {
              invoke: {
                src: "requestMedia",
                input: ({ context }) => requestOne(context, "audio"),
                onDone: {
                  target: "on",
                  actions: [
                    { type: "storeAcquired", params: { kind: "audio" } },
                    { type: "setFlag", params: { kind: "audio", on: true } },
                  ],
                },
                onError: { target: "off", actions: "storeMediaError" },
              },
              on: { TOGGLE_AUDIO: "off", SELECT_DEVICE: reacquireWithPicked("audio") },
            },
            /** A different audio device was picked mid-call: swap it in without renegotiating. */
            switching: {
              invoke: {
                src: "requestMedia",
                input: ({ context }) => requestOne(context, "audio"),
                onDone: {
                  target: "init",
                  actions: [
                    { type: "releaseTrack", params: { kind: "audio" } },
                    { type: "storeAcquired", params: { kind: "audio" } },
                    { type: "enableAsPublished", params: { kind: "audio" } },
                  ],
                },
                onError: { target: "init", actions: "storeMediaError" },
              },
            },
          },
          on: {
            SELECT_DEVICE: {
              guard: { type: "selectsKind", params: { kind: "audio" } },
              target: ".switching",
              actions: "selectDevice",
            },
          },
        },
        video: {
          initial: "init",
          states: {
            init: {
              always: [
                { guard: "videoPublished", target: "on" },
                { target: "off", actions: "releaseCamera" },
              ],
            },
            on: {
              on: {
                TOGGLE_VIDEO: {
                  target: "off",
                  actions: [{ type: "setFlag", params: { kind: "video", on: false } }, "releaseCamera"],
                },
              },
            },
            off: {
              on: {
                // The camera is not held while off: remember the choice for when it is turned on.
                SELECT_DEVICE: { guard: { type: "selectsKind", params: { kind: "video" } }, actions: "selectDevice" },
                TOGGLE_VIDEO: "acquiring",
              },
            },
            acquiring: {
              invoke: {
                src: "requestMedia",
                input: ({ context }) => requestOne(context, "video"),
                onDone: {
                  target: "on",
                  actions: [
                    { type: "storeAcquired", params: { kind: "video" } },
                    { type: "setFlag", params: { kind: "video", on: true } },
                  ],
                },
                onError: { target: "off", actions: "storeMediaError" },
              },
              on: { TOGGLE_VIDEO: "off", SELECT_DEVICE: reacquireWithPicked("video") },
            },
            /** A different video device was picked mid-call: swap it in without renegotiating. */
            switching: {
              invoke: {
                src: "requestMedia",
                input: ({ context }) => requestOne(context, "video"),
                onDone: {
                  target: "init",
                  actions: [
                    { type: "releaseTrack", params: { kind: "video" } },
                    { type: "storeAcquired", params: { kind: "video" } },
                    { type: "enableAsPublished", params: { kind: "video" } },
                  ],
                },
                onError: { target: "init", actions: "storeMediaError" },
              },
            },
          },
          on: {
            SELECT_DEVICE: {
              guard: { type: "selectsKind", params: { kind: "video" } },
              target: ".switching",
              actions: "selectDevice",
            },
          },
        },
        screen: {
          initial: "off",
          states: {
            off: { on: { START_SHARE: "starting" } },
            starting: {
              invoke: {
                src: "displayMedia",
                onDone: { target: "on", actions: "startScreen" },
                // Most often the user cancelled the browser's picker; nothing to undo.
                onError: { target: "off", actions: "storeMediaError" },
              },
              on: { STOP_SHARE: "off" },
            },
            on: {
              invoke: {
                src: "watchScreenTrack",
                input: ({ context }) => ({ track: context.screenTrack as MediaStreamTrack }),
              },
              on: {
                STOP_SHARE: { target: "off", actions: "stopScreen" },
                // The browser's own "Stop sharing" bar ends the track without asking us.
                SCREEN_TRACK_ENDED: { target: "off", actions: "stopScreen" },
              },
            },
          },
        },
        signaling: {
          initial: "connecting",
          states: {
            connecting: {
              on: {
                "SIGNALING.OPEN": { target: "online", actions: "signalingUp" },
                "SIGNALING.DISCONNECTED": { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
                "SIGNALING.CLOSED": { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
              },
              after: {
                signalingOpenTimeout: { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
              },
            },
            online: {
              on: {
                "SIGNALING.DISCONNECTED": { target: "reconnecting", actions: "signalingDown" },
                "SIGNALING.CLOSED": { target: "offline", actions: "signalingDown" },
              },
            },
            reconnecting: {
              initial: "waiting",
              on: {
                "SIGNALING.OPEN": { target: "online", actions: "signalingUp" },
                "SIGNALING.CLOSED": "offline",
              },
              states: {
                waiting: {
                  after: { signalingRetryDelay: { target: "dialing", actions: "reconnectSignaling" } },
                },
                dialing: {
                  on: {
                    "SIGNALING.DISCONNECTED": [
                      { guard: "canRetrySignaling", target: "waiting", actions: "countSignalingAttempt" },
                      { target: "#call.inCall.signaling.offline" },
                    ],
                    "SIGNALING.ERROR": [
                      { guard: "canRetrySignaling", target: "waiting", actions: "countSignalingAttempt" },
                      { target: "#call.inCall.signaling.offline" },
                    ],
                  },
                  after: {
                    signalingOpenTimeout: [
                      { guard: "canRetrySignaling", target: "waiting", actions: "countSignalingAttempt" },
                      { target: "#call.inCall.signaling.offline" },
                    ],
                  },
                },
              },
            },
            /** Gave up re-connecting to the signaling server; existing calls may still work. */
            offline: {
              on: { RETRY_SIGNALING: { target: "reconnecting", actions: "restartSignalingAttempts" } },
            },
          },
        },
        room: {
          initial: "live",
          states: {
            live: {
              invoke: [
                {
                  src: "roomEvents",
                  id: "roomEvents",
                  input: ({ context }) => ({ studyId: context.studyId, sessionId: context.join?.sessionId ?? "" }),
                },
                {
                  src: "heartbeat",
                  id: "heartbeat",
                  input: ({ context }) => ({ studyId: context.studyId, sessionId: context.join?.sessionId ?? "" }),
                },
              ],
              on: {
                "ROOM.SNAPSHOT": { actions: ["syncPeers", "applyBudget"] },
                "ROOM.EVENT": [
                  {
                    guard: ({ context, event }) =>
                      event.event.type === "session-ended" && event.event.sessionId === context.join?.sessionId,
                    target: "#call.left",
                    actions: "removedFromRoom",
                  },
                  {
                    guard: ({ context, event }) =>
                      event.event.type === "user-left" && event.event.peerId === context.join?.peerId,
                    target: "#call.removed",
                    actions: "removedFromRoom",
                  },
                  {
                    guard: ({ event }) => event.event.type === "user-joined" || event.event.type === "user-left",
                    actions: ["handleRoomEvent", "applyBudget"],
                  },
                  { actions: "handleRoomEvent" },
                ],
              },
            },
          },
        },
        /** Serialises setMedia calls and always ends on the latest flags. */
        publish: {
          initial: "init",
          states: {
            // The server records a join as microphone and camera on; only a difference is published.
            init: { always: [{ guard: "mediaMatchesJoin", target: "idle" }, { target: "publishing" }] },
            idle: { on: { "MEDIA.CHANGED": "publishing" } },
            publishing: {
              entry: "clearPublishPending",
              invoke: {
                src: "publishMedia",
                input: ({ context }) => ({ sessionId: context.join?.sessionId ?? "", ...context.media }),
                onDone: [{ guard: "publishPending", target: "publishing", reenter: true }, { target: "idle" }],
                onError: [{ guard: "publishPending", target: "publishing", reenter: true }, { target: "idle" }],
              },
              on: { "MEDIA.CHANGED": { actions: "markPublishPending" } },
            },
          },
        },
      },
    },
    /** The server removed our participation (dropped or kicked). */
    removed: {
      always: [{ guard: ({ context }) => context.endReason === null, target: "joinFailed" }, { target: "left" }],
    },
    leaving: {
      invoke: {
        src: "leaveCall",
        input: ({ context }) => ({ studyId: context.studyId, sessionId: context.join?.sessionId ?? "" }),
        onDone: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
        // Leaving must always succeed locally; the server drops us after missed heartbeats anyway.
        onError: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
      },
    },
    left: {
      type: "final",
      entry: "releaseAllMedia",
    },
  },
});

/** A mid-call request for just one kind of device (turning it on later, or switching it). */
/** In `acquiring`: another device of this kind picked while one is being opened is asked for instead. */
function reacquireWithPicked(kind: DeviceKind) {
  return {
    guard: { type: "selectsKind" as const, params: { kind } },
    target: "acquiring",
    reenter: true,
    actions: "selectDevice" as const,
  };
}

function requestOne(context: CallContext, kind: DeviceKind): RequestMediaInput {
  return {
    audio: kind === "audio",
    video: kind === "video",
    audioDeviceId: kind === "audio" ? context.devices.audio : null,
    videoDeviceId: kind === "video" ? context.devices.video : null,
  };
}

function peerInput(context: CallContext, remote: RoomParticipant, incomingCall: CallHandle | null) {
  const join = context.join;
  const local = { peerId: join?.peerId ?? "", joinedAt: join?.participant.joinedAt ?? "" };
  return {
    remote,
    localPeerId: local.peerId,
    role: shouldCall(local, remote) ? ("caller" as const) : ("callee" as const),
    localStream: context.localStream,
    signaling: context.signaling,
    audioTrack: context.audioTrack,
    videoTrack: context.screenTrack ?? context.videoTrack,
    budget: bitrateBudget(Object.keys(context.peers).length + 1),
    incomingCall,
    maxAttempts: MAX_RECONNECT_ATTEMPTS,
  };
}

export type CallMachine = typeof callMachine;
