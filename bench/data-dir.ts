/** The throwaway data folder every benchmark gives its embedded Postgres. */
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
