/**
 * Host controls: what a study's OWNER or ADMIN may do to a running call — mute one person or
 * everyone, ask someone to unmute, remove (and ban) them, set the call's permissions and lock, and
 * lower hands. Each action is checked here (who may act on whom), runs its statement in
 * ./moderation-queries.ts, is written to the moderation log, and is told to the room as a
 * `moderation` event followed by its effect (media-changed, user-left KICKED, permissions-changed,
 * hand-changed), which every honest member's call machine obeys.
 */
import type { CallPermissions, ModerationAction, ModerationEvent, RoomEvent } from "../../../machines/room-protocol.js";
import { DomainError } from "../errors.js";
import type { PermissionsRequest, RemoveRequest, SessionCallRequest, TargetRequest } from "./inputs.js";
import type { ModerationQueries } from "./moderation-queries.js";
import type { CallQueries, ClosedParticipation } from "./queries.js";

export interface HostControlsDeps {
  queries: CallQueries;
  moderation: ModerationQueries;
  now: () => Date;
  /** The service's check that the caller is an ACTIVE member of the session's study. */
  session(userId: string, sessionId: string, studyId: string | undefined): Promise<{ studyId: string; name: string }>;
  publish(studyId: string, event: RoomEvent): void;
  /** The room's snapshot is out of date. */
  changed(studyId: string): void;
  /** Tells the room a participation closed (user-left, and session-ended when it was the last). */
  closed(closed: ClosedParticipation): void;
  /** Closes the peer's PeerServer socket, on whichever instance holds it. */
  evict(peerId: string): void;
}

interface Acting {
  sessionId: string;
  studyId: string;
  actorId: string;
  actorName: string;
}

const HOST_ROLES = new Set(["OWNER", "ADMIN"]);

export class HostControls {
  constructor(private readonly deps: HostControlsDeps) {}

  /** The target's audio goes off on the server; everyone stops playing it until it says audio: true. */
  async mute(actorId: string, input: TargetRequest): Promise<{ success: true }> {
    const act = await this.onTarget(actorId, input);
    const row = await this.deps.moderation.setMediaAs(
      act.sessionId,
      input.userId,
      { audio: false },
      this.deps.now(),
      false,
    );
    if (!row) return this.notInCall(act.sessionId);
    await this.record(act, "mute", input.userId, row.peerId);
    if (row.changed) this.mediaChanged(act, row);
    return { success: true };
  }

  /** Mutes everyone in the call but hosts. */
  async muteAll(actorId: string, input: SessionCallRequest): Promise<{ muted: number }> {
    const act = await this.asHost(actorId, input);
    await this.requireRunning(act.sessionId);
    const at = this.deps.now();
    const rows = [];
    for (const p of await this.deps.moderation.openIn(act.sessionId)) {
      if (p.host || !p.audio) continue;
      const row = await this.deps.moderation.setMediaAs(act.sessionId, p.userId, { audio: false }, at, false);
      if (row?.changed) rows.push(row);
    }
    await this.record(act, "mute-all", null, null);
    for (const row of rows) this.mediaChanged(act, row);
    return { muted: rows.length };
  }

  /** Asks the target to unmute; only they can (nobody is unmuted by someone else). */
  async askToUnmute(actorId: string, input: TargetRequest): Promise<{ success: true }> {
    const act = await this.onTarget(actorId, input);
    const target = (await this.deps.moderation.openIn(act.sessionId)).find((p) => p.userId === input.userId);
    if (!target) return this.notInCall(act.sessionId);
    await this.record(act, "ask-unmute", input.userId, target.peerId);
    return { success: true };
  }

  /**
   * Closes the target's participation as KICKED and their signaling socket; with `ban` they may not
   * join this call again. Banning someone not in the call (any more) is allowed.
   */
  async remove(actorId: string, input: RemoveRequest): Promise<{ success: true }> {
    const act = await this.onTarget(actorId, input);
    const closed = await this.deps.moderation.remove(act.sessionId, input.userId, input.ban, actorId, this.deps.now());
    if (!closed && !input.ban) return this.notInCall(act.sessionId);
    await this.record(act, "remove", input.userId, closed?.peerId ?? null, { ban: input.ban });
    if (closed) {
      this.deps.closed(closed);
      this.deps.evict(closed.peerId);
    }
    return { success: true };
  }

  /** Stores the call's permissions and lock; withdrawn tracks of non-hosts go off. */
  async setPermissions(actorId: string, input: PermissionsRequest): Promise<{ permissions: CallPermissions }> {
    const act = await this.asHost(actorId, input);
    await this.requireRunning(act.sessionId);
    const permissions: CallPermissions = {
      unmute: input.unmute,
      camera: input.camera,
      screenShare: input.screenShare,
      locked: input.locked,
    };
    const forced = await this.deps.moderation.setPermissions(act.sessionId, permissions, this.deps.now());
    await this.record(act, "set-permissions", null, null, { ...permissions });
    this.deps.changed(act.studyId);
    this.deps.publish(act.studyId, { type: "permissions-changed", sessionId: act.sessionId, permissions });
    for (const row of forced) this.mediaChanged(act, row);
    return { permissions };
  }

  /** Lowers the target's raised hand. */
  async lowerHand(actorId: string, input: TargetRequest): Promise<{ success: true }> {
    const act = await this.onTarget(actorId, input);
    const row = await this.deps.queries.setHand(act.sessionId, input.userId, false, this.deps.now());
    if (!row) return this.notInCall(act.sessionId);
    await this.record(act, "lower-hand", input.userId, row.peerId);
    if (row.changed) this.handLowered(act, row);
    return { success: true };
  }

  /** Lowers every raised hand. */
  async lowerAllHands(actorId: string, input: SessionCallRequest): Promise<{ lowered: number }> {
    const act = await this.asHost(actorId, input);
    await this.requireRunning(act.sessionId);
    const at = this.deps.now();
    const rows = [];
    for (const p of await this.deps.moderation.openIn(act.sessionId)) {
      if (!p.handRaised) continue;
      const row = await this.deps.queries.setHand(act.sessionId, p.userId, false, at);
      if (row?.changed) rows.push(row);
    }
    await this.record(act, "lower-all-hands", null, null);
    for (const row of rows) this.handLowered(act, row);
    return { lowered: rows.length };
  }

  // -------------------------------------------------------------------------------------------

  /** The caller must be an ACTIVE OWNER or ADMIN of the session's study. */
  private async asHost(actorId: string, input: SessionCallRequest): Promise<Acting> {
    const session = await this.deps.session(actorId, input.sessionId, input.studyId);
    const role = await this.deps.moderation.memberRole(session.studyId, actorId);
    if (!role || role.status !== "ACTIVE" || !HOST_ROLES.has(role.role))
      throw new DomainError("FORBIDDEN", "Only the study's owner and admins can do that.");
    return { sessionId: input.sessionId, studyId: session.studyId, actorId, actorName: session.name };
  }

  /** A host acting on someone else; an ADMIN never on the OWNER. */
  private async onTarget(actorId: string, input: TargetRequest): Promise<Acting> {
    const act = await this.asHost(actorId, input);
    if (input.userId === actorId) throw new DomainError("BAD_REQUEST", "You can't do that to yourself.");
    const [actor, target] = await Promise.all([
      this.deps.moderation.memberRole(act.studyId, actorId),
      this.deps.moderation.memberRole(act.studyId, input.userId),
    ]);
    if (target?.role === "OWNER" && actor?.role !== "OWNER")
      throw new DomainError("FORBIDDEN", "Admins can't do that to the study's owner.");
    return act;
  }

  private async requireRunning(sessionId: string): Promise<void> {
    const state = await this.deps.moderation.permissions(sessionId);
    if (!state || state.ended) throw new DomainError("BAD_REQUEST", "This call has already ended.");
  }

  private async notInCall(sessionId: string): Promise<never> {
    if (await this.deps.queries.sessionHasEnded(sessionId))
      throw new DomainError("BAD_REQUEST", "This call has already ended.");
    throw new DomainError("NOT_FOUND", "That person is not in this call.");
  }

  /** Writes the log entry, then tells the room (the effect's own event follows). */
  private async record(
    act: Acting,
    action: ModerationAction,
    targetId: string | null,
    targetPeerId: string | null,
    details?: Record<string, unknown>,
  ): Promise<void> {
    await this.deps.moderation.logModeration({
      sessionId: act.sessionId,
      actorId: act.actorId,
      targetId,
      action,
      details,
      at: this.deps.now(),
    });
    const event: ModerationEvent = {
      type: "moderation",
      sessionId: act.sessionId,
      action,
      actorId: act.actorId,
      actorName: act.actorName,
      targetId,
      targetPeerId,
      ...(details && "ban" in details ? { ban: details.ban === true } : {}),
    };
    this.deps.publish(act.studyId, event);
  }

  private mediaChanged(
    act: Acting,
    row: { userId: string; peerId: string; audio: boolean; video: boolean; screen: boolean },
  ): void {
    this.deps.changed(act.studyId);
    this.deps.publish(act.studyId, {
      type: "media-changed",
      sessionId: act.sessionId,
      userId: row.userId,
      peerId: row.peerId,
      audio: row.audio,
      video: row.video,
      screen: row.screen,
    });
  }

  private handLowered(act: Acting, row: { userId: string; peerId: string }): void {
    this.deps.changed(act.studyId);
    this.deps.publish(act.studyId, {
      type: "hand-changed",
      sessionId: act.sessionId,
      userId: row.userId,
      peerId: row.peerId,
      handRaisedAt: null,
    });
  }
}
