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
