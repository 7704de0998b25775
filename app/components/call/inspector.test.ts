import { createActor, createMachine } from "xstate";
import { describe, expect, it } from "vitest";
import { CallInspector, toPlain } from "./inspector";

const toggle = createMachine({
  id: "toggle",
  initial: "off",
  context: { count: 0 },
  states: { off: { on: { FLIP: "on" } }, on: { on: { FLIP: "off" } } },
});

class FakeTrack {
  kind = "video";
  id = "t1";
}

describe("CallInspector", () => {
  it("keeps only the last N events, newest last, without xstate's internal ones", () => {
    const inspector = new CallInspector(3);
    const actor = createActor(toggle, { inspect: inspector.inspect }).start();
    for (let i = 0; i < 5; i++) actor.send({ type: "FLIP" });
    expect(inspector.events.map((e) => e.type)).toEqual(["FLIP", "FLIP", "FLIP"]);
    expect(inspector.events.every((e) => e.actor === actor.id)).toBe(true);
  });

  it("tells subscribers about each new event", () => {
    const inspector = new CallInspector();
    let calls = 0;
    const stop = inspector.subscribe(() => calls++);
    const actor = createActor(toggle, { inspect: inspector.inspect }).start();
    actor.send({ type: "FLIP" });
    stop();
    actor.send({ type: "FLIP" });
    expect(calls).toBe(1);
    expect(inspector.getVersion()).toBe(2);
  });

  it("snapshots every machine's state and the recent events as JSON", () => {
    const inspector = new CallInspector();
    const call = createActor(toggle, { inspect: inspector.inspect }).start();
    const peer = createActor(toggle).start();
    peer.send({ type: "FLIP" });
    const chat = { id: "chat-1", getSnapshot: () => ({ value: { history: "ready" }, context: { messages: [] } }) };
    const detach = inspector.attach("chat", chat);
    call.send({ type: "FLIP" });
    const json = JSON.parse(inspector.snapshot(call, { "peer-b": peer }, Date.UTC(2026, 0, 2, 3, 4, 5))) as {
      takenAt: string;
      machines: Record<string, unknown>;
      events: Array<{ type: string; at: string }>;
    };
    expect(json.takenAt).toBe("2026-01-02T03:04:05.000Z");
    expect(json.machines.call).toMatchObject({ value: "on", status: "active", context: { count: 0 } });
    expect(json.machines.peers).toMatchObject({ "peer-b": { value: "on" } });
    expect(json.machines.chat).toMatchObject({ id: "chat-1", value: { history: "ready" } });
    expect(json.events.map((e) => e.type)).toEqual(["FLIP"]);
    detach();
    expect(JSON.parse(inspector.snapshot(call, {})).machines.chat).toBeUndefined();
  });
});

describe("toPlain", () => {
  it("names media objects and actors instead of serialising them, drops functions and message text", () => {
    const actor = createActor(toggle);
    expect(
      toPlain(
        {
          track: new FakeTrack(),
          peers: { a: actor },
          send: () => {},
          when: new Date(0),
          messages: [{ id: "m1", body: "secret words" }],
        },
        0,
      ),
    ).toEqual({
      track: "[FakeTrack video t1]",
      peers: { a: `[actor ${actor.id}]` },
      send: undefined,
      when: "1970-01-01T00:00:00.000Z",
      messages: [{ id: "m1", body: "[12 characters]" }],
    });
  });
});
