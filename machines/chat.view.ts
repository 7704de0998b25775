/**
 * What the chat panel shows, derived from the chat machine's context: pure functions so the
 * component stays a view and the rules ("Seen by", unread, who is typing) are tested in Node.
 */
import type { ChatContext } from "./chat.machine";
import type { ChatMessage } from "./chat-protocol";

/** Others' messages after what we have seen. */
export function unreadCount(ctx: Pick<ChatContext, "messages" | "selfId" | "seenSeq">): number {
  return ctx.messages.filter((m) => m.authorId !== ctx.selfId && m.seq > ctx.seenSeq).length;
}

/** Everyone but us whose read cursor sits on `message`, by name ("Seen by Bob, Carol"). */
export function seenBy(
  ctx: Pick<ChatContext, "reads" | "selfId">,
  message: ChatMessage,
  names: Record<string, string>,
): string[] {
  return Object.values(ctx.reads)
    .filter((r) => r.userId !== ctx.selfId && r.lastReadMessageId === message.id)
    .map((r) => names[r.userId] ?? "Someone")
    .sort();
}

/** "Bob is typing…", "Bob and Carol are typing…", "Bob, Carol and Dan are typing…", or null. */
export function typingLine(typing: Record<string, string>): string | null {
  const names = Object.values(typing).sort();
  if (names.length === 0) return null;
  if (names.length === 1) return `${names[0]} is typing…`;
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]} are typing…`;
}

/** Consecutive messages by one author form a group (one name and time above them). */
export function groupByAuthor(messages: ChatMessage[]): ChatMessage[][] {
  const groups: ChatMessage[][] = [];
  for (const m of messages) {
    const last = groups[groups.length - 1];
    if (last && last[0]!.authorId === m.authorId) last.push(m);
    else groups.push([m]);
  }
  return groups;
}

/** Splits text into plain runs and http(s) links, for auto-linking without any HTML. */
export function linkify(text: string): Array<{ text: string; href?: string }> {
  const parts: Array<{ text: string; href?: string }> = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
  let at = 0;
  for (const match of text.matchAll(re)) {
    if (match.index > at) parts.push({ text: text.slice(at, match.index) });
    parts.push({ text: match[0], href: match[0] });
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 102.4) / 10} KB`;
  return `${Math.round(n / 1024 / 102.4) / 10} MB`;
}
