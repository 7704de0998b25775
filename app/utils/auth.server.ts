import { redirect, type AppLoadContext } from "@remix-run/node";
import type { SessionUser } from "../../server/services/accounts";

export async function getUser(request: Request, context: AppLoadContext): Promise<SessionUser | null> {
  return context.services.auth.currentUser(request.headers.get("Cookie"));
}

/** Sends anonymous visitors to the login page and brings them back afterwards. */
export async function requireUser(request: Request, context: AppLoadContext): Promise<SessionUser> {
  const user = await getUser(request, context);
  if (!user) {
    const url = new URL(request.url);
    const redirectTo = `${url.pathname}${url.search}`;
    throw redirect(`/login?${new URLSearchParams({ redirectTo })}`);
  }
  return user;
}

/** Only same-site relative paths: an open redirect would let a link send people anywhere after login. */
export function safeRedirect(to: FormDataEntryValue | string | null | undefined, fallback = "/studies"): string {
  if (typeof to !== "string" || !to.startsWith("/") || to.startsWith("//") || to.startsWith("/\\")) return fallback;
  return to;
}
