import type { MigrationFn } from "../migrator.js";
import { PERSON_LOCK } from "./0004-video-call-functions.js";

/*
 * The call history's raw material: every change of a call's state as a row of video_call_events,
 * written in the same transaction as the change itself, and speaking time accrued like muted time.
 *
 * - The events of participations and sessions are written by triggers on those tables, so whichever
 *   function changes a row (join, close, set_media, set_hand, and any later migration's
 *   replacement of them) logs it in its own transaction and round trip, without each function
 *   having to remember to. A trigger's WHEN clause skips the frequent writes that change no state
 *   (heartbeats, the sweeper's touch).
 * - Other events (a browser's connection-state report, a host's action) are inserted by their
 *   statement directly, or through video_call_log_event; `kind` is free text and `payload` jsonb so
 *   new kinds need no migration.
 * - Speaking: the browser reports its own voice-activity flag with the media flags; time counts
 *   only while speaking AND the microphone is on, by the one media-time rule (video_call_accrue),
 *   in video_call_set_media on a change and in video_call_close_row on leaving.
 */

const EVENT_KIND_CHECK = `kind ~ '^[a-z][a-z0-9_.-]{0,39}$'`;

/** video_call_close_row; `speaking` = this migration's version (also accrues speaking time), else 0005's. */
const CLOSE_ROW_SQL = (
  speaking: boolean,
) => `CREATE OR REPLACE FUNCTION video_call_close_row(p_id uuid, p_at timestamptz, p_reason leave_reason)
     RETURNS SETOF video_call_participants LANGUAGE sql AS $$
       UPDATE video_call_participants p SET
         "leftAt" = c.at,
         "leaveReason" = p_reason,
         duration = extract(epoch FROM c.at - p."joinedAt")::double precision,
         "audioMutedTime" = video_call_accrue(p."audioMutedTime", NOT p.audio, false, p."audioChangedAt", c.at),
         "videoOffTime" = video_call_accrue(p."videoOffTime", NOT p.video, false, p."videoChangedAt", c.at),
         "screenSharedTime" = video_call_accrue(p."screenSharedTime", p.screen, false, p."screenChangedAt", c.at),${
           speaking
             ? `
         "speakingTime" = video_call_accrue(p."speakingTime", p.audio AND p.speaking, false, p."speakingChangedAt", c.at),`
             : ""
         }
         "updatedAt" = now()
       FROM (SELECT greatest(coalesce(p_at, x."lastSeenAt"), x."joinedAt") AS at
             FROM video_call_participants x WHERE x.id = p_id) c
       WHERE p.id = p_id AND p."leftAt" IS NULL
       RETURNING p.*
     $$`;

/** video_call_set_media; `speaking` = this migration's version (p_speaking, speaking time), else 0005's. */
export const SET_MEDIA_SQL = (speaking: boolean) => `CREATE FUNCTION video_call_set_media(
       p_session uuid, p_user uuid, p_audio boolean, p_video boolean, p_screen boolean,${speaking ? " p_speaking boolean," : ""}
       p_at timestamptz)
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
         "screenChangedAt" = CASE WHEN p.screen <> p_screen THEN p_at ELSE p."screenChangedAt" END,${
           speaking
             ? `
         speaking = p_speaking,
         "speakingTime" = video_call_accrue(p."speakingTime", p.audio AND p.speaking, p_audio AND p_speaking,
                                            p."speakingChangedAt", p_at),
         "speakingChangedAt" = CASE WHEN (p.audio AND p.speaking) <> (p_audio AND p_speaking)
                                    THEN p_at ELSE p."speakingChangedAt" END,`
             : ""
         }
         "lastSeenAt" = p_at,
         "updatedAt" = now()
       WHERE p.id = old.id;
       -- changed: what the room sees (speaking is no room event: every browser hears it itself).
       RETURN QUERY SELECT old."userId", old."peerId"::text, old."joinedAt",
         (old.audio <> p_audio OR old.video <> p_video OR old.screen <> p_screen);
     END $$`;

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `ALTER TABLE video_call_participants
       ADD COLUMN speaking boolean NOT NULL DEFAULT false,
       ADD COLUMN "speakingChangedAt" timestamptz NULL,
       ADD COLUMN "speakingTime" double precision NOT NULL DEFAULT 0 CHECK ("speakingTime" >= 0)`,
    { transaction },
  );

  // at: when the change took effect on the server's clock (the p_at of the function that made it);
  // id orders events of the same instant in commit-independent insertion order.
  await query(
    `CREATE TABLE video_call_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "participantId" uuid NULL,
      kind varchar(40) NOT NULL,
      "actorId" uuid NULL REFERENCES users(id) ON DELETE SET NULL,
      "targetId" uuid NULL REFERENCES users(id) ON DELETE SET NULL,
      payload jsonb NOT NULL DEFAULT '{}'::jsonb,
      at timestamptz NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT clock_timestamp(),
      CONSTRAINT video_call_events_kind_check CHECK (${EVENT_KIND_CHECK})
    )`,
    { transaction },
  );
  await query(`CREATE INDEX video_call_events_session ON video_call_events ("sessionId", at, id)`, { transaction });

  // For statements outside the functions (and later migrations): one event, nothing else.
  await query(
    `CREATE FUNCTION video_call_log_event(
       p_session uuid, p_participant uuid, p_kind text, p_actor uuid, p_target uuid, p_payload jsonb, p_at timestamptz)
     RETURNS bigint LANGUAGE sql AS $$
       INSERT INTO video_call_events ("sessionId", "participantId", kind, "actorId", "targetId", payload, at)
       VALUES (p_session, p_participant, p_kind, p_actor, p_target, coalesce(p_payload, '{}'::jsonb), p_at)
       RETURNING id
     $$`,
    { transaction },
  );

  // Participations: joined, left (with reason), media (the full flags after the change), hand.
  await query(
    `CREATE FUNCTION video_call_participant_events() RETURNS trigger LANGUAGE plpgsql AS $$
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
           NEW."lastSeenAt");
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
     END $$`,
    { transaction },
  );
  await query(
    `CREATE TRIGGER video_call_participants_events_insert AFTER INSERT ON video_call_participants
       FOR EACH ROW EXECUTE FUNCTION video_call_participant_events()`,
    { transaction },
  );
  await query(
    `CREATE TRIGGER video_call_participants_events_update AFTER UPDATE ON video_call_participants
       FOR EACH ROW WHEN (
         (OLD.audio, OLD.video, OLD.screen, OLD.speaking, OLD."handRaisedAt", OLD."leftAt")
           IS DISTINCT FROM (NEW.audio, NEW.video, NEW.screen, NEW.speaking, NEW."handRaisedAt", NEW."leftAt"))
       EXECUTE FUNCTION video_call_participant_events()`,
    { transaction },
  );

  // Sessions: started, ended.
  await query(
    `CREATE FUNCTION video_call_session_events() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         PERFORM video_call_log_event(NEW.id, NULL, 'started', NEW."startedBy", NULL, '{}'::jsonb, NEW."startedAt");
       ELSIF OLD."endedAt" IS NULL AND NEW."endedAt" IS NOT NULL THEN
         PERFORM video_call_log_event(NEW.id, NULL, 'ended', NULL, NULL, '{}'::jsonb, NEW."endedAt");
       END IF;
       RETURN NULL;
     END $$`,
    { transaction },
  );
  await query(
    `CREATE TRIGGER video_call_sessions_events_insert AFTER INSERT ON video_call_sessions
       FOR EACH ROW EXECUTE FUNCTION video_call_session_events()`,
    { transaction },
  );
  await query(
    `CREATE TRIGGER video_call_sessions_events_update AFTER UPDATE ON video_call_sessions
       FOR EACH ROW WHEN (OLD."endedAt" IS NULL AND NEW."endedAt" IS NOT NULL)
       EXECUTE FUNCTION video_call_session_events()`,
    { transaction },
  );

  await query(CLOSE_ROW_SQL(true), { transaction });

  // 0005's video_call_set_media plus the speaking flag (a new parameter, so a new signature).
  await query(`DROP FUNCTION video_call_set_media(uuid, uuid, boolean, boolean, boolean, timestamptz)`, {
    transaction,
  });
  await query(SET_MEDIA_SQL(true), { transaction });
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP FUNCTION video_call_set_media(uuid, uuid, boolean, boolean, boolean, boolean, timestamptz);
     DROP TRIGGER video_call_sessions_events_update ON video_call_sessions;
     DROP TRIGGER video_call_sessions_events_insert ON video_call_sessions;
     DROP FUNCTION video_call_session_events();
     DROP TRIGGER video_call_participants_events_update ON video_call_participants;
     DROP TRIGGER video_call_participants_events_insert ON video_call_participants;
     DROP FUNCTION video_call_participant_events();
     DROP FUNCTION video_call_log_event(uuid, uuid, text, uuid, uuid, jsonb, timestamptz);
     DROP TABLE video_call_events`,
    { transaction },
  );
  await query(CLOSE_ROW_SQL(false), { transaction });
  await query(
    `ALTER TABLE video_call_participants DROP COLUMN speaking, DROP COLUMN "speakingChangedAt", DROP COLUMN "speakingTime"`,
    { transaction },
  );
  await query(SET_MEDIA_SQL(false), { transaction });
};
