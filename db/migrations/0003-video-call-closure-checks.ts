import type { MigrationFn } from "../migrator.js";

// A closed record without its duration (or an open one with a duration) would make history lie;
// the database refuses both, whatever code path writes the row.
export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `ALTER TABLE video_call_sessions
       ADD CONSTRAINT video_call_sessions_ended_has_duration CHECK (("endedAt" IS NULL) = (duration IS NULL))`,
    { transaction },
  );
  await query(
    `ALTER TABLE video_call_participants
       ADD CONSTRAINT vcp_closed_has_duration CHECK (("leftAt" IS NULL) = (duration IS NULL))`,
    { transaction },
  );
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(`ALTER TABLE video_call_participants DROP CONSTRAINT vcp_closed_has_duration`, { transaction });
  await query(`ALTER TABLE video_call_sessions DROP CONSTRAINT video_call_sessions_ended_has_duration`, {
    transaction,
  });
};
