/**
 * One ended call in full, for its history page: the per-person totals, every stored room event
 * (video_call_events, in the order they happened) and the chat transcript with its files. The
 * caller has checked membership; a call of another study is "not found", like a missing one.
 */
import { Op, QueryTypes, type Sequelize } from "sequelize";
import { User, VideoCallParticipant, VideoCallSession } from "../../../db/models/index.js";
import { DomainError } from "../errors.js";
import { FORMER_MEMBER_NAME } from "../former-member.js";
import { summarizeParticipations, type HistoryParticipant } from "./history.js";

interface RecordEvent {
  kind: string;
  /** ISO, server clock. */
  at: string;
  actorId: string | null;
  targetId: string | null;
  payload: Record<string, unknown>;
}
interface TranscriptMessage {
  id: string;
  authorName: string;
  body: string;
  createdAt: string;
  /** Set for a shared file: its download link is /api/files/:id (members only). */
  file: { id: string; name: string; size: number } | null;
}
export interface CallRecord {
  session: { id: string; startedAt: string; endedAt: string; duration: number; startedByName: string };
  people: HistoryParticipant[];
  events: RecordEvent[];
  messages: TranscriptMessage[];
}

/** Most events and messages one page shows; a call with more says so (`truncated`). */
const MAX_EVENTS = 20_000;
const MAX_MESSAGES = 2_000;

/**
 * A call from before its events were stored (migration 0010) still has its participations: who
 * was there when, and how they left. Its timeline shows that much; media changes are unknown.
 */
function presenceOnly(participations: VideoCallParticipant[]): RecordEvent[] {
  return participations.flatMap((p) => [
    { kind: "joined", at: p.joinedAt.toISOString(), actorId: p.userId, targetId: p.userId, payload: {} },
    ...(p.leftAt
      ? [
          {
            kind: "left",
            at: p.leftAt.toISOString(),
            actorId: p.userId,
            targetId: p.userId,
            payload: { reason: p.leaveReason },
          },
        ]
      : []),
  ]);
}

export async function callRecord(
  sequelize: Sequelize,
  studyId: string,
  sessionId: string,
): Promise<CallRecord & { truncated: boolean }> {
  const session = await VideoCallSession.findOne({
    where: { id: sessionId, studyId, endedAt: { [Op.ne]: null } },
  });
  if (!session?.endedAt) throw new DomainError("NOT_FOUND", "This call isn't in this study's history.");
  const [starter, participations, events, messages] = await Promise.all([
    User.findByPk(session.startedBy, { attributes: ["name"] }),
    VideoCallParticipant.findAll({
      where: { sessionId },
      include: [{ model: User, as: "user", attributes: ["id", "name", "avatarUrl"] }],
      order: [
        ["joinedAt", "ASC"],
        ["id", "ASC"],
      ],
    }),
    sequelize.query<{
      kind: string;
      at: Date;
      actorId: string | null;
      targetId: string | null;
      payload: Record<string, unknown>;
    }>(
      `SELECT kind, at, "actorId", "targetId", payload FROM video_call_events
        WHERE "sessionId" = $1 ORDER BY at, id LIMIT $2`,
      { bind: [sessionId, MAX_EVENTS + 1], type: QueryTypes.SELECT },
    ),
    sequelize.query<{
      id: string;
      authorName: string | null;
      body: string;
      createdAt: Date;
      fileId: string | null;
      fileName: string | null;
      fileSize: string | null;
    }>(
      `SELECT m.id, u.name AS "authorName", m.body, m."createdAt",
              f.id AS "fileId", f.name AS "fileName", f.size AS "fileSize"
         FROM call_messages m
         LEFT JOIN users u ON u.id = m."authorId"
         LEFT JOIN call_files f ON f.id = m."fileId"
        WHERE m."sessionId" = $1 ORDER BY m.seq LIMIT $2`,
      { bind: [sessionId, MAX_MESSAGES + 1], type: QueryTypes.SELECT },
    ),
  ]);
  return {
    session: {
      id: session.id,
      startedAt: session.startedAt.toISOString(),
      endedAt: session.endedAt.toISOString(),
      duration: session.duration ?? (session.endedAt.getTime() - session.startedAt.getTime()) / 1000,
      startedByName: starter?.name ?? FORMER_MEMBER_NAME,
    },
    people: summarizeParticipations(participations),
    events: events.some((e) => e.kind === "joined")
      ? events.slice(0, MAX_EVENTS).map((e) => ({
          kind: e.kind,
          at: new Date(e.at).toISOString(),
          actorId: e.actorId,
          targetId: e.targetId,
          payload: e.payload,
        }))
      : presenceOnly(participations),
    messages: messages.slice(0, MAX_MESSAGES).map((m) => ({
      id: m.id,
      authorName: m.authorName ?? FORMER_MEMBER_NAME,
      body: m.body,
      createdAt: new Date(m.createdAt).toISOString(),
      file: m.fileId ? { id: m.fileId, name: m.fileName ?? "file", size: Number(m.fileSize ?? 0) } : null,
    })),
    truncated: events.length > MAX_EVENTS || messages.length > MAX_MESSAGES,
  };
}
