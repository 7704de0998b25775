/**
 * The chat's wire shapes, shared by the server (tRPC outputs, room events) and the chat machine.
 * Lives in machines/ for the same reason as room-protocol.ts: machines import nothing from server/.
 */

export interface ChatFile {
  id: string;
  /** Sanitised original name. */
  name: string;
  /** Bytes. */
  size: number;
  /** Detected from the bytes; application/octet-stream when unknown. */
  type: string;
}

export interface ChatMessage {
  id: string;
  /** Orders messages within a call (ids are random). */
  seq: number;
  sessionId: string;
  authorId: string;
  authorName: string;
  body: string;
  kind: "text" | "file";
  file: ChatFile | null;
  clientId: string;
  /** ISO timestamp, server clock. */
  createdAt: string;
}

/** One person's read cursor in one call: the newest message they have seen. */
export interface ChatRead {
  userId: string;
  lastReadMessageId: string;
  lastReadSeq: number;
  readAt: string;
}

export interface ChatPage {
  /** Newest first. */
  messages: ChatMessage[];
  reads: ChatRead[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export type ChatEvent =
  | { type: "chat-message"; sessionId: string; message: ChatMessage }
  | { type: "chat-read"; sessionId: string; userId: string; lastReadMessageId: string; lastReadSeq: number }
  | { type: "chat-typing"; sessionId: string; userId: string; name: string };

/** How long a typing notice shows without a fresh one. */
export const TYPING_EXPIRES_MS = 5_000;
/** Bodies are trimmed and must be 1..MAX_BODY characters. */
export const MAX_BODY = 2_000;
