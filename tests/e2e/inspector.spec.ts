/**
 * The in-call Inspector (?debug=1, issue 17 §2): machine diagrams with the active states
 * highlighted and their state trees as text, peers, events, "Copy snapshot"; and the diagram
 * drawer (Mermaid) downloaded only for it.
 */
import type { Locator, Page } from "@playwright/test";
import { mermaidId } from "../../machines/diagram";
import { expect, test } from "./fixtures";
import { clickJoin, joinButton, leaveCall, openCallPage, openStudy, waitUntilNoCall } from "./media";

/** Mermaid's chunk in the build (esbuild names it after its entry, mermaid.core.mjs). */
const MERMAID_CHUNK = /\/build\/_shared\/mermaid\.core-[A-Z0-9]+\.js$/;

/**
 * The states a diagram highlights, read from its SVG (the nodes and boxes carrying the `active`
 * class, named by their Mermaid ids), and those its state tree marks active, as Mermaid ids.
 */
async function highlighted(diagram: Locator, tree: Locator, machineId: string) {
  const drawn = await diagram.evaluate((el) =>
    [...el.querySelectorAll("svg g.active")].map(
      // Boxes (composite states) carry their id in data-id; nodes in their element id ("…-state-<id>-7").
      (g) => (g as SVGGElement).dataset.id ?? g.id.replace(/^.*?-state-/, "").replace(/-\d+$/, ""),
    ),
  );
  const marked = await tree
    .locator('li[aria-current="true"]')
    .evaluateAll((lis) => lis.map((li) => (li as HTMLElement).dataset.statePath!));
  return { drawn: drawn.sort(), marked: marked.map((p) => mermaidId(machineId, p)).sort() };
}

/** Waits until the diagram highlights exactly what the tree marks; returns the highlighted ids. */
async function expectDiagramMatchesTree(diagram: Locator, tree: Locator, machineId: string) {
  await expect
    .poll(async () => {
      const { drawn, marked } = await highlighted(diagram, tree, machineId);
      return {
        onlyDrawn: drawn.filter((id) => !marked.includes(id)),
        onlyMarked: marked.filter((id) => !drawn.includes(id)),
      };
    })
    .toEqual({ onlyDrawn: [], onlyMarked: [] });
  return (await highlighted(diagram, tree, machineId)).drawn;
}

function jsRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on("request", (r) => {
    if (r.resourceType() === "script" || r.url().endsWith(".js")) urls.push(new URL(r.url()).pathname);
  });
  return urls;
}

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
  const aliceScripts = jsRequests(alice);
  await alice.goto(`/studies/${studyId}/call?debug=1`);
  await expect(joinButton(alice)).toBeEnabled();
  await clickJoin(alice);
  const bob = await loginAs("bob@example.com");
  await bob.goto(`/studies/${studyId}/call`);
  await expect(joinButton(bob)).toBeEnabled();
  await clickJoin(bob);

  const panel = alice.getByRole("region", { name: "Debug panel" });
  await expect(panel).toBeVisible();
  // The call machine's diagram: Mermaid's SVG, the active states highlighted.
  const callDiagram = panel.getByRole("img", { name: "Call machine diagram" });
  await expect(callDiagram.locator("svg")).toBeVisible();
  expect(aliceScripts.filter((u) => MERMAID_CHUNK.test(u))).toHaveLength(1);
  // Its text alternative: the state tree, behind "States as text" (the first such entry is the call's).
  await panel.getByText("States as text").first().click();
  const callTree = panel.getByRole("list", { name: "Call machine states" });
  const state = (path: string) => callTree.locator(`li[data-state-path="${path}"]`);
  await expect(state("inCall")).toHaveAttribute("aria-current", "true");
  await expect(state("inCall.audio.on")).toHaveAttribute("aria-current", "true");
  await expect(state("prejoin")).not.toHaveAttribute("aria-current", "true");
  // A state that is not active is still in the tree (the whole machine), e.g. where a failed join goes.
  await expect(state("joinFailed")).toBeAttached();
  // The diagram highlights exactly the active states: leaves, their regions and inCall, nothing else.
  const unmuted = await expectDiagramMatchesTree(callDiagram, callTree, "call");
  expect(unmuted).toEqual(expect.arrayContaining(["call_inCall", "call_inCall_audio", "call_inCall_audio_on"]));
  expect(unmuted).not.toContain("call_inCall_audio_off");
  expect(unmuted).not.toContain("call_prejoin");
  // Every state is drawn, active or not.
  await expect(callDiagram.locator("svg g[id*='-state-call_joinFailed-']")).toHaveCount(1);

  await alice.getByRole("button", { name: "Mute microphone" }).click();
  await expect(state("inCall.audio.off")).toHaveAttribute("aria-current", "true");
  await expect(state("inCall.audio.on")).not.toHaveAttribute("aria-current", "true");
  await expect(panel.getByRole("listitem").filter({ hasText: /← TOGGLE_AUDIO$/ })).toHaveCount(1);
  // The diagram follows: the audio region's highlight moves from on to off.
  const muted = await expectDiagramMatchesTree(callDiagram, callTree, "call");
  expect(muted).toContain("call_inCall_audio_off");
  expect(muted).not.toContain("call_inCall_audio_on");

  // Bob's peer machine: a collapsed entry; expanded, its stats, its own diagram and tree with the link up.
  const bobPeer = panel.getByTestId("peer-debug").filter({ hasText: "Bob" });
  await expect(bobPeer).toHaveCount(1);
  const bobSummary = bobPeer.locator("> summary");
  await expect(bobSummary).toContainText("connected");
  const peerDiagram = bobPeer.getByRole("img", { name: "Peer machine diagram for Bob" });
  const peerTree = bobPeer.getByRole("list", { name: "Peer machine states for Bob" });
  await expect(peerDiagram).toBeHidden();
  await expect(peerTree).toBeHidden();
  await bobSummary.click();
  await expect(peerDiagram.locator("svg")).toBeVisible();
  await bobPeer.getByText("States as text").click();
  await expect(peerTree.locator('li[data-state-path="media.connected"]')).toHaveAttribute("aria-current", "true");
  await expect(peerTree.locator('li[data-state-path="lost"]')).not.toHaveAttribute("aria-current", "true");
  const peerActive = await expectDiagramMatchesTree(peerDiagram, peerTree, "peer");
  expect(peerActive).toEqual(["peer_media", "peer_media_connected"]);

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

test("a call page without ?debug=1 never downloads the diagram drawer", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  const bob = await loginAs("bob@example.com");
  const scripts = [...[alice, bob].map(jsRequests)];
  const studyId = await openStudy(alice);
  await waitUntilNoCall(alice, studyId);
  await openCallPage(alice, studyId);
  await clickJoin(alice);
  await openCallPage(bob, studyId);
  await clickJoin(bob);
  await expect(alice.getByRole("group", { name: "Bob", exact: true }).locator("video")).toBeVisible();
  // Everything a member meets in a call: the side panel's tabs, muting, leaving.
  await alice.getByRole("button", { name: "People" }).click();
  await alice.getByRole("button", { name: "Mute microphone" }).click();
  await expect(alice.getByRole("tab", { name: "Inspector" })).toHaveCount(0);
  await leaveCall(bob);
  await leaveCall(alice);
  for (const urls of scripts) {
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((u) => MERMAID_CHUNK.test(u))).toEqual([]);
  }
});
