/**
 * The Inspector (only with ?debug=1): the call machine's diagram with the active states highlighted
 * (and its state tree as text), each peer machine (expand for its link stats and diagram), the last
 * events, and "Copy snapshot" (every machine's state and the recent events as JSON, for a bug report).
 */
import { shallowEqual, useSelector } from "@xstate/react";
import { useMemo, useState, useSyncExternalStore } from "react";
import type { ActorRefFrom } from "xstate";
import type { CallMachine, PeerRef } from "../../../machines/call.machine";
import { activePaths } from "../../../machines/diagram";
import { peerStatus } from "../../../machines/peer.machine";
import type { CallInspector } from "./inspector";
import { MachineStates } from "./machine-diagram";
import { say } from "./messages";
import { qualityDetails } from "./remote-tile";
import { diagramOf } from "./state-tree";

export function DebugPanel({ actor, inspector }: { actor: ActorRefFrom<CallMachine>; inspector: CallInspector }) {
  useSyncExternalStore(inspector.subscribe, inspector.getVersion, inspector.getVersion);
  const value = useSelector(actor, (s) => JSON.stringify(s.value));
  const peers = useSelector(actor, (s) => s.context.peers);
  const active = useMemo(() => activePaths(JSON.parse(value)), [value]);
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async () => {
    const json = inspector.snapshot(actor, actor.getSnapshot().context.peers);
    try {
      await navigator.clipboard.writeText(json);
      setCopied(say("snapshotCopied"));
    } catch (e) {
      setCopied(say("snapshotNotCopied", { reason: e instanceof Error ? e.message : String(e) }));
    }
  };
  const peerList = Object.values(peers) as PeerRef[];
  return (
    <section className="debug-panel" aria-label="Debug panel" tabIndex={0}>
      <p className="debug-actions">
        <button type="button" className="secondary" onClick={() => void copy()}>
          Copy snapshot
        </button>{" "}
        <span role="status">{copied}</span>
      </p>
      <h2>Call machine</h2>
      <p>
        <code className="state-chip">{value}</code>
      </p>
      <MachineStates
        diagram={diagramOf(actor.getSnapshot().machine)}
        active={active}
        diagramLabel="Call machine diagram"
        treeLabel="Call machine states"
      />
      <h2>Peer machines ({peerList.length})</h2>
      {peerList.map((p) => (
        <PeerDebug key={p.id} peer={p} />
      ))}
      <h2>Last events</h2>
      <ol reversed>
        {[...inspector.events].reverse().map((e, i) => (
          <li key={`${e.at}-${i}`}>
            {new Date(e.at).toISOString().slice(11, 23)} {e.actor} ← {e.type}
          </li>
        ))}
      </ol>
    </section>
  );
}

function PeerDebug({ peer }: { peer: PeerRef }) {
  const v = useSelector(
    peer,
    (s) => ({
      value: JSON.stringify(s.value),
      status: peerStatus(s),
      name: s.context.remote.name,
      role: s.context.role,
      sample: s.context.quality?.sample,
      level: s.context.qualityLevel,
      budget: s.context.budget,
    }),
    shallowEqual,
  );
  const active = useMemo(() => activePaths(JSON.parse(v.value)), [v.value]);
  // Mermaid draws a peer's diagram only while its entry is open.
  const [open, setOpen] = useState(false);
  return (
    <details data-testid="peer-debug" className="peer-debug" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <strong>{v.name}</strong> ({v.role}): <code className="state-chip">{v.status}</code> quality=
        {v.level ?? "–"} budget={Math.round(v.budget.maxBitrate / 1000)}kbps
      </summary>
      <ul>
        {qualityDetails(v.sample).map(([k, val]) => (
          <li key={k}>
            {k}: {val}
          </li>
        ))}
      </ul>
      <MachineStates
        diagram={diagramOf(peer.getSnapshot().machine)}
        active={active}
        diagramLabel={`Peer machine diagram for ${v.name}`}
        treeLabel={`Peer machine states for ${v.name}`}
        draw={open}
      />
    </details>
  );
}
