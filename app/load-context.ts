import type { Services } from "../server/services/index";

declare module "@remix-run/node" {
  interface AppLoadContext {
    services: Services;
    clientIp: string;
  }
}
export {};
