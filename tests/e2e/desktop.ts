/**
 * A throwaway desktop for a headed Firefox: an Xvfb display and a PulseAudio server with one null
 * sink, both private to the test run and stopped with it.
 *
 * Why Firefox needs them (measured on firefox-esr 153, Debian):
 * - Sound device: with no output device, Firefox's audio graph finds 0 output channels, falls back
 *   to a system clock and never reports its AudioContext "running" (resume() stays pending,
 *   currentTime stays 0) — headless or not, whatever the autoplay prefs. The speaking rings and
 *   the pre-join meter then stay dead. A null sink is a real (silent) device, paced by its own
 *   clock like a sound card, so the AudioContext runs.
 * - Display: `media.navigator.streams.fake` fakes cameras and microphones only; getDisplayMedia
 *   captures a real screen, and headless Firefox has none (NotFoundError). On an X display, with
 *   `media.navigator.permission.disabled`, it picks the "Primary Monitor" without a prompt.
 *
 * Both listen on Unix sockets only (Xvfb -nolisten tcp), so they work inside scripts/isolated.sh.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Desktop {
  /** What Firefox's environment needs: DISPLAY and PULSE_SERVER. */
  env: Record<string, string>;
  stop(): void;
}

const SCREEN = "1280x720x24";

function need(binary: string, pkg: string) {
  if (spawnSync("sh", ["-c", `command -v ${binary}`]).status !== 0) {
    throw new Error(`${binary} is not installed (apt-get install ${pkg}; .ci/run does)`);
  }
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`desktop: ${what} did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts Xvfb on a free display number (it picks one and prints it: -displayfd). */
async function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  const proc = spawn("Xvfb", ["-displayfd", "1", "-screen", "0", SCREEN, "-nolisten", "tcp"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  await waitFor(() => /\d+\n/.test(out) || proc.exitCode !== null, "Xvfb");
  if (proc.exitCode !== null) throw new Error(`desktop: Xvfb exited with ${proc.exitCode}`);
  return { display: `:${out.trim()}`, proc };
}

async function startPulse(dir: string): Promise<{ server: string; proc: ChildProcess }> {
  const socket = path.join(dir, "pulse.sock");
  const proc = spawn(
    "pulseaudio",
    [
      "-n", // no default.pa: only the modules below
      "--daemonize=no",
      "--exit-idle-time=-1",
      "--use-pid-file=no",
      "--disable-shm=yes",
      "-L",
      "module-null-sink sink_name=coup_e2e",
      "-L",
      `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
    ],
    // Its cookie and runtime files go to the throwaway directory, not the user's home.
    { stdio: "ignore", env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir } },
  );
  await waitFor(() => existsSync(socket) || proc.exitCode !== null, "pulseaudio");
  if (proc.exitCode !== null) throw new Error(`desktop: pulseaudio exited with ${proc.exitCode}`);
  return { server: `unix:${socket}`, proc };
}

export async function startDesktop(): Promise<Desktop> {
  need("Xvfb", "xvfb");
  need("pulseaudio", "pulseaudio");
  const dir = mkdtempSync(path.join(os.tmpdir(), "coup-e2e-desktop-"));
  const started: ChildProcess[] = [];
  const stop = () => {
    process.off("exit", stop);
    for (const p of started) if (p.exitCode === null) p.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  // A worker that dies without closing its browser still takes the display and the sound server along.
  process.once("exit", stop);
  try {
    const x = await startXvfb();
    started.push(x.proc);
    const pulse = await startPulse(dir);
    started.push(pulse.proc);
    return { env: { DISPLAY: x.display, PULSE_SERVER: pulse.server }, stop };
  } catch (error) {
    stop();
    throw error;
  }
}
