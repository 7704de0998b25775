/**
 * Voice activity with hysteresis: "speaking" only after the level stays above the threshold for
 * `onMs` (a cough or a click doesn't light the border), cleared only after `offMs` below it (the
 * pauses between words don't make it flicker).
 */
export interface SpeakingOptions {
  /** RMS level 0..1 above which a sample counts as voice. */
  threshold: number;
  onMs: number;
  offMs: number;
}

export const DEFAULT_SPEAKING: SpeakingOptions = { threshold: 0.02, onMs: 100, offMs: 500 };

export interface SpeakingDetector {
  update(level: number, nowMs: number): boolean;
  readonly speaking: boolean;
}

export function createSpeakingDetector(opts: SpeakingOptions = DEFAULT_SPEAKING): SpeakingDetector {
  let speaking = false;
  // When the level last crossed into the state opposite to `speaking`; null while it agrees.
  let crossedAt: number | null = null;
  return {
    get speaking() {
      return speaking;
    },
    update(level, nowMs) {
      const loud = level >= opts.threshold;
      if (loud === speaking) {
        crossedAt = null;
        return speaking;
      }
      crossedAt ??= nowMs;
      if (nowMs - crossedAt >= (loud ? opts.onMs : opts.offMs)) {
        speaking = loud;
        crossedAt = null;
      }
      return speaking;
    },
  };
}

/** RMS of time-domain samples centred on 128 (AnalyserNode.getByteTimeDomainData). */
export function rmsLevel(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = ((samples[i] ?? 128) - 128) / 128;
    sum += v * v;
  }
  return Math.sqrt(sum / samples.length);
}
