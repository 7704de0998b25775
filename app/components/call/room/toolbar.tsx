/**
 * The call's bottom toolbar: icon buttons with a visible tooltip and the accessible names users
 * and tests know ("Mute microphone"…), People / Chat toggles, the Layout and Devices menus, and
 * Leave set apart. It only reports clicks; the room decides what they do.
 */
import {
  Hand,
  Keyboard,
  LayoutGrid,
  MessageSquare,
  Mic,
  MicOff,
  PhoneOff,
  ScreenShare,
  ScreenShareOff,
  Settings,
  Users,
  Video,
  VideoOff,
} from "lucide-react";
import { forwardRef, type KeyboardEvent, type ReactNode } from "react";
import type { LayoutChoice } from "~/utils/call-layout";
import { say } from "../messages";

const LAYOUT_NAMES: Record<LayoutChoice, string> = {
  auto: "Auto (grid, presenter while sharing)",
  grid: "Grid",
  speaker: "Speaker",
};

/** A disclosure menu that Esc closes, handing focus back to its button. */
function closeOnEscape(e: KeyboardEvent<HTMLDetailsElement>) {
  const menu = e.currentTarget;
  if (e.key !== "Escape" || !menu.open) return;
  e.stopPropagation();
  menu.open = false;
  menu.querySelector("summary")?.focus();
}

function ToolButton(props: {
  label: string;
  tip?: string;
  icon: ReactNode;
  onClick: () => void;
  pressed?: boolean;
  off?: boolean;
  disabled?: boolean;
  className?: string;
  /** A count shown on the button (unread messages); the label says it in words. */
  badge?: number;
}) {
  return (
    <button
      type="button"
      className={`tool${props.off ? " is-off" : ""}${props.className ? ` ${props.className}` : ""}`}
      aria-label={props.label}
      aria-pressed={props.pressed}
      disabled={props.disabled}
      data-tip={props.tip ?? props.label}
      onClick={props.onClick}
    >
      {props.icon}
      {props.badge ? (
        <span className="tool-badge" aria-hidden="true">
          {props.badge}
        </span>
      ) : null}
    </button>
  );
}

export interface ToolbarProps {
  audioOn: boolean;
  videoOn: boolean;
  sharing: boolean;
  shareStarting: boolean;
  handUp: boolean;
  /** What the call keeps to hosts (we aren't one): turning it on is disabled, the tooltip says why. */
  withheld: { unmute: boolean; camera: boolean; screenShare: boolean };
  panel: "people" | "chat" | "inspector" | null;
  hasChat: boolean;
  /** Unread chat messages: the Chat button's name carries the count ("Chat (2 unread)"). */
  chatUnread: number;
  layout: LayoutChoice;
  devices: ReactNode;
  onMic: () => void;
  onCamera: () => void;
  onShare: () => void;
  onHand: () => void;
  onPanel: (tab: "people" | "chat") => void;
  onLayout: (choice: LayoutChoice) => void;
  onShortcuts: () => void;
  onLeave: () => void;
}

const ICON = { size: 20, "aria-hidden": true } as const;

export const Toolbar = forwardRef<HTMLDivElement, ToolbarProps>(function Toolbar(p, ref) {
  return (
    <div ref={ref} className="room-toolbar" role="toolbar" aria-label="Call controls">
      <div className="toolbar-group">
        <ToolButton
          label={p.audioOn ? "Mute microphone" : "Unmute microphone"}
          tip={p.audioOn ? "Mute microphone (M)" : p.withheld.unmute ? say("withheldUnmute") : "Unmute microphone (M)"}
          disabled={!p.audioOn && p.withheld.unmute}
          pressed={!p.audioOn}
          off={!p.audioOn}
          icon={p.audioOn ? <Mic {...ICON} /> : <MicOff {...ICON} />}
          onClick={p.onMic}
        />
        <ToolButton
          label={p.videoOn ? "Turn off camera" : "Turn on camera"}
          tip={p.videoOn ? "Turn off camera (V)" : p.withheld.camera ? say("withheldCamera") : "Turn on camera (V)"}
          disabled={!p.videoOn && p.withheld.camera}
          off={!p.videoOn}
          icon={p.videoOn ? <Video {...ICON} /> : <VideoOff {...ICON} />}
          onClick={p.onCamera}
        />
        <ToolButton
          label={p.sharing ? "Stop sharing" : "Share screen"}
          tip={p.sharing ? "Stop sharing (S)" : p.withheld.screenShare ? say("withheldScreen") : "Share screen (S)"}
          disabled={p.shareStarting || (!p.sharing && p.withheld.screenShare)}
          icon={p.sharing ? <ScreenShareOff {...ICON} /> : <ScreenShare {...ICON} />}
          onClick={p.onShare}
        />
        <ToolButton
          label={p.handUp ? "Lower hand" : "Raise hand"}
          tip={p.handUp ? "Lower hand (H)" : "Raise hand (H)"}
          className={p.handUp ? "is-on" : undefined}
          icon={<Hand {...ICON} />}
          onClick={p.onHand}
        />
      </div>
      <div className="toolbar-group">
        <ToolButton
          label="People"
          tip="People (P)"
          pressed={p.panel === "people"}
          icon={<Users {...ICON} />}
          onClick={() => p.onPanel("people")}
        />
        {p.hasChat ? (
          <ToolButton
            label={p.chatUnread > 0 ? `Chat (${p.chatUnread} unread)` : "Chat"}
            tip="Chat (C)"
            badge={p.chatUnread}
            pressed={p.panel === "chat"}
            icon={<MessageSquare {...ICON} />}
            onClick={() => p.onPanel("chat")}
          />
        ) : null}
        <details className="device-menu" onKeyDown={closeOnEscape}>
          <summary className="tool" aria-label="Layout" data-tip="Layout (L)">
            <LayoutGrid {...ICON} />
          </summary>
          <div className="device-menu-body stack" role="group" aria-label="Layout">
            {(Object.keys(LAYOUT_NAMES) as LayoutChoice[]).map((choice) => (
              <button
                key={choice}
                type="button"
                className="secondary"
                aria-pressed={p.layout === choice}
                onClick={() => p.onLayout(choice)}
              >
                {LAYOUT_NAMES[choice]}
              </button>
            ))}
          </div>
        </details>
        <details className="device-menu" onKeyDown={closeOnEscape}>
          <summary className="tool" data-tip="Devices">
            <Settings {...ICON} />
            Devices
          </summary>
          <div className="device-menu-body stack">{p.devices}</div>
        </details>
        <ToolButton
          label="Keyboard shortcuts"
          tip="Keyboard shortcuts (?)"
          icon={<Keyboard {...ICON} />}
          onClick={p.onShortcuts}
        />
      </div>
      <div className="toolbar-group leave">
        <ToolButton label="Leave call" className="danger" icon={<PhoneOff {...ICON} />} onClick={p.onLeave} />
      </div>
    </div>
  );
});
