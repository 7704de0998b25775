// Push-to-talk (Space held, PTT_DOWN / PTT_UP): the call machine unmutes only a muted microphone
// and mutes again only what it unmuted, with fake actors.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flush, inCall, ME, mic, moderation, permissions, T1 } from "./call.test-harness";

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date(T1));
});
afterEach(() => vi.useRealTimers());

/** Joined with the microphone muted by the user. */
async function muted(opts: Parameters<typeof inCall>[0] = {}) {
  const c = await inCall(opts);
  c.actor.send({ type: "TOGGLE_AUDIO" });
  await flush();
  expect(c.region("audio")).toBe("off");
  return c;
}

describe("push-to-talk", () => {
  it("muted: holding Space unmutes and says so; letting go mutes again", async () => {
    const c = await muted();
    c.actor.send({ type: "PTT_DOWN" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "pushToTalk" });
    expect(c.trackCommands.at(-1)).toEqual({ type: "TRACKS.ENABLE", track: mic, enabled: true });
    expect(c.published.at(-1)).toMatchObject({ audio: true });
    // Key repeat while held changes nothing.
    c.actor.send({ type: "PTT_DOWN" });
    c.actor.send({ type: "PTT_UP" });
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.trackCommands.at(-1)).toEqual({ type: "TRACKS.ENABLE", track: mic, enabled: false });
    expect(c.published.at(-1)).toMatchObject({ audio: false });
  });

  it("already unmuted before Space: the release does not mute", async () => {
    const c = await inCall();
    expect(c.region("audio")).toEqual({ on: "steady" });
    const [tracks, published] = [c.trackCommands.length, c.published.length];
    c.actor.send({ type: "PTT_DOWN" });
    c.actor.send({ type: "PTT_UP" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.trackCommands).toHaveLength(tracks);
    expect(c.published).toHaveLength(published);
  });

  it("unmuting kept to hosts: Space unmutes nothing", async () => {
    const c = await inCall();
    c.room(permissions({ unmute: "hosts" }));
    await flush();
    const published = c.published.length;
    c.actor.send({ type: "PTT_DOWN" });
    await flush();
    expect(c.region("audio")).toBe("off");
    expect(c.published).toHaveLength(published);
  });

  it("no microphone held (listen-only): Space asks for none", async () => {
    const c = await inCall({ noMic: true });
    c.actor.send({ type: "PTT_DOWN" });
    expect(c.region("audio")).toBe("off");
  });

  it("muted by the button or by a host while Space is held: the release changes nothing", async () => {
    const c = await muted();
    c.actor.send({ type: "PTT_DOWN" });
    c.actor.send({ type: "TOGGLE_AUDIO" });
    await flush();
    expect(c.region("audio")).toBe("off");
    const published = c.published.length;
    c.actor.send({ type: "PTT_UP" });
    await flush();
    expect(c.published).toHaveLength(published);

    c.actor.send({ type: "PTT_DOWN" });
    c.room(moderation("mute", ME));
    await flush();
    expect(c.region("audio")).toBe("off");
    // Space again after a host's mute talks as before: the user may always unmute themselves.
    c.actor.send({ type: "PTT_UP" });
    c.actor.send({ type: "PTT_DOWN" });
    expect(c.region("audio")).toEqual({ on: "pushToTalk" });
  });

  it("a host's ask accepted while Space is held: the release keeps the microphone on", async () => {
    const c = await muted();
    c.room(moderation("ask-unmute", ME));
    await flush();
    c.actor.send({ type: "PTT_DOWN" });
    c.actor.send({ type: "ACCEPT_UNMUTE" });
    expect(c.context().notice).toBeNull();
    c.actor.send({ type: "PTT_UP" });
    await flush();
    expect(c.region("audio")).toEqual({ on: "steady" });
    expect(c.published.at(-1)).toMatchObject({ audio: true });
  });
});
