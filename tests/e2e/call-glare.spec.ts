import { expect, test } from "./fixtures";
import { expectVideoFlowing, joinButton, leaveCall, openCallPage, openStudy, tile, waitUntilNoCall } from "./media";

// Both start the call from an empty room at the same instant: both create-or-join the one session
// and get near-identical joinedAt values, the case where both sides could dial each other (glare).
test("scenario 2: two members pressing join at the same instant connect, three times over", async ({ loginAs }) => {
  test.setTimeout(150_000);
  const alice = await loginAs("alice@example.com");
  const bob = await loginAs("bob@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);

  for (let round = 1; round <= 3; round++) {
    await test.step(`round ${round}`, async () => {
      await Promise.all([openCallPage(alice, studyId), openCallPage(bob, studyId)]);
      await Promise.all([joinButton(alice).click(), joinButton(bob).click()]);
      await Promise.all([
        expect(alice.getByRole("button", { name: "Leave call" })).toBeVisible(),
        expect(bob.getByRole("button", { name: "Leave call" })).toBeVisible(),
      ]);
      await expectVideoFlowing(alice, "Bob");
      await expectVideoFlowing(bob, "Alice");
      // One link each way, no "Connecting…"/"Reconnecting" left over from a crossed dial.
      await expect(tile(alice, "Bob").getByRole("status")).toHaveCount(0);
      await expect(tile(bob, "Alice").getByRole("status")).toHaveCount(0);
      await Promise.all([leaveCall(alice), leaveCall(bob)]);
      await waitUntilNoCall(alice, studyId);
    });
  }
});
