/**
 * The statements of host controls (db/migrations/0009-host-controls.ts explains the functions and
 * where they take the call's permissions lock): roles, forced and checked media changes,
 * permissions, removal and bans, and the moderation log.
 */
import { QueryTypes, type Sequelize } from "sequelize";
import { RELAXED_COMMIT } from "../../../db/relaxed-commit.js";
import {
  DEFAULT_PERMISSIONS,
  type CallPermissions,
  type MediaFlags,
  type ModerationAction,
} from "../../../machines/room-protocol.js";
import {
  closedParticipation,
  type ClosedParticipation,
  type CloseRow,
  type MediaSet,
  type RoomRow,
} from "./queries.js";

/** A participation after video_call_set_media_as; `refused` names the permission that kept a track off. */
export interface MediaSetAs extends MediaSet {
  refused: "unmute" | "camera" | "screenShare" | null;
}

/** A study member's role and status, or null when they are none. */
export interface MemberRole {
  role: "OWNER" | "ADMIN" | "MEMBER";
  status: string;
}

export class ModerationQueries {
  constructor(private readonly sequelize: Sequelize) {}

  /** The member's role and status in the study, read past any cache: roles decide who moderates. */
  async memberRole(studyId: string, userId: string): Promise<MemberRole | null> {
    const [row] = await this.sequelize.query<MemberRole>(
      `SELECT role, status FROM study_members WHERE "studyId" = $1 AND "userId" = $2`,
      { bind: [studyId, userId], type: QueryTypes.SELECT },
    );
    return row ?? null;
  }

  /**
   * video_call_set_media_as: flags (null = keep) for the person's open participation, folding the
   * intervals that end into their totals (the one media-time rule, video_call_accrue). `check`: the
   * member's own change, refused when a permission keeps that track to hosts. `speaking`: the
   * member's own voice activity (null = keep; a host's forced mute has none to say).
   */
  async setMediaAs(
    sessionId: string,
    userId: string,
    flags: Partial<MediaFlags>,
    at: Date,
    check: boolean,
    speaking: boolean | null = null,
  ): Promise<MediaSetAs | null> {
    const [row] = await this.sequelize.query<MediaSetAs>(
      // Media flags commit without waiting for the WAL flush (db/relaxed-commit.ts says why).
      `SELECT m.* FROM video_call_set_media_as($1, $2, $3, $4, $5, $6, $7, $8) m, ${RELAXED_COMMIT} relaxed`,
      {
        bind: [sessionId, userId, flags.audio ?? null, flags.video ?? null, flags.screen ?? null, speaking, at, check],
        type: QueryTypes.SELECT,
      },
    );
    return row ?? null;
  }

  /** The call's permissions; null when there is no such session. */
  async permissions(sessionId: string): Promise<{ permissions: CallPermissions; ended: boolean } | null> {
    const [row] = await this.sequelize.query<RoomRow & { endedAt: Date | null }>(
      `SELECT "unmutePermission", "cameraPermission", "screenSharePermission", locked, "endedAt"
       FROM video_call_sessions WHERE id = $1`,
      { bind: [sessionId], type: QueryTypes.SELECT },
    );
    if (!row) return null;
    return {
      ended: row.endedAt !== null,
      permissions: {
        ...DEFAULT_PERMISSIONS,
        unmute: row.unmutePermission,
        camera: row.cameraPermission,
        screenShare: row.screenSharePermission,
        locked: row.locked,
      },
    };
  }

  /** video_call_set_permissions: stores them and returns the non-hosts whose tracks were switched off. */
  setPermissions(
    sessionId: string,
    p: CallPermissions,
    at: Date,
  ): Promise<Array<MediaFlags & { userId: string; peerId: string }>> {
    return this.sequelize.query<MediaFlags & { userId: string; peerId: string }>(
      `SELECT * FROM video_call_set_permissions($1, $2, $3, $4, $5, $6)`,
      { bind: [sessionId, p.unmute, p.camera, p.screenShare, p.locked, at], type: QueryTypes.SELECT },
    );
  }

  /** video_call_remove: (optionally) bans, then closes the open participation as KICKED. */
  async remove(
    sessionId: string,
    userId: string,
    ban: boolean,
    by: string,
    at: Date,
  ): Promise<ClosedParticipation | null> {
    const [row] = await this.sequelize.query<CloseRow>(`SELECT * FROM video_call_remove($1, $2, $3, $4, $5, $6)`, {
      bind: [sessionId, userId, ban, by, at, at],
      type: QueryTypes.SELECT,
    });
    return closedParticipation(row);
  }

  /** Whether the person is banned from this call. */
  async isBanned(sessionId: string, userId: string): Promise<boolean> {
    const rows = await this.sequelize.query(`SELECT 1 FROM video_call_bans WHERE "sessionId" = $1 AND "userId" = $2`, {
      bind: [sessionId, userId],
      type: QueryTypes.SELECT,
    });
    return rows.length > 0;
  }

  /** Appends to the moderation log. */
  async logModeration(entry: {
    sessionId: string;
    actorId: string;
    targetId: string | null;
    action: ModerationAction;
    details?: Record<string, unknown>;
    at: Date;
  }): Promise<void> {
    await this.sequelize.query(
      `INSERT INTO video_call_moderation ("sessionId", "actorId", "targetId", action, details, "at")
       VALUES ($1, $2, $3, $4, $5::jsonb, $6)`,
      {
        bind: [
          entry.sessionId,
          entry.actorId,
          entry.targetId,
          entry.action,
          JSON.stringify(entry.details ?? {}),
          entry.at,
        ],
      },
    );
  }

  /** Open participations of the call, each with whether they are a host (for actions on everyone). */
  openIn(
    sessionId: string,
  ): Promise<Array<{ userId: string; peerId: string; audio: boolean; handRaised: boolean; host: boolean }>> {
    return this.sequelize.query(
      `SELECT p."userId", p."peerId", p.audio, p."handRaisedAt" IS NOT NULL AS "handRaised",
              coalesce(m.role IN ('OWNER', 'ADMIN') AND m.status = 'ACTIVE', false) AS host
       FROM video_call_participants p
       JOIN video_call_sessions s ON s.id = p."sessionId"
       LEFT JOIN study_members m ON m."studyId" = s."studyId" AND m."userId" = p."userId"
       WHERE p."sessionId" = $1 AND p."leftAt" IS NULL ORDER BY p."joinedAt", p.id`,
      { bind: [sessionId], type: QueryTypes.SELECT },
    );
  }

  /** The moderation log of these sessions, oldest first, with names (for the call history). */
  log(sessionIds: string[]): Promise<
    Array<{
      sessionId: string;
      action: ModerationAction;
      actorId: string | null;
      actorName: string | null;
      targetId: string | null;
      targetName: string | null;
      details: Record<string, unknown>;
      at: Date;
    }>
  > {
    if (!sessionIds.length) return Promise.resolve([]);
    return this.sequelize.query(
      `SELECT l."sessionId", l.action, l."actorId", a.name AS "actorName", l."targetId", t.name AS "targetName",
              l.details, l."at"
       FROM video_call_moderation l
       LEFT JOIN users a ON a.id = l."actorId"
       LEFT JOIN users t ON t.id = l."targetId"
       WHERE l."sessionId" = ANY($1::uuid[]) ORDER BY l."at", l.id`,
      { bind: [sessionIds], type: QueryTypes.SELECT },
    );
  }
}
