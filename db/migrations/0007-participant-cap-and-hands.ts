import type { MigrationFn } from "../migrator.js";
import { PERSON_LOCK } from "./0004-video-call-functions.js";

/*
 * Two rules of the call room, both kept in the join's / the person's one round trip:
 *
 * - A call holds at most p_max people (MAX_PARTICIPANTS; a full mesh sends N−1 streams per person).
 *   Joins share the session's advisory lock, so counting under it alone would let two joins into a
 *   call of five both see five. After the locks the join already takes (person, then session
 *   SHARED — the order in server/services/video-call/queries.ts) it takes one more, the session's
 *   join-count lock, EXCLUSIVE: joins into one call count and insert one at a time. The holder
 *   waits for nothing after it, so it closes no cycle with closes waiting for the session lock.
 *   A reload (the person's own open participation) does not count against the cap.
 * - A raised hand is stored on the participation: "handRaisedAt" on the server's clock (client
 *   clocks disagree, so only the server can order the queue) and "handRaises", how often this
 *   participation raised it (the call history sums it per person).
 */

const SESSION_KEY = (session: string) => `hashtextextended('vcs:' || ${session}::text, 0)`;
const JOIN_COUNT_KEY = (session: string) => `hashtextextended('vcn:' || ${session}::text, 0)`;

const PARTICIPANTS_JSON = (extra: string) => `(SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'userId', p."userId", 'name', u.name, 'avatarUrl', u."avatarUrl", 'peerId', p."peerId",
                    'joinedAt', p."joinedAt", 'audio', p.audio, 'video', p.video, 'screen', p.screen${extra})
                  ORDER BY p."joinedAt", p.id), '[]'::jsonb)
            FROM video_call_participants p JOIN users u ON u.id = p."userId"
           WHERE p."sessionId" = p_session AND p."leftAt" IS NULL)`;

const CAP_CHECK = `
       PERFORM pg_advisory_xact_lock(${JOIN_COUNT_KEY("p_session")});
       SELECT count(*) INTO others FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."leftAt" IS NULL AND p."userId" <> p_user;
       IF others >= p_max THEN
         RETURN QUERY SELECT 'full'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;
       END IF;
`;

/** video_call_join; `cap` = this migration's version (p_max, 'full', hands), else 0004's. Exported (unchanged) so 0009's down can restore it. */
export const JOIN_SQL = (cap: boolean) =>
  `CREATE FUNCTION video_call_join(
       p_session uuid, p_study uuid, p_user uuid, p_peer text, p_at timestamptz${cap ? ", p_max integer" : ""})
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
       PERFORM pg_advisory_xact_lock_shared(${SESSION_KEY("p_session")});
       SELECT * INTO s FROM video_call_sessions WHERE video_call_sessions.id = p_session;
       IF NOT FOUND OR s."studyId" <> p_study THEN
         RETURN QUERY SELECT 'no-call'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;
       END IF;
       IF s."endedAt" IS NOT NULL THEN
         RETURN QUERY SELECT 'ended'::text, NULL::uuid, NULL::timestamptz, NULL::text, NULL::jsonb; RETURN;
       END IF;
${cap ? CAP_CHECK : ""}       SELECT p.id, p."peerId" INTO prev_id, prev_peer FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL;
       IF prev_id IS NOT NULL THEN PERFORM video_call_close_row(prev_id, p_at, 'LEFT'); END IF;
       SELECT greatest(p_at, max(p."leftAt")) INTO join_at FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user;
       INSERT INTO video_call_participants
         ("sessionId", "userId", "peerId", "joinedAt", "lastSeenAt", audio, video, screen,
          "audioChangedAt", "videoChangedAt", "screenChangedAt")
       VALUES (p_session, p_user, p_peer, join_at, join_at, true, true, false, join_at, join_at, join_at)
       RETURNING video_call_participants.id INTO new_id;
       RETURN QUERY SELECT 'joined'::text, new_id, join_at, prev_peer,
         ${PARTICIPANTS_JSON(cap ? `, 'handRaisedAt', p."handRaisedAt"` : "")};
     END $$`;

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `ALTER TABLE video_call_participants
       ADD COLUMN "handRaisedAt" timestamptz NULL,
       ADD COLUMN "handRaises" integer NOT NULL DEFAULT 0 CHECK ("handRaises" >= 0)`,
    { transaction },
  );

  await query(`DROP FUNCTION video_call_join(uuid, uuid, uuid, text, timestamptz)`, { transaction });
  // outcome: 'joined' | 'no-call' (unknown, or another study's) | 'ended' | 'full'
  await query(JOIN_SQL(true), { transaction });

  // Raises or lowers the person's hand in their open participation at p_at (also a sign of life).
  // Raising an already raised hand keeps its place in the queue. No row when they have none.
  await query(
    `CREATE FUNCTION video_call_set_hand(p_session uuid, p_user uuid, p_raised boolean, p_at timestamptz)
     RETURNS TABLE ("userId" uuid, "peerId" text, "handRaisedAt" timestamptz, changed boolean)
     LANGUAGE plpgsql AS $$
     DECLARE
       old video_call_participants%ROWTYPE;
     BEGIN
       PERFORM ${PERSON_LOCK};
       SELECT * INTO old FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL
        FOR UPDATE;
       IF NOT FOUND THEN RETURN; END IF;
       IF p_raised = (old."handRaisedAt" IS NOT NULL) THEN
         UPDATE video_call_participants p SET "lastSeenAt" = greatest(p."lastSeenAt", p_at) WHERE p.id = old.id;
         RETURN QUERY SELECT old."userId", old."peerId"::text, old."handRaisedAt", false; RETURN;
       END IF;
       UPDATE video_call_participants p SET
         "handRaisedAt" = CASE WHEN p_raised THEN p_at ELSE NULL END,
         "handRaises" = p."handRaises" + CASE WHEN p_raised THEN 1 ELSE 0 END,
         "lastSeenAt" = greatest(p."lastSeenAt", p_at),
         "updatedAt" = now()
       WHERE p.id = old.id;
       RETURN QUERY SELECT old."userId", old."peerId"::text, CASE WHEN p_raised THEN p_at ELSE NULL END, true;
     END $$`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_set_hand(uuid, uuid, boolean, timestamptz);
     DROP FUNCTION video_call_join(uuid, uuid, uuid, text, timestamptz, integer);
     ALTER TABLE video_call_participants DROP COLUMN "handRaisedAt", DROP COLUMN "handRaises"`,
    { transaction },
  );
  await query(JOIN_SQL(false), { transaction });
};
