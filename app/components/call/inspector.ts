import type { InspectionEvent } from "xstate";

export interface InspectedEvent {
  at: number;
  actor: string;
  type: string;
}

/**
 * Collects what XState's `inspect` option reports (the stately.ai inspector needs the internet,
 * so the debug panel renders this in-app). Keeps the last 50 events.
 */
export class CallInspector {
  events: InspectedEvent[] = [];
  private listeners = new Set<() => void>();
  private version = 0;

  readonly inspect = (e: InspectionEvent) => {
    if (e.type !== "@xstate.event") return;
    const type = (e.event as { type?: string }).type ?? "?";
    if (type.startsWith("xstate.")) return;
    this.events = [
      ...this.events.slice(-49),
      { at: Date.now(), actor: (e.actorRef as { id?: string }).id ?? "?", type },
    ];
    this.version++;
    for (const l of this.listeners) l();
  };

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = () => this.version;
}
