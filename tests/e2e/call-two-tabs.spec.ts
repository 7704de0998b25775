import { expect, test } from "./fixtures";
import { clickJoin, expectVideoFlowing, openCallPage, openStudy, waitUntilNoCall } from "./media";

test("joining in a second tab: the first says so and can take the call back", async ({ loginAs }) => {
  test.setTimeout(90_000);
  const bob = await loginAs("bob@example.com");
  const studyId = await openStudy(bob);
  await waitUntilNoCall(bob, studyId);
  await openCallPage(bob, studyId);
  await clickJoin(bob);

  const alice = await loginAs("alice@example.com");
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  await expectVideoFlowing(bob, "Alice");

  // Alice opens the call again in a second tab of the same browser and joins there.
  const second = await alice.context().newPage();
  await openCallPage(second, studyId);
  await clickJoin(second);
  await expect(alice.getByText("You joined from another tab.")).toBeVisible();
  await expect(alice.getByText("You left the call.")).toHaveCount(0);
  await expectVideoFlowing(bob, "Alice");

  // Taking it back here hands the call over again, the other way round.
  await alice.getByRole("link", { name: "Take the call back here" }).click();
  await expect(alice).toHaveURL(new RegExp(`/studies/${studyId}/call$`));
  await clickJoin(alice);
  await expect(second.getByText("You joined from another tab.")).toBeVisible();
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");
});
