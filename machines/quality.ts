/**
 * Link-quality classification and the mesh uplink budget. Everything here is pure so the peer
 * machine can run it inside assign() and the tests can pin the numbers.
 *
 * Scoring (0..100, the worst factor wins because users notice the worst symptom, not the average):
 *
 * - Packet loss, bands taken from Jitsi's connection-quality stats:
 *     ≤2% → 100, ≤4% → 70, ≤6% → 50, ≤8% → 30, ≤12% → 10, above → 0
 * - Round-trip time; Twilio's network-quality warning fires above 400 ms:
 *     ≤150 ms → 100, ≤300 → 85, ≤400 → 70, ≤800 → 40, above → 20
 * - Jitter; Twilio warns above 30 ms:
 *     ≤15 ms → 100, ≤30 → 85, ≤60 → 50, above → 25
 * - Received video frame rate, only when we are receiving video at all (a frozen picture is the
 *   most visible failure even when the network counters look fine):
 *     ≥15 fps → 100, ≥8 → 70, above 0 → 40
 *
 * Levels: score ≥ 80 → "good", ≥ 40 → "fair", below → "poor". So a single Twilio warning
 * (loss > 3%, RTT > 400 ms, jitter > 30 ms) lands in "fair", and only compound or severe trouble
 * is "poor".
 */

export type QualityLevel = "good" | "fair" | "poor";

export interface QualitySample {
  rttMs: number | null;
  jitterMs: number | null;
  packetLossPct: number | null;
  inboundKbps: number | null;
  outboundKbps: number | null;
  /** Of the video we receive from this peer (falls back to what we send when nothing arrives). */
  fps: number | null;
  width: number | null;
  height: number | null;
}

/** A sample plus the raw counters the next parse needs to turn totals into rates. */
export interface ParsedStats extends QualitySample {
  timestamp: number;
  counters: {
    bytesReceived: number;
    bytesSent: number;
    packetsReceived: number;
    packetsLost: number;
  };
}

export interface QualityAssessment {
  score: number;
  level: QualityLevel;
}

const LEVEL_RANK: Record<QualityLevel, number> = { poor: 0, fair: 1, good: 2 };

/** Consecutive better samples needed before the level goes up (stats are sampled every ~2 s). */
const QUALITY_RECOVERY_SAMPLES = 3;

function lossScore(pct: number): number {
  if (pct <= 2) return 100;
  if (pct <= 4) return 70;
  if (pct <= 6) return 50;
  if (pct <= 8) return 30;
  if (pct <= 12) return 10;
  return 0;
}

function rttScore(ms: number): number {
  if (ms <= 150) return 100;
  if (ms <= 300) return 85;
  if (ms <= 400) return 70;
  if (ms <= 800) return 40;
  return 20;
}

function jitterScore(ms: number): number {
  if (ms <= 15) return 100;
  if (ms <= 30) return 85;
  if (ms <= 60) return 50;
  return 25;
}

function fpsScore(fps: number): number {
  if (fps >= 15) return 100;
  if (fps >= 8) return 70;
  return 40;
}

function levelForScore(score: number): QualityLevel {
  if (score >= 80) return "good";
  if (score >= 40) return "fair";
  return "poor";
}

export function classifyQuality(sample: QualitySample): QualityAssessment {
  const scores = [100];
  if (sample.packetLossPct !== null) scores.push(lossScore(sample.packetLossPct));
  if (sample.rttMs !== null) scores.push(rttScore(sample.rttMs));
  if (sample.jitterMs !== null) scores.push(jitterScore(sample.jitterMs));
  // fps 0 with no inbound video simply means the peer has the camera off.
  if (sample.fps !== null && sample.fps > 0) scores.push(fpsScore(sample.fps));
  const score = Math.min(...scores);
  return { score, level: levelForScore(score) };
}

/**
 * Hysteresis: a single worse sample drops the level at once (users should see trouble as soon as
 * it starts), but climbing back needs QUALITY_RECOVERY_SAMPLES consecutive better samples so the
 * indicator does not flicker on a link hovering at a threshold.
 *
 * @param history levels of recent samples, oldest first; the last one is the newest.
 */
export function nextQualityLevel(
  prevLevel: QualityLevel,
  history: readonly QualityLevel[],
  recoverAfter: number = QUALITY_RECOVERY_SAMPLES,
): QualityLevel {
  const latest = history[history.length - 1];
  if (latest === undefined) return prevLevel;
  const prevRank = LEVEL_RANK[prevLevel];
  if (LEVEL_RANK[latest] < prevRank) return latest;
  if (LEVEL_RANK[latest] === prevRank) return prevLevel;
  const recent = history.slice(-recoverAfter);
  if (recent.length < recoverAfter) return prevLevel;
  if (!recent.every((l) => LEVEL_RANK[l] > prevRank)) return prevLevel;
  // Recover only as far as the worst of the recent samples justifies.
  return recent.reduce((worst, l) => (LEVEL_RANK[l] < LEVEL_RANK[worst] ? l : worst));
}

/** The subset of RTCStats fields we read; real RTCStats objects satisfy it structurally. */
export interface StatsLike {
  type: string;
  id: string;
  timestamp: number;
  [field: string]: unknown;
}

export type StatsReportLike = Iterable<StatsLike> | { values(): Iterable<StatsLike> };

function num(s: StatsLike, field: string): number | null {
  const v = s[field];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(s: StatsLike, field: string): string | null {
  const v = s[field];
  return typeof v === "string" ? v : null;
}

function mediaKind(s: StatsLike): string | null {
  // `mediaType` is the pre-2020 spelling still emitted by some Safari versions.
  return str(s, "kind") ?? str(s, "mediaType");
}

function statsList(report: StatsReportLike): StatsLike[] {
  // RTCStatsReport is map-like: iterating it yields [id, stats] pairs, values() yields stats.
  if ("values" in report && typeof report.values === "function") return [...report.values()];
  return [...(report as Iterable<StatsLike>)];
}

function rate(bytesNow: number, bytesPrev: number, dtMs: number): number | null {
  if (dtMs <= 0 || bytesNow < bytesPrev) return null;
  // bits per millisecond is kilobits per second.
  return Math.round(((bytesNow - bytesPrev) * 8) / dtMs);
}

/**
 * Turns one getStats() report of a single RTCPeerConnection into a QualitySample. Bitrates and
 * interval loss need the previous parse; without it they are null / cumulative respectively.
 */
export function parseStatsReport(report: StatsReportLike, prev?: ParsedStats): ParsedStats {
  const stats = statsList(report);
  let timestamp = 0;
  let bytesReceived = 0;
  let bytesSent = 0;
  let packetsReceived = 0;
  let packetsLost = 0;
  let jitterSec: number | null = null;
  let inVideo: StatsLike | null = null;
  let outVideo: StatsLike | null = null;
  let remoteLossPct: number | null = null;
  let remoteRttSec: number | null = null;
  let pairRttSec: number | null = null;
  const selectedPairIds = new Set<string>();
  const pairs: StatsLike[] = [];

  // The rates' clock: our own RTP entries only. Remote entries (remote-outbound-rtp, remote-inbound-rtp)
  // carry the time of the peer's last RTCP report, on the peer's clock: in Firefox one of them could be
  // the report's latest timestamp and stay put between reports, so two samples 2 s apart looked 0 s apart
  // and the popover's Receiving and Sending read "–".
  let rtpTimestamp = 0;
  for (const s of stats) {
    timestamp = Math.max(timestamp, s.timestamp);
    if (s.type === "inbound-rtp" || s.type === "outbound-rtp") rtpTimestamp = Math.max(rtpTimestamp, s.timestamp);
    switch (s.type) {
      case "inbound-rtp": {
        bytesReceived += num(s, "bytesReceived") ?? 0;
        packetsReceived += num(s, "packetsReceived") ?? 0;
        packetsLost += Math.max(0, num(s, "packetsLost") ?? 0);
        const j = num(s, "jitter");
        if (j !== null) jitterSec = Math.max(jitterSec ?? 0, j);
        if (mediaKind(s) === "video") inVideo = s;
        break;
      }
      case "outbound-rtp":
        bytesSent += num(s, "bytesSent") ?? 0;
        if (mediaKind(s) === "video") outVideo = s;
        break;
      case "remote-inbound-rtp": {
        const fl = num(s, "fractionLost");
        if (fl !== null) remoteLossPct = Math.max(remoteLossPct ?? 0, fl * 100);
        const rtt = num(s, "roundTripTime");
        if (rtt !== null) remoteRttSec = Math.max(remoteRttSec ?? 0, rtt);
        break;
      }
      case "transport": {
        const id = str(s, "selectedCandidatePairId");
        if (id) selectedPairIds.add(id);
        break;
      }
      case "candidate-pair":
        pairs.push(s);
        break;
    }
  }

  const activePair =
    pairs.find((p) => selectedPairIds.has(p.id)) ??
    pairs.find((p) => p["selected"] === true) ??
    pairs.find((p) => p["nominated"] === true && p["state"] === "succeeded");
  if (activePair) pairRttSec = num(activePair, "currentRoundTripTime");

  if (rtpTimestamp > 0) timestamp = rtpTimestamp;
  const rttSec = pairRttSec ?? remoteRttSec;
  const dt = prev ? timestamp - prev.timestamp : 0;

  let localLossPct: number | null = null;
  const dLost = prev ? packetsLost - prev.counters.packetsLost : packetsLost;
  const dRecv = prev ? packetsReceived - prev.counters.packetsReceived : packetsReceived;
  if (dLost >= 0 && dRecv >= 0 && dLost + dRecv > 0) localLossPct = (dLost / (dLost + dRecv)) * 100;
  const lossCandidates = [localLossPct, remoteLossPct].filter((v): v is number => v !== null);

  const video = inVideo ?? outVideo;
  return {
    timestamp,
    counters: { bytesReceived, bytesSent, packetsReceived, packetsLost },
    rttMs: rttSec === null ? null : Math.round(rttSec * 1000),
    jitterMs: jitterSec === null ? null : Math.round(jitterSec * 1000),
    packetLossPct: lossCandidates.length ? Math.round(Math.max(...lossCandidates) * 10) / 10 : null,
    inboundKbps: prev ? rate(bytesReceived, prev.counters.bytesReceived, dt) : null,
    outboundKbps: prev ? rate(bytesSent, prev.counters.bytesSent, dt) : null,
    fps: video ? num(video, "framesPerSecond") : null,
    width: video ? num(video, "frameWidth") : null,
    height: video ? num(video, "frameHeight") : null,
  };
}

/** Per-remote encoder limits for our outgoing video; maps 1:1 onto RTCRtpEncodingParameters. */
export interface SenderBudget {
  maxBitrate: number;
  scaleResolutionDownBy: number;
  maxFramerate: number;
}

/** In a mesh every remote gets its own encode of our camera, so the uplink is split between them. */
export const MESH_UPLINK_BUDGET_BPS = 2_000_000;
const MIN_BITRATE_BPS = 100_000;
const MAX_SCALE = 8;

/**
 * Budgets assume a 640×360 camera source.
 * 1 remote: full 360p30 at 1.2 Mbps. 2–3: 600 kbps each (1.2–1.8 Mbps total), 427×240 for two,
 * 320×180 for three. 4–5: 350 kbps each at 320×180 / 15 fps (≤1.75 Mbps). Beyond that the
 * 2 Mbps total is split evenly.
 */
export function bitrateBudget(peerCount: number): SenderBudget {
  if (peerCount <= 1) return { maxBitrate: 1_200_000, scaleResolutionDownBy: 1, maxFramerate: 30 };
  if (peerCount === 2) return { maxBitrate: 600_000, scaleResolutionDownBy: 1.5, maxFramerate: 30 };
  if (peerCount === 3) return { maxBitrate: 600_000, scaleResolutionDownBy: 2, maxFramerate: 24 };
  if (peerCount <= 5) return { maxBitrate: 350_000, scaleResolutionDownBy: 2, maxFramerate: 15 };
  const share = Math.floor(MESH_UPLINK_BUDGET_BPS / peerCount);
  return {
    maxBitrate: Math.max(MIN_BITRATE_BPS, share),
    scaleResolutionDownBy: share < 250_000 ? 4 : 2,
    maxFramerate: share < 250_000 ? 10 : 15,
  };
}

/** One step down for a link that stays poor: half the bits, half the width and height. */
export function degrade(budget: SenderBudget): SenderBudget {
  return {
    maxBitrate: Math.max(MIN_BITRATE_BPS, Math.floor(budget.maxBitrate / 2)),
    scaleResolutionDownBy: Math.min(MAX_SCALE, budget.scaleResolutionDownBy * 2),
    maxFramerate: budget.maxFramerate,
  };
}

export function sameBudget(a: SenderBudget, b: SenderBudget): boolean {
  return (
    a.maxBitrate === b.maxBitrate &&
    a.scaleResolutionDownBy === b.scaleResolutionDownBy &&
    a.maxFramerate === b.maxFramerate
  );
}
