import { createCallerFactory, router } from "../trpc.js";
import { chatRouter } from "./chat.js";
import { studyRouter } from "./study.js";
import { videoCallRouter } from "./video-call.js";

export const appRouter = router({
  study: studyRouter,
  videoCall: videoCallRouter,
  chat: chatRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
