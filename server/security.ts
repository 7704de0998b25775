// HTTP hardening for every answer: security headers (helmet), the CSP nonce, and the same-origin rule for writes.
import { randomBytes } from "node:crypto";
import type { ServerBuild } from "@remix-run/node";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import helmet from "helmet";
import type { Logger } from "./logger.js";

/** What camera, microphone and screen capture are limited to; helmet 8 has no Permissions-Policy. */
const PERMISSIONS_POLICY = "camera=(self), microphone=(self), display-capture=(self)";

/** The nonce Remix's inline scripts carry; set per response before any page renders. */
export function cspNonce(res: Response): string {
  return String(res.locals.cspNonce ?? "");
}

/**
 * Helmet with a Content-Security-Policy the app passes without a violation: inline scripts only
 * with the per-response nonce, fetches and the PeerJS WebSocket to this origin only, media and
 * images from blob: (recordings, snapshots), and never inside someone else's frame.
 */
export function securityHeaders(opts: { production: boolean }): RequestHandler[] {
  const nonce: RequestHandler = (_req, res, next) => {
    res.locals.cspNonce = randomBytes(16).toString("base64");
    next();
  };
  const headers = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", (_req, res) => `'nonce-${cspNonce(res as Response)}'`],
        scriptSrcAttr: ["'none'"],
        // Toasts (sonner) inject a <style> element and React renders style attributes.
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:", "blob:"],
        mediaSrc: ["'self'", "blob:", "mediastream:"],
        fontSrc: ["'self'", "data:"],
        // 'self' covers same-origin ws: in CSP 3 browsers; naming the host keeps older ones working.
        connectSrc: [
          "'self'",
          (req) => `ws://${req.headers.host ?? "localhost"}`,
          (req) => `wss://${req.headers.host ?? "localhost"}`,
        ],
        workerSrc: ["'self'", "blob:"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    referrerPolicy: { policy: "strict-origin-when-cross-origin" },
    xFrameOptions: { action: "deny" },
    strictTransportSecurity: opts.production ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  const permissions: RequestHandler = (_req, res, next) => {
    res.setHeader("Permissions-Policy", PERMISSIONS_POLICY);
    next();
  };
  return [nonce, headers, permissions];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A write sent by a page of another origin (a forged form post); requests without Origin are not browsers'. */
function isCrossSite(req: Request): boolean {
  if (SAFE_METHODS.has(req.method)) return false;
  const site = req.headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  // The host Remix's own check compares with: a proxy's X-Forwarded-Host, else Host.
  const host =
    String(req.headers["x-forwarded-host"] ?? "")
      .split(",")[0]
      ?.trim() || req.headers.host;
  try {
    return new URL(origin).host !== host;
  } catch {
    return true; // "null" (sandboxed frames, some redirects) or garbage
  }
}

/**
 * Refuses cross-site writes with 403, logged at warn. API paths answer JSON; pages are marked in
 * `res.locals.crossSite` and answered by Remix with the app's own error page (see `refusingActions`).
 */
export function crossSiteGuard(log: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!isCrossSite(req)) return next();
    log.warn(
      { method: req.method, path: req.path, origin: req.headers.origin, site: req.headers["sec-fetch-site"] },
      "cross-site request refused",
    );
    if (/^\/(api|peerjs)\//.test(req.path)) {
      res.status(403).json({ error: "Requests from other sites are not allowed." });
      return;
    }
    res.locals.crossSite = true;
    // Remix's own origin check would turn this into a bare 500; the refusal is ours to render.
    delete req.headers.origin;
    next();
  };
}

const CROSS_SITE_MESSAGE = "This form was sent from another site, so it was not accepted.";

const refusingBuilds = new WeakMap<ServerBuild, ServerBuild>();

/**
 * The same Remix build with every route's action replaced by a 403: Remix then renders the root
 * error boundary with that status, so a refused post looks like any other refused page.
 */
export function refusingActions(build: ServerBuild): ServerBuild {
  let refusing = refusingBuilds.get(build);
  if (!refusing) {
    const action = () => {
      throw new Response(CROSS_SITE_MESSAGE, { status: 403 });
    };
    const routes = Object.fromEntries(
      Object.entries(build.routes).map(([id, route]) => [id, { ...route, module: { ...route.module, action } }]),
    );
    refusing = { ...build, routes };
    refusingBuilds.set(build, refusing);
  }
  return refusing;
}
