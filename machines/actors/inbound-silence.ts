/**
 * Notices that packets from a remote stopped arriving and then came back, i.e. the link went
 * through an outage. ICE only calls a link "disconnected" after ~2.5 s without a consent check,
 * so a short outage can pass without any ICE event at all; yet everything we sent meanwhile was
 * lost, and the other side cannot decode our video again until it gets a keyframe. Both ends of
 * a call send audio packets every 20 ms, so silence on our inbound side is a reliable sign the
 * path was down in both directions.
 *
 * The detector is pure (fed a "last packet seen" value and the current time) so it is tested in
 * Node; the watcher feeds it from RTCRtpReceiver.getSynchronizationSources() of the audio
 * receivers only. That read is synchronous and, in Chromium, waits for WebRTC's worker thread: in
 * `bench:join` (issue #16 §1, §3) it was the heaviest single item of a steady call page (~55 ms of
 * main thread per second at 5 reads/s per remote on a loaded machine). So it is read as seldom as
 * the rule allows: a silence of `silenceMs` always spans one whole poll interval when the interval
 * is half of it, and a poll interval with no new packet is all it takes to see it (see
 * `silencePolling`). Audio alone says it (its packets come every 20 ms, muted or not).
 */

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
 * intervals), which timer jitter under load cannot cross either way. (A silence shorter than
 * `silenceMs` may be noticed too when it happens to cover a whole interval: a keyframe too many,
 * after a loss that cost one anyway.)
 */
export function silencePolling(silenceMs: number): { pollMs: number; thresholdMs: number } {
  const pollMs = silenceMs / 2;
  return { pollMs, thresholdMs: pollMs * 1.5 };
}

export interface SilenceDetector {
  /**
   * `lastPacket`: any value that changes whenever a packet arrives (null: none yet).
   * Returns how long the silence lasted when packets resume after at least `silenceMs`, else null.
   */
  observe(lastPacket: number | null, now: number): number | null;
}

export function createSilenceDetector(silenceMs: number = INBOUND_SILENCE_MS): SilenceDetector {
  let last: number | null = null;
  let lastChangeAt: number | null = null;
  return {
    observe(lastPacket, now) {
      if (lastPacket === null) return null;
      if (last === lastPacket) return null;
      const silent = lastChangeAt === null ? 0 : now - lastChangeAt;
      last = lastPacket;
      lastChangeAt = now;
      return silent >= silenceMs ? silent : null;
    },
  };
}

interface ReceiverLike {
  getSynchronizationSources(): { timestamp: number }[];
  /** Absent in fakes: such a receiver is read. */
  readonly track?: { kind: string } | null;
}

/** Audio packets come every 20 ms from both ends of a call: they alone tell a silence. */
const audioOnly = (r: ReceiverLike) => !r.track || r.track.kind === "audio";

/** Newest packet time over all of a connection's receivers (audio and video). */
export function latestPacketTime(receivers: readonly ReceiverLike[]): number | null {
  let latest: number | null = null;
  for (const r of receivers) {
    for (const s of r.getSynchronizationSources()) {
      if (latest === null || s.timestamp > latest) latest = s.timestamp;
    }
  }
  return latest;
}

type Connection = { getReceivers(): readonly ReceiverLike[] };

export interface InboundSilenceWatcher {
  /**
   * Polls `pc()` (PeerJS creates the connection lazily) and calls `onResumed(silentMs)` each time
   * packets come back after an outage. Returns the cleanup.
   */
  watch(pc: () => Connection | undefined | null, onResumed: (silentMs: number) => void): () => void;
}

/** One timer for every call on the page, armed only while something is watched. */
export function createInboundSilenceWatcher({ silenceMs = INBOUND_SILENCE_MS } = {}): InboundSilenceWatcher {
  const { pollMs, thresholdMs } = silencePolling(silenceMs);
  interface Entry {
    pc: () => Connection | undefined | null;
    onResumed: (ms: number) => void;
    detector: SilenceDetector;
  }
  const polled = createPolledSet<Entry>(pollMs, (entries) => {
    const now = performance.now();
    for (const entry of entries) {
      const connection = entry.pc();
      if (!connection) continue;
      let latest: number | null;
      try {
        latest = latestPacketTime(connection.getReceivers().filter(audioOnly));
      } catch {
        continue; // closed connection; its owner unwatches it
      }
      const silent = entry.detector.observe(latest, now);
      if (silent !== null) entry.onResumed(silent);
    }
  });
  return {
    watch: (pc, onResumed) => polled.add({ pc, onResumed, detector: createSilenceDetector(thresholdMs) }),
  };
}

export const sharedInboundSilenceWatcher: InboundSilenceWatcher = createInboundSilenceWatcher();
