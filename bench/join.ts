/**
 * Join benchmark: `npm run bench:join` (env JOIN_RUNS=10 by default). Not a test: numbers depend
 * on the machine (and on whatever else is using its CPU).
 *
 * Measures, in Debian's Chromium with fake camera/microphone, the time from the click on
 * "Join call" to the first decoded remote video frame (requestVideoFrameCallback on the remote
 * tile's <video>; both ends are performance.now() in the joining page, so no clock alignment is
 * needed):
 *   - two members: Alice is in the call, Bob joins (Bob's devices are already granted on the
 *     pre-join screen, as they are for a user who looked at their preview);
 *   - a 4-mesh: Alice, Bob and Carol are in, Dave joins; time until all three remotes decode;
 *   - Chromium → Firefox: Alice (Chromium) is in the call, Bob joins in Debian's firefox-esr
 *     (puppeteer-core over WebDriver BiDi; skipped when firefox-esr is not installed).
 * Baseline in the same run: two bare pages with PeerJS from node_modules and a bare PeerServer
 *   - cold: `new Peer()` + socket open + `peer.call` → first frame (what a join has to do at least)
 *   - warm: `peer.call` on an already open Peer → first frame.
 *
 * Runs the app server itself (embedded Postgres in a temp DATA_DIR) inside the loopback-only
 * network namespace: it re-executes itself through scripts/isolated.sh unless COUP_ISOLATED=1.
 * Writes bench/results/join-<date>.json and prints a table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "@playwright/test";
import express from "express";
import { ExpressPeerServer } from "peer";
import { chromiumLaunchOptions } from "../tests/e2e/browser";
import { firefoxInstalled, launchFirefox, type FirefoxPage } from "../tests/e2e/firefox";
import { formatTrace, traceMainThread } from "./main-thread-trace";
import {
  demoStudyId,
  ensureRemixBuild,
  leave,
  login,
  openPrejoin,
  ROOT,
  rerunIsolated,
  startAppServer,
  waitForCount,
} from "./app-harness";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.JOIN_RUNS ?? 10);
const TARGETS = { vsBaseline: 1.25, twoMemberP50Ms: 600, fourthJoinerP50Ms: 2000 };

rerunIsolated(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Helpers

interface Summary {
  n: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
  samples: number[];
}

function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN);
  return {
    n: samples.length,
    p50: at(0.5),
    p95: at(0.95),
    min: Math.round(sorted[0] ?? NaN),
    max: Math.round(sorted.at(-1) ?? NaN),
    samples: samples.map((s) => Math.round(s)),
  };
}

/**
 * In-page probe: records performance.now() at the (capture-phase) click on the join button and at
 * the first frame each remote tile's <video> presents, via requestVideoFrameCallback.
 */
function installProbe(page: Page) {
  // A string, not a function: tsx (esbuild keepNames) wraps named functions in a `__name` helper
  // that does not exist in the page, and the script would die at its first named arrow.
  const noSetParameters = process.env.JOIN_NO_SETPARAMETERS === "1" ? "window.__benchNoSetParameters = true;" : "";
  return page.addInitScript(noSetParameters + PROBE);
}

const PROBE = `(() => {
  const bench = (window.__bench = { clickAt: null, frames: {}, ops: [] });
  // What the app does during a join (issue #16 §1), as [name, start, duration] since page start:
  // long tasks, getUserMedia, Web Audio sources, setParameters, getStats, addIceCandidate.
  const op = (name, start, dur) => bench.ops.push([name, start, dur]);
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) op("longtask", e.startTime, e.duration); })
      .observe({ type: "longtask", buffered: false });
  } catch {}
  const timed = (proto, key, name) => {
    const orig = proto && proto[key];
    if (typeof orig !== "function") return;
    proto[key] = function (...args) {
      const t = performance.now();
      const r = orig.apply(this, args);
      if (r && typeof r.then === "function") r.then(() => op(name, t, performance.now() - t), () => op(name, t, performance.now() - t));
      else op(name, t, performance.now() - t);
      return r;
    };
  };
  if (navigator.mediaDevices) timed(MediaDevices.prototype, "getUserMedia", "getUserMedia");
  timed(window.BaseAudioContext && BaseAudioContext.prototype, "createMediaStreamSource", "audio source node");
  timed(window.AudioContext && AudioContext.prototype, "createMediaStreamSource", "audio source node");
  timed(window.RTCRtpSender && RTCRtpSender.prototype, "setParameters", "setParameters");
  // Both queue on WebRTC's signaling thread with the offers and answers of a join.
  timed(window.RTCPeerConnection && RTCPeerConnection.prototype, "getStats", "getStats");
  timed(window.RTCPeerConnection && RTCPeerConnection.prototype, "addIceCandidate", "addIceCandidate");
  // Requests, by tRPC procedure (a batch counts once, under its first procedure's name).
  const origFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : input && input.url ? input.url : String(input);
    const path = new URL(url, location.href).pathname;
    const t = performance.now();
    const r = origFetch.call(this, input, init);
    const name = "fetch " + (path.startsWith("/api/trpc/") ? path.slice(10).split(",")[0] : path);
    r.then(() => op(name, t, performance.now() - t), () => op(name, t, performance.now() - t));
    return r;
  };
  // PeerJS's OFFER and ANSWER on the wire: when the joiner sends its (first) OFFER, when an answering
  // page's socket receives it, when that page sends its ANSWER, and when the joiner's socket receives
  // each (before PeerJS handles them), to split "dialled" → "streams" into the offer's making, its
  // trip, the answer's making, its trip and its handling. (A listener added at construction runs
  // before PeerJS's onmessage.)
  const origSend = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (typeof data === "string" && data.indexOf('"type":"ANSWER"') !== -1) performance.mark("coup:ws-answer-sent");
    if (typeof data === "string" && data.indexOf('"type":"OFFER"') !== -1) performance.mark("coup:ws-offer-sent");
    return origSend.call(this, data);
  };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string") return;
        const kind = e.data.indexOf('"type":"ANSWER"') !== -1 ? "answer" : e.data.indexOf('"type":"OFFER"') !== -1 ? "offer" : null;
        if (!kind) return;
        let peer;
        try { peer = JSON.parse(e.data).src; } catch {}
        performance.mark("coup:ws-" + kind + "-received", { detail: { peer } });
      });
    }
  };
  // JOIN_NO_SETPARAMETERS=1: what a join costs without the bitrate budget's setParameters (a probe, not the app).
  if (window.__benchNoSetParameters && window.RTCRtpSender)
    RTCRtpSender.prototype.setParameters = function () { return Promise.resolve(); };
  document.addEventListener("click", (e) => {
    const b = e.target && e.target.closest ? e.target.closest("button") : null;
    if (b && /^(Join|Start) call$/.test(b.textContent || "")) {
      bench.clickAt = performance.now();
      start();
    }
  }, true);
  // requestVideoFrameCallback registered while the <video> has no stream yet may never fire, so it
  // is armed once a stream is attached, and a 5 ms poll of the decoded-frame counter backs it up;
  // whichever sees the first frame first wins.
  const armed = new WeakSet();
  const polled = new Set();
  function record(v, at) {
    const group = v.closest("[role=group]");
    const label = group ? group.getAttribute("aria-label") || "" : "";
    if (label && !label.endsWith("(you)") && label !== "Camera preview" && !(label in bench.frames)) bench.frames[label] = at;
  }
  function watch(v) {
    polled.add(v);
    if (armed.has(v) || !v.srcObject || v.hidden) return;
    armed.add(v);
    v.requestVideoFrameCallback((now) => record(v, now));
  }
  // Armed by the click on Join and stopped once the bench has its frames (joinAndWait): the probe's
  // own polling must not load the machine while other pages join, nor count as the app's CPU in
  // the steady-call window. (Before, it ran on every app page all along, answering pages included.)
  let timer = null;
  // Attributes too: a tile's name can arrive after its <video> (a call that beat the room event).
  const observer = new MutationObserver(() => document.querySelectorAll("video").forEach(watch));
  function start() {
    if (timer !== null) return;
    timer = setInterval(() => {
      for (const v of polled) {
        if (!v.isConnected) polled.delete(v);
        else if (v.getVideoPlaybackQuality().totalVideoFrames > 0) record(v, performance.now());
      }
    }, 5);
    observer.observe(document, { childList: true, subtree: true, attributes: true });
    document.querySelectorAll("video").forEach(watch);
  }
  bench.stop = () => { if (timer !== null) clearInterval(timer); timer = null; observer.disconnect(); };
})();`;

/**
 * Opens the pre-join screen and clicks Join once the screen is as a user finds it after looking at
 * their preview: devices up and, when `warm`, the pre-join signaling socket open (coup:signaling-warm).
 * Cold runs block `videoCall.prepareJoin` (see coldSwitch), so the click does everything after it.
 */
async function joinAndWait(
  page: Page,
  studyId: string,
  remotes: string[],
  warm = true,
  beforeClick?: () => Promise<unknown>,
): Promise<number> {
  const join = await openPrejoin(page, studyId);
  if (warm)
    await page.waitForFunction(() => performance.getEntriesByName("coup:signaling-warm").length > 0, null, {
      timeout: 15_000,
    });
  await beforeClick?.();
  await join.click();
  const handle = await page
    .waitForFunction(
      (names) => {
        const b = (window as unknown as { __bench: { clickAt: number | null; frames: Record<string, number> } })
          .__bench;
        if (b.clickAt === null || !names.every((n) => n in b.frames)) return null;
        return Math.max(...names.map((n) => b.frames[n]!)) - b.clickAt;
      },
      remotes,
      { timeout: 30_000, polling: 20 },
    )
    .catch(async (err: unknown) => {
      const state = await page.evaluate(() => ({
        bench: (window as unknown as { __bench: unknown }).__bench,
        videos: [...document.querySelectorAll("video")].map((v) => ({
          label: v.closest("[role=group]")?.getAttribute("aria-label"),
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
          hidden: v.hidden,
          src: !!v.srcObject,
        })),
      }));
      throw new Error(`no remote frames from ${remotes.join(", ")}: ${JSON.stringify(state)}`, { cause: err });
    });
  const ms = (await handle.jsonValue()) as number;
  await page.evaluate(() => (window as unknown as { __bench: { stop(): void } }).__bench.stop());
  return ms;
}

/** Epoch ms of the page's click on "Join call". */
function clickedAt(page: Page): Promise<number> {
  return page.evaluate(
    () => performance.timeOrigin + (window as unknown as { __bench: { clickAt: number } }).__bench.clickAt,
  );
}

/**
 * The first of each `coup:*` user-timing mark (machines/actors/browser.ts) at or after `since`
 * (epoch ms), as ms after it. Pages in one browser share the clock, so the other side's marks
 * line up with the joiner's.
 */
function stepsSince(page: Page, since: number): Promise<Record<string, number>> {
  return page.evaluate((since) => {
    const out: Record<string, number> = {};
    for (const m of performance.getEntriesByType("mark")) {
      const at = performance.timeOrigin + m.startTime - since;
      if (m.name.startsWith("coup:") && at >= 0 && !(m.name.slice(5) in out)) out[m.name.slice(5)] = at;
    }
    return out;
  }, since);
}

/** Like stepsSince, but per remote: for each per-call step, when it first happened for each peer. */
function peerStepsSince(page: Page, since: number): Promise<Record<string, Record<string, number>>> {
  return page.evaluate((since) => {
    const out: Record<string, Record<string, number>> = {};
    for (const m of performance.getEntriesByType("mark") as PerformanceMark[]) {
      const at = performance.timeOrigin + m.startTime - since;
      const peer = (m.detail as { peer?: string } | null)?.peer;
      if (!m.name.startsWith("coup:") || at < 0 || !peer) continue;
      const byPeer = (out[m.name.slice(5)] ??= {});
      if (!(peer in byPeer)) byPeer[peer] = at;
    }
    return out;
  }, since);
}

/** When a step had happened for all `n` remotes (the slowest one), or nothing if it didn't for all. */
function whenAll(byPeer: Record<string, number> | undefined, n: number): number | undefined {
  const times = Object.values(byPeer ?? {});
  return times.length >= n ? Math.max(...times) : undefined;
}

/** Per kind, how many of the probe's ops (long tasks, getUserMedia, …) started in [since, since + ms], and their total ms. */
function opsSince(page: Page, since: number, ms: number): Promise<Record<string, { n: number; ms: number }>> {
  return page.evaluate(
    ({ since, ms }) => {
      const out: Record<string, { n: number; ms: number }> = {};
      const ops = (window as unknown as { __bench: { ops: Array<[string, number, number]> } }).__bench.ops;
      for (const [name, start, dur] of ops) {
        const at = performance.timeOrigin + start - since;
        if (at < 0 || at > ms) continue;
        const o = (out[name] ??= { n: 0, ms: 0 });
        o.n++;
        o.ms += dur;
      }
      return out;
    },
    { since, ms },
  );
}

/** Cold runs: `videoCall.prepareJoin` answers 503 on pages switched cold, so no pre-join socket opens. */
const coldPages = new WeakSet<Page>();
async function coldSwitch(page: Page) {
  await page.route(/\/api\/trpc\/[^?]*prepareJoin/, (route) =>
    coldPages.has(page)
      ? route.fulfill({ status: 503, contentType: "application/json", body: "{}" })
      : route.continue(),
  );
  return (cold: boolean) => (cold ? coldPages.add(page) : coldPages.delete(page));
}

function addOps(into: Record<string, number[]>, who: string, ops: Record<string, { n: number; ms: number }>) {
  for (const [name, { n, ms }] of Object.entries(ops)) {
    (into[`${who}: ${name} (count)`] ??= []).push(n);
    (into[`${who}: ${name} (ms)`] ??= []).push(ms);
  }
}

function prefixed(who: string, steps: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(steps).map(([k, v]) => [`${who}: ${k}`, v]));
}

// ---------------------------------------------------------------------------------------------
// CPU: main-thread busy time and profiles (CDP)

const STEADY_MS = Number(process.env.STEADY_MS ?? 30_000);
/** The steady call's main-thread trace (one app page, one bare page). */
const STEADY_TRACE_MS = 5_000;

/**
 * Each page's renderer main-thread busy time over STEADY_MS (CDP Performance.getMetrics
 * TaskDuration, seconds of task time), as ms of busy time per second of wall time; and the same
 * thread's CPU time (ThreadTime). TaskDuration is wall time: on a shared, loaded machine a task
 * that waits for a core counts the wait too, so pages with more tasks (the app's) are inflated by
 * the load; ThreadTime counts only the CPU the main thread used, so it is the steadier figure.
 */
interface Busy {
  perPage: number[];
  mean: number;
  windowMs: number;
  /** Main-thread CPU ms per second (ThreadTime); NaN where the browser does not report it. */
  cpuPerPage: number[];
  cpuMean: number;
}

async function mainThreadBusy(pages: Page[]): Promise<Busy> {
  const sessions = await Promise.all(pages.map((p) => p.context().newCDPSession(p)));
  await Promise.all(sessions.map((c) => c.send("Performance.enable")));
  const read = async () =>
    Promise.all(
      sessions.map(async (c) => {
        const { metrics } = await c.send("Performance.getMetrics");
        const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN;
        return { task: metric("TaskDuration"), thread: metric("ThreadTime") };
      }),
    );
  // Let the call settle (bitrate ramp-up, layout) before the window.
  await new Promise((r) => setTimeout(r, 5_000));
  const before = await read();
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, STEADY_MS));
  const after = await read();
  const windowMs = Date.now() - t0;
  const perSecond = (key: "task" | "thread") =>
    after.map((a, i) => Math.round(((a[key] - before[i]![key]) * 1000 * 1000) / windowMs));
  const mean = (xs: number[]) => Math.round(xs.reduce((x, y) => x + y, 0) / xs.length);
  const perPage = perSecond("task");
  const cpuPerPage = perSecond("thread");
  await Promise.all(sessions.map((c) => c.detach()));
  return { perPage, mean: mean(perPage), windowMs, cpuPerPage, cpuMean: mean(cpuPerPage) };
}

interface ProfileSummary {
  totalMs: number;
  /** Self time by function (name and script), the heaviest first, with its heaviest callers. */
  top: Array<{ fn: string; selfMs: number; callers: Array<{ fn: string; ms: number }> }>;
}

async function startProfiler(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  return cdp;
}

async function stopProfiler(cdp: Awaited<ReturnType<typeof startProfiler>>): Promise<ProfileSummary> {
  const { profile } = await cdp.send("Profiler.stop");
  await cdp.detach();
  const self = new Map<string, number>();
  // Native functions (setTimeout, getParameters…) say nothing of who called them: per function, the
  // nearest caller that is a script of ours or a dependency, by time.
  const callers = new Map<string, Map<string, number>>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const nameOf = (f: (typeof profile.nodes)[number]["callFrame"]) => {
    const script = f.url ? f.url.replace(/^.*\/(build|node_modules)\//, "$1/").split("?")[0] : "";
    return `${f.functionName || "(anonymous)"} ${script}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
  };
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const node = byId.get(id);
    const dt = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    if (!node) return;
    const f = node.callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") return;
    total += dt;
    const key = nameOf(f);
    self.set(key, (self.get(key) ?? 0) + dt);
    let up = parentOf.get(node.id);
    while (up !== undefined && !byId.get(up)?.callFrame.url) up = parentOf.get(up);
    const caller = up === undefined ? null : byId.get(up);
    if (caller) {
      const m = callers.get(key) ?? new Map<string, number>();
      const by = nameOf(caller.callFrame);
      m.set(by, (m.get(by) ?? 0) + dt);
      callers.set(key, m);
    }
  });
  const round = (ms: number) => Math.round(ms * 10) / 10;
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([fn, ms]) => ({
      fn,
      selfMs: round(ms),
      callers: [...(callers.get(fn) ?? new Map<string, number>()).entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([caller, callerMs]) => ({ fn: caller, ms: round(callerMs) })),
    }));
  return { totalMs: Math.round(total), top };
}

// ---------------------------------------------------------------------------------------------
// App scenarios

async function benchApp(browser: Browser) {
  const app = await startAppServer("coup-bench-join-");
  const { url } = app;
  try {
    const pages: Record<string, Page> = {};
    for (const name of ["alice", "bob", "carol", "dave"]) {
      const context = await browser.newContext({ baseURL: url, permissions: ["camera", "microphone"] });
      const page = await context.newPage();
      await installProbe(page);
      await login(page, `${name}@example.com`);
      pages[name] = page;
    }
    const { alice, bob, carol, dave } = pages as Record<"alice" | "bob" | "carol" | "dave", Page>;
    const studyId = await demoStudyId(alice);

    // Alice starts the call once and stays; Bob joins and leaves 2 × RUNS times, alternating a
    // pre-warmed join (the app as shipped) and a cold one (no pre-join grant), so both see the same load.
    await (await openPrejoin(alice, studyId)).click();
    await alice.getByRole("button", { name: "Leave call" }).waitFor();
    const bobCold = await coldSwitch(bob);
    const two: number[] = [];
    const twoCold: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let i = 0; i < 2 * RUNS + 1; i++) {
      const cold = i % 2 === 0 && i > 0;
      bobCold(cold);
      const ms = await joinAndWait(bob, studyId, ["Alice"], !cold);
      if (i > 0) {
        // the first run warms caches (routes, JIT), not a user-visible cost
        (cold ? twoCold : two).push(ms);
        const since = await clickedAt(bob);
        if (!cold) {
          const marks = {
            ...prefixed("joiner", await stepsSince(bob, since)),
            ...prefixed("in call", await stepsSince(alice, since)),
            "joiner: first remote frame": ms,
          };
          for (const [k, v] of Object.entries(marks)) (steps[k] ??= []).push(v);
        }
      }
      process.stdout.write(
        `  2 members run ${i} (${cold ? "cold" : "warm"}): ${Math.round(ms)} ms${i === 0 ? " (warm-up, dropped)" : ""}\n`,
      );
      await leave(bob);
      await waitForCount(alice, studyId, 1);
    }
    bobCold(false);

    // Alice, Bob and Carol stay; Dave joins and leaves RUNS times.
    await joinAndWait(bob, studyId, ["Alice"]);
    await joinAndWait(carol, studyId, ["Alice", "Bob"]);
    const fourth: number[] = [];
    const fourthCold: number[] = [];
    const fourthSteps: Record<string, number[]> = {};
    const fourthOps: Record<string, number[]> = {};
    const daveCold = await coldSwitch(dave);
    let profiles: Record<string, ProfileSummary> | null = null;
    for (let i = 0; i < 2 * RUNS + 1; i++) {
      const cold = i % 2 === 0 && i > 0;
      daveCold(cold);
      // The last warm run is profiled (CDP Profiler on the joiner and one answering page).
      const profiled = !cold && i === 2 * RUNS - 1;
      let profilers: Array<Awaited<ReturnType<typeof startProfiler>>> = [];
      const ms = await joinAndWait(dave, studyId, ["Alice", "Bob", "Carol"], !cold, async () => {
        if (profiled) profilers = await Promise.all([dave, alice].map(startProfiler));
      });
      if (profiled)
        profiles = {
          joiner: await stopProfiler(profilers[0]!),
          "answering (Alice)": await stopProfiler(profilers[1]!),
        };
      if (i > 0 && cold) fourthCold.push(ms);
      if (i > 0 && !cold) {
        fourth.push(ms);
        const since = await clickedAt(dave);
        addOps(fourthOps, "joiner", await opsSince(dave, since, ms));
        for (const [who, p] of [
          ["Alice", alice],
          ["Bob", bob],
          ["Carol", carol],
        ] as const) {
          addOps(fourthOps, `answering ${who}`, await opsSince(p, since, ms));
          // Encoder changes and stats reads that started before this page's ANSWER left: they queue
          // with the answer on WebRTC's signaling thread (negotiation-gate.ts).
          const sentAt = (await stepsSince(p, since))["ws-answer-sent"];
          const early = sentAt === undefined ? {} : await opsSince(p, since, sentAt);
          for (const op of ["setParameters", "getStats"])
            (fourthOps[`answering ${who}: ${op} before its ANSWER left (count)`] ??= []).push(early[op]?.n ?? 0);
        }
        const joiner = await peerStepsSince(dave, since);
        const marks: Record<string, number | undefined> = {
          ...prefixed("joiner", await stepsSince(dave, since)),
          "joiner: dialled all 3": whenAll(joiner["call-dial"], 3),
          "joiner: ICE connected to all 3": whenAll(joiner["call-ice-connected"], 3),
          "joiner: streams from all 3": whenAll(joiner["call-stream"], 3),
          "joiner: all 3 ANSWERs on its socket": whenAll(joiner["ws-answer-received"], 3),
          "joiner: frames from all 3": ms,
        };
        // Each member in the call answers the joiner once; the slowest answer is the one waited for.
        const answers = await Promise.all(
          [alice, bob, carol].map(async (p) => (await stepsSince(p, since))["call-answer"]),
        );
        if (answers.every((a) => a !== undefined))
          marks["in call: all 3 answered"] = Math.max(...(answers as number[]));
        const offers = await Promise.all(
          [alice, bob, carol].map(async (p) => (await stepsSince(p, since))["ws-offer-received"]),
        );
        if (offers.every((a) => a !== undefined))
          marks["in call: all 3 OFFERs on their sockets"] = Math.max(...(offers as number[]));
        const sent = await Promise.all(
          [alice, bob, carol].map(async (p) => (await stepsSince(p, since))["ws-answer-sent"]),
        );
        if (sent.every((a) => a !== undefined)) marks["in call: all 3 ANSWERs sent"] = Math.max(...(sent as number[]));
        for (const k of [
          "joiner: call-dial",
          "joiner: call-stream",
          "joiner: call-ice-connected",
          "joiner: ws-answer-received",
        ])
          delete marks[k];
        for (const [k, v] of Object.entries(marks)) if (v !== undefined) (fourthSteps[k] ??= []).push(v);
      }
      process.stdout.write(
        `  4th joiner run ${i} (${cold ? "cold" : "warm"}): ${Math.round(ms)} ms${i === 0 ? " (warm-up, dropped)" : ""}\n`,
      );
      await leave(dave);
      await waitForCount(alice, studyId, 3);
    }
    daveCold(false);
    // Steady 4-person call (issue #16 §3): everyone in, each page's main-thread busy time.
    await joinAndWait(dave, studyId, ["Alice", "Bob", "Carol"]);
    for (const p of [alice, bob, carol, dave])
      await p.evaluate(() => (window as unknown as { __bench: { stop(): void } }).__bench.stop());
    const steadyCpu = await mainThreadBusy([alice, bob, carol, dave]);
    // What that busy time is: 10 s of CPU profile of one member's page, after the measured window.
    const steadyProfiler = await startProfiler(alice);
    await new Promise((r) => setTimeout(r, 10_000));
    const steadyProfile = await stopProfiler(steadyProfiler);
    // And what the main thread does beyond JS (style, layout, paint, media tasks): 5 s of trace.
    const steadyTrace = await traceMainThread(browser, alice, STEADY_TRACE_MS);
    for (const p of [dave, bob, carol, alice]) await leave(p);
    for (const p of Object.values(pages)) await p.context().close();
    const timeline = (all: Record<string, number[]>) =>
      Object.entries(all)
        .map(([step, samples]) => ({ step, p50: summarize(samples).p50, n: samples.length }))
        .sort((a, b) => a.p50 - b.p50);
    return {
      twoMembers: summarize(two),
      twoMembersCold: summarize(twoCold),
      fourthJoiner: summarize(fourth),
      fourthJoinerCold: summarize(fourthCold),
      twoMemberTimeline: timeline(steps),
      fourthJoinerTimeline: timeline(fourthSteps),
      fourthJoinerOps: Object.entries(fourthOps).map(([what, samples]) => ({ what, p50: summarize(samples).p50 })),
      fourthJoinerProfiles: profiles,
      steadyCpu,
      steadyProfile,
      steadyTrace,
    };
  } finally {
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Chromium → Firefox

// Strings, not functions, for the same reason as PROBE (tsx's __name helper is not in the page).
const FX_JOIN_READY = `(() => {
  const b = [...document.querySelectorAll("button")].find((x) => /^(Join|Start) call$/.test(x.textContent || ""));
  return !!b && !b.disabled && !!document.querySelector('[aria-label="Microphone level"]');
})()`;
const FX_CLICK = (name: string) => `(() => {
  const el = [...document.querySelectorAll("button")].find((x) => (x.getAttribute("aria-label") || x.textContent.trim()) === ${JSON.stringify(name)} && !x.disabled);
  if (el) el.click();
  return !!el;
})()`;
const FX_FRAME_FROM_ALICE = `(() => {
  const b = window.__bench;
  return b.clickAt !== null && "Alice" in b.frames ? b.frames.Alice - b.clickAt : null;
})()`;

async function firefoxClick(page: FirefoxPage, name: string) {
  await page.waitForFunction(FX_CLICK(name), { polling: 50, timeout: 15_000 });
}

/** Alice (Chromium) stays in the call; Bob joins from Firefox and leaves, RUNS + 1 times. */
async function benchChromiumToFirefox(browser: Browser): Promise<Summary> {
  const app = await startAppServer("coup-bench-join-ff-");
  const firefox = await launchFirefox();
  try {
    const context = await browser.newContext({ baseURL: app.url, permissions: ["camera", "microphone"] });
    const alice = await context.newPage();
    await login(alice, "alice@example.com");
    const studyId = await demoStudyId(alice);
    await (await openPrejoin(alice, studyId)).click();
    await alice.getByRole("button", { name: "Leave call" }).waitFor();

    const bob = await (await firefox.createBrowserContext()).newPage();
    await bob.evaluateOnNewDocument(PROBE);
    await bob.goto(`${app.url}/login`);
    await bob.type("input[name=email]", "bob@example.com");
    await bob.type("input[name=password]", "coup-demo-pass");
    await firefoxClick(bob, "Log in");
    await bob.waitForFunction(`location.pathname.startsWith("/studies")`, { timeout: 15_000 });

    const samples: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      await bob.goto(`${app.url}/studies/${studyId}/call`);
      await bob.waitForFunction(FX_JOIN_READY, { polling: 50, timeout: 30_000 });
      await bob.evaluate(
        `[...document.querySelectorAll("button")].find((x) => /^(Join|Start) call$/.test(x.textContent || "")).click()`,
      );
      const handle = await bob.waitForFunction(FX_FRAME_FROM_ALICE, { polling: 20, timeout: 30_000 });
      const ms = (await handle.jsonValue()) as number;
      if (i > 0) samples.push(ms);
      process.stdout.write(
        `  Chromium → Firefox run ${i}: ${Math.round(ms)} ms${i === 0 ? " (warm-up, dropped)" : ""}\n`,
      );
      await firefoxClick(bob, "Leave call");
      await bob.waitForFunction(`document.body.innerText.includes("You left the call.")`, { timeout: 15_000 });
      await waitForCount(alice, studyId, 1);
    }
    await leave(alice);
    await context.close();
    return summarize(samples);
  } finally {
    await firefox.close();
    await app.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Raw PeerJS baseline

const BARE_PAGE = `<!doctype html><meta charset="utf-8"><title>bare</title>
<video id="remote" autoplay playsinline></video>
<script src="/peerjs.min.js"></script>`;

/** A bare page with PeerJS from node_modules, and a bare PeerServer: nothing of the app. */
async function startBarePeerServer() {
  const app = express();
  app.get("/", (_req, res) => res.type("html").send(BARE_PAGE));
  app.get("/peerjs.min.js", (_req, res) => res.sendFile(path.join(ROOT, "node_modules/peerjs/dist/peerjs.min.js")));
  const server = http.createServer(app);
  app.use("/peerjs", ExpressPeerServer(server, { path: "/", key: "peerjs" }));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { server, port };
}

async function benchBaseline(browser: Browser) {
  const { server, port } = await startBarePeerServer();
  const url = `http://127.0.0.1:${port}/`;

  const open = async () => {
    const context = await browser.newContext({ permissions: ["camera", "microphone"] });
    const page = await context.newPage();
    await page.goto(url);
    return page;
  };
  const callee = await open();
  const caller = await open();
  const peerOptions = { host: "127.0.0.1", port, path: "/peerjs", key: "peerjs", secure: false, debug: 0 };

  // Same camera constraints as the app; the callee answers every call with its stream.
  await callee.evaluate(async (opts) => {
    const w = window as unknown as { Peer: new (id: string, o: unknown) => BarePeer; stream: MediaStream };
    w.stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30, max: 30 } },
    });
    const peer = new w.Peer("callee", opts);
    await new Promise((r) => peer.on("open", r));
    peer.on("call", (call: BareCall) => call.answer(w.stream));
  }, peerOptions);
  await caller.evaluate(async () => {
    (window as unknown as { stream: MediaStream }).stream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30, max: 30 } },
    });
  });

  const run = (cold: boolean, id: string) =>
    caller.evaluate(
      async ({ opts, cold, id }) => {
        const w = window as unknown as {
          Peer: new (id: string, o: unknown) => BarePeer;
          stream: MediaStream;
          warm?: BarePeer;
        };
        const t0 = performance.now();
        let peer = w.warm;
        if (cold || !peer) {
          peer = new w.Peer(id, opts);
          await new Promise((r) => peer!.on("open", r));
        }
        const call = peer.call("callee", w.stream);
        const video = document.createElement("video");
        video.autoplay = true;
        video.playsInline = true;
        document.body.append(video);
        const frameAt = await new Promise<number>((resolve, reject) => {
          setTimeout(() => reject(new Error("no remote frame in 20 s")), 20_000);
          call.on("stream", (s: MediaStream) => {
            if (video.srcObject) return;
            video.srcObject = s;
            void video.play().catch(() => {});
            video.requestVideoFrameCallback((now) => resolve(now));
          });
        });
        call.close();
        video.remove();
        if (cold) peer.destroy();
        return frameAt - t0;
      },
      { opts: peerOptions, cold, id },
    );

  await caller.evaluate(async (opts) => {
    const w = window as unknown as { Peer: new (id: string, o: unknown) => BarePeer; warm?: BarePeer };
    w.warm = new w.Peer("caller-warm", opts);
    await new Promise((r) => w.warm!.on("open", r));
  }, peerOptions);

  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const c = await run(true, `caller-${i}`);
    const h = await run(false, "");
    if (i > 0) {
      cold.push(c);
      warm.push(h);
    }
    process.stdout.write(`  baseline run ${i}: cold ${Math.round(c)} ms, warm ${Math.round(h)} ms\n`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await callee.context().close();
  await caller.context().close();
  await new Promise((r) => server.close(r));
  return { cold: summarize(cold), warm: summarize(warm) };
}

/**
 * Raw PeerJS 4-mesh: three bare pages hold a full mesh (each showing the other two), a fourth
 * page opens a Peer, calls all three and shows their streams: the same work as the app's 4th
 * joiner, with nothing of the app around it.
 */
async function benchBareMesh(browser: Browser) {
  const { server, port } = await startBarePeerServer();
  const peerOptions = { host: "127.0.0.1", port, path: "/peerjs", key: "peerjs", secure: false, debug: 0 };
  const pages: Page[] = [];
  for (let i = 0; i < 4; i++) {
    const context = await browser.newContext({ permissions: ["camera", "microphone"] });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.addScriptTag({ content: BARE_MESH });
    pages.push(page);
  }
  const members = ["m1", "m2", "m3"];
  // The three members: each answers every call, and calls the ones before it.
  for (const [i, id] of members.entries()) {
    await pages[i]!.evaluate(([opts, id, earlier]) => window.__mesh.start(opts, id, earlier), [
      peerOptions,
      id,
      members.slice(0, i),
    ] as const);
  }
  await Promise.all(
    pages
      .slice(0, 3)
      .map((p) => p.waitForFunction(() => window.__mesh.framesFrom().length === 2, null, { timeout: 30_000 })),
  );
  const samples: number[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const ms = await pages[3]!.evaluate(([opts, id, callees]) => window.__mesh.join(opts, id, callees), [
      peerOptions,
      `joiner-${i}`,
      members,
    ] as const);
    if (i > 0) samples.push(ms);
    process.stdout.write(`  bare 4th joiner run ${i}: ${Math.round(ms)} ms${i === 0 ? " (warm-up, dropped)" : ""}\n`);
    await pages[3]!.evaluate(() => window.__mesh.leave());
    // PeerJS tells the callees only when ICE notices: let them drop the old call first.
    await new Promise((r) => setTimeout(r, 2000));
  }
  for (const p of pages) await p.context().close();
  await new Promise((r) => server.close(r));
  return summarize(samples);
}

/** Four bare PeerJS pages in a full mesh, sending the same media as the app: each page's main-thread busy time. */
async function benchBareSteady(browser: Browser) {
  const { server, port } = await startBarePeerServer();
  const peerOptions = { host: "127.0.0.1", port, path: "/peerjs", key: "peerjs", secure: false, debug: 0 };
  const pages: Page[] = [];
  const ids = ["s1", "s2", "s3", "s4"];
  for (const [i, id] of ids.entries()) {
    const context = await browser.newContext({ permissions: ["camera", "microphone"] });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.addScriptTag({ content: BARE_MESH });
    await page.evaluate(([opts, id, earlier]) => window.__mesh.start(opts, id, earlier), [
      peerOptions,
      id,
      ids.slice(0, i),
    ] as const);
    pages.push(page);
  }
  await Promise.all(
    pages.map((p) => p.waitForFunction(() => window.__mesh.framesFrom().length === 3, null, { timeout: 30_000 })),
  );
  const busy = await mainThreadBusy(pages);
  const trace = await traceMainThread(browser, pages[0]!, STEADY_TRACE_MS);
  for (const p of pages) await p.context().close();
  await new Promise((r) => server.close(r));
  return { ...busy, trace };
}

declare global {
  interface Window {
    __mesh: {
      start(opts: unknown, id: string, callees: readonly string[]): Promise<void>;
      join(opts: unknown, id: string, callees: readonly string[]): Promise<number>;
      leave(): void;
      framesFrom(): string[];
    };
  }
}

// In-page script for the bare mesh (a string for the same reason as PROBE).
const BARE_MESH = `(() => {
  let peer = null, stream = null;
  const calls = new Set();
  const framed = new Map();
  const constraints = { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30, max: 30 } } };
  function show(call) {
    calls.add(call);
    call.on("stream", (s) => {
      if (call.__video) return;
      const v = (call.__video = document.createElement("video"));
      v.autoplay = true; v.playsInline = true; v.srcObject = s;
      document.body.append(v);
      v.requestVideoFrameCallback((now) => framed.set(call.peer, now));
    });
    call.on("close", () => { call.__video && call.__video.remove(); calls.delete(call); framed.delete(call.peer); });
  }
  async function open(opts, id) {
    stream = stream || (await navigator.mediaDevices.getUserMedia(constraints));
    peer = new Peer(id, opts);
    peer.on("call", (call) => { call.answer(stream); show(call); });
    await new Promise((r) => peer.on("open", r));
  }
  window.__mesh = {
    async start(opts, id, callees) {
      await open(opts, id);
      for (const c of callees) show(peer.call(c, stream));
    },
    async join(opts, id, callees) {
      stream = stream || (await navigator.mediaDevices.getUserMedia(constraints));
      const t0 = performance.now();
      await open(opts, id);
      for (const c of callees) show(peer.call(c, stream));
      return await new Promise((resolve, reject) => {
        setTimeout(() => reject(new Error("no frames from all callees in 30 s")), 30000);
        const poll = setInterval(() => {
          if (callees.every((c) => framed.has(c))) {
            clearInterval(poll);
            resolve(Math.max(...callees.map((c) => framed.get(c))) - t0);
          }
        }, 5);
      });
    },
    leave() { for (const c of [...calls]) c.close(); peer && peer.destroy(); peer = null; },
    framesFrom() { return [...framed.keys()]; },
  };
})();`;

interface BarePeer {
  on(event: string, cb: (...args: never[]) => void): void;
  call(id: string, stream: MediaStream): BareCall;
  destroy(): void;
}
interface BareCall {
  on(event: string, cb: (...args: never[]) => void): void;
  answer(stream: MediaStream): void;
  close(): void;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  ensureRemixBuild();
  const browser = await chromium.launch(chromiumLaunchOptions());
  try {
    console.log(`Raw PeerJS baseline (${RUNS} runs + warm-up)…`);
    const baseline = { ...(await benchBaseline(browser)), mesh: await benchBareMesh(browser) };
    console.log(`Bare PeerJS 4-mesh, steady, main-thread busy time over ${STEADY_MS / 1000} s…`);
    const bareSteady = [await benchBareSteady(browser)];
    console.log(`App (${RUNS} warm + ${RUNS} cold runs, interleaved, + warm-up each)…`);
    const app = await benchApp(browser);
    console.log("Bare PeerJS 4-mesh, steady, again (after the app, so the ratio spans the same machine state)…");
    bareSteady.push(await benchBareSteady(browser));
    const bareBusy = Math.round(bareSteady.reduce((a, b) => a + b.mean, 0) / bareSteady.length);
    const bareCpu = Math.round(bareSteady.reduce((a, b) => a + b.cpuMean, 0) / bareSteady.length);
    let chromiumToFirefox: Summary | null = null;
    if (process.env.JOIN_FIREFOX === "0") console.log("JOIN_FIREFOX=0: no Chromium → Firefox row");
    else if (firefoxInstalled()) {
      console.log(`Chromium → Firefox (${RUNS} runs + warm-up)…`);
      chromiumToFirefox = await benchChromiumToFirefox(browser);
    } else console.log("firefox-esr not installed: no Chromium → Firefox row");

    const ratio = app.twoMembers.p50 / baseline.cold.p50;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? "unknown", loadavg: os.loadavg() },
      isolated: process.env.COUP_ISOLATED === "1",
      noSetParameters: process.env.JOIN_NO_SETPARAMETERS === "1",
      runs: RUNS,
      metric: "click on Join call (or peer.call start) → first decoded remote frame (rVFC), ms",
      baseline: { ...baseline, steadyCpu: bareSteady },
      app: { ...app, chromiumToFirefox },
      targets: TARGETS,
      verdict: {
        twoMembersVsColdBaseline: Number(ratio.toFixed(2)),
        twoMembersVsColdBaselineOk: ratio <= TARGETS.vsBaseline,
        twoMembersP50Ok: app.twoMembers.p50 <= TARGETS.twoMemberP50Ms,
        fourthJoinerP50Ok: app.fourthJoiner.p50 <= TARGETS.fourthJoinerP50Ms,
        // Not a target of its own: how much of the 4th joiner's time the bare mesh also needs here.
        fourthJoinerVsBareMesh: Number((app.fourthJoiner.p50 / baseline.mesh.p50).toFixed(2)),
        twoMembersColdVsColdBaseline: Number((app.twoMembersCold.p50 / baseline.cold.p50).toFixed(2)),
        fourthJoinerColdVsBareMesh: Number((app.fourthJoinerCold.p50 / baseline.mesh.p50).toFixed(2)),
        /** Steady 4-person call: app page main-thread busy ms/s ÷ bare page's (goal ≤ 1.3). */
        steadyCpuVsBare: Number((app.steadyCpu.mean / bareBusy).toFixed(2)),
        /** The same from main-thread CPU time (ThreadTime), which a loaded machine does not inflate. */
        steadyThreadCpuVsBare: Number((app.steadyCpu.cpuMean / bareCpu).toFixed(2)),
      },
    };
    mkdirSync(path.join(HERE, "results"), { recursive: true });
    const file = path.join(HERE, "results", `join-${result.date.replace(/[:.]/g, "-")}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

    const row = (name: string, s: Summary, target: string) =>
      `${name.padEnd(34)} ${String(s.p50).padStart(6)} ${String(s.p95).padStart(6)} ${String(s.min).padStart(6)} ${String(s.max).padStart(6)}   ${target}`;
    console.log(
      `\n${"scenario (ms)".padEnd(34)} ${"p50".padStart(6)} ${"p95".padStart(6)} ${"min".padStart(6)} ${"max".padStart(6)}   target`,
    );
    console.log(row("raw PeerJS, cold (new Peer + call)", baseline.cold, ""));
    console.log(row("raw PeerJS, warm (call only)", baseline.warm, ""));
    console.log(row("raw PeerJS, 4th joiner of a mesh", baseline.mesh, ""));
    console.log(
      row(
        "app, 2 members",
        app.twoMembers,
        `p50 ≤ ${TARGETS.twoMemberP50Ms} ms, ≤ ${TARGETS.vsBaseline}× cold baseline (${ratio.toFixed(2)}×)`,
      ),
    );
    console.log(
      row(
        "app, 4th joiner sees all three",
        app.fourthJoiner,
        `p50 ≤ ${TARGETS.fourthJoinerP50Ms} ms (${result.verdict.fourthJoinerVsBareMesh}× bare mesh)`,
      ),
    );
    console.log(
      row(
        "app, 2 members, cold (no pre-join)",
        app.twoMembersCold,
        `${result.verdict.twoMembersColdVsColdBaseline}× cold baseline`,
      ),
    );
    console.log(
      row(
        "app, 4th joiner, cold (no pre-join)",
        app.fourthJoinerCold,
        `${result.verdict.fourthJoinerColdVsBareMesh}× bare mesh`,
      ),
    );
    if (chromiumToFirefox) console.log(row("app, 2 members, Chromium → Firefox", chromiumToFirefox, ""));
    console.log(
      `\nSteady 4-person call, main-thread busy ms per s (CDP TaskDuration, ${STEADY_MS / 1000} s): app pages ${app.steadyCpu.perPage.join(", ")} (mean ${app.steadyCpu.mean}); bare pages ${bareSteady.map((b) => b.perPage.join(", ")).join(" | ")} (mean ${bareBusy}); ratio ${result.verdict.steadyCpuVsBare}× (goal ≤ 1.3×)`,
    );
    console.log(
      `Steady 4-person call, main-thread CPU ms per s (CDP ThreadTime): app pages ${app.steadyCpu.cpuPerPage.join(", ")} (mean ${app.steadyCpu.cpuMean}); bare pages ${bareSteady.map((b) => b.cpuPerPage.join(", ")).join(" | ")} (mean ${bareCpu}); ratio ${result.verdict.steadyThreadCpuVsBare}×`,
    );
    console.log(
      `\nCPU profile of 10 s of the steady call, Alice's page: ${app.steadyProfile.totalMs} ms of JS; heaviest self time:`,
    );
    for (const { fn, selfMs } of app.steadyProfile.top) console.log(`  ${String(selfMs).padStart(7)} ms  ${fn}`);
    console.log(`\n${formatTrace("Main thread of the steady call, Alice's page", app.steadyTrace)}`);
    console.log(`${formatTrace("Main thread of the steady bare mesh, one page (last run)", bareSteady.at(-1)!.trace)}`);
    console.log("\n4th joiner, what the pages did from click to all frames (p50 per run):");
    for (const { what, p50 } of app.fourthJoinerOps) console.log(`  ${String(p50).padStart(6)}  ${what}`);
    for (const [who, prof] of Object.entries(app.fourthJoinerProfiles ?? {})) {
      console.log(`\nCPU profile of one warm 4th join, ${who}: ${prof.totalMs} ms of JS; heaviest self time:`);
      for (const { fn, selfMs, callers } of prof.top) {
        console.log(`  ${String(selfMs).padStart(7)} ms  ${fn}`);
        for (const c of callers) console.log(`  ${"".padStart(7)}    ← ${c.ms} ms from ${c.fn}`);
      }
    }
    console.log("\n2 members, where the time goes (p50 of each step, ms after the click):");
    for (const { step, p50 } of app.twoMemberTimeline) console.log(`  ${String(p50).padStart(5)}  ${step}`);
    console.log("\n4th joiner, where the time goes (p50 of each step, ms after the click):");
    for (const { step, p50 } of app.fourthJoinerTimeline) console.log(`  ${String(p50).padStart(5)}  ${step}`);
    console.log(`\nWritten to ${path.relative(ROOT, file)}`);
  } finally {
    await browser.close();
  }
}

main().then(
  // The bare PeerServer keeps its connection-check timers running after its HTTP server closes.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
