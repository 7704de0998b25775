import { initTRPC, TRPCError } from "@trpc/server";
import { ZodError, z } from "zod";
import { DomainError } from "../services/errors.js";
import type { Context } from "./context.js";

/** First zod issue as a sentence a person can act on, e.g. "studyId: Study id must be a UUID". */
export function describeZodError(err: ZodError): string {
  const issue = err.issues[0];
  if (!issue) return "Invalid input";
  const where = issue.path.length ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    const zod = error.cause instanceof ZodError ? error.cause : null;
    return {
      ...shape,
      message: zod ? describeZodError(zod) : shape.message,
      data: {
        ...shape.data,
        // Stack traces never leave the server.
        stack: undefined,
        zodError: zod ? z.flattenError(zod) : null,
      },
    };
  },
});

/** Domain errors become their tRPC code; anything unexpected is logged and hidden behind a generic message. */
const errorMapping = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause instanceof DomainError) {
      throw new TRPCError({ code: cause.code, message: cause.message, cause });
    }
    if (cause instanceof ZodError) {
      throw new TRPCError({ code: "BAD_REQUEST", message: describeZodError(cause), cause });
    }
    if (result.error.code === "INTERNAL_SERVER_ERROR") {
      ctx.log.error({ err: result.error.cause ?? result.error, path }, "tRPC procedure failed");
      throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "Something went wrong on our side. Try again." });
    }
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(errorMapping);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Log in to do that." });
  return next({ ctx: { ...ctx, user: ctx.user } });
});
