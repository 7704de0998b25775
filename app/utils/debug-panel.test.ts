import { afterEach, describe, expect, it, vi } from "vitest";
import { debugPanelRequested } from "./debug-panel";

describe("debugPanelRequested", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("is on only with ?debug=1", () => {
    expect(debugPanelRequested("http://x/studies/1/call?debug=1")).toBe(true);
    expect(debugPanelRequested("http://x/studies/1/call?debug=0")).toBe(false);
    expect(debugPanelRequested("http://x/studies/1/call")).toBe(false);
  });

  it("stays off in development mode unless asked for (npm start runs in development)", () => {
    vi.stubEnv("NODE_ENV", "development");
    expect(debugPanelRequested("http://x/studies/1/call")).toBe(false);
    expect(debugPanelRequested("http://x/studies/1/call?debug=1")).toBe(true);
  });
});
