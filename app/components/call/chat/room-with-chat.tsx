/**
 * The call room with its chat: starts the chat for the joined call and hands the room what its
 * Chat tab and toolbar button need. The chat machine decides what counts as read, so whether its
 * tab is showing is the machine's `open`, not a flag of the room's.
 */
import { shallowEqual, useSelector } from "@xstate/react";
import { useEffect, type ComponentProps, type ReactNode } from "react";
import { unreadCount } from "../../../../machines/chat.view";
import type { CallInspector } from "../inspector";
import { Room } from "../room/room";
import { ChatPanel } from "./chat-panel";
import { useCallChat } from "./use-call-chat";

export function RoomWithChat(props: {
  actor: ComponentProps<typeof Room>["actor"];
  self: { userId: string; name: string };
  maxUploadBytes: number;
  inspector?: ReactNode;
  /** With ?debug=1: the chat machine's events and state go into the Inspector too. */
  debugInspector?: CallInspector;
}) {
  const { actor, self, maxUploadBytes } = props;
  const studyId = useSelector(actor, (s) => s.context.studyId);
  const sessionId = useSelector(actor, (s) => s.context.join?.sessionId ?? "");
  const participants = useSelector(actor, (s) => s.context.participants);
  const debugInspector = props.debugInspector;
  const chat = useCallChat({
    studyId,
    sessionId,
    selfId: self.userId,
    maxUploadBytes,
    inspect: debugInspector?.inspect,
  });
  useEffect(() => debugInspector?.attach("chat", chat), [debugInspector, chat]);
  const { open, unread } = useSelector(
    chat,
    (s) => ({ open: s.context.open, unread: unreadCount(s.context) }),
    shallowEqual,
  );
  const people = Object.fromEntries(Object.values(participants).map((p) => [p.userId, p.name]));
  return (
    <Room
      actor={actor}
      self={self}
      inspector={props.inspector}
      chat={{
        panel: <ChatPanel chat={chat} people={people} />,
        unread,
        open,
        setOpen: (show) => {
          if (show !== open) chat.send({ type: show ? "OPEN" : "CLOSE" });
        },
      }}
    />
  );
}
