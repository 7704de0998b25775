/**
 * The call room once joined: a full-window stage, the side panel beside it and the toolbar below,
 * all rendered from the call machine's snapshots (useSelector). Layout, pin and the active
 * speaker come from the pure functions in ~/utils/call-layout; keys from ~/utils/keymap. What
 * changes the call (mic, camera, share, hand, leave) is an event sent to the machine.
 */
import { shallowEqual, useSelector } from "@xstate/react";
import {
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type ReactNode,
} from "react";
import { toast } from "sonner";
import type { ActorRefFrom } from "xstate";
import { serverTrouble, type CallMachine, type DeviceKind, type PeerRef } from "../../../../machines/call.machine";
import { permissionWithheld } from "../../../../machines/call.setup";
import { reportedTrouble } from "../../../../machines/link-reports";
import type { RoomParticipant } from "../../../../machines/room-protocol";
import { decideLayout, nextLayoutChoice, nextSpeaker, NO_SPEAKER, type SpeakerState } from "~/utils/call-layout";
import { isTypingTarget, shortcutFor, type ShortcutAction } from "~/utils/keymap";
import { DevicePickers } from "../devices";
import { RemoteTile } from "../remote-tile";
import { useShareFailureToast } from "../use-share-failure-toast";
import { useTalkingWhileMuted } from "../use-talking-while-muted";
import { VideoTile } from "../video-tile";
import {
  HostControlsDialog,
  HostMenuItems,
  ModerationBanner,
  PeopleHostHeader,
  RemoveDialog,
  useHostActionFailureToast,
  type HostTarget,
  type SendHostAction,
} from "./host-controls";
import { ShortcutsDialog } from "./shortcuts-dialog";
import { TileMenu } from "./tile-menu";
import { orderPeople, SidePanel, type PanelTab, type Person } from "./side-panel";
import { Stage, type StageTile } from "./stage";
import { Toolbar } from "./toolbar";
import { useRoomPrefs } from "./use-room-prefs";
import { panelRect, useViewReports } from "./use-view-reports";
import { usePeerToasts, usePresenceToasts } from "./toasts";
import { say } from "../messages";

type CallActor = ActorRefFrom<CallMachine>;
const SELF = "self";

const SERVER_TROUBLE = {
  "room-feed": "roomFeedLost",
  heartbeat: "heartbeatFailing",
  publish: "publishFailed",
} as const;

function useTrackStream(audio: MediaStreamTrack | null, video: MediaStreamTrack | null): MediaStream | null {
  return useMemo(() => {
    const tracks = [audio, video].filter((t): t is MediaStreamTrack => t !== null);
    return tracks.length > 0 ? new MediaStream(tracks) : null;
  }, [audio, video]);
}

/**
 * A function that keeps its identity across renders and always runs the latest `fn`: what the
 * memoised tiles are handed, so a room render that changes nothing of theirs skips them.
 */
function useStableCallback<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const ref = useRef(fn);
  ref.current = fn;
  return useCallback((...args: A) => ref.current(...args), []);
}

/** Who is speaking now, per tile, and a stable reporter callback for each tile. */
function useSpeaking(onSelf: (speaking: boolean) => void) {
  const [speaking, setSpeaking] = useState<ReadonlySet<string>>(new Set());
  const reporters = useRef(new Map<string, (s: boolean) => void>());
  const onSelfRef = useRef(onSelf);
  onSelfRef.current = onSelf;
  const reporter = useCallback((id: string) => {
    let r = reporters.current.get(id);
    if (!r) {
      r = (s: boolean) => {
        if (id === SELF) onSelfRef.current(s);
        setSpeaking((prev) => {
          if (prev.has(id) === s) return prev;
          const next = new Set(prev);
          if (s) next.add(id);
          else next.delete(id);
          return next;
        });
      };
      reporters.current.set(id, r);
    }
    return r;
  }, []);
  return [speaking, reporter] as const;
}

/** The active speaker, re-evaluated a few times a second so a challenger's 1.5 s can elapse. */
function useActiveSpeaker(speaking: ReadonlySet<string>): string | null {
  const [state, setState] = useState<SpeakerState>(NO_SPEAKER);
  const latest = useRef(speaking);
  latest.current = speaking;
  useEffect(() => {
    const tick = () =>
      setState((s) => {
        const next = nextSpeaker(s, latest.current, Date.now());
        return shallowEqual(next, s) ? s : next;
      });
    tick();
    const timer = setInterval(tick, 250);
    return () => clearInterval(timer);
  }, [speaking]);
  return state.current;
}

/** Publishes the toolbar's height as --call-controls-h, so toasts stack above it, never over it. */
function usePublishedHeight() {
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

/**
 * Window key handling through the one keymap: a shortcut runs its action; Space reports its press
 * and release (push-to-talk, decided by the call machine); Esc takes focus out of a text field.
 */
function useShortcuts(singleKeys: boolean, run: (a: ShortcutAction) => void, ptt: (down: boolean) => void) {
  const runRef = useRef(run);
  runRef.current = run;
  const pttRef = useRef(ptt);
  pttRef.current = ptt;
  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      const target = e.target instanceof HTMLElement ? e.target : null;
      if (e.key === "Escape" && target && isTypingTarget(target)) {
        target.blur();
        return;
      }
      const s = shortcutFor({ ...pick(e), target }, { singleKeys });
      if (!s) return;
      e.preventDefault();
      if (s.action === "push-to-talk") pttRef.current(true);
      else runRef.current(s.action);
    };
    const up = (e: KeyboardEvent) => {
      if (e.key !== " ") return;
      const target = e.target instanceof HTMLElement ? e.target : null;
      if (shortcutFor({ ...pick(e), repeat: false, target }, { singleKeys })?.action !== "push-to-talk") return;
      e.preventDefault();
      pttRef.current(false);
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
    };
  }, [singleKeys]);
}
const pick = (e: KeyboardEvent) => ({
  key: e.key,
  repeat: e.repeat,
  ctrlKey: e.ctrlKey,
  metaKey: e.metaKey,
  altKey: e.altKey,
  shiftKey: e.shiftKey,
});

/** What the room needs of a chat: its panel, its unread count, and whether its tab is showing. */
export interface RoomChat {
  panel: ReactNode;
  unread: number;
  open: boolean;
  setOpen(open: boolean): void;
}

export function Room(props: {
  actor: CallActor;
  self: { userId: string; name: string };
  /** The chat, when the page has one: it gets the Chat tab and toolbar button. */
  chat?: RoomChat;
  /** The Inspector tab's content (?debug=1). */
  inspector?: ReactNode;
}) {
  const { actor, self } = props;
  const view = useSelector(
    actor,
    (s) => ({
      audioOn: s.matches({ inCall: { audio: "on" } }),
      videoOn: s.matches({ inCall: { video: "on" } }),
      sharing: s.matches({ inCall: { screen: "on" } }),
      shareStarting: s.matches({ inCall: { screen: "starting" } }),
      handUp: s.matches({ inCall: { hand: "raised" } }),
      handAsking: s.matches({ inCall: { hand: { raised: "asking" } } }),
      handRaisedAt: s.context.handRaisedAt,
      signalingDown:
        s.matches({ inCall: { signaling: "reconnecting" } }) || s.matches({ inCall: { signaling: "offline" } }),
      signalingOffline: s.matches({ inCall: { signaling: "offline" } }),
      serverTrouble: serverTrouble(s),
      videoTrack: s.context.videoTrack,
      screenStream: s.context.screenStream,
      audioTrack: s.context.audioTrack,
      peers: s.context.peers,
      participants: s.context.participants,
      devices: s.context.devices,
      ownPeerId: s.context.join?.peerId ?? null,
      isHost: s.context.join?.participant.host === true,
      permissions: s.context.permissions,
      notice: s.context.notice,
      withheldUnmute: permissionWithheld(s.context, "unmute"),
      withheldCamera: permissionWithheld(s.context, "camera"),
      withheldShare: permissionWithheld(s.context, "screenShare"),
    }),
    shallowEqual,
  );
  const send = actor.send;
  // Stable, so the device pickers (memoised) skip the room's many re-renders while a call connects.
  const selectDevice = useCallback(
    (kind: DeviceKind, deviceId: string) => send({ type: "SELECT_DEVICE", kind, deviceId }),
    [send],
  );
  const prefs = useRoomPrefs();
  const chat = props.chat;
  const [otherPanel, setOtherPanel] = useState<Exclude<PanelTab, "chat"> | null>(props.inspector ? "inspector" : null);
  // The Chat tab shows exactly while the chat is open (it may open itself, e.g. from a toast).
  const panel: PanelTab | null = chat?.open ? "chat" : otherPanel;
  const setPanel = (tab: PanelTab | null) => {
    chat?.setOpen(tab === "chat");
    if (tab !== "chat") setOtherPanel(tab);
  };
  const [helpOpen, setHelpOpen] = useState(false);
  const sendHostAction: SendHostAction = useCallback((action) => send({ type: "HOST_ACTION", action }), [send]);
  const retryPeer = useCallback((peerId: string) => send({ type: "RETRY_PEER", peerId }), [send]);
  useHostActionFailureToast(actor);
  const [removing, setRemoving] = useState<HostTarget | null>(null);
  const [controlsOpen, setControlsOpen] = useState(false);
  /** A host's items for a remote person's menu; none for non-hosts (the server refuses them anyway). */
  const hostItems = (peerId: string) => {
    const p = view.participants[peerId];
    if (!view.isHost || !p || p.host) return undefined;
    const target = { userId: p.userId, name: p.name, audio: p.audio, handUp: !!p.handRaisedAt };
    return (close: () => void) => (
      <HostMenuItems target={target} send={sendHostAction} onRemove={setRemoving} done={close} />
    );
  };
  const selfView = useTrackStream(null, view.videoTrack);
  const selfVoice = useTrackStream(view.audioTrack, null);
  const talkingWhileMuted = useTalkingWhileMuted(view.audioTrack, !view.audioOn);
  usePresenceToasts(view.participants, view.ownPeerId);
  useShareFailureToast(actor);
  const [speaking, reporter] = useSpeaking((s) => send({ type: "SELF.SPEAKING", speaking: s }));
  const speaker = useActiveSpeaker(speaking);
  const toolbar = usePublishedHeight();
  const onMeasure = useViewReports(send, SELF);
  // Joining removed the button that was pressed: focus moves to the call's first control.
  useEffect(() => toolbar.current?.querySelector("button")?.focus(), [toolbar]);

  const peers = Object.entries(view.peers) as Array<[string, PeerRef]>;
  const remote = (peerId: string) => view.participants[peerId];
  const people: Person[] = [
    {
      id: SELF,
      name: self.name,
      self: true,
      audio: view.audioOn,
      video: view.videoOn,
      handRaisedAt: view.handUp ? (view.handRaisedAt ?? new Date().toISOString()) : null,
      peer: null,
    },
    ...peers.map(([peerId, ref]) => {
      const p = remote(peerId);
      return {
        id: peerId,
        name: p?.name ?? "Someone",
        self: false,
        audio: p?.audio ?? true,
        video: p?.video ?? true,
        handRaisedAt: p?.handRaisedAt ?? null,
        peer: ref,
        menu: view.isHost && p && !p.host ? <TileMenu name={p.name} more={hostItems(peerId)} /> : null,
      };
    }),
  ];
  const handNumber = new Map(orderPeople(people).map((p) => [p.id, p.hand]));
  useHandToasts(people);
  useHandPrompt(view.handAsking, () => send({ type: "KEEP_HAND" }));

  const sharer = view.sharing ? SELF : (peers.find(([id]) => remote(id)?.screen)?.[0] ?? null);
  const pinnedId =
    prefs.pinned === self.userId ? SELF : (peers.find(([id]) => remote(id)?.userId === prefs.pinned)?.[0] ?? null);
  const decision = decideLayout({
    ids: people.map((p) => p.id),
    speaker,
    sharer,
    pinned: pinnedId,
    choice: prefs.layout,
  });
  const togglePin = useStableCallback((userId: string) => prefs.setPinned(prefs.pinned === userId ? null : userId));
  const togglePanel = (tab: PanelTab) => setPanel(panel === tab ? null : tab);

  useShortcuts(
    prefs.singleKeys,
    (action) => {
      if (action === "mic") send({ type: "TOGGLE_AUDIO" });
      else if (action === "camera") send({ type: "TOGGLE_VIDEO" });
      else if (action === "share") send({ type: view.sharing ? "STOP_SHARE" : "START_SHARE" });
      else if (action === "hand") send({ type: "TOGGLE_HAND" });
      else if (action === "people") togglePanel("people");
      else if (action === "chat" && chat) togglePanel("chat");
      else if (action === "layout") prefs.setLayout(nextLayoutChoice(prefs.layout));
      else if (action === "help") setHelpOpen(true);
    },
    // Hold to talk while muted: the machine unmutes on the press and mutes only what it unmuted.
    (down) => send({ type: down ? "PTT_DOWN" : "PTT_UP" }),
  );

  const tiles: StageTile[] = [
    {
      id: SELF,
      render: ({ style }) => (
        <VideoTile
          style={style}
          label={`${self.name} (you)`}
          name={self.name}
          stream={view.sharing ? view.screenStream : selfView}
          voice={selfVoice}
          isSelf
          micMuted={!view.audioOn}
          cameraOff={!view.videoOn}
          presenting={view.sharing}
          hand={handNumber.get(SELF) ?? null}
          onSpeakingChange={reporter(SELF)}
          menu={
            <TileMenu name={self.name} pinned={prefs.pinned === self.userId} onPin={() => togglePin(self.userId)} />
          }
        />
      ),
    },
    ...peers.map(([peerId, ref]) => ({
      id: peerId,
      render: ({ style }: { style: CSSProperties }) => {
        const p = remote(peerId);
        return (
          <PeerTile
            actor={actor}
            peer={ref}
            peerId={peerId}
            participant={p}
            hostMenu={view.isHost}
            pinned={!!p && prefs.pinned === p.userId}
            hand={handNumber.get(peerId) ?? null}
            style={style}
            onSpeakingChange={reporter(peerId)}
            onPin={togglePin}
            onRetry={retryPeer}
            sendHostAction={sendHostAction}
            onRemove={setRemoving}
          />
        );
      },
    })),
  ];

  return (
    <div className="room">
      {view.signalingDown || view.serverTrouble || talkingWhileMuted || view.notice ? (
        <section className="room-banners" aria-label="Call status">
          <ModerationBanner
            notice={view.notice}
            onAcceptUnmute={() => send({ type: "ACCEPT_UNMUTE" })}
            onDismiss={() => send({ type: "DISMISS_NOTICE" })}
          />
          {view.signalingDown ? (
            <div className="banner" role="alert">
              {view.signalingOffline ? (
                <>
                  {say("signalingLost")}{" "}
                  <button type="button" onClick={() => send({ type: "RETRY_SIGNALING" })}>
                    Reconnect
                  </button>
                </>
              ) : (
                say("signalingReconnecting")
              )}
            </div>
          ) : null}
          {view.serverTrouble ? (
            <div className="banner" role="alert">
              {say(SERVER_TROUBLE[view.serverTrouble])}{" "}
              <button type="button" onClick={() => send({ type: "RETRY_SERVER" })}>
                Try again
              </button>
            </div>
          ) : null}
          {talkingWhileMuted ? (
            <div className="banner" role="status">
              {say("talkingWhileMuted")}
            </div>
          ) : null}
        </section>
      ) : null}
      <div className="room-body">
        <Stage decision={decision} tiles={tiles} onMeasure={onMeasure} coveredBy={panelRect} coverKey={panel} />
        {panel ? (
          <SidePanel
            tab={panel}
            onTab={setPanel}
            onClose={() => setPanel(null)}
            people={people}
            peopleHeader={
              view.isHost ? (
                <PeopleHostHeader
                  send={sendHostAction}
                  anyHandUp={people.some((p) => !p.self && p.handRaisedAt)}
                  onControls={() => setControlsOpen(true)}
                />
              ) : null
            }
            chat={chat?.panel}
            inspector={props.inspector}
          />
        ) : null}
      </div>
      <section className="room-footer" aria-label="Controls">
        <Toolbar
          ref={toolbar}
          audioOn={view.audioOn}
          videoOn={view.videoOn}
          sharing={view.sharing}
          shareStarting={view.shareStarting}
          handUp={view.handUp}
          withheld={{ unmute: view.withheldUnmute, camera: view.withheldCamera, screenShare: view.withheldShare }}
          panel={panel}
          hasChat={!!chat}
          chatUnread={chat?.unread ?? 0}
          layout={prefs.layout}
          devices={
            <DevicePickers
              refreshKey={view.videoTrack ?? view.audioTrack}
              selected={view.devices}
              onSelect={selectDevice}
            />
          }
          onMic={() => send({ type: "TOGGLE_AUDIO" })}
          onCamera={() => send({ type: "TOGGLE_VIDEO" })}
          onShare={() => send({ type: view.sharing ? "STOP_SHARE" : "START_SHARE" })}
          onHand={() => send({ type: "TOGGLE_HAND" })}
          onPanel={togglePanel}
          onLayout={prefs.setLayout}
          onShortcuts={() => setHelpOpen(true)}
          onLeave={() => send({ type: "LEAVE" })}
        />
      </section>
      <RemoveDialog
        target={removing}
        onRemove={(t, ban) => sendHostAction({ kind: "remove", userId: t.userId, ban })}
        onClose={() => setRemoving(null)}
      />
      <HostControlsDialog
        open={controlsOpen}
        permissions={view.permissions}
        onChange={(permissions) => sendHostAction({ kind: "set-permissions", permissions })}
        onClose={() => setControlsOpen(false)}
      />
      <ShortcutsDialog
        open={helpOpen}
        onClose={() => setHelpOpen(false)}
        singleKeys={prefs.singleKeys}
        onSingleKeys={prefs.setSingleKeys}
      />
    </div>
  );
}

interface PeerTileProps {
  actor: CallActor;
  peer: PeerRef;
  peerId: string;
  /** What the room lists about them (undefined until the room announces a caller). */
  participant: RoomParticipant | undefined;
  /** We are a host: their menu has the host's items (unless they are a host too). */
  hostMenu: boolean;
  pinned: boolean;
  hand: number | null;
  style: CSSProperties;
  onSpeakingChange: (speaking: boolean) => void;
  onPin: (userId: string) => void;
  onRetry: (peerId: string) => void;
  sendHostAction: SendHostAction;
  onRemove: (target: HostTarget) => void;
}

/**
 * A remote person's tile. Memoised (its callbacks are stable, its style compared by value): the
 * room re-renders for anything in the call, and while a call connects that is many times a
 * second; a tile re-renders only for what it shows. What others report about this person's links
 * is selected here, so a report about someone else re-renders nothing of this tile.
 */
const PeerTile = memo(function PeerTile(props: PeerTileProps) {
  const { participant: p, peerId, onPin, sendHostAction, onRemove } = props;
  usePeerToasts(props.peer);
  const reported = useSelector(props.actor, (s) => reportedTrouble(s.context.linkReports, peerId));
  const host = props.hostMenu && p && !p.host;
  const menu = p ? (
    <TileMenu
      name={p.name}
      pinned={props.pinned}
      onPin={() => onPin(p.userId)}
      more={
        host
          ? (close) => (
              <HostMenuItems
                target={{ userId: p.userId, name: p.name, audio: p.audio, handUp: !!p.handRaisedAt }}
                send={sendHostAction}
                onRemove={onRemove}
                done={close}
              />
            )
          : undefined
      }
    />
  ) : null;
  return (
    <RemoteTile
      peer={props.peer}
      reported={reported}
      onRetry={props.onRetry}
      tile={{ style: props.style, hand: props.hand, onSpeakingChange: props.onSpeakingChange, menu }}
    />
  );
}, samePeerTileProps);

function samePeerTileProps(a: PeerTileProps, b: PeerTileProps): boolean {
  for (const key of Object.keys(a) as Array<keyof PeerTileProps>) {
    if (key === "style") continue;
    if (!Object.is(a[key], b[key])) return false;
  }
  const sa = a.style as Record<string, unknown>;
  const sb = b.style as Record<string, unknown>;
  const keys = Object.keys(sa);
  return keys.length === Object.keys(sb).length && keys.every((k) => Object.is(sa[k], sb[k]));
}

/** "Bob raised their hand": a toast for each hand that goes up (not for hands already up). */
function useHandToasts(people: Person[]) {
  const known = useRef<Map<string, string | null> | null>(null);
  const key = people.map((p) => `${p.id}:${p.handRaisedAt ?? ""}`).join("|");
  useEffect(() => {
    const now = new Map(people.map((p) => [p.id, p.handRaisedAt]));
    const before = known.current;
    known.current = now;
    if (!before) return;
    for (const p of people)
      if (!p.self && p.handRaisedAt && !before.get(p.id))
        toast(say("handRaised", { name: p.name }), { id: `hand:${p.id}` });
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
}

/** The machine asks "Lower your hand?" after ~3 s of talking with it up; the toast offers to keep it. */
function useHandPrompt(asking: boolean, keep: () => void) {
  const keepRef = useRef(keep);
  keepRef.current = keep;
  useEffect(() => {
    if (!asking) return;
    toast(say("lowerHand"), {
      id: "hand-prompt",
      description: say("lowerHandHelp"),
      duration: Infinity,
      action: { label: "Keep it raised", onClick: () => keepRef.current() },
    });
    return () => {
      toast.dismiss("hand-prompt");
    };
  }, [asking]);
}
