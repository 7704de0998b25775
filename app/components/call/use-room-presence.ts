import { useEffect, useReducer } from "react";
import { applyRoomEvent, EMPTY_PRESENCE, type RoomPresence } from "../../../machines/room-presence";
import type { RoomSession } from "../../../machines/room-protocol";
import { trpc } from "~/utils/trpc";

/** Live who-is-in-the-call for a study, fed by the videoCall.events subscription. */
export function useRoomPresence(studyId: string, initial: RoomSession | null): RoomPresence & { live: boolean } {
  const [state, dispatch] = useReducer(
    (s: RoomPresence & { live: boolean }, a: Parameters<typeof applyRoomEvent>[1] | { type: "live"; live: boolean }) =>
      a.type === "live" ? { ...s, live: a.live } : { ...applyRoomEvent(s, a), live: s.live },
    { ...EMPTY_PRESENCE, session: initial, live: false },
  );
  useEffect(() => {
    const sub = trpc().videoCall.events.subscribe(
      { studyId },
      {
        onStarted: () => dispatch({ type: "live", live: true }),
        onData: (tracked) => dispatch(tracked.data),
        onError: () => dispatch({ type: "live", live: false }),
      },
    );
    return () => sub.unsubscribe();
  }, [studyId]);
  return state;
}
