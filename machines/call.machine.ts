/**
 * The local side of a study-room call, as states: devices before joining, the server session, the
 * PeerJS signaling socket, the room feed and the published media flags. Its vocabulary is in
 * call.setup.ts, its actions in call.roster.ts (peers) and call.actions.ts (the rest), its device,
 * hand and views regions in call.devices.ts, call.hand.ts and call.views.ts, its actor
 * contracts in call.contracts.ts; the browser implementations live in actors/browser.ts.
 */
import type { SnapshotFrom } from "xstate";
import { callActionsSetup } from "./call.actions";
import { deviceRegion, requestOne } from "./call.devices";
import { handRegion } from "./call.hand";
import { viewsRegion } from "./call.views";
import type { CallContext } from "./call.setup";
import { DEFAULT_PERMISSIONS } from "./room-protocol";

export type {
  CallEndReason,
  CallInput,
  DeviceKind,
  JoinCallInput,
  JoinedCall,
  LocalMedia,
  LocalTracksCommand,
  PublishMediaInput,
  ReportLinkInput,
  RequestMediaInput,
  RoomFeedEvent,
  ScreenMedia,
  SessionRef,
  SignalingCommand,
  SignalingEvent,
  SignalingInput,
  WatchTrackInput,
} from "./call.contracts";
export { peerChildId, type PeerRef } from "./call.setup";

const machineSetup = callActionsSetup;

/** Hanging up before the call started: nothing to tell the server. */
const leaveNow = { target: "#call.left", actions: { type: "endBecause", params: { reason: "left" } } } as const;

/** After a failed signaling re-dial: wait and dial again, or give up and show "Reconnect". */
const redialOrGiveUp = [
  {
    guard: "canRetrySignaling",
    target: "#call.inCall.signaling.reconnecting.waiting",
    actions: "countSignalingAttempt",
  },
  { target: "#call.inCall.signaling.offline" },
] as const;

const sessionRef = ({ context }: { context: CallContext }) => ({
  studyId: context.studyId,
  sessionId: context.join?.sessionId ?? "",
});

export const callMachine = machineSetup.createMachine({
  id: "call",
  context: ({ input }) => ({
    studyId: input.studyId,
    sessionId: input.sessionId,
    self: input.self,
    autoStartMedia: input.autoStartMedia ?? true,
    devices: { audio: null, video: null },
    localStream: null,
    audioTrack: null,
    videoTrack: null,
    screenStream: null,
    screenTrack: null,
    wantAudio: true,
    wantVideo: true,
    mediaError: null,
    joinError: null,
    join: null,
    warm: null,
    signaling: null,
    signalingAttempt: 0,
    signalingFailedSince: null,
    peers: {},
    linkReports: {},
    participants: {},
    media: { audio: false, video: false, screen: false },
    speaking: false,
    publishPending: false,
    feedAttempt: 0,
    publishAttempt: 0,
    heartbeatFailing: false,
    endReason: null,
    handRaisedAt: null,
    tiles: {},
    pageVisible: true,
    toldViews: {},
    viewsInFlight: [],
    permissions: DEFAULT_PERMISSIONS,
    notice: null,
    refusedPeers: [],
    hostActionCount: 0,
    hostActionError: null,
  }),
  invoke: [
    // Owns the camera/mic tracks for the machine's whole life, so stopping the machine (or the
    // page navigating away) always turns the camera light off.
    { src: "localTracks", id: "tracks" },
    // Opens the signaling socket on a pre-join grant while the user looks at the pre-join screen,
    // so the click only needs the join request; lives as long as the machine so the socket it
    // offered survives from the click to the signaling actor that adopts it (HOLD, HAND_OVER, STOP).
    { src: "warmUp", id: "warmUp", input: ({ context }) => ({ studyId: context.studyId }) },
  ],
  on: {
    /**
     * A link report is advisory, and the server refuses one about someone who has just left (their
     * call closes before the room event arrives). An unhandled child error would put the whole call
     * machine into its error state and tear the call down, so it is dropped here.
     */
    "xstate.error.actor.reportLink.*": { actions: "forgetReport" },
    "xstate.done.actor.reportLink.*": { actions: "forgetReport" },
    // A host action's answer may come after we left; it is never the call's failure either.
    "xstate.done.actor.hostAction.*": { actions: "hostActionDone" },
    "xstate.error.actor.hostAction.*": { actions: "hostActionFailed" },
  },
  initial: "prejoin",
  states: {
    prejoin: {
      initial: "start",
      on: {
        JOIN: { target: "joining", actions: ["rememberSession", "holdWarm"] },
        "WARM.READY": { actions: "storeWarm" },
        "WARM.LOST": { actions: "forgetWarm" },
        LEAVE: leaveNow,
        RETRY_DEVICES: { target: ".requestingDevices", actions: "releaseLocalMedia" },
        SELECT_DEVICE: { target: ".requestingDevices", actions: ["selectDevice", "releaseLocalMedia"] },
        TOGGLE_AUDIO: { actions: { type: "toggleWant", params: { kind: "audio" } } },
        TOGGLE_VIDEO: { actions: { type: "toggleWant", params: { kind: "video" } } },
      },
      states: {
        start: {
          always: [{ guard: "autoStartMedia", target: "requestingDevices" }, { target: "idle" }],
        },
        /** Media not requested yet (autoStartMedia: false). */
        idle: {},
        requestingDevices: {
          invoke: {
            src: "requestMedia",
            input: ({ context }) => ({
              audio: true,
              // A camera the user turned off is not opened again (e.g. when picking a microphone).
              video: context.wantVideo,
              audioDeviceId: context.devices.audio,
              videoDeviceId: context.devices.video,
            }),
            onDone: { target: "ready", actions: "storeLocalMedia" },
            onError: [
              {
                guard: { type: "mediaErrorIs", params: { reason: "denied" } },
                target: "denied",
                actions: "storeMediaError",
              },
              {
                guard: { type: "mediaErrorIs", params: { reason: "no-device" } },
                target: "noDevice",
                actions: "storeMediaError",
              },
              {
                guard: { type: "mediaErrorIs", params: { reason: "in-use" } },
                target: "inUse",
                actions: "storeMediaError",
              },
              { target: "failed", actions: "storeMediaError" },
            ],
          },
        },
        ready: {
          on: {
            // As in the call: the preview's camera is let go while off and asked for again. (Here a
            // held camera is always a wanted one: storeLocalMedia lets go of an unwanted one.)
            TOGGLE_VIDEO: [
              { guard: "hasCamera", actions: [{ type: "toggleWant", params: { kind: "video" } }, "releaseCamera"] },
              {
                guard: "wantsNoVideo",
                target: "acquiringVideo",
                actions: { type: "toggleWant", params: { kind: "video" } },
              },
              { actions: { type: "toggleWant", params: { kind: "video" } } },
            ],
          },
        },
        acquiringVideo: {
          invoke: {
            src: "requestMedia",
            input: ({ context }) => requestOne(context, "video"),
            onDone: { target: "ready", actions: { type: "storeAcquired", params: { kind: "video" } } },
            onError: {
              target: "ready",
              actions: [{ type: "toggleWant", params: { kind: "video" } }, "storeMediaError"],
            },
          },
          on: { TOGGLE_VIDEO: { target: "ready", actions: { type: "toggleWant", params: { kind: "video" } } } },
        },
        denied: {},
        noDevice: {},
        inUse: {},
        failed: {},
      },
    },
    joining: {
      invoke: {
        src: "joinCall",
        input: ({ context }) => ({
          studyId: context.studyId,
          sessionId: context.sessionId,
          ...(context.warm ? { grant: context.warm.grant } : {}),
        }),
        onDone: { target: "inCall", actions: ["storeJoin", "settleWarm"] },
        onError: { target: "joinFailed", actions: ["storeJoinError", "dropWarm"] },
      },
      on: { LEAVE: leaveNow },
    },
    joinFailed: {
      on: {
        RETRY: "joining",
        LEAVE: leaveNow,
        TOGGLE_AUDIO: { actions: { type: "toggleWant", params: { kind: "audio" } } },
        TOGGLE_VIDEO: { actions: { type: "toggleWant", params: { kind: "video" } } },
      },
    },
    inCall: {
      type: "parallel",
      entry: ["initPublishedMedia", "syncPeers", "applyBudget"],
      exit: "stopAllPeers",
      invoke: {
        src: "signaling",
        id: "signaling",
        input: ({ context }) => ({
          peerId: context.join?.peerId ?? "",
          iceServers: context.join?.iceServers ?? [],
          iceTransportPolicy: context.join?.iceTransportPolicy ?? "all",
          warm: context.join?.warm ? (context.warm?.handle ?? null) : null,
        }),
      },
      on: {
        LEAVE: "leaving",
        "PEER.LINK_STATE": { actions: ["reportLink", "resendViewOnConnect"] },
        RETRY_PEER: { actions: "retryPeer" },
        "SIGNALING.INCOMING_CALL": { actions: ["routeIncomingCall", "applyBudget"] },
        DISMISS_NOTICE: { actions: "dismissNotice" },
        HOST_ACTION: { actions: "sendHostAction" },
        "SIGNALING.ERROR": { actions: "routeSignalingError" },
      },
      states: {
        audio: deviceRegion("audio"),
        video: deviceRegion("video"),
        hand: handRegion,
        views: viewsRegion,
        screen: {
          initial: "off",
          states: {
            off: {
              on: {
                START_SHARE: [
                  { guard: { type: "withheld", params: { permission: "screenShare" } } },
                  { target: "starting" },
                ],
              },
            },
            starting: {
              invoke: {
                src: "displayMedia",
                onDone: { target: "on", actions: "startScreen" },
                // Most often the user cancelled the browser's picker; nothing to undo.
                onError: { target: "off", actions: "storeMediaError" },
              },
              on: { STOP_SHARE: "off", "ROOM.EVENT": { guard: "withdrawsScreen", target: "off" } },
            },
            on: {
              invoke: {
                src: "watchScreenTrack",
                input: ({ context }) => ({ track: context.screenTrack as MediaStreamTrack }),
              },
              on: {
                STOP_SHARE: { target: "off", actions: "stopScreen" },
                // The browser's own "Stop sharing" bar ends the track without asking us.
                SCREEN_TRACK_ENDED: { target: "off", actions: "stopScreen" },
                // A host kept screen sharing to hosts: the share ends here too (the server already says so).
                "ROOM.EVENT": { guard: "withdrawsScreen", target: "off", actions: "stopScreen" },
              },
            },
          },
        },
        signaling: {
          initial: "connecting",
          states: {
            connecting: {
              on: {
                "SIGNALING.OPEN": { target: "online", actions: "signalingUp" },
                "SIGNALING.DISCONNECTED": { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
                "SIGNALING.CLOSED": { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
              },
              after: {
                signalingOpenTimeout: { target: "#call.joinFailed", actions: "failJoinOnSignaling" },
              },
            },
            online: {
              on: {
                "SIGNALING.DISCONNECTED": { target: "reconnecting", actions: "signalingDown" },
                "SIGNALING.CLOSED": { target: "offline", actions: "signalingDown" },
              },
            },
            reconnecting: {
              initial: "waiting",
              on: {
                "SIGNALING.OPEN": { target: "online", actions: "signalingUp" },
                "SIGNALING.CLOSED": "offline",
              },
              states: {
                waiting: {
                  after: { signalingRetryDelay: { target: "dialing", actions: "reconnectSignaling" } },
                },
                dialing: {
                  on: { "SIGNALING.DISCONNECTED": redialOrGiveUp, "SIGNALING.ERROR": redialOrGiveUp },
                  after: { signalingOpenTimeout: redialOrGiveUp },
                },
              },
            },
            /** Gave up re-connecting to the signaling server; existing calls may still work. */
            offline: {
              on: { RETRY_SIGNALING: { target: "reconnecting", actions: "restartSignalingAttempts" } },
            },
          },
        },
        /**
         * The server side of our participation: the heartbeat that keeps it alive, and the room
         * feed (who is here). A feed that fails is subscribed again on the retry schedule, then
         * given up on (`lost`, "Reconnect"); so is a heartbeat whose retries all failed
         * (`heartbeatFailing`) — either way the user sees it (`serverTrouble`).
         */
        room: {
          initial: "live",
          invoke: { src: "heartbeat", id: "heartbeat", input: sessionRef },
          on: {
            "HEARTBEAT.FAILED": { actions: { type: "setHeartbeatFailing", params: { failing: true } } },
            "HEARTBEAT.OK": { actions: { type: "setHeartbeatFailing", params: { failing: false } } },
            RETRY_SERVER: { actions: "beatNow" },
          },
          states: {
            live: {
              invoke: { src: "roomEvents", id: "roomEvents", input: sessionRef },
              on: {
                "ROOM.SNAPSHOT": { actions: ["clearFeedFailures", "storePermissions", "syncPeers", "applyBudget"] },
                "ROOM.EVENT": [
                  // Removed by a host, also while signaling connects or re-dials: out now.
                  {
                    guard: "removesUsByHost",
                    target: "#call.removed",
                    actions: ["handleRoomEvent", "kickedByHost"],
                  },
                  { guard: "endsOurSession", target: "#call.left", actions: "removedFromRoom" },
                  { guard: "removesUs", target: "#call.removed", actions: "removedFromRoom" },
                  { guard: "changesRoster", actions: ["handleRoomEvent", "applyBudget"] },
                  { actions: "handleRoomEvent" },
                ],
                "ROOM.FEED_FAILED": [
                  { guard: "canRetryFeed", target: "retrying", actions: "countFeedFailure" },
                  { target: "lost" },
                ],
              },
            },
            retrying: { after: { feedRetryDelay: "live" } },
            /** The feed could not be restored: people joining or leaving are not seen. */
            lost: { on: { RETRY_SERVER: { target: "live", actions: ["clearFeedFailures", "beatNow"] } } },
          },
        },
        /**
         * Serialises setMedia calls and always ends on the latest flags. A failed publish is tried
         * again on the retry schedule, then shown (`failed`) until the next change or RETRY_SERVER.
         */
        publish: {
          initial: "init",
          // Talking starts and stops are published too (the server accrues speaking time).
          on: { "SELF.SPEAKING": { actions: "noteSpeaking" } },
          states: {
            // The server records a join as microphone and camera on; only a difference is published.
            init: { always: [{ guard: "mediaMatchesJoin", target: "idle" }, { target: "publishing" }] },
            idle: { on: { "MEDIA.CHANGED": "publishing" } },
            publishing: {
              entry: "clearPublishPending",
              invoke: {
                src: "publishMedia",
                input: ({ context }) => ({
                  sessionId: context.join?.sessionId ?? "",
                  ...context.media,
                  speaking: context.speaking,
                }),
                onDone: [
                  { guard: "publishPending", target: "publishing", reenter: true, actions: "clearPublishFailures" },
                  { target: "idle", actions: "clearPublishFailures" },
                ],
                onError: [
                  { guard: "publishPending", target: "publishing", reenter: true },
                  { guard: "canRetryPublish", target: "retrying", actions: "countPublishFailure" },
                  { target: "failed" },
                ],
              },
              on: { "MEDIA.CHANGED": { actions: "markPublishPending" } },
            },
            retrying: {
              after: { publishRetryDelay: "publishing" },
              // The retry sends the latest flags anyway.
              on: { "MEDIA.CHANGED": {} },
            },
            /** The others may be seeing stale mute/camera flags. */
            failed: {
              on: {
                "MEDIA.CHANGED": { target: "publishing", actions: "clearPublishFailures" },
                RETRY_SERVER: { target: "publishing", actions: "clearPublishFailures" },
              },
            },
          },
        },
      },
    },
    /** The server removed our participation (dropped or kicked). */
    removed: {
      always: [{ guard: "droppedByServer", target: "joinFailed" }, { target: "left" }],
    },
    leaving: {
      invoke: {
        src: "leaveCall",
        input: sessionRef,
        onDone: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
        // Leaving must always succeed locally; the server drops us after missed heartbeats anyway.
        onError: { target: "left", actions: { type: "endBecause", params: { reason: "left" } } },
      },
    },
    left: {
      type: "final",
      entry: "releaseAllMedia",
    },
  },
});

export type CallMachine = typeof callMachine;

/**
 * What the user should be told about the server link, or null: the room feed was given up on,
 * our heartbeat keeps failing (the server may drop us), or our mute/camera flags did not reach
 * the others.
 */
export type ServerTrouble = "room-feed" | "heartbeat" | "publish";

export function serverTrouble(s: SnapshotFrom<CallMachine>): ServerTrouble | null {
  if (!s.matches("inCall")) return null;
  if (s.matches({ inCall: { room: "lost" } })) return "room-feed";
  if (s.context.heartbeatFailing) return "heartbeat";
  if (s.matches({ inCall: { publish: "failed" } })) return "publish";
  return null;
}
