/**
 * Retry schedules: peer links (`nextRetryDelay`) and the signaling socket
 * (`nextSignalingRetryDelay`, with jitter).
 *
 * Peer links: three attempts with growing gaps: a flaky Wi-Fi hiccup is usually over within a
 * second, a router/NAT rebinding takes a few seconds, and anything longer than ~10 s of retries is
 * better handed to the user ("Retry") than hammered on. No random jitter there: only one side of a
 * peer link ever re-dials (see shouldCall), so there is no herd to spread out, and deterministic
 * delays keep the UI's "Reconnecting (2/3)" honest.
 */

export const MAX_RECONNECT_ATTEMPTS = 3;

/** Delay before attempt n (1-based). */
const RECONNECT_DELAYS_MS: readonly number[] = [1_000, 3_000, 7_000];

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

/** Gap before signaling re-dial n (1-based) before jitter; the last entry repeats. */
const SIGNALING_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000];

/** Each signaling gap is drawn from [base × (1 − this), base]. */
const SIGNALING_JITTER = 0.5;

/** A source of numbers in [0, 1), like Math.random; injected so tests are exact. */
export type RandomSource = () => number;

/** Returns 0 every time: the schedule without jitter (the top of every window). */
export const NO_JITTER: RandomSource = () => 0;

/**
 * When the PeerServer socket drops we keep re-dialling (after ~1 s, then every ~2 s) until a
 * minute has passed since the drop, then show "Reconnect". Unlike a peer link, losing signaling
 * costs nothing that is flowing, and a server restart takes many seconds: the short steady gap
 * means we are back within ~2 s of the server, well inside its boot grace for our peer id.
 *
 * The gap is jittered downwards (base × (1 − J·r), so 1–2 s for the 2 s gap): after a server
 * restart every browser in every call lost its socket at the same instant, and without jitter they
 * would all re-dial on the same beat (LiveKit's DefaultReconnectPolicy adds jitter for the same
 * reason). Only downwards, so "back within ~2 s of the server" still holds.
 *
 * @param random a source of numbers in [0, 1); NO_JITTER gives the bare schedule.
 * @returns the delay before re-dial `attempt`, or null when we should give up.
 */
export function nextSignalingRetryDelay(
  attempt: number,
  elapsedMs: number,
  random: RandomSource = Math.random,
): number | null {
  if (!Number.isInteger(attempt) || attempt < 1) return null;
  if (!Number.isFinite(elapsedMs) || elapsedMs >= RECONNECT_GIVE_UP_AFTER_MS) return null;
  const base = SIGNALING_RETRY_DELAYS_MS[Math.min(attempt, SIGNALING_RETRY_DELAYS_MS.length) - 1];
  if (base === undefined) return null;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(base * (1 - SIGNALING_JITTER * r));
}
