import { createSpeakingDetector, DEFAULT_SPEAKING, rmsLevel, type SpeakingDetector } from "../speaking";

export interface AudioActivity {
  /** RMS level 0..1 */
  level: number;
  speaking: boolean;
  /**
   * The browser has kept the level reader suspended for a while (Firefox's autoplay policy, until the
   * page's first click or key press): `level` reads 0 whatever the microphone hears.
   */
  blocked: boolean;
}

/** The part of Web Audio the monitor uses, so tests can stand in for it. */
export interface LevelContext {
  readonly state: string;
  resume(): Promise<void>;
  close(): Promise<void>;
  createAnalyser(): AnalyserNode;
  createMediaStreamSource(stream: MediaStream): MediaStreamAudioSourceNode;
}

interface Watched {
  stream: MediaStream;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  samples: Uint8Array<ArrayBuffer>;
  detector: SpeakingDetector;
  listeners: Set<(a: AudioActivity) => void>;
  /** Listeners that draw a level meter (they want the faster poll). */
  meters: Set<(a: AudioActivity) => void>;
  last: AudioActivity;
}

/**
 * How long a context may stay suspended before listeners hear it is blocked: a new context can be
 * "suspended" for a moment while it starts, and a meter hint that flashes would be noise.
 */
export const BLOCKED_AFTER_MS = 1_000;

/** 20 Hz while a level meter shows (smooth enough for the eye, cheap enough for six tiles). */
export const METER_POLL_MS = 50;
/**
 * 10 Hz when only speaking is wanted (the rings, talking while muted): the detector needs 100 ms
 * of voice before it says "speaking" anyway, and every poll wakes the call page's main thread
 * (issue #16 §3: a steady call page's own work is measured against a bare PeerJS page's).
 */
export const SPEAKING_POLL_MS = 100;
/**
 * How long after a stream is let go the context is replaced (several leaving at once: one swap).
 * Joining lets the pre-join meter's stream go; a swap 1 s later landed in the middle of the
 * join's negotiation (a new AudioContext, ~60 ms of the joiner's main thread in `bench:join`'s
 * profile of a 4th join), so it waits until the call has long connected.
 */
export const CONTEXT_RECYCLE_MS = 10_000;

/**
 * One AudioContext and one timer for every audio track on the page (local and remote): browsers cap
 * AudioContexts, and a timer per tile would multiply wake-ups.
 *
 * Chrome keeps a MediaStreamAudioSourceNode, and the MediaStream it reads, alive for as long as its
 * AudioContext runs, disconnected or not. With one long-lived context every stream ever watched
 * (each remote who came and went, each mute's clone) would stay in memory until the page closes.
 * So once a stream is let go the context is replaced: the streams still watched get fresh nodes
 * on a new context and the old one is closed, which frees everything it held. Nothing plays
 * through this context, so the swap is inaudible.
 */
export class AudioLevelMonitor {
  private ctx: LevelContext | null = null;
  private ctxCreatedAt = 0;
  private watched = new Map<string, Watched>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private timerMs = 0;
  private recycle: ReturnType<typeof setTimeout> | null = null;

  private waitingForGesture = false;

  constructor(
    private readonly createContext: () => LevelContext = () => new AudioContext(),
    /** Where user gestures arrive (the window); null where there is none. */
    private readonly gestures: EventTarget | null = typeof window === "undefined" ? null : window,
  ) {}

  /** `meter`: the listener draws the level (polled at 20 Hz); otherwise it only needs `speaking` (10 Hz). */
  watch(stream: MediaStream, listener: (a: AudioActivity) => void, { meter = false } = {}): () => void {
    if (stream.getAudioTracks().length === 0) return () => {};
    const key = stream.id;
    let entry = this.watched.get(key);
    if (!entry) {
      const ctx = this.context();
      entry = {
        stream,
        ...this.nodesFor(ctx, stream),
        detector: createSpeakingDetector(DEFAULT_SPEAKING),
        listeners: new Set(),
        meters: new Set(),
        last: { level: 0, speaking: false, blocked: false },
      };
      this.watched.set(key, entry);
    }
    entry.listeners.add(listener);
    if (meter) entry.meters.add(listener);
    this.arm();
    return () => {
      const e = this.watched.get(key);
      if (!e) return;
      e.listeners.delete(listener);
      e.meters.delete(listener);
      if (e.listeners.size === 0) {
        e.source.disconnect();
        this.watched.delete(key);
        this.recycle ??= setTimeout(() => this.recycleContext(), CONTEXT_RECYCLE_MS);
      }
      this.arm();
    };
  }

  /** One timer, at the rate the current listeners need; none while nothing is watched. */
  private arm() {
    let ms = 0;
    for (const e of this.watched.values()) {
      ms = e.meters.size > 0 ? METER_POLL_MS : ms || SPEAKING_POLL_MS;
      if (ms === METER_POLL_MS) break;
    }
    if (ms === this.timerMs) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = ms ? setInterval(() => this.poll(), ms) : null;
    this.timerMs = ms;
  }

  private context(): LevelContext {
    if (!this.ctx) {
      this.ctx = this.createContext();
      this.ctxCreatedAt = performance.now();
    }
    if (this.ctx.state === "suspended") {
      void this.ctx.resume().catch(() => {});
      this.resumeOnGesture();
    }
    return this.ctx;
  }

  /**
   * Firefox keeps an AudioContext made before any click or key press suspended (its autoplay
   * policy), and resume() then does nothing: the pre-join meter and the speaking rings would stay
   * dead. The next gesture (e.g. the click on "Join call") may resume it, so try again then.
   */
  private resumeOnGesture() {
    if (!this.gestures || this.waitingForGesture) return;
    this.waitingForGesture = true;
    const retry = () => {
      this.waitingForGesture = false;
      this.gestures?.removeEventListener("pointerdown", retry, true);
      this.gestures?.removeEventListener("keydown", retry, true);
      if (this.ctx?.state === "suspended") void this.ctx.resume().catch(() => {});
    };
    this.gestures.addEventListener("pointerdown", retry, true);
    this.gestures.addEventListener("keydown", retry, true);
  }

  private nodesFor(ctx: LevelContext, stream: MediaStream) {
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    const source = ctx.createMediaStreamSource(stream);
    source.connect(analyser);
    return { source, analyser, samples: new Uint8Array(new ArrayBuffer(analyser.fftSize)) };
  }

  private recycleContext() {
    this.recycle = null;
    const old = this.ctx;
    this.ctx = null;
    if (this.watched.size > 0) {
      const ctx = this.context();
      for (const entry of this.watched.values()) {
        entry.source.disconnect();
        Object.assign(entry, this.nodesFor(ctx, entry.stream));
      }
    }
    void old?.close().catch(() => {});
  }

  private poll() {
    const now = performance.now();
    const blocked = this.ctx?.state === "suspended" && now - this.ctxCreatedAt >= BLOCKED_AFTER_MS;
    for (const e of this.watched.values()) {
      e.analyser.getByteTimeDomainData(e.samples);
      const level = rmsLevel(e.samples);
      const speaking = e.detector.update(level, now);
      // Meters need every sample; listeners that only care about speaking filter themselves.
      e.last = { level, speaking, blocked };
      for (const l of e.listeners) l(e.last);
    }
  }
}

let shared: AudioLevelMonitor | null = null;
export function audioLevelMonitor(): AudioLevelMonitor {
  shared ??= new AudioLevelMonitor();
  return shared;
}
