/** What a `--baseline DIR` run records about the earlier build it measured. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The commit a baseline directory holds: its `.commit` file (written by whoever extracted it), else its path. */
export function commitOf(dir: string): string {
  try {
    return readFileSync(join(dir, ".commit"), "utf8").trim();
  } catch {
    return dir;
  }
}
