import { shallowEqual, useSelector } from "@xstate/react";
import type { PeerRef } from "../../../machines/call.machine";
import { linkPhase, peerStatus } from "../../../machines/peer.machine";
import { MAX_RECONNECT_ATTEMPTS } from "../../../machines/reconnect-policy";
import type { QualitySample } from "../../../machines/quality";
import type { LinkReport } from "../../../machines/link-reports";
import { VideoTile, type TileProps } from "./video-tile";
import { say } from "./messages";

const fmt = (v: number | null | undefined, unit: string, digits = 0) =>
  v == null ? "–" : `${v.toFixed(digits)} ${unit}`;

export function qualityDetails(s: QualitySample | undefined): Array<[string, string]> {
  if (!s) return [];
  return [
    ["Round trip", fmt(s.rttMs, "ms")],
    ["Jitter", fmt(s.jitterMs, "ms")],
    ["Packet loss", fmt(s.packetLossPct, "%", 1)],
    ["Receiving", fmt(s.inboundKbps, "kbps")],
    ["Sending", fmt(s.outboundKbps, "kbps")],
    ["Frame rate", fmt(s.fps, "fps")],
    ["Resolution", s.width && s.height ? `${s.width}×${s.height}` : "–"],
  ];
}

/** A remote participant's tile, rendered from their peer machine and what the room reports about them. */
export function RemoteTile({
  peer,
  reported,
  onRetry,
  tile,
}: {
  /** What the room adds to the tile: its place on the stage, hand, menu, speaking reports. */
  tile?: Pick<TileProps, "style" | "hand" | "menu" | "onSpeakingChange">;
  peer: PeerRef;
  /** What the others' reports say about this person's links, already attributed (link-reports.ts). */
  reported: LinkReport | undefined;
  onRetry: (peerId: string) => void;
}) {
  // Compared field by field, so the tile re-renders when something it shows changes, not on
  // every event the peer machine handles.
  const view = useSelector(
    peer,
    (s) => ({
      status: peerStatus(s),
      remote: s.context.remote,
      stream: s.context.remoteStream,
      media: s.context.remoteMedia,
      attempt: s.context.attempt,
      maxAttempts: s.context.maxAttempts,
      level: s.context.qualityLevel,
      sample: s.context.quality?.sample,
    }),
    shallowEqual,
  );
  const phase = linkPhase(view.status, view.attempt);
  let linkStatus: string | null = null;
  if (phase === "lost") linkStatus = say("peerLost", { name: view.remote.name });
  else if (phase === "reconnecting")
    linkStatus = say("peerReconnectingTile", { attempt: view.attempt, maxAttempts: view.maxAttempts });
  // What the others report about this person (e.g. their own network dropped): shown the same way.
  else if (reported?.state === "reconnecting" && reported.attempt)
    linkStatus = say("peerReconnectingTile", {
      attempt: reported.attempt,
      maxAttempts: reported.maxAttempts ?? MAX_RECONNECT_ATTEMPTS,
    });
  else if (phase === "connecting") linkStatus = say("peerConnecting");
  return (
    <VideoTile
      label={view.remote.name}
      name={view.remote.name}
      stream={view.stream}
      isSelf={false}
      micMuted={!view.media.audio}
      cameraOff={!view.media.video}
      presenting={view.media.screen}
      quality={view.level ? { level: view.level, details: qualityDetails(view.sample) } : null}
      linkStatus={linkStatus}
      onRetry={view.status === "lost" ? () => onRetry(view.remote.peerId) : undefined}
      {...tile}
    />
  );
}
