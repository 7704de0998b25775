/**
 * Holds encoder changes (RTCRtpSender.setParameters) back while any call on the page is still
 * negotiating. Each setParameters, and the getParameters it needs, runs on WebRTC's signaling
 * thread, in one queue with the offers, answers and ICE candidates of the calls being set up: in
 * `bench:join` (issue #16 §1) a 4th join made every page re-fit every sender to the new uplink
 * budget at once, and those calls took 350–1,040 ms to resolve, the join's negotiation waiting
 * behind them. A budget applied a second later costs nothing anyone notices; a join delayed by it
 * does. So a change waits until no call is negotiating, or at most `maxHoldMs` (a call that never
 * connects must not freeze everyone else's encoders).
 */

export interface NegotiationGate {
  /** A call starts negotiating; the returned function says it is done (connected, failed or gone). */
  begin(): () => void;
  /**
   * Runs `apply` now when nothing negotiates, else once nothing does (or `maxHoldMs` passed).
   * Several waits for the same `key` run it once. Returns a cancel function.
   */
  whenSettled(key: object, apply: () => void): () => void;
  readonly negotiating: number;
}

export function createNegotiationGate(maxHoldMs = 3_000): NegotiationGate {
  let negotiating = 0;
  const waiting = new Map<object, () => void>();
  let timer: ReturnType<typeof setTimeout> | null = null;

  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const runs = [...waiting.values()];
    waiting.clear();
    for (const run of runs) run();
  };

  return {
    begin() {
      negotiating++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        negotiating--;
        if (negotiating === 0) flush();
      };
    },
    whenSettled(key, apply) {
      if (negotiating === 0) {
        apply();
        return () => {};
      }
      waiting.set(key, apply);
      timer ??= setTimeout(flush, maxHoldMs);
      return () => {
        if (waiting.get(key) === apply) waiting.delete(key);
      };
    },
    get negotiating() {
      return negotiating;
    },
  };
}

/** The page-wide gate every browser media-call actor uses. */
export const sharedNegotiationGate: NegotiationGate = createNegotiationGate();
