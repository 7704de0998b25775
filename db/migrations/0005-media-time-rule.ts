import type { MigrationFn } from "../migrator.js";
import { CLOSE_ROW, PERSON_LOCK } from "./0004-video-call-functions.js";

/*
 * Media time (muted, camera off, sharing) accrues by one rule, here: an interval that was being
 * counted and stops being counted at a moment adds its length to its total. Before this migration
 * the rule was written twice, in TypeScript for media changes and in video_call_close_row for
 * leaving; now setting media is a database function as well (one round trip, the person's lock
 * first like every other write of a participation) and both use video_call_accrue.
 */

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  // counting: the interval was open; still_counting: it stays open after p_at.
  await query(
    `CREATE FUNCTION video_call_accrue(
       total double precision, counting boolean, still_counting boolean, since timestamptz, p_at timestamptz)
     RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
       SELECT total + CASE WHEN counting AND NOT still_counting
                           THEN greatest(0, extract(epoch FROM p_at - since))::double precision ELSE 0 END
     $$`,
    { transaction },
  );

  // Leaving ends every open interval.
  await query(
    `CREATE OR REPLACE FUNCTION video_call_close_row(p_id uuid, p_at timestamptz, p_reason leave_reason)
     RETURNS SETOF video_call_participants LANGUAGE sql AS $$
       UPDATE video_call_participants p SET
         "leftAt" = c.at,
         "leaveReason" = p_reason,
         duration = extract(epoch FROM c.at - p."joinedAt")::double precision,
         "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio, false, p."audioChangedAt", c.at),
         "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video, false, p."videoChangedAt", c.at),
         "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen, false, p."screenChangedAt", c.at),
         "updatedAt" = now()
       FROM (SELECT greatest(coalesce(p_at, x."lastSeenAt"), x."joinedAt") AS at
             FROM video_call_participants x WHERE x.id = p_id) c
       WHERE p.id = p_id AND p."leftAt" IS NULL
       RETURNING p.*
     $$`,
    { transaction },
  );

  // New media flags for the person's open participation at p_at (also a sign of life). Returns no
  // row when they have none; `changed` says whether any flag differs from before.
  await query(
    `CREATE FUNCTION video_call_set_media(
       p_session uuid, p_user uuid, p_audio boolean, p_video boolean, p_screen boolean, p_at timestamptz)
     RETURNS TABLE ("userId" uuid, "peerId" text, "joinedAt" timestamptz, changed boolean)
     LANGUAGE plpgsql AS $$
     DECLARE
       old video_call_participants%ROWTYPE;
     BEGIN
       PERFORM ${PERSON_LOCK};
       SELECT * INTO old FROM video_call_participants p
        WHERE p."sessionId" = p_session AND p."userId" = p_user AND p."leftAt" IS NULL
        FOR UPDATE;
       IF NOT FOUND THEN RETURN; END IF;
       UPDATE video_call_participants p SET
         audio = p_audio,
         video = p_video,
         screen = p_screen,
         "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio, NOT p_audio, p."audioChangedAt", p_at),
         "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video, NOT p_video, p."videoChangedAt", p_at),
         "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen, p_screen, p."screenChangedAt", p_at),
         "audioChangedAt" = CASE WHEN p.audio <> p_audio THEN p_at ELSE p."audioChangedAt" END,
         "videoChangedAt" = CASE WHEN p.video <> p_video THEN p_at ELSE p."videoChangedAt" END,
         "screenChangedAt" = CASE WHEN p.screen <> p_screen THEN p_at ELSE p."screenChangedAt" END,
         "lastSeenAt" = p_at,
         "updatedAt" = now()
       WHERE p.id = old.id;
       RETURN QUERY SELECT old."userId", old."peerId"::text, old."joinedAt",
         (old.audio <> p_audio OR old.video <> p_video OR old.screen <> p_screen);
     END $$`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_set_media(uuid, uuid, boolean, boolean, boolean, timestamptz);
     DROP FUNCTION video_call_close_row(uuid, timestamptz, leave_reason)`,
    { transaction },
  );
  await query(CLOSE_ROW, { transaction });
  await query(`DROP FUNCTION video_call_accrue(double precision, boolean, boolean, timestamptz, timestamptz)`, {
    transaction,
  });
};
