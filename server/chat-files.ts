/**
 * The chat's file routes, in Express so the request body can be streamed (Remix would buffer it):
 *   POST /api/calls/:sessionId/files  multipart, field `file` → 201 {file, message}
 *   GET  /api/files/:id               the bytes, as an attachment (or an inline image thumbnail)
 * Every failure is `{ error: "<human message>" }` with a 4xx; only our own faults are a 500.
 */
import { randomUUID } from "node:crypto";
import Busboy from "busboy";
import express, { type Request, type Response } from "express";
import { fileTypeFromBuffer } from "file-type";
import type { Logger } from "./logger.js";
import { FileIdSchema, sanitizeFileName } from "./services/chat/inputs.js";
import type { PendingBlob } from "./services/chat/storage.js";
import { describeClientError, DomainError, toClientError } from "./services/errors.js";
import type { Services } from "./services/index.js";
import { z } from "zod";

/** Sniffed types a browser may show inline; SVG and HTML never are (OWASP file upload guidance). */
const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const SNIFF_BYTES = 4100;
const SessionIdSchema = z.uuid("Session id must be a UUID");
const ClientIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, "clientId must be 8–64 letters, digits, - or _")
  .optional();

class TooLarge extends Error {}

export function chatFileRoutes(services: Services, log: Logger): express.Router {
  const routes = express.Router();
  const limitMb = Math.round((services.maxUploadBytes / 1024 / 1024) * 10) / 10;
  const tooLarge = `That file is larger than the ${limitMb} MB limit.`;

  const fail = (res: Response, err: unknown, what: string) => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof TooLarge) return void res.status(413).json({ error: tooLarge });
    const client = toClientError(err);
    if (client) return void res.status(client.status).json({ error: describeClientError(client) });
    log.error({ err }, `${what} failed`);
    res.status(500).json({ error: "Something went wrong on our side. Try again." });
  };

  routes.post("/api/calls/:sessionId/files", async (req: Request, res: Response) => {
    let blob: PendingBlob | null = null;
    // Once we answer early, the rest of the body is not read: close the connection after the answer.
    const refuse = async (err: unknown) => {
      res.setHeader("Connection", "close");
      // Gone from disk before anyone hears "no".
      await (blob as PendingBlob | null)
        ?.discard()
        .catch((e: unknown) => log.warn({ err: e }, "upload clean-up failed"));
      fail(res, err, "upload");
    };
    try {
      const session = await services.auth.sessionFromCookie(req.headers.cookie);
      if (!session) throw new DomainError("UNAUTHORIZED", "Log in to do that.");
      const sessionId = SessionIdSchema.parse(req.params.sessionId);
      const clientId = ClientIdSchema.parse(req.query.clientId) ?? randomUUID();
      await services.chat.beginUpload(session.user.id, sessionId);

      let bb: Busboy.Busboy;
      try {
        bb = Busboy({
          headers: req.headers,
          defParamCharset: "utf8",
          // busboy reports a file that reaches fileSize as over it: one byte more is the first too many.
          limits: { fileSize: services.maxUploadBytes + 1, files: 1, fields: 0, parts: 2, headerPairs: 50 },
        });
      } catch {
        throw new DomainError("BAD_REQUEST", "Send the file as multipart/form-data in a field named “file”.");
      }

      const result = await new Promise<{ name: string } | null>((resolve, reject) => {
        let name: string | null = null;
        let settled = false;
        const stop = (err: unknown) => {
          settled = true;
          reject(err);
        };
        let fileDone: Promise<void> = Promise.resolve();
        // A client that goes away mid-upload leaves nothing behind.
        req.once("aborted", () => stop(new DomainError("BAD_REQUEST", "The upload was interrupted.")));
        bb.on("file", (field, stream, info) => {
          if (field !== "file" || name !== null) {
            stream.resume();
            return;
          }
          name = sanitizeFileName(info.filename ?? "");
          fileDone = services.files.begin().then(
            (b) =>
              new Promise<void>((done, fail2) => {
                blob = b;
                // The client went away while the blob was being opened.
                if (settled) return fail2(new DomainError("BAD_REQUEST", "The upload was interrupted."));
                stream.once("limit", () => {
                  stream.unpipe(b.stream);
                  stream.resume();
                  fail2(new TooLarge());
                });
                stream.once("error", fail2);
                stream.once("end", () => done());
                stream.pipe(b.stream, { end: false });
              }),
          );
          fileDone.catch(stop);
        });
        bb.once("error", () => stop(new DomainError("BAD_REQUEST", "That upload is not valid multipart data.")));
        bb.once("partsLimit", () => stop(new DomainError("BAD_REQUEST", "Send one file per upload.")));
        bb.once("close", () => {
          fileDone.then(() => resolve(name === null ? null : { name }), stop);
        });
        req.pipe(bb);
      });
      if (!result || !blob) throw new DomainError("BAD_REQUEST", "Choose a file to upload (field “file”).");
      const pending: PendingBlob = blob;
      const stored = await pending.commit();
      if (stored.size === 0) throw new DomainError("BAD_REQUEST", "That file is empty.");
      const sniffed = await fileTypeFromBuffer(await services.files.head(stored.key, SNIFF_BYTES));
      const posted = await services.chat.attachFile(session.user.id, sessionId, {
        name: result.name,
        size: stored.size,
        type: sniffed?.mime ?? "application/octet-stream",
        sha256: stored.sha256,
        storageKey: stored.key,
        clientId,
      });
      res.status(201).json(posted);
    } catch (err) {
      await refuse(err);
    }
  });

  routes.get("/api/files/:id", async (req: Request, res: Response) => {
    try {
      const session = await services.auth.sessionFromCookie(req.headers.cookie);
      if (!session) throw new DomainError("UNAUTHORIZED", "Log in to do that.");
      const parsed = FileIdSchema.safeParse(req.params.id);
      // A malformed id gets the same answer as someone else's file.
      if (!parsed.success) throw new DomainError("FORBIDDEN", "You can't open this file.");
      const file = await services.chat.fileFor(session.user.id, parsed.data);
      const inline = req.query.inline === "1" && INLINE_IMAGES.has(file.type);
      res.setHeader("Content-Type", file.type);
      res.setHeader("Content-Length", String(file.size));
      res.setHeader("Content-Disposition", contentDisposition(inline ? "inline" : "attachment", file.name));
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.setHeader("Cache-Control", "private, no-cache");
      // Whatever the bytes are, nothing in them may run or load anything.
      res.setHeader("Content-Security-Policy", "default-src 'none'; sandbox");
      const stream = services.files.open(file.storageKey);
      stream.once("error", (err) => fail(res, err, "download"));
      stream.pipe(res);
    } catch (err) {
      fail(res, err, "download");
    }
  });

  return routes;
}

/** RFC 6266 with an ASCII fallback and RFC 5987 `filename*` for everything else. */
function contentDisposition(kind: "inline" | "attachment", name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
