/** `npm run docs:machines`: writes docs/machines/*.md from the machine definitions (scripts/machine-docs.ts). */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { machineDocFiles } from "./machine-docs";

for (const file of machineDocFiles()) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content);
  console.log(`wrote ${file.path}`);
}
