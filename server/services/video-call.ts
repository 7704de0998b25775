import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Op, QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { z } from "zod";
import { VideoCallParticipant, VideoCallSession, User, type LeaveReason } from "../../db/models/index.js";
import type {
  IceServer,
  JoinResult,
  LinkState,
  MediaFlags,
  RoomParticipant,
  RoomSession,
} from "../../machines/room-protocol.js";
import type { Config } from "../config.js";
import { setBounded } from "../bounded-map.js";
import { streamRoomEvents, type RoomEventBus, type StreamedRoomEvent } from "../events.js";
import type { Logger } from "../logger.js";
import { DomainError } from "./errors.js";
import type { MembershipCache } from "./memberships.js";
import type { StudyService } from "./studies.js";
import { iceServersFor } from "./turn.js";

// ---------------------------------------------------------------------------------------------
// Inputs: every entry point parses untrusted input with these; a failure becomes a 400.

const uuid = (what: string) => z.uuid(`${what} must be a UUID`);
/** PeerJS accepts letters and digits joined by single spaces, dashes or underscores. */
const PeerIdSchema = z
  .string("Peer id must be a string")
  .min(1, "Peer id is empty")
  .max(64, "Peer id is too long")
  .regex(/^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/, "Peer id contains characters PeerJS doesn't allow");

export const StudyCallInput = z.object({ studyId: uuid("Study id") });
export const JoinCallInput = z.object({ studyId: uuid("Study id"), sessionId: uuid("Session id") });
/** `studyId` is optional: tRPC clients name only the session, REST routes carry the study in the URL. */
export const SessionCallInput = z.object({ sessionId: uuid("Session id"), studyId: uuid("Study id").optional() });
export const SetMediaInput = SessionCallInput.extend({
  audio: z.boolean("audio must be true or false"),
  video: z.boolean("video must be true or false"),
  screen: z.boolean("screen must be true or false"),
});
export const ReportLinkInput = SessionCallInput.extend({
  remotePeerId: PeerIdSchema,
  state: z.enum(["connected", "reconnecting", "lost"], "state must be connected, reconnecting or lost"),
  attempt: z.number().int().min(0).max(1000).optional(),
  maxAttempts: z.number().int().min(0).max(1000).optional(),
});
export const HistoryInput = z.object({
  studyId: uuid("Study id"),
  limit: z.number().int().min(1, "limit must be at least 1").max(50, "limit is at most 50").default(20),
  cursor: z.string().max(200, "cursor is too long").nullish(),
});
export const WatchInput = z.object({
  studyId: uuid("Study id"),
  /** Set by httpSubscriptionLink when it reconnects. */
  lastEventId: z.string().max(100, "lastEventId is too long").nullish(),
});
const CursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });

// ---------------------------------------------------------------------------------------------
// Outputs

export interface StatusResult {
  session: RoomSession | null;
}
export interface StartResult {
  session: RoomSession;
  created: boolean;
}
export interface HistoryParticipant {
  userId: string;
  name: string;
  avatarUrl: string | null;
  /** Seconds actually in the call, summed over every join of that session. */
  secondsPresent: number;
  secondsMuted: number;
  secondsVideoOff: number;
  secondsScreenShared: number;
  joins: number;
  firstJoinedAt: string;
  lastLeftAt: string | null;
  /** Why their last participation ended. */
  leaveReason: LeaveReason | null;
}
export interface HistorySession {
  id: string;
  roomId: string;
  startedBy: string;
  startedAt: string;
  endedAt: string | null;
  /** Seconds from start to the last person leaving. */
  duration: number | null;
  participants: HistoryParticipant[];
}
export interface HistoryResult {
  sessions: HistorySession[];
  nextCursor: string | null;
}

export type VideoCallConfig = Pick<
  Config,
  "STUN_URLS" | "TURN_URLS" | "TURN_TTL_SECONDS" | "DROP_GRACE_MS" | "STALE_AFTER_MS"
> & {
  TURN_SECRET?: string | undefined;
  /** Handed to browsers with the ICE servers; "all" when unset. */
  ICE_TRANSPORT_POLICY?: Config["ICE_TRANSPORT_POLICY"] | undefined;
};
export const VIDEO_CALL_DEFAULTS: VideoCallConfig = {
  STUN_URLS: "",
  TURN_URLS: "",
  TURN_TTL_SECONDS: 12 * 60 * 60,
  DROP_GRACE_MS: 8_000,
  STALE_AFTER_MS: 60_000,
};

/** How the PeerServer asks the call domain who may register a peer id, and reports sockets coming and going. */
export interface PeerAccess {
  authorize(userId: string, peerId: string): Promise<boolean>;
  onConnect(peerId: string): void;
  onDisconnect(peerId: string): void;
}

export interface VideoCallDeps {
  sequelize: Sequelize;
  studies: StudyService;
  memberships: MembershipCache;
  events: RoomEventBus;
  config: VideoCallConfig;
  /** Every stored timestamp comes from here, so tests control durations exactly. */
  now?: () => Date;
  log?: Pick<Logger, "warn" | "error">;
}

// Snapshots are invalidated on every write this process makes; the TTL only bounds how stale a
// snapshot can get when another process writes the same database.
const SNAPSHOT_TTL_MS = 2_000;
const SESSION_STUDIES_MAX = 10_000;
const RETRYABLE_PG_CODES = new Set(["40001", "40P01"]);

interface SnapshotRow {
  id: string;
  roomId: string;
  startedAt: Date;
  startedBy: string;
  userId: string | null;
  peerId: string | null;
  joinedAt: Date | null;
  audio: boolean | null;
  video: boolean | null;
  screen: boolean | null;
  name: string | null;
  avatarUrl: string | null;
}

interface SessionAccess {
  id: string;
  studyId: string;
  name: string;
  avatarUrl: string | null;
}

interface JoinRow {
  outcome: "joined" | "no-call" | "ended";
  id: string | null;
  joinedAt: Date;
  previousPeerId: string | null;
  participants: RoomParticipant[] | null;
}

/** A row of video_call_close (none when nothing was open). */
interface CloseRow {
  study_id: string | null;
  session_id: string | null;
  user_id: string | null;
  peer_id: string | null;
  session_ended_at: Date | null;
}

interface ClosedParticipation {
  studyId: string;
  sessionId: string;
  userId: string;
  peerId: string;
  reason: LeaveReason;
  sessionEndedAt: Date | null;
}

const seconds = (from: Date, to: Date) => Math.max(0, (to.getTime() - from.getTime()) / 1000);
const round3 = (n: number) => Math.round(n * 1000) / 1000;
const latest = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

/** Unguessable, and within PeerJS's id alphabet. */
function newPeerId(): string {
  return `p${randomBytes(16).toString("hex")}`;
}
function newRoomId(): string {
  return `room-${randomBytes(12).toString("hex")}`;
}

/**
 * The rules of a study's call, in one place. tRPC procedures, REST routes and PeerServer hooks
 * only adapt their transport to these methods.
 */
export class VideoCallService {
  readonly peerAccess: PeerAccess;
  private readonly now: () => Date;
  private readonly dropTimers = new Map<string, NodeJS.Timeout>();
  /** Peer ids with a live PeerServer socket: that socket is proof of presence for the sweeper. */
  private readonly connectedPeers = new Set<string>();
  private readonly snapshots = new Map<
    string,
    { version: number; expires: number; value: Promise<RoomSession | null> }
  >();
  private readonly versions = new Map<string, number>();
  private readonly sessionStudies = new Map<string, string>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<{ dropped: number; ended: number }> | null = null;
  private stopped = false;

  constructor(private readonly deps: VideoCallDeps) {
    this.now = deps.now ?? (() => new Date());
    this.peerAccess = {
      authorize: (userId, peerId) => this.authorizePeer(userId, peerId),
      onConnect: (peerId) => this.peerConnected(peerId),
      onDisconnect: (peerId) => this.peerDisconnected(peerId),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  async status(userId: string, raw: unknown): Promise<StatusResult> {
    const { studyId } = StudyCallInput.parse(raw);
    await this.requireMember(userId, studyId);
    return { session: await this.snapshot(studyId) };
  }

  async history(userId: string, raw: unknown): Promise<HistoryResult> {
    const { studyId, limit, cursor } = HistoryInput.parse(raw);
    await this.requireMember(userId, studyId);
    const after = cursor ? decodeCursor(cursor) : null;
    const sessions = await VideoCallSession.findAll({
      where: {
        studyId,
        endedAt: { [Op.ne]: null },
        ...(after
          ? { [Op.or]: [{ startedAt: { [Op.lt]: after.t } }, { startedAt: after.t, id: { [Op.lt]: after.id } }] }
          : {}),
      },
      order: [
        ["startedAt", "DESC"],
        ["id", "DESC"],
      ],
      limit: limit + 1,
    });
    const page = sessions.slice(0, limit);
    const participations = page.length
      ? await VideoCallParticipant.findAll({
          where: { sessionId: { [Op.in]: page.map((s) => s.id) } },
          include: [{ model: User, as: "user", attributes: ["id", "name", "avatarUrl"] }],
          order: [["joinedAt", "ASC"]],
        })
      : [];
    const bySession = new Map<string, Map<string, HistoryParticipant>>();
    for (const p of participations) {
      let people = bySession.get(p.sessionId);
      if (!people) bySession.set(p.sessionId, (people = new Map()));
      const person = people.get(p.userId) ?? {
        userId: p.userId,
        name: p.user?.name ?? "Former member",
        avatarUrl: p.user?.avatarUrl ?? null,
        secondsPresent: 0,
        secondsMuted: 0,
        secondsVideoOff: 0,
        secondsScreenShared: 0,
        joins: 0,
        firstJoinedAt: p.joinedAt.toISOString(),
        lastLeftAt: null,
        leaveReason: null,
      };
      person.secondsPresent = round3(person.secondsPresent + (p.duration ?? 0));
      person.secondsMuted = round3(person.secondsMuted + p.audioMutedTime);
      person.secondsVideoOff = round3(person.secondsVideoOff + p.videoOffTime);
      person.secondsScreenShared = round3(person.secondsScreenShared + p.screenSharedTime);
      person.joins += 1;
      person.lastLeftAt = p.leftAt?.toISOString() ?? null;
      person.leaveReason = p.leaveReason;
      people.set(p.userId, person);
    }
    const last = sessions.length > limit ? page[page.length - 1] : undefined;
    return {
      sessions: page.map((s) => ({
        id: s.id,
        roomId: s.roomId,
        startedBy: s.startedBy,
        startedAt: s.startedAt.toISOString(),
        endedAt: s.endedAt?.toISOString() ?? null,
        duration: s.duration === null ? null : round3(s.duration),
        participants: [...(bySession.get(s.id)?.values() ?? [])],
      })),
      nextCursor: last ? encodeCursor(last.startedAt, last.id) : null,
    };
  }

  /**
   * Authorizes a subscriber (before anything is streamed) and returns its event stream: a
   * snapshot or the missed events first, then live events until `signal` aborts.
   */
  async watch(
    userId: string,
    raw: unknown,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<StreamedRoomEvent, void, undefined>> {
    const { studyId, lastEventId } = WatchInput.parse(raw);
    await this.requireMember(userId, studyId);
    return streamRoomEvents({
      bus: this.deps.events,
      studyId,
      lastEventId,
      signal,
      snapshot: () => this.snapshot(studyId),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Returns the study's running call, creating it when there is none; concurrent starts share one. */
  async start(userId: string, raw: unknown): Promise<StartResult> {
    const { studyId } = StudyCallInput.parse(raw);
    await this.requireMember(userId, studyId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const startedAt = this.now();
      // Sequelize's upsert can't target a partial unique index; ON CONFLICT … WHERE can.
      const inserted = await this.deps.sequelize.query<{ id: string }>(
        `INSERT INTO video_call_sessions (id, "studyId", "roomId", "startedBy", "startedAt", "createdAt", "updatedAt")
         VALUES (gen_random_uuid(), $1, $2, $3, $4, now(), now())
         ON CONFLICT ("studyId") WHERE "endedAt" IS NULL DO NOTHING
         RETURNING id`,
        { bind: [studyId, newRoomId(), userId, startedAt], type: QueryTypes.SELECT },
      );
      const created = inserted.length > 0;
      if (created) this.invalidate(studyId);
      // A loser trusts a cached running call (every end in this process invalidates it), but reads
      // past a cached "no call", which may be from just before the winner's insert.
      const session = created
        ? await this.snapshot(studyId)
        : ((await this.snapshot(studyId)) ?? (await this.loadSnapshot(studyId)));
      // The running call may have ended between our conflict and the read: try again.
      if (!session) continue;
      if (created) this.publish(studyId, { type: "session-started", session });
      return { session, created };
    }
    throw new DomainError("CONFLICT", "The call is starting and stopping too quickly. Try again.");
  }

  /**
   * Opens a participation with a fresh peer id. An open participation of the same person in this
   * session (a reload) is closed as LEFT first, so one person is never in the call twice.
   */
  async join(userId: string, raw: unknown): Promise<JoinResult> {
    const { studyId, sessionId } = JoinCallInput.parse(raw);
    const user = await this.requireMember(userId, studyId);
    const peerId = newPeerId();
    const [row] = await this.deps.sequelize.query<JoinRow>(`SELECT * FROM video_call_join($1, $2, $3, $4, $5)`, {
      bind: [sessionId, studyId, userId, peerId, this.now()],
      type: QueryTypes.SELECT,
    });
    if (!row || row.outcome === "no-call")
      throw new DomainError("BAD_REQUEST", "This call doesn't exist in this study.");
    if (row.outcome === "ended") throw new DomainError("BAD_REQUEST", "This call has already ended. Start a new one.");
    setBounded(this.sessionStudies, sessionId, studyId, SESSION_STUDIES_MAX);
    if (row.previousPeerId) this.clearDropTimer(row.previousPeerId);
    this.invalidate(studyId);
    const joinedAt = row.joinedAt.toISOString();
    const view: RoomParticipant = { userId, ...user, peerId, joinedAt, audio: true, video: true, screen: false };
    // jsonb renders timestamps in the server's own format; clients get the API's ISO strings.
    const participants = (row.participants ?? []).map((p) => ({ ...p, joinedAt: new Date(p.joinedAt).toISOString() }));
    if (row.previousPeerId) {
      // `replaced`: an old tab still open says "You joined from another tab", not "You left".
      const left = { type: "user-left", sessionId, userId, peerId: row.previousPeerId, reason: "LEFT" } as const;
      this.publish(studyId, { ...left, replaced: true });
    }
    this.publish(studyId, { type: "user-joined", sessionId, participant: view });
    return {
      participant: view,
      peerId,
      participants,
      iceServers: this.iceServers(userId),
      iceTransportPolicy: this.deps.config.ICE_TRANSPORT_POLICY ?? "all",
    };
  }

  /** Closes the caller's own participation; the last one out ends the call. */
  async leave(userId: string, raw: unknown): Promise<{ success: true }> {
    const { sessionId, studyId } = SessionCallInput.parse(raw);
    await this.requireSession(userId, sessionId, studyId);
    const closed = await this.closeParticipation({ sessionId, userId }, "LEFT", this.now());
    if (!closed) await this.notInCall(sessionId, "You are not in this call.");
    return { success: true };
  }

  async heartbeat(userId: string, raw: unknown): Promise<{ ok: true; lastSeenAt: string }> {
    const { sessionId, studyId } = SessionCallInput.parse(raw);
    await this.requireSession(userId, sessionId, studyId);
    const now = this.now();
    const [count] = await VideoCallParticipant.update(
      { lastSeenAt: now },
      { where: { sessionId, userId, leftAt: null } },
    );
    if (!count) await this.notInCall(sessionId, "You are not in this call. Join it again.");
    return { ok: true, lastSeenAt: now.toISOString() };
  }

  /** Records the caller's media flags; time spent muted, camera-off or sharing accrues per change. */
  async setMedia(userId: string, raw: unknown): Promise<{ participant: RoomParticipant }> {
    const { sessionId, studyId, audio, video, screen } = SetMediaInput.parse(raw);
    const session = await this.requireSession(userId, sessionId, studyId);
    const { row, changed } = await this.transaction(async (transaction) => {
      const p = await VideoCallParticipant.findOne({
        where: { sessionId, userId, leftAt: null },
        transaction,
        lock: transaction.LOCK.UPDATE,
      });
      if (!p) return { row: null, changed: false };
      const now = this.now();
      const next = { audio, video, screen };
      const isChanged = p.audio !== audio || p.video !== video || p.screen !== screen;
      await p.update({ ...accrueMedia(p, now, next), lastSeenAt: now }, { transaction });
      return { row: p, changed: isChanged };
    });
    if (!row) return this.notInCall(sessionId, "You are not in this call. Join it again.");
    if (changed) {
      this.invalidate(session.studyId);
      this.publish(session.studyId, {
        type: "media-changed",
        sessionId,
        userId,
        peerId: row.peerId,
        audio,
        video,
        screen,
      });
    }
    return { participant: toRoomParticipant(row, session) };
  }

  /** Relays what the caller sees of its link to another participant, as that participant's tile state. */
  async reportLink(userId: string, raw: unknown): Promise<{ success: true }> {
    const input = ReportLinkInput.parse(raw);
    const session = await this.requireSession(userId, input.sessionId, input.studyId);
    const open = await VideoCallParticipant.findAll({
      where: { sessionId: input.sessionId, leftAt: null, [Op.or]: [{ userId }, { peerId: input.remotePeerId }] },
      attributes: ["userId", "peerId"],
    });
    const reporter = open.find((p) => p.userId === userId);
    if (!reporter) return this.notInCall(input.sessionId, "You are not in this call. Join it again.");
    const remote = open.find((p) => p.peerId === input.remotePeerId);
    if (!remote) throw new DomainError("NOT_FOUND", "That person is no longer in this call.");
    const state: LinkState = input.state;
    this.publish(session.studyId, {
      type: "connection-state",
      sessionId: input.sessionId,
      userId: remote.userId,
      peerId: remote.peerId,
      reporterPeerId: reporter.peerId,
      state,
      ...(input.attempt !== undefined ? { attempt: input.attempt } : {}),
      ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
    });
    return { success: true };
  }

  // -------------------------------------------------------------------------------------------
  // Crashed browsers, stale participations and restarts

  /**
   * Arms the drop grace for every participation a previous run left open (their owners get the
   * grace to re-register the same peer id), then starts the stale sweeper.
   */
  async startBackground(): Promise<void> {
    this.stopped = false;
    const leftovers = await VideoCallParticipant.findAll({
      where: { leftAt: null },
      attributes: ["peerId", "joinedAt", "lastSeenAt"],
    });
    for (const p of leftovers) {
      if (!this.connectedPeers.has(p.peerId)) this.armDrop(p.peerId, latest(p.lastSeenAt, p.joinedAt));
    }
    const every = Math.max(1_000, Math.min(15_000, Math.floor(this.deps.config.STALE_AFTER_MS / 4)));
    this.sweeper = setInterval(
      () => void this.sweep().catch((err) => this.deps.log?.error({ err }, "call sweeper failed")),
      every,
    );
    this.sweeper.unref();
  }

  async stopBackground(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const timer of this.dropTimers.values()) clearTimeout(timer);
    this.dropTimers.clear();
    await this.sweeping?.catch(() => {});
  }

  /**
   * Closes (DROPPED) participations with no sign of life for STALE_AFTER_MS, at their last sign of
   * life, and ends running calls nobody is in anymore. A live PeerServer socket counts as life.
   */
  sweep(): Promise<{ dropped: number; ended: number }> {
    if (this.sweeping) return this.sweeping;
    const run = (async () => {
      const now = this.now();
      if (this.connectedPeers.size) {
        await VideoCallParticipant.update(
          { lastSeenAt: now },
          { where: { peerId: { [Op.in]: [...this.connectedPeers] }, leftAt: null } },
        );
      }
      const cutoff = new Date(now.getTime() - this.deps.config.STALE_AFTER_MS);
      const stale = await VideoCallParticipant.findAll({
        where: { leftAt: null, lastSeenAt: { [Op.lt]: cutoff } },
        attributes: ["id", "peerId"],
      });
      let dropped = 0;
      for (const p of stale) {
        if (this.connectedPeers.has(p.peerId)) continue;
        // Closed at its last sign of life, and only if a heartbeat hasn't just disproved the silence.
        const closed = await this.closeParticipation({ id: p.id }, "DROPPED", null, cutoff);
        if (closed) dropped++;
      }
      const empty = await this.deps.sequelize.query<{ id: string }>(
        `SELECT s.id FROM video_call_sessions s
         WHERE s."endedAt" IS NULL AND s."startedAt" < $1
           AND NOT EXISTS (SELECT 1 FROM video_call_participants p WHERE p."sessionId" = s.id AND p."leftAt" IS NULL)`,
        { bind: [cutoff], type: QueryTypes.SELECT },
      );
      let ended = 0;
      for (const s of empty) {
        const [result] = await this.deps.sequelize.query<{ studyId: string; endedAt: Date | null }>(
          `SELECT "studyId", video_call_end_if_empty(id, $2) AS "endedAt" FROM video_call_sessions WHERE id = $1`,
          { bind: [s.id, now], type: QueryTypes.SELECT },
        );
        if (result?.endedAt) {
          ended++;
          this.invalidate(result.studyId);
          this.publish(result.studyId, {
            type: "session-ended",
            sessionId: s.id,
            endedAt: result.endedAt.toISOString(),
          });
        }
      }
      return { dropped, ended };
    })();
    this.sweeping = run;
    void run
      .finally(() => {
        if (this.sweeping === run) this.sweeping = null;
      })
      .catch(() => {});
    return run;
  }

  private async authorizePeer(userId: string, rawPeerId: string): Promise<boolean> {
    const peer = PeerIdSchema.safeParse(rawPeerId);
    if (!peer.success || !z.uuid().safeParse(userId).success) return false;
    const rows = await this.deps.sequelize.query<{ id: string }>(
      `UPDATE video_call_participants p SET "lastSeenAt" = $3
       FROM video_call_sessions s, study_members m
       WHERE p."peerId" = $1 AND p."userId" = $2 AND p."leftAt" IS NULL
         AND s.id = p."sessionId" AND s."endedAt" IS NULL
         AND m."studyId" = s."studyId" AND m."userId" = p."userId" AND m.status = 'ACTIVE'
       RETURNING p.id`,
      { bind: [peer.data, userId, this.now()], type: QueryTypes.SELECT },
    );
    return rows.length > 0;
  }

  private peerConnected(peerId: string): void {
    this.connectedPeers.add(peerId);
    this.clearDropTimer(peerId);
  }

  private peerDisconnected(peerId: string): void {
    this.connectedPeers.delete(peerId);
    // Presence ends when the socket vanished, not when the grace runs out.
    this.armDrop(peerId, this.now());
  }

  private armDrop(peerId: string, presentUntil: Date): void {
    if (this.stopped) return;
    this.clearDropTimer(peerId);
    const timer = setTimeout(() => {
      this.dropTimers.delete(peerId);
      this.closeParticipation({ peerId }, "DROPPED", presentUntil).catch((err) =>
        this.deps.log?.error({ err, peerId }, "dropping a vanished participant failed"),
      );
    }, this.deps.config.DROP_GRACE_MS);
    timer.unref();
    this.dropTimers.set(peerId, timer);
  }

  private clearDropTimer(peerId: string): void {
    const timer = this.dropTimers.get(peerId);
    if (timer) clearTimeout(timer);
    this.dropTimers.delete(peerId);
  }

  /** Number of participations waiting out their drop grace; for tests and diagnostics. */
  pendingDrops(): number {
    return this.dropTimers.size;
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /**
   * Closes one open participation at `at` (clamped to its join time; null = its last sign of life)
   * and, in the same transaction, ends the call if nobody is left: one round trip (video_call_close
   * in migration 0004). With `staleBefore`, closes only if the participation is still silent since
   * before then.
   */
  private async closeParticipation(
    find: { id: string } | { peerId: string } | { sessionId: string; userId: string },
    reason: LeaveReason,
    at: Date | null,
    staleBefore: Date | null = null,
  ): Promise<ClosedParticipation | null> {
    const [row] = await this.deps.sequelize.query<CloseRow>(
      `SELECT * FROM video_call_close($1, $2, $3, $4, $5, $6, $7, $8)`,
      {
        bind: [
          "id" in find ? find.id : null,
          "peerId" in find ? find.peerId : null,
          "sessionId" in find ? find.sessionId : null,
          "userId" in find ? find.userId : null,
          reason,
          at,
          staleBefore,
          this.now(),
        ],
        type: QueryTypes.SELECT,
      },
    );
    if (!row?.study_id || !row.session_id || !row.user_id || !row.peer_id) return null;
    const closed = {
      studyId: row.study_id,
      sessionId: row.session_id,
      userId: row.user_id,
      peerId: row.peer_id,
      sessionEndedAt: row.session_ended_at,
    };
    this.clearDropTimer(closed.peerId);
    this.invalidate(closed.studyId);
    this.publish(closed.studyId, {
      type: "user-left",
      sessionId: closed.sessionId,
      userId: closed.userId,
      peerId: closed.peerId,
      reason,
    });
    if (closed.sessionEndedAt) {
      this.publish(closed.studyId, {
        type: "session-ended",
        sessionId: closed.sessionId,
        endedAt: closed.sessionEndedAt.toISOString(),
      });
    }
    return { ...closed, reason };
  }

  /** A transaction retried on deadlock/serialization failures, which Postgres may report under contention. */
  private async transaction<T>(work: (t: Transaction) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.sequelize.transaction(work);
      } catch (err) {
        const code = (err as { parent?: { code?: string } }).parent?.code;
        if (attempt < 3 && code && RETRYABLE_PG_CODES.has(code)) continue;
        throw err;
      }
    }
  }

  /**
   * The caller's name and avatar, after checking they are an ACTIVE member of the study. Answered
   * from the membership cache (this sits on every request's path); anything but ACTIVE is handed
   * to StudyService for its precise refusal. Unknown studies are a bad request here: the call API
   * reports 404 only for missing participations.
   */
  private async requireMember(userId: string, studyId: string): Promise<Pick<User, "name" | "avatarUrl">> {
    const member = await this.deps.memberships.get(userId, studyId);
    if (member?.status === "ACTIVE") return { name: member.name, avatarUrl: member.avatarUrl };
    try {
      await this.deps.studies.requireActiveMember(userId, studyId);
    } catch (err) {
      if (err instanceof DomainError && err.code === "NOT_FOUND") throw new DomainError("BAD_REQUEST", err.message);
      throw err;
    }
    // Became ACTIVE between the two reads: the second read is the truth.
    const user = await User.findByPk(userId, { attributes: ["name", "avatarUrl"] });
    return { name: user?.name ?? "Former member", avatarUrl: user?.avatarUrl ?? null };
  }

  /**
   * The session's study and the caller's name, after checking they are an ACTIVE member of that
   * study. Whether the session is still running is left to the operation itself (see notInCall),
   * so the common case costs no query at all.
   */
  private async requireSession(userId: string, sessionId: string, studyId: string | undefined): Promise<SessionAccess> {
    const sessionStudy = await this.studyOfSession(sessionId);
    if (!sessionStudy || (studyId && sessionStudy !== studyId)) {
      // Refusals outrank "no such call" for anyone who names a study they can't see.
      if (studyId) await this.requireMember(userId, studyId);
      throw new DomainError("BAD_REQUEST", "This call doesn't exist.");
    }
    const user = await this.requireMember(userId, sessionStudy);
    return { id: sessionId, studyId: sessionStudy, ...user };
  }

  /** A session's study never changes, so it is looked up once. */
  private async studyOfSession(sessionId: string): Promise<string | null> {
    const known = this.sessionStudies.get(sessionId);
    if (known) return known;
    const [row] = await this.deps.sequelize.query<{ studyId: string }>(
      `SELECT "studyId" FROM video_call_sessions WHERE id = $1`,
      { bind: [sessionId], type: QueryTypes.SELECT },
    );
    if (!row) return null;
    setBounded(this.sessionStudies, sessionId, row.studyId, SESSION_STUDIES_MAX);
    return row.studyId;
  }

  /** The refusal for acting on a participation that isn't open: an ended call is a bad request, otherwise 404. */
  private async notInCall(sessionId: string, message: string): Promise<never> {
    const session = await VideoCallSession.findByPk(sessionId, { attributes: ["endedAt"] });
    if (session?.endedAt) throw new DomainError("BAD_REQUEST", "This call has already ended.");
    throw new DomainError("NOT_FOUND", message);
  }

  private iceServers(userId: string): IceServer[] {
    return iceServersFor(this.deps.config, userId, this.now());
  }

  private snapshot(studyId: string): Promise<RoomSession | null> {
    const version = this.versions.get(studyId) ?? 0;
    const hit = this.snapshots.get(studyId);
    if (hit && hit.version === version && hit.expires > performance.now()) return hit.value;
    const value = this.loadSnapshot(studyId);
    const entry = { version, expires: performance.now() + SNAPSHOT_TTL_MS, value };
    this.snapshots.set(studyId, entry);
    value.catch(() => {
      if (this.snapshots.get(studyId) === entry) this.snapshots.delete(studyId);
    });
    return value;
  }

  private async loadSnapshot(studyId: string): Promise<RoomSession | null> {
    const rows = await this.deps.sequelize.query<SnapshotRow>(
      `SELECT s.id, s."roomId", s."startedAt", s."startedBy",
              p."userId", p."peerId", p."joinedAt", p.audio, p.video, p.screen, u.name, u."avatarUrl"
       FROM video_call_sessions s
       LEFT JOIN video_call_participants p ON p."sessionId" = s.id AND p."leftAt" IS NULL
       LEFT JOIN users u ON u.id = p."userId"
       WHERE s."studyId" = $1 AND s."endedAt" IS NULL
       ORDER BY p."joinedAt" ASC NULLS LAST, p.id`,
      { bind: [studyId], type: QueryTypes.SELECT },
    );
    const first = rows[0];
    if (!first) return null;
    const participants: RoomParticipant[] = rows
      .filter((r) => r.userId !== null && r.peerId !== null && r.joinedAt !== null)
      .map((r) => ({
        userId: r.userId!,
        name: r.name ?? "Former member",
        avatarUrl: r.avatarUrl,
        peerId: r.peerId!,
        joinedAt: r.joinedAt!.toISOString(),
        audio: r.audio ?? true,
        video: r.video ?? true,
        screen: r.screen ?? false,
      }));
    return {
      id: first.id,
      roomId: first.roomId,
      startedAt: first.startedAt.toISOString(),
      startedBy: first.startedBy,
      participants,
      onlineCount: participants.length,
    };
  }

  private invalidate(studyId: string): void {
    this.versions.set(studyId, (this.versions.get(studyId) ?? 0) + 1);
    this.snapshots.delete(studyId);
  }

  private publish(studyId: string, event: Parameters<RoomEventBus["publish"]>[1]): void {
    this.deps.events.publish(studyId, event);
  }
}

/**
 * New flags at `at`: a flag leaving its counted state (muted, camera off, sharing) adds the time
 * since it last changed to its counter; an unchanged flag keeps its interval open.
 */
function accrueMedia(p: VideoCallParticipant, at: Date, next: MediaFlags) {
  const audioChanges = p.audio !== next.audio;
  const videoChanges = p.video !== next.video;
  const screenChanges = p.screen !== next.screen;
  return {
    ...next,
    audioMutedTime: p.audioMutedTime + (audioChanges && !p.audio ? seconds(p.audioChangedAt, at) : 0),
    videoOffTime: p.videoOffTime + (videoChanges && !p.video ? seconds(p.videoChangedAt, at) : 0),
    screenSharedTime: p.screenSharedTime + (screenChanges && p.screen ? seconds(p.screenChangedAt, at) : 0),
    audioChangedAt: audioChanges ? at : p.audioChangedAt,
    videoChangedAt: videoChanges ? at : p.videoChangedAt,
    screenChangedAt: screenChanges ? at : p.screenChangedAt,
  };
}

function toRoomParticipant(p: VideoCallParticipant, user: Pick<User, "name" | "avatarUrl"> | null): RoomParticipant {
  return {
    userId: p.userId,
    name: user?.name ?? "Former member",
    avatarUrl: user?.avatarUrl ?? null,
    peerId: p.peerId,
    joinedAt: p.joinedAt.toISOString(),
    audio: p.audio,
    video: p.video,
    screen: p.screen,
  };
}

function encodeCursor(startedAt: Date, id: string): string {
  return Buffer.from(JSON.stringify({ t: startedAt.toISOString(), id })).toString("base64url");
}

function decodeCursor(cursor: string): { t: Date; id: string } {
  try {
    const parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { t: new Date(parsed.t), id: parsed.id };
  } catch {
    throw new DomainError("BAD_REQUEST", "That history cursor is not valid. Start from the first page.");
  }
}
