// A host's own controls (HOST_ACTION): the call machine sends each to the server through its
// `hostAction` actor and keeps a refusal as a typed reason, with fake actors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flush, inCall, SESSION, T1 } from "./call.test-harness";
import { HostActionError } from "./errors";
import { participant } from "./test-utils";

const bob = participant("bob-peer", T1, { userId: "bob", name: "Bob" });
const carol = participant("carol-peer", T1, { userId: "carol", name: "Carol" });

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

/** The host-action children still running (a finished one is stopped, not kept in the snapshot). */
const running = (c: Awaited<ReturnType<typeof inCall>>) =>
  Object.keys(c.actor.getSnapshot().children).filter((id) => id.startsWith("hostAction."));

describe("HOST_ACTION", () => {
  it("sends each action with our session, several at once, and forgets each one the server took", async () => {
    const c = await inCall({ host: true, room: [bob, carol] });
    c.actor.send({ type: "HOST_ACTION", action: { kind: "mute", userId: "bob" } });
    c.actor.send({ type: "HOST_ACTION", action: { kind: "remove", userId: "carol", ban: true } });
    c.actor.send({
      type: "HOST_ACTION",
      action: {
        kind: "set-permissions",
        permissions: { unmute: "hosts", camera: "everyone", screenShare: "everyone", locked: true },
      },
    });
    expect(c.hostActions.pending.map((p) => p.input)).toEqual([
      { sessionId: SESSION, action: { kind: "mute", userId: "bob" } },
      { sessionId: SESSION, action: { kind: "remove", userId: "carol", ban: true } },
      {
        sessionId: SESSION,
        action: {
          kind: "set-permissions",
          permissions: { unmute: "hosts", camera: "everyone", screenShare: "everyone", locked: true },
        },
      },
    ]);
    expect(running(c)).toHaveLength(3);
    for (const p of c.hostActions.pending) p.resolve();
    await flush();
    expect(running(c)).toEqual([]);
    expect(c.context().hostActionError).toBeNull();
    // The host's own call is untouched: the room tells everyone what changed.
    expect(c.actor.getSnapshot().matches("inCall")).toBe(true);
    expect(c.region("audio")).toEqual({ on: "steady" });
  });

  it("a refusal is kept with its reason, a new one each time, until an action goes through", async () => {
    const c = await inCall({ host: true, room: [bob] });
    c.actor.send({ type: "HOST_ACTION", action: { kind: "lower-hand", userId: "bob" } });
    c.hostActions.pending[0]!.reject(new HostActionError("not-in-call", "That person is not in this call."));
    await flush();
    const first = c.context().hostActionError;
    expect(first?.reason).toBe("not-in-call");
    // A refusal is the host's news, not the call's failure.
    expect(c.actor.getSnapshot().matches("inCall")).toBe(true);
    expect(running(c)).toEqual([]);

    c.actor.send({ type: "HOST_ACTION", action: { kind: "lower-hand", userId: "bob" } });
    c.hostActions.pending[1]!.reject(new HostActionError("not-in-call"));
    await flush();
    // The same reason again is a new refusal (the room shows it again).
    expect(c.context().hostActionError?.reason).toBe("not-in-call");
    expect(c.context().hostActionError).not.toBe(first);

    c.actor.send({ type: "HOST_ACTION", action: { kind: "mute-all" } });
    c.hostActions.pending[2]!.resolve();
    await flush();
    expect(c.context().hostActionError).toBeNull();
  });

  it("anything else thrown counts as unknown", async () => {
    const c = await inCall({ host: true });
    c.actor.send({ type: "HOST_ACTION", action: { kind: "lower-all-hands" } });
    c.hostActions.pending[0]!.reject("boom");
    await flush();
    expect(c.context().hostActionError?.reason).toBe("unknown");
  });
});
