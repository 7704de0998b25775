/**
 * Failures a client may see, and the one mapping from a thrown error to what each door (tRPC, the
 * REST routes, Remix pages and forms) answers: a status, a code and a sentence a person can act on.
 */
import { ZodError } from "zod";
import type { JoinRefusal } from "../../machines/room-protocol.js";

export type DomainErrorCode =
  "BAD_REQUEST" | "UNAUTHORIZED" | "FORBIDDEN" | "NOT_FOUND" | "CONFLICT" | "TOO_MANY_REQUESTS";

export class DomainError extends Error {
  override name = "DomainError";
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** A machine-readable refusal, for clients that act on it (the sentence is for people). */
    readonly reason: JoinRefusal | null = null,
  ) {
    super(message);
  }
}

const HTTP_STATUS: Record<DomainErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_MANY_REQUESTS: 429,
};

/** A failure the client caused, as every door reports it. */
export interface ClientError {
  code: DomainErrorCode;
  status: number;
  /** A sentence a person can act on, e.g. "Study id must be a UUID". */
  message: string;
  /** For invalid input, the field it is about (e.g. "studyId"); forms show the message beside it. */
  field: string | null;
  /** A refused join's reason (DomainError.reason), for clients to switch on. */
  reason: JoinRefusal | null;
}

// The Remix bundle holds its own copy of server modules, so a DomainError thrown by the server's
// copy fails `instanceof` there: recognise it by shape as well.
function isDomainError(err: unknown): err is DomainError {
  if (err instanceof DomainError) return true;
  return (
    err instanceof Error &&
    err.name === "DomainError" &&
    typeof (err as DomainError).code === "string" &&
    (err as DomainError).code in HTTP_STATUS
  );
}

/** What the client is told about `err`, or null when it is not the client's doing (a 500, logged). */
export function toClientError(err: unknown): ClientError | null {
  if (isDomainError(err))
    return {
      code: err.code,
      status: HTTP_STATUS[err.code],
      message: err.message,
      field: null,
      reason: err.reason ?? null,
    };
  if (err instanceof ZodError) {
    // The first issue only: one thing to fix at a time reads better than a list.
    const issue = err.issues[0];
    return {
      code: "BAD_REQUEST",
      status: 400,
      message: issue?.message ?? "Invalid input",
      field: issue?.path.length ? issue.path.join(".") : null,
      reason: null,
    };
  }
  return null;
}

/** The message API clients get: the field named first, e.g. "studyId: Study id must be a UUID". */
export function describeClientError(e: ClientError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}
