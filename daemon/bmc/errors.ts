/** Building BmcErrors that name the BMC and the step, and keeping secrets out of them. */
import { err } from "../lib/result.ts";
import type { BmcError, BmcProvider } from "./types.ts";

/** Per-call bound when the target names none (contract: 30 s). */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A failed Result carrying a BmcError. */
export function bmcErr(provider: BmcProvider, code: BmcError["code"], message: string): { ok: false; error: BmcError } {
  return err({ code, message, provider });
}

/** `text` with every occurrence of `secret` replaced: a BMC or tool may echo what it was sent. */
export function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.replaceAll(secret, "****") : text;
}
