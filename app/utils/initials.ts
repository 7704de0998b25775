/**
 * A display name's initials for a camera-off tile: the first user-perceived character (grapheme) of the
 * first two words. Taken by grapheme, not UTF-16 unit, so an emoji, a ZWJ family or a letter with a
 * combining mark stays whole instead of being cut into a lone surrogate ("Z\ud83e").
 */

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

function firstGrapheme(word: string): string {
  for (const { segment } of graphemes.segment(word)) return segment;
  return "";
}

export function initials(name: string, max = 2): string {
  return name
    .trim()
    .split(/\s+/u)
    .filter(Boolean)
    .slice(0, max)
    .map((word) => firstGrapheme(word).toLocaleUpperCase())
    .join("");
}
