/**
 * Calls between Chromium (Playwright) and Firefox (firefox-esr over WebDriver BiDi, tests/e2e/firefox.ts):
 * media both ways proven by decoded frames and audio energy, mute / camera / leave-rejoin seen
 * across engines, a Chromium host muting and removing the Firefox member, and a 3-way mesh with two Chromium and one Firefox member.
 *
 * Run: npx remix build && bash scripts/isolated.sh npx playwright test tests/e2e/cross-browser.spec.ts
 */
import { expect, test } from "./fixtures";
import { blockUdp, clearFaults, isolated } from "./net";
import { cameraOffAvatar, clickJoin, leaveCall, openCallPage, openStudy, tile, waitUntilNoCall } from "./media";
import {
  expectAudioArriving,
  expectFramesDecoding,
  firefoxClick,
  firefoxClickJoin,
  firefoxInstalled,
  firefoxJoin,
  firefoxMember,
  firefoxOpenPrejoin,
  firefoxPrejoinState,
  firefoxWaitTile,
  launchFirefox,
  firefoxUserClick,
  textVisibleInPage,
  trackPcsInPage,
  type FirefoxBrowser,
} from "./firefox";

// Firefox's WebRTC must only ever see the test namespace's loopback.
test.skip(
  !isolated || process.getuid?.() !== 0,
  "needs root inside scripts/isolated.sh (loopback-only namespace, nft)",
);
test.afterEach(() => clearFaults());

let firefox: FirefoxBrowser;

test.beforeAll(async () => {
  if (!firefoxInstalled()) throw new Error("firefox-esr is not installed (apt-get install firefox-esr; .ci/run does)");
  firefox = await launchFirefox();
});

test.afterAll(async () => {
  await firefox?.close();
});

test("Chromium and Firefox: see and hear each other; mute, camera and rejoin cross over", async ({
  loginAs,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const alice = await loginAs("alice@example.com");
  await alice.addInitScript(trackPcsInPage);
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);

  const bob = await firefoxMember(firefox, baseURL!, "bob@example.com");
  await test.step("Firefox pre-join: live preview, level meter, named devices to pick", async () => {
    await firefoxOpenPrejoin(bob, baseURL!, studyId);
    const named = (options: string[]) => options.filter((o) => !/^Default (camera|microphone)$/.test(o)).length;
    await expect.poll(async () => named((await firefoxPrejoinState(bob)).cameras)).toBeGreaterThan(0);
    await expect.poll(async () => named((await firefoxPrejoinState(bob)).microphones)).toBeGreaterThan(0);
    const prejoin = await firefoxPrejoinState(bob);
    expect(prejoin.previewLive).toBe(true);
    expect(prejoin.meter).toBe(true);
    await firefoxClickJoin(bob);
  });

  await test.step("media both ways", async () => {
    await expectFramesDecoding(alice, "Bob");
    await expectFramesDecoding(bob, "Alice");
    await expectAudioArriving(alice, "Bob");
    await expectAudioArriving(bob, "Alice");
    await firefoxWaitTile(bob, "Alice", (s) => s?.connection?.startsWith("Connection: ") ?? false, "no quality");
  });

  await test.step("Firefox without a screen: Share screen says it cannot, the camera keeps going", async () => {
    // This Firefox is headless, so getDisplayMedia finds no screen (NotFoundError). The real share
    // from a Firefox with a display is in cross-browser-room.spec.ts.
    await firefoxUserClick(bob, "Share screen");
    await bob.waitForFunction(textVisibleInPage, { timeout: 15_000 }, "Your screen can't be shared from this browser.");
    await firefoxWaitTile(bob, "Bob (you)", (s) => s?.presenting === false, "own tile says Presenting");
    await expect(tile(alice, "Bob").getByText("Presenting", { exact: true })).toHaveCount(0);
    await expectFramesDecoding(alice, "Bob");
  });

  await test.step("Firefox mutes: Chromium sees Muted", async () => {
    await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toHaveCount(0);
    await firefoxClick(bob, "Mute microphone");
    await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toBeVisible();
    await firefoxWaitTile(bob, "Bob (you)", (s) => s?.muted === true, "own tile not Muted");
    await firefoxClick(bob, "Unmute microphone");
    await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toHaveCount(0);
    await expectAudioArriving(alice, "Bob");
  });

  await test.step("Chromium host mutes Firefox: the notice, the button and the silence cross over", async () => {
    await tile(alice, "Bob").getByRole("button", { name: "More actions for Bob" }).click();
    await alice.getByRole("button", { name: "Mute Bob" }).click();
    await bob.waitForFunction(textVisibleInPage, { timeout: 15_000 }, "Alice muted you");
    await firefoxWaitTile(bob, "Bob (you)", (s) => s?.muted === true, "own tile not Muted after the host's mute");
    await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toBeVisible();
    // Only Bob can unmute Bob.
    await firefoxClick(bob, "Unmute microphone");
    await expect(tile(alice, "Bob").getByText("Muted", { exact: true })).toHaveCount(0);
    await expectAudioArriving(alice, "Bob");
  });

  await test.step("Firefox camera off and on", async () => {
    await firefoxClick(bob, "Turn off camera");
    await expect(cameraOffAvatar(alice, "Bob")).toBeVisible();
    await firefoxClick(bob, "Turn on camera");
    await expect(cameraOffAvatar(alice, "Bob")).toHaveCount(0);
    await expectFramesDecoding(alice, "Bob");
    // And the other way: Chromium's camera off is seen in Firefox.
    await alice.getByRole("button", { name: "Turn off camera" }).click();
    await firefoxWaitTile(bob, "Alice", (s) => s?.cameraOff === true, "Alice's camera-off avatar missing");
    await alice.getByRole("button", { name: "Turn on camera" }).click();
    await firefoxWaitTile(bob, "Alice", (s) => s?.cameraOff === false, "Alice's camera-off avatar stuck");
    await expectFramesDecoding(bob, "Alice");
  });

  await test.step("UDP cut until both say Reconnecting: the re-dialled link carries media again", async () => {
    blockUdp();
    try {
      await expect(tile(alice, "Bob").getByRole("status")).toHaveText(/Reconnecting \([123]\/3\)/, {
        timeout: 25_000,
      });
      await bob.waitForFunction(
        () =>
          /Reconnecting \([123]\/3\)/.test(
            [...document.querySelectorAll("[role=group]")]
              .find((e) => e.getAttribute("aria-label") === "Alice")
              ?.querySelector("[role=status]")?.textContent ?? "",
          ),
        { timeout: 25_000, polling: 200 },
      );
    } finally {
      clearFaults();
    }
    await expectFramesDecoding(alice, "Bob", 20_000);
    await expectFramesDecoding(bob, "Alice", 20_000);
    await expect(tile(alice, "Bob").getByRole("status")).toHaveCount(0, { timeout: 10_000 });
  });

  await test.step("Firefox leaves and rejoins", async () => {
    await firefoxClick(bob, "Leave call");
    await bob.waitForFunction(textVisibleInPage, { timeout: 15_000 }, "You left the call.");
    await expect(tile(alice, "Bob")).toHaveCount(0);
    await firefoxJoin(bob, baseURL!, studyId);
    await expectFramesDecoding(alice, "Bob");
    await expectFramesDecoding(bob, "Alice");
    await expectAudioArriving(alice, "Bob");
  });

  await test.step("Chromium host removes Firefox: gone from the stage, told who did it", async () => {
    await tile(alice, "Bob").getByRole("button", { name: "More actions for Bob" }).click();
    await alice.getByRole("button", { name: "Remove Bob from call" }).click();
    await alice.getByRole("dialog", { name: "Remove Bob?" }).getByRole("button", { name: "Remove" }).click();
    await expect(tile(alice, "Bob")).toHaveCount(0, { timeout: 5_000 });
    await bob.waitForFunction(textVisibleInPage, { timeout: 15_000 }, "Alice removed you from the call");
  });

  await leaveCall(alice);
  await bob.browserContext().close();
});

test("3-way call: two Chromium members and one Firefox member", async ({ loginAs, baseURL }) => {
  test.setTimeout(90_000);
  const alice = await loginAs("alice@example.com");
  await alice.addInitScript(trackPcsInPage);
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);

  const bob = await firefoxMember(firefox, baseURL!, "bob@example.com");
  await firefoxJoin(bob, baseURL!, studyId);

  const carol = await loginAs("carol@example.com");
  await carol.addInitScript(trackPcsInPage);
  await openCallPage(carol, studyId);
  await clickJoin(carol);

  await expectFramesDecoding(bob, "Alice");
  await expectFramesDecoding(bob, "Carol");
  await expectFramesDecoding(alice, "Bob");
  await expectFramesDecoding(carol, "Bob");
  await expectFramesDecoding(alice, "Carol");
  await expectFramesDecoding(carol, "Alice");
  await expectAudioArriving(carol, "Bob");
  await expectAudioArriving(bob, "Carol");

  await firefoxClick(bob, "Leave call");
  await leaveCall(carol);
  await leaveCall(alice);
  await bob.browserContext().close();
});
