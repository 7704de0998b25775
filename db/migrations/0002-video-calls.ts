import type { MigrationFn } from "../migrator.js";

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(`CREATE TYPE leave_reason AS ENUM ('LEFT','DROPPED','KICKED')`, { transaction });
  await query(
    `CREATE TABLE video_call_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "studyId" uuid NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
      "roomId" varchar(64) NOT NULL UNIQUE,
      "startedBy" uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
      "startedAt" timestamptz NOT NULL,
      "endedAt" timestamptz,
      duration double precision,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT video_call_sessions_duration_check CHECK (duration IS NULL OR duration >= 0),
      CONSTRAINT video_call_sessions_ended_check CHECK ("endedAt" IS NULL OR "endedAt" >= "startedAt")
    )`,
    { transaction },
  );
  // The rule "one running call per study" lives in the database so concurrent starts cannot break it.
  await query(
    `CREATE UNIQUE INDEX video_call_sessions_one_active ON video_call_sessions ("studyId") WHERE "endedAt" IS NULL`,
    { transaction },
  );
  await query(`CREATE INDEX video_call_sessions_study_started ON video_call_sessions ("studyId", "startedAt" DESC)`, {
    transaction,
  });
  await query(
    `CREATE TABLE video_call_participants (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "sessionId" uuid NOT NULL REFERENCES video_call_sessions(id) ON DELETE CASCADE,
      "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      "peerId" varchar(64) NOT NULL UNIQUE,
      "joinedAt" timestamptz NOT NULL,
      "leftAt" timestamptz,
      duration double precision,
      "audioMutedTime" double precision NOT NULL DEFAULT 0,
      "videoOffTime" double precision NOT NULL DEFAULT 0,
      "screenSharedTime" double precision NOT NULL DEFAULT 0,
      "lastSeenAt" timestamptz NOT NULL,
      "leaveReason" leave_reason,
      audio boolean NOT NULL DEFAULT true,
      video boolean NOT NULL DEFAULT true,
      screen boolean NOT NULL DEFAULT false,
      "audioChangedAt" timestamptz NOT NULL,
      "videoChangedAt" timestamptz NOT NULL,
      "screenChangedAt" timestamptz NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT vcp_times_nonnegative CHECK (
        (duration IS NULL OR duration >= 0) AND "audioMutedTime" >= 0 AND "videoOffTime" >= 0 AND "screenSharedTime" >= 0
      ),
      CONSTRAINT vcp_left_after_join CHECK ("leftAt" IS NULL OR "leftAt" >= "joinedAt"),
      CONSTRAINT vcp_closed_has_reason CHECK (("leftAt" IS NULL) = ("leaveReason" IS NULL))
    )`,
    { transaction },
  );
  await query(
    `CREATE UNIQUE INDEX video_call_participants_one_open ON video_call_participants ("sessionId", "userId") WHERE "leftAt" IS NULL`,
    { transaction },
  );
  await query(`CREATE INDEX video_call_participants_session ON video_call_participants ("sessionId")`, { transaction });
  await query(
    `CREATE INDEX video_call_participants_open_seen ON video_call_participants ("lastSeenAt") WHERE "leftAt" IS NULL`,
    {
      transaction,
    },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(`DROP TABLE video_call_participants; DROP TABLE video_call_sessions; DROP TYPE leave_reason`, {
    transaction,
  });
};
