/**
 * Entries polled together by one interval timer, armed only while there is an entry: a page with
 * six calls wakes up once per interval, not six times, and an idle page not at all.
 */
export interface PolledSet<T> {
  readonly entries: ReadonlySet<T>;
  /** Adds an entry; the returned function removes it (and stops the timer with the last one). */
  add(entry: T): () => void;
  readonly running: boolean;
}

/** `skipWhile`: a tick is skipped while it returns true (see NegotiationGate.readsWait). */
export function createPolledSet<T>(
  intervalMs: number,
  tick: (entries: ReadonlySet<T>) => void,
  skipWhile: () => boolean = () => false,
): PolledSet<T> {
  const entries = new Set<T>();
  let timer: ReturnType<typeof setInterval> | null = null;
  return {
    entries,
    add(entry) {
      entries.add(entry);
      timer ??= setInterval(() => {
        if (!skipWhile()) tick(entries);
      }, intervalMs);
      return () => {
        entries.delete(entry);
        if (entries.size === 0 && timer !== null) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
    get running() {
      return timer !== null;
    },
  };
}
