import { useEffect, useReducer } from "react";
import { applyRoomEvent, EMPTY_PRESENCE, type RoomPresence } from "../../../machines/room-presence";
import type { RoomSession } from "../../../machines/room-protocol";
import { roomEvents } from "./room-events";

/** Live who-is-in-the-call for a study, fed by the tab's videoCall.events stream (room-events.ts). */
export function useRoomPresence(studyId: string, initial: RoomSession | null): RoomPresence & { live: boolean } {
  const [state, dispatch] = useReducer(
    (s: RoomPresence & { live: boolean }, a: Parameters<typeof applyRoomEvent>[1] | { type: "live"; live: boolean }) =>
      a.type === "live" ? { ...s, live: a.live } : { ...applyRoomEvent(s, a), live: s.live },
    { ...EMPTY_PRESENCE, session: initial, live: false },
  );
  useEffect(() => {
    // The tab's shared stream (on the call page the call and the chat listen to it too); `fresh`:
    // this summary starts from a snapshot taken after it subscribed.
    return roomEvents().subscribe(
      studyId,
      {
        onSnapshot: (session) => {
          dispatch({ type: "live", live: true });
          dispatch({ type: "snapshot", session });
        },
        onEvent: dispatch,
        onError: () => dispatch({ type: "live", live: false }),
      },
      { fresh: true },
    );
  }, [studyId]);
  return state;
}
