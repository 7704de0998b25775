/**
 * The pre-join warm-up (issue #16 §2): while the pre-join screen is up, get a grant
 * (`videoCall.prepareJoin`, which also brings the ICE servers) and open the PeerJS socket with it,
 * so the Join click only needs `videoCall.join` before it can dial. The socket's PeerJS id is the
 * grant; the server registers it under the peer id the join will answer with.
 *
 * Offers each open socket to the call machine (WARM.READY) and renews it before the grant expires;
 * on WARM.HOLD (the click) it keeps the socket on offer and stops renewing; on WARM.HAND_OVER the
 * signaling actor owns that socket; everything else is destroyed on WARM.STOP or when stopped.
 * A failed warm-up costs nothing: the join goes cold, as without it. The socket is opened by the
 * `open` it is given (PeerJS's Peer in the browser, ./peer-socket.ts; a fake in tests).
 */
import { fromCallback } from "xstate";
import type { CallApi } from "../call-api";
import type { WarmUpCommand, WarmUpEvent, WarmUpInput } from "../call.contracts";
import { toSignalingHandle } from "../handles";
import type { IceServer } from "../room-protocol";
import { mark } from "./marks";

/** What the warm-up uses of a PeerJS Peer. */
export interface WarmSocket {
  on(event: "open" | "error" | "disconnected" | "close", listener: () => void): unknown;
  destroy(): void;
  readonly destroyed: boolean;
}

export type OpenWarmSocket = (grant: string, iceServers: IceServer[], policy: "all" | "relay") => WarmSocket;

export interface WarmUpTiming {
  /** Renew an offered socket this long after it opened (grants live 90 s). */
  renewMs: number;
  /** Try again this long after a failed attempt… */
  retryMs: number;
  /** …at most this many times in a row. */
  maxFailures: number;
}

const DEFAULT_TIMING: WarmUpTiming = { renewMs: 60_000, retryMs: 5_000, maxFailures: 3 };

export function createWarmUp(
  api: Pick<CallApi, "prepareJoin">,
  open: OpenWarmSocket,
  timing: WarmUpTiming = DEFAULT_TIMING,
) {
  return fromCallback<WarmUpCommand, WarmUpInput>(({ input, sendBack, receive }) => {
    const send = (e: WarmUpEvent) => sendBack(e);
    /** The socket on offer, the one being opened, and the one handed to the call. */
    let offered: WarmSocket | null = null;
    let opening: WarmSocket | null = null;
    let handedOver: WarmSocket | null = null;
    let held = false;
    let stopped = false;
    let failures = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const drop = (peer: WarmSocket | null) => {
      if (peer && peer !== handedOver && !peer.destroyed) peer.destroy();
    };
    const schedule = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => void warm(), ms);
    };
    const fail = () => {
      failures++;
      if (failures < timing.maxFailures && !held && !stopped) schedule(timing.retryMs);
    };

    async function warm() {
      if (held || stopped) return;
      let prepared;
      try {
        prepared = await api.prepareJoin(input.studyId);
      } catch {
        return fail();
      }
      if (held || stopped) return;
      mark("signaling-warm-connect");
      const peer = open(prepared.grant, prepared.iceServers, prepared.iceTransportPolicy);
      const { grant } = prepared;
      opening = peer;
      peer.on("open", () => {
        if (opening !== peer) return;
        opening = null;
        if (held || stopped) return drop(peer);
        drop(offered);
        offered = peer;
        failures = 0;
        mark("signaling-warm");
        send({ type: "WARM.READY", warm: { grant, handle: toSignalingHandle(peer) } });
        schedule(timing.renewMs);
      });
      const lost = () => {
        if (peer === handedOver) return; // the signaling actor's now
        if (peer === opening) {
          opening = null;
          drop(peer);
          return fail();
        }
        if (peer !== offered) return;
        offered = null;
        drop(peer);
        send({ type: "WARM.LOST" });
        fail();
      };
      peer.on("error", lost);
      peer.on("disconnected", lost);
      peer.on("close", lost);
    }

    const stop = () => {
      stopped = true;
      clearTimeout(timer);
      drop(opening);
      drop(offered);
      opening = offered = null;
    };

    receive((command) => {
      switch (command.type) {
        case "WARM.HOLD":
          held = true;
          clearTimeout(timer);
          drop(opening);
          opening = null;
          break;
        case "WARM.HAND_OVER":
          handedOver = offered;
          offered = null;
          stop();
          break;
        case "WARM.STOP":
          stop();
          break;
      }
    });
    void warm();
    return stop;
  });
}
