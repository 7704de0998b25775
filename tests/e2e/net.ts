/**
 * Fault injection for the network E2E specs. Everything here assumes the whole Playwright process
 * runs inside the loopback-only namespace of scripts/isolated.sh, so nft rules and child
 * processes (app servers, coturn) only ever touch that namespace.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, type Browser, type Page } from "@playwright/test";
import { CHROMIUM_LAUNCHER } from "./browser";
import { logIn, watchCsp } from "./fixtures";
import { decodedFrames } from "./media";

// ---------------------------------------------------------------------------------------------
// nftables
// ---------------------------------------------------------------------------------------------

const TABLE = "coup_e2e_faults";

/** True inside scripts/isolated.sh (where nft only affects this test's private loopback). */
export const isolated = process.env.COUP_ISOLATED === "1";

function nft(script: string) {
  execFileSync("nft", ["-f", "-"], { input: script, stdio: ["pipe", "ignore", "pipe"] });
}

/**
 * Rules sit on the input hook: on loopback every packet passes it exactly once, and the sender
 * never learns about the drop. (Dropped on output, sendmsg() fails with EPERM and Chrome simply
 * sends the packet again, so "5% loss" there shows up as almost none.)
 */
function installRule(rule: string) {
  clearFaults();
  nft(`table inet ${TABLE} {
  chain in {
    type filter hook input priority 0; policy accept;
    ${rule}
  }
}`);
}

/** Drops every UDP packet: WebRTC media and ICE go dark, HTTP/WebSocket (TCP) keep working. */
export function blockUdp() {
  installRule("meta l4proto udp drop");
}

/** Drops `percent`% of UDP packets at random, in both directions. */
export function udpLoss(percent: number) {
  installRule(`meta l4proto udp numgen random mod 100 lt ${Math.round(percent)} drop`);
}

export function clearFaults() {
  try {
    execFileSync("nft", ["delete", "table", "inet", TABLE], { stdio: "ignore" });
  } catch {
    // no table: nothing injected
  }
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
async function terminate(child: ChildProcess | null, timeoutMs: number): Promise<void> {
  if (!child) return;
  child.kill("SIGTERM");
  await waitForExit(child, timeoutMs);
}

/**
 * The app server as a child process of the test (`node --import tsx server/index.ts`: one process,
 * so SIGTERM reaches the server's own graceful shutdown). `restart()` reuses DATA_DIR, so the
 * embedded database, its open participations and the session secret (logins) survive.
 */
export class AppServer {
  readonly dataDir: string;
  private child: ChildProcess | null = null;
  private stderr = "";

  constructor(
    readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), "coup-e2e-net-"));
    chmodSync(this.dataDir, 0o755); // the embedded Postgres runs as another user
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 90_000): Promise<void> {
    const child = spawn(process.execPath, ["--import", "tsx", "server/index.ts"], {
      env: {
        ...process.env,
        NODE_ENV: "development",
        PORT: String(this.port),
        HOST: "127.0.0.1",
        DATA_DIR: this.dataDir,
        DATABASE_URL: "",
        SEED_DEMO: "always",
        LOG_LEVEL: "warn",
        DROP_GRACE_MS: "8000",
        PEER_ALIVE_TIMEOUT_MS: "8000",
        ...this.env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    this.stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4_000);
    });
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (child.exitCode !== null) throw new Error(`app server exited (${child.exitCode}):\n${this.stderr}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`app server did not become healthy in ${timeoutMs} ms:\n${this.stderr}`);
  }

  /** SIGTERM and wait for the process (and its embedded Postgres) to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    await terminate(child, 30_000);
  }
}

/**
 * coturn on 127.0.0.1 with TURN REST auth (`use-auth-secret`), UDP only, as the app's
 * TURN_URLS/TURN_SECRET expect. Loopback peers must be allowed explicitly.
 */
export class TurnServer {
  private child: ChildProcess | null = null;
  private output = "";

  constructor(
    readonly port: number,
    readonly secret: string,
    private readonly relayPorts: { min: number; max: number },
  ) {}

  get url() {
    return `turn:127.0.0.1:${this.port}?transport=udp`;
  }

  async start(): Promise<void> {
    const child = spawn(
      "turnserver",
      [
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        `--listening-port=${this.port}`,
        "--use-auth-secret",
        `--static-auth-secret=${this.secret}`,
        "--realm=coup",
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--no-tcp",
        `--min-port=${this.relayPorts.min}`,
        `--max-port=${this.relayPorts.max}`,
        "--log-file=stdout",
        "--simple-log",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = child;
    const onData = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-8_000);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      if (child.exitCode !== null) throw new Error(`turnserver exited (${child.exitCode}):\n${this.output}`);
      if (/listener opened on\s*:?\s*127\.0\.0\.1:/i.test(this.output) || /Total [A-Za-z ]*servers/.test(this.output)) {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`turnserver did not start:\n${this.output}`);
  }

  /** coturn's log so far (allocations, permission checks), for failure messages. */
  get log() {
    return this.output;
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    await terminate(child, 10_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Browsers
// ---------------------------------------------------------------------------------------------

/**
 * A member in their own browser context, logged in against `baseURL`. For specs that keep one
 * call across several tests (beforeAll), where the test-scoped loginAs fixture cannot be used.
 */
export async function openMember(browser: Browser, baseURL: string, email: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, permissions: ["camera", "microphone"] });
  await watchCsp(context);
  const page = await context.newPage();
  await page.goto("/");
  await logIn(page, email);
  return page;
}

/**
 * Frames keep decoding in the tile: within `withinMs` the decoded-frame counter grows by more
 * than 5 (the sender's 30 fps camera gives ~30 per second when media flows).
 */
export async function expectFramesWithin(page: Page, label: string, withinMs: number) {
  const start = await decodedFrames(page, label);
  await expect
    .poll(() => decodedFrames(page, label), { timeout: withinMs, intervals: [100] })
    .toBeGreaterThan(start + 5);
}

/** The local candidate type and the protocol of the selected ICE pair of every call on the page. */
export async function selectedCandidates(page: Page): Promise<Array<{ candidateType: string; protocol: string }>> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { __coupPeerConnections?: RTCPeerConnection[] }).__coupPeerConnections ?? [];
    const out: Array<{ candidateType: string; protocol: string }> = [];
    for (const pc of pcs) {
      if (pc.connectionState === "closed") continue;
      const report = await pc.getStats();
      let pairId: string | undefined;
      report.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      });
      const pair = pairId ? (report.get(pairId) as { localCandidateId?: string } | undefined) : undefined;
      const local = pair?.localCandidateId
        ? (report.get(pair.localCandidateId) as { candidateType?: string; protocol?: string } | undefined)
        : undefined;
      if (local) out.push({ candidateType: local.candidateType ?? "", protocol: local.protocol ?? "" });
    }
    return out;
  });
}

/**
 * Makes every RTCPeerConnection the page creates reachable from tests (window.__coupPeerConnections).
 * Call before the page's first navigation to the call.
 */
export async function trackPeerConnections(page: Page) {
  await page.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const list: RTCPeerConnection[] = [];
    (window as unknown as { __coupPeerConnections: RTCPeerConnection[] }).__coupPeerConnections = list;
    class Tracked extends Native {
      constructor(config?: RTCConfiguration) {
        super(config);
        list.push(this);
      }
    }
    window.RTCPeerConnection = Tracked;
  });
}

/**
 * A looping WAV for Chrome's `--use-file-for-fake-audio-capture`: 1.2 s of a 440 Hz tone, then
 * 0.8 s of silence. Chrome's default fake microphone only clicks (20 ms beeps every 500 ms),
 * which the speaking detector rightly ignores (it needs 100 ms of sound), so speaking tests use
 * this "voice" instead.
 */
export function toneWav(): string {
  const file = path.join(os.tmpdir(), "coup-e2e-voice.wav");
  if (existsSync(file)) return file;
  const rate = 48_000;
  const samples = rate * 2;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    const on = i < rate * 1.2;
    const v = on ? Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 0.3 * 32767) : 0;
    data.writeInt16LE(v, i * 2);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data.length, 40);
  writeFileSync(file, Buffer.concat([header, data]));
  return file;
}

// ---------------------------------------------------------------------------------------------
// A member with a network of their own
// ---------------------------------------------------------------------------------------------

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });

/**
 * A network namespace for one member's browser, joined to the test's namespace by a veth pair, so
 * their network can fail alone: every browser otherwise shares the one loopback. The app must
 * listen on `hostIp` as well (HOST=0.0.0.0) and the member browse `http://hostIp:port`.
 */
export class MemberNetwork {
  readonly hostIp = "10.231.0.1";
  readonly memberIp = "10.231.0.2";
  private readonly hostDev = "coupv0";
  private readonly table = "coup_e2e_member";

  constructor(readonly name = `coup-m${process.pid}`) {}

  up() {
    this.down();
    run("ip", ["netns", "add", this.name]);
    run("ip", ["link", "add", this.hostDev, "type", "veth", "peer", "name", "coupv1", "netns", this.name]);
    run("ip", ["addr", "add", `${this.hostIp}/30`, "dev", this.hostDev]);
    run("ip", ["link", "set", this.hostDev, "up"]);
    run("ip", ["-n", this.name, "addr", "add", `${this.memberIp}/30`, "dev", "coupv1"]);
    run("ip", ["-n", this.name, "link", "set", "coupv1", "up"]);
    run("ip", ["-n", this.name, "link", "set", "lo", "up"]);
  }

  /** An executable for `launch({ executablePath })` that starts Chromium inside the namespace. */
  chromium(): string {
    const dir = mkdtempSync(path.join(os.tmpdir(), "coup-e2e-netns-"));
    const script = path.join(dir, "chromium");
    writeFileSync(script, `#!/bin/sh\nexec ip netns exec ${this.name} ${CHROMIUM_LAUNCHER} "$@"\n`);
    chmodSync(script, 0o755);
    return script;
  }

  /**
   * Drops the member's UDP both ways, each on the receiving side's input hook (a drop on output
   * makes sendmsg() fail and Chrome retry in a tight loop). Their HTTP/WebSocket (TCP) stay up.
   */
  cutUdp() {
    this.restore();
    const rules = (chain: string, match: string) => `table inet ${this.table} {
  chain ${chain} {
    type filter hook input priority 0; policy accept;
    ${match} meta l4proto udp drop
  }
}`;
    execFileSync("nft", ["-f", "-"], { input: rules("from_member", `iifname "${this.hostDev}"`) });
    execFileSync("ip", ["netns", "exec", this.name, "nft", "-f", "-"], { input: rules("to_member", "") });
  }

  restore() {
    for (const args of [
      ["nft", "delete", "table", "inet", this.table],
      ["ip", "netns", "exec", this.name, "nft", "delete", "table", "inet", this.table],
    ]) {
      try {
        execFileSync(args[0]!, args.slice(1), { stdio: "ignore" });
      } catch {
        // nothing installed
      }
    }
  }

  down() {
    this.restore();
    try {
      execFileSync("ip", ["netns", "del", this.name], { stdio: "ignore" }); // removes the veth pair too
    } catch {
      // not there
    }
  }
}
