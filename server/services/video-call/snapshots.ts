/**
 * The cache of each study's running call as `status`, the room feed's first message and `start`
 * answer it. Every write this process makes invalidates the study's entry (on every instance of a
 * cluster, through Redis); the TTL only bounds how stale an entry can get when a write goes unannounced.
 */
import { performance } from "node:perf_hooks";
import type { RoomSession } from "../../../machines/room-protocol.js";
import type { RedisLink } from "../../cluster/redis.js";
import type { CallQueries } from "./queries.js";

const SNAPSHOT_TTL_MS = 2_000;

export class RoomSnapshots {
  private readonly entries = new Map<
    string,
    { version: number; expires: number; value: Promise<RoomSession | null> }
  >();
  /** Bumped on every invalidation, so a load that started before a write is never cached after it. */
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly queries: CallQueries,
    private readonly cluster?: RedisLink,
  ) {
    cluster?.onControl("snapshot", (studyId) => {
      if (typeof studyId === "string") this.drop(studyId);
    });
  }

  /** The study's running call, from the cache when fresh; concurrent readers share one load. */
  get(studyId: string): Promise<RoomSession | null> {
    const version = this.versions.get(studyId) ?? 0;
    const hit = this.entries.get(studyId);
    if (hit && hit.version === version && hit.expires > performance.now()) return hit.value;
    const value = this.queries.room(studyId);
    const entry = { version, expires: performance.now() + SNAPSHOT_TTL_MS, value };
    this.entries.set(studyId, entry);
    value.catch(() => {
      if (this.entries.get(studyId) === entry) this.entries.delete(studyId);
    });
    return value;
  }

  /** Read past the cache. */
  load(studyId: string): Promise<RoomSession | null> {
    return this.queries.room(studyId);
  }

  invalidate(studyId: string): void {
    this.drop(studyId);
    this.cluster?.broadcast("snapshot", studyId);
  }

  private drop(studyId: string): void {
    this.versions.set(studyId, (this.versions.get(studyId) ?? 0) + 1);
    this.entries.delete(studyId);
  }
}
