/**
 * One link to one remote participant. The call machine spawns one of these per remote and never
 * talks to PeerJS itself; everything that touches WebRTC lives in the `outgoingCall` /
 * `answerCall` actors (see actors/browser.ts), spawned under the fixed id "media" so commands can
 * be forwarded to whichever call is current.
 */
import {
  type SnapshotFrom,
  and,
  assertEvent,
  assign,
  enqueueActions,
  fromCallback,
  setup,
  spawnChild,
  stopChild,
} from "xstate";
import type { PeerFailureReason } from "./errors";
import type { SignalingHandle } from "./handles";
import type {
  AnswerCallInput,
  LinkStateChange,
  MediaCallCommand,
  MediaCallInputBase,
  OutgoingCallInput,
  Participation,
  PeerContext,
  PeerEmitted,
  PeerEvent,
  PeerInput,
} from "./peer.contracts";
import { type LinkEncoding, linkEncoding, sameEncoding } from "./link-encoding";
import { type SenderBudget, bitrateBudget, classifyQuality, degrade, nextQualityLevel, sameBudget } from "./quality";
import { MAX_RECONNECT_ATTEMPTS, nextRetryDelay } from "./reconnect-policy";
import type { LinkState } from "./room-protocol";

export type {
  AnswerCallInput,
  MediaCallCommand,
  MediaCallEvent,
  OutgoingCallInput,
  Participation,
  PeerContext,
  PeerEmitted,
  PeerEvent,
  PeerInput,
  PeerRole,
} from "./peer.contracts";

/**
 * The deterministic caller rule, evaluated independently on both ends: the participation that
 * joined later dials the one already in the room (it is the one that just learnt about the
 * other), and exact ties go to the larger peerId. For any pair exactly one side returns true, so
 * two members joining at the same instant never dial each other (glare).
 */
export function shouldCall(local: Participation, remote: Participation): boolean {
  if (local.peerId === remote.peerId) return false;
  const l = Date.parse(local.joinedAt);
  const r = Date.parse(remote.joinedAt);
  if (Number.isFinite(l) && Number.isFinite(r) && l !== r) return l > r;
  return local.peerId > remote.peerId;
}

/** What a person sees of a link, whatever state the machine is passing through. */
export type LinkPhase = "connecting" | "connected" | "reconnecting" | "lost";

/**
 * A re-dial passes idle / calling / connecting (or starts from the other end's call), and is
 * "reconnecting" all along, as long as an attempt is under way. ICE "disconnected" is still
 * connected to the eye: it usually heals by itself within the grace period; so is a call the other
 * end just closed (`closing`): most often they are leaving, and the room is about to say so.
 */
export function linkPhase(status: string, attempt: number): LinkPhase {
  if (status === "lost") return "lost";
  if (status === "connected" || status === "disconnected" || status === "closing") return "connected";
  if (status === "reconnecting" || attempt > 0) return "reconnecting";
  return "connecting";
}

/** Poor samples in a row (≈6 s at 2 s sampling) before we step the encoder down. */
const POOR_SAMPLES_BEFORE_DEGRADE = 3;
const QUALITY_HISTORY_LENGTH = 10;
const ICE_FAILED: readonly RTCIceConnectionState[] = ["failed", "closed"];

function notProvided<TInput>(name: string) {
  return fromCallback<MediaCallCommand, TInput>(({ sendBack }) => {
    sendBack({ type: "CALL.ERROR", reason: `${name} actor not provided` });
  });
}

/** While a call actor exists, commands go to it as well as into context (for future re-dials). */
const mediaCommands = {
  REPLACE_VIDEO_TRACK: { actions: ["rememberTrack" as const, "forwardTrack" as const] },
  REPLACE_AUDIO_TRACK: { actions: ["rememberTrack" as const, "forwardTrack" as const] },
  SET_BUDGET: { actions: { type: "setBaseBudget" as const, params: { forward: true } } },
  QUALITY_SAMPLE: { actions: { type: "handleQuality" as const, params: { forward: true } } },
  REMOTE_VIEW: { actions: { type: "setView" as const, params: { forward: true } } },
};

/** What the link's sender is set to: its budget, fitted to how the remote shows us. */
function encodingOf(context: Pick<PeerContext, "baseBudget" | "view">, budget: SenderBudget): LinkEncoding {
  return linkEncoding(budget, context.view, !sameBudget(budget, context.baseBudget));
}

export const peerMachine = setup({
  types: {
    context: {} as PeerContext,
    events: {} as PeerEvent,
    input: {} as PeerInput,
    emitted: {} as PeerEmitted,
  },
  actors: {
    outgoingCall: notProvided<OutgoingCallInput>("outgoingCall"),
    answerCall: notProvided<AnswerCallInput>("answerCall"),
    /**
     * Runs while a callee waits for the announced caller's offer. The browser holds back encoder
     * changes meanwhile (actors/negotiation-gate.ts); elsewhere there is nothing to do.
     */
    expectCall: fromCallback(() => {}),
  },
  delays: {
    retryDelay: ({ context }) => nextRetryDelay(context.attempt, Date.now() - (context.failedSince ?? Date.now())) ?? 0,
    disconnectGrace: 5_000,
    dialTimeout: 15_000,
    connectTimeout: 15_000,
    answerTimeout: 15_000,
    /**
     * How long a call the other end closed waits for the room to say they left (the call machine
     * then stops this peer quietly) before it counts as a failure. Someone leaving closes their
     * calls first and tells the server after, so the close arrives first; the room event follows
     * within a few hundred ms, but a busy server or a slow feed can take longer.
     */
    closeConfirm: 3_000,
  },
  guards: {
    hasPendingCall: ({ context }) => context.pendingCall !== null,
    shouldDial: ({ context }) => context.signaling !== null && (context.role === "caller" || context.dialOnRetry),
    isCallee: ({ context }) => context.role === "callee",
    canRetry: ({ context }) =>
      context.attempt < context.maxAttempts &&
      nextRetryDelay(context.attempt + 1, Date.now() - (context.failedSince ?? Date.now())) !== null,
    iceIn: ({ event }, params: { states: readonly RTCIceConnectionState[] }) =>
      event.type === "CALL.ICE_STATE" && params.states.includes(event.state),
    isNewStream: ({ context, event }) => event.type === "CALL.STREAM" && event.streamId !== context.remoteStreamId,
  },
  actions: {
    startOutgoingCall: spawnChild("outgoingCall", {
      id: "media",
      input: ({ context }): OutgoingCallInput => ({
        ...mediaInput(context),
        // shouldDial guarantees it; the fallback only satisfies the type checker.
        signaling: context.signaling ?? ({} as SignalingHandle),
      }),
    }),
    answerPendingCall: enqueueActions(({ context, enqueue }) => {
      const call = context.pendingCall;
      if (!call) return;
      enqueue.spawnChild("answerCall", { id: "media", input: { ...mediaInput(context), call } });
      enqueue.assign({ pendingCall: null });
    }),
    takeIncomingCall: assign({
      pendingCall: ({ event }) => {
        assertEvent(event, "INCOMING_CALL");
        return event.call;
      },
    }),
    stopMedia: enqueueActions(({ enqueue }) => {
      enqueue(stopChild("media"));
      // Stream ids survive a re-dial (the remote reuses its MediaStream), so forget the old one
      // or the new stream would be deduplicated away.
      enqueue.assign({ remoteStream: null, remoteStreamId: null });
    }),
    recordFailure: assign(({ context, event }, params: { reason: PeerFailureReason }) => ({
      attempt: context.attempt + 1,
      failedSince: context.failedSince ?? Date.now(),
      lastError:
        event.type === "CALL.ERROR" ? { reason: params.reason, detail: event.reason } : { reason: params.reason },
    })),
    /**
     * The other end re-dials a link we still held: it failed on their side, so we are reconnecting
     * too (shown as at least attempt 1; the attempts are theirs to count).
     */
    countRemoteRedial: assign(({ context }) => ({
      attempt: Math.max(context.attempt, 1),
      failedSince: context.failedSince ?? Date.now(),
    })),
    markConnected: assign({
      attempt: 0,
      failedSince: null,
      lastError: null,
      dialOnRetry: false,
    }),
    resetAttempts: assign({ attempt: 0, failedSince: null, dialOnRetry: true }),
    clearAttempts: assign({ attempt: 0, failedSince: null }),
    setSignaling: assign({
      signaling: ({ event }) => {
        assertEvent(event, "SIGNALING.UP");
        return event.signaling;
      },
    }),
    clearSignaling: assign({ signaling: null }),
    storeStream: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, "CALL.STREAM");
      enqueue.assign({ remoteStream: event.stream, remoteStreamId: event.streamId });
      enqueue.emit({ type: "STREAM_READY", remotePeerId: context.remote.peerId, stream: event.stream });
    }),
    setRemoteMedia: assign({
      remoteMedia: ({ context, event }) => {
        assertEvent(event, "REMOTE_MEDIA");
        const was = context.remoteMedia;
        const { audio, video, screen } = event.flags;
        // The same object for the same flags: the tile, which compares it, does not re-render.
        return was.audio === audio && was.video === video && was.screen === screen ? was : { ...event.flags };
      },
    }),
    /**
     * The room's latest word on this person, flags included: a peer spawned for a call that beat
     * the room event started from a placeholder (no name, mic and camera off), and no
     * media-changed follows for flags that never changed.
     */
    updateRemote: assign(({ event }) => {
      assertEvent(event, "REMOTE_UPDATED");
      const { audio, video, screen } = event.remote;
      return { remote: event.remote, remoteMedia: { audio, video, screen } };
    }),
    rememberTrack: assign(({ event, context }) => {
      assertEvent(event, ["REPLACE_VIDEO_TRACK", "REPLACE_AUDIO_TRACK"]);
      if (event.type === "REPLACE_VIDEO_TRACK") return { videoTrack: event.track };
      if (event.type === "REPLACE_AUDIO_TRACK") return { audioTrack: event.track };
      return context;
    }),
    refreshVideo: enqueueActions(({ enqueue }) => enqueue.sendTo("media", { type: "REFRESH_VIDEO" })),
    forwardTrack: enqueueActions(({ event, enqueue }) => {
      assertEvent(event, ["REPLACE_VIDEO_TRACK", "REPLACE_AUDIO_TRACK"]);
      enqueue.sendTo("media", { type: event.type, track: event.track });
    }),
    /**
     * Records the sample and adapts the encoder: step down after sustained "poor", go back to the
     * group budget once the (hysteresis-smoothed) level is good again.
     */
    handleQuality: enqueueActions(({ context, event, enqueue }, params: { forward: boolean }) => {
      assertEvent(event, "QUALITY_SAMPLE");
      const assessment = classifyQuality(event.sample);
      const history = [...context.qualityHistory, assessment.level].slice(-QUALITY_HISTORY_LENGTH);
      const level = context.qualityLevel ? nextQualityLevel(context.qualityLevel, history) : assessment.level;
      let poorStreak = level === "poor" ? context.poorStreak + 1 : 0;
      let budget = context.budget;
      if (poorStreak >= POOR_SAMPLES_BEFORE_DEGRADE) {
        budget = degrade(context.budget);
        poorStreak = 0;
      } else if (level === "good") {
        budget = context.baseBudget;
      }
      enqueue.assign({
        quality: { ...assessment, sample: event.sample },
        qualityHistory: history,
        qualityLevel: level,
        poorStreak,
        budget,
      });
      const encoding = encodingOf(context, budget);
      if (params.forward && !sameEncoding(encoding, encodingOf(context, context.budget))) {
        enqueue.sendTo("media", { type: "APPLY_BUDGET", budget: encoding });
      }
    }),
    setBaseBudget: enqueueActions(({ context, event, enqueue }, params: { forward: boolean }) => {
      assertEvent(event, "SET_BUDGET");
      // A link currently degraded for poor quality stays degraded relative to the new base.
      const degraded = !sameBudget(context.budget, context.baseBudget);
      const budget = degraded ? degrade(event.budget) : event.budget;
      enqueue.assign({ baseBudget: event.budget, budget });
      if (params.forward) {
        enqueue.sendTo("media", {
          type: "APPLY_BUDGET",
          budget: encodingOf({ baseBudget: event.budget, view: context.view }, budget),
        });
      }
    }),
    /** The remote told us how large it shows our video: re-fit this link's encoder to it. */
    setView: enqueueActions(({ context, event, enqueue }, params: { forward: boolean }) => {
      assertEvent(event, "REMOTE_VIEW");
      enqueue.assign({ view: event.view });
      const before = encodingOf(context, context.budget);
      const after = encodingOf({ ...context, view: event.view }, context.budget);
      if (params.forward && !sameEncoding(before, after)) {
        enqueue.sendTo("media", { type: "APPLY_BUDGET", budget: after });
      }
    }),
    announceLink: enqueueActions(({ context, enqueue, self }, params: { state: LinkState }) => {
      const change: LinkStateChange = {
        remotePeerId: context.remote.peerId,
        remoteUserId: context.remote.userId,
        state: params.state,
        attempt: context.attempt,
        maxAttempts: context.maxAttempts,
      };
      enqueue.emit({ type: "LINK_STATE", ...change });
      // Standalone (the unit tests) there is no parent to tell.
      if (self._parent) enqueue.sendParent({ type: "PEER.LINK_STATE", ...change });
    }),
  },
}).createMachine({
  id: "peer",
  context: ({ input }) => {
    const budget = input.budget ?? bitrateBudget(1);
    return {
      remote: input.remote,
      localPeerId: input.localPeerId,
      role: input.role,
      localStream: input.localStream,
      audioTrack: input.audioTrack ?? null,
      videoTrack: input.videoTrack ?? null,
      signaling: input.signaling ?? null,
      pendingCall: input.incomingCall ?? null,
      dialOnRetry: false,
      maxAttempts: input.maxAttempts ?? MAX_RECONNECT_ATTEMPTS,
      attempt: 0,
      failedSince: null,
      lastError: null,
      remoteStream: null,
      remoteStreamId: null,
      remoteMedia: { audio: input.remote.audio, video: input.remote.video, screen: input.remote.screen },
      quality: null,
      qualityLevel: null,
      qualityHistory: [],
      poorStreak: 0,
      baseBudget: budget,
      budget,
      view: null,
    };
  },
  initial: "idle",
  on: {
    INCOMING_CALL: { target: ".media.connecting", actions: ["stopMedia", "takeIncomingCall", "answerPendingCall"] },
    "CALL.STREAM": { guard: "isNewStream", actions: "storeStream" },
    REMOTE_MEDIA: { actions: "setRemoteMedia" },
    REMOTE_UPDATED: { actions: "updateRemote" },
    REPLACE_VIDEO_TRACK: { actions: "rememberTrack" },
    REPLACE_AUDIO_TRACK: { actions: "rememberTrack" },
    SET_BUDGET: { actions: { type: "setBaseBudget", params: { forward: false } } },
    QUALITY_SAMPLE: { actions: { type: "handleQuality", params: { forward: false } } },
    REMOTE_VIEW: { actions: { type: "setView", params: { forward: false } } },
    "SIGNALING.UP": { actions: "setSignaling" },
    "SIGNALING.DOWN": { actions: "clearSignaling" },
  },
  states: {
    /** Deciding who dials; a caller waits here while the signaling socket is down. */
    idle: {
      always: [
        { guard: "hasPendingCall", target: "media.connecting", actions: "answerPendingCall" },
        { guard: "shouldDial", target: "media.calling" },
        { guard: "isCallee", target: "answering" },
      ],
    },
    /** Callee waiting for the other side to dial (first time or after a failure). */
    answering: {
      invoke: { src: "expectCall" },
      after: { answerTimeout: fail("answer-timeout") },
    },
    /**
     * A call actor exists (exactly one, "media"): dialled, answered, up or briefly interrupted.
     * What every such state does alike lives here once; the states differ in how ICE moves them.
     */
    media: {
      // Never entered by itself: idle, INCOMING_CALL and lost's re-dial name the child to enter.
      initial: "calling",
      on: {
        // The other end hung up: leaving, most likely. Not a failure until the room fails to say so.
        "CALL.CLOSED": "#peer.closing",
        "CALL.ERROR": fail("call-error"),
        ...mediaCommands,
      },
      states: {
        calling: {
          entry: "startOutgoingCall",
          on: {
            // Both ends dialled at once (only possible after a user RETRY): the rule-designated caller
            // keeps its own call, the other side switches to answering.
            INCOMING_CALL: [
              {
                guard: "isCallee",
                target: "connecting",
                actions: ["stopMedia", "takeIncomingCall", "answerPendingCall"],
              },
              {},
            ],
            "CALL.ICE_STATE": [
              { guard: { type: "iceIn", params: { states: ["checking", "new"] } }, target: "connecting" },
              { guard: { type: "iceIn", params: { states: ["connected", "completed"] } }, target: "connected" },
              { guard: { type: "iceIn", params: { states: ["disconnected"] } }, target: "disconnected" },
              ...fail("ice-failed", ICE_FAILED),
            ],
          },
          after: { dialTimeout: fail("dial-timeout") },
        },
        connecting: {
          on: {
            "CALL.ICE_STATE": [
              { guard: { type: "iceIn", params: { states: ["connected", "completed"] } }, target: "connected" },
              { guard: { type: "iceIn", params: { states: ["disconnected"] } }, target: "disconnected" },
              ...fail("ice-failed", ICE_FAILED),
            ],
          },
          after: { connectTimeout: fail("dial-timeout") },
        },
        connected: {
          entry: ["markConnected", { type: "announceLink", params: { state: "connected" } }],
          on: {
            INCOMING_CALL: {
              target: "connecting",
              actions: ["countRemoteRedial", "stopMedia", "takeIncomingCall", "answerPendingCall"],
            },
            "CALL.ICE_STATE": [
              { guard: { type: "iceIn", params: { states: ["disconnected"] } }, target: "disconnected" },
              ...fail("ice-failed", ICE_FAILED),
            ],
            // An outage too short for ICE to notice still cost the other side its picture.
            "CALL.INBOUND_RESUMED": { actions: "refreshVideo" },
          },
        },
        /** ICE "disconnected" often heals by itself (Wi-Fi roam); give it a moment before re-dialling. */
        disconnected: {
          on: {
            INCOMING_CALL: {
              target: "connecting",
              actions: ["countRemoteRedial", "stopMedia", "takeIncomingCall", "answerPendingCall"],
            },
            "CALL.ICE_STATE": [
              {
                guard: { type: "iceIn", params: { states: ["connected", "completed"] } },
                target: "connected",
                actions: "refreshVideo",
              },
              ...fail("ice-failed", ICE_FAILED),
            ],
            // Media is back before ICE's next consent check says so; don't wait for it.
            "CALL.INBOUND_RESUMED": { actions: "refreshVideo" },
          },
          after: { disconnectGrace: fail("disconnect-timeout") },
        },
      },
    },
    /**
     * The other end closed the call. If they left, the room says so within `closeConfirm` and the
     * call machine stops this peer before anyone sees "Reconnecting" or a report is sent; if not,
     * it was a failure after all, and the link is re-dialled as usual.
     */
    closing: {
      entry: "stopMedia",
      after: { closeConfirm: fail("call-closed") },
    },
    reconnecting: {
      entry: ["stopMedia", { type: "announceLink", params: { state: "reconnecting" } }],
      after: { retryDelay: "idle" },
    },
    lost: {
      entry: ["stopMedia", { type: "announceLink", params: { state: "lost" } }],
      on: {
        RETRY: { target: "idle", actions: "resetAttempts" },
        // The remote pressed Retry: a fresh link, with a fresh attempt budget.
        INCOMING_CALL: {
          target: "media.connecting",
          actions: ["clearAttempts", "takeIncomingCall", "answerPendingCall"],
        },
      },
    },
  },
});

/**
 * Transitions for a failed attempt: count it, then re-dial or give up. `iceStates` narrows it to
 * CALL.ICE_STATE events reporting one of those states.
 */
function fail(reason: PeerFailureReason, iceStates?: readonly RTCIceConnectionState[]) {
  const actions = { type: "recordFailure" as const, params: { reason } };
  if (!iceStates) {
    return [
      { guard: "canRetry" as const, target: "#peer.reconnecting" as const, actions },
      { target: "#peer.lost" as const, actions },
    ];
  }
  const ice = { type: "iceIn" as const, params: { states: iceStates } };
  return [
    { guard: and([ice, "canRetry"]), target: "#peer.reconnecting" as const, actions },
    { guard: ice, target: "#peer.lost" as const, actions },
  ];
}

function mediaInput(context: PeerContext): MediaCallInputBase {
  return {
    localPeerId: context.localPeerId,
    remotePeerId: context.remote.peerId,
    localStream: context.localStream,
    audioTrack: context.audioTrack,
    videoTrack: context.videoTrack,
    budget: encodingOf(context, context.budget),
  };
}

export type PeerMachine = typeof peerMachine;
export type PeerStatus =
  "idle" | "answering" | "calling" | "connecting" | "connected" | "disconnected" | "closing" | "reconnecting" | "lost";

/** The innermost state of a peer ("calling", not { media: "calling" }): what linkPhase and tiles read. */
export function peerStatus(snapshot: SnapshotFrom<PeerMachine>): PeerStatus {
  const value: unknown = snapshot.value;
  return (typeof value === "string" ? value : Object.values(value as Record<string, string>)[0]) as PeerStatus;
}
