// Pre-warmed signaling (issue #16 §2): the pre-join screen opens the PeerServer socket on a grant before the
// click, the join takes that socket over (no second one), and media flows; without a grant the join works cold.
import type { Page, WebSocket } from "@playwright/test";
import { expect, test } from "./fixtures";
import {
  clickJoin,
  expectAudioFlowing,
  expectVideoFlowing,
  joinCall,
  openCallPage,
  openStudy,
  trpcQuery,
} from "./media";

/** The id every PeerServer socket the page opens asks for, in order. */
function signalingSockets(page: Page) {
  const ids: string[] = [];
  const open: WebSocket[] = [];
  page.on("websocket", (ws) => {
    const id = new URL(ws.url()).searchParams.get("id");
    if (!ws.url().includes("/peerjs/peerjs") || !id) return;
    ids.push(id);
    open.push(ws);
    ws.on("close", () => open.splice(open.indexOf(ws), 1));
  });
  return { ids, open };
}

interface Status {
  session: { participants: Array<{ name: string; peerId: string }> } | null;
}

test("the join takes over the socket the pre-join screen opened, and media flows", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  const sockets = signalingSockets(bob);
  const studyId = await openStudy(bob);
  await openCallPage(bob, studyId);
  // Warm before the click: one socket, opened with an opaque grant, and Bob is not in the call yet.
  await expect.poll(() => sockets.ids.length).toBe(1);
  expect(sockets.ids[0]).toMatch(/^g[0-9a-f]{32}$/);
  let status = await trpcQuery<Status>(bob, "videoCall.status", { studyId });
  expect(status.session?.participants.map((p) => p.name)).toEqual(["Alice"]);

  await clickJoin(bob);
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");
  await expectAudioFlowing(alice, "Bob");
  await expectAudioFlowing(bob, "Alice");
  // No second socket: the call runs on the warm one, under a peer id the grant does not reveal.
  expect(sockets.ids).toHaveLength(1);
  expect(sockets.open).toHaveLength(1);
  status = await trpcQuery<Status>(bob, "videoCall.status", { studyId });
  const bobsPeerId = status.session?.participants.find((p) => p.name === "Bob")?.peerId;
  expect(bobsPeerId).toMatch(/^p[0-9a-f]{32}$/);
  expect(bobsPeerId).not.toBe(sockets.ids[0]);
});

test("with no pre-join grant the join opens its socket after the click, as before", async ({ loginAs }) => {
  const alice = await loginAs("alice@example.com");
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  await bob.route(/\/api\/trpc\/[^?]*prepareJoin/, (route) =>
    route.fulfill({ status: 503, contentType: "application/json", body: "{}" }),
  );
  const sockets = signalingSockets(bob);
  const studyId = await openStudy(bob);
  await openCallPage(bob, studyId);
  await bob.waitForTimeout(500);
  expect(sockets.ids).toEqual([]);
  await clickJoin(bob);
  await expectVideoFlowing(alice, "Bob");
  await expectVideoFlowing(bob, "Alice");
  expect(sockets.ids).toHaveLength(1);
  expect(sockets.ids[0]).toMatch(/^p[0-9a-f]{32}$/);
});
