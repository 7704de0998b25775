import { expect, test } from "./fixtures";
import { expectAudioFlowing, expectVideoFlowing, joinCall, tile } from "./media";

test("two members see and hear each other", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await joinCall(alice);
  await expect(tile(alice, "Alice (you)")).toBeVisible();

  const bob = await loginAs("bob@example.com");
  await bob.getByRole("link", { name: "Algorithms Study" }).click();
  await expect(bob.getByTestId("call-presence")).toHaveText("1 in call: Alice");
  await joinCall(bob);

  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");
  await expectAudioFlowing(alice, "Bob");
  await expectAudioFlowing(bob, "Alice");
});
