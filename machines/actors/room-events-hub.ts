/**
 * One `videoCall.events` stream per study for everything in a tab that follows the room: the call
 * machine's `roomEvents` actor, the chat machine's `feed` actor and the page's presence summary
 * subscribe here instead of each opening their own SSE request, so a member holds one long-lived
 * connection (and the server and load balancer serve one) instead of two or three.
 *
 * Why a hub and not the call machine handing events to the chat machine: the consumers start and
 * stop independently (presence before the join, the call feed while joined, the chat while its
 * room is rendered), and each is a named actor that must stay testable with fakes. The hub is the
 * one owner of the underlying subscription; the consumers only register listeners, and the stream
 * is open exactly while at least one listener is registered.
 *
 * Resume and resync keep their meaning for every consumer:
 * - A network blip is ridden out by the SSE link itself (it reconnects with `lastEventId`; the
 *   server replays, or sends a new snapshot when it can't): all listeners see the same stream.
 * - Every snapshot (each (re)start that could not resume) reaches every listener — the call
 *   machine reconciles its roster, the chat machine reloads its history (FEED.RESYNC).
 * - A listener that needs the room's current state (`fresh`: the call machine, which must
 *   reconcile what happened between its join's answer and its subscription) joining a stream
 *   that already delivered its snapshot restarts the stream, so it gets a snapshot taken after it
 *   subscribed; the others then see that snapshot too (a resync, never a gap).
 * - A refused or failed stream is over: every listener hears it once, and the stream is opened
 *   again only when a listener subscribes anew. The call machine owns that retry (its feed's
 *   retry schedule and "Reconnect"); a chat listener still registered then gets the new snapshot.
 */
import type { CallApi } from "../call-api";
import type { RoomEvent, RoomSession } from "../room-protocol";

/** What the stream carries: a snapshot first on each (re)start that could not resume, then events. */
export type RoomStreamData = RoomEvent | { type: "snapshot"; session: RoomSession | null };

/**
 * Opens the study's event stream once (tRPC in the browser, a fake in tests). `onError`: refused
 * or failed for good (the stream is over). Returns the function that closes it.
 */
export type OpenRoomStream = (
  studyId: string,
  handlers: { onData: (data: RoomStreamData) => void; onError: (error: unknown) => void },
) => () => void;

interface RoomStreamListener {
  /** The study's running session (or null) each time the stream (re)starts without resuming. */
  onSnapshot(session: RoomSession | null): void;
  /** Each event after the snapshot. */
  onEvent(event: RoomEvent): void;
  /** The stream was refused or failed for good; called once, the stream is over. */
  onError?(error: unknown): void;
}

export interface RoomEventsHub {
  /**
   * Listens to the study's stream, opening it if none is open. `fresh`: this listener needs a
   * snapshot taken after it subscribed (see the file comment). Returns the unsubscribe function;
   * the last one out closes the stream.
   */
  subscribe(studyId: string, listener: RoomStreamListener, opts?: { fresh?: boolean }): () => void;
}

interface StudyStream {
  listeners: Set<RoomStreamListener>;
  /** Closes the open underlying stream; null while none is open (never opened, failed, closed). */
  close: (() => void) | null;
  /** The open stream has delivered its snapshot. */
  started: boolean;
}

export function createRoomEventsHub(open: OpenRoomStream): RoomEventsHub {
  const streams = new Map<string, StudyStream>();

  const start = (studyId: string, s: StudyStream) => {
    s.started = false;
    // False once this stream is closed or replaced: whatever it still reports is dropped.
    let current = true;
    let closeUnderlying: (() => void) | null = null;
    s.close = () => {
      current = false;
      closeUnderlying?.();
    };
    const close = open(studyId, {
      onData(data) {
        if (!current) return;
        if (data.type === "snapshot") s.started = true;
        for (const l of [...s.listeners]) {
          // A listener that unsubscribed, or a restart, while this piece was being handed out.
          if (!current || !s.listeners.has(l)) continue;
          if (data.type === "snapshot") l.onSnapshot(data.session);
          else l.onEvent(data);
        }
      },
      onError(error) {
        if (!current) return;
        stop(s);
        for (const l of [...s.listeners]) if (s.listeners.has(l)) l.onError?.(error);
      },
    });
    // It may have failed (or been closed) before `open` returned.
    if (current) closeUnderlying = close;
    else close();
  };

  const stop = (s: StudyStream) => {
    const close = s.close;
    s.close = null;
    s.started = false;
    close?.();
  };

  return {
    subscribe(studyId, listener, opts) {
      let s = streams.get(studyId);
      if (!s) {
        s = { listeners: new Set(), close: null, started: false };
        streams.set(studyId, s);
      }
      const stream = s;
      stream.listeners.add(listener);
      if (stream.close === null) start(studyId, stream);
      else if (opts?.fresh && stream.started) {
        stop(stream);
        start(studyId, stream);
      }
      return () => {
        if (!stream.listeners.delete(listener) || stream.listeners.size > 0) return;
        stop(stream);
        streams.delete(studyId);
      };
    },
  };
}

/**
 * The call machine's room feed (`CallApi.subscribe`) over the hub. Always `fresh`: the machine
 * reconciles its roster with a snapshot taken after it subscribed, as it did with a stream of its own.
 */
export function callFeedOver(hub: RoomEventsHub): CallApi["subscribe"] {
  return (studyId, onEvent, onSnapshot, onError) =>
    hub.subscribe(studyId, { onEvent, onSnapshot, onError }, { fresh: true });
}
