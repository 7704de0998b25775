import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type AnyEventObject, type AnyActorLogic, createActor, createMachine, sendTo } from "xstate";
import type { CallApi } from "../call-api";
import type { RoomEvent, RoomSession } from "../room-protocol";
import { HostActionError, JoinError } from "../errors";
import { CALL_LOCKED_TEXT, REMOVED_TEXT } from "../room-presence";
import { createServerActors } from "./server";

/** Runs one callback actor under a parent that records what it sends back. */
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

function fakeApi(overrides: Partial<CallApi> = {}): CallApi {
  const unused = () => Promise.reject(new Error("not used"));
  return {
    prepareJoin: unused,
    join: unused,
    joinOrStart: unused,
    leave: unused,
    setMedia: unused,
    setHand: unused,
    heartbeat: () => Promise.resolve(),
    reportLink: unused,
    hostAction: unused,
    setViews: unused,
    subscribe: () => () => undefined,
    ...overrides,
  };
}

const ref = { studyId: "study-1", sessionId: "session-1" };

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("heartbeat actor", () => {
  it("retries a failed beat on the retry schedule before telling the machine, then says when it is back", async () => {
    const beats: number[] = [];
    let failing = true;
    const api = fakeApi({
      heartbeat: () => {
        beats.push(Date.now());
        return failing ? Promise.reject(new TypeError("Failed to fetch")) : Promise.resolve();
      },
    });
    const start = Date.now();
    const { got, stop } = run(createServerActors(api, 15_000).heartbeat, ref);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(beats).toHaveLength(1);
    // 1 s, 3 s and 7 s later it tries again; only then does the machine hear of it.
    await vi.advanceTimersByTimeAsync(1_000 + 3_000 + 7_000 - 1);
    expect(beats).toHaveLength(3);
    expect(got).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(beats.map((t) => t - start)).toEqual([15_000, 16_000, 19_000, 26_000]);
    expect(got).toEqual([{ type: "HEARTBEAT.FAILED", reason: "Failed to fetch" }]);
    // It keeps beating at the normal pace; the first beat that gets through clears it.
    failing = false;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(got.at(-1)).toEqual({ type: "HEARTBEAT.OK" });
    expect(got).toHaveLength(2);
    stop();
  });

  it("a beat that succeeds on retry is not reported at all", async () => {
    let calls = 0;
    const api = fakeApi({
      heartbeat: () => (++calls === 1 ? Promise.reject(new Error("blip")) : Promise.resolve()),
    });
    const { got, stop } = run(createServerActors(api, 15_000).heartbeat, ref);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBeGreaterThan(3);
    expect(got).toEqual([]);
    stop();
  });
});

describe("roomEvents actor", () => {
  it("passes a refused or failed subscription on to the machine as ROOM.FEED_FAILED", async () => {
    let fail: ((error: unknown) => void) | null = null;
    const api = fakeApi({
      subscribe: (_studyId, _onEvent, _onSnapshot, onError) => {
        fail = onError;
        return () => undefined;
      },
    });
    const { got, stop } = run(createServerActors(api, 15_000).roomEvents, ref);
    expect(fail).not.toBeNull();
    fail!(new Error("You are not a member of this study."));
    expect(got).toEqual([{ type: "ROOM.FEED_FAILED", reason: "You are not a member of this study." }]);
    stop();
  });

  it("still turns snapshots and events into the machine's feed events", () => {
    let handlers: { onEvent: (e: RoomEvent) => void; onSnapshot: (s: RoomSession | null) => void } | null = null;
    const api = fakeApi({
      subscribe: (_studyId, onEvent, onSnapshot) => {
        handlers = { onEvent, onSnapshot };
        return () => undefined;
      },
    });
    const { got, stop } = run(createServerActors(api, 15_000).roomEvents, ref);
    handlers!.onSnapshot(null);
    expect(got[0]).toMatchObject({ type: "ROOM.EVENT", event: { type: "session-ended", sessionId: "session-1" } });
    stop();
  });
});

describe("heartbeat actor: Try again", () => {
  it("beats at once on BEAT_NOW", async () => {
    let beats = 0;
    const api = fakeApi({ heartbeat: () => (beats++, Promise.resolve()) });
    const logic = createServerActors(api, 15_000).heartbeat;
    const parent = createActor(
      createMachine({
        invoke: { src: logic, id: "hb", input: ref },
        on: { POKE: { actions: sendTo("hb", { type: "BEAT_NOW" }) } },
      }),
    );
    parent.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beats).toBe(0);
    parent.send({ type: "POKE" });
    await vi.advanceTimersByTimeAsync(0);
    expect(beats).toBe(1);
    parent.stop();
  });
});

/** Runs a promise actor to its end: what it threw (undefined when it succeeded). */
async function thrownBy(logic: AnyActorLogic, input: unknown): Promise<unknown> {
  const actor = createActor(logic, { input });
  const settled = new Promise<unknown>((resolve) =>
    actor.subscribe({ error: resolve, complete: () => resolve(undefined) }),
  );
  actor.start();
  return settled;
}

/** A refusal as the tRPC client reports it: the server's code in `data`, its sentence as the message. */
const refused = (code: string, message: string, reason: string | null = null) =>
  Object.assign(new Error(message), { data: { code, reason } });

describe("hostAction actor", () => {
  const input = { sessionId: "session-1", action: { kind: "mute", userId: "bob" } };

  it("passes the action on and succeeds when the server takes it", async () => {
    const sent: unknown[] = [];
    const api = fakeApi({ hostAction: (i) => (sent.push(i), Promise.resolve()) });
    expect(await thrownBy(createServerActors(api, 15_000).hostAction, input)).toBeUndefined();
    expect(sent).toEqual([input]);
  });

  it.each([
    [refused("FORBIDDEN", "Admins can't do that to the study's owner."), "not-allowed"],
    [refused("NOT_FOUND", "That person is not in this call."), "not-in-call"],
    [refused("BAD_REQUEST", "This call has already ended."), "ended"],
    [new TypeError("Failed to fetch"), "network"],
    [refused("INTERNAL_SERVER_ERROR", "Internal server error"), "unknown"],
  ])("turns %s into the reason %s", async (error, reason) => {
    const api = fakeApi({ hostAction: () => Promise.reject(error) });
    const thrown = await thrownBy(createServerActors(api, 15_000).hostAction, input);
    expect(thrown).toBeInstanceOf(HostActionError);
    expect((thrown as HostActionError).reason).toBe(reason);
  });
});

describe("joinCall actor", () => {
  const input = { studyId: "study-1", sessionId: "session-1" };

  it.each([
    [refused("FORBIDDEN", REMOVED_TEXT, "removed"), "removed"],
    [refused("FORBIDDEN", CALL_LOCKED_TEXT, "locked"), "locked"],
    // The sentence alone decides nothing: only the reason tells a ban from a non-member.
    [refused("FORBIDDEN", REMOVED_TEXT), "forbidden"],
    [refused("FORBIDDEN", "You are not a member of this study."), "forbidden"],
    [refused("CONFLICT", "This call is full (6 people)", "full"), "full"],
    [refused("NOT_FOUND", "Study not found."), "not-found"],
    [new TypeError("Failed to fetch"), "network"],
  ])("turns the server's %s into the reason %s", async (error, reason) => {
    const api = fakeApi({ join: () => Promise.reject(error) });
    const thrown = await thrownBy(createServerActors(api, 15_000).joinCall, input);
    expect(thrown).toBeInstanceOf(JoinError);
    expect((thrown as JoinError).reason).toBe(reason);
  });
});
