/**
 * Map.set that first evicts the oldest entry once `max` are held: the in-process caches here are
 * keyed by things clients choose (cookies, ids), so none may grow without bound.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
