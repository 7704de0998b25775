import type { MigrationFn } from "../migrator.js";

/*
 * Joining and leaving a call are each one round trip to Postgres: everything that belongs together
 * (the person's lock, the checks, closing a previous participation, ending an empty call) runs in
 * one function call, i.e. one implicit transaction whose row locks are held for microseconds
 * rather than across several network round trips. Under a burst of simultaneous joins and leaves
 * that is what keeps latency flat.
 *
 * Lock order, the same everywhere so nothing can deadlock: the person's advisory lock, then their
 * participation row, then the session's advisory lock (shared for joins, exclusive for the
 * last-one-out check).
 */

// Exported (unchanged) for later migrations that take the same lock or restore these definitions.
export const PERSON_LOCK = `pg_advisory_xact_lock(hashtextextended('vcp:' || p_session::text || ':' || p_user::text, 0))`;
// The session's lock is an advisory one: joins share it, the last-one-out check takes it alone.
// Unlike a share row lock, it writes nothing to the session row, so fifty joins at once don't
// contend on that row's lock bookkeeping.
const SESSION_KEY = (session: string) => `hashtextextended('vcs:' || ${session}::text, 0)`;

// Closing one participation at a point in time (clamped to its join): its presence and the media
// intervals still open (muted, camera off, sharing) are folded into its totals.
export const CLOSE_ROW = `CREATE FUNCTION video_call_close_row(p_id uuid, p_at timestamptz, p_reason leave_reason)
     RETURNS SETOF video_call_participants LANGUAGE sql AS $$
       UPDATE video_call_participants p SET
         "leftAt" = c.at,
         "leaveReason" = p_reason,
         duration = extract(epoch FROM c.at - p."joinedAt")::double precision,
         "audioMutedTime" = p."audioMutedTime"
           + CASE WHEN p.audio THEN 0 ELSE greatest(0, extract(epoch FROM c.at - p."audioChangedAt"))::double precision END,
         "videoOffTime" = p."videoOffTime"
           + CASE WHEN p.video THEN 0 ELSE greatest(0, extract(epoch FROM c.at - p."videoChangedAt"))::double precision END,
         "screenSharedTime" = p."screenSharedTime"
           + CASE WHEN p.screen THEN greatest(0, extract(epoch FROM c.at - p."screenChangedAt"))::double precision ELSE 0 END,
         "updatedAt" = now()
       FROM (SELECT greatest(coalesce(p_at, x."lastSeenAt"), x."joinedAt") AS at
             FROM video_call_participants x WHERE x.id = p_id) c
       WHERE p.id = p_id AND p."leftAt" IS NULL
       RETURNING p.*
     $$`;

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(CLOSE_ROW, { transaction });

  // Ends a running session nobody is in any more, at the moment its last person left. The
  // exclusive session lock waits for joins in flight (they share it), and the check after it sees
  // everything they committed. Returns the end time, or NULL when the session goes on.
  await query(
    `CREATE FUNCTION video_call_end_if_empty(p_session uuid, p_now timestamptz)
     RETURNS timestamptz LANGUAGE plpgsql AS $$
     DECLARE
       s video_call_sessions%ROWTYPE;
       ended timestamptz;
     BEGIN
       PERFORM pg_advisory_xact_lock(${SESSION_KEY("p_session")});
       SELECT * INTO s FROM video_call_sessions WHERE id = p_session;
       IF NOT FOUND OR s."endedAt" IS NOT NULL THEN RETURN NULL; END IF;
       IF EXISTS (SELECT 1 FROM video_call_participants WHERE "sessionId" = p_session AND "leftAt" IS NULL) THEN
         RETURN NULL;
       END IF;
       SELECT greatest(coalesce(max("leftAt"), p_now), s."startedAt") INTO ended
         FROM video_call_participants WHERE "sessionId" = p_session;
       UPDATE video_call_sessions
          SET "endedAt" = ended, duration = extract(epoch FROM ended - s."startedAt")::double precision, "updatedAt" = now()
        WHERE id = p_session;
       RETURN ended;
     END $$`,
    { transaction },
  );

  // Opens a participation with a fresh peer id; the person's open participation in this session
  // (a reload) is closed as LEFT first, so nobody is in a call twice. Also returns who is in the
  // call at that moment, so the joiner can dial without waiting for the room feed.
  // outcome: 'joined' | 'no-call' (unknown, or another study's) | 'ended'
  await query(
    `CREATE FUNCTION video_call_join(p_session uuid, p_study uuid, p_user uuid, p_peer text, p_at timestamptz)
     RETURNS TABLE (outcome text, id uuid, "joinedAt" timestamptz, "previousPeerId" text, participants jsonb)
     LANGUAGE plpgsql AS $$
     DECLARE
       s video_call_sessions%ROWTYPE;
       prev_id uuid;
       prev_peer text;
       join_at timestamptz;
       new_id uuid;
     BEGIN
       PERFORM ${PERSON_LOCK};
       PERFORM pg_advisory_xact_lock_shared(${SESSION_KEY("p_session")});
       SELECT * INTO s FROM video_call_sessions WHERE video_call_sessions.id = p_session;
       IF NOT FOUND OR s."studyId" <> p_study THEN
         RETURN QUERY SELECT 'no-call'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;
       END IF;
       IF s."endedAt" IS NOT NULL THEN
         RETURN QUERY SELECT 'ended'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;
       END IF;
       SELECT p.id, p."peerId" INTO prev_id, prev_peer FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL;
       IF prev_id IS NOT NULL THEN PERFORM video_call_close_row(prev_id, p_at, 'LEFT'); END IF;
       -- p_at was read before the lock: never start before this person's previous participation
       -- ended, so one person's participations never overlap.
       SELECT greatest(p_at, max(p."leftAt")) INTO join_at FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user;
       INSERT INTO video_call_participants
         ("sessionId", "userId", "peerId", "joinedAt", "lastSeenAt", audio, video, screen,
          "audioChangedAt", "videoChangedAt", "screenChangedAt")
       VALUES (p_session, p_user, p_peer, join_at, join_at, true, true, false, join_at, join_at, join_at)
       RETURNING video_call_participants.id INTO new_id;
       RETURN QUERY SELECT 'joined'::text, new_id, join_at, prev_peer,
         (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'userId', p."userId", 'name', u.name, 'avatarUrl', u."avatarUrl", 'peerId', p."peerId",
                    'joinedAt', p."joinedAt", 'audio', p.audio, 'video', p.video, 'screen', p.screen)
                  ORDER BY p."joinedAt", p.id), '[]'::jsonb)
            FROM video_call_participants p JOIN users u ON u.id = p."userId"
           WHERE p."sessionId" = p_session AND p."leftAt" IS NULL);
     END $$`,
    { transaction },
  );

  // Closes one open participation, found by id, by peer id, or as (session, person), and ends the
  // call when it was the last one. p_at NULL means "at the last sign of life"; p_stale_before set
  // means "only if still silent since before then" (the sweeper's check, re-made under the lock).
  // Returns no row when there was nothing open to close. The close and the end of the call are one
  // transaction: nobody ever sees the last person gone from a call that is still running.
  await query(
    `CREATE FUNCTION video_call_close(
       p_id uuid, p_peer text, p_session uuid, p_user uuid,
       p_reason leave_reason, p_at timestamptz, p_stale_before timestamptz, p_now timestamptz)
     RETURNS TABLE (study_id uuid, session_id uuid, user_id uuid, peer_id text, session_ended_at timestamptz)
     LANGUAGE plpgsql AS $$
     DECLARE
       target video_call_participants%ROWTYPE;
       closed video_call_participants%ROWTYPE;
     BEGIN
       IF p_session IS NULL THEN
         SELECT * INTO target FROM video_call_participants p
          WHERE p."leftAt" IS NULL AND (p.id = p_id OR p."peerId" = p_peer);
         IF NOT FOUND THEN RETURN; END IF;
         p_session := target."sessionId";
         p_user := target."userId";
       END IF;
       PERFORM ${PERSON_LOCK};
       -- Re-read under the lock: by id when we looked one up, since after a rejoin
       -- (session, person) names a newer participation.
       SELECT * INTO target FROM video_call_participants p
        WHERE p."leftAt" IS NULL AND p."sessionId" = p_session AND p."userId" = p_user
          AND (target.id IS NULL OR p.id = target.id)
        FOR UPDATE;
       IF NOT FOUND THEN RETURN; END IF;
       IF p_stale_before IS NOT NULL AND target."lastSeenAt" >= p_stale_before THEN RETURN; END IF;
       SELECT * INTO closed FROM video_call_close_row(target.id, p_at, p_reason);
       SELECT s."studyId" INTO study_id FROM video_call_sessions s WHERE s.id = closed."sessionId";
       session_id := closed."sessionId";
       user_id := closed."userId";
       peer_id := closed."peerId";
       session_ended_at := video_call_end_if_empty(session_id, p_now);
       RETURN NEXT;
     END $$`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_close(uuid, text, uuid, uuid, leave_reason, timestamptz, timestamptz, timestamptz);
     DROP FUNCTION video_call_join(uuid, uuid, uuid, text, timestamptz);
     DROP FUNCTION video_call_end_if_empty(uuid, timestamptz);
     DROP FUNCTION video_call_close_row(uuid, timestamptz, leave_reason)`,
    { transaction },
  );
};
