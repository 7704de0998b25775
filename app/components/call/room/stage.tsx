/**
 * The call stage: every tile in one container, sized by bestFit (grid) or as stage + strip
 * (speaker, presenter), in the order decideLayout chose. Tiles keep their keys whatever the
 * layout, so videos never re-mount when it changes.
 */
import { Fragment, useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type ReactNode } from "react";
import type { TileMeasure } from "../../../../machines/link-encoding";
import { bestFit, type LayoutDecision } from "~/utils/call-layout";

const GAP = 8;
const ASPECT = 16 / 9;

export interface StageTile {
  id: string;
  /** The tile, its root element given `style` (its place and size on the stage). */
  render: (cell: { style: CSSProperties; main: boolean }) => ReactNode;
}

function useBoxSize() {
  const ref = useRef<HTMLElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      // The content box: tiles go inside the stage's padding.
      const cs = getComputedStyle(el);
      const w = Math.floor(el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight));
      const h = Math.floor(el.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom));
      setSize((s) => (s.width === w && s.height === h ? s : { width: w, height: h }));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [ref, size] as const;
}

/** Area of the intersection of two rectangles. */
function overlap(a: DOMRect, b: DOMRect): number {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * How large each tile is on screen, in device pixels, and how much of it is not covered (by the
 * panel lying over the stage on a phone, or by being outside the stage). Only measures: what to
 * send each sender is the call machine's decision (link-encoding.ts).
 */
function measureTiles(
  stage: HTMLElement,
  ids: readonly string[],
  coveredBy: (() => DOMRect | null) | undefined,
): Record<string, TileMeasure> {
  const grid = stage.querySelector(":scope > .grid");
  const dpr = window.devicePixelRatio || 1;
  const box = stage.getBoundingClientRect();
  const cover = coveredBy?.() ?? null;
  const out: Record<string, TileMeasure> = {};
  // Each tile renders exactly one root element, in `tiles` order (the visual order is CSS `order`).
  ids.forEach((id, i) => {
    const el = grid?.children[i];
    if (!el) return;
    const r = el.getBoundingClientRect();
    const area = r.width * r.height;
    const inStage = overlap(r, box);
    const hidden = cover ? overlap(r, cover) : 0;
    out[id] = {
      width: Math.round(r.width * dpr),
      height: Math.round(r.height * dpr),
      shownFraction: area > 0 ? Math.max(0, inStage - hidden) / area : 0,
    };
  });
  return out;
}

export function Stage({
  decision,
  tiles,
  onMeasure,
  coveredBy,
  coverKey,
}: {
  decision: LayoutDecision;
  tiles: StageTile[];
  /** Called after every layout change with each tile's measure (see measureTiles). */
  onMeasure?: (tiles: Record<string, TileMeasure>) => void;
  /** Whatever may lie over the stage (the side panel on a phone), and a key that changes with it. */
  coveredBy?: () => DOMRect | null;
  coverKey?: unknown;
}) {
  const [ref, box] = useBoxSize();
  const byId = new Map(tiles.map((t) => [t.id, t]));
  const ordered = decision.order.map((id) => byId.get(id)).filter((t): t is StageTile => !!t);
  const spotlight = decision.main !== null && ordered.length > 1;
  const sizes = new Map<string, { width: number; height: number }>();
  let gridStyle: CSSProperties;
  if (!spotlight) {
    const fit = bestFit(ordered.length, box.width, box.height, ASPECT, GAP);
    gridStyle = { gridTemplateColumns: `repeat(${fit.columns}, ${fit.width}px)`, gridAutoRows: `${fit.height}px` };
    for (const t of ordered) sizes.set(t.id, { width: fit.width, height: fit.height });
  } else {
    const others = ordered.length - 1;
    const stripH = Math.max(60, Math.min(Math.floor(box.height * 0.22), 150));
    const mainFit = bestFit(1, box.width, box.height - stripH - GAP, ASPECT, GAP);
    const stripW = Math.floor(Math.min((box.width - GAP * (others - 1)) / others, stripH * ASPECT));
    const stripTileH = Math.floor(stripW / ASPECT);
    gridStyle = {
      gridTemplateColumns: `repeat(${others}, ${stripW}px)`,
      gridTemplateRows: `${mainFit.height}px ${stripTileH}px`,
    };
    ordered.forEach((t, i) =>
      sizes.set(
        t.id,
        i === 0 ? { width: mainFit.width, height: mainFit.height } : { width: stripW, height: stripTileH },
      ),
    );
  }
  const ids = tiles.map((t) => t.id);
  const idsKey = ids.join("|");
  const layoutKey = `${decision.layout}:${decision.order.join("|")}:${box.width}x${box.height}`;
  const onMeasureRef = useRef(onMeasure);
  onMeasureRef.current = onMeasure;
  const coveredByRef = useRef(coveredBy);
  coveredByRef.current = coveredBy;
  useEffect(() => {
    const el = ref.current;
    if (!el || box.width === 0) return;
    onMeasureRef.current?.(measureTiles(el, idsKey.split("|"), coveredByRef.current));
  }, [ref, idsKey, layoutKey, coverKey, box.width]);
  return (
    <main ref={ref} aria-label="Call stage" className="stage" data-layout={decision.layout}>
      {box.width > 0 ? (
        <div className="grid" data-count={ordered.length} style={gridStyle}>
          {tiles.map((t) => {
            const index = decision.order.indexOf(t.id);
            const size = sizes.get(t.id) ?? { width: 0, height: 0 };
            const main = spotlight && index === 0;
            const style: CSSProperties = { order: index, width: size.width, height: size.height };
            if (main) Object.assign(style, { gridColumn: "1 / -1", justifySelf: "center" });
            return <Fragment key={t.id}>{t.render({ style, main })}</Fragment>;
          })}
        </div>
      ) : null}
    </main>
  );
}
