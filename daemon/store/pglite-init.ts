/**
 * Creates a new PGlite cluster in the directory given as the only argument, then exits. wispd
 * runs this in a child process the first time a data directory is used: PGlite's initdb runs in
 * a WebAssembly instance of its own whose memory is not given back, so a wispd that created its
 * cluster in-process stayed at ~700 MB of RSS for its whole life; one that opens an existing
 * cluster starts at ~280 MB (bench/findings.md).
 */
import { PGlite } from "@electric-sql/pglite";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: bun daemon/store/pglite-init.ts <directory>");
  process.exit(2);
}
try {
  const db = await PGlite.create(dir);
  await db.close();
} catch (e) {
  console.error(`cannot create the PGlite cluster in ${dir}: ${(e as Error).message}`);
  process.exit(1);
}
