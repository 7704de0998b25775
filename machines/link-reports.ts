import type { LinkState } from "./room-protocol";

/** What one member reports about their link to another (a room `connection-state` event). */
export interface LinkReport {
  state: LinkState;
  attempt?: number;
  maxAttempts?: number;
}

/** Every standing trouble report: subject peer id → reporter peer id → report. */
export type LinkReports = Record<string, Record<string, LinkReport>>;

/**
 * Records a report; "connected" withdraws the reporter's earlier one about that subject. A
 * "connected" that withdraws nothing (every link's first connect) returns `reports` itself, so the
 * room re-renders nothing for it: a 4th join brings six of these to every page.
 */
export function recordReport(
  reports: LinkReports,
  reporterPeerId: string,
  subjectPeerId: string,
  report: LinkReport,
): LinkReports {
  if (report.state === "connected" && !reports[subjectPeerId]?.[reporterPeerId]) return reports;
  const { [reporterPeerId]: _old, ...others } = reports[subjectPeerId] ?? {};
  const next = { ...reports };
  if (report.state !== "connected") next[subjectPeerId] = { ...others, [reporterPeerId]: report };
  else if (Object.keys(others).length > 0) next[subjectPeerId] = others;
  else delete next[subjectPeerId];
  return next;
}

/** Drops every report about, or made by, anyone not in `present` (`reports` itself when none goes). */
export function keepReportsAmong(reports: LinkReports, present: ReadonlySet<string>): LinkReports {
  const all = Object.entries(reports).every(
    ([subject, bySubject]) => present.has(subject) && Object.keys(bySubject).every((r) => present.has(r)),
  );
  if (all) return reports;
  const next: LinkReports = {};
  for (const [subject, bySubject] of Object.entries(reports)) {
    if (!present.has(subject)) continue;
    const kept = Object.fromEntries(Object.entries(bySubject).filter(([reporter]) => present.has(reporter)));
    if (Object.keys(kept).length > 0) next[subject] = kept;
  }
  return next;
}

/**
 * The trouble to show on `subject`'s tile from what others report, or undefined. A broken link has
 * two ends and both report each other, so a report only counts when its reporter is less reported
 * than the subject: when Carol's network drops, Alice and Bob both report Carol (2) while Carol
 * reports each of them (1 each), so Carol's tile says "Reconnecting" and Bob's does not. A single
 * bad link between two others is a tie, and nobody else can tell whose fault it is: nothing shown.
 */
export function reportedTrouble(reports: LinkReports, subject: string): LinkReport | undefined {
  const about = reports[subject];
  if (!about) return undefined;
  const weight = (peerId: string) => Object.keys(reports[peerId] ?? {}).length;
  const credible = Object.entries(about)
    .filter(([reporter]) => weight(reporter) < weight(subject))
    .map(([, report]) => report);
  if (credible.length === 0) return undefined;
  // "lost" outranks "reconnecting"; among those, the furthest attempt.
  return credible.reduce((a, b) =>
    (a.state === "lost") !== (b.state === "lost")
      ? a.state === "lost"
        ? a
        : b
      : (b.attempt ?? 0) > (a.attempt ?? 0)
        ? b
        : a,
  );
}
