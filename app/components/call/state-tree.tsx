/**
 * A machine's state tree for the Inspector: nested lists read from the machine definition
 * (machines/diagram.ts, the same walk the docs' Mermaid diagrams come from), the active states
 * marked, each state with its invoked actors and where its events lead.
 */
import type { AnyStateMachine } from "xstate";
import { describeMachine, transitionLabel, type DiagramState, type MachineDiagram } from "../../../machines/diagram";

const diagrams = new WeakMap<AnyStateMachine, MachineDiagram>();

/** The tree of a machine, read once per machine (the walk is pure; peers share one machine). */
export function diagramOf(machine: AnyStateMachine): MachineDiagram {
  let d = diagrams.get(machine);
  if (!d) {
    d = describeMachine(machine);
    diagrams.set(machine, d);
  }
  return d;
}

export function StateTree({ diagram, active, label }: { diagram: MachineDiagram; active: Set<string>; label: string }) {
  return (
    <ul className="state-tree" aria-label={label}>
      {diagram.root.children.map((s) => (
        <StateItem key={s.path} state={s} active={active} />
      ))}
    </ul>
  );
}

function StateItem({ state, active }: { state: DiagramState; active: Set<string> }) {
  const on = active.has(state.path);
  const moves = state.transitions.filter((t) => t.targets.length > 0);
  return (
    <li data-state-path={state.path} aria-current={on ? "true" : undefined} className={on ? "active" : undefined}>
      <span className="state-name">{state.key}</span>
      {state.type === "parallel" ? <span className="state-kind"> (parallel)</span> : null}
      {state.type === "final" ? <span className="state-kind"> (final)</span> : null}
      {on ? <span className="state-kind"> — active</span> : null}
      {state.invokes.length > 0 ? <span className="state-invokes"> invokes {state.invokes.join(", ")}</span> : null}
      {moves.length > 0 ? (
        <div className="state-moves">
          {moves.map((t, i) => (
            <span key={i}>
              {transitionLabel(t)} → {t.targets.map((p) => p.split(".").pop()).join(", ")}
            </span>
          ))}
        </div>
      ) : null}
      {state.children.length > 0 ? (
        <ul>
          {state.children.map((c) => (
            <StateItem key={c.path} state={c} active={active} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
