import { existsSync, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createRequestHandler } from "@remix-run/express";
import { broadcastDevReady, type ServerBuild } from "@remix-run/node";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import express from "express";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { chatFileRoutes } from "./chat-files.js";
import { createPeerServer, PEER_MOUNT, PEER_SOCKET_PATH, refuseUpgrade } from "./peer-server.js";
import { crossSiteGuard, cspNonce, refusingActions, securityHeaders } from "./security.js";
import type { Services } from "./services/index.js";
import { contextFactory } from "./trpc/context.js";
import { appRouter } from "./trpc/routers/_app.js";

// One level below the repo root both as server/app.ts (tsx) and bundled as build/server.js (npm start).
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const BUILD_PATH = path.join(ROOT, "build", "index.js");

export interface AppServer {
  httpServer: http.Server;
  url: string;
  close(): Promise<void>;
}

/** Loads the Remix server build; with `watch` it re-imports whenever the build file changes. */
function remixBuildLoader(watch: boolean): () => Promise<ServerBuild> {
  let cached: { mtime: number; build: Promise<ServerBuild> } | null = null;
  return () => {
    if (!existsSync(BUILD_PATH)) throw new Error("No Remix build found: run `npm run build` first.");
    const mtime = watch ? statSync(BUILD_PATH).mtimeMs : 0;
    if (!cached || cached.mtime !== mtime) {
      const url = pathToFileURL(BUILD_PATH).href + (watch ? `?t=${mtime}` : "");
      const build = import(url) as Promise<ServerBuild>;
      // `remix dev --manual` waits for this signal before it reports a rebuild as served.
      if (watch) void build.then((b) => broadcastDevReady(b)).catch(() => {});
      cached = { mtime, build };
    }
    return cached.build;
  };
}

/**
 * One http.Server: static assets, /healthz, tRPC at /api/trpc, the PeerServer at /peerjs and Remix
 * for everything else. WebSocket upgrades go through one router so no ws server aborts another's path.
 */
export async function createAppServer(opts: { config: Config; services: Services; log: Logger }): Promise<AppServer> {
  const { config, services, log } = opts;
  const app = express();
  app.disable("x-powered-by");
  const httpServer = http.createServer(app);
  const origin = () => `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${addressPort(httpServer)}`;

  // Headers first, so every answer (assets, API, errors) carries them.
  app.use(securityHeaders({ production: config.NODE_ENV === "production" }));
  app.use(crossSiteGuard(log));

  // The client IP feeds the login throttle. Only proxies named by TRUST_PROXY may say who the client is;
  // anything else a client sends in X-Forwarded-For (or in our own header) is ignored.
  if (config.TRUST_PROXY !== undefined) app.set("trust proxy", config.TRUST_PROXY);
  app.use((req, _res, next) => {
    req.headers["x-coup-client-ip"] = req.ip ?? req.socket.remoteAddress ?? "unknown";
    next();
  });

  app.use("/build", express.static(path.join(ROOT, "public", "build"), { immutable: true, maxAge: "1y" }));
  // API paths never name a file; skipping the filesystem probe for them keeps the hot tRPC path lean.
  // (A middleware, not a regex mount: Express only runs a mount whose match ends at a "/" or ".",
  // so a mount matching just the leading "/" never reached the files and /favicon.ico was a 404.)
  const publicFiles = express.static(path.join(ROOT, "public"), { maxAge: "1h", index: false });
  app.use((req, res, next) => (/^\/(api|peerjs)\//.test(req.path) ? next() : publicFiles(req, res, next)));

  app.get("/healthz", async (_req, res) => {
    const db = await services.sequelize.query("SELECT 1").then(
      () => "ok" as const,
      () => "down" as const,
    );
    // In a cluster, an instance cut off from Redis splits its rooms: the load balancer should stop sending to it.
    const redis = services.cluster ? { redis: await services.cluster.redis.health() } : {};
    const ok = db === "ok" && (!("redis" in redis) || redis.redis === "ok");
    res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "degraded", db, ...redis });
  });

  app.use(
    "/api/trpc",
    createExpressMiddleware({
      router: appRouter,
      createContext: contextFactory(services, log),
      onError: ({ error, path: p }) => {
        if (error.code === "INTERNAL_SERVER_ERROR") log.error({ err: error, path: p }, "tRPC error");
      },
    }),
  );

  app.use(chatFileRoutes(services, log));

  const peer = createPeerServer({
    httpServer,
    origin,
    aliveTimeoutMs: config.PEER_ALIVE_TIMEOUT_MS,
    log,
    relay: services.cluster?.relay,
    hooks: {
      sessionFromCookie: async (cookie) => {
        const session = await services.auth.sessionFromCookie(cookie);
        return session ? { id: session.id, userId: session.user.id } : null;
      },
      onSessionEnd: (sessionId, onEnd) => services.auth.sessions.onEnd(sessionId, onEnd),
      leaveAsPeer: (peerId) => services.videoCall.leavePeer(peerId),
      admit: (userId, requestedId) => services.peerAccess.admit(userId, requestedId),
      joined: (userId, peerId) => services.peerAccess.joined(userId, peerId),
      onConnect: (peerId) => services.peerAccess.onConnect(peerId),
      onDisconnect: (peerId) => services.peerAccess.onDisconnect(peerId),
    },
  });
  app.use(PEER_MOUNT, peer.app);
  services.videoCall.onEvict((peerId) => peer.closePeer(peerId));

  const loadBuild = remixBuildLoader(config.NODE_ENV === "development" && !!process.env.REMIX_DEV_ORIGIN);
  app.all("*", async (req, res, next) => {
    try {
      const build = await loadBuild();
      return createRequestHandler({
        build: res.locals.crossSite ? refusingActions(build) : build,
        mode: config.NODE_ENV === "production" ? "production" : "development",
        getLoadContext: () => ({ services, clientIp: req.ip ?? "unknown", cspNonce: cspNonce(res) }),
      })(req, res, next);
    } catch (err) {
      next(err);
    }
  });

  // Last resort: an error nobody handled is logged and answered without details.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    log.error({ err }, "unhandled request error");
    if (!res.headersSent) res.status(500).type("text/plain").send("Something went wrong on our side.");
  });

  const upgradeRoutes: Record<string, (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void> = {
    [PEER_SOCKET_PATH]: (req, socket, head) => void peer.handleUpgrade(req, socket, head),
  };
  httpServer.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/$/, "");
    const route = upgradeRoutes[pathname];
    if (!route) return refuseUpgrade(socket, 404, "Not Found");
    route(req, socket, head);
  });

  const sockets = new Set<Socket>();
  httpServer.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.PORT, config.HOST, () => resolve());
  });

  return {
    httpServer,
    url: origin(),
    async close() {
      peer.close();
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      // Long-lived SSE and WebSocket connections would hold shutdown open forever.
      setTimeout(() => sockets.forEach((s) => s.destroy()), 1500).unref();
      await closed;
    },
  };
}

function addressPort(server: http.Server): number {
  const addr = server.address();
  return typeof addr === "object" && addr ? addr.port : 0;
}
