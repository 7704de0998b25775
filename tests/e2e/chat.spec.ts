import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Page, Request } from "@playwright/test";
import { expect, test } from "./fixtures";
import { joinCall } from "./media";

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * How many `videoCall.events` streams the page holds open: requests started and neither finished
 * nor failed (a closed EventSource counts as failed). Watch before the page navigates.
 */
function openEventStreams(page: Page): () => number {
  const open = new Set<Request>();
  page.on("request", (r) => {
    if (r.url().includes("/api/trpc/videoCall.events")) open.add(r);
  });
  page.on("requestfinished", (r) => open.delete(r));
  page.on("requestfailed", (r) => open.delete(r));
  return () => open.size;
}

test("chat in the call: delivery, unread, read receipts, typing, late joiner and file sharing", async ({ loginAs }) => {
  test.setTimeout(120_000);
  const alice = await loginAs("alice@example.com");
  const aliceStreams = openEventStreams(alice);
  await joinCall(alice);
  const bob = await loginAs("bob@example.com");
  const bobStreams = openEventStreams(bob);
  await joinCall(bob);
  // The call, its chat and the page's presence summary share one event stream per tab.
  await expect.poll(aliceStreams).toBe(1);
  await expect.poll(bobStreams).toBe(1);

  // Alice writes; Bob, with his panel closed, gets it live (how fast is bench:chat's business, not a test's).
  await alice.getByRole("button", { name: "Chat", exact: true }).click();
  await expect(alice.getByRole("button", { name: "Chat", exact: true })).toHaveAttribute("aria-pressed", "true");
  const aliceLog = alice.getByRole("log", { name: "Messages" });
  await alice.getByRole("textbox", { name: "Message" }).fill("Hello from Alice <script>alert(1)</script>");
  await alice.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(bob.getByRole("button", { name: "Chat (1 unread)" })).toBeVisible();
  await expect(bob.getByText("Alice: Hello from Alice")).toBeVisible();
  await expect(aliceLog.getByText("Hello from Alice <script>alert(1)</script>")).toBeVisible();
  await expect(aliceLog.getByText("Sending…")).toHaveCount(0);

  // Bob opens the panel and reads it: Alice sees "Seen by Bob".
  await bob.getByRole("button", { name: "Chat (1 unread)" }).click();
  const bobLog = bob.getByRole("log", { name: "Messages" });
  await expect(bobLog.getByText("Hello from Alice <script>alert(1)</script>")).toBeVisible();
  await expect(aliceLog.getByText("Seen by Bob")).toBeVisible({ timeout: 5_000 });
  await expect(bob.getByRole("button", { name: "Chat", exact: true })).toBeVisible();

  // Bob types: Alice sees it, and it goes away on its own when he stops.
  await bob.getByRole("textbox", { name: "Message" }).pressSequentially("thinking", { delay: 20 });
  await expect(alice.getByText("Bob is typing…")).toBeVisible({ timeout: 2_000 });
  await expect(alice.getByText("Bob is typing…")).toBeHidden({ timeout: 7_000 });
  await bob.getByRole("textbox", { name: "Message" }).fill("");

  // And the other way (after the typing notice: typing is throttled per 3 s): Bob answers, Alice (panel open) gets it live, and Bob sees "Seen by Alice".
  await bob.getByRole("textbox", { name: "Message" }).fill("Bob here, reading along");
  await bob.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(aliceLog.getByText("Bob here, reading along")).toBeVisible();
  await expect(bobLog.getByText("Seen by Alice")).toBeVisible({ timeout: 5_000 });
  await expect(bobLog.getByText("Sending…")).toHaveCount(0);
  // Still one stream each, with the chat live both ways on it.
  expect(aliceStreams()).toBe(1);
  expect(bobStreams()).toBe(1);

  // Carol joins late and sees what was said before.
  const carol = await loginAs("carol@example.com");
  await joinCall(carol);
  await carol.getByRole("button", { name: /^Chat/ }).click();
  const carolLog = carol.getByRole("log", { name: "Messages" });
  await expect(carolLog.getByText("Hello from Alice <script>alert(1)</script>")).toBeVisible();

  // Bob shares a file; Carol downloads exactly those bytes.
  const bytes = randomBytes(200_000);
  await bob
    .getByLabel("File to share")
    .setInputFiles({ name: "notes.bin", mimeType: "application/octet-stream", buffer: bytes });
  const link = carolLog.getByRole("link", { name: "Download" });
  await expect(link).toBeVisible({ timeout: 10_000 });
  await expect(carolLog.getByText("notes.bin")).toBeVisible();
  const [download] = await Promise.all([carol.waitForEvent("download"), link.click()]);
  expect(download.suggestedFilename()).toBe("notes.bin");
  expect(sha256(await readFile((await download.path())!))).toBe(sha256(bytes));

  // An image gets a thumbnail (served same-origin, within the page's CSP).
  const png = Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082",
    "hex",
  );
  await bob.getByLabel("File to share").setInputFiles({ name: "pixel.png", mimeType: "image/png", buffer: png });
  const thumb = carolLog.locator("img.chat-thumb");
  await expect(thumb).toHaveCount(1, { timeout: 10_000 });
  await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1);

  // A send that can't get through is retried with its clientId, then offered again; it arrives once.
  const chatSend = /\/api\/trpc\/[^?]*chat\.send/;
  await alice.route(chatSend, (route) => route.abort("internetdisconnected"));
  await alice.getByRole("textbox", { name: "Message" }).fill("through the blip");
  await alice.getByRole("button", { name: "Send" }).click();
  await expect(aliceLog.getByText("Sending…")).toBeVisible();
  await expect(aliceLog.getByText("Not sent —")).toBeVisible({ timeout: 15_000 });
  await alice.unroute(chatSend);
  await aliceLog.getByRole("button", { name: "Retry" }).click();
  await expect(aliceLog.getByText("Not sent —")).toHaveCount(0);
  await expect(carolLog.getByText("through the blip")).toHaveCount(1);
  await expect(bobLog.getByText("through the blip")).toHaveCount(1);
});
