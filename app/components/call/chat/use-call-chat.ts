/**
 * The call page's one hook for the chat: starts the chat machine for the running call, keeps the
 * tab's visibility in it, and toasts a new message while the panel is closed.
 */
import { useActorRef, useSelector } from "@xstate/react";
import { useEffect, useRef } from "react";
import { toast } from "sonner";
import type { ActorRefFrom, InspectionEvent } from "xstate";
import { browserChatMachine } from "./chat-actors.client";
import { say } from "../messages";

export type ChatActor = ActorRefFrom<typeof browserChatMachine>;

export function useCallChat(opts: {
  studyId: string;
  sessionId: string;
  selfId: string;
  maxUploadBytes: number;
  /** The Inspector's event ring (?debug=1). */
  inspect?: (e: InspectionEvent) => void;
}): ChatActor {
  const { inspect, ...input } = opts;
  const chat = useActorRef(browserChatMachine, {
    input: { ...input, newClientId: () => crypto.randomUUID() },
    inspect,
  });
  useEffect(() => {
    const update = () => chat.send({ type: "VISIBILITY", visible: document.visibilityState === "visible" });
    update();
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, [chat]);
  const latest = useSelector(chat, (s) => s.context.messages[s.context.messages.length - 1] ?? null);
  const open = useSelector(chat, (s) => s.context.open);
  const historyReady = useSelector(chat, (s) => s.matches({ history: "ready" }));
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (!historyReady) return;
    // What was said before we joined is not news.
    if (shown.current === null) {
      shown.current = latest?.id ?? "";
      return;
    }
    if (!latest || latest.id === shown.current) return;
    shown.current = latest.id;
    if (open || latest.authorId === opts.selfId) return;
    const name = latest.authorName;
    toast(
      latest.kind === "file"
        ? say("chatToastFile", { name, file: latest.body })
        : say("chatToast", { name, message: latest.body }),
      {
        id: "chat-message",
        action: { label: "Open chat", onClick: () => chat.send({ type: "OPEN" }) },
      },
    );
  }, [latest, open, chat, opts.selfId, historyReady]);
  return chat;
}
