import type { Services } from "../server/services/index";

declare module "@remix-run/node" {
  interface AppLoadContext {
    services: Services;
    clientIp: string;
    /** This response's Content-Security-Policy nonce for Remix's inline scripts. */
    cspNonce: string;
  }
}
export {};
