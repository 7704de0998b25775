/**
 * What a page's renderer main thread spends its time on, from a Chromium trace: the wall and CPU
 * time of its top-level tasks and the heaviest kinds of work inside them (script, style, layout,
 * paint, timers, media…). `bench:join` uses it for the steady call, where the CPU profile sees only
 * JavaScript and `TaskDuration` (wall time of tasks) was far above `ThreadTime` (their CPU time):
 * the difference is work that is not JS, or tasks that wait. `TRACE_DUMP=/tmp/x` also writes each raw
 * trace (`/tmp/x-<time>.json`, for chrome://tracing or Perfetto).
 */
import { writeFileSync } from "node:fs";
import type { Browser, Page } from "@playwright/test";

export interface MainThreadTrace {
  windowMs: number;
  /** Top-level tasks on the page's main thread: count, wall ms, CPU ms. */
  tasks: { count: number; wallMs: number; cpuMs: number };
  /** Work inside those tasks by trace event name (inclusive wall ms; nested kinds overlap), heaviest first. */
  top: Array<{ name: string; count: number; wallMs: number; cpuMs: number }>;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string; data?: { frames?: Array<{ processId?: number; parent?: string }> } };
}

const TOP_LEVEL = new Set(["ThreadControllerImpl::RunTask", "RunTask"]);

export async function traceMainThread(browser: Browser, page: Page, ms: number): Promise<MainThreadTrace> {
  await browser.startTracing(page, {
    categories: ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline", "blink", "v8"],
  });
  await new Promise((r) => setTimeout(r, ms));
  const buffer = await browser.stopTracing();
  if (process.env.TRACE_DUMP) writeFileSync(`${process.env.TRACE_DUMP}-${Date.now()}.json`, buffer);
  const { traceEvents } = JSON.parse(buffer.toString("utf8")) as { traceEvents: TraceEvent[] };

  // The page's renderer: the process of its main frame, as the trace's start event names it.
  const started = traceEvents.find((e) => e.name === "TracingStartedInBrowser");
  const pid = started?.args?.data?.frames?.find((f) => !f.parent)?.processId;
  const tid = traceEvents.find(
    (e) => e.ph === "M" && e.name === "thread_name" && e.pid === pid && e.args?.name === "CrRendererMain",
  )?.tid;
  const onMain = traceEvents.filter((e) => e.pid === pid && e.tid === tid && e.ph === "X");

  const tasks = { count: 0, wallMs: 0, cpuMs: 0 };
  const byName = new Map<string, { count: number; wallMs: number; cpuMs: number }>();
  for (const e of onMain) {
    const wall = (e.dur ?? 0) / 1000;
    const cpu = (e.tdur ?? 0) / 1000;
    if (TOP_LEVEL.has(e.name)) {
      tasks.count++;
      tasks.wallMs += wall;
      tasks.cpuMs += cpu;
      continue;
    }
    const entry = byName.get(e.name) ?? { count: 0, wallMs: 0, cpuMs: 0 };
    entry.count++;
    entry.wallMs += wall;
    entry.cpuMs += cpu;
    byName.set(e.name, entry);
  }
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    windowMs: ms,
    tasks: { count: tasks.count, wallMs: round(tasks.wallMs), cpuMs: round(tasks.cpuMs) },
    top: [...byName.entries()]
      .map(([name, v]) => ({ name, count: v.count, wallMs: round(v.wallMs), cpuMs: round(v.cpuMs) }))
      .sort((a, b) => b.wallMs - a.wallMs)
      .slice(0, 15),
  };
}

export function formatTrace(title: string, t: MainThreadTrace): string {
  const lines = [
    `${title}: ${t.tasks.count} tasks in ${t.windowMs / 1000} s, ${t.tasks.wallMs} ms wall, ${t.tasks.cpuMs} ms CPU; heaviest work inside (inclusive, wall / CPU ms, count):`,
  ];
  for (const x of t.top)
    lines.push(`  ${String(x.wallMs).padStart(8)} / ${String(x.cpuMs).padStart(7)}  ×${x.count}  ${x.name}`);
  return lines.join("\n");
}
