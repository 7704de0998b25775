import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import { z } from "zod";

function isTrustedProxyToken(token: string): boolean {
  if (["loopback", "linklocal", "uniquelocal"].includes(token)) return true;
  const [address, bits, ...rest] = token.split("/");
  if (rest.length || !address || !isIP(address)) return false;
  if (bits === undefined) return true;
  const max = isIP(address) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

// An exported-but-empty variable (`DATABASE_URL=`) means "not set", as shells and .env files intend.
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default("127.0.0.1"),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// or postgresql:// URL")),
  SESSION_SECRET: optional(z.string().min(16, "must be at least 16 characters")),
  /** Set to run as one of several instances sharing events, presence and signaling through Redis (docs/deploy.md). */
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\//, "must be a redis:// or rediss:// URL")),
  /** Prefix of every Redis key and channel, so several clusters can share one Redis. */
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, "letters, digits, _ . : - only")
    .default("coup:"),
  /** This instance's name in the cluster (logs, signaling routes); a random one when unset. */
  INSTANCE_ID: optional(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, _ . - only (at most 64)")),
  /**
   * Which hops in front of the app are our own proxies, whose X-Forwarded-For names the real client
   * (Express's `trust proxy`): a hop count, or addresses/subnets and the names loopback, linklocal,
   * uniquelocal. Unset, the socket's address is the client — behind nginx that would make every login
   * look like it came from nginx, and five wrong passwords would lock the account for everyone.
   */
  TRUST_PROXY: optional(
    z
      .string()
      .refine(
        (v) => /^\d{1,2}$/.test(v) || v.split(",").every((t) => isTrustedProxyToken(t.trim())),
        "a hop count, or a comma-separated list of addresses, subnets, loopback, linklocal, uniquelocal",
      )
      .transform((v) => (/^\d+$/.test(v) ? Number(v) : v.split(",").map((t) => t.trim()))),
  ),
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
  /** Most people one call holds: a full mesh sends N−1 streams per person, 5–8 is the practical limit. */
  MAX_PARTICIPANTS: z.coerce.number().int().min(2).max(50).default(6),
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
    // Every instance must sign and check cookies alike: a per-instance local secret would log users out at random.
    if (cfg.REDIS_URL) {
      throw new ConfigError("Invalid environment configuration:\n  SESSION_SECRET: required when REDIS_URL is set");
    }
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
