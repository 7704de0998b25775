/** The "Keyboard shortcuts" dialog: the keymap table as a list, and the single-key setting. */
import { useEffect, useRef } from "react";
import { SHORTCUTS } from "~/utils/keymap";

export function ShortcutsDialog(props: {
  open: boolean;
  onClose: () => void;
  singleKeys: boolean;
  onSingleKeys: (on: boolean) => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} className="shortcuts-dialog" aria-labelledby="shortcuts-title" onClose={props.onClose}>
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <table>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={`${s.mod ? "mod+" : ""}${s.key}`}>
              <th scope="row">
                <kbd>{s.keys}</kbd>
              </th>
              <td>{s.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <label className="checkbox">
        <input type="checkbox" checked={props.singleKeys} onChange={(e) => props.onSingleKeys(e.target.checked)} />
        Single-key shortcuts (M, V, S, H, P, C, L, Space, ?)
      </label>
      <p>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </p>
    </dialog>
  );
}
