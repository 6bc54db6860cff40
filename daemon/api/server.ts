/**
 * The HTTP application: REST API under /api/v1 (bearer token), /healthz, /readyz, /metrics
 * (Prometheus) and the OpenAPI document. One error handler maps domain errors to
 * `{code, message, field?}`.
 */
import { openapi } from "@elysiajs/openapi";
import { Elysia, StatusMap } from "elysia";
import type { Core } from "../core/types.ts";
import { INTERNAL_ERROR_BODY, WispError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { createMetricsRegistry, METRICS_CONTENT_TYPE, type MetricsRegistry } from "../lib/metrics.ts";
import { checkBearer } from "./token.ts";
import { resourceRoutes } from "./resources.ts";
import { syslogRoutes } from "./syslog-routes.ts";
import { workflowLogRoutes } from "./workflow-log-routes.ts";
import type { SyslogStore } from "../syslog/store.ts";
import type { ChangeFeed } from "../core/changes.ts";
import { consoleRoutes } from "../console/routes.ts";
import { eventRoutes } from "./events.ts";
import { httpMetrics } from "../ops/http-metrics.ts";
import type { Readiness } from "../ops/readiness.ts";

/** What the HTTP application needs from the process. */
export interface ApiOptions {
  core: Core;
  token: string;
  logger: Logger;
  version: string;
  /** Served at GET /metrics; an empty registry when not given. */
  metrics?: MetricsRegistry;
  /** Lines of the syslog receiver; its routes say the receiver is off when not given. */
  syslog?: SyslogStore;
  /** What GET /readyz reports (listeners, store); without it, the store alone. */
  readiness?: Readiness;
  /** Committed changes for GET /api/v1/events (the web console's live updates); the route is absent when not given. */
  changes?: ChangeFeed;
}

// ops: the status a response carried (a Response a handler returned wins over `set.status`).
function responseStatus(response: unknown, status: number | string | undefined): number {
  if (response instanceof Response) return response.status;
  if (typeof status === "number") return status;
  return (status && (StatusMap as Record<string, number>)[status]) || 200;
}

/** Paths served without a token. */
const PUBLIC_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json", "/api/v1/openapi"]);

/** Builds the Elysia application (not yet listening). */
export function createApi(opts: ApiOptions) {
  const { core, token, logger } = opts;
  const metrics = opts.metrics ?? createMetricsRegistry();
  // ops: request timing for every route, the boot and metadata plugins used later included.
  const http = httpMetrics(metrics);
  const arrived = new WeakMap<Request, number>();
  return new Elysia()
    .onRequest(({ request }) => {
      arrived.set(request, performance.now());
    })
    .use(
      openapi({
        path: "/api/v1/openapi",
        specPath: "/api/v1/openapi.json",
        // The provisioner may be offline: no documentation front end pulled from a CDN.
        provider: null,
        documentation: {
          info: { title: "Wisp API", version: opts.version, description: "Bare-metal provisioning: Hardware, Template, Workflow" },
          components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
          security: [{ bearer: [] }],
        },
        exclude: { paths: ["/healthz", "/readyz", "/metrics"] },
      }),
    )
    .onError(({ code, error, set, request }) => {
      if (error instanceof WispError) {
        set.status = error.status;
        if (error.status >= 500) logger.error({ err: error, path: new URL(request.url).pathname }, "request failed");
        return error.toJSON();
      }
      if (code === "VALIDATION") {
        set.status = 400;
        const v = error as { message: string; valueError?: { path?: string; message?: string } };
        const field = v.valueError?.path?.replace(/^\//, "").replaceAll("/", ".") || undefined;
        return { code: "invalid_argument", message: v.valueError?.message ? `${field ?? "request"}: ${v.valueError.message}` : "invalid request", ...(field ? { field } : {}) };
      }
      if (code === "PARSE") {
        set.status = 400;
        const type = request.headers.get("content-type") ?? "none";
        return { code: "invalid_argument", message: `request body could not be parsed as ${type.includes("json") ? "JSON" : type}` };
      }
      if (code === "NOT_FOUND") {
        set.status = 404;
        return { code: "not_found", message: `no route for ${request.method} ${new URL(request.url).pathname}` };
      }
      set.status = 500;
      logger.error({ err: error, path: new URL(request.url).pathname }, "request failed");
      return INTERNAL_ERROR_BODY;
    })
    .onBeforeHandle(({ request, set, path }) => {
      if (PUBLIC_PATHS.has(path) || !path.startsWith("/api/")) return;
      if (!checkBearer(request.headers.get("authorization"), token)) {
        set.status = 401;
        set.headers["www-authenticate"] = 'Bearer realm="wisp"';
        return new WispError("unauthorized", "missing or wrong bearer token (see <data-dir>/api-token or --api-token)").toJSON();
      }
    })
    .onAfterResponse(({ request, set, path, route, responseValue }) => {
      const status = responseStatus(responseValue, set.status);
      const started = arrived.get(request);
      if (started !== undefined) http.observe(route, status, (performance.now() - started) / 1000);
      logger.debug({ method: request.method, path, status }, "http request");
    })
    // ops: alive as long as the event loop answers; readiness asks the store and the listeners.
    .get("/healthz", () => ({ status: "ok", uptimeSeconds: Math.round(process.uptime()) }))
    .get("/readyz", async ({ set }) => {
      if (opts.readiness) {
        const report = await opts.readiness.report();
        if (!report.ready) set.status = 503;
        return { status: report.ready ? "ok" : "unavailable", checks: report.checks };
      }
      try {
        await core.ping();
        return { status: "ok", checks: { store: "ok", http: "ok" } };
      } catch (e) {
        set.status = 503;
        return { status: "unavailable", checks: { store: (e as Error).message, http: "ok" } };
      }
    })
    // Prometheus text format; no token, as scrapers expect (it holds counters, no objects).
    .get("/metrics", async () => new Response(await metrics.scrape(), { headers: { "content-type": METRICS_CONTENT_TYPE } }))
    .use(resourceRoutes(core))
    .use(syslogRoutes(core, opts.syslog))
    .use(workflowLogRoutes(core))
    // Web console: the page and its script at /console/ (no token: they hold no data), live updates at /api/v1/events.
    .use(opts.changes ? eventRoutes({ feed: opts.changes, logger }) : new Elysia())
    .use(consoleRoutes({ logger }));
}
