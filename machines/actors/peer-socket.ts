/**
 * Opens a PeerJS Peer on our own PeerServer: the one place its options are set, for the pre-join
 * warm-up (./warm-up.ts) and the call's signaling (./browser.ts). Client-only: imports PeerJS.
 */
import Peer from "peerjs";
import type { IceServer } from "../room-protocol";

export interface PeerServerOptions {
  host: string;
  port: number;
  path: string;
  secure: boolean;
}

export function openPeer(
  server: PeerServerOptions,
  id: string,
  iceServers: IceServer[],
  iceTransportPolicy: "all" | "relay",
): Peer {
  // Always our own PeerServer: never fall back to the peerjs.com cloud defaults.
  return new Peer(id, {
    host: server.host,
    port: server.port,
    path: server.path,
    secure: server.secure,
    key: "peerjs",
    debug: 0,
    config: { iceServers, iceTransportPolicy },
  });
}
