/**
 * Holds encoder changes (RTCRtpSender.setParameters) back while any call on the page is still
 * negotiating. Each setParameters, and the getParameters it needs, runs on WebRTC's signaling
 * thread, in one queue with the offers, answers and ICE candidates of the calls being set up: in
 * `bench:join` (issue #16 §1) a 4th join made every page re-fit every sender to the new uplink
 * budget at once, and those calls took 350–1,040 ms to resolve, the join's negotiation waiting
 * behind them. A budget applied a second later costs nothing anyone notices; a join delayed by it
 * does. So a change waits until no call is negotiating, or at most `maxHoldMs` (a call that never
 * connects must not freeze everyone else's encoders).
 *
 * A join that is only announced counts too: the room says "Dave joined" ~100 ms before Dave's offer
 * reaches the members already in the call, and each of them re-fits its senders to the smaller
 * budget at once; the offer then queues behind those setParameters. So a page holds the gate while
 * it waits for an announced caller (the peer machine's `answering` state), and "nothing
 * negotiates" is decided a microtask later, once every actor the same event started has begun:
 * the budget change and the expected call's hold come from one room event, in either order.
 *
 * And a change released by the end of a negotiation waits `settleMs` more: the links that just
 * connected are carrying their first frames, and each page's getParameters for the budget (a call
 * that blocks the page until the signaling thread answers: ~90 ms on a 4th joiner) and each new
 * encoder setting landed exactly then. A change with no negotiation in the last `settleMs` (a
 * tile shown again) still runs at once.
 */

export interface NegotiationGate {
  /** A call starts negotiating; the returned function says it is done (connected, failed or gone). */
  begin(): () => void;
  /**
   * Runs `apply` in a microtask when nothing negotiates then nor did in the last `settleMs`, else
   * once that is so (or `maxHoldMs` passed). Several waits for the same `key` run it once.
   * Returns a cancel function.
   */
  whenSettled(key: object, apply: () => void): () => void;
  readonly negotiating: number;
  /**
   * Whether periodic stats reads should skip their turn: a call negotiates, and the negotiating
   * began less than `maxHoldMs` ago. Each getStats queues on the same signaling thread (on a
   * 4th join in `bench:join`, an answering page made 9 reads of 74 ms each while it answered);
   * a skipped read costs a quality sample or a silence check a moment later, nothing more, and a
   * link that keeps re-dialling never stops the others' reads for longer than `maxHoldMs`.
   */
  readsWait(): boolean;
}

export function createNegotiationGate(maxHoldMs = 3_000, settleMs = 1_000): NegotiationGate {
  let negotiating = 0;
  const waiting = new Map<object, () => void>();
  /** The oldest waiting change runs by `maxHoldMs` after it began to wait, whatever else happens. */
  let holdTimer: ReturnType<typeof setTimeout> | null = null;
  /** Wakes `check` when the quiet period after the last negotiation is over. */
  let settleTimer: ReturnType<typeof setTimeout> | null = null;
  let checkQueued = false;
  /** When the negotiating began (count 0 → 1); null while nothing negotiates. */
  let busySince: number | null = null;
  /** When the last negotiation ended (count back to 0). */
  let settledAt = Number.NEGATIVE_INFINITY;

  const clearTimers = () => {
    if (holdTimer !== null) clearTimeout(holdTimer);
    if (settleTimer !== null) clearTimeout(settleTimer);
    holdTimer = settleTimer = null;
  };
  const flush = () => {
    clearTimers();
    const runs = [...waiting.values()];
    waiting.clear();
    for (const run of runs) run();
  };
  /** Runs what waits when nothing negotiates and the last negotiation ended `settleMs` ago. */
  const check = () => {
    if (waiting.size === 0) return clearTimers();
    // Still negotiating: the end of it checks again (and whenSettled armed the hold timer).
    if (negotiating > 0) return;
    const wait = settledAt + settleMs - Date.now();
    if (wait <= 0) return flush();
    if (settleTimer !== null) clearTimeout(settleTimer);
    settleTimer = setTimeout(() => {
      settleTimer = null;
      check();
    }, wait);
  };
  /** `check` once everything the current event started has run (see the file comment). */
  const checkSoon = () => {
    if (checkQueued) return;
    checkQueued = true;
    queueMicrotask(() => {
      checkQueued = false;
      check();
    });
  };

  return {
    begin() {
      negotiating++;
      busySince ??= Date.now();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        negotiating--;
        if (negotiating === 0) {
          busySince = null;
          settledAt = Date.now();
          checkSoon();
        }
      };
    },
    readsWait() {
      return busySince !== null && Date.now() - busySince < maxHoldMs;
    },
    whenSettled(key, apply) {
      waiting.set(key, apply);
      holdTimer ??= setTimeout(flush, maxHoldMs);
      checkSoon();
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

/** The page's periodic stats readers skip their turn while this says so (see `readsWait`). */
export const pageReadsWait = (): boolean => sharedNegotiationGate.readsWait();
