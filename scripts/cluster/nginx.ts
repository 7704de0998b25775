// Starts (and reloads) nginx as a round-robin load balancer over app instances; used by `npm run cluster` and the cluster E2E spec.
import { spawn, type ChildProcess, execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const TEMPLATE = path.join(path.dirname(fileURLToPath(import.meta.url)), "nginx.conf.template");

export class Nginx {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), "coup-nginx-"));
  private child: ChildProcess | null = null;

  constructor(readonly port: number) {
    // Workers run as an unprivileged user when nginx is started as root.
    chmodSync(this.dir, 0o755);
    for (const d of ["body", "proxy", "fastcgi", "uwsgi", "scgi"])
      mkdirSync(path.join(this.dir, d), { recursive: true });
  }

  private get conf() {
    return path.join(this.dir, "nginx.conf");
  }

  private write(upstreamPorts: number[]) {
    const upstreams = upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join("\n");
    const text = readFileSync(TEMPLATE, "utf8")
      .replaceAll("__PREFIX__", this.dir)
      .replaceAll("__PORT__", String(this.port))
      .replaceAll("__UPSTREAMS__", upstreams);
    writeFileSync(this.conf, text);
  }

  async start(upstreamPorts: number[]): Promise<void> {
    this.write(upstreamPorts);
    this.child = spawn("nginx", ["-p", this.dir, "-c", this.conf, "-g", "daemon off;"], { stdio: "inherit" });
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(`http://127.0.0.1:${this.port}/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error(`nginx did not start; see ${this.dir}/error.log`);
  }

  /** New upstream list; open connections (WebSockets, SSE) stay where they are. */
  async reload(upstreamPorts: number[]): Promise<void> {
    this.write(upstreamPorts);
    execFileSync("nginx", ["-p", this.dir, "-c", this.conf, "-s", "reload"]);
    await new Promise((r) => setTimeout(r, 500));
  }

  stop(): void {
    this.child?.kill("SIGQUIT");
    this.child = null;
  }
}
