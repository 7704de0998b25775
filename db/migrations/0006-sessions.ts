import type { MigrationFn } from "../migrator.js";

/**
 * Server-side login sessions: the cookie only carries a signed random id, so a session can be
 * ended (logout, password change, "log out other devices") by deleting its row.
 */
export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `CREATE TABLE sessions (
      id varchar(64) PRIMARY KEY,
      "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "expiresAt" timestamptz NOT NULL,
      "lastUsedAt" timestamptz NOT NULL DEFAULT now(),
      "userAgent" varchar(300)
    )`,
    { transaction },
  );
  await query(`CREATE INDEX sessions_user_idx ON sessions ("userId")`, { transaction });
  await query(`CREATE INDEX sessions_expires_idx ON sessions ("expiresAt")`, { transaction });
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(`DROP TABLE sessions`, { transaction });
};
