// The developer's view of a call (only with ?debug=1): every machine's state, peer stats and budgets, the last events.
import { shallowEqual, useSelector } from "@xstate/react";
import { useSyncExternalStore } from "react";
import type { ActorRefFrom } from "xstate";
import type { CallMachine, PeerRef } from "../../../machines/call.machine";
import { peerStatus } from "../../../machines/peer.machine";
import type { CallInspector } from "./inspector";
import { qualityDetails } from "./remote-tile";

/** The developer's view of the call (shown with ?debug=1): machine states, peer budgets, last events. */
export function DebugPanel({ actor, inspector }: { actor: ActorRefFrom<CallMachine>; inspector: CallInspector }) {
  useSyncExternalStore(inspector.subscribe, inspector.getVersion, inspector.getVersion);
  const value = useSelector(actor, (s) => JSON.stringify(s.value));
  const peers = useSelector(actor, (s) => s.context.peers);
  return (
    <section className="debug-panel" aria-label="Debug panel">
      <h2>Machines</h2>
      <p>
        call: <code className="state-chip">{value}</code>
      </p>
      {(Object.values(peers) as PeerRef[]).map((p) => (
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
      value: peerStatus(s),
      name: s.context.remote.name,
      role: s.context.role,
      sample: s.context.quality?.sample,
      level: s.context.qualityLevel,
      budget: s.context.budget,
    }),
    shallowEqual,
  );
  return (
    <div data-testid="peer-debug">
      <strong>{v.name}</strong> ({v.role}): <code className="state-chip">{v.value}</code> quality={v.level ?? "–"}{" "}
      budget=
      {Math.round(v.budget.maxBitrate / 1000)}kbps
      <ul>
        {qualityDetails(v.sample).map(([k, val]) => (
          <li key={k}>
            {k}: {val}
          </li>
        ))}
      </ul>
    </div>
  );
}
