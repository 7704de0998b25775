/**
 * The views region of the call machine (a parallel region of `inCall`): the receiving half of
 * "each link sends what its receiver shows". The stage reports how large it shows each remote's
 * video (`VIEW.TILES`) and whether the page is visible (`VIEW.PAGE`); after `viewSettle` the views
 * that changed enough (link-encoding.ts `viewChanged`) go to the server in one `reportViews` call,
 * which relays each to its sender only. One report at a time, so a quick hide → show can never
 * arrive as show → hide; changes made meanwhile go out right after it.
 *
 * Why the server and not a data channel: PeerJS's MediaConnection has no data channel and cannot
 * renegotiate one in, and a PeerJS DataConnection per pair is a second RTCPeerConnection per link
 * (ICE, DTLS, SCTP) negotiated while the call is joining — on a 4-person call six more handshakes
 * competing with the media ones. A view report is one small tRPC call per layout change, carried
 * by the room feed the call already has (and across instances by its Redis bus).
 */
import { callActionsSetup } from "./call.actions";

const sessionOf = ({ context }: { context: { join: { sessionId: string } | null } }) => context.join?.sessionId ?? "";

const measure = {
  "VIEW.TILES": { actions: "storeTiles" },
  "VIEW.PAGE": { actions: "storePageVisibility" },
} as const;

export const viewsRegion = callActionsSetup.createStateConfig({
  initial: "settling",
  states: {
    idle: {
      on: {
        "VIEW.TILES": { target: "settling", actions: "storeTiles" },
        "VIEW.PAGE": [
          // A tab shown again is the one change the user is waiting on: it goes out at once.
          { guard: "pageComesBack", target: "sending", actions: "storePageVisibility" },
          { target: "settling", actions: "storePageVisibility" },
        ],
        "VIEW.RESEND": "settling",
      },
      after: { viewRefresh: { target: "settling", actions: "forgetToldViews" } },
    },
    settling: {
      on: {
        ...measure,
        "VIEW.PAGE": [
          { guard: "pageComesBack", target: "sending", actions: "storePageVisibility" },
          { actions: "storePageVisibility" },
        ],
      },
      after: { viewSettle: [{ guard: "hasViewChanges", target: "sending" }, { target: "idle" }] },
    },
    sending: {
      entry: "takeViewChanges",
      invoke: {
        src: "reportViews",
        input: (args) => ({ sessionId: sessionOf(args), views: args.context.viewsInFlight }),
        onDone: "settling",
        // Told again on the next change or refresh; never retried in a loop against a refusing server.
        onError: { target: "idle", actions: "forgetToldViews" },
      },
      on: measure,
    },
  },
});
