/**
 * What a call request may carry: the zod schemas every door (tRPC procedures, REST routes) parses
 * untrusted input with, once, at the edge; a failure becomes a 400. The service only sees the
 * parsed types below.
 */
import { z } from "zod";

const uuid = (what: string) => z.uuid(`${what} must be a UUID`);

/** PeerJS accepts letters and digits joined by single spaces, dashes or underscores. */
export const PeerIdSchema = z
  .string("Peer id must be a string")
  .min(1, "Peer id is empty")
  .max(64, "Peer id is too long")
  .regex(/^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/, "Peer id contains characters PeerJS doesn't allow");

export const StudyCallSchema = z.object({ studyId: uuid("Study id") });
/** A pre-join grant token (./prejoin-grants.ts). */
const GrantSchema = z.string("grant must be a string").regex(/^g[0-9a-f]{32}$/, "grant is not a pre-join grant");
/** Joining names the study and the session, and may carry the pre-join grant whose socket is already open. */
export const JoinSessionSchema = z.object({
  studyId: uuid("Study id"),
  sessionId: uuid("Session id"),
  grant: GrantSchema.optional(),
});
/** Asking for a pre-join grant names the study (the grant is for whichever call runs when the click comes). */
export const PrepareJoinSchema = z.object({ studyId: uuid("Study id") });
/** `studyId` is optional: tRPC clients name only the session, REST routes carry the study in the URL. */
export const SessionCallSchema = z.object({ sessionId: uuid("Session id"), studyId: uuid("Study id").optional() });
export const SetMediaSchema = SessionCallSchema.extend({
  audio: z.boolean("audio must be true or false"),
  video: z.boolean("video must be true or false"),
  screen: z.boolean("screen must be true or false"),
  /** The browser's own voice activity (its speaking detector); absent = not speaking. */
  speaking: z.boolean("speaking must be true or false").default(false),
});
export const SetHandSchema = SessionCallSchema.extend({ raised: z.boolean("raised must be true or false") });
/** A browser's report about its link to another participant (machines/ has the client-side `ReportLinkInput`). */
export const LinkReportSchema = SessionCallSchema.extend({
  remotePeerId: PeerIdSchema,
  state: z.enum(["connected", "reconnecting", "lost"], "state must be connected, reconnecting or lost"),
  attempt: z.number().int().min(0).max(1000).optional(),
  maxAttempts: z.number().int().min(0).max(1000).optional(),
});
/** A size in device pixels a tile can plausibly have (an 8K screen is 7,680 wide). */
const pixels = (what: string) =>
  z.number(`${what} must be a number`).int(`${what} must be whole pixels`).min(0).max(16_384, `${what} is too large`);
/** How the caller shows other participants' videos; each entry goes to that participant only. */
export const SetViewsSchema = SessionCallSchema.extend({
  views: z
    .array(
      z.object({
        peerId: PeerIdSchema,
        width: pixels("width"),
        height: pixels("height"),
        shown: z.boolean("shown must be true or false"),
      }),
    )
    .min(1, "views is empty")
    .max(32, "views has too many entries"),
});
/** A host's action on one person in the call. */
export const TargetSchema = SessionCallSchema.extend({ userId: uuid("User id") });
export const RemoveSchema = TargetSchema.extend({ ban: z.boolean("ban must be true or false").default(false) });
const level = (what: string) => z.enum(["everyone", "hosts"], `${what} must be everyone or hosts`);
export const PermissionsSchema = SessionCallSchema.extend({
  unmute: level("unmute"),
  camera: level("camera"),
  screenShare: level("screenShare"),
  locked: z.boolean("locked must be true or false"),
});
export const HistorySchema = z.object({
  studyId: uuid("Study id"),
  limit: z.number().int().min(1, "limit must be at least 1").max(50, "limit is at most 50").default(20),
  cursor: z.string().max(200, "cursor is too long").nullish(),
});
/** One past call of a study (the history page and its CSV). */
export const CallRecordSchema = z.object({ studyId: uuid("Study id"), sessionId: uuid("Session id") });
export const WatchSchema = z.object({
  studyId: uuid("Study id"),
  /** Set by httpSubscriptionLink when it reconnects. */
  lastEventId: z.string().max(100, "lastEventId is too long").nullish(),
});

export type StudyCallRequest = z.output<typeof StudyCallSchema>;
export type JoinSessionRequest = z.output<typeof JoinSessionSchema>;
export type PrepareJoinRequest = z.output<typeof PrepareJoinSchema>;
export type SessionCallRequest = z.output<typeof SessionCallSchema>;
export type SetMediaRequest = z.output<typeof SetMediaSchema>;
export type SetHandRequest = z.output<typeof SetHandSchema>;
export type LinkReportRequest = z.output<typeof LinkReportSchema>;
export type SetViewsRequest = z.output<typeof SetViewsSchema>;
export type TargetRequest = z.output<typeof TargetSchema>;
export type RemoveRequest = z.output<typeof RemoveSchema>;
export type PermissionsRequest = z.output<typeof PermissionsSchema>;
export type HistoryRequest = z.output<typeof HistorySchema>;
export type CallRecordRequest = z.output<typeof CallRecordSchema>;
export type WatchRequest = z.output<typeof WatchSchema>;
