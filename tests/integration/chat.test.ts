/**
 * The call chat over real HTTP and Postgres: who may use each procedure and file route, idempotent
 * sends, the read cursor under concurrency, uploads (limits, clean-up, headers) and the events
 * members see on videoCall.events.
 */
import { createHash, randomUUID } from "node:crypto";
import { trpcClient } from "../helpers/trpc-client.js";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Study, User } from "../../db/models/index.js";
import type { AppServer } from "../../server/app.js";
import type { RoomStreamEvent } from "../../server/events.js";
import { createServices, type Services } from "../../server/services/index.js";
import type { AppRouter } from "../../server/trpc/routers/_app.js";
import { useTestDatabase } from "../helpers/db.js";
import { addMember, makeStudy, makeUser } from "../helpers/factories.js";
import { sessionCookie, startTestServer } from "./video-call-harness.js";

const db = useTestDatabase();
const MAX = 64 * 1024;
let services: Services;
let server: AppServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "coup-chat-"));
  services = createServices(db().sequelize, {
    SESSION_SECRET: "x".repeat(32),
    DATA_DIR: dataDir,
    MAX_UPLOAD_BYTES: MAX,
  });
  server = await startTestServer(services);
});
afterAll(async () => {
  await services?.stop();
  await server?.close();
});

type Who = { user: User; cookie: string };
async function person(name: string, study?: Study, status?: "ACTIVE" | "PENDING" | "BANNED"): Promise<Who> {
  const user = await makeUser(name);
  if (study && status) await addMember(study, user, status);
  return { user, cookie: await sessionCookie(services, user.id) };
}

function client(cookie?: string) {
  return trpcClient(server.url, cookie);
}

/** The tRPC error code a call fails with, or "OK". */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCClientError) return (err.data as { code: string }).code;
    throw err;
  }
}

/** A study with a running call Alice is in; Bob is an ACTIVE member outside the call. */
async function room() {
  const alice = await person("Alice");
  const study = await makeStudy(alice.user);
  const bob = await person("Bob", study, "ACTIVE");
  const pending = await person("Pat", study, "PENDING");
  const outsider = await person("Olga");
  const { session } = await services.videoCall.start(alice.user.id, { studyId: study.id });
  await services.videoCall.join(alice.user.id, { studyId: study.id, sessionId: session.id });
  return { alice, bob, pending, outsider, study, sessionId: session.id };
}

async function upload(
  cookie: string | undefined,
  sessionId: string,
  bytes: Uint8Array,
  name = "notes.txt",
  field = "file",
) {
  const form = new FormData();
  form.append(field, new Blob([bytes as Uint8Array<ArrayBuffer>]), name);
  const res = await fetch(`${server.url}/api/calls/${sessionId}/files`, {
    method: "POST",
    headers: cookie ? { cookie } : {},
    body: form,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function download(cookie: string | undefined, fileId: string, query = "") {
  return fetch(`${server.url}/api/files/${fileId}${query}`, { headers: cookie ? { cookie } : {} });
}

/** Every file under DATA_DIR/uploads (blobs and partial uploads alike). */
function storedFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const full = path.join(dir, n);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
  try {
    return walk(path.join(dataDir, "uploads"));
  } catch {
    return [];
  }
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const PNG = Uint8Array.from(
  Buffer.from(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
      "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082",
    "hex",
  ),
);

describe("chat: authorisation matrix", () => {
  it("lets each person do exactly what their place in the study and call allows", async () => {
    const { alice, bob, pending, outsider, sessionId } = await room();
    const first = await client(alice.cookie).chat.send.mutate({ sessionId, body: "hi", clientId: randomUUID() });
    const file = await upload(alice.cookie, sessionId, new TextEncoder().encode("shared"));
    expect(file.status).toBe(201);
    const fileId = file.body.file.id as string;

    const matrix = async (who: Who | undefined) => {
      const c = client(who?.cookie);
      const up = await upload(who?.cookie, sessionId, new TextEncoder().encode("x"));
      return {
        send: await outcome(c.chat.send.mutate({ sessionId, body: "hello", clientId: randomUUID() })),
        list: await outcome(c.chat.list.query({ sessionId })),
        markRead: await outcome(c.chat.markRead.mutate({ sessionId, messageId: first.id })),
        typing: await outcome(c.chat.typing.mutate({ sessionId })),
        upload: up.status,
        download: (await download(who?.cookie, fileId)).status,
      };
    };
    expect(await matrix(alice)).toEqual({
      send: "OK",
      list: "OK",
      markRead: "OK",
      typing: "OK",
      upload: 201,
      download: 200,
    });
    // An ACTIVE member outside the call reads (also after the call) but doesn't post.
    expect(await matrix(bob)).toEqual({
      send: "FORBIDDEN",
      list: "OK",
      markRead: "OK",
      typing: "FORBIDDEN",
      upload: 403,
      download: 200,
    });
    const refused = {
      send: "FORBIDDEN",
      list: "FORBIDDEN",
      markRead: "FORBIDDEN",
      typing: "FORBIDDEN",
      upload: 403,
      download: 403,
    };
    expect(await matrix(pending)).toEqual(refused);
    expect(await matrix(outsider)).toEqual(refused);
    expect(await matrix(undefined)).toEqual({
      send: "UNAUTHORIZED",
      list: "UNAUTHORIZED",
      markRead: "UNAUTHORIZED",
      typing: "UNAUTHORIZED",
      upload: 401,
      download: 401,
    });
  });

  it("answers unknown calls with 404, ended calls with 400 and unknown files like other studies' files", async () => {
    const { alice, bob, sessionId, study } = await room();
    const c = client(alice.cookie);
    const unknown = randomUUID();
    expect(await outcome(c.chat.send.mutate({ sessionId: unknown, body: "x", clientId: randomUUID() }))).toBe(
      "NOT_FOUND",
    );
    expect(await outcome(c.chat.list.query({ sessionId: unknown }))).toBe("NOT_FOUND");
    expect(await outcome(c.chat.typing.mutate({ sessionId: unknown }))).toBe("NOT_FOUND");
    expect(await outcome(c.chat.markRead.mutate({ sessionId: unknown, messageId: randomUUID() }))).toBe("NOT_FOUND");
    expect((await upload(alice.cookie, unknown, new Uint8Array([1]))).status).toBe(404);
    expect(await outcome(c.chat.markRead.mutate({ sessionId, messageId: randomUUID() }))).toBe("NOT_FOUND");

    // Unknown file ids and malformed ones look exactly like a file you may not see.
    const missing = await download(alice.cookie, randomUUID());
    const malformed = await download(alice.cookie, "not-a-uuid");
    expect([missing.status, malformed.status]).toEqual([403, 403]);
    expect(await missing.json()).toEqual(await (await download(bob.cookie, randomUUID())).json());

    const msg = await c.chat.send.mutate({ sessionId, body: "before the end", clientId: randomUUID() });
    await services.videoCall.leave(alice.user.id, { sessionId, studyId: study.id });
    expect(await outcome(c.chat.send.mutate({ sessionId, body: "late", clientId: randomUUID() }))).toBe("BAD_REQUEST");
    expect(await outcome(c.chat.typing.mutate({ sessionId }))).toBe("BAD_REQUEST");
    expect((await upload(alice.cookie, sessionId, new Uint8Array([1]))).status).toBe(400);
    // After the call the conversation is still there for members (the history page).
    const page = await client(bob.cookie).chat.list.query({ sessionId });
    expect(page.messages.map((m) => m.id)).toEqual([msg.id]);
    const history = await client(bob.cookie).videoCall.history.query({ studyId: study.id });
    expect(history.sessions.find((s) => s.id === sessionId)?.messageCount).toBe(1);
  });

  it("refuses bad input with 400 and never a 500", async () => {
    const { alice, sessionId } = await room();
    const c = client(alice.cookie);
    const bad = [
      { sessionId, body: "", clientId: randomUUID() },
      { sessionId, body: "   \n\t ", clientId: randomUUID() },
      { sessionId, body: "x".repeat(2001), clientId: randomUUID() },
      { sessionId: "nope", body: "x", clientId: randomUUID() },
      { sessionId, body: "x", clientId: "../../../" },
      { sessionId, body: 42 as unknown as string, clientId: randomUUID() },
    ];
    for (const input of bad) expect(await outcome(c.chat.send.mutate(input))).toBe("BAD_REQUEST");
    expect(await outcome(c.chat.list.query({ sessionId, cursor: "'; drop table" }))).toBe("BAD_REQUEST");
    expect(await outcome(c.chat.list.query({ sessionId, limit: 1000 }))).toBe("BAD_REQUEST");
    expect(await outcome(c.chat.markRead.mutate({ sessionId, messageId: "x" }))).toBe("BAD_REQUEST");
    // 2,000 characters after trimming are fine, and <script> is stored as text.
    const long = await c.chat.send.mutate({ sessionId, body: `  ${"y".repeat(2000)}  `, clientId: randomUUID() });
    expect(long.body).toHaveLength(2000);
    const script = await c.chat.send.mutate({ sessionId, body: "<script>alert(1)</script>", clientId: randomUUID() });
    expect(script.body).toBe("<script>alert(1)</script>");

    const post = (init: RequestInit) =>
      fetch(`${server.url}/api/calls/${sessionId}/files`, { method: "POST", ...init });
    const notMultipart = await post({
      headers: { cookie: alice.cookie, "content-type": "application/json" },
      body: "{}",
    });
    expect(notMultipart.status).toBe(400);
    const noFile = new FormData();
    noFile.append("other", new Blob(["x"]), "x.txt");
    expect((await post({ headers: { cookie: alice.cookie }, body: noFile })).status).toBe(400);
    const garbage = await post({
      headers: { cookie: alice.cookie, "content-type": "multipart/form-data; boundary=zzz" },
      body: "--zzz\r\nnot a header\r\n\r\nbroken",
    });
    expect(garbage.status).toBe(400);
    expect((await upload(alice.cookie, sessionId, new Uint8Array(0))).status).toBe(400);
    expect((await upload(alice.cookie, "not-a-uuid", new Uint8Array([1]))).status).toBe(400);
  });
});

describe("chat: messages and read cursors", () => {
  it("stores a retried send once and returns the same message", async () => {
    const { alice, bob, sessionId } = await room();
    const c = client(alice.cookie);
    const clientId = randomUUID();
    const [a, b] = await Promise.all([
      c.chat.send.mutate({ sessionId, body: "once", clientId }),
      c.chat.send.mutate({ sessionId, body: "once", clientId }),
    ]);
    const again = await c.chat.send.mutate({ sessionId, body: "once", clientId });
    expect(new Set([a.id, b.id, again.id]).size).toBe(1);
    const page = await client(bob.cookie).chat.list.query({ sessionId });
    expect(page.messages.filter((m) => m.clientId === clientId)).toHaveLength(1);
  });

  it("pages newest first with a cursor", async () => {
    const { alice, sessionId } = await room();
    const c = client(alice.cookie);
    for (let i = 0; i < 5; i++) await c.chat.send.mutate({ sessionId, body: `m${i}`, clientId: randomUUID() });
    const p1 = await c.chat.list.query({ sessionId, limit: 3 });
    expect(p1.messages.map((m) => m.body)).toEqual(["m4", "m3", "m2"]);
    const p2 = await c.chat.list.query({ sessionId, limit: 3, cursor: p1.nextCursor });
    expect(p2.messages.map((m) => m.body)).toEqual(["m1", "m0"]);
    expect(p2.nextCursor).toBeNull();
  });

  it("keeps the furthest read under 20 concurrent markRead calls, and never moves back", async () => {
    const { alice, bob, sessionId, study } = await room();
    const carol = await person("Carol", study, "ACTIVE");
    await services.videoCall.join(carol.user.id, { studyId: study.id, sessionId });
    const sent = [];
    // Two authors, ten each: within the per-person rate limit.
    for (let i = 0; i < 20; i++) {
      const author = client((i % 2 ? alice : carol).cookie);
      sent.push(await author.chat.send.mutate({ sessionId, body: `n${i}`, clientId: randomUUID() }));
    }
    const b = client(bob.cookie);
    const shuffled = [...sent].sort(() => Math.random() - 0.5);
    await Promise.all(shuffled.map((m) => b.chat.markRead.mutate({ sessionId, messageId: m.id })));
    const last = sent[sent.length - 1]!;
    const page = await b.chat.list.query({ sessionId });
    expect(page.reads.find((r) => r.userId === bob.user.id)?.lastReadMessageId).toBe(last.id);
    const back = await b.chat.markRead.mutate({ sessionId, messageId: sent[0]!.id });
    expect(back.lastReadMessageId).toBe(last.id);
  }, 30_000);

  it("limits a person to 10 messages per 10 seconds with a human message", async () => {
    const { alice, sessionId } = await room();
    const c = client(alice.cookie);
    const first = randomUUID();
    for (let i = 0; i < 10; i++)
      await c.chat.send.mutate({ sessionId, body: `r${i}`, clientId: i === 0 ? first : randomUUID() });
    // A retry of a stored message is answered even at the limit (its answer may have been lost).
    expect((await c.chat.send.mutate({ sessionId, body: "r0", clientId: first })).body).toBe("r0");
    const err = await c.chat.send.mutate({ sessionId, body: "one too many", clientId: randomUUID() }).catch((e) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<AppRouter>).data?.code).toBe("TOO_MANY_REQUESTS");
    expect((err as Error).message).toMatch(/too quickly/);
  });
});

describe("chat: files", () => {
  it("stores an upload, posts a file message and serves the same bytes with safe headers", async () => {
    const { alice, bob, sessionId } = await room();
    const bytes = new Uint8Array(40_000).map((_, i) => (i * 7) % 251);
    const up = await upload(alice.cookie, sessionId, bytes, "../../etc/Résumé final.bin");
    expect(up.status).toBe(201);
    expect(up.body.file).toMatchObject({ name: "Résumé final.bin", size: 40_000, type: "application/octet-stream" });
    expect(up.body.message).toMatchObject({ kind: "file", file: { id: up.body.file.id }, authorId: alice.user.id });
    const res = await download(bob.cookie, up.body.file.id);
    expect(res.status).toBe(200);
    expect(sha(new Uint8Array(await res.arrayBuffer()))).toBe(sha(bytes));
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toMatch(/^private/);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="R_sum_ final.bin"; filename*=UTF-8''R%C3%A9sum%C3%A9%20final.bin`,
    );
    // Content-addressed: stored once under its sha256, outside anything served.
    expect(storedFiles().some((f) => path.basename(f) === sha(bytes))).toBe(true);
    const page = await client(bob.cookie).chat.list.query({ sessionId });
    expect(page.messages[0]).toMatchObject({ kind: "file", file: { name: "Résumé final.bin" } });
  });

  it("sniffs the type from the bytes: images may be inline thumbnails, HTML and SVG never", async () => {
    const { alice, sessionId } = await room();
    const png = await upload(alice.cookie, sessionId, PNG, "pixel.txt");
    expect(png.body.file.type).toBe("image/png");
    const thumb = await download(alice.cookie, png.body.file.id, "?inline=1");
    expect(thumb.headers.get("content-type")).toBe("image/png");
    expect(thumb.headers.get("content-disposition")).toMatch(/^inline;/);
    expect(thumb.headers.get("content-security-policy")).toMatch(/^default-src 'none'/);
    expect(sha(new Uint8Array(await thumb.arrayBuffer()))).toBe(sha(PNG));

    for (const [name, text] of [
      ["page.html", "<!doctype html><html><script>alert(1)</script></html>"],
      ["pic.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ] as const) {
      const up = await upload(alice.cookie, sessionId, new TextEncoder().encode(text), name);
      expect(up.status).toBe(201);
      const res = await download(alice.cookie, up.body.file.id, "?inline=1");
      expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(res.headers.get("content-type")).not.toMatch(/html|svg/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("refuses an over-size upload with 413 and leaves nothing on disk", async () => {
    const { alice, sessionId } = await room();
    const before = storedFiles();
    const up = await upload(alice.cookie, sessionId, new Uint8Array(MAX + 1).fill(1), "big.bin");
    expect(up.status).toBe(413);
    expect(up.body.error).toMatch(/limit/);
    expect(storedFiles()).toEqual(before);
    const page = await client(alice.cookie).chat.list.query({ sessionId });
    expect(page.messages).toHaveLength(0);
    // Exactly the limit is fine.
    expect((await upload(alice.cookie, sessionId, new Uint8Array(MAX).fill(2), "ok.bin")).status).toBe(201);
  });

  it("leaves nothing on disk when the client disconnects mid-upload", async () => {
    const { alice, sessionId } = await room();
    const before = storedFiles();
    const boundary = "----coup" + randomUUID();
    const url = new URL(`${server.url}/api/calls/${sessionId}/files`);
    await new Promise<void>((resolve) => {
      const req = http.request(url, {
        method: "POST",
        headers: {
          cookie: alice.cookie,
          "content-type": `multipart/form-data; boundary=${boundary}`,
          "content-length": String(MAX),
        },
      });
      req.on("error", () => resolve());
      req.write(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n` +
          `Content-Type: application/octet-stream\r\n\r\n`,
      );
      req.write(Buffer.alloc(20_000, 3));
      // Let the server open its partial file, then vanish.
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    for (let i = 0; i < 50 && storedFiles().length !== before.length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(storedFiles()).toEqual(before);
  });

  it("limits a person to 10 uploads per minute", async () => {
    const { alice, sessionId } = await room();
    for (let i = 0; i < 10; i++) expect((await upload(alice.cookie, sessionId, Uint8Array.of(i + 1))).status).toBe(201);
    const refused = await upload(alice.cookie, sessionId, Uint8Array.of(99));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatch(/too quickly/);
  });
});

describe("chat: events on videoCall.events", () => {
  it("streams chat-message, chat-typing and chat-read to members", async () => {
    const { alice, bob, study, sessionId } = await room();
    const received: RoomStreamEvent[] = [];
    const sub = client(bob.cookie).videoCall.events.subscribe(
      { studyId: study.id },
      { onData: (t) => received.push(t.data) },
    );
    const until = async (type: string) => {
      for (let i = 0; i < 300 && !received.some((e) => e.type === type); i++)
        await new Promise((r) => setTimeout(r, 10));
      const e = received.find((x) => x.type === type);
      if (!e) throw new Error(`no ${type}; got ${received.map((x) => x.type)}`);
      return e;
    };
    await until("snapshot");
    const a = client(alice.cookie);
    const msg = await a.chat.send.mutate({ sessionId, body: "hello Bob", clientId: randomUUID() });
    expect(await until("chat-message")).toMatchObject({
      type: "chat-message",
      sessionId,
      message: { id: msg.id, body: "hello Bob", authorName: "Alice" },
    });
    await a.chat.typing.mutate({ sessionId });
    expect(await until("chat-typing")).toEqual({
      type: "chat-typing",
      sessionId,
      userId: alice.user.id,
      name: "Alice",
    });
    await client(bob.cookie).chat.markRead.mutate({ sessionId, messageId: msg.id });
    expect(await until("chat-read")).toMatchObject({ userId: bob.user.id, lastReadMessageId: msg.id });
    // Marking the same message again moves nothing and tells nobody.
    await client(bob.cookie).chat.markRead.mutate({ sessionId, messageId: msg.id });
    await new Promise((r) => setTimeout(r, 100));
    expect(received.filter((e) => e.type === "chat-read")).toHaveLength(1);
    sub.unsubscribe();
  });
});
