import type { IncomingMessage } from "node:http";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import type { SessionUser } from "../services/accounts.js";

export interface ContextInner {
  services: Services;
  user: SessionUser | null;
  /** The login session behind `user`; live streams end with it. Absent in direct-call tests. */
  sessionId?: string | null;
  log: Logger;
}
export type Context = ContextInner;

/** Everything a procedure needs, without HTTP: integration tests build it directly. */
export function createContextInner(opts: ContextInner): Context {
  return opts;
}

export function contextFactory(services: Services, log: Logger) {
  return async ({ req }: { req: IncomingMessage }): Promise<Context> => {
    const session = await services.auth.sessionFromCookie(req.headers.cookie);
    return createContextInner({ services, user: session?.user ?? null, sessionId: session?.id ?? null, log });
  };
}
