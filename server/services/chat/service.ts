/**
 * The rules of a call's chat: who may send, read, mark read, type and share files, and the
 * statements behind each. Every method checks access first (see `access`), then writes, then tells
 * the room on the study's event stream (chat-message, chat-read, chat-typing).
 */
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import type { ChatFile, ChatMessage, ChatPage, ChatRead } from "../../../machines/chat-protocol.js";
import type { RoomEventBus } from "../../events.js";
import type { RedisLink } from "../../cluster/redis.js";
import { DomainError } from "../errors.js";
import type { ListRequest, MarkReadRequest, SendRequest, TypingRequest } from "./inputs.js";
import { RateLimiter } from "./rate-limit.js";

export interface ChatLimits {
  messages: { max: number; windowMs: number };
  uploads: { max: number; windowMs: number };
}
const DEFAULT_CHAT_LIMITS: ChatLimits = {
  messages: { max: 10, windowMs: 10_000 },
  uploads: { max: 10, windowMs: 60_000 },
};

interface Access {
  studyId: string;
  ended: boolean;
  inCall: boolean;
  name: string;
}

interface MessageRow {
  id: string;
  seq: string;
  sessionId: string;
  authorId: string;
  authorName: string | null;
  body: string;
  kind: "text" | "file";
  clientId: string;
  createdAt: Date;
  fileId: string | null;
  fileName: string | null;
  fileSize: string | null;
  fileType: string | null;
}

/** A stored file as the download route needs it. */
export interface StoredFile extends ChatFile {
  storageKey: string;
}

const MESSAGE_SELECT = `
  SELECT m.id, m.seq, m."sessionId", m."authorId", u.name AS "authorName", m.body, m.kind, m."clientId",
         m."createdAt", f.id AS "fileId", f.name AS "fileName", f.size AS "fileSize", f.type AS "fileType"
    FROM call_messages m
    LEFT JOIN users u ON u.id = m."authorId"
    LEFT JOIN call_files f ON f.id = m."fileId"`;

function toMessage(r: MessageRow): ChatMessage {
  return {
    id: r.id,
    seq: Number(r.seq),
    sessionId: r.sessionId,
    authorId: r.authorId,
    authorName: r.authorName ?? "Former member",
    body: r.body,
    kind: r.kind,
    file: r.fileId ? { id: r.fileId, name: r.fileName!, size: Number(r.fileSize), type: r.fileType! } : null,
    clientId: r.clientId,
    createdAt: new Date(r.createdAt).toISOString(),
  };
}

export class ChatService {
  private readonly messageLimit: RateLimiter;
  private readonly uploadLimit: RateLimiter;
  /** Typing notices are relayed at most once a second per person; clients send one per ~3 s. */
  private readonly typingLimit = new RateLimiter(1, 1_000);

  constructor(
    private readonly deps: {
      sequelize: Sequelize;
      events: RoomEventBus;
      now: () => Date;
      limits?: ChatLimits;
      /** Set in cluster mode: the limits count every instance's hits. */
      redis?: RedisLink;
    },
  ) {
    const limits = deps.limits ?? DEFAULT_CHAT_LIMITS;
    this.messageLimit = new RateLimiter(limits.messages.max, limits.messages.windowMs);
    this.uploadLimit = new RateLimiter(limits.uploads.max, limits.uploads.windowMs);
    if (deps.redis) {
      this.messageLimit.shareThrough(deps.redis, "chat-messages");
      this.uploadLimit.shareThrough(deps.redis, "chat-uploads");
      this.typingLimit.shareThrough(deps.redis, "chat-typing");
    }
  }

  /** Posts a text message; a retried send (same author and clientId) returns the stored one. */
  async send(userId: string, { sessionId, body, clientId }: SendRequest): Promise<ChatMessage> {
    const access = await this.requireInCall(userId, sessionId);
    if (!this.messageLimit.take(userId)) {
      // A retry of something already stored is answered, never refused.
      const existing = await this.byClientId(userId, clientId);
      if (existing) return this.sameSend(existing, sessionId);
      throw new DomainError("TOO_MANY_REQUESTS", "You're sending messages too quickly. Wait a few seconds.");
    }
    const message = await this.insertMessage({ sessionId, userId, body, kind: "text", fileId: null, clientId });
    if (!message) {
      this.messageLimit.refund(userId);
      return this.sameSend((await this.byClientId(userId, clientId))!, sessionId);
    }
    this.publishMessage(access.studyId, message);
    return message;
  }

  /** One page of the call's messages (newest first) and everyone's read cursor; any ACTIVE member. */
  async list(userId: string, { sessionId, cursor, limit }: ListRequest): Promise<ChatPage> {
    await this.access(userId, sessionId);
    const rows = await this.deps.sequelize.query<MessageRow>(
      `${MESSAGE_SELECT} WHERE m."sessionId" = :sessionId ${cursor ? "AND m.seq < :cursor" : ""}
        ORDER BY m.seq DESC LIMIT :limit`,
      { type: QueryTypes.SELECT, replacements: { sessionId, cursor: cursor ?? null, limit: limit + 1 } },
    );
    const page = rows.slice(0, limit).map(toMessage);
    const reads = await this.deps.sequelize.query<{
      userId: string;
      lastReadMessageId: string;
      lastReadSeq: string;
      readAt: Date;
    }>(
      `SELECT "userId", "lastReadMessageId", "lastReadSeq", "readAt" FROM call_chat_reads WHERE "sessionId" = :sessionId`,
      {
        type: QueryTypes.SELECT,
        replacements: { sessionId },
      },
    );
    return {
      messages: page,
      reads: reads.map((r): ChatRead => ({
        userId: r.userId,
        lastReadMessageId: r.lastReadMessageId,
        lastReadSeq: Number(r.lastReadSeq),
        readAt: new Date(r.readAt).toISOString(),
      })),
      nextCursor: rows.length > limit ? String(page[page.length - 1]!.seq) : null,
    };
  }

  /**
   * Moves the caller's read cursor to `messageId` if that is further on; never back. One upsert
   * whose WHERE compares seqs, so concurrent calls can only ever leave the furthest one.
   */
  async markRead(userId: string, { sessionId, messageId }: MarkReadRequest): Promise<ChatRead> {
    const access = await this.access(userId, sessionId);
    const [target] = await this.deps.sequelize.query<{ seq: string }>(
      `SELECT seq FROM call_messages WHERE id = :messageId AND "sessionId" = :sessionId`,
      { type: QueryTypes.SELECT, replacements: { messageId, sessionId } },
    );
    if (!target) throw new DomainError("NOT_FOUND", "That message isn't in this call.");
    const moved = await this.deps.sequelize.query<{ lastReadSeq: string }>(
      `INSERT INTO call_chat_reads ("sessionId", "userId", "lastReadMessageId", "lastReadSeq", "readAt")
       VALUES (:sessionId, :userId, :messageId, :seq, :now)
       ON CONFLICT ("sessionId", "userId") DO UPDATE
         SET "lastReadMessageId" = EXCLUDED."lastReadMessageId", "lastReadSeq" = EXCLUDED."lastReadSeq",
             "readAt" = EXCLUDED."readAt"
         WHERE call_chat_reads."lastReadSeq" < EXCLUDED."lastReadSeq"
       RETURNING "lastReadSeq"`,
      {
        type: QueryTypes.SELECT,
        replacements: { sessionId, userId, messageId, seq: target.seq, now: this.deps.now() },
      },
    );
    const [row] = await this.deps.sequelize.query<{ lastReadMessageId: string; lastReadSeq: string; readAt: Date }>(
      `SELECT "lastReadMessageId", "lastReadSeq", "readAt" FROM call_chat_reads WHERE "sessionId" = :sessionId AND "userId" = :userId`,
      { type: QueryTypes.SELECT, replacements: { sessionId, userId } },
    );
    const read: ChatRead = {
      userId,
      lastReadMessageId: row!.lastReadMessageId,
      lastReadSeq: Number(row!.lastReadSeq),
      readAt: new Date(row!.readAt).toISOString(),
    };
    if (moved.length > 0) {
      this.deps.events.publish(access.studyId, {
        type: "chat-read",
        sessionId,
        userId,
        lastReadMessageId: read.lastReadMessageId,
        lastReadSeq: read.lastReadSeq,
      });
    }
    return read;
  }

  /** Tells the room the caller is typing; the notice expires on clients after TYPING_EXPIRES_MS. */
  async typing(userId: string, { sessionId }: TypingRequest): Promise<{ ok: true }> {
    const access = await this.requireInCall(userId, sessionId);
    if (this.typingLimit.take(userId))
      this.deps.events.publish(
        access.studyId,
        { type: "chat-typing", sessionId, userId, name: access.name },
        { replay: false },
      );
    return { ok: true };
  }

  /** Checks an upload may start (in the call, under the upload limit) before any byte is read. */
  async beginUpload(userId: string, sessionId: string): Promise<void> {
    await this.requireInCall(userId, sessionId);
    if (!this.uploadLimit.take(userId))
      throw new DomainError("TOO_MANY_REQUESTS", "You're uploading files too quickly. Wait a minute.");
  }

  /** Records a stored upload and its `file` message in one transaction, then tells the room. */
  async attachFile(
    userId: string,
    sessionId: string,
    file: { name: string; size: number; type: string; sha256: string; storageKey: string; clientId: string },
  ): Promise<{ file: ChatFile; message: ChatMessage }> {
    // Re-checked: the call may have ended, or the uploader left, while the bytes streamed in.
    const access = await this.requireInCall(userId, sessionId);
    const message = await this.deps.sequelize.transaction(async (transaction) => {
      const [f] = await this.deps.sequelize.query<{ id: string }>(
        `INSERT INTO call_files ("sessionId", "uploaderId", name, size, type, sha256, "storageKey", "createdAt")
         VALUES (:sessionId, :userId, :name, :size, :type, :sha256, :storageKey, :now) RETURNING id`,
        {
          type: QueryTypes.SELECT,
          transaction,
          replacements: { sessionId, userId, ...file, now: this.deps.now() },
        },
      );
      const posted = await this.insertMessage(
        { sessionId, userId, body: file.name, kind: "file", fileId: f!.id, clientId: file.clientId },
        transaction,
      );
      if (!posted) throw new DomainError("CONFLICT", "That upload was already posted.");
      return posted;
    });
    this.publishMessage(access.studyId, message);
    return { file: message.file!, message };
  }

  /**
   * A file for an ACTIVE member of its study. Unknown ids and other studies' files get the same
   * refusal, so non-members learn nothing about what exists.
   */
  async fileFor(userId: string, fileId: string): Promise<StoredFile> {
    const [row] = await this.deps.sequelize.query<{
      id: string;
      name: string;
      size: string;
      type: string;
      storageKey: string;
      status: string | null;
    }>(
      `SELECT f.id, f.name, f.size, f.type, f."storageKey", m.status
         FROM call_files f
         JOIN video_call_sessions s ON s.id = f."sessionId"
         LEFT JOIN study_members m ON m."studyId" = s."studyId" AND m."userId" = :userId
        WHERE f.id = :fileId`,
      { type: QueryTypes.SELECT, replacements: { fileId, userId } },
    );
    if (!row || row.status !== "ACTIVE") throw new DomainError("FORBIDDEN", "You can't open this file.");
    return { id: row.id, name: row.name, size: Number(row.size), type: row.type, storageKey: row.storageKey };
  }

  // -------------------------------------------------------------------------------------------

  /** The session's study for an ACTIVE member of it: 404 for an unknown call, 403 for anyone else. */
  private async access(userId: string, sessionId: string): Promise<Access> {
    const [row] = await this.deps.sequelize.query<{
      studyId: string;
      endedAt: Date | null;
      status: string | null;
      inCall: boolean;
      name: string;
    }>(
      `SELECT s."studyId", s."endedAt", m.status, u.name,
              EXISTS (SELECT 1 FROM video_call_participants p
                       WHERE p."sessionId" = s.id AND p."userId" = :userId AND p."leftAt" IS NULL) AS "inCall"
         FROM video_call_sessions s
         JOIN users u ON u.id = :userId
         LEFT JOIN study_members m ON m."studyId" = s."studyId" AND m."userId" = :userId
        WHERE s.id = :sessionId`,
      { type: QueryTypes.SELECT, replacements: { sessionId, userId } },
    );
    if (!row) throw new DomainError("NOT_FOUND", "This call doesn't exist.");
    if (row.status !== "ACTIVE") throw new DomainError("FORBIDDEN", "You are not a member of this study.");
    return { studyId: row.studyId, ended: row.endedAt !== null, inCall: row.inCall, name: row.name };
  }

  /** As `access`, and the caller must have an open participation in the running call. */
  private async requireInCall(userId: string, sessionId: string): Promise<Access> {
    const access = await this.access(userId, sessionId);
    if (access.ended) throw new DomainError("BAD_REQUEST", "This call has already ended.");
    if (!access.inCall) throw new DomainError("FORBIDDEN", "You are not in this call. Join it to chat.");
    return access;
  }

  /** Inserts unless the author already used this clientId; returns the new message or null. One round trip. */
  private async insertMessage(
    m: {
      sessionId: string;
      userId: string;
      body: string;
      kind: "text" | "file";
      fileId: string | null;
      clientId: string;
    },
    transaction?: Transaction,
  ): Promise<ChatMessage | null> {
    const rows = await this.deps.sequelize.query<MessageRow>(
      `WITH m AS (
         INSERT INTO call_messages ("sessionId", "authorId", body, kind, "fileId", "clientId", "createdAt")
         VALUES (:sessionId, :userId, :body, :kind, :fileId, :clientId, :now)
         ON CONFLICT ("authorId", "clientId") DO NOTHING RETURNING *)
       ${MESSAGE_SELECT.replace("FROM call_messages m", "FROM m")}`,
      { type: QueryTypes.SELECT, transaction, replacements: { ...m, now: this.deps.now() } },
    );
    return rows[0] ? toMessage(rows[0]) : null;
  }

  private async byClientId(userId: string, clientId: string): Promise<ChatMessage | null> {
    const [row] = await this.deps.sequelize.query<MessageRow>(
      `${MESSAGE_SELECT} WHERE m."authorId" = :userId AND m."clientId" = :clientId`,
      { type: QueryTypes.SELECT, replacements: { userId, clientId } },
    );
    return row ? toMessage(row) : null;
  }

  /** A clientId reused for another call is a client bug, not a retry. */
  private sameSend(existing: ChatMessage, sessionId: string): ChatMessage {
    if (existing.sessionId !== sessionId)
      throw new DomainError("CONFLICT", "That clientId was already used for another message.");
    return existing;
  }

  private publishMessage(studyId: string, message: ChatMessage): void {
    this.deps.events.publish(studyId, { type: "chat-message", sessionId: message.sessionId, message });
  }
}
