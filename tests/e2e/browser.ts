import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LaunchOptions } from "@playwright/test";

/** Launches Chromium without the right to raise its threads' priority (see the script). */
export const CHROMIUM_LAUNCHER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../scripts/chromium.sh",
);

/** Debian's Chromium with fake camera/microphone; Playwright cannot download its own browser here. */
export function chromiumLaunchOptions(extraArgs: string[] = []): LaunchOptions {
  return {
    executablePath: CHROMIUM_LAUNCHER,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--autoplay-policy=no-user-gesture-required",
      ...extraArgs,
    ],
  };
}
