/** Names of the stored kinds as users type them (kubectl style) and as they appear in URLs. */
import type { Kind } from "../manifest/types.ts";

/** URL plural and accepted aliases per kind; Tinkerbell's short names included. */
export const KIND_NAMES = {
  Hardware: { plural: "hardware", aliases: ["hardware", "hardwares", "hw"] },
  Template: { plural: "templates", aliases: ["template", "templates", "tpl"] },
  Workflow: { plural: "workflows", aliases: ["workflow", "workflows", "wf"] },
  Machine: { plural: "machines", aliases: ["machine", "machines", "bmc"] },
  Job: { plural: "jobs", aliases: ["job", "jobs"] },
  Secret: { plural: "secrets", aliases: ["secret", "secrets"] },
} as const satisfies Record<Kind, { plural: string; aliases: readonly string[] }>;

/** The kind a user word or URL segment names (case-insensitive), or undefined. */
export function resolveKind(word: string): Kind | undefined {
  const w = word.toLowerCase();
  for (const [kind, names] of Object.entries(KIND_NAMES)) {
    if (kind.toLowerCase() === w || (names.aliases as readonly string[]).includes(w)) return kind as Kind;
  }
  return undefined;
}

/** Every accepted word, for error messages. */
export const KIND_WORDS = Object.values(KIND_NAMES).flatMap((n) => n.aliases);
