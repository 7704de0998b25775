import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Sequelize } from "sequelize";
import { createAuth } from "../auth.js";
import { CONFIG_DEFAULTS, type Config } from "../config.js";
import { RedisRoomEventBus } from "../cluster/redis-events.js";
import type { RedisLink } from "../cluster/redis.js";
import { PeerRegistry } from "../cluster/registry.js";
import { SignalingRelay } from "../cluster/signaling.js";
import { LocalRoomEventBus, type RoomEventBus } from "../events.js";
import { logger, type Logger } from "../logger.js";
import { SessionStore } from "../sessions.js";
import { AccountService } from "./accounts.js";
import { ChatService, type ChatLimits } from "./chat/service.js";
import { DiskStorage, type FileStorage } from "./chat/storage.js";
import { MembershipCache } from "./memberships.js";
import { StudyService } from "./studies.js";
import type { PeerAccess } from "./video-call/presence.js";
import { VideoCallRest } from "./video-call/rest.js";
import { VideoCallService, type VideoCallConfig } from "./video-call/service.js";

export interface Services {
  sequelize: Sequelize;
  accounts: AccountService;
  studies: StudyService;
  auth: ReturnType<typeof createAuth>;
  videoCall: VideoCallService;
  /** Plain-HTTP adapter for the REST routes; lives here so Remix code never needs server classes. */
  videoCallRest: VideoCallRest;
  events: RoomEventBus;
  peerAccess: PeerAccess;
  chat: ChatService;
  /** Where chat files' bytes live; the file routes stream through it. */
  files: FileStorage;
  maxUploadBytes: number;
  /** The cluster link and peer registry, or null for the embedded single-process default. */
  cluster: { redis: RedisLink; registry: PeerRegistry; relay: SignalingRelay } | null;
  /** Background work (sweepers, boot clean-up) started after migrations and stopped on shutdown. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** The clock every stored call timestamp comes from; tests inject their own. */
  now?: () => Date;
  log?: Logger;
  /** Chat rate limits; benchmarks raise them. */
  chatLimits?: ChatLimits;
  /** Connected by start(), closed by stop(); set when REDIS_URL is. */
  redis?: RedisLink;
}

/** The composition of domain services; one set per process, shared by Remix, tRPC and PeerServer hooks. */
export function createServices(
  sequelize: Sequelize,
  config: Pick<Config, "SESSION_SECRET"> &
    Partial<VideoCallConfig> &
    Partial<Pick<Config, "DATA_DIR" | "MAX_UPLOAD_BYTES">>,
  options: ServiceOptions = {},
): Services {
  const log = options.log ?? logger;
  const redis = options.redis;
  const registry = redis ? new PeerRegistry(redis, log) : null;
  const cluster = redis && registry ? { redis, registry, relay: new SignalingRelay(redis, registry, log) } : null;
  const accounts = new AccountService();
  if (redis) accounts.throttle.shareThrough(redis);
  const studies = new StudyService(sequelize);
  const memberships = new MembershipCache(sequelize, redis);
  // Login sessions keep real time even when a test drives the call clock.
  const sessions = new SessionStore(sequelize, { log, cluster: redis });
  const auth = createAuth(config.SESSION_SECRET, accounts, sessions);
  const events: RoomEventBus = redis ? new RedisRoomEventBus(redis, log) : new LocalRoomEventBus();
  const videoCall = new VideoCallService({
    sequelize,
    studies,
    memberships,
    events,
    // Tests pass only the settings they care about; the rest are the environment schema's defaults.
    config: {
      STUN_URLS: config.STUN_URLS ?? CONFIG_DEFAULTS.STUN_URLS,
      TURN_URLS: config.TURN_URLS ?? CONFIG_DEFAULTS.TURN_URLS,
      TURN_SECRET: config.TURN_SECRET,
      ICE_TRANSPORT_POLICY: config.ICE_TRANSPORT_POLICY ?? CONFIG_DEFAULTS.ICE_TRANSPORT_POLICY,
      TURN_TTL_SECONDS: config.TURN_TTL_SECONDS ?? CONFIG_DEFAULTS.TURN_TTL_SECONDS,
      DROP_GRACE_MS: config.DROP_GRACE_MS ?? CONFIG_DEFAULTS.DROP_GRACE_MS,
      STALE_AFTER_MS: config.STALE_AFTER_MS ?? CONFIG_DEFAULTS.STALE_AFTER_MS,
      MAX_PARTICIPANTS: config.MAX_PARTICIPANTS ?? CONFIG_DEFAULTS.MAX_PARTICIPANTS,
    },
    now: options.now,
    log,
    cluster: cluster ?? undefined,
    grantSecret: config.SESSION_SECRET,
  });
  const chat = new ChatService({
    sequelize,
    events,
    now: options.now ?? (() => new Date()),
    limits: options.chatLimits,
    redis,
  });
  // Tests that name no DATA_DIR get a private folder (created on first upload), so no run sees another's uploads.
  const dataDir = config.DATA_DIR ?? path.join(os.tmpdir(), `coup-data-${randomBytes(6).toString("hex")}`);
  return {
    sequelize,
    chat,
    files: new DiskStorage(path.join(dataDir, "uploads")),
    maxUploadBytes: config.MAX_UPLOAD_BYTES ?? CONFIG_DEFAULTS.MAX_UPLOAD_BYTES,
    accounts,
    studies,
    auth,
    videoCall,
    videoCallRest: new VideoCallRest(videoCall, auth),
    events,
    peerAccess: videoCall.peerAccess,
    cluster,
    start: async () => {
      if (cluster) {
        await cluster.redis.connect();
        cluster.registry.start();
      }
      await sessions.start();
      await videoCall.startBackground();
    },
    stop: async () => {
      sessions.stop();
      await videoCall.stopBackground();
      memberships.dispose();
      if (cluster) {
        await cluster.registry.stop();
        await cluster.redis.close();
      }
    },
  };
}
