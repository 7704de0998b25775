/**
 * The history pages' loading rule, in one place: who may see a study's past calls (ACTIVE members;
 * anonymous visitors go to login, anyone else gets the study page's refusal) and what an unknown,
 * malformed or other study's call id gets (404). Used by the call list, a call's page and its CSV.
 */
import type { AppLoadContext } from "@remix-run/node";
import { CallRecordSchema, HistorySchema } from "../../server/services/video-call/inputs";
import { requireUser } from "./auth.server";
import { toErrorResponse } from "./http.server";

const notFound = () => new Response("This call isn't in this study's history.", { status: 404 });

/** A page of the study's past calls (`limit` newest, from `cursor`), and the study's name. */
export async function loadCallList(
  request: Request,
  context: AppLoadContext,
  studyId: string | undefined,
  limit: number,
) {
  const user = await requireUser(request, context);
  const cursor = new URL(request.url).searchParams.get("cursor");
  try {
    const { study } = await context.services.studies.getForMember(user.id, studyId);
    const input = HistorySchema.safeParse({ studyId: study.id, limit, cursor });
    if (!input.success) throw new Response("That page of the call history is not valid.", { status: 400 });
    const history = await context.services.videoCall.history(user.id, input.data);
    return { study: { id: study.id, name: study.name }, history, firstPage: !cursor };
  } catch (err) {
    if (err instanceof Response) throw err;
    throw toErrorResponse(err);
  }
}

/** One past call of the study in full, and the study's name. */
export async function loadCallRecord(
  request: Request,
  context: AppLoadContext,
  params: { studyId?: string; sessionId?: string },
) {
  const user = await requireUser(request, context);
  try {
    const { study } = await context.services.studies.getForMember(user.id, params.studyId);
    const input = CallRecordSchema.safeParse({ studyId: study.id, sessionId: params.sessionId });
    if (!input.success) throw notFound();
    const record = await context.services.videoCall.record(user.id, input.data);
    return { study: { id: study.id, name: study.name }, record };
  } catch (err) {
    if (err instanceof Response) throw err;
    throw toErrorResponse(err);
  }
}
