import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createNegotiationGate } from "./negotiation-gate";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Lets the gate's "does anything negotiate now?" check (a microtask) run. */
const settle = () => Promise.resolve();
/** The quiet period after a negotiation ends, before the changes it held run. */
const SETTLE_MS = 1_000;
const afterSettling = () => vi.advanceTimersByTimeAsync(SETTLE_MS);

describe("negotiation gate (encoder changes wait for joins to connect)", () => {
  it("applies as soon as the current event is done when no call is negotiating", async () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    gate.whenSettled({}, () => applied.push("bob"));
    await settle();
    expect(applied).toEqual(["bob"]);
  });

  it("holds a change asked for just before a call begins in the same event (a join announced with the budget change)", async () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    gate.whenSettled({}, () => applied.push("bob"));
    const daveDone = gate.begin(); // the room's "Dave joined" also makes this page expect Dave's call
    await settle();
    expect(applied).toEqual([]);
    daveDone();
    await afterSettling();
    expect(applied).toEqual(["bob"]);
  });

  it("a hold handed from one call actor to the next (awaiting the call → answering it) frees nothing in between", async () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    const awaiting = gate.begin();
    gate.whenSettled({}, () => applied.push("bob"));
    awaiting(); // the offer arrived: the waiting state ends …
    const answering = gate.begin(); // … and the answer starts, in the same event
    await settle();
    expect(applied).toEqual([]);
    answering();
    await afterSettling();
    expect(applied).toEqual(["bob"]);
  });

  it("holds every change while a join negotiates, and applies each sender's once when the last call connects", async () => {
    const gate = createNegotiationGate(3_000);
    const bob = {};
    const carol = {};
    const applied: string[] = [];
    const daveDone = gate.begin();
    const eveDone = gate.begin();
    gate.whenSettled(bob, () => applied.push("bob 1"));
    gate.whenSettled(bob, () => applied.push("bob 2")); // the newer change replaces the waiting one
    gate.whenSettled(carol, () => applied.push("carol"));
    daveDone();
    daveDone(); // said twice (connected, then closed): counted once
    await settle();
    expect(applied).toEqual([]);
    expect(gate.negotiating).toBe(1);
    eveDone();
    await afterSettling();
    expect(applied).toEqual(["bob 2", "carol"]);
    vi.advanceTimersByTime(10_000);
    expect(applied).toHaveLength(2);
  });

  it("lets the links that just connected carry their first frames: what the join held waits the quiet period more", async () => {
    const gate = createNegotiationGate(3_000, SETTLE_MS);
    const applied: string[] = [];
    const daveDone = gate.begin();
    gate.whenSettled({}, () => applied.push("held"));
    vi.advanceTimersByTime(500);
    daveDone();
    await vi.advanceTimersByTimeAsync(SETTLE_MS - 1);
    expect(applied).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(applied).toEqual(["held"]);
    // A change asked for within the quiet period waits for its end too …
    const again = gate.begin();
    again();
    await vi.advanceTimersByTimeAsync(400);
    gate.whenSettled({}, () => applied.push("soon after"));
    await vi.advanceTimersByTimeAsync(SETTLE_MS - 401);
    expect(applied).toEqual(["held"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(applied).toEqual(["held", "soon after"]);
    // … and one long after any negotiation (a tile shown again) runs at once.
    gate.whenSettled({}, () => applied.push("later"));
    await settle();
    expect(applied).toEqual(["held", "soon after", "later"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("holds no longer than its limit: a call that never connects freezes nobody's encoder", () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    gate.begin(); // never done
    gate.whenSettled({}, () => applied.push("bob"));
    vi.advanceTimersByTime(2_999);
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(applied).toEqual(["bob"]);
  });

  it("holds a change caught by the microtask check no longer than its limit either", async () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    gate.whenSettled({}, () => applied.push("bob"));
    gate.begin(); // never done
    await settle();
    vi.advanceTimersByTime(2_999);
    expect(applied).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(applied).toEqual(["bob"]);
  });

  it("asks periodic stats reads to wait while a call negotiates, for at most its limit", () => {
    const gate = createNegotiationGate(3_000);
    expect(gate.readsWait()).toBe(false);
    const daveDone = gate.begin();
    expect(gate.readsWait()).toBe(true);
    vi.advanceTimersByTime(1_000);
    const eveDone = gate.begin(); // a second join does not restart the limit
    vi.advanceTimersByTime(1_999);
    expect(gate.readsWait()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(gate.readsWait()).toBe(false); // a link that keeps re-dialling stops nobody's reads for long
    daveDone();
    eveDone();
    expect(gate.readsWait()).toBe(false);
    const next = gate.begin();
    expect(gate.readsWait()).toBe(true);
    next();
    expect(gate.readsWait()).toBe(false);
  });

  it("forgets a cancelled change (the call ended meanwhile)", async () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    const done = gate.begin();
    const cancel = gate.whenSettled({}, () => applied.push("gone"));
    cancel();
    done();
    await settle();
    expect(applied).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
