/**
 * The call room with its chat: starts the chat for the joined call and hands the room what its
 * Chat tab and toolbar button need. The chat machine decides what counts as read, so whether its
 * tab is showing is the machine's `open`, not a flag of the room's.
 */
import { shallowEqual, useSelector } from "@xstate/react";
import type { ComponentProps, ReactNode } from "react";
import { unreadCount } from "../../../../machines/chat.view";
import { Room } from "../room/room";
import { ChatPanel } from "./chat-panel";
import { useCallChat } from "./use-call-chat";

export function RoomWithChat(props: {
  actor: ComponentProps<typeof Room>["actor"];
  self: { userId: string; name: string };
  maxUploadBytes: number;
  inspector?: ReactNode;
}) {
  const { actor, self, maxUploadBytes } = props;
  const studyId = useSelector(actor, (s) => s.context.studyId);
  const sessionId = useSelector(actor, (s) => s.context.join?.sessionId ?? "");
  const participants = useSelector(actor, (s) => s.context.participants);
  const chat = useCallChat({ studyId, sessionId, selfId: self.userId, maxUploadBytes });
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
