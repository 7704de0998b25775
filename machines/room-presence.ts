import type { RoomEvent, RoomParticipant, RoomSession } from "./room-protocol";

/** What the server sends first on a fresh subscription; structurally the server's SnapshotEvent. */
export interface RoomSnapshot {
  type: "snapshot";
  session: RoomSession | null;
}

/** Who is in a study's call. (Link trouble is the call page's business: see link-reports.ts.) */
export interface RoomPresence {
  session: RoomSession | null;
}

export const EMPTY_PRESENCE: RoomPresence = { session: null };

/**
 * Folds one room event into who-is-in-the-call. Pure, so the study page widget and the call page
 * agree on presence and it is tested without a browser. Events for another session are ignored.
 */
export function applyRoomEvent(state: RoomPresence, event: RoomEvent | RoomSnapshot): RoomPresence {
  switch (event.type) {
    case "snapshot":
      return { session: event.session };
    case "session-started":
      return { session: event.session };
    case "session-ended":
      return state.session?.id === event.sessionId ? { session: null } : state;
    case "user-joined": {
      const s = state.session;
      if (!s || s.id !== event.sessionId) return state;
      const participants = [
        ...s.participants.filter((p) => p.peerId !== event.participant.peerId && p.userId !== event.participant.userId),
        event.participant,
      ];
      return { ...state, session: withParticipants(s, participants) };
    }
    case "user-left": {
      const s = state.session;
      if (!s || s.id !== event.sessionId) return state;
      return {
        session: withParticipants(
          s,
          s.participants.filter((p) => p.peerId !== event.peerId),
        ),
      };
    }
    case "media-changed": {
      const s = state.session;
      if (!s || s.id !== event.sessionId) return state;
      const participants = s.participants.map((p) =>
        p.peerId === event.peerId ? { ...p, audio: event.audio, video: event.video, screen: event.screen } : p,
      );
      return { ...state, session: withParticipants(s, participants) };
    }
    case "hand-changed": {
      const s = state.session;
      if (!s || s.id !== event.sessionId) return state;
      const participants = s.participants.map((p) =>
        p.peerId === event.peerId ? { ...p, handRaisedAt: event.handRaisedAt } : p,
      );
      return { ...state, session: withParticipants(s, participants) };
    }
    case "permissions-changed": {
      const s = state.session;
      if (!s || s.id !== event.sessionId) return state;
      return { ...state, session: { ...s, permissions: event.permissions } };
    }
    case "moderation":
    case "connection-state":
    case "tile-view":
    case "chat-message":
    case "chat-read":
    case "chat-typing":
      return state;
  }
}

function withParticipants(session: RoomSession, participants: RoomParticipant[]): RoomSession {
  return { ...session, participants, onlineCount: participants.length };
}

/** Whether `me` could not join now: the call already holds `max` other people. */
export function isCallFull(session: RoomSession | null, max: number, me: string): boolean {
  return !!session && session.participants.filter((p) => p.userId !== me).length >= max;
}

/** The words the server's refusal uses too, so the page says "full" exactly as a refused join does. */
export function callFullText(max: number): string {
  return `This call is full (${max} people)`;
}

/** Whether the call is locked against `me` (hosts still join; the server decides, pages only warn). */
export function isCallLocked(session: RoomSession | null, meIsHost: boolean): boolean {
  return !!session?.permissions?.locked && !meIsHost;
}

/** The server's refusal of a join into a locked call, shown by the pages before anyone clicks. */
export const CALL_LOCKED_TEXT = "The call is locked";
/** The server's refusal of a join after a host removed you with "Don't let … rejoin". */
export const REMOVED_TEXT = "You were removed from this call";

/** "2 in call: Alice, Bob" — the study page's one-line summary. */
export function describePresence(session: RoomSession | null): string {
  if (!session || session.participants.length === 0) return "No one is in the call";
  const names = session.participants.map((p) => p.name).join(", ");
  return `${session.participants.length} in call: ${names}`;
}
