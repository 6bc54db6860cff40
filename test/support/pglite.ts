/**
 * PGlite data directories for tests. A cold PGlite start (initdb + migrations) costs 4-9 s, so
 * one migrated template directory is built per migration set and reused across runs; each suite
 * gets a copy, which opens in a fraction of a second.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MIGRATIONS_DIR, openStore } from "../../daemon/store/open.ts";
import { shellQuote, whenProcessGone } from "./cleanup.ts";

// One template build and one scratch dir per test process; later suites await the same promise.
let prepared: Promise<{ template: string; scratch: string }> | undefined;

async function prepare(): Promise<{ template: string; scratch: string }> {
  const template = await buildTemplate();
  // Suites remove their copies; the watcher removes what a crashed run leaves.
  const scratch = mkdtempSync(join(tmpdir(), "wisp-pglite-run-"));
  whenProcessGone(`rm -rf ${shellQuote(scratch)}`);
  return { template, scratch };
}

/** A fresh, migrated PGlite data directory (`<dataDir>/pglite`) and a way to remove it. */
export async function pgliteDataDir(): Promise<{ dataDir: string; remove(): void }> {
  const { template, scratch } = await (prepared ??= prepare());
  const dataDir = mkdtempSync(join(scratch, "suite-"));
  cpSync(join(template, "pglite"), join(dataDir, "pglite"), { recursive: true });
  return { dataDir, remove: () => rmSync(dataDir, { recursive: true, force: true }) };
}

/** Names the template after the migrations and the PGlite version, so a change rebuilds it. */
function templateKey(): string {
  // The PGlite version is part of the key: its on-disk format may change between releases.
  const hash = createHash("sha256").update(pgliteVersion());
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(MIGRATIONS_DIR);
  return hash.digest("hex").slice(0, 16);
}

function pgliteVersion(): string {
  let dir = dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite"));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
}

/** Builds (once, cached in the temp dir) the migrated template every suite copies; returns its path. */
export async function buildTemplate(): Promise<string> {
  const target = join(tmpdir(), `wisp-pglite-template-${templateKey()}`);
  if (existsSync(join(target, "pglite", "PG_VERSION"))) return target;
  // Build beside the target and rename: a concurrent run never sees a half-built template.
  const building = mkdtempSync(`${target}.building-`);
  try {
    const store = await openStore({ dataDir: building });
    await store.close();
    try {
      renameSync(building, target);
    } catch {
      // Another process won the race (or a stale partial copy is in the way).
      if (!existsSync(join(target, "pglite", "PG_VERSION"))) {
        rmSync(target, { recursive: true, force: true });
        renameSync(building, target);
      }
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return target;
}
