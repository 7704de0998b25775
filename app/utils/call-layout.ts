/**
 * The call stage's pure decisions: which layout and tile order (grid, speaker, presenter, pin),
 * how many columns make tiles largest, and who the active speaker is (with hysteresis). The view
 * only renders what these return, and the tests pin them down without a browser.
 */

type Layout = "grid" | "speaker" | "presenter";
/** The user's Layout menu choice; "auto" is the grid that turns into presenter while someone shares. */
export type LayoutChoice = "auto" | "grid" | "speaker";
export const LAYOUT_CHOICES: readonly LayoutChoice[] = ["auto", "grid", "speaker"];

export interface LayoutInput {
  /** Tile ids in the room's order (joining order, you first). */
  ids: readonly string[];
  /** The active speaker (after hysteresis), if any. */
  speaker: string | null;
  /** Who shares a screen, if anyone. */
  sharer: string | null;
  pinned: string | null;
  choice: LayoutChoice;
}

export interface LayoutDecision {
  layout: Layout;
  /** The tile on the stage in speaker/presenter; null in the grid. */
  main: string | null;
  /** Every tile in display order: the main one first when there is one, then the strip. */
  order: string[];
}

export function decideLayout({ ids, speaker, sharer, pinned, choice }: LayoutInput): LayoutDecision {
  const known = (id: string | null): id is string => id !== null && ids.includes(id);
  const spotlight = (layout: Layout, main: string): LayoutDecision => ({
    layout,
    main,
    order: [main, ...ids.filter((id) => id !== main)],
  });
  // A pin takes the stage in any layout.
  if (known(pinned)) return spotlight(pinned === sharer ? "presenter" : "speaker", pinned);
  if (choice === "grid" || ids.length < 2) {
    if (choice !== "grid" && known(sharer)) return spotlight("presenter", sharer);
    return { layout: "grid", main: null, order: [...ids] };
  }
  if (known(sharer)) return spotlight("presenter", sharer);
  if (choice === "speaker") {
    // Your own face is never the big one unless you are alone with yourself.
    const main = known(speaker) ? speaker : (ids[1] ?? ids[0]!);
    return spotlight("speaker", main);
  }
  return { layout: "grid", main: null, order: [...ids] };
}

/** The next choice for the `L` shortcut. */
export function nextLayoutChoice(choice: LayoutChoice): LayoutChoice {
  return LAYOUT_CHOICES[(LAYOUT_CHOICES.indexOf(choice) + 1) % LAYOUT_CHOICES.length]!;
}

export interface Fit {
  columns: number;
  rows: number;
  width: number;
  height: number;
}

/**
 * The column count that makes `count` tiles of `aspect` (width / height) largest inside a
 * `width` × `height` box with `gap` px between tiles — the search Jitsi's tile view and LiveKit's
 * grid layouts do. Ties go to fewer columns (a squarer grid).
 */
export function bestFit(count: number, width: number, height: number, aspect = 16 / 9, gap = 8): Fit {
  const n = Math.max(1, count);
  let best: Fit = { columns: 1, rows: n, width: 0, height: 0 };
  for (let columns = 1; columns <= n; columns++) {
    const rows = Math.ceil(n / columns);
    const cellW = (width - gap * (columns - 1)) / columns;
    const cellH = (height - gap * (rows - 1)) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const w = Math.min(cellW, cellH * aspect);
    if (w > best.width + 0.5) best = { columns, rows, width: Math.floor(w), height: Math.floor(w / aspect) };
  }
  return best;
}

/**
 * Active speaker with hysteresis: the current speaker keeps the stage until a challenger has been
 * speaking, while they are not, for HOLD_MS without a break — so two people talking over each
 * other, or a cough, never make the stage flap.
 */
export const SPEAKER_HOLD_MS = 1_500;

export interface SpeakerState {
  current: string | null;
  /** Who is challenging, and since when (ms). */
  challenger: string | null;
  since: number;
}
export const NO_SPEAKER: SpeakerState = { current: null, challenger: null, since: 0 };

export function nextSpeaker(state: SpeakerState, speaking: ReadonlySet<string>, now: number): SpeakerState {
  // Nobody holds the stage yet: the first voice takes it at once.
  if (state.current === null) {
    const first = [...speaking][0];
    return first ? { current: first, challenger: null, since: now } : state;
  }
  // While the current speaker talks, nobody can take over (only out-talk them in silence).
  if (speaking.has(state.current)) return state.challenger === null ? state : { ...state, challenger: null };
  const stillChallenging = state.challenger !== null && speaking.has(state.challenger);
  if (stillChallenging) {
    if (now - state.since >= SPEAKER_HOLD_MS) return { current: state.challenger, challenger: null, since: now };
    return state;
  }
  const challenger = [...speaking][0] ?? null;
  // Unchanged (the same object), so nothing that holds it has anything to re-render.
  if (challenger === null && state.challenger === null) return state;
  return { current: state.current, challenger, since: now };
}
