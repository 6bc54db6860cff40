/**
 * The function table templates see: Go's predefined functions, the hermetic Sprig functions
 * Tinkerbell exposes (no env, no network, no clock or randomness), and Tinkerbell's own.
 */
import type { FuncSpec } from "./func-spec.ts";
import { BUILTIN_FUNCS } from "./funcs-builtin.ts";
import { ENCODING_FUNCS } from "./funcs-encoding.ts";
import { LIST_FUNCS } from "./funcs-lists.ts";
import { MISC_FUNCS } from "./funcs-misc.ts";
import { NUMBER_FUNCS } from "./funcs-numbers.ts";
import { REGEXP_FUNCS } from "./funcs-regexp.ts";
import { STRING_FUNCS } from "./funcs-strings.ts";
import { TINKERBELL_FUNCS } from "./funcs-tinkerbell.ts";

/** Every function a template may call, by name. */
export const FUNCS: ReadonlyMap<string, FuncSpec> = new Map(
  Object.entries({
    ...STRING_FUNCS,
    ...REGEXP_FUNCS,
    ...LIST_FUNCS,
    ...MISC_FUNCS,
    ...NUMBER_FUNCS,
    ...ENCODING_FUNCS,
    ...TINKERBELL_FUNCS,
    // Go's builtins last: Sprig's `slice` must not shadow the builtin, which also cuts strings.
    ...BUILTIN_FUNCS,
  }),
);

/** True if templates may call `name`. */
export const isFunction = (name: string): boolean => FUNCS.has(name);
