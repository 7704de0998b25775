import type { MigrationFn } from "../migrator.js";
import { PERSON_LOCK } from "./0004-video-call-functions.js";
import { IS_HOST, PERMS_KEY, SET_MEDIA_AS_SQL as SET_MEDIA_AS_SQL_0009 } from "./0009-host-controls.js";
import { SET_MEDIA_SQL } from "./0010-call-events-and-speaking.js";

/*
 * Host controls (0009) and the call history (0010) were built side by side; this joins them.
 *
 * - video_call_set_media_as (0009's: a member's own change checked against the call's permissions,
 *   a host's forced mute) gains 0010's speaking flag and speaking time, so a member's media update
 *   is again one function and one round trip. 0010's video_call_set_media, which it supersedes,
 *   is dropped: nothing calls it.
 * - Every row of the moderation log is also a `host.<action>` row of video_call_events, by a
 *   trigger, in the same transaction as the log entry: the timeline marks host actions.
 * - A media event is stamped with the time the changed flag changed. 0010 used lastSeenAt, which a
 *   host's forced mute (or a withdrawn permission) does not move: those events were dated at the
 *   target's last own update.
 */

const SET_MEDIA_AS_SQL = `CREATE FUNCTION video_call_set_media_as(
       p_session uuid, p_user uuid, p_audio boolean, p_video boolean, p_screen boolean, p_speaking boolean,
       p_at timestamptz, p_check boolean)
     RETURNS TABLE ("userId" uuid, "peerId" text, "joinedAt" timestamptz,
                    audio boolean, video boolean, screen boolean, changed boolean, refused text)
     LANGUAGE plpgsql AS $$
     DECLARE
       old video_call_participants%ROWTYPE;
       s video_call_sessions%ROWTYPE;
       a boolean;
       v boolean;
       sc boolean;
       sp boolean;
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
       sp := coalesce(p_speaking, old.speaking);
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
         speaking = sp,
         "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio, NOT a, p."audioChangedAt", p_at),
         "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video, NOT v, p."videoChangedAt", p_at),
         "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen, sc, p."screenChangedAt", p_at),
         "speakingTime" = video_call_accrue(p."speakingTime", p.audio AND p.speaking, a AND sp,
                                            p."speakingChangedAt", p_at),
         "audioChangedAt" = CASE WHEN p.audio <> a THEN p_at ELSE p."audioChangedAt" END,
         "videoChangedAt" = CASE WHEN p.video <> v THEN p_at ELSE p."videoChangedAt" END,
         "screenChangedAt" = CASE WHEN p.screen <> sc THEN p_at ELSE p."screenChangedAt" END,
         "speakingChangedAt" = CASE WHEN (p.audio AND p.speaking) <> (a AND sp) THEN p_at ELSE p."speakingChangedAt" END,
         "lastSeenAt" = CASE WHEN p_check THEN p_at ELSE p."lastSeenAt" END,
         "updatedAt" = now()
       WHERE p.id = old.id;
       -- changed: what the room sees (speaking is no room event: every browser hears it itself).
       RETURN QUERY SELECT old."userId", old."peerId"::text, old."joinedAt", a, v, sc,
         (old.audio <> a OR old.video <> v OR old.screen <> sc), NULL::text;
     END $$`;

/** 0010's participant trigger function; `flagTime` = this migration's stamp for media events. */
const PARTICIPANT_EVENTS_SQL = (flagTime: boolean) => `CREATE OR REPLACE FUNCTION video_call_participant_events()
     RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         PERFORM video_call_log_event(NEW."sessionId", NEW.id, 'joined', NEW."userId", NEW."userId",
           jsonb_build_object('peerId', NEW."peerId", 'audio', NEW.audio, 'video', NEW.video, 'screen', NEW.screen),
           NEW."joinedAt");
         -- A row written already closed (an import, a test fixture) has its leave too.
         IF NEW."leftAt" IS NOT NULL THEN
           PERFORM video_call_log_event(NEW."sessionId", NEW.id, 'left', NEW."userId", NEW."userId",
             jsonb_build_object('reason', NEW."leaveReason", 'peerId', NEW."peerId"), NEW."leftAt");
         END IF;
         RETURN NULL;
       END IF;
       IF (OLD.audio, OLD.video, OLD.screen, OLD.speaking) IS DISTINCT FROM (NEW.audio, NEW.video, NEW.screen, NEW.speaking) THEN
         PERFORM video_call_log_event(NEW."sessionId", NEW.id, 'media', NEW."userId", NEW."userId",
           jsonb_build_object('audio', NEW.audio, 'video', NEW.video, 'screen', NEW.screen, 'speaking', NEW.speaking),
           ${
             flagTime
               ? `CASE WHEN OLD.audio <> NEW.audio THEN NEW."audioChangedAt"
                WHEN OLD.video <> NEW.video THEN NEW."videoChangedAt"
                WHEN OLD.screen <> NEW.screen THEN NEW."screenChangedAt"
                ELSE NEW."lastSeenAt" END`
               : `NEW."lastSeenAt"`
           });
       END IF;
       IF OLD."handRaisedAt" IS DISTINCT FROM NEW."handRaisedAt" THEN
         PERFORM video_call_log_event(NEW."sessionId", NEW.id, 'hand', NEW."userId", NEW."userId",
           jsonb_build_object('raised', NEW."handRaisedAt" IS NOT NULL),
           coalesce(NEW."handRaisedAt", NEW."lastSeenAt"));
       END IF;
       IF OLD."leftAt" IS NULL AND NEW."leftAt" IS NOT NULL THEN
         PERFORM video_call_log_event(NEW."sessionId", NEW.id, 'left', NEW."userId", NEW."userId",
           jsonb_build_object('reason', NEW."leaveReason", 'peerId', NEW."peerId"), NEW."leftAt");
       END IF;
       RETURN NULL;
     END $$`;

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_set_media_as(uuid, uuid, boolean, boolean, boolean, timestamptz, boolean);
     DROP FUNCTION video_call_set_media(uuid, uuid, boolean, boolean, boolean, boolean, timestamptz)`,
    { transaction },
  );
  await query(SET_MEDIA_AS_SQL, { transaction });
  await query(PARTICIPANT_EVENTS_SQL(true), { transaction });
  await query(
    `CREATE FUNCTION video_call_moderation_events() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       PERFORM video_call_log_event(NEW."sessionId", NULL, 'host.' || NEW.action, NEW."actorId", NEW."targetId",
         NEW.details, NEW."at");
       RETURN NULL;
     END $$`,
    { transaction },
  );
  await query(
    `CREATE TRIGGER video_call_moderation_events AFTER INSERT ON video_call_moderation
       FOR EACH ROW EXECUTE FUNCTION video_call_moderation_events()`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP TRIGGER video_call_moderation_events ON video_call_moderation;
     DROP FUNCTION video_call_moderation_events();
     DROP FUNCTION video_call_set_media_as(uuid, uuid, boolean, boolean, boolean, boolean, timestamptz, boolean)`,
    { transaction },
  );
  await query(PARTICIPANT_EVENTS_SQL(false), { transaction });
  await query(SET_MEDIA_AS_SQL_0009, { transaction });
  await query(SET_MEDIA_SQL(true), { transaction });
};
