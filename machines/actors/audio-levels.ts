import { createSpeakingDetector, DEFAULT_SPEAKING, rmsLevel, type SpeakingDetector } from "../speaking";

export interface AudioActivity {
  /** RMS level 0..1 */
  level: number;
  speaking: boolean;
}

interface Watched {
  stream: MediaStream;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  samples: Uint8Array<ArrayBuffer>;
  detector: SpeakingDetector;
  listeners: Set<(a: AudioActivity) => void>;
  last: AudioActivity;
}

const POLL_MS = 50; // 20 Hz: smooth enough for a meter, cheap enough for six tiles

/**
 * One AudioContext and one timer for every audio track on the page (local and remote): browsers cap
 * AudioContexts, and a timer per tile would multiply wake-ups.
 */
export class AudioLevelMonitor {
  private ctx: AudioContext | null = null;
  private watched = new Map<string, Watched>();
  private timer: ReturnType<typeof setInterval> | null = null;

  watch(stream: MediaStream, listener: (a: AudioActivity) => void): () => void {
    if (stream.getAudioTracks().length === 0) return () => {};
    const key = stream.id;
    let entry = this.watched.get(key);
    if (!entry) {
      this.ctx ??= new AudioContext();
      if (this.ctx.state === "suspended") void this.ctx.resume().catch(() => {});
      const analyser = this.ctx.createAnalyser();
      analyser.fftSize = 512;
      const source = this.ctx.createMediaStreamSource(stream);
      source.connect(analyser);
      entry = {
        stream,
        source,
        analyser,
        samples: new Uint8Array(new ArrayBuffer(analyser.fftSize)),
        detector: createSpeakingDetector(DEFAULT_SPEAKING),
        listeners: new Set(),
        last: { level: 0, speaking: false },
      };
      this.watched.set(key, entry);
    }
    entry.listeners.add(listener);
    this.timer ??= setInterval(() => this.poll(), POLL_MS);
    return () => {
      const e = this.watched.get(key);
      if (!e) return;
      e.listeners.delete(listener);
      if (e.listeners.size === 0) {
        e.source.disconnect();
        this.watched.delete(key);
      }
      if (this.watched.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  private poll() {
    const now = performance.now();
    for (const e of this.watched.values()) {
      e.analyser.getByteTimeDomainData(e.samples);
      const level = rmsLevel(e.samples);
      const speaking = e.detector.update(level, now);
      // Meters need every sample; listeners that only care about speaking filter themselves.
      e.last = { level, speaking };
      for (const l of e.listeners) l(e.last);
    }
  }
}

let shared: AudioLevelMonitor | null = null;
export function audioLevelMonitor(): AudioLevelMonitor {
  shared ??= new AudioLevelMonitor();
  return shared;
}
