/**
 * Each link sends what its receiver shows: the pure rule from "how large the receiver displays our
 * video" (and the uplink budget of the link) to the encoding of that one link's video sender. In a
 * mesh every remote gets its own encode of our camera, so no simulcast is needed to serve a stage,
 * a grid cell and a filmstrip thumbnail at once — each link just encodes the size it is shown at
 * (LiveKit's "adaptive stream", per link). Hidden tiles get no video at all until shown again.
 */
import { type SenderBudget, sameBudget } from "./quality";

/**
 * How a receiver displays one sender's video, in device pixels (CSS px × devicePixelRatio).
 * `shown: false`: not on screen at all (tab in the background, a panel covering it).
 */
export interface TileView {
  width: number;
  height: number;
  shown: boolean;
}

/** What one link's video sender is set to; maps 1:1 onto RTCRtpEncodingParameters. */
export interface LinkEncoding extends SenderBudget {
  /** false: the encoder is paused (nothing is sent); re-activating starts with a keyframe. */
  active: boolean;
}

/**
 * Budgets and layers assume the 640×360 camera (actors/browser.ts asks for it). A shared screen is
 * larger: it then comes out larger than these heights, never smaller, which suits text.
 */
const SOURCE_HEIGHT = 360;

interface Layer {
  /** The largest displayed height (device px) this layer serves. */
  upTo: number;
  scaleResolutionDownBy: number;
  maxBitrate: number;
  maxFramerate: number;
}

/**
 * Layers by displayed height, with bitrates in the range LiveKit's presets use for those sizes
 * (h90 ≈ 90 kbps, h180 ≈ 160 kbps at 15 fps). Thumbnails keep 15 fps: below that the receiver's
 * quality indicator (quality.ts fpsScore) would call a healthy link "fair". A tile is served by
 * the smallest layer at least as tall as it is displayed, so nothing is upscaled on screen.
 */
const LAYERS: readonly Layer[] = [
  { upTo: 90, scaleResolutionDownBy: SOURCE_HEIGHT / 90, maxBitrate: 90_000, maxFramerate: 15 },
  { upTo: 180, scaleResolutionDownBy: SOURCE_HEIGHT / 180, maxBitrate: 200_000, maxFramerate: 15 },
  { upTo: 270, scaleResolutionDownBy: SOURCE_HEIGHT / 270, maxBitrate: 400_000, maxFramerate: 24 },
  { upTo: Infinity, scaleResolutionDownBy: 1, maxBitrate: Number.POSITIVE_INFINITY, maxFramerate: 30 },
];

/**
 * The encoding of one link.
 *
 * - No view reported yet (the receiver has not measured, or never will): the group budget as it
 *   was before adaptive links — `budget` from `bitrateBudget(linkCount)`, possibly degraded.
 * - Hidden: paused (`active: false`); the rest stays as the budget says, so showing the tile only
 *   flips `active` back and the first frame is a keyframe.
 * - Shown: the layer for its height; bitrate and frame rate never above the link's budget (so the
 *   uplink budget still holds when every receiver shows us on their stage). A link degraded for
 *   poor quality keeps its coarser downscale.
 *
 * `degraded`: the quality monitor stepped this link down (peer.machine.ts handleQuality).
 */
export function linkEncoding(budget: SenderBudget, view: TileView | null, degraded = false): LinkEncoding {
  if (!view) return { ...budget, active: true };
  if (!view.shown || view.width <= 0 || view.height <= 0) return { ...budget, active: false };
  const layer = LAYERS.find((l) => view.height <= l.upTo) ?? LAYERS[LAYERS.length - 1]!;
  return {
    active: true,
    maxBitrate: Math.min(layer.maxBitrate, budget.maxBitrate),
    maxFramerate: Math.min(layer.maxFramerate, budget.maxFramerate),
    scaleResolutionDownBy: degraded
      ? Math.max(layer.scaleResolutionDownBy, budget.scaleResolutionDownBy)
      : layer.scaleResolutionDownBy,
  };
}

export function sameEncoding(a: LinkEncoding, b: LinkEncoding): boolean {
  return a.active === b.active && sameBudget(a, b);
}

/**
 * Whether a receiver should tell the sender about a new view: shown/hidden flips always count;
 * a resize only when the height moved by more than VIEW_RESIZE_STEP (a window being dragged, a
 * strip tile growing by a few pixels would otherwise re-encode the link on every frame).
 */
const VIEW_RESIZE_STEP = 0.15;

export function viewChanged(previous: TileView | null, next: TileView): boolean {
  if (!previous) return true;
  if (previous.shown !== next.shown) return true;
  if (!next.shown) return false;
  const base = Math.max(1, previous.height);
  return Math.abs(next.height - previous.height) / base > VIEW_RESIZE_STEP;
}

/**
 * The view a receiver reports for a tile: its size on the stage, hidden while the page is in the
 * background or the tile is (almost) entirely covered (`shownFraction`: the part of the tile not
 * under a panel or outside the stage).
 */
export const MIN_SHOWN_FRACTION = 0.1;

export function reportedView(
  tile: { width: number; height: number; shownFraction: number },
  pageVisible: boolean,
): TileView {
  const width = Math.round(tile.width);
  const height = Math.round(tile.height);
  const shown = pageVisible && tile.shownFraction >= MIN_SHOWN_FRACTION && width > 0 && height > 0;
  return { width, height, shown };
}

/** What the stage measured of one remote's tile (CSS px × devicePixelRatio; see reportedView). */
export interface TileMeasure {
  width: number;
  height: number;
  shownFraction: number;
}

/**
 * The views a receiver still has to tell: for every remote with a measured tile, its view when it
 * differs (viewChanged) from the last one told. Remotes without a measured tile are left alone.
 */
export function changedViews(
  peerIds: readonly string[],
  tiles: Readonly<Record<string, TileMeasure>>,
  pageVisible: boolean,
  told: Readonly<Record<string, TileView>>,
): Array<TileView & { peerId: string }> {
  const changed: Array<TileView & { peerId: string }> = [];
  for (const peerId of peerIds) {
    const tile = tiles[peerId];
    if (!tile) continue;
    const view = reportedView(tile, pageVisible);
    if (viewChanged(told[peerId] ?? null, view)) changed.push({ peerId, ...view });
  }
  return changed;
}
