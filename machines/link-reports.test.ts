import { describe, expect, it } from "vitest";
import { keepReportsAmong, recordReport, reportedTrouble, type LinkReports } from "./link-reports";

const reconnecting = (attempt: number) => ({ state: "reconnecting" as const, attempt, maxAttempts: 3 });

function reportsOf(...entries: Array<[reporter: string, subject: string, attempt: number | "lost"]>): LinkReports {
  let r: LinkReports = {};
  for (const [reporter, subject, attempt] of entries)
    r = recordReport(r, reporter, subject, attempt === "lost" ? { state: "lost" } : reconnecting(attempt));
  return r;
}

describe("reportedTrouble: whose tile says Reconnecting", () => {
  it("one member's network drops: only that member, at the furthest attempt reported", () => {
    // Carol is cut off; both ends of each of her links report the other end.
    const r = reportsOf(["alice", "carol", 1], ["bob", "carol", 2], ["carol", "alice", 1], ["carol", "bob", 2]);
    expect(reportedTrouble(r, "carol")).toEqual(reconnecting(2));
    expect(reportedTrouble(r, "bob")).toBeUndefined();
    expect(reportedTrouble(r, "alice")).toBeUndefined();
  });

  it("one bad link between two others: a tie, nobody is blamed", () => {
    const r = reportsOf(["bob", "carol", 1], ["carol", "bob", 1]);
    expect(reportedTrouble(r, "carol")).toBeUndefined();
    expect(reportedTrouble(r, "bob")).toBeUndefined();
  });

  it("a report nobody contradicts counts; lost outranks reconnecting", () => {
    expect(reportedTrouble(reportsOf(["bob", "carol", 3]), "carol")).toEqual(reconnecting(3));
    const r = reportsOf(["alice", "dave", 3], ["bob", "dave", "lost"], ["carol", "dave", 2]);
    expect(reportedTrouble(r, "dave")).toEqual({ state: "lost" });
  });

  it("connected withdraws a report; leaving drops reports about and by that person", () => {
    let r = reportsOf(["bob", "carol", 1], ["alice", "carol", 2]);
    r = recordReport(r, "alice", "carol", { state: "connected" });
    expect(r).toEqual({ carol: { bob: reconnecting(1) } });
    r = recordReport(r, "bob", "carol", { state: "connected" });
    expect(r).toEqual({});
    r = reportsOf(["bob", "carol", 1], ["carol", "alice", 1], ["alice", "bob", 1]);
    expect(keepReportsAmong(r, new Set(["alice", "bob"]))).toEqual({ bob: { alice: reconnecting(1) } });
  });

  it("a change that changes nothing keeps the very same reports (the room re-renders nothing for it)", () => {
    const r = reportsOf(["bob", "carol", 1]);
    // Every link's first connect: nothing to withdraw.
    expect(recordReport(r, "alice", "carol", { state: "connected" })).toBe(r);
    expect(recordReport(r, "bob", "dave", { state: "connected" })).toBe(r);
    expect(keepReportsAmong(r, new Set(["alice", "bob", "carol"]))).toBe(r);
    // Ones that do change something still make new reports.
    expect(recordReport(r, "bob", "carol", { state: "connected" })).toEqual({});
    expect(keepReportsAmong(r, new Set(["carol"]))).toEqual({});
  });
});
