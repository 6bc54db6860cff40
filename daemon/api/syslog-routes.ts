/**
 * Syslog lines over the API, as JSON lines (one object a line): per Hardware, and from source
 * addresses of no Hardware. The `x-wisp-syslog-last-seq` header gives the highest sequence
 * number so far, so a follower sees a restart of wispd (it falls below the follower's `since`).
 */
import { Elysia, t } from "elysia";
import type { Core } from "../core/types.ts";
import { WispError } from "../lib/errors.ts";
import { SYSLOG_LAST_SEQ_HEADER, type SyslogLine } from "../syslog/line.ts";
import { LINES_PER_MACHINE, type SyslogStore } from "../syslog/store.ts";

/** Lines returned when `limit` is not given: a whole machine's ring. */
export const DEFAULT_LOG_LIMIT = LINES_PER_MACHINE;
/** Largest `limit`. */
export const MAX_LOG_LIMIT = 10_000;
/** Content type of the log routes (JSON lines). */
export const LOGS_CONTENT_TYPE = "application/x-ndjson";

const query = {
  since: t.Optional(t.Numeric({ minimum: 0, description: "only lines with a greater seq, oldest first (default: the newest lines)" })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_LOG_LIMIT, description: `at most this many lines (default ${DEFAULT_LOG_LIMIT})` })),
};

const jsonLinesResponse = {
  200: {
    description: "JSON lines: seq, receivedAt, peer, format, facility, severity, timestamp, hostname, app, procId, msgId, structuredData, message, error, truncated",
    content: { [LOGS_CONTENT_TYPE]: { schema: { type: "string" as const } } },
  },
};

function jsonLines(lines: SyslogLine[], lastSeq: number): Response {
  let body = "";
  for (const l of lines) body += JSON.stringify(l) + "\n";
  return new Response(body, { headers: { "content-type": LOGS_CONTENT_TYPE, [SYSLOG_LAST_SEQ_HEADER]: String(lastSeq) } });
}

/** The syslog routes, mounted under /api/v1; `logs` is undefined when the receiver is off. */
export function syslogRoutes(core: Core, logs: SyslogStore | undefined) {
  const store = (): SyslogStore => {
    if (!logs) throw new WispError("not_found", "the syslog receiver is off (--syslog-port 0)");
    return logs;
  };
  return new Elysia({ prefix: "/api/v1" })
    .get(
      "/namespaces/:ns/hardware/:name/logs",
      async ({ params, query }) => {
        const s = store();
        const lines = s.machine(params.ns, params.name, { since: query.since, limit: query.limit ?? DEFAULT_LOG_LIMIT });
        // Nothing kept: not found if there is no such Hardware (a deleted one keeps its lines until they age out).
        if (lines.length === 0) await core.get("Hardware", params.ns, params.name);
        return jsonLines(lines, s.lastSeq);
      },
      {
        params: t.Object({ ns: t.String(), name: t.String() }),
        query: t.Object(query),
        detail: { summary: "Syslog lines of a Hardware (by its interface addresses), as JSON lines", responses: jsonLinesResponse },
      },
    )
    .get(
      "/syslog/unknown",
      ({ query }) => {
        const s = store();
        return jsonLines(s.unknown({ since: query.since, limit: query.limit ?? DEFAULT_LOG_LIMIT, address: query.address }), s.lastSeq);
      },
      {
        query: t.Object({ ...query, address: t.Optional(t.String({ description: "only this source address" })) }),
        detail: { summary: "Syslog lines from addresses of no Hardware, as JSON lines", responses: jsonLinesResponse },
      },
    );
}
