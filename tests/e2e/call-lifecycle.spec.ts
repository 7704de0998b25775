import { expect, test } from "./fixtures";
import {
  cameraOffAvatar,
  clickJoin,
  expectAudioFlowing,
  expectVideoFlowing,
  gridTiles,
  leaveCall,
  liveCameraTracks,
  openStudy,
  recordDeviceTracks,
  tile,
  trpcQuery,
  waitUntilNoCall,
} from "./media";

interface HistoryParticipant {
  name: string;
  secondsPresent: number;
  secondsMuted: number;
  secondsVideoOff: number;
  leaveReason: string | null;
}
interface History {
  sessions: Array<{ id: string; endedAt: string | null; duration: number | null; participants: HistoryParticipant[] }>;
}

test("scenario 1: start, join, mute, camera off, leave, and the call is on record", async ({ loginAs }) => {
  test.setTimeout(120_000);
  const alice = await loginAs("alice@example.com");
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);

  // Bob is already looking at the study page: the call must appear there without a reload.
  const bob = await loginAs("bob@example.com");
  await recordDeviceTracks(bob);
  await openStudy(bob);
  const bobPresence = bob.getByTestId("call-presence");
  await expect(bobPresence).toHaveText("No one is in the call");

  await alice.getByRole("link", { name: "Start call" }).click();
  await expect(alice).toHaveURL(/\/call$/);
  await expect(alice.getByRole("button", { name: "Start call" })).toBeEnabled();
  await clickJoin(alice);
  await expect(tile(alice, "Alice (you)")).toBeVisible();
  await expect(bobPresence).toHaveText("1 in call: Alice");

  // A second tab of Alice's on the study page follows the call live too.
  const aliceStudy = await alice.context().newPage();
  await aliceStudy.goto(`/studies/${studyId}`);
  await expect(aliceStudy.getByTestId("call-presence")).toHaveText("1 in call: Alice");

  await bob.getByRole("link", { name: "Join call" }).click();
  await expect(bob.getByRole("button", { name: "Join call" })).toBeEnabled();
  await clickJoin(bob);
  await expect(aliceStudy.getByTestId("call-presence")).toHaveText("2 in call: Alice, Bob");

  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");
  await expectAudioFlowing(alice, "Bob");
  await expectAudioFlowing(bob, "Alice");

  // Mute / unmute shows on the other side.
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toHaveCount(0);
  await alice.getByRole("button", { name: "Mute microphone" }).click();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toBeVisible();
  await expect(tile(alice, "Alice (you)").getByText("Muted", { exact: true })).toBeVisible();
  await alice.waitForTimeout(1_000); // so the muted time on record is clearly non-zero
  await alice.getByRole("button", { name: "Unmute microphone" }).click();
  await expect(tile(bob, "Alice").getByText("Muted", { exact: true })).toHaveCount(0);
  await expectAudioFlowing(bob, "Alice");

  // Camera off: the other side sees initials instead of a frozen or black picture, and Bob's
  // camera is really let go (its light would go out).
  expect(await liveCameraTracks(bob)).toBe(1);
  await bob.getByRole("button", { name: "Turn off camera" }).click();
  await expect(cameraOffAvatar(alice, "Bob")).toBeVisible();
  await expect(cameraOffAvatar(alice, "Bob")).toHaveText("B");
  await expect(tile(alice, "Bob").locator("video")).toBeHidden();
  await expect.poll(() => liveCameraTracks(bob)).toBe(0);
  await alice.waitForTimeout(1_000);
  await bob.getByRole("button", { name: "Turn on camera" }).click();
  await expect(cameraOffAvatar(alice, "Bob")).toHaveCount(0);
  await expectVideoFlowing(alice, "Bob");
  // His self-view shows the camera acquired anew.
  await expectVideoFlowing(bob, "Bob (you)");

  // Bob leaves: Alice's grid shrinks to her own tile, her study tab updates.
  await leaveCall(bob);
  await expect(gridTiles(alice)).toHaveCount(1);
  await expect(tile(alice, "Bob")).toHaveCount(0);
  await expect(aliceStudy.getByTestId("call-presence")).toHaveText("1 in call: Alice");
  await expect(bobPresence).toHaveCount(0); // Bob is on his call page's "You left" screen now

  await leaveCall(alice);
  await expect(aliceStudy.getByTestId("call-presence")).toHaveText("No one is in the call");

  const history = await trpcQuery<History>(alice, "videoCall.history", { studyId });
  const session = history.sessions[0]!;
  expect(session.endedAt).not.toBeNull();
  expect(session.duration).toBeGreaterThan(0);
  const byName = Object.fromEntries(session.participants.map((p) => [p.name, p]));
  expect(Object.keys(byName).sort()).toEqual(["Alice", "Bob"]);
  for (const p of session.participants) {
    expect(p.leaveReason).toBe("LEFT");
    expect(p.secondsPresent).toBeGreaterThan(0);
  }
  expect(byName.Alice!.secondsMuted).toBeGreaterThan(0);
  expect(byName.Bob!.secondsVideoOff).toBeGreaterThan(0);
});
