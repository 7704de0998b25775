/**
 * The Inspector's memory (?debug=1): a bounded ring of the last events XState's `inspect` option
 * reports for the call, its peers and the chat, the actors whose state a snapshot includes, and
 * "Copy snapshot"'s JSON. No React here: the panel only renders what this keeps. (The stately.ai
 * inspector needs the internet, so the page renders this in-app.)
 */
import type { InspectionEvent } from "xstate";

export interface InspectedEvent {
  at: number;
  actor: string;
  type: string;
}

/** What the inspector reads of an actor: its id and current snapshot. */
export interface InspectableActor {
  id: string;
  getSnapshot(): { value: unknown; context: unknown; status?: string };
}

const EVENT_RING_SIZE = 50;

export class CallInspector {
  events: InspectedEvent[] = [];
  private listeners = new Set<() => void>();
  private version = 0;
  private attached = new Map<string, InspectableActor>();

  constructor(private readonly ringSize = EVENT_RING_SIZE) {}

  readonly inspect = (e: InspectionEvent) => {
    if (e.type !== "@xstate.event") return;
    const type = (e.event as { type?: string }).type ?? "?";
    if (type.startsWith("xstate.")) return;
    this.events = [
      ...this.events.slice(-(this.ringSize - 1)),
      { at: Date.now(), actor: (e.actorRef as { id?: string }).id ?? "?", type },
    ];
    this.version++;
    for (const l of this.listeners) l();
  };

  /** Includes another machine (the chat) in snapshots; returns the detach function. */
  attach(name: string, actor: InspectableActor): () => void {
    this.attached.set(name, actor);
    return () => {
      if (this.attached.get(name) === actor) this.attached.delete(name);
    };
  }

  /**
   * Every machine's state and the recent events, as JSON for a bug report: the call machine, each
   * peer machine (its children), and attached machines. Media, tracks and actor references are
   * named rather than serialised; chat message bodies are left out (they are the users' words).
   */
  snapshot(call: InspectableActor, peers: Record<string, InspectableActor>, now = Date.now()): string {
    const machines: Record<string, unknown> = { call: describeActor(call) };
    machines.peers = Object.fromEntries(Object.entries(peers).map(([peerId, p]) => [peerId, describeActor(p)]));
    for (const [name, actor] of this.attached) machines[name] = describeActor(actor);
    return JSON.stringify(
      {
        takenAt: new Date(now).toISOString(),
        userAgent: typeof navigator === "undefined" ? null : navigator.userAgent,
        machines,
        events: this.events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
      },
      null,
      2,
    );
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = () => this.version;
}

function describeActor(actor: InspectableActor) {
  const s = actor.getSnapshot();
  return { id: actor.id, status: s.status ?? null, value: s.value, context: toPlain(s.context, 0) };
}

const MAX_DEPTH = 6;

/**
 * Plain data only: class instances (MediaStream, tracks, actor refs, Dates) become a short label,
 * functions are dropped, and chat messages keep their ids but not their text.
 */
export function toPlain(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") return typeof value === "function" ? undefined : value;
  if (depth > MAX_DEPTH) return "[…]";
  if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) {
    const id = (value as { id?: unknown }).id;
    const kind = (value as { kind?: unknown }).kind;
    const name = proto.constructor?.name || "object";
    if (value instanceof Date) return value.toISOString();
    if ("getSnapshot" in value && typeof id === "string") return `[actor ${id}]`;
    return `[${name}${typeof kind === "string" ? ` ${kind}` : ""}${typeof id === "string" ? ` ${id}` : ""}]`;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === "body" && typeof v === "string") out[k] = `[${v.length} characters]`;
    else out[k] = toPlain(v, depth + 1);
  }
  return out;
}
