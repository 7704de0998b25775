/**
 * Who is still really in a call: PeerServer sockets coming and going, the drop grace for a socket
 * that vanished, and the sweeper that closes participations with no sign of life. It decides WHEN
 * a participation is DROPPED; closing it (and telling the room) is the service's `close`.
 */
import pLimit from "p-limit";
import { z } from "zod";
import type { LeaveReason } from "../../../db/models/index.js";
import type { PeerRegistry } from "../../cluster/registry.js";
import type { RedisLink } from "../../cluster/redis.js";
import type { Config } from "../../config.js";
import { setBounded } from "../../bounded-map.js";
import type { Logger } from "../../logger.js";
import { PeerIdSchema } from "./inputs.js";
import type { CallQueries, ClosedParticipation, ParticipationRef } from "./queries.js";

/** How the PeerServer asks the call domain who may register a peer id, and reports sockets coming and going. */
export interface PeerAccess {
  /** May this user register this (participation's) peer id? */
  authorize(userId: string, peerId: string): Promise<boolean>;
  /**
   * The upgrade's check for the id a socket asks for: a participation's peer id, or a pre-join
   * grant (./prejoin-grants.ts). Answers the peer id to register the socket under, and whether its
   * participation is open yet (`joined: false`: a pre-join socket, whose signaling waits for the
   * join); null refuses the socket.
   */
  admit(userId: string, requestedId: string): Promise<{ peerId: string; joined: boolean } | null>;
  /** Whether a pre-join socket's participation has been opened by now (by a join on any instance). */
  joined(userId: string, peerId: string): Promise<boolean>;
  onConnect(peerId: string): void;
  onDisconnect(peerId: string): void;
}

export interface PresenceDeps {
  queries: CallQueries;
  config: Pick<Config, "DROP_GRACE_MS" | "STALE_AFTER_MS">;
  now: () => Date;
  log?: Pick<Logger, "error">;
  /** Closes a participation and tells the room (the service's closeParticipation). */
  close(
    find: ParticipationRef,
    reason: LeaveReason,
    at: Date | null,
    staleBefore?: Date,
  ): Promise<ClosedParticipation | null>;
  /** Tells the room its call ended (the sweeper ends calls nobody is in). */
  ended(studyId: string, sessionId: string, endedAt: Date): void;
  /** Several instances: sockets may come back on another one, and a dead instance's peers are dropped by a survivor. */
  cluster?: { redis: RedisLink; registry: PeerRegistry };
}

const JOINED_HERE_MAX = 1_000;
/**
 * Drops being closed at once, at most. After a restart every participation the previous run left
 * open falls due in the same instant (thousands after a busy instance's crash); closed all at once
 * they take every pool connection and stall live requests for seconds (bench:capacity saw 2 s).
 */
const DROP_CONCURRENCY = 2;

const latest = (a: Date, b: Date) => (a.getTime() >= b.getTime() ? a : b);

export class Presence {
  readonly peerAccess: PeerAccess;
  private readonly dropTimers = new Map<string, NodeJS.Timeout>();
  /** Peer ids with a live PeerServer socket: that socket is proof of presence for the sweeper. */
  private readonly connectedPeers = new Set<string>();
  /** Peer ids a pre-join grant's join opened in this process: their sockets' first message needs no query. */
  private readonly joinedHere = new Map<string, true>();
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<{ dropped: number; ended: number }> | null = null;
  private stopped = false;
  private readonly evictHandlers: Array<(peerId: string) => void> = [];
  private readonly dropping = pLimit(DROP_CONCURRENCY);

  constructor(private readonly deps: PresenceDeps) {
    this.peerAccess = {
      authorize: (userId, peerId) => this.authorize(userId, peerId),
      // The service completes these two with its grants (service.ts); alone, only peer ids exist.
      admit: async (userId, peerId) => ((await this.authorize(userId, peerId)) ? { peerId, joined: true } : null),
      joined: (userId, peerId) => this.joined(userId, peerId),
      onConnect: (peerId) => {
        this.connectedPeers.add(peerId);
        this.forget(peerId);
        deps.cluster?.registry.add(peerId);
        // Whichever instance is counting down this peer's drop grace stops.
        deps.cluster?.redis.broadcast("peer-connected", peerId);
      },
      onDisconnect: (peerId) => {
        this.connectedPeers.delete(peerId);
        deps.cluster?.registry.remove(peerId);
        // Presence ends when the socket vanished, not when the grace runs out.
        this.armDrop(peerId, this.deps.now());
      },
    };
    // A removal on another instance: whichever instance holds the socket closes it.
    deps.cluster?.redis.onControl("evict-peer", (peerId) => {
      if (typeof peerId === "string") for (const h of this.evictHandlers) h(peerId);
    });
    deps.cluster?.redis.onControl("peer-connected", (peerId) => {
      if (typeof peerId === "string") this.forget(peerId);
    });
    // The dead instance's sockets vanished with it: each gets the grace to re-dial any instance.
    deps.cluster?.registry.onInstanceDead((instanceId, peerIds) => {
      const now = this.deps.now();
      for (const peerId of peerIds) if (!this.connectedPeers.has(peerId)) this.armDrop(peerId, now, instanceId);
    });
  }

  /**
   * Arms the drop grace for every participation a previous run left open (their owners get the
   * grace to re-register the same peer id), then starts the stale sweeper.
   */
  async start(): Promise<void> {
    this.stopped = false;
    for (const p of await this.deps.queries.openParticipations()) {
      if (!this.connectedPeers.has(p.peerId)) this.armDrop(p.peerId, latest(p.lastSeenAt, p.joinedAt));
    }
    this.sweeper = setInterval(
      () => void this.sweep().catch((err) => this.deps.log?.error({ err }, "call sweeper failed")),
      this.sweepEvery(),
    );
    this.sweeper.unref();
  }

  /** A quarter of the stale cutoff, so a participation is swept (or touched) several times before it counts as silent. */
  private sweepEvery(): number {
    return Math.max(1_000, Math.min(15_000, Math.floor(this.deps.config.STALE_AFTER_MS / 4)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const timer of this.dropTimers.values()) clearTimeout(timer);
    this.dropTimers.clear();
    this.dropping.clearQueue();
    await this.sweeping?.catch(() => {});
  }

  /**
   * Closes (DROPPED) participations with no sign of life for STALE_AFTER_MS, at their last sign of
   * life, and ends running calls nobody is in anymore. A live PeerServer socket counts as life.
   */
  sweep(): Promise<{ dropped: number; ended: number }> {
    if (this.sweeping) return this.sweeping;
    const run = (async () => {
      const { queries } = this.deps;
      const now = this.deps.now();
      await queries.touchPeers([...this.connectedPeers], now, new Date(now.getTime() - this.sweepEvery()));
      const cutoff = new Date(now.getTime() - this.deps.config.STALE_AFTER_MS);
      let dropped = 0;
      for (const p of await queries.staleParticipations(cutoff)) {
        if (this.connectedPeers.has(p.peerId)) continue;
        // Closed at its last sign of life, and only if a heartbeat hasn't just disproved the silence.
        if (await this.deps.close({ id: p.id }, "DROPPED", null, cutoff)) dropped++;
      }
      let ended = 0;
      for (const sessionId of await queries.emptyRunningSessions(cutoff)) {
        const result = await queries.endIfEmpty(sessionId, now);
        if (result?.endedAt) {
          ended++;
          this.deps.ended(result.studyId, sessionId, result.endedAt);
        }
      }
      return { dropped, ended };
    })();
    this.sweeping = run;
    void run
      .finally(() => {
        if (this.sweeping === run) this.sweeping = null;
      })
      .catch(() => {});
    return run;
  }

  /** The PeerServer registers here to close a removed peer's socket. */
  onEvict(handler: (peerId: string) => void): void {
    this.evictHandlers.push(handler);
  }

  /** Closes the removed peer's signaling socket here and on every other instance. */
  evict(peerId: string): void {
    this.forget(peerId);
    for (const h of this.evictHandlers) h(peerId);
    this.deps.cluster?.redis.broadcast("evict-peer", peerId);
  }

  /** The participation of `peerId` closed or was replaced: its drop grace no longer applies. */
  forget(peerId: string): void {
    const timer = this.dropTimers.get(peerId);
    if (timer) clearTimeout(timer);
    this.dropTimers.delete(peerId);
  }

  /** Number of participations waiting out their drop grace; for tests and diagnostics. */
  pendingDrops(): number {
    return this.dropTimers.size;
  }

  /** A join in this process opened the participation of a pre-join socket's peer id. */
  markJoined(peerId: string): void {
    setBounded(this.joinedHere, peerId, true, JOINED_HERE_MAX);
  }

  async joined(userId: string, peerId: string): Promise<boolean> {
    if (this.joinedHere.delete(peerId)) return true;
    return this.authorize(userId, peerId);
  }

  async authorize(userId: string, rawPeerId: string): Promise<boolean> {
    const peer = PeerIdSchema.safeParse(rawPeerId);
    if (!peer.success || !z.uuid().safeParse(userId).success) return false;
    return this.deps.queries.claimPeer(userId, peer.data, this.deps.now());
  }

  /** Whether another instance holds a live socket for this peer (never, with one instance). */
  private async connectedElsewhere(peerId: string, presumedDead?: string): Promise<boolean> {
    const registry = this.deps.cluster?.registry;
    if (!registry) return false;
    // An instance that was only slow to heartbeat still holds its sockets.
    if (presumedDead && (await registry.isAlive(presumedDead))) return true;
    const where = await registry.whereIs(peerId);
    return where !== null && where !== registry.instanceId;
  }

  /** `presumedDead`: the instance that held the socket and stopped heartbeating, if that is why. */
  private armDrop(peerId: string, presentUntil: Date, presumedDead?: string): void {
    if (this.stopped) return;
    this.forget(peerId);
    const timer = setTimeout(() => {
      this.dropTimers.delete(peerId);
      void this.dropping(() =>
        this.connectedElsewhere(peerId, presumedDead).then((elsewhere) =>
          // Queued behind other drops: the socket may have come back here meanwhile.
          elsewhere || this.stopped || this.connectedPeers.has(peerId)
            ? null
            : this.deps.close({ peerId }, "DROPPED", presentUntil),
        ),
      ).catch((err) => this.deps.log?.error({ err, peerId }, "dropping a vanished participant failed"));
    }, this.deps.config.DROP_GRACE_MS);
    timer.unref();
    this.dropTimers.set(peerId, timer);
  }
}
