import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { iceServersFor, turnCredentials } from "./turn.js";

const base = { STUN_URLS: "", TURN_URLS: "", TURN_TTL_SECONDS: 3600 };

describe("TURN credentials", () => {
  it("follows the TURN REST scheme coturn verifies", () => {
    const now = new Date("2026-11-27T12:00:00Z");
    const { username, credential } = turnCredentials("s3cret", "user-1", 3600, now);
    expect(username).toBe(`${Date.parse("2026-11-27T13:00:00Z") / 1000}:user-1`);
    expect(credential).toBe(createHmac("sha1", "s3cret").update(username).digest("base64"));
  });

  it("hands out nothing by default: no public STUN or TURN", () => {
    expect(iceServersFor(base, "u")).toEqual([]);
  });

  it("adds STUN as configured and TURN only with a secret", () => {
    expect(iceServersFor({ ...base, STUN_URLS: "stun:127.0.0.1:3478" }, "u")).toEqual([
      { urls: ["stun:127.0.0.1:3478"] },
    ]);
    expect(iceServersFor({ ...base, TURN_URLS: "turn:127.0.0.1:3478" }, "u")).toEqual([]);
    const servers = iceServersFor(
      { ...base, TURN_URLS: "turn:127.0.0.1:3478?transport=udp, turn:127.0.0.1:3478?transport=tcp", TURN_SECRET: "k" },
      "u",
    );
    expect(servers).toHaveLength(1);
    expect(servers[0]).toMatchObject({
      urls: ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"],
      username: expect.stringMatching(/^\d+:u$/),
    });
  });
});
