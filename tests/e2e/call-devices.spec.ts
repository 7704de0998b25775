import type { Page } from "@playwright/test";
import { chromiumLaunchOptions } from "./browser";
import { expect, test } from "./fixtures";
import {
  aliceStartsBobJoins,
  expectAudioFlowing,
  expectVideoFlowing,
  leaveCall,
  liveCameraTracks,
  recordDeviceTracks,
} from "./media";
import { trackPeerConnections } from "./net";

// Three fake cameras. Chrome gives its fake cameras different pixel formats in turn; fake_device_1's
// frames play in a <video> but never reach the WebRTC encoder (a Y16 "depth" format), so the test
// switches to fake_device_2. Chrome's fake microphones are always three.
test.use({ launchOptions: chromiumLaunchOptions(["--use-fake-device-for-media-stream=device-count=3"]) });

/** Labels of the live tracks the page's calls send, of one kind. */
function sending(page: Page, kind: "audio" | "video"): Promise<string[]> {
  return page.evaluate((kind) => {
    const pcs = (window as unknown as { __coupPeerConnections: RTCPeerConnection[] }).__coupPeerConnections;
    return pcs
      .filter((pc) => pc.connectionState !== "closed")
      .flatMap((pc) => pc.getSenders())
      .filter((s) => s.track?.kind === kind && s.track.readyState === "live")
      .map((s) => s.track!.label);
  }, kind);
}

test("switching camera and microphone in the call: the others keep seeing and hearing, from the new devices", async ({
  loginAs,
}) => {
  test.setTimeout(90_000);
  const { alice, bob } = await aliceStartsBobJoins(loginAs, async (page: Page) => {
    await trackPeerConnections(page);
    await recordDeviceTracks(page);
  });
  await expectVideoFlowing(bob, "Alice");
  await expectAudioFlowing(bob, "Alice");
  await expect.poll(() => sending(alice, "audio")).toEqual(["Fake Default Audio Input"]);
  await expect.poll(() => sending(alice, "video")).toEqual(["fake_device_0"]);

  await alice.getByText("Devices", { exact: true }).click();
  // Anchored: the toolbar's icon buttons carry aria-labels too ("Mute microphone").
  await alice.getByLabel(/^Microphone/).selectOption({ label: "Fake Audio Input 1" });
  await expect.poll(() => sending(alice, "audio")).toEqual(["Fake Audio Input 1"]);
  await expectAudioFlowing(bob, "Alice");

  await alice.getByLabel(/^Camera/).selectOption({ label: "fake_device_2" });
  await expect.poll(() => sending(alice, "video")).toEqual(["fake_device_2"]);
  await expectVideoFlowing(bob, "Alice");
  await expectVideoFlowing(alice, "Alice (you)");
  // The camera switched away from is let go.
  expect(await liveCameraTracks(alice)).toBe(1);

  await leaveCall(bob);
  await leaveCall(alice);
});
