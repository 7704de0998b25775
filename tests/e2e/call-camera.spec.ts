import { expect, test } from "./fixtures";
import {
  cameraOffAvatar,
  clickJoin,
  expectVideoFlowing,
  leaveCall,
  openCallPage,
  openStudy,
  waitUntilNoCall,
} from "./media";

// Camera off lets go of the camera. A link made while it is off (Carol joining) carries a
// placeholder, and turning the camera back on swaps the new camera into every link at once.
test("a member joins while someone's camera is off: initials first, their video once it is back on", async ({
  loginAs,
}) => {
  test.setTimeout(120_000);
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  const bob = await loginAs("bob@example.com");
  await openCallPage(bob, studyId);
  await clickJoin(bob);
  await expectVideoFlowing(alice, "Bob");

  await bob.getByRole("button", { name: "Turn off camera" }).click();
  await expect(cameraOffAvatar(alice, "Bob")).toBeVisible();

  const carol = await loginAs("carol@example.com");
  await openCallPage(carol, studyId);
  await clickJoin(carol);
  await expectVideoFlowing(carol, "Alice");
  await expect(cameraOffAvatar(carol, "Bob")).toBeVisible();
  await expectVideoFlowing(bob, "Carol");

  await bob.getByRole("button", { name: "Turn on camera" }).click();
  await expect(cameraOffAvatar(carol, "Bob")).toHaveCount(0);
  await expectVideoFlowing(carol, "Bob");
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Bob (you)");

  for (const page of [carol, bob, alice]) await leaveCall(page);
});
