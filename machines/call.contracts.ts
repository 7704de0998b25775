/**
 * The call machine's contracts: what each of its actors takes and sends back, and what the app
 * passes in. The browser implementations (actors/browser.ts) and the tests' fakes are written
 * against these types; nothing here depends on the machine itself.
 */
import type { CallHandle, SignalingHandle } from "./handles";
import type {
  CallPermissions,
  IceServer,
  JoinResult,
  LinkState,
  MediaFlags,
  RoomEvent,
  RoomParticipant,
  ViewReport,
} from "./room-protocol";

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
  /** The pre-join grant whose socket is open (`warmUp`), if any. */
  grant?: string | null;
}

export interface SignalingInput {
  peerId: string;
  iceServers: IceServer[];
  /** "relay" forces every call through TURN (server config ICE_TRANSPORT_POLICY). */
  iceTransportPolicy: "all" | "relay";
  /** The pre-join socket the join consumed the grant of: adopt it instead of opening one. */
  warm?: SignalingHandle | null;
}

export interface WarmUpInput {
  studyId: string;
}

/** An open pre-join signaling socket and the grant it was opened with. */
export interface WarmSignaling {
  grant: string;
  handle: SignalingHandle;
}

/** From the warm-up: a (renewed) socket is open, or the one offered is gone. */
export type WarmUpEvent = { type: "WARM.READY"; warm: WarmSignaling } | { type: "WARM.LOST" };

/**
 * To the warm-up: HOLD (Join clicked: keep the offered socket, stop renewing), HAND_OVER (the
 * join consumed its grant: the socket is the signaling actor's now), STOP (let everything go).
 */
export type WarmUpCommand = { type: "WARM.HOLD" } | { type: "WARM.HAND_OVER" } | { type: "WARM.STOP" };

export type SignalingEvent =
  | { type: "SIGNALING.OPEN"; handle: SignalingHandle }
  | { type: "SIGNALING.INCOMING_CALL"; call: CallHandle; remotePeerId: string }
  | { type: "SIGNALING.DISCONNECTED" }
  | { type: "SIGNALING.CLOSED" }
  /** remotePeerId is set when the error concerns one outgoing call (PeerJS "peer-unavailable"). */
  | { type: "SIGNALING.ERROR"; reason: string; remotePeerId?: string };

export type SignalingCommand =
  | { type: "RECONNECT" }
  /** Hang up a call we refuse (its caller was removed from the call by a host). */
  | { type: "REJECT_CALL"; call: CallHandle };

export interface SessionRef {
  studyId: string;
  sessionId: string;
}

export type RoomFeedEvent =
  | { type: "ROOM.SNAPSHOT"; participants: RoomParticipant[]; permissions?: CallPermissions }
  | { type: "ROOM.EVENT"; event: RoomEvent }
  /** The subscription was refused or broke for good; the machine subscribes again (or gives up). */
  | { type: "ROOM.FEED_FAILED"; reason: string };

/**
 * What a host does to others (study OWNER and ADMIN members; the server checks it and tells the
 * room, and everyone's call machine follows the room). `kind` names the room's ModerationAction.
 */
export type HostAction =
  | { kind: "mute" | "ask-unmute" | "lower-hand"; userId: string }
  | { kind: "remove"; userId: string; ban: boolean }
  | { kind: "mute-all" | "lower-all-hands" }
  | { kind: "set-permissions"; permissions: CallPermissions };

/** What the `hostAction` actor sends: one host action in this session. */
export interface HostActionInput {
  sessionId: string;
  action: HostAction;
}

/** Raise (true) or lower the caller's hand in this session. */
export interface SetHandInput {
  sessionId: string;
  raised: boolean;
}

export interface PublishMediaInput extends MediaFlags {
  sessionId: string;
  /** Our own voice activity, so the server can accrue speaking time (the call history's talk balance). */
  speaking: boolean;
}

/** What `reportViews` sends: our views of the other participants' videos that changed. */
export interface ReportViewsInput {
  sessionId: string;
  views: ViewReport[];
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

export interface CallInput {
  studyId: string;
  sessionId: string | null;
  self: { userId: string; name: string };
  /** Ask for camera and microphone as soon as the prejoin screen opens (default true). */
  autoStartMedia?: boolean;
}

export type DeviceKind = "audio" | "video";

/** "replaced": the same person joined from another tab or device, which took the call over. */
export type CallEndReason = "left" | "session-ended" | "kicked" | "replaced";
