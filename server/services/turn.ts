import { createHmac } from "node:crypto";
import type { IceServer } from "../../machines/room-protocol.js";

/**
 * TURN REST API credentials (the scheme coturn's `use-auth-secret` checks): the username carries
 * its own expiry, the password is an HMAC of it, so the server keeps no per-user TURN state.
 */
export function turnCredentials(secret: string, userId: string, ttlSeconds: number, now: Date = new Date()) {
  const expiry = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const username = `${expiry}:${userId}`;
  const credential = createHmac("sha1", secret).update(username).digest("base64");
  return { username, credential, expiresAt: new Date(expiry * 1000) };
}

const splitUrls = (s: string) =>
  s
    .split(",")
    .map((u) => u.trim())
    .filter(Boolean);

/** The ICE servers handed to one user's browser: only what is configured, never public defaults. */
export function iceServersFor(
  cfg: { STUN_URLS: string; TURN_URLS: string; TURN_SECRET?: string; TURN_TTL_SECONDS: number },
  userId: string,
  now: Date = new Date(),
): IceServer[] {
  const servers: IceServer[] = [];
  const stun = splitUrls(cfg.STUN_URLS);
  if (stun.length) servers.push({ urls: stun });
  const turn = splitUrls(cfg.TURN_URLS);
  if (turn.length && cfg.TURN_SECRET) {
    const { username, credential } = turnCredentials(cfg.TURN_SECRET, userId, cfg.TURN_TTL_SECONDS, now);
    servers.push({ urls: turn, username, credential });
  }
  return servers;
}
