import { createBrowserCallMachine } from "../../../machines/actors/browser";
import type { CallApi } from "../../../machines/call-api";
import { callFeedOver } from "../../../machines/actors/room-events-hub";
import type { HostActionInput } from "../../../machines/call.contracts";
import { trpc } from "~/utils/trpc";
import { roomEvents } from "./room-events";

/** CallApi over our tRPC client: the only place the call machine meets the network API. */
function createTrpcCallApi(): CallApi {
  const api = trpc().videoCall;
  const join = async (studyId: string, sessionId: string, grant: string | undefined) => {
    const res = await api.join.mutate({ studyId, sessionId, grant });
    return { ...res, sessionId };
  };
  return {
    prepareJoin: (studyId) => api.prepareJoin.mutate({ studyId }),
    join: ({ studyId, sessionId, grant }) => join(studyId, sessionId, grant),
    async joinOrStart(studyId, grant) {
      const { session } = await api.start.mutate({ studyId });
      return join(studyId, session.id, grant);
    },
    async leave({ sessionId }) {
      await api.leave.mutate({ sessionId });
    },
    setHand(input) {
      return api.setHand.mutate(input);
    },
    async setMedia(input) {
      await api.setMedia.mutate(input);
    },
    async heartbeat(input) {
      await api.heartbeat.mutate(input);
    },
    hostAction: (input) => hostAction(api, input),
    async reportLink(input) {
      await api.reportLink.mutate(input);
    },
    async setViews(input) {
      await api.setViews.mutate(input);
    },
    // The tab's one events stream, shared with the chat and the presence summary. A refused or
    // failed feed would otherwise leave the call looking live while nobody's joins or leaves
    // arrive; the machine re-subscribes (reopening the shared stream), then tells the user.
    subscribe: callFeedOver(roomEvents()),
  };
}

/** A host action as its tRPC host procedure (videoCall.* host controls). */
async function hostAction(api: ReturnType<typeof trpc>["videoCall"], { sessionId, action: a }: HostActionInput) {
  switch (a.kind) {
    case "mute":
      await api.muteParticipant.mutate({ sessionId, userId: a.userId });
      return;
    case "ask-unmute":
      await api.askToUnmute.mutate({ sessionId, userId: a.userId });
      return;
    case "lower-hand":
      await api.lowerHand.mutate({ sessionId, userId: a.userId });
      return;
    case "remove":
      await api.removeParticipant.mutate({ sessionId, userId: a.userId, ban: a.ban });
      return;
    case "mute-all":
      await api.muteAll.mutate({ sessionId });
      return;
    case "lower-all-hands":
      await api.lowerAllHands.mutate({ sessionId });
      return;
    case "set-permissions":
      await api.setPermissions.mutate({ sessionId, ...a.permissions });
      return;
  }
}

/** The call machine with every effect wired to this browser, PeerJS pointed at our own PeerServer. */
export function createCallMachineForPage() {
  const { hostname, port, protocol } = window.location;
  const secure = protocol === "https:";
  return createBrowserCallMachine({
    api: createTrpcCallApi(),
    peerServer: { host: hostname, port: port ? Number(port) : secure ? 443 : 80, path: "/peerjs", secure },
  });
}

/**
 * Leaving must reach the server even while the page is being torn down, so it goes as a keepalive
 * request to the REST route instead of through the (about to be destroyed) machine.
 */
export function leaveOnUnload(studyId: string, sessionId: string) {
  void fetch(`/api/my-studies/${encodeURIComponent(studyId)}/video-call/leave`, {
    method: "POST",
    keepalive: true,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sessionId }),
  }).catch(() => {});
}
