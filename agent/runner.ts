/**
 * Runs one action as a container (COMPAT section 6): pull -> create -> wait registered -> start
 * -> follow logs -> exit 0 is SUCCESS, another code FAILED; past the timeout the container is
 * stopped and the action is TIMEOUT; when the agent stops, the container is stopped and the
 * action FAILED ("agent stopped"). The container is removed, except a reboot action's when the
 * agent stops: that container is taking the machine down.
 */
import type { Logger } from "pino";
import type { ActionResponseFields } from "../daemon/core/types.ts";
import { STOP_GRACE_SECONDS, type DockerClient } from "./docker.ts";
import { LastLines } from "./log-stream.ts";
import { REBOOT_MESSAGE } from "./reboot.ts";

/** Lines of output quoted in the message of a failed action. */
export const LAST_LINES = 10;
/** Longest message reported (the server stores it with the action). */
const MAX_MESSAGE_CHARS = 2_000;

/** The parts of an ActionResponse a run needs; `agentId` (a MAC or the Hardware's agentID) and `namespaces` may be left out. */
export type Action = Pick<ActionResponseFields, "workflowId" | "actionId" | "name" | "image" | "timeout" | "command" | "volumes" | "environment" | "pid"> & {
  agentId?: string;
  namespaces?: Partial<ActionResponseFields["namespaces"]>;
};

/**
 * Labels on every container the agent creates: the worker it runs for, and the action. A
 * container of this worker still there when an action starts was left by an agent that died
 * (SIGKILL, crash) mid-action; it is removed first, so a re-served action never runs beside its
 * orphan.
 */
export const LABELS = { worker: "org.wisp.worker", workflow: "org.wisp.workflow", action: "org.wisp.action", attempt: "org.wisp.attempt" } as const;

/** The message of an action ended because the agent was stopped (SIGTERM). */
export const AGENT_STOPPED = "agent stopped";

/** What the caller adds to a run. */
export interface RunHooks {
  /** Each output line (Docker's timestamp removed), besides the agent's own log. */
  onOutput?(stream: "stdout" | "stderr", line: string): void;
  /** Aborted when the agent stops. */
  signal?: AbortSignal;
  /** Which run of the action this is (a container label). */
  attempt?: number;
  /**
   * Makes the run a reboot action's: awaited after create and right before start (it reports
   * SUCCESS); a rejection keeps the container from starting. If the agent stops meanwhile, the
   * container is left alone and the result is SUCCESS.
   */
  beforeRebootStart?(): Promise<void>;
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
export async function runAction(
  docker: DockerClient,
  action: Action,
  opts: { privileged: boolean; logger: Logger; /** The worker id labelled on containers; orphans of it are removed first. */ owner?: string } & RunHooks,
): Promise<RunResult> {
  const log = opts.logger.child({ workflowId: action.workflowId, actionId: action.actionId, action: action.name });
  const reboot = opts.beforeRebootStart !== undefined;
  let containerId: string | undefined;
  let keep = false; // a started reboot action's container when the agent stops
  const stopped = () => new Error(`${AGENT_STOPPED} before the action started`);
  try {
    if (opts.owner) await removeOrphans(docker, opts.owner, log);
    log.info({ image: action.image }, "pulling image");
    const local = await docker.pull(action.image);
    if (local) log.warn({ image: action.image, reason: local }, "image pull failed, using the local image");
    containerId = await docker.create({
      image: action.image,
      command: action.command,
      env: action.environment,
      binds: action.volumes,
      pidMode: action.namespaces?.pid || action.pid || undefined,
      networkMode: action.namespaces?.network || undefined,
      privileged: opts.privileged,
      labels: opts.owner
        ? { [LABELS.worker]: opts.owner, [LABELS.workflow]: action.workflowId, [LABELS.action]: action.actionId, [LABELS.attempt]: String(opts.attempt ?? 1) }
        : undefined,
    });
    const clog = log.child({ containerId });
    const { exited } = await docker.waitNextExit(containerId);
    if (opts.signal?.aborted) throw stopped();
    if (reboot) {
      await opts.beforeRebootStart!();
      if (opts.signal?.aborted) throw stopped();
    }
    await docker.start(containerId);
    clog.info({ image: action.image, timeout: action.timeout, reboot }, "action started");

    const last = new LastLines(LAST_LINES);
    const logsDone = docker
      .logs(containerId, (l) => {
        const text = l.text.replace(TIMESTAMP, "");
        last.add(text);
        clog.info({ stream: l.stream, line: text }, "action output");
        opts.onOutput?.(l.stream, text);
      })
      .catch((e: unknown) => clog.warn({ err: e }, "action output lost"));

    const timedOut = Symbol("timeout");
    const agentStopped = Symbol("stopped");
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const deadline = action.timeout > 0 ? new Promise<typeof timedOut>((r) => (timer = setTimeout(() => r(timedOut), action.timeout * 1000))) : undefined;
    const abort = opts.signal ? new Promise<typeof agentStopped>((r) => opts.signal!.addEventListener("abort", (onAbort = () => r(agentStopped)), { once: true })) : undefined;
    if (opts.signal?.aborted) onAbort?.();
    const first = await Promise.race([exited, ...(deadline ? [deadline] : []), ...(abort ? [abort] : [])]);
    clearTimeout(timer);
    if (onAbort) opts.signal!.removeEventListener("abort", onAbort);
    if (first === agentStopped && reboot) {
      // The machine is going down because of this container: do not stop or remove it.
      keep = true;
      clog.info("agent stopped while the reboot action runs");
      return { state: "SUCCESS", message: REBOOT_MESSAGE, containerId };
    }
    if (first === agentStopped) {
      clog.warn("agent stopped, stopping the action");
      await docker.stop(containerId, STOP_GRACE_SECONDS);
      await exited.catch(() => undefined);
      await logsDone;
      return { state: "FAILED", message: clip(`${AGENT_STOPPED}${tail(last)}`), containerId };
    }
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
    // SUCCESS was reported before the start: nothing more reaches the server (README, "Reboot actions").
    if (reboot) clog.error({ exitCode }, "reboot action exited without a reboot");
    if (exitCode === 0) return { state: "SUCCESS", message: "exit code 0", exitCode, containerId };
    return { state: "FAILED", message: clip(`exit code ${exitCode}${tail(last)}`), exitCode, containerId };
  } catch (e) {
    log.error({ err: e, containerId }, "action could not run");
    return { state: "FAILED", message: clip((e as Error).message), containerId };
  } finally {
    if (containerId && !keep) {
      await docker.remove(containerId).catch((e: unknown) => log.warn({ err: e, containerId }, "container not removed"));
    }
  }
}

/** Stops and removes the containers `owner`'s agent left behind (it died mid-action). */
async function removeOrphans(docker: DockerClient, owner: string, log: Logger): Promise<void> {
  for (const id of await docker.labelled(LABELS.worker, owner)) {
    await docker.remove(id);
    log.warn({ containerId: id }, "orphaned action container removed");
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
