import { describe, expect, it } from "vitest";
import { isTypingTarget, SHORTCUTS, shortcutFor, type KeyPress } from "./keymap";

const press = (key: string, extra: Partial<KeyPress> = {}): KeyPress => ({
  key,
  repeat: false,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  target: { tagName: "BODY" },
  ...extra,
});
const on = { singleKeys: true };

describe("shortcutFor", () => {
  it("maps the single keys of the table", () => {
    expect(["m", "v", "s", "h", "p", "c", "l", " "].map((k) => shortcutFor(press(k), on)?.action)).toEqual([
      "mic",
      "camera",
      "share",
      "hand",
      "people",
      "chat",
      "layout",
      "push-to-talk",
    ]);
    expect(shortcutFor(press("M", { shiftKey: false }), on)?.action).toBe("mic"); // Caps Lock
    expect(shortcutFor(press("?", { shiftKey: true }), on)?.action).toBe("help");
  });
  it("never fires while focus is in a text field, textarea, select or contenteditable", () => {
    for (const target of [
      { tagName: "INPUT" },
      { tagName: "textarea" },
      { tagName: "SELECT" },
      { tagName: "DIV", isContentEditable: true },
      { tagName: "DIV", getAttribute: (n: string) => (n === "role" ? "textbox" : null) },
    ]) {
      expect(shortcutFor(press("m", { target }), on)).toBeNull();
      expect(shortcutFor(press("d", { target, ctrlKey: true }), on)).toBeNull();
      expect(isTypingTarget(target)).toBe(true);
    }
  });
  it("leaves Space to a focused button (it presses it), but talks from anywhere else", () => {
    expect(shortcutFor(press(" ", { target: { tagName: "BUTTON" } }), on)).toBeNull();
    expect(shortcutFor(press(" ", { target: { tagName: "summary" } }), on)).toBeNull();
    expect(shortcutFor(press("m", { target: { tagName: "BUTTON" } }), on)?.action).toBe("mic");
  });
  it("ignores auto-repeat", () => {
    expect(shortcutFor(press(" ", { repeat: true }), on)).toBeNull();
    expect(shortcutFor(press("m", { repeat: true }), on)).toBeNull();
  });
  it("ignores single keys with other modifiers", () => {
    for (const mod of ["ctrlKey", "metaKey", "altKey", "shiftKey"] as const)
      expect(shortcutFor(press("m", { [mod]: true }), on)).toBeNull();
  });
  it("Ctrl/⌘+D and Ctrl/⌘+E toggle mic and camera, as in Google Meet, but not with Alt or Shift", () => {
    expect(shortcutFor(press("d", { ctrlKey: true }), on)?.action).toBe("mic");
    expect(shortcutFor(press("e", { metaKey: true }), on)?.action).toBe("camera");
    expect(shortcutFor(press("d", { ctrlKey: true, altKey: true }), on)).toBeNull();
    expect(shortcutFor(press("e", { ctrlKey: true, shiftKey: true }), on)).toBeNull();
  });
  it("the setting turns single keys off but keeps Ctrl/⌘ ones", () => {
    const off = { singleKeys: false };
    expect(shortcutFor(press("m"), off)).toBeNull();
    expect(shortcutFor(press(" "), off)).toBeNull();
    expect(shortcutFor(press("d", { ctrlKey: true }), off)?.action).toBe("mic");
  });
  it("the table has one line per key", () => {
    const keys = SHORTCUTS.map((s) => `${s.mod ? "mod+" : ""}${s.key}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
