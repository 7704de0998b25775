/**
 * Draws a past call's timeline from the geometry `layoutTimeline` computed on the server: one lane
 * per person, the time axis, segments and markers, and the per-person sentences as the accessible
 * description. No logic here beyond mapping shapes to SVG.
 */
import type { MarkerKind, TimelineLayout } from "~/utils/call-timeline";
import { MARKER_LABELS, SEGMENT_KINDS, SEGMENT_LABELS } from "~/utils/call-timeline";

const MARKER_GLYPH: Record<MarkerKind, string> = {
  join: "▶",
  leave: "■",
  drop: "✕",
  removed: "⊘",
  reconnect: "↻",
  "link-lost": "!",
  hand: "▲",
  host: "★",
};

export function CallTimeline({ layout }: { layout: TimelineLayout }) {
  const { width, height, plot, ticks, lanes, axisY } = layout;
  return (
    <figure className="call-timeline">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby="timeline-title timeline-desc"
        data-testid="call-timeline"
        preserveAspectRatio="xMinYMin meet"
      >
        <title id="timeline-title">Call timeline, one lane per person</title>
        <desc id="timeline-desc">{lanes.map((l) => l.summary).join(" ")}</desc>
        <g className="axis" aria-hidden="true">
          <line x1={plot.x0} x2={plot.x1} y1={axisY} y2={axisY} />
          {ticks.map((t) => (
            <g key={t.x}>
              <line x1={t.x} x2={t.x} y1={axisY} y2={height} className="gridline" />
              <text x={t.x} y={axisY - 4} textAnchor="middle">
                {t.label}
              </text>
            </g>
          ))}
        </g>
        {lanes.map((lane) => (
          <g key={lane.userId} data-person={lane.name} aria-hidden="true">
            <text x={8} y={lane.y + 22} className="lane-name">
              {lane.name.length > 18 ? `${lane.name.slice(0, 17)}…` : lane.name}
            </text>
            {lane.rects.map((r, i) => (
              <rect
                key={i}
                className={`seg seg-${r.kind}`}
                data-kind={r.kind}
                x={r.x}
                y={r.y}
                width={r.width}
                height={r.height}
              >
                <title>{r.title}</title>
              </rect>
            ))}
            {lane.markers.map((m, i) => (
              <text
                key={`m${i}`}
                className={`marker marker-${m.kind}`}
                data-marker={m.kind}
                x={m.x}
                y={m.y + 4}
                textAnchor="middle"
              >
                {MARKER_GLYPH[m.kind]}
                {m.count > 1 ? <tspan className="marker-count">{m.count}</tspan> : null}
                <title>{m.title}</title>
              </text>
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul className="timeline-legend" aria-label="Legend">
          {SEGMENT_KINDS.map((k) => (
            <li key={k}>
              <span className={`swatch seg-${k}`} aria-hidden="true" /> {SEGMENT_LABELS[k]}
            </li>
          ))}
          {(Object.keys(MARKER_GLYPH) as MarkerKind[]).map((k) => (
            <li key={k}>
              <span aria-hidden="true">{MARKER_GLYPH[k]}</span> {MARKER_LABELS[k]}
            </li>
          ))}
        </ul>
        <details>
          <summary>Timeline as text</summary>
          <ul data-testid="timeline-summary">
            {lanes.map((l) => (
              <li key={l.userId}>{l.summary}</li>
            ))}
          </ul>
        </details>
      </figcaption>
    </figure>
  );
}
