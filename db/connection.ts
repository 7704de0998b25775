import { parse } from "pg-connection-string";
import pg from "pg";
import { Sequelize } from "sequelize";

// Dates come back as JS Dates; BIGINT counts are small here, parse them as numbers.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

/**
 * Sequelize's own URL parsing drops `?host=/var/run/postgresql`, which the loopback-only test
 * namespace needs (TCP to the host's Postgres is unreachable there), so parse with pg's parser.
 */
export function createSequelize(url: string, opts: { poolMax?: number } = {}): Sequelize {
  const c = parse(url);
  return new Sequelize(c.database ?? "postgres", c.user ?? "postgres", c.password ?? undefined, {
    dialect: "postgres",
    dialectModule: pg,
    host: c.host ?? "127.0.0.1",
    port: c.port ? Number(c.port) : 5432,
    logging: false,
    pool: { max: opts.poolMax ?? 10, min: 0, idle: 10_000, acquire: 10_000 },
    define: { underscored: false },
  });
}
