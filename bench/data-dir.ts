/** The throwaway data folder and database every benchmark gives its server. */
import { chmodSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * A fresh folder under the system temp dir. mkdtemp creates it with mode 700, but embedded Postgres
 * runs as the `postgres` user when we are root, and that user must be able to enter it.
 */
export function benchDataDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * A throwaway database on the server `adminUrl` names (DATABASE_URL as an admin connection): the
 * benchmarks never touch real data. `drop` removes it, also after a failed run.
 */
export async function benchDatabase(adminUrl: string, prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { createSequelize } = await import("../db/connection.js");
  const name = `${prefix}_${process.pid}`;
  const admin = createSequelize(adminUrl, { poolMax: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}
