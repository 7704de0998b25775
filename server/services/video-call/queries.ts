/**
 * Every statement the call domain sends to Postgres, one method each. The service decides what to
 * do; this file is where to read what that costs and which rows it touches.
 *
 * Why the join and close rules run inside Postgres: joining and leaving are each ONE round trip.
 * Everything that belongs together (the person's lock, the checks, closing a previous
 * participation, folding open media intervals into the totals, ending a call its last person left)
 * runs in one function call, i.e. one implicit transaction whose locks are held for microseconds
 * instead of across several network round trips. Under a burst of simultaneous joins and leaves
 * that is what keeps latency flat (bench/api.ts measures it).
 *
 * The functions and their source (migrations are history and never edited; a change to a rule is
 * a new migration with CREATE OR REPLACE, and this list names where the live version is):
 *   video_call_join        — db/migrations/0009-host-controls.ts (0007's plus bans, lock, host flag)
 *   video_call_set_media_as — db/migrations/0011-host-actions-in-history.ts (0009's: own changes
 *                            checked against the call's permissions, a host's forced mute; plus 0010's
 *                            speaking time)
 *   video_call_set_permissions, video_call_remove — db/migrations/0009-host-controls.ts
 *   video_call_set_hand    — db/migrations/0007-participant-cap-and-hands.ts
 *   video_call_close       — db/migrations/0004-video-call-functions.ts
 *   video_call_end_if_empty — db/migrations/0004-video-call-functions.ts
 *   video_call_close_row   — db/migrations/0010-call-events-and-speaking.ts (0005's plus speaking time;
 *                            called by join and close)
 *   video_call_accrue      — db/migrations/0005-media-time-rule.ts (THE media-time rule; close_row and
 *                            set_media use it)
 *   video_call_log_event   — db/migrations/0010-call-events-and-speaking.ts (one row of video_call_events;
 *                            host actions reach it by a trigger on video_call_moderation, migration 0011)
 *
 * Durability: signs of life (touch, touchPeers) and media flags (set_media_as, in moderation-queries.ts)
 * commit without waiting for the WAL flush; joins, closes and everything else wait as usual. Why, and
 * what a Postgres crash can lose: db/relaxed-commit.ts.
 *
 * The call's history (video_call_events) is written in the same transaction as each change:
 * triggers on video_call_participants and video_call_sessions (migration 0010) log joins, leaves,
 * media and hand changes, starts and ends whichever function made them; reportLink inserts its
 * event in its own one statement.
 *
 * Lock order (as the functions take them):
 *   1. always first, the person's advisory lock for (session, person): every join, close and media
 *      change of one person in one session is serialised by it, so their requests never interleave
 *      and their participation rows are locked by one of their own operations at a time;
 *   2. video_call_join then takes the session's advisory lock SHARED, then the session's join-count
 *      lock EXCLUSIVE (joins into one call count against MAX_PARTICIPANTS one at a time; its holder
 *      waits for nothing more) and, on a reload, closes the person's previous row; video_call_close locks the row, and then video_call_end_if_empty takes
 *      the session's lock EXCLUSIVE (waiting for joins in flight, so it sees what they wrote);
 *      video_call_set_media and video_call_set_hand lock only the row.
 * A join and a close therefore meet only on the session lock, never on each other's rows.
 * Host controls add the session's permissions lock between the person lock and the session lock;
 * db/migrations/0009-host-controls.ts explains where each function takes it.
 * Statements outside the functions (heartbeat, claimPeer) lock one row without an advisory lock and
 * wait for nothing else. The sweeper's touch covers many rows, so it skips locked ones rather than
 * wait: waiting there could close a cycle with a reloading join and a last-one-out close.
 */
import { Op, QueryTypes, type Sequelize } from "sequelize";
import { RELAXED_COMMIT } from "../../../db/relaxed-commit.js";
import { User, VideoCallParticipant, VideoCallSession, type LeaveReason } from "../../../db/models/index.js";
import type { MediaFlags, PermissionLevel, RoomParticipant, RoomSession } from "../../../machines/room-protocol.js";
import { FORMER_MEMBER_NAME } from "../former-member.js";

/** What video_call_join answers. */
export interface JoinRow {
  outcome: "joined" | "no-call" | "ended" | "full" | "banned" | "locked";
  id: string | null;
  joinedAt: Date;
  previousPeerId: string | null;
  participants: RoomParticipant[] | null;
}

/** A participation after video_call_set_media. */
export interface MediaSet extends MediaFlags {
  userId: string;
  peerId: string;
  joinedAt: Date;
  changed: boolean;
}

/** Which open participation video_call_close should close. */
export type ParticipationRef = { id: string } | { peerId: string } | { sessionId: string; userId: string };

/** A participation video_call_close closed, and the call's end time when it was the last one. */
export interface ClosedParticipation {
  studyId: string;
  sessionId: string;
  userId: string;
  peerId: string;
  sessionEndedAt: Date | null;
}

export interface CloseRow {
  study_id: string | null;
  session_id: string | null;
  user_id: string | null;
  peer_id: string | null;
  session_ended_at: Date | null;
}

/** What video_call_close (and video_call_remove, which closes through it) answered; null: nothing closed. */
export function closedParticipation(row: CloseRow | undefined): ClosedParticipation | null {
  if (!row?.study_id || !row.session_id || !row.user_id || !row.peer_id) return null;
  return {
    studyId: row.study_id,
    sessionId: row.session_id,
    userId: row.user_id,
    peerId: row.peer_id,
    sessionEndedAt: row.session_ended_at,
  };
}

export interface RoomRow {
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
  handRaisedAt: Date | null;
  host: boolean | null;
  name: string | null;
  avatarUrl: string | null;
  unmutePermission: PermissionLevel;
  cameraPermission: PermissionLevel;
  screenSharePermission: PermissionLevel;
  locked: boolean;
}

type ParticipantRow = RoomRow & {
  userId: string;
  peerId: string;
  joinedAt: Date;
  audio: boolean;
  video: boolean;
  screen: boolean;
};
/** The LEFT JOIN types every participant column nullable; a row with a participation has them all. */
const hasParticipant = (r: RoomRow): r is ParticipantRow =>
  r.userId !== null &&
  r.peerId !== null &&
  r.joinedAt !== null &&
  r.audio !== null &&
  r.video !== null &&
  r.screen !== null;

export class CallQueries {
  constructor(private readonly sequelize: Sequelize) {}

  /** Creates the study's running call unless there is one; true when this call created it. */
  async insertSession(studyId: string, roomId: string, userId: string, startedAt: Date): Promise<boolean> {
    // Sequelize's upsert can't target a partial unique index; ON CONFLICT … WHERE can.
    const inserted = await this.sequelize.query<{ id: string }>(
      `INSERT INTO video_call_sessions (id, "studyId", "roomId", "startedBy", "startedAt", "createdAt", "updatedAt")
       VALUES (gen_random_uuid(), $1, $2, $3, $4, now(), now())
       ON CONFLICT ("studyId") WHERE "endedAt" IS NULL DO NOTHING
       RETURNING id`,
      { bind: [studyId, roomId, userId, startedAt], type: QueryTypes.SELECT },
    );
    return inserted.length > 0;
  }

  /**
   * video_call_join: opens a participation (mic and camera on, not sharing); the person's open
   * participation in this session (a reload) is closed as LEFT first. Returns who is in the call.
   */
  async join(
    sessionId: string,
    studyId: string,
    userId: string,
    peerId: string,
    at: Date,
    maxParticipants: number,
  ): Promise<JoinRow | null> {
    const [row] = await this.sequelize.query<JoinRow>(`SELECT * FROM video_call_join($1, $2, $3, $4, $5, $6)`, {
      bind: [sessionId, studyId, userId, peerId, at, maxParticipants],
      type: QueryTypes.SELECT,
    });
    return row ?? null;
  }

  /**
   * video_call_close: closes one open participation at `at` (clamped to its join; null = its last
   * sign of life) and, in the same transaction, ends the call if nobody is left. With
   * `staleBefore`, closes only if it is still silent since before then. Null when nothing was open.
   */
  async close(
    find: ParticipationRef,
    reason: LeaveReason,
    at: Date | null,
    staleBefore: Date | null,
    now: Date,
  ): Promise<ClosedParticipation | null> {
    const [row] = await this.sequelize.query<CloseRow>(
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
          now,
        ],
        type: QueryTypes.SELECT,
      },
    );
    return closedParticipation(row);
  }

  /** video_call_end_if_empty: ends a running call nobody is in; its end time, or null when it goes on. */
  async endIfEmpty(sessionId: string, now: Date): Promise<{ studyId: string; endedAt: Date | null } | null> {
    const [row] = await this.sequelize.query<{ studyId: string; endedAt: Date | null }>(
      `SELECT "studyId", video_call_end_if_empty(id, $2) AS "endedAt" FROM video_call_sessions WHERE id = $1`,
      { bind: [sessionId, now], type: QueryTypes.SELECT },
    );
    return row ?? null;
  }

  /** Running calls started before `before` with nobody in them (the sweeper ends them). */
  async emptyRunningSessions(before: Date): Promise<string[]> {
    const rows = await this.sequelize.query<{ id: string }>(
      `SELECT s.id FROM video_call_sessions s
       WHERE s."endedAt" IS NULL AND s."startedAt" < $1
         AND NOT EXISTS (SELECT 1 FROM video_call_participants p WHERE p."sessionId" = s.id AND p."leftAt" IS NULL)`,
      { bind: [before], type: QueryTypes.SELECT },
    );
    return rows.map((r) => r.id);
  }

  /** Marks the person's open participation as alive; false when they have none. */
  async touch(sessionId: string, userId: string, now: Date): Promise<boolean> {
    // Signs of life commit without waiting for the WAL flush (db/relaxed-commit.ts says why).
    const rows = await this.sequelize.query<{ id: string }>(
      `UPDATE video_call_participants p SET "lastSeenAt" = $3, "updatedAt" = $3
       FROM ${RELAXED_COMMIT} relaxed
       WHERE p."sessionId" = $1 AND p."userId" = $2 AND p."leftAt" IS NULL
       RETURNING p.id`,
      { bind: [sessionId, userId, now], type: QueryTypes.SELECT },
    );
    return rows.length > 0;
  }

  /**
   * Marks the open participations of these peer ids as alive. Rows someone else holds locked are
   * skipped, never waited for: their holder (a heartbeat, a media change, a join or a close) is
   * itself a sign of life or ends the participation, and never waiting keeps this many-row
   * statement out of any lock cycle with joins and closes.
   */
  async touchPeers(peerIds: string[], now: Date, seenBefore: Date): Promise<void> {
    if (!peerIds.length) return;
    // Rows a heartbeat touched since `seenBefore` need nothing: in a steady call that is nearly all
    // of them, so the sweep rewrites (and locks) a handful of rows instead of every open one.
    await this.sequelize.query(
      `UPDATE video_call_participants SET "lastSeenAt" = $2
       FROM ${RELAXED_COMMIT} relaxed
       WHERE id IN (SELECT id FROM video_call_participants
                    WHERE "peerId" = ANY($1::text[]) AND "leftAt" IS NULL AND "lastSeenAt" < $3
                    FOR UPDATE SKIP LOCKED)`,
      { bind: [peerIds, now, seenBefore] },
    );
  }

  /** Open participations silent since before `cutoff`. */
  staleParticipations(cutoff: Date): Promise<Array<Pick<VideoCallParticipant, "id" | "peerId">>> {
    return VideoCallParticipant.findAll({
      where: { leftAt: null, lastSeenAt: { [Op.lt]: cutoff } },
      attributes: ["id", "peerId"],
    });
  }

  /** Every open participation, e.g. those a previous run of the server left behind. */
  openParticipations(): Promise<Array<Pick<VideoCallParticipant, "peerId" | "joinedAt" | "lastSeenAt">>> {
    return VideoCallParticipant.findAll({ where: { leftAt: null }, attributes: ["peerId", "joinedAt", "lastSeenAt"] });
  }

  /**
   * Whether `peerId` is this user's own open participation in a running call of a study they are
   * an ACTIVE member of; a yes also counts as a sign of life.
   */
  async claimPeer(userId: string, peerId: string, now: Date): Promise<boolean> {
    const rows = await this.sequelize.query<{ id: string }>(
      `UPDATE video_call_participants p SET "lastSeenAt" = $3
       FROM video_call_sessions s, study_members m
       WHERE p."peerId" = $1 AND p."userId" = $2 AND p."leftAt" IS NULL
         AND s.id = p."sessionId" AND s."endedAt" IS NULL
         AND m."studyId" = s."studyId" AND m."userId" = p."userId" AND m.status = 'ACTIVE'
       RETURNING p.id`,
      { bind: [peerId, userId, now], type: QueryTypes.SELECT },
    );
    return rows.length > 0;
  }

  async studyOfSession(sessionId: string): Promise<string | null> {
    const [row] = await this.sequelize.query<{ studyId: string }>(
      `SELECT "studyId" FROM video_call_sessions WHERE id = $1`,
      { bind: [sessionId], type: QueryTypes.SELECT },
    );
    return row?.studyId ?? null;
  }

  async sessionHasEnded(sessionId: string): Promise<boolean> {
    const session = await VideoCallSession.findByPk(sessionId, { attributes: ["endedAt"] });
    return !!session?.endedAt;
  }

  async profile(userId: string): Promise<{ name: string; avatarUrl: string | null }> {
    const user = await User.findByPk(userId, { attributes: ["name", "avatarUrl"] });
    return { name: user?.name ?? FORMER_MEMBER_NAME, avatarUrl: user?.avatarUrl ?? null };
  }

  /**
   * video_call_set_hand: raises (at `at`, the server's clock) or lowers the person's hand. Null when
   * they have no open participation; `changed` is false when it already was so.
   */
  async setHand(
    sessionId: string,
    userId: string,
    raised: boolean,
    at: Date,
  ): Promise<{ userId: string; peerId: string; handRaisedAt: Date | null; changed: boolean } | null> {
    const [row] = await this.sequelize.query<{
      userId: string;
      peerId: string;
      handRaisedAt: Date | null;
      changed: boolean;
    }>(`SELECT * FROM video_call_set_hand($1, $2, $3, $4)`, {
      bind: [sessionId, userId, raised, at],
      type: QueryTypes.SELECT,
    });
    return row ?? null;
  }

  /**
   * The open participations of the reporter and of the peer they report about and, when both are
   * in the call, the report as a `link` event of the history (one statement: nothing is logged
   * for a report the service refuses).
   */
  async reportLink(
    sessionId: string,
    userId: string,
    remotePeerId: string,
    payload: Record<string, unknown>,
    at: Date,
  ): Promise<Array<{ userId: string; peerId: string }>> {
    return this.sequelize.query<{ userId: string; peerId: string }>(
      `WITH parties AS (
         SELECT p.id, p."userId", p."peerId", p."userId" = $2 AS reporter FROM video_call_participants p
          WHERE p."sessionId" = $1 AND p."leftAt" IS NULL AND (p."userId" = $2 OR p."peerId" = $3)
       ), logged AS (
         INSERT INTO video_call_events ("sessionId", "participantId", kind, "actorId", "targetId", payload, at)
         SELECT $1, t.id, 'link', r."userId", t."userId", $4::jsonb || jsonb_build_object('reporterPeerId', r."peerId"), $5
           FROM parties r, parties t WHERE r.reporter AND t."peerId" = $3 AND NOT t.reporter
       )
       SELECT "userId", "peerId" FROM parties`,
      { bind: [sessionId, userId, remotePeerId, JSON.stringify(payload), at], type: QueryTypes.SELECT },
    );
  }

  /** The caller's open participation in the session and those of the named peers still in it. */
  viewParties(sessionId: string, userId: string, peerIds: string[]) {
    return VideoCallParticipant.findAll({
      where: { sessionId, leftAt: null, [Op.or]: [{ userId }, { peerId: peerIds }] },
      attributes: ["userId", "peerId"],
    });
  }

  /** The study's running call and who is in it, or null when there is none. */
  async room(studyId: string): Promise<RoomSession | null> {
    const rows = await this.sequelize.query<RoomRow>(
      `SELECT s.id, s."roomId", s."startedAt", s."startedBy",
              s."unmutePermission", s."cameraPermission", s."screenSharePermission", s.locked,
              p."userId", p."peerId", p."joinedAt", p.audio, p.video, p.screen, p."handRaisedAt", u.name, u."avatarUrl",
              m.role IN ('OWNER', 'ADMIN') AND m.status = 'ACTIVE' AS host
       FROM video_call_sessions s
       LEFT JOIN video_call_participants p ON p."sessionId" = s.id AND p."leftAt" IS NULL
       LEFT JOIN users u ON u.id = p."userId"
       LEFT JOIN study_members m ON m."studyId" = s."studyId" AND m."userId" = p."userId"
       WHERE s."studyId" = $1 AND s."endedAt" IS NULL
       ORDER BY p."joinedAt" ASC NULLS LAST, p.id`,
      { bind: [studyId], type: QueryTypes.SELECT },
    );
    const first = rows[0];
    if (!first) return null;
    const participants: RoomParticipant[] = rows.filter(hasParticipant).map((r) => ({
      userId: r.userId,
      name: r.name ?? FORMER_MEMBER_NAME,
      avatarUrl: r.avatarUrl,
      peerId: r.peerId,
      joinedAt: r.joinedAt.toISOString(),
      audio: r.audio,
      video: r.video,
      screen: r.screen,
      handRaisedAt: r.handRaisedAt ? r.handRaisedAt.toISOString() : null,
      host: r.host === true,
    }));
    return {
      id: first.id,
      roomId: first.roomId,
      startedAt: first.startedAt.toISOString(),
      startedBy: first.startedBy,
      participants,
      onlineCount: participants.length,
      permissions: {
        unmute: first.unmutePermission,
        camera: first.cameraPermission,
        screenShare: first.screenSharePermission,
        locked: first.locked,
      },
    };
  }
}
