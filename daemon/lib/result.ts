/** A value or the reason there is none; decoders and parsers return this instead of throwing. */
export type Result<T, E = string> = { ok: true; value: T } | { ok: false; error: E };

/** Wraps a value as a successful Result. */
export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });

/** Wraps a reason as a failed Result. */
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
