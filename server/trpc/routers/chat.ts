import { ListSchema, MarkReadSchema, SendSchema, TypingSchema } from "../../services/chat/inputs.js";
import { authedProcedure, router } from "../trpc.js";

/**
 * Thin transport over ChatService (server/services/chat/service.ts); its events ride the existing
 * videoCall.events stream. Files go through the REST routes in server/chat-files.ts.
 */
export const chatRouter = router({
  send: authedProcedure.input(SendSchema).mutation(({ ctx, input }) => ctx.services.chat.send(ctx.user.id, input)),
  list: authedProcedure.input(ListSchema).query(({ ctx, input }) => ctx.services.chat.list(ctx.user.id, input)),
  markRead: authedProcedure
    .input(MarkReadSchema)
    .mutation(({ ctx, input }) => ctx.services.chat.markRead(ctx.user.id, input)),
  typing: authedProcedure
    .input(TypingSchema)
    .mutation(({ ctx, input }) => ctx.services.chat.typing(ctx.user.id, input)),
});
