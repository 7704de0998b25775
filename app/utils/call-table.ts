/**
 * The per-person table of a past call, as text: one function makes its header and rows, so the
 * page's table and the "Download CSV" file cannot disagree; plus the talk balance and durations
 * as people read them.
 */

export interface PersonTotals {
  name: string;
  secondsPresent: number;
  secondsMuted: number;
  secondsVideoOff: number;
  secondsScreenShared: number;
  secondsSpeaking: number;
  joins: number;
  handsRaised: number;
  leaveReason: "LEFT" | "DROPPED" | "KICKED" | null;
}

export const TABLE_HEADER = [
  "Person",
  "Time present",
  "Muted",
  "Camera off",
  "Screen sharing",
  "Speaking",
  "Share of talk",
  "Joins",
  "Hands raised",
  "How they left",
] as const;

const LEFT_HOW: Record<NonNullable<PersonTotals["leaveReason"]>, string> = {
  LEFT: "Left",
  DROPPED: "Dropped",
  KICKED: "Removed",
};

/** 75 → "1:15", 3725 → "1:02:05" (whole seconds). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Each person's percentage of all speaking time (whole numbers), or null when nobody spoke. */
function talkShares(people: PersonTotals[]): Array<number | null> {
  const all = people.reduce((s, p) => s + p.secondsSpeaking, 0);
  return people.map((p) => (all > 0 ? Math.round((p.secondsSpeaking / all) * 100) : null));
}

/** "Alice 42 %, Bob 31 %, Carol 27 %", most talkative first; null when nobody spoke. */
export function talkBalance(people: PersonTotals[]): string | null {
  const shares = talkShares(people);
  if (shares.every((s) => s === null)) return null;
  return people
    .map((p, i) => ({ name: p.name, share: shares[i] ?? 0 }))
    .sort((a, b) => b.share - a.share)
    .map((p) => `${p.name} ${p.share} %`)
    .join(", ");
}

/** The table's rows, cell by cell, in TABLE_HEADER's order. */
export function tableRows(people: PersonTotals[]): string[][] {
  const shares = talkShares(people);
  return people.map((p, i) => [
    p.name,
    formatDuration(p.secondsPresent),
    formatDuration(p.secondsMuted),
    formatDuration(p.secondsVideoOff),
    formatDuration(p.secondsScreenShared),
    formatDuration(p.secondsSpeaking),
    shares[i] === null ? "—" : `${shares[i]} %`,
    String(p.joins),
    String(p.handsRaised),
    p.leaveReason ? LEFT_HOW[p.leaveReason] : "—",
  ]);
}

/**
 * RFC 4180 CSV (CRLF, fields quoted when needed). A cell a spreadsheet would run as a formula
 * (a name starting with = + - @) gets a leading apostrophe, so a member's name can't execute.
 */
export function toCsv(header: readonly string[], rows: string[][]): string {
  const cell = (v: string) => {
    const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

/** "2026-12-04 23:14 UTC": the same text on the server and in every browser (no hydration mismatch). */
export function formatCallDate(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
