import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "machines/**/*.test.ts",
      "app/**/*.test.ts",
      "server/**/*.test.ts",
      "db/**/*.test.ts",
      "tests/integration/**/*.test.ts",
      "tests/docs/**/*.test.ts",
    ],
    environment: "node",
    globalSetup: ["tests/setup/global-db.ts"],
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: "test" },
  },
});
