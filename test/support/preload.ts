/**
 * Runs before any test file (bunfig.toml `preload`): builds the migrated PGlite template once,
 * so no test hook pays PGlite's cold start (4-9 s) and hits a hook timeout on a fresh machine.
 */
import { buildTemplate } from "./pglite.ts";

await buildTemplate();
