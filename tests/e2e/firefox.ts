/**
 * Firefox for the cross-browser specs: Debian's firefox-esr driven by puppeteer-core over WebDriver
 * BiDi (Playwright cannot download its Firefox here, and its BiDi mode fails against ESR), plus the
 * in-page media probes both engines answer the same way. Chromium stays on Playwright's fixtures.
 *
 * Must run inside scripts/isolated.sh like every call spec: Firefox's WebRTC then only ever sees
 * the namespace's loopback (see the script for the default route Firefox needs there).
 */
import { existsSync } from "node:fs";
import type { Page } from "@playwright/test";
import puppeteer, { type Browser as FirefoxBrowser, type Page as FirefoxPage } from "puppeteer-core";
import { startDesktop } from "./desktop";

export type { FirefoxBrowser, FirefoxPage };

const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";
export const firefoxInstalled = () => existsSync(FIREFOX_PATH);

/** Fake camera and microphone without a prompt, loopback ICE. */
const FIREFOX_PREFS: Record<string, unknown> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.peerconnection.ice.loopback": true,
  // Real host addresses in candidates: mDNS names cannot be resolved on a lone loopback.
  "media.peerconnection.ice.obfuscate_host_addresses": false,
};

/** Media that may play unprompted (headless only: the desktop Firefox keeps its default policy). */
const AUTOPLAY_PREFS: Record<string, unknown> = {
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  "media.block-autoplay-until-in-foreground": false,
};

/**
 * Headless by default. `desktop: true` runs it headed on a private Xvfb display with a PulseAudio
 * null sink (tests/e2e/desktop.ts): what a user's Firefox has, and what its AudioContext (level
 * meter, speaking rings) and getDisplayMedia need. Both are stopped when the browser closes. It
 * also keeps Firefox's default autoplay policy, as a user has it.
 */
export async function launchFirefox(opts: { desktop?: boolean } = {}): Promise<FirefoxBrowser> {
  const desktop = opts.desktop ? await startDesktop() : null;
  try {
    const browser = await puppeteer.launch({
      browser: "firefox",
      executablePath: FIREFOX_PATH,
      headless: !desktop,
      env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: "1", ...desktop?.env },
      extraPrefsFirefox: desktop ? FIREFOX_PREFS : { ...FIREFOX_PREFS, ...AUTOPLAY_PREFS },
    });
    if (desktop) browser.once("disconnected", () => desktop.stop());
    return browser;
  } catch (error) {
    desktop?.stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// In-page probes (plain functions evaluated in either engine; no closures over test code)

/** Init script: every RTCPeerConnection the page makes, reachable as window.__coupPcs. */
export function trackPcsInPage() {
  const list: RTCPeerConnection[] = [];
  (window as unknown as { __coupPcs: RTCPeerConnection[] }).__coupPcs = list;
  const Native = window.RTCPeerConnection;
  class Tracked extends Native {
    constructor(config?: RTCConfiguration) {
      super(config);
      list.push(this);
    }
  }
  window.RTCPeerConnection = Tracked;
}

/**
 * Init script: logs `coup-audiocontext <state>` to the console 1.5 s after each AudioContext the page
 * makes. A console message reaches the test without a `page.evaluate()`, which over BiDi would give the
 * page user activation and so change what Firefox's autoplay policy lets that context do.
 */
export function logAudioContextsInPage() {
  const Native = window.AudioContext;
  class Logged extends Native {
    constructor(options?: AudioContextOptions) {
      super(options);
      setTimeout(() => console.info(`coup-audiocontext ${this.state}`), 1_500);
    }
  }
  window.AudioContext = Logged;
}

/**
 * Frames decoded so far for the video shown in the tile `label`, from getStats of the connection
 * that receives that track. Firefox's getVideoPlaybackQuality() stays 0 for a MediaStream (headed
 * or not); framesDecoded means the same thing in both engines.
 */
async function framesDecodedInPage(label: string): Promise<number> {
  const tileEl = [...document.querySelectorAll("[role=group]")].find((e) => e.getAttribute("aria-label") === label);
  const stream = tileEl?.querySelector("video")?.srcObject as MediaStream | null | undefined;
  const track = stream?.getVideoTracks()[0];
  if (!track) return 0;
  const pcs = (window as unknown as { __coupPcs?: RTCPeerConnection[] }).__coupPcs ?? [];
  let frames = 0;
  for (const pc of pcs) {
    if (pc.connectionState === "closed" || !pc.getReceivers().some((r) => r.track.id === track.id)) continue;
    const report = await pc.getStats(track);
    report.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
      if (s.type === "inbound-rtp" && s.kind === "video") frames = Math.max(frames, s.framesDecoded ?? 0);
    });
  }
  return frames;
}

/**
 * Loudness of the tile's audio over `ms` as RMS, from getStats (totalAudioEnergy over
 * totalSamplesDuration of the receiving connection), so it works where WebAudio cannot start:
 * headless Firefox without a sound device never runs an AudioContext. Where one does run
 * (Chromium), a WebAudio analyser's peak RMS counts too, as in media.ts.
 */
async function audioPeakInPage([label, ms]: [string, number]): Promise<number> {
  const tileEl = [...document.querySelectorAll("[role=group]")].find((e) => e.getAttribute("aria-label") === label);
  const stream = tileEl?.querySelector("video")?.srcObject as MediaStream | null | undefined;
  const track = stream?.getAudioTracks()[0];
  if (!stream || !track) return 0;
  const pcs = (window as unknown as { __coupPcs?: RTCPeerConnection[] }).__coupPcs ?? [];
  const pc = pcs.find((p) => p.connectionState !== "closed" && p.getReceivers().some((r) => r.track.id === track.id));
  const energy = async () => {
    let e = 0;
    let d = 0;
    if (pc) {
      (await pc.getStats(track)).forEach(
        (s: { type: string; kind?: string; totalAudioEnergy?: number; totalSamplesDuration?: number }) => {
          if (s.type !== "inbound-rtp" || s.kind !== "audio") return;
          e += s.totalAudioEnergy ?? 0;
          d += s.totalSamplesDuration ?? 0;
        },
      );
    }
    return { e, d };
  };
  const before = await energy();
  const ctx = new AudioContext();
  const running = await Promise.race([
    ctx.resume().then(() => ctx.state === "running"),
    new Promise<boolean>((r) => setTimeout(() => r(false), 300)),
  ]);
  let peak = 0;
  const until = performance.now() + ms;
  if (running) {
    const src = ctx.createMediaStreamSource(stream);
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    src.connect(analyser);
    const buf = new Uint8Array(analyser.fftSize);
    while (performance.now() < until) {
      analyser.getByteTimeDomainData(buf);
      let sum = 0;
      for (const b of buf) sum += ((b - 128) / 128) ** 2;
      peak = Math.max(peak, Math.sqrt(sum / buf.length));
      await new Promise((r) => setTimeout(r, 20));
    }
    src.disconnect();
  } else {
    await new Promise((r) => setTimeout(r, Math.max(0, until - performance.now())));
  }
  void ctx.close();
  const after = await energy();
  const statsRms = after.d > before.d ? Math.sqrt(Math.max(0, after.e - before.e) / (after.d - before.d)) : 0;
  return Math.max(peak, statsRms);
}

/** The tile's visible state: present, "Muted" / "Speaking" / "Presenting" pills, camera-off avatar, connection level. */
export function tileStateInPage(label: string) {
  const tileEl = [...document.querySelectorAll("[role=group]")].find((e) => e.getAttribute("aria-label") === label);
  if (!tileEl) return null;
  const name = label.replace(/ \(you\)$/, "");
  return {
    muted: [...tileEl.querySelectorAll(".pill")].some((p) => p.textContent === "Muted"),
    speaking:
      tileEl.getAttribute("data-speaking") === "true" &&
      [...tileEl.querySelectorAll(".pill")].some((p) => p.textContent === "Speaking"),
    presenting: [...tileEl.querySelectorAll(".pill")].some((p) => p.textContent === "Presenting"),
    cameraOff: tileEl.querySelector(`[role=img][aria-label="${name}'s camera is off"]`) !== null,
    connection: tileEl.querySelector("summary[aria-label^='Connection: ']")?.getAttribute("aria-label") ?? null,
  };
}

/** Clicks the enabled button or link whose accessible name (aria-label, else text) is `name`. */
function clickByNameInPage(name: string | null): boolean {
  // Buttons before links: the header's "Log in" link must not win over the form's button.
  const el = [...document.querySelectorAll<HTMLElement>("button"), ...document.querySelectorAll<HTMLElement>("a")].find(
    (e) => (e.getAttribute("aria-label") ?? e.textContent?.trim()) === name && !(e as HTMLButtonElement).disabled,
  );
  el?.click();
  return el !== undefined;
}

export function textVisibleInPage(text: string): boolean {
  return document.body.innerText.includes(text);
}

// ---------------------------------------------------------------------------------------------
// Driving a Firefox member (the calls the Chromium specs make through Playwright locators)

/** Retries `probe` in the page until it returns true (the BiDi equivalent of a locator wait). */
export async function firefoxUntil(
  page: FirefoxPage,
  probe: (arg: string | null) => boolean,
  arg: string | null,
  what: string,
  timeout = 15_000,
) {
  try {
    await page.waitForFunction(probe, { timeout, polling: 100 }, arg);
  } catch (error) {
    const body = await page.evaluate(() => document.body.innerText.slice(0, 400)).catch(() => "");
    throw new Error(`Firefox: ${what} (${String(error)}) at ${page.url()}; page says: ${body}`);
  }
}

/**
 * A click through WebDriver input actions rather than element.click(): it carries user activation,
 * which getDisplayMedia requires.
 */
export async function firefoxUserClick(page: FirefoxPage, name: string) {
  await firefoxUntil(page, clickableInPage, name, `no "${name}" to click`);
  const handle = await page.evaluateHandle(
    (n) =>
      [...document.querySelectorAll("button")].find(
        (e) => (e.getAttribute("aria-label") ?? e.textContent?.trim()) === n,
      )!,
    name,
  );
  await handle.click();
  await handle.dispose();
}

export async function firefoxClick(page: FirefoxPage, name: string, timeout = 15_000) {
  await firefoxUntil(page, clickByNameInPage, name, `no enabled "${name}" to click`, timeout);
}

/** A member in a fresh Firefox user context (own cookies), logged in, the RTC probe installed. */
export async function firefoxMember(browser: FirefoxBrowser, baseURL: string, email: string): Promise<FirefoxPage> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.evaluateOnNewDocument(trackPcsInPage);
  page.on("pageerror", (e) => console.error(`[firefox ${email}] ${String(e)}`));
  await page.goto(`${baseURL}/login`);
  await page.type("input[name=email]", email);
  await page.type("input[name=password]", "coup-demo-pass");
  await firefoxClick(page, "Log in");
  await firefoxUntil(
    page,
    (path) => location.pathname.startsWith(path ?? ""),
    "/studies",
    "login did not reach /studies",
  );
  return page;
}

/** Opens the study's pre-join screen in Firefox and waits until devices settle (Join enabled). */
export async function firefoxOpenPrejoin(page: FirefoxPage, baseURL: string, studyId: string) {
  await page.goto(`${baseURL}/studies/${studyId}/call`);
  await firefoxUntil(
    page,
    () =>
      [...document.querySelectorAll("button")].some(
        (b) => /^(Join|Start) call$/.test(b.textContent ?? "") && !b.disabled,
      ),
    null,
    "join button never enabled",
  );
}

/** What the pre-join screen shows: the device pickers' options and whether the preview is live. */
export function firefoxPrejoinState(page: FirefoxPage) {
  return page.evaluate(() => {
    const options = (label: string) => {
      const select = [...document.querySelectorAll("label")]
        .find((l) => l.firstChild?.textContent?.trim() === label)
        ?.querySelector("select");
      return select ? [...select.options].map((o) => o.textContent ?? "") : [];
    };
    const preview = [...document.querySelectorAll("[role=group]")]
      .find((e) => e.getAttribute("aria-label") === "Camera preview")
      ?.querySelector("video")?.srcObject as MediaStream | null | undefined;
    return {
      cameras: options("Camera"),
      microphones: options("Microphone"),
      previewLive: preview?.getVideoTracks().some((t) => t.readyState === "live") ?? false,
      meter: document.querySelector('[aria-label="Microphone level"]') !== null,
    };
  });
}

/** From the pre-join screen: join (or start) and wait for "Leave call". */
export async function firefoxClickJoin(page: FirefoxPage) {
  await page.evaluate(() =>
    [...document.querySelectorAll("button")].find((b) => /^(Join|Start) call$/.test(b.textContent ?? ""))?.click(),
  );
  await firefoxUntil(page, clickableInPage, "Leave call", "never got into the call");
}

/** Pre-join screen of the study's call in Firefox, then join (or start) and wait for "Leave call". */
export async function firefoxJoin(page: FirefoxPage, baseURL: string, studyId: string) {
  await firefoxOpenPrejoin(page, baseURL, studyId);
  await firefoxClickJoin(page);
}

function clickableInPage(name: string | null): boolean {
  return [...document.querySelectorAll("button, a")].some(
    (e) => (e.getAttribute("aria-label") ?? e.textContent?.trim()) === name,
  );
}

export async function firefoxWaitTile(
  page: FirefoxPage,
  label: string,
  want: (s: ReturnType<typeof tileStateInPage>) => boolean,
  what: string,
  timeout = 15_000,
) {
  const deadline = Date.now() + timeout;
  let last: ReturnType<typeof tileStateInPage> = null;
  while (Date.now() < deadline) {
    last = await page.evaluate(tileStateInPage, label);
    if (want(last)) return last;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`Firefox tile "${label}": ${what}; last seen ${JSON.stringify(last)}`);
}

// ---------------------------------------------------------------------------------------------
// The same probes from either engine's page

/** Anything that evaluates a function with one argument in a page: Playwright's or puppeteer's. */
export type AnyPage = Page | FirefoxPage;

function framesDecoded(page: AnyPage, label: string): Promise<number> {
  return (page as FirefoxPage).evaluate(framesDecodedInPage, label);
}

function audioPeak(page: AnyPage, label: string, ms = 2_000): Promise<number> {
  return (page as FirefoxPage).evaluate(audioPeakInPage, [label, ms] as [string, number]);
}

/** Video keeps decoding: more than 5 new frames within `withinMs` (the fake cameras give ~30 fps). */
export async function expectFramesDecoding(page: AnyPage, label: string, withinMs = 15_000) {
  const deadline = Date.now() + withinMs;
  let start: number | null = null;
  let last = 0;
  while (Date.now() < deadline) {
    last = await framesDecoded(page, label);
    if (start === null && last > 0) start = last;
    else if (start !== null && last > start + 5) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`"${label}": video not decoding (framesDecoded ${start ?? 0} → ${last} in ${withinMs} ms)`);
}

/** Sound arrives: the tile's audio peaks above 0.01 RMS within `withinMs`. */
export async function expectAudioArriving(page: AnyPage, label: string, withinMs = 15_000) {
  const deadline = Date.now() + withinMs;
  let best = 0;
  while (Date.now() < deadline) {
    best = Math.max(best, await audioPeak(page, label));
    if (best > 0.01) return;
  }
  throw new Error(`"${label}": no audio (peak RMS ${best.toFixed(4)} in ${withinMs} ms)`);
}
