/**
 * The call machine's vocabulary: its context and events, the actors it invokes (placeholders
 * until `.provide()`), its delays and its named guards. The actions are added in call.roster.ts
 * and call.actions.ts, the states in call.machine.ts.
 */
import { type ActorRefFrom, type EventObject, assertEvent, fromCallback, fromPromise, setup } from "xstate";
import type {
  CallEndReason,
  CallInput,
  DeviceKind,
  HostAction,
  HostActionInput,
  JoinCallInput,
  JoinedCall,
  LocalMedia,
  LocalTracksCommand,
  PublishMediaInput,
  SetHandInput,
  ReportLinkInput,
  ReportViewsInput,
  RequestMediaInput,
  RoomFeedEvent,
  ScreenMedia,
  SessionRef,
  SignalingCommand,
  SignalingEvent,
  SignalingInput,
  WarmSignaling,
  WarmUpCommand,
  WarmUpEvent,
  WarmUpInput,
  WatchTrackInput,
} from "./call.contracts";
import { type HostActionError, type JoinError, type MediaError, type MediaErrorReason, toMediaError } from "./errors";
import type { SignalingHandle } from "./handles";
import { changedViews, type TileMeasure, type TileView } from "./link-encoding";
import type { LinkReports } from "./link-reports";
import type { PeerParentEvent } from "./peer.contracts";
import { peerMachine } from "./peer.machine";
import { MAX_RECONNECT_ATTEMPTS, NO_JITTER, nextRetryDelay, nextSignalingRetryDelay } from "./reconnect-policy";
import {
  type CallPermissions,
  type MediaFlags,
  type ModerationEvent,
  type RoomEvent,
  type RoomParticipant,
} from "./room-protocol";

/** A permission the call can keep to hosts. */
export type Permission = "unmute" | "camera" | "screenShare";

/** What a host did to us, for the notice the room shows ("Alice muted you"). */
export type ModerationNotice = { kind: "muted" | "ask-unmute" | "removed"; by: string };

type CallEvent =
  /** `sessionId`: the running call the page already knows of, so joining skips the start request. */
  | { type: "JOIN"; sessionId?: string | null }
  | { type: "LEAVE" }
  | { type: "RETRY" }
  | { type: "RETRY_DEVICES" }
  | { type: "SELECT_DEVICE"; kind: DeviceKind; deviceId: string }
  | { type: "TOGGLE_AUDIO" }
  /** Push-to-talk (Space held, then let go): talk while muted; only what it unmuted is muted again. */
  | { type: "PTT_DOWN" }
  | { type: "PTT_UP" }
  | { type: "TOGGLE_VIDEO" }
  | { type: "START_SHARE" }
  | { type: "STOP_SHARE" }
  | { type: "SCREEN_TRACK_ENDED" }
  | { type: "RETRY_PEER"; peerId: string }
  | { type: "RETRY_SIGNALING" }
  /** The user asks to try the server again after the room feed or the heartbeat gave up. */
  | { type: "RETRY_SERVER" }
  | { type: "MEDIA.CHANGED" }
  /** Raise hand / Lower hand (button, `H`). */
  | { type: "TOGGLE_HAND" }
  /** "Keep it raised" on the "Lower your hand?" prompt. */
  | { type: "KEEP_HAND" }
  /** Our own speaking detector changed its mind (feeds the "Lower your hand?" prompt). */
  | { type: "SELF.SPEAKING"; speaking: boolean }
  /** The stage measured the remotes' tiles (keyed by peerId); see link-encoding.ts. */
  | { type: "VIEW.TILES"; tiles: Record<string, TileMeasure> }
  /** The page went to the background or came back (document.visibilityState). */
  | { type: "VIEW.PAGE"; visible: boolean }
  /** Internal: a link (re)connected, so its sender hears our view of it again. */
  | { type: "VIEW.RESEND" }
  /** The user closed a host's notice ("Stay muted", or its close button). */
  | { type: "DISMISS_NOTICE" }
  /** "Unmute" on a host's "asks you to unmute": unmute (if muted and allowed) and close the notice. */
  | { type: "ACCEPT_UNMUTE" }
  /** A host's control (tile menu, People, "Host controls"): sent to the server by `hostAction`. */
  | { type: "HOST_ACTION"; action: HostAction }
  | SignalingEvent
  | WarmUpEvent
  | RoomFeedEvent
  | HeartbeatEvent
  | PeerParentEvent;

/** What the heartbeat actor reports: a beat failed (after its own retries), or one went through. */
export type HeartbeatEvent = { type: "HEARTBEAT.FAILED"; reason: string } | { type: "HEARTBEAT.OK" };

/** Sent to the heartbeat actor: beat now (the user asked to try the server again). */
export type HeartbeatCommand = { type: "BEAT_NOW" };

export type PeerRef = ActorRefFrom<typeof peerMachine>;

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
  /** The pre-join socket on offer (see `warmUp`); the click joins with its grant. */
  warm: WarmSignaling | null;
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
  /** Our own speaking detector's verdict, published with the media flags (speaking time in the history). */
  speaking: boolean;
  publishPending: boolean;
  /** Failed attempts in a row of the room feed and of publishing media (retried by the policy). */
  feedAttempt: number;
  publishAttempt: number;
  /** The last beat failed even after its retries: the server may drop us from the call. */
  heartbeatFailing: boolean;
  endReason: CallEndReason | null;
  /** Our raised hand as the server stamped it (its clock orders the queue); null while down. */
  handRaisedAt: string | null;
  /** How large the stage shows each remote's video (peerId → measure), and whether the page is visible. */
  tiles: Record<string, TileMeasure>;
  pageVisible: boolean;
  /** The views each remote was last told (so only changes are sent), and those being sent now. */
  toldViews: Record<string, TileView>;
  viewsInFlight: Array<TileView & { peerId: string }>;
  /** The call's permissions as the server last said (snapshot, then permissions-changed). */
  permissions: CallPermissions;
  /** The last host action done to us, until dismissed. */
  notice: ModerationNotice | null;
  /** Peer ids a host removed: we hang up on them and never answer their calls. */
  refusedPeers: string[];
  /** Host actions sent so far (names each `hostAction` child, so several can be under way). */
  hostActionCount: number;
  /** Why the server refused our last host action (a new object per refusal), until one goes through. */
  hostActionError: HostActionError | null;
}

/** Whether the call keeps `permission` to hosts and we are not one (the toolbar disables the control). */
export function permissionWithheld(context: Pick<CallContext, "join" | "permissions">, permission: Permission) {
  return context.permissions[permission] === "hosts" && context.join?.participant.host !== true;
}

/** The room event being handled, if it is about our session. */
function ourRoomEvent(context: CallContext, event: CallMachineEvent): RoomEvent | null {
  if (event.type !== "ROOM.EVENT") return null;
  const e = event.event;
  return "sessionId" in e && e.sessionId === context.join?.sessionId ? e : null;
}

/** A host's action aimed at us: named (targetPeerId) or on everyone but hosts. */
export function moderationOfUs(context: CallContext, event: CallMachineEvent): ModerationEvent | null {
  const e = ourRoomEvent(context, event);
  if (e?.type !== "moderation") return null;
  if (e.targetPeerId) return e.targetPeerId === context.join?.peerId ? e : null;
  return context.join?.participant.host === true ? null : e;
}

/** The room event withdraws `permission` from us (permissions-changed while we are no host). */
function withdraws(context: CallContext, event: CallMachineEvent, permission: Permission): boolean {
  const e = ourRoomEvent(context, event);
  return (
    e?.type === "permissions-changed" &&
    e.permissions[permission] === "hosts" &&
    context.join?.participant.host !== true
  );
}

export const peerChildId = (peerId: string) => `peer:${peerId}`;

/** A spawned reportLink child finished (their ids start with "reportLink."). */
type ReportSettledEvent =
  | { type: `xstate.done.actor.reportLink.${string}`; actorId: string }
  | { type: `xstate.error.actor.reportLink.${string}`; actorId: string; error: unknown };

/** A spawned hostAction child finished (their ids start with "hostAction."). */
type HostActionSettledEvent =
  | { type: `xstate.done.actor.hostAction.${string}`; actorId: string }
  | { type: `xstate.error.actor.hostAction.${string}`; actorId: string; error: unknown };

/** Everything the call machine hears: its own events and its spawned children's endings. */
export type CallMachineEvent = CallEvent | ReportSettledEvent | HostActionSettledEvent;

const missing = <TOutput, TInput>(name: string) =>
  fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`${name} actor not provided`)));
const missingCallback = <TEvent extends EventObject, TInput>(_name: string) =>
  fromCallback<TEvent, TInput>(() => undefined);

/** Time since a failure that started at `since` (null: it starts now). */
const elapsedSince = (since: number | null) => Date.now() - (since ?? Date.now());

/**
 * The signaling re-dial delay for a given random source. The machine's own default is the bare
 * schedule (NO_JITTER), so tests are exact; actors/browser.ts provides it with Math.random.
 */
export const signalingRetryDelayWith =
  (random: () => number) =>
  ({ context }: { context: CallContext }) =>
    nextSignalingRetryDelay(context.signalingAttempt, elapsedSince(context.signalingFailedSince), random) ?? 0;

export const callSetup = setup({
  types: {
    context: {} as CallContext,
    events: {} as CallMachineEvent,
    input: {} as CallInput,
  },
  actors: {
    requestMedia: missing<LocalMedia, RequestMediaInput>("requestMedia"),
    displayMedia: missing<ScreenMedia, void>("displayMedia"),
    watchScreenTrack: missingCallback<EventObject, WatchTrackInput>("watchScreenTrack"),
    localTracks: missingCallback<LocalTracksCommand, void>("localTracks"),
    joinCall: missing<JoinedCall, JoinCallInput>("joinCall"),
    signaling: missingCallback<SignalingCommand, SignalingInput>("signaling"),
    /** Pre-join: a grant and an open signaling socket, renewed until the click (none in tests unless provided). */
    warmUp: missingCallback<WarmUpCommand, WarmUpInput>("warmUp"),
    roomEvents: missingCallback<EventObject, SessionRef>("roomEvents"),
    // Receives HeartbeatCommand; typed loosely so a fake that ignores commands fits too.
    heartbeat: missingCallback<EventObject, SessionRef>("heartbeat"),
    publishMedia: missing<void, PublishMediaInput>("publishMedia"),
    setHand: missing<{ handRaisedAt: string | null }, SetHandInput>("setHand"),
    reportLink: missing<void, ReportLinkInput>("reportLink"),
    hostAction: missing<void, HostActionInput>("hostAction"),
    reportViews: missing<void, ReportViewsInput>("reportViews"),
    leaveCall: missing<void, SessionRef>("leaveCall"),
    peer: peerMachine,
  },
  delays: {
    signalingRetryDelay: signalingRetryDelayWith(NO_JITTER),
    signalingOpenTimeout: 10_000,
    /** Talking this long with the hand up asks "Lower your hand?"… */
    handTalkPrompt: 3_000,
    /** …and the hand goes down this long after asking, unless kept. */
    handPromptTimeout: 6_000,
    /** Re-subscribing to the room feed and re-publishing media follow the peer links' schedule. */
    feedRetryDelay: ({ context }) => nextRetryDelay(context.feedAttempt, 0) ?? 0,
    publishRetryDelay: ({ context }) => nextRetryDelay(context.publishAttempt, 0) ?? 0,
    /**
     * Tile measurements are collected this long before the changed views go out: a window being
     * resized or a layout switch sends one report, not one per frame. Short enough that a tile
     * shown again is back at full quality well within a second.
     */
    viewSettle: 250,
    /**
     * Views travel as room events that are never replayed, so a sender whose feed was briefly
     * down may have missed one: every view is told again this often.
     */
    viewRefresh: 30_000,
  },
  guards: {
    autoStartMedia: ({ context }) => context.autoStartMedia,
    speaking: ({ event }) => event.type === "SELF.SPEAKING" && event.speaking,
    notSpeaking: ({ event }) => event.type === "SELF.SPEAKING" && !event.speaking,
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
      nextSignalingRetryDelay(context.signalingAttempt + 1, elapsedSince(context.signalingFailedSince), NO_JITTER) !==
      null,
    canRetryFeed: ({ context }) => context.feedAttempt < MAX_RECONNECT_ATTEMPTS,
    canRetryPublish: ({ context }) => context.publishAttempt < MAX_RECONNECT_ATTEMPTS,
    /** The room says our session is over (ended by the server or by everyone leaving). */
    endsOurSession: ({ context, event }) => {
      assertEvent(event, "ROOM.EVENT");
      return event.event.type === "session-ended" && event.event.sessionId === context.join?.sessionId;
    },
    /** The room says our own participation ended (dropped, kicked, or left from elsewhere). */
    removesUs: ({ context, event }) => {
      assertEvent(event, "ROOM.EVENT");
      return event.event.type === "user-left" && event.event.peerId === context.join?.peerId;
    },
    /** Someone joined or left: the uplink budget is split anew. */
    changesRoster: ({ event }) => {
      assertEvent(event, "ROOM.EVENT");
      return event.event.type === "user-joined" || event.event.type === "user-left";
    },
    /** Some remote's tile is shown differently from what its sender was last told. */
    hasViewChanges: ({ context }) =>
      changedViews(Object.keys(context.peers), context.tiles, context.pageVisible, context.toldViews).length > 0,
    /** The page comes back from the background and some tile is to be shown again: no settling then. */
    pageComesBack: ({ context, event }) =>
      event.type === "VIEW.PAGE" &&
      event.visible &&
      !context.pageVisible &&
      changedViews(Object.keys(context.peers), context.tiles, true, context.toldViews).length > 0,
    /** A host muted us (one person, or everyone), or withdrew unmuting from non-hosts. */
    mutesUs: ({ context, event }) => {
      const m = moderationOfUs(context, event);
      return m?.action === "mute" || m?.action === "mute-all" || withdraws(context, event, "unmute");
    },
    withdrawsCamera: ({ context, event }) => withdraws(context, event, "camera"),
    withdrawsScreen: ({ context, event }) => withdraws(context, event, "screenShare"),
    /** A host removed us: we are out now, even before the user-left that follows. */
    removesUsByHost: ({ context, event }) => moderationOfUs(context, event)?.action === "remove",
    /** The call keeps this to hosts and we aren't one: turning it on is refused locally too. */
    withheld: ({ context }, params: { permission: Permission }) => permissionWithheld(context, params.permission),
    /** A call from a peer a host removed. */
    fromRefusedPeer: ({ context, event }) =>
      event.type === "SIGNALING.INCOMING_CALL" && context.refusedPeers.includes(event.remotePeerId),
    /** We were removed without an end reason, i.e. dropped: the user may rejoin. */
    droppedByServer: ({ context }) => context.endReason === null,
  },
});
