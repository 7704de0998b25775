import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, fromCallback, fromPromise, type EventObject } from "xstate";
import {
  chatMachine,
  type ChatFeedEvent,
  type UploadEvent,
  READ_DEBOUNCE_MS,
  SEND_RETRY_DELAYS_MS,
  type SendInput,
  type UploadInput,
} from "./chat.machine";
import type { ChatMessage, ChatPage, ChatRead } from "./chat-protocol";
import { groupByAuthor, linkify, seenBy, typingLine, unreadCount } from "./chat.view";

const SESSION = "s1";
let seq = 0;
function msg(authorId: string, body: string, clientId = `c${seq + 1}`): ChatMessage {
  seq += 1;
  return {
    id: `m${seq}`,
    seq,
    sessionId: SESSION,
    authorId,
    authorName: authorId,
    body,
    kind: "text",
    file: null,
    clientId,
    createdAt: new Date(0).toISOString(),
  };
}

function setup(opts: { page?: ChatPage; send?: (input: SendInput) => Promise<ChatMessage> } = {}) {
  const sends: SendInput[] = [];
  const typings: number[] = [];
  const marks: string[] = [];
  const uploads: Array<{ input: UploadInput; stopped: boolean; sendBack: (e: UploadEvent) => void }> = [];
  let feedBack: ((e: EventObject) => void) | null = null;
  let ids = 0;
  const machine = chatMachine.provide({
    actors: {
      feed: fromCallback(({ sendBack }) => {
        feedBack = sendBack;
        return () => {};
      }),
      loadHistory: fromPromise(async () => opts.page ?? { messages: [], reads: [], nextCursor: null }),
      sendMessage: fromPromise<ChatMessage, SendInput>(async ({ input }) => {
        sends.push(input);
        if (opts.send) return opts.send(input);
        return { ...msg("me", input.body, input.clientId) };
      }),
      sendTyping: fromPromise(async () => {
        typings.push(Date.now());
      }),
      markRead: fromPromise<ChatRead, { sessionId: string; messageId: string }>(async ({ input }) => {
        marks.push(input.messageId);
        return {
          userId: "me",
          lastReadMessageId: input.messageId,
          lastReadSeq: Number(input.messageId.slice(1)),
          readAt: "",
        };
      }),
      uploadFile: fromCallback<EventObject, UploadInput>(({ input, sendBack }) => {
        const job = { input, stopped: false, sendBack };
        uploads.push(job);
        return () => {
          job.stopped = true;
        };
      }),
    },
  });
  const actor = createActor(machine, {
    input: { studyId: "st", sessionId: SESSION, selfId: "me", maxUploadBytes: 1000, newClientId: () => `cid-${++ids}` },
  });
  actor.start();
  return {
    actor,
    sends,
    typings,
    marks,
    uploads,
    feed: (e: ChatFeedEvent) => feedBack!(e),
    ctx: () => actor.getSnapshot().context,
  };
}

beforeEach(() => {
  vi.useFakeTimers();
  seq = 0;
});
afterEach(() => vi.useRealTimers());

describe("chat machine: sending", () => {
  it("shows a message as sending, then sent", async () => {
    const t = setup();
    await vi.advanceTimersByTimeAsync(0);
    t.actor.send({ type: "SEND", body: "  hello  " });
    expect(t.ctx().outbox).toEqual([{ clientId: "cid-1", body: "hello", status: "sending", attempts: 1 }]);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ctx().outbox).toEqual([]);
    expect(t.ctx().messages.map((m) => m.body)).toEqual(["hello"]);
  });

  it("retries a failed send with the same clientId, then shows Not sent, and Retry sends it", async () => {
    let fail = true;
    const t = setup({
      send: async (input) => {
        if (fail) throw new TypeError("Failed to fetch");
        return msg("me", input.body, input.clientId);
      },
    });
    t.actor.send({ type: "SEND", body: "blip" });
    await vi.advanceTimersByTimeAsync(0);
    for (const d of SEND_RETRY_DELAYS_MS) await vi.advanceTimersByTimeAsync(d);
    // Every try carries the same clientId, so the server stores the message once whichever got through.
    expect(t.sends.map((s) => s.clientId)).toEqual(SEND_RETRY_DELAYS_MS.map(() => "cid-1"));
    expect(t.ctx().outbox[0]).toMatchObject({ status: "failed", clientId: "cid-1" });
    fail = false;
    t.actor.send({ type: "RETRY", clientId: "cid-1" });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ctx().outbox).toEqual([]);
    expect(t.ctx().messages.map((m) => m.clientId)).toEqual(["cid-1"]);
  });

  it("rides out a blip: a send that fails once goes through on the retry", async () => {
    let calls = 0;
    const t = setup({
      send: async (input) => {
        if (++calls === 1) throw new TypeError("Failed to fetch");
        return msg("me", input.body, input.clientId);
      },
    });
    t.actor.send({ type: "SEND", body: "later" });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.ctx().outbox[0]?.status).toBe("sending");
    await vi.advanceTimersByTimeAsync(SEND_RETRY_DELAYS_MS[0]!);
    expect(t.ctx().outbox).toEqual([]);
    expect(t.sends.map((s) => s.clientId)).toEqual(["cid-1", "cid-1"]);
  });

  it("doesn't retry a refusal no retry can change", async () => {
    const t = setup({
      send: async () => {
        throw Object.assign(new Error("not in call"), { data: { code: "FORBIDDEN" } });
      },
    });
    t.actor.send({ type: "SEND", body: "x" });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.sends).toHaveLength(1);
    expect(t.ctx().outbox[0]?.status).toBe("failed");
  });

  it("ignores an empty message", () => {
    const t = setup();
    t.actor.send({ type: "SEND", body: "   " });
    expect(t.ctx().outbox).toEqual([]);
  });
});

describe("chat machine: typing", () => {
  it("tells the server at most once per 3 s while typing", async () => {
    const t = setup();
    for (let i = 0; i < 10; i++) {
      t.actor.send({ type: "KEYSTROKE" });
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(t.typings).toHaveLength(2);
  });

  it("shows who is typing and forgets them after 5 s or when their message arrives", async () => {
    const t = setup();
    t.feed({ type: "FEED.EVENT", event: { type: "chat-typing", sessionId: SESSION, userId: "bob", name: "Bob" } });
    t.feed({ type: "FEED.EVENT", event: { type: "chat-typing", sessionId: SESSION, userId: "carol", name: "Carol" } });
    expect(typingLine(t.ctx().typing)).toBe("Bob and Carol are typing…");
    await vi.advanceTimersByTimeAsync(3_000);
    // Bob types again: his notice lasts another 5 s from now.
    t.feed({ type: "FEED.EVENT", event: { type: "chat-typing", sessionId: SESSION, userId: "bob", name: "Bob" } });
    await vi.advanceTimersByTimeAsync(2_500);
    expect(typingLine(t.ctx().typing)).toBe("Bob is typing…");
    t.feed({ type: "FEED.EVENT", event: { type: "chat-message", sessionId: SESSION, message: msg("bob", "hi") } });
    expect(typingLine(t.ctx().typing)).toBeNull();
    // Our own typing never shows.
    t.feed({ type: "FEED.EVENT", event: { type: "chat-typing", sessionId: SESSION, userId: "me", name: "Me" } });
    expect(t.ctx().typing).toEqual({});
  });
});

describe("chat machine: read cursor", () => {
  it("counts unread while closed and moves the cursor only for messages seen in the open, visible panel", async () => {
    const t = setup();
    await vi.advanceTimersByTimeAsync(0);
    const a = msg("bob", "one");
    const b = msg("bob", "two");
    t.feed({ type: "FEED.EVENT", event: { type: "chat-message", sessionId: SESSION, message: a } });
    t.feed({ type: "FEED.EVENT", event: { type: "chat-message", sessionId: SESSION, message: b } });
    expect(unreadCount(t.ctx())).toBe(2);
    // Seen while the panel is closed: not a read.
    t.actor.send({ type: "SEEN", messageId: b.id, seq: b.seq });
    await vi.advanceTimersByTimeAsync(READ_DEBOUNCE_MS * 2);
    expect(t.marks).toEqual([]);
    // Open, but the tab is hidden: still not a read.
    t.actor.send({ type: "OPEN" });
    t.actor.send({ type: "VISIBILITY", visible: false });
    t.actor.send({ type: "SEEN", messageId: b.id, seq: b.seq });
    await vi.advanceTimersByTimeAsync(READ_DEBOUNCE_MS * 2);
    expect(t.marks).toEqual([]);
    t.actor.send({ type: "VISIBILITY", visible: true });
    t.actor.send({ type: "SEEN", messageId: a.id, seq: a.seq });
    t.actor.send({ type: "SEEN", messageId: b.id, seq: b.seq });
    await vi.advanceTimersByTimeAsync(READ_DEBOUNCE_MS - 100);
    expect(t.marks).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    // One call for the furthest message, after the debounce.
    expect(t.marks).toEqual([b.id]);
    expect(unreadCount(t.ctx())).toBe(0);
    // Seeing an older message again never moves the cursor back.
    t.actor.send({ type: "SEEN", messageId: a.id, seq: a.seq });
    await vi.advanceTimersByTimeAsync(READ_DEBOUNCE_MS * 2);
    expect(t.marks).toEqual([b.id]);
  });

  it("shows Seen by under the message each reader's cursor sits on", async () => {
    const a = msg("me", "question");
    const b = msg("me", "follow-up");
    const t = setup({
      page: {
        messages: [b, a],
        reads: [{ userId: "bob", lastReadMessageId: a.id, lastReadSeq: a.seq, readAt: "" }],
        nextCursor: null,
      },
    });
    await vi.advanceTimersByTimeAsync(0);
    const names = { bob: "Bob", carol: "Carol" };
    expect(seenBy(t.ctx(), a, names)).toEqual(["Bob"]);
    t.feed({
      type: "FEED.EVENT",
      event: { type: "chat-read", sessionId: SESSION, userId: "carol", lastReadMessageId: b.id, lastReadSeq: b.seq },
    });
    t.feed({
      type: "FEED.EVENT",
      event: { type: "chat-read", sessionId: SESSION, userId: "bob", lastReadMessageId: b.id, lastReadSeq: b.seq },
    });
    expect(seenBy(t.ctx(), a, names)).toEqual([]);
    expect(seenBy(t.ctx(), b, names)).toEqual(["Bob", "Carol"]);
    // A late, older event never moves a cursor back.
    t.feed({
      type: "FEED.EVENT",
      event: { type: "chat-read", sessionId: SESSION, userId: "bob", lastReadMessageId: a.id, lastReadSeq: a.seq },
    });
    expect(seenBy(t.ctx(), b, names)).toEqual(["Bob", "Carol"]);
  });
});

describe("chat machine: files", () => {
  it("refuses an over-size file before uploading, naming the limit", () => {
    const t = setup();
    t.actor.send({ type: "ATTACH", file: { name: "huge.zip", size: 5 * 1024 * 1024 } });
    expect(t.uploads).toHaveLength(0);
    expect(t.ctx().notice).toMatch(/huge\.zip.*at most 0 MB/);
  });

  it("tracks progress and cancel stops the upload", () => {
    const t = setup();
    t.actor.send({ type: "ATTACH", file: { name: "notes.pdf", size: 800 } });
    expect(t.uploads).toHaveLength(1);
    t.uploads[0]!.sendBack({ type: "UPLOAD.PROGRESS", loaded: 400 });
    expect(t.ctx().upload).toMatchObject({ loaded: 400, file: { name: "notes.pdf" } });
    t.actor.send({ type: "CANCEL_UPLOAD" });
    expect(t.uploads[0]!.stopped).toBe(true);
    expect(t.ctx().upload).toBeNull();
  });
});

describe("chat view helpers", () => {
  it("groups by author and links only http(s) URLs", () => {
    const [a, b, c] = [msg("bob", "1"), msg("bob", "2"), msg("me", "3")];
    expect(groupByAuthor([a!, b!, c!]).map((g) => g.length)).toEqual([2, 1]);
    expect(linkify("see https://example.com/x?y=1. or javascript:alert(1)")).toEqual([
      { text: "see " },
      { text: "https://example.com/x?y=1", href: "https://example.com/x?y=1" },
      { text: ". or javascript:alert(1)" },
    ]);
  });
});
