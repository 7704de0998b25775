/**
 * The tab's room-events hub (machines/actors/room-events-hub.ts) over our tRPC client: the one
 * `videoCall.events` stream per study that the call machine, the chat machine and the presence
 * summary share. One per tab, like the tRPC client itself, so no page has to thread it through
 * its components; it opens a stream only while something listens.
 */
import { createRoomEventsHub, type RoomEventsHub } from "../../../machines/actors/room-events-hub";
import { trpc } from "~/utils/trpc";

let hub: RoomEventsHub | null = null;

export function roomEvents(): RoomEventsHub {
  hub ??= createRoomEventsHub((studyId, { onData, onError }) => {
    // SSE: the link reconnects by itself with Last-Event-ID, so a blip costs no event.
    const sub = trpc().videoCall.events.subscribe({ studyId }, { onData: ({ data }) => onData(data), onError });
    return () => sub.unsubscribe();
  });
  return hub;
}
