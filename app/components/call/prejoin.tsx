import { useEffect, useRef, useState } from "react";
import { audioLevelMonitor } from "../../../machines/actors/audio-levels";
import type { DeviceKind } from "../../../machines/call.machine";
import { initials } from "~/utils/initials";
import { DevicePickers } from "./devices";
import { say } from "./messages";

export type PrejoinStatus =
  "idle" | "start" | "requestingDevices" | "ready" | "acquiringVideo" | "denied" | "noDevice" | "inUse" | "failed";

const MESSAGES: Partial<Record<PrejoinStatus, { title: string; body: string }>> = {
  denied: { title: say("devicesDenied"), body: say("devicesDeniedHelp") },
  noDevice: { title: say("noDevice"), body: say("noDeviceHelp") },
  inUse: { title: say("devicesInUse"), body: say("devicesInUseHelp") },
  failed: { title: say("devicesFailed"), body: say("devicesFailedHelp") },
};

function LevelMeter({ stream }: { stream: MediaStream | null }) {
  const [level, setLevel] = useState(0);
  const [blocked, setBlocked] = useState(false);
  useEffect(() => {
    if (!stream) return;
    return audioLevelMonitor().watch(
      stream,
      (a) => {
        setLevel(a.level);
        setBlocked(a.blocked);
      },
      { meter: true },
    );
  }, [stream]);
  const pct = Math.min(100, Math.round(level * 400));
  return (
    <>
      <div
        className="meter"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      {/* A still meter reads as a dead microphone; say why it is still instead. */}
      {blocked ? (
        <p className="muted" role="status">
          {say("meterBlocked")}
        </p>
      ) : null}
    </>
  );
}

export function Prejoin(props: {
  status: PrejoinStatus;
  name: string;
  stream: MediaStream | null;
  wantAudio: boolean;
  wantVideo: boolean;
  selected: { audio: string | null; video: string | null };
  running: boolean;
  /** "This call is full (6 people)" or "The call is locked" when a join would be refused, before anyone clicks Join. */
  full: string | null;
  onJoin: () => void;
  onRetry: () => void;
  onToggleAudio: () => void;
  onToggleVideo: () => void;
  onSelectDevice: (kind: DeviceKind, deviceId: string) => void;
}) {
  const videoRef = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (videoRef.current && videoRef.current.srcObject !== props.stream) videoRef.current.srcObject = props.stream;
  }, [props.stream]);
  const message = MESSAGES[props.status];
  const hasMedia = !!props.stream;
  const busy = props.status === "requestingDevices" || props.status === "start";
  return (
    <section className="prejoin" aria-label="Before you join">
      <div>
        <div className="tile self" role="group" aria-label="Camera preview">
          <video ref={videoRef} autoPlay playsInline muted hidden={!hasMedia || !props.wantVideo} />
          {!hasMedia || !props.wantVideo ? <div className="avatar">{initials(props.name, 1)}</div> : null}
        </div>
        {busy ? <p role="status">{say("askingDevices")}</p> : null}
        {message ? (
          <div className="banner danger" role="alert">
            <strong>{message.title}.</strong> {message.body}
          </div>
        ) : null}
      </div>
      <div className="card stack">
        {hasMedia ? (
          <>
            <LevelMeter stream={props.stream} />
            <DevicePickers refreshKey={props.stream} selected={props.selected} onSelect={props.onSelectDevice} />
            <div className="controls">
              <button
                type="button"
                className={props.wantAudio ? "secondary" : "secondary is-off"}
                aria-pressed={!props.wantAudio}
                onClick={props.onToggleAudio}
              >
                {props.wantAudio ? "Mute microphone" : "Unmute microphone"}
              </button>
              <button
                type="button"
                className={props.wantVideo ? "secondary" : "secondary is-off"}
                onClick={props.onToggleVideo}
              >
                {props.wantVideo ? "Turn off camera" : "Turn on camera"}
              </button>
            </div>
          </>
        ) : message ? (
          <button type="button" className="secondary" onClick={props.onRetry}>
            Try again
          </button>
        ) : null}
        {props.full ? (
          <p className="banner danger" role="status" data-testid="call-full">
            {props.full}
          </p>
        ) : null}
        <button type="button" onClick={props.onJoin} disabled={busy}>
          {props.running ? "Join call" : "Start call"}
        </button>
        {!hasMedia && !busy ? <p className="muted">{say("listenOnly")}</p> : null}
      </div>
    </section>
  );
}
