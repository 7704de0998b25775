import { router, authedProcedure } from "../trpc.js";
import { z } from "zod";

export const studyRouter = router({
  list: authedProcedure.query(({ ctx }) => ctx.services.studies.listMine(ctx.user.id)),
  byId: authedProcedure
    .input(z.object({ studyId: z.string().max(100) }))
    .query(({ ctx, input }) => ctx.services.studies.getForMember(ctx.user.id, input.studyId)),
});
