/**
 * A workflow's action logs over the API, as JSON lines (one object a line: id, at, actionId,
 * actionName, attempt, stream, line), oldest first. The `x-wisp-workflow-state` header gives the
 * workflow's state read before the lines: once it is terminal, a follower reads until a page
 * comes back empty and stops.
 */
import { Elysia, t } from "elysia";
import type { Core, WorkflowLogPage } from "../core/types.ts";
import { MAX_LOG_READ } from "../store/logs.ts";
import { LOGS_CONTENT_TYPE } from "./syslog-routes.ts";

/** Header with the workflow's state (PENDING, RUNNING, SUCCESS, ...) when the lines were read. */
export const WORKFLOW_STATE_HEADER = "x-wisp-workflow-state";
/** Lines returned when `limit` is not given, and the largest `limit`. */
export const MAX_WORKFLOW_LOG_LIMIT = MAX_LOG_READ;

function jsonLines(page: WorkflowLogPage): Response {
  let body = "";
  for (const l of page.lines) body += JSON.stringify(l) + "\n";
  return new Response(body, { headers: { "content-type": LOGS_CONTENT_TYPE, [WORKFLOW_STATE_HEADER]: page.state } });
}

/** The workflow log route, mounted under /api/v1. */
export function workflowLogRoutes(core: Core) {
  return new Elysia({ prefix: "/api/v1" }).get(
    "/namespaces/:ns/workflows/:name/logs",
    async ({ params, query }) =>
      jsonLines(await core.workflowLogs(params.ns, params.name, { action: query.action, since: query.since, limit: query.limit ?? MAX_WORKFLOW_LOG_LIMIT })),
    {
      params: t.Object({ ns: t.String(), name: t.String() }),
      query: t.Object({
        action: t.Optional(t.String({ minLength: 1, description: "only this action (its name, or its id)" })),
        since: t.Optional(t.Numeric({ minimum: 0, description: "only lines with a greater id (default 0: from the first line kept)" })),
        limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_WORKFLOW_LOG_LIMIT, description: `at most this many lines (default ${MAX_WORKFLOW_LOG_LIMIT})` })),
      }),
      detail: {
        summary: "Action log lines of a Workflow (stdout/stderr pushed by its agents), as JSON lines",
        responses: {
          200: {
            description: `JSON lines: id, at, actionId, actionName, attempt, stream, line; header ${WORKFLOW_STATE_HEADER}`,
            content: { [LOGS_CONTENT_TYPE]: { schema: { type: "string" as const } } },
          },
        },
      },
    },
  );
}
