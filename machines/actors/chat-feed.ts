/**
 * The chat machine's `feed` actor over the tab's room-events hub (room-events-hub.ts): the chat
 * events of the study's one events stream, and FEED.RESYNC on every snapshot — each (re)start of
 * that stream that could not resume, whoever caused it — so the chat reloads what it may have
 * missed. It never asks for a fresh stream: the chat loads its history when it starts anyway.
 */
import { fromCallback, type EventObject } from "xstate";
import type { ChatFeedEvent } from "../chat.machine";
import type { ChatEvent } from "../chat-protocol";
import type { RoomEvent } from "../room-protocol";
import type { RoomEventsHub } from "./room-events-hub";

function isChatEvent(event: RoomEvent): event is ChatEvent {
  return event.type === "chat-message" || event.type === "chat-read" || event.type === "chat-typing";
}

export function createChatFeed(hub: RoomEventsHub) {
  return fromCallback<EventObject, { studyId: string; sessionId: string }>(({ input, sendBack }) => {
    const send = (e: ChatFeedEvent) => sendBack(e);
    return hub.subscribe(input.studyId, {
      onSnapshot: () => send({ type: "FEED.RESYNC" }),
      onEvent: (event) => {
        if (isChatEvent(event)) send({ type: "FEED.EVENT", event });
      },
    });
  });
}
