import type { LinkState, RoomEvent, RoomParticipant, RoomSession } from "./room-protocol";

/** What the server sends first on a fresh subscription; structurally the server's SnapshotEvent. */
export interface RoomSnapshot {
  type: "snapshot";
  session: RoomSession | null;
}

export interface RoomPresence {
  session: RoomSession | null;
  /** Reported link trouble per participant peer id, e.g. "Reconnecting (2/3)". */
  links: Record<string, { state: LinkState; attempt?: number; maxAttempts?: number }>;
}

export const EMPTY_PRESENCE: RoomPresence = { session: null, links: {} };

/**
 * Folds one room event into who-is-in-the-call. Pure, so the study page widget and the call page
 * agree on presence and it is tested without a browser. Events for another session are ignored.
 */
export function applyRoomEvent(state: RoomPresence, event: RoomEvent | RoomSnapshot): RoomPresence {
  switch (event.type) {
    case "snapshot":
      return { session: event.session, links: {} };
    case "session-started":
      return { session: event.session, links: {} };
    case "session-ended":
      return state.session?.id === event.sessionId ? { session: null, links: {} } : state;
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
      const { [event.peerId]: _gone, ...links } = state.links;
      return {
        session: withParticipants(
          s,
          s.participants.filter((p) => p.peerId !== event.peerId),
        ),
        links,
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
    case "connection-state": {
      if (state.session?.id !== event.sessionId) return state;
      const links = { ...state.links };
      if (event.state === "connected") delete links[event.peerId];
      else links[event.peerId] = { state: event.state, attempt: event.attempt, maxAttempts: event.maxAttempts };
      return { ...state, links };
    }
  }
}

function withParticipants(session: RoomSession, participants: RoomParticipant[]): RoomSession {
  return { ...session, participants, onlineCount: participants.length };
}

/** "2 in call: Alice, Bob" — the study page's one-line summary. */
export function describePresence(session: RoomSession | null): string {
  if (!session || session.participants.length === 0) return "No one is in the call";
  const names = session.participants.map((p) => p.name).join(", ");
  return `${session.participants.length} in call: ${names}`;
}
