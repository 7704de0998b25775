// The call machine obeying host controls (room `moderation` / `permissions-changed` / `user-left` KICKED events), with fake actors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { permissionWithheld } from "./call.setup";
import { camera, flush, inCall, ME, mic, moderation, permissions, screenTrack, SESSION, T1 } from "./call.test-harness";
import { fakeCallHandle, fakeStream, participant } from "./test-utils";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

describe("forced mute", () => {
  it("a host's mute while the mic is on turns it off, silences the track, publishes and says who", async () => {
    const c = await inCall();
    expect(c.region("audio")).toEqual({ on: "steady" });
    c.room(moderation("mute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    expect(c.published.at(-1)).toMatchObject({ audio: false });
    expect(c.context().notice).toEqual({ kind: "muted", by: "Alice" });
    // The user may unmute themselves: nobody is unmuted by someone else, and nobody is kept muted.
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.published.at(-1)).toMatchObject({ audio: true });
  });

  it("a mute aimed at someone else changes nothing here; mute-all spares hosts", async () => {
    const c = await inCall({ room: [participant("bob-peer", T1)] });
    c.room(moderation("mute", "bob-peer"));
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.context().notice).toBeNull();
    const host = await inCall({ host: true });
    host.room(moderation("mute-all", null));
    await flush();
    expect(host.region("audio")).toEqual({ on: "steady" });
    c.room(moderation("mute-all", null));
    await flush();
    expect(c.region("audio")).toBe("off");
  });

  it("ask-unmute only shows the notice; Stay muted dismisses it", async () => {
    const c = await inCall();
    c.room(moderation("mute", ME));
    c.room(moderation("ask-unmute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.context().notice).toEqual({ kind: "ask-unmute", by: "Alice" });
    c.actor.send({ type: "DISMISS_NOTICE" });
    expect(c.context().notice).toBeNull();
    expect(c.region("audio")).toBe("off");
  });
});

describe("Unmute on a host's ask (ACCEPT_UNMUTE)", () => {
  it("while muted: unmutes, publishes it and closes the notice", async () => {
    const c = await inCall();
    c.room(moderation("mute", ME));
    c.room(moderation("ask-unmute", ME));
    await flush();
    c.actor.send({ type: "ACCEPT_UNMUTE" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.trackCommands.at(-1)).toEqual({ type: "TRACKS.ENABLE", track: mic, enabled: true });
    expect(c.published.at(-1)).toMatchObject({ audio: true });
    expect(c.context().notice).toBeNull();
  });

  it("already unmuted (by the user meanwhile): stays unmuted, only the notice goes", async () => {
    const c = await inCall();
    c.room(moderation("mute", ME));
    c.room(moderation("ask-unmute", ME));
    await flush();
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    const published = c.published.length;
    c.actor.send({ type: "ACCEPT_UNMUTE" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.published).toHaveLength(published);
    expect(c.context().notice).toBeNull();
  });

  it("unmuting kept to hosts: stays muted, publishes nothing, the notice goes", async () => {
    const c = await inCall();
    c.room(permissions({ unmute: "hosts" }));
    c.room(moderation("ask-unmute", ME));
    await flush();
    const published = c.published.length;
    c.actor.send({ type: "ACCEPT_UNMUTE" });
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.published).toHaveLength(published);
    expect(c.context().notice).toBeNull();
  });

  it("joined without a microphone: asks for one, as the mic button would", async () => {
    const c = await inCall({ noMic: true });
    c.room(moderation("ask-unmute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    c.actor.send({ type: "ACCEPT_UNMUTE" });
    expect(c.region("audio")).toBe("acquiring");
    expect(c.context().notice).toBeNull();
  });
});

describe("permissions", () => {
  it("unmute kept to hosts mutes a member and refuses their unmute; a host keeps theirs", async () => {
    const c = await inCall();
    c.room(permissions({ unmute: "hosts" }));
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(permissionWithheld(c.context(), "unmute")).toBe(true);
    const before = c.published.length;
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.published).toHaveLength(before);
    const host = await inCall({ host: true });
    host.room(permissions({ unmute: "hosts" }));
    await flush();
    expect(host.region("audio")).toEqual({ on: "steady" });
    expect(permissionWithheld(host.context(), "unmute")).toBe(false);
  });

  it("screen share withdrawn during a share stops it; a new share is refused until it is given back", async () => {
    const c = await inCall();
    c.actor.send({ type: "START_SHARE" });
    c.display.pending[0]!.resolve({ stream: fakeStream("screen"), videoTrack: screenTrack });
    await flush();
    expect(c.region("screen")).toBe("on");
    c.room(permissions({ screenShare: "hosts" }));
    await flush();
    expect(c.region("screen")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [screenTrack] });
    expect(c.published.at(-1)).toMatchObject({ screen: false });
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("off");
    expect(c.display.pending).toHaveLength(1);
    c.room(permissions({ screenShare: "everyone" }));
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("starting");
  });

  it("screen share withdrawn while the picker is open: the share never starts", async () => {
    const c = await inCall();
    c.actor.send({ type: "START_SHARE" });
    expect(c.region("screen")).toBe("starting");
    c.room(permissions({ screenShare: "hosts" }));
    await flush();
    expect(c.region("screen")).toBe("off");
  });

  it("camera withdrawn turns the camera off and lets it go", async () => {
    const c = await inCall();
    expect(c.region("video")).toBe("on");
    c.room(permissions({ camera: "hosts" }));
    await flush();
    expect(c.region("video")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.RELEASE", tracks: [camera] });
    expect(c.published.at(-1)).toMatchObject({ video: false });
  });

  it("a join the server started muted (unmute kept to hosts) silences the mic and publishes nothing", async () => {
    const c = await inCall({ joined: { audio: false } });
    expect(c.region("audio")).toBe("off");
    expect(c.trackCommands).toContainEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    expect(c.published).toEqual([]);
  });
});

describe("removal", () => {
  it("while connecting to signaling: out at once, kicked, told by whom, media released, no leave request", async () => {
    const c = await inCall({ open: false });
    expect(c.region("signaling")).toBe("connecting");
    c.room(moderation("remove", ME, { ban: true }));
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.context().endReason).toBe("kicked");
    expect(c.context().notice).toEqual({ kind: "removed", by: "Alice" });
    expect(c.leaves).toEqual([]);
    expect(c.trackCommands.at(-1)).toEqual({ type: "TRACKS.RELEASE", tracks: [mic, camera] });
    expect(c.signalingRunning()).toBe(false);
  });

  it("a ban arriving while signaling re-dials: out, and no more re-dials", async () => {
    const c = await inCall();
    c.signaling({ type: "SIGNALING.DISCONNECTED" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.region("signaling")).toEqual({ reconnecting: "dialing" });
    const dials = c.signalingCommands.length;
    // Only the user-left reaches us (the moderation event was missed): the same end.
    c.room({ type: "user-left", sessionId: SESSION, userId: "me", peerId: ME, reason: "KICKED" });
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.context().endReason).toBe("kicked");
    await vi.advanceTimersByTimeAsync(60_000);
    expect(c.signalingCommands).toHaveLength(dials);
  });

  it("while signaling is reconnecting (waiting to re-dial)", async () => {
    const c = await inCall();
    c.signaling({ type: "SIGNALING.DISCONNECTED" });
    await flush();
    expect(c.region("signaling")).toEqual({ reconnecting: "waiting" });
    c.room(moderation("remove", ME));
    await flush();
    expect(c.actor.getSnapshot().value).toBe("left");
    expect(c.signalingCommands).toEqual([]);
  });

  it("others hang up on a removed peer and refuse its calls", async () => {
    const c = await inCall({ room: [participant("bob-peer", T1), participant("carol-peer", T1)] });
    expect(Object.keys(c.context().peers).sort()).toEqual(["bob-peer", "carol-peer"]);
    c.room({ type: "user-left", sessionId: SESSION, userId: "user-bob-peer", peerId: "bob-peer", reason: "KICKED" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
    expect(c.calls.live().some((x) => x.remotePeerId === "bob-peer")).toBe(false);
    const call = fakeCallHandle("from-bob");
    c.signaling({ type: "SIGNALING.INCOMING_CALL", call, remotePeerId: "bob-peer" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
    expect(c.signalingCommands).toContainEqual({ type: "REJECT_CALL", call });
    // Someone who merely left may call again (a rejoin gets a new peer id anyway).
    c.room({ type: "user-left", sessionId: SESSION, userId: "user-carol-peer", peerId: "carol-peer", reason: "LEFT" });
    c.signaling({ type: "SIGNALING.INCOMING_CALL", call: fakeCallHandle(), remotePeerId: "carol-peer" });
    await flush();
    expect(Object.keys(c.context().peers)).toEqual(["carol-peer"]);
  });
});
