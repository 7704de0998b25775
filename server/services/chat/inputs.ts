/**
 * What a chat request may carry: zod schemas parsed once at the edge (tRPC, the file routes), and
 * the rule that turns a client's file name into one safe to store and send back in a header.
 */
import { z } from "zod";
import { MAX_BODY } from "../../../machines/chat-protocol.js";

const uuid = (what: string) => z.uuid(`${what} must be a UUID`);

export const SendSchema = z.object({
  sessionId: uuid("Session id"),
  body: z
    .string("Message must be text")
    .trim()
    .min(1, "Message is empty")
    .max(MAX_BODY, `Message is longer than ${MAX_BODY} characters`),
  clientId: z
    .string("clientId must be a string")
    .min(8, "clientId is too short")
    .max(64, "clientId is too long")
    .regex(/^[A-Za-z0-9_-]+$/, "clientId may contain only letters, digits, - and _"),
});
export const ListSchema = z.object({
  sessionId: uuid("Session id"),
  cursor: z
    .string()
    .regex(/^\d{1,18}$/, "That chat cursor is not valid")
    .nullish(),
  limit: z.number().int().min(1, "limit must be at least 1").max(100, "limit is at most 100").default(50),
});
export const MarkReadSchema = z.object({ sessionId: uuid("Session id"), messageId: uuid("Message id") });
export const TypingSchema = z.object({ sessionId: uuid("Session id") });
export const FileIdSchema = uuid("File id");

export type SendRequest = z.output<typeof SendSchema>;
export type ListRequest = z.output<typeof ListSchema>;
export type MarkReadRequest = z.output<typeof MarkReadSchema>;
export type TypingRequest = z.output<typeof TypingSchema>;

/**
 * The last path segment without control characters, trimmed to 255 UTF-8 bytes (keeping the
 * extension); "file" when nothing is left. OWASP: never trust a client's file name.
 */
export function sanitizeFileName(raw: string): string {
  const base = raw.split(/[/\\]/).pop() ?? "";
  // eslint-disable-next-line no-control-regex
  let name = base.replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim();
  name = name.replace(/^\.+/, "");
  if (!name) return "file";
  if (Buffer.byteLength(name) <= 255) return name;
  const dot = name.lastIndexOf(".");
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
  let stem = name.slice(0, name.length - ext.length);
  while (Buffer.byteLength(stem + ext) > 255) stem = [...stem].slice(0, -1).join("");
  return stem + ext;
}
