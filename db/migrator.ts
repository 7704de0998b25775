import { type Sequelize, type Transaction, type QueryOptions } from "sequelize";
import { SequelizeStorage, Umzug, type MigrationFn as UmzugMigrationFn } from "umzug";
import * as m0001 from "./migrations/0001-accounts-and-studies.js";
import * as m0002 from "./migrations/0002-video-calls.js";
import * as m0003 from "./migrations/0003-video-call-closure-checks.js";
import * as m0004 from "./migrations/0004-video-call-functions.js";
import * as m0005 from "./migrations/0005-sessions.js";

export interface MigrationContext {
  query: (sql: string, options: QueryOptions & { transaction: Transaction }) => Promise<unknown>;
  transaction: Transaction;
}
export type MigrationFn = UmzugMigrationFn<MigrationContext>;

// An explicit list (not a glob) keeps the order obvious and survives any bundling.
const MIGRATIONS: Array<{ name: string; up: MigrationFn; down: MigrationFn }> = [
  { name: "0001-accounts-and-studies", ...m0001 },
  { name: "0002-video-calls", ...m0002 },
  { name: "0003-video-call-closure-checks", ...m0003 },
  { name: "0004-video-call-functions", ...m0004 },
  { name: "0005-sessions", ...m0005 },
];

export function createMigrator(sequelize: Sequelize) {
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
