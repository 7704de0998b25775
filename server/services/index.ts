import type { Sequelize } from "sequelize";
import { createAuth } from "../auth.js";
import type { Config } from "../config.js";
import { VideoCallParticipant } from "../../db/models/index.js";
import { RoomEventBus } from "../events.js";
import { logger, type Logger } from "../logger.js";
import { SessionStore } from "../sessions.js";
import { AccountService } from "./accounts.js";
import { MembershipCache } from "./memberships.js";
import { StudyService } from "./studies.js";
import { VideoCallRest } from "./video-call-http.js";
import { VIDEO_CALL_DEFAULTS, VideoCallService, type PeerAccess, type VideoCallConfig } from "./video-call.js";

export type { PeerAccess } from "./video-call.js";

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
  /** A browser whose login session ended is taken out of its call the way a leave would. */
  leaveAsPeer(userId: string, peerId: string): Promise<void>;
  /** Background work (sweepers, boot clean-up) started after migrations and stopped on shutdown. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  /** The clock every stored call timestamp comes from; tests inject their own. */
  now?: () => Date;
  log?: Logger;
}

/** The composition of domain services; one set per process, shared by Remix, tRPC and PeerServer hooks. */
export function createServices(
  sequelize: Sequelize,
  config: Pick<Config, "SESSION_SECRET"> & Partial<VideoCallConfig>,
  options: ServiceOptions = {},
): Services {
  const accounts = new AccountService();
  const studies = new StudyService(sequelize);
  const memberships = new MembershipCache(sequelize);
  // Login sessions keep real time even when a test drives the call clock.
  const sessions = new SessionStore(sequelize, { log: options.log ?? logger });
  const auth = createAuth(config.SESSION_SECRET, accounts, sessions);
  const events = new RoomEventBus();
  const videoCall = new VideoCallService({
    sequelize,
    studies,
    memberships,
    events,
    config: {
      STUN_URLS: config.STUN_URLS ?? VIDEO_CALL_DEFAULTS.STUN_URLS,
      TURN_URLS: config.TURN_URLS ?? VIDEO_CALL_DEFAULTS.TURN_URLS,
      TURN_SECRET: config.TURN_SECRET,
      ICE_TRANSPORT_POLICY: config.ICE_TRANSPORT_POLICY,
      TURN_TTL_SECONDS: config.TURN_TTL_SECONDS ?? VIDEO_CALL_DEFAULTS.TURN_TTL_SECONDS,
      DROP_GRACE_MS: config.DROP_GRACE_MS ?? VIDEO_CALL_DEFAULTS.DROP_GRACE_MS,
      STALE_AFTER_MS: config.STALE_AFTER_MS ?? VIDEO_CALL_DEFAULTS.STALE_AFTER_MS,
    },
    now: options.now,
    log: options.log ?? logger,
  });
  return {
    sequelize,
    accounts,
    studies,
    auth,
    videoCall,
    videoCallRest: new VideoCallRest(videoCall, auth),
    events,
    peerAccess: videoCall.peerAccess,
    async leaveAsPeer(userId, peerId) {
      const open = await VideoCallParticipant.findOne({ where: { peerId, userId, leftAt: null } });
      if (open) await videoCall.leave(userId, { sessionId: open.sessionId });
    },
    start: async () => {
      await sessions.start();
      await videoCall.startBackground();
    },
    stop: async () => {
      sessions.stop();
      await videoCall.stopBackground();
      memberships.dispose();
    },
  };
}
