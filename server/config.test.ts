import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

const tmp = () => mkdtempSync(path.join(os.tmpdir(), "coup-cfg-"));

describe("config", () => {
  it("applies the documented defaults", () => {
    const cfg = loadConfig({ DATA_DIR: tmp() });
    expect(cfg).toMatchObject({ PORT: 3000, HOST: "127.0.0.1", NODE_ENV: "development" });
    expect(cfg.DATABASE_URL).toBeUndefined();
  });

  it("generates a session secret once and keeps it in DATA_DIR", () => {
    const dir = tmp();
    const first = loadConfig({ DATA_DIR: dir }).SESSION_SECRET;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({ DATA_DIR: dir }).SESSION_SECRET).toBe(first);
    expect(readFileSync(path.join(dir, "session-secret"), "utf8").trim()).toBe(first);
  });

  it("names the variable when a value is bad", () => {
    expect(() => loadConfig({ PORT: "eighty", DATA_DIR: tmp() })).toThrowError(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: "mysql://x", DATA_DIR: tmp() })).toThrowError(
      /DATABASE_URL: must be a postgres/,
    );
    expect(() => loadConfig({ SESSION_SECRET: "short", DATA_DIR: tmp() })).toThrowError(ConfigError);
  });

  it("reads TRUST_PROXY as a hop count or a list of proxies, and refuses anything else", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).TRUST_PROXY).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: "1", DATA_DIR: tmp() }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "loopback, 10.0.0.0/8,fd00::1", DATA_DIR: tmp() }).TRUST_PROXY).toEqual([
      "loopback",
      "10.0.0.0/8",
      "fd00::1",
    ]);
    for (const bad of ["true", "nginx", "10.0.0.0/33", "10.0.0.1/8/1"])
      expect(() => loadConfig({ TRUST_PROXY: bad, DATA_DIR: tmp() }), bad).toThrowError(/TRUST_PROXY/);
  });

  it("requires SESSION_SECRET in production", () => {
    expect(() => loadConfig({ NODE_ENV: "production", DATA_DIR: tmp() })).toThrowError(
      /SESSION_SECRET: required in production/,
    );
  });

  it("limits uploads to 25 MB unless MAX_UPLOAD_BYTES says otherwise", () => {
    expect(loadConfig({ DATA_DIR: tmp() }).MAX_UPLOAD_BYTES).toBe(25 * 1024 * 1024);
    expect(loadConfig({ MAX_UPLOAD_BYTES: "1024", DATA_DIR: tmp() }).MAX_UPLOAD_BYTES).toBe(1024);
    expect(() => loadConfig({ MAX_UPLOAD_BYTES: "-1", DATA_DIR: tmp() })).toThrowError(/MAX_UPLOAD_BYTES/);
  });

  it("requires SESSION_SECRET when REDIS_URL is set, and a redis URL", () => {
    expect(() => loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", DATA_DIR: tmp() })).toThrowError(
      /SESSION_SECRET: required when REDIS_URL is set/,
    );
    expect(() => loadConfig({ REDIS_URL: "http://x", SESSION_SECRET: "s".repeat(32), DATA_DIR: tmp() })).toThrowError(
      /REDIS_URL: must be a redis/,
    );
    const cfg = loadConfig({ REDIS_URL: "redis://127.0.0.1:6379/2", SESSION_SECRET: "s".repeat(32), DATA_DIR: tmp() });
    expect(cfg.REDIS_URL).toBe("redis://127.0.0.1:6379/2");
    expect(loadConfig({ REDIS_URL: "", DATA_DIR: tmp() }).REDIS_URL).toBeUndefined();
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", DATA_DIR: tmp() }).DATABASE_URL).toBeUndefined();
  });
});
