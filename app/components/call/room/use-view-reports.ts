/**
 * What the room reports for adaptive links: each remote tile's measure (from the stage) and the
 * page's visibility, as events to the call machine (call.views.ts decides what senders are told).
 */
import { useCallback, useEffect, useRef } from "react";
import type { ActorRefFrom } from "xstate";
import type { CallMachine } from "../../../../machines/call.machine";
import type { TileMeasure } from "../../../../machines/link-encoding";

/**
 * Tells the call machine how the stage shows each remote (their senders fit those links to it) and
 * whether the page is visible. Only measurements: the machine decides what to send and when.
 */
export function useViewReports(send: ActorRefFrom<CallMachine>["send"], selfId: string) {
  useEffect(() => {
    const update = () => send({ type: "VIEW.PAGE", visible: document.visibilityState === "visible" });
    update();
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, [send]);
  const last = useRef("");
  return useCallback(
    (tiles: Record<string, TileMeasure>) => {
      const { [selfId]: _own, ...remotes } = tiles;
      const key = JSON.stringify(remotes);
      if (key === last.current) return;
      last.current = key;
      send({ type: "VIEW.TILES", tiles: remotes });
    },
    [send, selfId],
  );
}

/** The side panel when it lies over the stage (on a phone); beside it, it covers nothing. */
export const panelRect = () => document.querySelector(".room-body > .side-panel")?.getBoundingClientRect() ?? null;
