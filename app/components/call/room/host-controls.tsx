/**
 * Host controls in the room (study OWNER and ADMIN members): the host items of a person's "More
 * actions" menu, the "Remove Bob?" dialog, the People header ("Mute everyone", "Host controls" with
 * the permission switches and "Lock call"), and the notices a host's action shows its target.
 * Every action is a request to the server (videoCall.* host procedures), which checks it and tells
 * the room; the call machines follow the room, so nothing here changes the call directly.
 */
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import type { ModerationNotice } from "../../../../machines/call.setup";
import type { CallPermissions } from "../../../../machines/room-protocol";
import { trpc } from "~/utils/trpc";
import { say } from "../messages";

/** The host procedures for one call; a refusal shows as a toast with the server's sentence. */
export function useHostActions(sessionId: string | null) {
  const run = (what: () => Promise<unknown>) => {
    if (!sessionId) return;
    what().catch((err: unknown) =>
      toast.error(err instanceof Error ? err.message : say("hostActionFailed"), { id: "host-action" }),
    );
  };
  const v = () => trpc().videoCall;
  return {
    mute: (userId: string) => run(() => v().muteParticipant.mutate({ sessionId: sessionId!, userId })),
    askToUnmute: (userId: string) => run(() => v().askToUnmute.mutate({ sessionId: sessionId!, userId })),
    remove: (userId: string, ban: boolean) =>
      run(() => v().removeParticipant.mutate({ sessionId: sessionId!, userId, ban })),
    lowerHand: (userId: string) => run(() => v().lowerHand.mutate({ sessionId: sessionId!, userId })),
    muteAll: () => run(() => v().muteAll.mutate({ sessionId: sessionId! })),
    lowerAllHands: () => run(() => v().lowerAllHands.mutate({ sessionId: sessionId! })),
    setPermissions: (p: CallPermissions) => run(() => v().setPermissions.mutate({ sessionId: sessionId!, ...p })),
  };
}
export type HostActions = ReturnType<typeof useHostActions>;

export interface HostTarget {
  userId: string;
  name: string;
  audio: boolean;
  handUp: boolean;
}

/** A host's items in a person's "More actions" menu; `done` closes the menu. */
export function HostMenuItems(props: {
  target: HostTarget;
  actions: HostActions;
  onRemove: (target: HostTarget) => void;
  done: () => void;
}) {
  const { target: t, actions, done } = props;
  const item = (label: string, act: () => void) => (
    <button
      type="button"
      className="secondary"
      onClick={() => {
        act();
        done();
      }}
    >
      {label}
    </button>
  );
  return (
    <>
      {t.audio ? item(`Mute ${t.name}`, () => actions.mute(t.userId)) : null}
      {!t.audio ? item(`Ask ${t.name} to unmute`, () => actions.askToUnmute(t.userId)) : null}
      {t.handUp ? item(`Lower ${t.name}'s hand`, () => actions.lowerHand(t.userId)) : null}
      {item(`Remove ${t.name} from call`, () => props.onRemove(t))}
    </>
  );
}

function useModal(open: boolean) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return ref;
}

/** "Remove Bob?" with "Don't let Bob rejoin this call". */
export function RemoveDialog(props: {
  target: HostTarget | null;
  onRemove: (target: HostTarget, ban: boolean) => void;
  onClose: () => void;
}) {
  const ref = useModal(props.target !== null);
  const [ban, setBan] = useState(false);
  useEffect(() => setBan(false), [props.target]);
  const t = props.target;
  return (
    <dialog ref={ref} className="shortcuts-dialog" aria-labelledby="remove-title" onClose={props.onClose}>
      {t ? (
        <>
          <h2 id="remove-title">Remove {t.name}?</h2>
          <p>{say("removeLeavesAtOnce")}</p>
          <label className="checkbox">
            <input type="checkbox" checked={ban} onChange={(e) => setBan(e.target.checked)} />
            Don&apos;t let {t.name} rejoin this call
          </label>
          <p className="row">
            <button
              type="button"
              className="danger"
              onClick={() => {
                props.onRemove(t, ban);
                props.onClose();
              }}
            >
              Remove
            </button>
            <button type="button" className="secondary" onClick={props.onClose}>
              Cancel
            </button>
          </p>
        </>
      ) : null}
    </dialog>
  );
}

const SWITCHES: Array<{ key: "unmute" | "camera" | "screenShare"; label: string }> = [
  { key: "unmute", label: "Everyone can unmute" },
  { key: "camera", label: "Everyone can turn on their camera" },
  { key: "screenShare", label: "Everyone can share their screen" },
];

/** "Host controls": who may unmute, turn on the camera and share, and "Lock call". */
export function HostControlsDialog(props: {
  open: boolean;
  permissions: CallPermissions;
  onChange: (p: CallPermissions) => void;
  onClose: () => void;
}) {
  const ref = useModal(props.open);
  // Shows the change at once; the room's permissions-changed (the server's word) replaces it.
  const [p, setShown] = useState(props.permissions);
  useEffect(() => setShown(props.permissions), [props.permissions]);
  const change = (next: CallPermissions) => {
    setShown(next);
    props.onChange(next);
  };
  return (
    <dialog ref={ref} className="shortcuts-dialog" aria-labelledby="host-controls-title" onClose={props.onClose}>
      <h2 id="host-controls-title">Host controls</h2>
      {SWITCHES.map((s) => (
        <label key={s.key} className="checkbox">
          <input
            type="checkbox"
            role="switch"
            checked={p[s.key] === "everyone"}
            onChange={(e) => change({ ...p, [s.key]: e.target.checked ? "everyone" : "hosts" })}
          />
          {s.label}
        </label>
      ))}
      <label className="checkbox">
        <input
          type="checkbox"
          role="switch"
          checked={p.locked}
          onChange={(e) => change({ ...p, locked: e.target.checked })}
        />
        Lock call
      </label>
      <p>
        <button type="button" onClick={props.onClose}>
          Close
        </button>
      </p>
    </dialog>
  );
}

/** The People tab's header for hosts. */
export function PeopleHostHeader(props: { actions: HostActions; anyHandUp: boolean; onControls: () => void }) {
  return (
    <div className="row people-host">
      <button type="button" className="secondary" onClick={props.actions.muteAll}>
        Mute everyone
      </button>
      {props.anyHandUp ? (
        <button type="button" className="secondary" onClick={props.actions.lowerAllHands}>
          Lower all hands
        </button>
      ) : null}
      <button type="button" className="secondary" onClick={props.onControls}>
        Host controls
      </button>
    </div>
  );
}

/** "Alice muted you" / "Alice asks you to unmute" (Unmute, Stay muted), shown until dismissed. */
export function ModerationBanner(props: {
  notice: ModerationNotice | null;
  audioOn: boolean;
  onUnmute: () => void;
  onDismiss: () => void;
}) {
  const n = props.notice;
  if (!n || n.kind === "removed") return null;
  if (n.kind === "muted")
    return (
      <div className="banner" role="alert">
        {say("mutedBy", { host: n.by })}{" "}
        <button type="button" className="secondary" onClick={props.onDismiss}>
          OK
        </button>
      </div>
    );
  return (
    <div className="banner" role="alert">
      {say("askedToUnmute", { host: n.by })}{" "}
      <button
        type="button"
        onClick={() => {
          if (!props.audioOn) props.onUnmute();
          props.onDismiss();
        }}
      >
        Unmute
      </button>{" "}
      <button type="button" className="secondary" onClick={props.onDismiss}>
        Stay muted
      </button>
    </div>
  );
}
