/**
 * Where chat files' bytes live, behind a small interface so another backend (object storage) can
 * replace the disk. The disk store is content-addressed: a file's key is its sha256, so the same
 * bytes uploaded twice are stored once, and a key never names a path a client chose.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** An upload being written: bytes go to `stream`; then exactly one of commit() or discard(). */
export interface PendingBlob {
  stream: Writable;
  /** Bytes written so far. */
  size(): number;
  /** Makes the bytes permanent; resolves once `stream` has finished. */
  commit(): Promise<{ key: string; sha256: string; size: number }>;
  /** Removes every trace of the upload; safe to call more than once, and after commit. */
  discard(): Promise<void>;
}

export interface FileStorage {
  begin(): Promise<PendingBlob>;
  open(key: string): Readable;
  /** The first bytes of a committed blob, for sniffing its type. */
  head(key: string, bytes: number): Promise<Buffer>;
}

const KEY = /^[0-9a-f]{64}$/;

export class DiskStorage implements FileStorage {
  private readonly tmpDir: string;

  /** `root` is DATA_DIR/uploads: outside every folder the server serves. */
  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, "tmp");
  }

  async begin(): Promise<PendingBlob> {
    await mkdir(this.tmpDir, { recursive: true });
    const tempPath = path.join(this.tmpDir, `${randomBytes(12).toString("hex")}.part`);
    const hash = createHash("sha256");
    let size = 0;
    // Hash and count on the way through, so nothing is read twice or held in memory.
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const finished = pipeline(counter, createWriteStream(tempPath, { flags: "wx", mode: 0o600 }));
    finished.catch(() => {});
    let done = false;
    return {
      stream: counter,
      size: () => size,
      commit: async () => {
        if (!counter.writableEnded) counter.end();
        await finished;
        const sha256 = hash.digest("hex");
        const final = this.pathOf(sha256);
        await mkdir(path.dirname(final), { recursive: true });
        // Same bytes already stored: keep the existing copy.
        if (await exists(final)) await rm(tempPath, { force: true });
        else await rename(tempPath, final);
        done = true;
        return { key: sha256, sha256, size };
      },
      discard: async () => {
        if (done) return;
        done = true;
        counter.destroy();
        await finished.catch(() => {});
        await rm(tempPath, { force: true });
      },
    };
  }

  open(key: string): Readable {
    return createReadStream(this.pathOf(key));
  }

  async head(key: string, bytes: number): Promise<Buffer> {
    const fh = await open(this.pathOf(key), "r");
    try {
      const buf = Buffer.alloc(bytes);
      const { bytesRead } = await fh.read(buf, 0, bytes, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  private pathOf(key: string): string {
    if (!KEY.test(key)) throw new Error(`not a storage key: ${key}`);
    return path.join(this.root, key.slice(0, 2), key);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
