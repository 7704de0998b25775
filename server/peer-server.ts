import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { ExpressPeerServer } from "peer";
import { WebSocketServer, type WebSocket } from "ws";
import type { SignalingRelay } from "./cluster/signaling.js";
import type { Logger } from "./logger.js";

export const PEER_MOUNT = "/peerjs";
/** PeerJS clients append "/peerjs" to the configured path for the signaling socket. */
export const PEER_SOCKET_PATH = `${PEER_MOUNT}/peerjs`;
/** How long a pre-join socket may stay open without its join (a grant lives 90 s; the browser renews at 60 s). */
const PREJOIN_SOCKET_MS = 120_000;
/** The PeerJS message types that go from one peer to another; a pre-join socket may send none before its join. */
const PEER_TO_PEER = new Set(["OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE"]);

export interface PeerHooks {
  /**
   * May this logged-in user open a socket with this id, and under which peer id? The owner of an
   * open participation may use its peer id; an ACTIVE member may use their unused pre-join grant,
   * whose socket is registered under the peer id its join will get (`joined: false` until then).
   */
  admit(userId: string, requestedId: string): Promise<{ peerId: string; joined: boolean } | null>;
  /** Whether a pre-join socket's participation is open now. */
  joined(userId: string, peerId: string): Promise<boolean>;
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
    const requestedId = url.searchParams.get("id") ?? "";
    let session: { id: string; userId: string } | null = null;
    let admitted: { peerId: string; joined: boolean } | null = null;
    try {
      session = await opts.hooks.sessionFromCookie(req.headers.cookie);
      const ok = !!session && requestedId.length > 0 && requestedId.length <= 64;
      if (ok) admitted = await opts.hooks.admit(session!.userId, requestedId);
    } catch (err) {
      admitted = null;
      opts.log.warn({ err }, "peer upgrade check failed");
    }
    if (!session || !admitted || !wss) return refuseUpgrade(socket, 401, "Unauthorized");
    const { id: sessionId, userId } = session;
    const { peerId, joined } = admitted;
    // PeerServer registers the socket under the id in the URL: a grant's socket gets its peer id.
    url.searchParams.set("id", peerId);
    req.url = `${url.pathname}${url.search}`;
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
      if (!joined) holdUntilJoined(ws, () => opts.hooks.joined(userId, peerId));
      server.emit("connection", ws, req);
    });
  }

  /**
   * A pre-join socket may not signal anyone until its join has opened the participation (on any
   * instance): its first peer-to-peer message waits for that check, later ones queue behind it in
   * order. A socket that signals without having joined, or outlives its grant unjoined, is closed.
   */
  function holdUntilJoined(ws: WebSocket, isJoined: () => Promise<boolean>) {
    let state: "waiting" | "checking" | "open" = "waiting";
    const held: unknown[][] = [];
    const emit = ws.emit.bind(ws) as (event: string | symbol, ...args: unknown[]) => boolean;
    const check = () => {
      state = "checking";
      isJoined().then(
        (ok) => {
          if (!ok) return ws.close(1008, "Join the call first");
          state = "open";
          for (const args of held.splice(0)) emit("message", ...args);
        },
        (err: unknown) => {
          opts.log.warn({ err }, "pre-join socket check failed");
          ws.close(1011, "Try again");
        },
      );
    };
    ws.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== "message" || state === "open") return emit(event, ...args);
      if (state === "checking") {
        held.push(args);
        return true;
      }
      if (!isPeerToPeer(args[0])) return emit(event, ...args);
      held.push(args);
      check();
      return true;
    }) as typeof ws.emit;
    const expiry = setTimeout(() => {
      if (state === "waiting")
        isJoined().then(
          (ok) => (ok ? void (state = "open") : ws.close(1008, "Pre-join grant expired")),
          () => ws.close(1011, "Try again"),
        );
    }, PREJOIN_SOCKET_MS);
    expiry.unref();
    ws.once("close", () => clearTimeout(expiry));
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

function isPeerToPeer(data: unknown): boolean {
  try {
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : typeof data === "string" ? data : "";
    const type = (JSON.parse(text) as { type?: unknown } | null)?.type;
    return typeof type === "string" && PEER_TO_PEER.has(type);
  } catch {
    return false;
  }
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
