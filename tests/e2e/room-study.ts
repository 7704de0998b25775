/** A study anyone joins without approval, for calls of more than the four demo members. */
import type { Page } from "@playwright/test";
import { expect } from "./fixtures";

/** A study of Mallory's (no approval needed) that `emails` join with its invite code. */
export async function roomStudy(loginAs: (email: string) => Promise<Page>, emails: string[]) {
  const owner = await loginAs("mallory@example.com");
  await owner.goto("/studies");
  await owner.getByLabel("Study name").fill("Room Study");
  await owner.getByRole("button", { name: "Create study" }).click();
  await expect(owner.getByRole("heading", { name: "Room Study" })).toBeVisible();
  const code = (await owner.getByTestId("invite-code").textContent())!.trim();
  const studyId = /\/studies\/([^/?#]+)/.exec(owner.url())![1]!;
  const pages = [owner];
  for (const email of emails) {
    const page = await loginAs(email);
    await page.goto("/studies");
    await page.getByLabel("Invite code").fill(code);
    await page.getByRole("button", { name: "Join study" }).click();
    await expect(page.getByRole("heading", { name: "Room Study" })).toBeVisible();
    pages.push(page);
  }
  return { pages, studyId, code };
}
