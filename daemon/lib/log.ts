/** The logger type every component receives; pino JSON lines (no transports: they fail when compiled). */
import pino from "pino";

export type Logger = pino.Logger;

/**
 * Creates the process logger writing JSON lines to stdout, in batches while lines come fast (see
 * batchedLines); what is pending is written on exit (a crash included) and on SIGTERM and SIGINT.
 */
export function createLogger(level: string, name = "wispd"): Logger {
  // process.stdout as pino used it: Bun writes at once what the pipe or socket takes and queues the rest.
  const sink = batchedLines((text) => process.stdout.write(text));
  flushOnExit(sink);
  return pino({ name, level, base: { name }, timestamp: cachedIsoTime() }, sink);
}

/** How long a line may wait while lines come fast: the bound on a line's delay. */
export const LOG_BATCH_WINDOW_MS = 10;
/** Pending lines this long are written at once, whatever the window. */
export const LOG_BATCH_MAX_BYTES = 64 * 1024;

/** Where batched lines go; `write` and `flush` are synchronous. */
export interface LineSink {
  write(line: string): void;
  /** Writes what is pending now (on exit, before a signal ends the process); then calls `done` (pino's logger.flush passes one). */
  flush(done?: (err?: Error) => void): void;
  /** Bytes waiting (UTF-16 code units). */
  readonly pending: number;
}

/** Runs `fn` after `ms`; returns a cancel. The timer must not keep the process alive. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const unrefTimer: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/**
 * Lines to `out`, written together while they come fast. A line after a quiet window goes out at
 * once (a test or an operator reading the log sees it as today) and opens a window; lines in the
 * window wait for its end, or until `maxBytes` are pending, and are written in one call, in order.
 * A boot storm logs a line per request: one write(2) per line was about a sixth of the iPXE
 * script's JavaScript time (bench/http).
 */
export function batchedLines(out: (text: string) => void, opts: { windowMs?: number; maxBytes?: number; schedule?: Schedule } = {}): LineSink {
  const windowMs = opts.windowMs ?? LOG_BATCH_WINDOW_MS;
  const maxBytes = opts.maxBytes ?? LOG_BATCH_MAX_BYTES;
  const schedule = opts.schedule ?? unrefTimer;
  let lines: string[] = [];
  let pending = 0;
  let windowOpen = false;
  const flush = (done?: (err?: Error) => void): void => {
    if (lines.length > 0) {
      const text = lines.length === 1 ? lines[0]! : lines.join("");
      lines = [];
      pending = 0;
      out(text);
    }
    done?.();
  };
  const windowEnd = (): void => {
    if (lines.length === 0) {
      windowOpen = false;
      return;
    }
    flush();
    schedule(windowEnd, windowMs);
  };
  return {
    write(line) {
      if (!windowOpen) {
        windowOpen = true;
        schedule(windowEnd, windowMs);
        out(line);
        return;
      }
      lines.push(line);
      pending += line.length;
      if (pending >= maxBytes) flush();
    },
    flush,
    get pending() {
      return pending;
    },
  };
}

/**
 * Flushes `sink` when the process exits (process.exit, the end of the event loop, an uncaught
 * exception) and on SIGTERM and SIGINT. A signal with no other listener then ends the process as
 * it would have (the listener is removed and the signal raised again); with wispd's own shutdown
 * listener, that one runs on and its lines are flushed at exit.
 */
export function flushOnExit(sink: Pick<LineSink, "flush">): void {
  process.on("exit", () => sink.flush());
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    const onSignal = (): void => {
      sink.flush();
      if (process.listenerCount(signal) === 1) {
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** pino's isoTime (`,"time":"<ISO 8601>"`), the string built once per millisecond. */
export function cachedIsoTime(): () => string {
  let at = NaN;
  let text = "";
  return () => {
    const now = Date.now();
    if (now !== at) {
      at = now;
      text = `,"time":"${new Date(now).toISOString()}"`;
    }
    return text;
  };
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * The fields that tie a line to one machine, so one filter follows its boot across DHCP, TFTP,
 * HTTP, metadata, gRPC, syslog and the core (`jq 'select(.mac=="1c:69:7a:11:22:33")'`):
 * `mac` (lower-case, colons), `hardware` and `workflow` (both namespace/name).
 */
export interface MachineFields {
  mac?: string;
  hardware?: string;
  workflow?: string;
}

/** The machine fields that are known, ready to spread into a log call (no undefined keys). */
export function machineFields(m: MachineFields): MachineFields {
  const out: MachineFields = {};
  if (m.mac) out.mac = m.mac.toLowerCase();
  if (m.hardware) out.hardware = m.hardware;
  if (m.workflow) out.workflow = m.workflow;
  return out;
}

/** A child logger whose every line carries the machine's fields (for a sequence of lines about one machine). */
export function machineLogger(log: Logger, m: MachineFields): Logger {
  return log.child(machineFields(m));
}

/** A machine as the lookups know it: the hardware index's host, when there is one. */
export interface KnownHost {
  namespace: string;
  hardwareName: string;
  mac: string;
}

/** The fields of a host the hardware index returned (or only the MAC when none). */
export function hostFields(host: KnownHost | undefined, mac?: string): MachineFields {
  return machineFields({ mac: host?.mac ?? mac, hardware: host ? `${host.namespace}/${host.hardwareName}` : undefined });
}

const MAC_SHAPE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** The workflow a line is about, as the core holds it. */
export interface WorkflowRef {
  namespace: string;
  name: string;
  hardwareRef?: string | null;
  /** Template device -> MAC (or name), e.g. { device_1: "1c:69:7a:11:22:33" }. */
  hardwareMap?: Record<string, string>;
}

/**
 * The machine fields of a workflow: `workflow`, the Hardware it references, and the MAC: the
 * agent's id when it is a MAC (Tinkerbell's worker ids are), else the first MAC in its device map.
 */
export function workflowFields(wf: WorkflowRef, agentId?: string): MachineFields {
  const mac = agentId && MAC_SHAPE.test(agentId) ? agentId : Object.values(wf.hardwareMap ?? {}).find((v) => MAC_SHAPE.test(v));
  return machineFields({ mac, hardware: wf.hardwareRef ? `${wf.namespace}/${wf.hardwareRef}` : undefined, workflow: `${wf.namespace}/${wf.name}` });
}

const { lsCacheSym, timeSym, chindingsSym, streamSym, endSym, mixinSym, nestedKeySym, messageKeySym, stringifiersSym, formattersSym, hooksSym } = pino.symbols;
// Not in pino's type declarations; present since pino 8.
const msgPrefixSym = (pino.symbols as unknown as Record<string, symbol>).msgPrefixSym!;

/** A prepared log call: its values in the order of its keys. */
export type PreparedLine<K extends string> = (values: Record<K, string>) => void;

/**
 * A prepared `logger[level]({ k: v, … }, msg)` for the hottest line (one per iPXE script request):
 * the message and field names fixed, every value a string. It writes what pino would write (level,
 * time, the logger's bindings, the fields in order, the message; a test holds the bytes equal)
 * without pino's per-call work: its generic field loop and, under Bun, a diagnostics-channel trace
 * around every line. A logger with a mixin, formatter, hook, redaction, nested key or message
 * prefix gets the pino call instead.
 */
export function preparedLine<K extends string>(logger: Logger, level: pino.Level, msg: string, keys: readonly K[]): PreparedLine<K> {
  const l = logger as unknown as Record<symbol, unknown>;
  const formatters = l[formattersSym] as { log?: unknown; level?: unknown } | undefined;
  const plain =
    !l[mixinSym] &&
    !l[nestedKeySym] &&
    !l[msgPrefixSym] &&
    l[messageKeySym] === "msg" &&
    formatters?.log === undefined &&
    !(l[hooksSym] as { streamWrite?: unknown } | undefined)?.streamWrite &&
    Object.keys((l[stringifiersSym] as object | undefined) ?? {}).length === 0;
  if (!plain) return (values) => logger[level](values as object, msg);
  const num = logger.levels.values[level]!;
  const names = keys.map((k) => `,${JSON.stringify(k)}:`);
  const tail = `,"msg":${JSON.stringify(msg)}${l[endSym] as string}`;
  return (values) => {
    if (!logger.isLevelEnabled(level)) return;
    let line = (l[lsCacheSym] as Record<number, string>)[num]! + (l[timeSym] as () => string).call(l) + (l[chindingsSym] as string);
    for (let i = 0; i < keys.length; i++) line += names[i]! + JSON.stringify(values[keys[i]!]);
    (l[streamSym] as { write(s: string): void }).write(line + tail);
  };
}
