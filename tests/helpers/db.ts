import { randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";
import { afterAll, beforeAll, inject } from "vitest";
import { createSequelize } from "../../db/connection.js";
import { initModels } from "../../db/models/index.js";
import { withDatabase } from "../setup/global-db.js";

export interface TestDb {
  sequelize: Sequelize;
  url: string;
}

/**
 * Gives the calling test file its own freshly migrated database (cloned from the run's template),
 * dropped again when the file finishes. Use the returned getter inside tests/hooks.
 */
export function useTestDatabase(): () => TestDb {
  let db: TestDb | null = null;
  let name = "";
  const adminUrl = inject("adminDatabaseUrl");
  beforeAll(async () => {
    const template = inject("templateDatabase");
    const pid = template.replace("coup_tpl_", "");
    name = `coup_t_${pid}_${randomBytes(4).toString("hex")}`;
    const admin = createSequelize(adminUrl, { poolMax: 1 });
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    await admin.close();
    const url = withDatabase(adminUrl, name);
    const sequelize = createSequelize(url, { poolMax: 20 });
    initModels(sequelize);
    db = { sequelize, url };
  });
  afterAll(async () => {
    await db?.sequelize.close();
    const admin = createSequelize(adminUrl, { poolMax: 1 });
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.close();
  });
  return () => {
    if (!db) throw new Error("test database not ready: call inside a test or hook");
    return db;
  };
}

/** Empties every table but keeps the schema; for files that want a clean slate per test. */
export async function truncateAll(sequelize: Sequelize): Promise<void> {
  await sequelize.query(
    `TRUNCATE video_call_participants, video_call_sessions, study_members, studies, users RESTART IDENTITY CASCADE`,
  );
}
