import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createNegotiationGate } from "./negotiation-gate";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("negotiation gate (encoder changes wait for joins to connect)", () => {
  it("applies at once when no call is negotiating", () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    gate.whenSettled({}, () => applied.push("bob"));
    expect(applied).toEqual(["bob"]);
  });

  it("holds every change while a join negotiates, and applies each sender's once when the last call connects", () => {
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
    expect(applied).toEqual([]);
    expect(gate.negotiating).toBe(1);
    eveDone();
    expect(applied).toEqual(["bob 2", "carol"]);
    vi.advanceTimersByTime(10_000);
    expect(applied).toHaveLength(2);
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

  it("forgets a cancelled change (the call ended meanwhile)", () => {
    const gate = createNegotiationGate(3_000);
    const applied: string[] = [];
    const done = gate.begin();
    const cancel = gate.whenSettled({}, () => applied.push("gone"));
    cancel();
    done();
    expect(applied).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
