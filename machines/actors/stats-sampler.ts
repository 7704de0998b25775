/**
 * One timer for the quality monitor of every peer connection on the page. Each media-call actor
 * registers its RTCPeerConnection; every tick the sampler calls getStats() once per registered
 * connection, parses the report once (parseStatsReport, against that connection's previous parse
 * so bitrates and interval loss are rates) and hands the sample to that connection's listener,
 * which turns it into the peer machine's QUALITY_SAMPLE.
 *
 * Cheap by construction: no timer runs while nothing is registered, a tick never overlaps the
 * previous one (a slow getStats round is skipped rather than stacked), and a connection
 * unregistered mid-round gets no late sample.
 */
import { type ParsedStats, type StatsReportLike, parseStatsReport } from "../quality";
import { createPolledSet } from "./polled-set";

/** Anything with getStats(): an RTCPeerConnection in the browser, a fake in tests. */
export interface StatsSource {
  getStats(): Promise<StatsReportLike>;
}

export interface StatsSampler {
  /**
   * Samples `source()` on every tick (a getter, because PeerJS creates the RTCPeerConnection
   * lazily; ticks where it returns undefined are skipped). Returns the unregister function.
   */
  register(source: () => StatsSource | undefined | null, onSample: (sample: ParsedStats) => void): () => void;
  /** Number of registered connections (for tests and the debug panel). */
  readonly size: number;
  /** Whether the single interval timer is currently armed. */
  readonly running: boolean;
}

interface Entry {
  source: () => StatsSource | undefined | null;
  onSample: (sample: ParsedStats) => void;
  prev: ParsedStats | undefined;
}

const STATS_INTERVAL_MS = 2_000;

export function createStatsSampler(
  intervalMs: number = STATS_INTERVAL_MS,
  parse: (report: StatsReportLike, prev?: ParsedStats) => ParsedStats = parseStatsReport,
): StatsSampler {
  let inFlight = false;

  const sampleOne = async (entry: Entry) => {
    const source = entry.source();
    if (!source) return;
    let report: StatsReportLike;
    try {
      report = await source.getStats();
    } catch {
      return; // closed connection; it unregisters itself
    }
    if (!polled.entries.has(entry)) return;
    const sample = parse(report, entry.prev);
    entry.prev = sample;
    entry.onSample(sample);
  };

  const polled = createPolledSet<Entry>(intervalMs, (entries) => {
    if (inFlight) return;
    inFlight = true;
    void Promise.allSettled([...entries].map(sampleOne)).finally(() => {
      inFlight = false;
    });
  });

  return {
    register: (source, onSample) => polled.add({ source, onSample, prev: undefined }),
    get size() {
      return polled.entries.size;
    },
    get running() {
      return polled.running;
    },
  };
}

/** The page-wide sampler every browser media-call actor registers with. */
export const sharedStatsSampler: StatsSampler = createStatsSampler();
