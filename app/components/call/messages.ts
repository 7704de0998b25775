/**
 * Every message the call UI shows a person — banners, toasts, tile labels, statuses — in one place,
 * so docs/troubleshooting.md can explain each one: tests/docs/troubleshooting.test.ts fails when a
 * message here has no entry there, and when a component in app/components/call/ writes a sentence
 * or a toast of its own instead of taking it from here. `{name}`-style placeholders are filled with
 * `say`. (Texts the machines produce — "This call is full (6 people)", chat notices, "Bob is
 * typing…" — live in machines/, which imports nothing from app/; the test covers those too.)
 */

import { CALL_LOCKED_TEXT, REMOVED_TEXT } from "../../../machines/room-presence";

export const CALL_MESSAGES = {
  // Before joining (prejoin.tsx): the camera and microphone.
  preparing: "Getting the call ready…",
  askingDevices: "Asking for your camera and microphone…",
  devicesDenied: "Camera and microphone are blocked",
  devicesDeniedHelp:
    "Your browser is not letting this page use them. Click the camera icon in the address bar (or open Site settings → Camera and Microphone), choose Allow, then press “Try again”. You can also join without them to listen and watch.",
  noDevice: "No camera or microphone found",
  noDeviceHelp:
    "Plug one in (or check it is switched on) and press “Try again”. You can also join without them to listen and watch.",
  devicesInUse: "Your camera or microphone is busy",
  devicesInUseHelp:
    "Another app or browser tab is using it. Close that app, then press “Try again” — or join now to listen and watch.",
  devicesFailed: "We couldn't start your camera or microphone",
  devicesFailedHelp: "Press “Try again”, or join to listen and watch and turn them on later.",
  listenOnly: "You'll join without camera and microphone: you can listen and watch, and turn them on later.",
  meterBlocked: "Click anywhere on the page to see your microphone level.",

  // Joining and leaving (call-room.tsx).
  joining: "Joining the call…",
  joinForbidden: "You are not allowed to join this call.",
  // A ban and a lock are said in the server's own words, as the pre-join screen warns of a lock.
  joinRemoved: REMOVED_TEXT,
  joinLocked: CALL_LOCKED_TEXT,
  joinNotFound: "This call has ended.",
  joinNetwork: "We couldn't reach the server. Check your connection and try again.",
  joinSignaling: "We couldn't connect to the call server. Try again in a moment.",
  joinUnknown: "Something went wrong while joining.",
  leaving: "Leaving…",
  endLeft: "You left the call.",
  endSessionEnded: "The call has ended.",
  endReplaced: "You joined from another tab.",
  endKicked: "You were removed from this call.",
  endRemovedBy: "{host} removed you from the call",

  // In the room (room.tsx): the link to the server.
  signalingReconnecting: "Reconnecting to the call server… your current video keeps flowing.",
  signalingLost: "Lost connection to the call server.",
  roomFeedLost: "Lost touch with the call server: people joining or leaving may not show up.",
  heartbeatFailing: "Can't reach the server: you may be dropped from the call.",
  publishFailed: "Others may not see whether your microphone or camera is on.",
  talkingWhileMuted: "You are muted",
  shareFailed: "Your screen can't be shared from this browser.",

  // Links to the others (toasts.ts, remote-tile.tsx, side-panel.tsx).
  peerReconnectingToast: "Reconnecting to {name}…",
  peerLost: "Connection to {name} lost",
  peerReconnected: "Reconnected to {name}",
  peerReconnectingTile: "Reconnecting ({attempt}/{maxAttempts})",
  peerConnecting: "Connecting…",
  personConnected: "Connected",
  personConnecting: "Connecting",
  personReconnecting: "Reconnecting",
  personLost: "Connection lost",
  joined: "{name} joined",
  left: "{name} left",

  // Tiles (video-tile.tsx).
  tileMuted: "Muted",
  tilePresenting: "Presenting",
  tileSpeaking: "Speaking",
  tileHandRaised: "Hand raised",
  tileCameraOff: "{name}'s camera is off",
  tileQuality: "Connection: {level}",

  // Hands (room.tsx).
  handRaised: "{name} raised their hand",
  lowerHand: "Lower your hand?",
  lowerHandHelp: "You've been talking for a while. It goes down in a few seconds.",

  // Chat (chat-panel.tsx, use-call-chat.ts).
  chatLoading: "Loading messages…",
  chatEmpty: "No messages yet. Say hello!",
  chatSending: "Sending…",
  chatNotSent: "Not sent —",
  chatSeenBy: "Seen by {names}",
  chatToast: "{name}: {message}",
  chatToastFile: "{name}: shared {file}",
  chatUploading: "Uploading {file}",
  chatUploadStatus: "the server answered {status}",
  chatUploadNetwork: "the connection failed",

  // Host controls (host-controls.tsx, toolbar.tsx).
  mutedBy: "{host} muted you",
  askedToUnmute: "{host} asks you to unmute",
  hostActionFailed: "That didn't work. Try again.",
  hostActionNotAllowed: "Only the study's owner and admins can do that, and admins can't do it to the owner.",
  hostActionNotInCall: "That person is no longer in this call.",
  hostActionEnded: "This call has already ended.",
  removeLeavesAtOnce: "They leave the call at once.",
  withheldUnmute: "Only hosts can unmute in this call",
  withheldCamera: "Only hosts can turn on their camera in this call",
  withheldScreen: "Only hosts can share their screen in this call",
  // The Inspector (?debug=1, debug-panel.tsx).
  snapshotCopied: "Snapshot copied to the clipboard.",
  snapshotNotCopied: "Couldn't copy the snapshot: {reason}",
  diagramDrawing: "Drawing the diagram…",
  diagramFailed: "Couldn't draw the diagram: {reason}",
} as const;

export type CallMessage = keyof typeof CALL_MESSAGES;

/** The message with its placeholders filled: say("peerLost", { name: "Bob" }) → "Connection to Bob lost". */
export function say(key: CallMessage, vars: Record<string, string | number> = {}): string {
  return CALL_MESSAGES[key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}
