/**
 * A study's ended calls, newest first, one page at a time: who was there, for how long, and how
 * long muted, camera-off or sharing, and what hosts did. The page cursor is opaque to clients.
 */
import { Op, QueryTypes } from "sequelize";
import { z } from "zod";
import { User, VideoCallParticipant, VideoCallSession, type LeaveReason } from "../../../db/models/index.js";
import { DomainError } from "../errors.js";
import type { ModerationAction } from "../../../machines/room-protocol.js";
import { FORMER_MEMBER_NAME } from "../former-member.js";

export interface HistoryParticipant {
  userId: string;
  name: string;
  avatarUrl: string | null;
  /** Seconds actually in the call, summed over every join of that session. */
  secondsPresent: number;
  secondsMuted: number;
  secondsVideoOff: number;
  secondsScreenShared: number;
  /** Speaking with the microphone on, as the person's browser detected it (migration 0010). */
  secondsSpeaking: number;
  joins: number;
  /** Times they raised their hand, over every join of that session. */
  handsRaised: number;
  firstJoinedAt: string;
  lastLeftAt: string | null;
  /** Why their last participation ended. */
  leaveReason: LeaveReason | null;
}
interface HistorySession {
  id: string;
  roomId: string;
  startedBy: string;
  startedAt: string;
  endedAt: string | null;
  /** Seconds from start to the last person leaving. */
  duration: number | null;
  participants: HistoryParticipant[];
  /** Chat messages posted during the call (text and files). */
  messageCount: number;
  /** What hosts did (mute, remove, permissions …), oldest first. */
  moderation: HistoryModeration[];
}
interface HistoryModeration {
  action: ModerationAction;
  actorId: string | null;
  actorName: string;
  targetId: string | null;
  targetName: string | null;
  at: string;
  /** remove: { ban }; set-permissions: the new permissions. */
  details: Record<string, unknown>;
}
/** The moderation log of these sessions (ModerationQueries.log). */
type ModerationLog = (sessionIds: string[]) => Promise<
  Array<{
    sessionId: string;
    action: ModerationAction;
    actorId: string | null;
    actorName: string | null;
    targetId: string | null;
    targetName: string | null;
    details: Record<string, unknown>;
    at: Date;
  }>
>;
export interface HistoryResult {
  sessions: HistorySession[];
  nextCursor: string | null;
}

const CursorSchema = z.object({ t: z.iso.datetime(), id: z.uuid() });
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** One page of the study's ended calls; the caller has checked membership. */
export async function callHistory(
  studyId: string,
  limit: number,
  cursor: string | null | undefined,
  moderationLog: ModerationLog,
): Promise<HistoryResult> {
  const after = cursor ? decodeCursor(cursor) : null;
  const sessions = await VideoCallSession.findAll({
    where: {
      studyId,
      endedAt: { [Op.ne]: null },
      ...(after
        ? { [Op.or]: [{ startedAt: { [Op.lt]: after.t } }, { startedAt: after.t, id: { [Op.lt]: after.id } }] }
        : {}),
    },
    order: [
      ["startedAt", "DESC"],
      ["id", "DESC"],
    ],
    limit: limit + 1,
  });
  const page = sessions.slice(0, limit);
  const participations = page.length
    ? await VideoCallParticipant.findAll({
        where: { sessionId: { [Op.in]: page.map((s) => s.id) } },
        include: [{ model: User, as: "user", attributes: ["id", "name", "avatarUrl"] }],
        order: [["joinedAt", "ASC"]],
      })
    : [];
  const counts = page.length
    ? await VideoCallSession.sequelize!.query<{ sessionId: string; count: string }>(
        `SELECT "sessionId", count(*) AS count FROM call_messages WHERE "sessionId" IN (:ids) GROUP BY "sessionId"`,
        { type: QueryTypes.SELECT, replacements: { ids: page.map((s) => s.id) } },
      )
    : [];
  const moderation = new Map<string, HistoryModeration[]>();
  for (const m of await moderationLog(page.map((s) => s.id))) {
    const list = moderation.get(m.sessionId) ?? [];
    list.push({
      action: m.action,
      actorId: m.actorId,
      actorName: m.actorName ?? FORMER_MEMBER_NAME,
      targetId: m.targetId,
      targetName: m.targetId ? (m.targetName ?? FORMER_MEMBER_NAME) : null,
      at: m.at.toISOString(),
      details: m.details,
    });
    moderation.set(m.sessionId, list);
  }
  const messageCounts = new Map(counts.map((c) => [c.sessionId, Number(c.count)]));
  const bySession = new Map<string, HistoryParticipant[]>();
  for (const s of page)
    bySession.set(s.id, summarizeParticipations(participations.filter((p) => p.sessionId === s.id)));
  const last = sessions.length > limit ? page[page.length - 1] : undefined;
  return {
    sessions: page.map((s) => ({
      id: s.id,
      roomId: s.roomId,
      startedBy: s.startedBy,
      startedAt: s.startedAt.toISOString(),
      endedAt: s.endedAt?.toISOString() ?? null,
      duration: s.duration === null ? null : round3(s.duration),
      participants: bySession.get(s.id) ?? [],
      messageCount: messageCounts.get(s.id) ?? 0,
      moderation: moderation.get(s.id) ?? [],
    })),
    nextCursor: last ? encodeCursor(last.startedAt, last.id) : null,
  };
}

/** One call's participations (in join order) folded into one row per person, in first-join order. */
export function summarizeParticipations(participations: VideoCallParticipant[]): HistoryParticipant[] {
  const people = new Map<string, HistoryParticipant>();
  for (const p of participations) {
    const person = people.get(p.userId) ?? {
      userId: p.userId,
      name: p.user?.name ?? FORMER_MEMBER_NAME,
      avatarUrl: p.user?.avatarUrl ?? null,
      secondsPresent: 0,
      secondsMuted: 0,
      secondsVideoOff: 0,
      secondsScreenShared: 0,
      secondsSpeaking: 0,
      joins: 0,
      handsRaised: 0,
      firstJoinedAt: p.joinedAt.toISOString(),
      lastLeftAt: null,
      leaveReason: null,
    };
    person.secondsPresent = round3(person.secondsPresent + (p.duration ?? 0));
    person.secondsMuted = round3(person.secondsMuted + p.audioMutedTime);
    person.secondsVideoOff = round3(person.secondsVideoOff + p.videoOffTime);
    person.secondsScreenShared = round3(person.secondsScreenShared + p.screenSharedTime);
    person.secondsSpeaking = round3(person.secondsSpeaking + p.speakingTime);
    person.joins += 1;
    person.handsRaised += p.handRaises;
    person.lastLeftAt = p.leftAt?.toISOString() ?? null;
    person.leaveReason = p.leaveReason;
    people.set(p.userId, person);
  }
  return [...people.values()];
}

function encodeCursor(startedAt: Date, id: string): string {
  return Buffer.from(JSON.stringify({ t: startedAt.toISOString(), id })).toString("base64url");
}

function decodeCursor(cursor: string): { t: Date; id: string } {
  try {
    const parsed = CursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { t: new Date(parsed.t), id: parsed.id };
  } catch {
    throw new DomainError("BAD_REQUEST", "That history cursor is not valid. Start from the first page.");
  }
}
