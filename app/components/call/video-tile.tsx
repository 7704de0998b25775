import { Hand } from "lucide-react";
import { useEffect, useRef, useState, type CSSProperties, type ReactNode } from "react";
import { audioLevelMonitor } from "../../../machines/actors/audio-levels";
import type { QualityLevel } from "../../../machines/quality";
import { initials } from "~/utils/initials";
import { say } from "./messages";

export interface TileProps {
  /** Accessible name of the tile: the display name, or "<name> (you)". */
  label: string;
  name: string;
  stream: MediaStream | null;
  /** The stream whose audio lights up "Speaking", when it isn't `stream` (own tile: a silent self-view). */
  voice?: MediaStream | null;
  isSelf: boolean;
  micMuted: boolean;
  cameraOff: boolean;
  presenting: boolean;
  quality?: { level: QualityLevel; details: Array<[string, string]> } | null;
  /** e.g. "Reconnecting (2/3)" or "Connection to Bob lost" */
  linkStatus?: string | null;
  onRetry?: () => void;
  onSpeakingChange?: (speaking: boolean) => void;
  /** Place in the raised-hands queue (1 = first), or null while the hand is down. */
  hand?: number | null;
  /** The tile's "More actions" menu (pin). */
  menu?: ReactNode;
  /** Its place and size on the stage. */
  style?: CSSProperties;
}

/** One participant: video (or initials when the camera is off) with their state around it. */
export function VideoTile(props: TileProps) {
  const videoRef = useRef<HTMLVideoElement>(null);
  const [speaking, setSpeaking] = useState(false);
  const { stream, onSpeakingChange } = props;
  const voice = props.voice === undefined ? stream : props.voice;

  useEffect(() => {
    const el = videoRef.current;
    if (!el) return;
    if (el.srcObject !== stream) el.srcObject = stream;
    if (stream) void el.play().catch(() => {});
  }, [stream]);

  useEffect(() => {
    if (!voice) return;
    let current = false;
    const stop = audioLevelMonitor().watch(voice, ({ speaking: s }) => {
      if (s === current) return;
      current = s;
      setSpeaking(s);
      onSpeakingChange?.(s);
    });
    return () => {
      stop();
      if (current) setSpeaking(false);
    };
  }, [voice, onSpeakingChange]);

  const showVideo = !!stream && (!props.cameraOff || props.presenting);
  const isSpeaking = speaking && !props.micMuted;
  return (
    <div
      role="group"
      aria-label={props.label}
      className={`tile${isSpeaking ? " speaking" : ""}${props.isSelf && !props.presenting ? " self" : ""}`}
      data-speaking={isSpeaking ? "true" : "false"}
      style={props.style}
    >
      {/* A muted person is not played, whatever their browser still sends: the flags are the server's. */}
      <video ref={videoRef} autoPlay playsInline muted={props.isSelf || props.micMuted} hidden={!showVideo} />
      {!showVideo ? (
        <div className="avatar" aria-label={say("tileCameraOff", { name: props.name })} role="img">
          {initials(props.name)}
        </div>
      ) : null}
      <div className="tile-footer">
        <span className="tile-name" title={props.label}>
          {props.label}
        </span>
        {props.hand ? (
          <span className="pill hand" title={`Hand raised (${props.hand})`}>
            <Hand aria-hidden="true" size={14} /> {say("tileHandRaised")}
          </span>
        ) : null}
        {props.micMuted ? <span className="pill">{say("tileMuted")}</span> : null}
        {props.presenting ? <span className="pill accent">{say("tilePresenting")}</span> : null}
        {isSpeaking ? <span className="pill ok">{say("tileSpeaking")}</span> : null}
        {props.quality ? <QualityIndicator {...props.quality} /> : null}
      </div>
      {props.menu}
      {props.linkStatus ? (
        <div className="tile-overlay" role="status">
          <span>{props.linkStatus}</span>
          {props.onRetry ? (
            <button type="button" onClick={props.onRetry}>
              Retry
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function QualityIndicator({ level, details }: { level: QualityLevel; details: Array<[string, string]> }) {
  return (
    <details className={`quality q-${level}`}>
      <summary aria-label={say("tileQuality", { level })}>
        <span aria-hidden="true" className="bars">
          <i />
          <i />
          <i />
        </span>
      </summary>
      <dl className="quality-popover">
        {details.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}
