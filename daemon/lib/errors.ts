/** Stable error codes shared by the API, the CLI and the core. */
export type ErrorCode =
  | "invalid_manifest"
  | "invalid_template"
  | "render_failed"
  | "not_found"
  | "already_exists"
  | "conflict"
  | "invalid_argument"
  | "invalid_state"
  | "unauthorized"
  | "internal";

/** The body of a 500: the cause goes to the log, never to the client. */
export const INTERNAL_ERROR_BODY = { code: "internal", message: "internal error; see the wispd log" } as const;

const STATUS: Record<ErrorCode, number> = {
  invalid_manifest: 400,
  invalid_template: 400,
  render_failed: 422,
  not_found: 404,
  already_exists: 409,
  conflict: 409,
  invalid_argument: 400,
  invalid_state: 409,
  unauthorized: 401,
  internal: 500,
};

/** One located problem: where it is (document, field path) and what was expected. */
export interface Diagnostic {
  /** File name or "-" for standard input / request body. */
  source?: string;
  /** 0-based index of the YAML document within the source. */
  document?: number;
  kind?: string;
  name?: string;
  namespace?: string;
  /** Dotted field path, e.g. `spec.interfaces[0].dhcp.mac`. */
  field?: string;
  message: string;
}

/** Renders a diagnostic as one line: `file#doc Kind ns/name: field: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where: string[] = [];
  if (d.source !== undefined) where.push(d.document !== undefined ? `${d.source}#${d.document}` : d.source);
  else if (d.document !== undefined) where.push(`document ${d.document}`);
  if (d.kind) where.push(d.name ? `${d.kind} ${d.namespace ? d.namespace + "/" : ""}${d.name}` : d.kind);
  const head = where.length ? where.join(" ") + ": " : "";
  return `${head}${d.field ? d.field + ": " : ""}${d.message}`;
}

/** A domain error: a stable code, an HTTP status, and the details that locate it. */
export class WispError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field?: string;
  readonly details: Diagnostic[];
  constructor(code: ErrorCode, message: string, opts: { field?: string; details?: Diagnostic[] } = {}) {
    super(message);
    this.name = "WispError";
    this.code = code;
    this.status = STATUS[code];
    this.field = opts.field;
    this.details = opts.details ?? [];
  }
  /** The JSON body the API sends for this error. */
  toJSON(): { code: ErrorCode; message: string; field?: string; details?: Diagnostic[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.field ? { field: this.field } : {}),
      ...(this.details.length ? { details: this.details } : {}),
    };
  }
}
