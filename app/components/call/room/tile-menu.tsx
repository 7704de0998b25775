/** A person's "More actions for Bob" menu (stage tiles and People rows): Pin, and a host's items. */
import { Ellipsis } from "lucide-react";
import { useRef, useState, type ReactNode } from "react";

export function TileMenu({
  name,
  pinned,
  onPin,
  more,
}: {
  name: string;
  /** Pin is offered on stage tiles only. */
  pinned?: boolean;
  onPin?: () => void;
  /** More items (a host's), given a callback that closes the menu. */
  more?: (close: () => void) => ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  return (
    <div
      className="tile-menu"
      onKeyDown={(e) => {
        if (e.key !== "Escape" || !open) return;
        e.stopPropagation();
        setOpen(false);
        button.current?.focus();
      }}
    >
      <button
        ref={button}
        type="button"
        className="tool small"
        aria-label={`More actions for ${name}`}
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        <Ellipsis size={18} aria-hidden="true" />
      </button>
      {open ? (
        <div className="tile-menu-body">
          {onPin ? (
            <button
              type="button"
              className="secondary"
              onClick={() => {
                onPin();
                setOpen(false);
              }}
            >
              {pinned ? "Unpin" : `Pin ${name}`}
            </button>
          ) : null}
          {more?.(() => setOpen(false))}
        </div>
      ) : null}
    </div>
  );
}
