import { expect, type Page } from "@playwright/test";

/** The participant tile for a display name (own tile: "<name> (you)"). */
export const tile = (page: Page, label: string) => page.getByRole("group", { name: label, exact: true });

/** Decoded frames of the tile's <video> (browser counter; grows only while frames really decode). */
export async function decodedFrames(page: Page, label: string): Promise<number> {
  return tile(page, label)
    .locator("video")
    .evaluate((v: HTMLVideoElement) => v.getVideoPlaybackQuality().totalVideoFrames);
}

/** Asserts the tile's video keeps decoding new frames: two samples apart in time, the count grows. */
export async function expectVideoFlowing(page: Page, label: string) {
  await expect(tile(page, label).locator("video")).toBeVisible();
  await expect.poll(() => decodedFrames(page, label), { timeout: 15_000 }).toBeGreaterThan(0);
  const first = await decodedFrames(page, label);
  await expect.poll(() => decodedFrames(page, label), { timeout: 10_000 }).toBeGreaterThan(first + 5);
}

/** Peak RMS of the audio arriving in the tile's stream over a window (Chrome's fake mic beeps). */
export async function peakAudioLevel(page: Page, label: string, windowMs = 2500): Promise<number> {
  return tile(page, label)
    .locator("video")
    .evaluate(async (v: HTMLVideoElement, ms: number) => {
      const stream = v.srcObject as MediaStream | null;
      if (!stream || stream.getAudioTracks().length === 0) return 0;
      const ctx = new AudioContext();
      await ctx.resume();
      const src = ctx.createMediaStreamSource(stream);
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      src.connect(analyser);
      const buf = new Uint8Array(analyser.fftSize);
      let peak = 0;
      const until = performance.now() + ms;
      while (performance.now() < until) {
        analyser.getByteTimeDomainData(buf);
        let sum = 0;
        for (const b of buf) sum += ((b - 128) / 128) ** 2;
        peak = Math.max(peak, Math.sqrt(sum / buf.length));
        await new Promise((r) => setTimeout(r, 50));
      }
      src.disconnect();
      await ctx.close();
      return peak;
    }, windowMs);
}

export async function expectAudioFlowing(page: Page, label: string) {
  await expect.poll(() => peakAudioLevel(page, label), { timeout: 20_000, intervals: [0] }).toBeGreaterThan(0.01);
}

/** Opens the study's call page and joins (starting the call when none is running). */
export async function joinCall(page: Page, studyName = "Algorithms Study") {
  await page.goto("/studies");
  await page.getByRole("link", { name: studyName }).click();
  await page.getByRole("link", { name: /^(Join|Start) call$/ }).click();
  await expect(page).toHaveURL(/\/call$/);
  const join = page.getByRole("button", { name: /^(Join|Start) call$/ });
  await expect(join).toBeEnabled();
  await join.click();
  await expect(page.getByRole("button", { name: "Leave call" })).toBeVisible();
}

/** Opens the study page from the studies list; returns the study id from the URL. */
export async function openStudy(page: Page, studyName = "Algorithms Study"): Promise<string> {
  await page.goto("/studies");
  await page.getByRole("link", { name: studyName }).click();
  await expect(page.getByRole("heading", { name: studyName })).toBeVisible();
  const id = /\/studies\/([^/?#]+)/.exec(page.url())?.[1];
  if (!id) throw new Error(`no study id in ${page.url()}`);
  return id;
}

/** The pre-join screen of the study's call, devices settled (the join button is enabled). */
export async function openCallPage(page: Page, studyId: string) {
  await page.goto(`/studies/${studyId}/call`);
  await expect(joinButton(page)).toBeEnabled();
}

export const joinButton = (page: Page) => page.getByRole("button", { name: /^(Join|Start) call$/ });

export async function clickJoin(page: Page) {
  await joinButton(page).click();
  await expect(page.getByRole("button", { name: "Leave call" })).toBeVisible();
}

export async function leaveCall(page: Page) {
  await page.getByRole("button", { name: "Leave call" }).click();
  await expect(page.getByText(/^(You left the call\.|The call has ended\.)$/)).toBeVisible();
}

/** Every participant tile in the in-call grid, own tile included. */
export const gridTiles = (page: Page) => page.locator(".grid > [role=group]");

export const cameraOffAvatar = (page: Page, name: string) =>
  tile(page, name).getByRole("img", { name: `${name}'s camera is off` });

/** A tRPC v11 query over plain HTTP GET from the page, so it carries that user's session cookie. */
export async function trpcQuery<T>(page: Page, path: string, input: unknown): Promise<T> {
  const res = await page.evaluate(
    async ([p, i]) => {
      const r = await fetch(`/api/trpc/${p}?input=${encodeURIComponent(JSON.stringify(i))}`);
      return { status: r.status, body: (await r.json()) as unknown };
    },
    [path, input] as const,
  );
  if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { result: { data: T } }).result.data;
}

/**
 * Tests share one database: a call left over by an earlier (maybe failed) test would make this one
 * join it. Waits until the server has no running session (the drop timers end an abandoned one).
 */
export async function waitUntilNoCall(page: Page, studyId: string) {
  await expect
    .poll(async () => (await trpcQuery<{ session: unknown }>(page, "videoCall.status", { studyId })).session === null, {
      timeout: 30_000,
      intervals: [250, 500, 1000],
    })
    .toBe(true);
}

/**
 * Keeps every RTCPeerConnection the app creates (and the last screen-capture stream) reachable from
 * the test: PeerJS owns them and the app never exposes them.
 */
export async function instrumentWebRtc(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { __pcs: RTCPeerConnection[]; __screen: MediaStream | null };
    w.__pcs = [];
    w.__screen = null;
    const Native = window.RTCPeerConnection;
    class Tracked extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.__pcs.push(this);
      }
    }
    window.RTCPeerConnection = Tracked;
    const md = navigator.mediaDevices;
    if (md?.getDisplayMedia) {
      const original = md.getDisplayMedia.bind(md);
      md.getDisplayMedia = async (options?: DisplayMediaStreamOptions) => {
        const stream = await original(options);
        w.__screen = stream;
        return stream;
      };
    }
  });
}

/** Makes the browser refuse camera and microphone the way a user's "Block" does. */
export async function denyMediaDevices(page: Page) {
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () =>
      Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
  });
}

export interface UplinkSample {
  /** Outbound video bits per second per open connection. */
  perPeerBps: number[];
  totalBps: number;
  /** encodings[0].maxBitrate of each open connection's video sender. */
  maxBitrates: Array<number | undefined>;
}

/** Outbound video rate of every open connection, from getStats bytesSent deltas over `ms`. */
export async function measureUplink(page: Page, ms = 5_000): Promise<UplinkSample> {
  return page.evaluate(async (windowMs) => {
    const pcs = (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter(
      (pc) => pc.connectionState !== "closed" && pc.iceConnectionState !== "closed",
    );
    const videoBytes = async (pc: RTCPeerConnection) => {
      let bytes = 0;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesSent?: number }) => {
        if (s.type === "outbound-rtp" && s.kind === "video") bytes += s.bytesSent ?? 0;
      });
      return bytes;
    };
    const before = await Promise.all(pcs.map(videoBytes));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const after = await Promise.all(pcs.map(videoBytes));
    const seconds = (performance.now() - t0) / 1000;
    const perPeerBps = after.map((b, i) => ((b - before[i]!) * 8) / seconds);
    const maxBitrates = pcs.map((pc) => {
      const sender = pc.getTransceivers().find((t) => t.receiver.track.kind === "video")?.sender;
      return sender?.getParameters().encodings?.[0]?.maxBitrate;
    });
    return { perPeerBps, totalBps: perPeerBps.reduce((a, b) => a + b, 0), maxBitrates };
  }, ms);
}

/** Every track the page ever got from getUserMedia, so a test can see camera and mic are let go. */
export async function recordDeviceTracks(page: Page) {
  await page.addInitScript(() => {
    const tracks: MediaStreamTrack[] = [];
    (window as unknown as { __deviceTracks: MediaStreamTrack[] }).__deviceTracks = tracks;
    const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await original(constraints);
      tracks.push(...stream.getTracks());
      return stream;
    };
  });
}

/** Device tracks of one kind still capturing (what keeps a camera's light or a mic's dot on). */
export function liveDeviceTracks(page: Page, kind: "audio" | "video"): Promise<number> {
  return page.evaluate(
    (k) =>
      (window as unknown as { __deviceTracks: MediaStreamTrack[] }).__deviceTracks.filter(
        (t) => t.kind === k && t.readyState === "live",
      ).length,
    kind,
  );
}

export const liveCameraTracks = (page: Page) => liveDeviceTracks(page, "video");

/** RTCPeerConnections the page has not closed (needs instrumentWebRtc). */
export function openPeerConnections(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.filter(
        (pc) => pc.connectionState !== "closed" && pc.signalingState !== "closed",
      ).length,
  );
}

/**
 * Alice starts a fresh call in the demo study and Bob joins it. `prepareAlice` runs on her page
 * before it loads the call (init scripts that instrument WebRTC or getUserMedia).
 */
export async function aliceStartsBobJoins(
  loginAs: (email: string) => Promise<Page>,
  prepareAlice: (page: Page) => Promise<void> = async () => {},
): Promise<{ alice: Page; bob: Page; studyId: string }> {
  const alice = await loginAs("alice@example.com");
  await prepareAlice(alice);
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  const bob = await loginAs("bob@example.com");
  await openCallPage(bob, studyId);
  await clickJoin(bob);
  return { alice, bob, studyId };
}
