/**
 * Host controls in the room (study OWNER and ADMIN members): the host items of a person's "More
 * actions" menu, the "Remove Bob?" dialog, the People header ("Mute everyone", "Host controls" with
 * the permission switches and "Lock call"), and the notices a host's action shows its target.
 * Every action is a HOST_ACTION event to the call machine, whose `hostAction` actor asks the
 * server (which checks it and tells the room); the call machines follow the room, so nothing here
 * changes the call directly. A refusal comes back as the machine's typed `hostActionError`.
 */
import { useSelector } from "@xstate/react";
import { useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import type { ActorRefFrom } from "xstate";
import type { HostAction } from "../../../../machines/call.contracts";
import type { CallMachine } from "../../../../machines/call.machine";
import type { ModerationNotice } from "../../../../machines/call.setup";
import type { HostActionErrorReason } from "../../../../machines/errors";
import type { CallPermissions } from "../../../../machines/room-protocol";
import { say, type CallMessage } from "../messages";

/** Sends one host action to the call machine. */
export type SendHostAction = (action: HostAction) => void;

const HOST_ACTION_ERRORS: Record<HostActionErrorReason, CallMessage> = {
  "not-allowed": "hostActionNotAllowed",
  "not-in-call": "hostActionNotInCall",
  ended: "hostActionEnded",
  network: "hostActionFailed",
  unknown: "hostActionFailed",
};

/** A toast for each host action the server refused (each refusal is a new error in the machine). */
export function useHostActionFailureToast(actor: ActorRefFrom<CallMachine>) {
  const error = useSelector(actor, (s) => s.context.hostActionError);
  useEffect(() => {
    if (error) toast.error(say(HOST_ACTION_ERRORS[error.reason]), { id: "host-action" });
  }, [error]);
}

export interface HostTarget {
  userId: string;
  name: string;
  audio: boolean;
  handUp: boolean;
}

/** A host's items in a person's "More actions" menu; `done` closes the menu. */
export function HostMenuItems(props: {
  target: HostTarget;
  send: SendHostAction;
  onRemove: (target: HostTarget) => void;
  done: () => void;
}) {
  const { target: t, send, done } = props;
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
      {t.audio ? item(`Mute ${t.name}`, () => send({ kind: "mute", userId: t.userId })) : null}
      {!t.audio ? item(`Ask ${t.name} to unmute`, () => send({ kind: "ask-unmute", userId: t.userId })) : null}
      {t.handUp ? item(`Lower ${t.name}'s hand`, () => send({ kind: "lower-hand", userId: t.userId })) : null}
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
export function PeopleHostHeader(props: { send: SendHostAction; anyHandUp: boolean; onControls: () => void }) {
  return (
    <div className="row people-host">
      <button type="button" className="secondary" onClick={() => props.send({ kind: "mute-all" })}>
        Mute everyone
      </button>
      {props.anyHandUp ? (
        <button type="button" className="secondary" onClick={() => props.send({ kind: "lower-all-hands" })}>
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
  onAcceptUnmute: () => void;
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
      <button type="button" onClick={props.onAcceptUnmute}>
        Unmute
      </button>{" "}
      <button type="button" className="secondary" onClick={props.onDismiss}>
        Stay muted
      </button>
    </div>
  );
}
