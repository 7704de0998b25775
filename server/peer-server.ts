import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { ExpressPeerServer } from "peer";
import { WebSocketServer, type WebSocket } from "ws";
import type { SignalingRelay } from "./cluster/signaling.js";
import type { Logger } from "./logger.js";

export const PEER_MOUNT = "/peerjs";
/** PeerJS clients append "/peerjs" to the configured path for the signaling socket. */
export const PEER_SOCKET_PATH = `${PEER_MOUNT}/peerjs`;

export interface PeerHooks {
  /** May this logged-in user register this peer id? Only the owner of an open participation may. */
  authorize(userId: string, peerId: string): Promise<boolean>;
  /** The live login session the upgrade's cookie names, if any. */
  sessionFromCookie(cookie: string | undefined): Promise<{ id: string; userId: string } | null>;
  /** Calls back once when that login session ends; returns an unsubscribe. */
  onSessionEnd(sessionId: string, onEnd: () => void): () => void;
  /** The socket's login session ended: take its peer out of the call like a leave. */
  leaveAsPeer(peerId: string): Promise<void>;
  onConnect(peerId: string): void;
  onDisconnect(peerId: string): void;
}

/**
 * The self-hosted PeerServer. PeerServer has no auth hook, so its WebSocket server is created
 * with `noServer` and every upgrade passes our own check before PeerServer ever sees the socket.
 */
export function createPeerServer(opts: {
  httpServer: Server;
  origin: () => string;
  aliveTimeoutMs: number;
  hooks: PeerHooks;
  log: Logger;
  /** In a cluster: forwards signaling for peers whose sockets are on other instances. */
  relay?: SignalingRelay;
}) {
  let wss: WebSocketServer | null = null;
  /** Each registered peer's socket, so a removed peer's can be closed from the server. */
  const sockets = new Map<string, WebSocket>();
  const app = ExpressPeerServer(opts.httpServer, {
    path: "/",
    key: "peerjs",
    allow_discovery: false,
    alive_timeout: opts.aliveTimeoutMs,
    concurrent_limit: 5000,
    // Only our own pages may call PeerServer's HTTP API from a browser.
    corsOptions: {
      origin: (o: string | undefined, cb: (e: Error | null, ok?: boolean) => void) =>
        cb(null, !o || o === opts.origin()),
    },
    createWebSocketServer: () => {
      wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
      return wss;
    },
  } as Parameters<typeof ExpressPeerServer>[1]);

  app.on("connection", (client: { getId(): string }) => opts.hooks.onConnect(client.getId()));
  app.on("disconnect", (client: { getId(): string }) => opts.hooks.onDisconnect(client.getId()));
  app.on("error", (err: unknown) => opts.log.warn({ err }, "peer server error"));

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    // Cookies ride along on WebSocket upgrades from any page; only our own pages may open one.
    if (!sameOrigin(req)) return refuseUpgrade(socket, 403, "Forbidden");
    const url = new URL(req.url ?? "/", "http://localhost");
    const peerId = url.searchParams.get("id") ?? "";
    let session: { id: string; userId: string } | null = null;
    try {
      session = await opts.hooks.sessionFromCookie(req.headers.cookie);
      const ok = !!session && peerId.length > 0 && peerId.length <= 64;
      if (!ok || !(await opts.hooks.authorize(session!.userId, peerId))) session = null;
    } catch (err) {
      session = null;
      opts.log.warn({ err }, "peer upgrade check failed");
    }
    if (!session || !wss) return refuseUpgrade(socket, 401, "Unauthorized");
    const { id: sessionId } = session;
    const server = wss;
    server.handleUpgrade(req, socket, head, (ws) => {
      // A logged-out browser keeps no signaling socket and no seat in the call.
      const stop = opts.hooks.onSessionEnd(sessionId, () => {
        ws.terminate();
        opts.hooks
          .leaveAsPeer(peerId)
          .catch((err) => opts.log.warn({ err, peerId }, "leaving the call of an ended session failed"));
      });
      ws.once("close", stop);
      sockets.set(peerId, ws);
      ws.once("close", () => {
        if (sockets.get(peerId) === ws) sockets.delete(peerId);
      });
      opts.relay?.attach(peerId, ws);
      server.emit("connection", ws, req);
    });
  }

  /** A host removed this peer: its socket closes now, and it can't register again (its participation is closed). */
  function closePeer(peerId: string) {
    sockets.get(peerId)?.terminate();
  }

  function close() {
    for (const client of wss?.clients ?? []) client.terminate();
    wss?.close();
  }

  return { app, handleUpgrade, close, closePeer };
}

export function refuseUpgrade(socket: Duplex, status: number, text: string) {
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true; // not a browser (browsers always send Origin on WebSocket upgrades)
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
