import { describe, expect, it } from "vitest";
import { initials } from "./initials";

describe("initials", () => {
  it("takes the first letter of the first two words, upper-cased", () => {
    expect(initials("alice  cooper smith")).toBe("AC");
    expect(initials("  Bob ")).toBe("B");
    expect(initials("")).toBe("");
  });

  it("keeps an emoji whole, including skin tones and ZWJ sequences", () => {
    expect(initials("Zoë 🦊👩🏽‍💻")).toBe("Z🦊");
    expect(initials("👩🏽‍💻 Dev")).toBe("👩🏽‍💻D");
    expect(initials("👨‍👩‍👧‍👦 family")).toBe("👨‍👩‍👧‍👦F");
    expect(initials("👍🏿 ok")).toBe("👍🏿O");
    expect(initials("🇩🇪 Berlin")).toBe("🇩🇪B");
  });

  it("never returns a lone surrogate", () => {
    for (const name of ["Zoë 🦊👩🏽‍💻", "🦊", "𝒜lice 𝔅ob"]) {
      expect(initials(name)).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u);
    }
  });

  it("keeps a letter with its combining marks (decomposed form)", () => {
    const decomposedEmile = "E\u0301mile Zola"; // É written as E + combining acute
    expect(initials(decomposedEmile)).toBe("E\u0301Z");
    expect(initials("a\u0308\u0301bc d")).toBe("A\u0308\u0301D");
  });

  it("takes whole Korean syllables, also when written as separate jamo", () => {
    expect(initials("김 민준")).toBe("김민");
    const jamo = "\u1100\u1161\u11A8 x"; // 각 as three conjoining jamo
    expect(initials(jamo)).toBe("\u1100\u1161\u11A8X");
  });

  it("takes RTL names in logical order", () => {
    expect(initials("محمد علي")).toBe("مع");
    expect(initials("שרה כהן")).toBe("שכ");
  });
});
