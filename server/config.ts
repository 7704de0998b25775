import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

// An exported-but-empty variable (`DATABASE_URL=`) means "not set", as shells and .env files intend.
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")),
  SESSION_SECRET: optional(z.string().min(16, "must be at least 16 characters")),
  DATA_DIR: z.string().min(1).default(".data"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Comma-separated STUN/TURN URLs handed to browsers; empty means host candidates only. */
  STUN_URLS: z.string().default(""),
  TURN_URLS: z.string().default(""),
  TURN_SECRET: optional(z.string().min(1)),
  /** "relay" makes browsers use TURN relays only (tests, or networks where peer-to-peer must not happen). */
  ICE_TRANSPORT_POLICY: z.enum(["all", "relay"]).default("all"),
  TURN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .positive()
    .default(12 * 60 * 60),
  /** How long a vanished PeerServer socket may stay away before its participation is DROPPED. */
  DROP_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(8_000),
  /** Participations silent for longer than this are closed by the sweeper. */
  STALE_AFTER_MS: z.coerce.number().int().positive().default(60_000),
  PEER_ALIVE_TIMEOUT_MS: z.coerce.number().int().positive().default(12_000),
  /** Largest file a call's chat accepts; bigger uploads are refused with 413 and leave nothing on disk. */
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(25 * 1024 * 1024),
  SEED_DEMO: z.enum(["auto", "always", "never"]).default("auto"),
});

/** Every setting's default, read off the schema so no other file restates one. */
export const CONFIG_DEFAULTS = EnvSchema.parse({});

export type Config = z.infer<typeof EnvSchema> & { SESSION_SECRET: string; DATA_DIR: string };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment once; a bad value stops start-up with a message naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`Invalid environment configuration:\n${lines.join("\n")}`);
  }
  const cfg = parsed.data;
  const dataDir = path.resolve(cfg.DATA_DIR);
  let secret = cfg.SESSION_SECRET;
  if (!secret) {
    if (cfg.NODE_ENV === "production") {
      throw new ConfigError("Invalid environment configuration:\n  SESSION_SECRET: required in production");
    }
    secret = localSecret(dataDir);
  }
  return { ...cfg, DATA_DIR: dataDir, SESSION_SECRET: secret };
}

// Keeping the generated secret on disk means a local restart doesn't log everyone out.
function localSecret(dataDir: string): string {
  const file = path.join(dataDir, "session-secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secret = randomBytes(32).toString("hex");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}
