import { tracked } from "@trpc/server";
import {
  CallRecordSchema,
  HistorySchema,
  JoinSessionSchema,
  LinkReportSchema,
  PrepareJoinSchema,
  PermissionsSchema,
  RemoveSchema,
  SessionCallSchema,
  SetHandSchema,
  SetMediaSchema,
  SetViewsSchema,
  StudyCallSchema,
  TargetSchema,
  WatchSchema,
} from "../../services/video-call/inputs.js";
import { authedProcedure, router } from "../trpc.js";

/**
 * Thin transport over VideoCallService (server/services/video-call/service.ts). Input is parsed
 * here, once; the service receives it typed. The REST routes parse with the same schemas.
 */
export const videoCallRouter = router({
  status: authedProcedure
    .input(StudyCallSchema)
    .query(({ ctx, input }) => ctx.services.videoCall.status(ctx.user.id, input)),
  history: authedProcedure
    .input(HistorySchema)
    .query(({ ctx, input }) => ctx.services.videoCall.history(ctx.user.id, input)),
  /** One ended call in full: per-person totals, its stored room events, the chat transcript. */
  record: authedProcedure
    .input(CallRecordSchema)
    .query(({ ctx, input }) => ctx.services.videoCall.record(ctx.user.id, input)),
  start: authedProcedure
    .input(StudyCallSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.start(ctx.user.id, input)),
  /** A pre-join grant: the pre-join screen opens its signaling socket with it before the click. */
  prepareJoin: authedProcedure
    .input(PrepareJoinSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.prepareJoin(ctx.user.id, input)),
  join: authedProcedure
    .input(JoinSessionSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.join(ctx.user.id, input)),
  leave: authedProcedure
    .input(SessionCallSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.leave(ctx.user.id, input)),
  heartbeat: authedProcedure
    .input(SessionCallSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.heartbeat(ctx.user.id, input)),
  setMedia: authedProcedure
    .input(SetMediaSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.setMedia(ctx.user.id, input)),
  setHand: authedProcedure
    .input(SetHandSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.setHand(ctx.user.id, input)),
  reportLink: authedProcedure
    .input(LinkReportSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.reportLink(ctx.user.id, input)),
  /** Relays how the caller shows each named participant's video to that participant only. */
  setViews: authedProcedure
    .input(SetViewsSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.setViews(ctx.user.id, input)),
  // Host controls (study OWNER and ADMIN members; server/services/video-call/host-controls.ts).
  muteParticipant: authedProcedure
    .input(TargetSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.mute(ctx.user.id, input)),
  muteAll: authedProcedure
    .input(SessionCallSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.muteAll(ctx.user.id, input)),
  askToUnmute: authedProcedure
    .input(TargetSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.askToUnmute(ctx.user.id, input)),
  removeParticipant: authedProcedure
    .input(RemoveSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.remove(ctx.user.id, input)),
  setPermissions: authedProcedure
    .input(PermissionsSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.setPermissions(ctx.user.id, input)),
  lowerHand: authedProcedure
    .input(TargetSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.lowerHand(ctx.user.id, input)),
  lowerAllHands: authedProcedure
    .input(SessionCallSchema)
    .mutation(({ ctx, input }) => ctx.services.videoCall.hosts.lowerAllHands(ctx.user.id, input)),
  /**
   * Live room events over SSE. Membership is checked before the stream opens, so a refused
   * subscriber gets an HTTP error instead of an empty stream; event ids let reconnects resume.
   * The stream also ends when the login session behind it does.
   */
  events: authedProcedure.input(WatchSchema).subscription(async ({ ctx, input, signal }) => {
    const live = ctx.sessionId ? ctx.services.auth.sessions.untilEnded(ctx.sessionId, signal) : signal;
    const stream = await ctx.services.videoCall.watch(ctx.user.id, input, live);
    return (async function* () {
      for await (const { id, event } of stream) yield tracked(id, event);
    })();
  }),
});
