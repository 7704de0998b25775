/**
 * A past call's timeline, pure: the stored room events become one lane per person (present, muted,
 * camera-off, sharing and speaking segments; markers for joins, leaves, drops, reconnect attempts,
 * hands and host actions), and the lanes become SVG geometry plus a sentence per person for
 * screen readers. The page only draws what `layoutTimeline` returns.
 */
import { formatDuration } from "./call-table";

/** One row of video_call_events as the history loader hands it over (times as ISO strings). */
export interface TimelineEvent {
  kind: string;
  at: string;
  actorId: string | null;
  targetId: string | null;
  payload: Record<string, unknown>;
}

export interface TimelinePerson {
  userId: string;
  name: string;
}

export type SegmentKind = "present" | "speaking" | "sharing" | "muted" | "camera-off";
export type MarkerKind = "join" | "leave" | "drop" | "removed" | "reconnect" | "link-lost" | "hand" | "host";

/** Seconds since the call started. */
interface Span {
  start: number;
  end: number;
}
interface Marker {
  kind: MarkerKind;
  at: number;
  label: string;
}
export interface Lane {
  userId: string;
  name: string;
  segments: Record<SegmentKind, Span[]>;
  markers: Marker[];
}

export const SEGMENT_KINDS: SegmentKind[] = ["present", "speaking", "sharing", "muted", "camera-off"];
export const SEGMENT_LABELS: Record<SegmentKind, string> = {
  present: "In the call",
  speaking: "Speaking",
  sharing: "Sharing screen",
  muted: "Muted",
  "camera-off": "Camera off",
};
export const MARKER_LABELS: Record<MarkerKind, string> = {
  join: "Joined",
  leave: "Left",
  drop: "Dropped",
  removed: "Removed",
  reconnect: "Reconnect attempt",
  "link-lost": "Connection lost",
  hand: "Raised hand",
  host: "Host action",
};

interface Flags {
  audio: boolean;
  video: boolean;
  screen: boolean;
  speaking: boolean;
}
interface Open {
  since: number;
  flags: Flags;
}

const bool = (v: unknown, fallback: boolean) => (typeof v === "boolean" ? v : fallback);

/** Which segments a person in the call with these flags is in. */
function activeKinds(f: Flags): SegmentKind[] {
  const kinds: SegmentKind[] = ["present"];
  // Speaking counts only with the microphone on (the server's rule for speaking time, too).
  if (f.speaking && f.audio) kinds.push("speaking");
  if (f.screen) kinds.push("sharing");
  if (!f.audio) kinds.push("muted");
  if (!f.video) kinds.push("camera-off");
  return kinds;
}

/**
 * Lanes in the order of `people`, from the call's events (any order; sorted here). Anyone still
 * "in" at `endedAt` (e.g. a call from before events were stored) is closed there.
 */
export function buildLanes(
  people: TimelinePerson[],
  events: TimelineEvent[],
  startedAt: string,
  endedAt: string,
): Lane[] {
  const t0 = Date.parse(startedAt);
  const end = Math.max(0, (Date.parse(endedAt) - t0) / 1000);
  const rel = (iso: string) => Math.min(end, Math.max(0, (Date.parse(iso) - t0) / 1000));
  const lanes = new Map<string, Lane>();
  const laneOf = (userId: string, name?: string): Lane => {
    let lane = lanes.get(userId);
    if (!lane) {
      lane = {
        userId,
        name: name ?? "Former member",
        segments: { present: [], speaking: [], sharing: [], muted: [], "camera-off": [] },
        markers: [],
      };
      lanes.set(userId, lane);
    }
    return lane;
  };
  for (const p of people) laneOf(p.userId, p.name);
  const open = new Map<string, Open>();

  const closeAt = (userId: string, at: number) => {
    const o = open.get(userId);
    if (!o) return;
    const lane = laneOf(userId);
    for (const kind of activeKinds(o.flags)) push(lane.segments[kind], o.since, at);
    open.delete(userId);
  };
  const change = (userId: string, at: number, flags: Flags) => {
    const o = open.get(userId);
    if (!o) return;
    closeAt(userId, at);
    open.set(userId, { since: at, flags });
  };

  const sorted = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const e of sorted) {
    const at = rel(e.at);
    const who = e.targetId ?? e.actorId;
    if (!who && e.kind !== "ended") continue;
    switch (e.kind) {
      case "joined": {
        closeAt(who!, at);
        const p = e.payload;
        open.set(who!, {
          since: at,
          flags: {
            audio: bool(p.audio, true),
            video: bool(p.video, true),
            screen: bool(p.screen, false),
            speaking: false,
          },
        });
        laneOf(who!).markers.push({ kind: "join", at, label: MARKER_LABELS.join });
        break;
      }
      case "media": {
        const p = e.payload;
        const prev = open.get(who!)?.flags;
        change(who!, at, {
          audio: bool(p.audio, prev?.audio ?? true),
          video: bool(p.video, prev?.video ?? true),
          screen: bool(p.screen, prev?.screen ?? false),
          speaking: bool(p.speaking, false),
        });
        break;
      }
      case "left": {
        closeAt(who!, at);
        const reason = e.payload.reason;
        const kind: MarkerKind = reason === "DROPPED" ? "drop" : reason === "KICKED" ? "removed" : "leave";
        laneOf(who!).markers.push({ kind, at, label: MARKER_LABELS[kind] });
        break;
      }
      case "hand":
        if (e.payload.raised === true) laneOf(who!).markers.push({ kind: "hand", at, label: MARKER_LABELS.hand });
        break;
      case "link": {
        const state = e.payload.state;
        if (state === "reconnecting") {
          const attempt = typeof e.payload.attempt === "number" ? ` ${e.payload.attempt}` : "";
          laneOf(who!).markers.push({ kind: "reconnect", at, label: `${MARKER_LABELS.reconnect}${attempt}` });
        } else if (state === "lost") {
          laneOf(who!).markers.push({ kind: "link-lost", at, label: MARKER_LABELS["link-lost"] });
        }
        break;
      }
      case "ended":
        for (const userId of [...open.keys()]) closeAt(userId, at);
        break;
      default:
        // Host actions (kinds "host.*", migration 0009's moderation) mark the person they were done to.
        if (e.kind.startsWith("host.")) {
          const action = e.kind.slice("host.".length).replace(/[-_.]/g, " ");
          laneOf(who!).markers.push({ kind: "host", at, label: `Host: ${action}` });
        }
    }
  }
  for (const userId of [...open.keys()]) closeAt(userId, end);
  return [...lanes.values()];
}

/** Appends a span, merging it into the previous one when they touch. */
function push(spans: Span[], start: number, end: number): void {
  if (end <= start) return;
  const last = spans[spans.length - 1];
  if (last && start <= last.end) last.end = Math.max(last.end, end);
  else spans.push({ start, end });
}

const total = (spans: Span[]) => spans.reduce((s, x) => s + x.end - x.start, 0);

/** One sentence per person for screen readers (and anyone who prefers text to a chart). */
export function describeLane(lane: Lane): string {
  const parts: string[] = [];
  const present = lane.segments.present;
  if (present.length === 0) return `${lane.name}: no recorded presence.`;
  const spans = present.map((s) => `${formatDuration(s.start)}–${formatDuration(s.end)}`).join(", ");
  parts.push(`in the call ${spans}`);
  for (const kind of ["speaking", "sharing", "muted", "camera-off"] as const) {
    const t = total(lane.segments[kind]);
    if (t > 0) parts.push(`${SEGMENT_LABELS[kind].toLowerCase()} ${formatDuration(t)}`);
  }
  const count = (k: MarkerKind) => lane.markers.filter((m) => m.kind === k).length;
  const counted: Array<[MarkerKind, string]> = [
    ["hand", "raised a hand"],
    ["reconnect", "reconnect attempt"],
    ["drop", "dropped"],
    ["removed", "removed by a host"],
    ["host", "host action"],
  ];
  for (const [k, words] of counted) {
    const n = count(k);
    if (n > 0) parts.push(n === 1 ? words : `${words} ×${n}`);
  }
  return `${lane.name}: ${parts.join("; ")}.`;
}

// ---------------------------------------------------------------------------------------------
// Geometry

export interface LayoutOptions {
  /** viewBox width; the SVG scales to its container. */
  width: number;
  labelWidth: number;
  /** Markers closer than this (px, same lane and kind) are drawn as one with a count. */
  mergeWithinPx: number;
}
const DEFAULT_LAYOUT: LayoutOptions = { width: 960, labelWidth: 150, mergeWithinPx: 6 };

interface Rect {
  kind: SegmentKind;
  x: number;
  y: number;
  width: number;
  height: number;
  title: string;
}
interface MarkerShape {
  kind: MarkerKind;
  x: number;
  y: number;
  count: number;
  title: string;
}
interface Tick {
  x: number;
  label: string;
}
interface LaneLayout {
  userId: string;
  name: string;
  y: number;
  height: number;
  rects: Rect[];
  markers: MarkerShape[];
  summary: string;
}
export interface TimelineLayout {
  width: number;
  height: number;
  /** Where the time axis starts and ends (x). */
  plot: { x0: number; x1: number };
  axisY: number;
  ticks: Tick[];
  lanes: LaneLayout[];
}

/** Row offsets inside a lane: markers on top, the presence bar, then one thin track per state. */
const MARKER_ROW = 12;
const PRESENT_H = 10;
const TRACK_H = 6;
const TRACK_GAP = 2;
const TRACKS: SegmentKind[] = ["speaking", "sharing", "muted", "camera-off"];
export const LANE_HEIGHT = MARKER_ROW + PRESENT_H + TRACK_GAP + TRACKS.length * (TRACK_H + TRACK_GAP) + 10;
const AXIS_HEIGHT = 24;
/** Tick steps (seconds) tried in order until at most MAX_TICKS fit. */
const TICK_STEPS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800];
const MAX_TICKS = 8;

/** A tick step giving at most MAX_TICKS intervals over `seconds`. */
export function tickStep(seconds: number): number {
  return TICK_STEPS.find((s) => seconds / s <= MAX_TICKS) ?? Math.ceil(seconds / MAX_TICKS / 3600) * 3600;
}

/** Axis labels: m:ss, or h:mm once the call reaches an hour (its ticks are whole minutes then). */
function tickLabel(t: number, span: number): string {
  if (span < 3600) return formatDuration(t);
  const m = Math.round(t / 60);
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}`;
}

/** The lanes as SVG geometry over a call of `duration` seconds. */
export function layoutTimeline(lanes: Lane[], duration: number, opts: LayoutOptions = DEFAULT_LAYOUT): TimelineLayout {
  const x0 = opts.labelWidth;
  // Room on the right for the last tick's label, centred on the end of the call.
  const x1 = opts.width - 24;
  const span = Math.max(duration, 1);
  const scale = (x1 - x0) / span;
  const xOf = (t: number) => x0 + Math.min(span, Math.max(0, t)) * scale;
  const step = tickStep(span);
  const ticks: Tick[] = [];
  for (let t = 0; t <= span + 1e-9; t += step) ticks.push({ x: round(xOf(t)), label: tickLabel(t, span) });

  const laneLayouts = lanes.map((lane, i): LaneLayout => {
    const y = AXIS_HEIGHT + i * LANE_HEIGHT;
    const rects: Rect[] = [];
    const rowY = (kind: SegmentKind) =>
      kind === "present"
        ? y + MARKER_ROW
        : y + MARKER_ROW + PRESENT_H + TRACK_GAP + TRACKS.indexOf(kind) * (TRACK_H + TRACK_GAP);
    for (const kind of SEGMENT_KINDS) {
      for (const s of lane.segments[kind]) {
        // At least one pixel wide: a 2-second mute in a 3-hour call stays visible.
        const width = Math.max(1, (s.end - s.start) * scale);
        rects.push({
          kind,
          x: round(xOf(s.start)),
          y: rowY(kind),
          width: round(width),
          height: kind === "present" ? PRESENT_H : TRACK_H,
          title: `${lane.name}: ${SEGMENT_LABELS[kind]} ${formatDuration(s.start)}–${formatDuration(s.end)}`,
        });
      }
    }
    return {
      userId: lane.userId,
      name: lane.name,
      y,
      height: LANE_HEIGHT,
      rects,
      markers: mergeMarkers(lane, xOf, y + MARKER_ROW / 2, opts.mergeWithinPx),
      summary: describeLane(lane),
    };
  });
  return {
    width: opts.width,
    height: AXIS_HEIGHT + lanes.length * LANE_HEIGHT + 4,
    plot: { x0, x1 },
    axisY: AXIS_HEIGHT - 6,
    ticks,
    lanes: laneLayouts,
  };
}

/** Same-kind markers within `within` px of each other become one with a count (3-hour calls stay legible). */
function mergeMarkers(lane: Lane, xOf: (t: number) => number, y: number, within: number): MarkerShape[] {
  const out: MarkerShape[] = [];
  const lastOfKind = new Map<MarkerKind, MarkerShape>();
  for (const m of [...lane.markers].sort((a, b) => a.at - b.at)) {
    const x = round(xOf(m.at));
    const prev = lastOfKind.get(m.kind);
    if (prev && x - prev.x < within) {
      prev.count += 1;
      prev.title = `${lane.name}: ${MARKER_LABELS[m.kind]} ×${prev.count}`;
      continue;
    }
    const shape: MarkerShape = {
      kind: m.kind,
      x,
      y,
      count: 1,
      title: `${lane.name}: ${m.label} at ${formatDuration(m.at)}`,
    };
    out.push(shape);
    lastOfKind.set(m.kind, shape);
  }
  return out;
}

const round = (n: number) => Math.round(n * 10) / 10;
