// Presence after a restart: the participations a previous run left open are dropped after the grace,
// a few at a time (not all at once), and never one whose socket came back meanwhile.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Presence } from "./presence.js";
import type { CallQueries } from "./queries.js";

const GRACE = 1_000;

function leftovers(n: number) {
  const at = new Date("2026-01-05T10:00:00Z");
  return Array.from({ length: n }, (_, i) => ({
    peerId: `p${String(i).padStart(12, "0")}`,
    joinedAt: at,
    lastSeenAt: at,
  }));
}

function presenceWith(open: ReturnType<typeof leftovers>) {
  const closing = new Set<string>();
  const closed: string[] = [];
  let mostAtOnce = 0;
  const releases: Array<() => void> = [];
  const queries = {
    openParticipations: () => Promise.resolve(open),
    touchPeers: () => Promise.resolve(),
    staleParticipations: () => Promise.resolve([]),
    emptyRunningSessions: () => Promise.resolve([]),
  } as unknown as CallQueries;
  const presence = new Presence({
    queries,
    config: { DROP_GRACE_MS: GRACE, STALE_AFTER_MS: 600_000 },
    now: () => new Date("2026-01-05T10:01:00Z"),
    ended: () => {},
    close: ({ peerId }: { peerId?: string }) => {
      closing.add(peerId!);
      mostAtOnce = Math.max(mostAtOnce, closing.size);
      // Each close holds "its connection" until the test lets it finish.
      return new Promise((resolve) =>
        releases.push(() => {
          closing.delete(peerId!);
          closed.push(peerId!);
          resolve(null);
        }),
      );
    },
  } as ConstructorParameters<typeof Presence>[0]);
  return {
    presence,
    closed,
    inFlight: () => closing.size,
    mostAtOnce: () => mostAtOnce,
    async finishAll() {
      while (releases.length || closing.size) {
        for (const release of releases.splice(0)) release();
        await vi.advanceTimersByTimeAsync(0);
      }
    },
  };
}

describe("Presence: a restart's leftover participations", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("are all dropped after the grace, but only a couple at a time, so live requests keep their connections", async () => {
    const open = leftovers(40);
    const t = presenceWith(open);
    await t.presence.start();
    await vi.advanceTimersByTimeAsync(GRACE - 1);
    expect(t.inFlight()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    // Forty fell due in the same instant; two are being closed.
    expect(t.inFlight()).toBe(2);
    await t.finishAll();
    expect(t.closed.sort()).toEqual(open.map((p) => p.peerId).sort());
    expect(t.mostAtOnce()).toBe(2);
    await t.presence.stop();
  });

  it("skip a participation whose socket re-registered while its drop waited its turn", async () => {
    const open = leftovers(5);
    const t = presenceWith(open);
    await t.presence.start();
    await vi.advanceTimersByTimeAsync(GRACE);
    expect(t.inFlight()).toBe(2);
    // The last one's browser re-dials now: its grace has run out, but its drop is still queued.
    t.presence.peerAccess.onConnect(open[4]!.peerId);
    await t.finishAll();
    expect(t.closed.sort()).toEqual(open.slice(0, 4).map((p) => p.peerId));
    await t.presence.stop();
  });

  it("stop() forgets the drops still queued", async () => {
    const t = presenceWith(leftovers(10));
    await t.presence.start();
    await vi.advanceTimersByTimeAsync(GRACE);
    await t.presence.stop();
    await t.finishAll();
    expect(t.closed).toHaveLength(2);
  });
});
