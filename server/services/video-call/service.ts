/**
 * The rules of a study's call, behind one object: tRPC procedures, REST routes and PeerServer hooks
 * call these methods with input their door has already parsed (./inputs.ts). Each method checks
 * who may act, then runs its statement in ./queries.ts (where the Postgres functions that hold the
 * join and close rules are named and explained), then tells the room. Presence (sockets, drop
 * grace, sweeper), the snapshot cache and history each live in their own module.
 */
import { randomBytes } from "node:crypto";
import type { Sequelize } from "sequelize";
import type { LeaveReason } from "../../../db/models/index.js";
import type {
  IceServer,
  JoinResult,
  LinkState,
  PrejoinGrantResult,
  RoomParticipant,
  RoomSession,
} from "../../../machines/room-protocol.js";
import { CALL_LOCKED_TEXT, callFullText, REMOVED_TEXT } from "../../../machines/room-presence.js";
import { setBounded } from "../../bounded-map.js";
import type { PeerRegistry } from "../../cluster/registry.js";
import type { RedisLink } from "../../cluster/redis.js";
import type { Config } from "../../config.js";
import { streamRoomEvents, type PublishOptions, type RoomEventBus, type StreamedRoomEvent } from "../../events.js";
import type { Logger } from "../../logger.js";
import { DomainError } from "../errors.js";
import type { MembershipCache } from "../memberships.js";
import type { StudyService } from "../studies.js";
import { iceServersFor } from "../turn.js";
import { callHistory, type HistoryResult } from "./history.js";
import { callRecord, type CallRecord } from "./record.js";
import { HostControls } from "./host-controls.js";
import type {
  CallRecordRequest,
  HistoryRequest,
  JoinSessionRequest,
  PrepareJoinRequest,
  LinkReportRequest,
  SessionCallRequest,
  SetHandRequest,
  SetMediaRequest,
  SetViewsRequest,
  StudyCallRequest,
  WatchRequest,
} from "./inputs.js";
import { LocalGrantStore, PrejoinGrants, RedisGrantStore, isGrantToken } from "./prejoin-grants.js";
import { ModerationQueries } from "./moderation-queries.js";
import { Presence, type PeerAccess } from "./presence.js";
import { CallQueries, type ClosedParticipation, type ParticipationRef } from "./queries.js";
import { RoomSnapshots } from "./snapshots.js";

export interface StatusResult {
  session: RoomSession | null;
}
export interface StartResult {
  session: RoomSession;
  created: boolean;
}

export type VideoCallConfig = Pick<
  Config,
  | "STUN_URLS"
  | "TURN_URLS"
  | "TURN_TTL_SECONDS"
  | "DROP_GRACE_MS"
  | "STALE_AFTER_MS"
  | "ICE_TRANSPORT_POLICY"
  | "MAX_PARTICIPANTS"
> & { TURN_SECRET?: string | undefined };

export interface VideoCallDeps {
  sequelize: Sequelize;
  studies: StudyService;
  memberships: MembershipCache;
  events: RoomEventBus;
  config: VideoCallConfig;
  /** Every stored timestamp comes from here, so tests control durations exactly. */
  now?: () => Date;
  log?: Pick<Logger, "warn" | "error">;
  /** Set when this is one of several instances sharing Redis. */
  cluster?: { redis: RedisLink; registry: PeerRegistry };
  /** Derives pre-join grants' peer ids; must be the same on every instance (SESSION_SECRET). Random when unset. */
  grantSecret?: string;
}

interface SessionAccess {
  id: string;
  studyId: string;
  name: string;
  avatarUrl: string | null;
}

const SESSION_STUDIES_MAX = 10_000;

/** Unguessable, and within PeerJS's id alphabet. */
function newPeerId(): string {
  return `p${randomBytes(16).toString("hex")}`;
}
function newRoomId(): string {
  return `room-${randomBytes(12).toString("hex")}`;
}

/** Why a member's own media change was refused: the permission the call keeps to hosts. */
const REFUSED_TEXT = {
  unmute: "Only hosts can unmute in this call.",
  camera: "Only hosts can turn on their camera in this call.",
  screenShare: "Only hosts can share their screen in this call.",
} as const;

export class VideoCallService {
  readonly peerAccess: PeerAccess;
  /** Mute, remove, permissions, lock, hands: the study's OWNER and ADMIN members only. */
  readonly hosts: HostControls;
  private readonly moderation: ModerationQueries;
  private readonly now: () => Date;
  private readonly queries: CallQueries;
  private readonly snapshots: RoomSnapshots;
  private readonly presence: Presence;
  private readonly grants: PrejoinGrants;
  /** A session's study never changes, so it is looked up once. */
  private readonly sessionStudies = new Map<string, string>();

  constructor(private readonly deps: VideoCallDeps) {
    this.now = deps.now ?? (() => new Date());
    this.queries = new CallQueries(deps.sequelize);
    this.snapshots = new RoomSnapshots(this.queries, deps.cluster?.redis);
    this.presence = new Presence({
      queries: this.queries,
      config: deps.config,
      now: this.now,
      log: deps.log,
      cluster: deps.cluster,
      close: (find, reason, at, staleBefore) => this.closeParticipation(find, reason, at, staleBefore),
      ended: (studyId, sessionId, endedAt) => {
        this.snapshots.invalidate(studyId);
        this.publish(studyId, { type: "session-ended", sessionId, endedAt: endedAt.toISOString() });
      },
    });
    this.grants = new PrejoinGrants(
      deps.cluster ? new RedisGrantStore(deps.cluster.redis) : new LocalGrantStore(),
      deps.grantSecret ?? randomBytes(32).toString("hex"),
      () => this.now().getTime(),
    );
    this.peerAccess = { ...this.presence.peerAccess, admit: (userId, id) => this.admitSocket(userId, id) };
    this.moderation = new ModerationQueries(deps.sequelize);
    this.hosts = new HostControls({
      queries: this.queries,
      moderation: this.moderation,
      now: this.now,
      session: (userId, sessionId, studyId) => this.requireSession(userId, sessionId, studyId),
      publish: (studyId, event) => this.publish(studyId, event),
      changed: (studyId) => this.snapshots.invalidate(studyId),
      closed: (closed) => this.announceClosed(closed, "KICKED"),
      evict: (peerId) => this.presence.evict(peerId),
    });
  }

  /** Runs `handler` with each peer id whose signaling socket must close now (it was removed). */
  onEvict(handler: (peerId: string) => void): void {
    this.presence.onEvict(handler);
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /** Most people one call holds (MAX_PARTICIPANTS); pages say "full" before anyone clicks Join. */
  get maxParticipants(): number {
    return this.deps.config.MAX_PARTICIPANTS;
  }

  async status(userId: string, { studyId }: StudyCallRequest): Promise<StatusResult> {
    await this.requireMember(userId, studyId);
    return { session: await this.snapshots.get(studyId) };
  }

  async history(userId: string, { studyId, limit, cursor }: HistoryRequest): Promise<HistoryResult> {
    await this.requireMember(userId, studyId);
    return callHistory(studyId, limit, cursor, (ids) => this.moderation.log(ids));
  }

  /** One ended call of the study in full (totals, room events, chat); another study's call is NOT_FOUND. */
  async record(
    userId: string,
    { studyId, sessionId }: CallRecordRequest,
  ): Promise<CallRecord & { truncated: boolean }> {
    await this.requireMember(userId, studyId);
    return callRecord(this.deps.sequelize, studyId, sessionId);
  }

  /**
   * Authorizes a subscriber (before anything is streamed) and returns its event stream: a
   * snapshot or the missed events first, then live events until `signal` aborts.
   */
  async watch(
    userId: string,
    { studyId, lastEventId }: WatchRequest,
    signal?: AbortSignal,
  ): Promise<AsyncGenerator<StreamedRoomEvent, void, undefined>> {
    await this.requireMember(userId, studyId);
    return streamRoomEvents({
      bus: this.deps.events,
      studyId,
      lastEventId,
      signal,
      snapshot: () => this.snapshots.get(studyId),
      // A tile-view is addressed to one participant (its sender): nobody else's business.
      deliver: (event) => event.type !== "tile-view" || event.userId === userId,
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /** Returns the study's running call, creating it when there is none; concurrent starts share one. */
  async start(userId: string, { studyId }: StudyCallRequest): Promise<StartResult> {
    await this.requireMember(userId, studyId);
    for (let attempt = 0; attempt < 5; attempt++) {
      const created = await this.queries.insertSession(studyId, newRoomId(), userId, this.now());
      if (created) this.snapshots.invalidate(studyId);
      // A loser trusts a cached running call (every end in this process invalidates it), but reads
      // past a cached "no call", which may be from just before the winner's insert.
      const session = created
        ? await this.snapshots.get(studyId)
        : ((await this.snapshots.get(studyId)) ?? (await this.snapshots.load(studyId)));
      // The running call may have ended between our conflict and the read: try again.
      if (!session) continue;
      if (created) this.publish(studyId, { type: "session-started", session });
      return { session, created };
    }
    throw new DomainError("CONFLICT", "The call is starting and stopping too quickly. Try again.");
  }

  /**
   * A pre-join grant: lets the pre-join screen open its signaling socket and fetch ICE servers
   * before the click. Writes no call record; an unused grant just expires.
   */
  async prepareJoin(userId: string, { studyId }: PrepareJoinRequest): Promise<PrejoinGrantResult> {
    await this.requireMember(userId, studyId);
    const { grant, expiresAt } = await this.grants.issue(userId, studyId);
    return {
      grant,
      expiresAt: new Date(expiresAt).toISOString(),
      iceServers: this.iceServers(userId),
      iceTransportPolicy: this.deps.config.ICE_TRANSPORT_POLICY,
    };
  }

  /**
   * Opens a participation with a fresh peer id (video_call_join), or with the peer id of the
   * caller's pre-join grant for this study, which it consumes (`warm: true`: the browser's
   * pre-join socket already carries this participation). A grant that is not the caller's, is
   * used, expired or for another study is ignored: the join goes ahead cold. An open participation of the
   * same person in this session (a reload) is closed as LEFT first, so one person is never in the
   * call twice.
   */
  async join(userId: string, { studyId, sessionId, grant }: JoinSessionRequest): Promise<JoinResult> {
    await this.requireMember(userId, studyId);
    const warmPeerId = grant ? await this.grants.consume(userId, grant, studyId) : null;
    const peerId = warmPeerId ?? newPeerId();
    const max = this.deps.config.MAX_PARTICIPANTS;
    const row = await this.queries.join(sessionId, studyId, userId, peerId, this.now(), max);
    if (!row || row.outcome === "no-call")
      throw new DomainError("BAD_REQUEST", "This call doesn't exist in this study.");
    if (row.outcome === "ended") throw new DomainError("BAD_REQUEST", "This call has already ended. Start a new one.");
    if (row.outcome === "full") throw new DomainError("CONFLICT", callFullText(max), "full");
    if (row.outcome === "banned") throw new DomainError("FORBIDDEN", REMOVED_TEXT, "removed");
    if (row.outcome === "locked") throw new DomainError("FORBIDDEN", CALL_LOCKED_TEXT, "locked");
    setBounded(this.sessionStudies, sessionId, studyId, SESSION_STUDIES_MAX);
    if (row.previousPeerId) this.presence.forget(row.previousPeerId);
    this.snapshots.invalidate(studyId);
    // jsonb renders timestamps in the server's own format; clients get the API's ISO strings.
    const participants = (row.participants ?? []).map((p) => ({
      ...p,
      joinedAt: new Date(p.joinedAt).toISOString(),
      handRaisedAt: p.handRaisedAt ? new Date(p.handRaisedAt).toISOString() : null,
    }));
    // The joiner as the database opened them (the media flags a join starts with live there only).
    const participant: RoomParticipant | undefined = participants.find((p) => p.peerId === peerId);
    if (!participant) throw new Error("video_call_join did not list the participation it opened");
    if (row.previousPeerId) {
      // `replaced`: an old tab still open says "You joined from another tab", not "You left".
      this.publish(studyId, {
        type: "user-left",
        sessionId,
        userId,
        peerId: row.previousPeerId,
        reason: "LEFT",
        replaced: true,
      });
    }
    if (warmPeerId) this.presence.markJoined(warmPeerId);
    this.publish(studyId, { type: "user-joined", sessionId, participant });
    return {
      participant,
      peerId,
      warm: warmPeerId !== null,
      participants,
      iceServers: this.iceServers(userId),
      iceTransportPolicy: this.deps.config.ICE_TRANSPORT_POLICY,
    };
  }

  /** Closes the caller's own participation (video_call_close); the last one out ends the call. */
  async leave(userId: string, { sessionId, studyId }: SessionCallRequest): Promise<{ success: true }> {
    await this.requireSession(userId, sessionId, studyId);
    const closed = await this.closeParticipation({ sessionId, userId }, "LEFT", this.now());
    if (!closed) await this.notInCall(sessionId, "You are not in this call.");
    return { success: true };
  }

  /**
   * Closes the open participation behind a signaling socket as a leave: its browser's login session
   * ended (logout, password change), so it can no longer leave by itself. The PeerServer only
   * accepted that socket for this participation's owner.
   */
  async leavePeer(peerId: string): Promise<void> {
    await this.closeParticipation({ peerId }, "LEFT", this.now());
  }

  async heartbeat(
    userId: string,
    { sessionId, studyId }: SessionCallRequest,
  ): Promise<{ ok: true; lastSeenAt: string }> {
    await this.requireSession(userId, sessionId, studyId);
    const now = this.now();
    if (!(await this.queries.touch(sessionId, userId, now)))
      await this.notInCall(sessionId, "You are not in this call. Join it again.");
    return { ok: true, lastSeenAt: now.toISOString() };
  }

  /** Records the caller's media flags; time spent muted, camera-off, sharing or speaking accrues per change. */
  async setMedia(userId: string, input: SetMediaRequest): Promise<{ participant: RoomParticipant }> {
    const { sessionId, studyId, audio, video, screen, speaking } = input;
    const session = await this.requireSession(userId, sessionId, studyId);
    const row = await this.moderation.setMediaAs(
      sessionId,
      userId,
      { audio, video, screen },
      this.now(),
      true,
      speaking,
    );
    if (!row) return this.notInCall(sessionId, "You are not in this call. Join it again.");
    if (row.refused) throw new DomainError("FORBIDDEN", REFUSED_TEXT[row.refused]);
    if (row.changed) {
      this.snapshots.invalidate(session.studyId);
      this.publish(session.studyId, {
        type: "media-changed",
        sessionId,
        userId,
        peerId: row.peerId,
        audio,
        video,
        screen,
      });
    }
    return {
      participant: {
        userId: row.userId,
        name: session.name,
        avatarUrl: session.avatarUrl,
        peerId: row.peerId,
        joinedAt: row.joinedAt.toISOString(),
        audio,
        video,
        screen,
      },
    };
  }

  /** Raises or lowers the caller's hand; the server's clock orders the queue everyone sees. */
  async setHand(
    userId: string,
    { sessionId, studyId, raised }: SetHandRequest,
  ): Promise<{ handRaisedAt: string | null }> {
    const session = await this.requireSession(userId, sessionId, studyId);
    const row = await this.queries.setHand(sessionId, userId, raised, this.now());
    if (!row) return this.notInCall(sessionId, "You are not in this call. Join it again.");
    const handRaisedAt = row.handRaisedAt ? row.handRaisedAt.toISOString() : null;
    if (row.changed) {
      this.snapshots.invalidate(session.studyId);
      this.publish(session.studyId, { type: "hand-changed", sessionId, userId, peerId: row.peerId, handRaisedAt });
    }
    return { handRaisedAt };
  }

  /** Relays what the caller sees of its link to another participant, as that participant's tile state. */
  async reportLink(userId: string, input: LinkReportRequest): Promise<{ success: true }> {
    const session = await this.requireSession(userId, input.sessionId, input.studyId);
    const open = await this.queries.reportLink(
      input.sessionId,
      userId,
      input.remotePeerId,
      {
        state: input.state,
        peerId: input.remotePeerId,
        ...(input.attempt !== undefined ? { attempt: input.attempt } : {}),
        ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
      },
      this.now(),
    );
    const reporter = open.find((p) => p.userId === userId);
    if (!reporter) return this.notInCall(input.sessionId, "You are not in this call. Join it again.");
    const remote = open.find((p) => p.peerId === input.remotePeerId);
    if (!remote) throw new DomainError("NOT_FOUND", "That person is no longer in this call.");
    const state: LinkState = input.state;
    this.publish(session.studyId, {
      type: "connection-state",
      sessionId: input.sessionId,
      userId: remote.userId,
      peerId: remote.peerId,
      reporterPeerId: reporter.peerId,
      state,
      ...(input.attempt !== undefined ? { attempt: input.attempt } : {}),
      ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
    });
    return { success: true };
  }

  /**
   * Relays how the caller shows other participants' videos, each to its sender only (their link's
   * encoder is fitted to it; machines/link-encoding.ts). Only between open participations of the
   * same call; entries about someone who has just left are dropped, not refused (the caller's
   * stage may lag the room by a moment). Never replayed: a view is only worth its latest value,
   * and the callers re-send theirs periodically.
   */
  async setViews(userId: string, input: SetViewsRequest): Promise<{ success: true }> {
    const session = await this.requireSession(userId, input.sessionId, input.studyId);
    const targets = [...new Set(input.views.map((v) => v.peerId))];
    const open = await this.queries.viewParties(input.sessionId, userId, targets);
    const viewer = open.find((p) => p.userId === userId);
    if (!viewer) return this.notInCall(input.sessionId, "You are not in this call. Join it again.");
    const senders = new Map(open.filter((p) => p.userId !== userId).map((p) => [p.peerId, p.userId]));
    for (const view of input.views) {
      const senderUserId = senders.get(view.peerId);
      if (!senderUserId) continue;
      this.publish(
        session.studyId,
        {
          type: "tile-view",
          sessionId: input.sessionId,
          userId: senderUserId,
          peerId: view.peerId,
          fromPeerId: viewer.peerId,
          width: view.width,
          height: view.height,
          shown: view.shown,
        },
        { replay: false },
      );
    }
    return { success: true };
  }

  // -------------------------------------------------------------------------------------------
  // Crashed browsers, stale participations and restarts: see ./presence.ts

  /** Arms the drop grace for leftovers of a previous run and starts the stale sweeper. */
  startBackground(): Promise<void> {
    return this.presence.start();
  }

  stopBackground(): Promise<void> {
    return this.presence.stop();
  }

  /** Closes participations silent for STALE_AFTER_MS and ends calls nobody is in. */
  sweep(): Promise<{ dropped: number; ended: number }> {
    return this.presence.sweep();
  }

  /** Number of participations waiting out their drop grace; for tests and diagnostics. */
  pendingDrops(): number {
    return this.presence.pendingDrops();
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** Closes one open participation (see CallQueries.close) and tells the room. */
  private async closeParticipation(
    find: ParticipationRef,
    reason: LeaveReason,
    at: Date | null,
    staleBefore: Date | null = null,
  ): Promise<ClosedParticipation | null> {
    const closed = await this.queries.close(find, reason, at, staleBefore, this.now());
    if (!closed) return null;
    this.announceClosed(closed, reason);
    return closed;
  }

  /** Tells the room a participation closed, and the call ended when it was the last. */
  private announceClosed(closed: ClosedParticipation, reason: LeaveReason): void {
    this.presence.forget(closed.peerId);
    this.snapshots.invalidate(closed.studyId);
    this.publish(closed.studyId, {
      type: "user-left",
      sessionId: closed.sessionId,
      userId: closed.userId,
      peerId: closed.peerId,
      reason,
    });
    if (closed.sessionEndedAt) {
      this.publish(closed.studyId, {
        type: "session-ended",
        sessionId: closed.sessionId,
        endedAt: closed.sessionEndedAt.toISOString(),
      });
    }
  }

  /**
   * The caller's name and avatar, after checking they are an ACTIVE member of the study. Answered
   * from the membership cache (this sits on every request's path); anything but ACTIVE is handed
   * to StudyService for its precise refusal. Unknown studies are a bad request here: the call API
   * reports 404 only for missing participations.
   */
  private async requireMember(userId: string, studyId: string): Promise<{ name: string; avatarUrl: string | null }> {
    const member = await this.deps.memberships.get(userId, studyId);
    if (member?.status === "ACTIVE") return { name: member.name, avatarUrl: member.avatarUrl };
    try {
      await this.deps.studies.requireActiveMember(userId, studyId);
    } catch (err) {
      if (err instanceof DomainError && err.code === "NOT_FOUND") throw new DomainError("BAD_REQUEST", err.message);
      throw err;
    }
    // Became ACTIVE between the two reads: the second read is the truth.
    return this.queries.profile(userId);
  }

  /**
   * The session's study and the caller's name, after checking they are an ACTIVE member of that
   * study. Whether the session is still running is left to the operation itself (see notInCall),
   * so the common case costs no query at all.
   */
  private async requireSession(userId: string, sessionId: string, studyId: string | undefined): Promise<SessionAccess> {
    const sessionStudy = await this.studyOfSession(sessionId);
    if (!sessionStudy || (studyId && sessionStudy !== studyId)) {
      // Refusals outrank "no such call" for anyone who names a study they can't see.
      if (studyId) await this.requireMember(userId, studyId);
      throw new DomainError("BAD_REQUEST", "This call doesn't exist.");
    }
    const user = await this.requireMember(userId, sessionStudy);
    return { id: sessionId, studyId: sessionStudy, ...user };
  }

  private async studyOfSession(sessionId: string): Promise<string | null> {
    const known = this.sessionStudies.get(sessionId);
    if (known) return known;
    const studyId = await this.queries.studyOfSession(sessionId);
    if (studyId) setBounded(this.sessionStudies, sessionId, studyId, SESSION_STUDIES_MAX);
    return studyId;
  }

  /** The refusal for acting on a participation that isn't open: an ended call is a bad request, otherwise 404. */
  private async notInCall(sessionId: string, message: string): Promise<never> {
    if (await this.queries.sessionHasEnded(sessionId))
      throw new DomainError("BAD_REQUEST", "This call has already ended.");
    throw new DomainError("NOT_FOUND", message);
  }

  /** The PeerServer upgrade's check (PeerAccess.admit): a participation's peer id, or a pre-join grant. */
  private async admitSocket(userId: string, id: string): Promise<{ peerId: string; joined: boolean } | null> {
    if (!isGrantToken(id)) return (await this.presence.authorize(userId, id)) ? { peerId: id, joined: true } : null;
    const grant = await this.grants.check(userId, id);
    if (grant) {
      // Membership may have changed since the grant was issued.
      const member = await this.requireMember(userId, grant.studyId).then(
        () => true,
        () => false,
      );
      return member ? { peerId: grant.peerId, joined: false } : null;
    }
    // A consumed grant stands for its participation's peer id (PeerJS re-registers with the id it
    // opened with): the same rule as that peer id itself.
    const peerId = this.grants.peerIdOf(id);
    return (await this.presence.authorize(userId, peerId)) ? { peerId, joined: true } : null;
  }

  private iceServers(userId: string): IceServer[] {
    return iceServersFor(this.deps.config, userId, this.now());
  }

  private publish(studyId: string, event: Parameters<RoomEventBus["publish"]>[1], opts?: PublishOptions): void {
    // Events from this process keep their order: each bus issues its publishes in call order.
    void this.deps.events.publish(studyId, event, opts);
  }
}
