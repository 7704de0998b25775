/** The in-call Inspector (?debug=1, issue 17 §2): state trees with the active states, peers, events, "Copy snapshot". */
import { expect, test } from "./fixtures";
import { clickJoin, joinButton, leaveCall, openStudy, waitUntilNoCall } from "./media";

interface Snapshot {
  machines: {
    call: { value: { inCall?: Record<string, unknown> } };
    peers: Record<string, { value: unknown; context: { remote: { name: string } } }>;
    chat: { value: { history: string } };
  };
  events: Array<{ actor: string; type: string }>;
}

test("the Inspector marks the active states, lists peers with their trees and copies a snapshot", async ({
  loginAs,
}) => {
  const alice = await loginAs("alice@example.com", {
    permissions: ["camera", "microphone", "clipboard-read", "clipboard-write"],
  });
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await alice.goto(`/studies/${studyId}/call?debug=1`);
  await expect(joinButton(alice)).toBeEnabled();
  await clickJoin(alice);
  const bob = await loginAs("bob@example.com");
  await bob.goto(`/studies/${studyId}/call`);
  await expect(joinButton(bob)).toBeEnabled();
  await clickJoin(bob);

  const panel = alice.getByRole("region", { name: "Debug panel" });
  await expect(panel).toBeVisible();
  const callTree = panel.getByRole("list", { name: "Call machine states" });
  const state = (path: string) => callTree.locator(`li[data-state-path="${path}"]`);
  await expect(state("inCall")).toHaveAttribute("aria-current", "true");
  await expect(state("inCall.audio.on")).toHaveAttribute("aria-current", "true");
  await expect(state("prejoin")).not.toHaveAttribute("aria-current", "true");
  // A state that is not active is still in the tree (the whole machine), e.g. where a failed join goes.
  await expect(state("joinFailed")).toBeAttached();

  await alice.getByRole("button", { name: "Mute microphone" }).click();
  await expect(state("inCall.audio.off")).toHaveAttribute("aria-current", "true");
  await expect(state("inCall.audio.on")).not.toHaveAttribute("aria-current", "true");
  await expect(panel.getByRole("listitem").filter({ hasText: /← TOGGLE_AUDIO$/ })).toHaveCount(1);

  // Bob's peer machine: a collapsed entry; expanded, its own tree with the link up.
  const bobPeer = panel.getByTestId("peer-debug").filter({ hasText: "Bob" });
  await expect(bobPeer).toHaveCount(1);
  await expect(bobPeer.locator("summary")).toContainText("connected");
  const peerTree = bobPeer.getByRole("list", { name: "Peer machine states for Bob" });
  await expect(peerTree).toBeHidden();
  await bobPeer.locator("summary").click();
  await expect(peerTree.locator('li[data-state-path="media.connected"]')).toHaveAttribute("aria-current", "true");
  await expect(peerTree.locator('li[data-state-path="lost"]')).not.toHaveAttribute("aria-current", "true");

  await panel.getByRole("button", { name: "Copy snapshot" }).click();
  await expect(panel.getByRole("status")).toHaveText("Snapshot copied to the clipboard.");
  const copied = JSON.parse(await alice.evaluate(() => navigator.clipboard.readText())) as Snapshot;
  expect(copied.machines.call.value.inCall).toMatchObject({ audio: "off", signaling: "online", room: "live" });
  const peers = Object.values(copied.machines.peers);
  expect(peers.map((p) => [p.context.remote.name, p.value])).toEqual([["Bob", { media: "connected" }]]);
  expect(copied.machines.chat.value.history).toBe("ready");
  expect(copied.events.map((e) => e.type)).toContain("TOGGLE_AUDIO");
  // Media and actor references are named, never serialised into the report.
  expect(JSON.stringify(copied)).not.toMatch(/"srcObject"|"getTracks"/);

  await leaveCall(bob);
  await expect(bobPeer).toHaveCount(0);
  await leaveCall(alice);
});
