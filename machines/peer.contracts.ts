/**
 * The peer machine's contracts: what its media-call actors report and accept, what the call
 * machine passes in and hears back, and its context. actors/browser.ts and the tests' fakes are
 * written against these types.
 */
import type { PeerLinkError } from "./errors";
import type { CallHandle, SignalingHandle } from "./handles";
import type { LinkEncoding, TileView } from "./link-encoding";
import type { QualityAssessment, QualityLevel, QualitySample, SenderBudget } from "./quality";
import type { LinkState, MediaFlags, RoomParticipant } from "./room-protocol";

export type PeerRole = "caller" | "callee";

export interface Participation {
  peerId: string;
  /** ISO timestamp from the server, so both sides compare the same values. */
  joinedAt: string;
}

/** Events the media-call actors report back. */
export type MediaCallEvent =
  | { type: "CALL.STREAM"; stream: MediaStream; streamId: string }
  | { type: "CALL.ICE_STATE"; state: RTCIceConnectionState }
  | { type: "CALL.CLOSED" }
  | { type: "CALL.ERROR"; reason: string }
  /** Packets from the remote arrive again after `silentMs` without any: the link was down. */
  | { type: "CALL.INBOUND_RESUMED"; silentMs: number }
  | { type: "QUALITY_SAMPLE"; sample: QualitySample };

/** Commands the media-call actors accept (forwarded by the peer machine). */
export type MediaCallCommand =
  | { type: "REPLACE_VIDEO_TRACK"; track: MediaStreamTrack | null }
  | { type: "REPLACE_AUDIO_TRACK"; track: MediaStreamTrack | null }
  /** The link's encoding: the group budget fitted to how the receiver shows us (link-encoding.ts). */
  | { type: "APPLY_BUDGET"; budget: LinkEncoding }
  /**
   * Start the video encoder over with a keyframe. After an outage the other side has nothing to
   * decode from, and its own keyframe requests may have been lost in the outage; without one
   * video stays frozen until the receiver's next request, seconds later.
   */
  | { type: "REFRESH_VIDEO" };

export interface MediaCallInputBase {
  localPeerId: string;
  remotePeerId: string;
  localStream: MediaStream | null;
  /** Tracks to send instead of localStream's (screen share, a camera acquired mid-call). */
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  budget: LinkEncoding;
}

export interface OutgoingCallInput extends MediaCallInputBase {
  signaling: SignalingHandle;
}

export interface AnswerCallInput extends MediaCallInputBase {
  call: CallHandle;
}

export interface PeerInput {
  remote: RoomParticipant;
  localPeerId: string;
  role: PeerRole;
  localStream: MediaStream | null;
  /** Null while the signaling socket is not open; a caller then waits in "idle". */
  signaling?: SignalingHandle | null;
  audioTrack?: MediaStreamTrack | null;
  videoTrack?: MediaStreamTrack | null;
  budget?: SenderBudget;
  /** A call that arrived before the room event announcing this participant. */
  incomingCall?: CallHandle | null;
  maxAttempts?: number;
}

export type PeerEvent =
  | MediaCallEvent
  | { type: "INCOMING_CALL"; call: CallHandle }
  | { type: "REMOTE_MEDIA"; flags: MediaFlags }
  | { type: "REMOTE_UPDATED"; remote: RoomParticipant }
  | { type: "RETRY" }
  | { type: "SET_BUDGET"; budget: SenderBudget }
  /** How the remote displays our video (its own report, relayed by the server). */
  | { type: "REMOTE_VIEW"; view: TileView }
  | { type: "REPLACE_VIDEO_TRACK"; track: MediaStreamTrack | null }
  | { type: "REPLACE_AUDIO_TRACK"; track: MediaStreamTrack | null }
  | { type: "SIGNALING.UP"; signaling: SignalingHandle }
  | { type: "SIGNALING.DOWN" };

export interface LinkStateChange {
  remotePeerId: string;
  remoteUserId: string;
  state: LinkState;
  attempt: number;
  maxAttempts: number;
}

/** What a peer tells the call machine (its parent). */
export type PeerParentEvent = { type: "PEER.LINK_STATE" } & LinkStateChange;

export type PeerEmitted =
  ({ type: "LINK_STATE" } & LinkStateChange) | { type: "STREAM_READY"; remotePeerId: string; stream: MediaStream };

export interface PeerContext {
  remote: RoomParticipant;
  localPeerId: string;
  role: PeerRole;
  localStream: MediaStream | null;
  audioTrack: MediaStreamTrack | null;
  videoTrack: MediaStreamTrack | null;
  signaling: SignalingHandle | null;
  pendingCall: CallHandle | null;
  /** Set by the user's RETRY so that this side dials even if it is normally the callee. */
  dialOnRetry: boolean;
  maxAttempts: number;
  /** Number of the reconnect attempt in progress; 0 while the link is healthy. */
  attempt: number;
  failedSince: number | null;
  lastError: PeerLinkError | null;
  remoteStream: MediaStream | null;
  remoteStreamId: string | null;
  remoteMedia: MediaFlags;
  quality: (QualityAssessment & { sample: QualitySample }) | null;
  qualityLevel: QualityLevel | null;
  qualityHistory: QualityLevel[];
  poorStreak: number;
  /** The budget the call machine assigned for the current group size. */
  baseBudget: SenderBudget;
  /** The link's budget: baseBudget, or a degraded version while the link is poor. */
  budget: SenderBudget;
  /** How the remote last said it shows our video; null until it has (link-encoding.ts). */
  view: TileView | null;
}
