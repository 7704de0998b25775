/** Typed failures the machines keep in context so the UI can pick the right message. */

export type MediaErrorReason = "denied" | "no-device" | "in-use" | "unknown";

export class MediaError extends Error {
  readonly reason: MediaErrorReason;
  constructor(reason: MediaErrorReason, message?: string) {
    super(message ?? `media unavailable: ${reason}`);
    this.name = "MediaError";
    this.reason = reason;
  }
}

/**
 * "full": the call already holds MAX_PARTICIPANTS people (the server answers CONFLICT); "removed":
 * a host removed us and did not let us rejoin; "locked": a host locked the call.
 */
export type JoinErrorReason =
  "forbidden" | "removed" | "locked" | "not-found" | "full" | "network" | "signaling" | "unknown";

export class JoinError extends Error {
  readonly reason: JoinErrorReason;
  constructor(reason: JoinErrorReason, message?: string) {
    super(message ?? `could not join: ${reason}`);
    this.name = "JoinError";
    this.reason = reason;
  }
}

/**
 * Why the server refused a host action: "not-allowed" (we are no host, or an admin acted on the
 * study's owner), "not-in-call" (the person left meanwhile), "ended" (the call is over), or it
 * never got there ("network").
 */
export type HostActionErrorReason = "not-allowed" | "not-in-call" | "ended" | "network" | "unknown";

export class HostActionError extends Error {
  readonly reason: HostActionErrorReason;
  constructor(reason: HostActionErrorReason, message?: string) {
    super(message ?? `host action refused: ${reason}`);
    this.name = "HostActionError";
    this.reason = reason;
  }
}

export type PeerFailureReason =
  "ice-failed" | "call-closed" | "call-error" | "dial-timeout" | "answer-timeout" | "disconnect-timeout";

/** Plain data rather than an Error instance: it lives in snapshots that may be persisted/inspected. */
export interface PeerLinkError {
  reason: PeerFailureReason;
  detail?: string;
}

function hasReason<R extends string>(value: unknown, allowed: readonly R[]): value is { reason: R } {
  if (typeof value !== "object" || value === null || !("reason" in value)) return false;
  const reason = (value as { reason: unknown }).reason;
  return typeof reason === "string" && (allowed as readonly string[]).includes(reason);
}

const MEDIA_REASONS = ["denied", "no-device", "in-use", "unknown"] as const;
const JOIN_REASONS = [
  "forbidden",
  "removed",
  "locked",
  "not-found",
  "full",
  "network",
  "signaling",
  "unknown",
] as const;
const HOST_ACTION_REASONS = ["not-allowed", "not-in-call", "ended", "network", "unknown"] as const;

/** Actors should reject with MediaError, but anything thrown is normalised instead of trusted. */
export function toMediaError(error: unknown): MediaError {
  if (error instanceof MediaError) return error;
  if (hasReason(error, MEDIA_REASONS)) return new MediaError(error.reason);
  return new MediaError("unknown", error instanceof Error ? error.message : undefined);
}

export function toJoinError(error: unknown): JoinError {
  if (error instanceof JoinError) return error;
  if (hasReason(error, JOIN_REASONS)) return new JoinError(error.reason);
  return new JoinError("unknown", error instanceof Error ? error.message : undefined);
}

export function toHostActionError(error: unknown): HostActionError {
  if (error instanceof HostActionError) return error;
  if (hasReason(error, HOST_ACTION_REASONS)) return new HostActionError(error.reason);
  return new HostActionError("unknown", error instanceof Error ? error.message : undefined);
}
