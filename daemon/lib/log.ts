/** The logger type every component receives; pino JSON lines (no transports: they fail when compiled). */
import pino from "pino";

export type Logger = pino.Logger;

/** Creates the process logger writing JSON lines to stdout. */
export function createLogger(level: string, name = "wispd"): Logger {
  return pino({ name, level, base: { name }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
