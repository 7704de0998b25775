/**
 * Notices that packets from a remote stopped arriving and then came back, i.e. the link went
 * through an outage. ICE only calls a link "disconnected" after ~2.5 s without a consent check,
 * so a short outage can pass without any ICE event at all; yet everything we sent meanwhile was
 * lost, and the other side cannot decode our video again until it gets a keyframe. Both ends of
 * a call send audio packets every 20 ms, muted or not, so silence on our inbound audio is a
 * reliable sign the path was down in both directions.
 *
 * The detector is pure (fed a value that changes whenever a packet arrives, and the time) so it is
 * tested in Node; the watcher feeds it the audio `inbound-rtp` entries' `packetsReceived` from the
 * connection's getStats(). It used to read RTCRtpReceiver.getSynchronizationSources(): a
 * synchronous call that, in Chromium, waits for WebRTC's worker thread, and in `bench:join` (issue
 * #16 §3) the heaviest single item of a steady call page even at 2 reads/s per remote (353 ms of
 * 524 ms of JS in 10 s of a page on a loaded machine). getStats() answers asynchronously, so the
 * main thread never waits, and after the first read only the audio entries are built (`get` by id).
 * A read is still as seldom as the rule allows: a silence of `silenceMs` always spans one whole
 * poll interval when the interval is half of it, and a poll with no new packet is what proves it
 * (see `silencePolling`).
 */

import type { StatsLike } from "../quality";
import { pageReadsWait } from "./negotiation-gate";
import { createPolledSet } from "./polled-set";

/** Silence shorter than this is jitter, not an outage. */
const INBOUND_SILENCE_MS = 1_000;

/**
 * How often to read, and what counts as silence, to notice every silence of at least
 * `silenceMs`: packets arrive every 20 ms, so a poll that finds no new packet since the previous
 * one proves a whole interval of silence. Any silence at least two intervals long contains one
 * whole interval, whatever its phase against the polls: hence polls every `silenceMs / 2`. The
 * detector measures silence between the polls that saw packets: one interval (no silence) for
 * flowing media, two or more once a poll saw nothing, so the threshold sits halfway (1.5
 * intervals). (A silence shorter than `silenceMs` may be noticed too when it happens to cover a
 * whole interval: a keyframe too many, after a loss that cost one anyway.)
 */
export function silencePolling(silenceMs: number): { pollMs: number; thresholdMs: number } {
  const pollMs = silenceMs / 2;
  return { pollMs, thresholdMs: pollMs * 1.5 };
}

export interface SilenceDetector {
  /**
   * `lastPacket`: any value that changes whenever a packet arrives (null: none, or none any more).
   * Returns how long the silence lasted when packets resume after at least `silenceMs`, else null.
   */
  observe(lastPacket: number | null, now: number): number | null;
}

/**
 * A silence is reported only when at least one observation in it saw nothing new: a late or
 * skipped poll (a busy main thread, a slow read) stretches the time between two observations
 * that both saw packets, and that is not an outage.
 */
export function createSilenceDetector(silenceMs: number = INBOUND_SILENCE_MS): SilenceDetector {
  let last: number | null = null;
  let lastChangeAt: number | null = null;
  let sawNothing = false;
  return {
    observe(lastPacket, now) {
      if (lastPacket === null || last === lastPacket) {
        if (last !== null) sawNothing = true;
        return null;
      }
      const silent = lastChangeAt === null || !sawNothing ? 0 : now - lastChangeAt;
      last = lastPacket;
      lastChangeAt = now;
      sawNothing = false;
      return silent >= silenceMs ? silent : null;
    },
  };
}

/** An RTCStatsReport, or a fake: map-like, so entries can be read by id. */
export interface AudioStatsReport {
  get(id: string): StatsLike | undefined;
  values(): Iterable<StatsLike>;
}

const isInboundAudio = (s: StatsLike) => s.type === "inbound-rtp" && (s["kind"] ?? s["mediaType"]) === "audio";

/**
 * Audio packets received so far over the report's inbound audio streams, or null without any.
 * `ids` remembers where they were: a read `get`s just those (Chromium builds a JS object for
 * every entry a report is iterated over, ~25 per connection) and walks the report only while
 * there are none yet or one went away.
 */
export function audioPacketsReceived(report: AudioStatsReport, ids: string[]): { count: number | null; ids: string[] } {
  if (ids.length > 0) {
    let count = 0;
    for (const id of ids) {
      const s = report.get(id);
      if (!s) return audioPacketsReceived(report, []);
      count += typeof s["packetsReceived"] === "number" ? s["packetsReceived"] : 0;
    }
    return { count, ids };
  }
  const found = [...report.values()].filter(isInboundAudio);
  if (found.length === 0) return { count: null, ids: [] };
  return audioPacketsReceived(
    report,
    found.map((s) => s.id),
  );
}

type Connection = { getStats(): Promise<AudioStatsReport> };

export interface InboundSilenceWatcher {
  /**
   * Polls `pc()` (PeerJS creates the connection lazily) and calls `onResumed(silentMs)` each time
   * packets come back after an outage. Returns the cleanup.
   */
  watch(pc: () => Connection | undefined | null, onResumed: (silentMs: number) => void): () => void;
}

/** One timer for every call on the page, armed only while something is watched. */
export function createInboundSilenceWatcher({
  silenceMs = INBOUND_SILENCE_MS,
  skipWhile,
}: {
  silenceMs?: number;
  /** A poll is skipped while this says so (the page's calls negotiate: negotiation-gate.ts). */
  skipWhile?: () => boolean;
} = {}): InboundSilenceWatcher {
  const { pollMs, thresholdMs } = silencePolling(silenceMs);
  interface Entry {
    pc: () => Connection | undefined | null;
    onResumed: (ms: number) => void;
    detector: SilenceDetector;
    ids: string[];
    /** A read is under way: the next poll skips this connection rather than stack reads. */
    reading: boolean;
  }
  const read = async (entry: Entry, connection: Connection) => {
    let report: AudioStatsReport;
    try {
      report = await connection.getStats();
    } catch {
      return; // closed connection; its owner unwatches it
    }
    if (!polled.entries.has(entry)) return;
    const { count, ids } = audioPacketsReceived(report, entry.ids);
    entry.ids = ids;
    const silent = entry.detector.observe(count, performance.now());
    if (silent !== null) entry.onResumed(silent);
  };
  const polled = createPolledSet<Entry>(
    pollMs,
    (entries) => {
      for (const entry of entries) {
        const connection = entry.reading ? null : entry.pc();
        if (!connection) continue;
        entry.reading = true;
        void read(entry, connection).finally(() => {
          entry.reading = false;
        });
      }
    },
    skipWhile,
  );
  return {
    watch: (pc, onResumed) =>
      polled.add({ pc, onResumed, detector: createSilenceDetector(thresholdMs), ids: [], reading: false }),
  };
}

/** The page's watcher: a skipped poll is never taken for an outage (createSilenceDetector). */
export const sharedInboundSilenceWatcher: InboundSilenceWatcher = createInboundSilenceWatcher({
  skipWhile: pageReadsWait,
});
