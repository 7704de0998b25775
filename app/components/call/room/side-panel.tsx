/**
 * The room's right side panel (an overlay on a phone): tabs People, Chat (when the page gives a
 * chat component) and Inspector (with ?debug=1). It shrinks the stage rather than covering it.
 */
import { useSelector } from "@xstate/react";
import { Hand, Mic, MicOff, Video, VideoOff, X } from "lucide-react";
import type { ReactNode } from "react";
import type { PeerRef } from "../../../../machines/call.machine";
import { linkPhase, peerStatus } from "../../../../machines/peer.machine";
import { say } from "../messages";

export type PanelTab = "people" | "chat" | "inspector";

export interface Person {
  id: string;
  name: string;
  self: boolean;
  audio: boolean;
  video: boolean;
  handRaisedAt: string | null;
  peer: PeerRef | null;
  /** The person's "More actions" menu (a host's items), if any. */
  menu?: ReactNode;
}

/** Raised hands first, in the order the server stamped them, then you, then everyone else as they joined. */
export function orderPeople(people: Person[]): Array<Person & { hand: number | null }> {
  const hands = people
    .filter((p) => p.handRaisedAt)
    .sort((a, b) => Date.parse(a.handRaisedAt!) - Date.parse(b.handRaisedAt!));
  const rest = [
    ...people.filter((p) => !p.handRaisedAt && p.self),
    ...people.filter((p) => !p.handRaisedAt && !p.self),
  ];
  return [...hands.map((p, i) => ({ ...p, hand: i + 1 })), ...rest.map((p) => ({ ...p, hand: null }))];
}

function Connection({ peer }: { peer: PeerRef | null }) {
  const phase = useSelector(peer ?? undefined, (s) => (s ? linkPhase(peerStatus(s), s.context.attempt) : "connected"));
  if (!peer) return null;
  return (
    <span className="person-state">
      {say(
        phase === "connected"
          ? "personConnected"
          : phase === "lost"
            ? "personLost"
            : phase === "reconnecting"
              ? "personReconnecting"
              : "personConnecting",
      )}
    </span>
  );
}

function People({ people }: { people: Person[] }) {
  const ordered = orderPeople(people);
  return (
    <ol className="people" aria-label="People in the call">
      {ordered.map((p) => (
        <li key={p.id} data-hand={p.hand ?? undefined}>
          {p.hand ? (
            <span className="pill hand" aria-label={`Hand raised, number ${p.hand}`}>
              <Hand size={14} aria-hidden="true" /> {p.hand}
            </span>
          ) : null}
          <span className="person-name truncate" title={p.name}>
            {p.self ? `${p.name} (you)` : p.name}
          </span>
          <span className="person-icons">
            {p.audio ? <Mic size={16} aria-label="Microphone on" /> : <MicOff size={16} aria-label="Muted" />}
            {p.video ? <Video size={16} aria-label="Camera on" /> : <VideoOff size={16} aria-label="Camera off" />}
          </span>
          <Connection peer={p.peer} />
          {p.menu ?? null}
        </li>
      ))}
    </ol>
  );
}

const TAB_NAMES: Record<PanelTab, string> = { people: "People", chat: "Chat", inspector: "Inspector" };

export function SidePanel(props: {
  tab: PanelTab;
  onTab: (tab: PanelTab) => void;
  onClose: () => void;
  people: Person[];
  /** Above the People list: a host's "Mute everyone" and "Host controls". */
  peopleHeader?: ReactNode;
  /** The chat arrives as its own component; without it there is no Chat tab. */
  chat?: ReactNode;
  inspector?: ReactNode;
}) {
  const tabs: PanelTab[] = [
    "people",
    ...(props.chat ? (["chat"] as const) : []),
    ...(props.inspector ? (["inspector"] as const) : []),
  ];
  return (
    <aside className="side-panel" aria-label="Side panel">
      <div className="side-panel-head">
        <div role="tablist" aria-label="Side panel">
          {tabs.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              id={`tab-${t}`}
              aria-selected={props.tab === t}
              aria-controls={`panel-${t}`}
              tabIndex={props.tab === t ? 0 : -1}
              onClick={() => props.onTab(t)}
              onKeyDown={(e) => {
                if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
                const next = tabs[(tabs.indexOf(t) + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length]!;
                props.onTab(next);
                document.getElementById(`tab-${next}`)?.focus();
              }}
            >
              {TAB_NAMES[t]}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="tool small"
          aria-label="Close side panel"
          data-tip="Close"
          onClick={props.onClose}
        >
          <X size={18} aria-hidden="true" />
        </button>
      </div>
      <div role="tabpanel" id={`panel-${props.tab}`} aria-labelledby={`tab-${props.tab}`} className="side-panel-body">
        {props.tab === "people" ? (
          <>
            {props.peopleHeader ?? null}
            <People people={props.people} />
          </>
        ) : null}
        {props.tab === "chat" ? props.chat : null}
        {props.tab === "inspector" ? props.inspector : null}
      </div>
    </aside>
  );
}
