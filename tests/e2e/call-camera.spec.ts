import { expect, test } from "./fixtures";
import {
  aliceStartsBobJoins,
  cameraOffAvatar,
  clickJoin,
  expectVideoFlowing,
  leaveCall,
  liveCameraTracks,
  openCallPage,
  recordDeviceTracks,
} from "./media";

// Camera off lets go of the camera. A link made while it is off (Carol joining) carries a
// placeholder, and turning the camera back on swaps the new camera into every link at once.
// Four members on two cores: each step waits for video that really decodes.
test("cameras turned off, in the call or before joining, are let go; others see initials, then video again", async ({
  loginAs,
}) => {
  test.setTimeout(120_000);
  const { alice, bob, studyId } = await aliceStartsBobJoins(loginAs);
  await expectVideoFlowing(alice, "Bob");

  await bob.getByRole("button", { name: "Turn off camera" }).click();
  await expect(cameraOffAvatar(alice, "Bob")).toBeVisible();

  const carol = await loginAs("carol@example.com");
  await openCallPage(carol, studyId);
  await clickJoin(carol);
  await expectVideoFlowing(carol, "Alice");
  await expect(cameraOffAvatar(carol, "Bob")).toBeVisible();
  await expectVideoFlowing(bob, "Carol");

  // Dave turns his camera off on the pre-join screen: the preview lets go of it, and he joins
  // with it off; turned on in the call, it is asked for again.
  const dave = await loginAs("dave@example.com");
  await recordDeviceTracks(dave);
  await openCallPage(dave, studyId);
  await expect.poll(() => liveCameraTracks(dave)).toBe(1);
  await dave.getByRole("button", { name: "Turn off camera" }).click();
  await expect.poll(() => liveCameraTracks(dave)).toBe(0);
  await clickJoin(dave);
  await expect(cameraOffAvatar(alice, "Dave")).toBeVisible();
  await expectVideoFlowing(dave, "Alice");
  expect(await liveCameraTracks(dave)).toBe(0);
  await dave.getByRole("button", { name: "Turn on camera" }).click();
  await expectVideoFlowing(alice, "Dave");

  await bob.getByRole("button", { name: "Turn on camera" }).click();
  await expect(cameraOffAvatar(carol, "Bob")).toHaveCount(0);
  await expectVideoFlowing(carol, "Bob");
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Bob (you)");

  for (const page of [dave, carol, bob, alice]) await leaveCall(page);
});
