/**
 * Signaling between PeerServer sockets held by different instances. Each instance keeps the stock
 * `peer` PeerServer; this relay sits in front of it on each socket's incoming messages. A message
 * whose destination has no socket here is looked up in the registry and, when another instance
 * holds that peer, published on that instance's channel, which writes it to the peer's socket just
 * as PeerServer would. Everything else goes to PeerServer untouched, so a destination that is
 * nowhere is queued and answered with EXPIRE by PeerServer itself, exactly as with one instance.
 * Messages to one destination keep their order: they pass through one chain per destination.
 *
 * Where a remote peer is, once looked up, is remembered for a while, so a negotiation's burst of
 * offer, answer and candidates costs one Redis hop each instead of a lookup and a hop. A remembered
 * place is only a first guess: it is forgotten when the peer's socket connects anywhere
 * (`peer-connected`), when nobody listens on that instance's channel any more (it died), and after
 * LOCATION_TTL_MS; and an instance that receives a message for a peer it no longer holds routes it on.
 */
import type { WebSocket } from "ws";
import { setBounded } from "../bounded-map.js";
import type { Logger } from "../logger.js";
import type { RedisLink } from "./redis.js";
import type { PeerRegistry } from "./registry.js";

/** The PeerJS message types that travel from one peer to another (others are for the server). */
const RELAYED = new Set(["OFFER", "ANSWER", "CANDIDATE", "LEAVE", "EXPIRE"]);
/** How long a looked-up remote peer's instance is trusted without hearing otherwise. */
const LOCATION_TTL_MS = 30_000;
/** Remote peers remembered at most (the oldest is forgotten first). */
const LOCATIONS_MAX = 10_000;

interface Relayed {
  dst: string;
  message: Record<string, unknown> & { type: string; src: string; dst: string };
  hops: number;
}

export class SignalingRelay {
  private readonly sockets = new Map<string, WebSocket>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Remote peers' instances, as last looked up (see the header). */
  private readonly located = new Map<string, { instance: string; until: number }>();
  /** Forwarded and delivered counts, for tests and diagnostics. */
  readonly stats = { forwarded: 0, delivered: 0 };

  constructor(
    private readonly redis: RedisLink,
    private readonly registry: PeerRegistry,
    private readonly log: Pick<Logger, "warn">,
  ) {
    redis.onChannel(this.channelOf(redis.instanceId), (raw) => this.receive(raw));
    redis.onControl("peer-connected", (peerId) => {
      if (typeof peerId === "string") this.located.delete(peerId);
    });
  }

  /**
   * Puts the relay in front of PeerServer for this socket: PeerServer's own "message" listener only
   * sees what stays on this instance. Call before PeerServer gets the socket.
   */
  attach(peerId: string, ws: WebSocket): void {
    this.sockets.set(peerId, ws);
    ws.once("close", () => {
      if (this.sockets.get(peerId) === ws) this.sockets.delete(peerId);
    });
    const emit = ws.emit.bind(ws) as (event: string | symbol, ...args: unknown[]) => boolean;
    ws.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event !== "message") return emit(event, ...args);
      const message = relayable(args[0]);
      if (!message) return emit(event, ...args);
      if (this.sockets.has(message.dst) && !this.chains.has(message.dst)) return emit(event, ...args);
      message.src = peerId;
      this.enqueue(message.dst, () => this.route({ dst: message.dst, message, hops: 0 }, () => emit(event, ...args)));
      return true;
    }) as typeof ws.emit;
  }

  private enqueue(dst: string, step: () => Promise<void>): void {
    const next = (this.chains.get(dst) ?? Promise.resolve())
      .then(step)
      .catch((err: unknown) => this.log.warn({ err, dst }, "relaying a signaling message failed"));
    this.chains.set(dst, next);
    void next.then(() => {
      if (this.chains.get(dst) === next) this.chains.delete(dst);
    });
  }

  /** Forwards to the instance holding the destination, or hands the message to the local PeerServer. */
  private async route(item: Relayed, local: () => void): Promise<void> {
    if (this.sockets.has(item.dst)) return void local();
    const remembered = this.located.get(item.dst);
    const fresh = remembered && remembered.until > Date.now() ? remembered.instance : null;
    // Redis away: PeerServer keeps the message for a local peer, or expires it, as with one instance.
    const where = fresh ?? (await this.registry.whereIs(item.dst).catch(() => null));
    if (!where || where === this.redis.instanceId) {
      this.located.delete(item.dst);
      return void local();
    }
    if (!fresh)
      setBounded(this.located, item.dst, { instance: where, until: Date.now() + LOCATION_TTL_MS }, LOCATIONS_MAX);
    this.stats.forwarded++;
    const heard = await this.redis.publish(this.channelOf(where), JSON.stringify(item));
    // Nobody listens there (the instance died): forget the guess and look again, once.
    if (heard === 0 && fresh) {
      this.located.delete(item.dst);
      this.stats.forwarded--;
      return this.route(item, local);
    }
  }

  private receive(raw: string): void {
    let item: Relayed;
    try {
      item = JSON.parse(raw) as Relayed;
    } catch {
      return;
    }
    const ws = this.sockets.get(item.dst);
    if (ws && ws.readyState === ws.OPEN) {
      this.stats.delivered++;
      ws.send(JSON.stringify(item.message));
      return;
    }
    // The peer moved on between lookup and delivery: follow it once more, otherwise tell the sender.
    if (item.hops >= 2 || item.message.type === "EXPIRE" || item.message.type === "LEAVE") return;
    this.enqueue(item.dst, () =>
      this.route({ ...item, hops: item.hops + 1 }, () => {
        const expire = { type: "EXPIRE", src: item.dst, dst: item.message.src };
        const back: Relayed = { dst: expire.dst, message: expire, hops: 2 };
        const here = this.sockets.get(expire.dst);
        if (here) here.send(JSON.stringify(expire));
        else this.enqueue(expire.dst, () => this.route(back, () => {}));
      }),
    );
  }

  private channelOf(instanceId: string): string {
    return `sig:${instanceId}`;
  }
}

function relayable(data: unknown): Relayed["message"] | null {
  try {
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : typeof data === "string" ? data : null;
    if (!text) return null;
    const parsed = JSON.parse(text) as unknown;
    if (!parsed || typeof parsed !== "object") return null;
    const m = parsed as Record<string, unknown>;
    if (typeof m.type !== "string" || !RELAYED.has(m.type) || typeof m.dst !== "string" || !m.dst) return null;
    return m as Relayed["message"];
  } catch {
    return null;
  }
}
