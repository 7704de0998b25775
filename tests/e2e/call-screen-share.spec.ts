import { expect, test } from "./fixtures";
import {
  aliceStartsBobJoins,
  decodedFrames,
  expectVideoFlowing,
  instrumentWebRtc,
  leaveCall,
  tile,
  waitUntilNoCall,
} from "./media";

// Chromium's --use-fake-device-for-media-stream also fakes the screen picker (a synthetic
// 1280×720 "Entire screen"), so the real getDisplayMedia path runs; instrumentWebRtc only keeps
// a handle on the stream so the test can end it the way the browser's own "Stop sharing" does.
test("scenario 5: screen share replaces the camera for everyone and the camera comes back", async ({ loginAs }) => {
  test.setTimeout(90_000);
  const { alice, bob, studyId } = await aliceStartsBobJoins(loginAs, instrumentWebRtc);
  await expectVideoFlowing(bob, "Alice");

  const aliceOnBob = tile(bob, "Alice");
  const presenting = aliceOnBob.getByText("Presenting", { exact: true });
  const remoteVideoWidth = () => aliceOnBob.locator("video").evaluate((v: HTMLVideoElement) => v.videoWidth);
  // The camera is captured at 640×360 at most; the fake screen is 1280×720 and, shared with
  // contentHint "detail", keeps its resolution. So the width tells which source Bob decodes.
  const CAMERA_MAX_WIDTH = 640;
  await expect.poll(remoteVideoWidth).toBeLessThanOrEqual(CAMERA_MAX_WIDTH);

  await alice.getByRole("button", { name: "Share screen" }).click();
  await expect(alice.getByRole("button", { name: "Stop sharing" })).toBeVisible();
  await expect(presenting).toBeVisible();
  await expect(tile(alice, "Alice (you)").getByText("Presenting", { exact: true })).toBeVisible();
  await expectVideoFlowing(bob, "Alice");
  await expect.poll(remoteVideoWidth, { timeout: 15_000 }).toBeGreaterThan(CAMERA_MAX_WIDTH);

  await alice.getByRole("button", { name: "Stop sharing" }).click();
  await expect(presenting).toHaveCount(0);
  await expect(alice.getByRole("button", { name: "Share screen" })).toBeVisible();
  await expect.poll(remoteVideoWidth, { timeout: 15_000 }).toBeLessThanOrEqual(CAMERA_MAX_WIDTH);
  await expectVideoFlowing(bob, "Alice");

  // The browser's own "Stop sharing" bar: the track ends without the app asking for it.
  await alice.getByRole("button", { name: "Share screen" }).click();
  await expect(presenting).toBeVisible();
  await alice.evaluate(() => {
    const stream = (window as unknown as { __screen: MediaStream | null }).__screen;
    const track = stream?.getVideoTracks()[0];
    if (!track) throw new Error("no screen track captured");
    track.stop(); // what the browser does…
    track.dispatchEvent(new Event("ended")); // …and the event it fires then (stop() alone fires none)
  });
  await expect(presenting).toHaveCount(0);
  await expect(alice.getByRole("button", { name: "Share screen" })).toBeVisible();
  await expect.poll(remoteVideoWidth, { timeout: 15_000 }).toBeLessThanOrEqual(CAMERA_MAX_WIDTH);
  const before = await decodedFrames(bob, "Alice");
  await expectVideoFlowing(bob, "Alice");
  expect(await decodedFrames(bob, "Alice")).toBeGreaterThan(before);

  await leaveCall(bob);
  await leaveCall(alice);
  await waitUntilNoCall(alice, studyId);
});
