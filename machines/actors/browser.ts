/**
 * Browser implementations of every actor the call and peer machines invoke. Not exercised by the
 * unit tests (they need real WebRTC); the machines' contracts are tested with fakes instead.
 *
 *   const machine = callMachine.provide({ actors: createBrowserCallActors({ api, peerServer }) });
 */
import type Peer from "peerjs";
import type { MediaConnection } from "peerjs";
import { fromCallback, fromPromise, type EventObject } from "xstate";
import type { CallApi } from "../call-api";
import type {
  LocalMedia,
  LocalTracksCommand,
  RequestMediaInput,
  ScreenMedia,
  SignalingCommand,
  SignalingEvent,
  SignalingInput,
  WatchTrackInput,
} from "../call.contracts";
import { callMachine } from "../call.machine";
import { signalingRetryDelayWith } from "../call.setup";
import { MediaError, type MediaErrorReason } from "../errors";
import { fromHandle, toCallHandle, toSignalingHandle } from "../handles";
import type { AnswerCallInput, MediaCallCommand, MediaCallEvent, OutgoingCallInput } from "../peer.contracts";
import { peerMachine } from "../peer.machine";
import { sameEncoding, type LinkEncoding } from "../link-encoding";
import { type StatsSampler, createStatsSampler, sharedStatsSampler } from "./stats-sampler";
import { sharedInboundSilenceWatcher } from "./inbound-silence";
import { type NegotiationGate, pageReadsWait, sharedNegotiationGate } from "./negotiation-gate";
import { mark } from "./marks";
import { openPeer, type PeerServerOptions } from "./peer-socket";
import { createServerActors } from "./server";
import { createWarmUp } from "./warm-up";

export interface BrowserCallDeps {
  api: CallApi;
  peerServer: PeerServerOptions;
  /** Must stay well under the server's stale-participant timeout. */
  heartbeatIntervalMs?: number;
  /** Quality sampling period; calls share one page-wide sampler unless this is set. */
  statsIntervalMs?: number;
}

const CAMERA_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 640 },
  height: { ideal: 360 },
  frameRate: { ideal: 30, max: 30 },
};

// ---------------------------------------------------------------------------------------------
// Devices
// ---------------------------------------------------------------------------------------------

function mediaErrorReason(error: unknown): MediaErrorReason {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no-device";
    case "NotReadableError":
    case "AbortError":
      return "in-use";
    default:
      return "unknown";
  }
}

function toMediaErrorFromDom(error: unknown): MediaError {
  return new MediaError(mediaErrorReason(error), error instanceof Error ? error.message : undefined);
}

async function getUserMedia(audio: boolean, video: boolean, input: RequestMediaInput): Promise<MediaStream> {
  return navigator.mediaDevices.getUserMedia({
    audio: audio ? (input.audioDeviceId ? { deviceId: { exact: input.audioDeviceId } } : true) : false,
    video: video
      ? { ...CAMERA_CONSTRAINTS, ...(input.videoDeviceId ? { deviceId: { exact: input.videoDeviceId } } : {}) }
      : false,
  });
}

function asLocalMedia(stream: MediaStream): LocalMedia {
  return {
    stream,
    audioTrack: stream.getAudioTracks()[0] ?? null,
    videoTrack: stream.getVideoTracks()[0] ?? null,
  };
}

/**
 * The machine may leave the requesting state (JOIN listen-only, LEAVE) before the permission
 * prompt is answered; a stream that arrives after that would keep the camera on with nobody
 * owning it, so it is stopped here.
 */
function keepUnlessAborted(stream: MediaStream, signal: AbortSignal): MediaStream {
  if (signal.aborted) {
    for (const t of stream.getTracks()) t.stop();
    throw new MediaError("unknown", "request abandoned");
  }
  return stream;
}

const requestMedia = fromPromise<LocalMedia, RequestMediaInput>(async ({ input, signal }) => {
  if (!navigator.mediaDevices?.getUserMedia)
    throw new MediaError("unknown", "getUserMedia unavailable (insecure origin?)");
  try {
    return asLocalMedia(keepUnlessAborted(await getUserMedia(input.audio, input.video, input), signal));
  } catch (error) {
    if (error instanceof MediaError) throw error;
    // Asking for both fails as a whole when one kind is missing; a laptop without a camera
    // should still join with its microphone.
    if (!(input.audio && input.video) || mediaErrorReason(error) !== "no-device") throw toMediaErrorFromDom(error);
  }
  for (const [audio, video] of [
    [true, false],
    [false, true],
  ] as const) {
    try {
      return asLocalMedia(keepUnlessAborted(await getUserMedia(audio, video, input), signal));
    } catch (error) {
      if (error instanceof MediaError) throw error;
      if (mediaErrorReason(error) !== "no-device") throw toMediaErrorFromDom(error);
    }
  }
  throw new MediaError("no-device");
});

const displayMedia = fromPromise<ScreenMedia, void>(async ({ signal }) => {
  if (!navigator.mediaDevices?.getDisplayMedia) throw new MediaError("unknown", "screen sharing unsupported");
  try {
    const stream = keepUnlessAborted(
      await navigator.mediaDevices.getDisplayMedia({
        video: { frameRate: { ideal: 15, max: 30 } },
        audio: false,
      }),
      signal,
    );
    const videoTrack = stream.getVideoTracks()[0];
    if (!videoTrack) throw new MediaError("no-device", "no screen track");
    // Text legibility matters more than motion for a shared screen.
    if ("contentHint" in videoTrack) videoTrack.contentHint = "detail";
    return { stream, videoTrack };
  } catch (error) {
    throw error instanceof MediaError ? error : toMediaErrorFromDom(error);
  }
});

const watchScreenTrack = fromCallback<EventObject, WatchTrackInput>(({ input, sendBack }) => {
  const onEnded = () => sendBack({ type: "SCREEN_TRACK_ENDED" });
  if (input.track.readyState === "ended") onEnded();
  input.track.addEventListener("ended", onEnded);
  return () => input.track.removeEventListener("ended", onEnded);
});

const localTracks = fromCallback<LocalTracksCommand, void>(({ receive }) => {
  const owned = new Set<MediaStreamTrack>();
  receive((command) => {
    switch (command.type) {
      case "TRACKS.ADOPT":
        for (const t of command.tracks) owned.add(t);
        break;
      case "TRACKS.ENABLE":
        command.track.enabled = command.enabled;
        break;
      case "TRACKS.RELEASE":
        for (const t of command.tracks) {
          t.stop();
          owned.delete(t);
        }
        break;
    }
  });
  return () => {
    for (const t of owned) t.stop();
    owned.clear();
  };
});

// ---------------------------------------------------------------------------------------------
// Signaling (PeerJS)
// ---------------------------------------------------------------------------------------------

function createSignaling(server: PeerServerOptions) {
  return fromCallback<SignalingCommand, SignalingInput>(({ input, sendBack, receive }) => {
    const send = (e: SignalingEvent) => sendBack(e);
    // The pre-join socket the join took over (warm-up.ts), unless it died since: then dial cold.
    const warm = input.warm ? fromHandle<Peer>(input.warm) : null;
    const adopted = warm && !warm.destroyed ? warm : null;
    if (!adopted) mark("signaling-connect");
    const peer = adopted ?? openPeer(server, input.peerId, input.iceServers, input.iceTransportPolicy);
    const handle = toSignalingHandle(peer);
    peer.on("open", () => {
      mark("signaling-open");
      send({ type: "SIGNALING.OPEN", handle });
    });
    peer.on("call", (call) =>
      send({ type: "SIGNALING.INCOMING_CALL", call: toCallHandle(call), remotePeerId: call.peer }),
    );
    peer.on("disconnected", () => send({ type: "SIGNALING.DISCONNECTED" }));
    peer.on("close", () => send({ type: "SIGNALING.CLOSED" }));
    peer.on("error", (error) => {
      // "peer-unavailable" concerns one outgoing call; PeerJS reports it on the Peer, naming the id
      // only in the message.
      const match = /Could not connect to peer (\S+)/.exec(error.message);
      send({
        type: "SIGNALING.ERROR",
        reason: error.type,
        ...(error.type === "peer-unavailable" && match?.[1] ? { remotePeerId: match[1] } : {}),
      });
    });
    receive((command) => {
      if (command.type === "RECONNECT" && peer.disconnected && !peer.destroyed) peer.reconnect();
      if (command.type === "REJECT_CALL") fromHandle<MediaConnection>(command.call).close();
    });
    if (adopted) {
      // Already open: the machine hears it as if it had just opened. (PeerJS re-registers a
      // disconnected one under its grant id, which the server maps to this participation.)
      if (adopted.open) {
        mark("signaling-open");
        queueMicrotask(() => {
          if (!peer.destroyed) send({ type: "SIGNALING.OPEN", handle });
        });
      } else if (adopted.disconnected) adopted.reconnect();
    }
    return () => peer.destroy();
  });
}

// ---------------------------------------------------------------------------------------------
// Media calls
// ---------------------------------------------------------------------------------------------

let placeholderAudio: AudioContext | null = null;

/**
 * A black video track and a silent audio track, so a listen-only joiner's call still negotiates
 * both m-lines; PeerJS cannot renegotiate, so real tracks must later fit into existing senders.
 */
function placeholderTracks(): { audio: MediaStreamTrack | null; video: MediaStreamTrack | null } {
  let video: MediaStreamTrack | null = null;
  let audio: MediaStreamTrack | null = null;
  try {
    const canvas = Object.assign(document.createElement("canvas"), { width: 320, height: 180 });
    const ctx = canvas.getContext("2d");
    if (ctx) {
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    video = canvas.captureStream(1).getVideoTracks()[0] ?? null;
    if (video) video.enabled = false;
  } catch {
    video = null;
  }
  try {
    placeholderAudio ??= new AudioContext();
    const destination = placeholderAudio.createMediaStreamDestination();
    audio = destination.stream.getAudioTracks()[0] ?? null;
  } catch {
    audio = null;
  }
  return { audio, video };
}

interface OutgoingMedia {
  stream: MediaStream;
  placeholders: MediaStreamTrack[];
}

function buildOutgoingStream(input: OutgoingCallInput | AnswerCallInput): OutgoingMedia {
  // The page's stream still holds a camera that was turned off (and so stopped): never send that.
  const live = (t: MediaStreamTrack | undefined) => (t && t.readyState !== "ended" ? t : null);
  const audio = input.audioTrack ?? live(input.localStream?.getAudioTracks()[0]);
  const video = input.videoTrack ?? live(input.localStream?.getVideoTracks()[0]);
  const placeholders: MediaStreamTrack[] = [];
  let fillAudio: MediaStreamTrack | null = null;
  let fillVideo: MediaStreamTrack | null = null;
  if (!audio || !video) {
    const p = placeholderTracks();
    if (!audio && p.audio) placeholders.push((fillAudio = p.audio));
    else p.audio?.stop();
    if (!video && p.video) placeholders.push((fillVideo = p.video));
    else p.video?.stop();
  }
  const tracks = [audio ?? fillAudio, video ?? fillVideo].filter((t): t is MediaStreamTrack => t !== null);
  return { stream: placeholders.length ? new MediaStream(tracks) : sharedStreamOf(tracks), placeholders };
}

let sharedOutgoing: MediaStream | null = null;

/**
 * One stream object for the same tracks, shared by every call. Chrome keeps each MediaStream a
 * track was ever put into alive for as long as the track lives, so a new stream per call would
 * pile up for the whole life of the microphone.
 */
function sharedStreamOf(tracks: MediaStreamTrack[]): MediaStream {
  const current = sharedOutgoing?.getTracks() ?? [];
  if (sharedOutgoing && current.length === tracks.length && tracks.every((t) => current.includes(t))) {
    return sharedOutgoing;
  }
  return (sharedOutgoing = new MediaStream(tracks));
}

function senderFor(pc: RTCPeerConnection | undefined, kind: "audio" | "video"): RTCRtpSender | null {
  if (!pc) return null;
  // Find by transceiver: a sender whose track was replaced with null no longer reveals its kind.
  const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
  return transceiver?.sender ?? pc.getSenders().find((s) => s.track?.kind === kind) ?? null;
}

/**
 * Resolves true once the encoding is on the video sender; false when there is no sender yet.
 * `setParameters` changes this one link's encoder in place: no renegotiation (PeerJS has none).
 */
async function applyBudget(pc: RTCPeerConnection | undefined, budget: LinkEncoding): Promise<boolean> {
  const sender = senderFor(pc, "video");
  if (!sender) return false;
  const params = sender.getParameters();
  // Firefox reports no encodings until negotiation is done.
  if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
  for (const encoding of params.encodings) {
    encoding.maxBitrate = budget.maxBitrate;
    encoding.scaleResolutionDownBy = budget.scaleResolutionDownBy;
    encoding.maxFramerate = budget.maxFramerate;
    encoding.active = budget.active;
  }
  await sender.setParameters(params);
  return true;
}

/**
 * Pauses and resumes the video encoding: a resumed encoder starts with a keyframe, which is the
 * one thing a receiver needs after an outage. (There is no direct "send a keyframe" call.)
 */
async function restartVideoEncoder(pc: RTCPeerConnection | undefined): Promise<void> {
  const sender = senderFor(pc, "video");
  if (!sender?.track) return;
  const params = sender.getParameters();
  if (!params.encodings?.length) return;
  for (const e of params.encodings) e.active = false;
  await sender.setParameters(params);
  const resumed = sender.getParameters();
  for (const e of resumed.encodings) e.active = true;
  await sender.setParameters(resumed);
}

/** Wires a PeerJS MediaConnection to the peer machine's event/command contract. */
function driveCall(
  call: MediaConnection,
  input: OutgoingCallInput | AnswerCallInput,
  placeholders: MediaStreamTrack[],
  sendBack: (e: MediaCallEvent) => void,
  receive: (listener: (command: MediaCallCommand) => void) => void,
  sampler: StatsSampler,
  gate: NegotiationGate = sharedNegotiationGate,
): () => void {
  let stopped = false;
  let budget = input.budget;
  // What the sender is known to carry. Asking the sender instead (getParameters) blocks the page
  // on WebRTC's signaling thread, which is at its busiest exactly while a call connects.
  let applied: LinkEncoding | null = null;
  const seenStreams = new Set<string>();
  const send = (e: MediaCallEvent) => {
    if (!stopped) sendBack(e);
  };
  // This call negotiates until its ICE connects (or fails, or it ends): other calls' encoder
  // changes wait for that (negotiation-gate.ts), and so do its own.
  const negotiated = gate.begin();
  let linkUp = false;
  /**
   * The link's stats reads (quality samples, inbound silence) start once its ICE first connects:
   * before that there is nothing to read, and each getStats runs on WebRTC's signaling thread,
   * where a joining page's offers, answers and candidates queue (issue #16 §1).
   */
  let unregister = () => {};
  let stopWatching = () => {};
  let reading = false;
  const startReading = () => {
    if (reading || stopped) return;
    reading = true;
    // ParsedStats extends QualitySample; the extra counters ride along unused.
    unregister = sampler.register(
      () => call.peerConnection,
      (sample) => send({ type: "QUALITY_SAMPLE", sample }),
    );
    stopWatching = sharedInboundSilenceWatcher.watch(
      () => call.peerConnection,
      (silentMs) => send({ type: "CALL.INBOUND_RESUMED", silentMs }),
    );
  };
  let cancelWait = () => {};
  // One setParameters at a time: a second getParameters while one is in flight makes the first
  // fail (stale transaction), and a quick hide → show must never end on the paused encoding.
  let applying = false;
  let reapply = false;
  const applyNow = () => {
    if (stopped) return;
    if (applying) {
      reapply = true;
      return;
    }
    if (applied && sameEncoding(applied, budget)) return;
    const wanted = budget;
    applying = true;
    applyBudget(call.peerConnection, wanted)
      .then((done) => {
        if (done) applied = wanted;
      })
      .catch(() => undefined)
      .finally(() => {
        applying = false;
        if (reapply && !stopped) {
          reapply = false;
          applyNow();
        }
      });
  };
  /**
   * Only what changes, only once the link is up, and not while any call on the page negotiates:
   * a setParameters queues with offers and answers on WebRTC's signaling thread (issue #16 §1).
   * Until then the sender keeps the browser's default (its rate control starts low anyway); the
   * budget follows once the page's calls have connected and carried their first frames
   * (negotiation-gate.ts).
   */
  const tryApplyBudget = () => {
    if (stopped || !linkUp) return;
    if (!applying && applied && sameEncoding(applied, budget)) return;
    cancelWait();
    cancelWait = gate.whenSettled(call, applyNow);
  };

  call.on("stream", (stream) => {
    // PeerJS emits `stream` once per remote track, with the same MediaStream.
    if (seenStreams.has(stream.id)) return;
    seenStreams.add(stream.id);
    mark("call-stream", call.peer);
    send({ type: "CALL.STREAM", stream, streamId: stream.id });
  });
  call.on("iceStateChanged", (state) => {
    if (state === "connected" || state === "completed") {
      mark("call-ice-connected", call.peer);
      linkUp = true;
      negotiated();
      startReading();
      tryApplyBudget();
    } else if (state === "failed" || state === "closed") negotiated();
    send({ type: "CALL.ICE_STATE", state });
  });
  call.on("close", () => {
    negotiated();
    send({ type: "CALL.CLOSED" });
  });
  call.on("error", (error) => {
    // PeerJS reports an ICE failure as an error followed by close; name it for what it is.
    if (error.type === "negotiation-failed") send({ type: "CALL.ICE_STATE", state: "failed" });
    else if (error.type === "connection-closed") send({ type: "CALL.CLOSED" });
    else send({ type: "CALL.ERROR", reason: error.type });
  });

  receive((command) => {
    switch (command.type) {
      case "REPLACE_VIDEO_TRACK":
      case "REPLACE_AUDIO_TRACK": {
        const kind = command.type === "REPLACE_VIDEO_TRACK" ? "video" : "audio";
        senderFor(call.peerConnection, kind)
          ?.replaceTrack(command.track)
          .catch((error: unknown) => send({ type: "CALL.ERROR", reason: `replaceTrack: ${String(error)}` }));
        break;
      }
      case "APPLY_BUDGET":
        budget = command.budget;
        tryApplyBudget();
        break;
      case "REFRESH_VIDEO":
        // A paused link (the remote hides our tile) stays paused; showing it again starts with a keyframe anyway.
        if (budget.active) restartVideoEncoder(call.peerConnection).catch(() => undefined);
        break;
    }
  });

  return () => {
    stopped = true;
    cancelWait();
    negotiated();
    unregister();
    stopWatching();
    call.close();
    for (const t of placeholders) t.stop();
  };
}

function createCallActors(sampler: StatsSampler) {
  const outgoingCall = fromCallback<MediaCallCommand, OutgoingCallInput>(({ input, sendBack, receive }) => {
    mark("call-dial", input.remotePeerId);
    const peer = fromHandle<Peer>(input.signaling);
    const { stream, placeholders } = buildOutgoingStream(input);
    const call = peer.call(input.remotePeerId, stream);
    if (!call) {
      // PeerJS returns undefined when the Peer is disconnected or destroyed.
      sendBack({ type: "CALL.ERROR", reason: "signaling unavailable" });
      for (const t of placeholders) t.stop();
      return;
    }
    return driveCall(call, input, placeholders, sendBack, receive, sampler);
  });

  const answerCall = fromCallback<MediaCallCommand, AnswerCallInput>(({ input, sendBack, receive }) => {
    const call = fromHandle<MediaConnection>(input.call);
    mark("call-answer", call.peer);
    const { stream, placeholders } = buildOutgoingStream(input);
    // answer() creates the RTCPeerConnection (driveCall sizes its sender); PeerJS emits its
    // events asynchronously, so listening right after it misses nothing.
    call.answer(stream);
    return driveCall(call, input, placeholders, sendBack, receive, sampler);
  });

  // The offer of an announced caller is on its way: the page's encoder changes wait for it.
  const expectCall = fromCallback(() => sharedNegotiationGate.begin());

  return { outgoingCall, answerCall, expectCall };
}

// ---------------------------------------------------------------------------------------------

function createBrowserCallActors(deps: BrowserCallDeps) {
  const calls = createCallActors(
    deps.statsIntervalMs === undefined
      ? sharedStatsSampler
      : createStatsSampler(deps.statsIntervalMs, { skipWhile: pageReadsWait }),
  );
  return {
    requestMedia,
    displayMedia,
    watchScreenTrack,
    localTracks,
    ...createServerActors(deps.api, deps.heartbeatIntervalMs ?? 15_000),
    signaling: createSignaling(deps.peerServer),
    warmUp: createWarmUp(deps.api, (grant, ice, policy) => openPeer(deps.peerServer, grant, ice, policy)),
    peer: peerMachine.provide({ actors: calls }),
  };
}

/**
 * The call machine wired to the browser: what the app's call page should create an actor from.
 * Signaling re-dials are jittered here (the machine's default schedule has none, for exact tests).
 */
export function createBrowserCallMachine(deps: BrowserCallDeps) {
  return callMachine.provide({
    actors: createBrowserCallActors(deps),
    delays: { signalingRetryDelay: signalingRetryDelayWith(Math.random) },
  });
}
