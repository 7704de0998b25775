import { expect, test } from "./fixtures";
import {
  cameraOffAvatar,
  clickJoin,
  denyMediaDevices,
  expectAudioFlowing,
  expectVideoFlowing,
  leaveCall,
  openCallPage,
  openStudy,
  tile,
  waitUntilNoCall,
} from "./media";

test("scenario 3a: a non-member opening the call page gets the access denied page", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  const mallory = await loginAs("mallory@example.com");
  const res = await mallory.goto(`/studies/${studyId}/call`);
  expect(res?.status()).toBe(403);
  await expect(mallory.getByRole("heading", { name: "Access denied" })).toBeVisible();
  await expect(mallory.getByRole("button", { name: /call$/ })).toHaveCount(0);
  await expect(mallory.locator("video")).toHaveCount(0);
});

test("scenario 3b: camera and microphone blocked: told how to allow them, joins listen-only and still sees and hears", async ({
  loginAs,
}) => {
  test.setTimeout(90_000);
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);

  const carol = await loginAs("carol@example.com");
  await denyMediaDevices(carol);
  await carol.goto(`/studies/${studyId}/call`);
  const denied = carol.getByRole("alert");
  await expect(denied).toContainText("Camera and microphone are blocked");
  await expect(denied).toContainText("choose Allow");
  await expect(denied).toContainText("join without them to listen and watch");
  await expect(carol.getByRole("button", { name: "Try again" })).toBeVisible();

  await clickJoin(carol);
  await expectVideoFlowing(carol, "Alice");
  await expectAudioFlowing(carol, "Alice");
  // Alice sees Carol as a listener: initials and muted, not a black video.
  await expect(cameraOffAvatar(alice, "Carol")).toBeVisible();
  await expect(tile(alice, "Carol").getByText("Muted", { exact: true })).toBeVisible();
  await expect(tile(alice, "Carol").getByRole("status")).toHaveCount(0); // connected, not "Connecting…"

  await leaveCall(carol);
  await leaveCall(alice);
  await waitUntilNoCall(alice, studyId);
});
