/**
 * Retry schedule shared by peer links and the signaling socket.
 *
 * Three attempts with growing gaps: a flaky Wi-Fi hiccup is usually over within a second, a
 * router/NAT rebinding takes a few seconds, and anything longer than ~10 s of retries is better
 * handed to the user ("Retry") than hammered on. No random jitter: only one side of a peer link
 * ever re-dials (see shouldCall), so there is no herd to spread out, and deterministic delays keep
 * the UI's "Reconnecting (2/3)" honest and the tests exact.
 */

export const MAX_RECONNECT_ATTEMPTS = 3;

/** Delay before attempt n (1-based). */
export const RECONNECT_DELAYS_MS: readonly number[] = [1_000, 3_000, 7_000];

/** After this long since the first failure we stop, whatever the attempt count says. */
export const RECONNECT_GIVE_UP_AFTER_MS = 60_000;

/**
 * @param attempt 1-based number of the attempt about to be made.
 * @param elapsedMs time since the link first failed.
 * @returns how long to wait before that attempt, or null when we should give up.
 */
export function nextRetryDelay(attempt: number, elapsedMs: number): number | null {
  if (!Number.isInteger(attempt) || attempt < 1 || attempt > MAX_RECONNECT_ATTEMPTS) return null;
  if (!Number.isFinite(elapsedMs) || elapsedMs >= RECONNECT_GIVE_UP_AFTER_MS) return null;
  return RECONNECT_DELAYS_MS[attempt - 1] ?? null;
}
