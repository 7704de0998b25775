/**
 * What the call machine needs from the server. The app implements it with its tRPC client (and
 * its SSE subscription); machines never import that client, so tests can fake it.
 */
import type { HostActionInput, JoinedCall } from "./call.contracts";
import type { LinkState, MediaFlags, PrejoinGrantResult, RoomEvent, RoomSession, ViewReport } from "./room-protocol";

export interface CallApi {
  /** A pre-join grant for this study: the pre-join screen opens its signaling socket with it. */
  prepareJoin(studyId: string): Promise<PrejoinGrantResult>;
  /** Join a running session; `grant`: the pre-join grant whose socket is open (the join may consume it). */
  join(input: { studyId: string; sessionId: string; grant?: string }): Promise<JoinedCall>;
  /** Join the study's running session, starting one first if none is running. */
  joinOrStart(studyId: string, grant?: string): Promise<JoinedCall>;
  leave(input: { studyId?: string; sessionId: string }): Promise<void>;
  setMedia(input: { sessionId: string; speaking: boolean } & MediaFlags): Promise<void>;
  heartbeat(input: { sessionId: string }): Promise<void>;
  /** Raise or lower the caller's hand; answers the server's handRaisedAt (null when lowered). */
  setHand(input: { sessionId: string; raised: boolean }): Promise<{ handRaisedAt: string | null }>;
  /** One host control (mute, ask to unmute, remove, lower hands, permissions and lock); the server checks it. */
  hostAction(input: HostActionInput): Promise<void>;
  reportLink(input: {
    sessionId: string;
    remotePeerId: string;
    state: LinkState;
    attempt: number;
    maxAttempts: number;
  }): Promise<void>;
  /**
   * Tells each named participant how large the caller shows their video (the server relays each
   * entry, as a `tile-view` room event, to that participant only).
   */
  setViews(input: { sessionId: string; views: ViewReport[] }): Promise<void>;
  /**
   * Live room events for a study. `onSnapshot` gets the study's running session (or null) each
   * time the subscription (re)opens, so the machine can reconcile whatever it missed during a
   * gap; `onEvent` gets each event after that; `onError` is called once if the subscription is
   * refused or fails for good (it is over then). Returns the unsubscribe function.
   */
  subscribe(
    studyId: string,
    onEvent: (event: RoomEvent) => void,
    onSnapshot: (session: RoomSession | null) => void,
    onError: (error: unknown) => void,
  ): () => void;
}
