/** The room's local choices, remembered per browser: layout, pinned person, single-key shortcuts. */
import { useCallback, useState } from "react";
import { LAYOUT_CHOICES, type LayoutChoice } from "~/utils/call-layout";

function usePref<T>(key: string, fallback: T, parse: (raw: string) => T | undefined) {
  const [value, setValue] = useState<T>(() => {
    try {
      const raw = window.localStorage.getItem(key);
      return raw === null ? fallback : (parse(raw) ?? fallback);
    } catch {
      return fallback;
    }
  });
  const set = useCallback(
    (next: T) => {
      setValue(next);
      try {
        if (next === null) window.localStorage.removeItem(key);
        else window.localStorage.setItem(key, String(next));
      } catch {
        // Private mode without storage: the choice lasts for this page only.
      }
    },
    [key],
  );
  return [value, set] as const;
}

export function useRoomPrefs() {
  const [layout, setLayout] = usePref<LayoutChoice>("coup.call.layout", "auto", (r) =>
    (LAYOUT_CHOICES as readonly string[]).includes(r) ? (r as LayoutChoice) : undefined,
  );
  /** A user id: a rejoin gets a new peer id but is the same person. */
  const [pinned, setPinned] = usePref<string | null>("coup.call.pinned", null, (r) => r);
  const [singleKeys, setSingleKeys] = usePref<boolean>("coup.call.singleKeys", true, (r) => r === "true");
  return { layout, setLayout, pinned, setPinned, singleKeys, setSingleKeys };
}
