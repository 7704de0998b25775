/**
 * Who is in the call, as the call machine's actions: one peer machine per remote participation,
 * kept in step with the room feed (snapshots and events), incoming calls routed to their peer,
 * link changes reported to the room, and what happens when the room says we are out.
 */
import { assertEvent, assign, enqueueActions } from "xstate";
import type { CallEndReason } from "./call.contracts";
import { type CallContext, type PeerRef, callSetup, moderationOfUs, peerChildId } from "./call.setup";
import { JoinError } from "./errors";
import type { CallHandle } from "./handles";
import { keepReportsAmong, recordReport, type LinkReport } from "./link-reports";
import type { PeerInput } from "./peer.contracts";
import { shouldCall } from "./peer.machine";
import { bitrateBudget } from "./quality";
import { MAX_RECONNECT_ATTEMPTS } from "./reconnect-policy";
import type { MediaFlags, RoomParticipant } from "./room-protocol";

export const rosterSetup = callSetup.extend({
  actions: {
    /**
     * Reconciles peer machines with a full participant list: the room as the join saw it (so
     * dialling starts as soon as signaling is up), then each snapshot of the room feed.
     */
    syncPeers: enqueueActions(({ context, event, enqueue }) => {
      const participants = event.type === "ROOM.SNAPSHOT" ? event.participants : context.join?.participants;
      if (!participants || !context.join) return;
      const selfPeerId = context.join.peerId;
      const remotes = participants.filter((p) => p.peerId !== selfPeerId);
      const present = new Set(remotes.map((p) => p.peerId));
      for (const [peerId, ref] of Object.entries(context.peers)) {
        if (!present.has(peerId)) enqueue.stopChild(ref);
      }
      for (const p of remotes) {
        const ref = context.peers[p.peerId];
        if (ref) enqueue.sendTo(ref, { type: "REMOTE_UPDATED", remote: p });
      }
      enqueue.assign({
        linkReports: keepReportsAmong(context.linkReports, new Set([...present, selfPeerId])),
        participants: Object.fromEntries(remotes.map((p) => [p.peerId, p])),
        peers: ({ context: ctx, spawn }) => {
          const next: Record<string, PeerRef> = {};
          for (const p of remotes) {
            next[p.peerId] =
              ctx.peers[p.peerId] ?? spawn("peer", { id: peerChildId(p.peerId), input: peerInput(ctx, p, null) });
          }
          return next;
        },
      });
    }),
    handleRoomEvent: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "ROOM.EVENT");
      if (!context.join) return;
      const e = event.event;
      const selfPeerId = context.join.peerId;
      if ("sessionId" in e && e.sessionId !== context.join.sessionId) return;
      switch (e.type) {
        case "user-joined": {
          const p = e.participant;
          if (p.peerId === selfPeerId) return;
          enqueue.assign({ participants: { ...context.participants, [p.peerId]: p } });
          const existing = context.peers[p.peerId];
          if (existing) {
            enqueue.sendTo(existing, { type: "REMOTE_UPDATED", remote: p });
            return;
          }
          enqueue.assign({
            peers: ({ context: ctx, spawn }) => ({
              ...ctx.peers,
              [p.peerId]: spawn("peer", { id: peerChildId(p.peerId), input: peerInput(ctx, p, null) }),
            }),
          });
          return;
        }
        case "user-left": {
          // An ending, not a failure: the peer is stopped quietly, whatever its link was doing
          // (a link closed by this departure is still in its confirmation window, see
          // peer.machine.ts `closing`), so nobody sees "Reconnecting" and nothing is reported.
          if (e.peerId === selfPeerId) return;
          const ref = context.peers[e.peerId];
          if (ref) enqueue.stopChild(ref);
          // Removed by a host: never answer that peer id again (a modified client may keep calling).
          if (e.reason === "KICKED") enqueue.assign({ refusedPeers: [...context.refusedPeers, e.peerId] });
          const { [e.peerId]: _gone, ...peers } = context.peers;
          const { [e.peerId]: _left, ...participants } = context.participants;
          const linkReports = keepReportsAmong(
            context.linkReports,
            new Set([...Object.keys(participants), selfPeerId]),
          );
          enqueue.assign({ peers, participants, linkReports });
          return;
        }
        case "connection-state": {
          // Reports about us count too: they tell who the troubled end of a link is.
          const known = (peerId: string) => peerId === selfPeerId || !!context.participants[peerId];
          if (!known(e.peerId) || !known(e.reporterPeerId)) return;
          const report: LinkReport = {
            state: e.state,
            ...(e.attempt !== undefined ? { attempt: e.attempt } : {}),
            ...(e.maxAttempts !== undefined ? { maxAttempts: e.maxAttempts } : {}),
          };
          enqueue.assign({ linkReports: recordReport(context.linkReports, e.reporterPeerId, e.peerId, report) });
          return;
        }
        case "media-changed": {
          const flags: MediaFlags = { audio: e.audio, video: e.video, screen: e.screen };
          const ref = context.peers[e.peerId];
          if (ref) enqueue.sendTo(ref, { type: "REMOTE_MEDIA", flags });
          const p = context.participants[e.peerId];
          // Flags as they were (a repeat): the same participants object, so the room re-renders nothing.
          if (p && (p.audio !== flags.audio || p.video !== flags.video || p.screen !== flags.screen))
            enqueue.assign({ participants: { ...context.participants, [e.peerId]: { ...p, ...flags } } });
          return;
        }
        case "tile-view": {
          // How someone shows our video: their link's encoder is fitted to it (peer.machine.ts).
          if (e.peerId !== selfPeerId) return;
          const ref = context.peers[e.fromPeerId];
          if (ref)
            enqueue.sendTo(ref, { type: "REMOTE_VIEW", view: { width: e.width, height: e.height, shown: e.shown } });
          return;
        }
        case "moderation": {
          const m = moderationOfUs(context, event);
          if (!m) return;
          const kind =
            m.action === "mute" || m.action === "mute-all"
              ? "muted"
              : m.action === "ask-unmute"
                ? "ask-unmute"
                : m.action === "remove"
                  ? "removed"
                  : null;
          if (kind) enqueue.assign({ notice: { kind, by: m.actorName } });
          return;
        }
        case "permissions-changed":
          enqueue.assign({ permissions: e.permissions });
          return;
        case "hand-changed": {
          if (e.peerId === context.join?.peerId) {
            enqueue.assign({ handRaisedAt: e.handRaisedAt });
            return;
          }
          const p = context.participants[e.peerId];
          if (p)
            enqueue.assign({
              participants: { ...context.participants, [e.peerId]: { ...p, handRaisedAt: e.handRaisedAt } },
            });
          return;
        }
        default:
          return;
      }
    }),
    /** The permissions a room snapshot carries (absent from servers without host controls). */
    storePermissions: enqueueActions(({ event, enqueue }) => {
      if (event.type === "ROOM.SNAPSHOT" && event.permissions) enqueue.assign({ permissions: event.permissions });
    }),
    dismissNotice: assign({ notice: null }),
    /** A host removed us (the moderation event comes before the user-left). */
    kickedByHost: assign({ endReason: "kicked" as const }),
    /** Splits the uplink budget across however many remotes there are now. */
    applyBudget: enqueueActions(({ context, enqueue }) => {
      const refs = Object.values(context.peers);
      const budget = bitrateBudget(refs.length);
      for (const ref of refs) enqueue.sendTo(ref, { type: "SET_BUDGET", budget });
    }),
    routeIncomingCall: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SIGNALING.INCOMING_CALL");
      if (!context.join) return;
      if (context.refusedPeers.includes(event.remotePeerId)) {
        enqueue.sendTo("signaling", { type: "REJECT_CALL", call: event.call });
        return;
      }
      const ref = context.peers[event.remotePeerId];
      if (ref) {
        enqueue.sendTo(ref, { type: "INCOMING_CALL", call: event.call });
        return;
      }
      if (event.remotePeerId === context.join.peerId) return;
      // The call beat the room event announcing its caller: answer now, fill in details later.
      const remote = context.participants[event.remotePeerId] ?? placeholderParticipant(event.remotePeerId);
      const call = event.call;
      enqueue.assign({
        peers: ({ context: ctx, spawn }) => ({
          ...ctx.peers,
          [remote.peerId]: spawn("peer", {
            id: peerChildId(remote.peerId),
            input: { ...peerInput(ctx, remote, call), role: "callee" },
          }),
        }),
      });
    }),
    routeSignalingError: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SIGNALING.ERROR");
      if (!event.remotePeerId) return;
      const ref = context.peers[event.remotePeerId];
      if (ref) enqueue.sendTo(ref, { type: "CALL.ERROR", reason: event.reason });
    }),
    retryPeer: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "RETRY_PEER");
      const ref = context.peers[event.peerId];
      if (ref) enqueue.sendTo(ref, { type: "RETRY" });
    }),
    reportLink: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "PEER.LINK_STATE");
      // Nothing to say about someone the room no longer lists (they left).
      if (!context.sessionId || !context.peers[event.remotePeerId]) return;
      enqueue.spawnChild("reportLink", {
        // The "reportLink." prefix lets the machine ignore these children's failures (see the root "on").
        id: `reportLink.${event.remotePeerId}.${event.state}.${event.attempt}`,
        input: {
          sessionId: context.sessionId,
          remotePeerId: event.remotePeerId,
          state: event.state,
          attempt: event.attempt,
          maxAttempts: event.maxAttempts,
        },
      });
    }),
    // XState keeps a spawned child in the snapshot until it is stopped, finished or not: without
    // this every report of a long call (a few per link change) would stay in memory.
    forgetReport: enqueueActions(({ event, enqueue }) => {
      if ("actorId" in event) enqueue.stopChild(event.actorId);
    }),
    stopAllPeers: enqueueActions(({ context, enqueue }) => {
      for (const ref of Object.values(context.peers)) enqueue.stopChild(ref);
      enqueue.assign({ peers: {}, participants: {}, linkReports: {}, signaling: null });
    }),
    /** The room says we are out: record why (guards endsOurSession / removesUs chose the target). */
    removedFromRoom: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "ROOM.EVENT");
      if (!context.join) return;
      const e = event.event;
      if (e.type === "session-ended" && e.sessionId === context.join.sessionId) {
        enqueue.assign({ endReason: "session-ended" });
      } else if (e.type === "user-left" && e.peerId === context.join.peerId) {
        if (e.reason === "DROPPED") {
          enqueue.assign({ joinError: new JoinError("network", "the server dropped this connection") });
        } else {
          const reason: CallEndReason = e.reason === "KICKED" ? "kicked" : e.replaced ? "replaced" : "left";
          enqueue.assign({ endReason: reason });
        }
      }
    }),
  },
});

/** A caller we have not heard of from the room yet; REMOTE_UPDATED fills it in. */
function placeholderParticipant(peerId: string): RoomParticipant {
  return {
    userId: "",
    name: "",
    avatarUrl: null,
    peerId,
    joinedAt: new Date().toISOString(),
    audio: false,
    video: false,
    screen: false,
  };
}

function peerInput(context: CallContext, remote: RoomParticipant, incomingCall: CallHandle | null): PeerInput {
  const join = context.join;
  const local = { peerId: join?.peerId ?? "", joinedAt: join?.participant.joinedAt ?? "" };
  return {
    remote,
    localPeerId: local.peerId,
    role: shouldCall(local, remote) ? "caller" : "callee",
    localStream: context.localStream,
    signaling: context.signaling,
    audioTrack: context.audioTrack,
    videoTrack: context.screenTrack ?? context.videoTrack,
    budget: bitrateBudget(Object.keys(context.peers).length + 1),
    incomingCall,
    maxAttempts: MAX_RECONNECT_ATTEMPTS,
  };
}
