/**
 * The web console's own routes: the page, its script (bundled by Bun.build from ui/ on first
 * request, then kept in memory: nothing from a CDN, works offline) and its style sheet. They hold
 * no data and need no token; every datum the console shows comes from /api/v1 with the bearer
 * token the operator typed in (kept in the tab's sessionStorage). `/` redirects here.
 */
import { Elysia } from "elysia";
import { join } from "node:path";
import type { Logger } from "../lib/log.ts";

/** Where the console is served. */
export const CONSOLE_PATH = "/console/";
const UI_DIR = join(import.meta.dir, "ui");

// The console only talks to its own origin; no inline script or style is needed.
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-cache",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Wisp console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${CONSOLE_PATH}console.css">
<script type="module" src="${CONSOLE_PATH}console.js"></script>
</head>
<body><div id="app"><noscript>The Wisp console needs JavaScript.</noscript></div></body>
</html>
`;

/** Bundles the console's script once; a failure is logged and answered 500 (and tried again on the next request). */
function bundler(logger: Logger): () => Promise<string> {
  let built: Promise<string> | undefined;
  return () => {
    built ??= (async () => {
      const started = performance.now();
      const out = await Bun.build({ entrypoints: [join(UI_DIR, "main.ts")], target: "browser", format: "esm", minify: true, sourcemap: "none" });
      if (!out.success || !out.outputs[0]) throw new AggregateError(out.logs, "console bundle failed");
      const text = await out.outputs[0].text();
      logger.info({ bytes: text.length, ms: Math.round(performance.now() - started) }, "console bundled");
      return text;
    })();
    built.catch((e) => {
      logger.error({ err: e }, "console bundle failed");
      built = undefined;
    });
    return built;
  };
}

/** The console routes (outside /api, so outside the token check). */
export function consoleRoutes(opts: { logger: Logger }) {
  const script = bundler(opts.logger);
  const respond = (body: ConstructorParameters<typeof Response>[0], type: string) => new Response(body, { headers: { "content-type": type, ...SECURITY_HEADERS } });
  // Not part of the API: kept out of the OpenAPI document.
  const hidden = { detail: { hide: true } };
  return new Elysia()
    .get("/", ({ redirect }) => redirect(CONSOLE_PATH, 302), hidden)
    // Elysia matches /console and /console/ alike.
    .get(CONSOLE_PATH, () => respond(PAGE, "text/html; charset=utf-8"), hidden)
    .get(`${CONSOLE_PATH}console.js`, async () => respond(await script(), "text/javascript; charset=utf-8"), hidden)
    .get(`${CONSOLE_PATH}console.css`, () => respond(Bun.file(join(UI_DIR, "console.css")), "text/css; charset=utf-8"), hidden);
}
