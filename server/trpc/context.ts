import type { IncomingMessage } from "node:http";
import type { Logger } from "../logger.js";
import type { Services } from "../services/index.js";
import type { SessionUser } from "../services/accounts.js";

export interface ContextInner {
  services: Services;
  user: SessionUser | null;
  log: Logger;
}
export type Context = ContextInner;

/** Everything a procedure needs, without HTTP: integration tests build it directly. */
export function createContextInner(opts: ContextInner): Context {
  return opts;
}

export function contextFactory(services: Services, log: Logger) {
  return async ({ req }: { req: IncomingMessage }): Promise<Context> => {
    const user = await services.auth.currentUser(req.headers.cookie);
    return createContextInner({ services, user, log });
  };
}
