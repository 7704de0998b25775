import { createCookieSessionStorage, type SessionStorage } from "@remix-run/node";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import type { AccountService, SessionUser } from "./services/accounts.js";
import { setBounded } from "./bounded-map.js";

export const SESSION_COOKIE = "coup_session";
const USER_KEY = "userId";
const THIRTY_DAYS = 60 * 60 * 24 * 30;

type SessionData = { [USER_KEY]: string };
type FlashData = { toast: string };

/** Builds everything that reads or writes the login session; shared by Remix, tRPC and the WebSocket upgrade. */
export function createAuth(secret: string, accounts: AccountService) {
  const storages = new Map<boolean, SessionStorage<SessionData, FlashData>>();
  // "secure when served over https": the flag must follow the request, so keep one storage per scheme.
  const storageFor = (secure: boolean) => {
    let s = storages.get(secure);
    if (!s) {
      s = createCookieSessionStorage<SessionData, FlashData>({
        cookie: {
          name: SESSION_COOKIE,
          httpOnly: true,
          sameSite: "lax",
          path: "/",
          secure,
          secrets: [secret],
          maxAge: THIRTY_DAYS,
        },
      });
      storages.set(secure, s);
    }
    return s;
  };
  const isHttps = (request: Request) => new URL(request.url).protocol === "https:";

  const authenticator = new Authenticator<SessionUser>();
  authenticator.use(
    new FormStrategy(async ({ form, request }) => {
      const ip = request.headers.get("x-coup-client-ip") ?? "unknown";
      return accounts.login({ email: form.get("email") ?? "", password: form.get("password") ?? "" }, ip);
    }),
    "form",
  );

  // Verifying the cookie's signature is an async HMAC on every API call; the same header string
  // always verifies the same way, so a verified answer is reused briefly.
  const verified = new Map<string, { userId: string | null; expires: number }>();
  async function userIdFromCookie(cookieHeader: string | null | undefined): Promise<string | null> {
    if (!cookieHeader) return null;
    const now = Date.now();
    const hit = verified.get(cookieHeader);
    if (hit && hit.expires > now) return hit.userId;
    const session = await storageFor(false).getSession(cookieHeader);
    const id = session.get(USER_KEY);
    const userId = typeof id === "string" ? id : null;
    setBounded(verified, cookieHeader, { userId, expires: now + 10_000 }, 10_000);
    return userId;
  }

  async function currentUser(cookieHeader: string | null | undefined): Promise<SessionUser | null> {
    const id = await userIdFromCookie(cookieHeader);
    return id ? accounts.findUser(id) : null;
  }

  async function commitLogin(request: Request, userId: string): Promise<string> {
    const storage = storageFor(isHttps(request));
    const session = await storage.getSession(request.headers.get("Cookie"));
    session.set(USER_KEY, userId);
    return storage.commitSession(session);
  }

  async function destroy(request: Request): Promise<string> {
    const storage = storageFor(isHttps(request));
    return storage.destroySession(await storage.getSession(request.headers.get("Cookie")));
  }

  return { authenticator, userIdFromCookie, currentUser, commitLogin, destroy };
}

export type Auth = ReturnType<typeof createAuth>;
