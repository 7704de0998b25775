/**
 * The room event bus of a cluster: each study's events go to a Redis stream capped at a fixed
 * length (the replay log for `lastEventId`, readable by every instance) and, in the same atomic
 * script, to one pub/sub channel every instance listens on for live delivery. Ids are the stream's
 * own, so a stream resumed on another instance replays exactly what it missed.
 */
import type { RoomEvent } from "../../machines/room-protocol.js";
import type { PublishOptions, RoomEventBus, StoredRoomEvent } from "../events.js";
import type { Logger } from "../logger.js";
import type { RedisLink } from "./redis.js";

const CHANNEL = "ev";
/** A study quiet for this long loses its replay log; subscribers then re-snapshot, as after any gap. */
const STREAM_TTL_MS = 24 * 60 * 60 * 1000;

// XADD and PUBLISH in one script: the channel then carries events in stream-id order, from every instance.
const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '\\n' .. id .. '\\n' .. ARGV[2])
return id`;

const ID_RE = /^(\d{1,15})-(\d{1,15})$/;
/** Events held back while Redis is away, published in order when it returns; beyond this the oldest are lost. */
const MAX_HELD = 10_000;

export class RedisRoomEventBus implements RoomEventBus {
  private readonly listeners = new Map<string, Set<(event: StoredRoomEvent) => void>>();
  /** Newest id delivered per study with listeners: after a Redis outage, the gap is read from the stream. */
  private readonly lastSeen = new Map<string, string>();
  /** Publishes that failed (Redis down), in order; retried when it returns, so events arrive late rather than never. */
  private held: Array<{ studyId: string; event: RoomEvent }> = [];

  constructor(
    private readonly redis: RedisLink,
    private readonly log: Pick<Logger, "warn">,
    private readonly maxLength = 200,
  ) {
    redis.cmd.defineCommand("coupPublishRoomEvent", { numberOfKeys: 1, lua: PUBLISH_SCRIPT });
    redis.onChannel(CHANNEL, (message) => this.receive(message));
    redis.onReconnect(() => void this.flushHeld().then(() => this.fillGaps()));
  }

  /**
   * `opts.replay` is not honoured here: every event goes through the stream, whose id orders live
   * delivery across instances. Typing notices are throttled per person, so they cannot flood the log.
   */
  async publish(studyId: string, event: RoomEvent, _opts?: PublishOptions): Promise<StoredRoomEvent | null> {
    // Behind events still waiting for Redis: keep this process's order.
    if (this.held.length) {
      this.hold(studyId, event);
      return null;
    }
    try {
      return await this.send(studyId, event);
    } catch (err) {
      // The database already holds the change; the event goes out when Redis is back.
      this.log.warn({ err, studyId, type: event.type }, "publishing a room event to Redis failed; holding it");
      this.hold(studyId, event);
      return null;
    }
  }

  private hold(studyId: string, event: RoomEvent): void {
    this.held.push({ studyId, event });
    if (this.held.length > MAX_HELD) this.held.shift();
  }

  private async flushHeld(): Promise<void> {
    while (this.held.length) {
      const next = this.held[0]!;
      try {
        await this.send(next.studyId, next.event);
      } catch (err) {
        this.log.warn({ err }, "publishing held room events failed; retrying in a second");
        setTimeout(() => void this.flushHeld(), 1_000).unref();
        return;
      }
      this.held.shift();
    }
  }

  private async send(studyId: string, event: RoomEvent): Promise<StoredRoomEvent> {
    const data = JSON.stringify(event);
    const cmd = this.redis.cmd as unknown as {
      coupPublishRoomEvent(...args: Array<string | number>): Promise<string>;
    };
    const id = await cmd.coupPublishRoomEvent(
      this.streamKey(studyId),
      this.maxLength,
      data,
      STREAM_TTL_MS,
      this.redis.key(CHANNEL),
      studyId,
    );
    return { id, order: this.orderOf(id), studyId, event };
  }

  async subscribe(studyId: string, listener: (event: StoredRoomEvent) => void): Promise<() => void> {
    let set = this.listeners.get(studyId);
    if (!set) {
      set = new Set();
      this.listeners.set(studyId, set);
    }
    set.add(listener);
    if (!this.lastSeen.has(studyId)) this.lastSeen.set(studyId, await this.cursor(studyId).catch(() => "0-0"));
    return () => {
      set.delete(listener);
      if (!set.size && this.listeners.get(studyId) === set) {
        this.listeners.delete(studyId);
        this.lastSeen.delete(studyId);
      }
    };
  }

  async cursor(studyId: string): Promise<string> {
    const [last] = await this.redis.cmd.xrevrange(this.streamKey(studyId), "+", "-", "COUNT", 1);
    return last?.[0] ?? "0-0";
  }

  orderOf(id: string): string {
    const m = ID_RE.exec(id);
    return m ? `${m[1]!.padStart(15, "0")}-${m[2]!.padStart(15, "0")}` : "";
  }

  async since(studyId: string, lastEventId: string): Promise<StoredRoomEvent[] | null> {
    if (!ID_RE.test(lastEventId)) return null;
    const key = this.streamKey(studyId);
    // One transaction, so no trim can fall between the check and the read.
    const results = await this.redis.cmd.multi().xinfo("STREAM", key).xrange(key, `(${lastEventId}`, "+").exec();
    const [infoResult, rangeResult] = results ?? [];
    // No stream (never published, expired, or Redis lost its data): nothing to resume from.
    if (!infoResult || infoResult[0] || !rangeResult || rangeResult[0]) return null;
    const info = fields(infoResult[1] as unknown[]);
    const wanted = this.orderOf(lastEventId);
    if (wanted > this.orderOf(String(info["last-generated-id"]))) return null;
    if (wanted < this.orderOf(String(info["max-deleted-entry-id"] ?? "0-0"))) return null;
    return (rangeResult[1] as Array<[string, string[]]>).flatMap(([id, f]) => {
      const event = parse(f[1]);
      return event ? [{ id, order: this.orderOf(id), studyId, event }] : [];
    });
  }

  private streamKey(studyId: string): string {
    return this.redis.key(`ev:${studyId}`);
  }

  private receive(message: string): void {
    const first = message.indexOf("\n");
    const second = message.indexOf("\n", first + 1);
    if (first < 0 || second < 0) return;
    const studyId = message.slice(0, first);
    const id = message.slice(first + 1, second);
    const set = this.listeners.get(studyId);
    if (!set) return;
    const event = parse(message.slice(second + 1));
    if (!event) return;
    this.deliver({ id, order: this.orderOf(id), studyId, event });
  }

  private deliver(stored: StoredRoomEvent): void {
    const last = this.lastSeen.get(stored.studyId);
    if (last === undefined || stored.order > this.orderOf(last)) this.lastSeen.set(stored.studyId, stored.id);
    for (const listener of this.listeners.get(stored.studyId) ?? []) listener(stored);
  }

  /** Live messages published while the subscriber connection was down are read back from the streams. */
  private async fillGaps(): Promise<void> {
    for (const [studyId, last] of [...this.lastSeen]) {
      try {
        const missed = await this.since(studyId, last);
        for (const e of missed ?? []) this.deliver(e);
      } catch (err) {
        this.log.warn({ err, studyId }, "reading missed room events after a Redis outage failed");
      }
    }
  }
}

function fields(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function parse(json: string | undefined): RoomEvent | null {
  try {
    return json ? (JSON.parse(json) as RoomEvent) : null;
  } catch {
    return null;
  }
}
