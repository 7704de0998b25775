/**
 * User-timing marks at the steps of joining and connecting (`coup:*`), so where a join spends
 * its time can be read off any page (DevTools' Performance panel, bench/join.ts). Few per call;
 * `peer` names the remote a per-call step is about, so a mesh's slowest link can be found.
 */
export function mark(step: string, peer?: string) {
  performance.mark(`coup:${step}`, peer === undefined ? undefined : { detail: { peer } });
}
