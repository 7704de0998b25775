import { describe, expect, it } from "vitest";
import { sanitizeFileName } from "./inputs.js";

describe("sanitizeFileName", () => {
  it("keeps only the last path segment, without control characters", () => {
    expect(sanitizeFileName("../../etc/passwd")).toBe("passwd");
    expect(sanitizeFileName("C:\\Users\\me\\notes.txt")).toBe("notes.txt");
    expect(sanitizeFileName("a\u0000b\u0007c\u001b.txt")).toBe("abc.txt");
    expect(sanitizeFileName("..hidden")).toBe("hidden");
    expect(sanitizeFileName("   ")).toBe("file");
    expect(sanitizeFileName("dir/")).toBe("file");
  });

  it("trims to 255 UTF-8 bytes and keeps the extension", () => {
    const name = sanitizeFileName(`${"é".repeat(300)}.pdf`);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name.endsWith(".pdf")).toBe(true);
    expect(name.startsWith("éé")).toBe(true);
  });
});
