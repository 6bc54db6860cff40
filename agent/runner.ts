/**
 * Runs one action as a container (COMPAT section 6): pull -> create -> wait registered -> start
 * -> follow logs -> exit 0 is SUCCESS, another code FAILED; past the timeout the container is
 * stopped and the action is TIMEOUT. The container is always removed.
 */
import type { Logger } from "pino";
import { STOP_GRACE_SECONDS, type DockerClient } from "./docker.ts";
import { LastLines } from "./log-stream.ts";

/** Lines of output quoted in the message of a failed action. */
export const LAST_LINES = 10;
/** Longest message reported (the server stores it with the action). */
const MAX_MESSAGE_CHARS = 2_000;

/** The parts of an ActionResponse a run needs. */
export interface Action {
  workflowId: string;
  actionId: string;
  name: string;
  image: string;
  /** Seconds; 0: no limit. */
  timeout: number;
  command: string[];
  volumes: string[];
  environment: string[];
  pid: string;
  namespaces?: { network?: string; pid?: string };
}

/** How an action ended. */
export interface RunResult {
  state: "SUCCESS" | "FAILED" | "TIMEOUT";
  message: string;
  exitCode?: number;
  containerId?: string;
}

// Docker prefixes each line with an RFC 3339 timestamp when asked (timestamps=1).
const TIMESTAMP = /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) /;

/** Runs `action` to its end; never throws: a Docker failure is a FAILED result naming what failed. */
export async function runAction(docker: DockerClient, action: Action, opts: { privileged: boolean; logger: Logger }): Promise<RunResult> {
  const log = opts.logger.child({ workflowId: action.workflowId, actionId: action.actionId, action: action.name });
  let containerId: string | undefined;
  try {
    log.info({ image: action.image }, "pulling image");
    await docker.pull(action.image);
    containerId = await docker.create({
      image: action.image,
      command: action.command,
      env: action.environment,
      binds: action.volumes,
      pidMode: action.namespaces?.pid || action.pid || undefined,
      networkMode: action.namespaces?.network || undefined,
      privileged: opts.privileged,
    });
    const clog = log.child({ containerId });
    const { exited } = await docker.waitNextExit(containerId);
    await docker.start(containerId);
    clog.info({ image: action.image, timeout: action.timeout }, "action started");

    const last = new LastLines(LAST_LINES);
    const logsDone = docker
      .logs(containerId, (l) => {
        const text = l.text.replace(TIMESTAMP, "");
        last.add(text);
        clog.info({ stream: l.stream, line: text }, "action output");
      })
      .catch((e: unknown) => clog.warn({ err: e }, "action output lost"));

    const timedOut = Symbol("timeout");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = action.timeout > 0 ? new Promise<typeof timedOut>((r) => (timer = setTimeout(() => r(timedOut), action.timeout * 1000))) : undefined;
    const first = await (deadline ? Promise.race([exited, deadline]) : exited);
    clearTimeout(timer);
    if (first === timedOut) {
      clog.warn({ timeout: action.timeout }, "action timed out, stopping");
      await docker.stop(containerId, STOP_GRACE_SECONDS);
      await exited.catch(() => undefined);
      await logsDone;
      return { state: "TIMEOUT", message: clip(`timed out after ${action.timeout}s${tail(last)}`), containerId };
    }
    const exitCode = first;
    await logsDone;
    clog.info({ exitCode }, "action exited");
    if (exitCode === 0) return { state: "SUCCESS", message: "exit code 0", exitCode, containerId };
    return { state: "FAILED", message: clip(`exit code ${exitCode}${tail(last)}`), exitCode, containerId };
  } catch (e) {
    log.error({ err: e, containerId }, "action could not run");
    return { state: "FAILED", message: clip((e as Error).message), containerId };
  } finally {
    if (containerId) {
      await docker.remove(containerId).catch((e: unknown) => log.warn({ err: e, containerId }, "container not removed"));
    }
  }
}

function tail(last: LastLines): string {
  const lines = last.get();
  return lines.length > 0 ? `; last output:\n${lines.join("\n")}` : "";
}

/** Keeps the end of a long message: the last lines say most. */
function clip(s: string): string {
  return s.length <= MAX_MESSAGE_CHARS ? s : `...${s.slice(s.length - MAX_MESSAGE_CHARS + 3)}`;
}
