/** The room's toasts about people: their links (one toast per person, replaced on each change), joins and leaves. */
import { useSelector } from "@xstate/react";
import { useEffect, useRef } from "react";
import { toast } from "sonner";
import type { PeerRef } from "../../../../machines/call.machine";
import { linkPhase, peerStatus } from "../../../../machines/peer.machine";
import { say } from "../messages";

/** Toasts for one remote's link changes: "Reconnecting to Bob…", "Connection to Bob lost", "Reconnected to Bob". */
export function usePeerToasts(peer: PeerRef) {
  const phase = useSelector(peer, (s) => linkPhase(peerStatus(s), s.context.attempt));
  const name = useSelector(peer, (s) => s.context.remote.name);
  const peerId = useSelector(peer, (s) => s.context.remote.peerId);
  const previous = useRef(phase);
  // Set from the first sign of trouble until the link is up again, through a lost link's Retry too.
  const troubled = useRef(false);
  useEffect(() => {
    const before = previous.current;
    previous.current = phase;
    if (before === phase) return;
    const id = `link:${peerId}`;
    if (phase === "reconnecting" && !troubled.current) toast.warning(say("peerReconnectingToast", { name }), { id });
    else if (phase === "lost") toast.error(say("peerLost", { name }), { id });
    else if (phase === "connected" && troubled.current) toast.success(say("peerReconnected", { name }), { id });
    if (phase === "reconnecting" || phase === "lost") troubled.current = true;
    else if (phase === "connected") troubled.current = false;
  }, [phase, name, peerId]);
}

export function usePresenceToasts(
  participants: Record<string, { name: string; userId: string }>,
  ownPeerId: string | null,
) {
  const known = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    const now = new Map(
      Object.entries(participants)
        .filter(([id]) => id !== ownPeerId)
        .map(([id, p]) => [id, p.name]),
    );
    const before = known.current;
    known.current = now;
    // The first snapshot is who was already here, not news.
    if (!before) return;
    for (const [id, name] of now) if (!before.has(id)) toast(say("joined", { name }), { id: `presence:${id}` });
    for (const [id, name] of before) if (!now.has(id)) toast(say("left", { name }), { id: `presence:${id}` });
  }, [participants, ownPeerId]);
}
