/**
 * Whether a page shows the call's debug panel: only when asked for with `?debug=1`. Not tied to
 * NODE_ENV, because `npm start` runs in development mode and every user would see it.
 */
export function debugPanelRequested(url: string | URL): boolean {
  return new URL(url).searchParams.get("debug") === "1";
}
