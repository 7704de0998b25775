import path from "node:path";
import type { Sequelize } from "sequelize";
import { createSequelize } from "./connection.js";
import { startEmbeddedPostgres, type EmbeddedDb } from "./embedded.js";
import { migrate } from "./migrator.js";
import { initModels } from "./models/index.js";

export interface Database {
  sequelize: Sequelize;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** DATABASE_URL when given; otherwise an embedded Postgres whose files persist under dataDir. */
export async function openDatabase(opts: { url?: string; dataDir: string; migrate?: boolean }): Promise<Database> {
  let embedded: EmbeddedDb | null = null;
  let url = opts.url;
  if (!url) {
    embedded = await startEmbeddedPostgres(path.join(opts.dataDir, "pg"));
    url = embedded.url;
  }
  const sequelize = createSequelize(url);
  initModels(sequelize);
  try {
    await sequelize.authenticate();
    if (opts.migrate !== false) await migrate(sequelize);
  } catch (err) {
    await sequelize.close().catch(() => {});
    await embedded?.stop().catch(() => {});
    throw err;
  }
  return {
    sequelize,
    url,
    embedded: embedded !== null,
    async close() {
      await sequelize.close().catch(() => {});
      await embedded?.stop();
    },
  };
}
