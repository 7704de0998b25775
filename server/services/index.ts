import type { Sequelize } from "sequelize";
import { createAuth } from "../auth.js";
import type { Config } from "../config.js";
import { AccountService } from "./accounts.js";
import { StudyService } from "./studies.js";

export interface Services {
  sequelize: Sequelize;
  accounts: AccountService;
  studies: StudyService;
  auth: ReturnType<typeof createAuth>;
  peerAccess?: PeerAccess;
  /** Background work (sweepers, boot clean-up) started after migrations and stopped on shutdown. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
}

/** The composition of domain services; one set per process, shared by Remix, tRPC and PeerServer hooks. */
export function createServices(sequelize: Sequelize, config: Pick<Config, "SESSION_SECRET">): Services {
  const accounts = new AccountService();
  const studies = new StudyService(sequelize);
  const auth = createAuth(config.SESSION_SECRET, accounts);
  return { sequelize, accounts, studies, auth };
}

/** How the PeerServer asks the call domain who may register a peer id, and reports sockets coming and going. */
export interface PeerAccess {
  authorize(userId: string, peerId: string): Promise<boolean>;
  onConnect(peerId: string): void;
  onDisconnect(peerId: string): void;
}
