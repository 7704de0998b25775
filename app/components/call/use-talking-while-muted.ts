import { useEffect, useState } from "react";
import { audioLevelMonitor } from "../../../machines/actors/audio-levels";

/**
 * True while the user speaks with their microphone muted. A muted (disabled) track carries only
 * silence, so listen on a clone of it, which stays enabled and is never sent anywhere.
 */
export function useTalkingWhileMuted(track: MediaStreamTrack | null, muted: boolean): boolean {
  const [talking, setTalking] = useState(false);
  useEffect(() => {
    if (!track || !muted || track.readyState === "ended") {
      setTalking(false);
      return;
    }
    const clone = track.clone();
    clone.enabled = true;
    const stop = audioLevelMonitor().watch(new MediaStream([clone]), (a) => setTalking(a.speaking));
    return () => {
      stop();
      clone.stop();
      setTalking(false);
    };
  }, [track, muted]);
  return talking;
}
