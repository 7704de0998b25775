import { createCallerFactory, router } from "../trpc.js";
import { studyRouter } from "./study.js";

export const appRouter = router({
  study: studyRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
