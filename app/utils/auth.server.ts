import { redirect, type AppLoadContext } from "@remix-run/node";
import type { SessionUser } from "../../server/services/accounts";
import type { AuthSession } from "../../server/sessions";

export async function getUser(request: Request, context: AppLoadContext): Promise<SessionUser | null> {
  return context.services.auth.currentUser(request.headers.get("Cookie"));
}

/** Sends anonymous visitors (and ended sessions) to the login page and brings them back afterwards. */
export async function requireSession(request: Request, context: AppLoadContext): Promise<AuthSession> {
  const session = await context.services.auth.sessionFromCookie(request.headers.get("Cookie"));
  if (!session) {
    const url = new URL(request.url);
    const redirectTo = `${url.pathname}${url.search}`;
    throw redirect(`/login?${new URLSearchParams({ redirectTo })}`);
  }
  return session;
}

export async function requireUser(request: Request, context: AppLoadContext): Promise<SessionUser> {
  return (await requireSession(request, context)).user;
}

/** Only same-site relative paths: an open redirect would let a link send people anywhere after login. */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = "/studies"): string {
  if (typeof to !== "string" || !to.startsWith("/") || to.startsWith("//") || to.startsWith("/\\")) return fallback;
  return to;
}
