/**
 * One person's chat in one call: the history and live feed, the send queue (each message keeps its
 * clientId across retries, so a retry is stored once), "Sending…"/"Not sent — Retry", the typing
 * throttle and expiry, the read cursor (moved only for messages actually seen, debounced), and a
 * file upload with progress and cancel. Every side effect is a named actor; the browser provides
 * them in app/components/call/chat/chat-actors.client.ts (the feed: actors/chat-feed.ts, on the tab's
 * one events stream shared with the call), tests provide fakes.
 */
import { assertEvent, assign, enqueueActions, fromCallback, fromPromise, setup, type EventObject } from "xstate";
import type { ChatEvent, ChatMessage, ChatPage, ChatRead } from "./chat-protocol";
import { MAX_BODY, TYPING_EXPIRES_MS } from "./chat-protocol";

export interface ChatInput {
  studyId: string;
  sessionId: string;
  selfId: string;
  maxUploadBytes: number;
  /** A fresh idempotency key; crypto.randomUUID in the browser, a counter in tests. */
  newClientId: () => string;
}

interface OutboxItem {
  clientId: string;
  body: string;
  status: "sending" | "failed";
  attempts: number;
}

/** A file on its way up. `file` is the browser's File; machines only read its name and size. */
interface UploadJob {
  file: { name: string; size: number };
  clientId: string;
  loaded: number;
}

export interface ChatContext extends ChatInput {
  /** Oldest first, by seq. */
  messages: ChatMessage[];
  outbox: OutboxItem[];
  reads: Record<string, ChatRead>;
  /** userId → name of people typing now. */
  typing: Record<string, string>;
  open: boolean;
  visible: boolean;
  /** Highest seq of another person's message seen in the open panel while the tab was visible. */
  seenSeq: number;
  /** The message that seq belongs to, sent to the server after the debounce. */
  seenId: string | null;
  /** Highest seq the server has as our cursor. */
  readSeq: number;
  upload: UploadJob | null;
  /** Something the person should be told (an over-size file, a failed upload). */
  notice: string | null;
}

export type ChatFeedEvent =
  | { type: "FEED.EVENT"; event: ChatEvent }
  /** The event stream started over (first connect or a resume gap): reload what may have been missed. */
  | { type: "FEED.RESYNC" };

type ChatUiEvent =
  | { type: "SEND"; body: string }
  | { type: "RETRY"; clientId: string }
  | { type: "KEYSTROKE" }
  | { type: "OPEN" }
  | { type: "CLOSE" }
  | { type: "VISIBILITY"; visible: boolean }
  | { type: "SEEN"; messageId: string; seq: number }
  | { type: "ATTACH"; file: { name: string; size: number } }
  | { type: "CANCEL_UPLOAD" }
  | { type: "DISMISS_NOTICE" };

/** What the uploadFile actor reports. */
export type UploadEvent =
  { type: "UPLOAD.PROGRESS"; loaded: number } | { type: "UPLOAD.DONE" } | { type: "UPLOAD.FAILED"; message: string };
type ChatEventUnion = ChatUiEvent | ChatFeedEvent | UploadEvent | { type: "TYPING.EXPIRE"; userId: string };

export interface SendInput {
  sessionId: string;
  body: string;
  clientId: string;
}
export interface UploadInput {
  sessionId: string;
  file: { name: string; size: number };
  clientId: string;
}

/** Delays between tries of one message: a blip of a few seconds is ridden out, then "Not sent". */
export const SEND_RETRY_DELAYS_MS = [1_000, 2_000, 4_000];
const TYPING_THROTTLE_MS = 3_000;
export const READ_DEBOUNCE_MS = 1_000;

/** Server refusals that no retry will change. */
function isFinalRefusal(error: unknown): boolean {
  const code = (error as { data?: { code?: unknown } } | null)?.data?.code;
  return code === "BAD_REQUEST" || code === "FORBIDDEN" || code === "NOT_FOUND" || code === "UNAUTHORIZED";
}

function merge(messages: ChatMessage[], incoming: ChatMessage[]): ChatMessage[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function mergeRead(reads: Record<string, ChatRead>, read: ChatRead): Record<string, ChatRead> {
  const current = reads[read.userId];
  return current && current.lastReadSeq >= read.lastReadSeq ? reads : { ...reads, [read.userId]: read };
}

const formatMb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

export const chatMachine = setup({
  types: {
    context: {} as ChatContext,
    events: {} as ChatEventUnion,
    input: {} as ChatInput,
  },
  actors: {
    /** The chat events of the study's videoCall.events stream; FEED.RESYNC on every (re)start. */
    feed: fromCallback<EventObject, { studyId: string; sessionId: string }>(() => () => {}),
    loadHistory: fromPromise<ChatPage, { sessionId: string }>(async () => {
      throw new Error("loadHistory not provided");
    }),
    sendMessage: fromPromise<ChatMessage, SendInput>(async () => {
      throw new Error("sendMessage not provided");
    }),
    sendTyping: fromPromise<void, { sessionId: string }>(async () => {}),
    markRead: fromPromise<ChatRead, { sessionId: string; messageId: string }>(async () => {
      throw new Error("markRead not provided");
    }),
    /** Streams the file up; sends UPLOAD.PROGRESS; stopping it aborts the request. */
    uploadFile: fromCallback<EventObject, UploadInput>(() => () => {}),
  },
  guards: {
    hasSending: ({ context }) => context.outbox.some((o) => o.status === "sending"),
    mayRetry: ({ context, event }) => {
      const head = context.outbox.find((o) => o.status === "sending");
      const error = (event as { error?: unknown }).error;
      return !!head && head.attempts < SEND_RETRY_DELAYS_MS.length && !isFinalRefusal(error);
    },
    seenAhead: ({ context }) => context.seenSeq > context.readSeq && context.seenId !== null,
    uploadTooBig: ({ context, event }) => {
      assertEvent(event, "ATTACH");
      return event.file.size > context.maxUploadBytes;
    },
  },
  delays: {
    retryDelay: ({ context }) => {
      const head = context.outbox.find((o) => o.status === "sending");
      return SEND_RETRY_DELAYS_MS[Math.max(0, (head?.attempts ?? 1) - 1)] ?? 4_000;
    },
    typingThrottle: TYPING_THROTTLE_MS,
    readDebounce: READ_DEBOUNCE_MS,
  },
  actions: {
    enqueue: assign(({ context, event }) => {
      assertEvent(event, "SEND");
      const body = event.body.trim();
      if (!body || body.length > MAX_BODY) return {};
      return {
        outbox: [...context.outbox, { clientId: context.newClientId(), body, status: "sending" as const, attempts: 0 }],
      };
    }),
    retry: assign(({ context, event }) => {
      assertEvent(event, "RETRY");
      return {
        outbox: context.outbox.map((o) =>
          o.clientId === event.clientId ? { ...o, status: "sending" as const, attempts: 0 } : o,
        ),
      };
    }),
    countAttempt: assign(({ context }) => {
      const head = context.outbox.find((o) => o.status === "sending");
      return { outbox: context.outbox.map((o) => (o === head ? { ...o, attempts: o.attempts + 1 } : o)) };
    }),
    giveUpHead: assign(({ context }) => {
      const head = context.outbox.find((o) => o.status === "sending");
      return { outbox: context.outbox.map((o) => (o === head ? { ...o, status: "failed" as const } : o)) };
    }),
    storeSent: assign(({ context }, message: ChatMessage) => ({
      messages: merge(context.messages, [message]),
      outbox: context.outbox.filter((o) => o.clientId !== message.clientId),
    })),
    storePage: assign(({ context }, page: ChatPage) => {
      let reads = context.reads;
      for (const r of page.reads) reads = mergeRead(reads, r);
      const mine = reads[context.selfId];
      return {
        messages: merge(context.messages, page.messages),
        reads,
        readSeq: Math.max(context.readSeq, mine?.lastReadSeq ?? 0),
        seenSeq: Math.max(context.seenSeq, mine?.lastReadSeq ?? 0),
      };
    }),
    applyFeed: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "FEED.EVENT");
      const e = event.event;
      if (e.sessionId !== context.sessionId) return;
      switch (e.type) {
        case "chat-message": {
          const author = e.message.authorId;
          const { [author]: _stopped, ...typing } = context.typing;
          enqueue.assign({
            messages: merge(context.messages, [e.message]),
            // Our own message arriving on the feed before the send's answer: it is sent.
            outbox: context.outbox.filter((o) => o.clientId !== e.message.clientId || author !== context.selfId),
            typing,
          });
          enqueue.cancel(`typing-${author}`);
          return;
        }
        case "chat-read": {
          const read: ChatRead = { ...e, readAt: new Date().toISOString() };
          enqueue.assign({
            reads: mergeRead(context.reads, read),
            readSeq: e.userId === context.selfId ? Math.max(context.readSeq, e.lastReadSeq) : context.readSeq,
          });
          return;
        }
        case "chat-typing": {
          if (e.userId === context.selfId) return;
          enqueue.assign({ typing: { ...context.typing, [e.userId]: e.name } });
          enqueue.cancel(`typing-${e.userId}`);
          enqueue.raise(
            { type: "TYPING.EXPIRE", userId: e.userId },
            { delay: TYPING_EXPIRES_MS, id: `typing-${e.userId}` },
          );
          return;
        }
      }
    }),
    expireTyping: assign(({ context, event }) => {
      assertEvent(event, "TYPING.EXPIRE");
      const { [event.userId]: _gone, ...rest } = context.typing;
      return { typing: rest };
    }),
    noteSeen: assign(({ context, event }) => {
      assertEvent(event, "SEEN");
      if (!context.open || !context.visible || event.seq <= context.seenSeq) return {};
      return { seenSeq: event.seq, seenId: event.messageId };
    }),
    storeRead: assign(({ context }, read: ChatRead) => ({
      reads: mergeRead(context.reads, read),
      readSeq: Math.max(context.readSeq, read.lastReadSeq),
    })),
    startUpload: assign(({ context, event }) => {
      assertEvent(event, "ATTACH");
      return { upload: { file: event.file, clientId: context.newClientId(), loaded: 0 }, notice: null };
    }),
    refuseUpload: assign(({ context, event }) => {
      assertEvent(event, "ATTACH");
      return {
        notice: `“${event.file.name}” is ${formatMb(event.file.size)}; files can be at most ${formatMb(context.maxUploadBytes)}.`,
      };
    }),
    progress: assign(({ context, event }) => {
      assertEvent(event, "UPLOAD.PROGRESS");
      return context.upload ? { upload: { ...context.upload, loaded: event.loaded } } : {};
    }),
    uploadFailed: assign(({ context }, message: string) => ({
      upload: null,
      notice: `“${context.upload?.file.name ?? "The file"}” was not uploaded: ${message}`,
    })),
  },
}).createMachine({
  id: "chat",
  type: "parallel",
  context: ({ input }) => ({
    ...input,
    messages: [],
    outbox: [],
    reads: {},
    typing: {},
    open: false,
    visible: true,
    seenSeq: 0,
    seenId: null,
    readSeq: 0,
    upload: null,
    notice: null,
  }),
  invoke: {
    id: "feed",
    src: "feed",
    input: ({ context }) => ({ studyId: context.studyId, sessionId: context.sessionId }),
  },
  on: {
    "FEED.EVENT": { actions: "applyFeed" },
    "TYPING.EXPIRE": { actions: "expireTyping" },
    OPEN: { actions: assign({ open: true }) },
    CLOSE: { actions: assign({ open: false }) },
    VISIBILITY: { actions: assign(({ event }) => ({ visible: event.visible })) },
    DISMISS_NOTICE: { actions: assign({ notice: null }) },
  },
  states: {
    history: {
      initial: "loading",
      states: {
        loading: {
          invoke: {
            src: "loadHistory",
            input: ({ context }) => ({ sessionId: context.sessionId }),
            onDone: { target: "ready", actions: { type: "storePage", params: ({ event }) => event.output } },
            onError: "failed",
          },
        },
        ready: {},
        failed: { after: { retryDelay: "loading" } },
      },
      on: { "FEED.RESYNC": ".loading" },
    },
    outbox: {
      initial: "idle",
      states: {
        idle: { always: { guard: "hasSending", target: "sending" } },
        sending: {
          entry: "countAttempt",
          invoke: {
            src: "sendMessage",
            input: ({ context }) => {
              const head = context.outbox.find((o) => o.status === "sending")!;
              return { sessionId: context.sessionId, body: head.body, clientId: head.clientId };
            },
            onDone: { target: "idle", actions: { type: "storeSent", params: ({ event }) => event.output } },
            onError: [
              { guard: "mayRetry", target: "waiting" },
              { target: "idle", actions: "giveUpHead" },
            ],
          },
        },
        waiting: { after: { retryDelay: "sending" } },
      },
      on: { SEND: { actions: "enqueue" }, RETRY: { actions: "retry" } },
    },
    typing: {
      initial: "quiet",
      states: {
        quiet: { on: { KEYSTROKE: "told" } },
        told: {
          invoke: { src: "sendTyping", input: ({ context }) => ({ sessionId: context.sessionId }), onError: {} },
          after: { typingThrottle: "quiet" },
        },
      },
    },
    reading: {
      initial: "idle",
      states: {
        idle: { on: { SEEN: { actions: "noteSeen", target: "debouncing", reenter: true } } },
        debouncing: {
          on: { SEEN: { actions: "noteSeen" } },
          after: { readDebounce: [{ guard: "seenAhead", target: "posting" }, { target: "idle" }] },
        },
        posting: {
          on: { SEEN: { actions: "noteSeen" } },
          invoke: {
            src: "markRead",
            input: ({ context }) => ({ sessionId: context.sessionId, messageId: context.seenId! }),
            onDone: { target: "idle", actions: { type: "storeRead", params: ({ event }) => event.output } },
            onError: "idle",
          },
        },
      },
    },
    upload: {
      initial: "idle",
      states: {
        idle: {
          on: {
            ATTACH: [
              { guard: "uploadTooBig", actions: "refuseUpload" },
              { target: "uploading", actions: "startUpload" },
            ],
          },
        },
        uploading: {
          invoke: {
            src: "uploadFile",
            input: ({ context }) => ({
              sessionId: context.sessionId,
              file: context.upload!.file,
              clientId: context.upload!.clientId,
            }),
          },
          on: {
            "UPLOAD.PROGRESS": { actions: "progress" },
            "UPLOAD.DONE": { target: "idle", actions: assign({ upload: null }) },
            "UPLOAD.FAILED": {
              target: "idle",
              actions: { type: "uploadFailed", params: ({ event }) => event.message },
            },
            CANCEL_UPLOAD: { target: "idle", actions: assign({ upload: null }) },
          },
        },
      },
    },
  },
});
