import { describe, expect, it } from "vitest";
import { memberCount } from "./plural";

describe("memberCount", () => {
  it("says member for one and members otherwise", () => {
    expect(memberCount(1)).toBe("1 member");
    expect(memberCount(0)).toBe("0 members");
    expect(memberCount(2)).toBe("2 members");
    expect(memberCount(1200)).toBe("1,200 members");
  });
});
