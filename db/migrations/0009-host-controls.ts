import type { MigrationFn } from "../migrator.js";
import { PERSON_LOCK } from "./0004-video-call-functions.js";
import { JOIN_SQL as JOIN_SQL_0007 } from "./0007-participant-cap-and-hands.js";

/*
 * Host controls: the study's OWNER and ADMIN members moderate a running call.
 *
 * - Per-call permissions on the session row ("unmutePermission", "cameraPermission",
 *   "screenSharePermission": 'everyone' | 'hosts') and `locked` (no new joins by non-hosts). They
 *   live in Postgres, so they survive a restart and every instance of a cluster reads the same.
 * - video_call_bans: who may not join this call again (removal with "Don't let Bob rejoin").
 * - video_call_moderation: the log of every host action (actor, target, action, time, session).
 *
 * Lock order (extends server/services/video-call/queries.ts): the person's advisory lock, then the
 * session's PERMISSIONS lock ('vcm:'), then the session lock, the join-count lock and rows.
 *   - video_call_join takes the permissions lock SHARED right after the person lock, then checks
 *     the ban (a removal holds the target's person lock while it writes the ban, so a join racing
 *     a removal either finished before it — and is then closed by it — or sees the ban) and
 *     `locked` (video_call_set_permissions holds the permissions lock EXCLUSIVE while it writes,
 *     so a join either committed before the lock or sees it).
 *   - video_call_set_media_as (a member's own change, and a host's forced mute) takes the person
 *     lock, the permissions lock SHARED, then the row: a member can't turn a track on that a
 *     concurrent permission change is withdrawing.
 *   - video_call_set_permissions takes the permissions lock EXCLUSIVE first and nothing before it,
 *     then locks the non-hosts' open rows (in id order) to switch withdrawn tracks off, then the
 *     session row last. Holders of those rows took the permissions lock shared before the row, or
 *     (a close) wait only for the session lock, whose shared holders (joins) already hold the
 *     permissions lock: no cycle.
 *   - video_call_remove takes the target's person lock, writes the ban, then closes like
 *     video_call_close (row, then the session lock EXCLUSIVE).
 */

export const PERMS_KEY = (session: string) => `hashtextextended('vcm:' || ${session}::text, 0)`;
const SESSION_KEY = (session: string) => `hashtextextended('vcs:' || ${session}::text, 0)`;
const JOIN_COUNT_KEY = (session: string) => `hashtextextended('vcn:' || ${session}::text, 0)`;
/** Whether `userCol` is a host (OWNER or ADMIN, ACTIVE) of `studyCol`. */
export const IS_HOST = (userCol: string, studyCol: string) =>
  `EXISTS (SELECT 1 FROM study_members m WHERE m."studyId" = ${studyCol} AND m."userId" = ${userCol}
            AND m.status = 'ACTIVE' AND m.role IN ('OWNER','ADMIN'))`;

const NO_JOIN = (outcome: string) =>
  `RETURN QUERY SELECT '${outcome}'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;`;

// outcome: 'joined' | 'no-call' | 'ended' | 'full' | 'banned' | 'locked'
const JOIN_SQL = `CREATE FUNCTION video_call_join(
       p_session uuid, p_study uuid, p_user uuid, p_peer text, p_at timestamptz, p_max integer)
     RETURNS TABLE (outcome text, id uuid, "joinedAt" timestamptz, "previousPeerId" text, participants jsonb)
     LANGUAGE plpgsql AS $$
     DECLARE
       s video_call_sessions%ROWTYPE;
       prev_id uuid;
       prev_peer text;
       join_at timestamptz;
       new_id uuid;
       others integer;
     BEGIN
       PERFORM ${PERSON_LOCK};
       PERFORM pg_advisory_xact_lock_shared(${PERMS_KEY("p_session")});
       PERFORM pg_advisory_xact_lock_shared(${SESSION_KEY("p_session")});
       SELECT * INTO s FROM video_call_sessions WHERE video_call_sessions.id = p_session;
       IF NOT FOUND OR s."studyId" <> p_study THEN ${NO_JOIN("no-call")} END IF;
       IF s."endedAt" IS NOT NULL THEN ${NO_JOIN("ended")} END IF;
       IF EXISTS (SELECT 1 FROM video_call_bans b WHERE b."sessionId" = p_session AND b."userId" = p_user) THEN
         ${NO_JOIN("banned")}
       END IF;
       SELECT p.id, p."peerId" INTO prev_id, prev_peer FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL;
       -- A locked call keeps out newcomers, not a member reloading the page they are in the call with.
       IF s.locked AND prev_id IS NULL AND NOT ${IS_HOST("p_user", "p_study")} THEN ${NO_JOIN("locked")} END IF;
       PERFORM pg_advisory_xact_lock(${JOIN_COUNT_KEY("p_session")});
       SELECT count(*) INTO others FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."leftAt" IS NULL AND p."userId" <> p_user;
       IF others >= p_max THEN ${NO_JOIN("full")} END IF;
       IF prev_id IS NOT NULL THEN PERFORM video_call_close_row(prev_id, p_at, 'LEFT'); END IF;
       SELECT greatest(p_at, max(p."leftAt")) INTO join_at FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user;
       -- A track the call's permissions keep to hosts starts off.
       INSERT INTO video_call_participants
         ("sessionId", "userId", "peerId", "joinedAt", "lastSeenAt", audio, video, screen,
          "audioChangedAt", "videoChangedAt", "screenChangedAt")
       SELECT p_session, p_user, p_peer, join_at, join_at,
              h OR s."unmutePermission" = 'everyone', h OR s."cameraPermission" = 'everyone', false,
              join_at, join_at, join_at
         FROM (SELECT ${IS_HOST("p_user", "p_study")} AS h) host
       RETURNING video_call_participants.id INTO new_id;
       RETURN QUERY SELECT 'joined'::text, new_id, join_at, prev_peer,
         (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'userId', p."userId", 'name', u.name, 'avatarUrl', u."avatarUrl", 'peerId', p."peerId",
                    'joinedAt', p."joinedAt", 'audio', p.audio, 'video', p.video, 'screen', p.screen,
                    'handRaisedAt', p."handRaisedAt", 'host', ${IS_HOST('p."userId"', "p_study")})
                  ORDER BY p."joinedAt", p.id), '[]'::jsonb)
            FROM video_call_participants p JOIN users u ON u.id = p."userId"
           WHERE p."sessionId" = p_session AND p."leftAt" IS NULL);
     END $$`;

/** video_call_set_media_as as this migration creates it (0011 replaces it and restores it on down). */
export const SET_MEDIA_AS_SQL = `CREATE FUNCTION video_call_set_media_as(
       p_session uuid, p_user uuid, p_audio boolean, p_video boolean, p_screen boolean, p_at timestamptz,
       p_check boolean)
     RETURNS TABLE ("userId" uuid, "peerId" text, "joinedAt" timestamptz,
                    audio boolean, video boolean, screen boolean, changed boolean, refused text)
     LANGUAGE plpgsql AS $$
     DECLARE
       old video_call_participants%ROWTYPE;
       s video_call_sessions%ROWTYPE;
       a boolean;
       v boolean;
       sc boolean;
       why text;
     BEGIN
       PERFORM ${PERSON_LOCK};
       PERFORM pg_advisory_xact_lock_shared(${PERMS_KEY("p_session")});
       SELECT * INTO old FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL
        FOR UPDATE;
       IF NOT FOUND THEN RETURN; END IF;
       a := coalesce(p_audio, old.audio);
       v := coalesce(p_video, old.video);
       sc := coalesce(p_screen, old.screen);
       IF p_check THEN
         SELECT * INTO s FROM video_call_sessions WHERE video_call_sessions.id = p_session;
         why := CASE
           WHEN a AND NOT old.audio AND s."unmutePermission" = 'hosts' THEN 'unmute'
           WHEN v AND NOT old.video AND s."cameraPermission" = 'hosts' THEN 'camera'
           WHEN sc AND NOT old.screen AND s."screenSharePermission" = 'hosts' THEN 'screenShare'
         END;
         IF why IS NOT NULL AND ${IS_HOST("p_user", 's."studyId"')} THEN why := NULL; END IF;
         IF why IS NOT NULL THEN
           RETURN QUERY SELECT old."userId", old."peerId"::text, old."joinedAt", old.audio, old.video, old.screen,
             false, why;
           RETURN;
         END IF;
       END IF;
       UPDATE video_call_participants p SET
         audio = a,
         video = v,
         screen = sc,
         "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio, NOT a, p."audioChangedAt", p_at),
         "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video, NOT v, p."videoChangedAt", p_at),
         "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen, sc, p."screenChangedAt", p_at),
         "audioChangedAt" = CASE WHEN p.audio <> a THEN p_at ELSE p."audioChangedAt" END,
         "videoChangedAt" = CASE WHEN p.video <> v THEN p_at ELSE p."videoChangedAt" END,
         "screenChangedAt" = CASE WHEN p.screen <> sc THEN p_at ELSE p."screenChangedAt" END,
         "lastSeenAt" = CASE WHEN p_check THEN p_at ELSE p."lastSeenAt" END,
         "updatedAt" = now()
       WHERE p.id = old.id;
       RETURN QUERY SELECT old."userId", old."peerId"::text, old."joinedAt", a, v, sc,
         (old.audio <> a OR old.video <> v OR old.screen <> sc), NULL::text;
     END $$`;

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `ALTER TABLE video_call_sessions
       ADD COLUMN "unmutePermission" varchar(8) NOT NULL DEFAULT 'everyone'
         CONSTRAINT vcs_unmute_permission CHECK ("unmutePermission" IN ('everyone','hosts')),
       ADD COLUMN "cameraPermission" varchar(8) NOT NULL DEFAULT 'everyone'
         CONSTRAINT vcs_camera_permission CHECK ("cameraPermission" IN ('everyone','hosts')),
       ADD COLUMN "screenSharePermission" varchar(8) NOT NULL DEFAULT 'everyone'
         CONSTRAINT vcs_screen_permission CHECK ("screenSharePermission" IN ('everyone','hosts')),
       ADD COLUMN locked boolean NOT NULL DEFAULT false`,
    { transaction },
  );
  await query(
    `CREATE TABLE video_call_bans (
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      "bannedBy" uuid REFERENCES users(id) ON DELETE SET NULL,
      "createdAt" timestamptz NOT NULL,
      PRIMARY KEY ("sessionId", "userId")
    )`,
    { transaction },
  );
  await query(
    `CREATE TABLE video_call_moderation (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "actorId" uuid REFERENCES users(id) ON DELETE SET NULL,
      "targetId" uuid REFERENCES users(id) ON DELETE SET NULL,
      action varchar(24) NOT NULL CONSTRAINT vcm_action CHECK (action IN
        ('mute','mute-all','ask-unmute','remove','lower-hand','lower-all-hands','set-permissions')),
      details jsonb NOT NULL DEFAULT '{}'::jsonb,
      "at" timestamptz NOT NULL
    )`,
    { transaction },
  );
  await query(`CREATE INDEX video_call_moderation_session ON video_call_moderation ("sessionId", "at")`, {
    transaction,
  });

  await query(`DROP FUNCTION video_call_join(uuid, uuid, uuid, text, timestamptz, integer)`, { transaction });
  await query(JOIN_SQL, { transaction });

  // Media flags for the person's open participation at p_at; a NULL flag keeps its value. With
  // p_check (the member's own change) a flag may only turn on when the call's permission allows
  // it, or they are a host: `refused` names the permission, and nothing changes. Without p_check
  // (a host's forced mute) it just applies. No row when they have no open participation.
  await query(SET_MEDIA_AS_SQL, { transaction });

  // Sets the call's permissions and lock; every non-host whose track a permission now keeps to
  // hosts has it switched off (returned, so the room is told). No row for the session itself:
  // the caller checked it is running.
  await query(
    `CREATE FUNCTION video_call_set_permissions(
       p_session uuid, p_unmute text, p_camera text, p_screen text, p_locked boolean, p_at timestamptz)
     RETURNS TABLE ("userId" uuid, "peerId" text, audio boolean, video boolean, screen boolean)
     LANGUAGE plpgsql AS $$
     DECLARE
       study uuid;
     BEGIN
       PERFORM pg_advisory_xact_lock(${PERMS_KEY("p_session")});
       SELECT s."studyId" INTO study FROM video_call_sessions s WHERE s.id = p_session;
       RETURN QUERY
         WITH targets AS (
           SELECT p.id FROM video_call_participants p
            WHERE p."sessionId" = p_session AND p."leftAt" IS NULL
              AND ((p_unmute = 'hosts' AND p.audio) OR (p_camera = 'hosts' AND p.video) OR (p_screen = 'hosts' AND p.screen))
              AND NOT ${IS_HOST('p."userId"', "study")}
            ORDER BY p.id FOR UPDATE OF p),
         forced AS (
           UPDATE video_call_participants p SET
             audio = p.audio AND p_unmute <> 'hosts',
             video = p.video AND p_camera <> 'hosts',
             screen = p.screen AND p_screen <> 'hosts',
             "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio,
                                  NOT (p.audio AND p_unmute <> 'hosts'), p."audioChangedAt", p_at),
             "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video,
                                  NOT (p.video AND p_camera <> 'hosts'), p."videoChangedAt", p_at),
             "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen,
                                  p.screen AND p_screen <> 'hosts', p."screenChangedAt", p_at),
             "audioChangedAt" = CASE WHEN p.audio AND p_unmute = 'hosts' THEN p_at ELSE p."audioChangedAt" END,
             "videoChangedAt" = CASE WHEN p.video AND p_camera = 'hosts' THEN p_at ELSE p."videoChangedAt" END,
             "screenChangedAt" = CASE WHEN p.screen AND p_screen = 'hosts' THEN p_at ELSE p."screenChangedAt" END,
             "updatedAt" = now()
           FROM targets t WHERE p.id = t.id AND p."leftAt" IS NULL
           RETURNING p."userId", p."peerId"::text, p.audio, p.video, p.screen)
         SELECT * FROM forced;
       UPDATE video_call_sessions s SET
         "unmutePermission" = p_unmute, "cameraPermission" = p_camera, "screenSharePermission" = p_screen,
         locked = p_locked, "updatedAt" = now()
       WHERE s.id = p_session;
     END $$`,
    { transaction },
  );

  // Removes a person from the call: with p_ban they may not join it again (written under their
  // person lock, which every join takes first), then their open participation closes as KICKED
  // exactly as video_call_close closes one (ending the call when they were the last).
  await query(
    `CREATE FUNCTION video_call_remove(
       p_session uuid, p_user uuid, p_ban boolean, p_by uuid, p_at timestamptz, p_now timestamptz)
     RETURNS TABLE (study_id uuid, session_id uuid, user_id uuid, peer_id text, session_ended_at timestamptz)
     LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM ${PERSON_LOCK};
       IF p_ban THEN
         INSERT INTO video_call_bans ("sessionId", "userId", "bannedBy", "createdAt")
         VALUES (p_session, p_user, p_by, p_at) ON CONFLICT DO NOTHING;
       END IF;
       RETURN QUERY SELECT * FROM video_call_close(NULL, NULL, p_session, p_user, 'KICKED', p_at, NULL, p_now);
     END $$`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_remove(uuid, uuid, boolean, uuid, timestamptz, timestamptz);
     DROP FUNCTION video_call_set_permissions(uuid, text, text, text, boolean, timestamptz);
     DROP FUNCTION video_call_set_media_as(uuid, uuid, boolean, boolean, boolean, timestamptz, boolean);
     DROP FUNCTION video_call_join(uuid, uuid, uuid, text, timestamptz, integer);
     DROP TABLE video_call_moderation;
     DROP TABLE video_call_bans;
     ALTER TABLE video_call_sessions DROP COLUMN "unmutePermission", DROP COLUMN "cameraPermission",
       DROP COLUMN "screenSharePermission", DROP COLUMN locked`,
    { transaction },
  );
  await query(JOIN_SQL_0007(true), { transaction });
};
