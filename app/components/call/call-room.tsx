import { Link } from "@remix-run/react";
import { shallowEqual, useSelector } from "@xstate/react";
import { useDeferredValue, useEffect, useMemo, useRef, useState, type ComponentProps } from "react";
import { createActor, type ActorRefFrom } from "xstate";
import type { CallEndReason, CallMachine } from "../../../machines/call.machine";
import { CALL_LOCKED_TEXT, callFullText, isCallFull, isCallLocked } from "../../../machines/room-presence";
import type { JoinErrorReason } from "../../../machines/errors";
import type { RoomSession } from "../../../machines/room-protocol";
import { createCallMachineForPage, leaveOnUnload } from "./browser-call.client";
import { DebugPanel } from "./debug-panel";
import { CallInspector } from "./inspector";
import { Prejoin, type PrejoinStatus } from "./prejoin";
import { useRoomPresence } from "./use-room-presence";
import { RoomWithChat } from "./chat/room-with-chat";
import { say, type CallMessage } from "./messages";

type CallActor = ActorRefFrom<CallMachine>;

/** "full" is said with the call's size (callFullText), the way the server refuses it. */
const JOIN_ERRORS: Record<Exclude<JoinErrorReason, "full">, CallMessage> = {
  forbidden: "joinForbidden",
  removed: "joinRemoved",
  locked: "joinLocked",
  "not-found": "joinNotFound",
  network: "joinNetwork",
  signaling: "joinSignaling",
  unknown: "joinUnknown",
};

const END_REASONS: Record<CallEndReason, CallMessage> = {
  left: "endLeft",
  kicked: "endKicked",
  "session-ended": "endSessionEnded",
  replaced: "endReplaced",
};

/** Owns the call actor for the page's lifetime; everything below renders its snapshots. */
export function CallRoom(props: {
  studyId: string;
  studyName: string;
  self: { userId: string; name: string };
  /** Who is in the call when the page loaded; kept live by the room feed. */
  initialCall: RoomSession | null;
  debug: boolean;
  /** The server's MAX_UPLOAD_BYTES, so over-size chat files are refused before uploading. */
  maxUploadBytes: number;
  /** MAX_PARTICIPANTS: the pre-join screen says "full" before anyone clicks. */
  maxParticipants: number;
  /** A study OWNER or ADMIN: a locked call still lets them in. */
  isHost: boolean;
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
  if (!state) return <p role="status">{say("preparing")}</p>;
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
  maxParticipants,
  isHost,
}: {
  actor: CallActor;
  inspector: CallInspector;
  studyId: string;
  studyName: string;
  self: { userId: string; name: string };
  initialCall: RoomSession | null;
  debug: boolean;
  maxUploadBytes: number;
  maxParticipants: number;
  isHost: boolean;
}) {
  const top = useSelector(actor, (s) => {
    if (s.matches("prejoin")) return "prejoin";
    if (s.matches("inCall")) return "inCall";
    return typeof s.value === "string" ? s.value : "prejoin";
  });
  // Mounting the room is a join's heaviest render, and it lands exactly while the first offers
  // are being made: rendered as a transition it yields to them (issue #16 §1), and "Joining…"
  // stays until it is done. Only the way in is deferred; every other change shows at once.
  const deferredTop = useDeferredValue(top);
  const shown = top === "inCall" && deferredTop !== "inCall" ? "joining" : top;
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
      notice: s.context.notice,
    }),
    shallowEqual,
  );
  const preview = useTrackStream(ctx.audioTrack, ctx.videoTrack);
  const { session: liveCall } = useRoomPresence(studyId, initialCall);
  const runningSessionId = liveCall && liveCall.participants.length > 0 ? liveCall.id : null;
  const full = isCallFull(liveCall, maxParticipants, self.userId);
  const locked = isCallLocked(liveCall, isHost);
  const running = runningSessionId !== null;
  const send = actor.send;

  // A named section (a region landmark): in the room the stage is the page's <main>.
  const header = (
    <section className="call-header" aria-label="Call">
      <h1 className="truncate" title={studyName}>
        {studyName} — call
      </h1>
      <Link to={`/studies/${studyId}`}>Back to study</Link>
    </section>
  );
  if (shown === "inCall") {
    return (
      <div className="call-page in-room">
        {header}
        <RoomWithChat
          actor={actor}
          self={self}
          maxUploadBytes={maxUploadBytes}
          inspector={debug ? <DebugPanel actor={actor} inspector={inspector} /> : undefined}
          debugInspector={debug ? inspector : undefined}
        />
      </div>
    );
  }
  return (
    <main className="call-page">
      {header}
      {shown === "prejoin" ? (
        <Prejoin
          status={prejoinStatus}
          name={self.name}
          stream={preview}
          wantAudio={ctx.wantAudio}
          wantVideo={ctx.wantVideo}
          selected={ctx.devices}
          running={running}
          full={full ? callFullText(maxParticipants) : locked ? CALL_LOCKED_TEXT : null}
          onJoin={() => send({ type: "JOIN", sessionId: runningSessionId })}
          onRetry={() => send({ type: "RETRY_DEVICES" })}
          onToggleAudio={() => send({ type: "TOGGLE_AUDIO" })}
          onToggleVideo={() => send({ type: "TOGGLE_VIDEO" })}
          onSelectDevice={(kind, deviceId) => send({ type: "SELECT_DEVICE", kind, deviceId })}
        />
      ) : null}
      {shown === "joining" ? <p role="status">{say("joining")}</p> : null}
      {shown === "joinFailed" ? (
        <div className="banner danger" role="alert">
          {ctx.joinError?.reason === "full"
            ? callFullText(maxParticipants)
            : say(JOIN_ERRORS[ctx.joinError?.reason ?? "unknown"] ?? "joinUnknown")}{" "}
          <button type="button" onClick={() => send({ type: "RETRY" })}>
            Try again
          </button>
        </div>
      ) : null}
      {shown === "leaving" ? <p role="status">{say("leaving")}</p> : null}
      {shown === "left" ? (
        <FocusOnMount className="card" role="status">
          <p>
            {ctx.endReason === "kicked" && ctx.notice?.kind === "removed"
              ? say("endRemovedBy", { host: ctx.notice.by })
              : say(END_REASONS[ctx.endReason ?? "left"])}
          </p>
          <p>
            <a href={`/studies/${studyId}/call`}>
              {ctx.endReason === "replaced" ? "Take the call back here" : "Rejoin"}
            </a>{" "}
            · <Link to={`/studies/${studyId}`}>Back to the study</Link>
          </p>
        </FocusOnMount>
      ) : null}
      {debug ? <DebugPanel actor={actor} inspector={inspector} /> : null}
    </main>
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
 * A stream of the current local tracks. The camera is let go while off and acquired anew (or
 * swapped for another device), so views follow the tracks, not the stream the page started with.
 */
function useTrackStream(audio: MediaStreamTrack | null, video: MediaStreamTrack | null): MediaStream | null {
  return useMemo(() => {
    const tracks = [audio, video].filter((t): t is MediaStreamTrack => t !== null);
    return tracks.length > 0 ? new MediaStream(tracks) : null;
  }, [audio, video]);
}
