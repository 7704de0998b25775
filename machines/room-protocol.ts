/**
 * The wire shapes shared by the server's room events / tRPC outputs and the browser machines.
 * Lives in machines/ because machines may import nothing from server/, app/ or db/, while the
 * server is free to import these types from here.
 */

import type { ChatEvent } from "./chat-protocol";

export type LeaveReason = "LEFT" | "DROPPED" | "KICKED";

export interface MediaFlags {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

export interface RoomParticipant extends MediaFlags {
  userId: string;
  name: string;
  avatarUrl: string | null;
  /** PeerJS id of this participation; a rejoin gets a new one. */
  peerId: string;
  /** ISO timestamp */
  joinedAt: string;
  /** ISO timestamp on the server's clock while the hand is raised (orders the queue); null or absent when down. */
  handRaisedAt?: string | null;
  /** A study OWNER or ADMIN: may moderate the call, and call permissions don't apply to them. */
  host?: boolean;
}

/** Who may turn a track on: everyone, or only hosts (a withdrawn permission also turns it off). */
export type PermissionLevel = "everyone" | "hosts";

export interface CallPermissions {
  unmute: PermissionLevel;
  camera: PermissionLevel;
  screenShare: PermissionLevel;
  /** No new joins by non-hosts. */
  locked: boolean;
}

export const DEFAULT_PERMISSIONS: CallPermissions = {
  unmute: "everyone",
  camera: "everyone",
  screenShare: "everyone",
  locked: false,
};

export type ModerationAction =
  "mute" | "mute-all" | "ask-unmute" | "remove" | "lower-hand" | "lower-all-hands" | "set-permissions";

/** A host's action as the room hears it; its effect follows as its own event (media-changed, user-left …). */
export interface ModerationEvent {
  type: "moderation";
  sessionId: string;
  action: ModerationAction;
  actorId: string;
  actorName: string;
  /** Whom it was done to; null for actions on everyone (mute-all, lower-all-hands, set-permissions). */
  targetId: string | null;
  targetPeerId: string | null;
  /** remove: they may not join this call again. */
  ban?: boolean;
}

export interface RoomSession {
  id: string;
  roomId: string;
  /** ISO timestamp */
  startedAt: string;
  startedBy: string;
  participants: RoomParticipant[];
  onlineCount: number;
  /** Absent from servers before host controls: read as DEFAULT_PERMISSIONS. */
  permissions?: CallPermissions;
}

/** What one member reports about their link to another, so everyone can show "Reconnecting (2/3)". */
export type LinkState = "connected" | "reconnecting" | "lost";

export type RoomEvent =
  | { type: "session-started"; session: RoomSession }
  | { type: "session-ended"; sessionId: string; endedAt: string }
  | { type: "user-joined"; sessionId: string; participant: RoomParticipant }
  | {
      type: "user-left";
      sessionId: string;
      userId: string;
      peerId: string;
      reason: LeaveReason;
      /** The same person joined again (another tab, another device): this participation was handed over. */
      replaced?: true;
    }
  | ({ type: "media-changed"; sessionId: string; userId: string; peerId: string } & MediaFlags)
  | { type: "hand-changed"; sessionId: string; userId: string; peerId: string; handRaisedAt: string | null }
  | {
      type: "connection-state";
      sessionId: string;
      /** Whose link it is about. */
      userId: string;
      peerId: string;
      /** Who reports it: the other end of that link. */
      reporterPeerId: string;
      state: LinkState;
      attempt?: number;
      maxAttempts?: number;
    }
  | {
      /**
       * How one member (`fromPeerId`) displays another's video (`peerId`), in device pixels: the
       * sender fits that link's encoder to it (link-encoding.ts). Delivered only to `userId`, the
       * sender; never replayed (the receiver re-sends its views periodically).
       */
      type: "tile-view";
      sessionId: string;
      userId: string;
      peerId: string;
      fromPeerId: string;
      width: number;
      height: number;
      shown: boolean;
    }
  | ModerationEvent
  | { type: "permissions-changed"; sessionId: string; permissions: CallPermissions }
  | ChatEvent;

/** One receiver → sender view report: the sender's peerId and how its video is shown (device px). */
export interface ViewReport {
  peerId: string;
  width: number;
  height: number;
  shown: boolean;
}

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface JoinResult {
  participant: RoomParticipant;
  peerId: string;
  /** Everyone in the call right after this join, the joiner included: enough to start dialling. */
  participants?: RoomParticipant[];
  iceServers: IceServer[];
  /** RTCConfiguration.iceTransportPolicy for every call; "relay" forces TURN. Absent means "all". */
  iceTransportPolicy?: "all" | "relay";
  /** The join consumed the pre-join grant it carried: the browser's pre-join socket is this participation's. */
  warm?: boolean;
}

/**
 * Why a join was refused, beside the error's code and sentence (tRPC `error.data.reason`, REST `reason`):
 * "removed" — a host removed this person and did not let them back; "locked" — a host locked the call;
 * "full" — the call holds MAX_PARTICIPANTS people. Clients switch on this, never on the sentence.
 */
export type JoinRefusal = "removed" | "locked" | "full";

/** `videoCall.prepareJoin`: a pre-join grant (opaque; the PeerJS id of the pre-join socket) and ICE servers. */
export interface PrejoinGrantResult {
  grant: string;
  /** ISO timestamp. */
  expiresAt: string;
  iceServers: IceServer[];
  iceTransportPolicy: "all" | "relay";
}
