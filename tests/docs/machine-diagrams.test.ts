// The committed machine diagrams (docs/machines/*.md) match the machines as they are now.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MACHINE_DOCS, MACHINE_DOCS_DIR, machineDocFiles } from "../../scripts/machine-docs";

const root = join(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(`${dir}/${e.name}`)
      : e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")
        ? [`${dir}/${e.name}`]
        : [],
  );
}

describe("docs/machines", () => {
  it.each(machineDocFiles().map((f) => [f.path, f.content]))(
    "%s is up to date (run `npm run docs:machines` after changing a machine)",
    (path, content) => {
      expect(readFileSync(join(root, path), "utf8")).toBe(content);
    },
  );

  it("holds exactly the generated files", () => {
    const committed = readdirSync(join(root, MACHINE_DOCS_DIR)).sort();
    expect(committed).toEqual(
      machineDocFiles()
        .map((f) => f.path.split("/").pop())
        .sort(),
    );
  });

  it("covers every machine defined in machines/", () => {
    const defining = sourceFiles("machines").filter((f) =>
      /\.createMachine\(/.test(readFileSync(join(root, f), "utf8")),
    );
    expect(defining.length).toBeGreaterThanOrEqual(3);
    expect(defining.sort()).toEqual(MACHINE_DOCS.map((e) => e.source).sort());
  });
});
