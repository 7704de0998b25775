/**
 * The call machine's own actions (devices, the published media flags, the signaling socket, the
 * server link), added to the roster's. The states that use them are in call.machine.ts.
 */
import { assertEvent, assign, enqueueActions, sendTo } from "xstate";
import type { CallEndReason, DeviceKind, JoinedCall, LocalMedia, ScreenMedia } from "./call.contracts";
import { rosterSetup } from "./call.roster";
import { JoinError, toHostActionError, toJoinError, toMediaError } from "./errors";
import { changedViews } from "./link-encoding";
import type { MediaFlags } from "./room-protocol";

const present = (t: MediaStreamTrack | null): t is MediaStreamTrack => t !== null;

/**
 * The output of the invoked actor whose completion is being handled. XState types an action's
 * event as the machine's own events, not the `xstate.done.actor.*` event that runs it, so the one
 * unavoidable cast lives here; every action that calls it is only wired to onDone.
 */
function outputOf<T>(event: object): T {
  if (!("output" in event)) throw new Error("expected an xstate.done.actor event");
  return event.output as T;
}

export const callActionsSetup = rosterSetup.extend({
  actions: {
    storeLocalMedia: enqueueActions(({ context, event, enqueue }) => {
      const media = outputOf<LocalMedia>(event);
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks: [media.audioTrack, media.videoTrack].filter(present) });
      // The preview follows the prejoin toggles the user already set; a camera turned off while
      // the browser was still asking is let go at once.
      if (media.audioTrack)
        enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track: media.audioTrack, enabled: context.wantAudio });
      const videoTrack = context.wantVideo ? media.videoTrack : null;
      if (media.videoTrack && !videoTrack)
        enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [media.videoTrack] });
      enqueue.assign({
        localStream: media.stream,
        audioTrack: media.audioTrack,
        videoTrack,
        mediaError: null,
      });
    }),
    storeMediaError: assign({
      mediaError: ({ event }) => ("error" in event ? toMediaError(event.error) : null),
    }),
    releaseLocalMedia: enqueueActions(({ context, enqueue }) => {
      const tracks = [context.audioTrack, context.videoTrack].filter(present);
      if (tracks.length) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks });
      enqueue.assign({ localStream: null, audioTrack: null, videoTrack: null });
    }),
    selectDevice: assign({
      devices: ({ context, event }) => {
        assertEvent(event, "SELECT_DEVICE");
        return { ...context.devices, [event.kind]: event.deviceId };
      },
    }),
    toggleWant: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const want = params.kind === "audio" ? !context.wantAudio : !context.wantVideo;
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track, enabled: want });
      enqueue.assign(params.kind === "audio" ? { wantAudio: want } : { wantVideo: want });
    }),
    storeJoin: assign(({ event }) => {
      const join = outputOf<JoinedCall>(event);
      return { join, sessionId: join.sessionId, joinError: null, endReason: null };
    }),
    rememberSession: assign({
      sessionId: ({ context, event }) => {
        assertEvent(event, "JOIN");
        return event.sessionId ? event.sessionId : context.sessionId;
      },
    }),
    storeHand: assign({ handRaisedAt: ({ event }) => outputOf<{ handRaisedAt: string | null }>(event).handRaisedAt }),
    clearHand: assign({ handRaisedAt: null }),
    /** Pre-join warm-up (`warmUp`): the socket on offer, which the click joins with. */
    storeWarm: assign({
      warm: ({ event }) => {
        assertEvent(event, "WARM.READY");
        return event.warm;
      },
    }),
    forgetWarm: assign({ warm: null }),
    /** Join clicked: the warm-up keeps the socket it offered and stops renewing. */
    holdWarm: sendTo("warmUp", { type: "WARM.HOLD" }),
    /** The join answered: its participation took the warm socket over, or it went cold and the socket goes. */
    settleWarm: enqueueActions(({ context, enqueue }) => {
      const tookOver = !!context.join?.warm && context.warm !== null;
      enqueue.sendTo("warmUp", { type: tookOver ? "WARM.HAND_OVER" : "WARM.STOP" });
      if (!tookOver) enqueue.assign({ warm: null });
    }),
    dropWarm: enqueueActions(({ enqueue }) => {
      enqueue.sendTo("warmUp", { type: "WARM.STOP" });
      enqueue.assign({ warm: null });
    }),
    storeJoinError: assign({
      joinError: ({ event }) => ("error" in event ? toJoinError(event.error) : null),
    }),
    // The server starts a non-host with a track off when the call keeps it to hosts (join.participant).
    initPublishedMedia: assign(({ context }) => ({
      media: {
        audio: context.wantAudio && context.audioTrack !== null && context.join?.participant.audio !== false,
        video: context.wantVideo && context.videoTrack !== null && context.join?.participant.video !== false,
        screen: false,
      },
      speaking: false,
      publishPending: false,
      publishAttempt: 0,
      feedAttempt: 0,
      heartbeatFailing: false,
    })),
    setFlag: enqueueActions(({ context, enqueue }, params: { kind: keyof MediaFlags; on: boolean }) => {
      const track = params.kind === "audio" ? context.audioTrack : params.kind === "video" ? context.videoTrack : null;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track, enabled: params.on });
      enqueue.assign({ media: { ...context.media, [params.kind]: params.on } });
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    /** A change of our own voice activity is published like a media change. */
    noteSpeaking: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SELF.SPEAKING");
      if (event.speaking === context.speaking) return;
      enqueue.assign({ speaking: event.speaking });
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    storeAcquired: enqueueActions(({ context, event, enqueue }, params: { kind: DeviceKind }) => {
      const media = outputOf<LocalMedia>(event);
      const track = params.kind === "audio" ? media.audioTrack : media.videoTrack;
      if (!track) return;
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks: [track] });
      enqueue.assign(params.kind === "audio" ? { audioTrack: track } : { videoTrack: track });
      if (!context.localStream) enqueue.assign({ localStream: media.stream });
      // Calls were negotiated with placeholder tracks; swap the real one in, unless the video
      // sender is busy with a screen share (the camera comes back when sharing stops).
      const command =
        params.kind === "audio"
          ? ({ type: "REPLACE_AUDIO_TRACK", track } as const)
          : context.screenTrack
            ? null
            : ({ type: "REPLACE_VIDEO_TRACK", track } as const);
      if (command) for (const ref of Object.values(context.peers)) enqueue.sendTo(ref, command);
    }),
    /**
     * Camera off lets go of the camera, so its light goes out, as people expect; turning it on
     * asks for it again (the `acquiring` state). Peers stop getting video (they show the avatar
     * from the published flags); while sharing, their senders carry the screen and stopping the
     * share puts no camera back.
     */
    releaseCamera: enqueueActions(({ context, enqueue }) => {
      if (!context.videoTrack) return;
      enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [context.videoTrack] });
      if (!context.screenTrack) {
        for (const ref of Object.values(context.peers))
          enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: null });
      }
      enqueue.assign({ videoTrack: null });
    }),
    releaseTrack: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [track] });
    }),
    enableAsPublished: enqueueActions(({ context, enqueue }, params: { kind: DeviceKind }) => {
      const track = params.kind === "audio" ? context.audioTrack : context.videoTrack;
      if (track) enqueue.sendTo("tracks", { type: "TRACKS.ENABLE", track, enabled: context.media[params.kind] });
    }),
    startScreen: enqueueActions(({ context, event, enqueue }) => {
      const screen = outputOf<ScreenMedia>(event);
      enqueue.sendTo("tracks", { type: "TRACKS.ADOPT", tracks: [screen.videoTrack] });
      enqueue.assign({
        screenStream: screen.stream,
        screenTrack: screen.videoTrack,
        media: { ...context.media, screen: true },
        mediaError: null,
      });
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: screen.videoTrack });
      }
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    stopScreen: enqueueActions(({ context, enqueue }) => {
      if (context.screenTrack) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks: [context.screenTrack] });
      // Back to the camera; with the camera off that is no track at all, never the shared screen's
      // last frame.
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "REPLACE_VIDEO_TRACK", track: context.videoTrack });
      }
      enqueue.assign({ screenStream: null, screenTrack: null, media: { ...context.media, screen: false } });
      enqueue.raise({ type: "MEDIA.CHANGED" });
    }),
    markPublishPending: assign({ publishPending: true }),
    clearPublishPending: assign({ publishPending: false }),
    countPublishFailure: assign({ publishAttempt: ({ context }) => context.publishAttempt + 1 }),
    clearPublishFailures: assign({ publishAttempt: 0 }),
    countFeedFailure: assign({ feedAttempt: ({ context }) => context.feedAttempt + 1 }),
    clearFeedFailures: assign({ feedAttempt: 0 }),
    setHeartbeatFailing: assign((_, params: { failing: boolean }) => ({ heartbeatFailing: params.failing })),
    beatNow: sendTo("heartbeat", { type: "BEAT_NOW" }),
    signalingUp: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "SIGNALING.OPEN");
      enqueue.assign({ signaling: event.handle, signalingAttempt: 0, signalingFailedSince: null });
      for (const ref of Object.values(context.peers)) {
        enqueue.sendTo(ref, { type: "SIGNALING.UP", signaling: event.handle });
      }
    }),
    signalingDown: enqueueActions(({ context, enqueue }) => {
      // Established calls are peer-to-peer and keep flowing; only new dials must wait.
      for (const ref of Object.values(context.peers)) enqueue.sendTo(ref, { type: "SIGNALING.DOWN" });
      enqueue.assign({ signaling: null, signalingAttempt: 1, signalingFailedSince: Date.now() });
    }),
    countSignalingAttempt: assign({ signalingAttempt: ({ context }) => context.signalingAttempt + 1 }),
    restartSignalingAttempts: assign({ signalingAttempt: 1, signalingFailedSince: () => Date.now() }),
    reconnectSignaling: sendTo("signaling", { type: "RECONNECT" }),
    failJoinOnSignaling: assign({
      joinError: ({ event }) =>
        new JoinError("signaling", event.type === "SIGNALING.ERROR" ? event.reason : "signaling server unreachable"),
    }),
    releaseAllMedia: enqueueActions(({ context, enqueue }) => {
      const tracks = [context.audioTrack, context.videoTrack, context.screenTrack].filter(present);
      if (tracks.length) enqueue.sendTo("tracks", { type: "TRACKS.RELEASE", tracks });
      enqueue.assign({ localStream: null, audioTrack: null, videoTrack: null, screenStream: null, screenTrack: null });
    }),
    endBecause: assign((_, params: { reason: CallEndReason }) => ({ endReason: params.reason })),
    /**
     * A host control goes to the server as its own child ("hostAction.<n>"), so muting Bob and
     * then Carol at once sends both; the root handles every such child's ending.
     */
    sendHostAction: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "HOST_ACTION");
      if (!context.join) return;
      const n = context.hostActionCount + 1;
      enqueue.assign({ hostActionCount: n });
      enqueue.spawnChild("hostAction", {
        id: `hostAction.${n}`,
        input: { sessionId: context.join.sessionId, action: event.action },
      });
    }),
    /** The server took it (the room tells everyone what changed); a refusal shown before is over. */
    hostActionDone: enqueueActions(({ event, enqueue }) => {
      if ("actorId" in event) enqueue.stopChild(event.actorId);
      enqueue.assign({ hostActionError: null });
    }),
    /** The server refused it, or it never got there: the room says why (a new object each time). */
    hostActionFailed: enqueueActions(({ event, enqueue }) => {
      if ("actorId" in event) enqueue.stopChild(event.actorId);
      enqueue.assign({ hostActionError: toHostActionError("error" in event ? event.error : undefined) });
    }),
    // How we show the others' videos (call.views.ts): the stage measures, the machine decides what to tell.
    storeTiles: assign(({ event }) => {
      assertEvent(event, "VIEW.TILES");
      return { tiles: event.tiles };
    }),
    storePageVisibility: assign(({ event }) => {
      assertEvent(event, "VIEW.PAGE");
      return { pageVisible: event.visible };
    }),
    /** Takes the views to send now and counts them as told (a failure forgets them all again). */
    takeViewChanges: assign(({ context }) => {
      const peerIds = Object.keys(context.peers);
      const changes = changedViews(peerIds, context.tiles, context.pageVisible, context.toldViews);
      const told = Object.fromEntries(Object.entries(context.toldViews).filter(([id]) => id in context.peers));
      for (const { peerId, ...view } of changes) told[peerId] = view;
      return { toldViews: told, viewsInFlight: changes };
    }),
    forgetToldViews: assign({ toldViews: {} }),
    /** A link (re)connected: its sender may be new (a re-dial keeps the view, a rejoin does not). */
    resendViewOnConnect: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "PEER.LINK_STATE");
      if (event.state !== "connected" || !context.toldViews[event.remotePeerId]) return;
      const { [event.remotePeerId]: _resent, ...told } = context.toldViews;
      enqueue.assign({ toldViews: told });
      enqueue.raise({ type: "VIEW.RESEND" });
    }),
  },
});
