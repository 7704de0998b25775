import { type Sequelize, type Transaction, type QueryOptions } from "sequelize";
import { SequelizeStorage, Umzug, type MigrationFn as UmzugMigrationFn } from "umzug";
import * as m0001 from "./migrations/0001-accounts-and-studies.js";
import * as m0002 from "./migrations/0002-video-calls.js";
import * as m0003 from "./migrations/0003-video-call-closure-checks.js";
import * as m0004 from "./migrations/0004-video-call-functions.js";
import * as m0005 from "./migrations/0005-media-time-rule.js";
import * as m0006 from "./migrations/0006-sessions.js";
import * as m0007 from "./migrations/0007-participant-cap-and-hands.js";
import * as m0008 from "./migrations/0008-chat.js";
import * as m0009 from "./migrations/0009-host-controls.js";
import * as m0010 from "./migrations/0010-call-events-and-speaking.js";
import * as m0011 from "./migrations/0011-host-actions-in-history.js";
import * as m0012 from "./migrations/0012-open-peer-index.js";

interface MigrationContext {
  query: (sql: string, options: QueryOptions & { transaction: Transaction }) => Promise<unknown>;
  transaction: Transaction;
}
export type MigrationFn = UmzugMigrationFn<MigrationContext>;

// An explicit list (not a glob) keeps the order obvious and survives any bundling.
const MIGRATIONS: Array<{ name: string; up: MigrationFn; down: MigrationFn }> = [
  { name: "0001-accounts-and-studies", up: m0001.up, down: m0001.down },
  { name: "0002-video-calls", up: m0002.up, down: m0002.down },
  { name: "0003-video-call-closure-checks", up: m0003.up, down: m0003.down },
  { name: "0004-video-call-functions", up: m0004.up, down: m0004.down },
  { name: "0005-media-time-rule", up: m0005.up, down: m0005.down },
  { name: "0006-sessions", up: m0006.up, down: m0006.down },
  { name: "0007-participant-cap-and-hands", up: m0007.up, down: m0007.down },
  { name: "0008-chat", up: m0008.up, down: m0008.down },
  { name: "0009-host-controls", up: m0009.up, down: m0009.down },
  { name: "0010-call-events-and-speaking", up: m0010.up, down: m0010.down },
  { name: "0011-host-actions-in-history", up: m0011.up, down: m0011.down },
  { name: "0012-open-peer-index", up: m0012.up, down: m0012.down },
];

function createMigrator(sequelize: Sequelize) {
  return new Umzug<MigrationContext>({
    migrations: MIGRATIONS.map((m) => ({
      name: m.name,
      // Each migration runs in its own transaction: a failure leaves the schema as it was.
      up: (params) =>
        sequelize.transaction((transaction) =>
          m.up({ ...params, context: { transaction, query: (sql, o) => sequelize.query(sql, o) } }),
        ),
      down: (params) =>
        sequelize.transaction((transaction) =>
          m.down({ ...params, context: { transaction, query: (sql, o) => sequelize.query(sql, o) } }),
        ),
    })),
    context: {} as MigrationContext,
    storage: new SequelizeStorage({ sequelize, tableName: "schema_migrations" }),
    logger: undefined,
  });
}

export async function migrate(sequelize: Sequelize): Promise<string[]> {
  const done = await createMigrator(sequelize).up();
  return done.map((m) => m.name);
}
