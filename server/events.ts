import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { RoomEvent, RoomSession } from "../machines/room-protocol.js";

/** The first thing a fresh (or unresumable) subscriber receives, so clients need no separate status call. */
interface SnapshotEvent {
  type: "snapshot";
  session: RoomSession | null;
}
export type RoomStreamEvent = RoomEvent | SnapshotEvent;

export interface StoredRoomEvent {
  /** `<epoch>-<seq>`: the epoch changes with every process, so ids from before a restart never resume. */
  id: string;
  seq: number;
  studyId: string;
  event: RoomEvent;
}

interface StudyRing {
  events: StoredRoomEvent[];
  /** Highest seq that fell out of the ring: resuming from at or below it would silently skip events. */
  evictedUpTo: number;
}

/**
 * In-process room event bus with a bounded per-study ring buffer for `lastEventId` resume.
 *
 * One process is the whole truth here. Running several app instances needs a shared transport
 * instead (Redis streams, or Postgres LISTEN/NOTIFY with an events table for replay); the
 * publish/subscribe/since surface below is what such an implementation has to provide.
 */
export class RoomEventBus {
  private readonly emitter = new EventEmitter();
  private readonly rings = new Map<string, StudyRing>();
  private readonly epoch = randomBytes(4).toString("hex");
  private seq = 0;

  constructor(private readonly bufferSize = 200) {
    // Every open SSE stream is one listener; the default cap of 10 would only produce warnings.
    this.emitter.setMaxListeners(0);
  }

  /**
   * `replay: false` is for notices that mean nothing a moment later (chat-typing): they go to live
   * subscribers only, so a burst of them can't push the events a resume needs out of the ring.
   */
  publish(studyId: string, event: RoomEvent, opts: { replay?: boolean } = {}): StoredRoomEvent {
    const stored: StoredRoomEvent = { id: `${this.epoch}-${++this.seq}`, seq: this.seq, studyId, event };
    if (opts.replay === false) {
      this.emitter.emit(studyId, stored);
      return stored;
    }
    let ring = this.rings.get(studyId);
    if (!ring) {
      ring = { events: [], evictedUpTo: 0 };
      this.rings.set(studyId, ring);
    }
    ring.events.push(stored);
    if (ring.events.length > this.bufferSize) ring.evictedUpTo = ring.events.shift()!.seq;
    this.emitter.emit(studyId, stored);
    return stored;
  }

  subscribe(studyId: string, listener: (event: StoredRoomEvent) => void): () => void {
    this.emitter.on(studyId, listener);
    return () => this.emitter.off(studyId, listener);
  }

  /** The id a snapshot taken now stands for: resuming from it replays everything published afterwards. */
  cursor(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /**
   * Events of the study published after `lastEventId`, or null when that id can't be resumed from
   * (another process's id, garbage, or older than the ring remembers): the caller then re-snapshots.
   */
  since(studyId: string, lastEventId: string): StoredRoomEvent[] | null {
    const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastEventId);
    if (!match || match[1] !== this.epoch) return null;
    const seq = Number(match[2]);
    if (seq > this.seq) return null;
    const ring = this.rings.get(studyId);
    if (!ring) return [];
    if (seq < ring.evictedUpTo) return null;
    return ring.events.filter((e) => e.seq > seq);
  }
}

export interface StreamedRoomEvent {
  id: string;
  event: RoomStreamEvent;
}

/** A subscriber this far behind is cut off; it reconnects with its lastEventId and replays or re-snapshots. */
const MAX_PENDING = 1000;

/**
 * One subscriber's view of a study's events: a snapshot first (or the missed events when resuming
 * from `lastEventId`), then live events until `signal` aborts.
 *
 * The listener is attached before the snapshot is read, so nothing committed after the read can
 * be missed; an event may therefore repeat what the snapshot already shows, and clients apply
 * events idempotently (keyed by peerId).
 */
export async function* streamRoomEvents(opts: {
  bus: RoomEventBus;
  studyId: string;
  lastEventId?: string | null;
  snapshot: () => Promise<RoomSession | null>;
  signal?: AbortSignal;
}): AsyncGenerator<StreamedRoomEvent, void, undefined> {
  const { bus, studyId, signal } = opts;
  const pending: StoredRoomEvent[] = [];
  let wake: (() => void) | null = null;
  let overflowed = false;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const unsubscribe = bus.subscribe(studyId, (e) => {
    if (pending.length >= MAX_PENDING) overflowed = true;
    else pending.push(e);
    notify();
  });
  signal?.addEventListener("abort", notify, { once: true });
  try {
    let delivered = 0;
    const replay = opts.lastEventId ? bus.since(studyId, opts.lastEventId) : null;
    if (replay) {
      for (const e of replay) {
        yield { id: e.id, event: e.event };
        delivered = e.seq;
      }
    } else {
      const cursor = bus.cursor();
      delivered = Number(cursor.split("-")[1]);
      const session = await opts.snapshot();
      yield { id: cursor, event: { type: "snapshot", session } };
    }
    while (!signal?.aborted && !overflowed) {
      const next = pending.shift();
      if (next) {
        if (next.seq > delivered) {
          delivered = next.seq;
          yield { id: next.id, event: next.event };
        }
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    unsubscribe();
    signal?.removeEventListener("abort", notify);
  }
}
