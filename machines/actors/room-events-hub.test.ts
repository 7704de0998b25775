import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AnyActorLogic, type AnyEventObject, createActor, createMachine, fromPromise } from "xstate";
import type { CallApi } from "../call-api";
import { chatMachine } from "../chat.machine";
import type { ChatMessage, ChatPage } from "../chat-protocol";
import type { RoomSession } from "../room-protocol";
import { createChatFeed } from "./chat-feed";
import { callFeedOver, createRoomEventsHub, type OpenRoomStream, type RoomStreamData } from "./room-events-hub";
import { createServerActors } from "./server";

const STUDY = "study-1";
const SESSION = "session-1";
const session: RoomSession = {
  id: SESSION,
  roomId: "room-1",
  startedAt: new Date(0).toISOString(),
  startedBy: "alice",
  participants: [],
  onlineCount: 0,
};

/** The server side of the tab's streams: every one the hub opened, and whether it is still open. */
function fakeServer() {
  const streams: Array<{
    studyId: string;
    open: boolean;
    send: (data: RoomStreamData) => void;
    fail: (error: unknown) => void;
  }> = [];
  const open: OpenRoomStream = (studyId, { onData, onError }) => {
    const stream = { studyId, open: true, send: onData, fail: onError };
    streams.push(stream);
    return () => {
      stream.open = false;
    };
  };
  return {
    open,
    streams,
    openStreams: () => streams.filter((s) => s.open),
    /** The newest stream, which must be the only open one. */
    live() {
      const open = streams.filter((s) => s.open);
      expect(open).toHaveLength(1);
      return open[0]!;
    },
  };
}

/** The call machine's roomEvents actor, wired to the hub as the browser wires it, under a recording parent. */
function callFeed(hub: ReturnType<typeof createRoomEventsHub>) {
  const unused = () => Promise.reject(new Error("not used"));
  const api: CallApi = {
    prepareJoin: unused,
    join: unused,
    joinOrStart: unused,
    leave: unused,
    setMedia: unused,
    setHand: unused,
    heartbeat: unused,
    hostAction: unused,
    reportLink: unused,
    setViews: unused,
    subscribe: callFeedOver(hub),
  };
  return run(createServerActors(api, 15_000).roomEvents, { studyId: STUDY, sessionId: SESSION });
}

function run(logic: AnyActorLogic, input: unknown) {
  const got: AnyEventObject[] = [];
  const parent = createActor(
    createMachine({
      invoke: { src: logic, input },
      on: { "*": { actions: ({ event }) => got.push(event) } },
    }),
  );
  parent.start();
  return { got, stop: () => parent.stop() };
}

function message(body: string): ChatMessage {
  return {
    id: `m-${body}`,
    seq: 1,
    sessionId: SESSION,
    authorId: "bob",
    authorName: "Bob",
    body,
    kind: "text",
    file: null,
    clientId: `c-${body}`,
    createdAt: new Date(0).toISOString(),
  };
}

/** The real chat machine with its feed on the hub; history loads are counted (a RESYNC reloads it). */
function chat(hub: ReturnType<typeof createRoomEventsHub>) {
  let historyLoads = 0;
  const actor = createActor(
    chatMachine.provide({
      actors: {
        feed: createChatFeed(hub),
        loadHistory: fromPromise<ChatPage, { sessionId: string }>(async () => {
          historyLoads += 1;
          return { messages: [], reads: [], nextCursor: null };
        }),
      },
    }),
    { input: { studyId: STUDY, sessionId: SESSION, selfId: "me", maxUploadBytes: 1000, newClientId: () => "cid" } },
  );
  actor.start();
  return {
    actor,
    historyLoads: () => historyLoads,
    bodies: () => actor.getSnapshot().context.messages.map((m) => m.body),
  };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("room-events hub: one stream for the call and the chat", () => {
  it("opens one underlying stream for both, and hands each its part of every event", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const call = callFeed(hub);
    const c = chat(hub);
    expect(server.streams).toHaveLength(1);
    const stream = server.live();
    expect(stream.studyId).toBe(STUDY);

    stream.send({ type: "snapshot", session });
    stream.send({ type: "chat-message", sessionId: SESSION, message: message("hello") });
    stream.send({ type: "hand-changed", sessionId: SESSION, userId: "bob", peerId: "p-bob", handRaisedAt: null });
    await vi.advanceTimersByTimeAsync(0);

    expect(call.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT", "ROOM.EVENT", "ROOM.EVENT"]);
    expect(c.bodies()).toEqual(["hello"]);
    expect(server.streams).toHaveLength(1);
    call.stop();
    c.actor.stop();
  });

  it("resyncs the chat on every (re)start of the stream: the first snapshot, and a resume that re-snapshots", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const call = callFeed(hub);
    const c = chat(hub);
    await vi.advanceTimersByTimeAsync(0);
    expect(c.historyLoads()).toBe(1); // its own start
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.historyLoads()).toBe(2);
    // The link reconnected but could not resume from its lastEventId: the server snapshots again.
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.historyLoads()).toBe(3);
    expect(call.got.filter((e) => e.type === "ROOM.SNAPSHOT")).toHaveLength(2);
    call.stop();
    c.actor.stop();
  });

  it("restarts a started stream for a call feed that subscribes late, so it reconciles from a new snapshot", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const c = chat(hub);
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    const loads = c.historyLoads();

    const call = callFeed(hub);
    expect(server.streams).toHaveLength(2);
    expect(server.streams[0]!.open).toBe(false);
    // Whatever the replaced stream still reports is dropped.
    server.streams[0]!.send({ type: "chat-message", sessionId: SESSION, message: message("stale") });
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    expect(call.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT"]);
    expect(c.historyLoads()).toBe(loads + 1);
    expect(c.bodies()).toEqual([]);
    call.stop();
    c.actor.stop();
  });

  it("does not restart a stream whose snapshot has not come yet, nor for the chat joining late", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const first = callFeed(hub);
    const second = callFeed(hub);
    expect(server.streams).toHaveLength(1);
    server.live().send({ type: "snapshot", session });
    const c = chat(hub);
    expect(server.streams).toHaveLength(1);
    server.live().send({ type: "chat-message", sessionId: SESSION, message: message("late") });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.bodies()).toEqual(["late"]);
    expect(first.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT", "ROOM.EVENT"]);
    expect(second.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT", "ROOM.EVENT"]);
    first.stop();
    second.stop();
    c.actor.stop();
  });

  it("keeps the chat's feed when the call feed stops, and closes the stream when both are gone", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const call = callFeed(hub);
    const c = chat(hub);
    const stream = server.live();
    stream.send({ type: "snapshot", session });

    call.stop();
    expect(stream.open).toBe(true);
    stream.send({ type: "chat-message", sessionId: SESSION, message: message("still here") });
    await vi.advanceTimersByTimeAsync(0);
    expect(c.bodies()).toEqual(["still here"]);
    expect(call.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT"]);

    c.actor.stop();
    expect(stream.open).toBe(false);
    expect(server.openStreams()).toHaveLength(0);
    // The next subscriber opens a new one.
    const again = callFeed(hub);
    expect(server.streams).toHaveLength(2);
    expect(server.live()).toBe(server.streams[1]);
    again.stop();
  });

  it("keeps the call's feed when the chat stops", () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const call = callFeed(hub);
    const c = chat(hub);
    const stream = server.live();
    c.actor.stop();
    expect(stream.open).toBe(true);
    stream.send({ type: "snapshot", session });
    expect(call.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT"]);
    call.stop();
    expect(stream.open).toBe(false);
  });

  it("tells the call a failed stream once; the call's re-subscription reopens it and resyncs the chat", async () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const call = callFeed(hub);
    const c = chat(hub);
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    const loads = c.historyLoads();

    server.live().fail(new Error("You are not a member of this study."));
    expect(call.got.at(-1)).toEqual({ type: "ROOM.FEED_FAILED", reason: "You are not a member of this study." });
    expect(server.openStreams()).toHaveLength(0);

    // The call machine's retry: its feed actor is started again.
    call.stop();
    const retry = callFeed(hub);
    expect(server.streams).toHaveLength(2);
    server.live().send({ type: "snapshot", session });
    await vi.advanceTimersByTimeAsync(0);
    expect(retry.got.map((e) => e.type)).toEqual(["ROOM.SNAPSHOT"]);
    expect(c.historyLoads()).toBe(loads + 1);
    retry.stop();
    c.actor.stop();
    expect(server.openStreams()).toHaveLength(0);
  });

  it("treats a stream that fails while it is being opened as over", () => {
    const hub = createRoomEventsHub((_studyId, { onError }) => {
      onError(new Error("refused"));
      return () => {
        closed += 1;
      };
    });
    let closed = 0;
    const call = callFeed(hub);
    expect(call.got).toEqual([{ type: "ROOM.FEED_FAILED", reason: "refused" }]);
    expect(closed).toBe(1);
    call.stop();
    expect(closed).toBe(1);
  });

  it("keeps one stream per study", () => {
    const server = fakeServer();
    const hub = createRoomEventsHub(server.open);
    const listener = { onEvent: () => {}, onSnapshot: () => {} };
    const a = hub.subscribe("study-a", listener);
    const b = hub.subscribe("study-b", listener);
    expect(server.openStreams().map((s) => s.studyId)).toEqual(["study-a", "study-b"]);
    a();
    expect(server.openStreams().map((s) => s.studyId)).toEqual(["study-b"]);
    b();
  });
});
