import { json } from "@remix-run/node";
import { ZodError } from "zod";
import { HTTP_STATUS, type DomainError } from "../../server/services/errors";

// The Remix bundle holds its own copy of server modules, so `instanceof` against the
// server's DomainError class would fail; match on the shape instead.
function isDomainError(err: unknown): err is DomainError {
  return (
    err instanceof Error &&
    err.name === "DomainError" &&
    typeof (err as DomainError).code === "string" &&
    (err as DomainError).code in HTTP_STATUS
  );
}

/** Throws a Response (caught by the error boundary) when the condition fails, like epic-stack's helper. */
export function invariantResponse(condition: unknown, message: string, init?: ResponseInit): asserts condition {
  if (!condition) throw new Response(message, { status: 400, ...init });
}

/** A domain/validation failure as a page-level Response; everything else propagates as a real error. */
export function toErrorResponse(err: unknown): Response {
  if (isDomainError(err)) return new Response(err.message, { status: HTTP_STATUS[err.code] });
  if (err instanceof ZodError) return new Response(err.issues[0]?.message ?? "Invalid input", { status: 400 });
  throw err;
}

/** For form actions: a human message to show beside the form, or rethrow the unexpected. */
export function formError(err: unknown) {
  if (isDomainError(err)) return json({ error: err.message }, { status: HTTP_STATUS[err.code] });
  if (err instanceof ZodError) return json({ error: err.issues[0]?.message ?? "Invalid input" }, { status: 400 });
  throw err;
}

/** A form body, or a 400 (not a 500) when the request isn't a form at all. */
export async function readForm(request: Request): Promise<FormData> {
  try {
    return await request.formData();
  } catch {
    throw new Response("This request must be submitted as a form.", { status: 400 });
  }
}
