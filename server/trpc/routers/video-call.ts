import { tracked } from "@trpc/server";
import {
  HistoryInput,
  JoinCallInput,
  ReportLinkInput,
  SessionCallInput,
  SetMediaInput,
  StudyCallInput,
  WatchInput,
} from "../../services/video-call.js";
import { authedProcedure, router } from "../trpc.js";

/**
 * Thin transport over VideoCallService. The schemas here give clients their types; the service
 * parses again because REST routes reach it without tRPC.
 */
export const videoCallRouter = router({
  status: authedProcedure
    .input(StudyCallInput)
    .query(({ ctx, input }) => ctx.services.videoCall.status(ctx.user.id, input)),
  history: authedProcedure
    .input(HistoryInput)
    .query(({ ctx, input }) => ctx.services.videoCall.history(ctx.user.id, input)),
  start: authedProcedure
    .input(StudyCallInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.start(ctx.user.id, input)),
  join: authedProcedure
    .input(JoinCallInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.join(ctx.user.id, input)),
  leave: authedProcedure
    .input(SessionCallInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.leave(ctx.user.id, input)),
  heartbeat: authedProcedure
    .input(SessionCallInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.heartbeat(ctx.user.id, input)),
  setMedia: authedProcedure
    .input(SetMediaInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.setMedia(ctx.user.id, input)),
  reportLink: authedProcedure
    .input(ReportLinkInput)
    .mutation(({ ctx, input }) => ctx.services.videoCall.reportLink(ctx.user.id, input)),
  /**
   * Live room events over SSE. Membership is checked before the stream opens, so a refused
   * subscriber gets an HTTP error instead of an empty stream; event ids let reconnects resume.
   * The stream also ends when the login session behind it does.
   */
  events: authedProcedure.input(WatchInput).subscription(async ({ ctx, input, signal }) => {
    const live = ctx.sessionId ? ctx.services.auth.sessions.untilEnded(ctx.sessionId, signal) : signal;
    const stream = await ctx.services.videoCall.watch(ctx.user.id, input, live);
    return (async function* () {
      for await (const { id, event } of stream) yield tracked(id, event);
    })();
  }),
});
