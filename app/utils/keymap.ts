/**
 * The call's keyboard shortcuts: one table drives both the key handler and the "Keyboard
 * shortcuts" dialog, and one guard decides whether a key press is a shortcut at all.
 */

export type ShortcutAction =
  "mic" | "camera" | "share" | "hand" | "people" | "chat" | "layout" | "help" | "push-to-talk";

export interface Shortcut {
  action: ShortcutAction;
  /** KeyboardEvent.key, lower-cased for letters. */
  key: string;
  /** Needs Ctrl (or ⌘ on a Mac): works even with single-key shortcuts turned off. */
  mod?: true;
  /** What the dialog shows. */
  keys: string;
  description: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { action: "mic", key: "m", keys: "M", description: "Mute or unmute the microphone" },
  { action: "mic", key: "d", mod: true, keys: "Ctrl/⌘ + D", description: "Mute or unmute the microphone" },
  { action: "camera", key: "v", keys: "V", description: "Turn the camera off or on" },
  { action: "camera", key: "e", mod: true, keys: "Ctrl/⌘ + E", description: "Turn the camera off or on" },
  { action: "share", key: "s", keys: "S", description: "Share the screen or stop sharing" },
  { action: "hand", key: "h", keys: "H", description: "Raise or lower your hand" },
  { action: "people", key: "p", keys: "P", description: "Show or hide People" },
  { action: "chat", key: "c", keys: "C", description: "Show or hide Chat" },
  { action: "layout", key: "l", keys: "L", description: "Next layout" },
  { action: "push-to-talk", key: " ", keys: "Space (hold)", description: "Talk while muted" },
  { action: "help", key: "?", keys: "?", description: "Show these shortcuts" },
];

/** The parts of a KeyboardEvent the guard reads (so tests need no DOM). */
export interface KeyPress {
  key: string;
  repeat: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  /** The focused element: a text field or menu keeps its keys. */
  target: { tagName?: string; isContentEditable?: boolean; getAttribute?: (name: string) => string | null } | null;
}

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);
const PRESSABLE = new Set(["BUTTON", "A", "SUMMARY"]);

/** True while focus is somewhere that types text or picks options. */
export function isTypingTarget(target: KeyPress["target"]): boolean {
  if (!target) return false;
  if (target.isContentEditable) return true;
  if (target.tagName && TYPING.has(target.tagName.toUpperCase())) return true;
  return target.getAttribute?.("role") === "textbox";
}

/**
 * The shortcut a key press means, or null: never while typing, never on auto-repeat (holding a
 * key would toggle again and again, and Jitsi users hit server rate limits that way), never with
 * modifiers other than the one a Ctrl/⌘ shortcut needs; single keys only when enabled.
 */
export function shortcutFor(e: KeyPress, opts: { singleKeys: boolean }): Shortcut | null {
  if (e.repeat || isTypingTarget(e.target)) return null;
  const mod = e.ctrlKey || e.metaKey;
  if (e.altKey) return null;
  if (mod) {
    if (e.shiftKey || (e.ctrlKey && e.metaKey)) return null;
    return SHORTCUTS.find((s) => s.mod && s.key === e.key.toLowerCase()) ?? null;
  }
  if (!opts.singleKeys) return null;
  // "?" is Shift+/ on most layouts: Shift is allowed for it alone.
  if (e.shiftKey && e.key !== "?") return null;
  // Space on a focused button, link or menu presses it: keyboard users need that more than push-to-talk.
  if (e.key === " " && e.target?.tagName && PRESSABLE.has(e.target.tagName.toUpperCase())) return null;
  return SHORTCUTS.find((s) => !s.mod && s.key === e.key.toLowerCase()) ?? null;
}
