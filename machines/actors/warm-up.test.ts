/**
 * The pre-join warm-up actor with a fake prepareJoin and fake sockets: it offers an open socket,
 * renews it before the grant expires, keeps it on HOLD, lets the call have it on HAND_OVER, and
 * destroys everything else.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createActor, createMachine, sendTo, type AnyActorRef } from "xstate";
import type { WarmUpCommand, WarmUpEvent } from "../call.contracts";
import type { PrejoinGrantResult } from "../room-protocol";
import { createWarmUp, type WarmSocket } from "./warm-up";

class FakeSocket implements WarmSocket {
  destroyed = false;
  private readonly listeners = new Map<string, Array<() => void>>();
  constructor(readonly grant: string) {}
  on(event: string, listener: () => void) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  emit(event: string) {
    for (const l of this.listeners.get(event) ?? []) l();
  }
  destroy() {
    this.destroyed = true;
  }
}

function harness(opts: { failGrants?: number } = {}) {
  let n = 0;
  let failures = opts.failGrants ?? 0;
  const sockets: FakeSocket[] = [];
  const events: WarmUpEvent[] = [];
  const api = {
    prepareJoin: vi.fn(async (): Promise<PrejoinGrantResult> => {
      if (failures-- > 0) throw new TypeError("Failed to fetch");
      n++;
      return { grant: `g${n}`, expiresAt: "", iceServers: [], iceTransportPolicy: "all" };
    }),
  };
  const warmUp = createWarmUp(
    api,
    (grant) => {
      const s = new FakeSocket(grant);
      sockets.push(s);
      return s;
    },
    { renewMs: 60_000, retryMs: 5_000, maxFailures: 3 },
  );
  // A parent that records what the warm-up tells it and forwards commands to it.
  const parent = createActor(
    createMachine({
      invoke: { id: "w", src: warmUp, input: { studyId: "s1" } },
      on: {
        "WARM.*": { actions: ({ event }) => events.push(event as WarmUpEvent) },
        CMD: {
          actions: sendTo("w", ({ event }) => (event as unknown as { command: WarmUpCommand }).command),
        },
      },
    }),
  );
  parent.start();
  const command = (c: WarmUpCommand) => (parent as AnyActorRef).send({ type: "CMD", command: c });
  return { api, sockets, events, command, stop: () => parent.stop() };
}

const flush = () => vi.advanceTimersByTimeAsync(0);
beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("warm-up", () => {
  it("offers a socket once it is open, and renews it before the grant expires", async () => {
    const h = harness();
    await flush();
    expect(h.api.prepareJoin).toHaveBeenCalledWith("s1");
    expect(h.events).toEqual([]); // not open yet: nothing to offer
    h.sockets[0]!.emit("open");
    expect(h.events).toEqual([{ type: "WARM.READY", warm: { grant: "g1", handle: h.sockets[0] } }]);

    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[0]!.destroyed).toBe(false); // still on offer until the new one is open
    h.sockets[1]!.emit("open");
    expect(h.events.at(-1)).toEqual({ type: "WARM.READY", warm: { grant: "g2", handle: h.sockets[1] } });
    expect(h.sockets[0]!.destroyed).toBe(true);
    h.stop();
    expect(h.sockets[1]!.destroyed).toBe(true);
  });

  it("on HOLD keeps the offered socket and stops renewing; HAND_OVER leaves it to the call", async () => {
    const h = harness();
    await flush();
    h.sockets[0]!.emit("open");
    h.command({ type: "WARM.HOLD" });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.sockets).toHaveLength(1);
    expect(h.sockets[0]!.destroyed).toBe(false);
    h.command({ type: "WARM.HAND_OVER" });
    h.sockets[0]!.emit("disconnected"); // the call's problem now
    h.stop();
    expect(h.sockets[0]!.destroyed).toBe(false);
    expect(h.events.filter((e) => e.type === "WARM.LOST")).toEqual([]);
  });

  it("STOP (a cold join, a failed join) destroys the offered socket", async () => {
    const h = harness();
    await flush();
    h.sockets[0]!.emit("open");
    h.command({ type: "WARM.STOP" });
    expect(h.sockets[0]!.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(h.sockets).toHaveLength(1);
    h.stop();
  });

  it("a socket lost while on offer is withdrawn and replaced; failures give up after three", async () => {
    const h = harness();
    await flush();
    h.sockets[0]!.emit("open");
    h.sockets[0]!.emit("disconnected");
    expect(h.events.at(-1)).toEqual({ type: "WARM.LOST" });
    expect(h.sockets[0]!.destroyed).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.sockets).toHaveLength(2);
    h.sockets[1]!.emit("error"); // refused before it opened
    await vi.advanceTimersByTimeAsync(5_000);
    h.sockets[2]!.emit("error");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.sockets).toHaveLength(3); // three failures in a row: the join will go cold
    h.stop();
  });

  it("retries a failed grant request, and a grant arriving after the click opens nothing", async () => {
    const h = harness({ failGrants: 1 });
    await flush();
    expect(h.sockets).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.sockets).toHaveLength(1);
    h.stop();

    const late = harness();
    late.command({ type: "WARM.HOLD" });
    await flush();
    expect(late.sockets).toHaveLength(0);
    late.stop();
  });
});
