/**
 * How template failures are described: Go's `template: <name>:<line>:<col>: ...` text plus the
 * position as fields, so an API can point at the spot without parsing the message.
 */

/** A template failure: the message (with its location, Go style) and where it points. */
export interface TemplateError {
  message: string;
  /** 1-based line in the template source. */
  line?: number;
  /** 1-based column (UTF-16 units) in that line. */
  column?: number;
}

/** 1-based line and column of a source offset. */
export function locate(source: string, pos: number): { line: number; column: number } {
  const at = Math.max(0, Math.min(pos, source.length));
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf("\n"); i >= 0 && i < at; i = source.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

/** A located error: `template: <name>:<line>:<col>: <what>`. */
export function locatedError(source: string, name: string, pos: number, what: string): TemplateError {
  const { line, column } = locate(source, pos);
  return { message: `template: ${name}:${line}:${column}: ${what}`, line, column };
}

/**
 * Thrown inside the parser and evaluator to unwind to the public entry points, which turn it
 * into a Result; it never reaches a caller of index.ts.
 */
export class TemplateFailure extends Error {
  constructor(readonly error: TemplateError) {
    super(error.message);
  }
}

/**
 * Thrown by template functions; the evaluator reports it as Go does for a function that
 * returned an error: `error calling <name>: <message>`.
 */
export class FuncError extends Error {}

/** The render's work budget ran out inside a function; no function may swallow it. */
export class BudgetError extends FuncError {}
