import { describe, expect, it } from "vitest";
import { formatDuration, TABLE_HEADER, tableRows, talkBalance, toCsv, type PersonTotals } from "./call-table";

const person = (name: string, over: Partial<PersonTotals> = {}): PersonTotals => ({
  name,
  secondsPresent: 600,
  secondsMuted: 0,
  secondsVideoOff: 0,
  secondsScreenShared: 0,
  secondsSpeaking: 0,
  joins: 1,
  handsRaised: 0,
  leaveReason: "LEFT",
  ...over,
});

describe("call table", () => {
  it("formats durations as people read them", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(75.4)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
  });

  it("shows the talk balance, most talkative first, and nothing when nobody spoke", () => {
    const people = [
      person("Bob", { secondsSpeaking: 31 }),
      person("Alice", { secondsSpeaking: 42 }),
      person("Carol", { secondsSpeaking: 27 }),
    ];
    expect(talkBalance(people)).toBe("Alice 42 %, Bob 31 %, Carol 27 %");
    expect(talkBalance([person("Alice"), person("Bob")])).toBeNull();
  });

  it("says how each person left", () => {
    const rows = tableRows([
      person("A"),
      person("B", { leaveReason: "DROPPED" }),
      person("C", { leaveReason: "KICKED" }),
    ]);
    expect(rows.map((r) => r[TABLE_HEADER.indexOf("How they left")])).toEqual(["Left", "Dropped", "Removed"]);
  });

  it("writes CSV with quoting and without spreadsheet formulas", () => {
    const csv = toCsv(
      ["Person", "Note"],
      [
        ["Smith, Jo", 'say "hi"'],
        ["=HYPERLINK(1)", "ok"],
      ],
    );
    expect(csv).toBe('Person,Note\r\n"Smith, Jo","say ""hi"""\r\n\'=HYPERLINK(1),ok\r\n');
  });
});
