import { openDatabase } from "../db/index.js";
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from "../db/seed.js";
import { loadConfig } from "../server/config.js";

const config = loadConfig();
if (config.NODE_ENV === "production") {
  console.error("db:seed refuses to run with NODE_ENV=production");
  process.exit(1);
}
const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
const { created } = await seedDemo(db.sequelize);
console.log(created ? "demo data created" : "demo data already present");
console.log(`demo logins (password "${DEMO_PASSWORD}"): ${DEMO_LOGINS.join(", ")}`);
await db.close();
