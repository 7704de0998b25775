import { createCookie } from "@remix-run/node";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import type { AccountService, SessionUser } from "./services/accounts.js";
import { setBounded } from "./bounded-map.js";
import { SESSION_ID_RE, SESSION_TTL_MS, type AuthSession, type SessionStore } from "./sessions.js";

const SESSION_COOKIE = "coup_session";

/**
 * Builds everything that reads or writes the login cookie; shared by Remix, tRPC and the WebSocket
 * upgrade. The cookie carries only the signed id of a row in `sessions`, so ending a session
 * (logout, password change) takes effect wherever the cookie was copied to.
 */
export function createAuth(secret: string, accounts: AccountService, sessions: SessionStore) {
  const cookie = createCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    secrets: [secret],
    maxAge: SESSION_TTL_MS / 1000,
  });
  const isHttps = (request: Request) => new URL(request.url).protocol === "https:";

  const authenticator = new Authenticator<SessionUser>();
  authenticator.use(
    new FormStrategy(async ({ form, request }) => {
      const ip = request.headers.get("x-coup-client-ip") ?? "unknown";
      return accounts.login({ email: form.get("email") ?? "", password: form.get("password") ?? "" }, ip);
    }),
    "form",
  );

  // Checking the cookie's signature is an async HMAC on every API call; the same header string
  // always verifies the same way, so the answer is remembered (whether the session is still
  // alive is asked of the store every time).
  const verified = new Map<string, string | null>();
  async function sessionIdFromCookie(cookieHeader: string | null | undefined): Promise<string | null> {
    if (!cookieHeader) return null;
    const hit = verified.get(cookieHeader);
    if (hit !== undefined) return hit;
    // Cookies from before server-side sessions hold `{"userId": …}` and fail the shape check.
    const value: unknown = await cookie.parse(cookieHeader).catch(() => null);
    const id = typeof value === "string" && SESSION_ID_RE.test(value) ? value : null;
    setBounded(verified, cookieHeader, id, 10_000);
    return id;
  }

  async function sessionFromCookie(cookieHeader: string | null | undefined): Promise<AuthSession | null> {
    const id = await sessionIdFromCookie(cookieHeader);
    return id ? sessions.resolve(id) : null;
  }

  async function currentUser(cookieHeader: string | null | undefined): Promise<SessionUser | null> {
    return (await sessionFromCookie(cookieHeader))?.user ?? null;
  }

  /** Starts a new session for the user (ending the browser's previous one) and returns its Set-Cookie value. */
  async function commitLogin(request: Request, userId: string): Promise<string> {
    const previous = await sessionIdFromCookie(request.headers.get("Cookie"));
    if (previous) await sessions.end(previous);
    const { id } = await sessions.create(userId, request.headers.get("User-Agent"));
    return cookie.serialize(id, { secure: isHttps(request) });
  }

  /** Ends the request's session (if any) and returns a Set-Cookie value that clears the cookie. */
  async function destroy(request: Request): Promise<string> {
    const id = await sessionIdFromCookie(request.headers.get("Cookie"));
    if (id) await sessions.end(id);
    return cookie.serialize("", { secure: isHttps(request), maxAge: 0, expires: new Date(0) });
  }

  return { authenticator, sessions, sessionFromCookie, currentUser, commitLogin, destroy };
}

export type Auth = ReturnType<typeof createAuth>;
