import { Link } from "@remix-run/react";
import { shallowEqual, useSelector } from "@xstate/react";
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type ComponentProps, type KeyboardEvent } from "react";
import { toast } from "sonner";
import { createActor, type ActorRefFrom } from "xstate";
import {
  serverTrouble,
  type CallEndReason,
  type CallMachine,
  type PeerRef,
  type ServerTrouble,
} from "../../../machines/call.machine";
import { reportedTrouble, type LinkReport } from "../../../machines/link-reports";
import { linkPhase, peerStatus } from "../../../machines/peer.machine";
import type { RoomSession } from "../../../machines/room-protocol";
import { createCallMachineForPage, leaveOnUnload } from "./browser-call.client";
import { DevicePickers } from "./devices";
import { DebugPanel } from "./debug-panel";
import { CallInspector } from "./inspector";
import { Prejoin, type PrejoinStatus } from "./prejoin";
import { RemoteTile } from "./remote-tile";
import { useRoomPresence } from "./use-room-presence";
import { useShareFailureToast } from "./use-share-failure-toast";
import { useTalkingWhileMuted } from "./use-talking-while-muted";
import { VideoTile } from "./video-tile";
import { ChatPanel, ChatToggle } from "./chat/chat-panel";
import { useCallChat } from "./chat/use-call-chat";

type CallActor = ActorRefFrom<CallMachine>;

const JOIN_ERRORS: Record<string, string> = {
  forbidden: "You are not allowed to join this call.",
  "not-found": "This call has ended.",
  network: "We couldn't reach the server. Check your connection and try again.",
  signaling: "We couldn't connect to the call server. Try again in a moment.",
  unknown: "Something went wrong while joining.",
};

const END_REASONS: Record<CallEndReason, string> = {
  left: "You left the call.",
  kicked: "You left the call.",
  "session-ended": "The call has ended.",
  replaced: "You joined from another tab.",
};

const SERVER_TROUBLE: Record<ServerTrouble, string> = {
  "room-feed": "Lost touch with the call server: people joining or leaving may not show up.",
  heartbeat: "Can't reach the server: you may be dropped from the call.",
  publish: "Others may not see whether your microphone or camera is on.",
};

/** Owns the call actor for the page's lifetime; everything below renders its snapshots. */
export function CallRoom(props: {
  studyId: string;
  studyName: string;
  self: { userId: string; name: string };
  /** Who is in the call when the page loaded; kept live by the room feed. */
  initialCall: RoomSession | null;
  debug: boolean;
  /** The server's MAX_UPLOAD_BYTES, so over-size files are refused before uploading. */
  maxUploadBytes: number;
}) {
  const [state, setState] = useState<{ actor: CallActor; inspector: CallInspector } | null>(null);
  useEffect(() => {
    const inspector = new CallInspector();
    const actor = createActor(createCallMachineForPage(), {
      input: { studyId: props.studyId, sessionId: null, self: props.self },
      inspect: inspector.inspect,
    });
    actor.start();
    setState({ actor, inspector });
    const onPageHide = () => {
      const join = actor.getSnapshot().context.join;
      if (join && actor.getSnapshot().matches("inCall")) leaveOnUnload(props.studyId, join.sessionId);
    };
    window.addEventListener("pagehide", onPageHide);
    return () => {
      window.removeEventListener("pagehide", onPageHide);
      onPageHide();
      actor.stop();
    };
  }, [props.studyId, props.self]);
  if (!state) return <p role="status">Getting the call ready…</p>;
  return <CallView actor={state.actor} inspector={state.inspector} {...props} />;
}

function CallView({
  actor,
  inspector,
  studyId,
  studyName,
  self,
  initialCall,
  debug,
  maxUploadBytes,
}: {
  actor: CallActor;
  inspector: CallInspector;
  studyId: string;
  studyName: string;
  self: { userId: string; name: string };
  initialCall: RoomSession | null;
  debug: boolean;
  maxUploadBytes: number;
}) {
  const top = useSelector(actor, (s) => {
    if (s.matches("prejoin")) return "prejoin";
    if (s.matches("inCall")) return "inCall";
    return typeof s.value === "string" ? s.value : "prejoin";
  });
  const prejoinStatus = useSelector(actor, (s) =>
    s.matches("prejoin") ? ((s.value as { prejoin: PrejoinStatus }).prejoin ?? "idle") : "idle",
  );
  // Only what this view shows: a selector returning the whole context would re-render the call
  // on every event the machine handles (heartbeats, room events, link reports).
  const ctx = useSelector(
    actor,
    (s) => ({
      audioTrack: s.context.audioTrack,
      videoTrack: s.context.videoTrack,
      wantAudio: s.context.wantAudio,
      wantVideo: s.context.wantVideo,
      devices: s.context.devices,
      joinError: s.context.joinError,
      endReason: s.context.endReason,
    }),
    shallowEqual,
  );
  const preview = useTrackStream(ctx.audioTrack, ctx.videoTrack);
  const runningSessionId = useRunningSessionId(studyId, initialCall);
  const running = runningSessionId !== null;
  const send = actor.send;

  return (
    <div className="call-page">
      <header className="call-header">
        <h1>{studyName} — call</h1>
        <Link to={`/studies/${studyId}`}>Back to study</Link>
      </header>
      {top === "prejoin" ? (
        <Prejoin
          status={prejoinStatus}
          name={self.name}
          stream={preview}
          wantAudio={ctx.wantAudio}
          wantVideo={ctx.wantVideo}
          selected={ctx.devices}
          running={running}
          onJoin={() => send({ type: "JOIN", sessionId: runningSessionId })}
          onRetry={() => send({ type: "RETRY_DEVICES" })}
          onToggleAudio={() => send({ type: "TOGGLE_AUDIO" })}
          onToggleVideo={() => send({ type: "TOGGLE_VIDEO" })}
          onSelectDevice={(kind, deviceId) => send({ type: "SELECT_DEVICE", kind, deviceId })}
        />
      ) : null}
      {top === "joining" ? <p role="status">Joining the call…</p> : null}
      {top === "joinFailed" ? (
        <div className="banner danger" role="alert">
          {JOIN_ERRORS[ctx.joinError?.reason ?? "unknown"] ?? JOIN_ERRORS.unknown}{" "}
          <button type="button" onClick={() => send({ type: "RETRY" })}>
            Try again
          </button>
        </div>
      ) : null}
      {top === "inCall" ? <InCall actor={actor} self={self} maxUploadBytes={maxUploadBytes} /> : null}
      {top === "leaving" ? <p role="status">Leaving…</p> : null}
      {top === "left" ? (
        <FocusOnMount className="card" role="status">
          <p>{END_REASONS[ctx.endReason ?? "left"]}</p>
          <p>
            <a href={`/studies/${studyId}/call`}>
              {ctx.endReason === "replaced" ? "Take the call back here" : "Rejoin"}
            </a>{" "}
            · <Link to={`/studies/${studyId}`}>Back to the study</Link>
          </p>
        </FocusOnMount>
      ) : null}
      {debug ? <DebugPanel actor={actor} inspector={inspector} /> : null}
    </div>
  );
}

/**
 * A message that takes focus when it appears: the button that led here (Leave) is gone, and focus
 * would otherwise fall back to the top of the page.
 */
function FocusOnMount({ children, ...rest }: ComponentProps<"div">) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div ref={ref} tabIndex={-1} {...rest}>
      {children}
    </div>
  );
}

/**
 * The control bar is pinned to the bottom of the window; its height is published as
 * `--call-controls-h` so the page leaves room for it and toasts stack above it, never over it.
 */
function usePinnedControls() {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const bar = ref.current;
    if (!bar) return;
    const root = document.documentElement;
    const publish = () => root.style.setProperty("--call-controls-h", `${bar.offsetHeight}px`);
    publish();
    const observer = new ResizeObserver(publish);
    observer.observe(bar);
    return () => {
      observer.disconnect();
      root.style.removeProperty("--call-controls-h");
    };
  }, []);
  return ref;
}

/** A disclosure menu that Esc closes, handing focus back to its button. */
function closeOnEscape(e: KeyboardEvent<HTMLDetailsElement>) {
  const menu = e.currentTarget;
  if (e.key !== "Escape" || !menu.open) return;
  e.stopPropagation();
  menu.open = false;
  menu.querySelector("summary")?.focus();
}

/**
 * A stream of the current local tracks. The camera is let go while off and acquired anew (or
 * swapped for another device), so views follow the tracks, not the stream the page started with.
 */
function useTrackStream(audio: MediaStreamTrack | null, video: MediaStreamTrack | null): MediaStream | null {
  return useMemo(() => {
    const tracks = [audio, video].filter((t): t is MediaStreamTrack => t !== null);
    return tracks.length > 0 ? new MediaStream(tracks) : null;
  }, [audio, video]);
}

/**
 * The id of the call people are in right now, or null ("Start call"). Before joining the machine
 * knows nobody in the room, so this comes from the study's own room feed, the same one the study
 * page's widget uses; joining that call then needs no start request.
 */
function useRunningSessionId(studyId: string, initial: RoomSession | null): string | null {
  const { session } = useRoomPresence(studyId, initial);
  return session && session.participants.length > 0 ? session.id : null;
}

function InCall({
  actor,
  self,
  maxUploadBytes,
}: {
  actor: CallActor;
  self: { userId: string; name: string };
  maxUploadBytes: number;
}) {
  const view = useSelector(
    actor,
    (s) => ({
      audioOn: s.matches({ inCall: { audio: "on" } }),
      videoOn: s.matches({ inCall: { video: "on" } }),
      sharing: s.matches({ inCall: { screen: "on" } }),
      shareStarting: s.matches({ inCall: { screen: "starting" } }),
      signalingDown:
        s.matches({ inCall: { signaling: "reconnecting" } }) || s.matches({ inCall: { signaling: "offline" } }),
      signalingOffline: s.matches({ inCall: { signaling: "offline" } }),
      serverTrouble: serverTrouble(s),
      videoTrack: s.context.videoTrack,
      screenStream: s.context.screenStream,
      audioTrack: s.context.audioTrack,
      peers: s.context.peers,
      participants: s.context.participants,
      linkReports: s.context.linkReports,
      devices: s.context.devices,
    }),
    shallowEqual,
  );
  const send = actor.send;
  // The self-view plays no sound (it would echo); its speaking light listens to the microphone.
  const selfView = useTrackStream(null, view.videoTrack);
  const selfVoice = useTrackStream(view.audioTrack, null);
  const talkingWhileMuted = useTalkingWhileMuted(view.audioTrack, !view.audioOn);
  usePresenceToasts(view.participants, actor.getSnapshot().context.join?.peerId ?? null);
  useShareFailureToast(actor);
  const peers = Object.entries(view.peers) as Array<[string, PeerRef]>;
  const count = peers.length + 1;
  const controls = usePinnedControls();
  // Chat (issue 13): toggle in the toolbar, panel beside the stage; moves into the side panel later.
  const { studyId, join } = actor.getSnapshot().context;
  const chat = useCallChat({ studyId, sessionId: join!.sessionId, selfId: self.userId, maxUploadBytes });
  const people = Object.fromEntries(Object.values(view.participants).map((p) => [p.userId, p.name]));
  // Joining removed the button that was pressed: focus moves to the call's first control.
  useEffect(() => controls.current?.querySelector("button")?.focus(), [controls]);
  return (
    <>
      {view.signalingDown ? (
        <div className="banner" role="alert">
          {view.signalingOffline ? (
            <>
              Lost connection to the call server.{" "}
              <button type="button" onClick={() => send({ type: "RETRY_SIGNALING" })}>
                Reconnect
              </button>
            </>
          ) : (
            "Reconnecting to the call server… your current video keeps flowing."
          )}
        </div>
      ) : null}
      {view.serverTrouble ? (
        <div className="banner" role="alert">
          {SERVER_TROUBLE[view.serverTrouble]}{" "}
          <button type="button" onClick={() => send({ type: "RETRY_SERVER" })}>
            Try again
          </button>
        </div>
      ) : null}
      {talkingWhileMuted ? (
        <div className="banner" role="status">
          You are muted
        </div>
      ) : null}
      <section className="grid" data-count={Math.min(count, 6)} aria-label="Participants">
        <VideoTile
          label={`${self.name} (you)`}
          name={self.name}
          stream={view.sharing ? view.screenStream : selfView}
          voice={selfVoice}
          isSelf
          micMuted={!view.audioOn}
          cameraOff={!view.videoOn}
          presenting={view.sharing}
        />
        {peers.map(([peerId, ref]) => (
          <PeerTile
            key={peerId}
            peer={ref}
            reported={reportedTrouble(view.linkReports, peerId)}
            onRetry={(id) => send({ type: "RETRY_PEER", peerId: id })}
          />
        ))}
      </section>
      <ChatPanel chat={chat} people={people} />
      <div ref={controls} className="controls call-controls" role="toolbar" aria-label="Call controls">
        <button
          type="button"
          className={view.audioOn ? "secondary" : "secondary is-off"}
          aria-pressed={!view.audioOn}
          onClick={() => send({ type: "TOGGLE_AUDIO" })}
        >
          {view.audioOn ? "Mute microphone" : "Unmute microphone"}
        </button>
        <button
          type="button"
          className={view.videoOn ? "secondary" : "secondary is-off"}
          onClick={() => send({ type: "TOGGLE_VIDEO" })}
        >
          {view.videoOn ? "Turn off camera" : "Turn on camera"}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={view.shareStarting}
          onClick={() => send({ type: view.sharing ? "STOP_SHARE" : "START_SHARE" })}
        >
          {view.sharing ? "Stop sharing" : "Share screen"}
        </button>
        <details className="device-menu" onKeyDown={closeOnEscape}>
          <summary className="secondary">Devices</summary>
          <div className="device-menu-body stack">
            <DevicePickers
              refreshKey={view.videoTrack ?? view.audioTrack}
              selected={view.devices}
              onSelect={(kind, deviceId) => send({ type: "SELECT_DEVICE", kind, deviceId })}
            />
          </div>
        </details>
        <ChatToggle chat={chat} />
        <button type="button" className="danger" onClick={() => send({ type: "LEAVE" })}>
          Leave call
        </button>
      </div>
    </>
  );
}

/** Remote tile plus the toasts for its link changes: one toast per person, replaced on each change. */
function PeerTile({
  peer,
  reported,
  onRetry,
}: {
  peer: PeerRef;
  /** What other members report about this person's links (room connection-state events). */
  reported: LinkReport | undefined;
  onRetry: (peerId: string) => void;
}) {
  const phase = useSelector(peer, (s) => linkPhase(peerStatus(s), s.context.attempt));
  const name = useSelector(peer, (s) => s.context.remote.name);
  const peerId = useSelector(peer, (s) => s.context.remote.peerId);
  const previous = useRef(phase);
  // Set from the first sign of trouble until the link is up again, through a lost link's Retry too.
  const troubled = useRef(false);
  useEffect(() => {
    const before = previous.current;
    previous.current = phase;
    if (before === phase) return;
    const id = `link:${peerId}`;
    if (phase === "reconnecting" && !troubled.current) toast.warning(`Reconnecting to ${name}…`, { id });
    else if (phase === "lost") toast.error(`Connection to ${name} lost`, { id });
    else if (phase === "connected" && troubled.current) toast.success(`Reconnected to ${name}`, { id });
    if (phase === "reconnecting" || phase === "lost") troubled.current = true;
    else if (phase === "connected") troubled.current = false;
  }, [phase, name, peerId]);
  return <RemoteTile peer={peer} reported={reported} onRetry={onRetry} />;
}

function usePresenceToasts(participants: Record<string, { name: string; userId: string }>, ownPeerId: string | null) {
  const known = useRef<Map<string, string> | null>(null);
  useEffect(() => {
    const now = new Map(
      Object.entries(participants)
        .filter(([id]) => id !== ownPeerId)
        .map(([id, p]) => [id, p.name]),
    );
    const before = known.current;
    known.current = now;
    // The first snapshot is who was already here, not news.
    if (!before) return;
    for (const [id, name] of now) if (!before.has(id)) toast(`${name} joined`, { id: `presence:${id}` });
    for (const [id, name] of before) if (!now.has(id)) toast(`${name} left`, { id: `presence:${id}` });
  }, [participants, ownPeerId]);
}
