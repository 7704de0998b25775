import type { Auth } from "../../auth.js";
import { logger } from "../../logger.js";
import { DomainError, describeClientError, toClientError } from "../errors.js";
import { JoinSessionSchema, SessionCallSchema, StudyCallSchema } from "./inputs.js";
import type { VideoCallService } from "./service.js";

export type VideoCallRoute = "start" | "status" | "join" | "leave";

const METHOD: Record<VideoCallRoute, "GET" | "POST"> = { start: "POST", status: "GET", join: "POST", leave: "POST" };
const MAX_BODY_BYTES = 16 * 1024;

/**
 * The REST face of the call API (`/api/my-studies/:studyId/video-call/*`) for plain HTTP clients.
 * It lives beside the service rather than in app/ so the Remix routes stay one-liners: `context.services.videoCallRest.handle(...)`.
 * Every failure is `{ error: "<human message>" }`.
 */
export class VideoCallRest {
  constructor(
    private readonly videoCall: VideoCallService,
    private readonly auth: Pick<Auth, "currentUser">,
  ) {}

  async handle(route: VideoCallRoute, request: Request, studyId: string | undefined): Promise<Response> {
    const method = METHOD[route];
    const allowed = method === "GET" ? ["GET", "HEAD"] : [method];
    if (!allowed.includes(request.method)) {
      return json({ error: `Use ${method} for this endpoint.` }, 405, { Allow: allowed.join(", ") });
    }
    try {
      const user = await this.auth.currentUser(request.headers.get("Cookie"));
      if (!user) return json({ error: "Log in to do that." }, 401);
      switch (route) {
        case "status":
          return json(await this.videoCall.status(user.id, StudyCallSchema.parse({ studyId })));
        case "start": {
          const { session, created } = await this.videoCall.start(user.id, StudyCallSchema.parse({ studyId }));
          return json(
            created
              ? { session, created }
              : { session, created, message: "A call is already running in this study; join it." },
          );
        }
        case "join": {
          const body = await readJsonObject(request);
          return json(
            await this.videoCall.join(user.id, JoinSessionSchema.parse({ sessionId: body.sessionId, studyId })),
          );
        }
        case "leave": {
          const body = await readJsonObject(request);
          return json(
            await this.videoCall.leave(user.id, SessionCallSchema.parse({ sessionId: body.sessionId, studyId })),
          );
        }
      }
    } catch (err) {
      const client = toClientError(err);
      if (client)
        return json(
          { error: describeClientError(client), ...(client.reason ? { reason: client.reason } : {}) },
          client.status,
        );
      logger.error({ err, route }, "video call REST request failed");
      return json({ error: "Something went wrong on our side. Try again." }, 500);
    }
  }
}

async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new DomainError("BAD_REQUEST", "The request body is too large.");
  const text = await request.text();
  if (text.length > MAX_BODY_BYTES) throw new DomainError("BAD_REQUEST", "The request body is too large.");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new DomainError("BAD_REQUEST", 'Send a JSON body like {"sessionId": "…"}.');
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new DomainError("BAD_REQUEST", 'Send a JSON object like {"sessionId": "…"}.');
  }
  return body as Record<string, unknown>;
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers },
  });
}
