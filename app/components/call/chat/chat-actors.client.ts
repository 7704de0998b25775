/**
 * The chat machine's actors in the browser: tRPC for messages, reads and typing, the tab's shared
 * videoCall.events stream (room-events.ts, the same one the call machine listens to) for live
 * chat events, and XMLHttpRequest for uploads (fetch has no upload progress).
 */
import { fromCallback, fromPromise, type EventObject } from "xstate";
import { chatMachine, type SendInput, type UploadEvent, type UploadInput } from "../../../../machines/chat.machine";
import { createChatFeed } from "../../../../machines/actors/chat-feed";
import { trpc } from "~/utils/trpc";
import { say } from "../messages";
import { roomEvents } from "../room-events";

export const browserChatMachine = chatMachine.provide({
  actors: {
    feed: createChatFeed(roomEvents()),
    loadHistory: fromPromise(({ input }: { input: { sessionId: string } }) =>
      trpc().chat.list.query({ sessionId: input.sessionId, limit: 100 }),
    ),
    sendMessage: fromPromise(({ input }: { input: SendInput }) => trpc().chat.send.mutate(input)),
    sendTyping: fromPromise(async ({ input }: { input: { sessionId: string } }) => {
      await trpc().chat.typing.mutate(input);
    }),
    markRead: fromPromise(({ input }: { input: { sessionId: string; messageId: string } }) =>
      trpc().chat.markRead.mutate(input),
    ),
    uploadFile: fromCallback<EventObject, UploadInput>(({ input, sendBack }) => {
      const send = (e: UploadEvent) => sendBack(e);
      const xhr = new XMLHttpRequest();
      const form = new FormData();
      form.append("file", input.file as File);
      xhr.open("POST", `/api/calls/${input.sessionId}/files?clientId=${encodeURIComponent(input.clientId)}`);
      xhr.upload.onprogress = (e) => send({ type: "UPLOAD.PROGRESS", loaded: e.loaded });
      xhr.onload = () => {
        if (xhr.status === 201) return send({ type: "UPLOAD.DONE" });
        let message = say("chatUploadStatus", { status: xhr.status });
        try {
          message = (JSON.parse(xhr.responseText) as { error?: string }).error ?? message;
        } catch {
          /* not JSON: keep the status */
        }
        send({ type: "UPLOAD.FAILED", message });
      };
      xhr.onerror = () => send({ type: "UPLOAD.FAILED", message: say("chatUploadNetwork") });
      xhr.send(form);
      return () => {
        if (xhr.readyState !== XMLHttpRequest.DONE) xhr.abort();
      };
    }),
  },
});
