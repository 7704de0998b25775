import { memo, useEffect, useState } from "react";
import type { DeviceKind } from "../../../machines/call.machine";

/** The browser's devices; re-read when `refreshKey` changes (labels appear once access is granted). */
function useDevices(refreshKey: unknown) {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    const md = navigator.mediaDevices;
    if (!md?.enumerateDevices) return;
    const load = () => void md.enumerateDevices().then(setDevices, () => setDevices([]));
    load();
    md.addEventListener("devicechange", load);
    return () => md.removeEventListener("devicechange", load);
  }, [refreshKey]);
  return devices;
}

function DevicePicker(props: {
  label: "Camera" | "Microphone";
  devices: MediaDeviceInfo[];
  selected: string | null;
  onSelect: (deviceId: string) => void;
}) {
  return (
    <label>
      {props.label}
      <select value={props.selected ?? ""} onChange={(e) => props.onSelect(e.target.value)}>
        {props.selected ? null : <option value="">Default {props.label.toLowerCase()}</option>}
        {props.devices.map((d, i) => (
          <option key={d.deviceId} value={d.deviceId}>
            {d.label || `${props.label} ${i + 1}`}
          </option>
        ))}
      </select>
    </label>
  );
}

/**
 * Camera and microphone pickers, on the pre-join screen and in the call alike. Memoised: in the
 * call they sit in the toolbar, and re-rendering a <select> makes React walk and re-select all its
 * options; the room re-renders many times while a call connects (in `bench:join`'s profile of a 4th
 * join that walk was ~50 ms of the joiner's main thread).
 */
export const DevicePickers = memo(function DevicePickers(props: {
  /** Devices are listed again when this changes (labels appear once access is granted). */
  refreshKey: unknown;
  selected: Record<DeviceKind, string | null>;
  onSelect: (kind: DeviceKind, deviceId: string) => void;
}) {
  const devices = useDevices(props.refreshKey);
  const cams = devices.filter((d) => d.kind === "videoinput" && d.deviceId);
  const mics = devices.filter((d) => d.kind === "audioinput" && d.deviceId);
  return (
    <>
      <DevicePicker
        label="Camera"
        devices={cams}
        selected={props.selected.video}
        onSelect={(id) => props.onSelect("video", id)}
      />
      <DevicePicker
        label="Microphone"
        devices={mics}
        selected={props.selected.audio}
        onSelect={(id) => props.onSelect("audio", id)}
      />
    </>
  );
});
