/**
 * One timer for the quality monitor of every peer connection on the page. Each media-call actor
 * registers its RTCPeerConnection; every tick the sampler calls getStats() once per registered
 * connection, parses the report once (parseStatsReport, against that connection's previous parse
 * so bitrates and interval loss are rates) and hands the sample to that connection's listener,
 * which turns it into the peer machine's QUALITY_SAMPLE.
 *
 * Cheap by construction: no timer runs while nothing is registered, a tick never overlaps the
 * previous one (a slow getStats round is skipped rather than stacked), a connection
 * unregistered mid-round gets no late sample, and a report is read only where the parser looks
 * (`readStats`).
 */
import { type ParsedStats, type StatsLike, type StatsReportLike, parseStatsReport } from "../quality";
import { pageReadsWait } from "./negotiation-gate";
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
  plan: ReadPlan | undefined;
}

/** The stats types parseStatsReport reads (plus the transport's selected candidate pair). */
const READ_TYPES: ReadonlySet<string> = new Set(["inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "transport"]);

/** An RTCStatsReport: map-like, so single entries can be read by id. */
interface MapLikeReport {
  readonly size: number;
  get(id: string): StatsLike | undefined;
  /** The ids alone: strings, so walking them builds none of the entries. */
  keys(): Iterable<string>;
  values(): Iterable<StatsLike>;
}

/** Which entries of a connection's report the last full read found worth reading. */
export interface ReadPlan {
  /** Every id the report had then: a new or replaced entry (a stream's first packets, a candidate) means read all again. */
  all: ReadonlySet<string>;
  ids: string[];
  /** Reads by id since the last full read. */
  age: number;
}

/** A full read now and then even when nothing seems to have changed (an id replaced in place). */
const FULL_READ_EVERY = 15;

const isMapLike = (r: StatsReportLike): r is StatsReportLike & MapLikeReport =>
  "get" in r &&
  typeof r.get === "function" &&
  "keys" in r &&
  typeof r.keys === "function" &&
  "size" in r &&
  typeof r.size === "number";

/** Whether the report holds exactly the entries it held at the plan's full read (by id). */
function sameEntries(report: MapLikeReport, all: ReadonlySet<string>): boolean {
  if (report.size !== all.size) return false;
  for (const id of report.keys()) if (!all.has(id)) return false;
  return true;
}

/**
 * The entries of `report` that parseStatsReport reads. Chromium builds a JS object, with every
 * field, for each entry iterated (certificates, codecs, candidates, media sources: ~25 per
 * connection), and in `bench:join` that iteration was the heaviest item of a steady call page
 * after the silence reads (~18 ms of main thread per second for three connections). So one full
 * read finds the ids worth reading, and later samples `get` just those (and the transport's
 * selected candidate pair), until the report's ids change or FULL_READ_EVERY samples passed.
 */
export function readStats(
  report: StatsReportLike,
  plan: ReadPlan | undefined,
): { stats: StatsLike[]; plan: ReadPlan | undefined } {
  if (!isMapLike(report)) {
    const all =
      "values" in report && typeof report.values === "function" ? report.values() : (report as Iterable<StatsLike>);
    return { stats: [...all], plan };
  }
  // Same size is not enough: an entry can be replaced in place (a candidate pair goes as a stream's
  // inbound-rtp arrives), and a plan that missed the stream would show "–" for up to FULL_READ_EVERY samples.
  if (plan && plan.age < FULL_READ_EVERY && sameEntries(report, plan.all)) {
    const stats: StatsLike[] = [];
    for (const id of plan.ids) {
      const s = report.get(id);
      if (!s) return readStats(report, undefined);
      stats.push(s);
      const pair = s.type === "transport" ? s["selectedCandidatePairId"] : undefined;
      const selected = typeof pair === "string" ? report.get(pair) : undefined;
      if (selected) stats.push(selected);
    }
    return { stats, plan: { ...plan, age: plan.age + 1 } };
  }
  const stats = [...report.values()];
  const transportNamesPair = stats.some(
    (s) => s.type === "transport" && typeof s["selectedCandidatePairId"] === "string",
  );
  // Without a transport naming its selected pair (Firefox) there is no plan: every sample reads the
  // whole report, as before plans existed. The partial reads were measured and tested in Chromium only
  // (the cost they save is Chromium's building of every entry).
  if (!transportNamesPair) return { stats, plan: undefined };
  const wanted = (s: StatsLike) => READ_TYPES.has(s.type);
  return { stats, plan: { all: new Set(stats.map((s) => s.id)), ids: stats.filter(wanted).map((s) => s.id), age: 0 } };
}

const STATS_INTERVAL_MS = 2_000;

export function createStatsSampler(
  intervalMs: number = STATS_INTERVAL_MS,
  {
    parse = parseStatsReport,
    skipWhile,
  }: {
    parse?: (report: StatsReportLike, prev?: ParsedStats) => ParsedStats;
    /** A sample is skipped while this says so (the page's calls negotiate: negotiation-gate.ts). */
    skipWhile?: () => boolean;
  } = {},
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
    const { stats, plan } = readStats(report, entry.plan);
    entry.plan = plan;
    const sample = parse(stats, entry.prev);
    entry.prev = sample;
    entry.onSample(sample);
  };

  const polled = createPolledSet<Entry>(
    intervalMs,
    (entries) => {
      if (inFlight) return;
      inFlight = true;
      void Promise.allSettled([...entries].map(sampleOne)).finally(() => {
        inFlight = false;
      });
    },
    skipWhile,
  );

  return {
    register: (source, onSample) => polled.add({ source, onSample, prev: undefined, plan: undefined }),
    get size() {
      return polled.entries.size;
    },
    get running() {
      return polled.running;
    },
  };
}

/** The page-wide sampler every browser media-call actor registers with. */
export const sharedStatsSampler: StatsSampler = createStatsSampler(STATS_INTERVAL_MS, {
  skipWhile: pageReadsWait,
});
