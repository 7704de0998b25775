import { json } from "@remix-run/node";
import { toClientError } from "../../server/services/errors";

// Remix pages and forms answer failures through the server's one mapping (toClientError); a form
// shows the bare message beside its fields, so the field name is not prefixed here.

/** A domain/validation failure as a page-level Response; everything else propagates as a real error. */
export function toErrorResponse(err: unknown): Response {
  const client = toClientError(err);
  if (client) return new Response(client.message, { status: client.status });
  throw err;
}

/** For form actions: a human message to show beside the form, or rethrow the unexpected. */
export function formError(err: unknown) {
  const client = toClientError(err);
  if (client) return json({ error: client.message }, { status: client.status });
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
