/**
 * Public API of the call machines. The browser actor implementations are deliberately not
 * re-exported: they import PeerJS, which must stay out of server-side rendering. Import them from
 * "machines/actors/browser" in client-only code.
 */
export {
  callMachine,
  peerChildId,
  type CallContext,
  type CallEndReason,
  type CallEvent,
  type CallInput,
  type CallMachine,
  type DeviceKind,
  type JoinCallInput,
  type JoinedCall,
  type LocalMedia,
  type LocalTracksCommand,
  type PeerRef,
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
} from "./call.machine";
export {
  peerMachine,
  shouldCall,
  POOR_SAMPLES_BEFORE_DEGRADE,
  type AnswerCallInput,
  type LinkStateChange,
  type MediaCallCommand,
  type MediaCallEvent,
  type OutgoingCallInput,
  type Participation,
  type PeerContext,
  type PeerEmitted,
  type PeerEvent,
  type PeerInput,
  type PeerMachine,
  type PeerParentEvent,
  type PeerRole,
  type PeerStatus,
} from "./peer.machine";
export type { CallApi, JoinedSession } from "./call-api";
export {
  JoinError,
  MediaError,
  toJoinError,
  toMediaError,
  type JoinErrorReason,
  type MediaErrorReason,
  type PeerFailureReason,
  type PeerLinkError,
} from "./errors";
export { toCallHandle, toSignalingHandle, fromHandle, type CallHandle, type SignalingHandle } from "./handles";
export {
  MESH_UPLINK_BUDGET_BPS,
  QUALITY_RECOVERY_SAMPLES,
  bitrateBudget,
  classifyQuality,
  degrade,
  levelForScore,
  nextQualityLevel,
  parseStatsReport,
  sameBudget,
  type ParsedStats,
  type QualityAssessment,
  type QualityLevel,
  type QualitySample,
  type SenderBudget,
  type StatsLike,
  type StatsReportLike,
} from "./quality";
export {
  MAX_RECONNECT_ATTEMPTS,
  RECONNECT_DELAYS_MS,
  RECONNECT_GIVE_UP_AFTER_MS,
  nextRetryDelay,
} from "./reconnect-policy";
export type * from "./room-protocol";
