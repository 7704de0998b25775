/**
 * One machine in the Inspector (?debug=1): its Mermaid diagram with the active states highlighted
 * (`withActiveStates`: the docs' `toMermaid` plus a class for each active state), drawn by the
 * `mermaid` package, and under it the state tree as the diagram's text alternative (open when the
 * diagram can't be drawn). Mermaid is large, so it is imported here with a dynamic `import()`
 * when a diagram is first drawn: a call page without ?debug=1 never downloads it.
 */
import type { Mermaid } from "mermaid";
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { ACTIVE_CLASS, activeStateIds, withActiveStates, type MachineDiagram } from "../../../machines/diagram";
import { say } from "./messages";
import { StateTree } from "./state-tree";

let mermaidLoading: Promise<Mermaid> | null = null;

function loadMermaid(): Promise<Mermaid> {
  mermaidLoading ??= import("mermaid").then(
    ({ default: mermaid }) => {
      mermaid.initialize({
        startOnLoad: false,
        // Labels are sanitised and nothing in the diagram can run script; never "loose".
        securityLevel: "strict",
        // Mermaid 12 lays state diagrams out with ELK by default, which refuses the docs' diagrams
        // (a transition from a region's box to a state inside it); dagre is what the docs render with.
        layout: "dagre",
        // A failed diagram is said in the panel, not drawn as an error picture into the page.
        suppressErrorRendering: true,
        // Natural size: the panel scrolls it, or fits it to the panel's width on request.
        state: { useMaxWidth: false },
      });
      return mermaid;
    },
    (e: unknown) => {
      mermaidLoading = null; // a failed chunk download may work on the next try
      throw e;
    },
  );
  return mermaidLoading;
}

/** Mermaid removes any element that already has the id it is given, so every drawing gets a new one. */
let drawings = 0;

type Drawing = { svg: string; error: null } | { svg: null; error: string };

/**
 * Moves the highlight to the states now active. Laying out the call machine takes Mermaid about a
 * second of main thread, and the machine changes state every few seconds in a call, so it is laid
 * out once and the class Mermaid gave the active states is moved over its boxes and nodes (their
 * element ids are "<svg id>-state-<Mermaid id>-<n>").
 */
function moveHighlight(svg: SVGSVGElement, ids: ReadonlySet<string>) {
  const prefix = `${svg.id}-state-`;
  for (const g of svg.querySelectorAll<SVGGElement>(`g[id^="${prefix}"]`)) {
    const id = g.id.slice(prefix.length).replace(/-\d+$/, "");
    g.classList.toggle(ACTIVE_CLASS, ids.has(id));
  }
}

export function MachineStates(props: {
  diagram: MachineDiagram;
  active: Set<string>;
  /** "Call machine diagram": the accessible name of the picture. */
  diagramLabel: string;
  /** "Call machine states": the accessible name of the tree. */
  treeLabel: string;
  /** False keeps Mermaid out (a collapsed peer entry): only the tree is there. */
  draw?: boolean;
}) {
  const { diagram, active } = props;
  const draw = props.draw ?? true;
  const idPrefix = `machine-diagram-${useId().replace(/[^A-Za-z0-9]/g, "")}`;
  const [drawing, setDrawing] = useState<Drawing | null>(null);
  const [fit, setFit] = useState(true);
  const view = useRef<HTMLDivElement>(null);
  // The active states when the drawing starts; later changes only move the highlight.
  const activeNow = useRef(active);
  activeNow.current = active;

  useEffect(() => {
    if (!draw) return;
    let current = true;
    loadMermaid()
      .then((mermaid) => mermaid.render(`${idPrefix}-${++drawings}`, withActiveStates(diagram, activeNow.current)))
      .then(
        ({ svg }) => current && setDrawing({ svg, error: null }),
        (e: unknown) => current && setDrawing({ svg: null, error: e instanceof Error ? e.message : String(e) }),
      );
    return () => {
      current = false;
    };
  }, [draw, diagram, idPrefix]);

  const activeIds = useMemo(() => new Set(activeStateIds(diagram, active)), [diagram, active]);
  useEffect(() => {
    const svg = view.current?.querySelector("svg");
    if (svg) moveHighlight(svg, activeIds);
  }, [drawing, activeIds]);

  // At its natural size the call machine is several screens wide: show where the machine is.
  useEffect(() => {
    if (!fit)
      view.current?.querySelector(`g.node.${ACTIVE_CLASS}`)?.scrollIntoView({ block: "nearest", inline: "center" });
  }, [fit]);

  const failed = drawing?.error != null;
  return (
    <div className="machine-states">
      {draw ? (
        <figure className="machine-diagram">
          {drawing?.svg ? (
            <>
              <button type="button" className="secondary small" aria-pressed={!fit} onClick={() => setFit(!fit)}>
                Actual size
              </button>
              <div
                ref={view}
                className={fit ? "machine-diagram-view fit" : "machine-diagram-view"}
                role="img"
                aria-label={props.diagramLabel}
                tabIndex={0}
                // Mermaid's own output for our text, sanitised by it ("strict").
                dangerouslySetInnerHTML={{ __html: drawing.svg }}
              />
            </>
          ) : null}
          {!drawing ? <p role="status">{say("diagramDrawing")}</p> : null}
          {failed ? <p role="alert">{say("diagramFailed", { reason: drawing.error })}</p> : null}
        </figure>
      ) : null}
      {/* Opened for the reader while the diagram can't be drawn. */}
      <details className="state-tree-text" open={failed || undefined}>
        <summary>States as text</summary>
        <StateTree diagram={diagram} active={active} label={props.treeLabel} />
      </details>
    </div>
  );
}
