import { openDatabase } from "../db/index.js";
import { loadConfig } from "../server/config.js";

// openDatabase migrates as it opens; this script exists so migrations can run without starting the app.
const config = loadConfig();
const db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
console.log(`migrations are up to date (${db.embedded ? "embedded Postgres" : "DATABASE_URL"})`);
await db.close();
