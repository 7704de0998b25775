// Every message the call UI can show has an entry in docs/troubleshooting.md, and the call's
// components take their sentences and toasts from app/components/call/messages.ts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { createActor, fromCallback } from "xstate";
import { describe, expect, it } from "vitest";
import { CALL_MESSAGES, say, type CallMessage } from "../../app/components/call/messages";
import { chatMachine } from "../../machines/chat.machine";
import { typingLine } from "../../machines/chat.view";
import { participant } from "../../machines/test-utils";
import { CALL_LOCKED_TEXT, REMOVED_TEXT, callFullText, describePresence } from "../../machines/room-presence";

const root = join(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/troubleshooting.md"), "utf8");
const headings = doc.split("\n").filter((l) => l.startsWith("#"));

/** The placeholders filled the way the guide quotes them ("Connection to Bob lost"). */
const SAMPLE = {
  name: "Bob",
  /** Whoever acts on you (host controls: "{host} muted you"). */
  host: "Alice",
  attempt: 2,
  maxAttempts: 3,
  level: "poor",
  names: "Bob",
  message: "See you at five",
  file: "notes.pdf",
  status: 413,
  reason: "Write permission denied.",
};

/** Keys ending in "Help" are the explanation shown under the message of the same stem, not messages. */
const uiMessages = (Object.keys(CALL_MESSAGES) as CallMessage[])
  .filter((k) => !k.endsWith("Help"))
  .map((k) => [k, say(k, SAMPLE)] as const);

/** The chat machine's notices, taken from the machine itself. */
function chatNotices(): string[] {
  const machine = chatMachine.provide({
    actors: {
      uploadFile: fromCallback(({ sendBack }) => {
        sendBack({ type: "UPLOAD.FAILED", message: say("chatUploadNetwork") });
      }),
    },
  });
  const input = { studyId: "s", sessionId: "c", selfId: "u", maxUploadBytes: 25 * 1024 * 1024, newClientId: () => "k" };
  const actor = createActor(machine, { input }).start();
  actor.send({ type: "ATTACH", file: { name: "notes.pdf", size: 30 * 1024 * 1024 } });
  const tooBig = actor.getSnapshot().context.notice;
  actor.send({ type: "ATTACH", file: { name: "notes.pdf", size: 1024 } });
  const failed = actor.getSnapshot().context.notice;
  actor.stop();
  return [tooBig, failed].filter((n): n is string => n !== null);
}

const session = {
  id: "c",
  roomId: "r",
  startedAt: "2026-01-01T00:00:00.000Z",
  startedBy: "a",
  participants: [
    participant("pa", "2026-01-01T00:00:00.000Z", { name: "Alice" }),
    participant("pb", "2026-01-01T00:00:01.000Z", { name: "Bob" }),
  ],
  onlineCount: 2,
};

const machineMessages = (): Array<readonly [string, string]> => [
  ["callFullText", callFullText(6)],
  ["REMOVED_TEXT", REMOVED_TEXT],
  ["CALL_LOCKED_TEXT", CALL_LOCKED_TEXT],
  ["describePresence (empty)", describePresence(null)],
  ["describePresence", describePresence(session)],
  ["typingLine", typingLine({ u: "Bob" })!],
  ...chatNotices().map((n, i) => [`chat notice ${i + 1}`, n] as const),
];

describe("docs/troubleshooting.md", () => {
  it.each([...uiMessages, ...machineMessages()])("has an entry for %s: “%s”", (_key, text) => {
    expect(headings.some((h) => h.includes(text))).toBe(true);
  });

  it("reads the chat machine's two notices", () => {
    expect(chatNotices()).toEqual([
      "“notes.pdf” is 30 MB; files can be at most 25 MB.",
      "“notes.pdf” was not uploaded: the connection failed",
    ]);
  });
});

function callSources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return callSources(path);
    if (!/\.tsx?$/.test(e.name) || e.name.endsWith(".test.ts") || path.endsWith("/messages.ts")) return [];
    return [path];
  });
}

/** A sentence: starts with a capital, has a space, ends like a sentence ("…", ".", "!", "?"). */
const SENTENCE = /^[A-Z“"'][\s\S]*\s[\s\S]*[.…!?]$/;

describe("app/components/call", () => {
  const findings: string[] = [];
  for (const path of callSources("app/components/call")) {
    const source = ts.createSourceFile(path, readFileSync(join(root, path), "utf8"), ts.ScriptTarget.Latest, true);
    const where = (n: ts.Node) => `${path}:${source.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
    const visit = (n: ts.Node) => {
      if (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) return;
      if (ts.isCallExpression(n)) {
        const callee = n.expression.getText(source);
        const first = n.arguments[0];
        if (/^toast(\.\w+)?$/.test(callee) && callee !== "toast.dismiss" && first && isLiteralText(first))
          findings.push(`${where(n)} toast with its own text: ${first.getText(source)}`);
      }
      const text = ts.isJsxText(n)
        ? n.text.trim()
        : ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)
          ? n.text
          : ts.isTemplateExpression(n)
            ? n.getText(source).slice(1, -1)
            : null;
      if (text && SENTENCE.test(text)) findings.push(`${where(n)} a sentence of its own: ${JSON.stringify(text)}`);
      ts.forEachChild(n, visit);
    };
    visit(source);
  }

  it("takes every sentence and toast from messages.ts", () => {
    expect(findings).toEqual([]);
  });
});

function isLiteralText(n: ts.Expression): boolean {
  return ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n);
}
