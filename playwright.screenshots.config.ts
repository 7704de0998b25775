// `npm run screenshots`: the call room for the user guide, written to docs/screenshots/ (not a test suite).
import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

export default defineConfig({
  ...base,
  testDir: "tests/screenshots",
  testMatch: "**/*.screens.ts",
  timeout: 300_000,
  reporter: [["list"]],
});
