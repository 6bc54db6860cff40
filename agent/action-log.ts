/**
 * Connects the loop to wispd's log service: one LogShipper per action attempt, whose troubles are
 * logged once per action at warn and never reach the action (a refused or unreachable log
 * service costs lines, not the action).
 */
import { status } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { createLogShipper, type LogsClient, type LogShipperOptions } from "./log-shipper.ts";
import type { ActionLog } from "./loop.ts";
import type { Action } from "./runner.ts";

/** How long the last lines of an action may delay its final report when wispd is unreachable. */
export const LOG_CLOSE_TIMEOUT_MS = 5_000;

/** `openLog` for runLoop: ships each attempt's lines through `client` as `agentId`. */
export function actionLogs(
  client: LogsClient,
  agentId: string,
  log: Logger,
  tuning: Partial<Pick<LogShipperOptions, "batchMs" | "retryStartMs" | "retryMaxMs" | "closeTimeoutMs">> = {},
): (action: Action, attempt: number) => ActionLog {
  return (action, attempt) => {
    const fields = { workflowId: action.workflowId, actionId: action.actionId, attempt };
    let warned = false;
    const shipper = createLogShipper({
      closeTimeoutMs: LOG_CLOSE_TIMEOUT_MS,
      ...tuning,
      client,
      workflowId: action.workflowId,
      // As ActionResponse named the agent (the server checks it against the task's worker).
      agentId: action.agentId || agentId,
      actionId: action.actionId,
      attempt,
      onRefused(reply, lines) {
        if (warned) return;
        warned = true;
        log.warn({ ...fields, code: status[reply.code], reason: reply.details, lines }, "action log refused");
      },
    });
    return {
      push: (stream, line) => shipper.push(stream, line),
      async close() {
        try {
          await shipper.close();
        } catch (e) {
          log.warn({ ...fields, err: e }, "action log not closed");
        }
        const { sent, dropped } = shipper.stats;
        if (dropped > 0 && !warned) log.warn({ ...fields, sent, dropped }, "action log lines not delivered");
        else log.debug({ ...fields, sent, dropped }, "action log shipped");
      },
    };
  };
}
