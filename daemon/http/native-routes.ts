/**
 * Routes answered by Bun.serve's own router, ahead of Elysia, for the requests a boot storm sends
 * thousands of times (the iPXE script). Elysia's per-request lifecycle (its context and the root
 * app's onRequest, onBeforeHandle and onAfterResponse hooks) cost as much as the answer itself, so
 * a native route does for its public boot path what those hooks would: the HTTP metrics
 * (daemon/ops/http-metrics.ts), the `http request` debug line, and a 500 with the API's error body
 * when the handler throws. The same paths stay in the Elysia plugin for `app.handle()`.
 */
import { INTERNAL_ERROR_BODY } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { HttpMetrics } from "../ops/http-metrics.ts";

/** What a native route reads from Bun's server. */
export interface PeerSource {
  requestIP(request: Request): { address: string } | null;
}

/** A Bun.serve route handler (the request carries `params` for a route with `:name` segments). */
export type NativeHandler = (request: Request & { params?: Record<string, string> }, server: PeerSource) => Response | Promise<Response>;

/** Bun.serve `routes`: path pattern -> handler by method. */
export type NativeRoutes = Record<string, { GET: NativeHandler; HEAD: NativeHandler }>;

/** What every native route needs from the process. */
export interface NativeRouteDeps {
  http: HttpMetrics;
  logger: Logger;
}

/** `handle` for the route pattern `route`, timed and counted as Elysia's hooks count every other route. */
export function nativeRoute(route: string, handle: NativeHandler, deps: NativeRouteDeps): NativeHandler {
  const { http, logger } = deps;
  const finish = (request: Request, response: Response, started: number): Response => {
    http.observe(route, response.status, (performance.now() - started) / 1000);
    if (logger.isLevelEnabled("debug")) logger.debug({ method: request.method, path: pathOf(request.url), status: response.status }, "http request");
    return response;
  };
  const failed = (request: Request, error: unknown, started: number): Response => {
    logger.error({ err: error, path: pathOf(request.url) }, "request failed");
    return finish(request, Response.json(INTERNAL_ERROR_BODY, { status: 500 }), started);
  };
  return (request, server) => {
    const started = performance.now();
    let answer: Response | Promise<Response>;
    try {
      answer = handle(request, server);
    } catch (e) {
      return failed(request, e, started);
    }
    if (answer instanceof Response) return finish(request, answer, started);
    return answer.then(
      (response) => finish(request, response, started),
      (e) => failed(request, e, started),
    );
  };
}

/** The path of an absolute request URL as the router saw it (percent-escapes kept), without its query and without a URL object (what Elysia calls `path`). */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return "/";
  const query = url.indexOf("?", start);
  return query < 0 ? url.slice(start) : url.slice(start, query);
}
