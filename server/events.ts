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
  /** What clients send back as `lastEventId`; only its bus can interpret it. */
  id: string;
  /** Sorts like publication order within a study (plain string comparison); used to skip repeats. */
  order: string;
  studyId: string;
  event: RoomEvent;
}

/**
 * Room events of every study: publish, live subscription and `lastEventId` replay. Two
 * implementations: LocalRoomEventBus (one process, the default) and RedisRoomEventBus
 * (server/cluster/redis-events.ts, shared by every instance of a cluster).
 */
export interface RoomEventBus {
  /** Fire-and-forget for callers: a failed publish is the bus's to report. */
  publish(studyId: string, event: RoomEvent, opts?: PublishOptions): Promise<StoredRoomEvent | null>;
  /** Resolves once the listener is attached, so anything published after that reaches it. */
  subscribe(studyId: string, listener: (event: StoredRoomEvent) => void): Promise<() => void>;
  /** The id a snapshot of the study taken now stands for: resuming from it replays everything published afterwards. */
  cursor(studyId: string): Promise<StoredRoomEvent["id"]>;
  /**
   * Events of the study published after `lastEventId`, or null when that id can't be resumed from
   * (another bus's id, garbage, or older than the replay log remembers): the caller then re-snapshots.
   */
  since(studyId: string, lastEventId: string): Promise<StoredRoomEvent[] | null>;
  /** Maps an id this bus handed out to its `order`. */
  orderOf(id: string): string;
}

export interface PublishOptions {
  /** false: live subscribers only, never replayed on resume (short-lived notices such as chat-typing). */
  replay?: boolean;
}

interface StudyRing {
  events: StoredRoomEvent[];
  /** Highest seq that fell out of the ring: resuming from at or below it would silently skip events. */
  evictedUpTo: number;
}

const pad = (n: number) => String(n).padStart(15, "0");

/** In-process room event bus with a bounded per-study ring buffer for `lastEventId` resume. */
export class LocalRoomEventBus implements RoomEventBus {
  private readonly emitter = new EventEmitter();
  private readonly rings = new Map<string, StudyRing>();
  /** Changes with every process, so ids from before a restart never resume. */
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
  publish(studyId: string, event: RoomEvent, opts: PublishOptions = {}): Promise<StoredRoomEvent> {
    const seq = ++this.seq;
    const stored: StoredRoomEvent = { id: `${this.epoch}-${seq}`, order: pad(seq), studyId, event };
    if (opts.replay === false) {
      this.emitter.emit(studyId, stored);
      return Promise.resolve(stored);
    }
    let ring = this.rings.get(studyId);
    if (!ring) {
      ring = { events: [], evictedUpTo: 0 };
      this.rings.set(studyId, ring);
    }
    ring.events.push(stored);
    if (ring.events.length > this.bufferSize) ring.evictedUpTo = Number(ring.events.shift()!.order);
    this.emitter.emit(studyId, stored);
    return Promise.resolve(stored);
  }

  subscribe(studyId: string, listener: (event: StoredRoomEvent) => void): Promise<() => void> {
    this.emitter.on(studyId, listener);
    return Promise.resolve(() => this.emitter.off(studyId, listener));
  }

  cursor(_studyId?: string): Promise<string> {
    return Promise.resolve(`${this.epoch}-${this.seq}`);
  }

  orderOf(id: string): string {
    return pad(Number(id.split("-")[1] ?? 0));
  }

  since(studyId: string, lastEventId: string): Promise<StoredRoomEvent[] | null> {
    return Promise.resolve(this.sinceNow(studyId, lastEventId));
  }

  private sinceNow(studyId: string, lastEventId: string): StoredRoomEvent[] | null {
    const match = /^([0-9a-f]{8})-(\d{1,15})$/.exec(lastEventId);
    if (!match || match[1] !== this.epoch) return null;
    const seq = Number(match[2]);
    if (seq > this.seq) return null;
    const ring = this.rings.get(studyId);
    if (!ring) return [];
    if (seq < ring.evictedUpTo) return null;
    return ring.events.filter((e) => Number(e.order) > seq);
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
  /** Which events this subscriber may see (events addressed to someone else are skipped). */
  deliver?: (event: RoomEvent) => boolean;
}): AsyncGenerator<StreamedRoomEvent, void, undefined> {
  const { bus, studyId, signal } = opts;
  const deliver = opts.deliver ?? (() => true);
  const pending: StoredRoomEvent[] = [];
  let wake: (() => void) | null = null;
  let overflowed = false;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const unsubscribe = await bus.subscribe(studyId, (e) => {
    if (pending.length >= MAX_PENDING) overflowed = true;
    else pending.push(e);
    notify();
  });
  signal?.addEventListener("abort", notify, { once: true });
  try {
    let delivered = "";
    const replay = opts.lastEventId ? await bus.since(studyId, opts.lastEventId) : null;
    if (replay) {
      delivered = bus.orderOf(opts.lastEventId!);
      for (const e of replay) {
        if (deliver(e.event)) yield { id: e.id, event: e.event };
        delivered = e.order;
      }
    } else {
      const cursor = await bus.cursor(studyId);
      delivered = bus.orderOf(cursor);
      const session = await opts.snapshot();
      yield { id: cursor, event: { type: "snapshot", session } };
    }
    while (!signal?.aborted && !overflowed) {
      const next = pending.shift();
      if (next) {
        if (next.order > delivered) {
          delivered = next.order;
          if (deliver(next.event)) yield { id: next.id, event: next.event };
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
