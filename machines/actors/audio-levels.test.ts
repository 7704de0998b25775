import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type AudioActivity,
  AudioLevelMonitor,
  BLOCKED_AFTER_MS,
  CONTEXT_RECYCLE_MS,
  type LevelContext,
  METER_POLL_MS,
  SPEAKING_POLL_MS,
} from "./audio-levels";

/** A stream with one audio track whose level the fake analyser reports as `level` (0..1). */
function fakeStream(id: string, level = 0) {
  return { id, level, getAudioTracks: () => [{}] } as unknown as MediaStream & { level: number };
}

/** A fake AudioContext that remembers the streams it reads and whether it was closed. */
class FakeContext implements LevelContext {
  state = "running";
  closed = false;
  readonly reading: string[] = [];
  resume = async () => {};
  close = async () => {
    this.closed = true;
    this.state = "closed";
  };
  createAnalyser() {
    let stream: (MediaStream & { level: number }) | null = null;
    return {
      fftSize: 0,
      feed: (s: MediaStream & { level: number }) => (stream = s),
      getByteTimeDomainData(into: Uint8Array) {
        // A square wave of the stream's amplitude around the 128 midpoint.
        const amp = Math.round((stream?.level ?? 0) * 127);
        for (let i = 0; i < into.length; i++) into[i] = 128 + (i % 2 ? amp : -amp);
      },
    } as unknown as AnalyserNode;
  }
  createMediaStreamSource(stream: MediaStream) {
    if (this.closed) throw new Error("context is closed");
    this.reading.push(stream.id);
    return {
      connect: (analyser: AnalyserNode & { feed: (s: MediaStream) => void }) => analyser.feed(stream),
      disconnect: () => {},
    } as unknown as MediaStreamAudioSourceNode;
  }
}

let contexts: FakeContext[];
const monitor = () =>
  new AudioLevelMonitor(() => {
    const ctx = new FakeContext();
    contexts.push(ctx);
    return ctx;
  });

beforeEach(() => {
  vi.useFakeTimers();
  contexts = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe("audio level monitor", () => {
  it("reports each stream's level from one shared context", () => {
    const m = monitor();
    const loud: AudioActivity[] = [];
    const quiet: AudioActivity[] = [];
    m.watch(fakeStream("loud", 0.5), (a) => loud.push(a));
    m.watch(fakeStream("quiet", 0), (a) => quiet.push(a));
    vi.advanceTimersByTime(200);
    expect(contexts).toHaveLength(1);
    expect(loud.at(-1)!.level).toBeGreaterThan(0.4);
    expect(quiet.at(-1)!.level).toBe(0);
  });

  it("replaces the context once a stream is let go, so the old one can free what it held", () => {
    const m = monitor();
    const levels: number[] = [];
    const stopSelf = m.watch(fakeStream("self", 0.5), (a) => levels.push(a.level));
    const stopBob = m.watch(fakeStream("bob", 0.3), () => {});
    stopBob();
    expect(contexts[0]!.closed).toBe(false);

    vi.advanceTimersByTime(CONTEXT_RECYCLE_MS);
    expect(contexts).toHaveLength(2);
    expect(contexts[0]!.closed).toBe(true);
    // Only the stream still watched is read again, on the new context, and its meter goes on.
    expect(contexts[1]!.reading).toEqual(["self"]);
    levels.length = 0;
    vi.advanceTimersByTime(200);
    expect(levels.length).toBeGreaterThan(0);
    expect(levels.at(-1)!).toBeGreaterThan(0.4);

    // The last stream let go: the context is closed and none is made until something is watched.
    stopSelf();
    vi.advanceTimersByTime(CONTEXT_RECYCLE_MS);
    expect(contexts).toHaveLength(2);
    expect(contexts[1]!.closed).toBe(true);
    m.watch(fakeStream("again", 0.2), () => {});
    expect(contexts).toHaveLength(3);
    expect(contexts[2]!.reading).toEqual(["again"]);
  });

  it("swaps once for several streams let go together, and not while a stream has listeners left", () => {
    const m = monitor();
    const bob = fakeStream("bob");
    const stopTile = m.watch(bob, () => {});
    const stopMeter = m.watch(bob, () => {});
    const stops = ["carol", "dave"].map((id) => m.watch(fakeStream(id), () => {}));
    stopTile(); // Bob still has a listener: nothing to free
    vi.advanceTimersByTime(CONTEXT_RECYCLE_MS);
    expect(contexts).toHaveLength(1);

    for (const stop of stops) stop();
    vi.advanceTimersByTime(CONTEXT_RECYCLE_MS);
    expect(contexts).toHaveLength(2);
    expect(contexts[1]!.reading).toEqual(["bob"]);
    stopMeter();
  });

  it("resumes a context the browser kept suspended on the next user gesture (Firefox autoplay policy)", () => {
    const gestures = new EventTarget();
    let allowed = false;
    let resumes = 0;
    const ctx = new FakeContext();
    ctx.state = "suspended";
    ctx.resume = async () => {
      resumes++;
      if (allowed) ctx.state = "running";
    };
    const m = new AudioLevelMonitor(() => ctx, gestures);
    m.watch(fakeStream("mic", 0.5), () => {});
    expect(resumes).toBe(1);
    expect(ctx.state).toBe("suspended");

    allowed = true; // a click is a gesture the autoplay policy accepts
    gestures.dispatchEvent(new Event("pointerdown"));
    expect(resumes).toBe(2);
    expect(ctx.state).toBe("running");
    gestures.dispatchEvent(new Event("keydown"));
    expect(resumes).toBe(2); // one retry per suspension, the listeners are gone
  });

  it("tells its listeners the level is blocked once the browser kept the context suspended for a second, until a click resumes it", () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "performance"] });
    const gestures = new EventTarget();
    const ctx = new FakeContext();
    ctx.state = "suspended";
    ctx.resume = async () => {
      if (allowed) ctx.state = "running";
    };
    let allowed = false;
    const seen: boolean[] = [];
    new AudioLevelMonitor(() => ctx, gestures).watch(fakeStream("mic", 0.5), (a) => seen.push(a.blocked), {
      meter: true,
    });
    vi.advanceTimersByTime(BLOCKED_AFTER_MS - METER_POLL_MS);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((b) => !b)).toBe(true); // a context still starting is not news
    vi.advanceTimersByTime(2 * METER_POLL_MS);
    expect(seen.at(-1)).toBe(true);

    allowed = true;
    gestures.dispatchEvent(new Event("pointerdown"));
    vi.advanceTimersByTime(METER_POLL_MS);
    expect(seen.at(-1)).toBe(false);
  });

  it("polls at 20 Hz while a meter shows, at 10 Hz for speaking alone, and not at all when nothing is watched", () => {
    const m = monitor();
    const samples = { ring: 0, meter: 0 };
    const stopRing = m.watch(fakeStream("bob", 0.5), () => samples.ring++);
    vi.advanceTimersByTime(1_000);
    expect(samples.ring).toBe(1_000 / SPEAKING_POLL_MS);

    const stopMeter = m.watch(fakeStream("self", 0.5), () => samples.meter++, { meter: true });
    samples.ring = 0;
    vi.advanceTimersByTime(1_000);
    expect(samples).toEqual({ ring: 1_000 / METER_POLL_MS, meter: 1_000 / METER_POLL_MS });

    stopMeter(); // the pre-join meter is gone: back to the slower poll
    samples.ring = 0;
    vi.advanceTimersByTime(1_000);
    expect(samples.ring).toBe(1_000 / SPEAKING_POLL_MS);

    stopRing();
    vi.advanceTimersByTime(CONTEXT_RECYCLE_MS);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("still lights a speaking ring within 200 ms of voice at the slower poll", () => {
    const m = monitor();
    const voice = fakeStream("bob", 0);
    const speaking: boolean[] = [];
    m.watch(voice, (a) => speaking.push(a.speaking));
    vi.advanceTimersByTime(500);
    expect(speaking.at(-1)).toBe(false);
    voice.level = 0.3;
    vi.advanceTimersByTime(200);
    expect(speaking.at(-1)).toBe(true);
  });
});
