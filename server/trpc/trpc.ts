import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { describeClientError, toClientError } from "../services/errors.js";
import type { Context } from "./context.js";

const t = initTRPC.context<Context>().create({
  // The message was set by errorMapping below; this only shapes `data` for every error.
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    return {
      ...shape,
      data: {
        ...shape.data,
        // Stack traces never leave the server.
        stack: undefined,
        zodError: zod ? z.flattenError(zod) : null,
        reason: toClientError(error.cause)?.reason ?? null,
      },
    };
  },
});

/**
 * Client failures (domain errors, invalid input) become their tRPC code through the shared mapping;
 * anything unexpected is logged and hidden behind a generic message.
 */
const errorMapping = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    const client = toClientError(cause);
    if (client) throw new TRPCError({ code: client.code, message: describeClientError(client), cause });
    if (result.error.code === "INTERNAL_SERVER_ERROR") {
      ctx.log.error({ err: result.error.cause ?? result.error, path }, "tRPC procedure failed");
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Something went wrong on our side. Try again." });
    }
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
const publicProcedure = t.procedure.use(errorMapping);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Log in to do that." });
  return next({ ctx: { ...ctx, user: ctx.user } });
});
