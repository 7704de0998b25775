/**
 * The microphone and camera regions of the call machine's `inCall` (parallel regions, like
 * call.hand.ts and call.views.ts): turning each on and off, asking for a device mid-call, and
 * switching devices; plus the one-device request the pre-join screen uses too.
 */
import { callActionsSetup } from "./call.actions";
import type { DeviceKind, RequestMediaInput } from "./call.contracts";
import type { CallContext } from "./call.setup";

const machineSetup = callActionsSetup;

/** A mid-call request for just one kind of device (turning it on later, or switching it). */
export function requestOne(context: CallContext, kind: DeviceKind): RequestMediaInput {
  return {
    audio: kind === "audio",
    video: kind === "video",
    audioDeviceId: kind === "audio" ? context.devices.audio : null,
    videoDeviceId: kind === "video" ? context.devices.video : null,
  };
}

/** In `acquiring`: another device of this kind picked while one is being opened is asked for instead. */
function reacquireWithPicked(kind: DeviceKind) {
  return {
    guard: { type: "selectsKind" as const, params: { kind } },
    target: "acquiring",
    reenter: true,
    actions: "selectDevice" as const,
  };
}

/**
 * The microphone or camera during the call: init → on ⇄ off → acquiring (requestMedia) → on, and
 * SELECT_DEVICE → switching → init. They differ in one way: the camera is let go while off (its
 * light goes out, `releaseCamera`) and asked for again when turned on, while a muted microphone is
 * only disabled; so a camera picked while off is only remembered. The microphone also answers a
 * host's "asks you to unmute" (ACCEPT_UNMUTE: unmutes as the toggle would, and the notice goes),
 * and push-to-talk: holding Space while muted unmutes (`on.pushToTalk`), letting go mutes again;
 * Space while already unmuted changes nothing, so its release mutes nothing either.
 */
export function deviceRegion(kind: DeviceKind) {
  /** `{ TOGGLE_AUDIO: t }` or `{ TOGGLE_VIDEO: t }`: the toggle of this kind. */
  const onToggle = <T>(t: T) => (kind === "audio" ? { TOGGLE_AUDIO: t } : { TOGGLE_VIDEO: t });
  const releasesWhileOff = kind === "video";
  const release = releasesWhileOff ? (["releaseCamera"] as const) : ([] as const);
  const setFlag = (on: boolean) => ({ type: "setFlag" as const, params: { kind, on } });
  const selectsThisKind = { type: "selectsKind" as const, params: { kind } };
  const forcedOff = kind === "audio" ? ("mutesUs" as const) : ("withdrawsCamera" as const);
  const withheld = {
    type: "withheld" as const,
    params: { permission: kind === "audio" ? "unmute" : "camera" } as const,
  };
  return machineSetup.createStateConfig({
    initial: "init",
    states: {
      init: {
        always: [
          { guard: kind === "audio" ? ("audioPublished" as const) : ("videoPublished" as const), target: "on" },
          // Off at the start (the user's choice, or a permission kept to hosts): the track is silenced.
          { target: "off", actions: [{ type: "enableAsPublished" as const, params: { kind } }, ...release] },
        ],
      },
      on: {
        on: {
          ...onToggle({ target: "off", actions: [setFlag(false), ...release] }),
          // A host muted us, or withdrew the permission: off, as if the user had clicked.
          "ROOM.EVENT": { guard: forcedOff, target: "off", actions: [setFlag(false), ...release] },
        },
        ...(kind === "audio"
          ? {
              initial: "steady",
              states: {
                /** Unmuted by the user's choice (button, M, "Unmute"): it stays so. */
                steady: {},
                /** Unmuted by holding Space while muted: letting go mutes again. */
                pushToTalk: {
                  on: {
                    PTT_UP: { target: "#call.inCall.audio.off", actions: setFlag(false) },
                    // Accepting a host's ask while holding Space: the user wants to stay unmuted.
                    ACCEPT_UNMUTE: { target: "steady", actions: "dismissNotice" as const },
                  },
                },
              },
            }
          : {}),
      },
      off: {
        on: releasesWhileOff
          ? {
              // The camera is not held while off: remember the choice for when it is turned on.
              SELECT_DEVICE: { guard: selectsThisKind, actions: "selectDevice" as const },
              ...onToggle([{ guard: withheld }, { target: "acquiring" }]),
            }
          : {
              ...onToggle([
                { guard: withheld },
                { guard: "hasMic" as const, target: "on", actions: setFlag(true) },
                { target: "acquiring" },
              ]),
              // Only a held microphone is pushed open; asking for one would outlast the key press.
              PTT_DOWN: [
                { guard: withheld },
                { guard: "hasMic" as const, target: "on.pushToTalk", actions: setFlag(true) },
              ],
              ACCEPT_UNMUTE: [
                { guard: withheld, actions: "dismissNotice" as const },
                { guard: "hasMic" as const, target: "on", actions: [setFlag(true), "dismissNotice" as const] },
                { target: "acquiring", actions: "dismissNotice" as const },
              ],
            },
      },
      /** Nothing held yet (listen-only join, denied earlier, camera let go): ask again, no reload. */
      acquiring: {
        invoke: {
          src: "requestMedia",
          input: ({ context }) => requestOne(context, kind),
          onDone: { target: "on", actions: [{ type: "storeAcquired", params: { kind } }, setFlag(true)] },
          onError: { target: "off", actions: "storeMediaError" },
        },
        on: {
          ...onToggle("off"),
          SELECT_DEVICE: reacquireWithPicked(kind),
          "ROOM.EVENT": { guard: forcedOff, target: "off" },
        },
      },
      /** A different device was picked mid-call: swap it in without renegotiating. */
      switching: {
        invoke: {
          src: "requestMedia",
          input: ({ context }) => requestOne(context, kind),
          onDone: {
            target: "init",
            actions: [
              { type: "releaseTrack", params: { kind } },
              { type: "storeAcquired", params: { kind } },
              { type: "enableAsPublished", params: { kind } },
            ],
          },
          onError: { target: "init", actions: "storeMediaError" },
        },
      },
    },
    on: {
      SELECT_DEVICE: { guard: selectsThisKind, target: ".switching", actions: "selectDevice" },
      // Already unmuted (or the microphone is being opened or switched): the notice just goes.
      ...(kind === "audio" ? { ACCEPT_UNMUTE: { actions: "dismissNotice" as const } } : {}),
    },
  });
}
