/**
 * A machine's states as plain data, read from the machine definition itself (`machine.root` and
 * its state nodes): nesting, parallel regions, initial states, transitions with their events,
 * guards and `after` delays, and invoked actors. `npm run docs:machines` turns it into Mermaid
 * (`toMermaid`), and the call page's Inspector draws the same Mermaid with the active states
 * highlighted (`withActiveStates` and `activeStateIds`, from `activePaths`) beside the same tree as text, so the docs
 * and the Inspector can never describe different machines.
 * Pure: no I/O, no DOM; only xstate's types.
 */
import type { AnyStateMachine, StateValue } from "xstate";

export interface DiagramTransition {
  /** "JOIN", "after signalingRetryDelay", "always", "done: joinCall", "error: joinCall". */
  trigger: string;
  /** The guard as written: "canRetryFeed", "mediaErrorIs(denied)", "and(iceIn(failed), canRetry)". */
  guard: string | null;
  /** Paths of the targets ("inCall.signaling.online"); empty when the transition stays put (actions only). */
  targets: string[];
  reenter: boolean;
  /** Named actions, in order ("storeJoin"); inline assigns and xstate's own actions are left out. */
  actions: string[];
}

export interface DiagramState {
  key: string;
  /** Dot path from the root ("" for the root itself): what `activePaths` returns for an active state. */
  path: string;
  type: "atomic" | "compound" | "parallel" | "final" | "history";
  /** The initial child's key (compound states). */
  initial: string | null;
  description: string | null;
  /** Invoked actors: "signaling", or "requestMedia" (src) — one entry per invoke. */
  invokes: string[];
  entry: string[];
  exit: string[];
  transitions: DiagramTransition[];
  children: DiagramState[];
}

export interface MachineDiagram {
  id: string;
  root: DiagramState;
}

/* The parts of xstate's StateNode read here (its runtime shape; the public type is heavily generic). */
interface TransitionLike {
  eventType: string;
  target?: ReadonlyArray<{ path: string[] }> | undefined;
  guard?: unknown;
  reenter?: boolean;
  actions: readonly unknown[];
  delay?: string | number;
}
interface NodeLike {
  key: string;
  path: string[];
  type: DiagramState["type"];
  description?: string;
  states: Record<string, NodeLike>;
  initial?: { target: ReadonlyArray<{ key: string }> };
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  after: TransitionLike[];
  invoke: ReadonlyArray<{ src: string; id: string }>;
  entry: readonly unknown[];
  exit: readonly unknown[];
}

/** Reads the whole state tree of a machine. */
export function describeMachine(machine: AnyStateMachine): MachineDiagram {
  return { id: machine.id, root: describeNode(machine.root as unknown as NodeLike) };
}

function describeNode(node: NodeLike): DiagramState {
  const invokeSrc = new Map(node.invoke.map((i) => [i.id, i.src]));
  const transitions: DiagramTransition[] = [];
  for (const [eventType, list] of node.transitions) {
    // Delayed transitions are listed under their own (generated) event too; they come from `after` below.
    if (eventType.startsWith("xstate.after.")) continue;
    for (const t of list) transitions.push(describeTransition(triggerName(eventType, invokeSrc), t));
  }
  for (const t of node.after) transitions.push(describeTransition(`after ${String(t.delay)}`, t));
  for (const t of node.always ?? []) transitions.push(describeTransition("always", t));
  return {
    key: node.key ?? "",
    path: node.path.join("."),
    type: node.type,
    initial: node.type === "compound" ? (node.initial?.target[0]?.key ?? null) : null,
    description: node.description ?? null,
    invokes: node.invoke.map((i) => i.src),
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
    transitions,
    children: Object.values(node.states).map(describeNode),
  };
}

function describeTransition(trigger: string, t: TransitionLike): DiagramTransition {
  return {
    trigger,
    guard: t.guard === undefined ? null : guardName(t.guard),
    targets: (t.target ?? []).map((n) => n.path.join(".")),
    reenter: t.reenter ?? false,
    actions: actionNames(t.actions),
  };
}

/** "xstate.done.actor.0.call.joining" → "done: joinCall"; a user event stays as it is. */
function triggerName(eventType: string, invokeSrc: Map<string, string>): string {
  for (const [prefix, word] of [
    ["xstate.done.actor.", "done"],
    ["xstate.error.actor.", "error"],
    ["xstate.snapshot.", "snapshot"],
  ] as const) {
    if (eventType.startsWith(prefix)) {
      const id = eventType.slice(prefix.length);
      return `${word}: ${invokeSrc.get(id) ?? id}`;
    }
  }
  if (eventType.startsWith("xstate.done.state.")) return "done";
  return eventType;
}

function guardName(guard: unknown): string {
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") {
    const combined = guard as { name?: string; guards?: unknown[] };
    if (Array.isArray(combined.guards))
      return `${combined.name ?? "guard"}(${combined.guards.map(guardName).join(", ")})`;
    return combined.name || "inline";
  }
  if (guard && typeof guard === "object" && "type" in guard) {
    const { type, params } = guard as { type: string; params?: unknown };
    return params === undefined ? type : `${type}(${paramsText(params)})`;
  }
  return "inline";
}

/** Static params as short text ("denied", "connected, completed"); params computed per event show as "…". */
function paramsText(params: unknown): string {
  if (typeof params === "function") return "…";
  if (params === null || typeof params !== "object") return String(params);
  return Object.values(params as Record<string, unknown>)
    .map((v) => (Array.isArray(v) ? v.join(", ") : paramsText(v)))
    .join(", ");
}

function actionNames(actions: readonly unknown[]): string[] {
  const names: string[] = [];
  for (const a of actions) {
    if (typeof a === "string") names.push(a);
    else if (a && typeof a === "object" && "type" in a && typeof (a as { type: unknown }).type === "string")
      names.push((a as { type: string }).type);
    // Functions are inline or built-in actions (assign, raise for `after`, spawnChild…): not named.
  }
  return names;
}

/** Every active state's path, ancestors included: { inCall: { audio: "on" } } → inCall, inCall.audio, inCall.audio.on. */
export function activePaths(value: StateValue): Set<string> {
  const out = new Set<string>();
  const walk = (v: StateValue, prefix: string) => {
    if (typeof v === "string") {
      out.add(prefix + v);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      out.add(prefix + key);
      if (child !== undefined) walk(child, `${prefix}${key}.`);
    }
  };
  walk(value, "");
  return out;
}

/** A transition's one-line label: "JOIN", "after feedRetryDelay [canRetryFeed]". */
export function transitionLabel(t: DiagramTransition): string {
  return t.guard ? `${t.trigger} [${t.guard}]` : t.trigger;
}

/**
 * Mermaid `stateDiagram-v2` source. Every state is declared (nested, parallel regions split by
 * `--`) before any transition, and each transition is written in the innermost block holding both
 * its ends (but never among a parallel state's regions, where Mermaid fails to render), so Mermaid
 * never creates a state in the wrong block by meeting it in a transition first.
 * Transitions that only run actions (no target) and the root's own (taken in any state) are left
 * out; the tables beside the diagram list them.
 */
export function toMermaid(diagram: MachineDiagram): string {
  const lines = ["stateDiagram-v2"];
  const id = (path: string) => mermaidId(diagram.id, path);
  const parallel = new Set<string>();
  const markParallel = (s: DiagramState) => {
    if (s.type === "parallel") parallel.add(s.path);
    s.children.forEach(markParallel);
  };
  markParallel(diagram.root);
  const byScope = new Map<string, Array<[string, string, string]>>();
  const collect = (s: DiagramState) => {
    // The root is no box of its own: its transitions (taken in any state) are listed beside the diagram.
    if (s.path !== "")
      for (const t of s.transitions)
        for (const target of t.targets) {
          let scope = commonParent(s.path, target);
          // Mermaid fails ("No such shape: divider") on a transition written among a parallel
          // state's regions, so such a transition is written one block further out.
          while (scope !== "" && parallel.has(scope)) scope = scope.split(".").slice(0, -1).join(".");
          const edges = byScope.get(scope) ?? [];
          edges.push([id(s.path), id(target), transitionLabel(t)]);
          byScope.set(scope, edges);
        }
    s.children.forEach(collect);
  };
  collect(diagram.root);

  const block = (s: DiagramState, indent: string) => {
    if (s.initial) lines.push(`${indent}[*] --> ${id(join(s.path, s.initial))}`);
    s.children.forEach((c, i) => {
      if (i > 0 && s.type === "parallel") lines.push(`${indent}--`);
      const label = c.type === "parallel" ? `${c.key} (parallel)` : c.key;
      if (c.children.length === 0) {
        lines.push(`${indent}state "${label}" as ${id(c.path)}`);
        if (c.invokes.length > 0) lines.push(`${indent}${id(c.path)} : invoke ${c.invokes.join(", ")}`);
        if (c.type === "final") lines.push(`${indent}${id(c.path)} --> [*]`);
      } else {
        lines.push(`${indent}state "${label}" as ${id(c.path)} {`);
        block(c, `${indent}  `);
        lines.push(`${indent}}`);
      }
    });
    if (s.type !== "parallel") edges(s.path, indent);
  };
  const edges = (scope: string, indent: string) => {
    for (const [from, to, label] of byScope.get(scope) ?? []) lines.push(`${indent}${from} --> ${to} : ${label}`);
  };
  if (diagram.root.type === "parallel") {
    // Mermaid allows `--` (concurrent regions) only inside a composite state, so a parallel root gets a box.
    lines.push(`  state "${diagram.id} (parallel)" as ${id("")} {`);
    block(diagram.root, "    ");
    lines.push("  }");
    edges("", "  ");
  } else block(diagram.root, "  ");
  return lines.join("\n");
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** A state's Mermaid id: "call" and "inCall.audio.on" → "call_inCall_audio_on" (the root is the machine id). */
export function mermaidId(machineId: string, path: string): string {
  return [machineId, ...(path ? path.split(".") : [])].join("_").replace(/[^A-Za-z0-9_]/g, "_");
}

/** The Mermaid class the Inspector's diagram gives the active states. */
export const ACTIVE_CLASS = "active";

/**
 * The Mermaid ids of the diagram's active states (`activePaths`: the active leaves and all their
 * ancestors, in every parallel region), in diagram order. Only states of the diagram are named,
 * since Mermaid would draw a new box for an unknown one.
 */
export function activeStateIds(diagram: MachineDiagram, active: ReadonlySet<string>): string[] {
  const ids: string[] = [];
  const walk = (s: DiagramState) => {
    if (s.path !== "" && active.has(s.path)) ids.push(mermaidId(diagram.id, s.path));
    s.children.forEach(walk);
  };
  walk(diagram.root);
  return ids;
}

/** `toMermaid` with the active states highlighted: a `classDef` and a `class` line for each active state. */
export function withActiveStates(diagram: MachineDiagram, active: ReadonlySet<string>): string {
  return [
    toMermaid(diagram),
    `  classDef ${ACTIVE_CLASS} fill:#fef3c7,stroke:#b45309,stroke-width:3px`,
    ...activeStateIds(diagram, active).map((id) => `  class ${id} ${ACTIVE_CLASS}`),
  ].join("\n");
}

/**
 * The block a transition is written in: the nearest state that contains both ends strictly
 * (a transition from a state to its own child, or to itself, belongs to that state's parent).
 */
function commonParent(a: string, b: string): string {
  const pa = a ? a.split(".") : [];
  const pb = b ? b.split(".") : [];
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  // Both ends are below the common prefix unless one end is the prefix itself.
  if (n === pa.length || n === pb.length) n = Math.min(pa.length, pb.length) - 1;
  return pa.slice(0, Math.max(0, n)).join(".");
}
