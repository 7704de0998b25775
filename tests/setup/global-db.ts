import os from "node:os";
import path from "node:path";
import { mkdtempSync, chmodSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { createSequelize } from "../../db/connection.js";
import { startEmbeddedPostgres, type EmbeddedDb } from "../../db/embedded.js";
import { migrate } from "../../db/migrator.js";
import { initModels } from "../../db/models/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
  }
}

/**
 * Migrates one template database per run; each test file then clones it (CREATE DATABASE … TEMPLATE),
 * so files run in parallel on separate databases. DATABASE_URL (an admin connection) when set,
 * otherwise a throwaway embedded Postgres.
 */
export default async function setup(project: TestProject) {
  let embedded: EmbeddedDb | null = null;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "coup-test-pg-"));
    chmodSync(dir, 0o755);
    embedded = await startEmbeddedPostgres(path.join(dir, "data"), { persistent: false });
    adminUrl = embedded.url;
  }
  const template = `coup_tpl_${process.pid}`;
  const admin = createSequelize(adminUrl, { poolMax: 1 });
  await admin.query(`DROP DATABASE IF EXISTS ${template}`);
  await admin.query(`CREATE DATABASE ${template}`);
  const tplUrl = withDatabase(adminUrl, template);
  const tpl = createSequelize(tplUrl, { poolMax: 1 });
  initModels(tpl);
  await migrate(tpl);
  await tpl.close();

  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("templateDatabase", template);

  return async () => {
    const leftovers = (await admin.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'coup_t\\_${process.pid}\\_%' OR datname = '${template}'`,
      { type: "SELECT" },
    )) as Array<{ datname: string }>;
    for (const { datname } of leftovers) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    await admin.close();
    await embedded?.stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
