import type { MigrationFn } from "../migrator.js";

export const up: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email varchar(254) NOT NULL,
      name varchar(80) NOT NULL,
      "avatarUrl" varchar(500),
      "passwordHash" varchar(255) NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now()
    )`,
    { transaction },
  );
  await query(`CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email))`, { transaction });
  await query(`CREATE TYPE member_role AS ENUM ('OWNER','ADMIN','MEMBER')`, { transaction });
  await query(`CREATE TYPE member_status AS ENUM ('ACTIVE','PENDING','LEFT','BANNED')`, { transaction });
  await query(
    `CREATE TABLE studies (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name varchar(100) NOT NULL,
      description text NOT NULL DEFAULT '',
      "ownerId" uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
      "inviteCode" varchar(32) NOT NULL UNIQUE,
      "requiresApproval" boolean NOT NULL DEFAULT false,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now()
    )`,
    { transaction },
  );
  await query(`CREATE INDEX studies_owner_idx ON studies ("ownerId")`, { transaction });
  await query(
    `CREATE TABLE study_members (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      "studyId" uuid NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
      "userId" uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role member_role NOT NULL DEFAULT 'MEMBER',
      status member_status NOT NULL DEFAULT 'ACTIVE',
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      "updatedAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT study_members_study_user_key UNIQUE ("studyId", "userId")
    )`,
    { transaction },
  );
  await query(`CREATE INDEX study_members_user_idx ON study_members ("userId")`, { transaction });
};

export const down: MigrationFn = async ({ context: { query, transaction } }) => {
  await query(
    `DROP TABLE study_members; DROP TABLE studies; DROP TABLE users; DROP TYPE member_role; DROP TYPE member_status`,
    { transaction },
  );
};
