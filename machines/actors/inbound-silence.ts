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
 * `bench:join` (issue #16 §1) asking every receiver five times a second cost an answering page
 * ~205 ms of main thread during one 4th join on a loaded machine. Audio alone says the same thing
 * (its packets come every 20 ms, muted or not) for half the calls.
 */

import { createPolledSet } from "./polled-set";

/** Silence shorter than this is jitter, not an outage. */
const INBOUND_SILENCE_MS = 1_000;
const INBOUND_POLL_MS = 200;

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
export function createInboundSilenceWatcher({
  silenceMs = INBOUND_SILENCE_MS,
  pollMs = INBOUND_POLL_MS,
} = {}): InboundSilenceWatcher {
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
    watch: (pc, onResumed) => polled.add({ pc, onResumed, detector: createSilenceDetector(silenceMs) }),
  };
}

export const sharedInboundSilenceWatcher: InboundSilenceWatcher = createInboundSilenceWatcher();
